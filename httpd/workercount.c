/* workercount.c — a shared counter of the children's own 503s.
 *
 * Contract: see workercount.h. */
#include "httpd/workercount.h"

#include "http_log.h"
#include "apr_shm.h"

APLOG_USE_MODULE(pysandbox);

/* Set in every generation: the module may be unloaded and loaded again on
 * a graceful restart, the counter (in the process pool) stays. */
static apr_uint64_t *unavailable;

void pysb_workercount_attach(server_rec *s)
{
    static const char key[] = "pysandbox-workercount";
    apr_pool_t *pool = s->process->pool;
    void *v = NULL;
    apr_pool_userdata_get(&v, key, pool);
    if (!v) {
        apr_shm_t *shm;
        apr_status_t rv = apr_shm_create(&shm, sizeof *unavailable, NULL, pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         "PYSB: a shared counter for the status page; the 503s the "
                         "children make alone are not counted there");
            unavailable = NULL;
            return;
        }
        v = apr_shm_baseaddr_get(shm);
        *(apr_uint64_t *)v = 0;
        apr_pool_userdata_set(v, key, apr_pool_cleanup_null, pool);
    }
    unavailable = v;
}

void pysb_workercount_unavailable(void)
{
    if (unavailable)
        __atomic_add_fetch(unavailable, 1, __ATOMIC_RELAXED);
}

apr_uint64_t pysb_workercount_unavailable_total(void)
{
    return unavailable ? __atomic_load_n(unavailable, __ATOMIC_RELAXED) : 0;
}
