/* The type table (types.h) and the helpers quant.h gives over it. A type joins the runtime
 * by a row here plus its family file's functions (family.h). */
#include "quant/types.h"

#include <ctype.h>

#include "gguf.h" /* gguf_ggml_type_name for the ggml ids not in the table */
#include "quant.h"
#include "quant/family.h"
#include "quant/kquants.h"
#include "simd.h" /* NU_RELAXED: the builds whose Q4_K and Q5_K unpack to NuBlockK8 */

#define ROW(T, NAME, BLOCK, BYTES, DOT, MATVEC, MATVEC_IL)                                           \
    [NU_TYPE_##T] = {#NAME, BLOCK, BYTES, NU_TYPE_##DOT, nu_##NAME##_to_float, nu_##NAME##_from_float, MATVEC, \
                     MATVEC_IL, NULL, NULL, 0, NULL}
/* An activation type whose matmul-input conversion is not its file quantizer. */
#define ROW_INPUT(T, NAME, BLOCK, BYTES, DOT, MATVEC, MATVEC_IL, MATMUL)                             \
    [NU_TYPE_##T] = {#NAME, BLOCK, BYTES, NU_TYPE_##DOT, nu_##NAME##_to_float, nu_##NAME##_from_float, MATVEC, \
                     MATVEC_IL, nu_##NAME##_from_float_input, NULL, 0, MATMUL}

/* A type with its own batched product over its packed rows (the relaxed builds' 32-blocks). */
#define ROW_MATMUL(T, NAME, BLOCK, BYTES, DOT)                                                       \
    [NU_TYPE_##T] = {#NAME, BLOCK, BYTES, NU_TYPE_##DOT, nu_##NAME##_to_float, nu_##NAME##_from_float,      \
                     nu_##NAME##_matvec, nu_##NAME##_matvec_il, NULL, NULL, 0, nu_##NAME##_matmul}

/* A type the batched product unpacks (types.h, to_wide): to Q8_0 blocks (the terms are the
 * same, (d_w * d_x) * isum) or to NuBlockK16. */
#define ROW_WIDE(T, NAME, BLOCK, BYTES, DOT, WIDE_BYTES, MATMUL)                                 \
    [NU_TYPE_##T] = {#NAME, BLOCK, BYTES, NU_TYPE_##DOT, nu_##NAME##_to_float, nu_##NAME##_from_float,      \
                     nu_##NAME##_matvec, nu_##NAME##_matvec_il, NULL, nu_##NAME##_to_wide, WIDE_BYTES, MATMUL}

/* Q4_K's and Q5_K's unpacked form and its product: bytes in the relaxed builds (NuBlockK8; the
 * types with a scale per 16 ran as fast or faster as NuBlockK16), else NuBlockK16. */
#ifdef NU_RELAXED
#define K4_WIDE_BYTES sizeof(NuBlockK8)
#define K4_MATMUL nu_k8_matmul
#else
#define K4_WIDE_BYTES sizeof(NuBlockK16)
#define K4_MATMUL nu_k16_matmul
#endif

static const NuTypeTraits table[NU_TYPE_COUNT] = {
    ROW(F32, f32, 1, 4, F32, nu_f32_matvec, NULL),
    ROW(F16, f16, 1, 2, F16, nu_f16_matvec, NULL),
    ROW(BF16, bf16, 1, 2, BF16, nu_bf16_matvec, NULL),
#ifdef NU_RELAXED /* byte dot products over the packed rows */
    ROW_MATMUL(Q4_0, q4_0, NU_QK, sizeof(NuBlockQ4_0), Q8_0),
    ROW_MATMUL(Q4_1, q4_1, NU_QK, sizeof(NuBlockQ4_1), Q8_1),
    ROW_MATMUL(Q5_0, q5_0, NU_QK, sizeof(NuBlockQ5_0), Q8_0),
    ROW_MATMUL(Q5_1, q5_1, NU_QK, sizeof(NuBlockQ5_1), Q8_1),
#else
    ROW_WIDE(Q4_0, q4_0, NU_QK, sizeof(NuBlockQ4_0), Q8_0, sizeof(NuBlockQ8_0), nu_q8_0_matmul),
    ROW(Q4_1, q4_1, NU_QK, sizeof(NuBlockQ4_1), Q8_1, nu_q4_1_matvec, nu_q4_1_matvec_il),
    ROW_WIDE(Q5_0, q5_0, NU_QK, sizeof(NuBlockQ5_0), Q8_0, sizeof(NuBlockQ8_0), nu_q8_0_matmul),
    ROW(Q5_1, q5_1, NU_QK, sizeof(NuBlockQ5_1), Q8_1, nu_q5_1_matvec, nu_q5_1_matvec_il),
#endif
    ROW_INPUT(Q8_0, q8_0, NU_QK, sizeof(NuBlockQ8_0), Q8_0, nu_q8_0_matvec, nu_q8_0_matvec_il, nu_q8_0_matmul),
    ROW_INPUT(Q8_1, q8_1, NU_QK, sizeof(NuBlockQ8_1), Q8_1, NULL, NULL, NULL), /* activations only */
    ROW_WIDE(Q2_K, q2_K, NU_QK_K, sizeof(NuBlockQ2_K), Q8_K, sizeof(NuBlockK16), nu_k16_matmul),
    ROW_WIDE(Q3_K, q3_K, NU_QK_K, sizeof(NuBlockQ3_K), Q8_K, sizeof(NuBlockK16), nu_k16_sym_matmul),
    ROW_WIDE(Q4_K, q4_K, NU_QK_K, sizeof(NuBlockQ4_K), Q8_K, K4_WIDE_BYTES, K4_MATMUL),
    ROW_WIDE(Q5_K, q5_K, NU_QK_K, sizeof(NuBlockQ5_K), Q8_K, K4_WIDE_BYTES, K4_MATMUL),
    ROW_WIDE(Q6_K, q6_K, NU_QK_K, sizeof(NuBlockQ6_K), Q8_K, sizeof(NuBlockK16), nu_k16_sym_matmul),
    ROW(Q8_K, q8_K, NU_QK_K, sizeof(NuBlockQ8_K), Q8_K, NULL, NULL), /* activations only */
    ROW_WIDE(IQ4_NL, iq4_nl, NU_QK, sizeof(NuBlockIQ4_NL), Q8_0, sizeof(NuBlockQ8_0), nu_q8_0_matmul),
    ROW_WIDE(IQ4_XS, iq4_xs, NU_QK_K, sizeof(NuBlockIQ4_XS), Q8_K, sizeof(NuBlockK16), nu_k16_sym_matmul),
};

const NuTypeTraits *nu_type_traits(NuType t) {
    if ((unsigned)t >= NU_TYPE_COUNT || !table[t].name)
        return NULL;
    return &table[t];
}

void nu_type_from_float_input(NuType t, const float *src, void *dst, int64_t n) {
    const NuTypeTraits *tt = nu_type_traits(t);
    (tt->from_float_input ? tt->from_float_input : tt->from_float)(src, dst, n);
}

size_t nu_row_bytes(NuType type, int64_t cols) {
    const NuTypeTraits *tt = nu_type_traits(type);
    if (!tt || cols <= 0 || cols % tt->block_size)
        return 0;
    uint64_t blocks = (uint64_t)(cols / tt->block_size);
    if (blocks > SIZE_MAX / 8 / tt->block_bytes) /* keep rows * row_bytes sums far from wrapping */
        return 0;
    return (size_t)blocks * tt->block_bytes;
}

int nu_type_block_size(NuType type) {
    const NuTypeTraits *tt = nu_type_traits(type);
    return tt ? tt->block_size : 0;
}

int nu_type_can_compute(NuType type) {
    const NuTypeTraits *tt = nu_type_traits(type);
    return tt && tt->matvec;
}

int nu_type_can_write(NuType type) {
    const NuTypeTraits *tt = nu_type_traits(type);
    return tt && tt->from_float;
}

void nu_dequantize_row(NuType type, const void *src, float *dst, int64_t n) {
    const NuTypeTraits *tt = nu_type_traits(type);
    if (tt && n > 0)
        tt->to_float(src, dst, n);
}

void nu_quantize_row(NuType type, const float *src, void *dst, int64_t n) {
    const NuTypeTraits *tt = nu_type_traits(type);
    if (tt && tt->from_float && n > 0)
        tt->from_float(src, dst, n);
}

const char *nu_type_name(NuType type) {
    const NuTypeTraits *tt = nu_type_traits(type);
    return tt ? tt->name : gguf_ggml_type_name((uint32_t)type);
}

int nu_type_from_name(const char *name) {
    for (int t = 0; t < NU_TYPE_COUNT; t++) {
        const char *a = table[t].name, *b = name;
        if (!a)
            continue;
        while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b))
            a++, b++;
        if (!*a && !*b)
            return t;
    }
    return -1;
}
