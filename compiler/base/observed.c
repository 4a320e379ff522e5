/* observed — reading moksha.observed/v1 and matching its observations to
 * the state's entries. */
#include "compiler/base/observed.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler/base/diag.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/mem.h"
#include "compiler/base/state.h"

/* Reports E0306; always NULL. what begins with the file's name. */
static mk_observed *damaged(struct mk_diag *diag, const char *what)
{
    mk_diag_item *it = mk_diag_error(diag, "E0306", MK_NOSPAN, "the observations cannot be read: %s", what);
    mk_diag_help(it, "they are written by `moksha-exec refresh`: refresh again, or remove the file to plan from the state");
    return NULL;
}

static const char *const STATUSES[] = {"present", "gone", "unreadable"};

/* One resource's observation: its status, `entry` digest and, when
 * present, the rest in their types. */
static bool observation_ok(json_t *r)
{
    const char *st = json_string_value(json_object_get(r, "status"));
    json_t *attrs = json_object_get(r, "attributes"), *drift = json_object_get(r, "drift");
    bool known = false;
    for (size_t i = 0; st && i < 3; i++)
        known |= strcmp(st, STATUSES[i]) == 0;
    return json_is_object(r) && known && json_is_string(json_object_get(r, "entry")) &&
           (!attrs || json_is_object(attrs)) && (!drift || json_is_array(drift));
}

/* The document checked and taken into o; false once reported. */
static bool take(mk_observed *o, json_t *root, const char *name, struct mk_diag *diag)
{
    char msg[600];
    json_t *fmt = json_object_get(root, "format"), *res = json_object_get(root, "resources");
    json_t *ser = json_object_get(root, "serial"), *at = json_object_get(root, "at");
    const char *why = !json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.observed/v1") != 0
                          ? "not a moksha.observed/v1 document"
                      : !json_is_object(res) ? "`resources` is not an object"
                      : (ser && !json_is_integer(ser)) || (at && !json_is_string(at)) ? "its `serial` or `at` is not one"
                                                                                       : NULL;
    const char *addr;
    json_t *r;
    json_object_foreach(why ? NULL : res, addr, r) if (!observation_ok(r)) {
        snprintf(msg, sizeof msg, "the observation of %s lacks its status or entry digest", addr);
        why = msg;
        break;
    }
    if (why) {
        char full[800];
        snprintf(full, sizeof full, "%s: %s", name, why);
        json_decref(root);
        return damaged(diag, full), false;
    }
    o->root = root, o->resources = res;
    o->at = json_string_value(at), o->serial = json_integer_value(ser);
    return true;
}

mk_observed *mk_observed_parse(const char *text, size_t len, const char *name, struct mk_diag *diag)
{
    mk_observed *o = mk_mem_calloc(1, sizeof *o);
    if (!text)
        return o;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    char why[600];
    if (!root)
        mk_jsonfile_parse_error(name, &je, text, len, why, sizeof why);
    if (!root ? (damaged(diag, why), true) : !take(o, root, name, diag)) {
        mk_mem_free(o);
        return NULL;
    }
    return o;
}

mk_observed *mk_observed_read(const char *path, struct mk_diag *diag)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 && errno == ENOENT)
        return mk_mem_calloc(1, sizeof(mk_observed));
    char why[600];
    /* a FIFO in its place would hang the plan: only a regular file is read */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, sizeof why, "%s: not a regular file", path);
        return damaged(diag, why);
    }
    json_t *root = mk_jsonfile_load(path, JSON_REJECT_DUPLICATES, why, sizeof why);
    if (!root)
        return damaged(diag, why);
    mk_observed *o = mk_mem_calloc(1, sizeof *o);
    if (!take(o, root, path, diag)) {
        mk_mem_free(o);
        return NULL;
    }
    return o;
}

/* A state never written has no lineage nor stack id, and the executor
 * writes "" / null for them: all the same "none". b may be NULL (no state). */
static bool same_field(json_t *a, json_t *b, const char *k)
{
    const char *x = json_string_value(json_object_get(a, k)), *y = json_string_value(json_object_get(b, k));
    return strcmp(x ?: "", y ?: "") == 0;
}

void mk_observed_bind(mk_observed *o, const mk_state *st, struct mk_diag *diag)
{
    if (!o || !o->root)
        return;
    json_t *sr = st ? st->root : NULL;
    bool lineage = same_field(o->root, sr, "lineage"), stack = same_field(o->root, sr, "stack_id");
    if (lineage && stack)
        return;
    mk_diag_item *it = mk_diag_warn(diag, "W0002", MK_NOSPAN, "the observations are not of this state (another %s): ignored",
                                    !lineage ? "lineage" : "stack id");
    mk_diag_help(it, "`moksha refresh` reads the world again for this state");
    json_decref(o->root);
    *o = (mk_observed){0};
}

void mk_observed_free(mk_observed *o)
{
    if (!o)
        return;
    json_decref(o->root);
    mk_mem_free(o);
}

static int digest_part(const char *buffer, size_t size, void *md)
{
    return EVP_DigestUpdate(md, buffer, size) == 1 ? 0 : -1;
}

/* note [entry digest] in runtime/refresh.c: the attributes, then a NUL
 * and the entry's run when it records one. Streamed into the hash as
 * jansson writes it: a 100,000-entry state makes no text of each entry
 * (in the plan's JSON arenas, a dump's growing buffer would stay until
 * the end). */
void mk_observed_digest(json_t *entry, char out[65])
{
    json_t *attrs = json_object_get(entry, "attributes");
    const char *run = json_string_value(json_object_get(entry, "run"));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    if (attrs)
        json_dump_callback(attrs, digest_part, md, JSON_COMPACT | JSON_SORT_KEYS);
    else
        EVP_DigestUpdate(md, "{}", 2);
    if (run) {
        EVP_DigestUpdate(md, "", 1);
        EVP_DigestUpdate(md, run, strlen(run));
    }
    unsigned char d[32];
    unsigned int n = 32;
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

json_t *mk_observed_of(const mk_observed *o, json_t *state_entry)
{
    if (!o || !o->resources)
        return NULL;
    json_t *r = json_object_get(o->resources, json_string_value(json_object_get(state_entry, "address")) ?: "");
    if (!r)
        return NULL;
    char d[65];
    mk_observed_digest(state_entry, d);
    return strcmp(d, json_string_value(json_object_get(r, "entry"))) == 0 ? r : NULL;
}
