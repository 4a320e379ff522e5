/* test_notify — the executor's hooks (runtime/notify.c; the configuration's
 * `notify`, runtime/config.c) and `audit show`'s lines for the trust
 * entries (runtime/audit.c): hooks read with their defaults and each wrong
 * one refused naming its key; the event's body; a command hook given the
 * event on stdin in a minimal environment, a failing one and a hanging one
 * (killed at its timeout, with what it started) audited as notify.failed
 * without holding the caller past the timeout; the entries of approvals,
 * gates, overrides, waivers, boundaries, break glass and notifications each
 * a line naming people and key ids, and every break glass not acknowledged
 * listed first. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/notify.h"
#include "tests/unit/cfgload.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-notify.XXXXXX");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mk_test_rmdir(dir);
    unsetenv("MOKSHA_EXEC_CONFIG");
    return 0;
}

/* A configuration of the connections conns (JSON text of the section) and
 * the hooks notify (JSON text of the list). */
static bool load2(const char *conns, const char *notify, mk_config *cfg, char *why, size_t whylen)
{
    char text[8192], path[128];
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"notify\": %s, \"connections\": %s}\n",
             notify, conns);
    mk_test_write(dir, "exec.json", text);
    snprintf(path, sizeof path, "%s/exec.json", dir);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    return mk_config_load_for(cfg, NULL, why, whylen);
}

static void test_config(void **st)
{
    (void)st;
    mk_config cfg;
    char why[1024];
    assert_true(load2("{\"ops\": {\"kind\": \"http\", \"endpoint\": \"http://127.0.0.1:9/api\"}}",
                      "[{\"on\": [\"apply.failed\", \"plan.held\"], \"command\": [\"/bin/cat\", \"-u\"]},"
                      " {\"on\": [\"*\"], \"connection\": \"ops\", \"path\": \"/hooks/moksha?team=a\", \"timeout_ms\": 250}]",
                      &cfg, why, sizeof why));
    assert_int_equal(cfg.nhooks, 2);
    assert_string_equal(cfg.hooks[0].name, "notify[0]");
    assert_int_equal(cfg.hooks[0].non, 2);
    assert_int_equal(cfg.hooks[0].ncommand, 2);
    assert_string_equal(cfg.hooks[0].command[1], "-u");
    assert_true(cfg.hooks[0].timeout_ms == 10000);
    assert_null(cfg.hooks[1].command);
    assert_string_equal(cfg.hooks[1].connection, "ops");
    assert_string_equal(cfg.hooks[1].path, "/hooks/moksha?team=a");
    assert_true(cfg.hooks[1].timeout_ms == 250);
    assert_true(mk_notify_wanted(&cfg, "plan.held"));
    assert_true(mk_notify_wanted(&cfg, "break_glass")); /* the second hook's "*" */
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    mk_notify_describe(&cfg, f);
    fclose(f);
    assert_non_null(strstr(text, "notify[0]: on apply.failed, plan.held: command /bin/cat (and its arguments), timeout 10000 ms"));
    assert_non_null(strstr(text, "notify[1]: on *: connection ops /hooks/moksha?team=a at http://127.0.0.1:9/api, timeout 250 ms"));
    free(text);
    mk_config_free(&cfg);
}

static void test_config_refused(void **st)
{
    (void)st;
    mk_test_cfg_refused(dir, "notify", "{}", "notify", "a list of at most 32 hooks");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"apply.done\"], \"command\": [\"/bin/true\"]}]", "notify[0].on[0]",
                        "not an event");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [], \"command\": [\"/bin/true\"]}]", "notify[0].on", "a list of events");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"]}]", "notify[0]", "either a `command` or a `connection`");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"command\": [\"true\"]}]", "notify[0].command[0]",
                        "absolute path");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"command\": [\"/bin/true\"], \"timeout_ms\": 0}]",
                        "notify[0].timeout_ms", "1 to 600000");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"command\": [\"/bin/true\"], \"timeout\": \"1s\"}]",
                        "notify[0].timeout", "unknown setting");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"command\": [\"/bin/true\"], \"path\": \"/x\"}]", "notify[0]",
                        "`path` goes with a `connection`");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"connection\": \"ops\"}]", "notify[0]", "needs a `path`");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"connection\": \"ops\", \"path\": \"/a/../b\"}]",
                        "notify[0].path", "no `.` or `..` segment");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"connection\": \"ops\", \"path\": \"/a b\"}]",
                        "notify[0].path", "no spaces");
    mk_test_cfg_refused(dir, "notify", "[{\"on\": [\"*\"], \"connection\": \"ops\", \"path\": \"/a\"}]",
                        "notify[0].connection", "`ops` is not one");
    mk_config cfg;
    char why[1024];
    assert_false(load2("{\"db\": {\"kind\": \"postgres\", \"conninfo\": \"host=/run/postgresql\"}}",
                       "[{\"on\": [\"*\"], \"connection\": \"db\", \"path\": \"/a\"}]", &cfg, why, sizeof why));
    assert_non_null(strstr(why, "key `notify[0].connection`: expected the name of a connection of kind \"http\""));
}

