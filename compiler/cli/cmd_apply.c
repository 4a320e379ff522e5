/* cmd_apply — `moksha apply`, `moksha destroy`, `moksha state …` and
 * `moksha audit …`. The compiler never changes infrastructure: these
 * commands plan (or take a saved plan) and hand the signed plan file to
 * `moksha-exec` (compiler/cli/spawn.h), returning its exit code. State and
 * audit commands are the executor's own. */
#include "compiler/cli/cmd_apply.h"
#include "compiler/cli/cmd_revert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/back/planfile.h"
#include "compiler/back/policy_out.h"
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"
#include "compiler/middle/plan.h"

static const char APPLY_HELP[] =
    "usage: moksha apply PLAN [options]\n"
    "       moksha apply [options] [--var NAME=VALUE]... [--var-file FILE]... [PATH...]\n"
    "\n"
    "Apply a saved plan (moksha plan -o PLAN), or with no PLAN plan the stack,\n"
    "show the plan and ask before applying it (on a terminal; --yes skips the\n"
    "question). The plan runs in moksha-exec: the state is locked, a stale plan is\n"
    "refused, steps run in parallel, and on failure everything done is rolled back.\n"
    "A saved plan takes no variables, stack paths or planning options: they were\n"
    "fixed when it was planned. Options are checked before anything is planned;\n"
    "--approve must name a policy of the plan, POLICY:ADDRESS one of its gates.\n"
    "\n"
    "options:\n"
    "  --yes                        do not ask\n"
    "  --parallelism N              worker threads, 1 to 1024 (default 10)\n"
    "  --no-rollback                on failure keep what succeeded (exit 5)\n"
    "  --approve POLICY[:ADDRESS]   open an approval gate (repeatable; not in trust mode)\n"
    "  --approval FILE              a signed approval (moksha approve) for the executor to use,\n"
    "                               with those it keeps (repeatable, at most 64; trust mode)\n"
    "  --auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high)\n"
    "  --timeout DURATION           per provider call, above zero (default 5m)\n"
    "  --retries N                  retries for retryable provider errors, 0 to 100 (default 4)\n"
    "  --progress auto|bar|lines    a live bar on a terminal, else one line per step\n"
    "  --lock-timeout DURATION      wait that long for a run holding the state's lock (default 0)\n"
    "  --signing-key FILE           sign the plan with this planner key (Ed25519), not the\n"
    "                               project key; else MOKSHA_SIGNING_KEY (docs/trust.md)\n"
    "\n"
    "Ctrl-C, SIGTERM (kill PID, systemd, CI runners) and SIGHUP are passed to\n"
    "moksha-exec: it starts nothing new, rolls back what it did, and exits 4.\n"
    "\n"
    "MOKSHA_EXEC_SOCKET=PATH submits the plan to `moksha-exec serve` there instead\n"
    "(docs/trust.md): the state is read from the service, its output streams\n"
    "back, each Ctrl-C sends it a cancel, and its exit code is apply's.\n"
    "\n"
    "exit status: 0 applied, 1 error, 3 changes held (a closed gate, or above\n"
    "--auto-approve-risk), 4 failed and rolled back, 5 failed and changes remain,\n"
    "6 state locked or plan stale\n";

static const char DESTROY_HELP[] =
    "usage: moksha destroy [--yes] [options as for apply]\n"
    "\n"
    "Plan the deletion of everything the state records, show it, ask, and apply\n"
    "it like `moksha apply`. Resources with prevent_destroy stop the plan.\n"
    "Only the variables that provider blocks and policies read need values.\n"
    "With MOKSHA_EXEC_SOCKET set, the state and the apply are the executor\n"
    "service's there, as for apply.\n";

typedef struct apply_args {
    bool destroy;
    const char *plan_file;
    bool yes;
    const char **exec; /* options passed to moksha-exec apply */
    size_t nexec;
    size_t napprovals;
} apply_args;

/* An option moksha-exec takes, passed on to it; its value is checked now
 * (note [apply options]). */
static bool exec_option(void *ud, const char *name, const char *v)
{
    apply_args *x = ud;
    if (!strcmp(name, "--approval") && ++x->napprovals > 64) {
        mk_cli_err("--approval: at most 64 approval files go with one apply (keep the others with `moksha approval add`)");
        return false;
    }
    return mk_spawn_push_option(&x->exec, &x->nexec, name, v);
}

