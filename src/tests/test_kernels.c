/* Matrix-vector kernels for every type in the table (F32, F16, BF16 and the 32-element
 * blocks; the K-quants add their own cases) against a double-precision reference, and
 * against the documented summation order bit for bit (so a SIMD build that adds in another
 * order fails here). The block layouts are decoded here from ggml's documented byte layout,
 * independently of src/quant. The native build on x86-64 runs the vector code (SSE4.1);
 * build this test with emcc -msimd128 to check it over SIMD128, without -msse4.1 for the
 * scalar code. Also the vector helpers: embedding rows, dot, axpy, rmsnorm, softmax. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "sampler.h" /* nu_expf */
#include "quant.h"

static uint64_t rng_state = 42;

/* Uniform in [-1, 1), from integer arithmetic only so every build draws the same floats. */
static float rand_unit(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(int32_t)(rng_state >> 32) * 0x1p-31f;
}

typedef struct {
    NuTensor t;
    float *deq; /* the matrix as floats, exactly the values the kernel sees */
    void *data;
} Matrix;

static Matrix make_matrix(NuType type, int64_t rows, int64_t cols) {
    Matrix m;
    size_t rb = nu_row_bytes(type, cols);
    float *src = malloc((size_t)(rows * cols) * sizeof *src);
    m.deq = malloc((size_t)(rows * cols) * sizeof *m.deq);
    m.data = malloc(rb * (size_t)rows);
    for (int64_t i = 0; i < rows * cols; i++)
        src[i] = rand_unit();
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *d = (uint8_t *)m.data + (size_t)r * rb;
        nu_quantize_row(type, src + r * cols, d, cols);
        nu_dequantize_row(type, d, m.deq + r * cols, cols);
    }
    free(src);
    m.t = (NuTensor){type, rows, cols, m.data, 0};
    return m;
}

static void free_matrix(Matrix *m) {
    free(m->deq);
    free(m->data);
}

/* The documented order, written out independently of the kernels. */
static float order_f32(const float *w, const float *x, int64_t n) {
    float a[16] = {0}, s[4];
    for (int64_t i = 0; i < n; i++)
        a[i % 16] += w[i] * x[i];
    for (int l = 0; l < 4; l++)
        s[l] = (a[l] + a[l + 4]) + (a[l + 8] + a[l + 12]);
    return (s[0] + s[2]) + (s[1] + s[3]);
}

static uint16_t u16_at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* One 32-element block decoded from ggml's byte layout: levels q[j], scale d, offset m (the
 * block is d * q[j] + m; m = 0 for the symmetric types). */
typedef struct {
    int q[32];
    float d, m;
} Levels;

static Levels decode_block(NuType type, const uint8_t *p) {
    Levels l = {{0}, nu_f16_to_f32(u16_at(p)), 0.0f};
    uint32_t qh = 0;
    switch ((int)type) {
    case NU_TYPE_Q8_0:
        for (int j = 0; j < 32; j++)
            l.q[j] = (int8_t)p[2 + j];
        break;
    case NU_TYPE_Q4_0:
        for (int j = 0; j < 32; j++)
            l.q[j] = (p[2 + j % 16] >> (j / 16 * 4) & 15) - 8;
        break;
    case NU_TYPE_Q4_1:
        l.m = nu_f16_to_f32(u16_at(p + 2));
        for (int j = 0; j < 32; j++)
            l.q[j] = p[4 + j % 16] >> (j / 16 * 4) & 15;
        break;
    case NU_TYPE_Q5_0:
        qh = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
        for (int j = 0; j < 32; j++)
            l.q[j] = ((p[6 + j % 16] >> (j / 16 * 4) & 15) | (int)(qh >> j & 1) << 4) - 16;
        break;
    case NU_TYPE_Q5_1:
        l.m = nu_f16_to_f32(u16_at(p + 2));
        qh = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        for (int j = 0; j < 32; j++)
            l.q[j] = (p[8 + j % 16] >> (j / 16 * 4) & 15) | (int)(qh >> j & 1) << 4;
        break;
    }
    return l;
}

/* The activation block (Q8_0: d, qs; Q8_1: d, s, qs). */
typedef struct {
    int q[32];
    float d, s;
} ActBlock;

