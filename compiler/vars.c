/* vars — variable values from outside the source: --var-file (YAML, read
 * with libyaml), MOKSHA_VAR_NAME in the environment and --var NAME=VALUE, in
 * rising precedence. A value for a string-like variable is taken as text;
 * any other is read as a moksha expression, so `--var memory=4GiB` is a size
 * and `--var replicas=3` an int. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "compiler/eval_int.h"
#include "compiler/mem.h"
#include "compiler/parse.h"

extern char **environ;

static bool stringish(const mk_type *t)
{
    return t->kind == MK_T_STRING || t->kind == MK_T_SECRET || t->kind == MK_T_ENUM;
}

/* Does a value of type t hold secrets (a list(secret), an object with a
 * secret field)? Depth-bounded: object types may refer to themselves. */
static bool holds_secret(const mk_type *t, int depth)
{
    if (!t || depth > 16)
        return false;
    if (t->kind == MK_T_SECRET)
        return true;
    if (t->kind == MK_T_LIST || t->kind == MK_T_SET || t->kind == MK_T_MAP)
        return holds_secret(t->elem, depth + 1);
    for (uint32_t i = 0; t->kind == MK_T_OBJECT && i < t->nfields; i++)
        if (holds_secret(t->fields[i].type, depth + 1))
            return true;
    return false;
}

/* The text of a value that holds secrets is never quoted: a mistake in it
 * is one error that shows none of it (diagnostics would print the source
 * line and names from it). */
static mk_value *secret_text(mk_program *p, const mk_type *t, const char *origin, uint32_t id)
{
    mk_source *f = mk_src_get(&p->src, id);
    mk_diag *quiet = mk_diag_new(&p->src);
    mk_ast *e = mk_parse_expr(&p->ast, quiet, id, f->text, (uint32_t)f->len);
    mk_value *v = MK_V_ERRORV;
    if (e) {
        mk_ev ev = {.p = p, .v = &p->v, .diag = quiet};
        mk_ectx c = {.e = &ev};
        v = mk_eval_expr(&c, e);
    }
    bool bad = !e || mk_diag_errors(quiet) > 0;
    mk_diag_free(quiet);
    if (!bad)
        return v;
    mk_buf tb = {0};
    mk_type_show(t, &tb);
    mk_diag_item *it = mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s: not a valid %s (the value holds secrets, so it is not shown)",
                                     origin, mk_buf_cstr(&tb));
    mk_diag_help(it, "write it as a moksha value with strings in quotes, e.g. [\"a\", \"b\"] or {key = \"value\"}");
    mk_buf_free(&tb);
    return MK_V_ERRORV;
}

/* Text → value for a variable of type t; errors point into a source named
 * after where the text came from. */
static mk_value *from_text(mk_program *p, const mk_type *t, const char *origin, const char *text, size_t len,
                           bool quoted)
{
    if (stringish(t) || quoted)
        return mk_v_str(&p->v, text, (uint32_t)len);
    uint32_t id = mk_src_add(&p->src, origin, text, len);
    mk_source *f = mk_src_get(&p->src, id);
    if (holds_secret(t, 0))
        return secret_text(p, t, origin, id);
    if (t->kind == MK_T_ANY) {
        /* untyped: a plain word is a string, anything else an expression */
        mk_diag *quiet = mk_diag_new(&p->src);
        mk_ast *e = mk_parse_expr(&p->ast, quiet, id, f->text, (uint32_t)f->len);
        mk_diag_free(quiet);
        if (!e || e->kind == MK_AST_NAME)
            return mk_v_str(&p->v, text, (uint32_t)len);
    }
    mk_ast *e = mk_parse_expr(&p->ast, p->diag, id, f->text, (uint32_t)f->len);
    if (!e)
        return MK_V_ERRORV;
    mk_ev ev = {.p = p, .v = &p->v, .diag = p->diag};
    mk_ectx c = {.e = &ev};
    return mk_eval_expr(&c, e);
}

static mk_var *find_var(mk_program *p, const char *name, size_t len)
{
    if (!p->root)
        return NULL;
    return mk_sym_get(&p->root->vars, mk_intern_n(p->ast.names, name, len), NULL);
}

static void give(mk_program *p, mk_var *v, mk_value *val, const char *from)
{
    v->given = val;
    v->given_from = mk_arena_strndup(p->ast.arena, from, strlen(from));
}

static mk_type *type_of(mk_program *p, mk_var *v)
{
    if (!v->type)
        v->type = mk_type_from_ast(p->types, v->decl->a);
    return v->type;
}

