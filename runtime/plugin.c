/* plugin — the plugin protocol's client and the folder digest (plugin.h,
 * docs/plugins.md). */
#include "runtime/plugin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "runtime/clock.h"

#define LINE_MAX_BYTES (4u << 20) /* one message on stdout */
#define ERR_LINE 2048             /* one stderr line as logged (longer ones are cut) */
#define ERR_LINES 1000            /* lines logged per call; the rest is read and dropped */
#define ERR_DRAIN (256u << 10)    /* bytes read from stderr at once, so a flood cannot keep us from the deadline */
#define MAX_DEPTH 16
#define MAX_ENTRIES 10000

/* ---- digests ---- */

typedef struct entry {
    char *line; /* "d PATH" or "f MODE SHA256 PATH" */
} entry;

typedef struct walk {
    entry *v;
    size_t n, cap;
    char *why;
    size_t whylen;
} walk;

static bool walk_fail(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool walk_fail(walk *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, w->whylen, fmt, ap);
    va_end(ap);
    return false;
}

static bool hash_file(const char *path, char hex[65], char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno)), false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    unsigned char buf[65536];
    ssize_t r;
    while (ok && (r = read(fd, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
            ok = false;
            break;
        }
        ok = EVP_DigestUpdate(md, buf, (size_t)r);
    }
    unsigned char d[32];
    unsigned int dn = 32;
    ok = ok && EVP_DigestFinal_ex(md, d, &dn);
    EVP_MD_CTX_free(md);
    close(fd);
    for (int i = 0; ok && i < 32; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
    return ok;
}

static bool add_entry(walk *w, const char *line)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        entry *v = realloc(w->v, nc * sizeof *v);
        if (!v)
            return snprintf(w->why, w->whylen, "out of memory"), false;
        w->v = v, w->cap = nc;
    }
    if (!(w->v[w->n].line = strdup(line)))
        return snprintf(w->why, w->whylen, "out of memory"), false;
    w->n++;
    return true;
}

static bool name_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Can only its owner, and only the executor's user or root, change what
 * st is? (For a parent folder, a sticky one writable by all, /tmp, is
 * fine: no other user can rename or remove what is not theirs.) */
static bool owner_only(const struct stat *st, bool parent)
{
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return false;
    return !(st->st_mode & 022) || (parent && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX));
}

static bool unsafe(walk *w, const char *path, const struct stat *st)
{
    return walk_fail(w, "%s can be changed by another user than the executor's (owner uid %u, mode %03o): a plugin's "
                     "folder, everything in it and every folder above it may be writable only by the executor's "
                     "user or root", path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 0777));
}

