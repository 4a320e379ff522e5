/* plan — the differ, risk, edges and the plan document (back/planfile
 * signs and writes it).
 *
 * note [plan order]: changes are numbered in the evaluator's instance order,
 * where a resource comes after everything it refers to, then deletes. A
 * change's depends_on lists the ids it must wait for: the creates and
 * updates of what it refers to; for a delete, the changes of everything that
 * referred to the deleted resource when it was applied (so references are
 * removed before their target, in reverse dependency order). */
#include "compiler/middle/plan.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/base/symtab.h"
#include "compiler/front/vjson.h"

static const char *const ACTIONS[] = {"noop", "create", "update", "replace", "delete"};
enum { A_NOOP, A_CREATE, A_UPDATE, A_REPLACE, A_DELETE };

static const char *risk_of(int action, const char *type, json_t *changed);

const char *mk_plan_action_name(mk_action a) { return a <= MK_ACT_DELETE ? ACTIONS[a] : "noop"; }

const char *mk_plan_risk_name(mk_risk r)
{
    static const char *const RISKS[] = {"low", "medium", "high"};
    return r <= MK_RISK_HIGH ? RISKS[r] : "high";
}

void mk_plan_free(mk_plan *p)
{
    if (!p)
        return;
    json_decref(p->providers);
    json_decref(p->outputs);
    json_decref(p->policies);
    mk_arena_free(p->arena); /* (the plan itself is in it) */
}

static bool stateful(const char *type)
{
    return !strcmp(type, "database") || !strcmp(type, "bucket") || !strcmp(type, "volume") || !strcmp(type, "queue");
}

static bool access_type(const char *type)
{
    return !strcmp(type, "network") || !strcmp(type, "firewall") || !strcmp(type, "load_balancer") ||
           !strcmp(type, "dns_record");
}

/* DESIGN.md §4: low (create, no-op, tag-only update), medium (in-place
 * update), high (delete or replace of stateful types, network or access changes). */
const char *mk_plan_risk(const char *action, const char *type, json_t *changed)
{
    int a = !strcmp(action, "create") ? A_CREATE : !strcmp(action, "update") ? A_UPDATE
          : !strcmp(action, "replace") ? A_REPLACE : !strcmp(action, "delete") ? A_DELETE : A_NOOP;
    return risk_of(a, type, changed);
}

static const char *risk_of(int action, const char *type, json_t *changed)
{
    if (action == A_CREATE || action == A_NOOP)
        return "low";
    if (action == A_UPDATE) {
        bool tags_only = json_array_size(changed) > 0;
        for (size_t i = 0; i < json_array_size(changed); i++)
            tags_only &= strcmp(json_string_value(json_array_get(changed, i)), "tags") == 0;
        if (tags_only)
            return "low";
        return access_type(type) ? "high" : "medium";
    }
    return stateful(type) || access_type(type) ? "high" : "medium";
}

static bool ignored(const mk_instance *in, const char *name)
{
    const mk_value *ic = in->ignore_changes;
    for (uint32_t i = 0; ic && i < ic->n; i++)
        if (ic->u.items[i]->kind == MK_V_STRING && strcmp(ic->u.items[i]->u.s, name) == 0)
            return true;
    return false;
}

/* note [shared values]: most changes of a big plan repeat the same small
 * values — a type's list of unknown attributes, an empty list of changed
 * ones, "create", "low", a lifecycle — and jansson's memory comes from the
 * bump allocator (compiler/base/jalloc.h), where every value costs for good.
 * Values that no one changes once in the plan are made once and shared
 * (jansson counts the references): a 100,000-change plan is ~20% smaller. */
typedef struct shared {
    json_t *lists;   /* "TYPE\x1fKIND\x1fNAME\x1f…" → array of names */
    json_t *strs;    /* text → string */
    json_t *lc[4];   /* lifecycle by (prevent_destroy, create_before_destroy) */
    mk_buf key;
} shared;

static json_t *shared_str(shared *sh, const char *s)
{
    json_t *v = json_object_get(sh->strs, s);
    if (!v) {
        v = json_string(s);
        json_object_set_new(sh->strs, s, v);
    }
    return json_incref(v);
}

