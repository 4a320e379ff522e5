/* diag — collection, ordering and rendering of diagnostics. */
#include "compiler/base/diag.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/intern.h"
#include "compiler/base/mem.h"

const mk_span MK_NOSPAN = {UINT32_MAX, 0, 0};

typedef struct note {
    mk_span at;
    char *text;
    bool help;
} note;

struct mk_diag_item {
    mk_diag_level level;
    const char *code;
    mk_span at;
    char *msg;
    char *label;
    note *notes;
    int nnotes;
    size_t seq;
    bool dup;
    bool shown; /* printed as text already: a later print says only what is new */
};

struct mk_diag {
    mk_srcset *src;
    mk_diag_item **items;
    size_t count, cap;
    int errors, warnings, limit;
    mk_diag_item sink; /* receives reports beyond the limit, and repeats */
    mk_diag_item **seen; /* hash set of items by place and code: repeats are dropped */
    size_t seen_cap;
    int reports;         /* error reports, repeats included */
    const char *last_code; /* the last error reported, repeats included */
    char *last_msg;
    mk_span last_at;
};

mk_diag *mk_diag_new(mk_srcset *src)
{
    mk_diag *d = mk_mem_calloc(1, sizeof *d);
    d->src = src;
    d->limit = 100;
    return d;
}

static void free_item(mk_diag_item *it)
{
    mk_mem_free(it->msg);
    mk_mem_free(it->label);
    for (int i = 0; i < it->nnotes; i++)
        mk_mem_free(it->notes[i].text);
    mk_mem_free(it->notes);
}

void mk_diag_free(mk_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->count; i++) {
        free_item(d->items[i]);
        mk_mem_free(d->items[i]);
    }
    free_item(&d->sink);
    mk_mem_free(d->items);
    mk_mem_free(d->seen);
    mk_mem_free(d->last_msg);
    mk_mem_free(d);
}

static size_t seen_slot(const mk_diag *d, mk_span at, const char *code, const char *msg)
{
    size_t h = ((size_t)at.file * 31 + at.start) * 31 + at.end;
    h = h * 31 + (code ? (size_t)mk_intern_hash(code, strlen(code)) : 0);
    size_t i = h & (d->seen_cap - 1);
    for (mk_diag_item *it; (it = d->seen[i]); i = (i + 1) & (d->seen_cap - 1))
        if (it->at.file == at.file && it->at.start == at.start && it->at.end == at.end &&
            strcmp(it->code ? it->code : "", code ? code : "") == 0 && strcmp(it->msg, msg) == 0)
            return i;
    return i;
}

/* Count instances repeat a mistake at one place: record it once. */
static bool repeat(mk_diag *d, mk_diag_item *it)
{
    if ((d->count + 1) * 2 > d->seen_cap) {
        mk_diag_item **old = d->seen;
        size_t oc = d->seen_cap;
        d->seen_cap = oc ? oc * 2 : 64;
        d->seen = mk_mem_calloc(d->seen_cap, sizeof *d->seen);
        for (size_t i = 0; i < oc; i++)
            if (old[i])
                d->seen[seen_slot(d, old[i]->at, old[i]->code, old[i]->msg)] = old[i];
        mk_mem_free(old);
    }
    size_t k = seen_slot(d, it->at, it->code, it->msg);
    if (d->seen[k])
        return true;
    d->seen[k] = it;
    return false;
}

/* A message longer than this is cut (at a character boundary, marked `…`):
 * whatever a message quotes, a diagnostic stays a few lines long. */
#define MSG_MAX 1024

static char *vfmt(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *s = mk_mem_alloc((size_t)n + sizeof "…"); /* room for the mark after MSG_MAX bytes */
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    if ((size_t)n > MSG_MAX) {
        size_t k = MSG_MAX;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        memcpy(s + k, "…", sizeof "…");
    }
    return s;
}

