/* llama2.c checkpoint and tokenizer.bin readers (formats described in llama2c.h). */
#include "llama2c.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static int32_t le_i32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

/* a * b, saturating at UINT64_MAX (a size that large never matches a real file). */
static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* ---- checkpoint ---------------------------------------------------------------------- */

#define HEADER_BYTES 28

/* Reads the header into cfg. Sizes are validated before they are multiplied together. */
static NuCode read_header(const uint8_t *data, size_t size, NuConfig *cfg, int *shared,
                          NuError *err) {
    if (size < HEADER_BYTES)
        return nu_fail(err, NU_ERR_FORMAT, "llama2.c checkpoint: %zu bytes is shorter than "
                       "the %d-byte header", size, HEADER_BYTES);
    int32_t h[7];
    for (int i = 0; i < 7; i++) h[i] = le_i32(data + 4 * i);
    static const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads",
                                   "vocab_size", "seq_len"};
    for (int i = 0; i < 7; i++)
        if (h[i] <= 0 && !(i == 5 && h[i] < 0 && h[i] != INT32_MIN))
            return nu_fail(err, NU_ERR_FORMAT, "llama2.c checkpoint: header %s is %" PRId32
                           " (must be positive)", names[i], h[i]);
    memset(cfg, 0, sizeof *cfg);
    cfg->dim = h[0];
    cfg->hidden_dim = h[1];
    cfg->n_layers = h[2];
    cfg->n_heads = h[3];
    cfg->n_kv_heads = h[4];
    cfg->vocab_size = h[5] < 0 ? -h[5] : h[5];
    cfg->seq_len = h[6];
    *shared = h[5] > 0;
    if (cfg->dim % cfg->n_heads != 0)
        return nu_fail(err, NU_ERR_FORMAT, "llama2.c checkpoint: dim %d is not a multiple of "
                       "n_heads %d", cfg->dim, cfg->n_heads);
    nu_config_defaults(cfg);
    return NU_OK;
}

static NuTensor f32_tensor(const float *data, int64_t rows, int64_t cols) {
    NuTensor t = {NU_TYPE_F32, rows, cols, data, 0};
    return t;
}

NuCode nu_llama2c_load(const uint8_t *data, size_t size, NuConfig *cfg, NuWeights *w,
                       NuError *err) {
    memset(w, 0, sizeof *w);
    if ((uintptr_t)data % 4 != 0)
        return nu_fail(err, NU_ERR_ARG, "llama2.c checkpoint: buffer is not 4-byte aligned");
    int shared = 0;
    NuCode rc = read_header(data, size, cfg, &shared, err);
    if (rc != NU_OK) return rc;

    const uint64_t dim = (uint64_t)cfg->dim, hidden = (uint64_t)cfg->hidden_dim;
    const uint64_t L = (uint64_t)cfg->n_layers, vocab = (uint64_t)cfg->vocab_size;
    const uint64_t head = dim / (uint64_t)cfg->n_heads;
    const uint64_t kv_dim = mul_sat(head, (uint64_t)cfg->n_kv_heads);
    /* Float counts in file order; the file must be exactly this long. */
    const uint64_t n_embed = mul_sat(vocab, dim), n_norm = mul_sat(L, dim);
    const uint64_t n_wq = mul_sat(n_norm, dim), n_wk = mul_sat(n_norm, kv_dim);
    const uint64_t n_ffn = mul_sat(n_norm, hidden);
    const uint64_t n_freq = mul_sat((uint64_t)cfg->seq_len, head / 2);
    uint64_t floats = n_embed;
    const uint64_t parts[] = {n_norm, n_wq, n_wk, n_wk, n_wq, n_norm, n_ffn, n_ffn, n_ffn,
                              dim, n_freq, n_freq, shared ? 0 : n_embed};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) floats = add_sat(floats, parts[i]);
    const uint64_t want = add_sat(HEADER_BYTES, mul_sat(floats, 4));
    if (want != size)
        return nu_fail(err, NU_ERR_FORMAT, "llama2.c checkpoint: the header (dim %d, hidden %d,"
                       " %d layers, %d heads, %d kv heads, vocab %d, seq_len %d) implies %s%"
                       PRIu64 " bytes but the file has %zu", cfg->dim, cfg->hidden_dim,
                       cfg->n_layers, cfg->n_heads, cfg->n_kv_heads, cfg->vocab_size,
                       cfg->seq_len, want == UINT64_MAX ? "more than " : "", want, size);
    rc = nu_config_check(cfg, err);
    if (rc != NU_OK) return rc;

    w->layers = calloc((size_t)L, sizeof *w->layers);
    if (!w->layers) return nu_fail(err, NU_ERR_NOMEM, "no memory for %" PRIu64 " layers", L);
    /* The whole file is in range now, so plain pointer arithmetic is safe. */
    const float *p = (const float *)(const void *)(data + HEADER_BYTES);
    w->token_embd = f32_tensor(p, (int64_t)vocab, (int64_t)dim);
    const float *rms_att = p + n_embed, *wq = rms_att + n_norm, *wk = wq + n_wq;
    const float *wv = wk + n_wk, *wo = wv + n_wk, *rms_ffn = wo + n_wq;
    const float *w1 = rms_ffn + n_norm, *w2 = w1 + n_ffn, *w3 = w2 + n_ffn;
    const float *rms_final = w3 + n_ffn, *wcls = rms_final + dim + 2 * n_freq;
    for (uint64_t l = 0; l < L; l++) {
        NuLayer *y = &w->layers[l];
        y->attn_norm = f32_tensor(rms_att + l * dim, 1, (int64_t)dim);
        y->wq = f32_tensor(wq + l * dim * dim, (int64_t)dim, (int64_t)dim);
        y->wk = f32_tensor(wk + l * kv_dim * dim, (int64_t)kv_dim, (int64_t)dim);
        y->wv = f32_tensor(wv + l * kv_dim * dim, (int64_t)kv_dim, (int64_t)dim);
        y->wo = f32_tensor(wo + l * dim * dim, (int64_t)dim, (int64_t)dim);
        y->ffn_norm = f32_tensor(rms_ffn + l * dim, 1, (int64_t)dim);
        y->ffn_gate = f32_tensor(w1 + l * hidden * dim, (int64_t)hidden, (int64_t)dim);
        y->ffn_down = f32_tensor(w2 + l * dim * hidden, (int64_t)dim, (int64_t)hidden);
        y->ffn_up = f32_tensor(w3 + l * hidden * dim, (int64_t)hidden, (int64_t)dim);
    }
    w->output_norm = f32_tensor(rms_final, 1, (int64_t)dim);
    w->output = shared ? w->token_embd : f32_tensor(wcls, (int64_t)vocab, (int64_t)dim);
    return NU_OK;
}

