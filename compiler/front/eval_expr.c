/* eval_expr — evaluation of expressions: names and references, operators
 * with units, strings with interpolation, collections, comprehensions and
 * calls of built-in functions.
 *
 * note [partial values]: under `moksha check` a variable may have no value
 * and computed attributes are never known before apply. Such values are
 * MK_V_UNKNOWN with the kind they will have, and every operator works on
 * kinds first: `var.n * 4GiB` is a size even when n is unknown, and
 * `var.n + 4GiB` is an error either way. Values already reported as wrong
 * are MK_V_ERROR and silence everything computed from them. */
#include "compiler/front/eval_int.h"

#include <math.h>
#include <string.h>

#include "compiler/front/builtin.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"

#define ERR MK_V_ERRORV

static bool is_num(mk_vkind k) { return k == MK_V_INT || k == MK_V_NUMBER; }
static bool is_unit(mk_vkind k) { return k == MK_V_SIZE || k == MK_V_DURATION || k == MK_V_MONEY; }

/* The kind a value has or will have. */
static mk_vkind kind_of(const mk_value *v)
{
    return v->kind == MK_V_UNKNOWN ? (mk_vkind)v->want : (mk_vkind)v->kind;
}

static mk_value *taint(mk_ectx *c, mk_value *r, const mk_value *a, const mk_value *b)
{
    uint8_t f = (uint8_t)(((a ? a->flags : 0) | (b ? b->flags : 0)) & MK_VF_SECRET);
    return f ? mk_v_with_flags(c->e->v, r, f) : r;
}

static mk_value *unknown(mk_ectx *c, mk_vkind k) { return mk_v_unknown(c->e->v, k); }

/* ---- names ---- */

static mk_value *lookup_local(mk_ectx *c, mk_name n)
{
    for (mk_local *l = c->locals; l; l = l->up)
        if (l->name == n)
            return l->val;
    return NULL;
}

static void unknown_name(mk_ectx *c, mk_ast *n)
{
    const char *cands[256];
    size_t k = 0;
    for (mk_local *l = c->locals; l && k < 200; l = l->up)
        cands[k++] = l->name;
    if (c->u)
        for (uint32_t i = 0; i < c->u->nlets && k < 250; i++) /* in the order written: the same pick every run */
            cands[k++] = c->u->let_order[i]->decl->name;
    cands[k++] = "var";
    cands[k++] = "stack";
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0111", n->span, "unknown name `%s`", n->name);
    const char *s = mk_diag_suggest(n->name, cands, k);
    if (s)
        mk_diag_label(it, "did you mean `%s`?", s);
    else if (c->u && mk_sym_get(&c->u->vars, n->name, NULL))
        mk_diag_label(it, "did you mean `var.%s`?", n->name);
    else
        mk_diag_help(it, "names are lets, `var.NAME`, `stack.NAME` or resources as TYPE.NAME");
}

static bool is_resource_type(mk_ectx *c, mk_name n)
{
    mk_type *t = mk_type_lookup(c->e->p->types, n);
    return t && t->is_resource;
}

static mk_value *eval_name(mk_ectx *c, mk_ast *n)
{
    mk_value *v = lookup_local(c, n->name);
    if (v)
        return v;
    mk_let *l = c->u ? mk_sym_get(&c->u->lets, n->name, NULL) : NULL;
    if (l)
        return mk_eval_let(c, l, n->span);
    mk_ev *e = c->e;
    if (c->policy && (n->name == e->n.resources || n->name == e->n.changes))
    {
        if (!c->pol)
            return unknown(c, MK_V_LIST);
        if (n->name == e->n.changes && !c->pol->changes)
            c->pol->changes = c->pol->build_changes(c->pol);
        if (n->name == e->n.resources && !c->pol->resources && c->pol->build_resources)
            c->pol->resources = c->pol->build_resources(c->pol);
        return n->name == e->n.resources ? c->pol->resources : c->pol->changes;
    }
    if (c->policy && n->name == e->n.plan)
        return c->pol ? c->pol->plan : unknown(c, MK_V_MAP);
    if (c->policy && n->name == e->n.providers)
        return c->pol && c->pol->providers ? c->pol->providers : unknown(c, MK_V_LIST);
    if (n->name == e->n.stack && c->u)
        return mk_eval_stack(c);
    if (c->symbols)
        return mk_v_str_owned(e->v, n->name, (uint32_t)strlen(n->name));
    mk_diag_item *it;
    if (n->name == e->n.var || n->name == e->n.count || n->name == e->n.each || n->name == e->n.module) {
        it = mk_diag_error(e->diag, "E0111", n->span, "`%s` needs an attribute", n->name);
        mk_diag_help(it, "write %s.NAME", n->name);
    } else if (is_resource_type(c, n->name)) {
        it = mk_diag_error(e->diag, "E0110", n->span, "`%s` is a resource type", n->name);
        mk_diag_help(it, "refer to a resource as %s.NAME", n->name);
    } else {
        unknown_name(c, n);
    }
    return ERR;
}

static mk_value *count_or_each(mk_ectx *c, mk_ast *n, mk_name root)
{
    mk_ev *e = c->e;
    mk_instance *in = c->inst;
    if (root == e->n.count) {
        if (n->name != e->n.index) {
            mk_diag_item *it = mk_diag_error(e->diag, "E0111", n->span, "unknown attribute `count.%s`", n->name);
            mk_diag_label(it, "did you mean `count.index`?");
            return ERR;
        }
        if (!in || !in->res->counted) {
            mk_diag_item *it = mk_diag_error(e->diag, "E0111", n->span, "`count.index` outside a resource with `count`");
            mk_diag_help(it, "set `count = N` on the resource to make N instances");
            return ERR;
        }
        return in->key;
    }
    if (n->name != e->n.key && n->name != e->n.value) {
        mk_diag_item *it = mk_diag_error(e->diag, "E0111", n->span, "unknown attribute `each.%s`", n->name);
        mk_diag_help(it, "use `each.key` or `each.value`");
        return ERR;
    }
    if (!in || !in->res->each) {
        mk_diag_item *it = mk_diag_error(e->diag, "E0111", n->span, "`each.%s` outside a resource with `for_each`", n->name);
        mk_diag_help(it, "set `for_each = { … }` on the resource");
        return ERR;
    }
    return n->name == e->n.key ? in->key : in->each_value;
}

