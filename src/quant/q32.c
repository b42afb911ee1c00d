/* The 32-element block family: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 weights, and the Q8_0 / Q8_1
 * activations they pair with (as ggml: Q8_0 against Q4_0, Q5_0, Q8_0; Q8_1 against Q4_1,
 * Q5_1, whose offset m meets the activation's s = d * sum(q)).
 *
 * Each block's dot product is taken in integers, as ggml does: an i8 -> i16 widen plus
 * i32x4.dot_i16x8 (pmaddwd in SSE) does 8 multiply-adds per instruction, where the float
 * path would need a widen, a convert and a multiply per 4 weights. A block's float term is
 *   (d_w * d_x) * isum                 for the Q8_0 pairings,
 *   (d_w * d_x) * isum + m_w * s_x     for the Q8_1 pairings,
 * added in lane b % 4 (util.h has the order). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "quant/family.h"
#include "quant/util.h"

/* --- quantizers ------------------------------------------------------------------------- */

/* ggml's (int)(v) for a level v that is in [0, max] for finite input; NaN and negatives give
 * 0 and anything larger max, so non-finite input never reaches an undefined conversion. */
static int trunc_level(float v, int max) {
    if (!(v >= 0.0f))
        return 0;
    return v >= (float)max ? max : (int)v;
}

#ifdef NU_SIMD

/* Largest |x| of the block's 32 floats, NaN ignored (pmax keeps the accumulator when the
 * comparison fails), as the scalar loop: the maximum of a set does not depend on the order. */
static float block_amax(const float *x) {
    v128 m = f32x4_splat(0.0f);
    for (int j = 0; j < NU_QK; j += 4)
        m = f32x4_pmax(m, f32x4_abs(v128_load(x + j)));
    m = f32x4_pmax(m, i32x4_swap_halves(m));
    m = f32x4_pmax(m, i32x4_swap_pairs(m));
    return f32x4_first(m);
}

/* roundf(x * id) clamped to [-127, 127] (NaN to 0) as i32 lanes. roundf rounds halves away
 * from zero: v - trunc(v) is exact, so comparing its magnitude with 0.5 decides it exactly.
 * With `even`, halves go to the even neighbour instead (f32x4_nearest). */
static v128 round_q8(v128 x, v128 id, int even) {
    v128 v = f32x4_mul(x, id), r;
    if (even) {
        r = f32x4_nearest(v);
    } else {
        v128 t = f32x4_trunc(v);
        v128 away = f32x4_ge(f32x4_abs(f32x4_sub(v, t)), f32x4_splat(0.5f));
        v128 one = v128_or(f32x4_splat(1.0f), v128_and(v, i32x4_splat((int32_t)0x80000000)));
        r = f32x4_add(t, v128_and(away, one));
    }
    v128 q = i32x4_trunc_sat_f32x4(r); /* NaN -> 0, infinities saturate */
    return i32x4_max(i32x4_min(q, i32x4_splat(127)), i32x4_splat(-127));
}
#endif

/* One Q8 block of 32 floats: d = amax / 127 (stored as a half) and the levels, in one of two
 * ways ggml has:
 *  - reference (files; quantize_row_q8_0_ref): q = roundf(x * (1 / d)), halves away from 0;
 *  - input (what ggml-cpu's x86 quantize_row_q8_0/q8_1 do to a matmul's input vector):
 *    q = x * (127 / amax) rounded half to even.
 * Returns the float d (Q8_1's sum uses it). The SIMD builds compute the same amax and the same
 * rounded values four at a time. */
static float quantize_block_q8(const float *xb, uint16_t *dh, int8_t *qs, int input) {
#ifdef NU_SIMD
    float amax = block_amax(xb);
#else
    float amax = 0.0f;
    for (int j = 0; j < NU_QK; j++) {
        float a = fabsf(xb[j]);
        if (a > amax)
            amax = a;
    }
#endif
    float d = amax / 127.0f;
    float id = input ? (amax != 0.0f ? 127.0f / amax : 0.0f) : (d != 0.0f ? 1.0f / d : 0.0f);
    *dh = nu_f32_to_f16(d);
#ifdef NU_SIMD
    v128 vid = f32x4_splat(id);
    for (int j = 0; j < NU_QK; j += 16) {
        v128 q01 = i16x8_narrow_i32x4(round_q8(v128_load(xb + j), vid, input),
                                      round_q8(v128_load(xb + j + 4), vid, input));
        v128 q23 = i16x8_narrow_i32x4(round_q8(v128_load(xb + j + 8), vid, input),
                                      round_q8(v128_load(xb + j + 12), vid, input));
        v128_store(qs + j, i8x16_narrow_i16x8(q01, q23));
    }
#else
    for (int j = 0; j < NU_QK; j++) {
        /* rintf rounds halves to even (the default rounding mode, which nothing here changes) */
        float v = input ? rintf(xb[j] * id) : roundf(xb[j] * id);
        /* Finite inputs always land in [-127, 127]; the test only keeps NaN and infinity
         * (possible with non-finite input) from reaching the conversion. */
        qs[j] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : (v > 0.0f ? 127 : v < 0.0f ? -127 : 0));
    }
