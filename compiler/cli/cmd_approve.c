/* cmd_approve — `moksha approve` and `moksha approval add|list`
 * (cmd_approve.h). An approval is built from what it approves — a signed
 * plan file read with the compiler's plan reader, a stack's id, another
 * approval — signed with the approver's key (compiler/base/approvalfile.h)
 * and written to a new file; whether it counts is the executor's to say
 * (runtime/approval.c). Handing approvals to the executor is moksha-exec's
 * (compiler/cli/spawn.h) or the service's (compiler/cli/submit.h). */
#include "compiler/cli/cmd_approve.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compiler/back/planfile.h"
#include "compiler/base/approvalfile.h"
#include "compiler/base/diag.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"
#include "compiler/cli/spawn.h"
#include "compiler/cli/submit.h"
#include "compiler/middle/plan.h"
#include "compiler/pipeline.h"

static const char APPROVE_HELP[] =
    "usage: moksha approve PLAN [GATE...] --key KEY --reason TEXT [options]\n"
    "       moksha approve PLAN --override POLICY --key KEY --reason TEXT [options]\n"
    "       moksha approve --waiver POLICY:ADDRESS [--stack-dir DIR] --key KEY --reason TEXT [options]\n"
    "       moksha approve PLAN --break-glass --key KEY --reason TEXT [options]\n"
    "       moksha approve --revoke APPROVAL_FILE --key KEY --reason TEXT [options]\n"
    "       moksha approve --ack PLAN_SHA256 [--stack-dir DIR] --key KEY --reason TEXT [options]\n"
    "\n"
    "Sign an approval (moksha.approval/v1, docs/trust.md \"Giving an approval\")\n"
    "with an approver's Ed25519 key and write it to a new file. With a signed plan\n"
    "(Ed25519, trust mode) it approves the plan's gates: each GATE is POLICY or\n"
    "POLICY:ADDRESS as --approve takes them (none: every gate of the plan), bound\n"
    "to the digests of the changes it stands in front of, so the approval counts\n"
    "for the next plan of the same change too, and for no other change.\n"
    "\n"
    "  --override POLICY        override a soft policy's violations in this plan\n"
    "  --waiver POLICY:ADDRESS  waive a policy at one address, across plans, until it\n"
    "                           expires (put the file in the stack's waivers/)\n"
    "  --break-glass            open every gate of this plan (with the trust file's\n"
    "                           break-glass count of approvers); lives 4h at most\n"
    "  --revoke FILE            revoke the approval in FILE\n"
    "  --ack PLAN_SHA256        acknowledge a break glass (its audit entry's plan_sha256)\n"
    "\n"
    "options:\n"
    "  --key KEY                the approver's private key file (mode 0600; moksha key new)\n"
    "  --reason TEXT            why, 1 to 1024 bytes, no control characters (required)\n"
    "  --expires DURATION       its lifetime: 30m, 24h, 7d, ... (default 24h, break glass\n"
    "                           1h; at most 7d, break glass 4h)\n"
    "  -o FILE                  where to write it (default KIND-ID8.approval here); an\n"
    "                           existing file is never replaced\n"
    "  --stack-dir DIR          the stack whose .moksha/stack-id a waiver or an ack names\n"
    "                           (default .); its environment: --env or MOKSHA_ENV\n"
    "  --format text|json       what is printed of the approval (default text)\n"
    "\n"
    "MOKSHA_EXEC_SOCKET=PATH also submits the approval to `moksha-exec serve`\n"
    "there, which keeps it with the stack (as `moksha approval add` does).\n";

static const char APPROVAL_HELP[] =
    "usage: moksha approval add FILE...\n"
    "       moksha approval list [--format text|json]\n"
    "\n"
    "Hand approvals (moksha approve) to the executor, which verifies each now\n"
    "(signature, approver, stack and environment, expiry) and keeps it with the\n"
    "stack's state, or list those it keeps. Runs `moksha-exec approval add|list`,\n"
    "or with MOKSHA_EXEC_SOCKET set the service's `approval add|list`.\n";

#define LIFE_DEFAULT (24 * 3600LL)
#define GLASS_DEFAULT 3600LL

