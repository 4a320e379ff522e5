/* types — type expressions, schemas and value checking. */
#include "compiler/front/types.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/mem.h"

mk_type mk_type_any = {.kind = MK_T_ANY};

typedef struct tslot {
    mk_name name;
    mk_type *ty;
} tslot;

struct mk_typetab {
    mk_ast_ctx *ast;
    mk_diag *diag;
    tslot *slots;
    size_t cap, count;
    mk_type **order; /* declaration order, for resolve_all and suggestions */
    size_t norder, ordcap;
    mk_type prims[MK_T_SECRET + 1];
};

static const char *const prim_names[] = {"any", "string", "int", "number", "bool", "size",
                                         "duration", "money", "secret"};

mk_typetab *mk_type_tab_new(mk_ast_ctx *ast, mk_diag *diag)
{
    mk_typetab *t = mk_mem_calloc(1, sizeof *t);
    t->ast = ast;
    t->diag = diag;
    t->cap = 256;
    t->slots = mk_mem_calloc(t->cap, sizeof *t->slots);
    for (int k = 0; k <= MK_T_SECRET; k++)
        t->prims[k].kind = (mk_tkind)k;
    return t;
}

void mk_type_tab_free(mk_typetab *t)
{
    if (!t)
        return;
    mk_mem_free(t->slots);
    mk_mem_free(t->order);
    mk_mem_free(t);
}

static size_t slot_of(const mk_typetab *t, mk_name name)
{
    size_t i = (size_t)((uintptr_t)name >> 4) & (t->cap - 1);
    while (t->slots[i].name && t->slots[i].name != name)
        i = (i + 1) & (t->cap - 1);
    return i;
}

mk_type *mk_type_lookup(mk_typetab *t, mk_name name)
{
    size_t i = slot_of(t, name);
    return t->slots[i].name ? t->slots[i].ty : NULL;
}

static void insert(mk_typetab *t, mk_name name, mk_type *ty)
{
    if ((t->count + 1) * 2 > t->cap) {
        tslot *old = t->slots;
        size_t oc = t->cap;
        t->cap *= 2;
        t->slots = mk_mem_calloc(t->cap, sizeof *t->slots);
        for (size_t i = 0; i < oc; i++)
            if (old[i].name)
                t->slots[slot_of(t, old[i].name)] = old[i];
        mk_mem_free(old);
    }
    t->slots[slot_of(t, name)] = (tslot){name, ty};
    t->count++;
    if (t->norder == t->ordcap) {
        t->ordcap = t->ordcap ? t->ordcap * 2 : 32;
        t->order = mk_mem_realloc(t->order, t->ordcap * sizeof *t->order);
    }
    t->order[t->norder++] = ty;
}

void mk_type_declare(mk_typetab *t, mk_ast *decl)
{
    mk_type *prev = mk_type_lookup(t, decl->name);
    bool prim = false;
    for (size_t i = 0; i < sizeof prim_names / sizeof *prim_names; i++)
        prim |= strcmp(decl->name, prim_names[i]) == 0;
    if (prev || prim) {
        mk_diag_item *it = mk_diag_error(t->diag, "E0115", decl->a ? decl->a->span : decl->span,
                                         "type `%s` is declared twice", decl->name);
        if (prev && prev->decl)
            mk_diag_note(it, prev->decl->a ? prev->decl->a->span : prev->decl->span, "first declared here");
        return;
    }
    mk_type *ty = mk_arena_alloc(t->ast->arena, sizeof *ty);
    ty->kind = MK_T_OBJECT;
    ty->name = decl->name;
    ty->decl = decl;
    ty->is_resource = (decl->flags & MK_ANN_RESOURCE) != 0;
    ty->is_stateful = (decl->flags & MK_ANN_STATEFUL) != 0;
    insert(t, decl->name, ty);
}

