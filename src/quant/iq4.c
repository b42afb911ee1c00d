/* IQ4_NL (32-element blocks against a Q8_0 vector) and IQ4_XS (256-element super-blocks
 * against Q8_K): 4-bit indices into ggml's 16 non-linear levels. kquants.h has the layouts
 * and the order the products add in. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant/family.h"
#include "quant/kquants.h"
#include "quant/util.h"

const int8_t nu_iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

#define GROUP_MAX_EPS 1e-15f
#define NTRY 7 /* ggml's scale trials either side of the first guess (quantize_iq4_nl/_xs) */

/* The level nearest x (ggml's best_index_int8: ties to the lower level). */
static int best_index(float x) {
    const int8_t *v = nu_iq4_values;
    if (x <= v[0])
        return 0;
    if (x >= v[15])
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < v[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - (float)v[hi - 1] < (float)v[hi] - x ? hi - 1 : hi;
}

/* The scale of one group of 32 (ggml's quantize_row_iq4_nl_impl without an importance matrix:
 * weights x^2, the least-squares scale of the first guess max / -127, then 2 * NTRY + 1
 * trial scales); L gets the levels of the first guess. */
static float group_scale(const float *x, uint8_t *L) {
    float max = signed_absmax(x, 32);
    if (fabsf(max) < GROUP_MAX_EPS)
        return 0.0f;
    const int8_t *v = nu_iq4_values;
    float d = -max / (float)v[0];
    float id = 1 / d, sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        int l = best_index(id * x[j]);
        L[j] = (uint8_t)l;
        float q = (float)v[l], w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
    float best = d * sumqx;
    for (int itry = -NTRY; itry <= NTRY; itry++) {
        id = (float)(itry + v[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            float q = (float)v[best_index(id * x[j])], w = x[j] * x[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* 32 levels into 16 bytes: element l < 16 low nibble of byte l, l + 16 the high nibble. */
static void pack_nibbles(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(L[j] | L[16 + j] << 4);
}

void nu_iq4_nl_from_float(const float *x, void *dst, int64_t n) {
    NuBlockIQ4_NL *y = dst;
    uint8_t L[32];
    for (int64_t i = 0; i < n / 32; i++, y++, x += 32) {
        float d = group_scale(x, L);
        y->d = nu_f32_to_f16(d);
        float id = d ? 1 / d : 0;
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)best_index(id * x[j]);
        pack_nibbles(L, y->qs);
    }
}

/* The eight group scales quantized to 6 bits against d = -max / 32 (the largest in
 * magnitude), each group's levels chosen again for its rounded scale. */
void nu_iq4_xs_from_float(const float *x, void *dst, int64_t n) {
    NuBlockIQ4_XS *y = dst;
    uint8_t L[32];
    float scales[8];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        for (int j = 0; j < 8; j++)
            scales[j] = group_scale(x + 32 * j, L);
        float max_scale = signed_absmax(scales, 8);
        float d = -max_scale / 32;
        y->d = nu_f32_to_f16(d);
        y->scales_h = 0;
        memset(y->scales_l, 0, sizeof y->scales_l);
        float id = d ? 1 / d : 0.0f;
        for (int j = 0; j < 8; j++) {
            int l = nu_nearest_int(id * scales[j]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            float dl = d * (float)l, idl = dl ? 1 / dl : 0.0f;
            for (int e = 0; e < 32; e++)
                L[e] = (uint8_t)best_index(idl * x[32 * j + e]);
            pack_nibbles(L, y->qs + 16 * j);
            l += 32;
            y->scales_l[j / 2] |= (uint8_t)((l & 15) << 4 * (j % 2));
            y->scales_h |= (uint16_t)((l >> 4) << 2 * j);
        }
    }
}

void nu_iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockIQ4_NL *b = src;
    for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
        float d = nu_f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)nu_iq4_values[b->qs[j] & 15];
            dst[j + 16] = d * (float)nu_iq4_values[b->qs[j] >> 4];
        }
    }
}

static inline int xs_scale(const NuBlockIQ4_XS *b, int j) {
    return ((b->scales_l[j / 2] >> 4 * (j % 2) & 15) | (b->scales_h >> 2 * j & 3) << 4) - 32;
}

/* IQ4_XS as NuBlockK16 (kquants.h): value * (ls - 32), no mins (the batched product). */
void nu_iq4_xs_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockIQ4_XS *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = (NuBlockK16 *)dst + i;
        y->d = nu_f16_to_f32(b->d);
        y->dmin = 0.0f;
        memset(y->mins, 0, sizeof y->mins);
        for (int j = 0; j < 8; j++) {
            int ls = xs_scale(b, j);
            for (int l = 0; l < 16; l++) {
                y->qs[32 * j + l] = (int16_t)(ls * nu_iq4_values[b->qs[16 * j + l] & 15]);
                y->qs[32 * j + l + 16] = (int16_t)(ls * nu_iq4_values[b->qs[16 * j + l] >> 4]);
            }
        }
    }
}