static ActBlock decode_act(NuType type, const uint8_t *p) {
    ActBlock a = {{0}, nu_f16_to_f32(u16_at(p)), 0.0f};
    int off = type == NU_TYPE_Q8_1 ? 4 : 2;
    if (type == NU_TYPE_Q8_1)
        a.s = nu_f16_to_f32(u16_at(p + 2));
    for (int j = 0; j < 32; j++)
        a.q[j] = (int8_t)p[off + j];
    return a;
}

/* Row r of a block matrix in the documented order: one term per block, (d_w * d_x) * isum,
 * plus m_w * s_x against Q8_1, into lane b % 4, reduced (a0 + a2) + (a1 + a3). *ref gets the
 * same terms summed in double. */
static float order_blocks(const Matrix *m, int64_t r, NuType act, const uint8_t *xq, double *ref) {
    const NuTypeTraits *tt = nu_type_traits(m->t.type), *at = nu_type_traits(act);
    const int64_t nb = m->t.cols / 32;
    const uint8_t *row = (const uint8_t *)m->data + (size_t)r * nu_row_bytes(m->t.type, m->t.cols);
    float a[4] = {0};
    *ref = 0;
    for (int64_t b = 0; b < nb; b++) {
        Levels w = decode_block(m->t.type, row + b * tt->block_bytes);
        ActBlock x = decode_act(act, xq + b * at->block_bytes);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++)
            isum += w.q[j] * x.q[j];
        float term = (w.d * x.d) * (float)isum;
        if (act == NU_TYPE_Q8_1)
            term = term + w.m * x.s;
        a[b % 4] += term;
        *ref += (double)w.d * x.d * isum + (act == NU_TYPE_Q8_1 ? (double)w.m * x.s : 0.0);
    }
    return (a[0] + a[2]) + (a[1] + a[3]);
}

/* One shape and type: the kernel against the documented order (bit for bit) and against a
 * double-precision sum of the same values (what the kernel was given: the weights and the
 * converted input). Also the error the input conversion adds, against the float input. */
static void check_matvec(NuType type, int64_t rows, int64_t cols) {
    const NuTypeTraits *tt = nu_type_traits(type);
    const NuType act = tt->vec_dot_type;
    Matrix m = make_matrix(type, rows, cols);
    float *x = malloc((size_t)cols * sizeof *x), *xd = malloc((size_t)cols * sizeof *xd);
    float *out = malloc((size_t)rows * sizeof *out);
    uint8_t *buf = malloc((size_t)cols * sizeof(float));
    for (int64_t c = 0; c < cols; c++)
        x[c] = rand_unit() * 2;
    const void *xq = nu_convert_input(type, x, cols, buf);
    nu_dequantize_row(act, xq, xd, cols); /* the input values the kernel sees */
    nu_matvec(&m.t, xq, out);

    int order_bad = 0;
    double worst = 0, worst_vs_float = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *w = m.deq + r * cols;
        double ref = 0, mag = 0, ref_float = 0;
        for (int64_t c = 0; c < cols; c++) {
            ref_float += (double)w[c] * x[c];
            mag += fabs((double)w[c] * xd[c]);
        }
        float expect;
        if (tt->block_size == 1) {
            expect = order_f32(w, xd, cols);
            for (int64_t c = 0; c < cols; c++)
                ref += (double)w[c] * xd[c];
        } else {
            expect = order_blocks(&m, r, act, xq, &ref);
        }
        if (memcmp(&expect, &out[r], sizeof expect) != 0)
            order_bad++;
        double e = fabs(out[r] - ref) / (mag + 1e-30);
        if (e > worst)
            worst = e;
        e = fabs(out[r] - ref_float) / (mag + 1e-30);
        if (e > worst_vs_float)
            worst_vs_float = e;
    }
    if (order_bad || worst > 1e-6 || worst_vs_float > 1e-2)
        fprintf(stderr, "matvec %s %lldx%lld: %d rows out of order, worst relative error %.3g (%.3g vs float input)\n",
                nu_type_name(type), (long long)rows, (long long)cols, order_bad, worst, worst_vs_float);
    CHECK(order_bad == 0);
    CHECK(worst <= 1e-6); /* relative to sum |w x|: float accumulation only */
    /* Converting the input costs at most half a step of its form per element (Q8: 1/254 of
     * the block's largest, BF16: 2^-9): below 1% of sum |w x| for these random vectors. */
    CHECK(worst_vs_float <= (act == NU_TYPE_F32 ? 1e-6 : 1e-2));
    free(x);
    free(xd);
    free(buf);
    free(out);
    free_matrix(&m);
}

