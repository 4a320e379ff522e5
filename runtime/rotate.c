/* rotate — a new project key, the state's secrets re-sealed with it.
 *
 * note [key rotation]: the new key goes where the old one came from. From
 * .moksha/key: the new key (MOKSHA_NEW_KEY, else 32 random bytes) is written
 * to .moksha/key.next, the old key is kept as .moksha/key.OLD_ID.old, the
 * state is re-sealed and written (atomically, serial + 1, recording the new
 * key's id as `sealed_with`), and key.next is renamed over key. A crash
 * before the state write leaves the old key and state as they were (the
 * next rotate drops key.next); one after it leaves key.next matching the
 * state's `sealed_with`, and the next rotate (or a rename by hand) finishes.
 * From MOKSHA_KEY: the executor cannot change the environment, so the new
 * key must be given in MOKSHA_NEW_KEY; the state is re-sealed and the user
 * told to store the new key where MOKSHA_KEY comes from. Either way a plan
 * signed with the old key is refused afterwards (another key id, and the
 * serial moved). */
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
#include "runtime/exec.h"
#include "runtime/lock.h"
#include "runtime/planfile.h"
#include "runtime/rtstate.h"
#include "runtime/util.h"

#define KEY_FILE MK_EXEC_DIR "/key"
#define KEY_NEXT MK_EXEC_DIR "/key.next"

typedef struct rot {
    mk_exec_key old, neu;
    size_t resealed;
    char why[1024];
} rot;

