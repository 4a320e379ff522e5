/* audit — the hash-chained audit log. See note [audit verify] for how a
 * broken chain is attributed to one altered, removed or inserted entry. */
#include "runtime/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/sha256.h"

static const char ZEROS[65] = "0000000000000000000000000000000000000000000000000000000000000000";

struct mk_audit {
    char *path, *head_path;
    uint8_t mac_key[32]; /* note [audit head] */
    long long seq;       /* of the last entry made */
    char hash[65];       /* of the last entry made */
    size_t tail;         /* whole entries found after the head when opened */
    long long wseq;      /* of the last entry written: what the head names */
    char whash[65];
    long long serial;    /* of the state as opened */
    mk_audit_store store; /* a log a backend keeps: write and seal hand it the text */
    bool stored;
};

/* The log's lines (pointers into text, newlines replaced by NULs), and the
 * damage that stops a reader from trusting them: a NUL byte anywhere, or a
 * last line without its newline (a write cut short). */
typedef struct lines {
    char *text;
    size_t len;
    bool missing;   /* no log file */
    char **v;
    size_t n;
    long long nul;  /* offset of the first NUL byte, or -1 */
    bool torn;      /* the last line has no newline */
    size_t good;    /* bytes up to the end of the last whole line */
} lines;

/* Split text (taken: freed with the lines) into lines. */
static bool split_lines(char *text, size_t len, lines *out)
{
    out->text = text;
    out->len = len;
    const char *z = memchr(out->text, 0, out->len);
    if (z)
        out->nul = z - out->text;
    size_t cap = 16;
    out->v = malloc(cap * sizeof *out->v);
    for (size_t off = 0; out->v && off < out->len;) {
        char *p = out->text + off, *nl = memchr(p, '\n', out->len - off);
        if (out->n == cap)
            out->v = realloc(out->v, (cap *= 2) * sizeof *out->v);
        if (!out->v)
            break;
        out->v[out->n++] = p;
        if (!nl) {
            out->torn = true;
            break;
        }
        *nl = 0;
        off = (size_t)(nl - out->text) + 1;
        out->good = off;
    }
    return out->v != NULL;
}

static bool read_lines(const char *path, lines *out)
{
    memset(out, 0, sizeof *out);
    out->nul = -1;
    size_t len;
    char *text = mk_fileio_read(path, &len);
    if (!text) {
        out->missing = errno == ENOENT;
        return out->missing;
    }
    return split_lines(text, len, out);
}

/* A log a backend keeps: its lines' text (NULL: none yet), copied. */
static bool text_lines(const char *text, size_t n, lines *out)
{
    memset(out, 0, sizeof *out);
    out->nul = -1;
    out->missing = !text || !n;
    char *copy = malloc(n + 1);
    if (!copy)
        return false;
    if (n)
        memcpy(copy, text, n);
    copy[n] = 0;
    return split_lines(copy, n, out);
}

static void free_lines(lines *l)
{
    free(l->text);
    free(l->v);
}

static void line_hash(const char *line, char out[65]) { mk_sha256_hex(line, strlen(line), out); }

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

/* note [audit head]: the head names the last entry written and the serial
 * of the state written with it, {"seq", "hash", "serial", "mac"}, and the
 * MAC (HMAC-SHA256 under mk_keyring_head_key: derived from the project
 * key's sign key, or audit.key in trust mode) makes it unforgeable: whoever
 * cuts entries off the end cannot
 * write a head for the shorter log, and deleting the head is caught because
 * a non-empty log must have one. The state names the last entry written
 * with it too (state.json "audit"), so a log and head removed together, or
 * an older genuine head put back over a log cut to it, disagree with the
 * state; and the state cannot name no entry (a state the executor wrote
 * always does), so its record cannot simply be deleted. Write order per
 * batch: lines (fsync), state, head; so neither names an entry the log
 * lacks, the state is never older than the head (an older state put back
 * under the current log, state.json.prev included, is caught: it would let
 * an old plan run again), and a crash leaves at most one batch of whole
 * entries after the head — from one run, so an older genuine head and
 * state put back over a longer log are caught too — which the next run
 * covers, saying so (audit.adopted, right after its lock). A torn last line
 * is never extended: it is reported. */
