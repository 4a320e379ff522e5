/* approval — see approval.h.
 *
 * note [who counts]: an approval counts only when its Ed25519 signature of
 * type `approval` verifies over its payload's bytes by the key it names,
 * that key is an approver's in the trust file (an automation key never
 * is: the trust file refuses a key in both roles) and is not revoked, it
 * is for the plan's stack and environment, it is in force at the
 * executor's clock (issued at most MK_APPROVAL_SKEW seconds ahead, not
 * expired, its lifetime within the kind's most), no revoke approval taken
 * names its id, and its signer is neither the plan's signer by name nor
 * by key (four eyes). Counting is by approver name: one person signing
 * twice counts once. Whatever is refused is said and audited with the key
 * id and why; nothing refused is ever taken as "no approval needed". */
#include "runtime/approval.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/sha256.h"

#define LIFE_MAX (7 * 86400LL)
#define GLASS_MAX (4 * 3600LL)
#define REASON_MAX 1024

typedef struct taken {
    json_t *doc;          /* the payload parsed (owned) */
    const char *kind, *id;
    char name[65];        /* the approver's name in the trust file */
    char key_id[17];
} taken;

struct mk_approvals {
    const mk_trust *t;
    taken *v;
    size_t n;
};

/* ---- digests ---- */

static json_t *without_sealing(json_t *v)
{
    if (json_is_object(v)) {
        json_t *s = json_object_get(v, "$secret");
        if (s) {
            json_t *fp = json_object_get(s, "fingerprint");
            return json_pack("{s:O}", "$secret", json_is_string(fp) ? fp : json_null());
        }
        json_t *o = json_object(), *x;
        const char *k;
        json_object_foreach(v, k, x)
            json_object_set_new(o, k, without_sealing(x));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x)
            json_array_append_new(a, without_sealing(x));
        return a;
    }
    return json_incref(v);
}

/* SHA-256 hex of head and the compact, key-sorted JSON of v (consumed). */
static bool digest_of(const char *head, json_t *v, char hex[65])
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(v);
    hex[0] = 0;
    if (!text)
        return false;
    const void *parts[2] = {head, text};
    size_t lens[2] = {strlen(head), strlen(text)};
    mk_sha256_hex_parts(2, parts, lens, hex);
    free(text);
    return true;
}

bool mk_approval_change_digest(json_t *change, char hex[65])
{
    hex[0] = 0;
    if (!json_is_object(change) || !json_is_string(json_object_get(change, "address")) ||
        !json_is_string(json_object_get(change, "action")))
        return false;
    static const char *const FIELDS[] = {"address", "action", "type", "before", "after"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        json_t *v = json_object_get(change, FIELDS[i]);
        json_object_set_new(o, FIELDS[i], v ? without_sealing(v) : json_null());
    }
    /* an attribute known only after apply is null in `after` whether the
     * file writes it or leaves it out (note [plan defaults]): out, always */
    json_t *after = json_object_get(o, "after"), *u;
    size_t k;
    json_array_foreach(json_object_get(change, "after_unknown"), k, u)
        if (json_is_object(after) && json_is_string(u))
            json_object_del(after, json_string_value(u));
    return digest_of("moksha-change/v1\n", o, hex);
}

static int violation_cmp(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    const char *aa = json_string_value(json_object_get(a, "address"));
    const char *ba = json_string_value(json_object_get(b, "address"));
    if (!aa != !ba)
        return aa ? 1 : -1; /* null first */
    int d = aa ? strcmp(aa, ba) : 0;
    return d ? d : strcmp(json_string_value(json_object_get(a, "message")), json_string_value(json_object_get(b, "message")));
}

