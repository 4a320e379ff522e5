/* test_sched — the worker pool over a DAG (runtime/sched.c): a node starts
 * only after every node it depends on is persisted; no more nodes run at
 * once than the parallelism; a failure, a failed flush or stop() holds back
 * what has not started (with keep_going, only what depends on the failure);
 * nodes are done in the order they were recorded and flushed; a cycle or a
 * bad edge is refused. The scheduler knows nothing of plans: the callbacks
 * here stand in for the executor's. */
#include "tests/unit/unit.h"

#include <pthread.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/sched.h"

#define MAXN 16

/* What the callbacks saw; every field under mu. */
typedef struct sctx {
    pthread_mutex_t mu;
    size_t n;                    /* nodes in the graph */
    size_t *const *deps;
    const size_t *ndeps;
    int persisted[MAXN];         /* flushed */
    int early[MAXN];             /* started before a dependency was persisted */
    int started[MAXN], nstarted; /* in start order */
    int recorded[MAXN], nrecorded;
    int pending, npending;       /* recorded since the last snapshot */
    int running, max_running;
    int failing;                 /* this node's run fails (-1: none) */
    double run_ms;               /* how long a run takes */
    bool fail_flush, stop_now;
    int flushes, ticks, bad_ticks;
} sctx;

static void init(sctx *c, size_t n, size_t *const *deps, const size_t *ndeps)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->n = n, c->deps = deps, c->ndeps = ndeps;
    c->failing = -1;
    c->run_ms = 5;
}

static bool s_run(void *vc, size_t node)
{
    sctx *c = vc;
    pthread_mutex_lock(&c->mu);
    for (size_t k = 0; k < c->ndeps[node]; k++)
        if (!c->persisted[c->deps[node][k]])
            c->early[node] = 1;
    c->started[c->nstarted++] = (int)node;
    if (++c->running > c->max_running)
        c->max_running = c->running;
    pthread_mutex_unlock(&c->mu);
    mk_clock_sleep_ms(c->run_ms);
    pthread_mutex_lock(&c->mu);
    c->running--;
    pthread_mutex_unlock(&c->mu);
    return (int)node != c->failing;
}

static void s_record(void *vc, size_t node, bool ok)
{
    sctx *c = vc;
    (void)ok;
    pthread_mutex_lock(&c->mu);
    c->recorded[c->nrecorded++] = (int)node;
    c->npending++;
    pthread_mutex_unlock(&c->mu);
}

/* The snapshot is the records made since the last one: [from, to). */
typedef struct batch {
    int from, to;
} batch;

static void *s_snap(void *vc)
{
    sctx *c = vc;
    pthread_mutex_lock(&c->mu);
    batch *b = malloc(sizeof *b);
    b->to = c->nrecorded;
    b->from = b->to - c->npending;
    c->npending = 0;
    pthread_mutex_unlock(&c->mu);
    return b;
}

static bool s_flush(void *vc, void *snap)
{
    sctx *c = vc;
    batch *b = snap;
    pthread_mutex_lock(&c->mu);
    for (int i = b->from; i < b->to && !c->fail_flush; i++)
        c->persisted[c->recorded[i]] = 1;
    c->flushes++;
    bool ok = !c->fail_flush;
    pthread_mutex_unlock(&c->mu);
    free(b);
    return ok;
}

static bool s_stop(void *vc) { return ((sctx *)vc)->stop_now; }

static void s_tick(void *vc, const mk_sched_stats *st)
{
    sctx *c = vc;
    pthread_mutex_lock(&c->mu);
    c->ticks++;
    if (st->total != c->n || st->done > st->total || st->running > (size_t)MAXN)
        c->bad_ticks++;
    pthread_mutex_unlock(&c->mu);
}

static const mk_sched_ops OPS = {s_run, s_record, s_snap, s_flush, s_stop, s_tick};

/* A DAG: 0 → 1 → 3, 0 → 2 → 3, 4 alone (an edge a → b: b waits for a). */
static size_t d1[] = {0}, d2[] = {0}, d3[] = {1, 2};
static size_t *const DEPS[] = {NULL, d1, d2, d3, NULL};
static const size_t NDEPS[] = {0, 1, 1, 2, 0};

/* MAXN nodes without edges */
static size_t *const NODEPS[MAXN];
static const size_t NONE[MAXN];

/* Run s to the end with no cycle found, done nodes counted. */
static void run_ok(mk_sched *s, sctx *c, size_t done)
{
    assert_true(mk_sched_run(s, &OPS, c));
    assert_int_equal(s->norder, done);
}

static size_t pos_in(const mk_sched *s, size_t node)
{
    for (size_t i = 0; i < s->norder; i++)
        if (s->order[i] == node)
            return i;
    return (size_t)-1;
}

