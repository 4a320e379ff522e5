/* config — reading and validating the executor's configuration file
 * (jansson). Every error names the file and the key, as
 * `FILE: key `local.allowed_roots[1]`: expected …`. */
#include "runtime/config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/netaddr.h"
#include "runtime/paths.h"

bool mk_config_path(char *buf, size_t n)
{
    const char *env = getenv("MOKSHA_EXEC_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (env && *env)
        return (size_t)snprintf(buf, n, "%s", env) < n;
    if (xdg && *xdg == '/')
        return (size_t)snprintf(buf, n, "%s/moksha/exec.json", xdg) < n;
    if (home && *home)
        return (size_t)snprintf(buf, n, "%s/.config/moksha/exec.json", home) < n;
    return false;
}

bool mk_config_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return n && strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

static bool bad(char *why, size_t whylen, const char *file, const char *key, const char *fmt, const char *arg)
{
    int k = snprintf(why, whylen, "%s: key `%s`: ", file, key);
    if (k >= 0 && (size_t)k < whylen)
        snprintf(why + k, whylen - (size_t)k, fmt, arg);
    return false;
}

/* Unknown keys are errors: a misspelt setting must not be silently ignored. */
static bool only_keys(json_t *obj, const char *const *known, const char *file, const char *at, char *why, size_t whylen)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok) {
            char key[256];
            snprintf(key, sizeof key, "%s%s%s", at, *at ? "." : "", k);
            return bad(why, whylen, file, key, "unknown setting (see docs/executor.md, \"The executor's configuration\")%s", "");
        }
    }
    return true;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
            return true;
    return false;
}

static bool read_roots(mk_config_local *l, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_array(v))
        return bad(why, whylen, file, "local.allowed_roots", "expected a list of absolute directory paths%s", "");
    l->allowed_roots = calloc(json_array_size(v) + 1, sizeof *l->allowed_roots);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char key[64], real[PATH_MAX];
        snprintf(key, sizeof key, "local.allowed_roots[%zu]", i);
        const char *s = json_string_value(e);
        struct stat sb;
        if (!s || s[0] != '/' || has_dotdot(s))
            return bad(why, whylen, file, key, "expected an absolute path without `..`%s", "");
        if (!realpath(s, real) || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return bad(why, whylen, file, key, "%s is not an existing directory", s);
        l->allowed_roots[l->nallowed_roots++] = strdup(real);
    }
    return true;
}

static bool read_local(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"allowed_roots", "allow_special_bits", NULL};
    if (!json_is_object(v))
        return bad(why, whylen, file, "local", "expected an object%s", "");
    if (!only_keys(v, known, file, "local", why, whylen))
        return false;
    json_t *roots = json_object_get(v, "allowed_roots"), *sb = json_object_get(v, "allow_special_bits");
    if (roots && !read_roots(&cfg->local, roots, file, why, whylen))
        return false;
    if (sb && !json_is_boolean(sb))
        return bad(why, whylen, file, "local.allow_special_bits", "expected true or false%s", "");
    cfg->local.allow_special_bits = json_is_true(sb);
    return true;
}

/* An absolute path without `..` into out (a file or directory that need
 * not exist yet). */
static bool read_abs(json_t *v, char *out, size_t n, const char *file, const char *key, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    if (!s || s[0] != '/' || has_dotdot(s) || strlen(s) >= n)
        return bad(why, whylen, file, key, "expected an absolute path without `..`%s", "");
    snprintf(out, n, "%s", s);
    return true;
}

/* A public key's text: "ed25519:" and the base64 of 32 bytes (44 characters). */
static bool key_text_ok(const char *s)
{
    if (!s || strncmp(s, "ed25519:", 8) != 0 || strlen(s + 8) != 44 || s[8 + 43] != '=')
        return false;
    for (const char *p = s + 8; p < s + 8 + 43; p++)
        if (!(('A' <= *p && *p <= 'Z') || ('a' <= *p && *p <= 'z') || ('0' <= *p && *p <= '9') || *p == '+' || *p == '/'))
            return false;
    return true;
}

static bool read_trust_roots(mk_config_trust *t, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"threshold", "keys", NULL};
    if (!json_is_object(v))
        return bad(why, whylen, file, "trust.roots", "expected {\"threshold\": N, \"keys\": [...]}%s", "");
    if (!only_keys(v, known, file, "trust.roots", why, whylen))
        return false;
    json_t *keys = json_object_get(v, "keys"), *th = json_object_get(v, "threshold");
    if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > MK_CONFIG_MAX_ROOTS)
        return bad(why, whylen, file, "trust.roots.keys", "expected a list of 1 to 16 root keys (\"ed25519:…\")%s", "");
    size_t i;
    json_t *e;
    json_array_foreach(keys, i, e) {
        char key[64];
        snprintf(key, sizeof key, "trust.roots.keys[%zu]", i);
        if (!key_text_ok(json_string_value(e)))
            return bad(why, whylen, file, key, "expected a public key, \"ed25519:\" and 44 characters of base64 (`moksha key new`)%s", "");
        for (size_t j = 0; j < t->nroots; j++)
            if (strcmp(t->roots[j], json_string_value(e)) == 0)
                return bad(why, whylen, file, key, "the same root key twice%s", "");
        t->roots[t->nroots++] = strdup(json_string_value(e));
    }
    if (!json_is_integer(th) || json_integer_value(th) < 1 || json_integer_value(th) > (json_int_t)t->nroots)
        return bad(why, whylen, file, "trust.roots.threshold", "expected a whole number from 1 to the number of root keys%s", "");
    t->threshold = (int)json_integer_value(th);
    return true;
}

static bool read_trust(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"file", "roots", "keys", NULL};
    mk_config_trust *t = &cfg->trust;
    if (!json_is_object(v))
        return bad(why, whylen, file, "trust", "expected an object%s", "");
    if (!only_keys(v, known, file, "trust", why, whylen))
        return false;
    for (const char *const *k = known; *k; k++)
        if (!json_object_get(v, *k))
            return bad(why, whylen, file, "trust", "missing `%s` (docs/trust.md, \"The executor's configuration\")", *k);
    t->on = true;
    return read_abs(json_object_get(v, "file"), t->file, sizeof t->file, file, "trust.file", why, whylen) &&
           read_abs(json_object_get(v, "keys"), t->keys, sizeof t->keys, file, "trust.keys", why, whylen) &&
           read_trust_roots(t, json_object_get(v, "roots"), file, why, whylen);
}

static bool read_mode(json_t *v, unsigned *mode, const char *file, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    char *end;
    unsigned long m = s ? strtoul(s, &end, 8) : 0;
    if (!s || !*s || *end || m > 0777 || (m & 0007))
        return bad(why, whylen, file, "service.mode", "expected an octal mode without rights for others, e.g. \"0660\"%s", "");
    *mode = (unsigned)m;
    return true;
}

/* A plan is spooled to disk before it is checked: the cap bounds what one
 * connection can make the service write. */
static bool read_max_plan(json_t *v, size_t *out, const char *file, char *why, size_t whylen)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > ((json_int_t)1 << 40))
        return bad(why, whylen, file, "service.max_plan_bytes", "expected a number of bytes from 1 to 2^40%s", "");
    *out = (size_t)json_integer_value(v);
    return true;
}

/* note [refresh caps] in runtime/serve.c: the most a client may ask of a
 * refresh, which holds the stack's lock while it reads. */
