/* approval — see approval.h. */
#include "runtime/approval.h"

bool mk_approval_change_digest(json_t *change, char hex[65])
{
    (void)change;
    hex[0] = 0;
    return false;
}

mk_approvals *mk_approval_load(const mk_trust *t, const char *stack_id, const char *env, const char *store,
                                const char *const *files, size_t nfiles, json_t *texts, time_t now, json_t *events)
{
    (void)t, (void)stack_id, (void)env, (void)store, (void)files, (void)nfiles, (void)texts, (void)now, (void)events;
    return NULL;
}

void mk_approval_free(mk_approvals *a) { (void)a; }

bool mk_approval_gate(const mk_approvals *a, json_t *gate, json_t *changes, const char *signer, json_t **by,
                       char *why, size_t whylen)
{
    (void)a, (void)gate, (void)changes, (void)signer, (void)by, (void)why, (void)whylen;
    return false;
}

bool mk_approval_break_glass(const mk_approvals *a, const char *plan_digest, json_t **by, char *why, size_t whylen)
{
    (void)a, (void)plan_digest, (void)by, (void)why, (void)whylen;
    return false;
}
