/* ast — the syntax tree. One node struct for every kind keeps walkers,
 * the formatter and the checker simple; which fields a kind uses is listed
 * beside the kind. Nodes live in the compilation arena (mk_ast_ctx) and are
 * never freed one by one. Every node carries its span. */
#ifndef MK_AST_H
#define MK_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/base/intern.h"
#include "compiler/base/source.h"

struct mk_arena;

typedef enum mk_ast_kind {
    /* expressions */
    MK_AST_NULL,
    MK_AST_BOOL,     /* ival 0/1 */
    MK_AST_INT,      /* ival */
    MK_AST_NUMBER,   /* num */
    MK_AST_SIZE,     /* ival bytes */
    MK_AST_DURATION, /* ival milliseconds */
    MK_AST_MONEY,    /* ival micro-dollars (note [money]) */
    MK_AST_STRING,   /* str/len: decoded text */
    MK_AST_TEMPLATE, /* kids: STRING parts and expressions */
    MK_AST_LIST,     /* kids */
    MK_AST_MAP,      /* kids: MK_AST_ATTR entries (name or a = key expr) */
    MK_AST_NAME,     /* name */
    MK_AST_GETATTR,  /* a.name */
    MK_AST_INDEX,    /* a[b] */
    MK_AST_SPLAT,    /* a[*] */
    MK_AST_CALL,     /* name(kids) */
    MK_AST_UNARY,    /* op a */
    MK_AST_BINARY,   /* a op b */
    MK_AST_COND,     /* a ? b : c */
    MK_AST_FOR_EXPR, /* [for name, name2 in a: b if c] */
    /* items */
    MK_AST_ATTR,     /* name = a  (maps: a = key expr when quoted, b = value) */
    MK_AST_BLOCK,    /* name { kids } */
    MK_AST_STACK,    /* stack name { kids } */
    MK_AST_IMPORT,   /* import str */
    MK_AST_VAR,      /* var name: type [= b] [where c [: d]] */
    MK_AST_LET,      /* let name = a */
    MK_AST_PROVIDER, /* provider name [name2] { kids } */
    MK_AST_RESOURCE, /* resource type name { kids }  (a: the type, an MK_AST_NAME) */
    MK_AST_OUTPUT,   /* output name = a */
    MK_AST_MODULE,   /* module name = str { kids } */
    MK_AST_TYPEDECL, /* type name { kids: FIELD } */
    MK_AST_FIELD,    /* name: type [= b] [where c [: d]], flags: annotations */
    MK_AST_POLICY,   /* policy str { kids } */
    MK_AST_TEST,     /* test str { kids } */
    MK_AST_FOR,      /* for name[, name2] in a [where b] { kids } */
    MK_AST_IF,       /* if a { kids } [else { else_kids }] */
    MK_AST_ASSERT,   /* assert a [: b] */
    MK_AST_REQUIRE,  /* require a [: b] */
    MK_AST_EXPECT,   /* expect name str */
    /* types */
    MK_AST_TYPE,     /* name [. name2] [(kids)] ; string arguments are STRING nodes */
    MK_AST_FILE,     /* kids: top-level items */
    MK_AST_KIND_COUNT
} mk_ast_kind;

typedef enum mk_ast_op {
    MK_OP_NONE,
    MK_OP_ADD, MK_OP_SUB, MK_OP_MUL, MK_OP_DIV, MK_OP_MOD,
    MK_OP_EQ, MK_OP_NE, MK_OP_LT, MK_OP_LE, MK_OP_GT, MK_OP_GE,
    MK_OP_AND, MK_OP_OR, MK_OP_IN,
    MK_OP_NOT, MK_OP_NEG
} mk_ast_op;

/* annotation flags on fields (and types) */
enum {
    MK_ANN_COMPUTED = 1 << 0,
    MK_ANN_FORCE_NEW = 1 << 1,
    MK_ANN_COLOCATE = 1 << 2,
    MK_ANN_SENSITIVE = 1 << 3,
    MK_ANN_RESOURCE = 1 << 4,
    /* a resource type whose objects hold data: deleting one loses it for
     * good (docs/language.md, "Types"; the plan marks such deletes
     * irreversible and high risk) */
    MK_ANN_STATEFUL = 1 << 5,
};

typedef struct mk_ast mk_ast;

typedef struct mk_ast_list {
    mk_ast **v;
    uint32_t n, cap;
} mk_ast_list;

