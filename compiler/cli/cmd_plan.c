/* cmd_plan — `moksha plan`, `moksha show` and `moksha graph`: run the
 * driver (compiler/pipeline.h) against applied state, and save, print or
 * draw the plan it makes; show verifies a saved one. */
#include "compiler/cli/cmd_plan.h"

#include <errno.h>
#include <string.h>

#include "compiler/back/against_out.h"
#include "compiler/back/planfile.h"
#include "compiler/back/policy_out.h"
#include "compiler/base/buf.h"
#include "compiler/base/jsonfile.h"
#include "compiler/base/mem.h"
#include "compiler/base/sign.h"
#include "compiler/base/symtab.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/cmd_approve.h"
#include "compiler/cli/cmd_drift.h"
#include "compiler/cli/options.h"
#include "compiler/cli/run.h"
#include "compiler/cli/submit.h"
#include "compiler/middle/against.h"

static const char PLAN_HELP[] =
    "usage: moksha plan [options] [PATH...]\n"
    "\n"
    "Compile the stack against the applied state (.moksha/state.json) into a\n"
    "plan: what will be created, updated, replaced and deleted, with the\n"
    "attributes that change and why a change replaces. A plan that leaves the\n"
    "process (-o, --format json) is signed with the project key (MOKSHA_KEY, else\n"
    ".moksha/key: 32 random bytes as 64 hex digits or base64, or passphrase:TEXT)\n"
    "and bound to the stack (.moksha/stack-id); the first such plan creates both.\n"
    "A plan printed as text or markdown creates nothing. Secrets are sealed.\n"
    "With a planner key (--signing-key FILE, else MOKSHA_SIGNING_KEY: an Ed25519\n"
    "key from `moksha key new`) the plan is signed with it instead, and no project\n"
    "key is needed to sign (docs/trust.md, \"Signing plans\").\n"
    "With MOKSHA_EXEC_SOCKET set, the state is read from `moksha-exec serve` at\n"
    "that socket, never from .moksha/state.json (docs/trust.md).\n"
    "\n"
    "options:\n"
    "  -o, --out FILE         write the signed plan file (moksha.plan/v1) for `moksha apply`;\n"
    "                         never over a .moksha source, .moksha/ (but NAME.plan) or a non-plan file\n"
    "  --format text|json|markdown   how to print the plan (default text)\n"
    "  --detailed-exitcode    exit 0 when there are no changes, 2 when there are\n"
    "  --refresh              have moksha-exec read the world first (moksha refresh), so that the\n"
    "                         plan shows what changed outside moksha and plans it back; its report\n"
    "                         is said on stderr, and objects it could not read are a warning\n"
    "  --parallelism N, --timeout DURATION, --retries N   with --refresh: how the executor reads\n"
    "                         (as for moksha refresh)\n"
    "  --signing-key FILE     sign with this planner key (PEM, Ed25519), not the project key\n"
    "  --policies DIR         also apply the policies in DIR (repeatable)\n"
    "  --override NAME --reason TEXT   let soft policy NAME fail; recorded in the plan\n"
    "  --waiver FILE          also use this signed waiver (repeatable; with those in the stack's\n"
    "                         waivers/): a soft or advisory policy's violation at one address, shown\n"
    "                         as waived and embedded in the plan; one refused is a warning (W0005, W0006)\n"
    "  --replace-placement ADDR        let the cost model choose ADDR's place again (a move is refused, E0402)\n"
    "  --explain                       list each resource's placement candidates and why the winner won\n"
    "  --base DIR                      also plan DIR, the stack as the target branch has it, against the\n"
    "                                  same state, and show this change's own cost and policy delta;\n"
    "                                  --format json then prints {\"plan\": the plan, \"base\": the delta}\n"
    "  --path-prefix P                 markdown: the stack's directory is P in the repository (files are\n"
    "                                  named from the repository root, the nearest .git above, by default)\n"
    "  --var NAME=VALUE       set a variable (repeatable)\n"
    "  --var-file FILE        read variables from a YAML file (repeatable)\n"
    "  -h, --help             show this help\n"
    "\n"
    "exit status: 0 success, 1 error, 2 changes present (--detailed-exitcode),\n"
    "3 a policy failed (such a plan is never signed: -o does not save it, and\n"
    "--format json prints it without a signature)\n";

static bool valid_format(const char *f, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(f, *allowed) == 0)
            return true;
    return false;
}

/* --parallelism, --timeout, --retries: the reads of --refresh. */
static bool refresh_option(void *ud, const char *name, const char *value)
{
    *(bool *)ud = true;
    return mk_cmd_plan_refresh_option(name, value);
}

