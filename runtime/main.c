/* moksha-exec — the executor. It reads plan files only, never .moksha
 * source, and is the only program that changes infrastructure:
 *   verify PLAN          check a plan's signature and say what it would do
 *   apply PLAN           run it (runtime/exec.c)
 *   refresh [PLAN]       read the world, record what was seen (runtime/refresh.c)
 *   state list|show|rm|mv|unlock, audit verify (runtime/statecmd.c), audit show
 *   state history|show --serial N (runtime/historycmd.c), state migrate (runtime/migrate.c)
 *   key new|show|rotate, config check
 *   serve [--socket PATH] the executor as a service (runtime/serve.c)
 *   sim ls|show|set|unset|rm|put|fail  the simulated cloud, out of band (runtime/simcmd.c)
 *   plugin digest|test DIR  a plugin's allowlist digest and conformance test (runtime/plugincmd.c)
 * In trust mode (a `trust` section in the configuration: docs/trust.md)
 * verify and apply take plans only as runtime/trust.c and note [plan
 * algorithm] in runtime/planfile.c say. Exit codes: docs/executor.md. */
#include <dirent.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/boundary.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exec.h"
#include "runtime/exitcode.h"
#include "runtime/historycmd.h"
#include "runtime/httpc.h"
#include "runtime/keycmd.h"
#include "runtime/migrate.h"
#include "runtime/notify.h"
#include "runtime/outputscmd.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/approvalcmd.h"
#include "runtime/plugincmd.h"
#include "runtime/refresh.h"
#include "runtime/rotate.h"
#include "runtime/rtstate.h"
#include "runtime/serve.h"
#include "runtime/simcmd.h"
#include "runtime/statecmd.h"
#include "runtime/trust.h"

static double lock_timeout_ms; /* --lock-timeout (note [options anywhere]) */
static bool lock_timeout_given;

