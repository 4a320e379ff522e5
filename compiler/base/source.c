/* source — file loading and offset → line:col mapping. Line tables are built
 * lazily because most files never produce a diagnostic. */
#include "compiler/base/source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler/base/mem.h"

void mk_src_init(mk_srcset *s) { memset(s, 0, sizeof *s); }

void mk_src_fini(mk_srcset *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->files[i].name != s->files[i].path)
            mk_mem_free(s->files[i].name);
        mk_mem_free(s->files[i].path);
        mk_mem_free(s->files[i].text);
        mk_mem_free(s->files[i].lines);
    }
    mk_mem_free(s->files);
    memset(s, 0, sizeof *s);
}

static uint32_t add_owned(mk_srcset *s, const char *path, char *text, size_t len)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->files = mk_mem_realloc(s->files, s->cap * sizeof *s->files);
    }
    mk_source *f = &s->files[s->count];
    memset(f, 0, sizeof *f);
    f->path = mk_mem_strdup(path);
    f->name = f->path;
    f->text = text;
    f->len = len;
    return s->count++;
}

uint32_t mk_src_add(mk_srcset *s, const char *path, const char *text, size_t len)
{
    char *t = mk_mem_alloc(len + 1);
    memcpy(t, text, len);
    t[len] = 0;
    return add_owned(s, path, t, len);
}

int64_t mk_src_load(mk_srcset *s, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || S_ISDIR(st.st_mode)) {
        fclose(fp);
        errno = S_ISDIR(st.st_mode) ? EISDIR : errno;
        return -1;
    }
    if ((size_t)st.st_size > MK_SOURCE_MAX_BYTES) {
        fclose(fp);
        errno = EFBIG;
        return -1;
    }
    /* room for the NUL and one byte more, so that reading a file of the
     * size fstat gave ends at EOF without growing the buffer */
    size_t cap = (size_t)st.st_size + 2, len = 0;
    char *text = mk_mem_alloc(cap);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap > MK_SOURCE_MAX_BYTES) {
                mk_mem_free(text);
                fclose(fp);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            text = mk_mem_realloc(text, cap);
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        mk_mem_free(text);
        errno = EIO;
        return -1;
    }
    text[len] = 0;
    return add_owned(s, path, text, len);
}

int64_t mk_src_find(const mk_srcset *s, const char *path)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return i;
    return -1;
}

void mk_src_rename(mk_srcset *s, uint32_t id, const char *name)
{
    mk_source *f = mk_src_get(s, id);
    if (!f)
        return;
    if (f->name != f->path)
        mk_mem_free(f->name);
    f->name = mk_mem_strdup(name);
}

mk_source *mk_src_get(mk_srcset *s, uint32_t id) { return id < s->count ? &s->files[id] : NULL; }

static void build_lines(mk_source *f)
{
    uint32_t n = 1;
    for (size_t i = 0; i < f->len; i++)
        n += f->text[i] == '\n';
    f->lines = mk_mem_alloc(n * sizeof *f->lines);
    f->lines[0] = 0;
    uint32_t k = 1;
    for (size_t i = 0; i < f->len; i++)
        if (f->text[i] == '\n')
            f->lines[k++] = (uint32_t)i + 1;
    f->nlines = n;
}

void mk_src_linecol(mk_srcset *s, uint32_t file, uint32_t off, uint32_t *line, uint32_t *col)
{
    mk_source *f = mk_src_get(s, file);
    if (!f) {
        *line = *col = 0;
        return;
    }
    if (!f->lines)
        build_lines(f);
    if (off > f->len)
        off = (uint32_t)f->len;
    uint32_t lo = 0, hi = f->nlines;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (f->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t c = 1;
    for (uint32_t i = f->lines[lo]; i < off; i++)
        c += ((unsigned char)f->text[i] & 0xC0) != 0x80;
    *line = lo + 1;
    *col = c;
}

const char *mk_src_line(mk_srcset *s, uint32_t file, uint32_t line, size_t *len)
{
    mk_source *f = mk_src_get(s, file);
    if (!f || line == 0) {
        *len = 0;
        return "";
    }
    if (!f->lines)
        build_lines(f);
    if (line > f->nlines) {
        *len = 0;
        return "";
    }
    uint32_t start = f->lines[line - 1];
    uint32_t end = line < f->nlines ? f->lines[line] - 1 : (uint32_t)f->len;
    if (end > start && f->text[end - 1] == '\r')
        end--;
    *len = end - start;
    return f->text + start;
}