typedef struct approve_args {
    const char *plan, *key, *reason, *expires, *out, *override, *waiver, *revoke, *ack, *stack_dir, *format;
    bool glass;
    const char **gates;
    size_t ngates;
} approve_args;

static bool take_arg(void *ud, const char *s, bool *bad)
{
    approve_args *x = ud;
    (void)bad;
    if (s[0] == '-' && s[1])
        return false;
    if (!x->plan)
        x->plan = s;
    else
        x->gates = mk_options_push(x->gates, &x->ngates, s);
    return true;
}

/* DURATION: a whole number and s, m, h or d; its seconds, or -1. */
static long long duration(const char *s)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    long long unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
    if (errno || end == s || !unit || n <= 0 || s[0] == '+' || n > 365 * 86400LL)
        return -1;
    return n * unit;
}

static void utc(long long t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The payload's common fields, for kind in stack_id/env. */
static json_t *payload_head(const char *kind, const char *stack_id, const char *env, const approve_args *x, long long life)
{
    uint8_t raw[16];
    char id[33], issued[21], expires[21];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    mk_key_hex(raw, sizeof raw, id);
    long long now = (long long)time(NULL);
    utc(now, issued), utc(now + life, expires);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s}", "kind", kind, "id", id, "stack_id", stack_id, "env", env,
                     "issued", issued, "expires", expires, "reason", x->reason);
}

/* ---- the plan ---- */

typedef struct plan_in {
    json_t *doc;
    mk_plan *model;
} plan_in;

/* The plan at path, verified: signed with Ed25519 (trust mode: only such a
 * plan is applied with approvals), its body's digest and signature checked,
 * read by the plan reader. Said and false otherwise. */
static bool plan_load(const char *path, plan_in *p)
{
    char why[4600];
    memset(p, 0, sizeof *p);
    if (!(p->doc = mk_jsonfile_load(path, JSON_REJECT_DUPLICATES, why, sizeof why))) {
        mk_cli_err("%s", why);
        return false;
    }
    const char *signer = mk_planfile_signer(p->doc);
    if (!json_is_object(json_object_get(p->doc, "signature")))
        mk_cli_err("%s is not signed: an approval binds to a signed plan (moksha plan -o %s)", path, path);
    else if (!signer || !*signer)
        mk_cli_err("%s is signed with a project key (HMAC-SHA256), not a planner's Ed25519 key: approvals are for "
                   "trust mode, where the executor takes only plans a planner key signed (plan with "
                   "MOKSHA_SIGNING_KEY=PLANNER.key or --signing-key; docs/trust.md)", path);
    else if (!mk_planfile_verify(p->doc, path, NULL, why, sizeof why))
        mk_cli_err("%s", why);
    else if (!(p->model = mk_planfile_read(p->doc, why, sizeof why)))
        mk_cli_err("%s: %s", path, why);
    else
        return true;
    json_decref(p->doc);
    p->doc = NULL;
    return false;
}

static void plan_free(plan_in *p)
{
    mk_plan_free(p->model);
    json_decref(p->doc);
}

static const char *plan_stack_id(const plan_in *p)
{
    return json_string_value(json_object_get(json_object_get(p->doc, "state"), "stack_id"));
}

static const char *plan_env(const plan_in *p) { return json_string_value(json_object_get(p->doc, "env")); }

/* The (address, digest) of the changes gate g stands in front of: its
 * change, or every change of the plan for a plan-level gate. */
static json_t *gate_changes(const plan_in *p, const mk_gate *g)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(json_object_get(p->doc, "changes"), i, c) {
        json_t *jid = json_object_get(c, "id"); /* absent: its place in the list, from 1 */
        json_int_t id = jid ? json_integer_value(jid) : (json_int_t)i + 1;
        char hex[65];
        if (g->change && id != (json_int_t)g->change)
            continue;
        /* the change as the executor reads it (runtime/planfile.c,
         * mk_planfile_put_back): each unknown attribute the writer left out
         * of `after` is there as null — else no create's digest agrees */
        json_t *whole = json_deep_copy(c), *after = json_object_get(whole, "after"), *u;
        size_t k;
        if (json_is_object(after))
            json_array_foreach(json_object_get(whole, "after_unknown"), k, u)
                if (json_is_string(u) && !json_object_get(after, json_string_value(u)))
                    json_object_set_new(after, json_string_value(u), json_null());
        bool ok = mk_approvalfile_change_digest(whole, hex);
        json_decref(whole);
        if (!ok)
            continue;
        json_array_append_new(out, json_pack("{s:s, s:s}", "address", json_string_value(json_object_get(c, "address")),
                                             "digest", hex));
    }
    return out;
}

