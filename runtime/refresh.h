/* refresh — `moksha-exec refresh`: read every object the state records
 * through its provider, compare each with the state, record what was seen
 * in .moksha/observed.json (`moksha.observed/v1`) and print the refresh
 * report (`moksha.drift/v1`); docs/drift.md is the contract. A refresh
 * never writes the state (its serial does not move) and never changes the
 * world. Not for guarding an apply's steps — exec.c does that, with the
 * same comparison (mk_refresh_differs).
 *
 * Returned JSON is a new reference the caller owns; arguments are borrowed. */
#ifndef MK_RUNTIME_REFRESH_H
#define MK_RUNTIME_REFRESH_H
#include <jansson.h>
#include <stdbool.h>

#include "runtime/exec.h"

typedef struct mk_refresh_opts {
    mk_exec_opts x;       /* parallelism, timeout_ms, retries, backoff_ms, submitter (the rest unused) */
    const char *plan;     /* a signed plan: its providers and its imports (NULL: none) */
    bool dry_run;         /* no lock, no observed.json, no audit */
    bool json;            /* the report as moksha.drift/v1 on stdout, else text */
    bool detailed;        /* --detailed-exitcode: 2 when something drifted or is gone */
    const char *by;       /* the audit's `by`: "refresh" (default) or "reconcile" */
} mk_refresh_opts;

void mk_refresh_opts_default(mk_refresh_opts *o);

/* The whole command, in the stack directory (the working directory): an
 * exit code of runtime/exitcode.h (0, 1, 2 with detailed, 6). */
int mk_refresh_run(const mk_refresh_opts *o);

/* docs/drift.md "What counts as drift": the names of the attributes of
 * recorded (a state entry's `attributes`) whose value in observed (what a
 * read returned) is not json_equal to it, an attribute missing from
 * observed counting as null; names listed in ignore_changes (an array of
 * strings, or NULL) are not compared. In recorded's order; [] when none.
 * The guard of an apply's steps compares a change's `before` the same way. */
json_t *mk_refresh_differs(json_t *recorded, json_t *observed, json_t *ignore_changes);

/* note [read mask]: what any provider's read (`read`, owned) may show of a
 * secret, enforced by the executor on every read result — refresh, dry
 * run, import and guard alike — so that no provider can leak one. An
 * attribute is secret when `sensitive` (a change's or entry's list, or
 * NULL) names it or its recorded value (recorded, borrowed) holds a
 * `$secret` anywhere. An import's read (import true: a secret moksha never
 * wrote) shows each as {"$secret": {"unknown": true}}; any other keeps it
 * only when it is json_equal to the recorded value or is itself one
 * sealed value or marker ({"$secret": {…}}), else shows it as
 * {"$secret": {"differs": true}}. Returns read, changed in place. */
json_t *mk_refresh_mask(json_t *read, json_t *recorded, json_t *sensitive, bool import);

/* The observation of one state entry (observed.json's `resources` value):
 * read is what the read returned (NULL: gone) when error is NULL; with
 * error set the object is unreadable and prior (the entry's observation
 * in the last observed.json, or NULL) gives its `last` and `at`. at is
 * the time of this read. status_out (may be NULL) is the report's status:
 * "in_sync", "drifted", "gone", "unreadable" or "ignored" (lifecycle.drift
 * "ignore": the observation holds no attributes). */
json_t *mk_refresh_observe(json_t *entry, json_t *read, const char *error, json_t *prior, const char *at,
                           const char **status_out);

/* SHA-256 hex of attrs as json_dumps(…, JSON_COMPACT | JSON_SORT_KEYS)
 * writes it: an observation's `entry`. */
void mk_refresh_entry_digest(json_t *attrs, char out[65]);

#endif
