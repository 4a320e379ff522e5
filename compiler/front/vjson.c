/* vjson — conversion between values and JSON. */
#include "compiler/front/vjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "compiler/base/seal.h"
#include "compiler/front/program.h"

/* note [secret containers]: a list or map marked secret as a whole (what
 * jsondecode of a secret, a function of a secret or a comprehension over one
 * makes) is secret in its shape too: its keys can be the secret's text. It is
 * sealed whole, as its JSON text, with "json": true so the executor knows to
 * parse what it opens; the fingerprint is over that text. Only one that
 * still holds unknowns is written element by element, each scalar sealed. */

/* note [sealed where]: a key that seals to the executor (MOKSHA_SEAL_TO)
 * seals and fingerprints each secret for where it is: the resource's address
 * and its path from the attribute down, as compact JSON (docs/trust.md), so
 * that a sealed value moved to another attribute or resource does not open.
 * A list's index is the element's place in the array written, a template's
 * sealed part adds its place in "$template". The walks keep the path as a
 * chain of nodes on their own stack, innermost first, and write it out only
 * for a secret. With the project key (no trust set up) there is no path: the
 * secret is sealed and fingerprinted as it always was. */
typedef struct at_node {
    const struct at_node *up;
    const char *key; /* a map key or the attribute's name; NULL for a list's index */
    int64_t index;
} at_node;

/* What both walks seal with, and where they are. */
typedef struct sctx {
    const mk_key *key;
    bool seal;
    bool *unknown;
    const char *address;
    const at_node *at;
} sctx;

/* A secret's parts: its fingerprint ("" for none), its sealed copy
 * (malloc'd, NULL when not sealing) and, sealed to the executor, its key's
 * id. In the JSON: the project key's {"fingerprint", "sealed"}, the
 * executor's {"to", "sealed", "fingerprint"}, each present when it has a
 * value (docs/formats.md). */
typedef struct secret_parts {
    char fp[65];
    char *sealed;
    const char *to;
} secret_parts;

/* The path at (and a template's part, when part >= 0) as compact JSON. */
static void path_text(const at_node *at, int64_t part, mk_buf *out)
{
    size_t n = 0;
    for (const at_node *p = at; p; p = p->up)
        n++;
    const at_node **v = mk_mem_alloc((n + 1) * sizeof *v);
    for (size_t i = n; at; at = at->up)
        v[--i] = at;
    mk_buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            mk_buf_putc(out, ',');
        if (v[i]->key)
            mk_vjson_put_string(out, v[i]->key, strlen(v[i]->key));
        else
            mk_vjson_put_int(out, v[i]->index);
    }
    if (part >= 0) {
        if (n)
            mk_buf_putc(out, ',');
        mk_vjson_put_int(out, part);
    }
    mk_buf_putc(out, ']');
    mk_mem_free(v);
}

/* Sealed to the executor for where it is (note [sealed where]). */
static void seal_to_executor(const char *t, size_t n, const sctx *c, int64_t part, secret_parts *o)
{
    mk_buf path = {0};
    path_text(c->at, part, &path);
    const char *p = mk_buf_cstr(&path);
    o->to = c->key->seal_to_id;
    if (c->key->has_fp_key)
        mk_seal_fingerprint(c->key->fp_key, c->address, p, t, n, o->fp);
    /* the key was tried when loaded: only an allocation fails now */
    if (c->seal && !(o->sealed = mk_seal_seal(c->key->seal_to, c->address, p, t, n)))
        mk_mem_oom();
    mk_buf_free(&path);
}

/* The parts of text, as JSON (seal_text) or as text (wr_sealed). */
static void seal_parts(const mk_buf *text, const sctx *c, int64_t part, secret_parts *o)
{
    const char *t = text->data ? text->data : "";
    *o = (secret_parts){{0}, NULL, NULL};
    if (c->key && c->key->has_seal_to) {
        seal_to_executor(t, text->len, c, part, o);
        return;
    }
    if (c->key)
        mk_key_fingerprint(c->key, t, text->len, o->fp);
    if (c->seal && c->key)
        o->sealed = mk_key_seal(c->key, t, text->len);
}

