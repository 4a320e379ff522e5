/* cmd_apply — `moksha apply`, `moksha destroy`, `moksha state …` and
 * `moksha audit …`. The compiler never changes infrastructure: these
 * commands plan (or take a saved plan) and hand the signed plan file to
 * `moksha-exec`, found next to this binary (else on PATH), returning its
 * exit code. State and audit commands are the executor's own. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/cli.h"
#include "compiler/policy_out.h"
#include "compiler/mem.h"

int cmd_apply(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_audit(int argc, char **argv);

static const char APPLY_HELP[] =
    "usage: moksha apply [PLAN] [options] [--var NAME=VALUE]... [PATH...]\n"
    "\n"
    "Apply a saved plan (moksha plan -o PLAN), or with no PLAN plan the stack,\n"
    "show the plan and ask before applying it (on a terminal; --yes skips the\n"
    "question). The plan runs in moksha-exec: the state is locked, a stale plan is\n"
    "refused, steps run in parallel, and on failure everything done is rolled back.\n"
    "\n"
    "options:\n"
    "  --yes                        do not ask\n"
    "  --parallelism N              worker threads (default 10)\n"
    "  --no-rollback                on failure keep what succeeded (exit 5)\n"
    "  --approve POLICY[:ADDRESS]   open an approval gate (repeatable)\n"
    "  --auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high)\n"
    "  --timeout DURATION           per provider call (default 5m)\n"
    "  --retries N                  retries for retryable provider errors (default 4)\n"
    "\n"
    "Ctrl-C, SIGTERM (kill PID, systemd, CI runners) and SIGHUP are passed to\n"
    "moksha-exec: it starts nothing new, rolls back what it did, and exits 4.\n"
    "\n"
    "exit status: 0 applied, 1 error, 3 changes held (a closed gate, or above\n"
    "--auto-approve-risk), 4 failed and rolled back, 5 failed and changes remain,\n"
    "6 state locked or plan stale\n";

static const char DESTROY_HELP[] =
    "usage: moksha destroy [--yes] [options as for apply]\n"
    "\n"
    "Plan the deletion of everything the state records, show it, ask, and apply\n"
    "it like `moksha apply`. Resources with prevent_destroy stop the plan.\n"
    "Only the variables that provider blocks and policies read need values.\n";

/* moksha-exec next to this binary, else the name for a PATH search. */
static void exec_path(char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(out, n, "%s/moksha-exec", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, n, "moksha-exec");
}

/* note [signal forwarding]: SIGINT, SIGTERM and SIGHUP sent to `moksha apply` (by
 * `kill PID`, systemd, a CI runner, `docker stop`) are passed on to
 * moksha-exec, which rolls back and exits 4; we then exit with its code.
 * Ctrl-C on a terminal reaches both processes (one process group), so the
 * executor gets it twice within a moment, from two senders: it counts that
 * as one interrupt (runtime/exec.c, note [one interrupt]). */
static volatile sig_atomic_t child_pid, pending_sig;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
    else
        pending_sig = sig; /* before fork returned: sent on once it has */
}

/* Run moksha-exec with args; its exit code. */
static int run_exec(const char **args, size_t nargs)
{
    char path[PATH_MAX + 32];
    exec_path(path, sizeof path);
    const char **av = mk_mem_calloc(nargs + 2, sizeof *av);
    av[0] = path;
    memcpy(av + 1, args, nargs * sizeof *args);
    fflush(stdout);
    fflush(stderr);
    struct sigaction fwd = {.sa_handler = forward_signal}, old_int, old_term, old_hup;
    sigemptyset(&fwd.sa_mask);
    child_pid = pending_sig = 0;
    sigaction(SIGINT, &fwd, &old_int);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* the executor installs its own handlers */
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execvp(path, (char *const *)av);
        fprintf(stderr, "moksha: error: cannot run %s: %s\n", path, strerror(errno));
        _exit(EXIT_INPUT);
    }
    int st = 0, rc = EXIT_INPUT;
    if (pid < 0)
        mk_cli_err("cannot start moksha-exec: %s", strerror(errno));
    else {
        child_pid = pid;
        if (pending_sig)
            kill(pid, pending_sig);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st))
            rc = WEXITSTATUS(st);
        else
            mk_cli_err("moksha-exec was killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    mk_mem_free(av);
    return rc;
}

typedef struct apply_args {
    const char *plan_file;
    bool yes;
    const char **exec; /* options passed to moksha-exec apply */
    size_t nexec;
} apply_args;