static mk_value *resource_ref(mk_ectx *c, mk_ast *n, mk_name type, mk_name name)
{
    mk_resource *r = c->u ? mk_sym_get(&c->u->resources, type, name) : NULL;
    if (!r) {
        mk_eval_suggest_resource(c, type, name, n->span);
        return ERR;
    }
    return mk_eval_resource_ref(c, r, n->span);
}

/* a.b where a is a bare name: var.x, stack.x, count.index, each.key,
 * module.m, TYPE.NAME. Returns NULL when the base is an ordinary value. */
static mk_value *special_getattr(mk_ectx *c, mk_ast *n)
{
    mk_ast *base = n->a;
    mk_ev *e = c->e;
    if (base->kind == MK_AST_NAME) {
        mk_name root = base->name;
        if (lookup_local(c, root) || (c->u && mk_sym_get(&c->u->lets, root, NULL)))
            return NULL;
        if (root == e->n.var)
            return c->u ? mk_eval_var(c, n->name, n->span) : unknown(c, MK_V_ANY);
        if (root == e->n.count || root == e->n.each)
            return count_or_each(c, n, root);
        if (root == e->n.module)
            return mk_eval_module_ref(c, n->name, n->span);
        if (root == e->n.outputs && c->e->p->nreads)
            return mk_eval_stack_read(c, n->name, n->span);
        if (is_resource_type(c, root))
            return resource_ref(c, n, root, n->name);
        return NULL;
    }
    if (base->kind == MK_AST_GETATTR && base->a->kind == MK_AST_NAME) {
        mk_name ns = base->a->name;
        if (ns == e->n.module && !lookup_local(c, ns) && !(c->u && mk_sym_get(&c->u->lets, ns, NULL)))
            return mk_eval_module_output(c, base->name, n->name, n->span);
        if (ns == e->n.outputs && c->e->p->nreads && !lookup_local(c, ns) && !(c->u && mk_sym_get(&c->u->lets, ns, NULL)))
            return mk_eval_stack_output(c, base->name, n->name, n->span);
        if (lookup_local(c, ns) || (c->u && mk_sym_get(&c->u->lets, ns, NULL)) || ns == e->n.var ||
            ns == e->n.stack || ns == e->n.module || is_resource_type(c, ns))
            return NULL;
        char buf[256];
        snprintf(buf, sizeof buf, "%s.%s", ns, base->name);
        mk_name full = mk_intern_s(e->v->names, buf);
        if (is_resource_type(c, full))
            return resource_ref(c, n, full, n->name);
    }
    return NULL;
}

static mk_value *no_key(mk_ectx *c, const mk_value *m, mk_name key, mk_span at, const char *what)
{
    const char *cands[128];
    uint32_t k = 0;
    for (; k < m->n && k < 128 && !(m->flags & MK_VF_SECRET); k++) /* a secret map's keys are secret */
        cands[k] = m->u.map.keys[k];
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0207", at, "%s has no attribute `%s`", what, key);
    const char *s = mk_diag_suggest(key, cands, k);
    if (s)
        mk_diag_label(it, "did you mean `%s`?", s);
    return ERR;
}

static mk_value *get_attr(mk_ectx *c, mk_value *base, mk_name name, mk_span at)
{
    switch (base->kind) {
    case MK_V_ERROR: return ERR;
    case MK_V_UNKNOWN: return unknown(c, MK_V_ANY);
    case MK_V_RESOURCE: return mk_eval_instance_attr(c, base->u.res, name, at);
    case MK_V_MAP: {
        mk_value *v = mk_v_get(base, name);
        return v ? taint(c, v, base, NULL) : no_key(c, base, name, at, "the map");
    }
    case MK_V_LIST:
        if (base->flags & MK_VF_SPLAT) {
            mk_value *out = mk_v_list(c->e->v, base->n);
            out->flags = base->flags;
            for (uint32_t i = 0; i < base->n; i++)
                if ((out->u.items[i] = get_attr(c, base->u.items[i], name, at))->kind == MK_V_ERROR)
                    return ERR;
            return out;
        }
        /* fallthrough */
    default: {
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0200", at, "cannot read `.%s` of a %s", name,
                                         mk_v_kind_name(kind_of(base)));
        if (base->kind == MK_V_LIST)
            mk_diag_help(it, "pick one element with [i], or all of them with [*].%s", name);
        return ERR;
    }
    }
}

static mk_value *eval_getattr(mk_ectx *c, mk_ast *n)
{
    mk_value *v = special_getattr(c, n);
    if (v)
        return v;
    if (n->a->kind == MK_AST_NAME && n->a->name == c->e->n.stack && !lookup_local(c, n->a->name)) {
        /* checking a policy on its own: the stack it will see is not known yet */
        mk_value *st = c->u && !(c->policy && !c->pol) ? mk_eval_stack(c) : unknown(c, MK_V_MAP);
        if (st->kind == MK_V_UNKNOWN) /* an attribute of an unknown stack: not the map itself */
            return unknown(c, MK_V_ANY);
        if (st->kind != MK_V_MAP)
            return st;
        mk_value *a = mk_v_get(st, n->name);
        if (a)
            return a;
        if (c->policy) /* a policy runs against stacks that may not say: null */
            return MK_V_NULLV;
        no_key(c, st, n->name, n->span, "the stack");
        return ERR;
    }
    return get_attr(c, mk_eval_expr(c, n->a), n->name, n->span);
}