/* The plan in format; as json with a base, one object: the plan's bytes
 * as they are under "plan", the delta under "base". */
static void print_planned(const mk_planned *pl, const char *format, const mk_against *a, const char *base)
{
    bool json = strcmp(format, "json") == 0;
    if (a && json)
        fputs("{\"plan\":", stdout);
    mk_run_print_plan(pl->model, pl->text, &pl->key, false, format);
    if (!a || !json)
        return;
    json_t *j = mk_against_out_json(a, base, true);
    fputs(",\"base\":", stdout);
    json_dumpf(j, stdout, JSON_COMPACT);
    fputs("}\n", stdout);
    json_decref(j);
}

/* The delta against the base after the plan and its policies (text, markdown). */
static void print_against(const mk_against *a, const char *base, const char *format)
{
    mk_buf b = {0};
    mk_against_out_text(a, base, true, strcmp(format, "markdown") == 0, &b);
    printf("\n%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
}

/* What `plan` does with a plan made: saved (-o, unless a policy failed),
 * printed in format, its policy results after it, then the delta against
 * the base when there is one (a, NULL for none); the exit code. */
static int report_against(mk_planned *pl, const char *out, const char *format, const char *prefix, bool detailed,
                          const mk_against *a, const char *base)
{
    int rc = EXIT_OK;
    if (out && pl->policy_failed) {
        mk_cli_err("a policy failed, so the plan was not saved to `%s`", out);
        out = NULL;
    } else if (pl->policy_failed && strcmp(format, "json") == 0) {
        mk_cli_err("a policy failed: the JSON plan is printed without a signature, and moksha-exec will not apply it");
    } else if (out && !mk_planfile_write(pl->text, out)) {
        mk_cli_err("cannot write plan to `%s`: %s", out, strerror(errno));
        rc = EXIT_INPUT;
    }
    double T0 = mk_pipeline_now_ms();
    print_planned(pl, format, a, base);
    mk_run_phase(pl, "render", &T0);
    if (out && rc == EXIT_OK && strcmp(format, "text") == 0)
        printf("\nSaved the signed plan to %s; run `moksha apply %s` to apply exactly these changes.\n", out, out);
    if (json_array_size(pl->model->policies) && strcmp(format, "json") != 0) {
        mk_buf b = {0};
        mk_policy_out_opts po = {pl->model->stack, mk_cli_color(stdout), prefix};
        mk_policy_out_ex(pl->model->policies, strcmp(format, "markdown") == 0 ? "markdown" : "text", &po, &b);
        printf("\n%s", mk_buf_cstr(&b));
        mk_buf_free(&b);
    }
    if (a && strcmp(format, "json") != 0)
        print_against(a, base, format);
    if (rc == EXIT_OK && detailed && (pl->model->nchanges > 0 || pl->model->outputs_changed.n))
        rc = EXIT_CHANGES;
    if (rc != EXIT_INPUT && pl->policy_failed)
        rc = EXIT_POLICY;
    return rc;
}

int mk_cmd_plan_report(mk_planned *pl, const char *out, const char *format, const char *prefix, bool detailed)
{
    return report_against(pl, out, format, prefix, detailed, NULL, NULL);
}

/* --base DIR: the base planned beside pl (note [against the base] in
 * run.c), and pl reported with the delta. */
static int plan_against(mk_planned *pl, const mk_pipeline_req *r, const char *base, const char *out,
                        const char *format, const char *prefix, bool detailed)
{
    mk_pipeline_req br;
    mk_planned bpl;
    int rc = EXIT_INPUT;
    if (!mk_run_base(r, base, &br, &bpl)) {
        /* said by mk_run_base */
    } else if (!pl->placement || !bpl.placement) {
        mk_cli_err("--base %s: no prices to compare (the catalogs did not load)", base);
    } else {
        mk_against *a = mk_against_costs(bpl.placement, pl->placement);
        mk_against_policies(a, bpl.model->policies, pl->model->policies);
        rc = report_against(pl, out, format, prefix, detailed, a, base);
        mk_against_free(a);
    }
    mk_run_base_free(&br, &bpl);
    return rc;
}

int mk_cmd_plan(int argc, char **argv)
{
    static const char *const formats[] = {"text", "json", "markdown", NULL};
    mk_pipeline_req r = {0};
    const char *format = "text", *out = NULL, *prefix = NULL, *base = NULL;
    bool detailed = false, refresh = false, reads = false;
    const mk_option opts[] = {
        {"--format", true, .str = &format}, {"--out", true, .str = &out}, {"-o", true, .str = &out},
        {"--detailed-exitcode", false, .flag = &detailed}, {"--explain", false, .flag = &r.explain},
        {"--refresh", false, .flag = &refresh}, {"--parallelism", true, .take = refresh_option},
        {"--timeout", true, .take = refresh_option}, {"--retries", true, .take = refresh_option},
        {"--path-prefix", true, .str = &prefix}, {"--signing-key", true, .str = &r.signing_key},
        {"--base", true, .str = &base},
    };
    mk_options spec = {"plan", "plan", PLAN_HELP, opts, sizeof opts / sizeof *opts, .ud = &reads, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD;
    if (!bad && !valid_format(format, formats)) {
        mk_cli_err("--format takes text, json or markdown, not `%s`", format);
        bad = true;
    }
    if (!bad && reads && !refresh) {
        mk_cli_err("--parallelism, --timeout and --retries say how --refresh reads: add --refresh");
        bad = true;
    }
    if (bad || !mk_options_overrides_ok(&r)) {
        mk_options_req_free(&r);
        return EXIT_INPUT;
    }
    char why[1024];
    if (out && !mk_planfile_target_ok(out, why, sizeof why)) { /* before planning: nothing is spent on a bad -o */
        mk_cli_err("refusing to write the plan: %s (choose another file, e.g. -o plan.json)", why);
        mk_options_req_free(&r);
        return EXIT_INPUT;
    }
    mk_planned pl;
    int rc = EXIT_INPUT;
    bool sign = out || strcmp(format, "json") == 0;
    r.keep_placement = base != NULL;
    bool planned = refresh ? mk_cmd_plan_refreshed(&r, &pl, sign, &rc) : mk_run_plan(&r, &pl, sign);
    if (planned)
        rc = base ? plan_against(&pl, &r, base, out, format, prefix, detailed)
                  : mk_cmd_plan_report(&pl, out, format, prefix, detailed);
    mk_pipeline_planned_free(&pl);
    mk_options_req_free(&r);
    return rc;
}

static const char SHOW_HELP[] =
    "usage: moksha show [--format text|json|markdown] PLAN\n"
    "\n"
    "Verify a saved plan file's signature with the project key and show it as\n"
    "`moksha plan` did, with its policy results. A plan that was altered, or\n"
    "signed with another key, is refused. A plan whose recorded policy results\n"
    "fail is shown with the failure first, and exits 3: moksha-exec refuses it.\n"
    "A plan signed by a planner key (Ed25519) is checked against the key it\n"
    "names, and show says which key that is; whether the key may sign plans is\n"
    "the executor's trust file's to say (docs/trust.md).\n";

/* The first recorded policy result that fails the plan, or NULL: the
 * executor's rule (note [policy results] in runtime/planfile.h). */
static json_t *failing_policy(json_t *results)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        const char *st = json_string_value(json_object_get(r, "status")) ?: "";
        const char *reason = json_string_value(json_object_get(json_object_get(r, "override"), "reason"));
        bool ok = strcmp(st, "pass") == 0 || strcmp(st, "warn") == 0 ||
                  (strcmp(st, "overridden") == 0 && reason && reason[strspn(reason, " \t\r\n")]);
        if (!ok)
            return r;
    }
    return NULL;
}

