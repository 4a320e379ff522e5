/* trustfile — reading, checking and signing a trust file (trustfile.h).
 * The checks are the shape docs/trust.md gives, refused at the first
 * wrong field with its place named; what the executor decides beyond the
 * shape (which roots count, versions, expiry against its clock) is not
 * here. */
#include "compiler/base/trustfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler/base/jalloc.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"

/* The executor's bounds (runtime/trust.c), so that what is signed here is
 * never refused there for its size. */
#define MAX_FILE (1u << 20)
#define MAX_ROOTS 16
#define MAX_KEYS 4096
#define MAX_SIGS 64
#define MAX_VERSION (1LL << 53) /* a version any JSON reader holds exactly */

typedef struct check {
    char *why;
    size_t n;
    bool bad;
} check;

static bool say(check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool say(check *c, const char *fmt, ...)
{
    if (!c->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->n, fmt, ap);
        va_end(ap);
    }
    c->bad = true;
    return false;
}

/* o holds only fields of names (NULL-terminated). */
static bool only_fields(check *c, json_t *o, const char *const *names, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (names[i] && strcmp(names[i], k) != 0)
            i++;
        if (!names[i])
            return say(c, "%s has a field `%s` a trust file does not have", where, k);
    }
    return true;
}

static bool name_ok(check *c, const char *name, const char *where)
{
    if (strlen(name) <= MK_SIGN_NAME_MAX && mk_sign_name_ok(name, strlen(name)))
        return true;
    return say(c, "%s: `%.64s` is not a name ([a-z0-9][a-z0-9_-]*, at most %d characters)", where, name, MK_SIGN_NAME_MAX);
}

/* v is a public key's text; it is added to seen (a set of key texts), and
 * one there already is a duplicate. */
static bool key_ok(check *c, json_t *v, json_t *seen, const char *where)
{
    uint8_t raw[32];
    const char *s = json_string_value(v);
    if (!s || !mk_sign_parse_public(s, raw))
        return say(c, "%s is not an Ed25519 public key (ed25519: and the base64 of 32 bytes, as a .pub file has it)", where);
    if (seen && json_object_get(seen, s))
        return say(c, "%s: the key %s is listed twice", where, s);
    if (seen)
        json_object_set_new(seen, s, json_true());
    return true;
}

static bool roots_ok(check *c, json_t *roots)
{
    static const char *const FIELDS[] = {"threshold", "keys", NULL};
    json_t *keys = json_object_get(roots, "keys"), *th = json_object_get(roots, "threshold"), *seen = json_object();
    size_t i;
    json_t *k;
    if (!json_is_object(roots))
        say(c, "`roots` is not an object of `threshold` and `keys`");
    else if (only_fields(c, roots, FIELDS, "`roots`") &&
             (!json_is_array(keys) || !json_array_size(keys) || json_array_size(keys) > MAX_ROOTS))
        say(c, "`roots.keys` is not a list of 1 to %d keys", MAX_ROOTS);
    json_array_foreach(keys, i, k) {
        char where[48];
        snprintf(where, sizeof where, "`roots.keys[%zu]`", i);
        if (!key_ok(c, k, seen, where))
            break;
    }
    json_int_t t = json_integer_value(th);
    if (!c->bad && (!json_is_integer(th) || t < 1 || (size_t)t > json_array_size(keys)))
        say(c, "`roots.threshold` is not a number from 1 to the %zu roots listed", json_array_size(keys));
    json_decref(seen);
    return !c->bad;
}

/* planners and approvers: {NAME: KEY}; one key under one name only. */
static bool named_keys_ok(check *c, json_t *o, const char *field, json_t *role_keys)
{
    if (o && !json_is_object(o))
        return say(c, "`%s` is not an object of names and keys", field);
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v) {
        char where[160];
        snprintf(where, sizeof where, "`%s.%s`", field, name);
        if (!name_ok(c, name, field) || !key_ok(c, v, role_keys, where))
            return false;
    }
    return true;
}

/* ---- boundaries, rules per environment, break glass: the executor's
 * rules (runtime/trust.c), so that a root signs nothing it refuses ---- */

