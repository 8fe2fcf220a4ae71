/* runcpu.h — the CPU a run has used, read from outside it, and its tasks.
 *
 * Contract: the tree of a run is its reaper and every descendant, found
 * through /proc/PID/task/TID/children (the supervisor's view: host pids).
 * pysb_run_cpu sums, over the tree, each process's CPU clock (all its
 * threads, exited ones included; exact up to the scheduler's last update
 * of a running thread, at most a tick behind) and what each has reaped of
 * its children (cutime + cstime of /proc/PID/stat, clock ticks). So every
 * thread and process the run ever had counts, live or gone. A read costs
 * one clock_gettime per process plus the /proc reads (about 5 µs for a
 * reaper and a program of one thread). pysb_run_kill_tasks sends SIGKILL
 * to every process of the tree but its root, at once: the supervisor's
 * CPU stop does not wait for the reaper to be scheduled next to spinning
 * tasks, and the reaper still reaps them (their rusage counted). Reading
 * another process's CPU clock needs no permission, so this works as well
 * for a forked child of a warm-run server. A pid that ends and is reused
 * between the walk and the read would count a stranger: pids are not
 * reused within microseconds. No allocation. */
#ifndef PYSB_RUNCPU_H
#define PYSB_RUNCPU_H

#include <sys/types.h>

/* CPU seconds of the tree under root (root included). */
double pysb_run_cpu(pid_t root);

/* SIGKILL every process of the tree below root; returns how many. */
int pysb_run_kill_tasks(pid_t root);

#endif
