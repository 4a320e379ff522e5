/* rotate — a new key, the state's secrets re-sealed with it: the project
 * key (note [key rotation]), or in trust mode the executor's seal key in its
 * key directory (note [seal key rotation]).
 *
 * note [key rotation]: the new key goes where the old one came from. From
 * .moksha/key the new key (MOKSHA_NEW_KEY, else 32 random bytes) is staged
 * as .moksha/key.next and the old kept as .moksha/key.OLD_ID.old; from
 * MOKSHA_KEY (which the executor cannot change) MOKSHA_NEW_KEY is required
 * and nothing is staged. Then, in this order:
 *   1. the audit entry `key.rotate` is written, the head not moved (it is
 *      still keyed with the old key: note [audit head] in audit.c);
 *   2. the state is written: secrets re-sealed and fingerprinted with the new
 *      key, `sealed_with` its id, its audit mark that entry (serial + 1);
 *   3. the audit head is keyed with the new key and sealed on that entry
 *      and the state's new serial;
 *   4. key.next is renamed over key.
 * A crash before 2 leaves everything readable with the old key (the next
 * rotate drops key.next). After 2 the state says `sealed_with` the new key,
 * and the next rotate finishes 3 and 4 instead of starting over: with
 * key.next, or with MOKSHA_NEW_KEY naming the key the state is sealed with.
 * While key.next is there both key loaders refuse the old key. Afterwards a
 * plan signed with the old key is refused (another key id, and the serial
 * moved). */
#include "runtime/rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/lock.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/rand.h"
#include "runtime/rtstate.h"
#include "runtime/signals.h"

#define KEY_FILE MK_PATH_DIR "/key"
#define KEY_NEXT MK_PATH_DIR "/key.next"

/* The backend under_lock holds the lock of, for the function it runs.
 * Rotation writes the state and moves the audit head by their files
 * (mk_audit_rekey), so it runs on the local backend only. */
static mk_backend *held;

typedef struct rot {
    mk_planfile_key old, neu;
    size_t resealed;
    char why[1024];
} rot;

/* Re-seal every {"$secret": {"sealed"}} in v, in place (v is a copy). */
static bool reseal(rot *r, json_t *v, const char *address)
{
    json_t *sec = json_object_get(v, "$secret");
    if (json_is_object(sec) && json_is_string(json_object_get(sec, "sealed"))) {
        char *plain = mk_planfile_unseal(&r->old, v), fp[65];
        char *sealed = plain ? mk_planfile_seal(&r->neu, plain, strlen(plain)) : NULL;
        if (plain) {
            mk_planfile_fingerprint(&r->neu, plain, strlen(plain), fp);
            OPENSSL_cleanse(plain, strlen(plain));
            free(plain);
        }
        if (!sealed) {
            snprintf(r->why, sizeof r->why, "a secret of %s cannot be opened with the current key (sealed with another): "
                     "nothing was changed", address);
            return false;
        }
        json_object_set_new(sec, "sealed", json_string(sealed));
        json_object_set_new(sec, "fingerprint", json_string(fp));
        free(sealed);
        r->resealed++;
        return true;
    }
    const char *k;
    size_t i;
    json_t *e;
    if (json_is_object(v))
        json_object_foreach(v, k, e)
            if (!reseal(r, e, address))
                return false;
    if (json_is_array(v))
        json_array_foreach(v, i, e)
            if (!reseal(r, e, address))
                return false;
    return true;
}

/* Every entry of the state through fn on a copy of it; a copy fn counted
 * a re-sealed secret in replaces the entry (entries are replaced, never
 * changed). Stops at the first that fails. */
typedef bool (*entry_fn)(void *r, json_t *copy, const char *address);
static bool each_entry(mk_rtstate *st, entry_fn fn, void *r, const size_t *count)
{
    json_t *addrs = json_array(), *e, *name;
    const char *a;
    size_t i;
    bool ok = true;
    json_object_foreach(st->by_addr, a, e)
        json_array_append_new(addrs, json_string(a));
    json_array_foreach(addrs, i, name) {
        json_t *copy = json_deep_copy(mk_rtstate_get(st, json_string_value(name)));
        size_t before = *count;
        ok = copy && fn(r, copy, json_string_value(name));
        if (ok && *count > before)
            mk_rtstate_put(st, copy);
        else
            json_decref(copy);
        if (!ok)
            break;
    }
    json_decref(addrs);
    return ok;
}

