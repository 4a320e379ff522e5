/* exec — the executor proper. The plan's changes become steps on the
 * scheduler (runtime/sched.c); each step calls one provider, records its
 * result into the in-memory state and the audit chain, and is persisted by
 * the scheduler's group commit before anything that depends on it starts.
 *
 * note [crash recovery]: what a step did is on disk (state + audit) before
 * its dependents start, so a crash loses at most the steps in flight. For
 * those, every provider operation is idempotent and keyed by address: the
 * sim's objects are files named after their address, a create that finds
 * its address adopts the object (keeping its id), local files are
 * overwritten, and deleting what is gone succeeds. The next plan still sees
 * the lost step's change (state never recorded it) and applying it
 * reconciles the world; nothing is created twice and nothing is orphaned as
 * long as the resource stays in the stack.
 *
 * note [rollback]: on the first failure nothing new starts, running steps
 * finish and are persisted, then the completed steps are undone in
 * parallel, in the reverse of the dependency order (note [parallel
 * rollback]), each durably (note [durable undo]): create → delete, update
 * → update back to `before`, delete → re-create from `before` (when the
 * provider can), replace → delete the new and re-create the old. Each undo
 * restores the state entry exactly as it was and is audited.
 *
 * note [adopted]: a create that finds an object at its address takes it over
 * (crash recovery, above); that object was there before this apply — made
 * by a run that died, or forgotten by `state rm` and still holding its data
 * — so its create is not undone by deleting it (which, for a database with
 * deletion_protection, would even switch the protection off first). The
 * undo fails instead, naming why: exit 5, and the state keeps the object.
 *
 * note [create_before_destroy]: a replace whose lifecycle asks for it is two
 * nodes. The replace node creates the replacement while the old object lives
 * on, set aside; the state entry records the new object with the old one
 * under "deposed". A retire node, which waits for the replace and for every
 * change that depends on it (so they move to the new object first), deletes
 * the deposed object and drops it from the entry. A deposed object left by an
 * apply that died in between comes back in the next plan as a delete with
 * "deposed": ID (after the changes that refer to the resource), run as a
 * retire. Entries are made when a step is recorded, from the state as it is
 * then: a deposed object stays listed whatever else changes at its address
 * until its retire drops it. Undo: retire → make the old object again,
 * still set aside; replace → delete the replacement and take the old back. */
#include "runtime/exec.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/approval.h"
#include "runtime/boundary.h"
#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exitcode.h"
#include "runtime/keyring.h"
#include "runtime/notify.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/provcall.h"
#include "runtime/providers/provider.h"
#include "runtime/rand.h"
#include "runtime/refresh.h"
#include "runtime/rtstate.h"
#include "runtime/sched.h"
#include "runtime/session.h"
#include "runtime/trust.h"

static volatile sig_atomic_t interrupts, last_sender, last_tick;

/* note [one interrupt]: Ctrl-C on a terminal reaches this process directly
 * and, forwarded, through `moksha apply` (compiler/cli/spawn.c, note
 * [signal forwarding]); systemd signals every process of a unit and the
 * parent forwards too. One event then arrives twice, from two senders,
 * within a moment: the second copy is not a second interrupt (which would
 * stop the rollback). The same sender again, or anyone a second later, is. */
static void on_sigint(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int tick = (int)((ts.tv_sec % 100000000) * 10 + ts.tv_nsec / 100000000); /* tenths of a second */
    int sender = si ? (int)si->si_pid : 0;
    if (interrupts > 0 && sender != last_sender && tick - last_tick < 10)
        return;
    last_sender = sender;
    last_tick = tick;
    interrupts++;
}

typedef struct step step;
struct step {
    json_t *change;           /* borrowed from the plan */
    const char *address, *action, *type;
    json_int_t id;
    mk_prov *prov;
    const char *alias;        /* the provider block serving it */
    char cloud[16], region[64];
    bool placed;              /* the change or its entry has a placement (place) */
    json_t *orig;             /* the state entry before the step (copy), or NULL */
    json_t *entry;            /* the state entry after success (owned until recorded) */
    json_t *after;            /* the plan's `after` with its templates filled in (owned) */
    json_t *entry_text;       /* the entry's text in the state file (owned until recorded) */
    char *event;              /* the step's audit fields, as JSON text (owned until recorded) */
    json_t *deferred;         /* attributes left unknown (see ctx.deferred), until recorded */
    bool half;                /* replace: the old object is gone, the new one is not made */
    bool cbd;                 /* a replace with create_before_destroy (note [create_before_destroy]) */
    bool retire;              /* deletes a deposed object: its id is retire_id */
    const char *retire_id;
    step *of;                 /* a retire made for a cbd replace: that step, else NULL (from the plan) */
    char retire_buf[40];
    char alias_buf[128];
    json_t *set_aside;        /* a cbd replace: the old object's deposed record (owned) */
    char err[512];
    int attempts;             /* of the step's own provider calls (not its guard's reads) */
    int calls;                /* those calls: more attempts than calls is a retry */
    double ms;
    /* rollback (note [durable undo]) */
    json_t *now;              /* the entry the undo starts from (copy), taken with its intent */
    const char *what;         /* the undo: "delete", "update back", … */
    bool partial;             /* a two-call undo failed after its first call (the object is gone) */
    bool adopted;             /* create: the provider took over an object already there */
    /* note [guarded steps] */
    const char *read_at;      /* the address its object is read at before the step, or NULL: not read */
    bool preflight;           /* read before the first step too (an import only when the plan had a `before`) */
    const char *moved_from;   /* move, or an update/replace of a moved resource: the address it had */
    const char *import_id;    /* import: the object's provider id */
    bool gone;                /* the plan's drift says the object is gone */
    bool moved;               /* the provider's move was made (its undo moves it back) */
    bool reset;               /* import: the update that made it match the spec was made */
    json_t *seen;             /* the object as last read, or NULL (owned) */
    json_t *diff;             /* the attributes that differ from `before`, when it moved (owned) */
};

typedef struct provs {
    const char *alias[32];
    mk_prov *p[32];
    size_t n;
} provs;

typedef struct ctx {
    const mk_exec_opts *o;
    json_t *plan;
    mk_config cfg;            /* the executor's own configuration (runtime/config.h) */
    mk_trust *trust;          /* trust mode: the trust file accepted (runtime/trust.h), else NULL */
    mk_trust_who who;         /* trust mode: who signed the plan */
    int refuse_rc;            /* load_plan refused the plan by the trust file's rules: its exit code */
    mk_approvals *apv;        /* trust mode: the signed approvals this apply may use (runtime/approval.c) */
    bool glass;               /* trust mode: broken glass — every gate open, no boundary holds */
    const char *plan_path;    /* as given: named in the messages that say how to approve */
    mk_session sess;          /* the lock, the state, the key and the audit log (runtime/session.h) */
    step *steps;
    size_t n;
    provs pv;
    bool io_failed;
    atomic_bool lock_lost;    /* note [lock lost]: the backend let the lock go from under this run */
    double t0;
    bool tty;
    size_t nfailed;
    json_t *deferred;         /* "address: attr" whose values were unknown and not computed */
    json_t *counts;           /* action → done */
    json_t *keep_deposed;     /* ids of cbd replaces not retired now: a dependent is held (note [gates]) */
    const char *stack_id;     /* the plan's state.stack_id: who makes what (docs/drift.md "Who made it") */
    const char *unbound;      /* the step whose provider could not be made (build), or NULL */
    char run_id[37];          /* the apply's lock id */
} ctx;

/* ---- providers and placement ---- */

static mk_prov *provider_for(ctx *c, const char *alias, char *why, size_t whylen)
{
    for (size_t i = 0; i < c->pv.n; i++)
        if (strcmp(c->pv.alias[i], alias) == 0)
            return c->pv.p[i];
    mk_prov *p = mk_provcall_provider(json_object_get(json_object_get(c->plan, "providers"), alias), alias, &c->cfg, why,
                                      whylen);
    if (p && c->pv.n < 32) {
        c->pv.alias[c->pv.n] = alias;
        c->pv.p[c->pv.n++] = p;
    }
    return p;
}

/* The provider block serving a cloud: the first sim block listing it. */
static const char *alias_for_cloud(ctx *c, const char *cloud)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c->plan, "providers"), k, v) {
        if (strcmp(json_string_value(json_object_get(v, "type")) ?: "", "sim") != 0)
            continue;
        json_t *clouds = json_object_get(json_object_get(v, "settings"), "clouds");
        if (!json_is_array(clouds))
            return k;
        size_t i;
        json_t *cl;
        json_array_foreach(clouds, i, cl)
            if (strcmp(json_string_value(cl) ?: "", cloud) == 0)
                return k;
    }
    return NULL;
}

/* Sticky placement from state, else the change's first provider and region. */
static void place(step *s)
{
    json_t *pl = json_object_get(s->orig, "placement");
    if (!json_is_object(pl))
        pl = json_object_get(s->change, "placement");
    const char *cloud = json_string_value(json_object_get(pl, "cloud"));
    const char *region = json_string_value(json_object_get(pl, "region"));
    if (!cloud)
        cloud = json_string_value(json_array_get(json_object_get(pl, "providers"), 0));
    if (!region)
        region = json_string_value(json_array_get(json_object_get(pl, "regions"), 0));
    snprintf(s->cloud, sizeof s->cloud, "%s", cloud ?: "aws");
    snprintf(s->region, sizeof s->region, "%s", region ?: "us-east-1");
    s->placed = json_is_object(pl);
}

/* Is the step's object on a cloud (recorded and shown with its cloud and
 * region)? The sim's always are; a local file is not, nor an object of a
 * server the plan placed nowhere (a postgres role: the connection says
 * where it is). */
static bool on_cloud(const step *s)
{
    return strcmp(s->prov->kind, "local") != 0 && (s->placed || strcmp(s->prov->kind, "sim") == 0);
}

static bool bind_step(ctx *c, step *s, char *why, size_t whylen)
{
    const char *alias = json_string_value(json_object_get(s->change, "provider"));
    place(s);
    if (!alias) {
        alias = json_string_value(json_object_get(s->orig, "provider"));
        if (!alias || !json_object_get(json_object_get(c->plan, "providers"), alias))
            alias = alias_for_cloud(c, s->cloud);
        if (!alias) {
            snprintf(why, whylen, "%s: no provider serves cloud %s (add `provider sim { }` to the stack)", s->address, s->cloud);
            c->unbound = s->address;
            return false;
        }
    }
    snprintf(s->alias_buf, sizeof s->alias_buf, "%s", alias); /* s->orig, where it may come from, is replaced later */
    s->alias = s->alias_buf;
    s->prov = provider_for(c, s->alias, why, whylen);
    if (!s->prov)
        c->unbound = s->address;
    return s->prov != NULL;
}

/* ---- steps ---- */

static json_t *placement_json(const step *s)
{
    if (!on_cloud(s))
        return json_null();
    return json_pack("{s:s, s:s}", "cloud", s->cloud, "region", s->region);
}

/* A `$template` part's value: an attribute of a resource this step depends
 * on, which finished (and was recorded) before this step started. */
static json_t *template_ref(ctx *c, json_t *part)
{
    const char *addr = json_string_value(json_object_get(part, "$ref"));
    const char *attr = json_string_value(json_object_get(part, "attr"));
    for (size_t i = 0; addr && attr && i < c->n; i++)
        if (!c->steps[i].retire && strcmp(c->steps[i].address, addr) == 0) /* only a finished dependency's entry is read */
            return c->steps[i].entry ? json_object_get(json_object_get(c->steps[i].entry, "attributes"), attr) : NULL;
    json_t *e = addr && attr ? mk_rtstate_get(c->sess.st, addr) : NULL;
    return e ? json_object_get(json_object_get(e, "attributes"), attr) : NULL;
}

static bool is_secret(json_t *v) { return json_is_object(v) && json_object_get(v, "$secret"); }

/* note [secret places]: a secret opens only where it was sealed for (note
 * [sealing] in keyring.c): the step's address and the attribute's path
 * from the top of `after` (keys, and indexes of lists), a template's text
 * part with its index in the template added; a reference's value is its
 * own resource's attribute. In trust mode every secret of the plan is
 * opened once before any step (secrets_open), so none fails half way. */
typedef struct at {
    const struct at *up; /* NULL at the top of `after` */
    const char *key;     /* an object's member, or NULL: */
    size_t index;        /* a list's or a template's element */
} at;

/* The path as sealing binds it, a JSON array (made only where a secret is:
 * walking `after` allocates nothing for a value without one). */
static json_t *at_json(const at *a)
{
    json_t *p = a && a->up ? at_json(a->up) : json_array();
    if (a && p)
        json_array_append_new(p, a->key ? json_string(a->key) : json_integer((json_int_t)a->index));
    return p;
}

/* A template part's text: a string, a known reference's string or integer,
 * or a sealed secret opened (*opened: the caller wipes and frees it). */
static const char *part_text(ctx *c, const step *s, json_t *p, const at *part, char num[64], size_t *n, char **opened)
{
    json_t *v = json_is_string(p) || is_secret(p) ? p : template_ref(c, p);
    if (is_secret(v)) { /* note [secret templates] in compiler/front/vjson.c */
        char why[1024];
        bool own = v == p;
        json_t *where = own ? at_json(part) : json_pack("[O]", json_object_get(p, "attr"));
        const char *addr = own ? s->address : json_string_value(json_object_get(p, "$ref"));
        *opened = mk_keyring_open_secret(&c->sess.ring, v, addr, where, why, sizeof why);
        json_decref(where);
        *n = *opened ? strlen(*opened) : 0;
        return *opened;
    }
    const char *t = json_is_string(v) ? json_string_value(v) : NULL;
    *n = t ? json_string_length(v) : 0;
    if (!t && json_is_integer(v))
        *n = (size_t)snprintf(num, 64, "%lld", (long long)json_integer_value(v)), t = num;
    return t;
}

/* The joined text as a secret of this place: sealed, with its fingerprint
 * (in trust mode to the executor's own key, fingerprinted with the state's
 * key: note [fingerprint key] in rtstate.c). */
static json_t *sealed_text(ctx *c, const step *s, const at *where, const char *t, size_t n)
{
    json_t *path = at_json(where);
    json_t *out = mk_keyring_seal_secret(&c->sess.ring, t, n, s->address, path, c->sess.ring.trust ? c->sess.fpkey : NULL);
    json_decref(path);
    return out;
}

static void wipe(char *s, size_t n)
{
    if (s)
        OPENSSL_cleanse(s, n);
    free(s);
}

/* {"$template": [text | {"$ref", "attr"} | {"$secret"}, …]}: text joined; a
 * lone reference keeps its JSON type; with a sealed part, the result is
 * sealed too. NULL when a part is not known. */
static json_t *fill_template(ctx *c, const step *s, json_t *parts, const at *path)
{
    if (json_array_size(parts) == 1 && json_is_object(json_array_get(parts, 0)) && !is_secret(json_array_get(parts, 0))) {
        json_t *v = template_ref(c, json_array_get(parts, 0));
        return v ? json_incref(v) : NULL;
    }
    size_t i, len = 0, cap = 256;
    char *buf = malloc(cap);
    bool secret = false;
    json_t *p;
    json_array_foreach(parts, i, p) {
        char num[64], *opened = NULL;
        size_t n;
        at part = {path, NULL, i};
        const char *t = part_text(c, s, p, &part, num, &n, &opened);
        secret |= is_secret(p);
        size_t want = (len + n + 1) * 2;
        char *nb = t && buf && len + n + 1 > cap ? malloc(want) : NULL;
        if (nb) { /* (not realloc: the old block may hold secret text, wiped before it goes) */
            memcpy(nb, buf, len);
            wipe(buf, len);
            buf = nb, cap = want;
        }
        if (!t || !buf || len + n + 1 > cap) {
            wipe(opened, n);
            wipe(buf, len);
            return NULL;
        }
        memcpy(buf + len, t, n);
        len += n;
        wipe(opened, n);
    }
    json_t *out = secret ? sealed_text(c, s, path, buf, len) : json_stringn(buf, len);
    wipe(buf, len);
    return out;
}

