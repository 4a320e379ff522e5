/* backend_local — the state in files under the stack's .moksha/ (the
 * environment's: runtime/paths.h), as docs/formats.md describes them
 * (runtime/backend.h): state.json written atomically with state.json.prev
 * kept, state.lock made exclusively (lock.c), audit.jsonl with audit.head
 * (audit.c), observed.json. It is what the executor always did, behind the
 * interface; it is not where those formats are defined (rtstate.c, lock.c,
 * audit.c, refresh.c are). The working directory is the stack: the stack's
 * name plays no part, and its history is the current serial and the
 * previous one. */
#include "runtime/backend_ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/fileio.h"
#include "runtime/paths.h"
#include "runtime/sha256.h"

/* The backend's files: its environment's, fixed when opened. */
typedef struct local {
    mk_paths p;
    char head[120], prev[120];
} local;

#define L(b) ((local *)(b)->impl)

static bool local_open(mk_backend *b, char *why, size_t whylen)
{
    local *l = calloc(1, sizeof *l);
    if (!l)
        return snprintf(why, whylen, "out of memory"), false;
    if (!mk_paths_for(b->info.env, &l->p, why, whylen) || !mk_paths_own_dirs(b->info.env, why, whylen)) {
        free(l);
        return false;
    }
    snprintf(l->head, sizeof l->head, "%s/audit.head", l->p.dir);
    snprintf(l->prev, sizeof l->prev, "%s.prev", l->p.state);
    b->info.stack[0] = 0; /* the working directory is the stack */
    snprintf(b->info.location, sizeof b->info.location, "%s", l->p.dir);
    b->impl = l;
    return true;
}

static void local_close(mk_backend *b) { free(b->impl); }

/* ---- the lock ---- */

/* Tried again every 100 ms while a holder has it and wait_ms lasts. */
static mk_lock_status local_lock(mk_backend *b, const char *operation, const char *plan_sha256, double wait_ms,
                                 char id_out[37], json_t **info, char *why, size_t whylen)
{
    (void)plan_sha256; /* the lock file's document is as it always was; the audit's "plan" entry names the plan */
    if (!mk_fileio_mkdirs(L(b)->p.dir))
        return snprintf(why, whylen, "cannot create %s: %s", L(b)->p.dir, strerror(errno)), MK_LOCK_ERROR;
    double until = mk_clock_now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        mk_lock_status ls = mk_lock_take(L(b)->p.lock, operation, id_out, info, why, whylen);
        double left = until - mk_clock_now_ms();
        if (ls != MK_LOCK_HELD || left <= 0)
            return ls;
        mk_clock_sleep_ms(left < 100 ? left : 100);
    }
}

static void local_unlock(mk_backend *b, const char *id) { mk_lock_release(L(b)->p.lock, id); }

static json_t *local_lock_info(mk_backend *b, char *why, size_t whylen)
{
    (void)why, (void)whylen;
    return mk_lock_info(L(b)->p.lock);
}

static int local_lock_force(mk_backend *b, const char *id, bool check_only, json_t **info, char *why, size_t whylen)
{
    return mk_lock_force(L(b)->p.lock, id, check_only, info, why, whylen);
}

/* ---- the state ---- */

static mk_rtstate *local_load(mk_backend *b, char *why, size_t whylen)
{
    return mk_rtstate_load(L(b)->p.state, why, whylen);
}

/* A regular file's bytes, not following a link (a FIFO in its place would
 * hang the reader): NULL with *absent when there is none, NULL with why
 * when it is not a file to read. */
static char *read_regular(const char *path, size_t *n, bool *absent, char *why, size_t whylen)
{
    *absent = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 && errno == ENOENT)
        return *absent = true, NULL;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file%s%s", path, fd < 0 ? ": " : "", fd < 0 ? strerror(errno) : "");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    for (ssize_t k; buf && got < (size_t)sb.st_size && (k = read(fd, buf + got, (size_t)sb.st_size - got)) > 0;)
        got += (size_t)k;
    close(fd);
    if (!buf)
        return snprintf(why, whylen, "out of memory reading %s", path), NULL;
    buf[got] = 0;
    *n = got;
    return buf;
}

/* The serial a state file's text says it is at (-1: not a state). */
static long long serial_of(const char *text, size_t n)
{
    json_t *d = json_loadb(text, n, 0, NULL);
    json_t *s = json_object_get(d, "serial");
    long long v = json_is_integer(s) ? (long long)json_integer_value(s) : -1;
    json_decref(d);
    return v;
}

