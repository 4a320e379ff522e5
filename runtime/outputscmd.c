/* outputscmd — another stack's outputs, as its state records them
 * (outputscmd.h). It finds the stack's state as every command does, through
 * mk_backend_open: on postgres by the stack's name and environment; on
 * local in a directory, the configuration's state.local_stacks[S] for a
 * stack of another directory, else this one (another environment of this
 * stack is its .moksha/env/NAME/). It is not the apply's: nothing here
 * locks, and the document printed is the state's header fields alone. */
#include "runtime/outputscmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime/backend.h"
#include "runtime/config.h"
#include "runtime/exitcode.h"
#include "runtime/paths.h"
#include "runtime/rtstate.h"

typedef struct args {
    const char *stack, *env, *from, *from_env, *format;
} args;

static bool parse(int argc, char **argv, args *a)
{
    *a = (args){.format = "text"};
    for (int i = 1; i < argc; i++) {
        const char **to = !strcmp(argv[i], "--stack") ? &a->stack : !strcmp(argv[i], "--env") ? &a->env
                        : !strcmp(argv[i], "--from") ? &a->from : !strcmp(argv[i], "--from-env") ? &a->from_env
                        : !strcmp(argv[i], "--format") ? &a->format : NULL;
        if (!to || i + 1 >= argc)
            return false;
        *to = argv[++i];
    }
    if (!a->stack) /* main.c takes --stack out of every command's arguments */
        a->stack = mk_backend_stack();
    if (!a->env && mk_paths_now.env[0]) /* an environment selected for the whole process */
        a->env = mk_paths_now.env;
    return *a->stack && (!strcmp(a->format, "text") || !strcmp(a->format, "json"));
}

/* The directory of stack on the local backend: the configuration's
 * local_stacks entry, else the current directory when it is that stack
 * (--from names the reader's own; without it, taken to be). NULL with why. */
static const char *local_dir(const mk_config *cfg, const args *a, char *why, size_t whylen)
{
    for (size_t i = 0; i < cfg->state.nlocal_stacks; i++)
        if (!strcmp(cfg->state.local_stacks[i].name, a->stack))
            return cfg->state.local_stacks[i].dir;
    if (!a->from || !strcmp(a->from, a->stack))
        return ".";
    snprintf(why, whylen, "stack `%s` is not this directory's (%s) and the executor's configuration does not say where "
                          "it is: add it to state.local_stacks, {\"%s\": \"/path/to/its/directory\"}", a->stack, a->from,
             a->stack);
    return NULL;
}

/* Whether v holds a sealed secret at any depth (a map's member, a list's item). */
static bool holds_secret(json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        if (json_object_get(v, "$secret"))
            return true;
        json_object_foreach(v, k, x) if (holds_secret(x)) return true;
    }
    json_array_foreach(v, i, x) if (holds_secret(x)) return true;
    return false;
}

/* Each output holding a secret, wherever in it, as a marker: the sealed
 * copy stays in the state, and no part of the output is handed over. */
static json_t *shown_outputs(json_t *outs)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(outs, k, v) {
        bool secret = holds_secret(v);
        json_object_set_new(o, k, secret ? json_pack("{s:{s:b}}", "$secret", "sensitive", 1) : json_deep_copy(v));
    }
    return o;
}

