/* The K-quants (Q2_K ... Q6_K) and Q8_K: dequantize, ggml's reference quantizers, and the
 * matrix-vector products against a Q8_K vector. kquants.h has the layouts and the order
 * the products add in. */
#include "quant/kquants.h"

#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant/rows4.h"

#define GROUP_MAX_EPS 1e-15f /* ggml's threshold below which a group is all zero */

static inline int clampi(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* --- the scale searches of ggml's reference quantizers ------------------------------------ */

/* ggml's make_qx_quants with rmse_type 1 and no weights (Q6_K): symmetric levels
 * -nmax..nmax-1, weights x^2, the best of 19 scales around nmax / max. L gets level + nmax. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nu_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nu_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(nu_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ggml's make_q3_quants with do_rmse (Q3_K): start from nmax / max, then up to five rounds of
 * moving single levels while the weighted error falls. L gets level + nmax. */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nu_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                int new_l = clampi(nu_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * (float)new_l;
                    sl2 += w * (float)new_l * (float)new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed)
            break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* ggml's make_qkx2_quants (Q2_K, Q4_K, Q5_K): levels 0..nmax with a min, x ~ scale * l - min;
 * tries nstep + 1 scales from (nmax + rmin) / range in rdelta steps, each refitted by weighted
 * least squares, keeping the lowest weighted error (absolute with use_mad, else squared).
 * Returns the scale, *the_min the (non-negative) min. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep, int use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(nu_nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nu_nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* --- Q2_K ----------------------------------------------------------------------------------- */

void nu_dequantize_q2_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ2_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d), dmin = nu_f16_to_f32(b->dmin);
        for (int e = 0; e < NU_QK_K; e++) {
            int g = e / 16, q = b->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3;
            float dl = d * (float)(b->scales[g] & 15), ml = dmin * (float)(b->scales[g] >> 4);
            *dst++ = dl * (float)q - ml;
        }
    }
}

/* Packs levels 0..3 of a Q2_K/Q3_K super-block: element 128h + 32s + l at qs[32h + l] bits 2s. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *q = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
        }
}

void nu_quantize_q2_K(const float *x, void *dst, int64_t n) {
    NuBlockQ2_K *y = dst;
    uint8_t L[NU_QK_K], Laux[16];
    float weights[16], mins[16], scales[16];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++)
                weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        memset(y->scales, 0, sizeof y->scales);
        y->d = y->dmin = nu_f32_to_f16(0.0f);
        if (max_scale > 0) {
            float iscale = 15.0f / max_scale;
            for (int j = 0; j < 16; j++)
                y->scales[j] = (uint8_t)nu_nearest_int(iscale * scales[j]);
            y->d = nu_f32_to_f16(max_scale / 15.0f);
        }
        if (max_min > 0) {
            float iscale = 15.0f / max_min;
            for (int j = 0; j < 16; j++)
                y->scales[j] |= (uint8_t)((unsigned)nu_nearest_int(iscale * mins[j]) << 4);
            y->dmin = nu_f32_to_f16(max_min / 15.0f);
        }
        for (int j = 0; j < 16; j++) {
            float d = nu_f16_to_f32(y->d) * (float)(y->scales[j] & 15);
            if (!d)
                continue;
            float dm = nu_f16_to_f32(y->dmin) * (float)(y->scales[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)clampi(nu_nearest_int((x[16 * j + l] + dm) / d), 0, 3);
        }
        pack_2bit(L, y->qs);
    }
}

/* --- Q3_K ----------------------------------------------------------------------------------- */

/* The 16 scales of a Q3_K super-block, 0..63 (the value used is scale - 32). */
static void q3_scales(const uint8_t *s, int *out) {
    for (int g = 0; g < 16; g++) {
        int low = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
        out[g] = low | (s[8 + g % 4] >> 2 * (g / 4) & 3) << 4;
    }
}

void nu_dequantize_q3_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ3_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        int sc[16];
        q3_scales(b->scales, sc);
        float d = nu_f16_to_f32(b->d);
        for (int e = 0; e < NU_QK_K; e++) {
            int low = b->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3;
            int high = b->hmask[e % 32] >> (e / 32) & 1;
            float dl = d * (float)(sc[e / 16] - 32);
            *dst++ = dl * (float)(low - (high ? 0 : 4));
        }
    }
}