/* Does gate g match the GATE argument a (POLICY or POLICY:ADDRESS; a
 * policy `trust:NAME` keeps its colon)? */
static bool gate_named(const mk_gate *g, const char *a)
{
    const char *colon = strchr(!strncmp(a, "trust:", 6) ? a + 6 : a, ':');
    size_t n = colon ? (size_t)(colon - a) : strlen(a);
    const char *pol = g->policy ? g->policy : "";
    if (strlen(pol) != n || strncmp(pol, a, n) != 0)
        return false;
    return !colon || (g->address && !strcmp(g->address, colon + 1));
}

/* GATE a names no gate of the plan: said, with the nearest. */
static void no_gate(const plan_in *p, const char *path, const char *a)
{
    const char **cands = mk_mem_calloc(p->model->ngates + 1, sizeof *cands);
    char **texts = mk_mem_calloc(p->model->ngates + 1, sizeof *texts);
    for (size_t i = 0; i < p->model->ngates; i++) {
        const mk_gate *g = &p->model->gates[i];
        size_t n = strlen(g->policy ? g->policy : "") + strlen(g->address ? g->address : "") + 2;
        texts[i] = mk_mem_alloc(n);
        snprintf(texts[i], n, "%s%s%s", g->policy ? g->policy : "", g->address ? ":" : "", g->address ? g->address : "");
        cands[i] = texts[i];
    }
    const char *s = mk_diag_suggest(a, cands, p->model->ngates);
    mk_cli_err("%s has no gate `%s`%s%s%s (moksha show %s lists its gates)", path, a, s ? ": did you mean `" : "",
               s ? s : "", s ? "`?" : "", path);
    for (size_t i = 0; i < p->model->ngates; i++)
        mk_mem_free(texts[i]);
    mk_mem_free(texts), mk_mem_free(cands);
}

/* The `gates` of a gate approval: those named, or every gate. */
static json_t *gates_of(const plan_in *p, const approve_args *x)
{
    json_t *gates = json_array();
    bool *used = mk_mem_calloc(p->model->ngates + 1, sizeof *used);
    bool ok = true;
    for (size_t k = 0; k < x->ngates && ok; k++) {
        bool hit = false;
        for (size_t i = 0; i < p->model->ngates; i++)
            if (gate_named(&p->model->gates[i], x->gates[k]))
                hit = used[i] = true;
        if (!hit)
            no_gate(p, x->plan, x->gates[k]), ok = false;
    }
    for (size_t i = 0; ok && i < p->model->ngates; i++) {
        const mk_gate *g = &p->model->gates[i];
        if (x->ngates && !used[i])
            continue;
        json_t *changes = gate_changes(p, g);
        if (!json_array_size(changes)) {
            mk_cli_err("%s: the gate of %s%s%s stands in front of no change of the plan: there is nothing to approve",
                       x->plan, g->policy, g->address ? " on " : "", g->address ? g->address : "");
            json_decref(changes);
            ok = false;
            break;
        }
        json_array_append_new(gates, json_pack("{s:s, s:s?, s:s, s:o}", "policy", g->policy, "address", g->address,
                                               "group", g->group, "changes", changes));
    }
    if (ok && !json_array_size(gates))
        mk_cli_err("%s has no approval gates: nothing to approve (its policies' gates: docs/policies.md \"Approval "
                   "gates\")", x->plan), ok = false;
    mk_mem_free(used);
    if (!ok)
        json_decref(gates);
    return ok ? gates : NULL;
}