static bool read_refresh_caps(mk_config_service *s, json_t *v, const char *file, char *why, size_t whylen)
{
    json_t *p = json_object_get(v, "max_refresh_parallelism"), *r = json_object_get(v, "max_refresh_retries");
    const char *t = json_string_value(json_object_get(v, "max_refresh_timeout"));
    s->max_refresh_parallelism = 64, s->max_refresh_retries = 10, s->max_refresh_timeout_ms = 5 * 60 * 1000;
    if (p && (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 1024))
        return bad(why, whylen, file, "service.max_refresh_parallelism", "expected a number from 1 to 1024%s", "");
    if (r && (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > 100))
        return bad(why, whylen, file, "service.max_refresh_retries", "expected a number from 0 to 100%s", "");
    if (json_object_get(v, "max_refresh_timeout") && (!t || !mk_clock_parse_duration(t, &s->max_refresh_timeout_ms) ||
                                                      s->max_refresh_timeout_ms <= 0))
        return bad(why, whylen, file, "service.max_refresh_timeout", "expected a duration such as \"5m\"%s", "");
    s->max_refresh_parallelism = p ? (int)json_integer_value(p) : s->max_refresh_parallelism;
    s->max_refresh_retries = r ? (int)json_integer_value(r) : s->max_refresh_retries;
    return true;
}

static bool read_service(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"socket", "group", "mode", "stacks", "max_plan_bytes", "max_refresh_parallelism",
                                        "max_refresh_retries", "max_refresh_timeout", NULL};
    mk_config_service *s = &cfg->service;
    if (!json_is_object(v))
        return bad(why, whylen, file, "service", "expected an object%s", "");
    if (!only_keys(v, known, file, "service", why, whylen))
        return false;
    if (!json_object_get(v, "socket") || !json_object_get(v, "stacks"))
        return bad(why, whylen, file, "service", "missing `socket` or `stacks` (docs/trust.md)%s", "");
    json_t *g = json_object_get(v, "group"), *m = json_object_get(v, "mode"), *mp = json_object_get(v, "max_plan_bytes");
    s->on = true;
    s->mode = 0660;
    s->max_plan = (size_t)256 << 20;
    if (g && (!json_is_string(g) || json_string_length(g) == 0 || json_string_length(g) >= sizeof s->group))
        return bad(why, whylen, file, "service.group", "expected a group name%s", "");
    if (g)
        snprintf(s->group, sizeof s->group, "%s", json_string_value(g));
    return (!m || read_mode(m, &s->mode, file, why, whylen)) && (!mp || read_max_plan(mp, &s->max_plan, file, why, whylen)) &&
           read_refresh_caps(s, v, file, why, whylen) &&
           read_abs(json_object_get(v, "socket"), s->socket, sizeof s->socket, file, "service.socket", why, whylen) &&
           read_abs(json_object_get(v, "stacks"), s->stacks, sizeof s->stacks, file, "service.stacks", why, whylen);
}

/* ---- "state" (docs/state.md, "Choosing a backend") ---- */

/* What libpq, reading s as it will when connecting, finds in it: its own
 * parser, so no spelling (any whitespace, a quoted value, a percent-encoded
 * URI parameter) gets past. 1: a password; 2: libpq cannot read it (its
 * words are not repeated: they may quote the text); 0: neither. A `dbname`
 * that is itself a conninfo or URI is expanded by libpq when connecting:
 * it is looked into the same way. */
static int conninfo_check(const char *s, int depth)
{
    PQconninfoOption *opts = PQconninfoParse(s, NULL);
    if (!opts)
        return 2;
    int found = 0;
    for (PQconninfoOption *o = opts; o->keyword && !found; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "password"))
            found = 1;
        else if (!strcmp(o->keyword, "dbname") && depth < 2 &&
                 (strchr(o->val, '=') || !strncmp(o->val, "postgresql://", 13) || !strncmp(o->val, "postgres://", 11)))
            found = conninfo_check(o->val, depth + 1);
    }
    PQconninfoFree(opts);
    return found;
}

/* A schema name moksha can use unquoted: lower-case letters, digits and
 * `_`, not starting with a digit, at most 63 bytes (PostgreSQL's limit). */
static bool schema_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n && !(s[0] >= '0' && s[0] <= '9');
}

static bool read_pg(mk_config_pg *pg, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    static const char *const known[] = {"conninfo", "schema", NULL};
    char key[160];
    snprintf(key, sizeof key, "%s", at);
    if (!json_is_object(v))
        return bad(why, whylen, file, key, "expected {\"conninfo\": \"…\", \"schema\": \"…\"}%s", "");
    if (!only_keys(v, known, file, at, why, whylen))
        return false;
    json_t *c = json_object_get(v, "conninfo"), *sc = json_object_get(v, "schema");
    snprintf(key, sizeof key, "%s.conninfo", at);
    if (c && (!json_is_string(c) || json_string_length(c) >= sizeof pg->conninfo || strlen(json_string_value(c)) != json_string_length(c)))
        return bad(why, whylen, file, key, "expected a libpq connection string%s", "");
    int found = c ? conninfo_check(json_string_value(c), 0) : 0;
    if (found == 1)
        return bad(why, whylen, file, key, "a password in the connection string is refused: give it in the executor's "
                   "environment (PGPASSWORD, PGPASSFILE), or use a client certificate or peer authentication%s", "");
    if (found == 2)
        return bad(why, whylen, file, key, "libpq cannot read this connection string (key=value pairs, or a "
                   "postgresql:// URI)%s", "");
    snprintf(key, sizeof key, "%s.schema", at);
    if (sc && (!json_is_string(sc) || !schema_ok(json_string_value(sc))))
        return bad(why, whylen, file, key, "expected a schema name: 1 to 63 lower-case letters, digits or `_`, not "
                   "starting with a digit%s", "");
    if (c)
        snprintf(pg->conninfo, sizeof pg->conninfo, "%s", json_string_value(c));
    if (sc)
        snprintf(pg->schema, sizeof pg->schema, "%s", json_string_value(sc));
    return true;
}

static bool read_kind(json_t *v, char *out, size_t n, const char *file, const char *key, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "local") && strcmp(s, "postgres")))
        return bad(why, whylen, file, key, "expected \"local\" or \"postgres\"%s", "");
    snprintf(out, n, "%s", s);
    return true;
}

static bool read_state_env(mk_config_state_env *e, const char *name, json_t *v, const char *file, char *why,
                           size_t whylen)
{
    static const char *const known[] = {"backend", "postgres", NULL};
    char at[128];
    snprintf(at, sizeof at, "state.environments.%.64s", name);
    if (!mk_paths_env_valid(name))
        return bad(why, whylen, file, at, "not an environment's name: 1 to 63 lower-case letters, digits, `-` or `_`, "
                   "starting with a letter or a digit%s", "");
    if (!json_is_object(v))
        return bad(why, whylen, file, at, "expected {\"backend\": …, \"postgres\": {…}}%s", "");
    if (!only_keys(v, known, file, at, why, whylen))
        return false;
    snprintf(e->name, sizeof e->name, "%s", name);
    json_t *b = json_object_get(v, "backend"), *pg = json_object_get(v, "postgres");
    char key[160];
    snprintf(key, sizeof key, "%s.backend", at);
    snprintf(at + strlen(at), sizeof at - strlen(at), ".postgres");
    return (!b || read_kind(b, e->backend, sizeof e->backend, file, key, why, whylen)) &&
           (!pg || read_pg(&e->pg, pg, file, at, why, whylen));
}

static bool read_state_envs(mk_config_state *st, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(v))
        return bad(why, whylen, file, "state.environments", "expected an object of environments by name%s", "");
    st->envs = calloc(json_object_size(v) + 1, sizeof *st->envs);
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
        if (!read_state_env(&st->envs[st->nenvs++], k, e, file, why, whylen))
            return false;
    return true;
}

static bool read_state_stacks(mk_config_state *st, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_array(v))
        return bad(why, whylen, file, "state.stacks", "expected a list of stack names%s", "");
    st->stacks = calloc(json_array_size(v) + 1, sizeof *st->stacks);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char key[64];
        snprintf(key, sizeof key, "state.stacks[%zu]", i);
        const char *name = json_string_value(e);
        if (!name || !*name || json_string_length(e) >= 128 || strlen(name) != json_string_length(e))
            return bad(why, whylen, file, key, "expected a stack's name (its `stack` block's)%s", "");
        st->stacks[st->nstacks++] = strdup(name);
    }
    return true;
}