/* note [references by address]: {"$ref": ADDRESS} names another resource;
 * a provider needs its id (a load balancer's targets, a volume's
 * attachment), and after a replace that is the new object's. Given, and
 * recorded, as {"$ref": ADDRESS, "id": ID}; the compiler compares references
 * by address, and plans an update of each one whose target it replaces. */
static json_t *fill_ref(ctx *c, json_t *v)
{
    json_t *want = json_pack("{s:O, s:s}", "$ref", json_object_get(v, "$ref"), "attr", "id");
    json_t *id = template_ref(c, want);
    json_decref(want);
    json_t *out = json_pack("{s:O}", "$ref", json_object_get(v, "$ref"));
    if (json_is_string(id))
        json_object_set(out, "id", id);
    return out;
}

/* Trust mode: a plan's secret as the state records it, with the
 * fingerprint the executor computes (never the plan's: note [fingerprint
 * key]). Zero-setup: as the plan has it. */
static json_t *stamp(ctx *c, const step *s, json_t *v, const at *where)
{
    char why[1024], fp[65];
    if (!c->sess.ring.trust)
        return json_incref(v);
    json_t *path = at_json(where);
    char *t = mk_keyring_open_secret(&c->sess.ring, v, s->address, path, why, sizeof why);
    if (t)
        mk_keyring_fingerprint_at(c->sess.fpkey, s->address, path, t, strlen(t), fp);
    json_decref(path);
    if (!t)
        return json_incref(v);
    wipe(t, strlen(t));
    json_t *out = json_deep_copy(v);
    json_object_set_new(json_object_get(out, "$secret"), "fingerprint", json_string(fp));
    return out;
}

/* Fill the templates and references in v at path, at any depth (a map of
 * tags may hold one); returns the value to keep (a new reference). */
static json_t *fill_all(ctx *c, const step *s, json_t *v, const at *path)
{
    json_t *parts = json_is_object(v) ? json_object_get(v, "$template") : NULL;
    if (parts) {
        json_t *filled = fill_template(c, s, parts, path);
        return filled ? filled : json_null();
    }
    if (is_secret(v))
        return stamp(c, s, v, path);
    if (json_is_object(v) && json_is_string(json_object_get(v, "$ref")) && !json_object_get(v, "attr"))
        return fill_ref(c, v);
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x) {
            at member = {path, k, 0};
            json_object_set_new(v, k, fill_all(c, s, x, &member));
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            at elem = {path, NULL, i};
            json_array_set_new(v, i, fill_all(c, s, json_array_get(v, i), &elem));
        }
    }
    return json_incref(v);
}

/* The plan's `after` as the provider gets it: templates filled in. */
static json_t *resolved_after(ctx *c, step *s)
{
    json_t *after = json_object_get(s->change, "after");
    json_t *out = json_is_object(after) ? json_deep_copy(after) : json_incref(after);
    json_t *filled = fill_all(c, s, out, NULL);
    json_decref(out);
    return filled;
}

/* note [secret places]: every secret of v at path opens for this step (a
 * template's own sealed parts included); false with why. */
static bool opens_at(ctx *c, const step *s, json_t *v, const at *path, char *why, size_t whylen)
{
    json_t *parts = json_is_object(v) ? json_object_get(v, "$template") : NULL, *x;
    if (is_secret(v)) {
        json_t *p = at_json(path);
        char *t = mk_keyring_open_secret(&c->sess.ring, v, s->address, p, why, whylen);
        json_decref(p);
        if (t)
            wipe(t, strlen(t));
        return t != NULL;
    }
    size_t i;
    const char *k;
    bool ok = true;
    json_array_foreach(parts, i, x) {
        at part = {path, NULL, i};
        ok = ok && (!is_secret(x) || opens_at(c, s, x, &part, why, whylen));
    }
    if (!parts)
        json_object_foreach(v, k, x) {
            at member = {path, k, 0};
            ok = ok && opens_at(c, s, x, &member, why, whylen);
        }
    json_array_foreach(v, i, x) {
        at elem = {path, NULL, i};
        ok = ok && opens_at(c, s, x, &elem, why, whylen);
    }
    return ok;
}

/* Trust mode, before any step: every secret the plan gives opens here, at
 * its place and with this executor's key. */
static bool secrets_open(ctx *c, char *why, size_t whylen)
{
    for (size_t i = 0; i < c->n; i++) {
        const step *s = &c->steps[i];
        if (!s->retire && !opens_at(c, s, json_object_get(s->change, "after"), NULL, why, whylen))
            return false;
    }
    return true;
}

/* The entry the state records after a create or update: the plan's `after`
 * (templates filled) with the unknown attributes the provider computed, and
 * the computed ones it carries as they are now — an update's `after` holds
 * them as the state had them, and a file's sha256 moves with its content
 * (recorded stale, the guard of the next step would take it for a change
 * made outside moksha). */
static json_t *entry_for(step *s, json_t *computed)
{
    json_t *attrs = json_deep_copy(s->after ? s->after : json_object_get(s->change, "after"));
    size_t i;
    json_t *u;
    const char *ck;
    json_object_foreach(computed, ck, u)
        if (json_object_get(attrs, ck))
            json_object_set(attrs, ck, u);
    json_array_foreach(json_object_get(s->change, "after_unknown"), i, u) {
        json_t *v = json_object_get(computed, json_string_value(u));
        if (!v && !json_is_null(json_object_get(attrs, json_string_value(u))))
            continue; /* a template, filled in */
        if (v)
            json_object_set(attrs, json_string_value(u), v);
        else {
            char note[600];
            snprintf(note, sizeof note, "%s: %s", s->address, json_string_value(u));
            if (!s->deferred)
                s->deferred = json_array();
            json_array_append_new(s->deferred, json_string(note)); /* moved to c->deferred when recorded */
        }
    }
    json_t *e = json_pack("{s:s, s:s, s:O?, s:s, s:o, s:o, s:O?, s:O?, s:O?}", "address", s->address, "type", s->type,
                          "name", json_object_get(s->change, "name"), "provider", s->alias, "placement", placement_json(s),
                          "attributes", attrs, "sensitive", json_object_get(s->change, "sensitive"), "depends_on",
                          json_object_get(s->change, "refs"), "lifecycle", json_object_get(s->change, "lifecycle"));
    /* a plan leaves out what is its default (docs/formats.md, "Defaults");
     * the state records every field */
    if (json_is_null(json_object_get(e, "depends_on")))
        json_object_set_new(e, "depends_on", json_array());
    if (json_is_null(json_object_get(e, "sensitive")))
        json_object_set_new(e, "sensitive", json_array());
    if (json_is_null(json_object_get(e, "lifecycle")))
        json_object_set_new(e, "lifecycle", json_pack("{s:b, s:b}", "prevent_destroy", 0, "create_before_destroy", 0));
    return e;
}

/* One provider call with a deadline, retried with exponential backoff and
 * jitter while the provider calls the error retryable (runtime/provcall.c).
 * op holds what is particular to the call (its address when not the
 * step's); the rest is the step's. */
static bool call_op(ctx *c, step *s, mk_prov_fn fn, mk_prov_op op, json_t **out)
{
    op.address = op.address ? op.address : s->address;
    op.type = s->type, op.cloud = s->cloud, op.region = s->region, op.keys = &c->sess.ring;
    op.stack_id = c->stack_id, op.run_id = c->run_id;
    /* the backend records that this call is under way before it changes
     * the world (docs/state.md, "Intents"): a crash leaves it for the next run */
    const char *act = fn == s->prov->create ? "create" : fn == s->prov->update ? "update"
                      : fn == s->prov->del ? "delete" : fn == s->prov->move ? "move" : NULL;
    if (act && !mk_backend_intend(c->sess.be, c->run_id, op.address, act, (long long)s->id, s->err, sizeof s->err))
        return false;
    s->calls++;
    return mk_provcall_retry(s->prov, fn, &op, c->o, &interrupts, out, s->err, sizeof s->err, &s->attempts);
}

static bool call_as(ctx *c, step *s, mk_prov_fn fn, json_t *attrs, json_t *prior, json_t **out, const char *deposing,
                    bool deposed)
{
    mk_prov_op op = {.attrs = attrs, .prior = prior, .deposing = deposing, .deposed = deposed,
                     .adopted = fn == s->prov->create && !prior ? &s->adopted : NULL};
    return call_op(c, s, fn, op, out);
}

static bool call(ctx *c, step *s, mk_prov_fn fn, json_t *attrs, json_t *prior, json_t **out)
{
    return call_as(c, s, fn, attrs, prior, out, NULL, false);
}

/* ---- guarded steps ----
 *
 * note [guarded steps] (docs/drift.md "Guarded steps"): an update,
 * replace, delete, move or import was planned against the object as the
 * change's `before` has it. Before the first step every such object is
 * read (in parallel) and compared with it; if any moved, or cannot be
 * read, the apply refuses with nothing changed (exit 6). Just before each
 * such step it is read again, and a change made meanwhile fails that step
 * (then the run rolls back as for any failure): the executor never
 * overwrites a change someone just made. A create is not read (the
 * provider's adoption rule keeps it off a foreign object), but for one
 * with drift `gone`: that object must still be absent. */

typedef enum { GUARD_SAME, GUARD_CHANGED, GUARD_GONE, GUARD_BACK, GUARD_UNREADABLE } guard_status;

static bool named(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (strcmp(json_string_value(v) ?: "", name) == 0)
            return true;
    return false;
}

/* The step's object as the plan knew it: the state's entry where the
 * object was (what a read is given), else the change's `before`. */
static json_t *known_attrs(const step *s)
{
    json_t *a = json_object_get(s->orig, "attributes");
    return json_is_object(a) ? a : json_object_get(s->change, "before");
}

/* The guard's read: not one of the step's calls, so neither its attempts
 * nor a retry of it are the step's (its audit entry, "retried"). */
static bool guard_call(ctx *c, step *s, mk_prov_op op)
{
    int attempts = s->attempts, calls = s->calls;
    bool ok = call_op(c, s, s->prov->read, op, &s->seen);
    s->attempts = attempts, s->calls = calls;
    return ok;
}

static bool matches_after(const step *s);

/* Read the step's object and compare it with the change's `before`
 * (an import's only when the plan had one); s->seen and s->diff say what
 * was read and what differs. */
static guard_status guard_read(ctx *c, step *s)
{
    json_t *before = json_object_get(s->change, "before");
    /* an import's read sees the desired attributes, as the plan's read did
     * (refresh.c): before the first step they are the plan's, not yet resolved */
    json_t *want = s->after ? s->after : json_object_get(s->change, "after");
    mk_prov_op op = {.address = s->read_at, .attrs = s->import_id ? want : known_attrs(s), .import_id = s->import_id};
    json_decref(s->seen);
    json_decref(s->diff);
    s->seen = s->diff = NULL;
    if (!s->prov->read)
        return snprintf(s->err, sizeof s->err, "the %s provider cannot read objects", s->prov->kind), GUARD_UNREADABLE;
    if (!guard_call(c, s, op))
        return GUARD_UNREADABLE;
    s->seen = mk_refresh_mask(s->seen, op.attrs, json_object_get(s->change, "sensitive"), s->import_id != NULL);
    if (s->gone) /* back, but exactly as the create would make it (a grant on a schema just made again): nothing is overwritten */
        return !s->seen || (s->after && !strcmp(s->action, "create") && matches_after(s)) ? GUARD_SAME : GUARD_BACK;
    if (!s->seen)
        return GUARD_GONE;
    if (!json_is_object(before))
        return GUARD_SAME;
    s->diff = mk_refresh_differs(before, s->seen, json_object_get(json_object_get(s->change, "lifecycle"), "ignore_changes"));
    return json_array_size(s->diff) ? GUARD_CHANGED : GUARD_SAME;
}

/* A value for a message, or NULL when it must not be shown: a sensitive
 * attribute, or one holding a secret in any form (never printed). */
static char *shown(const step *s, const char *name, json_t *v)
{
    if (named(json_object_get(s->change, "sensitive"), name))
        return NULL;
    char *t = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (t && strstr(t, "\"$secret\"")) {
        free(t);
        return NULL;
    }
    if (t && strlen(t) > 80)
        strcpy(t + 76, "…");
    return t;
}

/* `size "small" → "large", password (sensitive)` into f. */
static void print_diff(FILE *f, const step *s)
{
    size_t i;
    json_t *n;
    json_array_foreach(s->diff, i, n) {
        const char *k = json_string_value(n);
        char *was = shown(s, k, json_object_get(json_object_get(s->change, "before"), k));
        char *now = was ? shown(s, k, json_object_get(s->seen, k)) : NULL;
        if (was && now)
            fprintf(f, "%s%s %s → %s", i ? ", " : "", k, was, now);
        else
            fprintf(f, "%s%s (sensitive: its value is not shown)", i ? ", " : "", k);
        free(was);
        free(now);
    }
}

/* The step's error when its object moved during the run. */
static void guard_failed(step *s, guard_status g)
{
    char names[300] = "";
    size_t i, k = 0;
    json_t *n;
    json_array_foreach(s->diff, i, n)
        if (k + strlen(json_string_value(n)) + 3 < sizeof names)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", json_string_value(n));
    if (g == GUARD_CHANGED)
        snprintf(s->err, sizeof s->err, "%s changed during the apply: %s; not overwritten", s->read_at, names);
    else if (g == GUARD_GONE)
        snprintf(s->err, sizeof s->err, "%s was deleted during the apply; not overwritten", s->read_at);
    else if (g == GUARD_BACK)
        snprintf(s->err, sizeof s->err, "%s, planned as gone, exists again; not overwritten", s->read_at);
    else {
        char why[sizeof s->err];
        memcpy(why, s->err, sizeof why);
        snprintf(s->err, sizeof s->err, "cannot read %s before the step: %.300s", s->read_at, why);
    }
}

typedef struct pre {
    ctx *c;
    size_t *at, m;
    guard_status *got;
} pre;

static bool pre_run(void *vp, size_t node)
{
    pre *p = vp;
    p->got[node] = guard_read(p->c, &p->c->steps[p->at[node]]);
    return true;
}
static void pre_record(void *vp, size_t node, bool ok) { (void)vp, (void)node, (void)ok; }
static void *pre_snapshot(void *vp) { return vp; }
static bool pre_flush(void *vp, void *snap) { return (void)vp, (void)snap, true; }
static bool pre_stop(void *vp) { return (void)vp, interrupts > 0; }

/* The refusal, named address by address on stderr, and audited. */
static void pre_refuse(ctx *c, pre *p, const char *sha, size_t moved)
{
    json_t *addrs = json_array(), *unread = json_array(), *attrs = json_object();
    if (moved)
        fprintf(stderr, "moksha-exec: error: the world moved since the plan was made; nothing was applied:\n");
    else
        fprintf(stderr, "moksha-exec: error: objects the plan changes cannot be read, so what it was planned against "
                        "cannot be checked; nothing was applied:\n");
    for (size_t k = 0; k < p->m; k++) {
        step *s = &c->steps[p->at[k]];
        guard_status g = p->got[k];
        if (g == GUARD_SAME)
            continue;
        json_array_append_new(g == GUARD_UNREADABLE ? unread : addrs, json_string(s->read_at));
        if (s->diff)
            json_object_set(attrs, s->read_at, s->diff);
        fprintf(stderr, "  %s: ", s->read_at);
        if (g == GUARD_CHANGED)
            print_diff(stderr, s);
        fprintf(stderr, "%s\n", g == GUARD_GONE ? "deleted outside moksha" : g == GUARD_BACK ? "planned as gone, and it exists"
                                : g == GUARD_UNREADABLE ? "cannot be read: " : "");
        if (g == GUARD_UNREADABLE)
            fprintf(stderr, "    %s\n", s->err);
    }
    fprintf(stderr, "moksha-exec: hint: `moksha plan --refresh` reads the world and plans from what is there\n");
    mk_session_add(&c->sess, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "event", "apply.refused", "reason",
                                       moved ? "world moved" : "world unreadable", "plan_sha256", sha, "addresses", addrs,
                                       "unreadable", unread, "attributes", attrs));
}

