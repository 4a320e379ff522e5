/* test_pgprov — the postgres provider's objects (runtime/providers/
 * postgres_role.c, postgres_database.c, postgres_schema.c) on a real
 * server: the suite's throwaway one (tests/with_pg.sh exports
 * MOKSHA_TEST_PG and libpq's PG* settings). Every operation of every type;
 * a read of what nobody touched equal to the state; drift out of band read
 * as it is; a foreign object refused, an earlier run's adopted, this run's
 * retried create not; fail_on rolling a change back; import; the SCRAM
 * verifier compared, never the password sent. Roles and databases are the
 * whole server's: each test names its own with a prefix of this process
 * and drops them. Skipped only when MOKSHA_TEST_PG is unset. */
#include "tests/unit/unit.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/planfile.h"
#include "runtime/providers/postgres.h"
#include "runtime/providers/postgres_role.h"
#include "runtime/providers/provider.h"

static mk_config cfg;
static mk_keyring ring;
static PGconn *admin;
static char dir[64], pfx[32];

#define NEED_PG()                                                                                                    \
    do {                                                                                                             \
        if (!getenv("MOKSHA_TEST_PG"))                                                                               \
            skip();                                                                                                  \
    } while (0)

static void load_config(void)
{
    char path[128], text[2048], why[600];
    snprintf(path, sizeof path, "%s/exec.json", dir);
    snprintf(text, sizeof text,
             "{\"format\": \"moksha.exec-config/v1\", \"connections\": {\"dev\": {\"kind\": \"postgres\", "
             "\"conninfo\": \"host=%s port=%s user=moksha dbname=postgres\", \"allow_fault_injection\": true}, \"limited\": {\"kind\": "
             "\"postgres\", \"conninfo\": \"host=%s port=%s user=%slimited dbname=postgres\", "
             "\"password_command\": [\"/bin/echo\", \"limited-pw\"]}, \"dev_cr\": {\"kind\": \"postgres\", "
             "\"conninfo\": \"host=%s port=%s user=moksha dbname=postgres\", \"allow_createrole\": true}}}",
             getenv("PGHOST"), getenv("PGPORT"), getenv("PGHOST"), getenv("PGPORT"), pfx, getenv("PGHOST"),
             getenv("PGPORT"));
    mk_test_write(dir, "exec.json", text);
    chmod(path, 0600);
    setenv("MOKSHA_EXEC_CONFIG", path, 1);
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why))
        fail_msg("%s", why);
}

static int setup(void **st)
{
    (void)st;
    mk_planfile_key k;
    memset(&k, 0, sizeof k);
    memset(k.sign, 's', sizeof k.sign);
    memset(k.seal, 'e', sizeof k.seal);
    mk_keyring_from_project(&ring, &k);
    snprintf(pfx, sizeof pfx, "t%d_", (int)getpid());
    if (!getenv("MOKSHA_TEST_PG"))
        return 0;
    mk_test_tmpdir(dir, "/tmp/moksha-unit-pgprov.XXXXXX");
    load_config();
    admin = PQconnectdb("dbname=postgres");
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    return 0;
}

/* SQL as the administrator on the connection's database; the first value,
 * or "" (NULL as "(null)"). */
