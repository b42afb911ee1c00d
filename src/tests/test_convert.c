/* The converter and the synthetic-model generator: stories260K converted from llama2.c's
 * files runs bit-identically in f32 and close to it in q8_0/q4_0, its tokenizer encodes as
 * tok512.bin does, GGUF -> GGUF keeps every metadata entry, synthetic models are
 * deterministic and load, and malformed inputs fail cleanly. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "convert.h"
#include "gguf.h"
#include "gguf_write.h"
#include "llama2c.h"
#include "loader.h"
#include "model.h"
#include "tokenizer.h"

#define BIN "../shared/models/stories260K/stories260K.bin"
#define TOK "../shared/models/stories260K/tok512.bin"
#define GGUF260K "../shared/models/stories260K/stories260K.gguf"
#define SPM_VOCAB "../shared/models/vocab/ggml-vocab-llama-spm.gguf"
#define GPT2_VOCAB "../shared/models/vocab/ggml-vocab-gpt-2.gguf"

typedef struct {
    uint8_t *data;
    size_t size;
} Bytes;

static Bytes read_bytes(const char *path) {
    Bytes b = {NULL, 0};
    b.data = read_file(path, &b.size);
    if (!b.data) b.size = 0;
    return b;
}

/* A model opened from a GGUF buffer or a llama2.c checkpoint. */
typedef struct {
    GgufFile *g;
    NuConfig c;
    NuWeights w;
    NuRunState *s;
} Model;

static int open_gguf_model(const Bytes *b, Model *m) {
    NuError err;
    memset(m, 0, sizeof *m);
    if (gguf_open(b->data, b->size, &m->g, &err) != NU_OK ||
        nu_load_gguf_weights(m->g, &m->c, &m->w, &err) != NU_OK ||
        nu_runstate_new(&m->c, &m->s, &err) != NU_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 0;
    }
    return 1;
}

static int open_bin_model(const Bytes *b, Model *m) {
    NuError err;
    memset(m, 0, sizeof *m);
    return nu_llama2c_load(b->data, b->size, &m->c, &m->w, &err) == NU_OK &&
           nu_runstate_new(&m->c, &m->s, &err) == NU_OK;
}