static void compile_fields(mk_typetab *t, mk_type *ty)
{
    ty->resolved = true;
    mk_ast_list *kids = &ty->decl->kids;
    ty->fields = mk_arena_alloc(t->ast->arena, (kids->n ? kids->n : 1) * sizeof *ty->fields);
    ty->field_names = mk_arena_alloc(t->ast->arena, (kids->n ? kids->n : 1) * sizeof *ty->field_names);
    for (uint32_t i = 0; i < kids->n; i++) {
        mk_ast *k = kids->v[i];
        if (k->kind != MK_AST_FIELD) {
            mk_diag_item *it = mk_diag_error(t->diag, "E0119", k->span, "a type block holds only fields");
            mk_diag_help(it, k->kind == MK_AST_ATTR ? "declare a field as `%s: TYPE [= default]`"
                                                    : "write fields as `NAME: TYPE [= default] [where COND]`",
                         k->name ? k->name : "name");
            continue;
        }
        if (mk_type_field(ty, k->name)) {
            mk_diag_error(t->diag, "E0115", k->span, "field `%s` is declared twice in type `%s`", k->name, ty->name);
            continue;
        }
        ty->field_names[ty->nfields] = k->name;
        mk_field *f = &ty->fields[ty->nfields++];
        f->name = k->name;
        f->decl = k;
        f->type = mk_type_from_ast(t, k->a);
        f->def = k->b;
        f->where = k->c;
        f->msg = k->d;
        f->flags = k->flags;
    }
}

void mk_type_resolve_all(mk_typetab *t)
{
    for (size_t i = 0; i < t->norder; i++)
        if (!t->order[i]->resolved)
            compile_fields(t, t->order[i]);
}

const mk_field *mk_type_field(const mk_type *obj, mk_name name)
{
    for (uint32_t i = 0; i < obj->nfields; i++)
        if (obj->fields[i].name == name)
            return &obj->fields[i];
    return NULL;
}

const char **mk_type_resource_names(mk_typetab *t, size_t *n)
{
    const char **v = mk_arena_alloc(t->ast->arena, (t->norder + 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < t->norder; i++)
        if (t->order[i]->is_resource)
            v[k++] = t->order[i]->name;
    *n = k;
    return v;
}

static mk_type *new_type(mk_typetab *t, mk_tkind k)
{
    mk_type *ty = mk_arena_alloc(t->ast->arena, sizeof *ty);
    ty->kind = k;
    return ty;
}

static mk_type *unknown_type(mk_typetab *t, mk_ast *te)
{
    const char *cands[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof prim_names / sizeof *prim_names; i++)
        cands[n++] = prim_names[i];
    const char *ctor[] = {"list", "map", "set", "enum", "ref"};
    for (size_t i = 0; i < 5; i++)
        cands[n++] = ctor[i];
    for (size_t i = 0; i < t->norder && n < 64; i++)
        cands[n++] = t->order[i]->name;
    mk_diag_item *it = mk_diag_error(t->diag, "E0113", te->span, "unknown type `%s`", te->name);
    static const char *const aliases[][2] = {
        {"integer", "int"}, {"str", "string"}, {"boolean", "bool"}, {"float", "number"},
        {"double", "number"}, {"object", "map(any)"}, {"array", "list(any)"}, {"dict", "map(any)"},
    };
    const char *s = mk_diag_suggest(te->name, cands, n);
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(te->name, aliases[i][0]) == 0)
            s = aliases[i][1];
    if (s)
        mk_diag_label(it, "did you mean `%s`?", s);
    else
        mk_diag_help(it, "types are string int number bool size duration money any secret, "
                         "list(T) map(T) set(T) enum(\"a\", …) ref(TYPE) and named types");
    return &mk_type_any;
}