#endif
    return d;
}

void nu_quantize_row_q8_0(const float *x, NuBlockQ8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++)
        quantize_block_q8(x + b * NU_QK, &y[b].d, y[b].qs, 0);
}

/* Q8_0 as ggml-cpu quantizes a matmul's input (see quantize_block_q8). */
static void quantize_input_q8_0(const float *x, NuBlockQ8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++)
        quantize_block_q8(x + b * NU_QK, &y[b].d, y[b].qs, 1);
}

/* Q8_1: Q8_0's d and q, and s = half((float)sum(q) * d) with the float d; `input` as above. */
static void quantize_row_q8_1(const float *x, NuBlockQ8_1 *y, int64_t n, int input) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = quantize_block_q8(x + b * NU_QK, &y[b].d, y[b].qs, input);
        int sum = 0;
        for (int j = 0; j < NU_QK; j++)
            sum += y[b].qs[j];
        y[b].s = nu_f32_to_f16((float)sum * d);
    }
}

/* The block's min and max (NaN ignored), as ggml's Q4_1/Q5_1 find them. */
static void block_min_max(const float *xb, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < NU_QK; j++) {
        if (xb[j] < *min)
            *min = xb[j];
        if (xb[j] > *max)
            *max = xb[j];
    }
}

/* ggml's reference Q4_0: d = m / -8 where m is the element of largest magnitude, so m itself
 * maps exactly to level 0 and the range is used asymmetrically; level = trunc(x/d + 8.5). */
void nu_quantize_row_q4_0(const float *x, NuBlockQ4_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
        float d = signed_absmax(xb, NU_QK) / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = nu_f32_to_f16(d);
        for (int j = 0; j < NU_QK / 2; j++) {
            int lo = trunc_level(xb[j] * id + 8.5f, 15), hi = trunc_level(xb[j + NU_QK / 2] * id + 8.5f, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* ggml's reference Q4_1: d = (max - min) / 15, m = min, level = trunc((x - min) / d + 0.5). */
static void quantize_row_q4_1(const float *x, NuBlockQ4_1 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
        float min, max;
        block_min_max(xb, &min, &max);
        float d = (max - min) / 15.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = nu_f32_to_f16(d);
        y[b].m = nu_f32_to_f16(min);
        for (int j = 0; j < NU_QK / 2; j++) {
            int lo = trunc_level((xb[j] - min) * id + 0.5f, 15);
            int hi = trunc_level((xb[j + NU_QK / 2] - min) * id + 0.5f, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* Packs 32 five-bit levels as Q5_0/Q5_1 hold them: low nibbles in qs, bit 4 of level j in
 * bit j of qh. */
static void pack_q5(const int *level, uint8_t *qs, uint8_t qh[4]) {
    uint32_t h = 0;
    for (int j = 0; j < NU_QK / 2; j++) {
        qs[j] = (uint8_t)((level[j] & 15) | (level[j + NU_QK / 2] & 15) << 4);
        h |= (uint32_t)(level[j] >> 4) << j | (uint32_t)(level[j + NU_QK / 2] >> 4) << (j + NU_QK / 2);
    }
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(h >> (8 * k));
}

/* ggml's reference Q5_0: as Q4_0 with d = m / -16 and level = trunc(x/d + 16.5), at most 31. */
static void quantize_row_q5_0(const float *x, NuBlockQ5_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
        float d = signed_absmax(xb, NU_QK) / -16.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int level[NU_QK];
        y[b].d = nu_f32_to_f16(d);
        for (int j = 0; j < NU_QK; j++)
            level[j] = trunc_level(xb[j] * id + 16.5f, 31);
        pack_q5(level, y[b].qs, y[b].qh);
    }
}

/* ggml's reference Q5_1: as Q4_1 with d = (max - min) / 31. */
static void quantize_row_q5_1(const float *x, NuBlockQ5_1 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
        float min, max;
        block_min_max(xb, &min, &max);
        float d = (max - min) / 31.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int level[NU_QK];
        y[b].d = nu_f32_to_f16(d);
        y[b].m = nu_f32_to_f16(min);
        for (int j = 0; j < NU_QK; j++)
            level[j] = trunc_level((xb[j] - min) * id + 0.5f, 31);
        pack_q5(level, y[b].qs, y[b].qh);
    }
}

void nu_q8_0_from_float(const float *src, void *dst, int64_t n) { nu_quantize_row_q8_0(src, dst, n); }
void nu_q8_0_from_float_input(const float *src, void *dst, int64_t n) { quantize_input_q8_0(src, dst, n); }
void nu_q8_1_from_float(const float *src, void *dst, int64_t n) { quantize_row_q8_1(src, dst, n, 0); }
void nu_q8_1_from_float_input(const float *src, void *dst, int64_t n) { quantize_row_q8_1(src, dst, n, 1); }
void nu_q4_0_from_float(const float *src, void *dst, int64_t n) { nu_quantize_row_q4_0(src, dst, n); }
void nu_q4_1_from_float(const float *src, void *dst, int64_t n) { quantize_row_q4_1(src, dst, n); }
void nu_q5_0_from_float(const float *src, void *dst, int64_t n) { quantize_row_q5_0(src, dst, n); }
void nu_q5_1_from_float(const float *src, void *dst, int64_t n) { quantize_row_q5_1(src, dst, n); }

/* --- dequantize (as ggml: level * d, or level * d + m) ----------------------------------- */

static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* Level j (0..31) of a Q5 block. */
static int q5_level(const uint8_t *qs, uint32_t qh, int j) {
    int nib = j < NU_QK / 2 ? qs[j] & 15 : qs[j - NU_QK / 2] >> 4;
    return nib | (int)((qh >> j) & 1) << 4;
}

void nu_q8_0_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ8_0 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d);
        for (int j = 0; j < NU_QK; j++)
            dst[b * NU_QK + j] = (float)blk[b].qs[j] * d;
    }
}

void nu_q8_1_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ8_1 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d);
        for (int j = 0; j < NU_QK; j++)
            dst[b * NU_QK + j] = (float)blk[b].qs[j] * d;
    }
}