static char *sql1(const char *fmt, ...)
{
    static char out[512];
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGresult *r = PQexec(admin, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, sizeof out, "%s", s != PGRES_TUPLES_OK || !PQntuples(r) ? "" : PQgetisnull(r, 0, 0) ? "(null)"
                                                                                : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

/* fmt with name quoted as an identifier */
static void drop(const char *fmt, const char *name)
{
    char *q = PQescapeIdentifier(admin, name, strlen(name));
    sql1(fmt, q);
    PQfreemem(q);
}

static int teardown(void **st)
{
    (void)st;
    mk_keyring_free(&ring);
    if (!admin)
        return 0;
    /* whatever a failed test left: this process's roles and databases */
    PGresult *r = PQexecParams(admin, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", 1, NULL,
                               (const char *[]){pfx}, NULL, NULL, 0);
    for (int i = 0; i < PQntuples(r); i++)
        drop("DROP DATABASE IF EXISTS %s WITH (FORCE)", PQgetvalue(r, i, 0));
    PQclear(r);
    r = PQexecParams(admin, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", 1, NULL,
                     (const char *[]){pfx}, NULL, NULL, 0);
    for (int i = 0; i < PQntuples(r); i++)
        drop("DROP ROLE IF EXISTS %s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(admin);
    admin = NULL;
    mk_config_free(&cfg);
    mk_test_rmdir(dir);
    return 0;
}

static mk_prov *pg(const char *settings)
{
    char why[600];
    json_t *s = json_loads(settings, 0, NULL);
    mk_prov *p = mk_prov_postgres_new(s, &cfg, "postgres", why, sizeof why);
    json_decref(s);
    if (!p)
        fail_msg("%s", why);
    return p;
}

static json_t *sealed(const char *address, const char *attr, const char *text)
{
    json_t *path = json_pack("[s]", attr);
    json_t *v = mk_keyring_seal_secret(&ring, text, strlen(text), address, path, NULL);
    json_decref(path);
    assert_non_null(v);
    return v;
}

/* A name of this process's: t<pid>_<rest>. */
static const char *nm(const char *rest)
{
    static char buf[4][80];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s%s", pfx, rest);
    return buf[i];
}

typedef struct {
    const char *stack, *run;
    bool adopted;
    char why[600];
} who;

static mk_prov_status call(mk_prov *p, mk_prov_fn fn, const char *address, const char *type, json_t *attrs,
                           json_t *prior, who *w, json_t **out)
{
    w->adopted = false;
    w->why[0] = 0;
    mk_prov_op op = {.address = address, .type = type, .attrs = attrs, .prior = prior, .keys = &ring,
                     .adopted = &w->adopted, .stack_id = w->stack, .run_id = w->run};
    json_t *o = NULL;
    mk_prov_status st = fn(p, &op, &o, w->why, sizeof w->why);
    if (out)
        *out = o;
    else
        json_decref(o);
    return st;
}

/* The state entry an apply records: the desired attributes and what the
 * create computed. */
static json_t *created(mk_prov *p, const char *address, const char *type, json_t *attrs, who *w)
{
    json_t *out = NULL;
    mk_prov_status st = call(p, p->create, address, type, attrs, NULL, w, &out);
    if (st != MK_PROV_OK)
        fail_msg("create %s: %s", address, w->why);
    json_t *state = json_deep_copy(attrs);
    json_object_update(state, out);
    json_decref(out);
    return state;
}

static json_t *readback(mk_prov *p, const char *address, const char *type, json_t *state)
{
    who w = {0};
    json_t *out = NULL;
    if (call(p, p->read, address, type, state, NULL, &w, &out) != MK_PROV_OK)
        fail_msg("read %s: %s", address, w.why);
    return out;
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("got %s\nwant %s", g, want);
    }
    json_decref(w);
}

/* ---- postgres.role ---- */

static json_t *role_attrs(const char *name, const char *address, const char *password)
{
    json_t *a = json_pack("{s:s, s:b, s:I, s:b, s:b, s:b, s:[], s:n}", "name", name, "login", 1, "connection_limit",
                          (json_int_t)3, "createdb", 1, "createrole", 0, "inherit", 1, "member_of", "valid_until");
    json_object_set_new(a, "password", password ? sealed(address, "password", password) : json_null());
    return a;
}

/* Can name log in with password? (The verifier the server holds is of
 * that password.) */
static bool logs_in(const char *name, const char *password)
{
    const char *kw[] = {"host", "port", "user", "password", "dbname", NULL};
    const char *val[] = {getenv("PGHOST"), getenv("PGPORT"), name, password, "postgres", NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
}

/* Does the server's log hold text? */
static bool logged(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data/server.log", getenv("MOKSHA_TEST_PG"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static void role_create_read_update_delete(void **st)
{
    (void)st;
    NEED_PG();
    /* every statement of the provider's sessions logged: the password must not be */
    sql1("ALTER ROLE moksha SET log_statement = 'all'");
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("app"), *group = nm("readers");
    sql1("CREATE ROLE \"%s\"", group);
    json_t *a = role_attrs(name, "postgres.role.app", "s3cret pw");
    json_array_append_new(json_object_get(a, "member_of"), json_string(group));
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.app", "postgres.role", a, &w);
    assert_false(w.adopted);
    assert_string_equal(json_string_value(json_object_get(state, "id")), name);
    /* made as asked, tagged, the password a SCRAM verifier that opens a session */
    assert_string_equal(sql1("SELECT rolcanlogin::text || rolconnlimit || rolcreatedb::text || rolcreaterole::text "
                             "FROM pg_roles WHERE rolname = '%s'", name), "true3truefalse");
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    assert_string_equal(sql1("SELECT left(rolpassword, 19) FROM pg_authid WHERE rolname = '%s'", name),
                        "SCRAM-SHA-256$4096:");
    assert_true(logs_in(name, "s3cret pw"));
    assert_false(logs_in(name, "s3cret pX"));
    /* nobody touched it: it reads back equal to the state, sealed password included */
    json_t *got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    /* changed out of band: read as it is */
    sql1("ALTER ROLE \"%s\" NOLOGIN CONNECTION LIMIT 5 VALID UNTIL '2031-02-03 04:05:06+00'", name);
    sql1("REVOKE \"%s\" FROM \"%s\"", group, name);
    got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_false(json_is_true(json_object_get(got, "login")));
    assert_int_equal(json_integer_value(json_object_get(got, "connection_limit")), 5);
    assert_string_equal(json_string_value(json_object_get(got, "valid_until")), "2031-02-03T04:05:06Z");
    assert_int_equal(json_array_size(json_object_get(got, "member_of")), 0);
    assert_true(json_equal(json_object_get(got, "password"), json_object_get(state, "password")));
    json_decref(got);
    /* the update puts it back */
    assert_int_equal(call(p, p->update, "postgres.role.app", "postgres.role", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.role.app", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    assert_true(logs_in(name, "s3cret pw"));
    sql1("ALTER ROLE moksha RESET log_statement");
    /* note [pg log]: the statements that carry the verifier are kept out
     * of the log, though every other statement of the session is in it */
    char stmt[120];
    snprintf(stmt, sizeof stmt, "ROLE \"%s\"", name);
    assert_false(logged(stmt));
    assert_true(logged("rolcanlogin"));
    assert_false(logged("s3cret"));
    /* delete, and again: what is gone is deleted */
    assert_int_equal(call(p, p->del, "postgres.role.app", "postgres.role", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", name), "0");
    assert_int_equal(call(p, p->del, "postgres.role.app", "postgres.role", state, NULL, &w, NULL), MK_PROV_OK);
    w.why[0] = 1;
    assert_int_equal(call(p, p->read, "postgres.role.app", "postgres.role", state, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    json_decref(state), json_decref(a);
    p->free(p);
}

/* note [pg password]: a password changed out of band reads as differing;
 * the same password set again (a new salt) as the recorded value; one
 * removed as differing; none recorded and none held as null. */
static void role_password_drift(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("pw");
    json_t *a = role_attrs(name, "postgres.role.pw", "first one");
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.pw", "postgres.role", a, &w);
    sql1("SET password_encryption = 'scram-sha-256'");
    sql1("ALTER ROLE \"%s\" PASSWORD 'another one'", name);
    json_t *got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD 'first one'", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_true(json_equal(json_object_get(got, "password"), json_object_get(state, "password")));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD NULL", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    /* a role without one: null, until someone sets one */
    json_object_set_new(a, "password", json_null());
    json_object_set_new(state, "password", json_null());
    assert_int_equal(call(p, p->update, "postgres.role.pw", "postgres.role", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" PASSWORD 'sneaky'", name);
    got = readback(p, "postgres.role.pw", "postgres.role", state);
    assert_json(json_object_get(got, "password"), "{\"$secret\": {\"differs\": true}}");
    json_decref(got);
    json_decref(state), json_decref(a);
    p->free(p);
}

/* RFC 5802's keys over a known salt (computed with Python's hashlib):
 * the same password matches, any other, a malformed verifier, md5 or an
 * absurd iteration count does not. */
static void scram_compare(void **st)
{
    (void)st;
    const char *v = "SCRAM-SHA-256$4096:bW9rc2hhLXNhbHQtMDAwMQ==$LsotjVRuNFsmovjOmoSlvm50PREerNgBjBLlUQFBCIc=:"
                    "E8P8Rbq33txAye1vPwE8FTvS9xrHQwD7h5Um8L1ctcA=";
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "correct horse"), MK_PGSCRAM_SAME);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "correct horsE"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, ""), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(v, "corr\xc3\xa9" "ct"), MK_PGSCRAM_CANNOT); /* SASLprep not redone */
    assert_int_equal(mk_prov_postgres_role_scram_compare("md5a3556571e93b0d20722ba62be61e8c2d", "x"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$4096:bW9r$xx:yy", "x"), MK_PGSCRAM_DIFFERS);
    /* more iterations than the cap (65536) are not judged: CANNOT, the
     * record stands, and no CPU is spent on them */
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$99999999:bW9rc2hhLXNhbHQtMDAwMQ==$LsotjVRuNFsmovjO"
                                                    "moSlvm50PREerNgBjBLlUQFBCIc=:E8P8Rbq33txAye1vPwE8FTvS9xrHQwD7h5Um"
                                                    "8L1ctcA=", "correct horse"), MK_PGSCRAM_CANNOT);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$65537:bW9rc2hhLXNhbHQtMDAwMQ==$LsotjVRuNFsmovjO"
                                                    "moSlvm50PREerNgBjBLlUQFBCIc=:E8P8Rbq33txAye1vPwE8FTvS9xrHQwD7h5Um"
                                                    "8L1ctcA=", "correct horse"), MK_PGSCRAM_CANNOT);
    /* the cap itself is judged (Python's hashlib, 65536 iterations) */
    const char *at_cap = "SCRAM-SHA-256$65536:bW9rc2hhLXNhbHQtMDAwMg==$c3zvPhifdnyHwhFXXbAaOvl4zwuFSmPLTfigtW2vRCI=:"
                         "sw3kNZ42RYMkSYkbLpXaiq65FYwXP9JFbBM52YBHZFc=";
    assert_int_equal(mk_prov_postgres_role_scram_compare(at_cap, "correct horse"), MK_PGSCRAM_SAME);
    assert_int_equal(mk_prov_postgres_role_scram_compare(at_cap, "correct horsE"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare("SCRAM-SHA-256$", "x"), MK_PGSCRAM_DIFFERS);
    assert_int_equal(mk_prov_postgres_role_scram_compare(NULL, "x"), MK_PGSCRAM_DIFFERS);
}

/* note [pg owner]: a role made outside moksha, or by another stack, is
 * foreign; one of an earlier run of this stack adopted; this run's own (a
 * retried create whose first reply was lost) taken over but not adopted. */
static void role_owners(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("own"), *other = nm("foreign");
    sql1("CREATE ROLE \"%s\"", other);
    json_t *f = role_attrs(other, "postgres.role.f", NULL);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.f", "postgres.role", f, NULL, &w, NULL), MK_PROV_FAILED);
    char want[400];
    snprintf(want, sizeof want, "postgres: postgres.role.f: role %s already exists and this stack did not make it: not "
             "taken over; to manage it, `moksha import postgres.role.f %s`", other, other);
    assert_string_equal(w.why, want);
    assert_string_equal(sql1("SELECT rolcanlogin FROM pg_roles WHERE rolname = '%s'", other), "f"); /* untouched */
    /* nor does its delete drop it */
    assert_int_equal(call(p, p->del, "postgres.role.f", "postgres.role", f, NULL, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "is not this stack's (it has no owner tag of moksha's): not dropped"));
    json_t *a = role_attrs(name, "postgres.role.own", "pw");
    json_decref(created(p, "postgres.role.own", "postgres.role", a, &w));
    /* the same run again (a retried call): taken, not adopted */
    json_t *s2 = created(p, "postgres.role.own", "postgres.role", a, &w);
    assert_false(w.adopted);
    json_decref(s2);
    /* a later run of the stack: adopted, the tag left as the run that made it */
    who later = {.stack = "stack1", .run = "run2"};
    s2 = created(p, "postgres.role.own", "postgres.role", a, &later);
    assert_true(later.adopted);
    json_decref(s2);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* and adopting it a second time in that run still says adopted */
    s2 = created(p, "postgres.role.own", "postgres.role", a, &later);
    assert_true(later.adopted);
    json_decref(s2);
    /* another stack's */
    who stranger = {.stack = "stack2", .run = "run9"};
    assert_int_equal(call(p, p->create, "postgres.role.own", "postgres.role", a, NULL, &stranger, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(stranger.why, "already exists and this stack did not make it"));
    assert_int_equal(call(p, p->del, "postgres.role.own", "postgres.role", a, NULL, &stranger, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(stranger.why, "another stack made it"));
    json_decref(a), json_decref(f);
    p->free(p);
}

/* fail_on: the change fails after its first statement, and its
 * transaction leaves nothing behind. */
static void role_fail_on(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\", \"fail_on\": [\"postgres.role.bad\"]}");
    const char *name = nm("bad");
    json_t *a = role_attrs(name, "postgres.role.bad", "pw");
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.bad", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, "postgres: postgres.role.bad: injected failure (provider postgres, fail_on)");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", name), "0");
    /* its reads do not fail */
    json_t *got = (json_t *)1;
    assert_int_equal(call(p, p->read, "postgres.role.bad", "postgres.role", a, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    json_decref(a);
    p->free(p);
}

/* import: a role made outside moksha is tagged and read whole, its
 * password unknown; one the spec names otherwise, or missing, refused. */
static void role_import(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("legacy"), *group = nm("grp");
    sql1("CREATE ROLE \"%s\"", group);
    sql1("CREATE ROLE \"%s\" LOGIN CONNECTION LIMIT 7 PASSWORD 'old' IN ROLE \"%s\"", name, group);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *want = json_pack("{s:s}", "name", name), *out = NULL;
    mk_prov_op op = {.address = "postgres.role.legacy", .type = "postgres.role", .attrs = want, .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = name};
    assert_int_equal(p->read(p, &op, &out, w.why, sizeof w.why), MK_PROV_OK);
    char exp[600];
    snprintf(exp, sizeof exp, "{\"name\": \"%s\", \"login\": true, \"password\": {\"$secret\": {\"unknown\": true}}, "
             "\"connection_limit\": 7, \"createdb\": false, \"createrole\": false, \"inherit\": true, "
             "\"member_of\": [\"%s\"], \"valid_until\": null, \"id\": \"%s\"}", name, group, name);
    assert_json(out, exp);
    json_decref(out);
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_OK);
    snprintf(exp, sizeof exp, "{\"id\": \"%s\"}", name);
    assert_json(out, exp);
    json_decref(out);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* the spec names another role */
    json_object_set_new(want, "name", json_string(group));
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "is not the role the spec names"));
    op.attrs = NULL, op.import_id = nm("nobody");
    assert_int_equal(p->import(p, &op, &out, w.why, sizeof w.why), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "no role"));
    json_decref(want);
    p->free(p);
}

/* check: refused before the first step — a valid_until the server cannot
 * read, a password not sealed or not opening, a connection user who cannot
 * manage roles. */
static void role_check(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("chk"), "postgres.role.chk", "pw"), *out = NULL;
    char why[600];
    mk_prov_op op = {.address = "postgres.role.chk", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "create"};
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_object_set_new(a, "valid_until", json_string("next tuesday-ish"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "invalid input syntax for type timestamp with time zone"));
    json_object_set_new(a, "valid_until", json_string("2030-01-01T00:00:00Z"));
    json_object_set_new(a, "password", json_string("plain"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.role.chk: the password is not sealed: refused");
    mk_planfile_key k;
    mk_keyring other;
    memset(&k, 0, sizeof k);
    memset(k.sign, 's', sizeof k.sign);
    memset(k.seal, 'x', sizeof k.seal);
    mk_keyring_from_project(&other, &k);
    json_t *path = json_pack("[s]", "password");
    json_object_set_new(a, "password", mk_keyring_seal_secret(&other, "pw", 2, "postgres.role.chk", path, NULL));
    json_decref(path);
    mk_keyring_free(&other); /* sealed with a key this executor does not have */
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.role.chk: the password does not open with this executor's key");
    assert_int_equal(p->create(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", nm("chk")), "0");
    json_decref(a);
    p->free(p);
}

/* valid_until reads back in the form recorded while it is the same time. */
static void role_valid_until(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("until"), "postgres.role.until", NULL);
    json_object_set_new(a, "valid_until", json_string("2030-06-01 12:00:00+02"));
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.until", "postgres.role", a, &w);
    json_t *got = readback(p, "postgres.role.until", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sql1("ALTER ROLE \"%s\" VALID UNTIL 'infinity'", nm("until"));
    got = readback(p, "postgres.role.until", "postgres.role", state);
    assert_true(json_is_null(json_object_get(got, "valid_until")));
    json_decref(got), json_decref(state), json_decref(a);
    p->free(p);
}

/* A session the server ended is a retryable failure, and the next call
 * connects again. */
static void session_lost(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = role_attrs(nm("lost"), "postgres.role.lost", NULL);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.lost", "postgres.role", a, &w);
    sql1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'moksha-exec' "
         "AND pid <> pg_backend_pid()");
    usleep(100000);
    json_t *got = NULL;
    assert_int_equal(call(p, p->read, "postgres.role.lost", "postgres.role", state, NULL, &w, &got),
                     MK_PROV_RETRYABLE);
    got = readback(p, "postgres.role.lost", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got), json_decref(state), json_decref(a);
    p->free(p);
}

/* note [pg membership]: member_of a superuser role, a role that is a
 * member of one, the connection's own user, a role with CREATEROLE,
 * REPLICATION or BYPASSRLS, or a predefined role that reaches the host or
 * all data is refused, at the check and at the grant; a name that needs
 * quoting is only a name. */
static void role_membership_guard(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    char mid[64], odd[80], cr[64], repl[64], bypass[64], reader[64];
    snprintf(mid, sizeof mid, "%s", nm("mid"));
    snprintf(odd, sizeof odd, "%s", nm("we\"ird' name; DROP ROLE moksha; --"));
    snprintf(cr, sizeof cr, "%s", nm("cr"));
    snprintf(repl, sizeof repl, "%s", nm("repl"));
    snprintf(bypass, sizeof bypass, "%s", nm("bypass"));
    snprintf(reader, sizeof reader, "%s", nm("reader"));
    sql1("CREATE ROLE \"%s\" IN ROLE moksha", mid);
    sql1("CREATE ROLE \"%s\" CREATEROLE", cr);
    sql1("CREATE ROLE \"%s\" REPLICATION", repl);
    sql1("CREATE ROLE \"%s\" BYPASSRLS", bypass);
    sql1("CREATE ROLE \"%s\" IN ROLE pg_read_all_data", reader);
    json_t *a = role_attrs(odd, "postgres.role.odd", "pw"), *out = NULL;
    who w = {.stack = "stack1", .run = "run1"};
    char why[600], want[400];
    mk_prov_op op = {.address = "postgres.role.odd", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "create"};
    const char *bad[] = {"moksha", mid, "pg_write_server_files", cr, repl, bypass, reader, "pg_read_all_data",
                         "pg_write_all_data", "pg_signal_backend", "pg_checkpoint", "pg_execute_server_program"};
    const char *via[] = {"", " (through moksha)", "", "", "", "", " (through pg_read_all_data)", "", "", "", "", ""};
    for (int i = 0; i < 12; i++) {
        json_object_set_new(a, "member_of", json_pack("[s]", bad[i]));
        assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        snprintf(want, sizeof want, "postgres: postgres.role.odd: member_of %s%s: a member of it could act as a "
                 "superuser, reach the server's host or all its data (a superuser, the connection's own user, "
                 "CREATEROLE, REPLICATION, BYPASSRLS, or a predefined role of the kind: note [pg membership]); "
                 "refused", bad[i], via[i]);
        assert_string_equal(why, want);
        assert_int_equal(call(p, p->create, "postgres.role.odd", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
        assert_string_equal(w.why, want);
    }
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = $$%s$$", odd), "0");
    /* harmless ones pass, and the odd name is made exactly */
    json_object_set_new(a, "member_of", json_pack("[s, s]", "pg_read_all_stats", "pg_monitor"));
    json_t *state = created(p, "postgres.role.odd", "postgres.role", a, &w);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = $$%s$$", odd), "1");
    assert_string_equal(sql1("SELECT rolsuper FROM pg_roles WHERE rolname = 'moksha'"), "t");
    json_t *got = readback(p, "postgres.role.odd", "postgres.role", state);
    assert_true(json_equal(got, state));
    json_decref(got), json_decref(state), json_decref(a);
    p->free(p);
}

/* ---- postgres.database ---- */

static json_t *db_attrs(const char *name, const char *owner)
{
    return json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:b}", "name", name, "owner", owner, "encoding", "UTF8",
                     "locale", "C", "template", "template0", "connection_limit", (json_int_t)4, "allow_connections", 1);
}

static void db_create_read_update_delete(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("app db"), *owner = nm("dbowner");
    sql1("CREATE ROLE \"%s\"", owner);
    json_t *a = db_attrs(name, owner);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.database.app", "postgres.database", a, &w);
    assert_false(w.adopted);
    assert_string_equal(json_string_value(json_object_get(state, "id")), name);
    char want[600];
    snprintf(want, sizeof want, "%s 4 C UTF8", owner);
    assert_string_equal(sql1("SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit || ' ' || datcollate || ' ' || "
                             "pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '%s'", name), want);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* the staging name is gone: renamed */
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = 'mk_stage_47d48cb9391ff875'"), "0");
    json_t *got = readback(p, "postgres.database.app", "postgres.database", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    /* out of band */
    sql1("ALTER DATABASE \"%s\" WITH CONNECTION LIMIT 9 ALLOW_CONNECTIONS false", name);
    sql1("ALTER DATABASE \"%s\" OWNER TO moksha", name);
    got = readback(p, "postgres.database.app", "postgres.database", state);
    snprintf(want, sizeof want, "{\"name\": \"%s\", \"owner\": \"moksha\", \"encoding\": \"UTF8\", \"locale\": \"C\", "
             "\"template\": \"template0\", \"connection_limit\": 9, \"allow_connections\": false, \"id\": \"%s\"}",
             name, name);
    assert_json(got, want);
    json_decref(got);
    assert_int_equal(call(p, p->update, "postgres.database.app", "postgres.database", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.database.app", "postgres.database", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    /* owner null: the connection's user, read back as null */
    json_object_set_new(a, "owner", json_null());
    json_object_set_new(state, "owner", json_null());
    assert_int_equal(call(p, p->update, "postgres.database.app", "postgres.database", a, state, &w, NULL), MK_PROV_OK);
    assert_string_equal(sql1("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'", name), "moksha");
    got = readback(p, "postgres.database.app", "postgres.database", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    assert_int_equal(call(p, p->del, "postgres.database.app", "postgres.database", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "0");
    assert_int_equal(call(p, p->del, "postgres.database.app", "postgres.database", state, NULL, &w, NULL), MK_PROV_OK);
    assert_int_equal(call(p, p->read, "postgres.database.app", "postgres.database", state, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    /* its data cannot come back: no recreate for the rollback to count on; a role can */
    assert_int_equal(p->caps_of(p, "postgres.database"), 0);
    assert_int_equal(p->caps_of(p, "postgres.role"), MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS);
    json_decref(state), json_decref(a);
    p->free(p);
}

/* note [pg staging]: a failure after CREATE DATABASE leaves the staging
 * database, never an untagged one under the name; the next create drops
 * it and makes the database; an untagged staging database (a crash before
 * the tag) likewise; another stack's staging database is not dropped. */
static void db_staging(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *bad = pg("{\"connection\": \"dev\", \"fail_on\": [\"postgres.database.crash\"]}");
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("crash"), *owner = nm("crash_owner");
    sql1("CREATE ROLE \"%s\"", owner);
    json_t *a = db_attrs(name, owner);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(bad, bad->create, "postgres.database.crash", "postgres.database", a, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_string_equal(w.why, "postgres: postgres.database.crash: injected failure (provider postgres, fail_on)");
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "0");
    /* untagged, and the connection user's: the owner role can still be dropped */
    assert_string_equal(sql1("SELECT coalesce(shobj_description(oid, 'pg_database'), 'untagged') || ' ' || "
                             "pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mk_stage_ff3dd958e0861923'"),
                        "untagged moksha");
    json_decref(created(p, "postgres.database.crash", "postgres.database", a, &w));
    assert_string_equal(sql1("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'", name), owner);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = 'mk_stage_ff3dd958e0861923'"), "0");
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "1");
    assert_int_equal(call(p, p->del, "postgres.database.crash", "postgres.database", a, NULL, &w, NULL), MK_PROV_OK);
    /* tagged by another stack: left alone, the create refused */
    sql1("CREATE DATABASE mk_stage_ff3dd958e0861923");
    sql1("COMMENT ON DATABASE mk_stage_ff3dd958e0861923 IS '{\"moksha\":{\"stack\":\"stack2\",\"run\":\"r\"}}'");
    assert_int_equal(call(p, p->create, "postgres.database.crash", "postgres.database", a, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_string_equal(w.why, "postgres: postgres.database.crash: database mk_stage_ff3dd958e0861923, this address's "
                               "staging name, is another stack's: not dropped");
    sql1("DROP DATABASE mk_stage_ff3dd958e0861923");
    /* a failure that is no crash (an owner that does not exist) leaves nothing */
    json_object_set_new(a, "owner", json_string(nm("nobody")));
    assert_int_equal(call(p, p->create, "postgres.database.crash", "postgres.database", a, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "give the database its owner: the server says: role"));
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = 'mk_stage_ff3dd958e0861923' OR "
                             "datname = '%s'", name), "0");
    /* a name of the executor's own is never a database's */
    json_object_set_new(a, "name", json_string("mk_stage_0123456789abcdef"));
    assert_int_equal(call(p, p->create, "postgres.database.crash", "postgres.database", a, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "cannot start with mk_stage_"));
    json_decref(a);
    p->free(p), bad->free(bad);
}

static void db_owners(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("foreign_db"), *mine = nm("mine_db");
    sql1("CREATE DATABASE \"%s\"", name);
    json_t *f = db_attrs(name, NULL), *a = db_attrs(mine, NULL);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.database.f", "postgres.database", f, NULL, &w, NULL), MK_PROV_FAILED);
    char want[400];
    snprintf(want, sizeof want, "postgres: postgres.database.f: database %s already exists and this stack did not make "
             "it: not taken over; to manage it, `moksha import postgres.database.f %s`", name, name);
    assert_string_equal(w.why, want);
    assert_int_equal(call(p, p->del, "postgres.database.f", "postgres.database", f, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", name), "1");
    json_decref(created(p, "postgres.database.m", "postgres.database", a, &w));
    json_t *s2 = created(p, "postgres.database.m", "postgres.database", a, &w);
    assert_false(w.adopted);
    json_decref(s2);
    who later = {.stack = "stack1", .run = "run2"};
    s2 = created(p, "postgres.database.m", "postgres.database", a, &later);
    assert_true(later.adopted);
    json_decref(s2);
    who stranger = {.stack = "stack2", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.database.m", "postgres.database", a, NULL, &stranger, NULL),
                     MK_PROV_FAILED);
    assert_int_equal(call(p, p->del, "postgres.database.m", "postgres.database", a, NULL, &stranger, NULL),
                     MK_PROV_FAILED);
    assert_non_null(strstr(stranger.why, "another stack made it"));
    json_decref(a), json_decref(f);
    p->free(p);
}

static void db_import(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("legacy_db");
    sql1("CREATE DATABASE \"%s\" CONNECTION LIMIT 2 TEMPLATE template0 LOCALE 'C'", name);
    json_t *out = NULL;
    char why[600], want[600];
    mk_prov_op op = {.address = "postgres.database.legacy", .type = "postgres.database", .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = name};
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    snprintf(want, sizeof want, "{\"name\": \"%s\", \"owner\": \"moksha\", \"encoding\": \"UTF8\", \"locale\": \"C\", "
             "\"template\": \"template0\", \"connection_limit\": 2, \"allow_connections\": true, \"id\": \"%s\"}",
             name, name);
    assert_json(out, want);
    json_decref(out);
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    assert_string_equal(sql1("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '%s'", name),
                        "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    op.import_id = nm("no_such_db");
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "no database"));
    p->free(p);
}

static void db_check(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    json_t *a = db_attrs(nm("chk_db"), NULL), *out = NULL;
    char why[600];
    mk_prov_op op = {.address = "postgres.database.chk", .type = "postgres.database", .attrs = a, .keys = &ring,
                     .action = "create"};
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_object_set_new(a, "encoding", json_string("KLINGON"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.database.chk: the server knows no encoding KLINGON");
    json_object_set_new(a, "encoding", json_string("utf-8"));
    json_object_set_new(a, "template", json_string("no_such_template"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.database.chk: the server has no template database no_such_template");
    json_decref(a);
    p->free(p);
}

/* A connection whose user is no superuser, nor has CREATEROLE or
 * CREATEDB: the checks refuse what it cannot do before the first step,
 * and a password it cannot read (pg_authid) reads as recorded. */
static void limited_user(void **st)
{
    (void)st;
    NEED_PG();
    sql1("CREATE ROLE \"%slimited\" LOGIN PASSWORD 'limited-pw'", pfx);
    mk_prov *p = pg("{\"connection\": \"dev\"}"), *lim = pg("{\"connection\": \"limited\"}");
    json_t *a = role_attrs(nm("seen"), "postgres.role.seen", "pw"), *out = NULL;
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.role.seen", "postgres.role", a, &w);
    sql1("ALTER ROLE \"%s\" PASSWORD 'changed'", nm("seen"));
    json_t *got = readback(lim, "postgres.role.seen", "postgres.role", state);
    assert_true(json_equal(got, state)); /* it cannot tell: the record stands */
    json_decref(got);
    char why[600], want[300];
    mk_prov_op op = {.address = "postgres.role.seen", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "update"};
    assert_int_equal(lim->check(lim, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.role.seen: the user of connection limited cannot create or alter "
                             "roles (it needs CREATEROLE)");
    json_t *d = db_attrs(nm("lim_db"), NULL);
    mk_prov_op dop = {.address = "postgres.database.l", .type = "postgres.database", .attrs = d, .keys = &ring,
                      .action = "create"};
    assert_int_equal(lim->check(lim, &dop, &out, why, sizeof why), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.database.l: the user of connection limited cannot create "
             "databases (it needs CREATEDB)");
    assert_string_equal(why, want);
    json_decref(d), json_decref(state), json_decref(a);
    lim->free(lim), p->free(p);
}

/* ---- postgres.schema, postgres.extension ---- */

/* SQL as the administrator on database db; the first value, or "". */
static char *sqldb(const char *db, const char *sql)
{
    static char out[256];
    const char *kw[] = {"dbname", NULL}, *val[] = {db, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(out, sizeof out, "%s", s != PGRES_TUPLES_OK || !PQntuples(r) ? "" : PQgetisnull(r, 0, 0) ? "(null)"
                                                                                : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

/* note [pg membership]: createrole = true is refused, at the check and at the statement,
 * unless the connection sets allow_createrole. */
static void role_createrole(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}"), *cr = pg("{\"connection\": \"dev_cr\"}");
    json_t *a = role_attrs(nm("maker"), "postgres.role.maker", NULL), *out = NULL;
    json_object_set_new(a, "createrole", json_true());
    char why[600];
    mk_prov_op op = {.address = "postgres.role.maker", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "create"};
    const char *want = "postgres: postgres.role.maker: createrole = true: a CREATEROLE role can grant itself every "
                       "role but a superuser's (on PostgreSQL 15, pg_execute_server_program too: nearly a superuser); "
                       "refused unless connection dev sets allow_createrole";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, want);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.maker", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, want);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", nm("maker")), "0");
    /* allowed: made, then changed and dropped like any of the stack's */
    assert_int_equal(cr->check(cr, &op, &out, why, sizeof why), MK_PROV_OK);
    json_t *state = created(cr, "postgres.role.maker", "postgres.role", a, &w);
    assert_string_equal(sql1("SELECT rolcreaterole FROM pg_roles WHERE rolname = '%s'", nm("maker")), "t");
    assert_int_equal(call(cr, cr->update, "postgres.role.maker", "postgres.role", a, state, &w, NULL), MK_PROV_OK);
    /* without the allowance, the role that has it is not the stack's to touch */
    assert_int_equal(call(p, p->del, "postgres.role.maker", "postgres.role", state, NULL, &w, NULL), MK_PROV_FAILED);
    char w2[300];
    snprintf(w2, sizeof w2, "postgres: postgres.role.maker: role %s is a role with CREATEROLE: moksha does not import, "
             "take over, change or drop it, whatever its owner tag says", nm("maker"));
    assert_string_equal(w.why, w2);
    assert_int_equal(call(cr, cr->del, "postgres.role.maker", "postgres.role", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", nm("maker")), "0");
    json_decref(state), json_decref(a);
    p->free(p), cr->free(cr);
}

/* note [pg hands off]: the connection's own user, a superuser, and a role with REPLICATION,
 * BYPASSRLS or CREATEROLE are never imported, adopted, changed or dropped —
 * a forged owner tag unlocks none of them. */
static void role_privileged(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    char su[64], rp[64], by[64], want[400], why[600];
    snprintf(su, sizeof su, "%s", nm("su"));
    snprintf(rp, sizeof rp, "%s", nm("rp"));
    snprintf(by, sizeof by, "%s", nm("by"));
    sql1("CREATE ROLE \"%s\" SUPERUSER LOGIN PASSWORD 'su-pw'", su);
    sql1("CREATE ROLE \"%s\" REPLICATION", rp);
    sql1("CREATE ROLE \"%s\" BYPASSRLS", by);
    const char *names[] = {"moksha", su, rp, by};
    const char *what[] = {"the connection's own user", "a superuser", "a role with REPLICATION", "a role with BYPASSRLS"};
    json_t *out = NULL;
    for (int i = 0; i < 4; i++) {
        mk_prov_op op = {.address = "postgres.role.x", .type = "postgres.role", .keys = &ring, .stack_id = "stack1",
                         .run_id = "run1", .import_id = names[i]};
        assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        snprintf(want, sizeof want, "postgres: postgres.role.x: role %s is %s: moksha does not import, take over, "
                 "change or drop it, whatever its owner tag says", names[i], what[i]);
        assert_string_equal(why, want);
    }
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE "
                             "'%%stack1%%' AND rolname IN ('moksha', '%s', '%s', '%s')", su, rp, by), "0");
    /* a forged tag of this stack's on the superuser: no take-over, no change, no drop */
    sql1("COMMENT ON ROLE \"%s\" IS '{\"moksha\":{\"run\":\"run0\",\"stack\":\"stack1\"}}'", su);
    json_t *a = role_attrs(su, "postgres.role.x", "attacker-pw");
    json_object_set_new(a, "valid_until", json_string("2000-01-01T00:00:00Z"));
    who w = {.stack = "stack1", .run = "run1"};
    snprintf(want, sizeof want, "postgres: postgres.role.x: role %s is a superuser: moksha does not import, take "
             "over, change or drop it, whatever its owner tag says", su);
    assert_int_equal(call(p, p->create, "postgres.role.x", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, want);
    assert_int_equal(call(p, p->update, "postgres.role.x", "postgres.role", a, a, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, want);
    assert_int_equal(call(p, p->del, "postgres.role.x", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, want);
    /* and the check says so before the first step */
    mk_prov_op op = {.address = "postgres.role.x", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "update"};
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, want);
    assert_true(logs_in(su, "su-pw"));
    assert_string_equal(sql1("SELECT rolsuper::text || coalesce(rolvaliduntil::text, '-') FROM pg_roles "
                             "WHERE rolname = '%s'", su), "true-");
    json_decref(a);
    p->free(p);
}

/* Without a stack id nothing is made, adopted, changed or dropped. */
static void no_stack_id(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *dba = nm("dba");
    sql1("CREATE ROLE \"%s\" LOGIN PASSWORD 'dba-pw'", dba);
    sql1("COMMENT ON ROLE \"%s\" IS 'the DBA, hands off'", dba);
    json_t *a = role_attrs(dba, "postgres.role.dba", NULL);
    who none = {0};
    const char *want = "postgres: postgres.role.dba: no stack id: the postgres provider changes nothing without the "
                       "stack its owner tag names (note [pg owner])";
    assert_int_equal(call(p, p->create, "postgres.role.dba", "postgres.role", a, NULL, &none, NULL), MK_PROV_FAILED);
    assert_string_equal(none.why, want);
    assert_false(none.adopted);
    assert_int_equal(call(p, p->update, "postgres.role.dba", "postgres.role", a, a, &none, NULL), MK_PROV_FAILED);
    assert_string_equal(none.why, want);
    assert_int_equal(call(p, p->del, "postgres.role.dba", "postgres.role", a, NULL, &none, NULL), MK_PROV_FAILED);
    assert_string_equal(none.why, want);
    assert_string_equal(sql1("SELECT rolcanlogin::text || ' ' || shobj_description(oid, 'pg_authid') FROM pg_roles "
                             "WHERE rolname = '%s'", dba), "true the DBA, hands off");
    assert_true(logs_in(dba, "dba-pw"));
    /* a database and a schema alike */
    const char *db = nm("nsdb");
    sql1("CREATE DATABASE \"%s\"", db);
    json_t *d = db_attrs(db, NULL), *sc = json_pack("{s:s, s:s, s:n}", "database", db, "name", "public", "owner");
    assert_int_equal(call(p, p->del, "postgres.database.d", "postgres.database", d, NULL, &none, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(none.why, "no stack id"));
    assert_int_equal(call(p, p->del, "postgres.schema.s", "postgres.schema", sc, NULL, &none, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(none.why, "no stack id"));
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s'", db), "1");
    /* the owner rule alone fails closed too: a tag is nobody's without a stack id */
    mk_prov_op op = {.address = "x"};
    assert_int_equal(mk_prov_postgres_owner(&op, "{\"moksha\":{\"stack\":\"stack1\"}}"), MK_PGOWN_OTHER);
    assert_int_equal(mk_prov_postgres_owner(&op, NULL), MK_PGOWN_NONE);
    json_decref(a), json_decref(d), json_decref(sc);
    p->free(p);
}

/* An update asks whose the object is first: one made outside moksha
 * (or again under the name) or another stack's is not changed. */
static void foreign_update(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *dba = nm("dba2"), *grp = nm("dba2_grp");
    sql1("CREATE ROLE \"%s\"", grp);
    sql1("CREATE ROLE \"%s\" LOGIN PASSWORD 'dba-pw' IN ROLE \"%s\"", dba, grp);
    json_t *a = role_attrs(dba, "postgres.role.dba2", NULL);
    who w = {.stack = "stack1", .run = "run1"};
    char want[400];
    assert_int_equal(call(p, p->update, "postgres.role.dba2", "postgres.role", a, a, &w, NULL), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.role.dba2: role %s is not this stack's (it has no owner tag of "
             "moksha's): not changed; to manage it, `moksha import postgres.role.dba2 %s`", dba, dba);
    assert_string_equal(w.why, want);
    assert_true(logs_in(dba, "dba-pw"));
    assert_string_equal(sql1("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                             "WHERE r.rolname = '%s'", dba), "1");
    sql1("COMMENT ON ROLE \"%s\" IS '{\"moksha\":{\"run\":\"r\",\"stack\":\"stack2\"}}'", dba);
    assert_int_equal(call(p, p->update, "postgres.role.dba2", "postgres.role", a, a, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "is not this stack's (another stack made it): not changed"));
    /* a database and a schema made outside moksha */
    const char *db = nm("fudb");
    sql1("CREATE DATABASE \"%s\" CONNECTION LIMIT 2", db);
    json_t *d = db_attrs(db, NULL);
    assert_int_equal(call(p, p->update, "postgres.database.f", "postgres.database", d, d, &w, NULL), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.database.f: database %s is not this stack's (it has no owner tag "
             "of moksha's): not changed; to manage it, `moksha import postgres.database.f %s`", db, db);
    assert_string_equal(w.why, want);
    assert_string_equal(sql1("SELECT datconnlimit FROM pg_database WHERE datname = '%s'", db), "2");
    sqldb(db, "CREATE SCHEMA theirs");
    json_t *sc = json_pack("{s:s, s:s, s:s}", "database", db, "name", "theirs", "owner", grp);
    assert_int_equal(call(p, p->update, "postgres.schema.f", "postgres.schema", sc, sc, &w, NULL), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.schema.f: schema %s/theirs is not this stack's (it has no owner "
             "tag of moksha's): not changed; to manage it, `moksha import postgres.schema.f %s/theirs`", db, db);
    assert_string_equal(w.why, want);
    assert_string_equal(sqldb(db, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'theirs'"),
                        "moksha");
    json_decref(a), json_decref(d), json_decref(sc);
    p->free(p);
}

/* note [pg sql]: no statement is cut: a member_of name past 63 bytes, which once cut
 * the GRANT to land on another role, is refused at the check and at the
 * statement; so are names past 63 bytes anywhere. */
static void long_names(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    char victim[64], odd[80], b63[64], b375[376];
    snprintf(victim, sizeof victim, "%s", nm("victim3"));
    snprintf(odd, sizeof odd, "%s\" z", victim);
    memset(b63, 'b', 63), b63[63] = 0;
    memset(b375, 'b', 375), b375[375] = 0;
    sql1("CREATE ROLE \"%s\"", victim);
    sql1("CREATE ROLE %s", b63);
    json_t *a = role_attrs(odd, "postgres.role.v", NULL), *out = NULL;
    json_object_set_new(a, "member_of", json_pack("[s]", b375));
    char why[600];
    mk_prov_op op = {.address = "postgres.role.v", .type = "postgres.role", .attrs = a, .keys = &ring,
                     .action = "create"};
    const char *want = "postgres: postgres.role.v: member_of holds a name that is not 1 to 63 bytes";
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, want);
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.v", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, want);
    assert_string_equal(sql1("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                             "WHERE starts_with(r.rolname, '%s')", victim), "0");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = $$%s$$", odd), "0");
    /* a role's own name past 63 bytes: the statement is not made */
    json_object_set_new(a, "name", json_string(b375));
    json_object_set_new(a, "member_of", json_array());
    assert_int_equal(call(p, p->create, "postgres.role.v", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(w.why, "postgres: postgres.role.v: a role name is 1 to 63 bytes");
    assert_string_equal(sql1("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", b63), "1");
    assert_string_equal(sql1("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                             "WHERE r.rolname = '%s'", b63), "0");
    /* a database's owner past 63 bytes */
    json_t *d = db_attrs(nm("longdb"), b375);
    assert_int_equal(call(p, p->create, "postgres.database.l", "postgres.database", d, NULL, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "give the database its owner: the statement cannot be made (a name is 1 to 63 bytes)"));
    assert_string_equal(sql1("SELECT count(*) FROM pg_database WHERE datname = '%s' OR starts_with(datname, "
                             "'mk_stage_')", nm("longdb")), "0");
    sql1("DROP ROLE %s", b63);
    json_decref(a), json_decref(d);
    p->free(p);
}

/* note [pg log]: a statement that carries a verifier and fails is
 * not logged with its text, as the server would by default. */
static void verifier_not_logged(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *name = nm("nolog");
    json_t *a = role_attrs(name, "postgres.role.nolog", "pw of nolog");
    json_object_set_new(a, "valid_until", json_string("not a time at all"));
    who w = {.stack = "stack1", .run = "run1"};
    assert_int_equal(call(p, p->create, "postgres.role.nolog", "postgres.role", a, NULL, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "create role"));
    assert_non_null(strstr(w.why, "invalid input syntax for type timestamp with time zone"));
    assert_true(logged("\"not a time at all\"")); /* the error is logged */
    char stmt[120];
    snprintf(stmt, sizeof stmt, "ROLE \"%s\"", name); /* its statement is not */
    assert_false(logged(stmt));
    json_decref(a);
    p->free(p);
}

/* note [pg hands off] for databases and schemas: a template, the connection's own
 * database, a system schema, and what the connection's user could not
 * manage are not imported. */
static void unmanageable_import(void **st)
{
    (void)st;
    NEED_PG();
    sql1("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%slimited') THEN "
         "CREATE ROLE \"%slimited\" LOGIN PASSWORD 'limited-pw'; END IF; END$$", pfx, pfx);
    mk_prov *p = pg("{\"connection\": \"dev\"}"), *lim = pg("{\"connection\": \"limited\"}");
    char why[600], want[300];
    json_t *out = NULL;
    const char *ids[] = {"template1", "postgres"};
    const char *what[] = {"a template database", "the connection's own database"};
    for (int i = 0; i < 2; i++) {
        mk_prov_op op = {.address = "postgres.database.x", .type = "postgres.database", .keys = &ring,
                         .stack_id = "stack1", .run_id = "run1", .import_id = ids[i]};
        assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
        snprintf(want, sizeof want, "postgres: postgres.database.x: database %s is %s: moksha does not import, take "
                 "over, change or drop it, whatever its owner tag says", ids[i], what[i]);
        assert_string_equal(why, want);
    }
    const char *db = nm("umdb");
    sql1("CREATE DATABASE \"%s\"", db);
    mk_prov_op op = {.address = "postgres.database.x", .type = "postgres.database", .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = db};
    assert_int_equal(lim->import(lim, &op, &out, why, sizeof why), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.database.x: database %s is owned by a role the connection's user "
             "is not a member of: moksha does not import, take over, change or drop it, whatever its owner tag says",
             db);
    assert_string_equal(why, want);
    char id[100];
    snprintf(id, sizeof id, "%s/pg_catalog", db);
    mk_prov_op sop = {.address = "postgres.schema.x", .type = "postgres.schema", .keys = &ring, .stack_id = "stack1",
                      .run_id = "run1", .import_id = id};
    assert_int_equal(p->import(p, &sop, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.schema.x: schema pg_catalog is a system schema: moksha does not "
                             "import, take over, change or drop it, whatever its owner tag says");
    snprintf(id, sizeof id, "%s/public", db);
    assert_int_equal(lim->import(lim, &sop, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "schema public is owned by a role the connection's user is not a member of"));
    assert_string_equal(sql1("SELECT coalesce(shobj_description(oid, 'pg_database'), 'untagged') FROM pg_database "
                             "WHERE datname = '%s'", db), "untagged");
    lim->free(lim), p->free(p);
}

static void schema_crud(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *db = nm("sdb"), *owner = nm("sowner");
    char q[300], want[600];
    sql1("CREATE DATABASE \"%s\"", db);
    sql1("CREATE ROLE \"%s\"", owner);
    /* the database given as a reference, as a spec writes postgres.database.x */
    json_t *a = json_pack("{s:{s:s, s:s}, s:s, s:s}", "database", "$ref", "postgres.database.d", "id", db, "name",
                          "app", "owner", owner);
    who w = {.stack = "stack1", .run = "run1"};
    json_t *state = created(p, "postgres.schema.app", "postgres.schema", a, &w);
    snprintf(want, sizeof want, "%s/app", db);
    assert_string_equal(json_string_value(json_object_get(state, "id")), want);
    snprintf(q, sizeof q, "%s {\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}", owner);
    assert_string_equal(sqldb(db, "SELECT pg_get_userbyid(nspowner) || ' ' || obj_description(oid, 'pg_namespace') "
                                  "FROM pg_namespace WHERE nspname = 'app'"), q);
    json_t *got = readback(p, "postgres.schema.app", "postgres.schema", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sqldb(db, "ALTER SCHEMA app OWNER TO moksha");
    got = readback(p, "postgres.schema.app", "postgres.schema", state);
    assert_string_equal(json_string_value(json_object_get(got, "owner")), "moksha");
    json_decref(got);
    assert_int_equal(call(p, p->update, "postgres.schema.app", "postgres.schema", a, state, &w, NULL), MK_PROV_OK);
    got = readback(p, "postgres.schema.app", "postgres.schema", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    /* adoption as for every tagged type */
    who later = {.stack = "stack1", .run = "run2"};
    json_decref(created(p, "postgres.schema.app", "postgres.schema", a, &later));
    assert_true(later.adopted);
    /* a schema made outside moksha */
    sqldb(db, "CREATE SCHEMA theirs");
    json_t *f = json_pack("{s:s, s:s, s:n}", "database", db, "name", "theirs", "owner");
    assert_int_equal(call(p, p->create, "postgres.schema.f", "postgres.schema", f, NULL, &w, NULL), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.schema.f: schema %s/theirs already exists and this stack did not "
             "make it: not taken over; to manage it, `moksha import postgres.schema.f %s/theirs`", db, db);
    assert_string_equal(w.why, want);
    assert_int_equal(call(p, p->del, "postgres.schema.f", "postgres.schema", f, NULL, &w, NULL), MK_PROV_FAILED);
    assert_string_equal(sqldb(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'theirs'"), "1");
    /* what others put in it keeps it: RESTRICT, the server's word quoted */
    sqldb(db, "CREATE TABLE app.t (x int)");
    assert_int_equal(call(p, p->del, "postgres.schema.app", "postgres.schema", state, NULL, &w, NULL), MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "drop schema app: the server says: cannot drop schema app because other objects "
                                  "depend on it (2BP01)"));
    sqldb(db, "DROP TABLE app.t");
    assert_int_equal(call(p, p->del, "postgres.schema.app", "postgres.schema", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sqldb(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'app'"), "0");
    assert_int_equal(call(p, p->del, "postgres.schema.app", "postgres.schema", state, NULL, &w, NULL), MK_PROV_OK);
    /* its database gone: the schema is gone, its delete done */
    p->free(p);
    p = pg("{\"connection\": \"dev\"}");
    sql1("DROP DATABASE \"%s\" WITH (FORCE)", db);
    assert_int_equal(call(p, p->read, "postgres.schema.app", "postgres.schema", state, NULL, &w, &got), MK_PROV_OK);
    assert_null(got);
    assert_int_equal(call(p, p->del, "postgres.schema.app", "postgres.schema", state, NULL, &w, NULL), MK_PROV_OK);
    assert_int_equal(call(p, p->create, "postgres.schema.app", "postgres.schema", a, NULL, &w, NULL), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: postgres.schema.app: database %s does not exist", db);
    assert_string_equal(w.why, want);
    json_decref(state), json_decref(a), json_decref(f);
    p->free(p);
}

static void schema_import(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *db = nm("idb");
    char id[100], want[400], why[600];
    sql1("CREATE DATABASE \"%s\"", db);
    sqldb(db, "CREATE SCHEMA legacy");
    snprintf(id, sizeof id, "%s/legacy", db);
    json_t *out = NULL;
    mk_prov_op op = {.address = "postgres.schema.legacy", .type = "postgres.schema", .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = id};
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    snprintf(want, sizeof want, "{\"database\": \"%s\", \"name\": \"legacy\", \"owner\": \"moksha\", \"id\": \"%s\"}",
             db, id);
    assert_json(out, want);
    json_decref(out);
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_decref(out);
    assert_string_equal(sqldb(db, "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                                  "WHERE nspname = 'legacy'"), "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    op.import_id = "no-slash";
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.schema.legacy: an id is DATABASE/NAME");
    json_t *other = json_pack("{s:s, s:s}", "database", db, "name", "other");
    op.import_id = id, op.attrs = other;
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_non_null(strstr(why, "is not the schema the spec names"));
    json_decref(other);
    p->free(p);
}

static void extension_crud(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    mk_prov *bad = pg("{\"connection\": \"dev\", \"fail_on\": [\"postgres.extension.ci\"]}");
    const char *db = nm("edb");
    char want[400];
    sql1("CREATE DATABASE \"%s\"", db);
    sqldb(db, "CREATE SCHEMA ext");
    json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "database", db, "name", "citext", "schema", "ext", "version", "1.5");
    who w = {.stack = "stack1", .run = "run1"};
    /* an injected failure leaves nothing: one transaction */
    assert_int_equal(call(bad, bad->create, "postgres.extension.ci", "postgres.extension", a, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_string_equal(sqldb(db, "SELECT count(*) FROM pg_extension WHERE extname = 'citext'"), "0");
    json_t *state = created(p, "postgres.extension.ci", "postgres.extension", a, &w);
    assert_string_equal(sqldb(db, "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension "
                                  "WHERE extname = 'citext'"), "1.5 ext");
    json_t *got = readback(p, "postgres.extension.ci", "postgres.extension", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    sqldb(db, "ALTER EXTENSION citext SET SCHEMA public");
    got = readback(p, "postgres.extension.ci", "postgres.extension", state);
    snprintf(want, sizeof want, "{\"database\": \"%s\", \"name\": \"citext\", \"schema\": \"public\", \"version\": "
             "\"1.5\", \"id\": \"%s/citext\"}", db, db);
    assert_json(got, want);
    json_decref(got);
    /* the update moves it back and takes it to the version asked */
    json_object_set_new(a, "version", json_string("1.6"));
    assert_int_equal(call(p, p->update, "postgres.extension.ci", "postgres.extension", a, state, &w, NULL), MK_PROV_OK);
    assert_string_equal(sqldb(db, "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension "
                                  "WHERE extname = 'citext'"), "1.6 ext");
    /* version null: whatever is installed, read as null */
    json_object_set_new(state, "version", json_null());
    got = readback(p, "postgres.extension.ci", "postgres.extension", state);
    assert_true(json_equal(got, state));
    json_decref(got);
    assert_int_equal(call(p, p->del, "postgres.extension.ci", "postgres.extension", state, NULL, &w, NULL), MK_PROV_OK);
    assert_string_equal(sqldb(db, "SELECT count(*) FROM pg_extension WHERE extname = 'citext'"), "0");
    /* plpgsql came with the database: foreign */
    json_t *f = json_pack("{s:s, s:s, s:n, s:n}", "database", db, "name", "plpgsql", "schema", "version");
    assert_int_equal(call(p, p->create, "postgres.extension.pl", "postgres.extension", f, NULL, &w, NULL),
                     MK_PROV_FAILED);
    assert_non_null(strstr(w.why, "already exists and this stack did not make it"));
    /* check: what the server does not have is refused before the first step */
    json_t *out = NULL;
    char why[600];
    mk_prov_op op = {.address = "postgres.extension.x", .type = "postgres.extension", .attrs = a, .keys = &ring,
                     .action = "create"};
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_OK);
    json_object_set_new(a, "version", json_string("9.9"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.extension.x: the server has no version 9.9 of extension citext");
    json_object_set_new(a, "name", json_string("no_such_ext"));
    assert_int_equal(p->check(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    assert_string_equal(why, "postgres: postgres.extension.x: the server has no extension no_such_ext to install");
    json_decref(state), json_decref(a), json_decref(f);
    p->free(p), bad->free(bad);
}

static void extension_import(void **st)
{
    (void)st;
    NEED_PG();
    mk_prov *p = pg("{\"connection\": \"dev\"}");
    const char *db = nm("xdb");
    char id[100], want[400], why[600];
    sql1("CREATE DATABASE \"%s\"", db);
    sqldb(db, "CREATE EXTENSION hstore VERSION '1.7'");
    snprintf(id, sizeof id, "%s/hstore", db);
    json_t *out = NULL;
    mk_prov_op op = {.address = "postgres.extension.h", .type = "postgres.extension", .keys = &ring,
                     .stack_id = "stack1", .run_id = "run1", .import_id = id};
    assert_int_equal(p->read(p, &op, &out, why, sizeof why), MK_PROV_OK);
    snprintf(want, sizeof want, "{\"database\": \"%s\", \"name\": \"hstore\", \"schema\": \"public\", \"version\": "
             "\"1.7\", \"id\": \"%s\"}", db, id);
    assert_json(out, want);
    json_decref(out);
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_OK);
    snprintf(want, sizeof want, "{\"id\": \"%s\"}", id);
    assert_json(out, want);
    json_decref(out);
    assert_string_equal(sqldb(db, "SELECT obj_description(oid, 'pg_extension') FROM pg_extension "
                                  "WHERE extname = 'hstore'"), "{\"moksha\":{\"run\":\"run1\",\"stack\":\"stack1\"}}");
    /* another stack's cannot be imported */
    op.stack_id = "stack2";
    assert_int_equal(p->import(p, &op, &out, why, sizeof why), MK_PROV_FAILED);
    snprintf(want, sizeof want, "postgres: import postgres.extension.h: extension %s is another stack's: not taken over",
             id);
    assert_string_equal(why, want);
    p->free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scram_compare),
        cmocka_unit_test(role_create_read_update_delete),
        cmocka_unit_test(role_password_drift),
        cmocka_unit_test(role_owners),
        cmocka_unit_test(role_fail_on),
        cmocka_unit_test(role_import),
        cmocka_unit_test(role_check),
        cmocka_unit_test(role_valid_until),
        cmocka_unit_test(session_lost),
        cmocka_unit_test(role_membership_guard),
        cmocka_unit_test(role_createrole),
        cmocka_unit_test(role_privileged),
        cmocka_unit_test(verifier_not_logged),
        cmocka_unit_test(limited_user),
        cmocka_unit_test(db_create_read_update_delete),
        cmocka_unit_test(db_staging),
        cmocka_unit_test(db_owners),
        cmocka_unit_test(db_import),
        cmocka_unit_test(db_check),
        cmocka_unit_test(schema_crud),
        cmocka_unit_test(schema_import),
        cmocka_unit_test(extension_crud),
        cmocka_unit_test(extension_import),
        cmocka_unit_test(no_stack_id),
        cmocka_unit_test(foreign_update),
        cmocka_unit_test(long_names),
        cmocka_unit_test(unmanageable_import),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
