/* planfile — the plan document as a file, and the one place its shape is
 * decided: the defaults left out, the canonical text (compact, keys in
 * document order) written once and hashed as it is written, the signature
 * over the statement of that digest, verifying a plan file from its bytes,
 * which paths `plan -o` may write, and the atomic write. The differ that builds
 * the document is middle/plan.c; the executor has its own loader
 * (runtime/planfile.c). */
#include "compiler/back/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/atomic.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/mem.h"

/* note [plan defaults]: a field whose value is its default is not written;
 * every reader takes an absent field as that default (docs/formats.md,
 * "Defaults"). The list is here and in docs/plan.schema.json's `default`s;
 * the executor's side is runtime/planfile.c. */
static const char *const EMPTY_LISTS[] = {"after_unknown", "sensitive", "changed", "replace_because", "depends_on", "refs"};
static const char *const NULL_FIELDS[] = {"provider", "before", "after"};

static void del_if(json_t *o, const char *k, bool is_default)
{
    if (is_default)
        json_object_del(o, k);
}

/* A lifecycle of nothing but false flags (or none at all) is the default. */
static bool default_lifecycle(json_t *lc)
{
    const char *k;
    json_t *v;
    json_object_foreach(lc, k, v)
        if (!json_is_false(v))
            return false;
    return json_is_object(lc);
}

static void omit_change_defaults(json_t *c)
{
    for (size_t i = 0; i < sizeof EMPTY_LISTS / sizeof *EMPTY_LISTS; i++) {
        json_t *v = json_object_get(c, EMPTY_LISTS[i]);
        del_if(c, EMPTY_LISTS[i], json_is_array(v) && json_array_size(v) == 0);
    }
    for (size_t i = 0; i < sizeof NULL_FIELDS / sizeof *NULL_FIELDS; i++)
        del_if(c, NULL_FIELDS[i], json_is_null(json_object_get(c, NULL_FIELDS[i])));
    del_if(c, "lifecycle", default_lifecycle(json_object_get(c, "lifecycle")));
    json_t *cost = json_object_get(c, "cost"); /* (shared between changes: deleting twice is harmless) */
    del_if(cost, "offering", json_is_null(json_object_get(cost, "offering")));
    del_if(cost, "unpriced_because", json_is_null(json_object_get(cost, "unpriced_because")));
}

static bool empty(json_t *v)
{
    return (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

static void omit_defaults(json_t *plan)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), i, c)
        omit_change_defaults(c);
    del_if(plan, "destroy", json_is_false(json_object_get(plan, "destroy")));
    static const char *const EMPTY_TOP[] = {"providers", "gates", "policies", "outputs"};
    for (size_t k = 0; k < sizeof EMPTY_TOP / sizeof *EMPTY_TOP; k++)
        del_if(plan, EMPTY_TOP[k], empty(json_object_get(plan, EMPTY_TOP[k])));
    json_t *st = json_object_get(plan, "state");
    del_if(st, "stack_id", json_is_null(json_object_get(st, "stack_id")));
}

/* The one pass that writes the body: the document as jansson's compact
 * dump writes it (note [plan text]) into a buffer that grows geometrically,
 * hashed (SHA-256) in blocks as it fills, while the bytes are in cache. */
typedef struct {
    char *buf;
    size_t len, cap, hashed;
    EVP_MD_CTX *md;
} writer;

#define HASH_BLOCK ((size_t)1 << 16)

