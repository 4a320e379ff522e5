/* test_pggrant — postgres.grant and postgres.default_privileges
 * (runtime/providers/postgres_grant.c) on a real server: the suite's
 * throwaway one (tests/with_pg.sh). Each run makes a database and roles of
 * its own (prefixed with the process id) and drops them at the end; what
 * the provider did is checked in the server's own catalogs
 * (has_*_privilege, aclexplode), never only through the provider's read.
 * Skipped only when MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/providers/provider.h"
#include "tests/unit/pgtest.h"

static mk_config cfg;
static mk_prov *prov;
static PGconn *admin, *indb; /* on postgres, on the test's database */
static char dir[64], db[32], ra[32], rb[32], rc[32];

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!prov)                                                                                                   \
            skip();                                                                                                  \
    } while (0)

static void sql_on(PGconn *c, const char *sql) { mk_test_pg_value(c, "%s", sql); }

/* the first value of a query on the test's database, "" for none */
#define val(...) mk_test_pg_value(indb, __VA_ARGS__)
#define sqlf(...) ((void)mk_test_pg_value(indb, __VA_ARGS__))

static int setup(void **state)
{
    (void)state;
    if (!getenv("MOKSHA_TEST_PG")) {
        fprintf(stderr, "test_pggrant: MOKSHA_TEST_PG is unset (run under tests/with_pg.sh): skipped\n");
        return 0;
    }
    int pid = (int)getpid();
    snprintf(db, sizeof db, "t%d_grants", pid);
    snprintf(ra, sizeof ra, "t%d_app", pid);
    snprintf(rb, sizeof rb, "t%d_r@x/y,z%%", pid); /* every character an id escapes */
    snprintf(rc, sizeof rc, "t%d_owner", pid);
    admin = PQconnectdb("dbname=postgres");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    sql_on(admin, sql);
    snprintf(sql, sizeof sql, "CREATE ROLE %s; CREATE ROLE \"%s\"; CREATE ROLE %s", ra, rb, rc);
    sql_on(admin, sql);
    snprintf(sql, sizeof sql, "dbname=%s", db);
    indb = PQconnectdb(sql);
    assert_int_equal(PQstatus(indb), CONNECTION_OK);
    PQclear(PQexec(indb, "SET client_min_messages = warning"));
    sqlf("CREATE SCHEMA s; CREATE TABLE s.t1 (i int); CREATE TABLE s.t2 (i int); CREATE SEQUENCE s.q; "
         "CREATE FUNCTION s.f(int) RETURNS int LANGUAGE sql AS 'SELECT 1'; "
         "CREATE FUNCTION s.f(text, int[]) RETURNS int LANGUAGE sql AS 'SELECT 2'; "
         "CREATE FUNCTION s.g() RETURNS int LANGUAGE sql AS 'SELECT 3'; CREATE SCHEMA e; "
         "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA s FROM PUBLIC; GRANT USAGE ON SCHEMA s TO %s", rc);
    /* the executor's configuration: the connection, and nothing else */
    mk_test_tmpdir(dir, "/tmp/mk-pggrant-XXXXXX");
    char text[1024];
    snprintf(text, sizeof text, "{\"format\": \"moksha.exec-config/v1\", \"connections\": {\"dev\": {\"kind\": \"postgres\", "
             "\"conninfo\": \"host=%s port=%s user=moksha dbname=postgres\", \"allow_fault_injection\": true}}}", getenv("PGHOST"), getenv("PGPORT"));
    mk_test_write(dir, "exec.json", text);
    snprintf(sql, sizeof sql, "%s/exec.json", dir);
    chmod(sql, 0600);
    setenv("MOKSHA_EXEC_CONFIG", sql, 1);
    char why[600];
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
    json_t *settings = json_pack("{s:s, s:[s]}", "connection", "dev", "fail_on", "postgres.grant.broken");
    prov = mk_prov_postgres_new(settings, &cfg, "postgres", why, sizeof why);
    json_decref(settings);
    if (!prov)
        fail_msg("%s", why);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (prov)
        prov->free(prov);
    mk_config_free(&cfg);
    if (indb)
        PQfinish(indb);
    if (admin) { /* the database first: the roles' privileges go with it */
        char pfx[32];
        snprintf(pfx, sizeof pfx, "t%d_", (int)getpid());
        mk_test_pg_drop_prefixed(admin, pfx);
        PQfinish(admin);
    }
    if (dir[0])
        mk_test_rmdir(dir);
    return 0;
}

