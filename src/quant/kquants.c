/* The K-quants (Q2_K ... Q6_K) and Q8_K: dequantize, ggml's reference quantizers, and the
 * matrix-vector products against a Q8_K vector. kquants.h has the layouts and the order
 * the products add in. */
#include "quant/family.h"
#include "quant/kquants.h"

#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant/util.h"

#define GROUP_MAX_EPS 1e-15f /* ggml's threshold below which a group is all zero */

static inline int clampi(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* --- the scale searches of ggml's reference quantizers ------------------------------------ */

/* ggml's make_qx_quants with rmse_type 1 and no weights (Q6_K): symmetric levels
 * -nmax..nmax-1, weights x^2, the best of 19 scales around nmax / max. L gets level + nmax. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = signed_absmax(x, n), amax = fabsf(max);
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
    float max = signed_absmax(x, n), amax = fabsf(max);
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

void nu_q2_K_to_float(const void *src, float *dst, int64_t n) {
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

void nu_q2_K_from_float(const float *x, void *dst, int64_t n) {
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

/* The 16 scales of a Q3_K super-block, 0..63 (the value used is scale - 32), by 32-bit word
 * operations on bytes: the low nibbles of bytes 0-7 are groups 0-7, their high nibbles groups
 * 8-15, and byte 8 + g % 4 holds group g's top two bits at bits 2 (g / 4). */
static inline void q3_scales(const uint8_t *s, uint8_t *out) {
    uint32_t w[3], v[4];
    memcpy(w, s, 12);
    v[0] = (w[0] & 0x0f0f0f0f) | (w[2] & 0x03030303) << 4;
    v[1] = (w[1] & 0x0f0f0f0f) | (w[2] >> 2 & 0x03030303) << 4;
    v[2] = (w[0] >> 4 & 0x0f0f0f0f) | (w[2] >> 4 & 0x03030303) << 4;
    v[3] = (w[1] >> 4 & 0x0f0f0f0f) | (w[2] >> 6 & 0x03030303) << 4;
    memcpy(out, v, 16);
}

void nu_q3_K_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ3_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        uint8_t sc[16];
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

void nu_q3_K_from_float(const float *x, void *dst, int64_t n) {
    NuBlockQ3_K *y = dst;
    int8_t L[NU_QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        for (int j = 0; j < 16; j++)
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        float max_scale = signed_absmax(scales, 16);
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
        uint8_t sc[16];
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

void nu_q4_K_to_float(const void *src, float *dst, int64_t n) {
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

void nu_q5_K_to_float(const void *src, float *dst, int64_t n) {
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

void nu_q4_K_from_float(const float *x, void *dst, int64_t n) {
    NuBlockQ4_K *y = dst;
    uint8_t L[NU_QK_K];
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        quantize_kx_super(x, 15, -1.0f, 20, &y->d, &y->dmin, y->scales, L);
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                y->qs[32 * p + l] = (uint8_t)(L[64 * p + l] | L[64 * p + 32 + l] << 4);
    }
}

void nu_q5_K_from_float(const float *x, void *dst, int64_t n) {
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

void nu_q6_K_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ6_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        float d = nu_f16_to_f32(b->d);
        for (int e = 0; e < NU_QK_K; e++)
            *dst++ = d * (float)b->scales[e / 16] * (float)(q6_level(b, e) - 32);
    }
}

void nu_q6_K_from_float(const float *x, void *dst, int64_t n) {
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

void nu_q8_K_to_float(const void *src, float *dst, int64_t n) {
    const NuBlockQ8_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++)
        for (int e = 0; e < NU_QK_K; e++)
            *dst++ = b->d * (float)b->qs[e];
}

/* ggml's quantize_row_q8_K_ref: levels -127..127 (ggml scales by -127 / max, not 128), and
 * the sum of each group of 16 in bsums for the K-quants' mins. */
void nu_q8_K_from_float(const float *x, void *dst, int64_t n) {
    NuBlockQ8_K *y = dst;
    for (int64_t i = 0; i < n / NU_QK_K; i++, y++, x += NU_QK_K) {
        float max = signed_absmax(x, NU_QK_K);
        if (!max) {
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

/* The packed 6-bit scales and mins of Q4_K/Q5_K as 8 scale bytes then 8 min bytes, by 32-bit
 * word operations on bytes (nu_kq_scale_min for all eight groups at once: groups 0-3 are the
 * low 6 bits of words 0 and 1; groups 4-7 a nibble of word 2 and the top 2 bits of words 0
 * and 1). */
static inline void k4_unpack(const uint8_t *packed, uint8_t *out) {
    uint32_t w[3], v[4];
    memcpy(w, packed, 12);
    v[0] = w[0] & 0x3f3f3f3f;
    v[1] = (w[2] & 0x0f0f0f0f) | (w[0] >> 6 & 0x03030303) << 4;
    v[2] = w[1] & 0x3f3f3f3f;
    v[3] = (w[2] >> 4 & 0x0f0f0f0f) | (w[1] >> 6 & 0x03030303) << 4;
    memcpy(out, v, 16);
}

/* --- unpacked for the batched product (NuBlockK16, kquants.h) -------------------------------
 * Each fills level e of super-block b through one formula per type, the to_float layouts. */

static NuBlockK16 *k16_begin(NuBlockK16 *y, float d, float dmin) {
    y->d = d;
    y->dmin = dmin;
    memset(y->mins, 0, sizeof y->mins);
    return y;
}

#ifndef NU_SIMD /* (the SIMD forms are at the end of this file) */
void nu_q2_K_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ2_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), nu_f16_to_f32(b->dmin));
        for (int g = 0; g < 16; g++)
            y->mins[g] = b->scales[g] >> 4;
        for (int e = 0; e < NU_QK_K; e++)
            y->qs[e] = (int16_t)((b->scales[e / 16] & 15) * (b->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3));
    }
}

void nu_q3_K_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ3_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), 0.0f);
        uint8_t sc[16];
        q3_scales(b->scales, sc);
        for (int e = 0; e < NU_QK_K; e++) {
            int low = b->qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32) & 3;
            int high = b->hmask[e % 32] >> (e / 32) & 1;
            y->qs[e] = (int16_t)((sc[e / 16] - 32) * (low - (high ? 0 : 4)));
        }
    }
}

#endif

/* The scalar Q4_K, Q5_K and Q6_K forms; the SIMD ones are at the end (the batched product). */
#ifndef NU_SIMD

/* Q4_K and Q5_K (has_qh 0 for Q4_K): blocks of `stride` bytes, qs/qh at their offsets. */
static void k4_to_wide(const uint8_t *blk, size_t stride, int has_qh, void *dst, int64_t n) {
    for (int64_t i = 0; i < n / NU_QK_K; i++, blk += stride) {
        const NuBlockQ4_K *b4 = (const void *)blk;
        const NuBlockQ5_K *b5 = (const void *)blk;
        const uint8_t *qs = has_qh ? b5->qs : b4->qs, *qh = has_qh ? b5->qh : NULL;
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b4->d), nu_f16_to_f32(b4->dmin));
        for (int j = 0; j < 8; j++) {
            int sc, m;
            nu_kq_scale_min(b4->scales, j, &sc, &m);
            y->mins[2 * j] = y->mins[2 * j + 1] = (int16_t)m;
            for (int l = 0; l < 32; l++) {
                int v = (qs[32 * (j / 2) + l] >> 4 * (j % 2) & 15) + (qh ? (qh[l] >> j & 1) << 4 : 0);
                y->qs[32 * j + l] = (int16_t)(sc * v);
            }
        }
    }
}

