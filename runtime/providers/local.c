/* local — files, directories and symlinks under the provider's root
 * (settings.root, default .moksha/out, relative to the stack directory).
 *
 * note [local jail]: a path is refused when it is absolute, has a `..`
 * component, or — once its parent directories exist — its parent resolves
 * (realpath) outside the resolved root, which is how a symlink planted
 * inside the root is caught. Files are opened with O_NOFOLLOW so the last
 * component cannot be a symlink either. A symlink's target obeys the same
 * rules, read relative to the link's directory.
 *
 * note [local root]: the root itself is the stack directory or under it,
 * unless the executor's configuration (runtime/config.h, local.allowed_roots)
 * allows a root elsewhere; it is checked lexically before anything is
 * created and again once resolved, so a symlinked root cannot escape. Under
 * any root, nothing resolves into the stack's .moksha/ (the key, the state,
 * the audit log, the stack id) except its output folder .moksha/out, nor
 * to the executor's configuration file or into its directory (that one
 * unless the stack itself is under it).
 *
 * note [local adopt]: a create (op->adopted set: not an undo re-creating
 * what it deleted) that finds an object already at its path takes it over
 * only when nothing would be lost: a file with the very content planned, a
 * directory, a symlink to the planned target. It reports the adoption, so an
 * undo never deletes what the apply did not make (note [adopted] in
 * runtime/exec.c). A file with other content, or a symlink elsewhere, is
 * not overwritten: the create fails, naming the path, and the file stays as
 * it was. Updates and undos still write in place. */
#include "runtime/providers/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/fileio.h"
#include "runtime/keyring.h"
#include "runtime/providers/seen.h"
#include "runtime/sha256.h"

typedef struct local {
    char root[PATH_MAX];
    char moksha[PATH_MAX + 8], out[PATH_MAX + 16]; /* the stack's .moksha and .moksha/out, resolved */
    const mk_config *cfg;
    bool guard_dir; /* the configuration's directory is out of reach too (unless the stack is inside it) */
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
        if ((n == 2 && p[0] == '.' && p[1] == '.') || (!e && (n == 0 || (n == 1 && p[0] == '.'))))
            return false;
        p += n + (e != NULL);
    }
    return true;
}

