/* cmd_drift — refresh, drift, plan --refresh and reconcile (cmd_drift.h).
 * Only the executor reads the world (docs/drift.md): each of these runs
 * `moksha-exec refresh` (compiler/cli/spawn.h), or asks the executor
 * service for it, and words or plans from what it reports; none of them
 * talks to a provider or writes the state. The report's words are
 * compiler/back/drift_out.c's. */
#include "compiler/cli/cmd_drift.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/back/drift_out.h"
#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/execstate.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"

/* What a refresh is run with: the executor's options (--parallelism N,
 * --timeout D, --retries N, as moksha-exec takes them) and, for reconcile,
 * who asks (the audit's `by`). */
typedef struct refresh_args {
    const char **exec;
    size_t nexec;
    const char *by;
} refresh_args;

/* An executor option, checked now (note [apply options]) and kept. */
static bool take_exec(void *ud, const char *name, const char *v)
{
    refresh_args *x = ud;
    return mk_spawn_push_option(&x->exec, &x->nexec, name, v);
}

static bool format_ok(const char *f, const char *a, const char *b, const char *c)
{
    if (!strcmp(f, a) || !strcmp(f, b) || (c && !strcmp(f, c)))
        return true;
    if (c)
        mk_cli_err("--format takes %s, %s or %s, not `%s`", a, b, c, f);
    else
        mk_cli_err("--format takes %s or %s, not `%s`", a, b, f);
    return false;
}

/* note [stdout aside]: what the executor service prints streams to this
 * process's stdout (compiler/cli/submit.c); where a command needs it
 * elsewhere — drift's report, to word it; reconcile's apply, on stderr
 * beside its one line a cycle — stdout itself is pointed there meanwhile,
 * for the service and a moksha-exec child alike. */
static int stdout_to(int fd)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved >= 0 && dup2(fd, STDOUT_FILENO) < 0) {
        close(saved);
        saved = -1;
    }
    return saved;
}

static void stdout_back(int saved)
{
    fflush(stdout);
    if (saved >= 0)
        dup2(saved, STDOUT_FILENO), close(saved);
}

/* The refresh in the executor service, what it prints collected into raw
 * when raw is not NULL (note [stdout aside]). */
static int refresh_service(const char *plan, const char **args, size_t n, mk_buf *raw)
{
    FILE *tmp = raw ? tmpfile() : NULL;
    if (raw && !tmp) {
        mk_cli_err("cannot make a temporary file for the service's report: %s", strerror(errno));
        return EXIT_INPUT;
    }
    int saved = tmp ? stdout_to(fileno(tmp)) : -1;
    int rc = mk_submit_refresh(plan, plan ? strlen(plan) : 0, args, n);
    if (!tmp)
        return rc;
    stdout_back(saved);
    rewind(tmp);
    char piece[65536];
    for (size_t k; (k = fread(piece, 1, sizeof piece, tmp)) > 0;)
        mk_buf_put(raw, piece, k);
    fclose(tmp);
    return rc;
}

/* `moksha-exec refresh ARGS… [--format json …] [PLAN]`, the report it
 * prints collected into *raw when raw is not NULL (else printed). */
static int refresh_exec(const char *plan, const refresh_args *x, const char **pre, size_t npre, mk_buf *raw)
{
    const char **av = NULL;
    size_t n = 0;
    av = mk_options_push(av, &n, "refresh");
    for (size_t i = 0; i < npre; i++)
        av = mk_options_push(av, &n, pre[i]);
    for (size_t i = 0; i < x->nexec; i++)
        av = mk_options_push(av, &n, x->exec[i]);
    if (x->by)
        av = mk_options_push(av, &n, "--by"), av = mk_options_push(av, &n, x->by);
    int rc = mk_submit_socket() ? refresh_service(plan, av + 1, n - 1, raw)
             : plan             ? mk_spawn_with_plan("refresh", plan, av + 1, n - 1, raw)
                                : mk_spawn_exec(av, n, raw);
    mk_mem_free(av);
    return rc;
}