/* ---- calls ---- */

static json_t *grant(const char *role, const char *type, const char *schema, const char *objects, const char *privs,
                     bool option)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "role", role, "database", db, "object_type", type,
                          "schema", schema ? json_string(schema) : json_null(),
                          "objects", objects ? json_loads(objects, 0, NULL) : json_null(),
                          "privileges", json_loads(privs, 0, NULL), "with_grant_option", option);
    assert_non_null(a);
    return a;
}

static json_t *defaults(const char *role, const char *owner, const char *schema, const char *type, const char *privs)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:b}", "role", role, "database", db, "owner", owner, "schema",
                          schema ? json_string(schema) : json_null(), "object_type", type, "privileges",
                          json_loads(privs, 0, NULL), "with_grant_option", 0);
    assert_non_null(a);
    return a;
}

static const char *type_of(json_t *a)
{
    return json_object_get(a, "owner") ? "postgres.default_privileges" : "postgres.grant";
}

static mk_prov_status call(mk_prov_fn fn, const char *address, json_t *attrs, json_t **out, bool *adopted, char *why)
{
    mk_prov_op op = {.address = address, .type = type_of(attrs), .attrs = attrs, .adopted = adopted,
                     .stack_id = "s1", .run_id = "r1"};
    *out = NULL;
    why[0] = 0;
    return fn(prov, &op, out, why, 600);
}

/* create, and the id it computed */
static void create_ok(json_t *attrs, const char *want_id, bool want_adopted)
{
    json_t *out;
    char why[600];
    bool adopted = false;
    mk_prov_status st = call(prov->create, "postgres.grant.g", attrs, &out, &adopted, why);
    if (st != MK_PROV_OK)
        fail_msg("create: %s", why);
    assert_string_equal(json_string_value(json_object_get(out, "id")), want_id);
    assert_int_equal(adopted, want_adopted);
    json_decref(out);
}

static json_t *read_of(json_t *attrs)
{
    json_t *out;
    char why[600];
    if (call(prov->read, "postgres.grant.g", attrs, &out, NULL, why) != MK_PROV_OK)
        fail_msg("read: %s", why);
    return out;
}

/* the read answers attrs exactly as recorded (with its id) */
static void reads_same(json_t *attrs, const char *id)
{
    json_object_set_new(attrs, "id", json_string(id));
    json_t *out = read_of(attrs);
    char *a = json_dumps(attrs, JSON_SORT_KEYS), *b = out ? json_dumps(out, JSON_SORT_KEYS) : NULL;
    assert_non_null(b);
    assert_string_equal(b, a);
    free(a), free(b);
    json_decref(out);
}

/* made as new with the id fmt makes (into id), and read back as recorded */
static void create_same(json_t *attrs, char id[256], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(id, 256, fmt, ap);
    va_end(ap);
    create_ok(attrs, id, false);
    reads_same(attrs, id);
}

static char *read_privs(json_t *attrs)
{
    json_t *out = read_of(attrs);
    char *s = out ? json_dumps(json_object_get(out, "privileges"), JSON_COMPACT) : strdup("gone");
    json_decref(out);
    return s;
}

#define ASSERT_PRIVS(attrs, want)                                                                                    \
    do {                                                                                                             \
        char *got_ = read_privs(attrs);                                                                              \
        assert_string_equal(got_, want);                                                                             \
        free(got_);                                                                                                  \
    } while (0)

static void del_ok(json_t *attrs)
{
    json_t *out;
    char why[600];
    if (call(prov->del, "postgres.grant.g", attrs, &out, NULL, why) != MK_PROV_OK)
        fail_msg("delete: %s", why);
}