/* ---- tokenizer.bin ------------------------------------------------------------------- */

void nu_llama2c_vocab_free(NuLlama2cVocab *v) {
    if (!v) return;
    free(v->scores);
    free(v->offsets);
    free(v->lengths);
    memset(v, 0, sizeof *v);
}

NuCode nu_llama2c_vocab_parse(const uint8_t *data, size_t size, int n_tokens,
                              NuLlama2cVocab *out, NuError *err) {
    memset(out, 0, sizeof *out);
    if (n_tokens <= 0)
        return nu_fail(err, NU_ERR_ARG, "tokenizer.bin: token count %d must be positive",
                       n_tokens);
    if (size < 4)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: %zu bytes is too short", size);
    int32_t max_len = le_i32(data);
    if (max_len <= 0)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: max_token_length %" PRId32
                       " must be positive", max_len);
    /* Each entry is at least 8 bytes (score and length). */
    if ((uint64_t)n_tokens > (size - 4) / 8)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: %zu bytes cannot hold %d tokens",
                       size, n_tokens);
    NuLlama2cVocab v = {n_tokens, max_len, NULL, NULL, NULL};
    v.scores = malloc((size_t)n_tokens * sizeof *v.scores);
    v.offsets = malloc((size_t)n_tokens * sizeof *v.offsets);
    v.lengths = malloc((size_t)n_tokens * sizeof *v.lengths);
    if (!v.scores || !v.offsets || !v.lengths) {
        nu_llama2c_vocab_free(&v);
        return nu_fail(err, NU_ERR_NOMEM, "tokenizer.bin: no memory for %d tokens", n_tokens);
    }
    size_t pos = 4;
    NuCode rc = NU_OK;
    for (int i = 0; i < n_tokens && rc == NU_OK; i++) {
        if (size - pos < 8) {
            rc = nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: truncated at token %d of %d "
                         "(byte %zu)", i, n_tokens, pos);
            break;
        }
        uint32_t bits = (uint32_t)le_i32(data + pos);
        memcpy(&v.scores[i], &bits, 4);
        int32_t len = le_i32(data + pos + 4);
        pos += 8;
        if (!isfinite(v.scores[i]))
            rc = nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: token %d has a non-finite score", i);
        else if (len < 0 || len > max_len)
            rc = nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: token %d has length %" PRId32
                         " (max_token_length is %" PRId32 ")", i, len, max_len);
        else if ((size_t)len > size - pos)
            rc = nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: truncated in token %d of %d "
                         "(byte %zu)", i, n_tokens, pos);
        else {
            v.offsets[i] = pos;
            v.lengths[i] = (uint32_t)len;
            pos += (size_t)len;
        }
    }
    if (rc == NU_OK && pos != size)
        rc = nu_fail(err, NU_ERR_FORMAT, "tokenizer.bin: %zu bytes left after token %d (is "
                     "the vocab size right?)", size - pos, n_tokens);
    if (rc != NU_OK) {
        nu_llama2c_vocab_free(&v);
        return rc;
    }
    *out = v;
    return NU_OK;
}
