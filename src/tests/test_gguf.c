/* GGUF reader and writer: the real model and vocab files, a writer round trip of every
 * value type, and malformed files (each must fail with the right code and message). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "gguf.h"
#include "gguf_write.h"
#include "tensor.h"


static int str_is(GgufStr s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* Opens data and expects failure with code and a message containing substr. */
static void expect_fail_at(const uint8_t *data, size_t size, NuCode code, const char *substr,
                           int line) {
    GgufFile *g = (GgufFile *)1;
    NuError err;
    NuCode rc = gguf_open(data, size, &g, &err);
    int ok = rc == code && err.code == code && g == NULL && strstr(err.message, substr);
    if (!ok)
        fprintf(stderr, "line %d: got code %d '%s', want code %d with '%s'\n", line, rc,
                err.message, code, substr);
    CHECK(ok);
    if (rc == NU_OK) gguf_close(g);
}
#define expect_fail(d, n, code, s) expect_fail_at(d, n, code, s, __LINE__)

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Position of the first occurrence of needle (as a GGUF string body) in the file. */
static size_t find(const uint8_t *data, size_t size, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, needle, n) == 0) return i;
    fprintf(stderr, "'%s' not found in the test file\n", needle);
    exit(1);
}

/* Byte position of field `what` in the tensor info of name (name stored once, n_dims dims):
 * 0 = n_dims, 1 = ne[0], 2 = type, 3 = offset. */
static size_t tensor_field(const uint8_t *data, size_t size, const char *name, int what) {
    size_t p = find(data, size, name) + strlen(name);
    uint32_t n_dims = data[p];
    if (what == 0) return p;
    if (what == 1) return p + 4;
    if (what == 2) return p + 4 + 8 * n_dims;
    return p + 4 + 8 * n_dims + 4;
}

/* ---- the real files ------------------------------------------------------------------- */

static void test_stories260k(void) {
    size_t size;
    uint8_t *data = read_file("../shared/models/stories260K/stories260K.gguf", &size);
    CHECK(data != NULL);
    if (!data) return;
    GgufFile *g;
    NuError err;
    CHECK(gguf_open(data, size, &g, &err) == NU_OK);
    CHECK(gguf_version(g) == 3);
    CHECK(gguf_kv_count(g) == 19);
    CHECK(gguf_tensor_count(g) == 48);
    CHECK(gguf_alignment(g) == 32);

    GgufStr s;
    uint32_t u;
    float f;
    CHECK(gguf_get_str(g, "general.architecture", &s, &err) == NU_OK && str_is(s, "llama"));
    CHECK(gguf_get_u32(g, "llama.embedding_length", &u, &err) == NU_OK && u == 64);
    CHECK(gguf_get_u32(g, "llama.block_count", &u, &err) == NU_OK && u == 5);
    CHECK(gguf_get_u32(g, "llama.attention.head_count", &u, &err) == NU_OK && u == 8);
    CHECK(gguf_get_u32(g, "llama.attention.head_count_kv", &u, &err) == NU_OK && u == 4);
    CHECK(gguf_get_u32(g, "llama.feed_forward_length", &u, &err) == NU_OK && u == 172);
    CHECK(gguf_get_u32(g, "llama.context_length", &u, &err) == NU_OK && u == 2048);
    CHECK(gguf_get_u32(g, "llama.rope.dimension_count", &u, &err) == NU_OK && u == 8);
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, &err) == NU_OK);
    CHECK_NEAR(f, 1e-5, 1e-9);

    GgufType et;
    uint64_t n;
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &err) == NU_OK);
    CHECK(et == GGUF_TYPE_STRING && n == 512);
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1, &s, &err) == NU_OK &&
          str_is(s, "<s>"));
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 3, &s, &err) == NU_OK &&
          str_is(s, "<0x00>"));
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 512, &s, &err) == NU_ERR_ARG);
    CHECK(strstr(err.message, "index 512") != NULL);
    int64_t i64;
    CHECK(gguf_get_arr_i64(g, "tokenizer.ggml.token_type", 0, &i64, &err) == NU_OK && i64 == 2);
    CHECK(gguf_get_arr_f32(g, "tokenizer.ggml.scores", 511, &f, &err) == NU_OK);
    const void *raw;
    CHECK(gguf_get_arr_data(g, "tokenizer.ggml.scores", &et, &n, &raw, &err) == NU_OK);
    CHECK(et == GGUF_TYPE_FLOAT32 && n == 512);
    float last;
    memcpy(&last, (const uint8_t *)raw + 511 * 4, 4);
    CHECK(last == f);

    /* Errors name the key and the problem. */
    CHECK(gguf_find_key(g, "llama.rope.freq_base") == -1);
    CHECK(gguf_get_f32(g, "llama.rope.freq_base", &f, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "'llama.rope.freq_base' is missing") != NULL);
    CHECK(gguf_get_u32(g, "general.name", &u, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "has type string, expected an integer") != NULL);
    CHECK(gguf_get_str(g, "tokenizer.ggml.tokens", &s, &err) == NU_ERR_FORMAT);
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.scores", 0, &s, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "array of float32, expected strings") != NULL);
    /* uint32 0xFFFFFFFF fits uint32 and int64. */
    CHECK(gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &u, &err) == NU_OK &&
          u == 0xFFFFFFFFu);

    const GgufTensorInfo *t = gguf_find_tensor(g, "token_embd.weight");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->type == 0);
        CHECK(t->size == 64 * 512 * 4 && t->offset == 0);
        CHECK(t->data == data + 14176); /* header ends at 14152, aligned up to 32 */
    }
    t = gguf_find_tensor(g, "blk.4.ffn_down.weight");
    CHECK(t && t->ne[0] == 172 && t->ne[1] == 64 && t->size == 172 * 64 * 4);
    t = gguf_find_tensor(g, "blk.2.attn_norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && t->ne[1] == 1);
    CHECK(gguf_find_tensor(g, "blk.5.attn_q.weight") == NULL);
    /* The last tensor ends exactly at the end of the file. */
    const GgufTensorInfo *end = gguf_find_tensor(g, "blk.4.ffn_norm.weight");
    CHECK(end && end->data + end->size == data + size);
    gguf_close(g);
    free(data);
}

