/* pipeline — the driver (pipeline.h): one request through the stages,
 * each stage one line naming its module:
 *
 *   read the state        base/state.c, on a thread of its own
 *   load → vars → eval    front/program.c, front/vars.c, front/eval.c (big stack)
 *   diff                  middle/plan.c: the plan's records
 *   price and place       middle/cost.c, middle/place.c, under the policies (middle/policy.c)
 *   policies              middle/policy.c
 *   write and sign        back/planfile.c, from the plan's records
 *
 * and what joins them: the costs and placements written into the plan's
 * records, the policy results, gates and raised risks.
 * Nothing here prints; see pipeline.h for who does. */
#include "compiler/pipeline.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/base/approvalfile.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "compiler/base/seal.h"
#include "compiler/base/sign.h"
#include "compiler/base/symtab.h"
#include "compiler/front/eval.h"
#include "compiler/front/moved.h"
#include "compiler/front/route.h"
#include "compiler/front/revert.h"
#include "compiler/front/vars.h"
#include "compiler/middle/cost.h"
#include "compiler/middle/moves.h"
#include "compiler/middle/pin.h"
#include "compiler/middle/place.h"

double mk_pipeline_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void record(mk_planned *pl, const char *name, double ms, long rss)
{
    if (pl->nphases < MK_PIPELINE_PHASES)
        pl->phases[pl->nphases++] = (mk_pipeline_phase){name, ms, rss};
}

void mk_pipeline_mark(mk_planned *pl, const char *name, double *t0)
{
    double t = mk_pipeline_now_ms();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    record(pl, name, t - *t0, ru.ru_maxrss / 1024);
    *t0 = t;
}

/* Placement under the policies that read it (docs/cost.md); plan may be
 * NULL (moksha cost, which makes none). */
static void place_by_policy(mk_cost_catalog *cat, mk_program *p, const mk_plan *plan, mk_place_report *rep)
{
    mk_policy_place *pp = mk_policy_place_new(p, plan);
    if (pp)
        mk_place_apply_policies(cat, rep, mk_policy_place_eval, pp);
    else
        mk_place_mark(rep);
    mk_policy_place_free(pp);
}

/* note [no moves]: `--replace-placement ADDR` lets the cost model choose
 * another place for an applied resource, and `moksha cost` prices that. A
 * plan cannot make the move yet: the executor builds an applied resource
 * where the state has it, and whether a change replaces is settled while
 * evaluating (what refers to a replaced resource learns its new id only
 * after apply), before any placement is known. So a plan that would move a
 * resource is refused rather than shown at a place it will never reach. */
static void refuse_moves(mk_planned *out, mk_pipeline_req *r, const mk_place_report *rep)
{
    /* only a named resource can move: without a name, no look-up in the state */
    for (size_t i = 0; r->nreplace_placement && i < rep->nitems; i++) {
        const mk_place_item *it = &rep->items[i];
        json_t *sr = it->q.cloud && it->q.region ? mk_state_find(out->st, it->in->address, NULL) : NULL;
        json_t *pl = json_object_get(sr, "placement");
        const char *cloud = json_string_value(json_object_get(pl, "cloud")), *region = json_string_value(json_object_get(pl, "region"));
        bool named = false;
        for (size_t k = 0; k < r->nreplace_placement && !named; k++)
            named = strcmp(r->replace_placement[k], it->in->address) == 0;
        if (!named || !cloud || !region || (strcmp(cloud, it->q.cloud) == 0 && strcmp(region, it->q.region) == 0))
            continue;
        mk_diag_item *d = mk_diag_error(out->p->diag, "E0402", MK_NOSPAN,
                                        "%s is applied on %s/%s; --replace-placement finds %s/%s cheaper, but moksha "
                                        "cannot move an applied resource yet", it->in->address, cloud, region, it->q.cloud,
                                        it->q.region);
        mk_diag_help(d, "`moksha cost --replace-placement %s` prices the move; to make it, remove the resource, apply, "
                        "and add it back (docs/cost.md, \"Sticky\")", it->in->address);
    }
}

/* A bucket a store keeps is where its store is (front/route.c): applied
 * elsewhere — on another provider block, or another cloud or region (the
 * block's `region` changed) — it would have to move, which moksha cannot
 * do; the plan is refused rather than shown updating an object the store
 * does not have. */
