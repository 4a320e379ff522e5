/* types — the type system: type expressions, named object types (schemas,
 * written in moksha as `type` blocks in stdlib/ and in user files), and the
 * check of a value against a type.
 *
 * Types live in the compilation arena. A schema (MK_T_OBJECT) lists its
 * fields with defaults, `where` constraints and annotations; resource types
 * are the schemas marked @resource. */
#ifndef MK_TYPES_H
#define MK_TYPES_H

#include <stdbool.h>

#include "compiler/front/ast.h"
#include "compiler/front/value.h"

struct mk_diag;

typedef enum mk_tkind {
    MK_T_ANY, MK_T_STRING, MK_T_INT, MK_T_NUMBER, MK_T_BOOL, MK_T_SIZE, MK_T_DURATION,
    MK_T_MONEY, MK_T_SECRET, MK_T_LIST, MK_T_SET, MK_T_MAP, MK_T_ENUM, MK_T_REF, MK_T_OBJECT
} mk_tkind;

typedef struct mk_type mk_type;
typedef struct mk_field mk_field;

struct mk_field {
    mk_name name;
    mk_type *type;
    mk_ast *decl;      /* the MK_AST_FIELD */
    mk_ast *def;       /* default expression, or NULL: required */
    mk_ast *where;     /* constraint, or NULL */
    mk_ast *msg;       /* its message, or NULL */
    uint32_t flags;    /* MK_ANN_* */
    struct mk_value *def_cache; /* the default, once evaluated (defaults are constant) */
};

struct mk_type {
    mk_tkind kind;
    mk_type *elem;          /* LIST, SET, MAP */
    mk_name ref;            /* REF: the resource type name */
    mk_name *enums;         /* ENUM values */
    uint32_t nenums;
    /* OBJECT */
    mk_name name;
    mk_ast *decl;
    mk_field *fields;
    mk_name *field_names;   /* the fields' names in order: the keys of every value of the type */
    uint32_t nfields;
    bool is_resource;
    bool is_stateful;       /* @stateful: deleting one of its objects loses what it holds */
    bool resolved;          /* fields compiled */
};

/* The table of named types of one compilation. */
typedef struct mk_typetab mk_typetab;

mk_typetab *mk_type_tab_new(mk_ast_ctx *ast, struct mk_diag *diag);
void mk_type_tab_free(mk_typetab *t);
/* Declare a `type` block; a second declaration of one name is an error. */
void mk_type_declare(mk_typetab *t, mk_ast *decl);
/* Compile all declared types' fields (after every file is declared). */
void mk_type_resolve_all(mk_typetab *t);
mk_type *mk_type_lookup(mk_typetab *t, mk_name name);
/* Type expression → type; reports E0113 for unknown names. Never NULL. */
mk_type *mk_type_from_ast(mk_typetab *t, mk_ast *te);
const mk_field *mk_type_field(const mk_type *obj, mk_name name);
/* Names of all resource types, for suggestions. */
const char **mk_type_resource_names(mk_typetab *t, size_t *n);
/* "map(string)", "enum(\"a\", \"b\")" … */
void mk_type_show(const mk_type *ty, mk_buf *out);
extern mk_type mk_type_any;

/* Checking a value against a type.
 * Reports at `at` (the expression the value came from) and returns the value
 * converted (int → number, string → secret taint, …), or MK_V_ERRORV. Object
 * values (maps) are completed with defaults and have their `where`
 * constraints checked through the callback, which the evaluator provides. */
typedef enum { MK_FIELD_DEFAULT, MK_FIELD_WHERE, MK_FIELD_MSG } mk_field_part;

typedef struct mk_tcheck {
    mk_vctx *v;
    struct mk_diag *diag;
    mk_typetab *types;
    /* evaluate a field's default, or its constraint or message with the
     * field's name bound to val */
    mk_value *(*eval_field)(void *ud, const mk_field *f, mk_value *val, mk_field_part part);
    void *ud;
    /* the type name of a resource value's instance */
    mk_name (*res_type_of)(void *res);
} mk_tcheck;

mk_value *mk_type_check(mk_tcheck *c, const mk_type *ty, mk_value *v, mk_span at, const char *what);
/* Check a field's where constraint for a value; reports E0205 at `at`. */
bool mk_type_check_where(mk_tcheck *c, const mk_field *f, mk_value *v, mk_span at);

#endif