static bool reseal_copy(void *r, json_t *copy, const char *address) { return reseal(r, copy, address); }

static bool reseal_state(rot *r, mk_rtstate *st)
{
    bool ok = each_entry(st, reseal_copy, r, &r->resealed);
    json_object_set_new(st->doc, "sealed_with", json_string(r->neu.id));
    return ok;
}

/* A key file: mode 0600, written and synced. */
static bool write_key(const char *path, const char *text, bool exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (exclusive ? O_EXCL : 0) | O_CLOEXEC, 0600);
    size_t n = strlen(text);
    bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    return ok;
}

/* The audit log, opened with the first of keys whose MAC its head carries,
 * checked against the state's mark; NULL with why. */
static mk_audit *open_audit(mk_rtstate *st, const mk_planfile_key *first, const mk_planfile_key *second, char *why, size_t whylen)
{
    mk_audit_mark m;
    mk_keyring kr;
    mk_rtstate_audit_record(st, &m);
    mk_keyring_from_project(&kr, first);
    mk_audit *a = mk_backend_audit_open(held, &kr, &m, why, whylen);
    if (!a && second) {
        mk_keyring_from_project(&kr, second);
        a = mk_backend_audit_open(held, &kr, &m, why, whylen);
    }
    mk_keyring_free(&kr);
    return a;
}

static bool rekey(mk_audit *a, const mk_planfile_key *k, long long serial)
{
    mk_keyring kr;
    mk_keyring_from_project(&kr, k);
    bool ok = mk_audit_rekey(a, &kr, serial);
    mk_keyring_free(&kr);
    return ok;
}

/* note [key rotation], steps 3 and 4 for a state already sealed with neu.
 * A head already keyed with neu (a crash between 3 and 4) opens under neu
 * and is written again the same. */
static int finish(rot *r, mk_rtstate *st, bool staged)
{
    mk_audit *a = open_audit(st, &r->old, &r->neu, r->why, sizeof r->why);
    bool ok = a && rekey(a, &r->neu, mk_rtstate_serial(st));
    if (a && !ok)
        snprintf(r->why, sizeof r->why, "cannot write the audit head: %s", strerror(errno));
    mk_audit_close(a);
    if (ok && staged && rename(KEY_NEXT, KEY_FILE) != 0)
        ok = (snprintf(r->why, sizeof r->why, "cannot rename %s to %s: %s", KEY_NEXT, KEY_FILE, strerror(errno)), false);
    return ok ? MK_EXIT_OK : MK_EXIT_INPUT;
}

/* The new key's text (malloc'd) into r->neu; NULL with why. */
static char *new_key(rot *r, bool from_env, const char *stack_id)
{
    const char *given = getenv("MOKSHA_NEW_KEY");
    char *text = NULL;
    if (given && *given) {
        text = strdup(given);
    } else if (from_env) {
        snprintf(r->why, sizeof r->why, "the key comes from MOKSHA_KEY, which moksha-exec cannot change: set MOKSHA_NEW_KEY "
                 "to the new key (e.g. `openssl rand -hex 32`), run `moksha-exec key rotate` again, then store the new key "
                 "where MOKSHA_KEY comes from");
        return NULL;
    } else if ((text = malloc(65))) {
        mk_rand_hex(text, 32);
    }
    if (text && !mk_planfile_key_from_text(&r->neu, text, stack_id, "MOKSHA_NEW_KEY", r->why, sizeof r->why)) {
        free(text);
        return NULL;
    }
    if (text && strcmp(r->neu.id, r->old.id) == 0) {
        snprintf(r->why, sizeof r->why, "MOKSHA_NEW_KEY is the current key: nothing to rotate");
        free(text);
        return NULL;
    }
    return text;
}

