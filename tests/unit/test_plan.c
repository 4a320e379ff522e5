/* The differ (mk_plan_build): which action each resource gets and why, the
 * attributes that changed and the ones that force a replace, risk classes,
 * the edges between changes, deposed objects, lifecycle rules, secrets and
 * destroy plans. Each case compiles a small stack in a temporary directory
 * against a state written by hand, as `moksha plan` does, and checks the
 * plan's records (middle/plan.h) exactly. The signed form and the
 * executor's side of the contract are test_planfile.c's. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/back/planfile.h"
#include "compiler/back/render.h"
#include "compiler/base/buf.h"
#include "compiler/base/key.h"
#include "compiler/base/mem.h"
#include "compiler/base/observed.h"
#include "compiler/base/state.h"
#include "compiler/front/eval.h"
#include "compiler/front/moved.h"
#include "compiler/front/program.h"
#include "compiler/front/route.h"
#include "compiler/front/vars.h"
#include "compiler/middle/moves.h"
#include "compiler/middle/plan.h"
#include "tests/unit/seal_open.h"

#define KEY "5f2a8c1e9b7d4036a1e2f3c4b5a69788c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

static char dir[64];
static mk_program *P;
static mk_state *ST;
static mk_plan *PLAN;
static mk_observed *OBS; /* read beside the state, as the driver does (none: never refreshed) */
static mk_key K;
static const char *VAR; /* a --var for the next plan_of, or NULL */

/* Applied attributes of the resources most cases use, as the executor
 * records them: every field, defaults and computed ones included, so that
 * only what a case changes differs. */
#define NET_ATTRS "{\"cidr\": \"10.0.0.0/16\", \"tags\": {}, \"id\": \"vpc-1\"}"
#define WEB_ATTRS                                                                                              \
    "{\"cpu\": 2, \"memory\": \"4GiB\", \"image\": \"nginx:1.27\", \"arch\": \"x86_64\", \"network\": null,"  \
    " \"disk\": \"20GiB\", \"shared_core\": false, \"public_ip\": false, \"user_data\": null, \"tags\": {},"   \
    " \"id\": \"i-1\", \"ip\": \"10.0.0.5\", \"private_ip\": \"10.0.0.5\"}"
#define DB_ATTRS                                                                                               \
    "{\"engine\": \"postgres\", \"version\": \"16\", \"cpu\": 2, \"memory\": \"8GiB\", \"storage\": \"100GiB\"," \
    " \"backup_retention\": \"1d\", \"encrypted\": true, \"multi_az\": false, \"public\": false,"             \
    " \"deletion_protection\": false, \"username\": \"admin\", \"password\": null, \"network\": null,"        \
    " \"tags\": {}, \"id\": \"db-1\", \"endpoint\": \"db.internal\", \"port\": 5432}"

#define WEB "resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n}\n"

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-plan-XXXXXX");
    setenv("MOKSHA_KEY", KEY, 1);
    char why[256], moksha[128];
    snprintf(moksha, sizeof moksha, "%s/.moksha", dir);
    assert_true(mk_key_load(&K, moksha, MK_KEY_READ, why, sizeof why));
    P = mk_program_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_plan_free(PLAN);
    PLAN = NULL;
    mk_observed_free(OBS);
    OBS = NULL;
    VAR = NULL;
    mk_state_free(ST);
    ST = NULL;
    mk_program_free(P);
    P = NULL;
    unsetenv("MOKSHA_KEY");
    mk_test_rmdir(dir);
    return 0;
}

/* One state entry as the executor writes it; name is what follows the type
 * in the address, up to an index. */
static json_t *entry(const char *address, const char *type, const char *attrs)
{
    json_error_t je;
    json_t *a = json_loads(attrs, 0, &je);
    if (!a)
        fail_msg("attributes of %s: %s", address, je.text);
    const char *name = address + strlen(type) + 1;
    size_t n = strcspn(name, "[");
    return json_pack("{s:s, s:s, s:s%, s:s, s:o, s:[], s:[], s:{s:b, s:b}}", "address", address, "type", type,
                     "name", name, n, "provider", "sim", "attributes", a, "sensitive", "depends_on", "lifecycle",
                     "prevent_destroy", 0, "create_before_destroy", 0);
}

/* An entry with some attributes of attrs replaced by those of over. */
static json_t *entry_with(const char *address, const char *type, const char *attrs, const char *over)
{
    json_t *e = entry(address, type, attrs);
    json_t *o = json_loads(over, 0, NULL);
    assert_non_null(o);
    json_object_update(json_object_get(e, "attributes"), o);
    json_decref(o);
    return e;
}

/* Write a moksha.state/v1 holding these entries (takes them). */
static void write_state(json_t *resources)
{
    json_t *st = json_pack("{s:s, s:s, s:i, s:o}", "format", "moksha.state/v1", "lineage", "lin-1", "serial", 3,
                           "resources", resources);
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(json_dump_file(st, path, JSON_INDENT(1)), 0);
    json_decref(st);
}

/* Compile src against the state written (none: an empty state), with the
 * state read before evaluation as `moksha plan` does, and diff. */
static mk_plan *plan_of(const char *src, bool destroy)
{
    mk_test_write(dir, "main.moksha", src);
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    ST = mk_state_read(path, P->diag);
    assert_non_null(ST);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
    if (VAR)
        mk_vars_flag(P, VAR);
    P->strict = !destroy;
    P->destroy_vars = destroy;
    P->state = ST;
    snprintf(path, sizeof path, "%s/observed.json", dir);
    OBS = mk_observed_read(path, P->diag);
    assert_non_null(OBS);
    mk_observed_bind(OBS, ST, P->diag);
    P->observed = OBS;
    mk_eval_program(P);
    mk_route_program(P); /* self-hosted databases, as the driver routes them */
    mk_moved_eval(P, NULL, NULL); /* `moved` and `import` blocks, as the driver reads them */
    assert_int_equal(mk_diag_errors(P->diag), 0);
    mk_state_fingerprint_key(ST, &K); /* as the driver does */
    PLAN = mk_plan_build_observed(P, ST, OBS, &K, destroy);
    assert_non_null(PLAN);
    return PLAN;
}

/* The change at an address (not a deposed object's); fails when none. */
static const mk_change *change(const char *address)
{
    for (size_t i = 0; i < PLAN->nchanges; i++)
        if (strcmp(PLAN->changes[i].address, address) == 0 && !PLAN->changes[i].deposed)
            return &PLAN->changes[i];
    fail_msg("no change at %s", address);
    return NULL;
}

static const char *field(const char *address, const char *key)
{
    const mk_change *c = change(address);
    const char *s = !strcmp(key, "action") ? mk_plan_action_name(c->action) : !strcmp(key, "risk") ? mk_plan_risk_name(c->risk)
                  : !strcmp(key, "type") ? c->type : !strcmp(key, "name") ? c->name : !strcmp(key, "provider") ? c->provider : NULL;
    if (!s)
        fail_msg("%s has no string %s", address, key);
    return s;
}

/* A list of strings or ids as text, "a,b,c": one exact comparison checks
 * members and order. */
static const char *joined(const char *const *v, const uint32_t *ids, uint32_t n)
{
    static char out[512];
    size_t len = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (v)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? "," : "", v[i]);
        else
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%u", i ? "," : "", ids[i]);
    }
    return out;
}

static const char *list_of(const mk_change *c, const char *key)
{
    const mk_names *n = !strcmp(key, "changed") ? &c->changed : !strcmp(key, "replace_because") ? &c->forces
                      : !strcmp(key, "after_unknown") ? &c->unknown : !strcmp(key, "sensitive") ? &c->sensitive : NULL;
    if (n)
        return joined(n->v, NULL, n->n);
    if (!strcmp(key, "refs"))
        return joined(c->refs, NULL, c->nrefs);
    if (!strcmp(key, "depends_on"))
        return joined(NULL, c->depends_on, c->ndepends);
    return "(not a list)";
}

static const char *list(const char *address, const char *key) { return list_of(change(address), key); }

/* The change at address: its action, what changed and what forced a
 * replace (as "a,b" lists), and its risk class. */