static void test_matvec(void) {
    /* Row counts leaving 0-3 rows after groups of 4, block counts leaving 0-3 after groups of 4. */
    static const int64_t shapes[][2] = {{288, 768}, {768, 288}, {64, 512}, {512, 64}, {37, 96},
                                        {1, 32},    {5, 160},   {6, 64},   {7, 224},  {3, 256}};
    static const NuType types[] = {NU_TYPE_F32,  NU_TYPE_F16,  NU_TYPE_BF16, NU_TYPE_Q8_0,
                                   NU_TYPE_Q4_0, NU_TYPE_Q4_1, NU_TYPE_Q5_0, NU_TYPE_Q5_1};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_matvec(types[t], shapes[s][0], shapes[s][1]);
    /* Float types take any column count: tails shorter than a SIMD step. */
    static const int64_t odd[][2] = {{13, 45}, {3, 7}, {9, 17}, {2, 1}};
    for (size_t s = 0; s < 4; s++) {
        check_matvec(NU_TYPE_F32, odd[s][0], odd[s][1]);
        check_matvec(NU_TYPE_F16, odd[s][0], odd[s][1]);
        check_matvec(NU_TYPE_BF16, odd[s][0], odd[s][1]);
    }
}

/* The batched product (nu_matmul: tiles unpacked once, inputs two at a time) gives every
 * (row, input) the bits of nu_matvec on that input, for every type, odd input counts, row
 * counts that leave 1-3 rows after groups of 4 and part of a tile, and rows too wide for four
 * unpacked ones to fit the tile buffer (12288 columns of a K-quant: the matvec path). */
static void check_matmul(NuType type, int64_t rows, int64_t cols, int n) {
    Matrix m = make_matrix(type, rows, cols);
    const size_t stride = (size_t)cols * sizeof(float), out_stride = (size_t)rows + 3;
    float *x = malloc((size_t)n * stride), *one = malloc((size_t)rows * sizeof *one);
    float *out = malloc((size_t)n * out_stride * sizeof *out);
    uint8_t *buf = malloc((size_t)n * stride);
    for (int64_t i = 0; i < n * cols; i++)
        x[i] = rand_unit();
    const void *xq = x;
    for (int t = 0; t < n; t++)
        xq = (const uint8_t *)nu_convert_input(type, x + t * cols, cols, buf + t * stride) - t * stride;
    nu_matmul(&m.t, xq, stride, n, out, out_stride);
    int same = 1;
    for (int t = 0; t < n; t++) {
        nu_matvec(&m.t, (const uint8_t *)xq + t * stride, one);
        same &= memcmp(one, out + t * out_stride, (size_t)rows * sizeof *one) == 0;
    }
    CHECK(same);
    free(x);
    free(one);
    free(out);
    free(buf);
    free_matrix(&m);
}

static void test_matmul(void) {
    static const int64_t shapes[][2] = {{7, 256}, {37, 512}, {64, 768}, {13, 2048}, {130, 256}, {6, 8192}, {5, 12288}};
    static const NuType types[] = {NU_TYPE_F32,  NU_TYPE_F16,  NU_TYPE_BF16, NU_TYPE_Q8_0,   NU_TYPE_Q4_0,
                                   NU_TYPE_Q4_1, NU_TYPE_Q5_0, NU_TYPE_Q5_1, NU_TYPE_Q2_K,   NU_TYPE_Q3_K,
                                   NU_TYPE_Q4_K, NU_TYPE_Q5_K, NU_TYPE_Q6_K, NU_TYPE_IQ4_NL, NU_TYPE_IQ4_XS};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int n = 1; n <= 5; n += 2)
                check_matmul(types[t], shapes[s][0], shapes[s][1], n + (s % 2));
}

/* Rows interleaved in groups of four (nu_interleave_rows) give every product and every row
 * lookup the bits of the plain layout: nu_matvec, nu_matmul (its tiles and unpacking), a range
 * of rows from a multiple of four (a thread's share), the rows after the last whole group. */