/* Before the first step: every guarded object read and compared. 0, or
 * the exit code of the refusal (reported and audited). */
static int preflight(ctx *c, const char *sha)
{
    pre p = {.c = c, .at = calloc(c->n + 1, sizeof *p.at), .got = calloc(c->n + 1, sizeof *p.got)};
    for (size_t i = 0; p.at && i < c->n; i++)
        if (c->steps[i].preflight)
            p.at[p.m++] = i;
    size_t **deps = calloc(p.m + 1, sizeof *deps), *ndeps = calloc(p.m + 1, sizeof *ndeps);
    mk_sched g = {.n = p.m, .deps = deps, .ndeps = ndeps, .parallelism = c->o->parallelism, .keep_going = true};
    static const mk_sched_ops ops = {pre_run, pre_record, pre_snapshot, pre_flush, pre_stop, NULL};
    int rc = !p.at || !p.got || !deps || !ndeps ? (fprintf(stderr, "moksha-exec: error: out of memory\n"), MK_EXIT_INPUT) : 0;
    if (!rc && p.m && (!mk_sched_run(&g, &ops, &p) || g.stopped)) {
        fprintf(stderr, "moksha-exec: interrupted before the first step: nothing was applied\n");
        rc = MK_EXIT_ROLLED_BACK;
    }
    size_t moved = 0, bad = 0;
    for (size_t k = 0; !rc && k < p.m; k++) {
        moved += p.got[k] != GUARD_SAME && p.got[k] != GUARD_UNREADABLE;
        bad += p.got[k] != GUARD_SAME;
    }
    if (bad) {
        pre_refuse(c, &p, sha, moved);
        rc = MK_EXIT_LOCKED;
    }
    mk_sched_free(&g);
    free(deps);
    free(ndeps);
    free(p.at);
    free(p.got);
    return rc;
}

/* ---- refused before the first step ----
 *
 * note [provider check] (docs/providers.md "Refused before the first
 * step"): a change the backend behind a provider cannot make as planned —
 * an attribute it cannot enforce, a connection that breaks a rule or
 * cannot be reached — must fail before anything changes, not half way
 * through (where a rollback may not bring everything back). So once the
 * guards' inputs are settled, every provider call a step will make is put
 * to its provider's `check` first, all at once on the scheduler with no
 * edges, each with the deadline and retries of any call: a replace as its
 * delete and its create, a moved update or replace as its move too. One
 * refusal refuses the apply: exit 1, nothing changed, every refusal named
 * on stderr and in one `apply.refused` entry (reason `provider refused`);
 * no step is audited. A value a step learns only from an earlier one (a
 * template of another resource's id) is null here: the check judges what
 * the plan says, the step what the world then holds. */

typedef struct chk {
    size_t step;
    const char *action; /* the call checked: "create", "update", "delete", "import", "move" */
    bool ok;
    char err[1024];     /* a refusal may list every attribute a connection does not vouch for */
} chk;

typedef struct chks {
    ctx *c;
    chk *k;
    size_t m;
} chks;

/* The op of one checked call, as the step's own call will have it. */
static mk_prov_op check_op(ctx *c, step *s, const char *action, json_t *after)
{
    json_t *before = json_object_get(s->change, "before");
    mk_prov_op op = {.address = s->address, .type = s->type, .cloud = s->cloud, .region = s->region,
                     .keys = &c->sess.ring, .stack_id = c->stack_id, .run_id = c->run_id, .action = action};
    if (!strcmp(action, "move")) {
        op.attrs = known_attrs(s);
        op.moved_from = s->moved_from;
    } else if (!strcmp(action, "delete")) {
        op.attrs = before;
        op.deposed = s->retire;
    } else {
        op.attrs = after;
        op.planned = json_object_get(s->change, "after");
        op.prior = !strcmp(action, "update") ? before : NULL;
        op.import_id = s->import_id;
        op.deposing = s->cbd ? json_string_value(json_object_get(before, "id")) ?: "" : NULL;
    }
    return op;
}

static bool check_run(void *vk, size_t node)
{
    chks *k = vk;
    chk *one = &k->k[node];
    step *s = &k->c->steps[one->step];
    json_t *after = strcmp(one->action, "delete") && strcmp(one->action, "move") ? resolved_after(k->c, s) : NULL;
    mk_prov_op op = check_op(k->c, s, one->action, after);
    json_t *out = NULL;
    one->ok = mk_provcall_retry(s->prov, s->prov->check, &op, k->c->o, &interrupts, &out, one->err, sizeof one->err, NULL);
    json_decref(out);
    json_decref(after);
    return true;
}

static void check_add(chks *k, size_t i, const char *action) { k->k[k->m++] = (chk){.step = i, .action = action}; }

/* The calls step s makes (run_step), into k — when its provider checks. */
static void check_calls(chks *k, size_t i)
{
    const step *s = &k->c->steps[i];
    const char *a = s->action;
    if (!s->prov->check)
        return;
    if (s->moved_from)
        check_add(k, i, "move");
    if (s->retire || (!strcmp(a, "delete") && !s->gone)) /* a forgotten delete makes no call */
        check_add(k, i, "delete");
    else if (!strcmp(a, "replace")) {
        if (!s->cbd)
            check_add(k, i, "delete");
        check_add(k, i, "create");
    } else if (!strcmp(a, "create") || !strcmp(a, "update") || !strcmp(a, "import"))
        check_add(k, i, a);
}

/* The refusal: each one on stderr, all in one audit entry. */
static void check_refuse(ctx *c, const chks *k, const char *sha)
{
    json_t *addrs = json_array(), *errs = json_object();
    fprintf(stderr, "moksha-exec: error: a provider refuses what the plan asks, before its first step; nothing was "
                    "applied:\n");
    for (size_t n = 0; n < k->m; n++) {
        const step *s = &c->steps[k->k[n].step];
        if (k->k[n].ok)
            continue;
        fprintf(stderr, "  %s (%s): %s\n", s->address, k->k[n].action, k->k[n].err);
        if (!json_object_get(errs, s->address))
            json_array_append_new(addrs, json_string(s->address));
        json_object_set_new(errs, s->address, json_string(k->k[n].err));
    }
    mk_session_add(&c->sess, json_pack("{s:s, s:s, s:s, s:o, s:o}", "event", "apply.refused", "reason",
                                       "provider refused", "plan_sha256", sha, "addresses", addrs, "errors", errs));
}

/* Before the first step: every call checked by its provider. 0, or the
 * exit code of the refusal (reported and audited). */
static int provider_check(ctx *c, const char *sha)
{
    chks k = {.c = c, .k = calloc(3 * c->n + 1, sizeof *k.k)};
    for (size_t i = 0; k.k && i < c->n; i++)
        check_calls(&k, i);
    size_t **deps = calloc(k.m + 1, sizeof *deps), *ndeps = calloc(k.m + 1, sizeof *ndeps);
    mk_sched g = {.n = k.m, .deps = deps, .ndeps = ndeps, .parallelism = c->o->parallelism, .keep_going = true};
    static const mk_sched_ops ops = {check_run, pre_record, pre_snapshot, pre_flush, pre_stop, NULL};
    int rc = !k.k || !deps || !ndeps ? (fprintf(stderr, "moksha-exec: error: out of memory\n"), MK_EXIT_INPUT) : 0;
    if (!rc && k.m && (!mk_sched_run(&g, &ops, &k) || g.stopped)) {
        fprintf(stderr, "moksha-exec: interrupted before the first step: nothing was applied\n");
        rc = MK_EXIT_ROLLED_BACK;
    }
    bool refused = false;
    for (size_t n = 0; !rc && n < k.m; n++)
        refused |= !k.k[n].ok;
    if (refused) {
        check_refuse(c, &k, sha);
        rc = MK_EXIT_INPUT;
    }
    mk_sched_free(&g);
    free(deps);
    free(ndeps);
    free(k.k);
    return rc;
}

/* The address of the state entry that records provider id `id`, or NULL. */
static const char *recorded_id(ctx *c, const char *id)
{
    const char *k;
    json_t *e;
    json_object_foreach(c->sess.st->by_addr, k, e)
        if (strcmp(json_string_value(json_object_get(json_object_get(e, "attributes"), "id")) ?: "", id) == 0)
            return k;
    return NULL;
}

/* docs/executor.md "Import": an import may take only an object this stack
 * does not manage, to an address the state does not hold — else the state
 * would have two entries for one object. 0, or exit 6 (reported, audited)
 * before the first step: the plan no longer fits the state. */
static int imports_free(ctx *c, const char *sha)
{
    json_t *addrs = json_array();
    for (size_t i = 0; i < c->n; i++) {
        step *s = &c->steps[i];
        const char *other = s->import_id ? recorded_id(c, s->import_id) : NULL;
        if (s->import_id && json_object_get(c->sess.st->by_addr, s->address))
            fprintf(stderr, "moksha-exec: error: %s: the state already holds this address; not imported\n", s->address);
        else if (other)
            fprintf(stderr, "moksha-exec: error: %s: the object %s is already managed as %s; not imported\n", s->address,
                    s->import_id, other);
        else
            continue;
        json_array_append_new(addrs, json_string(s->address));
    }
    if (!json_array_size(addrs))
        return json_decref(addrs), 0;
    fprintf(stderr, "moksha-exec: nothing was applied (`moksha state mv` renames what the stack manages)\n");
    mk_session_add(&c->sess, json_pack("{s:s, s:s, s:s, s:o}", "event", "apply.refused", "reason", "import taken",
                                       "plan_sha256", sha, "addresses", addrs));
    return MK_EXIT_LOCKED;
}

/* Just before the step: its object read again; false (s->err) when it
 * moved during the run. */
static bool guard_step(ctx *c, step *s)
{
    guard_status g = guard_read(c, s);
    if (g == GUARD_GONE && s->import_id)
        return snprintf(s->err, sizeof s->err, "no object with id %s to import", s->import_id), false;
    if (g != GUARD_SAME)
        guard_failed(s, g);
    return g == GUARD_SAME;
}

/* A copy of a state entry without its deposed object `id`. */
static json_t *without_deposed(json_t *entry, const char *id)
{
    json_t *e = json_deep_copy(entry), *dep = json_object_get(e, "deposed");
    for (size_t i = json_array_size(dep); i-- > 0;)
        if (strcmp(json_string_value(json_object_get(json_array_get(dep, i), "id")) ?: "", id) == 0)
            json_array_remove(dep, i);
    if (dep && json_array_size(dep) == 0)
        json_object_del(e, "deposed");
    return e;
}

/* note [create_before_destroy]: retire a deposed object. The change's
 * `before` is that object (the replaced one, or the plan's deposed delete);
 * the entry without it is made when the step is recorded, from the state as
 * it is then. */
static bool run_retire(ctx *c, step *s)
{
    json_t *out = NULL;
    bool ok = call_as(c, s, s->prov->del, json_object_get(s->change, "before"), NULL, &out, NULL, true);
    json_decref(out);
    return ok;
}

/* The step's audit fields; made by the worker, chained under the lock. */
static char *step_event(const step *s, bool ok)
{
    json_t *ev = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:i}", "event", "step", "change", (json_int_t)s->id,
                           "address", s->address, "action", s->action, "status", ok ? "ok" : "failed", "provider",
                           s->alias ?: "?", "ms", (json_int_t)s->ms, "attempts", s->attempts);
    if (on_cloud(s)) {
        json_object_set_new(ev, "cloud", json_string(s->cloud));
        json_object_set_new(ev, "region", json_string(s->region));
    }
    const char *id = json_string_value(json_object_get(json_object_get(s->entry, "attributes"), "id"));
    if (s->retire)
        json_object_set_new(ev, "deposed_id", json_string(s->retire_id));
    else if (id)
        json_object_set_new(ev, "id", json_string(id));
    if (s->cbd)
        json_object_set_new(ev, "create_before_destroy", json_true());
    if (s->moved_from)
        json_object_set_new(ev, "moved_from", json_string(s->moved_from));
    if (s->import_id)
        json_object_set_new(ev, "import_id", json_string(s->import_id));
    if (s->gone)
        json_object_set_new(ev, "drift", json_string("gone"));
    if (!ok)
        json_object_set_new(ev, "error", json_string(s->err));
    char *t = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return t;
}

/* A moved resource's object goes to its new address (provider move). */
static bool run_move(ctx *c, step *s)
{
    if (!s->prov->move)
        return snprintf(s->err, sizeof s->err, "the %s provider cannot move objects (%s to %s)", s->prov->kind,
                        s->moved_from, s->address), false;
    json_t *out = NULL;
    mk_prov_op op = {.attrs = known_attrs(s), .moved_from = s->moved_from};
    s->moved = call_op(c, s, s->prov->move, op, &out);
    json_decref(out);
    return s->moved;
}

/* Does the object read match `after` (the attributes it gives, the
 * unknown ones aside)? */
static bool matches_after(const step *s)
{
    json_t *d = mk_refresh_differs(s->after, s->seen, json_object_get(s->change, "after_unknown"));
    bool same = json_array_size(d) == 0;
    json_decref(d);
    return same;
}

/* Adopt the object read by id (guard_step read it into s->seen): the
 * provider's import, then the update that makes it match the spec when
 * it differs. *out: its computed attributes, as read or updated. */
static bool run_import(ctx *c, step *s, json_t **out)
{
    if (!s->prov->import)
        return snprintf(s->err, sizeof s->err, "the %s provider cannot import objects", s->prov->kind), false;
    json_t *o = NULL;
    mk_prov_op op = {.attrs = s->after, .import_id = s->import_id};
    if (!call_op(c, s, s->prov->import, op, &o))
        return false;
    json_decref(o);
    *out = json_object(); /* the computed attributes, as read */
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(s->change, "after_unknown"), i, u)
        if (json_object_get(s->seen, json_string_value(u)))
            json_object_set(*out, json_string_value(u), json_object_get(s->seen, json_string_value(u)));
    if (matches_after(s))
        return true;
    if (!call(c, s, s->prov->update, s->after, s->seen, &o))
        return false;
    s->reset = true;
    json_object_update(*out, o);
    json_decref(o);
    return true;
}

/* The provider calls of the change itself; *out the computed attributes. */
static bool run_change(ctx *c, step *s, json_t **out)
{
    json_t *after = s->after, *before = json_object_get(s->change, "before");
    bool ok;
    if (strcmp(s->action, "create") == 0)
        return call(c, s, s->prov->create, after, NULL, out);
    if (strcmp(s->action, "import") == 0)
        return run_import(c, s, out);
    if (strcmp(s->action, "move") == 0)
        return true;
    if (strcmp(s->action, "update") == 0)
        return call(c, s, s->prov->update, after, before, out);
    if (s->retire)
        return run_retire(c, s);
    if (strcmp(s->action, "delete") == 0)
        return s->gone || call(c, s, s->prov->del, before, NULL, out); /* gone: only forgotten */
    if (s->cbd) /* note [create_before_destroy] */
        return call_as(c, s, s->prov->create, after, NULL, out, json_string_value(json_object_get(before, "id")) ?: "",
                       false);
    if (strcmp(s->action, "replace") == 0) {
        ok = call(c, s, s->prov->del, before, NULL, out);
        json_decref(*out);
        *out = NULL;
        s->half = ok;
        ok = ok && call(c, s, s->prov->create, after, NULL, out);
        if (ok)
            s->half = false;
        return ok;
    }
    snprintf(s->err, sizeof s->err, "unknown action `%s`", s->action);
    return false;
}

/* A move whose change then failed: the object goes back where the state
 * still has it. */
