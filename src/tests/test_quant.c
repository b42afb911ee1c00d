/* Half floats, ggml's Q8_0/Q4_0 quantizers (rounding rules and byte layout), dequantize,
 * row sizes and names. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "quant.h"
#include "quant/types.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A slow reference for float -> half: the nearest finite half by binary search over the
 * ordered magnitudes 0..0x7bff (ties to the even one), infinity beyond 65520. */
static uint16_t ref_f32_to_f16(float f) {
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    if (isnan(f))
        return 0x7e00;
    if (a >= 65520.0)
        return sign | 0x7c00;
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) { /* largest half <= a */
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if ((double)nu_f16_to_f32(mid) <= a)
            lo = mid;
        else
            hi = (uint16_t)(mid - 1);
    }
    if (lo == 0x7bff)
        return sign | lo;
    double below = nu_f16_to_f32(lo), above = nu_f16_to_f32((uint16_t)(lo + 1));
    if (a - below < above - a)
        return sign | lo;
    if (a - below > above - a)
        return sign | (uint16_t)(lo + 1);
    return sign | (uint16_t)((lo & 1) ? lo + 1 : lo);
}

static void test_f16_to_f32(void) {
    CHECK(nu_f16_to_f32(0x3c00) == 1.0f);
    CHECK(nu_f16_to_f32(0xc000) == -2.0f);
    CHECK(nu_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(nu_f16_to_f32(0x0001) == 0x1p-24f);  /* smallest subnormal */
    CHECK(nu_f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    CHECK(nu_f16_to_f32(0x0400) == 0x1p-14f);  /* smallest normal */
    CHECK(isinf(nu_f16_to_f32(0x7c00)) && nu_f16_to_f32(0x7c00) > 0);
    CHECK(isinf(nu_f16_to_f32(0xfc00)) && nu_f16_to_f32(0xfc00) < 0);
    CHECK(isnan(nu_f16_to_f32(0x7e00)));
    CHECK(isnan(nu_f16_to_f32(0x7c01)));
    CHECK(to_bits(nu_f16_to_f32(0x8000)) == 0x80000000u);

    /* Every half converts to float and back to itself (NaNs stay NaN). */
    int roundtrip_bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = nu_f16_to_f32((uint16_t)h);
        uint16_t back = nu_f32_to_f16(f);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != h)
            roundtrip_bad++;
    }
    CHECK(roundtrip_bad == 0);
}

