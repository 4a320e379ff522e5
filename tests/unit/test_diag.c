/* Diagnostics: the GNU-style text (file:line:col, the source line and the
 * caret line under the span's columns, help and notes), colour only when
 * asked, the JSON form, ordering and repeats, counts and the limit, moving
 * diagnostics between sets, and "did you mean". Everything is rendered into
 * memory and compared byte for byte; the goldens show the same through the
 * compiler's passes. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/source.h"

static mk_srcset SRC;
static mk_diag *D;
static char *OUT;

static int setup(void **state)
{
    (void)state;
    mk_src_init(&SRC);
    D = mk_diag_new(&SRC);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_diag_free(D);
    mk_src_fini(&SRC);
    free(OUT);
    OUT = NULL;
    return 0;
}

static uint32_t file(const char *name, const char *text) { return mk_src_add(&SRC, name, text, strlen(text)); }

/* The span of the first `needle` in a file's text. */
static mk_span span_of(uint32_t id, const char *needle)
{
    const char *text = mk_src_get(&SRC, id)->text, *at = strstr(text, needle);
    if (!at)
        fail_msg("no `%s` in the source", needle);
    return (mk_span){id, (uint32_t)(at - text), (uint32_t)(at - text + strlen(needle))};
}

/* What mk_diag_print writes, as a string (owned here until teardown). */
static const char *render(mk_diag *d, mk_diag_format fmt, bool color)
{
    free(OUT);
    size_t n = 0;
    FILE *f = open_memstream(&OUT, &n);
    assert_non_null(f);
    mk_diag_print(d, f, fmt, color);
    fclose(f);
    return OUT;
}

static const char *text(void) { return render(D, MK_DIAG_TEXT, false); }

/* ---- the text form ---- */

/* file:line:col, the level and code, the message; the source line under a
 * five-wide line number, the caret line under the span with its label; then
 * help and notes, a note with a place of its own in full. */
static void test_text_form(void **state)
{
    (void)state;
    uint32_t f = file("main.moksha", "let n = 2\nresource compute web {\n  cpu = \"two\"\n}\n");
    mk_diag_item *it = mk_diag_error(D, "E0200", span_of(f, "\"two\""), "cpu must be an int, not a string");
    mk_diag_label(it, "a string");
    mk_diag_help(it, "write a number: cpu = 2");
    mk_diag_note(it, span_of(f, "n"), "n is an int");
    mk_diag_note(it, MK_NOSPAN, "cpu is the number of vCPUs");
    assert_string_equal(text(),
                        "main.moksha:3:9: error[E0200]: cpu must be an int, not a string\n"
                        "    3 |   cpu = \"two\"\n"
                        "      |         ^^^^^ a string\n"
                        "      = help: write a number: cpu = 2\n"
                        "main.moksha:1:5: note: n is an int\n"
                        "    1 | let n = 2\n"
                        "      |     ^\n"
                        "      = note: cpu is the number of vCPUs\n");
}

/* Without a place: `moksha:` instead of file:line:col, and no source. A
 * diagnostic without a code has no brackets. */
static void test_text_without_place_or_code(void **state)
{
    (void)state;
    mk_diag_item *it = mk_diag_error(D, "E0302", MK_NOSPAN, "the project key cannot be read");
    mk_diag_help(it, "set MOKSHA_KEY");
    mk_diag_warn(D, NULL, MK_NOSPAN, "nothing to do");
    assert_string_equal(text(),
                        "moksha: error[E0302]: the project key cannot be read\n"
                        "      = help: set MOKSHA_KEY\n"
                        "moksha: warning: nothing to do\n");
}

/* Tabs before the span are kept in the caret line, so the caret sits under
 * the span however wide the terminal draws a tab; a column counts a tab as
 * one character. */
static void test_caret_after_tabs(void **state)
{
    (void)state;
    uint32_t f = file("t.moksha", "resource a b {\n\tcpu\t= \"x\"\n}\n");
    mk_diag_error(D, "E0200", span_of(f, "\"x\""), "m");
    assert_string_equal(text(),
                        "t.moksha:2:8: error[E0200]: m\n"
                        "    2 | \tcpu\t= \"x\"\n"
                        "      | \t   \t  ^^^\n");
}

/* Columns and carets count UTF-8 characters, not bytes: one space for `é`
 * before the span, one caret for `ö` in it. */
