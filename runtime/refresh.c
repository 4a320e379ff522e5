/* refresh — reading the world (docs/drift.md, "Observations"). Every
 * state entry (its deposed objects not) is read through the provider that
 * made it, on the scheduler's pool with no edges, each read retried as an
 * apply's calls are (runtime/provcall.c); a signed plan given adds the
 * providers the state does not record and its `import` changes, read by
 * id. What was seen becomes observed.json, written atomically under the
 * state lock, and the report.
 *
 * note [refresh crash]: a refresh writes one file, observed.json, by
 * temp + fsync + rename, and appends its audit lines after it; the state is
 * only read. A kill -9 at any moment leaves the state as it was and
 * observed.json old or new, never torn; the lock names a dead holder, as
 * after any killed command. An observation written without its audit
 * lines is harmless: the next refresh replaces it. */
#include "runtime/refresh.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/provcall.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/seen.h"
#include "runtime/rtstate.h"
#include "runtime/sched.h"
#include "runtime/session.h"
#include "runtime/sha256.h"
#include "runtime/trust.h"

static volatile sig_atomic_t interrupts;

static void on_signal(int sig)
{
    (void)sig;
    interrupts++;
}

/* One read: a state entry's object, or an import's by its id. */
typedef struct item {
    const char *address, *type, *alias;
    json_t *entry;            /* the state entry (borrowed), or NULL for an import */
    json_t *change;           /* the import change (borrowed), or NULL */
    const char *import_id;
    mk_prov *prov;            /* NULL: no provider settings (err says why) */
    char cloud[16], region[64];
    json_t *out;              /* what the read returned (owned), NULL: gone */
    bool ok;
    int attempts;
    char err[512], at[32];
} item;

typedef struct run {
    const mk_refresh_opts *o;
    mk_config cfg;
    mk_trust *trust;
    mk_trust_who who;
    mk_session sess;          /* the lock, state, keys and audit (a dry run: the state and keys only) */
    json_t *plan;
    char sha[65];
    const char *alias[32];
    mk_prov *p[32];
    size_t np;
    item *items;
    size_t n;
    json_t *prior;            /* the last observed.json's resources, or NULL */
    bool tty;
    size_t total_done;
} run;

/* ---- the comparison ---- */

static bool ignored_name(json_t *ignore, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(ignore, i, v)
        if (strcmp(json_string_value(v) ?: "", name) == 0)
            return true;
    return false;
}

json_t *mk_refresh_differs(json_t *recorded, json_t *observed, json_t *ignore_changes)
{
    json_t *names = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(recorded, k, v) {
        if (ignored_name(ignore_changes, k))
            continue;
        json_t *seen = json_object_get(observed, k);
        if (!json_equal(v, seen ? seen : json_null()))
            json_array_append_new(names, json_string(k));
    }
    return names;
}

static bool one_sealed(json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 && json_is_object(json_object_get(v, "$secret"));
}

json_t *mk_refresh_mask(json_t *read, json_t *recorded, json_t *sensitive, bool import)
{
    const char *k;
    json_t *v;
    json_object_foreach(read, k, v) {
        json_t *rec = json_object_get(recorded, k);
        if (!ignored_name(sensitive, k) && !mk_prov_seen_holds_secret(rec))
            continue;
        if (import)
            json_object_set_new(read, k, json_pack("{s:{s:b}}", "$secret", "unknown", 1));
        else if (!json_equal(v, rec) && !one_sealed(v))
            json_object_set_new(read, k, json_pack("{s:{s:b}}", "$secret", "differs", 1));
    }
    return read;
}

/* note [entry digest] (docs/drift.md, "Observations"): the attributes,
 * then a NUL and the run that wrote the entry when it records one, so an
 * apply that writes the attributes back as they were still makes the
 * observation stale. Compact JSON never holds a NUL byte: nothing else
 * hashes alike. compiler/base/observed.c computes the same. */
void mk_refresh_entry_digest(json_t *entry, char out[65])
{
    json_t *attrs = json_object_get(entry, "attributes");
    /* no attributes digest as an empty object's dump, without making one */
    char *t = attrs ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *text = attrs ? t ?: "" : "{}", *run_id = json_string_value(json_object_get(entry, "run"));
    const void *part[3] = {text, "", run_id};
    size_t len[3] = {strlen(text), 1, run_id ? strlen(run_id) : 0};
    mk_sha256_hex_parts(run_id ? 3 : 1, part, len, out);
    free(t);
}