static void check_interleaved(NuType type, int64_t rows, int64_t cols) {
    Matrix m = make_matrix(type, rows, cols);
    size_t bytes = nu_row_bytes(type, cols) * (size_t)rows;
    void *copy = malloc(bytes);
    memcpy(copy, m.data, bytes);
    NuTensor plain = m.t;
    plain.data = copy;
    CHECK(nu_interleave_rows(&m.t) == 1 && m.t.interleaved == 1);
    if (cols > nu_type_traits(type)->block_size) /* one block a row interleaves to itself */
        CHECK(memcmp(copy, m.data, bytes) != 0);
    enum { N = 3 };
    const size_t stride = (size_t)cols * sizeof(float);
    float *x = malloc(N * stride), *a = malloc(N * (size_t)rows * sizeof *a), *b = malloc(N * (size_t)rows * sizeof *b);
    uint8_t *buf = malloc(N * stride);
    for (int64_t i = 0; i < N * cols; i++)
        x[i] = rand_unit();
    for (int t = 0; t < N; t++)
        nu_convert_input(type, x + t * cols, cols, buf + t * stride);
    int same = 1;
    nu_matvec(&plain, buf, a);
    nu_matvec(&m.t, buf, b);
    same &= memcmp(a, b, (size_t)rows * sizeof *a) == 0;
    nu_matmul(&plain, buf, stride, N, a, (size_t)rows);
    nu_matmul(&m.t, buf, stride, N, b, (size_t)rows);
    same &= memcmp(a, b, N * (size_t)rows * sizeof *a) == 0;
    for (int n = 1; n <= N; n += N - 1) {
        nu_matmul_rows(&plain, buf, stride, n, a, (size_t)rows, 4, rows);
        nu_matmul_rows(&m.t, buf, stride, n, b, (size_t)rows, 4, rows);
        for (int t = 0; t < n; t++)
            same &= memcmp(a + t * rows + 4, b + t * rows + 4, (size_t)(rows - 4) * sizeof *a) == 0;
    }
    float *ra = malloc((size_t)cols * sizeof *ra), *rb = malloc((size_t)cols * sizeof *rb);
    for (int64_t r = 0; r < rows; r++) {
        nu_embedding_row(&plain, r, ra);
        nu_embedding_row(&m.t, r, rb);
        same &= memcmp(ra, rb, (size_t)cols * sizeof *ra) == 0;
    }
    if (!same)
        fprintf(stderr, "interleaved %s %lldx%lld differs\n", nu_type_traits(type)->name, (long long)rows, (long long)cols);
    CHECK(same);
    free(ra);
    free(rb);
    free(x);
    free(a);
    free(b);
    free(buf);
    free(copy);
    free_matrix(&m);
}

static void test_interleaved(void) {
    static const int64_t shapes[][2] = {{9, 256}, {64, 768}, {13, 2048}, {6, 8192}, {130, 256}};
    static const NuType types[] = {NU_TYPE_Q8_0, NU_TYPE_Q4_0, NU_TYPE_Q4_1, NU_TYPE_Q5_0,  NU_TYPE_Q5_1,
                                   NU_TYPE_Q2_K, NU_TYPE_Q3_K, NU_TYPE_Q4_K, NU_TYPE_Q5_K,  NU_TYPE_Q6_K,
                                   NU_TYPE_IQ4_NL, NU_TYPE_IQ4_XS};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_interleaved(types[t], shapes[s][0], shapes[s][1]);
    /* the float types and fewer than four rows stay as they are */
    Matrix f = make_matrix(NU_TYPE_F16, 8, 64), few = make_matrix(NU_TYPE_Q8_0, 3, 256);
    CHECK(nu_interleave_rows(&f.t) == 0 && nu_interleave_rows(&few.t) == 0);
    CHECK(!f.t.interleaved && !few.t.interleaved);
    free_matrix(&f);
    free_matrix(&few);
}

/* The integer sums at the ends of their ranges (every level 0, 15 or a mix, activations
 * -128 and 127, which the SIMD kernels' shifted and unwidened forms must hold exactly), in
 * the documented order bit for bit. */