void nu_q4_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_wide(src, sizeof(NuBlockQ4_K), 0, dst, n);
}

void nu_q5_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_wide(src, sizeof(NuBlockQ5_K), 1, dst, n);
}

void nu_q6_K_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ6_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), 0.0f);
        for (int e = 0; e < NU_QK_K; e++)
            y->qs[e] = (int16_t)(b->scales[e / 16] * (q6_level(b, e) - 32));
    }
}

#endif

/* --- matrix-vector products ------------------------------------------------------------------
 * Each super-block's term (kquants.h's formula) from exact integer sums, added by util.h's
 * drivers in lane b % 4: the scalar code one row at a time, the SIMD code four rows in lanes. */

#ifndef NU_SIMD

static inline float term_value(float dw, float dmin, float dx, int32_t isum, int32_t imin) {
    return (dw * dx) * (float)isum - (dmin * dx) * (float)imin;
}

static inline float term_value_sym(float dw, float dx, int32_t isum) {
    return (dw * dx) * (float)isum;
}

/* The scalar integer sums walk the layouts of kquants.h group by group (16 or 32 elements
 * under one scale); exact, so any order gives the SIMD code's sums. */

/* sum over groups of min_g * (the activations' sum over group g) */
static int32_t imin_16(const NuBlockQ2_K *w, const NuBlockQ8_K *x) {
    int32_t s = 0;
    for (int g = 0; g < 16; g++)
        s += (w->scales[g] >> 4) * x->bsums[g];
    return s;
}

static int32_t imin_32(const uint8_t *mins, const NuBlockQ8_K *x) {
    int32_t s = 0;
    for (int j = 0; j < 8; j++)
        s += mins[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
    return s;
}

/* Q2_K and Q3_K: group g = 8h + 2s + half holds bits 2s of qs[32h + 16 half + l], l < 16;
 * Q3_K adds 4 where hmask[16 half + l] has bit 4h + s, then subtracts 4. */
static int32_t isum_2bit(const uint8_t *qs, const uint8_t *hmask, const int *scale, const int8_t *x) {
    int32_t isum = 0;
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int half = 0; half < 2; half++) {
                const uint8_t *q = qs + 32 * h + 16 * half;
                const int8_t *xg = x + 128 * h + 32 * s + 16 * half;
                int32_t sum = 0;
                for (int l = 0; l < 16; l++) {
                    int level = q[l] >> 2 * s & 3;
                    if (hmask)
                        level += 4 * (hmask[16 * half + l] >> (4 * h + s) & 1) - 4;
                    sum += level * xg[l];
                }
                isum += scale[8 * h + 2 * s + half] * sum;
            }
    return isum;
}

/* Q4_K and Q5_K: group j = 2p + s holds nibble s of qs[32p + l], l < 32; Q5_K adds 16 where
 * qh[l] has bit j. */
static int32_t isum_4bit(const uint8_t *qs, const uint8_t *qh, const uint8_t *scale, const int8_t *x) {
    int32_t isum = 0;
    for (int j = 0; j < 8; j++) {
        const uint8_t *q = qs + 32 * (j / 2);
        int32_t sum = 0;
        for (int l = 0; l < 32; l++) {
            int level = q[l] >> 4 * (j % 2) & 15;
            if (qh)
                level += 16 * (qh[l] >> j & 1);
            sum += level * x[32 * j + l];
        }
        isum += scale[j] * sum;
    }
    return isum;
}

static float term_q2_K(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ2_K *wb = (const NuBlockQ2_K *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    int sc[16];
    for (int g = 0; g < 16; g++)
        sc[g] = wb->scales[g] & 15;
    return term_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum_2bit(wb->qs, NULL, sc, xb->qs),
                      imin_16(wb, xb));
}