static void change_is(const char *address, const char *action, const char *changed, const char *because,
                      const char *risk)
{
    assert_string_equal(field(address, "action"), action);
    assert_string_equal(list(address, "changed"), changed);
    assert_string_equal(list(address, "replace_because"), because);
    assert_string_equal(field(address, "risk"), risk);
}

static int64_t id_of(const char *address) { return change(address)->id; }

/* A desired attribute of a change (its instance's): a string's text, a
 * reference's address, "(unknown)", else as the text shows it. */
static const char *after_text(const mk_change *c, const char *name)
{
    static char out[256];
    assert_non_null(c->in);
    const mk_value *v = mk_v_get_text(c->in->attrs, name);
    assert_non_null(v);
    mk_buf b = {0};
    if (v->kind == MK_V_RESOURCE)
        mk_buf_puts(&b, ((const mk_instance *)v->u.res)->address);
    else if (v->kind == MK_V_UNKNOWN)
        mk_buf_puts(&b, "(unknown)");
    else if (v->kind == MK_V_STRING)
        mk_buf_put(&b, v->u.s, v->n);
    else
        mk_v_show(v, &b, true);
    snprintf(out, sizeof out, "%s", mk_buf_cstr(&b));
    mk_buf_free(&b);
    return out;
}

static void totals_are(int create, int update, int replace, int remove, int noop)
{
    const mk_plan_totals *t = &PLAN->totals;
    assert_int_equal(t->create, create);
    assert_int_equal(t->update, update);
    assert_int_equal(t->replace, replace);
    assert_int_equal(t->remove, remove);
    assert_int_equal(t->noop, noop);
}

/* The last error the differ reported: its code and message. */
static void last_error_is(const char *code, const char *msg)
{
    const char *c, *m;
    mk_span at;
    assert_true(mk_diag_last_error(P->diag, &c, &m, &at));
    assert_string_equal(c, code);
    assert_string_equal(m, msg);
}

/* ---- creates and no-ops ---- */

/* An empty state: everything is created, in the evaluator's order (what is
 * referred to first), each change waiting for the creates it refers to. */
static void test_create(void **state)
{
    (void)state;
    plan_of("resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n network = network.main\n}\n"
            "resource network main { cidr = \"10.0.0.0/16\" }\n",
            false);
    totals_are(2, 0, 0, 0, 0);
    assert_int_equal(PLAN->nchanges, 2);
    assert_string_equal(PLAN->changes[0].address, "network.main");
    assert_int_equal(id_of("network.main"), 1);
    assert_int_equal(id_of("compute.web"), 2);
    change_is("compute.web", "create", "", "", "low");
    change_is("network.main", "create", "", "", "low");
    assert_string_equal(field("compute.web", "type"), "compute");
    assert_string_equal(field("compute.web", "name"), "web");
    assert_null(change("compute.web")->before);
    assert_string_equal(list("compute.web", "after_unknown"), "id,ip,private_ip");
    assert_string_equal(list("compute.web", "sensitive"), "");
    assert_string_equal(list("compute.web", "depends_on"), "1");
    assert_string_equal(list("compute.web", "refs"), "network.main");
    assert_string_equal(list("network.main", "depends_on"), "");
    /* after: set values, defaults, a reference by address, computed as unknown */
    const mk_change *c = change("compute.web");
    assert_string_equal(after_text(c, "memory"), "4GiB");
    assert_string_equal(after_text(c, "disk"), "20GiB");
    assert_string_equal(after_text(c, "network"), "network.main");
    assert_string_equal(after_text(c, "id"), "(unknown)");
    /* each change holds its own instance */
    assert_ptr_equal(c->in, mk_program_instance(P, "compute.web"));
    assert_ptr_equal(change("network.main")->in, mk_program_instance(P, "network.main"));
}

/* What state already has as desired is not listed; noop counts it. */
static void test_noop_not_listed(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("network.main", "network", NET_ATTRS), entry("compute.web", "compute", WEB_ATTRS)));
    plan_of("resource network main { cidr = \"10.0.0.0/16\" }\n" WEB, false);
    totals_are(0, 0, 0, 0, 2);
    assert_int_equal(PLAN->nchanges, 0);
    /* the differ knows the desired instance at each state address */
    assert_ptr_equal(PLAN->like[1], mk_program_instance(P, "compute.web"));
    assert_string_equal(PLAN->lineage, "lin-1");
    assert_int_equal(PLAN->serial, 3);
    assert_false(PLAN->destroy);
}

/* ---- updates ---- */

/* The changed attributes come in the schema's order, whatever the source's;
 * computed ones are never among them, and keep the state's values. */
static void test_update_changed_in_schema_order(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.web", "compute", WEB_ATTRS)));
    plan_of("resource compute web {\n memory = 8GiB\n image = \"nginx:1.27\"\n cpu = 4\n}\n", false);
    totals_are(0, 1, 0, 0, 0);
    change_is("compute.web", "update", "cpu,memory", "", "medium");
    assert_string_equal(list("compute.web", "after_unknown"), "");
    const mk_change *c = change("compute.web");
    assert_int_equal(json_integer_value(json_object_get(c->before, "cpu")), 2);
    assert_string_equal(after_text(c, "cpu"), "4");
    assert_string_equal(after_text(c, "id"), "i-1");
}

/* An update of tags alone is low risk, even of a network; tags with
 * anything else is the type's usual update risk. */
static void test_tags_only_update_is_low(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("network.main", "network", NET_ATTRS), entry("compute.web", "compute", WEB_ATTRS)));
    plan_of("resource network main {\n cidr = \"10.0.0.0/16\"\n tags = { team = \"web\" }\n}\n"
            "resource compute web {\n cpu = 4\n memory = 4GiB\n image = \"nginx:1.27\"\n tags = { team = \"web\" }\n}\n",
            false);
    totals_are(0, 2, 0, 0, 0);
    change_is("network.main", "update", "tags", "", "low");
    change_is("compute.web", "update", "cpu,tags", "", "medium");
}

/* note [references by address]: a reference whose recorded id is no longer
 * its target's changes, known after apply; an update of an access type
 * (load_balancer) is high risk. */
static void test_reference_to_old_id_updates(void **state)
{
    (void)state;
    json_t *lb = entry("load_balancer.front", "load_balancer",
                       "{\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-0\"}, \"public\": true, \"listeners\": [],"
                       " \"targets\": [], \"tags\": {}, \"id\": \"lb-1\", \"endpoint\": \"lb.example\","
                       " \"dns_name\": \"lb.example\"}");
    write_state(json_pack("[o, o]", entry("network.main", "network", NET_ATTRS), lb));
    plan_of("resource network main { cidr = \"10.0.0.0/16\" }\n"
            "resource load_balancer front { network = network.main }\n",
            false);
    totals_are(0, 1, 0, 0, 1);
    change_is("load_balancer.front", "update", "network", "", "high");
    assert_string_equal(list("load_balancer.front", "after_unknown"), "network");
    assert_string_equal(list("load_balancer.front", "depends_on"), ""); /* network.main does not change */
}

/* lifecycle ignore_changes leaves an attribute out of the diff, a
 * force_new one too: no replace for it. */
static void test_ignore_changes(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("compute.a", "compute", WEB_ATTRS), entry("compute.b", "compute", WEB_ATTRS)));
    plan_of("resource compute a {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.28\"\n"
            " lifecycle { ignore_changes = [\"image\"] }\n}\n"
            "resource compute b {\n cpu = 4\n memory = 4GiB\n image = \"nginx:1.28\"\n"
            " lifecycle { ignore_changes = [\"image\"] }\n}\n",
            false);
    totals_are(0, 1, 0, 0, 1);
    change_is("compute.b", "update", "cpu", "", "medium");
}

/* ---- replaces ---- */

/* A change of a force_new attribute replaces; replace_because names it
 * among the changed ones. */
static void test_replace_because_force_new(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.web", "compute", WEB_ATTRS)));
    plan_of("resource compute web {\n cpu = 4\n memory = 4GiB\n image = \"nginx:1.28\"\n arch = \"arm64\"\n}\n", false);
    totals_are(0, 0, 1, 0, 0);
    change_is("compute.web", "replace", "cpu,image,arch", "image,arch", "medium");
    assert_false(change("compute.web")->create_before_destroy);
}

