/* cmd_cost — `moksha cost`: compile the stack against applied state, place
 * and price every resource (compiler/middle/cost.h), and print the monthly cost per
 * resource, the total and the delta against what is applied, as text, JSON or
 * a markdown pull-request comment; --explain lists each group's candidates. */
#include "compiler/cli/cmd_cost.h"

#include <string.h>

#include "compiler/back/against_out.h"
#include "compiler/back/cost_out.h"
#include "compiler/base/diag.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/middle/against.h"

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
    "  --base DIR                    also price DIR, the stack as the target branch has it, against the\n"
    "                                same applied state, and show this change's own delta per resource\n"
    "  --var NAME=VALUE              set a variable (repeatable)\n"
    "  --var-file FILE               read variables from a YAML file (repeatable)\n"
    "  -h, --help                    show this help\n"
    "\n"
    "With MOKSHA_EXEC_SOCKET set, the applied state is read from `moksha-exec serve`\n"
    "there (docs/trust.md), never from .moksha/state.json.\n";

/* The report printed in format, with the base's delta when there is one. */
static void print_cost(const mk_place_report *rep, const mk_against *a, const char *base, const char *format,
                       bool explain)
{
    if (strcmp(format, "json") == 0) {
        json_t *j = mk_cost_out_json(rep, explain);
        if (a)
            json_object_set_new(j, "base", mk_against_out_json(a, base, false));
        json_dumpf(j, stdout, JSON_COMPACT), fputc('\n', stdout);
        json_decref(j);
        return;
    }
    bool md = strcmp(format, "markdown") == 0;
    mk_cost_out_text(rep, explain, md, stdout);
    if (!a)
        return;
    mk_buf b = {0};
    mk_against_out_text(a, base, false, md, &b);
    printf("\n%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
}

/* --base DIR: the base priced as the stack is (note [against the base] in
 * run.c), and its delta, which borrows from br and bpl (the caller frees
 * them after it); NULL, said, when the base cannot be priced. */
static mk_against *against_base(const mk_pipeline_req *r, const char *base, const mk_place_report *rep,
                                mk_pipeline_req *br, mk_planned *bpl)
{
    if (!mk_run_base(r, base, br, bpl))
        return NULL;
    mk_place_report *brep = mk_pipeline_price(bpl, br);
    if (brep && !brep->overflow)
        return mk_against_costs(brep, rep);
    mk_cli_err("--base %s: the base cannot be priced (its diagnostics follow)", base);
    mk_diag_print(bpl->p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    return NULL;
}

int mk_cmd_cost(int argc, char **argv)
{
    mk_pipeline_req r = {0}, br = {0};
    const char *format = "text", *base = NULL;
    bool explain = false;
    const mk_option opts[] = {{"--format", true, .str = &format}, {"--explain", false, .flag = &explain},
                              {"--base", true, .str = &base}};
    mk_options spec = {"cost", "cost", COST_HELP, opts, 3, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD || !mk_options_only(&r, "cost", MK_OPTIONS_PATHS | MK_OPTIONS_VARS | MK_OPTIONS_POLICIES | MK_OPTIONS_REPLACE);
    if (!bad && strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "markdown")) {
        mk_cli_err("--format takes text, json or markdown, not `%s`", format);
        bad = true;
    }
    int rc = EXIT_INPUT;
    mk_planned pl, bpl = {0};
    mk_against *a = NULL;
    r.compile_only = true; /* the cost model needs the program and the state, not a plan */
    if (!bad && mk_run_plan(&r, &pl, false)) {
        mk_place_report *rep = mk_pipeline_price(&pl, &r);
        bool priced = rep && !rep->overflow;
        mk_diag_print_new(pl.p->diag, stderr, mk_cli_color(stderr)); /* what pricing said (W0004), or why it could not */
        if (rep && mk_cli_opts.stats)
            mk_run_print_phase(&pl.phases[pl.nphases - 1]);
        if (priced && base)
            a = against_base(&r, base, rep, &br, &bpl);
        /* not priced (said above), or a base that cannot be: no figures rather than wrong ones */
        if (priced && (!base || a))
            print_cost(rep, a, base, format, explain);
        rc = priced && (!base || a) ? EXIT_OK : EXIT_INPUT;
    }
    mk_against_free(a);
    if (base && br.paths)
        mk_run_base_free(&br, &bpl);
    if (!bad)
        mk_pipeline_planned_free(&pl);
    mk_options_req_free(&r);
    return rc;
}
