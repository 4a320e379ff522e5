/* audit — the hash-chained audit log. See note [audit verify] for how a
 * broken chain is attributed to one altered, removed or inserted entry. */
#include "runtime/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/util.h"

static const char ZEROS[65] = "0000000000000000000000000000000000000000000000000000000000000000";

struct mk_audit {
    char *path, *head_path;
    long long seq;  /* of the last entry made */
    char hash[65];  /* of the last entry made */
};

/* The log's lines (pointers into text, newlines replaced by NULs). */
typedef struct lines {
    char *text;
    char **v;
    size_t n;
} lines;

static bool read_lines(const char *path, lines *out)
{
    memset(out, 0, sizeof *out);
    size_t len;
    out->text = mk_exec_read_file(path, &len);
    if (!out->text)
        return errno == ENOENT;
    size_t cap = 16;
    out->v = malloc(cap * sizeof *out->v);
    for (char *p = out->text; out->v && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (out->n == cap)
            out->v = realloc(out->v, (cap *= 2) * sizeof *out->v);
        if (out->v)
            out->v[out->n++] = p;
        p = nl ? nl + 1 : p + strlen(p);
    }
    return out->v != NULL;
}

static void free_lines(lines *l)
{
    free(l->text);
    free(l->v);
}

static void line_hash(const char *line, char out[65]) { mk_exec_sha256_hex(line, strlen(line), out); }

static char *head_path_of(const char *path)
{
    size_t n = strlen(path) + 8;
    char *h = malloc(n);
    if (!h)
        return NULL;
    snprintf(h, n, "%s", path);
    char *dot = strrchr(h, '.'), *slash = strrchr(h, '/');
    if (dot && (!slash || dot > slash))
        *dot = 0;
    strcat(h, ".head");
    return h;
}

/* The head file: {"seq": N, "hash": HEX}; false when absent or unreadable. */
static bool read_head(const char *head_path, long long *seq, char hash[65])
{
    json_t *h = json_load_file(head_path, 0, NULL);
    const char *hs = json_string_value(json_object_get(h, "hash"));
    bool ok = hs && strlen(hs) == 64 && json_is_integer(json_object_get(h, "seq"));
    if (ok) {
        *seq = json_integer_value(json_object_get(h, "seq"));
        memcpy(hash, hs, 65);
    }
    json_decref(h);
    return ok;
}

mk_audit *mk_audit_open(const char *path, char *why, size_t whylen)
{
    lines l;
    if (!read_lines(path, &l)) {
        snprintf(why, whylen, "cannot read the audit log %s: %s", path, strerror(errno));
        return NULL;
    }
    mk_audit *a = calloc(1, sizeof *a);
    a->path = strdup(path);
    a->head_path = head_path_of(path);
    memcpy(a->hash, ZEROS, 65);
    if (l.n) {
        json_t *last = json_loads(l.v[l.n - 1], 0, NULL);
        a->seq = json_integer_value(json_object_get(last, "seq"));
        json_decref(last);
        line_hash(l.v[l.n - 1], a->hash);
    }
    long long hseq;
    char hhash[65], at[65];
    bool bad = false;
    if (read_head(a->head_path, &hseq, hhash)) {
        bad = hseq < 1 || (size_t)hseq > l.n;
        if (!bad) {
            line_hash(l.v[hseq - 1], at);
            bad = strcmp(at, hhash) != 0;
        }
    }
    free_lines(&l);
    if (bad) {
        snprintf(why, whylen, "the audit log %s does not hold the entry its head names: it was altered or cut short "
                              "(run `moksha audit verify`); nothing will be appended to it", path);
        mk_audit_close(a);
        return NULL;
    }
    return a;
}

void mk_audit_close(mk_audit *a)
{
    if (!a)
        return;
    free(a->path);
    free(a->head_path);
    free(a);
}