/* A reference to a resource this plan replaces changes to the new object's
 * id, known after apply, and waits for the replace. It is an update of that
 * attribute (docs/formats.md, "Values in JSON"), force_new or not: the
 * compute's network is @force_new, yet no replace_because names it. */
static void test_reference_to_replaced_updates(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("network.main", "network", NET_ATTRS),
                          entry_with("compute.web", "compute", WEB_ATTRS, "{\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}}")));
    plan_of("resource network main { cidr = \"10.1.0.0/16\" }\n"
            "resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n network = network.main\n}\n",
            false);
    totals_are(0, 1, 1, 0, 0);
    change_is("network.main", "replace", "cidr", "cidr", "high");
    assert_string_equal(list("network.main", "after_unknown"), "id");
    change_is("compute.web", "update", "network", "", "medium");
    assert_string_equal(list("compute.web", "after_unknown"), "network");
    assert_string_equal(list("compute.web", "depends_on"), "1");
}

/* Stateful types are high risk to replace (and the replace reason is the
 * type's force_new attribute). */
static void test_replace_of_stateful_type_is_high(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("database.db", "database", DB_ATTRS)));
    plan_of("resource database db {\n engine = \"mysql\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n storage = 100GiB\n}\n",
            false);
    totals_are(0, 0, 1, 0, 0);
    change_is("database.db", "replace", "engine", "engine", "high");
    assert_true(change("database.db")->irreversible);
}

/* The lifecycle rides on the change for the executor: create_before_destroy
 * is its order of a replace (docs/executor.md). */
static void test_create_before_destroy(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.web", "compute", WEB_ATTRS)));
    plan_of("resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.28\"\n"
            " lifecycle { create_before_destroy = true }\n}\n",
            false);
    assert_string_equal(field("compute.web", "action"), "replace");
    assert_true(change("compute.web")->create_before_destroy);
    assert_false(change("compute.web")->prevent_destroy);
}

/* ---- deletes ---- */

/* What the spec no longer has is deleted, after every other change; risk
 * by type: high for stateful and access types, medium for the rest. */
static void test_delete_risk_by_type(void **state)
{
    (void)state;
    write_state(json_pack("[o, o, o]", entry("compute.old", "compute", WEB_ATTRS),
                          entry("bucket.logs", "bucket", "{\"encrypted\": true, \"id\": \"b-1\"}"),
                          entry("network.gone", "network", NET_ATTRS)));
    plan_of(WEB, false);
    totals_are(1, 0, 0, 3, 0);
    assert_string_equal(PLAN->changes[0].address, "compute.web");
    assert_int_equal(id_of("compute.old"), 2);
    assert_int_equal(id_of("bucket.logs"), 3);
    assert_int_equal(id_of("network.gone"), 4);
    change_is("compute.old", "delete", "", "", "medium");
    change_is("bucket.logs", "delete", "", "", "high");
    change_is("network.gone", "delete", "", "", "high");
    assert_false(change("compute.old")->irreversible);
    assert_true(change("bucket.logs")->irreversible); /* @stateful: what it holds goes with it */
    assert_false(change("network.gone")->irreversible); /* high, but made again as it was */
    const mk_change *c = change("bucket.logs");
    assert_null(c->in);
    assert_string_equal(json_string_value(json_object_get(c->before, "id")), "b-1");
    assert_string_equal(list("bucket.logs", "depends_on"), "");
    assert_string_equal(field("bucket.logs", "name"), "logs");
    assert_string_equal(field("bucket.logs", "provider"), "sim");
}

/* Which types lose data with their objects is the type's own word
 * (@stateful), not a list in the planner: a role or a database of the
 * postgres provider is, a schema is not. */
static void test_stateful_read_from_type(void **state)
{
    (void)state;
    write_state(json_pack("[o, o, o]", entry("postgres.role.app", "postgres.role", "{\"name\": \"app\", \"id\": \"app\"}"),
                          entry("postgres.database.app", "postgres.database", "{\"name\": \"app\", \"id\": \"app\"}"),
                          entry("postgres.schema.s", "postgres.schema", "{\"database\": \"app\", \"name\": \"s\", \"id\": \"app/s\"}")));
    plan_of("provider postgres { connection = \"dev\" }\n" WEB, false);
    totals_are(1, 0, 0, 3, 0);
    change_is("postgres.role.app", "delete", "", "", "high");
    change_is("postgres.database.app", "delete", "", "", "high");
    change_is("postgres.schema.s", "delete", "", "", "medium");
    assert_true(change("postgres.role.app")->irreversible);
    assert_true(change("postgres.database.app")->irreversible);
    assert_false(change("postgres.schema.s")->irreversible);
    assert_false(change("compute.web")->irreversible);
}

/* A database a postgres provider takes (databases = true) is that
 * provider's, self-hosted on its connection; db_name is null unless set,
 * the executor's to derive. One that names a cloud's block stays there;
 * one that names a postgres block lands on it. */
static const char *planned(const char *address, const char *key);

static void test_self_hosted_database(void **state)
{
    (void)state;
    write_state(json_pack("[]"));
    plan_of("provider postgres dev {\n connection = \"devbox\"\n databases = true\n}\nprovider sim cloud {}\n"
            "resource database a {\n engine = \"postgres\"\n version = \"16\"\n cpu = 1\n memory = 2GiB\n storage = 20GiB\n}\n"
            "resource database b {\n engine = \"postgres\"\n version = \"16\"\n cpu = 1\n memory = 2GiB\n storage = 20GiB\n"
            " db_name = \"bee\"\n provider = cloud\n}\n"
            "provider postgres ci {\n connection = \"ci\"\n}\n"
            "resource database c {\n engine = \"postgres\"\n version = \"16\"\n cpu = 1\n memory = 2GiB\n storage = 20GiB\n"
            " provider = ci\n}\n",
            false);
    totals_are(3, 0, 0, 0, 0);
    const mk_change *a = change("database.a"), *b = change("database.b"), *cc = change("database.c");
    assert_string_equal(cc->provider, "ci"); /* named, though ci takes no databases of itself */
    assert_string_equal(cc->in->self_hosted, "ci");
    assert_string_equal(a->provider, "dev");
    assert_string_equal(a->in->self_hosted, "devbox");
    assert_string_equal(b->provider, "cloud");
    assert_null(b->in->self_hosted);
    assert_string_equal(planned("database.a", "after"),
                        "{\"audit_logging\":null,\"audit_retention\":null,\"backup_plan\":null,\"backup_retention\":\"1d\","
                        "\"cpu\":1,\"db_name\":null,\"deletion_protection\":false,\"edition\":null,\"encrypted\":true,"
                        "\"engine\":\"postgres\",\"flags\":null,\"instance_class\":null,\"iops\":null,\"kms_key\":null,"
                        "\"memory\":\"2GiB\",\"multi_az\":false,\"network\":null,\"password\":null,\"private_endpoint\":null,"
                        "\"public\":false,\"replicas\":null,\"storage\":\"20GiB\",\"storage_type\":null,\"tags\":{},"
                        "\"username\":\"admin\",\"version\":\"16\"}");
    assert_string_equal(after_text(b, "db_name"), "bee");
}

/* A bucket naming an s3 or azure_blob block, or any bucket when such a
 * block takes the stack's buckets, is that block's: its change's provider,
 * its via, and the cloud and region it is pinned to; one naming a sim
 * block stays there. */