bool mk_approval_violations_digest(json_t *result, char hex[65])
{
    hex[0] = 0;
    json_t *vs = json_object_get(result, "violations"), *v;
    if (vs && !json_is_array(vs))
        return false;
    size_t n = json_array_size(vs), i;
    json_t **list = calloc(n + 1, sizeof *list);
    if (!list)
        return false;
    json_array_foreach(vs, i, v) {
        json_t *addr = json_object_get(v, "address"), *msg = json_object_get(v, "message");
        if (!json_is_string(msg) || (addr && !json_is_null(addr) && !json_is_string(addr))) {
            for (size_t k = 0; k < i; k++)
                json_decref(list[k]);
            free(list);
            return false;
        }
        list[i] = json_pack("{s:O, s:O}", "address", json_is_string(addr) ? addr : json_null(), "message", msg);
    }
    qsort(list, n, sizeof *list, violation_cmp);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, list[i]);
    free(list);
    return digest_of("moksha-violations/v1\n", arr, hex);
}

/* ---- reading one approval ---- */

static bool hex_of(json_t *v, size_t len)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static bool text_ok(json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n > max || n != json_string_length(v))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool exactly(json_t *o, const char *const *names)
{
    size_t n = 0;
    for (; names[n]; n++)
        if (!json_object_get(o, names[n]))
            return false;
    return json_object_size(o) == n;
}

/* The payload's shape by kind (docs/trust.md, "Approval file"); NULL or why. */
static const char *shape(json_t *p)
{
    static const char *const GATE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "gates", NULL};
    static const char *const OVERRIDE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "policy",
                                           "violations", NULL};
    static const char *const WAIVER[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "policy",
                                         "address", NULL};
    static const char *const GLASS[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "plan", NULL};
    static const char *const REVOKE[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "revokes", NULL};
    static const char *const ACK[] = {"kind", "id", "stack_id", "env", "issued", "expires", "reason", "acknowledges", NULL};
    const char *kind = json_string_value(json_object_get(p, "kind"));
    const char *const *f = !kind ? NULL : !strcmp(kind, "gate") ? GATE : !strcmp(kind, "override") ? OVERRIDE
                         : !strcmp(kind, "waiver") ? WAIVER : !strcmp(kind, "break_glass") ? GLASS
                         : !strcmp(kind, "revoke") ? REVOKE : !strcmp(kind, "ack") ? ACK : NULL;
    if (!f)
        return "`kind` is not one of gate, override, waiver, break_glass, revoke and ack";
    if (!exactly(p, f))
        return "its payload's fields are not those of its kind (a field missing or unknown)";
    json_t *env = json_object_get(p, "env");
    if (!hex_of(json_object_get(p, "id"), 32) || !hex_of(json_object_get(p, "stack_id"), 32) ||
        !(json_is_null(env) || text_ok(env, 63)) || !text_ok(json_object_get(p, "reason"), REASON_MAX))
        return "its id, stack_id, env or reason is not of its form";
    if (!strcmp(kind, "gate")) {
        json_t *gs = json_object_get(p, "gates"), *g, *c;
        size_t i, k;
        static const char *const G[] = {"policy", "address", "group", "changes", NULL};
        static const char *const C[] = {"address", "digest", NULL};
        if (!json_is_array(gs) || !json_array_size(gs) || json_array_size(gs) > 4096)
            return "`gates` is not a list of one or more gates";
        json_array_foreach(gs, i, g) {
            json_t *addr = json_object_get(g, "address"), *cs = json_object_get(g, "changes");
            if (!json_is_object(g) || !exactly(g, G) || !text_ok(json_object_get(g, "policy"), 1024) ||
                !(json_is_null(addr) || text_ok(addr, 4096)) || !text_ok(json_object_get(g, "group"), 64) ||
                !json_is_array(cs) || !json_array_size(cs))
                return "a gate is not {policy, address, group, changes}";
            json_array_foreach(cs, k, c)
                if (!json_is_object(c) || !exactly(c, C) || !text_ok(json_object_get(c, "address"), 4096) ||
                    !hex_of(json_object_get(c, "digest"), 64))
                    return "a gate's change is not {address, digest}";
        }
    } else if (!strcmp(kind, "override")) {
        if (!text_ok(json_object_get(p, "policy"), 1024) || !hex_of(json_object_get(p, "violations"), 64))
            return "`policy` or `violations` is not of its form";
    } else if (!strcmp(kind, "waiver")) {
        if (!text_ok(json_object_get(p, "policy"), 1024) || !text_ok(json_object_get(p, "address"), 4096))
            return "`policy` or `address` is not of its form";
    } else if (!strcmp(kind, "break_glass")) {
        if (!hex_of(json_object_get(p, "plan"), 64))
            return "`plan` is not 64 hex digits";
    } else if (!strcmp(kind, "revoke")) {
        if (!hex_of(json_object_get(p, "revokes"), 32))
            return "`revokes` is not 32 hex digits";
    } else if (!hex_of(json_object_get(p, "acknowledges"), 64))
        return "`acknowledges` is not 64 hex digits";
    return NULL;
}