/* note: local history is two deep: the file, and the copy kept before its
 * last write (state.json.prev). */
static char *local_state_text(mk_backend *b, long long serial, size_t *n, bool *absent, char *why, size_t whylen)
{
    char *cur = read_regular(L(b)->p.state, n, absent, why, whylen);
    if (!cur || serial < 0)
        return cur;
    long long at = serial_of(cur, *n);
    if (at == serial)
        return cur;
    free(cur);
    bool pabsent;
    size_t pn = 0;
    char *prev = read_regular(L(b)->prev, &pn, &pabsent, why, whylen);
    long long pat = prev ? serial_of(prev, pn) : -1;
    if (prev && pat == serial)
        return *n = pn, prev;
    free(prev);
    *n = 0;
    *absent = true;
    if (pat >= 0)
        snprintf(why, whylen, "the local state keeps serial %lld and the one before it, %lld: not %lld", at, pat, serial);
    else
        snprintf(why, whylen, "the local state keeps serial %lld (and no copy of an earlier one): not %lld", at, serial);
    return NULL;
}

/* note [audit head]: lines, then the state, then the head naming both. */
static bool local_persist(mk_backend *b, mk_audit *a, mk_backend_write *w, char *why, size_t whylen)
{
    json_t *snap = w->snapshot;
    w->snapshot = NULL;
    bool ok = !w->nlines || mk_audit_write(a, w->lines, w->nlines);
    char *text = NULL;
    if (ok && snap)
        text = mk_rtstate_text(snap); /* takes it */
    else
        json_decref(snap);
    ok = ok && (!snap || (text && mk_rtstate_write_file(L(b)->p.state, text)));
    ok = ok && (!(w->nlines || snap) || mk_audit_seal(a, w->serial));
    int e = errno;
    free(text);
    if (!ok)
        snprintf(why, whylen, "cannot persist the state or the audit log: %s", strerror(e));
    return ok;
}

/* ---- the audit log ---- */

static mk_audit *local_audit_open(mk_backend *b, const struct mk_keyring *k, const mk_audit_mark *mark, char *why,
                                  size_t whylen)
{
    return mk_audit_open(L(b)->p.audit, k, mark, why, whylen);
}

static char *local_audit_text(mk_backend *b, size_t *n, char **head, char *why, size_t whylen)
{
    bool absent, habsent;
    size_t hn;
    char *lines = read_regular(L(b)->p.audit, n, &absent, why, whylen);
    if (!lines && !absent)
        return NULL;
    char *h = head ? read_regular(L(b)->head, &hn, &habsent, why, whylen) : NULL;
    if (head && !h && !habsent) {
        free(lines);
        return *n = 0, NULL;
    }
    if (head)
        *head = h;
    return lines;
}

/* ---- observations ---- */

static char *local_observed_text(mk_backend *b, size_t *n, bool *absent, char *why, size_t whylen)
{
    char *t = read_regular(L(b)->p.observed, n, absent, why, whylen);
    if (!t && !*absent)
        snprintf(why, whylen, "%s is not a regular file: remove it, and refresh again", L(b)->p.observed);
    return t;
}

static bool local_observed_write(mk_backend *b, const char *text, size_t n, char *why, size_t whylen)
{
    if (mk_fileio_mkdirs(L(b)->p.dir) && mk_fileio_write_atomic(L(b)->p.observed, text, n, true, false))
        return true;
    return snprintf(why, whylen, "cannot write %s: %s", L(b)->p.observed, strerror(errno)), false;
}

/* ---- history ---- */

static json_t *history_row(const char *text, size_t n)
{
    char hex[65];
    mk_sha256_hex(text, n, hex);
    return json_pack("{s:I, s:n, s:n, s:n, s:n, s:n, s:s}", "serial", (json_int_t)serial_of(text, n), "time",
                     "operation", "run", "changed", "removed", "hash", hex);
}

static json_t *local_history(mk_backend *b, char *why, size_t whylen)
{
    json_t *rows = json_array();
    const char *paths[2] = {L(b)->prev, L(b)->p.state};
    for (int i = 0; i < 2; i++) {
        bool absent;
        size_t n = 0;
        char *t = read_regular(paths[i], &n, &absent, why, whylen);
        if (!t && !absent) {
            json_decref(rows);
            return NULL;
        }
        if (t && serial_of(t, n) >= 0)
            json_array_append_new(rows, history_row(t, n));
        free(t);
    }
    return rows;
}

