/* Formatter: the design's examples come out as written, each layout rule of
 * note [layout] in compiler/back/fmt.c, idempotence, and that a file that does not
 * parse is refused. */
#include "tests/unit/unit.h"

#include <string.h>

#include "compiler/base/diag.h"
#include "compiler/back/fmt.h"
#include "compiler/base/mem.h"

typedef struct ffix {
    mk_ast_ctx ast;
    mk_srcset src;
    mk_diag *diag;
} ffix;

static ffix F;

static int setup(void **state)
{
    (void)state;
    F.ast = (mk_ast_ctx){.arena = mk_arena_new()}; /* a new arena: no spare lists of the last one */
    F.ast.names = mk_intern_new(F.ast.arena);
    mk_src_init(&F.src);
    F.diag = mk_diag_new(&F.src);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_diag_free(F.diag);
    mk_src_fini(&F.src);
    mk_intern_free(F.ast.names);
    mk_arena_free(F.ast.arena);
    memset(&F, 0, sizeof F);
    return 0;
}

/* Format text (through a source set, for the NUL sentinel); NULL on errors. */
static char *fmt(const char *text)
{
    uint32_t id = mk_src_add(&F.src, "t.moksha", text, strlen(text));
    mk_source *s = mk_src_get(&F.src, id);
    return mk_fmt_source(&F.ast, F.diag, id, s->text, (uint32_t)s->len);
}

/* in formats to want, and want is a fixed point. */
static void check(const char *in, const char *want)
{
    char *out = fmt(in);
    assert_non_null(out);
    assert_string_equal(out, want);
    char *again = fmt(out);
    assert_non_null(again);
    assert_string_equal(again, out);
    mk_mem_free(again);
    mk_mem_free(out);
    assert_int_equal(mk_diag_errors(F.diag), 0);
}

/* Canonical text stays as it is. */
static void same(const char *text) { check(text, text); }

static const char WEBAPP[] =
    "# examples/webapp/main.moksha\n"
    "stack webapp {\n"
    "  env   = \"prod\"\n"
    "  owner = \"platform-team\"\n"
    "}\n"
    "\n"
    "var replicas: int = 2 where replicas >= 1 && replicas <= 20 : \"replicas must be 1..20\"\n"
    "var region: string = \"eu-west-1\"\n"
    "var db_password: secret\n"
    "\n"
    "let tags = { team = \"web\", env = stack.env, owner = stack.owner }\n"
    "\n"
    "provider local { root = \".moksha/out\" }\n"
    "provider sim { latency = 20ms }\n"
    "\n"
    "resource network main {\n"
    "  cidr = \"10.0.0.0/16\"\n"
    "  tags = tags\n"
    "}\n"
    "\n"
    "resource compute web {\n"
    "  count   = var.replicas\n"
    "  cpu     = 2\n"
    "  memory  = 4GiB\n"
    "  image   = \"nginx:1.27\"\n"
    "  network = network.main\n"
    "  tags    = tags + { role = \"web\", index = \"${count.index}\" }\n"
    "  placement {\n"
    "    providers = [aws, gcp, azure]\n"
    "    regions   = [\"eu-west-1\", \"europe-west1\", \"westeurope\"]\n"
    "    optimize  = cost\n"
    "  }\n"
    "}\n"
    "\n"
    "resource database orders {\n"
    "  engine           = \"postgres\"\n"
    "  version          = \"16\"\n"
    "  cpu              = 2\n"
    "  memory           = 8GiB\n"
    "  storage          = 100GiB\n"
    "  backup_retention = 7d\n"
    "  password         = var.db_password\n"
    "  lifecycle { prevent_destroy = true }\n"
    "}\n"
    "\n"
    "resource bucket assets {\n"
    "  encrypted = true\n"
    "  public    = false\n"
    "  usage { stored = 500GB }\n"
    "}\n"
    "\n"
    "resource local.file motd {\n"
    "  path    = \"motd.txt\"\n"
    "  content = \"web x${var.replicas} in ${stack.env}, db ${database.orders.id}\\n\"\n"
    "}\n"
    "\n"
    "output web_ids = [for w in compute.web: w.id]\n"
    "output db_url  = \"postgres://${database.orders.endpoint}/orders\"\n";

