/* diag — the one diagnostics module. Passes report errors here, with a
 * stable code and a span; nothing is printed until mk_diag_print, which sorts
 * by position, drops exact repeats (count/for_each instances share spans) and
 * renders GNU-style text with source and caret lines, or JSON.
 *
 * Errors are counted, never fatal. A pass that meets a poisoned value (see
 * value.h) stays silent, so one mistake gives one diagnostic.
 * The catalogue of codes is docs/diagnostics.md. */
#ifndef MK_DIAG_H
#define MK_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "compiler/base/source.h"

typedef enum { MK_DIAG_ERROR, MK_DIAG_WARNING, MK_DIAG_NOTE } mk_diag_level;

typedef struct mk_diag_item mk_diag_item;
typedef struct mk_diag mk_diag;

mk_diag *mk_diag_new(mk_srcset *src);
void mk_diag_free(mk_diag *d);

/* Report at span. The returned item (owned by d) takes a label (the text after
 * the caret), help and notes. A NULL span file of UINT32_MAX means no location. */
mk_diag_item *mk_diag_report(mk_diag *d, mk_diag_level lvl, const char *code, mk_span at,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define mk_diag_error(d, code, at, ...) mk_diag_report((d), MK_DIAG_ERROR, (code), (at), __VA_ARGS__)
#define mk_diag_warn(d, code, at, ...) mk_diag_report((d), MK_DIAG_WARNING, (code), (at), __VA_ARGS__)
void mk_diag_label(mk_diag_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mk_diag_help(mk_diag_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A note, optionally pointing at a second place (pass a span with file UINT32_MAX for none). */
void mk_diag_note(mk_diag_item *it, mk_span at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Move every diagnostic of from (reported on another thread) into to, as if
 * reported there now; from is left empty. */
void mk_diag_take(mk_diag *to, mk_diag *from);

int mk_diag_errors(const mk_diag *d);
/* Error reports, repeats included: a pass compares it before and after a
 * piece of work to learn whether that work met an error someone already
 * reported at the same place (a policy run per resource, a test per case). */
int mk_diag_reports(const mk_diag *d);
/* The last error reported, repeats included (msg is NULL past the limit);
 * borrowed until the next report. False when there was none. */
bool mk_diag_last_error(const mk_diag *d, const char **code, const char **msg, mk_span *at);
/* How many recorded diagnostics carry this code (tests use it). */
int mk_diag_count(const mk_diag *d, const char *code);
int mk_diag_warnings(const mk_diag *d);
/* Stop recording after this many errors (default 100); the count goes on. */
void mk_diag_set_limit(mk_diag *d, int max);

typedef enum { MK_DIAG_TEXT, MK_DIAG_JSON } mk_diag_format;
void mk_diag_print(mk_diag *d, FILE *out, mk_diag_format fmt, bool color);
/* As text, only what no earlier print showed: a command that printed, then
 * priced, says what pricing added (W0004) without repeating the rest. */
void mk_diag_print_new(mk_diag *d, FILE *out, bool color);

extern const mk_span MK_NOSPAN;

/* "did you mean": the candidate closest to name by edit distance, or NULL
 * when none is close enough. */
const char *mk_diag_suggest(const char *name, const char *const *cands, size_t n);

#endif
