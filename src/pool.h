/* A fixed pool of threads that share the work of one call: nu_pool_run(pool, n, grain, fn, ctx)
 * cuts items 0..n-1 into chunks (whole multiples of `grain`, a few per thread), which the
 * threads, the caller among them, claim one at a time from a shared counter and run as
 * fn(ctx, begin, end); it returns when all are done. nu_pool_run_jobs does the same for
 * several independent jobs at once, so that they cost one hand-over instead of one each.
 * Which thread runs a range never changes what fn computes for an item, so callers that write
 * each item's result from that item alone (the matrix products split by output rows) give the
 * same bits for any thread count.
 *
 * Natively the helpers are pthreads. In the threaded wasm build (SIMD128 + atomics + a shared
 * memory, web/dist/nucleus-mt.wasm) the host starts them: each helper is a Worker that
 * instantiates the same module on the same memory, moves its stack pointer to
 * nu_pool_stack_top(pool, i) and calls nu_pool_worker(pool, i), which parks until
 * nu_pool_free. Helpers wait with memory.atomic.wait32 (a futex natively) after a short spin,
 * and never allocate: the module's malloc is not thread-safe. The single-threaded wasm builds
 * have no helpers: nu_pool_new with more than one thread fails there (NU_ERR_UNSUPPORTED). */
#ifndef NUCLEUS_POOL_H
#define NUCLEUS_POOL_H

#include <stdint.h>

#include "common.h"

#define NU_POOL_MAX_THREADS 64

typedef struct NuPool NuPool;
typedef void (*NuPoolFn)(void *ctx, int64_t begin, int64_t end);

/* fn over items 0..n_items-1, in ranges starting on multiples of grain. */
typedef struct {
    NuPoolFn fn;
    void *ctx;
    int64_t n_items, grain;
} NuPoolJob;

/* A pool of n_threads threads, the caller included (1..NU_POOL_MAX_THREADS). */
NuCode nu_pool_new(int n_threads, NuPool **out, NuError *err);

/* Stops and joins the helpers (wasm: waits for those that joined to leave nu_pool_worker)
 * and frees the pool. NULL is a no-op. */
void nu_pool_free(NuPool *pool);

/* Threads of the pool, the caller included; 1 for NULL. */
int nu_pool_threads(const NuPool *pool);

/* Runs fn over 0..n_items-1 as described above; a NULL pool runs fn(ctx, 0, n_items) here.
 * Not reentrant: one nu_pool_run at a time per pool, from one thread. */
void nu_pool_run(NuPool *pool, int64_t n_items, int64_t grain, NuPoolFn fn, void *ctx);

/* Runs the n_jobs jobs (in any order, in parallel, none after the call returns): one
 * nu_pool_run of all their chunks together. */
void nu_pool_run_jobs(NuPool *pool, const NuPoolJob *jobs, int n_jobs);

/* wasm hosts: helper i (1..n_threads-1) runs this on its own stack; it returns at nu_pool_free. */
void nu_pool_worker(NuPool *pool, int index);

/* wasm hosts: the top of helper i's stack (allocated by nu_pool_new), and how many helpers have
 * entered nu_pool_worker (the host waits for all before it may free the pool). */
uintptr_t nu_pool_stack_top(const NuPool *pool, int index);
int nu_pool_joined(const NuPool *pool);

#endif
