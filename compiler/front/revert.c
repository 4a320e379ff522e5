/* revert — serial N's entries as desired instances (revert.h).
 *
 * note [sealed values]: a state's secrets are {"$secret": …} objects the
 * compiler cannot open (only the executor holds the key, in trust mode;
 * with the project key it could, and must not: a revert needs no
 * plaintext). Such a value becomes a string holding that JSON, marked
 * MK_VF_SECRET | MK_VF_SEALED: front/vjson.c writes it back byte for byte,
 * so the plan carries the state's own sealed copy — bound to the same
 * address and attribute, so it opens where it stands — and compares it by
 * its fingerprint as any secret. Nothing in it is ever shown or opened. */
#include "compiler/front/revert.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/mem.h"
#include "compiler/base/symtab.h"
#include "compiler/front/eval.h"
#include "compiler/front/eval_expr.h"
#include "compiler/front/parse.h"
#include "compiler/front/vjson.h"

typedef struct rv {
    mk_program *p;
    const mk_state *cur;
    mk_symtab made; /* address → the instance made for it */
} rv;

static mk_value *value_of(rv *r, json_t *j, const mk_type *ty);

static mk_value *sealed(rv *r, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    mk_value *v = mk_v_str(&r->p->v, text ? text : "null", (uint32_t)(text ? strlen(text) : 4));
    mk_jalloc_free_text(text);
    return mk_v_with_flags(&r->p->v, v, MK_VF_SECRET | MK_VF_SEALED);
}

/* A size, duration or money as the state writes it ("4GiB", "30s",
 * "$12.50") read back as a moksha literal; its text when it is none. */
static mk_value *literal(rv *r, json_t *j, const mk_type *ty)
{
    mk_program *p = r->p;
    const char *s = json_string_value(j);
    uint32_t n = (uint32_t)json_string_length(j);
    uint32_t id = mk_src_add(&p->src, "(state)", s, n);
    mk_diag *quiet = mk_diag_new(&p->src);
    mk_ast *e = mk_parse_expr(&p->ast, quiet, id, mk_src_get(&p->src, id)->text, n);
    mk_ev ev = {.p = p, .v = &p->v, .diag = quiet};
    mk_ectx c = {.e = &ev};
    mk_value *v = e ? mk_eval_expr(&c, e) : NULL;
    mk_diag_free(quiet);
    mk_vkind want = ty->kind == MK_T_SIZE ? MK_V_SIZE : ty->kind == MK_T_DURATION ? MK_V_DURATION : MK_V_MONEY;
    return v && v->kind == want ? v : mk_v_str(&p->v, s, n);
}

static const mk_type *elem_of(const mk_type *ty, const char *key)
{
    if (ty && (ty->kind == MK_T_LIST || ty->kind == MK_T_SET || ty->kind == MK_T_MAP))
        return ty->elem;
    const mk_field *f = ty && ty->kind == MK_T_OBJECT && key ? mk_type_field(ty, key) : NULL;
    return f ? f->type : &mk_type_any;
}

static mk_value *object_of(rv *r, json_t *j, const mk_type *ty)
{
    mk_vbuild vb = {0};
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x) {
        mk_name key = mk_intern_s(r->p->ast.names, k);
        mk_vb_push(&r->p->v, &vb, key, value_of(r, x, elem_of(ty, key)));
    }
    return mk_vb_map(&r->p->v, &vb);
}

/* A state value as the value the spec would have had: references to the
 * instances made, secrets sealed, units read back. */
