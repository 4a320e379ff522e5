/* cmd_plan — `moksha plan`, `moksha show` and `moksha graph`: compile the
 * stack against applied state, diff, sign and render the plan. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/resource.h>

#include "compiler/cli/cli.h"
#include "compiler/back/planfile.h"
#include "compiler/base/jalloc.h"
#include "compiler/middle/cost.h"
#include "compiler/middle/place.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"
#include "compiler/back/policy_out.h"
#include "compiler/back/render.h"
#include "compiler/base/state.h"
#include "compiler/front/vjson.h"


int cmd_plan(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_graph(int argc, char **argv);

static const char PLAN_HELP[] =
    "usage: moksha plan [options] [PATH...]\n"
    "\n"
    "Compile the stack against the applied state (.moksha/state.json) into a\n"
    "plan: what will be created, updated, replaced and deleted, with the\n"
    "attributes that change and why a change replaces. A plan that leaves the\n"
    "process (-o, --format json) is signed with the project key (MOKSHA_KEY, else\n"
    ".moksha/key: 32 random bytes as 64 hex digits or base64, or passphrase:TEXT)\n"
    "and bound to the stack (.moksha/stack-id); the first such plan creates both.\n"
    "A plan printed as text or markdown creates nothing. Secrets are sealed.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE         write the signed plan file (moksha.plan/v1) for `moksha apply`;\n"
    "                         never over a .moksha source, .moksha/ (but NAME.plan) or a non-plan file\n"
    "  --format text|json|markdown   how to print the plan (default text)\n"
    "  --detailed-exitcode    exit 0 when there are no changes, 2 when there are\n"
    "  --policies DIR         also apply the policies in DIR (repeatable)\n"
    "  --override NAME --reason TEXT   let soft policy NAME fail; recorded in the plan\n"
    "  --replace-placement ADDR        let the cost model choose ADDR's place again (a move is refused, E0402)\n"
    "  --explain                       list each resource's placement candidates and why the winner won\n"
    "  --path-prefix P                 markdown: the stack's directory is P in the repository (files are\n"
    "                                  named from the repository root, the nearest .git above, by default)\n"
    "  --var NAME=VALUE       set a variable (repeatable)\n"
    "  --var-file FILE        read variables from a YAML file (repeatable)\n"
    "  -h, --help             show this help\n"
    "\n"
    "exit status: 0 success, 1 error, 2 changes present (--detailed-exitcode),\n"
    "3 a policy failed (such a plan is never signed: -o does not save it, and\n"
    "--format json prints it without a signature)\n";

typedef mk_planned planned;

/* Compile, diff and sign. Diagnostics are printed; false on any error. */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void phase(const char *name, double *t0)
{
    double t = now_ms();
    if (mk_cli_opts.stats) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "stats: %s_ms=%.0f peak_rss_mib=%ld\n", name, t - *t0, ru.ru_maxrss / 1024);
    }
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

/* note [no moves]: `--replace-placement ADDR` lets the cost model choose
 * another place for an applied resource, and `moksha cost` prices that. A
 * plan cannot make the move yet: the executor builds an applied resource
 * where the state has it, and whether a change replaces is settled while
 * evaluating (what refers to a replaced resource learns its new id only
 * after apply), before any placement is known. So a plan that would move a
 * resource is refused rather than shown at a place it will never reach. */
static void refuse_moves(mk_planned *out, mk_cli_compile_req *r, const mk_place_report *rep)
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
static void add_costs(mk_planned *out, mk_cli_compile_req *r)
{
    mk_program *p = out->p;
    mk_cost_catalog *cat = mk_cost_load(p->share_dir, p->diag);
    if (!cat)
        return;
    mk_place_report *rep = mk_place_run(cat, p, out->st, r->replace_placement, r->nreplace_placement);
    mk_cli_place_by_policy(cat, p, out->plan, rep);
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
    if (r->explain)
        mk_cli_explain_placement(rep);
    mk_place_report_free(rep);
    mk_cost_free(cat);
}