static void refuse_store_moves(mk_planned *out, const mk_place_report *rep)
{
    for (size_t i = 0; i < rep->nitems; i++) {
        const mk_instance *in = rep->items[i].in;
        json_t *sr = in->pin_cloud ? mk_moves_state_entry(out->p, out->st, in->address, NULL) : NULL;
        if (!sr)
            continue;
        json_t *pl = json_object_get(sr, "placement");
        const char *prov = json_string_value(json_object_get(sr, "provider"));
        const char *cloud = json_string_value(json_object_get(pl, "cloud")), *region = json_string_value(json_object_get(pl, "region"));
        bool other_prov = prov && strcmp(prov, in->provider) != 0;
        bool other_place = cloud && region && in->pin_region &&
                           (strcmp(cloud, in->pin_cloud) != 0 || strcmp(region, in->pin_region) != 0);
        if (!other_prov && !other_place)
            continue;
        char was[192];
        snprintf(was, sizeof was, "%s%s%s%s%s%s%s", prov ? " by provider `" : "", prov ? prov : "", prov ? "`" : "",
                 cloud ? " on " : "", cloud ? cloud : "", region ? "/" : "", region ? region : "");
        mk_diag_item *d = mk_diag_error(out->p->diag, "E0402", in->res->decl->span,
                                        "%s is applied%s; provider `%s` (%s) keeps it on %s/%s now, and moksha cannot move "
                                        "an applied resource yet", in->address, was, in->provider, in->via, in->pin_cloud,
                                        in->pin_region ? in->pin_region : "?");
        if (other_prov)
            mk_diag_help(d, "to move it, remove the resource, apply, and add it back; or keep it where it is with "
                            "`provider = %s`", prov);
        else
            mk_diag_help(d, "to move it, remove the resource, apply, and add it back; or set provider `%s`'s region "
                            "back to \"%s\"", in->provider, region);
    }
}

/* The cost model's verdict on a desired change: its cost and where it is
 * placed (the executor builds there); what no cloud serves (a provider's
 * own type, a self-hosted database) has no placement. */
static void cost_change(const mk_program *p, mk_change *c, const mk_place_item *it, const mk_place_report *rep,
                        const mk_state *st)
{
    bool priced = it->q.status == MK_COST_PRICED;
    size_t at = 0;
    mk_money was = st->nres && mk_moves_state_entry(p, st, c->address, &at) ? rep->applied_each[at] : 0;
    c->costed = true, c->priced = priced;
    c->monthly = priced ? it->q.monthly : 0;
    c->delta = c->monthly - was; /* (both in [0, $1e9]) */
    c->offering = priced ? it->q.offering : NULL;
    c->unpriced_because = priced ? NULL : it->q.why ? it->q.why : "no price";
    c->self_hosted = it->in->self_hosted;
    if (it->q.cloud && !it->q.off_cloud) /* note [off cloud] in middle/cost.h */
        c->cloud = it->q.cloud, c->region = it->q.region, c->placed_offering = it->q.offering;
}

/* The cost model's verdict into the plan's records: each change's cost and
 * chosen placement, and the plan's totals. The report's items are the
 * program's instances in order, as the desired changes are; the deletes
 * (last) are priced from the state. The report stays for the policies. */
static void add_costs(mk_planned *out, mk_pipeline_req *r)
{
    mk_program *p = out->p;
    mk_plan *pl = out->model;
    mk_cost_catalog *cat = mk_cost_load(p->share_dir, p->diag);
    if (!cat)
        return;
    mk_pin_check(cat, p);
    mk_cost_check_db_pins(cat, p);
    mk_place_report *rep = mk_place_run(cat, p, out->st, r->destroy ? NULL : pl->like, r->replace_placement, r->nreplace_placement);
    out->placement = rep, out->catalog = cat; /* for the policies, and --explain prints it (mk_cost_out_explain) */
    place_by_policy(cat, p, pl, rep);
    refuse_moves(out, r, rep);
    if (!r->destroy) /* a destroy deletes each where the state has it */
        refuse_store_moves(out, rep);
    if (rep->overflow)
        mk_diag_error(p->diag, "E0401", MK_NOSPAN, "the stack's monthly cost is out of range (over $9,223,372,036,854)");
    size_t ndesired = pl->nchanges - (size_t)pl->totals.remove, j = 0;
    pl->unpriced_unchanged = mk_arena_alloc(pl->arena, (rep->nunpriced + 1) * sizeof *pl->unpriced_unchanged);
    for (size_t i = 0; i < rep->nitems; i++) {
        if (j < ndesired && pl->changes[j].in == rep->items[i].in)
            cost_change(p, &pl->changes[j++], &rep->items[i], rep, out->st);
        else if (!r->destroy && rep->items[i].q.status != MK_COST_PRICED && pl->nunpriced_unchanged < rep->nunpriced)
            pl->unpriced_unchanged[pl->nunpriced_unchanged++] =
                (mk_unpriced){rep->items[i].in->address, rep->items[i].q.why ? rep->items[i].q.why : "no price"};
    }
    for (size_t i = ndesired; i < pl->nchanges; i++) {
        mk_change *c = &pl->changes[i];
        /* a deposed object is not in the applied total: its delete changes no figure */
        size_t at = 0;
        bool known = !c->deposed && c->address && mk_state_find(out->st, c->address, &at);
        c->costed = true;
        c->delta = known ? -rep->applied_each[at] : 0;
    }
    pl->costed = true;
    pl->monthly = r->destroy ? 0 : rep->monthly; /* after a destroy nothing is left to pay for */
    pl->applied = rep->applied;
    pl->delta = pl->monthly - rep->applied;
    pl->unpriced = (int64_t)rep->nunpriced;
    pl->self_hosted = r->destroy ? 0 : (int64_t)rep->nself_hosted;
}