static mk_type *ctor_type(mk_typetab *t, mk_ast *te)
{
    const char *n = te->name;
    if (strcmp(n, "enum") == 0) {
        mk_type *ty = new_type(t, MK_T_ENUM);
        ty->enums = mk_arena_alloc(t->ast->arena, (te->kids.n + 1) * sizeof(mk_name));
        for (uint32_t i = 0; i < te->kids.n; i++) {
            mk_ast *a = te->kids.v[i];
            if (a->kind != MK_AST_STRING) {
                mk_diag_error(t->diag, "E0113", a->span, "enum values are strings, e.g. enum(\"a\", \"b\")");
                continue;
            }
            ty->enums[ty->nenums++] = mk_intern_n(t->ast->names, a->str, mk_ast_len(a));
        }
        return ty;
    }
    bool coll = strcmp(n, "list") == 0 || strcmp(n, "map") == 0 || strcmp(n, "set") == 0;
    if ((coll || strcmp(n, "ref") == 0) && te->kids.n != 1) {
        mk_diag_error(t->diag, "E0113", te->span, "`%s` takes one type argument, e.g. %s(string)", n, n);
        return &mk_type_any;
    }
    mk_ast *arg = te->kids.v[0];
    if (coll) {
        mk_type *ty = new_type(t, n[0] == 'l' ? MK_T_LIST : n[0] == 'm' ? MK_T_MAP : MK_T_SET);
        ty->elem = arg->kind == MK_AST_TYPE ? mk_type_from_ast(t, arg) : &mk_type_any;
        return ty;
    }
    if (strcmp(n, "ref") == 0) {
        mk_type *target = arg->kind == MK_AST_TYPE ? mk_type_lookup(t, arg->name) : NULL;
        if (!target || !target->is_resource) {
            if (!target && arg->kind == MK_AST_TYPE)
                unknown_type(t, arg);
            else
                mk_diag_error(t->diag, "E0113", arg->span, "ref() takes a resource type, e.g. ref(network)");
            return &mk_type_any;
        }
        mk_type *ty = new_type(t, MK_T_REF);
        ty->ref = target->name;
        return ty;
    }
    mk_diag_item *it = mk_diag_error(t->diag, "E0113", te->span, "unknown type constructor `%s`", n);
    mk_diag_help(it, "type constructors are list(T), map(T), set(T), enum(\"a\", …) and ref(TYPE)");
    return &mk_type_any;
}

mk_type *mk_type_from_ast(mk_typetab *t, mk_ast *te)
{
    if (!te || te->kind != MK_AST_TYPE)
        return &mk_type_any;
    if (te->kids.n || strcmp(te->name, "enum") == 0)
        return ctor_type(t, te);
    for (int k = 0; k <= MK_T_SECRET; k++)
        if (strcmp(te->name, prim_names[k]) == 0)
            return &t->prims[k];
    mk_type *ty = mk_type_lookup(t, te->name);
    if (!ty)
        return unknown_type(t, te);
    return ty;
}

void mk_type_show(const mk_type *ty, mk_buf *out)
{
    switch (ty->kind) {
    case MK_T_LIST: case MK_T_SET: case MK_T_MAP:
        mk_buf_puts(out, ty->kind == MK_T_LIST ? "list(" : ty->kind == MK_T_SET ? "set(" : "map(");
        mk_type_show(ty->elem, out);
        mk_buf_putc(out, ')');
        break;
    case MK_T_ENUM:
        mk_buf_puts(out, "enum(");
        for (uint32_t i = 0; i < ty->nenums; i++)
            mk_buf_printf(out, "%s\"%s\"", i ? ", " : "", ty->enums[i]);
        mk_buf_putc(out, ')');
        break;
    case MK_T_REF: mk_buf_printf(out, "ref(%s)", ty->ref); break;
    case MK_T_OBJECT: mk_buf_puts(out, ty->name); break;
    default: mk_buf_puts(out, prim_names[ty->kind]);
    }
}

/* ---- checking values ---- */

static const char *found_name(const mk_value *v)
{
    mk_vkind k = v->kind == MK_V_UNKNOWN ? (mk_vkind)v->want : (mk_vkind)v->kind;
    return mk_v_kind_name(k);
}

