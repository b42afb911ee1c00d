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
/* The wait runs in a function of its own, called through a pointer that no optimizer can see
 * through (binaryen inlines small functions whatever LLVM was told): Node 20's baseline wasm
 * compiler (V8 11.3's Liftoff) lost locals held across an inlined memory.atomic.wait32. They
 * read 0 afterwards: a helper left the pool by decrementing address 0 instead of `joined`, so
 * disposing the model hung, and a helper ran as thread 0, which halved 2-thread decode. */
static void wait32(_Atomic uint32_t *addr, uint32_t seen) {
    __builtin_wasm_memory_atomic_wait32((int *)addr, (int)seen, -1);
}
static void (*volatile wait32_fn)(_Atomic uint32_t *, uint32_t) = wait32;
static void park(_Atomic uint32_t *addr, uint32_t seen) {
    wait32_fn(addr, seen);
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

/* Bytes of each hosted helper's stack: the kernels keep their buffers there (up to 96 KB of
 * unpacked weights in nu_matmul_rows, 32 KB of F16 input), since helpers may not allocate. */
#define HELPER_STACK (256 * 1024)
/* Polls of a counter before parking: a forward pass is a chain of short products, and a wake
 * from a park costs tens of microseconds, more in a virtual machine. At 20000 polls a 2-thread
 * stories110M Q4_0 decode parked 19 times per token natively, and Chromium's 256-token prompt
 * took 740 ms where 200000 polls took 650. */
#define SPIN 200000
/* Chunks a job is cut into per thread: threads claim them one at a time, so a thread the OS
 * delays leaves its unclaimed chunks to the others instead of holding up the whole job, and
 * small chunks leave little idle time at a job's end (stories110M Q4_0 decode, 2 threads:
 * the caller's wait for the last chunk fell from 9% of its work at 4 chunks to 3% at 32). */
#define CHUNKS_PER_THREAD 32
#define MAX_JOBS 4
/* The counters the caller writes during a job and those helpers poll between jobs sit a
 * cache line apart, so that polling does not slow the claims. */
#define LINE 64

/* One posted set of jobs. Two alternate (by generation) so that a helper still reading the
 * previous post never sees this one half written. */
typedef struct {
    NuPoolJob jobs[MAX_JOBS];
    int64_t chunk[MAX_JOBS];     /* items per chunk of each job, a multiple of its grain */
    uint32_t first[MAX_JOBS + 1]; /* index of each job's first chunk; first[n_jobs]: all */
    /* end of thread i's span of chunks (it starts where span i - 1 ends); read before a claim
     * is validated, hence atomic */
    _Atomic uint32_t span_end[NU_POOL_MAX_THREADS];
    int n_jobs;
} Post;

/* The next chunk of one thread's span, tagged with the generation (generation << 32 | chunk),
 * alone on its cache line so that the owner's claims do not contend with the others'. */
typedef struct {
    _Atomic uint64_t next;
    char pad[LINE - sizeof(uint64_t)];
} Span;

struct NuPool {
    int n;                        /* threads, the caller included */
    _Atomic uint32_t generation;  /* bumped per post and at shutdown; helpers wait on it */
    _Atomic uint32_t sleepers;    /* threads parked or about to park: only then is a wake needed */
    _Atomic uint32_t joined;      /* helpers inside nu_pool_worker */
    _Atomic int stop;
    char pad0[LINE];
    _Atomic uint32_t done;        /* chunks finished in the current post; the caller waits on it */
    char pad1[LINE];
    Span spans[NU_POOL_MAX_THREADS]; /* thread i claims from spans[i] first */
    Post posts[2];                /* posts[generation & 1] is the current one */
#if defined(NU_POOL_HOSTED)
    uint8_t *stacks; /* (n - 1) * HELPER_STACK bytes */
#elif NU_POOL_HELPERS
    pthread_t *threads;
#endif
};

#if NU_POOL_HELPERS
/* Waits until *addr differs from seen; returns the new value. */
static uint32_t wait_change(NuPool *p, _Atomic uint32_t *addr, uint32_t seen) {
    uint32_t v;
    for (int i = 0; i < SPIN; i++)
        if ((v = atomic_load(addr)) != seen)
            return v;
    atomic_fetch_add(&p->sleepers, 1); /* seq_cst: a poster then sees it, or we see its change */
    while ((v = atomic_load(addr)) == seen)
        park(addr, seen);
    atomic_fetch_sub(&p->sleepers, 1);
    return v;
}

static void wake_sleepers(NuPool *p, _Atomic uint32_t *addr) {
    if (atomic_load(&p->sleepers))
        wake(addr);
}

/* Claims the next chunk of span i of the current post: its post, or NULL when none is left.
 * A helper may still hold a value of an older post; the compare-exchange then fails, since
 * the generation in the span moved on, so a post's chunks go only to threads that saw it. */
static Post *claim(NuPool *p, int i, uint32_t *chunk) {
    uint64_t c = atomic_load(&p->spans[i].next);
    for (;;) {
        Post *post = &p->posts[(c >> 32) & 1];
        uint32_t next = (uint32_t)c;
        if (next >= atomic_load(&post->span_end[i]))
            return NULL;
        if (atomic_compare_exchange_weak(&p->spans[i].next, &c, c + 1)) {
            *chunk = next;
            return post;
        }
    }
}

/* Runs chunks of the current post until none is left: thread `self` goes through its own
 * span in order, then helps with the others' (front first). Each thread thus reads one
 * contiguous run of weights, which streams from memory better than chunks dealt out in turn
 * (measured: a 2048 x 768 Q4_0 product out of cache took 1.3-1.5x as long dealt out in
 * turn), and a thread the OS delays still leaves its unclaimed chunks to the others. */
static void work(NuPool *p, int self) {
    uint32_t ran = 0, total = 0;
    for (int k = 0; k < p->n; k++) {
        int i = (self + k) % p->n;
        uint32_t chunk;
        Post *post;
        while ((post = claim(p, i, &chunk)) != NULL) {
            int j = 0;
            while (chunk >= post->first[j + 1])
                j++;
            const NuPoolJob *job = &post->jobs[j];
            total = post->first[post->n_jobs]; /* read now: once done, the post may change */
            int64_t begin = (int64_t)(chunk - post->first[j]) * post->chunk[j];
            int64_t end = begin + post->chunk[j] < job->n_items ? begin + post->chunk[j] : job->n_items;
            job->fn(job->ctx, begin, end);
            ran++;
        }
    }
    /* One count per thread and post rather than one per chunk: the counter's cache line then
     * moves between cores once per thread (natively, stories110M Q4_0 decode on 2 threads went
     * 195 -> 204 tok/s). All the chunks counted belong to one post, since the next post waits
     * for this count. */
    if (ran && atomic_fetch_add(&p->done, ran) + ran == total)
        wake_sleepers(p, &p->done);
}
#endif

NU_EXPORT void nu_pool_worker(NuPool *p, int index) {
#if NU_POOL_HELPERS
    uint32_t seen = 0; /* helpers join before the first job (the host waits for them) */
    atomic_fetch_add(&p->joined, 1);
    wake(&p->joined);
    for (;;) {
        seen = wait_change(p, &p->generation, seen);
        if (atomic_load(&p->stop))
            break;
        work(p, index >= 1 && index < p->n ? index : 1); /* a host's bad index only costs locality */
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

#if NU_POOL_HELPERS
/* Cuts the jobs into chunks of whole grains, about CHUNKS_PER_THREAD per thread for each job,
 * into posts[g & 1] for generation g. */
static uint32_t plan(NuPool *p, Post *post, const NuPoolJob *jobs, int n_jobs) {
    uint32_t total = 0;
    for (int j = 0; j < n_jobs; j++) {
        int64_t grain = jobs[j].grain < 1 ? 1 : jobs[j].grain;
        int64_t n = jobs[j].n_items > 0 ? jobs[j].n_items : 0;
        int64_t units = (n + grain - 1) / grain, cuts = (int64_t)p->n * CHUNKS_PER_THREAD;
        post->jobs[j] = jobs[j];
        post->chunk[j] = (units > cuts ? (units + cuts - 1) / cuts : 1) * grain;
        post->first[j] = total;
        total += (uint32_t)((n + post->chunk[j] - 1) / post->chunk[j]);
    }
    post->first[n_jobs] = total;
    post->n_jobs = n_jobs;
    for (int i = 0; i < p->n; i++)
        atomic_store(&post->span_end[i], (uint32_t)((uint64_t)total * (uint32_t)(i + 1) / (uint32_t)p->n));
    return total;
}
#endif

void nu_pool_run_jobs(NuPool *p, const NuPoolJob *jobs, int n_jobs) {
    for (; n_jobs > MAX_JOBS; jobs += MAX_JOBS, n_jobs -= MAX_JOBS)
        nu_pool_run_jobs(p, jobs, MAX_JOBS);
#if NU_POOL_HELPERS
    if (p && p->n > 1) {
        uint32_t g = atomic_load(&p->generation) + 1;
        Post *post = &p->posts[g & 1]; /* last used two posts ago: no helper reads it */
        uint32_t total = plan(p, post, jobs, n_jobs);
        if (total > 1) {
            atomic_store(&p->done, 0);
            for (int i = 0; i < p->n; i++) /* seq_cst: the post is visible before these */
                atomic_store(&p->spans[i].next, (uint64_t)g << 32 | (i ? atomic_load(&post->span_end[i - 1]) : 0));
            atomic_store(&p->generation, g);
            wake_sleepers(p, &p->generation);
            work(p, 0);
            uint32_t done;
            while ((done = atomic_load(&p->done)) != total)
                wait_change(p, &p->done, done);
            return;
        }
    }
#endif
    for (int j = 0; j < n_jobs; j++)
        if (jobs[j].n_items > 0)
            jobs[j].fn(jobs[j].ctx, 0, jobs[j].n_items);
}

void nu_pool_run(NuPool *p, int64_t n_items, int64_t grain, NuPoolFn fn, void *ctx) {
    NuPoolJob job = {fn, ctx, n_items, grain};
    nu_pool_run_jobs(p, &job, 1);
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
