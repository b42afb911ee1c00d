/* Matrix-vector loops the kernel benchmark times: nu_matvec on seeded random weights of one
 * type and shape, shared by the wasm bench modules and the native bench binary. The input
 * vector is converted to the type's activation form once when the matrix is made, as the
 * forward pass does once per vector, so a loop times the kernel alone. */
#include "bench_kernels.h"

#include <stdlib.h>
#include <string.h>

#include "../src/api.h"
#include "../src/kernels.h"

struct BenchMatvec {
    NuTensor w;
    void *data;
    float *x;
    void *xbuf;     /* room for x in any activation form */
    const void *xq; /* x in the form w's type reads */
    float *out;
    /* the batched product's n inputs (bench_matmul_inputs), each cols floats' room apart */
    int n;
    uint8_t *xs;
    float *outs;
};

/* Uniform on [-1, 1) from a xorshift64 stream. */
static float next_uniform(uint64_t *state) {
    *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
    return (float)((*state >> 40) * 0x1p-23 - 1.0);
}

/* Writes one row of cols random weights (standard deviation about 0.02) in the given type. */
static void fill_row(NuType type, void *dst, float *tmp, int cols, uint64_t *state) {
    for (int c = 0; c < cols; c++) tmp[c] = 0.0346f * next_uniform(state);
    nu_quantize_row(type, tmp, dst, cols);
}

NU_EXPORT int bench_type_count(void) { return NU_TYPE_COUNT; }

/* 1 when the kernel bench can time type t (the table can write and multiply it). */
NU_EXPORT int bench_type_benchable(int t) {
    return nu_type_can_compute((NuType)t) && nu_type_can_write((NuType)t);
}

/* Elements per block of type t: the bench skips shapes whose columns are not whole blocks. */
NU_EXPORT int bench_type_block_size(int t) { return nu_type_block_size((NuType)t); }

/* ggml's name of type t ("q4_K"), for the tables. */
NU_EXPORT const char *bench_type_name(int t) { return nu_type_name((NuType)t); }

NU_EXPORT void bench_matvec_free(BenchMatvec *b) {
    if (!b) return;
    free(b->xs);
    free(b->outs);
    free(b->data);
    free(b->x);
    free(b->xbuf);
    free(b->out);
    free(b);
}

