/* statecmd — the state commands of moksha-exec: `state list` and `state
 * show` read the state; `state rm` forgets a resource under the lock (the
 * object itself is not touched); `state unlock` removes a dead run's lock
 * (note [damaged lock] in lock.c for a lock that is not even JSON). Each
 * prints what it did and returns an exit code of runtime/exitcode.h.
 * `state mv` moves an object and re-keys its entry (note [state mv]).
 * `audit verify` is here too: it checks the log against the state's record
 * of its last entry. The same functions answer `moksha-exec serve`'s ops
 * of those names, in the stack's directory (serve.c). Applying a plan is
 * exec.c's. */
#include "runtime/statecmd.h"

#include <ctype.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exec.h"
#include "runtime/exitcode.h"
#include "runtime/keyring.h"
#include "runtime/lock.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/provcall.h"
#include "runtime/providers/provider.h"
#include "runtime/rtstate.h"
#include "runtime/session.h"
#include "runtime/signals.h"

/* The state as the backend has it now, read without the lock (a reader
 * never sees half a write: runtime/backend.h), or NULL said on stderr. */
static mk_rtstate *load_state_or_say(void)
{
    char why[1024];
    mk_session s = {0};
    mk_rtstate *st = mk_session_attach(&s, why, sizeof why) ? mk_backend_load(s.be, why, sizeof why) : NULL;
    if (!st)
        mk_errmsg_print(why);
    mk_session_free(&s);
    return st;
}

int mk_statecmd_list(void)
{
    mk_rtstate *st = load_state_or_say();
    if (!st)
        return MK_EXIT_INPUT;
    const char *k;
    json_t *e;
    json_object_foreach(st->by_addr, k, e) {
        json_t *pl = json_object_get(e, "placement");
        const char *id = json_string_value(json_object_get(json_object_get(e, "attributes"), "id"));
        printf("%-40s %-8s", k, json_string_value(json_object_get(e, "provider")) ?: "-");
        if (json_is_object(pl))
            printf(" %s/%s", json_string_value(json_object_get(pl, "cloud")) ?: "?",
                   json_string_value(json_object_get(pl, "region")) ?: "?");
        printf("%s%s\n", id ? "  " : "", id ?: "");
    }
    mk_rtstate_free(st);
    return 0;
}

int mk_statecmd_show(const char *address)
{
    mk_rtstate *st = load_state_or_say();
    if (!st)
        return MK_EXIT_INPUT;
    json_t *e = mk_rtstate_get(st, address);
    int rc = 0;
    if (!e) {
        fprintf(stderr, "moksha-exec: error: the state has no resource `%s` (see `moksha state list`)\n", address);
        rc = MK_EXIT_INPUT;
    } else {
        json_dumpf(e, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    }
    mk_rtstate_free(st);
    return rc;
}

/* Who asked, through `moksha-exec serve` (by may be NULL: the command
 * line), added to an audit entry's fields. Takes and returns e. */
static json_t *by_submitter(json_t *e, const mk_exec_submitter *by)
{
    if (e && by && by->on)
        json_object_set_new(e, "submitter", json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)by->uid, "gid",
                                                      (json_int_t)by->gid, "pid", (json_int_t)by->pid));
    return e;
}

int mk_statecmd_rm(const char *address, double wait_ms, const mk_exec_submitter *by)
{
    mk_session s = {.lock_wait_ms = wait_ms};
    char id[37];
    sigset_t old;
    mk_signals_hold(&old); /* note [signal hold] in runtime/signals.h */
    int rc = mk_session_open(&s, "state rm", id);
    if (rc) {
        mk_session_free(&s); /* the backend and configuration it opened before it was refused */
        mk_signals_restore(&old);
        return rc;
    }
    if (!mk_rtstate_remove(s.st, address)) {
        fprintf(stderr, "moksha-exec: error: the state has no resource `%s`\n", address);
        rc = MK_EXIT_INPUT;
    } else {
        s.dirty = true;
        mk_session_add(&s, by_submitter(json_pack("{s:s, s:s}", "event", "state.rm", "address", address), by));
        if (mk_session_flush(&s))
            printf("Removed %s from the state (serial %lld); the object itself was not touched.\n", address,
                   mk_rtstate_serial(s.st));
        else
            rc = MK_EXIT_INPUT;
    }
    mk_session_close(&s, id, rc);
    mk_session_free(&s);
    fflush(stdout);
    mk_signals_restore(&old);
    return rc;
}