static const char POLICIES[] =
    "policy \"storage-encrypted\" {\n"
    "  description = \"Buckets and databases are encrypted at rest\"\n"
    "  enforcement = hard\n"
    "  for r in resources where r.type in [\"bucket\", \"database\"] {\n"
    "    assert r.encrypted : \"${r.address} must set encrypted = true\"\n"
    "  }\n"
    "}\n"
    "\n"
    "policy \"monthly-budget\" {\n"
    "  enforcement = soft\n"
    "  assert plan.cost.monthly <= $1500 : \"plan costs ${plan.cost.monthly}/month, budget is $1500\"\n"
    "}\n"
    "\n"
    "policy \"prod-destroy-approval\" {\n"
    "  enforcement = hard\n"
    "  for c in changes where c.action in [\"delete\", \"replace\"] && stack.env == \"prod\" {\n"
    "    require approval(\"sre\") : \"${c.address} will be ${c.action}d in prod\"\n"
    "  }\n"
    "}\n"
    "\n"
    "test \"unencrypted bucket is denied\" {\n"
    "  resource bucket b { encrypted = false }\n"
    "  expect deny \"storage-encrypted\"\n"
    "}\n";

static void test_design_examples_unchanged(void **state)
{
    (void)state;
    same(WEBAPP);
    same(POLICIES);
}

static void test_design_example_normalises_provider_padding(void **state)
{
    (void)state;
    check("provider local { root = \".moksha/out\" }\nprovider sim   { latency = 20ms }\n",
          "provider local { root = \".moksha/out\" }\nprovider sim { latency = 20ms }\n");
}

static void test_operators_and_punctuation(void **state)
{
    (void)state;
    check("let a=1+2*3-4/5%6\n", "let a = 1 + 2 * 3 - 4 / 5 % 6\n");
    check("let b = x==1&&y!=2||z<3&&w<=4&&v>5&&u>=6\n",
          "let b = x == 1 && y != 2 || z < 3 && w <= 4 && v > 5 && u >= 6\n");
    check("let c = \"a\"in xs\n", "let c = \"a\" in xs\n");
    check("let d = f( 1 ,2 )\n", "let d = f(1, 2)\n");
    check("stack s { a = 1 ; b = 2 , c = 3 }\n", "stack s { a = 1; b = 2, c = 3 }\n");
    check("let e = { for k in m : k=>1 }\n", "let e = { for k in m: k => 1 }\n");
}

static void test_brackets_dots_calls(void **state)
{
    (void)state;
    check("let a = upper ( \"x\" )\n", "let a = upper(\"x\")\n");
    check("let b = [ 1 , 2 ,3 ]\n", "let b = [1, 2, 3]\n");
    check("let c = compute . web [ 0 ] . id\n", "let c = compute.web[0].id\n");
    check("let d = compute.web[ * ].id\n", "let d = compute.web[*].id\n");
    check("let e = {a=1}[ \"a\" ]\n", "let e = { a = 1 }[\"a\"]\n");
    check("let f = [ ]\nlet g = { }\nlet h = f( )\n", "let f = []\nlet g = {}\nlet h = f()\n");
    check("let i = ( 1+2 )*3\n", "let i = (1 + 2) * 3\n");
    check("var t : list( map( string ) )\n", "var t: list(map(string))\n");
}

static void test_unary_and_annotations(void **state)
{
    (void)state;
    check("let a = - 1 + - x\n", "let a = -1 + -x\n");
    check("let b = ! a && ! ( b )\n", "let b = !a && !(b)\n");
    check("let c = f( - 1, [ - 2 ] )\n", "let c = f(-1, [-2])\n");
    check("let d = a - -b\n", "let d = a - -b\n");
    check("@ resource type t {\n  @ computed  @force_new id : string\n}\n",
          "@resource type t {\n  @computed @force_new id: string\n}\n");
}

static void test_colons(void **state)
{
    (void)state;
    check("var x:int=2 where x>0:\"positive\"\n", "var x: int = 2 where x > 0 : \"positive\"\n");
    check("let y = c?1:2\n", "let y = c ? 1 : 2\n");
    check("let z = a ? b ? 1 : 2 : 3\n", "let z = a ? b ? 1 : 2 : 3\n");
    check("let l = [for w in xs : w.id if w.cpu>2]\n", "let l = [for w in xs: w.id if w.cpu > 2]\n");
    check("let m = {for k,v in m : k=>v}\n", "let m = { for k, v in m: k => v }\n");
    check("let n = c ? [for x in xs:x] : []\n", "let n = c ? [for x in xs: x] : []\n");
    check("var v: int = 1 where v > 0 ? true : false : \"m\"\n",
          "var v: int = 1 where v > 0 ? true : false : \"m\"\n");
    check("policy \"p\" {\n  assert ok:\"m\"\n  require approval(\"sre\"):\"n\"\n}\n",
          "policy \"p\" {\n  assert ok : \"m\"\n  require approval(\"sre\") : \"n\"\n}\n");
    check("type t {\n  port : int = 80 where port>0 : \"m\"\n}\n",
          "type t {\n  port: int = 80 where port > 0 : \"m\"\n}\n");
}

