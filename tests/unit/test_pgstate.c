/* test_pgstate — the postgres state backend (runtime/backend_pg.c) on a
 * real server: the suite's throwaway one (tests/with_pg.sh exports
 * MOKSHA_TEST_PG and libpq's PG* settings). Each test has a schema of its
 * own, dropped after it. Skipped only when MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"
#include "tests/unit/testkey.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/rand.h"
#include "runtime/rtstate.h"

static mk_config cfg;
static PGconn *admin;

static int setup(void **state)
{
    (void)state;
    if (!getenv("MOKSHA_TEST_PG"))
        return 0;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.state.backend, sizeof cfg.state.backend, "postgres");
    char r[9];
    mk_rand_hex(r, 4);
    snprintf(cfg.state.pg.schema, sizeof cfg.state.pg.schema, "t pg\"%s", r); /* a name that needs quoting */
    admin = PQconnectdb("");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!admin)
        return 0;
    char *q = PQescapeIdentifier(admin, cfg.state.pg.schema, strlen(cfg.state.pg.schema)), sql[200];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", q);
    PQfreemem(q);
    PQclear(PQexec(admin, sql));
    PQfinish(admin);
    admin = NULL;
    return 0;
}

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!getenv("MOKSHA_TEST_PG"))                                                                               \
            skip();                                                                                                  \
    } while (0)

