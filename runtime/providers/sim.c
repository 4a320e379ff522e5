/* sim — a simulated cloud serving the abstract types (compute, network,
 * bucket, database, load_balancer, firewall, volume, dns_record, queue) on
 * aws, gcp and azure. It exists for demos and tests (docs/executor.md).
 *
 * Its world is .moksha/sim/, one JSON file per object named after the
 * resource's address (runtime/providers/sim.h). Keying objects by address
 * makes create idempotent — a create that finds its address already there
 * adopts the object — which is how an apply killed between a create and its
 * state write is reconciled by the next one (note [crash recovery] in
 * runtime/exec.c).
 *
 * note [sim owner]: a create records who made the object, {"owner":
 * {"stack", "run"}} from op->stack_id and op->run_id, and adopts an object
 * it finds at its address only when owner.stack is this stack: made by this
 * run (a retry after a timeout: not adopted, its undo deletes it) or by an
 * earlier one (adopted). Any other object is foreign and the create fails,
 * naming its id and `moksha import`; so an apply never takes over what a
 * colleague made by hand. Without op->stack_id (no apply: unit tests)
 * every object is adopted, as before owners existed.
 *
 * Reads answer in the state's form (docs/drift.md, "What a read returns"):
 * the attributes op->attrs records, with the values held, so an untouched
 * object reads back equal to its state entry.
 *
 * create_before_destroy: the replaced object is set aside as
 * ADDRESS~TAG.json (TAG from its id) while the replacement takes the
 * address; its delete removes that file, and a re-create of its id (a
 * rollback) moves it back (provider.h).
 *
 * Settings: latency ("20ms", every operation, reads too), fail_on
 * (addresses whose every change fails; reads do not, so a failed step can
 * still be guarded and rolled back), fail_rate (probability of a retryable
 * error per operation, reads too), quotas ({"REGION" or "CLOUD/REGION": max
 * objects}), clouds. An object's own "fail" ("read" or "write", set by
 * `moksha-exec sim fail`) makes its reads, or its changes, fail. */
#include "runtime/providers/sim.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/rand.h"
#include "runtime/providers/provider.h"
#include "runtime/providers/seen.h"
#include "runtime/sha256.h"

#define SIM_DIR MK_PROV_SIM_DIR

typedef struct sim {
    double latency_ms, fail_rate;
    json_t *fail_on, *quotas; /* borrowed from the plan's settings: incref'd */
    pthread_mutex_t mu;
    json_t *counts;           /* "cloud/region" → objects there */
} sim;

static const struct {
    const char *type, *aws, *gcp, *azure;
} KINDS[] = {
    {"compute", "i-", "instances", "Microsoft.Compute/virtualMachines"},
    {"network", "vpc-", "networks", "Microsoft.Network/virtualNetworks"},
    {"firewall", "sg-", "firewalls", "Microsoft.Network/networkSecurityGroups"},
    {"load_balancer", "lb-", "forwardingRules", "Microsoft.Network/loadBalancers"},
    {"dns_record", "rrset-", "rrsets", "Microsoft.Network/dnsZones/recordsets"},
    {"bucket", "s3-", "buckets", "Microsoft.Storage/storageAccounts"},
    {"volume", "vol-", "disks", "Microsoft.Compute/disks"},
    {"database", "db-", "sqlInstances", "Microsoft.DBforPostgreSQL/flexibleServers"},
    {"queue", "sqs-", "topics", "Microsoft.ServiceBus/namespaces/queues"},
};

static int kind_of(const char *type)
{
    for (int i = 0; i < (int)(sizeof KINDS / sizeof *KINDS); i++)
        if (strcmp(KINDS[i].type, type) == 0)
            return i;
    return -1;
}

/* compute.web[0] → compute.web_5b0_5d.json: reversible, no directories.
 * A name longer than SIM_NAME_MAX (a file name has at most 255 bytes, and
 * one set aside adds ~ and 12 digits) keeps its first SIM_NAME_KEEP bytes
 * and ends in _h and 32 hex digits of the address's SHA-256, so that two
 * long addresses never share a file; short names are as they always were. */
#define SIM_NAME_MAX 200
#define SIM_NAME_KEEP 160
void mk_prov_sim_path(const char *address, char *out, size_t n)
{
    char name[SIM_NAME_MAX + 4];
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)address;
    for (; *p && k <= SIM_NAME_MAX; p++)
        k += (size_t)(isalnum(*p) || *p == '.' || *p == '-' ? snprintf(name + k, sizeof name - k, "%c", *p)
                                                             : snprintf(name + k, sizeof name - k, "_%02x", *p));
    if (k > SIM_NAME_MAX) {
        char hex[65];
        mk_sha256_hex(address, strlen(address), hex);
        snprintf(out, n, "%s/%.*s_h%.32s.json", SIM_DIR, SIM_NAME_KEEP, name, hex);
        return;
    }
    snprintf(out, n, "%s/%s.json", SIM_DIR, name);
}

