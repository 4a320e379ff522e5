/* atomic — replacing a file whole or not at all: the bytes go to a temp file
 * of our own beside it (same directory, so the rename cannot cross file
 * systems), which is given its mode, flushed to the disk, and renamed over
 * the file; then the directory is flushed, so the new name survives a
 * crash. A reader sees the old file or the new one, never a part. Used for
 * `moksha fmt`'s rewrites and the plan files (compiler/back/planfile.h). */
#ifndef MK_ATOMIC_H
#define MK_ATOMIC_H

#include <stdbool.h>
#include <sys/uio.h>

/* mode: the mode of the file replaced (a new file gets what fopen would
 * give it: 0666 less the umask) */
#define MK_ATOMIC_KEEP_MODE (-1)

/* Replace path with the n buffers of parts, one after the other, with the
 * given mode (or MK_ATOMIC_KEEP_MODE). False with errno set when a step
 * fails: path is then as it was (unless only the directory's flush failed,
 * after the rename). No temp file is left either way. */
bool mk_atomic_write(const char *path, const struct iovec *parts, int n, int mode);

#endif
