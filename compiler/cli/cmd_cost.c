/* cmd_cost — `moksha cost`: compile the stack against applied state, place
 * and price every resource (compiler/middle/cost.h), and print the monthly cost per
 * resource, the total and the delta against what is applied, as text, JSON or
 * a markdown pull-request comment; --explain lists each group's candidates. */
#include <string.h>
#include <time.h>

#include "compiler/cli/cli.h"
#include "compiler/middle/cost.h"
#include "compiler/middle/place.h"
#include "compiler/back/md.h"
#include "compiler/middle/policy.h"
#include "compiler/base/mem.h"
#include "compiler/front/vjson.h"

int cmd_cost(int argc, char **argv);

static const char COST_HELP[] =
    "usage: moksha cost [options] [PATH...]\n"
    "\n"
    "Place every resource on the cheapest cloud and region its placement and\n"
    "the policies that read r.placement allow, and price it per month from the\n"
    "catalogs in stdlib/pricing (docs/cost.md). Applied resources stay where the\n"
    "state has them.\n"
    "\n"
    "options:\n"
    "  --format text|json|markdown   how to print (default text)\n"
    "  --explain                     list the candidates of each resource and why the winner won\n"
    "  --replace-placement ADDRESS   let an applied resource move (repeatable)\n"
    "  --var NAME=VALUE              set a variable (repeatable)\n"
    "  --var-file FILE               read variables from a YAML file (repeatable)\n"
    "  -h, --help                    show this help\n";

static json_t *quote_json(const mk_place_item *it)
{
    const mk_cost_quote *q = &it->q;
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "address", it->in->address, "type", it->in->res->type,
                          "provider", q->cloud, "region", q->region, "offering", q->offering);
    if (q->status == MK_COST_PRICED)
        json_object_set_new(o, "monthly", mk_vjson_money(q->monthly));
    if (q->why)
        json_object_set_new(o, q->status == MK_COST_PRICED ? "note" : "why", json_string(q->why));
    return o;
}

static json_t *cands_json(const mk_place_group *g)
{
    json_t *a = json_array();
    for (size_t c = 0; c < g->ncands; c++) {
        const mk_place_cand *cd = &g->cands[c];
        json_t *o = json_pack("{s:s, s:s, s:b}", "provider", cd->cloud, "region", cd->region, "winner", (long)c == g->winner);
        if (cd->ok)
            json_object_set_new(o, "monthly", mk_vjson_money(cd->monthly));
        else
            json_object_set_new(o, "why", json_string(cd->why));
        if (cd->ok && cd->rejected)
            json_object_set_new(o, "rejected", json_string(cd->rejected));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *report_json(const mk_place_report *r, bool explain)
{
    json_t *res = json_array(), *unp = json_array();
    for (size_t i = 0; i < r->nitems; i++) {
        json_t *o = quote_json(&r->items[i]);
        const mk_place_group *g = &r->groups[r->items[i].group];
        if (explain) {
            json_object_set_new(o, "sticky", json_boolean(g->sticky));
            json_object_set_new(o, "candidates", cands_json(g));
        }
        json_array_append_new(r->items[i].q.status == MK_COST_PRICED ? res : unp, o);
    }
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "currency", "USD", "monthly", mk_vjson_money(r->monthly),
                     "applied", mk_vjson_money(r->applied), "delta", mk_vjson_money(r->monthly - r->applied),
                     "resources", res, "unpriced", unp);
}

/* The candidates of an item's group: the winner, then the others up to a
 * dozen lines (a group placed after widening has a hundred). */
static void explain_text(const mk_place_report *r, const mk_place_item *it)
{
    const mk_place_group *g = &r->groups[it->group];
    if (g->sticky)
        printf("    kept where it is applied (--replace-placement %s to move it)\n", it->in->address);
    size_t shown = 0, limit = 12;
    for (size_t c = 0; c < g->ncands; c++) {
        const mk_place_cand *cd = &g->cands[c];
        bool won = (long)c == g->winner;
        if (!won && shown >= limit)
            continue;
        shown++;
        char m[MK_MONEY_TEXT];
        mk_money_show(cd->monthly, m);
        if (cd->ok && cd->rejected && !won)
            printf("    x %s/%s: %s for its group of %zu, but it breaks %s\n", cd->cloud, cd->region, m, g->n, cd->rejected);
        else if (cd->ok)
            printf("    %s %s/%s: %s for its group of %zu%s%s%s\n", won ? "*" : "-", cd->cloud, cd->region, m, g->n,
                   cd->rejected ? " (it breaks " : "", cd->rejected ? cd->rejected : "", cd->rejected ? ")" : "");
        else
            printf("    x %s/%s: not a candidate: %s\n", cd->cloud, cd->region, cd->why);
    }
    if (shown < g->ncands)
        printf("    … and %zu more candidates (moksha cost --format json --explain lists them all)\n", g->ncands - shown);
}

void mk_cli_place_by_policy(mk_cost_catalog *cat, mk_program *p, json_t *plan, mk_place_report *rep)
{
    mk_policy_place *pp = mk_policy_place_new(p, plan);
    if (pp)
        mk_place_apply_policies(cat, rep, mk_policy_place_eval, pp);
    else
        mk_place_mark(rep);
    mk_policy_place_free(pp);
}

void mk_cli_explain_placement(const mk_place_report *r)
{
    puts("Placement:");
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_place_item *it = &r->items[i];
        if (!r->groups[it->group].ncands)
            continue;
        printf("  %s → %s/%s%s%s\n", it->in->address, it->q.cloud ? it->q.cloud : "?", it->q.region ? it->q.region : "?",
               it->q.offering ? " " : "", it->q.offering ? it->q.offering : "");
        explain_text(r, it);
    }
    putchar('\n');
}

