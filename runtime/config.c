/* config — reading and validating the executor's configuration file
 * (jansson). Every error names the file and the key, as
 * `FILE: key `local.allowed_roots[1]`: expected …`. */
#include "runtime/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool mk_config_path(char *buf, size_t n)
{
    const char *env = getenv("MOKSHA_EXEC_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (env && *env)
        return (size_t)snprintf(buf, n, "%s", env) < n;
    if (xdg && *xdg == '/')
        return (size_t)snprintf(buf, n, "%s/moksha/exec.json", xdg) < n;
    if (home && *home)
        return (size_t)snprintf(buf, n, "%s/.config/moksha/exec.json", home) < n;
    return false;
}

bool mk_config_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return n && strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

static bool bad(char *why, size_t whylen, const char *file, const char *key, const char *fmt, const char *arg)
{
    int k = snprintf(why, whylen, "%s: key `%s`: ", file, key);
    if (k >= 0 && (size_t)k < whylen)
        snprintf(why + k, whylen - (size_t)k, fmt, arg);
    return false;
}

/* Unknown keys are errors: a misspelt setting must not be silently ignored. */
static bool only_keys(json_t *obj, const char *const *known, const char *file, const char *at, char *why, size_t whylen)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok) {
            char key[256];
            snprintf(key, sizeof key, "%s%s%s", at, *at ? "." : "", k);
            return bad(why, whylen, file, key, "unknown setting (see docs/executor.md, \"The executor's configuration\")%s", "");
        }
    }
    return true;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = strstr(p, ".."); s; s = strstr(s + 1, ".."))
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
            return true;
    return false;
}

static bool read_roots(mk_config_local *l, json_t *v, const char *file, char *why, size_t whylen)
{
    if (!json_is_array(v))
        return bad(why, whylen, file, "local.allowed_roots", "expected a list of absolute directory paths%s", "");
    l->allowed_roots = calloc(json_array_size(v) + 1, sizeof *l->allowed_roots);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char key[64], real[PATH_MAX];
        snprintf(key, sizeof key, "local.allowed_roots[%zu]", i);
        const char *s = json_string_value(e);
        struct stat sb;
        if (!s || s[0] != '/' || has_dotdot(s))
            return bad(why, whylen, file, key, "expected an absolute path without `..`%s", "");
        if (!realpath(s, real) || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return bad(why, whylen, file, key, "%s is not an existing directory", s);
        l->allowed_roots[l->nallowed_roots++] = strdup(real);
    }
    return true;
}

static bool read_local(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen)
{
    static const char *const known[] = {"allowed_roots", "allow_special_bits", NULL};
    if (!json_is_object(v))
        return bad(why, whylen, file, "local", "expected an object%s", "");
    if (!only_keys(v, known, file, "local", why, whylen))
        return false;
    json_t *roots = json_object_get(v, "allowed_roots"), *sb = json_object_get(v, "allow_special_bits");
    if (roots && !read_roots(&cfg->local, roots, file, why, whylen))
        return false;
    if (sb && !json_is_boolean(sb))
        return bad(why, whylen, file, "local.allow_special_bits", "expected true or false%s", "");
    cfg->local.allow_special_bits = json_is_true(sb);
    return true;
}

/* The sections; a new one is a struct in config.h and a line here. */
static const struct {
    const char *name;
    bool (*read)(mk_config *cfg, json_t *v, const char *file, char *why, size_t whylen);
} sections[] = {
    {"local", read_local},
};

/* Who may change the file decides what the executor does: only its owner
 * (the user running moksha-exec, or root), never group or others. */
static bool safe_file(const char *path, mk_config *cfg, char *why, size_t whylen)
{
    struct stat sb, db;
    char real[PATH_MAX];
    if (!realpath(path, real) || stat(real, &sb) != 0)
        return snprintf(why, whylen, "%s: %s", path, strerror(errno)), false;
    if (!S_ISREG(sb.st_mode))
        return snprintf(why, whylen, "%s: not a regular file", path), false;
    if (sb.st_uid != geteuid() && sb.st_uid != 0)
        return snprintf(why, whylen, "%s: owned by uid %u, not by the user running moksha-exec (uid %u) or root", path,
                        (unsigned)sb.st_uid, (unsigned)geteuid()), false;
    if (sb.st_mode & 022)
        return snprintf(why, whylen, "%s: writable by %s (mode %04o): `chmod go-w %s`", path,
                        sb.st_mode & 002 ? "everyone" : "its group", (unsigned)(sb.st_mode & 07777), path), false;
    char stack[PATH_MAX];
    if (realpath(".", stack) && mk_config_under(real, stack))
        return snprintf(why, whylen, "%s: the executor's configuration cannot be in the stack directory %s: whoever "
                        "changes the stack could change what the executor allows; keep it with the user running moksha-exec",
                        path, stack), false;
    snprintf(cfg->path, sizeof cfg->path, "%s", real);
    snprintf(cfg->dir, sizeof cfg->dir, "%s", real);
    char *slash = strrchr(cfg->dir, '/');
    slash[slash == cfg->dir] = 0;
    if (stat(cfg->dir, &db) == 0 && (db.st_mode & 002) && !(db.st_mode & S_ISVTX))
        return snprintf(why, whylen, "%s: its directory %s is writable by everyone: anyone could replace the file", path,
                        cfg->dir), false;
    return true;
}

static bool read_doc(mk_config *cfg, json_t *doc, const char *file, char *why, size_t whylen)
{
    if (!json_is_object(doc))
        return snprintf(why, whylen, "%s: expected a JSON object", file), false;
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    if (!fmt || strcmp(fmt, MK_CONFIG_FORMAT) != 0)
        return bad(why, whylen, file, "format", "expected \"" MK_CONFIG_FORMAT "\"%s", "");
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        size_t i = 0, n = sizeof sections / sizeof *sections;
        while (i < n && strcmp(sections[i].name, k) != 0)
            i++;
        if (i < n && !sections[i].read(cfg, v, file, why, whylen))
            return false;
        if (i == n && strcmp(k, "format") != 0)
            return bad(why, whylen, file, k, "unknown setting (see docs/executor.md, \"The executor's configuration\")%s", "");
    }
    return true;
}

bool mk_config_load(mk_config *cfg, char *why, size_t whylen)
{
    memset(cfg, 0, sizeof *cfg);
    char path[PATH_MAX];
    bool named = getenv("MOKSHA_EXEC_CONFIG") && *getenv("MOKSHA_EXEC_CONFIG");
    if (!mk_config_path(path, sizeof path))
        return true; /* no HOME: nothing to read */
    if (access(path, F_OK) != 0 && errno == ENOENT && !named)
        return true;
    if (!safe_file(path, cfg, why, whylen))
        return false;
    json_error_t je;
    json_t *doc = json_load_file(cfg->path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return snprintf(why, whylen, "%s:%d:%d: %s", path, je.line, je.column, je.text), false;
    bool ok = read_doc(cfg, doc, path, why, whylen);
    json_decref(doc);
    if (!ok)
        mk_config_free(cfg);
    return ok;
}

void mk_config_free(mk_config *cfg)
{
    for (size_t i = 0; i < cfg->local.nallowed_roots; i++)
        free(cfg->local.allowed_roots[i]);
    free(cfg->local.allowed_roots);
    cfg->local.allowed_roots = NULL;
    cfg->local.nallowed_roots = 0;
}
