/* cmd_policy — `moksha policy check` and `moksha policy test`. */
#include "compiler/cli/cmd_policy.h"

#include <string.h>

#include "compiler/back/policy_out.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/middle/policy.h"

static const char POLICY_HELP[] =
    "usage: moksha policy check [--policies DIR]... [--format FORMAT] [--override NAME --reason TEXT]...\n"
    "                           [--replace-placement ADDR]... [--path-prefix P]\n"
    "                           [--var NAME=VALUE]... [--var-file FILE]... [PATH...]\n"
    "       moksha policy test [--format text|json] [DIR...]\n"
    "\n"
    "check: plan the stack against its applied state and evaluate its policies (those\n"
    "in its files, the packs it imports, and --policies DIR). FORMAT is text (default),\n"
    "json, sarif (GitHub code scanning), junit, github (workflow annotations) or\n"
    "markdown (a pull-request comment: the findings, and a count of the passes).\n"
    "Exit 3 when a hard policy fails, or a soft one that is not overridden; advisory\n"
    "policies only warn. A policy that meets an error (a division by zero, a missing\n"
    "attribute) is reported as `error` with its diagnostic, never as a pass: exit 1.\n"
    "With MOKSHA_EXEC_SOCKET set, the applied state is read from `moksha-exec serve`\n"
    "there (docs/trust.md), never from .moksha/state.json.\n"
    "sarif, junit, github and markdown name files relative to the repository root\n"
    "(the nearest directory above with .git, else the stack's); --path-prefix P says\n"
    "the stack's directory is P in the repository instead.\n"
    "\n"
    "test: run the `test` blocks in DIR (default: the current directory) and the\n"
    "files they load; prints `N passed, N failed` (and `, N errors` for tests whose\n"
    "policy met an error) and exits 1 on a failure or an error.\n";

static int policy_check(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    const char *format = "text", *prefix = NULL;
    const mk_option opts[] = {{"--format", true, .str = &format}, {"--path-prefix", true, .str = &prefix}};
    mk_options spec = {"policy check", "policy", POLICY_HELP, opts, 2, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD;
    if (!bad && !mk_policy_out_valid(format)) {
        mk_cli_err("--format takes text, json, sarif, junit, github or markdown, not `%s`", format);
        bad = true;
    }
    if (bad || !mk_options_overrides_ok(&r)) {
        mk_options_req_free(&r);
        return EXIT_INPUT;
    }
    mk_planned pl;
    int rc = EXIT_INPUT;
    bool ok = mk_run_plan(&r, &pl, false);
    /* a policy that met an error is reported as such, in every format */
    if (ok || (pl.policies && pl.policy_errored)) {
        mk_buf b = {0};
        mk_policy_out_opts o = {pl.model ? pl.model->stack : NULL, mk_cli_color(stdout), prefix};
        mk_policy_out_ex(pl.policies, format, &o, &b);
        fputs(mk_buf_cstr(&b), stdout);
        mk_buf_free(&b);
        rc = !ok ? EXIT_INPUT : pl.policy_failed ? EXIT_POLICY : EXIT_OK;
    }
    mk_pipeline_planned_free(&pl);
    mk_options_req_free(&r);
    return rc;
}

static int policy_test(int argc, char **argv)
{
    mk_pipeline_req r = {0}; /* paths only: the test blocks' directories */
    const char *format = "text";
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"policy test", "policy", POLICY_HELP, opts, 1, .paths = &r.paths, .npaths = &r.npaths};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD;
    if (!bad && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes text or json for policy test, not `%s`", format);
        bad = true;
    }
    if (bad) {
        mk_options_req_free(&r);
        return EXIT_INPUT;
    }
    r.p = mk_program_new();
    mk_pipeline_compile(&r);
    mk_program *p = r.p;
    mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    int rc = EXIT_INPUT;
    if (mk_diag_errors(p->diag) == 0) {
        mk_policy_counts n;
        json_t *tests = mk_policy_test(p, &n);
        mk_buf b = {0};
        mk_policy_out_tests(tests, &n, strcmp(format, "json") == 0, &b);
        fputs(mk_buf_cstr(&b), stdout);
        mk_buf_free(&b);
        json_decref(tests);
        rc = n.failed || n.errors || mk_diag_errors(p->diag) ? EXIT_INPUT : EXIT_OK;
        if (mk_diag_errors(p->diag))
            mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    }
    mk_program_free(p);
    mk_options_req_free(&r);
    return rc;
}

int mk_cmd_policy(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return policy_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return policy_test(argc - 1, argv + 1);
    if (argc >= 2 && mk_options_is_help(argv[1])) {
        fputs(POLICY_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "policy needs a subcommand: check or test" : "unknown policy subcommand `%s`: use check or test",
               argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
