/* One table of what each tensor type is, in the manner of ggml's type traits: adding a type
 * is one row in types.c plus its kernels, not edits across the code.
 *
 * A row of `cols` elements of a type is cols / block_size blocks of block_bytes bytes, laid
 * out exactly as ggml lays them out, so GGUF files load as they are. A matrix-vector product
 * first converts the input vector to the type's vec_dot_type (ggml's pairing: Q8_0 against
 * the 32-element blocks, Q8_1 against Q4_1/Q5_1, Q8_K against the K-quants and IQ4_XS, F16
 * against F16, BF16 against BF16, F32 against F32) with nu_type_from_float_input, then calls
 * matvec. Every matvec has a SIMD128/SSE4.1 and a scalar version giving the same bits. */
#ifndef NUCLEUS_QUANT_TYPES_H
#define NUCLEUS_QUANT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

typedef struct {
    const char *name;    /* ggml's name: "f32", "q4_K", "iq4_xs" ... */
    int block_size;      /* elements per block: 1 for the float types, 32 or 256 */
    size_t block_bytes;  /* bytes per block */
    NuType vec_dot_type; /* the form the input vector takes for matvec */
    /* n elements (a multiple of block_size) to floats, and back with ggml's reference
     * rounding (from_float is NULL for a type we can read but not write). */
    void (*to_float)(const void *src, float *dst, int64_t n);
    void (*from_float)(const float *src, void *dst, int64_t n);
    /* out[r] = row r of w . x for r < rows: w's rows are row_bytes apart, x is the input
     * already in vec_dot_type (cols elements). NULL for the activation-only types. */
    void (*matvec)(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out);
    /* matvec on rows interleaved in groups of four (NuTensor.interleaved), the same bits; w's
     * first row starts a group. NULL for the types that are never interleaved. */
    void (*matvec_il)(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, float *out);
    /* For a type that is some type's vec_dot_type: how a matmul's input is converted to it
     * when that differs from from_float (the file quantizer) -- ggml-cpu's x86 quantizers,
     * which for Q8_0 and Q8_1 scale by 127 / amax and round halves to even. NULL: from_float. */
    void (*from_float_input)(const float *src, void *dst, int64_t n);
    /* For the batched product (nu_matmul, several inputs per weight row): matmul multiplies
     * rows by n inputs (x_stride bytes apart, output t at out + t * out_stride) with the same
     * bits for every (row, input) as matvec, reading each weight once for several inputs; NULL:
     * matvec per input. Its rows are in the type's own layout, or, when to_wide is set, in a
     * wide form that to_wide unpacks a tile of rows to (n elements into wide_block_bytes per
     * block), so the levels are unpacked once per tile rather than once per input. il: the
     * rows are interleaved in groups of four (NuTensor.interleaved). */
    void (*to_wide)(const void *src, void *dst, int64_t n);
    size_t wide_block_bytes;
    void (*matmul)(const void *w, size_t row_bytes, int64_t rows, int64_t cols, const void *x, size_t x_stride,
                   int n, float *out, size_t out_stride, int il);
} NuTypeTraits;

/* The row for type t, or NULL when the runtime does not know t. */
const NuTypeTraits *nu_type_traits(NuType t);

/* n floats (whole blocks) into activation type t as a matmul's input: t's from_float_input,
 * or from_float when it has none. t must be in the table with a from_float. */
void nu_type_from_float_input(NuType t, const float *src, void *dst, int64_t n);

#endif
