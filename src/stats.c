/* stats.c — a server's counters in a shared, file-backed mapping.
 *
 * Contract: see stats.h. The layout is plain integers at fixed offsets;
 * a file of another build (another magic or version) is started afresh.
 * Writers use __atomic builtins on the mapping, which every process of
 * the launcher's family shares (MAP_SHARED, inherited across fork). */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATS_MAGIC   0x42535950u   /* "PYSB" */
#define STATS_VERSION 1u

const uint32_t pysb_hist_bounds[PYSB_HIST_BUCKETS - 1] = {
    0,    1,    2,    3,    5,     7,     10,    15,    20,    30,     50,
    70,   100,  150,  200,   300,   500,   700,   1000,  1500,   2000,
    3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000, 120000, 300000,
};

static int64_t realtime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static size_t file_len(unsigned nslots)
{
    return sizeof(pysb_stats_file) + (size_t)nslots * sizeof(pysb_stats_slot);
}

int pysb_stats_open(pysb_stats *s, const char *path, unsigned nslots)
{
    s->f = NULL;
    s->len = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    struct stat st;
    pysb_stats_file head;
    int fresh = 1, err = 0;
    /* One launcher per server opens it, but keep even two from mixing a
     * fresh start with an attach. */
    if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
        err = errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        err = EPERM;
        goto out;
    }
    if ((size_t)st.st_size >= sizeof head && pread(fd, &head, sizeof head, 0) == sizeof head &&
        head.magic == STATS_MAGIC && head.version == STATS_VERSION &&
        (size_t)st.st_size >= file_len(head.nslots)) {
        fresh = 0;
        if (head.nslots > nslots)
            nslots = head.nslots;
    }
    size_t len = file_len(nslots);
    /* Afresh: emptied, then zeros; attached: only grown, never shrunk. */
    if ((fresh && ftruncate(fd, 0) < 0) ||
        ((fresh || (size_t)st.st_size < len) && ftruncate(fd, (off_t)len) < 0)) {
        err = errno;
        goto out;
    }
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        err = errno;
        goto out;
    }
    s->f = m;
    s->len = len;
    if (fresh) {
        s->f->magic = STATS_MAGIC;
        s->f->version = STATS_VERSION;
        s->f->created = realtime_s();
    }
    /* Grown slots are zero (ftruncate), which is "free". */
    __atomic_store_n(&s->f->nslots, nslots, __ATOMIC_RELEASE);
out:
    /* Unlocked by hand: the mapping keeps the open file, and with it the
     * lock, alive for as long as this launcher or any supervisor it forks
     * lives. Kept, it made a graceful restart's new launcher wait in
     * flock() for the old generation's last run before it listened, and
     * every request meanwhile got 503. */
    flock(fd, LOCK_UN);
    close(fd);
    if (err)
        errno = err;
    return err ? -1 : 0;
}

void pysb_stats_close(pysb_stats *s)
{
    if (s->f)
        munmap(s->f, s->len);
    s->f = NULL;
    s->len = 0;
}