static void move_back(ctx *c, step *s)
{
    json_t *out = NULL;
    mk_prov_op op = {.address = s->moved_from, .attrs = known_attrs(s), .moved_from = s->address};
    char err[sizeof s->err];
    memcpy(err, s->err, sizeof err);
    if (!s->half && call_op(c, s, s->prov->move, op, &out))
        s->moved = false;
    json_decref(out);
    if (s->moved) { /* a long reason is cut short: the address it stays at comes first */
        int n = snprintf(s->err, sizeof s->err, "could not be moved back to %s; ", s->moved_from);
        size_t k = n > 0 && (size_t)n < sizeof s->err ? (size_t)n : sizeof s->err - 1, len = strnlen(err, sizeof err);
        size_t room = sizeof s->err - 1 - k;
        memcpy(s->err + k, err, len < room ? len : room);
        s->err[k + (len < room ? len : room)] = 0;
    } else
        memcpy(s->err, err, sizeof err);
}

/* The state entry of a move: the one it had, under its new address. */
static json_t *moved_entry(const step *s)
{
    json_t *e = json_deep_copy(s->orig);
    json_object_set_new(e, "address", json_string(s->address));
    json_t *name = json_object_get(s->change, "name"), *lc = json_object_get(s->change, "lifecycle");
    if (name)
        json_object_set(e, "name", name);
    if (lc)
        json_object_set(e, "lifecycle", lc);
    return e;
}

/* The entry a step writes, naming this run (`run`: the apply's lock id).
 * note [entry digest] in runtime/refresh.c: an observation of the entry
 * as it was is stale from now on, even when the step wrote the same
 * attributes back (a drift corrected); an undo puts the old entry, with
 * its old run, back. */
static json_t *step_entry(const ctx *c, step *s, json_t *out)
{
    json_t *e = strcmp(s->action, "move") == 0 ? moved_entry(s) : entry_for(s, out);
    json_object_set_new(e, "run", json_string(c->run_id));
    return e;
}

static bool run_step(void *vc, size_t i)
{
    ctx *c = vc;
    step *s = &c->steps[i];
    double t = mk_clock_now_ms();
    json_decref(s->after);
    s->after = resolved_after(c, s);
    json_t *out = NULL, *before = json_object_get(s->change, "before");
    bool ok = (!s->read_at || guard_step(c, s)) && (!s->moved_from || run_move(c, s)) && run_change(c, s, &out);
    if (!ok && s->moved && !s->half)
        move_back(c, s);
    if (ok && strcmp(s->action, "delete") != 0 && !s->retire) {
        s->entry = step_entry(c, s, out);
        if (s->cbd) /* joins the entry's deposed objects when recorded */
            s->set_aside = json_pack("{s:s, s:O, s:O?}", "id", s->retire_id, "attributes", before, "placement",
                                     json_object_get(s->orig, "placement"));
        s->entry_text = mk_rtstate_entry_text(s->entry);
    }
    json_decref(out);
    s->ms = mk_clock_now_ms() - t;
    s->event = step_event(s, ok);
    return ok;
}

static const char *mark_of(const char *action)
{
    return !strcmp(action, "create") ? "+" : !strcmp(action, "update") ? "~"
           : !strcmp(action, "delete") || !strcmp(action, "retire") ? "-" : !strcmp(action, "import") ? "<="
           : !strcmp(action, "move") ? "->" : "-/+";
}

static void step_line(ctx *c, const step *s, bool ok, const char *verb)
{
    if (c->tty && ok)
        return;
    FILE *f = ok ? stdout : stderr;
    if (c->tty)
        fputs("\r\033[K", f);
    if (ok) {
        json_t *e = mk_rtstate_get(c->sess.st, s->address);
        const char *id = json_string_value(json_object_get(json_object_get(e, "attributes"), "id"));
        fprintf(f, "  %-3s %-8s %s", mark_of(s->action), verb, s->address);
        if (on_cloud(s))
            fprintf(f, "  [%s %s/%s]", s->alias, s->cloud, s->region);
        else if (strcmp(s->prov->kind, "local") != 0)
            fprintf(f, "  [%s]", s->alias);
        if (s->retire)
            fprintf(f, "  deposed id=%s", s->retire_id);
        else if (id && strcmp(s->action, "delete") != 0)
            fprintf(f, "  id=%s", id);
        fprintf(f, "  (%.0f ms%s)\n", s->ms, s->attempts > s->calls ? ", retried" : "");
        /* flushed by tick(), ten times a second: a write per step costs */
    } else {
        fprintf(f, "  ✗   %-8s %s failed: %s\n", s->action, s->address, s->err);
        fflush(f);
    }
}

static void record_step(void *vc, size_t i, bool ok)
{
    ctx *c = vc;
    step *s = &c->steps[i];
    json_t *cur = mk_rtstate_get(c->sess.st, s->moved_from ? s->moved_from : s->address);
    if (ok || s->half) { /* what rollback puts back: the entry as it is just before this step's */
        json_decref(s->orig);
        s->orig = cur ? json_deep_copy(cur) : NULL;
    }
    if (ok && s->retire) {
        if (cur)
            mk_rtstate_put(c->sess.st, without_deposed(cur, s->retire_id));
    } else if (ok && s->entry) {
        /* note [create_before_destroy]: deposed objects at the address stay
         * listed until retired, whatever else changes there */
        json_t *dep = json_object_get(cur, "deposed");
        if (json_array_size(dep) || s->set_aside) {
            json_t *list = json_is_array(dep) ? json_deep_copy(dep) : json_array();
            if (s->set_aside)
                json_array_append(list, s->set_aside);
            json_object_set_new(s->entry, "deposed", list);
            json_decref(s->entry_text);
            s->entry_text = mk_rtstate_entry_text(s->entry);
        }
        if (s->moved_from) /* re-keyed: the entry is the new address's now */
            mk_rtstate_remove(c->sess.st, s->moved_from);
        mk_rtstate_put_text(c->sess.st, json_incref(s->entry), s->entry_text);
        s->entry_text = NULL;
        json_array_extend(c->deferred, s->deferred);
    } else if (ok || s->half) {
        mk_rtstate_remove(c->sess.st, s->half && s->moved_from ? s->moved_from : s->address);
    }
    c->sess.dirty |= ok || s->half;
    if (ok && s->of)
        ; /* a retire made for a replace: counted with it */
    else if (ok)
        json_object_set_new(c->counts, s->action, json_integer(json_integer_value(json_object_get(c->counts, s->action)) + 1));
    else
        c->nfailed++;
    mk_session_add_text(&c->sess, s->event);
    free(s->event);
    s->event = NULL;
    step_line(c, s, ok, s->retire ? "retired" : !strcmp(s->action, "create") ? "created"
                        : !strcmp(s->action, "update") ? "updated" : !strcmp(s->action, "delete") ? (s->gone ? "forgot" : "deleted")
                        : !strcmp(s->action, "import") ? "imported" : !strcmp(s->action, "move") ? "moved" : "replaced");
}

typedef struct snap {
    json_t *state;
    long long serial; /* of the state on disk once this is flushed */
    char *lines;
    size_t nlines;
} snap;

static void *snapshot(void *vc)
{
    ctx *c = vc;
    snap *s = calloc(1, sizeof *s);
    if (c->sess.dirty)
        mk_session_mark_state(&c->sess);
    s->state = c->sess.dirty ? mk_rtstate_snapshot(c->sess.st) : NULL; /* serialised in flush, outside the lock */
    s->serial = mk_rtstate_serial(c->sess.st);
    s->lines = mk_session_take_lines(&c->sess, &s->nlines);
    c->sess.dirty = false;
    return s;
}

static bool flush(void *vc, void *vs)
{
    ctx *c = vc;
    snap *s = vs;
    bool ok = mk_session_persist(&c->sess, s->state, s->serial, s->lines, s->nlines);
    if (!ok)
        c->io_failed = true;
    free(s);
    return ok;
}

static bool should_stop(void *vc)
{
    ctx *c = vc;
    return interrupts > 0 || atomic_load(&c->lock_lost);
}

/* note [lock lost]: a backend whose lock can go from under a run (postgres:
 * the session that held it ended, and the server let it go at once) says
 * so through mk_backend_lock_held; from then on another run may take it,
 * so nothing new starts and the apply winds down as for a failure. Asked
 * here, ~10 times a second, outside the scheduler's lock (the check may
 * wait on the connection). */
static void tick(void *vc, const mk_sched_stats *st)
{
    ctx *c = vc;
    if (!atomic_load(&c->lock_lost) && !mk_backend_lock_held(c->sess.be))
        atomic_store(&c->lock_lost, true);
    fflush(stdout);
    if (!c->tty)
        return;
    int width = 30, filled = st->total ? (int)(width * st->done / st->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r\033[K[%s] %zu/%zu done, %zu running, %zu failed  %.1fs", bar, st->done, st->total, st->running,
            st->failed, (mk_clock_now_ms() - c->t0) / 1000);
    fflush(stderr);
}

/* ---- rollback ---- */

/* note [durable undo]: an undo is recorded as durably as a step, in two
 * nodes of a second scheduler run. Its *intent* is persisted first: the
 * state entry is put back to what it was before the step (the undo's
 * outcome, written ahead) and "intents" names the address, with a
 * `rollback.intent` audit entry. Only then does the provider call run;
 * its result is recorded after it (`rollback`): the intent dropped, and on
 * failure the entry set back to what the world still holds. A kill -9 at
 * any moment leaves a state that the next plan converges from, because
 * every provider operation is idempotent (note [crash recovery]): the
 * state says "as before the apply", so the plan re-does the step — a
 * create adopts the object the undo did not get to delete, an update sets
 * the attributes again, a delete of what the undo did not re-create
 * succeeds. (Written after the call, as before, an undo that finished but
 * was not recorded left the state holding an object already deleted, and
 * the next plan saw nothing to do.) The next apply reports the intents it
 * finds (`rollback.recovered`) and drops them.
 *
 * note [parallel rollback]: undos run at the apply's parallelism in the
 * reverse of the dependency order: the intent of X waits for the undos of
 * every completed step that depended on X, so a network is deleted only
 * after the instances on it. A failed undo holds back only what it
 * depended on (keep_going); the rest goes on. */

typedef struct rb {
    ctx *c;
    size_t *u;       /* the steps to undo */
    size_t m;
    size_t undone;
} rb;

/* Delete what this apply made. The cloud refuses to delete an object with
 * deletion protection on (note [deletion protection] in compiler/middle/plan.c),
 * so an undo turns it off first: the executor takes back its own work. */
static bool del_made(ctx *c, step *s, json_t *now, json_t **out)
{
    if (json_is_true(json_object_get(now, "deletion_protection"))) {
        json_t *off = json_deep_copy(now), *o = NULL;
        json_object_set_new(off, "deletion_protection", json_false());
        bool ok = call(c, s, s->prov->update, off, now, &o);
        json_decref(o);
        json_decref(off);
        if (!ok)
            return false;
    }
    return call(c, s, s->prov->del, now, NULL, out);
}

/* The undo's provider calls (note [rollback]); false with s->err. Reads
 * only the step (s->now, s->orig): other undos change the state meanwhile. */
static bool undo_change(ctx *c, step *s)
{
    json_t *out = NULL, *now = json_object_get(s->now, "attributes");
    json_t *before = json_object_get(s->orig, "attributes");
    bool can_recreate = mk_provcall_caps(s->prov, s->type) & MK_PROV_CAN_RECREATE;
    bool ok = true;
    s->attempts = 0;
    s->partial = false;
    if ((s->retire || strcmp(s->action, "delete") == 0 || (!s->cbd && strcmp(s->action, "replace") == 0)) &&
        !can_recreate) {
        /* note [irreversible last]: it ran last, and something after it failed */
        snprintf(s->err, sizeof s->err, "cannot be undone: the %s provider cannot make a deleted %s again, and the "
                 "data it held cannot come back",
                 s->prov->kind, s->type);
        return false;
    }
    if (s->retire) { /* note [create_before_destroy]: made again, still set aside */
        json_t *dep = NULL, *x;
        size_t i;
        json_array_foreach(json_object_get(s->orig, "deposed"), i, x)
            if (strcmp(json_string_value(json_object_get(x, "id")) ?: "", s->retire_id) == 0)
                dep = json_object_get(x, "attributes");
        ok = call_as(c, s, s->prov->create, dep, dep, &out, NULL, true);
    } else if (s->cbd || (strcmp(s->action, "replace") == 0 && !s->half)) {
        /* delete the replacement; take the old object back (cbd) or re-create it */
        ok = del_made(c, s, now, &out);
        json_decref(out);
        out = NULL;
        s->partial = ok;
        ok = ok && call(c, s, s->prov->create, before, before, &out);
    } else if (strcmp(s->action, "create") == 0 && s->adopted) {
        /* note [adopted]: not made by this apply, so not deleted by it */
        snprintf(s->err, sizeof s->err, "the create found an object already at %s and took it over (made by a run that "
                 "stopped before recording it, or removed from the state by `state rm`): it was not made by this apply, "
                 "so it is kept", s->address);
        ok = false;
    } else if (strcmp(s->action, "create") == 0) {
        ok = del_made(c, s, now ? now : json_object_get(s->change, "after"), &out);
    } else if (strcmp(s->action, "update") == 0) {
        ok = call(c, s, s->prov->update, before, now, &out);
    } else { /* delete, half-done replace */
        ok = call(c, s, s->prov->create, before, before, &out);
    }
    if (ok)
        s->partial = false;
    json_decref(out);
    return ok;
}

/* note [guarded steps]: a forgotten delete only has its entry put back;
 * an import is updated back to what was read and forgotten (an imported
 * object is never deleted by a rollback); a moved object is moved back
 * once its change is undone. */
static bool undo(ctx *c, step *s)
{
    json_t *out = NULL;
    bool ok = true;
    s->attempts = 0;
    if (s->gone && strcmp(s->action, "delete") == 0)
        return true;
    if (strcmp(s->action, "import") == 0) {
        ok = !s->reset || call(c, s, s->prov->update, s->seen, json_object_get(s->now, "attributes"), &out);
        json_decref(out);
        return ok;
    }
    if (strcmp(s->action, "move") != 0)
        ok = undo_change(c, s);
    if (ok && s->moved) {
        mk_prov_op op = {.address = s->moved_from, .attrs = json_object_get(s->now, "attributes"), .moved_from = s->address};
        ok = call_op(c, s, s->prov->move, op, &out);
        json_decref(out);
        s->moved = !ok;
    }
    return ok;
}

static const char *undo_name(const step *s)
{
    return s->retire ? "re-create deposed" : s->cbd ? "restore" : !strcmp(s->action, "create") ? "delete"
           : !strcmp(s->action, "update") ? "update back" : !strcmp(s->action, "import") ? "forget"
           : !strcmp(s->action, "move") ? "move back" : s->gone ? "put back" : "re-create";
}

static void put_entry(ctx *c, const char *address, json_t *entry)
{
    if (entry)
        mk_rtstate_put(c->sess.st, json_deep_copy(entry));
    else
        mk_rtstate_remove(c->sess.st, address);
}

/* An undo that did not finish: the state records what the world still
 * holds (the step's outcome, at its address). */
static void undo_left(ctx *c, step *s)
{
    if (s->moved_from && s->moved)
        mk_rtstate_remove(c->sess.st, s->moved_from);
    put_entry(c, s->address, s->partial ? NULL : s->now);
}

static bool rb_run(void *vr, size_t node)
{
    rb *r = vr;
    if (node < r->m)
        return true; /* an intent: recorded under the lock, persisted before its undo starts */
    step *s = &r->c->steps[r->u[node - r->m]];
    double t = mk_clock_now_ms();
    bool ok = undo(r->c, s);
    s->ms = mk_clock_now_ms() - t;
    return ok;
}

static void rb_record(void *vr, size_t node, bool ok)
{
    rb *r = vr;
    ctx *c = r->c;
    step *s = &c->steps[r->u[node % r->m]];
    c->sess.dirty = true;
    if (node < r->m) { /* the intent: the undo's outcome, written ahead */
        json_t *cur = mk_rtstate_get(c->sess.st, s->address);
        json_decref(s->now);
        s->now = cur ? json_deep_copy(cur) : NULL;
        s->what = undo_name(s);
        put_entry(c, s->address, s->orig);
        if (s->moved_from && s->moved) /* the entry goes back to where the object was */
            mk_rtstate_remove(c->sess.st, s->address);
        mk_rtstate_set_intent(c->sess.st, s->address, json_pack("{s:s, s:s, s:s, s:I}", "op", "undo", "undo", s->what, "action",
                                                           s->action, "change", (json_int_t)s->id));
        mk_session_add(&c->sess, json_pack("{s:s, s:s, s:s, s:s}", "event", "rollback.intent", "address", s->address, "action",
                              s->action, "undo", s->what));
        return;
    }
    mk_rtstate_set_intent(c->sess.st, s->address, NULL);
    if (!ok) /* the world still holds what the step made, or nothing if the undo got half way */
        undo_left(c, s);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "event", "rollback", "address", s->address, "action",
                           s->action, "undo", s->what, "status", ok ? "ok" : "failed", "ms", (json_int_t)s->ms,
                           "attempts", s->attempts);
    if (!ok)
        json_object_set_new(ev, "error", json_string(s->err));
    mk_session_add(&c->sess, ev);
    if (c->tty)
        fputs("\r\033[K", stdout);
    if (ok)
        printf("  ↺   %-11s %s  (%.0f ms)\n", s->what, s->address, s->ms);
    else {
        fprintf(stderr, "  ✗   %-11s %s failed: %s\n", s->what, s->address, s->err);
        fflush(stderr);
    }
    r->undone += ok;
}