/* note [unsigned failures]: a plan whose policies fail is never signed, so
 * no output of moksha — `plan -o` refuses it, `plan --format json` prints it
 * without a signature, `apply` stops before moksha-exec — is a plan the
 * executor would take. The executor checks the recorded results anyway
 * (mk_exec_plan_policies_ok in runtime/planfile.c) and refuses with exit 3.
 *
 * Policy results and gates into the plan: a gate names the change it holds. */
static void add_policies(mk_planned *out, mk_cli_compile_req *r)
{
    mk_policy_run run = {.overrides = r->overrides, .noverrides = r->noverrides};
    json_t *results = mk_policy_check(out->p, out->plan, &run);
    json_t *gates = json_array();
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
            json_array_foreach(json_object_get(out->plan, "changes"), c, ch)
                if (json_equal(json_object_get(ch, "address"), json_object_get(g, "address")) &&
                    (!pick || (json_object_get(pick, "deposed") && !json_object_get(ch, "deposed"))))
                    pick = ch;
            if (pick)
                json_object_set(gate, "change", json_object_get(pick, "id"));
            json_array_append_new(gates, gate);
        }
    }
    json_array_foreach(results, i, res) { /* require risk(…): a change is at least that risky */
        json_array_foreach(json_object_get(res, "risks"), k, g) {
            static const char *const rank = "low medium high";
            json_array_foreach(json_object_get(out->plan, "changes"), c, ch) {
                const char *now = json_string_value(json_object_get(ch, "risk")), *want = json_string_value(json_object_get(g, "risk"));
                if (!json_equal(json_object_get(ch, "address"), json_object_get(g, "address")) || !now || !want ||
                    strstr(rank, now) >= strstr(rank, want))
                    continue;
                json_object_set_new(ch, "risk", json_string(want));
                json_object_set(ch, "risk_raised_by", json_object_get(res, "name"));
            }
        }
    }
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
    double t = now_ms();
    j->st = mk_state_read(STATE_PATH, j->diag);
    j->ms = now_ms() - t;
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

