/* session — a command's time under the state lock: open the state's
 * backend (runtime/backend.h), take the lock, load the state and the key, open the audit log, and record who holds the lock and
 * for whom; audit lines are made into a buffer and persisted together with
 * the state (lines, state, head: note [audit head] in audit.c); the last
 * entry carries the exit code, then the lock goes. The apply (exec.c) and
 * `state rm` (statecmd.c) run in one; key rotation takes the lock itself
 * (its audit head changes key on the way: rotate.c). */
#include "runtime/session.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/errmsg.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/lock.h"
#include "runtime/paths.h"

void mk_session_add_text(mk_session *s, const char *fields)
{
    char *line = fields ? mk_audit_entry_text(s->audit, fields) : NULL;
    if (!line)
        return;
    size_t n = strlen(line);
    if (s->nlines + n + 1 > s->caplines) {
        size_t cap = (s->caplines + n + 1) * 2;
        char *t = realloc(s->lines, cap);
        if (!t) {
            free(line);
            return;
        }
        s->lines = t;
        s->caplines = cap;
    }
    memcpy(s->lines + s->nlines, line, n + 1);
    s->nlines += n;
    free(line);
}

void mk_session_add(mk_session *s, json_t *fields)
{
    if (!fields) /* json_pack refused a field: never drop an entry silently */
        fprintf(stderr, "moksha-exec: error: an audit entry could not be made (out of memory, or a field missing)\n");
    char *t = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    mk_session_add_text(s, t);
    free(t);
}

/* The audit lines, then the state (when it changed), then the head naming
 * both, each durable: the state names the last of those lines and the head
 * the state's serial (note [audit head]). */
bool mk_session_persist(mk_session *s, json_t *snapshot, long long serial, char *lines, size_t nlines)
{
    char why[1024];
    mk_backend_write w = {.lines = lines, .nlines = nlines, .snapshot = snapshot, .serial = serial,
                          .expect = serial - 1, .operation = s->op, .run = s->run};
    bool ok = mk_backend_persist(s->be, s->audit, &w, why, sizeof why);
    if (!ok)
        mk_errmsg_print(why);
    json_decref(w.snapshot); /* (the backend took it: NULL) */
    free(lines);
    return ok;
}

/* The state is about to be written: it names the last audit entry made,
 * which is in the lines written just before it. */
void mk_session_mark_state(mk_session *s)
{
    mk_audit_mark m;
    mk_audit_last(s->audit, &m);
    mk_rtstate_set_audit_mark(s->st, m.seq, m.hash);
}

char *mk_session_take_lines(mk_session *s, size_t *n)
{
    char *lines = s->lines;
    *n = s->nlines;
    s->lines = NULL;
    s->nlines = s->caplines = 0;
    return lines;
}

bool mk_session_flush(mk_session *s)
{
    if (s->dirty)
        mk_session_mark_state(s);
    json_t *snap = s->dirty ? mk_rtstate_snapshot(s->st) : NULL;
    size_t n;
    char *lines = mk_session_take_lines(s, &n);
    s->dirty = false;
    return mk_session_persist(s, snap, mk_rtstate_serial(s->st), lines, n);
}

/* note [audit head]: whole entries after the head were never vouched for
 * by it, and the next head covers them: the log says so, in an entry of
 * its own (NULL when there are none). */
json_t *mk_session_adopted(mk_audit *a)
{
    size_t tail = mk_audit_tail(a);
    mk_audit_mark last;
    mk_audit_last(a, &last);
    if (!tail)
        return NULL;
    long long from = last.seq - (long long)tail + 1;
    fprintf(stderr, "moksha-exec: note: the audit log holds %zu entr%s after its head (entries %lld to %lld): a run "
                    "stopped before it moved the head, or they were added; the log records that this run adopts them\n",
            tail, tail == 1 ? "y" : "ies", from, last.seq);
    return json_pack("{s:s, s:I, s:I}", "event", "audit.adopted", "from_seq", (json_int_t)from, "to_seq",
                     (json_int_t)last.seq);
}

/* Who a run acts for when the process's user is a CI runner or sudo: the
 * identities those set in the environment (not secrets), or NULL. */
static json_t *on_behalf_of(void)
{
    static const char *const vars[] = {"SUDO_USER", "GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
                                       "GITLAB_USER_LOGIN", "CI_PROJECT_PATH", "CI_PIPELINE_ID", "BUILD_URL", NULL};
    json_t *via = NULL;
    for (const char *const *v = vars; *v; v++) {
        const char *val = getenv(*v);
        if (!val || !*val)
            continue;
        if (!via)
            via = json_object();
        json_object_set_new(via, *v, json_stringn(val, strnlen(val, 200)));
    }
    return via;
}