static void *rb_snapshot(void *vr) { return snapshot(((rb *)vr)->c); }
static bool rb_flush(void *vr, void *batch) { return flush(((rb *)vr)->c, batch); }
static bool rb_stop(void *vr)
{
    (void)vr;
    return interrupts >= 2;
}
static void rb_tick(void *vr, const mk_sched_stats *st)
{
    (void)vr, (void)st;
    fflush(stdout);
}

/* The undo graph: intent k before undo k; the intent of what a step
 * depended on after that step's undo (note [parallel rollback]). */
static bool rb_graph(rb *r, const mk_sched *fwd, mk_sched *g)
{
    size_t m = r->m, *pos = calloc(r->c->n + 1, sizeof *pos);
    size_t **deps = calloc(2 * m + 1, sizeof *deps), *ndeps = calloc(2 * m + 1, sizeof *ndeps);
    g->deps = deps;
    g->ndeps = ndeps;
    g->n = 2 * m;
    if (!pos || !deps || !ndeps) {
        free(pos);
        return false;
    }
    for (size_t k = 0; k < m; k++)
        pos[r->u[k]] = k + 1;
    size_t *count = calloc(m + 1, sizeof *count);
    for (size_t k = 0; count && k < m; k++) /* how many undos each intent waits for */
        for (size_t d = 0; d < fwd->ndeps[r->u[k]]; d++)
            if (pos[fwd->deps[r->u[k]][d]])
                count[pos[fwd->deps[r->u[k]][d]] - 1]++;
    for (size_t k = 0; count && k < m; k++) {
        deps[k] = calloc(count[k] + 1, sizeof **deps);
        deps[m + k] = calloc(2, sizeof **deps);
        if (!deps[k] || !deps[m + k]) {
            free(count);
            free(pos);
            return false;
        }
        deps[m + k][ndeps[m + k]++] = k;
    }
    for (size_t k = 0; count && k < m; k++)
        for (size_t d = 0; d < fwd->ndeps[r->u[k]]; d++)
            if (pos[fwd->deps[r->u[k]][d]]) {
                size_t on = pos[fwd->deps[r->u[k]][d]] - 1;
                deps[on][ndeps[on]++] = m + k;
            }
    bool ok = count != NULL;
    free(count);
    free(pos);
    return ok;
}

static void rb_free_graph(mk_sched *g)
{
    for (size_t i = 0; g->deps && i < g->n; i++)
        free(g->deps[i]);
    free((void *)g->deps);
    free((void *)g->ndeps);
    mk_sched_free(g);
}

/* Undo what completed (and half-done replaces), in parallel, in reverse
 * dependency order; the steps left are listed in `left`. */
static size_t rollback(ctx *c, const mk_sched *sc, json_t *left)
{
    rb r = {.c = c, .u = calloc(c->n + 1, sizeof *r.u)};
    for (size_t i = 0; r.u && i < c->n; i++)
        if (sc->status[i] == MK_SCHED_DONE || (c->steps[i].half && sc->status[i] == MK_SCHED_FAILED))
            r.u[r.m++] = i;
    printf("Rolling back %zu completed step%s:\n", r.m, r.m == 1 ? "" : "s");
    fflush(stdout);
    static const mk_sched_ops ops = {rb_run, rb_record, rb_snapshot, rb_flush, rb_stop, rb_tick};
    mk_sched g = {.parallelism = c->o->parallelism, .keep_going = true};
    bool ran = r.m && rb_graph(&r, sc, &g) && mk_sched_run(&g, &ops, &r);
    if (r.m && !ran && !g.status)
        fprintf(stderr, "moksha-exec: error: out of memory for the rollback\n");
    bool fix = false;
    for (size_t k = 0; k < r.m; k++) {
        step *s = &c->steps[r.u[k]];
        mk_sched_status is = g.status ? g.status[r.m + k] : MK_SCHED_PENDING;
        if (is == MK_SCHED_DONE)
            continue;
        if (g.status && g.status[k] == MK_SCHED_DONE && is != MK_SCHED_FAILED) { /* its intent, but not its undo, ran */
            mk_rtstate_set_intent(c->sess.st, s->address, NULL);
            s->partial = false;
            undo_left(c, s);
            fix = c->sess.dirty = true;
        }
        const char *why = is == MK_SCHED_FAILED ? s->err : interrupts >= 2 ? "interrupted (second Ctrl-C)"
                        : g.flush_failed ? "not undone: the state could not be written"
                                         : "not undone: it waits for the undo of a change that depends on it, which failed";
        json_array_append_new(left, json_pack("{s:s, s:s, s:s}", "address", s->address, "action",
                                              s->half ? "replace (old deleted, new not created)" : s->action, "error", why));
    }
    if (fix)
        mk_session_flush(&c->sess);
    rb_free_graph(&g);
    free(r.u);
    return r.undone;
}

/* ---- checks before running ---- */

static int risk_rank(const char *r)
{
    return !r ? 0 : !strcmp(r, "low") ? 1 : !strcmp(r, "medium") ? 2 : !strcmp(r, "high") ? 3 : 4;
}

static bool approved(const mk_exec_opts *o, const char *policy, const char *address)
{
    for (size_t i = 0; i < o->napprove; i++) {
        const char *a = o->approve[i], *colon = strchr(a, ':');
        size_t n = colon ? (size_t)(colon - a) : strlen(a);
        if (policy && strlen(policy) == n && strncmp(a, policy, n) == 0 &&
            (!colon || (address && strcmp(colon + 1, address) == 0)))
            return true;
    }
    return false;
}

/* note [approvals match] in compiler/cli/cmd_apply.c: an --approve that names
 * nothing opens nothing, silently. moksha says so with a did-you-mean before
 * it runs the executor; the executor, which may be run on its own, refuses
 * such a run too. */
static bool approvals_name_gates(const ctx *c)
{
    bool ok = true;
    for (size_t i = 0; i < c->o->napprove; i++) {
        const char *a = c->o->approve[i], *colon = strchr(a, ':');
        size_t n = colon ? (size_t)(colon - a) : strlen(a), k;
        bool policy = false, gate = false;
        json_t *it;
        json_array_foreach(json_object_get(c->plan, "policies"), k, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            policy |= name && strlen(name) == n && !strncmp(name, a, n);
        }
        json_array_foreach(json_object_get(c->plan, "gates"), k, it) {
            const char *pol = json_string_value(json_object_get(it, "policy"));
            const char *addr = json_string_value(json_object_get(it, "address"));
            gate |= pol && strlen(pol) == n && !strncmp(pol, a, n) && (!colon || (addr && !strcmp(addr, colon + 1)));
        }
        if (!policy || (colon && !gate)) {
            fprintf(stderr, "moksha-exec: error: --approve %s names %s of this plan\n", a,
                    !policy ? "no policy" : "no gate");
            ok = false;
        }
    }
    return ok;
}

static void hold_id(json_t *held, json_int_t id)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)id);
    json_object_set_new(held, key, json_true());
}

static bool is_held(json_t *held, json_int_t id)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)id);
    return json_object_get(held, key) != NULL;
}

static bool is_cbd(json_t *change);

/* A create_before_destroy replace whose dependent is held still runs, but
 * its old object is not retired: the held change still points at it. It
 * stays deposed in the state, and the plan after the gate opens deletes it
 * after the dependent has moved (note [create_before_destroy]). */
static void keep_for_held(ctx *c, json_t *changes, json_t *held)
{
    size_t i, k;
    json_t *ch, *d, *by_id = json_object();
    char key[32];
    json_array_foreach(changes, i, ch)
        if (json_object_size(held) && is_cbd(ch)) {
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(ch, "id")));
            json_object_set(by_id, key, ch);
        }
    json_array_foreach(changes, i, ch) {
        if (!json_object_size(by_id) || !is_held(held, json_integer_value(json_object_get(ch, "id"))))
            continue;
        json_array_foreach(json_object_get(ch, "depends_on"), k, d) {
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(d));
            json_t *on = json_object_get(by_id, key);
            if (!on || !is_cbd(on) || is_held(held, json_integer_value(d)) || is_held(c->keep_deposed, json_integer_value(d)))
                continue;
            hold_id(c->keep_deposed, json_integer_value(d));
            fprintf(stderr, "moksha-exec: %s: the old object stays, set aside, while %s is held; a later apply retires it\n",
                    json_string_value(json_object_get(on, "address")), json_string_value(json_object_get(ch, "address")));
        }
    }
    json_decref(by_id);
}

static void notify(ctx *c, const char *event, const char *summary, json_t *details);
/* gate.approved told: gate g of the plan opened by by (taken: "--approve",
 * or the approvers [{"name", "key_id", "id"}]). */
static void notify_gate(ctx *c, json_t *g, json_t *by)
{
    const char *pol = json_string_value(json_object_get(g, "policy")), *addr = json_string_value(json_object_get(g, "address"));
    char line[512];
    snprintf(line, sizeof line, "approval gate %s%s%s (group %s) opened", pol ? pol : "?", addr ? " on " : "",
             addr ? addr : "", json_string_value(json_object_get(g, "group")) ?: "?");
    notify(c, "gate.approved", line, json_pack("{s:s?, s:O?, s:s?, s:o}", "policy", pol, "group",
                                               json_object_get(g, "group"), "address", addr, "by", by));
}

/* An automation signer's boundary (docs/trust.md, "Autonomy boundaries"):
 * a plan-wide limit crossed holds every change, a change's own holds it;
 * each said with the limit, and audited (boundary.held or boundary.ok). */
static void hold_boundary(ctx *c, json_t *held)
{
    json_t *r = mk_boundary_check(c->trust, &c->who, c->plan, c->sess.st, time(NULL)), *reasons = json_array(), *v, *ch;
    json_t *whole = json_object_get(r, "plan");
    size_t i;
    json_array_foreach(whole, i, v) {
        fprintf(stderr, "moksha-exec: the plan is outside the boundary of automation `%s`: %s: every change is held\n",
                c->who.name, json_string_value(v));
        json_array_append_new(reasons, json_pack("{s:n, s:O}", "address", "reason", v));
    }
    json_array_foreach(json_object_get(c->plan, "changes"), i, ch) {
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(ch, "id")));
        if ((v = json_object_get(json_object_get(r, "changes"), id))) {
            fprintf(stderr, "moksha-exec: %s is held by the boundary of automation `%s`: %s\n",
                    json_string_value(json_object_get(ch, "address")), c->who.name, json_string_value(v));
            json_array_append_new(reasons, json_pack("{s:O, s:O}", "address", json_object_get(ch, "address"), "reason", v));
        }
        if (v || json_array_size(whole))
            hold_id(held, json_integer_value(json_object_get(ch, "id")));
    }
    mk_session_add(&c->sess, json_pack("{s:s, s:s, s:s, s:o}", "event", json_array_size(reasons) ? "boundary.held" : "boundary.ok",
                                       "automation", c->who.name, "key_id", c->who.id, "reasons", reasons));
    json_decref(r);
}

/* note [signed gates]: in trust mode a gate opens by signed approvals
 * alone (runtime/approval.c, note [who counts]): as many distinct members
 * of its group as its count, each approving this gate for exactly the
 * changes it stands in front of now — so an approval given for a held
 * change counts for the next plan of the same change, and for nothing
 * else — or by break glass. Audited with every approver's name and key
 * id; a closed gate says what is missing and how to approve. */
static bool signed_gate(ctx *c, json_t *g, json_t *changes)
{
    const char *pol = json_string_value(json_object_get(g, "policy"));
    const char *addr = json_string_value(json_object_get(g, "address"));
    const char *group = json_string_value(json_object_get(g, "group"));
    json_t *by = NULL;
    char why[768];
    bool open = c->glass;
    if (!open)
        open = mk_approval_gate(c->apv, g, changes, c->who.name, c->who.id, &by, why, sizeof why);
    json_t *ev = json_pack("{s:s, s:s?, s:s?, s:s?}", "event", open ? "gate.approved" : "gate.closed", "policy", pol,
                           "group", group, "address", addr);
    if (json_is_integer(json_object_get(g, "count")))
        json_object_set(ev, "count", json_object_get(g, "count"));
    if (c->glass)
        json_object_set_new(ev, "by", json_string("break glass"));
    else if (open)
        json_object_set(ev, "by", by);
    else
        json_object_set_new(ev, "missing", json_string(why));
    mk_session_add(&c->sess, ev);
    if (open)
        notify_gate(c, g, c->glass ? json_string("break glass") : json_incref(by));
    if (!open)
        fprintf(stderr, "moksha-exec: approval gate %s%s%s is closed: %s. Approve it with `moksha approve %s %s%s%s --key "
                "KEY --reason TEXT` (one for each approver) and apply with --approval FILE; an approval counts for the "
                "next plan of the same change too, so plan again after this apply\n", pol ?: "?", addr ? " on " : "",
                addr ?: "", why, c->plan_path ? c->plan_path : "PLAN", pol ?: "?", addr ? ":" : "", addr ?: "");
    json_decref(by);
    return open;
}

/* Trust mode: an overridden policy needs a signed override by its
 * override_by group, and a waived violation the waiver the plan embeds,
 * by that group too (docs/trust.md, "Overrides and waivers"); never the
 * plan's signer, never an automation key. False with why: refused. */
static bool trust_policies(ctx *c, char *why, size_t whylen)
{
    size_t i, k;
    json_t *r, *w;
    json_array_foreach(json_object_get(c->plan, "policies"), i, r) {
        json_t *by = NULL;
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!strcmp(json_string_value(json_object_get(r, "status")) ?: "", "overridden")) {
            if (!mk_approval_override(c->apv, r, c->who.name, c->who.id, &by, why, whylen)) {
                json_decref(by);
                return false;
            }
            mk_session_add(&c->sess, json_pack("{s:s, s:s?, s:O}", "event", "override.approved", "policy", name, "by", by));
            json_decref(by);
        }
        json_array_foreach(json_object_get(r, "waived"), k, w) {
            if (!mk_approval_waiver(c->apv, r, w, c->who.name, c->who.id, &by, why, whylen)) {
                json_decref(by);
                return false;
            }
            mk_session_add(&c->sess, json_pack("{s:s, s:s?, s:O?, s:O?, s:O?, s:O}", "event", "waiver.used", "policy", name,
                                               "address", json_object_get(w, "address"), "id", json_object_get(w, "waiver"),
                                               "expires", json_object_get(w, "expires"), "by", by));
            json_decref(by);
        }
    }
    return true;
}

/* Trust mode: the approvals given and embedded, audited as taken or
 * refused; then whether glass is broken for this very plan. */