/* SQL on the test's schema, as the administrator; the first value, or "". */
static char *sql1(const char *sql)
{
    static char out[256];
    char *qs = PQescapeIdentifier(admin, cfg.state.pg.schema, strlen(cfg.state.pg.schema)), set[200];
    snprintf(set, sizeof set, "SET search_path = %s", qs);
    PQfreemem(qs);
    PQclear(PQexec(admin, set));
    PGresult *r = PQexec(admin, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, sizeof out, "%s", st == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return out;
}

static mk_backend *open_be(const char *stack, const char *env)
{
    char why[600];
    mk_backend *b = mk_backend_open(&cfg, NULL, stack, env, why, sizeof why);
    if (!b)
        fail_msg("open: %s", why);
    return b;
}

static json_t *entry(const char *addr, int v)
{
    return json_pack("{s:s, s:s, s:{s:i}}", "address", addr, "type", "sim_thing", "attributes", "v", v);
}

/* A snapshot with its delta (note [state delta]): rtstate's own when it
 * makes one, else the one these changes make. */
static json_t *snapshot(mk_rtstate *s, const char *const *puts, const char *const *removed)
{
    json_t *snap = mk_rtstate_snapshot(s);
    if (json_object_get(snap, "delta"))
        return snap;
    json_t *d = json_pack("{s:{}, s:[]}", "put", "removed");
    for (; puts && *puts; puts++)
        json_object_set_new(json_object_get(d, "put"), *puts, mk_rtstate_entry_text(mk_rtstate_get(s, *puts)));
    for (; removed && *removed; removed++)
        json_array_append_new(json_object_get(d, "removed"), json_string(*removed));
    json_object_set_new(snap, "delta", d);
    return snap;
}

/* The file rtstate would write for s as it is now (its serial unchanged). */
static char *file_of(mk_rtstate *s)
{
    json_t *snap = mk_rtstate_snapshot(s);
    json_object_del(snap, "delta");
    json_object_set_new(snap, "serial", json_integer(mk_rtstate_serial(s) - 1));
    json_object_set_new(s->doc, "serial", json_integer(mk_rtstate_serial(s) - 1));
    char *t = mk_rtstate_text(snap);
    size_t n = strlen(t);
    t = realloc(t, n + 2);
    strcpy(t + n, "\n");
    return t;
}

static bool persist(mk_backend *b, mk_rtstate *s, long long expect, const char *const *puts, const char *const *rm,
                    char *why, size_t whylen)
{
    mk_backend_write w = {.snapshot = snapshot(s, puts, rm), .expect = expect, .operation = "apply", .run = "r1"};
    w.serial = expect + 1;
    return mk_backend_persist(b, NULL, &w, why, whylen);
}

static mk_lock_status take(mk_backend *b, char id[37], char *why, size_t whylen)
{
    return mk_backend_lock(b, "apply", "abc123", 0, id, NULL, why, whylen);
}

static void test_schema_and_empty(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *b = open_be("web", "prod");
    assert_string_equal(sql1("SELECT value FROM meta WHERE key = 'schema_version'"), "2");
    assert_int_equal(strlen(sql1("SELECT value FROM meta WHERE key = 'database_id'")), 36);
    char why[600];
    bool empty = false, absent = false;
    assert_true(mk_backend_is_empty(b, &empty, why, sizeof why));
    assert_true(empty);
    mk_rtstate *s = mk_backend_load(b, why, sizeof why);
    assert_non_null(s);
    assert_int_equal(mk_rtstate_serial(s), 0);
    assert_string_equal(mk_rtstate_lineage(s), "");
    mk_rtstate_free(s);
    size_t n;
    assert_null(mk_backend_state_text(b, -1, &n, &absent, why, sizeof why));
    assert_true(absent);
    assert_string_equal(mk_backend_info_of(b)->kind, "postgres");
    assert_non_null(strstr(mk_backend_info_of(b)->location, "schema=t pg\""));
    mk_backend_close(b);
    /* a schema newer than this executor is refused, naming both versions */
    sql1("UPDATE meta SET value = '7' WHERE key = 'schema_version'");
    assert_null(mk_backend_open(&cfg, NULL, "web", "prod", why, sizeof why));
    assert_non_null(strstr(why, "is version 7, newer than this executor knows (2)"));
    /* and the stack is needed */
    sql1("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    assert_null(mk_backend_open(&cfg, NULL, "", "prod", why, sizeof why));
    assert_non_null(strstr(why, "--stack NAME"));
}

/* Two serials, read back from another connection byte for byte; the
 * second's delta only what changed; history chained; serial 1 rebuilt. */
static void test_load_persist_history(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod"), *b = open_be("web", "prod");
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    mk_rtstate_put(s, entry("x.a", 1));
    mk_rtstate_put(s, entry("x.b", 2));
    mk_rtstate_put(s, entry("x.c", 3));
    const char *p1[] = {"x.a", "x.b", "x.c", NULL};
    assert_true(persist(a, s, 0, p1, NULL, why, sizeof why));
    char *file1 = file_of(s);
    mk_rtstate_put(s, entry("x.a", 10));
    mk_rtstate_remove(s, "x.b");
    mk_rtstate_put(s, entry("x.d", 4));
    const char *p2[] = {"x.a", "x.d", NULL}, *r2[] = {"x.b", NULL};
    assert_true(persist(a, s, 1, p2, r2, why, sizeof why));
    char *file2 = file_of(s);

    mk_rtstate *t = mk_backend_load(b, why, sizeof why);
    assert_non_null(t);
    assert_int_equal(mk_rtstate_serial(t), 2);
    assert_string_equal(mk_rtstate_lineage(t), mk_rtstate_lineage(s));
    assert_null(mk_rtstate_get(t, "x.b"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(mk_rtstate_get(t, "x.a"), "attributes"), "v")), 10);
    size_t n;
    bool absent;
    char *now = mk_backend_state_text(b, -1, &n, &absent, why, sizeof why), *old = mk_backend_state_text(b, 1, &n, &absent, why, sizeof why);
    assert_string_equal(now, file2); /* x.a kept its place, x.d last */
    assert_string_equal(old, file1);
    assert_null(mk_backend_state_text(b, 9, &n, &absent, why, sizeof why));
    assert_true(absent);
    assert_string_equal(sql1("SELECT delta::text FROM history WHERE serial = 2"),
                        "{\"put\":[[\"x.a\",1,{\"address\": \"x.a\", \"type\": \"sim_thing\", \"attributes\": {\"v\": 10}}],"
                        "[\"x.d\",4,{\"address\": \"x.d\", \"type\": \"sim_thing\", \"attributes\": {\"v\": 4}}]],"
                        "\"removed\":[\"x.b\"]}");
    assert_string_equal(sql1("SELECT serial FROM resources WHERE address = 'x.c'"), "1");
    json_t *h = mk_backend_history(b, why, sizeof why);
    assert_int_equal(json_array_size(h), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 1), "serial")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "operation")), "apply");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(h, 1), "removed"), 0)), "x.b");
    assert_int_equal(json_array_size(json_object_get(json_array_get(h, 1), "changed")), 2);
    assert_string_equal(sql1("SELECT prev_hash FROM history WHERE serial = 2"),
                        sql1("SELECT hash FROM history WHERE serial = 1"));
    json_decref(h);
    json_t *envs = mk_backend_envs(b, why, sizeof why);
    assert_int_equal(json_array_size(envs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(envs, 0), "env")), "prod");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(envs, 0), "resources")), 3);
    json_decref(envs);
    free(now), free(old), free(file1), free(file2);
    mk_rtstate_free(s), mk_rtstate_free(t);
    mk_backend_unlock(a, id);
    mk_backend_close(a), mk_backend_close(b);
}