static mk_value *eval_index(mk_ectx *c, mk_ast *n)
{
    mk_value *b = mk_eval_expr(c, n->a), *i = mk_eval_expr(c, n->b);
    if (b->kind == MK_V_ERROR || i->kind == MK_V_ERROR)
        return ERR;
    if (b->kind == MK_V_UNKNOWN || i->kind == MK_V_UNKNOWN)
        return unknown(c, MK_V_ANY);
    mk_ev *e = c->e;
    if (b->kind == MK_V_LIST) {
        if (i->kind != MK_V_INT) {
            mk_diag_error(e->diag, "E0200", n->b->span, "a list index must be an int, found %s", mk_v_kind_name(i->kind));
            return ERR;
        }
        if (i->u.i < 0 || i->u.i >= (int64_t)b->n) {
            mk_diag_item *it = i->flags & MK_VF_SECRET
                ? mk_diag_error(e->diag, "E0207", n->b->span, "index (sensitive) is out of range")
                : mk_diag_error(e->diag, "E0207", n->b->span, "index %lld is out of range", (long long)i->u.i);
            if (!(b->flags & MK_VF_SECRET))
                mk_diag_label(it, "the list has %u element%s", b->n, b->n == 1 ? "" : "s");
            return ERR;
        }
        return taint(c, b->u.items[i->u.i], b, i); /* picked by a secret: secret */
    }
    if (b->kind == MK_V_MAP) {
        if (i->kind != MK_V_STRING) {
            mk_diag_error(e->diag, "E0200", n->b->span, "a map key must be a string, found %s", mk_v_kind_name(i->kind));
            return ERR;
        }
        mk_name k = mk_intern_n(e->v->names, i->u.s, i->n);
        mk_value *v = mk_v_get(b, k);
        if (!v) {
            bool secret = (i->flags | b->flags) & MK_VF_SECRET; /* neither the key nor the map's keys shown */
            const char *cands[128];
            uint32_t m = 0;
            for (; m < b->n && m < 128 && !secret; m++)
                cands[m] = b->u.map.keys[m];
            mk_diag_item *it = i->flags & MK_VF_SECRET
                ? mk_diag_error(e->diag, "E0207", n->b->span, "no key (sensitive) in the map")
                : mk_diag_error(e->diag, "E0207", n->b->span, "no key \"%s\" in the map", k);
            const char *s = mk_diag_suggest(k, cands, m);
            if (s)
                mk_diag_label(it, "did you mean \"%s\"?", s);
            return ERR;
        }
        return taint(c, v, b, i);
    }
    mk_diag_error(e->diag, "E0200", n->a->span, "cannot index a %s", mk_v_kind_name(b->kind));
    return ERR;
}

static mk_value *eval_splat(mk_ectx *c, mk_ast *n)
{
    mk_value *b = mk_eval_expr(c, n->a);
    if (b->kind == MK_V_ERROR)
        return ERR;
    if (b->kind == MK_V_UNKNOWN)
        return unknown(c, MK_V_LIST);
    mk_value *out;
    if (b->kind == MK_V_LIST) {
        out = mk_v_list(c->e->v, b->n);
        memcpy(out->u.items, b->u.items, b->n * sizeof *b->u.items);
    } else if (b->kind == MK_V_MAP) {
        out = mk_v_list(c->e->v, b->n);
        memcpy(out->u.items, b->u.map.vals, b->n * sizeof *b->u.items);
    } else {
        out = mk_v_list(c->e->v, 1);
        out->u.items[0] = b;
    }
    out->flags = (uint8_t)(b->flags | MK_VF_SPLAT);
    return out;
}

/* ---- strings and collections ---- */

/* Text with unknown parts that are all deferred references stays something
 * the executor can finish; any other unknown makes the whole unknown. */
static void defer_text(mk_ectx *c, mk_vbuild *parts, const char *s, size_t n)
{
    if (!n)
        return;
    mk_defpart *p = mk_arena_alloc(c->e->v->arena, sizeof *p);
    *p = (mk_defpart){mk_arena_strndup(c->e->v->arena, s, n), (uint32_t)n, NULL, NULL};
    mk_vb_push(c->e->v, parts, NULL, (mk_value *)p);
}

static mk_value *deferred_value(mk_ectx *c, mk_vbuild *parts)
{
    mk_deferred *d = mk_arena_alloc(c->e->v->arena, sizeof *d);
    d->n = parts->n;
    d->parts = mk_arena_alloc(c->e->v->arena, (parts->n + 1) * sizeof *d->parts);
    for (uint32_t i = 0; i < parts->n; i++)
        d->parts[i] = *(mk_defpart *)parts->vals[i];
    mk_value *u = mk_v_list(c->e->v, 0);
    *u = *unknown(c, MK_V_STRING);
    u->deep = 0;
    u->u.res = d;
    return u;
}

static mk_value *eval_template(mk_ectx *c, mk_ast *n)
{
    mk_buf b = {0};
    mk_vbuild parts = {0}; /* mk_defpart pointers, should the text be deferred */
    bool unknown_part = false, deferrable = true, bad = false;
    uint8_t flags = 0;
    for (uint32_t i = 0; i < n->kids.n; i++) {
        mk_ast *k = n->kids.v[i];
        if (k->kind == MK_AST_STRING) {
            mk_buf_put(&b, k->str, mk_ast_len(k));
            continue;
        }
        mk_value *v = mk_eval_expr(c, k);
        if (!c->redact) /* in a message a secret shows as (sensitive): the text holds none */
            flags |= v->flags & MK_VF_SECRET;
        if (v->kind == MK_V_ERROR) {
            bad = true;
        } else if (v->kind == MK_V_UNKNOWN) {
            mk_vkind w = (mk_vkind)v->want;
            if (w == MK_V_LIST || w == MK_V_MAP) {
                mk_diag_error(c->e->diag, "E0200", k->span, "cannot interpolate a %s into a string", mk_v_kind_name(w));
                bad = true;
            }
            unknown_part = true;
            const mk_deferred *d = v->u.res;
            deferrable &= d != NULL;
            if (d) {
                defer_text(c, &parts, b.data ? b.data : "", b.len);
                b.len = 0;
                for (uint32_t j = 0; j < d->n; j++)
                    mk_vb_push(c->e->v, &parts, NULL, (mk_value *)&d->parts[j]);
            }
        } else if (!mk_v_to_text(v, &b, !c->redact)) {
            mk_diag_item *it = mk_diag_error(c->e->diag, "E0200", k->span, "cannot interpolate a %s into a string",
                                             mk_v_kind_name(v->kind));
            if (v->kind == MK_V_LIST)
                mk_diag_help(it, "join the elements first, e.g. join(\", \", list)");
            bad = true;
        }
    }
    mk_value *r;
    if (bad)
        r = ERR;
    else if (unknown_part && deferrable) {
        defer_text(c, &parts, b.data ? b.data : "", b.len);
        r = deferred_value(c, &parts);
    } else if (unknown_part)
        r = unknown(c, MK_V_STRING);
    else
        r = mk_v_str(c->e->v, b.data ? b.data : "", (uint32_t)b.len);
    mk_buf_free(&b);
    return flags ? mk_v_with_flags(c->e->v, r, flags) : r;
}

