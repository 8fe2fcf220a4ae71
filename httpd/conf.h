/* conf.h — mod_pysandbox's configuration: the directives, the per-directory
 * and per-server records and their merging, and the effective values a
 * request or the launcher works with (DESIGN §5).
 *
 * Contract: Location-scope directives merge outward-in like core ones (a
 * limit is taken whole, default with maximum, from the innermost scope that
 * sets it; read-only paths accumulate), in virtual hosts too. A limit an
 * .htaccess sets is clamped in the merge: its maximum (and so its default)
 * never above the maximum of the scope it merges into, so an .htaccess
 * author can only lower what the administrator allowed. Server-scope
 * directives belong to the main server (refused in a <VirtualHost>): there
 * is one launcher per httpd, whose socket every virtual host's workers
 * reach (parent.h). Values are checked
 * where they are read, so a bad one fails `apachectl configtest` with one
 * line naming it. Only httpd/ includes Apache headers. */
#ifndef PYSB_HTTPD_CONF_H
#define PYSB_HTTPD_CONF_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

#include <sys/types.h>

#include "src/fields.h"
#include "src/runlimits.h"

extern module AP_MODULE_DECLARE_DATA pysandbox_module;

/* A directive not given (ints of the records). */
#define PYSB_UNSET (-1)

typedef struct pysb_dir_conf {
    apr_array_header_t *interp;     /* const char *, argv; NULL: unset */
    pysb_limits def, max;           /* limits the Location sets ... */
    unsigned limits_set;            /* ... bit i: row i of pysb_limit_table */
    unsigned htaccess_limits;       /* ... bit i: row i came from an .htaccess */
    pysb_limits ht_def, ht_max;     /* ... and what the .htaccess asked for, not
                                       yet clamped by a scope that sets the row */
    apr_int64_t max_code, max_stdin, max_files, max_file_size;
    unsigned htaccess_sizes;        /* bit PYSB_SIZE_*: that one from an .htaccess */
    apr_int64_t ht_size[4];         /* ... and what it asked for (as ht_max) */
    apr_array_header_t *ro_paths;   /* const char *; NULL: unset */
    apr_array_header_t *python_path; /* const char *, in order; NULL: unset */
    int site_packages;              /* PySandboxSitePackages; PYSB_UNSET */
    int allow_get;
    int default_format;
    int ignore_unknown;             /* PySandboxUnknownFields ignore */
    apr_int64_t queue_timeout_ms;   /* PySandboxQueueTimeout */
    int per_client;                 /* PySandboxMaxRunsPerClient; 0: off */
    int client_key;                 /* PySandboxClientKey: PYSB_KEY_* */
    const char *client_header;      /* ... header NAME */
    const char *jobe_cache;         /* PySandboxJobeFileCache DIR; NULL: unset */
    apr_uint64_t jobe_cache_size;   /* ... SIZE */
    apr_array_header_t *jobe_keys;  /* PySandboxJobeApiKey, const char *; NULL: unset */
    int start;                      /* PySandboxStart: 1 warm, 0 cold */
    apr_array_header_t *preload;    /* const char *; NULL: unset */
} pysb_dir_conf;

/* The four request-size caps, for htaccess_sizes. */
enum { PYSB_SIZE_CODE = 0, PYSB_SIZE_STDIN, PYSB_SIZE_FILES, PYSB_SIZE_FILE };

/* What names a client for PySandboxMaxRunsPerClient. */
enum { PYSB_KEY_IP = 0, PYSB_KEY_USER, PYSB_KEY_HEADER };

typedef struct pysb_srv_conf {
    const char *socket_path;        /* as configured; NULL: the default */
    int max_runs;                   /* 0: 2 × CPUs */
    int queue_size;                 /* PYSB_UNSET: 16 × max runs */
    int range_set;
    apr_int64_t uid_first, uid_last;
} pysb_srv_conf;

/* The effective values of a Location, defaults filled in. */
typedef struct pysb_effective {
    const char *const *argv;
    const char *const *ro_paths;
    const char *const *python_path; /* NULL: none */
    int site_packages;
    int warm;                       /* PySandboxStart warm */
    const char *const *preload;     /* NULL-terminated, never NULL */
    pysb_location loc;
    unsigned queue_timeout_ms;      /* 0: never wait for a slot */
    unsigned per_client;            /* 0: no share */
    int client_key;                 /* PYSB_KEY_* */
    const char *client_header;      /* for PYSB_KEY_HEADER */
    const char *jobe_cache;         /* the Jobe file cache; NULL: none */
    apr_uint64_t jobe_cache_size;
    const char *const *jobe_keys;   /* NULL-ended; NULL: no key needed */
} pysb_effective;

/* The defaults of the admission directives. */
#define PYSB_DEFAULT_QUEUE_TIMEOUT_MS 10000
#define PYSB_DEFAULT_QUEUE_PER_RUN 16

extern const command_rec pysb_cmds[];

void *pysb_create_dir_conf(apr_pool_t *p, char *dir);
void *pysb_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *pysb_create_srv_conf(apr_pool_t *p, server_rec *s);
void *pysb_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);

/* pre_config: starts this reading's list of configured interpreters. */
int pysb_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* The Location's values, defaults filled in (arrays in p). */
void pysb_effective_conf(apr_pool_t *p, const pysb_dir_conf *c, pysb_effective *e);

/* Every interpreter the configuration names, and the default, NULL-ended
 * in p: the launcher compiles the bootstrap once for each. */
const char **pysb_configured_interpreters(apr_pool_t *p);
/* The interpreter and flags of a Location that names none. */
const char *const *pysb_default_interpreter(void);

/* Every PySandboxJobeFileCache directory of this reading, NULL-ended in
 * p (the httpd parent makes each one for the User at start). */
const char **pysb_jobe_cache_dirs(apr_pool_t *p);
/* Every module some PySandboxPreload names, NULL-ended in p (never NULL):
 * the launcher starts fork servers only for preloads among them. */
const char **pysb_configured_preloads(apr_pool_t *p);

/* The server's values, defaults filled in. */
const char *pysb_srv_socket_path(apr_pool_t *p, const pysb_srv_conf *sc);
int pysb_srv_max_runs(const pysb_srv_conf *sc);
int pysb_srv_queue_size(const pysb_srv_conf *sc);
void pysb_srv_uid_range(const pysb_srv_conf *sc, uid_t *first, uid_t *last);

#endif