/* The policy result named policy in the plan, or NULL (said). */
static json_t *policy_result(const plan_in *p, const char *path, const char *policy)
{
    json_t *r;
    size_t i;
    const char **names = mk_mem_calloc(json_array_size(p->model->policies) + 1, sizeof *names);
    json_array_foreach(p->model->policies, i, r) {
        names[i] = json_string_value(json_object_get(r, "name"));
        if (names[i] && !strcmp(names[i], policy)) {
            mk_mem_free(names);
            return r;
        }
    }
    const char *s = mk_diag_suggest(policy, names, json_array_size(p->model->policies));
    mk_cli_err("%s has no policy `%s`%s%s%s", path, policy, s ? ": did you mean `" : "", s ? s : "", s ? "`?" : "");
    mk_mem_free(names);
    return NULL;
}

/* ---- each kind's payload ---- */

static json_t *from_plan(const approve_args *x, const char *kind, long long life)
{
    plan_in p;
    if (!plan_load(x->plan, &p))
        return NULL;
    json_t *body = NULL, *head = payload_head(kind, plan_stack_id(&p) ? plan_stack_id(&p) : "", plan_env(&p), x, life);
    if (!strcmp(kind, "gate")) {
        body = gates_of(&p, x);
        if (body)
            json_object_set_new(head, "gates", body);
    } else if (!strcmp(kind, "override")) {
        json_t *r = policy_result(&p, x->plan, x->override);
        char hex[65];
        if (r && !json_array_size(json_object_get(r, "violations")))
            mk_cli_err("policy %s has no violations in %s: there is nothing to override", x->override, x->plan);
        else if (r && mk_approvalfile_violations_digest(r, hex))
            json_object_set_new(head, "policy", json_string(x->override)),
                json_object_set_new(head, "violations", json_string(hex)), body = head;
    } else { /* break_glass */
        const char *digest = json_string_value(json_object_get(json_object_get(p.doc, "signature"), "digest"));
        json_object_set_new(head, "plan", json_string(digest ? digest : ""));
        body = head;
    }
    if (!plan_stack_id(&p)) {
        mk_cli_err("%s names no stack id (its state.stack_id): plan it again in its stack", x->plan);
        body = NULL;
    } else if (body && mk_cli_opts.env && (!plan_env(&p) || strcmp(plan_env(&p), mk_cli_opts.env))) {
        mk_cli_err("%s is a plan of %s%s%s, not of --env %s (or MOKSHA_ENV): an approval is of the plan's environment",
                   x->plan, plan_env(&p) ? "environment " : "no environment", plan_env(&p) ? plan_env(&p) : "", "",
                   mk_cli_opts.env);
        body = NULL;
    }
    plan_free(&p);
    if (!body)
        json_decref(head);
    return body ? head : NULL;
}

/* DIR/.moksha/stack-id into id; false (said) when there is none. */
static bool stack_id_of(const char *dir, char id[33])
{
    char path[4200], buf[128];
    snprintf(path, sizeof path, "%s/%s/stack-id", dir, MOKSHA_DIR);
    long n = mk_key_read_small(path, buf, sizeof buf, NULL);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    if (n != 32 || strspn(buf, "0123456789abcdef") != 32) {
        mk_cli_err("%s: %s (the stack's id, made by its first plan; --stack-dir names the stack)", path,
                   n < 0 ? strerror(errno) : "not a stack id of 32 lowercase hex digits");
        return false;
    }
    memcpy(id, buf, 33);
    return true;
}

static json_t *waiver(const approve_args *x, long long life)
{
    char id[33];
    const char *colon = strchr(x->waiver, ':');
    if (!colon || colon == x->waiver || !colon[1]) {
        mk_cli_err("--waiver takes POLICY:ADDRESS (a waiver is of one policy at one resource), not `%s`", x->waiver);
        return NULL;
    }
    if (!stack_id_of(x->stack_dir ? x->stack_dir : ".", id))
        return NULL;
    json_t *p = payload_head("waiver", id, mk_cli_opts.env, x, life);
    char *pol = mk_mem_strdup(x->waiver);
    pol[colon - x->waiver] = 0;
    json_object_set_new(p, "policy", json_string(pol));
    json_object_set_new(p, "address", json_string(colon + 1));
    mk_mem_free(pol);
    return p;
}