static void add(uint64_t *p, uint64_t n)
{
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

void pysb_stats_count(pysb_stats *s, pysb_counter c, uint64_t n)
{
    if (s && s->f && c >= 0 && c < PYSB_C_COUNT)
        add(&s->f->counter[c], n);
}

void pysb_stats_hist_add(pysb_hist *h, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    size_t i = 0;
    while (i < PYSB_HIST_BUCKETS - 1 && (uint64_t)ms > pysb_hist_bounds[i])
        i++;
    add(&h->count[i], 1);
    add(&h->sum_ms, (uint64_t)ms);
}

int pysb_stats_status_known(int st)
{
    return st >= 0 && st < PYSB_STATS_VERDICTS &&
           (st == PYSB_INTERNAL_ERROR ||
            strcmp(pysb_status_name((pysb_status)st), "internal_error") != 0);
}

void pysb_stats_verdict(pysb_stats *s, pysb_status st, int64_t wall_ms)
{
    if (!s || !s->f)
        return;
    add(&s->f->verdict[pysb_stats_status_known((int)st) ? (int)st : PYSB_INTERNAL_ERROR], 1);
    pysb_stats_hist_add(&s->f->run_wall, wall_ms);
}

void pysb_stats_queue_wait(pysb_stats *s, int64_t wait_ms)
{
    if (s && s->f)
        pysb_stats_hist_add(&s->f->queue_wait, wait_ms);
}

void pysb_stats_launcher(pysb_stats *s, pid_t pid, int restarted)
{
    if (!s || !s->f)
        return;
    __atomic_store_n(&s->f->launcher_pid, (int64_t)pid, __ATOMIC_RELAXED);
    __atomic_store_n(&s->f->launcher_started, realtime_s(), __ATOMIC_RELAXED);
    add(&s->f->counter[PYSB_C_LAUNCHER_STARTS], 1);
    if (restarted)
        add(&s->f->counter[PYSB_C_LAUNCHER_RESTARTS], 1);
}

/* ---- slots ---- */

unsigned pysb_stats_nslots(const pysb_stats *s)
{
    if (!s || !s->f)
        return 0;
    unsigned n = __atomic_load_n(&s->f->nslots, __ATOMIC_ACQUIRE);
    /* A file grown by a later launcher: this mapping may be shorter. */
    unsigned fit = (unsigned)((s->len - sizeof(pysb_stats_file)) / sizeof(pysb_stats_slot));
    return n < fit ? n : fit;
}

void pysb_stats_slot_set(pysb_stats *s, unsigned i, pid_t pid, uid_t uid, const char *run_id,
                         const char *client, int64_t started_ms)
{
    if (i >= pysb_stats_nslots(s))
        return;
    pysb_stats_slot *sl = &s->f->slot[i];
    uint64_t seq = __atomic_load_n(&sl->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->seq, seq | 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    sl->uid = (uint32_t)uid;
    sl->started_ms = started_ms;
    snprintf(sl->run_id, sizeof sl->run_id, "%s", run_id ? run_id : "");
    snprintf(sl->client, sizeof sl->client, "%s", client ? client : "");
    __atomic_store_n(&sl->pid, (int64_t)pid, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void pysb_stats_slot_clear(pysb_stats *s, unsigned i, pid_t pid)
{
    if (i >= pysb_stats_nslots(s))
        return;
    int64_t want = pid;
    __atomic_compare_exchange_n(&s->f->slot[i].pid, &want, 0, 0, __ATOMIC_RELEASE,
                                __ATOMIC_RELAXED);
}

int pysb_stats_slot_get(const pysb_stats *s, unsigned i, pysb_stats_slot *out)
{
    memset(out, 0, sizeof *out);
    if (i >= pysb_stats_nslots(s))
        return 0;
    const pysb_stats_slot *sl = &s->f->slot[i];
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t a = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
        if (a & 1)
            continue;
        memcpy(out, (const void *)sl, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        out->pid = __atomic_load_n(&sl->pid, __ATOMIC_RELAXED);
        if (__atomic_load_n(&sl->seq, __ATOMIC_RELAXED) == a)
            break;
    }
    out->run_id[sizeof out->run_id - 1] = '\0';
    out->client[sizeof out->client - 1] = '\0';
    return out->pid != 0;
}

/* ---- histograms ---- */

void pysb_stats_hist_copy(const pysb_hist *h, pysb_hist *out)
{
    for (size_t i = 0; i < PYSB_HIST_BUCKETS; i++)
        out->count[i] = __atomic_load_n(&h->count[i], __ATOMIC_RELAXED);
    out->sum_ms = __atomic_load_n(&h->sum_ms, __ATOMIC_RELAXED);
}

uint64_t pysb_hist_total(const pysb_hist *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < PYSB_HIST_BUCKETS; i++)
        n += h->count[i];
    return n;
}

double pysb_hist_quantile(const pysb_hist *h, double q)
{
    uint64_t total = pysb_hist_total(h);
    if (!total)
        return 0;
    double rank = q * (double)total, below = 0;
    for (size_t i = 0; i < PYSB_HIST_BUCKETS; i++) {
        double lo = i ? pysb_hist_bounds[i - 1] : 0;
        if (i == PYSB_HIST_BUCKETS - 1)
            return lo; /* the open bucket: its floor is all we know */
        if (h->count[i] && below + (double)h->count[i] >= rank) {
            double hi = pysb_hist_bounds[i];
            return lo + (hi - lo) * (rank - below) / (double)h->count[i];
        }
        below += (double)h->count[i];
    }
    return pysb_hist_bounds[PYSB_HIST_BUCKETS - 2];
}