static void close_model(Model *m) {
    nu_runstate_free(m->s);
    nu_weights_free(&m->w);
    gguf_close(m->g);
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static const float *forward(Model *m, int token, int pos) {
    NuError err;
    if (nu_forward(&m->c, &m->w, m->s, token, pos, &err) != NU_OK) {
        fprintf(stderr, "forward: %s\n", err.message);
        return NULL;
    }
    return nu_runstate_logits(m->s);
}

static Bytes convert(const Bytes *model, const Bytes *tok, NuType type, NuCode *rc, NuError *err) {
    Bytes out = {NULL, 0};
    *rc = nu_convert(model->data, model->size, tok ? tok->data : NULL, tok ? tok->size : 0, type,
                     "stories260K", &out.data, &out.size, err);
    return out;
}

static const GgufTensorInfo *tensor(const GgufFile *g, const char *name) {
    return gguf_find_tensor(g, name);
}

#define STEPS 200

/* Greedy tokens of the f32 conversion from BOS, and how often q8_0/q4_0 pick the same next
 * token when fed that sequence. */
static void test_stories260k_from_llama2c(const Bytes *bin, const Bytes *tok) {
    NuError err;
    NuCode rc;
    Bytes f32 = convert(bin, tok, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_OK);
    if (rc != NU_OK) {
        fprintf(stderr, "convert: %s\n", err.message);
        return;
    }
    Model ref, conv;
    CHECK(open_bin_model(bin, &ref));
    CHECK(open_gguf_model(&f32, &conv));

    /* Same config, context from the .bin; every tensor byte-identical, ffn_down stays F32. */
    CHECK(memcmp(&ref.c, &conv.c, sizeof ref.c) == 0);
    CHECK(conv.c.seq_len == 512 && conv.c.dim == 64 && conv.c.hidden_dim == 172);
    uint32_t file_type = 99;
    CHECK(gguf_get_u32(conv.g, "general.file_type", &file_type, &err) == NU_OK && file_type == 0);
    GgufStr name = {0};
    CHECK(gguf_get_str(conv.g, "general.name", &name, &err) == NU_OK && name.len == 11 &&
          memcmp(name.ptr, "stories260K", 11) == 0);
    CHECK(tensor(conv.g, "output.weight") == NULL); /* the checkpoint shares its classifier */
    CHECK(tensor(conv.g, "blk.4.ffn_down.weight") &&
          tensor(conv.g, "blk.4.ffn_down.weight")->type == NU_TYPE_F32);
    CHECK(gguf_tensor_count(conv.g) == 2 + 9 * 5);
    CHECK(memcmp(conv.w.token_embd.data, ref.w.token_embd.data, 512 * 64 * 4) == 0);
    CHECK(memcmp(conv.w.layers[3].ffn_down.data, ref.w.layers[3].ffn_down.data, 64 * 172 * 4) == 0);

    /* Bit-identical logits along a greedy run. */
    int tokens[STEPS + 1];
    tokens[0] = 1;
    int identical = 1;
    for (int pos = 0; pos < STEPS; pos++) {
        const float *a = forward(&ref, tokens[pos], pos);
        const float *b = forward(&conv, tokens[pos], pos);
        if (!a || !b) {
            identical = 0;
            break;
        }
        if (memcmp(a, b, 512 * sizeof *a) != 0) identical = 0;
        tokens[pos + 1] = argmax(b, 512);
    }
    CHECK(identical);

    /* Quantized conversions: types, file types, and greedy agreement with f32. */
    const struct {
        NuType type;
        uint32_t file_type;
        int min_agree;
    } quant[] = {{NU_TYPE_Q8_0, 7, 190}, {NU_TYPE_Q4_0, 2, 120}};
    for (int q = 0; q < 2; q++) {
        Bytes out = convert(bin, tok, quant[q].type, &rc, &err);
        CHECK(rc == NU_OK);
        Model m;
        if (rc != NU_OK || !open_gguf_model(&out, &m)) {
            CHECK(0);
            free(out.data);
            continue;
        }
        CHECK(gguf_get_u32(m.g, "general.file_type", &file_type, &err) == NU_OK &&
              file_type == quant[q].file_type);
        CHECK(tensor(m.g, "blk.0.attn_q.weight")->type == (uint32_t)quant[q].type);
        CHECK(tensor(m.g, "token_embd.weight")->type == (uint32_t)quant[q].type);
        CHECK(tensor(m.g, "blk.0.ffn_down.weight")->type == NU_TYPE_F16); /* 172 columns */
        CHECK(tensor(m.g, "blk.0.ffn_norm.weight")->type == NU_TYPE_F32);
        CHECK(out.size < f32.size);
        int agree = 0;
        for (int pos = 0; pos < STEPS; pos++) {
            const float *l = forward(&m, tokens[pos], pos);
            if (l && argmax(l, 512) == tokens[pos + 1]) agree++;
        }
        printf("stories260K %s: %zu bytes (f32 %zu), greedy agreement with f32 %d/%d\n",
               nu_type_name(quant[q].type), out.size, f32.size, agree, STEPS);
        CHECK(agree >= quant[q].min_agree);
        close_model(&m);
        free(out.data);
    }
    close_model(&ref);
    close_model(&conv);
    free(f32.data);
}

/* The GGUF tokenizer built from tokenizer.bin encodes and decodes exactly as tok512.bin. */
static void test_tokenizer_matches(const Bytes *bin, const Bytes *tok) {
    NuError err;
    NuCode rc;
    Bytes f32 = convert(bin, tok, NU_TYPE_F32, &rc, &err);
    GgufFile *g = NULL;
    NuTokenizer *a = NULL, *b = NULL;
    CHECK(rc == NU_OK && gguf_open(f32.data, f32.size, &g, &err) == NU_OK);
    CHECK(g && nu_tokenizer_from_gguf(g, &a, &err) == NU_OK);
    CHECK(nu_tokenizer_from_llama2c(tok->data, tok->size, 512, &b, &err) == NU_OK);
    if (!a || !b) goto done;
    CHECK(nu_tokenizer_bos(a) == 1 && nu_tokenizer_eos(a) == 2 && nu_tokenizer_wants_bos(a));
    GgufStr s;
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, &s, &err) == NU_OK && s.len == 3 &&
          memcmp(s.ptr, "<s>", 3) == 0);
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 259, &s, &err) == NU_OK && s.len == 4 &&
          memcmp(s.ptr, "\xe2\x96\x81t", 4) == 0); /* " t" in tokenizer.bin */
    static const char *texts[] = {
        "Once upon a time, there was a little girl named Lily. She loved to play outside.",
        "  two leading spaces and trailing ", "Hello\nworld\n\n", "caf\xc3\xa9 \xf0\x9f\x98\x80 <s> </s>",
        "", "a  b   c", "The end.\tTabs\tand 123 numbers 4567",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t ia[256], ib[256];
        size_t na = 0, nb = 0;
        size_t len = strlen(texts[i]);
        CHECK(nu_tokenizer_encode(a, texts[i], len, 1, ia, 256, &na, &err) == NU_OK);
        CHECK(nu_tokenizer_encode(b, texts[i], len, 1, ib, 256, &nb, &err) == NU_OK);
        CHECK(na == nb && memcmp(ia, ib, na * sizeof *ia) == 0);
        char da[512], db[512];
        size_t la = 0, lb = 0;
        CHECK(nu_tokenizer_decode(a, ia, na, da, sizeof da, &la, &err) == NU_OK);
        CHECK(nu_tokenizer_decode(b, ib, nb, db, sizeof db, &lb, &err) == NU_OK);
        CHECK(la == lb && memcmp(da, db, la) == 0);
    }