/* note [approvals match]: an --approve that names no gate would open
 * nothing, silently, and the change the operator meant to let through stays
 * held. POLICY must be a policy the plan evaluated and POLICY:ADDRESS one of
 * its gates; a known policy without a gate in this plan is only noted (a
 * release job may pass the same --approve to every plan). */
static bool approval_ok(const mk_plan *plan, const char *a)
{
    const char *colon = strchr(a, ':');
    size_t n = colon ? (size_t)(colon - a) : strlen(a);
    json_t *pols = plan->policies, *it;
    size_t i, np = json_array_size(pols), hits = 0;
    const char **cands = mk_mem_calloc(np + plan->ngates + 1, sizeof *cands);
    size_t nc = 0;
    bool known = false;
    json_array_foreach(pols, i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        known |= name && strlen(name) == n && !strncmp(name, a, n);
        cands[nc++] = name;
    }
    char *pol = mk_mem_strdup(a);
    pol[n] = 0;
    if (known) { /* the gates of that policy, by address */
        nc = 0;
        for (i = 0; i < plan->ngates; i++) {
            if (strcmp(plan->gates[i].policy ?: "", pol) != 0)
                continue;
            const char *addr = plan->gates[i].address;
            hits += !colon || (addr && !strcmp(addr, colon + 1));
            cands[nc++] = addr;
        }
    }
    const char *s = !known ? mk_diag_suggest(pol, cands, nc) : colon && !hits ? mk_diag_suggest(colon + 1, cands, nc) : NULL;
    bool ok = known && (hits || !colon);
    if (!known)
        mk_cli_err("--approve %s: the plan has no policy `%s`%s%s%s", a, pol, s ? "; did you mean `" : "", s ? s : "", s ? "`?" : "");
    else if (!ok)
        mk_cli_err("--approve %s: policy %s has no gate on `%s` in this plan%s%s%s", a, pol, colon + 1,
                   s ? "; did you mean `" : nc ? " (it holds other addresses)" : " (it holds none)", s ? s : "", s ? "`?" : "");
    else if (!hits)
        fprintf(stderr, "moksha: note: --approve %s opens nothing: policy %s holds no change in this plan\n", a, pol);
    mk_mem_free(pol);
    mk_mem_free(cands);
    return ok;
}

static bool approvals_ok(const mk_plan *plan, const apply_args *x)
{
    bool ok = true;
    for (size_t i = 0; i + 1 < x->nexec; i++)
        if (!strcmp(x->exec[i], "--approve"))
            ok = approval_ok(plan, x->exec[++i]) && ok;
    return ok;
}

/* An argument of apply that is not an option: a plan file, or a path of the
 * stack (a .moksha file or a directory). */
static bool is_plan_file(const char *s)
{
    struct stat sb;
    size_t n = strlen(s);
    return s[0] != '-' && stat(s, &sb) == 0 && S_ISREG(sb.st_mode) && !(n > 7 && strcmp(s + n - 7, ".moksha") == 0);
}

static bool looks_like_stack(const char *s)
{
    struct stat sb;
    size_t n = strlen(s);
    return (n > 7 && strcmp(s + n - 7, ".moksha") == 0) || (stat(s, &sb) == 0 && S_ISDIR(sb.st_mode));
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
    for (size_t i = 0; i < pl->model->nchanges; i++) {
        const mk_change *c = &pl->model->changes[i];
        const mk_type *ty = c->in ? c->in->res->schema : NULL;
        for (uint32_t k = 0; ty && k < c->unknown.n; k++)
            for (uint32_t f = 0; f < ty->nfields; f++)
                if (!(ty->fields[f].flags & MK_ANN_COMPUTED) && strcmp(ty->fields[f].name, c->unknown.v[k]) == 0)
                    return true;
    }
    const char *k;
    json_t *v;
    json_object_foreach(pl->model->outputs, k, v) /* an output known only after apply: recorded by the next */
        if (json_is_null(v))
            return true;
    return false;
}

/* Run the signed plan in moksha-exec, or submit it to the executor
 * service (compiler/cli/submit.h). */
static int apply_text(const char *text, const char *stack_id, apply_args *x)
{
    if (mk_submit_socket())
        return mk_submit_apply(stack_id, text, strlen(text), x->exec, x->nexec);
    return mk_spawn_with_plan("apply", text, x->exec, x->nexec, NULL);
}

