/* postgres_role — postgres.role (docs/providers.md, "The postgres
 * provider"): a role of the whole server, made and changed in one
 * transaction with its owner tag (note [pg owner]), its memberships an
 * exact set, its password sent only as a SCRAM-SHA-256 verifier and read
 * back by recomputing that verifier (note [pg password]). It does not
 * manage what a role owns or may do inside a database: grants do that. */
#include "runtime/providers/postgres_role.h"
#include "runtime/providers/postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/keyring.h"
#include "runtime/providers/seen.h"

/* note [pg password]'s cap on a verifier's iteration count: PostgreSQL
 * writes 4096 (scram_iterations, PostgreSQL 16, may raise it); 16 times
 * that leaves an operator room and costs some 30 ms of PBKDF2 a compare,
 * where a hostile 1,000,000 would cost half a second a role a read. A
 * verifier above it is not judged (CANNOT: the record stands). */
#define ITERMAX 65536

/* ---- note [pg password] ----
 * The sealed password is opened only to make a verifier
 * (PQencryptPasswordConn, scram-sha-256: computed by libpq, so the
 * password never crosses the wire, the server's log or an error) and, on a
 * read, to recompute the StoredKey and ServerKey of the verifier the server
 * holds from its own salt and iteration count (RFC 5802, 7677). Reading
 * pg_authid needs a superuser; without one the recorded value stands. The
 * opened text is wiped as soon as it is used. */

static size_t unb64(const char *s, size_t n, unsigned char *out, size_t max)
{
    if (n == 0 || n % 4 || n / 4 * 3 > max)
        return 0;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0)
        return 0;
    return (size_t)len - (s[n - 1] == '=') - (s[n - 2] == '=');
}

static bool scram_keys(const char *pw, const unsigned char *salt, size_t nsalt, int iter, unsigned char stored[32],
                       unsigned char server[32])
{
    unsigned char salted[32], client[32];
    unsigned int n = 32;
    bool ok = PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)nsalt, iter, EVP_sha256(), 32, salted) == 1 &&
              HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, client, &n) &&
              EVP_Digest(client, 32, stored, NULL, EVP_sha256(), NULL) == 1 &&
              HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, server, &n);
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(client, sizeof client);
    return ok;
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" */
mk_pgscram mk_prov_postgres_role_scram_compare(const char *verifier, const char *password)
{
    const char *p = verifier && !strncmp(verifier, "SCRAM-SHA-256$", 14) ? verifier + 14 : NULL;
    char *end;
    long iter = p ? strtol(p, &end, 10) : 0;
    if (!p || iter < 1 || *end != ':')
        return MK_PGSCRAM_DIFFERS;
    if (iter > ITERMAX)
        return MK_PGSCRAM_CANNOT;
    const char *salt = end + 1, *keys = strchr(salt, '$'), *colon = keys ? strchr(keys, ':') : NULL;
    unsigned char s[128], st[64], sv[64], want_st[32], want_sv[32];
    size_t ns = keys ? unb64(salt, (size_t)(keys - salt), s, sizeof s) : 0;
    if (!ns || !colon || unb64(keys + 1, (size_t)(colon - keys - 1), st, sizeof st) != 32 ||
        unb64(colon + 1, strlen(colon + 1), sv, sizeof sv) != 32)
        return MK_PGSCRAM_DIFFERS;
    if (!scram_keys(password, s, ns, (int)iter, want_st, want_sv))
        return MK_PGSCRAM_CANNOT;
    bool same = CRYPTO_memcmp(st, want_st, 32) == 0 && CRYPTO_memcmp(sv, want_sv, 32) == 0;
    OPENSSL_cleanse(want_st, 32);
    OPENSSL_cleanse(want_sv, 32);
    /* the server's verifier is of the SASLprep'd password (RFC 4013),
     * which is the text itself when it is ASCII; moksha does not redo
     * SASLprep, so a non-ASCII one that does not match cannot be judged */
    return same ? MK_PGSCRAM_SAME : ascii(password) ? MK_PGSCRAM_DIFFERS : MK_PGSCRAM_CANNOT;
}

