/* offername — which cloud a pinned offering's name belongs to, by the way
 * each cloud names what it sells; nothing else (the catalogs say what is
 * priced: cost.c, dbcost.c).
 *
 * note [pin shapes]: the catalogs never list everything a cloud sells
 * (Azure's sizes come from a 2023 table without the v5 sizes, RDS from a
 * handful of priced classes), so a name they do not list is not a typo
 * when it is written the way one cloud names its offerings: m5.4xlarge and
 * db.r6g.large are AWS's, n2-standard-4 and db-custom-2-7680 Google's,
 * Standard_D4s_v5 and GP_Standard_D2ds_v5 Azure's. Such a pin is a warning
 * (W0004): the resource stays on that cloud, unpriced, with the reason in
 * every output. A name of no cloud's shape is an error (E0403), with the
 * nearest name the catalogs sell. */
#include "compiler/middle/offername.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "compiler/base/diag.h"

static bool lower_word(const char *s, size_t n, const char *also)
{
    if (n == 0 || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !memchr(also, s[i], strlen(also)))
            return false;
    return true;
}

/* AWS sizes are words of a small vocabulary (nano … 48xlarge, metal,
 * metal-24xl), so m5.larg is a typo, not a size the catalog lacks. */
static bool aws_size(const char *s, size_t n)
{
    static const char *const words[] = {"nano", "micro", "small", "medium", "large", "xlarge", "metal"};
    size_t k = 0;
    while (k < n && isdigit((unsigned char)s[k]))
        k++;
    if (k > 0)
        return n - k == 6 && memcmp(s + k, "xlarge", 6) == 0;
    if (n > 6 && memcmp(s, "metal-", 6) == 0)
        return n > 8 && memcmp(s + n - 2, "xl", 2) == 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i]) == n && memcmp(s, words[i], n) == 0)
            return true;
    return false;
}

/* family.size (m5.4xlarge, u-6tb1.metal) */
static bool aws_type(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    return dot && dot > s && lower_word(s, (size_t)(dot - s), "-") &&
           aws_size(dot + 1, n - (size_t)(dot - s) - 1);
}

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n > k && strncmp(s, prefix, k) == 0;
}

/* Azure: Standard_… sizes and disks (Standard_LRS, StandardSSD_LRS,
 * Premium_LRS, UltraSSD_LRS), and the database SKUs' tier prefixes. */
static bool azure_name(const char *s, size_t n)
{
    static const char *const prefixes[] = {"Standard_", "Basic_", "StandardSSD_", "Premium_", "PremiumV2_", "UltraSSD_",
                                           "B_", "GP_", "MO_", "BC_", "HS_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (starts(s, n, prefixes[i]))
            return true;
    return false;
}

const char *mk_offername_cloud(const char *attr, const char *name, size_t n)
{
    const char *dot = memchr(name, '.', n);
    if (azure_name(name, n))
        return "azure";
    if (strcmp(attr, "disk_type") == 0) /* gp3, io2, st1, standard; pd-ssd, hyperdisk-balanced */
        return starts(name, n, "pd-") || starts(name, n, "hyperdisk-") ? "gcp"
               : lower_word(name, n, "")                               ? "aws"
                                                                       : NULL;
    if (strcmp(attr, "instance_class") == 0)
        return starts(name, n, "db.") && aws_type(name + 3, n - 3) ? "aws"
               : starts(name, n, "db-") && lower_word(name + 3, n - 3, "-") ? "gcp"
                                                                            : NULL;
    if (aws_type(name, n))
        return "aws";
    if (!dot && memchr(name, '-', n) && lower_word(name, n, "-")) /* n2-standard-4, e2-micro */
        return "gcp";
    return NULL;
}

bool mk_offername_bad_bytes(mk_diag *diag, const mk_instance *in, const char *attr, const mk_value *v, mk_span at)
{
    for (uint32_t i = 0; v && v->kind == MK_V_STRING && i < v->n; i++) {
        unsigned char c = (unsigned char)v->u.s[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        mk_diag_item *d = mk_diag_error(diag, "E0403", at, "%s: %s holds the control byte 0x%02x at byte %u; no catalog sells such a name",
                                        in->address, attr, c, (unsigned)i);
        mk_diag_help(d, "the names are the clouds' own, printable text; check the value's source (a var-file)");
        return true;
    }
    return false;
}