/* Where an object set aside by create_before_destroy lives: the address's
 * file name with ~ and 12 hex digits of the id's SHA-256. */
static void aside_path(const char *address, const char *id, char *out, size_t n)
{
    char base[1024], hex[65];
    mk_prov_sim_path(address, base, sizeof base);
    base[strlen(base) - 5] = 0; /* ".json" */
    mk_sha256_hex(id, strlen(id), hex);
    snprintf(out, n, "%s~%.12s.json", base, hex);
}

/* A short, DNS-safe name from the address: compute.web[1] → web-1. */
static void short_name(const char *address, char *out, size_t n)
{
    const char *dot = strchr(address, '.');
    size_t k = 0;
    for (const char *p = dot ? dot + 1 : address; *p && k + 1 < n; p++)
        if (isalnum((unsigned char)*p))
            out[k++] = (char)tolower((unsigned char)*p);
        else if (k && out[k - 1] != '-')
            out[k++] = '-';
    while (k && out[k - 1] == '-')
        k--;
    out[k] = 0;
}

static void make_id(const char *cloud, const char *region, int kind, const char *name, char *out, size_t n)
{
    char hex[18];
    mk_rand_hex(hex, 8);
    if (strcmp(cloud, "gcp") == 0)
        snprintf(out, n, "projects/moksha-sim/regions/%s/%s/%s-%.6s", region, KINDS[kind].gcp, name, hex);
    else if (strcmp(cloud, "azure") == 0)
        snprintf(out, n, "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/moksha-sim/providers/%s/%s-%.6s",
                 KINDS[kind].azure, name, hex);
    else
        snprintf(out, n, "%s%.16s", KINDS[kind].aws, hex);
}

/* The computed attributes of a fresh object (every @computed field of the
 * type in stdlib/types). */
static json_t *computed(int kind, const char *id, const char *name, const char *cloud, const char *region, json_t *attrs)
{
    json_t *c = json_pack("{s:s}", "id", id);
    const char *t = KINDS[kind].type;
    char host[300], buf[400];
    unsigned r = (unsigned)(mk_rand_unit() * 65536);
    snprintf(host, sizeof host, "%s.%s.%s.sim.moksha.dev", name, region, cloud);
    if (strcmp(t, "compute") == 0) {
        snprintf(buf, sizeof buf, "198.51.100.%u", 1 + r % 254);
        json_object_set_new(c, "ip", json_string(buf));
        snprintf(buf, sizeof buf, "10.0.%u.%u", (r >> 8) % 256, 2 + r % 250);
        json_object_set_new(c, "private_ip", json_string(buf));
    } else if (strcmp(t, "database") == 0) {
        const char *engine = json_string_value(json_object_get(attrs, "engine")) ?: "postgres";
        int port = !strcmp(engine, "mysql") || !strcmp(engine, "mariadb") || !strcmp(engine, "aurora-mysql") ? 3306 : !strcmp(engine, "sqlserver") ? 1433 : 5432;
        json_object_set_new(c, "endpoint", json_string(host));
        json_object_set_new(c, "port", json_integer(port));
    } else if (strcmp(t, "bucket") == 0 || strcmp(t, "load_balancer") == 0) {
        snprintf(buf, sizeof buf, "https://%s", host);
        json_object_set_new(c, "endpoint", json_string(buf));
        if (t[0] == 'l')
            json_object_set_new(c, "dns_name", json_string(host));
    } else if (strcmp(t, "dns_record") == 0) {
        snprintf(buf, sizeof buf, "%s.%s", json_string_value(json_object_get(attrs, "name")) ?: name,
                 json_string_value(json_object_get(attrs, "zone")) ?: "sim.moksha.dev");
        json_object_set_new(c, "fqdn", json_string(buf));
    } else if (strcmp(t, "queue") == 0) {
        snprintf(buf, sizeof buf, "https://%s/queue", host);
        json_object_set_new(c, "url", json_string(buf));
    }
    return c;
}

static bool listed(json_t *list, const char *address)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), address) == 0)
            return true;
    return false;
}

/* The injected failures: OK to go on, else the status. fail_on fails
 * changes only. */