static void test_vocab(const char *file, const char *arch, uint64_t n_tokens,
                       uint64_t n_merges, const char *last_token) {
    char path[256];
    snprintf(path, sizeof path, "../shared/models/vocab/%s", file);
    size_t size;
    uint8_t *data = read_file(path, &size);
    CHECK(data != NULL);
    if (!data) return;
    GgufFile *g;
    NuError err;
    CHECK(gguf_open(data, size, &g, &err) == NU_OK);
    if (g) {
        GgufStr s;
        GgufType et;
        uint64_t n;
        CHECK(gguf_tensor_count(g) == 0);
        CHECK(gguf_get_str(g, "general.architecture", &s, &err) == NU_OK && str_is(s, arch));
        CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &err) == NU_OK);
        CHECK(et == GGUF_TYPE_STRING && n == n_tokens);
        CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", n_tokens - 1, &s, &err) == NU_OK);
        CHECK(str_is(s, last_token));
        if (n_merges) {
            CHECK(gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n, &err) == NU_OK);
            CHECK(et == GGUF_TYPE_STRING && n == n_merges);
        }
        int64_t tt;
        CHECK(gguf_get_arr_i64(g, "tokenizer.ggml.token_type", n_tokens - 1, &tt, &err) ==
              NU_OK);
        gguf_close(g);
    }
    free(data);
}

/* ---- writer round trip ---------------------------------------------------------------- */

