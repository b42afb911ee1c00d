/* The 128-bit vector operations the kernels, the quantizer and the sampler use, for WASM
 * SIMD128 and for x86 SSE4.1, so both builds run one vector code path (kernels.c, quant.c,
 * sampler.c).
 *
 * The names are SIMD128's without the wasm_ prefix and each operation gives the same bits in
 * both: float lanes are IEEE single precision adds, multiplies and compares (no FMA: the
 * project builds with -ffp-contract=off), integer lanes are exact. Where SSE has no single
 * instruction with SIMD128's semantics (pmax's NaN rule, the saturating float -> int
 * conversion, byte shifts) the SSE version spells the semantics out.
 *
 * NU_SIMD is defined when one of the two is available; otherwise the callers use their
 * scalar C, which adds in the same order. */
#ifndef NUCLEUS_SIMD_H
#define NUCLEUS_SIMD_H

#include <stdint.h>

#if defined(__wasm_simd128__)
#define NU_SIMD 1
#include <wasm_simd128.h>

typedef v128_t v128;

static inline v128 v128_load(const void *p) { return wasm_v128_load(p); }
static inline void v128_store(void *p, v128 a) { wasm_v128_store(p, a); }
static inline v128 v128_and(v128 a, v128 b) { return wasm_v128_and(a, b); }
static inline v128 v128_or(v128 a, v128 b) { return wasm_v128_or(a, b); }
/* bits of a where mask is set, of b elsewhere */
static inline v128 v128_bitselect(v128 a, v128 b, v128 mask) { return wasm_v128_bitselect(a, b, mask); }

static inline v128 f32x4_splat(float x) { return wasm_f32x4_splat(x); }
static inline v128 f32x4_add(v128 a, v128 b) { return wasm_f32x4_add(a, b); }
static inline v128 f32x4_sub(v128 a, v128 b) { return wasm_f32x4_sub(a, b); }
static inline v128 f32x4_mul(v128 a, v128 b) { return wasm_f32x4_mul(a, b); }
static inline v128 f32x4_abs(v128 a) { return wasm_f32x4_abs(a); }
static inline v128 f32x4_trunc(v128 a) { return wasm_f32x4_trunc(a); }
/* round to the nearest integer, halves to even */
static inline v128 f32x4_nearest(v128 a) { return wasm_f32x4_nearest(a); }
static inline v128 f32x4_ge(v128 a, v128 b) { return wasm_f32x4_ge(a, b); }
/* b if a < b, else a: NaN in b keeps a */
static inline v128 f32x4_pmax(v128 a, v128 b) { return wasm_f32x4_pmax(a, b); }
static inline float f32x4_first(v128 a) { return wasm_f32x4_extract_lane(a, 0); }
static inline float f32x4_second(v128 a) { return wasm_f32x4_extract_lane(a, 1); }
static inline v128 f32x4_convert_i32x4(v128 a) { return wasm_f32x4_convert_i32x4(a); }
static inline v128 f32x4_div(v128 a, v128 b) { return wasm_f32x4_div(a, b); }
static inline v128 f32x4_lt(v128 a, v128 b) { return wasm_f32x4_lt(a, b); }
static inline v128 f64x2_add(v128 a, v128 b) { return wasm_f64x2_add(a, b); }
static inline v128 f64x2_promote_low_f32x4(v128 a) { return wasm_f64x2_promote_low_f32x4(a); }
static inline v128 v128_not(v128 a) { return wasm_v128_not(a); }
static inline int v128_any_true(v128 a) { return wasm_v128_any_true(a); }
static inline int i32x4_all_true(v128 a) { return wasm_i32x4_all_true(a); }
static inline int i32x4_bitmask(v128 a) { return (int)wasm_i32x4_bitmask(a); }
static inline v128 i32x4_sub(v128 a, v128 b) { return wasm_i32x4_sub(a, b); }
static inline v128 i8x16_swizzle(v128 a, v128 index) { return wasm_i8x16_swizzle(a, index); }

