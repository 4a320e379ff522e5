/* approvalcmd — see approvalcmd.h. */
#include "runtime/approvalcmd.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/approval.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exec.h"
#include "runtime/exitcode.h"
#include "runtime/fileio.h"
#include "runtime/paths.h"
#include "runtime/planfile.h"
#include "runtime/session.h"
#include "runtime/trust.h"

/* The trust file and the stack's id, for both commands. */
static mk_trust *open_trust(mk_config *cfg, char stack_id[33])
{
    char why[1024];
    if (!mk_config_load(cfg, why, sizeof why)) {
        mk_errmsg_print(why);
        return NULL;
    }
    if (!cfg->trust.on) {
        fprintf(stderr, "moksha-exec: error: approvals are for trust mode: %s has no trust section (outside trust "
                "mode a gate opens with apply --approve POLICY)\n", cfg->path);
        mk_config_free(cfg);
        return NULL;
    }
    mk_trust *t = mk_trust_open(cfg, false, why, sizeof why);
    if (t && !mk_planfile_stack_id(MK_PATH_DIR, stack_id, why, sizeof why)) {
        mk_trust_free(t);
        t = NULL;
    }
    if (!t) {
        mk_errmsg_print(why);
        mk_config_free(cfg);
    }
    return t;
}

static void store_dir(char *out, size_t n) { snprintf(out, n, "%s/approvals", MK_PATH_ENV_DIR); }