static void test_round_trip(void) {
    GgufWriter *w = gguf_writer_new();
    CHECK(w != NULL);
    if (!w) return;
    gguf_add_u8(w, "t.u8", 255);
    gguf_add_i8(w, "t.i8", -128);
    gguf_add_u16(w, "t.u16", 65535);
    gguf_add_i16(w, "t.i16", -32768);
    gguf_add_u32(w, "t.u32", 4000000000u);
    gguf_add_i32(w, "t.i32", -2000000000);
    gguf_add_u64(w, "t.u64", UINT64_MAX);
    gguf_add_i64(w, "t.i64", INT64_MIN);
    gguf_add_f32(w, "t.f32", 1.5f);
    gguf_add_f64(w, "t.f64", -0.25);
    gguf_add_f64(w, "t.f64big", 1e300);
    gguf_add_bool(w, "t.bool", 1);
    gguf_add_str(w, "t.str", "héllo");
    gguf_add_str(w, "t.empty", "");
    const int32_t ints[3] = {-1, 0, 7};
    const double dbls[2] = {0.5, -3.0};
    const uint8_t bools[2] = {0, 1};
    const char *strs[3] = {"a", "", "ccc"};
    gguf_add_arr(w, "t.arr_i32", GGUF_TYPE_INT32, ints, 3);
    gguf_add_arr(w, "t.arr_f64", GGUF_TYPE_FLOAT64, dbls, 2);
    gguf_add_arr(w, "t.arr_bool", GGUF_TYPE_BOOL, bools, 2);
    gguf_add_arr(w, "t.arr_empty", GGUF_TYPE_UINT16, NULL, 0);
    gguf_add_arr_str(w, "t.arr_str", strs, 3);
    /* [[1, 2], []] as uint32 arrays, then [["x"]] as string arrays. */
    uint8_t nested[12 + 12 + 8 + 12];
    put_le(nested, GGUF_TYPE_UINT32, 4), put_le(nested + 4, 2, 8);
    put_le(nested + 12, 1, 4), put_le(nested + 16, 2, 4);
    put_le(nested + 20, GGUF_TYPE_UINT32, 4), put_le(nested + 24, 0, 8);
    uint8_t outer[12 + sizeof nested];
    put_le(outer, GGUF_TYPE_ARRAY, 4), put_le(outer + 4, 2, 8);
    memcpy(outer + 12, nested, 32);
    gguf_add_raw(w, "t.nested", GGUF_TYPE_ARRAY, outer, 12 + 32);
    uint8_t nested_str[12 + 12 + 9];
    put_le(nested_str, GGUF_TYPE_ARRAY, 4), put_le(nested_str + 4, 1, 8);
    put_le(nested_str + 12, GGUF_TYPE_STRING, 4), put_le(nested_str + 16, 1, 8);
    put_le(nested_str + 24, 1, 8), nested_str[32] = 'x';
    gguf_add_raw(w, "t.nested_str", GGUF_TYPE_ARRAY, nested_str, sizeof nested_str);
    gguf_add_str(w, "t.after", "still readable");
    CHECK(gguf_set_alignment(w, 64) == NU_OK);

    float f32s[40];
    uint16_t f16s[3] = {0x3c00, 0xc000, 0};
    uint8_t q8[2 * 34], q4[18], q4k[144];
    for (int i = 0; i < 40; i++) f32s[i] = (float)i * 0.5f;
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof q4; i++) q4[i] = (uint8_t)(200 - i);
    memset(q4k, 7, sizeof q4k);
    const int64_t ne_f32[2] = {8, 5}, ne_f16[1] = {3}, ne_q8[2] = {32, 2}, ne_q4[1] = {32},
                  ne_q4k[1] = {256};
    gguf_add_tensor(w, "w.f32", 2, ne_f32, NU_TYPE_F32, f32s);
    gguf_add_tensor(w, "w.f16", 1, ne_f16, NU_TYPE_F16, f16s);
    gguf_add_tensor(w, "w.q8", 2, ne_q8, NU_TYPE_Q8_0, q8);
    gguf_add_tensor(w, "w.q4", 1, ne_q4, NU_TYPE_Q4_0, q4);
    gguf_add_tensor(w, "w.q4k", 1, ne_q4k, 12, q4k);
    uint8_t *buf;
    size_t size;
    NuError err;
    CHECK(gguf_writer_finish(w, &buf, &size, &err) == NU_OK);
    gguf_writer_free(w);

    GgufFile *g;
    CHECK(gguf_open(buf, size, &g, &err) == NU_OK);
    if (!g) {
        fprintf(stderr, "round trip: %s\n", err.message);
        free(buf);
        return;
    }
    int64_t v;
    uint32_t u;
    float f;
    int b;
    GgufStr s;
    GgufType et;
    uint64_t n;
    CHECK(gguf_kv_count(g) == 23 && gguf_alignment(g) == 64);
    CHECK(gguf_get_i64(g, "t.u8", &v, &err) == NU_OK && v == 255);
    CHECK(gguf_get_i64(g, "t.i8", &v, &err) == NU_OK && v == -128);
    CHECK(gguf_get_i64(g, "t.u16", &v, &err) == NU_OK && v == 65535);
    CHECK(gguf_get_i64(g, "t.i16", &v, &err) == NU_OK && v == -32768);
    CHECK(gguf_get_u32(g, "t.u32", &u, &err) == NU_OK && u == 4000000000u);
    CHECK(gguf_get_i64(g, "t.i32", &v, &err) == NU_OK && v == -2000000000);
    CHECK(gguf_get_i64(g, "t.i64", &v, &err) == NU_OK && v == INT64_MIN);
    CHECK(gguf_get_i64(g, "t.u64", &v, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "18446744073709551615 is too large") != NULL);
    CHECK(gguf_get_u32(g, "t.i8", &u, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "-128 does not fit uint32") != NULL);
    CHECK(gguf_get_f32(g, "t.f32", &f, &err) == NU_OK && f == 1.5f);
    CHECK(gguf_get_f32(g, "t.f64", &f, &err) == NU_OK && f == -0.25f);
    CHECK(gguf_get_f32(g, "t.f64big", &f, &err) == NU_ERR_FORMAT);
    CHECK(strstr(err.message, "out of float range") != NULL);
    CHECK(gguf_get_f32(g, "t.i32", &f, &err) == NU_ERR_FORMAT);
    CHECK(gguf_get_bool(g, "t.bool", &b, &err) == NU_OK && b == 1);
    CHECK(gguf_get_bool(g, "t.u8", &b, &err) == NU_ERR_FORMAT);
    CHECK(gguf_get_str(g, "t.str", &s, &err) == NU_OK && str_is(s, "héllo"));
    CHECK(gguf_get_str(g, "t.empty", &s, &err) == NU_OK && s.len == 0);
    CHECK(gguf_get_arr(g, "t.arr_i32", &et, &n, &err) == NU_OK && et == GGUF_TYPE_INT32 &&
          n == 3);
    CHECK(gguf_get_arr_i64(g, "t.arr_i32", 0, &v, &err) == NU_OK && v == -1);
    CHECK(gguf_get_arr_i64(g, "t.arr_i32", 2, &v, &err) == NU_OK && v == 7);
    CHECK(gguf_get_arr_i64(g, "t.arr_i32", 3, &v, &err) == NU_ERR_ARG);
    CHECK(gguf_get_arr_f32(g, "t.arr_f64", 1, &f, &err) == NU_OK && f == -3.0f);
    CHECK(gguf_get_arr_i64(g, "t.arr_f64", 1, &v, &err) == NU_ERR_FORMAT);
    const void *raw;
    CHECK(gguf_get_arr_data(g, "t.arr_bool", &et, &n, &raw, &err) == NU_OK &&
          et == GGUF_TYPE_BOOL && n == 2 && ((const uint8_t *)raw)[1] == 1);
    CHECK(gguf_get_arr(g, "t.arr_empty", &et, &n, &err) == NU_OK && et == GGUF_TYPE_UINT16 &&
          n == 0);
    CHECK(gguf_get_arr_str(g, "t.arr_str", 0, &s, &err) == NU_OK && str_is(s, "a"));
    CHECK(gguf_get_arr_str(g, "t.arr_str", 1, &s, &err) == NU_OK && s.len == 0);
    CHECK(gguf_get_arr_str(g, "t.arr_str", 2, &s, &err) == NU_OK && str_is(s, "ccc"));
    CHECK(gguf_get_arr(g, "t.nested", &et, &n, &err) == NU_OK && et == GGUF_TYPE_ARRAY &&
          n == 2);
    CHECK(gguf_get_arr_data(g, "t.nested", &et, &n, &raw, &err) == NU_ERR_FORMAT);
    CHECK(gguf_get_arr(g, "t.nested_str", &et, &n, &err) == NU_OK && et == GGUF_TYPE_ARRAY &&
          n == 1);
    CHECK(gguf_get_str(g, "t.after", &s, &err) == NU_OK && str_is(s, "still readable"));
    int64_t idx = gguf_find_key(g, "t.f32");
    CHECK(idx >= 0 && gguf_kv_type(g, (uint64_t)idx) == GGUF_TYPE_FLOAT32 &&
          str_is(gguf_kv_key(g, (uint64_t)idx), "t.f32"));

    CHECK(gguf_tensor_count(g) == 5);
    const GgufTensorInfo *t = gguf_find_tensor(g, "w.f32");
    CHECK(t && t->ne[0] == 8 && t->ne[1] == 5 && t->size == 160 &&
          memcmp(t->data, f32s, 160) == 0);
    CHECK(t && (size_t)(t->data - buf) % 64 == 0);
    t = gguf_find_tensor(g, "w.f16");
    CHECK(t && t->size == 6 && t->offset == 192 && memcmp(t->data, f16s, 6) == 0);
    t = gguf_find_tensor(g, "w.q8");
    CHECK(t && t->type == NU_TYPE_Q8_0 && t->size == 68 && memcmp(t->data, q8, 68) == 0);
    t = gguf_find_tensor(g, "w.q4");
    CHECK(t && t->size == 18 && memcmp(t->data, q4, 18) == 0);
    t = gguf_find_tensor(g, "w.q4k");
    CHECK(t && t->type == 12 && t->size == 144);
    CHECK(strcmp(gguf_ggml_type_name(12), "Q4_K") == 0);
    CHECK(strcmp(gguf_ggml_type_name(1000), "unknown") == 0);
    CHECK(gguf_tensor(g, 0) == gguf_find_tensor(g, "w.f32") && gguf_tensor(g, 5) == NULL);
    gguf_close(g);
    free(buf);
}

