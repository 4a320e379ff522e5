/* backend_ops — what a kind of state backend provides (runtime/backend.h
 * dispatches to it): one table of operations per kind, exported by its
 * file (backend_local.c: mk_backend_local_ops; backend_pg.c:
 * mk_backend_pg_ops), and the handle they share. A header of types only:
 * each operation means what the mk_backend_ function of the same name in
 * backend.h says; backend.c checks arguments, the kind does the work. */
#ifndef MK_RUNTIME_BACKEND_OPS_H
#define MK_RUNTIME_BACKEND_OPS_H

#include "runtime/backend.h"

typedef struct mk_backend_ops {
    const char *kind;
    /* fill b->impl (b->info, b->cfg are set); false with why */
    bool (*open)(mk_backend *b, char *why, size_t whylen);
    void (*close)(mk_backend *b);
    mk_lock_status (*lock)(mk_backend *b, const char *operation, const char *plan_sha256, double wait_ms,
                           char id_out[37], json_t **info, char *why, size_t whylen);
    void (*unlock)(mk_backend *b, const char *id);
    bool (*lock_held)(mk_backend *b);
    json_t *(*lock_info)(mk_backend *b, char *why, size_t whylen);
    int (*lock_force)(mk_backend *b, const char *id, bool check_only, json_t **info, char *why, size_t whylen);
    mk_rtstate *(*load)(mk_backend *b, char *why, size_t whylen);
    char *(*state_text)(mk_backend *b, long long serial, size_t *n, bool *absent, char *why, size_t whylen);
    bool (*persist)(mk_backend *b, mk_audit *a, mk_backend_write *w, char *why, size_t whylen);
    bool (*intend)(mk_backend *b, const char *run, const char *address, const char *action, long long change,
                   char *why, size_t whylen);
    json_t *(*take_intents)(mk_backend *b, char *why, size_t whylen);
    mk_audit *(*audit_open)(mk_backend *b, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                            size_t whylen);
    char *(*audit_text)(mk_backend *b, size_t *n, char **head, char *why, size_t whylen);
    char *(*observed_text)(mk_backend *b, size_t *n, bool *absent, char *why, size_t whylen);
    bool (*observed_write)(mk_backend *b, const char *text, size_t n, char *why, size_t whylen);
    json_t *(*history)(mk_backend *b, char *why, size_t whylen);
    json_t *(*envs)(mk_backend *b, char *why, size_t whylen);
    bool (*is_empty)(mk_backend *b, bool *empty, char *why, size_t whylen);
    bool (*import)(mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                   const char *head, const char *observed, size_t nobserved, char *why, size_t whylen);
} mk_backend_ops;

struct mk_backend {
    const mk_backend_ops *ops;
    const struct mk_config *cfg; /* borrowed */
    mk_backend_info info;
    void *impl; /* the kind's */
};

#endif
