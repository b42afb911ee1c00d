/* The architectures beyond plain llama: synthetic models of each (nu_synth) load with the
 * features llama.cpp derives from their keys, run, and every malformed key or missing tensor
 * is a clear error. The logits themselves are checked against llama.cpp by
 * wasm_tests/parity.test.js. Also the synth spec parser: presets, options, refusals. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "convert.h"
#include "files.h"
#include "gguf.h"
#include "loader.h"
#include "model.h"

#define SPM_VOCAB "../shared/models/vocab/ggml-vocab-llama-spm.gguf"

typedef struct {
    uint8_t *data;
    size_t size;
} Bytes;

static Bytes vocab;

/* A small model of the spec's shape in F32 (NULL data on failure, with the reason printed). */
static Bytes synth(const NuSynthSpec *spec) {
    Bytes out = {0};
    NuSynthModel m;
    NuError err;
    if (nu_synth_spec(spec, &m, &err) != NU_OK ||
        nu_synth(&m, vocab.data, vocab.size, NU_TYPE_F32, 5, NULL, NULL, &out.data, &out.size, &err) != NU_OK)
        fprintf(stderr, "synth %s: %s\n", spec->shape, err.message);
    return out;
}

/* Opens and loads b; returns the code, with the message in err. */
static NuCode load(const Bytes *b, NuConfig *c, NuWeights *w, GgufFile **g, NuError *err) {
    memset(w, 0, sizeof *w);
    *g = NULL;
    NuCode rc = gguf_open(b->data, b->size, g, err);
    return rc == NU_OK ? nu_load_gguf_weights(*g, c, w, err) : rc;
}

/* Replaces the first `from` in b (a key, a tensor name, a string value) by `to`, same length. */
static int patch(Bytes *b, const char *from, const char *to) {
    size_t n = strlen(from);
    for (size_t i = 0; i + n <= b->size; i++)
        if (memcmp(b->data + i, from, n) == 0) {
            memcpy(b->data + i, to, n);
            return 1;
        }
    return 0;
}

/* Sets the uint32 value of `key` (which must be stored as uint32, type 4). */
static int patch_u32(Bytes *b, const char *key, uint32_t v) {
    size_t n = strlen(key);
    for (size_t i = 0; i + n + 8 <= b->size; i++)
        if (memcmp(b->data + i, key, n) == 0 && b->data[i + n] == 4) {
            for (int k = 0; k < 4; k++) b->data[i + n + 4 + k] = (uint8_t)(v >> (8 * k));
            return 1;
        }
    return 0;
}

/* Overwrites the start of the string value of `key` (type 8, then a 64-bit length). */
static int patch_value(Bytes *b, const char *key, const char *to) {
    size_t n = strlen(key);
    for (size_t i = 0; i + n + 12 + strlen(to) <= b->size; i++)
        if (memcmp(b->data + i, key, n) == 0 && b->data[i + n] == 8) {
            memcpy(b->data + i + n + 12, to, strlen(to));
            return 1;
        }
    return 0;
}

static void expect_error(Bytes *b, NuCode code, const char *substr, int line) {
    NuConfig c;
    NuWeights w;
    GgufFile *g;
    NuError err;
    NuCode rc = load(b, &c, &w, &g, &err);
    int ok = rc == code && strstr(err.message, substr) && w.layers == NULL;
    if (!ok)
        fprintf(stderr, "line %d: got %d '%s', want %d with '%s'\n", line, rc, rc ? err.message : "", code,
                substr);
    CHECK(ok);
    nu_weights_free(&w);
    gguf_close(g);
}
#define EXPECT_ERROR(b, code, substr) expect_error(b, code, substr, __LINE__)

/* Runs a few positions twice: finite logits, the same bits both times. */
static void check_runs(const NuConfig *c, const NuWeights *w) {
    NuRunState *s;
    NuError err;
    CHECK(nu_runstate_new(c, &s, &err) == NU_OK);
    if (!s) return;
    float *first = malloc((size_t)c->vocab_size * sizeof *first);
    int finite = 1, same = 1;
    for (int round = 0; round < 2; round++)
        for (int pos = 0; pos < 12; pos++) {
            CHECK(nu_forward(c, w, s, (pos * 37 + 5) % c->vocab_size, pos, &err) == NU_OK);
            const float *l = nu_runstate_logits(s);
            for (int i = 0; i < c->vocab_size; i++) finite &= isfinite(l[i]);
            if (pos == 11 && round == 0) memcpy(first, l, (size_t)c->vocab_size * sizeof *first);
            if (pos == 11 && round == 1) same = memcmp(first, l, (size_t)c->vocab_size * sizeof *first) == 0;
        }
    CHECK(finite && same);
    free(first);
    nu_runstate_free(s);
}

