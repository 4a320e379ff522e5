/* migrate — a stack+environment moved between backends (migrate.h).
 *
 * The order is the contract's: both locks (the source's first, so a
 * second migration of the same stack waits on it), the target's
 * emptiness, the source read whole (state bytes, log lines and head,
 * observations), one import, then the digest of the state read back from
 * the target against the source's. Only then is each side's audit log told
 * (`state.migrate`, naming the other side and the digest), the target's
 * first: the copy is what must be recorded; the source's line says where
 * its state went. Nothing here opens a secret: sealed values travel as the
 * bytes they are. */
#include "runtime/migrate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/audit.h"
#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/errmsg.h"
#include "runtime/exitcode.h"
#include "runtime/historycmd.h"
#include "runtime/keyring.h"
#include "runtime/paths.h"
#include "runtime/rtstate.h"
#include "runtime/sha256.h"

#define MIGRATE_USAGE "usage: moksha-exec state migrate --to postgres|local [--stack NAME]\n"

/* What a migration carries: the source's bytes. */
typedef struct carried {
    char *state, *lines, *head, *observed;
    size_t nstate, nlines, nobserved;
    char digest[65];
} carried;

typedef struct side {
    mk_backend *b;
    char lock[37];
    bool locked;
} side;

static bool parse(int argc, char **argv, const char **to, const char **stack)
{
    *to = NULL, *stack = mk_backend_stack(); /* --stack is main.c's (note [options anywhere]) */
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--to") && v && (!strcmp(v, "postgres") || !strcmp(v, "local")))
            *to = v, i++;
        else {
            fprintf(stderr, "moksha-exec: error: bad argument `%s`\n" MIGRATE_USAGE, argv[i]);
            return false;
        }
    }
    if (!*to)
        fputs("moksha-exec: error: migrate needs --to postgres or --to local\n" MIGRATE_USAGE, stderr);
    return *to != NULL;
}

static int lock_side(side *s, char *why, size_t whylen)
{
    mk_lock_status ls = mk_backend_lock(s->b, "state migrate", NULL, 0, s->lock, NULL, why, whylen);
    s->locked = ls == MK_LOCK_TAKEN;
    return s->locked ? 0 : ls == MK_LOCK_HELD ? MK_EXIT_LOCKED : MK_EXIT_INPUT;
}

/* note [non-empty target]: what the target holds, named, so the operator
 * knows what a migration would have overwritten. */
static void say_not_empty(mk_backend *b)
{
    char why[512] = "", what[768] = "";
    size_t n;
    bool absent = true;
    char *t = mk_backend_state_text(b, -1, &n, &absent, why, sizeof why);
    json_t *doc = t ? json_loadb(t, n, 0, NULL) : NULL;
    if (doc)
        snprintf(what, sizeof what, "a state at serial %lld with %zu resource%s",
                 (long long)json_integer_value(json_object_get(doc, "serial")),
                 json_array_size(json_object_get(doc, "resources")),
                 json_array_size(json_object_get(doc, "resources")) == 1 ? "" : "s");
    else if (!absent)
        snprintf(what, sizeof what, "a state that does not read (%s)", why);
    json_decref(doc);
    free(t);
    char *head = NULL, *lines = mk_backend_audit_text(b, &n, &head, why, sizeof why);
    size_t nl = 0;
    for (size_t i = 0; lines && i < n; i++)
        nl += lines[i] == '\n';
    if (nl)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%san audit log of %zu entr%s", *what ? ", " : "",
                 nl, nl == 1 ? "y" : "ies");
    free(lines);
    free(head);
    if (!*what)
        snprintf(what, sizeof what, "observations of a refresh");
    fprintf(stderr, "moksha-exec: error: the target (%s) is not empty: it holds %s; nothing was copied "
                    "(migrate only into an empty backend)\n", mk_backend_info_of(b)->location, what);
}

static bool take(mk_backend *src, carried *c, char *why, size_t whylen)
{
    bool absent = false, noobs = false;
    c->state = mk_backend_state_text(src, -1, &c->nstate, &absent, why, whylen);
    if (!c->state) {
        if (absent)
            snprintf(why, whylen, "%s holds no state for this stack: nothing to migrate",
                     mk_backend_info_of(src)->location);
        return false;
    }
    mk_sha256_hex(c->state, c->nstate, c->digest);
    c->lines = mk_backend_audit_text(src, &c->nlines, &c->head, why, whylen);
    if (!c->lines && c->nlines == 0 && *why)
        return false;
    why[0] = 0;
    c->observed = mk_backend_observed_text(src, &c->nobserved, &noobs, why, whylen);
    return c->observed || noobs;
}

/* The target's state read back: the same bytes, by digest, or false with why. */
static bool verified(mk_backend *dst, const carried *c, char *why, size_t whylen)
{
    size_t n;
    bool absent = false;
    char *back = mk_backend_state_text(dst, -1, &n, &absent, why, whylen), got[65] = "";
    if (back)
        mk_sha256_hex(back, n, got);
    free(back);
    if (back && strcmp(got, c->digest) == 0)
        return true;
    if (back || absent)
        snprintf(why, whylen, "the state read back from %s is not the one copied (SHA-256 %s, expected %s)",
                 mk_backend_info_of(dst)->location, back ? got : "(none)", c->digest);
    return false;
}