static void report(const rot *r, mk_rtstate *st, bool has_state, bool from_env, const char *old_copy)
{
    if (has_state)
        printf("Rotated the project key: %s → %s; %zu secret%s re-sealed (state serial %lld).\n", r->old.id, r->neu.id,
               r->resealed, r->resealed == 1 ? "" : "s", mk_rtstate_serial(st));
    else
        printf("Rotated the project key: %s → %s (no state yet: nothing to re-seal).\n", r->old.id, r->neu.id);
    if (from_env)
        printf("Store the new key (MOKSHA_NEW_KEY) where MOKSHA_KEY comes from, now: the state opens only with it.\n");
    else
        printf("The new key is in %s; the old one is kept in %s (delete it once nothing needs it).\n", KEY_FILE, old_copy);
    printf("Plans signed with the old key are refused from now on: plan again.\n");
}

/* Steps 1 to 4 (note [key rotation]) for the key text in r->neu, under the lock. */
static int rotate_to(rot *r, mk_rtstate *st, bool from_env, const char *text)
{
    bool has_state = *mk_rtstate_lineage(st) || mk_rtstate_serial(st) > 0;
    mk_audit *audit = NULL;
    char old_copy[128];
    snprintf(old_copy, sizeof old_copy, "%s/key.%s.old", MK_PATH_DIR, r->old.id);
    bool ok = reseal_state(r, st) && (audit = open_audit(st, &r->old, NULL, r->why, sizeof r->why)) != NULL;
    if (ok && !from_env) {
        char *old_text = mk_fileio_read(KEY_FILE, NULL);
        for (size_t n = old_text ? strlen(old_text) : 0; n && strchr(" \t\r\n", old_text[n - 1]); n--)
            old_text[n - 1] = 0; /* write_key ends it with one newline */
        ok = old_text && write_key(old_copy, old_text, false) && write_key(KEY_NEXT, text, true);
        if (old_text) {
            OPENSSL_cleanse(old_text, strlen(old_text));
            free(old_text);
        }
        if (!ok)
            snprintf(r->why, sizeof r->why, "cannot write %s or %s: %s", old_copy, KEY_NEXT, strerror(errno));
    }
    if (ok) {
        /* the entry is written, not sealed: the head moves (under the new key) once the state names it */
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:I}", "event", "key.rotate", "old_key_id", r->old.id, "new_key_id",
                               r->neu.id, "secrets", (json_int_t)r->resealed, "serial",
                               (json_int_t)mk_rtstate_serial(st) + has_state);
        char *line = mk_audit_entry(audit, ev);
        json_decref(ev);
        ok = line && mk_audit_write(audit, line, strlen(line));
        free(line);
        mk_audit_mark m;
        mk_audit_last(audit, &m);
        mk_rtstate_set_audit_mark(st, m.seq, m.hash);
        ok = ok && (!has_state || mk_rtstate_save(st)); /* no state yet: nothing sealed, nothing to write */
        if (!ok)
            snprintf(r->why, sizeof r->why, "cannot write the audit log or the state: %s; nothing was rotated", strerror(errno));
    }
    bool written = ok;
    if (ok && !rekey(audit, &r->neu, mk_rtstate_serial(st))) /* step 3 */
        ok = (snprintf(r->why, sizeof r->why, "cannot write the audit head: %s; run `moksha-exec key rotate` again to "
                       "finish", strerror(errno)), false);
    mk_audit_close(audit);
    if (!written && !from_env)
        unlink(KEY_NEXT); /* the state was not written: the old key still opens it */
    if (ok && !from_env && rename(KEY_NEXT, KEY_FILE) != 0) /* step 4 */
        ok = (snprintf(r->why, sizeof r->why, "cannot rename %s to %s: %s; run `moksha-exec key rotate` again to finish",
                       KEY_NEXT, KEY_FILE, strerror(errno)), false);
    int rc = ok ? MK_EXIT_OK : MK_EXIT_INPUT;
    if (!rc)
        report(r, st, has_state, from_env, old_copy);
    return rc;
}

/* Under the lock: finish an interrupted rotation (key.next staged, or
 * MOKSHA_NEW_KEY naming the key the state is already sealed with), else
 * rotate. */
