#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall() for the futex */
#endif
#include "pool.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "api.h" /* NU_EXPORT: the wasm host drives the helpers */

/* How the threads wait. The threaded wasm build (-matomics) parks on memory.atomic.wait32,
 * Linux on a futex; both wake on the address of a 32-bit counter. The single-threaded wasm
 * builds have neither and never start helpers. */
#if defined(__wasm_atomics__)
#define NU_POOL_HELPERS 1
#define NU_POOL_HOSTED 1 /* helpers are started by the host, not here */
static void park(_Atomic uint32_t *addr, uint32_t seen) {
    __builtin_wasm_memory_atomic_wait32((int *)addr, (int)seen, -1);
}
static void wake(_Atomic uint32_t *addr) {
    __builtin_wasm_memory_atomic_notify((int *)addr, (unsigned)-1);
}
#elif defined(__linux__)
#define NU_POOL_HELPERS 1
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
static void park(_Atomic uint32_t *addr, uint32_t seen) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}
static void wake(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}
#else
#define NU_POOL_HELPERS 0
#endif

/* Bytes of each hosted helper's stack: the kernels keep their buffers there (up to 64 KB of
 * unpacked weights in nu_matmul_rows, 32 KB of F16 input), since helpers may not allocate. */
#define HELPER_STACK (256 * 1024)
/* Polls of a counter before parking: a forward pass is a chain of short products, and a wake
 * from a park costs tens of microseconds. */
#define SPIN 20000

struct NuPool {
    int n;                        /* threads, the caller included */
    _Atomic uint32_t generation;  /* bumped per job and at shutdown; helpers wait on it */
    _Atomic uint32_t pending;     /* helpers still on the current job; the caller waits on it */
    _Atomic uint32_t joined;      /* helpers inside nu_pool_worker */
    _Atomic int stop;
    NuPoolFn fn;                  /* the current job, written before generation is bumped */
    void *ctx;
    int64_t n_items, grain;
#if defined(NU_POOL_HOSTED)
    uint8_t *stacks; /* (n - 1) * HELPER_STACK bytes */
#elif NU_POOL_HELPERS
    pthread_t *threads;
#endif
};

#if NU_POOL_HELPERS
/* Waits until *addr differs from seen; returns the new value. */
static uint32_t wait_change(_Atomic uint32_t *addr, uint32_t seen) {
    uint32_t v;
    for (int i = 0; i < SPIN; i++)
        if ((v = atomic_load(addr)) != seen)
            return v;
    while ((v = atomic_load(addr)) == seen)
        park(addr, seen);
    return v;
}

/* Thread t's range: the units of `grain` items dealt in contiguous, near-equal shares. */
static void run_share(NuPool *p, int t) {
    int64_t units = (p->n_items + p->grain - 1) / p->grain;
    int64_t begin = units * t / p->n * p->grain, end = units * (t + 1) / p->n * p->grain;
    if (end > p->n_items)
        end = p->n_items;
    if (begin < end)
        p->fn(p->ctx, begin, end);
}
#endif

NU_EXPORT void nu_pool_worker(NuPool *p, int index) {
#if NU_POOL_HELPERS
    uint32_t seen = 0; /* helpers join before the first job (the host waits for them) */
    atomic_fetch_add(&p->joined, 1);
    wake(&p->joined);
    for (;;) {
        seen = wait_change(&p->generation, seen);
        if (atomic_load(&p->stop))
            break;
        run_share(p, index);
        if (atomic_fetch_sub(&p->pending, 1) == 1)
            wake(&p->pending);
    }
    atomic_fetch_sub(&p->joined, 1);
    wake(&p->joined);
#else
    (void)p;
    (void)index;
#endif
}

#if NU_POOL_HELPERS && !defined(NU_POOL_HOSTED)
typedef struct {
    NuPool *pool;
    int index;
} Helper;

static void *helper_main(void *arg) {
    Helper h = *(Helper *)arg;
    free(arg);
    nu_pool_worker(h.pool, h.index);
    return NULL;
}