static void test_writer_errors(void) {
    GgufWriter *w = gguf_writer_new();
    uint8_t *buf;
    size_t size;
    NuError err;
    const int64_t ne[1] = {33};
    uint8_t data[64] = {0};
    CHECK(gguf_add_u32(w, "k", 1) == NU_OK);
    CHECK(gguf_add_tensor(w, "q", 1, ne, NU_TYPE_Q8_0, data) == NU_ERR_FORMAT);
    CHECK(gguf_add_u32(w, "k2", 1) == NU_ERR_FORMAT); /* the first error sticks */
    CHECK(gguf_writer_finish(w, &buf, &size, &err) == NU_ERR_FORMAT && buf == NULL);
    CHECK(strstr(err.message, "tensor q: dimension 0 is 33, not a multiple of the Q8_0") !=
          NULL);
    gguf_writer_free(w);

    w = gguf_writer_new();
    gguf_add_u32(w, "k", 1);
    CHECK(gguf_add_u32(w, "k", 2) == NU_ERR_ARG);
    CHECK(gguf_writer_finish(w, &buf, &size, &err) == NU_ERR_ARG);
    CHECK(strstr(err.message, "duplicate key 'k'") != NULL);
    gguf_writer_free(w);

    w = gguf_writer_new();
    CHECK(gguf_set_alignment(w, 24) == NU_ERR_ARG);
    gguf_writer_free(w);

    w = gguf_writer_new();
    const int64_t ne8[1] = {8};
    gguf_add_tensor(w, "a", 1, ne8, NU_TYPE_F32, data);
    CHECK(gguf_add_tensor(w, "a", 1, ne8, NU_TYPE_F32, data) == NU_ERR_ARG);
    gguf_writer_free(w);
}

