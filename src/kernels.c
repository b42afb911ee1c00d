#include "kernels.h"

#include <math.h>
#include <string.h>

#include "sampler.h" /* nu_expf: the same bits in every build */

#include "simd.h"

/* Summation order, shared by the scalar and SIMD code so both round identically:
 *  - float dot products keep 16 lanes, element i going to lane i % 16; the lanes are then
 *    reduced as s[l] = (a[l] + a[l+4]) + (a[l+8] + a[l+12]), result (s0 + s2) + (s1 + s3)
 *    (the natural reduction of four f32x4 accumulators);
 *  - quantized rows sum each 32-element block exactly in integers, scale it by
 *    d_w * d_x, and keep 4 lanes, block b going to lane b % 4, reduced as (a0 + a2) + (a1 + a3). */
#define F32_LANES 16

static float reduce4(const float *a) {
    return (a[0] + a[2]) + (a[1] + a[3]);
}

static float reduce16(const float *a) {
    float s[4];
    for (int l = 0; l < 4; l++)
        s[l] = (a[l] + a[l + 4]) + (a[l + 8] + a[l + 12]);
    return reduce4(s);
}

/* --- F32 and F16 rows -------------------------------------------------------------------- */

#ifdef NU_SIMD

/* reduce16 of the lanes held in four f32x4 accumulators (lanes 0-3, 4-7, 8-11, 12-15), in
 * registers: (a0 + a1) + (a2 + a3) lane-wise is reduce16's s[0..3], then (s0 + s2) + (s1 + s3). */
static inline float reduce16_simd(v128 a0, v128 a1, v128 a2, v128 a3) {
    v128 s = f32x4_add(f32x4_add(a0, a1), f32x4_add(a2, a3));
    v128 u = f32x4_add(s, i32x4_swap_halves(s));
    return f32x4_first(u) + f32x4_second(u);
}

/* Accumulates the first n - n % 16 products into acc[16]; returns how many it did, or, when
 * that is all of them, n with *done set to the reduced sum. */
static int64_t dot_f32_simd(const float *a, const float *b, int64_t n, float *acc, float *done) {
    v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + F32_LANES <= n; i += F32_LANES) {
        s0 = f32x4_add(s0, f32x4_mul(v128_load(a + i), v128_load(b + i)));
        s1 = f32x4_add(s1, f32x4_mul(v128_load(a + i + 4), v128_load(b + i + 4)));
        s2 = f32x4_add(s2, f32x4_mul(v128_load(a + i + 8), v128_load(b + i + 8)));
        s3 = f32x4_add(s3, f32x4_mul(v128_load(a + i + 12), v128_load(b + i + 12)));
    }
    if (i == n) {
        *done = reduce16_simd(s0, s1, s2, s3);
        return n;
    }
    v128_store(acc, s0);
    v128_store(acc + 4, s1);
    v128_store(acc + 8, s2);
    v128_store(acc + 12, s3);
    return i;
}

/* Four halves (in the low 16 bits of each u32 lane) to floats, exactly as nu_f16_to_f32. */
static inline v128 half4_to_float4(v128 h) {
    v128 mag = i32x4_shl(v128_and(h, i32x4_splat(0x7fff)), 13);
    v128 val = f32x4_mul(mag, f32x4_splat(0x1p112f));
    v128 special = i32x4_eq(v128_and(h, i32x4_splat(0x7c00)), i32x4_splat(0x7c00));
    v128 infnan = v128_or(i32x4_splat(0x7f800000), i32x4_shl(v128_and(h, i32x4_splat(0x3ff)), 13));
    v128 sign = i32x4_shl(v128_and(h, i32x4_splat(0x8000)), 16);
    return v128_or(sign, v128_bitselect(infnan, val, special));
}

static int64_t dot_f16_simd(const uint16_t *a, const float *b, int64_t n, float *acc, float *done) {
    v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + F32_LANES <= n; i += F32_LANES) {
        v128 h0 = v128_load(a + i), h1 = v128_load(a + i + 8);
        v128 w0 = half4_to_float4(u32x4_extend_low_u16x8(h0));
        v128 w1 = half4_to_float4(u32x4_extend_high_u16x8(h0));
        v128 w2 = half4_to_float4(u32x4_extend_low_u16x8(h1));
        v128 w3 = half4_to_float4(u32x4_extend_high_u16x8(h1));
        s0 = f32x4_add(s0, f32x4_mul(w0, v128_load(b + i)));
        s1 = f32x4_add(s1, f32x4_mul(w1, v128_load(b + i + 4)));
        s2 = f32x4_add(s2, f32x4_mul(w2, v128_load(b + i + 8)));
        s3 = f32x4_add(s3, f32x4_mul(w3, v128_load(b + i + 12)));
    }
    if (i == n) {
        *done = reduce16_simd(s0, s1, s2, s3);
        return n;
    }
    v128_store(acc, s0);
    v128_store(acc + 4, s1);
    v128_store(acc + 8, s2);
    v128_store(acc + 12, s3);
    return i;
}