/* The entry's `name` at its new address: what follows its type there,
 * without an index (compute.web[1] → web), else the name it had. */
static void rename_entry(json_t *e, const char *to)
{
    const char *type = json_string_value(json_object_get(e, "type")) ?: "", *at = to, *hit = NULL;
    size_t tn = strlen(type);
    while (tn && (at = strstr(at, type)) != NULL) {
        if ((at == to || at[-1] == '.') && at[tn] == '.')
            hit = at + tn + 1;
        at++;
    }
    json_object_set_new(e, "address", json_string(to));
    if (hit)
        json_object_set_new(e, "name", json_stringn(hit, strcspn(hit, "[")));
}

/* An identifier as the lexer reads one; the end of it, or NULL. */
static const char *skip_ident(const char *p)
{
    if (!isalpha((unsigned char)*p) && *p != '_')
        return NULL;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    return p;
}

/* An optional index as the compiler writes one — [0], [12], ["key"] with
 * its escapes — and the end of it, or NULL when it is malformed. */
static const char *skip_index(const char *p)
{
    if (*p != '[')
        return p;
    p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if ((unsigned char)*p < 0x20 || (*p == '\\' && !*++p))
                return NULL;
        if (*p++ != '"')
            return NULL;
    } else
        return NULL;
    return *p == ']' ? p + 1 : NULL;
}

/* note [state mv]: TO must be an address the compiler could write for a
 * resource of the entry's type — (module.NAME[INDEX].)… TYPE.NAME[INDEX] —
 * or the entry would sit where no spec can name it. */
static bool address_of_type(const char *to, const char *type)
{
    const char *p = to, *q;
    size_t tn = strlen(type);
    while (strncmp(p, "module.", 7) == 0 && strncmp(p, type, tn) != 0) {
        q = skip_ident(p + 7);
        q = q ? skip_index(q) : NULL;
        if (!q || *q != '.')
            return false;
        p = q + 1;
    }
    if (!tn || strncmp(p, type, tn) != 0 || p[tn] != '.')
        return false;
    q = skip_ident(p + tn + 1);
    q = q ? skip_index(q) : NULL;
    return q && !*q;
}

/* note [state mv] (docs/drift.md "Moved"): the object moves through the
 * provider that made it (the state's record of the providers), then its
 * entry is re-keyed; what a `moved` block does, at once and without a
 * plan. 0 or an exit code, said on stderr. */