static void refused(json_t *events, const char *what, const char *id, const char *key_id, const char *why)
{
    fprintf(stderr, "moksha-exec: approval %s refused: %s\n", what, why);
    json_array_append_new(events, json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "event", "approval.refused", "id", id,
                                            "key_id", key_id, "source", what, "reason", why));
}

/* One envelope's text (what: where it came from) checked and, when it
 * counts, appended to a (note [who counts]). */
static void take(mk_approvals *a, const char *text, size_t n, const char *what, const char *stack_id, const char *env,
                 time_t now, json_t *events)
{
    json_error_t je;
    char why[512];
    json_t *doc = n <= MK_APPROVAL_MAX ? json_loadb(text, n, JSON_REJECT_DUPLICATES, &je) : NULL, *p = NULL;
    json_t *sig = json_object_get(doc, "signature");
    static const char *const ENV[] = {"format", "payload", "signature", NULL};
    static const char *const SIG[] = {"algorithm", "type", "key", "key_id", "value", NULL};
    const char *payload = json_string_value(json_object_get(doc, "payload"));
    const char *key = json_string_value(json_object_get(sig, "key"));
    const char *key_id = json_string_value(json_object_get(sig, "key_id"));
    uint8_t raw[32];
    char id[17] = "";
    if (!doc) {
        snprintf(why, sizeof why, n > MK_APPROVAL_MAX ? "larger than 64 KiB" : "not JSON (%.200s, line %d)", je.text, je.line);
        goto bad;
    }
    if (!json_is_object(doc) || !exactly(doc, ENV) ||
        strcmp(json_string_value(json_object_get(doc, "format")) ?: "", MK_APPROVAL_FORMAT) != 0 || !payload ||
        !json_is_object(sig) || !exactly(sig, SIG) ||
        strcmp(json_string_value(json_object_get(sig, "algorithm")) ?: "", "Ed25519") != 0 ||
        strcmp(json_string_value(json_object_get(sig, "type")) ?: "", "approval") != 0) {
        snprintf(why, sizeof why, "not a %s envelope of exactly format, payload and signature {algorithm Ed25519, "
                 "type approval, key, key_id, value}", MK_APPROVAL_FORMAT);
        goto bad;
    }
    if (!key || !mk_trust_key_parse(key, raw)) {
        snprintf(why, sizeof why, "its signature's key is not an Ed25519 public key");
        goto bad;
    }
    mk_trust_key_id(raw, id);
    if (!key_id || strcmp(key_id, id) != 0 ||
        !mk_trust_verify("approval", payload, json_string_length(json_object_get(doc, "payload")), raw,
                         json_string_value(json_object_get(sig, "value")) ?: "")) {
        snprintf(why, sizeof why, "its signature does not verify (altered after it was signed, or signed by another key)");
        goto bad;
    }
    p = json_loadb(payload, json_string_length(json_object_get(doc, "payload")), JSON_REJECT_DUPLICATES, &je);
    const char *bad_shape = p ? shape(p) : "its payload is not JSON";
    if (bad_shape) {
        snprintf(why, sizeof why, "%s", bad_shape);
        goto bad;
    }
    mk_trust_who who;
    mk_trust_lookup(a->t, raw, &who);
    const char *name = mk_trust_approver_name(a->t, raw);
    if (who.roles & MK_TRUST_AUTOMATION) {
        snprintf(why, sizeof why, "key %s is automation `%s`'s key: an automation identity never approves", id, who.name);
        goto bad;
    }
    if (!name) {
        snprintf(why, sizeof why, "key %s is no approver's in the trust file %s (version %lld)", id, mk_trust_path(a->t),
                 mk_trust_version(a->t));
        goto bad;
    }
    if (mk_trust_revokes(a->t, raw)) {
        snprintf(why, sizeof why, "key %s (approver `%s`) is revoked by the trust file", id, name);
        goto bad;
    }
    const char *sid = json_string_value(json_object_get(p, "stack_id"));
    const char *penv = json_string_value(json_object_get(p, "env"));
    if (!stack_id || strcmp(sid, stack_id) != 0 || (!penv != !env) || (penv && strcmp(penv, env) != 0)) {
        snprintf(why, sizeof why, "it is for stack %s%s%s, not this plan's (%s%s%s)", sid, penv ? ", environment " : "",
                 penv ? penv : "", stack_id ? stack_id : "no stack id", env ? ", environment " : "", env ? env : "");
        goto bad;
    }
    time_t issued, expires;
    const char *kind = json_string_value(json_object_get(p, "kind"));
    long long most = !strcmp(kind, "break_glass") ? GLASS_MAX : LIFE_MAX;
    if (!mk_trust_time(json_string_value(json_object_get(p, "issued")), &issued) ||
        !mk_trust_time(json_string_value(json_object_get(p, "expires")), &expires) || expires <= issued ||
        (long long)(expires - issued) > most) {
        snprintf(why, sizeof why, "its issued and expires are not UTC times a lifetime of at most %s apart",
                 most == GLASS_MAX ? "4 hours" : "7 days");
        goto bad;
    }
    if (issued > now + MK_APPROVAL_SKEW) {
        snprintf(why, sizeof why, "it was issued at %s, more than %d s after this executor's clock",
                 json_string_value(json_object_get(p, "issued")), MK_APPROVAL_SKEW);
        goto bad;
    }
    if (expires <= now) {
        snprintf(why, sizeof why, "it expired at %s", json_string_value(json_object_get(p, "expires")));
        goto bad;
    }
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].id, json_string_value(json_object_get(p, "id"))) == 0) { /* the same approval twice: once */
            json_decref(p);
            json_decref(doc);
            return;
        }
    taken *nv = realloc(a->v, (a->n + 1) * sizeof *a->v);
    if (!nv) {
        snprintf(why, sizeof why, "out of memory");
        goto bad;
    }
    a->v = nv;
    taken *tk = &a->v[a->n++];
    memset(tk, 0, sizeof *tk);
    tk->doc = p;
    tk->kind = kind;
    tk->id = json_string_value(json_object_get(p, "id"));
    snprintf(tk->name, sizeof tk->name, "%s", name);
    memcpy(tk->key_id, id, sizeof tk->key_id);
    json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "event", "approval.accepted", "id", tk->id,
                                            "kind", kind, "by", tk->name, "key_id", tk->key_id, "source", what,
                                            "expires", json_object_get(p, "expires")));
    json_decref(doc);
    return;