static int rotate_locked(rot *r, bool from_env, const char *stack_id)
{
    mk_rtstate *st = mk_backend_load(held, r->why, sizeof r->why);
    if (!st)
        return MK_EXIT_INPUT;
    const char *sealed = json_string_value(json_object_get(st->doc, "sealed_with"));
    char *text = from_env ? NULL : mk_fileio_read(KEY_NEXT, NULL), why[512];
    bool staged = text != NULL;
    if (staged && (!mk_planfile_key_from_text(&r->neu, text, stack_id, KEY_NEXT, why, sizeof why) || !sealed ||
                   strcmp(sealed, r->neu.id) != 0)) {
        unlink(KEY_NEXT); /* staged, but the state never got sealed with it: the old key still opens it */
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        text = NULL;
        staged = false;
    }
    if (!text)
        text = new_key(r, from_env, stack_id);
    int rc = MK_EXIT_INPUT;
    bool resume = text && sealed && strcmp(sealed, r->neu.id) == 0;
    if (resume) {
        rc = finish(r, st, staged);
        if (!rc)
            printf("Finished an interrupted rotation: the state is sealed with key %s%s.\n", r->neu.id,
                   from_env ? "; store it where MOKSHA_KEY comes from" : staged ? ", now " KEY_FILE : "");
    } else if (text) {
        rc = rotate_to(r, st, from_env, text);
    }
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    mk_rtstate_free(st);
    return rc;
}

/* The current key, from MOKSHA_KEY or .moksha/key (read directly: the
 * loader refuses it while an interrupted rotation's key.next is there). */
static bool old_key(rot *r, bool from_env, const char *stack_id)
{
    if (from_env || access(KEY_NEXT, F_OK) != 0)
        return mk_planfile_key_load(&r->old, MK_PATH_DIR, r->why, sizeof r->why);
    char *text = mk_fileio_read(KEY_FILE, NULL);
    bool ok = text && mk_planfile_key_from_text(&r->old, text, stack_id, KEY_FILE, r->why, sizeof r->why);
    if (!text)
        snprintf(r->why, sizeof r->why, "cannot read %s: %s", KEY_FILE, strerror(errno));
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    return ok;
}

/* fn(arg) under the state lock, stop signals held (note [signal hold] in
 * runtime/signals.h); its error (in why) said. */
static int under_lock(int (*fn)(void *), void *arg, char *why, size_t whylen)
{
    json_t *info = NULL;
    sigset_t old;
    char lock_id[37];
    mk_config cfg;
    if (!mk_config_load(&cfg, why, whylen))
        return fprintf(stderr, "moksha-exec: error: %s\n", why), MK_EXIT_INPUT;
    mk_backend *be = mk_backend_open(&cfg, NULL, mk_backend_stack(), mk_paths_now.env, why, whylen);
    if (be && strcmp(mk_backend_info_of(be)->kind, "local") != 0) {
        snprintf(why, whylen, "key rotation re-seals a state kept in local files; this executor keeps it on %s: "
                 "migrate it to local (`moksha state migrate --to local`), rotate, and migrate it back",
                 mk_backend_info_of(be)->kind);
        mk_backend_close(be);
        be = NULL;
    }
    int rc = MK_EXIT_INPUT;
    mk_signals_hold(&old);
    mk_lock_status ls = be ? mk_backend_lock(be, "key rotate", NULL, 0, lock_id, &info, why, whylen) : MK_LOCK_ERROR;
    json_decref(info);
    if (be)
        rc = ls == MK_LOCK_HELD ? MK_EXIT_LOCKED : MK_EXIT_INPUT;
    if (ls == MK_LOCK_TAKEN) {
        held = be;
        rc = fn(arg);
        mk_backend_unlock(be, lock_id);
        held = NULL;
    }
    mk_backend_close(be);
    mk_config_free(&cfg);
    fflush(stdout);
    mk_signals_restore(&old);
    if (rc)
        fprintf(stderr, "moksha-exec: error: %s\n", why);
    return rc;
}

typedef struct zarg {
    rot *r;
    bool from_env;
    const char *stack_id;
} zarg;

static int rotate_zero_locked(void *arg)
{
    zarg *z = arg;
    return rotate_locked(z->r, z->from_env, z->stack_id);
}

/* ---- trust mode: the executor's seal key (note [seal key rotation]) ---- */