static void test_bucket_store(void **state)
{
    (void)state;
    write_state(json_pack("[]"));
    plan_of("provider s3 store {\n connection = \"minio\"\n region = \"eu-west-1\"\n buckets = true\n}\n"
            "provider azure_blob blobs {\n connection = \"azurite\"\n}\nprovider sim cloud {}\n"
            "resource bucket a {}\nresource bucket b {\n provider = blobs\n}\nresource bucket c {\n provider = cloud\n}\n"
            "resource compute web {\n cpu = 1\n memory = 2GiB\n image = \"nginx:1.27\"\n}\n",
            false);
    totals_are(4, 0, 0, 0, 0);
    const mk_change *a = change("bucket.a"), *b = change("bucket.b"), *c = change("bucket.c"), *w = change("compute.web");
    assert_string_equal(a->provider, "store");
    assert_string_equal(a->via, "s3");
    assert_string_equal(a->in->pin_cloud, "aws");
    assert_string_equal(a->in->pin_region, "eu-west-1");
    assert_string_equal(b->provider, "blobs"); /* named, though blobs takes no buckets of itself */
    assert_string_equal(b->via, "azure_blob");
    assert_string_equal(b->in->pin_cloud, "azure");
    assert_string_equal(b->in->pin_region, "eastus"); /* the block's default */
    assert_string_equal(c->provider, "cloud");
    assert_null(c->via);
    assert_null(c->in->pin_cloud);
    assert_null(w->provider);
    assert_null(w->via);
}

/* note [plan order]: a delete waits for the changes of what referred to it
 * when it was applied: the referrer's own delete, or its update away. */
static void test_delete_waits_for_referrers(void **state)
{
    (void)state;
    json_t *a = entry_with("compute.a", "compute", WEB_ATTRS, "{\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}}");
    json_t *b = entry_with("compute.b", "compute", WEB_ATTRS, "{\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}}");
    json_object_set_new(a, "depends_on", json_pack("[s]", "network.main"));
    json_object_set_new(b, "depends_on", json_pack("[s]", "network.main"));
    write_state(json_pack("[o, o, o]", entry("network.main", "network", NET_ATTRS), a, b));
    /* compute.a stays, without the network (an update); compute.b goes */
    plan_of("resource compute a {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n}\n", false);
    totals_are(0, 0, 1, 2, 0); /* network is force_new: a is replaced */
    assert_int_equal(id_of("compute.a"), 1);
    assert_int_equal(id_of("network.main"), 2);
    assert_int_equal(id_of("compute.b"), 3);
    assert_string_equal(list("network.main", "depends_on"), "1,3");
    assert_string_equal(list("compute.b", "depends_on"), "");
    assert_string_equal(list("compute.b", "refs"), "network.main");
}

/* The state's lifecycle says whether a delete is allowed: prevent_destroy
 * refuses it (E0301), and a replace of a resource that still has it. */
static void test_prevent_destroy(void **state)
{
    (void)state;
    json_t *gone = entry("bucket.logs", "bucket", "{\"encrypted\": true, \"id\": \"b-1\"}");
    json_object_set_new(gone, "lifecycle", json_pack("{s:b, s:b}", "prevent_destroy", 1, "create_before_destroy", 0));
    write_state(json_pack("[o, o]", entry("compute.web", "compute", WEB_ATTRS), gone));
    plan_of("resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.28\"\n"
            " lifecycle { prevent_destroy = true }\n}\n",
            false);
    assert_int_equal(mk_diag_count(P->diag, "E0301"), 2);
    assert_int_equal(mk_diag_errors(P->diag), 2);
    last_error_is("E0301", "bucket.logs would be deleted, but its lifecycle has prevent_destroy = true");
    /* the changes are still in the plan (it is not signed: the error stops it) */
    assert_string_equal(field("compute.web", "action"), "replace");
    assert_string_equal(field("bucket.logs", "action"), "delete");
    assert_true(change("bucket.logs")->prevent_destroy);
}

/* A delete of an instance whose resource is still declared (count went
 * down) points at the declaration's head, `resource TYPE NAME`. */
static void test_prevent_destroy_points_at_declaration(void **state)
{
    (void)state;
    json_t *r[2];
    for (int i = 0; i < 2; i++) {
        r[i] = entry(i ? "compute.web[1]" : "compute.web[0]", "compute", WEB_ATTRS);
        json_object_set_new(r[i], "lifecycle", json_pack("{s:b, s:b}", "prevent_destroy", 1, "create_before_destroy", 0));
    }
    write_state(json_pack("[o, o]", r[0], r[1]));
    const char *src = "# one left\nresource compute web {\n count = 1\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n"
                      " lifecycle { prevent_destroy = true }\n}\n";
    plan_of(src, false);
    totals_are(0, 0, 0, 1, 1);
    const char *c, *m;
    mk_span at;
    assert_true(mk_diag_last_error(P->diag, &c, &m, &at));
    assert_string_equal(m, "compute.web[1] would be deleted, but its lifecycle has prevent_destroy = true");
    assert_int_equal(at.start, 11);
    assert_int_equal(at.end, 11 + strlen("resource compute web"));
}

/* note [deletion protection]: the applied value decides, not the desired
 * one. A delete or replace of an object applied with it on is E0304; one
 * applied with it off is not, whatever the spec now says. */
static void test_deletion_protection(void **state)
{
    (void)state;
    write_state(json_pack("[o, o, o]", entry_with("database.gone", "database", DB_ATTRS, "{\"deletion_protection\": true}"),
                          entry_with("database.on", "database", DB_ATTRS, "{\"deletion_protection\": true}"),
                          entry("database.off", "database", DB_ATTRS)));
    plan_of("resource database on {\n engine = \"mysql\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n storage = 100GiB\n"
            " deletion_protection = false\n}\n"
            "resource database off {\n engine = \"mysql\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n storage = 100GiB\n"
            " deletion_protection = true\n}\n",
            false);
    totals_are(0, 0, 2, 1, 0);
    assert_int_equal(mk_diag_count(P->diag, "E0304"), 2);
    assert_int_equal(mk_diag_errors(P->diag), 2);
    last_error_is("E0304", "database.gone would be deleted, but it was applied with deletion_protection = true");
}

/* Turning deletion protection off is an ordinary update, and no error. */
static void test_deletion_protection_off_is_an_update(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry_with("database.on", "database", DB_ATTRS, "{\"deletion_protection\": true}")));
    plan_of("resource database on {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
            " storage = 100GiB\n deletion_protection = false\n}\n",
            false);
    assert_int_equal(mk_diag_errors(P->diag), 0);
    change_is("database.on", "update", "deletion_protection", "", "medium");
}

/* An object a create_before_destroy replace set aside and an apply did not
 * delete is deleted by its id, after the changes that refer to its address. */
static void test_deposed_object(void **state)
{
    (void)state;
    json_t *web = entry("compute.web", "compute", WEB_ATTRS);
    json_object_set_new(web, "deposed", json_pack("[{s:s, s:{s:s, s:i}}, {s:i}]", "id", "i-0", "attributes", "id", "i-0",
                                                  "cpu", 1, "id", 7)); /* the second has no id: skipped */
    write_state(json_pack("[o]", web));
    plan_of(WEB "resource load_balancer front { targets = [compute.web] }\n", false);
    totals_are(1, 0, 0, 1, 1);
    assert_int_equal(PLAN->nchanges, 2);
    const mk_change *d = &PLAN->changes[1];
    assert_string_equal(d->address, "compute.web");
    assert_string_equal(d->deposed, "i-0");
    assert_int_equal(d->action, MK_ACT_DELETE);
    assert_int_equal(d->risk, MK_RISK_MEDIUM);
    assert_int_equal(d->id, 2);
    assert_int_equal(json_integer_value(json_object_get(d->before, "cpu")), 1);
    assert_null(d->in);
    assert_string_equal(list_of(d, "depends_on"), "1"); /* the load balancer's create */
    assert_string_equal(list_of(d, "refs"), "");
    assert_string_equal(list("load_balancer.front", "refs"), "compute.web");
}

/* ---- secrets ---- */

/* A secret is listed as sensitive, sealed into the plan file's text, and
 * its text appears nowhere in it. */