/* A write that lost the race fails naming the serial found, and writes nothing. */
static void test_cas_loss(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", ""), *b = open_be("web", "");
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why), *t = mk_backend_load(b, why, sizeof why);
    mk_rtstate_put(s, entry("x.a", 1));
    mk_rtstate_put(t, entry("x.z", 9));
    const char *pa[] = {"x.a", NULL}, *pz[] = {"x.z", NULL};
    assert_true(persist(b, t, 0, pz, NULL, why, sizeof why));
    assert_false(persist(a, s, 0, pa, NULL, why, sizeof why));
    assert_non_null(strstr(why, "the state of web is at serial 1, not 0 as this run expected: another run wrote it"));
    assert_string_equal(sql1("SELECT string_agg(address, ',') FROM resources"), "x.z");
    assert_string_equal(sql1("SELECT count(*) FROM history"), "1");
    mk_rtstate_free(s), mk_rtstate_free(t);
    mk_backend_close(a), mk_backend_close(b);
}

static void two_serials(mk_backend *a)
{
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    mk_rtstate_put(s, entry("x.a", 1));
    mk_rtstate_put(s, entry("x.b", 2));
    const char *p1[] = {"x.a", "x.b", NULL}, *p2[] = {"x.b", NULL};
    assert_true(persist(a, s, 0, p1, NULL, why, sizeof why));
    mk_rtstate_put(s, entry("x.b", 3));
    assert_true(persist(a, s, 1, p2, NULL, why, sizeof why));
    mk_rtstate_free(s);
    mk_backend_unlock(a, id);
}

static void load_fails(mk_backend *b, const char *says)
{
    char why[600];
    mk_rtstate *s = mk_backend_load(b, why, sizeof why);
    if (s)
        fail_msg("loaded a damaged state (%s)", says);
    if (!strstr(why, says))
        fail_msg("`%s` does not say `%s`", why, says);
}

/* A damaged row, an altered delta, a chain short of the serial: errors naming them. */
static void test_damage(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod");
    two_serials(a);
    sql1("UPDATE resources SET entry = '{\"address\": \"x.a\"}' WHERE address = 'x.a'");
    load_fails(a, "postgres web/prod: resources row `x.a`: its entry lacks its address, type or attributes");
    sql1("UPDATE resources SET entry = '{\"address\": \"x.q\", \"type\": \"t\", \"attributes\": {}}' WHERE address = 'x.a'");
    load_fails(a, "resources row `x.a`: its entry is `x.q`'s");
    sql1("UPDATE resources SET entry = '{\"address\": \"x.a\", \"type\": \"sim_thing\", \"attributes\": {\"v\": 1}}' "
         "WHERE address = 'x.a'");
    char why[600];
    mk_rtstate *ok = mk_backend_load(a, why, sizeof why);
    assert_non_null(ok);
    mk_rtstate_free(ok);
    sql1("UPDATE history SET delta = '{\"put\":[],\"removed\":[]}' WHERE serial = 2");
    assert_null(mk_backend_history(a, why, sizeof why));
    assert_non_null(strstr(why, "history row serial 2: its hash does not match its delta"));
    sql1("UPDATE history SET hash = 'x' WHERE serial = 2");
    load_fails(a, "the stack's history_hash is not the hash of history row serial 2");
    sql1("UPDATE history SET delta = '{\"put\":[],\"removed\":[]}' WHERE serial = 1");
    assert_null(mk_backend_history(a, why, sizeof why));
    assert_non_null(strstr(why, "history row serial 1: its hash does not match its delta"));
    sql1("DELETE FROM history WHERE serial = 2");
    load_fails(a, "its history ends at serial 1, but the stack is at serial 2: the chain does not reach");
    sql1("DELETE FROM history");
    load_fails(a, "the stack is at serial 2 but its history holds no serial");
    mk_backend_close(a);
}

