/* cmd_policy — `moksha policy check` and `moksha policy test`. */
#include "compiler/cli/cmd_policy.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "compiler/back/policy_out.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/middle/policy.h"

static const char POLICY_HELP[] =
    "usage: moksha policy check [--policies DIR]... [--format FORMAT] [--override NAME --reason TEXT]...\n"
    "                           [--waiver FILE]...\n"
    "                           [--replace-placement ADDR]... [--path-prefix P]\n"
    "                           [--var NAME=VALUE]... [--var-file FILE]... [PATH...]\n"
    "       moksha policy test [--format text|json] [DIR...]\n"
    "       moksha policy digest DIR...\n"
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
    "policy met an error) and exits 1 on a failure or an error.\n"
    "\n"
    "digest: the digest of each policy pack DIR (SHA-256 over its .moksha files, as a\n"
    "plan's `policy_packs` records it), one `DIGEST  DIR` line each: what a trust\n"
    "file's environments.ENV.policy_packs lists (docs/trust.md).\n";

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

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* note [policy packs] in compiler/front/program.c: for each .moksha file
 * directly in dir, by name (bytewise), NAME 0 SIZE 0 BYTES, SHA-256. A plan
 * records the same of the bytes it parsed; tests/e2e/test_policy_packs.sh
 * holds the two to each other. */
static bool pack_digest(const char *dir, char hex[65])
{
    DIR *d = opendir(dir);
    if (!d) {
        mk_cli_err("policy digest: cannot read directory `%s`: %s", dir, strerror(errno));
        return false;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 7, ".moksha") != 0)
            continue;
        names = mk_mem_realloc(names, (n + 1) * sizeof *names);
        names[n++] = mk_mem_strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    bool ok = n > 0;
    if (!ok)
        mk_cli_err("policy digest: no .moksha files in `%s`", dir);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = ok && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        char *text = NULL;
        long len = -1;
        if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            text = mk_mem_alloc((size_t)len + 1);
            if (fread(text, 1, (size_t)len, f) != (size_t)len)
                len = -1;
        }
        if (f)
            fclose(f);
        if (len < 0) {
            mk_cli_err("policy digest: cannot read `%s`", path);
            ok = false;
        } else {
            char size[32];
            int sn = snprintf(size, sizeof size, "%ld", len);
            ok = EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1) && EVP_DigestUpdate(md, size, (size_t)sn + 1) &&
                 EVP_DigestUpdate(md, text, (size_t)len);
        }
        mk_mem_free(text);
    }
    unsigned char raw[32];
    unsigned rn = 0;
    ok = ok && EVP_DigestFinal_ex(md, raw, &rn) && rn == 32;
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < n; i++)
        mk_mem_free(names[i]);
    mk_mem_free(names);
    for (int i = 0; ok && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return ok;
}

static int policy_digest(int argc, char **argv)
{
    if (argc < 2) {
        mk_cli_err("policy digest needs a directory: moksha policy digest DIR...");
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        char hex[65];
        if (mk_options_is_help(argv[i])) {
            fputs(POLICY_HELP, stdout);
            return EXIT_OK;
        }
        if (!pack_digest(argv[i], hex))
            rc = EXIT_INPUT;
        else
            printf("%s  %s\n", hex, argv[i]);
    }
    return rc;
}

int mk_cmd_policy(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "digest") == 0)
        return policy_digest(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return policy_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return policy_test(argc - 1, argv + 1);
    if (argc >= 2 && mk_options_is_help(argv[1])) {
        fputs(POLICY_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "policy needs a subcommand: check, test or digest" : "unknown policy subcommand `%s`: use check, test or digest",
               argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