done:
    nu_tokenizer_free(a);
    nu_tokenizer_free(b);
    gguf_close(g);
    free(f32.data);
}

/* Every key of src is in dst with the same type and encoded value (file_type excepted). */
static int same_metadata(const GgufFile *src, const GgufFile *dst) {
    for (uint64_t i = 0; i < gguf_kv_count(src); i++) {
        GgufStr k = gguf_kv_key(src, i);
        char key[128];
        if (k.len >= sizeof key) return 0;
        memcpy(key, k.ptr, (size_t)k.len);
        key[k.len] = '\0';
        if (strcmp(key, "general.file_type") == 0 || strcmp(key, "general.alignment") == 0)
            continue;
        int64_t j = gguf_find_key(dst, key);
        if (j < 0) {
            fprintf(stderr, "key %s lost\n", key);
            return 0;
        }
        const uint8_t *ra, *rb;
        size_t la, lb;
        gguf_kv_raw(src, i, &ra, &la);
        gguf_kv_raw(dst, (uint64_t)j, &rb, &lb);
        if (gguf_kv_type(src, i) != gguf_kv_type(dst, (uint64_t)j) || la != lb ||
            memcmp(ra, rb, la) != 0) {
            fprintf(stderr, "key %s changed\n", key);
            return 0;
        }
    }
    return 1;
}

