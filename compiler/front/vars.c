/* vars — variable values from outside the source: --var-file (YAML, read
 * with libyaml), MOKSHA_VAR_NAME in the environment and --var NAME=VALUE, in
 * rising precedence (with an environment, env/global.yaml and env/NAME.yaml
 * below them, and maps merged: mk_vars_merge). A value for a string-like
 * variable is taken as text; any other is read as a moksha expression, so
 * `--var memory=4GiB` is a size and `--var replicas=3` an int. */
#include "compiler/front/vars.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "compiler/base/buf.h"
#include "compiler/front/eval_expr.h"
#include "compiler/base/mem.h"
#include "compiler/front/parse.h"

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

mk_value *mk_vars_merge(mk_vctx *c, mk_value *under, mk_value *over)
{
    if (!under || under->kind != MK_V_MAP || over->kind != MK_V_MAP)
        return over;
    mk_vbuild vb = {0};
    for (uint32_t i = 0; i < under->n; i++)
        mk_vb_push(c, &vb, under->u.map.keys[i], under->u.map.vals[i]);
    for (uint32_t i = 0; i < over->n; i++) /* (a key of both: replaced in its place by mk_vb_map) */
        mk_vb_push(c, &vb, over->u.map.keys[i], mk_vars_merge(c, mk_v_get(under, over->u.map.keys[i]), over->u.map.vals[i]));
    vb.flags = under->flags | over->flags;
    return mk_vb_map(c, &vb);
}

static void give(mk_program *p, mk_var *v, mk_value *val, const char *from)
{
    v->given = p->vars_merge && v->given ? mk_vars_merge(&p->v, v->given, val) : val;
    v->given_from = mk_arena_strndup(p->ast.arena, from, strlen(from));
    v->has_given_at = false; /* a later source replaces the value, and its place */
}

static mk_type *type_of(mk_program *p, mk_var *v)
{
    if (!v->type)
        v->type = mk_type_from_ast(p->types, v->decl->a);
    return v->type;
}

/* The declared variable closest to name, or NULL. */
static const char *suggest_var(mk_program *p, const char *name)
{
    const char *cands[256];
    uint32_t n = 0;
    for (uint32_t j = 0; p->root && j < p->root->nvars && n < 256; j++)
        cands[n++] = p->root->var_order[j]->decl->name;
    return mk_diag_suggest(name, cands, n);
}

void mk_vars_flag(mk_program *p, const char *assignment)
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
        mk_diag_item *it = mk_diag_error(p->diag, "E0212", MK_NOSPAN,
                                         "--var sets `%.*s`, but the stack declares no such variable",
                                         (int)(eq - assignment), assignment);
        const char *sug = suggest_var(p, mk_arena_strndup(p->ast.arena, assignment, (size_t)(eq - assignment)));
        if (sug)
            mk_diag_help(it, "did you mean `%s`?", sug);
        return;
    }
    char *origin = mk_arena_printf(p->ast.arena, "--var %s", v->decl->name);
    give(p, v, from_text(p, type_of(p, v), origin, eq + 1, strlen(eq + 1), false), "--var");
}

void mk_vars_env(mk_program *p)
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
    if (t->kind == MK_T_SECRET) /* a list or map for a secret: its kind is the error, its text is never read */
        return n->type == YAML_SEQUENCE_NODE ? mk_vb_list(&p->v, &vb) : mk_vb_map(&p->v, &vb);
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

/* note [var file places]: diagnostics about a var file point into it
 * (file:line:col, the line, a caret), but a var file holds secrets, and a
 * diagnostic shows its line. So the text diagnostics see is a copy in which
 * the value of every secret variable — and of every key that names no
 * variable (a misspelt secret is still a secret) — is masked byte for byte
 * (offsets stay those of the file); when the YAML does not parse, so is
 * every value that is not known to be a plain variable's (mask_values). */
typedef struct vfile {
    mk_program *p;
    const char *path;
    const char *text; /* the file */
    char *shown;      /* what diagnostics show (above) */
    size_t len;
    uint32_t id;      /* of shown, once added */
    bool added;
    size_t at_line, at_off; /* a line's number and its first byte: marks come mostly in order */
} vfile;

static bool has_secret(const mk_type *t, int depth)
{
    if (!t || depth > 32)
        return false;
    if (t->kind == MK_T_SECRET || t->kind == MK_T_ANY)
        return t->kind == MK_T_SECRET;
    if (has_secret(t->elem, depth + 1))
        return true;
    for (uint32_t i = 0; t->kind == MK_T_OBJECT && i < t->nfields; i++)
        if (has_secret(t->fields[i].type, depth + 1))
            return true;
    return false;
}

/* A libyaml mark (0-based line, column in characters) as a byte offset. */
static size_t offset_of(vfile *f, yaml_mark_t m)
{
    if (m.line < f->at_line)
        f->at_line = f->at_off = 0;
    size_t o = f->at_off;
    for (size_t line = f->at_line; line < m.line && o < f->len; o++)
        if (f->text[o] == '\n') {
            line++;
            f->at_line = line, f->at_off = o + 1;
        }
    for (size_t col = 0; col < m.column && o < f->len && f->text[o] != '\n'; col++)
        for (o++; o < f->len && ((unsigned char)f->text[o] & 0xC0) == 0x80; o++)
            ;
    return o;
}

static void mask(vfile *f, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < f->len; i++)
        if (f->shown[i] != '\n')
            f->shown[i] = '*';
}