static void test_braces(void **state)
{
    (void)state;
    check("stack s{env=\"dev\",owner=\"me\"}\n", "stack s { env = \"dev\", owner = \"me\" }\n");
    check("resource a b {}\n", "resource a b {}\n");
    check("resource a b{\n}\n", "resource a b {\n}\n");
    check("if a {x=1} else if b {x=2} else {x=3}\n",
          "if a { x = 1 } else if b { x = 2 } else { x = 3 }\n");
    check("resource a b { lifecycle{prevent_destroy=true} }\n",
          "resource a b { lifecycle { prevent_destroy = true } }\n");
    check("let m = f({a=1},[{b=2}])\n", "let m = f({ a = 1 }, [{ b = 2 }])\n");
}

static void test_indentation(void **state)
{
    (void)state;
    check("resource a b {\ncpu = 2\n      placement {\n optimize = cost\n}\n    }\n",
          "resource a b {\n  cpu = 2\n  placement {\n    optimize = cost\n  }\n}\n");
    check("let l = [\n1,\n      2,\n]\n", "let l = [\n  1,\n  2,\n]\n");
    check("let m = merge({\na = 1\n}, {\nb = 2\n})\n",
          "let m = merge({\n  a = 1\n}, {\n  b = 2\n})\n");
    check("let n = [[1, 2],\n[3, 4]]\n", "let n = [[1, 2],\n  [3, 4]]\n");
    check("resource a b {\n  x = f(1,\n 2)\n}\n", "resource a b {\n  x = f(1,\n    2)\n}\n");
}

static void test_continuation_lines(void **state)
{
    (void)state;
    check("let a = 1 +\n2 +\n        3\n", "let a = 1 +\n  2 +\n  3\n");
    check("resource a b {\n  x = p &&\n# why\nq\n  y = 1\n}\n",
          "resource a b {\n  x = p &&\n    # why\n    q\n  y = 1\n}\n");
    check("let l = [for x in xs:\nx.id]\n", "let l = [for x in xs:\n  x.id]\n");
}

static void test_alignment_of_attributes(void **state)
{
    (void)state;
    check("resource a b {\n  count = 1\n  cpu = 2\n  memory_size = 4GiB\n}\n",
          "resource a b {\n  count       = 1\n  cpu         = 2\n  memory_size = 4GiB\n}\n");
    /* already aligned too far: padded back */
    check("stack s {\n  a      = 1\n  bb     = 2\n}\n", "stack s {\n  a  = 1\n  bb = 2\n}\n");
    /* a blank line, a comment line, another item each end the run */
    check("stack s {\n  a = 1\n  bbb = 2\n\n  cc = 3\n  # c\n  d = 4\n  eeee = 5\n  x { }\n  ff = 6\n}\n",
          "stack s {\n  a   = 1\n  bbb = 2\n\n  cc = 3\n  # c\n  d    = 4\n  eeee = 5\n  x {}\n"
          "  ff = 6\n}\n");
    /* two items on a line, or a nested block's lines, do not join */
    check("stack s {\n  a = 1; bb = 2\n  ccc = 3\n  dd = { x = 1 }\n}\n",
          "stack s {\n  a = 1; bb = 2\n  ccc = 3\n  dd  = { x = 1 }\n}\n");
}

static void test_alignment_with_multiline_value(void **state)
{
    (void)state;
    /* the line that goes on joins the run as its last line */
    check("resource a b {\n  path = \"p\"\n  content = [\n    1,\n  ]\n  depends_on = []\n}\n",
          "resource a b {\n  path    = \"p\"\n  content = [\n    1,\n  ]\n  depends_on = []\n}\n");
    check("resource a b {\n  p = \"p\"\n  content = \"\"\"\n    x\n    \"\"\"\n  q = 1\n}\n",
          "resource a b {\n  p       = \"p\"\n  content = \"\"\"\n    x\n    \"\"\"\n  q = 1\n}\n");
}

static void test_alignment_of_fields_lets_outputs(void **state)
{
    (void)state;
    check("type t {\n  cpu: int\n  memory : size = 1GiB\n  @computed id: string\n  x: bool\n}\n",
          "type t {\n  cpu:    int\n  memory: size = 1GiB\n  @computed id: string\n  x: bool\n}\n");
    check("output a = 1\noutput bbb = 2\nlet c = 3\nlet dd = 4\n",
          "output a   = 1\noutput bbb = 2\nlet c  = 3\nlet dd = 4\n");
    /* var declarations are not aligned */
    same("var a: int\nvar bbb: string\n");
}

