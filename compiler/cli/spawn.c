/* spawn — moksha-exec run as a child of this process (spawn.h): found next
 * to this binary or on PATH, the stop signals passed on, its standard
 * output printed or collected, a signed plan handed over in a private
 * file; and its options checked before anything is planned. */
#include "compiler/cli/spawn.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/base/approvalfile.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/front/program.h"
#include "compiler/pipeline.h"

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
 * A caller that blocks them (reconcile, which stops only between cycles)
 * passes nothing on: the child is started with them unblocked, so that
 * its own handlers see a Ctrl-C that reaches it directly.
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

/* moksha-exec can be run: next to this binary, or on PATH. Checked before
 * planning (note [apply options]): a missing executor is no reason to plan
 * and ask first. */
static bool locate(bool say)
{
    char path[PATH_MAX + 32];
    exec_path(path, sizeof path);
    if (strchr(path, '/'))
        return true;
    const char *env = getenv("PATH");
    for (const char *d = env ? env : ""; *d;) {
        size_t n = strcspn(d, ":");
        char cand[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%.*s/moksha-exec", (int)(n ? n : 1), n ? d : ".");
        if (access(cand, X_OK) == 0)
            return true;
        d += n + (d[n] == ':');
    }
    if (say)
        mk_cli_err("cannot find moksha-exec next to moksha or on PATH: it runs the plan (make puts both in build/)");
    return false;
}

bool mk_spawn_found(void) { return locate(true); }

bool mk_spawn_found_quietly(void) { return locate(false); }

/* The child's side: the executor's own handlers, its standard output and
 * error onto out_fd and err_fd when they are not -1, then the executor. */
static void child(const char *path, const char **av, int out_fd, int err_fd)
{
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT), sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGHUP);
    signal(SIGINT, SIG_DFL); /* the executor installs its own handlers */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &stops, NULL);
    if ((out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) || (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
        _exit(EXIT_INPUT);
    execvp(path, (char *const *)av);
    fprintf(stderr, "moksha: error: cannot run %s: %s\n", path, strerror(errno));
    _exit(EXIT_INPUT);
}

/* Everything the child writes to fd, into out, until it closes it. */
static void collect(int fd, mk_buf *out)
{
    char piece[65536];
    for (;;) {
        ssize_t n = read(fd, piece, sizeof piece);
        if (n > 0)
            mk_buf_put(out, piece, (size_t)n);
        else if (n == 0 || errno != EINTR)
            break;
    }
}

static int wait_child(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    mk_cli_err("moksha-exec was killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return EXIT_INPUT;
}

static char spec_stack[128];
static bool spec_stack_read;

void mk_spawn_stack_of(const char *const *paths, size_t npaths)
{
    mk_program_stack_name(paths, npaths, spec_stack, sizeof spec_stack);
    spec_stack_read = true;
}

/* The stack to name to the executor after args (note [the spec's stack]), or NULL. */
static const char *stack_to_name(const char **args, size_t nargs)
{
    const char *e = getenv("MOKSHA_STACK");
    if (e && *e)
        return NULL;
    for (size_t i = 0; i < nargs; i++)
        if (!strcmp(args[i], "--stack"))
            return NULL;
    if (!spec_stack_read)
        mk_spawn_stack_of(NULL, 0);
    return *spec_stack ? spec_stack : NULL;
}

/* moksha-exec run with args, its output onto out_fd and err_fd (-1: ours),
 * or its standard output collected into out when out is not NULL. */
static int run(const char **args, size_t nargs, int out_fd, int err_fd, mk_buf *out)
{
    char path[PATH_MAX + 32];
    exec_path(path, sizeof path);
    const char **av = mk_mem_calloc(nargs + 6, sizeof *av);
    size_t at = 1;
    av[0] = path;
    if (mk_cli_opts.env) /* the executor's files of the environment (docs/environments.md) */
        av[at++] = "--env", av[at++] = mk_cli_opts.env;
    if (nargs)
        memcpy(av + at, args, nargs * sizeof *args);
    at += nargs;
    const char *stack = stack_to_name(args, nargs);
    if (stack) /* (after the command and its own arguments, as moksha-exec reads them anywhere) */
        av[at++] = "--stack", av[at++] = stack;
    int pipe_fd[2] = {-1, -1};
    if (out && pipe(pipe_fd) != 0) {
        mk_cli_err("cannot start moksha-exec: %s", strerror(errno));
        mk_mem_free(av);
        return EXIT_INPUT;
    }
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
        if (out)
            close(pipe_fd[0]);
        child(path, av, out ? pipe_fd[1] : out_fd, err_fd);
    }
    int rc = EXIT_INPUT;
    if (out)
        close(pipe_fd[1]);
    if (pid < 0)
        mk_cli_err("cannot start moksha-exec: %s", strerror(errno));
    else {
        child_pid = pid;
        if (pending_sig)
            kill(pid, pending_sig);
        if (out)
            collect(pipe_fd[0], out);
        rc = wait_child(pid);
    }
    if (out)
        close(pipe_fd[0]);
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    mk_mem_free(av);
    return rc;
}

int mk_spawn_exec(const char **args, size_t nargs, mk_buf *out) { return run(args, nargs, -1, -1, out); }

int mk_spawn_exec_fds(const char **args, size_t nargs, int out_fd, int err_fd)
{
    return run(args, nargs, out_fd, err_fd, NULL);
}

int mk_spawn_with_plan(const char *cmd, const char *text, const char **args, size_t nargs, mk_buf *out)
{
    char path[64];
    snprintf(path, sizeof path, "%s/%s-XXXXXX.plan", MOKSHA_DIR, cmd);
    mkdir(MOKSHA_DIR, 0755);
    int fd = mkstemps(path, 5); /* (0600: the plan may hold sealed secrets, and is only the executor's to read) */
    if (fd < 0) {
        mk_cli_err("cannot write a plan file under %s: %s", MOKSHA_DIR, strerror(errno));
        return EXIT_INPUT;
    }
    close(fd);
    if (!mk_planfile_write(text, path)) {
        mk_cli_err("cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return EXIT_INPUT;
    }
    const char **av = mk_mem_calloc(nargs + 2, sizeof *av);
    av[0] = cmd;
    if (nargs) /* (args may be NULL when there are none) */
        memcpy(av + 1, args, nargs * sizeof *args);
    av[nargs + 1] = path;
    int rc = mk_spawn_exec(av, nargs + 2, out);
    mk_mem_free(av);
    unlink(path);
    return rc;
}

/* A duration as moksha-exec reads it: a number and ms, s, m, h or d. */
static bool duration_ok(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || d <= 0)
        return false;
    return !*end || !strcmp(end, "ms") || !strcmp(end, "s") || !strcmp(end, "m") || !strcmp(end, "h") || !strcmp(end, "d");
}

static bool int_in(const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    return *v && !*end && n >= lo && n <= hi;
}

/* note [apply options]: moksha-exec checks its options too, but only after
 * moksha has compiled, planned and asked; a typo in --parallelism must not
 * cost a plan. So they are checked here, with the executor's rules, before
 * anything else runs. */
static bool option_ok(const char *name, const char *v, mk_approvalfile *a, char *why, size_t whylen)
{
    if (!strcmp(name, "--parallelism") && !int_in(v, 1, 1024))
        mk_cli_err("--parallelism takes a number of workers from 1 to 1024, not `%s`", v);
    else if (!strcmp(name, "--retries") && !int_in(v, 0, 100))
        mk_cli_err("--retries takes a number from 0 to 100, not `%s`", v);
    else if (!strcmp(name, "--timeout") && !duration_ok(v))
        mk_cli_err("--timeout takes a duration above zero, e.g. 30s or 5m, not `%s`", v);
    else if (!strcmp(name, "--auto-approve-risk") && strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
        mk_cli_err("--auto-approve-risk takes low, medium or high, not `%s`", v);
    else if (!strcmp(name, "--progress") && strcmp(v, "auto") && strcmp(v, "bar") && strcmp(v, "lines"))
        mk_cli_err("--progress takes auto, bar or lines, not `%s`", v);
    else if (!strcmp(name, "--lock-timeout") && strcmp(v, "0") && !duration_ok(v))
        mk_cli_err("--lock-timeout takes a duration, e.g. 30s or 5m, not `%s`", v);
    else if (!strcmp(name, "--approve") && (!*v || *v == ':'))
        mk_cli_err("--approve takes POLICY or POLICY:ADDRESS, not `%s`", v);
    else if (!strcmp(name, "--approval") && !mk_approvalfile_read(v, a, why, whylen))
        mk_cli_err("--approval %s", why);
    else
        return true;
    return false;
}

bool mk_spawn_option_ok(const char *name, const char *v)
{
    mk_approvalfile a = {0};
    char why[2048];
    bool ok = option_ok(name, v, &a, why, sizeof why);
    mk_approvalfile_free(&a);
    return ok;
}

bool mk_spawn_push_option(const char ***args, size_t *n, const char *name, const char *v)
{
    *args = mk_options_push(*args, n, name);
    if (!v)
        return true;
    *args = mk_options_push(*args, n, v);
    return mk_spawn_option_ok(name, v);
}
