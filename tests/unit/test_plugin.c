/* The plugin protocol's client (runtime/plugin.c), against the plugins of
 * tests/plugins/ and examples/sqlite-plugin/plugins/sqlite run for real: the handshake,
 * a call answered, a crash and a hang failing only their call (the next
 * one starts the plugin again), the environment stripped to what is
 * granted, a granted value redacted, and the folder digest following
 * every byte. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/plugin.h"

static char logged[8192];

static void keep(void *ctx, const char *line)
{
    (void)ctx;
    strncat(logged, line, sizeof logged - strlen(logged) - 2);
    strcat(logged, "\n");
}

static mk_plugin *open_plugin(const char *rel, double timeout_ms, const char *const *env)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", MK_SHARE_DIR, rel);
    mk_plugin_spec spec = {.name = strrchr(rel, '/') + 1, .dir = dir, .timeout_ms = timeout_ms, .env = env,
                           .log = keep};
    return mk_plugin_new(&spec);
}

static json_t *req(const char *type, const char *address)
{
    return json_pack("{ss ss s{si}}", "type", type, "address", address, "attrs", "size", 1);
}

static void test_crash_fails_one_call(void **state)
{
    (void)state;
    mk_plugin *pl = open_plugin("tests/plugins/crash", 5000, NULL);
    json_t *ans = NULL, *r = req("crash.thing", "crash.thing.a");
    char why[512];
    assert_int_equal(mk_plugin_call(pl, "create", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    assert_non_null(strstr(why, "crashed (killed by signal 9)"));
    json_decref(r);
    r = req("crash.thing", "crash.thing.a");
    assert_int_equal(mk_plugin_call(pl, "read", r, 0, &ans, why, sizeof why), MK_PLUGIN_OK);
    assert_true(json_is_null(json_object_get(ans, "result")));
    assert_int_equal(mk_plugin_starts(pl), 2); /* started again for the read */
    json_decref(ans);
    json_decref(r);
    mk_plugin_free(pl);
}