/* the privileges role holds on an object, as the server's aclexplode has them, e.g. "CONNECT*,TEMPORARY" */
static const char *acl(const char *acl_sql, const char *role)
{
    return val("SELECT coalesce(string_agg(privilege_type || CASE WHEN is_grantable THEN '*' ELSE '' END, ',' ORDER BY "
               "privilege_type), '') FROM aclexplode((%s)) WHERE grantee = %s", acl_sql,
               strcmp(role, "public") ? val("SELECT '%s'::regrole::oid", role) : "0");
}

static char acl_buf[256];
#define DBACL(role) (snprintf(acl_buf, sizeof acl_buf, "%s", acl("SELECT coalesce(datacl, acldefault('d', datdba)) FROM pg_database WHERE datname = current_database()", role)), acl_buf)
#define RELACL(rel, role) (snprintf(acl_buf, sizeof acl_buf, "%s", acl("SELECT coalesce(relacl, acldefault('r', relowner)) FROM pg_class WHERE oid = '" rel "'::regclass", role)), acl_buf)

/* ---- tests ---- */

/* An exact set on a database: a privilege held and not listed is revoked;
 * the read answers as recorded; a delete revokes what it lists. */
static void test_database_exact(void **state)
{
    (void)state;
    NEED_PG();
    sqlf("GRANT CREATE ON DATABASE %s TO %s", db, ra);
    json_t *g = grant(ra, "database", NULL, NULL, "[\"temporary\", \"connect\"]", false);
    char id[256];
    create_same(g, id, "%s@%s/database", ra, db);
    assert_string_equal(DBACL(ra), "CONNECT,TEMPORARY");
    /* again: exactly so already, so adopted (its undo revokes nothing) */
    create_ok(g, id, true);
    /* out of band: one revoked, then one more granted */
    sqlf("REVOKE TEMPORARY ON DATABASE %s FROM %s", db, ra);
    ASSERT_PRIVS(g, "[\"connect\"]");
    sqlf("GRANT TEMPORARY, CREATE ON DATABASE %s TO %s", db, ra);
    ASSERT_PRIVS(g, "[\"all\"]");
    json_t *out;
    char why[600];
    assert_int_equal(call(prov->update, "postgres.grant.g", g, &out, NULL, why), MK_PROV_OK);
    json_decref(out);
    assert_string_equal(DBACL(ra), "CONNECT,TEMPORARY");
    del_ok(g);
    assert_string_equal(DBACL(ra), "");
    ASSERT_PRIVS(g, "gone");
    del_ok(g); /* deleting what is gone succeeds */
    json_decref(g);
}

/* PUBLIC is "public"; its built-in default (CONNECT, TEMPORARY on a
 * database) is what the read sees until an ACL is written. */
static void test_public_default(void **state)
{
    (void)state;
    NEED_PG();
    json_t *g = grant("public", "database", NULL, NULL, "[\"connect\"]", false);
    ASSERT_PRIVS(g, "[\"connect\",\"temporary\"]");
    char id[256];
    create_same(g, id, "public@%s/database", db);
    assert_string_equal(DBACL("public"), "CONNECT");
    json_decref(g);
}

/* with_grant_option, on a schema, and its drift both ways. */
static void test_schema_grant_option(void **state)
{
    (void)state;
    NEED_PG();
    json_t *g = grant(ra, "schema", "s", NULL, "[\"usage\"]", true);
    char id[256];
    create_same(g, id, "%s@%s/schema/s", ra, db);
    assert_string_equal(acl("SELECT nspacl FROM pg_namespace WHERE nspname = 's'", ra), "USAGE*");
    sqlf("REVOKE GRANT OPTION FOR USAGE ON SCHEMA s FROM %s", ra);
    json_t *out = read_of(g);
    assert_false(json_is_true(json_object_get(out, "with_grant_option")));
    json_decref(out);
    json_object_set_new(g, "with_grant_option", json_false());
    reads_same(g, id);
    sqlf("GRANT USAGE ON SCHEMA s TO %s WITH GRANT OPTION", ra);
    out = read_of(g);
    assert_true(json_is_true(json_object_get(out, "with_grant_option")));
    json_decref(out);
    /* the update takes the option back and keeps the privilege */
    assert_int_equal(call(prov->update, "postgres.grant.g", g, &out, NULL, (char[600]){0}), MK_PROV_OK);
    json_decref(out);
    assert_string_equal(acl("SELECT nspacl FROM pg_namespace WHERE nspname = 's'", ra), "USAGE");
    sqlf("REVOKE USAGE ON SCHEMA s FROM %s", ra);
    ASSERT_PRIVS(g, "gone");
    json_decref(g);
}

