/* llama2.c checkpoint and tokenizer.bin readers: the stories260K files, a synthetic
 * unshared-classifier checkpoint whose every float says where it is, and malformed input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "llama2c.h"
#include "loader.h"


static void put_i32(uint8_t *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}

static void expect_load_fail_at(const uint8_t *data, size_t size, NuCode code,
                                const char *substr, int line) {
    NuConfig c;
    NuWeights w;
    NuError err;
    NuCode rc = nu_llama2c_load(data, size, &c, &w, &err);
    int ok = rc == code && strstr(err.message, substr) && w.layers == NULL;
    if (!ok)
        fprintf(stderr, "line %d: got code %d '%s', want code %d with '%s'\n", line, rc,
                rc ? err.message : "", code, substr);
    CHECK(ok);
    nu_weights_free(&w);
}
#define expect_load_fail(d, n, code, s) expect_load_fail_at(d, n, code, s, __LINE__)

static void test_stories260k(void) {
    size_t size;
    uint8_t *data = read_file("../shared/models/stories260K/stories260K.bin", &size);
    CHECK(data != NULL);
    if (!data) return;
    NuConfig c;
    NuWeights w;
    NuError err;
    CHECK(nu_llama2c_load(data, size, &c, &w, &err) == NU_OK);
    CHECK(c.dim == 64 && c.hidden_dim == 172 && c.n_layers == 5 && c.n_heads == 8);
    CHECK(c.n_kv_heads == 4 && c.vocab_size == 512 && c.seq_len == 512 && c.rope_dim == 8);
    CHECK(c.rope_theta == 10000.0f && c.norm_eps == 1e-5f);
    CHECK(w.token_embd.type == NU_TYPE_F32 && w.token_embd.rows == 512 &&
          w.token_embd.cols == 64 && w.token_embd.data == data + 28);
    /* Shared classifier. */
    CHECK(w.output.data == w.token_embd.data && w.output.rows == 512);
    CHECK(w.layers[0].wk.rows == 32 && w.layers[0].wk.cols == 64);
    CHECK(w.layers[4].ffn_down.rows == 64 && w.layers[4].ffn_down.cols == 172);
    CHECK(w.layers[2].attn_norm.rows == 1 && w.layers[2].attn_norm.cols == 64);
    /* Layer 1's wq follows layer 0's; the final norm is followed by the two freq_cis
     * tables (512 x 4 floats each) and then the end of the file. */
    CHECK((const float *)w.layers[1].wq.data == (const float *)w.layers[0].wq.data + 64 * 64);
    CHECK((const uint8_t *)((const float *)w.output_norm.data + 64 + 2 * 512 * 4) ==
          data + size);
    /* The first embedding float, read independently. */
    float first;
    memcpy(&first, data + 28, 4);
    CHECK(((const float *)w.token_embd.data)[0] == first);
    nu_weights_free(&w);
    CHECK(w.layers == NULL);

    /* Truncated: every header prefix, then a few cuts into the weights; one byte extra. */
    int all = 1;
    for (size_t n = 0; n < 28; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, data, n);
        NuCode rc = nu_llama2c_load(p, n, &c, &w, &err);
        if (rc != NU_ERR_FORMAT || !strstr(err.message, "shorter than the 28-byte header"))
            all = 0;
        free(p);
    }
    CHECK(all);
    expect_load_fail(data, 28, NU_ERR_FORMAT, "implies 1056540 bytes but the file has 28");
    expect_load_fail(data, size - 4, NU_ERR_FORMAT, "but the file has 1056536");
    expect_load_fail(data, size / 2, NU_ERR_FORMAT, "implies 1056540 bytes");
    uint8_t *big = malloc(size + 4);
    memcpy(big, data, size);
    expect_load_fail(big, size + 1, NU_ERR_FORMAT, "implies 1056540 bytes but the file has "
                                                   "1056541");

    /* Header fields: zero, negative and huge. */
    static const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads",
                                   "vocab_size", "seq_len"};
    for (int i = 0; i < 7; i++) {
        char want[64];
        snprintf(want, sizeof want, "header %s is 0 (must be positive)", names[i]);
        memcpy(big, data, size);
        put_i32(big + 4 * i, 0);
        expect_load_fail(big, size, NU_ERR_FORMAT, want);
        memcpy(big, data, size);
        put_i32(big + 4 * i, i == 5 ? INT32_MIN : -3);
        snprintf(want, sizeof want, "header %s is %d", names[i], i == 5 ? INT32_MIN : -3);
        expect_load_fail(big, size, NU_ERR_FORMAT, want);
        memcpy(big, data, size);
        put_i32(big + 4 * i, INT32_MAX);
        /* dim INT32_MAX is not a multiple of 8 heads, nor 64 of INT32_MAX heads; the rest
         * break the size. */
        expect_load_fail(big, size, NU_ERR_FORMAT, i == 0 || i == 3 ? "is not a multiple of "
                                                                      "n_heads" : "implies");
    }
    /* A negative vocab (unshared classifier) needs a wcls the file lacks. */
    memcpy(big, data, size);
    put_i32(big + 20, -512);
    expect_load_fail(big, size, NU_ERR_FORMAT, "implies 1187612 bytes");
    memcpy(big, data, size);
    put_i32(big + 12, 6);
    expect_load_fail(big, size, NU_ERR_FORMAT, "dim 64 is not a multiple of n_heads 6");
    free(big);
    free(data);
}

