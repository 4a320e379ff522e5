/* md and CI paths: untrusted text in markdown can neither break a table nor
 * reach a comment as HTML, a code span survives any run of backticks, and
 * CI formats name files from the repository root or --path-prefix. */
#include "tests/unit/unit.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/back/md.h"
#include "compiler/back/policy_out.h"

static char *text(const char *s)
{
    static char out[1024];
    mk_buf b = {0};
    mk_md_text(&b, s);
    snprintf(out, sizeof out, "%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
    return out;
}

static char *code(const char *s, int table)
{
    static char out[1024];
    mk_buf b = {0};
    mk_md_code(&b, s, table);
    snprintf(out, sizeof out, "%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
    return out;
}

static void test_text_escapes_html_and_tables(void **state)
{
    (void)state;
    assert_string_equal(text("a|b"), "a\\|b");
    assert_string_equal(text("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_string_equal(text("x & y"), "x &amp; y");
    assert_string_equal(text("one\ntwo\r\n"), "one<br>two<br>");
    assert_string_equal(text("**b** [l](u) `c` _i_ ~s~"), "\\*\\*b\\*\\* \\[l\\](u) \\`c\\` \\_i\\_ \\~s\\~");
    assert_string_equal(text("tab\there"), "tab here");
    assert_string_equal(text("plain words, 10.0.0.0/16"), "plain words, 10.0.0.0/16");
}

static void test_code_spans(void **state)
{
    (void)state;
    assert_string_equal(code("bucket.a", 1), "`bucket.a`");
    assert_string_equal(code("a|b", 1), "`a\\|b`");
    assert_string_equal(code("a|b", 0), "`a|b`");
    assert_string_equal(code("tick`tock", 1), "``tick`tock``");
    assert_string_equal(code("``x", 1), "``` ``x ```");
    assert_string_equal(code("two\nlines", 1), "`two lines`");
    assert_string_equal(code("<b>", 1), "`<b>`"); /* a code span shows HTML as text */
    assert_string_equal(code("", 1), "`  `"); /* spaces only: shown as they are */
}

static void test_paths_from_the_repository_root(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/moksha-md-XXXXXX", old[PATH_MAX], out[PATH_MAX];
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(getcwd(old, sizeof old));
    char p[PATH_MAX + 64];
    const char *dirs[] = {"/.git", "/infra", "/infra/shop", "/org", "/org/policies"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s%s", tmpl, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    const char *files[] = {"/infra/shop/main.moksha", "/org/policies/x.moksha"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s%s", tmpl, files[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
    }
    snprintf(p, sizeof p, "%s/infra/shop", tmpl);
    assert_int_equal(chdir(p), 0);
    mk_policy_out_path("main.moksha", NULL, out, sizeof out);
    assert_string_equal(out, "infra/shop/main.moksha");
    mk_policy_out_path("../../org/policies/x.moksha", NULL, out, sizeof out);
    assert_string_equal(out, "org/policies/x.moksha");
    mk_policy_out_path("./main.moksha", "deploy/shop/", out, sizeof out);
    assert_string_equal(out, "deploy/shop/main.moksha");
    mk_policy_out_path("../../org/policies/x.moksha", "deploy/shop", out, sizeof out);
    assert_string_equal(out, "org/policies/x.moksha");
    mk_policy_out_path("main.moksha", ".", out, sizeof out);
    assert_string_equal(out, "main.moksha");
    mk_policy_out_path("policies/security/x.moksha", NULL, out, sizeof out); /* no such file here: a stdlib name */
    assert_string_equal(out, "policies/security/x.moksha");
    assert_int_equal(chdir(old), 0);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escapes_html_and_tables),
        cmocka_unit_test(test_code_spans),
        cmocka_unit_test(test_paths_from_the_repository_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
