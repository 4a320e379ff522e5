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
#include <unistd.h>

#include "runtime/util.h"

static json_t *lock_doc(const char *operation, const char *id)
{
    char host[256] = "?", when[40], holder[400];
    gethostname(host, sizeof host - 1);
    struct passwd *pw = getpwuid(getuid());
    const char *user = pw ? pw->pw_name : getenv("USER") ?: "?";
    snprintf(holder, sizeof holder, "%s@%s pid %d", user, host, (int)getpid());
    mk_exec_iso_time(when, sizeof when);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "id", id, "holder", holder, "pid", (int)getpid(), "host", host,
                     "operation", operation, "time", when);
}

static void describe_holder(const char *path, char *why, size_t whylen)
{
    json_t *h = json_load_file(path, 0, NULL);
    const char *host = json_string_value(json_object_get(h, "host"));
    char me[256] = "";
    gethostname(me, sizeof me - 1);
    int pid = (int)json_integer_value(json_object_get(h, "pid"));
    bool dead = host && strcmp(host, me) == 0 && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
    snprintf(why, whylen,
             "the state is locked by %s for %s since %s (lock id %s)%s; "
             "if that run is gone, free the lock with `moksha state unlock %s`",
             json_string_value(json_object_get(h, "holder")) ?: "an unknown holder",
             json_string_value(json_object_get(h, "operation")) ?: "?",
             json_string_value(json_object_get(h, "time")) ?: "?", json_string_value(json_object_get(h, "id")) ?: "?",
             dead ? ", and that process is no longer running" : "", json_string_value(json_object_get(h, "id")) ?: "ID");
    json_decref(h);
}

mk_exec_lock_status mk_exec_lock_take(const char *path, const char *operation, char id_out[37], json_t **info,
                                      char *why, size_t whylen)
{
    mk_exec_uuid(id_out);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno != EEXIST) {
            snprintf(why, whylen, "cannot create the lock %s: %s", path, strerror(errno));
            return MK_EXEC_LOCK_ERROR;
        }
        describe_holder(path, why, whylen);
        return MK_EXEC_LOCK_HELD;
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
        return MK_EXEC_LOCK_ERROR;
    }
    if (info)
        *info = doc;
    else
        json_decref(doc);
    return MK_EXEC_LOCK_TAKEN;
}

bool mk_exec_lock_release(const char *path, const char *id)
{
    json_t *h = json_load_file(path, 0, NULL);
    bool mine = h && strcmp(json_string_value(json_object_get(h, "id")) ?: "", id) == 0;
    json_decref(h);
    return mine && unlink(path) == 0;
}

int mk_exec_lock_force(const char *path, const char *id, json_t **info, char *why, size_t whylen)
{
    json_t *h = json_load_file(path, 0, NULL);
    *info = NULL;
    if (!h) {
        snprintf(why, whylen, "the state is not locked (%s does not exist)", path);
        return 1;
    }
    const char *have = json_string_value(json_object_get(h, "id")) ?: "";
    if (strcmp(have, id) != 0) {
        snprintf(why, whylen, "the lock's id is %s, not %s; nothing was unlocked", have, id);
        json_decref(h);
        return 1;
    }
    if (unlink(path) != 0) {
        snprintf(why, whylen, "cannot remove %s: %s", path, strerror(errno));
        json_decref(h);
        return 1;
    }
    *info = h;
    return 0;
}