static void test_extreme_levels(void) {
    static const NuType types[] = {NU_TYPE_Q8_0, NU_TYPE_Q4_0, NU_TYPE_Q4_1, NU_TYPE_Q5_0, NU_TYPE_Q5_1};
    static const uint8_t fill[] = {0xff, 0x00, 0x80, 0x7f, 0x0f, 0xf0};
    const int64_t rows = 6, cols = 256;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const NuTypeTraits *tt = nu_type_traits(types[t]), *at = nu_type_traits(tt->vec_dot_type);
        Matrix m = make_matrix(types[t], rows, cols);
        size_t rb = nu_row_bytes(types[t], cols), head = tt->block_bytes - (types[t] == NU_TYPE_Q8_0 ? 32 : 16);
        if (types[t] == NU_TYPE_Q5_0 || types[t] == NU_TYPE_Q5_1)
            head -= 4; /* qh takes the fill too */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t b = 0; b < cols / 32; b++)
                memset((uint8_t *)m.data + (size_t)r * rb + (size_t)b * tt->block_bytes + head, fill[r], tt->block_bytes - head);
        float x[256], out[6];
        uint8_t buf[256 * sizeof(float)];
        for (int i = 0; i < cols; i++)
            x[i] = rand_unit();
        uint8_t *xq = (uint8_t *)nu_convert_input(types[t], x, cols, buf);
        int off = tt->vec_dot_type == NU_TYPE_Q8_1 ? 4 : 2;
        for (int64_t b = 0; b < cols / 32; b++)
            for (int j = 0; j < 32; j++)
                xq[b * at->block_bytes + off + j] = (uint8_t)((j + b) % 3 ? 127 : -128);
        nu_matvec(&m.t, xq, out);
        for (int64_t r = 0; r < rows; r++) {
            double ref;
            float expect = order_blocks(&m, r, tt->vec_dot_type, xq, &ref);
            CHECK(memcmp(&expect, &out[r], sizeof expect) == 0);
        }
        free_matrix(&m);
    }
}

/* Non-finite block scales (weights or input) give non-finite outputs in their own rows only,
 * never a trap; the other rows keep their exact values. */
static void test_nonfinite_scales(void) {
    static const NuType types[] = {NU_TYPE_Q8_0, NU_TYPE_Q4_0, NU_TYPE_Q4_1, NU_TYPE_Q5_0, NU_TYPE_Q5_1};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        NuType type = types[t];
        Matrix m = make_matrix(type, 6, 128);
        float x[128], out[6], clean[6];
        uint8_t buf[512];
        for (int c = 0; c < 128; c++)
            x[c] = rand_unit();
        const void *xq = nu_convert_input(type, x, 128, buf);
        nu_matvec(&m.t, xq, clean);
        size_t rb = nu_row_bytes(type, 128);
        uint8_t *row1 = (uint8_t *)m.data + rb, *row4 = (uint8_t *)m.data + 4 * rb;
        row1[2 * nu_type_traits(type)->block_bytes] = 0x00, row1[2 * nu_type_traits(type)->block_bytes + 1] = 0x7e; /* NaN d */
        row4[0] = 0x00, row4[1] = 0x7c; /* +inf d */
        nu_matvec(&m.t, xq, out);
        CHECK(isnan(out[1]));
        CHECK(!isfinite(out[4]));
        CHECK(out[0] == clean[0] && out[2] == clean[2] && out[3] == clean[3] && out[5] == clean[5]);
        free_matrix(&m);
    }
}

