/* The K-quants, Q8_K and IQ4: layouts, round trips, the quantizers' bytes against ggml's,
 * the matrix-vector products bit for bit against kquants.h's documented order and near a
 * double-precision reference, and bad scales (infinity, NaN) giving numbers, never a crash. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "quant.h"
#include "quant/family.h"
#include "quant/kquants.h"

typedef void (*QuantizeFn)(const float *, void *, int64_t);
typedef void (*DequantizeFn)(const void *, float *, int64_t);
typedef void (*MatvecFn)(const void *, size_t, int64_t, int64_t, const void *, float *);

typedef struct {
    const char *name;
    int block;        /* elements per block */
    size_t bytes;     /* bytes per block */
    size_t d_off;     /* where the half d sits in a block */
    long dmin_off;    /* where dmin sits, -1 for the types without mins */
    QuantizeFn quantize;
    DequantizeFn dequantize;
    MatvecFn matvec;
    double max_rel_rmse; /* round trip of uniform data: rmse / rms bound */
    uint64_t ggml_hash;  /* FNV-1a of ggml's bytes for test_input (see test_ggml_bytes) */
} Type;

static const Type TYPES[] = {
    {"q2_K", 256, sizeof(NuBlockQ2_K), offsetof(NuBlockQ2_K, d), offsetof(NuBlockQ2_K, dmin), nu_q2_K_from_float,
     nu_q2_K_to_float, nu_q2_K_matvec, 0.28, 0x397ef26861494714ull},
    {"q3_K", 256, sizeof(NuBlockQ3_K), offsetof(NuBlockQ3_K, d), -1, nu_q3_K_from_float, nu_q3_K_to_float,
     nu_q3_K_matvec, 0.16, 0x1097bc306bc06862ull},
    {"q4_K", 256, sizeof(NuBlockQ4_K), offsetof(NuBlockQ4_K, d), offsetof(NuBlockQ4_K, dmin), nu_q4_K_from_float,
     nu_q4_K_to_float, nu_q4_K_matvec, 0.07, 0x52641ed6627d12a6ull},
    {"q5_K", 256, sizeof(NuBlockQ5_K), offsetof(NuBlockQ5_K, d), offsetof(NuBlockQ5_K, dmin), nu_q5_K_from_float,
     nu_q5_K_to_float, nu_q5_K_matvec, 0.036, 0x2139a78992bb42d1ull},
    {"q6_K", 256, sizeof(NuBlockQ6_K), offsetof(NuBlockQ6_K, d), -1, nu_q6_K_from_float, nu_q6_K_to_float,
     nu_q6_K_matvec, 0.018, 0xc2e92a0d997d4233ull},
    {"iq4_nl", 32, sizeof(NuBlockIQ4_NL), offsetof(NuBlockIQ4_NL, d), -1, nu_iq4_nl_from_float, nu_iq4_nl_to_float,
     nu_iq4_nl_matvec, 0.085, 0xdacd587a2364ba06ull},
    {"iq4_xs", 256, sizeof(NuBlockIQ4_XS), offsetof(NuBlockIQ4_XS, d), -1, nu_iq4_xs_from_float,
     nu_iq4_xs_to_float, nu_iq4_xs_matvec, 0.085, 0x495ba3bed204f426ull},
};
#define N_TYPES (int)(sizeof TYPES / sizeof TYPES[0])

static uint64_t rng = 7;