/* The report raw holds, or NULL (said) when it holds none. */
static json_t *parse_report(const mk_buf *raw, bool say)
{
    json_t *r = raw->len ? json_loadb(raw->data, raw->len, 0, NULL) : NULL;
    if (mk_drift_out_is_report(r))
        return r;
    json_decref(r);
    if (say)
        mk_cli_err("moksha-exec refresh printed no moksha.drift/v1 report (docs/drift.md)");
    return NULL;
}

/* ---- moksha refresh ---- */

static const char REFRESH_HELP[] =
    "usage: moksha refresh [--parallelism N] [--timeout DURATION] [--retries N] [--format text|json]\n"
    "\n"
    "Have moksha-exec read every object the state records through its provider,\n"
    "and record what it saw beside the state (.moksha/observed.json). The state\n"
    "itself is not written and its serial does not move, so no saved plan goes\n"
    "stale. An object that is gone is marked gone; one that cannot be read keeps\n"
    "its last observation. The next `moksha plan` shows the drift and plans it\n"
    "back. One audit entry for the refresh, and one per drifted resource.\n"
    "\n"
    "options:\n"
    "  --parallelism N         reads at once, 1 to 1024 (default 10)\n"
    "  --timeout DURATION      per read, above zero (default 5m)\n"
    "  --retries N             retries of a read that may succeed later, 0 to 100 (default 4)\n"
    "  --lock-timeout DURATION wait that long for a run holding the state's lock (default 0)\n"
    "  --format text|json      the report as text, or moksha.drift/v1 (docs/drift.md)\n"
    "\n"
    "Ctrl-C, SIGTERM and SIGHUP are passed to moksha-exec.\n"
    "\n"
    "exit status: 0 every object read, 1 some could not be read (the rest are\n"
    "recorded) or an error, 6 the state is locked\n";

/* refresh's and drift's options (they take the same) into x and *format,
 * checked; MK_OPTIONS_OK when the executor may be run. */
static int parse_reading(int argc, char **argv, const char *cmd, const char *help, refresh_args *x, const char **format)
{
    const mk_option opts[] = {
        {"--parallelism", true, .take = take_exec}, {"--timeout", true, .take = take_exec},
        {"--retries", true, .take = take_exec}, {"--format", true, .str = format},
        {"--lock-timeout", true, .take = take_exec},
    };
    mk_options spec = {cmd, cmd, help, opts, sizeof opts / sizeof *opts, .ud = x};
    int parsed = mk_options_parse(&spec, argc, argv);
    bool md = !strcmp(cmd, "drift");
    if (parsed == MK_OPTIONS_OK && !(format_ok(*format, "text", "json", md ? "markdown" : NULL) &&
                                     (mk_submit_socket() || mk_spawn_found())))
        parsed = MK_OPTIONS_BAD;
    return parsed;
}

int mk_cmd_refresh(int argc, char **argv)
{
    refresh_args x = {0};
    const char *format = "text";
    int parsed = parse_reading(argc, argv, "refresh", REFRESH_HELP, &x, &format);
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (parsed == MK_OPTIONS_OK) {
        const char *pre[] = {"--format", format};
        rc = refresh_exec(NULL, &x, pre, 2, NULL);
    }
    mk_mem_free(x.exec);
    return rc;
}

/* ---- moksha drift ---- */

static const char DRIFT_HELP[] =
    "usage: moksha drift [--format text|json|markdown] [--parallelism N] [--timeout DURATION] [--retries N]\n"
    "\n"
    "Read the world and say what changed outside moksha, writing nothing: no\n"
    "observation, no audit entry, no lock (moksha-exec refresh --dry-run). Each\n"
    "resource that changed is listed with the attributes that differ, each one\n"
    "deleted outside moksha, and each one that could not be read, with why.\n"
    "For a scheduled CI job: --format markdown for an issue or pull-request\n"
    "comment, --format json for the executor's report (moksha.drift/v1).\n"
    "\n"
    "options:\n"
    "  --format text|json|markdown   how to print the report (default text)\n"
    "  --parallelism N               reads at once, 1 to 1024 (default 10)\n"
    "  --timeout DURATION            per read, above zero (default 5m)\n"
    "  --retries N                   retries of a read that may succeed later (default 4)\n"
    "\n"
    "exit status: 0 no drift, 2 drift, 1 some object could not be read (never 0\n"
    "then: what could not be seen may have drifted) or an error\n";