static void test_order_respects_edges(void **st)
{
    (void)st;
    for (int par = 1; par <= 4; par += 3) {
        sctx c;
        init(&c, 5, DEPS, NDEPS);
        mk_sched s = {.n = 5, .deps = DEPS, .ndeps = NDEPS, .parallelism = par};
        run_ok(&s, &c, 5);
        assert_int_equal(c.nstarted, 5);
        assert_int_equal(c.nrecorded, 5);
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(s.status[i], MK_SCHED_DONE);
            assert_int_equal(c.early[i], 0);
            assert_int_equal(c.persisted[i], 1);
        }
        assert_true(pos_in(&s, 0) < pos_in(&s, 1));
        assert_true(pos_in(&s, 0) < pos_in(&s, 2));
        assert_true(pos_in(&s, 1) < pos_in(&s, 3));
        assert_true(pos_in(&s, 2) < pos_in(&s, 3));
        assert_false(s.stopped);
        assert_false(s.flush_failed);
        assert_true(c.ticks >= 1);
        assert_int_equal(c.bad_ticks, 0);
        mk_sched_free(&s);
        assert_null(s.status);
        assert_null(s.order);
    }
}

/* Done means recorded and then flushed: order is the order of the records,
 * each node once, however the flushes grouped them. */
static void test_order_is_persist_order(void **st)
{
    (void)st;
    sctx c;
    init(&c, 12, NODEPS, NONE);
    mk_sched s = {.n = 12, .deps = NODEPS, .ndeps = NONE, .parallelism = 4};
    run_ok(&s, &c, 12);
    assert_int_equal(c.nrecorded, 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(s.order[i], (size_t)c.recorded[i]);
    int seen[12] = {0};
    for (size_t i = 0; i < 12; i++)
        seen[s.order[i]]++;
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(seen[i], 1);
    assert_true(c.flushes >= 1 && c.flushes <= 12);
    mk_sched_free(&s);
}

static void test_parallelism_bound(void **st)
{
    (void)st;
    int pars[] = {1, 3, 16};
    int want[] = {1, 3, 6}; /* 16 workers for 6 nodes: at most 6 at once */
    size_t ns[] = {8, 12, 6};
    for (int t = 0; t < 3; t++) {
        sctx c;
        init(&c, ns[t], NODEPS, NONE);
        c.run_ms = 50; /* long enough that the workers overlap */
        mk_sched s = {.n = ns[t], .deps = NODEPS, .ndeps = NONE, .parallelism = pars[t]};
        run_ok(&s, &c, ns[t]);
        assert_int_equal(c.max_running, want[t]);
        mk_sched_free(&s);
    }
    /* parallelism 0 (or less) is one worker, not none */
    sctx c;
    init(&c, 5, DEPS, NDEPS);
    mk_sched s = {.n = 5, .deps = DEPS, .ndeps = NDEPS, .parallelism = 0};
    run_ok(&s, &c, 5);
    assert_int_equal(c.max_running, 1);
    mk_sched_free(&s);
}

/* A chain 0 → 1 → 2 and 3 alone, one worker: node 0 fails first. */
static size_t c1[] = {0}, c2[] = {1};
static size_t *const CHAIN[] = {NULL, c1, c2, NULL};
static const size_t NCHAIN[] = {0, 1, 1, 0};

static void test_failure_stops_dependants(void **st)
{
    (void)st;
    sctx c;
    init(&c, 4, CHAIN, NCHAIN);
    c.failing = 0;
    mk_sched s = {.n = 4, .deps = CHAIN, .ndeps = NCHAIN, .parallelism = 1};
    assert_true(mk_sched_run(&s, &OPS, &c)); /* a failure is not a cycle */
    assert_int_equal(s.status[0], MK_SCHED_FAILED);
    assert_int_equal(s.status[1], MK_SCHED_PENDING);
    assert_int_equal(s.status[2], MK_SCHED_PENDING);
    assert_int_equal(s.status[3], MK_SCHED_PENDING); /* ready, but nothing new starts after a failure */
    assert_int_equal(c.nstarted, 1);
    assert_int_equal(c.nrecorded, 1); /* the failure is recorded too (the audit says so) */
    assert_int_equal(s.norder, 0);
    assert_false(s.stopped);
    mk_sched_free(&s);

    /* the DAG, node 1 fails: 3 (after 1) never starts */
    init(&c, 5, DEPS, NDEPS);
    c.failing = 1;
    mk_sched g = {.n = 5, .deps = DEPS, .ndeps = NDEPS, .parallelism = 1};
    assert_true(mk_sched_run(&g, &OPS, &c));
    assert_int_equal(g.status[0], MK_SCHED_DONE);
    assert_int_equal(g.status[1], MK_SCHED_FAILED);
    assert_int_equal(g.status[3], MK_SCHED_PENDING);
    for (int i = 0; i < c.nstarted; i++)
        assert_int_not_equal(c.started[i], 3);
    mk_sched_free(&g);
}

/* keep_going (rollback): only what depends on the failure is held back. */
static void test_keep_going(void **st)
{
    (void)st;
    sctx c;
    init(&c, 5, DEPS, NDEPS);
    c.failing = 1;
    mk_sched g = {.n = 5, .deps = DEPS, .ndeps = NDEPS, .parallelism = 1, .keep_going = true};
    assert_true(mk_sched_run(&g, &OPS, &c)); /* 3 left pending behind a failure: no cycle */
    assert_int_equal(g.status[0], MK_SCHED_DONE);
    assert_int_equal(g.status[1], MK_SCHED_FAILED);
    assert_int_equal(g.status[2], MK_SCHED_DONE);
    assert_int_equal(g.status[3], MK_SCHED_PENDING);
    assert_int_equal(g.status[4], MK_SCHED_DONE);
    assert_int_equal(g.norder, 3);
    assert_int_equal(c.nstarted, 4);
    assert_false(g.stopped);
    mk_sched_free(&g);
}

static void test_stop_starts_nothing(void **st)
{
    (void)st;
    sctx c;
    init(&c, 5, DEPS, NDEPS);
    c.stop_now = true; /* polled before any worker can take a node */
    mk_sched s = {.n = 5, .deps = DEPS, .ndeps = NDEPS, .parallelism = 4};
    assert_true(mk_sched_run(&s, &OPS, &c));
    assert_true(s.stopped);
    assert_int_equal(c.nstarted, 0);
    assert_int_equal(s.norder, 0);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.status[i], MK_SCHED_PENDING);
    mk_sched_free(&s);
}

