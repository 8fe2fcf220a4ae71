/* fuzz_wire.c — libFuzzer target for the frame decoder and the SPEC and
 * STARTED JSON decoders, i.e. everything a hostile peer's bytes reach.
 *
 * Contract: input byte 0 steers (how many cut points, whether CODE's cap
 * is lowered, whether the first piece is fed byte by byte, whether the
 * rest is also parsed as a raw SPEC); the remaining bytes are the stream.
 * The stream is decoded twice — in pieces cut at points derived from the
 * input, and in one feed — and both must yield the same frames and the same
 * verdict. Every SPEC/STARTED frame that decodes must survive encode →
 * decode unchanged. Any difference aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "wire.h"

enum {
    CTL_CUTS      = 0x03,   /* 0..3 cut points */
    CTL_BYTEWISE  = 0x04,   /* first piece fed one byte at a time */
    CTL_RAW_SPEC  = 0x40,   /* also pysb_spec_decode the whole stream */
    CTL_LOW_CODE  = 0x80,   /* CODE capped at 4 KiB, as a launcher would */
};

#define BYTEWISE_MAX 512    /* keeps byte-by-byte feeding cheap */

/* A summary of what a decoder produced, to compare two decodings. */
typedef struct {
    uint64_t hash;
    size_t   frames;
    int      verdict;       /* 0 (needs more) or -1 (protocol error) */
    char     error[128];
    size_t   pending;
} outcome;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;   /* FNV-1a */
    return h;
}

static int same_limits(const pysb_limits *a, const pysb_limits *b)
{
    return a->cpu_sec == b->cpu_sec && a->wall_sec == b->wall_sec &&
           a->memory_bytes == b->memory_bytes &&
           a->output_bytes == b->output_bytes &&
           a->processes == b->processes && a->threads == b->threads &&
           a->fsize_bytes == b->fsize_bytes && a->nofile == b->nofile &&
           a->stack_bytes == b->stack_bytes;
}