/* A verified plan as `moksha plan` showed it, its policy results after it
 * (its JSON as the file has it); a failing policy is said first, and the
 * exit status is 3: moksha-exec refuses such a plan (a plan signed before
 * moksha stopped signing them). */
/* note [who signed]: a plan signed by a planner key names its key, and show
 * checks the signature against that key; that proves who signed it, not
 * that they may: the executor's trust file says which keys may sign plans
 * (docs/trust.md), and show, which has none, says so rather than "trusted". */
static void say_signer(const char *pub, const char *format)
{
    uint8_t raw[32];
    char id[MK_SIGN_ID_LEN] = "";
    if (mk_sign_parse_public(pub, raw))
        mk_sign_id(raw, id);
    const char *tail = "whether this key may sign plans is the executor's to decide, by its trust file";
    if (strcmp(format, "json") == 0)
        fprintf(stderr, "moksha: note: signed by key %s (Ed25519, %s), and the signature is valid; %s\n", id, pub, tail);
    else if (strcmp(format, "markdown") == 0)
        printf("> Signed by key `%s` (Ed25519, `%s`), and the signature is valid; %s.\n\n", id, pub, tail);
    else
        printf("Signed by key %s (Ed25519, %s), and the signature is valid;\n%s.\n\n", id, pub, tail);
}