static json_t *seal_text(const mk_buf *text, const sctx *c, int64_t part, bool as_json)
{
    secret_parts s;
    seal_parts(text, c, part, &s);
    json_t *o = json_object();
    if (!s.to)
        json_object_set_new(o, "fingerprint", json_string(s.fp));
    if (s.sealed && s.to)
        json_object_set_new(o, "to", json_string(s.to));
    if (s.sealed)
        json_object_set_new(o, "sealed", json_string(s.sealed));
    if (s.to && s.fp[0])
        json_object_set_new(o, "fingerprint", json_string(s.fp));
    mk_mem_free(s.sealed);
    if (as_json)
        json_object_set_new(o, "json", json_true());
    return json_pack("{s:o}", "$secret", o);
}

static json_t *secret_json(const mk_value *v, const sctx *c)
{
    mk_buf b = {0};
    mk_v_to_text(v, &b, true);
    json_t *j = seal_text(&b, c, -1, false);
    if (b.data)
        memset(b.data, 0, b.len);
    mk_buf_free(&b);
    return j;
}

/* A value shares its parts (note [deep walks]); written out, a small DAG
 * can be astronomically large. Cap what one conversion writes. */
#define MAX_NODES 4000000
static _Thread_local long budget;
static _Thread_local bool overflowed;

/* How from() treats secrets: as $secret objects; as $secret objects also
 * when not marked (inside a secret container); or as their text (to seal a
 * container whole). */
typedef enum { SECRETS_SEAL, SECRETS_ALL, SECRETS_REVEAL } secrets_mode;

static json_t *from(const mk_value *v, sctx *c, secrets_mode mode);

static json_t *secret_container(const mk_value *v, sctx *c)
{
    if (!mk_v_is_known(v)) /* not sealable yet: each scalar on its own */
        return from(v, c, SECRETS_ALL);
    json_t *plain = from(v, c, SECRETS_REVEAL);
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY, n = json_dumpb(plain, NULL, 0, flags);
    char *text = mk_mem_alloc(n + 1);
    mk_buf b = {0};
    mk_buf_put(&b, text, json_dumpb(plain, text, n, flags));
    memset(text, 0, n);
    mk_mem_free(text);
    json_decref(plain);
    json_t *j = seal_text(&b, c, -1, true);
    if (b.data)
        memset(b.data, 0, b.len);
    mk_buf_free(&b);
    return j;
}

/* The walks start at the attribute (note [sealed where]). */
static sctx start(const mk_key *key, bool seal, const mk_vjson_at *at, bool *unknown, at_node *top)
{
    *top = (at_node){NULL, at ? at->attr : NULL, 0};
    return (sctx){key, seal, unknown, at && at->address ? at->address : "", top->key ? top : NULL};
}

json_t *mk_vjson_from(const mk_value *v, const mk_key *key, bool seal, const mk_vjson_at *at, bool *unknown)
{
    at_node top;
    sctx c = start(key, seal, at, unknown, &top);
    budget = MAX_NODES;
    return from(v, &c, SECRETS_SEAL);
}

bool mk_vjson_overflowed(void) { return overflowed; }

/* {"$template": [text | {"$ref", "attr"}, …]}, the text parts sealed when
 * the value is a secret (note [secret templates]). */
static json_t *template_json(const mk_deferred *d, sctx *c, bool secret)
{
    json_t *parts = json_array();
    for (uint32_t i = 0; i < d->n; i++) {
        const mk_defpart *p = &d->parts[i];
        json_t *part;
        if (p->text && secret) {
            mk_buf b = {0};
            mk_buf_put(&b, p->text, p->len);
            part = seal_text(&b, c, (int64_t)json_array_size(parts), false);
            if (b.data)
                memset(b.data, 0, b.len);
            mk_buf_free(&b);
        } else {
            part = p->text ? json_stringn(p->text, p->len) : json_pack("{s:s, s:s}", "$ref", p->address, "attr", p->attr);
        }
        json_array_append_new(parts, part);
    }
    return json_pack("{s:o}", "$template", parts);
}

/* A list's or map's elements, each at its place on the path. */
static json_t *from_container(const mk_value *v, sctx *c, secrets_mode mode)
{
    bool map = v->kind == MK_V_MAP;
    json_t *j = map ? json_object() : json_array();
    at_node here = {c->at, NULL, 0}; /* one node, moved along the elements */
    c->at = &here;
    for (uint32_t i = 0; i < v->n && budget >= 0; i++) {
        if (map) {
            here.key = v->u.map.keys[i];
            json_object_set_new(j, here.key, from(v->u.map.vals[i], c, mode));
        } else {
            here.index += json_array_append_new(j, from(v->u.items[i], c, mode)) == 0;
        }
    }
    c->at = here.up;
    return j;
}