static void test_gguf_to_gguf(const Bytes *bin, const Bytes *tok) {
    NuError err;
    NuCode rc;
    /* llama.cpp's own stories260K.gguf: metadata kept, logits bit-identical in f32. */
    Bytes orig = read_bytes(GGUF260K);
    Bytes f32 = convert(&orig, NULL, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_OK);
    Model a, b;
    if (rc == NU_OK && open_gguf_model(&orig, &a) && open_gguf_model(&f32, &b)) {
        CHECK(same_metadata(a.g, b.g));
        CHECK(gguf_kv_count(b.g) == gguf_kv_count(a.g) + 1); /* general.file_type added */
        CHECK(tensor(b.g, "output.weight") != NULL);         /* unshared there: kept */
        int identical = 1;
        for (int pos = 0; pos < 16; pos++) {
            const float *la = forward(&a, (pos * 37) % 512, pos);
            const float *lb = forward(&b, (pos * 37) % 512, pos);
            if (!la || !lb || memcmp(la, lb, 512 * sizeof *la) != 0) identical = 0;
        }
        CHECK(identical);
        close_model(&a);
        close_model(&b);
    } else {
        CHECK(0);
    }
    free(f32.data);

    /* A GGUF converted to its own type comes back byte for byte. */
    for (int q = 0; q < 3; q++) {
        NuType type = q == 0 ? NU_TYPE_F32 : q == 1 ? NU_TYPE_Q8_0 : NU_TYPE_Q4_0;
        Bytes once = convert(bin, tok, type, &rc, &err);
        Bytes twice = convert(&once, NULL, type, &rc, &err);
        CHECK(rc == NU_OK && twice.size == once.size &&
              memcmp(twice.data, once.data, once.size) == 0);
        free(once.data);
        free(twice.data);
    }

    /* Nested arrays, odd keys, an alignment and tensors that are not weights survive. */
    GgufFile *g = NULL;
    CHECK(gguf_open(orig.data, orig.size, &g, &err) == NU_OK);
    GgufWriter *w = gguf_writer_new();
    for (uint64_t i = 0; g && i < gguf_kv_count(g); i++) {
        GgufStr k = gguf_kv_key(g, i);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
        const uint8_t *raw;
        size_t len;
        gguf_kv_raw(g, i, &raw, &len);
        gguf_add_raw(w, key, gguf_kv_type(g, i), raw, len);
    }
    /* [[1, 2], [3]] as uint16 arrays */
    static const uint8_t nested[] = {GGUF_TYPE_ARRAY, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                                     GGUF_TYPE_UINT16, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0,
                                     GGUF_TYPE_UINT16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0};
    gguf_add_raw(w, "test.nested", GGUF_TYPE_ARRAY, nested, sizeof nested);
    gguf_add_u32(w, "general.file_type", 1);
    gguf_set_alignment(w, 64);
    for (uint64_t i = 0; g && i < gguf_tensor_count(g); i++) {
        const GgufTensorInfo *t = gguf_tensor(g, i);
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        gguf_add_tensor(w, name, t->n_dims, t->ne, t->type, t->data);
    }
    static const float freqs[4] = {1.0f, 0.5f, 0.25f, 0.125f};
    int64_t ne[1] = {4};
    gguf_add_tensor(w, "rope_freqs.weight", 1, ne, NU_TYPE_F32, freqs);
    Bytes extra = {NULL, 0};
    CHECK(gguf_writer_finish(w, &extra.data, &extra.size, &err) == NU_OK);
    gguf_writer_free(w);
    Bytes q4 = convert(&extra, NULL, NU_TYPE_Q4_0, &rc, &err);
    CHECK(rc == NU_OK);
    GgufFile *src = NULL, *dst = NULL;
    if (rc == NU_OK && gguf_open(extra.data, extra.size, &src, &err) == NU_OK &&
        gguf_open(q4.data, q4.size, &dst, &err) == NU_OK) {
        CHECK(same_metadata(src, dst));
        CHECK(gguf_find_key(dst, "general.alignment") < 0 && gguf_alignment(dst) == 32);
        uint32_t ft = 0;
        CHECK(gguf_get_u32(dst, "general.file_type", &ft, &err) == NU_OK && ft == 2);
        const GgufTensorInfo *t = gguf_find_tensor(dst, "rope_freqs.weight");
        CHECK(t && t->type == NU_TYPE_F32 && t->ne[0] == 4 && memcmp(t->data, freqs, 16) == 0);
        CHECK(gguf_tensor_count(dst) == gguf_tensor_count(src));
        CHECK(gguf_find_tensor(dst, "output.weight")->type == NU_TYPE_Q4_0);
    } else {
        CHECK(0);
    }
    gguf_close(src);
    gguf_close(dst);
    gguf_close(g);
    free(extra.data);
    free(q4.data);
    free(orig.data);
}

