#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "loader.h" /* nu_config_check */
#include "sampler.h" /* nu_expf */

/* --- run state ------------------------------------------------------------------------------ */

/* The loaders' limits (loader.h), reported as a bad argument: a config handed in directly. */
static NuCode check_config(const NuConfig *c, NuError *err) {
    NuCode rc = nu_config_check(c, err);
    if (rc == NU_ERR_FORMAT && err)
        err->code = NU_ERR_ARG;
    return rc == NU_ERR_FORMAT ? NU_ERR_ARG : rc;
}

/* a * b into *out; 0 when the product does not fit in 64 bits. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* Bytes of the matmul input buffer of activation type t for n elements, in whole blocks. */
static size_t act_buffer_bytes(NuType t, uint64_t n) {
    uint64_t bs = (uint64_t)nu_type_block_size(t);
    return nu_row_bytes(t, (int64_t)((n + bs - 1) / bs * bs));
}

static void *alloc_floats(uint64_t n, size_t *bytes) {
    *bytes += (size_t)n * sizeof(float);
    return calloc((size_t)n, sizeof(float));
}

NuCode nu_runstate_new(const NuConfig *c, NuRunState **out, NuError *err) {
    *out = NULL;
    NuCode rc = check_config(c, err);
    if (rc)
        return rc;
    const uint64_t dim = (uint64_t)c->dim, hidden = (uint64_t)c->hidden_dim;
    const uint64_t kv_dim = (uint64_t)c->head_dim * (uint64_t)c->n_kv_heads;
    const uint64_t q_dim = (uint64_t)c->head_dim * (uint64_t)c->n_heads;
    const uint64_t wide = dim > q_dim ? dim : q_dim; /* xb holds the input or the heads' output */
    const uint64_t max_in = wide > hidden ? wide : hidden;
    const uint64_t batch = NU_BATCH;
    size_t act_bytes[NU_TYPE_COUNT] = {0};
    uint64_t act_total = 0;
    for (int t = 0; t < NU_TYPE_COUNT; t++) {
        const NuTypeTraits *tt = nu_type_traits((NuType)t);
        NuType vt = tt && tt->matvec ? tt->vec_dot_type : NU_TYPE_F32;
        if (vt != NU_TYPE_F32 && act_bytes[vt] == 0) {
            act_bytes[vt] = act_buffer_bytes(vt, max_in);
            act_total += batch * act_bytes[vt];
        }
    }

    /* Everything is counted before anything is allocated. Each term is below 2^62 (ints
     * multiplied at most three at a time, times 4 bytes, or refused), so the sum cannot wrap. */
    uint64_t rows, cache = 0, att = 0;
    int ok = mul_u64((uint64_t)c->n_layers, (uint64_t)c->seq_len, &rows) &&
             mul_u64(rows, kv_dim * sizeof(float), &cache) && cache < ((uint64_t)1 << 62) &&
             mul_u64((uint64_t)c->n_heads, (uint64_t)c->seq_len * sizeof(float), &att);
    uint64_t total = 2 * cache + att +
                     (batch * (2 * dim + wide + q_dim + 2 * kv_dim + 2 * hidden + (uint64_t)c->rope_dim) +
                      (uint64_t)c->vocab_size + 4) * sizeof(float) +
                     act_total + sizeof(NuRunState);
    if (!ok)
        return nu_fail(err, NU_ERR_NOMEM,
                       "run state for %d layers x %d positions x %llu kv dims needs more than 2^62 bytes",
                       c->n_layers, c->seq_len, (unsigned long long)kv_dim);
    if (total > NU_RUNSTATE_MAX_BYTES || total > SIZE_MAX)
        return nu_fail(err, NU_ERR_NOMEM,
                       "run state for %d layers x %d positions x %llu kv dims needs %llu bytes, over the 4 GiB limit",
                       c->n_layers, c->seq_len, (unsigned long long)kv_dim, (unsigned long long)total);

    NuRunState *s = calloc(1, sizeof *s);
    if (!s)
        return nu_fail(err, NU_ERR_NOMEM, "run state: out of memory");
    s->config = *c;
    s->bytes = sizeof *s;
    s->x = alloc_floats(batch * dim, &s->bytes);
    s->xb = alloc_floats(batch * wide, &s->bytes);
    s->xb2 = alloc_floats(batch * dim, &s->bytes);
    s->q = alloc_floats(batch * q_dim, &s->bytes);
    s->k = alloc_floats(batch * kv_dim, &s->bytes);
    s->v = alloc_floats(batch * kv_dim, &s->bytes);
    s->hb = alloc_floats(batch * hidden, &s->bytes);
    s->hb2 = alloc_floats(batch * hidden, &s->bytes);
    s->att = alloc_floats(att / sizeof(float), &s->bytes);
    s->logits = alloc_floats((uint64_t)c->vocab_size, &s->bytes);
    s->key_cache = alloc_floats(cache / sizeof(float), &s->bytes);
    s->value_cache = alloc_floats(cache / sizeof(float), &s->bytes);
    s->rope_cos = alloc_floats(batch * (uint64_t)c->rope_dim + 2, &s->bytes);
    s->rope_sin = alloc_floats(batch * (uint64_t)c->rope_dim + 2, &s->bytes);
    int act_ok = 1;
    for (int t = 0; t < NU_TYPE_COUNT; t++) {
        if (act_bytes[t] == 0)
            continue;
        s->act[t] = calloc(batch, act_bytes[t]);
        s->act_stride[t] = act_bytes[t];
        s->bytes += batch * act_bytes[t];
        act_ok &= s->act[t] != NULL;
    }
    if (!s->x || !s->xb || !s->xb2 || !s->q || !s->k || !s->v || !s->hb || !s->hb2 || !s->att || !s->logits || !s->key_cache ||
        !s->value_cache || !s->rope_cos || !s->rope_sin || !act_ok) {
        size_t bytes = s->bytes;
        nu_runstate_free(s);
        return nu_fail(err, NU_ERR_NOMEM, "run state: out of memory allocating %zu bytes", bytes);
    }
    *out = s;
    return NU_OK;
}