/* note [drift exit]: 1 whenever the report says something could not be
 * read, whatever else it says: a scheduled job must never see "no drift"
 * for a world it could not see whole. */
static int drift_exit(json_t *report, int rc)
{
    json_t *c = json_object_get(report, "counts");
    if (json_integer_value(json_object_get(c, "unreadable")) > 0)
        return EXIT_INPUT;
    if (rc != EXIT_OK && rc != EXIT_CHANGES) /* (an executor that failed after printing a report) */
        return rc;
    bool drift = json_integer_value(json_object_get(c, "drifted")) + json_integer_value(json_object_get(c, "gone")) > 0;
    return drift || rc == EXIT_CHANGES ? EXIT_CHANGES : EXIT_OK;
}

static void print_report(json_t *report, const char *format, const mk_buf *raw, FILE *to)
{
    if (!strcmp(format, "json")) {
        fwrite(raw->data, 1, raw->len, to);
        if (raw->len && raw->data[raw->len - 1] != '\n')
            fputc('\n', to);
        return;
    }
    mk_buf b = {0};
    mk_drift_out(report, format, mk_cli_color(to), &b);
    fputs(mk_buf_cstr(&b), to);
    mk_buf_free(&b);
}

int mk_cmd_drift(int argc, char **argv)
{
    refresh_args x = {0};
    const char *format = "text";
    int parsed = parse_reading(argc, argv, "drift", DRIFT_HELP, &x, &format);
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (parsed == MK_OPTIONS_OK) {
        static const char *pre[] = {"--dry-run", "--format", "json", "--detailed-exitcode"};
        mk_buf raw = {0};
        rc = refresh_exec(NULL, &x, pre, 4, &raw);
        json_t *report = parse_report(&raw, rc == EXIT_OK || rc == EXIT_CHANGES);
        if (report) {
            print_report(report, format, &raw, stdout);
            rc = drift_exit(report, rc);
            if (rc == EXIT_CHANGES && !strcmp(format, "text"))
                puts("\n`moksha plan --refresh` plans it back to the stack; `moksha reconcile` applies what is within "
                     "its risk boundary.");
        } else if (rc == EXIT_OK || rc == EXIT_CHANGES) {
            rc = EXIT_INPUT; /* note [drift exit]: no report is no answer */
        }
        json_decref(report);
        mk_buf_free(&raw);
    }
    mk_mem_free(x.exec);
    return rc;
}

/* ---- plan --refresh ---- */

/* note [two passes]: the executor reads by id what a plan imports, and
 * only a signed plan may tell it which (docs/drift.md, "Import"); so the
 * stack is planned once, quietly, for the refresh to be given that plan,
 * and planned again against what the refresh recorded. The first plan
 * says nothing: its diagnostics are the second's, said then. A first plan
 * that fails, or whose policies fail (it is not signed), is no reason to
 * refresh less: the refresh then reads what the state records. */
static bool plan_quietly(mk_pipeline_req *r, mk_planned *out)
{
    mk_submit_inputs in;
    if (!mk_execstate_inputs(r, &in)) {
        memset(out, 0, sizeof *out);
        return false;
    }
    bool ok = mk_pipeline_plan(r, out, true);
    mk_submit_inputs_free(&in);
    return ok && out->text;
}

/* The refresh between the passes, its report said on stderr (and kept in
 * *report for the caller, when it asks). True to plan on: every object
 * read, or only some unreadable (a warning). */