/* ---- malformed files ------------------------------------------------------------------ */

/* A small valid file: a few kvs of varied types (incl. a nested array) and two tensors,
 * the last ending exactly at the end of the file (32 bytes, no trailing padding). */
static uint8_t *small_file(size_t *size, int dup_keys) {
    static float t1[8], t2[8];
    for (int i = 0; i < 8; i++) t1[i] = (float)i, t2[i] = (float)-i;
    GgufWriter *w = gguf_writer_new();
    gguf_add_str(w, "general.architecture", "llama");
    gguf_add_u32(w, "a.x", 7);
    gguf_add_u32(w, dup_keys ? "a.y" : "a.z", 8);
    const char *toks[2] = {"<s>", "hi"};
    gguf_add_arr_str(w, "tok", toks, 2);
    uint8_t nested[12 + 12 + 4];
    put_le(nested, GGUF_TYPE_ARRAY, 4), put_le(nested + 4, 1, 8);
    put_le(nested + 12, GGUF_TYPE_INT32, 4), put_le(nested + 16, 1, 8), put_le(nested + 24, 5, 4);
    gguf_add_raw(w, "nest", GGUF_TYPE_ARRAY, nested, sizeof nested);
    const int64_t ne[2] = {4, 2};
    gguf_add_tensor(w, "t.one", 2, ne, NU_TYPE_F32, t1);
    gguf_add_tensor(w, "t.two", 2, ne, NU_TYPE_F32, t2);
    uint8_t *buf;
    NuError err;
    if (gguf_writer_finish(w, &buf, size, &err) != NU_OK) {
        fprintf(stderr, "small_file: %s\n", err.message);
        exit(1);
    }
    gguf_writer_free(w);
    return buf;
}

