/* backend — where a stack's state lives (docs/state.md): its state, the
 * lock on it, its audit log, its history and the last refresh's
 * observations, for one stack and environment. Two kinds:
 *
 *   local     the files under .moksha/ (or .moksha/env/NAME/: runtime/paths.h)
 *             of the working directory, as always: state.json (+ .prev),
 *             state.lock, audit.jsonl + audit.head, observed.json
 *             (backend_local.c)
 *   postgres  a PostgreSQL database through libpq: a row per resource
 *             entry, every serial kept as a hash-chained delta, the audit
 *             log's lines as rows, an advisory lock held by the
 *             executor's session plus a row naming the holder
 *             (backend_pg.c; the schema: docs/state.md)
 *
 * Which one, and how to reach it, is the executor's configuration
 * ("state": runtime/config.h), never the stack under review. Only the
 * executor opens a backend: the compiler reads state through the executor
 * (`moksha-exec state where` / `state pull`), so no planner holds the
 * database's credentials.
 *
 * The session (runtime/session.c) is the one writer: it takes the lock,
 * loads the state, opens the audit log's chain, and persists lines and
 * state together through mk_backend_persist. Readers (state list/show,
 * state pull, verify, refresh's reads) load without the lock: a local read
 * is one file read, a postgres read one REPEATABLE READ transaction, so a
 * reader never sees half a write.
 *
 * A mk_backend is used by one thread at a time; the apply's flusher and
 * its workers serialise on the scheduler's lock, except mk_backend_intend
 * (below), which may be called from any worker. */
#ifndef MK_RUNTIME_BACKEND_H
#define MK_RUNTIME_BACKEND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/audit.h"
#include "runtime/lock.h"
#include "runtime/rtstate.h"

struct mk_config;
struct mk_keyring;

typedef struct mk_backend mk_backend;

/* What a backend is, for plans, messages and `state where`: never a
 * credential. kind "local" | "postgres"; stack the stack's name (the
 * `stack` block's, which keys the state on postgres; "" on local, where
 * the working directory is the stack); env "" for none; location a
 * human-readable place (".moksha/env/prod", "postgres dbname=moksha
 * host=/run/postgresql schema=moksha"). */
typedef struct mk_backend_info {
    const char *kind;
    char stack[128];
    char env[64];
    char location[512];
} mk_backend_info;

/* Open the backend the configuration names for stack and env (kind NULL),
 * or the one named by kind ("local" | "postgres": `state migrate`). stack
 * may be NULL or "" on local; postgres needs it (false, with a hint to
 * pass --stack, when missing) and refuses a stack the configuration's
 * "stacks" list does not name. On postgres: connects, creates or migrates
 * the schema (docs/state.md, "Schema versions"), and refuses a schema newer
 * than this executor knows. NULL with why. */
mk_backend *mk_backend_open(const struct mk_config *cfg, const char *kind, const char *stack, const char *env, char *why,
                            size_t whylen);
void mk_backend_close(mk_backend *b);
/* The kind mk_backend_open opens for env (NULL or "": none) under cfg
 * (NULL: no configuration): the environment's own backend, else the
 * state section's, else "local". Whoever must know where a stack and
 * environment's files are before opening asks this, never the section. */
const char *mk_backend_configured_kind(const struct mk_config *cfg, const char *env);
/* The stack name of commands that have no plan to take it from: the one
 * selected (`--stack NAME`: main.c), else MOKSHA_STACK, else "". One per
 * process, as the environment is (runtime/paths.h). */
void mk_backend_select_stack(const char *name);
const char *mk_backend_stack(void);
const mk_backend_info *mk_backend_info_of(const mk_backend *b);
/* The same as the plan's "backend" object: {"kind", "stack", "env"}
 * (stack and env null when ""), what a plan is bound to (new reference). */
json_t *mk_backend_binding(const mk_backend *b);

/* ---- the lock ----
 * Take it for operation (plan_sha256: the plan run, or NULL), waiting up to
 * wait_ms for a holder to let go (0: not at all). TAKEN: id_out holds its
 * id and *info (if not NULL) {"id", "holder", "user", "host", "pid",
 * "operation", "plan_sha256", "time"} (json_decref it). HELD: why names the
 * holder (who, where, since, doing what) and how to free it. ERROR: why. */
mk_lock_status mk_backend_lock(mk_backend *b, const char *operation, const char *plan_sha256, double wait_ms,
                               char id_out[37], json_t **info, char *why, size_t whylen);
void mk_backend_unlock(mk_backend *b, const char *id);
/* Still ours? false once the postgres session that holds it is gone (the
 * server released it at once): the apply stops starting steps. Always true
 * on local. Cheap: a flag set by a failed call, and on postgres a check of
 * the connection at most once a second. */
bool mk_backend_lock_held(mk_backend *b);
/* The lock's document, or NULL when there is none (or it is stale: on
 * postgres a row whose session no longer holds the advisory lock). */
json_t *mk_backend_lock_info(mk_backend *b, char *why, size_t whylen);
/* `state unlock ID --reason TEXT`: break the lock whose id is ID. 0 with
 * *info (the lock's document), 1 with why, 2 with why when the holder is
 * alive (a run on this host, or on postgres a session that still holds the
 * advisory lock: never broken from under it). check_only: only say. */
