/* moksha — the compiler's command line: parses global options, dispatches
 * to a command, and maps outcomes to the exit codes of DESIGN.md §8.
 *
 * note [out of memory]: allocation failure is reported here, once, and ends
 * the process with exit 1: main installs the handler (mk_mem_set_oom) before
 * anything allocates; library code never calls exit(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "compiler/base/diag.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/cmd_apply.h"
#include "compiler/cli/cmd_approve.h"
#include "compiler/cli/cmd_check.h"
#include "compiler/cli/cmd_cost.h"
#include "compiler/cli/cmd_drift.h"
#include "compiler/cli/cmd_fmt.h"
#include "compiler/cli/cmd_key.h"
#include "compiler/cli/cmd_plan.h"
#include "compiler/cli/cmd_policy.h"
#include "compiler/cli/cmd_trust.h"
#include "compiler/cli/options.h"
#include "compiler/front/builtin.h"

static void oom(void)
{
    fputs("moksha: error: out of memory\n", stderr);
    exit(EXIT_INPUT);
}

/* ---- version, help, dispatch ---- */

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && mk_options_is_help(argv[1])) {
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
    {"check", mk_cmd_check, "parse and type-check the stack, its policies and tests"},
    {"fmt", mk_cmd_fmt, "rewrite .moksha files in the canonical layout"},
    {"plan", mk_cmd_plan, "diff the stack against applied state into a signed plan"},
    {"show", mk_cmd_show, "verify and show a saved plan file"},
    {"cost", mk_cmd_cost, "price the stack per month and place it on the cheapest cloud and region"},
    {"graph", mk_cmd_graph, "print the plan's dependency graph (dot or json)"},
    {"policy", mk_cmd_policy, "evaluate policies (check) or run policy tests (test)"},
    {"apply", mk_cmd_apply, "apply a plan (or plan, confirm and apply) through moksha-exec"},
    {"destroy", mk_cmd_destroy, "plan and apply the deletion of everything in the state"},
    {"import", mk_cmd_import, "adopt an existing object into a resource of the stack (plan, read, apply)"},
    {"refresh", mk_cmd_refresh, "read the world through moksha-exec and record what it saw beside the state"},
    {"drift", mk_cmd_drift, "read the world and report what changed outside moksha (exit 2), writing nothing"},
    {"reconcile", mk_cmd_reconcile, "refresh, plan the corrections and apply those within a risk boundary"},
    {"state", mk_cmd_state, "list, show or remove state entries; unlock a dead apply's lock"},
    {"audit", mk_cmd_audit, "verify or show the tamper-evident audit log"},
    {"env", mk_cmd_env, "list the environments of the stack that have a state (env list)"},
    {"key", mk_cmd_key, "make an Ed25519 key pair to sign plans or trust files (key new NAME)"},
    {"approve", mk_cmd_approve, "sign an approval of a plan's gates, an override, a waiver or a break glass"},
    {"approval", mk_cmd_approval, "hand approvals to the executor (approval add FILE) or list those it keeps"},
    {"trust", mk_cmd_trust, "check and sign a trust file with a root key, or show who it trusts"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show help for a command; `help functions` lists the built-in functions"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof *COMMANDS)

static void usage(FILE *out)
{
    fputs("usage: moksha [-C DIR] [--env NAME] [--color auto|always|never] [--stats] COMMAND [ARGS]\n"
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
          "  --env NAME     the environment: its state, variables (env/NAME.yaml) and plans (MOKSHA_ENV\n"
          "                 too; docs/environments.md)\n"
          "  -h, --help     show this help; `moksha COMMAND --help` for a command\n"
          "  --version      print the version\n"
          "\nexit status: 0 success, 1 error in input or usage, 2 changes present (plan\n"
          "--detailed-exitcode) or drift (drift), 3 policy failure or changes held, 4 apply\n"
          "rolled back, 5 rollback incomplete, 6 state locked or plan stale\n",
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

static const char *env_given; /* --env NAME, before or after the command */

/* --color, --stats and --env are accepted after the command too; take them out. */
static int take_global_options(int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--stats") == 0) {
            mk_cli_opts.stats = true;
            continue;
        }
        if (strncmp(s, "--env", 5) == 0 && (s[5] == '=' || s[5] == 0)) {
            env_given = s[5] == '=' ? s + 6 : i + 1 < argc ? argv[++i] : "";
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

/* The environment for a command that reads the state, plans or the
 * stack's variables; the others (fmt, key, trust, version, help) have none. */
static bool select_env(const command *c)
{
    static const char *const NONE[] = {"fmt", "key", "trust", "version", "help"};
    for (size_t i = 0; i < sizeof NONE / sizeof *NONE; i++)
        if (strcmp(c->name, NONE[i]) == 0) {
            if (env_given)
                mk_cli_err("%s takes no --env: it reads no environment", c->name);
            return !env_given;
        }
    if (env_given && !*env_given) {
        mk_cli_err("--env needs an environment's name (docs/environments.md)");
        return false;
    }
    return mk_cli_env_select(env_given);
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
    mk_options_args a = {argc, 1, argv};
    bool bad = false;
    for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
        const char *s = argv[a.i], *v;
        if (mk_options_is_help(s)) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(s, "--version") == 0 || strcmp(s, "-V") == 0) {
            return cmd_version(1, argv);
        } else if (strcmp(s, "--stats") == 0) {
            mk_cli_opts.stats = true;
        } else if ((v = mk_options_value(&a, "--env", &bad))) {
            env_given = v;
        } else if ((v = mk_options_value(&a, "--color", &bad))) {
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
    if (sub_argc < 0 || !select_env(c))
        return EXIT_INPUT;
    int rc = c->run(sub_argc, argv + a.i);
    if (mk_cli_opts.stats)
        print_stats(&t0);
    return rc;
}