static float term_q3_K(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ3_K *wb = (const NuBlockQ3_K *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    uint8_t packed[16];
    int sc[16];
    q3_scales(wb->scales, packed);
    for (int g = 0; g < 16; g++)
        sc[g] = packed[g] - 32;
    return term_value_sym(nu_f16_to_f32(wb->d), xb->d, isum_2bit(wb->qs, wb->hmask, sc, xb->qs));
}

static float term_q4_K(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ4_K *wb = (const NuBlockQ4_K *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    uint8_t sm[16];
    k4_unpack(wb->scales, sm);
    return term_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum_4bit(wb->qs, NULL, sm, xb->qs),
                      imin_32(sm + 8, xb));
}

static float term_q5_K(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ5_K *wb = (const NuBlockQ5_K *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    uint8_t sm[16];
    k4_unpack(wb->scales, sm);
    return term_value(nu_f16_to_f32(wb->d), nu_f16_to_f32(wb->dmin), xb->d, isum_4bit(wb->qs, wb->qh, sm, xb->qs),
                      imin_32(sm + 8, xb));
}

/* Q6_K: group g = 8h + 2s + half, element l < 16 of it at ll = 16 half + l: nibble s / 2 of
 * ql[64h + 32 (s % 2) + ll], high bits 2s of qh[32h + ll]; level - 32. */
static float term_q6_K(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockQ6_K *wb = (const NuBlockQ6_K *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    int32_t isum = 0;
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = wb->ql + 64 * h + 32 * (s % 2) + 16 * half, *qh = wb->qh + 32 * h + 16 * half;
                const int8_t *xg = xb->qs + 128 * h + 32 * s + 16 * half;
                int32_t sum = 0;
                for (int l = 0; l < 16; l++)
                    sum += (((ql[l] >> 4 * (s / 2) & 15) | (qh[l] >> 2 * s & 3) << 4) - 32) * xg[l];
                isum += wb->scales[8 * h + 2 * s + half] * sum;
            }
    return term_value_sym(nu_f16_to_f32(wb->d), xb->d, isum);
}

/* NuBlockK16: the integers of the packed block, so term_value / term_value_sym as its type. */
static int32_t isum_k16(const NuBlockK16 *w, const NuBlockQ8_K *x, int32_t *imin) {
    int32_t isum = 0, m = 0;
    for (int e = 0; e < NU_QK_K; e++)
        isum += w->qs[e] * x->qs[e];
    for (int g = 0; g < 16; g++)
        m += w->mins[g] * x->bsums[g];
    *imin = m;
    return isum;
}

static float term_k16(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockK16 *wb = (const NuBlockK16 *)(const void *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    int32_t imin, isum = isum_k16(wb, xb, &imin);
    return term_value(wb->d, wb->dmin, xb->d, isum, imin);
}

static float term_k16_sym(const uint8_t *row, int64_t b, const void *x) {
    const NuBlockK16 *wb = (const NuBlockK16 *)(const void *)row + b;
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
    int32_t imin, isum = isum_k16(wb, xb, &imin);
    return term_value_sym(wb->d, xb->d, isum);
}

/* the driver of a matvec: rows one at a time */
#define DRIVE(T, w, row_bytes, rows, cols, x, out, il) rows1_matvec(w, row_bytes, rows, (cols) / NU_QK_K, x, out, term_##T, il)

#else

/* SIMD: per super-block the activations go through in chunks of 32, widened to i16 once for
 * the four rows; each row's chunk gives i32x4 partial sums already multiplied by its group
 * scales, and the mins' sum is a vector dot of the mins with the activations' group sums.
 * Integer arithmetic throughout, so the sums are exact and the float step is the scalar one,
 * four rows in lanes. */

#ifdef NU_RELAXED
/* Relaxed SIMD (simd.h): levels in [0, 63] are the i7 operands of byte dot products against
 * the activations as they are. A group of 16 gives i16 pair sums (below 2 * 63 * 127), and
 * one i16 dot product with the group's scale splatted both widens and scales them. */
typedef struct {
    v128 lo, hi; /* a chunk's 32 activations: elements 0-15, 16-31 */
} Bytes32;

static inline Bytes32 bytes32(const int8_t *qs) { return (Bytes32){v128_load(qs), v128_load(qs + 16)}; }

/* A row's group scales as i16 lanes (group g in lane g % 8 of v[g / 8]), from 16 signed
 * bytes, once per super-block; a chunk broadcasts its lanes with one swizzle each. */
typedef struct {
    v128 v[2];
} Scales16;

static inline Scales16 scales16(v128 bytes) {
    return (Scales16){{i16x8_extend_low_i8x16(bytes), i16x8_extend_high_i8x16(bytes)}};
}

/* group g's scale in every i16 lane */
static inline v128 group_scale(const Scales16 *s, int g) {
    return i8x16_swizzle(s->v[g / 8], i16x8_splat((int16_t)(0x0100 + 0x0202 * (g % 8))));
}

/* i32x4 partials of s_lo * (lo . x[0..15]) + s_hi * (hi . x[16..31]) (a scale per 16) */
static inline v128 rdot32_scaled2(v128 lo, v128 hi, const Bytes32 *x, v128 s_lo, v128 s_hi) {
    return i32x4_add(i32x4_dot_i16x8(i16x8_dot_i8x16_i7x16(x->lo, lo), s_lo),
                     i32x4_dot_i16x8(i16x8_dot_i8x16_i7x16(x->hi, hi), s_hi));
}

/* s * (lo . x[0..15] + hi . x[16..31]) (a scale per 32; levels below 32, so the pair sums of
 * both halves still fit i16) */
static inline v128 rdot32_scaled(v128 lo, v128 hi, const Bytes32 *x, v128 s) {
    return i32x4_dot_i16x8(i16x8_add(i16x8_dot_i8x16_i7x16(x->lo, lo), i16x8_dot_i8x16_i7x16(x->hi, hi)), s);
}

/* the group scales of the four rows, made by each kernel below, as its chunks read them */
#define SCALE(k, g) group_scale(&s16[k], g)
#define SCALES16(bytes_of_k)                                                                     \
    Scales16 s16[4];                                                                             \
    for (int k = 0; k < 4; k++)                                                                  \
        s16[k] = scales16(bytes_of_k);
/* the chunk forms the kernels below are written in (CHUNK_ACT_I8: for i8 levels) */
#define CHUNK_ACT bytes32
#define CHUNK_ACT_I8 bytes32
#define SCALED2 rdot32_scaled2
#define SCALED_U2 rdot32_scaled2
#define SCALED_U rdot32_scaled
#else
/* q . x for 16 levels in i8 lanes against 16 widened activations, as i32x4 partials */
static inline v128 dot16(v128 q, const v128 *x) {
    return i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(q), x[0]),
                     i32x4_dot_i16x8(i16x8_extend_high_i8x16(q), x[1]));
}

/* lo . x[0..15] * s_lo + hi . x[16..31] * s_hi (the types with a scale per 16) */
static inline v128 dot32_scaled2(v128 lo, v128 hi, const Wide32 *x, int s_lo, int s_hi) {
    return i32x4_add(i32x4_mul(dot16(lo, x->x), i32x4_splat(s_lo)), i32x4_mul(dot16(hi, x->x + 2), i32x4_splat(s_hi)));
}

/* 32 activations as i16: the even and the odd elements of 0-15, then of 16-31 (the order
 * dot16_u8 reads levels in, two bytes to an i16 lane). */
static inline Wide32 evenodd32(const int8_t *qs) {
    v128 a = v128_load(qs), b = v128_load(qs + 16);
    return (Wide32){{i16x8_shr(i16x8_shl(a, 8), 8), i16x8_shr(a, 8), i16x8_shr(i16x8_shl(b, 8), 8), i16x8_shr(b, 8)}};
}

/* 16 levels in u8 lanes (< 128) . 16 activations as evenodd32 holds them: the even bytes
 * masked and the odd ones shifted down are the levels in i16 lanes, no widening. */
static inline v128 dot16_u8(v128 q, const v128 *x) {
    return i32x4_add(i32x4_dot_i16x8(v128_and(q, i16x8_splat(0x00ff)), x[0]), i32x4_dot_i16x8(u16x8_shr(q, 8), x[1]));
}

/* lo . x[0..15] * s_lo + hi . x[16..31] * s_hi for levels in u8 lanes, x as evenodd32 holds
 * it (a scale per 16) */
static inline v128 dot32u_scaled2(v128 lo, v128 hi, const Wide32 *x, int s_lo, int s_hi) {
    return i32x4_add(i32x4_mul(dot16_u8(lo, x->x), i32x4_splat(s_lo)), i32x4_mul(dot16_u8(hi, x->x + 2), i32x4_splat(s_hi)));
}

/* (lo . x[0..15] + hi . x[16..31]) * s, likewise (a scale per 32) */
static inline v128 dot32u_scaled(v128 lo, v128 hi, const Wide32 *x, int s) {
    return i32x4_mul(i32x4_add(dot16_u8(lo, x->x), dot16_u8(hi, x->x + 2)), i32x4_splat(s));
}

/* the chunk forms the kernels below are written in (CHUNK_ACT_I8: for i8 levels) */
#define CHUNK_ACT evenodd32
#define CHUNK_ACT_I8 widen32
#define SCALED2 dot32_scaled2
#define SCALED_U2 dot32u_scaled2
#define SCALED_U dot32u_scaled
#endif

/* Bit `from` of each byte moved to bit `to`, the others cleared, with 16-bit shifts: exact
 * while the neighbour byte's bits cannot land on the kept one (a right shift of at most
 * 7 - to, a left shift of at most to), which the callers keep to. */
static inline v128 move_bit(v128 a, int from, int to) {
    v128 s = from > to ? u16x8_shr(a, from - to) : i16x8_shl(a, to - from);
    return v128_and(s, i8x16_splat((int8_t)(1 << to)));
}

/* The activations' sums per 32 (pairs of bsums) as i16x8, for the Q4_K/Q5_K mins. */
static inline v128 bsums32(const NuBlockQ8_K *x) {
    v128 ones = i32x4_splat(0x00010001);
    return i16x8_narrow_i32x4(i32x4_dot_i16x8(v128_load(x->bsums), ones),
                              i32x4_dot_i16x8(v128_load(x->bsums + 8), ones));
}

static inline v128 mins_dot8(const uint8_t *mins8, v128 bsum8) {
    uint32_t m[2];
    memcpy(m, mins8, 8);
    return i32x4_dot_i16x8(i16x8_extend_low_i8x16(u32x4_make(m[0], m[1], 0, 0)), bsum8);
}

/* Q4_K/Q5_K: the four rows' scales and mins (k4_unpack: sm[k][0..7], sm[k][8..15]), and the
 * mins' sum against the activations' sums per 32 */
#define K4_SCALES                                                                                \
    uint8_t sm[4][16];                                                                           \
    for (int k = 0; k < 4; k++)                                                                  \
        k4_unpack(w[k]->scales, sm[k]);

static inline v128 k4_mins(const uint8_t sm[4][16], const NuBlockQ8_K *xb) {
    v128 bs = bsums32(xb);
    return hsum4_i32x4(mins_dot8(sm[0] + 8, bs), mins_dot8(sm[1] + 8, bs), mins_dot8(sm[2] + 8, bs),
                       mins_dot8(sm[3] + 8, bs));
}

static inline v128 term_values(v128 dw, v128 dmin, float dx, v128 isum, v128 imin) {
    v128 vx = f32x4_splat(dx);
    return f32x4_sub(f32x4_mul(f32x4_mul(dw, vx), f32x4_convert_i32x4(isum)),
                     f32x4_mul(f32x4_mul(dmin, vx), f32x4_convert_i32x4(imin)));
}

static inline v128 term_values_sym(v128 dw, float dx, v128 isum) {
    return f32x4_mul(f32x4_mul(dw, f32x4_splat(dx)), f32x4_convert_i32x4(isum));
}

/* The chunk loop: CHUNK(k) is row k's scaled partial for chunk c, xw its activations (as WIDEN
 * prepares them: widen32, evenodd32 or bytes32). The chunks go in pairs that read the same
 * packed bytes (FIRST(p) and FIRST(p) + GAP, p = 0..3), so that each row loads them once for
 * both, and are unrolled (c is then a constant in the shifts and selects); the rows stay a
 * loop, since V8 spilled registers in the fully unrolled body (wasm Q4_K 836 -> 142 us at
 * 2048x768; clang unrolled the smaller Q6_K body on its own: Q6_K 167 -> 424 us, hence the
 * pragma). */
#define CHUNK_PAIRS(CHUNK, WIDEN, FIRST, GAP)                                                    \
    v128 s[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};              \
    _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) {                                        \
        const int c0 = FIRST(p);                                                                 \
        __typeof__(WIDEN(xb->qs)) xw0 = WIDEN(xb->qs + 32 * c0), xw1 = WIDEN(xb->qs + 32 * (c0 + GAP)); \
        _Pragma("GCC unroll 1") for (int k = 0; k < 4; k++) {                                    \
            v128 t0, t1;                                                                         \
            {                                                                                    \
                const int c = c0;                                                                \
                __typeof__(xw0) xw = xw0;                                                        \
                t0 = CHUNK(k);                                                                   \
            }                                                                                    \
            {                                                                                    \
                const int c = c0 + GAP;                                                          \
                __typeof__(xw0) xw = xw1;                                                        \
                t1 = CHUNK(k);                                                                   \
            }                                                                                    \
            s[k] = i32x4_add(s[k], i32x4_add(t0, t1));                                           \
        }                                                                                        \
    }                                                                                            \
    v128 isum = hsum4_i32x4(s[0], s[1], s[2], s[3]);