/* Plan, show, ask, apply; again while values known only after apply
 * change the plan (at most twice more). */
static int plan_and_apply(mk_pipeline_req *r, apply_args *x, bool destroy)
{
    int rc = EXIT_OK;
    for (int pass = 0; pass < 3; pass++) {
        mk_planned pl;
        r->destroy = destroy;
        bool planned = mk_run_plan(r, &pl, true); /* the service's state, when there is one */
        if (!planned || (pass == 0 && !approvals_ok(pl.model, x))) {
            mk_pipeline_planned_free(&pl);
            return EXIT_INPUT;
        }
        if (pl.policy_failed) {
            mk_buf b = {0};
            mk_policy_out(pl.policies, "text", pl.model->stack, &b, mk_cli_color(stdout));
            fputs(mk_buf_cstr(&b), stdout);
            mk_buf_free(&b);
            mk_cli_err("a policy failed: nothing was applied");
            mk_pipeline_planned_free(&pl);
            return EXIT_POLICY;
        }
        size_t n = pl.model->nchanges + pl.model->outputs_changed.n; /* outputs alone are a write too */
        if (pass > 0 && pl.model->nchanges)
            puts("\nSome values were known only after apply; the follow-up plan:\n");
        else if (pass > 0 && n) /* the stack's outputs alone: recorded without a plan to read */
            puts("\nRecording the outputs known only after apply.");
        if (n == 0) {
            if (pass == 0)
                puts("No changes. The infrastructure matches the stack.");
            mk_pipeline_planned_free(&pl);
            return rc;
        }
        if (pass == 0 || pl.model->nchanges)
            mk_run_print_plan(pl.model, NULL, &pl.key, false, "text");
        if (pass == 0 && !x->yes && !ask(destroy ? "destroy" : "apply")) {
            mk_pipeline_planned_free(&pl);
            return EXIT_INPUT;
        }
        bool again = !destroy && has_deferred(&pl);
        puts("");
        rc = apply_text(pl.text, pl.key.stack_id, x);
        mk_pipeline_planned_free(&pl);
        if (rc != EXIT_OK || !again)
            return rc;
    }
    return rc;
}

/* A saved plan takes no planning input: its variables, policies and
 * overrides were fixed when it was planned. */
static bool saved_plan_args_ok(const mk_pipeline_req *r, const char *plan)
{
    if (r->npaths)
        mk_cli_err("apply takes one plan file; `%s` is one argument too many (a saved plan needs no stack paths)", r->paths[0]);
    else if (r->nvar_flags || r->nvar_files)
        mk_cli_err("%s does not apply to a saved plan: %s was planned with its variables (plan again with them)",
                   r->nvar_flags ? "--var" : "--var-file", plan);
    else if (r->signing_key)
        mk_cli_err("--signing-key does not apply to a saved plan: %s was signed when it was planned", plan);
    else if (!mk_options_only(r, "apply PLAN", 0))
        return false;
    else
        return true;
    return false;
}

/* The saved plan's gates, to check --approve against before moksha-exec
 * runs; a file that does not parse, or is not a plan, is moksha-exec's to
 * report. */
static bool saved_plan_approvals_ok(const char *path, const apply_args *x)
{
    char why[256];
    json_t *doc = json_load_file(path, 0, NULL);
    mk_plan *plan = doc ? mk_planfile_read(doc, why, sizeof why) : NULL;
    bool ok = !plan || approvals_ok(plan, x);
    mk_plan_free(plan); /* (it borrows the document's strings) */
    json_decref(doc);
    return ok;
}

/* A saved plan sent to the executor service, with the stack id it names. */
static int submit_saved(apply_args *x)
{
    json_t *doc = json_load_file(x->plan_file, 0, NULL);
    const char *id = json_string_value(json_object_get(json_object_get(doc, "state"), "stack_id"));
    FILE *f = fopen(x->plan_file, "rb");
    mk_buf b = {0};
    char piece[65536];
    size_t n;
    while (f && (n = fread(piece, 1, sizeof piece, f)) > 0)
        mk_buf_put(&b, piece, n);
    int rc = EXIT_INPUT;
    if (!f || ferror(f))
        mk_cli_err("cannot read %s: %s", x->plan_file, strerror(errno));
    else
        rc = mk_submit_apply(id, b.data ? b.data : "", b.len, x->exec, x->nexec);
    if (f)
        fclose(f);
    mk_buf_free(&b);
    json_decref(doc);
    return rc;
}

