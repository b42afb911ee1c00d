#define _POSIX_C_SOURCE 199309L /* clock_gettime */
/* Native half of the benchmark; prints one JSON line per case.
 *   bench_native [sampler]        median microseconds per call of our sampler and of llama2.c's and
 *                                 llama.cpp's top-p (peers.c)
 *   bench_native kernels          median microseconds per nu_matvec for every type and shape
 *   bench_native decode MODEL N R [PROMPT [THREADS]]
 *                                 load time, time to first token and decode tokens/s (greedy and
 *                                 top-p 0.9), medians of R runs of N tokens after "Once upon a
 *                                 time"; with PROMPT, after it and greedy only, on THREADS threads (default 1)
 *   bench_native bandwidth MIB    the machine's memory bandwidth: memcpy between two buffers of
 *                                 MIB MiB (larger than the last-level cache), read + write bytes
 *                                 per second, the median of 7 copies */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_decode.h"
#include "bench_kernels.h"
#include "bench_loops.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 9 batches of the time per call: who < 0 is ours, else bench_loop_peer's peer. */
static double median_us(int who, NuSampler *s, const float *logits, int n, int iters) {
    double t[9];
    for (int b = 0; b < 9; b++) {
        double start = now_us();
        if (who < 0) bench_loop_ours(s, logits, n, iters);
        else bench_loop_peer(who, logits, n, 0.9f, iters);
        t[b] = (now_us() - start) / iters;
    }
    qsort(t, 9, sizeof *t, by_value);
    return t[4];
}

static int sampler_main(void) {
    const int sizes[2] = { 32000, 151936 };
    const float scales[3] = { 10, 3, 0.5f };
    NuSampler *s = bench_sampler(0.9f);
    for (int si = 0; si < 2; si++) {
        int n = sizes[si];
        float *logits = malloc((size_t)n * sizeof *logits);
        for (int k = 0; k < 3; k++) {
            bench_fill_logits(logits, n, scales[k], (uint32_t)(n + k));
            int iters = n > 100000 ? 4 : 16;
            bench_loop_ours(s, logits, n, iters); /* warm up */
            double ours = median_us(-1, s, logits, n, iters);
            double llama2c = median_us(0, s, logits, n, iters / 4 + 1);
            double llamacpp = median_us(1, s, logits, n, iters / 4 + 1);
            printf("{\"n\":%d,\"scale\":%g,\"nucleusSize\":%d,\"oursUs\":%.2f,\"llama2cUs\":%.2f,\"llamacppUs\":%.2f}\n",
                   n, (double)scales[k], nu_sampler_report(s)->nucleus_size, ours, llama2c, llamacpp);
        }
        free(logits);
    }
    nu_sampler_free(s);
    return 0;
}

static double median_of(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, by_value);
    return t[n / 2];
}

/* Median microseconds per nu_matvec over 7 batches of about 20 ms, after 100 ms of warm-up. */
static double matvec_us(BenchMatvec *b) {
    double start = now_us();
    int calls = 0;
    while (now_us() - start < 100000) calls += (bench_matvec_loop(b, 1), 1);
    int iters = (int)(20000 / ((now_us() - start) / calls)) + 1;
    double t[7];
    for (int k = 0; k < 7; k++) {
        double s0 = now_us();
        bench_matvec_loop(b, iters);
        t[k] = (now_us() - s0) / iters;
    }
    return median_of(t, 7);
}

static int kernels_main(void) {
    /* {rows, cols}: the in x out shapes 288x768, 768x288, 768x2048, 2048x768, 288x32000. */
    const int shapes[5][2] = { { 768, 288 }, { 288, 768 }, { 2048, 768 }, { 768, 2048 }, { 32000, 288 } };
    for (int type = 0; type < bench_type_count(); type++) {
        if (!bench_type_benchable(type)) continue;
        for (int si = 0; si < 5; si++) {
            if (shapes[si][1] % bench_type_block_size(type)) continue; /* not whole blocks */
            BenchMatvec *b = bench_matvec_new(type, shapes[si][0], shapes[si][1], (uint32_t)si);
            if (!b) return fprintf(stderr, "cannot make a %dx%d matrix\n", shapes[si][0], shapes[si][1]), 1;
            printf("{\"type\":%d,\"rows\":%d,\"cols\":%d,\"bytes\":%.0f,\"us\":%.3f}\n", type,
                   shapes[si][0], shapes[si][1], bench_matvec_weight_bytes(b), matvec_us(b));
            bench_matvec_free(b);
        }
    }
    return 0;
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return data;
}

/* One run: prefill the prompt and draw (time to first token), then tokens - 1 more steps. */
static int decode_run(NuApiModel *m, float temperature, const int32_t *prompt, int n, int tokens,
                      double *ttft_ms, double *tok_s) {
    NuSampler *s = bench_decode_sampler(temperature, 0.9f, 1);
    if (!s) return -1;
    double t0 = now_us();
    int token = bench_prefill(m, s, prompt, n);
    double t1 = now_us();
    if (token >= 0) token = bench_decode_steps(m, s, token, n, tokens - 1);
    double t2 = now_us();
    nu_sampler_free(s);
    *ttft_ms = (t1 - t0) / 1000;
    *tok_s = (tokens - 1) / ((t2 - t1) / 1e6);
    return token;
}