static void usage(FILE *out)
{
    fputs("usage: moksha-exec [-C DIR] [--env NAME] COMMAND ... [--stack NAME] [--lock-timeout DURATION]\n"
          "\n"
          "  --env NAME                       the environment's state, lock, audit log, observations and\n"
          "                                   simulated cloud (.moksha/env/NAME/; MOKSHA_ENV too); apply\n"
          "                                   takes the plan's and refuses (exit 6) a plan of another\n"
          "                                   (docs/environments.md)\n"
          "  --stack NAME                     the stack's name (its `stack` block's) for commands without a plan,\n"
          "                                   which keys its state on postgres (else MOKSHA_STACK; docs/state.md)\n"
          "  --lock-timeout DURATION          apply, refresh, state rm|mv: wait that long for a run holding the\n"
          "                                   state's lock to let go (default 0: exit 6 at once, naming it)\n"
          "  verify [--moksha-dir DIR] PLAN   check a plan file's signature and policy results, and who\n"
          "                                   signed it in trust mode (an automation signer: its\n"
          "                                   boundary); exit 0 valid, 1 not, 3 a recorded policy fails\n"
          "                                   or a policy pack the trust file requires is missing\n"
          "  apply [options] PLAN             apply a signed plan to the stack in the current directory\n"
          "      --parallelism N              worker threads (default 10)\n"
          "      --no-rollback                on failure keep what succeeded (exit 5)\n"
          "      --approve POLICY[:ADDRESS]   open an approval gate (repeatable; refused in trust mode)\n"
          "      --approval FILE              a signed approval (moksha approve): a gate, an override, a\n"
          "                                   waiver or break glass (repeatable; trust mode only)\n"
          "      --auto-approve-risk LEVEL    hold changes riskier than LEVEL (low|medium|high)\n"
          "      --timeout DURATION           per provider call (default 5m)\n"
          "      --retries N                  retries of retryable errors (default 4)\n"
          "      --progress auto|bar|lines    a live bar on a terminal, else one line per step\n"
          "  refresh [options] [PLAN]         read every object the state records through its provider, record\n"
          "                                   what was seen in .moksha/observed.json and report drift\n"
          "                                   (docs/drift.md); PLAN: a signed plan's providers and imports\n"
          "      --dry-run                    no lock, nothing recorded: only the report\n"
          "      --format text|json           the report as text or moksha.drift/v1\n"
          "      --detailed-exitcode          exit 2 when something drifted or is gone\n"
          "      --parallelism N, --timeout DURATION, --retries N   as for apply\n"
          "      --by refresh|reconcile       who asked, for the audit log\n"
          "  state list | show ADDR | rm ADDR | mv FROM TO\n"
          "  state unlock ID --reason TEXT    break the lock ID of a run that is gone, audited (lock.broken)\n"
          "  state where [--format text|json] which backend keeps this stack's state, and where (no credential)\n"
          "  state history [--format text|json]\n"
          "                                   every serial the backend keeps (time, operation, run, entries\n"
          "                                   changed and removed), its hash chain verified: exit 1 naming\n"
          "                                   the first serial that does not verify\n"
          "  state show --serial N [ADDRESS]  the state (or one entry) as serial N had it\n"
          "  state migrate --to postgres|local\n"
          "                                   copy the state, audit log and observations to the other\n"
          "                                   backend (empty, both locked), verified by SHA-256 (docs/state.md)\n"
          "  state pull [--serial N | --observed]\n"
          "                                   the state's bytes (or the last refresh's observations) exactly as\n"
          "                                   the backend holds them; nothing when there is none; --serial: on\n"
          "                                   local the current serial or the one before it\n"
          "  env list [--format text|json]    the environments of this stack that have a state\n"
          "  audit verify | show [--format text|json]\n"
          "  key rotate                       a new key; every secret in the state re-sealed with it\n"
          "                                   (trust mode: a new seal key in the key directory; else the\n"
          "                                   project key: MOKSHA_NEW_KEY, else 32 random bytes into .moksha/key)\n"
          "  key new [--dir DIR]              trust mode: make the executor's keys (seal.key, seal.pub, audit.key)\n"
          "  key show [--dir DIR] [--format text|json]\n"
          "                                   the executor's seal public key (what planners seal to) and its id\n"
          "  config check                     validate the executor's configuration and say where it is read;\n"
          "                                   in trust mode, whether its trust file is accepted\n"
          "  serve [--socket PATH]            the executor as a service: listen on service.socket (or PATH) and\n"
          "                                   apply the plans submitted there in service.stacks/STACK_ID, and\n"
          "                                   run state and audit commands there for submitters\n"
          "                                   (docs/trust.md, \"The service\"); SIGTERM stops it, rolling back\n"
          "                                   the applies that run\n"
          "  sim ls | show ADDRESS | set ADDRESS NAME=JSON... | unset ADDRESS NAME... | rm ADDRESS\n"
          "      | put ADDRESS TYPE [NAME=JSON...] [--cloud C] [--region R] | fail ADDRESS read|write|none [MESSAGE]\n"
          "                                   the simulated cloud (.moksha/sim) changed out of band, as by\n"
          "                                   hand in a console: for tests and demos (docs/providers.md); no\n"
          "                                   lock, nothing else written; put prints the new object's id\n"
          "  approval add FILE                trust mode: keep a signed approval (moksha approve) with the stack\n"
          "  approval list [--format json]    the approvals the stack keeps\n"
          "  plugin digest DIR                the digest of a plugin's folder, for plugins.NAME.digest\n"
          "  plugin test DIR [--timeout D]    the plugin's conformance test on DIR/conformance.json\n"
          "                                   (docs/plugins.md); exit 0 when every check passes\n"
          "\n"
          "The executor's configuration is MOKSHA_EXEC_CONFIG, else\n"
          "$XDG_CONFIG_HOME/moksha/exec.json, else ~/.config/moksha/exec.json\n"
          "(docs/executor.md); never a file in the stack. With a `trust` section it runs\n"
          "in trust mode (docs/trust.md): plans signed by keys its trust file lists only.\n"
          "\n"
          "SIGINT, SIGTERM and SIGHUP stop an apply: nothing new starts, what was done is\n"
          "rolled back (exit 4); a second signal stops the rollback too (exit 5).\n"
          "\n"
          "exit status: 0 success, 1 error in input or usage (refresh: an object could not\n"
          "be read), 2 refresh --detailed-exitcode: something drifted or is gone, 3 the\n"
          "plan's policies fail, "
          "or changes held (a closed gate, or above --auto-approve-risk), 4 apply failed\n"
          "and was rolled back, 5 apply failed and changes remain (rollback incomplete, or\n"
          "--no-rollback), 6 state locked or plan stale\n",
          out);
}

