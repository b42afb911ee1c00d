/* The model half of the wasm surface (api.c has the sampler): one opaque handle that owns a
 * model file's bytes, its tokenizer, its weights and its run state. Results that are arrays
 * or bytes stay in buffers owned by the handle until the next call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "gguf.h"
#include "llama2c.h"
#include "loader.h"
#include "model.h"
#include "quant.h"
#include "tokenizer.h"

struct NuApiModel {
    uint8_t *data; /* the model file (or vocab-only GGUF); tensors point into it */
    size_t size;
    GgufFile *gguf; /* NULL for a llama2.c checkpoint */
    NuConfig config;
    NuWeights weights;
    int has_weights;
    NuTokenizer *tokenizer;
    NuRunState *state;
    NuPool *pool; /* the threads of the matrix products (nu_model_set_threads); NULL: one */
    double parameters;
    char name[128];
    char architecture[32];
    char quantization[16];
    char tensor_types[160]; /* "Q4_K x96, Q6_K x17, F32 x34" */
    char tokenizer_model[16];
    char *chat_template; /* tokenizer.chat_template, NUL-terminated; NULL when absent */
    int32_t *ids; /* last nu_model_tokenize result */
    size_t ids_cap;
    char *bytes; /* last piece / token text / decode result */
    size_t bytes_cap;
    NuError err;
};

static void copy_str(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void copy_gguf_str(const GgufFile *g, const char *key, char *dst, size_t cap) {
    GgufStr s;
    if (gguf_get_str(g, key, &s, NULL) == NU_OK) copy_str(dst, cap, s.ptr, s.len);
}

static double tensor_elements(const NuTensor *t) { return t->data ? (double)t->rows * t->cols : 0; }

/* "Q4_K x96, Q6_K x17, F32 x34": how many tensors of each type, the most common first and F32
 * (the norms) last. */
static void describe_mix(int *count, char *dst, size_t cap) {
    size_t len = 0;
    dst[0] = '\0';
    for (;;) {
        int best = -1;
        for (int t = 0; t < NU_TYPE_COUNT; t++) {
            if (count[t] == 0) continue;
            int before = best < 0 || best == NU_TYPE_F32 || (t != NU_TYPE_F32 && count[t] > count[best]);
            if (before) best = t;
        }
        if (best < 0 || len >= cap) return;
        char name[16];
        const char *n = nu_type_name((NuType)best);
        size_t k = 0;
        for (; n[k] && k + 1 < sizeof name; k++) name[k] = (char)(n[k] >= 'a' && n[k] <= 'z' ? n[k] - 32 : n[k]);
        name[k] = '\0';
        int wrote = snprintf(dst + len, cap - len, "%s%s x%d", len ? ", " : "", name, count[best]);
        if (wrote < 0) return;
        len += (size_t)wrote;
        count[best] = 0;
    }
}

/* Parameters, the type holding most of the layer matrices' weights (a quantized file may keep
 * a few matrices whose rows are not whole blocks in F16), and the mix of tensor types. */
/* llama.cpp's name for general.file_type (its LLAMA_FTYPE list, lower case), or NULL: a mixture
 * such as q4_k_m is named by the file, since its most common tensor type may be a fallback
 * (a 576-wide Q4_K_M is mostly Q5_0). */
static const char *file_type_name(const GgufFile *g) {
    static const struct { uint32_t id; const char *name; } names[] = {
        {0, "f32"},     {1, "f16"},     {2, "q4_0"},    {3, "q4_1"},    {7, "q8_0"},
        {8, "q5_0"},    {9, "q5_1"},    {10, "q2_k"},   {11, "q3_k_s"}, {12, "q3_k_m"},
        {13, "q3_k_l"}, {14, "q4_k_s"}, {15, "q4_k_m"}, {16, "q5_k_s"}, {17, "q5_k_m"},
        {18, "q6_k"},   {25, "iq4_nl"}, {30, "iq4_xs"}, {32, "bf16"},
    };
    uint32_t id;
    if (!g || gguf_get_u32(g, "general.file_type", &id, NULL) != NU_OK) return NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].id == id) return names[i].name;
    return NULL;
}

