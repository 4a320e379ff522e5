/* pgcred — running a connection's password_command and keeping its
 * answer while it lasts (pgcred.h). */
#include "runtime/pgcred.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"

#define MAXOUT 65536

extern char **environ;

struct mk_pgcred {
    const mk_config_conn *cc;
    pthread_mutex_t mu;
    char *pw;              /* the kept password (or a keys answer's JSON), or NULL */
    const char *const *keys; /* mk_pgcred_new_keys: the JSON answer's keys (keys[0] required); NULL: a password */
    double renew_ms;       /* run again from then (before it expires) */
    int uses, runs;
};

mk_pgcred *mk_pgcred_new(const mk_config_conn *cc, char *why, size_t whylen)
{
    mk_pgcred *cr = calloc(1, sizeof *cr);
    if (!cr)
        return snprintf(why, whylen, "out of memory"), NULL;
    cr->cc = cc;
    pthread_mutex_init(&cr->mu, NULL);
    return cr;
}

mk_pgcred *mk_pgcred_new_keys(const mk_config_conn *cc, const char *const *keys, char *why, size_t whylen)
{
    mk_pgcred *cr = mk_pgcred_new(cc, why, whylen);
    if (cr)
        cr->keys = keys;
    return cr;
}

void mk_pgcred_wipe(char *pw)
{
    if (pw)
        OPENSSL_cleanse(pw, strlen(pw)), free(pw);
}

void mk_pgcred_free(mk_pgcred *cr)
{
    if (!cr)
        return;
    mk_pgcred_wipe(cr->pw);
    pthread_mutex_destroy(&cr->mu);
    free(cr);
}

/* Read the child's stdout until it closes or the time is up; false when
 * the time ran out or it said too much. */
static bool slurp(int fd, char *buf, size_t *n, double until_ms)
{
    *n = 0;
    for (;;) {
        double left = until_ms - mk_clock_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left < 1 ? 1 : left)) == 0)
            return false;
        ssize_t k = read(fd, buf + *n, MAXOUT - *n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k == 0;
        *n += (size_t)k;
        if (*n == MAXOUT)
            return false;
    }
}

static bool spawn(const mk_config_conn *cc, pid_t *pid, int *out, char *why, size_t whylen)
{
    int p[2];
    if (access(cc->password_command[0], X_OK) != 0) /* posix_spawn may not say when exec fails */
        return snprintf(why, whylen, "connection %s: password_command: cannot run %s: %s", cc->name,
                        cc->password_command[0], strerror(errno)), false;
    if (pipe2(p, O_CLOEXEC) != 0)
        return snprintf(why, whylen, "connection %s: password_command: %s", cc->name, strerror(errno)), false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    /* a group of its own, so what it leaves behind is killed with it */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    int e = posix_spawn(pid, cc->password_command[0], &fa, &at, cc->password_command, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (e) {
        close(p[0]);
        return snprintf(why, whylen, "connection %s: password_command: cannot run %s: %s", cc->name,
                        cc->password_command[0], strerror(e)), false;
    }
    *out = p[0];
    return true;
}

static void cleanse_strings(json_t *doc)
{
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
        if (json_is_string(v)) /* jansson keeps its copy: wipe it before it is freed */
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

static bool is_key(const char *const *keys, const char *k)
{
    for (; *keys; keys++)
        if (strcmp(*keys, k) == 0)
            return true;
    return false;
}

/* A keys answer: a JSON object of those keys' strings (keys[0] there),
 * and expires_in; kept as the JSON text of the strings alone. */
static bool parse_keys(const mk_config_conn *cc, const char *const *keys, char *buf, size_t n, char **pw,
                       double *life_ms, char *why, size_t whylen)
{
    json_t *doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL), *e = json_object_get(doc, "expires_in");
    bool ok = json_is_object(doc) && json_is_string(json_object_get(doc, keys[0])) &&
              (!e || (json_is_number(e) && json_number_value(e) > 0));
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
        if (strcmp(k, "expires_in") != 0 && (!is_key(keys, k) || !json_is_string(v) ||
                                            strlen(json_string_value(v)) != json_string_length(v)))
            ok = false;
    if (ok) {
        *life_ms = e ? json_number_value(e) * 1000 : 0;
        json_object_del(doc, "expires_in");
        *pw = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        ok = *pw != NULL;
    }
    cleanse_strings(doc);
    json_decref(doc);
    if (!ok)
        snprintf(why, whylen, "connection %s: credential_command printed what is not a JSON object of the keys it "
                 "may give (%s%s…, \"expires_in\")", cc->name, keys[0], keys[1] ? ", " : "");
    return ok;
}

/* The command's answer: keys' JSON when the provider asks for its own,
 * else text, or JSON {"password", "expires_in"} (an azure_blob
 * connection's: {"account_key", "expires_in"}). The secret is moved into
 * *pw; *life_ms its lifetime (0: not said). */
static bool parse(const mk_config_conn *cc, const char *const *keys, char *buf, size_t n, char **pw, double *life_ms,
                  char *why, size_t whylen)
{
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    *life_ms = 0;
    if (keys)
        return parse_keys(cc, keys, buf, n, pw, life_ms, why, whylen);
    const char *field = strcmp(cc->kind, "azure_blob") == 0 ? "account_key" : "password";
    if (n && buf[0] == '{') {
        json_t *doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL), *p = json_object_get(doc, field);
        json_t *e = json_object_get(doc, "expires_in");
        bool ok = json_is_object(doc) && json_is_string(p) && json_string_length(p) > 0 &&
                  strlen(json_string_value(p)) == json_string_length(p) && (!e || (json_is_number(e) && json_number_value(e) > 0)) &&
                  json_object_size(doc) == 1u + (e != NULL);
        if (ok)
            *pw = strdup(json_string_value(p)), *life_ms = e ? json_number_value(e) * 1000 : 0;
        if (json_is_string(p)) /* jansson keeps its copy: wipe it before it is freed */
            OPENSSL_cleanse((char *)json_string_value(p), json_string_length(p));
        json_decref(doc);
        return ok ? true : (snprintf(why, whylen, "connection %s: password_command printed JSON that is not "
                                     "{\"%s\": \"…\", \"expires_in\": SECONDS}", cc->name, field), false);
    }
    if (!n || memchr(buf, '\n', n) || strlen(buf) != n)
        return snprintf(why, whylen, "connection %s: password_command printed %s", cc->name,
                        n ? "more than one line (or a NUL byte)" : "nothing"), false;
    *pw = strdup(buf);
    return true;
}

