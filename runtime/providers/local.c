/* local — files, directories and symlinks under the provider's root
 * (settings.root, default .moksha/out, relative to the stack directory).
 *
 * note [local jail]: a path is refused when it is absolute, has a `..`
 * component, or — once its parent directories exist — its parent resolves
 * (realpath) outside the resolved root, which is how a symlink planted
 * inside the root is caught. Files are opened with O_NOFOLLOW so the last
 * component cannot be a symlink either. A symlink's target obeys the same
 * rules, read relative to the link's directory. */
#include "runtime/providers/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/planfile.h"
#include "runtime/util.h"

typedef struct local {
    char root[PATH_MAX];
} local;

static mk_prov_status fail(char *why, size_t whylen, const char *what, const char *path, int err)
{
    snprintf(why, whylen, "%s %s: %s", what, path, err ? strerror(err) : "refused");
    return MK_PROV_FAILED;
}

/* Lexical part of the jail: relative, no `..`, not empty. */
static bool lexically_inside(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/')
        return false;
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n + (e != NULL);
    }
    return true;
}

/* Full path of rel under the root; creates the parents when make_parents.
 * False with why when rel escapes the root. */
static bool jail(local *l, const char *rel, bool make_parents, char out[PATH_MAX], char *why, size_t whylen)
{
    if (!lexically_inside(rel)) {
        snprintf(why, whylen, "path `%s` leaves the provider's root %s (absolute or with `..`): refused", rel ? rel : "", l->root);
        return false;
    }
    if (snprintf(out, PATH_MAX, "%s/%s", l->root, rel) >= PATH_MAX) {
        snprintf(why, whylen, "path `%s` is too long", rel);
        return false;
    }
    char parent[PATH_MAX], real[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", out);
    *strrchr(parent, '/') = 0;
    if (make_parents && !mk_exec_mkdirs(parent)) {
        snprintf(why, whylen, "cannot create %s: %s", parent, strerror(errno));
        return false;
    }
    if (!realpath(parent, real)) /* a parent that does not exist holds nothing to escape through */
        return !make_parents || (snprintf(why, whylen, "%s: %s", parent, strerror(errno)), false);
    size_t n = strlen(l->root);
    if (strncmp(real, l->root, n) != 0 || (real[n] != 0 && real[n] != '/')) {
        snprintf(why, whylen, "path `%s` resolves to %s, outside the provider's root %s (through a symlink): refused", rel, real, l->root);
        return false;
    }
    return true;
}

static const char *attr_s(const mk_prov_op *op, json_t *attrs, const char *name, const char *dflt)
{
    (void)op;
    json_t *v = json_object_get(attrs, name);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static mode_t mode_of(json_t *attrs, const char *dflt)
{
    const char *m = json_string_value(json_object_get(attrs, "mode")) ?: dflt;
    return (mode_t)strtol(m, NULL, 8) & 07777;
}

static mk_prov_status write_file(local *l, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *rel = attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX], tmp[PATH_MAX + 16];
    if (!jail(l, rel, true, full, why, whylen))
        return MK_PROV_FAILED;
    json_t *cv = json_object_get(op->attrs, "content");
    char *opened = json_is_object(cv) ? mk_exec_unseal(op->key, cv) : NULL;
    if (json_is_object(cv) && !opened)
        return fail(why, whylen, "cannot open the sealed content of", rel, 0);
    const char *content = opened ? opened : json_is_string(cv) ? json_string_value(cv) : "";
    size_t n = strlen(content);
    struct stat sb;
    if (lstat(full, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        free(opened);
        return fail(why, whylen, "cannot write", rel, EISDIR * S_ISDIR(sb.st_mode) + ELOOP * !S_ISDIR(sb.st_mode));
    }
    snprintf(tmp, sizeof tmp, "%s.moksha-tmp", full);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, content, n) == (ssize_t)n;
    ok = fd >= 0 && fchmod(fd, mode_of(op->attrs, "0644")) == 0 && close(fd) == 0 && ok;
    ok = ok && rename(tmp, full) == 0;
    int e = errno;
    char sha[65];
    mk_exec_sha256_hex(content, n, sha);
    if (opened) {
        memset(opened, 0, n);
        free(opened);
    }
    if (!ok) {
        unlink(tmp);
        return fail(why, whylen, "cannot write", rel, e);
    }
    *out = json_pack("{s:s, s:s}", "id", rel, "sha256", sha);
    return MK_PROV_OK;
}

static mk_prov_status make_dir(local *l, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *rel = attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX];
    if (!jail(l, rel, true, full, why, whylen))
        return MK_PROV_FAILED;
    if (mkdir(full, mode_of(op->attrs, "0755")) != 0 && errno != EEXIST)
        return fail(why, whylen, "cannot create directory", rel, errno);
    struct stat sb;
    if (lstat(full, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(why, whylen, "cannot create directory", rel, EEXIST);
    chmod(full, mode_of(op->attrs, "0755"));
    *out = json_pack("{s:s}", "id", rel);
    return MK_PROV_OK;
}

static mk_prov_status make_link(local *l, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *rel = attr_s(op, op->attrs, "path", NULL), *target = attr_s(op, op->attrs, "target", "");
    char full[PATH_MAX], joined[PATH_MAX * 2];
    if (!jail(l, rel, true, full, why, whylen))
        return MK_PROV_FAILED;
    const char *slash = strrchr(rel, '/');
    snprintf(joined, sizeof joined, "%.*s%s", slash ? (int)(slash - rel + 1) : 0, rel, target);
    if (!lexically_inside(target) || !lexically_inside(joined))
        return fail(why, whylen, "symlink target leaves the provider's root:", target, 0);
    struct stat sb;
    if (lstat(full, &sb) == 0) {
        if (!S_ISLNK(sb.st_mode))
            return fail(why, whylen, "cannot create symlink", rel, EEXIST);
        unlink(full);
    }
    if (symlink(target, full) != 0)
        return fail(why, whylen, "cannot create symlink", rel, errno);
    *out = json_pack("{s:s}", "id", rel);
    return MK_PROV_OK;
}

static mk_prov_status local_put(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    local *l = p->impl;
    if (strcmp(op->type, "local.file") == 0)
        return write_file(l, op, out, why, whylen);
    if (strcmp(op->type, "local.directory") == 0)
        return make_dir(l, op, out, why, whylen);
    if (strcmp(op->type, "local.symlink") == 0)
        return make_link(l, op, out, why, whylen);
    snprintf(why, whylen, "the local provider has no type %s", op->type);
    return MK_PROV_FAILED;
}

static mk_prov_status local_update(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    return local_put(p, op, out, why, whylen); /* path is force_new: same place, new content or mode */
}

static mk_prov_status local_delete(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    local *l = p->impl;
    const char *rel = attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX];
    *out = NULL;
    if (!jail(l, rel, false, full, why, whylen))
        return MK_PROV_FAILED;
    int r = strcmp(op->type, "local.directory") == 0 ? rmdir(full) : unlink(full);
    if (r != 0 && errno != ENOENT)
        return fail(why, whylen, "cannot delete", rel, errno);
    return MK_PROV_OK;
}

static mk_prov_status local_read(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    local *l = p->impl;
    const char *rel = attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX];
    struct stat sb;
    *out = NULL;
    if (!jail(l, rel, false, full, why, whylen))
        return MK_PROV_FAILED;
    if (lstat(full, &sb) != 0)
        return errno == ENOENT ? MK_PROV_OK : fail(why, whylen, "cannot read", rel, errno);
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(sb.st_mode & 07777));
    *out = json_pack("{s:s, s:s}", "path", rel, "mode", mode);
    char *text = S_ISREG(sb.st_mode) ? mk_exec_read_file(full, NULL) : NULL;
    if (text) {
        json_object_set_new(*out, "content", json_string(text));
        free(text);
    }
    return MK_PROV_OK;
}

static void local_free(mk_prov *p)
{
    free(p->impl);
    free(p);
}

mk_prov *mk_prov_local_new(json_t *settings, char *why, size_t whylen)
{
    const char *root = json_string_value(json_object_get(settings, "root")) ?: ".moksha/out";
    if (!mk_exec_mkdirs(root)) {
        snprintf(why, whylen, "local provider: cannot create its root %s: %s", root, strerror(errno));
        return NULL;
    }
    local *l = calloc(1, sizeof *l);
    mk_prov *p = calloc(1, sizeof *p);
    if (!l || !p || !realpath(root, l->root)) {
        snprintf(why, whylen, "local provider: cannot resolve its root %s", root);
        free(l);
        free(p);
        return NULL;
    }
    *p = (mk_prov){"local", MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS, local_put, local_read, local_update,
                   local_delete, local_free, l};
    return p;
}
