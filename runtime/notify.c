/* notify — see notify.h. Each hook of an event runs in a thread of its own
 * (a command waited for by polling, an http POST by libcurl), so a hook
 * that hangs costs its timeout once, whatever the others do. */
#include "runtime/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "runtime/clock.h"
#include "runtime/httpc.h"
#include "runtime/pgcred.h"

json_t *mk_notify_body(const mk_notify_event *ev)
{
    char at[40];
    mk_clock_iso_time(at, sizeof at);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:O}", "format", "moksha.notify/v1", "event",
                     ev->event, "at", at, "stack_id", ev->stack_id, "env", ev->env, "run", ev->run, "plan_sha256",
                     ev->plan_sha256, "summary", ev->summary ? ev->summary : ev->event, "details",
                     json_is_object(ev->details) ? ev->details : json_object());
}

static bool asks(const mk_config_hook *h, const char *event)
{
    for (size_t i = 0; i < h->non; i++)
        if (!strcmp(h->on[i], "*") || !strcmp(h->on[i], event))
            return true;
    return false;
}

bool mk_notify_wanted(const mk_config *cfg, const char *event)
{
    for (size_t i = 0; cfg && i < cfg->nhooks; i++)
        if (asks(&cfg->hooks[i], event))
            return true;
    return false;
}

/* Where a hook goes, for the audit and config check: never a credential. */
static void hook_to(const mk_config_hook *h, char *out, size_t n)
{
    if (h->command)
        snprintf(out, n, "command %s", h->command[0]);
    else
        snprintf(out, n, "connection %s %s", h->connection, h->path);
}

/* ---- a command ---- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p), 0;
}

static bool spawn_hook(const mk_config_hook *h, const char *home, pid_t *pid, int *in, char *why, size_t whylen)
{
    int p[2];
    if (access(h->command[0], X_OK) != 0) /* posix_spawn may not say when exec fails */
        return snprintf(why, whylen, "cannot run %s: %s", h->command[0], strerror(errno)), false;
    if (pipe2(p, O_CLOEXEC) != 0)
        return snprintf(why, whylen, "pipe: %s", strerror(errno)), false;
    char henv[PATH_MAX + 8];
    snprintf(henv, sizeof henv, "HOME=%s", home);
    char *envp[] = {"PATH=/usr/bin:/bin", henv, "LANG=C.UTF-8", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&fa, home);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    int e = posix_spawn(pid, h->command[0], &fa, &at, h->command, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0]);
    if (e) {
        close(p[1]);
        return snprintf(why, whylen, "cannot run %s: %s", h->command[0], strerror(e)), false;
    }
    *in = p[1];
    fcntl(*in, F_SETFL, O_NONBLOCK);
    return true;
}

/* The body into its stdin by until_ms; a hook that exits without reading
 * it all has had its chance (not an error: its exit status says). */
static void feed(int fd, const char *s, size_t n, double until_ms)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w > 0) {
            s += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return;
        double left = until_ms - mk_clock_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (left <= 0 || (poll(&p, 1, (int)left + 1) > 0 && (p.revents & (POLLERR | POLLHUP))))
            return;
    }
}

/* Wait for it by until_ms, else kill its group; false with why. */
static bool reap_hook(const mk_config_hook *h, pid_t pid, double until_ms, char *why, size_t whylen)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return snprintf(why, whylen, "waitpid: %s", strerror(errno)), false;
        if (mk_clock_now_ms() >= until_ms) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return snprintf(why, whylen, "did not finish within its timeout of %.0f ms: killed with its process group",
                            h->timeout_ms), false;
        }
        mk_clock_sleep_ms(5);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return true;
    if (WIFSIGNALED(st))
        return snprintf(why, whylen, "%s was killed by signal %d", h->command[0], WTERMSIG(st)), false;
    return snprintf(why, whylen, "%s exited with status %d", h->command[0], WEXITSTATUS(st)), false;
}

