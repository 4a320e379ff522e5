/* eval — evaluation of a program's units: variables, lets, the stack block,
 * resources with count/for_each expansion and schema checks, providers,
 * modules and outputs; and the units of policy tests. The structure of
 * policy statements is checked by the policy module (middle/policy.c).
 *
 * Lets, resources and modules are evaluated on first use (and then in
 * declaration order for whatever was not used), so declaration order never
 * matters. note [cycles]: an item being evaluated is on e->stack; meeting it
 * again is a dependency cycle, reported once with the whole chain. */
#include "compiler/front/eval_int.h"

#include <stdio.h>
#include <string.h>

#include "compiler/base/mem.h"
#include "compiler/base/observed.h"
#include "compiler/base/state.h"
#include "compiler/front/vjson.h"

#define ERR MK_V_ERRORV
#define MAX_DEPTH 20000
#define MAX_INSTANCES 1000000

static mk_span head_span(mk_ev *e, mk_ast *decl)
{
    /* `resource TYPE NAME` without its body */
    mk_source *f = mk_src_get(&e->p->src, decl->span.file);
    mk_span s = decl->span;
    if (!f)
        return s;
    for (uint32_t i = s.start; i < s.end; i++)
        if (f->text[i] == '{') {
            while (i > s.start && (f->text[i - 1] == ' ' || f->text[i - 1] == '\t'))
                i--;
            s.end = i;
            break;
        }
    return s;
}

/* ---- the evaluation stack and cycles ---- */

static bool enter(mk_ectx *c, void *item, char kind, mk_span decl, mk_span ref)
{
    mk_ev *e = c->e;
    if (e->depth)
        e->stack[e->depth - 1].ref = ref;
    if (e->depth == MAX_DEPTH) {
        mk_diag_item *it = mk_diag_error(e->diag, "E0120", ref, "references nest deeper than %d levels", MAX_DEPTH);
        mk_diag_help(it, "break the chain of references");
        return false;
    }
    if (e->depth == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->stack = mk_mem_realloc(e->stack, e->cap * sizeof *e->stack);
    }
    e->stack[e->depth++] = (mk_frame){item, kind, decl, decl};
    return true;
}

static void leave(mk_ev *e) { e->depth--; }

/* ---- edges ---- */

/* Append an edge to a list; a repeat of one of the last few is dropped
 * (references to one resource come in runs). */
static void push_dep(mk_instance ***v, uint32_t *n, uint32_t *cap, mk_instance *to, mk_arena *a, bool check)
{
    for (uint32_t i = *n; check && i > 0 && i + 8 > *n; i--)
        if ((*v)[i - 1] == to)
            return;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        *v = mk_arena_grow(a, *v, *cap * sizeof **v, nc * sizeof **v);
        *cap = nc;
    }
    (*v)[(*n)++] = to;
}

/* The value being computed reads `to`: an edge of the instance being
 * evaluated, or of the memoised value (note [memoised edges]). */
static void depend(mk_ectx *c, mk_instance *to)
{
    mk_arena *a = c->e->v->arena;
    if (c->inst && c->inst != to)
        push_dep(&c->inst->deps, &c->inst->ndeps, &c->inst->capdeps, to, a, true);
    if (c->sink)
        push_dep(&c->sink->v, &c->sink->n, &c->sink->cap, to, a, true);
}

/* Take a memoised value's edges. Marks make it linear: every instance in
 * the list is marked with the list, then only the unmarked are added. */
static void merge_deps(mk_instance ***v, uint32_t *n, uint32_t *cap, const mk_deps *d, mk_instance *self,
                       mk_arena *a)
{
    if (!d->n)
        return;
    for (uint32_t i = 0; i < *n; i++)
        (*v)[i]->dep_mark = v;
    for (uint32_t i = 0; i < d->n; i++) {
        mk_instance *to = d->v[i];
        if (to == self || to->dep_mark == v)
            continue;
        to->dep_mark = v;
        push_dep(v, n, cap, to, a, false);
    }
}

static void depend_all(mk_ectx *c, const mk_deps *d)
{
    mk_arena *a = c->e->v->arena;
    if (c->inst)
        merge_deps(&c->inst->deps, &c->inst->ndeps, &c->inst->capdeps, d, c->inst, a);
    if (c->sink && c->sink != d)
        merge_deps(&c->sink->v, &c->sink->n, &c->sink->cap, d, NULL, a);
}

typedef struct mk_modinst {
    mk_evstate state;
    mk_ast *decl;
    mk_unit *unit;
    mk_value *outputs;
} mk_modinst;

/* Names are made only when a cycle is reported: frames are many, cycles rare. */
static void frame_name(const mk_frame *f, mk_buf *b)
{
    switch (f->kind) {
    case 'v': mk_buf_printf(b, "var.%s", ((mk_var *)f->item)->decl->name); break;
    case 'l': mk_buf_puts(b, ((mk_let *)f->item)->decl->name); break;
    case 'r': {
        mk_resource *r = f->item;
        mk_buf_printf(b, "%s%s.%s", r->unit->prefix, r->type, r->name);
        break;
    }
    case 'o': {
        mk_output *o = f->item;
        mk_buf_printf(b, "%s%s", o->unit->prefix, o->decl->name);
        break;
    }
    default: mk_buf_printf(b, "module.%s", ((mk_modinst *)f->item)->decl->name);
    }
}

static void cycle(mk_ectx *c, void *item, mk_span ref)
{
    mk_ev *e = c->e;
    uint32_t from = e->depth;
    while (from > 0 && e->stack[from - 1].item != item)
        from--;
    if (from == 0)
        return;
    from--;
    mk_buf b = {0};
    for (uint32_t i = from; i < e->depth; i++) {
        frame_name(&e->stack[i], &b);
        mk_buf_puts(&b, " → ");
    }
    frame_name(&e->stack[from], &b);
    mk_diag_item *it = mk_diag_error(e->diag, "E0120", ref, "dependency cycle: %s", mk_buf_cstr(&b));
    for (uint32_t i = from; i + 1 < e->depth; i++) {
        mk_buf x = {0}, y = {0};
        frame_name(&e->stack[i], &x);
        frame_name(&e->stack[i + 1], &y);
        mk_diag_note(it, e->stack[i].ref, "%s refers to %s here", mk_buf_cstr(&x), mk_buf_cstr(&y));
        mk_buf_free(&x);
        mk_buf_free(&y);
    }
    mk_diag_help(it, "break the cycle: one of these must not depend on the others");
    mk_buf_free(&b);
}

/* ---- variables ---- */

static mk_value *eval_field(void *ud, const mk_field *f, mk_value *val, mk_field_part part)
{
    mk_ectx *outer = ud;
    mk_ectx c = {.e = outer->e};
    mk_local self = {NULL, f->name, val};
    if (part == MK_FIELD_DEFAULT) {
        if (!f->def_cache)
            ((mk_field *)f)->def_cache = mk_eval_expr(&c, f->def);
        return f->def_cache;
    }
    c.locals = &self;
    c.redact = part == MK_FIELD_MSG; /* a message: secrets in it as (sensitive) */
    return mk_eval_expr(&c, part == MK_FIELD_WHERE ? f->where : f->msg);
}

static mk_value *var_where(mk_ectx *c, mk_var *var, mk_value *v)
{
    mk_ast *d = var->decl;
    if (!d->c || v->kind == MK_V_ERROR || !mk_v_is_known(v))
        return v;
    mk_ectx w = {.e = c->e, .u = c->u};
    mk_local self = {NULL, d->name, v};
    w.locals = &self;
    mk_value *ok = mk_eval_expr(&w, d->c);
    if (ok->kind == MK_V_ERROR)
        return ERR;
    if (ok->kind != MK_V_BOOL) {
        if (ok->kind != MK_V_UNKNOWN)
            mk_diag_error(c->e->diag, "E0200", d->c->span, "a `where` constraint must be a bool, found %s",
                          mk_v_kind_name(ok->kind));
        return ok->kind == MK_V_UNKNOWN ? v : ERR;
    }
    if (ok->u.b)
        return v;
    w.redact = true; /* the message shows a secret it interpolates as (sensitive) */
    mk_value *msg = d->d ? mk_eval_expr(&w, d->d) : NULL;
    mk_buf shown = {0};
    mk_v_show(v, &shown, false);
    mk_diag_item *it;
    mk_span at = var->arg ? var->arg->span
               : var->given && var->has_given_at ? var->given_at
               : !var->given && d->b ? d->b->span : d->span; /* where the value is written */
    if (msg && msg->kind == MK_V_STRING && (msg->flags & MK_VF_SECRET))
        it = mk_diag_error(c->e->diag, "E0205", at, "(sensitive)");
    else if (msg && msg->kind == MK_V_STRING)
        it = mk_diag_error(c->e->diag, "E0205", at, "%.*s", (int)msg->n, msg->u.s);
    else
        it = mk_diag_error(c->e->diag, "E0205", at, "variable `%s` does not satisfy its constraint", d->name);
    mk_diag_label(it, "%s is %s%s%s", d->name, mk_buf_cstr(&shown), var->given || var->arg ? " from " : "",
                  var->given || var->arg ? var->given_from : "");
    mk_diag_note(it, d->c->span, "constraint declared here");
    mk_buf_free(&shown);
    return ERR;
}

static mk_vkind want_of(const mk_type *t)
{
    switch (t->kind) {
    case MK_T_STRING: case MK_T_SECRET: case MK_T_ENUM: return MK_V_STRING;
    case MK_T_INT: return MK_V_INT;
    case MK_T_NUMBER: return MK_V_NUMBER;
    case MK_T_BOOL: return MK_V_BOOL;
    case MK_T_SIZE: return MK_V_SIZE;
    case MK_T_DURATION: return MK_V_DURATION;
    case MK_T_MONEY: return MK_V_MONEY;
    case MK_T_LIST: case MK_T_SET: return MK_V_LIST;
    case MK_T_MAP: case MK_T_OBJECT: return MK_V_MAP;
    case MK_T_REF: return MK_V_RESOURCE;
    default: return MK_V_ANY;
    }
}

