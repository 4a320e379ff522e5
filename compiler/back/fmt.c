/* fmt — the source formatter behind `moksha fmt`.
 *
 * It reads the file's tokens (comments included) once, in order, and lays
 * them out again: each token keeps the line it was on, the spaces between
 * tokens are decided from the tokens themselves, and the indentation from the
 * open brackets. Strings and comments are copied from the source. Lines are
 * collected in a table first so that runs of attributes can be aligned; then
 * the table is written out. Everything is linear in the size of the file.
 *
 * note [layout] — the canonical layout:
 * - Lines: a newline in the source stays a newline; runs of blank lines become
 *   one; no blank line at the start of the file, after an opening bracket or
 *   before a closing one; no trailing whitespace; one newline at the end.
 * - Indentation: two spaces per level. The lines inside a bracket are one
 *   level deeper than the line that opened it (however many brackets that line
 *   opened); a line that starts with a closing bracket goes back to the level
 *   of the line that opened it. A line that continues an item (the line before
 *   ended with an operator, `=`, `:` ... where the newline is not a separator)
 *   is one level deeper than the item.
 * - Spaces: one between tokens (so `a = 1 + 2`, `{ a = 1 }`, `x # note`),
 *   except none before `,` `;` `)` `]`, after `(` `[` `@` and unary `-` `!`,
 *   around `.`, between a function or type name and its `(`, before an index
 *   `[`, in `{}`, and before the colon of a type (`var x: int`, `field: type`)
 *   or of a comprehension header (`[for x in xs: x.id]`). Other colons
 *   (`c ? a : b`, `where … : "msg"`, `assert … : "msg"`) have a space on both
 *   sides.
 * - Strings (with their interpolations) and comments are copied as written;
 *   comments only lose trailing whitespace.
 * - Alignment: consecutive lines of one block at one indentation that each
 *   hold one `name = value` (or `let name = value`, `output name = value`)
 *   get their `=` in one column; consecutive `field: type` lines (without
 *   annotations) get their types in one column. A blank line, a comment line
 *   or any other line ends such a run; a line whose item goes on over more
 *   lines still joins the run but is its last line. Trailing comments on
 *   consecutive lines of one run start in one column.
 */
#include "compiler/back/fmt.h"

#include <stdbool.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/front/lex.h"
#include "compiler/base/mem.h"
#include "compiler/front/parse.h"
#include "parser.h"

enum { ALIGN_NONE, ALIGN_ATTR, ALIGN_LET, ALIGN_OUTPUT, ALIGN_FIELD };

/* A token, or a whole string literal (STRING, or STR_OPEN standing for the
 * template from its opening to its closing quote). */
typedef struct unit {
    int kind;
    uint32_t start, end;
} unit;

/* An open bracket; frames[0] is the file itself. Block frames (`{` and the
 * file) also follow the item being read, to tell the colons apart. */
typedef struct frame {
    int kind;           /* ( [ { or 0 for the file */
    bool map;           /* a `{` that opens a map expression, not a block */
    bool for_head;      /* between `[for`/`{for` and its `:` */
    bool compr;         /* a comprehension: one item, however many lines */
    uint8_t annot;      /* tokens of an annotation still to skip */
    int item_first;     /* first token of the current item (after annotations) */
    uint32_t item_pos;  /* tokens of the current item so far (after annotations) */
    uint32_t qpending;  /* `?` still waiting for their `:` */
    uint32_t inner;     /* indentation of the lines inside */
    uint32_t id;        /* tells blocks apart for alignment */
} frame;

typedef struct line {
    uint32_t start, len; /* the text in fmt.text, without indentation */
    uint32_t indent;
    uint32_t frame;      /* id of the innermost frame at the start of the line */
    uint32_t key;        /* where alignment padding goes */
    uint32_t comment;    /* offset of the space before a trailing comment, or 0 */
    uint8_t align;       /* ALIGN_* */
    bool blank;          /* a blank line before it */
    bool last;           /* its item goes on past it: it ends an alignment run */
    bool multi;          /* its text holds a newline (a string or a comment) */
} line;