static void test_qwen2(void) {
    NuSynthSpec spec = {.shape = "64,96,2,4,2,0,64", .arch = "qwen2"};
    Bytes b = synth(&spec);
    NuConfig c;
    NuWeights w;
    GgufFile *g;
    NuError err;
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK);
    CHECK(c.arch == NU_ARCH_QWEN2 && c.rope_neox && !c.qk_norm && !c.post_norms && !c.gelu);
    CHECK(c.head_dim == 16 && c.rope_theta == 1e6f && c.norm_eps == 1e-6f && c.swa_window == 0);
    CHECK(w.layers && w.layers[1].bq.cols == 64 && w.layers[1].bk.cols == 32 && w.layers[1].bv.data);
    CHECK(w.output.data == w.token_embd.data && w.rope_freqs.data == NULL);
    if (w.layers) check_runs(&c, &w);
    nu_weights_free(&w);
    gguf_close(g);

    /* Biases are optional, but one that is there must fit. */
    CHECK(patch(&b, "blk.0.attn_k.bias", "blk.0.attn_k.biaz"));
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK && w.layers[0].bk.data == NULL && w.layers[0].bq.data);
    nu_weights_free(&w);
    gguf_close(g);
    CHECK(patch(&b, "blk.0.attn_q.bias", "blk.0.attn_q.biay"));
    CHECK(patch(&b, "blk.0.attn_k.biaz", "blk.0.attn_q.bias"));
    EXPECT_ERROR(&b, NU_ERR_FORMAT, "tensor blk.0.attn_q.bias has shape [32] but the config implies [64]");
    /* A bias llama.cpp would add but this forward pass has none for: refused, not ignored. */
    CHECK(patch(&b, "blk.0.attn_q.bias", "blk.0.ffn_up.bias"));
    CHECK(patch(&b, "blk.0.attn_q.biay", "blk.0.attn_q.bias"));
    EXPECT_ERROR(&b, NU_ERR_UNSUPPORTED, "tensor blk.0.ffn_up.bias is not supported");
    free(b.data);
}

static void test_qwen3(void) {
    /* heads of 32: the q projection is 128 wide with dim 64 */
    NuSynthSpec spec = {.shape = "64,96,2,4,2,0,64,32", .arch = "qwen3"};
    Bytes b = synth(&spec);
    NuConfig c;
    NuWeights w;
    GgufFile *g;
    NuError err;
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK);
    CHECK(c.arch == NU_ARCH_QWEN3 && c.rope_neox && c.qk_norm && c.head_dim == 32 && c.rope_dim == 32);
    CHECK(c.att_divisor == sqrtf(32.0f));
    CHECK(w.layers && w.layers[0].wq.rows == 128 && w.layers[0].wo.cols == 128 && w.layers[1].k_norm.cols == 32);
    CHECK(w.layers[0].bq.data == NULL);
    if (w.layers) check_runs(&c, &w);
    nu_weights_free(&w);
    gguf_close(g);

    Bytes m = {malloc(b.size), b.size};
    memcpy(m.data, b.data, b.size);
    CHECK(patch(&m, "blk.1.attn_q_norm.weight", "blk.1.attn_q_norm.weighx"));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "tensor blk.1.attn_q_norm.weight is missing");
    memcpy(m.data, b.data, b.size);
    CHECK(patch_u32(&m, "qwen3.attention.key_length", 16)); /* value_length stays 32 */
    EXPECT_ERROR(&m, NU_ERR_UNSUPPORTED, "value heads of 32 dims with key heads of 16");
    memcpy(m.data, b.data, b.size);
    CHECK(patch_u32(&m, "qwen3.attention.key_length", 0));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "qwen3.attention.key_length is 0");
    memcpy(m.data, b.data, b.size);
    CHECK(patch_u32(&m, "qwen3.rope.dimension_count", 34));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "rope dimension 34 must be even, positive and at most the head size 32");
    memcpy(m.data, b.data, b.size);
    CHECK(patch(&m, "qwen3.embedding_length", "qwen3.embedding_lengtx"));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "qwen3.embedding_length");
    memcpy(m.data, b.data, b.size);
    CHECK(patch_value(&m, "general.architecture", "qwen4"));
    EXPECT_ERROR(&m, NU_ERR_UNSUPPORTED, "architecture 'qwen4' is not supported (llama, qwen2, qwen3, gemma3)");
    free(m.data);
    free(b.data);
}