bad:
    refused(events, what, p ? json_string_value(json_object_get(p, "id")) : NULL, id[0] ? id : NULL, why);
    json_decref(p);
    json_decref(doc);
}

static char *read_file(const char *path, size_t *n, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MK_APPROVAL_MAX) {
        snprintf(why, whylen, fd < 0 ? "cannot read it: %s" : "not a regular file of at most 64 KiB",
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
        free(buf);
        snprintf(why, whylen, "cannot read it whole");
        return NULL;
    }
    *n = (size_t)got;
    return buf;
}

/* A revoke counts when by the revoked approval's signer or a member of a
 * group it approved for; what it revokes is dropped. */
static void revocations(mk_approvals *a, json_t *events)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].kind, "revoke") != 0)
            continue;
        const char *target = json_string_value(json_object_get(a->v[i].doc, "revokes"));
        for (size_t k = 0; k < a->n; k++) {
            if (k == i || strcmp(a->v[k].id, target) != 0)
                continue;
            bool may = strcmp(a->v[k].name, a->v[i].name) == 0;
            size_t g;
            json_t *gate;
            json_array_foreach(json_object_get(a->v[k].doc, "gates"), g, gate)
                may |= mk_trust_in_group(a->t, json_string_value(json_object_get(gate, "group")), a->v[i].name);
            if (!may) {
                refused(events, "revoke", a->v[i].id, a->v[i].key_id, "only the approval's signer or a member of a group it approved for revokes it");
                continue;
            }
            json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s}", "event", "approval.revoked", "id", target,
                                                    "by", a->v[i].name, "key_id", a->v[i].key_id));
            a->v[k].kind = "revoked";
        }
    }
}

