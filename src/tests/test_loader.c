/* The GGUF llama loader: stories260K in both formats gives identical weights; synthetic
 * models written with gguf_write exercise defaults, types and every refusal. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "gguf.h"
#include "gguf_write.h"
#include "llama2c.h"
#include "loader.h"
#include "model.h"


static int same_tensor(const NuTensor *a, const NuTensor *b) {
    return a->type == NU_TYPE_F32 && b->type == NU_TYPE_F32 && a->rows == b->rows &&
           a->cols == b->cols &&
           memcmp(a->data, b->data, (size_t)(a->rows * a->cols) * sizeof(float)) == 0;
}

static void test_stories260k_both_formats(void) {
    size_t gsize, bsize;
    uint8_t *gdata = read_file("../shared/models/stories260K/stories260K.gguf", &gsize);
    uint8_t *bdata = read_file("../shared/models/stories260K/stories260K.bin", &bsize);
    CHECK(gdata && bdata);
    if (!gdata || !bdata) return;
    GgufFile *g;
    NuError err;
    NuConfig gc, bc;
    NuWeights gw, bw;
    CHECK(gguf_open(gdata, gsize, &g, &err) == NU_OK);
    CHECK(nu_load_gguf_weights(g, &gc, &gw, &err) == NU_OK);
    CHECK(nu_llama2c_load(bdata, bsize, &bc, &bw, &err) == NU_OK);

    CHECK(gc.dim == 64 && gc.hidden_dim == 172 && gc.n_layers == 5 && gc.n_heads == 8);
    CHECK(gc.n_kv_heads == 4 && gc.vocab_size == 512 && gc.rope_dim == 8);
    CHECK(gc.rope_theta == 10000.0f); /* absent from the file: the default */
    CHECK_NEAR(gc.norm_eps, 1e-5, 1e-10);
    /* The two files disagree on the context: the converter wrote 2048, llama2.c says 512. */
    CHECK(gc.seq_len == 2048 && bc.seq_len == 512);
    CHECK(nu_weights_check(&gc, &gw, &err) == NU_OK);
    CHECK(nu_weights_check(&bc, &bw, &err) == NU_OK);

    /* Every tensor is bit-identical: in particular wq and wk are NOT permuted by the
     * converter, so both formats rotate adjacent pairs (llama2.c's RoPE). */
    CHECK(same_tensor(&gw.token_embd, &bw.token_embd));
    CHECK(same_tensor(&gw.output_norm, &bw.output_norm));
    CHECK(gw.output.data != gw.token_embd.data); /* GGUF stores output.weight separately... */
    CHECK(same_tensor(&gw.output, &bw.output));  /* ...as a copy of the shared embedding */
    int all = 1;
    for (int l = 0; l < 5; l++) {
        const NuLayer *a = &gw.layers[l], *b = &bw.layers[l];
        all &= same_tensor(&a->attn_norm, &b->attn_norm) && same_tensor(&a->wq, &b->wq) &&
               same_tensor(&a->wk, &b->wk) && same_tensor(&a->wv, &b->wv) &&
               same_tensor(&a->wo, &b->wo) && same_tensor(&a->ffn_norm, &b->ffn_norm) &&
               same_tensor(&a->ffn_gate, &b->ffn_gate) &&
               same_tensor(&a->ffn_down, &b->ffn_down) && same_tensor(&a->ffn_up, &b->ffn_up);
    }
    CHECK(all);
    CHECK(gw.layers[0].wk.rows == 32 && gw.layers[0].ffn_down.cols == 172);

    nu_weights_free(&gw);
    nu_weights_free(&bw);
    gguf_close(g);
    free(gdata);
    free(bdata);
}

/* ---- synthetic models --------------------------------------------------------------- */

/* dim 32, 4 heads of 8, 2 kv heads, hidden 64, 2 layers, vocab 6, context 16. Fields left
 * zero keep the defaults. */
typedef struct {
    const char *arch;
    int omit_key;             /* 1: head_count_kv, 2: rope.dimension_count, 3: block_count */
    int omit_output;          /* no output.weight: shared classifier */
    int no_tokens;            /* no tokenizer.ggml.tokens: vocab from token_embd */
    int n_tokens;             /* tokens array length (default 6) */
    uint32_t block_count;     /* default 2 */
    uint32_t n_kv_heads;      /* default 2 */
    uint32_t matrix_type;     /* ggml type of all matrices (default F32) */
    const char *skip;         /* a tensor left out */
    const char *odd;          /* a tensor written with odd_type and odd_ne instead */
    uint32_t odd_type;
    int64_t odd_ne[2];
} Spec;