/* objects null: every table of the schema; an extra privilege on one
 * table shows, and the update revokes it. */
static void test_all_tables(void **state)
{
    (void)state;
    NEED_PG();
    json_t *g = grant(ra, "table", "s", NULL, "[\"select\"]", false);
    char id[256];
    create_same(g, id, "%s@%s/table/s", ra, db);
    assert_string_equal(RELACL("s.t1", ra), "SELECT");
    assert_string_equal(RELACL("s.t2", ra), "SELECT");
    sqlf("GRANT INSERT ON s.t2 TO %s", ra);
    ASSERT_PRIVS(g, "[\"select\",\"insert\"]");
    sqlf("REVOKE SELECT ON s.t1 FROM %s", ra);
    ASSERT_PRIVS(g, "[]"); /* what all hold, when some lack one granted */
    json_t *out;
    assert_int_equal(call(prov->update, "postgres.grant.g", g, &out, NULL, (char[600]){0}), MK_PROV_OK);
    json_decref(out);
    assert_string_equal(RELACL("s.t1", ra), "SELECT");
    assert_string_equal(RELACL("s.t2", ra), "SELECT");
    /* a schema with no tables: nothing to differ */
    json_t *e = grant(ra, "table", "e", NULL, "[\"select\"]", false);
    snprintf(id, sizeof id, "%s@%s/table/e", ra, db);
    create_ok(e, id, true);
    reads_same(e, id);
    del_ok(g);
    assert_string_equal(RELACL("s.t1", ra), "");
    json_decref(g), json_decref(e);
}

/* Named tables: the id lists them; one dropped holds nothing, and the
 * delete revokes on what is left. A role name with @ / , % in it is
 * escaped in the id, and the id imports back to the same grant. */
static void test_named_tables_and_ids(void **state)
{
    (void)state;
    NEED_PG();
    sqlf("CREATE TABLE s.gone (i int)");
    json_t *g = grant(rb, "table", "s", "[\"t1\", \"gone\"]", "[\"select\", \"update\"]", false);
    char id[256];
    create_same(g, id, "t%d_r%%40x%%2Fy%%2Cz%%25@%s/table/s/t1,gone", (int)getpid(), db);
    assert_string_equal(RELACL("s.t1", rb), "SELECT,UPDATE");
    /* import by id: every attribute, the names decoded */
    mk_prov_op op = {.address = "postgres.grant.i", .type = "postgres.grant", .import_id = id};
    json_t *out = NULL;
    char why[600];
    assert_int_equal(prov->read(prov, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(out, "role")), rb);
    char *objs = json_dumps(json_object_get(out, "objects"), JSON_COMPACT);
    assert_string_equal(objs, "[\"t1\",\"gone\"]");
    free(objs);
    char *privs = json_dumps(json_object_get(out, "privileges"), JSON_COMPACT);
    assert_string_equal(privs, "[\"select\",\"update\"]");
    free(privs);
    json_decref(out);
    assert_int_equal(prov->import(prov, &op, &out, why, sizeof why), MK_PROV_OK);
    assert_string_equal(json_string_value(json_object_get(out, "id")), id);
    json_decref(out);
    sqlf("DROP TABLE s.gone");
    ASSERT_PRIVS(g, "[]");
    del_ok(g);
    assert_string_equal(RELACL("s.t1", rb), "");
    json_decref(g);
}

/* A name is a name, never SQL: quotes and statements in one reach the
 * server quoted, and the id escapes them from each other. */