static inline v128 i32x4_splat(int32_t x) { return wasm_i32x4_splat(x); }
static inline v128 u32x4_make(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return wasm_u32x4_make(a, b, c, d); }
/* the u64 at lo in the low half, at hi in the high half */
static inline v128 u64x2_load2(const void *lo, const void *hi) { return wasm_v128_load64_lane(hi, wasm_v128_load64_zero(lo), 1); }
static inline v128 i32x4_add(v128 a, v128 b) { return wasm_i32x4_add(a, b); }
static inline v128 i32x4_eq(v128 a, v128 b) { return wasm_i32x4_eq(a, b); }
static inline v128 i32x4_shl(v128 a, int n) { return wasm_i32x4_shl(a, n); }
/* arithmetic (sign-filling) right shift */
static inline v128 i32x4_shr(v128 a, int n) { return wasm_i32x4_shr(a, n); }
static inline v128 i32x4_min(v128 a, v128 b) { return wasm_i32x4_min(a, b); }
static inline v128 i32x4_max(v128 a, v128 b) { return wasm_i32x4_max(a, b); }
/* truncation toward zero; NaN gives 0, out of range saturates */
static inline v128 i32x4_trunc_sat_f32x4(v128 a) { return wasm_i32x4_trunc_sat_f32x4(a); }
/* lane k: a[2k] * b[2k] + a[2k+1] * b[2k+1] of the i16 lanes */
static inline v128 i32x4_dot_i16x8(v128 a, v128 b) { return wasm_i32x4_dot_i16x8(a, b); }
static inline v128 u32x4_extend_low_u16x8(v128 a) { return wasm_u32x4_extend_low_u16x8(a); }
static inline v128 u32x4_extend_high_u16x8(v128 a) { return wasm_u32x4_extend_high_u16x8(a); }
/* i32 lanes in the orders named: (a0 a1 a2 a3) (b0 b1 b2 b3) -> ... */
/* lane k (a constant) of a in every lane: a macro, since the shuffle takes constants */
#define i32x4_broadcast(a, k) wasm_i32x4_shuffle((a), (a), (k), (k), (k), (k))
static inline v128 i32x4_swap_halves(v128 a) { return wasm_i32x4_shuffle(a, a, 2, 3, 0, 1); } /* a2 a3 a0 a1 */
static inline v128 i32x4_swap_pairs(v128 a) { return wasm_i32x4_shuffle(a, a, 1, 0, 3, 2); }  /* a1 a0 a3 a2 */
static inline v128 i32x4_zip_low(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 0, 4, 1, 5); }   /* a0 b0 a1 b1 */
static inline v128 i32x4_zip_high(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 2, 6, 3, 7); }  /* a2 b2 a3 b3 */
static inline v128 i64x2_low_halves(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 0, 1, 4, 5); }  /* a0 a1 b0 b1 */
static inline v128 i64x2_high_halves(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 2, 3, 6, 7); } /* a2 a3 b2 b3 */
static inline v128 i32x4_evens(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 0, 2, 4, 6); }       /* a0 a2 b0 b2 */
static inline v128 i32x4_odds(v128 a, v128 b) { return wasm_i32x4_shuffle(a, b, 1, 3, 5, 7); }        /* a1 a3 b1 b3 */

/* signed saturating narrows: a's lanes then b's */
static inline v128 i16x8_narrow_i32x4(v128 a, v128 b) { return wasm_i16x8_narrow_i32x4(a, b); }
static inline v128 i8x16_narrow_i16x8(v128 a, v128 b) { return wasm_i8x16_narrow_i16x8(a, b); }
static inline v128 i16x8_extend_low_i8x16(v128 a) { return wasm_i16x8_extend_low_i8x16(a); }
static inline v128 i16x8_extend_high_i8x16(v128 a) { return wasm_i16x8_extend_high_i8x16(a); }
/* 8 signed bytes at p widened to i16 */
static inline v128 i16x8_load8x8(const void *p) { return wasm_i16x8_load8x8(p); }
/* the low 16 bits of each product */
static inline v128 i16x8_mul(v128 a, v128 b) { return wasm_i16x8_mul(a, b); }
static inline v128 i8x16_splat(int8_t x) { return wasm_i8x16_splat(x); }
static inline v128 i16x8_splat(int16_t x) { return wasm_i16x8_splat(x); }
static inline v128 i16x8_eq(v128 a, v128 b) { return wasm_i16x8_eq(a, b); }
/* 16-bit lanes interleaved: a0 b0 a1 b1 a2 b2 a3 b3 (low) and a4 b4 ... a7 b7 (high); with a
 * zero, each 32-bit lane is b_i << 16 */
