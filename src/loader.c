/* GGUF (llama architecture) -> NuConfig + NuWeights, and the config limits both loaders
 * share. GGUF shapes list the fastest dimension first: a matrix of `rows` rows of `cols`
 * columns has ne = [cols, rows]. */
#include "loader.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama2c.h"
#include "quant.h"

#define MAX_RUNSTATE_BYTES ((uint64_t)4 << 30) /* wasm32 memory tops out at 4 GiB */

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

NuCode nu_config_check(const NuConfig *c, NuError *err) {
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: sizes must be positive (dim %d, "
                       "hidden %d, layers %d, heads %d, kv heads %d, vocab %d, context %d)",
                       c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                       c->vocab_size, c->seq_len);
    if (c->dim % c->n_heads != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: dim %d is not a multiple of the head "
                       "count %d", c->dim, c->n_heads);
    if (c->n_heads % c->n_kv_heads != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: head count %d is not a multiple of "
                       "the kv head count %d", c->n_heads, c->n_kv_heads);
    int head = c->dim / c->n_heads;
    if (c->rope_dim <= 0 || c->rope_dim > head || c->rope_dim % 2 != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: rope dimension %d must be even, "
                       "positive and at most the head size %d", c->rope_dim, head);
    if (!(c->rope_theta > 0.0f && isfinite(c->rope_theta)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: rope theta %g must be positive and "
                       "finite", (double)c->rope_theta);
    if (!(c->norm_eps >= 0.0f && isfinite(c->norm_eps)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: norm epsilon %g must be "
                       "non-negative and finite", (double)c->norm_eps);

    /* The run state is dominated by the KV cache; count it before anyone allocates it. */
    uint64_t kv_dim = (uint64_t)head * (uint64_t)c->n_kv_heads;
    uint64_t cache = mul_sat(mul_sat(2 * (uint64_t)c->n_layers, (uint64_t)c->seq_len),
                             mul_sat(kv_dim, 4));
    uint64_t act = 4 * (4 * (uint64_t)c->dim + 2 * (uint64_t)c->hidden_dim +
                        (uint64_t)c->vocab_size + (uint64_t)c->n_heads * (uint64_t)c->seq_len);
    uint64_t total = add_sat(cache, act);
    if (total > MAX_RUNSTATE_BYTES)
        return nu_fail(err, NU_ERR_NOMEM, "model needs a run state of %s%" PRIu64 " bytes "
                       "(KV cache for %d layers x %d positions x %" PRIu64 " kv dims), over "
                       "the 4 GiB limit", total == UINT64_MAX ? "more than " : "", total,
                       c->n_layers, c->seq_len, kv_dim);
    return NU_OK;
}

void nu_weights_free(NuWeights *w) {
    if (!w) return;
    free(w->layers);
    memset(w, 0, sizeof *w);
}

/* ---- hyperparameters ----------------------------------------------------------------- */

/* A positive int hyperparameter; when the key is absent, fallback if optional, else an
 * error. */
#define REQUIRED 0
#define OPTIONAL 1
static NuCode get_dim(const GgufFile *g, const char *key, int optional, int fallback, int *out,
                      NuError *err) {
    if (optional && gguf_find_key(g, key) < 0) {
        *out = fallback;
        return NU_OK;
    }
    int64_t v;
    NuCode rc = gguf_get_i64(g, key, &v, err);
    if (rc != NU_OK) return rc;
    if (v <= 0 || v > INT32_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "%s is %" PRId64 " (must be 1 to 2147483647)", key,
                       v);
    *out = (int)v;
    return NU_OK;
}

static NuCode get_float(const GgufFile *g, const char *key, float fallback, float *out,
                        NuError *err) {
    if (gguf_find_key(g, key) < 0) {
        *out = fallback;
        return NU_OK;
    }
    return gguf_get_f32(g, key, out, err);
}

static NuCode vocab_size(const GgufFile *g, int *out, NuError *err) {
    if (gguf_find_key(g, "tokenizer.ggml.tokens") >= 0) {
        GgufType et;
        uint64_t n;
        NuCode rc = gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, err);
        if (rc != NU_OK) return rc;
        if (n == 0 || n > INT32_MAX)
            return nu_fail(err, NU_ERR_FORMAT, "tokenizer.ggml.tokens has %" PRIu64 " entries",
                           n);
        *out = (int)n;
        return NU_OK;
    }
    const GgufTensorInfo *t = gguf_find_tensor(g, "token_embd.weight");
    if (!t)
        return nu_fail(err, NU_ERR_FORMAT, "no vocabulary: neither tokenizer.ggml.tokens nor "
                       "token_embd.weight is present");
    if (t->ne[1] > INT32_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "token_embd.weight has %" PRId64 " rows", t->ne[1]);
    *out = (int)t->ne[1];
    return NU_OK;
}

static NuCode read_config(const GgufFile *g, NuConfig *c, NuError *err) {
    GgufStr arch;
    NuCode rc = gguf_get_str(g, "general.architecture", &arch, err);
    if (rc != NU_OK) return rc;
    if (arch.len != 5 || memcmp(arch.ptr, "llama", 5) != 0)
        return nu_fail(err, NU_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (only "
                       "llama)", arch.len > 64 ? 64 : (int)arch.len, arch.ptr);
    if (gguf_tensor_count(g) == 0) /* before the hparams: a vocab-only file may claim 7B ones */
        return nu_fail(err, NU_ERR_FORMAT,
                       "the file has no tensors: it holds a vocabulary only (load it as a tokenizer)");
    memset(c, 0, sizeof *c);
    /* Evaluated in order, so the defaults below can use the values read before them. */
    if ((rc = get_dim(g, "llama.embedding_length", REQUIRED, 0, &c->dim, err)) ||
        (rc = get_dim(g, "llama.feed_forward_length", REQUIRED, 0, &c->hidden_dim, err)) ||
        (rc = get_dim(g, "llama.block_count", REQUIRED, 0, &c->n_layers, err)) ||
        (rc = get_dim(g, "llama.attention.head_count", REQUIRED, 0, &c->n_heads, err)) ||
        (rc = get_dim(g, "llama.attention.head_count_kv", OPTIONAL, c->n_heads, &c->n_kv_heads,
                      err)) ||
        (rc = get_dim(g, "llama.context_length", REQUIRED, 0, &c->seq_len, err)) ||
        (rc = get_dim(g, "llama.rope.dimension_count", OPTIONAL, c->dim / c->n_heads,
                      &c->rope_dim, err)) ||
        (rc = get_float(g, "llama.rope.freq_base", 10000.0f, &c->rope_theta, err)) ||
        (rc = get_float(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f, &c->norm_eps,
                        err)) ||
        (rc = vocab_size(g, &c->vocab_size, err)))
        return rc;
    return nu_config_check(c, err);
}

/* ---- tensors ------------------------------------------------------------------------- */

static void format_shape(const GgufTensorInfo *t, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "[%" PRId64, t->ne[0]);
    for (uint32_t i = 1; i < t->n_dims && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, ", %" PRId64, t->ne[i]);
    if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
}

/* Maps tensor `name` as `rows` x `cols` (rows 1: a vector). Norms (is_norm) must be F32;
 * matrices may be any type the table can multiply (src/quant/types.c), in whole blocks. */
static NuCode map_tensor(const GgufFile *g, const char *name, int64_t rows, int64_t cols,
                         int is_norm, NuTensor *out, NuError *err) {
    const GgufTensorInfo *t = gguf_find_tensor(g, name);
    if (!t) return nu_fail(err, NU_ERR_FORMAT, "tensor %s is missing", name);
    if (is_norm ? t->type != NU_TYPE_F32 : !nu_type_can_compute((NuType)t->type))
        return nu_fail(err, NU_ERR_UNSUPPORTED, "tensor %s has type %s (%" PRIu32 "), which is "
                       "not supported (%s)", name, nu_type_name((NuType)t->type), t->type,
                       is_norm ? "norms must be F32"
                               : "not a weight type this runtime computes with");
    int block = nu_type_block_size((NuType)t->type);
    if (t->ne[0] % block != 0)
        return nu_fail(err, NU_ERR_FORMAT, "tensor %s has %" PRId64 " columns, not a whole "
                       "number of %s blocks of %d", name, t->ne[0],
                       nu_type_name((NuType)t->type), block);
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) {
        char shape[96];
        format_shape(t, shape, sizeof shape);
        if (rows == 1)
            return nu_fail(err, NU_ERR_FORMAT, "tensor %s has shape %s but the config implies "
                           "[%" PRId64 "]", name, shape, cols);
        return nu_fail(err, NU_ERR_FORMAT, "tensor %s has shape %s but the config implies "
                       "[%" PRId64 ", %" PRId64 "]", name, shape, cols, rows);
    }
    /* F32 is read as floats; the others contain 16-bit fields. */
    size_t align = t->type == NU_TYPE_F32 ? 4 : 2;
    if ((uintptr_t)t->data % align != 0)
        return nu_fail(err, NU_ERR_ARG, "tensor %s data is not %zu-byte aligned in memory "
                       "(load the file into an aligned buffer)", name, align);
    out->type = (NuType)t->type;
    out->rows = rows;
    out->cols = cols;
    out->data = t->data;
    return NU_OK;
}