void nu_q4_0_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ4_0 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d);
        for (int j = 0; j < NU_QK / 2; j++) {
            dst[b * NU_QK + j] = (float)((blk[b].qs[j] & 15) - 8) * d;
            dst[b * NU_QK + j + NU_QK / 2] = (float)((blk[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void nu_q4_1_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ4_1 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d), m = nu_f16_to_f32(blk[b].m);
        for (int j = 0; j < NU_QK / 2; j++) {
            dst[b * NU_QK + j] = (float)(blk[b].qs[j] & 15) * d + m;
            dst[b * NU_QK + j + NU_QK / 2] = (float)(blk[b].qs[j] >> 4) * d + m;
        }
    }
}

void nu_q5_0_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ5_0 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d);
        uint32_t qh = load_qh(blk[b].qh);
        for (int j = 0; j < NU_QK; j++)
            dst[b * NU_QK + j] = (float)(q5_level(blk[b].qs, qh, j) - 16) * d;
    }
}

void nu_q5_1_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ5_1 *blk = src;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        float d = nu_f16_to_f32(blk[b].d), m = nu_f16_to_f32(blk[b].m);
        uint32_t qh = load_qh(blk[b].qh);
        for (int j = 0; j < NU_QK; j++)
            dst[b * NU_QK + j] = (float)q5_level(blk[b].qs, qh, j) * d + m;
    }
}

/* --- products --------------------------------------------------------------------------- */

#ifndef NU_SIMD

static float term_q8_0(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ8_0 *w = (const NuBlockQ8_0 *)(const void *)row + b, *a = (const NuBlockQ8_0 *)x + b;
    int32_t isum = 0;
    for (int j = 0; j < NU_QK; j++)
        isum += (int32_t)w->qs[j] * a->qs[j];
    return (nu_f16_to_f32(w->d) * nu_f16_to_f32(a->d)) * (float)isum;
}

static float term_q4_0(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ4_0 *w = (const NuBlockQ4_0 *)(const void *)row + b;
    const NuBlockQ8_0 *a = (const NuBlockQ8_0 *)x + b;
    int32_t isum = 0;
    for (int j = 0; j < NU_QK / 2; j++)
        isum += ((w->qs[j] & 15) - 8) * a->qs[j] + ((w->qs[j] >> 4) - 8) * a->qs[j + NU_QK / 2];
    return (nu_f16_to_f32(w->d) * nu_f16_to_f32(a->d)) * (float)isum;
}

static float term_q4_1(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ4_1 *w = (const NuBlockQ4_1 *)(const void *)row + b;
    const NuBlockQ8_1 *a = (const NuBlockQ8_1 *)x + b;
    int32_t isum = 0;
    for (int j = 0; j < NU_QK / 2; j++)
        isum += (w->qs[j] & 15) * a->qs[j] + (w->qs[j] >> 4) * a->qs[j + NU_QK / 2];
    return (nu_f16_to_f32(w->d) * nu_f16_to_f32(a->d)) * (float)isum + nu_f16_to_f32(w->m) * nu_f16_to_f32(a->s);
}

