/* fileio — the executor's file access: mkdir -p, a whole file read without
 * ever blocking on a FIFO, and the temp-fsync-rename write every durable
 * file of the executor goes through. */
#include "runtime/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool mk_fileio_mkdirs(const char *path)
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

bool mk_fileio_write_atomic(const char *path, const char *data, size_t n, bool durable, bool keep_prev)
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

char *mk_fileio_read(const char *path, size_t *len)
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
    /* sized from fstat, so a large file (a plan) is read in one go, not
     * copied through doubling buffers; a file that grows meanwhile still
     * reads whole */
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 2 : 4096, n = 0;
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
