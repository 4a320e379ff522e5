/* errmsg — how the executor words its errors: one "moksha-exec: error: …"
 * form on stderr, and failed JSON parses in our words, never jansson's. */
#ifndef MK_RUNTIME_ERRMSG_H
#define MK_RUNTIME_ERRMSG_H

#include <stddef.h>

/* Print "moksha-exec: error: WHY" on stderr, or "moksha-exec: error[CODE]: …"
 * when WHY already starts with its own "error[CODE]: ". */
void mk_errmsg_print(const char *why);
/* A failed jansson parse of what (a path) in our words, never jansson's:
 * "WHAT:LINE:COL: the JSON ends early…" into out (note [json errors] in
 * compiler/base/jsonfile.c has the compiler's copy). text, len: what was parsed. */
struct json_error_t;
void mk_errmsg_json(const char *what, const struct json_error_t *je, const char *text, size_t len, char *out,
                    size_t n);

#endif