static void put(writer *w, const char *s, size_t n)
{
    if (w->len + n > w->cap) {
        while (w->len + n > w->cap)
            w->cap = w->cap ? w->cap * 2 : HASH_BLOCK * 4;
        w->buf = mk_mem_realloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    if (w->len - w->hashed >= HASH_BLOCK) {
        EVP_DigestUpdate(w->md, w->buf + w->hashed, w->len - w->hashed);
        w->hashed = w->len;
    }
}

static int put_cb(const char *s, size_t n, void *ud)
{
    put(ud, s, n);
    return 0;
}

/* A string as jansson escapes it without JSON_ENSURE_ASCII: `"`, `\` and
 * control characters only, \uXXXX in upper case. */
static void put_string(writer *w, const char *s, size_t n)
{
    static const char short_esc[32] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    size_t run = 0;
    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        char esc[8] = {'\\', (char)c};
        if (c < 0x20 && short_esc[c])
            esc[1] = short_esc[c];
        else if (c < 0x20)
            snprintf(esc, sizeof esc, "\\u%04X", c);
        put(w, esc, c < 0x20 && !short_esc[c] ? 6 : 2);
        run = i + 1;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

/* note [plan text]: the body's bytes are exactly json_dumps(JSON_COMPACT)'s
 * (keys in document order), written here without jansson's per-container
 * loop check; a real goes through jansson itself, for its exact digits. The
 * golden plan/json.out and test_planfile's re-write test hold the two
 * together. */
static void put_value(writer *w, json_t *v)
{
    char num[32];
    const char *k;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put(w, "{", 1);
        i = 0;
        json_object_foreach(v, k, x) {
            if (i++)
                put(w, ",", 1);
            put_string(w, k, strlen(k));
            put(w, ":", 1);
            put_value(w, x);
        }
        put(w, "}", 1);
        break;
    case JSON_ARRAY:
        put(w, "[", 1);
        json_array_foreach(v, i, x) {
            if (i)
                put(w, ",", 1);
            put_value(w, x);
        }
        put(w, "]", 1);
        break;
    case JSON_STRING: put_string(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: put(w, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v))); break;
    case JSON_REAL: json_dump_callback(v, put_cb, w, JSON_COMPACT | JSON_ENCODE_ANY); break;
    case JSON_TRUE: put(w, "true", 4); break;
    case JSON_FALSE: put(w, "false", 5); break;
    case JSON_NULL: put(w, "null", 4); break;
    }
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[2 * i] = hex[b[i] >> 4], out[2 * i + 1] = hex[b[i] & 15];
    out[2 * n] = 0;
}

/* note [plan statement]: what the signature covers, a few hundred bytes:
 * the body's digest and the plan's identity, compact JSON in this key order,
 * an absent stack id left out (docs/formats.md, "The statement"). The
 * executor builds the same text, repeated there for the house rule
 * (runtime/planfile.c). Caller frees. */
static char *statement(json_t *plan, const char *digest)
{
    json_t *st = json_object_get(plan, "state"), *s = json_object();
    json_t *sid = json_object_get(st, "stack_id");
    json_object_set_new(s, "format", json_string("moksha.plan/v1"));
    json_object_set_new(s, "digest", json_string(digest));
    if (json_is_string(sid))
        json_object_set(s, "stack_id", sid);
    json_object_set_new(s, "lineage", json_string(json_string_value(json_object_get(st, "lineage")) ?: ""));
    json_object_set_new(s, "serial", json_integer(json_integer_value(json_object_get(st, "serial"))));
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    return text;
}

/* The signature object over the statement of a body with this digest. */
static json_t *signature(json_t *plan, const char *digest, const mk_key *key)
{
    char *st = statement(plan, digest), mac[65];
    mk_key_sign(key, st, strlen(st), mac);
    mk_jalloc_free_text(st);
    return json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "HMAC-SHA256", "key_id", key->id, "digest", digest, "value", mac);
}

char *mk_planfile_sign(json_t *plan, const mk_key *key)
{
    json_object_del(plan, "signature");
    omit_defaults(plan);
    writer w = {.md = EVP_MD_CTX_new()};
    unsigned char d[32];
    char digest[65];
    if (!w.md || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1)
        mk_mem_oom();
    put_value(&w, plan);
    EVP_DigestUpdate(w.md, w.buf + w.hashed, w.len - w.hashed);
    EVP_DigestFinal_ex(w.md, d, NULL);
    EVP_MD_CTX_free(w.md);
    to_hex(d, 32, digest);
    json_t *sig = signature(plan, digest, key);
    json_object_set_new(plan, "signature", sig);
    /* the signature is the last key: the body's closing brace gives way to it */
    char *sig_text = json_dumps(sig, JSON_COMPACT);
    size_t sn = strlen(sig_text);
    w.buf = mk_mem_realloc(w.buf, w.len + sn + 32);
    w.len--;
    memcpy(w.buf + w.len, ",\"signature\":", 13);
    memcpy(w.buf + w.len + 13, sig_text, sn);
    memcpy(w.buf + w.len + 13 + sn, "}", 2);
    mk_jalloc_free_text(sig_text);
    return w.buf;
}