/* Wait for the command to exit by until_ms. Its stdout closed is not its
 * end: a command that closes it and lingers has not finished. On time
 * out its whole group is killed (a grandchild holding stdout too), and
 * reaped; false. */
static bool reap(pid_t pid, int *status, bool done, double until_ms)
{
    while (done) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true; /* what it left running in the background is its own */
        if (r < 0 && errno != EINTR)
            return false;
        if (mk_clock_now_ms() >= until_ms)
            break;
        mk_clock_sleep_ms(5);
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return false;
}

/* Run the command once, into cr->pw and cr->renew_ms. */
static bool run(mk_pgcred *cr, double until_ms, bool *retry, char *why, size_t whylen)
{
    const mk_config_conn *cc = cr->cc;
    pid_t pid;
    int fd, status = 0;
    char *buf = calloc(1, MAXOUT + 1);
    if (!buf || !spawn(cc, &pid, &fd, why, whylen))
        return free(buf), false;
    size_t n;
    bool done = slurp(fd, buf, &n, until_ms);
    close(fd);
    done = reap(pid, &status, done, until_ms);
    cr->runs++;
    char *pw = NULL;
    double life = 0;
    bool ok = false;
    if (!done)
        *retry = true, snprintf(why, whylen, "connection %s: password_command did not finish in time (or printed "
                                "more than %d bytes): killed", cc->name, MAXOUT);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        *retry = WIFSIGNALED(status), snprintf(why, whylen, "connection %s: password_command %s %d (what it said on "
                                               "stderr is not shown)", cc->name, WIFSIGNALED(status) ? "was killed by signal" :
                                               "exited with status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    else
        ok = parse(cc, cr->keys, buf, n, &pw, &life, why, whylen);
    OPENSSL_cleanse(buf, MAXOUT);
    free(buf);
    if (!ok)
        return false;
    life = life > 0 ? life : cc->credential_ttl_ms;
    mk_pgcred_wipe(cr->pw);
    cr->pw = pw, cr->uses = 0;
    /* renew a fifth of its life early, at most a minute: a session begun
     * just before the end would otherwise authenticate with a dead one */
    cr->renew_ms = mk_clock_now_ms() + life - (life / 5 < 60000 ? life / 5 : 60000);
    return true;
}

char *mk_pgcred_get(mk_pgcred *cr, double until_ms, bool *retry, char *why, size_t whylen)
{
    *retry = false;
    pthread_mutex_lock(&cr->mu);
    bool ok = (cr->pw && mk_clock_now_ms() < cr->renew_ms) || run(cr, until_ms, retry, why, whylen);
    char *copy = ok ? strdup(cr->pw) : NULL;
    cr->uses += ok;
    pthread_mutex_unlock(&cr->mu);
    if (ok && !copy)
        snprintf(why, whylen, "out of memory");
    return copy;
}

bool mk_pgcred_forget(mk_pgcred *cr)
{
    pthread_mutex_lock(&cr->mu);
    bool used = cr->pw && cr->uses > 1;
    mk_pgcred_wipe(cr->pw);
    cr->pw = NULL;
    pthread_mutex_unlock(&cr->mu);
    return used;
}

int mk_pgcred_runs(const mk_pgcred *cr) { return cr->runs; }