/* "state.local_stacks": {NAME: "/abs/dir"}, the stacks whose outputs this
 * executor reads from their directories' files. */
static bool read_local_stacks(mk_config_state *st, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(v))
        return bad(why, whylen, file, "state.local_stacks", "expected an object of stack names and directories%s", "");
    st->local_stacks = calloc(json_object_size(v) + 1, sizeof *st->local_stacks);
    const char *k;
    json_t *d;
    json_object_foreach(v, k, d) {
        char dir[PATH_MAX];
        if (!*k || strlen(k) >= 128)
            return bad(why, whylen, file, "state.local_stacks", "a stack name is empty or longer than 127 bytes%s", "");
        if (!read_abs(d, dir, sizeof dir, file, "state.local_stacks", why, whylen))
            return false;
        if (!st->local_stacks)
            return bad(why, whylen, file, "state.local_stacks", "out of memory%s", "");
        st->local_stacks[st->nlocal_stacks++] = (struct mk_config_local_stack){strdup(k), strdup(dir)};
    }
    return true;
}

static bool read_state(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"backend", "postgres", "stacks", "environments", "local_stacks", NULL};
    mk_config_state *st = &cfg->state;
    if (!json_is_object(v))
        return bad(why, whylen, file, "state", "expected an object%s", "");
    if (!only_keys(v, known, file, "state", why, whylen))
        return false;
    json_t *b = json_object_get(v, "backend"), *pg = json_object_get(v, "postgres");
    json_t *stacks = json_object_get(v, "stacks"), *envs = json_object_get(v, "environments");
    json_t *ls = json_object_get(v, "local_stacks");
    return (!b || read_kind(b, st->backend, sizeof st->backend, file, "state.backend", why, whylen)) &&
           (!pg || read_pg(&st->pg, pg, file, "state.postgres", why, whylen)) &&
           (!stacks || read_state_stacks(st, stacks, file, why, whylen)) &&
           (!envs || read_state_envs(st, envs, file, why, whylen)) &&
           (!ls || read_local_stacks(st, ls, file, why, whylen));
}

/* "connections" (docs/providers.md, "Rules for every provider"). */
static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

static bool conn_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* What a connection's conninfo may say beyond state's rules: one server
 * (pgconn checks and pins the address it resolves to, so a list of hosts
 * would be a list of rules), a numeric hostaddr, and TLS and channel
 * binding modes libpq knows. */
static bool conn_conninfo_ok(const char *conninfo, const char *file, const char *key, char *why, size_t whylen)
{
    static const char *const sslmodes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL};
    static const char *const bindings[] = {"disable", "prefer", "require", NULL};
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    const char *err = NULL, *arg = "";
    for (PQconninfoOption *o = opts; o && o->keyword && !err; o++) {
        const char *k = o->keyword, *v = o->val;
        if (!v || !*v)
            continue;
        mk_netaddr a;
        if (!strcmp(k, "sslpassword") || !strcmp(k, "service"))
            err = !strcmp(k, "service") ? "`service` is refused: say where the server is in the conninfo itself%s"
                                        : "`sslpassword` is refused: a secret has no place in this file%s";
        else if ((!strcmp(k, "host") || !strcmp(k, "hostaddr") || !strcmp(k, "port")) && strchr(v, ','))
            err = "one server per connection: `%s` is a list", arg = k;
        else if (!strcmp(k, "hostaddr") && !mk_netaddr_parse(v, &a))
            err = "`hostaddr` is not a numeric address%s";
        else if (!strcmp(k, "sslmode") && !one_of(v, sslmodes))
            err = "`sslmode` is not one of disable, allow, prefer, require, verify-ca, verify-full%s";
        else if (!strcmp(k, "channel_binding") && !one_of(v, bindings))
            err = "`channel_binding` is not one of disable, prefer, require%s";
    }
    PQconninfoFree(opts);
    return err ? bad(why, whylen, file, key, err, arg) : true;
}

static bool read_conn_info(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    char key[160];
    snprintf(key, sizeof key, "%s.conninfo", at);
    if (!json_object_get(v, "conninfo"))
        return bad(why, whylen, file, key, "missing: where the server is, as a libpq connection string (\"\" for "
                   "libpq's PG* environment alone)%s", "");
    mk_config_pg pg = {0};
    json_t *wrap = json_pack("{s:O}", "conninfo", json_object_get(v, "conninfo"));
    bool ok = wrap && read_pg(&pg, wrap, file, at, why, whylen) && conn_conninfo_ok(pg.conninfo, file, key, why, whylen);
    json_decref(wrap);
    if (ok)
        snprintf(cc->conninfo, sizeof cc->conninfo, "%s", pg.conninfo);
    return ok;
}

/* password_command: an argv, run without a shell; its program an absolute
 * path, so what runs does not depend on PATH. */
/* A command as a list of strings, its program an absolute path (run
 * without a shell); *argv NULL-terminated, malloc'd with its strings. */
static bool read_argv(json_t *v, char ***argv, size_t *n, const char *file, const char *key, char *why, size_t whylen)
{
    char k[224];
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 64)
        return bad(why, whylen, file, key, "expected a command as a list of 1 to 64 strings, its program an absolute "
                   "path (run without a shell: [\"/usr/local/bin/db-token\", \"--role\", \"deploy\"])%s", "");
    *argv = calloc(json_array_size(v) + 1, sizeof **argv);
    if (!*argv)
        return snprintf(why, whylen, "out of memory"), false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        const char *s = json_string_value(e);
        if (!s || strlen(s) != json_string_length(e) || json_string_length(e) > 4096)
            return bad(why, whylen, file, k, "expected a string without NUL, at most 4096 bytes%s", "");
        if (i == 0 && (s[0] != '/' || has_dotdot(s)))
            return bad(why, whylen, file, k, "the program is an absolute path without `..` (no PATH lookup)%s", "");
        if (!((*argv)[(*n)++] = strdup(s)))
            return snprintf(why, whylen, "out of memory"), false;
    }
    return true;
}

static bool read_conn_command(mk_config_conn *cc, json_t *v, const char *name, const char *file, const char *at, char *why,
                              size_t whylen)
{
    char key[192];
    snprintf(key, sizeof key, "%s.%s", at, name);
    return read_argv(v, &cc->password_command, &cc->npassword_command, file, key, why, whylen);
}

static bool read_conn_addresses(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    char key[192];
    snprintf(key, sizeof key, "%s.allow_addresses", at);
    if (!json_is_array(v) || json_array_size(v) > 256)
        return bad(why, whylen, file, key, "expected a list of at most 256 addresses or prefixes (\"169.254.0.0/16\")%s", "");
    cc->allow_addresses = calloc(json_array_size(v) + 1, sizeof *cc->allow_addresses);
    if (!cc->allow_addresses)
        return snprintf(why, whylen, "out of memory"), false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char w[160];
        mk_netaddr_cidr c;
        snprintf(key, sizeof key, "%s.allow_addresses[%zu]", at, i);
        if (!json_is_string(e) || !mk_netaddr_allow_parse(json_string_value(e), &c, w, sizeof w))
            return bad(why, whylen, file, key, "%s", json_is_string(e) ? w : "expected an address or a prefix as a string");
        cc->allow_addresses[cc->nallow_addresses++] = strdup(json_string_value(e));
    }
    return true;
}