static int show_verified(const mk_plan *plan, const mk_key *key, const char *format, const char *signer, const char *text)
{
    if (signer) /* note [who signed] */
        say_signer(signer, format);
    json_t *bad = failing_policy(plan->policies);
    const char *name = json_string_value(json_object_get(bad, "name")) ?: "(unnamed)";
    const char *msg = json_string_value(json_object_get(json_array_get(json_object_get(bad, "violations"), 0), "message"));
    if (bad && strcmp(format, "json") != 0)
        printf("%s `%s` (%s)%s%s. moksha-exec refuses this plan.\n\n",
               strcmp(format, "markdown") == 0 ? "> **POLICY FAILED:**" : "POLICY FAILED:", name,
               json_string_value(json_object_get(bad, "enforcement")) ?: "?", msg ? ": " : "", msg ? msg : "");
    fflush(stdout);
    mk_run_print_plan(plan, text, key, true, format);
    if (json_array_size(plan->policies) && strcmp(format, "json") != 0) {
        mk_buf b = {0};
        mk_policy_out(plan->policies, strcmp(format, "markdown") == 0 ? "markdown" : "text", plan->stack, &b,
                      mk_cli_color(stdout));
        printf("\n%s", mk_buf_cstr(&b));
        mk_buf_free(&b);
    }
    if (!bad)
        return EXIT_OK;
    mk_cli_err("policy `%s` fails in this plan: moksha-exec will not apply it", name);
    return EXIT_POLICY;
}

/* show's one argument that is not an option: the plan file. */
static bool plan_file(void *ud, const char *arg, bool *bad)
{
    const char **path = ud;
    if (arg[0] == '-') /* (`-` alone too: an unknown option) */
        return false;
    if (*path) {
        mk_cli_err("show takes one plan file; `%s` is one too many", arg);
        *bad = true;
    }
    *path = arg;
    return true;
}

int mk_cmd_show(int argc, char **argv)
{
    static const char *const formats[] = {"text", "json", "markdown", NULL};
    const char *format = "text", *path = NULL;
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"show", NULL, SHOW_HELP, opts, 1, .ud = &path, .arg = plan_file};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP)
        return EXIT_OK;
    bool bad = parsed == MK_OPTIONS_BAD;
    if (!bad && (!path || !valid_format(format, formats))) {
        mk_cli_err(!path ? "show needs a plan file (see moksha show --help)" : "--format takes text, json or markdown");
        bad = true;
    }
    if (bad)
        return EXIT_INPUT;
    char why[512];
    json_t *plan = mk_jsonfile_load(path, JSON_REJECT_DUPLICATES, why, sizeof why);
    if (!plan) {
        mk_cli_err("cannot read the plan %s", why);
        return EXIT_INPUT;
    }
    mk_key key;
    mk_plan *model = NULL;
    int rc = EXIT_INPUT;
    const char *signer = mk_planfile_signer(plan); /* an Ed25519 plan needs no project key */
    char *text = NULL;
    if (!signer && !mk_key_load(&key, MOKSHA_DIR, MK_KEY_REQUIRE, why, sizeof why))
        mk_cli_err("%s", why);
    else if (!mk_planfile_verify(plan, path, signer ? NULL : &key, why, sizeof why))
        mk_cli_err("%s: %s%s", path, why, failing_policy(json_object_get(plan, "policies"))
                   ? " (its policies fail, and moksha signs no plan whose policies fail)" : "");
    else if (!(model = mk_planfile_read(plan, why, sizeof why)))
        mk_cli_err("%s: %s", path, why);
    else {
        /* the file as it is: its signature is by a key this process does not hold */
        text = signer && strcmp(format, "json") == 0 ? mk_planfile_text(path) : NULL;
        rc = show_verified(model, signer ? NULL : &key, format, signer, text);
        if (!strcmp(format, "text"))
            mk_cmd_approve_show_gates(plan, model);
    }
    mk_mem_free(text);
    mk_plan_free(model);
    json_decref(plan);
    return rc;
}

static const char GRAPH_HELP[] =
    "usage: moksha graph [--format dot|json] [--var NAME=VALUE]... [PATH...]\n"
    "\n"
    "Print the plan's graph: a node for every resource, marked with what the\n"
    "plan does to it, and an edge from each to what it depends on. DOT output\n"
    "renders with Graphviz: moksha graph | dot -Tsvg > plan.svg\n"
    "With MOKSHA_EXEC_SOCKET set, the applied state is read from `moksha-exec serve`\n"
    "there (docs/trust.md), never from .moksha/state.json.\n";