static void load_and_pull_fail(mk_backend *b, const char *says)
{
    char why[600];
    size_t n;
    bool absent = false;
    load_fails(b, says);
    char *t = mk_backend_state_text(b, -1, &n, &absent, why, sizeof why);
    if (t || absent)
        fail_msg("pulled a damaged state as %s (%s)", t ? "a state" : "no state", says);
    if (!strstr(why, says))
        fail_msg("`%s` does not say `%s`", why, says);
}

/* The rows are bound to the chain (note [entries digest]): a row edited,
 * removed or added, or the serial set back to 0, is damage, never a
 * smaller state; a write keeps the digest by adding and subtracting. */
static void test_rows_bound(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod");
    two_serials(a);
    static const char row_sum[] = "SELECT encode(sha256(convert_to(address || E'\\n' || pos || E'\\n' || entry::text, "
                                  "'UTF8')), 'hex') FROM resources WHERE address = 'x.b'";
    char xb[65];
    snprintf(xb, sizeof xb, "%s", sql1(row_sum));
    const char *says = "the resources rows are not the entries history row serial 2 recorded (their digest differs)";
    sql1("CREATE TABLE keep AS SELECT * FROM resources");
    sql1("UPDATE resources SET entry = replace(entry::text, '\"v\": 1', '\"v\": 5')::json WHERE address = 'x.a'");
    load_and_pull_fail(a, says);
    sql1("DELETE FROM resources WHERE address = 'x.a'");
    load_and_pull_fail(a, says);
    sql1("INSERT INTO resources SELECT * FROM keep WHERE address = 'x.a'");
    sql1("UPDATE resources SET pos = 9 WHERE address = 'x.a'");
    load_and_pull_fail(a, says);
    sql1("UPDATE resources SET pos = 1 WHERE address = 'x.a'");
    sql1("INSERT INTO resources SELECT stack_id, 'x.c', 3, replace(entry::text, 'x.a', 'x.c')::json, serial FROM keep "
         "WHERE address = 'x.a'");
    load_and_pull_fail(a, says);
    sql1("DELETE FROM resources WHERE address = 'x.c'");
    sql1("UPDATE stacks SET serial = 0");
    load_and_pull_fail(a, "the stack is at serial 0 (no state) but it has history or resources rows");
    sql1("UPDATE stacks SET serial = 2");
    /* a write removing x.a leaves x.b's own digest, the sum less x.a's */
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    assert_non_null(s);
    mk_backend_write lines_only = {.serial = 2, .expect = 2, .operation = "apply"}; /* leaves the digest be */
    assert_true(mk_backend_persist(a, NULL, &lines_only, why, sizeof why));
    mk_rtstate_remove(s, "x.a");
    const char *r3[] = {"x.a", NULL};
    assert_true(persist(a, s, 2, NULL, r3, why, sizeof why));
    mk_rtstate_free(s);
    mk_backend_unlock(a, id);
    assert_string_equal(sql1("SELECT digest FROM history WHERE serial = 3"), xb);
    mk_backend *b = open_be("web", "prod");
    s = mk_backend_load(b, why, sizeof why);
    assert_non_null(s);
    assert_int_equal(mk_rtstate_serial(s), 3);
    mk_rtstate_free(s);
    /* the digest is inside the chain's hash: cleared, the chain says so */
    sql1("UPDATE history SET digest = NULL WHERE serial = 3");
    assert_null(mk_backend_history(b, why, sizeof why));
    assert_non_null(strstr(why, "history row serial 3: its hash does not match its delta"));
    mk_backend_close(a), mk_backend_close(b);
}

/* A schema 1 database: connecting adds history.digest; the state written
 * before it reads as it did, and the next write binds its rows. */