mk_diag_item *mk_diag_report(mk_diag *d, mk_diag_level lvl, const char *code, mk_span at,
                             const char *fmt, ...)
{
    free_item(&d->sink);
    memset(&d->sink, 0, sizeof d->sink);
    if (lvl == MK_DIAG_ERROR) {
        d->reports++;
        d->last_code = code;
        d->last_at = at;
        mk_mem_free(d->last_msg);
        d->last_msg = NULL;
    }
    if (d->count >= (size_t)d->limit) { /* counted, not kept (nor de-duplicated) */
        d->errors += lvl == MK_DIAG_ERROR;
        d->warnings += lvl == MK_DIAG_WARNING;
        return &d->sink;
    }
    mk_diag_item *it = mk_mem_calloc(1, sizeof *it);
    it->level = lvl;
    it->code = code;
    it->at = at;
    it->seq = d->count;
    va_list ap;
    va_start(ap, fmt);
    it->msg = vfmt(fmt, ap);
    va_end(ap);
    if (lvl == MK_DIAG_ERROR)
        d->last_msg = mk_mem_strdup(it->msg);
    if (repeat(d, it)) {
        free_item(it);
        mk_mem_free(it);
        return &d->sink;
    }
    d->errors += lvl == MK_DIAG_ERROR;
    d->warnings += lvl == MK_DIAG_WARNING;
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->items = mk_mem_realloc(d->items, d->cap * sizeof *d->items);
    }
    d->items[d->count++] = it;
    return it;
}

void mk_diag_label(mk_diag_item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mk_mem_free(it->label);
    it->label = vfmt(fmt, ap);
    va_end(ap);
}

static void add_note(mk_diag_item *it, mk_span at, bool help, const char *fmt, va_list ap)
{
    it->notes = mk_mem_realloc(it->notes, (size_t)(it->nnotes + 1) * sizeof *it->notes);
    note *n = &it->notes[it->nnotes++];
    n->at = at;
    n->help = help;
    n->text = vfmt(fmt, ap);
}

void mk_diag_help(mk_diag_item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_note(it, MK_NOSPAN, true, fmt, ap);
    va_end(ap);
}

void mk_diag_note(mk_diag_item *it, mk_span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_note(it, at, false, fmt, ap);
    va_end(ap);
}

void mk_diag_take(mk_diag *to, mk_diag *from)
{
    int kept_errors = 0, kept_warnings = 0;
    for (size_t i = 0; i < from->count; i++) {
        mk_diag_item *it = from->items[i];
        bool err = it->level == MK_DIAG_ERROR, warn = it->level == MK_DIAG_WARNING;
        kept_errors += err, kept_warnings += warn;
        bool full = to->count >= (size_t)to->limit; /* counted, not kept, as in mk_diag_report */
        if (full || repeat(to, it)) {
            to->errors += full && err, to->warnings += full && warn;
            free_item(it);
            mk_mem_free(it);
            continue;
        }
        it->seq = to->count;
        to->errors += err, to->warnings += warn;
        if (to->count == to->cap) {
            to->cap = to->cap ? to->cap * 2 : 16;
            to->items = mk_mem_realloc(to->items, to->cap * sizeof *to->items);
        }
        to->items[to->count++] = it;
    }
    to->errors += from->errors - kept_errors; /* beyond from's limit: counted there only */
    to->warnings += from->warnings - kept_warnings;
    from->count = 0;
    from->errors = from->warnings = 0;
    mk_mem_free(from->seen);
    from->seen = NULL;
    from->seen_cap = 0;
}

int mk_diag_errors(const mk_diag *d) { return d->errors; }
int mk_diag_reports(const mk_diag *d) { return d->reports; }

bool mk_diag_last_error(const mk_diag *d, const char **code, const char **msg, mk_span *at)
{
    if (!d->reports)
        return false;
    *code = d->last_code;
    *msg = d->last_msg;
    *at = d->last_at;
    return true;
}
int mk_diag_warnings(const mk_diag *d) { return d->warnings; }

int mk_diag_count(const mk_diag *d, const char *code)
{
    int n = 0;
    for (size_t i = 0; i < d->count; i++)
        n += d->items[i]->code && strcmp(d->items[i]->code, code) == 0;
    return n;
}
void mk_diag_set_limit(mk_diag *d, int max) { d->limit = max; }