void nu_quantize_q3_K(const float *x, void *dst, int64_t n) {
    NuBlockQ3_K *y = dst;
    int8_t L[NU_QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y->scales, 0, sizeof y->scales);
        y->d = nu_f32_to_f16(0.0f);
        if (max_scale) {
            float iscale = -32.0f / max_scale;
            for (int j = 0; j < 16; j++) {
                int l = clampi((int8_t)nu_nearest_int(iscale * scales[j]), -32, 31) + 32;
                if (j < 8)
                    y->scales[j] = (uint8_t)(l & 15);
                else
                    y->scales[j - 8] |= (uint8_t)((l & 15) << 4);
                y->scales[j % 4 + 8] |= (uint8_t)((l >> 4) << 2 * (j / 4));
            }
            y->d = nu_f32_to_f16(1 / iscale);
        }
        int sc[16];
        q3_scales(y->scales, sc);
        for (int j = 0; j < 16; j++) {
            float d = nu_f16_to_f32(y->d) * (float)(sc[j] - 32);
            if (!d)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(nu_nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }
        /* the third bit of element e goes to hmask[e % 32] bit e / 32 */
        memset(y->hmask, 0, sizeof y->hmask);
        uint8_t low[NU_QK_K];
        for (int e = 0; e < NU_QK_K; e++) {
            if (L[e] > 3)
                y->hmask[e % 32] |= (uint8_t)(1 << e / 32);
            low[e] = (uint8_t)(L[e] & 3);
        }
        pack_2bit(low, y->qs);
    }
}

/* --- Q4_K and Q5_K -------------------------------------------------------------------------- */

void nu_dequantize_q4_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ4_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d), dmin = nu_f16_to_f32(b->dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            nu_kq_scale_min(b->scales, j, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *q = b->qs + 32 * (j / 2);
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)(q[l] >> 4 * (j % 2) & 15) - m1;
        }
    }
}

void nu_dequantize_q5_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ5_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d), dmin = nu_f16_to_f32(b->dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            nu_kq_scale_min(b->scales, j, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *q = b->qs + 32 * (j / 2);
            for (int l = 0; l < 32; l++) {
                int v = (q[l] >> 4 * (j % 2) & 15) + ((b->qh[l] >> j & 1) << 4);
                *dst++ = d1 * (float)v - m1;
            }
        }
    }
}

/* The shared part of ggml's Q4_K and Q5_K reference quantizers: per group of 32 a scale and
 * min from make_qkx2_quants (weights av_x + |x|), both quantized to 6 bits against the
 * super-block's largest and packed into scales[12]; then the levels 0..nmax again from the
 * rounded scales. */