#endif

float nu_dot(const float *a, const float *b, int64_t n) {
    float acc[F32_LANES] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    float sum;
    if ((i = dot_f32_simd(a, b, n, acc, &sum)) == n && n > 0)
        return sum;
#endif
    for (; i + F32_LANES <= n; i += F32_LANES) /* the SIMD loop's work, lane by lane */
        for (int l = 0; l < F32_LANES; l++)
            acc[l] += a[i + l] * b[i + l];
    for (; i < n; i++)
        acc[i % F32_LANES] += a[i] * b[i];
    return reduce16(acc);
}

static float dot_f16(const uint16_t *a, const float *b, int64_t n) {
    float acc[F32_LANES] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    float sum;
    if ((i = dot_f16_simd(a, b, n, acc, &sum)) == n && n > 0)
        return sum;
#endif
    for (; i + F32_LANES <= n; i += F32_LANES)
        for (int l = 0; l < F32_LANES; l++)
            acc[l] += nu_f16_to_f32(a[i + l]) * b[i + l];
    for (; i < n; i++)
        acc[i % F32_LANES] += nu_f16_to_f32(a[i]) * b[i];
    return reduce16(acc);
}

void nu_weighted_sum(float *out, const float *weights, const float *rows, int64_t stride, int64_t n_rows,
                     int64_t n) {
    int64_t i = 0;
#ifdef NU_SIMD
    /* 16 outputs stay in registers across all the rows */
    for (; i + 16 <= n; i += 16) {
        v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t t = 0; t < n_rows; t++) {
            const float *v = rows + t * stride + i;
            v128 w = f32x4_splat(weights[t]);
            s0 = f32x4_add(s0, f32x4_mul(w, v128_load(v)));
            s1 = f32x4_add(s1, f32x4_mul(w, v128_load(v + 4)));
            s2 = f32x4_add(s2, f32x4_mul(w, v128_load(v + 8)));
            s3 = f32x4_add(s3, f32x4_mul(w, v128_load(v + 12)));
        }
        v128_store(out + i, s0);
        v128_store(out + i + 4, s1);
        v128_store(out + i + 8, s2);
        v128_store(out + i + 12, s3);
    }
    for (; i + 4 <= n; i += 4) {
        v128 s0 = f32x4_splat(0.0f);
        for (int64_t t = 0; t < n_rows; t++)
            s0 = f32x4_add(s0, f32x4_mul(f32x4_splat(weights[t]), v128_load(rows + t * stride + i)));
        v128_store(out + i, s0);
    }
#endif
    for (; i < n; i++) {
        float sum = 0.0f;
        for (int64_t t = 0; t < n_rows; t++)
            sum += weights[t] * rows[t * stride + i];
        out[i] = sum;
    }
}

/* --- Q8_0 and Q4_0 rows against a Q8_0 vector --------------------------------------------- */

#ifndef NU_SIMD

static int32_t block_dot_q8(const NuBlockQ8_0 *w, const NuBlockQ8_0 *x) {
    int32_t sum = 0;
    for (int j = 0; j < NU_QK; j++)
        sum += (int32_t)w->qs[j] * x->qs[j];
    return sum;
}

static int32_t block_dot_q4(const NuBlockQ4_0 *w, const NuBlockQ8_0 *x) {
    int32_t sum = 0;
    for (int j = 0; j < NU_QK / 2; j++) {
        sum += ((w->qs[j] & 0x0f) - 8) * x->qs[j];
        sum += ((w->qs[j] >> 4) - 8) * x->qs[j + NU_QK / 2];
    }
    return sum;
}

static float dot_q8(const NuBlockQ8_0 *w, const NuBlockQ8_0 *x, int64_t nb) {
    float acc[4] = {0};
    for (int64_t b = 0; b < nb; b++) {
        float scale = nu_f16_to_f32(w[b].d) * nu_f16_to_f32(x[b].d);
        acc[b % 4] += scale * (float)block_dot_q8(w + b, x + b);
    }
    return reduce4(acc);
}

static float dot_q4(const NuBlockQ4_0 *w, const NuBlockQ8_0 *x, int64_t nb) {
    float acc[4] = {0};
    for (int64_t b = 0; b < nb; b++) {
        float scale = nu_f16_to_f32(w[b].d) * nu_f16_to_f32(x[b].d);
        acc[b % 4] += scale * (float)block_dot_q4(w + b, x + b);
    }
    return reduce4(acc);
}

