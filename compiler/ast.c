/* ast — node construction. */
#include "compiler/ast.h"

#include "compiler/mem.h"

mk_ast *mk_ast_new(mk_ast_ctx *c, mk_ast_kind k, mk_span sp)
{
    mk_ast *n = mk_arena_alloc(c->arena, sizeof *n);
    n->kind = k;
    n->span = sp;
    return n;
}

void mk_ast_push(mk_ast_ctx *c, mk_ast_list *l, mk_ast *n)
{
    if (!n)
        return;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        l->v = mk_arena_grow(c->arena, l->v, l->cap * sizeof *l->v, cap * sizeof *l->v);
        l->cap = cap;
    }
    l->v[l->n++] = n;
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