static void test_schema_migration(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod");
    two_serials(a);
    mk_backend_close(a);
    sql1("ALTER TABLE history DROP COLUMN digest");
    sql1("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    a = open_be("web", "prod");
    assert_string_equal(sql1("SELECT value FROM meta WHERE key = 'schema_version'"), "2");
    assert_string_equal(sql1("SELECT count(*) FROM history WHERE digest IS NULL"), "2");
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    assert_non_null(s);
    assert_int_equal(mk_rtstate_serial(s), 2);
    mk_rtstate_put(s, entry("x.c", 4));
    const char *p3[] = {"x.c", NULL};
    assert_true(persist(a, s, 2, p3, NULL, why, sizeof why));
    mk_rtstate_free(s);
    mk_backend_unlock(a, id);
    assert_int_equal(strlen(sql1("SELECT digest FROM history WHERE serial = 3")), 64);
    sql1("DELETE FROM resources WHERE address = 'x.a'");
    load_fails(a, "history row serial 3 recorded (their digest differs)");
    mk_backend_close(a);
}

/* The loser names the holder; waiting polls; a dead session's row is stale. */
static void test_lock(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod"), *b = open_be("web", "prod");
    char why[600], ida[37], idb[37];
    json_t *info = NULL;
    assert_int_equal(mk_backend_lock(a, "apply", "3f2a00112233445566", 0, ida, &info, why, sizeof why), MK_LOCK_TAKEN);
    assert_string_equal(json_string_value(json_object_get(info, "id")), ida);
    assert_string_equal(json_string_value(json_object_get(info, "operation")), "apply");
    assert_int_equal(json_integer_value(json_object_get(info, "pid")), getpid());
    json_decref(info);
    assert_true(mk_backend_lock_held(a));
    double t0 = mk_clock_now_ms();
    assert_int_equal(mk_backend_lock(b, "destroy", NULL, 300, idb, NULL, why, sizeof why), MK_LOCK_HELD);
    assert_true(mk_clock_now_ms() - t0 >= 300);
    assert_non_null(strstr(why, "web/prod is locked by apply (plan 3f2a00112233…) of "));
    assert_non_null(strstr(why, ida));
    info = mk_backend_lock_info(b, why, sizeof why);
    assert_string_equal(json_string_value(json_object_get(info, "id")), ida);
    json_decref(info);
    assert_int_equal(mk_backend_lock_force(b, ida, false, &info, why, sizeof why), 2);
    assert_non_null(strstr(why, "whose server session still holds the advisory lock"));
    /* the row is anyone's to rewrite: the advisory lock is asked, not the row */
    char real[16];
    snprintf(real, sizeof real, "%s", sql1("SELECT backend_pid FROM locks"));
    sql1("UPDATE locks SET backend_pid = 1");
    assert_int_equal(mk_backend_lock_force(b, ida, true, &info, why, sizeof why), 2);
    assert_int_equal(mk_backend_lock_force(b, ida, false, &info, why, sizeof why), 2);
    assert_null(info);
    assert_string_equal(sql1("SELECT lock_id FROM locks"), ida);
    assert_true(mk_backend_lock_held(a));
    /* the holder's session ends: the lock is free at once, its row stale */
    char kill[80];
    snprintf(kill, sizeof kill, "SELECT pg_terminate_backend(%s)", real);
    sql1(kill);
    mk_clock_sleep_ms(1050);
    assert_false(mk_backend_lock_held(a));
    info = mk_backend_lock_info(b, why, sizeof why);
    assert_null(info);
    /* breaking the stale row holds the lock from the check to the removal:
     * no run starts between them */
    mk_backend *c = open_be("web", "prod");
    assert_int_equal(mk_backend_lock_force(b, ida, true, &info, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(info, "id")), ida);
    json_decref(info);
    assert_int_equal(mk_backend_lock(c, "apply", NULL, 0, idb, NULL, why, sizeof why), MK_LOCK_HELD);
    assert_int_equal(mk_backend_lock_force(b, ida, false, &info, why, sizeof why), 0);
    json_decref(info);
    assert_string_equal(sql1("SELECT count(*) FROM locks"), "0");
    mk_backend_close(c);
    assert_int_equal(mk_backend_lock(b, "destroy", NULL, 0, idb, NULL, why, sizeof why), MK_LOCK_TAKEN);
    assert_non_null(strstr(sql1("SELECT lock_id || ' ' || operation FROM locks"), idb));
    mk_backend_unlock(b, idb);
    assert_string_equal(sql1("SELECT count(*) FROM locks"), "0");
    mk_backend_close(a), mk_backend_close(b);
}

typedef struct worker {
    mk_backend *b;
    const char *run;
    char address[32];
    bool ok;
} worker;

static void *intend_one(void *arg)
{
    worker *w = arg;
    char why[400];
    w->ok = mk_backend_intend(w->b, w->run, w->address, "create", 7, why, sizeof why);
    return NULL;
}

/* Concurrent intents all committed; a write settles some; the next run
 * under the lock gets the rest and drops them. */
static void test_intents(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod"), *b = open_be("web", "prod");
    char why[600], ida[37], idb[37];
    assert_int_equal(take(a, ida, why, sizeof why), MK_LOCK_TAKEN);
    worker w[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        w[i] = (worker){.b = a, .run = ida};
        snprintf(w[i].address, sizeof w[i].address, "x.n[%d]", i);
        pthread_create(&th[i], NULL, intend_one, &w[i]);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        assert_true(w[i].ok);
    }
    assert_string_equal(sql1("SELECT count(*) FROM intents WHERE action = 'create' AND change = 7"), "16");
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    for (int i = 0; i < 12; i++)
        mk_rtstate_put(s, entry(w[i].address, i));
    const char *done[13];
    for (int i = 0; i < 12; i++)
        done[i] = w[i].address;
    done[12] = NULL;
    mk_backend_write wr = {.snapshot = snapshot(s, done, NULL), .serial = 1, .expect = 0, .operation = "apply",
                           .run = ida, .done = done, .ndone = 12};
    assert_true(mk_backend_persist(a, NULL, &wr, why, sizeof why));
    assert_string_equal(sql1("SELECT count(*) FROM intents"), "4");
    mk_rtstate_free(s);
    sql1("SELECT pg_terminate_backend(backend_pid) FROM locks"); /* the holder dies (its session ends a moment later) */
    assert_int_equal(mk_backend_lock(b, "apply", NULL, 5000, idb, NULL, why, sizeof why), MK_LOCK_TAKEN);
    json_t *left = mk_backend_take_intents(b, why, sizeof why);
    assert_int_equal(json_array_size(left), 4);
    json_t *one = json_array_get(left, 0);
    assert_string_equal(json_string_value(json_object_get(one, "run")), ida);
    assert_string_equal(json_string_value(json_object_get(one, "action")), "create");
    assert_int_equal(json_integer_value(json_object_get(one, "change")), 7);
    assert_non_null(strstr(json_string_value(json_object_get(one, "address")), "x.n[1"));
    json_decref(left);
    left = mk_backend_take_intents(b, why, sizeof why);
    assert_int_equal(json_array_size(left), 0);
    json_decref(left);
    assert_false(mk_backend_intend(a, ida, "x.q", "delete", 1, why, sizeof why)); /* a lost lock takes no intent */
    mk_backend_unlock(b, idb);
    mk_backend_close(a), mk_backend_close(b);
}


/* The audit log as rows: chained and sealed by audit.c, verified from text. */
/* A write settles the intents of what it records; a run that ends, its own. */
static void test_intents_settled(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "");
    char why[600], id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    assert_true(mk_backend_intend(a, id, "x.a", "create", 1, why, sizeof why));
    assert_true(mk_backend_intend(a, id, "x.b", "create", 2, why, sizeof why));
    assert_true(mk_backend_intend(a, id, "x.c", "delete", -1, why, sizeof why));
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    mk_rtstate_put(s, entry("x.a", 1));
    const char *p1[] = {"x.a", NULL};
    mk_backend_write w = {.snapshot = snapshot(s, p1, NULL), .serial = 1, .expect = 0, .operation = "apply", .run = id};
    assert_true(mk_backend_persist(a, NULL, &w, why, sizeof why));
    assert_string_equal(sql1("SELECT string_agg(address || ' ' || coalesce(change::text, '-'), ',' ORDER BY address) FROM intents"),
                        "x.b 2,x.c -");
    mk_backend_unlock(a, id);
    assert_string_equal(sql1("SELECT count(*) FROM intents"), "0");
    mk_rtstate_free(s);
    mk_backend_close(a);
}