static int cmp_items(const void *pa, const void *pb)
{
    const mk_diag_item *a = *(mk_diag_item *const *)pa, *b = *(mk_diag_item *const *)pb;
    if (a->at.file != b->at.file)
        return a->at.file < b->at.file ? -1 : 1;
    if (a->at.start != b->at.start)
        return a->at.start < b->at.start ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort by place and mark repeats of the same code, place and message. */
static void order(mk_diag *d)
{
    if (d->count > 1)
        qsort(d->items, d->count, sizeof *d->items, cmp_items);
    for (size_t i = 1; i < d->count; i++) {
        mk_diag_item *a = d->items[i - 1], *b = d->items[i];
        if (a->at.file == b->at.file && a->at.start == b->at.start && a->at.end == b->at.end &&
            strcmp(a->code ? a->code : "", b->code ? b->code : "") == 0 && strcmp(a->msg, b->msg) == 0)
            b->dup = true;
    }
}

static const char *level_name(mk_diag_level l)
{
    return l == MK_DIAG_ERROR ? "error" : l == MK_DIAG_WARNING ? "warning" : "note";
}

typedef struct {
    const char *bold, *red, *yellow, *blue, *cyan, *reset;
} palette;

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* note [caret window]: a source line can be megabytes long (a minified
 * blob, a huge string literal). A line of up to SNIP_WHOLE characters is
 * printed whole; a longer one is cut to SNIP_SIDE characters either side of
 * the caret, with `…` where text was left out, and the caret itself to
 * SNIP_CARET characters, so no diagnostic prints more than a few hundred
 * bytes of source whatever the input. */
#define SNIP_WHOLE 160
#define SNIP_SIDE 40
#define SNIP_CARET 80

/* Step n UTF-8 characters back from i (not before lo) or forward (not past hi). */
static size_t chars_back(const char *t, size_t i, size_t lo, size_t n)
{
    while (i > lo && n > 0) {
        i--;
        if (((unsigned char)t[i] & 0xC0) != 0x80)
            n--;
    }
    while (i > lo && ((unsigned char)t[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static size_t chars_fwd(const char *t, size_t i, size_t hi, size_t n)
{
    while (i < hi && n > 0) {
        i++;
        while (i < hi && ((unsigned char)t[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}

/* The source line, then a caret line under [start, end) clipped to the line,
 * both cut to a window around the caret on a long line (note [caret window]). */
static void snippet(mk_diag *d, FILE *out, mk_span at, const char *label, const palette *p,
                    const char *hl)
{
    uint32_t line, col;
    mk_src_linecol(d->src, at.file, at.start, &line, &col);
    size_t len;
    const char *text = mk_src_line(d->src, at.file, line, &len);
    size_t lstart = (size_t)(text - mk_src_get(d->src, at.file)->text);
    size_t off = at.start - lstart;
    if (off > len)
        off = len;
    size_t end = at.end > at.start ? at.end - lstart : off + 1;
    if (end > len)
        end = len > off ? len : off;
    size_t from = 0, to = len;
    if (utf8_chars(text, len) > SNIP_WHOLE) {
        from = chars_back(text, off, 0, SNIP_SIDE);
        size_t cend = chars_fwd(text, off, len, SNIP_CARET);
        if (end > cend)
            end = cend;
        to = chars_fwd(text, end, len, SNIP_SIDE);
    }
    const char *pre = from > 0 ? "…" : "", *post = to < len ? "…" : "";
    fprintf(out, "%s%5u |%s %s%.*s%s\n", p->blue, line, p->reset, pre, (int)(to - from), text + from, post);
    fprintf(out, "%s      |%s %s", p->blue, p->reset, from > 0 ? " " : "");
    for (size_t i = from; i < off; i++) {
        if (((unsigned char)text[i] & 0xC0) == 0x80)
            continue;
        fputc(text[i] == '\t' ? '\t' : ' ', out);
    }
    size_t carets = end > off ? utf8_chars(text + off, end - off) : 0;
    if (carets == 0)
        carets = 1;
    fputs(hl, out);
    for (size_t i = 0; i < carets; i++)
        fputc('^', out);
    if (label)
        fprintf(out, " %s", label);
    fprintf(out, "%s\n", p->reset);
}

static void print_text(mk_diag *d, FILE *out, bool color, bool only_new)
{
    static const palette plain = {"", "", "", "", "", ""};
    static const palette ansi = {"\033[1m", "\033[1;31m", "\033[1;33m", "\033[1;34m", "\033[1;36m", "\033[0m"};
    const palette *p = color ? &ansi : &plain;
    for (size_t i = 0; i < d->count; i++) {
        mk_diag_item *it = d->items[i];
        if (it->dup || (only_new && it->shown))
            continue;
        it->shown = true;
        const char *lc = it->level == MK_DIAG_ERROR ? p->red : it->level == MK_DIAG_WARNING ? p->yellow : p->cyan;
        bool has_loc = it->at.file != UINT32_MAX && mk_src_get(d->src, it->at.file);
        if (has_loc) {
            uint32_t line, col;
            mk_src_linecol(d->src, it->at.file, it->at.start, &line, &col);
            fprintf(out, "%s%s:%u:%u:%s ", p->bold, mk_src_get(d->src, it->at.file)->name, line, col, p->reset);
        } else {
            fprintf(out, "%smoksha:%s ", p->bold, p->reset);
        }
        fprintf(out, "%s%s", lc, level_name(it->level));
        if (it->code)
            fprintf(out, "[%s]", it->code);
        fprintf(out, ":%s %s%s%s\n", p->reset, p->bold, it->msg, p->reset);
        if (has_loc)
            snippet(d, out, it->at, it->label, p, lc);
        for (int k = 0; k < it->nnotes; k++) {
            note *n = &it->notes[k];
            if (n->at.file != UINT32_MAX && mk_src_get(d->src, n->at.file)) {
                uint32_t line, col;
                mk_src_linecol(d->src, n->at.file, n->at.start, &line, &col);
                fprintf(out, "%s%s:%u:%u:%s %snote:%s %s\n", p->bold, mk_src_get(d->src, n->at.file)->name,
                        line, col, p->reset, p->cyan, p->reset, n->text);
                snippet(d, out, n->at, NULL, p, p->cyan);
            } else {
                fprintf(out, "      %s=%s %s%s:%s %s\n", p->blue, p->reset, p->bold,
                        n->help ? "help" : "note", p->reset, n->text);
            }
        }
    }
}

static json_t *loc_json(mk_diag *d, mk_span at)
{
    if (at.file == UINT32_MAX || !mk_src_get(d->src, at.file))
        return json_null();
    uint32_t l1, c1, l2, c2;
    mk_src_linecol(d->src, at.file, at.start, &l1, &c1);
    mk_src_linecol(d->src, at.file, at.end > at.start ? at.end : at.start, &l2, &c2);
    return json_pack("{s:s, s:i, s:i, s:i, s:i}", "file", mk_src_get(d->src, at.file)->name, "line",
                     (json_int_t)l1, "column", (json_int_t)c1, "end_line", (json_int_t)l2,
                     "end_column", (json_int_t)c2);
}

static void print_json(mk_diag *d, FILE *out)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->count; i++) {
        mk_diag_item *it = d->items[i];
        if (it->dup)
            continue;
        json_t *o = json_pack("{s:s, s:s?, s:s, s:o}", "severity", level_name(it->level), "code", it->code,
                              "message", it->msg, "location", loc_json(d, it->at));
        if (it->label)
            json_object_set_new(o, "label", json_string(it->label));
        json_t *helps = json_array(), *notes = json_array();
        for (int k = 0; k < it->nnotes; k++) {
            note *n = &it->notes[k];
            if (n->help)
                json_array_append_new(helps, json_string(n->text));
            else
                json_array_append_new(notes, json_pack("{s:s, s:o}", "message", n->text, "location", loc_json(d, n->at)));
        }
        json_object_set_new(o, "help", helps);
        json_object_set_new(o, "notes", notes);
        json_array_append_new(arr, o);
    }
    json_t *doc = json_pack("{s:s, s:i, s:i, s:o}", "format", "moksha.diagnostics/v1", "errors",
                            (json_int_t)d->errors, "warnings", (json_int_t)d->warnings, "diagnostics", arr);
    json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(doc);
}

void mk_diag_print(mk_diag *d, FILE *out, mk_diag_format fmt, bool color)
{
    order(d);
    if (fmt == MK_DIAG_JSON)
        print_json(d, out);
    else
        print_text(d, out, color, false);
    size_t shown = d->count;
    if (fmt == MK_DIAG_TEXT && (size_t)d->errors + (size_t)d->warnings > shown)
        fprintf(out, "moksha: %zu more diagnostics not shown\n", (size_t)d->errors + (size_t)d->warnings - shown);
}

void mk_diag_print_new(mk_diag *d, FILE *out, bool color)
{
    order(d);
    print_text(d, out, color, true);
}

/* Optimal string alignment distance: edits and swaps of neighbours. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *mk_diag_suggest(const char *name, const char *const *cands, size_t n)
{
    size_t best = SIZE_MAX;
    const char *pick = NULL;
    size_t len = strlen(name);
    size_t limit = len / 3 ? len / 3 : 1;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], name) == 0)
            continue;
        size_t dist = edit_distance(name, cands[i]);
        if (dist < best) {
            best = dist;
            pick = cands[i];
        }
    }
    return best <= limit ? pick : NULL;
}
