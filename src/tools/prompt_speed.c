/* prompt_speed: how fast a prompt goes in, fed one token at a time (nu_forward) and in chunks
 * (nu_forward_batch), and whether both give the same logits bits.
 *
 *   prompt_speed MODEL [TOKENS [RUNS [THREADS]]]
 *
 * Feeds TOKENS (default 256) fixed pseudo-random tokens from position 0, RUNS times each way
 * (default 3), with THREADS threads (default 1, pool.h), and prints the median prompt
 * tokens/s of both and their ratio. Exits 1 when the logits after the prompt differ. For
 * wasm, build as decode_speed says. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"
#include "loader.h"
#include "model.h"
#include "pool.h"
#include "tests/files.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds to feed the prompt, one token at a time or in one batched call. */
static double feed(const NuConfig *c, const NuWeights *w, NuRunState *s, const int *tokens, int n, int batched) {
    NuError err;
    double t0 = now_seconds();
    NuCode rc = NU_OK;
    if (batched)
        rc = nu_forward_batch(c, w, s, tokens, n, 0, &err);
    else
        for (int pos = 0; pos < n && rc == NU_OK; pos++)
            rc = nu_forward(c, w, s, tokens[pos], pos, &err);
    if (rc != NU_OK) {
        fprintf(stderr, "prompt_speed: %s\n", err.message);
        exit(1);
    }
    return now_seconds() - t0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: prompt_speed MODEL [TOKENS [RUNS [THREADS]]]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 256, runs = argc > 3 ? atoi(argv[3]) : 3;
    int threads = argc > 4 ? atoi(argv[4]) : 1;
    size_t size;
    uint8_t *data = read_file(argv[1], &size);
    if (!data) return 1;
    GgufFile *g;
    NuConfig c;
    NuWeights w;
    NuRunState *s;
    NuPool *pool;
    NuError err;
    if (gguf_open(data, size, &g, &err) || nu_load_gguf_weights(g, &c, &w, &err) || nu_runstate_new(&c, &s, &err) ||
        nu_pool_new(threads, &pool, &err)) {
        fprintf(stderr, "prompt_speed: %s\n", err.message);
        return 1;
    }
    s->pool = pool;
    if (n < 1 || n > c.seq_len || runs < 1) {
        fprintf(stderr, "prompt_speed: TOKENS must be 1..%d and RUNS positive\n", c.seq_len);
        return 2;
    }
    int *tokens = malloc((size_t)n * sizeof *tokens);
    float *logits = malloc((size_t)c.vocab_size * sizeof *logits);
    double *times[2] = {malloc((size_t)runs * sizeof(double)), malloc((size_t)runs * sizeof(double))};
    uint32_t seed = 1;
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        tokens[i] = (int)(seed >> 8) % c.vocab_size;
    }
    int same = 1;
    for (int r = 0; r < runs; r++)
        for (int batched = 0; batched < 2; batched++) {
            times[batched][r] = feed(&c, &w, s, tokens, n, batched);
            if (!batched)
                memcpy(logits, nu_runstate_logits(s), (size_t)c.vocab_size * sizeof *logits);
            else
                same &= memcmp(logits, nu_runstate_logits(s), (size_t)c.vocab_size * sizeof *logits) == 0;
        }
    qsort(times[0], (size_t)runs, sizeof(double), cmp_double);
    qsort(times[1], (size_t)runs, sizeof(double), cmp_double);
    double one = n / times[0][runs / 2], batch = n / times[1][runs / 2];
    printf("%s: prompt of %d tokens, %d thread%s, median of %d: one at a time %.1f tokens/s, batched (%d) %.1f tokens/s, "
           "%.2fx; logits %s\n",
           argv[1], n, threads, threads == 1 ? "" : "s", runs, one, NU_BATCH, batch, batch / one, same ? "bit-identical" : "DIFFER");
    free(tokens);
    free(logits);
    free(times[0]);
    free(times[1]);
    nu_runstate_free(s);
    nu_pool_free(pool);
    nu_weights_free(&w);
    gguf_close(g);
    free(data);
    return same ? 0 : 1;
}
