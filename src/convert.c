/* Model converter and synthetic-model generator (see convert.h).
 *
 * Both follow one pipeline: describe the weights as a NuWeights (from a loader, or shapes
 * with no data for a synthetic model), plan one output tensor per weight with its output
 * type, add the metadata and the planned tensors to a GGUF writer (tensors that change type
 * with no data), lay the file out, then fill those tensors in the finished buffer a row at a
 * time: dequantize or draw a row of floats, encode it in the output type. */
#include "convert.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_write.h"
#include "llama2c.h"
#include "loader.h"
#include "quant.h"

int nu_convert_file_type(NuType type) {
    switch ((int)type) {
    case NU_TYPE_F32: return 0;
    case NU_TYPE_F16: return 1;
    case NU_TYPE_Q4_0: return 2;
    case NU_TYPE_Q4_1: return 3;
    case NU_TYPE_Q8_0: return 7;
    case NU_TYPE_Q5_0: return 8;
    case NU_TYPE_Q5_1: return 9;
    case NU_TYPE_BF16: return 32;
    case NU_TYPE_Q3_K: return 11; /* the single K-quant types as llama.cpp's "small" (_S) */
    case NU_TYPE_Q4_K: return 14;
    case NU_TYPE_Q5_K: return 16;
    case NU_TYPE_Q6_K: return 18;
    case NU_TYPE_IQ4_NL: return 25;
    case NU_TYPE_IQ4_XS: return 30;
    }
    return nu_target_is_mixture((int)type) ? (int)type - NU_MIX : -1;
}

static NuCode check_target(NuType type, NuError *err) {
    if (nu_convert_file_type(type) < 0 || !(nu_target_is_mixture((int)type) || nu_type_can_write(type)))
        return nu_fail(err, NU_ERR_ARG, "target type %s (%d) is not one of f32, f16, bf16, q8_0, q4_0, "
                       "q4_1, q5_0, q5_1, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs or a mixture (q2_K, "
                       "q3_K_M, q4_K_M, q5_K_M)", nu_type_name(type), (int)type);
    return NU_OK;
}

