/* Tensor element types as data: ggml's block layouts, half floats, quantize and dequantize.
 *
 * The block layouts are exactly ggml's, so GGUF files written by llama.cpp load as they are
 * and files we write load in llama.cpp. A row of a block type is cols / block_size
 * consecutive blocks. The quantizers follow the rounding rules of ggml's reference
 * quantizers, so the same floats give the same bytes. What each type is (block size, bytes,
 * activation pairing, kernels) is one row of the table in src/quant/types.c; the functions
 * below work for every type in it. */
#ifndef NUCLEUS_QUANT_H
#define NUCLEUS_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor.h"

#define NU_QK 32 /* elements per block of the 32-element family */

/* Q8_0: 34 bytes. Element j is x = d * qs[j], d an IEEE half. */
typedef struct {
    uint16_t d;
    int8_t qs[NU_QK];
} NuBlockQ8_0;

/* Q8_1: 36 bytes, the activation form against Q4_1/Q5_1: Q8_0 plus s = d * sum(qs) (as a
 * half), which carries the weights' offset m through the product. */
typedef struct {
    uint16_t d, s;
    int8_t qs[NU_QK];
} NuBlockQ8_1;

/* Q4_0: 18 bytes. Element j (j < 16) is the low nibble of qs[j], element j + 16 the high
 * nibble of qs[j]; x = d * (nibble - 8). */
typedef struct {
    uint16_t d;
    uint8_t qs[NU_QK / 2];
} NuBlockQ4_0;

/* Q4_1: 20 bytes. Nibbles as Q4_0; x = d * nibble + m. */
typedef struct {
    uint16_t d, m;
    uint8_t qs[NU_QK / 2];
} NuBlockQ4_1;

/* Q5_0: 22 bytes. Nibbles as Q4_0, plus a fifth bit: bit j of the little-endian u32 qh is
 * bit 4 of element j; x = d * (q - 16). */
typedef struct {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[NU_QK / 2];
} NuBlockQ5_0;

/* Q5_1: 24 bytes. q as Q5_0; x = d * q + m. */
typedef struct {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[NU_QK / 2];
} NuBlockQ5_1;

_Static_assert(sizeof(NuBlockQ8_0) == 34, "Q8_0 block must be 34 bytes");
_Static_assert(sizeof(NuBlockQ8_1) == 36, "Q8_1 block must be 36 bytes");
_Static_assert(sizeof(NuBlockQ4_0) == 18, "Q4_0 block must be 18 bytes");
_Static_assert(sizeof(NuBlockQ4_1) == 20, "Q4_1 block must be 20 bytes");
_Static_assert(sizeof(NuBlockQ5_0) == 22, "Q5_0 block must be 22 bytes");
_Static_assert(sizeof(NuBlockQ5_1) == 24, "Q5_1 block must be 24 bytes");

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

/* bfloat16 (the top half of a float) <-> binary32, as ggml: to bf16 rounds to nearest even,
 * keeps subnormals, makes a NaN quiet. */
uint16_t nu_f32_to_bf16(float f);

static inline float nu_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Quantize n floats (n a multiple of NU_QK) into n / NU_QK blocks, as ggml's reference
 * quantizers (quantize_row_*_ref). */
void nu_quantize_row_q8_0(const float *x, NuBlockQ8_0 *y, int64_t n);
void nu_quantize_row_q4_0(const float *x, NuBlockQ4_0 *y, int64_t n);

/* n floats into `type` (any type whose table row can write: see nu_type_can_write), n a
 * multiple of the block size; nu_row_bytes(type, n) bytes are written to dst. */
void nu_quantize_row(NuType type, const float *src, void *dst, int64_t n);

/* Expand n elements of any type in the table into floats. n must be a multiple of the
 * block size; nu_row_bytes(type, n) bytes are read from src. Does nothing for a type the
 * table does not have. */
void nu_dequantize_row(NuType type, const void *src, float *dst, int64_t n);

/* Bytes taken by a row of cols elements; 0 when the type is not in the table, cols is not
 * positive, or cols is not a whole number of blocks. */
size_t nu_row_bytes(NuType type, int64_t cols);

/* Elements per block of type (1 for the float types), 0 for a type not in the table. */
int nu_type_block_size(NuType type);

/* Whether weights of type can be multiplied (the table has a matvec) / written (a from_float). */
int nu_type_can_compute(NuType type);
int nu_type_can_write(NuType type);

/* ggml's name of a type in the table: "f32", "q8_0", "q4_K", "iq4_xs" ...; for another
 * ggml id GGUF's name of it ("IQ2_XXS", gguf_ggml_type_name); "unknown" for any other number. */
const char *nu_type_name(NuType type);

/* The NuType named (as nu_type_name gives it, any case), or -1. */
int nu_type_from_name(const char *name);

#endif
