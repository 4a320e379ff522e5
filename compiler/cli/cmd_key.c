/* cmd_key — `moksha key new NAME`: an Ed25519 key pair for a planner, an
 * automation identity, an approver or a root (docs/trust.md, "Keys"),
 * written by compiler/base/sign.c into the key directory. It is not the
 * project key (.moksha/key, made by the first signed plan) nor the
 * executor's keys (`moksha-exec key new`). */
#include "compiler/cli/cmd_key.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compiler/base/sign.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/options.h"

static const char KEY_HELP[] =
    "usage: moksha key new NAME [--dir DIR] [--format text|json]\n"
    "\n"
    "Make an Ed25519 key pair: NAME.key, the private key (PEM, PKCS#8, mode 0600),\n"
    "and NAME.pub, one line: the public key (ed25519: and the base64 of its 32\n"
    "bytes) and NAME. The key signs plans (MOKSHA_SIGNING_KEY or --signing-key on\n"
    "plan, apply and destroy) or trust files (moksha trust sign --key), as the\n"
    "trust file's roles say (docs/trust.md). An existing key is never replaced.\n"
    "\n"
    "options:\n"
    "  --dir DIR              where to write the pair (default $XDG_CONFIG_HOME/moksha/keys,\n"
    "                         else ~/.config/moksha/keys; made with mode 0700 when missing)\n"
    "  --format text|json     what to print: the public key line and both paths (default text)\n"
    "  -h, --help             show this help\n"
    "\n"
    "NAME is [a-z0-9][a-z0-9_-]*, at most 64 characters.\n";

/* key new's one argument that is not an option: the name. */
static bool key_name(void *ud, const char *arg, bool *bad)
{
    const char **name = ud;
    if (arg[0] == '-')
        return false;
    if (*name) {
        mk_cli_err("key new takes one name; `%s` is one too many", arg);
        *bad = true;
    }
    *name = arg;
    return true;
}

/* mkdir -p, each directory made with mode 0700 (a key directory is no one
 * else's to list); false with errno. */
static bool make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = 0;
        bool ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = c;
        if (!ok || !c)
            return ok;
    }
}

/* The key directory: --dir, else $XDG_CONFIG_HOME/moksha/keys (when it is
 * absolute, as the XDG rules say), else $HOME/.config/moksha/keys. */
static bool key_dir(const char *given, char *out, size_t n)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (given && !*given) {
        mk_cli_err("--dir needs a directory");
        return false;
    }
    if (given)
        snprintf(out, n, "%s", given);
    else if (xdg && xdg[0] == '/')
        snprintf(out, n, "%s/moksha/keys", xdg);
    else if (home && *home)
        snprintf(out, n, "%s/.config/moksha/keys", home);
    else {
        mk_cli_err("no key directory: HOME is not set; give one with --dir DIR");
        return false;
    }
    size_t len = strlen(out);
    while (len > 1 && out[len - 1] == '/') /* (DIR/ and DIR name one place) */
        out[--len] = 0;
    if (!make_dirs(out)) {
        mk_cli_err("cannot make the key directory %s: %s", out, strerror(errno));
        return false;
    }
    return true;
}

static void print_new(const char *format, const char *name, const char *dir, const char *pub, const char *id)
{
    char kpath[4200], ppath[4200];
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
    if (strcmp(format, "json") == 0) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "key", pub, "key_id", id, "private", kpath,
                              "public", ppath);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    printf("%s %s\n\nkey id:      %s\nprivate key: %s (mode 0600: keep it to yourself)\npublic key:  %s\n", pub, name,
           id, kpath, ppath);
}

static int key_new(int argc, char **argv)
{
    const char *name = NULL, *dir = NULL, *format = "text";
    const mk_option opts[] = {{"--dir", true, .str = &dir}, {"--format", true, .str = &format}};
    mk_options spec = {"key new", "key", KEY_HELP, opts, 2, .ud = &name, .arg = key_name};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed != MK_OPTIONS_OK)
        return parsed == MK_OPTIONS_HELP ? EXIT_OK : EXIT_INPUT;
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes text or json, not `%s`", format);
        return EXIT_INPUT;
    }
    if (!name) {
        mk_cli_err("key new needs a name: moksha key new NAME (see moksha key --help)");
        return EXIT_INPUT;
    }
    if (strlen(name) > MK_SIGN_NAME_MAX || !mk_sign_name_ok(name, strlen(name))) {
        mk_cli_err("`%s` is not a key name: lower-case letters, digits, `_` and `-`, starting with a letter or digit, "
                   "at most %d characters", name, MK_SIGN_NAME_MAX);
        return EXIT_INPUT;
    }
    char path[4096], pub[MK_SIGN_PUB_LEN], id[MK_SIGN_ID_LEN], err[4400];
    if (!key_dir(dir, path, sizeof path))
        return EXIT_INPUT;
    if (!mk_sign_generate(path, name, pub, id, err, sizeof err)) {
        mk_cli_err("%s", err);
        return EXIT_INPUT;
    }
    print_new(format, name, path, pub, id);
    return EXIT_OK;
}

int mk_cmd_key(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "new") == 0)
        return key_new(argc - 1, argv + 1);
    if (argc >= 2 && mk_options_is_help(argv[1])) {
        fputs(KEY_HELP, stdout);
        return EXIT_OK;
    }
    mk_cli_err(argc < 2 ? "key needs a subcommand: new" : "unknown key subcommand `%s`: use new", argc < 2 ? "" : argv[1]);
    return EXIT_INPUT;
}
