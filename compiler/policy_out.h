/* policy_out — policy results for people and CI: text, json, sarif (2.1.0,
 * fit for GitHub code scanning), junit (XML), github (workflow annotations)
 * and markdown (a pull-request comment). Input is mk_policy_check's array. */
#ifndef MK_POLICY_OUT_H
#define MK_POLICY_OUT_H

#include <jansson.h>
#include <stdbool.h>

#include "compiler/buf.h"

/* Known format names; false when fmt is none of them. */
bool mk_policy_out_valid(const char *fmt);
void mk_policy_out(json_t *results, const char *fmt, const char *stack, mk_buf *out, bool color);
/* The `policy test` report in text, or JSON. */
void mk_policy_out_tests(json_t *tests, int passed, int failed, bool json, mk_buf *out);

#endif