char *mk_audit_entry_text(mk_audit *a, const char *fields)
{
    char when[40], head[200];
    mk_exec_iso_time(when, sizeof when);
    int hn = snprintf(head, sizeof head, "{\"format\":\"moksha.audit/v1\",\"seq\":%lld,\"time\":\"%s\",\"prev\":\"%s\"",
                      (long long)a->seq + 1, when, a->hash);
    size_t n = strlen(fields);
    if (hn <= 0 || (size_t)hn >= sizeof head || n < 2 || fields[0] != '{')
        return NULL;
    bool empty = strspn(fields + 1, " ") == n - 2; /* "{}" */
    char *line = malloc((size_t)hn + n + 3);
    if (!line)
        return NULL;
    size_t k = (size_t)hn;
    memcpy(line, head, k);
    if (empty) {
        line[k++] = '}';
    } else {
        line[k++] = ',';
        memcpy(line + k, fields + 1, n - 1);
        k += n - 1;
    }
    line[k] = 0;
    a->seq++;
    line_hash(line, a->hash);
    line[k++] = '\n';
    line[k] = 0;
    return line;
}

char *mk_audit_entry(mk_audit *a, json_t *fields)
{
    char *s = json_dumps(fields, JSON_COMPACT);
    char *line = s ? mk_audit_entry_text(a, s) : NULL;
    free(s);
    return line;
}