/* note [unsigned failures]: a plan whose policies fail is never signed, so
 * no output of moksha — `plan -o` refuses it, `plan --format json` prints it
 * without a signature, `apply` stops before moksha-exec — is a plan the
 * executor would take. The executor checks the recorded results anyway
 * (mk_planfile_policies_ok in runtime/planfile.c) and refuses with exit 3.
 *
 * Policy results, gates and raised risks into the plan's records: a gate
 * names the change it holds. */
/* The plan's changes at an address, in plan order: the index (address →
 * the first, then each next one at the same address) is made on first use,
 * most plans have neither gates nor raised risks. */
typedef struct at_index {
    mk_symtab first;
    uint32_t *next;  /* per change, the next one at its address (its id), 0 for none */
    bool built;
} at_index;

static mk_change *changes_at(mk_program *p, mk_plan *pl, at_index *ix, const char *address)
{
    if (!address)
        return NULL;
    if (!ix->built) {
        ix->built = true;
        ix->next = mk_mem_calloc(pl->nchanges + 1, sizeof *ix->next);
        for (size_t i = pl->nchanges; i-- > 0;) { /* from the end: the first one is put last */
            mk_name a = mk_intern_s(p->ast.names, pl->changes[i].address ?: "");
            mk_change *was = mk_sym_get(&ix->first, a, NULL);
            ix->next[i] = was ? was->id : 0;
            mk_sym_put(&ix->first, a, NULL, &pl->changes[i]);
        }
    }
    return mk_sym_get(&ix->first, mk_intern_s(p->ast.names, address), NULL);
}

static mk_change *next_at(mk_plan *pl, at_index *ix, const mk_change *c)
{
    return ix->next[c->id - 1] ? &pl->changes[ix->next[c->id - 1] - 1] : NULL;
}

static size_t count_gates(json_t *results)
{
    size_t n = 0, i;
    json_t *res;
    json_array_foreach(results, i, res)
        n += json_array_size(json_object_get(res, "gates"));
    return n;
}

/* Each `require approval(…)` as a gate holding the resource's own change; a
 * deposed object's delete at the same address only when it is the one there. */
static void add_gates(mk_planned *out, json_t *results, at_index *ix)
{
    mk_plan *pl = out->model;
    size_t n = count_gates(results), i, k;
    json_t *res, *g;
    pl->gates = n ? mk_arena_alloc(pl->arena, n * sizeof *pl->gates) : NULL;
    json_array_foreach(results, i, res) {
        json_array_foreach(json_object_get(res, "gates"), k, g) {
            mk_gate *gate = &pl->gates[pl->ngates];
            const char *address = json_string_value(json_object_get(g, "address"));
            *gate = (mk_gate){(uint32_t)++pl->ngates, json_string_value(json_object_get(res, "name")),
                              json_string_value(json_object_get(g, "group")), json_string_value(json_object_get(g, "message")),
                              address, 0, 1};
            json_t *count = json_object_get(g, "count");
            if (json_is_integer(count))
                gate->count = (uint32_t)json_integer_value(count);
            const mk_change *pick = NULL;
            for (mk_change *c = changes_at(out->p, pl, ix, address); c; c = next_at(pl, ix, c))
                if (!pick || (pick->deposed && !c->deposed))
                    pick = c;
            gate->change = pick ? pick->id : 0;
        }
    }
}

