/* approvalfile — reading, checking, signing and writing approval files,
 * and the two digests approvals bind to (approvalfile.h). The checks are
 * the shape docs/trust.md gives, refused at the first wrong field with its
 * place named; whether an approval counts is the executor's. */
#include "compiler/base/approvalfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/jalloc.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/trustfile.h"

#define TEXT_MAX 1024 /* a policy's name or an address in an approval */

typedef struct check {
    char *why;
    size_t n;
    bool bad;
} check;

static bool say(check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool say(check *c, const char *fmt, ...)
{
    if (!c->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->n, fmt, ap);
        va_end(ap);
    }
    c->bad = true;
    return false;
}

/* o holds only fields of names (NULL-terminated), and every one of them
 * but those marked optional (a name starting with '?'). */
static bool fields_exactly(check *c, json_t *o, const char *const *names, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (names[i] && strcmp(names[i][0] == '?' ? names[i] + 1 : names[i], k) != 0)
            i++;
        if (!names[i])
            return say(c, "%s has a field `%s` an approval of this kind does not have", where, k);
    }
    for (size_t i = 0; names[i]; i++)
        if (names[i][0] != '?' && !json_object_get(o, names[i]))
            return say(c, "%s has no `%s`", where, names[i]);
    return true;
}

static bool hex_ok(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool hex_field(check *c, json_t *o, const char *field, size_t len, const char *where)
{
    if (!hex_ok(json_string_value(json_object_get(o, field)), len))
        return say(c, "%s`%s` is not %zu lowercase hex digits", where, field, len);
    return true;
}

/* A text of 1..max bytes and no control character (a line break in a
 * reason or an address could fake a line of `audit show`). */
static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool text_field(check *c, json_t *o, const char *field, bool nullable, const char *where)
{
    json_t *v = json_object_get(o, field);
    if (nullable && json_is_null(v))
        return true;
    if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
        return say(c, "%s`%s` holds a NUL byte", where, field);
    if (!text_ok(json_string_value(v), TEXT_MAX))
        return say(c, "%s`%s` is not a text of 1 to %d bytes without control characters%s", where, field, TEXT_MAX,
                   nullable ? ", or null" : "");
    return true;
}

/* An environment's name (docs/environments.md): 1 to 63 of a-z, 0-9, -
 * and _, starting with a letter or a digit, and not `global`. */
static bool env_ok(check *c, json_t *v)
{
    const char *s = json_string_value(v);
    if (json_is_null(v))
        return true;
    if (!s || strlen(s) > 63 || !mk_sign_name_ok(s, strlen(s)) || strcmp(s, "global") == 0)
        return say(c, "`env` is not an environment's name (1 to 63 of a-z, 0-9, - and _) or null");
    return true;
}

static bool gates_ok(check *c, json_t *gates)
{
    static const char *const GATE[] = {"policy", "address", "group", "changes", NULL};
    static const char *const CHANGE[] = {"address", "digest", NULL};
    if (!json_is_array(gates) || !json_array_size(gates))
        return say(c, "`gates` is not a list of one or more gates");
    size_t i, k;
    json_t *g, *ch;
    json_array_foreach(gates, i, g) {
        char where[96];
        snprintf(where, sizeof where, "`gates[%zu]`", i);
        if (!json_is_object(g))
            return say(c, "%s is not an object", where);
        if (!fields_exactly(c, g, GATE, where))
            return false;
        snprintf(where, sizeof where, "gates[%zu]: ", i);
        const char *group = json_string_value(json_object_get(g, "group"));
        if (!text_field(c, g, "policy", false, where) || !text_field(c, g, "address", true, where))
            return false;
        if (!group || strlen(group) > MK_SIGN_NAME_MAX || !mk_sign_name_ok(group, strlen(group)))
            return say(c, "%s`group` is not a group's name ([a-z0-9][a-z0-9_-]*)", where);
        json_t *changes = json_object_get(g, "changes");
        if (!json_is_array(changes) || !json_array_size(changes))
            return say(c, "%s`changes` is not a list of one or more changes", where);
        json_array_foreach(changes, k, ch) {
            snprintf(where, sizeof where, "`gates[%zu].changes[%zu]`", i, k);
            if (!json_is_object(ch))
                return say(c, "%s is not an object of `address` and `digest`", where);
            if (!fields_exactly(c, ch, CHANGE, where))
                return false;
            snprintf(where, sizeof where, "gates[%zu].changes[%zu]: ", i, k);
            if (!text_field(c, ch, "address", false, where) || !hex_field(c, ch, "digest", 64, where))
                return false;
        }
    }
    return true;
}

/* The fields of each kind besides the common ones. */
static const char *const *kind_fields(const char *kind)
{
    static const char *const GATE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "gates", NULL};
    static const char *const OVERRIDE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "policy",
                                           "violations", NULL};
    static const char *const WAIVER[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "policy",
                                         "address", NULL};
    static const char *const GLASS[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "plan", NULL};
    static const char *const REVOKE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "revokes", NULL};
    static const char *const ACK[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "acknowledges",
                                      NULL};
    static const struct {
        const char *kind;
        const char *const *fields;
    } KINDS[] = {{"gate", GATE},     {"override", OVERRIDE}, {"waiver", WAIVER},
                 {"break_glass", GLASS}, {"revoke", REVOKE},   {"ack", ACK}};
    for (size_t i = 0; kind && i < sizeof KINDS / sizeof *KINDS; i++)
        if (strcmp(KINDS[i].kind, kind) == 0)
            return KINDS[i].fields;
    return NULL;
}