void nu_iq4_xs_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockIQ4_XS *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d);
        for (int j = 0; j < 8; j++, dst += 32) {
            float dl = d * (float)xs_scale(b, j);
            const uint8_t *qs = b->qs + 16 * j;
            for (int l = 0; l < 16; l++) {
                dst[l] = dl * (float)nu_iq4_values[qs[l] & 15];
                dst[l + 16] = dl * (float)nu_iq4_values[qs[l] >> 4];
            }
        }
    }
}

/* --- matrix-vector products: an IQ4_NL block's term is Q4_0's (q32.c) with the table lookup
 * in place of the -8, an IQ4_XS super-block's is the K-quants' (kquants.c); util.h's drivers
 * add them in lane b % 4. ------------------------------------------------------------------ */

/* elements per block, for DRIVE */
#define BLOCK_iq4_nl 32
#define BLOCK_iq4_xs NU_QK_K

#ifndef NU_SIMD

/* the levels of 16 packed bytes (elements 0-15 low nibbles, 16-31 high) . x[0..31] */
static int32_t nl_isum(const uint8_t *qs, const int8_t *x) {
    int32_t s = 0;
    for (int j = 0; j < 16; j++)
        s += nu_iq4_values[qs[j] & 15] * x[j] + nu_iq4_values[qs[j] >> 4] * x[j + 16];
    return s;
}

static float term_iq4_nl(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockIQ4_NL *wb = (const NuBlockIQ4_NL *)row + b;
    const NuBlockQ8_0 *xb = (const NuBlockQ8_0 *)x + b;
    return (nu_f16_to_f32(wb->d) * nu_f16_to_f32(xb->d)) * (float)nl_isum(wb->qs, xb->qs);
}

