/* lock — O_CREAT|O_EXCL is the whole protocol: two executors racing for the
 * lock cannot both create the file. A holder killed with -9 leaves it
 * behind; we say whether its process still runs, but only a person (with
 * `state unlock ID`) removes it, since the holder may be on another host. */
#include "runtime/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/rand.h"
#include "runtime/sha256.h"

static json_t *lock_doc(const char *operation, const char *id)
{
    char host[256] = "?", when[40], holder[400];
    gethostname(host, sizeof host - 1);
    struct passwd *pw = getpwuid(getuid());
    const char *user = pw ? pw->pw_name : getenv("USER") ?: "?";
    snprintf(holder, sizeof holder, "%s@%s pid %d", user, host, (int)getpid());
    mk_clock_iso_time(when, sizeof when);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "id", id, "holder", holder, "pid", (int)getpid(), "host", host,
                     "user", user, "operation", operation, "time", when);
}

/* note [damaged lock]: a lock file that is not a lock document — empty,
 * garbage, huge, a directory, a FIFO — blocks every run just the same, and
 * has no id to give `state unlock`. It gets one from what it holds:
 * "damaged-" and 12 hex digits of the SHA-256 of its first bytes, so a
 * person still names exactly the file they looked at, and a real lock
 * written meanwhile (another id) is never removed by mistake. */
#define LOCK_MAX 65536

typedef enum { LOCK_ABSENT, LOCK_OK, LOCK_DAMAGED } lock_read;

/* Read the lock at path, bounded: its document into *doc (LOCK_OK), or why it
 * is damaged and the id to unlock it by (LOCK_DAMAGED). */
static lock_read read_lock(const char *path, json_t **doc, char *damage, size_t dn, char id[37])
{
    *doc = NULL;
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? LOCK_ABSENT : (snprintf(damage, dn, "cannot read it: %s", strerror(errno)), LOCK_DAMAGED);
    char *buf = malloc(LOCK_MAX + 1);
    ssize_t n = 0;
    int fd = S_ISREG(sb.st_mode) ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
    if (fd >= 0 && buf) {
        for (ssize_t k; n < LOCK_MAX && (k = read(fd, buf + n, (size_t)(LOCK_MAX - n))) > 0;)
            n += k;
    }
    if (fd >= 0)
        close(fd);
    if (!buf)
        return snprintf(damage, dn, "out of memory"), LOCK_DAMAGED;
    json_error_t je;
    *doc = S_ISREG(sb.st_mode) && sb.st_size <= LOCK_MAX ? json_loadb(buf, (size_t)n, 0, &je) : NULL;
    if (*doc && json_is_object(*doc) && json_is_string(json_object_get(*doc, "id")) &&
        json_string_length(json_object_get(*doc, "id")) > 0) {
        free(buf);
        return LOCK_OK;
    }
    json_decref(*doc);
    *doc = NULL;
    if (S_ISDIR(sb.st_mode))
        snprintf(damage, dn, "a directory, not a file");
    else if (!S_ISREG(sb.st_mode))
        snprintf(damage, dn, "not a regular file");
    else if (sb.st_size == 0)
        snprintf(damage, dn, "empty: a run died before writing it, or is writing it this instant");
    else if (sb.st_size > LOCK_MAX)
        snprintf(damage, dn, "%lld bytes, far too big for a lock", (long long)sb.st_size);
    else
        snprintf(damage, dn, "not a lock document");
    char hex[65];
    mk_sha256_hex(S_ISREG(sb.st_mode) ? buf : "(not a file)", S_ISREG(sb.st_mode) ? (size_t)n : 12, hex);
    snprintf(id, 37, "damaged-%.12s", hex);
    free(buf);
    return LOCK_DAMAGED;
}

/* Is the lock's holder a run still going on this host? Its pid answers
 * to kill(pid, 0), and (where /proc tells) is a moksha process, not one
 * that got the number of a run that died. Another host's run cannot be
 * asked: false. */
