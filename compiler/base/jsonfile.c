/* jsonfile — reading a JSON document whole from a file, and a failed
 * parse told in our words (note [json errors]). Values are not its
 * business: front/vjson converts between values and JSON. */
#include "compiler/base/jsonfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/buf.h"

/* note [json errors]: jansson's texts ("'[' or '{' expected near end of
 * file", "(line -1)", "input error") speak of its parser, not of the file;
 * the executor has its own copy of these words (runtime/util.c). */
const char *mk_jsonfile_why(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory: return "out of memory while reading it";
    case json_error_stack_overflow: return "nested deeper than 2048 levels";
    case json_error_cannot_open_file: return "cannot be opened";
    case json_error_invalid_utf8: return "not valid UTF-8";
    case json_error_premature_end_of_input: return "the JSON ends early";
    case json_error_end_of_input_expected: return "text after the end of the JSON document";
    case json_error_null_character: return "a NUL character in a string";
    case json_error_duplicate_key: return "a key appears twice in one object";
    case json_error_numeric_overflow: return "a number out of range";
    default: return "not valid JSON";
    }
}

void mk_jsonfile_parse_error(const char *what, const json_error_t *je, const char *text, size_t len, char *out, size_t n)
{
    bool blank = text != NULL;
    for (size_t i = 0; blank && i < len; i++)
        blank = strchr(" \t\r\n", text[i]) && text[i];
    if (blank)
        snprintf(out, n, "%s: empty, not a JSON document", what);
    else if (je->line > 0)
        snprintf(out, n, "%s:%d:%d: %s%s", what, je->line, je->column > 0 ? je->column : 1, mk_jsonfile_why(je),
                 json_error_code(je) == json_error_premature_end_of_input ? " (is the file cut short?)" : "");
    else
        snprintf(out, n, "%s: %s", what, mk_jsonfile_why(je));
}

json_t *mk_jsonfile_load(const char *path, size_t flags, char *why, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, n, "%s: %s", path, strerror(errno));
        return NULL;
    }
    mk_buf text = {0};
    char chunk[1 << 16];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        mk_buf_put(&text, chunk, got);
    int err = ferror(f) ? errno : 0; /* a directory opens, then does not read */
    fclose(f);
    json_error_t je;
    json_t *doc = err ? NULL : json_loadb(text.data ? text.data : "", text.len, flags, &je);
    if (err)
        snprintf(why, n, "%s: %s", path, strerror(err));
    else if (!doc)
        mk_jsonfile_parse_error(path, &je, text.data ? text.data : "", text.len, why, n);
    mk_buf_free(&text);
    return doc;
}
