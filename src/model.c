#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "sampler.h" /* nu_expf */

/* --- run state ------------------------------------------------------------------------------ */

static NuCode check_config(const NuConfig *c, NuError *err) {
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->vocab_size <= 0 || c->seq_len <= 0)
        return nu_fail(err, NU_ERR_ARG,
                       "model config: sizes must be positive (dim %d, hidden %d, layers %d, heads %d, kv heads %d, "
                       "vocab %d, context %d)",
                       c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->seq_len);
    if (c->dim % c->n_heads)
        return nu_fail(err, NU_ERR_ARG, "model config: dim %d is not a multiple of the head count %d", c->dim,
                       c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return nu_fail(err, NU_ERR_ARG, "model config: head count %d is not a multiple of the kv head count %d",
                       c->n_heads, c->n_kv_heads);
    int head_dim = c->dim / c->n_heads;
    if (c->rope_dim < 0 || c->rope_dim > head_dim || c->rope_dim % 2)
        return nu_fail(err, NU_ERR_ARG, "model config: rope dimension %d must be even and at most the head size %d",
                       c->rope_dim, head_dim);
    if (!(c->rope_theta > 0.0f && c->rope_theta < INFINITY))
        return nu_fail(err, NU_ERR_ARG, "model config: rope theta %g must be positive and finite",
                       (double)c->rope_theta);
    if (!(c->norm_eps >= 0.0f && c->norm_eps < INFINITY))
        return nu_fail(err, NU_ERR_ARG, "model config: norm epsilon %g must be non-negative and finite",
                       (double)c->norm_eps);
    return NU_OK;
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
    const uint64_t kv_dim = dim / (uint64_t)c->n_heads * (uint64_t)c->n_kv_heads;
    const uint64_t max_in = dim > hidden ? dim : hidden;
    size_t act_bytes[NU_TYPE_COUNT] = {0};
    uint64_t act_total = 0;
    for (int t = 0; t < NU_TYPE_COUNT; t++) {
        const NuTypeTraits *tt = nu_type_traits((NuType)t);
        NuType vt = tt && tt->matvec ? tt->vec_dot_type : NU_TYPE_F32;
        if (vt != NU_TYPE_F32 && act_bytes[vt] == 0) {
            act_bytes[vt] = act_buffer_bytes(vt, max_in);
            act_total += act_bytes[vt];
        }
    }

    /* Everything is counted before anything is allocated. Each term is below 2^62 (ints
     * multiplied at most three at a time, times 4 bytes, or refused), so the sum cannot wrap. */
    uint64_t rows, cache = 0, att = 0;
    int ok = mul_u64((uint64_t)c->n_layers, (uint64_t)c->seq_len, &rows) &&
             mul_u64(rows, kv_dim * sizeof(float), &cache) && cache < ((uint64_t)1 << 62) &&
             mul_u64((uint64_t)c->n_heads, (uint64_t)c->seq_len * sizeof(float), &att);
    uint64_t total = 2 * cache + att +
                     (4 * dim + 2 * hidden + (uint64_t)c->vocab_size + (uint64_t)c->rope_dim) * sizeof(float) +
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
    s->x = alloc_floats(dim, &s->bytes);
    s->xb = alloc_floats(dim, &s->bytes);
    s->xb2 = alloc_floats(dim, &s->bytes);
    s->q = alloc_floats(dim, &s->bytes);
    s->hb = alloc_floats(hidden, &s->bytes);
    s->hb2 = alloc_floats(hidden, &s->bytes);
    s->att = alloc_floats(att / sizeof(float), &s->bytes);
    s->logits = alloc_floats((uint64_t)c->vocab_size, &s->bytes);
    s->key_cache = alloc_floats(cache / sizeof(float), &s->bytes);
    s->value_cache = alloc_floats(cache / sizeof(float), &s->bytes);
    s->rope_cos = alloc_floats((uint64_t)c->rope_dim / 2 + 1, &s->bytes);
    s->rope_sin = alloc_floats((uint64_t)c->rope_dim / 2 + 1, &s->bytes);
    int act_ok = 1;
    for (int t = 0; t < NU_TYPE_COUNT; t++) {
        if (act_bytes[t] == 0)
            continue;
        s->act[t] = calloc(1, act_bytes[t]);
        s->bytes += act_bytes[t];
        act_ok &= s->act[t] != NULL;
    }
    if (!s->x || !s->xb || !s->xb2 || !s->q || !s->hb || !s->hb2 || !s->att || !s->logits || !s->key_cache ||
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

NuCode nu_weights_check(const NuConfig *c, const NuWeights *w, NuError *err) {
    const int64_t dim = c->dim, hidden = c->hidden_dim, vocab = c->vocab_size;
    const int64_t kv_dim = dim / c->n_heads * c->n_kv_heads;
    NuCode rc;
    if ((rc = check_tensor(&w->token_embd, "token_embd.weight", -1, vocab, dim, 0, err)) ||
        (rc = check_tensor(&w->output_norm, "output_norm.weight", -1, 1, dim, 1, err)) ||
        (rc = check_tensor(&w->output, "output.weight", -1, vocab, dim, 0, err)))
        return rc;
    if (!w->layers)
        return nu_fail(err, NU_ERR_FORMAT, "model weights: no layers");
    for (int l = 0; l < c->n_layers; l++) {
        const NuLayer *L = &w->layers[l];
        if ((rc = check_tensor(&L->attn_norm, "attn_norm.weight", l, 1, dim, 1, err)) ||
            (rc = check_tensor(&L->wq, "attn_q.weight", l, dim, dim, 0, err)) ||
            (rc = check_tensor(&L->wk, "attn_k.weight", l, kv_dim, dim, 0, err)) ||
            (rc = check_tensor(&L->wv, "attn_v.weight", l, kv_dim, dim, 0, err)) ||
            (rc = check_tensor(&L->wo, "attn_output.weight", l, dim, dim, 0, err)) ||
            (rc = check_tensor(&L->ffn_norm, "ffn_norm.weight", l, 1, dim, 1, err)) ||
            (rc = check_tensor(&L->ffn_gate, "ffn_gate.weight", l, hidden, dim, 0, err)) ||
            (rc = check_tensor(&L->ffn_down, "ffn_down.weight", l, dim, hidden, 0, err)) ||
            (rc = check_tensor(&L->ffn_up, "ffn_up.weight", l, hidden, dim, 0, err)))
            return rc;
    }
    return NU_OK;
}

/* --- forward -------------------------------------------------------------------------------- */

/* The matrix products of the forward pass read their input through these two: set_input names
 * the vector the next products read, and matmul converts it on first use to the form the
 * weight type pairs with (its vec_dot_type: Q8_0 blocks for Q4_0/Q5_0/Q8_0, Q8_1 for
 * Q4_1/Q5_1, ...), so products sharing an input and a pairing share one conversion. */
static void set_input(NuRunState *s, const float *x, int n) {
    s->in_x = x;
    s->in_n = n;
    s->in_ready = 0;
}

static void matmul(NuRunState *s, const NuTensor *w, float *out) {
    NuType vt = nu_type_traits(w->type)->vec_dot_type; /* nu_weights_check: a type in the table */
    const void *x = s->in_x;
    if (vt != NU_TYPE_F32) {
        if (!(s->in_ready >> vt & 1))
            nu_type_from_float_input(vt, s->in_x, s->act[vt], s->in_n);
        s->in_ready |= (uint64_t)1 << vt;
        x = s->act[vt];
    }
    nu_matvec(w, x, out);
}

/* This position's rotation angles: pair j of each head turns by pos * theta^(-2j / rope_dim).
 * Computed in double so every build rounds the same cos/sin to float. */
static void rope_angles(const NuConfig *c, NuRunState *s, int pos) {
    for (int j = 0; j < c->rope_dim / 2; j++) {
        double angle = pos * pow((double)c->rope_theta, -2.0 * j / c->rope_dim);
        s->rope_cos[j] = (float)cos(angle);
        s->rope_sin[j] = (float)sin(angle);
    }
}

/* Rotates adjacent pairs (v[2j], v[2j+1]) of the first rope_dim elements of each head. */
static void rope(const NuRunState *s, float *v, int n_heads, int head_dim, int rope_dim) {
    for (int h = 0; h < n_heads; h++) {
        float *vh = v + h * head_dim;
        for (int j = 0; j < rope_dim / 2; j++) {
            float c = s->rope_cos[j], sn = s->rope_sin[j];
            float v0 = vh[2 * j], v1 = vh[2 * j + 1];
            vh[2 * j] = v0 * c - v1 * sn;
            vh[2 * j + 1] = v0 * sn + v1 * c;
        }
    }
}

/* Multi-head attention over positions 0..pos of layer l, writing the heads' outputs to xb.
 * Query head h reads kv head h / (n_heads / n_kv_heads) (grouped-query attention). */
static void attention(const NuConfig *c, NuRunState *s, int l, int pos) {
    const int head_dim = c->dim / c->n_heads, kv_dim = head_dim * c->n_kv_heads;
    const int group = c->n_heads / c->n_kv_heads;
    const float *keys = s->key_cache + (size_t)l * c->seq_len * kv_dim;
    const float *values = s->value_cache + (size_t)l * c->seq_len * kv_dim;
    const float scale = sqrtf((float)head_dim);
    for (int h = 0; h < c->n_heads; h++) {
        const float *q = s->q + h * head_dim;
        const int kv_off = (h / group) * head_dim;
        float *att = s->att + (size_t)h * c->seq_len;
        for (int t = 0; t <= pos; t++)
            att[t] = nu_dot(q, keys + (size_t)t * kv_dim + kv_off, head_dim) / scale;
        nu_softmax(att, pos + 1);
        nu_weighted_sum(s->xb + h * head_dim, att, values + kv_off, kv_dim, pos + 1, head_dim);
    }
}

static void add(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++)
        x[i] += y[i];
}

NuCode nu_forward(const NuConfig *c, const NuWeights *w, NuRunState *s, int token, int pos, NuError *err) {
    const NuConfig *sc = &s->config;
    if (c->dim != sc->dim || c->hidden_dim != sc->hidden_dim || c->n_layers != sc->n_layers ||
        c->n_heads != sc->n_heads || c->n_kv_heads != sc->n_kv_heads || c->vocab_size != sc->vocab_size ||
        c->seq_len != sc->seq_len || c->rope_dim != sc->rope_dim)
        return nu_fail(err, NU_ERR_ARG, "forward: the model config differs from the one the run state was made for");
    if (token < 0 || token >= c->vocab_size)
        return nu_fail(err, NU_ERR_ARG, "forward: token %d is outside the vocabulary (0..%d)", token,
                       c->vocab_size - 1);
    if (pos < 0)
        return nu_fail(err, NU_ERR_ARG, "forward: negative position %d", pos);
    if (pos >= c->seq_len)
        return nu_fail(err, NU_ERR_STATE, "context full: position %d, context length %d", pos, c->seq_len);
    NuCode rc = nu_weights_check(c, w, err);
    if (rc)
        return rc;

    const int dim = c->dim, hidden = c->hidden_dim;
    const int head_dim = dim / c->n_heads, kv_dim = head_dim * c->n_kv_heads;
    float *x = s->x;
    nu_embedding_row(&w->token_embd, token, x);
    rope_angles(c, s, pos);

    for (int l = 0; l < c->n_layers; l++) {
        const NuLayer *L = &w->layers[l];

        /* attention: q, k, v from the normalized input; k and v go straight into the cache */
        float *k = s->key_cache + ((size_t)l * c->seq_len + pos) * kv_dim;
        float *v = s->value_cache + ((size_t)l * c->seq_len + pos) * kv_dim;
        nu_rmsnorm(s->xb, x, L->attn_norm.data, dim, c->norm_eps);
        set_input(s, s->xb, dim);
        matmul(s, &L->wq, s->q);
        matmul(s, &L->wk, k);
        matmul(s, &L->wv, v);
        rope(s, s->q, c->n_heads, head_dim, c->rope_dim);
        rope(s, k, c->n_kv_heads, head_dim, c->rope_dim);
        attention(c, s, l, pos);
        set_input(s, s->xb, dim);
        matmul(s, &L->wo, s->xb2);
        add(x, s->xb2, dim);

        /* feed-forward: down(silu(gate(x)) * up(x)) */
        nu_rmsnorm(s->xb, x, L->ffn_norm.data, dim, c->norm_eps);
        set_input(s, s->xb, dim);
        matmul(s, &L->ffn_gate, s->hb);
        matmul(s, &L->ffn_up, s->hb2);
        for (int i = 0; i < hidden; i++) {
            float g = s->hb[i];
            s->hb[i] = g * (1.0f / (1.0f + nu_expf(-g))) * s->hb2[i];
        }
        set_input(s, s->hb, hidden);
        matmul(s, &L->ffn_down, s->xb);
        add(x, s->xb, dim);
    }

    nu_rmsnorm(x, x, w->output_norm.data, dim, c->norm_eps);
    set_input(s, x, dim);
    matmul(s, &w->output, s->logits);
    return NU_OK;
}