static mk_value *eval_list(mk_ectx *c, mk_ast *n)
{
    mk_value *out = mk_v_list(c->e->v, n->kids.n);
    bool bad = false;
    for (uint32_t i = 0; i < n->kids.n; i++) {
        out->u.items[i] = mk_eval_expr(c, n->kids.v[i]);
        bad |= out->u.items[i]->kind == MK_V_ERROR;
    }
    return bad ? ERR : out;
}

static mk_value *eval_map(mk_ectx *c, mk_ast *n)
{
    mk_value *out = mk_v_map(c->e->v, n->kids.n);
    bool bad = false;
    for (uint32_t i = 0; i < n->kids.n; i++) {
        mk_ast *ent = n->kids.v[i];
        for (uint32_t j = 0; j < i; j++)
            if (out->u.map.keys[j] == ent->name) {
                mk_diag_item *it = mk_diag_error(c->e->diag, "E0115", ent->span, "key `%s` appears twice in the map", ent->name);
                mk_diag_note(it, n->kids.v[j]->span, "first here");
                bad = true;
            }
        out->u.map.keys[i] = ent->name;
        out->u.map.vals[i] = mk_eval_expr(c, ent->b);
        bad |= out->u.map.vals[i]->kind == MK_V_ERROR;
    }
    return bad ? ERR : out;
}

static void secret_key(mk_ectx *c, mk_span at)
{
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0214", at, "a secret cannot be a map key");
    mk_diag_label(it, "this is derived from a secret");
    mk_diag_help(it, "map keys are shown in clear in plans and state; keep the secret in the map's values");
}

/* One element of a comprehension. From a secret source (secret_src) the
 * loop variables are secret, and so is what the comprehension makes, keys
 * included; from any other, a key may not be secret (note [secret addresses]). */
static mk_value *comp_body(mk_ectx *c, mk_ast *n, mk_value *k, mk_value *v, mk_vbuild *vb, bool *bad, bool secret_src)
{
    if (secret_src) {
        k = mk_v_with_flags(c->e->v, k, MK_VF_SECRET);
        v = mk_v_with_flags(c->e->v, v, MK_VF_SECRET);
    }
    mk_local l1 = {c->locals, n->name, n->name2 ? k : v};
    mk_local l2 = {&l1, n->name2, v};
    mk_local *saved = c->locals;
    c->locals = n->name2 ? &l2 : &l1;
    mk_value *cond = n->c ? mk_eval_expr(c, n->c) : NULL;
    mk_value *r = NULL;
    if (cond && cond->kind != MK_V_BOOL && cond->kind != MK_V_ERROR && cond->kind != MK_V_UNKNOWN) {
        mk_diag_error(c->e->diag, "E0200", n->c->span, "the `if` of a comprehension must be a bool, found %s",
                      mk_v_kind_name(cond->kind));
        *bad = true;
    } else if (!cond || cond->kind != MK_V_BOOL || cond->u.b) {
        r = mk_eval_expr(c, n->b);
        mk_value *key = n->d ? mk_eval_expr(c, n->d) : NULL;
        *bad |= r->kind == MK_V_ERROR || (cond && cond->kind == MK_V_ERROR);
        if (key && !secret_src && (key->flags & MK_VF_SECRET) && key->kind != MK_V_ERROR) {
            secret_key(c, n->d->span);
            *bad = true;
        } else if (key && key->kind == MK_V_STRING)
            mk_vb_push(c->e->v, vb, mk_intern_n(c->e->v->names, key->u.s, key->n), r);
        else if (key && key->kind != MK_V_ERROR && key->kind != MK_V_UNKNOWN) {
            mk_diag_error(c->e->diag, "E0200", n->d->span, "map keys are strings, found %s", mk_v_kind_name(key->kind));
            *bad = true;
        } else if (!key)
            mk_vb_push(c->e->v, vb, NULL, r);
        else
            *bad |= key->kind == MK_V_ERROR;
    }
    c->locals = saved;
    return r;
}

static mk_value *eval_comprehension(mk_ectx *c, mk_ast *n)
{
    mk_value *src = mk_eval_expr(c, n->a);
    mk_vkind out_kind = n->flags ? MK_V_MAP : MK_V_LIST;
    mk_vbuild vb = {0};
    bool bad = false;
    mk_vctx *v = c->e->v;
    if (src->kind == MK_V_ERROR)
        return ERR;
    bool secret = src->flags & MK_VF_SECRET;
    if (src->kind == MK_V_UNKNOWN) {
        comp_body(c, n, unknown(c, MK_V_ANY), unknown(c, MK_V_ANY), &vb, &bad, secret);
        return bad ? ERR : taint(c, unknown(c, out_kind), src, NULL);
    }
    if (src->kind == MK_V_LIST) {
        for (uint32_t i = 0; i < src->n && !bad; i++)
            comp_body(c, n, mk_v_int(v, i), src->u.items[i], &vb, &bad, secret);
    } else if (src->kind == MK_V_MAP) {
        for (uint32_t i = 0; i < src->n && !bad; i++)
            comp_body(c, n, mk_v_str_owned(v, src->u.map.keys[i], (uint32_t)strlen(src->u.map.keys[i])),
                      src->u.map.vals[i], &vb, &bad, secret);
    } else {
        mk_diag_error(c->e->diag, "E0200", n->a->span, "cannot iterate over a %s", mk_v_kind_name(src->kind));
        return ERR;
    }
    if (bad)
        return ERR;
    vb.flags = src->flags & MK_VF_SECRET;
    return out_kind == MK_V_MAP ? mk_vb_map(v, &vb) : mk_vb_list(v, &vb);
}

/* ---- calls ---- */

/* approval("GROUP"[, count = N]) and risk("LEVEL"): what a policy's
 * `require` asks for, as a map {approval: GROUP, count: N} or {risk: LEVEL}.
 * count is how many distinct members of GROUP must sign (1 to 16). */