static mk_value *value_of(rv *r, json_t *j, const mk_type *ty)
{
    if (json_is_object(j) && json_object_get(j, "$secret"))
        return sealed(r, j);
    const char *ref = json_is_object(j) && !json_object_get(j, "attr") ? json_string_value(json_object_get(j, "$ref")) : NULL;
    mk_instance *to = ref ? mk_sym_get(&r->made, mk_intern_s(r->p->ast.names, ref), NULL) : NULL;
    if (to)
        return mk_v_resource(&r->p->v, to);
    if (json_is_string(j) && (ty->kind == MK_T_SIZE || ty->kind == MK_T_DURATION || ty->kind == MK_T_MONEY))
        return literal(r, j, ty);
    if (json_is_array(j)) {
        mk_value *l = mk_v_list(&r->p->v, (uint32_t)json_array_size(j));
        for (uint32_t i = 0; i < l->n; i++)
            l->u.items[i] = value_of(r, json_array_get(j, i), elem_of(ty, NULL));
        return l;
    }
    if (json_is_object(j))
        return object_of(r, j, ty);
    return mk_vjson_to_any(&r->p->v, j, false);
}

/* The instance's attributes in its schema's order, as the evaluator makes
 * them: a computed one as the current state knows it, else unknown. */
static mk_value *attrs_of(rv *r, const mk_type *ty, json_t *attrs, const char *address)
{
    json_t *now = json_object_get(mk_state_find(r->cur, address, NULL), "attributes");
    mk_value *m = mk_v_map(&r->p->v, ty->nfields);
    for (uint32_t k = 0; k < ty->nfields; k++) {
        const mk_field *f = &ty->fields[k];
        json_t *j = json_object_get((f->flags & MK_ANN_COMPUTED) ? now : attrs, f->name);
        m->u.map.keys[k] = ty->field_names[k];
        if (!j)
            m->u.map.vals[k] = (f->flags & MK_ANN_COMPUTED) ? mk_v_unknown(&r->p->v, MK_V_ANY) : MK_V_NULLV;
        else
            m->u.map.vals[k] = value_of(r, j, f->type);
    }
    return m;
}

/* Where serial N had it, as a placement block that asks for that place. */
static mk_value *placement_of(rv *r, json_t *pl)
{
    const char *cloud = json_string_value(json_object_get(pl, "cloud"));
    const char *region = json_string_value(json_object_get(pl, "region"));
    if (!cloud || !region)
        return NULL;
    json_t *want = json_pack("{s:[s], s:[s]}", "providers", cloud, "regions", region);
    mk_value *v = mk_vjson_to_any(&r->p->v, want, false);
    json_decref(want);
    return v;
}

/* The spec's declaration of the resource, to point diagnostics and policy
 * locations at; else the stack block or the first file. */
static mk_ast *decl_for(mk_program *p, mk_instance **old, size_t nold, mk_name type, mk_name name)
{
    for (size_t i = 0; i < nold; i++)
        if (old[i]->res->type == type && old[i]->res->name == name)
            return old[i]->res->decl;
    return p->root ? (p->root->stack ? p->root->stack : p->root->nfiles ? p->root->files[0] : NULL) : NULL;
}

static void lifecycle_of(rv *r, mk_instance *in, json_t *lc)
{
    in->prevent_destroy = json_is_true(json_object_get(lc, "prevent_destroy"));
    in->create_before_destroy = json_is_true(json_object_get(lc, "create_before_destroy"));
    json_t *ic = json_object_get(lc, "ignore_changes");
    in->ignore_changes = json_is_array(ic) ? mk_vjson_to_any(&r->p->v, ic, false) : NULL;
    const char *d = json_string_value(json_object_get(lc, "drift"));
    in->drift = d && strcmp(d, "correct") != 0 ? mk_arena_strndup(r->p->ast.arena, d, strlen(d)) : NULL;
}

static void edges_of(rv *r, mk_instance *in, json_t *deps)
{
    size_t n = json_array_size(deps), i;
    json_t *d;
    in->deps = n ? mk_arena_alloc(r->p->ast.arena, n * sizeof *in->deps) : NULL;
    json_array_foreach(deps, i, d) {
        mk_instance *to = json_is_string(d) ? mk_sym_get(&r->made, mk_intern_s(r->p->ast.names, json_string_value(d)), NULL) : NULL;
        if (to)
            in->deps[in->ndeps++] = to;
    }
    in->capdeps = in->ndeps;
}