/* Re-seal every {"$secret": {"sealed"}} in v, in place (v is a copy). */
static bool reseal(rot *r, json_t *v, const char *address)
{
    json_t *sec = json_object_get(v, "$secret");
    if (json_is_object(sec) && json_is_string(json_object_get(sec, "sealed"))) {
        char *plain = mk_exec_unseal(&r->old, v), fp[65];
        char *sealed = plain ? mk_exec_seal(&r->neu, plain, strlen(plain)) : NULL;
        if (plain) {
            mk_exec_fingerprint(&r->neu, plain, strlen(plain), fp);
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

/* note [key rotation]: finish or drop what an interrupted rotation left;
 * true when it finished one (and that is all this run does). */
static bool recover_next(const char *stack_id)
{
    char *text = mk_exec_read_file(KEY_NEXT, NULL), why[512];
    if (!text)
        return false;
    mk_exec_key k;
    mk_rtstate *st = mk_rtstate_load(MK_EXEC_STATE, why, sizeof why);
    const char *sealed = st ? json_string_value(json_object_get(st->doc, "sealed_with")) : NULL;
    bool done = false;
    if (mk_exec_key_from_text(&k, text, stack_id, KEY_NEXT, why, sizeof why) && sealed && strcmp(sealed, k.id) == 0) {
        done = rename(KEY_NEXT, KEY_FILE) == 0;
        if (done)
            printf("Finished an interrupted rotation: the state is sealed with key %s, which is now %s. Run `moksha-exec "
                   "key rotate` again to rotate once more.\n", k.id, KEY_FILE);
    } else {
        unlink(KEY_NEXT); /* the rotation never reached the state: the old key still opens it */
    }
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    mk_rtstate_free(st);
    return done;
}

/* The new key's text (malloc'd) and key; false with why. */
static char *new_key(rot *r, bool from_env, const char *stack_id)
{
    const char *given = getenv("MOKSHA_NEW_KEY");
    char *text;
    if (given && *given) {
        text = strdup(given);
    } else if (from_env) {
        snprintf(r->why, sizeof r->why, "the key comes from MOKSHA_KEY, which moksha-exec cannot change: set MOKSHA_NEW_KEY "
                 "to the new key (e.g. `openssl rand -hex 32`), run `moksha-exec key rotate` again, then store the new key "
                 "where MOKSHA_KEY comes from");
        return NULL;
    } else {
        text = malloc(65);
        if (text)
            mk_exec_random_hex(text, 32);
    }
    if (text && !mk_exec_key_from_text(&r->neu, text, stack_id, "MOKSHA_NEW_KEY", r->why, sizeof r->why)) {
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

/* Under the lock: re-seal, write the state, move the keys. */
static int rotate_locked(rot *r, bool from_env, const char *text, mk_audit *audit)
{
    char old_copy[128];
    mk_rtstate *st = mk_rtstate_load(MK_EXEC_STATE, r->why, sizeof r->why);
    if (!st || !reseal_state(r, st)) {
        mk_rtstate_free(st);
        return MK_EXEC_EXIT_INPUT;
    }
    snprintf(old_copy, sizeof old_copy, "%s/key.%s.old", MK_EXEC_DIR, r->old.id);
    char *old_text = from_env ? NULL : mk_exec_read_file(KEY_FILE, NULL);
    for (size_t n = old_text ? strlen(old_text) : 0; n && strchr(" \t\r\n", old_text[n - 1]); n--)
        old_text[n - 1] = 0; /* write_key ends it with one newline */
    bool ok = from_env || (old_text && write_key(old_copy, old_text, false) && write_key(KEY_NEXT, text, true));
    if (old_text) {
        OPENSSL_cleanse(old_text, strlen(old_text));
        free(old_text);
    }
    bool has_state = *mk_rtstate_lineage(st) || mk_rtstate_serial(st) > 0;
    ok = ok && (!has_state || mk_rtstate_save(st)); /* no state yet: nothing sealed, nothing to write */
    ok = ok && (from_env || rename(KEY_NEXT, KEY_FILE) == 0);
    if (!ok) {
        snprintf(r->why, sizeof r->why, "cannot write the new key or the state: %s (see note [key rotation]: run "
                 "`moksha-exec key rotate` again)", strerror(errno));
        mk_rtstate_free(st);
        return MK_EXEC_EXIT_INPUT;
    }
    mk_audit_append(audit, json_pack("{s:s, s:s, s:s, s:I, s:I}", "event", "key.rotate", "old_key_id", r->old.id,
                                     "new_key_id", r->neu.id, "secrets", (json_int_t)r->resealed, "serial",
                                     (json_int_t)mk_rtstate_serial(st)));
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
    mk_rtstate_free(st);
    return MK_EXEC_EXIT_OK;
}

int mk_exec_key_rotate(void)
{
    rot r = {0};
    char stack_id[33], lock_id[37];
    const char *env = getenv("MOKSHA_KEY");
    bool from_env = env && *env;
    if (!mk_exec_stack_id(MK_EXEC_DIR, stack_id, r.why, sizeof r.why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXEC_EXIT_INPUT;
    }
    if (!from_env && recover_next(stack_id)) /* before loading the key: the loaders refuse while key.next is there */
        return MK_EXEC_EXIT_OK;
    if (!mk_exec_key_load(&r.old, MK_EXEC_DIR, r.why, sizeof r.why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXEC_EXIT_INPUT;
    }
    char *text = new_key(&r, from_env, stack_id);
    if (!text) {
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
        return MK_EXEC_EXIT_INPUT;
    }
    json_t *info = NULL;
    mk_exec_lock_status ls = mk_exec_lock_take(MK_EXEC_LOCKFILE, "key rotate", lock_id, &info, r.why, sizeof r.why);
    json_decref(info);
    int rc = ls == MK_EXEC_LOCK_HELD ? MK_EXEC_EXIT_LOCKED : MK_EXEC_EXIT_INPUT;
    mk_audit *audit = ls == MK_EXEC_LOCK_TAKEN ? mk_audit_open(MK_EXEC_AUDIT, r.why, sizeof r.why) : NULL;
    if (audit)
        rc = rotate_locked(&r, from_env, text, audit);
    if (rc)
        fprintf(stderr, "moksha-exec: error: %s\n", r.why);
    mk_audit_close(audit);
    if (ls == MK_EXEC_LOCK_TAKEN)
        mk_exec_lock_release(MK_EXEC_LOCKFILE, lock_id);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}