static void test_shapes(void) {
    NuConfig c;
    NuError err;
    CHECK(nu_synth_shape("stories15M", &c, &err) == NU_OK && c.dim == 288 && c.hidden_dim == 768 &&
          c.n_layers == 6 && c.n_heads == 6 && c.n_kv_heads == 6 && c.vocab_size == 32000 &&
          c.seq_len == 256 && c.rope_dim == 48);
    CHECK(nu_synth_shape("stories42M", &c, &err) == NU_OK && c.dim == 512 && c.hidden_dim == 1376 &&
          c.n_layers == 8 && c.seq_len == 1024);
    CHECK(nu_synth_shape("stories110M", &c, &err) == NU_OK && c.dim == 768 &&
          c.hidden_dim == 2048 && c.n_layers == 12 && c.n_heads == 12);
    CHECK(nu_synth_shape("64,96,2,4,2,512,32", &c, &err) == NU_OK && c.dim == 64 &&
          c.hidden_dim == 96 && c.n_layers == 2 && c.n_heads == 4 && c.n_kv_heads == 2 &&
          c.vocab_size == 512 && c.seq_len == 32 && c.rope_dim == 16 && c.rope_theta == 10000.0f);
    static const char *bad[] = {"", "stories", "Stories15M", "64,96,2,4,2,512", "64,96,2,4,2,512,32,",
                                "64,96,2,4,2,512,32,1", "64,96,0,4,2,512,32", "64,96,2,4,2,-512,32",
                                "64, 96,2,4,2,512,32", "99999999999,96,2,4,2,512,32",
                                "64,96,2,3,1,512,32" /* heads do not divide dim */,
                                "64,96,2,4,3,512,32" /* kv heads do not divide heads */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(nu_synth_shape(bad[i], &c, &err) == NU_ERR_ARG);
        CHECK(strlen(err.message) > 0);
    }
    CHECK(nu_synth_shape(NULL, &c, &err) == NU_ERR_ARG);
    /* A KV cache over 4 GiB */
    CHECK(nu_synth_shape("4096,64,64,32,32,512,8192", &c, &err) == NU_ERR_NOMEM);
}