static json_t *revoke(const approve_args *x, long long life)
{
    mk_approvalfile a;
    char why[2048];
    if (!mk_approvalfile_read(x->revoke, &a, why, sizeof why)) {
        mk_cli_err("--revoke %s", why);
        return NULL;
    }
    json_t *p = NULL;
    if (!strcmp(a.kind, "revoke") || !strcmp(a.kind, "ack"))
        mk_cli_err("--revoke %s: it is a%s %s, which approves nothing: there is nothing to revoke", x->revoke,
                   !strcmp(a.kind, "ack") ? "n" : "", a.kind);
    else if ((p = payload_head("revoke", a.stack_id, a.env, x, life)))
        json_object_set_new(p, "revokes", json_string(a.id));
    mk_approvalfile_free(&a);
    return p;
}

static json_t *ack(const approve_args *x, long long life)
{
    char id[33];
    if (strlen(x->ack) != 64 || strspn(x->ack, "0123456789abcdef") != 64) {
        mk_cli_err("--ack takes the plan_sha256 of a break glass's audit entry (64 lowercase hex digits; moksha audit "
                   "show lists them), not `%.80s`", x->ack);
        return NULL;
    }
    if (!stack_id_of(x->stack_dir ? x->stack_dir : ".", id))
        return NULL;
    json_t *p = payload_head("ack", id, mk_cli_opts.env, x, life);
    json_object_set_new(p, "acknowledges", json_string(x->ack));
    return p;
}

/* ---- checks, writing, printing ---- */

static const char *kind_of(const approve_args *x)
{
    return x->override ? "override" : x->waiver ? "waiver" : x->glass ? "break_glass" : x->revoke ? "revoke" : x->ack ? "ack" : "gate";
}

/* The options make one approval; said and false otherwise. */
static bool args_ok(const approve_args *x, long long *life)
{
    int kinds = !!x->override + !!x->waiver + x->glass + !!x->revoke + !!x->ack;
    const char *kind = kind_of(x);
    bool plan = !strcmp(kind, "gate") || !strcmp(kind, "override") || !strcmp(kind, "break_glass");
    bool glass = !strcmp(kind, "break_glass");
    if (kinds > 1)
        mk_cli_err("--override, --waiver, --break-glass, --revoke and --ack each make their own approval: give one");
    else if (plan && !x->plan)
        mk_cli_err("approve needs the plan file it approves: moksha approve PLAN ... (see moksha approve --help)");
    else if (!plan && x->plan)
        mk_cli_err("a%s %s approval takes no plan file (`%s`)", !strcmp(kind, "ack") ? "n" : "", kind, x->plan);
    else if (x->ngates && strcmp(kind, "gate"))
        mk_cli_err("`%s`: only an approval of gates names gates", x->gates[0]);
    else if (x->stack_dir && strcmp(kind, "waiver") && strcmp(kind, "ack"))
        mk_cli_err("--stack-dir is for --waiver and --ack: the %s names its stack", plan ? "plan" : "approval revoked");
    else if (!x->key)
        mk_cli_err("approve needs --key KEY: the approver's private key file (moksha key new NAME makes one)");
    else if (!x->reason)
        mk_cli_err("approve needs --reason TEXT: why (it is kept in the audit log)");
    else if (strcmp(x->format, "text") && strcmp(x->format, "json"))
        mk_cli_err("--format takes text or json, not `%s`", x->format);
    else {
        long long max = glass ? MK_APPROVALFILE_GLASS_MAX : MK_APPROVALFILE_LIFE_MAX;
        *life = x->expires ? duration(x->expires) : glass ? GLASS_DEFAULT : LIFE_DEFAULT;
        if (*life < 0)
            mk_cli_err("--expires takes a duration: a whole number and s, m, h or d (30m, 24h, 7d), not `%s`", x->expires);
        else if (*life > max)
            mk_cli_err("--expires %s: %s lives %s at most", x->expires, glass ? "a break glass" : "an approval",
                       glass ? "4h" : "7d");
        else
            return true;
    }
    return false;
}

/* -o's path, or KIND-ID8.approval; an existing one said. */
static bool out_path(const approve_args *x, const mk_approvalfile *a, char *path, size_t n)
{
    struct stat sb;
    if (x->out)
        snprintf(path, n, "%s", x->out);
    else
        snprintf(path, n, "%s-%.8s.approval", a->kind, a->id);
    if (lstat(path, &sb) == 0) {
        mk_cli_err("%s exists: an approval never replaces a file (name another with -o, or remove it)", path);
        return false;
    }
    return true;
}

