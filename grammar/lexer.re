/* lexer.re — moksha's tokens (re2c). See compiler/front/lex.h for the contract and
 * the newline rule; DESIGN.md §3 for the lexical rules. */
#include "compiler/front/lex.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/mem.h"
#include "compiler/base/money.h"
#include "parser.h"

#define MAX_STRING ((size_t)16 * 1024 * 1024)

void mk_lex_init(mk_lexer *lx, mk_ast_ctx *ast, mk_diag *diag, uint32_t file, const char *text,
                 uint32_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->base = (const unsigned char *)text;
    lx->cur = lx->base;
    lx->lim = lx->base + len;
    lx->file = file;
    lx->ast = ast;
    lx->diag = diag;
    /* A NUL inside the text would cut it short wherever it is handled as a C
     * string (fmt rewrites files): refuse it once, up front. */
    const char *nul = memchr(text, 0, len);
    if (nul) {
        uint32_t at = (uint32_t)(nul - text);
        mk_span sp = {file, at, at + 1};
        mk_diag_item *it = mk_diag_error(diag, "E0001", sp, "NUL byte in the source");
        mk_diag_help(it, ".moksha files are UTF-8 text");
    }
}

const mk_lex_frame *mk_lex_open(const mk_lexer *lx)
{
    return lx->depth ? &lx->stack[lx->depth - 1] : NULL;
}

static mk_span span_at(const mk_lexer *lx, const unsigned char *a, const unsigned char *b)
{
    return (mk_span){lx->file, (uint32_t)(a - lx->base), (uint32_t)(b - lx->base)};
}

static char top(const mk_lexer *lx) { return lx->depth ? lx->stack[lx->depth - 1].kind : 0; }

static bool push(mk_lexer *lx, char kind, const unsigned char *at)
{
    if (lx->depth == MK_LEX_MAX_DEPTH) {
        mk_diag_item *it = mk_diag_error(lx->diag, "E0007", span_at(lx, at, at + 1),
                                         "nesting deeper than %d levels", MK_LEX_MAX_DEPTH);
        mk_diag_help(it, "split the expression with `let` declarations");
        lx->failed = true;
        return false;
    }
    lx->stack[lx->depth++] = (mk_lex_frame){kind, (uint32_t)(at - lx->base), 0};
    return true;
}

/* Could the last token end an item? Then a newline is a separator. */
static bool can_end(int tok)
{
    switch (tok) {
    case IDENT: case INT: case NUMBER: case SIZE: case DURATION: case MONEY:
    case STRING: case STR_CLOSE: case KW_TRUE: case KW_FALSE: case KW_NULL:
    case ')': case ']': case '}':
        return true;
    default:
        return false;
    }
}

