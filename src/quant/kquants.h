/* ggml's K-quants: 256-element super-blocks (Q2_K ... Q6_K) and the Q8_K form the input
 * vector takes against them, with IQ4_NL and IQ4_XS (iq4.c) sharing the non-linear value
 * table. The structs are ggml's byte for byte, so GGUF files load as they are.
 *
 * A super-block holds 16 groups of 16 elements (Q2_K, Q3_K, Q6_K) or 8 groups of 32 (Q4_K,
 * Q5_K, IQ4_XS), each with a small integer scale (and for Q2_K/Q4_K/Q5_K a min), and one or
 * two half-float super-scales d (and dmin):  x = d * scale * q - dmin * min.
 *
 * Where element i of a super-block lives (h = i / 128 half, k = i % 128):
 *  - Q2_K: 2 bits at qs[32h + k % 32] >> 2 * (k / 32); group i / 16: scales[g] & 15 is the
 *    scale, scales[g] >> 4 the min.
 *  - Q3_K: 2 low bits as in Q2_K, third bit hmask[i % 32] >> (i / 32); q = low | bit << 2,
 *    x = d * (scale_g - 32) * (q - 4). The 16 6-bit scales: low nibbles in scales[0..7]
 *    (group g < 8 low nibble of scales[g], g >= 8 high nibble of scales[g - 8]), the two
 *    high bits of group g at scales[8 + g % 4] >> 2 * (g / 4).
 *  - Q4_K: i = 64p + 32s + l: nibble s (low 0, high 1) of qs[32p + l]; group j = i / 32 has a
 *    6-bit scale and min packed in scales[12] (nu_kq_scale_min).
 *  - Q5_K: the low 4 bits as Q4_K, the fifth at qh[i % 32] >> (i / 32).
 *  - Q6_K: i = 128h + 32s + l: low 4 bits are nibble s / 2 of ql[64h + 32 (s % 2) + l], high
 *    2 bits are qh[32h + l] >> 2s; x = d * scales[i / 16] * (q - 32), scales signed.
 *  - Q8_K: x = d * qs[i], d a float; bsums[g] is the sum of qs in group g (16 elements).
 *  - IQ4_NL (32-element blocks): element j < 16 the low nibble of qs[j], j + 16 the high;
 *    x = d * nu_iq4_values[nibble].
 *  - IQ4_XS: group j = i / 32, element l < 16 of it low nibble of qs[16j + l], l + 16 the
 *    high; 6-bit scale ls_j = (scales_l[j / 2] >> 4 (j % 2) & 15) | (scales_h >> 2j & 3) << 4,
 *    x = d * (ls_j - 32) * nu_iq4_values[nibble].
 *
 * Quantizers give the bytes of ggml's reference quantizers without an importance matrix,
 * which is what llama-quantize writes: quantize_row_q{2..6}_K_ref, quantize_row_q8_K_ref,
 * quantize_iq4_nl and quantize_iq4_xs (both with ggml's 7 scale trials).
 *
 * The products (matvec) add in one order, native, scalar wasm and SIMD wasm alike: each
 * super-block's (or IQ4_NL block's) integer sums are exact; super-block b of a row gives
 *   v = (d_w * d_x) * (float)isum             (Q3_K, Q6_K, IQ4_XS, IQ4_NL)
 *   v = (d_w * d_x) * (float)isum - (dmin_w * d_x) * (float)imin   (Q2_K, Q4_K, Q5_K)
 * where isum = sum over groups of scale_g * (q . x over the group) and imin = sum over groups
 * of min_g * (sum of x over the group, from bsums); v goes into lane b % 4 and the lanes are
 * reduced (a0 + a2) + (a1 + a3). */
#ifndef NUCLEUS_QUANT_KQUANTS_H
#define NUCLEUS_QUANT_KQUANTS_H

#include <stddef.h>
#include <stdint.h>

#define NU_QK_K 256 /* elements per super-block */

typedef struct {
    uint8_t scales[NU_QK_K / 16]; /* scale (low nibble) and min (high nibble) per group of 16 */
    uint8_t qs[NU_QK_K / 4];      /* 2-bit quants */
    uint16_t d, dmin;             /* halves */
} NuBlockQ2_K;