static void print_text(const mk_approvalfile *a, const char *path)
{
    json_t *d = a->doc, *g, *c;
    size_t i, k;
    char issued[21], expires[21];
    utc(a->issued, issued), utc(a->expires, expires);
    printf("approved: %s %s\n", a->kind, a->id);
    if (!strcmp(a->kind, "gate"))
        json_array_foreach(json_object_get(d, "gates"), i, g) {
            const char *addr = json_string_value(json_object_get(g, "address"));
            printf("  gate %s%s%s (group %s)\n", json_string_value(json_object_get(g, "policy")), addr ? " on " : "",
                   addr ? addr : " (the whole plan)", json_string_value(json_object_get(g, "group")));
            json_array_foreach(json_object_get(g, "changes"), k, c)
                printf("    %s  %s\n", json_string_value(json_object_get(c, "digest")),
                       json_string_value(json_object_get(c, "address")));
        }
    else if (!strcmp(a->kind, "override"))
        printf("  override of %s, violations %s\n", json_string_value(json_object_get(d, "policy")),
               json_string_value(json_object_get(d, "violations")));
    else if (!strcmp(a->kind, "waiver"))
        printf("  waiver of %s at %s\n", json_string_value(json_object_get(d, "policy")),
               json_string_value(json_object_get(d, "address")));
    else if (!strcmp(a->kind, "break_glass"))
        printf("  break glass of the plan %s\n", json_string_value(json_object_get(d, "plan")));
    else if (!strcmp(a->kind, "revoke"))
        printf("  revokes %s\n", json_string_value(json_object_get(d, "revokes")));
    else
        printf("  acknowledges the break glass %s\n", json_string_value(json_object_get(d, "acknowledges")));
    printf("stack:    %s%s%s\n", a->stack_id, a->env ? ", environment " : " (no environment)", a->env ? a->env : "");
    printf("key:      %s (%s)\n", a->key_id, a->key);
    printf("issued:   %s\nexpires:  %s\nfile:     %s\n", issued, expires, path);
}

static void print_json(const mk_approvalfile *a, const char *path)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "file", path, "kind", a->kind, "id", a->id, "key_id",
                          a->key_id, "key", a->key, "payload", a->doc);
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(o);
}

static int approve_run(approve_args *x, long long life)
{
    char err[4400];
    struct evp_pkey_st *key = mk_sign_load(x->key, err, sizeof err);
    if (!key) {
        mk_cli_err("--key %s", err);
        return EXIT_INPUT;
    }
    const char *kind = kind_of(x);
    json_t *p = !strcmp(kind, "waiver") ? waiver(x, life)
                : !strcmp(kind, "revoke") ? revoke(x, life)
                : !strcmp(kind, "ack")    ? ack(x, life)
                                          : from_plan(x, kind, life);
    mk_approvalfile a = {0};
    char path[4200];
    int rc = EXIT_INPUT;
    if (p && !mk_approvalfile_sign(p, key, &a, err, sizeof err))
        mk_cli_err("cannot make the approval: %s", err);
    else if (p && out_path(x, &a, path, sizeof path)) {
        if (!mk_approvalfile_write(&a, path, err, sizeof err))
            mk_cli_err("%s", err);
        else {
            rc = EXIT_OK;
            if (!strcmp(x->format, "json"))
                print_json(&a, path);
            else
                print_text(&a, path);
            if (mk_submit_socket()) {
                char *text = mk_approvalfile_envelope(&a);
                fflush(stdout);
                rc = mk_submit_approval(a.stack_id, a.env, text);
                mk_mem_free(text);
            }
        }
    }
    mk_approvalfile_free(&a);
    json_decref(p);
    mk_sign_free(key);
    return rc;
}