static void head_mac(const uint8_t key[32], long long seq, const char *hash, long long serial, char out[65])
{
    char msg[160];
    int n = snprintf(msg, sizeof msg, "moksha.audit.head/v2 %lld %s %lld", seq, hash, serial);
    uint8_t mac[32];
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)msg, (size_t)n, mac, &len);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

static int head_text(const uint8_t key[32], long long seq, const char *hash, long long serial, char *out, size_t n)
{
    char mac[65];
    head_mac(key, seq, hash, serial, mac);
    return snprintf(out, n, "{\"seq\":%lld,\"hash\":\"%s\",\"serial\":%lld,\"mac\":\"%s\"}\n", seq, hash, serial,
                    mac);
}

typedef enum { HEAD_ABSENT, HEAD_OK, HEAD_BAD } head_status;

/* The head as read: from the file beside the log, or the text a backend
 * keeps (name: what messages call it). */
typedef struct head_src {
    const char *name;
    char *text; /* NULL: absent */
    size_t n;
    bool unreadable;
} head_src;

static void head_from_file(head_src *h, const char *path)
{
    h->name = path;
    h->text = mk_fileio_read(path, &h->n);
    h->unreadable = !h->text && errno != ENOENT;
}

static void head_from_text(head_src *h, const char *name, const char *text)
{
    h->name = name;
    h->text = text ? strdup(text) : NULL;
    h->n = text ? strlen(text) : 0;
    h->unreadable = text && !h->text;
}

/* The head file; HEAD_BAD when it is not a head or its MAC does not match. */
static head_status read_head(const head_src *src, const uint8_t key[32], long long *seq, char hash[65],
                             long long *serial)
{
    if (!src->text && !src->unreadable)
        return HEAD_ABSENT;
    const char *text = src->text;
    size_t n = src->n;
    json_t *h = text && n < 4096 ? json_loadb(text, n, 0, NULL) : NULL;
    const char *hs = json_string_value(json_object_get(h, "hash"));
    const char *mac = json_string_value(json_object_get(h, "mac"));
    bool ok = hs && strlen(hs) == 64 && mac && strlen(mac) == 64 && json_is_integer(json_object_get(h, "seq")) &&
              json_is_integer(json_object_get(h, "serial"));
    if (ok) {
        *seq = json_integer_value(json_object_get(h, "seq"));
        *serial = json_integer_value(json_object_get(h, "serial"));
        memcpy(hash, hs, 65);
        char want[65];
        head_mac(key, *seq, hash, *serial, want);
        ok = CRYPTO_memcmp(want, mac, 64) == 0;
    }
    json_decref(h);
    return ok ? HEAD_OK : HEAD_BAD;
}

static bool entry_is(const lines *l, long long seq, const char *hash)
{
    char at[65];
    if (seq < 1 || (size_t)seq > l->n || (l->torn && (size_t)seq == l->n))
        return false;
    line_hash(l->v[seq - 1], at);
    return strcmp(at, hash) == 0;
}

/* The bytes: a NUL anywhere, a last line without its newline. */
static bool check_bytes(const lines *l, const char *path, char *why, size_t whylen)
{
    if (l->nul >= 0) {
        size_t line = 0;
        while (line + 1 < l->n && l->v[line + 1] <= l->text + l->nul)
            line++;
        snprintf(why, whylen, "byte %lld (in line %zu) is a NUL byte: the log was damaged there", l->nul, line + 1);
        return false;
    }
    if (l->torn) {
        snprintf(why, whylen, "line %zu is torn: it has no newline (a write was cut short, or the log was cut mid-line), "
                 "and is never extended: keep a copy, then cut the torn line off (`truncate -s %zu %s`)",
                 l->n, l->good, path);
        return false;
    }
    return true;
}

/* The head: present when the log has entries, keyed, naming a line the
 * log holds; *tail: the whole entries after it, *hserial the state serial
 * it names (-1: no head). */
