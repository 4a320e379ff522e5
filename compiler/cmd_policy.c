/* cmd_policy — `moksha policy check` and `moksha policy test`. */
#include <string.h>

#include "compiler/cli.h"
#include "compiler/mem.h"
#include "compiler/policy.h"
#include "compiler/policy_out.h"

int cmd_policy(int argc, char **argv);

static const char POLICY_HELP[] =
    "usage: moksha policy check [--policies DIR]... [--format FORMAT] [--override NAME --reason TEXT]...\n"
    "                           [--var NAME=VALUE]... [--var-file FILE]... [PATH...]\n"
    "       moksha policy test [--format text|json] [DIR...]\n"
    "\n"
    "check: plan the stack against its applied state and evaluate its policies (those\n"
    "in its files, the packs it imports, and --policies DIR). FORMAT is text (default),\n"
    "json, sarif (GitHub code scanning), junit, github (workflow annotations) or\n"
    "markdown (a pull-request comment). Exit 3 when a hard policy fails, or a soft one\n"
    "that is not overridden; advisory policies only warn.\n"
    "\n"
    "test: run the `test` blocks in DIR (default: the current directory) and the\n"
    "files they load; prints `N passed, N failed` and exits 1 on a failure.\n";

static int policy_check(int argc, char **argv)
{
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    const char *format = "text", *v;
    bool bad = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(POLICY_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for policy check (see moksha policy --help)", argv[a.i]);
            bad = true;
        }
    }
    if (!bad && !mk_policy_out_valid(format)) {
        mk_cli_err("--format takes text, json, sarif, junit, github or markdown, not `%s`", format);
        bad = true;
    }
    if (bad || !mk_cli_overrides_ok(&r)) {
        mk_cli_req_free(&r);
        return EXIT_INPUT;
    }
    mk_planned pl;
    int rc = EXIT_INPUT;
    if (mk_cli_make_plan(&r, &pl, false)) {
        mk_buf b = {0};
        mk_policy_out(pl.policies, format, json_string_value(json_object_get(pl.plan, "stack")), &b, mk_cli_color(stdout));
        fputs(mk_buf_cstr(&b), stdout);
        mk_buf_free(&b);
        rc = pl.policy_failed ? EXIT_POLICY : EXIT_OK;
    }
    mk_cli_planned_free(&pl);
    mk_cli_req_free(&r);
    return rc;
}

static int policy_test(int argc, char **argv)
{
    mk_cli_compile_req r = {0};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (mk_cli_is_help(argv[i])) {
            fputs(POLICY_HELP, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--format=json") == 0 || (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
                                                              strcmp(argv[++i], "json") == 0)) {
            json = true;
        } else if (argv[i][0] == '-' && strcmp(argv[i], "--format") != 0 && strcmp(argv[i - 1], "--format") != 0) {
            mk_cli_err("unknown option `%s` for policy test", argv[i]);
            mk_cli_req_free(&r);
            return EXIT_INPUT;
        } else if (argv[i][0] != '-') {
            r.paths = mk_cli_push(r.paths, &r.npaths, argv[i]);
        }
    }
    r.p = mk_program_new();
    mk_cli_compile(&r);
    mk_program *p = r.p;
    mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    int rc = EXIT_INPUT;
    if (mk_diag_errors(p->diag) == 0) {
        int passed, failed;
        json_t *tests = mk_policy_test(p, &passed, &failed);
        mk_buf b = {0};
        mk_policy_out_tests(tests, passed, failed, json, &b);
        fputs(mk_buf_cstr(&b), stdout);
        mk_buf_free(&b);
        json_decref(tests);
        rc = failed || mk_diag_errors(p->diag) ? EXIT_INPUT : EXIT_OK;
        if (mk_diag_errors(p->diag))
            mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
    }
    mk_program_free(p);
    mk_cli_req_free(&r);
    return rc;
}

int cmd_policy(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return policy_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return policy_test(argc - 1, argv + 1);
    if (argc >= 2 && mk_cli_is_help(argv[1])) {
        fputs(POLICY_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "policy needs a subcommand: check or test" : "unknown policy subcommand `%s`: use check or test",
               argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