static int state_mv(mk_session *s, const mk_config *cfg, const char *from, const char *to, const char *run_id)
{
    char why[1024];
    json_t *e = mk_rtstate_get(s->st, from), *out = NULL;
    if (!e || mk_rtstate_get(s->st, to)) {
        fprintf(stderr, e ? "moksha-exec: error: the state has `%s` already: move to an address it does not have\n"
                          : "moksha-exec: error: the state has no resource `%s` (see `moksha state list`)\n", e ? to : from);
        return MK_EXIT_INPUT;
    }
    const char *type = json_string_value(json_object_get(e, "type")) ?: "";
    if (!address_of_type(to, type)) {
        fprintf(stderr, "moksha-exec: error: `%s` is not an address of a %s resource (%s.NAME, %s.NAME[0], "
                        "module.M.%s.NAME): nothing was moved\n", to, type, type, type, type);
        return MK_EXIT_INPUT;
    }
    const char *alias = json_string_value(json_object_get(e, "provider")) ?: "";
    mk_prov *p = mk_provcall_provider(json_object_get(mk_rtstate_providers(s->st), alias), alias, cfg, why, sizeof why);
    if (p && !p->move)
        snprintf(why, sizeof why, "the %s provider cannot move objects", p->kind);
    json_t *pl = json_object_get(e, "placement");
    mk_prov_op op = {.address = to, .type = json_string_value(json_object_get(e, "type")) ?: "?", .keys = &s->ring,
                     .attrs = json_object_get(e, "attributes"), .moved_from = from, .run_id = run_id,
                     .cloud = json_string_value(json_object_get(pl, "cloud")), .region = json_string_value(json_object_get(pl, "region")),
                     .stack_id = json_string_value(json_object_get(s->st->doc, "stack_id"))};
    mk_exec_opts o;
    mk_exec_opts_default(&o); /* an apply's timeout and retries */
    bool ok = p && p->move && mk_provcall_retry(p, p->move, &op, &o, NULL, &out, why, sizeof why, NULL);
    json_decref(out);
    if (p)
        p->free(p);
    if (!ok) {
        fprintf(stderr, "moksha-exec: error: cannot move %s to %s: %s\n", from, to, why);
        return MK_EXIT_INPUT;
    }
    json_t *moved = json_deep_copy(e);
    rename_entry(moved, to);
    json_object_set_new(moved, "run", json_string(run_id)); /* note [entry digest] in runtime/refresh.c */
    mk_rtstate_remove(s->st, from);
    mk_rtstate_put(s->st, moved);
    s->dirty = true;
    return 0;
}

int mk_statecmd_mv(const char *from, const char *to, double wait_ms, const mk_exec_submitter *by)
{
    mk_config cfg;
    mk_session s = {.lock_wait_ms = wait_ms};
    char why[1024], id[37];
    if (!mk_config_load(&cfg, why, sizeof why)) {
        mk_errmsg_print(why);
        return MK_EXIT_INPUT;
    }
    if (cfg.trust.on) {
        fprintf(stderr, "moksha-exec: error: in trust mode `state mv` is refused: it would move an object without a "
                        "signed plan; say `moved { from = %s, to = %s }` in the stack and apply the plan\n", from, to);
        mk_config_free(&cfg);
        return MK_EXIT_INPUT;
    }
    sigset_t old;
    mk_signals_hold(&old); /* note [signal hold]: moved, recorded and audited together */
    s.cfg = &cfg;
    int rc = mk_session_open(&s, "state mv", id);
    bool opened = rc == 0;
    if (opened && !(rc = state_mv(&s, &cfg, from, to, id))) {
        mk_session_add(&s, by_submitter(json_pack("{s:s, s:s, s:s}", "event", "state.mv", "from", from, "to", to), by));
        if (mk_session_flush(&s))
            printf("Moved %s to %s (state serial %lld); the object kept its id and everything else.\n", from, to,
                   mk_rtstate_serial(s.st));
        else
            rc = MK_EXIT_INPUT;
    }
    if (opened)
        mk_session_close(&s, id, rc);
    mk_session_free(&s);
    mk_config_free(&cfg);
    fflush(stdout);
    mk_signals_restore(&old);
    return rc;
}

/* The state and the audit log, for an entry by a command that does not
 * write the state (which then keeps naming an earlier entry, as it may):
 * lines made with mk_session_add go out with mk_session_flush. */
static bool open_audit_readonly_state(mk_session *s, char *why, size_t whylen)
{
    mk_audit_mark m;
    if (!(s->st = mk_backend_load(s->be, why, whylen)) || !mk_keyring_open(&s->ring, s->cfg, NULL, MK_PATH_DIR, why, whylen))
        return false;
    mk_rtstate_audit_record(s->st, &m);
    if (!(s->audit = mk_backend_audit_open(s->be, &s->ring, &m, why, whylen)))
        return false;
    json_t *adopted = mk_session_adopted(s->audit);
    if (adopted)
        mk_session_add(s, adopted);
    return true;
}