static mk_value *eval_requirement(mk_ectx *c, mk_ast *n)
{
    bool risk = n->name == c->e->n.risk;
    const char *what = risk ? "risk" : "approval";
    if (!c->in_require) {
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0119", n->span, "%s() outside `require`", what);
        mk_diag_help(it, risk ? "write `require risk(\"high\") : \"why\"` in a policy"
                              : "write `require approval(\"GROUP\") : \"why\"` in a policy");
        return ERR;
    }
    mk_ast *group = NULL, *count = NULL;
    uint32_t positional = 0;
    for (uint32_t i = 0; i < n->kids.n; i++) {
        mk_ast *k = n->kids.v[i];
        if (k->kind != MK_AST_ATTR) {
            positional++;
            group = group ? group : k;
            continue;
        }
        if (risk || strcmp(k->name, "count") != 0 || count) {
            bool twice = count && !strcmp(k->name, "count");
            mk_diag_item *it = twice ? mk_diag_error(c->e->diag, "E0206", k->span, "approval() is given `count` twice")
                                     : mk_diag_error(c->e->diag, "E0206", k->span, "%s() takes no argument `%s`", what, k->name);
            static const char *const names[] = {"count"};
            const char *s = !risk && !twice ? mk_diag_suggest(k->name, names, 1) : NULL;
            if (s)
                mk_diag_label(it, "did you mean `%s`?", s);
            mk_diag_help(it, risk ? "write `risk(\"high\")`" : "approval() takes the group and `count = N`: `approval(\"sre\", count = 2)`");
            return ERR;
        }
        count = k;
    }
    if (positional != 1) {
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0206", n->span, risk ? "risk() takes one argument: low, medium or high"
                                                          : "approval() takes one argument, the approving group (and `count = N`)");
        if (!risk && positional > 1)
            mk_diag_help(it, "name how many must approve: `approval(\"sre\", count = 2)`");
        return ERR;
    }
    mk_value *g = mk_eval_expr(c, group);
    if (g->kind != MK_V_STRING && g->kind != MK_V_ERROR && g->kind != MK_V_UNKNOWN) {
        mk_diag_error(c->e->diag, "E0200", group->span, "the %s is a string, found %s",
                      risk ? "risk class" : "approving group", mk_v_kind_name(g->kind));
        return ERR;
    }
    if (risk && g->kind == MK_V_STRING && strcmp(g->u.s, "low") && strcmp(g->u.s, "medium") && strcmp(g->u.s, "high")) {
        mk_diag_error(c->e->diag, "E0202", group->span, "a risk class is \"low\", \"medium\" or \"high\"");
        return ERR;
    }
    mk_value *cv = count ? mk_eval_expr(c, count->b) : NULL;
    if (cv && cv->kind != MK_V_ERROR && cv->kind != MK_V_UNKNOWN && (cv->kind != MK_V_INT || cv->u.i < 1 || cv->u.i > 16)) {
        mk_diag_item *it = cv->kind == MK_V_INT
                               ? mk_diag_error(c->e->diag, "E0202", count->b->span, "`count` is a whole number from 1 to 16, found %lld",
                                               (long long)cv->u.i)
                               : mk_diag_error(c->e->diag, "E0202", count->b->span, "`count` is a whole number from 1 to 16, found %s",
                                               mk_v_kind_name(cv->kind));
        mk_diag_help(it, "how many distinct members of the group must approve: `count = 2`");
        return ERR;
    }
    if (cv && cv->kind == MK_V_ERROR)
        return ERR;
    mk_value *m = mk_v_map(c->e->v, cv ? 2 : 1);
    m->u.map.keys[0] = risk ? c->e->n.risk : c->e->n.approval;
    m->u.map.vals[0] = g;
    if (cv) {
        m->u.map.keys[1] = c->e->n.count;
        m->u.map.vals[1] = cv;
    }
    return m;
}

static mk_value *unknown_function(mk_ectx *c, mk_ast *n)
{
    int total;
    const mk_builtin *all = mk_builtin_all(&total);
    const char **cands = mk_arena_alloc(c->e->v->arena, (size_t)(total + 1) * sizeof *cands);
    for (int i = 0; i < total; i++)
        cands[i] = all[i].name;
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0114", n->span, "unknown function `%s`", n->name);
    const char *s = mk_diag_suggest(n->name, cands, (size_t)total);
    if (s)
        mk_diag_label(it, "did you mean `%s`?", s);
    else
        mk_diag_help(it, "docs/language.md lists the built-in functions");
    return ERR;
}

static mk_value *eval_call(mk_ectx *c, mk_ast *n)
{
    if (n->name == c->e->n.approval || n->name == c->e->n.risk)
        return eval_requirement(c, n);
    const mk_builtin *b = mk_builtin_find(n->name);
    if (!b)
        return unknown_function(c, n);
    for (uint32_t i = 0; i < n->kids.n; i++)
        if (n->kids.v[i]->kind == MK_AST_ATTR) { /* only approval() names an argument */
            mk_diag_item *it = mk_diag_error(c->e->diag, "E0206", n->kids.v[i]->span, "`%s` takes no named argument (`%s = …`)",
                                             b->name, n->kids.v[i]->name);
            mk_diag_note(it, MK_NOSPAN, "%s", b->sig);
            mk_diag_help(it, "pass its arguments in order");
            return ERR;
        }
    int argc = (int)n->kids.n;
    if (argc < b->min || (b->max >= 0 && argc > b->max)) {
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0206", n->span, "`%s` takes %s%d argument%s, found %d", b->name,
                                         b->max < 0 ? "at least " : b->min == b->max ? "" : "at most ",
                                         b->max < 0 || argc < b->min ? b->min : b->max,
                                         (b->max < 0 || argc < b->min ? b->min : b->max) == 1 ? "" : "s", argc);
        mk_diag_note(it, MK_NOSPAN, "%s", b->sig);
        return ERR;
    }
    /* most calls have few arguments: keep them off the arena, which a policy
     * run over 100,000 resources would otherwise fill with dead arrays */
    mk_value *args_small[8];
    mk_span spans_small[8];
    mk_value **args = argc <= 8 ? args_small : mk_arena_alloc(c->e->v->arena, (size_t)(argc + 1) * sizeof *args);
    mk_span *spans = argc <= 8 ? spans_small : mk_arena_alloc(c->e->v->arena, (size_t)(argc + 1) * sizeof *spans);
    bool bad = false, unk = false;
    uint8_t flags = 0;
    for (int i = 0; i < argc; i++) {
        args[i] = mk_eval_expr(c, n->kids.v[i]);
        spans[i] = n->kids.v[i]->span;
        bad |= args[i]->kind == MK_V_ERROR || mk_v_has_error(args[i]);
        unk |= !mk_v_is_known(args[i]);
        flags |= mk_v_is_secret(args[i]) ? MK_VF_SECRET : 0;
    }
    if (bad)
        return ERR;
    mk_value *r;
    if (unk && !(b->flags & MK_BI_SEES_UNKNOWN)) {
        r = unknown(c, b->ret);
    } else {
        mk_bictx bc = {c->e->v, c->e->diag, n->span, spans};
        r = b->fn(&bc, args, argc);
    }
    return flags ? mk_v_with_flags(c->e->v, r, flags) : r;
}