/* The entries under root/rel (rel "" for the folder itself). */
static bool walk_dir(walk *w, const char *root, const char *rel, int depth)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    if (depth > MAX_DEPTH)
        return snprintf(w->why, w->whylen, "%s: deeper than %d levels", path, MAX_DEPTH), false;
    DIR *d = opendir(path);
    if (!d)
        return snprintf(w->why, w->whylen, "cannot read the folder %s: %s", path, strerror(errno)), false;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[PATH_MAX], full[PATH_MAX], line[PATH_MAX + 128];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof sub ||
            (size_t)snprintf(full, sizeof full, "%s/%s", root, sub) >= sizeof full) {
            ok = walk_fail(w, "%s: a path too long", path);
            break;
        }
        struct stat st;
        if (w->n >= MAX_ENTRIES)
            ok = walk_fail(w, "%s: more than %d entries", root, MAX_ENTRIES);
        else if (!name_ok(sub))
            ok = walk_fail(w, "%s: a name with a control character", path);
        else if (lstat(full, &st) != 0)
            ok = walk_fail(w, "cannot read %s: %s", full, strerror(errno));
        else if ((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && !owner_only(&st, false))
            ok = unsafe(w, full, &st);
        else if (S_ISDIR(st.st_mode)) {
            snprintf(line, sizeof line, "d %s", sub);
            ok = add_entry(w, line) && walk_dir(w, root, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            char hex[65];
            ok = hash_file(full, hex, w->why, w->whylen);
            snprintf(line, sizeof line, "f %s %s %s", (st.st_mode & 0111) ? "x" : "-", hex, sub);
            ok = ok && add_entry(w, line);
        } else
            ok = walk_fail(w, "%s is %s: a plugin's folder holds only files and folders (what a link "
                          "reaches is not in it)", full, S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file");
    }
    closedir(d);
    return ok;
}

/* docs/plugins.md "The digest": on what follows "d " or "f ", then (a
 * folder whose name reads like a file's line) on the whole line */
static int by_line(const void *a, const void *b)
{
    const char *x = ((const entry *)a)->line, *y = ((const entry *)b)->line;
    int c = strcmp(x + 2, y + 2);
    return c ? c : strcmp(x, y);
}

bool mk_plugin_digest(const char *dir, char out[80], char *why, size_t whylen)
{
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return snprintf(why, whylen, "%s is not a folder", dir), false;
    walk w = {.why = why, .whylen = whylen};
    bool ok = true;
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", dir);
    for (bool parent = false;; parent = true) { /* the folder, then each above it */
        struct stat ps;
        if (stat(up, &ps) != 0) {
            ok = walk_fail(&w, "cannot read %s: %s", up, strerror(errno));
            break;
        }
        if (!owner_only(&ps, parent)) {
            ok = unsafe(&w, up, &ps);
            break;
        }
        char *sl = strrchr(up, '/');
        if (!sl || sl == up) {
            if (sl && up[1] && (stat("/", &ps) != 0 || !owner_only(&ps, true)))
                ok = unsafe(&w, "/", &ps);
            break;
        }
        *sl = 0;
    }
    ok = ok && walk_dir(&w, dir, "", 0);
    if (ok)
        qsort(w.v, w.n, sizeof *w.v, by_line);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = ok && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, "moksha-plugin-folder 1\n", 23);
    for (size_t i = 0; i < w.n; i++) {
        ok = ok && EVP_DigestUpdate(md, w.v[i].line, strlen(w.v[i].line)) && EVP_DigestUpdate(md, "\n", 1);
        free(w.v[i].line);
    }
    free(w.v);
    unsigned char d[32];
    unsigned int dn = 32;
    ok = ok && EVP_DigestFinal_ex(md, d, &dn);
    EVP_MD_CTX_free(md);
    if (!ok)
        return false;
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", d[i]);
    return true;
}

bool mk_plugin_file_digest(const char *path, char out[80], char *why, size_t whylen)
{
    char hex[65];
    if (!hash_file(path, hex, why, whylen))
        return false;
    snprintf(out, 80, "sha256:%s", hex);
    return true;
}

/* ---- the client ---- */

struct mk_plugin {
    pthread_mutex_t mu;
    char *name, *dir, *digest;
    json_t *settings;
    char **env;      /* "NAME=value", for the child */
    size_t nenv;
    char **secrets;  /* the granted values, for redaction (wiped when freed) */
    size_t nsecrets;
    double timeout_ms;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
    char home[64];   /* its HOME: a temporary directory of its own */
    pid_t pid;       /* 0: not running */
    int in, out, err;
    char *buf;       /* what stdout has given past the last line */
    size_t blen, bcap;
    char *ebuf;      /* the stderr line being read: ERR_LINE and the longest granted value */
    size_t elen, ecap, longest;
    int elines;      /* lines logged since the call began */
    json_t *hello;
    long long next_id;
    int starts;
};

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