void mk_approval_store_path(const char *store, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.json", store, id);
}

/* The stack's kept approvals (STORE/ID.json, by moksha-exec approval add):
 * each checked again now, as one given. */
static void take_store(mk_approvals *a, const char *store, const char *stack_id, const char *env, time_t now,
                       json_t *events)
{
    DIR *d = store ? opendir(store) : NULL;
    struct dirent *e;
    char why[512], path[4200];
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) != 37 || strcmp(e->d_name + 32, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", store, e->d_name);
        size_t n;
        char *text = read_file(path, &n, why, sizeof why);
        if (!text)
            refused(events, path, NULL, NULL, why);
        else
            take(a, text, n, path, stack_id, env, now, events);
        free(text);
    }
    if (d)
        closedir(d);
}

json_t *mk_approval_check(const mk_trust *t, const char *text, size_t n, const char *stack_id, const char *env,
                          time_t now, char name[65], char key_id[17], char *why, size_t whylen)
{
    mk_approvals a = {.t = t};
    json_t *events = json_array(), *p = NULL;
    take(&a, text, n, "the approval", stack_id, env, now, events);
    if (a.n == 1) {
        p = json_incref(a.v[0].doc);
        snprintf(name, 65, "%s", a.v[0].name);
        memcpy(key_id, a.v[0].key_id, 17);
    } else {
        json_t *last = json_array_get(events, json_array_size(events) - 1);
        snprintf(why, whylen, "%s", json_string_value(json_object_get(last, "reason")) ?: "not taken");
        const char *kid = json_string_value(json_object_get(last, "key_id"));
        snprintf(key_id, 17, "%s", kid ? kid : "");
    }
    for (size_t i = 0; i < a.n; i++)
        json_decref(a.v[i].doc);
    free(a.v);
    json_decref(events);
    return p;
}

json_t *mk_approval_list(const mk_approvals *a)
{
    json_t *out = json_array();
    for (size_t i = 0; a && i < a->n; i++) {
        const taken *tk = &a->v[i];
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:b}", "id", tk->id, "kind",
                                             strcmp(tk->kind, "revoked") ? tk->kind : json_string_value(json_object_get(tk->doc, "kind")),
                                             "by", tk->name, "key_id", tk->key_id, "expires", json_object_get(tk->doc, "expires"),
                                             "reason", json_object_get(tk->doc, "reason"), "revoked", !strcmp(tk->kind, "revoked")));
    }
    return out;
}