static void test_comments_kept(void **state)
{
    (void)state;
    same("# top\n// slashes\n/* block */\nlet a = 1 # trailing\n");
    check("let a = 1   # trailing   \n", "let a = 1 # trailing\n");
    check("let a = 1 /* in */ + 2\n", "let a = 1 /* in */ + 2\n");
    check("/* two\n   lines   \n */\nlet a = 1\n", "/* two\n   lines\n */\nlet a = 1\n");
    check("stack s { # opens\n  a = 1\n    # closes\n}\n",
          "stack s { # opens\n  a = 1\n  # closes\n}\n");
    /* trailing comments of one alignment run line up */
    check("stack s {\n  a = 100 # x\n  bb = 2 // y\n}\n",
          "stack s {\n  a  = 100 # x\n  bb = 2   // y\n}\n");
}

static void test_blank_lines(void **state)
{
    (void)state;
    check("\n\n\nlet a = 1\n\n\n\nlet b = 2\n\n\n", "let a = 1\n\nlet b = 2\n");
    check("stack s {\n\n\n  a = 1\n\n  b = 2\n\n}\n", "stack s {\n  a = 1\n\n  b = 2\n}\n");
    check("let l = [\n\n  1,\n\n\n  2,\n\n]\n", "let l = [\n  1,\n\n  2,\n]\n");
    check("let a = 1", "let a = 1\n");
    check("let a = 1   \t\n", "let a = 1\n");
    check("", "");
    check("\n \n\t\n", "");
}

static void test_strings_verbatim(void **state)
{
    (void)state;
    same("let a = \"  spaced  ${ upper( \"x${1 +   2}\" ) }  \"\n");
    same("let b = \"$${not} \\\"q\\\" \\n\"\n");
    same("resource local.file f {\n  content = \"\"\"\n      hello ${var.name}   \n        in  dented\n"
         "      \"\"\"\n}\n");
    check("let c=\"x\"+\"\"\"\n  a  b\n  \"\"\"\n", "let c = \"x\" + \"\"\"\n  a  b\n  \"\"\"\n");
}

static void test_crlf_and_tabs(void **state)
{
    (void)state;
    check("stack s {\r\n\tenv = \"x\"\r\n\towner = \"y\" # c\r\n}\r\n",
          "stack s {\n  env   = \"x\"\n  owner = \"y\" # c\n}\n");
}

static void test_syntax_error_gives_null(void **state)
{
    (void)state;
    char *out = fmt("stack s {\n  cpu = = 3\n}\n");
    assert_null(out);
    assert_true(mk_diag_errors(F.diag) > 0);
}

static void test_unclosed_and_lexical_errors_give_null(void **state)
{
    (void)state;
    assert_null(fmt("stack s {\n  a = 1\n"));
    int n = mk_diag_errors(F.diag);
    assert_true(n > 0);
    assert_null(fmt("let a = 'single'\n"));
    assert_true(mk_diag_errors(F.diag) > n);
    n = mk_diag_errors(F.diag);
    assert_null(fmt("let a = \"unterminated\n"));
    assert_true(mk_diag_errors(F.diag) > n);
}

static void test_idempotent_on_messy_input(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "\n# c\n\nstack   s{env=\"dev\" ,owner= \"me\"}\nvar  n :int=3 where n>=1&&n<=5:\"bad\"\n",
        "resource compute web{\n  count=var.n    # t\n  cpu = 2 // s\n\n\n  lifecycle{ prevent_destroy=true }\n"
        "  placement {\n\n    providers=[aws,gcp]\n\n  }\n}\n",
        "let big = {\n  a = 1,\n  bb = [\n    1,\n    2, 3,\n      4\n  ],\n  \"k-q\" = { x = 1,\n      y = 2 }\n}\n",
        "type thing {\n  a : int\n  bbbb : string = \"x\" where length(bbbb)>0 : \"empty\"\n  @computed id : string\n}\n",
        "let v = a ?\n  b :\n  c\nlet w = [for x in xs:\nx]\nlet u = {for k in m:\n  k => 1}\n",
        "/* a\n b */ let q = 1 /* c */ + 2\nlet w = f(/* x */ 1, 2 /* y */)\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *once = fmt(inputs[i]);
        assert_non_null(once);
        char *twice = fmt(once);
        assert_non_null(twice);
        assert_string_equal(twice, once);
        mk_mem_free(twice);
        mk_mem_free(once);
    }
    assert_int_equal(mk_diag_errors(F.diag), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_design_examples_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_design_example_normalises_provider_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operators_and_punctuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brackets_dots_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unary_and_annotations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_colons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_braces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indentation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continuation_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment_of_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment_with_multiline_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment_of_fields_lets_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_verbatim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crlf_and_tabs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error_gives_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclosed_and_lexical_errors_give_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_on_messy_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