static float term_q5_0(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ5_0 *w = (const NuBlockQ5_0 *)(const void *)row + b;
    const NuBlockQ8_0 *a = (const NuBlockQ8_0 *)x + b;
    uint32_t qh = load_qh(w->qh);
    int32_t isum = 0;
    for (int j = 0; j < NU_QK; j++)
        isum += (q5_level(w->qs, qh, j) - 16) * a->qs[j];
    return (nu_f16_to_f32(w->d) * nu_f16_to_f32(a->d)) * (float)isum;
}

static float term_q5_1(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ5_1 *w = (const NuBlockQ5_1 *)(const void *)row + b;
    const NuBlockQ8_1 *a = (const NuBlockQ8_1 *)x + b;
    uint32_t qh = load_qh(w->qh);
    int32_t isum = 0;
    for (int j = 0; j < NU_QK; j++)
        isum += q5_level(w->qs, qh, j) * a->qs[j];
    return (nu_f16_to_f32(w->d) * nu_f16_to_f32(a->d)) * (float)isum + nu_f16_to_f32(w->m) * nu_f16_to_f32(a->s);
}

/* the driver of a matvec: rows one at a time */
#define DRIVE(T, w, row_bytes, rows, cols, x, out, il) rows1_matvec(w, row_bytes, rows, (cols) / NU_QK, x, out, term_##T, il)

#else

/* The 16 signed bytes of nibbles: low nibbles (elements 0-15) and high (16-31). */
static inline v128 low_nibbles(v128 q) { return v128_and(q, i8x16_splat(0x0f)); }

/* BIT4_BYTES(i): 0x10 in byte k of a u64 where bit k of i is set. */
#define BIT4_BYTE(i, k) ((uint64_t)(((i) >> (k)) & 1) << (8 * (k) + 4))
#define BIT4_BYTES(i)                                                                                      \
    (BIT4_BYTE(i, 0) | BIT4_BYTE(i, 1) | BIT4_BYTE(i, 2) | BIT4_BYTE(i, 3) | BIT4_BYTE(i, 4) |              \
     BIT4_BYTE(i, 5) | BIT4_BYTE(i, 6) | BIT4_BYTE(i, 7))
#define BIT4_4(i) BIT4_BYTES(i), BIT4_BYTES(i + 1), BIT4_BYTES(i + 2), BIT4_BYTES(i + 3)
#define BIT4_16(i) BIT4_4(i), BIT4_4(i + 4), BIT4_4(i + 8), BIT4_4(i + 12)
#define BIT4_64(i) BIT4_16(i), BIT4_16(i + 16), BIT4_16(i + 32), BIT4_16(i + 48)
/* Bit 4 of eight levels from a byte of qh by one lookup (2 KiB, cache-resident): two loads
 * cost less than spreading the bits over the bytes with a swizzle, a mask and a compare. */
static const uint64_t bit4_bytes[256] = {BIT4_64(0), BIT4_64(64), BIT4_64(128), BIT4_64(192)};

/* 0x10 in byte j where bit (first + j) of qh is set, for j < 16: bit 4 of those levels. */
static inline v128 q5_bit4(uint32_t qh, int first) {
    return u64x2_load2(&bit4_bytes[qh >> first & 255], &bit4_bytes[qh >> (first + 8) & 255]);
}

static inline v128 dot_q8_0(const NuBlockQ8_0 *w, const Wide32 *x) {
    Wide32 q = widen32(w->qs);
    return wide32_dot(&q, x);
}

/* (d_w * d_x) * isum for the four rows: their halves d_w and the activations' d_x become
 * floats in one 8-half conversion (lanes 4-7 of it are d_x), not halves4 plus a scalar one. */
static inline v128 scaled4(v128 isum, uint16_t d0, uint16_t d1, uint16_t d2, uint16_t d3, uint16_t dx) {
    uint32_t x2 = dx * 0x10001u;
    v128 dw, vx;
    f16x8_to_f32(u32x4_make(d0 | (uint32_t)d1 << 16, d2 | (uint32_t)d3 << 16, x2, x2), &dw, &vx);
    return f32x4_mul(f32x4_mul(dw, vx), f32x4_convert_i32x4(isum));
}

/* scaled4 for two inputs (isum0 against d_x0, isum1 against d_x1) with one conversion: the four
 * rows' d_w and lanes 4-7 d_x0, d_x0, d_x1, d_x1. */