static void test_gemma3(void) {
    NuSynthSpec spec = {.shape = "64,96,7,4,1,0,64,32", .arch = "gemma3", .window = 4};
    Bytes b = synth(&spec);
    NuConfig c;
    NuWeights w;
    GgufFile *g;
    NuError err;
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK);
    CHECK(c.arch == NU_ARCH_GEMMA3 && c.rope_neox && c.qk_norm && c.post_norms && c.gelu);
    CHECK(c.embed_scale == 8.0f && c.att_divisor == sqrtf(32.0f) && c.logit_softcap == 0.0f);
    CHECK(c.swa_window == 4 && c.swa_period == 6 && c.rope_theta == 1e6f && c.rope_theta_swa == 1e4f);
    CHECK(w.layers && w.layers[6].post_attn_norm.data && w.layers[6].post_ffn_norm.data);
    if (w.layers) check_runs(&c, &w); /* 12 positions: past the window */
    nu_weights_free(&w);
    gguf_close(g);

    Bytes m = {malloc(b.size), b.size};
    memcpy(m.data, b.data, b.size);
    CHECK(patch(&m, "blk.3.post_ffw_norm.weight", "blk.3.post_ffw_norm.weighx"));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "tensor blk.3.post_ffw_norm.weight is missing");
    memcpy(m.data, b.data, b.size);
    CHECK(patch_u32(&m, "gemma3.attention.sliding_window", 0x80000000u));
    EXPECT_ERROR(&m, NU_ERR_FORMAT, "gemma3.attention.sliding_window is 2147483648 (too large)");
    memcpy(m.data, b.data, b.size);
    CHECK(patch(&m, "gemma3.rope.freq_base_swa", "gemma3.rope.freq_base_swx"));
    CHECK(load(&m, &c, &w, &g, &err) == NU_OK && c.rope_theta_swa == 1e4f); /* llama.cpp's default */
    nu_weights_free(&w);
    gguf_close(g);
    /* No window: every layer global, at the one rope base. */
    memcpy(m.data, b.data, b.size);
    CHECK(patch_u32(&m, "gemma3.attention.sliding_window", 0));
    CHECK(load(&m, &c, &w, &g, &err) == NU_OK && c.swa_window == 0 && c.rope_theta_swa == c.rope_theta);
    nu_weights_free(&w);
    gguf_close(g);
    free(m.data);
    free(b.data);
}

static void test_llama3(void) {
    NuSynthSpec spec = {.shape = "64,96,2,4,2,0,64", .arch = "llama", .untied_output = 1, .llama3_rope = 1};
    Bytes b = synth(&spec);
    NuConfig c;
    NuWeights w;
    GgufFile *g;
    NuError err;
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK);
    CHECK(c.arch == NU_ARCH_LLAMA && !c.rope_neox && !c.qk_norm && c.head_dim == 16);
    CHECK(w.output.data != w.token_embd.data && w.rope_freqs.cols == 8);
    /* Llama 3's factors: 1 for the fast pairs, 32 for the slow ones */
    const float *f = w.rope_freqs.data;
    CHECK(f && f[0] == 1.0f && f[7] == 32.0f);
    if (w.layers) check_runs(&c, &w);
    nu_weights_free(&w);
    gguf_close(g);
    CHECK(patch(&b, "rope_freqs.weight", "rope_freqs.weighx"));
    CHECK(load(&b, &c, &w, &g, &err) == NU_OK && w.rope_freqs.data == NULL);
    nu_weights_free(&w);
    gguf_close(g);
    free(b.data);
}