/* One entry as an instance; NULL (reported) when its type is not the stack's. */
static mk_instance *instance_of(rv *r, json_t *e, mk_instance **old, size_t nold)
{
    mk_program *p = r->p;
    mk_intern *names = p->ast.names;
    const char *ty_name = json_string_value(json_object_get(e, "type")) ?: "";
    const char *addr = json_string_value(json_object_get(e, "address")) ?: "";
    mk_type *ty = mk_type_lookup(p->types, mk_intern_s(names, ty_name));
    mk_resource *res = mk_arena_alloc(p->ast.arena, sizeof *res);
    memset(res, 0, sizeof *res);
    res->type = mk_intern_s(names, ty_name);
    res->name = mk_intern_s(names, json_string_value(json_object_get(e, "name")) ?: "");
    res->decl = decl_for(p, old, nold, res->type, res->name);
    if (!ty || !ty->is_resource || !res->decl) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0307", MK_NOSPAN, "%s: the serial reverted to has a resource of type "
                                         "`%s`, which this stack's types do not have", addr, ty_name);
        mk_diag_help(it, "revert from a checkout of the stack whose types (and imports) had it");
        return NULL;
    }
    res->schema = ty, res->unit = p->root, res->state = MK_EV_DONE;
    mk_instance *in = mk_arena_alloc(p->ast.arena, sizeof *in);
    memset(in, 0, sizeof *in);
    in->res = res;
    in->address = mk_arena_strndup(p->ast.arena, addr, strlen(addr));
    in->attrs = attrs_of(r, ty, json_object_get(e, "attributes"), addr);
    const char *prov = json_string_value(json_object_get(e, "provider"));
    in->provider = prov ? mk_intern_s(names, prov) : NULL;
    in->placement = placement_of(r, json_object_get(e, "placement"));
    lifecycle_of(r, in, json_object_get(e, "lifecycle"));
    edges_of(r, in, json_object_get(e, "depends_on"));
    return in;
}

/* Have all of entry e's dependencies that target holds been made? */
static bool ready(rv *r, const mk_state *target, json_t *e)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(e, "depends_on"), i, d) {
        const char *to = json_string_value(d);
        if (to && mk_state_find(target, to, NULL) && !mk_sym_get(&r->made, mk_intern_s(r->p->ast.names, to), NULL))
            return false;
    }
    return true;
}

/* Entry i of target made into v[*n]; false when it cannot be. */
static bool make_one(rv *r, const mk_state *target, size_t i, mk_instance **old, size_t nold, mk_instance **v, size_t *n)
{
    mk_instance *in = instance_of(r, target->res[i], old, nold);
    if (in) {
        v[(*n)++] = in;
        mk_sym_put(&r->made, mk_intern_s(r->p->ast.names, in->address), NULL, in);
    }
    return in != NULL;
}

bool mk_revert_desire(mk_program *p, const mk_state *target, const mk_state *current)
{
    rv r = {.p = p, .cur = current};
    mk_instance **old = p->instances, **v = mk_mem_calloc(target->nres + 1, sizeof *v);
    size_t nold = p->ninstances, n = 0;
    bool *done = mk_mem_calloc(target->nres + 1, sizeof *done), ok = true;
    /* note [plan order]: what an entry refers to comes first; a cycle
     * (which no state the executor wrote has) is broken in file order */
    while (n < target->nres && ok) {
        bool progress = false;
        for (size_t i = 0; i < target->nres && ok; i++)
            if (!done[i] && ready(&r, target, target->res[i]))
                ok = make_one(&r, target, i, old, nold, v, &n), done[i] = progress = true;
        for (size_t i = 0; i < target->nres && ok && !progress; i++)
            if (!done[i])
                ok = make_one(&r, target, i, old, nold, v, &n), done[i] = progress = true;
    }
    mk_mem_free(done);
    mk_sym_free(&r.made);
    mk_mem_free(old);
    p->instances = v, p->ninstances = n, p->capinst = target->nres + 1;
    mk_sym_free(&p->by_address);
    memset(&p->by_address, 0, sizeof p->by_address);
    p->nrelocs = 0;
    return ok;
}