static void test_caret_after_multibyte(void **state)
{
    (void)state;
    uint32_t f = file("u.moksha", "  name = \"héllo wörld\" + 1\n");
    mk_diag_error(D, "E0204", span_of(f, "1"), "a string plus an int");
    mk_diag_warn(D, "W0100", span_of(f, "wörld"), "w");
    assert_string_equal(text(),
                        "u.moksha:1:17: warning[W0100]: w\n"
                        "    1 |   name = \"héllo wörld\" + 1\n"
                        "      |                 ^^^^^\n"
                        "u.moksha:1:26: error[E0204]: a string plus an int\n"
                        "    1 |   name = \"héllo wörld\" + 1\n"
                        "      |                          ^\n");
}

/* A span over several lines shows its first line, the carets to that
 * line's end; JSON has where it ends. */
static void test_span_over_lines(void **state)
{
    (void)state;
    uint32_t f = file("m.moksha", "let x = foo(a,\n  b)\nlet y = 1\n");
    mk_diag_error(D, "E0130", span_of(f, "foo(a,\n  b)"), "no function foo");
    assert_string_equal(text(),
                        "m.moksha:1:9: error[E0130]: no function foo\n"
                        "    1 | let x = foo(a,\n"
                        "      |         ^^^^^^\n");
    json_t *doc = json_loads(render(D, MK_DIAG_JSON, false), 0, NULL);
    json_t *loc = json_object_get(json_array_get(json_object_get(doc, "diagnostics"), 0), "location");
    assert_int_equal(json_integer_value(json_object_get(loc, "line")), 1);
    assert_int_equal(json_integer_value(json_object_get(loc, "column")), 9);
    assert_int_equal(json_integer_value(json_object_get(loc, "end_line")), 2);
    assert_int_equal(json_integer_value(json_object_get(loc, "end_column")), 5);
    json_decref(doc);
}

/* An empty span at the end of a file (where the parser meets EOF) gets one
 * caret after the last character, on the last line, or on the empty line
 * after a final newline. */
static void test_span_at_end_of_file(void **state)
{
    (void)state;
    uint32_t a = file("a.moksha", "let x = 1"), b = file("b.moksha", "let y = (\n");
    mk_diag_error(D, "E0100", ((mk_span){a, 9, 9}), "expected a newline");
    mk_diag_error(D, "E0100", ((mk_span){b, 10, 10}), "unclosed `(`");
    assert_string_equal(text(),
                        "a.moksha:1:10: error[E0100]: expected a newline\n"
                        "    1 | let x = 1\n"
                        "      |          ^\n"
                        "b.moksha:2:1: error[E0100]: unclosed `(`\n"
                        "    2 | \n"
                        "      | ^\n");
}

/* note [caret window]: a line longer than 160 characters is cut to 40
 * either side of the span, `…` marking what is left out. */
static void test_long_line_window(void **state)
{
    (void)state;
    char line[256];
    memset(line, 'x', 200);
    memcpy(line + 100, "BAD", 3);
    line[200] = '\n';
    line[201] = 0;
    uint32_t f = file("l.moksha", line);
    mk_diag_error(D, "E0101", span_of(f, "BAD"), "m");
    char want[512];
    snprintf(want, sizeof want,
             "l.moksha:1:101: error[E0101]: m\n"
             "    1 | …%.*s…\n"
             "      |  %40s^^^\n",
             83, line + 60, "");
    assert_string_equal(text(), want);
}

/* A message is cut at 1024 bytes, at a character boundary, marked `…`. */
static void test_long_message_cut(void **state)
{
    (void)state;
    char msg[2048];
    memset(msg, 'a', 1023);
    strcpy(msg + 1023, "é and more");
    mk_diag_error(D, "E0200", MK_NOSPAN, "%s", msg);
    const char *code, *m;
    mk_span at;
    assert_true(mk_diag_last_error(D, &code, &m, &at));
    assert_int_equal(strlen(m), 1023 + strlen("…"));
    assert_int_equal(strspn(m, "a"), 1023);
    assert_string_equal(m + 1023, "…");
}

/* Just over the cut, the mark is longer than what it replaces: a message
 * of 1025 or 1026 bytes keeps 1024 and the mark, in memory of its own. */
static void test_message_just_over_the_cut(void **state)
{
    (void)state;
    for (size_t len = 1025; len <= 1027; len++) {
        char msg[1100];
        memset(msg, 'b', len);
        msg[len] = 0;
        mk_diag_error(D, "E0200", MK_NOSPAN, "%s", msg);
        const char *code, *m;
        mk_span at;
        assert_true(mk_diag_last_error(D, &code, &m, &at));
        assert_int_equal(strlen(m), 1024 + strlen("…"));
        assert_int_equal(strspn(m, "b"), 1024);
        assert_string_equal(m + 1024, "…");
    }
    assert_int_equal(mk_diag_errors(D), 1); /* cut alike, they are one message */
}