typedef struct fmt {
    const char *src;
    mk_buf text;
    line *lines;
    uint32_t nlines, cap;
    frame frames[MK_LEX_MAX_DEPTH + 2];
    int depth;
    uint32_t next_id;
    /* the line being built */
    line cur;
    bool open;         /* cur holds a unit */
    bool line_item;    /* cur starts with an item and holds only that one */
    int line_depth;    /* frame depth when cur began */
    uint32_t ntok;     /* code units on cur */
    int k[3];          /* the first three of them, and where they were put */
    uint32_t before[3], after[3];
    /* what came before */
    int last;          /* the last unit's kind, comments included; 0 at start */
    int prev;          /* the last code unit's kind */
    bool prev_operand; /* the last code unit ends an operand (and may end an item) */
    bool prev_unary;   /* the last unit is a unary operator */
    bool nl_since_code;
    uint32_t end;      /* where the last unit ended in the source */
} fmt;

/* ---- token classes ---- */

/* Mirrors the lexer: after these a newline ends an item.
 *
 * note [keyword fields]: after `.` a keyword is a field name (`r.type`) and
 * ends an operand like any name, so fmt.prev_operand counts it too. The
 * lexer's newline rule does not yet (a line that ends in `r.type` runs into
 * the next one), so such files do not parse today; once they do, the
 * formatter already lays them out as the grammar means them. */
static bool can_end(int k)
{
    switch (k) {
    case IDENT: case INT: case NUMBER: case SIZE: case DURATION: case MONEY:
    case STRING: case STR_OPEN: case KW_TRUE: case KW_FALSE: case KW_NULL:
    case ')': case ']': case '}':
        return true;
    default:
        return false;
    }
}

static bool is_keyword(int k) { return k >= KW_STACK && k <= KW_NULL; }
static bool is_opener(int k) { return k == '(' || k == '[' || k == '{'; }
static bool is_closer(int k) { return k == ')' || k == ']' || k == '}'; }

/* Names an attribute may have (grammar: aname), and quoted map keys. */
static bool is_attr_name(int k)
{
    switch (k) {
    case IDENT: case STRING: case KW_TYPE: case KW_PROVIDER: case KW_MODULE: case KW_OUTPUT:
    case KW_RESOURCE: case KW_TEST: case KW_POLICY: case KW_IMPORT:
        return true;
    default:
        return false;
    }
}

static frame *top(fmt *f) { return &f->frames[f->depth - 1]; }

static bool is_block(const frame *fr) { return fr->kind == 0 || fr->kind == '{'; }

/* ---- reading ---- */

static unit next_unit(mk_lexer *lx)
{
    mk_tok t;
    mk_span sp;
    int k;
    do
        k = mk_lex_next(lx, &t, &sp);
    while (k == NEWLINE);
    unit u = {k, sp.start, sp.end};
    for (int depth = k == STR_OPEN; depth > 0;) {
        k = mk_lex_next(lx, &t, &sp);
        if (k == 0)
            break; /* cannot happen in a file that parsed */
        depth += k == STR_OPEN ? 1 : k == STR_CLOSE ? -1 : 0;
        u.end = sp.end;
    }
    return u;
}

static uint32_t count_newlines(const char *s, uint32_t n)
{
    uint32_t c = 0;
    for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++)
        c++;
    return c;
}

/* ---- the line table ---- */

static void line_decide_align(fmt *f)
{
    line *l = &f->cur;
    l->align = ALIGN_NONE;
    if (!f->line_item || f->ntok < 2)
        return;
    if (is_attr_name(f->k[0]) && f->k[1] == '=') {
        l->align = ALIGN_ATTR;
        l->key = f->before[1] - l->start;
    } else if (is_attr_name(f->k[0]) && f->k[0] != STRING && f->k[1] == ':') {
        l->align = ALIGN_FIELD;
        l->key = f->after[1] - l->start;
    } else if ((f->k[0] == KW_LET || f->k[0] == KW_OUTPUT) && f->ntok >= 3 && f->k[1] == IDENT &&
               f->k[2] == '=') {
        l->align = f->k[0] == KW_LET ? ALIGN_LET : ALIGN_OUTPUT;
        l->key = f->before[2] - l->start;
    }
}