static json_t *from(const mk_value *v, sctx *c, secrets_mode mode)
{
    if (--budget < 0) {
        overflowed = true;
        return json_null();
    }
    bool scalar = v->kind != MK_V_LIST && v->kind != MK_V_MAP;
    bool secret = mode == SECRETS_ALL || (mode == SECRETS_SEAL && (v->flags & MK_VF_SECRET));
    if (v->flags & MK_VF_SEALED) /* sealed already: its JSON as it came */
        return json_loadb(v->u.s, v->n, 0, NULL);
    if (secret && scalar && v->kind != MK_V_UNKNOWN && v->kind != MK_V_NULL)
        return secret_json(v, c);
    if (secret && !scalar && mode == SECRETS_SEAL) /* note [secret containers] */
        return secret_container(v, c);
    switch (v->kind) {
    case MK_V_NULL: return json_null();
    case MK_V_BOOL: return json_boolean(v->u.b);
    case MK_V_INT: return json_integer(v->u.i);
    case MK_V_NUMBER: return json_real(v->u.d);
    case MK_V_STRING: return json_stringn(v->u.s, v->n);
    case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY: {
        mk_buf b = {0};
        mk_v_show(v, &b, true); /* the literal: money keeps every digit, "$1.005" */
        json_t *j = json_stringn(b.data, b.len);
        mk_buf_free(&b);
        return j;
    }
    case MK_V_LIST: case MK_V_MAP:
        return from_container(v, c, mode);
    case MK_V_RESOURCE:
        return json_pack("{s:s}", "$ref", ((const mk_instance *)v->u.res)->address);
    case MK_V_UNKNOWN:
        if (c->unknown)
            *c->unknown = true;
        if (v->u.res) /* the executor fills it in: docs/formats.md, "$template" */
            return template_json(v->u.res, c, secret);
        return json_null();
    default:
        if (c->unknown)
            *c->unknown = true;
        return json_null();
    }
}

/* ---- values written as JSON text ----
 *
 * note [value text]: mk_vjson_write writes exactly what
 * json_dumps(mk_vjson_from(v, …), JSON_COMPACT) gives, without making the
 * tree: the same budget, unknown flag and sealing as from(), keys in the
 * value's order, strings escaped as jansson escapes them, reals with its
 * digits. Where jansson makes no value (a string that is not UTF-8, a number
 * that is not finite) nothing is written, and a list or map leaves that
 * element out as json_array_append_new and json_object_set_new do: what a
 * child wrote is taken back. A container sealed whole is its revealed text
 * with keys sorted (JSON_SORT_KEYS). tests/unit/test_vjson.c holds the two
 * ways together. */

/* mk_buf_put without the call when it fits: every byte the writer writes
 * comes through here. */
static inline void put(mk_buf *b, const char *s, size_t n)
{
    if (b->len + n < b->cap) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
    } else {
        mk_buf_put(b, s, n);
    }
}

#define PUT_LIT(b, s) put((b), (s), sizeof(s) - 1)

/* Valid UTF-8 as jansson checks it (no overlong forms, no surrogates);
 * ASCII, most of what a plan holds, eight bytes at a time. */
bool mk_vjson_text_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < n;) {
        uint64_t word;
        if (n - i >= 8 && (memcpy(&word, s + i, 8), (word & UINT64_C(0x8080808080808080)) == 0)) {
            i += 8;
            continue;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = s[i] >= 0xC2 && s[i] < 0xE0 ? 2 : s[i] >= 0xE0 && s[i] < 0xF0 ? 3 : s[i] >= 0xF0 && s[i] < 0xF5 ? 4 : 0;
        if (len == 0 || len > n - i)
            return false;
        uint32_t cp = s[i] & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return false;
        i += len;
    }
    return true;
}

void mk_vjson_put_string(mk_buf *out, const char *s, size_t n)
{
    static const char short_esc[32] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    size_t run = 0;
    PUT_LIT(out, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(out, s + run, i - run);
        char esc[8] = {'\\', (char)c};
        if (c < 0x20 && short_esc[c])
            esc[1] = short_esc[c];
        else if (c < 0x20)
            snprintf(esc, sizeof esc, "\\u%04X", c);
        put(out, esc, c < 0x20 && !short_esc[c] ? 6 : 2);
        run = i + 1;
    }
    put(out, s + run, n - run);
    PUT_LIT(out, "\"");
}

