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

/* float.c: the float types; each is its own activation type. */
NU_FAMILY_CONVERT(f32) NU_FAMILY_MATVEC(f32)
NU_FAMILY_CONVERT(f16) NU_FAMILY_MATVEC(f16)
NU_FAMILY_CONVERT(bf16) NU_FAMILY_MATVEC(bf16)

/* q32.c: the 32-element blocks; Q8_0 and Q8_1 are also the activation types. */
NU_FAMILY_CONVERT(q8_0) NU_FAMILY_MATVEC(q8_0)
NU_FAMILY_CONVERT(q8_1)
NU_FAMILY_CONVERT(q4_0) NU_FAMILY_MATVEC(q4_0)
NU_FAMILY_CONVERT(q4_1) NU_FAMILY_MATVEC(q4_1)
NU_FAMILY_CONVERT(q5_0) NU_FAMILY_MATVEC(q5_0)
NU_FAMILY_CONVERT(q5_1) NU_FAMILY_MATVEC(q5_1)

#endif