static void close_line(fmt *f)
{
    line *l = &f->cur;
    l->len = (uint32_t)f->text.len - l->start;
    line_decide_align(f);
    bool ends = f->prev_operand || f->prev == ',' || f->prev == ';';
    l->last = l->multi || f->depth != f->line_depth || !ends;
    if (f->nlines == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->lines = mk_mem_realloc(f->lines, (size_t)f->cap * sizeof *f->lines);
    }
    f->lines[f->nlines++] = *l;
    f->open = false;
}

/* The line before ended inside an item, where a newline is only space. */
static bool continues(fmt *f)
{
    int p = f->prev;
    const frame *t = top(f);
    return is_block(t) && !t->compr && p != 0 && !f->prev_operand && p != ',' && p != ';' &&
           p != '{';
}

static void new_line(fmt *f, unit u, uint32_t nl)
{
    if (f->open)
        close_line(f);
    frame *t = top(f);
    uint32_t indent = t->inner;
    if (is_closer(u.kind))
        indent = indent ? indent - 1 : 0;
    else if (continues(f))
        indent++;
    bool blank = nl >= 2 && f->nlines > 0 && !is_opener(f->last) && !is_closer(u.kind);
    f->cur = (line){.start = (uint32_t)f->text.len, .indent = indent, .frame = t->id, .blank = blank};
    f->open = true;
    f->line_depth = f->depth;
    f->line_item = false;
    f->ntok = 0;
}

/* ---- one unit ---- */

/* Does code unit u begin an item of the innermost block? */
static bool item_start(fmt *f, unit u)
{
    if (!is_block(top(f)) || top(f)->compr || is_closer(u.kind))
        return false;
    int p = f->prev;
    return p == 0 || p == '{' || p == ',' || p == ';' || (f->nl_since_code && f->prev_operand);
}

static void item_begin(frame *t)
{
    t->annot = 0;
    t->item_first = 0;
    t->item_pos = 0;
    t->qpending = 0;
    t->for_head = false;
}

static void item_note(frame *t, int k)
{
    if (t->annot) {
        t->annot--;
        return;
    }
    if (k == '@' && t->item_pos == 0) {
        t->annot = 1;
        return;
    }
    if (t->item_pos == 0)
        t->item_first = k;
    t->item_pos++;
}

/* Which colon is this? True when it sticks to its left: a type annotation or
 * the end of a comprehension header. */
static bool colon_attached(frame *t)
{
    if (t->qpending) {
        t->qpending--;
        return false;
    }
    if (t->for_head) {
        t->for_head = false;
        return true;
    }
    if (!is_block(t))
        return false;
    return t->item_pos == 1 || (t->item_pos == 2 && t->item_first == KW_VAR);
}

static bool need_space(const fmt *f, int k, bool attached)
{
    int p = f->last;
    if (p == COMMENT)
        return k != ')' && k != ']' && k != ',' && k != ';';
    if (k == COMMENT)
        return p != '(' && p != '[';
    if (k == ',' || k == ';' || k == ')' || k == ']')
        return false;
    if (p == '(' || p == '[' || p == '.' || k == '.' || p == '@' || f->prev_unary)
        return false;
    if ((k == '(' && p == IDENT) || (k == '[' && f->prev_operand) || (k == ':' && attached))
        return false;
    return !(p == '{' && k == '}');
}

/* Copy a comment without trailing whitespace on any of its lines. */
static void put_comment(mk_buf *b, const char *s, uint32_t n)
{
    const char *e = s + n;
    for (;;) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        const char *q = nl ? nl : e;
        while (q > s && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r' || q[-1] == '\f' ||
                         q[-1] == '\v'))
            q--;
        mk_buf_put(b, s, (size_t)(q - s));
        if (!nl)
            return;
        mk_buf_putc(b, '\n');
        s = nl + 1;
    }
}