/* When the YAML does not parse: by lines, a top-level `NAME:` and the
 * indented lines under it are one variable's; its value is shown only when
 * NAME is a variable holding no secret. What follows the first `:` of a
 * line (or a list's `-`) is masked in every other block. */
static void mask_values(vfile *f)
{
    bool show = false;
    for (size_t i = 0; i < f->len;) {
        size_t e = i;
        while (e < f->len && f->text[e] != '\n')
            e++;
        size_t k = i;
        while (k < e && (f->text[k] == ' ' || f->text[k] == '\t'))
            k++;
        const char *colon = memchr(f->text + k, ':', e - k);
        if (k == i && k < e && f->text[k] != '-' && f->text[k] != '#') { /* a new top-level key */
            size_t n = colon ? (size_t)(colon - (f->text + k)) : 0;
            mk_var *v = n ? find_var(f->p, f->text + k, n) : NULL;
            show = v && !has_secret(type_of(f->p, v), 0);
        }
        if (!show)
            mask(f, k < e && f->text[k] == '-' ? k + 1 : colon ? (size_t)(colon - f->text) + 1 : e, e);
        i = e + 1;
    }
}

static mk_span place(vfile *f, yaml_mark_t a, yaml_mark_t b)
{
    if (!f->added) {
        f->id = mk_src_add(&f->p->src, f->path, f->shown, f->len);
        f->added = true;
    }
    size_t s = offset_of(f, a), e = offset_of(f, b);
    return (mk_span){f->id, (uint32_t)s, (uint32_t)(e > s ? e : s)};
}

static void yaml_vars(vfile *f, yaml_document_t *doc)
{
    mk_program *p = f->p;
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root)
        return; /* an empty file sets nothing */
    if (root->type != YAML_MAPPING_NODE) {
        mask_values(f);
        mk_diag_item *it = mk_diag_error(p->diag, "E0212", place(f, root->start_mark, root->start_mark),
                                         "a var file is a YAML mapping of NAME: VALUE");
        mk_diag_help(it, "a var file looks like `replicas: 3` on each line");
        return;
    }
    yaml_node_pair_t *pairs = root->data.mapping.pairs.start, *top = root->data.mapping.pairs.top;
    for (yaml_node_pair_t *i = pairs; i < top; i++) { /* mask first: any diagnostic may show any line */
        yaml_node_t *k = yaml_document_get_node(doc, i->key), *v = yaml_document_get_node(doc, i->value);
        mk_var *var = k && k->type == YAML_SCALAR_NODE ? find_var(p, (const char *)k->data.scalar.value, k->data.scalar.length) : NULL;
        if (v && (!var || has_secret(type_of(p, var), 0)))
            mask(f, offset_of(f, v->start_mark), offset_of(f, v->end_mark));
    }
    for (yaml_node_pair_t *i = pairs; i < top; i++) {
        yaml_node_t *k = yaml_document_get_node(doc, i->key), *val = yaml_document_get_node(doc, i->value);
        if (!k || !val || k->type != YAML_SCALAR_NODE) {
            if (k)
                mk_diag_error(p->diag, "E0212", place(f, k->start_mark, k->end_mark), "a variable's name is a plain string");
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        mk_var *v = find_var(p, name, k->data.scalar.length);
        if (!v) {
            mk_diag_item *it = mk_diag_error(p->diag, "E0212", place(f, k->start_mark, k->end_mark),
                                             "`%s` is not a variable of this stack", name);
            const char *sug = suggest_var(p, name);
            if (sug)
                mk_diag_label(it, "did you mean `%s`?", sug);
            else
                mk_diag_help(it, "declare it with `var %s: TYPE`, or remove it from the file", name);
            continue;
        }
        char *origin = mk_arena_printf(p->ast.arena, "%s (%s)", f->path, name);
        give(p, v, yaml_value(p, doc, val, type_of(p, v), origin, 0), f->path);
        v->given_at = place(f, val->start_mark, val->end_mark);
        v->has_given_at = true;
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    mk_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0 && b.len <= MK_SOURCE_MAX_BYTES)
        mk_buf_put(&b, tmp, n);
    bool bad = ferror(fp) || b.len > MK_SOURCE_MAX_BYTES;
    fclose(fp);
    if (bad) {
        mk_buf_free(&b);
        errno = errno ? errno : EFBIG;
        return NULL;
    }
    *len = b.len;
    mk_buf_puts(&b, ""); /* a text for an empty file too */
    return mk_buf_take(&b);
}

void mk_vars_file(mk_program *p, const char *path)
{
    vfile f = {.p = p, .path = path};
    errno = 0;
    char *text = read_file(path, &f.len);
    if (!text) {
        mk_diag_error(p->diag, "E0010", MK_NOSPAN, "cannot read var file `%s`: %s", path, strerror(errno));
        return;
    }
    f.text = text;
    f.shown = mk_mem_alloc(f.len + 1);
    memcpy(f.shown, text, f.len + 1);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, f.len);
    if (!yaml_parser_load(&parser, &doc)) {
        mask_values(&f);
        yaml_mark_t m = parser.problem_mark;
        mk_diag_item *it = mk_diag_error(p->diag, "E0212", place(&f, m, m), "invalid YAML: %s",
                                         parser.problem ? parser.problem : "parse error");
        if (parser.context)
            mk_diag_note(it, place(&f, parser.context_mark, parser.context_mark), "%s", parser.context);
        mk_diag_help(it, "a var file looks like `replicas: 3` on each line");
    } else {
        yaml_vars(&f, &doc);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    mk_mem_free(f.shown);
    mk_mem_free(text);
}