static void test_secret_sealed(void **state)
{
    (void)state;
    VAR = "pw=hunter2-plaintext";
    plan_of("var pw: secret\n"
            "resource database db {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
            " storage = 100GiB\n password = var.pw\n}\n",
            false);
    assert_string_equal(list("database.db", "sensitive"), "password");
    assert_true(mk_v_is_secret(mk_v_get_text(change("database.db")->in->attrs, "password")));
    mk_buf text = {0};
    mk_planfile_emit(PLAN, &K, true, &text);
    json_t *doc = json_loads(mk_buf_cstr(&text), 0, NULL);
    assert_non_null(doc);
    json_t *after = json_object_get(json_array_get(json_object_get(doc, "changes"), 0), "after");
    json_t *s = json_object_get(json_object_get(after, "password"), "$secret");
    char fp[65];
    mk_key_fingerprint(&K, "hunter2-plaintext", strlen("hunter2-plaintext"), fp);
    assert_string_equal(json_string_value(json_object_get(s, "fingerprint")), fp);
    size_t n = 0;
    char *open = mk_key_open(&K, json_string_value(json_object_get(s, "sealed")), &n);
    assert_non_null(open);
    assert_int_equal(n, strlen("hunter2-plaintext"));
    assert_memory_equal(open, "hunter2-plaintext", n);
    mk_mem_free(open);
    assert_null(strstr(mk_buf_cstr(&text), "hunter2"));
    mk_buf_free(&text);
    json_decref(doc);
}

/* Secrets compare by fingerprint: the same one is no change, another one
 * an update of that attribute alone. */
static void test_secret_compared_by_fingerprint(void **state)
{
    (void)state;
    char fp[65], same[256], other[256];
    mk_key_fingerprint(&K, "s3cret", 6, fp);
    snprintf(same, sizeof same, "{\"password\": {\"$secret\": {\"fingerprint\": \"%s\", \"sealed\": \"x\"}}}", fp);
    mk_key_fingerprint(&K, "older", 5, fp);
    snprintf(other, sizeof other, "{\"password\": {\"$secret\": {\"fingerprint\": \"%s\", \"sealed\": \"x\"}}}", fp);
    json_t *a = entry_with("database.a", "database", DB_ATTRS, same), *b = entry_with("database.b", "database", DB_ATTRS, other);
    json_object_set_new(a, "sensitive", json_pack("[s]", "password"));
    json_object_set_new(b, "sensitive", json_pack("[s]", "password"));
    write_state(json_pack("[o, o]", a, b));
    VAR = "pw=s3cret";
    plan_of("var pw: secret\n"
            "resource database a {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
            " storage = 100GiB\n password = var.pw\n}\n"
            "resource database b {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
            " storage = 100GiB\n password = var.pw\n}\n",
            false);
    totals_are(0, 1, 0, 0, 1);
    change_is("database.b", "update", "password", "", "medium");
    assert_string_equal(list("database.b", "sensitive"), "password");
    mk_buf text = {0};
    mk_planfile_emit(PLAN, &K, true, &text);
    assert_non_null(strstr(mk_buf_cstr(&text), "\"$secret\""));
    assert_null(strstr(mk_buf_cstr(&text), "s3cret"));
    mk_buf_free(&text);
}

/* A state entry for database NAME whose password is a secret with this
 * fingerprint. */
static json_t *db_with_password(const char *address, const char *fp)
{
    char pw[256];
    snprintf(pw, sizeof pw, "{\"password\": {\"$secret\": {\"to\": \"%s\", \"sealed\": \"x\", \"fingerprint\": \"%s\"}}}",
             EXEC_ID, fp);
    json_t *e = entry_with(address, "database", DB_ATTRS, pw);
    json_object_set_new(e, "sensitive", json_pack("[s]", "password"));
    return e;
}

/* Sealed to the executor, secrets compare by the fingerprint under the
 * state's fingerprint_key, bound to address and path: the same secret is no
 * change; another one, one fingerprinted for another resource, or one
 * under the project key, an update. The plan file's copy opens at its own
 * address and path. */
static void test_secret_compared_sealed_to_executor(void **state)
{
    (void)state;
    char why[256], fa[65], fb[65], fc[65], fd[65];
    uint8_t fk[32];
    mk_test_hex(FP_KEY, fk, 32);
    mk_seal_fingerprint(fk, "database.a", "[\"password\"]", "s3cret", 6, fa);
    mk_seal_fingerprint(fk, "database.b", "[\"password\"]", "older", 5, fb);
    mk_seal_fingerprint(fk, "database.a", "[\"password\"]", "s3cret", 6, fc); /* database.a's, at database.c */
    mk_key_fingerprint(&K, "s3cret", 6, fd);
    json_t *st = json_pack("{s:s, s:s, s:i, s:s, s:[o, o, o, o]}", "format", "moksha.state/v1", "lineage", "lin-1", "serial", 3,
                           "fingerprint_key", FP_KEY, "resources", db_with_password("database.a", fa),
                           db_with_password("database.b", fb), db_with_password("database.c", fc),
                           db_with_password("database.d", fd));
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(json_dump_file(st, path, 0), 0);
    json_decref(st);
    assert_true(mk_seal_to_load(&K, EXEC_PUBLIC, why, sizeof why));
    VAR = "pw=s3cret";
    mk_buf src = {0};
    for (const char *n = "abcd"; *n; n++)
        mk_buf_printf(&src, "resource database %c {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
                            " storage = 100GiB\n password = var.pw\n}\n", *n);
    mk_buf_puts(&src, "var pw: secret\n");
    plan_of(mk_buf_cstr(&src), false);
    mk_buf_free(&src);
    totals_are(0, 3, 0, 0, 1);
    change_is("database.b", "update", "password", "", "medium");
    change_is("database.c", "update", "password", "", "medium");
    change_is("database.d", "update", "password", "", "medium");
    mk_buf text = {0};
    mk_planfile_emit(PLAN, &K, true, &text);
    json_t *doc = json_loads(mk_buf_cstr(&text), 0, NULL);
    json_t *s = json_object_get(json_object_get(json_object_get(json_array_get(json_object_get(doc, "changes"), 0), "after"),
                                                "password"), "$secret");
    char want[65];
    mk_seal_fingerprint(fk, "database.b", "[\"password\"]", "s3cret", 6, want);
    assert_string_equal(json_string_value(json_object_get(s, "to")), EXEC_ID);
    assert_string_equal(json_string_value(json_object_get(s, "fingerprint")), want);
    char *plain = mk_test_open(json_string_value(json_object_get(s, "sealed")), "database.b", "[\"password\"]");
    assert_string_equal(plain, "s3cret");
    free(plain);
    assert_null(mk_test_open(json_string_value(json_object_get(s, "sealed")), "database.c", "[\"password\"]"));
    assert_null(strstr(mk_buf_cstr(&text), "s3cret"));
    assert_null(strstr(mk_buf_cstr(&text), FP_KEY));
    mk_buf_free(&text);
    json_decref(doc);
}

/* ---- destroy ---- */

/* A destroy plan deletes everything in state, whatever the spec says, each
 * delete after those of what referred to it. */
static void test_destroy(void **state)
{
    (void)state;
    json_t *web = entry_with("compute.web", "compute", WEB_ATTRS, "{\"network\": {\"$ref\": \"network.main\", \"id\": \"vpc-1\"}}");
    json_object_set_new(web, "depends_on", json_pack("[s]", "network.main"));
    write_state(json_pack("[o, o]", entry("network.main", "network", NET_ATTRS), web));
    plan_of("stack demo {}\nresource network main { cidr = \"10.0.0.0/16\" }\n"
            "resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n network = network.main\n}\n"
            "resource bucket new {}\n",
            true);
    totals_are(0, 0, 0, 2, 0);
    assert_true(PLAN->destroy);
    assert_string_equal(PLAN->stack, "demo");
    assert_int_equal(PLAN->nchanges, 2);
    change_is("network.main", "delete", "", "", "high");
    change_is("compute.web", "delete", "", "", "medium");
    assert_string_equal(list("network.main", "depends_on"), "2");
    assert_string_equal(list("compute.web", "depends_on"), "");
    for (size_t i = 0; i < ST->nres; i++) /* nothing desired is diffed */
        assert_null(PLAN->like[i]);
}

/* ---- the risk table (DESIGN.md §4, docs/policies.md "Risk classes") ---- */