static void put_unit(fmt *f, unit u)
{
    const char *s = f->src + u.start;
    uint32_t n = u.end - u.start;
    if (u.kind == COMMENT)
        put_comment(&f->text, s, n);
    else
        mk_buf_put(&f->text, s, n);
    if ((u.kind == COMMENT || u.kind == STRING || u.kind == STR_OPEN) && memchr(s, '\n', n))
        f->cur.multi = true;
}

/* prev, operand: the code unit before the opener, and whether it ends an
 * operand; a `{` after an operator opens a map, after a name a block. */
static void push_frame(fmt *f, int k, int prev, bool operand)
{
    if (f->depth == (int)(sizeof f->frames / sizeof f->frames[0]))
        return; /* the lexer stops at MK_LEX_MAX_DEPTH, below this */
    bool map = k == '{' && !operand && prev != KW_ELSE && prev != KW_STACK;
    frame *t = &f->frames[f->depth++];
    *t = (frame){.kind = k, .map = map, .inner = f->cur.indent + 1, .id = ++f->next_id};
}

/* Bracket, `?` and `for` bookkeeping after code unit u was put. */
static void track(fmt *f, unit u, int prev, bool operand)
{
    frame *t = top(f);
    if (u.kind == '?')
        t->qpending++;
    else if (u.kind == KW_FOR && (prev == '[' || (prev == '{' && t->map)))
        t->for_head = t->compr = true;
    else if (is_opener(u.kind))
        push_frame(f, u.kind, prev, operand);
    else if (is_closer(u.kind) && f->depth > 1)
        f->depth--;
}

static void note_code(fmt *f, unit u, uint32_t before)
{
    if (f->ntok < 3) {
        f->k[f->ntok] = u.kind;
        f->before[f->ntok] = before;
        f->after[f->ntok] = (uint32_t)f->text.len;
    }
    f->ntok++;
    int prev = f->prev;
    bool operand = f->prev_operand;
    f->prev = u.kind;
    f->prev_operand = can_end(u.kind) || (is_keyword(u.kind) && prev == '.');
    f->prev_unary = u.kind == '!' || (u.kind == '-' && !operand);
    f->nl_since_code = false;
    f->cur.comment = 0;
    track(f, u, prev, operand);
}

static void place(fmt *f, unit u)
{
    uint32_t nl = f->last ? count_newlines(f->src + f->end, u.start - f->end) : 0;
    bool code = u.kind != COMMENT;
    f->nl_since_code |= nl > 0;
    bool start = code && item_start(f, u);
    if (start)
        item_begin(top(f));
    bool attached = u.kind == ':' && colon_attached(top(f));
    if (code)
        item_note(top(f), u.kind);
    uint32_t before = (uint32_t)f->text.len;
    if (!f->open || nl) {
        new_line(f, u, nl);
        before = (uint32_t)f->text.len;
        f->line_item = start;
    } else {
        f->line_item &= !(start && f->depth == f->line_depth);
        if (need_space(f, u.kind, attached))
            mk_buf_putc(&f->text, ' ');
        if (u.kind == COMMENT)
            f->cur.comment = before - f->cur.start;
    }
    put_unit(f, u);
    if (code)
        note_code(f, u, before);
    else
        f->prev_unary = false;
    f->last = u.kind;
    f->end = u.end;
}

/* ---- writing ---- */

/* Display width: UTF-8 characters, not bytes. */
static uint32_t width(const char *s, uint32_t n)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

static void put_spaces(mk_buf *b, uint32_t n)
{
    static const char sp[] = "                                ";
    for (; n > sizeof sp - 1; n -= sizeof sp - 1)
        mk_buf_put(b, sp, sizeof sp - 1);
    mk_buf_put(b, sp, n);
}

/* The end of the alignment run that starts at line i. */
static uint32_t run_end(const fmt *f, uint32_t i)
{
    const line *a = &f->lines[i];
    uint32_t j = i + 1;
    if (a->align == ALIGN_NONE)
        return j;
    while (j < f->nlines && !f->lines[j - 1].last) {
        const line *b = &f->lines[j];
        if (b->align != a->align || b->frame != a->frame || b->indent != a->indent || b->blank)
            break;
        j++;
    }
    return j;
}

