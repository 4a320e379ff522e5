/* ast — node construction. */
#include "compiler/front/ast.h"

#include <stddef.h>
#include <string.h>

#include "compiler/base/mem.h"

/* See note [node sizes] in ast.h. */
static size_t node_size(mk_ast_kind k)
{
    switch (k) {
    case MK_AST_NUMBER: case MK_AST_SIZE: case MK_AST_DURATION: case MK_AST_MONEY:
        return offsetof(mk_ast, b) + MK_AST_LIT_ROOM; /* note [literal values] */
    case MK_AST_NULL: case MK_AST_BOOL: case MK_AST_INT: case MK_AST_STRING: case MK_AST_NAME:
    case MK_AST_IMPORT: case MK_AST_EXPECT:
        return offsetof(mk_ast, b);
    case MK_AST_GETATTR: case MK_AST_INDEX: case MK_AST_SPLAT: case MK_AST_UNARY: case MK_AST_BINARY:
    case MK_AST_ATTR: case MK_AST_LET: case MK_AST_OUTPUT: case MK_AST_ASSERT: case MK_AST_REQUIRE:
        return offsetof(mk_ast, name2);
    case MK_AST_IF: case MK_AST_MODULE:
        return sizeof(mk_ast);
    default:
        return offsetof(mk_ast, else_kids);
    }
}

mk_ast *mk_ast_new(mk_ast_ctx *c, mk_ast_kind k, mk_span sp)
{
    mk_ast *n = mk_arena_alloc(c->arena, node_size(k));
    n->kind = k;
    n->span = sp;
    return n;
}

/* Which spare list holds arrays of cap entries; -1 for sizes not kept. */
static int spare_slot(uint32_t cap)
{
    for (int i = 0; i < 8; i++)
        if (cap == 4u << i)
            return i;
    return -1;
}

/* note [list arrays]: lists grow by doubling in the arena, and the arrays
 * they outgrow would be dead memory (12 MB for a 100,000-resource stack,
 * whose bodies mostly outgrow 4 entries into 8). An outgrown array is kept
 * on a spare list by size, and the next list of that size takes it. */
static mk_ast **list_array(mk_ast_ctx *c, uint32_t cap)
{
    int i = spare_slot(cap);
    void **v = i >= 0 ? c->spare_lists[i] : NULL;
    if (!v)
        return mk_arena_alloc(c->arena, cap * sizeof(mk_ast *));
    c->spare_lists[i] = *v;
    return (mk_ast **)v;
}

static void list_spare(mk_ast_ctx *c, mk_ast **v, uint32_t cap)
{
    int i = spare_slot(cap);
    if (i < 0 || !v)
        return;
    *(void **)v = c->spare_lists[i];
    c->spare_lists[i] = v;
}

void mk_ast_push(mk_ast_ctx *c, mk_ast_list *l, mk_ast *n)
{
    if (!n)
        return;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        mk_ast **v = list_array(c, cap);
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        list_spare(c, l->v, l->cap);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
}

/* note [list arrays]: a finished list moves into an array of its length,
 * and the one it was built in goes to the spare lists for the next list:
 * a resource's five or six attributes took an array of eight. */
void mk_ast_fit(mk_ast_ctx *c, mk_ast_list *l)
{
    if (l->n == l->cap || spare_slot(l->cap) < 0)
        return;
    mk_ast **v = mk_arena_alloc(c->arena, l->n * sizeof *v);
    memcpy(v, l->v, l->n * sizeof *v);
    list_spare(c, l->v, l->cap);
    l->v = v;
    l->cap = l->n;
}

mk_span mk_span_join(mk_span a, mk_span b)
{
    mk_span s = a;
    if (b.file == a.file && b.end > s.end)
        s.end = b.end;
    return s;
}

const char *mk_ast_kind_name(mk_ast_kind k)
{
    static const char *const names[MK_AST_KIND_COUNT] = {
        "null", "bool", "int", "number", "size", "duration", "money", "string", "template",
        "list", "map", "name", "attribute access", "index", "splat", "call", "unary", "binary",
        "conditional", "comprehension", "attribute", "block", "stack", "import", "var", "let",
        "provider", "resource", "output", "module", "type", "field", "policy", "test", "for",
        "if", "assert", "require", "expect", "type expression", "file",
    };
    return k < MK_AST_KIND_COUNT ? names[k] : "?";
}

const char *mk_ast_op_text(mk_ast_op op)
{
    switch (op) {
    case MK_OP_ADD: return "+";
    case MK_OP_SUB: return "-";
    case MK_OP_MUL: return "*";
    case MK_OP_DIV: return "/";
    case MK_OP_MOD: return "%";
    case MK_OP_EQ: return "==";
    case MK_OP_NE: return "!=";
    case MK_OP_LT: return "<";
    case MK_OP_LE: return "<=";
    case MK_OP_GT: return ">";
    case MK_OP_GE: return ">=";
    case MK_OP_AND: return "&&";
    case MK_OP_OR: return "||";
    case MK_OP_IN: return "in";
    case MK_OP_NOT: return "!";
    case MK_OP_NEG: return "-";
    default: return "?";
    }
}

void mk_ast_note_syntax_error(mk_ast_ctx *c, mk_span at)
{
    if (c->nsyntax == c->capsyntax) {
        uint32_t cap = c->capsyntax ? c->capsyntax * 2 : 8;
        c->syntax_errors = mk_arena_grow(c->arena, c->syntax_errors, c->capsyntax * sizeof(mk_span), cap * sizeof(mk_span));
        c->capsyntax = cap;
    }
    c->syntax_errors[c->nsyntax++] = at;
}

bool mk_ast_has_syntax_error(const mk_ast_ctx *c, mk_span sp)
{
    for (uint32_t i = 0; i < c->nsyntax; i++)
        if (c->syntax_errors[i].file == sp.file && c->syntax_errors[i].start >= sp.start &&
            c->syntax_errors[i].start <= sp.end)
            return true;
    return false;
}