static void test_risk_table(void **state)
{
    (void)state;
    const char *t[] = {"tags"}, *m[] = {"tags", "ingress"};
    mk_names tags = {t, 1}, more = {m, 2}, none = {NULL, 0};
    assert_int_equal(mk_plan_risk(MK_ACT_CREATE, "database", true, none), MK_RISK_LOW);
    assert_int_equal(mk_plan_risk(MK_ACT_NOOP, "network", false, none), MK_RISK_LOW);
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "compute", false, tags), MK_RISK_LOW);
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "firewall", false, tags), MK_RISK_LOW);
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "firewall", false, more), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "dns_record", false, none), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "database", true, more), MK_RISK_MEDIUM); /* stateful, in place */
    assert_int_equal(mk_plan_risk(MK_ACT_UPDATE, "compute", false, none), MK_RISK_MEDIUM);
    assert_int_equal(mk_plan_risk(MK_ACT_REPLACE, "compute", false, none), MK_RISK_MEDIUM);
    assert_int_equal(mk_plan_risk(MK_ACT_REPLACE, "volume", true, none), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_REPLACE, "load_balancer", false, none), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_DELETE, "queue", true, none), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_DELETE, "bucket", true, none), MK_RISK_HIGH);
    assert_int_equal(mk_plan_risk(MK_ACT_DELETE, "local.file", false, none), MK_RISK_MEDIUM);
    assert_true(mk_plan_irreversible(MK_ACT_DELETE, true));
    assert_true(mk_plan_irreversible(MK_ACT_REPLACE, true));
    assert_false(mk_plan_irreversible(MK_ACT_UPDATE, true));
    assert_false(mk_plan_irreversible(MK_ACT_DELETE, false));
    assert_string_equal(mk_plan_risk_name(MK_RISK_MEDIUM), "medium");
    assert_string_equal(mk_plan_action_name(MK_ACT_REPLACE), "replace");
}

/* ---- drift: plans from the observations (docs/drift.md) ---- */

/* An observation of state entry e as `moksha-exec refresh` writes it:
 * status, the digest of e (the digest "stale" for one an
 * apply has rewritten since), and for a drifted object its attributes
 * (e's, with over) and the drift list. */
static json_t *seen(json_t *e, const char *status, const char *over, const char *drift)
{
    char d[65];
    mk_observed_digest(e, d);
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", status, "at", "2026-12-01T17:00:00Z", "entry", d);
    if (over) {
        json_t *a = json_deep_copy(json_object_get(e, "attributes")), *x = json_loads(over, 0, NULL);
        assert_non_null(x);
        json_object_update(a, x);
        json_decref(x);
        json_object_set_new(o, "attributes", a);
        json_object_set_new(o, "drift", json_loads(drift, 0, NULL));
    }
    return o;
}

/* Write observed.json holding these observations (takes them). */
static void write_observed(json_t *resources)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:o}", "format", "moksha.observed/v1", "lineage", "lin-1", "serial", 3,
                          "at", "2026-12-01T17:00:00Z", "resources", resources);
    char path[256];
    snprintf(path, sizeof path, "%s/observed.json", dir);
    assert_int_equal(json_dump_file(o, path, JSON_INDENT(1)), 0);
    json_decref(o);
}

static const char *dumped(json_t *v)
{
    static char out[512];
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    snprintf(out, sizeof out, "%s", s ? s : "(null)");
    free(s);
    return out;
}

/* Drifted, mode correct: before is the state's with the drifted attribute
 * as observed, and the update sets it back; the drift record names it. */
static void test_drift_corrected(void **state)
{
    (void)state;
    json_t *web = entry("compute.web", "compute", WEB_ATTRS);
    write_observed(json_pack("{s:o}", "compute.web", seen(web, "present", "{\"cpu\": 4}", "[\"cpu\"]")));
    write_state(json_pack("[o]", web));
    plan_of(WEB, false);
    totals_are(0, 1, 0, 0, 0);
    change_is("compute.web", "update", "cpu", "", "medium");
    const mk_change *c = change("compute.web");
    assert_int_equal(json_integer_value(json_object_get(c->before, "cpu")), 4);
    assert_string_equal(json_string_value(json_object_get(c->before, "memory")), "4GiB");
    assert_int_equal(c->drift, MK_DRIFT_CHANGED);
    assert_string_equal(joined(c->drift_attrs.v, NULL, c->drift_attrs.n), "cpu");
    assert_true(PLAN->observed);
    assert_string_equal(PLAN->observed_at, "2026-12-01T17:00:00Z");
    assert_int_equal(PLAN->observed_serial, 3);
    assert_int_equal(PLAN->ndrift, 1);
    const mk_drift *d = &PLAN->drift[0];
    assert_string_equal(d->address, "compute.web");
    assert_int_equal(d->status, MK_DRIFT_CHANGED);
    assert_string_equal(dumped(d->recorded), "{\"cpu\":2}");
    assert_string_equal(dumped(d->observed), "{\"cpu\":4}");
    assert_string_equal(d->mode, "correct");
    assert_int_equal(d->change, c->id);
}

/* Gone and in the spec: created again; a stateful type comes back empty,
 * so high risk. Gone and not in the spec: a delete marked gone. */
static void test_drift_gone(void **state)
{
    (void)state;
    json_t *db = entry("database.main", "database", DB_ATTRS), *web = entry("compute.web", "compute", WEB_ATTRS);
    write_observed(json_pack("{s:o, s:o}", "database.main", seen(db, "gone", NULL, NULL), "compute.web",
                             seen(web, "gone", NULL, NULL)));
    write_state(json_pack("[o, o]", db, web));
    plan_of("resource database main {\n engine = \"postgres\"\n version = \"16\"\n cpu = 2\n memory = 8GiB\n"
            " storage = 100GiB\n}\n", false);
    totals_are(1, 0, 0, 1, 0);
    assert_string_equal(field("database.main", "action"), "create");
    assert_string_equal(field("database.main", "risk"), "high");
    assert_null(change("database.main")->before);
    assert_string_equal(list("database.main", "after_unknown"), "id,endpoint,port"); /* not the gone object's */
    assert_int_equal(change("database.main")->drift, MK_DRIFT_GONE);
    assert_string_equal(field("compute.web", "action"), "delete");
    assert_int_equal(change("compute.web")->drift, MK_DRIFT_GONE);
    assert_int_equal(PLAN->ndrift, 2);
    assert_int_equal(PLAN->drift[0].change, change("database.main")->id);
    assert_int_equal(PLAN->drift[1].change, change("compute.web")->id);
    assert_null(PLAN->drift[1].recorded);
}

/* mode report: listed, nothing planned; ignore, or only ignore_changes
 * attributes differing: nothing at all. */
static void test_drift_report_and_ignored(void **state)
{
    (void)state;
    json_t *a = entry("compute.a", "compute", WEB_ATTRS), *b = entry("compute.b", "compute", WEB_ATTRS),
           *c = entry("compute.c", "compute", WEB_ATTRS);
    write_observed(json_pack("{s:o, s:o, s:o}", "compute.a", seen(a, "present", "{\"cpu\": 4}", "[\"cpu\"]"), "compute.b",
                             seen(b, "gone", NULL, NULL), "compute.c", seen(c, "present", "{\"tags\": {\"x\": \"y\"}}", "[\"tags\"]")));
    write_state(json_pack("[o, o, o]", a, b, c));
    plan_of("resource compute a {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n lifecycle { drift = \"report\" }\n}\n"
            "resource compute b {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n lifecycle { drift = \"ignore\" }\n}\n"
            "resource compute c {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n lifecycle { ignore_changes = [\"tags\"] }\n}\n",
            false);
    totals_are(0, 0, 0, 0, 3);
    assert_int_equal(PLAN->ndrift, 1);
    assert_string_equal(PLAN->drift[0].address, "compute.a");
    assert_string_equal(PLAN->drift[0].mode, "report");
    assert_int_equal(PLAN->drift[0].change, 0);
}

/* Unreadable: planned from the state as recorded, and listed; an
 * observation of an entry an apply rewrote since is not used. */