static mk_value *block_map(mk_ectx *c, mk_ast_list *items, const char *where);

static mk_value *var_value(mk_ectx *c, mk_var *var)
{
    mk_ast *d = var->decl;
    if (!var->type)
        var->type = mk_type_from_ast(c->e->p->types, d->a);
    mk_value *v;
    mk_span at = d->b ? d->b->span : d->span;
    if (var->given) {
        v = var->given;
        at = var->has_given_at ? var->given_at : d->span; /* the value's own place: a var file's line */
    } else if (var->arg) { /* a module argument, read now: note [lazy modules] */
        mk_ectx ac = {.e = c->e, .u = var->arg_unit, .sink = &var->deps};
        mk_ast *a = var->arg;
        v = a->kind == MK_AST_ATTR ? mk_eval_expr(&ac, a->b) : block_map(&ac, &a->kids, "a block");
        at = a->kind == MK_AST_ATTR ? a->b->span : a->span;
    } else if (d->b) {
        mk_ectx dc = {.e = c->e, .u = c->u, .sink = &var->deps};
        v = mk_eval_expr(&dc, d->b);
    } else if (c->e->p->strict) {
        return ERR; /* reported by check_missing_vars */
    } else { /* unknown (check; and destroy, which deletes what the state records) */
        v = mk_v_unknown(c->e->v, want_of(var->type));
    }
    if (v->kind == MK_V_NULL && !var->given && !var->arg && !d->b)
        return v;
    v = mk_type_check(&c->e->tc, var->type, v, at, NULL);
    return var_where(c, var, v);
}

/* note [destroy variables]: what a destroy reads from the policies and the
 * provider blocks must be known, or a policy would pass (or a gate vanish)
 * on an unknown: a variable without a value read there, directly or through
 * lets, is E0211. Read elsewhere it is unknown, and the lets being evaluated
 * remember it. */
static bool destroy_reads(const mk_ectx *c) { return c->e->p->destroy_vars && (c->policy || c->e->in_provider); }

static mk_value *missing_in_destroy(mk_ectx *c, mk_var *var, mk_span at)
{
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0211", at, "variable `%s` has no value", var->decl->name);
    mk_diag_help(it, "destroy needs it: %s reads it; set it with --var %s=…, MOKSHA_VAR_%s=… or in a --var-file",
                 c->e->in_provider ? "a provider block" : "a policy", var->decl->name, var->decl->name);
    return ERR;
}

static void taint_lets(mk_ev *e, mk_var *var)
{
    for (uint32_t i = 0; i < e->depth; i++)
        if (e->stack[i].kind == 'l' && !((mk_let *)e->stack[i].item)->missing)
            ((mk_let *)e->stack[i].item)->missing = var;
}

mk_value *mk_eval_var(mk_ectx *c, mk_name name, mk_span at)
{
    mk_var *var = mk_sym_get(&c->u->vars, name, NULL);
    if (!var && c->u->test_decl && c->u->parent) { /* a policy test sees its stack's variables */
        mk_ectx pc = *c;
        pc.u = c->u->parent;
        return mk_eval_var(&pc, name, at);
    }
    if (!var) {
        const char *cands[256];
        uint32_t k = 0;
        for (uint32_t i = 0; i < c->u->nvars && k < 256; i++)
            cands[k++] = c->u->var_order[i]->decl->name;
        mk_diag_item *it = mk_diag_error(c->e->diag, "E0111", at, "unknown variable `var.%s`", name);
        const char *s = mk_diag_suggest(name, cands, k);
        if (s)
            mk_diag_label(it, "did you mean `var.%s`?", s);
        else
            mk_diag_help(it, "declare it with `var %s: TYPE`", name);
        return ERR;
    }
    if (c->e->p->destroy_vars && !var->given && !var->decl->b) {
        if (destroy_reads(c))
            return missing_in_destroy(c, var, at);
        taint_lets(c->e, var);
    }
    if (var->state == MK_EV_DONE) {
        depend_all(c, &var->deps);
        return var->value;
    }
    if (var->state == MK_EV_BUSY) {
        cycle(c, var, at);
        return ERR;
    }
    if (!enter(c, var, 'v', var->decl->span, at))
        return ERR;
    var->state = MK_EV_BUSY;
    var->value = var_value(c, var);
    var->state = MK_EV_DONE;
    leave(c->e);
    depend_all(c, &var->deps);
    return var->value;
}

static void check_missing_vars(mk_ev *e, mk_unit *u)
{
    for (uint32_t i = 0; i < u->nvars; i++) {
        mk_var *v = u->var_order[i];
        if (v->given || v->decl->b)
            continue;
        mk_name n = v->decl->name;
        mk_diag_item *it = mk_diag_error(e->diag, "E0211", v->decl->span, "variable `%s` has no value", n);
        mk_diag_help(it, "set it with --var %s=…, MOKSHA_VAR_%s=… or in a --var-file", n, n);
    }
}

/* ---- lets and the stack ---- */

static mk_value *let_read(mk_ectx *c, mk_let *l, mk_span at)
{
    if (!l->missing)
        return l->value;
    if (destroy_reads(c))
        return missing_in_destroy(c, l->missing, at);
    taint_lets(c->e, l->missing);
    return l->value;
}

mk_value *mk_eval_let(mk_ectx *c, mk_let *l, mk_span at)
{
    if (l->state == MK_EV_DONE) {
        depend_all(c, &l->deps);
        return let_read(c, l, at);
    }
    if (l->state == MK_EV_BUSY) {
        cycle(c, l, at);
        return ERR;
    }
    if (!enter(c, l, 'l', l->decl->span, at))
        return ERR;
    l->state = MK_EV_BUSY;
    mk_ectx lc = {.e = c->e, .u = c->u, .sink = &l->deps};
    l->value = mk_eval_expr(&lc, l->decl->a);
    l->state = MK_EV_DONE;
    leave(c->e);
    depend_all(c, &l->deps);
    return let_read(c, l, at);
}

static mk_value *stack_placement(mk_ectx *c, mk_ast *blk);

mk_value *mk_eval_stack(mk_ectx *c)
{
    mk_unit *u = c->u;
    while (u->parent && !u->test_decl) /* a module sees its stack; a test has its own */
        u = u->parent;
    if (u->stack_value)
        return u->stack_value;
    mk_ectx sc = {.e = c->e, .u = u, .symbols = true};
    u->stack_value = mk_v_map(c->e->v, 0); /* a stack attribute naming the stack is a cycle: see nothing */
    mk_value *m = u->stack ? block_map(&sc, &u->stack->kids, "a stack block") : mk_v_map(c->e->v, 0);
    if (m->kind != MK_V_MAP)
        m = mk_v_map(c->e->v, 0);
    mk_value *name = mk_v_cstr(c->e->v, u->test_decl ? "test" : u->stack_name ? u->stack_name : "stack");
    mk_vbuild vb = {0};
    mk_vb_push(c->e->v, &vb, c->e->n.name, name);
    if (u->test_decl) /* a test's stack is env "test" unless it says otherwise */
        mk_vb_push(c->e->v, &vb, mk_intern_s(c->e->v->names, "env"), mk_v_cstr(c->e->v, "test"));
    for (uint32_t i = 0; i < m->n; i++)
        mk_vb_push(c->e->v, &vb, m->u.map.keys[i], m->u.map.vals[i]);
    if (c->e->p->env && !u->test_decl) /* --env: the block's `env` is only its default (docs/environments.md) */
        mk_vb_push(c->e->v, &vb, mk_intern_s(c->e->v->names, "env"), mk_v_cstr(c->e->v, c->e->p->env));
    u->stack_value = mk_vb_map(c->e->v, &vb);
    return u->stack_value;
}

/* A block's attributes and nested blocks as a map. */
static mk_value *block_map(mk_ectx *c, mk_ast_list *items, const char *where)
{
    mk_vbuild vb = {0};
    bool bad = false;
    for (uint32_t i = 0; i < items->n; i++) {
        mk_ast *it = items->v[i];
        mk_value *v;
        if (it->kind == MK_AST_ATTR)
            v = mk_eval_expr(c, it->b);
        else if (it->kind == MK_AST_BLOCK && it->name == c->e->n.placement && strcmp(where, "a stack block") == 0)
            v = stack_placement(c, it);
        else if (it->kind == MK_AST_BLOCK)
            v = block_map(c, &it->kids, "a block");
        else {
            mk_diag_item *d = mk_diag_error(c->e->diag, "E0119", it->span, "%s holds only attributes and blocks", where);
            mk_diag_help(d, "write `name = value`");
            bad = true;
            continue;
        }
        for (uint32_t k = 0; k < vb.n; k++)
            if (vb.keys[k] == it->name) {
                mk_diag_error(c->e->diag, "E0115", it->span, "`%s` is set twice", it->name);
                bad = true;
            }
        bad |= v->kind == MK_V_ERROR;
        mk_vb_push(c->e->v, &vb, it->name, v);
    }
    return bad ? ERR : mk_vb_map(c->e->v, &vb);
}

/* ---- resources ---- */

static void eval_resource(mk_ectx *c, mk_resource *r, mk_span at);

mk_value *mk_eval_resource_ref(mk_ectx *c, mk_resource *r, mk_span at)
{
    eval_resource(c, r, at);
    if (r->state != MK_EV_DONE || !r->value)
        return ERR;
    for (uint32_t i = 0; i < r->ninst; i++)
        depend(c, r->inst[i]);
    return r->value;
}

void mk_eval_suggest_resource(mk_ectx *c, mk_name type, mk_name name, mk_span at)
{
    const char *cands[512];
    size_t k = 0;
    for (uint32_t i = 0; c->u && i < c->u->nres && k < 512; i++)
        if (c->u->res_order[i]->type == type)
            cands[k++] = c->u->res_order[i]->name;
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0110", at, "unknown resource `%s.%s`", type, name);
    const char *s = mk_diag_suggest(name, cands, k);
    if (s)
        mk_diag_label(it, "did you mean `%s.%s`?", type, s);
    else
        mk_diag_help(it, "declare it with `resource %s %s { … }`", type, name);
}