/* require risk(…): a change is at least that risky. */
static void raise_risks(mk_planned *out, json_t *results, at_index *ix)
{
    mk_plan *pl = out->model;
    size_t i, k;
    json_t *res, *g;
    json_array_foreach(results, i, res) {
        json_array_foreach(json_object_get(res, "risks"), k, g) {
            const char *want = json_string_value(json_object_get(g, "risk"));
            mk_risk to = !want ? MK_RISK_LOW : !strcmp(want, "high") ? MK_RISK_HIGH : !strcmp(want, "medium") ? MK_RISK_MEDIUM : MK_RISK_LOW;
            for (mk_change *c = changes_at(out->p, pl, ix, json_string_value(json_object_get(g, "address"))); c; c = next_at(pl, ix, c))
                if (c->risk < to)
                    c->risk = to, c->risk_raised_by = json_string_value(json_object_get(res, "name"));
        }
    }
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* One waiver file: read and verified (its signature by the key it names),
 * of kind waiver, for this stack and environment, in force now — else
 * said (W0005) and not used. Appended to list as the policies take it. */
static void take_waiver(mk_planned *out, const char *path, json_t *list, time_t now)
{
    mk_approvalfile a;
    char why[768] = "";
    const mk_plan *pl = out->model;
    bool ok = mk_approvalfile_read(path, &a, why, sizeof why);
    if (ok && strcmp(a.kind, "waiver") != 0)
        ok = !snprintf(why, sizeof why, "%s: an approval of kind %s, not a waiver", path, a.kind);
    else if (ok && (!pl->stack_id || strcmp(a.stack_id, pl->stack_id) != 0))
        ok = !snprintf(why, sizeof why, "%s: a waiver for stack %s, not this one (%s)", path, a.stack_id,
                       pl->stack_id ? pl->stack_id : "no stack id yet");
    else if (ok && !((!a.env && !pl->env) || (a.env && pl->env && strcmp(a.env, pl->env) == 0)))
        ok = !snprintf(why, sizeof why, "%s: a waiver for environment %s, not %s", path, a.env ? a.env : "(none)",
                       pl->env ? pl->env : "(none)");
    else if (ok && a.expires <= (long long)now)
        ok = !snprintf(why, sizeof why, "%s: expired", path);
    else if (ok && a.issued > (long long)now + 300)
        ok = !snprintf(why, sizeof why, "%s: issued in the future (more than 300 s ahead of this clock)", path);
    if (!ok) {
        mk_diag_item *it = mk_diag_warn(out->p->diag, "W0005", MK_NOSPAN, "waiver not used: %s", why);
        mk_diag_help(it, "a waiver is `moksha approve --waiver POLICY:ADDRESS` by an approver, for this stack and environment, unexpired");
    } else {
        char at[32];
        time_t t = (time_t)a.expires;
        struct tm tm;
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        char *env = mk_approvalfile_envelope(&a);
        json_t *doc = json_object_get(a.doc, "policy") ? json_loads(env, 0, NULL) : NULL;
        json_array_append_new(list, json_pack("{s:O, s:O, s:s, s:s, s:s, s:O, s:o?, s:s}", "policy",
                                              json_object_get(a.doc, "policy"), "address", json_object_get(a.doc, "address"),
                                              "id", a.id, "by", a.key_id, "expires", at, "reason",
                                              json_object_get(a.doc, "reason"), "envelope", doc, "path", path));
        mk_mem_free(env);
    }
    mk_approvalfile_free(&a);
}

/* note [waivers]: the waivers planning takes are every *.approval file of
 * the stack's waivers/ directory (committed beside the spec, so a waiver
 * is reviewed like the code) and each --waiver FILE. Each is checked here
 * as far as a planner can: its shape and signature, its stack,
 * environment and expiry; whether its signer is an approver of the
 * policy's override_by group is the executor's to decide (docs/trust.md,
 * "Overrides and waivers"), which is why the plan embeds each waiver it
 * used, whole, in `waivers`. */
static json_t *load_waivers(mk_planned *out, mk_pipeline_req *r)
{
    json_t *list = json_array();
    time_t now = time(NULL);
    const char *dir = out->p->root && out->p->root->dir ? out->p->root->dir : ".";
    char wdir[4096];
    snprintf(wdir, sizeof wdir, "%s/waivers", dir);
    DIR *d = opendir(wdir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 10 || strcmp(de->d_name + l - 9, ".approval") != 0)
            continue;
        names = mk_mem_realloc(names, (n + 1) * sizeof *names);
        names[n] = mk_mem_alloc(strlen(wdir) + l + 2);
        sprintf(names[n++], "%s/%s", wdir, de->d_name);
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_cstr);
    for (size_t i = 0; i < n; i++) {
        take_waiver(out, names[i], list, now);
        mk_mem_free(names[i]);
    }
    mk_mem_free(names);
    for (size_t i = 0; i < r->nwaiver_files; i++)
        take_waiver(out, r->waiver_files[i], list, now);
    return list;
}

/* The waivers the policies used go into the plan whole; a hard policy's is said (W0006). */
static void keep_waivers(mk_planned *out, json_t *list)
{
    size_t i;
    json_t *w;
    json_array_foreach(list, i, w) {
        if (json_is_true(json_object_get(w, "refused")))
            mk_diag_help(mk_diag_warn(out->p->diag, "W0006", MK_NOSPAN, "waiver not used: %s waives `%s`, a hard policy",
                                      json_string_value(json_object_get(w, "path")), json_string_value(json_object_get(w, "policy"))),
                         "a hard policy has no exceptions; make it soft (with override_by) if it may have some");
        if (!json_is_true(json_object_get(w, "used")) || !json_object_get(w, "envelope"))
            continue;
        if (!out->model->waivers)
            out->model->waivers = json_array();
        json_array_append(out->model->waivers, json_object_get(w, "envelope"));
    }
}

static void add_policies(mk_planned *out, mk_pipeline_req *r)
{
    json_t *waivers = load_waivers(out, r);
    mk_policy_run run = {.overrides = r->overrides, .noverrides = r->noverrides, .waivers = waivers};
    json_t *results = mk_policy_check(out->p, out->model, out->placement, &run);
    at_index ix = {0};
    add_gates(out, results, &ix);
    raise_risks(out, results, &ix);
    mk_sym_free(&ix.first);
    mk_mem_free(ix.next);
    out->model->policies = results;
    out->policies = results;
    if (out->p->npacks) {
        json_t *packs = json_array();
        for (size_t i = 0; i < out->p->npacks; i++)
            json_array_append_new(packs, json_pack("{s:s, s:s}", "name", out->p->packs[i].name, "digest", out->p->packs[i].digest));
        out->model->policy_packs = packs;
    }
    out->policy_failed = run.failed;
    out->policy_errored = run.errored;
    keep_waivers(out, waivers);
    json_decref(waivers);
}

