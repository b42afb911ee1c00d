/* decode_speed: greedy decode speed of a model, and where a token's time goes.
 *
 *   decode_speed MODEL [TOKENS [RUNS [PROFILE [THREADS]]]]
 *
 * THREADS (default 1) splits the matrix products over that many threads (pool.h); the hash
 * is the same for any count.
 * Decodes TOKENS (default 200) greedy tokens from BOS, RUNS times (default 5), and prints the
 * median tokens/s and a hash of every logit bit (equal in native, scalar wasm and SIMD wasm
 * builds). Then times each piece of a token on the model's own tensors: the matrix-vector
 * products by tensor (with the input quantization they need), attention at the average
 * position of the run, norms and the weight check nu_forward does (PROFILE 0 skips this).
 *
 * For wasm, build with the library sources and node's file system, e.g.
 *   emcc -O3 -msimd128 -std=c11 -ffp-contract=off -Isrc -sNODERAWFS -sALLOW_MEMORY_GROWTH
 *        src/[a-z]*.c src/tools/decode_speed.c -o /tmp/decode_speed.js
 *   node /tmp/decode_speed.js MODEL */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gguf.h"
#include "kernels.h"
#include "loader.h"
#include "model.h"
#include "tests/files.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}


static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Greedy decode of `tokens` tokens from BOS (id 1); returns the seconds spent in nu_forward
 * (the hash and argmax are not timed), hashes the logits. */
static double decode(const NuConfig *c, const NuWeights *w, NuRunState *s, int tokens, uint64_t *hash) {
    NuError err;
    int token = 1;
    double secs = 0;
    for (int pos = 0; pos < tokens; pos++) {
        double t0 = now_seconds();
        if (nu_forward(c, w, s, token, pos, &err) != NU_OK) {
            fprintf(stderr, "forward failed at %d: %s\n", pos, err.message);
            exit(1);
        }
        secs += now_seconds() - t0;
        const float *logits = nu_runstate_logits(s);
        *hash = fnv1a(logits, (size_t)c->vocab_size * sizeof *logits, *hash);
        token = argmax(logits, c->vocab_size);
    }
    return secs;
}

/* Median microseconds of one nu_matvec on t (converting its input first, as the forward pass
 * does once per input vector), over `reps` rounds of `iters` calls. */
static double time_matvec(const NuTensor *t, NuRunState *s, int iters, int reps) {
    const float *x = s->hb; /* any input of t->cols floats: the values do not change the time */
    float *out = s->logits;
    void *buf = s->act[nu_type_traits(t->type)->vec_dot_type];
    double v[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < iters; i++)
            nu_matvec(t, nu_convert_input(t->type, x, t->cols, buf), out);
        v[r] = (now_seconds() - t0) / iters * 1e6;
    }
    return median(v, reps);
}

typedef struct {
    const char *name;
    double us_per_token;
    double flop_per_token;
} Piece;

static void print_piece(const Piece *p, double total) {
    printf("  %-22s %8.1f us  %5.1f%%", p->name, p->us_per_token, 100 * p->us_per_token / total);
    if (p->flop_per_token > 0) printf("  %6.2f GFLOP/s", p->flop_per_token / p->us_per_token * 1e-3);
    printf("\n");
}

