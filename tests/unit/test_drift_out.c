/* drift_out: a refresh report (moksha.drift/v1) in words — the summary
 * sentence for each mix of counts, one line a resource as the plan's drift
 * section says it, values shown as the state writes them (references by
 * address, secrets never, long values cut on a character), and markdown
 * that untrusted addresses and reasons cannot break. */
#include "tests/unit/unit.h"

#include <jansson.h>

#include "compiler/back/drift_out.h"

static json_t *report(const char *text)
{
    json_error_t e;
    json_t *r = json_loads(text, 0, &e);
    assert_non_null(r);
    return r;
}

/* what mk_drift_out (or the summary, when format is NULL) says of text */
static char *said(const char *text, const char *format, bool color)
{
    static char out[4096];
    json_t *r = report(text);
    mk_buf b = {0};
    if (format)
        mk_drift_out(r, format, color, &b);
    else
        mk_drift_out_summary(r, &b);
    snprintf(out, sizeof out, "%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
    json_decref(r);
    return out;
}

#define COUNTS(n, s, d, g, u, i) \
    "{\"format\": \"moksha.drift/v1\", \"at\": \"2026-12-01T20:00:00Z\", \"dry_run\": true, \"counts\": {\"resources\": " #n \
    ", \"in_sync\": " #s ", \"drifted\": " #d ", \"gone\": " #g ", \"unreadable\": " #u ", \"ignored\": " #i "}, "

static const char MIXED[] = COUNTS(40, 36, 2, 1, 1, 0) "\"resources\": ["
    "{\"address\": \"compute.web[1]\", \"type\": \"compute\", \"provider\": \"sim\", \"status\": \"drifted\", \"mode\": \"correct\","
    " \"attributes\": [\"size\", \"network\"], \"recorded\": {\"size\": \"small\", \"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}},"
    " \"observed\": {\"size\": \"large\"}},"
    "{\"address\": \"local.file.motd\", \"type\": \"local.file\", \"provider\": \"local\", \"status\": \"drifted\", \"mode\": \"report\","
    " \"attributes\": [\"mode\"], \"recorded\": {\"mode\": \"0644\"}, \"observed\": {\"mode\": null}},"
    "{\"address\": \"bucket.logs\", \"type\": \"bucket\", \"provider\": \"sim\", \"status\": \"gone\", \"mode\": \"correct\"},"
    "{\"address\": \"queue.jobs\", \"type\": \"queue\", \"provider\": \"sim\", \"status\": \"unreadable\", \"error\": \"permission denied\"}"
    "], \"imports\": []}";

static void test_summary_for_each_mix(void **state)
{
    (void)state;
    assert_string_equal(said(COUNTS(6, 6, 0, 0, 0, 0) "\"resources\": []}", NULL, false),
                        "No drift: all 6 resources read back as recorded.");
    assert_string_equal(said(COUNTS(1, 1, 0, 0, 0, 0) "\"resources\": []}", NULL, false),
                        "No drift: the 1 resource read back as recorded.");
    assert_string_equal(said(COUNTS(0, 0, 0, 0, 0, 0) "\"resources\": []}", NULL, false),
                        "No drift: the state records no resources.");
    assert_string_equal(said(MIXED, NULL, false),
                        "Drift: 3 of 40 resources changed outside moksha (2 changed, 1 gone); 1 of 40 could not be read.");
    assert_string_equal(said(COUNTS(5, 3, 0, 0, 1, 1) "\"resources\": []}", NULL, false),
                        "No drift seen, but not everything could be read; 1 of 5 could not be read; 1 ignored "
                        "(lifecycle drift = \"ignore\").");
}

static void test_text_lines(void **state)
{
    (void)state;
    assert_string_equal(said(MIXED, "text", false),
                        "Drift: 3 of 40 resources changed outside moksha (2 changed, 1 gone); 1 of 40 could not be read.\n"
                        "\n"
                        "  - bucket.logs was deleted outside moksha\n"
                        "  ~ compute.web[1] changed outside moksha: size \"small\" → \"large\", network network.main → (absent)\n"
                        "  ~ local.file.motd changed outside moksha: mode \"0644\" → null (drift = \"report\": not corrected)\n"
                        "  ? queue.jobs could not be read: permission denied\n");
    assert_string_equal(said(COUNTS(2, 2, 0, 0, 0, 0) "\"resources\": []}", "text", false),
                        "No drift: all 2 resources read back as recorded.\n");
}

static void test_text_colour_marks_only(void **state)
{
    (void)state;
    const char *r = COUNTS(1, 0, 0, 1, 0, 0) "\"resources\": [{\"address\": \"bucket.b\", \"status\": \"gone\"}], \"imports\": []}";
    assert_non_null(strstr(said(r, "text", true), "  \033[31m-\033[0m bucket.b was deleted outside moksha\n"));
    assert_null(strstr(said(r, "text", false), "\033"));
}

static void test_values_secrets_and_long_text(void **state)
{
    (void)state;
    char big[512], text[1024];
    memset(big, 'a', 78);
    snprintf(big + 78, sizeof big - 78, "é and more after the cut");
    snprintf(text, sizeof text, COUNTS(1, 0, 1, 0, 0, 0) "\"resources\": [{\"address\": \"database.db\", \"status\": \"drifted\","
             " \"attributes\": [\"password\", \"content\"], \"recorded\": {\"password\": {\"$secret\": {\"sealed\": \"QUJD\","
             " \"fingerprint\": \"ff\"}}, \"content\": \"x\"}, \"observed\": {\"password\": {\"$secret\": {\"differs\": true}},"
             " \"content\": \"%s\"}}]}", big);
    const char *s = said(text, "text", false);
    assert_non_null(strstr(s, "password (sensitive) → (sensitive, changed), content \"x\" → \"aaaa"));
    assert_null(strstr(s, "QUJD"));
    assert_null(strstr(s, "after the cut"));
    /* the cut falls before é's two bytes, not between them */
    assert_non_null(strstr(s, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\n"));
}

/* A secret inside a map: the whole attribute is hidden on both sides, so
 * neither its other parts nor a plain value read where the secret was
 * are shown. */
static void test_nested_secret_hidden(void **state)
{
    (void)state;
    const char *r = COUNTS(1, 0, 1, 0, 0, 0) "\"resources\": [{\"address\": \"compute.web\", \"status\": \"drifted\","
        " \"attributes\": [\"tags\"], \"recorded\": {\"tags\": {\"token\": {\"$secret\": {\"sealed\": \"QUJD\"}},"
        " \"team\": \"a\"}}, \"observed\": {\"tags\": {\"token\": \"PLAIN-LEAK\", \"team\": \"a\"}}}]}";
    const char *s = said(r, "text", false);
    assert_non_null(strstr(s, "tags (sensitive) → (sensitive, changed)"));
    assert_null(strstr(s, "PLAIN-LEAK"));
    assert_null(strstr(said(r, "markdown", false), "PLAIN-LEAK"));
}

static void test_markdown_table(void **state)
{
    (void)state;
    const char *r = COUNTS(3, 1, 1, 0, 1, 0) "\"resources\": ["
        "{\"address\": \"compute.a|b\", \"status\": \"drifted\", \"attributes\": [\"size\"], \"recorded\": {\"size\": \"s\"},"
        " \"observed\": {\"size\": \"l`x\"}},"
        "{\"address\": \"queue.q\", \"status\": \"unreadable\", \"error\": \"<b>denied</b>\"}]}";
    assert_string_equal(said(r, "markdown", false),
                        "### moksha drift\n"
                        "\n"
                        "Drift: 1 of 3 resources changed outside moksha (1 changed, 0 gone); 1 of 3 could not be read.\n"
                        "\n"
                        "| | resource | outside moksha |\n"
                        "|---|---|---|\n"
                        "| ~ | `compute.a\\|b` | changed: `size` `\"s\"` → ``\"l`x\"`` |\n"
                        "| ? | `queue.q` | could not be read: &lt;b&gt;denied&lt;/b&gt; |\n"
                        "\n"
                        "Read from the providers at `2026-12-01T20:00:00Z`.\n");
}

static void test_is_report(void **state)
{
    (void)state;
    json_t *good = report(COUNTS(0, 0, 0, 0, 0, 0) "\"resources\": []}");
    json_t *other = report("{\"format\": \"moksha.plan/v1\", \"counts\": {}, \"resources\": []}");
    json_t *torn = report("{\"format\": \"moksha.drift/v1\", \"resources\": []}");
    assert_true(mk_drift_out_is_report(good));
    assert_false(mk_drift_out_is_report(other));
    assert_false(mk_drift_out_is_report(torn));
    assert_false(mk_drift_out_is_report(NULL));
    json_decref(good), json_decref(other), json_decref(torn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_for_each_mix), cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_text_colour_marks_only), cmocka_unit_test(test_values_secrets_and_long_text),
        cmocka_unit_test(test_nested_secret_hidden),
        cmocka_unit_test(test_markdown_table), cmocka_unit_test(test_is_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