/* note [state beside sources]: the state (47 MB of JSON at 100,000
 * resources, a second to parse) is read on a thread of its own while the
 * compile thread loads and parses the sources; evaluation, which reads
 * computed attributes from it, waits for it. The thread reports into a
 * diagnostics set of its own, moved into the program's once joined: a
 * damaged state is an error (E0300) for every command that reads it,
 * never "no state". */
typedef struct statejob {
    pthread_t th;
    bool threaded;
    mk_state *st;
    mk_observed *obs;
    mk_diag *diag; /* its own: the compile thread reports meanwhile */
    double ms;
    mk_pipeline_req *r; /* its state_name and text, when the state comes from the service */
    char state_path[160], observed_path[160]; /* the environment's files */
} statejob;

/* The observations beside the state, kept only when they are its own
 * (docs/drift.md); read only once the state is: a damaged state stops the
 * plan whatever they say. */
static void read_observed(statejob *j)
{
    mk_pipeline_req *r = j->r;
    if (!j->st)
        return;
    if (r->observed_name)
        j->obs = mk_observed_parse(r->observed_text, r->observed_len, r->observed_name, j->diag);
    else
        j->obs = r->state_name ? mk_observed_parse(NULL, 0, NULL, j->diag) : mk_observed_read(j->observed_path, j->diag);
    mk_observed_bind(j->obs, j->st, j->diag);
}

/* An environment's directories (.moksha, .moksha/env, .moksha/env/NAME)
 * are the stack's own: a symbolic link (or a file) in the place of one
 * would read another environment's or stack's state as this one's. As the
 * executor refuses them (runtime/paths.c, mk_paths_own_dirs), so does the
 * plan, as a state it cannot read (E0300). */
static bool env_dirs_own(const char *env, mk_diag *diag)
{
    char path[160];
    const char *sub[3] = {"", "/env", "/env/"};
    for (int i = 0; env && i < 3; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s%s%s", MOKSHA_DIR, sub[i], i == 2 ? env : "");
        if (lstat(path, &sb) != 0)
            return true; /* nothing there yet: no state */
        if (S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)) {
            mk_diag_item *it = mk_diag_error(diag, "E0300", MK_NOSPAN, "the state cannot be read: %s is %s: an "
                                             "environment's directories are the stack's own", path, S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a directory");
            mk_diag_help(it, "environment %s's files would be another's: make %s a plain directory", env, path);
            return false;
        }
    }
    return true;
}

static void *state_thread(void *arg)
{
    statejob *j = arg;
    double t = mk_pipeline_now_ms();
    if (j->r->state_name) {
        j->st = mk_state_parse(j->r->state_text, j->r->state_len, j->r->state_name, j->diag);
        mk_mem_free(j->r->state_text); /* as a file's text is: not kept beside the parsed state */
        j->r->state_text = NULL;
    } else {
        j->st = env_dirs_own(j->r->env, j->diag) ? mk_state_read(j->state_path, j->diag) : NULL;
    }
    read_observed(j);
    j->ms = mk_pipeline_now_ms() - t;
    return NULL;
}

static mk_state *await_state(void *ud)
{
    statejob *j = ud;
    if (j->threaded)
        pthread_join(j->th, NULL);
    j->threaded = false;
    j->r->p->observed = j->obs; /* read with it: the evaluation asks which objects are gone */
    return j->st;
}


void mk_pipeline_env_path(const char *env, const char *file, char *out, size_t n)
{
    if (env)
        snprintf(out, n, "%s/env/%s/%s", MOKSHA_DIR, env, file);
    else
        snprintf(out, n, "%s/%s", MOKSHA_DIR, file);
}

/* note [env layers]: an environment's variables come from env/global.yaml,
 * then env/NAME.yaml (either may be missing), under the --var-files,
 * MOKSHA_VAR_* and --var; from the first layer on, a map given over a map
 * merges into it key by key (front/vars.c, mk_vars_merge). */
static void env_vars(mk_program *p, const char *env)
{
    char path[160];
    p->vars_merge = true;
    snprintf(path, sizeof path, "%s/global.yaml", ENV_FILES_DIR);
    if (access(path, F_OK) == 0)
        mk_vars_file(p, path);
    snprintf(path, sizeof path, "%s/%s.yaml", ENV_FILES_DIR, env);
    if (access(path, F_OK) == 0)
        mk_vars_file(p, path);
}

/* note [stack reads] in front/program.c: each `outputs` block's stack and
 * environment asked of the executor before anything is evaluated; what it
 * could not read is said once, at the block, when the block is read. */