mk_value *mk_eval_instance_attr(mk_ectx *c, mk_instance *inst, mk_name attr, mk_span at)
{
    if (!inst->attrs || inst->attrs->kind != MK_V_MAP)
        return ERR;
    mk_value *v = mk_v_get(inst->attrs, attr);
    if (v && v->kind == MK_V_UNKNOWN && !v->u.res) { /* computed at apply: say by whom */
        mk_deferred *d = mk_arena_alloc(c->e->v->arena, sizeof *d);
        d->parts = mk_arena_alloc(c->e->v->arena, sizeof *d->parts);
        d->parts[0] = (mk_defpart){NULL, 0, inst->address, attr};
        d->n = 1;
        mk_value *u = mk_v_list(c->e->v, 0);
        *u = *v;
        u->deep = 0;
        u->u.res = d;
        return u;
    }
    if (v)
        return v;
    mk_ev *e = c->e;
    if (attr == e->n.name)
        return mk_v_cstr(e->v, inst->res->name);
    if (attr == e->n.address) /* what `resources` calls it, so a policy can join a reference to its target */
        return mk_v_cstr(e->v, inst->address);
    const char *cands[128];
    uint32_t k = 0;
    for (; k < inst->attrs->n && k < 128; k++)
        cands[k] = inst->attrs->u.map.keys[k];
    mk_diag_item *it = mk_diag_error(e->diag, "E0112", at, "`%s` has no attribute `%s`", inst->address, attr);
    const char *s = mk_diag_suggest(attr, cands, k);
    if (s)
        mk_diag_label(it, "did you mean `%s`?", s);
    return ERR;
}

static mk_name res_type_of(void *res) { return ((mk_instance *)res)->res->type; }

static bool is_meta(mk_ev *e, mk_name n)
{
    return n == e->n.count || n == e->n.for_each || n == e->n.depends_on || n == e->n.provider;
}

static bool is_meta_block(mk_ev *e, mk_name n)
{
    return n == e->n.lifecycle || n == e->n.placement || n == e->n.usage;
}

/* note [slot reuse]: while an object is evaluated, three arrays say for
 * each field its value, where it was set and a misspelling meant for it.
 * They die with the object, so they are taken from and given back to a
 * list of spare arrays in mk_ev instead of from the arena: a stack's
 * worth of fresh arrays was 29 MB of memory touched for 100,000 resources.
 * Objects nest (blocks, references evaluating another resource), so
 * several are out at once, each given back by the function that took it. */
typedef struct mk_slotbuf {
    struct mk_slotbuf *next;
    size_t cap;               /* pointers that follow the header */
} mk_slotbuf;

typedef struct slotset {
    mk_value **vals;
    mk_ast **from;
    mk_ast **meant; /* an unknown attribute that is a misspelling of this field */
    mk_slotbuf *buf;
} slotset;

/* Report an unknown attribute; returns the field it is a close match for. */
/* Is type name a plugin's, NAME.* of a schema the program loaded? */
static bool plugin_type(const mk_program *p, const char *name)
{
    const char *dot = strchr(name, '.');
    char ns[64];
    if (!dot || dot - name >= (long)sizeof ns)
        return false;
    snprintf(ns, sizeof ns, "%.*s", (int)(dot - name), name);
    return mk_program_plugin_schema(p, ns) != NULL;
}

static const char *unknown_attr(mk_ectx *c, const mk_type *ty, mk_ast *it, bool resource)
{
    const char *cands[80];
    uint32_t k = 0;
    for (uint32_t i = 0; i < ty->nfields && k < 72; i++)
        if (!(ty->fields[i].flags & MK_ANN_COMPUTED))
            cands[k++] = ty->fields[i].name;
    const char *meta[] = {"count", "for_each", "depends_on", "provider", "lifecycle", "placement", "usage"};
    for (int i = 0; resource && i < 7; i++)
        cands[k++] = meta[i];
    mk_span at = it->span;
    at.end = at.start + (uint32_t)strlen(it->name);
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0112", at, "unknown attribute `%s` for a %s", it->name, ty->name);
    const char *s = mk_diag_suggest(it->name, cands, k);
    if (s)
        mk_diag_label(d, "did you mean `%s`?", s);
    else if (strncmp(ty->name, "provider_", 9) == 0)
        mk_diag_help(d, "see `type %s` in stdlib/types/providers.moksha", ty->name);
    else if (plugin_type(c->e->p, ty->name))
        mk_diag_help(d, "see `type %s` in its plugin's schema.moksha (docs/plugins.md)", ty->name);
    else
        mk_diag_help(d, "see `type %s` in stdlib/types/", ty->name);
    return s;
}

static mk_value *object_block(mk_ectx *c, const mk_type *ty, mk_ast_list *items, mk_span head, bool resource);

/* One attribute or nested block of an object: evaluate, check, store. */
static void set_field(mk_ectx *c, const mk_type *ty, slotset *s, mk_ast *it, bool resource)
{
    mk_ev *e = c->e;
    const mk_field *f = mk_type_field(ty, it->name);
    if (!f) {
        /* `cpus = 2` is one mistake: if `cpu` stays unset, it is not also
         * reported missing (finish_object) */
        const char *meant = unknown_attr(c, ty, it, resource);
        const mk_field *m = meant ? mk_type_field(ty, mk_intern_s(e->v->names, meant)) : NULL;
        if (m && !s->meant[m - ty->fields])
            s->meant[m - ty->fields] = it;
        return;
    }
    uint32_t k = (uint32_t)(f - ty->fields);
    if (f->flags & MK_ANN_COMPUTED) {
        mk_diag_item *d = mk_diag_error(e->diag, "E0117", it->span, "`%s` is computed by the provider", it->name);
        mk_diag_help(d, "remove it: the value is known after apply");
        return;
    }
    bool repeated = it->kind == MK_AST_BLOCK && f->type->kind == MK_T_LIST;
    if (s->from[k] && !repeated) {
        mk_diag_item *d = mk_diag_error(e->diag, "E0115", it->span, "`%s` is set twice", it->name);
        mk_diag_note(d, s->from[k]->span, "first set here");
        return;
    }
    s->from[k] = it;
    if (it->kind == MK_AST_BLOCK) {
        const mk_type *obj = repeated ? f->type->elem : f->type;
        if (obj->kind != MK_T_OBJECT) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0200", it->span, "`%s` is not a block", it->name);
            mk_diag_help(d, "write `%s = …`", it->name);
            s->vals[k] = ERR;
            return;
        }
        mk_value *one = object_block(c, obj, &it->kids, it->span, false);
        if (!repeated) {
            s->vals[k] = one;
            return;
        }
        /* repeated blocks build a list of objects */
        mk_value *prev = s->vals[k] && s->vals[k]->kind == MK_V_LIST ? s->vals[k] : mk_v_list(e->v, 0);
        mk_value *l = mk_v_list(e->v, prev->n + 1);
        memcpy(l->u.items, prev->u.items, prev->n * sizeof *l->u.items);
        l->u.items[prev->n] = one;
        s->vals[k] = one->kind == MK_V_ERROR || (s->vals[k] && s->vals[k]->kind == MK_V_ERROR) ? ERR : l;
        return;
    }
    mk_ectx vc = *c;
    vc.symbols |= f->type->kind == MK_T_ENUM || (f->type->elem && f->type->elem->kind == MK_T_ENUM);
    mk_value *v = mk_eval_expr(&vc, it->b);
    v = mk_type_check(&e->tc, f->type, v, it->b->span, NULL);
    if (v->kind != MK_V_ERROR && !mk_type_check_where(&e->tc, f, v, it->b->span))
        v = ERR;
    s->vals[k] = v;
}

/* Does a @force_new attribute differ from the applied one? Then the
 * resource is replaced, and references to its computed attributes must not
 * see the old values. Set attributes only: defaults of force_new fields are
 * constants and cannot change on their own. */
static bool will_replace(const mk_type *ty, slotset *s, json_t *known)
{
    for (uint32_t k = 0; k < ty->nfields; k++) {
        if (!(ty->fields[k].flags & MK_ANN_FORCE_NEW) || !s->vals[k])
            continue;
        bool unknown = false;
        json_t *j = mk_vjson_from(s->vals[k], NULL, false, NULL, &unknown);
        json_t *old = json_object_get(known, ty->fields[k].name);
        bool same = !unknown && old && mk_vjson_same(j, old);
        json_decref(j);
        if (!same)
            return true;
    }
    return false;
}

/* The object's map: set fields, then defaults, computed ones unknown.
 * The object is named in a diagnostic by what_fmt with what_arg, built
 * only when a diagnostic needs it; so is the head of a resource decl
 * (head_span reads the source), which is where a block's head is when decl
 * is NULL. */
static mk_value *finish_object(mk_ectx *c, const mk_type *ty, slotset *s, mk_ast *decl, mk_span head,
                               const char *what_fmt, const char *what_arg, json_t *known, bool *failed)
{
    mk_ev *e = c->e;
    if (known && will_replace(ty, s, known))
        known = NULL; /* a new object: its computed attributes are not the old ones */
    mk_value *m = mk_v_map(e->v, 0);
    m->n = ty->nfields;
    m->u.map.keys = ty->field_names; /* shared: values never change */
    m->u.map.vals = mk_arena_alloc(e->v->arena, (m->n + 1) * sizeof *m->u.map.vals);
    bool bad = false;
    for (uint32_t k = 0; k < ty->nfields; k++) {
        const mk_field *f = &ty->fields[k];
        mk_value *v = s->vals[k];
        if (!v && (f->flags & MK_ANN_COMPUTED)) {
            json_t *j = known ? json_object_get(known, f->name) : NULL;
            v = j ? mk_vjson_to(e->v, j, f->type) : NULL; /* known since the last apply */
            if (!v)
                v = mk_v_unknown(e->v, want_of(f->type));
        }
        else if (!v && f->def)
            v = eval_field(c, f, NULL, MK_FIELD_DEFAULT);
        else if (!v) {
            /* else it may be in the broken part, or misspelt and reported as unknown */
            if (decl) {
                head = head_span(e, decl);
                decl = NULL;
            }
            if (!mk_ast_has_syntax_error(&e->p->ast, head) && !s->meant[k]) {
                const char *what = mk_arena_printf(e->v->arena, what_fmt, what_arg);
                mk_diag_item *d = mk_diag_error(e->diag, "E0201", head, "%s is missing required attribute `%s`", what, f->name);
                mk_diag_help(d, "add `%s = …`", f->name);
            }
            v = ERR;
        }
        if (f->type->kind == MK_T_SECRET && v->kind != MK_V_NULL)
            v = mk_v_with_flags(e->v, v, MK_VF_SECRET);
        bad |= v->kind == MK_V_ERROR;
        m->u.map.vals[k] = v;
    }
    *failed = bad;
    return m;
}