/* Starts helpers 1..n-1; on failure stops those started. */
static NuCode start_threads(NuPool *p, NuError *err) {
    p->threads = calloc((size_t)p->n, sizeof *p->threads);
    if (!p->threads)
        return nu_fail(err, NU_ERR_NOMEM, "thread pool: out of memory");
    for (int i = 1; i < p->n; i++) {
        Helper *h = malloc(sizeof *h);
        if (h)
            *h = (Helper){p, i};
        if (!h || pthread_create(&p->threads[i], NULL, helper_main, h) != 0) {
            free(h);
            int wanted = p->n;
            p->n = i; /* nu_pool_free joins the helpers started, 1..i-1 */
            return nu_fail(err, NU_ERR_NOMEM, "thread pool: cannot start thread %d of %d", i + 1, wanted);
        }
    }
    return NU_OK;
}
#endif

NuCode nu_pool_new(int n_threads, NuPool **out, NuError *err) {
    *out = NULL;
    if (n_threads < 1 || n_threads > NU_POOL_MAX_THREADS)
        return nu_fail(err, NU_ERR_ARG, "thread pool: %d threads (1..%d)", n_threads, NU_POOL_MAX_THREADS);
    if (!NU_POOL_HELPERS && n_threads > 1)
        return nu_fail(err, NU_ERR_UNSUPPORTED, "this build has no threads (use the threaded wasm module)");
    NuPool *p = calloc(1, sizeof *p);
    if (!p)
        return nu_fail(err, NU_ERR_NOMEM, "thread pool: out of memory");
    p->n = n_threads;
    NuCode rc = NU_OK;
#if defined(NU_POOL_HOSTED)
    if (n_threads > 1 && !(p->stacks = malloc((size_t)(n_threads - 1) * HELPER_STACK)))
        rc = nu_fail(err, NU_ERR_NOMEM, "thread pool: out of memory for %d helper stacks", n_threads - 1);
#elif NU_POOL_HELPERS
    if (n_threads > 1)
        rc = start_threads(p, err);
#endif
    if (rc) {
        nu_pool_free(p);
        return rc;
    }
    *out = p;
    return NU_OK;
}

void nu_pool_free(NuPool *p) {
    if (!p)
        return;
#if NU_POOL_HELPERS
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->generation, 1);
    wake(&p->generation);
#if defined(NU_POOL_HOSTED)
    uint32_t joined;
    while ((joined = atomic_load(&p->joined)) != 0)
        park(&p->joined, joined);
    free(p->stacks);
#else
    if (p->threads)
        for (int i = 1; i < p->n; i++)
            pthread_join(p->threads[i], NULL);
    free(p->threads);
#endif
#endif
    free(p);
}

int nu_pool_threads(const NuPool *p) {
    return p ? p->n : 1;
}

void nu_pool_run(NuPool *p, int64_t n_items, int64_t grain, NuPoolFn fn, void *ctx) {
    if (grain < 1)
        grain = 1;
    if (!p || p->n == 1 || n_items <= grain) {
        if (n_items > 0)
            fn(ctx, 0, n_items);
        return;
    }
#if NU_POOL_HELPERS
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n_items;
    p->grain = grain;
    atomic_store(&p->pending, (uint32_t)(p->n - 1));
    atomic_fetch_add(&p->generation, 1); /* seq_cst: the job fields are visible before this */
    wake(&p->generation);
    run_share(p, 0);
    uint32_t left;
    while ((left = atomic_load(&p->pending)) != 0)
        wait_change(&p->pending, left);
#endif
}

NU_EXPORT uintptr_t nu_pool_stack_top(const NuPool *p, int index) {
#if defined(NU_POOL_HOSTED)
    if (p && p->stacks && index >= 1 && index < p->n)
        return (uintptr_t)(p->stacks + (size_t)index * HELPER_STACK) & ~(uintptr_t)15;
#endif
    (void)p;
    (void)index;
    return 0;
}

NU_EXPORT int nu_pool_joined(const NuPool *p) {
    return p ? (int)atomic_load(&p->joined) : 0;
}