static NuCode map_layer(const GgufFile *g, const NuConfig *c, int l, NuLayer *y, NuError *err) {
    const int64_t dim = c->dim, hidden = c->hidden_dim;
    const int64_t kv_dim = dim / c->n_heads * c->n_kv_heads;
    struct {
        const char *suffix;
        int64_t rows, cols;
        int is_norm;
        NuTensor *out;
    } parts[] = {
        {"attn_norm", 1, dim, 1, &y->attn_norm},   {"attn_q", dim, dim, 0, &y->wq},
        {"attn_k", kv_dim, dim, 0, &y->wk},        {"attn_v", kv_dim, dim, 0, &y->wv},
        {"attn_output", dim, dim, 0, &y->wo},      {"ffn_norm", 1, dim, 1, &y->ffn_norm},
        {"ffn_gate", hidden, dim, 0, &y->ffn_gate}, {"ffn_down", dim, hidden, 0, &y->ffn_down},
        {"ffn_up", hidden, dim, 0, &y->ffn_up},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.%s.weight", l, parts[i].suffix);
        NuCode rc = map_tensor(g, name, parts[i].rows, parts[i].cols, parts[i].is_norm,
                               parts[i].out, err);
        if (rc != NU_OK) return rc;
    }
    return NU_OK;
}

