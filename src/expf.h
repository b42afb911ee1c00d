/* e^x with the same bits in every build (native, scalar wasm, SIMD wasm), for the softmaxes of
 * the sampler and the attention and the model's activations: libm's expf differs between
 * platforms, and a SIMD form must round as the scalar one does. */
#ifndef NUCLEUS_EXPF_H
#define NUCLEUS_EXPF_H

#include <stdint.h>

#include "simd.h"

#define EXP_MIN (-104.0f) /* expf below this is 0 even as a subnormal */
#define ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer, ties to even */
#define LOG2E 1.44269504f
#define LN2_HI 0.693145752f /* few mantissa bits, so k * LN2_HI is exact */
#define LN2_LO 1.42860677e-06f
/* e^r on [-ln2/2, ln2/2]: degree 6, interpolated at the Chebyshev nodes (relative error
 * 2e-8, a third of a float ulp); coefficients 0..2 are exactly 1, 1, 1/2. */
#define EXP_C3 0x1.555404p-3f
#define EXP_C4 0x1.5554acp-5f
#define EXP_C5 0x1.126fa6p-7f
#define EXP_C6 0x1.6d7532p-10f

/* e^x for x in [EXP_MIN, 0], the only range a softmax needs (x = (l - max) / T, clamped
 * below). e^x = 2^k * e^r with r = x - k ln2 in [-ln2/2, ln2/2] and the degree-6
 * polynomial above. 2^k is applied as 2^(k+64) * 2^-64 so results that are subnormal round
 * once, correctly; e^EXP_MIN rounds to 0. */
static inline float exp_clamped(float x) {
    float k = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    float r = (x - k * LN2_HI) - k * LN2_LO;
    float p = EXP_C6;
    p = p * r + EXP_C5;
    p = p * r + EXP_C4;
    p = p * r + EXP_C3;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { uint32_t u; float f; } scale = { (uint32_t)((int32_t)k + 64 + 127) << 23 };
    return (p * scale.f) * 0x1p-64f;
}

#ifdef NU_SIMD
/* exp_clamped of four lanes, each rounded as the scalar form rounds it. Inlined into a loop,
 * its constants are hoisted out of it. */
static inline v128 exp_clamped4(v128 x) {
    const v128 magic = f32x4_splat(ROUND_MAGIC);
    v128 kmagic = f32x4_add(f32x4_mul(x, f32x4_splat(LOG2E)), magic);
    v128 k = f32x4_sub(kmagic, magic);
    v128 r = f32x4_sub(f32x4_sub(x, f32x4_mul(k, f32x4_splat(LN2_HI))), f32x4_mul(k, f32x4_splat(LN2_LO)));
    v128 p = f32x4_splat(EXP_C6);
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(EXP_C5));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(EXP_C4));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(EXP_C3));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(0.5f));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0f));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0f));
    /* k + magic holds k in its low mantissa bits: an integer k without a conversion */
    v128 scale = i32x4_shl(i32x4_add(i32x4_sub(kmagic, magic), i32x4_splat(64 + 127)), 23);
    return f32x4_mul(f32x4_mul(p, scale), f32x4_splat(0x1p-64f));
}
#endif

#endif