static inline void scaled4x2(v128 isum0, v128 isum1, uint16_t d0, uint16_t d1, uint16_t d2, uint16_t d3,
                             uint16_t dx0, uint16_t dx1, v128 *t0, v128 *t1) {
    v128 dw, dx;
    f16x8_to_f32(u32x4_make(d0 | (uint32_t)d1 << 16, d2 | (uint32_t)d3 << 16, dx0 * 0x10001u, dx1 * 0x10001u), &dw, &dx);
    *t0 = f32x4_mul(f32x4_mul(dw, i32x4_broadcast(dx, 0)), f32x4_convert_i32x4(isum0));
    *t1 = f32x4_mul(f32x4_mul(dw, i32x4_broadcast(dx, 2)), f32x4_convert_i32x4(isum1));
}

/* (d_w * d_x) * isum + m_w * s_x for four Q4_1/Q5_1 blocks, which open with the halves d and
 * m: one 8-half conversion of the blocks' first 4 bytes, d in the even lanes, m in the odd. */
static inline v128 scaled4_m(v128 isum, const void *b0, const void *b1, const void *b2, const void *b3,
                             const NuBlockQ8_1 *a) {
    uint32_t u[4];
    memcpy(&u[0], b0, 4), memcpy(&u[1], b1, 4), memcpy(&u[2], b2, 4), memcpy(&u[3], b3, 4);
    v128 lo, hi;
    f16x8_to_f32(u32x4_make(u[0], u[1], u[2], u[3]), &lo, &hi);
    v128 d = i32x4_evens(lo, hi), m = i32x4_odds(lo, hi);
    v128 offset = f32x4_mul(m, f32x4_splat(nu_f16_to_f32(a->s)));
    return f32x4_add(f32x4_mul(f32x4_mul(d, f32x4_splat(nu_f16_to_f32(a->d))), f32x4_convert_i32x4(isum)), offset);
}

/* Block b of the four rows of type W against activation blocks A: the activations prepared
 * once (ACT), each row's integer sum (dot_T), then the float term (SCALE). */
#define TERM4(T, W, A, X, ACT, SCALE)                                                                      \
    static inline __attribute__((always_inline)) v128 term4_##T(const uint8_t *const r[4], int64_t b, const void *x) { \
        const A *a = (const A *)x + b;                                                                    \
        const W *w0 = (const W *)(const void *)r[0] + b, *w1 = (const W *)(const void *)r[1] + b;         \
        const W *w2 = (const W *)(const void *)r[2] + b, *w3 = (const W *)(const void *)r[3] + b;         \
        X xa = ACT;                                                                                       \
        v128 isum = hsum4_i32x4(dot_##T(w0, &xa), dot_##T(w1, &xa), dot_##T(w2, &xa), dot_##T(w3, &xa));   \
        return SCALE;                                                                                     \
    }
#define SCALED4 scaled4(isum, w0->d, w1->d, w2->d, w3->d, a->d)
#define SCALED4_M scaled4_m(isum, w0, w1, w2, w3, a)

TERM4(q8_0, NuBlockQ8_0, NuBlockQ8_0, Wide32, widen32(a->qs), SCALED4)

/* A block's 32 levels: elements 0-15 in lo, 16-31 in hi */
typedef struct {
    v128 lo, hi;
} Levels32;

static inline Levels32 nibble_levels(const uint8_t *qs) {
    v128 q = v128_load(qs);
    return (Levels32){low_nibbles(q), u8x16_shr4(q)};
}

static inline Levels32 five_levels(const uint8_t *qs, const uint8_t *qh_bytes) {
    v128 q = v128_load(qs);
    uint32_t qh = load_qh(qh_bytes);
    return (Levels32){v128_or(low_nibbles(q), q5_bit4(qh, 0)), v128_or(u8x16_shr4(q), q5_bit4(qh, 16))};
}

static inline Levels32 levels_q4_0(const NuBlockQ4_0 *w) { return nibble_levels(w->qs); }
static inline Levels32 levels_q5_0(const NuBlockQ5_0 *w) { return five_levels(w->qs, w->qh); }
static inline Levels32 levels_q5_1(const NuBlockQ5_1 *w) { return five_levels(w->qs, w->qh); }

#ifdef NU_RELAXED

/* Relaxed SIMD (simd.h): the levels, all in [0, 31], are the i7 operands of byte dot products
 * against the activations as they are, 16 multiply-adds an instruction with no widening. A
 * block's i16 pair sums stay below 2 * 2 * 31 * 127 in magnitude, and the offset of Q4_0 and
 * Q5_0 (level - 8, - 16) comes off them as `bias`, 8 or 16 times the activations' pair sums,
 * found once for the four rows. */
typedef struct {
    v128 lo, hi, bias; /* elements 0-15, 16-31; the offset's pair sums */
} Bytes32;

static inline Bytes32 bytes32(const int8_t *qs, int offset_shift) {
    v128 lo = v128_load(qs), hi = v128_load(qs + 16), one = i8x16_splat(1);
    v128 pairs = i16x8_add(i16x8_dot_i8x16_i7x16(lo, one), i16x8_dot_i8x16_i7x16(hi, one));
    return (Bytes32){lo, hi, offset_shift ? i16x8_shl(pairs, offset_shift) : i16x8_splat(0)};
}

