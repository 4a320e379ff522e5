/* atomic — one way to replace a file (atomic.h). Not for appending or for
 * files others write at the same time: the last rename wins. */
#include "compiler/base/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/mem.h"

static mode_t mode_for(const char *path, int mode)
{
    struct stat st;
    if (mode >= 0)
        return (mode_t)mode;
    if (stat(path, &st) == 0) /* (through a link: the mode of what it points to) */
        return st.st_mode & 07777;
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static bool write_all(int fd, const struct iovec *parts, int n)
{
    for (int i = 0; i < n; i++) {
        const char *p = parts[i].iov_base;
        for (size_t left = parts[i].iov_len; left > 0;) {
            ssize_t k = write(fd, p, left);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return false;
            p += k, left -= (size_t)k;
        }
    }
    return true;
}

/* Flush the directory that holds path, so the rename is on the disk. A
 * directory we may not open for reading is left to the file system. */
static bool sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = mk_mem_strdup(slash ? path : ".");
    if (slash)
        dir[slash == path ? 1 : slash - path] = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    mk_mem_free(dir);
    if (fd < 0)
        return true;
    bool ok = fsync(fd) == 0 || errno == EINVAL; /* (some file systems cannot flush a directory) */
    close(fd);
    return ok;
}

bool mk_atomic_write(const char *path, const struct iovec *parts, int n, int mode)
{
    /* a temp file of our own beside the target (O_EXCL: never through a
     * link someone left at a fixed name), then rename over it */
    mode_t m = mode_for(path, mode);
    size_t len = strlen(path) + 16;
    char *tmp = mk_mem_alloc(len);
    snprintf(tmp, len, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    bool ok = fd >= 0;
    if (ok) {
        ok = fchmod(fd, m) == 0 && write_all(fd, parts, n) && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok && fd >= 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    mk_mem_free(tmp);
    return ok && sync_dir(path);
}