/* Parse digits with '_' separators; false on overflow. */
static bool parse_int(const unsigned char *a, const unsigned char *b, int64_t *out)
{
    uint64_t v = 0;
    for (; a < b; a++) {
        if (*a == '_')
            continue;
        if (*a < '0' || *a > '9')
            break;
        if (v > (uint64_t)(INT64_MAX - (*a - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*a - '0');
    }
    *out = (int64_t)v;
    return true;
}

/* Parse a decimal number with '_' separators and an optional exponent;
 * false when it overflows a double or has more digits than it can hold. */
static bool parse_double(const unsigned char *a, const unsigned char *b, double *out)
{
    char tmp[128];
    size_t n = 0;
    for (; a < b; a++) {
        if (*a == '_')
            continue;
        if (n == sizeof tmp - 1)
            return false;
        tmp[n++] = (char)*a;
    }
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    return isfinite(*out);
}

/* A number of plain digits that a double holds exactly is that double:
 * strtod would give the same, at many times the cost (sizes and durations
 * are nearly all written so: 2GiB, 30s). */
static double parse_float(const unsigned char *a, const unsigned char *b)
{
    if (b - a <= 15) {
        int64_t n = 0;
        const unsigned char *p = a;
        for (; p < b && *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (*p - '0');
        if (p == b && p > a)
            return (double)n;
    }
    double v = 0;
    return parse_double(a, b, &v) ? v : INFINITY;
}

static int number_error(mk_lexer *lx, const unsigned char *a, const unsigned char *b, const char *what)
{
    mk_diag_item *it = mk_diag_error(lx->diag, "E0004", span_at(lx, a, b), "%s", what);
    mk_diag_help(it, "integers range over ±9223372036854775807; sizes are written like 512MiB, "
                     "durations like 30s, money like $12.50");
    return INT;
}

/* `$12.50`: exact micro-dollars (note [money] in compiler/base/money.h). */
static void money_literal(mk_lexer *lx, const unsigned char *a, const unsigned char *b, mk_tok *t)
{
    char text[64];
    size_t n = 0;
    for (const unsigned char *c = a + 1; c < b && n < sizeof text; c++)
        if (*c != '_') /* 1_000, as in ints */
            text[n++] = (char)*c;
    t->ival = 0;
    if (n < sizeof text && mk_money_parse(text, n, &t->ival))
        return;
    const unsigned char *dot = memchr(a, '.', (size_t)(b - a));
    bool fine = dot && b - dot - 1 > MK_MONEY_DIGITS;
    mk_diag_item *it = mk_diag_error(lx->diag, "E0004", span_at(lx, a, b), "%s",
                                     fine ? "money has at most 6 decimal places" : "money literal out of range");
    mk_diag_help(it, fine ? "money counts micro-dollars: $0.000116 is the finest amount there is"
                          : "money ranges over ±$9,223,372,036,854.775807");
}

static void float_error(mk_lexer *lx, const unsigned char *a, const unsigned char *b)
{
    mk_diag_item *it = mk_diag_error(lx->diag, "E0004", span_at(lx, a, b), "number literal out of range");
    mk_diag_help(it, "numbers range over about ±1.8e308, written with at most 127 digits");
}

/* Size and duration literals: digits (maybe a fraction), then a unit. */
static int unit_literal(mk_lexer *lx, const unsigned char *a, const unsigned char *b, mk_tok *t)
{
    const unsigned char *u = a;
    while (u < b && ((*u >= '0' && *u <= '9') || *u == '_' || *u == '.'))
        u++;
    size_t ul = (size_t)(b - u);
    static const struct { char s[4]; double mul; int tok; } units[] = {
        {"B", 1, SIZE}, {"KB", 1e3, SIZE}, {"MB", 1e6, SIZE}, {"GB", 1e9, SIZE}, {"TB", 1e12, SIZE},
        {"PB", 1e15, SIZE}, {"KiB", 1024.0, SIZE}, {"MiB", 1048576.0, SIZE},
        {"GiB", 1073741824.0, SIZE}, {"TiB", 1099511627776.0, SIZE}, {"PiB", 1125899906842624.0, SIZE},
        {"ms", 1, DURATION}, {"s", 1e3, DURATION}, {"m", 6e4, DURATION}, {"h", 3.6e6, DURATION},
        {"d", 8.64e7, DURATION},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ul > 3 || memcmp(units[i].s, u, ul) != 0 || units[i].s[ul] != 0)
            continue;
        double v = parse_float(a, u) * units[i].mul;
        if (!(v < 9.2e18)) {
            number_error(lx, a, b, "literal out of range");
            v = 0;
        }
        t->ival = (int64_t)llround(v);
        return units[i].tok;
    }
    mk_diag_item *it = mk_diag_error(lx->diag, "E0004", span_at(lx, u, b), "unknown unit `%.*s`", (int)ul, u);
    mk_diag_help(it, "sizes: B KB MB GB TB KiB MiB GiB TiB; durations: ms s m h d");
    t->ival = 0;
    return INT;
}

/* Decode escapes of [a, b) into the arena. Stops at `${` (returns its
 * position in *stop) and at the closing quote (which the caller found). */
static bool utf8_ok(const unsigned char *p, const unsigned char *e, size_t *adv)
{
    unsigned char c = *p;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || (size_t)(e - p) < n)
        return false;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return false;
    *adv = n;
    return true;
}

static void put_utf8(mk_buf *b, uint32_t cp)
{
    char o[4];
    if (cp < 0x80) { o[0] = (char)cp; mk_buf_put(b, o, 1); }
    else if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); mk_buf_put(b, o, 2); }
    else if (cp < 0x10000) { o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); mk_buf_put(b, o, 3); }
    else { o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); mk_buf_put(b, o, 4); }
}

typedef enum { PART_END_QUOTE, PART_END_INTERP, PART_END_EOF, PART_END_TOO_LONG } part_end;

/* Scan string text from lx->cur up to the closing quote or `${`, decoding
 * into *out. In a triple string, strip `indent` columns after each newline.
 * `open` is the offset of the string's opening quote: an unterminated string
 * is reported there, where the mistake is, rather than at the line's end. */
