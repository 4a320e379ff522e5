/* rtstate — state in memory as an address-keyed object (jansson keeps
 * insertion order), written out as the resources list of the format.
 *
 * note [state text]: every entry is serialised once, when it is put, and the
 * text kept beside it; writing the state is then a concatenation of those
 * texts under a small header, one resource per line. An apply writes the
 * state after every batch of steps, and re-serialising unchanged entries
 * each time was most of the executor's CPU. */
#include "runtime/rtstate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/audit.h"
#include "runtime/errmsg.h"
#include "runtime/fileio.h"
#include "runtime/rand.h"

static mk_rtstate *fresh(const char *path)
{
    mk_rtstate *s = calloc(1, sizeof *s);
    s->path = strdup(path);
    s->doc = json_pack("{s:s, s:s, s:I, s:[]}", "format", "moksha.state/v1", "lineage", "", "serial", (json_int_t)0,
                       "resources");
    s->by_addr = json_object();
    s->texts = json_object();
    s->put = json_object();
    s->removed = json_object();
    return s;
}

/* An entry's text in the file: one line. */
json_t *mk_rtstate_entry_text(json_t *entry)
{
    char *t = json_dumps(entry, JSON_PRESERVE_ORDER);
    json_t *v = t ? json_stringn_nocheck(t, strlen(t)) : NULL;
    free(t);
    return v;
}

static void set_entry(mk_rtstate *s, const char *address, json_t *entry, json_t *text)
{
    json_object_set(s->by_addr, address, entry);
    json_object_set_new(s->texts, address, text ? text : mk_rtstate_entry_text(entry));
}

/* note [state delta]: what a write must store, by address; the last of a
 * put and a remove of one address since the snapshot before is what counts.
 * (jansson keeps a replaced key where it was, so an entry put again keeps
 * its place; a removed one put back goes last, as in the state.) */
static void delta_put(mk_rtstate *s, const char *address)
{
    json_t *t = json_object_get(s->texts, address);
    json_object_del(s->removed, address);
    json_object_set(s->put, address, t ? t : json_null());
}

static void delta_removed(mk_rtstate *s, const char *address)
{
    json_object_del(s->put, address);
    json_object_set_new(s->removed, address, json_true());
}

/* note [fingerprint key]: the planner and the executor compute a secret's
 * fingerprint with a key that only those who can read the state hold, so
 * a plan alone (a CI artifact, a review comment) allows no test of guesses
 * of a secret, and no planner needs a key the executor also holds. The
 * executor makes it the first time it writes the state; it never changes
 * (a rotation re-seals, the fingerprints stay). */