typedef struct cols {
    uint32_t key;     /* width the keys are padded to; 0 when not aligned */
    uint32_t comment; /* column trailing comments start in; 0 when not aligned */
} cols;

static uint32_t key_width(const fmt *f, const line *l)
{
    return width(f->text.data + l->start, l->key);
}

/* Width of the code before the trailing comment, once the key is padded. */
static uint32_t code_width(const fmt *f, const line *l, uint32_t keyw)
{
    const char *s = f->text.data + l->start;
    if (!keyw)
        return width(s, l->comment);
    return keyw + width(s + l->key, l->comment - l->key);
}

static bool aligned_comment(const line *l) { return l->comment && !l->multi; }

static void write_line(const fmt *f, const line *l, cols c, mk_buf *out)
{
    const char *s = f->text.data + l->start;
    if (l->blank)
        mk_buf_putc(out, '\n');
    put_spaces(out, l->indent * 2);
    uint32_t at = 0;
    if (c.key) {
        mk_buf_put(out, s, l->key);
        put_spaces(out, c.key - key_width(f, l));
        at = l->key;
    }
    if (c.comment && aligned_comment(l)) {
        mk_buf_put(out, s + at, l->comment - at);
        put_spaces(out, c.comment - code_width(f, l, c.key));
        at = l->comment;
    }
    mk_buf_put(out, s + at, l->len - at);
    mk_buf_putc(out, '\n');
}

/* Lines [i, j) of one run whose trailing comments share a column; returns j. */
static uint32_t write_comment_group(const fmt *f, uint32_t i, uint32_t end, uint32_t keyw,
                                    mk_buf *out)
{
    cols c = {keyw, 0};
    uint32_t j = i;
    while (j < end && aligned_comment(&f->lines[j])) {
        uint32_t w = code_width(f, &f->lines[j], keyw);
        c.comment = w > c.comment ? w : c.comment;
        j++;
    }
    if (j == i)
        j++;
    for (uint32_t k = i; k < j; k++)
        write_line(f, &f->lines[k], c, out);
    return j;
}

static void write_run(const fmt *f, uint32_t i, uint32_t j, mk_buf *out)
{
    uint32_t keyw = 0;
    for (uint32_t k = i; j - i > 1 && k < j; k++) {
        uint32_t w = key_width(f, &f->lines[k]);
        keyw = w > keyw ? w : keyw;
    }
    while (i < j)
        i = write_comment_group(f, i, j, keyw, out);
}

static char *write_all(const fmt *f)
{
    mk_buf out = {0};
    for (uint32_t i = 0; i < f->nlines;) {
        uint32_t j = run_end(f, i);
        write_run(f, i, j, &out);
        i = j;
    }
    return mk_buf_take(&out);
}

/* ---- entry ---- */

/* Parse in a scratch context: the formatter only needs to know that the file
 * parses, and the tree of a big file is freed before the layout starts. */
static bool parses(mk_diag *diag, uint32_t file, const char *text, uint32_t len)
{
    mk_ast_ctx scratch = {0};
    scratch.arena = mk_arena_new();
    scratch.names = mk_intern_new(scratch.arena);
    int errors = mk_diag_errors(diag);
    mk_parse_file(&scratch, diag, file, text, len);
    mk_intern_free(scratch.names);
    mk_arena_free(scratch.arena);
    return mk_diag_errors(diag) == errors;
}

char *mk_fmt_source(mk_ast_ctx *ast, mk_diag *diag, uint32_t file, const char *text, uint32_t len)
{
    if (!parses(diag, file, text, len))
        return NULL;
    mk_lexer lx;
    mk_lex_init(&lx, ast, diag, file, text, len);
    lx.comments = true;
    fmt *f = mk_mem_calloc(1, sizeof *f);
    f->src = text;
    f->depth = 1;
    for (unit u = next_unit(&lx); u.kind != 0; u = next_unit(&lx))
        place(f, u);
    if (f->open)
        close_line(f);
    char *out = write_all(f);
    mk_buf_free(&f->text);
    mk_mem_free(f->lines);
    mk_mem_free(f);
    return out;
}