static NuCode map_weights(const GgufFile *g, const NuConfig *c, NuWeights *w, NuError *err) {
    NuCode rc = map_tensor(g, "token_embd.weight", c->vocab_size, c->dim, 0, &w->token_embd,
                           err);
    if (rc == NU_OK) rc = map_tensor(g, "output_norm.weight", 1, c->dim, 1, &w->output_norm, err);
    if (rc != NU_OK) return rc;
    if (gguf_find_tensor(g, "output.weight"))
        rc = map_tensor(g, "output.weight", c->vocab_size, c->dim, 0, &w->output, err);
    else
        w->output = w->token_embd;
    if (rc != NU_OK) return rc;
    /* A block_count the file's tensors cannot hold must not size an allocation (each layer
     * has several tensors; which one is missing is named below for smaller mismatches). */
    if ((uint64_t)c->n_layers > gguf_tensor_count(g))
        return nu_fail(err, NU_ERR_FORMAT, "block_count %d is more than the %llu tensors in the file",
                       c->n_layers, (unsigned long long)gguf_tensor_count(g));
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return nu_fail(err, NU_ERR_NOMEM, "no memory for %d layers", c->n_layers);
    for (int l = 0; l < c->n_layers && rc == NU_OK; l++)
        rc = map_layer(g, c, l, &w->layers[l], err);
    return rc;
}

NuCode nu_load_gguf_weights(const GgufFile *g, NuConfig *cfg, NuWeights *w, NuError *err) {
    memset(w, 0, sizeof *w);
    NuCode rc = read_config(g, cfg, err);
    if (rc == NU_OK) rc = map_weights(g, cfg, w, err);
    if (rc != NU_OK) nu_weights_free(w);
    return rc;
}

NuCode nu_load_weights(const uint8_t *data, size_t size, GgufFile **gguf, NuConfig *cfg,
                       NuWeights *w, NuError *err) {
    *gguf = NULL;
    if (size < 4 || memcmp(data, "GGUF", 4) != 0) return nu_llama2c_load(data, size, cfg, w, err);
    NuCode rc = gguf_open(data, size, gguf, err);
    return rc == NU_OK ? nu_load_gguf_weights(*gguf, cfg, w, err) : rc;
}
