/* fuzz_refresh — the comparison at the heart of `moksha-exec refresh` and
 * of the guard of an apply's steps (runtime/refresh.c: mk_refresh_differs,
 * mk_refresh_observe), and the compiler reading back what it writes
 * (compiler/base/observed.c). The input is up to four JSON values one
 * after the other: a state entry, what a read returned (anything but an
 * object, or missing: gone), the entry's prior observation, and a string
 * making the read an error. Invariants beyond "no crash":
 *
 * - the drifted names are exactly the attributes of the entry, not in its
 *   ignore_changes, whose value the read does not have (missing counting
 *   as null), in the entry's order;
 * - the status follows docs/drift.md: unreadable on an error, else ignored
 *   under lifecycle.drift "ignore", gone without a read, drifted exactly
 *   when a name differs; whatever the mode, the observation carries the
 *   names exactly when one differs, and the read exactly when any
 *   attribute differs (ignore_changes ones too); its own status is what
 *   the read gave;
 * - the executor's `entry` digest is the compiler's, and an observation
 *   written in a moksha.observed/v1 document is read back by the compiler
 *   as the entry's current one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/base/observed.h"
#include "compiler/base/source.h"
#include "runtime/refresh.h"
#include "tests/fuzz/fuzz.h"

#define H "fuzz_refresh"
#define NVAL 4

/* Up to NVAL values of data, each where the one before stopped. */
static size_t split(const uint8_t *data, size_t size, json_t *v[NVAL])
{
    size_t n = 0, at = 0;
    while (n < NVAL && at < size) {
        json_error_t je;
        v[n] = json_loadb((const char *)data + at, size - at, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);
        if (!v[n] || je.position <= 0)
            break;
        at += (size_t)je.position, n++;
    }
    return n;
}

static bool ignored(json_t *ignore, const char *k)
{
    size_t i;
    json_t *s;
    json_array_foreach(ignore, i, s) if (strcmp(json_string_value(s) ?: "", k) == 0) return true;
    return false;
}

static void check_differs(json_t *attrs, json_t *read, json_t *ignore, json_t *names)
{
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) {
        json_t *seen = json_object_get(read, k);
        if (ignored(ignore, k) || json_equal(v, seen ? seen : json_null()))
            continue;
        if (strcmp(json_string_value(json_array_get(names, i)) ?: "", k) != 0)
            mk_fuzz_broken(H, k, "a differing attribute is not named in its place");
        i++;
    }
    if (i != json_array_size(names))
        mk_fuzz_broken(H, "differs", "names an attribute that does not differ");
}

/* Does any attribute of the entry differ in the read, none ignored? */
static bool any_differs(json_t *attrs, json_t *read)
{
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) {
        json_t *seen = json_object_get(read, k);
        if (!json_equal(v, seen ? seen : json_null()))
            return true;
    }
    return false;
}

static void check_status(json_t *entry, json_t *read, const char *error, json_t *obs, const char *st, json_t *names)
{
    const char *mode = json_string_value(json_object_get(json_object_get(entry, "lifecycle"), "drift"));
    /* an object under "ignore" is never reported, not even gone */
    const char *want = error ? "unreadable" : mode && strcmp(mode, "ignore") == 0 ? "ignored" : !read ? "gone"
                       : json_array_size(names) ? "drifted" : "in_sync";
    const char *seen = error ? "unreadable" : read ? "present" : "gone";
    if (strcmp(st, want) != 0)
        mk_fuzz_broken(H, st, "the status is not the one docs/drift.md gives");
    if (strcmp(json_string_value(json_object_get(obs, "status")) ?: "", seen) != 0)
        mk_fuzz_broken(H, st, "the observation's status is not what the read gave");
    bool named = !error && read && json_array_size(names);
    bool differs = !error && read && any_differs(json_object_get(entry, "attributes"), read);
    if (named != (json_object_get(obs, "drift") != NULL) || (named && !json_equal(json_object_get(obs, "drift"), names)))
        mk_fuzz_broken(H, st, "the observation does not carry the drifted names exactly when one differs");
    if (differs != (json_object_get(obs, "attributes") != NULL) || (differs && json_object_get(obs, "attributes") != read))
        mk_fuzz_broken(H, st, "the observation does not carry the read exactly when an attribute differs");
}

/* The observation as observed.json holds it, read by the compiler. */
static void check_read_back(json_t *entry, json_t *obs)
{
    const char *addr = json_string_value(json_object_get(entry, "address"));
    json_t *attrs = json_object_get(entry, "attributes");
    if (!addr || !json_is_object(attrs))
        return;
    char a[65], b[65];
    mk_refresh_entry_digest(entry, a);
    mk_observed_digest(entry, b);
    if (strcmp(a, b) != 0)
        mk_fuzz_broken(H, addr, "the executor's entry digest is not the compiler's");
    json_t *doc = json_pack("{s:s, s:{s:O}}", "format", "moksha.observed/v1", "resources", addr, obs);
    char *text = json_dumps(doc, JSON_COMPACT);
    mk_srcset src;
    mk_src_init(&src);
    mk_diag *diag = mk_diag_new(&src);
    mk_observed *o = mk_observed_parse(text, strlen(text), "observed.json", diag);
    if (!o)
        mk_fuzz_broken(H, addr, "the compiler refuses the observation written");
    if (!json_equal(mk_observed_of(o, entry), obs))
        mk_fuzz_broken(H, addr, "the compiler does not read the observation as the entry's current one");
    mk_observed_free(o);
    mk_diag_free(diag);
    mk_src_fini(&src);
    free(text);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v[NVAL] = {0};
    if (split(data, size, v) == 0)
        return 0;
    /* a provider's read is an object or nothing (runtime/providers/provider.h) */
    json_t *entry = v[0], *read = json_is_object(v[1]) ? v[1] : NULL, *prior = v[2];
    const char *error = json_string_value(v[3]);
    json_t *attrs = json_object_get(entry, "attributes");
    json_t *ignore = json_object_get(json_object_get(entry, "lifecycle"), "ignore_changes");
    json_t *names = mk_refresh_differs(attrs, read, ignore);
    check_differs(attrs, read, ignore, names);
    const char *st = NULL;
    json_t *obs = mk_refresh_observe(entry, read, error, prior, "2026-12-01T17:00:00Z", &st);
    check_status(entry, read, error, obs, st, names);
    check_read_back(entry, obs);
    json_decref(obs);
    json_decref(names);
    for (size_t i = 0; i < NVAL; i++)
        json_decref(v[i]);
    return 0;
}