static void print(const args *a, const mk_rtstate *st)
{
    json_t *doc = json_pack("{s:s, s:s?, s:s, s:I, s:o}", "stack", a->stack, "env", a->env && *a->env ? a->env : NULL,
                            "lineage", mk_rtstate_lineage(st), "serial", (json_int_t)mk_rtstate_serial(st), "outputs",
                            shown_outputs(mk_rtstate_outputs(st)));
    if (!json_object_get(doc, "env"))
        json_object_set_new(doc, "env", json_null());
    if (!strcmp(a->format, "json")) {
        json_dumpf(doc, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else {
        printf("%s%s%s at serial %lld:\n", a->stack, a->env ? "/" : "", a->env ? a->env : "", (long long)mk_rtstate_serial(st));
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(doc, "outputs"), k, v) {
            char *t = json_object_get(v, "$secret") ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("  %s = %s\n", k, t ? t : "(sensitive)");
            free(t);
        }
    }
    json_decref(doc);
}

/* The header's lineage in a state's text as mk_rtstate_text writes it: a
 * top-level key is the only line that starts with one space and a quote
 * (each resource is a line of its own, indented deeper). Not found: "". */
static void header_lineage(const char *text, char *out, size_t n)
{
    const char *k = text ? strstr(text, "\n \"lineage\": \"") : NULL;
    size_t len = k ? strcspn(k + 14, "\"\\\n") : 0;
    if (k && k[14 + len] == '"')
        snprintf(out, n, "%.*s", (int)len, k + 14);
}

/* The lineage of the reader's own state (--from, in its environment
 * --from-env, none without: --env is the environment read, taken out of
 * the arguments for the whole process), read before anything moves: ""
 * when there is none, it cannot be read (the read itself then decides) or
 * it is not local. Its bytes alone, not the state loaded: a reader's state
 * of 20,000 resources took 0.7 s to load, for one line. On postgres a
 * reader's state is its own (stack, env) key, compared as such. */
static void own_lineage(const mk_config *cfg, const args *a, char *out, size_t n)
{
    char why[1024];
    *out = 0;
    if (!a->from || strcmp(mk_backend_configured_kind(cfg, a->from_env), "local"))
        return;
    mk_backend *b = mk_backend_open(cfg, NULL, a->from, a->from_env, why, sizeof why);
    size_t len = 0;
    bool absent = false;
    char *text = b ? mk_backend_state_text(b, -1, &len, &absent, why, sizeof why) : NULL;
    header_lineage(text, out, n);
    free(text);
    mk_backend_close(b);
}

/* The (stack, env) key of the reader's own state on a backend keyed so. */
static bool own_key(const args *a, const mk_backend *b)
{
    const mk_backend_info *i = mk_backend_info_of(b);
    const char *fe = a->from_env ? a->from_env : "";
    return a->from && strcmp(i->kind, "local") && !strcmp(i->stack, a->from) && !strcmp(i->env, fe);
}

/* Open, load and print, in the directory the stack's files are in (local).
 * A state whose lineage is the reader's own is refused: whatever led here
 * (a configuration sending the name elsewhere), it is not another stack. */
static int read_outputs(const mk_config *cfg, const args *a, const char *own)
{
    char why[1024] = "";
    mk_backend *b = mk_backend_open(cfg, NULL, a->stack, a->env, why, sizeof why);
    mk_rtstate *st = b ? mk_backend_load(b, why, sizeof why) : NULL;
    if (st && ((*own && !strcmp(own, mk_rtstate_lineage(st))) || own_key(a, b))) {
        snprintf(why, sizeof why, "it is the state of `%s` itself (lineage %s), not another stack's", a->from, own);
        mk_rtstate_free(st), st = NULL;
    }
    if (st)
        print(a, st);
    else
        fprintf(stderr, "moksha-exec: error: the outputs of stack `%s`: %s\n", a->stack, why);
    mk_rtstate_free(st);
    mk_backend_close(b);
    return st ? MK_EXIT_OK : MK_EXIT_INPUT;
}

int mk_outputscmd_run(int argc, char **argv)
{
    args a;
    if (!parse(argc, argv, &a)) {
        fputs("usage: moksha-exec state outputs --stack NAME [--env NAME] [--from NAME [--from-env NAME]] [--format text|json]\n", stderr);
        return MK_EXIT_INPUT;
    }
    mk_config cfg;
    char why[1024];
    if (!mk_config_load(&cfg, why, sizeof why)) {
        fprintf(stderr, "moksha-exec: error: %s\n", why);
        return MK_EXIT_INPUT;
    }
    char own[64];
    own_lineage(&cfg, &a, own, sizeof own);
    bool local = !strcmp(mk_backend_configured_kind(&cfg, a.env), "local");
    const char *dir = local ? local_dir(&cfg, &a, why, sizeof why) : ".";
    int rc = MK_EXIT_INPUT;
    if (!dir)
        fprintf(stderr, "moksha-exec: error: %s\n", why);
    else if (chdir(dir) != 0)
        fprintf(stderr, "moksha-exec: error: stack `%s`: cannot enter %s: %s\n", a.stack, dir, strerror(errno));
    else if (!mk_paths_select(a.env, why, sizeof why)) /* this stack's other environment: .moksha/env/NAME */
        fprintf(stderr, "moksha-exec: error: --env %s: %s\n", a.env, why);
    else
        rc = read_outputs(&cfg, &a, own);
    mk_config_free(&cfg);
    return rc;
}