/* A duration key of the connection, from lo to hi milliseconds. */
static bool read_conn_duration(json_t *v, const char *name, double lo, double hi, const char *range, double *out,
                               const char *file, const char *at, char *why, size_t whylen)
{
    json_t *d = json_object_get(v, name);
    char key[192];
    snprintf(key, sizeof key, "%s.%s", at, name);
    double ms;
    if (!d)
        return true;
    if (!json_is_string(d) || !mk_clock_parse_duration(json_string_value(d), &ms) || ms < lo || ms > hi)
        return bad(why, whylen, file, key, "expected a duration from %s (\"30s\", \"5m\")", range);
    *out = ms;
    return true;
}

static bool read_conn_bool(json_t *v, const char *name, bool *out, const char *file, const char *at, char *why,
                           size_t whylen)
{
    json_t *b = json_object_get(v, name);
    char key[192];
    snprintf(key, sizeof key, "%s.%s", at, name);
    if (b && !json_is_boolean(b))
        return bad(why, whylen, file, key, "expected true or false%s", "");
    *out = json_is_true(b);
    return true;
}

static bool read_conn_credentials(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why,
                                  size_t whylen)
{
    json_t *pc = json_object_get(v, "password_command");
    char key[192];
    snprintf(key, sizeof key, "%s.credential_ttl", at);
    if (json_object_get(v, "credential_ttl") && !pc)
        return bad(why, whylen, file, key, "is the lifetime of a password_command's password: there is no "
                   "password_command%s", "");
    return (!pc || read_conn_command(cc, pc, "password_command", file, at, why, whylen)) &&
           read_conn_duration(v, "credential_ttl", 1000, 24 * 3600 * 1000.0, "1s to 24h", &cc->credential_ttl_ms, file,
                              at, why, whylen);
}

/* A size as the language writes it: an integer and a unit, "32GiB". */
bool mk_config_size(const char *s, double *bytes)
{
    static const struct { const char *u; double m; } units[] = {
        {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15}, {"KiB", 1024.0},
        {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"PiB", 1125899906842624.0}};
    size_t n = s ? strspn(s, "0123456789") : 0;
    for (size_t i = 0; n && n <= 15 && i < sizeof units / sizeof *units; i++)
        if (strcmp(s + n, units[i].u) == 0)
            return *bytes = strtod(s, NULL) * units[i].m, true;
    return false;
}

/* connections.NAME.self_hosted: what the server vouches for, for the
 * abstract `database` landing on it (docs/providers.md, "Self-hosted
 * databases"). Kept as written once every key is known and well typed. */
static bool read_self_hosted(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    static const char *const known[] = {"encrypted", "public", "multi_az", "backup_retention", "audit_logging",
                                        "capacity", NULL};
    static const char *const sizes[] = {"cpu", "memory", "storage", NULL};
    char key[200];
    snprintf(key, sizeof key, "%s.self_hosted", at);
    if (!json_is_object(v))
        return bad(why, whylen, file, key, "expected {\"encrypted\": true, \"backup_retention\": \"7d\", "
                   "\"capacity\": {\"cpu\": 8, \"memory\": \"32GiB\", \"storage\": \"500GiB\"}, …}%s", "");
    if (!only_keys(v, known, file, key, why, whylen))
        return false;
    const char *k;
    json_t *x;
    double d;
    json_object_foreach(v, k, x) {
        snprintf(key, sizeof key, "%s.self_hosted.%s", at, k);
        if (!strcmp(k, "backup_retention") && !mk_clock_parse_duration(json_string_value(x), &d))
            return bad(why, whylen, file, key, "expected a duration: \"7d\", \"12h\"%s", "");
        if (strcmp(k, "backup_retention") && strcmp(k, "capacity") && !json_is_boolean(x))
            return bad(why, whylen, file, key, "expected true or false%s", "");
    }
    json_t *cap = json_object_get(v, "capacity");
    snprintf(key, sizeof key, "%s.self_hosted.capacity", at);
    if (cap && (!json_is_object(cap) || !only_keys(cap, sizes, file, key, why, whylen)))
        return json_is_object(cap) ? false : bad(why, whylen, file, key, "expected {\"cpu\": 8, \"memory\": …}%s", "");
    json_object_foreach(cap, k, x) {
        snprintf(key, sizeof key, "%s.self_hosted.capacity.%s", at, k);
        bool ok = !strcmp(k, "cpu") ? json_is_integer(x) && json_integer_value(x) >= 1
                                    : mk_config_size(json_string_value(x), &d);
        if (!ok)
            return bad(why, whylen, file, key, !strcmp(k, "cpu") ? "expected a count of 1 or more%s"
                                                                 : "expected a size: \"32GiB\", \"500GB\"%s", "");
    }
    cc->self_hosted = json_incref(v);
    return true;
}

/* ---- HTTP connections: s3, azure_blob, http (docs/providers.md, "HTTP
 * connections"); plugin connections ---- */

/* endpoint: an http or https URL with a host, no user, query or fragment
 * (libcurl's URL parser, the one the requests use). */
static bool read_conn_endpoint(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why,
                               size_t whylen)
{
    char key[192];
    snprintf(key, sizeof key, "%s.endpoint", at);
    const char *s = json_string_value(json_object_get(v, "endpoint"));
    if (!s)
        return bad(why, whylen, file, key, "missing: the service's URL (\"https://s3.eu-west-1.amazonaws.com\")%s", "");
    if (strlen(s) != json_string_length(json_object_get(v, "endpoint")) || strlen(s) >= sizeof cc->endpoint)
        return bad(why, whylen, file, key, "expected a URL of at most 1023 bytes%s", "");
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *frag = NULL;
    const char *err = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK)
        err = "not a URL: expected http(s)://host[:port][/path]%s";
    else {
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_USER, &user, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
        if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
            err = "the scheme is http or https%s";
        else if (!host || !*host)
            err = "no host%s";
        else if (user)
            err = "a user in the URL is refused: credentials live in `credentials` (names of environment variables)%s";
        else if (query || frag)
            err = "a query or fragment is refused: the endpoint is where the service is%s";
    }
    curl_free(scheme), curl_free(host), curl_free(user), curl_free(query), curl_free(frag);
    curl_url_cleanup(u);
    if (err)
        return bad(why, whylen, file, key, err, "");
    snprintf(cc->endpoint, sizeof cc->endpoint, "%s", s);
    return true;
}

/* A string key no longer than n-1 bytes, without NUL, matching the set of
 * characters set (NULL: any printable) — into out when present. */
static bool read_conn_text(json_t *v, const char *name, char *out, size_t n, const char *set, const char *file,
                           const char *at, char *why, size_t whylen)
{
    json_t *t = json_object_get(v, name);
    char key[192];
    snprintf(key, sizeof key, "%s.%s", at, name);
    if (!t)
        return true;
    const char *s = json_string_value(t);
    size_t len = s ? strlen(s) : 0;
    if (!s || len != json_string_length(t) || len == 0 || len >= n || (set && strspn(s, set) != len))
        return bad(why, whylen, file, key, "expected a non-empty string of at most %s bytes of the allowed characters",
                   n > 1000 ? "1023" : n > 60 ? "63" : "15");
    snprintf(out, n, "%s", s);
    return true;
}

/* A JSON object whose members are all strings naming environment
 * variables (or, for `names`, the one allowed key that is a list of them). */
static bool env_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 128 && !(s[0] >= '0' && s[0] <= '9') &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* A name a plugin may not be granted: the executor's own (MOKSHA_*),
 * those its environment fixes, and those that change what the loader or
 * an interpreter runs (docs/plugins.md "The environment"). */