static void test_synth(void) {
    NuError err;
    Bytes vocab = read_bytes(SPM_VOCAB);
    NuConfig c;
    CHECK(nu_synth_shape("64,96,2,4,2,32000,32", &c, &err) == NU_OK);
    Bytes a = {0}, b = {0}, d = {0}, q = {0};
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_F32, 7, "tiny", NULL, &a.data, &a.size, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_F32, 7, "tiny", NULL, &b.data, &b.size, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_F32, 8, "tiny", NULL, &d.data, &d.size, &err) == NU_OK);
    CHECK(a.size == b.size && a.data && b.data && memcmp(a.data, b.data, a.size) == 0);
    CHECK(d.size == a.size && d.data && memcmp(a.data, d.data, a.size) != 0);
    Model m;
    GgufFile *v = NULL;
    NuTokenizer *t = NULL;
    if (a.data && open_gguf_model(&a, &m) && gguf_open(vocab.data, vocab.size, &v, &err) == NU_OK) {
        CHECK(m.c.dim == 64 && m.c.vocab_size == 32000 && m.c.seq_len == 32 && m.c.n_kv_heads == 2);
        CHECK(tensor(m.g, "output.weight") == NULL);
        /* every tokenizer entry of the vocabulary is there, verbatim */
        int kept = 1, n_tok_keys = 0;
        for (uint64_t i = 0; i < gguf_kv_count(v); i++) {
            GgufStr k = gguf_kv_key(v, i);
            if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10) != 0) continue;
            n_tok_keys++;
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
            int64_t j = gguf_find_key(m.g, key);
            const uint8_t *ra, *rb;
            size_t la, lb;
            gguf_kv_raw(v, i, &ra, &la);
            if (j < 0) {
                kept = 0;
                continue;
            }
            gguf_kv_raw(m.g, (uint64_t)j, &rb, &lb);
            if (la != lb || memcmp(ra, rb, la) != 0) kept = 0;
        }
        CHECK(kept && n_tok_keys >= 8);
        CHECK(nu_tokenizer_from_gguf(m.g, &t, &err) == NU_OK && nu_tokenizer_vocab_size(t) == 32000);
        GgufStr s;
        CHECK(gguf_get_arr_str(m.g, "tokenizer.ggml.tokens", 31999, &s, &err) == NU_OK);
        /* Weights: norms 1, matrices with a standard deviation near 0.02 and mean near 0. */
        const float *norm = m.w.layers[1].ffn_norm.data;
        CHECK(norm[0] == 1.0f && norm[63] == 1.0f);
        const float *wq = m.w.layers[0].wq.data;
        double sum = 0, sq = 0;
        for (int i = 0; i < 64 * 64; i++) sum += wq[i], sq += (double)wq[i] * wq[i];
        CHECK_NEAR(sum / 4096, 0.0, 0.002);
        CHECK_NEAR(sqrt(sq / 4096), 0.02, 0.001);
        const float *l = forward(&m, 1, 0);
        int finite = l != NULL;
        for (int i = 0; l && i < 32000; i++) finite &= isfinite(l[i]);
        CHECK(finite);
        close_model(&m);
    } else {
        CHECK(0);
    }
    nu_tokenizer_free(t);
    gguf_close(v);

    /* q8_0 with a hidden size that is not whole blocks: ffn matrices fall back to F16. */
    CHECK(nu_synth_shape("64,80,1,4,4,32000,16", &c, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_Q8_0, 7, NULL, NULL, &q.data, &q.size, &err) == NU_OK);
    if (q.data && open_gguf_model(&q, &m)) {
        CHECK(tensor(m.g, "blk.0.ffn_down.weight")->type == NU_TYPE_F16);
        CHECK(tensor(m.g, "blk.0.ffn_up.weight")->type == NU_TYPE_Q8_0);
        CHECK(tensor(m.g, "token_embd.weight")->type == NU_TYPE_Q8_0);
        GgufStr name;
        CHECK(gguf_get_str(m.g, "general.name", &name, &err) == NU_OK && name.len == 9);
        CHECK(forward(&m, 5, 0) != NULL);
        close_model(&m);
    } else {
        CHECK(0);
    }

    /* Refusals: vocabulary size, a vocabulary that is not GGUF, a huge model, a bad type. */
    uint8_t *out = (uint8_t *)&err;
    size_t size = 1;
    CHECK(nu_synth_shape("64,96,2,4,2,512,32", &c, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_F32, 1, NULL, NULL, &out, &size, &err) == NU_ERR_ARG);
    CHECK(out == NULL && size == 0 && strstr(err.message, "32000") != NULL);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, (const uint8_t *)"not gguf", 8, NU_TYPE_F32, 1, NULL, NULL, &out, &size, &err) ==
          NU_ERR_FORMAT);
    CHECK(strstr(err.message, "vocabulary file") != NULL);
    CHECK(nu_synth_shape("4096,11008,32,32,32,32000,2048", &c, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_F32, 1, NULL, NULL, &out, &size, &err) == NU_ERR_NOMEM);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, vocab.data, vocab.size, NU_TYPE_Q8_1, 1, NULL, NULL, &out, &size, &err) == NU_ERR_ARG);
    free(a.data);
    free(b.data);
    free(d.data);
    free(q.data);
    free(vocab.data);
}