static void test_f32_to_f16(void) {
    CHECK(nu_f32_to_f16(1.0f) == 0x3c00);
    CHECK(nu_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);     /* tie -> even */
    CHECK(nu_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02); /* tie -> even (up) */
    CHECK(nu_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);
    CHECK(nu_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(nu_f32_to_f16(65519.0f) == 0x7bff);
    CHECK(nu_f32_to_f16(65520.0f) == 0x7c00); /* the tie above the largest half overflows */
    CHECK(nu_f32_to_f16(-1e9f) == 0xfc00);
    CHECK(nu_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(nu_f32_to_f16(-INFINITY) == 0xfc00);
    uint16_t n = nu_f32_to_f16(NAN);
    CHECK((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    CHECK(nu_f32_to_f16(0x1p-24f) == 0x0001);
    CHECK(nu_f32_to_f16(0x1p-25f) == 0x0000);          /* tie -> even (zero) */
    CHECK(nu_f32_to_f16(3 * 0x1p-25f) == 0x0002);      /* tie -> even (up) */
    CHECK(nu_f32_to_f16(0x1p-25f + 0x1p-40f) == 0x0001);
    CHECK(nu_f32_to_f16(-0.0f) == 0x8000);
    CHECK(nu_f32_to_f16(from_bits(1)) == 0x0000);      /* float subnormal */
    CHECK(nu_f32_to_f16(0x1p-14f - 0x1p-26f) == 0x0400); /* rounds up into the normals */

    /* Against the slow reference: random bit patterns over the whole float range and the
     * half range, and every midpoint between adjacent halves. */
    int bad = 0;
    uint64_t s = 12345;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(s >> 32);
        if (i & 1) /* exponents near the half range */
            u = (u & 0x807fffffu) | ((uint32_t)(100 + (u >> 23) % 48) << 23);
        float f = from_bits(u);
        if (isnan(f))
            continue;
        if (nu_f32_to_f16(f) != ref_f32_to_f16(f))
            bad++;
    }
    for (uint16_t h = 0; h < 0x7bff; h++) {
        float mid = (float)(((double)nu_f16_to_f32(h) + nu_f16_to_f32((uint16_t)(h + 1))) / 2);
        if (nu_f32_to_f16(mid) != ref_f32_to_f16(mid) || nu_f32_to_f16(-mid) != ref_f32_to_f16(-mid))
            bad++;
    }
    CHECK(bad == 0);
}

static void test_q8_0(void) {
    float x[64];
    /* Block 0: amax 127 so d = 1 and the quants are the rounded values, halves away from 0. */
    for (int j = 0; j < 32; j++)
        x[j] = 0.0f;
    x[0] = 127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.49f;
    x[4] = -126.5f;
    /* Block 1: all zero gives d = 0 and zero quants. */
    for (int j = 32; j < 64; j++)
        x[j] = 0.0f;
    NuBlockQ8_0 y[2];
    memset(y, 0x55, sizeof y);
    nu_quantize_row_q8_0(x, y, 64);
    CHECK(y[0].d == 0x3c00);
    CHECK(y[0].qs[0] == 127 && y[0].qs[1] == 3 && y[0].qs[2] == -3 && y[0].qs[3] == 0);
    CHECK(y[0].qs[4] == -127 && y[0].qs[5] == 0);
    CHECK(y[1].d == 0);
    int zero = 1;
    for (int j = 0; j < 32; j++)
        zero &= y[1].qs[j] == 0;
    CHECK(zero);

    /* The reciprocal comes from the float d, not from the half stored in the block. */
    float z[32] = {1.0f};
    z[1] = -1.0f;
    z[2] = 0.3f;
    NuBlockQ8_0 q;
    nu_quantize_row_q8_0(z, &q, 32);
    float d = 1.0f / 127.0f, id = 1.0f / d;
    CHECK(q.d == nu_f32_to_f16(d));
    CHECK(q.qs[0] == 127 && q.qs[1] == -127 && q.qs[2] == (int8_t)roundf(0.3f * id));

    /* Round trip on random data: error at most half a step (plus the half rounding of d). */
    float r[256], back[256];
    uint64_t s = 99;
    for (int i = 0; i < 256; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        r[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1) * (1 + i / 32);
    }
    NuBlockQ8_0 rq[8];
    nu_quantize_row_q8_0(r, rq, 256);
    nu_dequantize_row(NU_TYPE_Q8_0, rq, back, 256);
    int within = 1;
    for (int i = 0; i < 256; i++) {
        float step = nu_f16_to_f32(rq[i / 32].d);
        within &= fabsf(back[i] - r[i]) <= step * 0.5f + fabsf(r[i]) * 1e-3f;
    }
    CHECK(within);
}

static void test_q4_0(void) {
    float x[32] = {0};
    x[0] = -8.0f; /* largest magnitude, negative: d = -8 / -8 = 1 */
    x[1] = 0.5f;  /* 0.5 + 8.5 = 9 */
    x[2] = 7.6f;  /* 16.1 -> clamped to 15 */
    x[3] = -0.6f; /* 7.9 -> 7 (truncation) */
    x[16] = 3.0f; /* high nibble of qs[0]: 11 */
    x[17] = -7.5f; /* 1.0 -> 1 */
    NuBlockQ4_0 y;
    nu_quantize_row_q4_0(x, &y, 32);
    CHECK(y.d == 0x3c00);
    CHECK(y.qs[0] == (0 | (11 << 4)));
    CHECK(y.qs[1] == (9 | (1 << 4)));
    CHECK(y.qs[2] == (15 | (8 << 4)));
    CHECK(y.qs[3] == (7 | (8 << 4)));

    /* The signed maximum decides the sign of d; the first one wins a tie in magnitude. */
    float t[32] = {0};
    t[5] = 3.0f;
    t[9] = -3.0f;
    nu_quantize_row_q4_0(t, &y, 32);
    CHECK(y.d == nu_f32_to_f16(-0.375f));
    CHECK((y.qs[5] & 0x0f) == 0);  /* 3 / -0.375 = -8 -> nibble 0 */
    CHECK((y.qs[9] & 0x0f) == 15); /* -3 -> +8 -> 16.5, clamped */

    /* Dequantize: element j is the low nibble of qs[j], element j + 16 the high nibble. */
    NuBlockQ4_0 b;
    b.d = nu_f32_to_f16(0.5f);
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float out[32];
    nu_dequantize_row(NU_TYPE_Q4_0, &b, out, 32);
    int ok = 1;
    for (int j = 0; j < 16; j++)
        ok &= out[j] == 0.5f * (j - 8) && out[j + 16] == 0.5f * (7 - j);
    CHECK(ok);

    /* Round trip on random data: error at most half a step, except the clamped top value. */
    float r[128], back[128];
    uint64_t s = 7;
    for (int i = 0; i < 128; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        r[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    NuBlockQ4_0 rq[4];
    nu_quantize_row_q4_0(r, rq, 128);
    nu_dequantize_row(NU_TYPE_Q4_0, rq, back, 128);
    int within = 1;
    for (int i = 0; i < 128; i++) {
        float step = fabsf(nu_f16_to_f32(rq[i / 32].d));
        within &= fabsf(back[i] - r[i]) <= step * 1.0f + 1e-3f;
    }
    CHECK(within);
}

static void test_nonfinite_input(void) {
    /* Must not trap (the float -> int conversions never see NaN or infinity). */
    float x[32];
    for (int j = 0; j < 32; j++)
        x[j] = (float)j;
    x[3] = NAN;
    x[7] = INFINITY;
    NuBlockQ8_0 q8;
    NuBlockQ4_0 q4;
    nu_quantize_row_q8_0(x, &q8, 32);
    nu_quantize_row_q4_0(x, &q4, 32);
    int in_range = 1;
    for (int j = 0; j < 32; j++)
        in_range &= q8.qs[j] != -128;
    CHECK(in_range);
}

/* The Q8_0 quantizer (four lanes at a time in the SIMD builds, wasm and SSE4.1) against
 * ggml's scalar rule written out here, byte for byte: random blocks at many scales, values
 * that scale to exact halves and to just below them, zeros of both signs, NaN, infinity and a
 * block too small for 1 / d. */
static uint64_t rng = 7;
static float rand_unit(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(int32_t)(rng >> 32) * 0x1p-31f;
}

static void ref_q8_0(const float *x, NuBlockQ8_0 *y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax)
            amax = fabsf(x[j]);
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    y->d = nu_f32_to_f16(d);
    for (int j = 0; j < 32; j++) {
        float v = roundf(x[j] * id);
        y->qs[j] = (int8_t)(isnan(v) ? 0 : v > 127.0f ? 127 : v < -127.0f ? -127 : v);
    }
}

/* ggml-cpu's x86 conversion of a matmul's input to Q8_0: d as the reference, but the values
 * scaled by 127 / amax and rounded half to even. */
static void ref_q8_0_input(const float *x, NuBlockQ8_0 *y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax)
            amax = fabsf(x[j]);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    y->d = nu_f32_to_f16(amax / 127.0f);
    for (int j = 0; j < 32; j++) {
        float v = x[j] * id, r = roundf(v);
        if (fabsf(v - truncf(v)) == 0.5f && fmodf(r, 2.0f) != 0.0f) /* a tie: to the even side */
            r -= copysignf(1.0f, v);
        y->qs[j] = (int8_t)(isnan(r) ? 0 : r > 127.0f ? 127 : r < -127.0f ? -127 : r);
    }
}

static void test_q8_0_reference(void) {
    enum { BLOCKS = 4000 };
    static float x[BLOCKS * 32];
    static NuBlockQ8_0 got[BLOCKS];
    for (int b = 0; b < BLOCKS; b++) {
        float scale = ldexpf(1.0f, b % 60 - 30);
        for (int j = 0; j < 32; j++) {
            float *v = &x[b * 32 + j];
            switch (b % 5) {
            case 0: case 1: *v = rand_unit() * scale; break;
            case 2: *v = (float)((int)(rand_unit() * 254) / 2) + 0.5f; break; /* halves when d = 1 */
            case 3: *v = nextafterf((float)(int)(rand_unit() * 126) + 0.5f, 0.0f); break; /* just below */
            case 4: *v = j % 4 == 0 ? -0.0f : rand_unit() * 127.0f; break;
            }
        }
        if (b % 5 >= 2) /* make amax exactly 127 so d is 1 and the halves stay halves */
            x[b * 32 + 31] = 127.0f;
    }
    x[7 * 32 + 3] = NAN;
    x[11 * 32 + 5] = INFINITY;
    x[13 * 32 + 9] = -INFINITY;
    for (int j = 0; j < 32; j++)
        x[17 * 32 + j] = 0.0f;
    /* amax below FLT_MIN: d is subnormal and 1 / d overflows, so x * id is infinite, or NaN
     * for the zeros: the saturating conversion must give 127 / -127 / 0 as roundf does. */
    for (int j = 0; j < 32; j++)
        x[19 * 32 + j] = j % 3 == 0 ? 0.0f : rand_unit() * 0x1p-126f;
    nu_quantize_row_q8_0(x, got, BLOCKS * 32);
    int bad = 0;
    for (int b = 0; b < BLOCKS; b++) {
        NuBlockQ8_0 want;
        ref_q8_0(x + b * 32, &want);
        bad += memcmp(&want, &got[b], sizeof want) != 0;
    }
    CHECK(bad == 0);

    /* The matmul-input form: the same blocks, and the halves now round to even (2.5 -> 2). */
    nu_type_from_float_input(NU_TYPE_Q8_0, x, got, BLOCKS * 32);
    int bad_input = 0, ties_differ = 0;
    for (int b = 0; b < BLOCKS; b++) {
        NuBlockQ8_0 want, ref;
        ref_q8_0_input(x + b * 32, &want);
        ref_q8_0(x + b * 32, &ref);
        bad_input += memcmp(&want, &got[b], sizeof want) != 0;
        ties_differ += memcmp(&ref, &got[b], sizeof ref) != 0;
    }
    CHECK(bad_input == 0);
    CHECK(ties_differ > 0); /* the two forms do differ on these blocks */

    /* Q8_1's input form: Q8_0's levels and d, plus s = half(d * sum). */
    NuBlockQ8_1 q1[4];
    nu_type_from_float_input(NU_TYPE_Q8_1, x + 40 * 32, q1, 4 * 32);
    int bad_q8_1 = 0;
    for (int b = 0; b < 4; b++) {
        NuBlockQ8_0 want;
        ref_q8_0_input(x + (40 + b) * 32, &want);
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += want.qs[j];
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fabsf(x[(40 + b) * 32 + j]) > amax ? fabsf(x[(40 + b) * 32 + j]) : amax;
        bad_q8_1 += q1[b].d != want.d || memcmp(q1[b].qs, want.qs, 32) != 0 ||
                    q1[b].s != nu_f32_to_f16((float)sum * (amax / 127.0f));
    }
    CHECK(bad_q8_1 == 0);
}

/* ggml's reference quantizers for the other 32-element blocks, written out here from their
 * rules (quantize_row_*_ref in ggml-quants.c) on plain arrays, for finite input: the
 * library's bytes must equal these. */
static uint8_t levels_byte(int lo, int hi) { return (uint8_t)(lo | hi << 4); }

static void ref_min_max(const float *x, float *min, float *max) {
    *min = FLT_MAX, *max = -FLT_MAX;
    for (int j = 0; j < 32; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

static float ref_signed_max(const float *x) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++)
        if (amax < fabsf(x[j])) amax = fabsf(x[j]), max = x[j];
    return max;
}

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

/* Writes one block of `type` in ggml's byte layout. */
static void ref_block(NuType type, const float *x, uint8_t *out) {
    int q[32];
    float d = 0, id, min = 0, max;
    switch ((int)type) {
    case NU_TYPE_Q4_0:
        d = ref_signed_max(x) / -8, id = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) q[j] = (int8_t)(x[j] * id + 8.5f) > 15 ? 15 : (int8_t)(x[j] * id + 8.5f);
        break;
    case NU_TYPE_Q5_0:
        d = ref_signed_max(x) / -16, id = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) q[j] = (int8_t)(x[j] * id + 16.5f) > 31 ? 31 : (int8_t)(x[j] * id + 16.5f);
        break;
    case NU_TYPE_Q4_1:
        ref_min_max(x, &min, &max);
        d = (max - min) / 15, id = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) q[j] = (int8_t)((x[j] - min) * id + 0.5f) > 15 ? 15 : (int8_t)((x[j] - min) * id + 0.5f);
        break;
    case NU_TYPE_Q5_1:
        ref_min_max(x, &min, &max);
        d = (max - min) / 31, id = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) q[j] = (uint8_t)((x[j] - min) * id + 0.5f);
        break;
    case NU_TYPE_Q8_1: {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        d = amax / 127, id = d ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) q[j] = (int)roundf(x[j] * id), sum += q[j];
        put_u16(out, nu_f32_to_f16(d));
        put_u16(out + 2, nu_f32_to_f16((float)sum * d));
        for (int j = 0; j < 32; j++) out[4 + j] = (uint8_t)(int8_t)q[j];
        return;
    }
    }
    int asym = type == NU_TYPE_Q4_1 || type == NU_TYPE_Q5_1, five = type == NU_TYPE_Q5_0 || type == NU_TYPE_Q5_1;
    put_u16(out, nu_f32_to_f16(d));
    if (asym) put_u16(out + 2, nu_f32_to_f16(min));
    uint8_t *qs = out + 2 + 2 * asym;
    if (five) {
        uint32_t qh = 0;
        for (int j = 0; j < 32; j++) qh |= (uint32_t)(q[j] >> 4 & 1) << j;
        for (int k = 0; k < 4; k++) qs[k] = (uint8_t)(qh >> 8 * k);
        qs += 4;
    }
    for (int j = 0; j < 16; j++) qs[j] = levels_byte(q[j] & 15, q[j + 16] & 15);
}