static void quantize_kx_super(const float *x, int nmax, float rmin, int nstep, uint16_t *dh, uint16_t *dminh,
                              uint8_t *packed, uint8_t *L) {
    uint8_t Laux[32];
    float weights[32], mins[8], scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xg = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += xg[l] * xg[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(xg[l]);
        scales[j] = make_qkx2_quants(32, nmax, xg, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    memset(packed, 0, 12);
    for (int j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)nu_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nu_nearest_int(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *dh = nu_f32_to_f16(max_scale / 63.0f);
    *dminh = nu_f32_to_f16(max_min / 63.0f);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        nu_kq_scale_min(packed, j, &sc, &m);
        float d = nu_f16_to_f32(*dh) * (float)sc;
        if (!d)
            continue;
        float dm = nu_f16_to_f32(*dminh) * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)clampi(nu_nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

void nu_quantize_q4_K(const float *x, void *dst, int64_t n) {
    NuBlockQ4_K *y = dst;
    uint8_t L[NU_QK_K];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        quantize_kx_super(x, 15, -1.0f, 20, &y->d, &y->dmin, y->scales, L);
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                y->qs[32 * p + l] = (uint8_t)(L[64 * p + l] | L[64 * p + 32 + l] << 4);
    }
}

void nu_quantize_q5_K(const float *x, void *dst, int64_t n) {
    NuBlockQ5_K *y = dst;
    uint8_t L[NU_QK_K];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        quantize_kx_super(x, 31, -0.5f, 15, &y->d, &y->dmin, y->scales, L);
        memset(y->qh, 0, sizeof y->qh);
        for (int e = 0; e < NU_QK_K; e++)
            if (L[e] > 15)
                y->qh[e % 32] |= (uint8_t)(1 << e / 32);
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                y->qs[32 * p + l] = (uint8_t)((L[64 * p + l] & 15) | (L[64 * p + 32 + l] & 15) << 4);
    }
}

/* --- Q6_K ----------------------------------------------------------------------------------- */

/* Level 0..63 of element e (128h + 32s + l) of a Q6_K super-block. */
static inline int q6_level(const NuBlockQ6_K *b, int e) {
    int h = e / 128, s = e % 128 / 32, l = e % 32;
    int low = b->ql[64 * h + 32 * (s % 2) + l] >> 4 * (s / 2) & 15;
    return low | (b->qh[32 * h + l] >> 2 * s & 3) << 4;
}

void nu_dequantize_q6_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ6_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d);
        for (int e = 0; e < NU_QK_K; e++)
            *dst++ = d * (float)b->scales[e / 16] * (float)(q6_level(b, e) - 32);
    }
}

void nu_quantize_q6_K(const float *x, void *dst, int64_t n) {
    NuBlockQ6_K *y = dst;
    int8_t L[NU_QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int g = 0; g < 16; g++) {
            scales[g] = make_qx_quants(16, 32, x + 16 * g, L + 16 * g);
            if (fabsf(scales[g]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        memset(y, 0, sizeof *y);
        if (max_abs_scale < GROUP_MAX_EPS)
            continue;
        float iscale = -128.0f / max_scale;
        y->d = nu_f32_to_f16(1 / iscale);
        for (int g = 0; g < 16; g++) {
            int s = nu_nearest_int(iscale * scales[g]);
            y->scales[g] = (int8_t)(s < 127 ? s : 127);
        }
        for (int g = 0; g < 16; g++) {
            float d = nu_f16_to_f32(y->d) * (float)y->scales[g];
            if (!d)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (int8_t)(clampi(nu_nearest_int(x[16 * g + l] / d), -32, 31) + 32);
        }
        for (int e = 0; e < NU_QK_K; e++) {
            int h = e / 128, s = e % 128 / 32, l = e % 32;
            y->ql[64 * h + 32 * (s % 2) + l] |= (uint8_t)((L[e] & 15) << 4 * (s / 2));
            y->qh[32 * h + l] |= (uint8_t)((L[e] >> 4) << 2 * s);
        }
    }
}

/* --- Q8_K ----------------------------------------------------------------------------------- */

void nu_dequantize_q8_K(const void *src, float *dst, int64_t n) {
    const NuBlockQ8_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++)
        for (int e = 0; e < NU_QK_K; e++)
            *dst++ = b->d * (float)b->qs[e];
}

/* ggml's quantize_row_q8_K_ref: levels -127..127 (ggml scales by -127 / max, not 128), and
 * the sum of each group of 16 in bsums for the K-quants' mins. */
void nu_quantize_q8_K(const float *x, void *dst, int64_t n) {
    NuBlockQ8_K *y = dst;
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        float max = 0, amax = 0;
        for (int e = 0; e < NU_QK_K; e++) {
            float ax = fabsf(x[e]);
            if (ax > amax) {
                amax = ax;
                max = x[e];
            }
        }
        if (!amax) {
            memset(y, 0, sizeof *y);
            continue;
        }
        float iscale = -127.0f / max;
        for (int e = 0; e < NU_QK_K; e++) {
            int v = nu_nearest_int(iscale * x[e]);
            y->qs[e] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y->qs[16 * g + l];
            y->bsums[g] = (int16_t)sum;
        }
        y->d = 1 / iscale;
    }
}