static part_end scan_part(mk_lexer *lx, bool triple, uint32_t indent, uint32_t open, mk_buf *out)
{
    const unsigned char *p = lx->cur, *e = lx->lim;
    while (p < e) {
        unsigned char c = *p;
        if (!triple && c == '"')
            { lx->cur = p; return PART_END_QUOTE; }
        if (triple && c == '"' && e - p >= 3 && p[1] == '"' && p[2] == '"')
            { lx->cur = p; return PART_END_QUOTE; }
        if (c == '$' && p + 1 < e && p[1] == '{')
            { lx->cur = p; return PART_END_INTERP; }
        if (c == '$' && p + 2 < e && p[1] == '$' && p[2] == '{') {
            mk_buf_puts(out, "${");
            p += 3;
            continue;
        }
        if (c == '\n' && !triple) {
            mk_span at = {lx->file, open, open + 1};
            mk_diag_item *it = mk_diag_error(lx->diag, "E0002", at, "unterminated string");
            mk_diag_label(it, "this string is not closed before the end of its line");
            mk_diag_help(it, "close it with `\"` on the same line, or use `\"\"\"` for text over several lines");
            lx->cur = p;
            return PART_END_QUOTE;
        }
        if (c == '\n') {
            mk_buf_putc(out, '\n');
            p++;
            for (uint32_t k = 0; k < indent && p < e && (*p == ' ' || *p == '\t'); k++)
                p++;
            continue;
        }
        if (c == '\\') {
            const unsigned char *esc = p;
            if (p + 1 >= e)
                break;
            switch (p[1]) {
            case 'n': mk_buf_putc(out, '\n'); p += 2; continue;
            case 't': mk_buf_putc(out, '\t'); p += 2; continue;
            case 'r': mk_buf_putc(out, '\r'); p += 2; continue;
            case '"': mk_buf_putc(out, '"'); p += 2; continue;
            case '\\': mk_buf_putc(out, '\\'); p += 2; continue;
            case '$': mk_buf_putc(out, '$'); p += 2; continue;
            case 'u': {
                uint32_t cp = 0;
                int nd = 0;
                const unsigned char *q = p + 2;
                bool braced = q < e && *q == '{';
                if (braced)
                    q++;
                while (q < e && nd < 6 && ((*q >= '0' && *q <= '9') || ((*q | 32) >= 'a' && (*q | 32) <= 'f'))) {
                    cp = cp * 16 + (uint32_t)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
                    q++, nd++;
                }
                if (braced && q < e && *q == '}')
                    q++;
                else if (braced)
                    nd = 0;
                if (nd == 0 || (!braced && nd != 4) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                    mk_diag_item *it = mk_diag_error(lx->diag, "E0005", span_at(lx, esc, q), "invalid unicode escape");
                    mk_diag_help(it, "write \\u00e9 or \\u{1F600}");
                } else
                    put_utf8(out, cp);
                p = q;
                continue;
            }
            default: {
                size_t adv = 1;
                utf8_ok(p + 1, e, &adv);
                mk_diag_item *it = mk_diag_error(lx->diag, "E0005", span_at(lx, esc, p + 1 + adv),
                                                 "unknown escape `\\%.*s`", (int)adv, p + 1);
                mk_diag_help(it, "escapes are \\n \\t \\r \\\" \\\\ \\$ \\uXXXX; write `\\\\` for a backslash");
                p += 1 + adv;
                continue;
            }
            }
        }
        size_t adv;
        if (!utf8_ok(p, e, &adv)) {
            mk_diag_error(lx->diag, "E0006", span_at(lx, p, p + 1), "invalid UTF-8 in string");
            p++;
            continue;
        }
        if (out->len + adv > MAX_STRING) {
            /* reported once, at the opening quote; lexing stops here rather
             * than scan (and report) megabytes more */
            mk_span at = {lx->file, open, open + 1};
            mk_diag_item *it = mk_diag_error(lx->diag, "E0007", at, "string longer than 16 MiB");
            mk_diag_label(it, "this string");
            mk_diag_help(it, "keep large data outside the spec; a string holds at most 16 MiB");
            lx->failed = true;
            lx->cur = e;
            return PART_END_TOO_LONG;
        }
        mk_buf_put(out, (const char *)p, adv);
        p += adv;
    }
    lx->cur = e;
    return PART_END_EOF;
}

