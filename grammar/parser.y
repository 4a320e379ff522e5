/* parser.y — moksha's grammar (bison, pure, with locations).
 *
 * Actions only build AST nodes. The newline rule lives in the lexer; here a
 * separator (NEWLINE , ;) ends an item. `error` at item level resynchronises
 * at the next separator or `}` so one mistake reports once. The grammar is
 * summarised in docs/language.md. */
%code requires {
#include "compiler/front/ast.h"
#include "compiler/front/lex.h"
typedef struct mk_parser mk_parser;
}

%code provides {
struct mk_parser {
    mk_lexer lx;
    mk_ast_ctx *ast;
    struct mk_diag *diag;
    mk_ast *root;
    int lex_errors;       /* diag errors seen when the last token was read */
    uint32_t lex_err_tok; /* tokens since the lexer last reported */
    uint32_t last_err;    /* offset of the last syntax error, to drop repeats */
    int first;            /* a token to hand out before the text's (START_EXPR) */
    mk_ast *expr;         /* the result of mk_parse_expr */
    mk_ast_list *spare;   /* list cells given back by list_take, linked through v */
};
int mk_yylex(MK_YYSTYPE *lval, MK_YYLTYPE *lloc, mk_parser *p);
}

%code top {
#include <stdio.h>
#include <string.h>
}

%define api.prefix {mk_yy}
%define api.pure full
%define lr.default-reduction accepting
%define api.location.type {mk_span}
%define parse.error custom
%locations
%expect 0
%param {mk_parser *p}

%code {
#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/front/parse.h"

#define YYMAXDEPTH 2000
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
    do {                                                              \
        if (N) {                                                      \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                       \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                     \
            (Cur).end = YYRHSLOC(Rhs, N).end;                         \
        } else {                                                      \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                       \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;           \
        }                                                             \
    } while (0)

static void mk_yyerror(MK_YYLTYPE *loc, mk_parser *p, const char *msg);

#define NODE(k, sp) mk_ast_new(p->ast, (k), (sp))
/* note [parser values]: every semantic value is one word (a token's value,
 * a node, a list cell, flags), so bison's value stack moves 8 bytes per
 * reduction. With wider values each reduction stored one member and then
 * copied the whole union, a load the store could not forward: about a tenth
 * of the time of `moksha check` on a big stack went into that stall. A list
 * being built lives in a cell (list_push) that list_take empties into its
 * node and keeps for the next list; NULL is the empty list. */
static mk_ast *leaf(mk_parser *p, mk_ast_kind k, mk_span sp, mk_tok t)
{
    mk_ast *n = NODE(k, sp);
    switch (k) {
    case MK_AST_NUMBER: n->num = t.num; break;
    case MK_AST_NAME: n->name = t.name; break;
    case MK_AST_STRING: case MK_AST_IMPORT: n->str = t.text->s; break;
    default: n->ival = t.ival; break;
    }
    return n;
}
static mk_ast_list *list_push(mk_parser *p, mk_ast_list *l, mk_ast *n)
{
    if (!l) {
        l = p->spare ? p->spare : mk_arena_alloc(p->ast->arena, sizeof *l);
        p->spare = p->spare ? (mk_ast_list *)p->spare->v : NULL;
        *l = (mk_ast_list){0};
    }
    mk_ast_push(p->ast, l, n);
    return l;
}
static mk_ast_list list_take(mk_parser *p, mk_ast_list *l)
{
    if (!l)
        return (mk_ast_list){0};
    mk_ast_list r = *l;
    mk_ast_fit(p->ast, &r);
    l->v = (mk_ast **)p->spare;
    p->spare = l;
    return r;
}
static mk_ast *binop(mk_parser *p, mk_ast_op op, mk_ast *a, mk_ast *b)
{
    mk_ast *n = NODE(MK_AST_BINARY, mk_span_join(a->span, b->span));
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}
static mk_ast *block_item(mk_parser *p, mk_ast_kind k, mk_span sp, mk_name name, mk_ast_list *body)
{
    mk_ast *n = NODE(k, sp);
    n->name = name;
    n->kids = list_take(p, body);
    return n;
}
static uint32_t annotation(mk_parser *p, mk_span sp, mk_name name);
static mk_ast *named_block(mk_parser *p, mk_span sp, mk_span word_at, mk_name word, mk_name name, mk_ast_list *body);
static mk_name dotted(mk_parser *p, mk_name a, mk_name b)
{
    return mk_intern_s(p->ast->names, mk_arena_printf(p->ast->arena, "%s.%s", a, b));
}
}