/* One row at a time: the order the SIMD code reproduces four rows at a time. */
static void matvec_blocks(const NuTensor *w, const NuBlockQ8_0 *xq, float *out) {
    const int64_t nb = w->cols / NU_QK;
    for (int64_t r = 0; r < w->rows; r++)
        out[r] = w->type == NU_TYPE_Q8_0 ? dot_q8((const NuBlockQ8_0 *)w->data + r * nb, xq, nb)
                                         : dot_q4((const NuBlockQ4_0 *)w->data + r * nb, xq, nb);
}

#else

/* [sum(p0), sum(p1), sum(p2), sum(p3)]: integer, so exact in any order. */
static inline v128 hsum4_i32x4(v128 p0, v128 p1, v128 p2, v128 p3) {
    v128 a = i32x4_add(i32x4_zip_low(p0, p1), i32x4_zip_high(p0, p1));
    v128 b = i32x4_add(i32x4_zip_low(p2, p3), i32x4_zip_high(p2, p3));
    return i32x4_add(i64x2_low_halves(a, b), i64x2_high_halves(a, b));
}

/* Four halves as floats (lane k from h[k]), exactly as nu_f16_to_f32. */
static inline v128 halves4(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
    return half4_to_float4(u32x4_make(h0, h1, h2, h3));
}

/* Four rows at a time, the rows in the lanes: block b of row k adds d_w * d_x * isum to lane k
 * of acc[b % 4], which is exactly what dot_q8 / dot_q4 add to their acc[b % 4] for that row.
 * The activation block is loaded and widened once for the four rows, and the final
 * (a0 + a2) + (a1 + a3) is four vertical adds. */
static inline void acc4_add(v128 *acc, v128 isum, v128 dw, float dx) {
    v128 scale = f32x4_mul(dw, f32x4_splat(dx));
    *acc = f32x4_add(*acc, f32x4_mul(scale, f32x4_convert_i32x4(isum)));
}

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

/* The activation block widened to i16: elements 0-7, 8-15, 16-23, 24-31. */
typedef struct {
    v128 x[4];
    float d;
} WideBlock;

static inline WideBlock widen_block(const NuBlockQ8_0 *x) {
    v128 x0 = v128_load(x->qs), x1 = v128_load(x->qs + 16);
    return (WideBlock){{i16x8_extend_low_i8x16(x0), i16x8_extend_high_i8x16(x0),
                        i16x8_extend_low_i8x16(x1), i16x8_extend_high_i8x16(x1)},
                       nu_f16_to_f32(x->d)};
}

static inline v128 wide_dot_q8(const NuBlockQ8_0 *w, const WideBlock *x) {
    v128 w0 = v128_load(w->qs), w1 = v128_load(w->qs + 16);
    v128 a = i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(w0), x->x[0]),
                       i32x4_dot_i16x8(i16x8_extend_high_i8x16(w0), x->x[1]));
    v128 b = i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(w1), x->x[2]),
                       i32x4_dot_i16x8(i16x8_extend_high_i8x16(w1), x->x[3]));
    return i32x4_add(a, b);
}

static inline v128 wide_dot_q4(const NuBlockQ4_0 *w, const WideBlock *x) {
    v128 q = v128_load(w->qs), eight = i8x16_splat(8);
    v128 lo = i8x16_sub(v128_and(q, i8x16_splat(0x0f)), eight);
    v128 hi = i8x16_sub(u8x16_shr4(q), eight);
    v128 a = i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(lo), x->x[0]),
                       i32x4_dot_i16x8(i16x8_extend_high_i8x16(lo), x->x[1]));
    v128 b = i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(hi), x->x[2]),
                       i32x4_dot_i16x8(i16x8_extend_high_i8x16(hi), x->x[3]));
    return i32x4_add(a, b);
}

/* out[0..n) for the n <= 4 rows starting at `rows` (nb blocks each); rows past n repeat the
 * last one so every lane does real work, and are not stored. Block b adds into a0, then the
 * accumulators rotate, so a0 always holds the blocks of the next block's class b % 4. After
 * the loop {a0, a2} is {acc[0], acc[2]} or {acc[1], acc[3]} whatever nb is, so
 * (a0 + a2) + (a1 + a3) is (acc[0] + acc[2]) + (acc[1] + acc[3]) up to the order of the
 * operands of an addition, which does not change its bits (only which NaN comes out when two
 * meet, and wasm promises no NaN's bits anyway). */
