/* moved — `moved` and `import` blocks (moved.h): their addresses are read
 * from the references as written, so naming `compute.old` neither makes an
 * edge nor needs compute.old to exist; an import's id is an expression of
 * the root stack (variables allowed). The checks here need only the spec;
 * those that need the state (both ends applied) are the differ's.
 *
 * It is not the differ: what a move or an import plans is middle/moves.c's. */
#include "compiler/front/moved.h"

#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/mem.h"
#include "compiler/front/eval_expr.h"

static bool address_into(mk_buf *b, const mk_ast *n)
{
    switch (n->kind) {
    case MK_AST_NAME: mk_buf_puts(b, n->name); return true;
    case MK_AST_GETATTR:
        if (!address_into(b, n->a))
            return false;
        mk_buf_printf(b, ".%s", n->name);
        return true;
    case MK_AST_INDEX:
        if (!address_into(b, n->a))
            return false;
        if (n->b->kind == MK_AST_INT) {
            mk_buf_printf(b, "[%lld]", (long long)n->b->ival);
            return true;
        }
        if (n->b->kind != MK_AST_STRING)
            return false;
        mk_buf_puts(b, "[\"");
        mk_buf_escape(b, n->b->str, mk_ast_len(n->b));
        mk_buf_puts(b, "\"]");
        return true;
    default: return false;
    }
}

const char *mk_moved_address(mk_arena *a, const mk_ast *n)
{
    mk_buf b = {0};
    bool ok = n && address_into(&b, n) && memchr(b.data, '.', b.len);
    const char *s = ok ? mk_arena_strndup(a, b.data, b.len) : NULL;
    mk_buf_free(&b);
    return s;
}

static mk_ast *attr_of(mk_ast *decl, const char *name)
{
    for (uint32_t i = 0; i < decl->kids.n; i++)
        if (decl->kids.v[i]->kind == MK_AST_ATTR && strcmp(decl->kids.v[i]->name, name) == 0)
            return decl->kids.v[i];
    return NULL;
}

static const char *article(const mk_ast *decl) { return decl->name[0] == 'i' ? "an" : "a"; }

/* Every item is one of the block's two attributes. */
static bool shape_ok(mk_program *p, mk_ast *decl, const char *a1, const char *a2)
{
    bool ok = true;
    for (uint32_t i = 0; i < decl->kids.n; i++) {
        mk_ast *it = decl->kids.v[i];
        if (it->kind == MK_AST_ATTR && (!strcmp(it->name, a1) || !strcmp(it->name, a2)))
            continue;
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", it->span, "%s `%s` block holds only `%s` and `%s`",
                                        article(decl), decl->name, a1, a2);
        mk_diag_help(d, "write `%s { %s = …, %s = … }`", decl->name, a1, a2);
        ok = false;
    }
    const char *want[2] = {a1, a2};
    for (int k = 0; k < 2; k++)
        if (!attr_of(decl, want[k])) {
            mk_diag_item *d = mk_diag_error(p->diag, "E0121", decl->span, "%s `%s` block needs `%s`", article(decl),
                                            decl->name, want[k]);
            mk_diag_help(d, "add `%s = …`", want[k]);
            ok = false;
        }
    return ok;
}

static const char *address_attr(mk_program *p, mk_ast *decl, const char *name, mk_span *at)
{
    mk_ast *it = attr_of(decl, name);
    *at = it->b->span;
    const char *s = mk_moved_address(p->ast.arena, it->b);
    if (!s) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", it->b->span, "`%s` is not a resource address", name);
        mk_diag_label(d, "expected an address such as compute.web, compute.web[0] or module.app.compute.web");
        mk_diag_help(d, "write the address as a reference, not a string: `%s = compute.web`", name);
    }
    return s;
}

/* An import's id: a string the root stack can compute (NULL when unknown). */
static const char *import_id(mk_ectx *c, mk_ast *decl, mk_span *at, bool *bad)
{
    mk_ast *it = attr_of(decl, "id");
    *at = it->b->span;
    mk_value *v = mk_eval_expr(c, it->b);
    if (v->kind == MK_V_STRING && v->n > 0)
        return mk_arena_strndup(c->e->p->ast.arena, v->u.s, v->n);
    if (v->kind != MK_V_UNKNOWN && v->kind != MK_V_ERROR) {
        mk_diag_item *d = mk_diag_error(c->e->diag, "E0121", it->b->span, "an import's `id` must be a non-empty string");
        mk_diag_help(d, "the provider's id of the object, e.g. `id = \"i-0abc\"`");
        *bad = true;
    }
    return NULL;
}

static bool read_block(mk_ectx *c, mk_ast *decl, mk_relocation *r)
{
    mk_program *p = c->e->p;
    *r = (mk_relocation){.decl = decl, .import = strcmp(decl->name, "import") == 0, .at = decl->span};
    if (!shape_ok(p, decl, r->import ? "to" : "from", r->import ? "id" : "to"))
        return false;
    bool bad = false;
    if (r->import)
        r->id = import_id(c, decl, &r->id_at, &bad);
    else
        r->from = address_attr(p, decl, "from", &r->from_at);
    r->to = address_attr(p, decl, "to", &r->to_at);
    return !bad && r->to && (r->import || r->from);
}