mk_plugin *mk_plugin_new(const mk_plugin_spec *spec)
{
    mk_plugin *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pthread_mutex_init(&pl->mu, NULL);
    pl->name = dup_or_empty(spec->name);
    pl->dir = dup_or_empty(spec->dir);
    pl->digest = spec->digest ? strdup(spec->digest) : NULL;
    pl->settings = spec->settings ? json_deep_copy(spec->settings) : json_object();
    pl->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 30000;
    pl->log = spec->log, pl->log_ctx = spec->log_ctx;
    pl->in = pl->out = pl->err = -1;
    size_t n = 0;
    while (spec->env && spec->env[n])
        n++;
    pl->env = calloc(n + 5, sizeof *pl->env);
    pl->secrets = calloc(n + 1, sizeof *pl->secrets);
    if (!pl->name || !pl->dir || !pl->settings || !pl->env || !pl->secrets) {
        mk_plugin_free(pl);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(spec->env[i]);
        if (!v)
            continue; /* not set: not given (the plugin says what it misses) */
        size_t len = strlen(spec->env[i]) + strlen(v) + 2;
        char *kv = malloc(len);
        if (!kv)
            continue;
        snprintf(kv, len, "%s=%s", spec->env[i], v);
        pl->env[pl->nenv++] = kv;
        if (strlen(v) >= 4) {
            pl->secrets[pl->nsecrets++] = strdup(v);
            if (strlen(v) > pl->longest)
                pl->longest = strlen(v);
        }
    }
    pl->ecap = ERR_LINE + pl->longest;
    if (!(pl->ebuf = malloc(pl->ecap + 1))) {
        mk_plugin_free(pl);
        return NULL;
    }
    return pl;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void mk_plugin_free(mk_plugin *pl)
{
    if (!pl)
        return;
    mk_plugin_stop(pl);
    if (pl->home[0])
        nftw(pl->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < pl->nenv; i++)
        wipe_free(pl->env[i]);
    for (size_t i = 0; i < pl->nsecrets; i++)
        wipe_free(pl->secrets[i]);
    free(pl->env);
    free(pl->secrets);
    free(pl->name);
    free(pl->dir);
    free(pl->digest);
    free(pl->buf);
    if (pl->ebuf)
        OPENSSL_cleanse(pl->ebuf, pl->ecap + 1);
    free(pl->ebuf);
    json_decref(pl->settings);
    pthread_mutex_destroy(&pl->mu);
    free(pl);
}

int mk_plugin_starts(const mk_plugin *pl) { return pl->starts; }

/* The length of the granted value s begins with (0: none). */
static size_t secret_at(const mk_plugin *pl, const char *s, size_t n)
{
    size_t hit = 0;
    for (size_t i = 0; i < pl->nsecrets; i++) {
        size_t len = pl->secrets[i] ? strlen(pl->secrets[i]) : 0;
        if (len && len <= n && len > hit && memcmp(s, pl->secrets[i], len) == 0)
            hit = len;
    }
    return hit;
}

/* The UTF-8 character s begins with: its length, or 0 when it is not
 * valid UTF-8, or a character a terminal or a reader could be fooled by
 * (a C0 or C1 control, DEL, a bidirectional override or mark); *skip: the
 * bytes one "?" stands for. */
static size_t shown_char(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned c = s[0];
    *skip = 1;
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    unsigned cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, or a surrogate */
    *skip = len;
    if (cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return len;
}

/* Redact s[0, n) into out, stopping once `stop` bytes of s are taken (at
 * the end of a value that runs past it): the bytes of s taken. */
static size_t redact_n(const mk_plugin *pl, const char *s, size_t n, size_t stop, char *out, size_t outlen)
{
    size_t o = 0, i = 0;
    while (i < n && i < stop && o + 1 < outlen) {
        size_t hit = secret_at(pl, s + i, n - i);
        if (hit) {
            o += (size_t)snprintf(out + o, outlen - o, "[redacted]");
            if (o >= outlen)
                o = outlen - 1;
            i += hit;
            continue;
        }
        size_t skip, len = shown_char((const unsigned char *)s + i, n - i, &skip);
        if (!len || o + len >= outlen) { /* one line, no terminal escapes, nothing shown reversed */
            out[o++] = '?';
            i += skip;
            continue;
        }
        memcpy(out + o, s + i, len);
        o += len, i += len;
    }
    out[o] = 0;
    return i;
}

void mk_plugin_redact(const mk_plugin *pl, const char *s, char *out, size_t outlen)
{
    redact_n(pl, s, strlen(s), (size_t)-1, out, outlen);
}

bool mk_plugin_leaks(const mk_plugin *pl, const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        size_t n = json_string_length(v);
        for (size_t j = 0; j < pl->nsecrets; j++)
            if (pl->secrets[j] && memmem(t, n, pl->secrets[j], strlen(pl->secrets[j])))
                return true;
    }
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, x) {
            json_t *key = json_string(k);
            bool in = mk_plugin_leaks(pl, key) || mk_plugin_leaks(pl, x);
            json_decref(key);
            if (in)
                return true;
        }
    if (json_is_array(v))
        json_array_foreach(v, i, x) if (mk_plugin_leaks(pl, x)) return true;
    return false;
}