static void test_body(void **st)
{
    (void)st;
    json_t *d = json_pack("{s:i}", "count", 2);
    mk_notify_event ev = {"plan.held", "0123456789abcdef0123456789abcdef", NULL, "run-1", NULL, "2 held", d};
    json_t *b = mk_notify_body(&ev);
    assert_string_equal(json_string_value(json_object_get(b, "format")), "moksha.notify/v1");
    assert_string_equal(json_string_value(json_object_get(b, "event")), "plan.held");
    assert_string_equal(json_string_value(json_object_get(b, "stack_id")), "0123456789abcdef0123456789abcdef");
    assert_true(json_is_null(json_object_get(b, "env")));
    assert_true(json_is_null(json_object_get(b, "plan_sha256")));
    assert_string_equal(json_string_value(json_object_get(b, "run")), "run-1");
    assert_string_equal(json_string_value(json_object_get(b, "summary")), "2 held");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "details"), "count")), 2);
    assert_non_null(json_string_value(json_object_get(b, "at")));
    assert_int_equal(json_object_size(b), 9);
    json_decref(b);
    json_decref(d);
}

/* DIR/NAME, an executable shell script of body. */
static void script(const char *name, const char *body)
{
    char path[128], text[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    mk_test_write(dir, name, text);
    chmod(path, 0700);
}

static void test_command_hooks(void **st)
{
    (void)st;
    char conf[2048], cmd[256];
    snprintf(cmd, sizeof cmd, "cat >%s/got.json; env >%s/env.txt; pwd >>%s/env.txt", dir, dir, dir);
    script("ok.sh", cmd);
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! >%s/bg.pid; sleep 30", dir);
    script("hang.sh", cmd);
    snprintf(conf, sizeof conf, "[{\"on\": [\"apply.finished\"], \"command\": [\"%s/ok.sh\"]},"
             " {\"on\": [\"*\"], \"command\": [\"%s/hang.sh\"], \"timeout_ms\": 300},"
             " {\"on\": [\"apply.finished\"], \"command\": [\"/bin/sh\", \"-c\", \"exit 3\"]},"
             " {\"on\": [\"apply.failed\"], \"command\": [\"/bin/false\"]},"
             " {\"on\": [\"*\"], \"command\": [\"%s/missing\"]}]", dir, dir, dir);
    mk_config cfg;
    char why[1024];
    setenv("MOKSHA_NOTIFY_TEST_SECRET", "s3cret", 1);
    assert_true(mk_test_cfg_load(dir, "notify", conf, &cfg, why, sizeof why));
    json_t *audit = json_array(), *d = json_object();
    mk_notify_event ev = {"apply.finished", "ab", "prod", "run", "sha", "done", d};
    double t0 = mk_clock_now_ms();
    mk_notify(&cfg, &ev, audit);
    double took = mk_clock_now_ms() - t0;
    assert_true(took >= 300 && took < 2500); /* the hanging hook's timeout, once: the hooks ran at once */
    assert_int_equal(json_array_size(audit), 4);
    const char *want[][3] = {{"notify.sent", "notify[0]", NULL},
                             {"notify.failed", "notify[1]", "did not finish within its timeout of 300 ms"},
                             {"notify.failed", "notify[2]", "/bin/sh exited with status 3"},
                             {"notify.failed", "notify[4]", "cannot run"}};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(audit, i);
        assert_string_equal(json_string_value(json_object_get(e, "event")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(e, "hook")), want[i][1]);
        assert_string_equal(json_string_value(json_object_get(e, "notify")), "apply.finished");
        if (want[i][2])
            assert_non_null(strstr(json_string_value(json_object_get(e, "error")), want[i][2]));
    }
    char path[128];
    snprintf(path, sizeof path, "%s/got.json", dir);
    json_t *got = json_load_file(path, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(got, "event")), "apply.finished");
    assert_string_equal(json_string_value(json_object_get(got, "env")), "prod");
    json_decref(got);
    snprintf(path, sizeof path, "%s/env.txt", dir);
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    bool home_tmp = false;
    while (f && fgets(line, sizeof line, f)) {
        n++;
        assert_null(strstr(line, "s3cret")); /* the executor's environment is not the hook's */
        home_tmp |= strncmp(line, "HOME=", 5) == 0 && strstr(line, "moksha-notify-");
    }
    if (f)
        fclose(f);
    assert_true(home_tmp);
    assert_true(n <= 6); /* PATH, HOME, LANG and what sh sets itself (PWD), and pwd's line */
    snprintf(path, sizeof path, "%s/bg.pid", dir);
    f = fopen(path, "r");
    long bg = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &bg), 1);
    fclose(f);
    mk_clock_sleep_ms(50);
    /* what it started was killed with it (gone, or a zombie nobody reaped) */
    snprintf(path, sizeof path, "/proc/%ld/stat", bg);
    f = fopen(path, "r");
    char state = 'Z';
    if (f && fscanf(f, "%*d %*s %c", &state) != 1)
        state = '?';
    if (f)
        fclose(f);
    assert_int_equal(state, 'Z');
    unsetenv("MOKSHA_NOTIFY_TEST_SECRET");
    json_decref(audit);
    json_decref(d);
    mk_config_free(&cfg);
}