static bool hex_key(const char *t, uint8_t out[32])
{
    if (!t || strlen(t) != 64 || strspn(t, "0123456789abcdef") != 64)
        return false;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(t + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return true;
}

/* Only a state that is not there is empty; one that cannot be read or
 * parsed is damaged (E0300), never "no state" — a directory, a dangling
 * link, a cut file included. The why names the file and place. */
static json_t *parse_state(const char *path, bool *absent, char *why, size_t whylen)
{
    size_t n = 0;
    struct stat sb;
    char *text = mk_fileio_read(path, &n), msg[600];
    *absent = !text && errno == ENOENT && lstat(path, &sb) != 0;
    if (*absent)
        return NULL;
    json_error_t je;
    json_t *doc = text ? json_loadb(text, n, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!text)
        snprintf(msg, sizeof msg, "%s: %s", path, errno == ENOENT ? "a link to a file that does not exist" : errno == EINVAL ? "not a regular file" : strerror(errno));
    else if (!doc)
        mk_errmsg_json(path, &je, text, n, msg, sizeof msg);
    free(text);
    if (!doc)
        snprintf(why, whylen, "error[E0300]: the state cannot be read: %s (restore %s.prev, the copy kept before the last write)",
                 msg, path);
    return doc;
}

mk_rtstate *mk_rtstate_load(const char *path, char *why, size_t whylen)
{
    mk_rtstate *s = fresh(path);
    bool absent = false;
    json_t *doc = parse_state(path, &absent, why, whylen);
    if (!doc) {
        if (absent)
            return s;
        mk_rtstate_free(s);
        return NULL;
    }
    json_t *res = json_object_get(doc, "resources");
    if (strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.state/v1") != 0 || !json_is_array(res)) {
        snprintf(why, whylen, "error[E0300]: the state cannot be read: %s: not a moksha.state/v1 document", path);
        json_decref(doc);
        mk_rtstate_free(s);
        return NULL;
    }
    json_t *lin = json_object_get(doc, "lineage"), *ser = json_object_get(doc, "serial"), *intents = json_object_get(doc, "intents");
    if ((lin && !json_is_string(lin)) || (ser && !(json_is_integer(ser) && json_integer_value(ser) >= 0)) ||
        (intents && !json_is_object(intents))) { /* as the compiler's reader: the two must read one state */
        snprintf(why, whylen, "error[E0300]: the state cannot be read: %s: its `lineage` is not a string, its `serial` "
                 "not a whole number >= 0, or its `intents` not an object", path);
        json_decref(doc);
        mk_rtstate_free(s);
        return NULL;
    }
    json_t *fk = json_object_get(doc, "fingerprint_key");
    uint8_t raw[32];
    if (fk && !hex_key(json_string_value(fk), raw)) {
        snprintf(why, whylen, "error[E0300]: the state cannot be read: %s: its `fingerprint_key` is not 64 lowercase hex "
                 "digits", path);
        json_decref(doc);
        mk_rtstate_free(s);
        return NULL;
    }
    json_t *mark = json_object_get(doc, "audit");
    const char *mh = json_string_value(json_object_get(mark, "hash"));
    if (mark && !(json_integer_value(json_object_get(mark, "seq")) > 0 && mh && strlen(mh) == 64)) {
        snprintf(why, whylen, "error[E0300]: the state cannot be read: %s: its audit record (\"audit\": {\"seq\", \"hash\"}) is damaged", path);
        json_decref(doc);
        mk_rtstate_free(s);
        return NULL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        const char *a = json_string_value(json_object_get(r, "address"));
        bool whole = a && json_is_string(json_object_get(r, "type")) && json_is_object(json_object_get(r, "attributes"));
        if (!whole || mk_rtstate_get(s, a)) { /* dropped silently, it would be forgotten by the next write */
            snprintf(why, whylen, "error[E0300]: the state cannot be read: %s: %s", path,
                     whole ? "two resources have one address" : "a resource lacks its address, type or attributes");
            json_decref(doc);
            mk_rtstate_free(s);
            return NULL;
        }
        set_entry(s, a, r, NULL);
    }
    json_object_set_new(doc, "resources", json_array());
    json_decref(s->doc);
    s->doc = doc;
    return s;
}

void mk_rtstate_free(mk_rtstate *s)
{
    if (!s)
        return;
    json_decref(s->doc);
    json_decref(s->by_addr);
    json_decref(s->texts);
    json_decref(s->put);
    json_decref(s->removed);
    free(s->path);
    free(s);
}

const char *mk_rtstate_lineage(const mk_rtstate *s)
{
    return json_string_value(json_object_get(s->doc, "lineage")) ?: "";
}

long long mk_rtstate_serial(const mk_rtstate *s) { return json_integer_value(json_object_get(s->doc, "serial")); }

void mk_rtstate_ensure_lineage(mk_rtstate *s)
{
    if (*mk_rtstate_lineage(s))
        return;
    char u[37];
    mk_rand_uuid(u);
    json_object_set_new(s->doc, "lineage", json_string(u));
}

bool mk_rtstate_audit_mark(const mk_rtstate *s, long long *seq, char hash[65])
{
    json_t *m = json_object_get(s->doc, "audit");
    if (!m)
        return false;
    *seq = json_integer_value(json_object_get(m, "seq"));
    snprintf(hash, 65, "%s", json_string_value(json_object_get(m, "hash")));
    return true;
}

void mk_rtstate_audit_record(const mk_rtstate *s, mk_audit_mark *m)
{
    memset(m, 0, sizeof *m);
    mk_rtstate_audit_mark(s, &m->seq, m->hash);
    m->from_state = true;
    m->serial = mk_rtstate_serial(s);
    m->written = m->serial > 0 || *mk_rtstate_lineage(s) || json_object_size(s->by_addr) > 0;
}

void mk_rtstate_set_audit_mark(mk_rtstate *s, long long seq, const char *hash)
{
    if (seq > 0)
        json_object_set_new(s->doc, "audit", json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "hash", hash));
}

