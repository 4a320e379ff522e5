/* jspan — where the members of a JSON object and the elements of an array
 * begin and end in a buffer, found without reading the values: what lets
 * the executor verify a plan from its bytes and parse a change only from
 * its own span (runtime/planfile.c). It is not a parser: it checks no
 * syntax inside a value and decodes nothing; its answers are boundaries,
 * and what is read from them is read by jansson (note [spans], jspan.c).
 * It borrows the text; it allocates nothing. */
#ifndef MK_RUNTIME_JSPAN_H
#define MK_RUNTIME_JSPAN_H

#include <stdbool.h>
#include <stddef.h>

/* A walk over the object or array that opens at some byte of s[0..n). */
typedef struct mk_jspan {
    const char *s;
    size_t n;
    size_t i;     /* after the opener, or after the last item */
    size_t count; /* items so far */
    size_t depth; /* how deep the container sits in the document: 1 for its top */
    char close;   /* '}' or ']' */
} mk_jspan;

/* One item: for an object, its key's raw bytes between the quotes
 * (escapes not decoded); the value's bytes at s[at], len long. */
typedef struct mk_jspan_item {
    size_t key, keylen;
    size_t at, len;
} mk_jspan_item;

/* jansson's limit on nesting, which a walk keeps to as well: containers
 * nested deeper than this in the document are refused. */
#define MK_JSPAN_MAX_DEPTH 2048

/* Start a walk over the object ('{') or array ('[') at s[at] (blanks
 * before it skipped), depth deep in its document (1: the top); false when
 * what is there is not one. */
bool mk_jspan_open(mk_jspan *w, const char *s, size_t n, size_t at, char kind, size_t depth);
/* The next item: 1 with *it, 0 at the closer (w->i is then one past it),
 * -1 when the text is not an object or array there. */
int mk_jspan_next(mk_jspan *w, mk_jspan_item *it);
/* As mk_jspan_next, but the value is not scanned: it->len is 0, and the
 * caller, having found where the value ends (a walk of its own over it),
 * says so with mk_jspan_done. */
int mk_jspan_peek(mk_jspan *w, mk_jspan_item *it);
void mk_jspan_done(mk_jspan *w, mk_jspan_item *it, size_t end);
/* One past the end of the value at s[at], depth deep in its document, or
 * 0 when no value ends in s[0..n) (or it nests past MK_JSPAN_MAX_DEPTH). */
size_t mk_jspan_value_end(const char *s, size_t n, size_t at, size_t depth);

#endif