%union {
    mk_tok tok;
    mk_ast *node;
    mk_ast_list *list;
    uint32_t flags;
}

%token <tok> IDENT "identifier" INT "integer" NUMBER "number" SIZE "size" DURATION "duration"
%token <tok> MONEY "money amount" STRING "string" STR_PART "string text"
%token STR_OPEN "string start" STR_CLOSE "end of string" INTERP_OPEN "`${`" INTERP_CLOSE "`}`"
%token NEWLINE "end of line" COMMENT "comment" START_EXPR "expression mode"
%token KW_STACK "`stack`" KW_IMPORT "`import`" KW_VAR "`var`" KW_LET "`let`"
%token KW_PROVIDER "`provider`" KW_RESOURCE "`resource`" KW_OUTPUT "`output`"
%token KW_MODULE "`module`" KW_TYPE "`type`" KW_POLICY "`policy`" KW_TEST "`test`"
%token KW_FOR "`for`" KW_IN "`in`" KW_IF "`if`" KW_ELSE "`else`" KW_WHERE "`where`"
%token KW_ASSERT "`assert`" KW_REQUIRE "`require`" KW_EXPECT "`expect`"
%token KW_TRUE "`true`" KW_FALSE "`false`" KW_NULL "`null`"
%token EQ "`==`" NE "`!=`" LE "`<=`" GE "`>=`" AND "`&&`" OR "`||`" ARROW "`=>`"

%type <node> item decl expr postfix primary literal string type targ rtype rname opt_default
%type <node> opt_where_msg opt_cond opt_msg map_entry map_key list_expr map_expr if_stmt arg
%type <list> file items_opt item_list body args exprs parts type_args map_entries
%type <tok> fname aname
%type <flags> annots

%right '?'
%left OR
%left AND
%nonassoc EQ NE '<' LE '>' GE KW_IN
%left '+' '-'
%left '*' '/' '%'
%precedence '!' NEG

%start file

%%

file
    : seps_opt items_opt { p->root->kids = list_take(p, $2); $$ = NULL; }
    | START_EXPR expr seps_opt { p->expr = $2; $$ = NULL; }
    ;

seps_opt: %empty | seps ;
seps: sep | seps sep ;
sep: NEWLINE | ',' | ';' ;

items_opt
    : %empty { $$ = NULL; }
    | item_list seps_opt { $$ = $1; }
    ;

item_list
    : item { $$ = list_push(p, NULL, $1); }
    | item_list seps item { $$ = list_push(p, $1, $3); }
    ;

body: '{' seps_opt items_opt '}' { $$ = $3; } ;

item
    : decl
    | annots decl { $$ = $2; $$->flags |= $1; }
    | error { $$ = NULL; }
    ;

annots
    : '@' fname { $$ = annotation(p, @$, $2.name); }
    | annots '@' fname { $$ = $1 | annotation(p, @3, $3.name); }
    ;