static void profile(const NuConfig *c, const NuWeights *w, NuRunState *s, int avg_pos, double us_token) {
    const int reps = 7, L = c->n_layers;
    const NuLayer *l0 = &w->layers[0];
    NuError err;
    /* hb holds hidden_dim >= dim floats in these models; fill it with something ordinary. */
    for (int i = 0; i < c->hidden_dim; i++) s->hb[i] = (float)((i * 37) % 101 - 50) * 0.01f;
    Piece p[16];
    int n = 0;
    struct {
        const char *name;
        const NuTensor *t;
        int count;
    } mats[] = {{"wq", &l0->wq, L},     {"wk", &l0->wk, L},     {"wv", &l0->wv, L},
                {"wo", &l0->wo, L},     {"ffn_gate", &l0->ffn_gate, L}, {"ffn_up", &l0->ffn_up, L},
                {"ffn_down", &l0->ffn_down, L}, {"classifier", &w->output, 1}};
    static char names[8][64];
    for (int m = 0; m < 8; m++) {
        const NuTensor *t = mats[m].t;
        int iters = (int)(2e6 / ((double)t->rows * t->cols)) + 1;
        double us = time_matvec(t, s, iters, reps);
        snprintf(names[m], sizeof names[m], "%s %s %lldx%lld", mats[m].name, nu_type_name(t->type),
                 (long long)t->rows, (long long)t->cols);
        p[n++] = (Piece){names[m], us * mats[m].count, 2.0 * t->rows * t->cols * mats[m].count};
    }

    /* attention at avg_pos: q.k for each head and position, softmax, and the weighted sum */
    const int head_dim = c->dim / c->n_heads;
    double v[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < 20; i++)
            for (int h = 0; h < c->n_heads; h++) {
                float *att = s->att + (size_t)h * c->seq_len;
                for (int t = 0; t <= avg_pos; t++) att[t] = nu_dot(s->hb, s->key_cache + (size_t)t * head_dim, head_dim);
                nu_softmax(att, avg_pos + 1);
                for (int t = 0; t <= avg_pos; t++) nu_axpy(s->xb, att[t] * 1e-3f, s->value_cache + (size_t)t * head_dim, head_dim);
            }
        v[r] = (now_seconds() - t0) / 20 * 1e6;
    }
    p[n++] = (Piece){"attention (avg pos)", median(v, reps) * L, 4.0 * c->dim * (avg_pos + 1) * L};

    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < 1000; i++) nu_rmsnorm(s->xb, s->hb, l0->attn_norm.data, c->dim, c->norm_eps);
        v[r] = (now_seconds() - t0) / 1000 * 1e6;
    }
    p[n++] = (Piece){"rmsnorm", median(v, reps) * (2 * L + 1), 0};

    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < 200; i++)
            if (nu_weights_check(c, w, &err) != NU_OK) exit(1);
        v[r] = (now_seconds() - t0) / 200 * 1e6;
    }
    p[n++] = (Piece){"nu_weights_check", median(v, reps), 0};

    double sum = 0, flop = 0;
    for (int i = 0; i < n; i++) {
        sum += p[i].us_per_token;
        flop += p[i].flop_per_token;
    }
    printf("per token (%.1f us measured, %.1f us in the pieces below, %.1f MFLOP):\n", us_token, sum, flop * 1e-6);
    for (int i = 0; i < n; i++) print_piece(&p[i], us_token);
    printf("  %-22s %8.1f us  %5.1f%%\n", "rest (rope, silu, ...)", us_token - sum, 100 * (us_token - sum) / us_token);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: decode_speed MODEL [TOKENS [RUNS [PROFILE [THREADS]]]]\n");
        return 2;
    }
    int tokens = argc > 2 ? atoi(argv[2]) : 200, runs = argc > 3 ? atoi(argv[3]) : 5;
    int want_profile = argc > 4 ? atoi(argv[4]) : 1, threads = argc > 5 ? atoi(argv[5]) : 1;
    if (runs > 64) runs = 64;
    size_t size = 0;
    uint8_t *data = read_file(argv[1], &size);
    if (!data) {
        fprintf(stderr, "decode_speed: cannot read %s\n", argv[1]);
        return 1;
    }
    NuError err = {0};
    NuConfig cfg;
    NuWeights w = {0};
    GgufFile *g = NULL;
    NuRunState *s = NULL;
    NuCode rc = nu_load_weights(data, size, &g, &cfg, &w, &err);
    NuPool *pool = NULL;
    if (rc == NU_OK) rc = nu_runstate_new(&cfg, &s, &err);
    if (rc == NU_OK) rc = nu_pool_new(threads, &pool, &err);
    if (rc == NU_OK) s->pool = pool;
    if (rc != NU_OK) {
        fprintf(stderr, "decode_speed: %s\n", err.message);
        return 1;
    }
    if (tokens <= 0 || tokens > cfg.seq_len) tokens = cfg.seq_len;
    if (runs <= 0) runs = 1;

    double secs[64];
    uint64_t hash = 0;
    for (int r = 0; r < runs; r++) {
        uint64_t h = 0xcbf29ce484222325ull;
        secs[r] = decode(&cfg, &w, s, tokens, &h);
        hash = h;
    }
    double med = median(secs, runs);
    printf("%s: %d tokens x %d runs, %d thread%s, median %.1f tokens/s (best %.1f), logits hash %016llx\n",
           argv[1], tokens, runs, threads, threads == 1 ? "" : "s", tokens / med, tokens / secs[0],
           (unsigned long long)hash);
    if (want_profile) profile(&cfg, &w, s, tokens / 2, med / tokens * 1e6);

    nu_runstate_free(s);
    nu_pool_free(pool);
    nu_weights_free(&w);
    gguf_close(g);
    free(data);
    return 0;
}