/* The keys, and in trust mode the state's fingerprint key: the executor
 * makes it the first time it writes the state (note [fingerprint key] in
 * rtstate.c). */
static bool open_keys(mk_session *s, char *why, size_t whylen)
{
    if (!s->ring.loaded && !mk_keyring_open(&s->ring, s->cfg, &s->key, MK_PATH_DIR, why, whylen))
        return false;
    if (!s->ring.trust) {
        s->key = s->ring.project;
        return true;
    }
    if (mk_rtstate_fingerprint_key(s->st, s->fpkey))
        return true;
    mk_rtstate_new_fingerprint_key(s->st, s->fpkey); /* written with the state's next write, if there is one */
    return true;
}

bool mk_session_attach(mk_session *s, char *why, size_t whylen)
{
    if (s->be)
        return true;
    if (!s->cfg && !(s->cfg_loaded = mk_config_load(&s->own_cfg, why, whylen)))
        return false;
    if (!s->cfg)
        s->cfg = &s->own_cfg;
    s->be = mk_backend_open(s->cfg, NULL, s->stack ? s->stack : mk_backend_stack(), mk_paths_now.env, why, whylen);
    s->own_be = s->be != NULL;
    return s->be != NULL;
}

/* Lock, open the audit log and the state; 0 or an exit code. */
int mk_session_open(mk_session *s, const char *operation, char id[37])
{
    char why[1024];
    json_t *info = NULL;
    if (!mk_session_attach(s, why, sizeof why)) {
        mk_errmsg_print(why);
        return MK_EXIT_INPUT;
    }
    mk_lock_status ls = mk_backend_lock(s->be, operation, s->plan_sha256, s->lock_wait_ms, id, &info, why, sizeof why);
    if (ls != MK_LOCK_TAKEN) {
        mk_errmsg_print(why);
        return ls == MK_LOCK_HELD ? MK_EXIT_LOCKED : MK_EXIT_INPUT;
    }
    snprintf(s->op, sizeof s->op, "%s", operation);
    snprintf(s->run, sizeof s->run, "%s", id);
    s->st = mk_backend_load(s->be, why, sizeof why);
    if (s->st && open_keys(s, why, sizeof why)) {
        mk_audit_mark m;
        mk_rtstate_audit_record(s->st, &m);
        s->audit = mk_backend_audit_open(s->be, &s->ring, &m, why, sizeof why);
    }
    if (!s->audit || !s->st) {
        mk_errmsg_print(why);
        mk_rtstate_free(s->st);
        s->st = NULL;
        mk_backend_unlock(s->be, id);
        json_decref(info);
        return MK_EXIT_INPUT;
    }
    json_t *ev = json_pack("{s:s, s:O, s:O, s:O, s:O?, s:O?, s:O?, s:i}", "event", "lock", "lock_id",
                           json_object_get(info, "id"), "holder", json_object_get(info, "holder"), "operation",
                           json_object_get(info, "operation"), "user", json_object_get(info, "user"), "host",
                           json_object_get(info, "host"), "pid", json_object_get(info, "pid"), "uid", (int)getuid());
    json_t *via = on_behalf_of();
    if (via)
        json_object_set_new(ev, "via", via);
    json_t *adopted = mk_session_adopted(s->audit);
    mk_session_add(s, ev);
    if (adopted)
        mk_session_add(s, adopted);
    json_decref(info);
    return 0;
}

/* The run's last entry: it carries the exit code the process returns. */
void mk_session_close(mk_session *s, const char *id, int rc)
{
    mk_session_add(s, json_pack("{s:s, s:s, s:i}", "event", "unlock", "lock_id", id, "exit_code", rc));
    mk_session_flush(s);
    mk_backend_unlock(s->be, id);
}

void mk_session_free(mk_session *s)
{
    mk_keyring_free(&s->ring);
    OPENSSL_cleanse(s->fpkey, sizeof s->fpkey);
    free(s->lines);
    mk_audit_close(s->audit);
    mk_rtstate_free(s->st);
    if (s->own_be)
        mk_backend_close(s->be);
    if (s->cfg_loaded) {
        mk_config_free(&s->own_cfg);
        s->cfg = NULL;
    }
    s->be = NULL;
    s->own_be = s->cfg_loaded = false;
}