/* ---- operators ---- */

static mk_value *op_error(mk_ectx *c, mk_ast *n, const char *verb, mk_vkind a, mk_vkind b)
{
    bool unit = (is_unit(a) && is_num(b)) || (is_num(a) && is_unit(b));
    mk_diag_item *it = mk_diag_error(c->e->diag, unit ? "E0203" : is_unit(a) && is_unit(b) ? "E0204" : "E0200",
                                     n->span, "cannot %s %s and %s", verb, mk_v_kind_name(a), mk_v_kind_name(b));
    if (unit) {
        mk_vkind u = is_unit(a) ? a : b;
        mk_diag_help(it, "write the number with a unit, e.g. %s", u == MK_V_SIZE ? "4GiB" : u == MK_V_DURATION ? "30s" : "$12.50");
    } else if (is_unit(a) && is_unit(b)) {
        mk_diag_help(it, "sizes, durations and money never mix");
    }
    return ERR;
}

/* Result kind of a op b from the operand kinds, or MK_V_ERROR. */
static mk_vkind arith_kind(mk_ast_op op, mk_vkind a, mk_vkind b)
{
    if (a == MK_V_ANY || b == MK_V_ANY)
        return MK_V_ANY;
    if (is_num(a) && is_num(b))
        return (a == MK_V_INT && b == MK_V_INT) ? MK_V_INT : MK_V_NUMBER;
    switch (op) {
    case MK_OP_ADD: case MK_OP_SUB:
        if (a == b && is_unit(a))
            return a;
        if (op == MK_OP_ADD && a == b && (a == MK_V_STRING || a == MK_V_LIST || a == MK_V_MAP))
            return a;
        return MK_V_ERROR;
    case MK_OP_MUL:
        if (is_unit(a) && is_num(b))
            return a;
        if (is_num(a) && is_unit(b))
            return b;
        return MK_V_ERROR;
    case MK_OP_DIV:
        if (is_unit(a) && is_num(b))
            return a;
        if (is_unit(a) && a == b)
            return MK_V_NUMBER;
        return MK_V_ERROR;
    default: return MK_V_ERROR;
    }
}

/* Money as a double counts micro-dollars: only ever compared with or
 * divided by money (a ratio). */
static double as_double(const mk_value *v)
{
    return v->kind == MK_V_NUMBER ? v->u.d : (double)v->u.i;
}

static bool held_in_i(mk_vkind k) { return k == MK_V_SIZE || k == MK_V_DURATION || k == MK_V_MONEY; }

static mk_value *overflow(mk_ectx *c, mk_ast *n)
{
    mk_diag_error(c->e->diag, "E0209", n->span, "arithmetic overflow");
    return ERR;
}

static mk_value *int_arith(mk_ectx *c, mk_ast *n, mk_vkind k, int64_t x, int64_t y)
{
    int64_t r = 0;
    switch (n->op) {
    case MK_OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(c, n); break;
    case MK_OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(c, n); break;
    case MK_OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(c, n); break;
    case MK_OP_DIV: case MK_OP_MOD:
        if (y == 0) {
            mk_diag_error(c->e->diag, "E0208", n->b->span, "division by zero");
            return ERR;
        }
        if (x == INT64_MIN && y == -1)
            return overflow(c, n);
        r = n->op == MK_OP_DIV ? x / y : x % y;
        break;
    default: break;
    }
    return k == MK_V_INT ? mk_v_int(c->e->v, r) : mk_v_unit(c->e->v, k, r);
}

/* Money times or by a number: exact by an int, else rounded once to the
 * micro-dollar (note [money]). */
static mk_value *money_times(mk_ectx *c, mk_ast *n, const mk_value *u, const mk_value *s)
{
    mk_money r;
    bool ok = n->op == MK_OP_MUL && s->kind == MK_V_INT ? mk_money_mul_int(u->u.i, s->u.i, &r)
              : n->op == MK_OP_MUL                      ? mk_money_mul(u->u.i, as_double(s), &r)
                                                        : mk_money_div(u->u.i, as_double(s), &r);
    return ok ? mk_v_money(c->e->v, r) : overflow(c, n);
}

static mk_value *unit_times(mk_ectx *c, mk_ast *n, mk_vkind k, const mk_value *u, const mk_value *s)
{
    if (k == MK_V_MONEY)
        return money_times(c, n, u, s);
    if (s->kind == MK_V_INT)
        return int_arith(c, n, k, u->u.i, s->u.i);
    double d = n->op == MK_OP_DIV ? (double)u->u.i / s->u.d : (double)u->u.i * s->u.d;
    if (!(fabs(d) < 9.2e18))
        return overflow(c, n);
    return mk_v_unit(c->e->v, k, (int64_t)llround(d));
}

