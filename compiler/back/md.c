/* md — escaping for markdown (see md.h). */
#include "compiler/back/md.h"

#include <stdbool.h>
#include <string.h>

void mk_md_text(mk_buf *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            mk_buf_puts(out, "&lt;");
        else if (c == '>')
            mk_buf_puts(out, "&gt;");
        else if (c == '&')
            mk_buf_puts(out, "&amp;");
        else if (c == '\n')
            mk_buf_puts(out, "<br>");
        else if (c == '\r')
            continue;
        else if (c < 0x20 || c == 0x7f)
            mk_buf_putc(out, ' ');
        else if (strchr("\\`*_[]|~#!", c)) {
            mk_buf_putc(out, '\\');
            mk_buf_putc(out, (char)c);
        } else
            mk_buf_putc(out, (char)c);
    }
}

void mk_md_code(mk_buf *out, const char *s, int in_table)
{
    s = s ? s : "";
    size_t run = 0, longest = 0, n = strlen(s);
    for (const char *t = s; *t; t++) {
        run = *t == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    /* a span that starts or ends with a backtick or a space is padded: the
     * parser strips one space on each side */
    bool pad = n == 0 || s[0] == '`' || s[n - 1] == '`' || s[0] == ' ' || s[n - 1] == ' ';
    for (size_t i = 0; i <= longest; i++)
        mk_buf_putc(out, '`');
    if (pad)
        mk_buf_putc(out, ' ');
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t')
            mk_buf_putc(out, ' ');
        else if (*s == '|' && in_table)
            mk_buf_puts(out, "\\|");
        else
            mk_buf_putc(out, *s);
    }
    if (pad)
        mk_buf_putc(out, ' ');
    for (size_t i = 0; i <= longest; i++)
        mk_buf_putc(out, '`');
}