mk_approvals *mk_approval_load(const mk_trust *t, const char *stack_id, const char *env, const char *store,
                               const char *const *files, size_t nfiles, json_t *texts, json_t *waivers, time_t now,
                               json_t *events)
{
    mk_approvals *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->t = t;
    char why[512];
    take_store(a, store, stack_id, env, now, events);
    for (size_t i = 0; i < nfiles; i++) {
        size_t n;
        char *text = read_file(files[i], &n, why, sizeof why);
        if (!text)
            refused(events, files[i], NULL, NULL, why);
        else
            take(a, text, n, files[i], stack_id, env, now, events);
        free(text);
    }
    size_t i;
    json_t *v;
    json_array_foreach(texts, i, v) {
        char what[48];
        snprintf(what, sizeof what, "sent with the apply (#%zu)", i + 1);
        if (!json_is_string(v))
            refused(events, what, NULL, NULL, "not a text");
        else
            take(a, json_string_value(v), json_string_length(v), what, stack_id, env, now, events);
    }
    json_array_foreach(waivers, i, v) { /* the plan's `waivers`: envelopes as objects */
        char what[48];
        snprintf(what, sizeof what, "the plan's waivers[%zu]", i);
        char *text = json_dumps(v, JSON_COMPACT);
        if (!text)
            refused(events, what, NULL, NULL, "not an envelope");
        else
            take(a, text, strlen(text), what, stack_id, env, now, events);
        free(text);
    }
    revocations(a, events);
    return a;
}

void mk_approval_free(mk_approvals *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        json_decref(a->v[i].doc);
    free(a->v);
    free(a);
}

size_t mk_approval_count(const mk_approvals *a) { return a ? a->n : 0; }

/* ---- what the approvals open ---- */

static bool is_signer(const taken *tk, const char *name, const char *key_id)
{
    return (name && *name && strcmp(tk->name, name) == 0) || (key_id && strcmp(tk->key_id, key_id) == 0);
}

/* Add tk to by unless its approver is there already; the number in by. */
static size_t count_in(json_t *by, const taken *tk)
{
    size_t i;
    json_t *x;
    json_array_foreach(by, i, x)
        if (strcmp(json_string_value(json_object_get(x, "name")), tk->name) == 0)
            return json_array_size(by);
    json_array_append_new(by, json_pack("{s:s, s:s, s:s}", "name", tk->name, "key_id", tk->key_id, "id", tk->id));
    return json_array_size(by);
}

static void names_of(json_t *by, char *out, size_t n)
{
    size_t i, len = 0;
    json_t *x;
    out[0] = 0;
    json_array_foreach(by, i, x)
        len += (size_t)snprintf(out + (len < n ? len : n), len < n ? n - len : 0, "%s%s", i ? ", " : "",
                                json_string_value(json_object_get(x, "name")));
}

/* "address\0digest" of each change the gate stands in front of, sorted. */
static json_t *gate_changes(json_t *gate, json_t *changes)
{
    json_t *set = json_object(), *ch;
    size_t i;
    json_t *want = json_object_get(gate, "change");
    json_array_foreach(changes, i, ch) {
        if (json_is_integer(want) && json_integer_value(json_object_get(ch, "id")) != json_integer_value(want))
            continue;
        char hex[65], key[4200];
        if (!mk_approval_change_digest(ch, hex))
            continue;
        snprintf(key, sizeof key, "%s %s", json_string_value(json_object_get(ch, "address")), hex);
        json_object_set_new(set, key, json_true());
    }
    return set;
}

static bool same_changes(json_t *want, json_t *listed)
{
    size_t i;
    json_t *c;
    json_t *got = json_object();
    json_array_foreach(listed, i, c) {
        char key[4200];
        snprintf(key, sizeof key, "%s %s", json_string_value(json_object_get(c, "address")),
                 json_string_value(json_object_get(c, "digest")));
        json_object_set_new(got, key, json_true());
    }
    bool same = json_object_size(got) == json_object_size(want) && json_object_size(want) > 0;
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
        same = same && json_object_get(got, k) != NULL;
    json_decref(got);
    return same;
}

