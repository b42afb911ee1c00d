/* Writes the fuzzers' seed corpora: `gen_corpus DIR` fills DIR/<target>/ with small inputs
 * made here, with our GGUF writer and the vocabularies of vocab.h (no outside files).
 * Built and run by `make fuzz-corpus`; the output is committed as src/fuzz/corpus/. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf_write.h"
#include "quant.h"
#include "quant/types.h"
#include "sampler.h"
#include "tensor.h"
#include "vocab.h"

static const char *out_dir;

static void write_seed(const char *target, const char *name, const void *data, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* Finishes w into a seed (and frees it). */
static void write_gguf(GgufWriter *w, const char *target, const char *name, uint32_t version) {
    uint8_t *buf;
    size_t size;
    NuError err;
    if (!w || gguf_writer_finish(w, &buf, &size, &err) != NU_OK) {
        fprintf(stderr, "gen_corpus: %s: %s\n", name, w ? err.message : "out of memory");
        exit(1);
    }
    memcpy(buf + 4, &version, 4); /* v2 has v3's layout; only the number differs */
    write_seed(target, name, buf, size);
    free(buf);
    gguf_writer_free(w);
}

/* ---- gguf: every value type, and the vocabularies ----------------------------------- */

static void gguf_seeds(void) {
    GgufWriter *w = gguf_writer_new();
    gguf_add_u8(w, "t.u8", 200);
    gguf_add_i8(w, "t.i8", -5);
    gguf_add_u16(w, "t.u16", 60000);
    gguf_add_i16(w, "t.i16", -30000);
    gguf_add_u32(w, "t.u32", 4000000000u);
    gguf_add_i32(w, "t.i32", -7);
    gguf_add_u64(w, "t.u64", 1ull << 40);
    gguf_add_i64(w, "t.i64", -(1ll << 40));
    gguf_add_f32(w, "t.f32", 0.5f);
    gguf_add_f64(w, "t.f64", 1e-300);
    gguf_add_bool(w, "t.bool", 1);
    gguf_add_str(w, "t.str", "hello");
    gguf_add_str(w, "", "empty key");
    const int32_t i32s[] = {1, -2, 3};
    const uint8_t bools[] = {1, 0};
    const double f64s[] = {0.25, -1e10};
    const char *strs[] = {"a", "", "\xE6\x97\xA5"};
    gguf_add_arr(w, "t.arr_i32", GGUF_TYPE_INT32, i32s, 3);
    gguf_add_arr(w, "t.arr_bool", GGUF_TYPE_BOOL, bools, 2);
    gguf_add_arr(w, "t.arr_f64", GGUF_TYPE_FLOAT64, f64s, 2);
    gguf_add_arr(w, "t.arr_empty", GGUF_TYPE_UINT8, NULL, 0);
    gguf_add_arr_str(w, "t.arr_str", strs, 3);
    /* [[1, 2], [3]] as uint16 arrays: inner type, count, elements, each. */
    uint8_t nested[4 + 8 + 2 * (4 + 8) + 3 * 2], *p = nested;
    uint32_t arr = GGUF_TYPE_ARRAY, u16 = GGUF_TYPE_UINT16;
    uint64_t two = 2, one = 1;
    uint16_t e[3] = {1, 2, 3};
    memcpy(p, &arr, 4), p += 4;
    memcpy(p, &two, 8), p += 8;
    memcpy(p, &u16, 4), p += 4;
    memcpy(p, &two, 8), p += 8;
    memcpy(p, e, 4), p += 4;
    memcpy(p, &u16, 4), p += 4;
    memcpy(p, &one, 8), p += 8;
    memcpy(p, e + 2, 2), p += 2;
    gguf_add_raw(w, "t.nested", GGUF_TYPE_ARRAY, nested, (size_t)(p - nested));
    gguf_set_alignment(w, 64);
    static const float f[64] = {1, 2, 3};
    const int64_t ne1[1] = {5}, ne3[3] = {2, 2, 2}, ne4[4] = {32, 1, 1, 1};
    gguf_add_tensor(w, "v", 1, ne1, NU_TYPE_F32, f);
    gguf_add_tensor(w, "cube", 3, ne3, NU_TYPE_F16, f);
    gguf_add_tensor(w, "q8", 4, ne4, NU_TYPE_Q8_0, f);
    gguf_add_tensor(w, "q4", 1, ne4, NU_TYPE_Q4_0, f);
    write_gguf(w, "gguf", "types_v3.gguf", 3);

    w = gguf_writer_new();
    gguf_add_str(w, "general.architecture", "llama");
    gguf_add_tensor(w, "v", 1, ne1, NU_TYPE_F32, f);
    write_gguf(w, "gguf", "small_v2.gguf", 2);

    w = gguf_writer_new();
    fuzz_vocab_spm(w);
    write_gguf(w, "gguf", "vocab_spm.gguf", 3);
    w = gguf_writer_new();
    fuzz_vocab_bpe(w, "gpt-2");
    write_gguf(w, "gguf", "vocab_bpe.gguf", 3);
}

