/* Helpers the kernels of every type family share (the files of src/quant only), and the summation
 * order they all keep so native, scalar wasm and SIMD wasm round identically:
 *  - float rows (F32, F16, BF16) keep 16 lanes, element i going to lane i % 16; the lanes are
 *    reduced as s[l] = (a[l] + a[l+4]) + (a[l+8] + a[l+12]), result (s0 + s2) + (s1 + s3)
 *    (the natural reduction of four f32x4 accumulators);
 *  - block rows compute one float term per block (its integer sum is exact, then scaled by
 *    the scales, e.g. (d_w * d_x) * isum, or (d_w * d_x) * isum + m_w * s_x), block b going to
 *    lane b % 4, reduced as (a0 + a2) + (a1 + a3).
 * The SIMD block kernels go four rows at a time with the rows in the vector lanes (one
 * widened activation block serves four rows, the final reduction is vertical): a family
 * writes the four-row block term, rows4_matvec does the rest. */
#ifndef NUCLEUS_QUANT_UTIL_H
#define NUCLEUS_QUANT_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "quant.h"
#include "simd.h"

/* The element of x[0..n) of largest magnitude, sign kept (the first on ties, NaN skipped): the
 * value ggml's reference quantizers derive a symmetric scale from. */
static inline float signed_absmax(const float *x, int64_t n) {
    float amax = 0.0f, max = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    return max;
}

static inline float reduce4(const float *a) {
    return (a[0] + a[2]) + (a[1] + a[3]);
}

static inline float reduce16(const float *a) {
    float s[4];
    for (int l = 0; l < 4; l++)
        s[l] = (a[l] + a[l + 4]) + (a[l + 8] + a[l + 12]);
    return reduce4(s);
}

/* A family's nu_T_matvec, and with MATVEC_IL its form on rows interleaved in groups of four
 * too (types.h, matvec_il), through the family's DRIVE(T, w, row_bytes, rows, cols, x, out, il):
 * rows1_matvec or rows4_matvec with its terms. */
#define MATVEC(T)                                                                                \
    void nu_##T##_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) { \
        DRIVE(T, w, row_bytes, rows, cols, x, out, 0);                                           \
    }
#define MATVEC_IL(T)                                                                             \
    MATVEC(T)                                                                                    \
    void nu_##T##_matvec_il(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) { \
        DRIVE(T, w, row_bytes, rows, cols, x, out, 1);                                           \
    }

/* The scalar form of every block kernel: row r's term for block b, given the row. */
typedef float (*BlockTerm1)(const uint8_t *row, int64_t b, const void *x);

/* Rows interleaved in groups of four (NuTensor.interleaved, `il`): block b of row 4g + k sits
 * at block 4b + k of the group. A term reads block b at row + b blocks, so the drivers hand it
 * row k's start advanced by 3b blocks: k + 3b + b = 4b + k. Only whole groups are
 * interleaved (the last rows % 4 rows are plain); callers split a matrix at multiples of four
 * rows. Returns row r's start and sets *step to the bytes it moves by per block. */
static inline const uint8_t *row_start(const void *w, size_t row_bytes, int64_t rows, int64_t nb, int64_t r, int il,
                                       size_t *step) {
    if (il && (r | 3) < rows) {
        size_t bb = row_bytes / (size_t)nb;
        *step = 3 * bb;
        return (const uint8_t *)w + (size_t)(r & ~(int64_t)3) * row_bytes + (size_t)(r & 3) * bb;
    }
    *step = 0;
    return (const uint8_t *)w + (size_t)r * row_bytes;
}

/* out[r] = the block terms of row r added in lanes b % 4, one row at a time: the order the
 * SIMD code reproduces four rows at a time. */
static inline void rows1_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t nb, const void *x,
                                float *out, BlockTerm1 term, int il) {
    for (int64_t r = 0; r < rows; r++) {
        size_t step;
        const uint8_t *row = row_start(w, row_bytes, rows, nb, r, il, &step);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, row += step)
            acc[b % 4] += term(row, b, x);
        out[r] = reduce4(acc);
    }
}

#ifdef NU_SIMD

/* Four halves (in the low 16 bits of each u32 lane) to floats, exactly as nu_f16_to_f32. */
static inline v128 half4_to_float4(v128 h) {
    v128 mag = i32x4_shl(v128_and(h, i32x4_splat(0x7fff)), 13);
    v128 val = f32x4_mul(mag, f32x4_splat(0x1p112f));
    v128 special = i32x4_eq(v128_and(h, i32x4_splat(0x7c00)), i32x4_splat(0x7c00));
    v128 infnan = v128_or(i32x4_splat(0x7f800000), i32x4_shl(v128_and(h, i32x4_splat(0x3ff)), 13));
    v128 sign = i32x4_shl(v128_and(h, i32x4_splat(0x8000)), 16);
    return v128_or(sign, v128_bitselect(infnan, val, special));
}

