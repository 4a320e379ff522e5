/* exitcode — the exit codes every moksha-exec command returns
 * (docs/executor.md, "Exit codes"). A header of constants only: the apply,
 * the state commands, key rotation and the command line all speak them,
 * and `moksha apply` passes them on unchanged. */
#ifndef MK_RUNTIME_EXITCODE_H
#define MK_RUNTIME_EXITCODE_H

enum {
    MK_EXIT_OK = 0,
    MK_EXIT_INPUT = 1,       /* usage, unreadable or unsigned plan, I/O */
    MK_EXIT_HELD = 3,        /* the rest applied; changes wait at closed approval gates */
    MK_EXIT_POLICY = 3,      /* the plan's recorded policy results fail: nothing applied */
    MK_EXIT_ROLLED_BACK = 4, /* a step failed; everything done was undone */
    MK_EXIT_INCOMPLETE = 5,  /* a step failed; some changes remain (rollback failed or --no-rollback) */
    MK_EXIT_LOCKED = 6       /* the state is locked, or the plan is stale */
};

#endif