static mk_value *mismatch(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at, const char *what)
{
    mk_buf b = {0};
    mk_type_show(ty, &b);
    bool unit = (ty->kind == MK_T_SIZE || ty->kind == MK_T_DURATION || ty->kind == MK_T_MONEY) &&
                (v->kind == MK_V_INT || v->kind == MK_V_NUMBER);
    mk_diag_item *it = mk_diag_error(c->diag, unit ? "E0203" : "E0200", at, "expected %s, found %s",
                                     mk_buf_cstr(&b), found_name(v));
    if (unit)
        mk_diag_label(it, "%s", ty->kind == MK_T_SIZE ? "write a unit, e.g. 4GiB"
                               : ty->kind == MK_T_DURATION ? "write a unit, e.g. 30s"
                                                           : "write an amount, e.g. $12.50");
    else if (ty->kind == MK_T_STRING && v->kind != MK_V_UNKNOWN)
        mk_diag_help(it, "convert with tostring(...) or write it in quotes");
    if (what)
        mk_diag_note(it, MK_NOSPAN, "%s has type %s", what, mk_buf_cstr(&b));
    mk_buf_free(&b);
    return MK_V_ERRORV;
}

static bool want_ok(const mk_type *ty, mk_vkind want)
{
    if (want == MK_V_ANY)
        return true;
    switch (ty->kind) {
    case MK_T_ANY: return true;
    case MK_T_STRING: case MK_T_SECRET: case MK_T_ENUM: return want == MK_V_STRING;
    case MK_T_INT: return want == MK_V_INT;
    case MK_T_NUMBER: return want == MK_V_INT || want == MK_V_NUMBER;
    case MK_T_BOOL: return want == MK_V_BOOL;
    case MK_T_SIZE: return want == MK_V_SIZE;
    case MK_T_DURATION: return want == MK_V_DURATION;
    case MK_T_MONEY: return want == MK_V_MONEY;
    case MK_T_LIST: case MK_T_SET: return want == MK_V_LIST;
    case MK_T_MAP: case MK_T_OBJECT: return want == MK_V_MAP;
    case MK_T_REF: return want == MK_V_RESOURCE;
    }
    return true;
}

static mk_value *check_enum(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at)
{
    mk_name s = mk_intern_n(c->v->names, v->u.s, v->n);
    for (uint32_t i = 0; i < ty->nenums; i++)
        if (ty->enums[i] == s)
            return v;
    mk_buf b = {0};
    for (uint32_t i = 0; i < ty->nenums; i++)
        mk_buf_printf(&b, "%s\"%s\"", i ? ", " : "", ty->enums[i]);
    bool secret = v->flags & MK_VF_SECRET; /* neither shown nor hinted at */
    mk_diag_item *it = secret ? mk_diag_error(c->diag, "E0202", at, "(sensitive) is not one of %s", mk_buf_cstr(&b))
                              : mk_diag_error(c->diag, "E0202", at, "\"%s\" is not one of %s", s, mk_buf_cstr(&b));
    const char *sg = secret ? NULL : mk_diag_suggest(s, (const char *const *)ty->enums, ty->nenums);
    if (sg)
        mk_diag_label(it, "did you mean \"%s\"?", sg);
    mk_buf_free(&b);
    return MK_V_ERRORV;
}

/* note [reserved keys]: in plans and state an object whose key starts with
 * `$` is moksha's own ({"$ref"}, {"$secret"}, {"$template"}), recognised by
 * that key; a map of the stack's with such a key could pass for one (and
 * two different maps compare the same), so no map key starts with `$`. */
static bool reserved_key(mk_tcheck *c, const mk_value *v, mk_span at)
{
    for (uint32_t i = 0; v->kind == MK_V_MAP && i < v->n; i++)
        if (v->u.map.keys[i][0] == '$') {
            mk_diag_help(mk_diag_error(c->diag, "E0200", at, "map key `%s` starts with `$`", v->u.map.keys[i]),
                         "keys starting with `$` are moksha's own in plans and state ($ref, $secret): rename the key");
            return true;
        }
    return false;
}