static void read_stacks(mk_pipeline_req *r, mk_program *p)
{
    for (uint32_t i = 0; r->read_outputs && i < p->nreads; i++) {
        mk_stack_read *s = &p->reads[i];
        char why[512] = "";
        const char *self = p->root->stack && p->root->stack->name ? p->root->stack->name : "stack";
        json_t *got = r->read_outputs(r->read_ud, self, s->stack, s->env, why, sizeof why);
        if (got && !(json_is_object(json_object_get(got, "outputs")) && json_is_integer(json_object_get(got, "serial")) &&
                     json_is_string(json_object_get(got, "lineage")))) {
            snprintf(why, sizeof why, "the executor's answer is not the outputs of a state");
            json_decref(got), got = NULL;
        }
        s->got = got;
        s->why = got ? NULL : mk_arena_printf(p->ast.arena, "%s", *why ? why : "the executor gave no answer");
    }
}

/* The plan's `reads`: which state of which stack each block read, once
 * each (two blocks may read one stack). NULL when none was read. */
static json_t *reads_json(mk_program *p)
{
    json_t *a = NULL;
    for (uint32_t i = 0; i < p->nreads; i++) {
        json_t *g = p->reads[i].got;
        if (!g)
            continue;
        json_t *r = json_pack("{s:s, s:O?, s:O, s:O}", "stack", p->reads[i].stack, "env", json_object_get(g, "env"),
                              "lineage", json_object_get(g, "lineage"), "serial", json_object_get(g, "serial"));
        if (!json_is_string(json_object_get(r, "env")))
            json_object_set_new(r, "env", json_null());
        size_t k;
        json_t *x;
        bool seen = false;
        json_array_foreach(a, k, x) seen |= json_equal(x, r);
        if (!a)
            a = json_array();
        if (seen)
            json_decref(r);
        else
            json_array_append_new(a, r);
    }
    return a;
}

static void *compile_thread(void *arg)
{
    mk_pipeline_req *r = arg;
    mk_program *p = r->p;
    p->strict = r->strict && !r->destroy; /* note [destroy variables] in eval.c */
    p->destroy_vars = r->destroy;
    p->env = r->env;
    if (!mk_program_load(p, r->paths, r->npaths)) /* front/program.c */
        return NULL;
    for (size_t i = 0; i < r->npolicy_dirs; i++)
        mk_program_import(p, r->policy_dirs[i]);
    if (r->env)
        env_vars(p, r->env);
    for (size_t i = 0; i < r->nvar_files; i++) /* front/vars.c */
        mk_vars_file(p, r->var_files[i]);
    mk_vars_env(p);
    for (size_t i = 0; i < r->nvar_flags; i++)
        mk_vars_flag(p, r->var_flags[i]);
    read_stacks(r, p);            /* other stacks' outputs, through the executor */
    if (r->await_state)
        p->state = r->await_state(r->await_ud);
    mk_eval_program(p);           /* front/eval.c */
    mk_route_program(p);          /* front/route.c: self-hosted databases, provider kinds */
    mk_moved_eval(p, r->import_to, r->import_id); /* front/moved.c: `moved` and `import` blocks */
    mk_policy_check_structure(p); /* middle/policy.c */
    mk_eval_tests(p);             /* front/eval.c: the policy tests' units */
    return NULL;
}

/* Deep chains of references recurse; give the compiler a large stack. */
void mk_pipeline_compile(mk_pipeline_req *r)
{
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)1 << 30);
    if (pthread_create(&th, &attr, compile_thread, r) != 0)
        compile_thread(r);
    else
        pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
}

bool mk_pipeline_replace_named(const mk_pipeline_req *r, const mk_program *p, size_t k)
{
    for (size_t i = 0; i < p->ninstances; i++)
        if (strcmp(p->instances[i]->address, r->replace_placement[k]) == 0)
            return true;
    return false;
}