static bool env_name_reserved(const char *s)
{
    static const char *const exact[] = {"PATH", "HOME", "LANG", "NODE_OPTIONS", "NODE_PATH", "RUBYOPT", "RUBYLIB",
                                        "BASH_ENV", "ENV", "IFS", "SHELLOPTS", "TMPDIR", NULL};
    static const char *const prefix[] = {"MOKSHA_", "LD_", "PYTHON", "PERL5", "PERLLIB", "LC_", "GCONV_", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (!strcmp(s, exact[i]))
            return true;
    for (size_t i = 0; prefix[i]; i++)
        if (!strncmp(s, prefix[i], strlen(prefix[i])))
            return true;
    return false;
}

static bool read_conn_credentials_web(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why,
                                      size_t whylen)
{
    static const char *const s3[] = {"access_key_id_env", "secret_access_key_env", "session_token_env", NULL};
    static const char *const az[] = {"account_key_env", NULL};
    static const char *const http[] = {"bearer_env", "basic_user", "password_env", NULL};
    static const char *const plugin[] = {"env", NULL};
    json_t *c = json_object_get(v, "credentials");
    char key[192];
    snprintf(key, sizeof key, "%s.credentials", at);
    if (!c)
        return true;
    const char *const *known = !strcmp(cc->kind, "s3") ? s3 : !strcmp(cc->kind, "azure_blob") ? az
                               : !strcmp(cc->kind, "http") ? http : plugin;
    if (!json_is_object(c))
        return bad(why, whylen, file, key, "expected an object naming the executor's environment variables that hold "
                   "the secrets (docs/providers.md, \"HTTP connections\")%s", "");
    if (!only_keys(c, known, file, key, why, whylen))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach(c, k, x) {
        char sub[224];
        snprintf(sub, sizeof sub, "%s.%s", key, k);
        if (!strcmp(k, "env")) {
            size_t i;
            json_t *e;
            if (!json_is_array(x) || json_array_size(x) > 64)
                return bad(why, whylen, file, sub, "expected a list of at most 64 environment variable names%s", "");
            json_array_foreach(x, i, e) {
                if (!json_is_string(e) || !env_name_ok(json_string_value(e)))
                    return bad(why, whylen, file, sub, "expected environment variable names (A-Z, 0-9, _)%s", "");
                if (env_name_reserved(json_string_value(e)))
                    return bad(why, whylen, file, sub, "%s is not granted to a plugin (the executor's own, one its "
                               "environment fixes, or one that changes what a loader or interpreter runs)",
                               json_string_value(e));
            }
        } else if (!strcmp(k, "basic_user")) {
            if (!json_is_string(x) || strchr(json_string_value(x), ':') || json_string_length(x) > 256 ||
                strlen(json_string_value(x)) != json_string_length(x))
                return bad(why, whylen, file, sub, "expected a user name without `:`, at most 256 bytes%s", "");
        } else if (!json_is_string(x) || !env_name_ok(json_string_value(x)))
            return bad(why, whylen, file, sub, "expected the name of an environment variable of the executor (A-Z, "
                       "0-9, _): the secret itself never goes in this file%s", "");
    }
    if (!strcmp(cc->kind, "http") && json_object_get(c, "bearer_env") &&
        (json_object_get(c, "basic_user") || json_object_get(c, "password_env")))
        return bad(why, whylen, file, key, "bearer or basic, not both%s", "");
    if (!strcmp(cc->kind, "http") && !json_object_get(c, "basic_user") != !json_object_get(c, "password_env"))
        return bad(why, whylen, file, key, "basic auth is basic_user and password_env together%s", "");
    cc->credentials = json_incref(c);
    return true;
}

static bool read_conn_implements(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why,
                                 size_t whylen)
{
    static const char *const apis[] = {"encryption", "versioning", "public_access_block", "tagging", "policy",
                                       "public_access", NULL};
    static const char *const vouch[] = {"encrypted", "versioning", "public_access_block", NULL};
    json_t *im = json_object_get(v, "implements"), *vo = json_object_get(v, "vouches");
    char key[192];
    if (im) {
        size_t i;
        json_t *e;
        snprintf(key, sizeof key, "%s.implements", at);
        if (!json_is_array(im))
            return bad(why, whylen, file, key, "expected a list of bucket APIs the server implements (encryption, "
                       "versioning, public_access_block, tagging, policy, public_access)%s", "");
        json_array_foreach(im, i, e)
            if (!json_is_string(e) || !one_of(json_string_value(e), apis))
                return bad(why, whylen, file, key, "expected a list of bucket APIs the server implements (encryption, "
                           "versioning, public_access_block, tagging, policy, public_access)%s", "");
        cc->implements = json_incref(im);
    }
    if (vo) {
        snprintf(key, sizeof key, "%s.vouches", at);
        if (!json_is_object(vo) || !only_keys(vo, vouch, file, key, why, whylen))
            return json_is_object(vo) ? false : bad(why, whylen, file, key, "expected {\"encrypted\": true, …}%s", "");
        const char *k;
        json_t *x;
        json_object_foreach(vo, k, x)
            if (!json_is_boolean(x)) {
                snprintf(key, sizeof key, "%s.vouches.%s", at, k);
                return bad(why, whylen, file, key, "expected true or false%s", "");
            }
        cc->vouches = json_incref(vo);
    }
    return true;
}

static bool read_conn_headers(mk_config_conn *cc, json_t *h, const char *file, const char *at, char *why,
                              size_t whylen)
{
    static const char *const reserved[] = {"authorization", "host", "content-length", "transfer-encoding",
                                           "connection", "cookie", "proxy-authorization", NULL};
    char key[192];
    snprintf(key, sizeof key, "%s.headers", at);
    if (!json_is_object(h) || json_object_size(h) > 64)
        return bad(why, whylen, file, key, "expected {\"Name\": \"value\"}, at most 64 headers%s", "");
    const char *k;
    json_t *x;
    json_object_foreach(h, k, x) {
        char low[128], hkey[256];
        size_t n = strlen(k);
        snprintf(hkey, sizeof hkey, "%s.headers.%.64s", at, k);
        if (n == 0 || n >= sizeof low ||
            strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
            return bad(why, whylen, file, hkey, "a header name is letters, digits, - and _%s", "");
        for (size_t i = 0; i <= n; i++)
            low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
        if (one_of(low, reserved))
            return bad(why, whylen, file, hkey, "this header is the executor's (credentials go in `credentials`)%s", "");
        const char *s = json_string_value(x);
        if (!s || strlen(s) != json_string_length(x) || json_string_length(x) > 1024 || strpbrk(s, "\r\n"))
            return bad(why, whylen, file, hkey, "expected one line of at most 1024 bytes%s", "");
    }
    cc->headers = json_incref(h);
    return true;
}

static bool read_conn_web(mk_config_conn *cc, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    static const char *const common[] = {"kind", "endpoint", "credential_command", "credential_ttl", "credentials",
                                         "allow_unverified_tls", "allow_plaintext", "allow_addresses",
                                         "allow_fault_injection", "connect_timeout", "request_timeout", "ca_file",
                                         "region", "path_style", "account", "implements", "vouches", "headers",
                                         NULL};
    static const char *const plugin[] = {"kind", "credentials", "settings", NULL};
    static const char *const only_s3[] = {"region", "path_style", NULL}, *const only_az[] = {"account", NULL},
                             *const only_bucket[] = {"implements", "vouches", NULL}, *const only_http[] = {"headers", NULL};
    bool is_plugin = !strcmp(cc->kind, "plugin");
    if (!only_keys(v, is_plugin ? plugin : common, file, at, why, whylen))
        return false;
    char key[192];
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        const char *const *own = one_of(k, only_s3) ? (const char *const[]){"s3", NULL}
                                 : one_of(k, only_az) ? (const char *const[]){"azure_blob", NULL}
                                 : one_of(k, only_bucket) ? (const char *const[]){"s3", "azure_blob", NULL}
                                 : one_of(k, only_http) ? (const char *const[]){"http", NULL} : NULL;
        snprintf(key, sizeof key, "%s.%s", at, k);
        if (own && !one_of(cc->kind, own))
            return bad(why, whylen, file, key, "is not a setting of a connection of this kind%s", "");
    }
    cc->request_timeout_ms = 60 * 1000.0;
    cc->path_style = -1;
    snprintf(cc->region, sizeof cc->region, "us-east-1");
    if (is_plugin) {
        json_t *st = json_object_get(v, "settings");
        snprintf(key, sizeof key, "%s.settings", at);
        if (st && !json_is_object(st))
            return bad(why, whylen, file, key, "expected an object, handed to the plugin in its handshake%s", "");
        cc->settings = json_incref(st);
        return read_conn_credentials_web(cc, v, file, at, why, whylen);
    }
    json_t *ps = json_object_get(v, "path_style"), *aa = json_object_get(v, "allow_addresses");
    json_t *pc = json_object_get(v, "credential_command"), *h = json_object_get(v, "headers");
    snprintf(key, sizeof key, "%s.path_style", at);
    if (ps && !json_is_boolean(ps))
        return bad(why, whylen, file, key, "expected true or false%s", "");
    if (ps)
        cc->path_style = json_is_true(ps);
    snprintf(key, sizeof key, "%s.account", at);
    if (!strcmp(cc->kind, "azure_blob") && !json_object_get(v, "account"))
        return bad(why, whylen, file, key, "missing: the storage account's name%s", "");
    snprintf(key, sizeof key, "%s.credential_ttl", at);
    if (json_object_get(v, "credential_ttl") && !pc)
        return bad(why, whylen, file, key, "is the lifetime of a credential_command's secret: there is no "
                   "credential_command%s", "");
    json_t *cafile = json_object_get(v, "ca_file");
    char cakey[192];
    snprintf(cakey, sizeof cakey, "%s.ca_file", at);
    return read_conn_endpoint(cc, v, file, at, why, whylen) &&
           read_conn_text(v, "region", cc->region, sizeof cc->region, "abcdefghijklmnopqrstuvwxyz0123456789-", file,
                          at, why, whylen) &&
           read_conn_text(v, "account", cc->account, sizeof cc->account, "abcdefghijklmnopqrstuvwxyz0123456789", file,
                          at, why, whylen) &&
           (!cafile || read_abs(cafile, cc->ca_file, sizeof cc->ca_file, file, cakey, why, whylen)) &&
           (!pc || read_conn_command(cc, pc, "credential_command", file, at, why, whylen)) &&
           read_conn_duration(v, "credential_ttl", 1000, 24 * 3600 * 1000.0, "1s to 24h", &cc->credential_ttl_ms, file,
                              at, why, whylen) &&
           read_conn_credentials_web(cc, v, file, at, why, whylen) &&
           read_conn_bool(v, "allow_unverified_tls", &cc->allow_unverified_tls, file, at, why, whylen) &&
           read_conn_bool(v, "allow_plaintext", &cc->allow_plaintext, file, at, why, whylen) &&
           read_conn_bool(v, "allow_fault_injection", &cc->allow_fault_injection, file, at, why, whylen) &&
           (!aa || read_conn_addresses(cc, aa, file, at, why, whylen)) &&
           read_conn_duration(v, "connect_timeout", 1000, 3600 * 1000.0, "1s to 1h", &cc->connect_timeout_ms, file, at,
                              why, whylen) &&
           read_conn_duration(v, "request_timeout", 1, 24 * 3600 * 1000.0, "1ms to 24h", &cc->request_timeout_ms, file,
                              at, why, whylen) &&
           read_conn_implements(cc, v, file, at, why, whylen) && (!h || read_conn_headers(cc, h, file, at, why, whylen));
}

static bool read_conn(mk_config_conn *cc, const char *name, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"kind", "conninfo", "password_command", "credential_ttl",
                                        "allow_cleartext_password", "allow_unverified_tls", "allow_addresses",
                                        "allow_createrole", "allow_fault_injection", "connect_timeout",
                                        "statement_timeout", "self_hosted",
                                        NULL};
    static const char *const kinds[] = {"postgres", "s3", "azure_blob", "http", "plugin", NULL};
    char at[128];
    snprintf(at, sizeof at, "connections.%s", name);
    if (!json_is_object(v))
        return bad(why, whylen, file, at, "expected {\"kind\": \"postgres\", \"conninfo\": \"…\"}%s", "");
    snprintf(cc->name, sizeof cc->name, "%s", name);
    cc->credential_ttl_ms = 15 * 60 * 1000.0;
    cc->connect_timeout_ms = 10 * 1000.0;
    cc->statement_timeout_ms = 60 * 1000.0;
    const char *kind = json_string_value(json_object_get(v, "kind"));
    char key[160];
    snprintf(key, sizeof key, "%s.kind", at);
    if (!kind || !one_of(kind, kinds))
        return bad(why, whylen, file, key, "expected \"postgres\", \"s3\", \"azure_blob\", \"http\" or \"plugin\" (the "
                   "kinds of connection this executor knows)%s", "");
    snprintf(cc->kind, sizeof cc->kind, "%s", kind);
    if (strcmp(kind, "postgres") != 0)
        return read_conn_web(cc, v, file, at, why, whylen);
    if (!only_keys(v, known, file, at, why, whylen))
        return false;
    json_t *aa = json_object_get(v, "allow_addresses"), *sh = json_object_get(v, "self_hosted");
    return read_conn_info(cc, v, file, at, why, whylen) && read_conn_credentials(cc, v, file, at, why, whylen) &&
           read_conn_bool(v, "allow_cleartext_password", &cc->allow_cleartext_password, file, at, why, whylen) &&
           read_conn_bool(v, "allow_unverified_tls", &cc->allow_unverified_tls, file, at, why, whylen) &&
           read_conn_bool(v, "allow_createrole", &cc->allow_createrole, file, at, why, whylen) &&
           read_conn_bool(v, "allow_fault_injection", &cc->allow_fault_injection, file, at, why, whylen) &&
           (!aa || read_conn_addresses(cc, aa, file, at, why, whylen)) &&
           read_conn_duration(v, "connect_timeout", 1000, 3600 * 1000.0, "1s to 1h", &cc->connect_timeout_ms, file, at,
                              why, whylen) &&
           read_conn_duration(v, "statement_timeout", 1, 24 * 3600 * 1000.0, "1ms to 24h", &cc->statement_timeout_ms,
                              file, at, why, whylen) &&
           (!sh || read_self_hosted(cc, sh, file, at, why, whylen));
}

