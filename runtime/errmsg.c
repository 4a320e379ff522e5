/* errmsg — the executor's error messages: one "moksha-exec: error: …" form
 * on stderr, and a failed JSON parse said in our words, never jansson's. */
#include "runtime/errmsg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *json_why(const json_error_t *je)
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

void mk_errmsg_json(const char *what, const json_error_t *je, const char *text, size_t len, char *out, size_t n)
{
    bool blank = text != NULL;
    for (size_t i = 0; blank && i < len; i++)
        blank = text[i] && strchr(" \t\r\n", text[i]);
    if (blank)
        snprintf(out, n, "%s: empty, not a JSON document", what);
    else if (je->line > 0)
        snprintf(out, n, "%s:%d:%d: %s%s", what, je->line, je->column > 0 ? je->column : 1, json_why(je),
                 json_error_code(je) == json_error_premature_end_of_input ? " (is the file cut short?)" : "");
    else
        snprintf(out, n, "%s: %s", what, json_why(je));
}

void mk_errmsg_print(const char *why)
{
    if (strncmp(why, "error[", 6) == 0)
        fprintf(stderr, "moksha-exec: %s\n", why);
    else
        fprintf(stderr, "moksha-exec: error: %s\n", why);
}