static mk_prov_status simulate(sim *s, const mk_prov_op *op, const char *verb, char *why, size_t whylen)
{
    bool change = strcmp(verb, "read") != 0;
    if (change && (listed(s->fail_on, op->address) || (op->moved_from && listed(s->fail_on, op->moved_from)))) {
        snprintf(why, whylen, "sim: %s %s failed (injected by fail_on)", verb, op->address);
        return MK_PROV_FAILED;
    }
    if (s->fail_rate > 0 && mk_rand_unit() < s->fail_rate) {
        snprintf(why, whylen, "sim: %s %s: transient error (injected by fail_rate)", verb, op->address);
        return MK_PROV_RETRYABLE;
    }
    return MK_PROV_OK;
}

/* An operation takes `latency` in all, its own bookkeeping included (as a
 * cloud API call would), or times out at the op's deadline — retryable, and
 * harmless to retry since operations are idempotent. */
static mk_prov_status take_latency(sim *s, const mk_prov_op *op, double start, mk_prov_status st, char *why, size_t whylen)
{
    double end = start + s->latency_ms;
    if (op->deadline_ms > 0 && op->deadline_ms < end) {
        mk_clock_sleep_ms(op->deadline_ms - mk_clock_now_ms());
        snprintf(why, whylen, "sim: %s timed out", op->address);
        return MK_PROV_RETRYABLE;
    }
    mk_clock_sleep_ms(end - mk_clock_now_ms());
    return st;
}

/* The attributes an object keeps: the desired ones without the computed
 * (those live under "computed"), so that an object re-made from `before`
 * is byte for byte the one that was deleted. */
static json_t *plain_attrs(json_t *attrs, json_t *comp)
{
    json_t *a = json_is_object(attrs) ? json_deep_copy(attrs) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(comp, k, v)
        json_object_del(a, k);
    return a;
}

json_t *mk_prov_sim_make(const char *address, const char *type, const char *cloud, const char *region, json_t *attrs,
                         char *why, size_t whylen)
{
    int kind = kind_of(type);
    if (kind < 0) {
        snprintf(why, whylen, "sim: no such type %s", type);
        return NULL;
    }
    char name[128], id[400];
    short_name(address, name, sizeof name);
    make_id(cloud, region, kind, name, id, sizeof id);
    json_t *c = computed(kind, id, name, cloud, region, attrs);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "address", address, "type", type, "cloud", cloud, "region",
                     region, "id", id, "attributes", plain_attrs(attrs, c), "computed", c);
}

json_t *mk_prov_sim_load(const char *address)
{
    char path[1024];
    mk_prov_sim_path(address, path, sizeof path);
    return json_load_file(path, 0, NULL);
}

static const char *id_of(json_t *obj) { return json_string_value(json_object_get(obj, "id")); }

/* The object's own injected failure (`moksha-exec sim fail`): on is "read"
 * or "write"; a permission error, which no retry mends. */
static mk_prov_status marked(json_t *obj, const char *on, const mk_prov_op *op, const char *verb, char *why, size_t whylen)
{
    const char *f = json_string_value(json_object_get(obj, "fail"));
    if (!f || strcmp(f, on) != 0)
        return MK_PROV_OK;
    const char *msg = json_string_value(json_object_get(obj, "fail_message"));
    snprintf(why, whylen, "sim: %s %s: permission denied%s%s", verb, op->address, msg ? ": " : "", msg ? msg : "");
    return MK_PROV_FAILED;
}