void nu_runstate_free(NuRunState *s) {
    if (!s)
        return;
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->hb);
    free(s->hb2);
    free(s->att);
    free(s->logits);
    free(s->key_cache);
    free(s->value_cache);
    free(s->rope_cos);
    free(s->rope_sin);
    for (int t = 0; t < NU_TYPE_COUNT; t++)
        free(s->act[t]);
    free(s);
}

const float *nu_runstate_logits(const NuRunState *s) {
    return s->logits;
}

/* --- weight checks -------------------------------------------------------------------------- */

/* "blk.3.attn_q.weight" or "output.weight": built only for an error message. */
static const char *tensor_label(char *buf, size_t cap, const char *name, int layer) {
    if (layer >= 0)
        snprintf(buf, cap, "blk.%d.%s", layer, name);
    else
        snprintf(buf, cap, "%s", name);
    return buf;
}

static NuCode check_tensor(const NuTensor *t, const char *name, int layer, int64_t rows, int64_t cols,
                           int norm, NuError *err) {
    char label[64];
    if (!t->data)
        return nu_fail(err, NU_ERR_FORMAT, "tensor %s: no data", tensor_label(label, sizeof label, name, layer));
    if (t->rows != rows || t->cols != cols)
        return nu_fail(err, NU_ERR_FORMAT, "tensor %s: shape %lld x %lld, expected %lld x %lld",
                       tensor_label(label, sizeof label, name, layer), (long long)t->rows, (long long)t->cols,
                       (long long)rows, (long long)cols);
    if (norm ? t->type != NU_TYPE_F32 : !nu_type_can_compute(t->type) || nu_row_bytes(t->type, cols) == 0)
        return nu_fail(err, NU_ERR_FORMAT, "tensor %s: type %s (%d) with %lld columns is not supported%s",
                       tensor_label(label, sizeof label, name, layer), nu_type_name(t->type), (int)t->type,
                       (long long)cols, norm ? " for a norm (f32 only)" : "");
    return NU_OK;
}

/* An optional tensor: absent (no data) or checked like a required one. */
static NuCode check_optional(const NuTensor *t, const char *name, int layer, int64_t rows, int64_t cols,
                             int norm, NuError *err) {
    return t->data ? check_tensor(t, name, layer, rows, cols, norm, err) : NU_OK;
}