static void misplaced_in_block(mk_ectx *c, const mk_type *ty, slotset *s, mk_ast *it)
{
    const mk_field *f = it->kind == MK_AST_FIELD && ty ? mk_type_field(ty, it->name) : NULL;
    if (f) { /* meant as the attribute: don't also call it missing */
        s->vals[f - ty->fields] = ERR;
        s->from[f - ty->fields] = it;
    }
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0119", it->span, "%s not allowed here",
                                    it->kind == MK_AST_FIELD ? "a field declaration is" : "this item is");
    if (it->kind == MK_AST_FIELD)
        mk_diag_help(d, "set an attribute with `=`: `%s = …`", it->name);
    else
        mk_diag_help(d, "a block holds attributes `name = value` and blocks");
}

/* Three zeroed arrays of a field each, from a spare buffer if one is big
 * enough (note [slot reuse]); give them back with drop_slots. */
static slotset new_slots(mk_ev *e, const mk_type *ty)
{
    size_t n = (ty ? ty->nfields : 0) + 1, need = 3 * n;
    mk_slotbuf **at = &e->spare_slots;
    while (*at && (*at)->cap < need)
        at = &(*at)->next;
    mk_slotbuf *b = *at;
    if (b) {
        *at = b->next;
    } else {
        size_t cap = need < 48 ? 48 : need;
        b = mk_arena_alloc(e->v->arena, sizeof *b + cap * sizeof(void *));
        b->cap = cap;
    }
    unsigned char *p = (unsigned char *)(b + 1);
    memset(p, 0, need * sizeof(void *));
    return (slotset){(mk_value **)p, (mk_ast **)(p + n * sizeof(void *)),
                     (mk_ast **)(p + 2 * n * sizeof(void *)), b};
}

static void drop_slots(mk_ev *e, slotset *s)
{
    s->buf->next = e->spare_slots;
    e->spare_slots = s->buf;
}

/* A block checked against an object type, each attribute at its own place. */
static mk_value *object_block(mk_ectx *c, const mk_type *ty, mk_ast_list *items, mk_span head, bool resource)
{
    slotset s = new_slots(c->e, ty);
    for (uint32_t i = 0; i < items->n; i++) {
        mk_ast *it = items->v[i];
        if (it->kind == MK_AST_ATTR || it->kind == MK_AST_BLOCK)
            set_field(c, ty, &s, it, resource);
        else
            misplaced_in_block(c, ty, &s, it);
    }
    bool failed;
    mk_value *m = finish_object(c, ty, &s, NULL, head, "this %s", ty->name, NULL, &failed);
    drop_slots(c->e, &s);
    return failed ? ERR : m;
}

static mk_value *meta_block(mk_ectx *c, mk_instance *in, mk_ast *blk)
{
    mk_ev *e = c->e;
    mk_name tn = blk->name;
    mk_ectx bc = *c;
    bc.symbols = tn == e->n.placement;
    if (tn == e->n.usage)
        tn = mk_intern_s(e->v->names, mk_arena_printf(e->v->arena, "%s_usage", in->res->type));
    mk_type *ty = mk_type_lookup(e->p->types, tn);
    if (!ty) {
        mk_diag_item *it = mk_diag_error(e->diag, "E0119", blk->span, "a %s takes no usage block", in->res->type);
        mk_diag_help(it, "usage estimates are for what is billed by use, e.g. a bucket's stored GB");
        return ERR;
    }
    mk_span head = blk->span;
    head.end = head.start + (uint32_t)strlen(blk->name);
    return object_block(&bc, ty, &blk->kids, head, false);
}

/* note [optimize latency]: `placement { optimize = latency }` is refused
 * rather than placed by cost under another name: there is no documented
 * source of inter-region latencies, nor a defined "near" (to whom?), to
 * optimise against (docs/cost.md, "Latency"). False when refused. */
static bool placement_ok(mk_ectx *c, mk_ast *blk, const mk_value *m)
{
    mk_name opt = mk_intern_s(c->e->v->names, "optimize");
    const mk_value *o = mk_v_get(m, opt);
    if (!o || o->kind != MK_V_STRING || o->n != 7 || memcmp(o->u.s, "latency", 7) != 0)
        return true;
    mk_span at = blk->span;
    for (uint32_t i = 0; i < blk->kids.n; i++)
        if (blk->kids.v[i]->kind == MK_AST_ATTR && blk->kids.v[i]->name == opt)
            at = blk->kids.v[i]->b->span;
    mk_diag_item *it = mk_diag_error(c->e->diag, "E0202", at,
                                     "`optimize = latency` is not supported: moksha has no inter-region latency figures");
    mk_diag_help(it, "placement optimises cost only; pin `regions` near your users, e.g. regions = [\"eu-west-1\", "
                     "\"europe-west1\"] (docs/cost.md, \"Latency\")");
    return false;
}

/* The stack's `placement` block, the default of every resource without
 * one: checked against the placement type like a resource's. */
static mk_value *stack_placement(mk_ectx *c, mk_ast *blk)
{
    mk_type *ty = mk_type_lookup(c->e->p->types, c->e->n.placement);
    if (!ty)
        return block_map(c, &blk->kids, "a block");
    mk_span head = blk->span;
    head.end = head.start + (uint32_t)strlen(blk->name);
    mk_value *m = object_block(c, ty, &blk->kids, head, false);
    return m->kind == MK_V_MAP && !placement_ok(c, blk, m) ? ERR : m;
}

static void apply_meta_blocks(mk_ectx *c, mk_instance *in, mk_ast *blk)
{
    mk_ev *e = c->e;
    mk_value *m = meta_block(c, in, blk);
    if (m->kind != MK_V_MAP || (blk->name == e->n.placement && !placement_ok(c, blk, m))) {
        in->failed = true;
        return;
    }
    if (blk->name == e->n.placement) {
        in->placement = m;
    } else if (blk->name == e->n.usage) {
        in->usage = m;
    } else {
        mk_value *pd = mk_v_get(m, e->n.prevent_destroy), *cbd = mk_v_get(m, e->n.create_before_destroy);
        in->prevent_destroy = pd && pd->kind == MK_V_BOOL && pd->u.b;
        in->create_before_destroy = cbd && cbd->kind == MK_V_BOOL && cbd->u.b;
        in->ignore_changes = mk_v_get(m, e->n.ignore_changes);
        mk_value *dr = mk_v_get(m, mk_intern_s(e->v->names, "drift")); /* the type checked it is one of three */
        in->drift = dr && dr->kind == MK_V_STRING && strcmp(dr->u.s, "correct") != 0 ? dr->u.s : NULL;
        for (uint32_t i = 0; in->ignore_changes && in->res->schema && i < in->ignore_changes->n; i++) {
            mk_value *a = in->ignore_changes->u.items[i];
            bool secret = (a->flags | in->ignore_changes->flags) & MK_VF_SECRET; /* not quoted */
            if (a->kind == MK_V_STRING && !mk_type_field(in->res->schema, mk_intern_n(e->v->names, a->u.s, a->n)))
                mk_diag_error(e->diag, "E0112", blk->span, "ignore_changes names `%.*s`, which a %s does not have",
                              secret ? 11 : (int)a->n, secret ? "(sensitive)" : a->u.s, in->res->type);
        }
    }
}

static void apply_meta_attr(mk_ectx *c, mk_instance *in, mk_ast *it)
{
    mk_ev *e = c->e;
    if (it->name == e->n.depends_on) {
        mk_value *v = mk_eval_expr(c, it->b);
        bool ok = v->kind == MK_V_LIST || v->kind == MK_V_ERROR;
        for (uint32_t i = 0; ok && v->kind == MK_V_LIST && i < v->n; i++) {
            mk_value *x = v->u.items[i];
            ok = x->kind == MK_V_RESOURCE || x->kind == MK_V_LIST || x->kind == MK_V_MAP || x->kind == MK_V_UNKNOWN;
        }
        if (!ok) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0200", it->b->span, "depends_on lists resources");
            mk_diag_help(d, "write depends_on = [network.main, compute.web]");
        }
        return; /* the references themselves recorded the edges */
    }
    if (it->name == e->n.provider) {
        mk_ectx sc = *c;
        sc.symbols = true;
        mk_value *v = mk_eval_expr(&sc, it->b);
        if ((v->flags & MK_VF_SECRET) && v->kind != MK_V_ERROR) { /* it would be shown in the plan */
            mk_diag_item *d = mk_diag_error(e->diag, "E0214", it->b->span, "a secret cannot name a provider");
            mk_diag_label(d, "this is derived from a secret");
            return;
        }
        if (v->kind != MK_V_STRING)
            return;
        mk_name pn = mk_intern_n(e->v->names, v->u.s, v->n);
        mk_unit *root = c->u;
        while (root->parent)
            root = root->parent;
        if (!mk_sym_get(&c->u->providers, pn, NULL) && !mk_sym_get(&root->providers, pn, NULL)) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0118", it->b->span, "no provider `%s` is declared", pn);
            mk_diag_help(d, "declare it with `provider %s { … }` or `provider TYPE %s { … }`", pn, pn);
            return;
        }
        in->provider = pn;
    }
}

/* In a test, `action = "delete"` and `cost = $N` describe the resource's
 * change and price (docs/policies.md, "Tests"). */