/* A synthetic checkpoint: dim 8, hidden 12, 2 layers, 4 heads (size 2), kv heads
 * `kv_heads`, vocab 10 unshared, seq_len 3; float k of the payload holds k. */
static uint8_t *synthetic(int kv_heads, size_t *size) {
    const int dim = 8, hidden = 12, L = 2, vocab = 10, seq = 3, head = 2;
    const int kv_dim = head * kv_heads;
    size_t floats = (size_t)vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim +
                    L * dim * dim + L * dim + 3 * L * hidden * dim + dim +
                    2 * seq * (head / 2) + (size_t)vocab * dim;
    *size = 28 + 4 * floats;
    uint8_t *p = malloc(*size);
    const int32_t h[7] = {dim, hidden, L, 4, kv_heads, -vocab, seq};
    for (int i = 0; i < 7; i++) put_i32(p + 4 * i, h[i]);
    for (size_t k = 0; k < floats; k++) {
        float v = (float)k;
        memcpy(p + 28 + 4 * k, &v, 4);
    }
    return p;
}

static float at(const NuTensor *t, int64_t i) { return ((const float *)t->data)[i]; }

static void test_synthetic_unshared(void) {
    size_t size;
    uint8_t *p = synthetic(2, &size);
    NuConfig c;
    NuWeights w;
    NuError err;
    CHECK(nu_llama2c_load(p, size, &c, &w, &err) == NU_OK);
    CHECK(c.vocab_size == 10 && c.n_kv_heads == 2 && c.rope_dim == 2);
    /* Offsets in floats: embed 0, rms_att 80, wq 96, wk 224, wv 288, wo 352, rms_ffn 480,
     * w1 496, w2 688, w3 880, rms_final 1072, freq 1080 (2 x 3), wcls 1086. */
    CHECK(at(&w.token_embd, 0) == 0.0f);
    CHECK(at(&w.layers[0].attn_norm, 0) == 80.0f && at(&w.layers[1].attn_norm, 0) == 88.0f);
    CHECK(at(&w.layers[1].wq, 0) == 96.0f + 64);
    CHECK(at(&w.layers[0].wk, 0) == 224.0f && at(&w.layers[1].wk, 0) == 224.0f + 32);
    CHECK(w.layers[1].wk.rows == 4 && w.layers[1].wv.rows == 4);
    CHECK(at(&w.layers[1].wv, 0) == 288.0f + 32 && at(&w.layers[0].wo, 0) == 352.0f);
    CHECK(at(&w.layers[1].ffn_norm, 0) == 488.0f);
    CHECK(at(&w.layers[1].ffn_gate, 0) == 496.0f + 96);
    CHECK(at(&w.layers[0].ffn_down, 0) == 688.0f && w.layers[0].ffn_down.cols == 12);
    CHECK(at(&w.layers[1].ffn_up, 95) == 880.0f + 96 + 95);
    CHECK(at(&w.output_norm, 0) == 1072.0f);
    CHECK(w.output.data != w.token_embd.data && at(&w.output, 0) == 1086.0f);
    CHECK(at(&w.output, 79) == 1086.0f + 79 && (const uint8_t *)w.output.data + 320 == p + size);
    nu_weights_free(&w);
    free(p);

    /* Consistent size, inconsistent heads: the shared config check names it. */
    p = synthetic(3, &size);
    expect_load_fail(p, size, NU_ERR_FORMAT, "head count 4 is not a multiple of the kv head "
                                             "count 3");
    free(p);
    /* An unaligned buffer is refused rather than read through a misaligned float*. */
    p = synthetic(2, &size);
    uint8_t *shifted = malloc(size + 1);
    memcpy(shifted + 1, p, size);
    expect_load_fail(shifted + 1, size, NU_ERR_ARG, "not 4-byte aligned");
    free(shifted);
    free(p);
}

