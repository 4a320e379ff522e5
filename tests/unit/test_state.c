/* Reading applied state (mk_state_read): a state large enough to be parsed
 * in halves (note [state in halves] in compiler/base/state.c) reads as the
 * whole text does — every resource, in file order, found by its address,
 * with strings holding the characters the split scans for — and a damage
 * in either half is the one error a whole-text parse reports. The same
 * from bytes (mk_state_parse, the executor service's answer): no bytes is
 * no state, the text is the caller's again afterwards, unchanged. The
 * executor's fingerprint_key is read, from a large state or a small one, and
 * one that is not 64 lowercase hex digits is damage. What the differ makes of a state
 * is test_plan.c's. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/base/buf.h"
#include "compiler/base/diag.h"
#include "compiler/base/key.h"
#include "compiler/base/source.h"
#include "compiler/base/state.h"

#define NRES 5000 /* above the split's threshold */

static char dir[64];

static int setup(void **state)
{
    (void)state;
    mk_test_tmpdir(dir, "/tmp/mk-state-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mk_test_rmdir(dir);
    return 0;
}

/* A state of n resources r0…r(n-1); the one at damage (if < n) has a key
 * twice. Its `note` holds what the split scans for: commas, brackets, an
 * escaped quote. A key after the list, as a writer may put it. */
static void write_state(size_t n, size_t damage)
{
    mk_buf b = {0};
    mk_buf_puts(&b, "{\"format\": \"moksha.state/v1\", \"lineage\": \"l-1\", \"resources\": [");
    for (size_t i = 0; i < n; i++)
        mk_buf_printf(&b, "%s{\"address\": \"network.r%zu\", \"type\": \"network\", \"attributes\": "
                      "{\"note\": \"a,b],[{\\\"c\\\"}\", \"n\": %zu%s}}", i ? ",\n" : "", i, i,
                      i == damage ? ", \"n\": 0" : "");
    mk_buf_puts(&b, "], \"serial\": 7}");
    mk_test_write(dir, "state.json", mk_buf_cstr(&b));
    mk_buf_free(&b);
}

static mk_state *read_state(mk_diag *d)
{
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    return mk_state_read(path, d);
}

static void test_halves_read_as_whole(void **state)
{
    (void)state;
    write_state(NRES, NRES);
    mk_srcset src = {0};
    mk_diag *d = mk_diag_new(&src);
    mk_state *s = read_state(d);
    assert_non_null(s);
    assert_int_equal(mk_diag_errors(d), 0);
    assert_int_equal(s->nres, NRES);
    assert_string_equal(s->lineage, "l-1");
    assert_int_equal(s->serial, 7);
    const size_t at[] = {0, NRES / 2 - 1, NRES / 2, NRES / 2 + 1, NRES - 1};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        char addr[64];
        snprintf(addr, sizeof addr, "network.r%zu", at[k]);
        size_t index = 0;
        json_t *r = mk_state_find(s, addr, &index);
        assert_ptr_equal(r, s->res[at[k]]);
        assert_int_equal(index, at[k]);
        json_t *attrs = json_object_get(r, "attributes");
        assert_int_equal(json_integer_value(json_object_get(attrs, "n")), at[k]);
        assert_string_equal(json_string_value(json_object_get(attrs, "note")), "a,b],[{\"c\"}");
    }
    assert_null(mk_state_find(s, "network.r5000", NULL));
    mk_state_free(s);
    mk_diag_free(d);
}

/* Damage before, in and after the middle item: each half is checked. */
static void test_damage_in_either_half(void **state)
{
    (void)state;
    const size_t damage[] = {10, NRES / 2, NRES - 10};
    for (size_t k = 0; k < sizeof damage / sizeof *damage; k++) {
        write_state(NRES, damage[k]);
        mk_srcset src = {0};
        mk_diag *d = mk_diag_new(&src);
        assert_null(read_state(d));
        assert_int_equal(mk_diag_errors(d), 1);
        mk_diag_free(d);
    }
}

/* A value nested to 2,045 levels in the middle item: 2,049 from the top,
 * past jansson's 2,048, so the state is refused, as a whole-text parse
 * refuses it; parsed alone the item would start 2 levels higher and pass. */
static void test_too_deep_in_the_middle_refused(void **state)
{
    (void)state;
    mk_buf b = {0};
    mk_buf_puts(&b, "{\"format\": \"moksha.state/v1\", \"lineage\": \"l-1\", \"resources\": [");
    for (size_t i = 0; i < NRES; i++) {
        mk_buf_printf(&b, "%s{\"address\": \"network.r%zu\", \"type\": \"network\", \"attributes\": {\"deep\": ", i ? "," : "", i);
        size_t depth = i == (NRES - 1) / 2 ? 2045 : 1; /* the middle item: the commas around it split the list */
        for (size_t k = 0; k < depth; k++)
            mk_buf_putc(&b, '[');
        for (size_t k = 0; k < depth; k++)
            mk_buf_putc(&b, ']');
        mk_buf_puts(&b, "}}");
    }
    mk_buf_puts(&b, "], \"serial\": 7}");
    mk_test_write(dir, "state.json", mk_buf_cstr(&b));
    mk_buf_free(&b);
    mk_srcset src = {0};
    mk_diag *d = mk_diag_new(&src);
    assert_null(read_state(d));
    assert_int_equal(mk_diag_errors(d), 1);
    mk_diag_free(d);
}

