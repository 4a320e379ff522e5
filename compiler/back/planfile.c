/* planfile — the plan document as a file: its canonical text (compact, keys
 * in document order), the signature over it, verifying a loaded plan, which
 * paths `plan -o` may write, and the atomic write. The differ that builds
 * the document is middle/plan.c; the executor has its own loader
 * (runtime/planfile.c). */
#include "compiler/back/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/base/atomic.h"
#include "compiler/base/jalloc.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/mem.h"

/* The signed form: compact, keys in document order, no signature. */
static char *canonical(json_t *plan)
{
    json_t *body = json_copy(plan);
    json_object_del(body, "signature");
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return s;
}

char *mk_planfile_sign(json_t *plan, const mk_key *key)
{
    json_object_del(plan, "signature");
    char *s = json_dumps(plan, JSON_COMPACT);
    char mac[65];
    mk_key_sign(key, s, strlen(s), mac);
    json_t *sig = json_pack("{s:s, s:s, s:s}", "algorithm", "HMAC-SHA256", "key_id", key->id, "value", mac);
    json_object_set_new(plan, "signature", sig);
    /* the signature is the last key: append it rather than dump a large plan twice */
    char *sig_text = json_dumps(sig, JSON_COMPACT);
    size_t n = strlen(s);
    char *out = mk_mem_alloc(n + strlen(sig_text) + 32);
    memcpy(out, s, n - 1);
    sprintf(out + n - 1, ",\"signature\":%s}", sig_text);
    mk_jalloc_free_text(sig_text);
    mk_jalloc_free_text(s);
    return out;
}

void mk_planfile_free_text(char *text) { mk_mem_free(text); }

bool mk_planfile_verify(json_t *plan, const mk_key *key, char *why, size_t whylen)
{
    json_t *sig = json_object_get(plan, "signature");
    const char *val = json_string_value(json_object_get(sig, "value"));
    const char *kid = json_string_value(json_object_get(sig, "key_id"));
    if (!json_is_object(plan) || strcmp(json_string_value(json_object_get(plan, "format")) ?: "", "moksha.plan/v1")) {
        snprintf(why, whylen, "not a moksha.plan/v1 document");
        return false;
    }
    if (!val || !kid || strlen(val) != 64) {
        snprintf(why, whylen, "the plan is not signed");
        return false;
    }
    if (strcmp(kid, key->id) != 0) {
        snprintf(why, whylen, "the plan was signed with another key (%s; this project's key is %s)", kid, key->id);
        return false;
    }
    char *s = canonical(plan);
    char mac[65];
    mk_key_sign(key, s, strlen(s), mac);
    mk_jalloc_free_text(s);
    if (CRYPTO_memcmp(mac, val, 64) != 0) {
        snprintf(why, whylen, "the signature does not match: the plan was altered after it was signed");
        return false;
    }
    return true;
}

/* Is the file at path a plan already (or empty)? Only a plan is replaced by
 * a plan: `-o main.moksha`, `-o README.md` are mistakes. Parsed whole: the
 * JSON of `moksha plan --format json` may put "format" after "changes". */
static bool holds_a_plan(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    if (sb.st_size == 0)
        return true;
    char why[256];
    json_t *doc = mk_jsonfile_load(path, 0, why, sizeof why);
    bool plan = doc && strcmp(json_string_value(json_object_get(doc, "format")) ?: "", "moksha.plan/v1") == 0;
    if (!mk_jalloc_installed()) /* else the arenas hold it */
        json_decref(doc);
    return plan;
}

/* The resolved directory a path is (or would be) in; malloc'd, or NULL. */
static char *parent_of(const char *path)
{
    size_t n = strlen(path);
    char *copy = mk_mem_alloc(n + 2);
    memcpy(copy, path, n + 1);
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = 0;
    else
        *slash = 0;
    char *real = realpath(copy, NULL);
    mk_mem_free(copy);
    return real;
}

/* 0: not under a .moksha/; 1: directly in it; 2: deeper. Any directory
 * named .moksha is one — another stack's (`-o ../b/.moksha/state.lock`)
 * is no less a state, a key and an audit log — and so is what this
 * stack's .moksha resolves to, whatever its name. */
static int depth_in_moksha_dir(const char *dir)
{
    char *top = realpath(".moksha", NULL);
    size_t n = top ? strlen(top) : 0;
    int d = !top || strncmp(dir, top, n) != 0 ? 0 : dir[n] == 0 ? 1 : dir[n] == '/' ? 2 : 0;
    free(top);
    for (const char *c = strstr(dir, "/.moksha"); c && !d; c = strstr(c + 1, "/.moksha"))
        d = c[8] == 0 ? 1 : c[8] == '/' ? 2 : 0;
    return d;
}

bool mk_planfile_target_ok(const char *path, char *why, size_t whylen)
{
    struct stat lsb, sb;
    bool exists = lstat(path, &lsb) == 0, link = exists && S_ISLNK(lsb.st_mode);
    char *real = link ? realpath(path, NULL) : NULL; /* a link is judged by what it points to */
    const char *target = real ? real : path;
    const char *name = strrchr(target, '/');
    name = name ? name + 1 : target;
    size_t nlen = strlen(name);
    char *dir = parent_of(target);
    int depth = dir ? depth_in_moksha_dir(dir) : 0;
    const char *via = link ? " (through a link)" : "";
    why[0] = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(why, whylen, "`%s` is a directory%s", path, via);
    else if (nlen >= 7 && strcmp(name + nlen - 7, ".moksha") == 0)
        snprintf(why, whylen, "`%s` is a moksha source file%s", path, via);
    else if (depth == 2 || (depth == 1 && !(nlen > 5 && strcmp(name + nlen - 5, ".plan") == 0)))
        snprintf(why, whylen, "`%s` is under .moksha/, which holds the state, the key and the audit log%s: only a "
                 "NAME.plan file directly in it may be written", path, via);
    else if (exists && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        snprintf(why, whylen, "`%s` is not a regular file%s", path, via);
    else if (exists && stat(path, &sb) == 0 && !holds_a_plan(path))
        snprintf(why, whylen, "`%s` exists and is not a plan file%s: it is not replaced", path, via);
    free(real);
    free(dir);
    return why[0] == 0;
}

bool mk_planfile_write(const char *text, const char *path)
{
    struct iovec parts[] = {{(void *)text, strlen(text)}, {"\n", 1}};
    return mk_atomic_write(path, parts, 2, 0600);
}