static uint8_t zeros[64 * 64 * 4];

static void add(GgufWriter *w, const Spec *s, const char *name, int64_t cols, int64_t rows,
                int is_norm) {
    if (s->skip && strcmp(s->skip, name) == 0) return;
    int64_t ne[2] = {cols, rows};
    uint32_t type = is_norm ? NU_TYPE_F32 : s->matrix_type;
    if (s->odd && strcmp(s->odd, name) == 0) {
        ne[0] = s->odd_ne[0], ne[1] = s->odd_ne[1];
        type = s->odd_type;
    }
    gguf_add_tensor(w, name, ne[1] == 1 ? 1 : 2, ne, type, zeros);
}

static uint8_t *build(const Spec *s, size_t *size) {
    GgufWriter *w = gguf_writer_new();
    gguf_add_str(w, "general.architecture", s->arch ? s->arch : "llama");
    gguf_add_u32(w, "llama.context_length", 16);
    gguf_add_u32(w, "llama.embedding_length", 32);
    gguf_add_u32(w, "llama.feed_forward_length", 64);
    gguf_add_u32(w, "llama.attention.head_count", 4);
    if (s->omit_key != 1) gguf_add_u32(w, "llama.attention.head_count_kv",
                                       s->n_kv_heads ? s->n_kv_heads : 2);
    if (s->omit_key != 2) gguf_add_u32(w, "llama.rope.dimension_count", 4);
    if (s->omit_key != 3) gguf_add_u32(w, "llama.block_count",
                                       s->block_count ? s->block_count : 2);
    gguf_add_f32(w, "llama.rope.freq_base", 500000.0f);
    gguf_add_f64(w, "llama.attention.layer_norm_rms_epsilon", 1e-6);
    const char *toks[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    if (!s->no_tokens) gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks,
                                        (uint64_t)(s->n_tokens ? s->n_tokens : 6));
    add(w, s, "token_embd.weight", 32, 6, 0);
    add(w, s, "output_norm.weight", 32, 1, 1);
    if (!s->omit_output) add(w, s, "output.weight", 32, 6, 0);
    for (int l = 0; l < 2; l++) {
        char name[64];
#define ADD(part, cols, rows, norm) \
    (snprintf(name, sizeof name, "blk.%d." part ".weight", l), add(w, s, name, cols, rows, norm))
        ADD("attn_norm", 32, 1, 1);
        ADD("attn_q", 32, 32, 0);
        ADD("attn_k", 32, 16, 0);
        ADD("attn_v", 32, 16, 0);
        ADD("attn_output", 32, 32, 0);
        ADD("ffn_norm", 32, 1, 1);
        ADD("ffn_gate", 32, 64, 0);
        ADD("ffn_down", 64, 32, 0);
        ADD("ffn_up", 32, 64, 0);
#undef ADD
    }
    uint8_t *buf;
    NuError err;
    if (gguf_writer_finish(w, &buf, size, &err) != NU_OK) {
        fprintf(stderr, "build: %s\n", err.message);
        exit(1);
    }
    gguf_writer_free(w);
    return buf;
}

/* Builds, opens and loads s; returns the load code and leaves the message in err. */
static NuCode load(const Spec *s, NuConfig *c, NuWeights *w, NuError *err) {
    size_t size;
    uint8_t *buf = build(s, &size);
    GgufFile *g;
    NuCode rc = gguf_open(buf, size, &g, err);
    if (rc == NU_OK) {
        rc = nu_load_gguf_weights(g, c, w, err);
        gguf_close(g);
    }
    free(buf); /* the weights point into buf: tests below only look at their metadata */
    return rc;
}

static void expect_fail_at(const Spec *s, NuCode code, const char *substr, int line) {
    NuConfig c;
    NuWeights w;
    NuError err;
    NuCode rc = load(s, &c, &w, &err);
    int ok = rc == code && strstr(err.message, substr) && w.layers == NULL;
    if (!ok)
        fprintf(stderr, "line %d: got code %d '%s', want code %d with '%s'\n", line, rc,
                rc ? err.message : "", code, substr);
    CHECK(ok);
    nu_weights_free(&w);
}
#define expect_fail(s, code, substr) expect_fail_at(s, code, substr, __LINE__)

