/* cmd_cost — `moksha cost`: compile the stack against applied state, place
 * and price every resource (compiler/middle/cost.h), and print the monthly cost per
 * resource, the total and the delta against what is applied, as text, JSON or
 * a markdown pull-request comment; --explain lists each group's candidates. */
#include "compiler/cli/cmd_cost.h"

#include <string.h>

#include "compiler/back/cost_out.h"
#include "compiler/base/diag.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"

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
    "  -h, --help                    show this help\n"
    "\n"
    "With MOKSHA_EXEC_SOCKET set, the applied state is read from `moksha-exec serve`\n"
    "there (docs/trust.md), never from .moksha/state.json.\n";

int mk_cmd_cost(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    const char *format = "text";
    bool explain = false;
    const mk_option opts[] = {{"--format", true, .str = &format}, {"--explain", false, .flag = &explain}};
    mk_options spec = {"cost", "cost", COST_HELP, opts, 2, .stack = &r};
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
    mk_planned pl;
    r.compile_only = true; /* the cost model needs the program and the state, not a plan */
    if (!bad && mk_run_plan(&r, &pl, false)) {
        mk_place_report *rep = mk_pipeline_price(&pl, &r);
        if (!rep || rep->overflow)
            mk_diag_print(pl.p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
        if (rep && mk_cli_opts.stats)
            mk_run_print_phase(&pl.phases[pl.nphases - 1]);
        if (!rep || rep->overflow) {
            /* reported above: no figures rather than wrong ones */
        } else if (strcmp(format, "json") == 0) {
            json_t *j = mk_cost_out_json(rep, explain);
            json_dumpf(j, stdout, JSON_COMPACT), fputc('\n', stdout);
            json_decref(j);
        } else {
            mk_cost_out_text(rep, explain, strcmp(format, "markdown") == 0, stdout);
        }
        rc = rep && !rep->overflow ? EXIT_OK : EXIT_INPUT;
    }
    if (!bad)
        mk_pipeline_planned_free(&pl);
    mk_options_req_free(&r);
    return rc;
}