static bool read_conns(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(v))
        return bad(why, whylen, file, "connections", "expected {\"NAME\": {\"kind\": \"postgres\", …}}%s", "");
    cfg->conns = calloc(json_object_size(v) + 1, sizeof *cfg->conns);
    if (!cfg->conns)
        return snprintf(why, whylen, "out of memory"), false;
    const char *k;
    json_t *c;
    json_object_foreach(v, k, c) {
        if (!conn_name_ok(k)) {
            char key[160];
            snprintf(key, sizeof key, "connections.%.63s", k);
            return bad(why, whylen, file, key, "a connection's name is 1 to 63 of a-z, 0-9, _ and -%s", "");
        }
        if (!read_conn(&cfg->conns[cfg->nconns++], k, c, file, why, whylen))
            return false;
    }
    return true;
}

const mk_config_conn *mk_config_conn_find(const mk_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->nconns; i++)
        if (strcmp(cfg->conns[i].name, name) == 0)
            return &cfg->conns[i];
    return NULL;
}

/* "plugins" (docs/plugins.md, "The allowlist"). */
static bool read_plugin(mk_config *cfg, mk_config_plugin *pl, const char *name, json_t *v, const char *file, char *why,
                        size_t whylen)
{
    static const char *const known[] = {"dir", "digest", "connection", "timeout", "allow_fault_injection", NULL};
    char at[128], key[192];
    snprintf(at, sizeof at, "plugins.%s", name);
    if (!json_is_object(v))
        return bad(why, whylen, file, at, "expected {\"dir\": \"/opt/moksha/plugins/NAME\", \"digest\": \"sha256:…\"}%s", "");
    if (!only_keys(v, known, file, at, why, whylen))
        return false;
    snprintf(pl->name, sizeof pl->name, "%s", name);
    pl->timeout_ms = 30 * 1000.0;
    snprintf(key, sizeof key, "%s.dir", at);
    json_t *dir = json_object_get(v, "dir");
    if (!dir)
        return bad(why, whylen, file, key, "missing: the plugin's folder (DIR/plugin and DIR/schema.moksha)%s", "");
    if (!read_abs(dir, pl->dir, sizeof pl->dir, file, key, why, whylen))
        return false;
    snprintf(key, sizeof key, "%s.digest", at);
    const char *d = json_string_value(json_object_get(v, "digest"));
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71 || strspn(d + 7, "0123456789abcdef") != 64)
        return bad(why, whylen, file, key, "expected \"sha256:\" and 64 lowercase hex digits, as `moksha-exec plugin "
                   "digest DIR` prints%s", "");
    snprintf(pl->digest, sizeof pl->digest, "%s", d);
    snprintf(key, sizeof key, "%s.connection", at);
    const char *cn = json_string_value(json_object_get(v, "connection"));
    if (json_object_get(v, "connection")) {
        const mk_config_conn *cc = cn ? mk_config_conn_find(cfg, cn) : NULL;
        if (!cc || strcmp(cc->kind, "plugin") != 0)
            return bad(why, whylen, file, key, "expected the name of a connection of kind \"plugin\" in this file%s", "");
        snprintf(pl->connection, sizeof pl->connection, "%s", cn);
    }
    return read_conn_duration(v, "timeout", 10, 3600 * 1000.0, "10ms to 1h", &pl->timeout_ms, file, at, why, whylen) &&
           read_conn_bool(v, "allow_fault_injection", &pl->allow_fault_injection, file, at, why, whylen);
}