/* A table row; the address may hold for_each keys (md.h). */
static void md_row(const char *addr, const char *cloud, const char *region, const char *offering, const char *money)
{
    mk_buf b = {0};
    mk_buf_puts(&b, "| ");
    mk_md_code(&b, addr, true);
    const char *cells[] = {cloud, region, offering, money};
    for (size_t i = 0; i < 4; i++) {
        mk_buf_puts(&b, " | ");
        mk_md_text(&b, cells[i]);
    }
    mk_buf_puts(&b, " |\n");
    fputs(mk_buf_cstr(&b), stdout);
    mk_buf_free(&b);
}

static void print_text(const mk_place_report *r, bool explain, bool md)
{
    if (md)
        printf("### moksha cost\n\n| resource | provider | region | offering | monthly |\n|---|---|---|---|---:|\n");
    for (size_t i = 0; i < r->nitems; i++) {
        const mk_place_item *it = &r->items[i];
        const mk_cost_quote *q = &it->q;
        char money[MK_MONEY_TEXT] = "unpriced";
        if (q->status == MK_COST_PRICED)
            mk_money_show(q->monthly, money);
        if (md)
            md_row(it->in->address, q->cloud ?: "-", q->region ?: "-", q->offering ?: "-", money);
        else
            printf("%-32s %-6s %-16s %-22s %10s%s%s\n", it->in->address, q->cloud ?: "-", q->region ?: "-",
                   q->offering ?: "-", money, q->why && q->status != MK_COST_PRICED ? "  " : "",
                   q->status != MK_COST_PRICED ? q->why : "");
        if (explain && !md)
            explain_text(r, it);
    }
    char total[MK_MONEY_TEXT], delta[MK_MONEY_TEXT], applied[MK_MONEY_TEXT];
    mk_money_show(r->monthly, total), mk_money_show(r->applied, applied);
    mk_money_signed(r->monthly - r->applied, delta);
    if (md)
        printf("\n**Total: %s/month** (%s against the applied state)%s\n", total, delta,
               r->nunpriced ? "; some resources are unpriced" : "");
    else
        printf("\ntotal: %s/month, delta %s against applied (%s); %zu unpriced\n", total, delta, applied, r->nunpriced);
}

int cmd_cost(int argc, char **argv)
{
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    const char *format = "text", *v;
    bool bad = false, explain = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(COST_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if (strcmp(argv[a.i], "--explain") == 0) {
            explain = true;
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for cost (see moksha cost --help)", argv[a.i]);
            bad = true;
        }
    }
    bad = bad || !mk_cli_only(&r, "cost", MK_CLI_PATHS | MK_CLI_VARS | MK_CLI_POLICIES | MK_CLI_REPLACE);
    if (!bad && strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "markdown")) {
        mk_cli_err("--format takes text, json or markdown, not `%s`", format);
        bad = true;
    }
    int rc = EXIT_INPUT;
    mk_planned pl;
    r.compile_only = true; /* the cost model needs the program and the state, not a plan */
    if (!bad && mk_cli_make_plan(&r, &pl, false)) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mk_cost_catalog *cat = mk_cost_load(pl.p->share_dir, pl.p->diag);
        if (cat) {
            mk_place_report *rep = mk_place_run(cat, pl.p, pl.st, r.replace_placement, r.nreplace_placement);
            mk_cli_place_by_policy(cat, pl.p, NULL, rep);
            if (rep->overflow) {
                mk_diag_error(pl.p->diag, "E0401", MK_NOSPAN, "the stack's monthly cost is out of range (over $9,223,372,036,854)");
                mk_diag_print(pl.p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (mk_cli_opts.stats) /* loading the catalogs and placing and pricing everything */
                fprintf(stderr, "stats: cost_ms=%.0f\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
            if (rep->overflow) {
                /* reported above: no figures rather than wrong ones */
            } else if (strcmp(format, "json") == 0) {
                json_t *j = report_json(rep, explain);
                json_dumpf(j, stdout, JSON_COMPACT), fputc('\n', stdout);
                json_decref(j);
            } else {
                print_text(rep, explain, strcmp(format, "markdown") == 0);
            }
            rc = rep->overflow ? EXIT_INPUT : EXIT_OK;
            mk_place_report_free(rep);
            mk_cost_free(cat);
        } else {
            mk_diag_print(pl.p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
        }
    }
    if (!bad)
        mk_cli_planned_free(&pl);
    mk_cli_req_free(&r);
    return rc;
}
