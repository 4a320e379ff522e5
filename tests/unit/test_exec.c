/* test_exec — the executor's module contracts: the audit chain catches an
 * altered, removed or inserted entry; state writes are atomic, keep the
 * previous copy and raise the serial; the local provider's jail; the
 * executor's configuration; durations; the provider of a block. The
 * scheduler's tests are in test_sched.c, the lock's in test_lock.c. */
#include "tests/unit/unit.h"
#include "tests/unit/testkey.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/exec.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/provcall.h"
#include "runtime/providers/provider.h"
#include "runtime/rtstate.h"

static char dir[] = "/tmp/moksha-unit-exec.XXXXXX";

static int setup(void **st)
{
    (void)st;
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return chdir("/") == 0 && system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *p) { return mk_fileio_read(p, NULL); }

static void spit(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}


static void write_log(int n)
{
    unlink("a.jsonl");
    unlink("a.head");
    char why[256];
    mk_keyring k = mk_test_keyring('k');
    mk_audit *a = mk_audit_open("a.jsonl", &k, NULL, why, sizeof why);
    assert_non_null(a);
    for (int i = 0; i < n; i++)
        assert_true(mk_audit_append(a, json_pack("{s:s, s:i}", "event", "step", "i", i)));
    mk_audit_close(a);
}

static int verify_says(const char *what)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mk_keyring k = mk_test_keyring('k');
    int rc = mk_audit_verify("a.jsonl", &k, NULL, f);
    fclose(f);
    if (what && !strstr(buf, what))
        fail_msg("verify said: %s (expected: %s)", buf, what);
    free(buf);
    return rc;
}

/* the lines of a.jsonl with line k (1-based) changed by fn */
static void edit_line(int k, void (*fn)(FILE *out, const char *line))
{
    char *text = slurp("a.jsonl"), *save = NULL;
    FILE *f = fopen("a.jsonl", "w");
    int i = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++)
        if (i == k)
            fn(f, line);
        else
            fprintf(f, "%s\n", line);
    fclose(f);
    free(text);
}

static void alter(FILE *out, const char *line)
{
    char *s = strdup(line), *p = strstr(s, "\"i\":");
    p[4] = p[4] == '9' ? '8' : (char)(p[4] + 1);
    fprintf(out, "%s\n", s);
    free(s);
}
static void drop(FILE *out, const char *line) { (void)out, (void)line; }
static void dup_line(FILE *out, const char *line) { fprintf(out, "%s\n%s\n", line, line); }

static void test_audit_chain(void **st)
{
    (void)st;
    write_log(6);
    assert_int_equal(verify_says("6 entries, chain intact"), 0);
    for (int k = 1; k <= 6; k++) {
        char want[64];
        write_log(6);
        edit_line(k, alter);
        snprintf(want, sizeof want, "entry at line %d was altered", k);
        assert_int_equal(verify_says(want), 1);
        write_log(6);
        edit_line(k, drop);
        snprintf(want, sizeof want, k == 6 ? "entries after line 5 were removed" : "entry before line %d was removed", k);
        assert_int_equal(verify_says(want), 1);
        write_log(6);
        edit_line(k, dup_line);
        snprintf(want, sizeof want, "entry at line %d was inserted", k + 1);
        assert_int_equal(verify_says(want), 1);
    }
    /* the first entry's prev is 64 zeros */
    write_log(1);
    char *t = slurp("a.jsonl");
    assert_non_null(strstr(t, "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
    free(t);
}

static void test_audit_refuses_cut_log(void **st)
{
    (void)st;
    write_log(4);
    edit_line(4, drop);
    char why[512];
    mk_keyring k = mk_test_keyring('k'), other = mk_test_keyring('o');
    assert_null(mk_audit_open("a.jsonl", &k, NULL, why, sizeof why));
    assert_non_null(strstr(why, "entries after line 3 were removed"));
    /* a head written with another key is a forged one */
    write_log(4);
    assert_null(mk_audit_open("a.jsonl", &other, NULL, why, sizeof why));
    assert_non_null(strstr(why, "not written with this key"));
    /* a state naming an entry the log does not hold */
    mk_audit_mark m = {.seq = 5};
    memset(m.hash, 'a', 64);
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "the state names audit entry 5, but the log has only 4 entries"));
    m.seq = 2;
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "entry at line 2 is not the entry the state names"));
    /* the mark of the last entry made is what the state then records */
    mk_audit *a = mk_audit_open("a.jsonl", &k, NULL, why, sizeof why);
    assert_non_null(a);
    mk_audit_last(a, &m);
    assert_int_equal(m.seq, 4);
    mk_audit_close(a);
    a = mk_audit_open("a.jsonl", &k, &m, why, sizeof why);
    assert_non_null(a);
    mk_audit_close(a);
}