int mk_backend_lock_force(mk_backend *b, const char *id, bool check_only, json_t **info, char *why, size_t whylen);

/* ---- the state ----
 * The state as it is now: an empty one (lineage "", serial 0) when there is
 * none; NULL with why (E0300-style: where, what) when it is damaged — a
 * cut file, a row that does not parse, a history chain that does not
 * verify to the current serial — never "no state". */
mk_rtstate *mk_backend_load(mk_backend *b, char *why, size_t whylen);
/* The state's exact bytes in the format of .moksha/state.json
 * (`moksha.state/v1`, one resource per line: rtstate.c note [state text])
 * at serial (-1: the current one), for `state pull` and `state migrate`.
 * *absent when there is no state (or no such serial: then why says which
 * serials there are); NULL with why when damaged. malloc'd, *n bytes. */
char *mk_backend_state_text(mk_backend *b, long long serial, size_t *n, bool *absent, char *why, size_t whylen);

/* One write, as the session makes it: audit lines already chained by the
 * log opened with mk_backend_audit_open (may be none), then, when snapshot
 * is not NULL, the state (mk_rtstate_snapshot's, taken: its "delta" says
 * which entries changed, rtstate.h note [state delta]) at serial, which the
 * store must hold at expect now (check-and-swap: a write that lost a race
 * fails, naming the serial found, and overwrites nothing); then the log's
 * head. operation and run (the lock id) are recorded with the serial in
 * the history. done: addresses whose intents (mk_backend_intend) this
 * write settles. On local: lines, state, head, each fsync'd (note [audit
 * head]); on postgres one transaction. */
typedef struct mk_backend_write {
    const char *lines;
    size_t nlines;
    json_t *snapshot;
    long long serial, expect;
    const char *operation, *run;
    const char *const *done;
    size_t ndone;
} mk_backend_write;
bool mk_backend_persist(mk_backend *b, mk_audit *a, mk_backend_write *w, char *why, size_t whylen);

/* Before a provider call that changes the world: record that run is about
 * to do action on address (change: the plan's change id), durably, before
 * returning — so a crash or a lost session leaves a record the next run
 * reports (docs/state.md, "Intents"). Postgres batches concurrent calls
 * into one commit; local does nothing (the local state's own intents are
 * rollback's: exec.c note [durable undo]). Thread-safe. */
bool mk_backend_intend(mk_backend *b, const char *run, const char *address, const char *action, long long change,
                       char *why, size_t whylen);
/* Intents left by runs that stopped ([{run, address, action, change,
 * time}], new reference; [] when none), and drop them (under the lock). */
json_t *mk_backend_take_intents(mk_backend *b, char *why, size_t whylen);

/* ---- the audit log ----
 * Open the log's chain against the state's mark, as mk_audit_open does
 * (local: the file and its head; postgres: its rows and the head kept with
 * the stack). Lines made with it are stored by mk_backend_persist. */
mk_audit *mk_backend_audit_open(mk_backend *b, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                                size_t whylen);
/* Every line of the log, as audit.jsonl holds them (malloc'd, *n bytes;
 * NULL with *n 0 when empty), and the head's text (audit.head's), for
 * verify, show and migrate. NULL with why on error. */
char *mk_backend_audit_text(mk_backend *b, size_t *n, char **head, char *why, size_t whylen);

/* ---- observations (docs/drift.md) ----
 * The last refresh's moksha.observed/v1 bytes (NULL with *absent: never
 * refreshed), and their replacement, whole, under the lock, without
 * bumping the serial. */
char *mk_backend_observed_text(mk_backend *b, size_t *n, bool *absent, char *why, size_t whylen);
bool mk_backend_observed_write(mk_backend *b, const char *text, size_t n, char *why, size_t whylen);

/* ---- history ----
 * Every serial kept, oldest first: [{serial, time, operation, run,
 * changed, removed, hash}] (new reference), after verifying the chain
 * (each hash over the one before and its serial's delta) and that it ends
 * at the current state: NULL with why naming the first serial that does
 * not verify. Local keeps the current serial and the previous one
 * (state.json.prev): its history is those two, unchained. */
json_t *mk_backend_history(mk_backend *b, char *why, size_t whylen);

/* ---- environments ----
 * The environments of this stack that have a state ([{env, serial,
 * resources, time}], env "" for the files of no environment; new
 * reference), for `env list`. */
json_t *mk_backend_envs(mk_backend *b, char *why, size_t whylen);

/* ---- migration ----
 * Is there anything here (a state, a log, observations)? For `state
 * migrate`, which refuses a target that is not empty. */
bool mk_backend_is_empty(mk_backend *b, bool *empty, char *why, size_t whylen);
/* Write a whole stack+environment into an empty backend, as migrate does:
 * the state's bytes (kept byte for byte: a migration back gives the same
 * file), the log's lines and head verbatim, the observations. One
 * transaction on postgres; on local the files, then the head. */
bool mk_backend_import(mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                       const char *head, const char *observed, size_t nobserved, char *why, size_t whylen);

#endif
