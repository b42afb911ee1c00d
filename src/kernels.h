/* The arithmetic of the forward pass: matrix-vector products for every weight type, and the
 * few vector helpers attention and normalization need.
 *
 * Each kernel has a 128-bit vector version and a portable scalar one, chosen at compile time.
 * The vector version is one code path over simd.h's operations, which are WASM SIMD128
 * (the SIMD wasm build) or SSE4.1 (the native build on x86-64) with the same bits; other
 * builds use the scalar code. Both add in the same order (fixed lanes, then a fixed
 * reduction), so native, scalar wasm and SIMD wasm produce bit-identical results. The order
 * (kernels.c has it exactly):
 *  - F32/F16 rows and nu_dot: 16 lanes, element i into lane i % 16, reduced
 *    s[l] = (a[l] + a[l+4]) + (a[l+8] + a[l+12]), then (s0 + s2) + (s1 + s3);
 *  - Q8_0/Q4_0 rows: each block's integer sum is exact, scaled by d_w * d_x, block b into
 *    lane b % 4, reduced (a0 + a2) + (a1 + a3).
 * The SIMD code keeps that order while working differently: quantized matrices go four rows
 * at a time with the rows in the vector lanes (one widened activation block serves four
 * rows, the final reduction is vertical), float rows are reduced in registers.
 *
 * For Q8_0 and Q4_0 weights the input vector is quantized to Q8_0 once (nu_quantize_row_q8_0)
 * and each block's dot product is taken in integers, as ggml does: an i8 -> i16 widen plus
 * i32x4.dot_i16x8 (pmaddwd in SSE) does 8 multiply-adds per instruction, where the float
 * path would need a widen, a convert and a multiply per 4 weights. */
#ifndef NUCLEUS_KERNELS_H
#define NUCLEUS_KERNELS_H

#include <stdint.h>

#include "quant.h"
#include "tensor.h"

/* out[r] = sum_c W[r][c] * x[c] for r < w->rows.
 * x has w->cols floats; for Q8_0/Q4_0 weights xq must hold x quantized to w->cols / 32
 * Q8_0 blocks (x itself is then not read), for F32/F16 xq may be NULL.
 * The caller guarantees a supported type and consistent shapes (model.c checks the weights
 * once); an unsupported type yields zeros. out must not overlap x. */
void nu_matvec(const NuTensor *w, const float *x, const NuBlockQ8_0 *xq, float *out);

/* Row `row` of t, dequantized into out[t->cols]. Zeros for an unsupported type. */
void nu_embedding_row(const NuTensor *t, int64_t row, float *out);

/* sum a[i] * b[i], added in the same lane order as the F32 matvec. */
float nu_dot(const float *a, const float *b, int64_t n);

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

#endif
