/* boundary — see boundary.h. The trust file's shapes were checked when it
 * was accepted (runtime/trust.c), so a field read here is of its form or
 * absent; the plan's are the signer's word and are read defensively.
 *
 * note [risk floor]: a change's `risk` label is the planner's, and a
 * stolen automation key can label a replace low and sign it. The executor
 * therefore takes the higher of the label and a floor of its own, read
 * from the change's action, its type (the state's entry's type too, the
 * executor's record) and the attributes that differ between the state's
 * entry and the change's `after` — never from the plan's `changed` list:
 *   create, move, noop, read                          low
 *   update of nothing but `tags`                      low
 *   other update (or one with no state entry)         medium
 *   update of a network or access type                high
 *   delete or replace of a stateless type             medium
 *   delete or replace of a @stateful or access type,
 *     or of a type the executor does not know         high
 *   import, or an action the executor does not know   high
 * An update with a non-empty `replace_because`, or of a `deposed` object,
 * counts as a replace. A secret compares by its fingerprint only (its
 * sealed text differs each time it is sealed): without fingerprints on
 * both sides it differs. This is docs/policies.md "Risk classes", and the
 * type table below is the stdlib's @stateful marks (tests/unit/test_boundary.c
 * checks both against the compiler). */
#include "runtime/boundary.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const RISK[] = {"unknown", "low", "medium", "high", "unknown"};

/* Every resource type of the stdlib (the .moksha files of stdlib/types), by class. */
static const struct {
    const char *type;
    int cls;
} TYPES[] = {
    {"bucket", MK_BOUNDARY_STATEFUL},
    {"compute", MK_BOUNDARY_STATELESS},
    {"database", MK_BOUNDARY_STATEFUL},
    {"dns_record", MK_BOUNDARY_ACCESS},
    {"firewall", MK_BOUNDARY_ACCESS},
    {"http.object", MK_BOUNDARY_STATELESS},
    {"load_balancer", MK_BOUNDARY_ACCESS},
    {"local.directory", MK_BOUNDARY_STATELESS},
    {"local.file", MK_BOUNDARY_STATELESS},
    {"local.symlink", MK_BOUNDARY_STATELESS},
    {"network", MK_BOUNDARY_ACCESS},
    {"postgres.database", MK_BOUNDARY_STATEFUL},
    {"postgres.default_privileges", MK_BOUNDARY_STATELESS},
    {"postgres.extension", MK_BOUNDARY_STATELESS},
    {"postgres.grant", MK_BOUNDARY_STATELESS},
    {"postgres.role", MK_BOUNDARY_STATEFUL},
    {"postgres.schema", MK_BOUNDARY_STATELESS},
    {"queue", MK_BOUNDARY_STATEFUL},
    {"volume", MK_BOUNDARY_STATEFUL},
};

int mk_boundary_type_class(const char *type)
{
    for (size_t i = 0; type && i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(TYPES[i].type, type) == 0)
            return TYPES[i].cls;
    return MK_BOUNDARY_UNKNOWN;
}

static int risk_rank(const char *r)
{
    return !r ? 4 : !strcmp(r, "low") ? 1 : !strcmp(r, "medium") ? 2 : !strcmp(r, "high") ? 3 : 4;
}

static bool in_list(json_t *list, const char *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
        if (s && json_is_string(x) && strcmp(json_string_value(x), s) == 0)
            return true;
    return false;
}

/* "a, b, c" of a list of strings, into out. */
static void join(json_t *list, char *out, size_t n)
{
    size_t i, k = 0;
    json_t *x;
    out[0] = 0;
    json_array_foreach(list, i, x) {
        const char *s = json_string_value(x);
        int w = snprintf(out + k, n - k, "%s%s", i ? ", " : "", s && *s ? s : "\"\"");
        if (w < 0 || (size_t)w >= n - k)
            return;
        k += (size_t)w;
    }
}

/* ---- the floor ---- */