static void test_drift_unreadable_and_stale(void **state)
{
    (void)state;
    json_t *web = entry("compute.web", "compute", WEB_ATTRS), *net = entry("network.main", "network", NET_ATTRS);
    json_t *stale = seen(net, "present", "{\"cidr\": \"10.9.0.0/16\"}", "[\"cidr\"]");
    json_object_set_new(stale, "entry", json_string("0000"));
    write_observed(json_pack("{s:o, s:o}", "compute.web", seen(web, "unreadable", NULL, NULL), "network.main", stale));
    write_state(json_pack("[o, o]", web, net));
    plan_of("resource network main { cidr = \"10.0.0.0/16\" }\n" WEB, false);
    totals_are(0, 0, 0, 0, 2);
    assert_int_equal(PLAN->ndrift, 0);
    assert_string_equal(joined(PLAN->unreadable.v, NULL, PLAN->unreadable.n), "compute.web");
}

/* The plan file's JSON of the change at address: one of its fields,
 * compact with sorted keys, for an exact comparison. */
static const char *planned(const char *address, const char *key)
{
    static char out[1024];
    mk_buf text = {0};
    mk_planfile_emit(PLAN, &K, true, &text);
    json_t *doc = json_loads(mk_buf_cstr(&text), 0, NULL);
    assert_non_null(doc);
    size_t i;
    json_t *c, *v = NULL;
    json_array_foreach(json_object_get(doc, "changes"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "address")), address) == 0)
            v = json_object_get(c, key);
    snprintf(out, sizeof out, "%s", dumped(v));
    json_decref(doc);
    mk_buf_free(&text);
    return out;
}

/* A create's after: what is known before apply. */
#define KEPT_AFTER(tags)                                                                                       \
    "{\"arch\":\"x86_64\",\"backup_plan\":null,\"cpu\":4,\"detailed_monitoring\":null,\"disk\":\"20GiB\","      \
    "\"disk_type\":null,\"image\":\"nginx:1.27\",\"instance_type\":null,\"memory\":\"4GiB\",\"network\":null,"    \
    "\"os\":null,\"public_ip\":false,\"purchase\":null,\"shared_core\":false,\"tags\":" tags ",\"user_data\":null}"

/* An update's after: the computed attributes as the state has them too. */
#define UPDATE_AFTER(tags)                                                                                      \
    "{\"arch\":\"x86_64\",\"backup_plan\":null,\"cpu\":4,\"detailed_monitoring\":null,\"disk\":\"20GiB\","      \
    "\"disk_type\":null,\"id\":\"i-1\",\"image\":\"nginx:1.27\",\"instance_type\":null,\"ip\":\"10.0.0.5\","      \
    "\"memory\":\"4GiB\",\"network\":null,\"os\":null,\"private_ip\":\"10.0.0.5\",\"public_ip\":false,"           \
    "\"purchase\":null,\"shared_core\":false,"                                                                \
    "\"tags\":" tags ",\"user_data\":null}"

#define TAGGED(tags, lifecycle)                                                                                \
    "resource compute web {\n cpu = 4\n memory = 4GiB\n image = \"nginx:1.27\"\n tags = " tags "\n"           \
    " lifecycle { " lifecycle " }\n}\n"

/* note [kept]: an ignore_changes attribute's after is before's, not the
 * spec's, so an unrelated update does not write it; a create takes the
 * spec's. */
static void test_ignore_changes_after_is_before(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry_with("compute.web", "compute", WEB_ATTRS, "{\"tags\": {\"team\": \"a\"}}")));
    plan_of(TAGGED("{ team = \"b\" }", "ignore_changes = [\"tags\"]"), false);
    change_is("compute.web", "update", "cpu", "", "medium");
    assert_string_equal(planned("compute.web", "after"), UPDATE_AFTER("{\"team\":\"a\"}"));
    assert_string_equal(joined(change("compute.web")->kept.v, NULL, change("compute.web")->kept.n), "tags");
}

static void test_ignore_changes_create_takes_spec(void **state)
{
    (void)state;
    plan_of(TAGGED("{ team = \"b\" }", "ignore_changes = [\"tags\"]"), false);
    assert_string_equal(field("compute.web", "action"), "create");
    assert_int_equal(change("compute.web")->kept.n, 0);
    assert_string_equal(planned("compute.web", "after"), KEPT_AFTER("{\"team\":\"b\"}"));
}

/* The world's value of an ignore_changes attribute, when the refresh
 * recorded the object (it differs in that attribute only): before and
 * after hold it, and nothing drifted. */
static void test_ignore_changes_keeps_the_world(void **state)
{
    (void)state;
    json_t *web = entry_with("compute.web", "compute", WEB_ATTRS, "{\"tags\": {\"team\": \"a\"}}");
    json_t *o = seen(web, "present", "{\"tags\": {\"team\": \"w\"}}", "[]");
    write_observed(json_pack("{s:o}", "compute.web", o));
    write_state(json_pack("[o]", web));
    plan_of(TAGGED("{ team = \"b\" }", "ignore_changes = [\"tags\"]"), false);
    change_is("compute.web", "update", "cpu", "", "medium");
    assert_string_equal(planned("compute.web", "after"), UPDATE_AFTER("{\"team\":\"w\"}"));
    assert_string_equal(dumped(json_object_get(change("compute.web")->before, "tags")), "{\"team\":\"w\"}");
    assert_int_equal(PLAN->ndrift, 0);
}

/* drift = "report" or "ignore": the drifted attributes are as observed in
 * before and kept in after (not corrected, not overwritten), so an update
 * of another attribute passes the guard; report is still listed. */
static void kept_by_mode(const char *src)
{
    json_t *web = entry_with("compute.web", "compute", WEB_ATTRS, "{\"tags\": {\"team\": \"a\"}}");
    write_observed(json_pack("{s:o}", "compute.web", seen(web, "present", "{\"tags\": {\"team\": \"w\"}}", "[\"tags\"]")));
    write_state(json_pack("[o]", web));
    plan_of(src, false);
    change_is("compute.web", "update", "cpu", "", "medium");
    assert_string_equal(planned("compute.web", "after"), UPDATE_AFTER("{\"team\":\"w\"}"));
    assert_string_equal(dumped(json_object_get(change("compute.web")->before, "tags")), "{\"team\":\"w\"}");
    assert_int_equal(change("compute.web")->drift, MK_DRIFT_NONE);
}

static void test_drift_report_is_kept(void **state)
{
    (void)state;
    kept_by_mode(TAGGED("{ team = \"a\" }", "drift = \"report\""));
    assert_int_equal(PLAN->ndrift, 1);
    assert_string_equal(PLAN->drift[0].mode, "report");
    assert_int_equal(PLAN->drift[0].change, 0);
}

static void test_drift_ignore_is_kept(void **state)
{
    (void)state;
    kept_by_mode(TAGGED("{ team = \"a\" }", "drift = \"ignore\""));
    assert_int_equal(PLAN->ndrift, 0);
}

/* note [observed secrets]: a plain value observed where the state records
 * a secret is taken as a secret that differs (W0003); the drift record
 * holds a sensitive attribute only sealed or as a marker. */
static void test_drift_secret_never_plain(void **state)
{
    (void)state;
    json_t *web = entry_with("compute.web", "compute", WEB_ATTRS,
                             "{\"tags\": {\"token\": {\"$secret\": {\"sealed\": \"x\", \"fingerprint\": \"f\"}}, \"team\": \"a\"}}");
    json_array_append_new(json_object_get(web, "sensitive"), json_string("tags"));
    write_observed(json_pack("{s:o}", "compute.web",
                             seen(web, "present", "{\"tags\": {\"token\": \"PLAIN-LEAK\", \"team\": \"a\"}}", "[\"tags\"]")));
    write_state(json_pack("[o]", web));
    plan_of(WEB, false);
    assert_int_equal(mk_diag_count(P->diag, "W0003"), 1);
    assert_string_equal(dumped(json_object_get(change("compute.web")->before, "tags")), "{\"$secret\":{\"differs\":true}}");
    assert_int_equal(PLAN->ndrift, 1);
    assert_string_equal(dumped(PLAN->drift[0].recorded), "{\"tags\":{\"$secret\":{\"sensitive\":true}}}");
    assert_string_equal(dumped(PLAN->drift[0].observed), "{\"tags\":{\"$secret\":{\"differs\":true}}}");
    mk_buf text = {0};
    mk_planfile_emit(PLAN, &K, true, &text);
    assert_null(strstr(mk_buf_cstr(&text), "PLAIN-LEAK"));
    text.len = 0;
    mk_render_text(PLAN, &text, false);
    assert_non_null(strstr(mk_buf_cstr(&text), "    ~ compute.web changed outside moksha: tags (sensitive) → (sensitive)\n"));
    text.len = 0;
    mk_render_markdown(PLAN, &text);
    assert_non_null(strstr(mk_buf_cstr(&text), "tags (sensitive) → (sensitive)"));
    assert_null(strstr(mk_buf_cstr(&text), "PLAIN-LEAK"));
    mk_buf_free(&text);
}