static bool holder_running(json_t *h)
{
    const char *host = json_string_value(json_object_get(h, "host"));
    char me[256] = "", path[64], comm[64] = "";
    gethostname(me, sizeof me - 1);
    int pid = (int)json_integer_value(json_object_get(h, "pid"));
    if (!host || strcmp(host, me) != 0 || pid <= 0 || pid == getpid() || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    bool ours = fgets(comm, sizeof comm, f) == NULL || strncmp(comm, "moksha", 6) == 0;
    fclose(f);
    return ours;
}

static void describe_holder(const char *path, char *why, size_t whylen)
{
    json_t *h;
    char damage[200], did[37];
    if (read_lock(path, &h, damage, sizeof damage, did) == LOCK_DAMAGED) {
        snprintf(why, whylen,
                 "the state is locked by a damaged lock file %s (%s); if no other run is using this stack, "
                 "remove it with `moksha state unlock %s --reason TEXT`", path, damage, did);
        return;
    }
    const char *host = json_string_value(json_object_get(h, "host"));
    char me[256] = "";
    gethostname(me, sizeof me - 1);
    int pid = (int)json_integer_value(json_object_get(h, "pid"));
    bool dead = host && strcmp(host, me) == 0 && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
    snprintf(why, whylen,
             "the state is locked by %s for %s since %s (lock id %s)%s; "
             "if that run is gone, free the lock with `moksha state unlock %s --reason TEXT`",
             json_string_value(json_object_get(h, "holder")) ?: "an unknown holder",
             json_string_value(json_object_get(h, "operation")) ?: "?",
             json_string_value(json_object_get(h, "time")) ?: "?", json_string_value(json_object_get(h, "id")) ?: "?",
             dead ? ", and that process is no longer running" : "", json_string_value(json_object_get(h, "id")) ?: "ID");
    json_decref(h);
}

mk_lock_status mk_lock_take(const char *path, const char *operation, char id_out[37], json_t **info,
                            char *why, size_t whylen)
{
    mk_rand_uuid(id_out);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno != EEXIST) {
            snprintf(why, whylen, "cannot create the lock %s: %s", path, strerror(errno));
            return MK_LOCK_ERROR;
        }
        describe_holder(path, why, whylen);
        return MK_LOCK_HELD;
    }
    json_t *doc = lock_doc(operation, id_out);
    char *s = json_dumps(doc, JSON_COMPACT);
    size_t n = strlen(s);
    bool ok = write(fd, s, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    free(s);
    if (!ok) {
        snprintf(why, whylen, "cannot write the lock %s: %s", path, strerror(errno));
        unlink(path);
        json_decref(doc);
        return MK_LOCK_ERROR;
    }
    if (info)
        *info = doc;
    else
        json_decref(doc);
    return MK_LOCK_TAKEN;
}

json_t *mk_lock_info(const char *path)
{
    json_t *h;
    char damage[200], did[37];
    return read_lock(path, &h, damage, sizeof damage, did) == LOCK_OK ? h : NULL;
}

bool mk_lock_release(const char *path, const char *id)
{
    json_t *h;
    char damage[200], did[37];
    bool mine = read_lock(path, &h, damage, sizeof damage, did) == LOCK_OK &&
                strcmp(json_string_value(json_object_get(h, "id")), id) == 0;
    json_decref(h);
    return mine && unlink(path) == 0;
}

int mk_lock_force(const char *path, const char *id, bool check_only, json_t **info, char *why, size_t whylen)
{
    json_t *h;
    char damage[200], did[37];
    *info = NULL;
    lock_read r = read_lock(path, &h, damage, sizeof damage, did);
    if (r == LOCK_ABSENT) {
        snprintf(why, whylen, "the state is not locked (%s does not exist)", path);
        return 1;
    }
    const char *have = r == LOCK_OK ? json_string_value(json_object_get(h, "id")) : did;
    if (strcmp(have, id) == 0 && r == LOCK_OK && holder_running(h)) {
        /* unlocked under a live run, a second one would write the state and
         * the audit log beside it */
        snprintf(why, whylen, "the lock %s is held by %s, which is still running (pid %lld on this host): stop it "
                 "(`kill %lld`: it rolls back and frees the lock) or let it finish; nothing was unlocked", id,
                 json_string_value(json_object_get(h, "holder")) ?: "a run",
                 (long long)json_integer_value(json_object_get(h, "pid")),
                 (long long)json_integer_value(json_object_get(h, "pid")));
        json_decref(h);
        return 2;
    }
    if (strcmp(have, id) != 0) {
        if (r == LOCK_OK)
            snprintf(why, whylen, "the lock's id is %s, not %s; nothing was unlocked", have, id);
        else
            snprintf(why, whylen, "the lock file %s is damaged (%s); it is unlocked with `moksha state unlock %s`, not %s; "
                     "nothing was unlocked", path, damage, did, id);
        json_decref(h);
        return 1;
    }
    struct stat sb;
    bool dir = lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (!check_only && (dir ? rmdir(path) : unlink(path)) != 0) {
        snprintf(why, whylen, "cannot remove %s: %s%s", path, strerror(errno), dir ? " (remove the directory by hand)" : "");
        json_decref(h);
        return 1;
    }
    *info = r == LOCK_OK ? h : json_pack("{s:s, s:s, s:s}", "id", did, "holder", "a damaged lock file", "damage", damage);
    return 0;
}