typedef struct trot {
    mk_keyring old;       /* the key directory's keys, seal.key the old seal key */
    EVP_PKEY *neu;
    uint8_t neu_pub[32];
    char neu_id[17], dir[4096];
    size_t resealed;
    char why[10000]; /* (it may name two paths of the key directory) */
} trot;

/* One secret sealed again to the new key, for the same place; its
 * fingerprint stays (the text did not change, nor the state's key). */
static bool reseal_one(trot *r, json_t *v, const char *address, json_t *path)
{
    char *plain = mk_keyring_open_secret(&r->old, v, address, path, r->why, sizeof r->why);
    char *pt = plain ? mk_keyring_path_text(path) : NULL;
    char *sealed = pt ? mk_keyring_seal_to(r->neu_pub, address, pt, plain, strlen(plain)) : NULL;
    if (plain) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
    }
    free(pt);
    if (!sealed) /* (why says which secret, never its value) */
        return false;
    json_t *sec = json_object_get(v, "$secret");
    json_object_set_new(sec, "to", json_string(r->neu_id));
    json_object_set_new(sec, "sealed", json_string(sealed));
    free(sealed);
    r->resealed++;
    return true;
}

/* Every secret in v, at path (v is a copy). */
static bool reseal_at(trot *r, json_t *v, const char *address, json_t *path)
{
    if (json_is_object(v) && json_object_get(v, "$secret"))
        return reseal_one(r, v, address, path);
    const char *k;
    size_t i;
    json_t *e;
    bool ok = true;
    json_object_foreach(v, k, e) {
        json_t *at = json_copy(path);
        json_array_append_new(at, json_string(k));
        ok = ok && reseal_at(r, e, address, at);
        json_decref(at);
    }
    json_array_foreach(v, i, e) {
        json_t *at = json_copy(path);
        json_array_append_new(at, json_integer((json_int_t)i));
        ok = ok && reseal_at(r, e, address, at);
        json_decref(at);
    }
    return ok;
}

/* An entry's attributes and its deposed objects' (each sealed for the
 * entry's address and a path from the top of its attributes). */
static bool reseal_entry(trot *r, json_t *e, const char *address)
{
    json_t *root = json_array(), *d;
    size_t i;
    bool ok = reseal_at(r, json_object_get(e, "attributes"), address, root);
    json_array_foreach(json_object_get(e, "deposed"), i, d)
        ok = ok && reseal_at(r, json_object_get(d, "attributes"), address, root);
    json_decref(root);
    return ok;
}

static bool reseal_entry_copy(void *r, json_t *copy, const char *address) { return reseal_entry(r, copy, address); }

static bool reseal_trust_state(trot *r, mk_rtstate *st)
{
    bool ok = each_entry(st, reseal_entry_copy, r, &r->resealed);
    json_object_set_new(st->doc, "sealed_with", json_string(r->neu_id));
    return ok;
}

static void kpath(const trot *r, const char *name, char *out, size_t n) { snprintf(out, n, "%s/%s", r->dir, name); }

/* Steps 4 and 5: seal.pub for the new key, then seal.next over seal.key. */
static bool promote(trot *r)
{
    char next[4200], key[4200], pub[4200], pubnext[4200], line[64];
    kpath(r, MK_KEYRING_SEAL_NEXT, next, sizeof next);
    kpath(r, MK_KEYRING_SEAL_KEY, key, sizeof key);
    kpath(r, MK_KEYRING_SEAL_PUB, pub, sizeof pub);
    kpath(r, MK_KEYRING_PUB_NEXT, pubnext, sizeof pubnext);
    mk_keyring_pub_line(r->neu_pub, line);
    bool ok = mk_keyring_write_file(pubnext, line, 0644, false) && rename(pubnext, pub) == 0 && rename(next, key) == 0;
    if (!ok)
        snprintf(r->why, sizeof r->why, "cannot put the new key in place in %s: %s; run `moksha-exec key rotate` again "
                 "to finish", r->dir, strerror(errno));
    return ok;
}