static const char *secret_fp(json_t *v)
{
    return json_string_value(json_object_get(json_object_get(v, "$secret"), "fingerprint"));
}

static bool attr_same(json_t *a, json_t *b);

/* Equal for what an apply would change: secrets by fingerprint, a
 * reference by what it refers to (the state's copy also holds the id it
 * was resolved to, which the plan's cannot know). */
static bool same_value(json_t *a, json_t *b)
{
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_get(a, "$secret") || json_object_get(b, "$secret"))
            return secret_fp(a) && secret_fp(b) && strcmp(secret_fp(a), secret_fp(b)) == 0;
        if (json_object_get(a, "$ref") || json_object_get(b, "$ref")) /* a reference: the state adds the id it resolved to */
            return json_equal(json_object_get(a, "$ref"), json_object_get(b, "$ref")) &&
                   attr_same(json_object_get(a, "attr"), json_object_get(b, "attr"));
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
            if (!json_object_get(b, k) || !same_value(v, json_object_get(b, k)))
                return false;
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_value(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal(a, b);
}

/* An attribute absent on one side is null there. */
static bool attr_same(json_t *a, json_t *b)
{
    return (!a || json_is_null(a)) && (!b || json_is_null(b)) ? true : a && b && same_value(a, b);
}

/* The first attribute other than tags that differs between the state's
 * attributes and after, or NULL when none does; *any says whether any
 * differs at all. */
static const char *first_untagged(json_t *attrs, json_t *after, bool *any)
{
    const char *k, *first = NULL;
    json_t *v;
    *any = false;
    json_object_foreach(after, k, v)
        if (!attr_same(v, json_object_get(attrs, k))) {
            *any = true;
            if (!first && strcmp(k, "tags") != 0)
                first = k;
        }
    json_object_foreach(attrs, k, v)
        if (!json_object_get(after, k) && !attr_same(v, NULL)) {
            *any = true;
            if (!first && strcmp(k, "tags") != 0)
                first = k;
        }
    return first;
}

/* The higher class of the change's type and its state entry's. */
static int class_of(json_t *change, json_t *entry, const char **type)
{
    const char *t1 = json_string_value(json_object_get(change, "type"));
    const char *t2 = json_string_value(json_object_get(entry, "type"));
    int c1 = mk_boundary_type_class(t1), c2 = t2 ? mk_boundary_type_class(t2) : MK_BOUNDARY_STATELESS;
    *type = t1 ? t1 : t2 ? t2 : "?";
    if (t2 && c2 > c1)
        *type = t2;
    return c1 > c2 ? c1 : c2;
}

static const char *const CLASS_WORD[] = {"", " (a @stateful type)", " (a network or access type)",
                                         " (a type this executor does not know, counted as @stateful)"};

static bool forced(json_t *change)
{
    json_t *rb = json_object_get(change, "replace_because");
    return json_object_get(change, "deposed") || (rb && !json_is_null(rb) && !(json_is_array(rb) && !json_array_size(rb)));
}

/* The floor (note [risk floor]) and what it is ("a replace of database (a
 * @stateful type)"). */
