#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expf.h" /* the same bits in every build */
#include "sampler.h" /* nu_expf */

#include "quant/util.h"

/* Float dot product: 16 lanes, element i into lane i % 16, reduced as src/quant/util.h
 * describes (the F32 matvec is a row of these). */
#ifdef NU_SIMD
/* Accumulates the first n - n % 16 products into acc[16]; returns how many it did, or, when
 * that is all of them, n with *done set to the reduced sum. */
static int64_t dot_f32_simd(const float *a, const float *b, int64_t n, float *acc, float *done) {
    v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = f32x4_add(s0, f32x4_mul(v128_load(a + i), v128_load(b + i)));
        s1 = f32x4_add(s1, f32x4_mul(v128_load(a + i + 4), v128_load(b + i + 4)));
        s2 = f32x4_add(s2, f32x4_mul(v128_load(a + i + 8), v128_load(b + i + 8)));
        s3 = f32x4_add(s3, f32x4_mul(v128_load(a + i + 12), v128_load(b + i + 12)));
    }
    if (i == n) {
        *done = reduce16_simd(s0, s1, s2, s3);
        return n;
    }
    v128_store(acc, s0);
    v128_store(acc + 4, s1);
    v128_store(acc + 8, s2);
    v128_store(acc + 12, s3);
    return i;
}
#endif

float nu_dot(const float *a, const float *b, int64_t n) {
    float acc[16] = {0};
    int64_t i = 0;
#ifdef NU_SIMD
    float sum;
    if ((i = dot_f32_simd(a, b, n, acc, &sum)) == n && n > 0)
        return sum;
#endif
    for (; i < n; i++) /* the SIMD loop's work, lane by lane, and the tail */
        acc[i % 16] += a[i] * b[i];
    return reduce16(acc);
}

void nu_scores(float *out, const float *q, const float *keys, int64_t n_keys, int64_t n, float divisor) {
    int64_t t = 0;
#ifdef NU_SIMD
    /* two keys at a time share the query's loads; each key's lanes add as nu_dot's do */
    if (n % 16 == 0 && n > 0) {
        for (; t + 2 <= n_keys; t += 2) {
            const float *a = keys + t * n, *b = a + n;
            v128 a0 = f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int64_t i = 0; i < n; i += 16) {
                v128 q0 = v128_load(q + i), q1 = v128_load(q + i + 4), q2 = v128_load(q + i + 8), q3 = v128_load(q + i + 12);
                a0 = f32x4_add(a0, f32x4_mul(q0, v128_load(a + i)));
                b0 = f32x4_add(b0, f32x4_mul(q0, v128_load(b + i)));
                a1 = f32x4_add(a1, f32x4_mul(q1, v128_load(a + i + 4)));
                b1 = f32x4_add(b1, f32x4_mul(q1, v128_load(b + i + 4)));
                a2 = f32x4_add(a2, f32x4_mul(q2, v128_load(a + i + 8)));
                b2 = f32x4_add(b2, f32x4_mul(q2, v128_load(b + i + 8)));
                a3 = f32x4_add(a3, f32x4_mul(q3, v128_load(a + i + 12)));
                b3 = f32x4_add(b3, f32x4_mul(q3, v128_load(b + i + 12)));
            }
            out[t] = reduce16_simd(a0, a1, a2, a3) / divisor;
            out[t + 1] = reduce16_simd(b0, b1, b2, b3) / divisor;
        }
    }
#endif
    for (; t < n_keys; t++)
        out[t] = nu_dot(q, keys + t * n, n) / divisor;
}