static void log_red(mk_plugin *pl, const char *red)
{
    if (++pl->elines > ERR_LINES) {
        if (pl->elines == ERR_LINES + 1)
            red = "(more on stderr than the log takes: the rest of this call's is dropped)";
        else
            return;
    }
    if (pl->log)
        pl->log(pl->log_ctx, red);
    else
        fprintf(stderr, "plugin %s: %s\n", pl->name, red);
}

/* The line read so far, logged: all of it (whole), or a piece of
 * ERR_LINE bytes when it is longer. A piece is redacted before it is cut,
 * and ends past any granted value that begins in it, so no value is split
 * between two pieces; the rest waits for the next. */
static void log_ebuf(mk_plugin *pl, bool whole)
{
    char red[3 * ERR_LINE + 64];
    size_t took = redact_n(pl, pl->ebuf, pl->elen, whole ? pl->elen : ERR_LINE, red, sizeof red);
    if (!whole && took < ERR_LINE)
        took = ERR_LINE; /* (the log line was full: the rest of the piece is dropped) */
    if (took > pl->elen)
        took = pl->elen;
    log_red(pl, red);
    memmove(pl->ebuf, pl->ebuf + took, pl->elen - took);
    pl->elen -= took;
}

/* Whatever stderr holds now, logged by whole lines (a line longer than
 * ERR_LINE is logged in pieces). eof: the rest too. */
static void drain_err(mk_plugin *pl, bool eof)
{
    char chunk[4096];
    ssize_t r;
    size_t taken = 0;
    while (pl->err >= 0 && taken < (eof ? 4 * ERR_DRAIN : ERR_DRAIN) && (r = read(pl->err, chunk, sizeof chunk)) > 0) {
        taken += (size_t)r;
        for (ssize_t i = 0; i < r; i++) {
            if (chunk[i] == '\n') {
                log_ebuf(pl, true);
                while (pl->elen)
                    log_ebuf(pl, true);
                continue;
            }
            pl->ebuf[pl->elen++] = chunk[i];
            if (pl->elen == pl->ecap)
                log_ebuf(pl, false);
        }
    }
    if (eof)
        while (pl->elen)
            log_ebuf(pl, true);
}