/* --- matrix-vector products ------------------------------------------------------------------
 * Per super-block, integer sums (exact) then kquants.h's float formula. Scalar code: one row
 * at a time, block b into acc[b % 4]. SIMD code: four rows in lanes (rows4.h); the weights'
 * levels are unpacked to i8 lanes and multiplied against the activations widened to i16. */

/* The per-row integer parts of a super-block: the scales (and mins) as plain ints. */
static void q2_scales(const NuBlockQ2_K *b, int *sc, int *m) {
    for (int g = 0; g < 16; g++) {
        sc[g] = b->scales[g] & 15;
        m[g] = b->scales[g] >> 4;
    }
}

static void k4_scales(const uint8_t *packed, int *sc, int *m) {
    for (int j = 0; j < 8; j++)
        nu_kq_scale_min(packed, j, &sc[j], &m[j]);
}

/* sum over groups of min_g * (sum of x over group g), group size 16 or 32 */
static int32_t mins_dot(const int *m, const int16_t *bsums, int group) {
    int32_t s = 0;
    if (group == 16)
        for (int g = 0; g < 16; g++)
            s += m[g] * bsums[g];
    else
        for (int j = 0; j < 8; j++)
            s += m[j] * (bsums[2 * j] + bsums[2 * j + 1]);
    return s;
}

static inline float block_value(float dw, float dmin, float dx, int32_t isum, int32_t imin) {
    return (dw * dx) * (float)isum - (dmin * dx) * (float)imin;
}

static inline float block_value_sym(float dw, float dx, int32_t isum) {
    return (dw * dx) * (float)isum;
}

#ifndef NU_SIMD

/* isum of one super-block for a row, scales[g] per group of `group` elements and level(e)
 * the element's signed level: the scalar definition every build reproduces. */
#define ISUM(group, scale_of, level_of)                                                          \
    do {                                                                                         \
        isum = 0;                                                                                \
        for (int g = 0; g < NU_QK_K / (group); g++) {                                            \
            int32_t s = 0;                                                                       \
            for (int l = 0; l < (group); l++) {                                                  \
                int e = (group) * g + l;                                                         \
                s += (level_of) * xb->qs[e];                                                     \
            }                                                                                    \
            isum += (scale_of) * s;                                                              \
        }                                                                                        \
    } while (0)

void nu_matvec_q2_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const int64_t nb = cols / NU_QK_K;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockQ2_K *wb = (const NuBlockQ2_K *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, wb++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int sc[16], m[16];
            int32_t isum;
            q2_scales(wb, sc, m);
            ISUM(16, sc[g], wb->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3);
            acc[b % 4] += block_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum,
                                      mins_dot(m, xb->bsums, 16));
        }
        out[r] = rows4_reduce(acc);
    }
}

void nu_matvec_q3_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const int64_t nb = cols / NU_QK_K;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockQ3_K *wb = (const NuBlockQ3_K *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, wb++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int sc[16];
            int32_t isum;
            q3_scales(wb->scales, sc);
            ISUM(16, sc[g] - 32,
                 (wb->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3) + 4 * (wb->hmask[e % 32] >> (e / 32) & 1) - 4);
            acc[b % 4] += block_value_sym(nu_f16_to_f32(wb->d), xb->d, isum);
        }
        out[r] = rows4_reduce(acc);
    }
}

void nu_matvec_q4_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const int64_t nb = cols / NU_QK_K;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockQ4_K *wb = (const NuBlockQ4_K *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, wb++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int sc[8], m[8];
            int32_t isum;
            k4_scales(wb->scales, sc, m);
            ISUM(32, sc[g], wb->qs[32 * (e / 64) + e % 32] >> 4 * (e / 32 % 2) & 15);
            acc[b % 4] += block_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum,
                                      mins_dot(m, xb->bsums, 32));
        }
        out[r] = rows4_reduce(acc);
    }
}

