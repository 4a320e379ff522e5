/* boundary — see boundary.h. */
#include "runtime/boundary.h"

int mk_boundary_floor(json_t *change, json_t *entry)
{
    (void)change, (void)entry;
    return 3;
}

void mk_boundary_add_gates(const mk_trust *t, json_t *plan, const mk_rtstate *state) { (void)t, (void)plan, (void)state; }

bool mk_boundary_packs_ok(const mk_trust *t, json_t *plan, char *why, size_t whylen)
{
    (void)t, (void)plan, (void)why, (void)whylen;
    return true;
}

json_t *mk_boundary_check(const mk_trust *t, const mk_trust_who *who, json_t *plan, const mk_rtstate *state, time_t now)
{
    (void)t, (void)who, (void)plan, (void)state, (void)now;
    return json_pack("{s:[], s:{}}", "plan", "changes");
}