/* One `state.migrate` entry in b's log, against b's state's mark. */
static bool audit_side(mk_backend *b, const mk_config *cfg, json_t *fields, const char *run, char *why, size_t whylen)
{
    mk_keyring k;
    mk_audit_mark m;
    bool ok = false;
    mk_rtstate *st = mk_backend_load(b, why, whylen);
    if (st && mk_keyring_open(&k, cfg, NULL, MK_PATH_DIR, why, whylen)) {
        mk_rtstate_audit_record(st, &m);
        mk_audit *a = mk_backend_audit_open(b, &k, &m, why, whylen);
        char *line = a ? mk_audit_entry(a, fields) : NULL;
        mk_backend_write w = {.lines = line, .nlines = line ? strlen(line) : 0, .serial = mk_rtstate_serial(st),
                              .expect = mk_rtstate_serial(st), .operation = "state migrate", .run = run};
        ok = line && mk_backend_persist(b, a, &w, why, whylen);
        free(line);
        mk_audit_close(a);
        mk_keyring_free(&k);
    }
    mk_rtstate_free(st);
    json_decref(fields);
    return ok;
}

static void audit_both(side *src, side *dst, const mk_config *cfg, const carried *c)
{
    char why[1024];
    const mk_backend_info *si = mk_backend_info_of(src->b), *di = mk_backend_info_of(dst->b);
    json_t *to = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "state.migrate", "from", si->kind, "to", di->kind,
                           "location", si->location, "state_sha256", c->digest);
    if (!audit_side(dst->b, cfg, to, dst->lock, why, sizeof why))
        fprintf(stderr, "moksha-exec: warning: the migration is not in the target's audit log: %s\n", why);
    json_t *from = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "state.migrate", "from", si->kind, "to", di->kind,
                             "location", di->location, "state_sha256", c->digest);
    if (!audit_side(src->b, cfg, from, src->lock, why, sizeof why))
        fprintf(stderr, "moksha-exec: warning: the migration is not in the source's audit log: %s\n", why);
}

/* Under both locks: empty target, copy, verify, audit. */
static int copy(side *src, side *dst, const mk_config *cfg)
{
    char why[1024] = "";
    bool empty = false;
    carried c = {0};
    int rc = MK_EXIT_INPUT;
    if (!mk_backend_is_empty(dst->b, &empty, why, sizeof why))
        mk_errmsg_print(why);
    else if (!empty)
        say_not_empty(dst->b);
    else if (!take(src->b, &c, why, sizeof why) ||
             !mk_backend_import(dst->b, c.state, c.nstate, c.lines, c.nlines, c.head, c.observed, c.nobserved, why,
                                sizeof why) ||
             !verified(dst->b, &c, why, sizeof why))
        mk_errmsg_print(why);
    else
        rc = 0;
    if (rc == 0) {
        audit_both(src, dst, cfg, &c);
        printf("Migrated %s to %s: state (SHA-256 %s, verified), audit log and observations; %s is left as it "
               "was. Point the configuration's state.backend at %s to use it.\n",
               mk_backend_info_of(src->b)->location, mk_backend_info_of(dst->b)->location, c.digest,
               mk_backend_info_of(src->b)->location, mk_backend_info_of(dst->b)->kind);
    }
    free(c.state), free(c.lines), free(c.head), free(c.observed);
    return rc;
}

static int migrate(mk_config *cfg, side *src, const char *to, const char *stack)
{
    char why[1024];
    side dst = {0};
    if (!strcmp(mk_backend_info_of(src->b)->kind, to)) {
        fprintf(stderr, "moksha-exec: error: the state is on %s already (%s): nothing to migrate\n", to,
                mk_backend_info_of(src->b)->location);
        return MK_EXIT_INPUT;
    }
    dst.b = mk_backend_open(cfg, to, stack, mk_paths_now.env, why, sizeof why);
    int rc = dst.b ? lock_side(src, why, sizeof why) : MK_EXIT_INPUT;
    if (!rc)
        rc = lock_side(&dst, why, sizeof why);
    if (rc)
        mk_errmsg_print(why);
    else
        rc = copy(src, &dst, cfg);
    if (dst.locked)
        mk_backend_unlock(dst.b, dst.lock);
    if (src->locked)
        mk_backend_unlock(src->b, src->lock);
    mk_backend_close(dst.b);
    return rc;
}

int mk_migrate_run(int argc, char **argv)
{
    const char *to, *stack;
    mk_config cfg;
    char why[1024];
    side src = {0};
    if (!parse(argc, argv, &to, &stack))
        return MK_EXIT_INPUT;
    src.b = mk_historycmd_open(&cfg, NULL, stack, why, sizeof why);
    if (!src.b) {
        mk_errmsg_print(why);
        return MK_EXIT_INPUT;
    }
    int rc = migrate(&cfg, &src, to, stack);
    fflush(stdout);
    mk_backend_close(src.b);
    mk_config_free(&cfg);
    return rc;
}