static int same_strings(const char **a, const char **b)
{
    size_t i;

    for (i = 0; a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return a[i] == NULL && b[i] == NULL;
}

/* A spec the decoder accepted must encode, and decode back unchanged. */
static void check_spec(const char *json, size_t len)
{
    pysb_wire_spec s, t;
    char err[256];
    char *again;

    if (pysb_spec_decode(json, len, &s, err, sizeof err) < 0) {
        if (!err[0] || strchr(err, '\n'))
            abort();   /* every refusal says why, on one line */
        return;
    }
    again = pysb_spec_encode(&s, err, sizeof err);
    if (!again) {
        /* Re-encoding may grow a spec near 64 KiB ("5" → "5.0", defaults
         * spelled out); anything else is a checker disagreement. */
        if (strstr(err, "spec too long") == NULL)
            abort();
        pysb_wire_spec_free(&s);
        return;
    }
    if (pysb_spec_decode(again, strlen(again), &t, err, sizeof err) < 0)
        abort();
    if (!same_limits(&s.limits, &t.limits) || strcmp(s.run_id, t.run_id) ||
        s.flags != t.flags || !same_strings(s.argv, t.argv) ||
        !same_strings(s.ro_paths, t.ro_paths))
        abort();
    pysb_wire_spec_free(&t);
    pysb_wire_spec_free(&s);
    free(again);
}

static void check_started(const char *json, size_t len)
{
    char id[PYSB_WIRE_RUN_ID_MAX + 1], id2[PYSB_WIRE_RUN_ID_MAX + 1];
    char err[256];
    uid_t uid, uid2;
    char *again;

    if (pysb_started_decode(json, len, id, &uid, err, sizeof err) < 0)
        return;
    again = pysb_started_encode(id, uid);
    if (!again ||
        pysb_started_decode(again, strlen(again), id2, &uid2, err,
                            sizeof err) < 0 ||
        strcmp(id, id2) != 0 || uid != uid2)
        abort();
    free(again);
}

static void frame_seen(outcome *o, const pysb_frame *f, int deep)
{
    if (f->payload[f->len] != '\0' || f->len > pysb_frame_max_len(f->type))
        abort();
    o->hash = mix(o->hash, &f->type, sizeof f->type);
    o->hash = mix(o->hash, &f->len, sizeof f->len);
    o->hash = mix(o->hash, f->payload, f->len);   /* reads every byte */
    o->frames++;
    if (!deep)
        return;
    if (f->type == PYSB_FRAME_SPEC)
        check_spec(f->payload, f->len);
    else if (f->type == PYSB_FRAME_STARTED)
        check_started(f->payload, f->len);
}

/* Drains ready frames; 0 to go on, -1 once the decoder failed. */
static int drain(pysb_decoder *d, outcome *o, int deep)
{
    pysb_frame f;
    int r;

    while ((r = pysb_decoder_next(d, &f)) == 1)
        frame_seen(o, &f, deep);
    o->verdict = r;
    if (r < 0) {
        if (!pysb_decoder_error(d)[0])
            abort();
        strncpy(o->error, pysb_decoder_error(d), sizeof o->error - 1);
    }
    return r;
}

static void decoder_setup(pysb_decoder *d, uint8_t ctl)
{
    pysb_decoder_init(d);
    if ((ctl & CTL_LOW_CODE) &&
        pysb_decoder_set_max(d, PYSB_FRAME_CODE, 4096) < 0)
        abort();
}

static void finish(pysb_decoder *d, outcome *o)
{
    o->pending = pysb_decoder_pending(d);
    pysb_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pysb_decoder d;
    outcome split = { .hash = 0xcbf29ce484222325ULL };
    outcome whole = split;
    size_t cuts[5], ncuts;
    uint8_t ctl;

    if (size < 1)
        return 0;
    ctl = data[0];
    data++;
    size--;

    if (ctl & CTL_RAW_SPEC)
        check_spec((const char *)data, size);

    /* Cut points from the control byte, the length and a few stream
     * bytes, sorted; duplicates make empty pieces, which is fine. */
    ncuts = ctl & CTL_CUTS;
    cuts[0] = 0;
    for (size_t i = 1; i <= ncuts; i++) {
        uint64_t h = mix(0xcbf29ce484222325ULL ^ ctl ^ (i << 8), &size,
                         sizeof size);
        if (size)
            h = mix(h, &data[(i * 7919) % size], 1);
        cuts[i] = (size_t)(h % (size + 1));
        for (size_t k = i; k > 1 && cuts[k - 1] > cuts[k]; k--) {
            size_t t = cuts[k];
            cuts[k] = cuts[k - 1];
            cuts[k - 1] = t;
        }
    }
    cuts[ncuts + 1] = size;

    decoder_setup(&d, ctl);
    for (size_t i = 0; i <= ncuts; i++) {
        const uint8_t *p = data + cuts[i];
        size_t n = cuts[i + 1] - cuts[i];

        if (i == 0 && (ctl & CTL_BYTEWISE) && n <= BYTEWISE_MAX) {
            size_t k;
            for (k = 0; k < n; k++) {
                if (pysb_decoder_feed(&d, p + k, 1) < 0 ||
                    drain(&d, &split, 1) < 0)
                    break;
            }
            if (k < n)
                break;
            continue;
        }
        if (pysb_decoder_feed(&d, p, n) < 0 || drain(&d, &split, 1) < 0)
            break;
    }
    finish(&d, &split);

    decoder_setup(&d, ctl);
    if (pysb_decoder_feed(&d, data, size) < 0)
        abort();   /* inputs are far below the bound */
    drain(&d, &whole, 0);
    finish(&d, &whole);

    /* Where the stream ends inside a failed decoder is not compared:
     * the split run stops feeding at the first error. */
    if (split.hash != whole.hash || split.frames != whole.frames ||
        split.verdict != whole.verdict ||
        strcmp(split.error, whole.error) != 0 ||
        (split.verdict == 0 && split.pending != whole.pending))
        abort();
    return 0;
}