static void test_audit_rows(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("web", "prod");
    char why[600], id[37];
    mk_keyring k = mk_test_keyring('k');
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    mk_rtstate *s = mk_backend_load(a, why, sizeof why);
    mk_audit_mark mark;
    mk_rtstate_audit_record(s, &mark);
    mk_audit *log = mk_backend_audit_open(a, &k, &mark, why, sizeof why);
    assert_non_null(log);
    json_t *f1 = json_pack("{s:s}", "event", "lock"), *f2 = json_pack("{s:s, s:s}", "event", "step", "address", "x.a");
    char *l1 = mk_audit_entry(log, f1), *l2 = mk_audit_entry(log, f2);
    json_decref(f1), json_decref(f2);
    char lines[2000];
    snprintf(lines, sizeof lines, "%s%s", l1, l2);
    mk_audit_mark last;
    mk_audit_last(log, &last);
    mk_rtstate_set_audit_mark(s, last.seq, last.hash);
    mk_rtstate_put(s, entry("x.a", 1));
    const char *p1[] = {"x.a", NULL};
    mk_backend_write w = {.lines = lines, .nlines = strlen(lines), .snapshot = snapshot(s, p1, NULL), .serial = 1,
                          .expect = 0, .operation = "apply", .run = id};
    assert_true(mk_backend_persist(a, log, &w, why, sizeof why));
    assert_true(mk_audit_append(log, json_pack("{s:s}", "event", "unlock")));
    mk_audit_close(log);
    size_t n;
    char *head;
    char *text = mk_backend_audit_text(a, &n, &head, why, sizeof why);
    assert_int_equal(n, strlen(lines) + strlen(sql1("SELECT line FROM audit WHERE seq = 3")) + 1);
    assert_memory_equal(text, lines, strlen(lines));
    assert_non_null(strstr(head, "\"seq\":3,"));
    assert_non_null(strstr(head, "\"serial\":1,"));
    mk_rtstate_free(s);
    s = mk_backend_load(a, why, sizeof why);
    mk_rtstate_audit_record(s, &mark);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    assert_int_equal(mk_audit_verify_text("postgres web/prod", text, n, head, &k, &mark, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "postgres web/prod: ok: 3 entries, chain intact"));
    free(buf);
    log = mk_backend_audit_open(a, &k, &mark, why, sizeof why);
    assert_non_null(log);
    mk_audit_close(log);
    sql1("UPDATE audit SET line = replace(line, 'x.a', 'x.b') WHERE seq = 2");
    assert_null(mk_backend_audit_open(a, &k, &mark, why, sizeof why));
    assert_non_null(strstr(why, "the audit log postgres web/prod disagrees"));
    free(text), free(head), free(l1), free(l2);
    mk_rtstate_free(s);
    mk_backend_unlock(a, id);
    mk_backend_close(a);
    mk_keyring_free(&k);
}