void mk_plugin_stop(mk_plugin *pl)
{
    if (pl->pid > 0) {
        kill(-pl->pid, SIGKILL);
        kill(pl->pid, SIGKILL);
        while (waitpid(pl->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    drain_err(pl, true);
    if (pl->in >= 0)
        close(pl->in);
    if (pl->out >= 0)
        close(pl->out);
    if (pl->err >= 0)
        close(pl->err);
    pl->in = pl->out = pl->err = -1;
    pl->pid = 0;
    pl->blen = 0;
    json_decref(pl->hello);
    pl->hello = NULL;
}

static bool make_home(mk_plugin *pl, char *why, size_t whylen)
{
    if (pl->home[0])
        return true;
    const char *t = getenv("TMPDIR");
    snprintf(pl->home, sizeof pl->home, "%s/moksha-plugin-XXXXXX", t && *t && strlen(t) < 32 ? t : "/tmp");
    if (!mkdtemp(pl->home)) {
        snprintf(why, whylen, "plugin %s: cannot make its home directory: %s", pl->name, strerror(errno));
        pl->home[0] = 0;
        return false;
    }
    return true;
}

/* The folder may not have changed since it was allowed: checked at every
 * start, so a plugin rewritten while an apply runs is not started again. */
static bool folder_still_allowed(mk_plugin *pl, char *why, size_t whylen)
{
    struct stat st;
    if (stat(pl->dir, &st) == 0 && (st.st_mode & 022))
        return snprintf(why, whylen, "plugin %s: its folder %s can be written by others than its owner (mode %03o): "
                        "not run", pl->name, pl->dir, (unsigned)(st.st_mode & 0777)), false;
    if (!pl->digest)
        return true;
    char d[80], w[512];
    if (!mk_plugin_digest(pl->dir, d, w, sizeof w))
        return snprintf(why, whylen, "plugin %s: %s", pl->name, w), false;
    if (strcmp(d, pl->digest) != 0)
        return snprintf(why, whylen, "plugin %s: its folder %s changed since it was allowed (digest %s, allowed %s): "
                        "not run", pl->name, pl->dir, d, pl->digest), false;
    return true;
}

static bool spawn(mk_plugin *pl, char *why, size_t whylen)
{
    char exe[PATH_MAX + 8];
    snprintf(exe, sizeof exe, "%s/plugin", pl->dir);
    if (access(exe, X_OK) != 0)
        return snprintf(why, whylen, "plugin %s: %s is not an executable file", pl->name, exe), false;
    if (!folder_still_allowed(pl, why, whylen) || !make_home(pl, why, whylen))
        return false;
    char home[96];
    snprintf(home, sizeof home, "HOME=%s", pl->home);
    char *envp[pl->nenv + 5];
    size_t k = 0;
    envp[k++] = "PATH=/usr/bin:/bin";
    envp[k++] = home;
    envp[k++] = "LANG=C";
    for (size_t i = 0; i < pl->nenv; i++)
        envp[k++] = pl->env[i];
    envp[k] = NULL;
    char *argv[] = {exe, NULL};
    int pin[2], pout[2], perr[2];
    if (pipe2(pin, O_CLOEXEC) != 0)
        return snprintf(why, whylen, "plugin %s: pipe: %s", pl->name, strerror(errno)), false;
    if (pipe2(pout, O_CLOEXEC) != 0) {
        close(pin[0]), close(pin[1]);
        return snprintf(why, whylen, "plugin %s: pipe: %s", pl->name, strerror(errno)), false;
    }
    if (pipe2(perr, O_CLOEXEC) != 0) {
        close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
        return snprintf(why, whylen, "plugin %s: pipe: %s", pl->name, strerror(errno)), false;
    }
    pid_t parent = getpid();
    /* the parent-death signal follows the thread that forks: only the main
     * thread lives as long as the executor (a worker's child would die with
     * its worker; its stdin's end-of-file tells it instead) */
    bool main_thread = gettid() == parent;
    pid_t pid = fork();
    if (pid == 0) { /* only async-signal-safe calls from here */
        if (main_thread && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent))
            _exit(126);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); /* no setuid program raises what it runs as */
        setpgid(0, 0);
        dup2(pin[0], 0), dup2(pout[1], 1), dup2(perr[1], 2);
        closefrom(3);
        if (chdir(pl->home) != 0)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execve(exe, argv, envp);
        _exit(127);
    }
    close(pin[0]), close(pout[1]), close(perr[1]);
    if (pid < 0) {
        close(pin[1]), close(pout[0]), close(perr[0]);
        return snprintf(why, whylen, "plugin %s: fork: %s", pl->name, strerror(errno)), false;
    }
    setpgid(pid, pid); /* (either side may win the race; both ask the same) */
    pl->pid = pid, pl->in = pin[1], pl->out = pout[0], pl->err = perr[0];
    fcntl(pl->in, F_SETFL, O_NONBLOCK);
    fcntl(pl->out, F_SETFL, O_NONBLOCK);
    fcntl(pl->err, F_SETFL, O_NONBLOCK);
    pl->starts++;
    return true;
}

/* All of s into its stdin by the deadline, its stderr drained meanwhile (a
 * plugin that writes stderr before it reads cannot deadlock the two). */
static mk_plugin_status write_all(mk_plugin *pl, const char *s, size_t n, double deadline, char *why, size_t whylen)
{
    while (n) {
        ssize_t w = write(pl->in, s, n);
        if (w > 0) {
            s += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return snprintf(why, whylen, "plugin %s: cannot write to its stdin (it exited?): %s", pl->name,
                            strerror(errno)), MK_PLUGIN_BROKEN;
        double left = deadline - mk_clock_now_ms();
        if (left <= 0)
            return snprintf(why, whylen, "plugin %s: does not read its stdin within %.0f ms: it hangs (killed; the "
                            "next call starts it again)", pl->name, pl->timeout_ms), MK_PLUGIN_BROKEN;
        struct pollfd fds[2] = {{pl->in, POLLOUT, 0}, {pl->err, POLLIN, 0}};
        int r = poll(fds, pl->err >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left + 1);
        if (r < 0 && errno != EINTR)
            return snprintf(why, whylen, "plugin %s: poll: %s", pl->name, strerror(errno)), MK_PLUGIN_BROKEN;
        if (r > 0 && pl->err >= 0 && fds[1].revents)
            drain_err(pl, false);
        if (r > 0 && (fds[0].revents & (POLLERR | POLLHUP)) && !(fds[0].revents & POLLOUT))
            return snprintf(why, whylen, "plugin %s: cannot write to its stdin (it exited?)", pl->name),
                   MK_PLUGIN_BROKEN;
    }
    return MK_PLUGIN_OK;
}

/* One line of stdout into *line (owned), by the deadline. */
static mk_plugin_status read_line(mk_plugin *pl, double deadline, char **line, char *why, size_t whylen)
{
    for (;;) {
        char *nl = pl->blen ? memchr(pl->buf, '\n', pl->blen) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - pl->buf);
            *line = malloc(n + 1);
            if (!*line)
                return snprintf(why, whylen, "out of memory"), MK_PLUGIN_BROKEN;
            memcpy(*line, pl->buf, n);
            (*line)[n] = 0;
            memmove(pl->buf, nl + 1, pl->blen - n - 1);
            pl->blen -= n + 1;
            return MK_PLUGIN_OK;
        }
        if (pl->blen >= LINE_MAX_BYTES)
            return snprintf(why, whylen, "plugin %s: a line of more than %u bytes on stdout", pl->name, LINE_MAX_BYTES),
                   MK_PLUGIN_BROKEN;
        double left = deadline - mk_clock_now_ms();
        if (left <= 0)
            return snprintf(why, whylen, "plugin %s: no answer within %.0f ms: it hangs (killed; the next call starts "
                            "it again)", pl->name, pl->timeout_ms), MK_PLUGIN_BROKEN;
        struct pollfd fds[2] = {{pl->out, POLLIN, 0}, {pl->err, POLLIN, 0}};
        int r = poll(fds, pl->err >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left + 1);
        if (r < 0 && errno != EINTR)
            return snprintf(why, whylen, "plugin %s: poll: %s", pl->name, strerror(errno)), MK_PLUGIN_BROKEN;
        if (r <= 0)
            continue;
        if (fds[1].revents)
            drain_err(pl, false);
        if (!fds[0].revents)
            continue;
        if (pl->bcap - pl->blen < 65536) {
            size_t nc = pl->bcap ? pl->bcap * 2 : 131072;
            char *b = realloc(pl->buf, nc);
            if (!b)
                return snprintf(why, whylen, "out of memory"), MK_PLUGIN_BROKEN;
            pl->buf = b, pl->bcap = nc;
        }
        ssize_t got = read(pl->out, pl->buf + pl->blen, pl->bcap - pl->blen);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0) {
            int st = 0;
            pid_t w = 0;
            drain_err(pl, false);
            /* its stdout closed: it is exiting, or it closed it and lives on
             * (then mk_plugin_stop kills it): never wait on it unbounded */
            for (int i = 0; i < 20 && (w = waitpid(pl->pid, &st, WNOHANG)) == 0; i++)
                mk_clock_sleep_ms(5);
            if (w == pl->pid) {
                pl->pid = 0;
                if (WIFSIGNALED(st))
                    return snprintf(why, whylen, "plugin %s: crashed (killed by signal %d) before answering", pl->name,
                                    WTERMSIG(st)), MK_PLUGIN_BROKEN;
                return snprintf(why, whylen, "plugin %s: exited (status %d) before answering", pl->name,
                                WEXITSTATUS(st)), MK_PLUGIN_BROKEN;
            }
            return snprintf(why, whylen, "plugin %s: closed its stdout before answering", pl->name), MK_PLUGIN_BROKEN;
        }
        pl->blen += (size_t)got;
    }
}

