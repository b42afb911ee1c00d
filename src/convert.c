/* Model converter and synthetic-model generator (see convert.h).
 *
 * Both follow one pipeline: describe the weights as a NuWeights (from a loader, or shapes
 * with no data for a synthetic model), plan one output tensor per weight with its output
 * type, add the metadata and the planned tensors to a GGUF writer (tensors that change type
 * with no data), lay the file out, then fill those tensors in the finished buffer a row at a
 * time: dequantize or draw a row of floats, encode it in the output type. */
#include "convert.h"

#include <inttypes.h>
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
    int is_norm;
    NuType type;  /* output type */
} Item;

typedef struct {
    Item *items;
    size_t n;
    int64_t max_cols;
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
    it->type = output_type(target, name, is_norm, src->cols, p);
    if (src->cols > p->max_cols) p->max_cols = src->cols;
}

/* One item per weight in llama.cpp's names; output.weight only when not shared. */
static NuCode plan_weights(const NuWeights *w, const NuConfig *c, NuType target, Plan *p,
                           NuError *err) {
    const int n_layers = c->n_layers;
    memset(p, 0, sizeof *p);
    p->n_layers = n_layers;
    p->n_gqa = c->n_kv_heads > 0 ? c->n_heads / c->n_kv_heads : 1;
    p->tied = w->output.data == w->token_embd.data;
    if ((size_t)n_layers > (SIZE_MAX / sizeof *p->items - 3) / 9)
        return nu_fail(err, NU_ERR_NOMEM, "%d layers are too many to plan", n_layers);
    p->items = calloc(3 + 9 * (size_t)n_layers, sizeof *p->items);
    if (!p->items) return nu_fail(err, NU_ERR_NOMEM, "no memory to plan %d layers", n_layers);
    plan_add(p, "token_embd.weight", &w->token_embd, 0, target);
    plan_add(p, "output_norm.weight", &w->output_norm, 1, target);
    if (w->output.data != w->token_embd.data) plan_add(p, "output.weight", &w->output, 0, target);
    for (int l = 0; l < n_layers; l++) {
        const NuLayer *y = &w->layers[l];
        const struct {
            const char *suffix;
            const NuTensor *t;
            int is_norm;
        } parts[] = {
            {"attn_norm", &y->attn_norm, 1}, {"attn_q", &y->wq, 0},
            {"attn_k", &y->wk, 0},           {"attn_v", &y->wv, 0},
            {"attn_output", &y->wo, 0},      {"ffn_norm", &y->ffn_norm, 1},
            {"ffn_gate", &y->ffn_gate, 0},   {"ffn_down", &y->ffn_down, 0},
            {"ffn_up", &y->ffn_up, 0},
        };
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            char name[48];
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, parts[i].suffix);
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

#define SYNTH_STD 0.02f
#define SYNTH_HALF_WIDTH (SYNTH_STD * 1.7320508f) /* uniform on [-a, a] has std a / sqrt(3) */

/* splitmix64: a well-mixed 64-bit stream from any state, including 0. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void random_row(uint64_t *state, float *row, int64_t n) {
    for (int64_t j = 0; j < n; j++) {
        float u = (float)(next_u64(state) >> 40) * (1.0f / 16777216.0f); /* [0, 1), 24 bits */
        row[j] = (2.0f * u - 1.0f) * SYNTH_HALF_WIDTH;
    }
}

/* Writes item `index` at dst: each row dequantized from the input, or for a synthetic model
 * norms of 1.0 and matrices from the item's own PRNG stream. */