/* Random blocks at many scales and offsets, blocks whose levels land exactly on .5 ties, a
 * constant block and a zero block, for each type: the bytes equal the reference's; and
 * non-finite input writes a block without trapping. */
static void test_q32_reference(void) {
    static const NuType types[] = {NU_TYPE_Q4_0, NU_TYPE_Q4_1, NU_TYPE_Q5_0, NU_TYPE_Q5_1, NU_TYPE_Q8_1};
    enum { BLOCKS = 2000 };
    static float x[BLOCKS * 32];
    for (int b = 0; b < BLOCKS; b++) {
        float scale = ldexpf(1.0f, b % 40 - 20), offset = (b % 3 - 1) * scale * 0.75f;
        for (int j = 0; j < 32; j++) {
            float *v = &x[b * 32 + j];
            switch (b % 4) {
            case 0: case 1: *v = rand_unit() * scale + offset; break;
            case 2: *v = (float)(int)((rand_unit() + 1) * 7.5f) + 0.5f; break; /* k + .5 with min 0, max 15 */
            case 3: *v = (float)(int)((rand_unit() + 1) * 15.5f) - 16.0f; break; /* whole levels */
            }
        }
        if (b % 4 == 2) x[b * 32] = 0.0f, x[b * 32 + 1] = 15.0f; /* d = 1 for Q4_1 */
    }
    for (int j = 0; j < 32; j++) x[5 * 32 + j] = 0.25f, x[9 * 32 + j] = 0.0f;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        NuType type = types[t];
        size_t bb = nu_type_traits(type)->block_bytes;
        uint8_t *got = malloc(BLOCKS * bb), want[64];
        nu_quantize_row(type, x, got, BLOCKS * 32);
        int bad = 0;
        for (int b = 0; b < BLOCKS; b++) {
            ref_block(type, x + b * 32, want);
            bad += memcmp(want, got + b * bb, bb) != 0;
        }
        if (bad) fprintf(stderr, "%s: %d of %d blocks differ from ggml's reference\n", nu_type_name(type), bad, BLOCKS);
        CHECK(bad == 0);

        /* Round trip: within one step (the clamped top level of the symmetric types) of x, for
         * blocks 20-27 (scales 1 to 128, where the half scales are normal numbers). */
        float back[32 * 8];
        const uint8_t *blocks = got + 20 * bb;
        nu_dequantize_row(type, blocks, back, 32 * 8);
        int within = 1;
        for (int i = 0; i < 32 * 8; i++) {
            float step = fabsf(nu_f16_to_f32((uint16_t)(blocks[i / 32 * bb] | blocks[i / 32 * bb + 1] << 8)));
            within &= fabsf(back[i] - x[20 * 32 + i]) <= step * 1.001f + fabsf(x[20 * 32 + i]) * 1e-3f;
        }
        CHECK(within);

        float odd[32];
        for (int j = 0; j < 32; j++) odd[j] = (float)j;
        odd[3] = NAN, odd[7] = INFINITY, odd[8] = -INFINITY;
        nu_quantize_row(type, odd, got, 32); /* under UBSan: no invalid conversion */
        free(got);
    }
}