static bool save_object_at(const char *path, json_t *obj, char *why, size_t whylen)
{
    /* The world stands for a remote cloud, whose objects never tear when a
     * client dies. A new object is written straight into its file: torn by
     * a kill -9, it reads as absent, which is what an unfinished create is.
     * An object that exists is written whole to a hidden temporary beside it
     * and renamed over it, so a kill leaves the old object or the new one.
     * (Written in place, a kill between the truncate and the write left an
     * empty file that read as absent, and every later update of that
     * address failed: "no such object".) Creates, most of an apply's
     * writes, keep off the directory's rename lock. Not fsync'd: a machine
     * crash is not what the sim stands for. */
    char tmp[1100];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    char *text = json_dumps(obj, JSON_INDENT(1));
    int fd = text ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
    bool fresh = fd >= 0;
    if (text && !fresh && errno == EEXIST) {
        snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", dir, path, path + dir);
        fd = mkstemp(tmp);
        if (fd >= 0 && fchmod(fd, 0644) != 0) {
            close(fd);
            unlink(tmp);
            fd = -1;
        }
    }
    size_t n = text ? strlen(text) : 0;
    bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;
    ok = fd >= 0 && close(fd) == 0 && ok;
    ok = ok && (fresh || rename(tmp, path) == 0);
    if (!ok) {
        snprintf(why, whylen, "sim: cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            unlink(fresh ? path : tmp);
    }
    free(text);
    return ok;
}

bool mk_prov_sim_save(json_t *obj, char *why, size_t whylen)
{
    char path[1024];
    mk_prov_sim_path(json_string_value(json_object_get(obj, "address")), path, sizeof path);
    return save_object_at(path, obj, why, whylen);
}

/* Count an object in its region against the quota; false when over. */
static bool quota_take(sim *s, const char *cloud, const char *region, char *why, size_t whylen)
{
    char key[200];
    snprintf(key, sizeof key, "%s/%s", cloud, region);
    json_t *q = json_object_get(s->quotas, key);
    if (!q)
        q = json_object_get(s->quotas, region);
    pthread_mutex_lock(&s->mu);
    json_int_t have = json_integer_value(json_object_get(s->counts, key));
    bool ok = !json_is_number(q) || (double)have < json_number_value(q);
    if (ok)
        json_object_set_new(s->counts, key, json_integer(have + 1));
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        snprintf(why, whylen, "sim: quota of %g objects in %s is used up", json_number_value(q), key);
    return ok;
}

static void quota_give(sim *s, const char *cloud, const char *region)
{
    char key[200];
    snprintf(key, sizeof key, "%s/%s", cloud ?: "", region ?: "");
    pthread_mutex_lock(&s->mu);
    json_int_t have = json_integer_value(json_object_get(s->counts, key));
    json_object_set_new(s->counts, key, json_integer(have > 0 ? have - 1 : 0));
    pthread_mutex_unlock(&s->mu);
}

/* A secret must open with the executor's key: what a real provider needs. */
static bool secrets_open(const mk_prov_op *op, char *why, size_t whylen)
{
    const char *k;
    json_t *v;
    json_object_foreach(op->attrs, k, v) {
        if (!json_object_get(v, "$secret"))
            continue;
        char *plain = op->keys ? mk_keyring_open_attr(op->keys, v, op->address, k) : NULL;
        if (!plain) {
            snprintf(why, whylen, "sim: %s: the sealed secret `%s` does not open with this executor's key", op->address, k);
            return false;
        }
        memset(plain, 0, strlen(plain));
        free(plain);
    }
    return true;
}

static void set_owner(json_t *obj, const mk_prov_op *op)
{
    if (op->stack_id)
        json_object_set_new(obj, "owner", json_pack("{s:s, s:s?}", "stack", op->stack_id, "run", op->run_id));
}

/* note [sim owner]: may a create take old over, and was it made by another
 * run (*taken)? False with why when it is foreign. */
static bool own(json_t *old, const mk_prov_op *op, bool *taken, char *why, size_t whylen)
{
    json_t *owner = json_object_get(old, "owner");
    const char *stack = json_string_value(json_object_get(owner, "stack"));
    const char *run = json_string_value(json_object_get(owner, "run"));
    *taken = true;
    if (!op->stack_id)
        return true;
    if (stack && strcmp(stack, op->stack_id) == 0) {
        *taken = !(run && op->run_id && strcmp(run, op->run_id) == 0);
        return true;
    }
    snprintf(why, whylen, "sim: %s already holds an object this stack did not make (id %s%s): not taken over; "
             "to manage it, `moksha import %s %s`", op->address, id_of(old) ?: "?", stack ? ", another stack's" : "",
             op->address, id_of(old) ?: "ID");
    return false;
}

/* An object that exists already takes the desired attributes: the create
 * of a run that died before recording it, or a set-aside object taken back
 * (taken: not made by this run, so its undo must not delete it). */
static mk_prov_status adopt(json_t *old, const char *path, const mk_prov_op *op, bool taken, json_t **out, char *why,
                            size_t whylen)
{
    mk_prov_status st = marked(old, "write", op, "create", why, whylen);
    if (st != MK_PROV_OK) {
        json_decref(old);
        return st;
    }
    if (op->adopted && taken)
        *op->adopted = true;
    set_owner(old, op);
    *out = json_deep_copy(json_object_get(old, "computed"));
    json_object_set_new(old, "attributes", plain_attrs(op->attrs, json_object_get(old, "computed")));
    bool ok = save_object_at(path, old, why, whylen);
    json_decref(old);
    return ok ? MK_PROV_OK : MK_PROV_RETRYABLE;
}

/* create_before_destroy: set the object with id `deposing` aside; false
 * (with *adopted) when the address already holds a replacement that a run
 * which died made — that one is adopted. */
static bool set_aside(const mk_prov_op *op, const char *path, json_t **adopted, char *why, size_t whylen)
{
    json_t *cur = json_load_file(path, 0, NULL);
    *adopted = NULL;
    if (!cur)
        return true;
    if (strcmp(id_of(cur) ?: "", op->deposing) != 0) {
        *adopted = cur;
        return false;
    }
    json_decref(cur);
    char aside[1100];
    aside_path(op->address, op->deposing, aside, sizeof aside);
    if (rename(path, aside) != 0) {
        snprintf(why, whylen, "sim: set aside %s: %s", op->address, strerror(errno));
        return false;
    }
    return true;
}

/* A create with `deposing` that failed: the old object takes its address back. */
static void put_back(const mk_prov_op *op, const char *path)
{
    char aside[1100];
    if (!op->deposing || op->deposed)
        return;
    aside_path(op->address, op->deposing, aside, sizeof aside);
    if (access(path, F_OK) != 0)
        rename(aside, path);
}

/* An object found at the create's address: adopted, or refused as foreign. */
static mk_prov_status adopt_found(json_t *old, const char *path, const mk_prov_op *op, json_t **out, char *why,
                                  size_t whylen)
{
    bool taken;
    if (own(old, op, &taken, why, whylen))
        return adopt(old, path, op, taken, out, why, whylen);
    json_decref(old);
    return MK_PROV_FAILED;
}

static mk_prov_status create_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    sim *s = p->impl;
    int kind = kind_of(op->type);
    *out = NULL;
    if (kind < 0) {
        snprintf(why, whylen, "sim: no such type %s", op->type);
        return MK_PROV_FAILED;
    }
    mk_prov_status st = simulate(s, op, "create", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!secrets_open(op, why, whylen))
        return MK_PROV_FAILED;
    const char *keep = json_string_value(json_object_get(op->prior, "id"));
    char path[1100], aside[1100];
    mk_prov_sim_path(op->address, path, sizeof path);
    if (keep)
        aside_path(op->address, keep, aside, sizeof aside);
    if (op->deposed && keep) { /* re-made, and still set aside */
        snprintf(path, sizeof path, "%s", aside);
    } else if (op->deposing) {
        json_t *adopted, *cur = json_load_file(path, 0, NULL);
        mk_prov_status mark = cur ? marked(cur, "write", op, "create", why, whylen) : MK_PROV_OK;
        json_decref(cur);
        if (mark != MK_PROV_OK) /* the object it would set aside may not be changed */
            return mark;
        if (!set_aside(op, path, &adopted, why, whylen))
            return adopted ? adopt_found(adopted, path, op, out, why, whylen) : MK_PROV_RETRYABLE;
    } else if (keep && access(path, F_OK) != 0 && rename(aside, path) == 0) { /* taken back */
        json_t *back = json_load_file(path, 0, NULL);
        if (back)
            return adopt(back, path, op, true, out, why, whylen);
    }
    json_t *old = json_load_file(path, 0, NULL);
    if (old) /* made by a run that died before recording it, or foreign */
        return adopt_found(old, path, op, out, why, whylen);
    if (!quota_take(s, op->cloud, op->region, why, whylen)) {
        put_back(op, path);
        return MK_PROV_FAILED;
    }
    json_t *obj = mk_prov_sim_make(op->address, op->type, op->cloud, op->region, op->attrs, why, whylen);
    json_t *c = json_object_get(obj, "computed");
    const char *ck;
    json_t *cv;
    json_object_foreach(op->prior, ck, cv) /* re-created from `before`: the same computed values */
        if (json_object_get(c, ck) && !json_is_null(cv))
            json_object_set(c, ck, cv);
    json_object_set(obj, "id", json_object_get(c, "id"));
    set_owner(obj, op);
    bool ok = save_object_at(path, obj, why, whylen);
    if (!ok) {
        unlink(path);
        put_back(op, path);
        quota_give(s, op->cloud, op->region);
    }
    *out = ok ? json_deep_copy(c) : NULL;
    json_decref(obj);
    return ok ? MK_PROV_OK : MK_PROV_RETRYABLE;
}