/* ---- weights: tiny llama models -------------------------------------------------------- */

static uint32_t rng = 12345;

static float next_weight(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

typedef struct {
    int dim, hidden, layers, heads, kv_heads, ctx;
    uint32_t type;  /* of the matrices; norms are F32 */
    int shared;     /* no output.weight */
    int bpe;        /* the BPE vocabulary instead of the 8-token SPM one */
    int poison;     /* block scales NaN and infinity: the first two blocks of every matrix */
    uint32_t down_type; /* of ffn_down when not 0 (F32): a K-quant needs 256-element rows */
    const char *arch; /* NULL: llama */
    int head;       /* > 0: attention.key_length / value_length */
    int window;     /* > 0: gemma3's attention.sliding_window */
    int rope_freqs; /* llama: a rope_freqs.weight */
} ModelSpec;

/* Up to 40 tensors' data, kept until the writer finishes. */
static void *blobs[64];
static int n_blobs;

static void add_matrix(GgufWriter *w, const char *name, int64_t cols, int64_t rows, uint32_t type, int poison) {
    size_t n = (size_t)(cols * rows);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = type == NU_TYPE_F32 && rows == 1 ? 1.0f : next_weight() * 0.3f;
    size_t row = nu_row_bytes((NuType)type, cols);
    uint8_t *data = malloc(row * (size_t)rows);
    for (int64_t r = 0; r < rows; r++) nu_quantize_row((NuType)type, x + r * cols, data + r * row, cols);
    free(x);
    /* The first block's half scale d becomes NaN, the second's infinite (d leads every block
     * but Q2_K's, Q3_K's and Q6_K's, which end with it; Q2_K's dmin follows its d). */
    if (poison && nu_type_block_size((NuType)type) > 1 && row >= 2 * nu_type_traits((NuType)type)->block_bytes) {
        size_t bb = nu_type_traits((NuType)type)->block_bytes;
        size_t d = type == NU_TYPE_Q2_K ? 80 : type == NU_TYPE_Q3_K ? 108 : type == NU_TYPE_Q6_K ? 208 : 0;
        data[d] = 0x00, data[d + 1] = 0x7e;
        data[bb + d] = 0x00, data[bb + d + 1] = 0x7c;
    }
    blobs[n_blobs++] = data;
    int64_t ne[2] = {cols, rows};
    gguf_add_tensor(w, name, rows == 1 ? 1 : 2, ne, type, data);
}

static void model_seed(const ModelSpec *s, const char *name) {
    static const char *const toks[8] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b",
                                        "\xE2\x96\x81" "a", "ab"};
    static const float scores[8] = {0, 0, 0, -1, -2, -3, -1.5f, -2.5f};
    static const int32_t types[8] = {2, 3, 3, 1, 1, 1, 1, 1};
    const char *arch = s->arch ? s->arch : "llama";
    const int head = s->head ? s->head : s->dim / s->heads;
    const int qwen2 = strcmp(arch, "qwen2") == 0, gemma3 = strcmp(arch, "gemma3") == 0;
    const int qk_norm = gemma3 || strcmp(arch, "qwen3") == 0;
    char key[96];
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    GgufWriter *w = gguf_writer_new();
    gguf_add_str(w, "general.architecture", arch);
    gguf_add_u32(w, K("context_length"), (uint32_t)s->ctx);
    gguf_add_u32(w, K("embedding_length"), (uint32_t)s->dim);
    gguf_add_u32(w, K("feed_forward_length"), (uint32_t)s->hidden);
    gguf_add_u32(w, K("block_count"), (uint32_t)s->layers);
    gguf_add_u32(w, K("attention.head_count"), (uint32_t)s->heads);
    gguf_add_u32(w, K("attention.head_count_kv"), (uint32_t)s->kv_heads);
    gguf_add_u32(w, K("rope.dimension_count"), (uint32_t)head);
    gguf_add_f32(w, K("rope.freq_base"), 10000.0f);
    gguf_add_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-5f);
    if (s->head) {
        gguf_add_u32(w, K("attention.key_length"), (uint32_t)head);
        gguf_add_u32(w, K("attention.value_length"), (uint32_t)head);
    }
    if (s->window) {
        gguf_add_u32(w, K("attention.sliding_window"), (uint32_t)s->window);
        gguf_add_u32(w, K("attention.sliding_window_pattern"), 2);
        gguf_add_f32(w, K("rope.freq_base_swa"), 1000.0f);
        gguf_add_f32(w, K("final_logit_softcapping"), 30.0f);
    }
    if (s->rope_freqs) {
        gguf_add_str(w, K("rope.scaling.type"), "linear");
        gguf_add_f32(w, K("rope.scaling.factor"), 2.0f);
    }
