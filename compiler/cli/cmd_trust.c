/* cmd_trust — `moksha trust sign FILE --key ROOT.key` and `moksha trust show
 * FILE`: the root holders' side of the trust file (docs/trust.md). Sign
 * checks the payload and adds one key's signature to the envelope, written
 * in place atomically; show prints who is in which role and who signed.
 * Neither decides what an executor accepts: that needs its current roots,
 * its clock and the last version it took, which are its own. */
#include "compiler/cli/cmd_trust.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "compiler/base/atomic.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "compiler/base/trustfile.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"

static const char TRUST_HELP[] =
    "usage: moksha trust sign FILE --key ROOT.key\n"
    "       moksha trust show FILE [--format text|json]\n"
    "\n"
    "A trust file (moksha.trust/v1, docs/trust.md) says which keys may sign plans\n"
    "(planners, automation), what each automation identity may apply alone (its\n"
    "boundary), who approves (approvers, groups), the rules per environment (policy\n"
    "packs, required gates), who breaks the glass, and which keys are revoked; it is\n"
    "signed by a threshold of root keys. FILE is its payload (the JSON object) or\n"
    "its envelope (format, payload, signatures).\n"
    "\n"
    "sign: check the payload (every field's form, names [a-z0-9][a-z0-9_-]*, key\n"
    "texts, the threshold within the roots, expires in RFC 3339 UTC and in the\n"
    "future, no unknown field, no key twice) and the signatures already there, then\n"
    "add this key's signature and write FILE as the envelope, in place. A payload is\n"
    "put in the envelope as its compact JSON; from then on its text is kept byte\n"
    "for byte. A key signs once: a second signature by it is refused.\n"
    "\n"
    "show: print the version, the expiry, the roots and their threshold, who is in\n"
    "which role (each automation identity with its boundary, defaults said), each\n"
    "environment's rules, break glass, and each signature with the key that made it\n"
    "and whether it verifies. Whether an executor accepts the file is its own\n"
    "decision: it counts only signatures of its current roots.\n"
    "\n"
    "options:\n"
    "  --key FILE             sign: the root's private key (moksha key new; mode 0600)\n"
    "  --format text|json     show: how to print (default text)\n"
    "  -h, --help             show this help\n";

/* trust's one argument that is not an option: the file. */
static bool trust_file(void *ud, const char *arg, bool *bad)
{
    const char **path = ud;
    if (arg[0] == '-')
        return false;
    if (*path) {
        mk_cli_err("trust takes one file; `%s` is one too many", arg);
        *bad = true;
    }
    *path = arg;
    return true;
}

static const char *id_of(const char *pub, char id[MK_SIGN_ID_LEN])
{
    uint8_t raw[32];
    id[0] = 0;
    if (pub && mk_sign_parse_public(pub, raw))
        mk_sign_id(raw, id);
    return id;
}

static bool is_root(const mk_trustfile *t, const char *pub)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(json_object_get(t->doc, "roots"), "keys"), i, k)
        if (strcmp(json_string_value(k), pub) == 0)
            return true;
    return false;
}

/* Every signature already there verifies: one that does not was made over
 * another payload, and adding to it would only hide that. */
static bool signatures_hold(const mk_trustfile *t, const char *path)
{
    for (size_t i = 0; i < json_array_size(t->signatures); i++) {
        if (mk_trustfile_sig_ok(t, i))
            continue;
        char id[MK_SIGN_ID_LEN];
        mk_cli_err("%s: signature %zu (key %s) does not verify: the payload changed after it was signed; sign the new "
                   "payload again, from the start", path, i + 1,
                   id_of(json_string_value(json_object_get(json_array_get(t->signatures, i), "key")), id));
        return false;
    }
    return true;
}

static bool write_envelope(const mk_trustfile *t, const char *path)
{
    char *text = mk_trustfile_envelope(t);
    struct iovec parts[] = {{text, strlen(text)}, {"\n", 1}};
    bool ok = mk_atomic_write(path, parts, 2, MK_ATOMIC_KEEP_MODE);
    if (!ok)
        mk_cli_err("cannot write %s: %s", path, strerror(errno));
    mk_mem_free(text);
    return ok;
}

static bool not_expired(const mk_trustfile *t, const char *path)
{
    const char *expires = json_string_value(json_object_get(t->doc, "expires"));
    if (mk_trustfile_time(expires) > (long long)time(NULL))
        return true;
    mk_cli_err("%s: `expires` (%s) is past: every executor refuses an expired trust file; set a later time and "
               "sign again", path, expires);
    return false;
}