/* The plan at path opened the way this executor takes plans (note [plan
 * algorithm] in planfile.c): against the trust file when the configuration
 * has a trust section, else with the project key. *trust stays NULL
 * without one; who is filled in trust mode. */
static mk_planfile_status open_plan(const char *dir, const char *path, mk_trust **trust, mk_trust_who *who,
                                    mk_planfile **pf, char *why, size_t whylen)
{
    mk_config cfg;
    mk_planfile_key key;
    *trust = NULL, *pf = NULL;
    if (!mk_config_load(&cfg, why, whylen))
        return MK_PLANFILE_UNREADABLE;
    if (cfg.trust.on)
        *trust = mk_trust_open(&cfg, false, why, whylen); /* verify reads; only apply records */
    bool on = cfg.trust.on;
    mk_config_free(&cfg);
    if (on)
        return *trust ? mk_planfile_open_trusted(path, *trust, who, pf, why, whylen) : MK_PLANFILE_UNREADABLE;
    if (!mk_planfile_key_load(&key, dir, why, whylen))
        return MK_PLANFILE_UNREADABLE;
    return mk_planfile_open(path, &key, pf, why, whylen); /* the changes are not parsed */
}

static int verify(const char *dir, const char *path)
{
    char why[1024];
    mk_trust *trust;
    mk_trust_who who;
    mk_planfile *pf;
    mk_planfile_status ps = open_plan(dir, path, &trust, &who, &pf, why, sizeof why);
    if (ps != MK_PLANFILE_OK) {
        if (ps == MK_PLANFILE_UNREADABLE) /* the configuration, the key, the trust file, or the plan's bytes */
            mk_errmsg_print(why);
        else
            fprintf(stderr, "moksha-exec: error: %s: %s\n", path, why);
        mk_trust_free(trust);
        return 1;
    }
    json_t *plan = mk_planfile_plan(pf);
    if (!mk_planfile_policies_ok(plan, why, sizeof why)) { /* signed, but it would be refused */
        fprintf(stderr, "moksha-exec: error: %s: %s\n", path, why);
        mk_planfile_close(pf);
        mk_trust_free(trust);
        return 3;
    }
    json_t *t = json_object_get(plan, "totals");
    const char *env = json_string_value(json_object_get(plan, "env"));
    printf("%s: valid plan for stack %s%s%s (state serial %lld): %lld to create, %lld to update, %lld to replace, %lld to delete\n",
           path, json_string_value(json_object_get(plan, "stack")), env ? ", environment " : "", env ? env : "",
           (long long)json_integer_value(json_object_get(json_object_get(plan, "state"), "serial")),
           (long long)json_integer_value(json_object_get(t, "create")),
           (long long)json_integer_value(json_object_get(t, "update")),
           (long long)json_integer_value(json_object_get(t, "replace")),
           (long long)json_integer_value(json_object_get(t, "delete")));
    const char *sid = json_string_value(json_object_get(json_object_get(plan, "state"), "stack_id"));
    char here[33] = "";
    if (mk_planfile_stack_id(dir, here, why, sizeof why) && (!sid || strcmp(sid, here) != 0))
        printf("%s: made for %s%s, not this one (%s): apply would refuse it\n", path, sid ? "stack id " : "no stack id",
               sid ? sid : "", *here ? here : "this stack has no id yet");
    char bound[1024] = "";
    if (trust && (who.roles & MK_TRUST_AUTOMATION)) {
        json_t *b = mk_trust_boundary(trust, who.name);
        char what[900];
        mk_boundary_describe(b, what, sizeof what);
        snprintf(bound, sizeof bound, ": held to its boundary (%s%s)", what,
                 json_object_size(b) ? "" : ", the default: low-risk changes only");
    }
    if (trust)
        printf("%s: signed by %s `%s` (key %s), by the trust file %s, version %lld%s\n", path,
               mk_trust_role_name(who.roles), who.name, who.id, mk_trust_path(trust), mk_trust_version(trust), bound);
    int rc = 0;
    if (trust && !mk_boundary_packs_ok(trust, plan, why, sizeof why)) { /* apply would refuse it (exit 3) */
        fprintf(stderr, "moksha-exec: error: %s: %s\n", path, why);
        rc = 3;
    }
    mk_planfile_close(pf);
    mk_trust_free(trust);
    return rc;
}