static mk_prov_status update_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    sim *s = p->impl;
    *out = NULL;
    mk_prov_status st = simulate(s, op, "update", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    if (!secrets_open(op, why, whylen))
        return MK_PROV_FAILED;
    json_t *obj = mk_prov_sim_load(op->address);
    if (!obj) {
        snprintf(why, whylen, "sim: update %s: no such object (deleted outside moksha?)", op->address);
        return MK_PROV_FAILED;
    }
    if ((st = marked(obj, "write", op, "update", why, whylen)) != MK_PROV_OK) {
        json_decref(obj);
        return st;
    }
    json_object_set_new(obj, "attributes", plain_attrs(op->attrs, json_object_get(obj, "computed")));
    bool ok = mk_prov_sim_save(obj, why, whylen);
    if (ok)
        *out = json_deep_copy(json_object_get(obj, "computed"));
    json_decref(obj);
    return ok ? MK_PROV_OK : MK_PROV_RETRYABLE;
}

static mk_prov_status delete_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    sim *s = p->impl;
    *out = NULL;
    mk_prov_status st = simulate(s, op, "delete", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    const char *id = json_string_value(json_object_get(op->attrs, "id"));
    char path[1100];
    mk_prov_sim_path(op->address, path, sizeof path);
    json_t *obj = op->deposed ? NULL : json_load_file(path, 0, NULL);
    if (id && (op->deposed || (obj && id_of(obj) && strcmp(id_of(obj), id) != 0))) {
        /* not the object at the address: the one set aside with that id */
        json_decref(obj);
        aside_path(op->address, id, path, sizeof path);
        obj = json_load_file(path, 0, NULL);
    }
    if ((st = marked(obj, "write", op, "delete", why, whylen)) != MK_PROV_OK) {
        json_decref(obj);
        return st;
    }
    if (json_is_true(json_object_get(json_object_get(obj, "attributes"), "deletion_protection"))) {
        /* as the clouds do: the flag goes off in an update first */
        snprintf(why, whylen, "sim: %s has deletion protection on: set deletion_protection = false and apply first",
                 op->address);
        json_decref(obj);
        return MK_PROV_FAILED;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(why, whylen, "sim: delete %s: %s", op->address, strerror(errno));
        json_decref(obj);
        return MK_PROV_RETRYABLE;
    }
    if (obj)
        quota_give(s, json_string_value(json_object_get(obj, "cloud")), json_string_value(json_object_get(obj, "region")));
    json_decref(obj);
    return MK_PROV_OK;
}

