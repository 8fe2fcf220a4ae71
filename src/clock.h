/* clock.h — one clock and one source of run ids for the engine, the
 * launcher and the module.
 *
 * Contract: CLOCK_MONOTONIC in seconds (or whole milliseconds) is the
 * clock of every deadline of a run, on both sides of the wire; a run id is
 * a random UUID (version 4), falling back to time and pid when the kernel
 * has no entropy to give. No Apache headers. */
#ifndef PYSB_CLOCK_H
#define PYSB_CLOCK_H

#include <stdint.h>

double pysb_monotonic(void);
int64_t pysb_monotonic_ms(void);

/* 36 characters and a NUL: the run id given to runs whose spec has none,
 * and to every request the module handles. */
void pysb_new_run_id(char out[37]);

#endif
