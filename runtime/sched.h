/* sched — runs a DAG of steps on a pool of worker threads (pthreads).
 *
 * A node starts as soon as every node it depends on is done, and a node is
 * done only once what it did has been persisted: after each step the
 * scheduler asks its owner to `record` it (under the scheduler's lock, so
 * records are serial and in completion order), and a flusher thread of its
 * own `flush`es everything recorded since its last flush (group commit: one
 * state write and one fsync cover every step that finished meanwhile).
 * The first failed step, a failed flush, or `stop` returning true ends the
 * run: nothing new starts and running steps are let finish. With
 * keep_going, a failed step only holds back the nodes that depend on it.
 *
 * The caller owns mk_sched and the arrays it points to; the results
 * (status, order) are malloc'd by mk_sched_run and freed by
 * mk_sched_free. */
#ifndef MK_RUNTIME_SCHED_H
#define MK_RUNTIME_SCHED_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { MK_SCHED_PENDING, MK_SCHED_RUNNING, MK_SCHED_DONE, MK_SCHED_FAILED } mk_sched_status;

typedef struct mk_sched_stats {
    size_t total, done, running, failed;
} mk_sched_stats;

typedef struct mk_sched_ops {
    bool (*run)(void *ctx, size_t node);             /* a worker, no lock held: true on success */
    void (*record)(void *ctx, size_t node, bool ok); /* under the lock */
    void *(*snapshot)(void *ctx);                    /* under the lock: what to persist now */
    bool (*flush)(void *ctx, void *snapshot);        /* no lock, one at a time; takes snapshot */
    bool (*stop)(void *ctx);                         /* polled: true to start nothing new */
    void (*tick)(void *ctx, const mk_sched_stats *st); /* calling thread, ~10/s; may be NULL */
} mk_sched_ops;

typedef struct mk_sched {
    size_t n;
    size_t *const *deps;  /* deps[i]: the nodes node i waits for */
    const size_t *ndeps;
    int parallelism;
    bool keep_going;      /* a failed node holds back only what depends on it (rollback) */
    /* results */
    mk_sched_status *status;
    size_t *order, norder; /* done nodes, in the order they were persisted */
    bool stopped;          /* stop() ended the run */
    bool flush_failed;
} mk_sched;

/* Run to the end. False when a dependency is out of range or the graph has
 * a cycle (nodes left pending with nothing running). */
bool mk_sched_run(mk_sched *s, const mk_sched_ops *ops, void *ctx);
void mk_sched_free(mk_sched *s);

#endif