decl
    : KW_STACK IDENT body { $$ = block_item(p, MK_AST_STACK, @$, $2.name, $3); }
    | KW_STACK body { $$ = block_item(p, MK_AST_STACK, @$, NULL, $2); }
    | KW_IMPORT STRING { $$ = leaf(p, MK_AST_IMPORT, @$, $2); $$->name = NULL; }
    | KW_VAR IDENT ':' type opt_default opt_where_msg
        { $$ = NODE(MK_AST_VAR, @$); $$->name = $2.name; $$->a = $4; $$->b = $5;
          if ($6) { $$->c = $6->a; $$->d = $6->b; } }
    | KW_LET IDENT '=' expr { $$ = NODE(MK_AST_LET, @$); $$->name = $2.name; $$->a = $4; }
    | KW_PROVIDER IDENT body { $$ = block_item(p, MK_AST_PROVIDER, @$, $2.name, $3); }
    | KW_PROVIDER IDENT IDENT body
        { $$ = block_item(p, MK_AST_PROVIDER, @$, $2.name, $4); $$->name2 = $3.name; }
    | KW_RESOURCE rname IDENT body
        { $$ = block_item(p, MK_AST_RESOURCE, @$, $3.name, $4); $$->a = $2; }
    | KW_OUTPUT IDENT '=' expr { $$ = NODE(MK_AST_OUTPUT, @$); $$->name = $2.name; $$->a = $4; }
    | KW_MODULE IDENT '=' STRING body
        { $$ = block_item(p, MK_AST_MODULE, @$, $2.name, $5); $$->str = $4.text->s; }
    | KW_TYPE rtype body { $$ = block_item(p, MK_AST_TYPEDECL, @$, $2->name, $3); $$->a = $2; }
    | KW_POLICY STRING body
        { $$ = block_item(p, MK_AST_POLICY, @$, NULL, $3); $$->str = $2.text->s; }
    | KW_TEST STRING body
        { $$ = block_item(p, MK_AST_TEST, @$, NULL, $3); $$->str = $2.text->s; }
    | KW_FOR IDENT KW_IN expr opt_cond body
        { $$ = block_item(p, MK_AST_FOR, @$, $2.name, $6); $$->a = $4; $$->b = $5; }
    | KW_FOR IDENT ',' IDENT KW_IN expr opt_cond body
        { $$ = block_item(p, MK_AST_FOR, @$, $2.name, $8); $$->name2 = $4.name; $$->a = $6; $$->b = $7; }
    | if_stmt
    | KW_ASSERT expr opt_msg { $$ = NODE(MK_AST_ASSERT, @$); $$->a = $2; $$->b = $3; }
    | KW_REQUIRE expr opt_msg { $$ = NODE(MK_AST_REQUIRE, @$); $$->a = $2; $$->b = $3; }
    | KW_EXPECT IDENT STRING
        { $$ = NODE(MK_AST_EXPECT, @$); $$->name = $2.name; $$->str = $3.text->s; }
    | aname '=' expr { $$ = NODE(MK_AST_ATTR, @$); $$->name = $1.name; $$->b = $3; }
    | aname body { $$ = block_item(p, MK_AST_BLOCK, @$, $1.name, $2); }
    | IDENT IDENT body { $$ = named_block(p, @$, @1, $1.name, $2.name, $3); }
    | aname ':' type opt_default opt_where_msg
        { $$ = NODE(MK_AST_FIELD, @$); $$->name = $1.name; $$->a = $3; $$->b = $4;
          if ($5) { $$->c = $5->a; $$->d = $5->b; } }
    ;

if_stmt
    : KW_IF expr body { $$ = block_item(p, MK_AST_IF, @$, NULL, $3); $$->a = $2; }
    | KW_IF expr body KW_ELSE body
        { $$ = block_item(p, MK_AST_IF, @$, NULL, $3); $$->a = $2; $$->else_kids = list_take(p, $5); }
    | KW_IF expr body KW_ELSE if_stmt
        { $$ = block_item(p, MK_AST_IF, @$, NULL, $3); $$->a = $2;
          $$->else_kids = list_take(p, list_push(p, NULL, $5)); }
    ;

opt_default: %empty { $$ = NULL; } | '=' expr { $$ = $2; } ;
opt_cond: %empty { $$ = NULL; } | KW_WHERE expr { $$ = $2; } ;
opt_msg: %empty { $$ = NULL; } | ':' expr { $$ = $2; } ;
opt_where_msg
    : %empty { $$ = NULL; }
    | KW_WHERE expr { $$ = NODE(MK_AST_BLOCK, @$); $$->a = $2; }
    | KW_WHERE expr ':' expr { $$ = NODE(MK_AST_BLOCK, @$); $$->a = $2; $$->b = $4; }
    ;

rtype
    : IDENT { $$ = NODE(MK_AST_TYPE, @$); $$->name = $1.name; }
    | IDENT '.' IDENT { $$ = NODE(MK_AST_TYPE, @$); $$->name = dotted(p, $1.name, $3.name); }
    ;

/* A resource's type is only a name: a leaf, not a type expression's node
 * with room for arguments (a stack holds as many as it has resources). */
rname
    : IDENT { $$ = leaf(p, MK_AST_NAME, @$, $1); }
    | IDENT '.' IDENT { $$ = NODE(MK_AST_NAME, @$); $$->name = dotted(p, $1.name, $3.name); }
    ;

