/* serve — `moksha-exec serve` (serve.h). One process listens; each
 * connection is handled by a child of its own (a slow or stuck client
 * holds up nobody else), and an apply runs in a grandchild, the worker,
 * whose stdout and stderr the handler relays as frames. The worker runs
 * mk_exec_apply exactly as `moksha-exec apply` does, in the stack's
 * directory: the lock, the stale check, the stack id check, rollback and
 * the exit codes are the apply's, not this file's. A refresh (runtime/
 * refresh.c) and the state and audit commands run for a submitter the
 * same way (note [stack ops]).
 *
 * note [service signals]: the handler turns a cancel frame, the client
 * going away and the service being stopped into SIGINT to the worker, the
 * one signal the apply already understands (rolling back; a second stops
 * the rollback, note [one interrupt] in exec.c). The client going away or
 * the service stopping sends it only when no interrupt was sent yet, so
 * neither can turn one cancel into two. Signals are blocked outside ppoll,
 * so none is lost between a check and a wait. */
#include "runtime/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/exec.h"
#include "runtime/approvalcmd.h"
#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/exitcode.h"
#include "runtime/paths.h"
#include "runtime/refresh.h"
#include "runtime/statecmd.h"
#include "runtime/wire.h"

#define MAX_HANDLERS 64
#define MAX_PER_UID 8    /* connections of one uid at once: one user cannot make the service busy for all */
#define IDLE_SECONDS 30  /* a client that reads nothing for this long is gone */
#define ARRIVE_MS 30000. /* the request and the plan, whole, within this of connecting */

static volatile sig_atomic_t stopping;

static void on_stop(int sig) { (void)sig; stopping = 1; }
static void on_child(int sig) { (void)sig; }

typedef struct conn {
    int fd;
    struct ucred who;
    const mk_config *cfg;
    double deadline; /* for the request and the plan (ARRIVE_MS), monotonic */
} conn;

/* ---- starting: the socket's directory, a stale socket, the listener ---- */

/* Others could replace the socket with their own (and read every plan
 * submitted): its directory must not be writable by them. */
static bool dir_safe(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "moksha-exec: error: the socket's directory %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
        return false;
    }
    if (sb.st_mode & 002) {
        fprintf(stderr, "moksha-exec: error: the socket's directory %s is writable by everyone (mode %04o): give the "
                        "service a directory of its own (systemd: RuntimeDirectory=moksha)\n", dir, (unsigned)(sb.st_mode & 07777));
        return false;
    }
    return true;
}

static bool sock_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) {
        fprintf(stderr, "moksha-exec: error: the socket path %s is longer than %zu bytes\n", path, sizeof a->sun_path - 1);
        return false;
    }
    memcpy(a->sun_path, path, strlen(path));
    return true;
}

/* A socket left by a service that died is removed; one that something
 * still listens on, or a file that is no socket, is not ours to remove. */
static bool clear_stale(const char *path, const struct sockaddr_un *a)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT;
    if (!S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "moksha-exec: error: %s exists and is not a socket: remove it, or choose another service.socket\n", path);
        return false;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = fd >= 0 && connect(fd, (const struct sockaddr *)a, sizeof *a) == 0;
    if (fd >= 0)
        close(fd);
    if (live) {
        fprintf(stderr, "moksha-exec: error: a service already listens on %s\n", path);
        return false;
    }
    return unlink(path) == 0 || errno == ENOENT;
}

static bool group_of(const mk_config_service *s, gid_t *gid)
{
    *gid = getgid();
    if (!*s->group)
        return true;
    struct group *g = getgrnam(s->group);
    if (!g)
        fprintf(stderr, "moksha-exec: error: service.group `%s` is no group of this system\n", s->group);
    else
        *gid = g->gr_gid;
    return g != NULL;
}

/* Bound while nobody but this user can connect (umask), then given its
 * group and mode: there is no moment when the socket is open wider. */
static int listen_on(const char *path, const mk_config_service *s)
{
    struct sockaddr_un a;
    gid_t gid;
    if (!dir_safe(path) || !sock_addr(path, &a) || !group_of(s, &gid) || !clear_stale(path, &a))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    bool ok = fd >= 0 && bind(fd, (const struct sockaddr *)&a, sizeof a) == 0;
    umask(old);
    bool bound = ok;
    ok = ok && chown(path, (uid_t)-1, gid) == 0 && chmod(path, s->mode) == 0 && listen(fd, 16) == 0;
    if (!ok) {
        fprintf(stderr, "moksha-exec: error: cannot listen on %s: %s%s\n", path, strerror(errno),
                bound && errno == EPERM ? " (the service's user must be a member of service.group)" : "");
        if (bound)
            unlink(path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* service.stacks, made 0700 when missing; never one others can write. */
static bool stacks_ok(const char *dir)
{
    struct stat sb;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "moksha-exec: error: cannot make service.stacks %s: %s\n", dir, strerror(errno));
        return false;
    }
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
        fprintf(stderr, "moksha-exec: error: service.stacks %s must be a directory of this user that no one else can "
                        "write (`chmod 700 %s`)\n", dir, dir);
        return false;
    }
    return true;
}

/* ---- one connection ---- */

static bool stack_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n == 32 && strspn(id, "0123456789abcdef") == 32;
}