static void wipe(char *t)
{
    if (t) {
        OPENSSL_cleanse(t, strlen(t));
        free(t);
    }
}

/* The password of attrs opened (a new string: wipe it), NULL with *none
 * when there is none; NULL with why when it cannot be opened. A password
 * that is not sealed is refused: it travels only sealed. */
static char *open_password(const mk_prov_op *op, json_t *attrs, bool *none, char *why, size_t whylen)
{
    json_t *v = json_object_get(attrs, "password");
    *none = !v || json_is_null(v);
    if (*none)
        return NULL;
    char *pw = mk_prov_seen_is_secret(v) && op->keys ? mk_keyring_open_attr(op->keys, v, op->address, "password") : NULL;
    if (!pw)
        snprintf(why, whylen, "postgres: %s: the password %s", op->address,
                 mk_prov_seen_is_secret(v) ? "does not open with this executor's key" : "is not sealed: refused");
    return pw;
}

/* ---- statements ---- */

static const char *role_name(const mk_prov_op *op, json_t *attrs)
{
    return op->import_id ? op->import_id : mk_prov_postgres_str(attrs, "name");
}

/* The options of CREATE/ALTER ROLE for attrs, the password's verifier
 * (NULL: leave the password as it is; "": PASSWORD NULL) appended. */
static void options(PGconn *c, json_t *attrs, const char *verifier, mk_pgsql *b)
{
    char opt[160];
    snprintf(opt, sizeof opt, " %sLOGIN %sCREATEDB %sCREATEROLE %sINHERIT CONNECTION LIMIT %lld VALID UNTIL ",
             mk_prov_postgres_bool(attrs, "login", false) ? "" : "NO",
             mk_prov_postgres_bool(attrs, "createdb", false) ? "" : "NO",
             mk_prov_postgres_bool(attrs, "createrole", false) ? "" : "NO",
             mk_prov_postgres_bool(attrs, "inherit", true) ? "" : "NO",
             mk_prov_postgres_int(attrs, "connection_limit", -1));
    const char *until = mk_prov_postgres_str(attrs, "valid_until");
    mk_prov_postgres_sql_add(b, opt);
    mk_prov_postgres_sql_literal(b, c, until ? until : "infinity");
    if (verifier && *verifier) {
        mk_prov_postgres_sql_add(b, " PASSWORD ");
        mk_prov_postgres_sql_literal(b, c, verifier);
    } else if (verifier)
        mk_prov_postgres_sql_add(b, " PASSWORD NULL");
}

/* note [pg log]: a statement that carries a verifier is kept out of the
 * server's log (log_statement, a failure's log_min_error_statement, a slow
 * one's log_min_duration_statement) for its transaction, when the
 * connection's user may set those (a superuser); a verifier is not the
 * password, but one of a weak password can be cracked offline. */
static mk_prov_status unlogged(mk_pgp *p, PGconn *c, const mk_prov_op *op, char *why, size_t whylen)
{
    const char *su = PQparameterStatus(c, "is_superuser");
    if (!su || strcmp(su, "on") != 0 || PQtransactionStatus(c) != PQTRANS_INTRANS)
        return MK_PROV_OK;
    return mk_prov_postgres_exec(p, c, op, "keep the verifier out of the server's log",
                                 "SELECT set_config('log_statement', 'none', true), "
                                 "set_config('log_min_error_statement', 'panic', true), "
                                 "set_config('log_min_duration_statement', '-1', true)",
                                 0, NULL, NULL, why, whylen);
}

/* note [pg membership]: createrole = true only where the connection
 * allows it (allow_createrole). */