static bool refresh_between(const char *plan, const refresh_args *x, json_t **report, int *rc)
{
    static const char *pre[] = {"--format", "json"};
    mk_buf raw = {0};
    *rc = refresh_exec(plan, x, pre, 2, &raw);
    json_t *rep = parse_report(&raw, *rc == EXIT_OK);
    mk_buf_free(&raw);
    bool on = rep && (*rc == EXIT_OK || *rc == EXIT_INPUT);
    if (rep) {
        mk_buf b = {0};
        mk_drift_out(rep, "text", mk_cli_color(stderr), &b);
        fputs(mk_buf_cstr(&b), stderr);
        mk_buf_free(&b);
    }
    if (on && *rc == EXIT_INPUT)
        fprintf(stderr, "moksha: warning: some objects could not be read: they are planned from the state as last "
                        "applied\n");
    if (!on && *rc == EXIT_OK)
        *rc = EXIT_INPUT;
    if (report && on)
        *report = rep;
    else
        json_decref(rep);
    return on;
}

static bool plan_refreshed(mk_pipeline_req *r, mk_planned *out, bool sign, const refresh_args *x, json_t **report,
                           int *rc)
{
    mk_planned first;
    bool signed_plan = plan_quietly(r, &first);
    bool on = refresh_between(signed_plan ? first.text : NULL, x, report, rc);
    mk_pipeline_planned_free(&first);
    if (!on) {
        memset(out, 0, sizeof *out);
        return false;
    }
    *rc = EXIT_OK;
    if (mk_run_plan(r, out, sign))
        return true;
    *rc = EXIT_INPUT;
    return false;
}

static refresh_args plan_refresh_args;

bool mk_cmd_plan_refresh_option(const char *name, const char *value)
{
    return take_exec(&plan_refresh_args, name, value);
}

bool mk_cmd_plan_refreshed(mk_pipeline_req *r, mk_planned *out, bool sign, int *rc)
{
    refresh_args x = plan_refresh_args;
    if (!mk_submit_socket() && !mk_spawn_found()) {
        memset(out, 0, sizeof *out);
        *rc = EXIT_INPUT;
        return false;
    }
    return plan_refreshed(r, out, sign, &x, NULL, rc);
}

/* ---- moksha reconcile ---- */

static const char RECONCILE_HELP[] =
    "usage: moksha reconcile [--auto-approve-risk low|medium|high] [--approve POLICY[:ADDRESS]]...\n"
    "                        [--watch INTERVAL] [--cycles N] [options as for apply] [--var …] [PATH...]\n"
    "\n"
    "Correct drift within a boundary. Each cycle refreshes (audited as by\n"
    "reconcile), plans the corrections and anything else pending as an ordinary\n"
    "signed plan (the same policies, risk and gates as any plan), and applies it\n"
    "with --auto-approve-risk and the --approve given: what is within that risk\n"
    "and the policies applies, the rest is held at its gates. It asks nothing:\n"
    "the boundary is the approval. A cycle with nothing to do applies nothing.\n"
    "Each cycle prints one line on stdout; what the executor says goes to stderr.\n"
    "\n"
    "options:\n"
    "  --auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high; default low)\n"
    "  --approve POLICY[:ADDRESS]   open an approval gate in every cycle (repeatable)\n"
    "  --watch INTERVAL             run again INTERVAL after each cycle ends (e.g. 30s, 5m, 1h)\n"
    "  --cycles N                   stop after N cycles (default 1, or unbounded with --watch)\n"
    "  --parallelism N, --timeout DURATION, --retries N, --no-rollback, --progress auto|bar|lines,\n"
    "  --signing-key FILE, --var, --var-file, --policies, --override NAME --reason TEXT,\n"
    "  --waiver FILE                as for moksha apply and plan\n"
    "\n"
    "SIGINT, SIGTERM and SIGHUP stop it after the current cycle (a Ctrl-C at a\n"
    "terminal also reaches the executor, which rolls that cycle's apply back).\n"
    "\n"
    "exit status: the last cycle's, as apply's: 0 applied (or nothing to do),\n"
    "1 error, 3 changes held (above --auto-approve-risk, at a closed gate) or a\n"
    "policy failed, 4 failed and rolled back, 5 failed and changes remain, 6 state\n"
    "locked, plan stale, or the world moved since the plan\n";

