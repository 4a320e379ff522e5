/* submit — talking to `moksha-exec serve` (submit.h). A frame is a type
 * byte, a 4-byte big-endian length and the payload; each request opens a
 * connection of its own. While an apply runs, the stop signals are
 * blocked but inside ppoll, so each one that arrives becomes exactly one
 * cancel frame, sent from the loop rather than from a handler. */
#include "compiler/cli/submit.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "compiler/base/approvalfile.h"
#include "compiler/base/buf.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/seal.h"
#include "compiler/cli/cli.h"
#include "compiler/pipeline.h"

#define PIECE (1u << 20)            /* the service's largest piece */
#define MAX_ANSWER ((size_t)4 << 30) /* a state, whole */

const char *mk_submit_socket(void)
{
    const char *s = getenv("MOKSHA_EXEC_SOCKET");
    return s && *s ? s : NULL;
}

/* Plans go to, and secrets are sealed to the key of, whoever listens on
 * the socket: a directory anyone may write without the sticky bit lets
 * anyone put a socket of their own in its place. */
static bool socket_dir_safe(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        *(slash == dir ? slash + 1 : slash) = 0;
    struct stat sb;
    if (stat(dir, &sb) == 0 && (sb.st_mode & 002) && !(sb.st_mode & S_ISVTX)) {
        mk_cli_err("MOKSHA_EXEC_SOCKET %s: its directory %s is writable by everyone (mode %04o): anyone could put "
                   "a socket of their own there", path, dir, (unsigned)(sb.st_mode & 07777));
        return false;
    }
    return true;
}

/* MOKSHA_EXEC_USER (a user name or uid), when set, is who must be
 * listening: the peer's uid (SO_PEERCRED) is checked against it. */
static bool peer_is_service(int fd, const char *path)
{
    const char *want = getenv("MOKSHA_EXEC_USER");
    if (!want || !*want)
        return true;
    struct passwd *pw = getpwnam(want);
    char *end;
    unsigned long n = strtoul(want, &end, 10);
    if (!pw && (*end || !*want)) {
        mk_cli_err("MOKSHA_EXEC_USER `%s` is no user of this system", want);
        return false;
    }
    uid_t uid = pw ? pw->pw_uid : (uid_t)n;
    struct ucred who;
    socklen_t sl = sizeof who;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &who, &sl) == 0 && who.uid == uid)
        return true;
    mk_cli_err("the executor service at %s (MOKSHA_EXEC_SOCKET) does not run as MOKSHA_EXEC_USER `%s`: nothing "
               "was sent to it", path, want);
    return false;
}

static int dial(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        mk_cli_err("MOKSHA_EXEC_SOCKET %s: the path is too long for a socket", path);
        return -1;
    }
    if (!socket_dir_safe(path))
        return -1;
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        if (peer_is_service(fd, path))
            return fd;
        close(fd);
        return -1;
    }
    mk_cli_err("cannot reach the executor service at %s (MOKSHA_EXEC_SOCKET): %s%s", path, strerror(errno),
               errno == EACCES ? " (the socket's group and mode say who may submit)"
               : errno == ENOENT || errno == ECONNREFUSED ? " (is `moksha-exec serve` running?)" : "");
    if (fd >= 0)
        close(fd);
    return -1;
}

static bool put(int fd, const void *p, size_t n)
{
    for (const char *s = p; n;) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0 && !(w < 0 && errno == EINTR))
            return false;
        if (w > 0)
            s += w, n -= (size_t)w;
    }
    return true;
}

static bool frame(int fd, char type, const void *p, size_t n)
{
    unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    return put(fd, h, 5) && put(fd, p, n);
}

static bool take(int fd, void *p, size_t n)
{
    for (char *s = p; n;) {
        ssize_t r = read(fd, s, n);
        if (r == 0 || (r < 0 && errno != EINTR))
            return false;
        if (r > 0)
            s += r, n -= (size_t)r;
    }
    return true;
}

/* One frame's payload appended to b; its type, or -1 at the end. */
static int next_frame(int fd, mk_buf *b)
{
    unsigned char h[5];
    if (!take(fd, h, 5))
        return -1;
    size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    if (n > PIECE)
        return -1;
    char piece[4096];
    for (size_t left = n; left;) {
        size_t k = left < sizeof piece ? left : sizeof piece;
        if (!take(fd, piece, k))
            return -1;
        mk_buf_put(b, piece, k);
        left -= k;
    }
    return h[0];
}