/* A failed flush: what it covered is not persisted, so nothing waiting
 * for it may start. */
static void test_flush_failure(void **st)
{
    (void)st;
    sctx c;
    init(&c, 4, CHAIN, NCHAIN);
    c.fail_flush = true;
    mk_sched s = {.n = 4, .deps = CHAIN, .ndeps = NCHAIN, .parallelism = 1};
    assert_true(mk_sched_run(&s, &OPS, &c));
    assert_true(s.flush_failed);
    assert_false(s.stopped);
    assert_int_equal(s.status[1], MK_SCHED_PENDING);
    assert_int_equal(s.status[2], MK_SCHED_PENDING);
    for (int i = 0; i < c.nstarted; i++) {
        assert_int_not_equal(c.started[i], 1);
        assert_int_not_equal(c.started[i], 2);
    }
    mk_sched_free(&s);
}

/* A cycle leaves nodes pending with nothing running; a self edge or an edge
 * out of range is refused before anything runs. */
static void test_bad_graphs(void **st)
{
    (void)st;
    static size_t to1[] = {1}, to0[] = {0}, to9[] = {9};
    static size_t *const CYCLE[] = {to1, to0, NULL};
    static const size_t NCYCLE[] = {1, 1, 0};
    sctx c;
    init(&c, 3, CYCLE, NCYCLE);
    mk_sched s = {.n = 3, .deps = CYCLE, .ndeps = NCYCLE, .parallelism = 2};
    assert_false(mk_sched_run(&s, &OPS, &c));
    assert_int_equal(s.status[0], MK_SCHED_PENDING);
    assert_int_equal(s.status[1], MK_SCHED_PENDING);
    assert_int_equal(s.status[2], MK_SCHED_DONE); /* outside the cycle: it runs */
    assert_int_equal(c.nstarted, 1);
    mk_sched_free(&s);

    static size_t *const SELF[] = {to0};
    static const size_t NSELF[] = {1};
    init(&c, 1, SELF, NSELF);
    mk_sched t = {.n = 1, .deps = SELF, .ndeps = NSELF, .parallelism = 1};
    assert_false(mk_sched_run(&t, &OPS, &c));
    assert_int_equal(c.nstarted, 0);
    mk_sched_free(&t);

    static size_t *const FAR[] = {NULL, to9};
    static const size_t NFAR[] = {0, 1};
    init(&c, 2, FAR, NFAR);
    mk_sched u = {.n = 2, .deps = FAR, .ndeps = NFAR, .parallelism = 1};
    assert_false(mk_sched_run(&u, &OPS, &c));
    assert_int_equal(c.nstarted, 0);
    mk_sched_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_respects_edges),
        cmocka_unit_test(test_order_is_persist_order),
        cmocka_unit_test(test_parallelism_bound),
        cmocka_unit_test(test_failure_stops_dependants),
        cmocka_unit_test(test_keep_going),
        cmocka_unit_test(test_stop_starts_nothing),
        cmocka_unit_test(test_flush_failure),
        cmocka_unit_test(test_bad_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