/* the pairs: chunks 2p and 2p + 1 (Q5_K: the two nibbles of qs[32p ..]; Q2_K, Q3_K: two
 * shifts of qs[32 (p / 2) ..]); Q6_K's c and c + 2 (the two nibbles of ql) */
#define EVEN_FIRST(p) (2 * (p))
#define Q6_FIRST(p) (4 * ((p) / 2) + (p) % 2)

#define BLOCKS(Block)                                                                            \
    const Block *w[4] = {(const Block *)r[0] + b, (const Block *)r[1] + b, (const Block *)r[2] + b, \
                         (const Block *)r[3] + b};                                               \
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;
#define HALVES(f) halves4(w[0]->f, w[1]->f, w[2]->f, w[3]->f)

/* Q2_K chunk c = 4h + s: bits 2s of qs[32h .. 32h + 31], groups 2c and 2c + 1. */
#define Q2_CHUNK(k)                                                                              \
    SCALED2(v128_and(u16x8_shr(v128_load(w[k]->qs + 32 * (c / 4)), 2 * (c % 4)), three),        \
            v128_and(u16x8_shr(v128_load(w[k]->qs + 32 * (c / 4) + 16), 2 * (c % 4)), three), &xw, \
            Q2_SCALE(k, 2 * c), Q2_SCALE(k, 2 * c + 1))
#ifdef NU_RELAXED
#define Q2_SCALES SCALES16(v128_and(v128_load(w[k]->scales), i8x16_splat(15)))
#define Q2_SCALE SCALE
#else
#define Q2_SCALES
#define Q2_SCALE(k, g) (w[k]->scales[g] & 15)
#endif

/* i32x4 partials of sum over g of m[g] * bsums[g]: 16 signed bytes m against the activations'
 * group sums bs0 (groups 0-7) and bs1 (8-15) */
static inline v128 bsums_dot16(v128 m, v128 bs0, v128 bs1) {
    return i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(m), bs0), i32x4_dot_i16x8(i16x8_extend_high_i8x16(m), bs1));
}

static inline v128 q2_mins(const NuBlockQ2_K *b, v128 bs0, v128 bs1) {
    return bsums_dot16(u8x16_shr4(v128_load(b->scales)), bs0, bs1);
}

static v128 term4_q2_K(const uint8_t *const r[4], int64_t b, const void *x) {
    const v128 three = i8x16_splat(3);
    BLOCKS(NuBlockQ2_K)
    Q2_SCALES
    CHUNK_PAIRS(Q2_CHUNK, CHUNK_ACT_I8, EVEN_FIRST, 1)
    v128 bs0 = v128_load(xb->bsums), bs1 = v128_load(xb->bsums + 8);
    v128 imin = hsum4_i32x4(q2_mins(w[0], bs0, bs1), q2_mins(w[1], bs0, bs1), q2_mins(w[2], bs0, bs1),
                            q2_mins(w[3], bs0, bs1));
    return term_values(HALVES(d), HALVES(dmin), xb->d, isum, imin);
}

/* Q3_K chunk c = 4h + s: Q2_K's low bits, the third bit from hmask bit c moved to bit 2: the
 * level + 4, the 4 coming off after the chunks through the scales . bsums; scales from
 * q3_scales (0..63, used minus 32). */
#define Q3_LEVELS(k, half)                                                                       \
    v128_or(v128_and(u16x8_shr(v128_load(w[k]->qs + 32 * (c / 4) + 16 * (half)), 2 * (c % 4)), three), \
            move_bit(v128_load(w[k]->hmask + 16 * (half)), c, 2))
#define Q3_CHUNK(k) SCALED_U2(Q3_LEVELS(k, 0), Q3_LEVELS(k, 1), &xw, Q3_SCALE(k, 2 * c), Q3_SCALE(k, 2 * c + 1))
#ifdef NU_RELAXED
#define Q3_SCALES SCALES16(i8x16_sub(v128_load(sc[k]), i8x16_splat(32)))
#define Q3_SCALE SCALE
#else
#define Q3_SCALES
#define Q3_SCALE(k, g) (sc[k][g] - 32)
#endif

static v128 term4_q3_K(const uint8_t *const r[4], int64_t b, const void *x) {
    const v128 three = i8x16_splat(3), bias32 = i8x16_splat(32);
    BLOCKS(NuBlockQ3_K)
    uint8_t sc[4][16];
    for (int k = 0; k < 4; k++)
        q3_scales(w[k]->scales, sc[k]);
    Q3_SCALES
    CHUNK_PAIRS(Q3_CHUNK, CHUNK_ACT, EVEN_FIRST, 1)
    v128 bs0 = v128_load(xb->bsums), bs1 = v128_load(xb->bsums + 8);
    v128 bias = hsum4_i32x4(bsums_dot16(i8x16_sub(v128_load(sc[0]), bias32), bs0, bs1),
                            bsums_dot16(i8x16_sub(v128_load(sc[1]), bias32), bs0, bs1),
                            bsums_dot16(i8x16_sub(v128_load(sc[2]), bias32), bs0, bs1),
                            bsums_dot16(i8x16_sub(v128_load(sc[3]), bias32), bs0, bs1));
    return term_values_sym(HALVES(d), xb->d, i32x4_sub(isum, i32x4_shl(bias, 2)));
}

