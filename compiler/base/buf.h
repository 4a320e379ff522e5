/* buf — a growable byte buffer for building text (diagnostics, output,
 * formatted source). The caller owns the buffer and frees it with
 * mk_buf_free; mk_buf_take hands the bytes over (free with mk_mem_free). */
#ifndef MK_BUF_H
#define MK_BUF_H

#include <stddef.h>

typedef struct mk_buf {
    char *data;
    size_t len, cap;
    void *sink; /* a FILE *: when set, the text goes there as it grows (mk_buf_flush the rest) */
} mk_buf;

void mk_buf_put(mk_buf *b, const char *s, size_t n);
void mk_buf_puts(mk_buf *b, const char *s);
void mk_buf_putc(mk_buf *b, char c);
void mk_buf_printf(mk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with JSON/moksha string escapes (no surrounding quotes). */
void mk_buf_escape(mk_buf *b, const char *s, size_t n);
const char *mk_buf_cstr(mk_buf *b);
char *mk_buf_take(mk_buf *b);
void mk_buf_free(mk_buf *b);
/* Write what the buffer holds to its sink and empty it. */
void mk_buf_flush(mk_buf *b);

#endif