static void graph_dot(json_t *g)
{
    static const struct { const char *action, *color; } colors[] = {
        {"create", "darkgreen"}, {"update", "goldenrod"}, {"replace", "purple"}, {"delete", "red"}, {"noop", "gray40"},
    };
    puts("digraph plan {\n  rankdir = LR;\n  node [shape = box, fontname = \"monospace\"];");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(g, "nodes"), i, n) {
        const char *act = json_string_value(json_object_get(n, "action")), *col = "black";
        for (size_t k = 0; k < 5; k++)
            if (strcmp(act, colors[k].action) == 0)
                col = colors[k].color;
        mk_buf b = {0};
        mk_buf_escape(&b, json_string_value(json_object_get(n, "address")), json_string_length(json_object_get(n, "address")));
        printf("  n%zu [label = \"%s\\n%s\", color = %s];\n", i, mk_buf_cstr(&b), act, col);
        mk_buf_free(&b);
    }
    json_t *e;
    json_array_foreach(json_object_get(g, "edges"), i, e)
        printf("  n%lld -> n%lld;\n", (long long)json_integer_value(json_array_get(e, 0)),
               (long long)json_integer_value(json_array_get(e, 1)));
    puts("}");
}

/* Nodes: every desired instance, in program order, marked with what its
 * change does (noop: it has none), then every delete; edges: each
 * instance's dependencies, by node. One pass over the instances beside one
 * over the changes, whose desired ones come in program order (note [plan
 * order] in middle/plan.c). */
static json_t *graph_of(mk_planned *pl)
{
    json_t *nodes = json_array(), *edges = json_array();
    const mk_program *p = pl->p;
    const mk_plan *m = pl->model;
    mk_symtab node = {0}; /* instance → its node, + 1 */
    mk_sym_reserve(&node, (uint32_t)p->ninstances);
    for (size_t i = 0; i < p->ninstances; i++)
        mk_sym_put(&node, (mk_name)p->instances[i], NULL, (void *)(uintptr_t)(i + 1));
    size_t c = 0;
    for (size_t i = 0; i < p->ninstances; i++) {
        const mk_instance *in = p->instances[i];
        const char *act = "noop";
        if (c < m->nchanges && m->changes[c].action != MK_ACT_DELETE &&
            (m->changes[c].in == in || strcmp(m->changes[c].address, in->address) == 0))
            act = mk_plan_action_name(m->changes[c++].action);
        json_array_append_new(nodes, json_pack("{s:s, s:s}", "address", in->address, "action", act));
        for (uint32_t d = 0; d < in->ndeps; d++)
            json_array_append_new(edges, json_pack("[I, I]", (json_int_t)i,
                                  (json_int_t)(uintptr_t)mk_sym_get(&node, (mk_name)in->deps[d], NULL) - 1));
    }
    for (; c < m->nchanges; c++)
        if (m->changes[c].action == MK_ACT_DELETE)
            json_array_append_new(nodes, json_pack("{s:s, s:s}", "address", m->changes[c].address, "action", "delete"));
    mk_sym_free(&node);
    return json_pack("{s:s, s:o, s:o}", "format", "moksha.graph/v1", "nodes", nodes, "edges", edges);
}

int mk_cmd_graph(int argc, char **argv)
{
    mk_pipeline_req r = {0};
    const char *format = "dot";
    const mk_option opts[] = {{"--format", true, .str = &format}};
    mk_options spec = {"graph", NULL, GRAPH_HELP, opts, 1, .stack = &r};
    int parsed = mk_options_parse(&spec, argc, argv);
    if (parsed == MK_OPTIONS_HELP) {
        mk_options_req_free(&r);
        return EXIT_OK;
    }
    bool bad = parsed == MK_OPTIONS_BAD || !mk_options_only(&r, "graph", MK_OPTIONS_PATHS | MK_OPTIONS_VARS | MK_OPTIONS_POLICIES);
    if (!bad && strcmp(format, "dot") != 0 && strcmp(format, "json") != 0) {
        mk_cli_err("--format takes dot or json, not `%s`", format);
        bad = true;
    }
    mk_planned pl;
    int rc = EXIT_INPUT;
    if (!bad && mk_run_plan(&r, &pl, false)) {
        json_t *g = graph_of(&pl);
        if (strcmp(format, "json") == 0) {
            json_dumpf(g, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            graph_dot(g);
        }
        json_decref(g);
        rc = EXIT_OK;
    }
    if (!bad)
        mk_pipeline_planned_free(&pl);
    mk_options_req_free(&r);
    return rc;
}
