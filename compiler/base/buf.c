/* buf — growable text buffer. Always NUL-terminated after any write. */
#include "compiler/base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compiler/base/mem.h"

void mk_buf_flush(mk_buf *b)
{
    if (b->sink && b->len)
        fwrite(b->data, 1, b->len, b->sink);
    if (b->sink && b->data) {
        b->len = 0;
        b->data[0] = 0;
    }
}

static void reserve(mk_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    if (b->sink && b->len >= 65536) /* streaming: write out rather than grow */
        mk_buf_flush(b);
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = mk_mem_realloc(b->data, cap);
    b->cap = cap;
}

void mk_buf_put(mk_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void mk_buf_puts(mk_buf *b, const char *s) { mk_buf_put(b, s, strlen(s)); }

void mk_buf_putc(mk_buf *b, char c) { mk_buf_put(b, &c, 1); }

void mk_buf_printf(mk_buf *b, const char *fmt, ...)
{
    va_list ap;
    reserve(b, 128);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap); /* mostly fits: one pass */
    va_end(ap);
    if (n <= 0) {
        b->data[b->len] = 0;
        return;
    }
    if ((size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return;
    }
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mk_buf_escape(mk_buf *b, const char *s, size_t n)
{
    size_t run = 0; /* characters that need no escape go in runs */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && (c != '$' || i + 1 >= n || s[i + 1] != '{'))
            continue;
        mk_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': mk_buf_puts(b, "\\\""); break;
        case '\\': mk_buf_puts(b, "\\\\"); break;
        case '\n': mk_buf_puts(b, "\\n"); break;
        case '\t': mk_buf_puts(b, "\\t"); break;
        case '\r': mk_buf_puts(b, "\\r"); break;
        case '$': mk_buf_puts(b, "$$"); break; /* keep "${" literal on re-reading */
        default: mk_buf_printf(b, "\\u%04x", c);
        }
    }
    mk_buf_put(b, s + run, n - run);
}

const char *mk_buf_cstr(mk_buf *b)
{
    if (!b->data)
        mk_buf_put(b, "", 0);
    return b->data;
}

char *mk_buf_take(mk_buf *b)
{
    char *p = (char *)mk_buf_cstr(b);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void mk_buf_free(mk_buf *b)
{
    mk_mem_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