NuCode nu_weights_check(const NuConfig *c, const NuWeights *w, NuError *err) {
    const int64_t dim = c->dim, hidden = c->hidden_dim, vocab = c->vocab_size, head = c->head_dim;
    const int64_t q_dim = head * c->n_heads, kv_dim = head * c->n_kv_heads;
    NuCode rc;
    if ((rc = check_tensor(&w->token_embd, "token_embd.weight", -1, vocab, dim, 0, err)) ||
        (rc = check_tensor(&w->output_norm, "output_norm.weight", -1, 1, dim, 1, err)) ||
        (rc = check_tensor(&w->output, "output.weight", -1, vocab, dim, 0, err)) ||
        (rc = check_optional(&w->rope_freqs, "rope_freqs.weight", -1, 1, c->rope_dim / 2, 1, err)))
        return rc;
    if (!w->layers)
        return nu_fail(err, NU_ERR_FORMAT, "model weights: no layers");
    for (int l = 0; l < c->n_layers; l++) {
        const NuLayer *L = &w->layers[l];
        if ((rc = check_tensor(&L->attn_norm, "attn_norm.weight", l, 1, dim, 1, err)) ||
            (rc = check_tensor(&L->wq, "attn_q.weight", l, q_dim, dim, 0, err)) ||
            (rc = check_tensor(&L->wk, "attn_k.weight", l, kv_dim, dim, 0, err)) ||
            (rc = check_tensor(&L->wv, "attn_v.weight", l, kv_dim, dim, 0, err)) ||
            (rc = check_optional(&L->bq, "attn_q.bias", l, 1, q_dim, 1, err)) ||
            (rc = check_optional(&L->bk, "attn_k.bias", l, 1, kv_dim, 1, err)) ||
            (rc = check_optional(&L->bv, "attn_v.bias", l, 1, kv_dim, 1, err)) ||
            (rc = check_tensor(&L->wo, "attn_output.weight", l, dim, q_dim, 0, err)) ||
            (rc = check_tensor(&L->ffn_norm, "ffn_norm.weight", l, 1, dim, 1, err)) ||
            (rc = check_tensor(&L->ffn_gate, "ffn_gate.weight", l, hidden, dim, 0, err)) ||
            (rc = check_tensor(&L->ffn_down, "ffn_down.weight", l, dim, hidden, 0, err)) ||
            (rc = check_tensor(&L->ffn_up, "ffn_up.weight", l, hidden, dim, 0, err)))
            return rc;
        if (c->qk_norm && ((rc = check_tensor(&L->q_norm, "attn_q_norm.weight", l, 1, head, 1, err)) ||
                           (rc = check_tensor(&L->k_norm, "attn_k_norm.weight", l, 1, head, 1, err))))
            return rc;
        if (c->post_norms &&
            ((rc = check_tensor(&L->post_attn_norm, "post_attention_norm.weight", l, 1, dim, 1, err)) ||
             (rc = check_tensor(&L->post_ffn_norm, "post_ffw_norm.weight", l, 1, dim, 1, err))))
            return rc;
    }
    return NU_OK;
}

/* --- forward -------------------------------------------------------------------------------- */

/* The forward pass runs a chunk of n <= NU_BATCH consecutive positions at once: every
 * activation buffer holds n rows, each step below runs row by row, and each matrix product
 * reads the weights once for the chunk (nu_matmul). Every row goes through exactly the
 * operations of a chunk of one, in the same order, so the logits and the cache do not depend
 * on how the positions were chunked. */

/* The matrix products read their input through these two: set_input names the n rows (len
 * floats each, stride floats apart) the next products read, and matmul converts them on first
 * use to the form the weight type pairs with (its vec_dot_type: Q8_0 blocks for
 * Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, ...), so products sharing an input and a pairing share
 * one conversion. */
static void set_input(NuRunState *s, const float *x, int len, int stride, int n) {
    s->in_x = x;
    s->in_len = len;
    s->in_stride = stride;
    s->in_rows = n;
    s->in_ready = 0;
}

/* Rows r0..r1 of a product of n inputs (see product), one range of the pool's split. */
typedef struct {
    const NuTensor *w;
    const void *x;
    size_t x_stride;
    int n;
    float *out;
    size_t out_stride;
} MatmulJob;