static const mk_ast_text *arena_text(mk_lexer *lx, const char *s, size_t n)
{
    mk_ast_text *x = mk_arena_alloc(lx->ast->arena, sizeof *x + n + 1);
    x->len = (uint32_t)n;
    memcpy(x->s, s, n);
    x->s[n] = 0;
    return x;
}

static void set_text(mk_lexer *lx, mk_tok *t, mk_buf *b)
{
    t->text = arena_text(lx, b->data ? b->data : "", b->len);
    mk_buf_free(b);
}

static int unterminated(mk_lexer *lx, const mk_lex_frame *f)
{
    mk_span at = {lx->file, f->off, f->off + (f->kind == 'T' ? 3 : 1)};
    mk_diag_item *it = mk_diag_error(lx->diag, "E0002", at, "unterminated string");
    mk_diag_label(it, "string starts here");
    mk_diag_help(it, "close it with `%s`", f->kind == 'T' ? "\"\"\"" : "\"");
    lx->failed = true;
    return 0;
}

/* In string mode: the next piece of a string with interpolations. */
static int string_mode(mk_lexer *lx, mk_tok *t, mk_span *sp)
{
    mk_lex_frame *f = &lx->stack[lx->depth - 1];
    bool triple = f->kind == 'T';
    const unsigned char *start = lx->cur;
    if (*lx->cur == '$' && lx->cur + 1 < lx->lim && lx->cur[1] == '{') {
        lx->cur += 2;
        *sp = span_at(lx, start, lx->cur);
        if (!push(lx, 'I', start))
            return 0;
        return INTERP_OPEN;
    }
    if (lx->cur < lx->lim && *lx->cur == '"') {
        lx->cur += triple ? 3 : 1;
        *sp = span_at(lx, start, lx->cur);
        lx->depth--;
        return STR_CLOSE;
    }
    mk_buf b = {0};
    part_end end = scan_part(lx, triple, f->indent, f->off, &b);
    if (end == PART_END_QUOTE && *lx->cur != '"')
        lx->failed = true; /* unterminated, reported: nothing sensible follows */
    if (end == PART_END_EOF || end == PART_END_TOO_LONG) {
        mk_buf_free(&b);
        return end == PART_END_EOF ? unterminated(lx, f) : 0;
    }
    set_text(lx, t, &b);
    *sp = span_at(lx, start, lx->cur);
    return STR_PART;
}

/* Find the indentation of the line that holds the closing """ of a triple
 * string starting at p (after the opening quotes); 0 if it is not alone. */
static uint32_t triple_indent(const mk_lexer *lx, const unsigned char *p)
{
    const unsigned char *q = p;
    while (q + 2 < lx->lim && !(q[0] == '"' && q[1] == '"' && q[2] == '"'))
        q++;
    if (q + 2 >= lx->lim)
        return 0;
    const unsigned char *ls = q;
    while (ls > p && (ls[-1] == ' ' || ls[-1] == '\t'))
        ls--;
    return ls > p && ls[-1] == '\n' ? (uint32_t)(q - ls) : 0;
}

/* A one-line string of printable ASCII without escapes or `$` (most of
 * them): its text is the source's, copied once into the arena with no
 * decoding. Leaves lx->cur alone and returns false for any other string. */
static bool plain_string(mk_lexer *lx, mk_tok *t)
{
    const unsigned char *p = lx->cur, *e = lx->lim;
    while (p < e && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '$')
        p++;
    if (p == e || *p != '"' || (size_t)(p - lx->cur) > MAX_STRING)
        return false;
    t->text = arena_text(lx, (const char *)lx->cur, (size_t)(p - lx->cur));
    lx->cur = p + 1;
    return true;
}

/* At an opening quote: a whole STRING when it holds no `${`, else STR_OPEN.
 * note [triple strings]: a `"""` string is a heredoc. The newline right after
 * the opening quotes is not part of it, the indentation of the line holding
 * the closing quotes is taken from every line, and the last line's newline
 * stays, as in a shell or Ruby heredoc or a YAML `|` block: the text is what
 * a file with those lines would hold. Closing quotes at the end of the last
 * line leave the newline out. */