static void test_hang_times_out(void **state)
{
    (void)state;
    mk_plugin *pl = open_plugin("tests/plugins/hang", 300, NULL);
    json_t *ans = NULL, *r = req("hang.thing", "hang.thing.a");
    char why[512];
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_plugin_call(pl, "create", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    assert_true(mk_clock_now_ms() - t0 < 3000);
    assert_non_null(strstr(why, "it hangs"));
    json_decref(r);
    r = req("hang.thing", "hang.thing.b");
    assert_int_equal(mk_plugin_call(pl, "create", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    json_decref(r);
    mk_plugin_free(pl);
}

static void test_env_and_redaction(void **state)
{
    (void)state;
    setenv("PROBE_TOKEN", "unit-token-77aa", 1);
    setenv("NOT_GRANTED", "elsewhere-1234", 1);
    static const char *const env[] = {"PROBE_TOKEN", NULL};
    logged[0] = 0;
    mk_plugin *pl = open_plugin("tests/plugins/envprobe", 5000, env);
    json_t *ans = NULL, *r = req("envprobe.note", "envprobe.note.a");
    char why[512];
    assert_int_equal(mk_plugin_call(pl, "frobnicate", r, 0, &ans, why, sizeof why), MK_PLUGIN_REFUSED);
    assert_non_null(strstr(why, "token is [redacted]"));    /* its error redacted */
    assert_null(strstr(why, "unit-token-77aa"));
    assert_non_null(strstr(logged, "env: HOME LANG PATH PROBE_TOKEN\n"));
    assert_non_null(strstr(logged, "token: [redacted]"));
    assert_null(strstr(logged, "unit-token-77aa"));
    assert_null(strstr(logged, "NOT_GRANTED"));
    json_decref(r);
    mk_plugin_free(pl);
}

static int nlogged;

static void count(void *ctx, const char *line)
{
    (void)ctx, (void)line;
    nlogged++;
}

/* A plugin flooding stderr and never answering: the call still ends at its
 * timeout, and the log takes a bounded number of its lines. */
static void test_stderr_flood(void **state)
{
    (void)state;
    char dir[] = "/tmp/moksha-unit-flood-XXXXXX", f[256], why[512];
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof f, "%s/plugin", dir);
    FILE *fp = fopen(f, "w");
    fputs("#!/bin/sh\nread hello\necho '{\"moksha_plugin\": 1}'\nwhile :; do echo spam spam spam >&2; done\n", fp);
    fclose(fp);
    chmod(f, 0755);
    mk_plugin_spec spec = {.name = "flood", .dir = dir, .timeout_ms = 500, .log = count};
    mk_plugin *pl = mk_plugin_new(&spec);
    json_t *ans = NULL, *r = req("flood.thing", "flood.thing.a");
    nlogged = 0;
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_plugin_call(pl, "read", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    assert_true(mk_clock_now_ms() - t0 < 5000);
    assert_non_null(strstr(why, "it hangs"));
    assert_true(nlogged > 0 && nlogged <= 1001); /* 1000 lines and the note that the rest is dropped */
    json_decref(r);
    mk_plugin_free(pl);
    unlink(f);
    rmdir(dir);
}

/* A plugin that closes its stdout and lives on: the call fails at once,
 * without waiting on the process, and the process is killed. */
static void test_closed_stdout(void **state)
{
    (void)state;
    char dir[] = "/tmp/moksha-unit-closed-XXXXXX", f[256], why[512];
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof f, "%s/plugin", dir);
    FILE *fp = fopen(f, "w");
    fputs("#!/bin/sh\nread hello\necho '{\"moksha_plugin\": 1}'\nread req\nexec 1>&-\nexec sleep 30\n", fp);
    fclose(fp);
    chmod(f, 0755);
    mk_plugin_spec spec = {.name = "closed", .dir = dir, .timeout_ms = 20000, .log = count};
    mk_plugin *pl = mk_plugin_new(&spec);
    json_t *ans = NULL, *r = req("closed.thing", "closed.thing.a");
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_plugin_call(pl, "read", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    assert_true(mk_clock_now_ms() - t0 < 3000);
    assert_non_null(strstr(why, "closed its stdout before answering"));
    json_decref(r);
    mk_plugin_free(pl);
    unlink(f);
    rmdir(dir);
}

/* A plugin that never reads its stdin, handed a handshake larger than a
 * pipe holds: the write ends at the call's timeout, not never. */
static void test_unread_stdin(void **state)
{
    (void)state;
    char dir[] = "/tmp/moksha-unit-noread-XXXXXX", f[256], why[512];
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof f, "%s/plugin", dir);
    FILE *fp = fopen(f, "w");
    fputs("#!/bin/sh\nexec sleep 30\n", fp);
    fclose(fp);
    chmod(f, 0755);
    size_t big = 300000;
    char *s = malloc(big + 1);
    memset(s, 'z', big);
    s[big] = 0;
    json_t *settings = json_pack("{ss}", "blob", s);
    free(s);
    mk_plugin_spec spec = {.name = "noread", .dir = dir, .timeout_ms = 500, .settings = settings, .log = count};
    mk_plugin *pl = mk_plugin_new(&spec);
    json_t *ans = NULL, *r = req("noread.thing", "noread.thing.a");
    double t0 = mk_clock_now_ms();
    assert_int_not_equal(mk_plugin_call(pl, "read", r, 0, &ans, why, sizeof why), MK_PLUGIN_OK);
    assert_true(mk_clock_now_ms() - t0 < 5000);
    assert_non_null(strstr(why, "does not read its stdin"));
    json_decref(r);
    json_decref(settings);
    mk_plugin_free(pl);
    unlink(f);
    rmdir(dir);
}

/* The handshake handed out is the caller's own: a restart (another
 * thread's broken call) does not free it under the caller. */
static void test_hello_is_a_copy(void **state)
{
    (void)state;
    mk_plugin *pl = open_plugin("tests/plugins/envprobe", 5000, NULL);
    json_t *hello = NULL;
    char why[512];
    assert_int_equal(mk_plugin_start(pl, 0, &hello, why, sizeof why), MK_PLUGIN_OK);
    mk_plugin_stop(pl);
    assert_int_equal(json_integer_value(json_object_get(hello, "moksha_plugin")), 1);
    json_decref(hello);
    mk_plugin_free(pl);
}

/* A granted value is redacted wherever it falls: across the cut of a long
 * stderr line, in the excerpt of an invalid stdout line; an answer that
 * holds one is told; C1 controls and bidi overrides are not shown. */
static void test_redaction_edges(void **state)
{
    (void)state;
    char dir[] = "/tmp/moksha-unit-redact-XXXXXX", f[256], why[512];
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof f, "%s/plugin", dir);
    FILE *fp = fopen(f, "w");
    fputs("#!/usr/bin/python3\nimport json, os, sys\n"
          "t = os.environ['TOK']\n"
          "sys.stdin.readline(); print(json.dumps({'moksha_plugin': 1}), flush=True)\n"
          "r = json.loads(sys.stdin.readline())\n"
          "sys.stderr.buffer.write(('x' * 2040 + t + '\\na\\u009b[31mb\\u202ec\\n').encode() + b'd\\x9be\\n')\n"
          "sys.stderr.flush()\n"
          "print(json.dumps({'id': r['id'], 'ok': True, 'result': {'id': 'a', 'leak': t}}), flush=True)\n"
          "r = json.loads(sys.stdin.readline())\n"
          "print('y' * 70 + t + 'z' * 40, flush=True)\n"
          "sys.stdin.readline()\n", fp);
    fclose(fp);
    chmod(f, 0755);
    setenv("TOK", "SECRETVALUE123456", 1);
    static const char *const env[] = {"TOK", NULL};
    mk_plugin_spec spec = {.name = "redact", .dir = dir, .timeout_ms = 5000, .env = env, .log = keep};
    mk_plugin *pl = mk_plugin_new(&spec);
    logged[0] = 0;
    json_t *ans = NULL, *r = req("redact.thing", "redact.thing.a");
    assert_int_equal(mk_plugin_call(pl, "read", r, 0, &ans, why, sizeof why), MK_PLUGIN_OK);
    assert_true(mk_plugin_leaks(pl, ans));
    json_t *clean = json_pack("{s{ss}}", "result", "id", "SECRETVALUE12345");
    assert_false(mk_plugin_leaks(pl, clean));
    json_decref(clean);
    json_decref(ans);
    json_decref(r);
    r = req("redact.thing", "redact.thing.a");
    assert_int_equal(mk_plugin_call(pl, "create", r, 0, &ans, why, sizeof why), MK_PLUGIN_BROKEN);
    json_decref(r);
    mk_plugin_free(pl);
    assert_null(strstr(logged, "SECRETV"));
    assert_null(strstr(logged, "123456"));
    assert_non_null(strstr(logged, "[redacted]"));
    assert_non_null(strstr(logged, "\na?[31mb?c\n"));  /* U+009B (CSI) and U+202E (right-to-left override) */
    assert_non_null(strstr(logged, "\nd?e\n"));        /* a raw 0x9b, not UTF-8 */
    assert_null(strstr(why, "SECRETV"));
    assert_non_null(strstr(why, "[redacted]"));
    unlink(f);
    rmdir(dir);
}

static void test_digest(void **state)
{
    (void)state;
    char dir[] = "/tmp/moksha-unit-plugin-XXXXXX", f[256], a[80], b[80], why[512];
    assert_non_null(mkdtemp(dir));
    snprintf(f, sizeof f, "%s/plugin", dir);
    FILE *fp = fopen(f, "w");
    fputs("#!/bin/sh\n", fp);
    fclose(fp);
    assert_true(mk_plugin_digest(dir, a, why, sizeof why));
    assert_int_equal(strlen(a), 71);
    fp = fopen(f, "a");
    fputs("# one byte more\n", fp);
    fclose(fp);
    assert_true(mk_plugin_digest(dir, b, why, sizeof why));
    assert_string_not_equal(a, b);
    char l[256];
    snprintf(l, sizeof l, "%s/link", dir);
    assert_int_equal(symlink("/etc/passwd", l), 0);
    assert_false(mk_plugin_digest(dir, b, why, sizeof why));
    assert_non_null(strstr(why, "symlink"));
    unlink(l);
    /* anything in it, or a folder above it, writable by others: refused */
    chmod(f, 0666);
    assert_false(mk_plugin_digest(dir, b, why, sizeof why));
    assert_non_null(strstr(why, "can be changed by another user"));
    chmod(f, 0644);
    char sub[256], deep[300];
    snprintf(sub, sizeof sub, "%s/lib", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    chmod(sub, 0777);
    assert_false(mk_plugin_digest(dir, b, why, sizeof why));
    assert_non_null(strstr(why, "can be changed by another user"));
    snprintf(deep, sizeof deep, "%s/inner", sub);
    assert_int_equal(mkdir(deep, 0755), 0);
    assert_false(mk_plugin_digest(deep, b, why, sizeof why)); /* its parent lib is 0777 */
    assert_non_null(strstr(why, "can be changed by another user"));
    rmdir(deep);
    chmod(sub, 0755);
    assert_true(mk_plugin_digest(dir, b, why, sizeof why));
    rmdir(sub);
    unlink(f);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_fails_one_call),
        cmocka_unit_test(test_hang_times_out),
        cmocka_unit_test(test_env_and_redaction),
        cmocka_unit_test(test_stderr_flood),
        cmocka_unit_test(test_closed_stdout),
        cmocka_unit_test(test_unread_stdin),
        cmocka_unit_test(test_hello_is_a_copy),
        cmocka_unit_test(test_redaction_edges),
        cmocka_unit_test(test_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