void nu_weighted_sum(float *out, const float *weights, const float *rows, int64_t stride, int64_t n_rows,
                     int64_t n) {
    int64_t i = 0;
#ifdef NU_SIMD
    /* 32 outputs stay in registers across all the rows, then 16 */
    for (; i + 32 <= n; i += 32) {
        v128 s[8];
        for (int k = 0; k < 8; k++)
            s[k] = f32x4_splat(0.0f);
        for (int64_t t = 0; t < n_rows; t++) {
            const float *v = rows + t * stride + i;
            v128 w = f32x4_splat(weights[t]);
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++)
                s[k] = f32x4_add(s[k], f32x4_mul(w, v128_load(v + 4 * k)));
        }
        for (int k = 0; k < 8; k++)
            v128_store(out + i + 4 * k, s[k]);
    }
    for (; i + 16 <= n; i += 16) {
        v128 s0 = f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t t = 0; t < n_rows; t++) {
            const float *v = rows + t * stride + i;
            v128 w = f32x4_splat(weights[t]);
            s0 = f32x4_add(s0, f32x4_mul(w, v128_load(v)));
            s1 = f32x4_add(s1, f32x4_mul(w, v128_load(v + 4)));
            s2 = f32x4_add(s2, f32x4_mul(w, v128_load(v + 8)));
            s3 = f32x4_add(s3, f32x4_mul(w, v128_load(v + 12)));
        }
        v128_store(out + i, s0);
        v128_store(out + i + 4, s1);
        v128_store(out + i + 8, s2);
        v128_store(out + i + 12, s3);
    }
    for (; i + 4 <= n; i += 4) {
        v128 s0 = f32x4_splat(0.0f);
        for (int64_t t = 0; t < n_rows; t++)
            s0 = f32x4_add(s0, f32x4_mul(f32x4_splat(weights[t]), v128_load(rows + t * stride + i)));
        v128_store(out + i, s0);
    }
#endif
    for (; i < n; i++) {
        float sum = 0.0f;
        for (int64_t t = 0; t < n_rows; t++)
            sum += weights[t] * rows[t * stride + i];
        out[i] = sum;
    }
}

/* --- matrix products ---------------------------------------------------------------------- */

const void *nu_convert_input(NuType weight_type, const float *x, int64_t n, void *buf) {
    const NuTypeTraits *wt = nu_type_traits(weight_type);
    if (!wt || wt->vec_dot_type == NU_TYPE_F32)
        return x;
    nu_type_from_float_input(wt->vec_dot_type, x, buf, n);
    return buf;
}

void nu_matvec(const NuTensor *w, const void *x, float *out) {
    const NuTypeTraits *tt = nu_type_traits(w->type);
    size_t row_bytes = nu_row_bytes(w->type, w->cols);
    if (!tt || !tt->matvec || row_bytes == 0) {
        memset(out, 0, (size_t)(w->rows > 0 ? w->rows : 0) * sizeof *out);
        return;
    }
    (w->interleaved ? tt->matvec_il : tt->matvec)(w->data, row_bytes, w->rows, w->cols, x, out);
}

int nu_interleave_rows(NuTensor *t) {
    const NuTypeTraits *tt = nu_type_traits(t->type);
    size_t row_bytes = nu_row_bytes(t->type, t->cols);
    if (t->interleaved || !tt || !tt->matvec_il || t->rows < 4 || row_bytes == 0)
        return 0;
    uint8_t *group = malloc(4 * row_bytes);
    if (!group)
        return 0;
    size_t bb = tt->block_bytes, nb = row_bytes / bb;
    for (int64_t r = 0; r + 4 <= t->rows; r += 4) {
        uint8_t *base = (uint8_t *)(uintptr_t)t->data + (size_t)r * row_bytes;
        memcpy(group, base, 4 * row_bytes);
        for (size_t b = 0; b < nb; b++)
            for (size_t k = 0; k < 4; k++)
                memcpy(base + (4 * b + k) * bb, group + k * row_bytes + b * bb, bb);
    }
    free(group);
    t->interleaved = 1;
    return 1;
}

/* Bytes of weights a tile of nu_matmul aims at: small enough to stay in the first-level cache
 * while every input of the chunk passes over it. */
#define TILE_BYTES (16 * 1024)

/* Largest tile of unpacked rows: it lives on the stack, because helper threads run this and
 * must not allocate (the wasm allocator is not thread-safe); src/pool.c gives them room. Four
 * K-quant rows of 11264 columns fit (552 bytes per 256 unpacked), so the down projections of
 * 1B-3B models (8192 columns in Llama 3.2, 8960 in Qwen2.5 1.5B, 11008 in Qwen2.5 3B) are
 * unpacked once per chunk: at 64 KB they took the per-input fallback, and a 64-token prompt
 * on Llama 3.2 1B's shape in Q4_K_M ran 17.2 tokens/s natively instead of 23.2. */