/* The head names the state's serial (note [audit head]): a state older than
 * it, one that names no entry though the executor wrote it, and entries of
 * two runs after the head are refused; one more write (a crash between the
 * state and the head) is not. */
static void test_audit_state_against_head(void **st)
{
    (void)st;
    char why[512];
    mk_keyring k = mk_test_keyring('k');
    unlink("a.jsonl");
    unlink("a.head");
    mk_audit_mark m = {.from_state = true, .serial = 0};
    mk_audit *a = mk_audit_open("a.jsonl", &k, &m, why, sizeof why);
    assert_non_null(a);
    assert_true(mk_audit_append(a, json_pack("{s:s}", "event", "lock")));
    assert_true(mk_audit_seal(a, 7)); /* the state written with it: serial 7 */
    mk_audit_last(a, &m);
    mk_audit_close(a);
    m.serial = 7;
    m.written = true;
    a = mk_audit_open("a.jsonl", &k, &m, why, sizeof why);
    assert_non_null(a);
    mk_audit_close(a);
    m.serial = 8; /* written, the head not yet moved */
    a = mk_audit_open("a.jsonl", &k, &m, why, sizeof why);
    assert_non_null(a);
    mk_audit_close(a);
    m.serial = 6;
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "the state is older than the log: its serial is 6, but the head was written with state serial 7"));
    m.serial = 9;
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "newer than the head"));
    mk_audit_mark bare = {.from_state = true, .serial = 7, .written = true};
    assert_null(mk_audit_open("a.jsonl", &k, &bare, why, sizeof why));
    assert_non_null(strstr(why, "names no audit entry"));
    /* whole entries after the head: one run's are covered; two runs' are refused */
    FILE *f = fopen("a.jsonl", "a");
    fputs("{\"format\":\"moksha.audit/v1\",\"seq\":2,\"event\":\"unlock\"}\n", f);
    fputs("{\"format\":\"moksha.audit/v1\",\"seq\":3,\"event\":\"lock\"}\n", f);
    fclose(f);
    m.serial = 7;
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "the entries after it are from more than one run (line 2 ends one, and more follow)"));
    /* …unless that run adopted them (it was stopped too, before moving the head) */
    f = fopen("a.jsonl", "a");
    fputs("{\"format\":\"moksha.audit/v1\",\"seq\":4,\"event\":\"audit.adopted\",\"from_seq\":2,\"to_seq\":2}\n", f);
    fputs("{\"format\":\"moksha.audit/v1\",\"seq\":5,\"event\":\"step\"}\n", f);
    fclose(f);
    a = mk_audit_open("a.jsonl", &k, &m, why, sizeof why);
    assert_non_null(a);
    assert_int_equal(mk_audit_tail(a), 4);
    mk_audit_close(a);
    f = fopen("a.jsonl", "a"); /* a third run that did not adopt them */
    fputs("{\"format\":\"moksha.audit/v1\",\"seq\":6,\"event\":\"lock\"}\n", f);
    fclose(f);
    assert_null(mk_audit_open("a.jsonl", &k, &m, why, sizeof why));
    assert_non_null(strstr(why, "line 6 starts another run"));
}