static int state_unlock(mk_session *s, const char *id, const char *reason, const mk_exec_submitter *by)
{
    char why[1024], awhy[1024] = "";
    json_t *info;
    if (!reason || !*reason) { /* docs/state.md, "Locks": a lock is broken only with a reason, audited */
        fprintf(stderr, "moksha-exec: error: a lock is broken only with a reason: `moksha state unlock %s --reason "
                        "TEXT` (why the run that holds it is gone, for the audit log); nothing was unlocked\n", id);
        return MK_EXIT_INPUT;
    }
    if (!mk_session_attach(s, why, sizeof why)) {
        mk_errmsg_print(why);
        return MK_EXIT_INPUT;
    }
    int held = mk_backend_lock_force(s->be, id, true, &info, why, sizeof why);
    if (held != 0) {
        mk_errmsg_print(why);
        return held == 2 ? MK_EXIT_LOCKED : MK_EXIT_INPUT;
    }
    /* audited while the lock still stands, so no run can be appending beside us */
    bool audited = open_audit_readonly_state(s, awhy, sizeof awhy);
    if (audited) {
        json_t *e = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:s, s:s}", "event", "lock.broken", "lock_id",
                              id, "holder", json_object_get(info, "holder"), "operation", json_object_get(info, "operation"),
                              "user", json_object_get(info, "user"), "host", json_object_get(info, "host"), "pid",
                              json_object_get(info, "pid"), "damage", json_object_get(info, "damage"), "reason", reason,
                              "by", "state unlock");
        mk_session_add(s, by_submitter(e, by));
        audited = mk_session_flush(s);
        if (!audited)
            snprintf(awhy, sizeof awhy, "it could not be written");
    }
    json_decref(info);
    if (mk_backend_lock_force(s->be, id, false, &info, why, sizeof why) != 0) {
        mk_errmsg_print(why);
        return MK_EXIT_INPUT;
    }
    if (!audited)
        fprintf(stderr, "moksha-exec: warning: the unlock is not in the audit log: %s\n", awhy);
    if (json_object_get(info, "damage"))
        printf("Unlocked the state (removed the damaged lock file %s: %s).\n", MK_PATH_LOCKFILE,
               json_string_value(json_object_get(info, "damage")));
    else
        printf("Unlocked the state (lock %s held by %s for %s).\n", id,
               json_string_value(json_object_get(info, "holder")) ?: "?",
               json_string_value(json_object_get(info, "operation")) ?: "?");
    json_decref(info);
    return 0;
}

int mk_statecmd_unlock(const char *id, const char *reason, const mk_exec_submitter *by)
{
    sigset_t old;
    mk_signals_hold(&old); /* note [signal hold]: audited and removed together */
    mk_session s = {0};
    int rc = state_unlock(&s, id, reason, by);
    mk_session_free(&s);
    fflush(stdout);
    mk_signals_restore(&old);
    return rc;
}

/* A log its backend keeps (postgres), as text: "postgres web/prod", its
 * lines and head (NULL with why on error; an empty log is NULL, "" why). */
static char *kept_log(mk_session *s, char name[300], size_t *n, char **head, char *why, size_t whylen)
{
    const mk_backend_info *in = mk_backend_info_of(s->be);
    snprintf(name, 300, "%s %s%s%s", in->kind, in->stack, in->env[0] ? "/" : "", in->env);
    *why = 0;
    return mk_backend_audit_text(s->be, n, head, why, whylen);
}

/* audit verify of a log a backend keeps (audit.h note [audit store]). */
static int verify_kept(mk_session *s, const mk_keyring *ring)
{
    char why[1024], name[300], *head = NULL;
    size_t n = 0;
    mk_rtstate *st = mk_backend_load(s->be, why, sizeof why);
    char *text = st ? kept_log(s, name, &n, &head, why, sizeof why) : NULL;
    int rc = 1;
    if (!st || (!text && *why)) {
        mk_errmsg_print(why);
    } else {
        mk_audit_mark m;
        mk_rtstate_audit_record(st, &m);
        rc = mk_audit_verify_text(name, text, n, head, ring, &m, stdout);
    }
    mk_rtstate_free(st);
    free(text);
    free(head);
    return rc;
}