static int str_is(GgufStr s, const char *c) {
    return s.len == strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

/* A NUL-terminated copy of a string from a file, for the writer. Fails when it holds a NUL
 * byte (GGUF keys and names are plain text) or memory is short. */
static NuCode dup_name(GgufStr s, const char *what, char **out, NuError *err) {
    *out = NULL;
    const char *nul = memchr(s.ptr, 0, (size_t)s.len);
    if (nul) {
        int shown = nul - s.ptr > 64 ? 64 : (int)(nul - s.ptr);
        return nu_fail(err, NU_ERR_UNSUPPORTED, "%s '%.*s' is followed by a NUL byte", what,
                       shown, s.ptr);
    }
    if (!(*out = malloc((size_t)s.len + 1)))
        return nu_fail(err, NU_ERR_NOMEM, "no memory for a %s of %" PRIu64 " bytes", what, s.len);
    memcpy(*out, s.ptr, (size_t)s.len);
    (*out)[s.len] = '\0';
    return NU_OK;
}

/* Copies metadata entry i of g verbatim (nested arrays included). */
static NuCode copy_kv(GgufWriter *w, const GgufFile *g, uint64_t i, NuError *err) {
    char *key;
    NuCode rc = dup_name(gguf_kv_key(g, i), "metadata key", &key, err);
    if (rc != NU_OK) return rc;
    const uint8_t *raw;
    size_t len;
    gguf_kv_raw(g, i, &raw, &len);
    gguf_add_raw(w, key, gguf_kv_type(g, i), raw, len);
    free(key);
    return NU_OK; /* a writer error is reported by gguf_writer_finish */
}

/* ---- the plan ------------------------------------------------------------------------ */

typedef struct {
    char name[48];
    NuTensor src; /* the weight's shape; data NULL for a synthetic model */
    int is_norm;  /* a vector, kept F32: a norm (a synthetic one is all 1.0) or a bias */
    int is_bias;  /* a synthetic bias is random, like a matrix */
    NuType type;  /* output type */
} Item;

typedef struct {
    Item *items;
    size_t n;
    int64_t max_cols;
    float std; /* of a synthetic model's random elements */
    int n_layers, n_gqa, tied; /* what llama.cpp's per-tensor rules look at */
} Plan;

/* The one place a tensor's output type is chosen: norms stay F32; a matrix takes the type
 * nu_convert_tensor_type gives (the target, a mixture's choice, or a fallback for rows that
 * are not whole blocks). p NULL: no mixture context (one layer, no sharing). */
static NuType output_type(NuType target, const char *name, int is_norm, int64_t cols, const Plan *p) {
    if (is_norm || target == NU_TYPE_F32) return NU_TYPE_F32;
    return nu_convert_tensor_type((int)target, name, cols, p ? p->n_layers : 1, p ? p->n_gqa : 1, p ? p->tied : 0);
}

/* A tensor whose input is already in its output type is copied as it is. */
static int copied(const Item *it) { return it->src.data && it->src.type == it->type; }

static void plan_add(Plan *p, const char *name, const NuTensor *src, int is_norm, NuType target) {
    Item *it = &p->items[p->n++];
    snprintf(it->name, sizeof it->name, "%s", name);
    it->src = *src;
    it->is_norm = is_norm;
    it->is_bias = strstr(name, ".bias") != NULL;
    it->type = output_type(target, name, is_norm, src->cols, p);
    if (src->cols > p->max_cols) p->max_cols = src->cols;
}

/* The parts of a layer in llama.cpp's names; optional ones (biases, q/k norms, post norms)
 * are planned when present (rows > 0: a loader leaves absent ones zeroed). */
#define LAYER_PARTS 16

/* One item per weight in llama.cpp's names; output.weight only when not shared. */
static NuCode plan_weights(const NuWeights *w, const NuConfig *c, int shared_output, NuType target,
                           Plan *p, NuError *err) {
    const int n_layers = c->n_layers;
    memset(p, 0, sizeof *p);
    p->n_layers = n_layers;
    p->n_gqa = c->n_kv_heads > 0 ? c->n_heads / c->n_kv_heads : 1;
    p->tied = shared_output;
    if ((size_t)n_layers > (SIZE_MAX / sizeof *p->items - 4) / LAYER_PARTS)
        return nu_fail(err, NU_ERR_NOMEM, "%d layers are too many to plan", n_layers);
    p->items = calloc(4 + LAYER_PARTS * (size_t)n_layers, sizeof *p->items);
    if (!p->items) return nu_fail(err, NU_ERR_NOMEM, "no memory to plan %d layers", n_layers);
    plan_add(p, "token_embd.weight", &w->token_embd, 0, target);
    plan_add(p, "output_norm.weight", &w->output_norm, 1, target);
    if (!shared_output) plan_add(p, "output.weight", &w->output, 0, target);
    if (w->rope_freqs.rows > 0) plan_add(p, "rope_freqs.weight", &w->rope_freqs, 1, target);
    for (int l = 0; l < n_layers; l++) {
        const NuLayer *y = &w->layers[l];
        const struct {
            const char *suffix;
            const NuTensor *t;
            int is_norm;
        } parts[LAYER_PARTS] = {
            {"attn_norm.weight", &y->attn_norm, 1},   {"attn_q.weight", &y->wq, 0},
            {"attn_k.weight", &y->wk, 0},             {"attn_v.weight", &y->wv, 0},
            {"attn_q.bias", &y->bq, 1},               {"attn_k.bias", &y->bk, 1},
            {"attn_v.bias", &y->bv, 1},               {"attn_q_norm.weight", &y->q_norm, 1},
            {"attn_k_norm.weight", &y->k_norm, 1},    {"attn_output.weight", &y->wo, 0},
            {"post_attention_norm.weight", &y->post_attn_norm, 1},
            {"ffn_norm.weight", &y->ffn_norm, 1},     {"ffn_gate.weight", &y->ffn_gate, 0},
            {"ffn_down.weight", &y->ffn_down, 0},     {"ffn_up.weight", &y->ffn_up, 0},
            {"post_ffw_norm.weight", &y->post_ffn_norm, 1},
        };
        for (size_t i = 0; i < LAYER_PARTS; i++) {
            if (parts[i].t->rows == 0) continue;
            char name[48];
            snprintf(name, sizeof name, "blk.%d.%s", l, parts[i].suffix);
            plan_add(p, name, parts[i].t, parts[i].is_norm, target);
        }
    }
    return NU_OK;
}

static void add_plan_tensors(GgufWriter *w, const Plan *p) {
    for (size_t i = 0; i < p->n; i++) {
        const Item *it = &p->items[i];
        int64_t ne[2] = {it->src.cols, it->src.rows};
        gguf_add_tensor(w, it->name, it->is_norm ? 1 : 2, ne, it->type,
                        copied(it) ? it->src.data : NULL);
    }
}

/* ---- filling tensors ----------------------------------------------------------------- */

#define SYNTH_STD 0.02f /* the default */

/* splitmix64: a well-mixed 64-bit stream from any state, including 0. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform on [-a, a] with a = std * sqrt(3), which has that standard deviation. */
static void random_row(uint64_t *state, float std, float *row, int64_t n) {
    const float half_width = std * 1.7320508f;
    for (int64_t j = 0; j < n; j++) {
        float u = (float)(next_u64(state) >> 40) * (1.0f / 16777216.0f); /* [0, 1), 24 bits */
        row[j] = (2.0f * u - 1.0f) * half_width;
    }
}

/* Writes item `index` at dst: each row dequantized from the input, or for a synthetic model
 * norms of 1.0 and matrices and biases from the item's own PRNG stream. */
static void fill_item(const Item *it, size_t index, uint64_t seed, float std, float *row, uint8_t *dst) {
    const int64_t cols = it->src.cols;
    const size_t in_bytes = it->src.data ? nu_row_bytes(it->src.type, cols) : 0;
    const size_t out_bytes = nu_row_bytes(it->type, cols);
    uint64_t state = seed ^ ((uint64_t)(index + 1) * 0xD1B54A32D192ED03u);
    for (int64_t r = 0; r < it->src.rows; r++) {
        if (it->src.data)
            nu_dequantize_row(it->src.type, (const uint8_t *)it->src.data + (size_t)r * in_bytes,
                              row, cols);
        else if (it->is_norm && !it->is_bias)
            for (int64_t j = 0; j < cols; j++) row[j] = 1.0f;
        else
            random_row(&state, std, row, cols);
        nu_quantize_row(it->type, row, dst + (size_t)r * out_bytes, cols);
    }
}

/* Lays out the file and fills every tensor that was added without data. */
static NuCode finish(GgufWriter *w, const Plan *p, uint64_t seed, uint8_t **out,
                     size_t *out_size, NuError *err) {
    uint8_t *buf;
    size_t size;
    NuCode rc = gguf_writer_finish(w, &buf, &size, err);
    if (rc != NU_OK) return rc;
    float *row = malloc((size_t)p->max_cols * sizeof *row); /* cols fit: tensors fit in memory */
    if (!row) {
        free(buf);
        return nu_fail(err, NU_ERR_NOMEM, "no memory for a row of %" PRId64 " floats",
                       p->max_cols);
    }
    for (size_t i = 0; i < p->n; i++)
        if (!copied(&p->items[i]))
            fill_item(&p->items[i], i, seed, p->std, row, buf + gguf_writer_tensor_pos(w, i));
    free(row);
    *out = buf;
    *out_size = size;
    return NU_OK;
}

/* ---- metadata ------------------------------------------------------------------------ */

static void add_general(GgufWriter *w, const char *arch, const char *name, NuType type) {
    gguf_add_str(w, "general.architecture", arch);
    gguf_add_str(w, "general.name", name);
    gguf_add_u32(w, "general.file_type", (uint32_t)nu_convert_file_type(type));
}

/* The hyperparameters under the architecture's prefix, as llama.cpp's converter writes them
 * (gemma3's window and its rope base only when the model has one). */
static void add_hparams(GgufWriter *w, const NuConfig *c) {
    char key[96];
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", nu_arch_name(c->arch), suffix), key)
    gguf_add_u32(w, K("vocab_size"), (uint32_t)c->vocab_size);
    gguf_add_u32(w, K("context_length"), (uint32_t)c->seq_len);
    gguf_add_u32(w, K("embedding_length"), (uint32_t)c->dim);
    gguf_add_u32(w, K("block_count"), (uint32_t)c->n_layers);
    gguf_add_u32(w, K("feed_forward_length"), (uint32_t)c->hidden_dim);
    gguf_add_u32(w, K("rope.dimension_count"), (uint32_t)c->rope_dim);
    gguf_add_u32(w, K("attention.head_count"), (uint32_t)c->n_heads);
    gguf_add_u32(w, K("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    if (c->arch == NU_ARCH_QWEN3 || c->arch == NU_ARCH_GEMMA3 || c->head_dim * c->n_heads != c->dim) {
        gguf_add_u32(w, K("attention.key_length"), (uint32_t)c->head_dim);
        gguf_add_u32(w, K("attention.value_length"), (uint32_t)c->head_dim);
    }
    gguf_add_f32(w, K("attention.layer_norm_rms_epsilon"), c->norm_eps);
    gguf_add_f32(w, K("rope.freq_base"), c->rope_theta);
    if (c->swa_window > 0) {
        gguf_add_u32(w, K("attention.sliding_window"), (uint32_t)c->swa_window);
        gguf_add_f32(w, K("rope.freq_base_swa"), c->rope_theta_swa);
    }
#undef K
}

/* Token types as llama.cpp numbers them. */
enum { TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_BYTE = 6 };

/* llama2.c's export puts <unk>, BOS and EOS at 0..2 and spells byte tokens <0xNN>. */
static int32_t llama2c_token_type(int id, const uint8_t *s, size_t len) {
    if (id == 0) return TYPE_UNKNOWN;
    if (id <= 2) return TYPE_CONTROL;
    if (len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>') return TYPE_BYTE;
    return TYPE_NORMAL;
}

/* Token id's text in GGUF form: BOS and EOS by their names (tokenizer.bin has "\n<s>\n"),
 * and SentencePiece's '▁' for each space that llama2.c's export turned into ' '. Returns the
 * length; writes it to dst when dst is not NULL. */
static size_t gguf_token_text(int id, const uint8_t *s, size_t len, uint8_t *dst) {
    static const char *const names[3] = {NULL, "<s>", "</s>"};
    if (id == 1 || id == 2) {
        size_t n = strlen(names[id]);
        if (dst) memcpy(dst, names[id], n);
        return n;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (dst) memcpy(dst + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            if (dst) dst[n] = s[i];
            n++;
        }
    }
    return n;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* tokenizer.ggml.tokens encoded by hand (element type, count, then length-prefixed bytes),
 * since token texts may hold any bytes. */
static NuCode add_llama2c_tokens(GgufWriter *w, const uint8_t *tok, const NuLlama2cVocab *v,
                                 NuError *err) {
    uint64_t total = 12;
    for (int i = 0; i < v->n_tokens; i++) /* each text at most triples: no overflow */
        total += 8 + gguf_token_text(i, tok + v->offsets[i], v->lengths[i], NULL);
    if (total > SIZE_MAX)
        return nu_fail(err, NU_ERR_NOMEM, "tokenizer.bin: %" PRIu64 " bytes of token texts do "
                       "not fit in memory", total);
    uint8_t *buf = malloc((size_t)total);
    if (!buf) return nu_fail(err, NU_ERR_NOMEM, "no memory for %" PRIu64 " bytes of tokens", total);
    put_le(buf, GGUF_TYPE_STRING, 4);
    put_le(buf + 4, (uint64_t)v->n_tokens, 8);
    size_t at = 12;
    for (int i = 0; i < v->n_tokens; i++) {
        size_t n = gguf_token_text(i, tok + v->offsets[i], v->lengths[i], buf + at + 8);
        put_le(buf + at, n, 8);
        at += 8 + n;
    }
    gguf_add_raw(w, "tokenizer.ggml.tokens", GGUF_TYPE_ARRAY, buf, at);
    free(buf);
    return NU_OK;
}

static NuCode add_llama2c_vocab(GgufWriter *w, const uint8_t *tok, size_t tok_size, int n_vocab,
                                NuError *err) {
    NuLlama2cVocab v;
    NuCode rc = nu_llama2c_vocab_parse(tok, tok_size, n_vocab, &v, err);
    if (rc != NU_OK) return rc;
    int32_t *types = malloc((size_t)n_vocab * sizeof *types);
    if (!types) rc = nu_fail(err, NU_ERR_NOMEM, "no memory for %d token types", n_vocab);
    for (int i = 0; rc == NU_OK && i < n_vocab; i++)
        types[i] = llama2c_token_type(i, tok + v.offsets[i], v.lengths[i]);
    if (rc == NU_OK) {
        gguf_add_str(w, "tokenizer.ggml.model", "llama");
        rc = add_llama2c_tokens(w, tok, &v, err);
    }
    if (rc == NU_OK) {
        gguf_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v.scores, (uint64_t)n_vocab);
        gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n_vocab);
        gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        if (n_vocab > 1) gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
        if (n_vocab > 2) gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
        gguf_add_bool(w, "tokenizer.ggml.add_bos_token", 1);
        gguf_add_bool(w, "tokenizer.ggml.add_eos_token", 0);
        gguf_add_bool(w, "tokenizer.ggml.add_space_prefix", 1);
    }
    free(types);
    nu_llama2c_vocab_free(&v);
    return rc;
}

/* ---- conversion ---------------------------------------------------------------------- */

static NuCode convert_llama2c(const uint8_t *model, size_t model_size, const uint8_t *tok,
                              size_t tok_size, NuType type, const char *name, uint8_t **out,
                              size_t *out_size, NuError *err) {
    NuConfig c;
    NuWeights wts = {0};
    Plan plan = {0};
    GgufWriter *w = NULL;
    NuCode rc = nu_llama2c_load(model, model_size, &c, &wts, err);
    if (rc == NU_OK && !(w = gguf_writer_new()))
        rc = nu_fail(err, NU_ERR_NOMEM, "no memory for a GGUF writer");
    if (rc == NU_OK) {
        add_general(w, "llama", name ? name : "llama", type);
        add_hparams(w, &c);
        rc = add_llama2c_vocab(w, tok, tok_size, c.vocab_size, err);
    }
    if (rc == NU_OK)
        rc = plan_weights(&wts, &c, wts.output.data == wts.token_embd.data, type, &plan, err);
    if (rc == NU_OK) {
        add_plan_tensors(w, &plan);
        rc = finish(w, &plan, 0, out, out_size, err);
    }
    free(plan.items);
    gguf_writer_free(w);
    nu_weights_free(&wts);
    return rc;
}

/* Every entry but general.alignment, with general.file_type set for the new type (in its
 * place, or last when the input had none). */
static NuCode copy_metadata(GgufWriter *w, const GgufFile *g, NuType type, NuError *err) {
    int wrote_file_type = 0;
    for (uint64_t i = 0; i < gguf_kv_count(g); i++) {
        GgufStr key = gguf_kv_key(g, i);
        if (str_is(key, "general.alignment")) continue;
        if (str_is(key, "general.file_type")) {
            gguf_add_u32(w, "general.file_type", (uint32_t)nu_convert_file_type(type));
            wrote_file_type = 1;
            continue;
        }
        NuCode rc = copy_kv(w, g, i, err);
        if (rc != NU_OK) return rc;
    }
    if (!wrote_file_type) gguf_add_u32(w, "general.file_type", (uint32_t)nu_convert_file_type(type));
    return NU_OK;
}

/* Tensors that are not model weights (e.g. rope_freqs.weight) go through unchanged. */
static NuCode copy_other_tensors(GgufWriter *w, const GgufFile *g, const Plan *p, NuError *err) {
    uint64_t n = gguf_tensor_count(g);
    char *planned = calloc((size_t)(n ? n : 1), 1); /* n tensor infos fit in the file */
    if (!planned) return nu_fail(err, NU_ERR_NOMEM, "no memory for %" PRIu64 " flags", n);
    for (size_t i = 0; i < p->n; i++) {
        const GgufTensorInfo *t = gguf_find_tensor(g, p->items[i].name);
        if (t) planned[t - gguf_tensor(g, 0)] = 1;
    }
    NuCode rc = NU_OK;
    for (uint64_t i = 0; rc == NU_OK && i < n; i++) {
        if (planned[i]) continue;
        const GgufTensorInfo *t = gguf_tensor(g, i);
        char *name;
        rc = dup_name(t->name, "tensor name", &name, err);
        if (rc == NU_OK) gguf_add_tensor(w, name, t->n_dims, t->ne, t->type, t->data);
        free(name);
    }
    free(planned);
    return rc;
}

static NuCode convert_gguf(const uint8_t *model, size_t model_size, NuType type, uint8_t **out,
                           size_t *out_size, NuError *err) {
    GgufFile *g = NULL;
    NuConfig c;
    NuWeights wts = {0};
    Plan plan = {0};
    GgufWriter *w = NULL;
    NuCode rc = gguf_open(model, model_size, &g, err);
    if (rc == NU_OK) rc = nu_load_gguf_weights(g, &c, &wts, err);
    if (rc == NU_OK && !(w = gguf_writer_new()))
        rc = nu_fail(err, NU_ERR_NOMEM, "no memory for a GGUF writer");
    if (rc == NU_OK) rc = copy_metadata(w, g, type, err);
    if (rc == NU_OK)
        rc = plan_weights(&wts, &c, wts.output.data == wts.token_embd.data, type, &plan, err);
    if (rc == NU_OK) {
        add_plan_tensors(w, &plan); /* first, so tensor i of the writer is plan item i */
        rc = copy_other_tensors(w, g, &plan, err);
    }
    if (rc == NU_OK) rc = finish(w, &plan, 0, out, out_size, err);
    free(plan.items);
    gguf_writer_free(w);
    nu_weights_free(&wts);
    gguf_close(g);
    return rc;
}

NuCode nu_convert(const uint8_t *model, size_t model_size, const uint8_t *tok, size_t tok_size,
                  NuType type, const char *name, uint8_t **out, size_t *out_size, NuError *err) {
    nu_clear(err);
    *out = NULL;
    *out_size = 0;
    NuCode rc = check_target(type, err);
    if (rc != NU_OK) return rc;
    if (!model || model_size == 0) return nu_fail(err, NU_ERR_FORMAT, "the model file is empty");
    if (model_size >= 4 && memcmp(model, "GGUF", 4) == 0) {
        if (tok)
            return nu_fail(err, NU_ERR_ARG, "a GGUF model carries its own tokenizer; a "
                           "tokenizer.bin is only for llama2.c checkpoints");
        return convert_gguf(model, model_size, type, out, out_size, err);
    }
    if (!tok)
        return nu_fail(err, NU_ERR_ARG, "not a GGUF file; a llama2.c checkpoint needs its "
                       "tokenizer.bin as well");
    return convert_llama2c(model, model_size, tok, tok_size, type, name, out, out_size, err);
}

/* ---- synthetic models ---------------------------------------------------------------- */

/* Real models' shapes and settings (their Hugging Face configs); vocab 0: the vocabulary
 * file's size. */
static const struct {
    const char *name;
    NuArch arch;
    int dims[8]; /* dim, hidden, layers, heads, kv heads, vocab, context, head size */
    float theta, eps;
    int window, untied, llama3_rope;
} presets[] = {
    {"stories15M", NU_ARCH_LLAMA, {288, 768, 6, 6, 6, 32000, 256, 48}, 1e4f, 1e-5f, 0, 0, 0},
    {"stories42M", NU_ARCH_LLAMA, {512, 1376, 8, 8, 8, 32000, 1024, 64}, 1e4f, 1e-5f, 0, 0, 0},
    {"stories110M", NU_ARCH_LLAMA, {768, 2048, 12, 12, 12, 32000, 1024, 64}, 1e4f, 1e-5f, 0, 0, 0},
    {"smollm2-135m", NU_ARCH_LLAMA, {576, 1536, 30, 9, 3, 0, 8192, 64}, 1e5f, 1e-5f, 0, 0, 0},
    {"tinyllama-1.1b", NU_ARCH_LLAMA, {2048, 5632, 22, 32, 4, 0, 2048, 64}, 1e4f, 1e-5f, 0, 1, 0},
    {"llama3.2-1b", NU_ARCH_LLAMA, {2048, 8192, 16, 32, 8, 0, 131072, 64}, 5e5f, 1e-5f, 0, 0, 1},
    {"qwen2.5-0.5b", NU_ARCH_QWEN2, {896, 4864, 24, 14, 2, 0, 32768, 64}, 1e6f, 1e-6f, 0, 0, 0},
    {"qwen3-0.6b", NU_ARCH_QWEN3, {1024, 3072, 28, 16, 8, 0, 40960, 128}, 1e6f, 1e-6f, 0, 0, 0},
    {"gemma3-270m", NU_ARCH_GEMMA3, {640, 2048, 18, 4, 1, 0, 32768, 256}, 1e6f, 1e-6f, 512, 0, 0},
};

/* Seven or eight decimal integers separated by commas, nothing else: all positive but the
 * vocabulary (field 5), which may be 0. Without the eighth (head size) it is 0. */
static int parse_dims(const char *s, int dims[8]) {
    dims[7] = 0;
    for (int i = 0; i < 8; i++) {
        if (*s < '0' || *s > '9') return 0;
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            if (v > INT32_MAX) return 0;
        }
        if (v == 0 && i != 5) return 0;
        dims[i] = (int)v;
        if (*s == '\0') return i >= 6;
        if (*s++ != ',') return 0;
    }
    return 0;
}

/* An architecture's usual settings for a shape that does not come with its own. */
static void arch_settings(NuArch arch, float *theta, float *eps) {
    *theta = arch == NU_ARCH_LLAMA ? 1e4f : 1e6f;
    *eps = arch == NU_ARCH_LLAMA ? 1e-5f : 1e-6f;
}

static NuCode parse_arch(const char *name, NuArch *out, NuError *err) {
    for (int a = NU_ARCH_LLAMA; a <= NU_ARCH_GEMMA3; a++)
        if (strcmp(name, nu_arch_name((NuArch)a)) == 0) {
            *out = (NuArch)a;
            return NU_OK;
        }
    return nu_fail(err, NU_ERR_ARG, "architecture '%.32s' is not one of llama, qwen2, qwen3, gemma3",
                   name);
}

NuCode nu_synth_spec(const NuSynthSpec *spec, NuSynthModel *m, NuError *err) {
    nu_clear(err);
    memset(m, 0, sizeof *m);
    NuConfig *cfg = &m->config;
    if (!spec->shape) return nu_fail(err, NU_ERR_ARG, "no shape given");
    int dims[8], window = 0, found = 0;
    NuArch arch = NU_ARCH_LLAMA;
    float theta = 1e4f, eps = 1e-5f;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0] && !found; i++)
        if (strcmp(spec->shape, presets[i].name) == 0) {
            memcpy(dims, presets[i].dims, sizeof dims);
            arch = presets[i].arch;
            theta = presets[i].theta, eps = presets[i].eps, window = presets[i].window;
            m->untied_output = presets[i].untied;
            m->llama3_rope = presets[i].llama3_rope;
            found = 1;
        }
    if (!found && !parse_dims(spec->shape, dims))
        return nu_fail(err, NU_ERR_ARG, "shape '%.64s' is not a preset (stories15M, stories42M, "
                       "stories110M, smollm2-135m, tinyllama-1.1b, llama3.2-1b, qwen2.5-0.5b, "
                       "qwen3-0.6b, gemma3-270m) or DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ[,HEAD] "
                       "(positive integers; VOCAB 0: the vocabulary file's)", spec->shape);
    if (spec->arch && spec->arch[0]) {
        NuArch want = NU_ARCH_LLAMA;
        NuCode rc = parse_arch(spec->arch, &want, err);
        if (rc != NU_OK) return rc;
        if (found && want != arch)
            return nu_fail(err, NU_ERR_ARG, "shape %s is a %s model, not %s", spec->shape,
                           nu_arch_name(arch), spec->arch);
        arch = want;
    }
    if (!found) arch_settings(arch, &theta, &eps);
    if (spec->window > 0) window = spec->window;
    if (window > 0 && arch != NU_ARCH_GEMMA3)
        return nu_fail(err, NU_ERR_ARG, "a sliding window is for gemma3 models, not %s",
                       nu_arch_name(arch));
    if (!(spec->std >= 0.0f && spec->std <= 1.0f))
        return nu_fail(err, NU_ERR_ARG, "standard deviation %g is not in [0, 1]", (double)spec->std);
    m->std = spec->std;
    m->untied_output |= spec->untied_output;
    m->llama3_rope |= spec->llama3_rope;
    if (m->llama3_rope && arch != NU_ARCH_LLAMA)
        return nu_fail(err, NU_ERR_ARG, "Llama 3 rope factors are for llama models, not %s",
                       nu_arch_name(arch));

    cfg->dim = dims[0];
    cfg->hidden_dim = dims[1];
    cfg->n_layers = spec->layers > 0 ? spec->layers : dims[2];
    cfg->n_heads = dims[3];
    cfg->n_kv_heads = dims[4];
    cfg->vocab_size = dims[5];
    cfg->seq_len = dims[6];
    nu_config_defaults(cfg);
    if (dims[7] > 0) cfg->head_dim = dims[7];
    cfg->rope_dim = cfg->head_dim;
    cfg->arch = arch;
    cfg->rope_theta = theta;
    cfg->norm_eps = eps;
    nu_config_features(cfg);
    if (window > 0) {
        cfg->swa_window = window;
        cfg->swa_period = 6; /* llama.cpp's gemma3 pattern: five local layers, one global */
        cfg->rope_theta_swa = 1e4f;
    } else {
        cfg->rope_theta_swa = theta;
    }
    /* Checked as the loader will use it: vocabulary known, context cut. */
    NuConfig check = *cfg;
    if (check.vocab_size == 0) check.vocab_size = 1;
    if (check.seq_len > NU_CONTEXT_MAX) check.seq_len = NU_CONTEXT_MAX;
    NuError e;
    NuCode rc = cfg->head_dim > 0 ? nu_config_check(&check, &e)
                                  : nu_fail(&e, NU_ERR_FORMAT, "heads %d do not divide dim %d (give HEAD)",
                                            cfg->n_heads, cfg->dim);
    if (rc != NU_OK)
        return nu_fail(err, rc == NU_ERR_FORMAT ? NU_ERR_ARG : rc, "shape '%.64s': %s", spec->shape,
                       e.message);
    return NU_OK;
}