/* i32x4 partials of the 32 levels (lo: elements 0-15, hi: 16-31) . x, less the offset */
static inline v128 levels_dot32(v128 lo, v128 hi, const Bytes32 *x) {
    v128 p = i16x8_add(i16x8_dot_i8x16_i7x16(x->lo, lo), i16x8_dot_i8x16_i7x16(x->hi, hi));
    return i32x4_dot_i16x8(i16x8_sub(p, x->bias), i16x8_splat(1));
}

/* (Q4_1's levels only here: the SIMD128 kernel reads its nibbles as i16 lanes) */
static inline Levels32 levels_q4_1(const NuBlockQ4_1 *w) { return nibble_levels(w->qs); }

static inline v128 dot_levels(Levels32 l, const Bytes32 *x) { return levels_dot32(l.lo, l.hi, x); }
static inline v128 dot_q4_0(const NuBlockQ4_0 *w, const Bytes32 *x) { return dot_levels(levels_q4_0(w), x); }
static inline v128 dot_q4_1(const NuBlockQ4_1 *w, const Bytes32 *x) { return dot_levels(levels_q4_1(w), x); }
static inline v128 dot_q5_0(const NuBlockQ5_0 *w, const Bytes32 *x) { return dot_levels(levels_q5_0(w), x); }
static inline v128 dot_q5_1(const NuBlockQ5_1 *w, const Bytes32 *x) { return dot_levels(levels_q5_1(w), x); }

TERM4(q4_0, NuBlockQ4_0, NuBlockQ8_0, Bytes32, bytes32(a->qs, 3), SCALED4)
TERM4(q5_0, NuBlockQ5_0, NuBlockQ8_0, Bytes32, bytes32(a->qs, 4), SCALED4)
TERM4(q4_1, NuBlockQ4_1, NuBlockQ8_1, Bytes32, bytes32(a->qs, 0), SCALED4_M)
TERM4(q5_1, NuBlockQ5_1, NuBlockQ8_1, Bytes32, bytes32(a->qs, 0), SCALED4_M)

/* The batched product straight from the packed rows (no unpacked tile: the levels cost two to
 * four instructions per 16 to find, against a byte dot product per input): block b of the four
 * rows against two inputs, each row's levels found once for both, each (row, input) with
 * term4_T's integer sums and float term. */
#define TERM4X2(T, W, A, ACT, SCALE2)                                                                      \
    static void term4x2_##T(const uint8_t *const r[4], int64_t b, const void *x0, const void *x1, v128 *t0, \
                            v128 *t1) {                                                                   \
        const A *a0 = (const A *)x0 + b, *a1 = (const A *)x1 + b;                                         \
        const W *w0 = (const W *)(const void *)r[0] + b, *w1 = (const W *)(const void *)r[1] + b;         \
        const W *w2 = (const W *)(const void *)r[2] + b, *w3 = (const W *)(const void *)r[3] + b;         \
        Bytes32 xa0 = ACT(a0), xa1 = ACT(a1);                                                             \
        Levels32 l0 = levels_##T(w0), l1 = levels_##T(w1), l2 = levels_##T(w2), l3 = levels_##T(w3);     \
        v128 i0 = hsum4_i32x4(dot_levels(l0, &xa0), dot_levels(l1, &xa0), dot_levels(l2, &xa0), dot_levels(l3, &xa0)); \
        v128 i1 = hsum4_i32x4(dot_levels(l0, &xa1), dot_levels(l1, &xa1), dot_levels(l2, &xa1), dot_levels(l3, &xa1)); \
        SCALE2;                                                                                           \
    }
#define SCALED4X2 scaled4x2(i0, i1, w0->d, w1->d, w2->d, w3->d, a0->d, a1->d, t0, t1)
#define SCALED4X2_M (*t0 = scaled4_m(i0, w0, w1, w2, w3, a0), *t1 = scaled4_m(i1, w0, w1, w2, w3, a1))
#define ACT_Q4_0(a) bytes32((a)->qs, 3)
#define ACT_Q5_0(a) bytes32((a)->qs, 4)
#define ACT_Q8_1(a) bytes32((a)->qs, 0)
TERM4X2(q4_0, NuBlockQ4_0, NuBlockQ8_0, ACT_Q4_0, SCALED4X2)
TERM4X2(q5_0, NuBlockQ5_0, NuBlockQ8_0, ACT_Q5_0, SCALED4X2)
TERM4X2(q4_1, NuBlockQ4_1, NuBlockQ8_1, ACT_Q8_1, SCALED4X2_M)
TERM4X2(q5_1, NuBlockQ5_1, NuBlockQ8_1, ACT_Q8_1, SCALED4X2_M)

