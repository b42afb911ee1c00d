/* IQ4_NL (32-element blocks against a Q8_0 vector) and IQ4_XS (256-element super-blocks
 * against Q8_K): 4-bit indices into ggml's 16 non-linear levels. kquants.h has the layouts
 * and the order the products add in. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant/kquants.h"
#include "quant/rows4.h"

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
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    if (amax < GROUP_MAX_EPS)
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
        float max_scale = 0, amax_scale = 0;
        for (int j = 0; j < 8; j++) {
            scales[j] = group_scale(x + 32 * j, L);
            if (fabsf(scales[j]) > amax_scale) {
                amax_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
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

/* --- matrix-vector products: IQ4_NL blocks exactly as Q4_0's (kernels.c) with the table
 * lookup in place of the -8; IQ4_XS super-blocks as the K-quants' (kquants.c). ----------- */

#ifndef NU_SIMD

static int32_t nl_isum(const uint8_t *qs, const int8_t *x) {
    int32_t s = 0;
    for (int j = 0; j < 16; j++)
        s += nu_iq4_values[qs[j] & 15] * x[j] + nu_iq4_values[qs[j] >> 4] * x[j + 16];
    return s;
}

void nu_iq4_nl_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const NuBlockQ8_0 *xb = x;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockIQ4_NL *wb = (const NuBlockIQ4_NL *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < cols / 32; b++) {
            float scale = nu_f16_to_f32(wb[b].d) * nu_f16_to_f32(xb[b].d);
            acc[b % 4] += scale * (float)nl_isum(wb[b].qs, xb[b].qs);
        }
        out[r] = rows4_reduce(acc);
    }
}

void nu_iq4_xs_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockIQ4_XS *wb = (const NuBlockIQ4_XS *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < cols / NU_QK_K; b++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int32_t isum = 0;
            for (int j = 0; j < 8; j++)
                isum += xs_scale(wb + b, j) * nl_isum(wb[b].qs + 16 * j, xb->qs + 32 * j);
            acc[b % 4] += (nu_f16_to_f32(wb[b].d) * xb->d) * (float)isum;
        }
        out[r] = rows4_reduce(acc);
    }
}

#else

/* The levels of 16 packed bytes: low nibbles (elements 0-15) and high (16-31) looked up. */
static inline void nl_levels(const uint8_t *qs, v128 table, v128 *lo, v128 *hi) {
    v128 q = v128_load(qs);
    *lo = i8x16_swizzle(table, v128_and(q, i8x16_splat(15)));
    *hi = i8x16_swizzle(table, u8x16_shr4(q));
}

void nu_iq4_nl_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const NuBlockQ8_0 *xb = x;
    const v128 table = v128_load(nu_iq4_values);
    for (int64_t r = 0; r < rows; r += 4) {
        int n = rows - r < 4 ? (int)(rows - r) : 4;
        const NuBlockIQ4_NL *p[4];
        for (int k = 0; k < 4; k++)
            p[k] = (const NuBlockIQ4_NL *)((const uint8_t *)w + (size_t)(r + (k < n ? k : n - 1)) * row_bytes);
        Rows4Acc acc = rows4_zero();
        for (int64_t b = 0; b < cols / 32; b++) {
            v128 x0 = v128_load(xb[b].qs), x1 = v128_load(xb[b].qs + 16);
            v128 xw[4] = {i16x8_extend_low_i8x16(x0), i16x8_extend_high_i8x16(x0), i16x8_extend_low_i8x16(x1),
                          i16x8_extend_high_i8x16(x1)};
            v128 part[4];
            for (int k = 0; k < 4; k++) {
                v128 lo, hi;
                nl_levels(p[k][b].qs, table, &lo, &hi);
                part[k] = i32x4_add(rows4_dot16(lo, xw), rows4_dot16(hi, xw + 2));
            }
            v128 isum = rows4_hsum(part[0], part[1], part[2], part[3]);
            v128 scale = f32x4_mul(rows4_halves(p[0][b].d, p[1][b].d, p[2][b].d, p[3][b].d),
                                   f32x4_splat(nu_f16_to_f32(xb[b].d)));
            rows4_add(&acc, f32x4_mul(scale, f32x4_convert_i32x4(isum)));
        }
        rows4_store(&acc, out + r, n);
    }
}

void nu_iq4_xs_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const v128 table = v128_load(nu_iq4_values);
    v128 xw[32];
    for (int64_t r = 0; r < rows; r += 4) {
        int n = rows - r < 4 ? (int)(rows - r) : 4;
        const NuBlockIQ4_XS *p[4];
        for (int k = 0; k < 4; k++)
            p[k] = (const NuBlockIQ4_XS *)((const uint8_t *)w + (size_t)(r + (k < n ? k : n - 1)) * row_bytes);
        Rows4Acc acc = rows4_zero();
        for (int64_t b = 0; b < cols / NU_QK_K; b++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            for (int k = 0; k < 16; k++) {
                v128 q = v128_load(xb->qs + 16 * k);
                xw[2 * k] = i16x8_extend_low_i8x16(q);
                xw[2 * k + 1] = i16x8_extend_high_i8x16(q);
            }
            v128 part[4];
            for (int k = 0; k < 4; k++) {
                const NuBlockIQ4_XS *wb = p[k] + b;
                v128 s = i32x4_splat(0);
                for (int j = 0; j < 8; j++) {
                    v128 lo, hi;
                    nl_levels(wb->qs + 16 * j, table, &lo, &hi);
                    v128 g = i32x4_add(rows4_dot16(lo, xw + 4 * j), rows4_dot16(hi, xw + 4 * j + 2));
                    s = i32x4_add(s, i32x4_mul(g, i32x4_splat(xs_scale(wb, j))));
                }
                part[k] = s;
            }
            v128 isum = rows4_hsum(part[0], part[1], part[2], part[3]);
            v128 d = f32x4_mul(rows4_halves(p[0][b].d, p[1][b].d, p[2][b].d, p[3][b].d), f32x4_splat(xb->d));
            rows4_add(&acc, f32x4_mul(d, f32x4_convert_i32x4(isum)));
        }
        rows4_store(&acc, out + r, n);
    }
}

#endif