/* What `audit show` prints for log (text), json or not. */
static char *show(const char *log, bool json)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_int_equal(mk_audit_show_text(log, strlen(log), json, f), 0);
    fclose(f);
    return text;
}

#define E(seq, rest) "{\"format\":\"moksha.audit/v1\",\"seq\":" #seq ",\"time\":\"2026-12-02T19:00:0" #seq "Z\",\"prev\":\"0\"," rest "}\n"

static const char LOG[] =
    E(1, "\"event\":\"approval.added\",\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"gate\",\"by\":\"alice\",\"key_id\":\"a1a1a1a1a1a1a1a1\"")
    E(2, "\"event\":\"gate.approved\",\"policy\":\"prod-approval\",\"group\":\"sre\",\"address\":\"firewall.edge\",\"by\":[{\"name\":\"alice\",\"key_id\":\"a1a1a1a1a1a1a1a1\",\"id\":\"0123456789abcdef0123456789abcdef\"},{\"name\":\"bob\",\"key_id\":\"b2b2b2b2b2b2b2b2\",\"id\":\"fedcba9876543210fedcba9876543210\"}]")
    E(3, "\"event\":\"gate.closed\",\"policy\":\"trust:prod-destroys\",\"group\":\"sre\",\"missing\":1")
    E(4, "\"event\":\"override.approved\",\"policy\":\"budget\",\"by\":{\"name\":\"carol\",\"key_id\":\"c3c3c3c3c3c3c3c3\",\"id\":\"11111111222222223333333344444444\"}")
    E(5, "\"event\":\"waiver.used\",\"policy\":\"tags\",\"address\":\"bucket.logs\",\"by\":\"d4d4d4d4d4d4d4d4\",\"id\":\"55555555666666667777777788888888\",\"expires\":\"2026-12-03T19:00:00Z\"")
    E(6, "\"event\":\"boundary.held\",\"automation\":\"bot\",\"address\":\"database.main\",\"reason\":\"replace is above the boundary's max_risk low\"")
    E(7, "\"event\":\"break_glass\",\"by\":[{\"name\":\"dave\",\"key_id\":\"d4d4d4d4d4d4d4d4\"},{\"name\":\"erin\",\"key_id\":\"e5e5e5e5e5e5e5e5\"}],\"reason\":\"outage 42\",\"plan_sha256\":\"aaaa\"")
    E(8, "\"event\":\"break_glass\",\"by\":[{\"name\":\"dave\",\"key_id\":\"d4d4d4d4d4d4d4d4\"}],\"reason\":\"outage 43\",\"plan_sha256\":\"bbbb\"")
    E(9, "\"event\":\"break_glass.acknowledged\",\"by\":{\"name\":\"frank\",\"key_id\":\"f6f6f6f6f6f6f6f6\"},\"plan_sha256\":\"bbbb\"")
    E(9, "\"event\":\"notify.failed\",\"hook\":\"notify[1]\",\"to\":\"command /usr/local/bin/page\",\"notify\":\"break_glass\",\"error\":\"exited with status 1\"")
    E(9, "\"event\":\"approval.refused\",\"id\":\"99999999999999999999999999999999\",\"key_id\":\"0b0b0b0b0b0b0b0b\",\"reason\":\"automation `bot`'s key: an automation identity never approves\"");