/* modes 2: greedy and top-p 0.9; 1: greedy only. threads: a count, or several ("1,2"), whose
 * runs then interleave (1, 2, 1, 2, ...) so that a slow spell of a shared machine falls on
 * every count alike; one JSON line per count. */
static int decode_main(const char *path, int tokens, int repeats, const char *text, int modes, const char *threads) {
    int counts[8], n_counts = 0;
    for (const char *c = threads; *c && n_counts < 8; c += strcspn(c, ","), c += *c == ',')
        counts[n_counts++] = atoi(c);
    if (n_counts == 0) return fprintf(stderr, "no thread count in \"%s\"\n", threads), 1;
    size_t size;
    double t0 = now_us();
    uint8_t *data = read_file(path, &size);
    if (!data) return fprintf(stderr, "cannot read %s\n", path), 1;
    NuApiModel *m = nu_model_open(data, size, NULL, 0, 0);
    double load_ms = (now_us() - t0) / 1000;
    if (!m) return fprintf(stderr, "%s: %s\n", path, nu_creation_error()), 1;
    int n = nu_model_tokenize(m, text, (int)strlen(text), 1);
    if (n <= 0 || n > 1024) return fprintf(stderr, "%s: cannot tokenize the prompt\n", path), 1;
    int32_t prompt[1024];
    memcpy(prompt, nu_model_ids(m), (size_t)n * sizeof *prompt);
    const float temps[2] = { 0, 1 };
    const char *names[2] = { "greedy", "topP" };
    int runs = repeats < 16 ? repeats : 16;
    double ttfts[8][2][16], speeds[8][2][16], warm[2];
    for (int i = 0; i < n_counts; i++) {
        if (nu_model_set_threads(m, counts[i]) < 0) return fprintf(stderr, "%s: %s\n", path, nu_model_error(m)), 1;
        if (decode_run(m, 0, prompt, n < 5 ? n : 5, 8, &warm[0], &warm[1]) < 0) /* warm-up */ return fprintf(stderr, "%s\n", nu_model_error(m)), 1;
    }
    for (int k = 0; k < modes; k++)
        for (int r = 0; r < runs; r++)
            for (int i = 0; i < n_counts; i++) {
                if (nu_model_set_threads(m, counts[i]) < 0 ||
                    decode_run(m, temps[k], prompt, n, tokens, &ttfts[i][k][r], &speeds[i][k][r]) < 0)
                    return fprintf(stderr, "%s\n", nu_model_error(m)), 1;
            }
    for (int i = 0; i < n_counts; i++) {
        printf("{\"model\":\"%s\",\"loadMs\":%.2f,\"threads\":%d,\"promptTokens\":%d,\"tokens\":%d,\"repeats\":%d", path,
               load_ms, counts[i], n, tokens, repeats);
        for (int k = 0; k < modes; k++)
            printf(",\"%s\":{\"tokS\":%.3f,\"ttftMs\":%.3f}", names[k], median_of(speeds[i][k], runs), median_of(ttfts[i][k], runs));
        printf("}\n");
    }
    nu_model_close(m);
    return 0;
}

static int bandwidth_main(int mib) {
    size_t bytes = (size_t)mib << 20;
    char *a = malloc(bytes), *b = malloc(bytes);
    if (!a || !b || mib < 1) return fprintf(stderr, "cannot allocate 2 x %d MiB\n", mib), 1;
    memset(a, 1, bytes); /* touch every page before timing */
    memset(b, 2, bytes);
    double t[7];
    for (int k = 0; k < 7; k++) {
        double start = now_us();
        memcpy(k & 1 ? a : b, k & 1 ? b : a, bytes);
        t[k] = now_us() - start;
    }
    double us = median_of(t, 7);
    printf("{\"mib\":%d,\"copyUs\":%.1f,\"gbS\":%.3f,\"check\":%d}\n", mib, us, 2.0 * bytes / us / 1e3, a[bytes / 2] + b[bytes / 3]);
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 1 || (argc == 2 && strcmp(argv[1], "sampler") == 0)) return sampler_main();
    if (argc == 2 && strcmp(argv[1], "kernels") == 0) return kernels_main();
    if (argc >= 5 && argc <= 7 && strcmp(argv[1], "decode") == 0)
        return decode_main(argv[2], atoi(argv[3]), atoi(argv[4]), argc >= 6 ? argv[5] : "Once upon a time",
                           argc >= 6 ? 1 : 2, argc == 7 ? argv[6] : "1");
    if (argc == 3 && strcmp(argv[1], "bandwidth") == 0) return bandwidth_main(atoi(argv[2]));
    fprintf(stderr, "usage: %s [sampler | kernels | decode MODEL TOKENS REPEATS [PROMPT [THREADS[,THREADS...]]] | bandwidth MIB]\n", argv[0]);
    return 2;
}