/* A migrated stack: its bytes kept; a second import refused. Observations too. */
static void test_import_observed(void **state)
{
    (void)state;
    NEED_PG();
    mk_backend *a = open_be("net", "dev");
    char why[600];
    mk_rtstate *s = mk_rtstate_load("", why, sizeof why);
    mk_rtstate_put(s, entry("x.a", 1));
    mk_rtstate_put(s, entry("x.b", 2));
    json_object_set_new(s->doc, "serial", json_integer(41));
    char *file = file_of(s); /* serial 41 */
    const char *lines = "{\"format\":\"moksha.audit/v1\",\"seq\":1,\"time\":\"t\",\"prev\":\"0\",\"event\":\"lock\"}\n";
    const char *head = "{\"seq\":1,\"hash\":\"h\",\"serial\":41,\"mac\":\"m\"}\n", *obs = "{\"format\": \"moksha.observed/v1\"}";
    assert_true(mk_backend_import(a, file, strlen(file), lines, strlen(lines), head, obs, strlen(obs), why, sizeof why));
    size_t n;
    bool absent, empty = true;
    char *back = mk_backend_state_text(a, -1, &n, &absent, why, sizeof why), *h;
    assert_string_equal(back, file);
    char *l = mk_backend_audit_text(a, &n, &h, why, sizeof why);
    assert_string_equal(l, lines);
    assert_string_equal(h, head);
    char *o = mk_backend_observed_text(a, &n, &absent, why, sizeof why);
    assert_string_equal(o, obs);
    assert_true(mk_backend_is_empty(a, &empty, why, sizeof why));
    assert_false(empty);
    assert_false(mk_backend_import(a, file, strlen(file), NULL, 0, NULL, NULL, 0, why, sizeof why));
    assert_non_null(strstr(why, "postgres net/dev is not empty"));
    mk_rtstate *t = mk_backend_load(a, why, sizeof why);
    assert_int_equal(mk_rtstate_serial(t), 41);
    mk_rtstate_free(t);
    char id[37];
    assert_int_equal(take(a, id, why, sizeof why), MK_LOCK_TAKEN);
    assert_true(mk_backend_observed_write(a, "{\"v\": 2}", 8, why, sizeof why));
    free(o);
    o = mk_backend_observed_text(a, &n, &absent, why, sizeof why);
    assert_string_equal(o, "{\"v\": 2}");
    mk_backend_unlock(a, id);
    free(back), free(l), free(h), free(o), free(file);
    mk_rtstate_free(s);
    mk_backend_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_persist_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intents_settled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_observed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