static const char *drift_mode(json_t *entry)
{
    const char *m = json_string_value(json_object_get(json_object_get(entry, "lifecycle"), "drift"));
    return m ? m : "correct";
}

/* An unreadable object's `last` and `at`: the prior observation's, or its
 * own `last` when that too was unreadable. */
static void keep_last(json_t *obs, json_t *prior)
{
    const char *st = json_string_value(json_object_get(prior, "status"));
    json_t *last = NULL;
    if (st && strcmp(st, "unreadable") == 0)
        last = json_incref(json_object_get(prior, "last"));
    else if (st)
        last = json_pack("{s:s, s:O*}", "status", st, "attributes", json_object_get(prior, "attributes"));
    json_object_set(obs, "at", st ? json_object_get(prior, "at") ?: json_null() : json_null());
    if (last)
        json_object_set_new(obs, "last", last);
}

/* What a read that differs records, whatever the drift mode (which changes
 * only the reporting): the object as read when any attribute differs —
 * the plan keeps ignore_changes and undrifted-by-mode attributes as they
 * are in the world — and `drift`, the attributes that count as drift. */
static const char *record_read(json_t *obs, json_t *entry, json_t *read)
{
    json_t *attrs = json_object_get(entry, "attributes");
    json_t *names = mk_refresh_differs(attrs, read, json_object_get(json_object_get(entry, "lifecycle"), "ignore_changes"));
    json_t *all = mk_refresh_differs(attrs, read, NULL);
    bool ignore = strcmp(drift_mode(entry), "ignore") == 0;
    if (json_array_size(all))
        json_object_set(obs, "attributes", read);
    if (json_array_size(names))
        json_object_set(obs, "drift", names);
    const char *status = ignore ? "ignored" : json_array_size(names) ? "drifted" : "in_sync";
    json_decref(names);
    json_decref(all);
    return status;
}

json_t *mk_refresh_observe(json_t *entry, json_t *read, const char *error, json_t *prior, const char *at,
                           const char **status_out)
{
    char digest[65];
    mk_refresh_entry_digest(entry, digest);
    const char *status = error ? "unreadable" : read ? "in_sync" : "gone";
    json_t *obs = json_pack("{s:s, s:s, s:s}", "status", error ? "unreadable" : read ? "present" : "gone", "at", at,
                            "entry", digest);
    if (error) {
        json_object_set_new(obs, "error", json_string(error));
        keep_last(obs, prior);
    } else if (read) {
        status = record_read(obs, entry, read);
    } else if (strcmp(drift_mode(entry), "ignore") == 0) {
        status = "ignored";
    }
    if (status_out)
        *status_out = status;
    return obs;
}

/* ---- providers ---- */

/* docs/drift.md "Provider settings": the block the state records for
 * alias, else the plan's. */
static json_t *provider_block(run *r, const char *alias)
{
    json_t *b = json_object_get(mk_rtstate_providers(r->sess.st), alias);
    return b ? b : json_object_get(json_object_get(r->plan, "providers"), alias);
}

static mk_prov *provider(run *r, const char *alias, char *why, size_t whylen)
{
    for (size_t i = 0; i < r->np; i++)
        if (strcmp(r->alias[i], alias) == 0)
            return r->p[i];
    json_t *blk = provider_block(r, alias);
    /* an alias the recorded blocks do not name was applied with its
     * defaults, as exec.c's provider_for makes it: no block, its kind */
    bool recorded = blk || mk_rtstate_providers(r->sess.st) || json_object_get(r->plan, "providers");
    mk_prov *p = NULL;
    if (!recorded)
        snprintf(why, whylen, "no provider settings recorded for `%s`: apply once, or `moksha plan --refresh`", alias);
    else
        p = mk_provcall_provider(blk, alias, &r->cfg, why, whylen);
    if (p && r->np < 32) {
        r->alias[r->np] = alias;
        r->p[r->np++] = p;
    }
    return p;
}