static void take_approvals(ctx *c, const char *sha)
{
    json_t *events = json_array(), *e, *by = NULL;
    size_t i;
    const char *env = json_string_value(json_object_get(c->plan, "env"));
    char store[PATH_MAX];
    snprintf(store, sizeof store, "%s/approvals", MK_PATH_ENV_DIR); /* kept by moksha-exec approval add */
    c->apv = mk_approval_load(c->trust, c->stack_id, env, store, c->o->approval_files, c->o->napproval_files,
                              c->o->approval_texts, json_object_get(c->plan, "waivers"), time(NULL), events);
    json_array_foreach(events, i, e)
        mk_session_add(&c->sess, json_incref(e));
    json_decref(events);
    char why[512];
    const char *digest = json_string_value(json_object_get(json_object_get(c->plan, "signature"), "digest"));
    c->glass = mk_approval_break_glass(c->apv, digest, c->who.name, c->who.id, &by, why, sizeof why);
    if (c->glass) {
        fprintf(stderr, "moksha-exec: BREAK GLASS: every gate of this plan opens and no boundary holds, by ");
        size_t k;
        json_t *x;
        json_array_foreach(by, k, x)
            fprintf(stderr, "%s%s (key %s)", k ? " and " : "", json_string_value(json_object_get(x, "name")),
                    json_string_value(json_object_get(x, "key_id")));
        fprintf(stderr, "; audited, and listed by `audit show` until acknowledged\n");
        mk_session_add(&c->sess, json_pack("{s:s, s:O, s:s, s:s?}", "event", "break_glass", "by", by, "plan_sha256", sha,
                                           "plan_digest", digest));
        notify(c, "break_glass", "break glass: every gate of the plan opens and no boundary holds",
               json_pack("{s:O, s:s}", "by", by, "plan_sha256", sha));
    } else if (why[0])
        fprintf(stderr, "moksha-exec: no break glass: %s\n", why);
    json_decref(by);
}

/* note [gates]: a change behind a closed approval gate, or riskier than
 * --auto-approve-risk, is held — and so is everything that depends on it;
 * the rest of the plan runs (DESIGN.md §4). Opened gates are audited. The
 * held changes are taken out of the plan; their count is returned. */
static size_t hold_gated(ctx *c)
{
    mk_boundary_add_gates(c->trust, c->plan, c->sess.st); /* the trust file's own gates: opened as any other */
    json_t *held = json_object(), *changes = json_object_get(c->plan, "changes");
    size_t i, k;
    json_t *g, *ch;
    json_array_foreach(json_object_get(c->plan, "gates"), i, g) {
        const char *pol = json_string_value(json_object_get(g, "policy"));
        const char *addr = json_string_value(json_object_get(g, "address"));
        if (c->trust) { /* note [signed gates]: only approvals of the trust file's approvers open a gate */
            if (signed_gate(c, g, changes))
                continue;
            goto closed;
        }
        bool open = approved(c->o, pol, addr);
        mk_session_add(&c->sess, json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "event", open ? "gate.approved" : "gate.closed", "policy", pol,
                              "group", json_string_value(json_object_get(g, "group")), "address", addr, "by", "--approve"));
        if (open) {
            notify_gate(c, g, json_string("--approve"));
            continue;
        }
        else
            fprintf(stderr, "moksha-exec: approval gate %s%s%s is closed (approver: %s); open it with --approve %s%s%s\n",
                    pol ?: "?", addr ? " on " : "", addr ?: "", json_string_value(json_object_get(g, "group")) ?: "?",
                    pol ?: "?", addr ? ":" : "", addr ?: "");
    closed:
        json_array_foreach(changes, k, ch)
            if (!json_is_integer(json_object_get(g, "change")) ||
                json_integer_value(json_object_get(g, "change")) == json_integer_value(json_object_get(ch, "id")))
                hold_id(held, json_integer_value(json_object_get(ch, "id")));
    }
    int limit = risk_rank(c->o->auto_approve_risk);
    json_array_foreach(changes, i, ch) {
        const char *risk = json_string_value(json_object_get(ch, "risk"));
        if (limit && risk_rank(risk) > limit) {
            fprintf(stderr, "moksha-exec: %s is %s risk, above --auto-approve-risk %s: held\n",
                    json_string_value(json_object_get(ch, "address")), risk ?: "unknown", c->o->auto_approve_risk);
            hold_id(held, json_integer_value(json_object_get(ch, "id")));
        }
    }
    if (c->trust && (c->who.roles & MK_TRUST_AUTOMATION) && !c->glass) /* break glass lifts the boundary */
        hold_boundary(c, held);
    for (bool grew = json_object_size(held) > 0; grew;) { /* what depends on a held change waits too */
        grew = false;
        json_array_foreach(changes, i, ch) {
            json_t *d;
            if (is_held(held, json_integer_value(json_object_get(ch, "id"))))
                continue;
            json_array_foreach(json_object_get(ch, "depends_on"), k, d)
                if (is_held(held, json_integer_value(d))) {
                    hold_id(held, json_integer_value(json_object_get(ch, "id")));
                    grew = true;
                    break;
                }
        }
    }
    size_t n = json_object_size(held);
    keep_for_held(c, changes, held);
    if (n) {
        json_t *rest = json_array();
        json_array_foreach(changes, i, ch) {
            if (!is_held(held, json_integer_value(json_object_get(ch, "id"))))
                json_array_append(rest, ch);
            else
                fprintf(stderr, "moksha-exec: held: %s %s\n", json_string_value(json_object_get(ch, "action")),
                        json_string_value(json_object_get(ch, "address")));
        }
        json_object_set_new(c->plan, "changes", rest);
    }
    json_decref(held);
    return n;
}

static bool stale(ctx *c)
{
    json_t *ps = json_object_get(c->plan, "state");
    const char *plin = json_string_value(json_object_get(ps, "lineage")) ?: "";
    long long pser = json_integer_value(json_object_get(ps, "serial"));
    const char *slin = mk_rtstate_lineage(c->sess.st);
    long long sser = mk_rtstate_serial(c->sess.st);
    if (strcmp(plin, slin) == 0 && pser == sser)
        return false;
    if (strcmp(plin, slin) != 0)
        fprintf(stderr, "moksha-exec: error: the plan is stale: it was made for state lineage `%s`, the state's is `%s`; "
                        "run `moksha plan` again\n", *plin ? plin : "(none: no state yet)", *slin ? slin : "(none)");
    else
        fprintf(stderr, "moksha-exec: error: the plan is stale: it was made against state serial %lld, the state is at "
                        "serial %lld (it was applied or changed since); run `moksha plan` again\n", pser, sser);
    return true;
}

/* note [stack id]: a plan names the stack it was made in (its
 * .moksha/stack-id, state.stack_id in the plan) and the state records the
 * stack it belongs to; a plan is refused in any other stack — a fresh one
 * without an id included — and a state copied from another stack too.
 * False (reported) when the plan does not belong here. */
static bool same_stack(ctx *c)
{
    char here[33], why[512];
    const char *planned = json_string_value(json_object_get(json_object_get(c->plan, "state"), "stack_id"));
    const char *recorded = json_string_value(json_object_get(c->sess.st->doc, "stack_id"));
    if (!mk_planfile_stack_id(MK_PATH_DIR, here, why, sizeof why))
        fprintf(stderr, "moksha-exec: error: %s\n", why);
    else if (!planned)
        fprintf(stderr, "moksha-exec: error: the plan names no stack id: it was not made for this stack; run `moksha plan -o` "
                        "here\n");
    else if (!*here)
        fprintf(stderr, "moksha-exec: error: the plan was made for stack id %s, and this stack has none (%s/stack-id): a plan "
                        "applies only in the stack it was made in; run `moksha plan -o` here\n", planned, MK_PATH_DIR);
    else if (strcmp(planned, here) != 0)
        fprintf(stderr, "moksha-exec: error: the plan was made for stack id %s, this stack's is %s (%s/stack-id): a plan "
                        "applies only in the stack it was made in; run `moksha plan -o` here\n", planned, here, MK_PATH_DIR);
    else if (recorded && strcmp(recorded, here) != 0)
        fprintf(stderr, "moksha-exec: error: the state belongs to stack id %s, this stack's is %s (%s/stack-id): it was "
                        "copied from another stack\n", recorded, here, MK_PATH_DIR);
    else {
        if (!recorded)
            json_object_set_new(c->sess.st->doc, "stack_id", json_string(here));
        /* what a refresh reads the objects with (docs/drift.md "Provider settings") */
        mk_rtstate_set_providers(c->sess.st, json_object_get(c->plan, "providers"));
        return true;
    }
    return false;
}

/* How a backend binding reads in a message: planned "the local state",
 * "the postgres state of web/prod"; kept "this stack's state on local",
 * "web/prod on postgres". */
static void binding_words(json_t *b, bool planned, char *out, size_t n)
{
    const char *kind = json_string_value(json_object_get(b, "kind")) ?: "local";
    const char *st = json_string_value(json_object_get(b, "stack")), *env = json_string_value(json_object_get(b, "env"));
    char who[200];
    snprintf(who, sizeof who, "%s%s%s", st ? st : "this stack", env ? "/" : "", env ? env : "");
    if (planned)
        snprintf(out, n, "the %s state%s%s", kind, st || env ? " of " : "", st || env ? who : "");
    else
        snprintf(out, n, "%s on %s", st || env ? who : "this stack's state", kind);
}

/* note [plan backend] (docs/state.md, "Plans are bound to their backend"):
 * a plan names the backend it read the state from (none: plain local files
 * without an environment); the executor refuses one made against another
 * kind, stack or environment than its configuration gives now. False
 * (reported) when they differ. */
static bool same_backend(ctx *c)
{
    json_t *planned = json_object_get(c->plan, "backend"), *now = mk_backend_binding(c->sess.be);
    /* none: the local files of the plan's own environment (a plan made through the service names none) */
    json_t *local = json_pack("{s:s, s:n, s:O?}", "kind", "local", "stack", "env", json_object_get(c->plan, "env"));
    json_t *p = json_is_object(planned) ? planned : local;
    bool same = json_equal(json_object_get(p, "kind"), json_object_get(now, "kind")) &&
                json_equal(json_object_get(p, "env") ?: json_null(), json_object_get(now, "env") ?: json_null()) &&
                json_equal(json_object_get(p, "stack") ?: json_null(), json_object_get(now, "stack") ?: json_null());
    if (!same) {
        char was[256], is[256];
        binding_words(p, true, was, sizeof was);
        binding_words(now, false, is, sizeof is);
        fprintf(stderr, "moksha-exec: error: planned against %s; this executor keeps %s: plan again\n", was, is);
    }
    json_decref(local);
    json_decref(now);
    return same;
}

static bool is_cbd(json_t *change)
{
    return strcmp(json_string_value(json_object_get(change, "action")) ?: "", "replace") == 0 &&
           json_is_true(json_object_get(json_object_get(change, "lifecycle"), "create_before_destroy"));
}

static void add_dep(size_t **deps, size_t *ndeps, size_t i, size_t on)
{
    for (size_t k = 0; k < ndeps[i]; k++)
        if (deps[i][k] == on)
            return;
    deps[i][ndeps[i]++] = on;
}

/* note [guarded steps]: which steps read their object first, and where. */
static void guard_fields(step *s)
{
    json_t *ch = s->change;
    const char *a = s->action;
    s->moved_from = json_string_value(json_object_get(ch, "moved_from"));
    s->import_id = json_string_value(json_object_get(json_object_get(ch, "import"), "id"));
    s->gone = strcmp(json_string_value(json_object_get(json_object_get(ch, "drift"), "status")) ?: "", "gone") == 0;
    /* a create of an object observed gone must find it still absent: the
     * observation may be stale (or planted), and the create's adoption
     * would take over what is there */
    bool guarded = !s->retire && (!strcmp(a, "update") || !strcmp(a, "replace") || !strcmp(a, "delete") ||
                                  !strcmp(a, "move") || !strcmp(a, "import") || (s->gone && !strcmp(a, "create")));
    s->read_at = guarded ? s->moved_from ? s->moved_from : s->address : NULL;
    s->preflight = guarded && (!s->import_id || json_is_object(json_object_get(ch, "before")));
}

/* note [irreversible last]: deleting an object whose data cannot come
 * back — the plan's change says `"irreversible": true` (a database, a
 * volume: a @stateful type), or its provider cannot re-create the type
 * (caps_of without MK_PROV_CAN_RECREATE) — is a step no rollback can take
 * back. Such a step waits for every step of the apply that does not itself
 * come after one (those cannot run before it): it starts only once all of
 * them succeeded, so a failure anywhere else stops the run before it and
 * never needs it undone. What depends on it still runs after it; a failure
 * there, or of another irreversible step beside it, leaves it undone, and
 * the rollback says so (exit 5, with the reason). A
 * create_before_destroy replace deletes nothing but in its retire, which is
 * the irreversible step; a forgotten delete makes no call. */
static bool irreversible(const step *s)
{
    const char *a = s->action;
    bool deletes = s->retire || (!s->cbd && !strcmp(a, "replace")) || (!strcmp(a, "delete") && !s->gone);
    return deletes && (mk_planfile_irreversible(s->change) ||
                       !(mk_provcall_caps(s->prov, s->type) & MK_PROV_CAN_RECREATE));
}

/* Which steps come after an irreversible one, it included: after[i]
 * (NULL: out of memory). Passes until nothing changes; a plan lists a
 * change after those it depends on, so one pass marks all. */
static bool *after_irreversible(const ctx *c, size_t *const *deps, const size_t *ndeps)
{
    bool *after = calloc(c->n + 1, sizeof *after), grew = true;
    for (size_t i = 0; after && i < c->n; i++)
        after[i] = irreversible(&c->steps[i]);
    while (after && grew) {
        grew = false;
        for (size_t i = 0; i < c->n; i++)
            for (size_t k = 0; !after[i] && k < ndeps[i]; k++)
                if (after[deps[i][k]])
                    after[i] = grew = true;
    }
    return after;
}

/* note [irreversible last]: each irreversible step waits for the steps
 * that come after none — those of them no other such step waits for,
 * which is enough (the rest come before those). False: out of memory. */
static bool irreversible_last(ctx *c, size_t **deps, size_t *ndeps)
{
    size_t n = c->n, m = 0, *last = calloc(n + 1, sizeof *last), *seen = calloc(n + 1, sizeof *seen);
    bool *after = after_irreversible(c, deps, ndeps), *waited = calloc(n + 1, sizeof *waited);
    bool ok = last && seen && after && waited;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t k = 0; !after[i] && k < ndeps[i]; k++)
            waited[deps[i][k]] = true;
    for (size_t j = 0; ok && j < n; j++)
        if (!after[j] && !waited[j])
            last[m++] = j;
    for (size_t i = 0; ok && m && i < n; i++) {
        if (!irreversible(&c->steps[i]))
            continue;
        size_t *d = realloc(deps[i], (ndeps[i] + m + 1) * sizeof *d);
        if (!(ok = d != NULL))
            break;
        deps[i] = d;
        for (size_t k = 0; k < ndeps[i]; k++)
            seen[d[k]] = i + 1;
        for (size_t k = 0; k < m; k++)
            if (seen[last[k]] != i + 1)
                d[ndeps[i]++] = last[k];
    }
    free(last);
    free(seen);
    free(after);
    free(waited);
    return ok;
}

/* Steps and their dependency lists from the plan, and a retire node for
 * each create_before_destroy replace (note [create_before_destroy]). */