static mk_value *arith(mk_ectx *c, mk_ast *n, mk_value *a, mk_value *b)
{
    static const char *verbs[] = {"", "add", "subtract", "multiply", "divide", "take the remainder of"};
    mk_vkind ka = kind_of(a), kb = kind_of(b);
    mk_vkind k = arith_kind(n->op, ka, kb);
    if (n->op == MK_OP_MOD && !(ka == MK_V_INT && kb == MK_V_INT) && ka != MK_V_ANY && kb != MK_V_ANY)
        k = MK_V_ERROR;
    if (k == MK_V_ERROR)
        return op_error(c, n, verbs[n->op], ka, kb);
    if (a->kind == MK_V_UNKNOWN || b->kind == MK_V_UNKNOWN)
        return unknown(c, k);
    mk_vctx *v = c->e->v;
    if (k == MK_V_INT || (held_in_i(k) && ka == kb)) /* money + money is exact too */
        return int_arith(c, n, k, a->u.i, b->u.i);
    if (k == MK_V_NUMBER && is_num(ka)) {
        double x = as_double(a), y = as_double(b);
        if ((n->op == MK_OP_DIV) && y == 0) {
            mk_diag_error(c->e->diag, "E0208", n->b->span, "division by zero");
            return ERR;
        }
        double r = n->op == MK_OP_ADD ? x + y : n->op == MK_OP_SUB ? x - y : n->op == MK_OP_MUL ? x * y : x / y;
        return isfinite(r) ? mk_v_number(v, r) : overflow(c, n); /* 1e308 * 10 is not inf */
    }
    if (k == MK_V_NUMBER) { /* unit / unit */
        double y = as_double(b);
        if (y == 0) {
            mk_diag_error(c->e->diag, "E0208", n->b->span, "division by zero");
            return ERR;
        }
        double r = as_double(a) / y;
        return isfinite(r) ? mk_v_number(v, r) : overflow(c, n);
    }
    if (is_unit(k)) {
        if (n->op == MK_OP_DIV && as_double(b) == 0) {
            mk_diag_error(c->e->diag, "E0208", n->b->span, "division by zero");
            return ERR;
        }
        return is_unit(ka) ? unit_times(c, n, k, a, b) : unit_times(c, n, k, b, a);
    }
    if (k == MK_V_STRING) {
        char *s = mk_arena_alloc(v->arena, (size_t)a->n + b->n + 1);
        memcpy(s, a->u.s, a->n);
        memcpy(s + a->n, b->u.s, b->n);
        return mk_v_str_owned(v, s, a->n + b->n);
    }
    if (k == MK_V_MAP)
        return mk_v_merge(v, a, b);
    mk_value *l = mk_v_list(v, a->n + b->n); /* list + list */
    memcpy(l->u.items, a->u.items, a->n * sizeof *l->u.items);
    memcpy(l->u.items + a->n, b->u.items, b->n * sizeof *l->u.items);
    return l;
}

static int compare(const mk_value *a, const mk_value *b)
{
    if (a->kind == MK_V_STRING) {
        uint32_t n = a->n < b->n ? a->n : b->n;
        int r = memcmp(a->u.s, b->u.s, n);
        return r ? r : (a->n > b->n) - (a->n < b->n);
    }
    if (held_in_i((mk_vkind)a->kind) && a->kind == b->kind)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    double x = as_double(a), y = as_double(b);
    return (x > y) - (x < y);
}

static mk_value *relation(mk_ectx *c, mk_ast *n, mk_value *a, mk_value *b)
{
    mk_vkind ka = kind_of(a), kb = kind_of(b);
    bool ok = ka == MK_V_ANY || kb == MK_V_ANY || (is_num(ka) && is_num(kb)) ||
              (ka == kb && (is_unit(ka) || ka == MK_V_STRING));
    if (!ok)
        return op_error(c, n, "compare", ka, kb);
    if (a->kind == MK_V_UNKNOWN || b->kind == MK_V_UNKNOWN)
        return unknown(c, MK_V_BOOL);
    int r = compare(a, b);
    bool res = n->op == MK_OP_LT ? r < 0 : n->op == MK_OP_LE ? r <= 0 : n->op == MK_OP_GT ? r > 0 : r >= 0;
    return mk_v_bool(res);
}

static mk_value *membership(mk_ectx *c, mk_ast *n, mk_value *a, mk_value *b)
{
    if (b->kind == MK_V_MAP && a->kind == MK_V_STRING) /* a key: the values do not matter */
        return mk_v_bool(mk_v_get(b, mk_intern_n(c->e->v->names, a->u.s, a->n)) != NULL);
    if (a->kind == MK_V_UNKNOWN || b->kind == MK_V_UNKNOWN || !mk_v_is_known(b))
        return unknown(c, MK_V_BOOL);
    if (b->kind == MK_V_LIST) {
        for (uint32_t i = 0; i < b->n; i++)
            if (mk_v_equal(a, b->u.items[i]))
                return mk_v_bool(true);
        return mk_v_bool(false);
    }
    if (b->kind == MK_V_MAP && a->kind == MK_V_STRING)
        return mk_v_bool(mk_v_get(b, mk_intern_n(c->e->v->names, a->u.s, a->n)) != NULL);
    if (b->kind == MK_V_STRING && a->kind == MK_V_STRING)
        return mk_v_bool(a->n == 0 || memmem(b->u.s, b->n, a->u.s, a->n) != NULL);
    mk_diag_error(c->e->diag, "E0200", n->span, "cannot look for a %s in a %s", mk_v_kind_name(a->kind),
                  mk_v_kind_name(b->kind));
    return ERR;
}

static mk_value *want_bool(mk_ectx *c, mk_ast *at, mk_value *v, const char *what)
{
    if (v->kind == MK_V_ERROR)
        return ERR;
    mk_vkind k = kind_of(v);
    if (k != MK_V_BOOL && k != MK_V_ANY) {
        mk_diag_error(c->e->diag, "E0200", at->span, "%s must be a bool, found %s", what, mk_v_kind_name(k));
        return ERR;
    }
    return v;
}

static mk_value *logic(mk_ectx *c, mk_ast *n)
{
    const char *what = n->op == MK_OP_AND ? "each side of `&&`" : "each side of `||`";
    mk_value *a = want_bool(c, n->a, mk_eval_expr(c, n->a), what);
    if (a->kind == MK_V_BOOL && a->u.b == (n->op == MK_OP_OR))
        return taint(c, a, a, NULL); /* short-circuit */
    mk_value *b = want_bool(c, n->b, mk_eval_expr(c, n->b), what);
    if (a->kind == MK_V_ERROR || b->kind == MK_V_ERROR)
        return ERR;
    if (b->kind == MK_V_BOOL && b->u.b == (n->op == MK_OP_OR))
        return taint(c, b, a, b);
    if (a->kind == MK_V_UNKNOWN || b->kind == MK_V_UNKNOWN)
        return unknown(c, MK_V_BOOL);
    return taint(c, b, a, b);
}