bool mk_rtstate_fingerprint_key(const mk_rtstate *s, uint8_t out[32])
{
    return hex_key(json_string_value(json_object_get(s->doc, "fingerprint_key")), out);
}

void mk_rtstate_new_fingerprint_key(mk_rtstate *s, uint8_t out[32])
{
    char hex[65];
    mk_rand_hex(hex, 32);
    json_object_set_new(s->doc, "fingerprint_key", json_string(hex));
    hex_key(hex, out);
    memset(hex, 0, sizeof hex);
}

json_t *mk_rtstate_intents(const mk_rtstate *s)
{
    json_t *i = json_object_get(s->doc, "intents");
    return json_object_size(i) ? i : NULL;
}

void mk_rtstate_set_intent(mk_rtstate *s, const char *address, json_t *intent)
{
    json_t *old = json_object_get(s->doc, "intents");
    json_t *all = json_is_object(old) ? json_copy(old) : json_object();
    if (intent)
        json_object_set_new(all, address, intent);
    else
        json_object_del(all, address);
    if (json_object_size(all))
        json_object_set_new(s->doc, "intents", all);
    else {
        json_decref(all);
        json_object_del(s->doc, "intents");
    }
}

void mk_rtstate_clear_intents(mk_rtstate *s) { json_object_del(s->doc, "intents"); }

json_t *mk_rtstate_get(const mk_rtstate *s, const char *address) { return json_object_get(s->by_addr, address); }

void mk_rtstate_put_text(mk_rtstate *s, json_t *entry, json_t *text)
{
    const char *a = json_string_value(json_object_get(entry, "address"));
    if (a) {
        set_entry(s, a, entry, text);
        delta_put(s, a);
    } else
        json_decref(text);
    json_decref(entry);
}

void mk_rtstate_put(mk_rtstate *s, json_t *entry) { mk_rtstate_put_text(s, entry, NULL); }

bool mk_rtstate_remove(mk_rtstate *s, const char *address)
{
    json_object_del(s->texts, address);
    bool had = json_object_del(s->by_addr, address) == 0;
    if (had)
        delta_removed(s, address);
    return had;
}

/* The record since the last snapshot, as the snapshot's "delta", and a new
 * one begun. A text that could not be made when put is the one made now. */
static json_t *take_delta(mk_rtstate *s)
{
    json_t *removed = json_array(), *v;
    const char *k;
    json_object_foreach(s->put, k, v)
        if (json_is_null(v))
            json_object_set(s->put, k, json_object_get(s->texts, k));
    json_object_foreach(s->removed, k, v)
        json_array_append_new(removed, json_string(k));
    json_t *d = json_pack("{s:o, s:o}", "put", s->put, "removed", removed);
    json_decref(s->removed);
    s->put = json_object();
    s->removed = json_object();
    return d;
}

json_t *mk_rtstate_snapshot(mk_rtstate *s)
{
    mk_rtstate_ensure_lineage(s);
    json_object_set_new(s->doc, "serial", json_integer(mk_rtstate_serial(s) + 1));
    json_t *list = json_array(), *snap = json_copy(s->doc);
    const char *k;
    json_t *v;
    json_object_foreach(s->by_addr, k, v) {
        json_t *t = json_object_get(s->texts, k);
        if (!t) { /* its text could not be made when put (out of memory): again now */
            t = mk_rtstate_entry_text(v);
            json_object_set_new(s->texts, k, t);
        }
        if (t)
            json_array_append(list, t);
    }
    json_object_set_new(snap, "resources", list);
    json_object_set_new(snap, "delta", take_delta(s));
    return snap;
}

