/* The thread pool (pool.h): every item of a job runs exactly once, in ranges that start on
 * the grain, for 1..4 threads; and the forward pass gives bit-identical logits with the
 * work (products, attention heads, activation) split over 1, 2, 3 and 4 threads, for models of
 * several weight types and architectures (24 positions each, fed one at a time and as one
 * batch). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "gguf.h"
#include "loader.h"
#include "model.h"
#include "pool.h"

/* --- the pool itself ----------------------------------------------------------------------- */

typedef struct {
    _Atomic int *visits; /* per item */
    int64_t grain;
    _Atomic int misaligned;
} CoverJob;

static void cover(void *ctx, int64_t begin, int64_t end) {
    CoverJob *job = ctx;
    if (begin % job->grain != 0)
        atomic_fetch_add(&job->misaligned, 1);
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&job->visits[i], 1);
}

/* Several jobs in one nu_pool_run_jobs, more than one post holds (4), of sizes and grains
 * mixed, empty ones among them. */
static void test_cover_jobs(NuPool *pool) {
    static const int64_t sizes[] = {768, 0, 5, 2048, 1, 97};
    static const int64_t grains[] = {4, 4, 1, 4, 7, 3};
    enum { JOBS = sizeof sizes / sizeof *sizes };
    CoverJob cover_jobs[JOBS];
    NuPoolJob jobs[JOBS];
    for (int j = 0; j < JOBS; j++) {
        cover_jobs[j] = (CoverJob){calloc((size_t)sizes[j] + 1, sizeof(_Atomic int)), grains[j], 0};
        jobs[j] = (NuPoolJob){cover, &cover_jobs[j], sizes[j], grains[j]};
    }
    for (int rep = 0; rep < 3; rep++)
        for (int n = 1; n <= JOBS; n++)
            nu_pool_run_jobs(pool, jobs, n);
    for (int j = 0; j < JOBS; j++) {
        int ok = 1;
        for (int64_t i = 0; i < sizes[j]; i++)
            ok &= atomic_load(&cover_jobs[j].visits[i]) == 3 * (JOBS - j);
        CHECK(ok);
        CHECK(atomic_load(&cover_jobs[j].misaligned) == 0);
        free(cover_jobs[j].visits);
    }
}

static void test_cover(void) {
    static const int64_t sizes[] = {0, 1, 3, 4, 5, 17, 64, 1001};
    static const int64_t grains[] = {1, 4, 7};
    for (int threads = 1; threads <= 4; threads++) {
        NuPool *pool;
        NuError err;
        CHECK(nu_pool_new(threads, &pool, &err) == NU_OK);
        CHECK(nu_pool_threads(pool) == threads);
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t gi = 0; gi < sizeof grains / sizeof *grains; gi++) {
                int64_t n = sizes[si];
                _Atomic int *visits = calloc((size_t)n + 1, sizeof *visits);
                CoverJob job = {visits, grains[gi], 0};
                for (int rep = 0; rep < 3; rep++) /* the same pool serves job after job */
                    nu_pool_run(pool, n, grains[gi], cover, &job);
                int ok = 1;
                for (int64_t i = 0; i < n; i++)
                    ok &= atomic_load(&visits[i]) == 3;
                CHECK(ok);
                CHECK(atomic_load(&job.misaligned) == 0);
                free(visits);
            }
        test_cover_jobs(pool);
        nu_pool_free(pool);
    }
    NuPool *pool = NULL;
    NuError err;
    CHECK(nu_pool_new(0, &pool, &err) == NU_ERR_ARG && pool == NULL);
    CHECK(nu_pool_new(NU_POOL_MAX_THREADS + 1, &pool, &err) == NU_ERR_ARG);
    CHECK(nu_pool_threads(NULL) == 1);
    nu_pool_free(NULL);
}

/* --- the forward pass over 1..4 threads -------------------------------------------------- */

#define POSITIONS 24

static int token_at(const NuConfig *c, int pos) {
    return (int)((int64_t)pos * 7919 % c->vocab_size);
}

/* Logits of POSITIONS positions (token_at(pos) at position pos) with `threads` threads, fed one
 * at a time, then those of the last position with all fed in one batch; a malloc'd array of
 * (POSITIONS + 1) * vocab floats, NULL on failure. */
static float *run(const NuConfig *c, const NuWeights *w, int threads) {
    NuRunState *s;
    NuPool *pool;
    NuError err;
    if (nu_runstate_new(c, &s, &err) != NU_OK)
        return NULL;
    if (nu_pool_new(threads, &pool, &err) != NU_OK) {
        nu_runstate_free(s);
        return NULL;
    }
    s->pool = pool;
    float *all = malloc((size_t)(POSITIONS + 1) * c->vocab_size * sizeof *all);
    int tokens[POSITIONS];
    for (int pos = 0; pos < POSITIONS; pos++)
        tokens[pos] = token_at(c, pos);
    for (int pos = 0; all && pos <= POSITIONS; pos++) {
        NuCode rc = pos < POSITIONS ? nu_forward(c, w, s, tokens[pos], pos, &err)
                                    : nu_forward_batch(c, w, s, tokens, POSITIONS, 0, &err);
        if (rc != NU_OK) {
            fprintf(stderr, "forward: %s\n", err.message);
            free(all);
            all = NULL;
            break;
        }
        memcpy(all + (size_t)pos * c->vocab_size, nu_runstate_logits(s), (size_t)c->vocab_size * sizeof *all);
    }
    nu_runstate_free(s);
    nu_pool_free(pool);
    return all;
}

static void test_model(const char *path) {
    size_t size;
    uint8_t *file = read_file(path, &size);
    CHECK(file != NULL);
    if (!file)
        return;
    GgufFile *g = NULL;
    NuConfig c;
    NuWeights w;
    NuError err;
    int ok = gguf_open(file, size, &g, &err) == NU_OK && nu_load_gguf_weights(g, &c, &w, &err) == NU_OK;
    CHECK(ok);
    if (ok) {
        if (c.seq_len > POSITIONS)
            c.seq_len = POSITIONS; /* a small KV cache is enough */
        float *one = run(&c, &w, 1);
        CHECK(one != NULL);
        /* batched or not, the same logits (model.c's contract), so the batch ran its parallel parts */
        CHECK(one && memcmp(one + (size_t)(POSITIONS - 1) * c.vocab_size, one + (size_t)POSITIONS * c.vocab_size,
                            (size_t)c.vocab_size * sizeof *one) == 0);
        for (int threads = 2; one && threads <= 4; threads++) {
            float *many = run(&c, &w, threads);
            int same = many && memcmp(one, many, (size_t)(POSITIONS + 1) * c.vocab_size * sizeof *one) == 0;
            if (!same)
                fprintf(stderr, "%s: logits with %d threads differ from 1 thread\n", path, threads);
            CHECK(same);
            free(many);
        }
        free(one);
        nu_weights_free(&w);
    } else {
        fprintf(stderr, "%s: %s\n", path, err.message);
    }
    gguf_close(g);
    free(file);
}

int main(void) {
    test_cover();
    static const char *const models[] = {
        "../shared/models/stories260K/stories260K.gguf", /* F32 */
        "models/stories15M-q8_0.gguf", "models/stories15M-q4_0.gguf", "models/stories15M-f16.gguf",
        "models/kq576-q4_k_m.gguf", "models/kq704-q3_k_m.gguf",
        "models/arch-qwen3-q8_0.gguf", "models/arch-gemma3-q8_0.gguf",
    };
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        test_model(models[i]);
    return check_summary("threads");
}