/* ---- colour ---- */

/* Escape codes only when asked: bold place and message, the level in its
 * colour (red error, yellow warning), blue gutters, carets in the level's
 * colour. */
static void test_colour_only_when_asked(void **state)
{
    (void)state;
    uint32_t f = file("main.moksha", "resource compute web {\n  cpu = \"two\"\n}\n");
    mk_diag_item *it = mk_diag_error(D, "E0200", span_of(f, "\"two\""), "cpu must be an int");
    mk_diag_label(it, "a string");
    mk_diag_help(it, "write a number");
    mk_diag_warn(D, "W0100", MK_NOSPAN, "w");
    assert_null(strchr(text(), '\033'));
    assert_null(strchr(render(D, MK_DIAG_JSON, true), '\033'));
    assert_string_equal(render(D, MK_DIAG_TEXT, true),
                        "\033[1mmain.moksha:2:9:\033[0m \033[1;31merror[E0200]:\033[0m \033[1mcpu must be an int\033[0m\n"
                        "\033[1;34m    2 |\033[0m   cpu = \"two\"\n"
                        "\033[1;34m      |\033[0m         \033[1;31m^^^^^ a string\033[0m\n"
                        "      \033[1;34m=\033[0m \033[1mhelp:\033[0m write a number\n"
                        "\033[1mmoksha:\033[0m \033[1;33mwarning[W0100]:\033[0m \033[1mw\033[0m\n");
}

/* ---- JSON ---- */

static void test_json_form(void **state)
{
    (void)state;
    uint32_t f = file("main.moksha", "let n = 2\nlet m = n + \"x\"\n");
    mk_diag_item *it = mk_diag_error(D, "E0204", span_of(f, "n + \"x\""), "an int plus a string");
    mk_diag_label(it, "here");
    mk_diag_help(it, "convert one side");
    mk_diag_note(it, span_of(f, "n"), "n is an int");
    mk_diag_warn(D, NULL, MK_NOSPAN, "w");
    json_error_t je;
    json_t *doc = json_loads(render(D, MK_DIAG_JSON, false), 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "format")), "moksha.diagnostics/v1");
    assert_int_equal(json_integer_value(json_object_get(doc, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "warnings")), 1);
    json_t *list = json_object_get(doc, "diagnostics");
    assert_int_equal(json_array_size(list), 2);
    json_t *e = json_array_get(list, 0), *w = json_array_get(list, 1); /* no place sorts last */
    assert_string_equal(json_string_value(json_object_get(e, "severity")), "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "E0204");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "an int plus a string");
    assert_string_equal(json_string_value(json_object_get(e, "label")), "here");
    json_t *want = json_pack("{s:s, s:i, s:i, s:i, s:i}", "file", "main.moksha", "line", 2, "column", 9, "end_line", 2,
                             "end_column", 16);
    assert_true(json_equal(json_object_get(e, "location"), want));
    json_decref(want);
    assert_int_equal(json_array_size(json_object_get(e, "help")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "help"), 0)), "convert one side");
    json_t *note = json_array_get(json_object_get(e, "notes"), 0);
    assert_string_equal(json_string_value(json_object_get(note, "message")), "n is an int");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(note, "location"), "line")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(note, "location"), "column")), 5);
    assert_string_equal(json_string_value(json_object_get(w, "severity")), "warning");
    assert_true(json_is_null(json_object_get(w, "code")));
    assert_true(json_is_null(json_object_get(w, "location")));
    assert_null(json_object_get(w, "label"));
    assert_int_equal(json_array_size(json_object_get(w, "help")), 0);
    assert_int_equal(json_array_size(json_object_get(w, "notes")), 0);
    json_decref(doc);
}

/* ---- order, repeats, counts, the limit ---- */

/* By file, then by start; at one place in the order reported. */
static void test_sorted_by_place(void **state)
{
    (void)state;
    uint32_t a = file("a.moksha", "let a = 1\nlet b = 2\n"), b = file("b.moksha", "let c = 3\n");
    mk_diag_error(D, "E1", span_of(b, "c"), "in b");
    mk_diag_error(D, "E2", span_of(a, "b"), "second line of a");
    mk_diag_error(D, "E3", span_of(a, "a"), "a, first");
    mk_diag_warn(D, "W1", span_of(a, "a"), "a, then");
    const char *out = text();
    const char *p1 = strstr(out, "a.moksha:1:5: error[E3]: a, first\n"), *p2 = strstr(out, "a.moksha:1:5: warning[W1]: a, then\n");
    const char *p3 = strstr(out, "a.moksha:2:5: error[E2]: second line of a\n"), *p4 = strstr(out, "b.moksha:1:5: error[E1]: in b\n");
    assert_true(out == p1 && p1 < p2 && p2 < p3 && p3 < p4);
}