#else

/* Q4_0 and Q4_1 read their 16 bytes of nibbles as i16 lanes, no widening: lane i holds
 * element 2i (bits 0-3), 16 + 2i (bits 4-7), 2i + 1 (bits 8-11) and 17 + 2i (bits 12-15).
 * Masked in place, each is its level times 1, 16, 256 and 1; the activations come shifted
 * to make every product 256 * level * x (x << 8 fits in i16 for any i8 x), and the block's
 * i32 sum, a multiple of 256, is shifted back exactly. */
typedef struct {
    v128 x[4]; /* elements 0,2..14 << 8; 16,18..30 << 4; 1,3..15; 17,19..31 << 8 */
    v128 bias; /* i32x4 partials of 256 * the offset * sum(x): Q4_0's level - 8 */
} Nib32;

static inline Nib32 nib32(const int8_t *qs, int offset) {
    v128 a = v128_load(qs), b = v128_load(qs + 16);
    Nib32 n = {{i16x8_shl(a, 8), i16x8_shr(i16x8_shl(b, 8), 4), i16x8_shr(a, 8), v128_and(b, i16x8_splat((int16_t)0xff00))},
               i32x4_splat(0)};
    if (offset) {
        v128 s = i16x8_add(i16x8_add(i16x8_shr(n.x[0], 8), i16x8_shr(n.x[1], 4)), i16x8_add(n.x[2], i16x8_shr(n.x[3], 8)));
        n.bias = i32x4_dot_i16x8(s, i16x8_splat((int16_t)(256 * offset)));
    }
    return n;
}

/* 256 * (the 32 levels . x) as i32x4 partials, less the bias (shifted back after the sum) */
static inline v128 nib_dot(v128 q, const Nib32 *x) {
    v128 a = i32x4_add(i32x4_dot_i16x8(v128_and(q, i16x8_splat(0x000f)), x->x[0]),
                       i32x4_dot_i16x8(v128_and(q, i16x8_splat(0x00f0)), x->x[1]));
    v128 b = i32x4_add(i32x4_dot_i16x8(v128_and(q, i16x8_splat(0x0f00)), x->x[2]),
                       i32x4_dot_i16x8(u16x8_shr(q, 12), x->x[3]));
    return i32x4_sub(i32x4_add(a, b), x->bias);
}

static inline v128 dot_q4_0(const NuBlockQ4_0 *w, const Nib32 *x) { return nib_dot(v128_load(w->qs), x); }
static inline v128 dot_q4_1(const NuBlockQ4_1 *w, const Nib32 *x) { return nib_dot(v128_load(w->qs), x); }

static inline v128 dot_q5_0(const NuBlockQ5_0 *w, const Wide32 *x) {
    Levels32 l = levels_q5_0(w);
    v128 sixteen = i8x16_splat(16);
    return wide_dot32(i8x16_sub(l.lo, sixteen), i8x16_sub(l.hi, sixteen), x);
}

static inline v128 dot_q5_1(const NuBlockQ5_1 *w, const Wide32 *x) {
    Levels32 l = levels_q5_1(w);
    return wide_dot32(l.lo, l.hi, x);
}

#define NIB_SCALED4 scaled4(i32x4_shr(isum, 8), w0->d, w1->d, w2->d, w3->d, a->d)
#define NIB_SCALED4_M scaled4_m(i32x4_shr(isum, 8), w0, w1, w2, w3, a)
TERM4(q4_0, NuBlockQ4_0, NuBlockQ8_0, Nib32, nib32(a->qs, 8), NIB_SCALED4)
TERM4(q5_0, NuBlockQ5_0, NuBlockQ8_0, Wide32, widen32(a->qs), SCALED4)
TERM4(q4_1, NuBlockQ4_1, NuBlockQ8_1, Nib32, nib32(a->qs, 0), NIB_SCALED4_M)
TERM4(q5_1, NuBlockQ5_1, NuBlockQ8_1, Wide32, widen32(a->qs), SCALED4_M)

#endif

/* the driver of a matvec: four rows at a time */
#define DRIVE(T, w, row_bytes, rows, cols, x, out, il) rows4_matvec(w, row_bytes, rows, (cols) / NU_QK, x, out, term4_##T, il)

#endif

/* --- unpacked to Q8_0 (the batched product: types.h, to_wide): the levels less their offset,
 * 32 signed bytes a block; the SIMD builds find them as the matvec terms do (Levels32) ------ */

void nu_q4_0_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ4_0 *blk = src;
    NuBlockQ8_0 *out = dst;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        out[b].d = blk[b].d;
#ifdef NU_SIMD
        Levels32 l = levels_q4_0(&blk[b]);
        v128_store(out[b].qs, i8x16_sub(l.lo, i8x16_splat(8)));
        v128_store(out[b].qs + 16, i8x16_sub(l.hi, i8x16_splat(8)));