void nu_matvec_q5_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const int64_t nb = cols / NU_QK_K;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockQ5_K *wb = (const NuBlockQ5_K *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, wb++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int sc[8], m[8];
            int32_t isum;
            k4_scales(wb->scales, sc, m);
            ISUM(32, sc[g],
                 (wb->qs[32 * (e / 64) + e % 32] >> 4 * (e / 32 % 2) & 15) + 16 * (wb->qh[e % 32] >> (e / 32) & 1));
            acc[b % 4] += block_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum,
                                      mins_dot(m, xb->bsums, 32));
        }
        out[r] = rows4_reduce(acc);
    }
}

void nu_matvec_q6_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    const int64_t nb = cols / NU_QK_K;
    for (int64_t r = 0; r < rows; r++) {
        const NuBlockQ6_K *wb = (const NuBlockQ6_K *)((const uint8_t *)w + (size_t)r * row_bytes);
        float acc[4] = {0};
        for (int64_t b = 0; b < nb; b++, wb++) {
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
            int32_t isum;
            ISUM(16, wb->scales[g], q6_level(wb, e) - 32);
            acc[b % 4] += block_value_sym(nu_f16_to_f32(wb->d), xb->d, isum);
        }
        out[r] = rows4_reduce(acc);
    }
}

#undef ISUM

#else

/* The activation super-block widened to i16: x[2k], x[2k + 1] hold elements 16k..16k+15. */
static inline void widen_q8_K(const NuBlockQ8_K *b, v128 *x) {
    for (int k = 0; k < 16; k++) {
        v128 q = v128_load(b->qs + 16 * k);
        x[2 * k] = i16x8_extend_low_i8x16(q);
        x[2 * k + 1] = i16x8_extend_high_i8x16(q);
    }
}

/* acc += scale * (q . x) for 16 levels in i8 lanes against widened group x. */
static inline v128 scaled_dot16(v128 acc, v128 q, const v128 *x, int scale) {
    return i32x4_add(acc, i32x4_mul(rows4_dot16(q, x), i32x4_splat(scale)));
}

/* Row pointers for a group of n <= 4 rows; the missing ones repeat the last. */
static inline void rows4_ptrs(const void *w, size_t row_bytes, int n, const uint8_t **p) {
    for (int k = 0; k < 4; k++)
        p[k] = (const uint8_t *)w + (size_t)(k < n ? k : n - 1) * row_bytes;
}

/* The isum partials of one row's Q2_K super-block. Element 128h + 32s + l: bits 2s of
 * qs[32h + l]; group 8h + 2s + l / 16. */
static inline v128 isum_q2_K(const NuBlockQ2_K *b, const int *sc, const v128 *x) {
    v128 acc = i32x4_splat(0), three = i8x16_splat(3);
    for (int h = 0; h < 2; h++) {
        v128 q0 = v128_load(b->qs + 32 * h), q1 = v128_load(b->qs + 32 * h + 16);
        for (int s = 0; s < 4; s++) {
            int g = 8 * h + 2 * s;
            acc = scaled_dot16(acc, v128_and(u16x8_shr(q0, 2 * s), three), x + 2 * g, sc[g]);
            acc = scaled_dot16(acc, v128_and(u16x8_shr(q1, 2 * s), three), x + 2 * g + 2, sc[g + 1]);
        }
    }
    return acc;
}

/* Q3_K: the Q2_K low bits, plus 4 where hmask[l] bit 4h + s is set, minus 4. */
static inline v128 isum_q3_K(const NuBlockQ3_K *b, const int *sc, const v128 *x) {
    v128 acc = i32x4_splat(0), three = i8x16_splat(3), four = i8x16_splat(4);
    v128 m0 = v128_load(b->hmask), m1 = v128_load(b->hmask + 16);
    for (int h = 0; h < 2; h++) {
        v128 q0 = v128_load(b->qs + 32 * h), q1 = v128_load(b->qs + 32 * h + 16);
        for (int s = 0; s < 4; s++) {
            int g = 8 * h + 2 * s;
            v128 bit = i8x16_splat((int8_t)(1 << (4 * h + s)));
            v128 h0 = v128_and(i8x16_eq(v128_and(m0, bit), bit), four);
            v128 h1 = v128_and(i8x16_eq(v128_and(m1, bit), bit), four);
            v128 l0 = i8x16_sub(v128_or(v128_and(u16x8_shr(q0, 2 * s), three), h0), four);
            v128 l1 = i8x16_sub(v128_or(v128_and(u16x8_shr(q1, 2 * s), three), h1), four);
            acc = scaled_dot16(acc, l0, x + 2 * g, sc[g] - 32);
            acc = scaled_dot16(acc, l1, x + 2 * g + 2, sc[g + 1] - 32);
        }
    }
    return acc;
}