static void fill_item(const Item *it, size_t index, uint64_t seed, float *row, uint8_t *dst) {
    const int64_t cols = it->src.cols;
    const size_t in_bytes = it->src.data ? nu_row_bytes(it->src.type, cols) : 0;
    const size_t out_bytes = nu_row_bytes(it->type, cols);
    uint64_t state = seed ^ ((uint64_t)(index + 1) * 0xD1B54A32D192ED03u);
    for (int64_t r = 0; r < it->src.rows; r++) {
        if (it->src.data)
            nu_dequantize_row(it->src.type, (const uint8_t *)it->src.data + (size_t)r * in_bytes,
                              row, cols);
        else if (it->is_norm)
            for (int64_t j = 0; j < cols; j++) row[j] = 1.0f;
        else
            random_row(&state, row, cols);
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
            fill_item(&p->items[i], i, seed, row, buf + gguf_writer_tensor_pos(w, i));
    free(row);
    *out = buf;
    *out_size = size;
    return NU_OK;
}

/* ---- metadata ------------------------------------------------------------------------ */

static void add_general(GgufWriter *w, const char *name, NuType type) {
    gguf_add_str(w, "general.architecture", "llama");
    gguf_add_str(w, "general.name", name);
    gguf_add_u32(w, "general.file_type", (uint32_t)nu_convert_file_type(type));
}

static void add_hparams(GgufWriter *w, const NuConfig *c) {
    gguf_add_u32(w, "llama.vocab_size", (uint32_t)c->vocab_size);
    gguf_add_u32(w, "llama.context_length", (uint32_t)c->seq_len);
    gguf_add_u32(w, "llama.embedding_length", (uint32_t)c->dim);
    gguf_add_u32(w, "llama.block_count", (uint32_t)c->n_layers);
    gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    gguf_add_u32(w, "llama.rope.dimension_count", (uint32_t)c->rope_dim);
    gguf_add_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
    gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    gguf_add_f32(w, "llama.rope.freq_base", c->rope_theta);
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
        add_general(w, name ? name : "llama", type);
        add_hparams(w, &c);
        rc = add_llama2c_vocab(w, tok, tok_size, c.vocab_size, err);
    }
    if (rc == NU_OK) rc = plan_weights(&wts, &c, type, &plan, err);
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
    if (rc == NU_OK) rc = plan_weights(&wts, &c, type, &plan, err);
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

static const struct {
    const char *name;
    int dims[7];
} shapes[] = {
    {"stories15M", {288, 768, 6, 6, 6, 32000, 256}},
    {"stories42M", {512, 1376, 8, 8, 8, 32000, 1024}},
    {"stories110M", {768, 2048, 12, 12, 12, 32000, 1024}},
};

/* Seven positive decimal integers separated by commas, nothing else. */
static int parse_dims(const char *s, int dims[7]) {
    for (int i = 0; i < 7; i++) {
        if (*s < '0' || *s > '9') return 0;
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            if (v > INT32_MAX) return 0;
        }
        if (v == 0 || *s != (i < 6 ? ',' : '\0')) return 0;
        dims[i] = (int)v;
        if (i < 6) s++;
    }
    return 1;
}

NuCode nu_synth_shape(const char *spec, NuConfig *cfg, NuError *err) {
    nu_clear(err);
    memset(cfg, 0, sizeof *cfg);
    if (!spec) return nu_fail(err, NU_ERR_ARG, "no shape given");
    int dims[7];
    int found = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && !found; i++)
        if (strcmp(spec, shapes[i].name) == 0) {
            memcpy(dims, shapes[i].dims, sizeof dims);
            found = 1;
        }
    if (!found && !parse_dims(spec, dims))
        return nu_fail(err, NU_ERR_ARG, "shape '%.64s' is not stories15M, stories42M, "
                       "stories110M or DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ (positive "
                       "integers)", spec);
    cfg->dim = dims[0];
    cfg->hidden_dim = dims[1];
    cfg->n_layers = dims[2];
    cfg->n_heads = dims[3];
    cfg->n_kv_heads = dims[4];
    cfg->vocab_size = dims[5];
    cfg->seq_len = dims[6];
    cfg->rope_dim = cfg->dim % cfg->n_heads == 0 ? cfg->dim / cfg->n_heads : 0;
    cfg->rope_theta = 10000.0f;
    cfg->norm_eps = 1e-5f;
    NuError e;
    NuCode rc = nu_config_check(cfg, &e);
    if (rc != NU_OK)
        return nu_fail(err, rc == NU_ERR_FORMAT ? NU_ERR_ARG : rc, "shape '%.64s': %s", spec,
                       e.message);
    return NU_OK;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* Bytes of the weights in their output types (saturating), checked before anything is
 * allocated for them. Sizes per element are counted in 256ths of a byte (every block size
 * divides 256). */
static uint64_t synth_bytes(const NuConfig *c, NuType type) {
    const uint64_t dim = (uint64_t)c->dim, hidden = (uint64_t)c->hidden_dim;
    const uint64_t kv_dim = dim / (uint64_t)c->n_heads * (uint64_t)c->n_kv_heads;
    const uint64_t full = nu_row_bytes(type, 256), half = nu_row_bytes(NU_TYPE_F16, 256);
    const uint64_t by_dim = output_type(type, "", 0, c->dim, NULL) == type ? full : half;
    const uint64_t by_hidden = output_type(type, "", 0, c->hidden_dim, NULL) == type ? full : half;
    /* rows of dim columns: wq, wo, wk, wv, gate, up; ffn_down has hidden columns */
    uint64_t rows = add_sat(add_sat(2 * dim, 2 * kv_dim), 2 * hidden);
    uint64_t layer = add_sat(mul_sat(mul_sat(rows, dim), by_dim),
                             mul_sat(mul_sat(dim, hidden), by_hidden));
    layer = add_sat(layer, 2 * 1024 * dim); /* norms */
    uint64_t total = mul_sat(layer, (uint64_t)c->n_layers);
    total = add_sat(total, mul_sat(mul_sat((uint64_t)c->vocab_size, dim), by_dim));
    total = add_sat(total, 1024 * dim);
    return total == UINT64_MAX ? total : total / 256;
}