static const char *const RISKS[] = {"low", "medium", "high", NULL};
static const char *const ACTIONS[] = {"create", "update", "delete", "replace", "import", "move", NULL};
static const char *const DAYS[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

static bool word_in(const char *s, const char *const *set)
{
    while (s && *set && strcmp(*set, s) != 0)
        set++;
    return s && *set;
}

static bool is_type(const char *s)
{
    size_t n = strlen(s);
    return n && n <= 128 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == n && s[0] != '.' &&
           s[n - 1] != '.' && !strstr(s, "..") && !(s[0] >= '0' && s[0] <= '9');
}
static bool is_env(const char *s) { return !*s || (strlen(s) <= MK_SIGN_NAME_MAX && mk_sign_name_ok(s, strlen(s))); }
static bool is_risk(const char *s) { return word_in(s, RISKS); }
static bool is_action(const char *s) { return word_in(s, ACTIONS); }
static bool is_day(const char *s) { return word_in(s, DAYS); }
static bool is_digest(const char *s) { return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64; }

/* v, when present, is a list of one or more distinct strings ok takes. */
static bool words_ok(check *c, json_t *v, const char *where, bool (*ok)(const char *), const char *what)
{
    size_t i;
    json_t *x;
    if (!v)
        return true;
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > MAX_KEYS)
        return say(c, "`%s` is not a list of one or more %s (leave it out for no limit)", where, what);
    json_array_foreach(v, i, x) {
        const char *w = json_string_value(x);
        if (!w || !ok(w))
            return say(c, "`%s[%zu]` is not one of %s", where, i, what);
        for (size_t k = 0; k < i; k++)
            if (strcmp(json_string_value(json_array_get(v, k)), w) == 0)
                return say(c, "`%s` lists `%s` twice", where, w);
    }
    return true;
}

/* "HH:MM" in minutes, up to 24:00; -1 when it is none. */
static int clock_of(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789:") != 5)
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h > 24 || m > 59 || (h == 24 && m) ? -1 : h * 60 + m;
}

static bool windows_ok(check *c, json_t *v, const char *where)
{
    static const char *const FIELDS[] = {"days", "from", "to", NULL};
    char at[256];
    size_t i;
    json_t *w;
    if (!v)
        return true;
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > 64)
        return say(c, "`%s.windows` is not a list of 1 to 64 windows (leave it out for always)", where);
    json_array_foreach(v, i, w) {
        snprintf(at, sizeof at, "%s.windows[%zu]", where, i);
        if (!json_is_object(w))
            return say(c, "`%s` is not {\"days\": [...], \"from\": \"HH:MM\", \"to\": \"HH:MM\"} (UTC)", at);
        char dat[272];
        snprintf(dat, sizeof dat, "`%s`", at);
        if (!only_fields(c, w, FIELDS, dat))
            return false;
        snprintf(dat, sizeof dat, "%s.days", at);
        if (!json_object_get(w, "days") ? say(c, "`%s` has no `days`", at)
                                        : !words_ok(c, json_object_get(w, "days"), dat, is_day, "mon, tue, wed, thu, fri, sat, sun"))
            return false;
        int from = clock_of(json_string_value(json_object_get(w, "from"))), to = clock_of(json_string_value(json_object_get(w, "to")));
        if (from < 0 || from == 24 * 60 || to < 0)
            return say(c, "`%s`: `from` and `to` are UTC times \"HH:MM\" (`from` up to 23:59, `to` up to 24:00)", at);
        if (from >= to)
            return say(c, "`%s`: `from` is not before `to`: a window lies within one day (split one across midnight in two)", at);
    }
    return true;
}

/* US dollars as money text, not negative: "50", "50.00", at most 6 decimals. */
static bool is_money(const char *s)
{
    size_t w = s ? strspn(s, "0123456789") : 0, f = w && s[w] == '.' ? strspn(s + w + 1, "0123456789") : 0;
    return w && w <= 12 && (!s[w] || (s[w] == '.' && f >= 1 && f <= 6 && !s[w + 1 + f]));
}

/* o's `types` and `actions` (a boundary's or a gate's), where they are, and
 * its risk field rf (max_risk, min_risk). */
static bool filters_ok(check *c, json_t *o, const char *where, const char *rf)
{
    char at[320];
    json_t *v = json_object_get(o, rf);
    if (v && !is_risk(json_string_value(v) ?: ""))
        return say(c, "`%s.%s` is not \"low\", \"medium\" or \"high\"", where, rf);
    snprintf(at, sizeof at, "%s.types", where);
    if (!words_ok(c, json_object_get(o, "types"), at, is_type, "resource types (compute, postgres.role)"))
        return false;
    snprintf(at, sizeof at, "%s.actions", where);
    return words_ok(c, json_object_get(o, "actions"), at, is_action, "create, update, delete, replace, import, move");
}