/* bfloat16 rounding: nearest, ties to even, NaN kept a (quiet) NaN, as ggml; checked against
 * rounding the 16 dropped bits by hand over random and chosen bit patterns. */
static void test_bf16(void) {
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(rng >> 32);
        if (i % 4 == 1) u = (u & 0xffff0000u) | 0x8000u; /* exact ties */
        if (i % 4 == 2) u = (u & 0xffff0000u) | 0x7fffu; /* just below */
        float f = from_bits(u);
        uint16_t got = nu_f32_to_bf16(f);
        uint32_t keep = u >> 16, drop = u & 0xffff;
        uint16_t want;
        if (isnan(f)) want = (uint16_t)(keep | 0x40);
        else want = (uint16_t)(keep + (drop > 0x8000 || (drop == 0x8000 && (keep & 1))));
        bad += got != want;
        if (!isnan(f)) bad += nu_bf16_to_f32(got) != from_bits((uint32_t)want << 16);
    }
    CHECK(bad == 0);
    CHECK(nu_f32_to_bf16(1.0f) == 0x3f80 && nu_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(nu_f32_to_bf16(from_bits(0x7f7fffff)) == 0x7f80); /* FLT_MAX rounds to infinity */
    CHECK(nu_f32_to_bf16(from_bits(0x00000001)) == 0x0000);  /* subnormals kept, this one rounds to 0 */
    CHECK(nu_f32_to_bf16(from_bits(0x00018000)) == 0x0002);  /* tie to even */
}