/* Step 1: the old key kept as seal.OLD_ID.old, the new one staged. */
static bool stage(trot *r, char *old_copy, size_t n)
{
    char key[4200], next[4200];
    kpath(r, MK_KEYRING_SEAL_KEY, key, sizeof key);
    kpath(r, MK_KEYRING_SEAL_NEXT, next, sizeof next);
    snprintf(old_copy, n, "%s/seal.%s.old", r->dir, r->old.seal_id);
    char *old_pem = mk_keyring_x25519_pem(r->old.seal), *pem = mk_keyring_x25519_pem(r->neu);
    bool ok = old_pem && pem && mk_keyring_write_file(old_copy, old_pem, 0600, false) &&
              mk_keyring_write_file(next, pem, 0600, true);
    if (!ok)
        snprintf(r->why, sizeof r->why, "cannot write %s or %s: %s", old_copy, next, strerror(errno));
    for (char **p = (char *[]){old_pem, pem, NULL}; *p; p++) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
    }
    return ok;
}

/* Steps 2 and 3 under the lock: the entry, the state, the head. */
static bool write_rotation(trot *r, mk_rtstate *st, bool has_state)
{
    mk_audit_mark m;
    mk_rtstate_audit_record(st, &m);
    mk_audit *a = mk_backend_audit_open(held, &r->old, &m, r->why, sizeof r->why);
    if (!a)
        return false;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "event", "key.rotate", "key", "seal", "old_key_id",
                           r->old.seal_id, "new_key_id", r->neu_id, "secrets", (json_int_t)r->resealed, "serial",
                           (json_int_t)mk_rtstate_serial(st) + has_state);
    char *line = mk_audit_entry(a, ev);
    json_decref(ev);
    bool ok = line && mk_audit_write(a, line, strlen(line));
    free(line);
    mk_audit_last(a, &m);
    mk_rtstate_set_audit_mark(st, m.seq, m.hash);
    ok = ok && (!has_state || mk_rtstate_save(st)) && mk_audit_seal(a, mk_rtstate_serial(st));
    if (!ok)
        snprintf(r->why, sizeof r->why, "cannot write the audit log or the state: %s", strerror(errno));
    mk_audit_close(a);
    return ok;
}

/* A staged seal.next the state is sealed to already: the rotation got past
 * its state write; finish it (the head, then the files). */
static int finish_trust(trot *r, mk_rtstate *st)
{
    mk_audit_mark m;
    mk_rtstate_audit_record(st, &m);
    mk_audit *a = mk_backend_audit_open(held, &r->old, &m, r->why, sizeof r->why);
    bool ok = a && mk_audit_seal(a, mk_rtstate_serial(st));
    if (a && !ok)
        snprintf(r->why, sizeof r->why, "cannot write the audit head: %s", strerror(errno));
    mk_audit_close(a);
    if (!ok || !promote(r))
        return MK_EXIT_INPUT;
    printf("Finished an interrupted rotation: the state is sealed to key %s, now %s/seal.key.\n", r->neu_id, r->dir);
    return MK_EXIT_OK;
}

static int rotate_trust_to(trot *r, mk_rtstate *st)
{
    bool has_state = *mk_rtstate_lineage(st) || mk_rtstate_serial(st) > 0;
    char old_copy[4200], next[4200];
    kpath(r, MK_KEYRING_SEAL_NEXT, next, sizeof next);
    r->neu = mk_keyring_x25519_new();
    if (!mk_keyring_x25519_pub(r->neu, r->neu_pub))
        return snprintf(r->why, sizeof r->why, "cannot make an X25519 key"), MK_EXIT_INPUT;
    mk_keyring_key_id(r->neu_pub, r->neu_id);
    if (!reseal_trust_state(r, st) || !stage(r, old_copy, sizeof old_copy))
        return MK_EXIT_INPUT; /* nothing written */
    if (!write_rotation(r, st, has_state)) {
        if (!has_state || strcmp(json_string_value(json_object_get(st->doc, "sealed_with")) ?: "", r->neu_id) != 0)
            unlink(next);
        return MK_EXIT_INPUT;
    }
    if (!promote(r))
        return MK_EXIT_INPUT;
    printf("Rotated the executor's seal key: %s → %s; %zu secret%s re-sealed", r->old.seal_id, r->neu_id, r->resealed,
           r->resealed == 1 ? "" : "s");
    printf(has_state ? " (state serial %lld).\n" : " (no state yet: nothing to re-seal).\n", mk_rtstate_serial(st));
    printf("The old key is kept in %s (delete it once nothing needs it). Planners seal to the new key from now on: "
           "MOKSHA_SEAL_TO=%s/seal.pub, and plan again.\n", old_copy, r->dir);
    return MK_EXIT_OK;
}

