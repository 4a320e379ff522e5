/* jspan — the boundaries of JSON values in a buffer, for reading a plan
 * piece by piece (note [spans]). Not a parser: nothing here decides what a
 * value means. */
#include "runtime/jspan.h"

#include <stdint.h>

/* note [spans]: the executor verifies a plan from its bytes and then needs
 * only the top level, the names of each change's fields, and each change's
 * text when it is applied (runtime/planfile.c, note [plan reading]). These
 * functions find where those pieces are, and are safe on any bytes:
 * - every read is of s[i] with i < n, every loop moves i forward, nothing
 *   recurses (a nesting depth is a counter), so any text ends the walk in
 *   one pass, with an answer or a refusal (0, -1), never a guess;
 * - on valid JSON the boundaries are exactly jansson's: a string ends at
 *   the first `"` that no backslash escapes (`\uXXXX` holds only hex), a
 *   container at the bracket that brings the count of brackets outside
 *   strings back to zero, a number or literal at the first byte that cannot
 *   be part of one; blanks between tokens are JSON's four; and nesting is
 *   refused past jansson's depth, counted from the document's top (a
 *   piece parsed alone would be allowed deeper);
 * - on invalid JSON the split may be anywhere, so nothing is taken from a
 *   span unread: a value the executor uses is parsed by jansson from its
 *   span alone (one value, nothing after it), and a key is compared byte
 *   for byte with the names the executor knows (one with an escape is no
 *   name it knows, and is refused). A piece that jansson accepts is valid
 *   JSON, whose end this walk finds exactly, so a text that passes was
 *   split where a whole-document parse would have split it.
 * tests/unit/test_jspan.c compares the walk with jansson on damaged texts;
 * tests/fuzz/fuzz_planfile.c runs the loader on mutated, re-signed plans. */

static bool blank(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    while (i < n && blank(s[i]))
        i++;
    return i;
}

/* s[i] is '"': one past the closing quote, or 0. */
static const uint8_t IN_STRING[256] = {['"'] = 1, ['\\'] = 1};

static size_t string_end(const char *s, size_t n, size_t i)
{
    i++;
    while (i < n) {
        while (i < n && !IN_STRING[(uint8_t)s[i]])
            i++;
        if (i >= n)
            break;
        if (s[i] == '"')
            return i + 1;
        i += 2; /* a backslash and the escaped byte, whatever it is; past n ends the loop */
    }
    return 0;
}

/* A number, true, false or null: letters, digits, '+', '-', '.'. */
static bool scalar_byte(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' || c == '-' ||
           c == '.';
}

/* Bytes a container's walk must look at; the rest it steps over. */
static const uint8_t SPECIAL[256] = {['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1};

static size_t container_end(const char *s, size_t n, size_t i, size_t max)
{
    size_t depth = 0;
    while (i < n) {
        while (i < n && !SPECIAL[(uint8_t)s[i]])
            i++;
        if (i >= n)
            break;
        char c = s[i];
        if (c == '"') {
            if (!(i = string_end(s, n, i)))
                return 0;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (--depth == 0) /* a closer: depth is at least 1 here, the walk began at an opener */
            return i + 1;
        i++;
    }
    return 0;
}

size_t mk_jspan_value_end(const char *s, size_t n, size_t at, size_t depth)
{
    if (at >= n || depth < 1 || depth > MK_JSPAN_MAX_DEPTH)
        return 0;
    if (s[at] == '"')
        return string_end(s, n, at);
    if (s[at] == '{' || s[at] == '[')
        return container_end(s, n, at, MK_JSPAN_MAX_DEPTH - depth + 1);
    size_t i = at;
    while (i < n && scalar_byte(s[i]))
        i++;
    return i > at ? i : 0;
}

bool mk_jspan_open(mk_jspan *w, const char *s, size_t n, size_t at, char kind, size_t depth)
{
    at = skip_blanks(s, n, at);
    *w = (mk_jspan){.s = s, .n = n, .i = at + 1, .close = kind == '{' ? '}' : ']', .depth = depth};
    return at < n && s[at] == kind && (kind == '{' || kind == '[') && depth >= 1 && depth < MK_JSPAN_MAX_DEPTH;
}

int mk_jspan_peek(mk_jspan *w, mk_jspan_item *it)
{
    const char *s = w->s;
    size_t n = w->n, i = skip_blanks(s, n, w->i);
    if (i >= n)
        return -1;
    if (s[i] == w->close) {
        w->i = i + 1;
        return 0;
    }
    if (w->count > 0) {
        if (s[i] != ',')
            return -1;
        i = skip_blanks(s, n, i + 1);
    }
    *it = (mk_jspan_item){0};
    if (w->close == '}') {
        size_t e = i < n && s[i] == '"' ? string_end(s, n, i) : 0;
        if (!e)
            return -1;
        it->key = i + 1, it->keylen = e - i - 2;
        i = skip_blanks(s, n, e);
        if (i >= n || s[i] != ':')
            return -1;
        i = skip_blanks(s, n, i + 1);
    }
    if (i >= n || s[i] == ',' || s[i] == w->close)
        return -1;
    it->at = i;
    return 1;
}

void mk_jspan_done(mk_jspan *w, mk_jspan_item *it, size_t end)
{
    it->len = end - it->at;
    w->i = end;
    w->count++;
}

int mk_jspan_next(mk_jspan *w, mk_jspan_item *it)
{
    int r = mk_jspan_peek(w, it);
    if (r != 1)
        return r;
    size_t end = mk_jspan_value_end(w->s, w->n, it->at, w->depth + 1);
    if (!end)
        return -1;
    mk_jspan_done(w, it, end);
    return 1;
}