static void test_state_atomic(void **st)
{
    (void)st;
    char why[256];
    unlink("s.json");
    unlink("s.json.prev");
    mk_rtstate *s = mk_rtstate_load("s.json", why, sizeof why);
    assert_non_null(s);
    assert_string_equal(mk_rtstate_lineage(s), "");
    mk_rtstate_put(s, json_pack("{s:s, s:s, s:{}}", "address", "bucket.a", "type", "bucket", "attributes"));
    assert_true(mk_rtstate_save(s));
    assert_int_equal(mk_rtstate_serial(s), 1);
    assert_int_equal(strlen(mk_rtstate_lineage(s)), 36);
    char lineage[40];
    strcpy(lineage, mk_rtstate_lineage(s));
    char *first = slurp("s.json");
    mk_rtstate_put(s, json_pack("{s:s, s:s, s:{}}", "address", "bucket.b", "type", "bucket", "attributes"));
    assert_true(mk_rtstate_remove(s, "bucket.a"));
    assert_true(mk_rtstate_save(s));
    char *prev = slurp("s.json.prev");
    assert_string_equal(first, prev); /* the previous copy is kept whole */
    assert_int_equal(access("s.json.tmp", F_OK), -1);
    mk_rtstate_free(s);
    s = mk_rtstate_load("s.json", why, sizeof why);
    assert_int_equal(mk_rtstate_serial(s), 2);
    assert_string_equal(mk_rtstate_lineage(s), lineage);
    assert_null(mk_rtstate_get(s, "bucket.a"));
    assert_non_null(mk_rtstate_get(s, "bucket.b"));
    mk_rtstate_free(s);
    spit("bad.json", "{\"format\": \"something else\"}");
    assert_null(mk_rtstate_load("bad.json", why, sizeof why));
    free(first);
    free(prev);
}

static mk_prov_status local_op(mk_prov *p, const char *type, const char *path, char *why)
{
    json_t *attrs = json_pack("{s:s, s:s, s:s}", "path", path, "content", "hi\n", "target", "x");
    mk_prov_op op = {.address = "local.file.t", .type = type, .attrs = attrs};
    json_t *out = NULL;
    mk_prov_status st = p->create(p, &op, &out, why, 512);
    json_decref(out);
    json_decref(attrs);
    return st;
}

static void test_local_jail(void **st)
{
    (void)st;
    char why[512];
    json_t *settings = json_pack("{s:s}", "root", "jail/root");
    mk_prov *p = mk_prov_local_new(settings, NULL, why, sizeof why);
    assert_non_null(p);
    assert_int_equal(local_op(p, "local.file", "a/b/c.txt", why), MK_PROV_OK);
    char *t = slurp("jail/root/a/b/c.txt");
    assert_string_equal(t, "hi\n");
    free(t);
    assert_int_equal(local_op(p, "local.file", "../out.txt", why), MK_PROV_FAILED);
    assert_int_equal(local_op(p, "local.file", "a/../../out.txt", why), MK_PROV_FAILED);
    assert_int_equal(local_op(p, "local.file", "/tmp/out.txt", why), MK_PROV_FAILED);
    assert_int_equal(access("jail/out.txt", F_OK), -1);
    mkdir("jail/outside", 0755);
    assert_int_equal(symlink("../outside", "jail/root/esc"), 0);
    assert_int_equal(local_op(p, "local.file", "esc/x.txt", why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "through a symlink"));
    assert_int_equal(access("jail/outside/x.txt", F_OK), -1);
    assert_int_equal(symlink("../outside/y.txt", "jail/root/last"), 0);
    assert_int_equal(local_op(p, "local.file", "last", why), MK_PROV_FAILED); /* last component a symlink */
    assert_int_equal(access("jail/outside/y.txt", F_OK), -1);
    assert_int_equal(local_op(p, "local.symlink", "l", why), MK_PROV_OK);
    json_t *bad = json_pack("{s:s, s:s}", "path", "l2", "target", "../../etc/passwd");
    mk_prov_op op = {.address = "local.symlink.l2", .type = "local.symlink", .attrs = bad};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    json_decref(bad);
    p->free(p);
    json_decref(settings);
}