static int run_saved(apply_args *x)
{
    if (mk_submit_socket())
        return submit_saved(x);
    x->exec = mk_options_push(x->exec, &x->nexec, x->plan_file);
    const char **args = mk_mem_calloc(x->nexec + 1, sizeof *args);
    args[0] = "apply";
    memcpy(args + 1, x->exec, x->nexec * sizeof *args);
    int rc = mk_spawn_exec(args, x->nexec + 1, NULL);
    mk_mem_free(args);
    return rc;
}

/* An argument that is a plan file rather than a stack path: apply's one
 * saved plan, which destroy takes none of. */
static bool plan_file_arg(void *ud, const char *s, bool *bad)
{
    apply_args *x = ud;
    if (x->destroy && is_plan_file(s)) {
        mk_cli_err("destroy takes no plan file: it plans the deletion of everything in the state itself "
                   "(moksha apply %s applies a saved plan)", s);
        *bad = true;
        return true;
    }
    if (x->destroy || s[0] == '-' || looks_like_stack(s))
        return false;
    if (x->plan_file) {
        mk_cli_err("apply takes one plan file; `%s` is one too many", s);
        *bad = true;
    } else if (!is_plan_file(s)) {
        mk_cli_err("plan file `%s` does not exist (make one with `moksha plan -o %s`; stack paths are "
                   ".moksha files or directories)", s, s);
        *bad = true;
    }
    x->plan_file = s;
    return true;
}

static int apply_like(int argc, char **argv, bool destroy)
{
    mk_pipeline_req r = {0};
    apply_args x = {.destroy = destroy};
    const char *cmd = destroy ? "destroy" : "apply";
    const mk_option opts[] = {
        {"--yes", false, .flag = &x.yes}, {"-y", false, .flag = &x.yes}, {"--auto-approve", false, .flag = &x.yes},
        {"--parallelism", true, .take = exec_option}, {"--approve", true, .take = exec_option},
        {"--auto-approve-risk", true, .take = exec_option}, {"--timeout", true, .take = exec_option},
        {"--retries", true, .take = exec_option}, {"--progress", true, .take = exec_option},
        {"--no-rollback", false, .take = exec_option}, {"--signing-key", true, .str = &r.signing_key},
        {"--lock-timeout", true, .take = exec_option}, {"--approval", true, .take = exec_option},
    };
    mk_options spec = {cmd, cmd, destroy ? DESTROY_HELP : APPLY_HELP, opts, sizeof opts / sizeof *opts, .ud = &x,
                    .stack = &r, .arg = plan_file_arg};
    int parsed = mk_options_parse(&spec, argc, argv);
    bool bad = parsed != MK_OPTIONS_OK;
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    bad = bad || (!mk_submit_socket() && !mk_spawn_found());
    if (!bad && x.plan_file) {
        if (saved_plan_args_ok(&r, x.plan_file) && saved_plan_approvals_ok(x.plan_file, &x))
            rc = run_saved(&x);
    } else if (!bad && mk_options_only(&r, cmd, MK_OPTIONS_ALL) && mk_options_overrides_ok(&r)) {
        rc = plan_and_apply(&r, &x, destroy);
    }
    mk_mem_free(x.exec);
    mk_options_req_free(&r);
    return rc;
}

int mk_cmd_apply(int argc, char **argv) { return apply_like(argc, argv, false); }
int mk_cmd_destroy(int argc, char **argv) { return apply_like(argc, argv, true); }

static const char IMPORT_HELP[] =
    "usage: moksha import ADDRESS ID [--yes] [-o PLAN] [options as for apply] [PATH...]\n"
    "\n"
    "Adopt an existing object (its provider id ID) into the stack's resource at\n"
    "ADDRESS, as an `import { to = ADDRESS, id = \"ID\" }` block would: plan it, have\n"
    "moksha-exec read the object by its id (moksha-exec refresh PLAN), plan again\n"
    "with what it read, show the plan and apply it like `moksha apply` (asks on a\n"
    "terminal; --yes does not). The import is a planned change, risk high,\n"
    "signed and policy-checked; what differs from the spec is updated after it.\n"
    "With -o PLAN the plan is written there and nothing is applied.\n"
    "\n"
    "options:\n"
    "  --yes, -y                    do not ask\n"
    "  -o, --out PLAN               write the signed plan to PLAN and stop\n"
    "  --var, --var-file, --policies, --signing-key  as for plan\n"
    "  --parallelism, --timeout, --retries, --approve, --auto-approve-risk,\n"
    "  --progress, --no-rollback    as for apply\n"
    "\n"
    "exit status: as for apply; 1 when ADDRESS is not a resource of the stack\n";