type
    : rtype
    | IDENT '(' type_args ')' { $$ = NODE(MK_AST_TYPE, @$); $$->name = $1.name; $$->kids = list_take(p, $3); }
    ;

type_args
    : targ { $$ = list_push(p, NULL, $1); }
    | type_args ',' targ { $$ = list_push(p, $1, $3); }
    ;

targ: type | STRING { $$ = leaf(p, MK_AST_STRING, @$, $1); } ;

/* Attribute names may be keywords that cannot start an item there. */
aname: IDENT | KW_TYPE { $$.name = mk_intern_s(p->ast->names, "type"); }
    | KW_PROVIDER { $$.name = mk_intern_s(p->ast->names, "provider"); }
    | KW_MODULE { $$.name = mk_intern_s(p->ast->names, "module"); }
    | KW_OUTPUT { $$.name = mk_intern_s(p->ast->names, "output"); }
    | KW_RESOURCE { $$.name = mk_intern_s(p->ast->names, "resource"); }
    | KW_TEST { $$.name = mk_intern_s(p->ast->names, "test"); }
    | KW_POLICY { $$.name = mk_intern_s(p->ast->names, "policy"); }
    | KW_IMPORT { $$.name = mk_intern_s(p->ast->names, "import"); }
    ;

/* After a dot any word is a field name: r.type, c.for. */
fname: aname
    | KW_STACK { $$.name = mk_intern_s(p->ast->names, "stack"); }
    | KW_VAR { $$.name = mk_intern_s(p->ast->names, "var"); }
    | KW_LET { $$.name = mk_intern_s(p->ast->names, "let"); }
    | KW_FOR { $$.name = mk_intern_s(p->ast->names, "for"); }
    | KW_IN { $$.name = mk_intern_s(p->ast->names, "in"); }
    | KW_IF { $$.name = mk_intern_s(p->ast->names, "if"); }
    | KW_ELSE { $$.name = mk_intern_s(p->ast->names, "else"); }
    | KW_WHERE { $$.name = mk_intern_s(p->ast->names, "where"); }
    | KW_ASSERT { $$.name = mk_intern_s(p->ast->names, "assert"); }
    | KW_REQUIRE { $$.name = mk_intern_s(p->ast->names, "require"); }
    | KW_EXPECT { $$.name = mk_intern_s(p->ast->names, "expect"); }
    | KW_TRUE { $$.name = mk_intern_s(p->ast->names, "true"); }
    | KW_FALSE { $$.name = mk_intern_s(p->ast->names, "false"); }
    | KW_NULL { $$.name = mk_intern_s(p->ast->names, "null"); }
    ;

expr
    : expr '?' expr ':' expr %prec '?' { $$ = NODE(MK_AST_COND, @$); $$->a = $1; $$->b = $3; $$->c = $5; }
    | expr OR expr { $$ = binop(p, MK_OP_OR, $1, $3); }
    | expr AND expr { $$ = binop(p, MK_OP_AND, $1, $3); }
    | expr EQ expr { $$ = binop(p, MK_OP_EQ, $1, $3); }
    | expr NE expr { $$ = binop(p, MK_OP_NE, $1, $3); }
    | expr '<' expr { $$ = binop(p, MK_OP_LT, $1, $3); }
    | expr LE expr { $$ = binop(p, MK_OP_LE, $1, $3); }
    | expr '>' expr { $$ = binop(p, MK_OP_GT, $1, $3); }
    | expr GE expr { $$ = binop(p, MK_OP_GE, $1, $3); }
    | expr KW_IN expr { $$ = binop(p, MK_OP_IN, $1, $3); }
    | expr '+' expr { $$ = binop(p, MK_OP_ADD, $1, $3); }
    | expr '-' expr { $$ = binop(p, MK_OP_SUB, $1, $3); }
    | expr '*' expr { $$ = binop(p, MK_OP_MUL, $1, $3); }
    | expr '/' expr { $$ = binop(p, MK_OP_DIV, $1, $3); }
    | expr '%' expr { $$ = binop(p, MK_OP_MOD, $1, $3); }
    | '!' expr { $$ = NODE(MK_AST_UNARY, @$); $$->op = MK_OP_NOT; $$->a = $2; }
    | '-' expr %prec NEG { $$ = NODE(MK_AST_UNARY, @$); $$->op = MK_OP_NEG; $$->a = $2; }
    | postfix
    ;