/* The list of the fields of ty whose bit is set in `on`, shared. */
static json_t *shared_list(shared *sh, const mk_type *ty, char kind, const bool *on)
{
    sh->key.len = 0;
    mk_buf_puts(&sh->key, ty->name);
    char sep[3] = {'\x1f', kind, 0};
    mk_buf_puts(&sh->key, sep);
    for (uint32_t k = 0; k < ty->nfields; k++)
        if (on[k]) {
            mk_buf_putc(&sh->key, '\x1f');
            mk_buf_puts(&sh->key, ty->fields[k].name);
        }
    json_t *v = json_object_get(sh->lists, mk_buf_cstr(&sh->key));
    if (!v) {
        v = json_array();
        for (uint32_t k = 0; k < ty->nfields; k++)
            if (on[k])
                json_array_append_new(v, shared_str(sh, ty->fields[k].name));
        json_object_set_new(sh->lists, mk_buf_cstr(&sh->key), v);
    }
    return json_incref(v);
}

typedef struct diffed {
    json_t *after, *unknown, *sensitive, *changed, *forces;
} diffed;

/* A reference by address, {"$ref": ADDRESS} ({"$ref", "id"} in the state,
 * where the executor records the id it gave the provider); not a template's
 * part, which has "attr". */
static const char *ref_address(json_t *v)
{
    return json_is_object(v) && !json_object_get(v, "attr") ? json_string_value(json_object_get(v, "$ref")) : NULL;
}

/* Does a reference in v, at any depth, name a dependency of in that this
 * plan replaces? */
static bool refers_to_replaced(const mk_instance *in, json_t *v, int depth)
{
    const char *addr = ref_address(v);
    if (addr) {
        for (uint32_t i = 0; i < in->ndeps; i++)
            if (in->deps[i]->change && strcmp(in->deps[i]->address, addr) == 0)
                return strcmp(json_string_value(json_object_get(in->deps[i]->change, "action")) ?: "", "replace") == 0;
        return false;
    }
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return false;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (refers_to_replaced(in, x, depth + 1)) return true;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (refers_to_replaced(in, x, depth + 1)) return true;
    return false;
}

/* Does a reference the state records, at any depth, carry an id that is
 * no longer its target's (an apply stopped between a replace and the
 * update of what refers to it)? */
static bool refers_to_old_id(const mk_state *st, json_t *v, int depth)
{
    const char *addr = ref_address(v);
    if (addr) {
        const char *had = json_string_value(json_object_get(v, "id"));
        const char *now = json_string_value(json_object_get(json_object_get(mk_state_find(st, addr, NULL), "attributes"), "id"));
        return had && now && strcmp(had, now) != 0;
    }
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return false;
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (refers_to_old_id(st, x, depth + 1)) return true;
    if (json_is_object(v))
        json_object_foreach(v, k, x) if (refers_to_old_id(st, x, depth + 1)) return true;
    return false;
}

/* The desired attributes as JSON, and per field (bits[k], bits[nf + k], …)
 * whether it is unknown, sensitive, changed, and changed with force_new.
 * note [references by address]: an attribute that refers by address to a
 * resource this plan replaces changes (to the new object's id, known after
 * apply, which the executor gives the provider), though its text does not. */
static json_t *diff_values(mk_instance *in, json_t *before, const mk_key *key, const mk_state *st, bool *bits)
{
    const mk_type *ty = in->res->schema;
    uint32_t nf = ty ? ty->nfields : 0;
    bool *unk = bits, *sens = bits + nf, *chg = bits + 2 * nf, *frc = bits + 3 * nf;
    json_t *after = json_object();
    for (uint32_t k = 0; k < nf; k++) {
        const mk_field *f = &ty->fields[k];
        mk_value *v = in->attrs->u.map.vals[k];
        bool unknown = false;
        json_t *j = mk_vjson_from(v, key, true, &unknown);
        json_object_set_new(after, f->name, j);
        unk[k] = unknown;
        sens[k] = mk_v_is_secret(v);
        if (!before || (f->flags & MK_ANN_COMPUTED) || ignored(in, f->name))
            continue;
        json_t *old = json_object_get(before, f->name);
        if (in->ndeps && old && (refers_to_replaced(in, j, 0) || refers_to_old_id(st, old, 0))) {
            chg[k] = unk[k] = true;
            continue;
        }
        if (!unknown && old && mk_vjson_same(j, old))
            continue;
        if (!unknown && !old && json_is_null(j))
            continue;
        chg[k] = true;
        frc[k] = (f->flags & MK_ANN_FORCE_NEW) != 0;
    }
    return after;
}