bool mk_audit_write(mk_audit *a, const char *text, size_t n)
{
    int fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = true;
    for (size_t off = 0; ok && off < n;) {
        ssize_t w = write(fd, text + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (errno != EINTR)
            ok = false;
    }
    ok = fsync(fd) == 0 && ok;
    ok = close(fd) == 0 && ok;
    /* the head names the last entry of *this batch*: entries made since the
     * batch was taken are not on disk yet, and a kill -9 now must leave a
     * head that the log holds */
    size_t end = n;
    while (end > 0 && text[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    char *last = strndup(text + start, end - start), hash[65];
    json_t *e = last ? json_loads(last, 0, NULL) : NULL;
    long long seq = json_integer_value(json_object_get(e, "seq"));
    if (last)
        line_hash(last, hash);
    json_decref(e);
    free(last);
    if (!last || seq <= 0)
        return false;
    char head[128];
    int hn = snprintf(head, sizeof head, "{\"seq\":%lld,\"hash\":\"%s\"}\n", seq, hash);
    return ok && mk_exec_write_atomic(a->head_path, head, (size_t)hn, false, false);
}

bool mk_audit_append(mk_audit *a, json_t *fields)
{
    char *line = mk_audit_entry(a, fields);
    json_decref(fields);
    bool ok = line && mk_audit_write(a, line, strlen(line));
    free(line);
    return ok;
}

/* note [audit verify]: entries carry seq (1, 2, …) and prev (the hash of the
 * line before). Walking the lines with the seq and hash we expect:
 * - seq higher than expected: entries were removed before this line;
 * - seq lower: this line was inserted when the next line links past it,
 *   else the lines since the one this line links to were inserted;
 * - prev wrong: this line was inserted if the next one links past it, else
 *   the line before it was altered (its hash changed);
 * - at the end, the head must name a line that is there with that hash,
 *   which catches entries removed from, or altered at, the end. */
typedef struct walk {
    lines l;
    char (*hash)[65];
    long long *seq;
} walk;

static bool links(walk *w, size_t i, size_t to)
{
    json_t *e = i < w->l.n ? json_loads(w->l.v[i], 0, NULL) : NULL;
    const char *p = json_string_value(json_object_get(e, "prev"));
    bool ok = p && strcmp(p, to == (size_t)-1 ? ZEROS : w->hash[to]) == 0;
    json_decref(e);
    return ok;
}

static int broken(FILE *out, const char *path, const char *fmt, size_t line, long long extra)
{
    fprintf(out, "%s: BROKEN: ", path);
    fprintf(out, fmt, line, extra);
    fputc('\n', out);
    return 1;
}

static int check_line(walk *w, const char *path, size_t i, long long expected, FILE *out)
{
    size_t before = i - 1; /* (size_t)-1 for the first line */
    if (w->seq[i] < 0)
        return broken(out, path, "entry at line %zu was altered (not a moksha.audit/v1 entry)", i + 1, 0);
    if (w->seq[i] > expected)
        return broken(out, path, "entry before line %zu was removed (expected seq %lld there)", i + 1, expected);
    if (w->seq[i] < expected) {
        if (i + 1 == w->l.n || links(w, i + 1, before))
            return broken(out, path, "entry at line %zu was inserted (seq %lld repeats an earlier entry)", i + 1, w->seq[i]);
        for (size_t j = i; j-- > 0;)
            if (links(w, i, j))
                return broken(out, path, "entry at line %zu was inserted", j + 2, 0);
        return broken(out, path, "entry at line %zu was inserted or altered", i + 1, 0);
    }
    if (!links(w, i, before)) {
        if (i + 1 < w->l.n && links(w, i + 1, before))
            return broken(out, path, "entry at line %zu was inserted", i + 1, 0);
        if (i == 0 || (i + 1 < w->l.n && !links(w, i + 1, i)))
            return broken(out, path, "entry at line %zu was altered", i + 1, 0);
        return broken(out, path, "entry at line %zu was altered", i, 0);
    }
    return 0;
}

int mk_audit_verify(const char *path, FILE *out)
{
    walk w;
    if (!read_lines(path, &w.l)) {
        fprintf(out, "%s: cannot read: %s\n", path, strerror(errno));
        return 1;
    }
    w.hash = malloc((w.l.n + 1) * sizeof *w.hash);
    w.seq = malloc((w.l.n + 1) * sizeof *w.seq);
    for (size_t i = 0; i < w.l.n; i++) {
        line_hash(w.l.v[i], w.hash[i]);
        json_t *e = json_loads(w.l.v[i], 0, NULL);
        json_t *f = json_object_get(e, "format"), *s = json_object_get(e, "seq");
        bool good = f && strcmp(json_string_value(f) ?: "", "moksha.audit/v1") == 0 && json_is_integer(s);
        w.seq[i] = good ? json_integer_value(s) : -1;
        json_decref(e);
    }
    int rc = 0;
    for (size_t i = 0; i < w.l.n && !rc; i++)
        rc = check_line(&w, path, i, (long long)i + 1, out);
    char *hp = head_path_of(path), hh[65];
    long long hs;
    if (!rc && read_head(hp, &hs, hh)) {
        if (hs > (long long)w.l.n)
            rc = broken(out, path, "entries after line %zu were removed (the head names entry %lld)", w.l.n, hs);
        else if (hs < 1 || strcmp(w.hash[hs - 1], hh) != 0)
            rc = broken(out, path, "entry at line %zu was altered (it is not the entry the head names)", (size_t)hs, 0);
    } else if (!rc && w.l.n) {
        fprintf(out, "%s: BROKEN: the head file %s is missing, so the end of the log cannot be checked\n", path, hp);
        rc = 1;
    }
    if (!rc)
        fprintf(out, "%s: ok: %zu entries, chain intact\n", path, w.l.n);
    free(hp);
    free(w.hash);
    free(w.seq);
    free_lines(&w.l);
    return rc;
}

static void show_entry(json_t *e, FILE *out)
{
    const char *ev = json_string_value(json_object_get(e, "event"));
    fprintf(out, "#%-4lld %s  %-12s", (long long)json_integer_value(json_object_get(e, "seq")),
            json_string_value(json_object_get(e, "time")) ?: "?", ev ?: "?");
    static const char *const keys[] = {"operation", "stack", "address", "action", "status", "cloud", "region",
                                       "id", "ms", "attempts", "outcome", "exit_code", "holder", "lock_id",
                                       "error", "plan_sha256", NULL};
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(e, *k);
        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v))
            fprintf(out, " %s=%s", *k, json_string_value(v));
        else if (json_is_integer(v))
            fprintf(out, " %s=%lld", *k, (long long)json_integer_value(v));
    }
    fputc('\n', out);
}

int mk_audit_show(const char *path, FILE *out)
{
    lines l;
    if (!read_lines(path, &l)) {
        fprintf(stderr, "moksha-exec: error: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < l.n; i++) {
        json_t *e = json_loads(l.v[i], 0, NULL);
        if (e)
            show_entry(e, out);
        else
            fprintf(out, "(line %zu is not JSON)\n", i + 1);
        json_decref(e);
    }
    if (!l.n)
        fprintf(out, "(the audit log is empty)\n");
    free_lines(&l);
    return 0;
}