static void test_hostile_names(void **state)
{
    (void)state;
    NEED_PG();
    char evil[64], sql[256];
    snprintf(evil, sizeof evil, "t%d_x\"; DROP TABLE s.t1; --", (int)getpid());
    char *q = PQescapeIdentifier(admin, evil, strlen(evil));
    snprintf(sql, sizeof sql, "CREATE ROLE %s", q);
    sql_on(admin, sql);
    json_t *g = grant(evil, "schema", "s", NULL, "[\"usage\"]", false);
    char id[256];
    create_same(g, id, "t%d_x\"; DROP TABLE s.t1; --@%s/schema/s", (int)getpid(), db);
    assert_string_equal(val("SELECT has_schema_privilege((SELECT oid FROM pg_roles WHERE rolname = $$%s$$), 's', "
                            "'USAGE')", evil), "t");
    assert_string_equal(val("SELECT count(*) FROM pg_class WHERE oid = 's.t1'::regclass"), "1");
    del_ok(g);
    snprintf(sql, sizeof sql, "DROP ROLE %s", q);
    sql_on(admin, sql);
    PQfreemem(q);
    json_decref(g);
}

/* Ids that do not parse, or name nothing held, are refused. */
static void test_bad_ids(void **state)
{
    (void)state;
    NEED_PG();
    const char *bad[] = {"nobody", "a@", "a@b", "@b/database", "a@b/widget", "a@b/table/s/x,", "a%41@b/database",
                         "a%2@b/database", "a@b/database/extra/x/y", "a@b/defaults/o/table"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mk_prov_op op = {.address = "postgres.grant.i", .type = "postgres.grant", .import_id = bad[i]};
        json_t *out = NULL;
        char why[600] = "";
        if (prov->import(prov, &op, &out, why, sizeof why) != MK_PROV_FAILED)
            fail_msg("id %s: accepted", bad[i]);
        assert_null(out);
        assert_non_null(strstr(why, "postgres: postgres.grant.i: "));
    }
    char id[256];
    snprintf(id, sizeof id, "%s@%s/table/s/t2", ra, db); /* valid, but nothing held */
    mk_prov_op op = {.address = "postgres.grant.i", .type = "postgres.grant", .import_id = id};
    json_t *out = NULL;
    char why[600];
    assert_int_equal(prov->import(prov, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "holds no privileges"));
}

/* Sequences, and functions by name: every overload of a listed name. */
static void test_sequence_function(void **state)
{
    (void)state;
    NEED_PG();
    json_t *q = grant(ra, "sequence", "s", "[\"q\"]", "[\"all\"]", false);
    /* the role as a reference to the stack's role: its id is its name */
    json_object_set_new(q, "role", json_pack("{s:s, s:s}", "$ref", "postgres.role.app", "id", ra));
    char id[256];
    snprintf(id, sizeof id, "%s@%s/sequence/s/q", ra, db);
    create_ok(q, id, false);
    assert_string_equal(val("SELECT has_sequence_privilege('%s', 's.q', 'USAGE') AND has_sequence_privilege('%s', "
                            "'s.q', 'UPDATE')", ra, ra), "t");
    reads_same(q, id);
    json_t *f = grant(ra, "function", "s", "[\"f\"]", "[\"execute\"]", false);
    snprintf(id, sizeof id, "%s@%s/function/s/f", ra, db);
    create_ok(f, id, false);
    assert_string_equal(val("SELECT has_function_privilege('%s', 's.f(int)', 'EXECUTE')::text || "
                            "has_function_privilege('%s', 's.f(text, int[])', 'EXECUTE')::text || "
                            "has_function_privilege('%s', 's.g()', 'EXECUTE')::text", ra, ra, ra), "truetruefalse");
    reads_same(f, id);
    sqlf("REVOKE EXECUTE ON FUNCTION s.f(int) FROM %s", ra);
    ASSERT_PRIVS(f, "[]");
    del_ok(f);
    assert_string_equal(val("SELECT has_function_privilege('%s', 's.f(text, int[])', 'EXECUTE')", ra), "f");
    json_t *none = grant(ra, "function", "s", "[\"nosuch\"]", "[\"execute\"]", false);
    json_t *out;
    char why[600];
    assert_int_equal(call(prov->create, "postgres.grant.g", none, &out, NULL, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "has none of the functions"));
    json_decref(q), json_decref(f), json_decref(none);
}