static bool str_eq(json_t *a, json_t *b)
{
    return (json_is_null(a) || !a) ? (json_is_null(b) || !b) : json_is_string(b) && strcmp(json_string_value(a), json_string_value(b)) == 0;
}

bool mk_approval_gate(const mk_approvals *a, json_t *gate, json_t *changes, const char *signer_name,
                      const char *signer_key_id, json_t **by, char *why, size_t whylen)
{
    json_t *cnt = json_object_get(gate, "count");
    json_int_t need = cnt ? json_integer_value(cnt) : 1;
    const char *group = json_string_value(json_object_get(gate, "group"));
    *by = json_array();
    if (cnt && (!json_is_integer(cnt) || need < 1 || need > 16)) {
        snprintf(why, whylen, "the gate's count is not a whole number from 1 to 16");
        return false;
    }
    json_t *want = gate_changes(gate, changes);
    size_t own = 0, outside = 0, other = 0;
    for (size_t i = 0; a && i < a->n; i++) {
        const taken *tk = &a->v[i];
        if (strcmp(tk->kind, "gate") != 0)
            continue;
        size_t k;
        json_t *e;
        bool match = false;
        json_array_foreach(json_object_get(tk->doc, "gates"), k, e)
            if (str_eq(json_object_get(e, "policy"), json_object_get(gate, "policy")) &&
                str_eq(json_object_get(e, "address"), json_object_get(gate, "address")) &&
                str_eq(json_object_get(e, "group"), json_object_get(gate, "group"))) {
                if (same_changes(want, json_object_get(e, "changes")))
                    match = true;
                else
                    other++;
            }
        if (!match)
            continue;
        if (is_signer(tk, signer_name, signer_key_id))
            own++;
        else if (!mk_trust_in_group(a->t, group, tk->name))
            outside++;
        else
            count_in(*by, tk);
    }
    json_decref(want);
    if ((json_int_t)json_array_size(*by) >= need)
        return true;
    char names[256];
    names_of(*by, names, sizeof names);
    snprintf(why, whylen, "%zu of %lld distinct approval%s by `%s`%s%s%s%s%s%s", json_array_size(*by), (long long)need,
             need == 1 ? "" : "s", group ? group : "?", json_array_size(*by) ? " (" : "", names,
             json_array_size(*by) ? ")" : "", own ? "; the plan's signer's own approval does not count" : "",
             outside ? "; an approval by someone outside the group does not count" : "",
             other ? "; an approval of this gate for another change does not count" : "");
    return false;
}

/* Any approval of kind with a predicate, by a member of group, not the signer. */
static bool one_by(const mk_approvals *a, const char *kind, bool (*fits)(json_t *, const void *), const void *ud,
                   const char *group, const char *signer_name, const char *signer_key_id, json_t **by, char *why,
                   size_t whylen, const char *what)
{
    *by = json_array();
    bool own = false, outside = false;
    for (size_t i = 0; a && i < a->n; i++) {
        const taken *tk = &a->v[i];
        if (strcmp(tk->kind, kind) != 0 || !fits(tk->doc, ud))
            continue;
        if (is_signer(tk, signer_name, signer_key_id))
            own = true;
        else if (!group || !mk_trust_in_group(a->t, group, tk->name))
            outside = true;
        else {
            count_in(*by, tk);
            return true;
        }
    }
    snprintf(why, whylen, "%s needs a signed approval by a member of `%s`%s%s", what, group ? group : "(no group: the "
             "policy names none in override_by)", own ? "; the plan's signer's own does not count" : "",
             outside ? "; one by someone outside the group does not count" : "");
    return false;
}

typedef struct fit_override {
    const char *policy;
    char digest[65];
} fit_override;