/* Q5_K chunk c = 2p + s: nibble s of qs[32p .. 32p + 31], with qh bit c moved to bit 4;
 * scales and mins from k4_unpack. */
#define Q5_NIBBLES(k, half)                                                                      \
    (c % 2 ? u8x16_shr4(v128_load(w[k]->qs + 32 * (c / 2) + 16 * (half)))                        \
           : v128_and(v128_load(w[k]->qs + 32 * (c / 2) + 16 * (half)), low))
#define Q5_CHUNK(k)                                                                              \
    SCALED_U(v128_or(Q5_NIBBLES(k, 0), move_bit(v128_load(w[k]->qh), c, 4)),                      \
             v128_or(Q5_NIBBLES(k, 1), move_bit(v128_load(w[k]->qh + 16), c, 4)), &xw, Q5_SCALE(k, c))
#ifdef NU_RELAXED
#define Q5_SCALES SCALES16(v128_load(sm[k]))
#define Q5_SCALE SCALE
#else
#define Q5_SCALES
#define Q5_SCALE(k, g) sm[k][g]
#endif

static v128 term4_q5_K(const uint8_t *const r[4], int64_t b, const void *x) {
    const v128 low = i8x16_splat(15);
    BLOCKS(NuBlockQ5_K)
    K4_SCALES
    Q5_SCALES
    CHUNK_PAIRS(Q5_CHUNK, CHUNK_ACT, EVEN_FIRST, 1)
    return term_values(HALVES(d), HALVES(dmin), xb->d, isum, k4_mins(sm, xb));
}

#ifdef NU_RELAXED
/* Q4_K: the 32 bytes of qs[32p ..] hold chunk 2p in the low nibbles and 2p + 1 in the high */
static v128 term4_q4_K(const uint8_t *const r[4], int64_t b, const void *x) {
    const v128 low = i8x16_splat(15);
    BLOCKS(NuBlockQ4_K)
    K4_SCALES
    v128 s[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) {
        Bytes32 x0 = bytes32(xb->qs + 64 * p), x1 = bytes32(xb->qs + 64 * p + 32);
        _Pragma("GCC unroll 1") for (int k = 0; k < 4; k++) {
            v128 q0 = v128_load(w[k]->qs + 32 * p), q1 = v128_load(w[k]->qs + 32 * p + 16);
            s[k] = i32x4_add(s[k], i32x4_add(rdot32_scaled(v128_and(q0, low), v128_and(q1, low), &x0, i16x8_splat(sm[k][2 * p])),
                                             rdot32_scaled(u8x16_shr4(q0), u8x16_shr4(q1), &x1, i16x8_splat(sm[k][2 * p + 1]))));
        }
    }
    v128 isum = hsum4_i32x4(s[0], s[1], s[2], s[3]);
    return term_values(HALVES(d), HALVES(dmin), xb->d, isum, k4_mins(sm, xb));
}
#else
/* Q4_K reads the 32 bytes of qs[32p ..] once for both chunks they hold (2p in the low
 * nibbles, 2p + 1 in the high), as i16 lanes: lane i of a 16-byte half holds elements
 * e = 2i and e + 1 of each, in bits 0-3 (2p's e), 4-7 (2p + 1's e), 8-11 (2p's e + 1) and
 * 12-15 (2p + 1's e + 1). Masked in place, or shifted to bits 4-7 or 0-3, they are the levels
 * times 1, 16, 16 and 1; the activations come times 16, 1, 1 and 16 (K4Half), so every
 * product is 16 * level * x with no widening, and the super-block's sum, a multiple of 16
 * below 16 * 8 * 63 * 32 * 15 * 128 < 2^31, is shifted back exactly. */
typedef struct {
    v128 x[4]; /* 2p's even elements * 16, 2p's odd, 2p + 1's even, 2p + 1's odd * 16 */
} K4Half;

/* a: 16 activations of chunk 2p, b: the same 16 of chunk 2p + 1 */
static inline K4Half k4_half(const int8_t *a, const int8_t *b) {
    v128 va = v128_load(a), vb = v128_load(b);
    return (K4Half){{i16x8_shr(i16x8_shl(va, 8), 4), i16x8_shr(va, 8), i16x8_shr(i16x8_shl(vb, 8), 8),
                     i16x8_shr(v128_and(vb, i16x8_splat((int16_t)0xff00)), 4)}};
}

/* 16 * (chunk 2p's levels . x) in *lo and 16 * (chunk 2p + 1's . x) in *hi, i32x4 partials,
 * for one 16-byte half q */
static inline void k4_dot_half(v128 q, const K4Half *x, v128 *lo, v128 *hi) {
    const v128 m0 = i16x8_splat(0x000f), m1 = i16x8_splat(0x00f0);
    *lo = i32x4_add(i32x4_dot_i16x8(v128_and(q, m0), x->x[0]), i32x4_dot_i16x8(v128_and(u16x8_shr(q, 4), m1), x->x[1]));
    *hi = i32x4_add(i32x4_dot_i16x8(v128_and(q, m1), x->x[2]), i32x4_dot_i16x8(u16x8_shr(q, 12), x->x[3]));
}

static v128 term4_q4_K(const uint8_t *const r[4], int64_t b, const void *x) {
    BLOCKS(NuBlockQ4_K)
    K4_SCALES
    v128 s[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) {
        const int8_t *xq = xb->qs + 64 * p;
        K4Half x0 = k4_half(xq, xq + 32), x1 = k4_half(xq + 16, xq + 48);
        _Pragma("GCC unroll 1") for (int k = 0; k < 4; k++) {
            v128 lo0, hi0, lo1, hi1;
            k4_dot_half(v128_load(w[k]->qs + 32 * p), &x0, &lo0, &hi0);
            k4_dot_half(v128_load(w[k]->qs + 32 * p + 16), &x1, &lo1, &hi1);
            s[k] = i32x4_add(s[k], i32x4_add(i32x4_mul(i32x4_add(lo0, lo1), i32x4_splat(sm[k][2 * p])),
                                             i32x4_mul(i32x4_add(hi0, hi1), i32x4_splat(sm[k][2 * p + 1]))));
        }
    }
    v128 isum = i32x4_shr(hsum4_i32x4(s[0], s[1], s[2], s[3]), 4);
    return term_values(HALVES(d), HALVES(dmin), xb->d, isum, k4_mins(sm, xb));
}
#endif

/* Q6_K chunk c = 4h + s: nibble s / 2 of ql[64h + 32 (s % 2) ..], bits 2s of qh[32h ..]
 * moved to bits 4-5 (16-bit shifts; the mask drops what crossed bytes): the level + 32,
 * 0..63. The 32 comes off after the chunks, as 32 * sum over g of scale_g * bsums[g]. */
#define Q6_QL(k, half) v128_load(w[k]->ql + 64 * (c / 4) + 32 * (c % 2) + 16 * (half))
#define Q6_QH(k, half) v128_load(w[k]->qh + 32 * (c / 4) + 16 * (half))
#define Q6_LEVELS(k, half)                                                                       \
    v128_or(v128_and((c % 4) / 2 ? u16x8_shr(Q6_QL(k, half), 4) : Q6_QL(k, half), low),          \
            v128_and(c % 4 < 2 ? i16x8_shl(Q6_QH(k, half), 4 - 2 * (c % 4))                       \
                               : u16x8_shr(Q6_QH(k, half), 2 * (c % 4) - 4),                      \
                     top))