#define WIDE_TILE_BYTES (96 * 1024)

/* The rows [r0, r1) for n inputs with the weights unpacked a tile at a time (tt->to_wide), so
 * each tile is unpacked once for all n. Returns 0, doing nothing, when not even four unpacked
 * rows fit the tile buffer: the caller then uses the type's own matvec, which gives the same
 * bits. */
static int matmul_rows_wide(const NuTensor *w, const NuTypeTraits *tt, size_t row_bytes, const void *x,
                            size_t x_stride, int n, float *out, size_t out_stride, int64_t r0, int64_t r1) {
    _Alignas(16) uint8_t wide[WIDE_TILE_BYTES];
    size_t k_row_bytes = (size_t)(w->cols / tt->block_size) * tt->wide_block_bytes;
    /* a multiple of 4 rows: the SIMD kernels go four rows at a time */
    int64_t tile = (int64_t)(TILE_BYTES / k_row_bytes) / 4 * 4;
    if (tile < 4)
        tile = 4;
    if ((size_t)tile * k_row_bytes > sizeof wide)
        return 0;
    for (int64_t r = r0; r < r1; r += tile) {
        int64_t rows = r1 - r < tile ? r1 - r : tile;
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * row_bytes;
        int64_t k = 0;
        /* an interleaved group is a run of blocks: unpacked as one, it stays interleaved */
        for (; w->interleaved && r + k + 4 <= w->rows && k + 4 <= rows; k += 4)
            tt->to_wide(wr + (size_t)k * row_bytes, wide + (size_t)k * k_row_bytes, 4 * w->cols);
        for (; k < rows; k++)
            tt->to_wide(wr + (size_t)k * row_bytes, wide + (size_t)k * k_row_bytes, w->cols);
        tt->matmul(wide, k_row_bytes, rows, w->cols, x, x_stride, n, out + r, out_stride, w->interleaved);
    }
    return 1;
}

void nu_matmul_rows(const NuTensor *w, const void *x, size_t x_stride, int n, float *out, size_t out_stride,
                    int64_t r0, int64_t r1) {
    const NuTypeTraits *tt = nu_type_traits(w->type);
    size_t row_bytes = nu_row_bytes(w->type, w->cols);
    if (!tt || !tt->matvec || row_bytes == 0) {
        for (int t = 0; t < n; t++)
            memset(out + t * out_stride + r0, 0, (size_t)(r1 > r0 ? r1 - r0 : 0) * sizeof *out);
        return;
    }
    if (n > 1 && tt->to_wide && matmul_rows_wide(w, tt, row_bytes, x, x_stride, n, out, out_stride, r0, r1))
        return;
    /* a wide type's matmul takes unpacked rows only */
    int own_matmul = n > 1 && tt->matmul && !tt->to_wide;
    int64_t tile = n == 1 ? r1 - r0 : (int64_t)(TILE_BYTES / row_bytes) / 4 * 4;
    if (tile < 4)
        tile = 4;
    for (int64_t r = r0; r < r1; r += tile) {
        int64_t rows = r1 - r < tile ? r1 - r : tile;
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * row_bytes;
        if (own_matmul)
            tt->matmul(wr, row_bytes, rows, w->cols, x, x_stride, n, out + r, out_stride, w->interleaved);
        else
            for (int t = 0; t < n; t++)
                (w->interleaved ? tt->matvec_il : tt->matvec)(wr, row_bytes, rows, w->cols,
                                                             (const uint8_t *)x + t * x_stride, out + t * out_stride + r);
    }
}

void nu_matmul(const NuTensor *w, const void *x, size_t x_stride, int n, float *out, size_t out_stride) {
    nu_matmul_rows(w, x, x_stride, n, out, out_stride, 0, w->rows);
}