static int floor_why(json_t *change, json_t *entry, char *why, size_t n)
{
    const char *action = json_string_value(json_object_get(change, "action")), *type;
    int cls = class_of(change, entry, &type);
    if (action && (!strcmp(action, "create") || !strcmp(action, "move") || !strcmp(action, "noop") || !strcmp(action, "read")))
        return snprintf(why, n, "a %s", action), 1;
    if (action && !strcmp(action, "import"))
        return snprintf(why, n, "an import (adopting an object moksha did not make)"), 3;
    if (action && !strcmp(action, "update") && !forced(change)) {
        json_t *attrs = json_object_get(entry, "attributes"), *after = json_object_get(change, "after");
        bool any;
        const char *attr = json_is_object(attrs) && json_is_object(after) ? first_untagged(attrs, after, &any) : NULL;
        if (!json_is_object(attrs) || !json_is_object(after))
            return snprintf(why, n, "an update of %s with no state entry to compare", type), cls == MK_BOUNDARY_ACCESS ? 3 : 2;
        if (!attr)
            return snprintf(why, n, "an update of %s", any ? "tags only" : "nothing the state does not hold"), 1;
        if (cls == MK_BOUNDARY_ACCESS)
            return snprintf(why, n, "an update of `%s` of %s%s", attr, type, CLASS_WORD[cls]), 3;
        return snprintf(why, n, "an update of `%s`", attr), 2;
    }
    if (action && (!strcmp(action, "update") || !strcmp(action, "delete") || !strcmp(action, "replace"))) {
        const char *what = !strcmp(action, "update") ? "replace" : action;
        snprintf(why, n, "a %s of %s%s", what, type, CLASS_WORD[cls]);
        return cls == MK_BOUNDARY_STATELESS ? 2 : 3;
    }
    return snprintf(why, n, "an action this executor does not know (`%.32s`)", action ? action : "none"), 3;
}

int mk_boundary_floor(json_t *change, json_t *entry)
{
    char why[256];
    return floor_why(change, entry, why, sizeof why);
}

/* The rank the executor holds a change by: the higher of label and floor,
 * 4 for a label that is no risk class (null, a number, another word); an
 * absent label is the format's default, low. why says which decided. */
static int held_rank(json_t *change, json_t *entry, char *why, size_t n)
{
    json_t *label = json_object_get(change, "risk");
    int rank = !label ? 1 : risk_rank(json_string_value(label)), floor = floor_why(change, entry, why, n);
    if (rank == 4)
        snprintf(why, n, "its risk label is not low, medium or high");
    else if (rank > floor)
        snprintf(why, n, "labelled %s by its planner", RISK[rank]);
    return rank > floor ? rank : floor;
}

static json_t *entry_of(const mk_rtstate *state, json_t *change)
{
    const char *a = json_string_value(json_object_get(change, "address"));
    return state && a ? mk_rtstate_get(state, a) : NULL;
}

static bool does_nothing(json_t *change)
{
    const char *a = json_string_value(json_object_get(change, "action"));
    return a && (!strcmp(a, "noop") || !strcmp(a, "read"));
}

/* ---- required gates ---- */

static bool gate_matches(json_t *g, json_t *change, json_t *entry)
{
    char why[256];
    json_t *acts = json_object_get(g, "actions"), *types = json_object_get(g, "types");
    const char *min = json_string_value(json_object_get(g, "min_risk"));
    const char *action = json_string_value(json_object_get(change, "action"));
    if (does_nothing(change) || (acts && !in_list(acts, action)))
        return false;
    if (types && !in_list(types, json_string_value(json_object_get(change, "type"))) &&
        !in_list(types, json_string_value(json_object_get(entry, "type"))))
        return false;
    return !min || held_rank(change, entry, why, sizeof why) >= risk_rank(min);
}