static void describe_weights(NuApiModel *m) {
    const NuWeights *w = &m->weights;
    double total = tensor_elements(&w->token_embd) + tensor_elements(&w->output_norm);
    double by_type[NU_TYPE_COUNT] = { 0 };
    int count[NU_TYPE_COUNT] = { 0 };
    count[w->token_embd.type]++;
    count[w->output_norm.type]++;
    if (w->output.data != w->token_embd.data) {
        total += tensor_elements(&w->output);
        count[w->output.type]++;
    }
    for (int l = 0; l < m->config.n_layers; l++) {
        const NuLayer *y = &w->layers[l];
        const NuTensor *all[16] = { &y->attn_norm, &y->wq, &y->wk, &y->wv, &y->wo,
                                    &y->ffn_norm, &y->ffn_gate, &y->ffn_down, &y->ffn_up,
                                    &y->bq, &y->bk, &y->bv, &y->q_norm, &y->k_norm,
                                    &y->post_attn_norm, &y->post_ffn_norm };
        for (int i = 0; i < 16; i++) {
            if (!all[i]->data) continue; /* a tensor this architecture does not have */
            total += tensor_elements(all[i]);
            count[all[i]->type]++;
            if (all[i]->rows > 1) by_type[all[i]->type] += tensor_elements(all[i]);
        }
    }
    NuType dominant = NU_TYPE_F32;
    for (int t = 0; t < NU_TYPE_COUNT; t++)
        if (by_type[t] > by_type[dominant]) dominant = (NuType)t;
    m->parameters = total;
    const char *name = file_type_name(m->gguf);
    if (!name) name = nu_type_name(dominant);
    copy_str(m->quantization, sizeof m->quantization, name, strlen(name));
    describe_mix(count, m->tensor_types, sizeof m->tensor_types);
}

/* The template is text for JS to render: kept whole (templates run to tens of KB). */
static NuCode copy_chat_template(NuApiModel *m, NuError *err) {
    GgufStr s;
    if (gguf_get_str(m->gguf, "tokenizer.chat_template", &s, NULL) != NU_OK) return NU_OK;
    m->chat_template = malloc(s.len + 1);
    if (!m->chat_template)
        return nu_fail(err, NU_ERR_NOMEM, "cannot allocate the chat template (%zu bytes)", (size_t)s.len);
    copy_str(m->chat_template, s.len + 1, s.ptr, s.len);
    return NU_OK;
}

static NuCode open_gguf(NuApiModel *m, int vocab_only, NuError *err) {
    NuCode rc = gguf_open(m->data, m->size, &m->gguf, err);
    if (rc == NU_OK) rc = nu_tokenizer_from_gguf(m->gguf, &m->tokenizer, err);
    if (rc != NU_OK) return rc;
    copy_gguf_str(m->gguf, "general.name", m->name, sizeof m->name);
    copy_gguf_str(m->gguf, "general.architecture", m->architecture, sizeof m->architecture);
    copy_gguf_str(m->gguf, "tokenizer.ggml.model", m->tokenizer_model, sizeof m->tokenizer_model);
    rc = copy_chat_template(m, err);
    if (rc != NU_OK) return rc;
    if (vocab_only) return NU_OK;
    rc = nu_load_gguf_weights(m->gguf, &m->config, &m->weights, err);
    if (rc == NU_OK && m->config.vocab_size != nu_tokenizer_vocab_size(m->tokenizer))
        rc = nu_fail(err, NU_ERR_FORMAT, "the tokenizer has %d tokens but the model's vocabulary is %d",
                     nu_tokenizer_vocab_size(m->tokenizer), m->config.vocab_size);
    if (rc == NU_OK) /* the handle owns the bytes: the products stream them better interleaved */
        nu_weights_interleave(&m->weights, m->config.n_layers);
    return rc;
}

static NuCode open_llama2c(NuApiModel *m, const uint8_t *tok, size_t tok_size, NuError *err) {
    if (!tok)
        return nu_fail(err, NU_ERR_FORMAT,
                       "not a GGUF file; a llama2.c checkpoint needs its tokenizer.bin as well");
    NuCode rc = nu_llama2c_load(m->data, m->size, &m->config, &m->weights, err);
    if (rc == NU_OK)
        rc = nu_tokenizer_from_llama2c(tok, tok_size, m->config.vocab_size, &m->tokenizer, err);
    if (rc != NU_OK) return rc;
    copy_str(m->architecture, sizeof m->architecture, "llama", 5);
    copy_str(m->tokenizer_model, sizeof m->tokenizer_model, "llama", 5);
    return NU_OK;
}

NU_EXPORT void nu_model_close(NuApiModel *m) {
    if (!m) return;
    nu_runstate_free(m->state);
    nu_pool_free(m->pool);
    nu_tokenizer_free(m->tokenizer);
    nu_weights_free(&m->weights);
    gguf_close(m->gguf);
    free(m->data);
    free(m->ids);
    free(m->bytes);
    free(m->chat_template);
    free(m);
}

/* Takes ownership of data (and tok, a llama2.c tokenizer.bin, or NULL) whatever the outcome:
 * both are freed on failure. vocab_only loads just the tokenizer of a GGUF file. Returns NULL
 * on failure, with nu_creation_code / nu_creation_error set. */
