/* Matrix-vector kernels for F32, F16, Q8_0 and Q4_0 against a double-precision reference,
 * and against the documented summation order bit for bit (so a SIMD build that adds in
 * another order fails here). The native build on x86-64 runs the vector code (SSE4.1); build
 * this test with emcc -msimd128 to check it over SIMD128, without -msse4.1 for the scalar code.
 * Also the vector helpers: embedding rows, dot, axpy, rmsnorm, softmax. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
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
        const float *s = src + r * cols;
        uint8_t *d = (uint8_t *)m.data + (size_t)r * rb;
        switch (type) {
        case NU_TYPE_F32: memcpy(d, s, rb); break;
        case NU_TYPE_F16:
            for (int64_t c = 0; c < cols; c++) {
                uint16_t h = nu_f32_to_f16(s[c]);
                memcpy(d + 2 * c, &h, 2);
            }
            break;
        case NU_TYPE_Q8_0: nu_quantize_row_q8_0(s, (NuBlockQ8_0 *)d, cols); break;
        case NU_TYPE_Q4_0: nu_quantize_row_q4_0(s, (NuBlockQ4_0 *)d, cols); break;
        }
        nu_dequantize_row(type, d, m.deq + r * cols, cols);
    }
    free(src);
    m.t = (NuTensor){type, rows, cols, m.data};
    return m;
}

static void free_matrix(Matrix *m) {
    free(m->deq);
    free(m->data);
}

/* The documented order, written out independently of kernels.c. */
static float order_f32(const float *w, const float *x, int64_t n) {
    float a[16] = {0}, s[4];
    for (int64_t i = 0; i < n; i++)
        a[i % 16] += w[i] * x[i];
    for (int l = 0; l < 4; l++)
        s[l] = (a[l] + a[l + 4]) + (a[l + 8] + a[l + 12]);
    return (s[0] + s[2]) + (s[1] + s[3]);
}

static float order_quant(const NuTensor *w, int64_t r, const NuBlockQ8_0 *xq) {
    float a[4] = {0};
    int64_t nb = w->cols / NU_QK;
    for (int64_t b = 0; b < nb; b++) {
        int32_t isum = 0;
        uint16_t d;
        if (w->type == NU_TYPE_Q8_0) {
            const NuBlockQ8_0 *blk = (const NuBlockQ8_0 *)w->data + r * nb + b;
            for (int j = 0; j < NU_QK; j++)
                isum += blk->qs[j] * xq[b].qs[j];
            d = blk->d;
        } else {
            const NuBlockQ4_0 *blk = (const NuBlockQ4_0 *)w->data + r * nb + b;
            for (int j = 0; j < NU_QK / 2; j++)
                isum += ((blk->qs[j] & 15) - 8) * xq[b].qs[j] + ((blk->qs[j] >> 4) - 8) * xq[b].qs[j + 16];
            d = blk->d;
        }
        a[b % 4] += (nu_f16_to_f32(d) * nu_f16_to_f32(xq[b].d)) * (float)isum;
    }
    return (a[0] + a[2]) + (a[1] + a[3]);
}

/* One shape and type: the kernel against the documented order (bit for bit) and against a
 * double-precision product of the same values (what the kernel was given: for the block
 * types the dequantized weights and the dequantized Q8_0 input). Also the error the input
 * quantization adds, against the float input. */