/* A state from its bytes, as large as a split needs: read as from its
 * file, the text given back as it was. */
static void test_parse_from_bytes(void **state)
{
    (void)state;
    mk_buf b = {0};
    mk_buf_puts(&b, "{\"format\": \"moksha.state/v1\", \"lineage\": \"l-2\", \"serial\": 3, \"resources\": [");
    for (size_t i = 0; i < NRES; i++)
        mk_buf_printf(&b, "%s{\"address\": \"network.r%zu\", \"type\": \"network\", \"attributes\": {\"n\": %zu}}",
                      i ? "," : "", i, i);
    mk_buf_puts(&b, "]}");
    char *copy = strdup(mk_buf_cstr(&b));
    mk_srcset src = {0};
    mk_diag *d = mk_diag_new(&src);
    mk_state *s = mk_state_parse(b.data, b.len, "the service's state", d);
    assert_non_null(s);
    assert_int_equal(mk_diag_errors(d), 0);
    assert_int_equal(s->nres, NRES);
    assert_string_equal(s->lineage, "l-2");
    assert_int_equal(s->serial, 3);
    size_t index = 0;
    json_t *r = mk_state_find(s, "network.r4321", &index);
    assert_int_equal(index, 4321);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "attributes"), "n")), 4321);
    assert_memory_equal(b.data, copy, b.len);
    mk_state_free(s);
    free(copy);
    mk_buf_free(&b);
    mk_diag_free(d);
}

/* No bytes: the stack has no state yet. Bad bytes: one error, no state. */
static void test_parse_none_and_damaged(void **state)
{
    (void)state;
    mk_srcset src = {0};
    mk_diag *d = mk_diag_new(&src);
    mk_state *s = mk_state_parse(NULL, 0, "none", d);
    assert_non_null(s);
    assert_null(s->root);
    assert_int_equal(s->nres, 0);
    assert_string_equal(s->lineage, "");
    assert_null(mk_state_find(s, "network.a", NULL));
    mk_state_free(s);
    char bad_json[] = "{\"format\": \"moksha.state/v1\", \"resources\": [";
    assert_null(mk_state_parse(bad_json, strlen(bad_json), "the service's state", d));
    char not_state[] = "{\"format\": \"moksha.plan/v1\", \"resources\": []}";
    assert_null(mk_state_parse(not_state, strlen(not_state), "the service's state", d));
    assert_int_equal(mk_diag_errors(d), 2);
    mk_diag_free(d);
}

/* The state with a fingerprint_key given as its JSON text (NULL: none),
 * read; its resources n of them, so a large one is parsed in halves. */
static mk_state *with_fp_key(const char *json, size_t n, mk_diag *d)
{
    mk_buf b = {0};
    mk_buf_puts(&b, "{\"format\": \"moksha.state/v1\", \"resources\": [");
    for (size_t i = 0; i < n; i++)
        mk_buf_printf(&b, "%s{\"address\": \"network.r%zu\", \"type\": \"network\", \"attributes\": {}}", i ? "," : "", i);
    mk_buf_puts(&b, "]");
    if (json)
        mk_buf_printf(&b, ", \"fingerprint_key\": %s", json);
    mk_buf_puts(&b, "}");
    mk_test_write(dir, "state.json", mk_buf_cstr(&b));
    mk_buf_free(&b);
    return read_state(d);
}

static void test_fingerprint_key(void **state)
{
    (void)state;
    mk_srcset src = {0};
    mk_diag *d = mk_diag_new(&src);
    mk_key k = {.has_fp_key = true};
    const size_t sizes[] = {1, NRES};
    for (size_t i = 0; i < 2; i++) {
        mk_state *st = with_fp_key("\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"", sizes[i], d);
        assert_non_null(st);
        assert_int_equal(st->nres, sizes[i]);
        mk_state_fingerprint_key(st, &k);
        assert_true(k.has_fp_key);
        for (int b = 0; b < 32; b++)
            assert_int_equal(k.fp_key[b], b);
        mk_state_free(st);
    }
    mk_state *st = with_fp_key(NULL, 1, d);
    mk_state_fingerprint_key(st, &k);
    assert_false(k.has_fp_key);
    mk_state_free(st);
    k.has_fp_key = true;
    mk_state_fingerprint_key(NULL, &k); /* no state at all */
    assert_false(k.has_fp_key);
    assert_int_equal(mk_diag_errors(d), 0);
    const char *bad[] = {"\"00010203\"", "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F\"", "\"g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"", "32", "null",
                         "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\""};
    mk_diag_free(d);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = mk_diag_new(&src);
        assert_null(with_fp_key(bad[i], 1, d));
        assert_int_equal(mk_diag_count(d, "E0300"), 1);
        const char *code, *msg;
        mk_span at;
        assert_true(mk_diag_last_error(d, &code, &msg, &at));
        assert_non_null(strstr(msg, "its `fingerprint_key` is not 64 lowercase hex digits"));
        mk_diag_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_halves_read_as_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_in_either_half, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_deep_in_the_middle_refused, setup, teardown),
        cmocka_unit_test(test_parse_from_bytes),
        cmocka_unit_test(test_parse_none_and_damaged),
        cmocka_unit_test_setup_teardown(test_fingerprint_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