/* Q4_K: group j = 2p + s is nibble s of qs[32p .. 32p + 31]. */
static inline v128 isum_q4_K(const NuBlockQ4_K *b, const int *sc, const v128 *x) {
    v128 acc = i32x4_splat(0), low = i8x16_splat(15);
    for (int p = 0; p < 4; p++) {
        v128 q0 = v128_load(b->qs + 32 * p), q1 = v128_load(b->qs + 32 * p + 16);
        const v128 *xp = x + 8 * p;
        acc = scaled_dot16(acc, v128_and(q0, low), xp, sc[2 * p]);
        acc = scaled_dot16(acc, v128_and(q1, low), xp + 2, sc[2 * p]);
        acc = scaled_dot16(acc, u8x16_shr4(q0), xp + 4, sc[2 * p + 1]);
        acc = scaled_dot16(acc, u8x16_shr4(q1), xp + 6, sc[2 * p + 1]);
    }
    return acc;
}

/* Q5_K: Q4_K's nibbles plus 16 where qh[l] bit j is set. */
static inline v128 isum_q5_K(const NuBlockQ5_K *b, const int *sc, const v128 *x) {
    v128 acc = i32x4_splat(0), low = i8x16_splat(15), sixteen = i8x16_splat(16);
    v128 m0 = v128_load(b->qh), m1 = v128_load(b->qh + 16);
    for (int p = 0; p < 4; p++) {
        v128 q0 = v128_load(b->qs + 32 * p), q1 = v128_load(b->qs + 32 * p + 16);
        const v128 *xp = x + 8 * p;
        for (int s = 0; s < 2; s++) {
            int j = 2 * p + s;
            v128 bit = i8x16_splat((int8_t)(1 << j));
            v128 h0 = v128_and(i8x16_eq(v128_and(m0, bit), bit), sixteen);
            v128 h1 = v128_and(i8x16_eq(v128_and(m1, bit), bit), sixteen);
            v128 n0 = s ? u8x16_shr4(q0) : v128_and(q0, low), n1 = s ? u8x16_shr4(q1) : v128_and(q1, low);
            acc = scaled_dot16(acc, v128_or(n0, h0), xp + 4 * s, sc[j]);
            acc = scaled_dot16(acc, v128_or(n1, h1), xp + 4 * s + 2, sc[j]);
        }
    }
    return acc;
}

/* Q6_K: element 128h + 32s + l has nibble s / 2 of ql[64h + 32 (s % 2) + l] and bits 2s of
 * qh[32h + l] (moved to bits 4-5 by 16-bit shifts; the mask drops what crossed bytes). */
static inline v128 isum_q6_K(const NuBlockQ6_K *b, const v128 *x) {
    v128 acc = i32x4_splat(0), low = i8x16_splat(15), top = i8x16_splat(0x30), bias = i8x16_splat(32);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        v128 a0 = v128_load(ql), a1 = v128_load(ql + 16), c0 = v128_load(ql + 32), c1 = v128_load(ql + 48);
        v128 h0 = v128_load(qh), h1 = v128_load(qh + 16);
        for (int s = 0; s < 4; s++) {
            v128 n0 = s % 2 ? c0 : a0, n1 = s % 2 ? c1 : a1;
            n0 = s / 2 ? u8x16_shr4(n0) : v128_and(n0, low);
            n1 = s / 2 ? u8x16_shr4(n1) : v128_and(n1, low);
            v128 t0 = s < 2 ? i16x8_shl(h0, 4 - 2 * s) : u16x8_shr(h0, 2 * s - 4);
            v128 t1 = s < 2 ? i16x8_shl(h1, 4 - 2 * s) : u16x8_shr(h1, 2 * s - 4);
            int g = 8 * h + 2 * s;
            acc = scaled_dot16(acc, i8x16_sub(v128_or(n0, v128_and(t0, top)), bias), x + 2 * g, b->scales[g]);
            acc = scaled_dot16(acc, i8x16_sub(v128_or(n1, v128_and(t1, top)), bias), x + 2 * g + 2,
                               b->scales[g + 1]);
        }
    }
    return acc;
}