void mk_boundary_add_gates(const mk_trust *t, json_t *plan, const mk_rtstate *state)
{
    json_t *env = t ? mk_trust_environment(t, json_string_value(json_object_get(plan, "env"))) : NULL, *g, *ch;
    json_t *gates = json_object_get(plan, "gates");
    const char *name;
    size_t i;
    if (!json_object_size(json_object_get(env, "gates")))
        return;
    if (!json_is_array(gates))
        json_object_set_new(plan, "gates", gates = json_array());
    json_int_t id = 0; /* after the plan's highest gate id: every gate keeps its own */
    json_array_foreach(gates, i, g)
        if (json_integer_value(json_object_get(g, "id")) > id)
            id = json_integer_value(json_object_get(g, "id"));
    json_object_foreach(json_object_get(env, "gates"), name, g) {
        char policy[80];
        snprintf(policy, sizeof policy, "trust:%s", name);
        json_t *count = json_object_get(g, "count");
        json_array_foreach(json_object_get(plan, "changes"), i, ch) {
            json_t *entry = entry_of(state, ch);
            if (!gate_matches(g, ch, entry))
                continue;
            const char *addr = json_string_value(json_object_get(ch, "address"));
            char msg[400];
            snprintf(msg, sizeof msg, "%s: required by the trust file for environment %s (environments.%s.gates.%s)",
                     addr ? addr : "?", json_string_value(json_object_get(plan, "env")) ?: "\"\"",
                     json_string_value(json_object_get(plan, "env")) ?: "\"\"", name);
            json_array_append_new(gates, json_pack("{s:I, s:s, s:O, s:I, s:s, s:s?, s:O, s:b}", "id", ++id, "policy", policy,
                                                   "group", json_object_get(g, "group"), "count",
                                                   count ? json_integer_value(count) : (json_int_t)1, "message", msg,
                                                   "address", addr, "change", json_object_get(ch, "id"), "required", 1));
        }
    }
}

/* ---- policy packs ---- */