bool mk_cli_make_plan(mk_cli_compile_req *r, mk_planned *out, bool sign)
{
    double t0 = now_ms();
    memset(out, 0, sizeof *out);
    out->p = r->p = mk_program_new();
    statejob job = {.diag = mk_diag_new(&out->p->src)};
    job.threaded = pthread_create(&job.th, NULL, state_thread, &job) == 0;
    if (!job.threaded)
        state_thread(&job);
    r->await_state = await_state;
    r->await_ud = &job;
    r->strict = true;
    mk_cli_compile(r);
    await_state(&job); /* (a compile that stopped early did not wait) */
    r->await_state = NULL;
    out->st = job.st;
    mk_diag_take(out->p->diag, job.diag); /* why the state is unreadable (E0300) */
    mk_diag_free(job.diag);
    if (mk_cli_opts.stats)
        fprintf(stderr, "stats: state_ms=%.0f\n", job.ms);
    bool ok = out->st != NULL && mk_diag_errors(out->p->diag) == 0;
    ok = ok && mk_cli_replace_match(r, out->p);
    phase("compile", &t0);
    char why[512];
    if (ok && r->compile_only) {
        mk_diag_print(out->p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
        return ok;
    }
    if (ok && !mk_key_load(&out->key, MOKSHA_DIR, sign ? MK_KEY_CREATE : MK_KEY_READ, why, sizeof why)) {
        mk_diag_error(out->p->diag, "E0302", MK_NOSPAN, "%s", why);
        ok = false;
    }
    if (ok) {
        out->plan = mk_plan_build(out->p, out->st, &out->key, &out->totals, r->destroy);
        phase("diff", &t0);
        add_costs(out, r);
        phase("cost", &t0);
        add_policies(out, r);
        bool named = mk_cli_overrides_match(r, out->policies);
        phase("policies", &t0);
        if (sign && !out->policy_failed) { /* note [unsigned failures] */
            out->text = mk_planfile_sign(out->plan, &out->key);
            phase("sign", &t0);
        }
        ok = mk_diag_errors(out->p->diag) == 0 && named;
    }
    mk_diag_print(out->p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    return ok;
}

void mk_cli_planned_free(mk_planned *pl)
{
    mk_planfile_free_text(pl->text);
    if (!mk_jalloc_installed()) /* else the arenas hold it, and walking it frees nothing (0.2 s at 100,000 changes) */
        json_decref(pl->plan);
    mk_state_free(pl->st);
    mk_program_free(pl->p);
}

static bool valid_format(const char *f, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(f, *allowed) == 0)
            return true;
    return false;
}

void mk_cli_print_plan(json_t *plan, const char *text, const char *format)
{
    if (strcmp(format, "json") == 0) {
        if (text)
            puts(text);
        else
            json_dumpf(plan, stdout, JSON_COMPACT | JSON_SORT_KEYS), fputc('\n', stdout);
        return;
    }
    mk_buf b = {.sink = stdout}; /* streamed: a plan of 100,000 changes is 100 MB of text */
    if (strcmp(format, "markdown") == 0)
        mk_render_markdown(plan, &b);
    else
        mk_render_text(plan, &b, mk_cli_color(stdout));
    mk_buf_flush(&b);
    mk_buf_free(&b);
}

int cmd_plan(int argc, char **argv)
{
    static const char *const formats[] = {"text", "json", "markdown", NULL};
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    const char *format = "text", *out = NULL, *prefix = NULL, *v;
    bool bad = false, detailed = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(PLAN_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if ((v = mk_cli_opt(&a, "--out", &bad)) || (v = mk_cli_opt(&a, "-o", &bad))) {
            out = v;
        } else if (strcmp(argv[a.i], "--detailed-exitcode") == 0) {
            detailed = true;
        } else if (strcmp(argv[a.i], "--explain") == 0) {
            r.explain = true;
        } else if ((v = mk_cli_opt(&a, "--path-prefix", &bad))) {
            prefix = v;
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for plan (see moksha plan --help)", argv[a.i]);
            bad = true;
        }
    }
    if (!bad && !valid_format(format, formats)) {
        mk_cli_err("--format takes text, json or markdown, not `%s`", format);
        bad = true;
    }
    if (bad || !mk_cli_overrides_ok(&r)) {
        mk_cli_req_free(&r);
        return EXIT_INPUT;
    }
    char why[1024];
    if (out && !mk_planfile_target_ok(out, why, sizeof why)) { /* before planning: nothing is spent on a bad -o */
        mk_cli_err("refusing to write the plan: %s (choose another file, e.g. -o plan.json)", why);
        mk_cli_req_free(&r);
        return EXIT_INPUT;
    }
    planned pl;
    int rc = EXIT_INPUT;
    if (mk_cli_make_plan(&r, &pl, out || strcmp(format, "json") == 0)) {
        rc = EXIT_OK;
        if (out && pl.policy_failed) {
            mk_cli_err("a policy failed, so the plan was not saved to `%s`", out);
            out = NULL;
        } else if (pl.policy_failed && strcmp(format, "json") == 0) {
            mk_cli_err("a policy failed: the JSON plan is printed without a signature, and moksha-exec will not apply it");
        } else if (out && !mk_planfile_write(pl.text, out)) {
            mk_cli_err("cannot write plan to `%s`: %s", out, strerror(errno));
            rc = EXIT_INPUT;
        }
        double T0 = now_ms();
        mk_cli_print_plan(pl.plan, pl.text, format);
        phase("render", &T0);
        if (out && rc == EXIT_OK && strcmp(format, "text") == 0)
            printf("\nSaved the signed plan to %s; run `moksha apply %s` to apply exactly these changes.\n", out, out);
        if (json_array_size(pl.policies) && strcmp(format, "json") != 0) {
            mk_buf b = {0};
            mk_policy_out_opts po = {json_string_value(json_object_get(pl.plan, "stack")), mk_cli_color(stdout), prefix};
            mk_policy_out_ex(pl.policies, strcmp(format, "markdown") == 0 ? "markdown" : "text", &po, &b);
            printf("\n%s", mk_buf_cstr(&b));
            mk_buf_free(&b);
        }
        if (rc == EXIT_OK && detailed && json_array_size(json_object_get(pl.plan, "changes")) > 0)
            rc = EXIT_CHANGES;
        if (rc != EXIT_INPUT && pl.policy_failed)
            rc = EXIT_POLICY;
    }
    mk_cli_planned_free(&pl);
    mk_cli_req_free(&r);
    return rc;
}

static const char SHOW_HELP[] =
    "usage: moksha show [--format text|json|markdown] PLAN\n"
    "\n"
    "Verify a saved plan file's signature with the project key and show it as\n"
    "`moksha plan` did, with its policy results. A plan that was altered, or\n"
    "signed with another key, is refused. A plan whose recorded policy results\n"
    "fail is shown with the failure first, and exits 3: moksha-exec refuses it.\n";

/* The first recorded policy result that fails the plan, or NULL: the
 * executor's rule (note [policy results] in runtime/planfile.h). */
static json_t *failing_policy(json_t *plan)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(plan, "policies"), i, r) {
        const char *st = json_string_value(json_object_get(r, "status")) ?: "";
        const char *reason = json_string_value(json_object_get(json_object_get(r, "override"), "reason"));
        bool ok = strcmp(st, "pass") == 0 || strcmp(st, "warn") == 0 ||
                  (strcmp(st, "overridden") == 0 && reason && reason[strspn(reason, " \t\r\n")]);
        if (!ok)
            return r;
    }
    return NULL;
}