typedef struct import_args {
    apply_args x;
    const char *address, *id, *out;
} import_args;

/* ADDRESS and ID, then the stack's paths. */
static bool import_arg(void *ud, const char *s, bool *bad)
{
    import_args *ia = ud;
    (void)bad;
    if (s[0] == '-' || (ia->address && ia->id))
        return false;
    if (!ia->address)
        ia->address = s;
    else
        ia->id = s;
    return true;
}

static bool import_exec_option(void *ud, const char *name, const char *v) { return exec_option(&((import_args *)ud)->x, name, v); }

/* The first line of the executor's that says what went wrong, for a note. */
static void exec_reason(FILE *err, char *why, size_t n)
{
    char line[512];
    snprintf(why, n, "%s", "");
    rewind(err);
    while (fgets(line, sizeof line, err))
        if (strstr(line, "error: ")) {
            line[strcspn(line, "\n")] = 0;
            snprintf(why, n, " (%s)", strstr(line, "error: ") + 7);
            return;
        }
}

/* Have the executor read the import by its id with the signed plan
 * (docs/drift.md): what it read is in .moksha/observed.json for the next
 * plan. Its report is not shown (the plan that follows says it all); a
 * failure leaves the import planned with its attributes unknown. */
static void refresh_with(const char *text)
{
    char path[] = MOKSHA_DIR "/import-XXXXXX.plan", why[600] = "";
    if (mk_submit_socket()) { /* the service reads it, and keeps observed.json */
        if (mk_submit_refresh(text, strlen(text), NULL, 0) != EXIT_OK)
            fprintf(stderr, "moksha: note: the executor could not read it: attributes unknown\n");
        return;
    }
    mkdir(MOKSHA_DIR, 0755);
    int fd = mkstemps(path, 5);
    int rc = EXIT_INPUT;
    if (fd >= 0) {
        close(fd);
        const char *args[] = {"refresh", path};
        FILE *err = tmpfile();
        int null = open("/dev/null", O_WRONLY);
        if (err && mk_planfile_write(text, path))
            rc = mk_spawn_exec_fds(args, 2, null, fileno(err));
        if (err && rc != EXIT_OK)
            exec_reason(err, why, sizeof why);
        if (err)
            fclose(err);
        if (null >= 0)
            close(null);
        unlink(path);
    }
    if (rc != EXIT_OK)
        fprintf(stderr, "moksha: note: the executor could not read it: attributes unknown%s\n", why);
}

/* The plan with the import, once more after the executor has read it. */
static bool plan_import(mk_pipeline_req *r, mk_planned *pl)
{
    if (!mk_run_plan(r, pl, true))
        return false;
    if (pl->policy_failed || !pl->model->totals.import)
        return true; /* nothing for the executor to read */
    refresh_with(pl->text);
    mk_pipeline_planned_free(pl);
    return mk_run_plan(r, pl, true);
}

static int import_saved(const mk_planned *pl, const char *out)
{
    if (!mk_planfile_write(pl->text, out)) {
        mk_cli_err("cannot write plan to `%s`: %s", out, strerror(errno));
        return EXIT_INPUT;
    }
    mk_run_print_plan(pl->model, pl->text, &pl->key, false, "text");
    printf("\nSaved the signed plan to %s; run `moksha apply %s` to apply exactly these changes.\n", out, out);
    return EXIT_OK;
}

