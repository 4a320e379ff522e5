/* rotate — a new project key, the state's secrets re-sealed with it.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/audit.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/lock.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/rand.h"
#include "runtime/rtstate.h"
#include "runtime/signals.h"

#define KEY_FILE MK_PATH_DIR "/key"
#define KEY_NEXT MK_PATH_DIR "/key.next"

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

static bool reseal_state(rot *r, mk_rtstate *st)
{
    json_t *addrs = json_array();
    const char *a;
    json_t *e;
    json_object_foreach(st->by_addr, a, e)
        json_array_append_new(addrs, json_string(a));
    size_t i;
    json_t *name;
    bool ok = true;
    json_array_foreach(addrs, i, name) {
        json_t *copy = json_deep_copy(mk_rtstate_get(st, json_string_value(name)));
        size_t before = r->resealed;
        ok = copy && reseal(r, copy, json_string_value(name));
        if (ok && r->resealed > before)
            mk_rtstate_put(st, copy); /* entries are replaced, never changed */
        else
            json_decref(copy);
        if (!ok)
            break;
    }
    json_decref(addrs);
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
    mk_rtstate_audit_record(st, &m);
    mk_audit *a = mk_audit_open(MK_PATH_AUDIT, first, &m, why, whylen);
    if (!a && second)
        a = mk_audit_open(MK_PATH_AUDIT, second, &m, why, whylen);
    return a;
}

/* note [key rotation], steps 3 and 4 for a state already sealed with neu.
 * A head already keyed with neu (a crash between 3 and 4) opens under neu
 * and is written again the same. */
static int finish(rot *r, mk_rtstate *st, bool staged)
{
    mk_audit *a = open_audit(st, &r->old, &r->neu, r->why, sizeof r->why);
    bool ok = a && mk_audit_rekey(a, &r->neu, mk_rtstate_serial(st));
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
    if (ok && !mk_audit_rekey(audit, &r->neu, mk_rtstate_serial(st))) /* step 3 */
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
    mk_rtstate *st = mk_rtstate_load(MK_PATH_STATE, r->why, sizeof r->why);
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

int mk_rotate_key(void)
{
    rot r = {0};
    char stack_id[33], lock_id[37];
    const char *env = getenv("MOKSHA_KEY");
    bool from_env = env && *env;
    if (!mk_planfile_stack_id(MK_PATH_DIR, stack_id, r.why, sizeof r.why) || !old_key(&r, from_env, stack_id)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXIT_INPUT;
    }
    json_t *info = NULL;
    sigset_t old;
    mk_signals_hold(&old); /* note [signal hold] in runtime/signals.h */
    mk_lock_status ls = mk_lock_take(MK_PATH_LOCKFILE, "key rotate", lock_id, &info, r.why, sizeof r.why);
    json_decref(info);
    int rc = ls == MK_LOCK_HELD ? MK_EXIT_LOCKED : MK_EXIT_INPUT;
    if (ls == MK_LOCK_TAKEN) {
        rc = rotate_locked(&r, from_env, stack_id);
        mk_lock_release(MK_PATH_LOCKFILE, lock_id);
    }
    fflush(stdout);
    mk_signals_restore(&old);
    if (rc)
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}
