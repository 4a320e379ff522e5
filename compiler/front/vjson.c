/* vjson — conversion between values and JSON. */
#include "compiler/front/vjson.h"

#include <stdio.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "compiler/front/program.h"

/* note [secret containers]: a list or map marked secret as a whole (what
 * jsondecode of a secret, a function of a secret or a comprehension over one
 * makes) is secret in its shape too: its keys can be the secret's text. It is
 * sealed whole, as its JSON text, with "json": true so the executor knows to
 * parse what it opens; the fingerprint is over that text. Only one that
 * still holds unknowns is written element by element, each scalar sealed. */
static json_t *seal_text(const mk_buf *text, const mk_key *key, bool seal, bool as_json)
{
    mk_buf b = *text;
    char fp[65] = "";
    if (key)
        mk_key_fingerprint(key, b.data ? b.data : "", b.len, fp);
    json_t *o = json_object();
    json_object_set_new(o, "fingerprint", json_string(fp));
    if (seal && key) {
        char *s = mk_key_seal(key, b.data ? b.data : "", b.len);
        json_object_set_new(o, "sealed", json_string(s));
        mk_mem_free(s);
    }
    if (as_json)
        json_object_set_new(o, "json", json_true());
    return json_pack("{s:o}", "$secret", o);
}

static json_t *secret_json(const mk_value *v, const mk_key *key, bool seal)
{
    mk_buf b = {0};
    mk_v_to_text(v, &b, true);
    json_t *j = seal_text(&b, key, seal, false);
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

static json_t *from(const mk_value *v, const mk_key *key, bool seal, bool *unknown, secrets_mode mode);

static json_t *secret_container(const mk_value *v, const mk_key *key, bool seal, bool *unknown)
{
    if (!mk_v_is_known(v)) /* not sealable yet: each scalar on its own */
        return from(v, key, seal, unknown, SECRETS_ALL);
    json_t *plain = from(v, key, seal, unknown, SECRETS_REVEAL);
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY, n = json_dumpb(plain, NULL, 0, flags);
    char *text = mk_mem_alloc(n + 1);
    mk_buf b = {0};
    mk_buf_put(&b, text, json_dumpb(plain, text, n, flags));
    memset(text, 0, n);
    mk_mem_free(text);
    json_decref(plain);
    json_t *j = seal_text(&b, key, seal, true);
    if (b.data)
        memset(b.data, 0, b.len);
    mk_buf_free(&b);
    return j;
}

json_t *mk_vjson_from(const mk_value *v, const mk_key *key, bool seal, bool *unknown)
{
    budget = MAX_NODES;
    return from(v, key, seal, unknown, SECRETS_SEAL);
}

bool mk_vjson_overflowed(void) { return overflowed; }

static json_t *from(const mk_value *v, const mk_key *key, bool seal, bool *unknown, secrets_mode mode)
{
    if (--budget < 0) {
        overflowed = true;
        return json_null();
    }
    bool scalar = v->kind != MK_V_LIST && v->kind != MK_V_MAP;
    bool secret = mode == SECRETS_ALL || (mode == SECRETS_SEAL && (v->flags & MK_VF_SECRET));
    if (secret && scalar && v->kind != MK_V_UNKNOWN && v->kind != MK_V_NULL)
        return secret_json(v, key, seal);
    if (secret && !scalar && mode == SECRETS_SEAL) /* note [secret containers] */
        return secret_container(v, key, seal, unknown);
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
    case MK_V_LIST: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < v->n && budget >= 0; i++)
            json_array_append_new(a, from(v->u.items[i], key, seal, unknown, mode));
        return a;
    }
    case MK_V_MAP: {
        json_t *o = json_object();
        for (uint32_t i = 0; i < v->n && budget >= 0; i++)
            json_object_set_new(o, v->u.map.keys[i], from(v->u.map.vals[i], key, seal, unknown, mode));
        return o;
    }
    case MK_V_RESOURCE:
        return json_pack("{s:s}", "$ref", ((const mk_instance *)v->u.res)->address);
    case MK_V_UNKNOWN:
        if (unknown)
            *unknown = true;
        if (v->u.res) { /* the executor fills it in: docs/formats.md, "$template" */
            const mk_deferred *d = v->u.res;
            json_t *parts = json_array();
            for (uint32_t i = 0; i < d->n; i++)
                json_array_append_new(parts, d->parts[i].text ? json_stringn(d->parts[i].text, d->parts[i].len)
                                      : json_pack("{s:s, s:s}", "$ref", d->parts[i].address, "attr", d->parts[i].attr));
            return json_pack("{s:o}", "$template", parts);
        }
        return json_null();
    default:
        if (unknown)
            *unknown = true;
        return json_null();
    }
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

static json_t *fingerprint_of(json_t *j)
{
    json_t *s = json_object_get(j, "$secret");
    return s ? json_object_get(s, "fingerprint") : NULL;
}

bool mk_vjson_same(json_t *a, json_t *b)
{
    json_t *fa = json_is_object(a) ? fingerprint_of(a) : NULL, *fb = json_is_object(b) ? fingerprint_of(b) : NULL;
    if (fa || fb)
        return fa && fb && json_equal(fa, fb);
    const char *ra = json_is_object(a) && !json_object_get(a, "attr") ? json_string_value(json_object_get(a, "$ref")) : NULL;
    const char *rb = json_is_object(b) && !json_object_get(b, "attr") ? json_string_value(json_object_get(b, "$ref")) : NULL;
    if (ra || rb) /* references by address: the id the state records beside one is the executor's (note [references by address] in plan.c) */
        return ra && rb && strcmp(ra, rb) == 0;
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *x;
        json_object_foreach(a, k, x) {
            json_t *y = json_object_get(b, k);
            if (!y || !mk_vjson_same(x, y))
                return false;
        }
        return true;
    }
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
