/* The float types F32, F16 and BF16: conversions and matrix-vector products. As in ggml
 * each is its own activation type: an F16 matrix multiplies the input rounded to F16, a BF16
 * matrix the input rounded to BF16 (the products of two halves, or of two bfloats, are exact
 * in float, so only the fixed 16-lane summation order of util.h rounds). */
#include <string.h>

#include "kernels.h" /* nu_dot */
#include "quant/family.h"
#include "quant/util.h"

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

uint16_t nu_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the top bits, force the quiet bit */
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16); /* nearest even; may carry into inf */
}

/* --- conversions ------------------------------------------------------------------------ */

void nu_f32_to_float(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof *dst);
}

void nu_f32_from_float(const float *src, void *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof *src);
}

/* Rows of 16-bit types may start on any even byte: elements are read and written with memcpy. */
static inline uint16_t load16(const uint8_t *p, int64_t i) {
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return h;
}

static inline void store16(uint8_t *p, int64_t i, uint16_t h) {
    memcpy(p + 2 * i, &h, 2);
}

void nu_f16_to_float(const void *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        dst[i] = nu_f16_to_f32(load16(src, i));
}

void nu_f16_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        store16(dst, i, nu_f32_to_f16(src[i]));
}

void nu_bf16_to_float(const void *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        dst[i] = nu_bf16_to_f32(load16(src, i));
}

void nu_bf16_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        store16(dst, i, nu_f32_to_bf16(src[i]));
}

/* --- products ------------------------------------------------------------------------------ */


#ifdef NU_SIMD
/* Eight bfloats to floats: each is the top half of its float. */
static inline void bf16x8_to_f32(v128 h, v128 *lo, v128 *hi) {
    v128 zero = i32x4_splat(0);
    *lo = i16x8_zip_low(zero, h);
    *hi = i16x8_zip_high(zero, h);
}

/* The 16-lane sum of a[i] * b[i] over two rows of 16-bit floats, the first n - n % 16
 * elements (to_f32 converts eight); the rest is left in acc[16] by the caller's loop. */
#define DOT16_SIMD(to_f32)                                                                     \
    v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;                                    \
    for (; i + 16 <= n; i += 16) {                                                             \
        v128 a0, a1, a2, a3, b0, b1, b2, b3;                                                   \
        to_f32(v128_load(a + 2 * i), &a0, &a1);                                                \
        to_f32(v128_load(a + 2 * i + 16), &a2, &a3);                                           \
        to_f32(v128_load(b + 2 * i), &b0, &b1);                                                \
        to_f32(v128_load(b + 2 * i + 16), &b2, &b3);                                           \
        s0 = f32x4_add(s0, f32x4_mul(a0, b0));                                                 \
        s1 = f32x4_add(s1, f32x4_mul(a1, b1));                                                 \
        s2 = f32x4_add(s2, f32x4_mul(a2, b2));                                                 \
        s3 = f32x4_add(s3, f32x4_mul(a3, b3));                                                 \
    }                                                                                          \
    if (i == n)                                                                                \
        return reduce16_simd(s0, s1, s2, s3);                                                  \
    v128_store(acc, s0);                                                                       \
    v128_store(acc + 4, s1);                                                                   \
    v128_store(acc + 8, s2);                                                                   \
    v128_store(acc + 12, s3);
#endif

/* sum a[i] * b[i] over two F16 rows in the 16-lane order. */
static float dot_f16(const uint8_t *a, const uint8_t *b, int64_t n) {
    float acc[16] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    DOT16_SIMD(f16x8_to_f32)
#endif
    for (; i < n; i++)
        acc[i % 16] += nu_f16_to_f32(load16(a, i)) * nu_f16_to_f32(load16(b, i));
    return reduce16(acc);
}

static float dot_bf16(const uint8_t *a, const uint8_t *b, int64_t n) {
    float acc[16] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    DOT16_SIMD(bf16x8_to_f32)
#endif
    for (; i < n; i++)
        acc[i % 16] += nu_bf16_to_f32(load16(a, i)) * nu_bf16_to_f32(load16(b, i));
    return reduce16(acc);
}

void nu_f32_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    for (int64_t r = 0; r < rows; r++)
        out[r] = nu_dot((const float *)(const void *)((const uint8_t *)w + (size_t)r * row_bytes), x, cols);
}

/* sum a[i] * b[i], a an F16 row, b floats (each exactly a half), in the 16-lane order: the
 * same products as dot_f16, with b converted once per matrix instead of once per row. */
static float dot_f16_f32(const uint8_t *a, const float *b, int64_t n) {
    float acc[16] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (; i + 16 <= n; i += 16) {
        v128 a0, a1, a2, a3;
        f16x8_to_f32(v128_load(a + 2 * i), &a0, &a1);
        f16x8_to_f32(v128_load(a + 2 * i + 16), &a2, &a3);
        s0 = f32x4_add(s0, f32x4_mul(a0, v128_load(b + i)));
        s1 = f32x4_add(s1, f32x4_mul(a1, v128_load(b + i + 4)));
        s2 = f32x4_add(s2, f32x4_mul(a2, v128_load(b + i + 8)));
        s3 = f32x4_add(s3, f32x4_mul(a3, v128_load(b + i + 12)));
    }
    if (i == n)
        return reduce16_simd(s0, s1, s2, s3);
    v128_store(acc, s0);
    v128_store(acc + 4, s1);
    v128_store(acc + 8, s2);
    v128_store(acc + 12, s3);
#endif
    for (; i < n; i++)
        acc[i % 16] += nu_f16_to_f32(load16(a, i)) * b[i];
    return reduce16(acc);
}

/* Inputs up to this many elements are converted to floats once, on the stack (helper threads
 * run this and must not allocate: the wasm allocator is not thread-safe); longer ones go
 * through dot_f16, which gives the same bits. */
#define F16_INPUT_MAX 8192

/* The input converted once halves the conversions of dot_f16. */
void nu_f16_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    _Alignas(16) float xf[F16_INPUT_MAX];
    int converted = cols <= F16_INPUT_MAX;
    if (converted)
        nu_f16_to_float(x, xf, cols);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
        out[r] = converted ? dot_f16_f32(row, xf, cols) : dot_f16(row, x, cols);
    }
}

void nu_bf16_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out) {
    for (int64_t r = 0; r < rows; r++)
        out[r] = dot_bf16((const uint8_t *)w + (size_t)r * row_bytes, x, cols);
}
