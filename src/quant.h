/* Quantized block formats, half floats, quantize and dequantize.
 *
 * The block layouts are exactly ggml's, so GGUF files written by llama.cpp load as they are
 * and files we write load in llama.cpp. A row of a block type is cols/32 consecutive blocks.
 * The quantizers follow the rounding rules of ggml's reference quantizers, so the same floats
 * give the same bytes. */
#ifndef NUCLEUS_QUANT_H
#define NUCLEUS_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor.h"

#define NU_QK 32 /* elements per block */

/* Q8_0: 34 bytes. Element j is x = d * qs[j], d an IEEE half. */
typedef struct {
    uint16_t d;
    int8_t qs[NU_QK];
} NuBlockQ8_0;

/* Q4_0: 18 bytes. Element j (j < 16) is the low nibble of qs[j], element j + 16 the high
 * nibble of qs[j]; x = d * (nibble - 8), d an IEEE half. */
typedef struct {
    uint16_t d;
    uint8_t qs[NU_QK / 2];
} NuBlockQ4_0;

_Static_assert(sizeof(NuBlockQ8_0) == 34, "Q8_0 block must be 34 bytes");
_Static_assert(sizeof(NuBlockQ4_0) == 18, "Q4_0 block must be 18 bytes");

/* IEEE 754 binary16 <-> binary32. Conversion to half rounds to nearest even, overflows to
 * infinity, keeps NaN a NaN and produces subnormals. */
uint16_t nu_f32_to_f16(float f);

/* Inline because the scalar kernels convert two block scales per block. */
static inline float nu_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, bits;
    float f;
    if ((h & 0x7c00) == 0x7c00) { /* infinity or NaN: keep the payload */
        bits = sign | 0x7f800000u | (uint32_t)(h & 0x3ff) << 13;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    /* Placing the 15 low bits 13 places up gives the value scaled by 2^-112 (normals and
     * subnormals alike); multiplying by 2^112 is exact and restores it. */
    bits = (uint32_t)(h & 0x7fff) << 13;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f;
    memcpy(&bits, &f, sizeof bits);
    bits |= sign;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Quantize n floats (n a multiple of NU_QK) into n / NU_QK blocks. */
void nu_quantize_row_q8_0(const float *x, NuBlockQ8_0 *y, int64_t n);
void nu_quantize_row_q4_0(const float *x, NuBlockQ4_0 *y, int64_t n);

/* Expand n elements of type (F32, F16, Q8_0 or Q4_0) into floats. n must be a multiple of
 * NU_QK for the block types; nu_row_bytes(type, n) bytes are read from src. */
void nu_dequantize_row(NuType type, const void *src, float *dst, int64_t n);

/* Bytes taken by a row of cols elements; 0 when the type is not one of the four above, cols
 * is not positive, or cols is not a multiple of NU_QK for a block type. */
size_t nu_row_bytes(NuType type, int64_t cols);

/* "f32", "f16", "q8_0", "q4_0", or "unknown". */
const char *nu_type_name(NuType type);

#endif
