/* sched — the worker pool: a FIFO of ready nodes, per-node counts of
 * unfinished dependencies, and the group-commit leader (note [group commit]). */
#include "runtime/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run {
    mk_sched *s;
    const mk_sched_ops *ops;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* workers and the caller: work or the end */
    pthread_cond_t fcv;          /* the flusher: something was recorded */
    size_t *ready, head, tail;   /* FIFO of ready nodes */
    size_t *left;                /* unfinished dependencies per node */
    size_t **rdeps, *nrdeps;     /* who waits for each node */
    size_t *batch, nbatch;       /* recorded, not yet flushed */
    size_t *taken;
    bool writer, failing;
    size_t running, alive, failed;
} run;

static void wait_a_while(run *r, long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ms * 1000000L;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&r->cv, &r->mu, &t);
}

static void release(run *r, size_t node)
{
    for (size_t k = 0; k < r->nrdeps[node]; k++) {
        size_t d = r->rdeps[node][k];
        if (--r->left[d] == 0)
            r->ready[r->tail++] = d;
    }
}

/* note [group commit]: a flusher thread of its own persists whatever was
 * recorded since its last flush (one state write and one fsync for the
 * whole batch) while the workers go on with the next ready steps; a
 * dependent is released only after its dependency's flush. Workers never
 * wait for a flush unless nothing else is ready. */