typedef struct {
    uint8_t hmask[NU_QK_K / 8]; /* third bit of each quant */
    uint8_t qs[NU_QK_K / 4];    /* low 2 bits */
    uint8_t scales[12];         /* 16 6-bit scales */
    uint16_t d;
} NuBlockQ3_K;

typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12]; /* 8 6-bit scales and 8 6-bit mins */
    uint8_t qs[NU_QK_K / 2];
} NuBlockQ4_K;

typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[NU_QK_K / 8]; /* fifth bit */
    uint8_t qs[NU_QK_K / 2]; /* low 4 bits */
} NuBlockQ5_K;

typedef struct {
    uint8_t ql[NU_QK_K / 2];     /* low 4 bits */
    uint8_t qh[NU_QK_K / 4];     /* high 2 bits */
    int8_t scales[NU_QK_K / 16]; /* per group of 16 */
    uint16_t d;
} NuBlockQ6_K;

typedef struct {
    float d;
    int8_t qs[NU_QK_K];
    int16_t bsums[NU_QK_K / 16];
} NuBlockQ8_K;

typedef struct {
    uint16_t d;
    uint8_t qs[16];
} NuBlockIQ4_NL;

typedef struct {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[NU_QK_K / 64];
    uint8_t qs[NU_QK_K / 2];
} NuBlockIQ4_XS;

/* A K-quant or IQ4_XS super-block unpacked for the batched product (to_wide in types.h): the
 * levels already multiplied by their group's scale (|scale * q| <= 4096 for every type), the
 * mins per group of 16, the super-scales as floats. Its isum and imin are the packed block's
 * integers exactly, so the terms above, and the products, have the same bits. */
typedef struct {
    float d, dmin;         /* dmin 0 for the types without mins */
    int16_t mins[16];      /* min_g, repeated for both halves of a group of 32 */
    int16_t qs[NU_QK_K];   /* scale_g * q */
} NuBlockK16;

/* Q4_K and Q5_K unpacked for the relaxed-SIMD batched product (to_wide in the builds with
 * NU_RELAXED, which multiply bytes): the levels as bytes in [0, 31], the group scales and mins
 * (repeated for both halves of a group of 32, as NuBlockK16's mins). Its isum and imin are the
 * packed block's integers exactly, as NuBlockK16's are. */
typedef struct {
    float d, dmin;
    int16_t scales[16];  /* scale_g, repeated for both halves of a group of 32 */
    int16_t mins[16];    /* min_g, likewise */
    uint8_t qs[NU_QK_K]; /* levels */
} NuBlockK8;

_Static_assert(sizeof(NuBlockQ2_K) == 84, "Q2_K block must be 84 bytes");
_Static_assert(sizeof(NuBlockQ3_K) == 110, "Q3_K block must be 110 bytes");
_Static_assert(sizeof(NuBlockQ4_K) == 144, "Q4_K block must be 144 bytes");
_Static_assert(sizeof(NuBlockQ5_K) == 176, "Q5_K block must be 176 bytes");
_Static_assert(sizeof(NuBlockQ6_K) == 210, "Q6_K block must be 210 bytes");
_Static_assert(sizeof(NuBlockQ8_K) == 292, "Q8_K block must be 292 bytes");
_Static_assert(sizeof(NuBlockIQ4_NL) == 18, "IQ4_NL block must be 18 bytes");
_Static_assert(sizeof(NuBlockIQ4_XS) == 136, "IQ4_XS block must be 136 bytes");

/* ggml's kvalues_iq4nl: the 16 levels of the non-linear 4-bit types. */
extern const int8_t nu_iq4_values[16];

/* Scale and min of group j (0..7) of a Q4_K/Q5_K super-block's packed scales[12]: groups 0-3
 * in the low 6 bits of bytes j and j + 4; groups 4-7 take their low 4 bits from byte j + 4
 * (scale low nibble, min high nibble) and their top 2 bits from the top of bytes j - 4 and j. */
static inline void nu_kq_scale_min(const uint8_t *q, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
        *min = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
    }
}

/* ggml's nearest_int: round to nearest, ties to even, via the 1.5 * 2^23 trick (exact for
 * |x| < 2^22; larger or NaN inputs give some int, which callers clamp). */
static inline int nu_nearest_int(float x) {
    float v = x + 12582912.0f;
    int32_t i;
    __builtin_memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* The functions (to_float, from_float, matvec) are declared in family.h. */

#endif