static bool int_arg(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* One option of apply; false on a bad or unknown one (reported). */
static bool apply_opt(int argc, char **argv, int *i, mk_exec_opts *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool ok = true, takes = true;
    if (strcmp(a, "--parallelism") == 0 || strcmp(a, "-p") == 0)
        ok = int_arg(v, 1, 1024, &o->parallelism);
    else if (strcmp(a, "--retries") == 0)
        ok = int_arg(v, 0, 100, &o->retries);
    else if (strcmp(a, "--timeout") == 0)
        ok = v && mk_clock_parse_duration(v, &o->timeout_ms) && o->timeout_ms > 0;
    else if (strcmp(a, "--approval") == 0 && v) {
        o->approval_files = realloc(o->approval_files, (o->napproval_files + 1) * sizeof *o->approval_files);
        o->approval_files[o->napproval_files++] = v;
    } else if (strcmp(a, "--approve") == 0 && v) {
        o->approve = realloc(o->approve, (o->napprove + 1) * sizeof *o->approve);
        o->approve[o->napprove++] = v;
    } else if (strcmp(a, "--auto-approve-risk") == 0)
        ok = v && (!strcmp(v, "low") || !strcmp(v, "medium") || !strcmp(v, "high")) && (o->auto_approve_risk = v);
    else if (strcmp(a, "--progress") == 0)
        ok = v && (o->progress = !strcmp(v, "bar") ? 1 : !strcmp(v, "lines") ? 0 : !strcmp(v, "auto") ? -1 : -2) != -2;
    else if (strcmp(a, "--no-rollback") == 0)
        o->no_rollback = true, takes = false;
    else
        ok = false, takes = false;
    if (!ok)
        fprintf(stderr, "moksha-exec: error: bad option `%s%s%s` for apply (see moksha-exec --help)\n", a,
                takes && v ? " " : "", takes && v ? v : "");
    *i += takes;
    return ok;
}

static int apply(int argc, char **argv)
{
    mk_exec_opts o;
    mk_exec_opts_default(&o);
    o.lock_timeout_ms = lock_timeout_ms;
    const char *plan = NULL;
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!apply_opt(argc, argv, &i, &o))
                rc = MK_EXIT_INPUT;
        } else if (!plan) {
            plan = argv[i];
        } else {
            fprintf(stderr, "moksha-exec: error: apply takes one plan file\n");
            rc = MK_EXIT_INPUT;
        }
    }
    if (rc < 0 && !plan) {
        fprintf(stderr, "moksha-exec: error: apply needs a plan file (moksha plan -o FILE)\n");
        rc = MK_EXIT_INPUT;
    }
    if (rc < 0)
        rc = mk_exec_apply(plan, &o);
    free(o.approve);
    free(o.approval_files);
    return rc;
}

