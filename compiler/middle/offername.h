/* offername — the cloud whose naming a pinned offering follows (note [pin
 * shapes] in offername.c), and a pinned name that is no name at all (a
 * control byte in it). No catalogs, no allocation. */
#ifndef MK_OFFERNAME_H
#define MK_OFFERNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/base/diag.h"
#include "compiler/front/program.h"

/* "aws", "gcp" or "azure", NULL for a name of no cloud's shape. attr is
 * "instance_type", "instance_class" or "disk_type". */
const char *mk_offername_cloud(const char *attr, const char *name, size_t n);

/* A pinned name (attr: "disk_type", "instance_class", …) holding a NUL or
 * another control byte: E0403 naming the byte, at `at`; true when reported.
 * The whole value is looked at, its length v->n, never as a C string. */
bool mk_offername_bad_bytes(mk_diag *diag, const mk_instance *in, const char *attr, const mk_value *v, mk_span at);

#endif