static bool run_command(const mk_config_hook *h, const char *body, char *why, size_t whylen)
{
    double until = mk_clock_now_ms() + h->timeout_ms;
    const char *t = getenv("TMPDIR");
    char home[PATH_MAX];
    snprintf(home, sizeof home, "%s/moksha-notify-XXXXXX", t && *t == '/' && strlen(t) < 256 ? t : "/tmp");
    if (!mkdtemp(home))
        return snprintf(why, whylen, "cannot make its home directory: %s", strerror(errno)), false;
    pid_t pid;
    int in;
    bool ok = spawn_hook(h, home, &pid, &in, why, whylen);
    if (ok) {
        feed(in, body, strlen(body), until);
        close(in);
        ok = reap_hook(h, pid, until, why, whylen);
    }
    nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

/* ---- an http connection ---- */

/* The Authorization: a header line (*hdr) or basic credentials
 * (*userpwd), both wiped by the caller; false with why. */
static bool auth_for(const mk_config_conn *cc, double until_ms, char **hdr, char **userpwd, char *why, size_t whylen)
{
    *hdr = *userpwd = NULL;
    json_t *c = cc->credentials;
    const char *bearer = json_string_value(json_object_get(c, "bearer_env"));
    const char *user = json_string_value(json_object_get(c, "basic_user"));
    const char *pwenv = json_string_value(json_object_get(c, "password_env"));
    if (!cc->password_command && !bearer && !pwenv)
        return true; /* an open service */
    if (strncasecmp(cc->endpoint, "https://", 8) != 0 && !cc->allow_plaintext)
        return snprintf(why, whylen, "connection %s would send its credentials over plain http, which anyone holding "
                        "the port could read; use https, or set \"allow_plaintext\": true on it", cc->name), false;
    char *v = NULL;
    if (cc->password_command) {
        bool retry;
        mk_pgcred *cr = mk_pgcred_new(cc, why, whylen);
        v = cr ? mk_pgcred_get(cr, until_ms, &retry, why, whylen) : NULL;
        mk_pgcred_free(cr);
        if (!v)
            return false;
        bearer = "credential_command";
    } else {
        const char *e = getenv(bearer ? bearer : pwenv);
        if (!e || !*e)
            return snprintf(why, whylen, "connection %s: credentials.%s names %s, which is not set in the executor's "
                            "environment", cc->name, bearer ? "bearer_env" : "password_env", bearer ? bearer : pwenv), false;
        v = strdup(e);
    }
    size_t n = v ? strlen(v) + (user ? strlen(user) : 0) + 32 : 0;
    char *s = v && !strpbrk(v, "\r\n") ? malloc(n) : NULL;
    if (s && bearer)
        snprintf(s, n, "Authorization: Bearer %s", v), *hdr = s;
    else if (s)
        snprintf(s, n, "%s:%s", user ? user : "", v), *userpwd = s;
    if (v)
        OPENSSL_cleanse(v, strlen(v));
    free(v);
    return s ? true : (snprintf(why, whylen, "connection %s: its credential holds a line break (or out of memory)",
                                cc->name), false);
}

static void wipe_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static bool run_http(const mk_config *cfg, const mk_config_hook *h, const char *body, char *why, size_t whylen)
{
    double until = mk_clock_now_ms() + h->timeout_ms;
    const mk_config_conn *cc = mk_config_conn_find(cfg, h->connection);
    char path[sizeof h->path], url[2048];
    snprintf(path, sizeof path, "%s", h->path);
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    if (!cc || !mk_httpc_url(cc, path, q, url, sizeof url))
        return snprintf(why, whylen, "connection %s: no such http connection, or the URL is too long", h->connection),
               false;
    enum { CAP = 72 };
    const char *lines[CAP];
    char *own[CAP] = {0};
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(cc->headers, k, v) {
        if (n >= CAP - 4)
            break;
        size_t len = strlen(k) + json_string_length(v) + 3;
        if ((own[n] = malloc(len)))
            snprintf(own[n], len, "%s: %s", k, json_string_value(v)), lines[n] = own[n], n++;
    }
    size_t nown = n;
    lines[n++] = "Content-Type: application/json";
    char *auth = NULL, *userpwd = NULL;
    bool ok = auth_for(cc, until, &auth, &userpwd, why, whylen);
    if (ok) {
        if (auth)
            lines[n++] = auth;
        lines[n] = NULL;
        mk_httpc_req req = {.conn = cc, .method = "POST", .url = url, .headers = lines, .body = body,
                            .body_len = strlen(body), .userpwd = userpwd, .deadline_ms = until};
        mk_httpc_resp r = {0};
        char hw[768];
        ok = mk_httpc_send(&req, &r, hw, sizeof hw) == MK_PROV_OK && r.status >= 200 && r.status < 300;
        if (!ok && r.status)
            snprintf(why, whylen, "POST %.200s answered %ld", h->path, r.status);
        else if (!ok)
            snprintf(why, whylen, "POST %.200s: %s", h->path, hw);
        mk_httpc_resp_free(&r);
    }
    wipe_free(auth);
    wipe_free(userpwd);
    for (size_t i = 0; i < nown; i++)
        free(own[i]);
    return ok;
}

/* ---- every hook of an event at once ---- */

typedef struct job {
    const mk_config *cfg;
    const mk_config_hook *h;
    const char *body;
    bool ok;
    double ms;
    char why[1024];
    pthread_t t;
    bool started;
} job;

static void *run_job(void *vj)
{
    job *j = vj;
    double t0 = mk_clock_now_ms();
    j->ok = j->h->command ? run_command(j->h, j->body, j->why, sizeof j->why)
                          : run_http(j->cfg, j->h, j->body, j->why, sizeof j->why);
    j->ms = mk_clock_now_ms() - t0;
    return NULL;
}

static json_t *outcome(const job *j, const char *event)
{
    char to[1200];
    hook_to(j->h, to, sizeof to);
    if (j->ok)
        return json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", "notify.sent", "hook", j->h->name, "to", to, "notify",
                         event, "ms", (json_int_t)j->ms);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "notify.failed", "hook", j->h->name, "to", to, "notify",
                     event, "error", j->why);
}

