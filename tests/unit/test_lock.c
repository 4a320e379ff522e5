/* test_lock — the state lock (runtime/lock.c): taking it writes the lock
 * document and only its id releases it; a second take while it is held
 * fails naming the holder and how to free it; a lock whose process died is
 * said to be stale and `state unlock` removes it, but never one whose run
 * is still going on this host; a damaged lock file (garbage, empty, a
 * directory) blocks like a lock and is removed only by the id derived from
 * its bytes (note [damaged lock]). Each test works in a temporary
 * directory of its own. */
#include "tests/unit/unit.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/fileio.h"
#include "runtime/lock.h"
#include "runtime/sha256.h"

#define LOCK "state.lock"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/moksha-unit-lock.XXXXXX");
    return mkdtemp(dir) && chdir(dir) == 0 ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return chdir("/") == 0 && system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static void spit(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A lock document as another run on this host wrote it, for pid. */
static void plant(const char *id, int pid)
{
    char host[256] = "", doc[1024];
    gethostname(host, sizeof host - 1);
    snprintf(doc, sizeof doc,
             "{\"id\":\"%s\",\"holder\":\"ci@%s pid %d\",\"pid\":%d,\"host\":\"%s\",\"user\":\"ci\","
             "\"operation\":\"apply\",\"time\":\"2025-01-31T12:00:00.000Z\"}\n",
             id, host, pid, pid, host);
    spit(LOCK, doc);
}

/* A pid that was a process and is no more. */
static int dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (int)p;
}

static void test_take_and_release(void **st)
{
    (void)st;
    char id[37], why[512] = "", host[256] = "";
    json_t *info = NULL;
    assert_int_equal(mk_lock_take(LOCK, "apply", id, &info, why, sizeof why), MK_LOCK_TAKEN);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4'); /* a version-4 UUID */
    gethostname(host, sizeof host - 1);
    assert_string_equal(json_string_value(json_object_get(info, "id")), id);
    assert_string_equal(json_string_value(json_object_get(info, "operation")), "apply");
    assert_string_equal(json_string_value(json_object_get(info, "host")), host);
    assert_int_equal(json_integer_value(json_object_get(info, "pid")), getpid());
    /* the file is the document, compact, one line, readable by its owner only */
    char *text = mk_fileio_read(LOCK, NULL), *want = json_dumps(info, JSON_COMPACT);
    assert_non_null(text);
    assert_int_equal(strlen(text), strlen(want) + 1);
    assert_memory_equal(text, want, strlen(want));
    assert_int_equal(text[strlen(want)], '\n');
    struct stat sb;
    assert_int_equal(stat(LOCK, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    free(text);
    free(want);
    json_decref(info);
    /* only its own id releases it */
    assert_false(mk_lock_release(LOCK, "00000000-0000-4000-8000-000000000000"));
    assert_true(exists(LOCK));
    assert_true(mk_lock_release(LOCK, id));
    assert_false(exists(LOCK));
    assert_false(mk_lock_release(LOCK, id));
    /* info may be NULL */
    assert_int_equal(mk_lock_take(LOCK, "state rm", id, NULL, why, sizeof why), MK_LOCK_TAKEN);
    assert_true(mk_lock_release(LOCK, id));
}

static void test_second_take_fails(void **st)
{
    (void)st;
    char id[37], id2[37], why[512] = "", want[512];
    json_t *info = NULL;
    assert_int_equal(mk_lock_take(LOCK, "destroy", id, &info, why, sizeof why), MK_LOCK_TAKEN);
    char *before = mk_fileio_read(LOCK, NULL);
    assert_int_equal(mk_lock_take(LOCK, "apply", id2, NULL, why, sizeof why), MK_LOCK_HELD);
    snprintf(want, sizeof want,
             "the state is locked by %s for destroy since %s (lock id %s); if that run is gone, free the lock with "
             "`moksha state unlock %s --reason TEXT`",
             json_string_value(json_object_get(info, "holder")), json_string_value(json_object_get(info, "time")), id,
             id);
    assert_string_equal(why, want); /* the holder is this process: running, so not called gone */
    char *after = mk_fileio_read(LOCK, NULL);
    assert_string_equal(after, before); /* the holder's lock is untouched */
    assert_true(mk_lock_release(LOCK, id));
    free(before);
    free(after);
    json_decref(info);
}

static void test_stale_lock(void **st)
{
    (void)st;
    const char *id = "11111111-2222-4333-8444-555555555555";
    int pid = dead_pid();
    plant(id, pid);
    char id2[37], why[512] = "", want[64];
    assert_int_equal(mk_lock_take(LOCK, "apply", id2, NULL, why, sizeof why), MK_LOCK_HELD);
    assert_non_null(strstr(why, "(lock id 11111111-2222-4333-8444-555555555555), and that process is no longer running"));
    snprintf(want, sizeof want, " pid %d for apply since 2025-01-31T12:00:00.000Z", pid);
    assert_non_null(strstr(why, want));
    /* taking never removes it: only unlock does, by its id */
    assert_true(exists(LOCK));
    json_t *info = NULL;
    assert_int_equal(mk_lock_force(LOCK, "not-the-id", false, &info, why, sizeof why), 1);
    assert_string_equal(why, "the lock's id is 11111111-2222-4333-8444-555555555555, not not-the-id; nothing was "
                             "unlocked");
    assert_null(info);
    assert_int_equal(mk_lock_force(LOCK, id, true, &info, why, sizeof why), 0); /* check only */
    assert_string_equal(json_string_value(json_object_get(info, "operation")), "apply");
    json_decref(info);
    assert_true(exists(LOCK));
    assert_int_equal(mk_lock_force(LOCK, id, false, &info, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(info, "id")), id);
    json_decref(info);
    assert_false(exists(LOCK));
    assert_int_equal(mk_lock_force(LOCK, id, false, &info, why, sizeof why), 1);
    assert_string_equal(why, "the state is not locked (state.lock does not exist)");
}

/* A lock whose holder is a moksha process still running here is never
 * forced: unlocking it would let a second run write beside the first. */
static void test_live_holder_kept(void **st)
{
    (void)st;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "moksha-exec");
        close(fds[0]);
        close(fds[1]); /* the parent reads EOF: named, ready */
        pause();
        _exit(0);
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 0);
    close(fds[0]);
    const char *id = "66666666-7777-4888-8999-000000000000";
    plant(id, (int)child);
    char why[512] = "", want[512];
    json_t *info = NULL;
    int rc = mk_lock_force(LOCK, id, false, &info, why, sizeof why);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(rc, 2);
    assert_null(info);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want,
             "the lock %s is held by ci@%s pid %d, which is still running (pid %d on this host): stop it (`kill %d`: "
             "it rolls back and frees the lock) or let it finish; nothing was unlocked",
             id, host, (int)child, (int)child, (int)child);
    assert_string_equal(why, want);
    assert_true(exists(LOCK));
    /* now that it is gone, the same call unlocks */
    assert_int_equal(mk_lock_force(LOCK, id, false, &info, why, sizeof why), 0);
    json_decref(info);
    assert_false(exists(LOCK));
}