static void closest(mk_program *p, mk_diag_item *d, const char *addr)
{
    size_t n = p->ninstances < 4096 ? p->ninstances : 4096;
    const char **cands = mk_mem_calloc(n + 1, sizeof *cands);
    for (size_t i = 0; i < n; i++)
        cands[i] = p->instances[i]->address;
    const char *s = mk_diag_suggest(addr, cands, n);
    if (s)
        mk_diag_label(d, "did you mean `%s`?", s);
    else
        mk_diag_help(d, "an import adopts an object into a `resource` the stack declares");
    mk_mem_free(cands);
}

static void check_import(mk_program *p, uint32_t k)
{
    mk_relocation *r = &p->relocs[k];
    if (!mk_program_instance(p, r->to)) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", r->to_at, "import target `%s` is not a resource of the stack", r->to);
        closest(p, d, r->to);
    }
    for (uint32_t i = 0; i < k; i++) {
        mk_relocation *o = &p->relocs[i];
        if (!o->import)
            continue;
        bool same_to = strcmp(o->to, r->to) == 0, same_id = r->id && o->id && strcmp(o->id, r->id) == 0;
        if (!same_to && !same_id)
            continue;
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", same_to ? r->to_at : r->id_at,
                                        same_to ? "`%s` is imported twice" : "id \"%s\" is imported twice",
                                        same_to ? r->to : r->id);
        mk_diag_note(d, same_to ? o->to_at : o->id_at, "first imported here");
        mk_diag_help(d, "one object is adopted into one resource: keep one of the two blocks");
        return;
    }
}

/* The move whose `from` is addr, among the first n. */
static mk_relocation *move_from(mk_program *p, const char *addr, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!p->relocs[i].import && strcmp(p->relocs[i].from, addr) == 0)
            return &p->relocs[i];
    return NULL;
}

/* Following `to` from r comes back to r's `from`: a cycle. */
static bool cycles(mk_program *p, mk_relocation *r)
{
    const char *at = r->to;
    for (uint32_t steps = 0; steps <= p->nrelocs; steps++) {
        if (strcmp(at, r->from) == 0)
            return true;
        mk_relocation *next = move_from(p, at, p->nrelocs);
        if (!next)
            return false;
        at = next->to;
    }
    return false;
}

static void check_move(mk_program *p, uint32_t k)
{
    mk_relocation *r = &p->relocs[k];
    mk_relocation *first = move_from(p, r->from, k);
    if (first) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", r->from_at, "`%s` is moved twice", r->from);
        mk_diag_note(d, first->from_at, "first moved here, to `%s`", first->to);
        mk_diag_help(d, "an address is moved to one place: keep one of the two blocks");
    } else if (cycles(p, r)) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", r->at, "moving `%s` to `%s` comes back to `%s`",
                                        r->from, r->to, r->from);
        mk_diag_help(d, "`moved` blocks chain one way (a → b → c); drop the one that closes the circle");
    } else if (mk_program_instance(p, r->from)) {
        mk_diag_item *d = mk_diag_error(p->diag, "E0121", r->from_at, "`%s` is moved to `%s` but is still in the stack",
                                        r->from, r->to);
        mk_diag_help(d, "rename the resource to `%s`, or remove the `moved` block", r->to);
    }
}

/* The command line's import, unless a block already says it. */
static void add_given(mk_program *p, const char *to, const char *id)
{
    for (uint32_t i = 0; i < p->nrelocs; i++)
        if (p->relocs[i].import && !strcmp(p->relocs[i].to, to) && p->relocs[i].id && !strcmp(p->relocs[i].id, id))
            return;
    mk_relocation *r = &p->relocs[p->nrelocs++];
    *r = (mk_relocation){.import = true, .to = mk_arena_strndup(p->ast.arena, to, strlen(to)),
                         .id = mk_arena_strndup(p->ast.arena, id, strlen(id)),
                         .at = MK_NOSPAN, .to_at = MK_NOSPAN, .id_at = MK_NOSPAN};
}

void mk_moved_eval(mk_program *p, const char *to, const char *id)
{
    if (!p->nreloc_decls && !to)
        return;
    mk_ev e;
    mk_ectx root;
    mk_eval_begin(&e, &root, p);
    p->relocs = mk_arena_alloc(p->ast.arena, (p->nreloc_decls + 1) * sizeof *p->relocs);
    for (uint32_t i = 0; i < p->nreloc_decls; i++)
        if (read_block(&root, p->reloc_decls[i], &p->relocs[p->nrelocs]))
            p->nrelocs++;
    mk_mem_free(e.stack);
    if (to && id)
        add_given(p, to, id);
    for (uint32_t k = 0; k < p->nrelocs; k++) {
        if (p->relocs[k].import)
            check_import(p, k);
        else
            check_move(p, k);
    }
}