static bool boundary_ok(check *c, json_t *b, const char *name)
{
    static const char *const FIELDS[] = {"max_risk", "types", "actions", "environments", "max_cost_increase",
                                         "max_changes", "windows", NULL};
    char where[160], at[200];
    json_t *v;
    snprintf(where, sizeof where, "automation.%s.boundary", name);
    snprintf(at, sizeof at, "`%s`", where);
    if (!b)
        return true;
    if (!json_is_object(b))
        return say(c, "%s is not an object ({} is the default boundary: low-risk changes only)", at);
    if (!only_fields(c, b, FIELDS, at))
        return false;
    if (!filters_ok(c, b, where, "max_risk"))
        return false;
    snprintf(at, sizeof at, "%s.environments", where);
    if (!words_ok(c, json_object_get(b, "environments"), at, is_env, "environments' names (\"\": a plan of no environment)"))
        return false;
    if ((v = json_object_get(b, "max_cost_increase")) && !is_money(json_string_value(v)))
        return say(c, "`%s.max_cost_increase` is not US dollars a month as money text, \"50.00\"", where);
    if ((v = json_object_get(b, "max_changes")) &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000))
        return say(c, "`%s.max_changes` is not a whole number from 1 up", where);
    return windows_ok(c, json_object_get(b, "windows"), where);
}

/* A group of groups with at least count members. */
static bool group_ok(check *c, json_t *p, json_t *g, json_int_t count, const char *where)
{
    const char *name = json_string_value(g);
    json_t *m = name ? json_object_get(json_object_get(p, "groups"), name) : NULL;
    if (!m)
        return say(c, "`%s.group` is not a group of `groups`", where);
    if ((size_t)count > json_array_size(m))
        return say(c, "`%s.count` is %lld, but group %s has %zu member%s: it could never open", where, (long long)count, name,
                   json_array_size(m), json_array_size(m) == 1 ? "" : "s");
    return true;
}

static bool env_gate_ok(check *c, json_t *p, json_t *g, const char *where)
{
    static const char *const FIELDS[] = {"group", "count", "actions", "types", "min_risk", NULL};
    json_t *n = json_object_get(g, "count");
    char at[320];
    if (!json_is_object(g))
        return say(c, "`%s` is not {\"group\", \"count\", \"actions\", \"types\", \"min_risk\"}", where);
    snprintf(at, sizeof at, "`%s`", where);
    if (!only_fields(c, g, FIELDS, at))
        return false;
    if (n && (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 16))
        return say(c, "`%s.count` is not a whole number from 1 to 16", where);
    return group_ok(c, p, json_object_get(g, "group"), n ? json_integer_value(n) : 1, where) &&
           filters_ok(c, g, where, "min_risk");
}

static bool environments_ok(check *c, json_t *p)
{
    static const char *const FIELDS[] = {"policy_packs", "gates", NULL};
    json_t *envs = json_object_get(p, "environments"), *e, *g;
    const char *name, *gname;
    if (envs && !json_is_object(envs))
        return say(c, "`environments` is not an object of environments' names and their rules");
    json_object_foreach(envs, name, e) {
        char where[160], at[256];
        snprintf(where, sizeof where, "environments.%.64s", name);
        if (!is_env(name))
            return say(c, "`environments`: `%.64s` is not an environment's name ([a-z0-9][a-z0-9_-]*, or \"\")", name);
        if (!json_is_object(e))
            return say(c, "`%s` is not {\"policy_packs\": [...], \"gates\": {...}}", where);
        snprintf(at, sizeof at, "`%s`", where);
        if (!only_fields(c, e, FIELDS, at))
            return false;
        snprintf(at, sizeof at, "%s.policy_packs", where);
        if (!words_ok(c, json_object_get(e, "policy_packs"), at, is_digest, "policy packs' digests (`moksha policy digest DIR`)"))
            return false;
        if ((g = json_object_get(e, "gates")) && !json_is_object(g))
            return say(c, "`%s.gates` is not an object of gates' names", where);
        json_t *one;
        json_object_foreach(g, gname, one) {
            snprintf(at, sizeof at, "%s.gates.%s", where, gname);
            if (!name_ok(c, gname, at) || !env_gate_ok(c, p, one, at))
                return false;
        }
    }
    return true;
}