static void matmul_rows(const MatmulJob *job, int64_t begin, int64_t end) {
    nu_matmul_rows(job->w, job->x, job->x_stride, job->n, job->out, job->out_stride, begin, end);
}

static void matmul_range(void *ctx, int64_t begin, int64_t end) {
    matmul_rows(ctx, begin, end);
}

/* Input rows begin..end-1 converted to the activation type *vt. */
typedef struct {
    NuRunState *s;
    NuType vt;
} ConvertJob;

static void convert_range(void *ctx, int64_t begin, int64_t end) {
    const ConvertJob *job = ctx;
    NuRunState *s = job->s;
    for (int64_t t = begin; t < end; t++)
        nu_type_from_float_input(job->vt, s->in_x + (size_t)t * s->in_stride,
                                 (uint8_t *)s->act[job->vt] + t * s->act_stride[job->vt], s->in_len);
}

/* Rows go to the pool's threads in multiples of 4, the SIMD kernels' row group and the unit
 * of an interleaved matrix (NuTensor.interleaved), which must not be split; a row's bits do
 * not depend on its thread, group or tile, so every thread count gives the same logits. */
#define MATMUL_GRAIN 4

/* The product of w and the current input, row t to out + t * out_stride, ready to run; the
 * input is converted here (each row on any thread) if no earlier product needed its form. */
static MatmulJob product(NuRunState *s, const NuTensor *w, float *out, int out_stride) {
    NuType vt = nu_type_traits(w->type)->vec_dot_type; /* nu_weights_check: a type in the table */
    MatmulJob job = {w, s->in_x, (size_t)s->in_stride * sizeof(float), s->in_rows, out, (size_t)out_stride};
    if (vt != NU_TYPE_F32) {
        if (!(s->in_ready >> vt & 1)) {
            ConvertJob convert = {s, vt};
            nu_pool_run(s->pool, s->in_rows, 1, convert_range, &convert);
        }
        s->in_ready |= (uint64_t)1 << vt;
        job.x = s->act[vt];
        job.x_stride = s->act_stride[vt];
    }
    return job;
}

static NuPoolJob rows_of(MatmulJob *job) {
    return (NuPoolJob){matmul_range, job, job->w->rows, MATMUL_GRAIN};
}

static void matmul(NuRunState *s, const NuTensor *w, float *out, int out_stride) {
    MatmulJob job = product(s, w, out, out_stride);
    nu_pool_run(s->pool, w->rows, MATMUL_GRAIN, matmul_range, &job);
}

/* Layer l attends through a sliding window (gemma3's local layers, llama.cpp's pattern). */
static int slides(const NuConfig *c, int l) {
    return c->swa_window > 0 && (c->swa_period == 0 || l % c->swa_period < c->swa_period - 1);
}

/* Chunk row i's rotation angles (position pos), for the global layers (table 0: rope_theta,
 * rope_scale) and the sliding-window ones (table 1: rope_theta_swa, unscaled, as llama.cpp
 * has it): pair j turns by pos * scale * theta^(-2j / rope_dim) / freq_factor[j]. Computed
 * in double so every build rounds the same cos/sin to float. */
static void rope_angles(const NuConfig *c, const NuWeights *w, NuRunState *s, int i, int pos) {
    const int half = c->rope_dim / 2;
    const float *factors = w->rope_freqs.data;
    float *cs = s->rope_cos + (size_t)i * c->rope_dim, *sn = s->rope_sin + (size_t)i * c->rope_dim;
    for (int table = 0; table < (c->swa_window > 0 ? 2 : 1); table++) {
        double theta = table ? c->rope_theta_swa : c->rope_theta, scale = table ? 1.0 : c->rope_scale;
        for (int j = 0; j < half; j++) {
            double angle = pos * scale * pow(theta, -2.0 * j / c->rope_dim);
            if (factors)
                angle /= factors[j];
            cs[table * half + j] = (float)cos(angle);
            sn[table * half + j] = (float)sin(angle);
        }
    }
}

/* Rotates the first rope_dim elements of each head by chunk row i's angle table: adjacent
 * pairs (v[2j], v[2j+1]), or with neox the pairs (v[j], v[j + rope_dim/2]). */