#define SYNTH_MAX_BYTES ((uint64_t)4 << 30) /* what fits in wasm32 memory */

/* A NuWeights of shapes only (no data); the classifier is the embedding. */
static NuCode synth_weights(const NuConfig *c, NuWeights *w, NuError *err) {
    memset(w, 0, sizeof *w);
    w->layers = calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers) return nu_fail(err, NU_ERR_NOMEM, "no memory for %d layers", c->n_layers);
    const int64_t dim = c->dim, hidden = c->hidden_dim;
    const int64_t kv_dim = dim / c->n_heads * c->n_kv_heads;
    NuTensor t = {NU_TYPE_F32, 0, 0, NULL};
    t.rows = c->vocab_size, t.cols = dim, w->token_embd = w->output = t;
    t.rows = 1, t.cols = dim, w->output_norm = t;
    for (int l = 0; l < c->n_layers; l++) {
        NuLayer *y = &w->layers[l];
        t.rows = 1, t.cols = dim, y->attn_norm = y->ffn_norm = t;
        t.rows = dim, t.cols = dim, y->wq = y->wo = t;
        t.rows = kv_dim, t.cols = dim, y->wk = y->wv = t;
        t.rows = hidden, t.cols = dim, y->ffn_gate = y->ffn_up = t;
        t.rows = dim, t.cols = hidden, y->ffn_down = t;
    }
    return NU_OK;
}

/* Every tokenizer.* entry of the vocabulary file, after checking its token count. */
static NuCode copy_vocab(GgufWriter *w, const GgufFile *v, int n_vocab, NuError *err) {
    GgufType et;
    uint64_t count;
    NuError e;
    NuCode rc = gguf_get_arr(v, "tokenizer.ggml.tokens", &et, &count, &e);
    if (rc != NU_OK) return nu_fail(err, rc, "vocabulary file: %s", e.message);
    if (count != (uint64_t)n_vocab)
        return nu_fail(err, NU_ERR_ARG, "the shape's vocabulary is %d tokens but the vocabulary "
                       "file has %" PRIu64, n_vocab, count);
    for (uint64_t i = 0; i < gguf_kv_count(v); i++) {
        GgufStr key = gguf_kv_key(v, i);
        if (key.len < 10 || memcmp(key.ptr, "tokenizer.", 10) != 0) continue;
        rc = copy_kv(w, v, i, err);
        if (rc != NU_OK) return rc;
    }
    return NU_OK;
}

NuCode nu_synth(const NuConfig *cfg, const uint8_t *vocab, size_t vocab_size, NuType type,
                uint64_t seed, const char *name, uint8_t **out, size_t *out_size, NuError *err) {
    nu_clear(err);
    *out = NULL;
    *out_size = 0;
    NuCode rc = check_target(type, err);
    if (rc == NU_OK) rc = nu_config_check(cfg, err);
    if (rc != NU_OK) return rc;
    uint64_t bytes = synth_bytes(cfg, type);
    if (bytes > SYNTH_MAX_BYTES)
        return nu_fail(err, NU_ERR_NOMEM, "the weights would take %s%" PRIu64 " bytes, over "
                       "the 4 GiB limit", bytes == UINT64_MAX ? "more than " : "", bytes);
    GgufFile *v = NULL;
    NuWeights wts = {0};
    Plan plan = {0};
    GgufWriter *w = NULL;
    NuError e;
    rc = gguf_open(vocab, vocab_size, &v, &e);
    if (rc != NU_OK) return nu_fail(err, rc, "vocabulary file: %s", e.message);
    if (!(w = gguf_writer_new())) rc = nu_fail(err, NU_ERR_NOMEM, "no memory for a GGUF writer");
    if (rc == NU_OK) {
        add_general(w, name ? name : "synthetic", type);
        add_hparams(w, cfg);
        rc = copy_vocab(w, v, cfg->vocab_size, err);
    }
    if (rc == NU_OK) rc = synth_weights(cfg, &wts, err);
    if (rc == NU_OK) rc = plan_weights(&wts, cfg, type, &plan, err);
    if (rc == NU_OK) {
        add_plan_tensors(w, &plan);
        rc = finish(w, &plan, seed, out, out_size, err);
    }
    free(plan.items);
    gguf_writer_free(w);
    nu_weights_free(&wts);
    gguf_close(v);
    return rc;
}