/* The provider block of an import change: its own, else the plan's first sim. */
static const char *import_alias(run *r, json_t *change)
{
    const char *a = json_string_value(json_object_get(change, "provider"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r->plan, "providers"), k, v)
        if (!a && strcmp(json_string_value(json_object_get(v, "type")) ?: "", "sim") == 0)
            a = k;
    return a ? a : "sim";
}

/* A placement's one value (a state entry's `cloud`), else the first of its
 * list (a change's `providers`), else dflt. */
static const char *placed(json_t *pl, const char *one, const char *list, const char *dflt)
{
    const char *v = json_string_value(json_object_get(pl, one));
    v = v ? v : json_string_value(json_array_get(json_object_get(pl, list), 0));
    return v ? v : dflt;
}

static void place(item *it, json_t *pl)
{
    snprintf(it->cloud, sizeof it->cloud, "%s", placed(pl, "cloud", "providers", "aws"));
    snprintf(it->region, sizeof it->region, "%s", placed(pl, "region", "regions", "us-east-1"));
}

/* ---- the reads ---- */

static void add_items(run *r)
{
    json_t *imports = json_array();
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(r->plan, "changes"), i, ch)
        if (strcmp(json_string_value(json_object_get(ch, "action")) ?: "", "import") == 0)
            json_array_append(imports, ch);
    r->items = calloc(json_object_size(r->sess.st->by_addr) + json_array_size(imports) + 1, sizeof *r->items);
    const char *k;
    json_t *e;
    json_object_foreach(r->sess.st->by_addr, k, e) {
        item *it = &r->items[r->n++];
        *it = (item){.address = k, .entry = e, .type = json_string_value(json_object_get(e, "type")) ?: "",
                     .alias = json_string_value(json_object_get(e, "provider")) ?: "sim"};
        place(it, json_object_get(e, "placement"));
    }
    json_array_foreach(imports, i, ch) {
        item *it = &r->items[r->n++];
        *it = (item){.address = json_string_value(json_object_get(ch, "address")) ?: "", .change = ch,
                     .type = json_string_value(json_object_get(ch, "type")) ?: "", .alias = import_alias(r, ch),
                     .import_id = json_string_value(json_object_get(json_object_get(ch, "import"), "id")) ?: ""};
        place(it, json_object_get(ch, "placement"));
    }
    json_decref(imports); /* the changes stay the plan's */
    for (size_t j = 0; j < r->n; j++)
        r->items[j].prov = provider(r, r->items[j].alias, r->items[j].err, sizeof r->items[j].err);
}

static bool read_one(void *vr, size_t node)
{
    run *r = vr;
    item *it = &r->items[node];
    if (it->prov && it->prov->read) {
        json_t *attrs = it->entry ? json_object_get(it->entry, "attributes") : json_object_get(it->change, "after");
        mk_prov_op op = {.address = it->address, .type = it->type, .attrs = attrs, .cloud = it->cloud,
                         .region = it->region, .keys = &r->sess.ring, .import_id = it->import_id};
        it->ok = mk_provcall_retry(it->prov, it->prov->read, &op, &r->o->x, &interrupts, &it->out, it->err,
                                   sizeof it->err, &it->attempts);
        json_t *sens = json_object_get(it->entry ? it->entry : it->change, "sensitive");
        it->out = mk_refresh_mask(it->out, attrs, sens, it->import_id != NULL);
        if (!it->ok && it->attempts > 1) {
            size_t n = strlen(it->err);
            snprintf(it->err + n, sizeof it->err - n, " (after %d retr%s)", it->attempts - 1,
                     it->attempts == 2 ? "y" : "ies");
        }
    } else if (it->prov) {
        snprintf(it->err, sizeof it->err, "the %s provider cannot read", it->prov->kind);
    }
    mk_clock_iso_time(it->at, sizeof it->at);
    return true; /* an unreadable object stops nothing */
}

static void read_record(void *vr, size_t node, bool ok) { (void)vr, (void)node, (void)ok; }
static void *read_snapshot(void *vr) { (void)vr; return NULL; }
static bool read_flush(void *vr, void *snap) { (void)vr, (void)snap; return true; }
static bool read_stop(void *vr) { (void)vr; return interrupts > 0; }

static void read_tick(void *vr, const mk_sched_stats *st)
{
    run *r = vr;
    if (!r->tty)
        return;
    fprintf(stderr, "\r\033[Kreading %zu/%zu objects, %zu running", st->done, st->total, st->running);
    fflush(stderr);
}