/* The provider of a block, as an apply, a refresh and `state mv` make it: by the
 * block's type (a missing block is the kind of that name), its settings
 * checked; a kind this executor does not know is named. */
static void test_exec_provider(void **st)
{
    (void)st;
    char why[512] = "";
    json_t *blocks = json_pack("{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s}}", "cloud", "type", "sim", "settings",
                               "latency", "5ms", "slow", "type", "sim", "settings", "latency", "soon", "other", "type",
                               "terraform");
    mk_prov *p = mk_provcall_provider(json_object_get(blocks, "cloud"), "cloud", NULL, why, sizeof why);
    assert_non_null(p);
    assert_string_equal(p->kind, "sim");
    p->free(p);
    p = mk_provcall_provider(json_object_get(blocks, "local"), "local", NULL, why, sizeof why);
    assert_non_null(p);
    assert_string_equal(p->kind, "local");
    p->free(p);
    assert_null(mk_provcall_provider(json_object_get(blocks, "slow"), "slow", NULL, why, sizeof why));
    assert_string_equal(why, "sim: latency must be a duration such as \"20ms\"");
    assert_null(mk_provcall_provider(json_object_get(blocks, "other"), "other", NULL, why, sizeof why));
    assert_string_equal(why, "no provider `other` of a kind this executor knows (local, sim, postgres, s3, azure_blob, http, plugin)");
    assert_null(mk_provcall_provider(NULL, "aws", NULL, why, sizeof why));
    assert_string_equal(why, "no provider `aws` of a kind this executor knows (local, sim, postgres, s3, azure_blob, http, plugin)");
    json_decref(blocks);
    /* a postgres block naming a connection the executor's configuration lacks */
    json_t *pg = json_pack("{s:s, s:{s:s}}", "type", "postgres", "settings", "connection", "analytics");
    assert_null(mk_provcall_provider(pg, "warehouse", NULL, why, sizeof why));
    assert_string_equal(why, "provider warehouse: the executor's configuration (none: MOKSHA_EXEC_CONFIG) has no "
                             "connection `analytics`: a spec names a connection, the executor says where it goes "
                             "(docs/providers.md, \"Connections\")");
    json_decref(pg);
}

static unsigned no_recreate_for_db(mk_prov *p, const char *type)
{
    (void)p;
    return strcmp(type, "db") == 0 ? MK_PROV_KEEPS_IDS : MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS;
}

/* What the rollback may count on for a type: caps_of where the provider
 * has it, else caps for every type. */
static void test_exec_caps(void **st)
{
    (void)st;
    mk_prov p = {.kind = "x", .caps = MK_PROV_CAN_RECREATE};
    assert_int_equal(mk_provcall_caps(&p, "db"), MK_PROV_CAN_RECREATE);
    p.caps_of = no_recreate_for_db;
    assert_int_equal(mk_provcall_caps(&p, "db"), MK_PROV_KEEPS_IDS);
    assert_int_equal(mk_provcall_caps(&p, "role"), MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS);
}

static mk_prov *local_at(const char *root, const mk_config *cfg, char *why)
{
    json_t *settings = json_pack("{s:s}", "root", root);
    mk_prov *p = mk_prov_local_new(settings, cfg, why, 512);
    json_decref(settings);
    return p;
}

/* note [local root]: a root outside the stack only when the executor's
 * configuration allows it; never the stack's .moksha (but .moksha/out),
 * whatever the root, through `..` or a symlink. */