int mk_cmd_approve(int argc, char **argv)
{
    approve_args x = {.format = "text"};
    const mk_option opts[] = {
        {"--key", true, .str = &x.key},          {"--reason", true, .str = &x.reason},
        {"--expires", true, .str = &x.expires},  {"-o", true, .str = &x.out},
        {"--output", true, .str = &x.out},       {"--override", true, .str = &x.override},
        {"--waiver", true, .str = &x.waiver},    {"--break-glass", false, .flag = &x.glass},
        {"--revoke", true, .str = &x.revoke},    {"--ack", true, .str = &x.ack},
        {"--stack-dir", true, .str = &x.stack_dir}, {"--format", true, .str = &x.format},
    };
    mk_options spec = {"approve", "approve", APPROVE_HELP, opts, sizeof opts / sizeof *opts, .ud = &x, .arg = take_arg};
    int parsed = mk_options_parse(&spec, argc, argv);
    long long life = 0;
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (parsed == MK_OPTIONS_OK && args_ok(&x, &life))
        rc = approve_run(&x, life);
    mk_mem_free(x.gates);
    return rc;
}

void mk_cmd_approve_show_gates(json_t *plan, const mk_plan *model)
{
    if (!model->ngates)
        return;
    plan_in p = {plan, (mk_plan *)model};
    json_t *raw = json_object_get(plan, "gates");
    printf("\napproval gates (moksha approve PLAN GATE --key KEY --reason TEXT):\n");
    for (size_t i = 0; i < model->ngates; i++) {
        const mk_gate *g = &model->gates[i];
        json_t *count = json_object_get(json_array_get(raw, i), "count"), *changes = gate_changes(&p, g), *c;
        size_t k;
        printf("  %s%s%s  group %s, count %lld\n", g->policy, g->address ? ":" : " (the whole plan)",
               g->address ? g->address : "", g->group, json_is_integer(count) ? (long long)json_integer_value(count) : 1LL);
        json_array_foreach(changes, k, c)
            printf("    %s  %s\n", json_string_value(json_object_get(c, "digest")),
                   json_string_value(json_object_get(c, "address")));
        json_decref(changes);
    }
}

/* ---- moksha approval add|list ---- */

static int approval_add(int argc, char **argv)
{
    const char **files = NULL;
    size_t n = 0;
    mk_options spec = {"approval add", "approval", APPROVAL_HELP, NULL, 0, .paths = &files, .npaths = &n};
    int parsed = mk_options_parse(&spec, argc, argv);
    int rc = parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (parsed == MK_OPTIONS_OK && !n)
        mk_cli_err("approval add needs the approval files: moksha approval add FILE... (moksha approve writes them)");
    else if (parsed == MK_OPTIONS_OK) {
        rc = EXIT_OK;
        for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
            mk_approvalfile a;
            char why[2048];
            if (!mk_approvalfile_read(files[i], &a, why, sizeof why)) {
                mk_cli_err("%s", why);
                rc = EXIT_INPUT;
            } else if (mk_submit_socket()) {
                char *text = mk_approvalfile_envelope(&a);
                rc = mk_submit_approval(a.stack_id, a.env, text);
                mk_mem_free(text);
            } else {
                const char *args[] = {"approval", "add", files[i]};
                rc = mk_spawn_found() ? mk_spawn_exec(args, 3, NULL) : EXIT_INPUT;
            }
            mk_approvalfile_free(&a);
        }
    }
    mk_mem_free(files);
    return rc;
}

static int approval_list(int argc, char **argv)
{
    const char *format = "text";
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"approval list", "approval", APPROVAL_HELP, opts, 1, .ud = NULL};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed != MK_OPTIONS_OK)
        return parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (strcmp(format, "text") && strcmp(format, "json")) {
        mk_cli_err("--format takes text or json, not `%s`", format);
        return EXIT_INPUT;
    }
    bool json = !strcmp(format, "json");
    if (mk_submit_socket())
        return mk_submit_stack_op("approval list", json ? "format" : NULL, json ? "json" : NULL);
    const char *args[] = {"approval", "list", "--format", "json"};
    return mk_spawn_found() ? mk_spawn_exec(args, json ? 4 : 2, NULL) : EXIT_INPUT;
}

int mk_cmd_approval(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "add"))
        return approval_add(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return approval_list(argc - 1, argv + 1);
    if (argc >= 2 && mk_options_is_help(argv[1])) {
        fputs(APPROVAL_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "approval needs a subcommand: add or list%s" : "unknown approval subcommand `%s`: use add or list",
               argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
