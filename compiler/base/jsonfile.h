/* jsonfile — JSON documents read from files (plans, state, catalogs), and
 * jansson's parse errors in our words. The caller owns what it returns. */
#ifndef MK_JSONFILE_H
#define MK_JSONFILE_H

#include <jansson.h>
#include <stddef.h>

/* What went wrong, in a few words of ours ("the JSON ends early …"). */
const char *mk_jsonfile_why(const json_error_t *je);
/* A failed parse of what (a file's path, or a name) in our words, never
 * jansson's (note [json errors]): "WHAT:LINE:COL: the JSON ends early…"
 * into out. text, len: what was parsed (NULL when jansson read the file). */
void mk_jsonfile_parse_error(const char *what, const json_error_t *je, const char *text, size_t len, char *out, size_t n);
/* A JSON file (flags as json_loadb's); NULL with "PATH: why" in why when it
 * cannot be read or parsed. The caller owns the document. */
json_t *mk_jsonfile_load(const char *path, size_t flags, char *why, size_t n);

#endif