static bool test_meta(mk_ectx *c, mk_instance *in, mk_ast *it)
{
    bool action = strcmp(it->name, "action") == 0, cost = strcmp(it->name, "cost") == 0;
    if (!action && !cost)
        return false;
    mk_value *v = mk_eval_expr(c, it->b);
    static const char *const acts[] = {"create", "update", "replace", "delete", "import", "move"};
    bool ok = v->kind == MK_V_ERROR;
    if (action && v->kind == MK_V_STRING)
        for (int i = 0; i < 6; i++)
            ok |= v->n == strlen(acts[i]) && memcmp(v->u.s, acts[i], v->n) == 0;
    if (cost)
        ok |= v->kind == MK_V_MONEY;
    if (!ok)
        mk_diag_error(c->e->diag, action ? "E0202" : "E0200", it->b->span,
                      action ? "a test's action is \"create\", \"update\", \"replace\", \"delete\", \"import\" or \"move\""
                             : "a test's cost is money, e.g. $120");
    else if (action)
        in->test_action = v;
    else
        in->test_cost = v;
    return true;
}

/* Is the object at st gone outside moksha, and to be created again (its
 * lifecycle's drift is the default, "correct")? */
static bool gone_outside(const mk_program *p, const mk_instance *in, json_t *st)
{
    json_t *seen = in->drift ? NULL : mk_observed_of(p->observed, st);
    const char *status = json_string_value(json_object_get(seen, "status"));
    return status && strcmp(status, "gone") == 0;
}

static void eval_instance(mk_ectx *rc, mk_instance *in)
{
    mk_ev *e = rc->e;
    mk_resource *r = in->res;
    mk_ectx c = {.e = e, .u = r->unit, .inst = in};
    slotset s = new_slots(e, r->schema);
    mk_ast_list *body = &r->decl->kids;
    for (uint32_t i = 0; i < body->n; i++) {
        mk_ast *it = body->v[i];
        if (it->kind == MK_AST_ATTR && r->unit->test_decl && test_meta(&c, in, it)) {
            continue;
        } else if (it->kind == MK_AST_ATTR && is_meta(e, it->name)) {
            if (it->name != e->n.count && it->name != e->n.for_each)
                apply_meta_attr(&c, in, it);
        } else if (it->kind == MK_AST_BLOCK && is_meta_block(e, it->name)) {
            apply_meta_blocks(&c, in, it);
        } else if (it->kind == MK_AST_ATTR || it->kind == MK_AST_BLOCK) {
            if (r->schema)
                set_field(&c, r->schema, &s, it, true);
            else if (it->kind == MK_AST_ATTR)
                mk_eval_expr(&c, it->b); /* still report what is wrong inside */
        } else {
            misplaced_in_block(&c, r->schema, &s, it);
        }
    }
    if (!r->schema) {
        drop_slots(e, &s);
        in->attrs = mk_v_map(e->v, 0);
        return;
    }
    json_t *st = e->p->state ? mk_state_find(e->p->state, in->address, NULL) : NULL;
    if (st && gone_outside(e->p, in, st))
        st = NULL; /* created again (docs/drift.md): its computed attributes are known after apply, like any create's */
    bool failed;
    in->attrs = finish_object(&c, r->schema, &s, r->decl, r->decl->span, "resource `%s`", in->address,
                              st ? json_object_get(st, "attributes") : NULL, &failed);
    drop_slots(e, &s);
    in->failed |= failed;
}

static mk_ast *find_attr(mk_ast *decl, mk_name n)
{
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && decl->kids.v[i]->name == n)
            return decl->kids.v[i];
    return NULL;
}

/* PREFIXTYPE.NAME, copied straight into the arena: most instances have no
 * key, and formatting 100,000 addresses was a visible share of `check`. */
static const char *plain_address(mk_ev *e, const mk_resource *r)
{
    size_t np = strlen(r->unit->prefix), nt = strlen(r->type), nn = strlen(r->name);
    char *a = mk_arena_alloc(e->v->arena, np + nt + nn + 2);
    memcpy(a, r->unit->prefix, np);
    memcpy(a + np, r->type, nt);
    a[np + nt] = '.';
    memcpy(a + np + nt + 1, r->name, nn + 1);
    return a;
}

/* PREFIXTYPE.NAME[KEY]: an index, a quoted key, or [*] for one not known. */
static const char *keyed_address(mk_ev *e, const mk_resource *r, const mk_value *key)
{
    mk_buf b = {0};
    mk_buf_printf(&b, "%s%s.%s", r->unit->prefix, r->type, r->name);
    if (key->kind == MK_V_INT)
        mk_buf_printf(&b, "[%lld]", (long long)key->u.i);
    else if (key->kind == MK_V_STRING) {
        mk_buf_puts(&b, "[\"");
        mk_buf_escape(&b, key->u.s, key->n);
        mk_buf_puts(&b, "\"]");
    } else
        mk_buf_puts(&b, "[*]");
    const char *a = mk_arena_strndup(e->v->arena, b.data, b.len);
    mk_buf_free(&b);
    return a;
}

static mk_instance *new_instance(mk_ectx *c, mk_resource *r, mk_value *key, mk_value *each_value)
{
    mk_ev *e = c->e;
    mk_instance *in = mk_arena_alloc(e->v->arena, sizeof *in);
    in->res = r;
    in->key = key;
    in->each_value = each_value;
    in->address = key ? keyed_address(e, r, key) : plain_address(e, r);
    if (r->type[0] != 0 && strchr(r->type, '.'))
        in->provider = mk_intern_n(e->v->names, r->type, (size_t)(strchr(r->type, '.') - r->type));
    return in;
}

/* Would count or for_each put a secret into instance addresses? A map's
 * keys are secret only when the map is as a whole (its values may be secret
 * on their own: each.value is then secret); a list's or a count's elements
 * are the keys. */
static bool secret_keys(const mk_value *v, bool count)
{
    return count || v->kind == MK_V_LIST ? mk_v_is_secret(v) : (v->flags & MK_VF_SECRET) != 0;
}

/* note [secret addresses]: an address is printed in plans, state, the audit
 * log and apply's output, and a map key in plans and state: a secret may be
 * neither (as Terraform refuses a sensitive for_each). */
static void secret_address(mk_ectx *c, mk_span at, const char *what)
{
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0214", at, "a secret cannot be used as `%s`", what);
    mk_diag_label(d, "this is derived from a secret");
    if (strcmp(what, "count") == 0)
        mk_diag_help(d, "`count` makes instance addresses, which plans, state and logs show in clear: "
                        "count something that is not secret");
    else
        mk_diag_help(d, "`for_each` makes instance addresses, which plans, state and logs show in clear: iterate "
                        "over names that are not secret and read the secret inside the resource");
}

/* The instances a resource expands to: none for count = 0. */
static bool expand(mk_ectx *c, mk_resource *r)
{
    mk_ev *e = c->e;
    mk_ast *cnt = find_attr(r->decl, e->n.count), *fe = find_attr(r->decl, e->n.for_each);
    mk_ectx ec = {.e = e, .u = r->unit};
    if (cnt && fe) {
        mk_diag_item *d = mk_diag_error(e->diag, "E0210", fe->span, "a resource takes `count` or `for_each`, not both");
        mk_diag_note(d, cnt->span, "count set here");
        return false;
    }
    r->counted = cnt != NULL;
    r->each = fe != NULL;
    if (!cnt && !fe) {
        r->inst = mk_arena_alloc(e->v->arena, sizeof *r->inst);
        r->inst[r->ninst++] = new_instance(c, r, NULL, NULL);
        return true;
    }
    mk_value *v = mk_eval_expr(&ec, (cnt ? cnt : fe)->b);
    mk_span at = (cnt ? cnt : fe)->b->span;
    if (v->kind == MK_V_ERROR)
        return false;
    if (secret_keys(v, cnt != NULL)) {
        secret_address(c, at, cnt ? "count" : "for_each");
        return false;
    }
    if (v->kind == MK_V_UNKNOWN || !mk_v_is_known(v)) {
        if (e->p->strict) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0210", at, "%s must be known when planning", cnt ? "count" : "for_each");
            mk_diag_help(d, "it may not depend on attributes computed at apply time");
            return false;
        }
        r->unknown_count = true;
        r->inst = mk_arena_alloc(e->v->arena, sizeof *r->inst);
        r->inst[r->ninst++] = new_instance(c, r, mk_v_unknown(e->v, cnt ? MK_V_INT : MK_V_STRING), mk_v_unknown(e->v, MK_V_ANY));
        return true;
    }
    if (cnt) {
        if (v->kind != MK_V_INT || v->u.i < 0 || v->u.i > MAX_INSTANCES) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0210", at, "count must be an int from 0 to %d", MAX_INSTANCES);
            if (v->kind == MK_V_INT)
                mk_diag_label(d, "count is %lld", (long long)v->u.i);
            return false;
        }
        r->inst = mk_arena_alloc(e->v->arena, ((size_t)v->u.i + 1) * sizeof *r->inst);
        for (int64_t i = 0; i < v->u.i; i++)
            r->inst[r->ninst++] = new_instance(c, r, mk_v_int(e->v, i), NULL);
        return true;
    }
    if (v->kind != MK_V_MAP && v->kind != MK_V_LIST) {
        mk_diag_error(e->diag, "E0210", at, "for_each takes a map or a list of strings, found %s", mk_v_kind_name(v->kind));
        return false;
    }
    r->inst = mk_arena_alloc(e->v->arena, (v->n + 1) * sizeof *r->inst);
    for (uint32_t i = 0; i < v->n; i++) {
        mk_value *k = v->kind == MK_V_MAP ? mk_v_cstr(e->v, v->u.map.keys[i]) : v->u.items[i];
        if (k->kind != MK_V_STRING) {
            mk_diag_error(e->diag, "E0210", at, "for_each over a list takes strings, found %s", mk_v_kind_name(k->kind));
            return false;
        }
        for (uint32_t j = 0; j < r->ninst; j++)
            if (mk_v_equal(r->inst[j]->key, k)) {
                mk_diag_error(e->diag, "E0210", at, "for_each holds \"%.*s\" twice", (int)k->n, k->u.s);
                return false;
            }
        r->inst[r->ninst++] = new_instance(c, r, k, v->kind == MK_V_MAP ? v->u.map.vals[i] : k);
    }
    return true;
}