/* What the schema cannot check, check and create refuse before anything. */
static void test_refused(void **state)
{
    (void)state;
    NEED_PG();
    struct { json_t *a; const char *says; } cases[] = {
        {grant(ra, "table", "s", NULL, "[\"connect\"]", false), "no privilege connect on a table"},
        {grant(ra, "database", "s", NULL, "[\"connect\"]", false), "a grant on a database takes no schema"},
        {grant(ra, "table", NULL, NULL, "[\"select\"]", false), "a grant on a table names its schema"},
        {grant(ra, "schema", "s", "[\"x\"]", "[\"usage\"]", false), "only grants on tables"},
        {grant(ra, "table", "s", "[]", "[\"select\"]", false), "one name or more"},
        {defaults(ra, rc, "s", "schema", "[\"usage\"]"), "never one schema's"},
        {defaults(ra, rc, NULL, "database", "[\"connect\"]"), "not a kind default privileges take"},
        {grant("t_a_role_name_of_sixty_four_bytes_which_postgres_would_cut_short", "schema", "s", NULL, "[\"usage\"]",
               false), "role: expected a name of 1 to 63 bytes"},
        {json_pack("{s:s#, s:s, s:s, s:s, s:[s]}", "role", "app\0x", 5, "database", db, "object_type", "schema", "schema",
                   "s", "privileges", "usage"), "role: expected a name"},
        {grant(ra, "table", "s", "[\"t1\", 7]", "[\"select\"]", false), "objects: element 2 is not a name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mk_prov_op op = {.address = "postgres.grant.g", .type = type_of(cases[i].a), .attrs = cases[i].a, .action = "create"};
        json_t *out = NULL;
        char why[600] = "";
        assert_int_equal(prov->check(prov, &op, &out, why, sizeof why), MK_PROV_FAILED);
        if (!strstr(why, cases[i].says))
            fail_msg("case %zu: %s", i, why);
        assert_int_equal(prov->create(prov, &op, &out, why, sizeof why), MK_PROV_FAILED);
        json_decref(cases[i].a);
    }
}

/* A privilege another role granted (holding the grant option) is held
 * all the same: the exact set revokes it as that grantor. */
static void test_other_grantor(void **state)
{
    (void)state;
    NEED_PG();
    sqlf("GRANT SELECT ON s.t1 TO %s WITH GRANT OPTION; SET ROLE %s; GRANT SELECT ON s.t1 TO %s; RESET ROLE", rc, rc, ra);
    json_t *g = grant(ra, "table", "s", "[\"t1\"]", "[\"insert\"]", false);
    ASSERT_PRIVS(g, "[\"select\"]");
    char id[256];
    create_same(g, id, "%s@%s/table/s/t1", ra, db);
    assert_string_equal(RELACL("s.t1", ra), "INSERT");
    del_ok(g);
    sqlf("REVOKE SELECT ON s.t1 FROM %s", rc);
    json_decref(g);
}

/* fail_on: the change fails after its first statement and leaves nothing. */
static void test_injected(void **state)
{
    (void)state;
    NEED_PG();
    sqlf("GRANT INSERT ON s.t2 TO %s", ra);
    json_t *g = grant(ra, "table", "s", "[\"t2\"]", "[\"select\"]", false);
    json_t *out;
    char why[600];
    assert_int_equal(call(prov->create, "postgres.grant.broken", g, &out, NULL, why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "injected failure"));
    assert_string_equal(RELACL("s.t2", ra), "INSERT"); /* the revoke of INSERT rolled back */
    sqlf("REVOKE INSERT ON s.t2 FROM %s", ra);
    json_decref(g);
}

/* Default privileges: in one schema and in all; the built-in default of
 * functions (EXECUTE to PUBLIC) is seen as such; objects the owner makes
 * afterwards get them. */
static void test_default_privileges(void **state)
{
    (void)state;
    NEED_PG();
    json_t *d = defaults(ra, rc, "s", "table", "[\"select\", \"insert\"]");
    char id[256];
    ASSERT_PRIVS(d, "gone");
    create_same(d, id, "%s@%s/defaults/%s/table/s", ra, db, rc);
    sqlf("GRANT CREATE ON SCHEMA s TO %s; SET ROLE %s; CREATE TABLE s.later (i int); RESET ROLE", rc, rc);
    assert_string_equal(RELACL("s.later", ra), "INSERT,SELECT");
    sqlf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA s GRANT DELETE ON TABLES TO %s", rc, ra);
    ASSERT_PRIVS(d, "[\"select\",\"insert\",\"delete\"]");
    json_t *out;
    assert_int_equal(call(prov->update, "postgres.grant.g", d, &out, NULL, (char[600]){0}), MK_PROV_OK);
    json_decref(out);
    reads_same(d, id);
    del_ok(d);
    ASSERT_PRIVS(d, "gone");
    assert_string_equal(val("SELECT count(*) FROM pg_default_acl WHERE defaclrole = '%s'::regrole", rc), "0");
    /* every schema: functions run by PUBLIC unless taken back */
    json_t *pub = defaults("public", rc, NULL, "function", "[]");
    ASSERT_PRIVS(pub, "[\"all\"]");
    create_same(pub, id, "public@%s/defaults/%s/function", db, rc);
    sqlf("SET ROLE %s; CREATE FUNCTION s.later() RETURNS int LANGUAGE sql AS 'SELECT 4'; RESET ROLE", rc);
    assert_string_equal(val("SELECT has_function_privilege('%s', 's.later()', 'EXECUTE')", ra), "f");
    sqlf("DROP FUNCTION s.later(); DROP TABLE s.later; ALTER DEFAULT PRIVILEGES FOR ROLE %s GRANT EXECUTE ON "
         "FUNCTIONS TO PUBLIC", rc);
    json_decref(d), json_decref(pub);
}

/* A grant on a database that is not there, or to a role that is not:
 * gone, and its delete succeeds. */
static void test_missing(void **state)
{
    (void)state;
    NEED_PG();
    json_t *g = grant("t_no_such_role", "schema", "s", NULL, "[\"usage\"]", false);
    ASSERT_PRIVS(g, "gone");
    del_ok(g);
    json_object_set_new(g, "role", json_string(ra));
    json_object_set_new(g, "database", json_string("t_no_such_database"));
    ASSERT_PRIVS(g, "gone");
    del_ok(g);
    json_decref(g);
}

/* Grants on one object from many workers at once (the executor's
 * parallelism): PostgreSQL fails concurrent GRANTs on one catalog row
 * ("tuple concurrently updated") unless they wait for each other. */
static void *grant_worker(void *arg)
{
    json_t *g = arg, *out = NULL;
    char why[600];
    mk_prov_status st = MK_PROV_OK;
    for (int i = 0; i < 5 && st == MK_PROV_OK; i++) {
        json_object_set_new(g, "privileges", json_pack(i % 2 ? "[s]" : "[s,s]", "select", "insert"));
        st = call(prov->update, "postgres.grant.g", g, &out, NULL, why);
        json_decref(out);
    }
    return st == MK_PROV_OK ? NULL : strdup(why);
}

static void test_concurrent(void **state)
{
    (void)state;
    NEED_PG();
    const char *roles[] = {ra, rb, rc, "public"};
    pthread_t th[4];
    json_t *g[4];
    for (int i = 0; i < 4; i++) {
        g[i] = grant(roles[i], "table", "s", "[\"t1\"]", "[\"select\"]", false);
        assert_int_equal(pthread_create(&th[i], NULL, grant_worker, g[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        char *err;
        pthread_join(th[i], (void **)&err);
        if (err)
            fail_msg("%s: %s", roles[i], err);
        assert_string_equal(RELACL("s.t1", roles[i]), "INSERT,SELECT");
        del_ok(g[i]);
        json_decref(g[i]);
    }
    assert_string_equal(RELACL("s.t1", "public"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_database_exact),     cmocka_unit_test(test_public_default),
        cmocka_unit_test(test_schema_grant_option), cmocka_unit_test(test_all_tables),
        cmocka_unit_test(test_named_tables_and_ids), cmocka_unit_test(test_bad_ids), cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_sequence_function),  cmocka_unit_test(test_refused),
        cmocka_unit_test(test_injected), cmocka_unit_test(test_other_grantor),           cmocka_unit_test(test_default_privileges),
        cmocka_unit_test(test_missing),            cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