void mk_program_var_flag(mk_program *p, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        /* not echoed: what was given may be a secret without its name */
        mk_diag_item *it = mk_diag_error(p->diag, "E0212", MK_NOSPAN, "--var takes NAME=VALUE, found %s",
                                         eq ? "no NAME before `=`" : "no `=`");
        mk_diag_help(it, "e.g. --var replicas=3");
        return;
    }
    mk_var *v = find_var(p, assignment, (size_t)(eq - assignment));
    if (!v) {
        mk_diag_error(p->diag, "E0212", MK_NOSPAN, "--var sets `%.*s`, but the stack declares no such variable",
                      (int)(eq - assignment), assignment);
        return;
    }
    char *origin = mk_arena_printf(p->ast.arena, "--var %s", v->decl->name);
    give(p, v, from_text(p, type_of(p, v), origin, eq + 1, strlen(eq + 1), false), "--var");
}

void mk_program_var_env(mk_program *p)
{
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "MOKSHA_VAR_", 11) != 0)
            continue;
        const char *name = *e + 11, *eq = strchr(name, '=');
        if (!eq)
            continue;
        mk_var *v = find_var(p, name, (size_t)(eq - name));
        if (!v)
            continue; /* the environment may hold values for other stacks */
        char *origin = mk_arena_printf(p->ast.arena, "MOKSHA_VAR_%s", v->decl->name);
        give(p, v, from_text(p, type_of(p, v), origin, eq + 1, strlen(eq + 1), false), origin);
    }
}

/* ---- YAML ---- */

static mk_value *yaml_value(mk_program *p, yaml_document_t *doc, yaml_node_t *n, const mk_type *t,
                            const char *origin, int depth)
{
    if (depth > 64) {
        mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s: nesting too deep", origin);
        return MK_V_ERRORV;
    }
    const mk_type *elem = (t->kind == MK_T_LIST || t->kind == MK_T_SET || t->kind == MK_T_MAP) ? t->elem : &mk_type_any;
    if (n->type == YAML_SCALAR_NODE) {
        bool quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                      n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return from_text(p, t, origin, (const char *)n->data.scalar.value, n->data.scalar.length, quoted);
    }
    mk_vbuild vb = {0};
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
            mk_vb_push(&p->v, &vb, NULL, yaml_value(p, doc, yaml_document_get_node(doc, *i), elem, origin, depth + 1));
        return mk_vb_list(&p->v, &vb);
    }
    for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top; i++) {
        yaml_node_t *k = yaml_document_get_node(doc, i->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s: map keys must be plain strings", origin);
            return MK_V_ERRORV;
        }
        mk_name key = mk_intern_n(p->ast.names, (const char *)k->data.scalar.value, k->data.scalar.length);
        const mk_type *ft = elem;
        if (t->kind == MK_T_OBJECT) {
            const mk_field *f = mk_type_field(t, key);
            ft = f ? f->type : &mk_type_any;
        }
        mk_vb_push(&p->v, &vb, key, yaml_value(p, doc, yaml_document_get_node(doc, i->value), ft, origin, depth + 1));
    }
    return mk_vb_map(&p->v, &vb);
}

static void yaml_vars(mk_program *p, const char *path, yaml_document_t *doc)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root)
        return; /* an empty file sets nothing */
    if (root->type != YAML_MAPPING_NODE) {
        mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s: a var file is a YAML mapping of NAME: VALUE", path);
        return;
    }
    for (yaml_node_pair_t *i = root->data.mapping.pairs.start; i < root->data.mapping.pairs.top; i++) {
        yaml_node_t *k = yaml_document_get_node(doc, i->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        const char *name = (const char *)k->data.scalar.value;
        mk_var *v = find_var(p, name, k->data.scalar.length);
        if (!v) {
            mk_diag_item *it = mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s:%lu: `%s` is not a variable of this stack",
                                             path, (unsigned long)k->start_mark.line + 1, name);
            mk_diag_help(it, "declare it with `var %s: TYPE`, or remove it from the file", name);
            continue;
        }
        char *origin = mk_arena_printf(p->ast.arena, "%s (%s)", path, name);
        give(p, v, yaml_value(p, doc, yaml_document_get_node(doc, i->value), type_of(p, v), origin, 0), path);
    }
}

void mk_program_var_file(mk_program *p, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        mk_diag_error(p->diag, "E0010", MK_NOSPAN, "cannot read var file `%s`: %s", path, strerror(errno));
        return;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc) && parser.error == YAML_READER_ERROR && ferror(fp)) {
        /* libyaml says only "input error" (a directory opens, then does not read) */
        mk_diag_error(p->diag, "E0010", MK_NOSPAN, "cannot read var file `%s`: %s", path, strerror(errno));
    } else if (parser.error != YAML_NO_ERROR) {
        mk_diag_item *it = mk_diag_error(p->diag, "E0212", MK_NOSPAN, "%s:%lu:%lu: invalid YAML: %s", path,
                                         (unsigned long)parser.problem_mark.line + 1,
                                         (unsigned long)parser.problem_mark.column + 1,
                                         parser.problem ? parser.problem : "parse error");
        mk_diag_help(it, "a var file looks like `replicas: 3` on each line");
    } else {
        yaml_vars(p, path, &doc);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(fp);
}