/* The value the object holds for attribute k: computed ones win, as a read
 * of the cloud's API shows them. */
static json_t *held(json_t *obj, const char *k)
{
    json_t *v = json_object_get(json_object_get(obj, "computed"), k);
    return v ? v : json_object_get(json_object_get(obj, "attributes"), k);
}

/* All of an object, as an import reads it: its secrets — held sealed,
 * nested or not, or sealed in the desired attributes (want, or NULL) —
 * are ones this stack never sealed, so they show as unknown. */
static json_t *whole(json_t *obj, json_t *want)
{
    json_t *out = json_deep_copy(json_object_get(obj, "attributes"));
    const char *k;
    json_t *v;
    if (!json_is_object(out)) {
        json_decref(out);
        out = json_object();
    }
    json_object_update(out, json_object_get(obj, "computed"));
    json_object_foreach(out, k, v)
        if (mk_prov_seen_holds_secret(v) || mk_prov_seen_holds_secret(json_object_get(want, k)))
            json_object_set_new(out, k, mk_prov_seen_unknown());
    return out;
}

/* A recorded value that holds a secret: as seen.h says for a sealed one;
 * one nested in a map or list reads back as recorded only when the world
 * holds exactly that, else it differs — never the plaintext held. */
static json_t *seen_secret(const mk_prov_op *op, const char *k, json_t *rec, json_t *v)
{
    if (mk_prov_seen_is_secret(rec))
        return mk_prov_seen_value(op, k, rec, v);
    return json_equal(rec, v) ? json_deep_copy(rec) : mk_prov_seen_differs();
}

/* The object in the state's form: each attribute op->attrs records, with
 * the value held (left out when it holds none); a secret as seen.h says. */
static json_t *as_recorded(json_t *obj, const mk_prov_op *op)
{
    if (!json_is_object(op->attrs))
        return whole(obj, NULL);
    json_t *out = json_object();
    const char *k;
    json_t *rec;
    json_object_foreach(op->attrs, k, rec) {
        json_t *v = held(obj, k);
        if (v)
            json_object_set_new(out, k, mk_prov_seen_holds_secret(rec) ? seen_secret(op, k, rec, v) : json_deep_copy(v));
    }
    return out;
}

typedef struct {
    const char *id;
    json_t *obj;
    char path[1100];
} by_id;

static bool match_id(const char *path, json_t *obj, bool aside, void *ctx)
{
    by_id *b = ctx;
    if (aside || strcmp(id_of(obj) ?: "", b->id) != 0)
        return true;
    b->obj = json_incref(obj);
    snprintf(b->path, sizeof b->path, "%s", path);
    return false;
}

/* The object with provider id `id` anywhere in the world (not a set-aside
 * one: that one is being replaced), with its file in path; NULL if none. */
static json_t *find_id(const char *id, char *path, size_t n)
{
    by_id b = {.id = id};
    mk_prov_sim_each(match_id, &b);
    if (path)
        snprintf(path, n, "%s", b.path);
    return b.obj;
}