static void test_f16_specials(void) {
    /* Subnormal, infinite and negative-zero halves reach the products unchanged. */
    uint16_t w[16] = {0x0001, 0x03ff, 0x8000, 0x3c00, 0xc000, 0x0400, 0x7bff, 0x3555,
                      0x0001, 0x0002, 0x0003, 0x8001, 0x3c00, 0x3c00, 0x3c00, 0x3c00};
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    float out, expect[16];
    uint16_t xh[16]; /* 1..16 are exact halves */
    NuTensor t = {NU_TYPE_F16, 1, 16, w, 0};
    nu_matvec(&t, nu_convert_input(NU_TYPE_F16, x, 16, xh), &out);
    nu_dequantize_row(NU_TYPE_F16, w, expect, 16);
    CHECK(out == order_f32(expect, x, 16));
    w[6] = 0x7c00; /* +inf */
    nu_matvec(&t, xh, &out);
    CHECK(isinf(out) && out > 0);

    /* Every half: row r holds the 16 consecutive bit patterns from 16 r (one sign and
     * exponent per row, so a wrong conversion changes the row's sum). */
    enum { ROWS = 65536 / 16 };
    uint16_t *all = malloc(65536 * sizeof *all);
    float *sums = malloc(ROWS * sizeof *sums), ones[16], row[16];
    for (int i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    NuTensor every = {NU_TYPE_F16, ROWS, 16, all, 0};
    uint16_t ones_h[16];
    nu_matvec(&every, nu_convert_input(NU_TYPE_F16, ones, 16, ones_h), sums);
    int bad = 0;
    for (int r = 0; r < ROWS; r++) {
        nu_dequantize_row(NU_TYPE_F16, all + 16 * r, row, 16);
        float e = order_f32(row, ones, 16);
        bad += isnan(e) ? !isnan(sums[r]) : memcmp(&e, &sums[r], sizeof e) != 0;
    }
    CHECK(bad == 0);
    free(all);
    free(sums);
}

static void test_embedding_row(void) {
    Matrix m = make_matrix(NU_TYPE_Q4_0, 10, 64);
    float row[64];
    nu_embedding_row(&m.t, 7, row);
    CHECK(memcmp(row, m.deq + 7 * 64, sizeof row) == 0);
    nu_embedding_row(&m.t, 10, row); /* out of range: zeros, no read */
    CHECK(row[0] == 0.0f && row[63] == 0.0f);
    free_matrix(&m);
    Matrix f = make_matrix(NU_TYPE_F16, 4, 20);
    float frow[20];
    nu_embedding_row(&f.t, 3, frow);
    CHECK(memcmp(frow, f.deq + 60, sizeof frow) == 0);
    free_matrix(&f);
}

static void test_helpers(void) {
    float a[37], b[37], y[37];
    for (int i = 0; i < 37; i++) {
        a[i] = rand_unit();
        b[i] = rand_unit();
        y[i] = b[i];
    }
    float d = nu_dot(a, b, 37);
    CHECK(d == order_f32(a, b, 37));
    CHECK(nu_dot(a, b, 0) == 0.0f);

    nu_axpy(y, 0.75f, a, 37);
    int ok = 1;
    for (int i = 0; i < 37; i++)
        ok &= y[i] == b[i] + 0.75f * a[i];
    CHECK(ok);

    float w[4] = {1.0f, 2.0f, 0.5f, -1.0f}, x[4] = {1.0f, -2.0f, 3.0f, 4.0f}, o[4];
    nu_rmsnorm(o, x, w, 4, 1e-5f);
    double inv = 1.0 / sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
    CHECK_NEAR(o[0], 1.0 * inv, 1e-6);
    CHECK_NEAR(o[1], -4.0 * inv, 1e-6);
    CHECK_NEAR(o[2], 1.5 * inv, 1e-6);
    CHECK_NEAR(o[3], -4.0 * inv, 1e-6);
    nu_rmsnorm(x, x, w, 4, 1e-5f); /* in place */
    CHECK(memcmp(x, o, sizeof o) == 0);

    float s[5] = {1.0f, 2.0f, 3.0f, -INFINITY, 1000.0f};
    nu_softmax(s, 4);
    double z = exp(1.0) + exp(2.0) + exp(3.0);
    CHECK_NEAR(s[0], exp(1.0) / z, 1e-6);
    CHECK_NEAR(s[2], exp(3.0) / z, 1e-6);
    CHECK(s[3] == 0.0f);
    CHECK(s[4] == 1000.0f); /* untouched beyond n */
    float big[3] = {1000.0f, 1000.0f, 999.0f};
    nu_softmax(big, 3); /* max subtracted: no overflow */
    CHECK_NEAR(big[0], 1.0 / (2 + exp(-1.0)), 1e-6);
}

/* Attention's helpers against their definitions, bit for bit: nu_dot against the documented
 * order, nu_weighted_sum against zeroing then adding each weighted row in turn; widths with
 * and without a tail past 16 and 4. */
static void test_attention_helpers(void) {
    enum { ROWS = 9, STRIDE = 80 };
    float x[STRIDE], rows[ROWS * STRIDE], w[ROWS], out[STRIDE], expect[STRIDE];
    for (int i = 0; i < STRIDE; i++)
        x[i] = rand_unit();
    for (int i = 0; i < ROWS * STRIDE; i++)
        rows[i] = rand_unit();
    for (int t = 0; t < ROWS; t++)
        w[t] = rand_unit();
    static const int widths[] = {48, 64, 32, 40, 8, 20, 37, 3};
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        int n = widths[k];
        for (int n_rows = 0; n_rows <= ROWS; n_rows += 3) {
            int bad = 0;
            for (int t = 0; t < n_rows; t++) {
                float e = order_f32(x, rows + 5 + t * STRIDE, n), d = nu_dot(x, rows + 5 + t * STRIDE, n);
                bad += memcmp(&e, &d, sizeof e) != 0;
            }
            memset(expect, 0, sizeof expect);
            for (int t = 0; t < n_rows; t++)
                for (int i = 0; i < n; i++)
                    expect[i] += w[t] * rows[5 + t * STRIDE + i];
            nu_weighted_sum(out, w, rows + 5, STRIDE, n_rows, n);
            bad += memcmp(expect, out, (size_t)n * sizeof *out) != 0;
            /* nu_scores over keys n apart: nu_dot / divisor, two keys at a time or one */
            float scores[ROWS];
            for (int d = 0; d < 2; d++) {
                float divisor = d ? 7.3f : 8.0f;
                nu_scores(scores, x, rows + 5, n_rows, n, divisor);
                for (int t = 0; t < n_rows; t++) {
                    float e = nu_dot(x, rows + 5 + t * n, n) / divisor;
                    bad += memcmp(&e, &scores[t], sizeof e) != 0;
                }
            }
            if (bad)
                fprintf(stderr, "attention helpers: width %d, %d rows: %d mismatches\n", n, n_rows, bad);
            CHECK(bad == 0);
        }
    }
}

