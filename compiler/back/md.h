/* md — text made safe for GitHub-flavoured markdown. Pull-request comments
 * (`--format markdown` of plan, policy check and cost) show messages,
 * addresses and keys written by whoever proposes the change: none of them may
 * break a table, open a link or reach the page as HTML. Every markdown
 * renderer writes untrusted text through these two functions. */
#ifndef MK_MD_H
#define MK_MD_H

#include "compiler/base/buf.h"

/* s as plain inline text: HTML is escaped as entities, markdown punctuation
 * with a backslash, `|` so that it cannot end a table cell, and a line break
 * becomes <br> (in a table cell, the only break that keeps the row). */
void mk_md_text(mk_buf *out, const char *s);
/* s verbatim in a code span: the fence is longer than any run of backticks in
 * s, line breaks become spaces, and in a table `|` is escaped (GitHub splits
 * table cells before it reads code spans). */
void mk_md_code(mk_buf *out, const char *s, int in_table);

#endif