#undef K
    int vocab = 8;
    if (s->bpe) {
        fuzz_vocab_bpe(w, "default");
        vocab = (int)FUZZ_BPE_MAX_VOCAB; /* merges with no new token would make it smaller */
    } else {
        gguf_add_str(w, "tokenizer.ggml.model", "llama");
        gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, 8);
        gguf_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 8);
        gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 8);
    }
    int kv_dim = head * s->kv_heads, q_dim = head * s->heads;
    n_blobs = 0;
    add_matrix(w, "token_embd.weight", s->dim, vocab, s->type, s->poison);
    add_matrix(w, "output_norm.weight", s->dim, 1, NU_TYPE_F32, 0);
    if (!s->shared) add_matrix(w, "output.weight", s->dim, vocab, s->type, s->poison);
    if (s->rope_freqs) add_matrix(w, "rope_freqs.weight", head / 2, 1, NU_TYPE_F32, 0);
    for (int l = 0; l < s->layers; l++) {
        char n[64];
#define ADD(part, cols, rows, type) \
    (snprintf(n, sizeof n, "blk.%d." part ".weight", l), add_matrix(w, n, cols, rows, type, s->poison))
        ADD("attn_norm", s->dim, 1, NU_TYPE_F32);
        ADD("attn_q", s->dim, q_dim, s->type);
        ADD("attn_k", s->dim, kv_dim, s->type);
        ADD("attn_v", s->dim, kv_dim, s->type);
        ADD("attn_output", q_dim, s->dim, s->type);
        ADD("ffn_norm", s->dim, 1, NU_TYPE_F32);
        ADD("ffn_gate", s->dim, s->hidden, s->type);
        ADD("ffn_down", s->hidden, s->dim, s->down_type ? s->down_type : s->type);
        ADD("ffn_up", s->dim, s->hidden, s->type);
        if (qk_norm) {
            ADD("attn_q_norm", head, 1, NU_TYPE_F32);
            ADD("attn_k_norm", head, 1, NU_TYPE_F32);
        }
        if (gemma3) {
            ADD("post_attention_norm", s->dim, 1, NU_TYPE_F32);
            ADD("post_ffw_norm", s->dim, 1, NU_TYPE_F32);
        }
#undef ADD
        if (qwen2) {
            const char *bias[3] = {"attn_q", "attn_k", "attn_v"};
            for (int i = 0; i < 3; i++) {
                snprintf(n, sizeof n, "blk.%d.%s.bias", l, bias[i]);
                add_matrix(w, n, i == 0 ? q_dim : kv_dim, 1, NU_TYPE_F32, 0);
            }
        }
    }
    write_gguf(w, "weights", name, 3);
    for (int i = 0; i < n_blobs; i++) free(blobs[i]);
}

