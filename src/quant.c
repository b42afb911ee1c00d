#include "quant.h"

#include <math.h>
#include <string.h>

#include "simd.h"

/* --- half floats ------------------------------------------------------------------------ */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t nu_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* infinity, or NaN kept quiet and non-zero */
        return sign | (abs > 0x7f800000u ? (uint16_t)(0x7e00 | ((abs >> 13) & 0x3ff)) : 0x7c00);
    if (abs >= 0x477ff000u) /* rounds to 65520 or more: overflow */
        return sign | 0x7c00;
    if (abs < 0x38800000u) { /* below 2^-14: a half subnormal (or zero) */
        /* Adding 0.5 makes the FPU round to a multiple of 2^-24 (the subnormal step),
         * nearest even; the low mantissa bits are then the half's bits. */
        float r = f32_from_bits(abs) + 0.5f;
        return sign | (uint16_t)(f32_bits(r) - 0x3f000000u);
    }
    /* Normal: rebias the exponent and round the 13 dropped bits to nearest even. */
    uint32_t odd = (abs >> 13) & 1;
    abs += 0x0fff + odd;
    return sign | (uint16_t)((abs - 0x38000000u) >> 13);
}

/* --- quantize ------------------------------------------------------------------------------- */

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
 * from zero: v - trunc(v) is exact, so comparing its magnitude with 0.5 decides it exactly. */
static v128 round_q8(v128 x, v128 id) {
    v128 v = f32x4_mul(x, id), t = f32x4_trunc(v);
    v128 away = f32x4_ge(f32x4_abs(f32x4_sub(v, t)), f32x4_splat(0.5f));
    v128 one = v128_or(f32x4_splat(1.0f), v128_and(v, i32x4_splat((int32_t)0x80000000)));
    v128 r = f32x4_add(t, v128_and(away, one));
    v128 q = i32x4_trunc_sat_f32x4(r); /* NaN -> 0, infinities saturate */
    return i32x4_max(i32x4_min(q, i32x4_splat(127)), i32x4_splat(-127));
}
#endif

/* ggml's reference Q8_0: d = amax / 127, q = round(x / d) half away from zero. The reciprocal
 * is taken from the float d, not the rounded half, exactly as ggml does. The SIMD builds
 * compute the same amax and the same rounded values four at a time. */
void nu_quantize_row_q8_0(const float *x, NuBlockQ8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
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
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = nu_f32_to_f16(d);
#ifdef NU_SIMD
        v128 vid = f32x4_splat(id);
        for (int j = 0; j < NU_QK; j += 16) {
            v128 q01 = i16x8_narrow_i32x4(round_q8(v128_load(xb + j), vid),
                                          round_q8(v128_load(xb + j + 4), vid));
            v128 q23 = i16x8_narrow_i32x4(round_q8(v128_load(xb + j + 8), vid),
                                          round_q8(v128_load(xb + j + 12), vid));
            v128_store(y[b].qs + j, i8x16_narrow_i16x8(q01, q23));
        }
#else
        for (int j = 0; j < NU_QK; j++) {
            float v = roundf(xb[j] * id);
            /* Finite inputs always land in [-127, 127]; the test only keeps NaN and
             * infinity (possible with non-finite input) from reaching the conversion. */
            y[b].qs[j] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : (v > 0.0f ? 127 : v < 0.0f ? -127 : 0));
        }
#endif
    }
}

/* One ggml Q4_0 nibble: truncate x/d + 8.5 toward zero, at most 15. */
static uint8_t q4_nibble(float v) {
    v += 8.5f;
    if (!(v >= 0.0f)) /* cannot happen for finite input; NaN lands here */
        return 0;
    return v >= 15.0f ? 15 : (uint8_t)v;
}

/* ggml's reference Q4_0: d = m / -8 where m is the element of largest magnitude (the first
 * one on ties), so m itself maps exactly to nibble 0 and the range is used asymmetrically. */
void nu_quantize_row_q4_0(const float *x, NuBlockQ4_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / NU_QK; b++) {
        const float *xb = x + b * NU_QK;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < NU_QK; j++) {
            if (fabsf(xb[j]) > amax) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = nu_f32_to_f16(d);
        for (int j = 0; j < NU_QK / 2; j++) {
            uint8_t lo = q4_nibble(xb[j] * id);
            uint8_t hi = q4_nibble(xb[j + NU_QK / 2] * id);
            y[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* --- dequantize ----------------------------------------------------------------------------- */

void nu_dequantize_row(NuType type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case NU_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case NU_TYPE_F16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = nu_f16_to_f32(h[i]);
        return;
    }
    case NU_TYPE_Q8_0: {
        const NuBlockQ8_0 *blk = src;
        for (int64_t b = 0; b < n / NU_QK; b++) {
            float d = nu_f16_to_f32(blk[b].d);
            for (int j = 0; j < NU_QK; j++)
                dst[b * NU_QK + j] = d * (float)blk[b].qs[j];
        }
        return;
    }
    case NU_TYPE_Q4_0: {
        const NuBlockQ4_0 *blk = src;
        for (int64_t b = 0; b < n / NU_QK; b++) {
            float d = nu_f16_to_f32(blk[b].d);
            for (int j = 0; j < NU_QK / 2; j++) {
                dst[b * NU_QK + j] = d * (float)((blk[b].qs[j] & 0x0f) - 8);
                dst[b * NU_QK + j + NU_QK / 2] = d * (float)((blk[b].qs[j] >> 4) - 8);
            }
        }
        return;
    }
    }
}

/* --- sizes and names ------------------------------------------------------------------------ */

size_t nu_row_bytes(NuType type, int64_t cols) {
    if (cols <= 0 || (uint64_t)cols > SIZE_MAX / 4)
        return 0;
    switch (type) {
    case NU_TYPE_F32: return (size_t)cols * 4;
    case NU_TYPE_F16: return (size_t)cols * 2;
    case NU_TYPE_Q8_0: return cols % NU_QK ? 0 : (size_t)(cols / NU_QK) * sizeof(NuBlockQ8_0);
    case NU_TYPE_Q4_0: return cols % NU_QK ? 0 : (size_t)(cols / NU_QK) * sizeof(NuBlockQ4_0);
    }
    return 0;
}

const char *nu_type_name(NuType type) {
    switch (type) {
    case NU_TYPE_F32: return "f32";
    case NU_TYPE_F16: return "f16";
    case NU_TYPE_Q8_0: return "q8_0";
    case NU_TYPE_Q4_0: return "q4_0";
    }
    return "unknown";
}