static mk_value *check_items(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at, const char *what)
{
    mk_value *out = NULL;
    if (reserved_key(c, v, at))
        return MK_V_ERRORV;
    for (uint32_t i = 0; i < v->n; i++) {
        mk_value **slot = v->kind == MK_V_LIST ? &v->u.items[i] : &v->u.map.vals[i];
        mk_value *e = mk_type_check(c, ty->elem, *slot, at, what);
        if (e->kind == MK_V_ERROR)
            return e;
        if (e != *slot) {
            if (!out) { /* copy on first change: values are shared */
                out = v->kind == MK_V_LIST ? mk_v_list(c->v, v->n) : mk_v_map(c->v, v->n);
                out->flags = v->flags;
                for (uint32_t k = 0; k < v->n; k++) {
                    if (v->kind == MK_V_LIST)
                        out->u.items[k] = v->u.items[k];
                    else
                        out->u.map.keys[k] = v->u.map.keys[k], out->u.map.vals[k] = v->u.map.vals[k];
                }
            }
            if (v->kind == MK_V_LIST)
                out->u.items[i] = e;
            else
                out->u.map.vals[i] = e;
        }
    }
    if (ty->kind == MK_T_SET) {
        mk_value *s = out ? out : v;
        for (uint32_t i = 0; i < s->n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (mk_v_equal(s->u.items[i], s->u.items[j])) {
                    mk_diag_error(c->diag, "E0200", at, "a set holds each value once; element %u repeats element %u", i + 1, j + 1);
                    return MK_V_ERRORV;
                }
    }
    return out ? out : v;
}

static mk_value *check_object(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at)
{
    mk_vbuild vb = {0};
    bool bad = false;
    const char *meant[8]; /* fields that unknown keys are misspellings of */
    uint32_t nmeant = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        mk_name k = v->u.map.keys[i];
        const mk_field *f = mk_type_field(ty, k);
        if (!f) {
            const char *cands[64];
            uint32_t n = 0;
            for (; n < ty->nfields && n < 64; n++)
                cands[n] = ty->fields[n].name;
            mk_diag_item *it = mk_diag_error(c->diag, "E0112", at, "unknown attribute `%s` in %s", k, ty->name);
            const char *s = mk_diag_suggest(k, cands, n);
            if (s)
                mk_diag_label(it, "did you mean `%s`?", s);
            if (s && nmeant < 8)
                meant[nmeant++] = s;
            bad = true;
            continue;
        }
        mk_value *e = mk_type_check(c, f->type, v->u.map.vals[i], at, NULL);
        if (e->kind == MK_V_ERROR || !mk_type_check_where(c, f, e, at))
            bad = true;
        mk_vb_push(c->v, &vb, k, e);
    }
    for (uint32_t i = 0; i < ty->nfields; i++) {
        const mk_field *f = &ty->fields[i];
        if (mk_v_get(v, f->name) || (f->flags & MK_ANN_COMPUTED))
            continue;
        if (!f->def) {
            bool misspelt = false; /* one mistake, one error: reported above as unknown */
            for (uint32_t j = 0; j < nmeant; j++)
                misspelt |= strcmp(meant[j], f->name) == 0;
            bad = true;
            if (misspelt)
                continue;
            mk_diag_item *it = mk_diag_error(c->diag, "E0201", at, "missing required attribute `%s` of %s", f->name, ty->name);
            mk_diag_help(it, "add `%s = …`", f->name);
            continue;
        }
        mk_vb_push(c->v, &vb, f->name, c->eval_field ? c->eval_field(c->ud, f, NULL, MK_FIELD_DEFAULT) : MK_V_NULLV);
    }
    if (bad)
        return MK_V_ERRORV;
    vb.flags = v->flags;
    return mk_vb_map(c->v, &vb);
}