static void test_audit_show(void **st)
{
    (void)st;
    char *t = show(LOG, false);
    if (getenv("SHOW")) fputs(t, stderr);
    /* the break glass not acknowledged, first: aaaa (bbbb was acknowledged) */
    assert_true(strncmp(t, "Break glass not acknowledged yet (1)", 36) == 0);
    char *first = strstr(t, "\n#1 ");
    assert_non_null(first);
    char *top = strndup(t, (size_t)(first - t));
    assert_non_null(strstr(top, "#7 2026-12-02T19:00:07Z plan_sha256=aaaa by=\"dave (key d4d4d4d4d4d4d4d4); erin (key e5e5e5e5e5e5e5e5)\""));
    assert_null(strstr(top, "bbbb"));
    assert_non_null(strstr(top, "moksha approve --ack PLAN_SHA256"));
    free(top);
    assert_non_null(strstr(t, "approval.added  kind=gate by=alice id=0123456789abcdef0123456789abcdef key_id=a1a1a1a1a1a1a1a1"));
    assert_non_null(strstr(t, "gate.approved   policy=prod-approval group=sre address=firewall.edge by=\"alice (key "
                              "a1a1a1a1a1a1a1a1, approval 01234567); bob (key b2b2b2b2b2b2b2b2, approval fedcba98)\""));
    assert_non_null(strstr(t, "gate.closed     policy=trust:prod-destroys group=sre missing=1"));
    assert_non_null(strstr(t, "override.approved policy=budget by=\"carol (key c3c3c3c3c3c3c3c3, approval 11111111)\""));
    assert_non_null(strstr(t, "waiver.used     policy=tags address=bucket.logs by=d4d4d4d4d4d4d4d4 id=55555555666666667777777788888888 expires=2026-12-03T19:00:00Z"));
    assert_non_null(strstr(t, "boundary.held   address=database.main reason=\"replace is above the boundary's max_risk low\" automation=bot"));
    assert_non_null(strstr(t, "break_glass.acknowledged by=\"frank (key f6f6f6f6f6f6f6f6)\" plan_sha256=bbbb"));
    assert_non_null(strstr(t, "notify.failed   hook=notify[1] to=\"command \\/usr\\/local\\/bin\\/page\" notify=break_glass error=\"exited with status 1\""));
    assert_non_null(strstr(t, "approval.refused reason=\"automation `bot`'s key: an automation identity never approves\" id=99999999999999999999999999999999 key_id=0b0b0b0b0b0b0b0b"));
    free(t);
    t = show(LOG, true);
    json_t *doc = json_loads(t, 0, NULL);
    assert_non_null(doc);
    json_t *open = json_object_get(doc, "unacknowledged_break_glass");
    assert_int_equal(json_array_size(open), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "plan_sha256")), "aaaa");
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 11);
    json_decref(doc);
    free(t);
    /* an acknowledgement before a break glass acknowledges an earlier one, not it */
    t = show(E(1, "\"event\":\"break_glass.acknowledged\",\"by\":\"frank\",\"plan_sha256\":\"cccc\"")
             E(2, "\"event\":\"break_glass\",\"by\":\"dave\",\"reason\":\"x\",\"plan_sha256\":\"cccc\""), false);
    assert_true(strncmp(t, "Break glass not acknowledged yet (1)", 36) == 0);
    free(t);
    t = show(E(1, "\"event\":\"lock\""), false);
    assert_null(strstr(t, "Break glass"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_refused, setup, teardown),
        cmocka_unit_test(test_body),
        cmocka_unit_test_setup_teardown(test_command_hooks, setup, teardown),
        cmocka_unit_test(test_audit_show),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
