/* pipeline — the driver (pipeline.h): one request through the stages,
 * each stage one line naming its module:
 *
 *   read the state        base/state.c, on a thread of its own
 *   load → vars → eval    front/program.c, front/vars.c, front/eval.c (big stack)
 *   diff                  middle/plan.c
 *   price and place       middle/cost.c, under the policies (middle/policy.c)
 *   policies              middle/policy.c
 *   write and sign        back/planfile.c, from the plan's records
 *
 * and what joins them: the costs and placements written into the plan's
 * changes (with the shared-value cache), the policy results and gates.
 * Nothing here prints; see pipeline.h for who does. */
#include "compiler/pipeline.h"

#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "compiler/back/planfile.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "compiler/front/eval.h"
#include "compiler/front/vars.h"
#include "compiler/front/vjson.h"
#include "compiler/middle/cost.h"
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

/* Values shared by every change that has the same: a change's placement
 * and its cost take a few distinct values in a plan of 100,000 changes, and
 * a value is never changed once in the plan (jansson counts references).
 * Keyed by four words: pointers into the catalog, or a price's bits. */
typedef struct vcache {
    uintptr_t key[4];
    json_t *v;
} vcache;

typedef struct vtab {
    vcache *e;
    size_t mask, n;
} vtab;

static void vtab_free(vtab *t)
{
    for (size_t k = 0; t->e && k <= t->mask; k++)
        json_decref(t->e[k].v);
    mk_mem_free(t->e);
    t->e = NULL;
}

/* The slot for key: a value to share, or an empty slot to fill (v NULL). */
static vcache *vtab_slot(vtab *t, const uintptr_t key[4])
{
    if (!t->e || t->n * 2 >= t->mask) { /* full enough: start again, larger */
        size_t mask = t->e ? t->mask * 2 + 1 : 255;
        vtab_free(t);
        t->e = mk_mem_calloc(mask + 1, sizeof *t->e);
        t->mask = mask, t->n = 0;
    }
    size_t h = (key[0] * 31 + key[1] * 17 + key[2] * 13 + key[3]) >> 3;
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        vcache *e = &t->e[i];
        if (!e->v) {
            memcpy(e->key, key, sizeof e->key);
            t->n++;
            return e;
        }
        if (!memcmp(e->key, key, sizeof e->key))
            return e;
    }
}

static json_t *placement_of(vtab *t, const mk_cost_quote *q)
{
    vcache *e = vtab_slot(t, (uintptr_t[4]){(uintptr_t)q->cloud, (uintptr_t)q->region, (uintptr_t)q->offering, 0});
    if (!e->v)
        e->v = json_pack("{s:[s], s:[s], s:s?, s:s}", "providers", q->cloud, "regions", q->region, "offering", q->offering,
                         "optimize", "cost");
    return json_incref(e->v);
}

static json_t *cost_of(vtab *t, const mk_money *monthly, mk_money delta, const char *offering, const char *unpriced)
{
    /* (a price is never negative: -1 stands for none) */
    vcache *e = vtab_slot(t, (uintptr_t[4]){monthly ? (uintptr_t)*monthly : (uintptr_t)-1, (uintptr_t)delta,
                                            (uintptr_t)offering, (uintptr_t)unpriced});
    if (!e->v)
        e->v = json_pack("{s:o, s:o, s:s?, s:s?}", "monthly", monthly ? mk_vjson_money(*monthly) : json_null(),
                         "delta", mk_vjson_money(delta), "offering", offering, "unpriced_because", unpriced);
    return json_incref(e->v);
}

/* Placement under the policies that read it (docs/cost.md); plan may be
 * NULL (moksha cost, which makes none). */