/* Options moksha-exec takes, with whether each has a value. */
static bool exec_option(mk_cli_args *a, apply_args *x)
{
    static const struct { const char *name; bool value; } OPTS[] = {
        {"--parallelism", true}, {"--approve", true}, {"--auto-approve-risk", true}, {"--timeout", true},
        {"--retries", true}, {"--progress", true}, {"--no-rollback", false},
    };
    for (size_t k = 0; k < sizeof OPTS / sizeof *OPTS; k++) {
        if (strcmp(a->argv[a->i], OPTS[k].name) != 0)
            continue;
        x->exec = mk_cli_push(x->exec, &x->nexec, a->argv[a->i]);
        if (OPTS[k].value && a->i + 1 < a->argc)
            x->exec = mk_cli_push(x->exec, &x->nexec, a->argv[++a->i]);
        return true;
    }
    return false;
}

static bool is_plan_file(const char *s)
{
    struct stat sb;
    size_t n = strlen(s);
    return s[0] != '-' && stat(s, &sb) == 0 && S_ISREG(sb.st_mode) && !(n > 7 && strcmp(s + n - 7, ".moksha") == 0);
}

static bool ask(const char *what)
{
    if (!isatty(STDIN_FILENO)) {
        mk_cli_err("not on a terminal: pass --yes to %s without asking (or apply a saved plan: moksha plan -o FILE, then moksha apply FILE)", what);
        return false;
    }
    printf("\nDo you want to %s these changes? Only `yes` is accepted: ", what);
    fflush(stdout);
    char line[64] = "";
    if (!fgets(line, sizeof line, stdin) || strcmp(line, "yes\n") != 0) {
        puts("Cancelled; nothing was changed.");
        return false;
    }
    return true;
}

/* Attributes unknown at plan time that no provider computes (e.g. a string
 * interpolating another resource's id): the executor records them as null,
 * so one more plan is needed to apply their values. */
static bool has_deferred(mk_planned *pl)
{
    json_t *changes = json_object_get(pl->plan, "changes");
    for (size_t i = 0; i < pl->p->ninstances; i++) {
        mk_instance *in = pl->p->instances[i];
        json_t *c = in->change_id ? json_array_get(changes, in->change_id - 1) : NULL;
        const mk_type *ty = in->res->schema;
        if (!c || !ty || strcmp(json_string_value(json_object_get(c, "address")) ?: "", in->address) != 0)
            continue;
        size_t k;
        json_t *u;
        json_array_foreach(json_object_get(c, "after_unknown"), k, u)
            for (uint32_t f = 0; f < ty->nfields; f++)
                if (!(ty->fields[f].flags & MK_ANN_COMPUTED) && strcmp(ty->fields[f].name, json_string_value(u)) == 0)
                    return true;
    }
    return false;
}

/* Write the signed plan where only this user can read it, and run it. */
static int apply_text(const char *text, apply_args *x)
{
    char path[] = MOKSHA_DIR "/apply-XXXXXX.plan";
    mkdir(MOKSHA_DIR, 0755);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        mk_cli_err("cannot write a plan file under %s: %s", MOKSHA_DIR, strerror(errno));
        return EXIT_INPUT;
    }
    close(fd);
    if (!mk_plan_write(text, path)) {
        mk_cli_err("cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return EXIT_INPUT;
    }
    x->exec = mk_cli_push(x->exec, &x->nexec, path);
    const char **args = mk_mem_calloc(x->nexec + 1, sizeof *args);
    args[0] = "apply";
    memcpy(args + 1, x->exec, x->nexec * sizeof *args);
    int rc = run_exec(args, x->nexec + 1);
    x->nexec--;
    mk_mem_free(args);
    unlink(path);
    return rc;
}

/* Plan, show, ask, apply; again while values known only after apply
 * change the plan (at most twice more). */