static mk_value *eval_binary(mk_ectx *c, mk_ast *n)
{
    if (n->op == MK_OP_AND || n->op == MK_OP_OR)
        return logic(c, n);
    mk_value *a = mk_eval_expr(c, n->a), *b = mk_eval_expr(c, n->b);
    if (a->kind == MK_V_ERROR || b->kind == MK_V_ERROR)
        return ERR;
    mk_value *r;
    switch (n->op) {
    case MK_OP_EQ: case MK_OP_NE:
        if ((a->kind == MK_V_NULL || b->kind == MK_V_NULL) && a->kind != MK_V_UNKNOWN && b->kind != MK_V_UNKNOWN)
            r = mk_v_bool((a->kind == b->kind) == (n->op == MK_OP_EQ)); /* x == null needs no more of x */
        else if (!mk_v_is_known(a) || !mk_v_is_known(b))
            r = unknown(c, MK_V_BOOL);
        else
            r = mk_v_bool(mk_v_equal(a, b) == (n->op == MK_OP_EQ));
        break;
    case MK_OP_LT: case MK_OP_LE: case MK_OP_GT: case MK_OP_GE: r = relation(c, n, a, b); break;
    case MK_OP_IN: r = membership(c, n, a, b); break;
    default: r = arith(c, n, a, b);
    }
    return taint(c, r, a, b);
}

static mk_value *eval_unary(mk_ectx *c, mk_ast *n)
{
    mk_value *a = mk_eval_expr(c, n->a);
    if (a->kind == MK_V_ERROR)
        return ERR;
    mk_vkind k = kind_of(a);
    if (n->op == MK_OP_NOT) {
        if (want_bool(c, n->a, a, "the operand of `!`")->kind == MK_V_ERROR)
            return ERR;
        return a->kind == MK_V_UNKNOWN ? a : taint(c, mk_v_bool(!a->u.b), a, NULL);
    }
    if (!is_num(k) && !is_unit(k) && k != MK_V_ANY) {
        mk_diag_error(c->e->diag, "E0200", n->span, "cannot negate a %s", mk_v_kind_name(k));
        return ERR;
    }
    if (a->kind == MK_V_UNKNOWN)
        return a;
    mk_vctx *v = c->e->v;
    mk_value *r;
    if (k == MK_V_NUMBER)
        r = mk_v_number(v, -a->u.d);
    else if (a->u.i == INT64_MIN)
        return overflow(c, n);
    else
        r = k == MK_V_INT ? mk_v_int(v, -a->u.i) : mk_v_unit(v, k, -a->u.i);
    return taint(c, r, a, NULL);
}

static mk_value *eval_cond(mk_ectx *c, mk_ast *n)
{
    mk_value *cond = want_bool(c, n->a, mk_eval_expr(c, n->a), "the condition of `?:`");
    if (cond->kind == MK_V_BOOL)
        return taint(c, mk_eval_expr(c, cond->u.b ? n->b : n->c), cond, NULL);
    mk_value *a = mk_eval_expr(c, n->b), *b = mk_eval_expr(c, n->c);
    if (cond->kind == MK_V_ERROR || a->kind == MK_V_ERROR || b->kind == MK_V_ERROR)
        return ERR;
    mk_vkind ka = kind_of(a), kb = kind_of(b);
    return unknown(c, ka == kb ? ka : (kb == MK_V_NULL ? ka : ka == MK_V_NULL ? kb : MK_V_ANY));
}

/* The value of a size, duration, money or number literal, kept in its
 * node (note [literal values] in ast.h). */
static mk_value *literal(mk_ast *n, mk_vkind k)
{
    _Static_assert(sizeof(mk_value) <= MK_AST_LIT_ROOM, "a literal's node holds its value");
    mk_value *v = mk_ast_lit_room(n);
    if (v->kind == MK_V_NULL) {
        if (k == MK_V_NUMBER)
            v->u.d = n->num;
        else
            v->u.i = n->ival;
        v->kind = (uint8_t)k;
    }
    return v;
}

mk_value *mk_eval_expr(mk_ectx *c, mk_ast *n)
{
    mk_vctx *v = c->e->v;
    switch (n->kind) {
    case MK_AST_NULL: return MK_V_NULLV;
    case MK_AST_BOOL: return mk_v_bool(n->ival != 0);
    case MK_AST_INT: return mk_v_int(v, n->ival);
    case MK_AST_NUMBER: return literal(n, MK_V_NUMBER);
    case MK_AST_SIZE: return literal(n, MK_V_SIZE);
    case MK_AST_DURATION: return literal(n, MK_V_DURATION);
    case MK_AST_MONEY: return literal(n, MK_V_MONEY);
    case MK_AST_STRING: return mk_v_str_owned(v, n->str ? n->str : "", mk_ast_len(n));
    case MK_AST_TEMPLATE: return eval_template(c, n);
    case MK_AST_LIST: return eval_list(c, n);
    case MK_AST_MAP: return eval_map(c, n);
    case MK_AST_NAME: return eval_name(c, n);
    case MK_AST_GETATTR: return eval_getattr(c, n);
    case MK_AST_INDEX: return eval_index(c, n);
    case MK_AST_SPLAT: return eval_splat(c, n);
    case MK_AST_CALL: return eval_call(c, n);
    case MK_AST_UNARY: return eval_unary(c, n);
    case MK_AST_BINARY: return eval_binary(c, n);
    case MK_AST_COND: return eval_cond(c, n);
    case MK_AST_FOR_EXPR: return eval_comprehension(c, n);
    case MK_AST_ATTR: { /* `NAME = value` in a call or a list that takes no named argument */
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0206", n->span, "a named argument (`%s = …`) here", n->name);
        mk_diag_help(it, "only approval() takes one: `require approval(\"sre\", count = 2)`; elsewhere pass values in order");
        return ERR;
    }
    default:
        mk_diag_error(c->e->diag, "E0100", n->span, "expected an expression, found %s", mk_ast_kind_name(n->kind));
        return ERR;
    }
}