void mk_vjson_put_int(mk_buf *out, int64_t i)
{
    char d[24], *e = d + sizeof d, *p = e;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (i < 0)
        *--p = '-';
    put(out, p, (size_t)(e - p));
}

/* A real as jansson writes it (jsonp_dtostr): 17 significant digits, a
 * ".0" when they hold neither a point nor an exponent, the exponent without
 * its `+` and leading zeros. False for what jansson refuses to make. */
bool mk_vjson_put_real(mk_buf *out, double d)
{
    if (!isfinite(d))
        return false;
    char b[48];
    size_t n = (size_t)snprintf(b, sizeof b - 3, "%.17g", d);
    if (!strchr(b, '.') && !strchr(b, 'e'))
        memcpy(b + n, ".0", 3), n += 2;
    char *start = strchr(b, 'e');
    if (start) {
        char *end = ++start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        memmove(start, end, (size_t)(b + n - end) + 1);
        n -= (size_t)(end - start);
    }
    put(out, b, n);
    return true;
}

void mk_vjson_put(mk_buf *out, json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        PUT_LIT(out, "{");
        i = 0;
        json_object_foreach(v, k, x) {
            if (i++)
                PUT_LIT(out, ",");
            mk_vjson_put_string(out, k, strlen(k));
            PUT_LIT(out, ":");
            mk_vjson_put(out, x);
        }
        PUT_LIT(out, "}");
        break;
    case JSON_ARRAY:
        PUT_LIT(out, "[");
        json_array_foreach(v, i, x) {
            if (i)
                PUT_LIT(out, ",");
            mk_vjson_put(out, x);
        }
        PUT_LIT(out, "]");
        break;
    case JSON_STRING: mk_vjson_put_string(out, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: mk_vjson_put_int(out, json_integer_value(v)); break;
    case JSON_REAL: mk_vjson_put_real(out, json_real_value(v)); break;
    case JSON_TRUE: PUT_LIT(out, "true"); break;
    case JSON_FALSE: PUT_LIT(out, "false"); break;
    case JSON_NULL: PUT_LIT(out, "null"); break;
    }
}

typedef struct wctx {
    mk_buf *out;
    sctx c;
    bool sorted; /* keys in JSON_SORT_KEYS order (a container sealed whole) */
} wctx;

static bool wr(wctx *w, const mk_value *v, secrets_mode mode);

static void take_back(mk_buf *b, size_t mark)
{
    b->len = mark;
    if (b->data)
        b->data[mark] = 0;
}

/* One member of a $secret object, a comma before all but the first. */
static void wr_member(wctx *w, const char *name, const char *value, bool *first)
{
    if (!*first)
        PUT_LIT(w->out, ",");
    *first = false;
    mk_vjson_put_string(w->out, name, strlen(name));
    PUT_LIT(w->out, ":");
    mk_vjson_put_string(w->out, value, strlen(value));
}

/* {"$secret":{…}} of text (seal_text's object). */
static void wr_sealed(wctx *w, const mk_buf *text, int64_t part, bool as_json)
{
    secret_parts s;
    bool first = true;
    seal_parts(text, &w->c, part, &s);
    PUT_LIT(w->out, "{\"$secret\":{");
    if (!s.to)
        wr_member(w, "fingerprint", s.fp, &first);
    if (s.sealed && s.to)
        wr_member(w, "to", s.to, &first);
    if (s.sealed)
        wr_member(w, "sealed", s.sealed, &first);
    if (s.to && s.fp[0])
        wr_member(w, "fingerprint", s.fp, &first);
    if (as_json && !first)
        PUT_LIT(w->out, ",");
    if (as_json)
        PUT_LIT(w->out, "\"json\":true}}");
    else
        PUT_LIT(w->out, "}}");
    mk_mem_free(s.sealed);
}

static void wr_secret(wctx *w, const mk_value *v)
{
    mk_buf b = {0};
    mk_v_to_text(v, &b, true);
    wr_sealed(w, &b, -1, false);
    if (b.data)
        memset(b.data, 0, b.len);
    mk_buf_free(&b);
}