static bool times_ok(check *c, json_t *p, const char *kind)
{
    long long issued = mk_trustfile_time(json_string_value(json_object_get(p, "issued")) ?: "");
    long long expires = mk_trustfile_time(json_string_value(json_object_get(p, "expires")) ?: "");
    bool glass = strcmp(kind, "break_glass") == 0;
    long long max = glass ? MK_APPROVALFILE_GLASS_MAX : MK_APPROVALFILE_LIFE_MAX;
    if (issued < 0)
        return say(c, "`issued` is not a time in RFC 3339 UTC, e.g. \"2026-12-02T19:00:00Z\"");
    if (expires < 0)
        return say(c, "`expires` is not a time in RFC 3339 UTC, e.g. \"2026-12-03T19:00:00Z\"");
    if (expires <= issued)
        return say(c, "`expires` is not after `issued`");
    if (expires - issued > max)
        return say(c, "it lives longer than %s (from `issued` to `expires`)", glass ? "4 hours, a break glass's most" :
                                                                                   "7 days, an approval's most");
    return true;
}

static bool kind_ok(check *c, json_t *p, const char *kind)
{
    if (strcmp(kind, "gate") == 0)
        return gates_ok(c, json_object_get(p, "gates"));
    if (strcmp(kind, "override") == 0)
        return text_field(c, p, "policy", false, "") && hex_field(c, p, "violations", 64, "");
    if (strcmp(kind, "waiver") == 0)
        return text_field(c, p, "policy", false, "") && text_field(c, p, "address", false, "");
    if (strcmp(kind, "break_glass") == 0)
        return hex_field(c, p, "plan", 64, "");
    if (strcmp(kind, "revoke") == 0)
        return hex_field(c, p, "revokes", 32, "");
    return hex_field(c, p, "acknowledges", 64, "");
}

bool mk_approvalfile_check(json_t *p, char *why, size_t whylen)
{
    check c = {why, whylen, false};
    if (!json_is_object(p))
        return say(&c, "the payload is not a JSON object");
    const char *kind = json_string_value(json_object_get(p, "kind"));
    const char *const *fields = kind_fields(kind);
    if (!fields)
        return say(&c, "`kind` is not one of gate, override, waiver, break_glass, revoke and ack");
    const char *reason = json_string_value(json_object_get(p, "reason"));
    if (fields_exactly(&c, p, fields, "the payload") && hex_field(&c, p, "id", 32, "") &&
        hex_field(&c, p, "stack_id", 32, "") && env_ok(&c, json_object_get(p, "env")) && times_ok(&c, p, kind)) {
        if (!text_ok(reason, MK_APPROVALFILE_REASON_MAX) ||
            strlen(reason) != json_string_length(json_object_get(p, "reason")))
            say(&c, "`reason` is not a text of 1 to %d bytes without control characters", MK_APPROVALFILE_REASON_MAX);
        else
            kind_ok(&c, p, kind);
    }
    return !c.bad;
}