static void weights_seeds(void) {
    const ModelSpec f32 = {8, 16, 2, 2, 1, 8, NU_TYPE_F32, 0, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec f16 = {8, 8, 1, 2, 2, 4, NU_TYPE_F16, 1, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q8 = {32, 32, 1, 4, 2, 4, NU_TYPE_Q8_0, 0, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q4 = {32, 32, 1, 2, 1, 4, NU_TYPE_Q4_0, 1, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec bpe = {4, 4, 1, 1, 1, 2, NU_TYPE_F16, 1, 1, 0, 0, NULL, 0, 0, 0};
    model_seed(&f32, "f32_gqa.gguf");
    model_seed(&f16, "f16_shared.gguf");
    model_seed(&q8, "q8_0.gguf");
    model_seed(&q4, "q4_0_shared.gguf");
    model_seed(&bpe, "bpe_vocab.gguf");
    /* The rest of the 32-element family and BF16; odd shapes (a 64-wide hidden: two blocks);
     * and poisoned scales. */
    const ModelSpec bf16 = {8, 24, 1, 2, 1, 4, NU_TYPE_BF16, 0, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q41 = {32, 64, 1, 2, 2, 4, NU_TYPE_Q4_1, 1, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q50 = {64, 32, 1, 4, 1, 4, NU_TYPE_Q5_0, 0, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q51 = {32, 32, 2, 1, 1, 4, NU_TYPE_Q5_1, 1, 0, 0, 0, NULL, 0, 0, 0};
    const ModelSpec q50_poison = {64, 32, 1, 2, 2, 4, NU_TYPE_Q5_0, 1, 0, 1, 0, NULL, 0, 0, 0};
    const ModelSpec q41_poison = {64, 64, 1, 2, 1, 4, NU_TYPE_Q4_1, 0, 0, 1, 0, NULL, 0, 0, 0};
    model_seed(&bf16, "bf16.gguf");
    model_seed(&q41, "q4_1_shared.gguf");
    model_seed(&q50, "q5_0.gguf");
    model_seed(&q51, "q5_1_shared.gguf");
    model_seed(&q50_poison, "q5_0_nan_scales.gguf");
    model_seed(&q41_poison, "q4_1_inf_scales.gguf");
    /* The K-quants and IQ4 in ffn_down (hidden 256: one super-block per row, 32 rows), the
     * rest Q8_0 or IQ4_NL; then NaN and infinite super-block scales. */
    static const struct {
        uint32_t type;
        const char *name, *poisoned;
    } kq[] = {
        {NU_TYPE_Q2_K, "q2_K_down.gguf", "q2_K_nan_scales.gguf"},
        {NU_TYPE_Q3_K, "q3_K_down.gguf", "q3_K_nan_scales.gguf"},
        {NU_TYPE_Q4_K, "q4_K_down.gguf", "q4_K_nan_scales.gguf"},
        {NU_TYPE_Q5_K, "q5_K_down.gguf", "q5_K_nan_scales.gguf"},
        {NU_TYPE_Q6_K, "q6_K_down.gguf", "q6_K_nan_scales.gguf"},
        {NU_TYPE_IQ4_XS, "iq4_xs_down.gguf", "iq4_xs_nan_scales.gguf"},
    };
    uint32_t rng_before = rng; /* the seeds after these stay as they were */
    for (size_t i = 0; i < sizeof kq / sizeof kq[0]; i++) {
        const ModelSpec plain = {32, 256, 1, 2, 1, 4, NU_TYPE_Q8_0, 1, 0, 0, kq[i].type, NULL, 0, 0, 0};
        const ModelSpec poisoned = {32, 256, 1, 2, 1, 4, NU_TYPE_IQ4_NL, 0, 0, 1, kq[i].type, NULL, 0, 0, 0};
        model_seed(&plain, kq[i].name);
        model_seed(&poisoned, kq[i].poisoned);
    }
    rng = rng_before;
}

/* The other architectures' keys and tensors (written last, so the seeds before them keep
 * their bytes). */
static void arch_seeds(void) {
    const ModelSpec qwen2 = {8, 16, 2, 2, 1, 8, NU_TYPE_F32, 1, 0, 0, 0, "qwen2", 0, 0, 0};
    const ModelSpec qwen3 = {8, 16, 1, 2, 1, 8, NU_TYPE_F32, 1, 0, 0, 0, "qwen3", 8, 0, 0};
    const ModelSpec gemma3 = {8, 16, 2, 2, 1, 8, NU_TYPE_F16, 1, 0, 0, 0, "gemma3", 4, 2, 0};
    const ModelSpec llama3 = {8, 16, 1, 2, 1, 8, NU_TYPE_F32, 0, 0, 0, 0, "llama", 0, 0, 1};
    model_seed(&qwen2, "qwen2_bias.gguf");
    model_seed(&qwen3, "qwen3_wide_q.gguf");
    model_seed(&gemma3, "gemma3_window.gguf");
    model_seed(&llama3, "llama_rope_freqs.gguf");
}

/* ---- llama2c: checkpoints ---------------------------------------------------------------- */

static void llama2c_seed(int dim, int hidden, int layers, int heads, int kv_heads, int vocab,
                         int seq, const char *name) {
    /* A negative vocab_size in the header means an unshared classifier follows. */
    int kv_dim = dim / heads * kv_heads, head = dim / heads, shared = vocab > 0;
    int v = shared ? vocab : -vocab;
    size_t floats = (size_t)v * dim + (size_t)layers * (dim + 2 * (size_t)dim * dim + 2 * (size_t)kv_dim * dim +
                                                         dim + 3 * (size_t)hidden * dim) +
                    dim + (size_t)seq * head + (shared ? 0 : (size_t)v * dim);
    size_t size = 28 + floats * 4;
    uint8_t *buf = malloc(size);
    int32_t header[7] = {dim, hidden, layers, heads, kv_heads, vocab, seq};
    memcpy(buf, header, 28);
    for (size_t i = 0; i < floats; i++) {
        float x = next_weight() * 0.3f;
        memcpy(buf + 28 + 4 * i, &x, 4);
    }
    write_seed("llama2c", name, buf, size);
    free(buf);
}

static void llama2c_seeds(void) {
    llama2c_seed(8, 16, 2, 2, 1, 8, 4, "shared.bin");
    llama2c_seed(8, 8, 1, 4, 4, -6, 2, "unshared.bin");
}

/* ---- tokenizer: texts ---------------------------------------------------------------------- */

static void tokenizer_seeds(void) {
    static const char *const texts[] = {
        "Hello world", " the and in ing 123 12 3", "\xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80",
        "it's 'll 'S  \t\n\n  x", "\xE2\x96\x81 a\xE2\x96\x81" "b", "<s>abc</s><0x41>", "",
        "\x01\x02\x7F\xC2\xA0\xC2\xAD tab\there", "\xFF\xFE invalid \xC3",
        "<|im_start|>user\n zz<|im_end|><|im <user><|endoftext|> 1234567 \r\n\r\n  x's 'VE"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "text%zu.txt", i);
        write_seed("tokenizer", name, texts[i], strlen(texts[i]));
    }
    /* A longer text: every rule of the pre-tokenizers and long merge chains. */
    char long_text[2048];
    size_t n = 0;
    for (int i = 0; n + 80 < sizeof long_text; i++)
        n += (size_t)snprintf(long_text + n, sizeof long_text - n, "%s%d the Hello  world's 'LL\t\n\n"
                              "\xC3\xA9\xE6\x97\xA5\xE6\x9C\xAC!? abcbc ", i % 3 ? " " : "\n", i * 37);
    write_seed("tokenizer", "long.txt", long_text, n);
    const int32_t ids[] = {1, 300, 17, 259, 280, 2, 0, 3, 70};
    write_seed("tokenizer", "ids.bin", ids, sizeof ids);
}

/* ---- vocab_bin: token count + tokenizer.bin ------------------------------------------------ */

static void vocab_bin_seeds(void) {
    size_t size;
    int n;
    uint8_t *bin = fuzz_vocab_llama2c(&size, &n);
    uint8_t *seed = bin ? malloc(size + 4) : NULL;
    if (!seed) {
        fprintf(stderr, "gen_corpus: out of memory\n");
        exit(1);
    }
    int32_t count = n;
    memcpy(seed, &count, 4);
    memcpy(seed + 4, bin, size);
    write_seed("vocab_bin", "spm.bin", seed, size + 4);
    free(seed);
    free(bin);
    /* Three tokens: <unk>, <s>, " a". */
    uint8_t tiny[64], *p = tiny;
    int32_t three = 3, max_len = 5;
    memcpy(p, &three, 4), p += 4;
    memcpy(p, &max_len, 4), p += 4;
    fuzz_put_token(&p, "<unk>", 0.0f);
    fuzz_put_token(&p, "<s>", 0.0f);
    fuzz_put_token(&p, " a", -1.0f);
    write_seed("vocab_bin", "tiny.bin", tiny, (size_t)(p - tiny));
}

/* ---- sampler: parameters + logits ------------------------------------------------------------ */

static void sampler_seed(const char *name, uint16_t raw, const uint8_t *sane, size_t n_sane,
                         int byte_logits, const void *logits, size_t logits_size) {
    uint8_t buf[4096], *p = buf;
    memcpy(p, &raw, 2), p += 2;
    memcpy(p, sane, n_sane), p += n_sane;
    uint64_t seed = 42;
    memcpy(p, &seed, 8), p += 8;
    *p++ = 1; /* one bias: token 2 by -1 */
    uint16_t id = 2;
    float b = -1.0f;
    memcpy(p, &id, 2), p += 2;
    memcpy(p, &b, 4), p += 4;
    *p++ = 2; /* history: tokens 0 and 1 */
    id = 0;
    memcpy(p, &id, 2), p += 2;
    id = 1;
    memcpy(p, &id, 2), p += 2;
    *p++ = (uint8_t)byte_logits;
    memcpy(p, logits, logits_size), p += logits_size;
    write_seed("sampler", name, buf, (size_t)(p - buf));
}

static void sampler_seeds(void) {
    /* Sane fields, in order: temperature*64, top_k, top_p*255, min_p selector + value,
     * min_keep, top_n, penalty_last_n, repeat, frequency, presence. */
    const uint8_t defaults[] = {64, 0, 230, 0, 1, 64, 0, 64, 0, 0};
    const uint8_t all_on[] = {80, 10, 200, 1, 50, 2, 5, 8, 90, 10, 246};
    const uint8_t greedy[] = {0, 0, 255, 0, 1, 3, 0, 64, 0, 0};
    float logits[64];
    for (int i = 0; i < 64; i++) logits[i] = (float)((i * 37) % 11) - 3.0f;
    logits[7] = -INFINITY;
    uint8_t bytes[600];
    for (int i = 0; i < 600; i++) bytes[i] = (uint8_t)((i * 7919) >> 3);
    sampler_seed("defaults.bin", 0, defaults, sizeof defaults, 0, logits, sizeof logits);
    sampler_seed("all_filters.bin", 0, all_on, sizeof all_on, 0, logits, sizeof logits);
    sampler_seed("greedy.bin", 0, greedy, sizeof greedy, 1, bytes, 40);
    sampler_seed("large_vocab.bin", 0, defaults, sizeof defaults, 1, bytes, sizeof bytes);
    /* Raw temperature NaN and raw top_p 2: both refused. */
    uint8_t raw_fields[4 + 8 + 8];
    float nan_t = NAN;
    double top_p = 2.0;
    memcpy(raw_fields, &nan_t, 4);
    raw_fields[4] = 0;
    memcpy(raw_fields + 5, &top_p, 8);
    memcpy(raw_fields + 13, defaults + 3, 7);
    sampler_seed("raw_invalid.bin", 0x5, raw_fields, 20, 0, logits, sizeof logits);
    float bad[4] = {1.0f, NAN, INFINITY, 0.0f};
    sampler_seed("nan_logits.bin", 0, defaults, sizeof defaults, 0, bad, sizeof bad);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    gguf_seeds();
    weights_seeds();
    llama2c_seeds();
    tokenizer_seeds();
    vocab_bin_seeds();
    sampler_seeds();
    arch_seeds();
    return 0;
}