/* Four halves as floats (lane k from h[k]), exactly as nu_f16_to_f32. */
static inline v128 halves4(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
    return half4_to_float4(u32x4_make(h0, h1, h2, h3));
}

/* Eight halves to floats (lo: halves 0-3, hi: 4-7), exactly as nu_f16_to_f32. h << 16 shifted
 * right 3 with the sign filling, masked to sign | (h & 0x7fff) << 13, is the half's value
 * scaled by 2^-112 with its sign, normals and subnormals alike; multiplying by 2^112 is exact.
 * Infinity and NaN (exponent 31) are rare: when a lane holds one, half4_to_float4 does all. */
static inline void f16x8_to_f32(v128 h, v128 *lo, v128 *hi) {
    v128 exp = i16x8_splat(0x7c00);
    if (v128_any_true(i16x8_eq(v128_and(h, exp), exp))) {
        *lo = half4_to_float4(u32x4_extend_low_u16x8(h));
        *hi = half4_to_float4(u32x4_extend_high_u16x8(h));
        return;
    }
    v128 zero = i32x4_splat(0), mask = i32x4_splat((int32_t)0x8fffffff), scale = f32x4_splat(0x1p112f);
    *lo = f32x4_mul(v128_and(i32x4_shr(i16x8_zip_low(zero, h), 3), mask), scale);
    *hi = f32x4_mul(v128_and(i32x4_shr(i16x8_zip_high(zero, h), 3), mask), scale);
}

/* reduce16 of the lanes held in four f32x4 accumulators (lanes 0-3, 4-7, 8-11, 12-15), in
 * registers: (a0 + a1) + (a2 + a3) lane-wise is reduce16's s[0..3], then (s0 + s2) + (s1 + s3). */
static inline float reduce16_simd(v128 a0, v128 a1, v128 a2, v128 a3) {
    v128 s = f32x4_add(f32x4_add(a0, a1), f32x4_add(a2, a3));
    v128 u = f32x4_add(s, i32x4_swap_halves(s));
    return f32x4_first(u) + f32x4_second(u);
}

/* [sum(p0), sum(p1), sum(p2), sum(p3)]: integer, so exact in any order. */
static inline v128 hsum4_i32x4(v128 p0, v128 p1, v128 p2, v128 p3) {
    v128 a = i32x4_add(i32x4_zip_low(p0, p1), i32x4_zip_high(p0, p1));
    v128 b = i32x4_add(i32x4_zip_low(p2, p3), i32x4_zip_high(p2, p3));
    return i32x4_add(i64x2_low_halves(a, b), i64x2_high_halves(a, b));
}

/* 32 activation values (i8) widened to i16: elements 0-7, 8-15, 16-23, 24-31. */
typedef struct {
    v128 x[4];
} Wide32;

static inline Wide32 widen32(const int8_t *qs) {
    return (Wide32){{i16x8_load8x8(qs), i16x8_load8x8(qs + 8), i16x8_load8x8(qs + 16), i16x8_load8x8(qs + 24)}};
}

/* The i32x4 partial sums of q . x, both widened. */
static inline v128 wide32_dot(const Wide32 *q, const Wide32 *x) {
    v128 a = i32x4_add(i32x4_dot_i16x8(q->x[0], x->x[0]), i32x4_dot_i16x8(q->x[1], x->x[1]));
    v128 b = i32x4_add(i32x4_dot_i16x8(q->x[2], x->x[2]), i32x4_dot_i16x8(q->x[3], x->x[3]));
    return i32x4_add(a, b);
}

/* The i32x4 partial sums of lo . x[0..15] + hi . x[16..31], lo and hi 16 signed bytes each. */
static inline v128 wide_dot32(v128 lo, v128 hi, const Wide32 *x) {
    Wide32 q = {{i16x8_extend_low_i8x16(lo), i16x8_extend_high_i8x16(lo), i16x8_extend_low_i8x16(hi),
                 i16x8_extend_high_i8x16(hi)}};
    return wide32_dot(&q, x);
}

/* The starts of rows r .. r + 3 of a matrix of `rows` rows of nb blocks (r a multiple of 4),
 * and the bytes each start moves by per block (row_start: the same for the four); past the
 * last of the n < 4 rows left, the last repeats (real work, not stored). */
static inline size_t group_rows(const void *w, size_t row_bytes, int64_t rows, int64_t nb, int64_t r, int il,
                                const uint8_t *rp[4]) {
    int n = rows - r < 4 ? (int)(rows - r) : 4;
    size_t step = 0;
    for (int k = 0; k < 4; k++)
        rp[k] = row_start(w, row_bytes, rows, nb, r + (k < n ? k : n - 1), il, &step);
    return step;
}

