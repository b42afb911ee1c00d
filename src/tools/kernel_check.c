/* kernel_check: times nu_matvec for each weight type and prints a hash of the output bits.
 *
 * Build it natively (make build/kernel_check) and with emcc, with and without -msimd128, and
 * run all three: the hashes must agree (the kernels add in the same order everywhere) and
 * the GFLOP/s columns compare the builds. The time is the fastest of 15 batches of
 * `iterations` calls (other processes on the machine only ever slow a batch down).
 * Usage: kernel_check [rows cols [iterations]] */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "quant.h"

static uint64_t rng_state = 1;

static float rand_unit(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(int32_t)(rng_state >> 32) * 0x1p-31f;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv) {
    int64_t rows = argc > 2 ? atoll(argv[1]) : 288, cols = argc > 2 ? atoll(argv[2]) : 768;
    int iters = argc > 3 ? atoi(argv[3]) : 200;
    if (rows <= 0 || cols <= 0 || cols % NU_QK || iters <= 0) {
        fprintf(stderr, "usage: kernel_check [rows cols(multiple of 32) [iterations]]\n");
        return 2;
    }
    float *src = malloc((size_t)(rows * cols) * sizeof *src);
    float *x = malloc((size_t)cols * sizeof *x), *out = malloc((size_t)rows * sizeof *out);
    void *xq = malloc((size_t)cols * sizeof(float)); /* every activation form is smaller */
    void *data = malloc((size_t)(rows * cols) * sizeof(float));
    if (!src || !x || !out || !xq || !data) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < rows * cols; i++)
        src[i] = rand_unit();
    for (int64_t i = 0; i < cols; i++)
        x[i] = rand_unit();

    uint64_t all = 0xcbf29ce484222325ull;
    printf("%lldx%lld, %d iterations\n", (long long)rows, (long long)cols, iters);
    for (int t = 0; t < NU_TYPE_COUNT; t++) { /* every type the table can write and multiply */
        NuType type = (NuType)t;
        size_t rb = nu_row_bytes(type, cols);
        if (!nu_type_can_compute(type) || !nu_type_can_write(type) || rb == 0)
            continue;
        for (int64_t r = 0; r < rows; r++)
            nu_quantize_row(type, src + r * cols, (uint8_t *)data + (size_t)r * rb, cols);
        NuTensor w = {type, rows, cols, data, 0};
        nu_matvec(&w, nu_convert_input(type, x, cols, xq), out); /* warm up */
        double secs = 0;
        for (int batch = 0; batch < 15; batch++) {
            double t0 = now_seconds();
            for (int i = 0; i < iters; i++) /* the conversion is part of the cost: once per vector */
                nu_matvec(&w, nu_convert_input(type, x, cols, xq), out);
            double elapsed = now_seconds() - t0;
            if (batch == 0 || elapsed < secs)
                secs = elapsed;
        }
        uint64_t h = fnv1a(out, (size_t)rows * sizeof *out, 0xcbf29ce484222325ull);
        all = fnv1a(&h, sizeof h, all);
        printf("%-6s %8.2f GFLOP/s  %8.1f us/call  hash %016llx\n", nu_type_name(type),
               2.0 * rows * cols * iters / secs * 1e-9, secs / iters * 1e6, (unsigned long long)h);
    }
    printf("all    hash %016llx\n", (unsigned long long)all);
    free(src);
    free(x);
    free(out);
    free(xq);
    free(data);
    return 0;
}