/* Under the lock: finish a rotation whose state write happened, drop one
 * whose did not, else rotate. */
static int rotate_trust_locked(void *arg)
{
    trot *r = arg;
    mk_rtstate *st = mk_backend_load(held, r->why, sizeof r->why);
    if (!st)
        return MK_EXIT_INPUT;
    const char *sealed = json_string_value(json_object_get(st->doc, "sealed_with"));
    char next[4200];
    kpath(r, MK_KEYRING_SEAL_NEXT, next, sizeof next);
    int rc;
    r->neu = access(next, F_OK) == 0 ? mk_keyring_read_seal(r->dir, MK_KEYRING_SEAL_NEXT, r->why, sizeof r->why) : NULL;
    if (r->neu && mk_keyring_x25519_pub(r->neu, r->neu_pub))
        mk_keyring_key_id(r->neu_pub, r->neu_id);
    if (r->neu && sealed && strcmp(sealed, r->neu_id) == 0) {
        rc = finish_trust(r, st);
    } else {
        unlink(next); /* staged, but the state never got sealed to it: the old key still opens it */
        mk_keyring_x25519_free(r->neu);
        r->neu = NULL;
        rc = rotate_trust_to(r, st);
    }
    mk_rtstate_free(st);
    return rc;
}

/* note [seal key rotation]: in trust mode the key rotated is the
 * executor's seal key in the key directory, and no project key is
 * involved. Under the lock, in this order, each step restartable:
 *   1. the old key is kept as seal.OLD_ID.old and the new one staged as
 *      seal.next (while it is there the keyring refuses to load);
 *   2. the audit entry `key.rotate` is written, then the state: every
 *      secret sealed again to the new key for the same address and path,
 *      its fingerprint unchanged, `sealed_with` the new id (serial + 1);
 *   3. the audit head is moved (audit.key keys it, before and after);
 *   4. seal.pub is written for the new key, and 5. seal.next renamed over
 *      seal.key.
 * A crash before 2's state write leaves the state sealed to the old key;
 * the next rotate drops seal.next and starts over. After it the state says
 * `sealed_with` the staged key, and the next rotate does 3 to 5. */
static int rotate_trust(const mk_config *cfg)
{
    trot r = {0};
    const char *env = getenv("MOKSHA_KEY"), *nenv = getenv("MOKSHA_NEW_KEY");
    snprintf(r.dir, sizeof r.dir, "%s", cfg->trust.keys);
    if ((env && *env) || (nenv && *nenv)) {
        fprintf(stderr, "moksha-exec: error: MOKSHA_KEY or MOKSHA_NEW_KEY is set, and this executor is in trust mode: it "
                "rotates its own seal key and uses no project key; unset them\n");
        return MK_EXIT_INPUT;
    }
    if (!mk_keyring_load_rotating(&r.old, r.dir, r.why, sizeof r.why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXIT_INPUT;
    }
    int rc = under_lock(rotate_trust_locked, &r, r.why, sizeof r.why);
    mk_keyring_x25519_free(r.neu);
    mk_keyring_free(&r.old);
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}

int mk_rotate_key(void)
{
    rot r = {0};
    char stack_id[33];
    mk_config cfg;
    if (!mk_config_load(&cfg, r.why, sizeof r.why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXIT_INPUT;
    }
    bool trust = cfg.trust.on;
    int trc = trust ? rotate_trust(&cfg) : 0;
    mk_config_free(&cfg);
    if (trust)
        return trc;
    const char *env = getenv("MOKSHA_KEY");
    bool from_env = env && *env;
    if (!mk_planfile_stack_id(MK_PATH_DIR, stack_id, r.why, sizeof r.why) || !old_key(&r, from_env, stack_id)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXIT_INPUT;
    }
    zarg z = {&r, from_env, stack_id};
    int rc = under_lock(rotate_zero_locked, &z, r.why, sizeof r.why);
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}