/* Remove the kept approvals that expired (they count for nothing). */
static void prune(const char *store, time_t now)
{
    DIR *d = opendir(store);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[600];
        if (strlen(e->d_name) != 37 || strcmp(e->d_name + 32, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", store, e->d_name);
        size_t n;
        char *text = mk_fileio_read(path, &n);
        json_t *env = text ? json_loadb(text, n, 0, NULL) : NULL;
        const char *pl = json_string_value(json_object_get(env, "payload"));
        json_t *p = pl ? json_loads(pl, 0, NULL) : NULL;
        json_decref(env);
        struct tm tm = {0};
        const char *exp = json_string_value(json_object_get(p, "expires"));
        if (exp && strptime(exp, "%Y-%m-%dT%H:%M:%SZ", &tm) && timegm(&tm) <= now &&
            strcmp(json_string_value(json_object_get(p, "kind")), "revoke") != 0)
            unlink(path);
        json_decref(p);
        free(text);
    }
    if (d)
        closedir(d);
}

static json_t *with_submitter(json_t *e, const mk_exec_submitter *by)
{
    if (by && by->on)
        json_object_set_new(e, "submitter", json_pack("{s:I, s:I, s:I}", "uid", (json_int_t)by->uid, "gid",
                                                      (json_int_t)by->gid, "pid", (json_int_t)by->pid));
    return e;
}

/* The audit entry of a kept approval. */
static json_t *added_entry(json_t *p, const char *name, const char *key_id)
{
    const char *kind = json_string_value(json_object_get(p, "kind"));
    json_t *by = json_pack("{s:s, s:s}", "name", name, "key_id", key_id);
    if (!strcmp(kind, "revoke"))
        return json_pack("{s:s, s:O, s:O, s:o, s:O}", "event", "approval.revoked", "id", json_object_get(p, "id"),
                         "revokes", json_object_get(p, "revokes"), "by", by, "reason", json_object_get(p, "reason"));
    if (!strcmp(kind, "ack"))
        return json_pack("{s:s, s:O, s:O, s:o, s:O}", "event", "break_glass.acknowledged", "id", json_object_get(p, "id"),
                         "plan_sha256", json_object_get(p, "acknowledges"), "by", by, "reason",
                         json_object_get(p, "reason"));
    return json_pack("{s:s, s:O, s:s, s:o, s:O, s:O}", "event", "approval.added", "id", json_object_get(p, "id"), "kind",
                     kind, "by", by, "expires", json_object_get(p, "expires"), "reason", json_object_get(p, "reason"));
}

int mk_approvalcmd_add_text(const char *text, size_t n, const char *what, const mk_exec_submitter *by)
{
    mk_config cfg;
    char stack_id[33], why[1024], key_id[17] = "", name[65] = "", lock_id[37];
    mk_trust *t = open_trust(&cfg, stack_id);
    if (!t)
        return MK_EXIT_INPUT;
    const char *env = mk_paths_now.env[0] ? mk_paths_now.env : NULL;
    json_t *p = mk_approval_check(t, text, n, stack_id[0] ? stack_id : NULL, env, time(NULL), name, key_id, why,
                                  sizeof why);
    mk_session s = {.cfg = &cfg};
    int rc = mk_session_open(&s, "approval add", lock_id);
    if (rc) {
        mk_session_free(&s);
        json_decref(p);
        mk_trust_free(t);
        mk_config_free(&cfg);
        return rc;
    }
    char store[160], path[400] = "";
    store_dir(store, sizeof store);
    if (!p) {
        fprintf(stderr, "moksha-exec: error: %s: refused: %s\n", what, why);
        mk_session_add(&s, with_submitter(json_pack("{s:s, s:s?, s:s, s:s}", "event", "approval.refused", "key_id",
                                                     key_id[0] ? key_id : NULL, "reason", why, "from", what), by));
        rc = MK_EXIT_INPUT;
    } else {
        mk_approval_store_path(store, json_string_value(json_object_get(p, "id")), path, sizeof path);
        prune(store, time(NULL));
        if (!mk_fileio_mkdirs(store) || chmod(store, 0700) != 0 || !mk_fileio_write_atomic(path, text, n, true, false) ||
            chmod(path, 0600) != 0) {
            fprintf(stderr, "moksha-exec: error: cannot keep the approval in %s: %s\n", path, strerror(errno));
            rc = MK_EXIT_INPUT;
        } else {
            mk_session_add(&s, with_submitter(added_entry(p, name, key_id), by));
            const char *kind = json_string_value(json_object_get(p, "kind"));
            printf("Kept %s approval %.8s by %s (key %s)%s%s; it expires %s.\n", kind,
                   json_string_value(json_object_get(p, "id")), name, key_id,
                   !strcmp(kind, "revoke") ? ", revoking " : "",
                   !strcmp(kind, "revoke") ? json_string_value(json_object_get(p, "revokes")) : "",
                   json_string_value(json_object_get(p, "expires")));
        }
    }
    if (!mk_session_flush(&s) && !rc)
        rc = MK_EXIT_INPUT;
    mk_session_close(&s, lock_id, rc);
    mk_session_free(&s);
    json_decref(p);
    mk_trust_free(t);
    mk_config_free(&cfg);
    fflush(stdout);
    return rc;
}

int mk_approvalcmd_list(bool json)
{
    mk_config cfg;
    char stack_id[33], store[160];
    mk_trust *t = open_trust(&cfg, stack_id);
    if (!t)
        return MK_EXIT_INPUT;
    store_dir(store, sizeof store);
    json_t *events = json_array(), *v;
    const char *env = mk_paths_now.env[0] ? mk_paths_now.env : NULL;
    mk_approvals *a = mk_approval_load(t, stack_id[0] ? stack_id : NULL, env, store, NULL, 0, NULL, NULL, time(NULL), events);
    json_t *list = mk_approval_list(a);
    size_t i;
    if (json) {
        json_t *doc = json_pack("{s:O, s:O}", "approvals", list, "refused", events);
        char *out = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", out ? out : "{}");
        free(out);
        json_decref(doc);
    } else {
        if (!json_array_size(list))
            printf("No approvals kept%s%s.\n", env ? " for environment " : "", env ? env : "");
        json_array_foreach(list, i, v)
            printf("%.8s  %-11s  by %s (key %s)  expires %s%s  %s\n", json_string_value(json_object_get(v, "id")),
                   json_string_value(json_object_get(v, "kind")), json_string_value(json_object_get(v, "by")),
                   json_string_value(json_object_get(v, "key_id")), json_string_value(json_object_get(v, "expires")),
                   json_is_true(json_object_get(v, "revoked")) ? "  REVOKED" : "",
                   json_string_value(json_object_get(v, "reason")));
        json_array_foreach(events, i, v)
            printf("refused  %s: %s\n", json_string_value(json_object_get(v, "from")),
                   json_string_value(json_object_get(v, "reason")));
    }
    json_decref(list);
    json_decref(events);
    mk_approval_free(a);
    mk_trust_free(t);
    mk_config_free(&cfg);
    return MK_EXIT_OK;
}

int mk_approvalcmd_run(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "add") == 0) {
        size_t n;
        char *text = mk_fileio_read(argv[2], &n);
        if (!text) {
            fprintf(stderr, "moksha-exec: error: %s: cannot read it: %s\n", argv[2], strerror(errno));
            return MK_EXIT_INPUT;
        }
        int rc = mk_approvalcmd_add_text(text, n, argv[2], NULL);
        free(text);
        return rc;
    }
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return mk_approvalcmd_list(false);
    if (argc == 4 && strcmp(argv[1], "list") == 0 && strcmp(argv[2], "--format") == 0 &&
        (!strcmp(argv[3], "json") || !strcmp(argv[3], "text")))
        return mk_approvalcmd_list(strcmp(argv[3], "json") == 0);
    fputs("usage: moksha-exec approval add FILE | list [--format text|json]\n", stderr);
    return MK_EXIT_INPUT;
}