/* One option of refresh; false on a bad or unknown one (reported). */
static bool refresh_opt(int argc, char **argv, int *i, mk_refresh_opts *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool ok = true, takes = true;
    if (strcmp(a, "--parallelism") == 0 || strcmp(a, "-p") == 0)
        ok = int_arg(v, 1, 1024, &o->x.parallelism);
    else if (strcmp(a, "--retries") == 0)
        ok = int_arg(v, 0, 100, &o->x.retries);
    else if (strcmp(a, "--timeout") == 0)
        ok = v && mk_clock_parse_duration(v, &o->x.timeout_ms) && o->x.timeout_ms > 0;
    else if (strcmp(a, "--format") == 0)
        ok = v && (!strcmp(v, "json") || !strcmp(v, "text")) && ((o->json = !strcmp(v, "json")), true);
    else if (strcmp(a, "--by") == 0)
        ok = v && (!strcmp(v, "refresh") || !strcmp(v, "reconcile")) && (o->by = v);
    else if (strcmp(a, "--dry-run") == 0)
        o->dry_run = true, takes = false;
    else if (strcmp(a, "--detailed-exitcode") == 0)
        o->detailed = true, takes = false;
    else
        ok = false, takes = false;
    if (!ok)
        fprintf(stderr, "moksha-exec: error: bad option `%s%s%s` for refresh (see moksha-exec --help)\n", a,
                takes && v ? " " : "", takes && v ? v : "");
    *i += takes;
    return ok;
}

static int refresh(int argc, char **argv)
{
    mk_refresh_opts o;
    mk_refresh_opts_default(&o);
    o.x.lock_timeout_ms = lock_timeout_ms;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!refresh_opt(argc, argv, &i, &o))
                return MK_EXIT_INPUT;
        } else if (!o.plan) {
            o.plan = argv[i];
        } else {
            fprintf(stderr, "moksha-exec: error: refresh takes at most one plan file\n");
            return MK_EXIT_INPUT;
        }
    }
    return mk_refresh_run(&o);
}

/* One line a connection: what config check read, none of it secret (the
 * names of the variables that hold credentials are not secret). */
