/* util — clocks, randomness (getrandom), SHA-256 (OpenSSL), directories and
 * the temp-fsync-rename write every durable file of the executor goes through. */
#include "runtime/util.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double mk_exec_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void mk_exec_iso_time(char *out, size_t n)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, t.tv_nsec / 1000000);
}

void mk_exec_sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec t = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void random_bytes(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            break;
    }
    for (; got < n; got++) /* no entropy source: still unique enough for ids */
        b[got] = (uint8_t)(rand() ^ (int)mk_exec_now_ms());
}

void mk_exec_random_hex(char *out, size_t nbytes)
{
    uint8_t b[64];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    random_bytes(b, nbytes);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * nbytes] = 0;
}

double mk_exec_random01(void)
{
    uint64_t v;
    random_bytes((uint8_t *)&v, sizeof v);
    return (double)(v >> 11) / 9007199254740992.0;
}

void mk_exec_uuid(char out[37])
{
    uint8_t b[16];
    random_bytes(b, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void mk_exec_sha256_hex(const void *data, size_t n, char out[65])
{
    uint8_t d[32];
    SHA256(data, n, d);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

bool mk_exec_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return false;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

static void fsync_dir_of(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

bool mk_exec_write_atomic(const char *path, const char *data, size_t n, bool durable, bool keep_prev)
{
    char tmp[4200], prev[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(prev, sizeof prev, "%s.prev", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = true;
    for (size_t off = 0; ok && off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (errno != EINTR)
            ok = false;
    }
    ok = ok && (!durable || fsync(fd) == 0);
    ok = close(fd) == 0 && ok;
    if (ok && keep_prev) { /* the old copy stays whole: link it before replacing */
        unlink(prev);
        if (link(path, prev) != 0 && errno != ENOENT)
            ok = false;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return false;
    }
    if (durable)
        fsync_dir_of(path);
    return true;
}

void mk_exec_signals_hold(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

void mk_exec_signals_restore(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

char *mk_exec_read_file(const char *path, size_t *len)
{
    /* O_NONBLOCK: a FIFO put in a file's place must not hang the executor;
     * only a regular file is read (a directory "reads" as empty with fopen) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        int e = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        close(fd);
        errno = e;
        return NULL;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    size_t r;
    while (s && (r = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            char *t = realloc(s, cap *= 2);
            if (!t)
                free(s);
            s = t;
        }
    }
    int err = ferror(f) ? (errno ? errno : EIO) : 0; /* a directory opens, then does not read (EISDIR) */
    fclose(f);
    if (!s || err) {
        free(s);
        errno = err ? err : ENOMEM;
        return NULL;
    }
    s[n] = 0;
    if (len)
        *len = n;
    return s;
}

bool mk_exec_parse_duration(const char *s, double *ms)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    static const struct { const char *unit; double ms; } U[] = {
        {"", 1}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3},
    };
    for (size_t i = 0; i < sizeof U / sizeof *U; i++)
        if (strcmp(end, U[i].unit) == 0) {
            *ms = v * U[i].ms;
            return true;
        }
    return false;
}

/* note [plan memory]: loading a plan makes ~15 small jansson values per
 * 100 bytes of it, and on first touch every 4 KiB page of heap they land on
 * is a page fault — on a virtual machine most of the load time (a
 * 1,000-change plan: 35 ms, of which parsing is 12). So the values of the
 * plan come from one region mapped with MAP_POPULATE (filled in one call)
 * and bumped through; a free that falls in the region does nothing (the
 * plan lives until exit), any other goes to free(). Values made after the
 * load, on any thread, use malloc as before. The region is never unmapped:
 * the process ends soon after the plan is done with. */
static char *region;
static size_t region_cap;
static _Atomic size_t region_used;
static volatile bool region_on;

static void *region_malloc(size_t n)
{
    if (region_on) {
        size_t m = (n + 15) & ~(size_t)15;
        size_t at = region_used;
        if (at + m <= region_cap) {
            region_used = at + m; /* one thread loads the plan */
            return region + at;
        }
    }
    return malloc(n);
}

static void region_free(void *p)
{
    if (p && (char *)p >= region && (char *)p < region + region_cap)
        return;
    free(p);
}

void mk_exec_json_region_begin(size_t bytes)
{
    if (region) {
        region_on = true;
        return;
    }
    bytes = bytes < (1u << 20) ? 1u << 20 : bytes > (256u << 20) ? 256u << 20 : bytes;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED)
        return;
    region = m;
    region_cap = bytes;
    json_set_alloc_funcs(region_malloc, region_free);
    region_on = true;
}

void mk_exec_json_region_end(void) { region_on = false; }

static const char *json_why(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory: return "out of memory while reading it";
    case json_error_stack_overflow: return "nested deeper than 2048 levels";
    case json_error_cannot_open_file: return "cannot be opened";
    case json_error_invalid_utf8: return "not valid UTF-8";
    case json_error_premature_end_of_input: return "the JSON ends early";
    case json_error_end_of_input_expected: return "text after the end of the JSON document";
    case json_error_null_character: return "a NUL character in a string";
    case json_error_duplicate_key: return "a key appears twice in one object";
    case json_error_numeric_overflow: return "a number out of range";
    default: return "not valid JSON";
    }
}

void mk_exec_json_why(const char *what, const json_error_t *je, const char *text, size_t len, char *out, size_t n)
{
    bool blank = text != NULL;
    for (size_t i = 0; blank && i < len; i++)
        blank = text[i] && strchr(" \t\r\n", text[i]);
    if (blank)
        snprintf(out, n, "%s: empty, not a JSON document", what);
    else if (je->line > 0)
        snprintf(out, n, "%s:%d:%d: %s%s", what, je->line, je->column > 0 ? je->column : 1, json_why(je),
                 json_error_code(je) == json_error_premature_end_of_input ? " (is the file cut short?)" : "");
    else
        snprintf(out, n, "%s: %s", what, json_why(je));
}

void mk_exec_print_error(const char *why)
{
    if (strncmp(why, "error[", 6) == 0)
        fprintf(stderr, "moksha-exec: %s\n", why);
    else
        fprintf(stderr, "moksha-exec: error: %s\n", why);
}