static bool build(ctx *c, mk_sched *sc, char *why, size_t whylen)
{
    json_t *changes = json_object_get(c->plan, "changes");
    size_t n = json_array_size(changes), ncbd = 0, i, k;
    json_t *ch;
    json_array_foreach(changes, i, ch)
        ncbd += is_cbd(ch) && !is_held(c->keep_deposed, json_integer_value(json_object_get(ch, "id")));
    c->n = n + ncbd;
    c->steps = calloc(c->n + 1, sizeof *c->steps);
    size_t **deps = calloc(c->n + 1, sizeof *deps), *ndeps = calloc(c->n + 1, sizeof *ndeps);
    sc->deps = deps;
    sc->ndeps = ndeps;
    sc->n = c->n;
    if (!c->steps || !deps || !ndeps) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    json_t *by_id = json_object();
    for (i = 0; i < n; i++) {
        step *s = &c->steps[i];
        s->change = json_array_get(changes, i);
        s->address = json_string_value(json_object_get(s->change, "address")) ?: "?";
        s->action = json_string_value(json_object_get(s->change, "action")) ?: "?";
        s->type = json_string_value(json_object_get(s->change, "type")) ?: "?";
        s->id = json_integer_value(json_object_get(s->change, "id"));
        s->cbd = is_cbd(s->change);
        s->retire_id = json_string_value(json_object_get(s->change, "deposed"));
        s->retire = s->retire_id != NULL;
        if (s->cbd) {
            s->retire_id = json_string_value(json_object_get(json_object_get(s->change, "before"), "id"));
            if (!s->retire_id) { /* objects named by their attributes (local files) */
                snprintf(s->retire_buf, sizeof s->retire_buf, "change-%lld", (long long)s->id);
                s->retire_id = s->retire_buf;
            }
        }
        guard_fields(s);
        json_t *cur = mk_rtstate_get(c->sess.st, s->moved_from ? s->moved_from : s->address);
        s->orig = cur ? json_deep_copy(cur) : NULL;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)s->id);
        json_object_set_new(by_id, key, json_integer((json_int_t)i));
    }
    bool ok = true;
    for (i = 0; i < n && ok; i++) {
        json_t *d = json_object_get(c->steps[i].change, "depends_on"), *v;
        deps[i] = calloc(json_array_size(d) + 1, sizeof **deps);
        json_array_foreach(d, k, v) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(v));
            json_t *idx = json_object_get(by_id, key);
            if (!idx) {
                snprintf(why, whylen, "change %s depends on change %s, which the plan does not have", c->steps[i].address, key);
                ok = false;
                break;
            }
            add_dep(deps, ndeps, i, (size_t)json_integer_value(idx));
        }
        ok = ok && bind_step(c, &c->steps[i], why, whylen);
    }
    json_decref(by_id);
    size_t *nrdep = ncbd && ok ? calloc(n + 1, sizeof *nrdep) : NULL, **rdep = nrdep ? calloc(n + 1, sizeof *rdep) : NULL;
    for (i = 0; rdep && i < n; i++) /* who waits for each change: a retire waits for them too */
        for (k = 0; k < ndeps[i]; k++)
            nrdep[deps[i][k]]++;
    for (i = 0; rdep && i < n; i++) {
        rdep[i] = c->steps[i].cbd ? calloc(nrdep[i] + 1, sizeof **rdep) : NULL;
        nrdep[i] = 0;
    }
    for (i = 0; rdep && i < n; i++)
        for (k = 0; k < ndeps[i]; k++)
            if (rdep[deps[i][k]])
                rdep[deps[i][k]][nrdep[deps[i][k]]++] = i;
    size_t r = n;
    for (i = 0; i < n && ok; i++) {
        if (!c->steps[i].cbd || is_held(c->keep_deposed, c->steps[i].id)) /* retired by a later apply */
            continue;
        step *t = &c->steps[r], *s = &c->steps[i];
        *t = (step){.change = s->change, .address = s->address, .action = "retire", .type = s->type, .id = s->id,
                    .prov = s->prov, .retire = true, .retire_id = s->retire_id, .of = s};
        memcpy(t->alias_buf, s->alias_buf, sizeof t->alias_buf);
        t->alias = t->alias_buf;
        memcpy(t->cloud, s->cloud, sizeof t->cloud);
        memcpy(t->region, s->region, sizeof t->region);
        t->placed = s->placed;
        deps[r] = calloc(nrdep[i] + 2, sizeof **deps);
        deps[r][ndeps[r]++] = i; /* after the replacement, and after what moves to it (each once) */
        for (k = 0; k < nrdep[i]; k++)
            deps[r][ndeps[r]++] = rdep[i][k];
        r++;
    }
    for (i = 0; rdep && i < n; i++)
        free(rdep[i]);
    free(rdep);
    free(nrdep);
    if (ok && !irreversible_last(c, deps, ndeps))
        return snprintf(why, whylen, "out of memory"), false;
    return ok;
}

static void free_ctx(ctx *c, mk_sched *sc)
{
    mk_approval_free(c->apv);
    for (size_t i = 0; i < c->n; i++) {
        json_decref(c->steps[i].orig);
        json_decref(c->steps[i].entry);
        json_decref(c->steps[i].after);
        json_decref(c->steps[i].entry_text);
        free(c->steps[i].event);
        json_decref(c->steps[i].deferred);
        json_decref(c->steps[i].set_aside);
        json_decref(c->steps[i].now);
        json_decref(c->steps[i].seen);
        json_decref(c->steps[i].diff);
        if (sc->deps)
            free(sc->deps[i]);
    }
    free((void *)sc->deps);
    free((void *)sc->ndeps);
    free(c->steps);
    for (size_t i = 0; i < c->pv.n; i++)
        c->pv.p[i]->free(c->pv.p[i]);
    mk_config_free(&c->cfg);
    mk_trust_free(c->trust);
    mk_session_free(&c->sess);
    json_decref(c->deferred);
    json_decref(c->counts);
    json_decref(c->keep_deposed);
    mk_sched_free(sc);
}

/* ---- the whole apply ---- */

static void summary(ctx *c, double secs)
{
    json_t *k = c->counts;
    printf("Apply complete: %lld created, %lld updated, %lld replaced, %lld deleted in %.2fs; state serial %lld.\n",
           (long long)json_integer_value(json_object_get(k, "create")), (long long)json_integer_value(json_object_get(k, "update")),
           (long long)json_integer_value(json_object_get(k, "replace")), (long long)json_integer_value(json_object_get(k, "delete")),
           secs, mk_rtstate_serial(c->sess.st) + (c->sess.dirty ? 1 : 0)); /* the serial once the last write is made */
    json_int_t imported = json_integer_value(json_object_get(k, "import")), moved = json_integer_value(json_object_get(k, "move"));
    if (imported || moved)
        printf("  (and %lld imported, %lld moved)\n", (long long)imported, (long long)moved);
    size_t i;
    json_t *d;
    json_array_foreach(c->deferred, i, d)
        printf("note: %s was unknown when planned and is not computed by its provider; it is recorded as null and the "
               "next plan applies it (`moksha apply` without a plan file does this itself)\n", json_string_value(d));
}

static void report_left(json_t *left, bool kept)
{
    size_t i;
    json_t *l;
    fprintf(stderr, kept ? "Kept (--no-rollback), recorded in the state:\n" : "Not rolled back:\n");
    json_array_foreach(left, i, l)
        fprintf(stderr, "  %s (%s)%s%s\n", json_string_value(json_object_get(l, "address")),
                json_string_value(json_object_get(l, "action")), kept ? "" : ": ",
                kept ? "" : json_string_value(json_object_get(l, "error")));
    fprintf(stderr, "The state records exactly what exists. To fix: correct the cause above, then `moksha plan` shows "
                    "what remains and `moksha apply` converges (or `moksha destroy` removes it).\n");
}

/* The plan's outputs as the state records them: in trust mode a secret
 * output with the fingerprint the executor computes, as a resource's secret
 * (stamp), so the next plan compares it by the state's key. New reference. */
static json_t *stamped_outputs(ctx *c, json_t *outs)
{
    if (!c->sess.ring.trust || !json_is_object(outs))
        return json_incref(outs);
    json_t *copy = json_deep_copy(outs);
    const char *k;
    json_t *v;
    json_object_foreach(copy, k, v) {
        char why[512], fp[65];
        json_t *path = json_pack("[s]", k);
        char *t = is_secret(v) ? mk_keyring_open_secret(&c->sess.ring, v, "outputs", path, why, sizeof why) : NULL;
        if (t)
            mk_keyring_fingerprint_at(c->sess.fpkey, "outputs", path, t, strlen(t), fp);
        if (t)
            json_object_set_new(json_object_get(v, "$secret"), "fingerprint", json_string(fp));
        wipe(t, t ? strlen(t) : 0);
        json_decref(path);
    }
    return copy;
}

/* note [outputs recorded]: a plan's outputs go into the state when the
 * whole plan applied (held changes may be what an output reads: the next
 * plan shows it again), so another stack reads what this one made; a plan
 * with no changes but to its outputs is a write of them alone. True when
 * the state is to be written. */
static bool record_outputs(ctx *c)
{
    json_t *outs = stamped_outputs(c, json_object_get(c->plan, "outputs"));
    bool changed = mk_rtstate_set_outputs(c->sess.st, outs);
    json_decref(outs);
    c->sess.dirty |= changed;
    return changed;
}

/* held: changes taken out of the plan at closed gates (exit 3 if the rest applies). */
static int execute(ctx *c, mk_sched *sc, size_t held)
{
    static const mk_sched_ops ops = {run_step, record_step, snapshot, flush, should_stop, tick};
    json_t *totals = json_object_get(c->plan, "totals");
    bool destroy = json_is_true(json_object_get(c->plan, "destroy"));
    json_t *revert = json_object_get(c->plan, "revert_to"); /* `moksha state revert N`: docs/state.md, "History" */
    json_t *start = json_pack("{s:s, s:s, s:s, s:I, s:I, s:O?, s:i, s:b}", "event", "apply.start", "operation",
                              destroy ? "destroy" : revert ? "revert" : "apply", "stack",
                              json_string_value(json_object_get(c->plan, "stack")) ?: "?", "serial",
                              (json_int_t)mk_rtstate_serial(c->sess.st), "changes",
                              (json_int_t)json_array_size(json_object_get(c->plan, "changes")), "totals", totals,
                              "parallelism", c->o->parallelism, "no_rollback", c->o->no_rollback);
    if (start && json_is_integer(revert))
        json_object_set(start, "revert_to", revert);
    mk_session_add(&c->sess, start);
    if (!mk_session_flush(&c->sess))
        return MK_EXIT_INPUT;
    c->t0 = mk_clock_now_ms();
    sc->parallelism = c->o->parallelism;
    bool sane = mk_sched_run(sc, &ops, c);
    if (c->tty)
        fputs("\r\033[K", stderr);
    double secs = (mk_clock_now_ms() - c->t0) / 1000;
    int rc = MK_EXIT_OK;
    json_t *left = json_array();
    if (!sane && !c->nfailed && !sc->stopped)
        fprintf(stderr, "moksha-exec: error: the plan's dependencies form a cycle; nothing more can run\n");
    if (c->nfailed || sc->stopped || c->io_failed || !sane) {
        for (size_t i = 0; i < c->n; i++)
            if (sc->status[i] == MK_SCHED_FAILED)
                fprintf(stderr, "Apply failed: %s (%s): %s\n", c->steps[i].address, c->steps[i].action, c->steps[i].err);
        if (sc->stopped && atomic_load(&c->lock_lost))
            fprintf(stderr, "Apply stopped: this run no longer holds the state's lock (its session with the backend "
                            "ended); nothing new was started\n");
        else if (sc->stopped)
            fprintf(stderr, "Apply interrupted (Ctrl-C); a second Ctrl-C stops the rollback too.\n");
        if (c->o->no_rollback) {
            for (size_t k = 0; k < sc->norder; k++)
                json_array_append_new(left, json_pack("{s:s, s:s}", "address", c->steps[sc->order[k]].address, "action",
                                                      c->steps[sc->order[k]].action));
            if (sc->norder)
                report_left(left, true);
            rc = MK_EXIT_INCOMPLETE;
        } else {
            size_t undone = rollback(c, sc, left);
            rc = json_array_size(left) ? MK_EXIT_INCOMPLETE : MK_EXIT_ROLLED_BACK;
            if (rc == MK_EXIT_ROLLED_BACK)
                printf("Rolled back %zu step%s: the state and the world are as they were before this apply.\n", undone,
                       undone == 1 ? "" : "s");
            else
                report_left(left, false);
        }
    } else {
        rc = held ? MK_EXIT_HELD : MK_EXIT_OK;
        if (!held)
            record_outputs(c);
        summary(c, secs);
    }
    mk_session_add(&c->sess, json_pack("{s:s, s:s, s:i, s:f, s:O, s:b}", "event", "apply.end", "outcome",
                          rc == 0 ? "applied" : rc == 3 ? "applied, some held" : rc == 4 ? "rolled back"
                          : c->o->no_rollback ? "failed, kept" : "failed, rollback incomplete",
                          "exit_code", rc, "seconds", secs, "left", left, "interrupted", sc->stopped));
    json_decref(left);
    if (!mk_session_flush(&c->sess))
        rc = rc ? rc : MK_EXIT_INPUT;
    return rc;
}

/* note [provider check]: a provider that cannot be made for a step (an
 * unknown connection, settings it refuses) is refused as its check would
 * be, and audited alike; any other plan that cannot be run, with its reason. */
static void build_refused(ctx *c, const char *sha, const char *why)
{
    fprintf(stderr, "moksha-exec: nothing was applied\n");
    json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "apply.refused", "reason", c->unbound ? "provider refused" : "cannot run",
                           "plan_sha256", sha);
    if (c->unbound) {
        json_object_set_new(ev, "addresses", json_pack("[s]", c->unbound));
        json_object_set_new(ev, "errors", json_pack("{s:s}", c->unbound, why));
    } else
        json_object_set_new(ev, "error", json_string(why));
    mk_session_add(&c->sess, ev);
}

/* Trust mode (docs/trust.md): no bare --approve and no MOKSHA_KEY, and the
 * trust file accepted — and recorded in trust.seen — before a plan is read. */
static bool trust_start(ctx *c, char *why, size_t whylen)
{
    if (!c->cfg.trust.on && (c->o->napproval_files || json_array_size(c->o->approval_texts)))
        return snprintf(why, whylen, "--approval takes signed approvals, which only an executor in trust mode checks "
                        "(its configuration has no trust section: docs/trust.md); open a gate with --approve"), false;
    if (!c->cfg.trust.on)
        return true;
    if (c->o->napprove)
        return snprintf(why, whylen, "--approve is refused in trust mode (%.512s has a trust section): a gate opens only "
                        "by signed approvals from its group (moksha approve PLAN GATE --key KEY, then apply with "
                        "--approval FILE); the changes behind a closed gate stay held, and the rest of the plan runs", c->cfg.path), false;
    return (c->trust = mk_trust_open(&c->cfg, true, why, whylen)) != NULL;
}

/* The plan, and the SHA-256 of the very bytes verified (for the audit).
 * In trust mode, a plan not checked against the policy packs the trust
 * file requires for its environment is refused (c->refuse_rc, exit 3); an
 * automation identity's is held to its boundary later (hold_gated). */
static mk_planfile_status load_plan(ctx *c, const char *path, char sha[65], char *why, size_t whylen)
{
    mk_planfile *pf;
    mk_planfile_status ps = c->trust ? mk_planfile_open_trusted(path, c->trust, &c->who, &pf, why, whylen)
                                     : mk_planfile_open(path, &c->sess.key, &pf, why, whylen);
    if (ps != MK_PLANFILE_OK)
        return ps;
    mk_planfile_sha256(pf, sha);
    ps = mk_planfile_take(pf, path, &c->plan, why, whylen);
    mk_planfile_close(pf);
    if (ps == MK_PLANFILE_OK && c->trust && !mk_boundary_packs_ok(c->trust, c->plan, why, whylen)) {
        c->refuse_rc = MK_EXIT_POLICY;
        json_decref(c->plan);
        c->plan = NULL;
        return MK_PLANFILE_UNTRUSTED;
    }
    return ps;
}

/* The audit's "plan" entry: the plan's bytes and who signed it — the
 * project key's id, or in trust mode the signer's name, role and key id
 * and the trust file it was checked against (version and digest). */