static void describe_conn(const mk_config_conn *cc)
{
    if (strcmp(cc->kind, "postgres") == 0) {
        printf("connection %s: %s, password from %s%s, cleartext password %s, unverified TLS %s, CREATEROLE %s, "
               "fault injection %s, %zu allowed address range%s, connect timeout %.0f ms, statement timeout %.0f ms\n",
               cc->name, cc->kind, cc->password_command ? "password_command " : "libpq's own sources",
               cc->password_command ? cc->password_command[0] : "", cc->allow_cleartext_password ? "allowed" : "refused",
               cc->allow_unverified_tls ? "allowed" : "refused", cc->allow_createrole ? "allowed" : "refused",
               cc->allow_fault_injection ? "allowed" : "refused", cc->nallow_addresses,
               cc->nallow_addresses == 1 ? "" : "s", cc->connect_timeout_ms, cc->statement_timeout_ms);
        return;
    }
    if (strcmp(cc->kind, "plugin") == 0) {
        printf("connection %s: plugin, %zu variable%s granted, settings %s\n", cc->name,
               json_array_size(json_object_get(cc->credentials, "env")),
               json_array_size(json_object_get(cc->credentials, "env")) == 1 ? "" : "s", cc->settings ? "given" : "none");
        return;
    }
    char *creds = cc->credentials ? json_dumps(cc->credentials, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    printf("connection %s: %s at %s%s%s, credentials from %s%s, unverified TLS %s, plaintext %s, fault injection %s, "
           "%zu allowed address range%s, connect timeout %.0f ms, request timeout %.0f ms\n", cc->name, cc->kind,
           cc->endpoint, strcmp(cc->kind, "s3") == 0 ? ", region " : "", strcmp(cc->kind, "s3") == 0 ? cc->region : "",
           cc->password_command ? "credential_command " : creds ? creds : "the defaults",
           cc->password_command ? cc->password_command[0] : "", cc->allow_unverified_tls ? "allowed" : "refused",
           cc->allow_plaintext ? "allowed" : "refused", cc->allow_fault_injection ? "allowed" : "refused",
           cc->nallow_addresses, cc->nallow_addresses == 1 ? "" : "s", cc->connect_timeout_ms, cc->request_timeout_ms);
    free(creds);
}

static int config_cmd(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "check") != 0) {
        fputs("usage: moksha-exec config check\n", stderr);
        return MK_EXIT_INPUT;
    }
    mk_config cfg;
    char why[1024], path[PATH_MAX];
    if (!mk_config_load(&cfg, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    if (!*cfg.path)
        printf("No configuration file at %s: every setting has its default.\n",
               mk_config_path(path, sizeof path) ? path : "(no HOME)");
    else
        printf("%s: valid (%zu allowed local root%s, special bits %s)\n", cfg.path, cfg.local.nallowed_roots,
               cfg.local.nallowed_roots == 1 ? "" : "s", cfg.local.allow_special_bits ? "allowed" : "refused");
    for (size_t i = 0; i < cfg.nconns; i++)
        describe_conn(&cfg.conns[i]);
    for (size_t i = 0; i < cfg.nplugins; i++)
        printf("plugin %s: %s, %s%s%s, timeout %.0f ms, fault injection %s\n", cfg.plugins[i].name, cfg.plugins[i].dir,
               cfg.plugins[i].digest, cfg.plugins[i].connection[0] ? ", connection " : "", cfg.plugins[i].connection,
               cfg.plugins[i].timeout_ms, cfg.plugins[i].allow_fault_injection ? "allowed" : "refused");
    mk_notify_describe(&cfg, stdout);
    int rc = 0;
    if (cfg.trust.on) { /* the trust file as apply would take it, recording nothing */
        mk_trust *t = mk_trust_open(&cfg, false, why, sizeof why);
        char line[512];
        if (t) {
            mk_trust_describe(t, line, sizeof line);
            printf("trust mode: %s: accepted (%s)\n", mk_trust_path(t), line);
        } else {
            mk_errmsg_print(why);
            rc = MK_EXIT_INPUT;
        }
        mk_trust_free(t);
    }
    mk_config_free(&cfg);
    return rc;
}

/* note [options anywhere]: --stack NAME and --lock-timeout DURATION stand
 * anywhere after the command; they are taken out of argv before it runs. */
static bool take_globals(int *argc, char **argv)
{
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        bool stack = !strcmp(argv[i], "--stack"), wait = !strcmp(argv[i], "--lock-timeout");
        if ((stack || wait) && i + 1 >= *argc)
            return fprintf(stderr, "moksha-exec: error: %s takes a value\n", argv[i]), false;
        if (wait && !(mk_clock_parse_duration(argv[i + 1], &lock_timeout_ms) && lock_timeout_ms >= 0))
            return fprintf(stderr, "moksha-exec: error: bad --lock-timeout `%s` (a duration: 30s, 5m)\n", argv[i + 1]), false;
        if (stack)
            mk_backend_select_stack(argv[i + 1]);
        lock_timeout_given |= wait;
        if (stack || wait)
            i++;
        else
            argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    return true;
}

/* `state unlock ID --reason TEXT` (the reason required: statecmd.c says so). */
static int unlock_cmd(int argc, char **argv)
{
    const char *reason = NULL;
    if (argc == 5 && !strcmp(argv[3], "--reason"))
        reason = argv[4];
    else if (argc != 3) {
        fputs("usage: moksha-exec state unlock LOCK_ID --reason TEXT\n", stderr);
        return MK_EXIT_INPUT;
    }
    return mk_statecmd_unlock(argv[2], reason, NULL);
}

static int state_cmd(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    double wait = lock_timeout_ms;
    if (lock_timeout_given && strcmp(sub, "rm") && strcmp(sub, "mv")) {
        fputs("moksha-exec: error: --lock-timeout is for apply, refresh, state rm and state mv\n", stderr);
        return MK_EXIT_INPUT;
    }
    if (strcmp(sub, "where") == 0)
        return mk_statecmd_where(argc - 1, argv + 1);
    if (strcmp(sub, "pull") == 0)
        return mk_statecmd_pull(argc - 1, argv + 1);
    if (strcmp(sub, "unlock") == 0)
        return unlock_cmd(argc, argv);
    if (strcmp(sub, "history") == 0)
        return mk_historycmd_history(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0 && mk_historycmd_wants_show(argc - 1, argv + 1))
        return mk_historycmd_show(argc - 1, argv + 1);
    if (strcmp(sub, "migrate") == 0)
        return mk_migrate_run(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0 && argc == 2)
        return mk_statecmd_list();
    if (strcmp(sub, "show") == 0 && argc == 3)
        return mk_statecmd_show(argv[2]);
    if (strcmp(sub, "rm") == 0 && argc == 3)
        return mk_statecmd_rm(argv[2], wait, NULL);
    if (strcmp(sub, "mv") == 0 && argc == 4)
        return mk_statecmd_mv(argv[2], argv[3], wait, NULL);
    if (strcmp(sub, "outputs") == 0)
        return mk_outputscmd_run(argc - 1, argv + 1);
    fputs("usage: moksha state list | show ADDRESS | rm ADDRESS | mv FROM TO | unlock LOCK_ID --reason TEXT | where | pull"
          " | outputs --stack NAME\n"
          "       | history | show --serial N [ADDRESS] | migrate --to postgres|local\n", stderr);
    return MK_EXIT_INPUT;
}

static int audit_cmd(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "verify") == 0 && argc == 2)
        return mk_statecmd_audit_verify();
    if (strcmp(sub, "show") == 0 && argc == 2)
        return mk_statecmd_audit_show(false);
    if (strcmp(sub, "show") == 0 && argc == 4 && strcmp(argv[2], "--format") == 0 &&
        (strcmp(argv[3], "json") == 0 || strcmp(argv[3], "text") == 0))
        return mk_statecmd_audit_show(strcmp(argv[3], "json") == 0);
    fputs("usage: moksha audit verify | show [--format text|json]\n", stderr);
    return MK_EXIT_INPUT;
}