/* nu_softmax and nu_silu_mul against their scalar definitions through nu_expf, bit for bit
 * (NaN only as NaN: engines may pick its bits), over random values and the edges of nu_expf's
 * branches. */
static void test_activations(void) {
    enum { N = 299 };
    static const float edges[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 10.0f, -10.0f, -87.9f, -88.0f,
                                  -88.1f, -100.0f, -104.0f, -110.0f, 88.0f, 100.0f, 1e30f, -1e30f,
                                  INFINITY, -INFINITY, NAN};
    const int n_edges = (int)(sizeof edges / sizeof edges[0]);
    float g[N], up[N], expect[N], s[N];
    for (int i = 0; i < N; i++) {
        g[i] = i < n_edges ? edges[i] : 20.0f * rand_unit();
        up[i] = rand_unit();
        expect[i] = g[i] * (1.0f / (1.0f + nu_expf(-g[i]))) * up[i];
    }
    nu_silu_mul(g, up, N);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += isnan(expect[i]) ? !isnan(g[i]) : memcmp(&expect[i], &g[i], sizeof *g) != 0;
    if (bad)
        fprintf(stderr, "nu_silu_mul: %d mismatches\n", bad);
    CHECK(bad == 0);

    static const int lengths[] = {1, 3, 4, 37, N};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        int n = lengths[k];
        for (int i = 0; i < n; i++)
            s[i] = expect[i] = (i == 7 ? -INFINITY : 15.0f * rand_unit());
        float max = expect[0], sum = 0.0f;
        for (int i = 1; i < n; i++)
            max = expect[i] > max ? expect[i] : max;
        for (int i = 0; i < n; i++)
            sum += (expect[i] = nu_expf(expect[i] - max));
        for (int i = 0; i < n; i++)
            expect[i] /= sum;
        nu_softmax(s, n);
        bad = memcmp(expect, s, (size_t)n * sizeof *s) != 0;
        if (bad)
            fprintf(stderr, "nu_softmax: %d values differ\n", n);
        CHECK(bad == 0);
    }
}

int main(void) {
    test_activations();
    test_matvec();
    test_matmul();
    test_interleaved();
    test_extreme_levels();
    test_nonfinite_scales();
    test_attention_helpers();
    test_f16_specials();
    test_embedding_row();
    test_helpers();
    return check_summary("kernels");
}