/* The desired attributes as JSON, and how they differ from the state's.
 * false for a resource that does not change: then nothing is kept (its
 * values were made in scratch memory, note [scratch json]), as for most
 * resources of a re-plan. */
static bool diff_attrs(shared *sh, mk_instance *in, json_t *before, const mk_key *key, const mk_state *st, diffed *d)
{
    const mk_type *ty = in->res->schema;
    uint32_t nf = ty ? ty->nfields : 0;
    bool *bits = mk_mem_calloc(4 * (size_t)nf + 1, sizeof *bits);
    if (before) {
        mk_jalloc_scratch(true);
        json_decref(diff_values(in, before, key, st, bits)); /* (frees only without the arenas) */
        mk_jalloc_scratch(false);
        bool changes = false;
        for (uint32_t k = 0; k < nf && !changes; k++)
            changes = bits[2 * nf + k];
        if (!changes) {
            mk_mem_free(bits);
            return false;
        }
        memset(bits, 0, 4 * (size_t)nf * sizeof *bits);
    }
    d->after = diff_values(in, before, key, st, bits);
    if (ty) {
        d->unknown = shared_list(sh, ty, 'u', bits);
        d->sensitive = shared_list(sh, ty, 's', bits + nf);
        d->changed = shared_list(sh, ty, 'c', bits + 2 * nf);
        d->forces = shared_list(sh, ty, 'f', bits + 3 * nf);
    } else {
        d->unknown = json_array(), d->sensitive = json_array(), d->changed = json_array(), d->forces = json_array();
    }
    mk_mem_free(bits);
    return true;
}

/* `resource TYPE NAME`, up to its `{`; no place for a resource the spec no longer has. */
static mk_span head_span(mk_program *p, mk_instance *in)
{
    mk_span at = MK_NOSPAN;
    if (in) { /* `resource TYPE NAME`, up to its `{` */
        at = in->res->decl->span;
        const char *text = mk_src_get(&p->src, at.file)->text;
        uint32_t end = at.start;
        while (end < at.end && text[end] != '{')
            end++;
        while (end > at.start && text[end - 1] == ' ')
            end--;
        at.end = end;
    }
    return at;
}

static void prevent_destroy_error(mk_program *p, mk_instance *in, const char *address, const char *verb)
{
    mk_diag_item *it = mk_diag_error(p->diag, "E0301", head_span(p, in),
                                     "%s would be %s, but its lifecycle has prevent_destroy = true", address, verb);
    mk_diag_help(it, "if this is intended, set prevent_destroy = false and plan again");
}

/* note [deletion protection]: `deletion_protection = true` (database, and
 * any type that has the attribute) makes the cloud refuse to delete the
 * object — the sim provider too. A delete, or a replace (which deletes the
 * applied object), of an object applied with it on is refused here, where
 * the fix can be said: turn it off in one apply, delete in the next. What
 * counts is the applied object's value, not the desired one. */
static void deletion_protection_check(mk_program *p, mk_instance *in, json_t *applied, const char *address,
                                      const char *verb)
{
    if (!json_is_true(json_object_get(applied, "deletion_protection")))
        return;
    mk_diag_item *it = mk_diag_error(p->diag, "E0304", head_span(p, in),
                                     "%s would be %s, but it was applied with deletion_protection = true", address, verb);
    mk_diag_help(it, "the cloud refuses to delete it: set deletion_protection = false and apply first, then %s it",
                 strcmp(verb, "deleted") == 0 ? "delete" : "replace");
}

typedef struct builder {
    mk_program *p;
    mk_state *st;
    const mk_key *key;
    json_t *changes;
    mk_plan_totals *t;
    uint32_t next_id;
    shared sh;
} builder;