static bool break_glass_ok(check *c, json_t *p)
{
    static const char *const FIELDS[] = {"group", "count", NULL};
    json_t *b = json_object_get(p, "break_glass"), *n = json_object_get(b, "count");
    if (!b)
        return true;
    if (!json_is_object(b) || !only_fields(c, b, FIELDS, "`break_glass`"))
        return c->bad ? false : say(c, "`break_glass` is not {\"group\": GROUP, \"count\": N}");
    if (n && (!json_is_integer(n) || json_integer_value(n) < 2 || json_integer_value(n) > 16))
        return say(c, "`break_glass.count` is not a whole number from 2 to 16: breaking the glass takes two people");
    return group_ok(c, p, json_object_get(b, "group"), n ? json_integer_value(n) : 2, "break_glass");
}

/* automation: {NAME: {"key": KEY, "boundary": BOUNDARY}}. */
static bool automation_ok(check *c, json_t *o, json_t *role_keys)
{
    static const char *const FIELDS[] = {"key", "boundary", NULL};
    if (o && !json_is_object(o))
        return say(c, "`automation` is not an object of names and identities");
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v) {
        char where[160];
        snprintf(where, sizeof where, "`automation.%s`", name);
        if (!name_ok(c, name, "automation"))
            return false;
        if (!json_is_object(v) || !only_fields(c, v, FIELDS, where))
            return c->bad ? false : say(c, "%s is not an object of `key` and `boundary`", where);
        if (!boundary_ok(c, json_object_get(v, "boundary"), name))
            return false;
        snprintf(where, sizeof where, "`automation.%s.key`", name);
        if (!key_ok(c, json_object_get(v, "key"), role_keys, where))
            return false;
    }
    return true;
}

static bool groups_ok(check *c, json_t *groups, json_t *approvers)
{
    if (groups && !json_is_object(groups))
        return say(c, "`groups` is not an object of names and lists of approvers");
    const char *name;
    json_t *members;
    json_object_foreach(groups, name, members) {
        if (!name_ok(c, name, "groups"))
            return false;
        if (!json_is_array(members) || !json_array_size(members))
            return say(c, "`groups.%s` is not a list of one or more approvers' names", name);
        size_t i;
        json_t *m;
        json_array_foreach(members, i, m) {
            const char *who = json_string_value(m);
            if (!who || !json_object_get(approvers, who))
                return say(c, "`groups.%s[%zu]`%s%s%s is not an approver: list it under `approvers` first", name, i,
                           who ? " (" : "", who ? who : "", who ? ")" : "");
            for (size_t k = 0; k < i; k++)
                if (strcmp(json_string_value(json_array_get(members, k)), who) == 0)
                    return say(c, "`groups.%s` lists %s twice", name, who);
        }
    }
    return true;
}

static bool key_list_ok(check *c, json_t *list, const char *field)
{
    if (list && (!json_is_array(list) || json_array_size(list) > MAX_KEYS))
        return say(c, "`%s` is not a list of at most %d keys", field, MAX_KEYS);
    json_t *seen = json_object(), *k;
    size_t i;
    json_array_foreach(list, i, k) {
        char where[48];
        snprintf(where, sizeof where, "`%s[%zu]`", field, i);
        if (!key_ok(c, k, seen, where))
            break;
    }
    json_decref(seen);
    return !c->bad;
}

/* A key in both sets: a planner key is no automation key (one identity,
 * one boundary), and a root signs trust files, never plans. */
static bool roles_apart(check *c, json_t *a, json_t *b, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v)
        if (json_object_get(b, k))
            return say(c, "the key %s is %s", k, what);
    return true;
}

static bool time_ok(check *c, json_t *v)
{
    if (mk_trustfile_time(json_string_value(v) ?: "") < 0)
        return say(c, "`expires` is not a time in RFC 3339 UTC, e.g. \"2027-06-01T00:00:00Z\"");
    return true;
}