static bool read_plugins(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(v))
        return bad(why, whylen, file, "plugins", "expected {\"NAME\": {\"dir\": \"…\", \"digest\": \"sha256:…\"}}%s", "");
    cfg->plugins = calloc(json_object_size(v) + 1, sizeof *cfg->plugins);
    if (!cfg->plugins)
        return snprintf(why, whylen, "out of memory"), false;
    const char *k;
    json_t *c;
    json_object_foreach(v, k, c) {
        if (!conn_name_ok(k)) {
            char key[160];
            snprintf(key, sizeof key, "plugins.%.63s", k);
            return bad(why, whylen, file, key, "a plugin's name is 1 to 63 of a-z, 0-9, _ and -%s", "");
        }
        if (!read_plugin(cfg, &cfg->plugins[cfg->nplugins++], k, c, file, why, whylen))
            return false;
    }
    return true;
}

const mk_config_plugin *mk_config_plugin_find(const mk_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->nplugins; i++)
        if (strcmp(cfg->plugins[i].name, name) == 0)
            return &cfg->plugins[i];
    return NULL;
}

/* "notify" (docs/executor.md). The events an apply tells of; a hook's
 * connection is checked once the whole file is read (connections may come
 * after it): check_hooks. */
static const char *const NOTIFY_EVENTS[] = {"plan.held", "gate.approved", "apply.finished", "apply.failed",
                                            "drift.corrected", "break_glass", "*", NULL};

static bool read_hook_on(mk_config_hook *h, json_t *on, const char *file, const char *at, char *why, size_t whylen)
{
    char key[192];
    snprintf(key, sizeof key, "%s.on", at);
    if (!json_is_array(on) || !json_array_size(on) || json_array_size(on) > 16)
        return bad(why, whylen, file, key, "expected a list of events: [\"apply.failed\", \"plan.held\"], or [\"*\"] "
                   "for every one (plan.held, gate.approved, apply.finished, apply.failed, drift.corrected, "
                   "break_glass)%s", "");
    if (!(h->on = calloc(json_array_size(on) + 1, sizeof *h->on)))
        return snprintf(why, whylen, "out of memory"), false;
    size_t i;
    json_t *e;
    json_array_foreach(on, i, e) {
        const char *s = json_string_value(e);
        snprintf(key, sizeof key, "%s.on[%zu]", at, i);
        if (!s || !one_of(s, NOTIFY_EVENTS))
            return bad(why, whylen, file, key, "not an event: expected one of plan.held, gate.approved, "
                       "apply.finished, apply.failed, drift.corrected, break_glass, or \"*\"%s", "");
        if (!(h->on[h->non++] = strdup(s)))
            return snprintf(why, whylen, "out of memory"), false;
    }
    return true;
}

static bool read_hook_path(mk_config_hook *h, json_t *v, const char *file, const char *at, char *why, size_t whylen)
{
    char key[192];
    snprintf(key, sizeof key, "%s.path", at);
    const char *p = json_string_value(v);
    size_t n = p ? strlen(p) : 0;
    bool ok = p && n == json_string_length(v) && n < sizeof h->path && p[0] == '/' && !strchr(p, '#');
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f;
    if (!ok || has_dotdot(p) || strstr(p, "/./") || (n >= 2 && !strcmp(p + n - 2, "/.")))
        return bad(why, whylen, file, key, "expected a path under the connection's endpoint, as \"/hooks/moksha\": "
                   "printable, no spaces, no `.` or `..` segment, no fragment%s", "");
    snprintf(h->path, sizeof h->path, "%s", p);
    return true;
}

static bool read_hook(mk_config_hook *h, size_t idx, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"on", "command", "connection", "path", "timeout_ms", NULL};
    char at[64], key[192];
    snprintf(at, sizeof at, "notify[%zu]", idx);
    snprintf(h->name, sizeof h->name, "%s", at);
    h->timeout_ms = 10 * 1000.0;
    if (!json_is_object(v))
        return bad(why, whylen, file, at, "expected {\"on\": [EVENT…], \"command\": [\"/path/to/program\", …]} or "
                   "{\"on\": [EVENT…], \"connection\": \"NAME\", \"path\": \"/…\"}%s", "");
    if (!only_keys(v, known, file, at, why, whylen) || !read_hook_on(h, json_object_get(v, "on"), file, at, why, whylen))
        return false;
    json_t *cmd = json_object_get(v, "command"), *conn = json_object_get(v, "connection"), *t = json_object_get(v, "timeout_ms");
    if (!cmd == !conn)
        return bad(why, whylen, file, at, "a hook is either a `command` or a `connection` with a `path`, one of them%s", "");
    snprintf(key, sizeof key, "%s.timeout_ms", at);
    if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 600000))
        return bad(why, whylen, file, key, "expected a whole number of milliseconds, 1 to 600000 (10 minutes)%s", "");
    if (t)
        h->timeout_ms = (double)json_integer_value(t);
    snprintf(key, sizeof key, "%s.command", at);
    if (cmd)
        return !json_object_get(v, "path") ? read_argv(cmd, &h->command, &h->ncommand, file, key, why, whylen)
                                           : bad(why, whylen, file, at, "`path` goes with a `connection`, not a "
                                                 "`command`%s", "");
    snprintf(key, sizeof key, "%s.connection", at);
    if (!json_is_string(conn) || !conn_name_ok(json_string_value(conn)))
        return bad(why, whylen, file, key, "expected the name of a connection of kind \"http\" in this file%s", "");
    snprintf(h->connection, sizeof h->connection, "%s", json_string_value(conn));
    if (!json_object_get(v, "path"))
        return bad(why, whylen, file, at, "a hook with a `connection` needs a `path`: where under its endpoint the "
                   "event is POSTed (\"/hooks/moksha\")%s", "");
    return read_hook_path(h, json_object_get(v, "path"), file, at, why, whylen);
}