static bool check_head(const lines *l, const head_src *head, const uint8_t key[32], size_t *tail, long long *hserial,
                       char *why, size_t whylen)
{
    long long hseq = 0;
    char hh[65];
    head_status hs = read_head(head, key, &hseq, hh, hserial);
    *tail = 0;
    if (hs != HEAD_OK)
        *hserial = -1;
    if (hs == HEAD_ABSENT && l->n)
        snprintf(why, whylen, "the head file %s is missing, but the log has %zu entries: whether entries were removed "
                 "from its end cannot be checked", head->name, l->n);
    else if (hs == HEAD_BAD)
        snprintf(why, whylen, "the head file %s is damaged, or was not written with this key (its MAC does not match)",
                 head->name);
    else if (hs == HEAD_OK && l->missing)
        snprintf(why, whylen, "the audit log is missing, but its head names entry %lld", hseq);
    else if (hs == HEAD_OK && hseq > (long long)l->n)
        snprintf(why, whylen, "entries after line %zu were removed (the head names entry %lld)", l->n, hseq);
    else if (hs == HEAD_OK && !entry_is(l, hseq, hh))
        snprintf(why, whylen, "entry at line %lld was altered (it is not the entry the head names)", hseq);
    else {
        *tail = hs == HEAD_OK ? l->n - (size_t)hseq : 0;
        return true;
    }
    return false;
}

/* The state's mark: an entry the log holds, with that hash. */
static bool check_mark(const lines *l, const mk_audit_mark *mark, char *why, size_t whylen)
{
    size_t n = l->n;
    if (mark && mark->seq > (long long)n)
        snprintf(why, whylen, "the state names audit entry %lld, but the log has %s%zu entr%s: entries were removed",
                 mark->seq, n ? "only " : "", n, n == 1 ? "y" : "ies");
    else if (mark && mark->seq > 0 && !entry_is(l, mark->seq, mark->hash))
        snprintf(why, whylen, "entry at line %lld is not the entry the state names (it was altered, or the log replaced)",
                 mark->seq);
    else
        return true;
    return false;
}

/* The state against the head (note [audit head]): it names an entry when
 * the executor wrote it, and its serial is the head's (hserial; -1: no
 * head), or one more (a crash between writing the state and the head). */
static bool check_state(const mk_audit_mark *mark, long long hserial, char *why, size_t whylen)
{
    if (!mark || !mark->from_state)
        return true;
    if (mark->written && mark->seq <= 0)
        snprintf(why, whylen, "the state (serial %lld) names no audit entry, but every state the executor writes names "
                 "the last entry written with it: its \"audit\" record was removed", mark->serial);
    else if (hserial >= 0 && mark->serial < hserial)
        snprintf(why, whylen, "the state is older than the log: its serial is %lld, but the head was written with state "
                 "serial %lld (an earlier state, such as state.json.prev, was put back, or the state removed)",
                 mark->serial, hserial);
    else if (hserial >= 0 && mark->serial > hserial + 1)
        snprintf(why, whylen, "the state (serial %lld) is newer than the head (written with state serial %lld): it was "
                 "written without its audit entries", mark->serial, hserial);
    else
        return true;
    return false;
}

static json_t *entry_at(const lines *l, size_t i) { return i < l->n ? json_loads(l->v[i], 0, NULL) : NULL; }

static bool event_is(const lines *l, size_t i, const char *event)
{
    json_t *e = entry_at(l, i);
    bool is = strcmp(json_string_value(json_object_get(e, "event")) ?: "", event) == 0;
    json_decref(e);
    return is;
}

/* Line i (0-based) starts a run that adopted the tail from..i-1: its lock,
 * then its audit.adopted naming exactly those entries (a run stopped again
 * before it moved the head; the head did not move, so each such run adopts
 * from the same entry). */
static bool adopter_at(const lines *l, size_t from, size_t i)
{
    json_t *e = entry_at(l, i + 1);
    bool ok = event_is(l, i, "lock") && strcmp(json_string_value(json_object_get(e, "event")) ?: "", "audit.adopted") == 0 &&
              json_integer_value(json_object_get(e, "from_seq")) == (json_int_t)from + 1 &&
              json_integer_value(json_object_get(e, "to_seq")) == (json_int_t)i;
    json_decref(e);
    return ok;
}