/* The next message: one JSON object per line. */
static mk_plugin_status read_msg(mk_plugin *pl, double deadline, json_t **msg, char *why, size_t whylen)
{
    char *line = NULL;
    mk_plugin_status st = read_line(pl, deadline, &line, why, whylen);
    if (st != MK_PLUGIN_OK)
        return st;
    json_error_t e;
    *msg = json_loads(line, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(*msg)) {
        /* redacted first, then cut: no granted value is shown cut apart */
        size_t ln = strlen(line);
        char red[160];
        size_t upto = redact_n(pl, line, ln, 80, red, sizeof red);
        snprintf(why, whylen, "plugin %s: printed %s on stdout, not a JSON object (\"%s%s\"): every line it writes "
                 "there is one message", pl->name, *msg ? "JSON" : "invalid JSON", red, upto < ln ? "…" : "");
        json_decref(*msg);
        *msg = NULL;
        st = MK_PLUGIN_BROKEN;
    }
    free(line);
    return st;
}

static mk_plugin_status send_msg(mk_plugin *pl, json_t *msg, double deadline, char *why, size_t whylen)
{
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return snprintf(why, whylen, "out of memory"), MK_PLUGIN_BROKEN;
    size_t n = strlen(s);
    mk_plugin_status st = write_all(pl, s, n, deadline, why, whylen);
    if (st == MK_PLUGIN_OK)
        st = write_all(pl, "\n", 1, deadline, why, whylen);
    OPENSSL_cleanse(s, n); /* it may hold a secret the plugin needs */
    free(s);
    return st;
}