/* Every read on the pool; false when a stop signal ended it first. */
static bool read_all(run *r)
{
    static const mk_sched_ops ops = {read_one, read_record, read_snapshot, read_flush, read_stop, read_tick};
    size_t *ndeps = calloc(r->n + 1, sizeof *ndeps);
    size_t **deps = calloc(r->n + 1, sizeof *deps);
    mk_sched sc = {.n = r->n, .deps = deps, .ndeps = ndeps, .parallelism = r->o->x.parallelism, .keep_going = true};
    bool ok = mk_sched_run(&sc, &ops, r);
    ok = ok && !sc.stopped;
    mk_sched_free(&sc);
    free(ndeps);
    free(deps);
    if (r->tty)
        fputs("\r\033[K", stderr);
    return ok;
}

/* ---- observations and the report ---- */

typedef struct tally {
    json_int_t resources, in_sync, drifted, gone, unreadable, ignored;
} tally;

static void count(tally *t, const char *status)
{
    t->resources++;
    if (!strcmp(status, "in_sync"))
        t->in_sync++;
    else if (!strcmp(status, "drifted"))
        t->drifted++;
    else if (!strcmp(status, "gone"))
        t->gone++;
    else if (!strcmp(status, "unreadable"))
        t->unreadable++;
    else
        t->ignored++;
}

static json_t *tally_json(const tally *t)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "resources", t->resources, "in_sync", t->in_sync, "drifted",
                     t->drifted, "gone", t->gone, "unreadable", t->unreadable, "ignored", t->ignored);
}

/* The report's line for a resource that is not in sync (NULL: in sync or ignored). */
static json_t *report_line(const item *it, json_t *obs, const char *status)
{
    if (!strcmp(status, "in_sync") || !strcmp(status, "ignored"))
        return NULL;
    json_t *l = json_pack("{s:s, s:s, s:s, s:s}", "address", it->address, "type", it->type, "provider", it->alias,
                          "status", status);
    if (!strcmp(status, "unreadable")) {
        json_object_set_new(l, "error", json_string(it->err));
        return l;
    }
    json_object_set_new(l, "mode", json_string(drift_mode(it->entry)));
    json_t *names = json_object_get(obs, "drift");
    if (!names)
        return l;
    json_t *rec = json_object(), *seen = json_object(), *attrs = json_object_get(it->entry, "attributes");
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm) {
        const char *k = json_string_value(nm);
        json_object_set(rec, k, json_object_get(attrs, k));
        json_object_set(seen, k, json_object_get(it->out, k) ?: json_null());
    }
    json_object_set_new(l, "attributes", json_copy(names));
    json_object_set_new(l, "recorded", rec);
    json_object_set_new(l, "observed", seen);
    return l;
}

static json_t *import_obs(const item *it)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", it->import_id, "status",
                          !it->prov || !it->ok ? "unreadable" : it->out ? "present" : "gone", "at", it->at);
    if (!it->prov || !it->ok)
        json_object_set_new(o, "error", json_string(it->err));
    else if (it->out)
        json_object_set(o, "attributes", it->out);
    return o;
}

typedef struct outcome {
    json_t *observed; /* moksha.observed/v1 */
    json_t *report;   /* moksha.drift/v1 */
    tally t;
    size_t import_unreadable;
} outcome;

static void build(run *r, outcome *oc, const char *at)
{
    json_t *res = json_object(), *lines = json_array(), *imports = json_object(), *ilines = json_array();
    for (size_t i = 0; i < r->n; i++) {
        item *it = &r->items[i];
        if (it->change) {
            json_t *io = import_obs(it);
            oc->import_unreadable += !strcmp(json_string_value(json_object_get(io, "status")), "unreadable");
            json_array_append_new(ilines, json_pack("{s:s, s:O*}", "address", it->address, "observation", io));
            json_object_set_new(imports, it->address, io);
            continue;
        }
        const char *status;
        json_t *obs = mk_refresh_observe(it->entry, it->out, it->prov && it->ok ? NULL : it->err,
                                         json_object_get(r->prior, it->address), it->at, &status);
        count(&oc->t, status);
        json_t *l = report_line(it, obs, status);
        if (l)
            json_array_append_new(lines, l);
        json_object_set_new(res, it->address, obs);
    }
    json_t *doc = r->sess.st->doc;
    oc->observed = json_pack("{s:s, s:O?, s:O?, s:I, s:s, s:o, s:o}", "format", "moksha.observed/v1", "lineage",
                             json_object_get(doc, "lineage"), "stack_id", json_object_get(doc, "stack_id"), "serial",
                             (json_int_t)mk_rtstate_serial(r->sess.st), "at", at, "resources", res, "imports", imports);
    oc->report = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "format", "moksha.drift/v1", "at", at, "dry_run",
                           r->o->dry_run, "counts", tally_json(&oc->t), "resources", lines, "imports", ilines);
}