postfix
    : primary
    | postfix '.' fname { $$ = NODE(MK_AST_GETATTR, @$); $$->a = $1; $$->name = $3.name; }
    | postfix '[' expr ']' { $$ = NODE(MK_AST_INDEX, @$); $$->a = $1; $$->b = $3; }
    | postfix '[' '*' ']' { $$ = NODE(MK_AST_SPLAT, @$); $$->a = $1; }
    ;

primary
    : literal
    | string
    | IDENT { $$ = leaf(p, MK_AST_NAME, @$, $1); }
    | KW_VAR { $$ = NODE(MK_AST_NAME, @$); $$->name = mk_intern_s(p->ast->names, "var"); }
    | KW_STACK { $$ = NODE(MK_AST_NAME, @$); $$->name = mk_intern_s(p->ast->names, "stack"); }
    | KW_MODULE { $$ = NODE(MK_AST_NAME, @$); $$->name = mk_intern_s(p->ast->names, "module"); }
    | IDENT '(' args ')' { $$ = NODE(MK_AST_CALL, @$); $$->name = $1.name; $$->kids = list_take(p, $3); }
    | '(' expr ')' { $$ = $2; }
    | list_expr
    | map_expr
    ;

literal
    : INT { $$ = leaf(p, MK_AST_INT, @$, $1); }
    | NUMBER { $$ = leaf(p, MK_AST_NUMBER, @$, $1); }
    | SIZE { $$ = leaf(p, MK_AST_SIZE, @$, $1); }
    | DURATION { $$ = leaf(p, MK_AST_DURATION, @$, $1); }
    | MONEY { $$ = leaf(p, MK_AST_MONEY, @$, $1); }
    | KW_TRUE { $$ = NODE(MK_AST_BOOL, @$); $$->ival = 1; }
    | KW_FALSE { $$ = NODE(MK_AST_BOOL, @$); $$->ival = 0; }
    | KW_NULL { $$ = NODE(MK_AST_NULL, @$); }
    ;

string
    : STRING { $$ = leaf(p, MK_AST_STRING, @$, $1); }
    | STR_OPEN parts STR_CLOSE { $$ = NODE(MK_AST_TEMPLATE, @$); $$->kids = list_take(p, $2); }
    ;

parts
    : %empty { $$ = NULL; }
    | parts STR_PART { $$ = list_push(p, $1, leaf(p, MK_AST_STRING, @2, $2)); }
    | parts INTERP_OPEN expr INTERP_CLOSE { $$ = list_push(p, $1, $3); }
    ;

args
    : %empty { $$ = NULL; }
    | exprs opt_comma { $$ = $1; }
    ;

exprs
    : arg { $$ = list_push(p, NULL, $1); }
    | exprs ',' arg { $$ = list_push(p, $1, $3); }
    ;

/* A named argument, `count = 2`, is an ATTR node (name, b); only the
 * calls that take one accept it (front/eval_expr.c), and a list refuses it. */
arg
    : expr { $$ = $1; }
    | IDENT '=' expr { $$ = NODE(MK_AST_ATTR, @$); $$->name = $1.name; $$->b = $3; }
    ;

opt_comma: %empty | ',' ;

list_expr
    : '[' args ']' { $$ = NODE(MK_AST_LIST, @$); $$->kids = list_take(p, $2); }
    | '[' KW_FOR IDENT KW_IN expr ':' expr opt_if ']'
        { $$ = NODE(MK_AST_FOR_EXPR, @$); $$->name = $3.name; $$->a = $5; $$->b = $7; $$->c = $<node>8; }
    | '[' KW_FOR IDENT ',' IDENT KW_IN expr ':' expr opt_if ']'
        { $$ = NODE(MK_AST_FOR_EXPR, @$); $$->name = $3.name; $$->name2 = $5.name;
          $$->a = $7; $$->b = $9; $$->c = $<node>10; }
    ;

opt_if: %empty { $<node>$ = NULL; } | KW_IF expr { $<node>$ = $2; } ;