static int open_string(mk_lexer *lx, const unsigned char *start, mk_tok *t, mk_span *sp)
{
    bool triple = lx->lim - start >= 3 && start[1] == '"' && start[2] == '"';
    lx->cur = start + (triple ? 3 : 1);
    uint32_t indent = 0;
    if (triple) {
        indent = triple_indent(lx, lx->cur);
        if (*lx->cur == '\n')
            lx->cur++;
        else if (*lx->cur == '\r' && lx->cur[1] == '\n')
            lx->cur += 2;
        for (uint32_t k = 0; k < indent && (*lx->cur == ' ' || *lx->cur == '\t'); k++)
            lx->cur++;
    }
    const unsigned char *body = lx->cur;
    if (!triple && plain_string(lx, t)) {
        *sp = span_at(lx, start, lx->cur);
        return STRING;
    }
    mk_buf b = {0};
    part_end end = scan_part(lx, triple, indent, (uint32_t)(start - lx->base), &b);
    if (end == PART_END_QUOTE && *lx->cur == '"') {
        set_text(lx, t, &b);
        lx->cur += triple ? 3 : 1;
        *sp = span_at(lx, start, lx->cur);
        return STRING;
    }
    mk_buf_free(&b);
    if (end == PART_END_TOO_LONG)
        return 0;
    if (end == PART_END_QUOTE) { /* unterminated, reported: recover at line end */
        t->text = arena_text(lx, "", 0);
        *sp = span_at(lx, start, lx->cur);
        return STRING;
    }
    lx->cur = body;
    if (end == PART_END_EOF) {
        mk_lex_frame f = {triple ? 'T' : 'S', (uint32_t)(start - lx->base), indent};
        return unterminated(lx, &f);
    }
    if (!push(lx, triple ? 'T' : 'S', start))
        return 0;
    lx->stack[lx->depth - 1].indent = indent;
    *sp = span_at(lx, start, body);
    return STR_OPEN;
}

static int block_comment(mk_lexer *lx, const unsigned char *start)
{
    const unsigned char *p = start + 2;
    while (p + 1 < lx->lim && !(p[0] == '*' && p[1] == '/'))
        p++;
    if (p + 1 >= lx->lim) {
        mk_diag_item *it = mk_diag_error(lx->diag, "E0003", span_at(lx, start, start + 2), "unterminated comment");
        mk_diag_help(it, "close it with `*/`");
        lx->cur = lx->lim;
        lx->failed = true;
        return 0;
    }
    lx->cur = p + 2;
    return COMMENT;
}

