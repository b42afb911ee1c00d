/* The fuzz targets' bodies, shared by the libFuzzer mains (src/fuzz/fuzz_*.c) and the replay
 * test (src/tests/test_fuzz_regressions.c), so every saved input replays through exactly
 * the code the fuzzer ran.
 *
 * Each target takes arbitrary bytes. The sanitizers catch crashes, over-reads and leaks;
 * FUZZ_CHECK catches broken promises of the API (an error without a message, a tensor
 * outside the file, a token outside the nucleus, ...). fuzz_run returns how many checks
 * failed: the fuzzer mains abort on any, so libFuzzer saves the input.
 *
 * Sizes are bounded before anything big runs: a model is only run when its run state and
 * per-token work are small, so no input can make a target allocate gigabytes or spin. */
#ifndef NUCLEUS_FUZZ_TARGETS_H
#define NUCLEUS_FUZZ_TARGETS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_write.h"
#include "llama2c.h"
#include "loader.h"
#include "model.h"
#include "quant.h"
#include "sampler.h"
#include "tok_internal.h" /* the differential checks read the vocabulary directly */
#include "tokenizer.h"
#include "unicode.h"
#include "vocab.h"

static int fuzz_failures;

static void fuzz_fail(const char *what, int line) {
    fprintf(stderr, "fuzz check failed at src/fuzz/targets.h:%d: %s\n", line, what);
    fuzz_failures++;
}

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __LINE__))

/* A failed call must say what failed: its code in err and a message. */
#define FUZZ_CHECK_ERROR(rc, err) FUZZ_CHECK((rc) == NU_OK || ((err).code == (rc) && (err).message[0]))

/* Is [p, p + n) inside [base, base + size)? */
static int fuzz_inside(const void *p, uint64_t n, const uint8_t *base, size_t size) {
    const uint8_t *b = p;
    return b >= base && b <= base + size && n <= (uint64_t)(base + size - b);
}

/* Reads every byte of [p, p + n), so ASan sees any access outside the buffer. */
static unsigned fuzz_touch(const void *p, size_t n) {
    const uint8_t *b = p;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += b[i];
    return sum;
}

/* ==== GGUF reader: every getter over every key and tensor ============================== */