static void test_truncation(void) {
    size_t size;
    uint8_t *good = small_file(&size, 0);
    GgufFile *g;
    NuError err;
    CHECK(gguf_open(good, size, &g, &err) == NU_OK);
    gguf_close(g);
    expect_fail(good, 0, NU_ERR_FORMAT, "truncated file: the magic at byte 0");
    /* Every prefix fails cleanly: each in its own exact-size allocation so ASan sees any
     * over-read. */
    int all_format = 1, all_null = 1;
    for (size_t n = 1; n < size; n++) {
        uint8_t *p = malloc(n);
        memcpy(p, good, n);
        g = (GgufFile *)1;
        NuCode rc = gguf_open(p, n, &g, &err);
        if (rc != NU_ERR_FORMAT) {
            all_format = 0;
            fprintf(stderr, "prefix %zu: code %d %s\n", n, rc, err.message);
        }
        if (g) all_null = 0;
        if (rc == NU_OK) gguf_close(g);
        free(p);
    }
    CHECK(all_format && all_null);
    /* Truncation inside the tensor data is reported with the tensor name. */
    expect_fail(good, size - 1, NU_ERR_FORMAT, "tensor t.two: data ends at byte");
    free(good);
}

static void test_malformed(void) {
    size_t size;
    uint8_t *good = small_file(&size, 0);
    uint8_t *p = malloc(size);
#define FRESH() memcpy(p, good, size)

    FRESH(), p[0] = 'X';
    expect_fail(p, size, NU_ERR_FORMAT, "not a GGUF file");
    FRESH(), put_le(p + 4, 1, 4);
    expect_fail(p, size, NU_ERR_UNSUPPORTED, "GGUF version 1 is not supported");
    FRESH(), put_le(p + 4, 77, 4);
    expect_fail(p, size, NU_ERR_UNSUPPORTED, "version 77 is not supported");
    FRESH(), put_le(p + 4, 0x03000000u, 4);
    expect_fail(p, size, NU_ERR_UNSUPPORTED, "big-endian");
    FRESH(), put_le(p + 4, 2, 4); /* v2 has the same layout */
    GgufFile *g;
    NuError err;
    CHECK(gguf_open(p, size, &g, &err) == NU_OK && gguf_version(g) == 2);
    gguf_close(g);

    FRESH(), put_le(p + 8, UINT64_MAX, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor count 18446744073709551615 cannot fit");
    FRESH(), put_le(p + 16, UINT64_MAX / 2, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "metadata count 9223372036854775807 cannot fit");
    FRESH(), put_le(p + 16, 6, 8); /* one more kv than present: runs into the tensor infos */
    expect_fail(p, size, NU_ERR_FORMAT, "");

    /* The first key's length, then a string value's length. */
    FRESH(), put_le(p + 24, UINT64_MAX, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "truncated file: a key at byte 32 needs");
    size_t arch = find(good, size, "llama");
    FRESH(), put_le(p + arch - 8, (uint64_t)1 << 40, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "truncated file: a string value");

    /* Value types: the first kv's type follows its key. */
    size_t type_pos = find(good, size, "general.architecture") + 20;
    FRESH(), put_le(p + type_pos, 13, 4);
    expect_fail(p, size, NU_ERR_FORMAT, "key 'general.architecture' has value type 13, which "
                                        "is not a GGUF value type");
    size_t tok = find(good, size, "tok") + 3; /* type, then element type, then count */
    FRESH(), put_le(p + tok + 4, 99, 4);
    expect_fail(p, size, NU_ERR_FORMAT, "key 'tok': array element type 99");
    FRESH(), put_le(p + tok + 8, UINT64_MAX / 2, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "key 'tok': array of 9223372036854775807 string "
                                        "values");
    size_t nest = find(good, size, "nest") + 4;
    FRESH(), put_le(p + nest + 8, (uint64_t)1 << 50, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "array of 1125899906842624 array values");
    FRESH(), put_le(p + nest + 20, (uint64_t)1 << 50, 8); /* the inner array's count */
    expect_fail(p, size, NU_ERR_FORMAT, "array of 1125899906842624 int32 values");
    size_t ax = find(good, size, "a.x") + 3;
    FRESH(), put_le(p + ax, GGUF_TYPE_BOOL, 4); /* value byte 7 */
    expect_fail(p, size, NU_ERR_FORMAT, "bool value 7 is not 0 or 1");

    /* Tensor infos. */
    size_t two_type = tensor_field(good, size, "t.two", 2);
    size_t two_off = tensor_field(good, size, "t.two", 3);
    size_t two_ne = tensor_field(good, size, "t.two", 1);
    FRESH(), put_le(p + two_type, 99, 4);
    expect_fail(p, size, NU_ERR_UNSUPPORTED, "tensor t.two: ggml type unknown (99)");
    FRESH(), put_le(p + two_type, 4, 4);
    expect_fail(p, size, NU_ERR_UNSUPPORTED, "ggml type Q4_2 (4) has no known layout");
    FRESH(), put_le(p + two_type, NU_TYPE_Q8_0, 4);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two: dimension 0 is 4, not a multiple of "
                                        "the Q8_0 block size 32");
    FRESH(), put_le(p + two_off, 4096, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two: data ends at byte");
    FRESH(), put_le(p + two_off, UINT64_MAX - 31, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two: data ends at byte");
    FRESH(), put_le(p + two_off, 16, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two offset 16 is not a multiple of the "
                                        "alignment 32");
    FRESH(), put_le(p + two_off, 0, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensors t.one and t.two overlap");
    FRESH(), put_le(p + two_ne, 0, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two dimension 0 is 0");
    FRESH(), put_le(p + two_ne, (uint64_t)1 << 63, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two dimension 0 is 9223372036854775808");
    FRESH(), put_le(p + two_ne, (uint64_t)1 << 62, 8), put_le(p + two_ne + 8, 4, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two: the element count overflows");
    FRESH(), put_le(p + two_ne, (uint64_t)1 << 61, 8);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two: the byte size overflows");
    FRESH(), put_le(p + tensor_field(good, size, "t.two", 0), 5, 4);
    expect_fail(p, size, NU_ERR_FORMAT, "tensor t.two has 5 dimensions");
    FRESH(), memcpy(p + find(good, size, "t.two") + 2, "one", 3);
    expect_fail(p, size, NU_ERR_FORMAT, "duplicate tensor name t.one");
    free(p);
    free(good);

    good = small_file(&size, 1);
    p = malloc(size);
    FRESH(), p[find(good, size, "a.y") + 2] = 'x';
    expect_fail(p, size, NU_ERR_FORMAT, "duplicate key 'a.x'");
    free(p);
    free(good);
#undef FRESH
}

static void test_alignment_values(void) {
    static const float data[8];
    const int64_t ne[1] = {8};
    /* general.alignment 48 (not a power of two), 0, and a string. */
    for (int k = 0; k < 3; k++) {
        GgufWriter *w = gguf_writer_new();
        if (k == 0) gguf_add_u32(w, "general.alignment", 48);
        if (k == 1) gguf_add_u32(w, "general.alignment", 0);
        if (k == 2) gguf_add_str(w, "general.alignment", "32");
        gguf_add_tensor(w, "t", 1, ne, NU_TYPE_F32, data);
        uint8_t *buf;
        size_t size;
        NuError err;
        CHECK(gguf_writer_finish(w, &buf, &size, &err) == NU_OK);
        if (k == 0) expect_fail(buf, size, NU_ERR_FORMAT, "general.alignment is 48, not a "
                                                          "positive power of two");
        if (k == 1) expect_fail(buf, size, NU_ERR_FORMAT, "general.alignment is 0");
        if (k == 2) expect_fail(buf, size, NU_ERR_FORMAT, "has type string, expected an "
                                                          "integer");
        free(buf);
        gguf_writer_free(w);
    }
}

static void test_deep_nesting(void) {
    /* 20 levels of single-element arrays around one uint8. */
    enum { DEPTH = 20 };
    uint8_t raw[DEPTH * 12 + 13];
    size_t n = 0;
    for (int i = 0; i < DEPTH; i++, n += 12)
        put_le(raw + n, GGUF_TYPE_ARRAY, 4), put_le(raw + n + 4, 1, 8);
    put_le(raw + n, GGUF_TYPE_UINT8, 4), put_le(raw + n + 4, 1, 8), raw[n + 12] = 1;
    n += 13;
    GgufWriter *w = gguf_writer_new();
    gguf_add_raw(w, "deep", GGUF_TYPE_ARRAY, raw, n);
    uint8_t *buf;
    size_t size;
    NuError err;
    CHECK(gguf_writer_finish(w, &buf, &size, &err) == NU_OK);
    expect_fail(buf, size, NU_ERR_FORMAT, "key 'deep': arrays nested deeper than 8");
    free(buf);
    gguf_writer_free(w);
}

/* Random byte changes to the small file (fixed seed): every outcome is a clean success or
 * a format/unsupported error, and a file that opens can be read through every getter. */
static void test_mutations(void) {
    size_t size;
    uint8_t *good = small_file(&size, 0);
    uint8_t *p = malloc(size);
    uint64_t state = 0x9E3779B97F4A7C15u;
    int clean = 1, opened = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(p, good, size);
        for (int k = 0; k < 1 + iter % 4; k++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(state >> 33) % size;
            p[at] = (uint8_t)(state >> 13);
        }
        GgufFile *g = NULL;
        NuError err;
        NuCode rc = gguf_open(p, size, &g, &err);
        if (rc != NU_OK) {
            clean &= (rc == NU_ERR_FORMAT || rc == NU_ERR_UNSUPPORTED) && g == NULL;
            continue;
        }
        opened++;
        for (uint64_t i = 0; i < gguf_kv_count(g); i++) {
            GgufStr key = gguf_kv_key(g, i), s;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(key.len < 63 ? key.len : 63), key.ptr);
            int64_t v;
            float f;
            GgufType et;
            uint64_t n;
            gguf_get_i64(g, name, &v, &err);
            gguf_get_f32(g, name, &f, &err);
            gguf_get_str(g, name, &s, &err);
            if (gguf_get_arr(g, name, &et, &n, &err) == NU_OK && n > 0) {
                gguf_get_arr_str(g, name, n - 1, &s, &err);
                gguf_get_arr_i64(g, name, n - 1, &v, &err);
                gguf_get_arr_f32(g, name, n - 1, &f, &err);
            }
        }
        for (uint64_t i = 0; i < gguf_tensor_count(g); i++) {
            const GgufTensorInfo *t = gguf_tensor(g, i);
            clean &= t->data >= p && t->data + t->size <= p + size;
        }
        gguf_close(g);
    }
    CHECK(clean);
    CHECK(opened > 100); /* changes inside names and tensor data keep the file valid */
    free(p);
    free(good);
}

int main(void) {
    test_stories260k();
    test_vocab("ggml-vocab-llama-spm.gguf", "llama", 32000, 0, "\xe7\xbb\x99"); /* 给 */
    test_vocab("ggml-vocab-gpt-2.gguf", "gpt2", 50257, 50000, "<|endoftext|>");
    test_vocab("ggml-vocab-phi-3.gguf", "phi3", 32064, 0, "[PAD32063]");
    test_vocab("ggml-vocab-starcoder.gguf", "starcoder2", 49152, 48872, "sdb");
    test_round_trip();
    test_writer_errors();
    test_truncation();
    test_malformed();
    test_alignment_values();
    test_deep_nesting();
    test_mutations();
    return check_summary("test_gguf");
}