static void rope(const NuConfig *c, const NuRunState *s, int i, int table, float *v, int n_heads) {
    const int half = c->rope_dim / 2, stride = c->rope_neox ? 1 : 2, offset = c->rope_neox ? half : 1;
    const float *cs = s->rope_cos + (size_t)i * c->rope_dim + table * half;
    const float *sn = s->rope_sin + (size_t)i * c->rope_dim + table * half;
    for (int h = 0; h < n_heads; h++) {
        float *vh = v + h * c->head_dim;
        for (int j = 0; j < half; j++) {
            float *a = vh + j * stride, *b = a + offset;
            float v0 = *a, v1 = *b;
            *a = v0 * cs[j] - v1 * sn[j];
            *b = v0 * sn[j] + v1 * cs[j];
        }
    }
}

/* Where layer l's kv head h keeps position pos in a cache (model.h: head-major). */
static float *cache_row(const NuConfig *c, float *cache, int l, int h, int pos) {
    return cache + (((size_t)l * c->n_kv_heads + h) * c->seq_len + pos) * c->head_dim;
}

/* Heads h0..h1-1 of the multi-head attention of the query q (position pos) over layer l's
 * cache from position `first` (0, or the start of the sliding window) to pos, writing the
 * heads' outputs to out. Query head h reads kv head h / (n_heads / n_kv_heads) (grouped-query
 * attention) and scores into its own row of s->att, so heads may run on different threads.
 * Within a chunk, the cache rows of the later positions are written already but never read
 * here: the attention is causal. */
static void attention(const NuConfig *c, NuRunState *s, int l, int first, int pos, const float *q, float *out,
                      int h0, int h1) {
    const int head_dim = c->head_dim, group = c->n_heads / c->n_kv_heads, n = pos + 1 - first;
    for (int h = h0; h < h1; h++) {
        const float *qh = q + h * head_dim;
        const float *keys = cache_row(c, s->key_cache, l, h / group, first);
        const float *values = cache_row(c, s->value_cache, l, h / group, first);
        float *att = s->att + (size_t)h * c->seq_len;
        nu_scores(att, qh, keys, n, head_dim, c->att_divisor);
        nu_softmax(att, n);
        nu_weighted_sum(out + h * head_dim, att, values, head_dim, n, head_dim);
    }
}

/* The attention of the chunk's n positions from pos0 in layer l, split over heads. */
typedef struct {
    const NuConfig *c;
    NuRunState *s;
    int l, local, pos0, n;
} AttentionJob;

static void attention_range(void *ctx, int64_t h0, int64_t h1) {
    const AttentionJob *job = ctx;
    const NuConfig *c = job->c;
    const int q_dim = c->head_dim * c->n_heads, wide = c->dim > q_dim ? c->dim : q_dim;
    for (int i = 0; i < job->n; i++) {
        const int pos = job->pos0 + i;
        const int first = job->local && pos >= c->swa_window ? pos + 1 - c->swa_window : 0;
        attention(c, job->s, job->l, first, pos, job->s->q + (size_t)i * q_dim, job->s->xb + (size_t)i * wide,
                  (int)h0, (int)h1);
    }
}

static void add(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++)
        x[i] += y[i];
}

/* x += bias, when the file has one. */
static void add_bias(float *x, const NuTensor *bias) {
    if (bias->data)
        add(x, bias->data, (int)bias->cols);
}

/* RMS norm of each of n_heads heads of v in place, with one weight for all heads. */
static void norm_heads(float *v, const NuTensor *weight, int n_heads, int head_dim, float eps) {
    for (int h = 0; h < n_heads; h++)
        nu_rmsnorm(v + h * head_dim, v + h * head_dim, weight->data, head_dim, eps);
}

/* tanh through nu_expf, so every build gives the same bits (libm tanhf may differ). */
static float tanh_same(float u) {
    return 1.0f - 2.0f / (nu_expf(2.0f * u) + 1.0f);
}

static float half_round(float x) {
    return nu_f16_to_f32(nu_f32_to_f16(x));
}