/* note [state text]: the header as jansson writes it, then the kept texts. */
char *mk_rtstate_text(json_t *snapshot)
{
    json_t *texts = json_incref(json_object_get(snapshot, "resources"));
    json_object_del(snapshot, "resources");
    json_object_del(snapshot, "delta"); /* note [state delta]: the backend's, not the file's */
    char *head = json_dumps(snapshot, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(snapshot);
    size_t hn = head ? strlen(head) : 0, n = hn + 32, i;
    json_t *t;
    json_array_foreach(texts, i, t)
        n += json_string_length(t) + 4;
    char *out = head && hn >= 2 ? malloc(n) : NULL;
    if (out) {
        size_t k = hn - 2; /* without the closing "\n}" */
        memcpy(out, head, k);
        k += (size_t)sprintf(out + k, "%s\"resources\": [", hn > 3 ? ",\n " : "\n ");
        json_array_foreach(texts, i, t) {
            const char *sep = i ? ",\n  " : "\n  ";
            memcpy(out + k, sep, strlen(sep));
            k += strlen(sep);
            memcpy(out + k, json_string_value(t), json_string_length(t));
            k += json_string_length(t);
        }
        strcpy(out + k, json_array_size(texts) ? "\n ]\n}" : "]\n}");
    }
    free(head);
    json_decref(texts);
    return out;
}

char *mk_rtstate_dump(mk_rtstate *s) { return mk_rtstate_text(mk_rtstate_snapshot(s)); }

bool mk_rtstate_save_text(const mk_rtstate *s, const char *text) { return mk_rtstate_write_file(s->path, text); }

bool mk_rtstate_write_file(const char *path, const char *text)
{
    size_t n = strlen(text);
    char *t = malloc(n + 2);
    if (!t)
        return false;
    memcpy(t, text, n);
    t[n] = '\n';
    bool ok = mk_fileio_write_atomic(path, t, n + 1, true, true);
    free(t);
    return ok;
}

bool mk_rtstate_save(mk_rtstate *s)
{
    char *t = mk_rtstate_dump(s);
    bool ok = t && mk_rtstate_save_text(s, t);
    free(t);
    return ok;
}

json_t *mk_rtstate_providers(const mk_rtstate *s)
{
    json_t *p = json_object_get(s->doc, "providers");
    return json_is_object(p) ? p : NULL;
}

void mk_rtstate_set_providers(mk_rtstate *s, json_t *providers)
{
    /* a plan with no provider blocks is recorded as {}: every alias was
     * applied with its kind's defaults, which a refresh then uses too */
    json_t *p = json_is_object(providers) ? json_deep_copy(providers) : json_object();
    if (!json_equal(p, json_object_get(s->doc, "providers")))
        json_object_set(s->doc, "providers", p);
    json_decref(p);
}

/* Equal but for sealed secrets, which compare by fingerprint: each plan
 * seals anew (a fresh nonce), and an output that did not change is not a
 * write. */
static bool same_json(json_t *a, json_t *b)
{
    json_t *sa = json_object_get(a, "$secret"), *sb = json_object_get(b, "$secret");
    if (sa || sb)
        return sa && sb && json_equal(json_object_get(sa, "fingerprint"), json_object_get(sb, "fingerprint"));
    if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (!json_is_object(a) || !json_is_object(b))
        return json_equal(a, b);
    const char *k;
    json_t *x;
    json_object_foreach(a, k, x)
        if (!json_object_get(b, k) || !same_json(x, json_object_get(b, k)))
            return false;
    return json_object_size(a) == json_object_size(b);
}

json_t *mk_rtstate_outputs(const mk_rtstate *s)
{
    json_t *o = json_object_get(s->doc, "outputs");
    return json_is_object(o) ? o : NULL;
}

bool mk_rtstate_set_outputs(mk_rtstate *s, json_t *outputs)
{
    json_t *now = mk_rtstate_outputs(s);
    if (!json_is_object(outputs) || json_object_size(outputs) == 0) {
        if (!json_object_get(s->doc, "outputs"))
            return false;
        json_object_del(s->doc, "outputs");
        return true;
    }
    if (now && same_json(now, outputs))
        return false;
    json_object_set_new(s->doc, "outputs", json_deep_copy(outputs));
    return true;
}