static int plan_and_apply(mk_cli_compile_req *r, apply_args *x, bool destroy)
{
    int rc = EXIT_OK;
    for (int pass = 0; pass < 3; pass++) {
        mk_planned pl;
        r->destroy = destroy;
        if (!mk_cli_make_plan(r, &pl, true)) {
            mk_cli_planned_free(&pl);
            return EXIT_INPUT;
        }
        if (pl.policy_failed) {
            mk_buf b = {0};
            mk_policy_out(pl.policies, "text", json_string_value(json_object_get(pl.plan, "stack")), &b, mk_cli_color(stdout));
            fputs(mk_buf_cstr(&b), stdout);
            mk_buf_free(&b);
            mk_cli_err("a policy failed: nothing was applied");
            mk_cli_planned_free(&pl);
            return EXIT_POLICY;
        }
        size_t n = json_array_size(json_object_get(pl.plan, "changes"));
        if (pass > 0 && n)
            puts("\nSome values were known only after apply; the follow-up plan:\n");
        if (n == 0) {
            if (pass == 0)
                puts("No changes. The infrastructure matches the stack.");
            mk_cli_planned_free(&pl);
            return rc;
        }
        mk_cli_print_plan(pl.plan, NULL, "text");
        if (pass == 0 && !x->yes && !ask(destroy ? "destroy" : "apply")) {
            mk_cli_planned_free(&pl);
            return EXIT_INPUT;
        }
        bool again = !destroy && has_deferred(&pl);
        puts("");
        rc = apply_text(pl.text, x);
        mk_cli_planned_free(&pl);
        if (rc != EXIT_OK || !again)
            return rc;
    }
    return rc;
}

static int apply_like(int argc, char **argv, bool destroy)
{
    mk_cli_args a = {argc, 1, argv};
    mk_cli_compile_req r = {0};
    apply_args x = {0};
    bool bad = false;
    for (; a.i < argc && !bad; a.i++) {
        if (mk_cli_is_help(argv[a.i])) {
            fputs(destroy ? DESTROY_HELP : APPLY_HELP, stdout);
            mk_cli_req_free(&r);
            return EXIT_OK;
        } else if (strcmp(argv[a.i], "--yes") == 0 || strcmp(argv[a.i], "-y") == 0 || strcmp(argv[a.i], "--auto-approve") == 0) {
            x.yes = true;
        } else if (exec_option(&a, &x)) {
            continue;
        } else if (!destroy && !x.plan_file && is_plan_file(argv[a.i])) {
            x.plan_file = argv[a.i];
        } else if (!mk_cli_stack_arg(&a, &r, &bad) && !bad) {
            mk_cli_err("unknown option `%s` for %s (see moksha %s --help)", argv[a.i], destroy ? "destroy" : "apply",
                       destroy ? "destroy" : "apply");
            bad = true;
        }
    }
    int rc = EXIT_INPUT;
    if (!bad && x.plan_file) {
        x.exec = mk_cli_push(x.exec, &x.nexec, x.plan_file);
        const char **args = mk_mem_calloc(x.nexec + 1, sizeof *args);
        args[0] = "apply";
        memcpy(args + 1, x.exec, x.nexec * sizeof *args);
        rc = run_exec(args, x.nexec + 1);
        mk_mem_free(args);
    } else if (!bad) {
        rc = plan_and_apply(&r, &x, destroy);
    }
    mk_mem_free(x.exec);
    mk_cli_req_free(&r);
    return rc;
}

int cmd_apply(int argc, char **argv) { return apply_like(argc, argv, false); }
int cmd_destroy(int argc, char **argv) { return apply_like(argc, argv, true); }

static int pass_through(const char *cmd, int argc, char **argv, const char *help)
{
    if (argc > 1 && mk_cli_is_help(argv[1])) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    const char **args = mk_mem_calloc((size_t)argc + 1, sizeof *args);
    args[0] = cmd;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    int rc = run_exec(args, (size_t)argc);
    mk_mem_free(args);
    return rc;
}

int cmd_state(int argc, char **argv)
{
    return pass_through("state", argc, argv,
                        "usage: moksha state list | show ADDRESS | rm ADDRESS | unlock LOCK_ID\n"
                        "\n"
                        "  list          the resources the state records, with provider, placement and id\n"
                        "  show ADDRESS  one resource's state entry as JSON (secrets stay sealed)\n"
                        "  rm ADDRESS    forget a resource (the object itself is not touched)\n"
                        "  unlock ID     remove the lock a dead apply left (its id is in the error message)\n");
}

int cmd_audit(int argc, char **argv)
{
    return pass_through("audit", argc, argv,
                        "usage: moksha audit verify | show [--format text|json]\n"
                        "\n"
                        "  verify   read every byte of .moksha/audit.jsonl, check its hash chain, its keyed\n"
                        "           head and the state's record of the last entry; names the first damage\n"
                        "           or entry altered, removed or inserted (exit 1), else exit 0\n"
                        "  show     print the log, one entry a line: policy, gate, address, override\n"
                        "           reason, and who ran it (user@host); --format json gives every field\n");
}