/* The whole entries after the head, lines from..n-1, are what a run
 * stopped between writing a batch and moving the head left: one batch, so
 * from one run — a run's first entry ("lock") only first, its last
 * ("unlock") only last — or, when a run that adopted them (note [audit
 * head]) was stopped too, that run's entries after its lock and
 * audit.adopted. More is an older head put back over a longer log. */
static bool one_run(const lines *l, size_t from, char *why, size_t whylen)
{
    for (size_t i = from; i < l->n; i++) {
        bool late_lock = i > from && event_is(l, i, "lock") && !adopter_at(l, from, i);
        bool after_end = i + 1 < l->n && event_is(l, i, "unlock") && !adopter_at(l, from, i + 1);
        if (late_lock || after_end) {
            snprintf(why, whylen, "the head names entry %zu, but the entries after it are from more than one run (line "
                     "%zu %s): the head was put back, or entries appended after it", from, i + 1,
                     late_lock ? "starts another run" : "ends one, and more follow");
            return false;
        }
    }
    return true;
}

/* What is wrong with the log's bytes, its head and the state's mark; true
 * when nothing is, with *tail the whole entries after the head and
 * *hserial the state serial the head names (-1: no head). */
static bool check_ends_at(const lines *l, const char *path, const head_src *head, const uint8_t key[32],
                          const mk_audit_mark *mark, size_t *tail, long long *hserial, char *why, size_t whylen)
{
    *hserial = -1;
    *tail = 0;
    return check_bytes(l, path, why, whylen) && check_head(l, head, key, tail, hserial, why, whylen) &&
           check_mark(l, mark, why, whylen) && check_state(mark, *hserial, why, whylen) &&
           one_run(l, l->n - *tail, why, whylen);
}

static bool check_ends(const lines *l, const char *path, const head_src *head, const uint8_t key[32],
                       const mk_audit_mark *mark, size_t *tail, char *why, size_t whylen)
{
    long long hserial;
    return check_ends_at(l, path, head, key, mark, tail, &hserial, why, whylen);
}

/* The chain's end from lines l (taken) and head h (taken), checked; NULL with why. */
static mk_audit *open_lines(lines *l, const char *path, head_src *h, const mk_keyring *key, const mk_audit_mark *mark,
                            char *why, size_t whylen)
{
    mk_audit *a = calloc(1, sizeof *a);
    a->path = strdup(path);
    a->head_path = strdup(h->name);
    mk_keyring_head_key(key, a->mac_key);
    memcpy(a->hash, ZEROS, 65);

    char bad[700];
    size_t tail;
    long long hserial;
    bool ok = check_ends_at(l, path, h, a->mac_key, mark, &tail, &hserial, bad, sizeof bad);
    /* what mk_audit_append's head names: the state's serial, else the head's own */
    a->serial = mark && mark->from_state ? mark->serial : hserial > 0 ? hserial : 0;
    a->tail = tail;
    if (ok && l->n) {
        json_t *last = json_loads(l->v[l->n - 1], 0, NULL);
        a->seq = json_integer_value(json_object_get(last, "seq"));
        json_decref(last);
        line_hash(l->v[l->n - 1], a->hash);
        if (a->seq != (long long)l->n) {
            ok = false;
            snprintf(bad, sizeof bad, "its last line is not entry %zu of a moksha.audit/v1 chain", l->n);
        }
    }
    a->wseq = a->seq;
    memcpy(a->whash, a->hash, 65);
    free_lines(l);
    free(h->text);
    if (!ok) {
        snprintf(why, whylen, "the audit log %s disagrees with its head or the state: %s; nothing will be appended to it "
                 "(see `moksha audit verify`)", path, bad);
        mk_audit_close(a);
        return NULL;
    }
    return a;
}

mk_audit *mk_audit_open(const char *path, const mk_keyring *key, const mk_audit_mark *mark, char *why, size_t whylen)
{
    lines l;
    if (!read_lines(path, &l)) {
        snprintf(why, whylen, "cannot read the audit log %s: %s", path, strerror(errno));
        return NULL;
    }
    char *hp = head_path_of(path);
    head_src h = {0};
    head_from_file(&h, hp);
    mk_audit *a = open_lines(&l, path, &h, key, mark, why, whylen);
    free(hp);
    return a;
}