/* A digest of a policy pack: 64 lowercase hex digits. */
static bool pack_digest(json_t *d)
{
    const char *s = json_string_value(d);
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The plan's policy_packs: absent, or [{"name": TEXT, "digest": 64 hex}…]. */
static bool packs_shape(json_t *packs, char *why, size_t whylen)
{
    json_t *p;
    size_t i;
    if (!packs)
        return true;
    if (!json_is_array(packs))
        return snprintf(why, whylen, "the plan's `policy_packs` is not a list of {\"name\", \"digest\"}: the plan was "
                        "altered or made by another moksha; plan again"), false;
    json_array_foreach(packs, i, p)
        if (!json_is_object(p) || json_object_size(p) != 2 || !json_is_string(json_object_get(p, "name")) ||
            !pack_digest(json_object_get(p, "digest")))
            return snprintf(why, whylen, "the plan's `policy_packs[%zu]` is not {\"name\": TEXT, \"digest\": 64 lowercase "
                            "hex}: the plan was altered or made by another moksha; plan again", i), false;
    return true;
}

bool mk_boundary_packs_ok(const mk_trust *t, json_t *plan, char *why, size_t whylen)
{
    const char *env = json_string_value(json_object_get(plan, "env"));
    json_t *want = json_object_get(t ? mk_trust_environment(t, env) : NULL, "policy_packs"), *d, *p;
    size_t i, k, missing = 0, at = 0;
    why[0] = 0;
    if (!packs_shape(json_object_get(plan, "policy_packs"), why, whylen))
        return false;
    json_array_foreach(want, i, d) {
        bool have = false;
        json_array_foreach(json_object_get(plan, "policy_packs"), k, p)
            have |= json_is_string(json_object_get(p, "digest")) &&
                    strcmp(json_string_value(json_object_get(p, "digest")), json_string_value(d)) == 0;
        if (have)
            continue;
        if (!missing++)
            at = (size_t)snprintf(why, whylen, "the plan was not checked against the policy pack%s", "");
        if (at < whylen)
            at += (size_t)snprintf(why + at, whylen - at, "%s %s", missing > 1 ? "," : "", json_string_value(d));
    }
    if (missing && at < whylen)
        snprintf(why + at, whylen - at, " that the trust file requires for %s%s (environments.%s.policy_packs): plan "
                 "again with %s loaded (`import` it, or --policies DIR; `moksha policy digest DIR` prints a "
                 "directory's digest)", env ? "environment " : "plans of no environment", env ? env : "",
                 env ? env : "\"\"", missing == 1 ? "that pack" : "those packs");
    return missing == 0;
}

/* ---- the boundary ---- */

/* Money text ("-12.345") in millionths of a dollar, a positive amount
 * below a millionth rounded up; false when it is none. */
static bool micros(const char *s, long long *out)
{
    bool neg = s && *s == '-', below = false;
    long long whole = 0, frac = 0;
    int k = 0;
    if (!s || !(*(s += neg) >= '0' && *s <= '9'))
        return false;
    for (; *s >= '0' && *s <= '9'; s++)
        if ((whole = whole * 10 + (*s - '0')) > 1000000000000LL)
            return false;
    if (*s == '.' && s[1] >= '0' && s[1] <= '9')
        for (s++; *s >= '0' && *s <= '9'; s++, k++) {
            if (k < 6)
                frac = frac * 10 + (*s - '0');
            else
                below |= *s != '0';
        }
    for (; k < 6; k++)
        frac *= 10;
    if (*s)
        return false;
    *out = neg ? -(whole * 1000000 + frac) : whole * 1000000 + frac + below;
    return true;
}

static void plan_reason(json_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_reason(json_t *r, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(r, "plan"), json_string(text));
}

static void cost_reasons(json_t *b, json_t *plan, json_t *r)
{
    const char *lim = json_string_value(json_object_get(b, "max_cost_increase"));
    json_t *cost = json_object_get(plan, "cost");
    const char *delta = json_string_value(json_object_get(cost, "delta"));
    long long l, d;
    json_int_t unpriced = json_integer_value(json_object_get(cost, "unpriced"));
    if (!lim || !micros(lim, &l))
        return;
    if (!delta || !micros(delta, &d))
        plan_reason(r, "the plan states no cost increase (`cost.delta`) to hold to the boundary's max_cost_increase $%s", lim);
    else if (d > l)
        plan_reason(r, "the plan adds $%s a month, above the boundary's max_cost_increase $%s", delta, lim);
    if (unpriced > 0)
        plan_reason(r, "%lld change%s unpriced, so the plan's cost cannot be held to the boundary's max_cost_increase $%s",
                    (long long)unpriced, unpriced == 1 ? " is" : "s are", lim);
}

static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int hhmm(const char *s) { return s ? ((s[0] - '0') * 10 + s[1] - '0') * 60 + (s[3] - '0') * 10 + s[4] - '0' : -1; }

static void window_reasons(json_t *b, time_t now, json_t *r)
{
    json_t *ws = json_object_get(b, "windows"), *w;
    struct tm tm;
    size_t i, at = 0;
    char list[400] = "";
    if (!ws || !gmtime_r(&now, &tm))
        return;
    int m = tm.tm_hour * 60 + tm.tm_min;
    json_array_foreach(ws, i, w) {
        char days[64];
        if (in_list(json_object_get(w, "days"), DAYS[tm.tm_wday]) && m >= hhmm(json_string_value(json_object_get(w, "from"))) &&
            m < hhmm(json_string_value(json_object_get(w, "to"))))
            return;
        join(json_object_get(w, "days"), days, sizeof days);
        if (at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s %s-%s", i ? "; " : "", days,
                                   json_string_value(json_object_get(w, "from")), json_string_value(json_object_get(w, "to")));
    }
    plan_reason(r, "now (%s %02d:%02d UTC) is outside the boundary's windows (%s, UTC)", DAYS[tm.tm_wday], tm.tm_hour,
                tm.tm_min, list);
}

/* The limits that hold the whole plan: environment, cost, number of
 * changes, time window. */
static void plan_reasons(json_t *b, json_t *plan, time_t now, json_t *r)
{
    json_t *envs = json_object_get(b, "environments"), *ch, *max = json_object_get(b, "max_changes");
    const char *env = json_string_value(json_object_get(plan, "env"));
    char list[400];
    size_t i, n = 0;
    if (envs && !in_list(envs, env ? env : "")) {
        join(envs, list, sizeof list);
        plan_reason(r, "%s%s is not one of the boundary's environments (%s)", env ? "environment " : "a plan of no environment",
                    env ? env : "", list);
    }
    cost_reasons(b, plan, r);
    json_array_foreach(json_object_get(plan, "changes"), i, ch)
        n += !does_nothing(ch);
    if (max && (json_int_t)n > json_integer_value(max))
        plan_reason(r, "the plan has %zu changes, above the boundary's max_changes %lld", n, (long long)json_integer_value(max));
    window_reasons(b, now, r);
}

/* A change's own limits: risk, type, action; NULL when inside them, else
 * the reason (a new string). */
static json_t *change_reason(json_t *b, json_t *ch, json_t *entry)
{
    char why[256], list[400];
    const char *max = json_string_value(json_object_get(b, "max_risk")) ?: "low";
    const char *type = json_string_value(json_object_get(ch, "type")), *etype = json_string_value(json_object_get(entry, "type"));
    const char *action = json_string_value(json_object_get(ch, "action"));
    int rank = held_rank(ch, entry, why, sizeof why);
    if (rank == 4)
        return json_sprintf("%s: an unknown risk is above every max_risk", why);
    if (rank > risk_rank(max))
        return json_sprintf("%s is %s risk, above the boundary's max_risk %s", why, RISK[rank], max);
    if (does_nothing(ch))
        return NULL;
    json_t *types = json_object_get(b, "types"), *acts = json_object_get(b, "actions");
    if (types && (!in_list(types, type) || (etype && !in_list(types, etype)))) {
        join(types, list, sizeof list);
        return json_sprintf("type %s is not one of the boundary's types (%s)", in_list(types, type) ? etype : type ?: "?", list);
    }
    if (acts && !in_list(acts, action)) {
        join(acts, list, sizeof list);
        return json_sprintf("%s %s is not one of the boundary's actions (%s)", action && strchr("aeiou", action[0]) ? "an" : "a",
                            action ?: "change of no action", list);
    }
    return NULL;
}

json_t *mk_boundary_check(const mk_trust *t, const mk_trust_who *who, json_t *plan, const mk_rtstate *state, time_t now)
{
    json_t *r = json_pack("{s:[], s:{}}", "plan", "changes"), *b = t && who ? mk_trust_boundary(t, who->name) : NULL, *ch;
    size_t i;
    plan_reasons(b, plan, now, r);
    json_array_foreach(json_object_get(plan, "changes"), i, ch) {
        json_t *why = change_reason(b, ch, entry_of(state, ch));
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(ch, "id")));
        if (why)
            json_object_set_new(json_object_get(r, "changes"), id, why);
    }
    return r;
}

