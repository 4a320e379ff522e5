/* offername — the cloud whose naming a pinned offering follows (note [pin
 * shapes] in offername.c). Pure: no catalogs, no allocation. */
#ifndef MK_OFFERNAME_H
#define MK_OFFERNAME_H

#include <stddef.h>

/* "aws", "gcp" or "azure", NULL for a name of no cloud's shape. attr is
 * "instance_type", "instance_class" or "disk_type". */
const char *mk_offername_cloud(const char *attr, const char *name, size_t n);

#endif