static int import_run(mk_pipeline_req *r, import_args *ia)
{
    mk_planned pl;
    if (!plan_import(r, &pl) || !approvals_ok(pl.model, &ia->x)) {
        mk_pipeline_planned_free(&pl);
        return EXIT_INPUT;
    }
    int rc = EXIT_INPUT;
    if (pl.policy_failed) {
        mk_cli_err("a policy failed: nothing was imported");
        rc = EXIT_POLICY;
    } else if (ia->out) {
        rc = import_saved(&pl, ia->out);
    } else {
        mk_run_print_plan(pl.model, NULL, &pl.key, false, "text");
        if (!pl.model->nchanges) /* already imported: the note said so */
            rc = EXIT_OK;
        else if (ia->x.yes || ask("apply")) {
            puts("");
            rc = apply_text(pl.text, pl.key.stack_id, &ia->x);
        }
    }
    mk_pipeline_planned_free(&pl);
    return rc;
}

int mk_cmd_import(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    import_args ia = {0};
    const mk_option opts[] = {
        {"--yes", false, .flag = &ia.x.yes}, {"-y", false, .flag = &ia.x.yes}, {"-o", true, .str = &ia.out},
        {"--out", true, .str = &ia.out}, {"--parallelism", true, .take = import_exec_option},
        {"--approve", true, .take = import_exec_option}, {"--auto-approve-risk", true, .take = import_exec_option},
        {"--timeout", true, .take = import_exec_option}, {"--retries", true, .take = import_exec_option},
        {"--progress", true, .take = import_exec_option}, {"--no-rollback", false, .take = import_exec_option},
        {"--signing-key", true, .str = &r.signing_key},
    };
    mk_options spec = {"import", "import", IMPORT_HELP, opts, sizeof opts / sizeof *opts, .ud = &ia, .stack = &r,
                       .arg = import_arg};
    int parsed = mk_options_parse(&spec, argc, argv);
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    char why[1024];
    if (parsed != MK_OPTIONS_OK) {
    } else if (!ia.address || !ia.id || !*ia.id) {
        mk_cli_err("import takes ADDRESS and ID, e.g. `moksha import compute.legacy i-0abc`");
    } else if (ia.out && !mk_planfile_target_ok(ia.out, why, sizeof why)) {
        mk_cli_err("refusing to write the plan: %s (choose another file, e.g. -o import.plan)", why);
    } else if ((mk_submit_socket() || mk_spawn_found()) && mk_options_only(&r, "import", MK_OPTIONS_ALL) &&
               mk_options_overrides_ok(&r)) {
        r.import_to = ia.address, r.import_id = ia.id;
        rc = import_run(&r, &ia);
    }
    mk_mem_free(ia.x.exec);
    mk_options_req_free(&r);
    return rc;
}

/* The forms of `state` and `audit` and the service's op for each (note
 * [stack ops] in runtime/serve.c): its argument, when it has one, is the
 * last word, sent under key. */
static const struct service_form {
    const char *cmd, *sub, *key;
    int argc;
} SERVICE_FORMS[] = {
    {"state", "list", NULL, 2},        {"state", "show", "address", 3}, {"state", "rm", "address", 3},
    {"state", "unlock", "lock_id", 3}, {"audit", "verify", NULL, 2},    {"audit", "show", NULL, 2},
    {"audit", "show", "format", 4},
};

/* `state …` or `audit …` run by the executor service, which holds the
 * stack's state and log (the local .moksha has neither); the usage line
 * (help's first) on stderr when the words are no form of it. */
static int through_service(const char *cmd, int argc, char **argv, const char *help)
{
    const char *sub = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof SERVICE_FORMS / sizeof *SERVICE_FORMS; i++) {
        const struct service_form *f = &SERVICE_FORMS[i];
        if (strcmp(f->cmd, cmd) || strcmp(f->sub, sub) || f->argc != argc || (argc == 4 && strcmp(argv[2], "--format")))
            continue;
        char op[32];
        snprintf(op, sizeof op, "%s %s", cmd, sub);
        return mk_submit_stack_op(op, f->key, f->key ? argv[argc - 1] : NULL);
    }
    fprintf(stderr, "%.*s", (int)(strchr(help, '\n') + 1 - help), help);
    return EXIT_INPUT;
}

static int pass_through(const char *cmd, int argc, char **argv, const char *help)
{
    if (argc > 1 && mk_options_is_help(argv[1])) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (mk_submit_socket())
        return through_service(cmd, argc, argv, help);
    const char **args = mk_mem_calloc((size_t)argc + 1, sizeof *args);
    args[0] = cmd;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    int rc = mk_spawn_exec(args, (size_t)argc, NULL);
    mk_mem_free(args);
    return rc;
}