static void test_local_root(void **st)
{
    (void)st;
    char why[512], here[PATH_MAX], cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    mkdir("stack", 0755);
    mkdir("elsewhere", 0755);
    assert_int_equal(chdir("stack"), 0);
    mkdir(".moksha", 0755);
    FILE *f = fopen(".moksha/key", "w");
    fputs("the key\n", f);
    fclose(f);
    assert_null(local_at("../elsewhere", NULL, why));
    assert_non_null(strstr(why, "outside the stack directory"));
    assert_null(local_at("/", NULL, why));
    assert_null(local_at("../../mk-not-made-9f1c", NULL, why));
    assert_int_equal(access("../../mk-not-made-9f1c", F_OK), -1); /* refused before anything was made */
    assert_null(local_at(".moksha", NULL, why));
    assert_non_null(strstr(why, ".moksha"));
    assert_null(local_at("a/../.moksha/sim", NULL, why));
    assert_int_equal(symlink("../elsewhere", "sneaky"), 0);
    assert_null(local_at("sneaky", NULL, why)); /* a symlinked root is checked resolved */
    /* root "." may write the stack but never .moksha/key, nor through a link */
    mk_prov *p = local_at(".", NULL, why);
    assert_non_null(p);
    assert_int_equal(local_op(p, "local.file", "site/index.html", why), MK_PROV_OK);
    assert_int_equal(local_op(p, "local.file", ".moksha/key", why), MK_PROV_FAILED);
    assert_non_null(strstr(why, ".moksha"));
    assert_int_equal(local_op(p, "local.file", "./.moksha/state.json", why), MK_PROV_FAILED);
    assert_int_equal(local_op(p, "local.directory", ".moksha", why), MK_PROV_FAILED);
    assert_int_equal(local_op(p, "local.file", ".moksha/out/ok.txt", why), MK_PROV_OK);
    assert_int_equal(symlink(".moksha", "m"), 0);
    assert_int_equal(local_op(p, "local.file", "m/key", why), MK_PROV_FAILED);
    json_t *ln = json_pack("{s:s, s:s}", "path", "k", "target", ".moksha/key");
    mk_prov_op op = {.address = "local.symlink.k", .type = "local.symlink", .attrs = ln};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    json_decref(ln);
    p->free(p);
    char *t = slurp(".moksha/key");
    assert_string_equal(t, "the key\n");
    free(t);
    /* the executor's configuration allows a root elsewhere, and its own
     * directory stays out of reach */
    mk_config cfg = {0};
    assert_non_null(realpath("../elsewhere", here));
    char *roots[] = {here};
    cfg.local.allowed_roots = roots;
    cfg.local.nallowed_roots = 1;
    assert_true(strlen(here) + 6 < sizeof cfg.dir);
    memcpy(cfg.dir, here, strlen(here));
    strcpy(cfg.dir + strlen(here), "/conf");
    mkdir("../elsewhere/conf", 0755);
    p = local_at("../elsewhere", &cfg, why);
    assert_non_null(p);
    assert_int_equal(local_op(p, "local.file", "x.txt", why), MK_PROV_OK);
    assert_int_equal(local_op(p, "local.file", "conf/exec.json", why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "configuration"));
    p->free(p);
    assert_int_equal(chdir(cwd), 0);
}

/* Octal permission bits only; special bits only when the configuration allows them. */
static void test_local_modes(void **st)
{
    (void)st;
    char why[512];
    mk_config cfg = {0};
    mk_prov *p = local_at("modes", &cfg, why);
    assert_non_null(p);
    static const char *const bad[] = {"zzzz", "4777", "0999", "77777", "", "64"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *a = json_pack("{s:s, s:s}", "path", "f", "mode", bad[i]);
        mk_prov_op op = {.address = "local.file.f", .type = "local.file", .attrs = a};
        json_t *out = NULL;
        assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        assert_non_null(strstr(why, "octal permission bits"));
        json_decref(a);
    }
    assert_int_equal(access("modes/f", F_OK), -1);
    json_t *a = json_pack("{s:s, s:s, s:[s]}", "path", "g", "mode", "0755", "special_bits", "setgid");
    mk_prov_op op = {.address = "local.file.g", .type = "local.file", .attrs = a};
    json_t *out = NULL;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "allow_special_bits"));
    cfg.local.allow_special_bits = true;
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    struct stat sb;
    assert_int_equal(stat("modes/g", &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 02755);
    json_decref(a);
    p->free(p);
}