static float rand_unit(void) { /* uniform in [-1, 1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(int32_t)(rng >> 32) * 0x1p-31f;
}

/* Uniform data with a different scale per 64 elements and a few outliers, so the searches
 * for scales and mins have something to do. */
static void test_input(float *x, int64_t n, uint64_t seed) {
    rng = seed;
    float scale = 1.0f;
    for (int64_t i = 0; i < n; i++) {
        if (i % 64 == 0)
            scale = 0.05f + fabsf(rand_unit());
        x[i] = scale * rand_unit();
        if (i % 97 == 13)
            x[i] *= 4.0f;
    }
}

static uint64_t fnv1a(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void put_half(void *block, size_t off, uint16_t h) {
    memcpy((uint8_t *)block + off, &h, 2);
}

static uint16_t get_half(const void *block, size_t off) {
    uint16_t h;
    memcpy(&h, (const uint8_t *)block + off, 2);
    return h;
}

static void test_layouts(void) {
    CHECK(sizeof(NuBlockQ2_K) == 84 && offsetof(NuBlockQ2_K, qs) == 16 && offsetof(NuBlockQ2_K, d) == 80);
    CHECK(sizeof(NuBlockQ3_K) == 110 && offsetof(NuBlockQ3_K, qs) == 32 && offsetof(NuBlockQ3_K, scales) == 96);
    CHECK(sizeof(NuBlockQ4_K) == 144 && offsetof(NuBlockQ4_K, scales) == 4 && offsetof(NuBlockQ4_K, qs) == 16);
    CHECK(sizeof(NuBlockQ5_K) == 176 && offsetof(NuBlockQ5_K, qh) == 16 && offsetof(NuBlockQ5_K, qs) == 48);
    CHECK(sizeof(NuBlockQ6_K) == 210 && offsetof(NuBlockQ6_K, qh) == 128 && offsetof(NuBlockQ6_K, scales) == 192);
    CHECK(sizeof(NuBlockQ8_K) == 292 && offsetof(NuBlockQ8_K, bsums) == 260);
    CHECK(sizeof(NuBlockIQ4_XS) == 136 && offsetof(NuBlockIQ4_XS, scales_l) == 4 && offsetof(NuBlockIQ4_XS, qs) == 8);
    /* a hand-built Q4_K block: group 5 scale 37 (low 5 in byte 9, high 2 in byte 1's top),
     * min 9; element 64*2 + 32 + 3 (group 5) is the high nibble of qs[67] */
    NuBlockQ4_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x3c00;    /* 1 */
    b.dmin = 0x3800; /* 0.5 */
    b.scales[9] = (uint8_t)((37 & 15) | (9 & 15) << 4);
    b.scales[1] = (uint8_t)((37 >> 4) << 6);
    b.qs[67] = 0x70;
    float y[256];
    nu_q4_K_to_float(&b, y, 256);
    CHECK(y[163] == 37.0f * 7 - 4.5f);
    CHECK(y[162] == -4.5f && y[3] == 0.0f);
    /* Q6_K element 128 + 64 + 5: high nibble of ql[64 + 5], bits 4-5 of qh[32 + 5], scale 12 */
    NuBlockQ6_K c;
    memset(&c, 0, sizeof c);
    c.d = 0x3c00;
    c.scales[12] = -3;
    c.ql[69] = 0xa0;
    c.qh[37] = 0x20;
    nu_q6_K_to_float(&c, y, 256);
    CHECK(y[197] == -3.0f * ((0xa | 2 << 4) - 32));
}

static void test_round_trip(const Type *t) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N * 2];
    test_input(x, N, 11);
    t->quantize(x, q, N);
    t->dequantize(q, y, N);
    double err = 0, ref = 0;
    for (int i = 0; i < N; i++) {
        err += (double)(x[i] - y[i]) * (x[i] - y[i]);
        ref += (double)x[i] * x[i];
    }
    double rel = sqrt(err / ref);
    if (rel > t->max_rel_rmse)
        fprintf(stderr, "%s: relative rmse %.4f\n", t->name, rel);
    CHECK(rel <= t->max_rel_rmse);
    /* all zeros: zero bytes of levels, zero values, no NaN */
    memset(x, 0, sizeof x);
    t->quantize(x, q, N);
    t->dequantize(q, y, N);
    int zero = 1;
    for (int i = 0; i < N; i++)
        zero &= y[i] == 0.0f;
    CHECK(zero);
}

/* The same input through ggml's quantizers (llama.cpp's ggml-quants.c at the oracle's
 * version, built outside this repo with -ffp-contract=off: quantize_row_q{2..6}_K_ref,
 * quantize_iq4_nl and quantize_iq4_xs without weights) hashed to these values: our bytes
 * must be theirs. Checked there for 60 more seeds at 256 and 2048 elements as well. */
static void test_ggml_bytes(const Type *t) {
    enum { N = 2048 };
    static float x[N];
    static uint8_t q[N * 2];
    test_input(x, N, 3);
    t->quantize(x, q, N);
    uint64_t h = fnv1a(q, (size_t)(N / t->block) * t->bytes);
    if (h != t->ggml_hash)
        fprintf(stderr, "%s: bytes hash %016llx\n", t->name, (unsigned long long)h);
    CHECK(h == t->ggml_hash);
}

/* kquants.h's order, computed from the dequantizer: with d = 1 and dmin = 0 a block
 * dequantizes to scale * level, whose dot with the activations' levels is isum; with d = 0
 * and dmin = 1 to -min, giving imin. */
