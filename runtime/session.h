/* session — a command's time under the state lock (its backend's:
 * runtime/backend.h): the state, the executor's key and the audit log
 * opened together, audit
 * lines batched and persisted with the state in the order note [audit head]
 * (audit.c) asks for. Prints its errors; returns exit codes of
 * runtime/exitcode.h.
 *
 * A mk_session owns its state, its audit log and its pending lines
 * (mk_session_free releases them). Not thread-safe: the apply calls it
 * under the scheduler's lock, or from its flusher one batch at a time. */
#ifndef MK_RUNTIME_SESSION_H
#define MK_RUNTIME_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/rtstate.h"

typedef struct mk_session {
    mk_planfile_key key;  /* no trust: the project key, loaded by open unless key.id is set already */
    mk_keyring ring;      /* the keys that open secrets and key the audit head (runtime/keyring.h), loaded by open */
    const struct mk_config *cfg; /* borrowed; NULL: open reads the executor's configuration (into own_cfg) */
    mk_backend *be;       /* where the state lives: opened by attach or open from cfg unless set (then borrowed) */
    const char *stack;    /* the stack's name the backend keys it by (a plan's); NULL: mk_backend_stack() */
    const char *plan_sha256; /* the plan run, for the lock's holder; may be NULL */
    double lock_wait_ms;  /* --lock-timeout: how long open waits for a holder to let go */
    mk_config own_cfg;
    bool own_be, cfg_loaded;
    char op[40], run[37]; /* the operation and the lock id, for the backend's history */
    uint8_t fpkey[32];    /* trust: the state's fingerprint_key (made by open when the state has none) */
    mk_rtstate *st;
    mk_audit *audit;
    char *lines;          /* audit lines made, not yet written */
    size_t nlines, caplines;
    bool dirty;           /* the state changed since the last flush */
} mk_session;

/* Open the backend (s->be) when it is not open yet, from the configuration
 * for the stack and the environment selected: for a reader (a dry run)
 * that takes no lock. False with why. */
bool mk_session_attach(mk_session *s, char *why, size_t whylen);
/* Take the lock for operation (id_out: its id), load the state and the
 * keys (in trust mode the key directory's, and the state's fingerprint_key,
 * given one if it has none), open the audit log against the state's mark, and make the "lock" entry
 * (and "audit.adopted" for entries after the head). 0, or an exit code
 * with the reason printed and nothing held. */
int mk_session_open(mk_session *s, const char *operation, char id[37]);
/* The "unlock" entry with the exit code rc, a flush, the lock released. */
void mk_session_close(mk_session *s, const char *id, int rc);
void mk_session_free(mk_session *s);

/* Make an audit entry into the pending lines: from its fields' compact
 * JSON text (may be NULL: nothing), or from fields (taken; NULL is said on
 * stderr, never dropped silently). */
void mk_session_add_text(mk_session *s, const char *fields);
void mk_session_add(mk_session *s, json_t *fields);
/* The pending lines (malloc'd, *n bytes; NULL when none), the buffer left empty. */
char *mk_session_take_lines(mk_session *s, size_t *n);
/* The state is about to be written: record in it the last entry made. */
void mk_session_mark_state(mk_session *s);
/* One mk_backend_persist: lines, then the state snapshot (when not NULL,
 * mk_rtstate_snapshot's) at serial, then the head. Takes both. False (said
 * on stderr) when it could not be written. */
bool mk_session_persist(mk_session *s, json_t *snapshot, long long serial, char *lines, size_t nlines);
/* Persist the pending lines and, when dirty, the state (serial + 1). */
bool mk_session_flush(mk_session *s);
/* note [audit head]: the "audit.adopted" entry for whole entries the log
 * held after its head when opened (said on stderr), or NULL when none. */
json_t *mk_session_adopted(mk_audit *a);

#endif