mk_audit *mk_audit_open_text(const char *name, const char *text, size_t n, const char *head, const mk_keyring *key,
                             const mk_audit_mark *mark, const mk_audit_store *store, char *why, size_t whylen)
{
    lines l;
    if (!text_lines(text, n, &l)) {
        snprintf(why, whylen, "out of memory reading the audit log %s", name);
        return NULL;
    }
    char hname[300];
    snprintf(hname, sizeof hname, "%s's head", name);
    head_src h = {0};
    head_from_text(&h, hname, head);
    mk_audit *a = open_lines(&l, name, &h, key, mark, why, whylen);
    if (a) {
        a->store = *store;
        a->stored = true;
    }
    return a;
}

size_t mk_audit_tail(const mk_audit *a) { return a->tail; }

void mk_audit_last(const mk_audit *a, mk_audit_mark *mark)
{
    mark->seq = a->seq;
    memcpy(mark->hash, a->hash, 65);
}

bool mk_audit_rekey(mk_audit *a, const mk_keyring *k, long long serial)
{
    mk_keyring_head_key(k, a->mac_key);
    return mk_audit_seal(a, serial); /* the same seq and hash, under the new key */
}

void mk_audit_close(mk_audit *a)
{
    if (!a)
        return;
    free(a->path);
    free(a->head_path);
    OPENSSL_cleanse(a->mac_key, sizeof a->mac_key);
    free(a);
}