/* An error for the client: its text on stderr, then exit code 1. */
static int refuse(const conn *c, const char *fmt, const char *arg)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "moksha-exec serve: error: ");
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof msg - n, fmt, arg);
    strncat(msg, "\n", sizeof msg - strlen(msg) - 1);
    mk_wire_say(c->fd, MK_WIRE_STDERR, msg);
    mk_wire_send(c->fd, MK_WIRE_EXIT, "\1", 1);
    return MK_EXIT_INPUT;
}

/* The key text of KEYS/seal.pub ("x25519:…", its first word), or "". */
static void seal_key(const mk_config *cfg, char *out, size_t n)
{
    char path[PATH_MAX + 16], line[256] = "";
    *out = 0;
    if (!cfg->trust.on || !*cfg->trust.keys)
        return;
    snprintf(path, sizeof path, "%s/seal.pub", cfg->trust.keys);
    FILE *f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f) && strncmp(line, "x25519:", 7) == 0)
        snprintf(out, n, "%.*s", (int)strcspn(line, " \t\r\n"), line);
    if (f)
        fclose(f);
}

static int op_info(const conn *c)
{
    char seal[256];
    seal_key(c->cfg, seal, sizeof seal);
    json_t *o = json_pack("{s:s, s:b}", "version", MK_VERSION, "trust", c->cfg->trust.on);
    if (*seal)
        json_object_set_new(o, "seal", json_string(seal));
    char *text = json_dumps(o, JSON_COMPACT);
    bool ok = text && mk_wire_say(c->fd, MK_WIRE_INFO, text);
    free(text);
    json_decref(o);
    return ok ? 0 : MK_EXIT_INPUT;
}

/* A file of the stack's (the state, or observed.json) as its bytes in
 * pieces, an empty piece last; or "none". The id is 32 hex digits
 * (mk_serve_parse). */
/* The stack's state or observations (observed) as its backend holds them,
 * in pieces; none when it has none. In the handler's child, in the stack's
 * directory (dfd; -1: the stack has none yet). */
static int op_state(const conn *c, int dfd, bool observed)
{
    char why[1024];
    size_t n = 0;
    bool absent = true;
    mk_backend *be = NULL;
    if (dfd >= 0 && fchdir(dfd) != 0)
        snprintf(why, sizeof why, "cannot enter the stack's directory: %s", strerror(errno));
    else if (dfd >= 0)
        be = mk_backend_open(c->cfg, NULL, mk_backend_stack(), mk_paths_now.env, why, sizeof why);
    char *t = !be ? NULL : observed ? mk_backend_observed_text(be, &n, &absent, why, sizeof why)
                                    : mk_backend_state_text(be, -1, &n, &absent, why, sizeof why);
    bool opened = be != NULL;
    mk_backend_close(be);
    if (!t && dfd < 0)
        return mk_wire_send(c->fd, MK_WIRE_NONE, "", 0) ? 0 : MK_EXIT_INPUT;
    if (!t && opened && absent)
        return mk_wire_send(c->fd, MK_WIRE_NONE, "", 0) ? 0 : MK_EXIT_INPUT;
    if (!t)
        return refuse(c, "cannot read the stack's state: %s", why);
    bool ok = true;
    for (size_t at = 0; ok && at < n; at += MK_WIRE_MAX_PIECE)
        ok = mk_wire_send(c->fd, MK_WIRE_STATE, t + at, n - at < MK_WIRE_MAX_PIECE ? n - at : MK_WIRE_MAX_PIECE);
    free(t);
    return ok && mk_wire_send(c->fd, MK_WIRE_STATE, "", 0) ? 0 : MK_EXIT_INPUT;
}