/* The four rows' terms for block b (lane k: row k), each exactly what the scalar term gives. */
typedef v128 (*BlockTerm4)(const uint8_t *const rows[4], int64_t b, const void *x);

static inline void acc4_store(v128 a0, v128 a1, v128 a2, v128 a3, float *out, int n) {
    v128 r = f32x4_add(f32x4_add(a0, a2), f32x4_add(a1, a3));
    if (n == 4) {
        v128_store(out, r);
        return;
    }
    float tmp[4];
    v128_store(tmp, r);
    for (int k = 0; k < n; k++)
        out[k] = tmp[k];
}

/* Four rows at a time, the rows in the lanes. For the last n < 4 rows the missing lanes
 * repeat the last row (group_rows). Block b's term adds into a0, then the
 * accumulators rotate, so a0 always holds the blocks of the next block's class b % 4. After
 * the loop {a0, a2} is {acc[0], acc[2]} or {acc[1], acc[3]} whatever nb is, so
 * (a0 + a2) + (a1 + a3) is (acc[0] + acc[2]) + (acc[1] + acc[3]) up to the order of the
 * operands of an addition, which does not change its bits (only which NaN comes out when two
 * meet, and wasm promises no NaN's bits anyway). Always inlined so `term` is a direct call. */
static inline __attribute__((always_inline)) void rows4_matvec(const void *w, size_t row_bytes, int64_t rows,
                                                               int64_t nb, const void *x, float *out,
                                                               BlockTerm4 term, int il) {
    for (int64_t r = 0; r < rows; r += 4) {
        int n = rows - r < 4 ? (int)(rows - r) : 4;
        const uint8_t *rp[4];
        size_t step = group_rows(w, row_bytes, rows, nb, r, il, rp);
        v128 a0 = f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t b = 0; b < nb; b++) {
            v128 next = f32x4_add(a0, term(rp, b, x));
            a0 = a1;
            a1 = a2;
            a2 = a3;
            a3 = next;
            for (int k = 0; k < 4; k++)
                rp[k] += step;
        }
        acc4_store(a0, a1, a2, a3, out + r, n);
    }
}

/* Block b's terms for the four rows against two inputs (lane k: row k), each exactly what
 * the one-input term gives. */
typedef void (*BlockTerm4x2)(const uint8_t *const rows[4], int64_t b, const void *x0, const void *x1, v128 *t0,
                             v128 *t1);

/* rows4_matvec for two inputs at once (the batched product: each weight block read once for
 * both): block b's terms into lane class b % 4 of each input's accumulators, reduced as
 * acc4_store does, so every output has the one-input kernel's bits. */
static inline __attribute__((always_inline)) void rows4_matmul2(const void *w, size_t row_bytes, int64_t rows,
                                                                int64_t nb, const void *x0, const void *x1,
                                                                float *out0, float *out1, BlockTerm4x2 term, int il) {
    for (int64_t r = 0; r < rows; r += 4) {
        int n = rows - r < 4 ? (int)(rows - r) : 4;
        const uint8_t *rp[4];
        size_t step = group_rows(w, row_bytes, rows, nb, r, il, rp);
        v128 acc0[4], acc1[4];
        for (int k = 0; k < 4; k++)
            acc0[k] = acc1[k] = f32x4_splat(0.0f);
        for (int64_t b = 0; b < nb; b++) {
            v128 t0, t1;
            term(rp, b, x0, x1, &t0, &t1);
            acc0[b % 4] = f32x4_add(acc0[b % 4], t0);
            acc1[b % 4] = f32x4_add(acc1[b % 4], t1);
            for (int k = 0; k < 4; k++)
                rp[k] += step;
        }
        acc4_store(acc0[0], acc0[1], acc0[2], acc0[3], out0 + r, n);
        acc4_store(acc1[0], acc1[1], acc1[2], acc1[3], out1 + r, n);
    }
}

/* A family's batched product (types.h, matmul) over n inputs x_stride bytes apart: two at a time
 * through term2, an odd last one alone through term1. */
static inline __attribute__((always_inline)) void rows4_matmul(const void *w, size_t row_bytes, int64_t rows,
                                                               int64_t nb, const void *x, size_t x_stride, int n,
                                                               float *out, size_t out_stride, BlockTerm4x2 term2,
                                                               BlockTerm4 term1, int il) {
    int t = 0;
    for (; t + 2 <= n; t += 2) {
        const uint8_t *xt = (const uint8_t *)x + (size_t)t * x_stride;
        rows4_matmul2(w, row_bytes, rows, nb, xt, xt + x_stride, out + (size_t)t * out_stride,
                      out + (size_t)(t + 1) * out_stride, term2, il);
    }
    if (t < n)
        rows4_matvec(w, row_bytes, rows, nb, (const uint8_t *)x + (size_t)t * x_stride, out + (size_t)t * out_stride,
                     term1, il);
}

#endif

#endif