static void test_synthetic(void) {
    NuConfig c;
    NuWeights w;
    NuError err;
    Spec s = {0};
    CHECK(load(&s, &c, &w, &err) == NU_OK);
    CHECK(c.dim == 32 && c.hidden_dim == 64 && c.n_layers == 2 && c.n_heads == 4);
    CHECK(c.n_kv_heads == 2 && c.vocab_size == 6 && c.seq_len == 16 && c.rope_dim == 4);
    CHECK(c.rope_theta == 500000.0f && c.norm_eps == 1e-6f);
    CHECK(w.output.data != w.token_embd.data && w.layers[1].wk.rows == 16);
    nu_weights_free(&w);

    /* Defaults: kv heads = heads (so k and v must have 32 rows), rope over the whole head,
     * shared classifier, vocab from token_embd. */
    s = (Spec){.omit_key = 1};
    expect_fail(&s, NU_ERR_FORMAT, "tensor blk.0.attn_k.weight has shape [32, 16] but the "
                                   "config implies [32, 32]");
    s = (Spec){.omit_key = 2, .omit_output = 1, .no_tokens = 1};
    CHECK(load(&s, &c, &w, &err) == NU_OK);
    CHECK(c.rope_dim == 8 && c.vocab_size == 6 && w.output.data == w.token_embd.data);
    CHECK(w.output.rows == 6 && w.output.cols == 32);
    nu_weights_free(&w);

    /* Each matrix type the kernels have loads as itself. */
    const uint32_t types[3] = {NU_TYPE_F16, NU_TYPE_Q8_0, NU_TYPE_Q4_0};
    for (int i = 0; i < 3; i++) {
        s = (Spec){.matrix_type = types[i]};
        CHECK(load(&s, &c, &w, &err) == NU_OK);
        CHECK(w.layers[1].ffn_down.type == (NuType)types[i] && w.token_embd.type ==
              (NuType)types[i] && w.layers[1].ffn_norm.type == NU_TYPE_F32);
        nu_weights_free(&w);
    }
}

static void test_refusals(void) {
    Spec s = {.arch = "gpt2"};
    expect_fail(&s, NU_ERR_UNSUPPORTED, "architecture 'gpt2' is not supported (llama, qwen2, qwen3, gemma3)");
    s = (Spec){.omit_key = 3};
    expect_fail(&s, NU_ERR_FORMAT, "key 'llama.block_count' is missing");
    s = (Spec){.block_count = 0x80000000u};
    expect_fail(&s, NU_ERR_FORMAT, "llama.block_count is 2147483648 (must be 1 to");
    s = (Spec){.n_kv_heads = 3};
    expect_fail(&s, NU_ERR_FORMAT, "head count 4 is not a multiple of the kv head count 3");
    s = (Spec){.block_count = 3};
    expect_fail(&s, NU_ERR_FORMAT, "tensor blk.2.attn_norm.weight is missing");
    s = (Spec){.skip = "blk.1.ffn_up.weight"};
    expect_fail(&s, NU_ERR_FORMAT, "tensor blk.1.ffn_up.weight is missing");
    s = (Spec){.skip = "output_norm.weight"};
    expect_fail(&s, NU_ERR_FORMAT, "tensor output_norm.weight is missing");
    s = (Spec){.n_tokens = 8};
    expect_fail(&s, NU_ERR_FORMAT, "tensor token_embd.weight has shape [32, 6] but the config "
                                   "implies [32, 8]");
    s = (Spec){.odd = "blk.0.attn_q.weight", .odd_type = 16, .odd_ne = {256, 4}};
    expect_fail(&s, NU_ERR_UNSUPPORTED, "tensor blk.0.attn_q.weight has type IQ2_XXS (16), which "
                                        "is not supported");
    s = (Spec){.odd = "blk.1.ffn_norm.weight", .odd_type = NU_TYPE_F16, .odd_ne = {32, 1}};
    expect_fail(&s, NU_ERR_UNSUPPORTED, "tensor blk.1.ffn_norm.weight has type f16 (1), which "
                                        "is not supported (norms must be F32)");
    s = (Spec){.odd = "blk.1.ffn_down.weight", .odd_type = NU_TYPE_F32, .odd_ne = {32, 64}};
    expect_fail(&s, NU_ERR_FORMAT, "tensor blk.1.ffn_down.weight has shape [32, 64] but the "
                                   "config implies [64, 32]");
    s = (Spec){.odd = "output_norm.weight", .odd_type = NU_TYPE_F32, .odd_ne = {16, 2}};
    expect_fail(&s, NU_ERR_FORMAT, "tensor output_norm.weight has shape [16, 2] but the "
                                   "config implies [32]");
}