void mk_boundary_describe(json_t *b, char *out, size_t n)
{
    char list[400];
    size_t at = (size_t)snprintf(out, n, "max_risk %s", json_string_value(json_object_get(b, "max_risk")) ?: "low");
    static const char *const LISTS[] = {"types", "actions", "environments"};
    for (int i = 0; i < 3 && at < n; i++)
        if (json_object_get(b, LISTS[i])) {
            join(json_object_get(b, LISTS[i]), list, sizeof list);
            at += (size_t)snprintf(out + at, n - at, "; %s %s", LISTS[i], list);
        }
    if (at < n && json_object_get(b, "max_cost_increase"))
        at += (size_t)snprintf(out + at, n - at, "; max_cost_increase $%s a month",
                               json_string_value(json_object_get(b, "max_cost_increase")));
    if (at < n && json_object_get(b, "max_changes"))
        at += (size_t)snprintf(out + at, n - at, "; max_changes %lld", (long long)json_integer_value(json_object_get(b, "max_changes")));
    json_t *w;
    size_t i;
    json_array_foreach(json_object_get(b, "windows"), i, w) {
        join(json_object_get(w, "days"), list, sizeof list);
        if (at < n)
            at += (size_t)snprintf(out + at, n - at, "%s %s %s-%s", i ? "," : "; windows (UTC)", list,
                                   json_string_value(json_object_get(w, "from")), json_string_value(json_object_get(w, "to")));
    }
}