static mk_prov_status createrole_ok(mk_pgp *p, const mk_prov_op *op, char *why, size_t whylen)
{
    if (!mk_prov_postgres_bool(op->attrs, "createrole", false) || mk_prov_postgres_conn(p)->allow_createrole)
        return MK_PROV_OK;
    snprintf(why, whylen, "postgres: %s: createrole = true: a CREATEROLE role can grant itself every role but a "
             "superuser's (on PostgreSQL 15, pg_execute_server_program too: nearly a superuser); refused unless "
             "connection %s sets allow_createrole", op->address, mk_prov_postgres_conn_name(p));
    return MK_PROV_FAILED;
}

/* Run "VERB ROLE name OPTIONS" (CREATE or ALTER) for attrs, with the
 * password when set_password. */
static mk_prov_status define(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *verb, bool set_password,
                             char *why, size_t whylen)
{
    const char *name = role_name(op, op->attrs);
    char *verifier = NULL, what[120];
    mk_prov_status st = createrole_ok(p, op, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (set_password) {
        bool none;
        char *pw = open_password(op, op->attrs, &none, why, whylen);
        if (!pw && !none)
            return MK_PROV_FAILED;
        verifier = pw ? PQencryptPasswordConn(c, pw, name, "scram-sha-256") : NULL;
        wipe(pw);
        if (!none && !verifier)
            return snprintf(why, whylen, "postgres: %s: cannot make the password's verifier", op->address),
                   MK_PROV_FAILED;
    }
    mk_pgsql b = {0};
    mk_prov_postgres_sql_add(&b, verb);
    mk_prov_postgres_sql_add(&b, " ROLE ");
    mk_prov_postgres_sql_ident(&b, c, name);
    options(c, op->attrs, set_password ? (verifier ? verifier : "") : NULL, &b);
    if (verifier) {
        OPENSSL_cleanse(verifier, strlen(verifier));
        st = unlogged(p, c, op, why, whylen);
    }
    PQfreemem(verifier);
    snprintf(what, sizeof what, "%s role %s", !strcmp(verb, "CREATE") ? "create" : "alter", name);
    if (st != MK_PROV_OK)
        mk_prov_postgres_sql_free(&b);
    return st == MK_PROV_OK ? mk_prov_postgres_sql_run(p, c, op, what, &b, why, whylen) : st;
}

/* GRANT or REVOKE membership of group for the role. */
static mk_prov_status member(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *group, bool grant, char *why,
                             size_t whylen)
{
    mk_pgsql b = {0};
    char what[200];
    mk_prov_postgres_sql_add(&b, grant ? "GRANT " : "REVOKE ");
    mk_prov_postgres_sql_ident(&b, c, group);
    mk_prov_postgres_sql_add(&b, grant ? " TO " : " FROM ");
    mk_prov_postgres_sql_ident(&b, c, role_name(op, op->attrs));
    snprintf(what, sizeof what, "%s membership of %.100s", grant ? "grant" : "revoke", group);
    return mk_prov_postgres_sql_run(p, c, op, what, &b, why, whylen);
}

/* The roles name is a member of, as a JSON array (a new one), or NULL
 * with why. */
static json_t *memberships(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, mk_prov_status *st,
                           char *why, size_t whylen)
{
    const char *sql = "SELECT coalesce(json_agg(b.rolname ORDER BY b.rolname COLLATE \"C\"), '[]')::text "
                      "FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles r ON r.oid = m.member "
                      "WHERE r.rolname = $1";
    PGresult *r;
    *st = mk_prov_postgres_exec(p, c, op, "read memberships", sql, 1, (const char *[]){name}, &r, why, whylen);
    if (*st != MK_PROV_OK)
        return NULL;
    json_t *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return out;
}

/* note [pg membership]: a member of a role has what that role has, one
 * SET ROLE away. So member_of is refused when it names, or names a role
 * that is through its own memberships a member of:
 * - a superuser, or the connection's own user (current_user, session_user);
 * - a role with CREATEROLE (it grants itself the rest), REPLICATION (the
 *   whole cluster's data, through a replication connection) or BYPASSRLS;
 * - a predefined role that reaches the server's host, or all data, or
 *   other sessions: pg_execute_server_program, pg_read_server_files,
 *   pg_write_server_files (COPY … PROGRAM, the server's files),
 *   pg_read_all_data, pg_write_all_data, pg_signal_backend (ends others'
 *   sessions), pg_checkpoint, pg_create_subscription (PostgreSQL 16:
 *   the server connects where a subscription says).
 * pg_monitor, pg_read_all_stats, pg_read_all_settings and
 * pg_stat_scan_tables are let through: they read statistics and settings,
 * not data, and reach nothing outside the server (pg_read_all_stats does
 * show others' query texts: docs/providers.md says so). createrole = true
 * needs the connection's allow_createrole. */
static const char GUARDED[] =
    "SELECT s.rolname FROM pg_roles s, pg_roles g WHERE g.rolname = $1 AND pg_has_role(g.oid, s.oid, 'MEMBER') "
    "AND (s.rolsuper OR s.rolcreaterole OR s.rolreplication OR s.rolbypassrls OR s.rolname = current_user "
    "OR s.rolname = session_user OR s.rolname IN ('pg_execute_server_program', 'pg_read_server_files', "
    "'pg_write_server_files', 'pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend', 'pg_checkpoint', "
    "'pg_create_subscription')) ORDER BY s.rolname = g.rolname DESC, s.rolname COLLATE \"C\" LIMIT 1";

static mk_prov_status grantable(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *group, char *why,
                                size_t whylen)
{
    if (strlen(group) < 1 || strlen(group) > 63)
        return snprintf(why, whylen, "postgres: %s: member_of holds a name that is not 1 to 63 bytes", op->address),
               MK_PROV_FAILED;
    PGresult *r;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "look up a role of member_of", GUARDED, 1,
                                              (const char *[]){group}, &r, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (PQntuples(r) == 1) {
        const char *s = PQgetvalue(r, 0, 0);
        char via[120] = "";
        if (strcmp(s, group) != 0)
            snprintf(via, sizeof via, " (through %.63s)", s);
        snprintf(why, whylen, "postgres: %s: member_of %s%s: a member of it could act as a superuser, reach the "
                 "server's host or all its data (a superuser, the connection's own user, CREATEROLE, REPLICATION, "
                 "BYPASSRLS, or a predefined role of the kind: note [pg membership]); refused", op->address, group, via);
        st = MK_PROV_FAILED;
    }
    PQclear(r);
    return st;
}

/* note [pg hands off]: an owner tag is a comment, and whoever may comment
 * on an object may forge one; so a tag never unlocks what moksha must not
 * touch. At every import, take-over, update and delete of an object there
 * (and in the check), each type refuses its own list: here the
 * connection's own user, a superuser, and a role with REPLICATION,
 * BYPASSRLS or (unless the connection allows it) CREATEROLE. */
static mk_prov_status manageable(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why,
                                 size_t whylen)
{
    return mk_prov_postgres_hands_off(
        p, c, op, "role", name,
        "SELECT CASE WHEN rolname = current_user OR rolname = session_user THEN 'the connection''s own user' "
        "WHEN rolsuper THEN 'a superuser' WHEN rolreplication THEN 'a role with REPLICATION' "
        "WHEN rolbypassrls THEN 'a role with BYPASSRLS' WHEN rolcreaterole AND NOT $2::bool "
        "THEN 'a role with CREATEROLE' END FROM pg_roles WHERE rolname = $1", 2,
        (const char *[]){name, mk_prov_postgres_conn(p)->allow_createrole ? "true" : "false"}, why, whylen);
}

/* Make the role's memberships exactly attrs.member_of. */
static mk_prov_status sync_members(mk_pgp *p, PGconn *c, const mk_prov_op *op, char *why, size_t whylen)
{
    mk_prov_status st;
    json_t *have = memberships(p, c, op, role_name(op, op->attrs), &st, why, whylen);
    json_t *want = json_object_get(op->attrs, "member_of"), *v;
    size_t i;
    json_array_foreach(have, i, v)
        if (st == MK_PROV_OK && !mk_prov_postgres_has_name(want, json_string_value(v)))
            st = member(p, c, op, json_string_value(v), false, why, whylen);
    json_array_foreach(want, i, v) {
        const char *g = mk_prov_postgres_name(v);
        if (st == MK_PROV_OK && !g)
            st = (snprintf(why, whylen, "postgres: %s: member_of holds something that is not a role name", op->address),
                  MK_PROV_FAILED);
        if (st == MK_PROV_OK && !mk_prov_postgres_has_name(have, g))
            st = grantable(p, c, op, g, why, whylen);
        if (st == MK_PROV_OK && !mk_prov_postgres_has_name(have, g))
            st = member(p, c, op, g, true, why, whylen);
    }
    json_decref(have);
    return st;
}

/* ---- the role as the server has it ---- */

/* The role's row: 0 (none) or 1; recorded_until the valid_until recorded
 * (NULL: none), compared there as a time. */
static mk_prov_status look(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, const char *recorded_until,
                           PGresult **r, char *why, size_t whylen)
{
    const char *sql =
        "SELECT r.rolcanlogin, r.rolconnlimit, r.rolcreatedb, r.rolcreaterole, r.rolinherit, "
        "CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL "
        "ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END, "
        "coalesce(r.rolvaliduntil = $2::timestamptz, false), "
        "has_table_privilege('pg_catalog.pg_authid', 'SELECT') FROM pg_roles r WHERE r.rolname = $1";
    return mk_prov_postgres_exec(p, c, op, "look up the role", sql, 2, (const char *[]){name, recorded_until}, r, why,
                                 whylen);
}

static bool col_true(PGresult *r, int col) { return PQgetvalue(r, 0, col)[0] == 't'; }

/* The password as a read shows it (note [pg password]): held is the
 * server's verifier (NULL: none), privileged whether it could be read. */
static json_t *password_seen(const mk_prov_op *op, bool privileged, const char *held)
{
    json_t *rec = op->import_id ? NULL : json_object_get(op->attrs, "password");
    if (op->import_id)
        return privileged && !held ? json_null() : mk_prov_seen_unknown();
    if (!privileged)
        return rec ? json_deep_copy(rec) : json_null();
    if (!rec || json_is_null(rec))
        return held ? mk_prov_seen_differs() : json_null();
    if (!held)
        return mk_prov_seen_differs();
    char *pw = op->keys ? mk_keyring_open_attr(op->keys, rec, op->address, "password") : NULL;
    mk_pgscram same = pw ? mk_prov_postgres_role_scram_compare(held, pw) : MK_PGSCRAM_CANNOT;
    wipe(pw);
    return same == MK_PGSCRAM_DIFFERS ? mk_prov_seen_differs() : json_deep_copy(rec);
}

/* pg_authid.rolpassword of name into *held (a new string, or NULL). */
static mk_prov_status verifier_of(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char **held,
                                  char *why, size_t whylen)
{
    PGresult *r;
    *held = NULL;
    mk_prov_status st = mk_prov_postgres_exec(p, c, op, "read the password's verifier",
                                              "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1", 1,
                                              (const char *[]){name}, &r, why, whylen);
    if (st == MK_PROV_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        *held = strdup(PQgetvalue(r, 0, 0));
    if (st == MK_PROV_OK) {
        for (int i = 0; i < PQntuples(r); i++)
            OPENSSL_cleanse(PQgetvalue(r, i, 0), strlen(PQgetvalue(r, i, 0)));
        PQclear(r);
    }
    return st;
}

/* A recorded name reads as recorded (a reference keeps its form). */
static json_t *name_seen(const mk_prov_op *op, const char *attr, const char *held)
{
    json_t *rec = op->import_id ? NULL : json_object_get(op->attrs, attr);
    const char *n = mk_prov_postgres_name(rec);
    return n && !strcmp(n, held) ? json_deep_copy(rec) : json_string(held);
}

static json_t *view_of(const mk_prov_op *op, const char *name, PGresult *r, json_t *members, json_t *password)
{
    json_t *rec = op->import_id ? NULL : json_object_get(op->attrs, "member_of");
    json_t *until = PQgetisnull(r, 0, 5) ? json_null()
                    : col_true(r, 6)     ? json_deep_copy(json_object_get(op->attrs, "valid_until"))
                                         : json_string(PQgetvalue(r, 0, 5));
    return json_pack("{s:o, s:b, s:o, s:I, s:b, s:b, s:b, s:o, s:o, s:o}", "name", name_seen(op, "name", name), "login",
                     col_true(r, 0), "password", password, "connection_limit", (json_int_t)atoll(PQgetvalue(r, 0, 1)),
                     "createdb", col_true(r, 2), "createrole", col_true(r, 3), "inherit", col_true(r, 4), "member_of",
                     mk_prov_postgres_same_names(rec, members) ? json_deep_copy(rec) : json_incref(members),
                     "valid_until", until, "id", json_string(name));
}

static mk_prov_status read_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, json_t **out, char *why,
                              size_t whylen)
{
    PGresult *r;
    const char *until = op->import_id ? NULL : mk_prov_postgres_str(op->attrs, "valid_until");
    mk_prov_status st = look(p, c, op, name, until, &r, why, whylen);
    if (st != MK_PROV_OK || PQntuples(r) == 0) {
        PQclear(r);
        return st;
    }
    bool privileged = col_true(r, 7);
    char *held = NULL;
    json_t *members = memberships(p, c, op, name, &st, why, whylen);
    if (st == MK_PROV_OK && privileged)
        st = verifier_of(p, c, op, name, &held, why, whylen);
    if (st == MK_PROV_OK)
        *out = mk_prov_postgres_as_recorded(op, view_of(op, name, r, members, password_seen(op, privileged, held)));
    wipe(held);
    json_decref(members);
    PQclear(r);
    return st;
}

/* A session on the connection's own database for op's role (*name). */
static PGconn *session(mk_pgp *p, const mk_prov_op *op, const char **name, mk_prov_status *st, char *why,
                       size_t whylen)
{
    *name = role_name(op, op->attrs);
    /* the server cuts a longer name: the role looked up and the role
     * changed would not be one (note [pg sql]) */
    if (!*name || !**name || strlen(*name) > 63) {
        *st = MK_PROV_FAILED;
        snprintf(why, whylen, "postgres: %s: %s", op->address, *name ? "a role name is 1 to 63 bytes" : "no role name");
        return NULL;
    }
    return mk_prov_postgres_session(p, NULL, op, st, why, whylen);
}

static mk_prov_status rd(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *name;
    mk_prov_status st;
    PGconn *c = session(p, op, &name, &st, why, whylen);
    if (!c)
        return st;
    *out = NULL;
    st = read_in(p, c, op, name, out, why, whylen);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    return st;
}

/* ---- changes ---- */

static mk_prov_status comment(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    char *tag = mk_prov_postgres_tag(op, NULL);
    mk_pgsql b = {0};
    mk_prov_postgres_sql_add(&b, "COMMENT ON ROLE ");
    mk_prov_postgres_sql_ident(&b, c, name);
    mk_prov_postgres_sql_add(&b, " IS ");
    mk_prov_postgres_sql_literal(&b, c, tag);
    free(tag);
    return mk_prov_postgres_sql_run(p, c, op, "tag the role", &b, why, whylen);
}

static mk_prov_status injected(mk_pgp *p, const mk_prov_op *op, mk_prov_status st, char *why, size_t whylen)
{
    return st == MK_PROV_OK && mk_prov_postgres_injected(p, op, why, whylen) ? MK_PROV_FAILED : st;
}

static mk_prov_status whose(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, mk_pgwho *who, char *why,
                            size_t whylen)
{
    return mk_prov_postgres_whose(p, c, op, "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
                                  1, (const char *[]){name}, who, why, whylen);
}

/* In a transaction: make the role, or take over the one there when this
 * stack made it (note [pg owner]). */
static mk_prov_status create_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    mk_pgwho who;
    mk_prov_status st = whose(p, c, op, name, &who, why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (who.there && (who.own == MK_PGOWN_NONE || who.own == MK_PGOWN_OTHER))
        return mk_prov_postgres_foreign(op, "role", name, why, whylen);
    if (who.there && (st = manageable(p, c, op, name, why, whylen)) != MK_PROV_OK)
        return st;
    st = injected(p, op, define(p, c, op, who.there ? "ALTER" : "CREATE", true, why, whylen), why, whylen);
    if (st == MK_PROV_OK && !who.there)
        st = comment(p, c, op, name, why, whylen);
    if (st == MK_PROV_OK)
        st = sync_members(p, c, op, why, whylen);
    /* an earlier run's role is adopted: its tag stays that run's, so a
     * retry of this create still finds it not made here */
    if (st == MK_PROV_OK && who.own == MK_PGOWN_EARLIER && op->adopted)
        *op->adopted = true;
    return st;
}

typedef mk_prov_status (*step_fn)(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why,
                                  size_t whylen);

/* One transaction on the connection's own database running fn. */
static mk_prov_status in_tx(mk_pgp *p, const mk_prov_op *op, step_fn fn, json_t **out, char *why, size_t whylen)
{
    const char *name;
    mk_prov_status st = mk_prov_postgres_stacked(op, why, whylen);
    PGconn *c = st == MK_PROV_OK ? session(p, op, &name, &st, why, whylen) : NULL;
    if (!c)
        return st;
    st = mk_prov_postgres_begin(p, c, op, why, whylen);
    if (st == MK_PROV_OK)
        st = fn(p, c, op, name, why, whylen);
    st = mk_prov_postgres_done(p, NULL, c, op, st, why, whylen);
    if (st == MK_PROV_OK && out)
        *out = json_pack("{s:s}", "id", name);
    return st;
}

static mk_prov_status create(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return in_tx(p, op, create_in, out, why, whylen);
}

typedef mk_prov_status (*rule_fn)(const mk_prov_op *op, const char *what, const char *id, const mk_pgwho *who,
                                  char *why, size_t whylen);

/* Whose the role is (*who), and may this change touch it: rule (an
 * update's, a delete's) and note [pg hands off]. */
static mk_prov_status claimed(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, rule_fn rule,
                              mk_pgwho *who, char *why, size_t whylen)
{
    mk_prov_status st = whose(p, c, op, name, who, why, whylen);
    if (st == MK_PROV_OK)
        st = rule(op, "role", name, who, why, whylen);
    return st == MK_PROV_OK && who->there ? manageable(p, c, op, name, why, whylen) : st;
}

/* The password is set on every update: the state's prior value may stand
 * for a verifier changed out of band (a reconcile), and a new salt is
 * harmless. */
static mk_prov_status update_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    mk_pgwho who;
    mk_prov_status st = claimed(p, c, op, name, mk_prov_postgres_mine, &who, why, whylen);
    if (st == MK_PROV_OK)
        st = injected(p, op, define(p, c, op, "ALTER", true, why, whylen), why, whylen);
    return st == MK_PROV_OK ? sync_members(p, c, op, why, whylen) : st;
}