static bool fits_override(json_t *doc, const void *ud)
{
    const fit_override *f = ud;
    return strcmp(json_string_value(json_object_get(doc, "policy")), f->policy) == 0 &&
           strcmp(json_string_value(json_object_get(doc, "violations")), f->digest) == 0;
}

bool mk_approval_override(const mk_approvals *a, json_t *result, const char *signer_name, const char *signer_key_id,
                          json_t **by, char *why, size_t whylen)
{
    fit_override f = {json_string_value(json_object_get(result, "name")) ?: "", ""};
    char what[1200];
    snprintf(what, sizeof what, "overriding policy `%s`", f.policy);
    if (!mk_approval_violations_digest(result, f.digest)) {
        *by = json_array();
        snprintf(why, whylen, "%s: its violations are not of their form", what);
        return false;
    }
    return one_by(a, "override", fits_override, &f, json_string_value(json_object_get(result, "override_by")), signer_name,
                  signer_key_id, by, why, whylen, what);
}

typedef struct fit_waiver {
    const char *policy, *address, *id;
} fit_waiver;

static bool fits_waiver(json_t *doc, const void *ud)
{
    const fit_waiver *f = ud;
    return strcmp(json_string_value(json_object_get(doc, "policy")), f->policy) == 0 &&
           strcmp(json_string_value(json_object_get(doc, "address")), f->address) == 0 &&
           strcmp(json_string_value(json_object_get(doc, "id")), f->id) == 0;
}

bool mk_approval_waiver(const mk_approvals *a, json_t *result, json_t *waived, const char *signer_name,
                        const char *signer_key_id, json_t **by, char *why, size_t whylen)
{
    fit_waiver f = {json_string_value(json_object_get(result, "name")) ?: "",
                    json_string_value(json_object_get(waived, "address")) ?: "",
                    json_string_value(json_object_get(waived, "waiver")) ?: ""};
    char what[1200];
    snprintf(what, sizeof what, "the waiver %.32s of policy `%s` at %s", f.id, f.policy, f.address);
    return one_by(a, "waiver", fits_waiver, &f, json_string_value(json_object_get(result, "override_by")), signer_name,
                  signer_key_id, by, why, whylen, what);
}

bool mk_approval_break_glass(const mk_approvals *a, const char *plan_digest, const char *signer_name,
                             const char *signer_key_id, json_t **by, char *why, size_t whylen)
{
    json_t *bg = a ? mk_trust_break_glass(a->t) : NULL;
    const char *group = json_string_value(json_object_get(bg, "group"));
    json_int_t need = json_is_integer(json_object_get(bg, "count")) ? json_integer_value(json_object_get(bg, "count")) : 2;
    *by = json_array();
    bool any = false;
    for (size_t i = 0; a && i < a->n; i++)
        any |= strcmp(a->v[i].kind, "break_glass") == 0;
    why[0] = 0;
    if (!group) {
        if (any)
            snprintf(why, whylen, "the trust file names no break_glass group: a break-glass approval opens nothing");
        return false;
    }
    if (need < 2)
        need = 2;
    any = false;
    for (size_t i = 0; i < a->n; i++) {
        const taken *tk = &a->v[i];
        if (strcmp(tk->kind, "break_glass") != 0 ||
            strcmp(json_string_value(json_object_get(tk->doc, "plan")), plan_digest ? plan_digest : "") != 0)
            continue;
        any = true;
        if (!is_signer(tk, signer_name, signer_key_id) && mk_trust_in_group(a->t, group, tk->name))
            count_in(*by, tk);
    }
    if ((json_int_t)json_array_size(*by) >= need)
        return true;
    if (any) {
        char names[256];
        names_of(*by, names, sizeof names);
        snprintf(why, whylen, "break glass needs %lld distinct members of `%s` for this plan, has %zu%s%s%s", (long long)need,
                 group, json_array_size(*by), json_array_size(*by) ? " (" : "", names, json_array_size(*by) ? ")" : "");
    } else
        why[0] = 0;
    return false;
}