static inline v128 i16x8_zip_low(v128 a, v128 b) { return wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
static inline v128 i16x8_zip_high(v128 a, v128 b) { return wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
static inline v128 i8x16_sub(v128 a, v128 b) { return wasm_i8x16_sub(a, b); }
/* all ones in the bytes where a == b */
static inline v128 i8x16_eq(v128 a, v128 b) { return wasm_i8x16_eq(a, b); }
/* each byte shifted right by 4, zeros shifted in: a 16-bit shift and a mask, as V8 would
 * emit for u8x16.shr, but the mask is a constant the caller's loop keeps (V8 rebuilds its
 * own in three instructions at every shift) */
static inline v128 u8x16_shr4(v128 a) { return wasm_v128_and(wasm_u16x8_shr(a, 4), wasm_i8x16_splat(0x0f)); }
static inline v128 i32x4_mul(v128 a, v128 b) { return wasm_i32x4_mul(a, b); }
/* 16-bit lanes shifted by n (0..15), zeros shifted in */
static inline v128 i16x8_shl(v128 a, int n) { return wasm_i16x8_shl(a, n); }
static inline v128 u16x8_shr(v128 a, int n) { return wasm_u16x8_shr(a, n); }
/* arithmetic (sign-filling) */
static inline v128 i16x8_shr(v128 a, int n) { return wasm_i16x8_shr(a, n); }
static inline v128 i16x8_add(v128 a, v128 b) { return wasm_i16x8_add(a, b); }
static inline v128 i16x8_sub(v128 a, v128 b) { return wasm_i16x8_sub(a, b); }
static inline v128 v128_xor(v128 a, v128 b) { return wasm_v128_xor(a, b); }
/* |a| per signed byte (-128 stays -128) */
static inline v128 i8x16_abs(v128 a) { return wasm_i8x16_abs(a); }
/* all ones in the bytes where a < b, signed */
static inline v128 i8x16_lt(v128 a, v128 b) { return wasm_i8x16_lt(a, b); }

#ifdef NU_RELAXED
/* Relaxed SIMD's i16x8.relaxed_dot_i8x16_i7x16_s: lane k is a[2k] * b[2k] + a[2k+1] * b[2k+1]
 * with a signed and every b in [0, 127], where the engines all agree (pmaddubsw on x86 never
 * saturates there). clang 14 has no builtin for it: the build writes q15mulr_sat, which no
 * kernel uses, and the Makefile (RELAX) renames that instruction in the module's text. */
static inline v128 i16x8_dot_i8x16_i7x16(v128 a, v128 b) { return wasm_i16x8_q15mulr_sat(a, b); }
#endif

#elif defined(__SSE4_1__)
#define NU_SIMD 1
#include <smmintrin.h>

/* Integer-typed; the float operations reinterpret it, which costs no instruction. */
typedef __m128i v128;

#define PS(a) _mm_castsi128_ps(a)
#define SI(a) _mm_castps_si128(a)

static inline v128 v128_load(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static inline void v128_store(void *p, v128 a) { _mm_storeu_si128((__m128i *)p, a); }
static inline v128 v128_and(v128 a, v128 b) { return _mm_and_si128(a, b); }
static inline v128 v128_or(v128 a, v128 b) { return _mm_or_si128(a, b); }
static inline v128 v128_bitselect(v128 a, v128 b, v128 mask) {
    return _mm_or_si128(_mm_and_si128(a, mask), _mm_andnot_si128(mask, b));
}

static inline v128 f32x4_splat(float x) { return SI(_mm_set1_ps(x)); }
static inline v128 f32x4_add(v128 a, v128 b) { return SI(_mm_add_ps(PS(a), PS(b))); }
static inline v128 f32x4_sub(v128 a, v128 b) { return SI(_mm_sub_ps(PS(a), PS(b))); }
static inline v128 f32x4_mul(v128 a, v128 b) { return SI(_mm_mul_ps(PS(a), PS(b))); }
static inline v128 f32x4_abs(v128 a) { return _mm_and_si128(a, _mm_set1_epi32(0x7fffffff)); }
static inline v128 f32x4_trunc(v128 a) { return SI(_mm_round_ps(PS(a), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }
static inline v128 f32x4_nearest(v128 a) { return SI(_mm_round_ps(PS(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
static inline v128 f32x4_ge(v128 a, v128 b) { return SI(_mm_cmpge_ps(PS(a), PS(b))); }
/* maxps(x, y) is x > y ? x : y, so with the operands swapped it is pmax, NaN rule included */
static inline v128 f32x4_pmax(v128 a, v128 b) { return SI(_mm_max_ps(PS(b), PS(a))); }
static inline float f32x4_first(v128 a) { return _mm_cvtss_f32(PS(a)); }
static inline float f32x4_second(v128 a) { return _mm_cvtss_f32(PS(_mm_shuffle_epi32(a, 1))); }
static inline v128 f32x4_convert_i32x4(v128 a) { return SI(_mm_cvtepi32_ps(a)); }
static inline v128 f32x4_div(v128 a, v128 b) { return SI(_mm_div_ps(PS(a), PS(b))); }
static inline v128 f32x4_lt(v128 a, v128 b) { return SI(_mm_cmplt_ps(PS(a), PS(b))); }
static inline v128 f64x2_add(v128 a, v128 b) {
    return _mm_castpd_si128(_mm_add_pd(_mm_castsi128_pd(a), _mm_castsi128_pd(b)));
}
static inline v128 f64x2_promote_low_f32x4(v128 a) { return _mm_castpd_si128(_mm_cvtps_pd(PS(a))); }
static inline v128 v128_not(v128 a) { return _mm_xor_si128(a, _mm_set1_epi32(-1)); }
static inline int v128_any_true(v128 a) { return !_mm_testz_si128(a, a); }
static inline int i32x4_all_true(v128 a) {
    return _mm_movemask_ps(PS(_mm_cmpeq_epi32(a, _mm_setzero_si128()))) == 0;
}
static inline int i32x4_bitmask(v128 a) { return _mm_movemask_ps(PS(a)); }
static inline v128 i32x4_sub(v128 a, v128 b) { return _mm_sub_epi32(a, b); }
/* pshufb zeroes a byte when its index has bit 7 set: the saturating add sets it for every
 * index >= 16 (SIMD128's zero) and keeps the low four bits of the others */
static inline v128 i8x16_swizzle(v128 a, v128 index) {
    return _mm_shuffle_epi8(a, _mm_adds_epu8(index, _mm_set1_epi8(0x70)));
}

static inline v128 i32x4_splat(int32_t x) { return _mm_set1_epi32(x); }
static inline v128 u32x4_make(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return _mm_setr_epi32((int32_t)a, (int32_t)b, (int32_t)c, (int32_t)d);
}
static inline v128 u64x2_load2(const void *lo, const void *hi) {
    return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)lo), _mm_loadl_epi64((const __m128i *)hi));
}
static inline v128 i32x4_add(v128 a, v128 b) { return _mm_add_epi32(a, b); }
static inline v128 i32x4_eq(v128 a, v128 b) { return _mm_cmpeq_epi32(a, b); }
static inline v128 i32x4_shl(v128 a, int n) { return _mm_slli_epi32(a, n); }
static inline v128 i32x4_shr(v128 a, int n) { return _mm_srai_epi32(a, n); }
static inline v128 i32x4_min(v128 a, v128 b) { return _mm_min_epi32(a, b); }
static inline v128 i32x4_max(v128 a, v128 b) { return _mm_max_epi32(a, b); }
/* cvttps gives 0x80000000 for NaN and out of range: flip it to INT32_MAX where a >= 2^31,
 * clear it where a is NaN */
static inline v128 i32x4_trunc_sat_f32x4(v128 a) {
    v128 q = _mm_xor_si128(_mm_cvttps_epi32(PS(a)), SI(_mm_cmpge_ps(PS(a), _mm_set1_ps(0x1p31f))));
    return _mm_and_si128(q, SI(_mm_cmpord_ps(PS(a), PS(a))));
}
static inline v128 i32x4_dot_i16x8(v128 a, v128 b) { return _mm_madd_epi16(a, b); }
static inline v128 u32x4_extend_low_u16x8(v128 a) { return _mm_cvtepu16_epi32(a); }
static inline v128 u32x4_extend_high_u16x8(v128 a) { return _mm_cvtepu16_epi32(_mm_srli_si128(a, 8)); }
#define i32x4_broadcast(a, k) _mm_shuffle_epi32((a), (k) * 0x55)
static inline v128 i32x4_swap_halves(v128 a) { return _mm_shuffle_epi32(a, _MM_SHUFFLE(1, 0, 3, 2)); }
static inline v128 i32x4_swap_pairs(v128 a) { return _mm_shuffle_epi32(a, _MM_SHUFFLE(2, 3, 0, 1)); }
static inline v128 i32x4_zip_low(v128 a, v128 b) { return _mm_unpacklo_epi32(a, b); }
static inline v128 i32x4_zip_high(v128 a, v128 b) { return _mm_unpackhi_epi32(a, b); }
static inline v128 i64x2_low_halves(v128 a, v128 b) { return _mm_unpacklo_epi64(a, b); }
static inline v128 i64x2_high_halves(v128 a, v128 b) { return _mm_unpackhi_epi64(a, b); }
static inline v128 i32x4_evens(v128 a, v128 b) { return SI(_mm_shuffle_ps(PS(a), PS(b), _MM_SHUFFLE(2, 0, 2, 0))); }
static inline v128 i32x4_odds(v128 a, v128 b) { return SI(_mm_shuffle_ps(PS(a), PS(b), _MM_SHUFFLE(3, 1, 3, 1))); }

static inline v128 i16x8_narrow_i32x4(v128 a, v128 b) { return _mm_packs_epi32(a, b); }
static inline v128 i8x16_narrow_i16x8(v128 a, v128 b) { return _mm_packs_epi16(a, b); }
static inline v128 i16x8_extend_low_i8x16(v128 a) { return _mm_cvtepi8_epi16(a); }
static inline v128 i16x8_extend_high_i8x16(v128 a) { return _mm_cvtepi8_epi16(_mm_srli_si128(a, 8)); }
static inline v128 i16x8_load8x8(const void *p) { return _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)p)); }
static inline v128 i16x8_mul(v128 a, v128 b) { return _mm_mullo_epi16(a, b); }
static inline v128 i8x16_splat(int8_t x) { return _mm_set1_epi8(x); }
static inline v128 i16x8_splat(int16_t x) { return _mm_set1_epi16(x); }
static inline v128 i16x8_eq(v128 a, v128 b) { return _mm_cmpeq_epi16(a, b); }
static inline v128 i16x8_zip_low(v128 a, v128 b) { return _mm_unpacklo_epi16(a, b); }
static inline v128 i16x8_zip_high(v128 a, v128 b) { return _mm_unpackhi_epi16(a, b); }
static inline v128 i8x16_sub(v128 a, v128 b) { return _mm_sub_epi8(a, b); }
static inline v128 i8x16_eq(v128 a, v128 b) { return _mm_cmpeq_epi8(a, b); }
/* SSE shifts 16-bit lanes at the least: the mask drops the bits the upper byte shifted in */
static inline v128 u8x16_shr4(v128 a) { return _mm_and_si128(_mm_srli_epi16(a, 4), _mm_set1_epi8(0x0f)); }
static inline v128 i32x4_mul(v128 a, v128 b) { return _mm_mullo_epi32(a, b); }
static inline v128 i16x8_shl(v128 a, int n) { return _mm_sll_epi16(a, _mm_cvtsi32_si128(n)); }
static inline v128 u16x8_shr(v128 a, int n) { return _mm_srl_epi16(a, _mm_cvtsi32_si128(n)); }
static inline v128 i16x8_shr(v128 a, int n) { return _mm_sra_epi16(a, _mm_cvtsi32_si128(n)); }
static inline v128 i16x8_add(v128 a, v128 b) { return _mm_add_epi16(a, b); }
static inline v128 i16x8_sub(v128 a, v128 b) { return _mm_sub_epi16(a, b); }
static inline v128 v128_xor(v128 a, v128 b) { return _mm_xor_si128(a, b); }
static inline v128 i8x16_abs(v128 a) { return _mm_abs_epi8(a); }
static inline v128 i8x16_lt(v128 a, v128 b) { return _mm_cmplt_epi8(a, b); }
/* pmaddubsw takes the unsigned bytes first; for b in [0, 127] its sums never saturate */
#define NU_RELAXED 1
static inline v128 i16x8_dot_i8x16_i7x16(v128 a, v128 b) { return _mm_maddubs_epi16(b, a); }

#undef PS
#undef SI

#endif

#endif
