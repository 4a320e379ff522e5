/* state — reading and indexing moksha.state/v1. */
#include "compiler/base/state.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/intern.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"

static size_t slot_for(const mk_state *s, const char *address)
{
    size_t i = (size_t)mk_intern_hash(address, strlen(address)) & (s->cap - 1);
    while (s->slots[i].address && strcmp(s->slots[i].address, address) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* Reports E0300; always false. what begins with the path (and place). */
static bool bad(struct mk_diag *diag, const char *path, const char *what)
{
    mk_diag_item *it = mk_diag_error(diag, "E0300", MK_NOSPAN, "the state cannot be read: %s", what);
    mk_diag_help(it, "the state is written by moksha-exec; restore %s.prev, the copy kept before the last write", path);
    return false;
}

static bool bad_in(struct mk_diag *diag, const char *path, const char *what)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", path, what);
    return bad(diag, path, msg);
}

static bool index_state(mk_state *s, struct mk_diag *diag, const char *path)
{
    json_t *fmt = json_object_get(s->root, "format"), *res = json_object_get(s->root, "resources");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "moksha.state/v1") != 0)
        return bad_in(diag, path, "not a moksha.state/v1 document");
    if (!json_is_array(res))
        return bad_in(diag, path, "`resources` is not a list");
    json_t *lin = json_object_get(s->root, "lineage"), *ser = json_object_get(s->root, "serial");
    /* read as "" and 0 they would make a written state look new: its plans
     * would carry another serial and lineage than the executor reads */
    if ((lin && !json_is_string(lin)) || (ser && !(json_is_integer(ser) && json_integer_value(ser) >= 0)))
        return bad_in(diag, path, "its `lineage` is not a string, or its `serial` not a whole number >= 0");
    s->lineage = json_is_string(lin) ? json_string_value(lin) : "";
    s->serial = json_is_integer(ser) ? json_integer_value(ser) : 0;
    s->nres = json_array_size(res);
    s->res = mk_mem_calloc(s->nres + 1, sizeof *s->res);
    for (s->cap = 16; s->cap < s->nres * 2 + 2; s->cap *= 2)
        ;
    s->slots = mk_mem_calloc(s->cap, sizeof *s->slots);
    for (size_t i = 0; i < s->nres; i++) {
        json_t *r = json_array_get(res, i);
        const char *addr = json_string_value(json_object_get(r, "address"));
        if (!json_is_object(r) || !addr || !json_is_string(json_object_get(r, "type")) ||
            !json_is_object(json_object_get(r, "attributes")))
            return bad_in(diag, path, "a resource lacks its address, type or attributes");
        size_t k = slot_for(s, addr);
        if (s->slots[k].address)
            return bad_in(diag, path, "two resources have one address");
        s->slots[k].address = addr;
        s->slots[k].index = i;
        s->res[i] = r;
    }
    return true;
}

/* The file's bytes into text; false with errno set. A directory opens but
 * does not read (EISDIR). */
static bool slurp(FILE *f, mk_buf *text)
{
    /* whole file, then json_loadb: json_loadf reads a character at a time */
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mk_buf_put(text, chunk, n);
    return !ferror(f);
}

/* Only a state that is not there is "no state": a file that cannot be read
 * or parsed, a directory, a dangling link are damaged, and planning against
 * them would propose to create everything again (and destroy nothing). */
static bool absent(const char *path, int err)
{
    struct stat sb;
    return err == ENOENT && lstat(path, &sb) != 0 && errno == ENOENT;
}

/* The state file opened for reading, without blocking: a FIFO in its place
 * would hang `plan`; anything but a regular file (or a directory, which
 * fails to read with EISDIR) is refused with ENODEV. */
static FILE *open_state(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))) {
        close(fd);
        errno = ENODEV;
        return NULL;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

mk_state *mk_state_read(const char *path, struct mk_diag *diag)
{
    mk_state *s = mk_mem_calloc(1, sizeof *s);
    s->lineage = "";
    s->cap = 1;
    s->slots = mk_mem_calloc(1, sizeof *s->slots);
    FILE *f = open_state(path);
    if (!f && absent(path, errno))
        return s;
    mk_buf text = {0};
    char msg[600];
    int err = errno;
    bool read = f && slurp(f, &text);
    if (f) {
        err = errno;
        fclose(f);
    }
    if (!read) {
        snprintf(msg, sizeof msg, "%s: %s", path, err == ENOENT ? "a link to a file that does not exist"
                 : err == ENODEV ? "not a regular file" : strerror(err));
    } else {
        json_error_t je;
        s->root = json_loadb(text.data ? text.data : "", text.len, JSON_REJECT_DUPLICATES, &je);
        if (!s->root)
            mk_jsonfile_parse_error(path, &je, text.data ? text.data : "", text.len, msg, sizeof msg);
    }
    mk_buf_free(&text);
    mk_mem_free(s->slots);
    s->slots = NULL;
    if (!(s->root ? index_state(s, diag, path) : bad(diag, path, msg))) {
        mk_state_free(s);
        return NULL;
    }
    return s;
}

void mk_state_free(mk_state *s)
{
    if (!s)
        return;
    json_decref(s->root);
    mk_mem_free(s->res);
    mk_mem_free(s->slots);
    mk_mem_free(s);
}

json_t *mk_state_find(const mk_state *s, const char *address, size_t *index)
{
    if (!s || !s->root || !s->nres)
        return NULL;
    size_t k = slot_for(s, address);
    if (!s->slots[k].address)
        return NULL;
    if (index)
        *index = s->slots[k].index;
    return s->res[s->slots[k].index];
}