void mk_planfile_free_text(char *text) { mk_mem_free(text); }

/* note [plan fields]: the fields this moksha knows, by object; any other is
 * refused, so a plan from a newer moksha is never half-read. The executor
 * keeps its own list (runtime/planfile.c). */
static const char *const PLAN_FIELDS[] = {"format", "stack", "inputs_digest", "destroy", "state", "providers",
    "changes", "gates", "policies", "outputs", "totals", "cost", "signature", NULL};
static const char *const CHANGE_FIELDS[] = {"id", "address", "type", "name", "provider", "action", "deposed",
    "before", "after", "after_unknown", "sensitive", "changed", "replace_because", "depends_on", "risk", "cost",
    "lifecycle", "placement", "refs", "risk_raised_by", NULL};
static const char *const STATE_FIELDS[] = {"stack_id", "lineage", "serial", NULL};
static const char *const SIG_FIELDS[] = {"algorithm", "key_id", "digest", "value", NULL};

/* The first key of o not in names, or NULL. */
static const char *unknown_key(json_t *o, const char *const *names)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        const char *const *n = names;
        while (*n && strcmp(*n, k) != 0)
            n++;
        if (!*n)
            return k;
    }
    return NULL;
}

static bool known_fields(json_t *plan, char *why, size_t whylen)
{
    const char *where = "the plan", *k = unknown_key(plan, PLAN_FIELDS);
    if (!k && (k = unknown_key(json_object_get(plan, "state"), STATE_FIELDS)))
        where = "its state";
    if (!k && (k = unknown_key(json_object_get(plan, "signature"), SIG_FIELDS)))
        where = "its signature";
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), i, c)
        if (!k && (k = unknown_key(c, CHANGE_FIELDS)))
            where = "a change";
    if (k)
        snprintf(why, whylen, "%s has a field `%s` this moksha does not know: it was made by a newer moksha; plan it "
                 "again with this one", where, k);
    return k == NULL;
}

/* The whole file at path, in one read of its size; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *text = NULL;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        text = mk_mem_alloc((size_t)sb.st_size + 1);
        ssize_t r = 0;
        for (*len = 0; *len < (size_t)sb.st_size && (r = read(fd, text + *len, (size_t)sb.st_size - *len)) > 0;)
            *len += (size_t)r;
    }
    if (fd >= 0)
        close(fd);
    return text;
}

/* The file's bytes: a moksha plan is exactly the body then
 * `,"signature":{…}}` and a newline; the body's SHA-256 (closing brace
 * and all) into digest. False when the file is not in that form. */
static bool body_digest(const char *path, json_t *sig, char digest[65])
{
    size_t len = 0;
    char *t = slurp(path, &len), *tail = json_dumps(sig, JSON_COMPACT);
    size_t tn = tail ? strlen(tail) : 0;
    if (len && t[len - 1] == '\n')
        len--;
    bool ok = t && tail && len > tn + 14 && t[len - 1] == '}' && memcmp(t + len - 1 - tn, tail, tn) == 0 &&
              memcmp(t + len - 1 - tn - 13, ",\"signature\":", 13) == 0;
    if (ok) {
        unsigned char d[32];
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        size_t body = len - 1 - tn - 13;
        ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, t, body) == 1 &&
             EVP_DigestUpdate(md, "}", 1) == 1 && EVP_DigestFinal_ex(md, d, NULL) == 1;
        EVP_MD_CTX_free(md);
        to_hex(d, 32, digest);
    }
    mk_jalloc_free_text(tail);
    mk_mem_free(t);
    return ok;
}