NU_EXPORT NuApiModel *nu_model_open(uint8_t *data, size_t size, uint8_t *tok, size_t tok_size,
                                    int vocab_only) {
    NuError *err = &nu_creation;
    nu_clear(err);
    NuApiModel *m = calloc(1, sizeof *m);
    if (!m) {
        free(data);
        free(tok);
        nu_fail(err, NU_ERR_NOMEM, "cannot allocate a model");
        return NULL;
    }
    m->data = data;
    m->size = size;
    NuCode rc;
    if (size == 0) rc = nu_fail(err, NU_ERR_FORMAT, "the file is empty");
    else if (size >= 4 && memcmp(data, "GGUF", 4) == 0) rc = open_gguf(m, vocab_only, err);
    else if (vocab_only) rc = nu_fail(err, NU_ERR_FORMAT, "not a GGUF file (no GGUF magic)");
    else rc = open_llama2c(m, tok, tok_size, err);
    free(tok); /* the tokenizer keeps its own copy of what it needs */
    if (rc == NU_OK && !vocab_only) {
        m->has_weights = 1;
        describe_weights(m);
        rc = nu_runstate_new(&m->config, &m->state, err);
    }
    if (rc != NU_OK) {
        nu_model_close(m);
        return NULL;
    }
    return m;
}

NU_EXPORT const char *nu_model_error(NuApiModel *m) { return m->err.message; }
NU_EXPORT int nu_model_error_code(NuApiModel *m) { return m->err.code; }

enum { INFO_VOCAB, INFO_CONTEXT, INFO_DIM, INFO_LAYERS, INFO_HEADS, INFO_KV_HEADS, INFO_HIDDEN,
       INFO_BOS, INFO_EOS, INFO_HAS_WEIGHTS };

NU_EXPORT int nu_model_info(NuApiModel *m, int field) {
    const NuConfig *c = &m->config;
    switch (field) {
    case INFO_VOCAB: return nu_tokenizer_vocab_size(m->tokenizer);
    case INFO_CONTEXT: return c->seq_len;
    case INFO_DIM: return c->dim;
    case INFO_LAYERS: return c->n_layers;
    case INFO_HEADS: return c->n_heads;
    case INFO_KV_HEADS: return c->n_kv_heads;
    case INFO_HIDDEN: return c->hidden_dim;
    case INFO_BOS: return nu_tokenizer_bos(m->tokenizer);
    case INFO_EOS: return nu_tokenizer_eos(m->tokenizer);
    case INFO_HAS_WEIGHTS: return m->has_weights;
    }
    return -1;
}

NU_EXPORT double nu_model_parameters(NuApiModel *m) { return m->parameters; }

/* Bytes of the run state (KV cache, activations, logits): with the file's size, what loading
 * a model should cost in wasm memory. 0 for a vocabulary. */
NU_EXPORT double nu_model_state_bytes(NuApiModel *m) { return m->state ? (double)m->state->bytes : 0; }

NU_EXPORT const char *nu_model_str(NuApiModel *m, int field) {
    switch (field) {
    case 0: return m->name;
    case 1: return m->architecture;
    case 2: return m->quantization;
    case 3: return m->tokenizer_model;
    case 4: return m->chat_template ? m->chat_template : "";
    case 5: return m->tensor_types;
    }
    return "";
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem, NuError *err) {
    if (need <= *cap) return 1;
    void *bigger = realloc(*buf, need * elem);
    if (!bigger) {
        nu_fail(err, NU_ERR_NOMEM, "cannot allocate %zu bytes", need * elem);
        return 0;
    }
    *buf = bigger;
    *cap = need;
    return 1;
}

/* Encodes text[0..len) with NU_ENCODE_* flags (1 BOS, 2 special tokens, 4 EOS); returns the
 * number of ids (read them at nu_model_ids) or -code. */
NU_EXPORT int nu_model_tokenize(NuApiModel *m, const char *text, int len, int flags) {
    size_t n = 0;
    NuCode rc = nu_tokenizer_encode(m->tokenizer, text, (size_t)len, flags, m->ids, m->ids_cap,
                                    &n, &m->err);
    if (rc == NU_ERR_ARG && n > m->ids_cap) { /* too small: grow to the count it reported */
        if (!grow((void **)&m->ids, &m->ids_cap, n, sizeof *m->ids, &m->err)) return -NU_ERR_NOMEM;
        rc = nu_tokenizer_encode(m->tokenizer, text, (size_t)len, flags, m->ids, m->ids_cap, &n,
                                 &m->err);
    }
    return rc == NU_OK ? (int)n : -(int)rc;
}

NU_EXPORT const int32_t *nu_model_ids(NuApiModel *m) { return m->ids; }