static float documented_row(const Type *t, const uint8_t *row, int64_t cols, const void *xq) {
    float acc[4] = {0}, vals[256];
    uint8_t blk[256];
    for (int64_t b = 0; b < cols / t->block; b++) {
        const uint8_t *wb = row + b * t->bytes;
        const int8_t *xs;
        float dx;
        if (t->block == 32) {
            const NuBlockQ8_0 *xb = (const NuBlockQ8_0 *)xq + b;
            xs = xb->qs;
            dx = nu_f16_to_f32(xb->d);
        } else {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)xq + b;
            xs = xb->qs;
            dx = xb->d;
        }
        memcpy(blk, wb, t->bytes);
        put_half(blk, t->d_off, 0x3c00);
        if (t->dmin_off >= 0)
            put_half(blk, (size_t)t->dmin_off, 0);
        t->dequantize(blk, vals, t->block);
        int64_t isum = 0, imin = 0;
        for (int e = 0; e < t->block; e++)
            isum += (int64_t)vals[e] * xs[e];
        float v = (nu_f16_to_f32(get_half(wb, t->d_off)) * dx) * (float)isum;
        if (t->dmin_off >= 0) {
            put_half(blk, t->d_off, 0);
            put_half(blk, (size_t)t->dmin_off, 0x3c00);
            t->dequantize(blk, vals, t->block);
            for (int e = 0; e < t->block; e++)
                imin -= (int64_t)vals[e] * xs[e];
            v = v - (nu_f16_to_f32(get_half(wb, (size_t)t->dmin_off)) * dx) * (float)imin;
        }
        acc[b % 4] += v;
    }
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

static void test_matvec(const Type *t, int64_t rows, int64_t cols) {
    float *w = malloc((size_t)(rows * cols) * sizeof *w), *x = malloc((size_t)cols * sizeof *x);
    float *wd = malloc((size_t)(rows * cols) * sizeof *wd), *xd = malloc((size_t)cols * sizeof *xd);
    float *out = malloc((size_t)rows * sizeof *out), *one = malloc(sizeof *one);
    size_t row_bytes = (size_t)(cols / t->block) * t->bytes;
    uint8_t *q = malloc((size_t)rows * row_bytes);
    void *xq = malloc((size_t)cols * 2);
    test_input(w, rows * cols, 5 + (uint64_t)cols);
    test_input(x, cols, 9);
    for (int64_t r = 0; r < rows; r++)
        t->quantize(w + r * cols, q + r * row_bytes, cols);
    if (t->block == 32) {
        nu_quantize_row_q8_0(x, xq, cols);
        nu_dequantize_row(NU_TYPE_Q8_0, xq, xd, cols);
    } else {
        nu_q8_K_from_float(x, xq, cols);
        nu_q8_K_to_float(xq, xd, cols);
    }
    t->dequantize(q, wd, rows * cols);
    t->matvec(q, row_bytes, rows, cols, xq, out);
    int exact = 1, near = 1, alone = 1;
    for (int64_t r = 0; r < rows; r++) {
        exact &= out[r] == documented_row(t, q + r * row_bytes, cols, xq);
        double ref = 0, mag = 0;
        for (int64_t c = 0; c < cols; c++) {
            ref += (double)wd[r * cols + c] * xd[c];
            mag += fabs((double)wd[r * cols + c] * xd[c]);
        }
        near &= fabs(out[r] - ref) <= 1e-5 * mag;
        t->matvec(q + r * row_bytes, row_bytes, 1, cols, xq, one); /* a row alone: same bits */
        alone &= one[0] == out[r];
    }
    if (!exact || !near || !alone)
        fprintf(stderr, "%s %lldx%lld: exact %d near %d alone %d\n", t->name, (long long)rows, (long long)cols, exact,
                near, alone);
    CHECK(exact);
    CHECK(near);
    CHECK(alone);
    free(w);
    free(x);
    free(wd);
    free(xd);
    free(out);
    free(one);
    free(q);
    free(xq);
}

/* Every byte of the blocks (levels, scales, high bits) at one pattern per row, d and dmin 1,
 * against activations of +-127: the ends of every integer range the kernels take apart, in
 * documented_row's exact order. */