/* ---- the report as text ---- */

static void print_value(json_t *v)
{
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (t && strstr(t, "\"$secret\"")) { /* sealed, or holding a sealed value: never printed */
        free(t);
        fputs("(secret)", stdout);
        return;
    }
    if (t && strlen(t) > 60)
        printf("%.57s…", t);
    else
        fputs(t ? t : "null", stdout);
    free(t);
}

static void print_line(json_t *l)
{
    const char *a = json_string_value(json_object_get(l, "address")), *st = json_string_value(json_object_get(l, "status"));
    if (!strcmp(st, "gone")) {
        printf("- %s was deleted outside moksha\n", a);
        return;
    }
    if (!strcmp(st, "unreadable")) {
        printf("? %s could not be read: %s\n", a, json_string_value(json_object_get(l, "error")));
        return;
    }
    printf("~ %s changed outside moksha:", a);
    size_t i;
    json_t *nm;
    json_array_foreach(json_object_get(l, "attributes"), i, nm) {
        const char *k = json_string_value(nm);
        printf("%s %s ", i ? "," : "", k);
        print_value(json_object_get(json_object_get(l, "recorded"), k));
        fputs(" → ", stdout);
        print_value(json_object_get(json_object_get(l, "observed"), k));
    }
    fputs("\n", stdout);
}

static void print_text(const outcome *oc, bool dry)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(oc->report, "resources"), i, l)
        print_line(l);
    json_array_foreach(json_object_get(oc->report, "imports"), i, l) {
        json_t *io = json_object_get(l, "observation");
        const char *st = json_string_value(json_object_get(io, "status")), *a = json_string_value(json_object_get(l, "address"));
        const char *id = json_string_value(json_object_get(io, "id"));
        if (!strcmp(st, "present"))
            printf("+ %s: %s read for import\n", a, id);
        else if (!strcmp(st, "gone"))
            printf("? %s: %s not found: nothing to import\n", a, id);
        else
            printf("? %s: %s could not be read: %s\n", a, id, json_string_value(json_object_get(io, "error")));
    }
    const tally *t = &oc->t;
    printf("%s %lld resource%s: %lld in sync, %lld drifted, %lld gone, %lld unreadable, %lld ignored%s\n",
           dry ? "Read" : "Refreshed", (long long)t->resources, t->resources == 1 ? "" : "s", (long long)t->in_sync,
           (long long)t->drifted, (long long)t->gone, (long long)t->unreadable, (long long)t->ignored,
           dry ? " (dry run: nothing recorded)" : "");
}

/* ---- the command ---- */

/* The last observations, parsed (NULL: none, or damaged), as the backend
 * keeps them; false when they cannot be read (on local: observed.json is
 * not a regular file, which would hang the refresh holding the lock).
 * *there: there are some, damaged or not. */
static bool load_prior(run *r, json_t **doc, bool *there)
{
    char why[1024];
    size_t n;
    bool absent;
    *doc = NULL;
    char *t = mk_backend_observed_text(r->sess.be, &n, &absent, why, sizeof why);
    *there = !absent;
    if (!t && !absent)
        mk_errmsg_print(why);
    if (t)
        *doc = json_loadb(t, n, 0, NULL);
    free(t);
    return t || absent;
}

/* A state never written has no lineage nor stack id, and observed.json
 * then says "" / null: all the same "none". */
static bool same_string(json_t *a, json_t *b, const char *k)
{
    return strcmp(json_string_value(json_object_get(a, k)) ?: "", json_string_value(json_object_get(b, k)) ?: "") == 0;
}