static void check_matvec(NuType type, int64_t rows, int64_t cols) {
    Matrix m = make_matrix(type, rows, cols);
    float *x = malloc((size_t)cols * sizeof *x), *xd = malloc((size_t)cols * sizeof *xd);
    float *out = malloc((size_t)rows * sizeof *out);
    NuBlockQ8_0 *xq = NULL;
    for (int64_t c = 0; c < cols; c++)
        x[c] = rand_unit() * 2;
    int quant = type == NU_TYPE_Q8_0 || type == NU_TYPE_Q4_0;
    if (quant) {
        xq = malloc((size_t)(cols / NU_QK) * sizeof *xq);
        nu_quantize_row_q8_0(x, xq, cols);
        nu_dequantize_row(NU_TYPE_Q8_0, xq, xd, cols);
    } else {
        memcpy(xd, x, (size_t)cols * sizeof *x);
    }
    nu_matvec(&m.t, x, xq, out);

    int order_bad = 0;
    double worst = 0, worst_vs_float = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *w = m.deq + r * cols;
        float expect = quant ? order_quant(&m.t, r, xq) : order_f32(w, x, cols);
        if (memcmp(&expect, &out[r], sizeof expect) != 0)
            order_bad++;
        double ref = 0, mag = 0, ref_float = 0;
        for (int64_t c = 0; c < cols; c++) {
            ref += (double)w[c] * xd[c];
            ref_float += (double)w[c] * x[c];
            mag += fabs((double)w[c] * xd[c]);
        }
        double e = fabs(out[r] - ref) / (mag + 1e-30);
        if (e > worst)
            worst = e;
        e = fabs(out[r] - ref_float) / (mag + 1e-30);
        if (e > worst_vs_float)
            worst_vs_float = e;
    }
    if (order_bad || worst > 1e-6)
        fprintf(stderr, "matvec %s %lldx%lld: %d rows out of order, worst relative error %.3g\n",
                nu_type_name(type), (long long)rows, (long long)cols, order_bad, worst);
    CHECK(order_bad == 0);
    CHECK(worst <= 1e-6); /* relative to sum |w x|: float accumulation only */
    /* Quantizing the input costs at most half a Q8_0 step per element: below 1% of sum |w x|
     * for these random vectors. */
    CHECK(worst_vs_float <= (quant ? 1e-2 : 1e-6));
    free(x);
    free(xd);
    free(xq);
    free(out);
    free_matrix(&m);
}

static void test_matvec(void) {
    /* Row counts leaving 0-3 rows after groups of 4, block counts leaving 0-3 after groups of 4. */
    static const int64_t shapes[][2] = {{288, 768}, {768, 288}, {64, 512}, {512, 64}, {37, 96},
                                        {1, 32},    {5, 160},   {6, 64},   {7, 224},  {3, 256}};
    static const NuType types[] = {NU_TYPE_F32, NU_TYPE_F16, NU_TYPE_Q8_0, NU_TYPE_Q4_0};
    for (size_t t = 0; t < 4; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_matvec(types[t], shapes[s][0], shapes[s][1]);
    /* Float types take any column count: tails shorter than a SIMD step. */
    static const int64_t odd[][2] = {{13, 45}, {3, 7}, {9, 17}, {2, 1}};
    for (size_t s = 0; s < 4; s++) {
        check_matvec(NU_TYPE_F32, odd[s][0], odd[s][1]);
        check_matvec(NU_TYPE_F16, odd[s][0], odd[s][1]);
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
    NuTensor t = {NU_TYPE_F16, 1, 16, w};
    nu_matvec(&t, x, NULL, &out);
    nu_dequantize_row(NU_TYPE_F16, w, expect, 16);
    CHECK(out == order_f32(expect, x, 16));
    w[6] = 0x7c00; /* +inf */
    nu_matvec(&t, x, NULL, &out);
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
    NuTensor every = {NU_TYPE_F16, ROWS, 16, all};
    nu_matvec(&every, ones, NULL, sums);
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
    static const int widths[] = {48, 64, 8, 20, 37, 3};
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
            if (bad)
                fprintf(stderr, "attention helpers: width %d, %d rows: %d mismatches\n", n, n_rows, bad);
            CHECK(bad == 0);
        }
    }
}

int main(void) {
    test_matvec();
    test_attention_helpers();
    test_f16_specials();
    test_embedding_row();
    test_helpers();
    return check_summary("kernels");
}