char *mk_audit_entry_text(mk_audit *a, const char *fields)
{
    char when[40], head[200];
    mk_clock_iso_time(when, sizeof when);
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

/* Append to the file with one fsync. */
static bool file_append(const char *path, const char *text, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
    return close(fd) == 0 && ok;
}

bool mk_audit_write(mk_audit *a, const char *text, size_t n)
{
    bool ok = a->stored ? a->store.write(a->store.ctx, text, n) : file_append(a->path, text, n);
    /* the head will name the last entry of *this batch*: entries made since
     * the batch was taken are not on disk yet, and a kill -9 must leave a
     * head that the log holds */
    size_t end = n;
    while (end > 0 && text[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    char *last = strndup(text + start, end - start);
    json_t *e = last ? json_loads(last, 0, NULL) : NULL;
    long long seq = json_integer_value(json_object_get(e, "seq"));
    json_decref(e);
    if (last && seq > 0) {
        a->wseq = seq;
        line_hash(last, a->whash);
    }
    free(last);
    return ok && seq > 0;
}

bool mk_audit_seal(mk_audit *a, long long serial)
{
    if (a->wseq <= 0)
        return true; /* nothing written: no head to name it */
    char head[300];
    int hn = head_text(a->mac_key, a->wseq, a->whash, serial, head, sizeof head);
    a->serial = serial;
    if (a->stored)
        return a->store.seal(a->store.ctx, head, (size_t)hn);
    return mk_fileio_write_atomic(a->head_path, head, (size_t)hn, true, false); /* refused if lost: durable */
}

bool mk_audit_append(mk_audit *a, json_t *fields)
{
    char *line = mk_audit_entry(a, fields);
    json_decref(fields);
    bool ok = line && mk_audit_write(a, line, strlen(line)) && mk_audit_seal(a, a->serial);
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

static int say(FILE *out, const char *path, const char *what, const char *why)
{
    fprintf(out, "%s: %s%s\n", path, what, why);
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

/* verify over lines (taken) and head h (taken). */
static int verify_lines(lines *l, const char *path, head_src *h, const mk_keyring *key, const mk_audit_mark *mark,
                        FILE *out)
{
    walk w = {.l = *l};
    size_t whole = w.l.n - w.l.torn;
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
    char why[700];
    size_t tail = 0;
    int rc = 0;
    uint8_t mk[32] = {0};
    if (key)
        mk_keyring_head_key(key, mk);
    if (!key)
        rc = say(out, path, "", "cannot check the head: no key (it is keyed with the executor's key: MOKSHA_KEY or "
                            ".moksha/key, or in trust mode the key directory's audit.key)");
    else if (w.l.nul >= 0 && !check_ends(&w.l, path, h, mk, mark, &tail, why, sizeof why)) /* first: it explains the lines it breaks */
        rc = say(out, path, "BROKEN: ", why);
    w.l.n = whole; /* the chain is walked over whole lines; a torn one is reported after */
    for (size_t i = 0; i < w.l.n && !rc; i++)
        rc = check_line(&w, path, i, (long long)i + 1, out);
    w.l.n += w.l.torn;
    if (!rc && !check_ends(&w.l, path, h, mk, mark, &tail, why, sizeof why))
        rc = say(out, path, "BROKEN: ", why);
    OPENSSL_cleanse(mk, sizeof mk);
    free(h->text);
    if (!rc) {
        fprintf(out, "%s: ok: %zu entries, chain intact, head and state agree", path, w.l.n);
        if (tail)
            fprintf(out, " (the last %zu entr%s after the head: a run stopped before it moved the head; the next run "
                         "covers %s)", tail, tail == 1 ? "y is" : "ies are", tail == 1 ? "it" : "them");
        fputc('\n', out);
    }
    free(w.hash);
    free(w.seq);
    free_lines(&w.l);
    return rc;
}

int mk_audit_verify(const char *path, const mk_keyring *key, const mk_audit_mark *mark, FILE *out)
{
    lines l;
    if (!read_lines(path, &l)) {
        fprintf(out, "%s: cannot read: %s\n", path, strerror(errno));
        return 1;
    }
    char *hp = head_path_of(path);
    head_src h = {0};
    head_from_file(&h, hp);
    int rc = verify_lines(&l, path, &h, key, mark, out);
    free(hp);
    return rc;
}

int mk_audit_verify_text(const char *name, const char *text, size_t n, const char *head, const mk_keyring *key,
                         const mk_audit_mark *mark, FILE *out)
{
    lines l;
    if (!text_lines(text, n, &l)) {
        fprintf(out, "%s: out of memory\n", name);
        return 1;
    }
    char hname[300];
    snprintf(hname, sizeof hname, "%s's head", name);
    head_src h = {0};
    head_from_text(&h, hname, head);
    return verify_lines(&l, name, &h, key, mark, out);
}

/* A value as `audit show` prints it: plain when it is a plain word, else
 * as a JSON string, so spaces, quotes and control characters (a reason
 * may hold any) cannot forge a field or reach the terminal raw. */
static void show_value(FILE *out, const char *k, json_t *v)
{
    if (json_is_integer(v) || json_is_true(v)) {
        if (json_is_true(v))
            fprintf(out, " %s", k);
        else
            fprintf(out, " %s=%lld", k, (long long)json_integer_value(v));
        return;
    }
    const char *t = json_string_value(v);
    if (!t)
        return;
    size_t plain = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-[]");
    if (plain == strlen(t) && plain) {
        fprintf(out, " %s=%s", k, t);
        return;
    }
    char *q = json_dumps(v, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH);
    fprintf(out, " %s=%s", k, q ?: "\"?\"");
    free(q);
}

/* Who ran a run: "user@host" from its lock entry (older entries: holder). */
static json_t *who_of(json_t *lock)
{
    const char *u = json_string_value(json_object_get(lock, "user"));
    const char *h = json_string_value(json_object_get(lock, "host"));
    if (u && h)
        return json_pack("{s:s, s:s, s:O?, s:O?, s:O?}", "user", u, "host", h, "pid", json_object_get(lock, "pid"), "uid",
                         json_object_get(lock, "uid"), "via", json_object_get(lock, "via"));
    json_t *holder = json_object_get(lock, "holder");
    return holder ? json_pack("{s:O}", "holder", holder) : NULL;
}

/* A person of the trust entries ({"name", "key_id", "id"}: an approver, with
 * the key and the approval it signed) as "alice (key 0123…, approval 89ab…)";
 * appended to buf. */
static void show_person(json_t *p, char *buf, size_t n)
{
    size_t k = strlen(buf);
    if (json_is_string(p)) {
        snprintf(buf + k, n - k, "%s", json_string_value(p));
        return;
    }
    const char *name = json_string_value(json_object_get(p, "name")) ?: json_string_value(json_object_get(p, "approver"));
    const char *key = json_string_value(json_object_get(p, "key_id")), *id = json_string_value(json_object_get(p, "id"));
    snprintf(buf + k, n - k, "%s%s%s%s%s%.8s", name ?: "?", key || id ? " (" : "", key ? "key " : "", key ?: "",
             id ? (key ? ", approval " : "approval ") : "", id ? id : "");
    k = strlen(buf);
    if (key || id)
        snprintf(buf + k, n - k, ")");
}

static bool is_person(json_t *v) { return json_object_get(v, "name") || json_object_get(v, "key_id"); }

/* A list or an object of the new entries (by, reasons, missing) as one
 * line of text: people named with their key ids, strings joined by "; ". */
static json_t *show_flat(json_t *v)
{
    char buf[2048] = "";
    json_t *one = json_is_array(v) ? NULL : v, *e;
    size_t i, n = one ? 1 : json_array_size(v);
    for (i = 0; i < n; i++) {
        e = one ? one : json_array_get(v, i);
        size_t k = strlen(buf);
        if (i)
            snprintf(buf + k, sizeof buf - k, "; "), k = strlen(buf);
        if (json_is_string(e) || is_person(e)) {
            show_person(e, buf, sizeof buf);
        } else {
            char *t = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
            snprintf(buf + k, sizeof buf - k, "%s", t ?: "?");
            free(t);
        }
    }
    return json_string(buf);
}

/* A field of any shape: plain values as show_value, lists and objects
 * flattened (show_flat). */
static void show_any(FILE *out, const char *k, json_t *v)
{
    if (!json_is_array(v) && !json_is_object(v)) {
        show_value(out, k, v);
        return;
    }
    json_t *t = show_flat(v);
    show_value(out, k, t);
    json_decref(t);
}

static void show_entry(json_t *e, json_t *who, FILE *out)
{
    const char *ev = json_string_value(json_object_get(e, "event")) ?: "?";
    fprintf(out, "#%-4lld %s  %-15s", (long long)json_integer_value(json_object_get(e, "seq")),
            json_string_value(json_object_get(e, "time")) ?: "?", ev);
    static const char *const keys[] = {"operation", "stack", "kind", "policy", "enforcement", "group", "address", "action",
                                       "undo", "status", "reason", "by", "automation", "reasons", "missing", "count",
                                       "cloud", "region", "id", "revokes", "acknowledges", "expires", "deposed_id", "ms",
                                       "attempts", "outcome", "interrupted", "exit_code", "holder", "user", "host", "pid",
                                       "lock_id", "damage", "hook", "to", "notify", "error", "plan_sha256", "key_id",
                                       "signer", "role", "trust_version", NULL};
    for (const char *const *k = keys; *k; k++)
        show_any(out, *k, json_object_get(e, *k));
    /* who, on the entries a person answers for: what was let through, and the run's ends */
    bool answer = strncmp(ev, "gate.", 5) == 0 || strcmp(ev, "policy.override") == 0 || strcmp(ev, "plan") == 0 ||
                  strncmp(ev, "approval.", 9) == 0 || strcmp(ev, "override.approved") == 0 ||
                  strcmp(ev, "waiver.used") == 0 || strncmp(ev, "break_glass", 11) == 0 ||
                  strncmp(ev, "boundary.", 9) == 0 ||
                  strcmp(ev, "apply.end") == 0 || strcmp(ev, "state.rm") == 0 || strcmp(ev, "unlock") == 0 ||
                  strcmp(ev, "lock.broken") == 0;
    if (strcmp(ev, "lock") == 0 || (answer && who)) { /* CI or sudo: on whose behalf */
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(strcmp(ev, "lock") == 0 ? e : who, "via"), k, v)
            show_value(out, k, v);
    }
    if (answer && who && json_object_get(who, "user")) {
        fprintf(out, " who=%s@%s", json_string_value(json_object_get(who, "user")),
                json_string_value(json_object_get(who, "host")));
    } else if (answer && who)
        show_value(out, "who", json_object_get(who, "holder"));
    fputc('\n', out);
}

/* `audit show [--format json]`: one line per entry, or one JSON document
 * {"format", "entries": [entry + "who" of its run]}. */
static int show_lines(lines *l_, bool json, FILE *out);

int mk_audit_show(const char *path, bool json, FILE *out)
{
    lines l;
    if (!read_lines(path, &l)) {
        fprintf(stderr, "moksha-exec: error: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    return show_lines(&l, json, out);
}

int mk_audit_show_text(const char *text, size_t n, bool json, FILE *out)
{
    lines l;
    if (!text_lines(text, n, &l)) {
        fprintf(stderr, "moksha-exec: error: out of memory\n");
        return 1;
    }
    return show_lines(&l, json, out);
}

/* note [break glass unacknowledged]: every break_glass entry without a
 * later break_glass.acknowledged of the same plan_sha256 (an ack before
 * it does not count: it acknowledged an earlier one), in log order. New
 * array of the entries. */
static json_t *unacknowledged(const lines *l)
{
    json_t *open = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *e = json_loads(l->v[i], 0, NULL);
        const char *ev = json_string_value(json_object_get(e, "event")) ?: "";
        const char *sha = json_string_value(json_object_get(e, "plan_sha256")) ?: "";
        if (!strcmp(ev, "break_glass"))
            json_array_append(open, e);
        else if (!strcmp(ev, "break_glass.acknowledged"))
            for (size_t k = json_array_size(open); k-- > 0;)
                if (!strcmp(json_string_value(json_object_get(json_array_get(open, k), "plan_sha256")) ?: "", sha))
                    json_array_remove(open, k);
        json_decref(e);
    }
    return open;
}

static void show_unacknowledged(json_t *open, FILE *out)
{
    if (!json_array_size(open))
        return;
    fprintf(out, "Break glass not acknowledged yet (%zu): every gate and boundary was set aside for these applies\n",
            json_array_size(open));
    size_t i;
    json_t *e;
    json_array_foreach(open, i, e) {
        fprintf(out, "  #%lld %s", (long long)json_integer_value(json_object_get(e, "seq")),
                json_string_value(json_object_get(e, "time")) ?: "?");
        show_any(out, "plan_sha256", json_object_get(e, "plan_sha256"));
        show_any(out, "by", json_object_get(e, "by"));
        show_any(out, "reason", json_object_get(e, "reason"));
        fputc('\n', out);
    }
    fprintf(out, "  acknowledge each after review: moksha approve --ack PLAN_SHA256 --key KEY --reason TEXT\n\n");
}

/* show over lines (taken). */
static int show_lines(lines *l_, bool json, FILE *out)
{
    lines l = *l_;
    json_t *list = json_array(), *who = NULL, *open = unacknowledged(&l);
    if (!json)
        show_unacknowledged(open, out);
    for (size_t i = 0; i < l.n; i++) {
        json_t *e = json_loads(l.v[i], 0, NULL);
        if (json_is_object(e) && strcmp(json_string_value(json_object_get(e, "event")) ?: "", "lock") == 0) {
            json_decref(who);
            who = who_of(e);
        }
        if (!json_is_object(e)) {
            if (json)
                json_array_append_new(list, json_pack("{s:I, s:s}", "line", (json_int_t)(i + 1), "damage", "not a JSON entry"));
            else
                fprintf(out, "(line %zu is not a JSON entry)\n", i + 1);
        } else if (json) {
            if (who && !json_object_get(e, "who"))
                json_object_set(e, "who", who);
            json_array_append(list, e);
        } else {
            show_entry(e, who, out);
        }
        json_decref(e);
    }
    const char *damage = l.nul >= 0 ? "a NUL byte" : l.torn ? "a torn last line" : NULL;
    if (json) {
        json_t *doc = json_pack("{s:s, s:O, s:o}", "format", "moksha.audit/v1", "unacknowledged_break_glass", open,
                                "entries", list);
        if (damage)
            json_object_set_new(doc, "damage", json_string(damage));
        json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(doc);
    } else {
        json_decref(list);
        if (!l.n)
            fprintf(out, "(the audit log is empty)\n");
        if (damage)
            fprintf(out, "(the log holds %s: it is damaged; see `moksha audit verify`)\n", damage);
    }
    json_decref(who);
    json_decref(open);
    free_lines(&l);
    return 0;
}
