/* GGUF (llama, qwen2, qwen3, gemma3) -> NuConfig + NuWeights, and the config limits both
 * loaders share. GGUF shapes list the fastest dimension first: a matrix of `rows` rows of `cols`
 * columns has ne = [cols, rows]. */
#include "loader.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h" /* nu_interleave_rows */
#include "llama2c.h"
#include "quant.h"

#define MAX_RUNSTATE_BYTES ((uint64_t)4 << 30) /* wasm32 memory tops out at 4 GiB */

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

NuCode nu_config_check(const NuConfig *c, NuError *err) {
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0 || c->head_dim <= 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: sizes must be positive (dim %d, "
                       "hidden %d, layers %d, heads %d, kv heads %d, vocab %d, context %d, "
                       "head size %d)", c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                       c->n_kv_heads, c->vocab_size, c->seq_len, c->head_dim);
    if (c->n_heads % c->n_kv_heads != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: head count %d is not a multiple of "
                       "the kv head count %d", c->n_heads, c->n_kv_heads);
    if ((int64_t)c->n_heads * c->head_dim > INT32_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "model config: %d heads of %d dims are too wide",
                       c->n_heads, c->head_dim);
    int head = c->head_dim;
    if (c->rope_dim <= 0 || c->rope_dim > head || c->rope_dim % 2 != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: rope dimension %d must be even, "
                       "positive and at most the head size %d", c->rope_dim, head);
    if (!(c->rope_theta > 0.0f && isfinite(c->rope_theta)) ||
        !(c->rope_theta_swa > 0.0f && isfinite(c->rope_theta_swa)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: rope theta %g (sliding window %g) "
                       "must be positive and finite", (double)c->rope_theta,
                       (double)c->rope_theta_swa);
    if (!(c->rope_scale > 0.0f && isfinite(c->rope_scale)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: rope scale %g must be positive and "
                       "finite", (double)c->rope_scale);
    if (!(c->norm_eps >= 0.0f && isfinite(c->norm_eps)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: norm epsilon %g must be "
                       "non-negative and finite", (double)c->norm_eps);
    if (!(c->att_divisor > 0.0f && isfinite(c->att_divisor)) || !isfinite(c->embed_scale) ||
        !(c->logit_softcap >= 0.0f && isfinite(c->logit_softcap)))
        return nu_fail(err, NU_ERR_FORMAT, "model config: attention divisor %g must be "
                       "positive, embedding scale %g and logit softcap %g finite (softcap "
                       "not negative)", (double)c->att_divisor, (double)c->embed_scale,
                       (double)c->logit_softcap);
    if (c->swa_window < 0 || c->swa_period < 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: sliding window %d and its period %d "
                       "must not be negative", c->swa_window, c->swa_period);

    /* The run state is dominated by the KV cache; count it before anyone allocates it. */
    uint64_t kv_dim = (uint64_t)head * (uint64_t)c->n_kv_heads;
    uint64_t q_dim = (uint64_t)head * (uint64_t)c->n_heads;
    uint64_t cache = mul_sat(mul_sat(2 * (uint64_t)c->n_layers, (uint64_t)c->seq_len),
                             mul_sat(kv_dim, 4));
    uint64_t act = 4 * (3 * (uint64_t)c->dim + 2 * q_dim + 2 * (uint64_t)c->hidden_dim +
                        (uint64_t)c->vocab_size + (uint64_t)c->n_heads * (uint64_t)c->seq_len);
    uint64_t total = add_sat(cache, act);
    if (total > MAX_RUNSTATE_BYTES)
        return nu_fail(err, NU_ERR_NOMEM, "model needs a run state of %s%" PRIu64 " bytes "
                       "(KV cache for %d layers x %d positions x %" PRIu64 " kv dims), over "
                       "the 4 GiB limit", total == UINT64_MAX ? "more than " : "", total,
                       c->n_layers, c->seq_len, kv_dim);
    return NU_OK;
}

void nu_config_defaults(NuConfig *c) {
    c->arch = NU_ARCH_LLAMA;
    c->head_dim = c->n_heads > 0 && c->dim % c->n_heads == 0 ? c->dim / c->n_heads : 0;
    c->rope_dim = c->head_dim;
    c->rope_theta = 10000.0f;
    c->rope_theta_swa = 10000.0f;
    c->rope_scale = 1.0f;
    c->norm_eps = 1e-5f;
    c->logit_softcap = 0.0f;
    nu_config_features(c);
    c->swa_window = c->swa_period = 0;
}

void nu_weights_free(NuWeights *w) {
    if (!w) return;
    free(w->layers);
    memset(w, 0, sizeof *w);
}

void nu_weights_interleave(NuWeights *w, int n_layers) {
    if (w->output.data == w->token_embd.data) {
        nu_interleave_rows(&w->token_embd);
        w->output.interleaved = w->token_embd.interleaved;
    } else {
        nu_interleave_rows(&w->output);
    }
    for (int l = 0; l < n_layers; l++) {
        NuLayer *y = &w->layers[l];
        NuTensor *const matrices[] = {&y->wq, &y->wk, &y->wv, &y->wo, &y->ffn_gate, &y->ffn_up, &y->ffn_down};
        for (size_t i = 0; i < sizeof matrices / sizeof matrices[0]; i++)
            nu_interleave_rows(matrices[i]);
    }
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

void nu_config_features(NuConfig *c) {
    int gemma = c->arch == NU_ARCH_GEMMA3;
    c->rope_neox = c->arch != NU_ARCH_LLAMA;
    c->qk_norm = c->arch == NU_ARCH_QWEN3 || gemma;
    c->post_norms = c->gelu = gemma;
    c->embed_scale = gemma ? sqrtf((float)c->dim) : 1.0f;
    /* llama.cpp's gemma3 query scale: the head size, but dim / heads in the 62-layer 27B */
    int scale_dim = gemma && c->n_layers == 62 ? c->dim / c->n_heads : c->head_dim;
    c->att_divisor = sqrtf((float)scale_dim);
}

static const char *const arch_names[] = {"llama", "qwen2", "qwen3", "gemma3"};

static NuCode read_arch(const GgufFile *g, NuArch *out, NuError *err) {
    GgufStr arch;
    NuCode rc = gguf_get_str(g, "general.architecture", &arch, err);
    if (rc != NU_OK) return rc;
    for (size_t i = 0; i < sizeof arch_names / sizeof arch_names[0]; i++)
        if (arch.len == strlen(arch_names[i]) && memcmp(arch.ptr, arch_names[i], arch.len) == 0) {
            *out = (NuArch)i;
            return NU_OK;
        }
    return nu_fail(err, NU_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (llama, "
                   "qwen2, qwen3, gemma3)", arch.len > 64 ? 64 : (int)arch.len, arch.ptr);
}

const char *nu_arch_name(NuArch arch) {
    return (unsigned)arch < sizeof arch_names / sizeof arch_names[0] ? arch_names[arch] : "?";
}

/* "<arch>.<suffix>", the form of every hyperparameter key. */
static const char *arch_key(char *buf, size_t cap, NuArch arch, const char *suffix) {
    snprintf(buf, cap, "%s.%s", nu_arch_name(arch), suffix);
    return buf;
}

/* rope.scaling.type: none or linear (by rope.scaling.factor, or the older rope.scale_linear);
 * llama.cpp's yarn and longrope need more than a scale. */
static NuCode read_rope_scaling(const GgufFile *g, NuConfig *c, NuError *err) {
    char key[96];
    float factor = 0.0f;
    c->rope_scale = 1.0f;
    if (gguf_find_key(g, arch_key(key, sizeof key, c->arch, "rope.scaling.type")) >= 0) {
        GgufStr type;
        NuCode rc = gguf_get_str(g, key, &type, err);
        if (rc != NU_OK) return rc;
        if (type.len == 4 && memcmp(type.ptr, "none", 4) == 0) return NU_OK;
        if (!(type.len == 6 && memcmp(type.ptr, "linear", 6) == 0))
            return nu_fail(err, NU_ERR_UNSUPPORTED, "rope scaling '%.*s' is not supported "
                           "(none, linear)", type.len > 32 ? 32 : (int)type.len, type.ptr);
    }
    NuCode rc = get_float(g, arch_key(key, sizeof key, c->arch, "rope.scaling.factor"), 0.0f,
                          &factor, err);
    if (rc == NU_OK && factor == 0.0f)
        rc = get_float(g, arch_key(key, sizeof key, c->arch, "rope.scale_linear"), 0.0f,
                       &factor, err);
    if (rc != NU_OK) return rc;
    if (factor != 0.0f) {
        if (!(factor > 0.0f && isfinite(factor)))
            return nu_fail(err, NU_ERR_FORMAT, "%s is %g (must be positive)", key,
                           (double)factor);
        c->rope_scale = 1.0f / factor;
    }
    return NU_OK;
}

/* gemma3's keys: sliding-window attention (attention.sliding_window; period from
 * attention.sliding_window_pattern, 6 when absent or not a number, as llama.cpp reads it;
 * those layers' rope base from rope.freq_base_swa, 10000 when absent) and a final logit
 * softcap when given. */
static NuCode read_gemma3(const GgufFile *g, NuConfig *c, NuError *err) {
    char key[96];
    NuCode rc;
    if ((rc = get_float(g, arch_key(key, sizeof key, c->arch, "final_logit_softcapping"), 0.0f,
                        &c->logit_softcap, err)))
        return rc;
    arch_key(key, sizeof key, c->arch, "attention.sliding_window");
    if (gguf_find_key(g, key) < 0) return NU_OK;
    uint32_t window;
    if ((rc = gguf_get_u32(g, key, &window, err))) return rc;
    if (window == 0) return NU_OK;
    if (window > INT32_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "%s is %" PRIu32 " (too large)", key, window);
    c->swa_window = (int)window;
    c->swa_period = 6;
    int64_t at = gguf_find_key(g, arch_key(key, sizeof key, c->arch,
                                           "attention.sliding_window_pattern"));
    if (at >= 0 && gguf_kv_type(g, (uint64_t)at) != GGUF_TYPE_ARRAY) {
        uint32_t period;
        if ((rc = gguf_get_u32(g, key, &period, err))) return rc;
        if (period > INT32_MAX)
            return nu_fail(err, NU_ERR_FORMAT, "%s is %" PRIu32 " (too large)", key, period);
        c->swa_period = (int)period;
    }
    return get_float(g, arch_key(key, sizeof key, c->arch, "rope.freq_base_swa"), 10000.0f,
                     &c->rope_theta_swa, err);
}

static NuCode read_config(const GgufFile *g, NuConfig *c, NuError *err) {
    NuArch arch = NU_ARCH_LLAMA;
    NuCode rc = read_arch(g, &arch, err);
    if (rc != NU_OK) return rc;
    if (gguf_tensor_count(g) == 0) /* before the hparams: a vocab-only file may claim 7B ones */
        return nu_fail(err, NU_ERR_FORMAT,
                       "the file has no tensors: it holds a vocabulary only (load it as a tokenizer)");
    memset(c, 0, sizeof *c);
    c->arch = arch;
    char k[12][96];
    int i = 0;
#define KEY(suffix) arch_key(k[i++], sizeof k[0], arch, suffix)
    /* Evaluated in order, so the defaults below can use the values read before them. */
    if ((rc = get_dim(g, KEY("embedding_length"), REQUIRED, 0, &c->dim, err)) ||
        (rc = get_dim(g, KEY("feed_forward_length"), REQUIRED, 0, &c->hidden_dim, err)) ||
        (rc = get_dim(g, KEY("block_count"), REQUIRED, 0, &c->n_layers, err)) ||
        (rc = get_dim(g, KEY("attention.head_count"), REQUIRED, 0, &c->n_heads, err)) ||
        (rc = get_dim(g, KEY("attention.head_count_kv"), OPTIONAL, c->n_heads, &c->n_kv_heads,
                      err)) ||
        (rc = get_dim(g, KEY("context_length"), REQUIRED, 0, &c->seq_len, err)))
        return rc;
    /* Without attention.key_length the head is dim / heads, which must then divide. */
    const char *key_length = KEY("attention.key_length");
    if (gguf_find_key(g, key_length) < 0 && c->dim % c->n_heads != 0)
        return nu_fail(err, NU_ERR_FORMAT, "model config: dim %d is not a multiple of the head "
                       "count %d (and %s is absent)", c->dim, c->n_heads, key_length);
    int value_dim;
    if ((rc = get_dim(g, key_length, OPTIONAL, c->dim / c->n_heads, &c->head_dim, err)) ||
        (rc = get_dim(g, KEY("attention.value_length"), OPTIONAL, c->head_dim, &value_dim,
                      err)) ||
        (rc = get_dim(g, KEY("rope.dimension_count"), OPTIONAL, c->head_dim, &c->rope_dim,
                      err)) ||
        (rc = get_float(g, KEY("rope.freq_base"), 10000.0f, &c->rope_theta, err)) ||
        (rc = get_float(g, KEY("attention.layer_norm_rms_epsilon"), 1e-5f, &c->norm_eps,
                        err)) ||
        (rc = read_rope_scaling(g, c, err)) || (rc = vocab_size(g, &c->vocab_size, err)))
        return rc;
#undef KEY
    if (value_dim != c->head_dim)
        return nu_fail(err, NU_ERR_UNSUPPORTED, "value heads of %d dims with key heads of %d "
                       "are not supported", value_dim, c->head_dim);
    c->rope_theta_swa = c->rope_theta;
    nu_config_features(c);
    if (arch == NU_ARCH_GEMMA3) rc = read_gemma3(g, c, err);
    if (c->seq_len > NU_CONTEXT_MAX) c->seq_len = NU_CONTEXT_MAX;
    return rc != NU_OK ? rc : nu_config_check(c, err);
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

/* An optional tensor: absent leaves out zeroed (data NULL); present, it must fit. */
static NuCode map_optional(const GgufFile *g, const char *name, int64_t rows, int64_t cols,
                           int is_norm, NuTensor *out, NuError *err) {
    memset(out, 0, sizeof *out);
    return gguf_find_tensor(g, name) ? map_tensor(g, name, rows, cols, is_norm, out, err) : NU_OK;
}

/* Tensors llama.cpp would use with these architectures but this forward pass does not have:
 * a file with one is refused rather than run without it. */
static NuCode refuse_unhandled(const GgufFile *g, int l, NuError *err) {
    static const char *const parts[] = {"attn_qkv.weight", "attn_output.bias", "ffn_gate.bias",
                                        "ffn_up.bias", "ffn_down.bias"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.%s", l, parts[i]);
        if (gguf_find_tensor(g, name))
            return nu_fail(err, NU_ERR_UNSUPPORTED, "tensor %s is not supported", name);
    }
    return l == 0 && gguf_find_tensor(g, "output.bias")
               ? nu_fail(err, NU_ERR_UNSUPPORTED, "tensor output.bias is not supported")
               : NU_OK;
}

/* Layer l's tensors. Biases of q, k and v are optional for every architecture (llama.cpp
 * reads them where present; qwen2 has them); the other tensors the config's features name
 * are required. Vectors (norms, biases) must be F32. */
static NuCode map_layer(const GgufFile *g, const NuConfig *c, int l, NuLayer *y, NuError *err) {
    const int64_t dim = c->dim, hidden = c->hidden_dim, head = c->head_dim;
    const int64_t q_dim = head * c->n_heads, kv_dim = head * c->n_kv_heads;
    enum { REQ, OPT, SKIP };
    struct {
        const char *name;
        int64_t rows, cols;
        int is_vector, need;
        NuTensor *out;
    } parts[] = {
        {"attn_norm.weight", 1, dim, 1, REQ, &y->attn_norm},
        {"attn_q.weight", q_dim, dim, 0, REQ, &y->wq},
        {"attn_k.weight", kv_dim, dim, 0, REQ, &y->wk},
        {"attn_v.weight", kv_dim, dim, 0, REQ, &y->wv},
        {"attn_q.bias", 1, q_dim, 1, OPT, &y->bq},
        {"attn_k.bias", 1, kv_dim, 1, OPT, &y->bk},
        {"attn_v.bias", 1, kv_dim, 1, OPT, &y->bv},
        {"attn_q_norm.weight", 1, head, 1, c->qk_norm ? REQ : SKIP, &y->q_norm},
        {"attn_k_norm.weight", 1, head, 1, c->qk_norm ? REQ : SKIP, &y->k_norm},
        {"attn_output.weight", dim, q_dim, 0, REQ, &y->wo},
        {"post_attention_norm.weight", 1, dim, 1, c->post_norms ? REQ : SKIP, &y->post_attn_norm},
        {"ffn_norm.weight", 1, dim, 1, REQ, &y->ffn_norm},
        {"ffn_gate.weight", hidden, dim, 0, REQ, &y->ffn_gate},
        {"ffn_down.weight", dim, hidden, 0, REQ, &y->ffn_down},
        {"ffn_up.weight", hidden, dim, 0, REQ, &y->ffn_up},
        {"post_ffw_norm.weight", 1, dim, 1, c->post_norms ? REQ : SKIP, &y->post_ffn_norm},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i].need == SKIP) continue;
        char name[64];
        snprintf(name, sizeof name, "blk.%d.%s", l, parts[i].name);
        NuCode rc = (parts[i].need == REQ ? map_tensor : map_optional)(
            g, name, parts[i].rows, parts[i].cols, parts[i].is_vector, parts[i].out, err);
        if (rc != NU_OK) return rc;
    }
    return refuse_unhandled(g, l, err);
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
    /* Llama 3.x's frequency factors; llama.cpp reads them for llama only. */
    if (rc == NU_OK && c->arch == NU_ARCH_LLAMA)
        rc = map_optional(g, "rope_freqs.weight", 1, c->rope_dim / 2, 1, &w->rope_freqs, err);
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