static bool int_opt(json_t *v, int lo, int hi, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

static bool approvals(json_t *v, mk_exec_opts *o)
{
    size_t i;
    json_t *a;
    if (!json_is_array(v) || json_array_size(v) > 1024)
        return false;
    o->approve = calloc(json_array_size(v) + 1, sizeof *o->approve);
    json_array_foreach(v, i, a) {
        if (!json_is_string(a) || !json_string_length(a))
            return false;
        o->approve[o->napprove++] = json_string_value(a);
    }
    return true;
}

/* One option of the whitelist into o; false for any other or a bad value.
 * The strings are borrowed from the request. */
static bool apply_opt(const char *k, json_t *v, mk_exec_opts *o)
{
    const char *s = json_string_value(v);
    if (!strcmp(k, "parallelism"))
        return int_opt(v, 1, 1024, &o->parallelism);
    if (!strcmp(k, "retries"))
        return int_opt(v, 0, 100, &o->retries);
    if (!strcmp(k, "no_rollback"))
        return json_is_boolean(v) && ((o->no_rollback = json_is_true(v)), true);
    if (!strcmp(k, "timeout"))
        return s && mk_clock_parse_duration(s, &o->timeout_ms) && o->timeout_ms > 0;
    if (!strcmp(k, "auto_approve_risk"))
        return s && (!strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high")) && (o->auto_approve_risk = s);
    if (!strcmp(k, "approve"))
        return !o->approve && approvals(v, o);
    if (!strcmp(k, "approvals")) { /* signed approvals' texts: checked by the apply (runtime/approval.c) */
        size_t i;
        json_t *x;
        if (o->approval_texts || !json_is_array(v) || json_array_size(v) > 64)
            return false;
        json_array_foreach(v, i, x)
            if (!json_is_string(x) || json_string_length(x) > 64 * 1024)
                return false;
        o->approval_texts = v;
        return true;
    }
    return false;
}

/* STACKS/ID, opened as a directory never through a symlink, and only if
 * it is this user's with mode 0700 (else errno EPERM); made first when make
 * is set and it is missing (*fresh then). -1 with errno. */
static int open_stack_once(const conn *c, const char *id, bool make, bool *fresh)
{
    struct stat sb;
    *fresh = false;
    int sfd = open(c->cfg->service.stacks, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0)
        return -1;
    if (make && mkdirat(sfd, id, 0700) == 0)
        *fresh = true;
    int fd = openat(sfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(sfd);
    if (fd >= 0 && (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() || (sb.st_mode & 07777) != 0700)) {
        close(fd);
        return errno = EPERM, -1;
    }
    return fd;
}

/* note [fresh directories]: an apply holds its stack's directory under a
 * shared flock for as long as it runs; drop_fresh removes a directory only
 * under an exclusive one, taken without waiting, so never one another apply
 * holds. An apply that opened the directory just before it was removed
 * finds it unlinked once its lock is granted, and opens (makes) it again. */
static int open_stack(const conn *c, const char *id, bool make, bool *fresh)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = open_stack_once(c, id, make, fresh);
        struct stat sb;
        if (fd < 0 || !make)
            return fd;
        if (flock(fd, LOCK_SH) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink > 0)
            return fd;
        close(fd);
    }
    return errno = EAGAIN, -1;
}

/* The stack's .moksha in dfd, 0700, with the stack id the directory is
 * named for: the apply then refuses a plan made for any other stack
 * (note [stack id] in exec.c). */
static bool stack_dir(int dfd, const char *id)
{
    if (mkdirat(dfd, ".moksha", 0700) != 0 && errno != EEXIST)
        return false;
    int fd = openat(dfd, ".moksha/stack-id", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST;
    bool ok = write(fd, id, 32) == 32 && write(fd, "\n", 1) == 1;
    return close(fd) == 0 && ok;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* A directory this connection made for a first apply that recorded
 * nothing (no state: refused, or its plan never verified) is removed
 * again: garbage applies must not leave a directory each. */
static void drop_fresh(const conn *c, int dfd, const char *id)
{
    struct stat sb;
    if (flock(dfd, LOCK_EX | LOCK_NB) != 0) /* another apply holds it (note [fresh directories]) */
        return;
    if (fstatat(dfd, ".moksha/state.json", &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return;
    if (fstatat(dfd, ".moksha/env", &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) /* an environment's apply */
        return;
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s", c->cfg->service.stacks, id);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The plan's pieces into a file of the stack's own (0600), in the working
 * directory, the stack's: 0, or 1 when the client sent anything else or
 * went away or was too slow (note [arrival]), 2 when the plan is larger
 * than service.max_plan_bytes (it is not read further). */
static int receive_plan(const conn *c, char *path, size_t n)
{
    snprintf(path, n, ".moksha/submitted-XXXXXX.plan");
    int fd = mkstemps(path, 5);
    size_t total = 0;
    int bad = fd >= 0 ? 0 : 1;
    bool done = false;
    while (!bad && !done) {
        int type;
        char *p;
        size_t len;
        if (mk_wire_recv_by(c->fd, &type, &p, &len, MK_WIRE_MAX_PIECE, c->deadline) != 1 || type != MK_WIRE_PLAN)
            bad = 1;
        else if ((total += len) > c->cfg->service.max_plan)
            bad = 2;
        else if ((size_t)write(fd, p, len) != len)
            bad = 1;
        done = !bad && len == 0;
        free(p);
    }
    if (fd >= 0)
        close(fd);
    if (bad && fd >= 0)
        unlink(path);
    return bad;
}

/* What a worker runs: an apply, a refresh, or one of the state and audit
 * commands. The strings are borrowed from the request. */
typedef struct job {
    const char *op;        /* "apply", "refresh", "state list", "state show", … (note [stack ops]) */
    const char *arg;       /* the plan's path, the address, the lock id, or the audit's format */
    const mk_exec_opts *o; /* apply's options; its submitter for every op */
    const mk_refresh_opts *ro; /* refresh's options (its plan and submitter set), else NULL */
    int fresh_dfd;         /* an apply's stack directory this connection made, else -1: dropped
                            * (drop_fresh) before the exit code is sent, so the client never
                            * sees a refusal while the directory is still there */
    const char *stack_id;
} job;

/* In the worker, in the stack's directory: the same code as the command
 * of the op's name. */
static int run_job(const job *j)
{
    const char *op = j->op;
    const mk_exec_submitter *by = &j->o->submitter;
    return !strcmp(op, "apply")          ? mk_exec_apply(j->arg, j->o)
           : !strcmp(op, "refresh")      ? mk_refresh_run(j->ro)
           : !strcmp(op, "state list")   ? mk_statecmd_list()
           : !strcmp(op, "state show")   ? mk_statecmd_show(j->arg)
           : !strcmp(op, "state rm")     ? mk_statecmd_rm(j->arg, 0, by)
           : !strcmp(op, "state unlock") ? mk_statecmd_unlock(j->arg, NULL, by)
           : !strcmp(op, "audit verify") ? mk_statecmd_audit_verify()
           : !strcmp(op, "approval add") ? mk_approvalcmd_add_text(j->arg, strlen(j->arg), "the approval sent", by)
           : !strcmp(op, "approval list") ? mk_approvalcmd_list(j->arg && !strcmp(j->arg, "json"))
                                         : mk_audit_show(MK_PATH_AUDIT, !strcmp(j->arg, "json"), stdout);
}

typedef struct relay {
    const conn *c;
    pid_t worker;
    int out, err;
    bool gone;       /* the client went away: its output is dropped */
    int interrupts;  /* SIGINTs sent to the worker */
    const char *what; /* the job's op, for messages */
} relay;

static void interrupt(relay *r, bool only_first)
{
    if (only_first && r->interrupts)
        return;
    kill(r->worker, SIGINT);
    r->interrupts++;
}

/* The worker: the job run as its command runs, in the stack's directory,
 * its output into the pipes, line-buffered so progress streams. */
static pid_t start_worker(const conn *c, const job *j, int out[2], int err[2])
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t none;
    sigemptyset(&none);
    signal(SIGTERM, SIG_DFL), signal(SIGINT, SIG_DFL), signal(SIGHUP, SIG_DFL), signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDONLY);
    if (null > 0) /* (0: stdin was closed, and /dev/null is it now) */
        dup2(null, 0), close(null);
    dup2(out[1], 1), dup2(err[1], 2);
    close(out[0]), close(out[1]), close(err[0]), close(err[1]), close(c->fd);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = run_job(j);
    fflush(stdout);
    _exit(rc);
}

/* What a pipe holds, as one frame; false at its end. */
static bool relay_pipe(relay *r, int *fd, int type)
{
    char buf[65536];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    if (!r->gone && !mk_wire_send(r->c->fd, type, buf, (size_t)n)) {
        r->gone = true;
        interrupt(r, true);
    }
    return true;
}

/* A frame from the client while the apply runs: a cancel, or its end. */
static void relay_client(relay *r)
{
    int type;
    char *p;
    size_t len;
    int got = mk_wire_recv(r->c->fd, &type, &p, &len, MK_WIRE_MAX_REQUEST);
    free(p);
    if (got == 1 && type == MK_WIRE_CANCEL)
        interrupt(r, false);
    else if (got <= 0) {
        r->gone = true;
        interrupt(r, true);
    }
}

/* Relay until the worker's output ends (note [service signals]); its exit code. */
static int relay_run(relay *r, const sigset_t *wait_mask)
{
    while (r->out >= 0 || r->err >= 0) {
        struct pollfd p[3] = {{r->out, POLLIN, 0}, {r->err, POLLIN, 0}, {r->gone ? -1 : r->c->fd, POLLIN, 0}};
        int n = ppoll(p, 3, NULL, wait_mask);
        if (stopping)
            interrupt(r, true);
        if (n <= 0)
            continue;
        if (p[0].revents)
            relay_pipe(r, &r->out, MK_WIRE_STDOUT);
        if (p[1].revents)
            relay_pipe(r, &r->err, MK_WIRE_STDERR);
        if (p[2].revents)
            relay_client(r);
    }
    int st = 0;
    while (waitpid(r->worker, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    char msg[128];
    snprintf(msg, sizeof msg, "moksha-exec serve: error: the %s was killed by signal %d\n", r->what, WTERMSIG(st));
    if (!r->gone)
        mk_wire_say(r->c->fd, MK_WIRE_STDERR, msg);
    return MK_EXIT_INCOMPLETE;
}

/* Run the job in the working directory (the stack's), relayed; its exit code. */
static int run_relayed(const conn *c, const job *j)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        return refuse(c, "cannot start the worker: %s", strerror(errno));
    sigset_t stops, wait_mask;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGINT), sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &wait_mask);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL), sigaction(SIGINT, &sa, NULL), sigaction(SIGHUP, &sa, NULL);
    relay r = {c, start_worker(c, j, out, err), out[0], err[0], false, 0, j->op};
    close(out[1]), close(err[1]);
    if (r.worker < 0) {
        close(out[0]), close(err[0]);
        return refuse(c, "cannot start the worker: %s", strerror(errno));
    }
    int rc = relay_run(&r, &wait_mask);
    unsigned char code = (unsigned char)rc;
    if (j->fresh_dfd >= 0)
        drop_fresh(c, j->fresh_dfd, j->stack_id);
    if (!r.gone)
        mk_wire_send(c->fd, MK_WIRE_EXIT, &code, 1);
    return rc;
}

/* The plan's pieces read and dropped: a refused apply still takes the
 * plan, so the client reads the refusal rather than a reset connection. */
static void drain_plan(const conn *c)
{
    int type;
    char *p;
    size_t len = 1;
    while (len && mk_wire_recv_by(c->fd, &type, &p, &len, MK_WIRE_MAX_PIECE, c->deadline) == 1 && type == MK_WIRE_PLAN)
        free(p);
}

/* note [stack ops]: `state list`, `state show`, `state rm`, `state
 * unlock`, `audit show` and `audit verify` run in a worker in the stack's
 * directory, by the code of the commands of those names (statecmd.c,
 * audit.c), so they take the same care there: what is read is the state
 * and the log as they are (secrets sealed), and `state rm` and `unlock`
 * take the lock and write their audit entry, which names the submitter.
 * They never make a stack's directory: a stack nothing was applied to has
 * no state to show. */
static const struct stack_op {
    const char *op, *arg; /* the request's key for its argument, or NULL */
    bool optional;
} STACK_OPS[] = {
    {"state list", NULL, false},      {"state show", "address", false}, {"state rm", "address", false},
    {"state unlock", "lock_id", false}, {"audit show", "format", true},  {"audit verify", NULL, false},
    {"approval add", "approval", false}, {"approval list", "format", true},
};

static const struct stack_op *stack_op(const char *op)
{
    for (size_t i = 0; i < sizeof STACK_OPS / sizeof *STACK_OPS; i++)
        if (!strcmp(op, STACK_OPS[i].op))
            return &STACK_OPS[i];
    return NULL;
}

/* The op's argument from req into *arg, or why it is bad into why. */
static void stack_op_arg(const struct stack_op *so, json_t *req, const char **arg, char *why, size_t n)
{
    const char *k;
    json_t *v;
    *why = 0;
    json_object_foreach(req, k, v)
        if (!*why && strcmp(k, "op") && strcmp(k, "stack_id") && strcmp(k, "env") && (!so->arg || strcmp(k, so->arg)))
            snprintf(why, n, "`%s` takes no `%s`", so->op, k);
    v = so->arg ? json_object_get(req, so->arg) : NULL;
    *arg = json_string_value(v);
    size_t len = *arg ? strlen(*arg) : 0;
    if (*why || !so->arg || (!v && so->optional))
        return;
    size_t most = !strcmp(so->arg, "approval") ? 60 * 1024 : 1024; /* a signed approval's envelope */
    if (!*arg || !len || len > most || len != json_string_length(v))
        snprintf(why, n, "`%s` needs `%s`, a string of 1 to %zu bytes", so->op, so->arg, most);
    else if (!strcmp(so->arg, "format") && strcmp(*arg, "text") && strcmp(*arg, "json"))
        snprintf(why, n, "`%s` takes the format text or json, not `%.64s`", so->op, *arg);
}

/* What makes an apply unfit before its plan is read, into r->why. */
static void check_apply(mk_serve_req *r)
{
    const char *k;
    json_t *opts = json_object_get(r->doc, "options"), *v;
    if (!stack_id_ok(r->stack_id))
        snprintf(r->why, sizeof r->why, "the plan names no stack id (32 hex digits): the service keeps each stack by its id");
    else if (opts && !json_is_object(opts))
        snprintf(r->why, sizeof r->why, "`options` is not an object");
    json_object_foreach(opts, k, v)
        if (!*r->why && !apply_opt(k, v, &r->opts))
            snprintf(r->why, sizeof r->why, "apply option `%s` is not one the service takes, or its value is bad", k);
}

/* One option of refresh's whitelist into o (parallelism, retries and
 * timeout as apply takes them); false for any other or a bad value. */
static bool refresh_opt(const char *k, json_t *v, mk_refresh_opts *o)
{
    const char *s = json_string_value(v);
    if (!strcmp(k, "parallelism") || !strcmp(k, "retries") || !strcmp(k, "timeout"))
        return apply_opt(k, v, &o->x);
    if (!strcmp(k, "dry_run"))
        return json_is_boolean(v) && ((o->dry_run = json_is_true(v)), true);
    if (!strcmp(k, "detailed_exitcode"))
        return json_is_boolean(v) && ((o->detailed = json_is_true(v)), true);
    if (!strcmp(k, "format"))
        return s && (!strcmp(s, "text") || !strcmp(s, "json")) && ((o->json = !strcmp(s, "json")), true);
    if (!strcmp(k, "by"))
        return s && (!strcmp(s, "refresh") || !strcmp(s, "reconcile")) && (o->by = s);
    return false;
}

/* What makes a refresh unfit before its plan (if any) is read, into r->why. */
static void check_refresh(mk_serve_req *r)
{
    const char *k;
    json_t *opts = json_object_get(r->doc, "options"), *v, *plan = json_object_get(r->doc, "plan");
    r->with_plan = json_is_true(plan);
    if (!stack_id_ok(r->stack_id))
        snprintf(r->why, sizeof r->why, "`refresh` needs a stack_id of 32 hex digits");
    else if (plan && !json_is_boolean(plan))
        snprintf(r->why, sizeof r->why, "`plan` is true (the plan's pieces follow) or false");
    else if (opts && !json_is_object(opts))
        snprintf(r->why, sizeof r->why, "`options` is not an object");
    json_object_foreach(opts, k, v)
        if (!*r->why && !refresh_opt(k, v, &r->ropts))
            snprintf(r->why, sizeof r->why, "refresh option `%s` is not one the service takes, or its value is bad", k);
}

/* A stack op's argument and stack id, or what is wrong, into r. */
static void check_stack_op(const struct stack_op *so, mk_serve_req *r)
{
    stack_op_arg(so, r->doc, &r->arg, r->why, sizeof r->why);
    if (!*r->why && !stack_id_ok(r->stack_id))
        snprintf(r->why, sizeof r->why, "`%s` needs a stack_id of 32 hex digits", so->op);
}

void mk_serve_parse(const char *text, size_t n, mk_serve_req *r)
{
    memset(r, 0, sizeof *r);
    mk_exec_opts_default(&r->opts);
    mk_refresh_opts_default(&r->ropts);
    r->doc = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    r->op = json_string_value(json_object_get(r->doc, "op"));
    r->stack_id = json_string_value(json_object_get(r->doc, "stack_id"));
    json_t *env = json_object_get(r->doc, "env"); /* the environment the op is for (none when absent) */
    r->env = json_string_value(env);
    if (!r->op)
        snprintf(r->why, sizeof r->why, "the request is not JSON naming an op");
    else if (env && !mk_paths_env_valid(r->env))
        snprintf(r->why, sizeof r->why, "`env` is not an environment's name (1 to %d of a-z, 0-9, `-`, `_`)", MK_ENV_MAX);
    else if (!strcmp(r->op, "state") || !strcmp(r->op, "observed")) {
        if (!stack_id_ok(r->stack_id))
            snprintf(r->why, sizeof r->why, "`%s` needs a stack_id of 32 hex digits", r->op);
    } else if (!strcmp(r->op, "apply"))
        check_apply(r);
    else if (!strcmp(r->op, "refresh"))
        check_refresh(r);
    else if (stack_op(r->op))
        check_stack_op(stack_op(r->op), r);
    else if (strcmp(r->op, "info") != 0)
        snprintf(r->why, sizeof r->why, "unknown op `%.64s` (info, state, observed, apply, refresh, state list, state show, "
                 "state rm, state unlock, audit show or audit verify)", r->op);
}

/* note [operator ops]: `state rm` and `state unlock` change the executor's
 * record of a stack, and a request carries no signature: in trust mode
 * anyone who may use the socket could otherwise drop any stack's
 * resources from the record. They are the executor operator's there, run
 * as the service's user in the stack's directory. */
void mk_serve_check_trust(mk_serve_req *r, bool trust)
{
    if (!trust || *r->why || !r->op || (strcmp(r->op, "state rm") && strcmp(r->op, "state unlock")))
        return;
    snprintf(r->why, sizeof r->why, "in trust mode the service does not run `%s`: it is the executor operator's "
             "(`moksha-exec %s` as the service's user, in the stack's directory under service.stacks)", r->op, r->op);
}

void mk_serve_req_free(mk_serve_req *r)
{
    free(r->opts.approve);
    json_decref(r->doc);
}

/* The stack's directory for an apply, entered (the handler's and its
 * worker's working directory from then on); -1 with the refusal in r->why. */
static int enter_stack(const conn *c, mk_serve_req *r, bool *fresh)
{
    int dfd = open_stack(c, r->stack_id, true, fresh);
    if (dfd >= 0 && (!stack_dir(dfd, r->stack_id) || fchdir(dfd) != 0)) {
        close(dfd);
        dfd = -1;
    }
    if (dfd < 0)
        snprintf(r->why, sizeof r->why, "cannot make or enter the stack's directory (a directory of the service's "
                 "own, mode 0700, no symlink): %s", strerror(errno));
    return dfd;
}

/* An apply refused (r->why, or no directory for its stack) still takes its
 * plan first, so the client reads the refusal rather than a reset. */
static int op_apply(const conn *c, mk_serve_req *r)
{
    mk_exec_opts *o = &r->opts;
    o->progress = 0;
    o->submitter = (mk_exec_submitter){true, (long)c->who.uid, (long)c->who.gid, (long)c->who.pid};
    char path[64], cap[32];
    bool fresh = false;
    int dfd = *r->why ? -1 : enter_stack(c, r, &fresh), rc, got;
    snprintf(cap, sizeof cap, "%zu", c->cfg->service.max_plan);
    if (*r->why) {
        drain_plan(c);
        rc = refuse(c, "%s", r->why);
    } else if ((got = receive_plan(c, path, sizeof path)) != 0) {
        if (fresh)
            drop_fresh(c, dfd, r->stack_id);
        rc = got == 2 ? refuse(c, "the plan is larger than service.max_plan_bytes (%s bytes)", cap)
                      : refuse(c, "the plan did not arrive whole, or not within 30 s%s", "");
    } else {
        rc = run_relayed(c, &(job){"apply", path, o, NULL, fresh ? dfd : -1, r->stack_id});
        unlink(path); /* (gone with the directory when that was dropped) */
    }
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* The stack's directory entered, when the service holds one with a
 * .moksha (it is never made here); false with the refusal in why. */
static bool enter_held(const conn *c, const char *id, char *why, size_t n)
{
    bool fresh;
    struct stat sb;
    int dfd = open_stack(c, id, false, &fresh);
    bool held = dfd >= 0 && fstatat(dfd, ".moksha", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
    held = held && fchdir(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    if (!held)
        snprintf(why, n, "the service holds no stack %s: no plan of it has been applied here", id);
    return held;
}

/* A stack op found fit (mk_serve_parse), in a worker in the stack's
 * directory, which it never makes. */
static int op_stack(const conn *c, const mk_serve_req *r)
{
    char why[256];
    if (!enter_held(c, r->stack_id, why, sizeof why))
        return refuse(c, "%s", why);
    mk_exec_opts o;
    mk_exec_opts_default(&o);
    o.submitter = (mk_exec_submitter){true, (long)c->who.uid, (long)c->who.gid, (long)c->who.pid};
    return run_relayed(c, &(job){r->op, r->arg ? r->arg : "text", &o, NULL, -1, NULL});
}

/* note [refresh caps]: a refresh holds the stack's lock while it reads, so
 * what any client of the socket asks of it is bounded by the service's
 * configuration (service.max_refresh_*): else one request — an hour's
 * timeout, 100 retries — could keep every apply of the stack out. A
 * request above a cap is refused, naming it. */
static void refresh_capped(const mk_config_service *s, const mk_refresh_opts *o, char *why, size_t n)
{
    if (o->x.parallelism > s->max_refresh_parallelism)
        snprintf(why, n, "refresh option `parallelism` (%d) is above service.max_refresh_parallelism (%d)",
                 o->x.parallelism, s->max_refresh_parallelism);
    else if (o->x.retries > s->max_refresh_retries)
        snprintf(why, n, "refresh option `retries` (%d) is above service.max_refresh_retries (%d)", o->x.retries,
                 s->max_refresh_retries);
    else if (o->x.timeout_ms > s->max_refresh_timeout_ms)
        snprintf(why, n, "refresh option `timeout` (%.0f s) is above service.max_refresh_timeout (%.0f s)",
                 o->x.timeout_ms / 1000, s->max_refresh_timeout_ms / 1000);
}

/* note [service refresh]: a refresh runs in a worker in the stack's
 * directory, as a stack op does (never making one: a stack nothing was
 * applied to has nothing to read), with the plan's pieces first when the
 * request says `"plan": true` — taken even when refused, as apply's are. */
static int op_refresh(const conn *c, mk_serve_req *r)
{
    mk_refresh_opts *o = &r->ropts;
    o->x.submitter = (mk_exec_submitter){true, (long)c->who.uid, (long)c->who.gid, (long)c->who.pid};
    char path[64], cap[32];
    int got = 0, rc;
    if (!*r->why)
        refresh_capped(&c->cfg->service, o, r->why, sizeof r->why);
    if (!*r->why)
        enter_held(c, r->stack_id, r->why, sizeof r->why);
    snprintf(cap, sizeof cap, "%zu", c->cfg->service.max_plan);
    if (*r->why) {
        if (r->with_plan)
            drain_plan(c);
        return refuse(c, "%s", r->why);
    }
    if (r->with_plan && (got = receive_plan(c, path, sizeof path)) != 0)
        return got == 2 ? refuse(c, "the plan is larger than service.max_plan_bytes (%s bytes)", cap)
                        : refuse(c, "the plan did not arrive whole, or not within 30 s%s", "");
    o->plan = r->with_plan ? path : NULL;
    rc = run_relayed(c, &(job){"refresh", NULL, &r->opts, o, -1, NULL});
    if (r->with_plan)
        unlink(path);
    return rc;
}

/* The stack's state for `state`, its observed.json for `observed`: "none"
 * when the service holds no directory of it. */
static int op_state_of(const conn *c, const char *id, bool observed)
{
    bool fresh;
    int dfd = open_stack(c, id, false, &fresh);
    if (dfd < 0 && errno != ENOENT)
        return refuse(c, "cannot read the stack's state: %s", strerror(errno));
    int rc = op_state(c, dfd, observed);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* Read the request and answer it; the exit code, for the service's log. */
static int handle(const conn *c, char *what, size_t n)
{
    int type;
    char *p;
    size_t len;
    snprintf(what, n, "no request");
    if (mk_wire_recv_by(c->fd, &type, &p, &len, MK_WIRE_MAX_REQUEST, c->deadline) != 1 || type != MK_WIRE_REQUEST) {
        free(p);
        return MK_EXIT_INPUT;
    }
    mk_serve_req r;
    mk_serve_parse(p, len, &r);
    mk_serve_check_trust(&r, c->cfg->trust.on);
    free(p);
    const char *op = r.op, *id = r.stack_id;
    snprintf(what, n, "%s%s%s", op ? op : "a bad request", id ? " stack " : "", id && stack_id_ok(id) ? id : id ? "(bad id)" : "");
    if (!*r.why && mk_paths_select(r.env, r.why, sizeof r.why) && r.env) /* this handler's, and its worker's */
        snprintf(what + strlen(what), n - strlen(what), " env %s", r.env);
    int rc = op && !strcmp(op, "apply") ? op_apply(c, &r)
             : op && !strcmp(op, "refresh") ? op_refresh(c, &r)
             : *r.why ? refuse(c, "%s", r.why)
             : !strcmp(op, "info") ? op_info(c)
             : !strcmp(op, "state") ? op_state_of(c, id, false)
             : !strcmp(op, "observed") ? op_state_of(c, id, true)
             : op_stack(c, &r);
    mk_serve_req_free(&r);
    return rc;
}

static void serve_conn(int fd, const mk_config *cfg)
{
    /* note [arrival]: the request and the plan must arrive whole within
     * ARRIVE_MS of connecting, however they trickle in (a timeout that
     * each byte restarted would let a byte every 25 s hold a handler
     * forever). A client that stops reading is gone too: output it does
     * not take would fill the worker's pipe and stall the apply. */
    conn c = {fd, {0, 0, 0}, cfg, mk_clock_now_ms() + ARRIVE_MS};
    socklen_t sl = sizeof c.who;
    struct timeval idle = {IDLE_SECONDS, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    char what[128];
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c.who, &sl) == 0 ? handle(&c, what, sizeof what)
             : refuse(&c, "cannot tell who connected: %s", strerror(errno));
    fprintf(stderr, "moksha-exec serve: uid %ld gid %ld pid %ld: %s: exit %d\n", (long)c.who.uid, (long)c.who.gid,
            (long)c.who.pid, what, rc);
}

/* ---- the service ---- */

typedef struct handlers {
    pid_t pid[MAX_HANDLERS];
    uid_t uid[MAX_HANDLERS]; /* whose connection each serves */
    size_t n;
} handlers;

static void reap(handlers *h, bool block)
{
    pid_t pid;
    while (h->n && (pid = waitpid(-1, NULL, block ? 0 : WNOHANG)) != 0) {
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        for (size_t i = 0; i < h->n; i++)
            if (h->pid[i] == pid) {
                h->n--;
                h->pid[i] = h->pid[h->n], h->uid[i] = h->uid[h->n];
            }
    }
}

static size_t of_uid(const handlers *h, uid_t uid)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++)
        k += h->uid[i] == uid;
    return k;
}

/* The reason a connection of who waits for none, or NULL. */
static const char *too_busy(const handlers *h, const struct ucred *who, bool known)
{
    if (h->n >= MAX_HANDLERS)
        return "the service is busy (64 applies or requests at once); try again";
    if (!known)
        return "cannot tell who connected (SO_PEERCRED)";
    if (of_uid(h, who->uid) >= MAX_PER_UID)
        return "the service is busy (8 requests of this user at once); try again";
    return NULL;
}

/* A child for the connection; the service goes on accepting. */
static void spawn(handlers *h, int lfd, int fd, const mk_config *cfg, const sigset_t *orig)
{
    struct ucred who = {0, 0, 0};
    socklen_t sl = sizeof who;
    const char *busy = too_busy(h, &who, getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &who, &sl) == 0);
    pid_t pid = busy ? -1 : fork();
    if (pid == 0) {
        close(lfd);
        signal(SIGTERM, SIG_DFL), signal(SIGINT, SIG_DFL), signal(SIGHUP, SIG_DFL), signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, orig, NULL);
        serve_conn(fd, cfg);
        _exit(0);
    }
    if (pid > 0) {
        h->uid[h->n] = who.uid;
        h->pid[h->n++] = pid;
    } else {
        conn c = {fd, who, cfg, 0};
        refuse(&c, "%s", busy ? busy : "the service cannot start a handler; try again");
    }
    close(fd);
}

static void accept_loop(int lfd, const mk_config *cfg, const sigset_t *orig)
{
    handlers h = {{0}, {0}, 0};
    while (!stopping) {
        struct pollfd p = {lfd, POLLIN, 0};
        int n = ppoll(&p, 1, NULL, orig);
        reap(&h, false);
        int fd = n > 0 && !stopping ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
        if (fd >= 0)
            spawn(&h, lfd, fd, cfg, orig);
    }
    close(lfd);
    for (size_t i = 0; i < h.n; i++) /* each interrupts its apply, which rolls back */
        kill(h.pid[i], SIGTERM);
    reap(&h, true);
}

int mk_serve_run(const char *socket_path)
{
    mk_config cfg;
    char why[1024];
    if (!mk_config_load_for(&cfg, NULL, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    const char *path = socket_path ? socket_path : cfg.service.socket;
    if (!cfg.service.on) {
        fprintf(stderr, "moksha-exec: error: %s has no `service` section: serve needs service.socket and "
                        "service.stacks (docs/trust.md)\n", *cfg.path ? cfg.path : "the executor's configuration");
        mk_config_free(&cfg);
        return MK_EXIT_INPUT;
    }
    sigset_t stops, orig;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGINT), sigaddset(&stops, SIGHUP), sigaddset(&stops, SIGCHLD);
    sigprocmask(SIG_BLOCK, &stops, &orig);
    struct sigaction sa = {.sa_handler = on_stop}, sc = {.sa_handler = on_child};
    sigemptyset(&sa.sa_mask), sigemptyset(&sc.sa_mask);
    sigaction(SIGTERM, &sa, NULL), sigaction(SIGINT, &sa, NULL), sigaction(SIGHUP, &sa, NULL), sigaction(SIGCHLD, &sc, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lfd = stacks_ok(cfg.service.stacks) ? listen_on(path, &cfg.service) : -1;
    if (lfd >= 0) {
        fprintf(stderr, "moksha-exec serve: listening on %s (mode %04o%s%s), stacks in %s\n", path, cfg.service.mode,
                *cfg.service.group ? ", group " : "", cfg.service.group, cfg.service.stacks);
        accept_loop(lfd, &cfg, &orig);
        unlink(path);
        fprintf(stderr, "moksha-exec serve: stopped\n");
    }
    mk_config_free(&cfg);
    sigprocmask(SIG_SETMASK, &orig, NULL);
    return lfd >= 0 ? 0 : MK_EXIT_INPUT;
}