/* The vocabulary's wishes for a prompt: which 0 add_bos_token, 1 add_eos_token; else -1. */
NU_EXPORT int nu_model_wants(NuApiModel *m, int which) {
    if (which == 0) return nu_tokenizer_wants_bos(m->tokenizer);
    if (which == 1) return nu_tokenizer_wants_eos(m->tokenizer);
    return -1;
}

/* The end-of-generation ids: nu_model_eog_count of them at nu_model_eog_ids. */
NU_EXPORT int nu_model_eog_count(NuApiModel *m) {
    const int32_t *ids;
    return (int)nu_tokenizer_eog(m->tokenizer, &ids);
}

NU_EXPORT const int32_t *nu_model_eog_ids(NuApiModel *m) {
    const int32_t *ids;
    nu_tokenizer_eog(m->tokenizer, &ids);
    return ids;
}
NU_EXPORT const char *nu_model_bytes(NuApiModel *m) { return m->bytes; }

static int keep_bytes(NuApiModel *m, const char *src, size_t len) {
    if (!grow((void **)&m->bytes, &m->bytes_cap, len + 1, 1, &m->err)) return -NU_ERR_NOMEM;
    memcpy(m->bytes, src, len);
    return (int)len;
}

/* The bytes one token appends to a stream; returns their count (at nu_model_bytes) or -code. */
NU_EXPORT int nu_model_piece(NuApiModel *m, int id) {
    const char *bytes;
    size_t len;
    NuCode rc = nu_tokenizer_piece(m->tokenizer, id, &bytes, &len, &m->err);
    return rc == NU_OK ? keep_bytes(m, bytes, len) : -(int)rc;
}

NU_EXPORT int nu_model_token_text(NuApiModel *m, int id) {
    const char *text;
    size_t len;
    NuCode rc = nu_tokenizer_token_text(m->tokenizer, id, &text, &len, &m->err);
    return rc == NU_OK ? keep_bytes(m, text, len) : -(int)rc;
}

NU_EXPORT int nu_model_decode(NuApiModel *m, const int32_t *ids, int n) {
    size_t len = 0;
    NuCode rc = nu_tokenizer_decode(m->tokenizer, ids, (size_t)n, m->bytes, m->bytes_cap, &len,
                                    &m->err);
    if (rc == NU_ERR_ARG && len > m->bytes_cap) {
        if (!grow((void **)&m->bytes, &m->bytes_cap, len, 1, &m->err)) return -NU_ERR_NOMEM;
        rc = nu_tokenizer_decode(m->tokenizer, ids, (size_t)n, m->bytes, m->bytes_cap, &len,
                                 &m->err);
    }
    return rc == NU_OK ? (int)len : -(int)rc;
}

/* Splits the matrix products over n threads (the caller and n - 1 helpers); 1 stops the
 * split. Returns 0 or -code. In the threaded wasm build the host must then start the helpers
 * on nu_model_pool's pool (pool.h) before the next forward. */
NU_EXPORT int nu_model_set_threads(NuApiModel *m, int n) {
    if (!m->has_weights) return -(int)nu_fail(&m->err, NU_ERR_STATE, "this handle holds only a tokenizer");
    NuPool *pool = NULL;
    NuCode rc = n == 1 ? NU_OK : nu_pool_new(n, &pool, &m->err);
    if (rc != NU_OK) return -(int)rc;
    nu_pool_free(m->pool);
    m->pool = pool;
    m->state->pool = pool;
    return 0;
}

NU_EXPORT NuPool *nu_model_pool(NuApiModel *m) { return m->pool; }

/* Feeds token at pos; returns the logits (vocab floats, valid until the next call) or NULL. */
NU_EXPORT const float *nu_model_forward(NuApiModel *m, int token, int pos) {
    if (!m->has_weights) {
        nu_fail(&m->err, NU_ERR_STATE, "this handle holds only a tokenizer");
        return NULL;
    }
    if (nu_forward(&m->config, &m->weights, m->state, token, pos, &m->err) != NU_OK) return NULL;
    return nu_runstate_logits(m->state);
}

_Static_assert(sizeof(int) == sizeof(int32_t), "token ids pass as int32_t");

/* Feeds tokens[0..n) at positions pos .. pos + n - 1 in chunks (nu_forward_batch: the same bits
 * as n calls of nu_model_forward); returns the logits after the last, as nu_model_forward. */
NU_EXPORT const float *nu_model_forward_batch(NuApiModel *m, const int32_t *tokens, int n, int pos) {
    if (!m->has_weights) {
        nu_fail(&m->err, NU_ERR_STATE, "this handle holds only a tokenizer");
        return NULL;
    }
    if (nu_forward_batch(&m->config, &m->weights, m->state, (const int *)tokens, n, pos, &m->err) != NU_OK)
        return NULL;
    return nu_runstate_logits(m->state);
}