/* ---- the envelope ---- */

static bool signature_ok(check *c, json_t *s, mk_approvalfile *a)
{
    static const char *const FIELDS[] = {"algorithm", "type", "key", "key_id", "value", NULL};
    uint8_t raw[32];
    char id[MK_SIGN_ID_LEN];
    if (!json_is_object(s))
        return say(c, "`signature` is not an object");
    if (!fields_exactly(c, s, FIELDS, "`signature`"))
        return false;
    const char *alg = json_string_value(json_object_get(s, "algorithm"));
    const char *type = json_string_value(json_object_get(s, "type"));
    const char *key = json_string_value(json_object_get(s, "key"));
    const char *key_id = json_string_value(json_object_get(s, "key_id"));
    const char *value = json_string_value(json_object_get(s, "value"));
    if (!alg || strcmp(alg, "Ed25519") != 0)
        return say(c, "`signature.algorithm` is not \"Ed25519\"");
    if (!type || strcmp(type, "approval") != 0)
        return say(c, "`signature.type` is not \"approval\": a signature of another kind is never an approval");
    if (!key || !mk_sign_parse_public(key, raw))
        return say(c, "`signature.key` is not an Ed25519 public key (ed25519: and the base64 of 32 bytes)");
    mk_sign_id(raw, id);
    if (!key_id || strcmp(key_id, id) != 0)
        return say(c, "`signature.key_id` is not the id of `signature.key` (%s)", id);
    if (!value || strlen(value) != MK_SIGN_SIG_LEN - 1)
        return say(c, "`signature.value` is not the base64 of 64 bytes");
    memcpy(a->key, key, MK_SIGN_PUB_LEN);
    memcpy(a->key_id, id, MK_SIGN_ID_LEN);
    memcpy(a->value, value, MK_SIGN_SIG_LEN);
    return true;
}

/* The borrowed fields of a->doc. */
static void take_fields(mk_approvalfile *a)
{
    a->kind = json_string_value(json_object_get(a->doc, "kind"));
    a->id = json_string_value(json_object_get(a->doc, "id"));
    a->stack_id = json_string_value(json_object_get(a->doc, "stack_id"));
    a->env = json_string_value(json_object_get(a->doc, "env"));
    a->issued = mk_trustfile_time(json_string_value(json_object_get(a->doc, "issued")));
    a->expires = mk_trustfile_time(json_string_value(json_object_get(a->doc, "expires")));
}

static bool envelope_ok(check *c, json_t *doc, mk_approvalfile *a)
{
    static const char *const FIELDS[] = {"format", "payload", "signature", NULL};
    if (!json_is_object(doc))
        return say(c, "not an approval file: a JSON object of `format`, `payload` and `signature`");
    const char *format = json_string_value(json_object_get(doc, "format"));
    if (!format || strcmp(format, MK_APPROVALFILE_FORMAT) != 0)
        return say(c, "`format` is not \"%s\"", MK_APPROVALFILE_FORMAT);
    if (!fields_exactly(c, doc, FIELDS, "the envelope"))
        return false;
    json_t *payload = json_object_get(doc, "payload");
    if (!json_is_string(payload))
        return say(c, "`payload` is not the payload's JSON text, as a string");
    if (!signature_ok(c, json_object_get(doc, "signature"), a))
        return false;
    a->npayload = json_string_length(payload);
    a->payload = mk_mem_alloc(a->npayload + 1);
    memcpy(a->payload, json_string_value(payload), a->npayload + 1);
    json_error_t je;
    if (!(a->doc = json_loadb(a->payload, a->npayload, JSON_REJECT_DUPLICATES, &je))) {
        char msg[300];
        mk_jsonfile_parse_error("the payload", &je, a->payload, a->npayload, msg, sizeof msg);
        return say(c, "%s", msg);
    }
    if (!mk_approvalfile_check(a->doc, c->why, c->n))
        return c->bad = true, false;
    if (!mk_sign_verify(a->key, MK_SIGN_APPROVAL, a->payload, a->npayload, a->value))
        return say(c, "the signature does not verify: the payload was changed after it was signed, or another "
                   "key than %s signed it", a->key_id);
    take_fields(a);
    return true;
}