/* The executor's configuration: strict, and named in every error. */
static void test_exec_config(void **st)
{
    (void)st;
    char why[1024], cwd[PATH_MAX];
    mk_config cfg;
    assert_non_null(getcwd(cwd, sizeof cwd));
    mkdir("conf", 0755);
    mkdir("conf/allowed", 0755);
    mkdir("cstack", 0755);
    assert_int_equal(chdir("cstack"), 0); /* the stack directory; the configuration is outside it */
    setenv("MOKSHA_EXEC_CONFIG", "../conf/none.json", 1);
    assert_false(mk_config_load(&cfg, why, sizeof why)); /* named, missing: an error */
    assert_non_null(strstr(why, "conf/none.json"));
    unsetenv("MOKSHA_EXEC_CONFIG");
    setenv("XDG_CONFIG_HOME", "/nonexistent-moksha", 1);
    assert_true(mk_config_load(&cfg, why, sizeof why)); /* the default, missing: defaults */
    assert_int_equal(cfg.local.nallowed_roots, 0);
    setenv("MOKSHA_EXEC_CONFIG", "../conf/exec.json", 1);
    static const struct { const char *text, *want; } cases[] = {
        {"{\"format\": \"moksha.exec-config/v1\", \"locl\": {}}", "key `locl`: unknown setting"},
        {"{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allowed_root\": []}}", "key `local.allowed_root`: unknown"},
        {"{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allowed_roots\": \"/tmp\"}}", "key `local.allowed_roots`: expected a list"},
        {"{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allowed_roots\": [\"rel\"]}}", "key `local.allowed_roots[0]`: expected an absolute"},
        {"{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allowed_roots\": [\"/no/such/dir\"]}}", "not an existing directory"},
        {"{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allow_special_bits\": \"yes\"}}", "key `local.allow_special_bits`: expected true or false"},
        {"{\"local\": {}}", "key `format`: expected \"moksha.exec-config/v1\""},
        {"[1]", "expected a JSON object"},
        {"{\"format\": ", "conf/exec.json:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        FILE *f = fopen("../conf/exec.json", "w");
        fputs(cases[i].text, f);
        fclose(f);
        chmod("../conf/exec.json", 0644);
        assert_false(mk_config_load(&cfg, why, sizeof why));
        if (!strstr(why, cases[i].want))
            fail_msg("%s: got `%s`", cases[i].text, why);
        assert_non_null(strstr(why, "conf/exec.json"));
    }
    char text[PATH_MAX + 128], allowed[PATH_MAX];
    assert_non_null(realpath("../conf/allowed", allowed));
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"local\": {\"allowed_roots\": [\"%s\"], "
             "\"allow_special_bits\": true}}", allowed);
    FILE *f = fopen("../conf/exec.json", "w");
    fputs(text, f);
    fclose(f);
    assert_true(mk_config_load(&cfg, why, sizeof why));
    assert_int_equal(cfg.local.nallowed_roots, 1);
    assert_string_equal(cfg.local.allowed_roots[0], allowed);
    assert_true(cfg.local.allow_special_bits);
    assert_non_null(strstr(cfg.dir, "/conf"));
    mk_config_free(&cfg);
    chmod("../conf/exec.json", 0666); /* others can write it: refused */
    assert_false(mk_config_load(&cfg, why, sizeof why));
    assert_non_null(strstr(why, "writable by everyone"));
    chmod("../conf/exec.json", 0664);
    assert_false(mk_config_load(&cfg, why, sizeof why));
    assert_non_null(strstr(why, "its group"));
    f = fopen("exec.json", "w"); /* in the stack: refused */
    fputs("{\"format\": \"moksha.exec-config/v1\"}", f);
    fclose(f);
    chmod("exec.json", 0600);
    setenv("MOKSHA_EXEC_CONFIG", "exec.json", 1);
    assert_false(mk_config_load(&cfg, why, sizeof why));
    assert_non_null(strstr(why, "cannot be in the stack directory"));
    unsetenv("MOKSHA_EXEC_CONFIG");
    assert_int_equal(chdir(cwd), 0);
    unsetenv("XDG_CONFIG_HOME");
}