static int sign_with(mk_trustfile *t, const char *path, const char *keyfile)
{
    char why[4400], pub[MK_SIGN_PUB_LEN], id[MK_SIGN_ID_LEN];
    struct evp_pkey_st *key = mk_sign_load(keyfile, why, sizeof why);
    if (!key) {
        mk_cli_err("%s", why);
        return EXIT_INPUT;
    }
    mk_sign_public(key, pub, id);
    bool ok = mk_trustfile_add(t, key, why, sizeof why);
    mk_sign_free(key);
    if (!ok)
        mk_cli_err("%s: %s", path, why);
    if (!ok || !write_envelope(t, path))
        return EXIT_INPUT;
    json_t *roots = json_object_get(t->doc, "roots");
    printf("Signed %s with key %s (%s): %zu signature%s; %lld of its roots must sign.\n", path, id, pub,
           json_array_size(t->signatures), json_array_size(t->signatures) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(roots, "threshold")));
    if (!is_root(t, pub))
        printf("note: this key is not one of the file's roots: an executor counts it only while it is one of its "
               "current roots (a change of roots is signed by the old roots and the new)\n");
    return EXIT_OK;
}

/* Read the trust file at path and run fn on it: its exit status, or 1 when
 * it does not read. */
static int on_file(const char *path, int (*fn)(mk_trustfile *t, const char *path, void *ud), void *ud)
{
    mk_trustfile t;
    char why[1400];
    int rc = EXIT_INPUT;
    if (!mk_trustfile_read(path, &t, why, sizeof why))
        mk_cli_err("%s", why);
    else
        rc = fn(&t, path, ud);
    mk_trustfile_free(&t);
    return rc;
}

static int sign_read(mk_trustfile *t, const char *path, void *keyfile)
{
    return not_expired(t, path) && signatures_hold(t, path) ? sign_with(t, path, keyfile) : EXIT_INPUT;
}

static int trust_sign(int argc, char **argv)
{
    const char *path = NULL, *keyfile = NULL;
    const mk_option opts[] = {{"--key", true, .str = &keyfile}};
    mk_options spec = {"trust sign", "trust", TRUST_HELP, opts, 1, .ud = &path, .arg = trust_file};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed != MK_OPTIONS_OK)
        return parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (!path || !keyfile) {
        mk_cli_err(!path ? "trust sign needs a file: moksha trust sign FILE --key ROOT.key"
                         : "trust sign needs the root's key: --key ROOT.key");
        return EXIT_INPUT;
    }
    return on_file(path, sign_read, (void *)keyfile);
}

/* ---- show ---- */

static void show_key(const char *label, const char *pub)
{
    char id[MK_SIGN_ID_LEN];
    printf("  %-14s %s  %s\n", label ? label : "", id_of(pub, id), pub ? pub : "");
}

/* "a, b" of a list of strings ("" shown as ""), into out. */
static void show_list(json_t *list, char *out, size_t n)
{
    size_t i, k = 0;
    json_t *x;
    out[0] = 0;
    json_array_foreach(list, i, x) {
        const char *w = json_string_value(x);
        int m = snprintf(out + k, n - k, "%s%s", i ? ", " : "", *w ? w : "\"\"");
        if (m < 0 || (size_t)m >= n - k)
            return;
        k += (size_t)m;
    }
}

/* An automation identity's boundary, its defaults said (docs/trust.md,
 * "Autonomy boundaries"). */
static void show_boundary(json_t *b)
{
    static const char *const LISTS[] = {"types", "actions", "environments"};
    char list[512];
    json_t *w;
    size_t i;
    printf("  %-14s boundary: max_risk %s", "", json_string_value(json_object_get(b, "max_risk")) ?: "low");
    for (i = 0; i < 3; i++) {
        show_list(json_object_get(b, LISTS[i]), list, sizeof list);
        printf("; %s %s", LISTS[i], json_object_get(b, LISTS[i]) ? list : "any");
    }
    json_t *cost = json_object_get(b, "max_cost_increase"), *n = json_object_get(b, "max_changes");
    if (cost)
        printf("; max_cost_increase $%s a month", json_string_value(cost));
    else
        printf("; max_cost_increase none");
    if (n)
        printf("; max_changes %lld", (long long)json_integer_value(n));
    else
        printf("; max_changes none");
    printf("; windows%s", json_object_get(b, "windows") ? " (UTC)" : " always");
    json_array_foreach(json_object_get(b, "windows"), i, w) {
        show_list(json_object_get(w, "days"), list, sizeof list);
        printf("%s %s %s-%s", i ? "," : "", list, json_string_value(json_object_get(w, "from")),
               json_string_value(json_object_get(w, "to")));
    }
    putchar('\n');
}