/* ---- environments ---- */

/* {env, serial, resources, time} of the state at path, or NULL when none. */
static json_t *env_row(const char *env, const char *path)
{
    struct stat sb;
    size_t n = 0;
    char *t = lstat(path, &sb) == 0 ? mk_fileio_read(path, &n) : NULL;
    json_t *d = t ? json_loadb(t, n, 0, NULL) : NULL;
    free(t);
    if (!t)
        return NULL;
    char when[40];
    struct tm tm;
    time_t mt = sb.st_mtime;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&mt, &tm));
    json_t *row = json_pack("{s:s, s:I, s:I, s:s}", "env", env, "serial",
                            (json_int_t)json_integer_value(json_object_get(d, "serial")), "resources",
                            (json_int_t)json_array_size(json_object_get(d, "resources")), "time", when);
    if (!d) /* a damaged state is listed, and says so */
        json_object_set_new(row, "damaged", json_true());
    json_decref(d);
    return row;
}

static int by_env(const void *x, const void *y)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "env")),
                  json_string_value(json_object_get(*(json_t *const *)y, "env")));
}

static json_t *local_envs(mk_backend *b, char *why, size_t whylen)
{
    (void)b, (void)why, (void)whylen;
    json_t *rows = json_array(), *r = env_row("", MK_PATH_DIR "/state.json");
    if (r)
        json_array_append_new(rows, r);
    DIR *d = opendir(MK_PATH_DIR "/env");
    size_t first = json_array_size(rows);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[400];
        snprintf(path, sizeof path, "%s/env/%s/state.json", MK_PATH_DIR, e->d_name);
        if (mk_paths_env_valid(e->d_name) && (r = env_row(e->d_name, path)))
            json_array_append_new(rows, r);
    }
    if (d)
        closedir(d);
    size_t n = json_array_size(rows) - first;
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(rows, first + i));
    if (v)
        qsort(v, n, sizeof *v, by_env);
    for (size_t i = 0; v && i < n; i++)
        json_array_set_new(rows, first + i, v[i]);
    free(v);
    return rows;
}

/* ---- migration ---- */

static bool local_is_empty(mk_backend *b, bool *empty, char *why, size_t whylen)
{
    (void)why, (void)whylen;
    struct stat sb;
    *empty = lstat(L(b)->p.state, &sb) != 0 && lstat(L(b)->p.audit, &sb) != 0 && lstat(L(b)->head, &sb) != 0 &&
             lstat(L(b)->p.observed, &sb) != 0;
    return true;
}

/* The files, each durable, the head last: until it is there the log is
 * not vouched for. */
static bool local_import(mk_backend *b, const char *state, size_t nstate, const char *lines, size_t nlines,
                         const char *head, const char *observed, size_t nobserved, char *why, size_t whylen)
{
    const local *l = L(b);
    const char *failed = NULL;
    if (!mk_fileio_mkdirs(l->p.dir))
        failed = l->p.dir;
    else if (state && !mk_fileio_write_atomic(l->p.state, state, nstate, true, false))
        failed = l->p.state;
    else if (nlines && !mk_fileio_write_atomic(l->p.audit, lines, nlines, true, false))
        failed = l->p.audit;
    else if (observed && !mk_fileio_write_atomic(l->p.observed, observed, nobserved, true, false))
        failed = l->p.observed;
    else if (head && !mk_fileio_write_atomic(l->head, head, strlen(head), true, false))
        failed = l->head;
    if (failed)
        snprintf(why, whylen, "cannot write %s: %s", failed, strerror(errno));
    return !failed;
}

const mk_backend_ops mk_backend_local_ops = {
    .kind = "local",
    .open = local_open,
    .close = local_close,
    .lock = local_lock,
    .unlock = local_unlock,
    .lock_info = local_lock_info,
    .lock_force = local_lock_force,
    .load = local_load,
    .state_text = local_state_text,
    .persist = local_persist,
    .audit_open = local_audit_open,
    .audit_text = local_audit_text,
    .observed_text = local_observed_text,
    .observed_write = local_observed_write,
    .history = local_history,
    .envs = local_envs,
    .is_empty = local_is_empty,
    .import = local_import,
};
