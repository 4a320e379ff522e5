/* exec — applying a verified plan: lock the state, refuse a stale plan, run
 * the changes on the scheduler through the providers, persist state and the
 * audit log after every step, roll back on failure, unlock (the state
 * commands are statecmd.c's). Everything here prints to stdout/stderr and
 * returns an exit code of runtime/exitcode.h. */
#ifndef MK_RUNTIME_EXEC_H
#define MK_RUNTIME_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Who submitted the plan to `moksha-exec serve` (SO_PEERCRED): recorded in
 * the audit log's plan entry. */
typedef struct mk_exec_submitter {
    bool on;               /* false: run from the command line */
    long uid, gid, pid;
} mk_exec_submitter;

typedef struct mk_exec_opts {
    int parallelism;       /* workers (default 10) */
    bool no_rollback;
    double timeout_ms;     /* per provider call (default 5 minutes) */
    int retries;           /* extra attempts for retryable errors (default 4) */
    double backoff_ms;     /* first retry delay; doubles each time, with jitter (default 100) */
    const char **approve;  /* --approve POLICY or POLICY:ADDRESS */
    size_t napprove;
    const char *auto_approve_risk; /* low, medium, high or NULL */
    const char **approval_files; /* --approval FILE: signed approvals (trust mode, docs/trust.md "Approvals") */
    size_t napproval_files;
    json_t *approval_texts;  /* the service's options.approvals: the files' texts (borrowed), or NULL */
    int progress;          /* 1 live bar, 0 one line per step, -1 decide (a terminal on stderr) */
    double lock_timeout_ms; /* --lock-timeout: how long to wait for the state's lock (default 0: not at all) */
    mk_exec_submitter submitter;
} mk_exec_opts;

void mk_exec_opts_default(mk_exec_opts *o);

int mk_exec_apply(const char *plan_path, const mk_exec_opts *o);

#endif