/* environments' rules and break glass (docs/trust.md, "Rules per
 * environment", "Break glass"). */
static void show_rules(const mk_trustfile *t)
{
    json_t *envs = json_object_get(t->doc, "environments"), *e, *g, *d, *bg = json_object_get(t->doc, "break_glass");
    const char *name, *gname;
    char list[512];
    size_t i;
    printf("environments:%s\n", json_object_size(envs) ? "" : " no rules");
    json_object_foreach(envs, name, e) {
        printf("  %-14s policy packs:%s\n", *name ? name : "\"\"", json_array_size(json_object_get(e, "policy_packs")) ? "" : " none required");
        json_array_foreach(json_object_get(e, "policy_packs"), i, d)
            printf("  %-14s   %s\n", "", json_string_value(d));
        json_object_foreach(json_object_get(e, "gates"), gname, g) {
            json_t *n = json_object_get(g, "count");
            printf("  %-14s gate trust:%s: %lld of group %s", "", gname, n ? (long long)json_integer_value(n) : 1LL,
                   json_string_value(json_object_get(g, "group")));
            show_list(json_object_get(g, "actions"), list, sizeof list);
            printf(", before %s", json_object_get(g, "actions") ? list : "any action");
            show_list(json_object_get(g, "types"), list, sizeof list);
            printf(" of %s", json_object_get(g, "types") ? list : "any type");
            if (json_object_get(g, "min_risk"))
                printf(", %s risk and above", json_string_value(json_object_get(g, "min_risk")));
            putchar('\n');
        }
    }
    if (bg)
        printf("break glass: %lld of group %s\n",
               json_object_get(bg, "count") ? (long long)json_integer_value(json_object_get(bg, "count")) : 2LL,
               json_string_value(json_object_get(bg, "group")));
    else
        printf("break glass: none\n");
}

static void show_roles(const mk_trustfile *t)
{
    static const char *const ROLES[] = {"planners", "automation", "approvers"};
    for (size_t r = 0; r < 3; r++) {
        json_t *o = json_object_get(t->doc, ROLES[r]), *v;
        const char *name;
        printf("%s:%s\n", ROLES[r], json_object_size(o) ? "" : " none");
        json_object_foreach(o, name, v) {
            show_key(name, json_string_value(r == 1 ? json_object_get(v, "key") : v));
            if (r == 1)
                show_boundary(json_object_get(v, "boundary"));
        }
    }
    json_t *groups = json_object_get(t->doc, "groups"), *members, *m;
    const char *name;
    size_t i;
    printf("groups:%s\n", json_object_size(groups) ? "" : " none");
    json_object_foreach(groups, name, members) {
        printf("  %-14s", name);
        json_array_foreach(members, i, m)
            printf("%s%s", i ? ", " : " ", json_string_value(m));
        putchar('\n');
    }
    printf("revoked:%s\n", json_array_size(json_object_get(t->doc, "revoked")) ? "" : " none");
    json_array_foreach(json_object_get(t->doc, "revoked"), i, m)
        show_key("", json_string_value(m));
    show_rules(t);
}

static void show_text(const mk_trustfile *t, const char *path)
{
    json_t *roots = json_object_get(t->doc, "roots"), *k;
    const char *expires = json_string_value(json_object_get(t->doc, "expires"));
    size_t i, valid = 0;
    printf("%s: %s, version %lld, expires %s%s\n", path, t->envelope ? MK_TRUSTFILE_FORMAT : "a payload, not signed yet",
           (long long)json_integer_value(json_object_get(t->doc, "version")), expires,
           mk_trustfile_time(expires) > (long long)time(NULL) ? "" : " (EXPIRED)");
    printf("roots: %lld of %zu must sign\n", (long long)json_integer_value(json_object_get(roots, "threshold")),
           json_array_size(json_object_get(roots, "keys")));
    json_array_foreach(json_object_get(roots, "keys"), i, k)
        show_key("", json_string_value(k));
    show_roles(t);
    printf("signatures:%s\n", json_array_size(t->signatures) ? "" : " none");
    for (i = 0; i < json_array_size(t->signatures); i++) {
        const char *pub = json_string_value(json_object_get(json_array_get(t->signatures, i), "key"));
        bool ok = mk_trustfile_sig_ok(t, i), root = is_root(t, pub);
        char id[MK_SIGN_ID_LEN];
        valid += ok && root;
        printf("  %zu. key %s  %s: %s%s\n", i + 1, id_of(pub, id), pub, ok ? "valid" : "DOES NOT VERIFY",
               ok && !root ? ", not one of this file's roots" : "");
    }
    printf("%zu valid signature%s of this file's roots, of %lld needed; an executor counts those of its current roots\n",
           valid, valid == 1 ? "" : "s", (long long)json_integer_value(json_object_get(roots, "threshold")));
}