static bool wr_secret_container(wctx *w, const mk_value *v)
{
    if (!mk_v_is_known(v))
        return wr(w, v, SECRETS_ALL);
    mk_buf plain = {0};
    wctx in = {&plain, w->c, true};
    wr(&in, v, SECRETS_REVEAL);
    wr_sealed(w, &plain, -1, true);
    if (plain.data)
        memset(plain.data, 0, plain.len);
    mk_buf_free(&plain);
    return true;
}

/* One element of a list or map: a comma before it unless it is the first
 * written, taken back when jansson would have made nothing of it. */
static void wr_element(wctx *w, const char *key, const mk_value *v, secrets_mode mode, uint32_t *written)
{
    size_t mark = w->out->len;
    if (*written)
        PUT_LIT(w->out, ",");
    if (key) {
        mk_vjson_put_string(w->out, key, strlen(key));
        PUT_LIT(w->out, ":");
    }
    bool ok = wr(w, v, mode) && (!key || mk_vjson_text_ok(key, strlen(key)));
    if (ok)
        ++*written;
    else
        take_back(w->out, mark);
}

typedef struct sorted_entry {
    const char *key;
    size_t at, len;
} sorted_entry;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const sorted_entry *)a)->key, ((const sorted_entry *)b)->key);
}

/* A map in sorted order: each entry written in the value's order (the
 * budget runs as from() runs it), then joined by key. Only revealed text
 * (a container sealed whole) is sorted: nothing in it is sealed, so its
 * elements need no place on the path. */
static void wr_sorted_map(wctx *w, const mk_value *v, secrets_mode mode)
{
    mk_buf parts = {0}, *out = w->out;
    sorted_entry *e = mk_mem_calloc(v->n + 1, sizeof *e);
    uint32_t n = 0;
    w->out = &parts;
    for (uint32_t i = 0; i < v->n && budget >= 0; i++) {
        uint32_t one = 0;
        size_t at = parts.len;
        wr_element(w, v->u.map.keys[i], v->u.map.vals[i], mode, &one);
        if (one)
            e[n++] = (sorted_entry){v->u.map.keys[i], at, parts.len - at};
    }
    w->out = out;
    qsort(e, n, sizeof *e, by_key);
    PUT_LIT(out, "{");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            PUT_LIT(out, ",");
        mk_buf_put(out, parts.data + e[i].at, e[i].len);
    }
    PUT_LIT(out, "}");
    if (parts.data)
        memset(parts.data, 0, parts.len);
    mk_buf_free(&parts);
    mk_mem_free(e);
}

static void wr_container(wctx *w, const mk_value *v, secrets_mode mode)
{
    bool map = v->kind == MK_V_MAP;
    if (map && w->sorted) {
        wr_sorted_map(w, v, mode);
        return;
    }
    uint32_t written = 0;
    at_node here = {w->c.at, NULL, 0}; /* where each element stands: one node, moved along */
    w->c.at = &here;
    put(w->out, map ? "{" : "[", 1);
    for (uint32_t i = 0; i < v->n && budget >= 0; i++) {
        here.key = map ? v->u.map.keys[i] : NULL, here.index = written;
        wr_element(w, here.key, map ? v->u.map.vals[i] : v->u.items[i], mode, &written);
    }
    put(w->out, map ? "}" : "]", 1);
    w->c.at = here.up;
}

bool mk_vjson_part_ok(const mk_defpart *p)
{
    return p->text ? mk_vjson_text_ok(p->text, p->len)
                   : mk_vjson_text_ok(p->address, strlen(p->address)) && mk_vjson_text_ok(p->attr, strlen(p->attr));
}

/* note [secret templates]: a template holding a secret (`"${var.pw}@${db.host}"`)
 * is unknown until apply, and its text parts are the secret's text: each is
 * sealed, as a secret is, and the executor opens them, joins the parts, and
 * gives the provider and the state the result sealed (runtime/exec.c). */
