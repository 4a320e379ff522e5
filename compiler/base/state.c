/* state — reading and indexing moksha.state/v1. */
#include "compiler/base/state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/intern.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/jsonfile.h"

static uint32_t hash_of(const char *address) { return (uint32_t)mk_intern_hash(address, strlen(address)); }

static size_t slot_for(const mk_state *s, const char *address, uint32_t h)
{
    size_t i = h & (s->cap - 1);
    while (s->slots[i].address && (s->slots[i].hash != h || strcmp(s->slots[i].address, address) != 0))
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

/* `fingerprint_key`, when the executor has written one: 64 lowercase hex
 * digits. */
static bool read_fp_key(mk_state *s, struct mk_diag *diag, const char *path)
{
    json_t *fk = json_object_get(s->root, "fingerprint_key");
    if (!fk)
        return true;
    const char *t = json_string_value(fk);
    bool lower = t && strspn(t, "0123456789abcdef") == json_string_length(fk); /* the executor's one spelling */
    if (!lower || !mk_key_from_hex(t, json_string_length(fk), s->fp_key, 32))
        return bad_in(diag, path, "its `fingerprint_key` is not 64 lowercase hex digits");
    return s->has_fp_key = true;
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
    if (!read_fp_key(s, diag, path))
        return false;
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
        uint32_t h = hash_of(addr);
        size_t k = slot_for(s, addr, h);
        if (s->slots[k].address)
            return bad_in(diag, path, "two resources have one address");
        s->slots[k] = (struct mk_state_slot){addr, (uint32_t)i, h};
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

/* note [state in halves]: the state of 100,000 resources is 47 MB of JSON,
 * a second and more for jansson, and the evaluation waits for it (note
 * [state beside sources] in pipeline.c). Its `resources` list is parsed in
 * halves, the second on a thread of its own, each in place: a scan finds
 * the list and the item in its middle; the document is parsed with an
 * empty list in its place (a small copy), the items before the middle one
 * as a list (its comma made `]`), that item alone, and the items after it
 * as a list (its comma made `[`), and the lists are joined. When every part
 * parses, the whole does; when one does not, or the scan finds no such
 * list, the whole text is parsed as one, for the one error jansson reports. */
#define MAX_DEPTH 1024   /* far below jansson's 2048 levels: see find_split */
#define HALVES_FROM 4096 /* items: below, a second thread costs more than it saves */

typedef struct split {
    size_t list, m1, m2, end; /* the list's `[`, the commas around its middle item, its `]` */
} split;

/* The index after the string that opens at t[i] ('"'), or len. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return len;
}

/* Where the top-level `resources` list opens and ends, and the commas
 * around its middle item; false when it has fewer than HALVES_FROM items
 * or is not there. */
static bool find_split(const char *t, size_t len, split *sp)
{
    size_t depth = 0, deepest = 0, ncomma = 0, cap = 0, *commas = NULL;
    bool key_next = false, is_res = false;
    *sp = (split){0};
    for (size_t i = 0; i < len && !sp->end; i++) {
        char c = t[i];
        if (c == '"') {
            size_t j = skip_string(t, len, i);
            if (depth == 1 && key_next)
                is_res = j - i == 11 && memcmp(t + i, "\"resources\"", 11) == 0, key_next = false;
            i = j - 1;
        } else if (c == '{' || c == '[') {
            if (depth == 1 && c == '[' && is_res && !sp->list)
                sp->list = i;
            key_next = ++depth == 1 && c == '{';
            deepest = depth > deepest ? depth : deepest;
        } else if (c == '}' || c == ']') {
            if (--depth == 1 && sp->list)
                sp->end = i;
        } else if (c == ',' && depth == 1) {
            key_next = true;
        } else if (c == ',' && depth == 2 && sp->list) {
            if (ncomma == cap)
                commas = mk_mem_realloc(commas, (cap = cap ? cap * 2 : 1024) * sizeof *commas);
            commas[ncomma++] = i;
        }
    }
    /* a part parsed alone starts shallower than in the whole, so jansson's
     * depth limit would let it go deeper: deep texts are parsed whole */
    bool ok = sp->end && ncomma + 1 >= HALVES_FROM && deepest < MAX_DEPTH;
    if (ok)
        sp->m1 = commas[ncomma / 2 - 1], sp->m2 = commas[ncomma / 2];
    mk_mem_free(commas);
    return ok;
}

typedef struct part {
    const char *text;
    size_t len;
    json_t *v;
    pthread_t th;
} part;

static void *parse_part(void *arg)
{
    part *h = arg;
    json_error_t je;
    h->v = json_loadb(h->text, h->len, JSON_REJECT_DUPLICATES, &je);
    return NULL;
}

/* The document without its list: `[]` in the list's place. */
static json_t *parse_head(const char *text, size_t len, const split *sp)
{
    size_t tail = len - sp->end - 1;
    char *head = mk_mem_alloc(sp->list + 2 + tail);
    memcpy(head, text, sp->list);
    memcpy(head + sp->list, "[]", 2);
    memcpy(head + sp->list + 2, text + sp->end + 1, tail);
    part h = {head, sp->list + 2 + tail, NULL, 0};
    parse_part(&h);
    mk_mem_free(head);
    return h.v;
}

/* The list's parts joined into the head's list; false when one is missing. */
static bool join(json_t *head, json_t *before, json_t *middle, json_t *after)
{
    if (!json_is_array(json_object_get(head, "resources")) || !before || !middle || !after)
        return false;
    return json_array_append(before, middle) == 0 && json_array_extend(before, after) == 0 &&
           json_object_set(head, "resources", before) == 0;
}

/* The document from its parts (note [state in halves]); NULL when one does
 * not parse. text is the caller's, changed meanwhile and restored. */
static json_t *parse_halves(char *text, size_t len, const split *sp)
{
    text[sp->m2] = '['; /* the second half: `[` item, …, item `]` */
    part second = {text + sp->m2, sp->end - sp->m2 + 1, NULL, 0};
    bool threaded = pthread_create(&second.th, NULL, parse_part, &second) == 0;
    json_t *head = parse_head(text, len, sp);
    text[sp->m1] = ']'; /* the first half: the list's `[` item, …, item `]` */
    part first = {text + sp->list, sp->m1 - sp->list + 1, NULL, 0};
    parse_part(&first);
    part middle = {text + sp->m1 + 1, sp->m2 - sp->m1 - 1, NULL, 0};
    parse_part(&middle);
    if (threaded)
        pthread_join(second.th, NULL);
    else
        parse_part(&second);
    text[sp->m1] = ',', text[sp->m2] = ',';
    if (!join(head, first.v, middle.v, second.v)) {
        json_decref(head);
        head = NULL;
    }
    json_decref(first.v);
    json_decref(middle.v);
    json_decref(second.v);
    return head;
}

static json_t *parse_state(char *text, size_t len, json_error_t *je)
{
    split sp;
    json_t *root = find_split(text, len, &sp) ? parse_halves(text, len, &sp) : NULL;
    return root ? root : json_loadb(text, len, JSON_REJECT_DUPLICATES, je);
}

static mk_state *empty_state(void)
{
    mk_state *s = mk_mem_calloc(1, sizeof *s);
    s->lineage = "";
    s->cap = 1;
    s->slots = mk_mem_calloc(1, sizeof *s->slots);
    return s;
}

/* The document in text (parsed in place, restored) indexed, or the error
 * msg when text is NULL; NULL once reported (E0300). */
static mk_state *parse_or_report(mk_state *s, char *text, size_t len, const char *name, const char *msg, struct mk_diag *diag)
{
    char why[600];
    if (text) {
        json_error_t je;
        s->root = parse_state(text, len, &je);
        if (!s->root)
            mk_jsonfile_parse_error(name, &je, text, len, why, sizeof why), msg = why;
    }
    mk_mem_free(s->slots); /* index_state makes them to size */
    s->slots = NULL;
    if (!(s->root ? index_state(s, diag, name) : bad(diag, name, msg))) {
        mk_state_free(s);
        return NULL;
    }
    return s;
}

mk_state *mk_state_parse(char *text, size_t len, const char *name, struct mk_diag *diag)
{
    return text ? parse_or_report(empty_state(), text, len, name, NULL, diag) : empty_state();
}

/* Open, or NULL with errno. A state that is not there when opened and is
 * there a moment later was written meanwhile (the first apply of a stack
 * running beside this plan): opened again, not taken for a dangling link
 * — which is a link, and still dangles. */
static FILE *open_present(const char *path)
{
    FILE *f = open_state(path);
    struct stat sb;
    for (int tries = 0; !f && errno == ENOENT && tries < 3; tries++) {
        if (lstat(path, &sb) != 0 || S_ISLNK(sb.st_mode)) {
            errno = ENOENT;
            return NULL;
        }
        f = open_state(path);
    }
    return f;
}

mk_state *mk_state_read(const char *path, struct mk_diag *diag)
{
    FILE *f = open_present(path);
    if (!f && absent(path, errno))
        return empty_state();
    mk_buf text = {0};
    char msg[600];
    int err = errno;
    bool read = f && slurp(f, &text);
    if (f) {
        err = errno;
        fclose(f);
    }
    if (!read)
        snprintf(msg, sizeof msg, "%s: %s", path, err == ENOENT ? "a link to a file that does not exist"
                 : err == ENODEV ? "not a regular file" : strerror(err));
    mk_state *s = parse_or_report(empty_state(), read ? (text.data ? text.data : "") : NULL, text.len, path, msg, diag);
    mk_buf_free(&text);
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
    size_t k = slot_for(s, address, hash_of(address));
    if (!s->slots[k].address)
        return NULL;
    if (index)
        *index = s->slots[k].index;
    return s->res[s->slots[k].index];
}

void mk_state_fingerprint_key(const mk_state *s, mk_key *k)
{
    k->has_fp_key = s && s->has_fp_key;
    if (k->has_fp_key)
        memcpy(k->fp_key, s->fp_key, 32);
}