static void ref_value(mk_ev *e, mk_resource *r)
{
    if (r->unknown_count) {
        r->value = mk_v_unknown(e->v, r->counted ? MK_V_LIST : MK_V_MAP);
    } else if (r->counted) {
        r->value = mk_v_list(e->v, r->ninst);
        for (uint32_t i = 0; i < r->ninst; i++)
            r->value->u.items[i] = mk_v_resource(e->v, r->inst[i]);
    } else if (r->each) {
        r->value = mk_v_map(e->v, r->ninst);
        for (uint32_t i = 0; i < r->ninst; i++) {
            r->value->u.map.keys[i] = mk_intern_n(e->v->names, r->inst[i]->key->u.s, r->inst[i]->key->n);
            r->value->u.map.vals[i] = mk_v_resource(e->v, r->inst[i]);
        }
    } else {
        r->value = mk_v_resource(e->v, r->inst[0]);
    }
}

static void resolve_schema(mk_ev *e, mk_resource *r)
{
    mk_type *t = mk_type_lookup(e->p->types, r->type);
    if (t && t->is_resource) {
        r->schema = t;
        return;
    }
    size_t n;
    const char **names = mk_type_resource_names(e->p->types, &n);
    mk_diag_item *d = mk_diag_error(e->diag, "E0113", r->decl->a->span, "unknown resource type `%s`", r->type);
    const char *s = mk_diag_suggest(r->type, names, n);
    if (s)
        mk_diag_label(d, "did you mean `%s`?", s);
    else
        mk_diag_help(d, "resource types are compute, network, bucket, database, load_balancer, firewall, "
                        "volume, dns_record, queue and local.file, local.directory, local.symlink");
}

static void collect(mk_ev *e, mk_resource *r)
{
    mk_program *p = e->p;
    if (r->unit->prefix && strncmp(r->unit->prefix, "test.", 5) == 0)
        return;
    for (uint32_t i = 0; i < r->ninst; i++) {
        if (p->ninstances == p->capinst) {
            p->capinst = p->capinst ? p->capinst * 2 : 1024;
            p->instances = mk_mem_realloc(p->instances, p->capinst * sizeof *p->instances);
        }
        p->instances[p->ninstances++] = r->inst[i];
    }
}

static void eval_resource(mk_ectx *c, mk_resource *r, mk_span at)
{
    mk_ev *e = c->e;
    if (r->state == MK_EV_DONE)
        return;
    if (r->state == MK_EV_BUSY) {
        cycle(c, r, at);
        return;
    }
    if (!enter(c, r, 'r', r->decl->span, at))
        return;
    r->state = MK_EV_BUSY;
    resolve_schema(e, r);
    if (expand(c, r)) {
        ref_value(e, r); /* instances may refer to their siblings' known attributes */
        for (uint32_t i = 0; i < r->ninst; i++)
            eval_instance(c, r->inst[i]);
        collect(e, r);
    } else {
        r->value = ERR;
    }
    r->state = MK_EV_DONE;
    leave(e);
}

/* ---- modules ---- */

static void eval_unit(mk_ev *e, mk_unit *u);
static void eval_provider(mk_ectx *c, mk_ast *decl);
static void eval_providers(mk_ectx *c, mk_symtab *t);
static mk_ast **decls_in_order(const mk_symtab *t, size_t *n);

/* note [lazy modules]: a module is evaluated piece by piece, as anything
 * else is. Its block binds each argument to the variable it sets, and the
 * argument is evaluated, in the caller's unit, when the module first reads
 * the variable; `module.NAME.OUTPUT` evaluates that output alone (and what
 * it reads). So a resource may read an output of a module whose arguments
 * read that resource, as long as the output does not: a network from a
 * module, a firewall that reads its id, instances in the module that read
 * the firewall's. The whole module is evaluated with its unit, or when read
 * as a whole (`module.NAME`).
 *
 * unknown_arg reports an argument the module has no variable for; it returns
 * the variable it is a close match for, or NULL. */
static const char *unknown_arg(mk_ectx *c, mk_ast *decl, mk_unit *mu, mk_ast *it)
{
    const char *cands[128];
    uint32_t k = 0;
    for (; k < mu->nvars && k < 128; k++)
        cands[k] = mu->var_order[k]->decl->name;
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0112", it->span, "module `%s` has no variable `%s`", decl->name,
                                    it->name);
    const char *s = mk_diag_suggest(it->name, cands, k);
    if (s)
        mk_diag_label(d, "did you mean `%s`?", s);
    return s;
}

/* Bind a module block's arguments to the module's variables; each variable
 * without an argument needs a default. */
static void bind_args(mk_ectx *c, mk_ast *decl, mk_unit *mu)
{
    const char *meant[16]; /* variables that unknown arguments are misspellings of */
    uint32_t nmeant = 0;
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind != MK_AST_ATTR && it->kind != MK_AST_BLOCK) {
            mk_diag_item *d = mk_diag_error(c->e->diag, "E0119", it->span, "a module block holds only arguments");
            mk_diag_help(d, "write `name = value` for each variable of the module");
            continue;
        }
        mk_var *v = mk_sym_get(&mu->vars, it->name, NULL);
        if (!v) {
            const char *m = unknown_arg(c, decl, mu, it);
            if (m && nmeant < 16)
                meant[nmeant++] = m;
        } else if (v->arg) {
            mk_diag_item *d = mk_diag_error(c->e->diag, "E0115", it->span, "`%s` is set twice", it->name);
            mk_diag_note(d, v->arg->span, "first set here");
        } else {
            v->arg = it;
            v->arg_unit = c->u;
            v->given_from = mk_arena_printf(c->e->v->arena, "module %s", decl->name);
        }
    }
    for (uint32_t i = 0; i < mu->nvars; i++) {
        mk_var *v = mu->var_order[i];
        if (v->arg || v->decl->b || mk_ast_has_syntax_error(&c->e->p->ast, decl->span))
            continue;
        bool misspelt = false; /* one mistake, one error: reported as unknown */
        for (uint32_t j = 0; j < nmeant; j++)
            misspelt |= meant[j] == v->decl->name;
        v->given = ERR; /* reported: poison, not unknown */
        if (misspelt)
            continue;
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0201", decl->span, "module `%s` is missing variable `%s`",
                                        decl->name, v->decl->name);
        mk_diag_note(d, v->decl->span, "declared here, without a default");
        mk_diag_help(d, "add `%s = …` to the module block", v->decl->name);
    }
}

static mk_modinst *module_inst(mk_ectx *c, mk_ast *decl)
{
    mk_modinst *mi = decl->sym;
    if (mi)
        return mi;
    mi = mk_arena_alloc(c->e->v->arena, sizeof *mi);
    mi->decl = decl;
    decl->sym = mi;
    mi->outputs = ERR;
    mi->unit = mk_program_load_module(c->e->p, c->u, decl);
    if (mi->unit) {
        mk_ectx pc = {.e = c->e, .u = c->u};
        bind_args(&pc, decl, mi->unit);
    }
    return mi;
}

static mk_value *output_value(mk_ectx *c, mk_output *o, mk_span at)
{
    if (o->state == MK_EV_DONE) {
        depend_all(c, &o->deps);
        return o->value ? o->value : ERR;
    }
    if (o->state == MK_EV_BUSY) {
        cycle(c, o, at);
        return ERR;
    }
    if (!enter(c, o, 'o', o->decl->span, at))
        return ERR;
    o->state = MK_EV_BUSY;
    mk_ectx oc = {.e = c->e, .u = o->unit, .sink = &o->deps};
    o->value = mk_eval_expr(&oc, o->decl->a);
    o->state = MK_EV_DONE;
    leave(c->e);
    depend_all(c, &o->deps);
    return o->value;
}

static mk_value *eval_module(mk_ectx *c, mk_ast *decl, mk_span at)
{
    mk_ev *e = c->e;
    mk_modinst *mi = module_inst(c, decl);
    if (mi->state == MK_EV_DONE)
        return mi->outputs;
    if (mi->state == MK_EV_BUSY) {
        cycle(c, mi, at);
        return ERR;
    }
    if (!enter(c, mi, 'm', decl->span, at))
        return ERR;
    mi->state = MK_EV_BUSY;
    if (mi->unit) {
        eval_unit(e, mi->unit);
        mk_value *o = mk_v_map(e->v, mi->unit->noutputs);
        for (uint32_t i = 0; i < mi->unit->noutputs; i++) {
            o->u.map.keys[i] = mi->unit->outputs[i].decl->name;
            o->u.map.vals[i] = mi->unit->outputs[i].value ? mi->unit->outputs[i].value : ERR;
        }
        mi->outputs = o;
    }
    mi->state = MK_EV_DONE;
    leave(e);
    return mi->outputs;
}

static mk_ast *module_decl(mk_ectx *c, mk_name name, mk_span at)
{
    mk_ast *decl = c->u ? mk_sym_get(&c->u->modules, name, NULL) : NULL;
    if (!decl) {
        size_t k = 0;
        mk_ast **mods = c->u ? decls_in_order(&c->u->modules, &k) : NULL; /* note [declaration order] */
        const char **cands = mk_mem_alloc((k + 1) * sizeof *cands);
        for (size_t i = 0; i < k; i++)
            cands[i] = mods[i]->name;
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0111", at, "unknown module `module.%s`", name);
        const char *s = mk_diag_suggest(name, cands, k);
        mk_mem_free(cands);
        mk_mem_free(mods);
        if (s)
            mk_diag_label(d, "did you mean `module.%s`?", s);
        else
            mk_diag_help(d, "declare it with `module %s = \"./path\" { … }`", name);
    }
    return decl;
}

/* Everything a module holds, its own modules' resources included: what
 * `depends_on = [module.net]` waits for. */