/* Count instances repeat a mistake at one place: the same code, span and
 * message is recorded and counted once (the reports count it each time); a
 * different message or code at that place is its own diagnostic. */
static void test_repeats_dropped(void **state)
{
    (void)state;
    uint32_t f = file("main.moksha", "resource compute web { count = 3 }\n");
    mk_span at = span_of(f, "web");
    for (int i = 0; i < 3; i++)
        mk_diag_label(mk_diag_error(D, "E0203", at, "memory is missing"), "instance %d", i);
    mk_diag_error(D, "E0203", at, "cpu is missing");
    mk_diag_error(D, "E0299", at, "cpu is missing");
    assert_int_equal(mk_diag_errors(D), 3);
    assert_int_equal(mk_diag_reports(D), 5);
    assert_int_equal(mk_diag_count(D, "E0203"), 2);
    assert_int_equal(mk_diag_count(D, "E0299"), 1);
    assert_string_equal(text(),
                        "main.moksha:1:18: error[E0203]: memory is missing\n"
                        "    1 | resource compute web { count = 3 }\n"
                        "      |                  ^^^ instance 0\n"
                        "main.moksha:1:18: error[E0203]: cpu is missing\n"
                        "    1 | resource compute web { count = 3 }\n"
                        "      |                  ^^^\n"
                        "main.moksha:1:18: error[E0299]: cpu is missing\n"
                        "    1 | resource compute web { count = 3 }\n"
                        "      |                  ^^^\n");
}

/* Errors and warnings are counted apart; a note is neither. The last error
 * is kept, repeats included. */
static void test_counts_and_last_error(void **state)
{
    (void)state;
    const char *code, *msg;
    mk_span at;
    assert_false(mk_diag_last_error(D, &code, &msg, &at));
    uint32_t f = file("main.moksha", "let a = 1\n");
    mk_diag_error(D, "E0100", span_of(f, "a"), "first");
    mk_diag_error(D, "E0101", span_of(f, "1"), "second");
    mk_diag_warn(D, "W0100", span_of(f, "let"), "careful");
    mk_diag_report(D, MK_DIAG_NOTE, NULL, MK_NOSPAN, "fyi");
    assert_int_equal(mk_diag_errors(D), 2);
    assert_int_equal(mk_diag_warnings(D), 1);
    assert_int_equal(mk_diag_count(D, "W0100"), 1);
    assert_int_equal(mk_diag_count(D, "E0999"), 0);
    assert_true(mk_diag_last_error(D, &code, &msg, &at));
    assert_string_equal(code, "E0101");
    assert_string_equal(msg, "second");
    assert_int_equal(at.start, 8);
    assert_non_null(strstr(text(), "moksha: note: fyi\n"));
}

/* Past the limit, diagnostics are counted, not kept; the text says how
 * many it did not show, the JSON counts them. */
static void test_limit(void **state)
{
    (void)state;
    mk_diag_set_limit(D, 2);
    mk_diag_error(D, "E1", MK_NOSPAN, "one");
    mk_diag_error(D, "E2", MK_NOSPAN, "two");
    mk_diag_help(mk_diag_error(D, "E3", MK_NOSPAN, "three"), "not kept");
    mk_diag_warn(D, "W1", MK_NOSPAN, "four");
    assert_int_equal(mk_diag_errors(D), 3);
    assert_int_equal(mk_diag_warnings(D), 1);
    assert_int_equal(mk_diag_count(D, "E3"), 0);
    const char *code, *msg;
    mk_span at;
    assert_true(mk_diag_last_error(D, &code, &msg, &at));
    assert_string_equal(code, "E3");
    assert_null(msg);
    assert_string_equal(text(),
                        "moksha: error[E1]: one\n"
                        "moksha: error[E2]: two\n"
                        "moksha: 2 more diagnostics not shown\n");
    json_t *doc = json_loads(render(D, MK_DIAG_JSON, false), 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "errors")), 3);
    assert_int_equal(json_array_size(json_object_get(doc, "diagnostics")), 2);
    json_decref(doc);
}

/* ---- moving diagnostics between sets ---- */

/* What another thread reported moves over as if reported here: repeats of
 * what is here are dropped, what the other set only counted stays counted,
 * and the other set is left empty. */