#ifdef NU_RELAXED
#define Q6_SCALES SCALES16(v128_load(w[k]->scales))
#define Q6_CHUNK(k) rdot32_scaled2(Q6_LEVELS(k, 0), Q6_LEVELS(k, 1), &xw, SCALE(k, 2 * c), SCALE(k, 2 * c + 1))
#else
#define Q6_SCALES
/* (written out: through dot32u_scaled2, clang unrolled the row loop despite the pragma) */
#define Q6_CHUNK(k)                                                                              \
    i32x4_add(i32x4_mul(dot16_u8(Q6_LEVELS(k, 0), xw.x), i32x4_splat(w[k]->scales[2 * c])),       \
              i32x4_mul(dot16_u8(Q6_LEVELS(k, 1), xw.x + 2), i32x4_splat(w[k]->scales[2 * c + 1])))
#endif

static v128 term4_q6_K(const uint8_t *const r[4], int64_t b, const void *x) {
    const v128 low = i8x16_splat(15), top = i8x16_splat(0x30);
    BLOCKS(NuBlockQ6_K)
    Q6_SCALES
    CHUNK_PAIRS(Q6_CHUNK, CHUNK_ACT, Q6_FIRST, 2)
    v128 bs0 = v128_load(xb->bsums), bs1 = v128_load(xb->bsums + 8);
    v128 bias = hsum4_i32x4(bsums_dot16(v128_load(w[0]->scales), bs0, bs1), bsums_dot16(v128_load(w[1]->scales), bs0, bs1),
                            bsums_dot16(v128_load(w[2]->scales), bs0, bs1), bsums_dot16(v128_load(w[3]->scales), bs0, bs1));
    return term_values_sym(HALVES(d), xb->d, i32x4_sub(isum, i32x4_shl(bias, 5)));
}

/* NuBlockK16, four rows: each group of 16 activations widened once, then two i16 dot products
 * per row (the levels come scaled); the mins against bsums likewise. */
static inline v128 k16_isum(const NuBlockK16 *const w[4], const NuBlockQ8_K *xb) {
    v128 s[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    for (int g = 0; g < 16; g++) {
        v128 xq = v128_load(xb->qs + 16 * g);
        v128 xl = i16x8_extend_low_i8x16(xq), xh = i16x8_extend_high_i8x16(xq);
        for (int k = 0; k < 4; k++)
            s[k] = i32x4_add(s[k], i32x4_add(i32x4_dot_i16x8(v128_load(w[k]->qs + 16 * g), xl),
                                             i32x4_dot_i16x8(v128_load(w[k]->qs + 16 * g + 8), xh)));
    }
    return hsum4_i32x4(s[0], s[1], s[2], s[3]);
}

static inline v128 k16_imin(const NuBlockK16 *w, const NuBlockQ8_K *xb) {
    return i32x4_add(i32x4_dot_i16x8(v128_load(w->mins), v128_load(xb->bsums)),
                     i32x4_dot_i16x8(v128_load(w->mins + 8), v128_load(xb->bsums + 8)));
}

#define K16_BLOCKS                                                                               \
    const NuBlockK16 *w[4] = {(const NuBlockK16 *)(const void *)r[0] + b, (const NuBlockK16 *)(const void *)r[1] + b, \
                              (const NuBlockK16 *)(const void *)r[2] + b, (const NuBlockK16 *)(const void *)r[3] + b}; \
    const NuBlockQ8_K *xb = (const NuBlockQ8_K *)x + b;                                          \
    const float d[4] = {w[0]->d, w[1]->d, w[2]->d, w[3]->d};

static v128 term4_k16(const uint8_t *const r[4], int64_t b, const void *x) {
    K16_BLOCKS
    const float dmin[4] = {w[0]->dmin, w[1]->dmin, w[2]->dmin, w[3]->dmin};
    v128 imin = hsum4_i32x4(k16_imin(w[0], xb), k16_imin(w[1], xb), k16_imin(w[2], xb), k16_imin(w[3], xb));
    return term_values(v128_load(d), v128_load(dmin), xb->d, k16_isum(w, xb), imin);
}

static v128 term4_k16_sym(const uint8_t *const r[4], int64_t b, const void *x) {
    K16_BLOCKS
    return term_values_sym(v128_load(d), xb->d, k16_isum(w, xb));
}

/* the driver of a matvec: four rows at a time */
#define DRIVE(T, w, row_bytes, rows, cols, x, out, il) rows4_matvec(w, row_bytes, rows, (cols) / NU_QK_K, x, out, term4_##T, il)

#endif

MATVEC_IL(q2_K)
MATVEC_IL(q3_K)
MATVEC_IL(q4_K)
MATVEC_IL(q5_K)
MATVEC_IL(q6_K)
MATVEC(k16)
MATVEC(k16_sym)

/* --- the batched product: unpacking and the K16 matmul --------------------------------------
 * nu_matmul (kernels.c) unpacks a tile of rows to NuBlockK16 once, then runs every input of
 * the chunk over it. The SIMD unpacking gives the scalar one's integers (exact 16-bit
 * products); the SIMD matmul takes the inputs two at a time, so each 8 levels loaded serve
 * both, and gives each (row, input) the one-input terms in the one-input order. */

#ifdef NU_SIMD

/* Q2_K and Q3_K: elements 128h + 32s + 16half .. + 15 (group 8h + 2s + half) are bits 2s of
 * qs[32h + 16half ..], plus for Q3_K hmask[16half ..] bit 4h + s moved to bit 2 (the level + 4). */
static inline v128 k2_levels(const uint8_t *qs, const uint8_t *hmask, int h, int s, int half) {
    v128 q = v128_and(u16x8_shr(v128_load(qs + 32 * h + 16 * half), 2 * s), i8x16_splat(3));
    return hmask ? v128_or(q, move_bit(v128_load(hmask + 16 * half), 4 * h + s, 2)) : q;
}

/* Q4_K and Q5_K: the 16 levels of half `half` of group j = 2p + s, nibble s of qs[32p ..], plus
 * for Q5_K (qh not NULL) qh bit j moved to bit 4 */
static inline v128 k4_levels(const uint8_t *qs, const uint8_t *qh, int j, int half) {
    v128 q = v128_load(qs + 32 * (j / 2) + 16 * half);
    q = j % 2 ? u8x16_shr4(q) : v128_and(q, i8x16_splat(15));
    return qh ? v128_or(q, move_bit(v128_load(qh + 16 * half), j, 4)) : q;
}

/* Q2_K and Q3_K as NuBlockK16: each group's 16 levels less the offset (Q3_K's 4), times its
 * scale */
static void k2_to_k16(const uint8_t *qs, const uint8_t *hmask, const int16_t *scale, NuBlockK16 *y) {
    const v128 offset = i8x16_splat(hmask ? 4 : 0);
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int half = 0; half < 2; half++) {
                int g = 8 * h + 2 * s + half;
                v128 q = i8x16_sub(k2_levels(qs, hmask, h, s, half), offset), sc = i16x8_splat(scale[g]);
                v128_store(y->qs + 16 * g, i16x8_mul(i16x8_extend_low_i8x16(q), sc));
                v128_store(y->qs + 16 * g + 8, i16x8_mul(i16x8_extend_high_i8x16(q), sc));
            }
}

void nu_q2_K_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ2_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), nu_f16_to_f32(b->dmin));
        int16_t scale[16];
        for (int g = 0; g < 16; g++) {
            scale[g] = b->scales[g] & 15;
            y->mins[g] = b->scales[g] >> 4;
        }
        k2_to_k16(b->qs, NULL, scale, y);
    }
}

void nu_q3_K_to_wide(const void *src, void *dst, int64_t n) {
    const NuBlockQ3_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), 0.0f);
        uint8_t sc[16];
        int16_t scale[16];
        q3_scales(b->scales, sc);
        for (int g = 0; g < 16; g++)
            scale[g] = (int16_t)(sc[g] - 32);
        k2_to_k16(b->qs, b->hmask, scale, y);
    }
}