static void test_vocab_only_files(void) {
    /* The llama vocab file has no tensors, and says so before its hyperparameters (those of
     * LLaMA-7B, whose KV cache alone would be 4 GiB) are read. The gpt-2 one is the wrong
     * architecture. */
    size_t size;
    uint8_t *data = read_file("../shared/models/vocab/ggml-vocab-llama-spm.gguf", &size);
    CHECK(data != NULL);
    if (!data) return;
    GgufFile *g;
    NuError err;
    NuConfig c;
    NuWeights w;
    CHECK(gguf_open(data, size, &g, &err) == NU_OK);
    CHECK(nu_load_gguf_weights(g, &c, &w, &err) == NU_ERR_FORMAT && w.layers == NULL);
    CHECK(strstr(err.message, "no tensors: it holds a vocabulary only") != NULL);
    gguf_close(g);
    free(data);

    data = read_file("../shared/models/vocab/ggml-vocab-gpt-2.gguf", &size);
    CHECK(data != NULL);
    if (!data) return;
    CHECK(gguf_open(data, size, &g, &err) == NU_OK);
    CHECK(nu_load_gguf_weights(g, &c, &w, &err) == NU_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "architecture 'gpt2' is not supported (llama, qwen2, qwen3, gemma3)") != NULL);
    gguf_close(g);
    free(data);
}

static void test_config_check(void) {
    NuError err;
    NuConfig ok = {.dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8, .n_kv_heads = 4,
                   .vocab_size = 512, .seq_len = 512};
    nu_config_defaults(&ok);
    CHECK(ok.head_dim == 8 && ok.rope_dim == 8 && ok.att_divisor == sqrtf(8.0f));
    CHECK(nu_config_check(&ok, &err) == NU_OK);
    NuConfig c = ok;
    c.seq_len = 1 << 30;
    CHECK(nu_config_check(&c, &err) == NU_ERR_NOMEM);
    CHECK(strstr(err.message, "KV cache for 5 layers x 1073741824 positions x 32 kv dims") !=
          NULL);
    c = ok;
    c.n_layers = 0x7fffffff, c.seq_len = 0x7fffffff, c.dim = 0x7ffffff8, c.n_kv_heads = 8;
    c.head_dim = c.dim / 8;
    CHECK(nu_config_check(&c, &err) == NU_ERR_NOMEM);
    CHECK(strstr(err.message, "more than 18446744073709551615 bytes") != NULL);
    c = ok;
    c.rope_dim = 7;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "rope dimension 7"));
    c = ok;
    c.rope_dim = 16;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "head size 8"));
    c = ok;
    c.head_dim = 0;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "head size 0"));
    c = ok;
    c.dim = 60; /* with an explicit head size, dim need not be heads x head size (qwen3) */
    CHECK(nu_config_check(&c, &err) == NU_OK);
    c.swa_window = -1;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "sliding window -1"));
    c = ok;
    c.att_divisor = 0.0f;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "divisor"));
    c = ok;
    c.rope_theta_swa = INFINITY;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "sliding window inf"));
    c = ok;
    c.vocab_size = 0;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "vocab 0"));
    c = ok;
    c.norm_eps = -1.0f;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "epsilon"));
    c = ok;
    c.rope_theta = 0.0f;
    CHECK(nu_config_check(&c, &err) == NU_ERR_FORMAT && strstr(err.message, "theta"));
}

int main(void) {
    test_stories260k_both_formats();
    test_synthetic();
    test_refusals();
    test_vocab_only_files();
    test_config_check();
    return check_summary("test_loader");
}