static json_t *plan_entry(const ctx *c, const char *sha)
{
    json_t *e = !c->trust ? json_pack("{s:s, s:s, s:s}", "event", "plan", "plan_sha256", sha, "key_id", c->sess.key.id)
                : json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "event", "plan", "plan_sha256", sha, "key_id", c->who.id,
                            "signer", c->who.name, "role", mk_trust_role_name(c->who.roles), "trust_version",
                            (json_int_t)mk_trust_version(c->trust), "trust_digest", mk_trust_digest(c->trust));
    const mk_exec_submitter *by = &c->o->submitter;
    if (by->on) /* through `moksha-exec serve`: who sent it */
        json_object_set_new(e, "submitter", json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)by->uid, "gid",
                                                      (json_int_t)by->gid, "pid", (json_int_t)by->pid));
    return e;
}

/* note [durable undo]: intents left by a rollback that was killed. The
 * state already says "undone" for each, and the plan this run applies was
 * made from it, so they are only reported and dropped. */
/* The backend's intents of runs that stopped mid-call (docs/state.md,
 * "Intents"): said, audited and dropped; the plan converges from what the
 * providers hold. */
static void recover_backend_intents(ctx *c)
{
    char why[600];
    json_t *left = mk_backend_take_intents(c->sess.be, why, sizeof why), *v;
    size_t i;
    if (!left)
        fprintf(stderr, "moksha-exec: warning: the intents of stopped runs could not be read: %s\n", why);
    json_array_foreach(left, i, v) {
        fprintf(stderr, "moksha-exec: note: %s: %s was under way when run %.8s… stopped\n",
                json_string_value(json_object_get(v, "address")), json_string_value(json_object_get(v, "action")),
                json_string_value(json_object_get(v, "run")));
        mk_session_add(&c->sess, json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "event", "recovery.intent", "address",
                                           json_object_get(v, "address"), "action", json_object_get(v, "action"), "run",
                                           json_object_get(v, "run"), "change", json_object_get(v, "change"), "time",
                                           json_object_get(v, "time")));
    }
    json_decref(left);
}

static void recover_intents(ctx *c)
{
    recover_backend_intents(c);
    json_t *in = mk_rtstate_intents(c->sess.st);
    if (!in)
        return;
    fprintf(stderr, "moksha-exec: note: a rollback was stopped while undoing %zu step%s (", json_object_size(in),
            json_object_size(in) == 1 ? "" : "s");
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(in, k, v) {
        fprintf(stderr, "%s%s", first ? "" : ", ", k);
        first = 0;
    }
    fprintf(stderr, "); the state recorded each as undone before its call, so this plan re-applies what it touched\n");
    mk_session_add(&c->sess, json_pack("{s:s, s:O}", "event", "rollback.recovered", "intents", in));
    mk_rtstate_clear_intents(c->sess.st);
    c->sess.dirty = true;
}

/* ---- notifications (docs/trust.md, "Notifications") ---- */

/* Tell the hooks that ask for event, now (summary a line for a person;
 * details taken: addresses, counts, names, key ids — never a secret);
 * each hook's outcome audited, notify.sent or notify.failed. */
static void notify(ctx *c, const char *event, const char *summary, json_t *details)
{
    if (mk_notify_wanted(&c->cfg, event)) {
        mk_notify_event ev = {event, c->stack_id, json_string_value(json_object_get(c->plan, "env")), c->run_id,
                              c->sess.plan_sha256, summary, details};
        json_t *audit = json_array(), *e;
        mk_notify(&c->cfg, &ev, audit);
        size_t i;
        json_array_foreach(audit, i, e)
            mk_session_add(&c->sess, json_incref(e));
        json_decref(audit);
    }
    json_decref(details);
}

/* Who signed the plan, for an event's details: a name and a key id. */
static json_t *signer_json(const ctx *c)
{
    return c->trust ? json_pack("{s:s, s:s, s:s}", "name", c->who.name, "role", mk_trust_role_name(c->who.roles),
                                "key_id", c->who.id)
                    : json_pack("{s:s, s:s}", "name", "project key", "key_id", c->sess.key.id);
}

/* The changes of all (the plan's before holding) no longer in the plan. */
static json_t *held_list(const ctx *c, json_t *all)
{
    json_t *out = json_array(), *ch, *k;
    size_t i, j;
    json_array_foreach(all, i, ch) {
        bool kept = false;
        json_array_foreach(json_object_get(c->plan, "changes"), j, k)
            kept |= k == ch;
        if (!kept)
            json_array_append_new(out, json_pack("{s:O?, s:O?}", "address", json_object_get(ch, "address"), "action",
                                                 json_object_get(ch, "action")));
    }
    return out;
}

/* The drift this apply corrected: each change that carried one, made. */
static json_t *corrected(const ctx *c, const mk_sched *sc)
{
    json_t *out = json_array();
    for (size_t i = 0; sc->status && i < c->n; i++) {
        const step *s = &c->steps[i];
        json_t *d = json_object_get(s->change, "drift");
        if (json_is_object(d) && !s->retire && sc->status[i] == MK_SCHED_DONE)
            json_array_append_new(out, json_pack("{s:s, s:s, s:O?, s:O?}", "address", s->address, "action", s->action,
                                                 "status", json_object_get(d, "status"), "attributes",
                                                 json_object_get(d, "attributes")));
    }
    return out;
}

/* The run's end told: plan.held, then apply.finished or apply.failed, and
 * drift.corrected (all: the plan's changes before holding; borrowed). */
static void notify_end(ctx *c, const mk_sched *sc, json_t *all, size_t held, int rc)
{
    char line[512];
    const char *env = json_string_value(json_object_get(c->plan, "env")), *stack = json_string_value(json_object_get(c->plan, "stack"));
    char where[160];
    snprintf(where, sizeof where, "%s%s%s", stack ? stack : "the stack", env ? "/" : "", env ? env : "");
    bool ran = c->t0 > 0, ok = rc == MK_EXIT_OK || (rc == MK_EXIT_HELD && held);
    if (held) {
        snprintf(line, sizeof line, "%s: %zu change%s held: approve them (`moksha approve PLAN GATE --key …`) and plan "
                 "again", where, held, held == 1 ? "" : "s");
        notify(c, "plan.held", line, json_pack("{s:o, s:I, s:o}", "held", held_list(c, all), "count", (json_int_t)held,
                                               "signer", signer_json(c)));
    }
    json_t *k = c->counts;
    json_t *counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "create", json_integer_value(json_object_get(k, "create")),
                               "update", json_integer_value(json_object_get(k, "update")), "replace",
                               json_integer_value(json_object_get(k, "replace")), "delete",
                               json_integer_value(json_object_get(k, "delete")), "import",
                               json_integer_value(json_object_get(k, "import")), "move",
                               json_integer_value(json_object_get(k, "move")));
    if (ok && (ran || rc == MK_EXIT_OK)) {
        snprintf(line, sizeof line, "%s: applied (%lld created, %lld updated, %lld replaced, %lld deleted)%s", where,
                 (long long)json_integer_value(json_object_get(k, "create")), (long long)json_integer_value(json_object_get(k, "update")),
                 (long long)json_integer_value(json_object_get(k, "replace")), (long long)json_integer_value(json_object_get(k, "delete")),
                 held ? ", some held" : "");
        notify(c, "apply.finished", line, json_pack("{s:o, s:I, s:i, s:o}", "counts", counts, "held", (json_int_t)held,
                                                    "exit_code", rc, "signer", signer_json(c)));
        counts = NULL;
        json_t *fixed = corrected(c, sc);
        snprintf(line, sizeof line, "%s: drift corrected on %zu resource%s", where, json_array_size(fixed),
                 json_array_size(fixed) == 1 ? "" : "s");
        if (json_array_size(fixed))
            notify(c, "drift.corrected", line, json_pack("{s:O, s:I}", "corrected", fixed, "count", (json_int_t)json_array_size(fixed)));
        json_decref(fixed);
    } else if (!ok) {
        json_t *failed = json_array();
        for (size_t i = 0; sc->status && i < c->n; i++)
            if (sc->status[i] == MK_SCHED_FAILED)
                json_array_append_new(failed, json_pack("{s:s, s:s}", "address", c->steps[i].address, "action", c->steps[i].action));
        const char *what = !ran ? "refused, nothing applied" : rc == MK_EXIT_ROLLED_BACK ? "failed and rolled back"
                                                                 : "failed, changes remain";
        snprintf(line, sizeof line, "%s: apply %s (exit %d)", where, what, rc);
        notify(c, "apply.failed", line, json_pack("{s:s, s:i, s:o, s:o, s:o}", "outcome", what, "exit_code", rc, "failed",
                                                  failed, "counts", counts, "signer", signer_json(c)));
        counts = NULL;
    }
    json_decref(counts);
}

void mk_exec_opts_default(mk_exec_opts *o)
{
    memset(o, 0, sizeof *o);
    o->parallelism = 10;
    o->timeout_ms = 5 * 60 * 1000;
    o->retries = 4;
    o->backoff_ms = 100;
    o->progress = -1;
}

static void install_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigint;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* the terminal went away: roll back, do not die mid-apply */
    signal(SIGPIPE, SIG_IGN);     /* `moksha apply | head`: a closed stdout must not kill us mid-apply */
}

int mk_exec_apply(const char *path, const mk_exec_opts *o)
{
    ctx c = {.o = o, .deferred = json_array(), .counts = json_object(), .keep_deposed = json_object()};
    mk_sched sc = {0};
    char why[1024], sha[65] = "", lock_id[37];
    c.tty = o->progress < 0 ? isatty(STDERR_FILENO) && !getenv("NO_COLOR") : o->progress == 1;
    mk_planfile_status ps = MK_PLANFILE_UNREADABLE;
    install_sigint(); /* before the lock: a signal then stops the run before its first step */
    if (!mk_config_load(&c.cfg, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        free_ctx(&c, &sc);
        return MK_EXIT_INPUT;
    }
    c.sess.cfg = &c.cfg;
    if (!trust_start(&c, why, sizeof why)) {
        mk_errmsg_print(why);
        free_ctx(&c, &sc);
        return MK_EXIT_INPUT;
    }
    /* in trust mode no project key: the plan is checked against the trust
     * file, and the session opens the key directory's keys */
    if ((!c.trust && !mk_planfile_key_load(&c.sess.key, MK_PATH_DIR, why, sizeof why)) ||
        (ps = load_plan(&c, path, sha, why, sizeof why)) != MK_PLANFILE_OK) {
        fprintf(stderr, "moksha-exec: error: %s%s%s\n%s", ps == MK_PLANFILE_UNREADABLE ? "" : path,
                ps == MK_PLANFILE_UNREADABLE ? "" : ": ", why, c.refuse_rc ? "moksha-exec: nothing was applied\n" : "");
        free_ctx(&c, &sc);
        return c.refuse_rc ? c.refuse_rc : MK_EXIT_INPUT;
    }
    c.plan_path = path;
    json_t *penv = json_object_get(c.plan, "env"); /* note [plan environment] in paths.h */
    if (!mk_paths_bind(penv ? json_string_value(penv) ?: "" : NULL, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s: %s\nmoksha-exec: nothing was applied\n", path, why);
        json_decref(c.plan);
        free_ctx(&c, &sc);
        return MK_EXIT_LOCKED;
    }
    if (!approvals_name_gates(&c)) {
        json_decref(c.plan);
        free_ctx(&c, &sc);
        return MK_EXIT_INPUT;
    }
    char pwhy[1024];
    bool policies_ok = mk_planfile_policies_ok(c.plan, pwhy, sizeof pwhy); /* refused once locked: the refusal is audited */
    bool destroy = json_is_true(json_object_get(c.plan, "destroy"));
    c.sess.stack = json_string_value(json_object_get(c.plan, "stack")); /* the name the backend keys the state by */
    c.sess.plan_sha256 = sha;
    c.sess.lock_wait_ms = o->lock_timeout_ms;
    /* a revert's serials say so in the history (docs/state.md, "History") */
    bool revert = json_object_get(c.plan, "revert_to") != NULL;
    int rc = mk_session_open(&c.sess, destroy ? "destroy" : revert ? "revert" : "apply", lock_id);
    if (rc) {
        json_decref(c.plan);
        free_ctx(&c, &sc);
        return rc;
    }
    snprintf(c.run_id, sizeof c.run_id, "%s", lock_id);
    c.stack_id = json_string_value(json_object_get(json_object_get(c.plan, "state"), "stack_id"));
    recover_intents(&c);
    mk_session_add(&c.sess, plan_entry(&c, sha));
    size_t pi;
    json_t *pr;
    json_array_foreach(json_object_get(c.plan, "policies"), pi, pr) /* overrides travel with what they let through */
        if (json_is_object(json_object_get(pr, "override")))
            mk_session_add(&c.sess, json_pack("{s:s, s:O?, s:O?, s:O?}", "event", "policy.override", "policy", json_object_get(pr, "name"),
                                   "enforcement", json_object_get(pr, "enforcement"), "reason",
                                   json_object_get(json_object_get(pr, "override"), "reason")));
    if (c.trust) {
        take_approvals(&c, sha);
        if (policies_ok && !trust_policies(&c, pwhy, sizeof pwhy))
            policies_ok = false;
    }
    bool bound = policies_ok && same_backend(&c);
    bool here = bound && same_stack(&c); /* (each says why: once) */
    bool is_stale = here && stale(&c);
    json_t *all = json_incref(json_object_get(c.plan, "changes")); /* before holding: what was held, for notify_end */
    size_t held = !here || is_stale ? 0 : hold_gated(&c);
    if (!policies_ok) {
        fprintf(stderr, "moksha-exec: error: %s: %s\n", path, pwhy);
        mk_session_add(&c.sess, json_pack("{s:s, s:s, s:s}", "event", "apply.refused", "reason", "policy failed", "plan_sha256", sha));
        rc = MK_EXIT_POLICY;
    } else if (!here) {
        mk_session_add(&c.sess, json_pack("{s:s, s:s, s:s}", "event", "apply.refused", "reason",
                                          bound ? "another stack" : "another backend", "plan_sha256", sha));
        rc = MK_EXIT_LOCKED;
    } else if (is_stale) {
        mk_session_add(&c.sess, json_pack("{s:s, s:s, s:s}", "event", "apply.refused", "reason", "stale plan", "plan_sha256", sha));
        rc = MK_EXIT_LOCKED;
    } else if (!build(&c, &sc, why, sizeof why)) {
        mk_errmsg_print(why);
        build_refused(&c, sha, why);
        rc = MK_EXIT_INPUT;
    } else if (c.sess.ring.trust && !secrets_open(&c, why, sizeof why)) { /* note [secret places] */
        mk_errmsg_print(why);
        fprintf(stderr, "moksha-exec: nothing was applied\n");
        mk_session_add(&c.sess, json_pack("{s:s, s:s, s:s}", "event", "apply.refused", "reason", "a secret does not open",
                                          "plan_sha256", sha));
        rc = MK_EXIT_INPUT;
    } else if (c.n == 0 && !held && record_outputs(&c)) {
        printf("No changes to resources; the stack's outputs recorded.\n");
    } else if (c.n == 0) {
        printf(held ? "Nothing to do until the gates open.\n" : "No changes: the infrastructure matches the plan.\n");
    } else if ((rc = imports_free(&c, sha)) == 0 && (rc = provider_check(&c, sha)) == 0 &&
               (rc = preflight(&c, sha)) == 0) { /* note [guarded steps] */
        rc = execute(&c, &sc, held);
    }
    if (held && (rc == MK_EXIT_OK || rc == MK_EXIT_HELD)) {
        fprintf(stderr, "moksha-exec: %zu change%s held (a closed approval gate, or above --auto-approve-risk); approve them and plan again\n", held,
                held == 1 ? " is" : "s are");
        rc = MK_EXIT_HELD;
    }
    notify_end(&c, &sc, all, held, rc);
    json_decref(all);
    mk_session_close(&c.sess, lock_id, rc);
    free_ctx(&c, &sc);
    json_decref(c.plan);
    return rc;
}