/* A verified plan as `moksha plan` showed it, its policy results after it;
 * a failing policy is said first, and the exit status is 3: moksha-exec
 * refuses such a plan (a plan signed before moksha stopped signing them). */
static int show_verified(json_t *plan, const char *format)
{
    json_t *bad = failing_policy(plan);
    const char *name = json_string_value(json_object_get(bad, "name")) ?: "(unnamed)";
    const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(bad, "violations"), 0), "message"));
    if (bad && strcmp(format, "json") != 0)
        printf("%s `%s` (%s)%s%s. moksha-exec refuses this plan.\n\n",
               strcmp(format, "markdown") == 0 ? "> **POLICY FAILED:**" : "POLICY FAILED:", name,
               json_string_value(json_object_get(bad, "enforcement")) ?: "?", msg ? ": " : "", msg ? msg : "");
    mk_cli_print_plan(plan, NULL, format);
    json_t *results = json_object_get(plan, "policies");
    if (json_array_size(results) && strcmp(format, "json") != 0) {
        mk_buf b = {0};
        mk_policy_out(results, strcmp(format, "markdown") == 0 ? "markdown" : "text",
                      json_string_value(json_object_get(plan, "stack")), &b, mk_cli_color(stdout));
        printf("\n%s", mk_buf_cstr(&b));
        mk_buf_free(&b);
    }
    if (!bad)
        return EXIT_OK;
    mk_cli_err("policy `%s` fails in this plan: moksha-exec will not apply it", name);
    return EXIT_POLICY;
}

int cmd_show(int argc, char **argv)
{
    static const char *const formats[] = {"text", "json", "markdown", NULL};
    mk_cli_args a = {argc, 1, argv};
    const char *format = "text", *path = NULL, *v;
    bool bad = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(SHOW_HELP, stdout);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if (argv[a.i][0] == '-' && !bad) {
            mk_cli_err("unknown option `%s` for show", argv[a.i]);
            bad = true;
        } else if (!bad && path) {
            mk_cli_err("show takes one plan file; `%s` is one too many", argv[a.i]);
            bad = true;
        } else if (!bad) {
            path = argv[a.i];
        }
    }
    if (!bad && (!path || !valid_format(format, formats))) {
        mk_cli_err(!path ? "show needs a plan file (see moksha show --help)" : "--format takes text, json or markdown");
        bad = true;
    }
    if (bad)
        return EXIT_INPUT;
    char why[512];
    json_t *plan = mk_jsonfile_load(path, JSON_REJECT_DUPLICATES, why, sizeof why);
    if (!plan) {
        mk_cli_err("cannot read the plan %s", why);
        return EXIT_INPUT;
    }
    mk_key key;
    int rc = EXIT_INPUT;
    if (!mk_key_load(&key, MOKSHA_DIR, MK_KEY_REQUIRE, why, sizeof why))
        mk_cli_err("%s", why);
    else if (!mk_planfile_verify(plan, &key, why, sizeof why))
        mk_cli_err("%s: %s%s", path, why,
                   failing_policy(plan) ? " (its policies fail, and moksha signs no plan whose policies fail)" : "");
    else
        rc = show_verified(plan, format);
    json_decref(plan);
    return rc;
}