/* note [refresh caps]: what a socket client may ask of a refresh, with
 * its defaults and the service's own values. The configuration is loaded
 * from svc/stack, the stack directory, and lies outside it. */
static bool service_caps(const char *caps, mk_config *cfg, char *why, size_t whylen)
{
    FILE *f = fopen("svc/exec.json", "w");
    fprintf(f, "{\"format\": \"moksha.exec-config/v1\", \"service\": {\"socket\": \"/run/m.sock\", "
               "\"stacks\": \"/var/lib/m\"%s}}", caps);
    fclose(f);
    chmod("svc/exec.json", 0600);
    bool ok = chdir("svc/stack") == 0 && mk_config_load(cfg, why, whylen);
    assert_int_equal(chdir("../.."), 0);
    return ok;
}

static void test_service_caps(void **st)
{
    (void)st;
    char why[1024];
    mk_config cfg;
    assert_int_equal(mkdir("svc", 0755) | mkdir("svc/stack", 0755), 0);
    setenv("MOKSHA_EXEC_CONFIG", "../exec.json", 1);
    assert_true(service_caps("", &cfg, why, sizeof why));
    assert_int_equal(cfg.service.max_refresh_parallelism, 64);
    assert_int_equal(cfg.service.max_refresh_retries, 10);
    assert_true(cfg.service.max_refresh_timeout_ms == 300000);
    mk_config_free(&cfg);
    assert_true(service_caps(", \"max_refresh_parallelism\": 8, \"max_refresh_retries\": 0, \"max_refresh_timeout\": \"30s\"",
                             &cfg, why, sizeof why));
    assert_int_equal(cfg.service.max_refresh_parallelism, 8);
    assert_int_equal(cfg.service.max_refresh_retries, 0);
    assert_true(cfg.service.max_refresh_timeout_ms == 30000);
    mk_config_free(&cfg);
    assert_false(service_caps(", \"max_refresh_retries\": 101", &cfg, why, sizeof why));
    assert_non_null(strstr(why, "key `service.max_refresh_retries`: expected a number from 0 to 100"));
    assert_false(service_caps(", \"max_refresh_timeout\": 30", &cfg, why, sizeof why));
    assert_non_null(strstr(why, "key `service.max_refresh_timeout`: expected a duration"));
    assert_false(service_caps(", \"max_refresh_parallelism\": 0", &cfg, why, sizeof why));
    assert_non_null(strstr(why, "key `service.max_refresh_parallelism`: expected a number from 1 to 1024"));
    unsetenv("MOKSHA_EXEC_CONFIG");
}

static void test_durations(void **st)
{
    (void)st;
    double ms;
    assert_true(mk_clock_parse_duration("20ms", &ms) && ms == 20);
    assert_true(mk_clock_parse_duration("1.5s", &ms) && ms == 1500);
    assert_true(mk_clock_parse_duration("5m", &ms) && ms == 300000);
    assert_false(mk_clock_parse_duration("5 parsecs", &ms));
    assert_false(mk_clock_parse_duration("-1s", &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_chain),
        cmocka_unit_test(test_audit_refuses_cut_log),
        cmocka_unit_test(test_audit_state_against_head),
        cmocka_unit_test(test_state_atomic),
        cmocka_unit_test(test_local_jail),
        cmocka_unit_test(test_exec_provider),
        cmocka_unit_test(test_exec_caps),
        cmocka_unit_test(test_local_root),
        cmocka_unit_test(test_local_modes),
        cmocka_unit_test(test_exec_config),
        cmocka_unit_test(test_service_caps),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