static void test_f16_f32_dequantize(void) {
    uint16_t h[3] = {0x3c00, 0xc000, 0x3555};
    float out[3];
    nu_dequantize_row(NU_TYPE_F16, h, out, 3);
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == nu_f16_to_f32(0x3555));
    float f[3] = {1.5f, -0.25f, 3.0f}, g[3];
    nu_dequantize_row(NU_TYPE_F32, f, g, 3);
    CHECK(memcmp(f, g, sizeof f) == 0);
}

static void test_sizes_and_names(void) {
    CHECK(nu_row_bytes(NU_TYPE_F32, 288) == 1152);
    CHECK(nu_row_bytes(NU_TYPE_F16, 7) == 14);
    CHECK(nu_row_bytes(NU_TYPE_Q8_0, 288) == 9 * 34);
    CHECK(nu_row_bytes(NU_TYPE_Q4_0, 64) == 36);
    CHECK(nu_row_bytes(NU_TYPE_Q8_0, 33) == 0);
    CHECK(nu_row_bytes(NU_TYPE_Q4_0, 0) == 0);
    CHECK(nu_row_bytes(NU_TYPE_F32, -4) == 0);
    CHECK(nu_row_bytes(NU_TYPE_Q4_1, 64) == 40);
    CHECK(nu_row_bytes(NU_TYPE_Q5_0, 64) == 44);
    CHECK(nu_row_bytes(NU_TYPE_Q5_1, 96) == 72);
    CHECK(nu_row_bytes(NU_TYPE_Q8_1, 32) == 36);
    CHECK(nu_row_bytes(NU_TYPE_BF16, 5) == 10);
    CHECK(nu_row_bytes((NuType)16, 256) == 0); /* ggml's IQ2_XXS: not in the table */
    CHECK(nu_row_bytes((NuType)99, 32) == 0);
    CHECK(nu_row_bytes(NU_TYPE_F32, INT64_MAX) == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_F32), "f32") == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_F16), "f16") == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_Q8_0), "q8_0") == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_Q4_0), "q4_0") == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_BF16), "bf16") == 0);
    CHECK(strcmp(nu_type_name(NU_TYPE_Q5_1), "q5_1") == 0);
    CHECK(strcmp(nu_type_name((NuType)16), "IQ2_XXS") == 0); /* ggml's id, not in the table */
    CHECK(strcmp(nu_type_name((NuType)99), "unknown") == 0);
    CHECK(nu_type_from_name("Q5_0") == NU_TYPE_Q5_0 && nu_type_from_name("bf16") == NU_TYPE_BF16);
    CHECK(nu_type_from_name("q5") == -1 && nu_type_from_name("") == -1);
}

int main(void) {
    test_f16_to_f32();
    test_f32_to_f16();
    test_q8_0();
    test_q4_0();
    test_nonfinite_input();
    test_q8_0_reference();
    test_q32_reference();
    test_bf16();
    test_f16_f32_dequantize();
    test_sizes_and_names();
    return check_summary("quant");
}