#ifndef NU_RELAXED /* (relaxed builds unpack Q4_K and Q5_K to NuBlockK8) */
/* Q4_K and Q5_K (has_qh 0 for Q4_K): the levels (k4_levels) times the group's scale. */
static void k4_to_wide(const uint8_t *blk, size_t stride, int has_qh, void *dst, int64_t n) {
    for (int64_t i = 0; i < n / NU_QK_K; i++, blk += stride) {
        const NuBlockQ4_K *b4 = (const void *)blk;
        const NuBlockQ5_K *b5 = (const void *)blk;
        const uint8_t *qs = has_qh ? b5->qs : b4->qs, *qh = has_qh ? b5->qh : NULL;
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b4->d), nu_f16_to_f32(b4->dmin));
        uint8_t sm[16];
        k4_unpack(b4->scales, sm);
        for (int j = 0; j < 8; j++)
            y->mins[2 * j] = y->mins[2 * j + 1] = sm[8 + j];
        for (int j = 0; j < 8; j++) {
            v128 sc = i16x8_splat((int16_t)sm[j]);
            for (int half = 0; half < 2; half++) {
                v128 q = k4_levels(qs, qh, j, half);
                v128_store(y->qs + 32 * j + 16 * half, i16x8_mul(i16x8_extend_low_i8x16(q), sc));
                v128_store(y->qs + 32 * j + 16 * half + 8, i16x8_mul(i16x8_extend_high_i8x16(q), sc));
            }
        }
    }
}

void nu_q4_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_wide(src, sizeof(NuBlockQ4_K), 0, dst, n);
}

void nu_q5_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_wide(src, sizeof(NuBlockQ5_K), 1, dst, n);
}

#endif

/* Q6_K: chunk c = 4h + s as term4_q6_K reads it (Q6_LEVELS), each group of 16 times its
 * scale. */
void nu_q6_K_to_wide(const void *src, void *dst, int64_t n) {
    const v128 low = i8x16_splat(15), top = i8x16_splat(0x30), bias = i8x16_splat(32);
    const NuBlockQ6_K *b = src;
    for (int64_t i = 0; i < n / NU_QK_K; i++, b++) {
        NuBlockK16 *y = k16_begin((NuBlockK16 *)dst + i, nu_f16_to_f32(b->d), 0.0f);
        for (int c = 0; c < 8; c++)
            for (int half = 0; half < 2; half++) {
                v128 ql = v128_load(b->ql + 64 * (c / 4) + 32 * (c % 2) + 16 * half);
                v128 qh = v128_load(b->qh + 32 * (c / 4) + 16 * half);
                v128 lo = (c % 4) / 2 ? u8x16_shr4(ql) : v128_and(ql, low);
                v128 hi = c % 4 < 2 ? i16x8_shl(qh, 4 - 2 * (c % 4)) : u16x8_shr(qh, 2 * (c % 4) - 4);
                v128 q = i8x16_sub(v128_or(lo, v128_and(hi, top)), bias);
                v128 sc = i16x8_splat(b->scales[2 * c + half]);
                v128_store(y->qs + 32 * c + 16 * half, i16x8_mul(i16x8_extend_low_i8x16(q), sc));
                v128_store(y->qs + 32 * c + 16 * half + 8, i16x8_mul(i16x8_extend_high_i8x16(q), sc));
            }
    }
}

/* Four rows' isum for two inputs: each 8 levels loaded once, dotted with both inputs' 8
 * activations (exact integers, so the one-input kernel's sums). */
static inline void k16_isum2(const NuBlockK16 *const w[4], const int8_t *x0, const int8_t *x1, v128 *isum0,
                             v128 *isum1) {
    v128 s0[4] = {i32x4_splat(0), i32x4_splat(0), i32x4_splat(0), i32x4_splat(0)};
    v128 s1[4] = {s0[0], s0[0], s0[0], s0[0]};
    for (int e = 0; e < NU_QK_K; e += 8) {
        v128 a = i16x8_load8x8(x0 + e), c = i16x8_load8x8(x1 + e);
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            v128 q = v128_load(w[k]->qs + e);
            s0[k] = i32x4_add(s0[k], i32x4_dot_i16x8(q, a));
            s1[k] = i32x4_add(s1[k], i32x4_dot_i16x8(q, c));
        }
    }
    *isum0 = hsum4_i32x4(s0[0], s0[1], s0[2], s0[3]);
    *isum1 = hsum4_i32x4(s1[0], s1[1], s1[2], s1[3]);
}

static inline v128 k16_imin4(const NuBlockK16 *const w[4], const NuBlockQ8_K *xb) {
    return hsum4_i32x4(k16_imin(w[0], xb), k16_imin(w[1], xb), k16_imin(w[2], xb), k16_imin(w[3], xb));
}

/* Block b of four NuBlockK16 rows against two inputs: the one-input term's float step. */
static inline __attribute__((always_inline)) void k16_term4x2(const uint8_t *const r[4], int64_t b, const void *x0,
                                                              const void *x1, v128 *t0, v128 *t1, int sym) {
    const NuBlockK16 *const w[4] = {(const NuBlockK16 *)(const void *)r[0] + b, (const NuBlockK16 *)(const void *)r[1] + b,
                                    (const NuBlockK16 *)(const void *)r[2] + b, (const NuBlockK16 *)(const void *)r[3] + b};
    const NuBlockQ8_K *a0 = (const NuBlockQ8_K *)x0 + b, *a1 = (const NuBlockQ8_K *)x1 + b;
    const float d[4] = {w[0]->d, w[1]->d, w[2]->d, w[3]->d};
    v128 i0, i1;
    k16_isum2(w, a0->qs, a1->qs, &i0, &i1);
    v128 vd = v128_load(d);
    if (sym) {
        *t0 = term_values_sym(vd, a0->d, i0);
        *t1 = term_values_sym(vd, a1->d, i1);
    } else {
        const float dmin[4] = {w[0]->dmin, w[1]->dmin, w[2]->dmin, w[3]->dmin};
        v128 vm = v128_load(dmin);
        *t0 = term_values(vd, vm, a0->d, i0, k16_imin4(w, a0));
        *t1 = term_values(vd, vm, a1->d, i1, k16_imin4(w, a1));
    }
}

static void term4x2_k16(const uint8_t *const r[4], int64_t b, const void *x0, const void *x1, v128 *t0, v128 *t1) {
    k16_term4x2(r, b, x0, x1, t0, t1, 0);
}

static void term4x2_k16_sym(const uint8_t *const r[4], int64_t b, const void *x0, const void *x1, v128 *t0,
                            v128 *t1) {
    k16_term4x2(r, b, x0, x1, t0, t1, 1);
}

#define K16_MATMUL(T)                                                                            \
    void nu_##T##_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, \
                         size_t x_stride, int n, float *out, size_t out_stride, int il) {        \
        rows4_matmul(w, row_bytes, rows, cols / NU_QK_K, x, x_stride, n, out, out_stride, term4x2_##T, term4_##T, il); \
    }

#else

#define K16_MATMUL(T)                                                                            \
    void nu_##T##_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, \
                         size_t x_stride, int n, float *out, size_t out_stride, int il) {        \
        for (int t = 0; t < n; t++)                                                              \
            DRIVE(T, w, row_bytes, rows, cols, (const uint8_t *)x + (size_t)t * x_stride,        \
                  out + (size_t)t * out_stride, il);                                             \
    }

#endif

K16_MATMUL(k16)
K16_MATMUL(k16_sym)