/* Scalar getters agree with the value type and with each other. */
static void fuzz_gguf_scalars(const GgufFile *g, const char *key, GgufType type,
                              const uint8_t *data, size_t size) {
    NuError err;
    uint32_t u32;
    int64_t i64;
    float f32;
    int b;
    GgufStr s;
    nu_clear(&err);
    NuCode rc_u32 = gguf_get_u32(g, key, &u32, &err);
    FUZZ_CHECK_ERROR(rc_u32, err);
    NuCode rc_i64 = gguf_get_i64(g, key, &i64, &err);
    FUZZ_CHECK_ERROR(rc_i64, err);
    if (rc_u32 == NU_OK) FUZZ_CHECK(rc_i64 == NU_OK && i64 == (int64_t)u32);
    if (rc_i64 == NU_OK && i64 >= 0 && i64 <= UINT32_MAX) FUZZ_CHECK(rc_u32 == NU_OK);
    NuCode rc = gguf_get_f32(g, key, &f32, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (type == GGUF_TYPE_FLOAT32) FUZZ_CHECK(rc == NU_OK);
    if (type != GGUF_TYPE_FLOAT32 && type != GGUF_TYPE_FLOAT64) FUZZ_CHECK(rc != NU_OK);
    rc = gguf_get_bool(g, key, &b, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (type == GGUF_TYPE_BOOL) FUZZ_CHECK(rc == NU_OK);
    rc = gguf_get_str(g, key, &s, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK((rc == NU_OK) == (type == GGUF_TYPE_STRING));
    if (rc == NU_OK) {
        FUZZ_CHECK(fuzz_inside(s.ptr, s.len, data, size));
        fuzz_touch(s.ptr, (size_t)s.len);
    }
}

/* Element getters at index i of an array of count elements of type et. */
static void fuzz_gguf_element(const GgufFile *g, const char *key, GgufType et, uint64_t count,
                              uint64_t i, const uint8_t *data, size_t size) {
    NuError err;
    GgufStr s;
    int64_t i64;
    float f32;
    nu_clear(&err);
    NuCode rc = gguf_get_arr_str(g, key, i, &s, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK((rc == NU_OK) == (et == GGUF_TYPE_STRING && i < count));
    if (rc == NU_OK) {
        FUZZ_CHECK(fuzz_inside(s.ptr, s.len, data, size));
        fuzz_touch(s.ptr, (size_t)s.len);
    }
    rc = gguf_get_arr_i64(g, key, i, &i64, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (i >= count) FUZZ_CHECK(rc != NU_OK);
    rc = gguf_get_arr_f32(g, key, i, &f32, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (i >= count) FUZZ_CHECK(rc != NU_OK);
    if (i < count && et == GGUF_TYPE_FLOAT32) FUZZ_CHECK(rc == NU_OK); /* FLOAT64 may not fit */
}

static void fuzz_gguf_array(const GgufFile *g, const char *key, GgufType type,
                            const uint8_t *data, size_t size) {
    NuError err;
    GgufType et;
    uint64_t count;
    nu_clear(&err);
    NuCode rc = gguf_get_arr(g, key, &et, &count, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK((rc == NU_OK) == (type == GGUF_TYPE_ARRAY));
    if (rc != NU_OK) return;
    /* The first elements, the last, and one past the end. */
    for (uint64_t i = 0; i < count && i < 64; i++) fuzz_gguf_element(g, key, et, count, i, data, size);
    if (count > 0) fuzz_gguf_element(g, key, et, count, count - 1, data, size);
    fuzz_gguf_element(g, key, et, count, count, data, size);
    GgufType et2;
    uint64_t count2;
    const void *raw;
    rc = gguf_get_arr_data(g, key, &et2, &count2, &raw, &err);
    FUZZ_CHECK_ERROR(rc, err);
    size_t elem = gguf_type_size(et);
    if (elem > 0) FUZZ_CHECK(rc == NU_OK);
    if (rc == NU_OK) {
        FUZZ_CHECK(et2 == et && count2 == count && elem > 0);
        FUZZ_CHECK(elem > 0 && count <= size / elem && fuzz_inside(raw, count * elem, data, size));
        if (elem > 0 && count <= size / elem) fuzz_touch(raw, (size_t)(count * elem));
    }
}

static void fuzz_gguf_key(const GgufFile *g, uint64_t index, const uint8_t *data, size_t size) {
    GgufStr k = gguf_kv_key(g, index);
    GgufType type = gguf_kv_type(g, index);
    FUZZ_CHECK(fuzz_inside(k.ptr, k.len, data, size));
    FUZZ_CHECK(gguf_type_name(type) != NULL);
    if (!fuzz_inside(k.ptr, k.len, data, size) || memchr(k.ptr, 0, (size_t)k.len))
        return; /* a key with a NUL in it cannot be named through the C-string getters */
    char *key = malloc((size_t)k.len + 1);
    if (!key) return;
    memcpy(key, k.ptr, (size_t)k.len);
    key[k.len] = 0;
    FUZZ_CHECK(gguf_find_key(g, key) == (int64_t)index); /* keys are unique */
    fuzz_gguf_scalars(g, key, type, data, size);
    fuzz_gguf_array(g, key, type, data, size);
    free(key);
}

static void fuzz_gguf_tensor(const GgufFile *g, uint64_t index, const uint8_t *data, size_t size) {
    const GgufTensorInfo *t = gguf_tensor(g, index);
    FUZZ_CHECK(t != NULL);
    if (!t) return;
    FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        FUZZ_CHECK(d < t->n_dims ? t->ne[d] >= 1 : t->ne[d] == 1);
    uint64_t bytes = 0;
    NuError err;
    FUZZ_CHECK(gguf_tensor_size(t->type, t->n_dims, t->ne, &bytes, &err) == NU_OK &&
               bytes == t->size);
    FUZZ_CHECK(gguf_ggml_type_name(t->type) != NULL);
    FUZZ_CHECK(fuzz_inside(t->data, t->size, data, size));
    FUZZ_CHECK((uint64_t)(t->data - data) % gguf_alignment(g) == 0);
    if (fuzz_inside(t->data, t->size, data, size)) fuzz_touch(t->data, (size_t)t->size);
    FUZZ_CHECK(fuzz_inside(t->name.ptr, t->name.len, data, size));
    if (!fuzz_inside(t->name.ptr, t->name.len, data, size) || memchr(t->name.ptr, 0, (size_t)t->name.len))
        return;
    char *name = malloc((size_t)t->name.len + 1);
    if (!name) return;
    memcpy(name, t->name.ptr, (size_t)t->name.len);
    name[t->name.len] = 0;
    FUZZ_CHECK(gguf_find_tensor(g, name) == t); /* names are unique */
    free(name);
}

static int fuzz_gguf(const uint8_t *data, size_t size) {
    GgufFile *g = NULL;
    NuError err;
    nu_clear(&err);
    NuCode rc = gguf_open(data, size, &g, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc != NU_OK) return 0;
    FUZZ_CHECK(gguf_version(g) == 2 || gguf_version(g) == 3);
    uint64_t align = gguf_alignment(g);
    FUZZ_CHECK(align > 0 && (align & (align - 1)) == 0);
    for (uint64_t i = 0; i < gguf_kv_count(g); i++) fuzz_gguf_key(g, i, data, size);
    for (uint64_t i = 0; i < gguf_tensor_count(g); i++) fuzz_gguf_tensor(g, i, data, size);
    FUZZ_CHECK(gguf_tensor(g, gguf_tensor_count(g)) == NULL);
    gguf_close(g);
    return 0;
}

/* ==== tokenizers ======================================================================== */

/* Encodes text twice (asking for the count, then for the ids) with NU_ENCODE_* flags and
 * checks the ids. Returns 1 and sets *ids (malloc'd, NULL for none) and *n when the text was
 * encoded, else 0. */
static int fuzz_encode(const NuTokenizer *t, const uint8_t *text, size_t len, int flags,
                       int32_t **ids, size_t *n) {
    NuError err;
    nu_clear(&err);
    *ids = NULL;
    *n = 0;
    size_t need = 0;
    int add_bos = flags & NU_ENCODE_BOS;
    NuCode rc = nu_tokenizer_encode(t, (const char *)text, len, flags, NULL, 0, &need, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (nu_utf8_invalid_at(text, len) < len) FUZZ_CHECK(rc == NU_ERR_TEXT);
    if (add_bos && nu_tokenizer_bos(t) < 0) FUZZ_CHECK(rc != NU_OK);
    if (rc == NU_OK) {
        FUZZ_CHECK(need == 0);
        return 1;
    }
    if (rc != NU_ERR_ARG || need == 0) return 0;
    int32_t *out = malloc(need * sizeof *out);
    if (!out) return 0;
    size_t got = 0;
    rc = nu_tokenizer_encode(t, (const char *)text, len, flags, out, need, &got, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK(rc == NU_OK && got == need);
    for (size_t i = 0; i < need; i++) FUZZ_CHECK(out[i] >= 0 && out[i] < nu_tokenizer_vocab_size(t));
    if (add_bos) FUZZ_CHECK(out[0] == nu_tokenizer_bos(t));
    *ids = out;
    *n = need;
    return 1;
}

/* Decodes ids; the result must be what the pieces add up to. Returns a malloc'd buffer of
 * *len bytes, or NULL when an id was refused (or the text is empty). */
static char *fuzz_decode(const NuTokenizer *t, const int32_t *ids, size_t n, size_t *len) {
    NuError err;
    nu_clear(&err);
    size_t need = 0, pieces = 0;
    int in_range = 1;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t plen;
        NuCode rc = nu_tokenizer_piece(t, ids[i], &p, &plen, &err);
        FUZZ_CHECK_ERROR(rc, err);
        FUZZ_CHECK((rc == NU_OK) == (ids[i] >= 0 && ids[i] < nu_tokenizer_vocab_size(t)));
        if (rc == NU_OK) pieces += plen;
        else in_range = 0;
    }
    NuCode rc = nu_tokenizer_decode(t, ids, n, NULL, 0, &need, &err);
    FUZZ_CHECK_ERROR(rc, err);
    *len = 0;
    if (!in_range) {
        FUZZ_CHECK(rc == NU_ERR_ARG);
        return NULL;
    }
    FUZZ_CHECK(need == pieces || need + 1 == pieces); /* at most one leading space dropped */
    FUZZ_CHECK(rc == (need ? NU_ERR_ARG : NU_OK));
    if (need == 0) return NULL;
    char *buf = malloc(need);
    if (!buf) return NULL;
    size_t got = 0;
    if (need > 1) { /* one byte short: refused, with the same length and a prefix written */
        rc = nu_tokenizer_decode(t, ids, n, buf, need - 1, &got, &err);
        FUZZ_CHECK(rc == NU_ERR_ARG && got == need);
    }
    rc = nu_tokenizer_decode(t, ids, n, buf, need, &got, &err);
    FUZZ_CHECK(rc == NU_OK && got == need);
    *len = need;
    return buf;
}

/* Every token's piece and display text; the display text is valid UTF-8. */
static void fuzz_token_texts(const NuTokenizer *t, int32_t limit) {
    int32_t n = nu_tokenizer_vocab_size(t);
    if (n > limit) n = limit;
    NuError err;
    nu_clear(&err);
    for (int32_t id = -1; id <= n; id++) {
        const char *p;
        size_t len;
        int valid = id >= 0 && id < nu_tokenizer_vocab_size(t);
        NuCode rc = nu_tokenizer_piece(t, id, &p, &len, &err);
        FUZZ_CHECK_ERROR(rc, err);
        FUZZ_CHECK((rc == NU_OK) == valid);
        if (rc == NU_OK) fuzz_touch(p, len);
        rc = nu_tokenizer_token_text(t, id, &p, &len, &err);
        FUZZ_CHECK_ERROR(rc, err);
        FUZZ_CHECK((rc == NU_OK) == valid);
        if (rc == NU_OK) FUZZ_CHECK(nu_utf8_invalid_at((const uint8_t *)p, len) == len);
    }
}

/* Encodes text (and its longest valid UTF-8 prefix), decodes the ids back, and when
 * round_trip is set checks the decoded text is the text. */
static void fuzz_round_trip(const NuTokenizer *t, const uint8_t *text, size_t len, int round_trip) {
    size_t valid = nu_utf8_invalid_at(text, len), n = 0, out_len = 0;
    int32_t *ids;
    if (valid < len) { /* refused whole */
        FUZZ_CHECK(!fuzz_encode(t, text, len, 0, &ids, &n) && ids == NULL);
    }
    int encoded = fuzz_encode(t, text, valid, 0, &ids, &n);
    if (round_trip) FUZZ_CHECK(encoded);
    char *out = fuzz_decode(t, ids, n, &out_len);
    if (round_trip) FUZZ_CHECK(out_len == valid && (valid == 0 || memcmp(out, text, valid) == 0));
    free(out);
    if (encoded && nu_tokenizer_bos(t) >= 0) { /* with BOS: one more id, the same text */
        size_t n_bos = 0, bos_len = 0;
        int32_t *with_bos;
        FUZZ_CHECK(fuzz_encode(t, text, valid, 1, &with_bos, &n_bos) && n_bos == n + 1);
        char *again = fuzz_decode(t, with_bos, n_bos, &bos_len);
        if (round_trip) FUZZ_CHECK(bos_len == valid);
        free(again);
        free(with_bos);
    }
    free(ids);
}

/* With special parsing: for BPE (which adds no spaces) without LSTRIP / RSTRIP tokens (which
 * drop spaces), each control or unknown token stands for its own text and every other token
 * for its piece, so they spell the text again. */
static void fuzz_special(const NuTokenizer *t, const uint8_t *text, size_t len) {
    if (nu_utf8_invalid_at(text, len) < len) return;
    int32_t *ids;
    size_t n = 0;
    if (!fuzz_encode(t, text, len, NU_ENCODE_SPECIAL, &ids, &n)) return;
    int strips = 0;
    for (int32_t i = 0; i < t->n_special; i++) strips |= t->strip[t->special[i]];
    if (t->kind == TOK_BPE && !strips) {
        size_t at = 0;
        int same = 1;
        for (size_t i = 0; same && i < n; i++) {
            size_t plen;
            const uint8_t *p;
            uint8_t type = t->types[ids[i]];
            if (type == TOK_CONTROL || type == TOK_UNKNOWN) {
                p = tok_text(t, ids[i], &plen);
            } else {
                p = t->piece.data + t->piece_off[ids[i]];
                plen = t->piece_off[ids[i] + 1] - t->piece_off[ids[i]];
            }
            same = plen <= len - at && memcmp(text + at, p, plen) == 0;
            at += plen;
        }
        FUZZ_CHECK(same && at == len);
    }
    free(ids);
}

/* ---- differential checks: the heap-based encoders against plain quadratic ones ---- */

/* SPM the slow way: escape spaces, one symbol per character, then repeatedly merge the
 * adjacent pair whose joined text is the highest-scoring token (leftmost on ties); a
 * symbol that is no token becomes its bytes' tokens (or <unk>). Returns the id count, or
 * -1 when the ids do not fit in cap. */
static long fuzz_spm_slow(const NuTokenizer *t, const uint8_t *text, size_t len, int32_t *ids,
                          size_t cap) {
    size_t m = t->space_marker_len, n = 0, n_sym = 0;
    uint8_t *e = malloc(len * m + m);
    size_t *start = malloc((len * m + m) * sizeof *start), *slen = malloc((len * m + m) * sizeof *slen);
    long out = 0;
    if (!e || !start || !slen) goto done;
    if (t->add_space_prefix) memcpy(e, t->space_marker, m), n = m;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(e + n, t->space_marker, m), n += m;
        else e[n++] = text[i];
    }
    for (size_t i = 0; i < n; n_sym++) {
        uint32_t cp;
        int c = nu_utf8_decode(e + i, n - i, &cp);
        start[n_sym] = i, slen[n_sym] = (size_t)c;
        i += (size_t)c;
    }
    for (;;) {
        size_t best = n_sym;
        float best_score = 0;
        for (size_t i = 0; i + 1 < n_sym; i++) {
            int32_t id = tok_lookup(t, e + start[i], slen[i] + slen[i + 1]);
            if (id >= 0 && (best == n_sym || t->scores[id] > best_score)) best = i, best_score = t->scores[id];
        }
        if (best == n_sym) break;
        slen[best] += slen[best + 1];
        memmove(start + best + 1, start + best + 2, (n_sym - best - 2) * sizeof *start);
        memmove(slen + best + 1, slen + best + 2, (n_sym - best - 2) * sizeof *slen);
        n_sym--;
    }
    for (size_t i = 0; i < n_sym && out >= 0; i++) {
        int32_t id = tok_lookup(t, e + start[i], slen[i]);
        for (size_t b = 0; b < (id >= 0 ? 1 : slen[i]); b++) {
            if ((size_t)out == cap) {
                out = -1;
                break;
            }
            ids[out++] = id >= 0 ? id : t->byte_token[e[start[i] + b]] >= 0 ? t->byte_token[e[start[i] + b]] : t->unk;
        }
    }
done:
    free(e);
    free(start);
    free(slen);
    return out;
}

/* BPE of one pre-tokenizer word the slow way: byte tokens, then repeatedly the adjacent
 * pair with the lowest merge rank (leftmost on ties), ranks found by a linear scan. */
static size_t fuzz_bpe_slow_word(const NuTokenizer *t, const uint8_t *w, size_t n, int32_t *ids) {
    for (size_t i = 0; i < n; i++) ids[i] = t->byte_token[w[i]];
    for (;;) {
        size_t best = n;
        int32_t best_rank = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            uint64_t key = (uint64_t)(uint32_t)ids[i] << 32 | (uint32_t)ids[i + 1];
            int32_t rank = 0;
            while (rank < t->n_merges && t->merge_pair[rank] != key) rank++;
            if (rank < t->n_merges && (best == n || rank < best_rank)) best = i, best_rank = rank;
        }
        if (best == n) return n;
        ids[best] = t->merge_result[best_rank];
        memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
        n--;
    }
}

/* Compares the encoder with the slow one on short texts: any SPM text, and for BPE texts
 * that are one pre-tokenizer word (an optional space, then ASCII letters). */
static void fuzz_differential(const NuTokenizer *t, const uint8_t *text, size_t len) {
    if (len == 0 || len > 128 || nu_utf8_invalid_at(text, len) < len) return;
    int32_t fast[1024], slow[1024];
    size_t n_fast = 0;
    NuError err;
    if (nu_tokenizer_encode(t, (const char *)text, len, 0, fast, 1024, &n_fast, &err) != NU_OK) return;
    long n_slow;
    if (t->kind == TOK_SPM) {
        n_slow = fuzz_spm_slow(t, text, len, slow, 1024);
    } else {
        for (size_t i = text[0] == ' '; i < len; i++)
            if (!((text[i] | 0x20) >= 'a' && (text[i] | 0x20) <= 'z')) return;
        if (len == 1 && text[0] == ' ') return;
        int32_t whole = -1;
        if (t->ignore_merges) { /* the word's byte-level spelling: ASCII letters, Ġ for ' ' */
            char spelled[260];
            size_t k = 0;
            for (size_t i = 0; i < len; i++) {
                if (text[i] == ' ') spelled[k++] = (char)0xC4, spelled[k++] = (char)0xA0;
                else spelled[k++] = (char)text[i];
            }
            whole = tok_lookup(t, (const uint8_t *)spelled, k);
        }
        if (whole >= 0) slow[0] = whole, n_slow = 1;
        else n_slow = (long)fuzz_bpe_slow_word(t, text, len, slow);
    }
    FUZZ_CHECK(n_slow == (long)n_fast && memcmp(fast, slow, n_fast * sizeof *fast) == 0);
}

/* Decodes the bytes taken as int32 ids, as they are and folded into the vocabulary. */
static void fuzz_decode_bytes(const NuTokenizer *t, const uint8_t *data, size_t size) {
    size_t n = size / 4, len;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return;
    if (n) memcpy(ids, data, n * sizeof *ids);
    free(fuzz_decode(t, ids, n, &len));
    uint32_t vocab = (uint32_t)nu_tokenizer_vocab_size(t);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)((uint32_t)ids[i] % vocab);
    free(fuzz_decode(t, ids, n, &len));
    free(ids);
}

/* What a tokenizer loaded from fuzzed input must survive: fixed texts through encode and
 * decode, and every token's texts. */
static void fuzz_exercise_tokenizer(const NuTokenizer *t) {
    static const char *const texts[] = {
        "Hello world", " the  123 \xE6\x97\xA5\xE6\x9C\xAC \xC3\xA9's\n\n x", "<s>a</s><0x41>",
        "\xE2\x96\x81\xE2\x96\x81 \t1234567 it's 'll 'LL", "<|im_start|>x<|im_end|> <|im",
        ""};
    FUZZ_CHECK(nu_tokenizer_vocab_size(t) >= 1);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        fuzz_round_trip(t, (const uint8_t *)texts[i], strlen(texts[i]), 0);
        fuzz_special(t, (const uint8_t *)texts[i], strlen(texts[i]));
    }
    fuzz_token_texts(t, 4096);
}

/* The fixed vocabularies of the tokenizer target, built once. */
enum {
    FUZZ_SPM, FUZZ_BPE, FUZZ_STARCODER, FUZZ_LLAMA3, FUZZ_QWEN2, FUZZ_DEFAULT, FUZZ_LLAMA2C,
    FUZZ_N_VOCABS
};
static NuTokenizer *fuzz_vocabs[FUZZ_N_VOCABS];

static void fuzz_vocabs_free(void) {
    for (int i = 0; i < FUZZ_N_VOCABS; i++) {
        nu_tokenizer_free(fuzz_vocabs[i]);
        fuzz_vocabs[i] = NULL;
    }
}

static NuTokenizer *fuzz_vocab_from_gguf(int which) {
    GgufWriter *w = gguf_writer_new();
    if (!w) return NULL;
    if (which == FUZZ_SPM) fuzz_vocab_spm(w);
    else
        fuzz_vocab_bpe(w, which == FUZZ_STARCODER ? "starcoder"
                          : which == FUZZ_LLAMA3  ? "llama-bpe"
                          : which == FUZZ_QWEN2   ? "qwen2"
                          : which == FUZZ_DEFAULT ? "default"
                                                  : "gpt-2");
    uint8_t *buf = NULL;
    size_t size;
    NuError err;
    GgufFile *g = NULL;
    NuTokenizer *t = NULL;
    if (gguf_writer_finish(w, &buf, &size, &err) == NU_OK && gguf_open(buf, size, &g, &err) == NU_OK &&
        nu_tokenizer_from_gguf(g, &t, &err) != NU_OK)
        fprintf(stderr, "fuzz vocabulary %d: %s\n", which, err.message);
    gguf_close(g);
    free(buf);
    gguf_writer_free(w);
    return t;
}

/* 1 when all the vocabularies are ready. */
static int fuzz_vocabs_init(void) {
    if (fuzz_vocabs[FUZZ_SPM]) return 1;
    for (int i = FUZZ_SPM; i < FUZZ_LLAMA2C; i++) fuzz_vocabs[i] = fuzz_vocab_from_gguf(i);
    size_t size;
    int n_tokens;
    uint8_t *bin = fuzz_vocab_llama2c(&size, &n_tokens);
    NuError err;
    if (bin && nu_tokenizer_from_llama2c(bin, size, n_tokens, &fuzz_vocabs[FUZZ_LLAMA2C], &err))
        fprintf(stderr, "fuzz vocabulary llama2c: %s\n", err.message);
    free(bin);
    atexit(fuzz_vocabs_free);
    for (int i = 0; i < FUZZ_N_VOCABS; i++) FUZZ_CHECK(fuzz_vocabs[i] != NULL);
    return fuzz_failures == 0;
}

/* Target: encode arbitrary bytes (special tokens as text and parsed) and decode them as ids
 * with each fixed vocabulary. Every vocabulary has all byte tokens, so valid text must come
 * back unchanged; SPM from GGUF turns the space marker U+2581 in the text into a space, so it
 * is exempt then. */
static int fuzz_tokenizer(const uint8_t *data, size_t size) {
    if (!fuzz_vocabs_init()) return 0;
    int has_marker = 0;
    for (size_t i = 0; i + 3 <= size && !has_marker; i++)
        has_marker = memcmp(data + i, "\xE2\x96\x81", 3) == 0;
    for (int i = 0; i < FUZZ_N_VOCABS; i++) {
        fuzz_round_trip(fuzz_vocabs[i], data, size, i != FUZZ_SPM || !has_marker);
        fuzz_special(fuzz_vocabs[i], data, size);
        fuzz_differential(fuzz_vocabs[i], data, size);
        fuzz_decode_bytes(fuzz_vocabs[i], data, size);
    }
    return 0;
}

/* Target: llama2.c's tokenizer.bin. The first four bytes give the token count (the file
 * does not store it), the rest is the file. */
static int fuzz_vocab_bin(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    int32_t n_tokens;
    memcpy(&n_tokens, data, 4);
    data += 4, size -= 4;
    /* A private copy, freed before the tokenizer is used: it must not point into the file. */
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return 0;
    if (size) memcpy(file, data, size);
    NuLlama2cVocab v;
    memset(&v, 0xA5, sizeof v); /* the parser must empty it even when it fails */
    NuError err;
    nu_clear(&err);
    NuCode parsed = nu_llama2c_vocab_parse(file, size, n_tokens, &v, &err);
    FUZZ_CHECK_ERROR(parsed, err);
    if (parsed == NU_OK) {
        FUZZ_CHECK(v.n_tokens == n_tokens && v.max_token_length >= 0);
        for (int i = 0; i < v.n_tokens; i++) {
            FUZZ_CHECK(isfinite(v.scores[i]) && v.lengths[i] <= (uint32_t)v.max_token_length);
            FUZZ_CHECK(fuzz_inside(file + v.offsets[i], v.lengths[i], file, size));
        }
    }
    nu_llama2c_vocab_free(&v);
    NuTokenizer *t = NULL;
    NuCode rc = nu_tokenizer_from_llama2c(file, size, n_tokens, &t, &err);
    FUZZ_CHECK_ERROR(rc, err);
    free(file);
    if (rc == NU_OK) {
        FUZZ_CHECK(parsed == NU_OK && nu_tokenizer_vocab_size(t) == n_tokens);
        fuzz_exercise_tokenizer(t);
        nu_tokenizer_free(t);
    }
    return 0;
}

/* ==== models ============================================================================ */

static int fuzz_tensor_ok(const NuTensor *t, const uint8_t *data, size_t size) {
    if (!t->data || t->rows < 1 || t->cols < 1) return 0;
    size_t row = nu_row_bytes(t->type, t->cols);
    if (row == 0 || (uint64_t)t->rows > (uint64_t)size / row) return 0;
    if (!fuzz_inside(t->data, (uint64_t)t->rows * row, data, size)) return 0;
    fuzz_touch(t->data, (size_t)t->rows * row);
    return 1;
}

/* Loaded weights: shapes the forward pass accepts, every tensor inside the file. */
static void fuzz_check_weights(const NuConfig *c, const NuWeights *w, const uint8_t *data, size_t size) {
    NuError err;
    FUZZ_CHECK(nu_config_check(c, &err) == NU_OK);
    FUZZ_CHECK(nu_weights_check(c, w, &err) == NU_OK);
    FUZZ_CHECK(fuzz_tensor_ok(&w->token_embd, data, size));
    FUZZ_CHECK(fuzz_tensor_ok(&w->output_norm, data, size));
    FUZZ_CHECK(fuzz_tensor_ok(&w->output, data, size));
    FUZZ_CHECK(w->layers != NULL);
    if (w->rope_freqs.data) FUZZ_CHECK(fuzz_tensor_ok(&w->rope_freqs, data, size));
    for (int l = 0; w->layers && l < c->n_layers; l++) {
        const NuLayer *L = &w->layers[l];
        const NuTensor *ts[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo,
                                &L->ffn_norm, &L->ffn_gate, &L->ffn_down, &L->ffn_up};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) FUZZ_CHECK(fuzz_tensor_ok(ts[i], data, size));
        /* what the architecture has: the optional biases where present, the extra norms
         * wherever the config asks for them */
        const NuTensor *opt[] = {&L->bq, &L->bk, &L->bv, &L->q_norm, &L->k_norm, &L->post_attn_norm,
                                 &L->post_ffn_norm};
        for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
            if (opt[i]->data) FUZZ_CHECK(fuzz_tensor_ok(opt[i], data, size));
        FUZZ_CHECK(!c->qk_norm || (L->q_norm.data && L->k_norm.data));
        FUZZ_CHECK(!c->post_norms || (L->post_attn_norm.data && L->post_ffn_norm.data));
    }
}

/* Runs two positions when the model is small (run state under 16 MiB, under 4M
 * multiply-adds per token), and checks the refusals around them. */
static void fuzz_run_model(const NuConfig *c, const NuWeights *w, unsigned token_seed) {
    double dim = c->dim, hidden = c->hidden_dim, layers = c->n_layers, seq = c->seq_len;
    double kv = (double)c->head_dim * c->n_kv_heads, q = (double)c->head_dim * c->n_heads, vocab = c->vocab_size;
    double state = 4 * (2 * layers * seq * kv + c->n_heads * seq + 3 * dim + 2 * q + 2 * hidden + vocab);
    double work = layers * (2 * q * dim + 2 * kv * dim + 3 * dim * hidden + c->n_heads * seq) + vocab * dim;
    if (state > 16.0 * (1 << 20) || work > 4.0 * (1 << 20)) return;
    NuRunState *s = NULL;
    NuError err;
    nu_clear(&err);
    NuCode rc = nu_runstate_new(c, &s, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK(rc == NU_OK); /* the loader accepted this config */
    if (rc != NU_OK) return;
    int token = (int)(token_seed % (unsigned)c->vocab_size);
    for (int pos = 0; pos < 2 && pos < c->seq_len; pos++) {
        rc = nu_forward(c, w, s, token, pos, &err);
        FUZZ_CHECK(rc == NU_OK);
        fuzz_touch(nu_runstate_logits(s), (size_t)c->vocab_size * sizeof(float));
        token = (token + 1) % c->vocab_size;
    }
    FUZZ_CHECK(nu_forward(c, w, s, -1, 0, &err) == NU_ERR_ARG);
    FUZZ_CHECK(nu_forward(c, w, s, c->vocab_size, 0, &err) == NU_ERR_ARG);
    FUZZ_CHECK(nu_forward(c, w, s, 0, -1, &err) == NU_ERR_ARG);
    FUZZ_CHECK(nu_forward(c, w, s, 0, c->seq_len, &err) == NU_ERR_STATE);
    nu_runstate_free(s);
}

/* After either loader: an error with its message and nothing left allocated, or weights that
 * check out and run. Frees the weights. */
static void fuzz_check_load(NuCode rc, const NuError *err, const NuConfig *c, NuWeights *w,
                            const uint8_t *file, size_t size) {
    FUZZ_CHECK_ERROR(rc, *err);
    if (rc == NU_OK) {
        fuzz_check_weights(c, w, file, size);
        fuzz_run_model(c, w, size ? file[size - 1] : 0);
    } else {
        FUZZ_CHECK(w->layers == NULL);
    }
    nu_weights_free(w);
}

/* Target: a GGUF file through the weight loader (and the model when small) and the
 * tokenizer loader. The file is a private copy, freed before the tokenizer is used. */
static int fuzz_weights(const uint8_t *data, size_t size) {
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return 0;
    if (size) memcpy(file, data, size);
    GgufFile *g = NULL;
    NuError err;
    nu_clear(&err);
    if (gguf_open(file, size, &g, &err) != NU_OK) {
        free(file);
        return 0;
    }
    NuConfig c;
    NuWeights w;
    memset(&w, 0, sizeof w);
    NuCode rc = nu_load_gguf_weights(g, &c, &w, &err);
    fuzz_check_load(rc, &err, &c, &w, file, size);
    NuTokenizer *t = NULL;
    rc = nu_tokenizer_from_gguf(g, &t, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK((rc == NU_OK) == (t != NULL));
    gguf_close(g);
    free(file);
    if (t) {
        fuzz_exercise_tokenizer(t);
        nu_tokenizer_free(t);
    }
    return 0;
}

/* Target: a llama2.c checkpoint (copied to a malloc'd, so aligned, buffer). */
static int fuzz_llama2c(const uint8_t *data, size_t size) {
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return 0;
    if (size) memcpy(file, data, size);
    NuConfig c;
    NuWeights w;
    memset(&w, 0, sizeof w);
    NuError err;
    nu_clear(&err);
    NuCode rc = nu_llama2c_load(file, size, &c, &w, &err);
    fuzz_check_load(rc, &err, &c, &w, file, size);
    free(file);
    return 0;
}

/* ==== sampler ============================================================================ */

/* Reads the input front to back; past the end every read gives zeros. */
typedef struct {
    const uint8_t *p;
    size_t n;
} FuzzIn;

static void fuzz_take(FuzzIn *in, void *out, size_t n) {
    size_t k = n < in->n ? n : in->n;
    memset(out, 0, n);
    if (k) memcpy(out, in->p, k);
    in->p += k, in->n -= k;
}

static uint8_t fuzz_u8(FuzzIn *in) {
    uint8_t v;
    fuzz_take(in, &v, 1);
    return v;
}

/* Parameters: two flag bytes choose, per field, raw bytes (any value, mostly invalid) or a
 * byte mapped into the valid range (so the fuzzer also reaches the filters). */
static void fuzz_sampler_params(FuzzIn *in, NuSamplerParams *p) {
    unsigned raw = fuzz_u8(in) | (unsigned)fuzz_u8(in) << 8;
    float f;
    double d;
    int32_t i;
#define FIELD(bit, field, type_var, sane)                                                     \
    do {                                                                                       \
        if (raw & (1u << (bit))) fuzz_take(in, &type_var, sizeof type_var), p->field = type_var; \
        else p->field = (sane);                                                                \
    } while (0)
    FIELD(0, temperature, f, fuzz_u8(in) / 64.0f);
    FIELD(1, top_k, i, fuzz_u8(in) % 40);
    FIELD(2, top_p, d, fuzz_u8(in) / 255.0);
    FIELD(3, min_p, d, fuzz_u8(in) % 3 == 0 ? 0.0 : fuzz_u8(in) / 510.0);
    FIELD(4, min_keep, i, fuzz_u8(in) % 5);
    FIELD(5, top_n, i, fuzz_u8(in) % 80);
    FIELD(6, penalty_last_n, i, fuzz_u8(in) % 16);
    FIELD(7, repeat_penalty, f, 0.5f + fuzz_u8(in) / 128.0f);
    FIELD(8, frequency_penalty, f, (int8_t)fuzz_u8(in) / 64.0f);
    FIELD(9, presence_penalty, f, (int8_t)fuzz_u8(in) / 64.0f);
#undef FIELD
    /* Valid but large windows only cost time: fold them down. */
    if (p->penalty_last_n > (1 << 16) && p->penalty_last_n <= NU_MAX_VOCAB) p->penalty_last_n %= 1 << 16;
}

/* The report's promises for logits[0..n), given the parameters in force. */
static void fuzz_check_report(const NuReport *r, int64_t n, const NuSamplerParams *p, int drew,
                              const float *logits, int plain) {
    int greedy = !(p->temperature > 0.0f);
    int64_t size = r->nucleus_size, count = r->count;
    FUZZ_CHECK(r->n == n);
    FUZZ_CHECK(size >= 1 && size <= count && count <= n);
    FUZZ_CHECK(count >= (p->top_n < n ? p->top_n : n));
    if (!(size >= 1 && size <= count && count <= n)) return;
    uint8_t *seen = calloc((size_t)n, 1);
    if (!seen) return;
    double cum = 0, mass = 0;
    for (int64_t j = 0; j < count; j++) {
        int32_t id = r->ids[j];
        FUZZ_CHECK(id >= 0 && id < n && !seen[id]);
        if (id >= 0 && id < n) seen[id] = 1;
        float pr = r->probs[j];
        FUZZ_CHECK(pr >= 0.0f && pr <= 1.0f);
        if (j > 0 && !greedy)
            FUZZ_CHECK(pr < r->probs[j - 1] || (pr == r->probs[j - 1] && id > r->ids[j - 1]));
        if (greedy) FUZZ_CHECK(pr == (j == 0 ? 1.0f : 0.0f));
        if (j < size) FUZZ_CHECK(pr > 0.0f);
        cum += pr;
        if (j < size) mass += pr;
        FUZZ_CHECK(r->cumulative[j] == cum); /* nondecreasing: a running sum of probs >= 0 */
    }
    free(seen);
    FUZZ_CHECK(r->nucleus_mass == mass && mass > 0 && mass <= 1.0 + 1e-4);
    FUZZ_CHECK(isfinite(r->entropy) && r->entropy >= 0 && r->entropy <= log((double)n) + 1e-3);
    if (greedy && plain) { /* without bias or penalties: the first largest logit */
        int64_t best = 0;
        for (int64_t i = 1; i < n; i++)
            if (logits[i] > logits[best]) best = i;
        FUZZ_CHECK(r->ids[0] == best);
    }
    if (!greedy) {
        int k_on = p->top_k > 0 && p->top_k < n;
        int32_t keep = p->min_keep > 1 ? p->min_keep : 1;
        if (k_on) FUZZ_CHECK(size <= (p->top_k > p->min_keep ? p->top_k : p->min_keep));
        if (p->top_p <= 0.0) FUZZ_CHECK(size <= keep);
        if (!k_on && p->top_p > 0.0 && p->top_p < 1.0 && p->min_keep <= 1 && size > 1)
            FUZZ_CHECK(r->cumulative[size - 2] < p->top_p - 1e-6); /* the smallest such prefix */
        if (p->min_p > 0.0 && size > p->min_keep)
            FUZZ_CHECK((double)r->probs[size - 1] >= p->min_p * r->probs[0]);
    }
    if (!drew) {
        FUZZ_CHECK(r->token == -1 && r->rank == -1 && isnan(r->prob) && isnan(r->coin));
        return;
    }
    FUZZ_CHECK(r->rank >= 0 && r->rank < size);
    if (!(r->rank >= 0 && r->rank < size)) return;
    FUZZ_CHECK(r->token == r->ids[r->rank] && r->prob == r->probs[r->rank]);
    if (greedy) {
        FUZZ_CHECK(r->rank == 0 && isnan(r->coin));
    } else { /* the first kept token whose running sum exceeds coin * mass */
        double target = r->coin * r->nucleus_mass;
        FUZZ_CHECK(r->coin >= 0.0 && r->coin < 1.0);
        FUZZ_CHECK(r->rank == 0 || r->cumulative[r->rank - 1] <= target);
        FUZZ_CHECK(r->rank == size - 1 || r->cumulative[r->rank] > target);
    }
}

static int fuzz_same_report(const NuReport *a, const NuReport *b) {
    return a->n == b->n && a->nucleus_size == b->nucleus_size && a->count == b->count &&
           a->nucleus_mass == b->nucleus_mass &&
           memcmp(a->ids, b->ids, (size_t)a->count * sizeof *a->ids) == 0 &&
           memcmp(a->probs, b->probs, (size_t)a->count * sizeof *a->probs) == 0 &&
           memcmp(a->cumulative, b->cumulative, (size_t)a->count * sizeof *a->cumulative) == 0;
}

/* A copy of a report's arrays, to compare with a later call. */
typedef struct {
    NuReport r;
    int32_t *ids;
    float *probs;
    double *cumulative;
} FuzzReportCopy;

static int fuzz_copy_report(FuzzReportCopy *c, const NuReport *r) {
    size_t n = (size_t)(r->count > 0 ? r->count : 1);
    c->r = *r;
    c->ids = malloc(n * sizeof *c->ids);
    c->probs = malloc(n * sizeof *c->probs);
    c->cumulative = malloc(n * sizeof *c->cumulative);
    if (!c->ids || !c->probs || !c->cumulative) return 0;
    memcpy(c->ids, r->ids, (size_t)r->count * sizeof *c->ids);
    memcpy(c->probs, r->probs, (size_t)r->count * sizeof *c->probs);
    memcpy(c->cumulative, r->cumulative, (size_t)r->count * sizeof *c->cumulative);
    c->r.ids = c->ids, c->r.probs = c->probs, c->r.cumulative = c->cumulative;
    return 1;
}

/* Target: the sampler. Input: parameters (see fuzz_sampler_params), a seed, up to 7 logit
 * biases and 15 history tokens, a mode byte, then the logits: raw float32 bits (mode even)
 * or one byte each as a small float (mode odd, which makes ties common). */
static int fuzz_sampler(const uint8_t *data, size_t size) {
    FuzzIn in = {data, size};
    NuSamplerParams p, defaults;
    nu_sampler_default_params(&defaults);
    p = defaults;
    fuzz_sampler_params(&in, &p);
    uint64_t seed;
    fuzz_take(&in, &seed, sizeof seed);
    int32_t bias_ids[8];
    float bias[8];
    int32_t n_bias = fuzz_u8(&in) % 8;
    for (int32_t i = 0; i < n_bias; i++) {
        uint16_t id;
        fuzz_take(&in, &id, 2);
        bias_ids[i] = id;
        fuzz_take(&in, &bias[i], 4);
    }
    int32_t history[16];
    int32_t n_history = fuzz_u8(&in) % 16;
    for (int32_t i = 0; i < n_history; i++) {
        uint16_t id;
        fuzz_take(&in, &id, 2);
        history[i] = id;
    }
    int byte_logits = fuzz_u8(&in) & 1;
    int64_t n = byte_logits ? (int64_t)in.n : (int64_t)(in.n / 4);
    float *logits = malloc((size_t)(n > 0 ? n : 1) * sizeof *logits);
    if (!logits) return 0;
    int finite = 1, bad = 0; /* -Inf is allowed (a banned token), NaN and +Inf are not */
    for (int64_t i = 0; i < n; i++) {
        if (byte_logits) logits[i] = (int8_t)in.p[i] / 8.0f;
        else memcpy(&logits[i], in.p + 4 * i, 4);
        finite &= isfinite(logits[i]) != 0;
        bad |= isnan(logits[i]) || logits[i] == INFINITY;
    }

    NuSampler *s = NULL;
    NuError err;
    nu_clear(&err);
    if (nu_sampler_new(&s, &err) != NU_OK) {
        free(logits);
        return 0;
    }
    NuCode rc = nu_sampler_set_params(s, &p, &err);
    FUZZ_CHECK_ERROR(rc, err);
    FUZZ_CHECK(rc == NU_OK || rc == NU_ERR_ARG || rc == NU_ERR_NOMEM);
    if (rc != NU_OK) { /* the defaults stay in force */
        FUZZ_CHECK(memcmp(nu_sampler_params(s), &defaults, sizeof defaults) == 0);
        p = defaults;
    }
    rc = nu_sampler_set_bias(s, bias_ids, bias, n_bias, &err);
    FUZZ_CHECK_ERROR(rc, err);
    int biased = rc == NU_OK && n_bias > 0;
    for (int32_t i = 0; i < n_history; i++) nu_sampler_accept(s, history[i]);
    nu_sampler_seed(s, seed);
    int plain = !biased && (n_history == 0 || p.penalty_last_n == 0);

    rc = nu_sampler_run(s, logits, n, 0, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (n < 1 || (bad && !biased)) FUZZ_CHECK(rc == NU_ERR_LOGITS);
    if (n >= 1 && finite && plain) FUZZ_CHECK(rc == NU_OK);
    FUZZ_CHECK(nu_sampler_rng_state(s) == seed); /* inspecting draws no random number */
    FuzzReportCopy inspected = {0};
    if (rc == NU_OK) {
        fuzz_check_report(nu_sampler_report(s), n, &p, 0, logits, plain);
        if (fuzz_copy_report(&inspected, nu_sampler_report(s))) {
            NuCode rc2 = nu_sampler_run(s, logits, n, 1, &err);
            FUZZ_CHECK(rc2 == NU_OK);
            if (rc2 == NU_OK) {
                fuzz_check_report(nu_sampler_report(s), n, &p, 1, logits, plain);
                FUZZ_CHECK(fuzz_same_report(&inspected.r, nu_sampler_report(s)));
                /* Once more: the drawn token is now in the penalty history. */
                rc2 = nu_sampler_run(s, logits, n, 1, &err);
                FUZZ_CHECK_ERROR(rc2, err);
                if (rc2 == NU_OK)
                    fuzz_check_report(nu_sampler_report(s), n, &p, 1, logits, plain && p.penalty_last_n == 0);
            }
        }
    }
    free(inspected.ids);
    free(inspected.probs);
    free(inspected.cumulative);
    nu_sampler_free(s);
    free(logits);
    return 0;
}

/* ==== dispatch =========================================================================== */

typedef int (*FuzzTarget)(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    FuzzTarget run;
} FUZZ_TARGETS[] = {
    {"gguf", fuzz_gguf},           {"weights", fuzz_weights},     {"llama2c", fuzz_llama2c},
    {"tokenizer", fuzz_tokenizer}, {"vocab_bin", fuzz_vocab_bin}, {"sampler", fuzz_sampler},
};
#define FUZZ_N_TARGETS (sizeof FUZZ_TARGETS / sizeof FUZZ_TARGETS[0])

/* Index of the named target in FUZZ_TARGETS, or -1. */
static inline int fuzz_find(const char *name) {
    for (size_t i = 0; i < FUZZ_N_TARGETS; i++)
        if (strcmp(FUZZ_TARGETS[i].name, name) == 0) return (int)i;
    return -1;
}

/* Runs the named target on data; returns how many checks failed, or -1 for an unknown
 * name. */
static inline int fuzz_run(const char *name, const uint8_t *data, size_t size) {
    int i = fuzz_find(name);
    if (i < 0) return -1;
    int before = fuzz_failures;
    FUZZ_TARGETS[i].run(data, size);
    return fuzz_failures - before;
}

#endif