static mk_prov_status update(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return in_tx(p, op, update_in, out, why, whylen);
}

/* A role that is gone is deleted; one this stack did not make (no tag,
 * another stack's: made again by someone else under the same name) is
 * not dropped. */
static mk_prov_status del_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    mk_pgwho who;
    mk_prov_status st = claimed(p, c, op, name, mk_prov_postgres_ours, &who, why, whylen);
    if (st != MK_PROV_OK || !who.there)
        return st;
    mk_pgsql b = {0};
    char what[100];
    mk_prov_postgres_sql_add(&b, "DROP ROLE ");
    mk_prov_postgres_sql_ident(&b, c, name);
    snprintf(what, sizeof what, "drop role %s", name);
    return injected(p, op, mk_prov_postgres_sql_run(p, c, op, what, &b, why, whylen), why, whylen);
}

static mk_prov_status del(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    return in_tx(p, op, del_in, NULL, why, whylen);
}

/* Import: the role named import_id becomes this stack's — tagged when it
 * has no tag, refused when another stack's. */
static mk_prov_status import_in(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, char *why, size_t whylen)
{
    const char *want = mk_prov_postgres_str(op->attrs, "name");
    if (want && strcmp(want, name) != 0)
        return snprintf(why, whylen, "postgres: import %s: the id %s is not the role the spec names (%s)", op->address,
                        name, want), MK_PROV_FAILED;
    mk_pgwho who;
    bool tag;
    mk_prov_status st = whose(p, c, op, name, &who, why, whylen);
    if (st == MK_PROV_OK && who.there)
        st = manageable(p, c, op, name, why, whylen);
    if (st == MK_PROV_OK)
        st = mk_prov_postgres_importable(p, op, "role", name, &who, &tag, why, whylen);
    return st == MK_PROV_OK && tag ? comment(p, c, op, name, why, whylen) : st;
}