static mk_prov_status read_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    mk_prov_status st = simulate(p->impl, op, "read", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    json_t *obj = op->import_id ? find_id(op->import_id, NULL, 0) : mk_prov_sim_load(op->address);
    if (!obj) /* gone */
        return MK_PROV_OK;
    st = marked(obj, "read", op, "read", why, whylen);
    if (st == MK_PROV_OK)
        *out = op->import_id ? whole(obj, op->attrs) : as_recorded(obj, op);
    json_decref(obj);
    return st;
}

/* Write obj (its address now `to`'s) over the file from, then move that
 * file to to's: the object keeps everything else, its id first. */
static bool rekey(json_t *obj, const char *from, const char *address, const char *to, char *why, size_t whylen)
{
    json_object_set_new(obj, "address", json_string(address));
    if (!save_object_at(from, obj, why, whylen))
        return false;
    if (strcmp(from, to) != 0 && rename(from, to) != 0) {
        snprintf(why, whylen, "sim: cannot move %s to %s: %s", from, to, strerror(errno));
        return false;
    }
    return true;
}

static mk_prov_status import_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    mk_prov_status st = simulate(p->impl, op, "import", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    char from[1100], to[1100];
    json_t *obj = op->import_id ? find_id(op->import_id, from, sizeof from) : NULL, *there = NULL;
    mk_prov_sim_path(op->address, to, sizeof to);
    if (!obj) {
        snprintf(why, whylen, "sim: import %s: no object has the id %s", op->address, op->import_id ?: "(none)");
        return MK_PROV_FAILED;
    }
    if (strcmp(from, to) != 0 && (there = json_load_file(to, 0, NULL)))
        snprintf(why, whylen, "sim: import %s: the address already holds another object (id %s)", op->address,
                 id_of(there) ?: "?");
    else if (strcmp(json_string_value(json_object_get(obj, "type")) ?: "", op->type) != 0)
        snprintf(why, whylen, "sim: import %s: %s is a %s, not a %s", op->address, op->import_id,
                 json_string_value(json_object_get(obj, "type")) ?: "?", op->type);
    else if ((st = marked(obj, "write", op, "import", why, whylen)) == MK_PROV_OK) {
        set_owner(obj, op);
        st = rekey(obj, from, op->address, to, why, whylen) ? MK_PROV_OK : MK_PROV_RETRYABLE;
        *out = st == MK_PROV_OK ? json_deep_copy(json_object_get(obj, "computed")) : NULL;
        json_decref(obj);
        return st;
    }
    json_decref(there);
    json_decref(obj);
    return MK_PROV_FAILED;
}

typedef struct {
    const char *from, *to; /* addresses */
    bool ok;
    char *why;
    size_t whylen;
} asides;

/* A set-aside object of `from`: moves with it, keeping its tag. */
static bool move_aside(const char *path, json_t *obj, bool aside, void *ctx)
{
    asides *m = ctx;
    if (!aside || strcmp(json_string_value(json_object_get(obj, "address")) ?: "", m->from) != 0)
        return true;
    char to[1100];
    aside_path(m->to, id_of(obj) ?: "", to, sizeof to);
    m->ok = rekey(obj, path, m->to, to, m->why, m->whylen) && m->ok;
    return true;
}

static mk_prov_status move_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    mk_prov_status st = simulate(p->impl, op, "move", why, whylen);
    if (st != MK_PROV_OK)
        return st;
    const char *want = json_string_value(json_object_get(op->attrs, "id"));
    char from[1100], to[1100];
    mk_prov_sim_path(op->moved_from ?: "", from, sizeof from);
    mk_prov_sim_path(op->address, to, sizeof to);
    json_t *obj = op->moved_from ? json_load_file(from, 0, NULL) : NULL, *there = json_load_file(to, 0, NULL);
    st = MK_PROV_FAILED;
    if (!obj && there && (!want || strcmp(id_of(there) ?: "", want) == 0)) /* moved already: a retry */
        st = MK_PROV_OK;
    else if (!obj)
        snprintf(why, whylen, "sim: move %s: no object at %s", op->address, op->moved_from ?: "(none)");
    else if (there)
        snprintf(why, whylen, "sim: move %s: the address already holds another object (id %s)", op->address,
                 id_of(there) ?: "?");
    else if ((st = marked(obj, "write", op, "move", why, whylen)) == MK_PROV_OK) {
        asides m = {op->moved_from, op->address, true, why, whylen};
        st = rekey(obj, from, op->address, to, why, whylen) ? MK_PROV_OK : MK_PROV_RETRYABLE;
        if (st == MK_PROV_OK)
            mk_prov_sim_each(move_aside, &m);
        st = st == MK_PROV_OK && !m.ok ? MK_PROV_RETRYABLE : st;
    }
    if (st == MK_PROV_OK)
        *out = json_deep_copy(json_object_get(obj ? obj : there, "computed"));
    json_decref(obj);
    json_decref(there);
    return st;
}