/* GELU, tanh form, evaluated as llama.cpp's CPU backend does: at x rounded to half precision,
 * the result rounded to half too (ggml keeps a 65536-entry half table), 0 below -10 and x
 * above 10. The plain float form differs by up to 2^-11 relative, which Q8_0 activations
 * downstream magnify: 1.2% of the logit range on a small gemma3 against 0.000% this way. */
static float gelu(float x) {
    if (x <= -10.0f)
        return 0.0f;
    if (x >= 10.0f)
        return x;
    float h = half_round(x);
    return half_round(0.5f * h * (1.0f + tanh_same(0.7978845608f * h * (1.0f + 0.044715f * h * h))));
}

/* The feed-forward gate's activation times up, in place in g: SiLU, or GELU. */
static void gate(const NuConfig *c, float *g, const float *up, int n) {
    if (!c->gelu) {
        nu_silu_mul(g, up, n);
        return;
    }
    for (int i = 0; i < n; i++)
        g[i] = gelu(g[i]) * up[i];
}

/* Rows begin..end-1 of the feed-forward's gate and up products, then the activation of those
 * elements of every input row: one job, so the activation runs on all threads too. */
typedef struct {
    const NuConfig *c;
    MatmulJob gate, up;
} FfnJob;

static void ffn_range(void *ctx, int64_t begin, int64_t end) {
    const FfnJob *job = ctx;
    matmul_rows(&job->gate, begin, end);
    matmul_rows(&job->up, begin, end);
    for (int t = 0; t < job->gate.n; t++)
        gate(job->c, job->gate.out + t * job->gate.out_stride + begin, job->up.out + t * job->up.out_stride + begin,
             (int)(end - begin));
}

/* The residual step of a block: each of the n rows of out (stride floats apart) into its row of
 * x, RMS-normed first by post_norm where the architecture has those norms (gemma3). */
static void add_block_output(const NuConfig *c, NuRunState *s, float *out, int stride, const NuTensor *post_norm,
                             int n) {
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * stride;
        if (c->post_norms)
            nu_rmsnorm(o, o, post_norm->data, c->dim, c->norm_eps);
        add(s->x + (size_t)i * c->dim, o, c->dim);
    }
}

/* Positions pos0 .. pos0 + n - 1 (n <= NU_BATCH), checked by the caller; the logits of the
 * last one when want_logits. */