static mk_prov_status import(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return in_tx(p, op, import_in, out, why, whylen);
}

/* The check's part of note [pg membership] and of note [pg hands off]: what a
 * change would give the role (change: a create or update), and the role
 * there, whatever the step. */
static mk_prov_status powers(mk_pgp *p, PGconn *c, const mk_prov_op *op, const char *name, bool change, char *why,
                             size_t whylen)
{
    mk_prov_status st = change ? createrole_ok(p, op, why, whylen) : MK_PROV_OK;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(op->attrs, "member_of"), i, v)
        if (st == MK_PROV_OK && change)
            st = mk_prov_postgres_name(v) ? grantable(p, c, op, mk_prov_postgres_name(v), why, whylen)
                                          : (snprintf(why, whylen, "postgres: %s: member_of holds something that is "
                                                      "not a role name", op->address), MK_PROV_FAILED);
    return st == MK_PROV_OK ? manageable(p, c, op, name, why, whylen) : st;
}

/* Before the first step: the connection's user may manage roles, a
 * valid_until is a time the server reads, a password opens, and nothing a role would be given or
 * is makes it a superuser in all but name. */
static mk_prov_status check(mk_pgp *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)out;
    const char *name;
    mk_prov_status st;
    PGconn *c = session(p, op, &name, &st, why, whylen);
    if (!c)
        return st;
    PGresult *r;
    const char *until = mk_prov_postgres_str(op->attrs, "valid_until");
    bool change = op->action && (!strcmp(op->action, "create") || !strcmp(op->action, "update"));
    st = mk_prov_postgres_exec(p, c, op, "check the role's valid_until and the connection's user",
                               "SELECT rolsuper OR rolcreaterole, $1::timestamptz IS NOT NULL FROM pg_roles "
                               "WHERE rolname = current_user", 1, (const char *[]){change ? until : NULL}, &r, why,
                               whylen);
    bool may = st == MK_PROV_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    if (st == MK_PROV_OK)
        PQclear(r);
    if (st == MK_PROV_OK)
        st = powers(p, c, op, name, change, why, whylen);
    mk_prov_postgres_release(p, NULL, c, st == MK_PROV_OK);
    if (st == MK_PROV_OK && !may)
        st = (snprintf(why, whylen, "postgres: %s: the user of connection %s cannot create or alter roles (it needs "
                       "CREATEROLE)", op->address, mk_prov_postgres_conn_name(p)), MK_PROV_FAILED);
    bool none;
    char *pw = st == MK_PROV_OK && change ? open_password(op, op->attrs, &none, why, whylen) : NULL;
    if (st == MK_PROV_OK && change && !pw && !none)
        st = MK_PROV_FAILED;
    wipe(pw);
    return st;
}

const mk_pgtype mk_prov_postgres_role_type = {"postgres.role", MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS,
                                              create, rd, update, del, import, check};