bool mk_trustfile_check(json_t *p, char *why, size_t whylen)
{
    static const char *const FIELDS[] = {"version", "expires", "roots", "planners", "automation", "approvers",
                                         "groups", "revoked", "environments", "break_glass", NULL};
    check c = {why, whylen, false};
    if (!json_is_object(p))
        return say(&c, "the payload is not a JSON object");
    json_t *v = json_object_get(p, "version"), *planners = json_object(), *automation = json_object();
    json_t *approvers = json_object(), *roots = json_object(), *revoked = json_object();
    json_t *rk = json_object_get(json_object_get(p, "roots"), "keys"), *k;
    size_t i;
    if (only_fields(&c, p, FIELDS, "the payload") &&
        (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_VERSION))
        say(&c, "`version` is not a whole number from 1 to 2^53");
    if (!c.bad && time_ok(&c, json_object_get(p, "expires")) && roots_ok(&c, json_object_get(p, "roots")) &&
        named_keys_ok(&c, json_object_get(p, "planners"), "planners", planners) &&
        automation_ok(&c, json_object_get(p, "automation"), automation) &&
        named_keys_ok(&c, json_object_get(p, "approvers"), "approvers", approvers) &&
        groups_ok(&c, json_object_get(p, "groups"), json_object_get(p, "approvers")) &&
        key_list_ok(&c, json_object_get(p, "revoked"), "revoked") && environments_ok(&c, p) && break_glass_ok(&c, p)) {
        json_array_foreach(rk, i, k)
            json_object_set_new(roots, json_string_value(k), json_true());
        json_array_foreach(json_object_get(p, "revoked"), i, k)
            json_object_set_new(revoked, json_string_value(k), json_true());
        if (roles_apart(&c, planners, automation, "both a planner's and an automation identity's: give each its own key") &&
            roles_apart(&c, automation, approvers, "both an automation identity's and an approver's: an automation "
                        "identity never approves; give the approver a key of their own") &&
            roles_apart(&c, roots, planners, "a root's and a planner's: a root key signs trust files only") &&
            roles_apart(&c, roots, automation, "a root's and an automation identity's: a root key signs trust files only") &&
            roles_apart(&c, roots, approvers, "a root's and an approver's: a root key signs trust files only"))
            roles_apart(&c, roots, revoked, "both a root and revoked: a root is retired by leaving `roots` (which needs "
                        "both thresholds), not by revoking it");
        if (!c.bad && json_object_size(planners) + json_object_size(automation) + json_object_size(approvers) > MAX_KEYS)
            say(&c, "the payload lists more than %d keys", MAX_KEYS);
    }
    json_decref(planners), json_decref(automation), json_decref(approvers), json_decref(roots), json_decref(revoked);
    return !c.bad;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400, doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

long long mk_trustfile_time(const char *s)
{
    static const char FORM[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof FORM - 1)
        return -1;
    for (size_t i = 0; FORM[i]; i++)
        if (FORM[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != FORM[i])
            return -1;
    int v[6], at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < len[i]; k++)
            v[i] = v[i] * 10 + (s[at[i] + k] - '0');
    }
    static const int MDAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > MDAYS[v[1] - 1] + (v[1] == 2 && leap) || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return -1;
    return days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

/* ---- the file ---- */

static bool signatures_ok(check *c, json_t *sigs)
{
    static const char *const FIELDS[] = {"key", "value", NULL};
    if (!json_is_array(sigs) || json_array_size(sigs) > MAX_SIGS)
        return say(c, "`signatures` is not a list of at most %d signatures", MAX_SIGS);
    json_t *seen = json_object(), *s;
    size_t i;
    json_array_foreach(sigs, i, s) {
        char where[48];
        snprintf(where, sizeof where, "`signatures[%zu]`", i);
        if (!json_is_object(s) || !only_fields(c, s, FIELDS, where) || !json_is_string(json_object_get(s, "value"))) {
            say(c, "%s is not an object of `key` and `value`", where);
            break;
        }
        snprintf(where, sizeof where, "`signatures[%zu].key`", i);
        if (!key_ok(c, json_object_get(s, "key"), seen, where))
            break;
    }
    json_decref(seen);
    return !c->bad;
}

/* An envelope's payload text and signatures into t. */
static bool read_envelope(json_t *doc, mk_trustfile *t, check *c)
{
    static const char *const FIELDS[] = {"format", "payload", "signatures", NULL};
    json_t *payload = json_object_get(doc, "payload");
    const char *format = json_string_value(json_object_get(doc, "format"));
    if (!format || strcmp(format, MK_TRUSTFILE_FORMAT) != 0)
        return say(c, "`format` is not \"%s\"", MK_TRUSTFILE_FORMAT);
    if (!only_fields(c, doc, FIELDS, "the envelope"))
        return false;
    if (!json_is_string(payload))
        return say(c, "the envelope's `payload` is not the payload's JSON text, as a string");
    if (!signatures_ok(c, json_object_get(doc, "signatures")))
        return false;
    t->envelope = true;
    t->npayload = json_string_length(payload);
    t->payload = mk_mem_alloc(t->npayload + 1);
    memcpy(t->payload, json_string_value(payload), t->npayload + 1);
    t->signatures = json_incref(json_object_get(doc, "signatures"));
    json_error_t je;
    if (!(t->doc = json_loadb(t->payload, t->npayload, JSON_REJECT_DUPLICATES, &je))) {
        char msg[300];
        mk_jsonfile_parse_error("the payload", &je, t->payload, t->npayload, msg, sizeof msg);
        return say(c, "%s", msg);
    }
    return true;
}

bool mk_trustfile_read(const char *path, mk_trustfile *t, char *why, size_t whylen)
{
    memset(t, 0, sizeof *t);
    char msg[1024];
    check c = {msg, sizeof msg, false};
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > (off_t)MAX_FILE) {
        snprintf(why, whylen, "%s: larger than 1 MiB: no executor reads a trust file that large", path);
        return false;
    }
    json_t *doc = mk_jsonfile_load(path, JSON_REJECT_DUPLICATES, why, whylen); /* (its why names the path) */
    if (!doc)
        return false;
    if (!json_is_object(doc))
        say(&c, "not a trust file: a JSON object, its payload or an envelope");
    else if (json_object_get(doc, "format"))
        read_envelope(doc, t, &c);
    else { /* a bare payload: its text is its compact JSON, from now on kept as it is */
        char *text = json_dumps(doc, JSON_COMPACT);
        t->npayload = strlen(text);
        t->payload = mk_mem_strdup(text);
        mk_jalloc_free_text(text);
        t->doc = json_incref(doc);
        t->signatures = json_array();
    }
    json_decref(doc);
    bool ok = !c.bad && mk_trustfile_check(t->doc, msg, sizeof msg);
    if (!ok)
        snprintf(why, whylen, "%s: %s", path, msg);
    return ok;
}