static void test_extreme_levels(const Type *t) {
    static const uint8_t fill[] = {0xff, 0x00, 0x80, 0x7f, 0x0f, 0xf0};
    enum { ROWS = 6, COLS = 512 };
    size_t row_bytes = (size_t)(COLS / t->block) * t->bytes;
    uint8_t *q = malloc(ROWS * row_bytes);
    for (int r = 0; r < ROWS; r++)
        for (int b = 0; b < COLS / t->block; b++) {
            uint8_t *blk = q + (size_t)r * row_bytes + (size_t)b * t->bytes;
            memset(blk, fill[r], t->bytes);
            put_half(blk, t->d_off, 0x3c00);
            if (t->dmin_off >= 0)
                put_half(blk, (size_t)t->dmin_off, 0x3c00);
        }
    NuBlockQ8_0 x32[COLS / 32];
    NuBlockQ8_K x256[COLS / 256];
    for (int b = 0; b < COLS / 32; b++) {
        x32[b].d = 0x3c00;
        for (int j = 0; j < 32; j++)
            x32[b].qs[j] = (int8_t)((j + b) % 3 ? 127 : -127);
    }
    for (int b = 0; b < COLS / 256; b++) {
        x256[b].d = 1.0f;
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += x256[b].qs[16 * g + l] = (int8_t)((l + g + b) % 3 ? 127 : -127);
            x256[b].bsums[g] = (int16_t)sum;
        }
    }
    const void *xq = t->block == 32 ? (const void *)x32 : (const void *)x256;
    float out[ROWS];
    t->matvec(q, row_bytes, ROWS, COLS, xq, out);
    for (int r = 0; r < ROWS; r++) {
        float expect = documented_row(t, q + (size_t)r * row_bytes, COLS, xq);
        if (memcmp(&expect, &out[r], sizeof expect) != 0)
            fprintf(stderr, "%s extreme row %d (fill 0x%02x): %g, expected %g\n", t->name, r, fill[r], out[r], expect);
        CHECK(memcmp(&expect, &out[r], sizeof expect) == 0);
    }
    free(q);
}

/* Infinite and NaN scales in a block and in the activations: the products are numbers or
 * infinities or NaN, the call returns. */
static void test_bad_scales(const Type *t) {
    enum { COLS = 512, ROWS = 5 };
    static float w[ROWS * COLS], x[COLS], out[ROWS];
    static uint8_t q[ROWS * COLS * 2];
    static uint8_t xq[COLS * 2];
    size_t row_bytes = (size_t)(COLS / t->block) * t->bytes;
    test_input(w, ROWS * COLS, 1);
    test_input(x, COLS, 2);
    for (int r = 0; r < ROWS; r++)
        t->quantize(w + r * COLS, q + r * row_bytes, COLS);
    put_half(q, t->d_off, 0x7c00);                       /* +inf in row 0 */
    put_half(q + row_bytes + t->bytes, t->d_off, 0x7e00); /* NaN in row 1, block 1 */
    if (t->dmin_off >= 0)
        put_half(q + 2 * row_bytes, (size_t)t->dmin_off, 0xfc00); /* -inf min in row 2 */
    if (t->block == 32)
        nu_quantize_row_q8_0(x, (NuBlockQ8_0 *)xq, COLS);
    else
        nu_q8_K_from_float(x, xq, COLS);
    t->matvec(q, row_bytes, ROWS, COLS, xq, out);
    CHECK(!isfinite(out[0]) && isnan(out[1]) && isfinite(out[3]) && isfinite(out[4]));
    CHECK(t->dmin_off < 0 || !isfinite(out[2]));
    /* quantizing NaN and infinity returns (the sanitizer build checks it does so cleanly) */
    x[3] = NAN;
    x[200] = INFINITY;
    t->quantize(x, q, COLS);
    t->dequantize(q, w, COLS);
}

/* Q8_K: ggml's -127 / max scale, bsums the sums of 16. */
static void test_q8_K(void) {
    float x[256], y[256];
    NuBlockQ8_K b;
    test_input(x, 256, 4);
    x[77] = -3.0f; /* the largest magnitude: level -127 */
    nu_q8_K_from_float(x, &b, 256);
    CHECK(b.qs[77] == -127 && b.d == 1 / (-127.0f / -3.0f));
    int sums_ok = 1, max_ok = 1;
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++) {
            s += b.qs[16 * g + l];
            max_ok &= b.qs[16 * g + l] >= -127;
        }
        sums_ok &= s == b.bsums[g];
    }
    CHECK(sums_ok && max_ok);
    nu_q8_K_to_float(&b, y, 256);
    CHECK_NEAR(y[77], -3.0f, 1e-6);
}

int main(void) {
    test_layouts();
    test_q8_K();
    for (int i = 0; i < N_TYPES; i++) {
        const Type *t = &TYPES[i];
        test_round_trip(t);
        test_ggml_bytes(t);
        test_matvec(t, 7, 512);
        test_matvec(t, 4, 1536);
        test_matvec(t, 9, 256 + (t->block == 32 ? 32 : 0));
        test_extreme_levels(t);
        test_bad_scales(t);
    }
    return check_summary("kquants");
}