static void test_specs(void) {
    NuSynthModel m;
    NuError err;
    static const struct {
        const char *name;
        NuArch arch;
        int dim, layers, head, q_dim;
    } presets[] = {
        {"smollm2-135m", NU_ARCH_LLAMA, 576, 30, 64, 576},   {"tinyllama-1.1b", NU_ARCH_LLAMA, 2048, 22, 64, 2048},
        {"llama3.2-1b", NU_ARCH_LLAMA, 2048, 16, 64, 2048},  {"qwen2.5-0.5b", NU_ARCH_QWEN2, 896, 24, 64, 896},
        {"qwen3-0.6b", NU_ARCH_QWEN3, 1024, 28, 128, 2048}, {"gemma3-270m", NU_ARCH_GEMMA3, 640, 18, 256, 1024},
    };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        NuSynthSpec s = {.shape = presets[i].name};
        CHECK(nu_synth_spec(&s, &m, &err) == NU_OK);
        CHECK(m.config.arch == presets[i].arch && m.config.dim == presets[i].dim &&
              m.config.n_layers == presets[i].layers && m.config.head_dim == presets[i].head &&
              m.config.head_dim * m.config.n_heads == presets[i].q_dim && m.config.vocab_size == 0);
    }
    NuSynthSpec s = {.shape = "tinyllama-1.1b", .layers = 2};
    CHECK(nu_synth_spec(&s, &m, &err) == NU_OK && m.config.n_layers == 2 && m.untied_output && !m.llama3_rope);
    s = (NuSynthSpec){.shape = "llama3.2-1b"};
    CHECK(nu_synth_spec(&s, &m, &err) == NU_OK && m.llama3_rope && m.config.rope_theta == 5e5f);
    s = (NuSynthSpec){.shape = "gemma3-270m", .window = 16};
    CHECK(nu_synth_spec(&s, &m, &err) == NU_OK && m.config.swa_window == 16 && m.config.embed_scale == sqrtf(640.0f));

    static const struct {
        NuSynthSpec spec;
        const char *message;
    } bad[] = {
        {{.shape = "qwen3-0.6b", .arch = "gemma3"}, "shape qwen3-0.6b is a qwen3 model, not gemma3"},
        {{.shape = "64,96,2,4,2,0,64", .arch = "gpt2"}, "architecture 'gpt2' is not one of"},
        {{.shape = "64,96,2,4,2,0,64", .arch = "qwen2", .window = 8}, "a sliding window is for gemma3"},
        {{.shape = "64,96,2,4,2,0,64", .arch = "qwen3", .llama3_rope = 1}, "Llama 3 rope factors are for llama"},
        {{.shape = "64,96,2,4,2,0,64", .std = 2.0f}, "standard deviation 2 is not in [0, 1]"},
        {{.shape = "64,96,2,3,1,0,64"}, "heads 3 do not divide dim 64 (give HEAD)"},
        {{.shape = "64,96,2,3,1,0,64,0"}, "is not a preset"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NuCode rc = nu_synth_spec(&bad[i].spec, &m, &err);
        int ok = rc == NU_ERR_ARG && strstr(err.message, bad[i].message) != NULL;
        if (!ok) fprintf(stderr, "spec %zu: %d '%s'\n", i, rc, err.message);
        CHECK(ok);
    }
    /* HEAD need not be DIM / HEADS */
    s = (NuSynthSpec){.shape = "64,96,2,4,2,0,64,40"};
    CHECK(nu_synth_spec(&s, &m, &err) == NU_OK && m.config.head_dim == 40 && m.config.rope_dim == 40);
    /* The preset keeps its real context in the file; the check uses the loader's cut. */
    s = (NuSynthSpec){.shape = "qwen3-0.6b"};
    CHECK(nu_synth_spec(&s, &m, &err) == NU_OK && m.config.seq_len == 40960);
}

int main(void) {
    vocab.data = read_file(SPM_VOCAB, &vocab.size);
    CHECK(vocab.data != NULL);
    if (!vocab.data) return check_summary("test_arch");
    test_qwen2();
    test_qwen3();
    test_gemma3();
    test_llama3();
    test_specs();
    free(vocab.data);
    return check_summary("test_arch");
}
