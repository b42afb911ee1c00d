/* The arithmetic of the forward pass: matrix-vector products for every weight type, and the
 * few vector helpers attention and normalization need.
 *
 * The per-type products live with their types (src/quant/: the table in types.c, one file
 * per family); a product first converts the input vector to the form the weight type pairs
 * with (its vec_dot_type, as ggml: Q8_0 blocks for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, F16
 * for F16, BF16 for BF16, floats for F32), once per vector, then runs the type's matvec.
 *
 * Each kernel has a 128-bit vector version and a portable scalar one, chosen at compile time.
 * The vector version is one code path over simd.h's operations, which are WASM SIMD128
 * (the SIMD wasm build) or SSE4.1 (the native build on x86-64) with the same bits; other
 * builds use the scalar code. Both add in the same order (src/quant/util.h has it exactly:
 * 16 float lanes for float rows, one term per block into 4 lanes for block rows), so native,
 * scalar wasm and SIMD wasm produce bit-identical results. */
#ifndef NUCLEUS_KERNELS_H
#define NUCLEUS_KERNELS_H

#include <stdint.h>

#include "quant.h"
#include "quant/types.h"
#include "tensor.h"

/* x (n floats) in the form products with weight_type read: converted into buf (which must
 * hold nu_row_bytes(vec_dot_type, n) bytes, n a whole number of its blocks), or x itself
 * when the type pairs with floats (or is not in the table). */
const void *nu_convert_input(NuType weight_type, const float *x, int64_t n, void *buf);

/* out[r] = sum_c W[r][c] * x[c] for r < w->rows, x already converted for w's type by
 * nu_convert_input (w->cols elements). The caller guarantees a computable type and
 * consistent shapes (model.c checks the weights once); any other type yields zeros. out must
 * not overlap x. */
void nu_matvec(const NuTensor *w, const void *x, float *out);

/* The product for n inputs: out[t * out_stride + r] = W[r] . x_t for t < n, input x_t (converted
 * as for nu_matvec) at x + t * x_stride bytes. Each row's dot product is nu_matvec's, bit for
 * bit; the rows are taken in tiles of about 16 KB, each tile against every input before the
 * next, so the weights come from memory once for all n, and a type with an unpacked form
 * (types.h, to_wide) is unpacked once per tile rather than once per input. */
void nu_matmul(const NuTensor *w, const void *x, size_t x_stride, int n, float *out, size_t out_stride);

/* nu_matmul's rows r0 .. r1 - 1 only: a range of rows is a unit of work on its own (threads). */
void nu_matmul_rows(const NuTensor *w, const void *x, size_t x_stride, int n, float *out, size_t out_stride,
                    int64_t r0, int64_t r1);

/* Row `row` of t (any type in the table), dequantized into out[t->cols]. Zeros for a type
 * not in the table or a row out of range. */
void nu_embedding_row(const NuTensor *t, int64_t row, float *out);

/* Rearranges t's rows in place into groups of four interleaved block by block (NuTensor's
 * interleaved), so that the products read one run of memory instead of four rows at once
 * (streaming from memory, a 2048 x 768 Q8_0 product took 2.6-3.1x as long row by row on this
 * machine). Every product and row lookup gives the same bits after it. Returns 1 when done,
 * 0 when t stays as it is: a type without an interleaved kernel (the float types), fewer than
 * four rows, or no memory. t->data must be writable and no other tensor may share it. */
int nu_interleave_rows(NuTensor *t);

/* sum a[i] * b[i], added in the same lane order as the F32 matvec. */
float nu_dot(const float *a, const float *b, int64_t n);

/* out[t] = nu_dot(q, keys + t * n, n) / divisor for t < n_keys, with the same bits (attention's
 * scores over a head's consecutive cached keys). */
void nu_scores(float *out, const float *q, const float *keys, int64_t n_keys, int64_t n, float divisor);

/* out[i] = sum over t < n_rows of weights[t] * rows[t * stride + i], added in order of t from
 * 0.0f: bit for bit what zeroing out and nu_axpy-ing each row in turn gives (attention's
 * weighted values). out must not overlap rows. */
void nu_weighted_sum(float *out, const float *weights, const float *rows, int64_t stride, int64_t n_rows,
                     int64_t n);

/* y[i] += a * x[i] */
void nu_axpy(float *y, float a, const float *x, int64_t n);

/* out[i] = weight[i] * (x[i] / rms(x)), rms(x) = sqrt(mean(x^2) + eps). out may equal x. */
void nu_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);

/* In-place softmax over x[0..n), max-subtracted. */
void nu_softmax(float *x, int64_t n);

/* g[i] = silu(g[i]) * up[i], silu(x) = x * (1 / (1 + nu_expf(-x))), with nu_expf's bits. */
void nu_silu_mul(float *g, const float *up, int64_t n);

#endif