static void place_by_policy(mk_cost_catalog *cat, mk_program *p, json_t *plan, mk_place_report *rep)
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
    for (size_t i = 0; i < rep->nitems; i++) {
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

/* The cost model's verdict into the plan: each change's cost and chosen
 * placement (the executor builds there), and the plan's totals. A desired
 * resource reaches its change through the instance; the rest (deletes) by
 * address. */
static void add_costs(mk_planned *out, mk_pipeline_req *r)
{
    mk_program *p = out->p;
    mk_cost_catalog *cat = mk_cost_load(p->share_dir, p->diag);
    if (!cat)
        return;
    mk_place_report *rep = mk_place_run(cat, p, out->st, r->replace_placement, r->nreplace_placement);
    place_by_policy(cat, p, out->plan, rep);
    refuse_moves(out, r, rep);
    if (rep->overflow)
        mk_diag_error(p->diag, "E0401", MK_NOSPAN, "the stack's monthly cost is out of range (over $9,223,372,036,854)");
    vtab places = {0}, costs = {0};
    for (size_t i = 0; i < rep->nitems; i++) {
        const mk_place_item *it = &rep->items[i];
        mk_instance *in = (mk_instance *)it->in;
        bool priced = it->q.status == MK_COST_PRICED;
        if (priced)
            in->cost_monthly = mk_v_money(&p->v, it->q.monthly);
        json_t *c = in->change;
        if (!c)
            continue;
        size_t at = 0;
        mk_money was = out->st->nres && mk_state_find(out->st, in->address, &at) ? rep->applied_each[at] : 0;
        mk_money delta = (priced ? it->q.monthly : 0) - was; /* (both in [0, $1e9]) */
        in->cost_delta = mk_v_money(&p->v, delta);
        json_object_set_new_nocheck(c, "cost", cost_of(&costs, priced ? &it->q.monthly : NULL, delta,
                                                       priced ? it->q.offering : NULL,
                                                       priced ? NULL : it->q.why ? it->q.why : "no price"));
        if (it->q.cloud && strncmp(in->res->type, "local.", 6) != 0)
            json_object_set_new_nocheck(c, "placement", placement_of(&places, &it->q));
    }
    json_t *changes = json_object_get(out->plan, "changes");
    for (size_t i = json_array_size(changes) - (size_t)out->totals.remove; i < json_array_size(changes); i++) {
        json_t *c = json_array_get(changes, i); /* the deletes come last (mk_plan_build) */
        /* a deposed object is not in the applied total: its delete changes no figure */
        size_t at = 0;
        const char *addr = json_string_value(json_object_get(c, "address"));
        bool known = !json_object_get(c, "deposed") && mk_state_find(out->st, addr, &at);
        mk_money delta = known ? -rep->applied_each[at] : 0;
        json_object_set_new_nocheck(c, "cost", cost_of(&costs, NULL, delta, NULL, NULL));
        if (known)
            mk_sym_put(&p->delete_delta, mk_intern_s(p->ast.names, addr), NULL, mk_v_money(&p->v, delta));
    }
    mk_money monthly = r->destroy ? 0 : rep->monthly; /* after a destroy nothing is left to pay for */
    p->cost_monthly = mk_v_money(&p->v, monthly);
    p->cost_delta = mk_v_money(&p->v, monthly - rep->applied);
    vtab_free(&places);
    vtab_free(&costs);
    json_object_set_new(out->plan, "cost", json_pack("{s:s, s:o, s:o, s:o, s:I}", "currency", "USD", "monthly",
                        mk_vjson_money(monthly), "applied", mk_vjson_money(rep->applied),
                        "delta", mk_vjson_money(monthly - rep->applied), "unpriced", (json_int_t)rep->nunpriced));
    if (r->explain) { /* the caller prints it (mk_cost_out_explain) */
        out->placement = rep, out->catalog = cat;
        return;
    }
    mk_place_report_free(rep);
    mk_cost_free(cat);
}

/* note [unsigned failures]: a plan whose policies fail is never signed, so
 * no output of moksha — `plan -o` refuses it, `plan --format json` prints it
 * without a signature, `apply` stops before moksha-exec — is a plan the
 * executor would take. The executor checks the recorded results anyway
 * (mk_planfile_policies_ok in runtime/planfile.c) and refuses with exit 3.
 *
 * Policy results and gates into the plan: a gate names the change it holds. */
/* The plan's changes by address ({address: [change…]}, in plan order), so
 * gates and raised risks find their changes without a pass over all of them
 * each: made on first use, most plans have neither. */
static json_t *changes_at(json_t *plan, json_t **idx, json_t *address)
{
    if (!json_is_string(address))
        return NULL;
    if (!*idx) {
        *idx = json_object();
        size_t c;
        json_t *ch;
        json_array_foreach(json_object_get(plan, "changes"), c, ch) {
            const char *a = json_string_value(json_object_get(ch, "address"));
            json_t *list = a ? json_object_get(*idx, a) : NULL;
            if (a && !list)
                json_object_set_new(*idx, a, list = json_array());
            if (list)
                json_array_append(list, ch);
        }
    }
    return json_object_get(*idx, json_string_value(address));
}

static void add_policies(mk_planned *out, mk_pipeline_req *r)
{
    mk_policy_run run = {.overrides = r->overrides, .noverrides = r->noverrides};
    json_t *results = mk_policy_check(out->p, out->plan, &run);
    json_t *gates = json_array(), *idx = NULL;
    size_t i, k, c;
    json_t *res, *g, *ch;
    json_array_foreach(results, i, res) {
        json_array_foreach(json_object_get(res, "gates"), k, g) {
            json_t *gate = json_pack("{s:I, s:O, s:O, s:O?, s:O?, s:n}", "id", (json_int_t)json_array_size(gates) + 1,
                                     "policy", json_object_get(res, "name"), "group", json_object_get(g, "group"),
                                     "message", json_object_get(g, "message"), "address", json_object_get(g, "address"),
                                     "change");
            /* the resource's own change; a deposed object's delete at the
             * same address only when it is the one there is */
            json_t *pick = NULL;
            json_array_foreach(changes_at(out->plan, &idx, json_object_get(g, "address")), c, ch)
                if (!pick || (json_object_get(pick, "deposed") && !json_object_get(ch, "deposed")))
                    pick = ch;
            if (pick)
                json_object_set(gate, "change", json_object_get(pick, "id"));
            json_array_append_new(gates, gate);
        }
    }
    json_array_foreach(results, i, res) { /* require risk(…): a change is at least that risky */
        json_array_foreach(json_object_get(res, "risks"), k, g) {
            static const char *const rank = "low medium high";
            json_array_foreach(changes_at(out->plan, &idx, json_object_get(g, "address")), c, ch) {
                const char *now = json_string_value(json_object_get(ch, "risk")), *want = json_string_value(json_object_get(g, "risk"));
                if (!now || !want || strstr(rank, now) >= strstr(rank, want))
                    continue;
                json_object_set_new(ch, "risk", json_string(want));
                json_object_set(ch, "risk_raised_by", json_object_get(res, "name"));
            }
        }
    }
    json_decref(idx);
    json_object_set_new(out->plan, "policies", results);
    json_object_set_new(out->plan, "gates", gates);
    out->policies = results;
    out->policy_failed = run.failed;
    out->policy_errored = run.errored;
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
    mk_diag *diag; /* its own: the compile thread reports meanwhile */
    double ms;
} statejob;

static void *state_thread(void *arg)
{
    statejob *j = arg;
    double t = mk_pipeline_now_ms();
    j->st = mk_state_read(STATE_PATH, j->diag);
    j->ms = mk_pipeline_now_ms() - t;
    return NULL;
}

static mk_state *await_state(void *ud)
{
    statejob *j = ud;
    if (j->threaded)
        pthread_join(j->th, NULL);
    j->threaded = false;
    return j->st;
}


static void *compile_thread(void *arg)
{
    mk_pipeline_req *r = arg;
    mk_program *p = r->p;
    p->strict = r->strict && !r->destroy; /* note [destroy variables] in eval.c */
    p->destroy_vars = r->destroy;
    if (!mk_program_load(p, r->paths, r->npaths)) /* front/program.c */
        return NULL;
    for (size_t i = 0; i < r->npolicy_dirs; i++)
        mk_program_import(p, r->policy_dirs[i]);
    for (size_t i = 0; i < r->nvar_files; i++) /* front/vars.c */
        mk_vars_file(p, r->var_files[i]);
    mk_vars_env(p);
    for (size_t i = 0; i < r->nvar_flags; i++)
        mk_vars_flag(p, r->var_flags[i]);
    if (r->await_state)
        p->state = r->await_state(r->await_ud);
    mk_eval_program(p);           /* front/eval.c */
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
    statejob job = {.diag = mk_diag_new(&out->p->src)};
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
    mk_diag_take(out->p->diag, job.diag); /* why the state is unreadable (E0300) */
    mk_diag_free(job.diag);
    record(out, "state", job.ms, -1);
    bool ok = out->st != NULL && mk_diag_errors(out->p->diag) == 0;
    ok = ok && replace_all_named(out, r);
    mk_pipeline_mark(out, "compile", t0);
    return ok;
}

/* The project key: created only when the plan is to be signed. */
static bool load_key(mk_planned *out, bool sign)
{
    char why[512];
    if (mk_key_load(&out->key, MOKSHA_DIR, sign ? MK_KEY_CREATE : MK_KEY_READ, why, sizeof why))
        return true;
    mk_diag_error(out->p->diag, "E0302", MK_NOSPAN, "%s", why);
    return false;
}

/* note [plan seam]: the one place where the plan's records meet the
 * document that the differ still builds (middle/plan.c) and the cost model
 * and the policies still annotate above. Once that document is complete,
 * its records are read back from it (back/planfile.c, as `show` reads a
 * saved plan) and each desired change is given its instance, so that the
 * plan file and every rendering are written from the records as they will
 * be when mk_plan_build makes them: a change's `after` from its instance's
 * values, sealed as it is written. When the differ makes the records, this
 * goes, and the document with it. */
static bool seam_records(mk_planned *out)
{
    char why[256];
    mk_plan *m = mk_planfile_read(out->plan, why, sizeof why);
    if (!m) {
        mk_diag_error(out->p->diag, "E0303", MK_NOSPAN, "the plan cannot be written: %s", why);
        return false;
    }
    for (size_t i = 0; i < out->p->ninstances; i++) {
        mk_instance *in = out->p->instances[i];
        if (in->change_id && in->change_id <= m->nchanges && m->changes[in->change_id - 1].id == in->change_id) {
            m->changes[in->change_id - 1].in = in;
            m->changes[in->change_id - 1].after = NULL;
        }
    }
    out->model = m;
    return true;
}

bool mk_pipeline_plan(mk_pipeline_req *r, mk_planned *out, bool sign)
{
    double t0 = mk_pipeline_now_ms();
    memset(out, 0, sizeof *out);
    out->p = r->p = mk_program_new();
    bool ok = compile_against_state(r, out, &t0);         /* base/state.c beside front/: load → vars → eval */
    if (!ok || r->compile_only || !load_key(out, sign))   /* base/key.c (moksha cost stops before it) */
        return ok && r->compile_only;
    out->plan = mk_plan_build(out->p, out->st, &out->key, &out->totals, r->destroy); /* middle/plan.c: diff */
    mk_pipeline_mark(out, "diff", &t0);
    add_costs(out, r);                                    /* middle/cost.c: price and place */
    mk_pipeline_mark(out, "cost", &t0);
    add_policies(out, r);                                 /* middle/policy.c */
    bool named = overrides_all_named(out, r);
    mk_pipeline_mark(out, "policies", &t0);
    if (!seam_records(out))                               /* note [plan seam] */
        return false;
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
    mk_place_report *rep = mk_place_run(cat, pl->p, pl->st, r->replace_placement, r->nreplace_placement);
    place_by_policy(cat, pl->p, NULL, rep);
    if (rep->overflow) /* no figures rather than wrong ones */
        mk_diag_error(pl->p->diag, "E0401", MK_NOSPAN, "the stack's monthly cost is out of range (over $9,223,372,036,854)");
    pl->placement = rep, pl->catalog = cat;
    record(pl, "cost", mk_pipeline_now_ms() - t0, -1); /* loading the catalogs and placing and pricing everything */
    return rep;
}

void mk_pipeline_planned_free(mk_planned *pl)
{
    mk_place_report_free(pl->placement);
    mk_cost_free(pl->catalog);
    mk_planfile_free_text(pl->text);
    mk_plan_free(pl->model);
    if (!mk_jalloc_installed()) /* else the arenas hold it, and walking it frees nothing (0.2 s at 100,000 changes) */
        json_decref(pl->plan);
    mk_state_free(pl->st);
    mk_program_free(pl->p);
}