/* note [node sizes]: nodes are allocated only as large as their kind needs
 * (node_size in ast.c), in four steps: leaves end before `b` (sizes,
 * durations, money and numbers then hold their value, note [literal
 * values]); attributes and the operators of one or two operands (`a`, `b`)
 * before `name2`; conditionals, comprehensions, vars, fields, lists, maps,
 * calls, types, files and block items before `else_kids`; only `if`
 * (`else_kids`) and `module` (`sym`) are whole. A literal's value and a
 * text share their word with `a`, and `c` and `d` share theirs with
 * `kids`: no kind has both; a text's length is kept in front of it
 * (mk_ast_len). Read a field only on the kinds listed beside it. A big
 * stack holds millions of nodes, every byte of them is touched, and fresh
 * memory costs a page fault and zeroing. */
struct mk_ast {
    uint8_t kind;      /* mk_ast_kind */
    uint8_t op;        /* mk_ast_op */
    uint16_t flags;    /* MK_ANN_* on fields and types; 1 on map comprehensions */
    mk_span span;
    mk_name name;
    union {
        const char *str; /* STRING, IMPORT, EXPECT, MODULE, POLICY, TEST: an mk_ast_text's s */
        int64_t ival;    /* BOOL, INT, SIZE, DURATION, MONEY */
        double num;      /* NUMBER */
        mk_ast *a;       /* operators and items */
    };
    mk_ast *b;
    /* comprehensions, vars, fields, `for` and providers */
    mk_name name2;
    union {
        struct {
            mk_ast *c, *d; /* conditionals, comprehensions, vars and fields */
        };
        mk_ast_list kids;  /* lists, maps, calls, templates, types, block items */
    };
    /* `if` and `module` only */
    mk_ast_list else_kids;
    void *sym;         /* module instances: their evaluation state */
};

/* note [literal values]: a size, duration, money or number literal has
 * MK_AST_LIT_ROOM bytes after its fields where the evaluator keeps the
 * value it evaluates to, made on first use (zero until then). A schema's
 * `where memory >= 512MiB` runs for every instance of the type, and each
 * run made the same value again: 5 MB of them for 100,000 resources. */
#define MK_AST_LIT_ROOM 24
static inline void *mk_ast_lit_room(mk_ast *n) { return (char *)n + offsetof(mk_ast, b); }

/* A decoded string in the arena: its length, then its bytes and a NUL.
 * Every node's `str` is the `s` of one, so the node needs no length field
 * of its own (note [node sizes]). */
typedef struct mk_ast_text {
    uint32_t len;
    char s[];
} mk_ast_text;

/* The length of n's str, which may hold NUL bytes. */
static inline uint32_t mk_ast_len(const mk_ast *n)
{
    return n->str ? ((const mk_ast_text *)(const void *)(n->str - offsetof(mk_ast_text, s)))->len : 0;
}

typedef struct mk_ast_ctx {
    struct mk_arena *arena;
    mk_intern *names;
    mk_span *syntax_errors;  /* where the parser met errors (arena) */
    uint32_t nsyntax, capsyntax;
    void *spare_lists[8];    /* arrays lists grew out of, by capacity 4 << i (ast.c, mk_ast_push) */
} mk_ast_ctx;

mk_ast *mk_ast_new(mk_ast_ctx *c, mk_ast_kind k, mk_span sp);
/* Append n (nothing if NULL). A list that grows gives its old array back
 * for the next list to reuse: only the latest copy of a list may be pushed
 * to, and no copy of it read after a push to another. */
void mk_ast_push(mk_ast_ctx *c, mk_ast_list *l, mk_ast *n);
/* Move a finished list into an array of its length; its old array goes
 * the way of an outgrown one (the same rule on copies holds). */
void mk_ast_fit(mk_ast_ctx *c, mk_ast_list *l);
const char *mk_ast_kind_name(mk_ast_kind k);
const char *mk_ast_op_text(mk_ast_op op);
/* A span covering a through b (same file). */
mk_span mk_span_join(mk_span a, mk_span b);
/* Record a syntax error; did one happen inside sp? (Checks skip what a
 * syntax error may have cut short.) */
void mk_ast_note_syntax_error(mk_ast_ctx *c, mk_span at);
bool mk_ast_has_syntax_error(const mk_ast_ctx *c, mk_span sp);

#endif