static void forward_chunk(const NuConfig *c, const NuWeights *w, NuRunState *s, const int *tokens, int n,
                          int pos0, int want_logits) {
    const int dim = c->dim, hidden = c->hidden_dim, head_dim = c->head_dim;
    const int q_dim = head_dim * c->n_heads, kv_dim = head_dim * c->n_kv_heads;
    const int wide = dim > q_dim ? dim : q_dim;
    for (int i = 0; i < n; i++) {
        float *x = s->x + (size_t)i * dim;
        nu_embedding_row(&w->token_embd, tokens[i], x);
        if (c->embed_scale != 1.0f)
            for (int j = 0; j < dim; j++)
                x[j] *= c->embed_scale;
        rope_angles(c, w, s, i, pos0 + i);
    }

    for (int l = 0; l < c->n_layers; l++) {
        const NuLayer *L = &w->layers[l];
        const int local = slides(c, l);

        /* attention: q, k, v from the normalized input; k and v then go to the caches */
        float *k = s->k, *v = s->v;
        for (int i = 0; i < n; i++)
            nu_rmsnorm(s->xb + (size_t)i * wide, s->x + (size_t)i * dim, L->attn_norm.data, dim, c->norm_eps);
        set_input(s, s->xb, dim, wide, n);
        MatmulJob pq = product(s, &L->wq, s->q, q_dim), pk = product(s, &L->wk, k, kv_dim),
                  pv = product(s, &L->wv, v, kv_dim);
        NuPoolJob qkv[3] = {rows_of(&pq), rows_of(&pk), rows_of(&pv)};
        nu_pool_run_jobs(s->pool, qkv, 3);
        for (int i = 0; i < n; i++) {
            float *qi = s->q + (size_t)i * q_dim, *ki = k + (size_t)i * kv_dim, *vi = v + (size_t)i * kv_dim;
            add_bias(qi, &L->bq);
            add_bias(ki, &L->bk);
            add_bias(vi, &L->bv);
            if (c->qk_norm) {
                norm_heads(qi, &L->q_norm, c->n_heads, head_dim, c->norm_eps);
                norm_heads(ki, &L->k_norm, c->n_kv_heads, head_dim, c->norm_eps);
            }
            rope(c, s, i, local, qi, c->n_heads);
            rope(c, s, i, local, ki, c->n_kv_heads);
            for (int h = 0; h < c->n_kv_heads; h++) {
                memcpy(cache_row(c, s->key_cache, l, h, pos0 + i), ki + h * head_dim, head_dim * sizeof(float));
                memcpy(cache_row(c, s->value_cache, l, h, pos0 + i), vi + h * head_dim, head_dim * sizeof(float));
            }
        }
        AttentionJob att = {c, s, l, local, pos0, n};
        nu_pool_run(s->pool, c->n_heads, 1, attention_range, &att);
        set_input(s, s->xb, q_dim, wide, n);
        matmul(s, &L->wo, s->xb2, dim);
        add_block_output(c, s, s->xb2, dim, &L->post_attn_norm, n);

        /* feed-forward: down(act(gate(x)) * up(x)) */
        for (int i = 0; i < n; i++)
            nu_rmsnorm(s->xb + (size_t)i * wide, s->x + (size_t)i * dim, L->ffn_norm.data, dim, c->norm_eps);
        set_input(s, s->xb, dim, wide, n);
        FfnJob ffn = {c, product(s, &L->ffn_gate, s->hb, hidden), product(s, &L->ffn_up, s->hb2, hidden)};
        nu_pool_run(s->pool, hidden, MATMUL_GRAIN, ffn_range, &ffn);
        set_input(s, s->hb, hidden, hidden, n);
        matmul(s, &L->ffn_down, s->xb, wide);
        add_block_output(c, s, s->xb, wide, &L->post_ffn_norm, n);
    }
    if (!want_logits)
        return;

    float *x = s->x + (size_t)(n - 1) * dim;
    nu_rmsnorm(x, x, w->output_norm.data, dim, c->norm_eps);
    set_input(s, x, dim, dim, 1);
    matmul(s, &w->output, s->logits, c->vocab_size);
    if (c->logit_softcap > 0.0f)
        for (int i = 0; i < c->vocab_size; i++)
            s->logits[i] = c->logit_softcap * tanh_same(s->logits[i] / c->logit_softcap);
}

NuCode nu_forward_batch(const NuConfig *c, const NuWeights *w, NuRunState *s, const int *tokens, int n, int pos0,
                        NuError *err) {
    const NuConfig *sc = &s->config;
    if (c->dim != sc->dim || c->hidden_dim != sc->hidden_dim || c->n_layers != sc->n_layers ||
        c->n_heads != sc->n_heads || c->n_kv_heads != sc->n_kv_heads || c->vocab_size != sc->vocab_size ||
        c->seq_len != sc->seq_len || c->rope_dim != sc->rope_dim || c->head_dim != sc->head_dim)
        return nu_fail(err, NU_ERR_ARG, "forward: the model config differs from the one the run state was made for");
    if (n < 1 || !tokens)
        return nu_fail(err, NU_ERR_ARG, "forward: %d tokens, at least one is needed", n);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return nu_fail(err, NU_ERR_ARG, "forward: token %d is outside the vocabulary (0..%d)", tokens[i],
                           c->vocab_size - 1);
    if (pos0 < 0)
        return nu_fail(err, NU_ERR_ARG, "forward: negative position %d", pos0);
    if ((int64_t)pos0 + n > c->seq_len)
        return nu_fail(err, NU_ERR_STATE, "context full: position %d, context length %d",
                       pos0 > c->seq_len ? pos0 : c->seq_len, c->seq_len);
    NuCode rc = nu_weights_check(c, w, err);
    if (rc)
        return rc;
    for (int done = 0; done < n; done += NU_BATCH) {
        int chunk = n - done < NU_BATCH ? n - done : NU_BATCH;
        forward_chunk(c, w, s, tokens + done, chunk, pos0 + done, done + chunk == n);
    }
    return NU_OK;
}

NuCode nu_forward(const NuConfig *c, const NuWeights *w, NuRunState *s, int token, int pos, NuError *err) {
    return nu_forward_batch(c, w, s, &token, 1, pos, err);
}