bool mk_approvalfile_parse(const char *text, size_t n, const char *what, mk_approvalfile *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    char msg[1200];
    check c = {msg, sizeof msg, false};
    json_error_t je;
    json_t *doc = NULL;
    if (n > MK_APPROVALFILE_MAX)
        say(&c, "larger than 64 KiB: no executor reads an approval that large");
    else if (!(doc = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je)))
        mk_jsonfile_parse_error(what, &je, text, n, why, whylen); /* (names what) */
    else
        envelope_ok(&c, doc, a);
    json_decref(doc);
    if (c.bad)
        snprintf(why, whylen, "%s: %s", what, msg);
    if (!doc || c.bad) {
        mk_approvalfile_free(a);
        return false;
    }
    return true;
}

bool mk_approvalfile_read(const char *path, mk_approvalfile *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    char *buf = mk_mem_alloc(MK_APPROVALFILE_MAX + 2);
    long n = mk_key_read_small(path, buf, MK_APPROVALFILE_MAX + 2, NULL);
    bool ok = false;
    if (n == -2)
        snprintf(why, whylen, "%s: not a regular file: an approval is a file `moksha approve` wrote", path);
    else if (n < 0)
        snprintf(why, whylen, "%s: cannot read it: %s", path, strerror(errno));
    else if (n > MK_APPROVALFILE_MAX)
        snprintf(why, whylen, "%s: larger than 64 KiB: no executor reads an approval that large", path);
    else
        ok = mk_approvalfile_parse(buf, (size_t)n, path, a, why, whylen);
    mk_mem_free(buf);
    return ok;
}

bool mk_approvalfile_sign(json_t *payload, struct evp_pkey_st *key, mk_approvalfile *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    if (!mk_approvalfile_check(payload, why, whylen))
        return false;
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text) {
        snprintf(why, whylen, "cannot write the payload's JSON");
        return false;
    }
    a->npayload = strlen(text);
    a->payload = mk_mem_strdup(text);
    mk_jalloc_free_text(text);
    mk_sign_public(key, a->key, a->key_id);
    if (!mk_sign_message(key, MK_SIGN_APPROVAL, a->payload, a->npayload, a->value)) {
        snprintf(why, whylen, "cannot sign with the key (OpenSSL)");
        mk_approvalfile_free(a);
        return false;
    }
    a->doc = json_incref(payload);
    take_fields(a);
    char *env = mk_approvalfile_envelope(a);
    size_t n = strlen(env);
    mk_mem_free(env);
    if (n > MK_APPROVALFILE_MAX) {
        snprintf(why, whylen, "signed, it would be larger than 64 KiB: no executor reads an approval that large "
                 "(approve fewer gates at once)");
        mk_approvalfile_free(a);
        return false;
    }
    return true;
}

char *mk_approvalfile_envelope(const mk_approvalfile *a)
{
    json_t *env = json_pack("{s:s, s:s%, s:{s:s, s:s, s:s, s:s, s:s}}", "format", MK_APPROVALFILE_FORMAT, "payload",
                            a->payload, a->npayload, "signature", "algorithm", "Ed25519", "type", "approval", "key",
                            a->key, "key_id", a->key_id, "value", a->value);
    char *text = json_dumps(env, JSON_INDENT(2));
    size_t n = text ? strlen(text) : 0;
    char *out = mk_mem_alloc(n + 2);
    memcpy(out, text ? text : "", n);
    out[n] = '\n', out[n + 1] = 0;
    mk_jalloc_free_text(text);
    json_decref(env);
    return out;
}

bool mk_approvalfile_write(const mk_approvalfile *a, const char *path, char *why, size_t whylen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(why, whylen, "%s exists: an approval never replaces a file (name another with -o, or remove it)",
                     path);
        else
            snprintf(why, whylen, "%s: cannot create it: %s", path, strerror(errno));
        return false;
    }
    char *text = mk_approvalfile_envelope(a);
    size_t n = strlen(text), off = 0;
    bool ok = true;
    while (ok && off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    int e = errno;
    ok = ok && fsync(fd) == 0;
    e = ok ? 0 : (errno ? errno : e);
    ok = close(fd) == 0 && ok;
    mk_mem_free(text);
    if (!ok) {
        snprintf(why, whylen, "%s: cannot write it: %s", path, strerror(e ? e : errno));
        unlink(path);
    }
    return ok;
}

