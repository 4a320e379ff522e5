/* moksha — the compiler's command line: parses global options, dispatches
 * to a command, and maps outcomes to the exit codes of DESIGN.md §8.
 *
 * note [out of memory]: allocation failure is reported here, once, and ends
 * the process with exit 1: main installs the handler (mk_mem_set_oom) before
 * anything allocates; library code never calls exit(). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/front/builtin.h"
#include "compiler/cli/cli.h"
#include "compiler/base/diag.h"
#include "compiler/back/fmt.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/front/program.h"

int cmd_plan(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_cost(int argc, char **argv);

static void oom(void)
{
    fputs("moksha: error: out of memory\n", stderr);
    exit(EXIT_INPUT);
}

/* ---- check ---- */

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

static int cmd_check(int argc, char **argv)
{
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    const char *format = "text", *v;
    bool bad = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(CHECK_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if ((v = mk_cli_opt(&a, "--format", &bad))) {
            format = v;
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for check (see moksha check --help)", argv[a.i]);
            bad = true;
        }
    }
    bad = bad || !mk_cli_only(&r, "check", MK_CLI_PATHS | MK_CLI_VARS | MK_CLI_POLICIES);
    if (!bad && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes text or json, not `%s`", format);
        bad = true;
    }
    int rc = EXIT_INPUT;
    if (!bad) {
        r.p = mk_program_new();
        mk_cli_compile(&r);
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
    mk_cli_req_free(&r);
    return rc;
}

/* ---- fmt ---- */

static const char FMT_HELP[] =
    "usage: moksha fmt [--check] [--stdout] [PATH...]\n"
    "\n"
    "Rewrite .moksha files in the canonical layout (the files of the current\n"
    "directory, or the files and directories given). Comments are kept.\n"
    "A file with syntax errors is reported and left alone.\n"
    "\n"
    "options:\n"
    "  --check    change nothing; list files that are not formatted, exit 1 if any\n"
    "  --stdout   print the formatted text instead of writing the files\n"
    "  -h, --help show this help\n"
    "\n"
    "--check --stdout prints the formatted text, lists the files that would change\n"
    "on stderr and exits 1 if any would.\n";

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    mk_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        mk_buf_put(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return mk_buf_take(&b);
}

static bool write_atomic(const char *path, const char *text)
{
    size_t n = strlen(path) + 16;
    char *tmp = mk_mem_alloc(n);
    snprintf(tmp, n, "%s.fmt~", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fputs(text, f) >= 0;
    ok = f && fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        remove(tmp);
    mk_mem_free(tmp);
    return ok;
}

typedef struct fmt_run {
    bool check, to_stdout;
    int unformatted, failed;
} fmt_run;

static void fmt_one(fmt_run *fr, const char *path)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        mk_cli_err("cannot read `%s`: %s", path, strerror(errno));
        fr->failed++;
        return;
    }
    mk_program *p = mk_program_new();
    uint32_t id = mk_src_add(&p->src, path, text, len);
    mk_source *f = mk_src_get(&p->src, id);
    char *out = mk_fmt_source(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    if (!out) {
        mk_diag_print(p->diag, stderr, MK_DIAG_TEXT, mk_cli_color(stderr));
        fr->failed++;
    } else if (fr->to_stdout) {
        fputs(out, stdout);
        if (fr->check && strcmp(out, text) != 0) { /* the text is on stdout: the name goes to stderr */
            fr->unformatted++;
            fprintf(stderr, "%s\n", path);
        }
    } else if (strcmp(out, text) != 0) {
        fr->unformatted++;
        if (fr->check)
            printf("%s\n", path);
        else if (!write_atomic(path, out)) {
            mk_cli_err("cannot write `%s`: %s", path, strerror(errno));
            fr->failed++;
        }
    }
    mk_mem_free(out);
    mk_mem_free(text);
    mk_program_free(p);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void fmt_path(fmt_run *fr, const char *path);

static void fmt_dir(fmt_run *fr, const char *dir)
{
    mk_program *p = mk_program_new(); /* only for its arena, which holds the paths */
    size_t n = 0, cap = 0;
    char **names = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        mk_cli_err("cannot read directory `%s`: %s", dir, strerror(errno));
        fr->failed++;
        mk_program_free(p);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 8 || strcmp(e->d_name + l - 7, ".moksha") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = mk_mem_realloc(names, cap * sizeof *names);
        }
        names[n++] = strcmp(dir, ".") == 0 ? mk_arena_printf(p->ast.arena, "%s", e->d_name)
                                            : mk_arena_printf(p->ast.arena, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n == 0) { /* nothing formatted is not "all formatted" */
        mk_cli_err("no .moksha files in `%s`", dir);
        fr->failed++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_cstr);
    for (size_t i = 0; i < n; i++)
        fmt_path(fr, names[i]);
    mk_mem_free(names);
    mk_program_free(p);
}

static void fmt_path(fmt_run *fr, const char *path)
{
    struct stat st;
    bool found = stat(path, &st) == 0;
    size_t l = strlen(path);
    if (found && S_ISDIR(st.st_mode))
        fmt_dir(fr, path);
    else if (found && (!S_ISREG(st.st_mode) || l < 7 || strcmp(path + l - 7, ".moksha") != 0)) {
        mk_cli_err("`%s` is not a .moksha file", path);
        fr->failed++;
    } else
        fmt_one(fr, path);
}

static int cmd_fmt(int argc, char **argv)
{
    fmt_run fr = {0};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (mk_cli_is_help(argv[i])) {
            fputs(FMT_HELP, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--check") == 0)
            fr.check = true;
        else if (strcmp(argv[i], "--stdout") == 0)
            fr.to_stdout = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            mk_cli_err("unknown option `%s` for fmt (see moksha fmt --help)", argv[i]);
            return EXIT_INPUT;
        }
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' || !argv[i][1]) {
            fmt_path(&fr, argv[i]);
            npaths++;
        }
    if (npaths == 0)
        fmt_dir(&fr, ".");
    if (fr.check && fr.unformatted)
        fprintf(stderr, "moksha: %d file%s not formatted; run `moksha fmt`\n", fr.unformatted,
                fr.unformatted == 1 ? "" : "s");
    return fr.failed || (fr.check && fr.unformatted) ? EXIT_INPUT : EXIT_OK;
}

/* ---- version, help, dispatch ---- */

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && mk_cli_is_help(argv[1])) {
        puts("usage: moksha version\n\nPrint the version of moksha.");
        return EXIT_OK;
    }
    if (argc > 1) {
        mk_cli_err("version takes no arguments, found `%s`", argv[1]);
        return EXIT_INPUT;
    }
    printf("moksha %s\n", MK_VERSION);
    return EXIT_OK;
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_help(int argc, char **argv);