static bool wr_template(wctx *w, const mk_deferred *d, bool secret)
{
    PUT_LIT(w->out, "{\"$template\":[");
    int64_t written = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        const mk_defpart *p = &d->parts[i];
        if (!mk_vjson_part_ok(p))
            continue;
        if (written++)
            PUT_LIT(w->out, ",");
        if (p->text && secret) {
            mk_buf b = {0};
            mk_buf_put(&b, p->text, p->len);
            wr_sealed(w, &b, written - 1, false);
            if (b.data)
                memset(b.data, 0, b.len);
            mk_buf_free(&b);
            continue;
        }
        if (p->text) {
            mk_vjson_put_string(w->out, p->text, p->len);
            continue;
        }
        PUT_LIT(w->out, "{\"$ref\":");
        mk_vjson_put_string(w->out, p->address, strlen(p->address));
        PUT_LIT(w->out, ",\"attr\":");
        mk_vjson_put_string(w->out, p->attr, strlen(p->attr));
        PUT_LIT(w->out, "}");
    }
    PUT_LIT(w->out, "]}");
    return true;
}

static bool wr_scalar(wctx *w, const mk_value *v)
{
    switch (v->kind) {
    case MK_V_NULL: PUT_LIT(w->out, "null"); return true;
    case MK_V_BOOL: put(w->out, v->u.b ? "true" : "false", v->u.b ? 4 : 5); return true;
    case MK_V_INT: mk_vjson_put_int(w->out, v->u.i); return true;
    case MK_V_NUMBER: return mk_vjson_put_real(w->out, v->u.d);
    case MK_V_STRING:
        if (!mk_vjson_text_ok(v->u.s, v->n))
            return false;
        mk_vjson_put_string(w->out, v->u.s, v->n);
        return true;
    case MK_V_SIZE: case MK_V_DURATION: case MK_V_MONEY: /* the literal: "4GiB", "$1.005" (no character to escape) */
        PUT_LIT(w->out, "\"");
        mk_v_show(v, w->out, true);
        PUT_LIT(w->out, "\"");
        return true;
    case MK_V_RESOURCE: {
        const char *a = ((const mk_instance *)v->u.res)->address;
        if (!mk_vjson_text_ok(a, strlen(a)))
            return false;
        PUT_LIT(w->out, "{\"$ref\":");
        mk_vjson_put_string(w->out, a, strlen(a));
        PUT_LIT(w->out, "}");
        return true;
    }
    case MK_V_UNKNOWN:
        if (w->c.unknown)
            *w->c.unknown = true;
        if (v->u.res)
            return wr_template(w, v->u.res, false);
        PUT_LIT(w->out, "null");
        return true;
    default:
        if (w->c.unknown)
            *w->c.unknown = true;
        PUT_LIT(w->out, "null");
        return true;
    }
}

/* from(), written. */
static bool wr(wctx *w, const mk_value *v, secrets_mode mode)
{
    if (--budget < 0) {
        overflowed = true;
        PUT_LIT(w->out, "null");
        return true;
    }
    bool scalar = v->kind != MK_V_LIST && v->kind != MK_V_MAP;
    bool secret = mode == SECRETS_ALL || (mode == SECRETS_SEAL && (v->flags & MK_VF_SECRET));
    if (v->flags & MK_VF_SEALED) { /* from(): its JSON, which is compact already */
        put(w->out, v->u.s, v->n);
        return true;
    }
    if (secret && scalar && v->kind != MK_V_UNKNOWN && v->kind != MK_V_NULL) {
        wr_secret(w, v);
        return true;
    }
    if (secret && v->kind == MK_V_UNKNOWN && v->u.res) { /* note [secret templates] */
        if (w->c.unknown)
            *w->c.unknown = true;
        return wr_template(w, v->u.res, true);
    }
    if (secret && !scalar && mode == SECRETS_SEAL) /* note [secret containers] */
        return wr_secret_container(w, v);
    if (scalar)
        return wr_scalar(w, v);
    wr_container(w, v, mode);
    return true;
}

bool mk_vjson_write(mk_buf *out, const mk_value *v, const mk_key *key, bool seal, const mk_vjson_at *at, bool *unknown)
{
    at_node top;
    wctx w = {out, start(key, seal, at, unknown, &top), false};
    budget = MAX_NODES;
    size_t mark = out->len;
    bool ok = wr(&w, v, SECRETS_SEAL);
    if (!ok)
        take_back(out, mark);
    return ok;
}