static void test_vocab(void) {
    size_t size;
    uint8_t *data = read_file("../shared/models/stories260K/tok512.bin", &size);
    CHECK(data != NULL);
    if (!data) return;
    NuLlama2cVocab v;
    NuError err;
    CHECK(nu_llama2c_vocab_parse(data, size, 512, &v, &err) == NU_OK);
    CHECK(v.n_tokens == 512 && v.max_token_length == 7);
    CHECK(v.lengths[1] == 5 && memcmp(data + v.offsets[1], "\n<s>\n", 5) == 0);
    CHECK(v.lengths[300] == 3 && memcmp(data + v.offsets[300], " ha", 3) == 0);
    CHECK(v.scores[300] == -41.0f && v.scores[511] == -252.0f);
    CHECK(v.offsets[511] + v.lengths[511] == size);
    nu_llama2c_vocab_free(&v);

    CHECK(nu_llama2c_vocab_parse(data, size, 511, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "bytes left after token 511") != NULL);
    CHECK(nu_llama2c_vocab_parse(data, size, 513, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "truncated at token 512 of 513") != NULL);
    CHECK(nu_llama2c_vocab_parse(data, size, 0, &v, &err) == NU_ERR_ARG);
    CHECK(nu_llama2c_vocab_parse(data, size, 1000000, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "cannot hold 1000000 tokens") != NULL);
    CHECK(v.scores == NULL && v.offsets == NULL && v.lengths == NULL);

    /* Every prefix fails cleanly, each in an exact-size allocation for ASan. */
    int all = 1;
    for (size_t n = 0; n < size; n++) {
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, data, n);
        if (nu_llama2c_vocab_parse(p, n, 512, &v, &err) != NU_ERR_FORMAT || v.scores) all = 0;
        free(p);
    }
    CHECK(all);

    uint8_t *p = malloc(size);
    memcpy(p, data, size);
    put_i32(p, 0);
    CHECK(nu_llama2c_vocab_parse(p, size, 512, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "max_token_length 0") != NULL);
    memcpy(p, data, size);
    put_i32(p + 8, -1); /* token 0's length */
    CHECK(nu_llama2c_vocab_parse(p, size, 512, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "token 0 has length -1") != NULL);
    memcpy(p, data, size);
    put_i32(p + 8, 8); /* longer than max_token_length 7 */
    CHECK(nu_llama2c_vocab_parse(p, size, 512, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "token 0 has length 8 (max_token_length is 7)") != NULL);
    memcpy(p, data, size);
    put_i32(p + 4, 0x7fc00000); /* token 0's score: NaN */
    CHECK(nu_llama2c_vocab_parse(p, size, 512, &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "token 0 has a non-finite score") != NULL);
    free(p);
    free(data);

    data = read_file("../shared/models/vocab/llama2-tokenizer.bin", &size);
    CHECK(data != NULL);
    if (!data) return;
    CHECK(nu_llama2c_vocab_parse(data, size, 32000, &v, &err) == NU_OK);
    CHECK(v.n_tokens == 32000 && v.offsets[31999] + v.lengths[31999] == size);
    CHECK(v.lengths[0] == 5 && memcmp(data + v.offsets[0], "<unk>", 5) == 0);
    nu_llama2c_vocab_free(&v);
    free(data);
}

int main(void) {
    test_stories260k();
    test_synthetic_unshared();
    test_vocab();
    return check_summary("test_llama2c");
}