/* 1 when the log is kept by a backend other than the local files, 0 when
 * it is the local file, -1 (said) when the backend could not be opened:
 * then nothing is read in its place, since an empty local file would pass
 * for the configured backend's log. */
static int kept_elsewhere(mk_session *s)
{
    char why[1024];
    if (!mk_session_attach(s, why, sizeof why))
        return mk_errmsg_print(why), -1;
    return strcmp(mk_backend_info_of(s->be)->kind, "local") != 0;
}

int mk_statecmd_audit_show(bool json)
{
    mk_session s = {0};
    int where = kept_elsewhere(&s);
    if (where <= 0) {
        mk_session_free(&s);
        return where < 0 ? 1 : mk_audit_show(MK_PATH_AUDIT, json, stdout);
    }
    char why[1024], name[300], *head = NULL;
    size_t n = 0;
    char *text = kept_log(&s, name, &n, &head, why, sizeof why);
    int rc = !text && *why ? (mk_errmsg_print(why), 1) : mk_audit_show_text(text, n, json, stdout);
    free(text);
    free(head);
    mk_session_free(&s);
    return rc;
}

/* The chain, the keyed head and the state's record of the last entry. */
int mk_statecmd_audit_verify(void)
{
    mk_keyring ring;
    char why[1024];
    bool keyed = mk_keyring_open(&ring, NULL, NULL, MK_PATH_DIR, why, sizeof why);
    mk_session kept = {0};
    int where = kept_elsewhere(&kept);
    if (where != 0) {
        int rc = where < 0 ? 1 : verify_kept(&kept, keyed ? &ring : NULL);
        if (keyed)
            mk_keyring_free(&ring);
        mk_session_free(&kept);
        return rc;
    }
    mk_session_free(&kept);
    struct stat sb;
    /* no key: the chain is still checked; a key or stack id that is there
     * but not a file is an error, not "no key" */
    bool odd = !keyed && ((lstat(MK_PATH_DIR "/key", &sb) == 0 && !S_ISREG(sb.st_mode)) ||
                          (lstat(MK_PATH_DIR "/stack-id", &sb) == 0 && !S_ISREG(sb.st_mode)));
    mk_rtstate *st = odd ? NULL : mk_rtstate_load(MK_PATH_STATE, why, sizeof why);
    int rc = 1;
    if (!st) {
        mk_errmsg_print(why);
    } else {
        mk_audit_mark m;
        mk_rtstate_audit_record(st, &m);
        mk_rtstate_free(st);
        rc = mk_audit_verify(MK_PATH_AUDIT, keyed ? &ring : NULL, &m, stdout);
    }
    if (keyed)
        mk_keyring_free(&ring);
    return rc;
}

/* ---- where the state is, and its bytes (docs/state.md) ---- */

/* `--format json|text` as the one option of a command (argv[i]); false when argv[i] is something else. */
static bool format_opt(int argc, char **argv, int *i, bool *json)
{
    if (strcmp(argv[*i], "--format") != 0 || *i + 1 >= argc ||
        (strcmp(argv[*i + 1], "json") != 0 && strcmp(argv[*i + 1], "text") != 0))
        return false;
    *json = strcmp(argv[++*i], "json") == 0;
    return true;
}

/* The backend the configuration gives this stack and environment, for a
 * reader: NULL said on stderr. s holds the configuration. */
static mk_backend *reader(mk_session *s)
{
    char why[1024];
    if (mk_session_attach(s, why, sizeof why))
        return s->be;
    mk_errmsg_print(why);
    return NULL;
}