/* The request's compact JSON as one frame, naming the environment when
 * one is selected (the service selects it for the op). Takes req. */
static bool request(int fd, json_t *req)
{
    if (mk_cli_opts.env && strcmp(json_string_value(json_object_get(req, "op")) ?: "", "info") != 0)
        json_object_set_new(req, "env", json_string(mk_cli_opts.env));
    char *text = json_dumps(req, JSON_COMPACT);
    bool ok = text && frame(fd, 'Q', text, strlen(text));
    mk_jalloc_free_text(text);
    json_decref(req);
    return ok;
}

/* A refusal's text (stderr frames) printed, its code returned; 1 when
 * the service ends without one. */
static int refusal(int fd, int type, mk_buf *b, const char *path)
{
    while (type == 'E') {
        fwrite(b->data, 1, b->len, stderr);
        b->len = 0;
        type = next_frame(fd, b);
    }
    if (type == 'X' && b->len == 1)
        return (unsigned char)b->data[0];
    mk_cli_err("the executor service at %s answered out of turn or went away (see its log)", path);
    return EXIT_INPUT;
}

/* ---- planning's inputs ---- */

/* "x25519:" and the base64 of 32 bytes into r's reported seal key, by the
 * rules MOKSHA_SEAL_TO's key text is held to (compiler/base/seal.c: a key
 * of small order, which would seal to no one, is refused too). Only key
 * text: never a file the service names. */
static bool seal_key(const char *text, mk_pipeline_req *r)
{
    mk_key k = {0};
    char err[256];
    if (!text || strncmp(text, MK_SEAL_PREFIX, strlen(MK_SEAL_PREFIX)) != 0 || !mk_seal_to_load(&k, text, err, sizeof err))
        return false;
    memcpy(r->seal_reported.key, k.seal_to, 32);
    memcpy(r->seal_reported.id, k.seal_to_id, sizeof r->seal_reported.id);
    r->seal_reported.on = true;
    return true;
}

static bool ask_info(const char *path, mk_pipeline_req *r)
{
    int fd = dial(path);
    if (fd < 0)
        return false;
    mk_buf b = {0};
    request(fd, json_pack("{s:s}", "op", "info"));
    int type = next_frame(fd, &b); /* (a busy service refuses before it reads the request: its answer waits) */
    json_t *info = type == 'I' ? json_loadb(b.data ? b.data : "", b.len, 0, NULL) : NULL;
    json_t *seal = json_object_get(info, "seal");
    bool ok = info && (!seal || seal_key(json_string_value(seal), r));
    if (!ok && type == 'I')
        mk_cli_err("the executor service at %s reported a seal key that is not `x25519:` and 32 bytes of base64", path);
    else if (!ok)
        refusal(fd, type, &b, path);
    json_decref(info);
    mk_buf_free(&b);
    close(fd);
    return ok;
}