static void depend_unit(mk_ectx *c, mk_unit *u)
{
    for (uint32_t i = 0; i < u->nres; i++)
        for (uint32_t k = 0; k < u->res_order[i]->ninst; k++)
            depend(c, u->res_order[i]->inst[k]);
    for (uint32_t i = 0; i < u->noutputs; i++)
        depend_all(c, &u->outputs[i].deps);
    size_t n;
    mk_ast **mods = decls_in_order(&u->modules, &n); /* note [declaration order] */
    for (size_t i = 0; i < n; i++) {
        mk_modinst *mi = mods[i]->sym;
        if (mi && mi->unit)
            depend_unit(c, mi->unit);
    }
    mk_mem_free(mods);
}

/* `module.NAME` as a whole (its outputs map) depends on all of it. */
mk_value *mk_eval_module_ref(mk_ectx *c, mk_name name, mk_span at)
{
    mk_ast *decl = module_decl(c, name, at);
    if (!decl)
        return ERR;
    mk_value *outs = eval_module(c, decl, at);
    mk_modinst *mi = decl->sym;
    if (outs->kind == MK_V_MAP && mi->unit)
        depend_unit(c, mi->unit);
    return outs;
}

/* `module.NAME.OUTPUT` depends on what that output read (note [memoised edges]). */
mk_value *mk_eval_module_output(mk_ectx *c, mk_name name, mk_name output, mk_span at)
{
    mk_ast *decl = module_decl(c, name, at);
    if (!decl)
        return ERR;
    mk_modinst *mi = module_inst(c, decl);
    if (!mi->unit)
        return ERR;
    const char *cands[128];
    uint32_t k = 0;
    for (uint32_t i = 0; i < mi->unit->noutputs; i++) {
        mk_output *o = &mi->unit->outputs[i];
        if (o->decl->name == output)
            return output_value(c, o, at);
        if (k < 128)
            cands[k++] = o->decl->name;
    }
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0207", at, "module `%s` has no output `%s`", name, output);
    const char *s = mk_diag_suggest(output, cands, k);
    if (s)
        mk_diag_label(d, "did you mean `%s`?", s);
    else
        mk_diag_help(d, "declare it in the module with `output %s = …`", output);
    return ERR;
}

/* ---- other stacks' outputs (note [stack reads] in program.c) ---- */

static bool holds_secret(json_t *j)
{
    if (json_is_object(j) && json_object_get(j, "$secret"))
        return true;
    const char *k;
    json_t *x;
    size_t i;
    json_object_foreach(j, k, x) {
        if (holds_secret(x))
            return true;
    }
    json_array_foreach(j, i, x) {
        if (holds_secret(x))
            return true;
    }
    return false;
}

/* "did you mean `PREFIXNAME`?" under the caret, for the closest of cands;
 * false when none is close (the caller helps instead). */
static bool suggested(mk_diag_item *d, const char *name, const char *const *cands, size_t k, const char *prefix)
{
    const char *s = mk_diag_suggest(name, cands, k);
    if (s)
        mk_diag_label(d, "did you mean `%s%s`?", prefix, s);
    return s != NULL;
}

/* "stack `network`" or "stack `network` (env prod)", for messages. */
static const char *read_name(mk_ectx *c, const mk_stack_read *r)
{
    const char *env = json_string_value(json_object_get(r->got, "env")) ?: r->env;
    return env ? mk_arena_printf(c->e->v->arena, "stack `%s` (env %s)", r->stack, env)
               : mk_arena_printf(c->e->v->arena, "stack `%s`", r->stack);
}

static mk_value *no_output(mk_ectx *c, const mk_stack_read *r, mk_ast *f)
{
    json_t *outs = json_object_get(r->got, "outputs");
    const char *cands[128], *k;
    size_t n = 0;
    json_t *x;
    json_object_foreach(outs, k, x) {
        if (n < 128)
            cands[n++] = k;
    }
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0215", f->span, "%s has no output `%s`", read_name(c, r), f->name);
    suggested(d, f->name, cands, n, "");
    if (n)
        mk_diag_help(d, "declare it in %s with `output %s = …` and apply it there", r->stack, f->name);
    else
        mk_diag_help(d, "its state records no outputs: apply it first (an apply records the stack's outputs)");
    return ERR;
}

/* The value given as the type declared, checked in a scratch set of
 * diagnostics: a mismatch is the other stack's value against this
 * stack's declaration, one E0215 at the type. */
static mk_value *typed_output(mk_ectx *c, const mk_stack_read *r, mk_ast *f, const mk_type *ty, json_t *j)
{
    mk_diag *scratch = mk_diag_new(&c->e->p->src);
    mk_tcheck tc = c->e->tc;
    tc.diag = scratch;
    mk_value *v = mk_type_check(&tc, ty, mk_vjson_to_any(c->e->v, j, false), f->a->span, NULL);
    const char *code, *msg = NULL;
    mk_span at;
    if (mk_diag_errors(scratch) && mk_diag_last_error(scratch, &code, &msg, &at)) {
        mk_buf t = {0};
        mk_type_show(ty, &t);
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0215", f->a->span, "output `%s` of %s does not have the type "
                                        "declared: %s", f->name, read_name(c, r), msg);
        mk_diag_label(d, "declared %s here", mk_buf_cstr(&t));
        mk_diag_help(d, "declare the type %s gives it, or change the output there", r->stack);
        mk_buf_free(&t);
        v = ERR;
    }
    mk_diag_free(scratch);
    return v;
}

static mk_value *read_field(mk_ectx *c, mk_stack_read *r, mk_ast *f)
{
    const mk_type *ty = mk_type_from_ast(c->e->p->types, f->a);
    if (!ty)
        return ERR;
    if (!r->got) /* not asked (check), or not answered (reported once) */
        return r->why ? ERR : mk_v_unknown(c->e->v, want_of(ty));
    json_t *j = json_object_get(json_object_get(r->got, "outputs"), f->name);
    if (!j)
        return no_output(c, r, f);
    if (holds_secret(j)) {
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0215", f->span, "output `%s` of %s is sensitive: secrets never "
                                        "cross stacks", f->name, read_name(c, r));
        mk_diag_help(d, "give this stack the secret itself (a `var` of type secret), not %s's output", r->stack);
        return ERR;
    }
    if (json_is_null(j)) /* known only after the other stack's next apply */
        return mk_v_unknown(c->e->v, want_of(ty));
    return typed_output(c, r, f, ty, j);
}

static mk_stack_read *find_read(mk_ectx *c, mk_name name, mk_span at)
{
    mk_program *p = c->e->p;
    const char *cands[128];
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->nreads; i++) {
        if (p->reads[i].name == name)
            return &p->reads[i];
        if (k < 128)
            cands[k++] = p->reads[i].name;
    }
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0111", at, "no `outputs %s` block", name);
    if (!suggested(d, name, cands, k, "outputs."))
        mk_diag_help(d, "declare what it reads: outputs %s { OUTPUT: TYPE }", name);
    return NULL;
}

mk_value *mk_eval_stack_read(mk_ectx *c, mk_name name, mk_span at)
{
    mk_stack_read *r = find_read(c, name, at);
    if (!r)
        return ERR;
    if (r->value)
        return r->value;
    if (r->why && !r->reported) {
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0215", r->decl->span, "cannot read the outputs of stack `%s`: %s",
                                        r->stack, r->why);
        mk_diag_help(d, "the executor reads them (`moksha-exec state outputs --stack %s`)", r->stack);
        r->reported = true;
    }
    mk_vbuild vb = {0};
    bool bad = false;
    for (uint32_t i = 0; i < r->decl->kids.n; i++) {
        mk_ast *f = r->decl->kids.v[i];
        if (f->kind != MK_AST_FIELD)
            continue;
        mk_value *v = read_field(c, r, f);
        bad |= v->kind == MK_V_ERROR;
        mk_vb_push(c->e->v, &vb, f->name, v);
    }
    r->value = bad ? ERR : mk_vb_map(c->e->v, &vb);
    return r->value;
}

mk_value *mk_eval_stack_output(mk_ectx *c, mk_name name, mk_name output, mk_span at)
{
    mk_value *m = mk_eval_stack_read(c, name, at);
    if (m->kind == MK_V_ERROR)
        return ERR;
    mk_value *v = mk_v_get(m, output);
    if (v)
        return v;
    mk_diag_item *d = mk_diag_error(c->e->diag, "E0207", at, "`outputs %s` declares no output `%s`", name, output);
    const char *cands[128];
    uint32_t k = 0;
    for (; k < m->n && k < 128; k++)
        cands[k] = m->u.map.keys[k];
    if (!suggested(d, output, cands, k, ""))
        mk_diag_help(d, "declare it in the block: %s: TYPE", output);
    return ERR;
}

/* ---- providers and outputs ---- */

/* note [local root] in runtime/providers/local.c: the executor is the
 * authority (its configuration may allow a root elsewhere), so a root that
 * leaves the stack directory is a warning here, at the attribute; one in
 * .moksha/ is an error of the schema. */
static void warn_local_root(mk_ectx *c, mk_ast *decl, mk_value *settings)
{
    mk_value *root = mk_v_get(settings, mk_intern_s(c->e->v->names, "root"));
    if (!root || root->kind != MK_V_STRING)
        return;
    bool up = root->n >= 2 && root->u.s[0] == '.' && root->u.s[1] == '.' && (root->n == 2 || root->u.s[2] == '/');
    for (uint32_t i = 0; i + 3 < root->n && !up; i++)
        up = memcmp(root->u.s + i, "/..", 3) == 0 && (i + 3 == root->n || root->u.s[i + 3] == '/');
    if (root->u.s[0] != '/' && !up)
        return;
    mk_span at = decl->span;
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && strcmp(decl->kids.v[i]->name, "root") == 0)
            at = decl->kids.v[i]->b->span;
    mk_diag_item *d = mk_diag_warn(c->e->diag, "W0001", at, "the local provider's root %.*s may leave the stack directory",
                                   (int)root->n, root->u.s);
    mk_diag_help(d, "the executor refuses a root outside the stack unless its own configuration allows it "
                    "(local.allowed_roots, docs/executor.md)");
}

/* note [plugin schema] in program.c: a plugin block's settings record the
 * digest of the schema its types were read from, for the executor. */