static json_t *key_json(const char *pub)
{
    char id[MK_SIGN_ID_LEN];
    return json_pack("{s:s, s:s}", "key", pub, "key_id", id_of(pub, id));
}

static json_t *keys_json(json_t *list)
{
    json_t *out = json_array(), *k;
    size_t i;
    json_array_foreach(list, i, k)
        json_array_append_new(out, key_json(json_string_value(k)));
    return out;
}

/* {NAME: KEY} or automation's {NAME: {"key": KEY, …}} with each key's id. */
static json_t *role_json(json_t *o, bool automation)
{
    json_t *out = json_object(), *v;
    const char *name;
    json_object_foreach(o, name, v) {
        json_t *k = key_json(json_string_value(automation ? json_object_get(v, "key") : v));
        if (automation)
            json_object_set(k, "boundary", json_object_get(v, "boundary"));
        json_object_set_new(out, name, k);
    }
    return out;
}

/* What the text says, as JSON: the payload's fields with each key's id,
 * and each signature's verdict. */
static void show_json(const mk_trustfile *t)
{
    json_t *d = t->doc, *roots = json_object_get(d, "roots"), *sigs = json_array();
    const char *expires = json_string_value(json_object_get(d, "expires"));
    for (size_t i = 0; i < json_array_size(t->signatures); i++) {
        const char *pub = json_string_value(json_object_get(json_array_get(t->signatures, i), "key"));
        json_t *s = key_json(pub);
        json_object_set_new(s, "valid", json_boolean(mk_trustfile_sig_ok(t, i)));
        json_object_set_new(s, "root", json_boolean(is_root(t, pub)));
        json_array_append_new(sigs, s);
    }
    json_t *groups = json_object_get(d, "groups");
    json_t *o = json_pack("{s:s, s:b, s:O, s:s, s:b, s:{s:O, s:o}, s:o, s:o, s:o, s:o, s:o, s:o}", "format",
                          MK_TRUSTFILE_FORMAT, "signed", t->envelope, "version", json_object_get(d, "version"),
                          "expires", expires, "expired", mk_trustfile_time(expires) <= (long long)time(NULL), "roots",
                          "threshold", json_object_get(roots, "threshold"), "keys", keys_json(json_object_get(roots, "keys")),
                          "planners", role_json(json_object_get(d, "planners"), false),
                          "automation", role_json(json_object_get(d, "automation"), true),
                          "approvers", role_json(json_object_get(d, "approvers"), false),
                          "groups", groups ? json_incref(groups) : json_object(),
                          "revoked", keys_json(json_object_get(d, "revoked")), "signatures", sigs);
    json_t *envs = json_object_get(d, "environments"), *bg = json_object_get(d, "break_glass");
    json_object_set_new(o, "environments", envs ? json_incref(envs) : json_object());
    json_object_set_new(o, "break_glass", bg ? json_incref(bg) : json_null());
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
}

static int show_read(mk_trustfile *t, const char *path, void *format)
{
    if (strcmp(format, "json") == 0)
        show_json(t);
    else
        show_text(t, path);
    return EXIT_OK;
}

static int trust_show(int argc, char **argv)
{
    const char *path = NULL, *format = "text";
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"trust show", "trust", TRUST_HELP, opts, 1, .ud = &path, .arg = trust_file};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed != MK_OPTIONS_OK)
        return parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (!path || (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)) {
        mk_cli_err(!path ? "trust show needs a file: moksha trust show FILE" : "--format takes text or json");
        return EXIT_INPUT;
    }
    return on_file(path, show_read, (void *)format);
}

int mk_cmd_trust(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sign") == 0)
        return trust_sign(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return trust_show(argc - 1, argv + 1);
    if (argc >= 2 && mk_options_is_help(argv[1])) {
        fputs(TRUST_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "trust needs a subcommand: sign or show" : "unknown trust subcommand `%s`: use sign or show",
               argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