static const command COMMANDS[] = {
    {"check", cmd_check, "parse and type-check the stack, its policies and tests"},
    {"fmt", cmd_fmt, "rewrite .moksha files in the canonical layout"},
    {"plan", cmd_plan, "diff the stack against applied state into a signed plan"},
    {"show", cmd_show, "verify and show a saved plan file"},
    {"cost", cmd_cost, "price the stack per month and place it on the cheapest cloud and region"},
    {"graph", cmd_graph, "print the plan's dependency graph (dot or json)"},
    {"policy", cmd_policy, "evaluate policies (check) or run policy tests (test)"},
    {"apply", cmd_apply, "apply a plan (or plan, confirm and apply) through moksha-exec"},
    {"destroy", cmd_destroy, "plan and apply the deletion of everything in the state"},
    {"state", cmd_state, "list, show or remove state entries; unlock a dead apply's lock"},
    {"audit", cmd_audit, "verify or show the tamper-evident audit log"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show help for a command; `help functions` lists the built-in functions"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof *COMMANDS)

static void usage(FILE *out)
{
    fputs("usage: moksha [-C DIR] [--color auto|always|never] [--stats] COMMAND [ARGS]\n"
          "\n"
          "moksha compiles declarative infrastructure specs (.moksha files) into\n"
          "checked, priced, policy-verified and signed plans.\n"
          "\ncommands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\nglobal options:\n"
          "  -C DIR         run as if started in DIR\n"
          "  --color WHEN   colour diagnostics: auto (on a terminal, unless NO_COLOR), always, never\n"
          "  --stats        print wall time and peak memory to stderr at the end\n"
          "  -h, --help     show this help; `moksha COMMAND --help` for a command\n"
          "  --version      print the version\n"
          "\nexit status: 0 success, 1 error in input or usage, 2 changes present (plan\n"
          "--detailed-exitcode), 3 policy failure, 4 apply rolled back, 5 rollback\n"
          "incomplete, 6 state locked or plan stale\n",
          out);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = COMMANDS[i].name;
    const char *s = mk_diag_suggest(name, names, NCOMMANDS);
    if (s)
        mk_cli_err("unknown command `%s`; did you mean `%s`?", name, s);
    else
        mk_cli_err("unknown command `%s` (see moksha --help)", name);
    return EXIT_INPUT;
}

static int help_functions(void)
{
    int n;
    const mk_builtin *all = mk_builtin_all(&n);
    for (int i = 0; i < n; i++)
        printf("%s\n    %s\n", all[i].sig, all[i].doc);
    return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc > 2) {
        mk_cli_err("help takes one command, found `%s` too", argv[2]);
        return EXIT_INPUT;
    }
    if (strcmp(argv[1], "functions") == 0)
        return help_functions();
    const command *c = find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    char *sub[] = {argv[1], "--help", NULL};
    return c->run(2, sub);
}

/* --color and --stats are accepted after the command too; take them out. */
static int take_global_options(int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--stats") == 0) {
            mk_cli_opts.stats = true;
            continue;
        }
        if (strncmp(s, "--color", 7) == 0 && (s[7] == '=' || s[7] == 0)) {
            const char *v = s[7] == '=' ? s + 8 : (i + 1 < argc ? argv[++i] : "");
            if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
                mk_cli_err("--color takes auto, always or never");
                return -1;
            }
            mk_cli_opts.color = v;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

static void print_stats(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long ms = (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
    fprintf(stderr, "stats: wall_ms=%ld peak_rss_kib=%ld\n", ms, ru.ru_maxrss);
}

int main(int argc, char **argv)
{
    mk_mem_set_oom(oom);
    mk_jalloc_install();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mk_cli_args a = {argc, 1, argv};
    bool bad = false;
    for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
        const char *s = argv[a.i], *v;
        if (mk_cli_is_help(s)) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(s, "--version") == 0 || strcmp(s, "-V") == 0) {
            return cmd_version(1, argv);
        } else if (strcmp(s, "--stats") == 0) {
            mk_cli_opts.stats = true;
        } else if ((v = mk_cli_opt(&a, "--color", &bad))) {
            if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
                mk_cli_err("--color takes auto, always or never");
                return EXIT_INPUT;
            }
            mk_cli_opts.color = v;
        } else if (strncmp(s, "-C", 2) == 0) {
            const char *dir = s[2] ? s + 2 : (a.i + 1 < argc ? argv[++a.i] : NULL);
            if (!dir || !*dir) {
                mk_cli_err("-C needs a directory: moksha -C DIR COMMAND (see moksha --help)");
                return EXIT_INPUT;
            }
            if (chdir(dir) != 0) {
                mk_cli_err("-C: cannot enter directory `%s`: %s", dir, strerror(errno));
                return EXIT_INPUT;
            }
        } else if (!bad) {
            mk_cli_err("unknown option `%s` (see moksha --help)", s);
            return EXIT_INPUT;
        }
        if (bad)
            return EXIT_INPUT;
    }
    if (a.i >= argc) {
        usage(stderr);
        return EXIT_INPUT;
    }
    const command *c = find_command(argv[a.i]);
    if (!c)
        return unknown_command(argv[a.i]);
    int sub_argc = take_global_options(argc - a.i, argv + a.i);
    if (sub_argc < 0)
        return EXIT_INPUT;
    int rc = c->run(sub_argc, argv + a.i);
    if (mk_cli_opts.stats)
        print_stats(&t0);
    return rc;
}