static json_t *lifecycle_json(builder *b, const mk_instance *in)
{
    json_t **lc = &b->sh.lc[in->prevent_destroy * 2 + in->create_before_destroy];
    if (!*lc)
        *lc = json_pack("{s:b, s:b}", "prevent_destroy", in->prevent_destroy, "create_before_destroy",
                        in->create_before_destroy);
    return json_incref(*lc);
}

static void add_desired(builder *b, mk_instance *in)
{
    size_t idx = 0;
    json_t *sr = mk_state_find(b->st, in->address, &idx);
    json_t *before = sr ? json_object_get(sr, "attributes") : NULL;
    if (sr)
        b->st->seen[idx] = true, b->st->like[idx] = in;
    diffed d;
    if (!diff_attrs(&b->sh, in, before, b->key, b->st, &d)) {
        b->t->noop++;
        return;
    }
    int action = !sr ? A_CREATE : json_array_size(d.forces) ? A_REPLACE : A_UPDATE;
    if (action == A_REPLACE && in->prevent_destroy)
        prevent_destroy_error(b->p, in, in->address, "replaced");
    if (action == A_REPLACE)
        deletion_protection_check(b->p, in, before, in->address, "replaced");
    in->change_id = ++b->next_id;
    json_t *deps = json_array(), *refs = json_array();
    for (uint32_t i = 0; i < in->ndeps; i++) {
        if (in->deps[i]->change_id && in->deps[i]->change_id != in->change_id)
            json_array_append_new(deps, json_integer(in->deps[i]->change_id));
        json_array_append_new(refs, json_string(in->deps[i]->address));
    }
    /* placement and cost are placeholders the cost model fills in: present
     * from the start, so that filling them does not grow the object */
    shared *sh = &b->sh;
    json_t *c = json_pack("{s:i, s:s, s:o, s:s, s:o?, s:o, s:O?, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:n, s:o, s:n}",
        "id", (json_int_t)in->change_id, "address", in->address, "type", shared_str(sh, in->res->type), "name",
        in->res->name, "provider", in->provider ? shared_str(sh, in->provider) : NULL, "action",
        shared_str(sh, ACTIONS[action]), "before", before, "after", d.after, "after_unknown", d.unknown, "sensitive",
        d.sensitive, "changed", d.changed, "replace_because", d.forces, "depends_on", deps, "risk",
        shared_str(sh, risk_of(action, in->res->type, d.changed)), "cost", "lifecycle", lifecycle_json(b, in), "placement");
    if (in->placement) {
        bool unk = false;
        json_object_set_new(c, "placement", mk_vjson_from(in->placement, NULL, false, &unk));
    }
    json_object_set_new(c, "refs", refs);
    json_array_append_new(b->changes, c);
    in->change = c;
    if (action == A_CREATE) b->t->create++;
    else if (action == A_UPDATE) b->t->update++;
    else b->t->replace++;
}

/* An instance of the resource a deleted state entry was (count went down),
 * for a place to point at; NULL when the spec no longer has it. */
static mk_instance *delete_decl(builder *b, json_t *sr)
{
    const char *ty = json_string_value(json_object_get(sr, "type")) ?: "";
    const char *name = json_string_value(json_object_get(sr, "name")) ?: "";
    for (size_t i = 0; i < b->p->ninstances; i++)
        if (strcmp(b->p->instances[i]->res->type, ty) == 0 && strcmp(b->p->instances[i]->res->name, name) == 0)
            return b->p->instances[i];
    return NULL;
}