static mk_value *plugin_settings(mk_ectx *c, mk_value *v)
{
    mk_ev *e = c->e;
    const mk_value *nm = mk_v_get_text(v, "plugin");
    if (!v || v->kind != MK_V_MAP || !nm || nm->kind != MK_V_STRING)
        return v;
    const char *d = mk_program_plugin_schema(e->p, mk_arena_strndup(e->v->arena, nm->u.s, nm->n));
    mk_vbuild vb = {0};
    for (uint32_t i = 0; i < v->n; i++)
        mk_vb_push(e->v, &vb, v->u.map.keys[i], v->u.map.vals[i]);
    mk_vb_push(e->v, &vb, mk_intern_s(e->v->names, "schema_digest"), d ? mk_v_cstr(e->v, d) : MK_V_NULLV);
    return mk_vb_map(e->v, &vb);
}

static void eval_provider(mk_ectx *c, mk_ast *decl)
{
    mk_ev *e = c->e;
    mk_name tn = mk_intern_s(e->v->names, mk_arena_printf(e->v->arena, "provider_%s", decl->name));
    mk_type *ty = mk_type_lookup(e->p->types, tn);
    if (!ty) {
        mk_span at = decl->span;
        at.end = at.start + 9 + (uint32_t)strlen(decl->name);
        mk_diag_item *d = mk_diag_error(e->diag, "E0118", at, "unknown provider `%s`", decl->name);
        const char *known[] = {"local", "sim", "postgres", "s3", "azure_blob", "http", "plugin"};
        const char *s = mk_diag_suggest(decl->name, known, sizeof known / sizeof *known);
        if (s)
            mk_diag_label(d, "did you mean `%s`?", s);
        mk_diag_help(d, "providers in this version: local (files), sim (a simulated aws, gcp and azure), postgres "
                        "(roles, databases, schemas and grants on a PostgreSQL server), s3 and azure_blob (buckets), "
                        "http (REST objects) and plugin (a plugin's types)");
        return;
    }
    mk_span head = decl->span;
    head.end = head.start + 9 + (uint32_t)strlen(decl->name);
    mk_value *v = object_block(c, ty, &decl->kids, head, false);
    mk_unit *u = c->u;
    mk_value *cfg = mk_v_map(e->v, 2); /* {type, settings}: the alias is the key */
    cfg->u.map.keys[0] = mk_intern_s(e->v->names, "type");
    cfg->u.map.vals[0] = mk_v_cstr(e->v, decl->name);
    cfg->u.map.keys[1] = mk_intern_s(e->v->names, "settings");
    cfg->u.map.vals[1] = v;
    if (strcmp(decl->name, "plugin") == 0)
        cfg->u.map.vals[1] = plugin_settings(c, v);
    mk_vbuild vb = {0};
    for (uint32_t i = 0; u->provider_values && i < u->provider_values->n; i++)
        mk_vb_push(e->v, &vb, u->provider_values->u.map.keys[i], u->provider_values->u.map.vals[i]);
    mk_vb_push(e->v, &vb, decl->name2 ? decl->name2 : decl->name, cfg);
    u->provider_values = mk_vb_map(e->v, &vb);
    if (strcmp(decl->name, "local") == 0 && !u->test_decl) /* a policy test's bad root is on purpose */
        warn_local_root(c, decl, v);
}

static int by_place(const void *a, const void *b)
{
    const mk_span *x = &(*(mk_ast *const *)a)->span, *y = &(*(mk_ast *const *)b)->span;
    return x->file != y->file ? (x->file < y->file ? -1 : 1) : x->start < y->start ? -1 : x->start > y->start;
}

/* note [declaration order]: a table of declarations (providers, modules)
 * keeps its slots in the order of its names' addresses, which differ from
 * run to run; what is evaluated from it goes in the order it is written, so
 * that the plan (its providers, the instances of modules nothing refers to,
 * and so the change ids) is the same in every run. Freed by the caller. */
static mk_ast **decls_in_order(const mk_symtab *t, size_t *n)
{
    mk_ast **decls = mk_mem_alloc((t->cap + 1) * sizeof *decls);
    *n = 0;
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slots[i].a)
            decls[(*n)++] = t->slots[i].v;
    qsort(decls, *n, sizeof *decls, by_place);
    return decls;
}

static void eval_providers(mk_ectx *c, mk_symtab *t)
{
    size_t n;
    mk_ast **decls = decls_in_order(t, &n);
    for (size_t i = 0; i < n; i++)
        eval_provider(c, decls[i]);
    mk_mem_free(decls);
}

static void eval_outputs(mk_ectx *c, mk_unit *u)
{
    for (uint32_t i = 0; i < u->noutputs; i++)
        output_value(c, &u->outputs[i], u->outputs[i].decl->span);
}

/* ---- policy tests: their units now, their policies with the plan (policy.c) ---- */

static mk_ast *find_policy(mk_unit *u, const char *name)
{
    for (; u; u = u->parent)
        for (uint32_t i = 0; i < u->npolicies; i++)
            if (strcmp(u->policies[i]->str, name) == 0)
                return u->policies[i];
    return NULL;
}

static void check_test(mk_ev *e, mk_unit *u, mk_ast *t)
{
    mk_unit *tu = mk_unit_new(e->p, u->dir, "test.", u);
    mk_ast file = {.kind = MK_AST_FILE, .span = t->span};
    for (uint32_t i = 0; i < t->kids.n; i++) {
        mk_ast *it = t->kids.v[i];
        if (it->kind != MK_AST_EXPECT) {
            mk_ast_push(&e->p->ast, &file.kids, it);
            continue;
        }
        bool kw = strcmp(it->name, "deny") == 0 || strcmp(it->name, "allow") == 0;
        if (!kw) {
            mk_diag_item *d = mk_diag_error(e->diag, "E0119", it->span, "`expect` takes deny or allow, found `%s`", it->name);
            mk_diag_help(d, "write `expect deny \"POLICY\"` or `expect allow \"POLICY\"`");
        }
        if (!find_policy(u, it->str)) {
            const char *cands[256];
            size_t k = 0;
            for (mk_unit *w = u; w; w = w->parent)
                for (uint32_t i2 = 0; i2 < w->npolicies && k < 256; i2++)
                    cands[k++] = w->policies[i2]->str;
            mk_diag_item *d = mk_diag_error(e->diag, "E0110", it->span, "no policy named \"%s\"", it->str);
            const char *s = mk_diag_suggest(it->str, cands, k);
            if (s)
                mk_diag_label(d, "did you mean \"%s\"?", s);
        }
    }
    mk_unit_index(e->p, tu, &file);
    tu->test_decl = t;
    mk_ectx pc = {.e = e, .u = tu}; /* a test's own provider blocks are its `providers` input */
    eval_providers(&pc, &tu->providers);
    eval_unit(e, tu);
    if (!u->test_units)
        u->test_units = mk_arena_alloc(e->v->arena, (u->ntests + 1) * sizeof *u->test_units);
    for (uint32_t i = 0; i < u->ntests; i++)
        if (u->tests[i] == t)
            u->test_units[i] = tu;
}

/* ---- units and the program ---- */

static void eval_unit(mk_ev *e, mk_unit *u)
{
    mk_ectx c = {.e = e, .u = u};
    for (uint32_t i = 0; i < u->nvars; i++)
        mk_eval_var(&c, u->var_order[i]->decl->name, u->var_order[i]->decl->span);
    for (uint32_t i = 0; i < u->nlets; i++)
        mk_eval_let(&c, u->let_order[i], u->let_order[i]->decl->span);
    for (uint32_t i = 0; i < u->nres; i++)
        eval_resource(&c, u->res_order[i], u->res_order[i]->decl->span);
    size_t nmods;
    mk_ast **mods = decls_in_order(&u->modules, &nmods); /* note [declaration order] */
    for (size_t i = 0; i < nmods; i++)
        eval_module(&c, mods[i], mods[i]->span);
    mk_mem_free(mods);
    eval_outputs(&c, u);
    for (uint32_t i = 0; u == e->p->root && i < e->p->nreads; i++) /* each block checked, read or not */
        mk_eval_stack_read(&c, e->p->reads[i].name, e->p->reads[i].decl->span);
}

static void intern_names(mk_ev *e)
{
    mk_intern *t = e->v->names;
#define N(f) e->n.f = mk_intern_s(t, #f)
    N(var); N(stack); N(count); N(each); N(index); N(key); N(value); N(module); N(resources);
    N(changes); N(plan); N(providers); N(name); N(approval); N(risk); N(for_each); N(depends_on); N(provider);
    N(lifecycle); N(placement); N(usage); N(ignore_changes); N(prevent_destroy);
    N(create_before_destroy); N(description); N(enforcement); N(outputs); N(checkov);
    N(checkov_differs); N(address);
#undef N
}

void mk_eval_begin(mk_ev *e, mk_ectx *root, mk_program *p)
{
    *e = (mk_ev){.p = p, .v = &p->v, .diag = p->diag};
    intern_names(e);
    *root = (mk_ectx){.e = e, .u = p->root};
    e->tc = (mk_tcheck){&p->v, p->diag, p->types, eval_field, root, res_type_of};
}

/* note [destroy variables]: a destroy deletes what the state records, so
 * it needs no variable but those the provider blocks read (the executor
 * configures its providers from them); every other variable without a value
 * is unknown, as under `moksha check`, and a secret it does not use need not
 * be set. */
void mk_eval_program(mk_program *p)
{
    mk_ev e;
    mk_ectx root;
    mk_eval_begin(&e, &root, p);
    mk_unit *u = p->root;
    if (!u)
        return;
    if (u->stack)
        u->stack_name = u->stack->name;
    if (p->strict)
        check_missing_vars(&e, u);
    mk_eval_stack(&root);
    e.in_provider = true; /* note [destroy variables] */
    eval_providers(&root, &u->providers);
    e.in_provider = false;
    eval_unit(&e, u);
    mk_mem_free(e.stack);
}

void mk_eval_tests(mk_program *p)
{
    mk_ev e;
    mk_ectx root;
    mk_eval_begin(&e, &root, p);
    for (uint32_t i = 0; p->root && i < p->root->ntests; i++)
        check_test(&e, p->root, p->root->tests[i]);
    mk_mem_free(e.stack);
}