static void *flusher(void *arg)
{
    run *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (!r->nbatch) {
            if (r->alive == 0)
                break;
            pthread_cond_wait(&r->fcv, &r->mu);
            continue;
        }
        if (!r->failing && r->running > 0 && r->nbatch < r->running) {
            /* note [coalesce]: steps of one wave finish within a few ms of
             * each other; waiting 2 ms lets one write cover them, not one
             * write each — fewer files made and fsynced. Dependents wait
             * those 2 ms at most. */
            pthread_mutex_unlock(&r->mu);
            nanosleep(&(struct timespec){0, 2000000L}, NULL);
            pthread_mutex_lock(&r->mu);
        }
        size_t n = r->nbatch;
        memcpy(r->taken, r->batch, n * sizeof *r->taken);
        r->nbatch = 0;
        r->writer = true;
        void *snap = r->ops->snapshot(r->ctx);
        pthread_mutex_unlock(&r->mu);
        bool ok = r->ops->flush(r->ctx, snap);
        pthread_mutex_lock(&r->mu);
        r->writer = false;
        for (size_t i = 0; i < n; i++) {
            size_t node = r->taken[i];
            if (r->s->status[node] == MK_SCHED_FAILED)
                continue;
            r->s->status[node] = MK_SCHED_DONE;
            r->s->order[r->s->norder++] = node;
            if (!r->failing)
                release(r, node);
        }
        if (!ok) {
            r->failing = true;
            r->s->flush_failed = true;
        }
        pthread_cond_broadcast(&r->cv); /* new work, or the end of it */
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void *worker(void *arg)
{
    run *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (!r->failing && r->head < r->tail) {
            size_t node = r->ready[r->head++];
            r->s->status[node] = MK_SCHED_RUNNING;
            r->running++;
            pthread_mutex_unlock(&r->mu);
            bool ok = r->ops->run(r->ctx, node);
            pthread_mutex_lock(&r->mu);
            r->running--;
            r->ops->record(r->ctx, node, ok);
            if (!ok) {
                r->s->status[node] = MK_SCHED_FAILED;
                r->failing |= !r->s->keep_going;
                r->failed++;
                pthread_cond_broadcast(&r->cv);
            }
            r->batch[r->nbatch++] = node;
            pthread_cond_signal(&r->fcv);
            continue;
        }
        if (r->failing || (r->head == r->tail && r->running == 0 && !r->writer && r->nbatch == 0))
            break; /* nothing can become ready any more */
        wait_a_while(r, 50);
    }
    r->alive--;
    pthread_cond_broadcast(&r->cv);
    pthread_cond_signal(&r->fcv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static bool setup(run *r, mk_sched *s)
{
    size_t n = s->n;
    r->ready = calloc(n + 1, sizeof *r->ready);
    r->left = calloc(n + 1, sizeof *r->left);
    r->nrdeps = calloc(n + 1, sizeof *r->nrdeps);
    r->rdeps = calloc(n + 1, sizeof *r->rdeps);
    r->batch = calloc(n + 1, sizeof *r->batch);
    r->taken = calloc(n + 1, sizeof *r->taken);
    s->status = calloc(n + 1, sizeof *s->status);
    s->order = calloc(n + 1, sizeof *s->order);
    if (!r->ready || !r->left || !r->nrdeps || !r->rdeps || !r->batch || !r->taken || !s->status || !s->order)
        return false;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < s->ndeps[i]; k++) {
            if (s->deps[i][k] >= n || s->deps[i][k] == i)
                return false;
            r->nrdeps[s->deps[i][k]]++;
        }
    for (size_t i = 0; i < n; i++) {
        r->rdeps[i] = calloc(r->nrdeps[i] + 1, sizeof **r->rdeps);
        if (!r->rdeps[i])
            return false;
        r->nrdeps[i] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        r->left[i] = s->ndeps[i];
        for (size_t k = 0; k < s->ndeps[i]; k++)
            r->rdeps[s->deps[i][k]][r->nrdeps[s->deps[i][k]]++] = i;
        if (r->left[i] == 0)
            r->ready[r->tail++] = i;
    }
    return true;
}

static void teardown(run *r, size_t n)
{
    for (size_t i = 0; r->rdeps && i < n; i++)
        free(r->rdeps[i]);
    free(r->rdeps);
    free(r->nrdeps);
    free(r->ready);
    free(r->left);
    free(r->batch);
    free(r->taken);
}

bool mk_sched_run(mk_sched *s, const mk_sched_ops *ops, void *ctx)
{
    run r = {.s = s, .ops = ops, .ctx = ctx};
    s->norder = 0;
    s->stopped = s->flush_failed = false;
    if (!setup(&r, s)) {
        teardown(&r, s->n);
        return false;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_cond_init(&r.fcv, NULL);
    size_t nw = s->parallelism < 1 ? 1 : (size_t)s->parallelism;
    if (nw > s->n)
        nw = s->n;
    pthread_t *tids = calloc(nw + 1, sizeof *tids), ftid;
    pthread_mutex_lock(&r.mu);
    for (size_t i = 0; i < nw; i++)
        if (pthread_create(&tids[i], NULL, worker, &r) == 0)
            r.alive++;
    bool have_flusher = pthread_create(&ftid, NULL, flusher, &r) == 0;
    if (!have_flusher) { /* cannot run at all without one */
        r.failing = true;
        r.s->flush_failed = true;
        pthread_cond_broadcast(&r.cv);
    }
#define RUNNING (r.alive > 0 || (have_flusher && (r.nbatch || r.writer)))
    while (RUNNING) {
        if (!r.failing && ops->stop && ops->stop(ctx)) {
            r.failing = s->stopped = true;
            pthread_cond_broadcast(&r.cv);
        }
        mk_sched_stats st = {s->n, s->norder, r.running, r.failed};
        if (ops->tick) {
            pthread_mutex_unlock(&r.mu);
            ops->tick(ctx, &st);
            pthread_mutex_lock(&r.mu);
        }
        if (RUNNING) /* the end may have come while the lock was let go: a wait now would sleep it through */
            wait_a_while(&r, 100);
    }
#undef RUNNING
    pthread_mutex_unlock(&r.mu);
    for (size_t i = 0; i < nw; i++)
        pthread_join(tids[i], NULL);
    if (have_flusher)
        pthread_join(ftid, NULL);
    free(tids);
    bool cycle = !r.failing && !r.failed && s->norder < s->n;
    teardown(&r, s->n);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    pthread_cond_destroy(&r.fcv);
    return !cycle;
}

void mk_sched_free(mk_sched *s)
{
    free(s->status);
    free(s->order);
    s->status = NULL;
    s->order = NULL;
}