/* note [rotation and environments]: the project key is the stack's, shared
 * by its environments, but `key rotate` re-seals one state and re-keys one
 * audit head, the selected environment's. With another environment's state
 * beside it, that state's secrets and audit head would be left under a key
 * that is gone; so the project key's rotation is refused then, naming
 * them. (Trust mode's seal key is the executor's, kept apart.) */
static bool rotate_alone(void)
{
    mk_config cfg;
    char why[1024], others[512] = "", path[PATH_MAX];
    if (!mk_config_load(&cfg, why, sizeof why))
        return true; /* (rotate says why) */
    bool trust = cfg.trust.on;
    mk_config_free(&cfg);
    DIR *d = opendir(MK_PATH_DIR "/env");
    size_t n = 0;
    if (strcmp(MK_PATH_STATE, MK_PATH_DIR "/state.json") != 0 && access(MK_PATH_DIR "/state.json", F_OK) == 0)
        n++, snprintf(others, sizeof others, "the stack's own (%s/state.json)", MK_PATH_DIR);
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/env/%s/state.json", MK_PATH_DIR, e->d_name);
        if (e->d_name[0] != '.' && strcmp(path, MK_PATH_STATE) != 0 && access(path, F_OK) == 0 && ++n)
            snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s", *others ? ", " : "", e->d_name);
    }
    if (d)
        closedir(d);
    if (trust || n == 0)
        return true;
    fprintf(stderr, "moksha-exec: error: key rotate re-seals one environment's state, and the project key is shared by "
                    "this stack's environments: %s hold%s a state too, which would be left sealed with a key that is gone; "
                    "nothing was rotated\n", others, n == 1 ? "s" : "");
    return false;
}

/* note [no downgrade at start]: in trust mode MOKSHA_KEY is refused
 * before any command runs, not only where plans are read. A configuration
 * that does not load is left to the commands that read it (apply, verify,
 * config check say why); the others run as without one. */
static bool start_ok(void)
{
    mk_config cfg;
    char why[1024];
    if (!mk_config_load(&cfg, why, sizeof why))
        return true;
    bool ok = mk_trust_env_ok(&cfg, why, sizeof why);
    if (!ok)
        mk_errmsg_print(why);
    mk_config_free(&cfg);
    return ok;
}

/* --env NAME (or --env=NAME) anywhere on the line, else MOKSHA_ENV: the
 * environment whose files every command reads and writes (runtime/paths.h),
 * selected before any is opened; taken out of argv. The service selects
 * per request instead (serve.c). False, said, for a bad name. */