/* A resource of the state that the spec no longer has. */
static void add_delete(builder *b, json_t *sr)
{
    const char *addr = json_string_value(json_object_get(sr, "address"));
    json_t *lc = json_object_get(sr, "lifecycle");
    if (json_is_true(json_object_get(lc, "prevent_destroy")))
        prevent_destroy_error(b->p, delete_decl(b, sr), addr, "deleted");
    if (json_is_true(json_object_get(json_object_get(sr, "attributes"), "deletion_protection")))
        deletion_protection_check(b->p, delete_decl(b, sr), json_object_get(sr, "attributes"), addr, "deleted");
    uint32_t id = ++b->next_id;
    json_t *c = json_pack("{s:i, s:s, s:O, s:O?, s:O?, s:s, s:O, s:n, s:[], s:O?, s:[], s:[], s:[], s:s, s:n, s:O?}",
        "id", (json_int_t)id, "address", addr, "type", json_object_get(sr, "type"), "name", json_object_get(sr, "name"),
        "provider", json_object_get(sr, "provider"), "action", "delete", "before", json_object_get(sr, "attributes"),
        "after", "after_unknown", "sensitive", json_object_get(sr, "sensitive"), "changed", "replace_because",
        "depends_on", "risk", risk_of(A_DELETE, json_string_value(json_object_get(sr, "type")), NULL), "cost",
        "placement", json_object_get(sr, "placement"));
    if (!json_object_get(c, "sensitive"))
        json_object_set_new(c, "sensitive", json_array());
    json_object_set_new(c, "lifecycle", lc ? json_incref(lc) : json_object());
    json_t *refs = json_object_get(sr, "depends_on");
    json_object_set_new(c, "refs", json_is_array(refs) ? json_copy(refs) : json_array());
    json_array_append_new(b->changes, c);
    b->t->remove++;
}

/* An object a create_before_destroy replace set aside and an apply that
 * died did not delete (docs/executor.md): deleted now, by its id. */
static void add_deposed(builder *b, json_t *sr, json_t *dep)
{
    json_t *before = json_object_get(dep, "attributes");
    json_t *c = json_pack("{s:i, s:O, s:O, s:O?, s:O?, s:s, s:O?, s:O, s:n, s:[], s:o, s:[], s:[], s:[], s:s, s:n, s:O?, s:O?}",
        "id", (json_int_t)++b->next_id, "address", json_object_get(sr, "address"), "deposed", json_object_get(dep, "id"),
        "type", json_object_get(sr, "type"), "name", json_object_get(sr, "name"), "action", "delete",
        "provider", json_object_get(sr, "provider"), "before", before ? before : json_null(), "after", "after_unknown",
        "sensitive", json_is_array(json_object_get(sr, "sensitive")) ? json_incref(json_object_get(sr, "sensitive")) : json_array(),
        "changed", "replace_because", "depends_on", "risk",
        mk_plan_risk("delete", json_string_value(json_object_get(sr, "type")) ?: "", NULL), "cost",
        "placement", json_object_get(dep, "placement"), "lifecycle", json_object_get(sr, "lifecycle"));
    if (!c)
        return;
    json_object_set_new(c, "refs", json_array());
    /* note [create_before_destroy]: after what refers to the resource has moved on */
    const char *addr = json_string_value(json_object_get(sr, "address"));
    size_t i, k;
    json_t *o, *ref;
    json_array_foreach(b->changes, i, o)
        json_array_foreach(json_object_get(o, "refs"), k, ref)
            if (addr && strcmp(json_string_value(ref) ?: "", addr) == 0) {
                json_array_append_new(json_object_get(c, "depends_on"), json_integer(json_integer_value(json_object_get(o, "id"))));
                break;
            }
    json_array_append_new(b->changes, c);
    b->t->remove++;
}

/* See note [plan order]: a delete waits for the changes of what referred to it. */
static void delete_edges(builder *b)
{
    if (b->t->remove == 0)
        return;
    mk_symtab by_addr = {0};
    mk_intern *names = b->p->ast.names;
    size_t i;
    json_t *c;
    json_array_foreach(b->changes, i, c)
        mk_sym_put(&by_addr, mk_intern_s(names, json_string_value(json_object_get(c, "address"))), NULL, c);
    for (size_t k = 0; k < b->st->nres; k++) {
        json_t *sr = b->st->res[k], *deps = json_object_get(sr, "depends_on");
        if (!json_is_array(deps) || json_array_size(deps) == 0)
            continue;
        json_t *me = mk_sym_get(&by_addr, mk_intern_s(names, json_string_value(json_object_get(sr, "address"))), NULL);
        size_t d;
        json_t *dep;
        json_array_foreach(deps, d, dep) {
            json_t *target = me && json_is_string(dep) ? mk_sym_get(&by_addr, mk_intern_s(names, json_string_value(dep)), NULL) : NULL;
            if (target && strcmp(json_string_value(json_object_get(target, "action")), "delete") == 0)
                json_array_append_new(json_object_get(target, "depends_on"), json_integer(json_integer_value(json_object_get(me, "id"))));
        }
    }
    mk_sym_free(&by_addr);
}