bool mk_trustfile_sig_ok(const mk_trustfile *t, size_t i)
{
    json_t *s = json_array_get(t->signatures, i);
    const char *key = json_string_value(json_object_get(s, "key")), *value = json_string_value(json_object_get(s, "value"));
    return key && value && mk_sign_verify(key, MK_SIGN_TRUST, t->payload, t->npayload, value);
}

bool mk_trustfile_add(mk_trustfile *t, struct evp_pkey_st *key, char *why, size_t whylen)
{
    char pub[MK_SIGN_PUB_LEN], id[MK_SIGN_ID_LEN], sig[MK_SIGN_SIG_LEN];
    mk_sign_public(key, pub, id);
    size_t i;
    json_t *s;
    json_array_foreach(t->signatures, i, s)
        if (strcmp(json_string_value(json_object_get(s, "key")), pub) == 0) {
            snprintf(why, whylen, "it is signed by this key (%s) already: a key signs once", id);
            return false;
        }
    if (json_array_size(t->signatures) >= MAX_SIGS) {
        snprintf(why, whylen, "it holds %d signatures, as many as an executor reads", MAX_SIGS);
        return false;
    }
    if (!mk_sign_message(key, MK_SIGN_TRUST, t->payload, t->npayload, sig)) {
        snprintf(why, whylen, "cannot sign with the key (OpenSSL)");
        return false;
    }
    json_array_append_new(t->signatures, json_pack("{s:s, s:s}", "key", pub, "value", sig));
    char *env = mk_trustfile_envelope(t); /* the payload escaped, one more signature: it grows */
    size_t n = strlen(env) + 1;           /* (its file ends in a newline) */
    mk_mem_free(env);
    if (n > MAX_FILE) {
        json_array_remove(t->signatures, json_array_size(t->signatures) - 1);
        snprintf(why, whylen, "signed, its envelope would be larger than 1 MiB: no executor reads a trust file that large");
        return false;
    }
    return true;
}

char *mk_trustfile_envelope(const mk_trustfile *t)
{
    json_t *env = json_pack("{s:s, s:s%, s:O}", "format", MK_TRUSTFILE_FORMAT, "payload", t->payload, t->npayload,
                            "signatures", t->signatures);
    char *text = json_dumps(env, JSON_INDENT(2));
    char *out = mk_mem_strdup(text);
    mk_jalloc_free_text(text);
    json_decref(env);
    return out;
}

void mk_trustfile_free(mk_trustfile *t)
{
    mk_mem_free(t->payload);
    json_decref(t->doc);
    json_decref(t->signatures);
}