mk_value *mk_type_check(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at, const char *what)
{
    if (v->kind == MK_V_ERROR || ty->kind == MK_T_ANY || v->kind == MK_V_NULL)
        return v;
    if (v->kind == MK_V_UNKNOWN) {
        if (!want_ok(ty, (mk_vkind)v->want))
            return mismatch(c, ty, v, at, what);
        return ty->kind == MK_T_SECRET ? mk_v_with_flags(c->v, v, MK_VF_SECRET) : v;
    }
    switch (ty->kind) {
    case MK_T_STRING: return v->kind == MK_V_STRING ? v : mismatch(c, ty, v, at, what);
    case MK_T_SECRET:
        return v->kind == MK_V_STRING ? mk_v_with_flags(c->v, v, MK_VF_SECRET) : mismatch(c, ty, v, at, what);
    case MK_T_INT: return v->kind == MK_V_INT ? v : mismatch(c, ty, v, at, what);
    case MK_T_NUMBER:
        if (v->kind == MK_V_INT)
            return mk_v_with_flags(c->v, mk_v_number(c->v, (double)v->u.i), v->flags);
        return v->kind == MK_V_NUMBER ? v : mismatch(c, ty, v, at, what);
    case MK_T_BOOL: return v->kind == MK_V_BOOL ? v : mismatch(c, ty, v, at, what);
    case MK_T_SIZE: return v->kind == MK_V_SIZE ? v : mismatch(c, ty, v, at, what);
    case MK_T_DURATION: return v->kind == MK_V_DURATION ? v : mismatch(c, ty, v, at, what);
    case MK_T_MONEY: return v->kind == MK_V_MONEY ? v : mismatch(c, ty, v, at, what);
    case MK_T_ENUM: return v->kind == MK_V_STRING ? check_enum(c, ty, v, at) : mismatch(c, ty, v, at, what);
    case MK_T_LIST: case MK_T_SET:
        return v->kind == MK_V_LIST ? check_items(c, ty, v, at, what) : mismatch(c, ty, v, at, what);
    case MK_T_MAP: return v->kind == MK_V_MAP ? check_items(c, ty, v, at, what) : mismatch(c, ty, v, at, what);
    case MK_T_OBJECT: return v->kind == MK_V_MAP ? check_object(c, ty, v, at) : mismatch(c, ty, v, at, what);
    case MK_T_REF:
        if (v->kind == MK_V_RESOURCE && c->res_type_of) {
            mk_name rt = c->res_type_of(v->u.res);
            if (rt == ty->ref)
                return v;
            mk_diag_error(c->diag, "E0200", at, "expected a reference to a %s resource, found a %s", ty->ref, rt);
            return MK_V_ERRORV;
        }
        return mismatch(c, ty, v, at, what);
    default: return v;
    }
}

bool mk_type_check_where(mk_tcheck *c, const mk_field *f, mk_value *v, mk_span at)
{
    if (!f->where || v->kind == MK_V_NULL || !mk_v_is_known(v) || !c->eval_field)
        return true;
    mk_value *r = c->eval_field(c->ud, f, v, MK_FIELD_WHERE);
    if (r->kind != MK_V_BOOL || r->u.b)
        return true;
    mk_value *msg = f->msg ? c->eval_field(c->ud, f, v, MK_FIELD_MSG) : NULL;
    mk_buf b = {0};
    if (msg && msg->kind == MK_V_STRING && (msg->flags & MK_VF_SECRET))
        mk_buf_puts(&b, "(sensitive)");
    else if (msg && msg->kind == MK_V_STRING)
        mk_buf_put(&b, msg->u.s, msg->n);
    else
        mk_buf_printf(&b, "`%s` does not satisfy its constraint", f->name);
    mk_buf shown = {0};
    mk_v_show(v, &shown, false);
    mk_diag_item *it = mk_diag_error(c->diag, "E0205", at, "%s", mk_buf_cstr(&b));
    mk_diag_label(it, "%s is %s", f->name, mk_buf_cstr(&shown));
    mk_diag_note(it, f->where->span, "constraint declared here");
    mk_buf_free(&b);
    mk_buf_free(&shown);
    return false;
}
