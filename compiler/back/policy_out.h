/* policy_out — policy results for people and CI: text, json, sarif (2.1.0,
 * fit for GitHub code scanning), junit (XML), github (workflow annotations)
 * and markdown (a pull-request comment). Input is mk_policy_check's array.
 *
 * note [repository paths]: CI formats name files as GitHub does, relative
 * to the repository's root — the nearest directory at or above the stack's
 * that holds `.git`, else the stack's own — so that an annotation lands on
 * the diff whatever the workflow's working-directory. `--path-prefix P`
 * says instead that the stack's directory is P in the repository. Text
 * output keeps the paths a person in the stack's directory typed. */
#ifndef MK_POLICY_OUT_H
#define MK_POLICY_OUT_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/base/buf.h"
#include "compiler/middle/policy.h"

typedef struct mk_policy_out_opts {
    const char *stack;       /* the stack's name, for headings */
    bool color;              /* text only */
    const char *path_prefix; /* NULL: paths relative to the repository root */
} mk_policy_out_opts;

/* Known format names; false when fmt is none of them. */
bool mk_policy_out_valid(const char *fmt);
void mk_policy_out(json_t *results, const char *fmt, const char *stack, mk_buf *out, bool color);
void mk_policy_out_ex(json_t *results, const char *fmt, const mk_policy_out_opts *o, mk_buf *out);
/* The `policy test` report in text, or JSON. */
void mk_policy_out_tests(json_t *tests, const mk_policy_counts *n, bool json, mk_buf *out);
/* A file as CI formats name it (note [repository paths]) into out; a name
 * that is no file here (a stdlib pack's) is kept as it is. */
void mk_policy_out_path(const char *file, const char *prefix, char *out, size_t n);

#endif