static mk_prov_status create_timed_now(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return create_now(p, op, out, why, whylen);
}

#define TIMED(NAME)                                                                                          \
    static mk_prov_status sim_##NAME(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen) \
    {                                                                                                        \
        double start = mk_clock_now_ms();                                                                     \
        mk_prov_status st = NAME##_now(p, op, out, why, whylen);                                             \
        st = take_latency(p->impl, op, start, st, why, whylen);                                              \
        if (st != MK_PROV_OK) {                                                                              \
            json_decref(*out);                                                                               \
            *out = NULL;                                                                                     \
        }                                                                                                    \
        return st;                                                                                           \
    }
TIMED(create_timed)
TIMED(update)
TIMED(delete)
TIMED(read)
TIMED(import)
TIMED(move)

/* A create_before_destroy create that timed out after it set the old object
 * aside and made the replacement: the step fails, so the world must be as it
 * was — the replacement goes, the old object takes its address back. */
static mk_prov_status sim_create(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    mk_prov_status st = sim_create_timed(p, op, out, why, whylen);
    if (st != MK_PROV_OK && op->deposing && !op->deposed) {
        char path[1100];
        mk_prov_sim_path(op->address, path, sizeof path);
        json_t *cur = json_load_file(path, 0, NULL);
        if (cur && strcmp(id_of(cur) ?: "", op->deposing) != 0 && unlink(path) == 0)
            quota_give(p->impl, json_string_value(json_object_get(cur, "cloud")), json_string_value(json_object_get(cur, "region")));
        json_decref(cur);
        put_back(op, path);
    }
    return st;
}

void mk_prov_sim_each(bool (*fn)(const char *path, json_t *obj, bool aside, void *ctx), void *ctx)
{
    DIR *d = opendir(SIM_DIR);
    struct dirent *e;
    bool go = true;
    while (go && d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || e->d_name[0] == '.' || strcmp(e->d_name + n - 5, ".json") != 0)
            continue; /* a write's hidden temporary */
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SIM_DIR, e->d_name);
        json_t *obj = json_load_file(path, 0, NULL);
        if (json_is_object(obj))
            go = fn(path, obj, strchr(e->d_name, '~') != NULL, ctx);
        json_decref(obj);
    }
    if (d)
        closedir(d);
}

static bool count_one(const char *path, json_t *obj, bool aside, void *ctx)
{
    sim *s = ctx;
    char key[200];
    (void)path, (void)aside;
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(obj, "cloud")) ?: "",
             json_string_value(json_object_get(obj, "region")) ?: "");
    json_object_set_new(s->counts, key, json_integer(json_integer_value(json_object_get(s->counts, key)) + 1));
    return true;
}

static void sim_free(mk_prov *p)
{
    sim *s = p->impl;
    json_decref(s->fail_on);
    json_decref(s->quotas);
    json_decref(s->counts);
    pthread_mutex_destroy(&s->mu);
    free(s);
    free(p);
}

mk_prov *mk_prov_sim_new(json_t *settings, char *why, size_t whylen)
{
    json_t *lat = json_object_get(settings, "latency"), *rate = json_object_get(settings, "fail_rate");
    double latency = 0;
    if (lat && !json_is_null(lat) && !(json_is_string(lat) && mk_clock_parse_duration(json_string_value(lat), &latency))) {
        snprintf(why, whylen, "sim: latency must be a duration such as \"20ms\"");
        return NULL;
    }
    if (!mk_fileio_mkdirs(SIM_DIR)) {
        snprintf(why, whylen, "sim: cannot create %s: %s", SIM_DIR, strerror(errno));
        return NULL;
    }
    sim *s = calloc(1, sizeof *s);
    mk_prov *p = calloc(1, sizeof *p);
    s->latency_ms = latency;
    s->fail_rate = json_is_number(rate) ? json_number_value(rate) : 0;
    s->fail_on = json_incref(json_object_get(settings, "fail_on"));
    s->quotas = json_incref(json_object_get(settings, "quotas"));
    s->counts = json_object();
    pthread_mutex_init(&s->mu, NULL);
    mk_prov_sim_each(count_one, s);
    *p = (mk_prov){.kind = "sim", .caps = MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS, .create = sim_create,
                   .read = sim_read, .update = sim_update, .del = sim_delete, .import = sim_import,
                   .move = sim_move, .free = sim_free, .impl = s};
    return p;
}