int mk_cmd_state(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "revert")) /* a plan, made here: not the executor's command */
        return mk_cmd_revert(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "mv") && mk_submit_socket()) {
        /* docs/drift.md: in trust mode every change to the state is a signed plan */
        mk_cli_err("state mv is refused by the executor service: write `moved { from = FROM, to = TO }` and apply its plan");
        return EXIT_INPUT;
    }
    return pass_through("state", argc, argv,
                        "usage: moksha state list | show ADDRESS | rm ADDRESS | mv FROM TO | unlock LOCK_ID --reason TEXT\n"
                        "                    | where [--format text|json] | pull [--serial N | --observed]\n"
                        "       moksha state history [--format json] | show --serial N [ADDRESS]\n"
                        "       moksha state migrate --to postgres|local | revert N [-o PLAN]\n"
                        "\n"
                        "  list          the resources the state records, with provider, placement and id\n"
                        "  show ADDRESS  one resource's state entry as JSON (secrets stay sealed)\n"
                        "  rm ADDRESS    forget a resource (the object itself is not touched)\n"
                        "  mv FROM TO    move FROM's object and entry to TO at once, without a plan (the\n"
                        "                object is moved, nothing else about it changes; audited state.mv);\n"
                        "                a `moved { from = FROM, to = TO }` block does the same through a plan\n"
                        "  unlock ID --reason TEXT\n"
                        "                break the lock a dead run left (its id is in the error message); the\n"
                        "                reason is required and audited (lock.broken, with the holder)\n"
                        "  where         which backend the executor keeps this stack's state in, and where\n"
                        "  pull          the state's bytes as the backend holds them (--serial N: an earlier\n"
                        "                serial it keeps; --observed: the last refresh's observations)\n"
                        "  history       every serial the state backend keeps: time, operation, run, entries\n"
                        "                changed and removed; its hash chain verified (exit 1 naming the\n"
                        "                first serial that does not verify)\n"
                        "  show --serial N [ADDRESS]  the state (or one entry) as serial N had it\n"
                        "  migrate --to postgres|local  copy the state, audit log and observations to the\n"
                        "                other backend (which must be empty), verified by SHA-256\n"
                        "  revert N      plan the changes that bring the world back to serial N: an\n"
                        "                ordinary plan (priced, policy-checked, gated, signed); `moksha state\n"
                        "                revert --help` for its options\n"
                        "\n"
                        "--stack NAME (else MOKSHA_STACK) names the stack where the backend keys states by\n"
                        "name (postgres); --lock-timeout DURATION lets rm and mv wait for a holder.\n"
                        "\n"
                        "With MOKSHA_EXEC_SOCKET set, each runs in the executor service, on the state it\n"
                        "holds for this stack (.moksha/stack-id), never on a local .moksha/state.json;\n"
                        "rm and unlock are audited there with the submitter's uid (docs/trust.md).\n");
}

int mk_cmd_env(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") != 0 || mk_options_is_help(argv[1])) {
        bool help = argc > 1 && mk_options_is_help(argv[1]);
        fputs("usage: moksha env list [--format text|json] [--stack NAME]\n"
              "\n"
              "  list   the environments of this stack that have a state in the executor's backend\n"
              "         (docs/state.md), with serial, resources and when each was last written\n",
              help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_INPUT;
    }
    const char **args = mk_mem_calloc((size_t)argc + 1, sizeof *args);
    args[0] = "env";
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    int rc = mk_spawn_exec(args, (size_t)argc, NULL);
    mk_mem_free(args);
    return rc;
}

int mk_cmd_audit(int argc, char **argv)
{
    return pass_through("audit", argc, argv,
                        "usage: moksha audit verify | show [--format text|json]\n"
                        "\n"
                        "  verify   read every byte of .moksha/audit.jsonl, check its hash chain, its keyed\n"
                        "           head and the state's record of the last entry; names the first damage\n"
                        "           or entry altered, removed or inserted (exit 1), else exit 0\n"
                        "  show     print the log, one entry a line: policy, gate, address, override\n"
                        "           reason, and who ran it (user@host); --format json gives every field\n"
                        "\n"
                        "With MOKSHA_EXEC_SOCKET set, both read the log the executor service keeps for\n"
                        "this stack (.moksha/stack-id), never a local .moksha/audit.jsonl.\n");
}