void nu_embedding_row(const NuTensor *t, int64_t row, float *out) {
    size_t row_bytes = nu_row_bytes(t->type, t->cols);
    if (row_bytes == 0 || row < 0 || row >= t->rows) {
        memset(out, 0, (size_t)(t->cols > 0 ? t->cols : 0) * sizeof *out);
        return;
    }
    const uint8_t *src = (const uint8_t *)t->data + (size_t)row * row_bytes;
    if (!t->interleaved || (row | 3) >= t->rows) {
        nu_dequantize_row(t->type, src, out, t->cols);
        return;
    }
    /* block b of the row sits at block 4b + row % 4 of its group */
    const NuTypeTraits *tt = nu_type_traits(t->type);
    const uint8_t *group = src - (size_t)(row & 3) * row_bytes;
    for (int64_t b = 0; b < t->cols / tt->block_size; b++)
        nu_dequantize_row(t->type, group + (size_t)(4 * b + (row & 3)) * tt->block_bytes, out + b * tt->block_size,
                          tt->block_size);
}

void nu_axpy(float *y, float a, const float *x, int64_t n) {
    int64_t i = 0;
#ifdef NU_SIMD
    v128 va = f32x4_splat(a);
    for (; i + 4 <= n; i += 4)
        v128_store(y + i, f32x4_add(v128_load(y + i), f32x4_mul(va, v128_load(x + i))));
#endif
    for (; i < n; i++)
        y[i] += a * x[i];
}

void nu_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    float ms = nu_dot(x, x, n) / (float)n;
    float scale = 1.0f / sqrtf(ms + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = weight[i] * (scale * x[i]);
}

/* x - max is at most 0 (or NaN), where nu_expf is exp_clamped of it raised to EXP_MIN (NaN
 * raised too): the SIMD builds take four at a time that way, with nu_expf's bits. The sum stays
 * in order. */
void nu_softmax(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    int64_t i = 0;
#ifdef NU_SIMD
    const v128 vmax = f32x4_splat(max), vmin = f32x4_splat(EXP_MIN);
    for (; i + 4 <= n; i += 4) /* pmax(vmin, v) is v < vmin or NaN ? vmin : v */
        v128_store(x + i, exp_clamped4(f32x4_pmax(vmin, f32x4_sub(v128_load(x + i), vmax))));
#endif
    for (; i < n; i++)
        x[i] = nu_expf(x[i] - max);
    float sum = 0.0f;
    for (i = 0; i < n; i++)
        sum += x[i];
    i = 0;
#ifdef NU_SIMD
    const v128 vsum = f32x4_splat(sum);
    for (; i + 4 <= n; i += 4)
        v128_store(x + i, f32x4_div(v128_load(x + i), vsum));
#endif
    for (; i < n; i++)
        x[i] /= sum;
}

void nu_silu_mul(float *g, const float *up, int64_t n) {
    int64_t i = 0;
#ifdef NU_SIMD
    /* nu_expf(-x) is exp_clamped(-|x|) (raised to EXP_MIN; NaN to it too) when x >= 0, its
     * reciprocal when x < 0, and infinity below -88 */
    const v128 vmin = f32x4_splat(EXP_MIN), zero = f32x4_splat(0.0f), one = f32x4_splat(1.0f);
    const v128 low = f32x4_splat(-88.0f), inf = f32x4_splat(INFINITY), sign = i32x4_splat((int32_t)0x80000000);
    for (; i + 4 <= n; i += 4) {
        v128 x = v128_load(g + i);
        v128 a = exp_clamped4(f32x4_pmax(vmin, v128_or(x, sign))); /* x | sign: -|x| */
        v128 e = v128_bitselect(f32x4_div(one, a), a, f32x4_lt(x, zero));
        e = v128_bitselect(inf, e, f32x4_lt(x, low));
        v128 act = f32x4_mul(x, f32x4_div(one, f32x4_add(one, e)));
        v128_store(g + i, f32x4_mul(act, v128_load(up + i)));
    }
#endif
    for (; i < n; i++) {
        float x = g[i];
        g[i] = x * (1.0f / (1.0f + nu_expf(-x))) * up[i];
    }
}