static const char GRAPH_HELP[] =
    "usage: moksha graph [--format dot|json] [--var NAME=VALUE]... [PATH...]\n"
    "\n"
    "Print the plan's graph: a node for every resource, marked with what the\n"
    "plan does to it, and an edge from each to what it depends on. DOT output\n"
    "renders with Graphviz: moksha graph | dot -Tsvg > plan.svg\n";

static void graph_dot(json_t *g)
{
    static const struct { const char *action, *color; } colors[] = {
        {"create", "darkgreen"}, {"update", "goldenrod"}, {"replace", "purple"}, {"delete", "red"}, {"noop", "gray40"},
    };
    puts("digraph plan {\n  rankdir = LR;\n  node [shape = box, fontname = \"monospace\"];");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(g, "nodes"), i, n) {
        const char *act = json_string_value(json_object_get(n, "action")), *col = "black";
        for (size_t k = 0; k < 5; k++)
            if (strcmp(act, colors[k].action) == 0)
                col = colors[k].color;
        mk_buf b = {0};
        mk_buf_escape(&b, json_string_value(json_object_get(n, "address")), json_string_length(json_object_get(n, "address")));
        printf("  n%zu [label = \"%s\\n%s\", color = %s];\n", i, mk_buf_cstr(&b), act, col);
        mk_buf_free(&b);
    }
    json_t *e;
    json_array_foreach(json_object_get(g, "edges"), i, e)
        printf("  n%lld -> n%lld;\n", (long long)json_integer_value(json_array_get(e, 0)),
               (long long)json_integer_value(json_array_get(e, 1)));
    puts("}");
}

/* Nodes: every desired instance and every delete; edges: dependencies. */
static json_t *graph_of(planned *pl)
{
    json_t *nodes = json_array(), *edges = json_array();
    mk_program *p = pl->p;
    for (size_t i = 0; i < p->ninstances; i++)
        p->instances[i]->change_id = (uint32_t)i; /* reused as the node index from here on */
    json_t *changes = json_object_get(pl->plan, "changes");
    for (size_t i = 0; i < p->ninstances; i++) {
        const char *act = "noop";
        size_t k;
        json_t *c;
        json_array_foreach(changes, k, c)
            if (strcmp(json_string_value(json_object_get(c, "address")), p->instances[i]->address) == 0)
                act = json_string_value(json_object_get(c, "action"));
        json_array_append_new(nodes, json_pack("{s:s, s:s}", "address", p->instances[i]->address, "action", act));
        for (uint32_t d = 0; d < p->instances[i]->ndeps; d++)
            json_array_append_new(edges, json_pack("[i, i]", (json_int_t)i, (json_int_t)p->instances[i]->deps[d]->change_id));
    }
    size_t k;
    json_t *c;
    json_array_foreach(changes, k, c)
        if (strcmp(json_string_value(json_object_get(c, "action")), "delete") == 0)
            json_array_append_new(nodes, json_pack("{s:O, s:s}", "address", json_object_get(c, "address"), "action", "delete"));
    return json_pack("{s:s, s:o, s:o}", "format", "moksha.graph/v1", "nodes", nodes, "edges", edges);
}

int cmd_graph(int argc, char **argv)
{
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    const char *format = "dot", *v;
    bool bad = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(GRAPH_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for graph", argv[a.i]);
            bad = true;
        }
    }
    bad = bad || !mk_cli_only(&r, "graph", MK_CLI_PATHS | MK_CLI_VARS | MK_CLI_POLICIES);
    if (!bad && strcmp(format, "dot") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes dot or json, not `%s`", format);
        bad = true;
    }
    planned pl;
    int rc = EXIT_INPUT;
    if (!bad && mk_cli_make_plan(&r, &pl, false)) {
        json_t *g = graph_of(&pl);
        if (strcmp(format, "json") == 0) {
            json_dumpf(g, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            graph_dot(g);
        }
        json_decref(g);
        rc = EXIT_OK;
    }
    if (!bad)
        mk_cli_planned_free(&pl);
    mk_cli_req_free(&r);
    return rc;
}