/* .moksha/stack-id, or "" when the stack has none yet. */
static void local_stack_id(char id[33])
{
    char buf[64] = "";
    FILE *f = fopen(MOKSHA_DIR "/stack-id", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    n = strspn(buf, "0123456789abcdef");
    snprintf(id, 33, "%.*s", n == 32 ? 32 : 0, buf);
}

/* A file of the stack's as the service holds it (op "state" or
 * "observed"): *out its bytes, NULL when it has none. */
static bool ask_file(const char *path, const char *op, const char *id, char **out, size_t *len)
{
    int fd = dial(path);
    if (fd < 0)
        return false;
    mk_buf b = {0};
    request(fd, json_pack("{s:s, s:s}", "op", op, "stack_id", id));
    int type = next_frame(fd, &b);
    size_t last = 0;
    while (type == 'S' && b.len > last && b.len <= MAX_ANSWER) /* pieces until an empty one */
        last = b.len, type = next_frame(fd, &b);
    bool ok = type == 'N' || (type == 'S' && b.len == last);
    if (type == 'S' && ok)
        *len = b.len, *out = mk_buf_take(&b);
    else if (!ok)
        refusal(fd, type, &b, path);
    mk_buf_free(&b);
    close(fd);
    return ok;
}

bool mk_submit_plan_inputs(mk_pipeline_req *r, mk_submit_inputs *in)
{
    const char *path = mk_submit_socket();
    char id[33];
    memset(in, 0, sizeof *in);
    if (!path)
        return true;
    local_stack_id(id);
    snprintf(in->name, sizeof in->name, "the state of stack %s from the executor service at %s", *id ? id : "(new)", path);
    snprintf(in->observed_name, sizeof in->observed_name, "the observations of stack %s from the executor service at %s",
             *id ? id : "(new)", path);
    if (!ask_info(path, r) || (*id && !ask_file(path, "state", id, &in->state, &in->len)) ||
        (*id && !ask_file(path, "observed", id, &in->observed, &in->observed_len))) {
        mk_submit_inputs_free(in);
        return false;
    }
    mk_submit_inputs_give(r, in);
    return true;
}

void mk_submit_inputs_give(mk_pipeline_req *r, mk_submit_inputs *in)
{
    r->state_name = in->name, r->state_text = in->state, r->state_len = in->len;
    r->observed_name = in->observed_name, r->observed_text = in->observed, r->observed_len = in->observed_len;
    in->state = NULL; /* the pipeline's now: it frees the bytes once parsed */
}

void mk_submit_inputs_free(mk_submit_inputs *in) /* (what the pipeline did not take) */
{
    mk_mem_free(in->state);
    mk_mem_free(in->observed);
    in->state = in->observed = NULL;
}

/* ---- apply ---- */

/* The text of the approval file at path (checked when the option was
 * taken: mk_spawn_option_ok), appended to list: the service verifies it. */
static void approval_text(json_t *list, const char *path)
{
    mk_approvalfile a;
    char why[2048];
    if (mk_approvalfile_read(path, &a, why, sizeof why)) {
        char *text = mk_approvalfile_envelope(&a);
        json_array_append_new(list, json_string(text));
        mk_mem_free(text);
    }
    mk_approvalfile_free(&a);
}

/* moksha-exec's options as the service's whitelist (docs/executor.md). */
static json_t *options_json(const char **opts, size_t n)
{
    json_t *o = json_object(), *approve = json_array(), *approvals = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *k = opts[i], *v = i + 1 < n ? opts[i + 1] : "";
        if (!strcmp(k, "--no-rollback")) {
            json_object_set_new(o, "no_rollback", json_true());
            continue;
        }
        i++;
        if (!strcmp(k, "--parallelism") || !strcmp(k, "--retries"))
            json_object_set_new(o, k + 2, json_integer(strtol(v, NULL, 10)));
        else if (!strcmp(k, "--timeout"))
            json_object_set_new(o, "timeout", json_string(v));
        else if (!strcmp(k, "--auto-approve-risk"))
            json_object_set_new(o, "auto_approve_risk", json_string(v));
        else if (!strcmp(k, "--approve"))
            json_array_append_new(approve, json_string(v));
        else if (!strcmp(k, "--approval"))
            approval_text(approvals, v);
    }
    if (json_array_size(approve))
        json_object_set(o, "approve", approve);
    if (json_array_size(approvals))
        json_object_set(o, "approvals", approvals);
    json_decref(approve);
    json_decref(approvals);
    return o;
}

static bool send_plan(int fd, const char *plan, size_t n)
{
    for (size_t at = 0; at < n; at += PIECE)
        if (!frame(fd, 'P', plan + at, n - at < PIECE ? n - at : PIECE))
            return false;
    return frame(fd, 'P', "", 0);
}

static volatile sig_atomic_t stops;
static void on_stop(int sig) { (void)sig; stops++; }

/* Output frames printed until the exit frame; each stop signal one cancel. */
static int stream(int fd, const char *path, const char *op, const sigset_t *wait_mask)
{
    mk_buf b = {0};
    int sent = 0, rc = -1;
    while (rc < 0) {
        struct pollfd p = {fd, POLLIN, 0};
        int n = ppoll(&p, 1, NULL, wait_mask);
        for (; sent < stops; sent++)
            frame(fd, 'C', "", 0);
        if (n <= 0)
            continue;
        b.len = 0;
        int type = next_frame(fd, &b);
        if (type == 'O' || type == 'E') {
            fwrite(b.data, 1, b.len, type == 'O' ? stdout : stderr);
            fflush(type == 'O' ? stdout : stderr);
        } else if (type == 'X' && b.len == 1) {
            rc = (unsigned char)b.data[0];
        } else {
            mk_cli_err("the executor service at %s went away before the %s ended: its log says how it ended", path, op);
            rc = EXIT_INPUT;
        }
    }
    mk_buf_free(&b);
    return rc;
}

