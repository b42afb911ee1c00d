/* The four-rows-in-lanes scheme of the quantized matvec kernels (kquants.c, iq4.c), as the
 * Q8_0 kernel in kernels.c does it: four weight rows go through a block loop together, row k
 * in lane k, so one widened activation block serves four rows and the final reduction is
 * vertical. Block b of a row adds its float value to accumulator b % 4; the accumulators
 * rotate so a0 always takes the next block, and (a0 + a2) + (a1 + a3) at the end is the
 * scalar code's (acc[0] + acc[2]) + (acc[1] + acc[3]) up to operand order, which does not
 * change an IEEE sum. */
#ifndef NUCLEUS_QUANT_ROWS4_H
#define NUCLEUS_QUANT_ROWS4_H

#include <stdint.h>

#include "quant.h"
#include "simd.h"

/* The scalar side's reduction of the four block classes. */
static inline float rows4_reduce(const float *acc) {
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

#ifdef NU_SIMD

typedef struct {
    v128 a0, a1, a2, a3;
} Rows4Acc;

static inline Rows4Acc rows4_zero(void) {
    v128 z = f32x4_splat(0.0f);
    return (Rows4Acc){z, z, z, z};
}

/* Adds this block's four values (one per row) and rotates. */
static inline void rows4_add(Rows4Acc *acc, v128 v) {
    v128 next = f32x4_add(acc->a0, v);
    acc->a0 = acc->a1;
    acc->a1 = acc->a2;
    acc->a2 = acc->a3;
    acc->a3 = next;
}

/* out[0..n) from the four lanes. */
static inline void rows4_store(const Rows4Acc *acc, float *out, int n) {
    v128 r = f32x4_add(f32x4_add(acc->a0, acc->a2), f32x4_add(acc->a1, acc->a3));
    float tmp[4];
    v128_store(tmp, r);
    for (int k = 0; k < n; k++)
        out[k] = tmp[k];
}

/* [sum(p0), sum(p1), sum(p2), sum(p3)]: integer, so exact in any order. */
static inline v128 rows4_hsum(v128 p0, v128 p1, v128 p2, v128 p3) {
    v128 a = i32x4_add(i32x4_zip_low(p0, p1), i32x4_zip_high(p0, p1));
    v128 b = i32x4_add(i32x4_zip_low(p2, p3), i32x4_zip_high(p2, p3));
    return i32x4_add(i64x2_low_halves(a, b), i64x2_high_halves(a, b));
}

/* Four halves as floats, bit for bit nu_f16_to_f32 (including infinities and NaN). */
static inline v128 rows4_halves(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
    v128 h = u32x4_make(h0, h1, h2, h3);
    v128 mag = i32x4_shl(v128_and(h, i32x4_splat(0x7fff)), 13);
    v128 val = f32x4_mul(mag, f32x4_splat(0x1p112f));
    v128 special = i32x4_eq(v128_and(h, i32x4_splat(0x7c00)), i32x4_splat(0x7c00));
    v128 infnan = v128_or(i32x4_splat(0x7f800000), i32x4_shl(v128_and(h, i32x4_splat(0x3ff)), 13));
    v128 sign = i32x4_shl(v128_and(h, i32x4_splat(0x8000)), 16);
    return v128_or(sign, v128_bitselect(infnan, val, special));
}

/* i8 lanes . i16 activations: the 16 bytes of q against x[0] (elements 0-7) and x[1]
 * (8-15), as four i32 partial sums. */
static inline v128 rows4_dot16(v128 q, const v128 *x) {
    return i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(q), x[0]),
                     i32x4_dot_i16x8(i16x8_extend_high_i8x16(q), x[1]));
}

#endif

#endif
