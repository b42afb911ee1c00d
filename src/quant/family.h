/* The functions each type family file gives the table in types.c (src/quant only): for a
 * type T, T_to_float and T_from_float convert n elements (whole blocks), T_matvec is the
 * NuTypeTraits.matvec form. */
#ifndef NUCLEUS_QUANT_FAMILY_H
#define NUCLEUS_QUANT_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#define NU_FAMILY_CONVERT(T)                                                                   \
    void nu_##T##_to_float(const void *src, float *dst, int64_t n);                             \
    void nu_##T##_from_float(const float *src, void *dst, int64_t n);
#define NU_FAMILY_MATVEC(T)                                                                    \
    void nu_##T##_matvec(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out);
/* T_matvec_il: the block types' matvec on rows interleaved in groups of four (types.h) */
#define NU_FAMILY_MATVEC_IL(T)                                                                 \
    NU_FAMILY_MATVEC(T)                                                                        \
    void nu_##T##_matvec_il(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out);

/* float.c: the float types; each is its own activation type. */
NU_FAMILY_CONVERT(f32) NU_FAMILY_MATVEC(f32)
NU_FAMILY_CONVERT(f16) NU_FAMILY_MATVEC(f16)
NU_FAMILY_CONVERT(bf16) NU_FAMILY_MATVEC(bf16)

/* q32.c: the 32-element blocks; Q8_0 and Q8_1 are also the activation types, with
 * T_from_float_input the conversion of a matmul's input (types.h: from_float_input). */
void nu_q8_0_from_float_input(const float *src, void *dst, int64_t n);
void nu_q8_1_from_float_input(const float *src, void *dst, int64_t n);
NU_FAMILY_CONVERT(q8_0) NU_FAMILY_MATVEC_IL(q8_0)
NU_FAMILY_CONVERT(q8_1)
NU_FAMILY_CONVERT(q4_0) NU_FAMILY_MATVEC_IL(q4_0)
NU_FAMILY_CONVERT(q4_1) NU_FAMILY_MATVEC_IL(q4_1)
NU_FAMILY_CONVERT(q5_0) NU_FAMILY_MATVEC_IL(q5_0)
NU_FAMILY_CONVERT(q5_1) NU_FAMILY_MATVEC_IL(q5_1)

/* kquants.c: the 256-element K-quants against Q8_K (also the activation type); iq4.c: the
 * non-linear 4-bit types, IQ4_NL against Q8_0 and IQ4_XS against Q8_K. */
NU_FAMILY_CONVERT(q2_K) NU_FAMILY_MATVEC_IL(q2_K)
NU_FAMILY_CONVERT(q3_K) NU_FAMILY_MATVEC_IL(q3_K)
NU_FAMILY_CONVERT(q4_K) NU_FAMILY_MATVEC_IL(q4_K)
NU_FAMILY_CONVERT(q5_K) NU_FAMILY_MATVEC_IL(q5_K)
NU_FAMILY_CONVERT(q6_K) NU_FAMILY_MATVEC_IL(q6_K)
NU_FAMILY_CONVERT(q8_K)
NU_FAMILY_CONVERT(iq4_nl) NU_FAMILY_MATVEC_IL(iq4_nl)
NU_FAMILY_CONVERT(iq4_xs) NU_FAMILY_MATVEC_IL(iq4_xs)

/* The batched product's unpacking (types.h, to_wide): n elements into Q8_0 blocks of the
 * levels (the 32-element types against Q8_0), or into NuBlockK16 (kquants.h) for the K-quants
 * and IQ4_XS, which the K16 products multiply: with dmin (Q2_K, Q4_K, Q5_K) or without. The
 * relaxed builds (NU_RELAXED) unpack Q4_K and Q5_K to NuBlockK8 instead, for the K8 product. */
void nu_q4_0_to_wide(const void *src, void *dst, int64_t n);
void nu_q5_0_to_wide(const void *src, void *dst, int64_t n);
void nu_iq4_nl_to_wide(const void *src, void *dst, int64_t n);
void nu_q2_K_to_wide(const void *src, void *dst, int64_t n);
void nu_q3_K_to_wide(const void *src, void *dst, int64_t n);
void nu_q4_K_to_wide(const void *src, void *dst, int64_t n);
void nu_q5_K_to_wide(const void *src, void *dst, int64_t n);
void nu_q6_K_to_wide(const void *src, void *dst, int64_t n);
void nu_iq4_xs_to_wide(const void *src, void *dst, int64_t n);
NU_FAMILY_MATVEC(k16)
NU_FAMILY_MATVEC(k16_sym)

/* The batched products (types.h, matmul): n inputs x_stride bytes apart, output t at
 * out + t * out_stride, each output with the bits T_matvec gives it. */
#define NU_FAMILY_MATMUL(T)                                                                    \
    void nu_##T##_matmul(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, \
                         size_t x_stride, int n, float *out, size_t out_stride, int il);
NU_FAMILY_MATMUL(q8_0)
/* the relaxed builds' (types.c): straight from the packed rows */
NU_FAMILY_MATMUL(q4_0)
NU_FAMILY_MATMUL(q5_0)
NU_FAMILY_MATMUL(q4_1)
NU_FAMILY_MATMUL(q5_1)
NU_FAMILY_MATMUL(k16)
NU_FAMILY_MATMUL(k16_sym)
/* NuBlockK8 rows (relaxed builds: Q4_K, Q5_K) */
NU_FAMILY_MATMUL(k8)

#endif