/* One matvec per type over four-row groups: each super-block, the activations are widened
 * once, each row gives its isum partials (and scalar imin), then kquants.h's formula runs
 * with the rows in lanes. */
#define MATVEC4(Block, nscales, decode, isum_call, has_min, imin_expr, dmin_field)               \
    const int64_t nb = cols / NU_QK_K;                                                           \
    v128 xw[32];                                                                                 \
    for (int64_t r = 0; r < rows; r += 4) {                                                      \
        int n = rows - r < 4 ? (int)(rows - r) : 4;                                              \
        const uint8_t *p[4];                                                                     \
        rows4_ptrs((const uint8_t *)w + (size_t)r * row_bytes, row_bytes, n, p);                 \
        Rows4Acc acc = rows4_zero();                                                             \
        for (int64_t b = 0; b < nb; b++) {                                                       \
            const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;                                  \
            const Block *wb[4];                                                                  \
            v128 part[4];                                                                        \
            int32_t imin[4] = {0};                                                               \
            widen_q8_K(xb, xw);                                                                  \
            for (int k = 0; k < 4; k++) {                                                        \
                int sc[nscales], m[nscales];                                                     \
                wb[k] = (const Block *)p[k] + b;                                                 \
                decode;                                                                          \
                part[k] = isum_call;                                                             \
                if (has_min)                                                                     \
                    imin[k] = imin_expr;                                                         \
                (void)m;                                                                         \
            }                                                                                    \
            v128 isum = rows4_hsum(part[0], part[1], part[2], part[3]);                          \
            v128 dx = f32x4_splat(xb->d);                                                        \
            v128 v = f32x4_mul(f32x4_mul(rows4_halves(wb[0]->d, wb[1]->d, wb[2]->d, wb[3]->d), dx), \
                               f32x4_convert_i32x4(isum));                                       \
            if (has_min) {                                                                       \
                v128 dm = rows4_halves(wb[0]->dmin_field, wb[1]->dmin_field, wb[2]->dmin_field,  \
                                       wb[3]->dmin_field);                                       \
                v = f32x4_sub(v, f32x4_mul(f32x4_mul(dm, dx),                                    \
                                           f32x4_convert_i32x4(u32x4_make((uint32_t)imin[0],     \
                                               (uint32_t)imin[1], (uint32_t)imin[2], (uint32_t)imin[3])))); \
            }                                                                                    \
            rows4_add(&acc, v);                                                                  \
        }                                                                                        \
        rows4_store(&acc, out + r, n);                                                           \
    }

void nu_matvec_q2_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    MATVEC4(NuBlockQ2_K, 16, q2_scales(wb[k], sc, m), isum_q2_K(wb[k], sc, xw), 1, mins_dot(m, xb->bsums, 16), dmin)
}

void nu_matvec_q3_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    MATVEC4(NuBlockQ3_K, 16, q3_scales(wb[k]->scales, sc), isum_q3_K(wb[k], sc, xw), 0, 0, d)
}

void nu_matvec_q4_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    MATVEC4(NuBlockQ4_K, 8, k4_scales(wb[k]->scales, sc, m), isum_q4_K(wb[k], sc, xw), 1, mins_dot(m, xb->bsums, 32),
            dmin)
}

void nu_matvec_q5_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    MATVEC4(NuBlockQ5_K, 8, k4_scales(wb[k]->scales, sc, m), isum_q5_K(wb[k], sc, xw), 1, mins_dot(m, xb->bsums, 32),
            dmin)
}

void nu_matvec_q6_K(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    MATVEC4(NuBlockQ6_K, 1, (void)sc, isum_q6_K(wb[k], xw), 0, 0, d)
}

#undef MATVEC4

#endif