/* The last observed.json's resources when it is this state's, in
 * r->prior; false when it is not a file to read. */
static bool prior_observations(run *r)
{
    json_t *doc, *st = r->sess.st->doc, *keep = NULL;
    bool there;
    if (!load_prior(r, &doc, &there))
        return false;
    if (!there)
        return true;
    json_t *res = json_object_get(doc, "resources");
    const char *l = json_string_value(json_object_get(doc, "lineage"));
    if (!json_is_object(res) || strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.observed/v1"))
        fprintf(stderr, "moksha-exec: warning: %s is damaged (not moksha.observed/v1): replaced\n", MK_PATH_OBSERVED);
    else if (!same_string(doc, st, "lineage") || !same_string(doc, st, "stack_id"))
        fprintf(stderr, "moksha-exec: warning: %s was made for another state (lineage %s): replaced\n",
                MK_PATH_OBSERVED, l ? l : "none");
    else
        keep = json_incref(res);
    json_decref(doc);
    r->prior = keep;
    return true;
}

/* A plan given: verified as apply verifies it (signature, trust rules,
 * this stack's id), not its serial. */
static bool load_plan(run *r, char *why, size_t whylen)
{
    mk_planfile *pf;
    const char *path = r->o->plan;
    mk_planfile_status ps = r->trust ? mk_planfile_open_trusted(path, r->trust, &r->who, &pf, why, whylen)
                                     : mk_planfile_open(path, &r->sess.key, &pf, why, whylen);
    if (ps == MK_PLANFILE_OK) {
        mk_planfile_sha256(pf, r->sha);
        ps = mk_planfile_take(pf, path, &r->plan, why, whylen);
        mk_planfile_close(pf);
    }
    if (ps != MK_PLANFILE_OK && ps != MK_PLANFILE_UNREADABLE) { /* (an unreadable plan's why names it) */
        char *inner = strdup(why);
        snprintf(why, whylen, "%s: %s", path, inner ? inner : "");
        free(inner);
    }
    if (ps != MK_PLANFILE_OK)
        return false;
    char here[33];
    const char *planned = json_string_value(json_object_get(json_object_get(r->plan, "state"), "stack_id"));
    if (!mk_planfile_stack_id(MK_PATH_DIR, here, why, whylen))
        return false;
    if (!planned || strcmp(planned, here) != 0)
        return snprintf(why, whylen, "%s: the plan was made for %s%s, this stack's is %s: a plan is read only in the "
                        "stack it was made in", path, planned ? "stack id " : "no stack id", planned ? planned : "",
                        *here ? here : "none"), false;
    json_t *penv = json_object_get(r->plan, "env"); /* note [plan environment] in paths.h */
    return mk_paths_bind(penv ? json_string_value(penv) ?: "" : NULL, why, whylen);
}

/* Configuration, trust, the key and the plan: before the lock. */
static bool prepare(run *r, char *why, size_t whylen)
{
    if (!mk_config_load(&r->cfg, why, whylen))
        return false;
    r->sess.cfg = &r->cfg;
    r->sess.lock_wait_ms = r->o->x.lock_timeout_ms;
    if (r->cfg.trust.on && !(r->trust = mk_trust_open(&r->cfg, !r->o->dry_run, why, whylen)))
        return false;
    if (!r->trust && !mk_planfile_key_load(&r->sess.key, MK_PATH_DIR, why, whylen))
        return false;
    if (r->o->plan && !load_plan(r, why, whylen))
        return false;
    r->sess.stack = json_string_value(json_object_get(r->plan, "stack")); /* NULL without a plan: --stack's */
    return mk_session_attach(&r->sess, why, whylen);
}

/* A dry run's state and keys: the state file read once, no lock. */
static bool open_dry(run *r, char *why, size_t whylen)
{
    if (!(r->sess.st = mk_backend_load(r->sess.be, why, whylen)))
        return false;
    return mk_keyring_open(&r->sess.ring, &r->cfg, r->trust ? NULL : &r->sess.key, MK_PATH_DIR, why, whylen);
}

static void audit(run *r, const outcome *oc)
{
    json_t *unreadable = json_array();
    json_t *ev = json_pack("{s:s, s:o, s:o, s:s}", "event", "refresh", "counts", tally_json(&oc->t), "unreadable",
                           unreadable, "by", r->o->by ? r->o->by : "refresh");
    if (r->plan)
        json_object_set_new(ev, "plan_sha256", json_string(r->sha));
    const mk_exec_submitter *by = &r->o->x.submitter;
    if (by->on) /* through `moksha-exec serve`: who asked */
        json_object_set_new(ev, "submitter", json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)by->uid, "gid",
                                                       (json_int_t)by->gid, "pid", (json_int_t)by->pid));
    const char *k;
    json_t *obs;
    json_object_foreach(json_object_get(oc->observed, "resources"), k, obs)
        if (!strcmp(json_string_value(json_object_get(obs, "status")), "unreadable"))
            json_array_append_new(unreadable, json_string(k));
    mk_session_add(&r->sess, ev);
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(oc->report, "resources"), i, l) {
        const char *st = json_string_value(json_object_get(l, "status"));
        if (strcmp(st, "drifted") && strcmp(st, "gone"))
            continue;
        json_t *names = json_object_get(l, "attributes");
        mk_session_add(&r->sess, json_pack("{s:s, s:O, s:s, s:o}", "event", "drift", "address",
                                           json_object_get(l, "address"), "status", st, "attributes",
                                           names ? json_incref(names) : json_array()));
    }
}