int mk_statecmd_where(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (!format_opt(argc, argv, &i, &json)) {
            fputs("usage: moksha-exec state where [--stack NAME] [--format text|json]\n", stderr);
            return MK_EXIT_INPUT;
        }
    mk_session s = {0};
    mk_backend *b = reader(&s);
    if (!b)
        return MK_EXIT_INPUT;
    const mk_backend_info *in = mk_backend_info_of(b);
    if (json) {
        json_t *w = json_pack("{s:s, s:s?, s:s?, s:s}", "kind", in->kind, "stack", *in->stack ? in->stack : NULL, "env",
                              *in->env ? in->env : NULL, "location", in->location);
        char *t = json_dumps(w, JSON_COMPACT);
        printf("%s\n", t);
        free(t);
        json_decref(w);
    } else {
        printf("%s: %s", in->kind, in->location);
        if (*in->stack)
            printf(", stack %s", in->stack);
        printf(*in->env ? ", environment %s\n" : "%s\n", in->env);
    }
    mk_session_free(&s);
    return 0;
}

/* The bytes, as they are, on stdout. */
static bool put_bytes(const char *t, size_t n)
{
    return fwrite(t, 1, n, stdout) == n && fflush(stdout) == 0;
}

/* `state pull [--serial N] [--observed]`: the state's text (or the last
 * refresh's observations) exactly as the backend holds it; nothing on
 * stdout when there is none. What the compiler plans from when the state
 * is not in local files (docs/state.md). */
int mk_statecmd_pull(int argc, char **argv)
{
    long long serial = -1;
    bool observed = false, bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--observed"))
            observed = true;
        else if (!strcmp(argv[i], "--serial") && i + 1 < argc)
            serial = strtoll(argv[++i], &end, 10), bad = !*argv[i] || *end || serial < 0;
        else
            bad = true;
    }
    if (bad || (observed && serial >= 0)) {
        fputs("usage: moksha-exec state pull [--stack NAME] [--serial N | --observed]\n", stderr);
        return MK_EXIT_INPUT;
    }
    mk_session s = {0};
    mk_backend *b = reader(&s);
    char why[1024] = "";
    size_t n = 0;
    bool absent = false;
    char *t = !b ? NULL : observed ? mk_backend_observed_text(b, &n, &absent, why, sizeof why)
                                   : mk_backend_state_text(b, serial, &n, &absent, why, sizeof why);
    int rc = !b ? MK_EXIT_INPUT : 0;
    if (b && !t && (!absent || (serial >= 0 && *why)))
        mk_errmsg_print(why), rc = MK_EXIT_INPUT;
    if (t && !put_bytes(t, n))
        fprintf(stderr, "moksha-exec: error: cannot write to stdout: %s\n", strerror(errno)), rc = MK_EXIT_INPUT;
    free(t);
    mk_session_free(&s);
    return rc;
}

/* ---- environments ---- */

int mk_statecmd_envs(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (!format_opt(argc, argv, &i, &json)) {
            fputs("usage: moksha-exec env list [--stack NAME] [--format text|json]\n", stderr);
            return MK_EXIT_INPUT;
        }
    mk_session s = {0};
    mk_backend *b = reader(&s);
    char why[1024];
    json_t *envs = b ? mk_backend_envs(b, why, sizeof why) : NULL;
    if (b && !envs)
        mk_errmsg_print(why);
    size_t i;
    json_t *e;
    if (envs && json) {
        char *t = json_dumps(envs, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t);
        free(t);
    }
    json_array_foreach(json ? NULL : envs, i, e)
        printf("%-20s serial %-6lld %6lld resource%s  %s%s\n", *json_string_value(json_object_get(e, "env")) ?
               json_string_value(json_object_get(e, "env")) : "(none)",
               (long long)json_integer_value(json_object_get(e, "serial")),
               (long long)json_integer_value(json_object_get(e, "resources")),
               json_integer_value(json_object_get(e, "resources")) == 1 ? " " : "s",
               json_string_value(json_object_get(e, "time")) ?: "", json_object_get(e, "damaged") ? "  (damaged)" : "");
    if (envs && !json && !json_array_size(envs))
        printf("No environment of this stack has a state yet.\n");
    int rc = envs ? 0 : MK_EXIT_INPUT;
    json_decref(envs);
    mk_session_free(&s);
    return rc;
}