/* A desired change carries its lifecycle's ignore_changes and drift, for
 * the executor to record; the default drift is no field at all. */
static void test_lifecycle_carried(void **state)
{
    (void)state;
    plan_of("resource compute a {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n"
            " lifecycle {\n ignore_changes = [\"tags\", \"cpu\"]\n drift = \"report\"\n }\n}\n" WEB, false);
    const mk_change *a = change("compute.a"), *w = change("compute.web");
    assert_string_equal(joined(a->ignore_changes.v, NULL, a->ignore_changes.n), "tags,cpu");
    assert_string_equal(a->drift_mode, "report");
    assert_int_equal(w->ignore_changes.n, 0);
    assert_null(w->drift_mode);
    assert_false(PLAN->observed);
}

/* A `moved` block: the old entry is the new address's before; nothing
 * else changes, so the change is a move, low, and nothing is deleted. */
static void test_moved_nothing_changes(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.old", "compute", WEB_ATTRS)));
    plan_of(WEB "moved { from = compute.old, to = compute.web }\n", false);
    totals_are(0, 0, 0, 0, 0);
    assert_int_equal(PLAN->totals.move, 1);
    assert_int_equal(PLAN->nchanges, 1);
    change_is("compute.web", "move", "", "", "low");
    assert_string_equal(change("compute.web")->moved_from, "compute.old");
    assert_string_equal(json_string_value(json_object_get(change("compute.web")->before, "id")), "i-1");
    assert_null(change("compute.web")->import_id);
}

/* A chain a → b → web with a applied, and an attribute that changes: the
 * update of web, from a's entry. */
static void test_moved_chain_with_update(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry_with("compute.a", "compute", WEB_ATTRS, "{\"cpu\": 1}")));
    plan_of(WEB "moved { from = compute.b, to = compute.web }\nmoved { from = compute.a, to = compute.b }\n", false);
    totals_are(0, 1, 0, 0, 0);
    assert_int_equal(PLAN->totals.move, 0);
    change_is("compute.web", "update", "cpu", "", "medium");
    assert_string_equal(change("compute.web")->moved_from, "compute.a");
}

/* What referred to a moved resource still does: compute.web's state
 * reference to network.old is the spec's to network.main. */
static void test_moved_reference_follows(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("network.old", "network", NET_ATTRS),
                          entry_with("compute.web", "compute", WEB_ATTRS,
                                     "{\"network\": {\"$ref\": \"network.old\", \"id\": \"vpc-1\"}}")));
    plan_of("resource network main { cidr = \"10.0.0.0/16\" }\n"
            "resource compute web {\n cpu = 2\n memory = 4GiB\n image = \"nginx:1.27\"\n network = network.main\n}\n"
            "moved { from = network.old, to = network.main }\n",
            false);
    totals_are(0, 0, 0, 0, 1);
    assert_int_equal(PLAN->nchanges, 1);
    change_is("network.main", "move", "", "", "low");
}

/* Applied (the state has `to`, not `from`): nothing to do. */
static void test_moved_done(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.web", "compute", WEB_ATTRS)));
    plan_of(WEB "moved { from = compute.old, to = compute.web }\n", false);
    totals_are(0, 0, 0, 0, 1);
    assert_int_equal(PLAN->totals.move, 0);
    assert_int_equal(PLAN->nchanges, 0);
}

/* The state holds both ends: which is web's object is not guessed. */
static void test_moved_both_in_state(void **state)
{
    (void)state;
    write_state(json_pack("[o, o]", entry("compute.old", "compute", WEB_ATTRS), entry("compute.web", "compute", WEB_ATTRS)));
    mk_test_write(dir, "main.moksha", WEB "moved { from = compute.old, to = compute.web }\n");
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    ST = mk_state_read(path, P->diag);
    const char *paths[] = {dir};
    assert_true(mk_program_load(P, paths, 1));
    P->state = ST;
    mk_eval_program(P);
    mk_moved_eval(P, NULL, NULL);
    PLAN = mk_plan_build(P, ST, &K, false);
    assert_int_equal(mk_diag_count(P->diag, "E0121"), 1);
    const char *code, *msg;
    mk_span at;
    assert_true(mk_diag_last_error(P->diag, &code, &msg, &at));
    assert_string_equal(msg, "the state holds both `compute.old` and `compute.web`");
}

/* An import: action import, high, its id, no before until the executor
 * has read it; not a create. */
static void test_import(void **state)
{
    (void)state;
    VAR = "legacy=i-9";
    plan_of("var legacy: string\n" WEB "import { to = compute.web, id = var.legacy }\n", false);
    totals_are(0, 0, 0, 0, 0);
    assert_int_equal(PLAN->totals.import, 1);
    change_is("compute.web", "import", "", "", "high");
    assert_string_equal(change("compute.web")->import_id, "i-9");
    assert_null(change("compute.web")->before);
    assert_null(change("compute.web")->moved_from);
}

/* An import whose target the state has is done: nothing, no error. */
static void test_import_done(void **state)
{
    (void)state;
    write_state(json_pack("[o]", entry("compute.web", "compute", WEB_ATTRS)));
    plan_of(WEB "import { to = compute.web, id = \"i-1\" }\n", false);
    totals_are(0, 0, 0, 0, 1);
    assert_int_equal(PLAN->totals.import, 0);
    assert_int_equal(PLAN->nchanges, 0);
    assert_int_equal(mk_diag_count(P->diag, "E0121"), 1); /* the note */
}

/* What the executor read for an import (observed.json's `imports`) is its
 * before only for the same id, found: another id, or gone, is not read. */
static void test_import_observed(void **state)
{
    (void)state;
    plan_of(WEB "import { to = compute.web, id = \"i-9\" }\n", false);
    json_t *imports = json_pack("{s:{s:s, s:s, s:{s:i}}}", "compute.web", "id", "i-9", "status", "present",
                                "attributes", "cpu", 4);
    mk_moves *m = mk_moves_new(P, ST, imports);
    mk_moves_hit hit = {0};
    assert_true(mk_moves_find(m, "compute.web", &hit));
    assert_string_equal(hit.import_id, "i-9");
    assert_int_equal(json_integer_value(json_object_get(hit.observed, "cpu")), 4);
    assert_false(mk_moves_find(m, "compute.other", &hit));
    mk_moves_free(m);
    json_object_set_new(json_object_get(imports, "compute.web"), "id", json_string("i-8"));
    m = mk_moves_new(P, ST, imports);
    assert_true(mk_moves_find(m, "compute.web", &hit));
    assert_null(hit.observed);
    mk_moves_free(m);
    json_object_set_new(json_object_get(imports, "compute.web"), "id", json_string("i-9"));
    json_object_set_new(json_object_get(imports, "compute.web"), "status", json_string("gone"));
    m = mk_moves_new(P, ST, imports);
    assert_true(mk_moves_find(m, "compute.web", &hit));
    assert_null(hit.observed);
    mk_moves_free(m);
    json_decref(imports);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noop_not_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_changed_in_schema_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_only_update_is_low, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_to_old_id_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_because_force_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_to_replaced_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_of_stateful_type_is_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_before_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_risk_by_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stateful_read_from_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_hosted_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_waits_for_referrers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prevent_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prevent_destroy_points_at_declaration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_protection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletion_protection_off_is_an_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deposed_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_compared_by_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_compared_sealed_to_executor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_risk_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_corrected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_report_and_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_changes_after_is_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_changes_create_takes_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_changes_keeps_the_world, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_report_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_ignore_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_secret_never_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift_unreadable_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_carried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_nothing_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_chain_with_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_reference_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_both_in_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_observed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
