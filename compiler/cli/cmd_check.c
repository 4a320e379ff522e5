/* cmd_check — `moksha check`: compile the stack (compiler/pipeline.h) with
 * variables that have no value checked by their type, print its
 * diagnostics, and count what it holds. No state, no plan. */
#include "compiler/cli/cmd_check.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/front/program.h"
#include "compiler/pipeline.h"

static const char CHECK_HELP[] =
    "usage: moksha check [options] [PATH...]\n"
    "\n"
    "Parse and type-check a stack: every .moksha file in the current directory\n"
    "(or the files and directories given), the modules and packs they import,\n"
    "policies and policy tests. Variables without values are checked by type.\n"
    "A path that holds no .moksha file (an empty directory, /dev/null) is an error.\n"
    "\n"
    "options:\n"
    "  --format text|json   diagnostics as text on stderr (default) or JSON on stdout\n"
    "  --policies DIR       also check the policies in DIR (repeatable)\n"
    "  --var NAME=VALUE     set a variable (repeatable)\n"
    "  --var-file FILE      read variables from a YAML file (repeatable)\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 no errors, 1 errors in the input or the command line\n";

int mk_cmd_check(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    const char *format = "text";
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"check", "check", CHECK_HELP, opts, 1, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD || !mk_options_only(&r, "check", MK_OPTIONS_PATHS | MK_OPTIONS_VARS | MK_OPTIONS_POLICIES);
    if (!bad && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes text or json, not `%s`", format);
        bad = true;
    }
    int rc = EXIT_INPUT;
    if (!bad) {
        r.p = mk_program_new();
        mk_pipeline_compile(&r);
        mk_program *p = r.p;
        bool json = strcmp(format, "json") == 0;
        mk_diag_print(p->diag, json ? stdout : stderr, json ? MK_DIAG_JSON : MK_DIAG_TEXT, !json && mk_cli_color(stderr));
        int errs = mk_diag_errors(p->diag);
        if (!json && errs == 0) {
            uint32_t npol = p->root ? p->root->npolicies : 0, ntest = p->root ? p->root->ntests : 0;
            printf("ok: %zu resource%s, %u polic%s, %u test%s\n", p->ninstances, p->ninstances == 1 ? "" : "s",
                   npol, npol == 1 ? "y" : "ies", ntest, ntest == 1 ? "" : "s");
        } else if (!json) {
            fprintf(stderr, "moksha: %d error%s\n", errs, errs == 1 ? "" : "s");
        }
        rc = errs ? EXIT_INPUT : EXIT_OK;
        mk_program_free(p);
    }
    mk_options_req_free(&r);
    return rc;
}