static void test_bad_inputs(const Bytes *bin, const Bytes *tok) {
    NuError err;
    NuCode rc;
    Bytes empty = {NULL, 0};
    Bytes out = convert(&empty, tok, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_ERR_FORMAT && out.data == NULL);
    out = convert(bin, NULL, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_ERR_ARG && strstr(err.message, "tokenizer.bin") != NULL);
    out = convert(bin, tok, (NuType)16, &rc, &err); /* IQ2_XXS: not in the table */
    CHECK(rc == NU_ERR_ARG && strstr(err.message, "IQ2_XXS") != NULL);
    out = convert(bin, tok, NU_TYPE_Q8_1, &rc, &err); /* an activation type */
    CHECK(rc == NU_ERR_ARG);
    Bytes gguf = read_bytes(GGUF260K);
    out = convert(&gguf, tok, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_ERR_ARG);
    Bytes gpt2 = read_bytes(GPT2_VOCAB);
    out = convert(&gpt2, NULL, NU_TYPE_F32, &rc, &err);
    CHECK(rc == NU_ERR_UNSUPPORTED && out.data == NULL); /* architecture gpt2 */
    /* Truncations of each input. */
    Bytes cut = {bin->data, bin->size - 4};
    out = convert(&cut, tok, NU_TYPE_Q8_0, &rc, &err);
    CHECK(rc == NU_ERR_FORMAT);
    Bytes cut_tok = {tok->data, tok->size - 1};
    out = convert(bin, &cut_tok, NU_TYPE_Q8_0, &rc, &err);
    CHECK(rc == NU_ERR_FORMAT && strstr(err.message, "tokenizer.bin") != NULL);
    Bytes cut_gguf = {gguf.data, gguf.size / 2};
    out = convert(&cut_gguf, NULL, NU_TYPE_Q8_0, &rc, &err);
    CHECK(rc == NU_ERR_FORMAT && out.data == NULL);

    /* Byte mutations of a small GGUF's header and metadata: every outcome is a clean
     * failure or a file that opens (ASan/UBSan watch the rest). */
    Bytes small = convert(bin, tok, NU_TYPE_F32, &rc, &err);
    NuConfig c;
    Bytes tiny = {NULL, 0};
    CHECK(nu_synth_shape("32,32,1,2,1,512,8", &c, &err) == NU_OK);
    CHECK(nu_synth(&(NuSynthModel){.config = c}, small.data, small.size, NU_TYPE_F32, 3, NULL, NULL, &tiny.data, &tiny.size,
                   &err) == NU_OK);
    int clean = 1, converted = 0;
    size_t limit = tiny.size < 12000 ? tiny.size : 12000;
    uint8_t *copy = malloc(tiny.size);
    for (size_t i = 0; copy && i < limit; i += 3) {
        memcpy(copy, tiny.data, tiny.size);
        copy[i] ^= (uint8_t)(0x5A + i);
        Bytes mutated = {copy, tiny.size};
        NuError e;
        out = convert(&mutated, NULL, NU_TYPE_Q4_0, &rc, &e);
        if (rc == NU_OK) {
            GgufFile *g = NULL;
            if (gguf_open(out.data, out.size, &g, &e) != NU_OK) clean = 0;
            gguf_close(g);
            converted++;
        } else if (out.data || strlen(e.message) == 0) {
            clean = 0;
        }
        free(out.data);
    }
    CHECK(clean);
    CHECK(converted > 0);
    printf("mutations: %d of %zu converted\n", converted, (limit + 2) / 3);
    free(copy);
    free(tiny.data);
    free(small.data);
    free(gguf.data);
    free(gpt2.data);
}

int main(void) {
    Bytes bin = read_bytes(BIN), tok = read_bytes(TOK);
    CHECK(bin.data && tok.data);
    if (bin.data && tok.data) {
        test_stories260k_from_llama2c(&bin, &tok);
        test_tokenizer_matches(&bin, &tok);
        test_gguf_to_gguf(&bin, &tok);
        test_bad_inputs(&bin, &tok);
    }
    test_shapes();
    test_synth();
    free(bin.data);
    free(tok.data);
    return check_summary("test_convert");
}