#ifdef NU_RELAXED
/* --- the relaxed-SIMD batched product: NuBlockK8 (kquants.h) ---------------------------------
 * Q4_K and Q5_K keep their levels as bytes, so 32 of them against 32 activations are two byte
 * dot products (i16 pair sums), and the group's scale comes in with the i16 dot product that
 * widens them: about five instructions per 32 multiply-adds and input, where NuBlockK16 takes
 * four i16 dot products and their adds; the unpacked rows are 60% the size. Relaxed wasm,
 * 2048 x 2048 against 64 inputs (make bench, section 2), GFLOP/s K16 -> K8: Q4_K 79 -> 93,
 * Q5_K 67 -> 91. The types with a scale per 16 gained nothing from it (Q6_K, levels to 63) or
 * ran faster as K16 once that unpacked with SIMD (Q3_K 86 vs 75, Q2_K 79 vs 78). Exact integers
 * throughout, so every (row, input) gets the one-input kernel's sums and term. */

static NuBlockK8 *k8_begin(NuBlockK8 *y, float d, float dmin) {
    y->d = d;
    y->dmin = dmin;
    return y;
}

/* Q4_K and Q5_K (has_qh 0 for Q4_K): the levels (k4_levels); one scale and min per 32. */
static void k4_to_k8(const uint8_t *blk, size_t stride, int has_qh, void *dst, int64_t n) {
    for (int64_t i = 0; i < n / NU_QK_K; i++, blk += stride) {
        const NuBlockQ4_K *b4 = (const void *)blk;
        const NuBlockQ5_K *b5 = (const void *)blk;
        const uint8_t *qs = has_qh ? b5->qs : b4->qs, *qh = has_qh ? b5->qh : NULL;
        NuBlockK8 *y = k8_begin((NuBlockK8 *)dst + i, nu_f16_to_f32(b4->d), nu_f16_to_f32(b4->dmin));
        uint8_t sm[16];
        k4_unpack(b4->scales, sm);
        for (int j = 0; j < 8; j++) {
            y->scales[2 * j] = y->scales[2 * j + 1] = sm[j];
            y->mins[2 * j] = y->mins[2 * j + 1] = sm[8 + j];
            for (int half = 0; half < 2; half++)
                v128_store(y->qs + 32 * j + 16 * half, k4_levels(qs, qh, j, half));
        }
    }
}

void nu_q4_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_k8(src, sizeof(NuBlockQ4_K), 0, dst, n);
}

void nu_q5_K_to_wide(const void *src, void *dst, int64_t n) {
    k4_to_k8(src, sizeof(NuBlockQ5_K), 1, dst, n);
}

/* The i32x4 partials of sum over groups of scale_g * (levels . x) for four rows and one or two
 * inputs (x1 read only when `two`). The levels are below 32, so the pair sums of both 16s of a
 * group of 32 still fit i16 and one i16 dot product scales them. Two rows at a time, their
 * activations loaded per pair of rows, and the group loop rolled: V8 keeps fewer values in
 * registers than clang, and in relaxed wasm (2048 x 2048 against 32 inputs) four rows at a
 * time ran 1.1-1.2x slower, clang's full unrolling 1.6x slower. */
static inline __attribute__((always_inline)) void k8_isums(const NuBlockK8 *const w[4], const int8_t *x0,
                                                           const int8_t *x1, int two, v128 s0[4], v128 s1[4]) {
    _Pragma("GCC unroll 1") for (int k = 0; k < 4; k += 2) {
        v128 acc[2][2] = {{i32x4_splat(0), i32x4_splat(0)}, {i32x4_splat(0), i32x4_splat(0)}};
        _Pragma("GCC unroll 1") for (int g = 0; g < 16; g += 2) {
            v128 a0 = v128_load(x0 + 16 * g), a1 = two ? v128_load(x1 + 16 * g) : a0;
            v128 b0 = v128_load(x0 + 16 * g + 16), b1 = two ? v128_load(x1 + 16 * g + 16) : a0;
            for (int j = 0; j < 2; j++) {
                const NuBlockK8 *row = w[k + j];
                v128 q = v128_load(row->qs + 16 * g), scale = i16x8_splat(row->scales[g]);
                v128 p0 = i16x8_dot_i8x16_i7x16(a0, q), p1 = two ? i16x8_dot_i8x16_i7x16(a1, q) : p0;
                v128 q2 = v128_load(row->qs + 16 * g + 16);
                p0 = i16x8_add(p0, i16x8_dot_i8x16_i7x16(b0, q2));
                if (two)
                    p1 = i16x8_add(p1, i16x8_dot_i8x16_i7x16(b1, q2));
                acc[j][0] = i32x4_add(acc[j][0], i32x4_dot_i16x8(p0, scale));
                if (two)
                    acc[j][1] = i32x4_add(acc[j][1], i32x4_dot_i16x8(p1, scale));
            }
        }
        for (int j = 0; j < 2; j++) {
            s0[k + j] = acc[j][0];
            s1[k + j] = acc[j][1];
        }
    }
}

/* sum over groups of mins_g * bsums_g for one row */
static inline v128 k8_imin(const NuBlockK8 *w, const NuBlockQ8_K *xb) {
    return i32x4_add(i32x4_dot_i16x8(v128_load(w->mins), v128_load(xb->bsums)),
                     i32x4_dot_i16x8(v128_load(w->mins + 8), v128_load(xb->bsums + 8)));
}

/* Block b of four NuBlockK8 rows against one or two inputs: the K-quant term */
static inline __attribute__((always_inline)) void k8_terms(const uint8_t *const r[4], int64_t b, const void *x0,
                                                           const void *x1, int two, v128 *t0, v128 *t1) {
    const NuBlockK8 *const w[4] = {(const NuBlockK8 *)(const void *)r[0] + b, (const NuBlockK8 *)(const void *)r[1] + b,
                                   (const NuBlockK8 *)(const void *)r[2] + b, (const NuBlockK8 *)(const void *)r[3] + b};
    const NuBlockQ8_K *a[2] = {(const NuBlockQ8_K *)x0 + b, (const NuBlockQ8_K *)(two ? x1 : x0) + b};
    const float d[4] = {w[0]->d, w[1]->d, w[2]->d, w[3]->d}, dmin[4] = {w[0]->dmin, w[1]->dmin, w[2]->dmin, w[3]->dmin};
    v128 s[2][4];
    k8_isums(w, a[0]->qs, a[1]->qs, two, s[0], s[1]);
    for (int i = 0; i < 1 + two; i++) {
        v128 isum = hsum4_i32x4(s[i][0], s[i][1], s[i][2], s[i][3]);
        v128 imin = hsum4_i32x4(k8_imin(w[0], a[i]), k8_imin(w[1], a[i]), k8_imin(w[2], a[i]), k8_imin(w[3], a[i]));
        *(i ? t1 : t0) = term_values(v128_load(d), v128_load(dmin), a[i]->d, isum, imin);
    }
}

static v128 term4_k8(const uint8_t *const r[4], int64_t b, const void *x) {
    v128 t;
    k8_terms(r, b, x, x, 0, &t, &t);
    return t;
}

static void term4x2_k8(const uint8_t *const r[4], int64_t b, const void *x0, const void *x1, v128 *t0, v128 *t1) {
    k8_terms(r, b, x0, x1, 1, t0, t1);
}

void nu_k8_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, size_t x_stride, int n,
                  float *out, size_t out_stride, int il) {
    rows4_matmul(w, row_bytes, rows, cols / NU_QK_K, x, x_stride, n, out, out_stride, term4x2_k8, term4_k8, il);
}

#endif