void mk_approvalfile_free(mk_approvalfile *a)
{
    mk_mem_free(a->payload);
    json_decref(a->doc);
    memset(a, 0, sizeof *a);
}

/* ---- digests ---- */

/* A copy of v with every object holding "$secret" replaced by
 * {"$secret": its fingerprint, or null}: the digest sees which secret,
 * never its sealing (which changes with every plan). */
static json_t *without_sealing(json_t *v)
{
    if (json_is_object(v)) {
        json_t *s = json_object_get(v, "$secret");
        if (s) {
            json_t *fp = json_object_get(s, "fingerprint");
            return json_pack("{s:O}", "$secret", json_is_string(fp) ? fp : json_null());
        }
        json_t *o = json_object(), *x;
        const char *k;
        json_object_foreach(v, k, x)
            json_object_set_new(o, k, without_sealing(x));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x)
            json_array_append_new(a, without_sealing(x));
        return a;
    }
    return json_incref(v);
}

/* SHA-256 hex of head and the compact, key-sorted JSON of v (consumed). */
static bool digest_of(const char *head, json_t *v, char hex[65])
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(v);
    hex[0] = 0;
    if (!text)
        return false;
    size_t nh = strlen(head), nt = strlen(text);
    char *msg = mk_mem_alloc(nh + nt);
    memcpy(msg, head, nh);
    memcpy(msg + nh, text, nt);
    mk_key_sha256_hex(msg, nh + nt, hex);
    mk_mem_free(msg);
    mk_jalloc_free_text(text);
    return true;
}

bool mk_approvalfile_change_digest(json_t *change, char hex[65])
{
    hex[0] = 0;
    if (!json_is_object(change) || !json_is_string(json_object_get(change, "address")) ||
        !json_is_string(json_object_get(change, "action")))
        return false;
    static const char *const FIELDS[] = {"address", "action", "type", "before", "after"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        json_t *v = json_object_get(change, FIELDS[i]);
        json_object_set_new(o, FIELDS[i], v ? without_sealing(v) : json_null());
    }
    /* an attribute known only after apply is null in `after` whether the
     * file writes it or leaves it out (note [plan defaults]): out, always */
    json_t *after = json_object_get(o, "after"), *u;
    size_t k;
    json_array_foreach(json_object_get(change, "after_unknown"), k, u)
        if (json_is_object(after) && json_is_string(u))
            json_object_del(after, json_string_value(u));
    return digest_of("moksha-change/v1\n", o, hex);
}

static int violation_cmp(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    const char *aa = json_string_value(json_object_get(a, "address"));
    const char *ba = json_string_value(json_object_get(b, "address"));
    if (!aa != !ba)
        return aa ? 1 : -1; /* null first */
    int d = aa ? strcmp(aa, ba) : 0;
    return d ? d : strcmp(json_string_value(json_object_get(a, "message")), json_string_value(json_object_get(b, "message")));
}

bool mk_approvalfile_violations_digest(json_t *result, char hex[65])
{
    hex[0] = 0;
    json_t *vs = json_is_array(result) ? result : json_object_get(result, "violations"), *v;
    if (vs && !json_is_array(vs))
        return false;
    size_t n = json_array_size(vs), i;
    json_t **list = mk_mem_calloc(n + 1, sizeof *list);
    bool ok = true;
    json_array_foreach(vs, i, v) {
        json_t *addr = json_object_get(v, "address"), *msg = json_object_get(v, "message");
        if (!json_is_string(msg) || (addr && !json_is_null(addr) && !json_is_string(addr))) {
            ok = false;
            n = i;
            break;
        }
        list[i] = json_pack("{s:O, s:O}", "address", json_is_string(addr) ? addr : json_null(), "message", msg);
    }
    if (ok)
        qsort(list, n, sizeof *list, violation_cmp);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, list[i]);
    mk_mem_free(list);
    if (!ok) {
        json_decref(arr);
        return false;
    }
    return digest_of("moksha-violations/v1\n", arr, hex);
}