static void test_take(void **state)
{
    (void)state;
    uint32_t f = file("main.moksha", "let a = 1\n");
    mk_diag *from = mk_diag_new(&SRC);
    mk_diag_set_limit(from, 2);
    mk_diag_error(D, "E0100", span_of(f, "a"), "here");
    mk_diag_error(from, "E0100", span_of(f, "a"), "here");      /* a repeat of D's */
    mk_diag_warn(from, "W0100", span_of(f, "let"), "there");
    mk_diag_error(from, "E0300", MK_NOSPAN, "beyond the limit"); /* counted only */
    mk_diag_take(D, from);
    assert_int_equal(mk_diag_errors(D), 2);
    assert_int_equal(mk_diag_warnings(D), 1);
    assert_int_equal(mk_diag_count(D, "E0100"), 1);
    assert_int_equal(mk_diag_count(D, "W0100"), 1);
    assert_int_equal(mk_diag_errors(from), 0);
    assert_int_equal(mk_diag_warnings(from), 0);
    assert_string_equal(render(from, MK_DIAG_TEXT, false), "");
    assert_string_equal(text(),
                        "main.moksha:1:1: warning[W0100]: there\n"
                        "    1 | let a = 1\n"
                        "      | ^^^\n"
                        "main.moksha:1:5: error[E0100]: here\n"
                        "    1 | let a = 1\n"
                        "      |     ^\n"
                        "moksha: 1 more diagnostics not shown\n");
    /* the emptied set takes reports again, and repeats of its old ones */
    mk_diag_error(from, "E0100", span_of(f, "a"), "here");
    assert_int_equal(mk_diag_errors(from), 1);
    mk_diag_free(from);
}

/* Into a full set, what is moved is counted, not kept. */
static void test_take_into_full_set(void **state)
{
    (void)state;
    mk_diag *from = mk_diag_new(&SRC);
    mk_diag_set_limit(D, 1);
    mk_diag_error(D, "E1", MK_NOSPAN, "kept");
    mk_diag_error(from, "E2", MK_NOSPAN, "moved");
    mk_diag_warn(from, "W2", MK_NOSPAN, "moved too");
    mk_diag_take(D, from);
    mk_diag_free(from);
    assert_int_equal(mk_diag_errors(D), 2);
    assert_int_equal(mk_diag_warnings(D), 1);
    assert_int_equal(mk_diag_count(D, "E2"), 0);
    assert_string_equal(text(), "moksha: error[E1]: kept\nmoksha: 2 more diagnostics not shown\n");
}

/* ---- did you mean ---- */

static void test_suggest(void **state)
{
    (void)state;
    const char *const attrs[] = {"cpu", "memory", "image", NULL, "disk"};
    size_t n = sizeof attrs / sizeof *attrs;
    assert_string_equal(mk_diag_suggest("cpus", attrs, n), "cpu");
    assert_string_equal(mk_diag_suggest("imgae", attrs, n), "image");   /* a swap of neighbours is one edit */
    assert_string_equal(mk_diag_suggest("memroy", attrs, n), "memory");
    assert_string_equal(mk_diag_suggest("dsk", attrs, n), "disk");
    assert_null(mk_diag_suggest("mem", attrs, n));                       /* three edits: too far for 3 letters */
    assert_null(mk_diag_suggest("cpu", attrs, n));                       /* itself is no suggestion */
    assert_null(mk_diag_suggest("network", attrs, n));
    assert_null(mk_diag_suggest("cpus", attrs, 0));
    /* within a third of the name's length (at least one edit); ties go to the first */
    const char *const near[] = {"abcdefgzz", "abcdefghz", "abcdefgxy"};
    assert_string_equal(mk_diag_suggest("abcdefghi", near, 3), "abcdefghz");
    assert_string_equal(mk_diag_suggest("abcdefgzy", near, 3), "abcdefgzz");
    assert_string_equal(mk_diag_suggest("abcdefyyy", near + 1, 1), "abcdefghz"); /* three edits of nine letters */
    assert_null(mk_diag_suggest("abcdeyyyy", near + 1, 1));                         /* four */
    const char *const one[] = {"y", "x2"};
    assert_string_equal(mk_diag_suggest("x", one, 2), "y");
    /* names over 64 characters are never close */
    char big[80], big2[80];
    memset(big, 'q', 70);
    big[70] = 0;
    strcpy(big2, big);
    big2[69] = 'r';
    const char *const bigs[] = {big2};
    assert_null(mk_diag_suggest(big, bigs, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_without_place_or_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caret_after_tabs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caret_after_multibyte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_over_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_at_end_of_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_just_over_the_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_colour_only_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sorted_by_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeats_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_last_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_into_full_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suggest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