NuCode nu_synth_shape(const char *spec, NuConfig *cfg, NuError *err) {
    NuSynthSpec s = {.shape = spec};
    NuSynthModel m;
    NuCode rc = nu_synth_spec(&s, &m, err);
    *cfg = m.config;
    return rc;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* Bytes of the weights in their output types (saturating), checked before anything is
 * allocated for them. Sizes per element are counted in 256ths of a byte (every block size
 * divides 256). */
static uint64_t synth_bytes(const NuSynthModel *m, NuType type) {
    const NuConfig *c = &m->config;
    const uint64_t dim = (uint64_t)c->dim, hidden = (uint64_t)c->hidden_dim;
    const uint64_t kv_dim = (uint64_t)c->head_dim * (uint64_t)c->n_kv_heads;
    const uint64_t q_dim = (uint64_t)c->head_dim * (uint64_t)c->n_heads;
    const uint64_t full = nu_row_bytes(type, 256), half = nu_row_bytes(NU_TYPE_F16, 256);
    const uint64_t by_dim = output_type(type, "", 0, c->dim, NULL) == type ? full : half;
    const uint64_t by_q = output_type(type, "", 0, (int64_t)q_dim, NULL) == type ? full : half;
    const uint64_t by_hidden = output_type(type, "", 0, c->hidden_dim, NULL) == type ? full : half;
    /* rows of dim columns: wq, wk, wv, gate, up; wo has q_dim columns, ffn_down hidden */
    uint64_t rows = add_sat(add_sat(q_dim, 2 * kv_dim), 2 * hidden);
    uint64_t layer = add_sat(mul_sat(mul_sat(rows, dim), by_dim),
                             add_sat(mul_sat(mul_sat(dim, q_dim), by_q),
                                     mul_sat(mul_sat(dim, hidden), by_hidden)));
    layer = add_sat(layer, 1024 * (4 * dim + 2 * q_dim + 2 * (uint64_t)c->head_dim)); /* vectors */
    uint64_t total = mul_sat(layer, (uint64_t)c->n_layers);
    uint64_t embd = mul_sat(mul_sat((uint64_t)c->vocab_size, dim), by_dim);
    total = add_sat(total, m->untied_output ? add_sat(embd, embd) : embd);
    total = add_sat(total, 1024 * dim);
    return total == UINT64_MAX ? total : total / 256;
}

#define SYNTH_MAX_BYTES ((uint64_t)4 << 30) /* what fits in wasm32 memory */

/* Llama 3's frequency factors (rope_freqs.weight) as its converter computes them from the
 * model's rope scaling: factor 32, low/high frequency factors 1 and 4, original context 8192.
 * Pairs whose wavelength is short keep their frequency, long ones are slowed by the factor,
 * and those between are interpolated. */
static void llama3_rope_factors(const NuConfig *c, float *out) {
    const double factor = 32, low = 1, high = 4, old_context = 8192;
    const double low_wavelen = old_context / low, high_wavelen = old_context / high;
    for (int j = 0; j < c->rope_dim / 2; j++) {
        double freq = pow((double)c->rope_theta, -2.0 * j / c->rope_dim);
        double wavelen = 2 * 3.14159265358979323846 / freq;
        if (wavelen < high_wavelen) out[j] = 1.0f;
        else if (wavelen > low_wavelen) out[j] = (float)factor;
        else {
            double smooth = (old_context / wavelen - low) / (high - low);
            out[j] = (float)(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
}

/* A NuWeights of shapes only (no data) with the tensors m's features call for; rope_freqs
 * (F32, computed) is the one with data. */
static NuCode synth_weights(const NuSynthModel *m, float *rope_freqs, NuWeights *w, NuError *err) {
    const NuConfig *c = &m->config;
    memset(w, 0, sizeof *w);
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return nu_fail(err, NU_ERR_NOMEM, "no memory for %d layers", c->n_layers);
    const int64_t dim = c->dim, hidden = c->hidden_dim, head = c->head_dim;
    const int64_t q_dim = head * c->n_heads, kv_dim = head * c->n_kv_heads;
    NuTensor t = {NU_TYPE_F32, 0, 0, NULL, 0};
    t.rows = c->vocab_size, t.cols = dim, w->token_embd = w->output = t;
    t.rows = 1, t.cols = dim, w->output_norm = t;
    if (rope_freqs) {
        llama3_rope_factors(c, rope_freqs);
        w->rope_freqs = (NuTensor){NU_TYPE_F32, 1, c->rope_dim / 2, rope_freqs, 0};
    }
    for (int l = 0; l < c->n_layers; l++) {
        NuLayer *y = &w->layers[l];
        t.rows = 1, t.cols = dim, y->attn_norm = y->ffn_norm = t;
        if (c->post_norms) y->post_attn_norm = y->post_ffn_norm = t;
        t.rows = q_dim, t.cols = dim, y->wq = t;
        t.rows = dim, t.cols = q_dim, y->wo = t;
        t.rows = kv_dim, t.cols = dim, y->wk = y->wv = t;
        t.rows = hidden, t.cols = dim, y->ffn_gate = y->ffn_up = t;
        t.rows = dim, t.cols = hidden, y->ffn_down = t;
        if (c->arch == NU_ARCH_QWEN2) {
            t.rows = 1, t.cols = q_dim, y->bq = t;
            t.cols = kv_dim, y->bk = y->bv = t;
        }
        if (c->qk_norm) t.rows = 1, t.cols = head, y->q_norm = y->k_norm = t;
    }
    return NU_OK;
}

/* Every tokenizer.* entry of the vocabulary file but a chat template that is replaced. The
 * model's vocabulary size is the file's when 0, else must equal it. */
static NuCode copy_vocab(GgufWriter *w, const GgufFile *v, int *n_vocab, int skip_template,
                         NuError *err) {
    GgufType et;
    uint64_t count;
    NuError e;
    NuCode rc = gguf_get_arr(v, "tokenizer.ggml.tokens", &et, &count, &e);
    if (rc != NU_OK) return nu_fail(err, rc, "vocabulary file: %s", e.message);
    if (*n_vocab == 0 && count <= INT32_MAX) *n_vocab = (int)count;
    if (count != (uint64_t)*n_vocab)
        return nu_fail(err, NU_ERR_ARG, "the shape's vocabulary is %d tokens but the vocabulary "
                       "file has %" PRIu64, *n_vocab, count);
    for (uint64_t i = 0; i < gguf_kv_count(v); i++) {
        GgufStr key = gguf_kv_key(v, i);
        if (key.len < 10 || memcmp(key.ptr, "tokenizer.", 10) != 0) continue;
        if (skip_template && str_is(key, "tokenizer.chat_template")) continue;
        rc = copy_kv(w, v, i, err);
        if (rc != NU_OK) return rc;
    }
    return NU_OK;
}

NuCode nu_synth(const NuSynthModel *model, const uint8_t *vocab, size_t vocab_size, NuType type,
                uint64_t seed, const char *name, const char *chat_template, uint8_t **out,
                size_t *out_size, NuError *err) {
    nu_clear(err);
    *out = NULL;
    *out_size = 0;
    NuSynthModel m = *model;
    NuCode rc = check_target(type, err);
    if (rc != NU_OK) return rc;
    GgufFile *v = NULL;
    NuWeights wts = {0};
    Plan plan = {0};
    GgufWriter *w = NULL;
    float *rope_freqs = NULL;
    NuError e;
    rc = gguf_open(vocab, vocab_size, &v, &e);
    if (rc != NU_OK) return nu_fail(err, rc, "vocabulary file: %s", e.message);
    if (!(w = gguf_writer_new())) rc = nu_fail(err, NU_ERR_NOMEM, "no memory for a GGUF writer");
    if (rc == NU_OK) {
        add_general(w, nu_arch_name(m.config.arch), name ? name : "synthetic", type);
        rc = copy_vocab(w, v, &m.config.vocab_size, chat_template != NULL, err);
    }
    if (rc == NU_OK) {
        NuConfig check = m.config; /* as the loader will use it */
        if (check.seq_len > NU_CONTEXT_MAX) check.seq_len = NU_CONTEXT_MAX;
        rc = nu_config_check(&check, err);
    }
    uint64_t bytes = rc == NU_OK ? synth_bytes(&m, type) : 0;
    if (bytes > SYNTH_MAX_BYTES)
        rc = nu_fail(err, NU_ERR_NOMEM, "the weights would take %s%" PRIu64 " bytes, over "
                     "the 4 GiB limit", bytes == UINT64_MAX ? "more than " : "", bytes);
    if (rc == NU_OK) {
        add_hparams(w, &m.config);
        if (chat_template) gguf_add_str(w, "tokenizer.chat_template", chat_template);
        if (m.llama3_rope && !(rope_freqs = malloc((size_t)m.config.rope_dim / 2 * sizeof *rope_freqs)))
            rc = nu_fail(err, NU_ERR_NOMEM, "no memory for rope factors");
    }
    if (rc == NU_OK) rc = synth_weights(&m, rope_freqs, &wts, err);
    if (rc == NU_OK) rc = plan_weights(&wts, &m.config, !m.untied_output, type, &plan, err);
    if (rc == NU_OK) {
        plan.std = m.std > 0.0f ? m.std : SYNTH_STD;
        add_plan_tensors(w, &plan);
        rc = finish(w, &plan, seed, out, out_size, err);
    }
    free(rope_freqs);
    free(plan.items);
    gguf_writer_free(w);
    nu_weights_free(&wts);
    gguf_close(v);
    return rc;
}