/* note [damaged lock]: "damaged-" and 12 hex digits of its bytes' SHA-256. */
static void damaged_id(const char *bytes, size_t n, char out[37])
{
    char hex[65];
    mk_sha256_hex(bytes, n, hex);
    snprintf(out, 37, "damaged-%.12s", hex);
}

static void expect_damaged(const char *damage, const char *did)
{
    char id[37], why[512] = "", want[512];
    assert_int_equal(mk_lock_take(LOCK, "apply", id, NULL, why, sizeof why), MK_LOCK_HELD);
    snprintf(want, sizeof want,
             "the state is locked by a damaged lock file state.lock (%s); if no other run is using this stack, remove "
             "it with `moksha state unlock %s --reason TEXT`",
             damage, did);
    assert_string_equal(why, want);
    assert_false(mk_lock_release(LOCK, did)); /* release is for a lock we made */
    json_t *info = NULL;
    assert_int_equal(mk_lock_force(LOCK, "damaged-000000000000", false, &info, why, sizeof why), 1);
    snprintf(want, sizeof want,
             "the lock file state.lock is damaged (%s); it is unlocked with `moksha state unlock %s`, not "
             "damaged-000000000000; nothing was unlocked",
             damage, did);
    assert_string_equal(why, want);
    assert_true(exists(LOCK));
    assert_int_equal(mk_lock_force(LOCK, did, false, &info, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(info, "id")), did);
    assert_string_equal(json_string_value(json_object_get(info, "holder")), "a damaged lock file");
    assert_string_equal(json_string_value(json_object_get(info, "damage")), damage);
    json_decref(info);
    assert_false(exists(LOCK));
}

static void test_damaged_lock(void **st)
{
    (void)st;
    char did[37];
    spit(LOCK, "garbage");
    damaged_id("garbage", 7, did);
    expect_damaged("not a lock document", did);
    spit(LOCK, "{\"id\": \"\"}"); /* JSON, but no id to unlock it by */
    damaged_id("{\"id\": \"\"}", 10, did);
    expect_damaged("not a lock document", did);
    spit(LOCK, "");
    damaged_id("", 0, did);
    expect_damaged("empty: a run died before writing it, or is writing it this instant", did);
    assert_int_equal(mkdir(LOCK, 0755), 0);
    damaged_id("(not a file)", 12, did);
    expect_damaged("a directory, not a file", did);
}

static void test_cannot_create(void **st)
{
    (void)st;
    char id[37], why[512] = "";
    assert_int_equal(mk_lock_take("no-such-dir/state.lock", "apply", id, NULL, why, sizeof why), MK_LOCK_ERROR);
    assert_string_equal(why, "cannot create the lock no-such-dir/state.lock: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_take_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_holder_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cannot_create, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