/* Is the resolved absolute path one the provider may never touch? */
static const char *forbidden(const local *l, const char *real)
{
    if (mk_config_under(real, l->moksha) && !mk_config_under(real, l->out))
        return "the stack's .moksha directory (key, state, audit log), outside its output folder .moksha/out";
    if (l->cfg && *l->cfg->path && strcmp(real, l->cfg->path) == 0)
        return "the executor's configuration file";
    if (l->guard_dir && mk_config_under(real, l->cfg->dir))
        return "the directory of the executor's configuration";
    return NULL;
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
    if (make_parents && !mk_fileio_mkdirs(parent)) {
        snprintf(why, whylen, "cannot create %s: %s", parent, strerror(errno));
        return false;
    }
    if (!realpath(parent, real)) /* a parent that does not exist holds nothing to escape through */
        return !make_parents || (snprintf(why, whylen, "%s: %s", parent, strerror(errno)), false);
    if (!mk_config_under(real, l->root)) {
        snprintf(why, whylen, "path `%s` resolves to %s, outside the provider's root %s (through a symlink): refused", rel, real, l->root);
        return false;
    }
    char whole[PATH_MAX * 2];
    snprintf(whole, sizeof whole, "%s/%s", real, strrchr(out, '/') + 1);
    const char *no = forbidden(l, whole);
    if (no) {
        snprintf(why, whylen, "path `%s` is in %s: refused", rel, no);
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

/* The mode to set: `mode` (octal permission bits only, "0644" or "644")
 * plus the special_bits asked for, which the executor's configuration must
 * allow (local.allow_special_bits). False with why on anything else. */
static bool mode_of(local *l, json_t *attrs, const char *dflt, mode_t *out, char *why, size_t whylen)
{
    json_t *mv = json_object_get(attrs, "mode");
    const char *m = json_is_string(mv) ? json_string_value(mv) : mv ? NULL : dflt;
    size_t n = m ? strlen(m) : 0;
    if (!m || (n != 3 && n != 4) || strspn(m, "01234567") != n || (n == 4 && m[0] != '0')) {
        snprintf(why, whylen, "mode `%s` is not octal permission bits (e.g. \"0644\"); setuid, setgid and sticky go in "
                 "special_bits: refused", m ? m : "(not a string)");
        return false;
    }
    *out = (mode_t)strtol(m, NULL, 8);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(attrs, "special_bits"), i, b) {
        const char *s = json_string_value(b) ?: "";
        mode_t bit = !strcmp(s, "setuid") ? S_ISUID : !strcmp(s, "setgid") ? S_ISGID : !strcmp(s, "sticky") ? S_ISVTX : 0;
        if (!bit) {
            snprintf(why, whylen, "special_bits: `%s` is not setuid, setgid or sticky: refused", s);
            return false;
        }
        if (!l->cfg || !l->cfg->local.allow_special_bits) {
            snprintf(why, whylen, "special_bits `%s` refused: the executor's configuration does not allow special bits "
                     "(local.allow_special_bits)", s);
            return false;
        }
        *out |= bit;
    }
    return true;
}

/* Does the regular file at full hold exactly content? */
static bool same_content(const char *full, const char *content, size_t n)
{
    size_t len = 0;
    char *have = mk_fileio_read(full, &len);
    bool same = have && len == n && memcmp(have, content, n) == 0;
    free(have);
    return same;
}

static mk_prov_status write_file(local *l, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *rel = attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX], tmp[PATH_MAX + 16];
    mode_t mode;
    if (!mode_of(l, op->attrs, "0644", &mode, why, whylen) || !jail(l, rel, true, full, why, whylen))
        return MK_PROV_FAILED;
    json_t *cv = json_object_get(op->attrs, "content");
    char *opened = json_is_object(cv) ? mk_keyring_open_attr(op->keys, cv, op->address, "content") : NULL;
    if (json_is_object(cv) && !opened)
        return fail(why, whylen, "cannot open the sealed content of", rel, 0);
    const char *content = opened ? opened : json_is_string(cv) ? json_string_value(cv) : "";
    size_t n = strlen(content);
    struct stat sb;
    if (lstat(full, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        free(opened);
        return fail(why, whylen, "cannot write", rel, EISDIR * S_ISDIR(sb.st_mode) + ELOOP * !S_ISDIR(sb.st_mode));
    }
    if (op->adopted && lstat(full, &sb) == 0 && !same_content(full, content, n)) { /* note [local adopt] */
        free(opened);
        snprintf(why, whylen, "a file already exists at %s with other content, not made by this apply: not overwritten; "
                 "move it away, or make its content the one planned", rel);
        return MK_PROV_FAILED;
    }
    if (op->adopted && lstat(full, &sb) == 0)
        *op->adopted = true;
    snprintf(tmp, sizeof tmp, "%s.moksha-tmp", full);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, content, n) == (ssize_t)n;
    ok = fd >= 0 && fchmod(fd, mode) == 0 && close(fd) == 0 && ok;
    ok = ok && rename(tmp, full) == 0;
    int e = errno;
    char sha[65];
    mk_sha256_hex(content, n, sha);
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
    mode_t mode;
    if (!mode_of(l, op->attrs, "0755", &mode, why, whylen) || !jail(l, rel, true, full, why, whylen))
        return MK_PROV_FAILED;
    bool existed = false;
    if (mkdir(full, mode & 0777) != 0 && !(existed = errno == EEXIST))
        return fail(why, whylen, "cannot create directory", rel, errno);
    struct stat sb;
    if (lstat(full, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fail(why, whylen, "cannot create directory", rel, EEXIST);
    if (existed && op->adopted) /* note [local adopt] */
        *op->adopted = true;
    if (chmod(full, mode) != 0)
        return fail(why, whylen, "cannot set the mode of directory", rel, errno);
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
    char tfull[PATH_MAX];
    if (!lexically_inside(target) || !lexically_inside(joined))
        return fail(why, whylen, "symlink target leaves the provider's root:", target, 0);
    if (!jail(l, joined, false, tfull, why, whylen)) /* …and points at nothing the provider may not touch */
        return MK_PROV_FAILED;
    struct stat sb;
    if (lstat(full, &sb) == 0) {
        if (!S_ISLNK(sb.st_mode))
            return fail(why, whylen, "cannot create symlink", rel, EEXIST);
        char had[PATH_MAX];
        ssize_t hn = readlink(full, had, sizeof had - 1);
        bool same = hn >= 0 && (size_t)hn == strlen(target) && memcmp(had, target, (size_t)hn) == 0;
        if (op->adopted && !same) { /* note [local adopt] */
            snprintf(why, whylen, "a symlink already exists at %s pointing elsewhere, not made by this apply: not "
                     "replaced; move it away", rel);
            return MK_PROV_FAILED;
        }
        if (op->adopted) {
            *op->adopted = true;
            *out = json_pack("{s:s}", "id", rel);
            return MK_PROV_OK;
        }
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

/* special_bits as a read shows them: the recorded list when it names the
 * bits the object has, else the bits in a fixed order (null: none). */
static json_t *bits_seen(mode_t m, json_t *rec)
{
    static const struct { mode_t bit; const char *name; } B[] = {{S_ISUID, "setuid"}, {S_ISGID, "setgid"}, {S_ISVTX, "sticky"}};
    json_t *have = json_array();
    mode_t asked = 0;
    size_t i;
    json_t *b;
    json_array_foreach(rec, i, b)
        for (size_t j = 0; j < 3; j++)
            asked |= strcmp(json_string_value(b) ?: "", B[j].name) == 0 ? B[j].bit : 0;
    for (size_t j = 0; j < 3; j++)
        if (m & B[j].bit)
            json_array_append_new(have, json_string(B[j].name));
    if (asked == (m & 07000) && (json_is_array(rec) || !json_array_size(have))) {
        json_decref(have);
        return json_deep_copy(rec ? rec : json_null());
    }
    return have;
}

/* mode as a read shows it: the recorded text when it means these
 * permission bits ("644" and "0644" alike), else four octal digits. */
static json_t *mode_seen(mode_t m, json_t *rec)
{
    const char *r = json_string_value(rec);
    char buf[8];
    if (r && *r && strspn(r, "01234567") == strlen(r) && (mode_t)strtol(r, NULL, 8) == (m & 0777))
        return json_string(r);
    snprintf(buf, sizeof buf, "%04o", (unsigned)(m & 0777));
    return json_string(buf);
}

/* A regular file's content and sha256: the content compared with the
 * sealed one recorded when it is sealed (never shown in plain). */
static bool file_seen(const mk_prov_op *op, const char *full, json_t *view)
{
    size_t n = 0;
    char *text = mk_fileio_read(full, &n);
    if (!text)
        return false;
    char sha[65];
    mk_sha256_hex(text, n, sha);
    json_t *rec = json_object_get(op->attrs, "content");
    /* a content recorded as null (unknown when planned, not computed:
     * written as an empty file) reads back as null while the file is empty */
    json_t *seen = mk_prov_seen_is_secret(rec) ? mk_prov_seen_text(op, "content", rec, text, n)
                   : json_is_null(rec) && n == 0 ? json_null() : json_stringn(text, n);
    json_object_set_new(view, "content", seen);
    json_object_set_new(view, "sha256", json_string(sha));
    memset(text, 0, n);
    free(text);
    return true;
}

/* What is at the path, with the attributes its kind has (whatever kind
 * the state says it is): false with errno when it cannot be read. */
static bool seen_at(const mk_prov_op *op, const char *rel, const char *full, const struct stat *sb, json_t *view)
{
    json_object_set_new(view, "path", json_string(rel));
    json_object_set_new(view, "id", json_string(rel));
    if (S_ISLNK(sb->st_mode)) {
        char to[PATH_MAX];
        ssize_t n = readlink(full, to, sizeof to - 1);
        if (n < 0)
            return false;
        json_object_set_new(view, "target", json_stringn(to, (size_t)n));
        return true;
    }
    json_object_set_new(view, "mode", mode_seen(sb->st_mode, json_object_get(op->attrs, "mode")));
    json_object_set_new(view, "special_bits", bits_seen(sb->st_mode, json_object_get(op->attrs, "special_bits")));
    if (S_ISDIR(sb->st_mode))
        return access(full, R_OK | X_OK) == 0 || (errno = EACCES, false);
    return !S_ISREG(sb->st_mode) || file_seen(op, full, view);
}

/* The view in the state's form: the attributes op->attrs records (those
 * this kind of object has not: null); all of it without op->attrs. */
static json_t *state_form(const mk_prov_op *op, json_t *view)
{
    if (!json_is_object(op->attrs))
        return view;
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(op->attrs, k, v) {
        json_t *have = json_object_get(view, k);
        json_object_set(out, k, have ? have : json_null());
    }
    json_decref(view);
    return out;
}

/* note [local import]: an object's id is its path under the root, so a
 * read by id reads that path. */
static mk_prov_status local_read(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    local *l = p->impl;
    const char *rel = op->import_id ? op->import_id : attr_s(op, op->attrs, "path", NULL);
    char full[PATH_MAX];
    struct stat sb;
    *out = NULL;
    if (!jail(l, rel, false, full, why, whylen))
        return MK_PROV_FAILED;
    if (lstat(full, &sb) != 0)
        return errno == ENOENT || errno == ENOTDIR ? MK_PROV_OK : fail(why, whylen, "cannot read", rel, errno);
    json_t *view = json_object();
    if (!seen_at(op, rel, full, &sb, view)) {
        json_decref(view);
        return fail(why, whylen, "cannot read", rel, errno);
    }
    *out = op->import_id ? view : state_form(op, view);
    return MK_PROV_OK;
}

/* note [local import]: the path is the id; taking it over moves nothing,
 * but the id must be the path the spec gives. */
static mk_prov_status local_import(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    const char *path = attr_s(op, op->attrs, "path", NULL);
    (void)p;
    *out = NULL;
    if (!op->import_id || !path || strcmp(op->import_id, path) != 0) {
        snprintf(why, whylen, "local: import %s: the id of a local object is its path under the root, and must be the "
                 "path planned (`%s`, not `%s`)", op->address, path ? path : "", op->import_id ? op->import_id : "");
        return MK_PROV_FAILED;
    }
    *out = json_pack("{s:s}", "id", path);
    return MK_PROV_OK;
}

/* Objects are keyed by path, not by address: a move has nothing to do. */
static mk_prov_status local_move(mk_prov *p, const mk_prov_op *op, json_t **out, char *why, size_t whylen)
{
    (void)p, (void)op, (void)why, (void)whylen;
    *out = NULL;
    return MK_PROV_OK;
}

static void local_free(mk_prov *p)
{
    free(p->impl);
    free(p);
}

/* path made absolute against the working directory (the stack) and
 * normalised lexically: `.` and `..` resolved, no symlink followed. */
static bool absolute(const char *stack, const char *path, char out[PATH_MAX])
{
    char buf[PATH_MAX * 2];
    snprintf(buf, sizeof buf, "%s/%s", path[0] == '/' ? "" : stack, path);
    size_t n = 0;
    for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            while (n > 0 && out[--n] != '/')
                ;
            continue;
        }
        if (n + strlen(c) + 2 >= PATH_MAX)
            return false;
        out[n++] = '/';
        strcpy(out + n, c);
        n += strlen(c);
    }
    out[n ? n : 1] = 0;
    if (!n)
        out[0] = '/';
    return true;
}

/* note [local root]: is this root (absolute) one the provider may use? */
static bool root_allowed(const local *l, const char *stack, const char *root, char *why, size_t whylen)
{
    const char *no = forbidden(l, root);
    bool in_stack = mk_config_under(root, stack), allowed = in_stack;
    for (size_t i = 0; !allowed && l->cfg && i < l->cfg->local.nallowed_roots; i++)
        allowed = mk_config_under(root, l->cfg->local.allowed_roots[i]);
    if (no)
        snprintf(why, whylen, "local provider: root %s is in %s: refused", root, no);
    else if (!allowed)
        snprintf(why, whylen, "local provider: root %s is outside the stack directory %s: refused; the executor's "
                 "configuration (%s) can allow it in local.allowed_roots", root, stack,
                 l->cfg && *l->cfg->path ? l->cfg->path : "MOKSHA_EXEC_CONFIG, or ~/.config/moksha/exec.json");
    return allowed && !no;
}

mk_prov *mk_prov_local_new(json_t *settings, const mk_config *cfg, char *why, size_t whylen)
{
    json_t *rv = json_object_get(settings, "root");
    const char *root = json_is_string(rv) ? json_string_value(rv) : rv ? NULL : ".moksha/out";
    char stack[PATH_MAX], lexical[PATH_MAX];
    local *l = calloc(1, sizeof *l);
    mk_prov *p = calloc(1, sizeof *p);
    bool ok = l && p && root && *root && realpath(".", stack);
    if (!ok)
        snprintf(why, whylen, "local provider: %s", !root || !*root ? "root must be a non-empty string" : "out of memory");
    if (ok) {
        l->cfg = cfg;
        l->guard_dir = cfg && *cfg->dir && !mk_config_under(stack, cfg->dir);
        snprintf(l->moksha, sizeof l->moksha, "%s/.moksha", stack);
        snprintf(l->out, sizeof l->out, "%s/.moksha/out", stack);
        ok = absolute(stack, root, lexical) && root_allowed(l, stack, lexical, why, whylen); /* before creating anything */
    }
    if (ok && !mk_fileio_mkdirs(lexical)) {
        snprintf(why, whylen, "local provider: cannot create its root %s: %s", root, strerror(errno));
        ok = false;
    }
    if (ok && !realpath(lexical, l->root)) {
        snprintf(why, whylen, "local provider: cannot resolve its root %s", root);
        ok = false;
    }
    ok = ok && root_allowed(l, stack, l->root, why, whylen); /* again, resolved: a symlinked root */
    if (!ok) {
        free(l);
        free(p);
        return NULL;
    }
    *p = (mk_prov){.kind = "local", .caps = MK_PROV_CAN_RECREATE | MK_PROV_KEEPS_IDS, .create = local_put,
                   .read = local_read, .update = local_update, .del = local_delete, .import = local_import,
                   .move = local_move, .free = local_free, .impl = l};
    return p;
}
