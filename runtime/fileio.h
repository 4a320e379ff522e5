/* fileio — the executor's file access: directories, whole-file reads, and
 * the temp-fsync-rename write every durable file of the executor goes
 * through. What a function returns is malloc'd where it says so. */
#ifndef MK_RUNTIME_FILEIO_H
#define MK_RUNTIME_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/* mkdir -p with mode 0755; false with errno set on failure. */
bool mk_fileio_mkdirs(const char *path);
/* Write data to path atomically: PATH.tmp, fsync (when durable), rename,
 * fsync of the directory. When keep_prev, the old file becomes PATH.prev
 * (by a hard link made before the rename). False with errno set. */
bool mk_fileio_write_atomic(const char *path, const char *data, size_t n, bool durable, bool keep_prev);
/* Whole file as a malloc'd NUL-terminated string, or NULL (errno set). */
char *mk_fileio_read(const char *path, size_t *len);

#endif