bool mk_planfile_verify(json_t *plan, const char *path, const mk_key *key, char *why, size_t whylen)
{
    json_t *sig = json_object_get(plan, "signature");
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    const char *dig = json_string_value(json_object_get(sig, "digest"));
    if (!json_is_object(plan) || strcmp(json_string_value(json_object_get(plan, "format")) ?: "", "moksha.plan/v1")) {
        snprintf(why, whylen, "not a moksha.plan/v1 document");
        return false;
    }
    if (!val || !kid || strlen(val) != 64) {
        snprintf(why, whylen, "the plan is not signed");
        return false;
    }
    if (strcmp(kid, key->id) != 0) {
        snprintf(why, whylen, "the plan was signed with another key (%s; this project's key is %s)", kid, key->id);
        return false;
    }
    char digest[65] = "", mac[65] = "";
    if (body_digest(path, sig, digest) && dig && strcmp(dig, digest) == 0) {
        char *st = statement(plan, digest);
        mk_key_sign(key, st, strlen(st), mac);
        mk_jalloc_free_text(st);
    }
    if (strlen(mac) != 64 || CRYPTO_memcmp(mac, val, 64) != 0) {
        snprintf(why, whylen, "the signature does not match: the plan was altered after it was signed");
        return false;
    }
    return known_fields(plan, why, whylen);
}

/* Is the file at path a plan already (or empty)? Only a plan is replaced by
 * a plan: `-o main.moksha`, `-o README.md` are mistakes. Parsed whole: the
 * JSON of `moksha plan --format json` may put "format" after "changes". */
static bool holds_a_plan(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    if (sb.st_size == 0)
        return true;
    char why[256];
    json_t *doc = mk_jsonfile_load(path, 0, why, sizeof why);
    bool plan = doc && strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.plan/v1") == 0;
    if (!mk_jalloc_installed()) /* else the arenas hold it */
        json_decref(doc);
    return plan;
}

/* The resolved directory a path is (or would be) in; malloc'd, or NULL. */
static char *parent_of(const char *path)
{
    size_t n = strlen(path);
    char *copy = mk_mem_alloc(n + 2);
    memcpy(copy, path, n + 1);
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = 0;
    else
        *slash = 0;
    char *real = realpath(copy, NULL);
    mk_mem_free(copy);
    return real;
}

/* 0: not under a .moksha/; 1: directly in it; 2: deeper. Any directory
 * named .moksha is one — another stack's (`-o ../b/.moksha/state.lock`)
 * is no less a state, a key and an audit log — and so is what this
 * stack's .moksha resolves to, whatever its name. */
static int depth_in_moksha_dir(const char *dir)
{
    char *top = realpath(".moksha", NULL);
    size_t n = top ? strlen(top) : 0;
    int d = !top || strncmp(dir, top, n) != 0 ? 0 : dir[n] == 0 ? 1 : dir[n] == '/' ? 2 : 0;
    free(top);
    for (const char *c = strstr(dir, "/.moksha"); c && !d; c = strstr(c + 1, "/.moksha"))
        d = c[8] == 0 ? 1 : c[8] == '/' ? 2 : 0;
    return d;
}

bool mk_planfile_target_ok(const char *path, char *why, size_t whylen)
{
    struct stat lsb, sb;
    bool exists = lstat(path, &lsb) == 0, link = exists && S_ISLNK(lsb.st_mode);
    char *real = link ? realpath(path, NULL) : NULL; /* a link is judged by what it points to */
    const char *target = real ? real : path;
    const char *name = strrchr(target, '/');
    name = name ? name + 1 : target;
    size_t nlen = strlen(name);
    char *dir = parent_of(target);
    int depth = dir ? depth_in_moksha_dir(dir) : 0;
    const char *via = link ? " (through a link)" : "";
    why[0] = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(why, whylen, "`%s` is a directory%s", path, via);
    else if (nlen >= 7 && strcmp(name + nlen - 7, ".moksha") == 0)
        snprintf(why, whylen, "`%s` is a moksha source file%s", path, via);
    else if (depth == 2 || (depth == 1 && !(nlen > 5 && strcmp(name + nlen - 5, ".plan") == 0)))
        snprintf(why, whylen, "`%s` is under .moksha/, which holds the state, the key and the audit log%s: only a "
                 "NAME.plan file directly in it may be written", path, via);
    else if (exists && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        snprintf(why, whylen, "`%s` is not a regular file%s", path, via);
    else if (exists && stat(path, &sb) == 0 && !holds_a_plan(path))
        snprintf(why, whylen, "`%s` exists and is not a plan file%s: it is not replaced", path, via);
    free(real);
    free(dir);
    return why[0] == 0;
}

bool mk_planfile_write(const char *text, const char *path)
{
    struct iovec parts[] = {{(void *)text, strlen(text)}, {"\n", 1}};
    return mk_atomic_write(path, parts, 2, 0600);
}
