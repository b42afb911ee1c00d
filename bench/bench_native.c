#define _POSIX_C_SOURCE 199309L /* clock_gettime */
/* Native half of the sampler benchmark: prints one JSON line per case with the median
 * microseconds per call of our sampler and of the full-sort baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

/* Median over 9 batches of the time per call. */
static double median_us(int ours, NuSampler *s, const float *logits, int n, int iters) {
    double t[9];
    for (int b = 0; b < 9; b++) {
        double start = now_us();
        if (ours) bench_loop_ours(s, logits, n, iters);
        else bench_loop_fullsort(logits, n, 0.9f, iters);
        t[b] = (now_us() - start) / iters;
    }
    qsort(t, 9, sizeof *t, by_value);
    return t[4];
}

int main(void) {
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
            double ours = median_us(1, s, logits, n, iters);
            double base = median_us(0, s, logits, n, iters / 4 + 1);
            printf("{\"n\":%d,\"scale\":%g,\"nucleusSize\":%d,\"oursUs\":%.2f,\"fullSortUs\":%.2f}\n",
                   n, (double)scales[k], nu_sampler_report(s)->nucleus_size, ours, base);
        }
        free(logits);
    }
    nu_sampler_free(s);
    return 0;
}
