/* source — the files of one compilation. Each file is read whole into memory
 * with a NUL sentinel after its last byte (the lexer relies on it) and gets a
 * small integer id that spans carry. The set owns the texts. */
#ifndef MK_SOURCE_H
#define MK_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#define MK_SOURCE_MAX_BYTES ((size_t)512 * 1024 * 1024)

typedef struct mk_span {
    uint32_t file;
    uint32_t start, end; /* byte offsets, end exclusive */
} mk_span;

typedef struct mk_source {
    char *path;   /* to read and to resolve imports against */
    char *name;   /* as the user should see it: path, or relative to the share dir */
    char *text;   /* NUL-terminated */
    size_t len;
    uint32_t *lines; /* offsets of line starts, computed on first use */
    uint32_t nlines;
} mk_source;

typedef struct mk_srcset {
    mk_source *files;
    uint32_t count, cap;
} mk_srcset;

void mk_src_init(mk_srcset *s);
void mk_src_fini(mk_srcset *s);
/* Add a file from memory; the set copies text. Returns its id. */
uint32_t mk_src_add(mk_srcset *s, const char *path, const char *text, size_t len);
/* Read a file. Returns its id, or -1 with errno set (EFBIG when too large). */
int64_t mk_src_load(mk_srcset *s, const char *path);
/* Show a file under another name (the stdlib's, relative to its share dir). */
void mk_src_rename(mk_srcset *s, uint32_t id, const char *name);
/* Id of an already loaded file with this path, or -1. */
int64_t mk_src_find(const mk_srcset *s, const char *path);
mk_source *mk_src_get(mk_srcset *s, uint32_t id);
/* 1-based line and column (columns count UTF-8 characters). */
void mk_src_linecol(mk_srcset *s, uint32_t file, uint32_t off, uint32_t *line, uint32_t *col);
/* Start offset and length of a 1-based line, without its newline. */
const char *mk_src_line(mk_srcset *s, uint32_t file, uint32_t line, size_t *len);

#endif