map_expr
    : '{' seps_opt '}' { $$ = NODE(MK_AST_MAP, @$); }
    | '{' seps_opt map_entries seps_opt '}' { $$ = NODE(MK_AST_MAP, @$); $$->kids = list_take(p, $3); }
    | '{' KW_FOR IDENT ',' IDENT KW_IN expr ':' expr ARROW expr opt_if seps_opt '}'
        { $$ = NODE(MK_AST_FOR_EXPR, @$); $$->name = $3.name; $$->name2 = $5.name; $$->a = $7;
          $$->d = $9; $$->b = $11; $$->c = $<node>12; $$->flags = 1; }
    | '{' KW_FOR IDENT KW_IN expr ':' expr ARROW expr opt_if seps_opt '}'
        { $$ = NODE(MK_AST_FOR_EXPR, @$); $$->name = $3.name; $$->a = $5;
          $$->d = $7; $$->b = $9; $$->c = $<node>10; $$->flags = 1; }
    ;

map_entries
    : map_entry { $$ = list_push(p, NULL, $1); }
    | map_entries seps map_entry { $$ = list_push(p, $1, $3); }
    ;

map_entry
    : map_key '=' expr { $$ = $1; $$->b = $3; $$->span = @$; }
    ;

map_key
    : aname { $$ = NODE(MK_AST_ATTR, @$); $$->name = $1.name; }
    | STRING { $$ = NODE(MK_AST_ATTR, @$); $$->name = mk_intern_n(p->ast->names, $1.text->s, $1.text->len); }
    ;

%%

/* `WORD NAME { … }`: a block with a name of its own. The one such word is
 * `outputs` (another stack's outputs: docs/language.md), a word and not a
 * keyword, so no stack that names something `outputs` breaks. */
static mk_ast *named_block(mk_parser *p, mk_span sp, mk_span word_at, mk_name word, mk_name name, mk_ast_list *body)
{
    mk_ast *n = block_item(p, MK_AST_BLOCK, sp, word, body);
    n->name2 = name;
    if (strcmp(word, "outputs") != 0) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0100", word_at, "unknown block `%s %s { … }`", word, name);
        mk_diag_help(it, "a block is `NAME { … }`; `outputs STACK { … }` reads another stack's outputs");
    }
    return n;
}

static uint32_t annotation(mk_parser *p, mk_span sp, mk_name name)
{
    static const struct { const char *s; uint32_t f; } known[] = {
        {"computed", MK_ANN_COMPUTED}, {"force_new", MK_ANN_FORCE_NEW}, {"colocate", MK_ANN_COLOCATE},
        {"sensitive", MK_ANN_SENSITIVE}, {"resource", MK_ANN_RESOURCE}, {"stateful", MK_ANN_STATEFUL},
    };
    const char *names[6];
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(name, known[i].s) == 0)
            return known[i].f;
        names[i] = known[i].s;
    }
    mk_diag_item *it = mk_diag_error(p->diag, "E0102", sp, "unknown annotation `@%s`", name);
    const char *s = mk_diag_suggest(name, names, 6);
    if (s)
        mk_diag_label(it, "did you mean `@%s`?", s);
    mk_diag_help(it, "annotations are @computed, @force_new, @colocate, @sensitive, @resource and @stateful");
    return 0;
}

int mk_yylex(MK_YYSTYPE *lval, MK_YYLTYPE *lloc, mk_parser *p)
{
    int tok;
    if (p->first) {
        tok = p->first;
        p->first = 0;
        memset(lval, 0, sizeof *lval);
        *lloc = (mk_span){p->lx.file, 0, 0};
        return tok;
    }
    do
        tok = mk_lex_next(&p->lx, &lval->tok, lloc);
    while (tok == COMMENT);
    int errs = mk_diag_errors(p->diag);
    if (errs != p->lex_errors) {
        p->lex_errors = errs;
        p->lex_err_tok = 0;
    } else if (p->lex_err_tok < 1000) {
        p->lex_err_tok++;
    }
    return tok;
}

static void mk_yyerror(MK_YYLTYPE *loc, mk_parser *p, const char *msg)
{
    mk_diag_item *it = mk_diag_error(p->diag, "E0007", *loc, "%s",
                                     strstr(msg, "exhausted") ? "nesting too deep" : msg);
    mk_diag_help(it, "split the expression with `let` declarations");
}