static void matvec4_q8(const NuBlockQ8_0 *rows, int64_t nb, int n, const NuBlockQ8_0 *x, float *out) {
    const NuBlockQ8_0 *r0 = rows, *r1 = rows + (n > 1) * nb, *r2 = rows + (n > 2 ? 2 : n - 1) * nb;
    const NuBlockQ8_0 *r3 = rows + (n - 1) * nb;
    v128 a0 = f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t b = 0; b < nb; b++) {
        WideBlock xw = widen_block(x + b);
        v128 isum = hsum4_i32x4(wide_dot_q8(r0 + b, &xw), wide_dot_q8(r1 + b, &xw), wide_dot_q8(r2 + b, &xw),
                                  wide_dot_q8(r3 + b, &xw));
        v128 next = a0;
        acc4_add(&next, isum, halves4(r0[b].d, r1[b].d, r2[b].d, r3[b].d), xw.d);
        a0 = a1;
        a1 = a2;
        a2 = a3;
        a3 = next;
    }
    acc4_store(a0, a1, a2, a3, out, n);
}

static void matvec4_q4(const NuBlockQ4_0 *rows, int64_t nb, int n, const NuBlockQ8_0 *x, float *out) {
    const NuBlockQ4_0 *r0 = rows, *r1 = rows + (n > 1) * nb, *r2 = rows + (n > 2 ? 2 : n - 1) * nb;
    const NuBlockQ4_0 *r3 = rows + (n - 1) * nb;
    v128 a0 = f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t b = 0; b < nb; b++) {
        WideBlock xw = widen_block(x + b);
        v128 isum = hsum4_i32x4(wide_dot_q4(r0 + b, &xw), wide_dot_q4(r1 + b, &xw), wide_dot_q4(r2 + b, &xw),
                                  wide_dot_q4(r3 + b, &xw));
        v128 next = a0;
        acc4_add(&next, isum, halves4(r0[b].d, r1[b].d, r2[b].d, r3[b].d), xw.d);
        a0 = a1;
        a1 = a2;
        a2 = a3;
        a3 = next;
    }
    acc4_store(a0, a1, a2, a3, out, n);
}

static void matvec_blocks(const NuTensor *w, const NuBlockQ8_0 *xq, float *out) {
    const int64_t nb = w->cols / NU_QK;
    for (int64_t r = 0; r < w->rows; r += 4) {
        int n = w->rows - r < 4 ? (int)(w->rows - r) : 4;
        if (w->type == NU_TYPE_Q8_0)
            matvec4_q8((const NuBlockQ8_0 *)w->data + r * nb, nb, n, xq, out + r);
        else
            matvec4_q4((const NuBlockQ4_0 *)w->data + r * nb, nb, n, xq, out + r);
    }
}

#endif

/* --- entry points ------------------------------------------------------------------------- */

void nu_matvec(const NuTensor *w, const float *x, const NuBlockQ8_0 *xq, float *out) {
    switch (w->type) {
    case NU_TYPE_F32:
        for (int64_t r = 0; r < w->rows; r++)
            out[r] = nu_dot((const float *)w->data + r * w->cols, x, w->cols);
        return;
    case NU_TYPE_F16:
        for (int64_t r = 0; r < w->rows; r++)
            out[r] = dot_f16((const uint16_t *)w->data + r * w->cols, x, w->cols);
        return;
    case NU_TYPE_Q8_0:
    case NU_TYPE_Q4_0: matvec_blocks(w, xq, out); return;
    }
    memset(out, 0, (size_t)(w->rows > 0 ? w->rows : 0) * sizeof *out);
}

void nu_embedding_row(const NuTensor *t, int64_t row, float *out) {
    size_t row_bytes = nu_row_bytes(t->type, t->cols);
    if (row_bytes == 0 || row < 0 || row >= t->rows) {
        memset(out, 0, (size_t)(t->cols > 0 ? t->cols : 0) * sizeof *out);
        return;
    }
    nu_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)row * row_bytes, out, t->cols);
}

void nu_axpy(float *y, float a, const float *x, int64_t n) {
    int64_t i = 0;
#ifdef NU_SIMD
    v128 va = f32x4_splat(a);
    for (; i + 4 <= n; i += 4)
        v128_store(y + i, f32x4_add(v128_load(y + i), f32x4_mul(va, v128_load(x + i))));
#endif
    for (; i < n; i++)
        y[i] += a * x[i];
}

void nu_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    float ms = nu_dot(x, x, n) / (float)n;
    float scale = 1.0f / sqrtf(ms + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = weight[i] * (scale * x[i]);
}

void nu_softmax(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = nu_expf(x[i] - max);
        sum += x[i];
    }
    for (int64_t i = 0; i < n; i++)
        x[i] /= sum;
}