#else
        for (int j = 0; j < NU_QK / 2; j++) {
            out[b].qs[j] = (int8_t)((blk[b].qs[j] & 15) - 8);
            out[b].qs[j + NU_QK / 2] = (int8_t)((blk[b].qs[j] >> 4) - 8);
        }
#endif
    }
}

void nu_q5_0_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ5_0 *blk = src;
    NuBlockQ8_0 *out = dst;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        out[b].d = blk[b].d;
#ifdef NU_SIMD
        Levels32 l = levels_q5_0(&blk[b]);
        v128_store(out[b].qs, i8x16_sub(l.lo, i8x16_splat(16)));
        v128_store(out[b].qs + 16, i8x16_sub(l.hi, i8x16_splat(16)));
#else
        uint32_t qh = load_qh(blk[b].qh);
        for (int j = 0; j < NU_QK; j++)
            out[b].qs[j] = (int8_t)(q5_level(blk[b].qs, qh, j) - 16);
#endif
    }
}

MATVEC_IL(q8_0)
MATVEC_IL(q4_0)
MATVEC_IL(q4_1)
MATVEC_IL(q5_0)
MATVEC_IL(q5_1)

/* The batched product of Q8_0 rows (Q8_0 files, and Q4_0, Q5_0, IQ4_NL unpacked to Q8_0:
 * types.h, matmul). The SIMD code takes the inputs two at a time, each 8 weights widened once
 * for both; each (row, input) gets term4_q8_0's integer sums and float term, in its order. */
#ifdef NU_SIMD

static inline void q8_0_isum2(const NuBlockQ8_0 *const w[4], const int8_t *x0, const int8_t *x1, v128 *isum0,
                              v128 *isum1) {
    v128 s0[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    v128 s1[4] = {s0[0], s0[0], s0[0], s0[0]};
    for (int e = 0; e < NU_QK; e += 8) {
        v128 a = i16x8_load8x8(x0 + e), c = i16x8_load8x8(x1 + e);
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            v128 q = i16x8_load8x8(w[k]->qs + e);
            s0[k] = i32x4_add(s0[k], i32x4_dot_i16x8(q, a));
            s1[k] = i32x4_add(s1[k], i32x4_dot_i16x8(q, c));
        }
    }
    *isum0 = hsum4_i32x4(s0[0], s0[1], s0[2], s0[3]);
    *isum1 = hsum4_i32x4(s1[0], s1[1], s1[2], s1[3]);
}

static void term4x2_q8_0(const uint8_t *const r[4], int64_t b, const void *x0, const void *x1, v128 *t0, v128 *t1) {
    const NuBlockQ8_0 *const w[4] = {(const NuBlockQ8_0 *)(const void *)r[0] + b, (const NuBlockQ8_0 *)(const void *)r[1] + b,
                                     (const NuBlockQ8_0 *)(const void *)r[2] + b, (const NuBlockQ8_0 *)(const void *)r[3] + b};
    const NuBlockQ8_0 *a0 = (const NuBlockQ8_0 *)x0 + b, *a1 = (const NuBlockQ8_0 *)x1 + b;
    v128 i0, i1;
    q8_0_isum2(w, a0->qs, a1->qs, &i0, &i1);
    scaled4x2(i0, i1, w[0]->d, w[1]->d, w[2]->d, w[3]->d, a0->d, a1->d, t0, t1);
}

void nu_q8_0_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, size_t x_stride,
                    int n, float *out, size_t out_stride, int il) {
    rows4_matmul(w, row_bytes, rows, cols / NU_QK, x, x_stride, n, out, out_stride, term4x2_q8_0, term4_q8_0, il);
}

#ifdef NU_RELAXED
/* Q4_0, Q5_0, Q4_1, Q5_1 in the relaxed builds (types.c): the inputs two at a time over the
 * packed rows (TERM4X2), an odd last one alone */
#define MATMUL32(T)                                                                              \
    void nu_##T##_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, \
                         size_t x_stride, int n, float *out, size_t out_stride, int il) {        \
        rows4_matmul(w, row_bytes, rows, cols / NU_QK, x, x_stride, n, out, out_stride, term4x2_##T, term4_##T, il); \
    }
MATMUL32(q4_0)
MATMUL32(q5_0)
MATMUL32(q4_1)
MATMUL32(q5_1)
#endif

#else

void nu_q8_0_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, size_t x_stride,
                    int n, float *out, size_t out_stride, int il) {
    for (int t = 0; t < n; t++)
        DRIVE(q8_0, w, row_bytes, rows, cols, (const uint8_t *)x + (size_t)t * x_stride, out + (size_t)t * out_stride, il);
}

#endif