/* Token names as users read them: `=` rather than '='. */
static const char *tok_name(yysymbol_kind_t k, char *buf, size_t n)
{
    const char *s = yysymbol_name(k);
    if (s[0] == '\'' && s[2] == '\'' && s[3] == 0) {
        snprintf(buf, n, "`%c`", s[1]);
        return buf;
    }
    if (k == YYSYMBOL_YYEOF)
        return "end of file";
    return s;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, mk_parser *p)
{
    mk_span at = *yypcontext_location(ctx);
    yysymbol_kind_t got = yypcontext_token(ctx);
    mk_ast_note_syntax_error(p->ast, at);
    /* the lexer just reported the real problem; the parser only trips on it */
    if (p->lex_err_tok <= 1 && p->lex_errors > 0)
        return 0;
    if (at.start == p->last_err && p->last_err != UINT32_MAX)
        return 0;
    p->last_err = at.start;
    char b1[16], b2[16];
    if (got == YYSYMBOL_NEWLINE)
        at.end = at.start + 1;
    mk_diag_item *it = mk_diag_error(p->diag, "E0100", at, "unexpected %s", tok_name(got, b1, sizeof b1));
    p->lex_errors = mk_diag_errors(p->diag); /* our own error is not the lexer's */
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    bool wants_expr = false;
    for (int i = 0; i < n; i++)
        wants_expr |= exp[i] == YYSYMBOL_INT;
    if (wants_expr) {
        mk_diag_label(it, "expected an expression");
    } else if (n > 0 && n <= 5) {
        mk_buf b = {0};
        for (int i = 0; i < n; i++) {
            if (i)
                mk_buf_puts(&b, i == n - 1 ? " or " : ", ");
            mk_buf_puts(&b, tok_name(exp[i], b2, sizeof b2));
        }
        mk_diag_label(it, "expected %s", mk_buf_cstr(&b));
        mk_buf_free(&b);
    }
    const mk_lex_frame *open = mk_lex_open(&p->lx);
    /* an item cut short at the end of the file, or one where the next line
     * starts while a bracket of an earlier line is still open (newlines are
     * space inside `(`, `[` and `${`): point at the bracket */
    bool earlier = open && open->kind != '{' &&
                   memchr(p->lx.base + open->off, '\n', at.start > open->off ? at.start - open->off : 0);
    if (open && (got == YYSYMBOL_YYEOF || earlier)) {
        mk_span osp = {at.file, open->off, open->off + (open->kind == 'I' ? 2 : 1)};
        mk_diag_note(it, osp, "unclosed `%s` opened here", open->kind == 'I' ? "${" : (char[]){open->kind, 0});
    } else if (got == YYSYMBOL_NEWLINE) {
        mk_diag_help(it, "a line break ends an item here; break lines after an operator, `,`, `(` or `[`");
    } else if (got == YYSYMBOL_IDENT || got == YYSYMBOL_STRING || got == YYSYMBOL_INT) {
        mk_diag_help(it, "put a line break, `,` or `;` between two items");
    }
    return 0;
}

static mk_parser *parser_new(mk_ast_ctx *ast, mk_diag *diag, uint32_t file, const char *text, uint32_t len)
{
    mk_parser *p = mk_mem_calloc(1, sizeof *p);
    mk_lex_init(&p->lx, ast, diag, file, text, len);
    p->ast = ast;
    p->diag = diag;
    p->last_err = UINT32_MAX;
    p->lex_errors = mk_diag_errors(diag);
    p->lex_err_tok = 1000;
    p->root = mk_ast_new(ast, MK_AST_FILE, (mk_span){file, 0, len});
    return p;
}

mk_ast *mk_parse_file(mk_ast_ctx *ast, mk_diag *diag, uint32_t file, const char *text, uint32_t len)
{
    /* a big stack holds about a new name per 140 bytes (mostly resource
     * names): room for them up front spares the table its regrowths */
    mk_intern_reserve(ast->names, len / 128);
    mk_parser *p = parser_new(ast, diag, file, text, len);
    mk_yyparse(p);
    mk_ast *root = p->root;
    mk_mem_free(p);
    return root;
}

mk_ast *mk_parse_expr(mk_ast_ctx *ast, mk_diag *diag, uint32_t file, const char *text, uint32_t len)
{
    mk_parser *p = parser_new(ast, diag, file, text, len);
    p->first = START_EXPR;
    int errs = mk_diag_errors(diag);
    mk_yyparse(p);
    mk_ast *e = mk_diag_errors(diag) == errs ? p->expr : NULL;
    mk_mem_free(p);
    return e;
}