static double deadline_of(const mk_plugin *pl, double deadline_ms)
{
    double d = mk_clock_now_ms() + pl->timeout_ms;
    return deadline_ms > 0 && deadline_ms < d ? deadline_ms : d;
}

static mk_plugin_status start_locked(mk_plugin *pl, double deadline_ms, char *why, size_t whylen)
{
    if (pl->pid > 0 && pl->hello)
        return MK_PLUGIN_OK;
    mk_plugin_stop(pl);
    if (!spawn(pl, why, whylen))
        return MK_PLUGIN_REFUSED;
    double deadline = deadline_of(pl, deadline_ms);
    json_t *hi = json_pack("{si s[i] ss sO}", "moksha_plugin", MK_PLUGIN_PROTOCOL, "versions", MK_PLUGIN_PROTOCOL,
                           "plugin", pl->name, "settings", pl->settings);
    mk_plugin_status st = hi ? send_msg(pl, hi, deadline, why, whylen) : MK_PLUGIN_BROKEN;
    json_decref(hi);
    json_t *back = NULL;
    if (st == MK_PLUGIN_OK)
        st = read_msg(pl, deadline, &back, why, whylen);
    if (st == MK_PLUGIN_OK) {
        json_t *v = json_object_get(back, "moksha_plugin");
        json_t *ops = json_object_get(back, "operations");
        if (!json_is_integer(v))
            st = MK_PLUGIN_BROKEN, snprintf(why, whylen, "plugin %s: its first line is not the handshake "
                                            "{\"moksha_plugin\": %d, …}", pl->name, MK_PLUGIN_PROTOCOL);
        else if (json_integer_value(v) != MK_PLUGIN_PROTOCOL)
            st = MK_PLUGIN_BROKEN, snprintf(why, whylen, "plugin %s: speaks protocol version %lld; this executor "
                                            "speaks %d", pl->name, (long long)json_integer_value(v), MK_PLUGIN_PROTOCOL);
        else if (ops && !json_is_array(ops))
            st = MK_PLUGIN_BROKEN, snprintf(why, whylen, "plugin %s: its handshake's \"operations\" is not a list",
                                            pl->name);
    }
    if (st != MK_PLUGIN_OK) {
        json_decref(back);
        mk_plugin_stop(pl);
        return st;
    }
    pl->hello = back;
    return MK_PLUGIN_OK;
}