void mk_notify(const mk_config *cfg, const mk_notify_event *ev, json_t *audit)
{
    size_t n = 0;
    job jobs[MK_CONFIG_MAX_HOOKS];
    json_t *body = mk_notify_body(ev);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    signal(SIGPIPE, SIG_IGN); /* a hook that exits without reading its stdin */
    for (size_t i = 0; text && cfg && i < cfg->nhooks && n < MK_CONFIG_MAX_HOOKS; i++) {
        if (!asks(&cfg->hooks[i], ev->event))
            continue;
        job *j = &jobs[n++];
        *j = (job){.cfg = cfg, .h = &cfg->hooks[i], .body = text};
        j->started = pthread_create(&j->t, NULL, run_job, j) == 0;
        if (!j->started) /* no thread: run it here */
            run_job(j);
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].t, NULL);
        if (audit)
            json_array_append_new(audit, outcome(&jobs[i], ev->event));
    }
    free(text);
}

void mk_notify_describe(const mk_config *cfg, FILE *out)
{
    for (size_t i = 0; i < cfg->nhooks; i++) {
        const mk_config_hook *h = &cfg->hooks[i];
        char to[1200], on[512] = "";
        hook_to(h, to, sizeof to);
        for (size_t k = 0; k < h->non; k++)
            snprintf(on + strlen(on), sizeof on - strlen(on), "%s%s", k ? ", " : "", h->on[k]);
        const mk_config_conn *cc = h->command ? NULL : mk_config_conn_find(cfg, h->connection);
        fprintf(out, "%s: on %s: %s%s%s, timeout %.0f ms\n", h->name, on, to,
                h->command ? (h->ncommand > 1 ? " (and its arguments)" : "") : " at ", cc ? cc->endpoint : "",
                h->timeout_ms);
    }
}