static bool read_notify(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_array(v) || json_array_size(v) > MK_CONFIG_MAX_HOOKS)
        return bad(why, whylen, file, "notify", "expected a list of at most 32 hooks: [{\"on\": [\"apply.failed\"], "
                   "\"command\": [\"/usr/local/bin/page\"]}]%s", "");
    if (!(cfg->hooks = calloc(json_array_size(v) + 1, sizeof *cfg->hooks)))
        return snprintf(why, whylen, "out of memory"), false;
    size_t i;
    json_t *h;
    json_array_foreach(v, i, h)
        if (!read_hook(&cfg->hooks[cfg->nhooks++], i, h, file, why, whylen))
            return false;
    return true;
}

static bool check_hooks(const mk_config *cfg, const char *file, char *why, size_t whylen)
{
    for (size_t i = 0; i < cfg->nhooks; i++) {
        const mk_config_hook *h = &cfg->hooks[i];
        const mk_config_conn *cc = h->command ? NULL : mk_config_conn_find(cfg, h->connection);
        char key[192];
        snprintf(key, sizeof key, "%s.connection", h->name);
        if (!h->command && (!cc || strcmp(cc->kind, "http") != 0))
            return bad(why, whylen, file, key, "expected the name of a connection of kind \"http\" in this file "
                       "(`%s` is not one)", h->connection);
    }
    return true;
}

/* The sections; a new one is a struct in config.h and a line here. */
static const struct {
    const char *name;
    bool (*read)(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen);
} sections[] = {
    {"local", read_local},
    {"trust", read_trust},
    {"service", read_service},
    {"state", read_state},
    {"connections", read_conns},
    {"plugins", read_plugins},
    {"notify", read_notify},
};

/* Who may change the file decides what the executor does: only its owner
 * (the user running moksha-exec, or root), never group or others. */
static bool safe_file(const char *path, const char *stack_dir, mk_config *cfg, char *why, size_t whylen)
{
    struct stat sb, db;
    char real[PATH_MAX];
    if (!realpath(path, real) || stat(real, &sb) != 0)
        return snprintf(why, whylen, "%s: %s", path, strerror(errno)), false;
    if (!S_ISREG(sb.st_mode))
        return snprintf(why, whylen, "%s: not a regular file", path), false;
    if (sb.st_uid != geteuid() && sb.st_uid != 0)
        return snprintf(why, whylen, "%s: owned by uid %u, not by the user running moksha-exec (uid %u) or root", path,
                        (unsigned)sb.st_uid, (unsigned)geteuid()), false;
    if (sb.st_mode & 022)
        return snprintf(why, whylen, "%s: writable by %s (mode %04o): `chmod go-w %s`", path,
                        sb.st_mode & 002 ? "everyone" : "its group", (unsigned)(sb.st_mode & 07777), path), false;
    char stack[PATH_MAX];
    if (stack_dir && realpath(stack_dir, stack) && mk_config_under(real, stack))
        return snprintf(why, whylen, "%s: the executor's configuration cannot be in the stack directory %s: whoever "
                        "changes the stack could change what the executor allows; keep it with the user running moksha-exec",
                        path, stack), false;
    snprintf(cfg->path, sizeof cfg->path, "%s", real);
    snprintf(cfg->dir, sizeof cfg->dir, "%s", real);
    char *slash = strrchr(cfg->dir, '/');
    slash[slash == cfg->dir] = 0;
    if (stat(cfg->dir, &db) == 0 && (db.st_mode & 002) && !(db.st_mode & S_ISVTX))
        return snprintf(why, whylen, "%s: its directory %s is writable by everyone: anyone could replace the file", path,
                        cfg->dir), false;
    return true;
}

static bool read_doc(mk_config *cfg, json_t *doc, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(doc))
        return snprintf(why, whylen, "%s: expected a JSON object", file), false;
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    if (!fmt || strcmp(fmt, MK_CONFIG_FORMAT) != 0)
        return bad(why, whylen, file, "format", "expected \"" MK_CONFIG_FORMAT "\"%s", "");
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        size_t i = 0, n = sizeof sections / sizeof *sections;
        while (i < n && strcmp(sections[i].name, k) != 0)
            i++;
        if (i < n && !sections[i].read(cfg, v, file, why, whylen))
            return false;
        if (i == n && strcmp(k, "format") != 0)
            return bad(why, whylen, file, k, "unknown setting (see docs/executor.md, \"The executor's configuration\")%s", "");
    }
    return check_hooks(cfg, file, why, whylen);
}

bool mk_config_load(mk_config *cfg, char *why, size_t whylen)
{
    return mk_config_load_for(cfg, ".", why, whylen);
}

bool mk_config_load_for(mk_config *cfg, const char *stack_dir, char *why, size_t whylen)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->state.backend, sizeof cfg->state.backend, "local");
    snprintf(cfg->state.pg.schema, sizeof cfg->state.pg.schema, "moksha");
    char path[PATH_MAX];
    bool named = getenv("MOKSHA_EXEC_CONFIG") && *getenv("MOKSHA_EXEC_CONFIG");
    if (!mk_config_path(path, sizeof path))
        return true; /* no HOME: nothing to read */
    if (access(path, F_OK) != 0 && errno == ENOENT && !named)
        return true;
    if (!safe_file(path, stack_dir, cfg, why, whylen))
        return false;
    json_error_t je;
    json_t *doc = json_load_file(cfg->path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return snprintf(why, whylen, "%s:%d:%d: %s", path, je.line, je.column, je.text), false;
    bool ok = read_doc(cfg, doc, path, why, whylen);
    json_decref(doc);
    if (!ok)
        mk_config_free(cfg);
    return ok;
}

void mk_config_free(mk_config *cfg)
{
    for (size_t i = 0; i < cfg->local.nallowed_roots; i++)
        free(cfg->local.allowed_roots[i]);
    free(cfg->local.allowed_roots);
    cfg->local.allowed_roots = NULL;
    cfg->local.nallowed_roots = 0;
    for (size_t i = 0; i < cfg->trust.nroots; i++)
        free(cfg->trust.roots[i]);
    cfg->trust.nroots = 0;
    for (size_t i = 0; i < cfg->state.nstacks; i++)
        free(cfg->state.stacks[i]);
    free(cfg->state.stacks);
    free(cfg->state.envs);
    cfg->state.stacks = NULL;
    cfg->state.envs = NULL;
    cfg->state.nstacks = cfg->state.nenvs = 0;
    for (size_t i = 0; i < cfg->state.nlocal_stacks; i++)
        free(cfg->state.local_stacks[i].name), free(cfg->state.local_stacks[i].dir);
    free(cfg->state.local_stacks);
    cfg->state.local_stacks = NULL;
    cfg->state.nlocal_stacks = 0;
    for (size_t i = 0; i < cfg->nconns; i++) {
        mk_config_conn *cc = &cfg->conns[i];
        for (size_t j = 0; j < cc->npassword_command; j++)
            free(cc->password_command[j]);
        free(cc->password_command);
        for (size_t j = 0; j < cc->nallow_addresses; j++)
            free(cc->allow_addresses[j]);
        free(cc->allow_addresses);
        json_decref(cc->self_hosted);
        json_decref(cc->credentials), json_decref(cc->implements), json_decref(cc->vouches);
        json_decref(cc->headers), json_decref(cc->settings);
    }
    for (size_t i = 0; i < cfg->nhooks; i++) {
        mk_config_hook *h = &cfg->hooks[i];
        for (size_t j = 0; j < h->non; j++)
            free(h->on[j]);
        for (size_t j = 0; j < h->ncommand; j++)
            free(h->command[j]);
        free(h->on), free(h->command);
    }
    free(cfg->hooks);
    cfg->hooks = NULL;
    cfg->nhooks = 0;
    free(cfg->plugins);
    cfg->plugins = NULL;
    cfg->nplugins = 0;
    free(cfg->conns);
    cfg->conns = NULL;
    cfg->nconns = 0;
}