mk_plugin_status mk_plugin_start(mk_plugin *pl, double deadline_ms, json_t **hello, char *why, size_t whylen)
{
    pthread_mutex_lock(&pl->mu);
    mk_plugin_status st = start_locked(pl, deadline_ms, why, whylen);
    if (hello) /* a copy: the handshake itself is freed by whichever thread next finds the process broken */
        *hello = st == MK_PLUGIN_OK ? json_deep_copy(pl->hello) : NULL;
    pthread_mutex_unlock(&pl->mu);
    return st;
}

bool mk_plugin_offers(mk_plugin *pl, const char *op)
{
    pthread_mutex_lock(&pl->mu);
    bool yes = false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(pl->hello, "operations"), i, v)
        yes = yes || (json_is_string(v) && strcmp(json_string_value(v), op) == 0);
    pthread_mutex_unlock(&pl->mu);
    return yes;
}

/* Its answer to request id, as the protocol says. */
static mk_plugin_status judge(mk_plugin *pl, json_t *msg, long long id, json_t **result, char *why, size_t whylen)
{
    json_t *got = json_object_get(msg, "id");
    json_t *ok = json_object_get(msg, "ok");
    if (!json_is_integer(got) || json_integer_value(got) != id)
        return snprintf(why, whylen, "plugin %s: answered request %lld with %s", pl->name, id,
                        json_is_integer(got) ? "another request's id" : "no \"id\""), MK_PLUGIN_BROKEN;
    if (!json_is_boolean(ok))
        return snprintf(why, whylen, "plugin %s: its answer has no \"ok\": true or false", pl->name), MK_PLUGIN_BROKEN;
    if (json_is_true(ok)) {
        *result = json_incref(msg);
        return MK_PLUGIN_OK;
    }
    const char *m = json_string_value(json_object_get(msg, "error"));
    char red[1024];
    mk_plugin_redact(pl, m ? m : "(no message)", red, sizeof red);
    snprintf(why, whylen, "%s", red);
    return json_is_true(json_object_get(msg, "retryable")) ? MK_PLUGIN_RETRY : MK_PLUGIN_REFUSED;
}

mk_plugin_status mk_plugin_call(mk_plugin *pl, const char *op, json_t *req, double deadline_ms, json_t **result,
                                char *why, size_t whylen)
{
    *result = NULL;
    pthread_mutex_lock(&pl->mu);
    pl->elines = 0; /* (a start is part of the call: its lines count too) */
    mk_plugin_status st = start_locked(pl, deadline_ms, why, whylen);
    if (st != MK_PLUGIN_OK) {
        pthread_mutex_unlock(&pl->mu);
        return st;
    }
    long long id = ++pl->next_id;
    json_object_set_new(req, "id", json_integer(id));
    json_object_set_new(req, "op", json_string(op));
    double deadline = deadline_of(pl, deadline_ms);
    st = send_msg(pl, req, deadline, why, whylen);
    json_t *msg = NULL;
    if (st == MK_PLUGIN_OK)
        st = read_msg(pl, deadline, &msg, why, whylen);
    if (st == MK_PLUGIN_OK)
        st = judge(pl, msg, id, result, why, whylen);
    json_decref(msg);
    drain_err(pl, false);
    if (st == MK_PLUGIN_BROKEN)
        mk_plugin_stop(pl); /* a hang, a crash or nonsense: killed, and the next call starts it anew */
    pthread_mutex_unlock(&pl->mu);
    return st;
}