mk_value *mk_vjson_to(mk_vctx *c, json_t *j, const mk_type *ty)
{
    switch (ty->kind) {
    case MK_T_STRING: case MK_T_ENUM:
        return json_is_string(j) ? mk_v_str(c, json_string_value(j), (uint32_t)json_string_length(j)) : NULL;
    case MK_T_INT: return json_is_integer(j) ? mk_v_int(c, json_integer_value(j)) : NULL;
    case MK_T_NUMBER: return json_is_number(j) ? mk_v_number(c, json_number_value(j)) : NULL;
    case MK_T_BOOL: return json_is_boolean(j) ? mk_v_bool(json_is_true(j)) : NULL;
    case MK_T_LIST: {
        if (!json_is_array(j))
            return NULL;
        mk_value *l = mk_v_list(c, (uint32_t)json_array_size(j));
        for (uint32_t i = 0; i < l->n; i++)
            if (!(l->u.items[i] = mk_vjson_to(c, json_array_get(j, i), ty->elem)))
                return NULL;
        return l;
    }
    case MK_T_MAP: {
        if (!json_is_object(j))
            return NULL;
        mk_vbuild vb = {0};
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) {
            mk_value *e = mk_vjson_to(c, x, ty->elem);
            if (!e)
                return NULL;
            mk_vb_push(c, &vb, mk_intern_s(c->names, k), e);
        }
        return mk_vb_map(c, &vb);
    }
    default: return NULL;
    }
}

mk_value *mk_vjson_to_any(mk_vctx *c, json_t *j, bool secrets)
{
    switch (json_typeof(j)) {
    case JSON_STRING: return mk_v_str(c, json_string_value(j), (uint32_t)json_string_length(j));
    case JSON_INTEGER: return mk_v_int(c, json_integer_value(j));
    case JSON_REAL: return mk_v_number(c, json_real_value(j));
    case JSON_TRUE: return mk_v_bool(true);
    case JSON_FALSE: return mk_v_bool(false);
    case JSON_ARRAY: {
        mk_value *l = mk_v_list(c, (uint32_t)json_array_size(j));
        for (uint32_t i = 0; i < l->n; i++)
            l->u.items[i] = mk_vjson_to_any(c, json_array_get(j, i), secrets);
        return l;
    }
    case JSON_OBJECT: {
        if (secrets && json_object_get(j, "$secret"))
            return mk_v_with_flags(c, mk_v_cstr(c, "(sensitive)"), MK_VF_SECRET);
        mk_vbuild vb = {0};
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x)
            mk_vb_push(c, &vb, mk_intern_s(c->names, k), mk_vjson_to_any(c, x, secrets));
        return mk_vb_map(c, &vb);
    }
    default: return MK_V_NULLV;
    }
}

json_t *mk_vjson_money(mk_money m)
{
    char t[MK_MONEY_TEXT];
    return json_string(mk_money_decimal(m, t));
}

static json_t *secret_of(json_t *j) { return json_is_object(j) ? json_object_get(j, "$secret") : NULL; }

/* Two objects are the same when their members are, a null member matching
 * a missing one: an object field added to a type with a null default (a
 * listener's redirect_https, say) is not a change of the objects applied
 * before it existed. */
static bool same_members(json_t *a, json_t *b)
{
    const char *k;
    json_t *x;
    json_object_foreach(a, k, x) {
        json_t *y = json_object_get(b, k);
        if (y ? !mk_vjson_same(x, y) : !json_is_null(x))
            return false;
    }
    json_object_foreach(b, k, x) /* b's own members: only null ones may be missing from a */
        if (!json_object_get(a, k) && !json_is_null(x))
            return false;
    return true;
}

/* A secret is the same only by fingerprint: one without (sealed to the
 * executor against a state that has no fingerprint_key) is never. */
bool mk_vjson_same(json_t *a, json_t *b)
{
    json_t *sa = secret_of(a), *sb = secret_of(b);
    if (sa || sb) {
        json_t *fa = json_object_get(sa, "fingerprint"), *fb = json_object_get(sb, "fingerprint");
        return fa && fb && json_equal(fa, fb);
    }
    const char *ra = json_is_object(a) && !json_object_get(a, "attr") ? json_string_value(json_object_get(a, "$ref")) : NULL;
    const char *rb = json_is_object(b) && !json_object_get(b, "attr") ? json_string_value(json_object_get(b, "$ref")) : NULL;
    if (ra || rb) /* references by address: the id the state records beside one is the executor's (note [references by address] in plan.c) */
        return ra && rb && strcmp(ra, rb) == 0;
    if (json_is_object(a) && json_is_object(b))
        return same_members(a, b);
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!mk_vjson_same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}