typedef struct reconcile_args {
    refresh_args refresh; /* --parallelism, --timeout, --retries */
    const char **apply;   /* what the apply is given: those, and --approve, --auto-approve-risk, … */
    size_t napply;
    const char *risk, *watch, *cycles;
    double interval_ms;
    long ncycles; /* 0: unbounded */
} reconcile_args;

/* An option of the refresh and the apply alike (--parallelism, …). */
static bool take_refresh_opt(void *ud, const char *name, const char *v)
{
    reconcile_args *x = ud;
    return mk_spawn_push_option(&x->apply, &x->napply, name, v) && take_exec(&x->refresh, name, v);
}

static bool take_apply_opt(void *ud, const char *name, const char *v)
{
    reconcile_args *x = ud;
    return mk_spawn_push_option(&x->apply, &x->napply, name, v);
}

/* --watch's interval: a number and its unit (a bare number is no interval
 * anyone means); --cycles: a count. */
static bool watch_ok(reconcile_args *x)
{
    char *end = NULL;
    double v = x->watch ? strtod(x->watch, &end) : 0;
    static const struct { const char *unit; double ms; } U[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
    for (size_t i = 0; x->watch && end != x->watch && v > 0 && i < sizeof U / sizeof *U; i++)
        if (!strcmp(end, U[i].unit))
            x->interval_ms = v * U[i].ms;
    if (x->watch && !(x->interval_ms > 0)) {
        mk_cli_err("--watch takes an interval above zero with its unit, e.g. 30s, 5m or 1h, not `%s`", x->watch);
        return false;
    }
    long n = x->cycles ? strtol(x->cycles, &end, 10) : (x->watch ? 0 : 1);
    if (x->cycles && (!*x->cycles || *end || n < 1 || n > 1000000000)) {
        mk_cli_err("--cycles takes a number of cycles from 1, not `%s`", x->cycles);
        return false;
    }
    x->ncycles = n;
    return true;
}

/* What a cycle did, in the words of its one line. */
static const char *outcome(int rc, bool planned_changes)
{
    switch (rc) {
    case 0: return planned_changes ? "applied" : "nothing to do";
    case 3: return planned_changes ? "some changes held (above the risk boundary, or at a gate)" : "a policy failed: nothing applied";
    case 4: return "a step failed: rolled back";
    case 5: return "a step failed: changes remain";
    case 6: return "refused: the state is locked, the plan stale, or the world moved";
    default: return "error";
    }
}

static void cycle_line(long n, json_t *report, const mk_plan *plan, int rc)
{
    json_t *c = json_object_get(report, "counts");
    long long d = json_integer_value(json_object_get(c, "drifted")), g = json_integer_value(json_object_get(c, "gone")),
              u = json_integer_value(json_object_get(c, "unreadable"));
    size_t k = plan ? plan->nchanges : 0;
    printf("reconcile: cycle %ld: ", n);
    if (report)
        printf("%lld changed, %lld gone, %lld unreadable; ", d, g, u);
    else
        printf("not refreshed; ");
    if (plan)
        printf("%zu %s planned; ", k, k == 1 ? "change" : "changes");
    printf("%s (exit %d)\n", outcome(rc, k > 0), rc);
    fflush(stdout);
}

/* The plan's apply, its output on stderr (stdout is the cycle lines). */
static int cycle_apply(const mk_planned *pl, const reconcile_args *x)
{
    int saved = stdout_to(STDERR_FILENO);
    int rc = mk_submit_socket() ? mk_submit_apply(pl->key.stack_id, pl->text, strlen(pl->text), x->apply, x->napply)
                                : mk_spawn_with_plan("apply", pl->text, x->apply, x->napply, NULL);
    stdout_back(saved);
    return rc;
}

static int cycle(mk_pipeline_req *r, const reconcile_args *x, long n)
{
    mk_planned pl;
    json_t *report = NULL;
    int rc;
    bool planned = plan_refreshed(r, &pl, true, &x->refresh, &report, &rc);
    if (planned && pl.policy_failed)
        rc = EXIT_POLICY;
    else if (planned && pl.model->nchanges)
        rc = cycle_apply(&pl, x);
    cycle_line(n, report, planned ? pl.model : NULL, rc);
    json_decref(report);
    mk_pipeline_planned_free(&pl);
    return rc;
}

/* note [cycles apart]: each cycle runs in a process of its own. The
 * compiler frees nothing as it goes (note [json memory] in base/jalloc.h),
 * so a watch of many cycles in one process would grow by a plan and a
 * state a cycle; and the stop signals, blocked here, stay blocked in the
 * cycle, which then runs to its end (the executor it starts unblocks them
 * for itself: compiler/cli/spawn.c). */
static int cycle_apart(mk_pipeline_req *r, const reconcile_args *x, long n)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = cycle(r, x, n);
        fflush(NULL);
        _exit(rc);
    }
    int st = 0;
    if (pid < 0) {
        mk_cli_err("cannot start reconcile cycle %ld: %s", n, strerror(errno));
        return EXIT_INPUT;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    mk_cli_err("reconcile cycle %ld was killed by signal %d", n, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return EXIT_INPUT;
}

/* Wait ms for a stop signal (blocked: it waits here if it came during
 * the cycle); the signal, or 0 when the time passed. */
static int wait_stop(const sigset_t *stops, double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    for (;;) {
        int sig = sigtimedwait(stops, NULL, &ts);
        if (sig > 0 || errno != EINTR)
            return sig > 0 ? sig : 0;
    }
}

static int reconcile_loop(mk_pipeline_req *r, const reconcile_args *x)
{
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT), sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &old);
    int rc = EXIT_OK, sig = 0;
    for (long n = 1; !sig; n++) {
        rc = cycle_apart(r, x, n);
        if (x->ncycles && n >= x->ncycles)
            break;
        sig = wait_stop(&stops, x->interval_ms);
        if (sig)
            fprintf(stderr, "moksha: reconcile stopped by %s after cycle %ld\n", strsignal(sig), n);
    }
    while (wait_stop(&stops, 0)) /* (one that came in the last cycle: taken, not delivered on unblocking) */
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int mk_cmd_reconcile(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    reconcile_args x = {.risk = "low"};
    const mk_option opts[] = {
        {"--auto-approve-risk", true, .str = &x.risk}, {"--watch", true, .str = &x.watch},
        {"--cycles", true, .str = &x.cycles}, {"--approve", true, .take = take_apply_opt},
        {"--parallelism", true, .take = take_refresh_opt}, {"--timeout", true, .take = take_refresh_opt},
        {"--retries", true, .take = take_refresh_opt}, {"--no-rollback", false, .take = take_apply_opt},
        {"--progress", true, .take = take_apply_opt}, {"--signing-key", true, .str = &r.signing_key},
    };
    mk_options spec = {"reconcile", "reconcile", RECONCILE_HELP, opts, sizeof opts / sizeof *opts, .ud = &x, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv), rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    bool ok = parsed == MK_OPTIONS_OK && mk_spawn_option_ok("--auto-approve-risk", x.risk) && watch_ok(&x) &&
              mk_options_only(&r, "reconcile", MK_OPTIONS_ALL) && mk_options_overrides_ok(&r) &&
              (mk_submit_socket() || mk_spawn_found());
    if (ok) {
        x.apply = mk_options_push(x.apply, &x.napply, "--auto-approve-risk");
        x.apply = mk_options_push(x.apply, &x.napply, x.risk);
        x.refresh.by = "reconcile";
        rc = reconcile_loop(&r, &x);
    }
    mk_mem_free(x.refresh.exec);
    mk_mem_free(x.apply);
    mk_options_req_free(&r);
    return rc;
}