static bool write_observed(run *r, json_t *observed)
{
    char why[1024];
    char *t = json_dumps(observed, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    bool ok = t && mk_backend_observed_write(r->sess.be, t, strlen(t), why, sizeof why);
    if (!t)
        snprintf(why, sizeof why, "cannot write the observations: out of memory");
    if (!ok)
        mk_errmsg_print(why);
    free(t);
    return ok;
}

static int finish(run *r, outcome *oc)
{
    char at[32];
    mk_clock_iso_time(at, sizeof at);
    build(r, oc, at);
    int rc = oc->t.unreadable || oc->import_unreadable ? MK_EXIT_INPUT
             : r->o->detailed && (oc->t.drifted || oc->t.gone) ? 2 : MK_EXIT_OK;
    if (!r->o->dry_run && !write_observed(r, oc->observed))
        return MK_EXIT_INPUT;
    if (!r->o->dry_run)
        audit(r, oc);
    if (r->o->json) {
        char *t = json_dumps(oc->report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t);
        free(t);
    } else {
        print_text(oc, r->o->dry_run);
    }
    return rc;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void free_run(run *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->items[i].out);
    for (size_t i = 0; i < r->np; i++)
        r->p[i]->free(r->p[i]);
    free(r->items);
    json_decref(r->prior);
    json_decref(r->plan);
    mk_session_free(&r->sess);
    mk_trust_free(r->trust);
    mk_config_free(&r->cfg);
}

/* Opened (locked, or the dry run's state read): read, record, report. */
static int refresh_opened(run *r)
{
    if (!r->o->dry_run && !prior_observations(r))
        return MK_EXIT_INPUT;
    add_items(r);
    if (!read_all(r)) {
        fprintf(stderr, "moksha-exec: refresh stopped by a signal: nothing recorded\n");
        return MK_EXIT_INPUT;
    }
    outcome oc = {0};
    int rc = finish(r, &oc);
    json_decref(oc.observed);
    json_decref(oc.report);
    return rc;
}

int mk_refresh_run(const mk_refresh_opts *o)
{
    run r = {.o = o};
    char why[1024], lock_id[37];
    r.tty = isatty(STDERR_FILENO) && !getenv("NO_COLOR");
    install_signals();
    int rc = MK_EXIT_INPUT;
    if (!prepare(&r, why, sizeof why) || (o->dry_run && !open_dry(&r, why, sizeof why))) {
        mk_errmsg_print(why);
        free_run(&r);
        return MK_EXIT_INPUT;
    }
    if (!o->dry_run && (rc = mk_session_open(&r.sess, "refresh", lock_id)) != 0) {
        free_run(&r);
        return rc;
    }
    rc = refresh_opened(&r);
    if (!o->dry_run)
        mk_session_close(&r.sess, lock_id, rc);
    free_run(&r);
    return rc;
}

void mk_refresh_opts_default(mk_refresh_opts *o)
{
    memset(o, 0, sizeof *o);
    mk_exec_opts_default(&o->x);
    o->by = "refresh";
}