static float term_iq4_xs(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockIQ4_XS *wb = (const NuBlockIQ4_XS *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    int32_t isum = 0;
    for (int j = 0; j < 8; j++)
        isum += xs_scale(wb, j) * nl_isum(wb->qs + 16 * j, xb->qs + 32 * j);
    return (nu_f16_to_f32(wb->d) * xb->d) * (float)isum;
}

#define DRIVE(T, w, row_bytes, rows, cols, x, out, il)                                           \
    rows1_matvec(w, row_bytes, rows, (cols) / BLOCK_##T, x, out, term_##T, il)

#else

/* the 32 levels of 16 packed bytes (lookup by byte swizzle): elements 0-15 and 16-31 */
static inline void nl_levels(const uint8_t *qs, v128 *lo, v128 *hi) {
    const v128 table = v128_load(nu_iq4_values);
    v128 q = v128_load(qs);
    *lo = i8x16_swizzle(table, v128_and(q, i8x16_splat(15)));
    *hi = i8x16_swizzle(table, u8x16_shr4(q));
}

#ifdef NU_RELAXED
/* Relaxed SIMD (simd.h): the levels are signed (-127 .. 113), so the activations are the
 * [0, 127] operand: |x|, with x's sign moved onto the level as (level ^ s) - s (s all ones
 * where x < 0; the levels' negations still fit a byte), both found once for the four rows.
 * A half's pair sums reach 2 * 127 * 127, so the halves widen apart, each times `scale`. */
typedef struct {
    v128 mag[2], sign[2]; /* elements 0-15, 16-31 */
} NlAct;

static inline NlAct nl_act(const int8_t *qs) {
    v128 lo = v128_load(qs), hi = v128_load(qs + 16), zero = i8x16_splat(0);
    return (NlAct){{i8x16_abs(lo), i8x16_abs(hi)}, {i8x16_lt(lo, zero), i8x16_lt(hi, zero)}};
}

static inline v128 nl_dot_scaled(const uint8_t *qs, const NlAct *x, v128 scale) {
    v128 lo, hi;
    nl_levels(qs, &lo, &hi);
    lo = i8x16_sub(v128_xor(lo, x->sign[0]), x->sign[0]);
    hi = i8x16_sub(v128_xor(hi, x->sign[1]), x->sign[1]);
    return i32x4_add(i32x4_dot_i16x8(i16x8_dot_i8x16_i7x16(lo, x->mag[0]), scale),
                     i32x4_dot_i16x8(i16x8_dot_i8x16_i7x16(hi, x->mag[1]), scale));
}

static inline v128 nl_dot(const uint8_t *qs, const NlAct *x) { return nl_dot_scaled(qs, x, i16x8_splat(1)); }
static inline v128 xs_dot(const uint8_t *qs, const NlAct *x, int ls) { return nl_dot_scaled(qs, x, i16x8_splat((int16_t)ls)); }
#else
typedef Wide32 NlAct;

static inline NlAct nl_act(const int8_t *qs) { return widen32(qs); }

/* the 32 levels . widened activations */
static inline v128 nl_dot(const uint8_t *qs, const NlAct *x) {
    v128 lo, hi;
    nl_levels(qs, &lo, &hi);
    return wide_dot32(lo, hi, x);
}

static inline v128 xs_dot(const uint8_t *qs, const NlAct *x, int ls) { return i32x4_mul(nl_dot(qs, x), i32x4_splat(ls)); }
#endif

static v128 term4_iq4_nl(const uint8_t *const r[4], int64_t b, const void *x) {
    const NuBlockIQ4_NL *w0 = (const NuBlockIQ4_NL *)r[0] + b, *w1 = (const NuBlockIQ4_NL *)r[1] + b;
    const NuBlockIQ4_NL *w2 = (const NuBlockIQ4_NL *)r[2] + b, *w3 = (const NuBlockIQ4_NL *)r[3] + b;
    const NuBlockQ8_0 *xb = (const NuBlockQ8_0 *)x + b;
    NlAct xa = nl_act(xb->qs);
    v128 isum = hsum4_i32x4(nl_dot(w0->qs, &xa), nl_dot(w1->qs, &xa), nl_dot(w2->qs, &xa), nl_dot(w3->qs, &xa));
    v128 scale = f32x4_mul(halves4(w0->d, w1->d, w2->d, w3->d), f32x4_splat(nu_f16_to_f32(xb->d)));
    return f32x4_mul(scale, f32x4_convert_i32x4(isum));
}

/* chunks of 32 with the activations widened once for the four rows, as kquants.c */
static v128 term4_iq4_xs(const uint8_t *const r[4], int64_t b, const void *x) {
    const NuBlockIQ4_XS *w[4];
    for (int k = 0; k < 4; k++)
        w[k] = (const NuBlockIQ4_XS *)r[k] + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    v128 s[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) {
        NlAct xa = nl_act(xb->qs + 32 * j);
        _Pragma("GCC unroll 1") for (int k = 0; k < 4; k++)
            s[k] = i32x4_add(s[k], xs_dot(w[k]->qs + 16 * j, &xa, xs_scale(w[k], j)));
    }
    v128 isum = hsum4_i32x4(s[0], s[1], s[2], s[3]);
    v128 d = f32x4_mul(halves4(w[0]->d, w[1]->d, w[2]->d, w[3]->d), f32x4_splat(xb->d));
    return f32x4_mul(d, f32x4_convert_i32x4(isum));
}

#define DRIVE(T, w, row_bytes, rows, cols, x, out, il)                                           \
    rows4_matvec(w, row_bytes, rows, (cols) / BLOCK_##T, x, out, term4_##T, il)

#endif

/* IQ4_NL as Q8_0 blocks of its levels (the batched product: types.h, to_wide). */
void nu_iq4_nl_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockIQ4_NL *blk = src;
    NuBlockQ8_0 *out = dst;
    for (int64_t b = 0; b < n / NU_QK; b++) {
        out[b].d = blk[b].d;
#ifdef NU_SIMD
        v128 lo, hi;
        nl_levels(blk[b].qs, &lo, &hi);
        v128_store(out[b].qs, lo);
        v128_store(out[b].qs + 16, hi);
#else
        for (int j = 0; j < NU_QK / 2; j++) {
            out[b].qs[j] = nu_iq4_values[blk[b].qs[j] & 15];
            out[b].qs[j + NU_QK / 2] = nu_iq4_values[blk[b].qs[j] >> 4];
        }
#endif
    }
}

MATVEC_IL(iq4_nl)
MATVEC_IL(iq4_xs)