NU_EXPORT BenchMatvec *bench_matvec_new(int type, int rows, int cols, uint32_t seed) {
    size_t row_bytes = nu_row_bytes((NuType)type, cols);
    BenchMatvec *b = calloc(1, sizeof *b);
    if (!b || row_bytes == 0 || rows <= 0 || !bench_type_benchable(type)) {
        free(b);
        return NULL;
    }
    b->w = (NuTensor){ .type = (NuType)type, .rows = rows, .cols = cols };
    b->data = malloc(row_bytes * (size_t)rows);
    b->x = malloc((size_t)cols * sizeof *b->x);
    b->xbuf = malloc((size_t)cols * sizeof(float)); /* every activation form is smaller */
    b->out = malloc((size_t)rows * sizeof *b->out);
    if (!b->data || !b->x || !b->xbuf || !b->out) {
        bench_matvec_free(b);
        return NULL;
    }
    float *tmp = malloc((size_t)cols * sizeof *tmp);
    if (!tmp) {
        bench_matvec_free(b);
        return NULL;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (int c = 0; c < cols; c++) b->x[c] = next_uniform(&state);
    b->xq = nu_convert_input((NuType)type, b->x, cols, b->xbuf);
    for (int r = 0; r < rows; r++) fill_row((NuType)type, (uint8_t *)b->data + (size_t)r * row_bytes, tmp, cols, &state);
    free(tmp);
    b->w.data = b->data;
    return b;
}

NU_EXPORT double bench_matvec_weight_bytes(const BenchMatvec *b) {
    return (double)nu_row_bytes(b->w.type, b->w.cols) * (double)b->w.rows;
}

NU_EXPORT double bench_matvec_loop(BenchMatvec *b, int iters) {
    double sum = 0;
    for (int i = 0; i < iters; i++) {
        nu_matvec(&b->w, b->xq, b->out);
        sum += b->out[i % b->w.rows];
    }
    return sum;
}

/* n distinct seeded inputs for bench_matmul_loop, each in the type's activation form (a prompt
 * chunk's tokens); replaces any earlier ones. 0 on success, -1 without memory. */
NU_EXPORT int bench_matmul_inputs(BenchMatvec *b, int n, uint32_t seed) {
    size_t stride = (size_t)b->w.cols * sizeof(float);
    free(b->xs);
    free(b->outs);
    b->xs = malloc(stride * (size_t)n);
    b->outs = malloc((size_t)n * (size_t)b->w.rows * sizeof *b->outs);
    float *x = malloc(stride);
    if (!b->xs || !b->outs || !x) {
        free(x);
        return -1;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (int t = 0; t < n; t++) {
        for (int c = 0; c < b->w.cols; c++) x[c] = next_uniform(&state);
        const void *q = nu_convert_input(b->w.type, x, b->w.cols, b->xs + (size_t)t * stride);
        if (q != b->xs + (size_t)t * stride) /* F32 is read where it is */
            memcpy(b->xs + (size_t)t * stride, q, stride);
    }
    free(x);
    b->n = n;
    return 0;
}

/* iters calls of nu_matmul over the n inputs (each weight tile unpacked once for all). */
NU_EXPORT double bench_matmul_loop(BenchMatvec *b, int iters) {
    double sum = 0;
    for (int i = 0; i < iters; i++) {
        nu_matmul(&b->w, b->xs, (size_t)b->w.cols * sizeof(float), b->n, b->outs, (size_t)b->w.rows);
        sum += b->outs[i % b->w.rows];
    }
    return sum;
}

/* --- decode's regime: weights streamed from memory ------------------------------------------ */

/* One layer of the stories110M shape (q, k, v, o 768 x 768; gate, up 2048 x 768; down
 * 768 x 2048, rows x cols) copied until the copies outgrow the last-level cache, with rows
 * interleaved as the loader does: a pass multiplies every copy once, so every weight comes
 * from memory, as in decode, where each token reads the whole model. */
#define LAYER_MATRICES 7
static const int layer_shape[LAYER_MATRICES][2] = {
    {768, 768}, {768, 768}, {768, 768}, {768, 768}, {2048, 768}, {2048, 768}, {768, 2048}};

struct BenchStack {
    NuTensor w[LAYER_MATRICES]; /* copy 0; copy c is layer_bytes * c further */
    uint8_t *data;
    size_t layer_bytes;
    int copies;
    const void *x768, *x2048; /* the inputs in the type's activation form */
    void *buf768, *buf2048;
    float *x, *out;
};

NU_EXPORT void bench_stack_free(BenchStack *b) {
    if (!b) return;
    free(b->data);
    free(b->buf768);
    free(b->buf2048);
    free(b->x);
    free(b->out);
    free(b);
}

NU_EXPORT BenchStack *bench_stack_new(int type, int min_mib, uint32_t seed) {
    if (!bench_type_benchable(type) || 768 % nu_type_block_size((NuType)type)) return NULL;
    BenchStack *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    size_t offsets[LAYER_MATRICES];
    for (int m = 0; m < LAYER_MATRICES; m++) {
        offsets[m] = b->layer_bytes;
        b->layer_bytes += nu_row_bytes((NuType)type, layer_shape[m][1]) * (size_t)layer_shape[m][0];
    }
    b->copies = (int)(((size_t)min_mib << 20) / b->layer_bytes) + 1;
    b->data = malloc(b->layer_bytes * (size_t)b->copies);
    b->x = malloc(2048 * sizeof *b->x);
    b->buf768 = malloc(768 * sizeof(float)); /* every activation form is smaller */
    b->buf2048 = malloc(2048 * sizeof(float));
    b->out = malloc(2048 * sizeof *b->out);
    float *tmp = malloc(2048 * sizeof *tmp);
    if (!b->data || !b->x || !b->buf768 || !b->buf2048 || !b->out || !tmp) {
        free(tmp);
        bench_stack_free(b);
        return NULL;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (int c = 0; c < 2048; c++) b->x[c] = next_uniform(&state);
    b->x768 = nu_convert_input((NuType)type, b->x, 768, b->buf768);
    b->x2048 = nu_convert_input((NuType)type, b->x, 2048, b->buf2048);
    for (int m = 0; m < LAYER_MATRICES; m++) {
        int rows = layer_shape[m][0], cols = layer_shape[m][1];
        size_t row_bytes = nu_row_bytes((NuType)type, cols);
        for (int r = 0; r < rows; r++) fill_row((NuType)type, b->data + offsets[m] + (size_t)r * row_bytes, tmp, cols, &state);
        b->w[m] = (NuTensor){ .type = (NuType)type, .rows = rows, .cols = cols, .data = b->data + offsets[m] };
        nu_interleave_rows(&b->w[m]);
    }
    free(tmp);
    for (int c = 1; c < b->copies; c++) memcpy(b->data + b->layer_bytes * (size_t)c, b->data, b->layer_bytes);
    return b;
}

NU_EXPORT double bench_stack_weight_bytes(const BenchStack *b) {
    return (double)b->layer_bytes * (double)b->copies;
}

NU_EXPORT double bench_stack_loop(BenchStack *b, int iters) {
    double sum = 0;
    for (int i = 0; i < iters; i++) {
        for (int c = 0; c < b->copies; c++) {
            for (int m = 0; m < LAYER_MATRICES; m++) {
                NuTensor w = b->w[m];
                w.data = (const uint8_t *)w.data + b->layer_bytes * (size_t)c;
                nu_matvec(&w, w.cols == 2048 ? b->x2048 : b->x768, b->out);
            }
            sum += b->out[c % 768];
        }
    }
    return sum;
}