static json_t *outputs_json(mk_program *p, const mk_key *key)
{
    json_t *o = json_object();
    for (uint32_t i = 0; p->root && i < p->root->noutputs; i++) {
        mk_output *out = &p->root->outputs[i];
        bool unknown = false;
        json_t *v = out->value ? mk_vjson_from(out->value, key, true, &unknown) : json_null();
        json_object_set_new(o, out->decl->name, unknown ? json_null() : v);
        if (unknown)
            json_decref(v);
    }
    return o;
}

/* SHA-256 over every source file read (stdlib included) and the variables. */
static void inputs_digest(mk_program *p, const mk_key *key, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (uint32_t i = 0; i < p->nfile_ids; i++) {
        mk_source *f = mk_src_get(&p->src, p->file_ids[i]);
        EVP_DigestUpdate(md, f->name, strlen(f->name) + 1); /* the shown name: the same in every checkout */
        EVP_DigestUpdate(md, f->text, f->len);
    }
    for (uint32_t i = 0; p->root && i < p->root->nvars; i++) {
        mk_var *v = p->root->var_order[i];
        bool unk = false;
        json_t *j = v->value ? mk_vjson_from(v->value, key, false, &unk) : json_null();
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        EVP_DigestUpdate(md, v->decl->name, strlen(v->decl->name) + 1);
        if (s)
            EVP_DigestUpdate(md, s, strlen(s));
        mk_jalloc_free_text(s);
        json_decref(j);
    }
    unsigned char d[32];
    unsigned int n = 32;
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static json_t *providers_json(mk_program *p)
{
    bool unk = false;
    mk_value *pv = p->root ? p->root->provider_values : NULL;
    return pv ? mk_vjson_from(pv, NULL, false, &unk) : json_object();
}

json_t *mk_plan_build(mk_program *p, mk_state *st, const mk_key *key, mk_plan_totals *totals, bool destroy)
{
    memset(totals, 0, sizeof *totals);
    builder b = {p, st, key, json_array(), totals, 0, {json_object(), json_object(), {0}, {0}}};
    for (size_t i = 0; i < p->ninstances && !destroy; i++)
        add_desired(&b, p->instances[i]);
    st->diffed = !destroy;
    for (size_t i = 0; i < st->nres; i++)
        if (!st->seen[i])
            add_delete(&b, st->res[i]);
    delete_edges(&b);
    for (size_t i = 0; i < st->nres; i++) {
        size_t k;
        json_t *dep;
        json_array_foreach(json_object_get(st->res[i], "deposed"), k, dep)
            if (json_is_string(json_object_get(dep, "id")))
                add_deposed(&b, st->res[i], dep);
    }
    char digest[65];
    inputs_digest(p, key, digest);
    if (mk_vjson_overflowed()) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0303", MK_NOSPAN, "a value is too large for a plan (over 4,000,000 elements)");
        mk_diag_help(it, "a list or map that repeats itself grows with every level; build it with fewer levels");
    }
    const char *stack = p->root && p->root->stack_name ? p->root->stack_name : "stack";
    /* the stack id binds the plan to this stack (note [stack id] in docs/executor.md) */
    json_t *plan = json_pack("{s:s, s:s, s:s, s:b, s:{s:s?, s:s, s:I}, s:o, s:o, s:[], s:[], s:o, s:{s:i, s:i, s:i, s:i, s:i}}",
        "format", "moksha.plan/v1", "stack", stack, "inputs_digest", digest, "destroy", destroy,
        "state", "stack_id", key->stack_id[0] ? key->stack_id : NULL, "lineage", st->lineage, "serial", (json_int_t)st->serial,
        "providers", providers_json(p), "changes", b.changes, "gates", "policies", "outputs", outputs_json(p, key),
        "totals", "create", totals->create, "update", totals->update, "replace", totals->replace,
        "delete", totals->remove, "noop", totals->noop);
    json_decref(b.sh.lists);
    json_decref(b.sh.strs);
    for (int k = 0; k < 4; k++)
        json_decref(b.sh.lc[k]);
    mk_buf_free(&b.sh.key);
    return plan;
}