static bool select_env(int *argc, char **argv)
{
    const char *name = getenv("MOKSHA_ENV");
    bool given = false;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--env") == 0 && i + 1 == *argc) {
            fputs("moksha-exec: error: --env needs an environment's name (docs/environments.md)\n", stderr);
            return false;
        }
        if (strncmp(argv[i], "--env=", 6) == 0 || strcmp(argv[i], "--env") == 0) {
            name = argv[i][5] == '=' ? argv[i] + 6 : argv[++i];
            given = true;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    char why[256];
    if (given && *argc >= 2 && strcmp(argv[1], "serve") == 0) {
        fputs("moksha-exec: error: serve takes no --env: each request names its environment\n", stderr);
        return false;
    }
    if (*argc >= 2 && strcmp(argv[1], "serve") == 0)
        return true;
    if (!mk_paths_select(name, why, sizeof why) || !mk_paths_own_dirs(mk_paths_now.env, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s%s\n", given ? "--env: " : "MOKSHA_ENV: ", why);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    /* Before any secret is read: not dumpable, so another process of the
     * same user (a plugin among them) can neither read /proc/PID/environ,
     * fd/ or mem of this one nor ptrace it, and no core holds a secret. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (!mk_httpc_init()) { /* before any thread: libcurl's global set-up is not thread-safe */
        fprintf(stderr, "moksha-exec: error: libcurl could not be set up\n");
        return 1;
    }
    xmlInitParser(); /* libxml2's too (S3's and Azure's answers are parsed on worker threads) */
    if (argc >= 3 && strcmp(argv[1], "-C") == 0) {
        if (chdir(argv[2]) != 0) {
            perror(argv[2]);
            return 1;
        }
        argc -= 2, argv += 2;
    }
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("moksha-exec %s\n", MK_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) /* `moksha-exec COMMAND --help`: the usage covers every command */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    if (!select_env(&argc, argv) || (argc >= 2 && !start_ok()))
        return MK_EXIT_INPUT;
    if (!take_globals(&argc, argv))
        return MK_EXIT_INPUT;
    if (lock_timeout_given && argc >= 2 && strcmp(argv[1], "apply") && strcmp(argv[1], "refresh") && strcmp(argv[1], "state"))
        return fputs("moksha-exec: error: --lock-timeout is for apply, refresh, state rm and state mv\n", stderr), MK_EXIT_INPUT;
    if (argc == 3 && strcmp(argv[1], "verify") == 0)
        return verify(MK_PATH_DIR, argv[2]);
    if (argc == 5 && strcmp(argv[1], "verify") == 0 && strcmp(argv[2], "--moksha-dir") == 0)
        return verify(argv[3], argv[4]);
    if (argc >= 2 && strcmp(argv[1], "apply") == 0)
        return apply(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "refresh") == 0)
        return refresh(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "state") == 0)
        return state_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "audit") == 0)
        return audit_cmd(argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[1], "key") == 0 && strcmp(argv[2], "rotate") == 0)
        return rotate_alone() ? mk_rotate_key() : MK_EXIT_INPUT;
    if (argc >= 3 && strcmp(argv[1], "key") == 0 && strcmp(argv[2], "new") == 0)
        return mk_keycmd_new(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "key") == 0 && strcmp(argv[2], "show") == 0)
        return mk_keycmd_show(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "key") == 0) {
        fputs("usage: moksha-exec key new [--dir DIR] | show [--dir DIR] [--format text|json] | rotate\n", stderr);
        return MK_EXIT_INPUT;
    }
    if (argc >= 2 && strcmp(argv[1], "config") == 0)
        return config_cmd(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "env") == 0 && argc >= 3 && strcmp(argv[2], "list") == 0)
        return mk_statecmd_envs(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "approval") == 0)
        return mk_approvalcmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "plugin") == 0)
        return mk_plugincmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sim") == 0)
        return mk_simcmd_run(argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return mk_serve_run(NULL);
    if (argc == 4 && strcmp(argv[1], "serve") == 0 && strcmp(argv[2], "--socket") == 0)
        return mk_serve_run(argv[3]);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
        fputs("usage: moksha-exec serve [--socket PATH]\n", stderr);
        return MK_EXIT_INPUT;
    }
    usage(stderr);
    return 1;
}