static int scan(mk_lexer *lx, mk_tok *t, mk_span *sp)
{
    const unsigned char *YYCURSOR = lx->cur, *YYLIMIT = lx->lim, *YYMARKER = NULL;
    for (;;) {
        const unsigned char *tok = YYCURSOR;
#define TOK(k) do { lx->cur = YYCURSOR; *sp = span_at(lx, tok, YYCURSOR); return (k); } while (0)
        /*!re2c
        re2c:define:YYCTYPE = "unsigned char";
        re2c:yyfill:enable = 0;
        re2c:eof = 0;

        digits = [0-9] [0-9_]*;
        expo   = [eE] [+-]? [0-9]+;
        frac   = digits "." [0-9] [0-9_]* expo?;
        ident  = [A-Za-z_] [A-Za-z0-9_]*;

        $ { lx->cur = tok; *sp = span_at(lx, tok, tok); return 0; }
        "'" [^'\n]* "'" {
            mk_diag_item *it = mk_diag_error(lx->diag, "E0001", span_at(lx, tok, YYCURSOR), "strings are written in double quotes");
            mk_diag_label(it, "write \"%.*s\"", (int)(YYCURSOR - tok - 2), tok + 1);
            t->text = arena_text(lx, (const char *)tok + 1, (size_t)(YYCURSOR - tok - 2));
            TOK(STRING);
        }
        * {
            size_t adv = 1;
            bool ok = utf8_ok(tok, YYLIMIT, &adv);
            if (*tok == 0) { /* reported by mk_lex_init */
                YYCURSOR = tok + 1;
                continue;
            }
            mk_diag_item *it = mk_diag_error(lx->diag, ok ? "E0001" : "E0006", span_at(lx, tok, tok + adv),
                *tok == 0 ? "unexpected NUL byte" : ok ? "unexpected character `%.*s`" : "invalid UTF-8",
                (int)adv, tok);
            if (*tok == '\'')
                mk_diag_help(it, "strings are written in double quotes");
            YYCURSOR = tok + adv;
            continue;
        }
        [ \t\r\f\v]+ { continue; }
        "\n" {
            char k = top(lx);
            if ((k == 0 || k == '{') && can_end(lx->last)) TOK(NEWLINE);
            continue;
        }
        ("#" | "//") [^\n]* {
            if (lx->comments) TOK(COMMENT);
            continue;
        }
        "/*" {
            int r = block_comment(lx, tok);
            if (r && lx->comments) { *sp = span_at(lx, tok, lx->cur); return r; }
            if (!r) { *sp = span_at(lx, lx->cur, lx->cur); return 0; }
            YYCURSOR = lx->cur;
            continue;
        }
        "\"" { return open_string(lx, tok, t, sp); }

        "stack"    { TOK(KW_STACK); }
        "import"   { TOK(KW_IMPORT); }
        "var"      { TOK(KW_VAR); }
        "let"      { TOK(KW_LET); }
        "provider" { TOK(KW_PROVIDER); }
        "resource" { TOK(KW_RESOURCE); }
        "output"   { TOK(KW_OUTPUT); }
        "module"   { TOK(KW_MODULE); }
        "type"     { TOK(KW_TYPE); }
        "policy"   { TOK(KW_POLICY); }
        "test"     { TOK(KW_TEST); }
        "for"      { TOK(KW_FOR); }
        "in"       { TOK(KW_IN); }
        "if"       { TOK(KW_IF); }
        "else"     { TOK(KW_ELSE); }
        "where"    { TOK(KW_WHERE); }
        "assert"   { TOK(KW_ASSERT); }
        "require"  { TOK(KW_REQUIRE); }
        "expect"   { TOK(KW_EXPECT); }
        "true"     { TOK(KW_TRUE); }
        "false"    { TOK(KW_FALSE); }
        "null"     { TOK(KW_NULL); }
        ident      { t->name = mk_intern_n(lx->ast->names, (const char *)tok, (size_t)(YYCURSOR - tok)); TOK(IDENT); }

        digits {
            if (!parse_int(tok, YYCURSOR, &t->ival)) { number_error(lx, tok, YYCURSOR, "integer literal out of range"); t->ival = 0; }
            TOK(INT);
        }
        frac | digits expo {
            if (!parse_double(tok, YYCURSOR, &t->num)) {
                float_error(lx, tok, YYCURSOR);
                t->num = 0;
            }
            TOK(NUMBER);
        }
        (digits | frac) [A-Za-z_] [A-Za-z0-9_]* {
            int k = unit_literal(lx, tok, YYCURSOR, t);
            TOK(k);
        }
        "$" digits ("." [0-9]+)? { money_literal(lx, tok, YYCURSOR, t); TOK(MONEY); }

        "==" { TOK(EQ); }
        "!=" { TOK(NE); }
        "<=" { TOK(LE); }
        ">=" { TOK(GE); }
        "&&" { TOK(AND); }
        "||" { TOK(OR); }
        "=>" { TOK(ARROW); }
        [-+*/%!<>=?:.,;@] { TOK(*tok); }
        "(" { if (!push(lx, '(', tok)) TOK(0); TOK('('); }
        "[" { if (!push(lx, '[', tok)) TOK(0); TOK('['); }
        "{" { if (!push(lx, '{', tok)) TOK(0); TOK('{'); }
        ")" | "]" | "}" {
            char want = *tok == ')' ? '(' : *tok == ']' ? '[' : '{';
            char k = top(lx);
            if (*tok == '}' && k == 'I') { lx->depth--; TOK(INTERP_CLOSE); }
            if (k == want) lx->depth--;
            TOK(*tok);
        }
        */
#undef TOK
    }
}

int mk_lex_next(mk_lexer *lx, mk_tok *t, mk_span *sp)
{
    memset(t, 0, sizeof *t);
    if (lx->failed) {
        *sp = span_at(lx, lx->lim, lx->lim);
        return 0;
    }
    char k = top(lx);
    int tok = (k == 'S' || k == 'T') ? string_mode(lx, t, sp) : scan(lx, t, sp);
    if (tok == COMMENT)
        return tok;
    if (tok == 0 && !lx->failed && lx->last != NEWLINE && lx->last != 0 && can_end(lx->last) &&
        (top(lx) == 0 || top(lx) == '{')) {
        /* a file that ends without a newline still ends its last item */
        lx->last = NEWLINE;
        *sp = span_at(lx, lx->cur, lx->cur);
        return NEWLINE;
    }
    /* after a dot a keyword is an attribute name (`r.type`): it can end a line */
    lx->last = lx->last == '.' && tok >= KW_STACK && tok <= KW_NULL ? IDENT : tok;
    return tok;
}