bool mk_pipeline_override_named(json_t *results, const char *name)
{
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res) {
        const char *s = json_string_value(json_object_get(res, "name"));
        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

static bool replace_all_named(mk_planned *out, const mk_pipeline_req *r)
{
    for (size_t k = 0; k < r->nreplace_placement; k++)
        out->replace_unmatched |= !mk_pipeline_replace_named(r, out->p, k);
    return !out->replace_unmatched;
}

static bool overrides_all_named(mk_planned *out, const mk_pipeline_req *r)
{
    for (size_t k = 0; k < r->noverrides; k++)
        out->override_unmatched |= !mk_pipeline_override_named(out->policies, r->overrides[k].name);
    return !out->override_unmatched;
}

/* The state and the program: the state read beside the compile (note
 * [state beside sources]); false when either failed. */
static bool compile_against_state(mk_pipeline_req *r, mk_planned *out, double *t0)
{
    statejob job = {.diag = mk_diag_new(&out->p->src), .r = r};
    mk_pipeline_env_path(r->env, "state.json", job.state_path, sizeof job.state_path);
    mk_pipeline_env_path(r->env, "observed.json", job.observed_path, sizeof job.observed_path);
    job.threaded = pthread_create(&job.th, NULL, state_thread, &job) == 0;
    if (!job.threaded)
        state_thread(&job);
    r->await_state = await_state;
    r->await_ud = &job;
    r->strict = true;
    mk_pipeline_compile(r);
    await_state(&job); /* (a compile that stopped early did not wait) */
    r->await_state = NULL;
    out->st = job.st;
    out->obs = job.obs;
    mk_diag_take(out->p->diag, job.diag); /* why the state is unreadable (E0300) */
    mk_diag_free(job.diag);
    record(out, "state", job.ms, -1);
    bool ok = out->st != NULL && out->obs != NULL && mk_diag_errors(out->p->diag) == 0;
    ok = ok && replace_all_named(out, r);
    mk_pipeline_mark(out, "compile", t0);
    return ok;
}

/* The planner key that signs (docs/trust.md, "Signing plans"): --signing-key,
 * else MOKSHA_SIGNING_KEY; NULL for none, and the project key signs. */
static const char *signing_key(const mk_pipeline_req *r)
{
    const char *env = getenv("MOKSHA_SIGNING_KEY");
    return r->signing_key ? r->signing_key : env && *env ? env : NULL;
}

/* The keys: the project key, created only when it is to sign the plan; a
 * plan signed by a planner key needs none (note [planner signature] in
 * back/planfile.c), only the stack id it is bound to. */
static bool load_key(mk_planned *out, const mk_pipeline_req *r, bool sign)
{
    char why[4400];
    const char *signer = sign ? signing_key(r) : NULL;
    mk_key *k = &out->key;
    bool project = mk_key_load(k, MOKSHA_DIR, !sign ? MK_KEY_READ : signer ? MK_KEY_STACK : MK_KEY_CREATE, why, sizeof why);
    bool ok = project && (!signer || (k->signer = mk_sign_load(signer, why, sizeof why)));
    if (ok && signer)
        mk_sign_public(k->signer, k->signer_pub, k->signer_id);
    if (!ok) {
        mk_diag_error(out->p->diag, "E0302", MK_NOSPAN, "%s%s", why, project ? " (the planner key that signs: "
                      "--signing-key or MOKSHA_SIGNING_KEY)" : "");
        return false;
    }
    const char *seal_to = getenv("MOKSHA_SEAL_TO");
    if (r->seal_reported.on && !k->has_seal_to && !(seal_to && *seal_to)) { /* the service's own key */
        k->has_seal_to = true;
        memcpy(k->seal_to, r->seal_reported.key, sizeof k->seal_to);
        memcpy(k->seal_to_id, r->seal_reported.id, sizeof k->seal_to_id);
    }
    return true;
}

/* Trust mode's sealing (docs/trust.md): the executor's key from
 * MOKSHA_SEAL_TO, and the state's fingerprint_key to compare secrets by. */
static bool load_seal(mk_planned *out)
{
    const char *to = getenv("MOKSHA_SEAL_TO");
    char why[600];
    mk_state_fingerprint_key(out->st, &out->key);
    if (!to || !*to || mk_seal_to_load(&out->key, to, why, sizeof why))
        return true;
    mk_diag_error(out->p->diag, "E0302", MK_NOSPAN, "%s", why);
    return false;
}

/* The first secret the plan holds, as ADDRESS.ATTR or output.NAME into
 * buf; false for none. */
static bool first_secret(const mk_planned *out, char *buf, size_t n)
{
    const mk_plan *pl = out->model;
    for (size_t i = 0; i < pl->nchanges; i++)
        if (pl->changes[i].in && pl->changes[i].sensitive.n)
            return snprintf(buf, n, "%s.%s", pl->changes[i].address, pl->changes[i].sensitive.v[0]) >= 0;
    const mk_unit *root = out->p->root;
    for (uint32_t i = 0; root && i < root->noutputs; i++)
        if (root->outputs[i].value && mk_v_is_secret(root->outputs[i].value))
            return snprintf(buf, n, "output.%s", root->outputs[i].decl->name) >= 0;
    return false;
}

bool mk_pipeline_sealable(mk_planned *out)
{
    char what[512];
    if (!out->key.signer || out->key.has_seal_to || !first_secret(out, what, sizeof what))
        return true;
    mk_diag_item *d = mk_diag_error(out->p->diag, "E0305", MK_NOSPAN,
                                    "the plan holds secrets (%s) and is signed with a planner key, but has no executor "
                                    "key to seal them to", what);
    mk_diag_help(d, "set MOKSHA_SEAL_TO to the executor's public key (moksha-exec key show)");
    return false;
}

/* A revert's desired resources: serial N's entries in place of the
 * spec's instances, which gave the revert its policies, providers and
 * types; N must be of the state's lineage. *providers: serial N's record
 * of its provider blocks (a new reference, or NULL), for the aliases the
 * spec no longer has. */
static bool revert_desired(mk_pipeline_req *r, mk_planned *out, json_t **providers)
{
    mk_state *target = mk_state_parse(r->revert_text, r->revert_len, "the serial reverted to", out->p->diag);
    bool ok = target != NULL;
    if (ok && target->serial != r->revert_serial)
        mk_diag_error(out->p->diag, "E0307", MK_NOSPAN, "asked for serial %lld, the executor gave serial %lld",
                      (long long)r->revert_serial, (long long)target->serial), ok = false;
    else if (ok && strcmp(target->lineage, out->st->lineage) != 0)
        mk_diag_error(out->p->diag, "E0307", MK_NOSPAN, "serial %lld is of lineage %s, the state's is %s: a revert "
                      "stays within one state's history", (long long)r->revert_serial, target->lineage,
                      out->st->lineage), ok = false;
    ok = ok && mk_revert_desire(out->p, target, out->st);
    if (ok)
        *providers = json_deep_copy(json_object_get(target->root, "providers"));
    mk_state_free(target);
    return ok;
}

/* Serial N's provider blocks that the spec no longer has, into the
 * plan's: its entries are made through them. Takes providers. */
static void revert_providers(mk_plan *pl, json_t *providers)
{
    const char *alias;
    json_t *v;
    json_object_foreach(providers, alias, v)
        if (!json_object_get(pl->providers, alias))
            json_object_set(pl->providers, alias, v);
    json_decref(providers);
}

bool mk_pipeline_plan(mk_pipeline_req *r, mk_planned *out, bool sign)
{
    double t0 = mk_pipeline_now_ms();
    memset(out, 0, sizeof *out);
    out->p = r->p = mk_program_new();
    bool ok = compile_against_state(r, out, &t0);         /* base/state.c beside front/: load → vars → eval */
    json_t *reverted = NULL;
    ok = ok && (!r->revert_text || revert_desired(r, out, &reverted)); /* front/revert.c: serial N's entries desired */
    if (!ok || r->compile_only || !load_key(out, r, sign) || !load_seal(out)) { /* base/key.c, base/seal.c */
        json_decref(reverted);
        return ok && r->compile_only;                     /* (moksha cost stops before the keys) */
    }
    out->model = mk_plan_build_observed(out->p, out->st, out->obs, &out->key, r->destroy); /* middle/plan.c: diff */
    out->model->backend_kind = r->backend_kind, out->model->backend_stack = r->backend_stack;
    out->model->backend_env = r->backend_env;
    out->model->reads = reads_json(out->p);
    out->model->revert_to = r->revert_text ? r->revert_serial : 0;
    revert_providers(out->model, reverted);
    mk_pipeline_mark(out, "diff", &t0);
    if (!mk_pipeline_sealable(out))
        return false;
    add_costs(out, r);                                    /* middle/cost.c, middle/place.c: price and place */
    mk_pipeline_mark(out, "cost", &t0);
    add_policies(out, r);                                 /* middle/policy.c */
    bool named = overrides_all_named(out, r);
    mk_pipeline_mark(out, "policies", &t0);
    if (!r->explain && !r->keep_placement) {              /* the report was the policies' too; */
        mk_place_report_free(out->placement);             /* the records hold the catalog's strings */
        out->placement = NULL;
    }
    if (sign && !out->policy_failed) {                    /* note [unsigned failures] */
        mk_buf text = {0};
        mk_planfile_emit(out->model, &out->key, true, &text); /* back/planfile.c: write and sign */
        out->text = mk_buf_take(&text);
        mk_pipeline_mark(out, "sign", &t0);
    }
    return mk_diag_errors(out->p->diag) == 0 && named;
}

mk_place_report *mk_pipeline_price(mk_planned *pl, const mk_pipeline_req *r)
{
    double t0 = mk_pipeline_now_ms();
    mk_cost_catalog *cat = mk_cost_load(pl->p->share_dir, pl->p->diag);
    if (!cat)
        return NULL;
    bool pins = mk_pin_check(cat, pl->p);
    if (!(mk_cost_check_db_pins(cat, pl->p) && pins)) { /* no figures for a stack that pins what is not sold */
        mk_cost_free(cat);
        return NULL;
    }
    mk_place_report *rep = mk_place_run(cat, pl->p, pl->st, NULL, r->replace_placement, r->nreplace_placement);
    place_by_policy(cat, pl->p, NULL, rep);
    if (rep->overflow) /* no figures rather than wrong ones */
        mk_diag_error(pl->p->diag, "E0401", MK_NOSPAN, "the stack's monthly cost is out of range (over $9,223,372,036,854)");
    pl->placement = rep, pl->catalog = cat;
    record(pl, "cost", mk_pipeline_now_ms() - t0, -1); /* loading the catalogs and placing and pricing everything */
    return rep;
}

void mk_pipeline_planned_free(mk_planned *pl)
{
    mk_sign_free(pl->key.signer);
    mk_place_report_free(pl->placement);
    mk_cost_free(pl->catalog);
    mk_planfile_free_text(pl->text);
    mk_plan_free(pl->model);
    mk_state_free(pl->st);
    mk_observed_free(pl->obs);
    mk_program_free(pl->p);
}