/* One request answered by output frames and an exit frame (apply, and
 * note [stack ops] in runtime/serve.c), the plan's pieces sent after it
 * when plan is not NULL. Takes req. The service's exit code, or 1. */
static int converse(json_t *req, const char *op, const char *plan, size_t n)
{
    const char *path = mk_submit_socket();
    int fd = path ? dial(path) : -1;
    if (fd < 0) {
        json_decref(req);
        return EXIT_INPUT;
    }
    sigset_t set, wait_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &wait_mask);
    struct sigaction sa = {.sa_handler = on_stop}, old[3];
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]), sigaction(SIGTERM, &sa, &old[1]), sigaction(SIGHUP, &sa, &old[2]);
    stops = 0;
    fflush(stdout);
    /* A refusal comes after the plan (the service reads it whole first), but
     * a busy service refuses at once: its answer is read even when the
     * request or the plan could not be sent. */
    if (request(fd, req) && plan)
        send_plan(fd, plan, n);
    int rc = stream(fd, path, op, &wait_mask);
    close(fd);
    sigaction(SIGINT, &old[0], NULL), sigaction(SIGTERM, &old[1], NULL), sigaction(SIGHUP, &old[2], NULL);
    sigprocmask(SIG_SETMASK, &wait_mask, NULL);
    return rc < 0 ? EXIT_INPUT : rc;
}

int mk_submit_apply(const char *stack_id, const char *plan, size_t n, const char **opts, size_t nopts)
{
    json_t *req = json_pack("{s:s, s:s, s:o}", "op", "apply", "stack_id", stack_id ? stack_id : "", "options",
                            options_json(opts, nopts));
    return converse(req, "apply", plan, n);
}

/* .moksha/stack-id into id, or false (said) when the stack has none: the
 * service holds nothing of it. */
static bool stack_known(char id[33])
{
    local_stack_id(id);
    if (!*id)
        mk_cli_err("this stack has no stack id yet (%s/stack-id): no plan has been made for it, so the executor service "
                   "at %s holds nothing of it", MOKSHA_DIR, mk_submit_socket());
    return *id != 0;
}

int mk_submit_stack_op(const char *op, const char *key, const char *arg)
{
    char id[33];
    if (!stack_known(id))
        return EXIT_INPUT;
    json_t *req = json_pack("{s:s, s:s}", "op", op, "stack_id", id);
    if (key && arg)
        json_object_set_new(req, key, json_string(arg));
    return converse(req, op, NULL, 0);
}

int mk_submit_approval(const char *stack_id, const char *env, const char *text)
{
    json_t *req = json_pack("{s:s, s:s, s:s}", "op", "approval add", "stack_id", stack_id, "approval", text);
    if (env)
        json_object_set_new(req, "env", json_string(env));
    return converse(req, "approval add", NULL, 0);
}

/* ---- refresh ---- */

/* moksha-exec refresh's options as the service's whitelist (docs/executor.md). */
static json_t *refresh_options_json(const char **opts, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *k = opts[i], *v = i + 1 < n ? opts[i + 1] : "";
        if (!strcmp(k, "--dry-run") || !strcmp(k, "--detailed-exitcode")) {
            json_object_set_new(o, !strcmp(k, "--dry-run") ? "dry_run" : "detailed_exitcode", json_true());
            continue;
        }
        i++;
        if (!strcmp(k, "--parallelism") || !strcmp(k, "--retries"))
            json_object_set_new(o, k + 2, json_integer(strtol(v, NULL, 10)));
        else if (!strcmp(k, "--timeout") || !strcmp(k, "--format") || !strcmp(k, "--by"))
            json_object_set_new(o, k + 2, json_string(v));
    }
    return o;
}

int mk_submit_refresh(const char *plan, size_t n, const char **opts, size_t nopts)
{
    char id[33];
    if (!stack_known(id))
        return EXIT_INPUT;
    json_t *req = json_pack("{s:s, s:s, s:b, s:o}", "op", "refresh", "stack_id", id, "plan", plan != NULL, "options",
                            refresh_options_json(opts, nopts));
    return converse(req, "refresh", plan, n);
}

bool mk_submit_observed(char **out, size_t *len)
{
    const char *path = mk_submit_socket();
    char id[33];
    *out = NULL, *len = 0;
    if (!path) {
        mk_cli_err("MOKSHA_EXEC_SOCKET is not set: there is no executor service to ask");
        return false;
    }
    local_stack_id(id);
    return !*id || ask_file(path, "observed", id, out, len);
}
