/* The tokenizer handle: building it from GGUF metadata or llama2.c's tokenizer.bin, the
 * token text index, decoding, and the public entry points. The encoding algorithms are in
 * tok_spm.c and tok_bpe.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama2c.h"
#include "tok_internal.h"
#include "unicode.h"

/* Vocabularies are far smaller; the bound keeps every size computation in range. */
#define MAX_VOCAB (1 << 24)

/* --- small helpers -------------------------------------------------------------------- */

/* The buffer is allocated even by an empty append, so data + offset is never NULL + 0. */
int tok_buf_append(TokBuf *b, const void *src, size_t n) {
    if (n > SIZE_MAX - b->len) return 0;
    if (b->len + n > b->cap || !b->data) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2) return 0;
            cap *= 2;
        }
        uint8_t *p = realloc(b->data, cap);
        if (!p) return 0;
        b->data = p;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}

uint32_t tok_hash(const uint8_t *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

const uint8_t *tok_text(const NuTokenizer *t, int32_t id, size_t *len) {
    *len = t->text_off[id + 1] - t->text_off[id];
    return t->text.data + t->text_off[id];
}

int32_t tok_lookup(const NuTokenizer *t, const uint8_t *s, size_t n) {
    for (uint32_t i = tok_hash(s, n) & t->index.mask;; i = (i + 1) & t->index.mask) {
        uint32_t v = t->index.slots[i];
        if (v == 0) return -1;
        size_t len;
        const uint8_t *text = tok_text(t, (int32_t)(v - 1), &len);
        if (len == n && memcmp(text, s, n) == 0) return (int32_t)(v - 1);
    }
}

/* A table with at least twice as many slots as entries, so probes stay short. */
static int index_alloc(TokIndex *ix, uint64_t entries) {
    uint32_t size = 16;
    while (size < 2 * entries) size *= 2;
    ix->slots = calloc(size, sizeof *ix->slots);
    ix->mask = size - 1;
    return ix->slots != NULL;
}

/* Adds every token text; a text that occurs twice maps to its last id, as in llama.cpp. */
static void index_tokens(NuTokenizer *t) {
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t len;
        const uint8_t *s = tok_text(t, id, &len);
        uint32_t i = tok_hash(s, len) & t->index.mask;
        for (;; i = (i + 1) & t->index.mask) {
            uint32_t v = t->index.slots[i];
            if (v == 0) break;
            size_t other_len;
            const uint8_t *other = tok_text(t, (int32_t)(v - 1), &other_len);
            if (other_len == len && memcmp(other, s, len) == 0) break;
        }
        t->index.slots[i] = (uint32_t)id + 1;
    }
}

/* --- the merge heap ------------------------------------------------------------------- */

static int pair_before(const TokPair *a, const TokPair *b) {
    return a->prio < b->prio || (a->prio == b->prio && a->left < b->left);
}

int tok_heap_push(TokHeap *h, TokPair p) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof *h->items) return 0;
        TokPair *items = realloc(h->items, cap * sizeof *items);
        if (!items) return 0;
        h->items = items;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && pair_before(&p, &h->items[(i - 1) / 2])) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = p;
    return 1;
}

TokPair tok_heap_pop(TokHeap *h) {
    TokPair top = h->items[0], last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && pair_before(&h->items[c + 1], &h->items[c])) c++;
        if (!pair_before(&h->items[c], &last)) break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n) h->items[i] = last;
    return top;
}

/* --- building ------------------------------------------------------------------------- */

void nu_tokenizer_free(NuTokenizer *t) {
    if (!t) return;
    free(t->text.data);
    free(t->text_off);
    free(t->scores);
    free(t->types);
    free(t->index.slots);
    free(t->piece.data);
    free(t->display.data);
    free(t->piece_off);
    free(t->display_off);
    free(t->merges.slots);
    free(t->merge_pair);
    free(t->merge_result);
    free(t->eog);
    free(t->special);
    free(t->strip);
    free(t);
}

NuCode tok_create(TokKind kind, int32_t n_vocab, NuTokenizer **out, NuError *err) {
    *out = NULL;
    if (n_vocab < 1 || n_vocab > MAX_VOCAB)
        return nu_fail(err, NU_ERR_FORMAT, "vocabulary size %d is out of range (1..%d)",
                       (int)n_vocab, MAX_VOCAB);
    NuTokenizer *t = calloc(1, sizeof *t);
    if (!t) return nu_fail(err, NU_ERR_NOMEM, "out of memory for the tokenizer");
    size_t n = (size_t)n_vocab;
    t->kind = kind;
    t->n_vocab = n_vocab;
    t->text_off = calloc(n + 1, sizeof *t->text_off);
    t->piece_off = calloc(n + 1, sizeof *t->piece_off);
    t->display_off = calloc(n + 1, sizeof *t->display_off);
    t->scores = calloc(n, sizeof *t->scores);
    t->types = calloc(n, sizeof *t->types);
    /* Token texts, pieces and display forms may all be empty (a vocabulary of control
     * tokens): allocate the buffers anyway, so their offsets always apply to memory. */
    if (!t->text_off || !t->piece_off || !t->display_off || !t->scores || !t->types ||
        !index_alloc(&t->index, n) || !tok_buf_append(&t->text, "", 0) ||
        !tok_buf_append(&t->piece, "", 0) || !tok_buf_append(&t->display, "", 0)) {
        nu_tokenizer_free(t);
        return nu_fail(err, NU_ERR_NOMEM, "out of memory for a vocabulary of %d tokens",
                       (int)n_vocab);
    }
    t->bos = t->eos = t->unk = -1;
    t->space_marker = "\xE2\x96\x81";
    t->space_marker_len = 3;
    *out = t;
    return NU_OK;
}

NuCode tok_add(NuTokenizer *t, int32_t id, const char *text, size_t len, float score, int type,
               NuError *err) {
    if (isnan(score)) return nu_fail(err, NU_ERR_FORMAT, "token %d has a NaN score", (int)id);
    if (len > UINT32_MAX - t->text.len || !tok_buf_append(&t->text, text, len))
        return nu_fail(err, NU_ERR_NOMEM, "out of memory for the text of token %d", (int)id);
    t->text_off[id + 1] = (uint32_t)t->text.len;
    t->scores[id] = score;
    t->types[id] = (uint8_t)type;
    return NU_OK;
}

/* Appends s[0..n) as valid UTF-8: each byte that is not part of a valid sequence shows as
 * <0xNN>. */
static int append_display(TokBuf *b, const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int len = nu_utf8_decode(s + i, n - i, &cp);
        if (len > 0) {
            if (!tok_buf_append(b, s + i, (size_t)len)) return 0;
            i += (size_t)len;
        } else {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", s[i]);
            if (!tok_buf_append(b, hex, 6)) return 0;
            i++;
        }
    }
    return 1;
}

/* Control, unknown and unused tokens show their name; the rest what they decode to. */
static int add_display(NuTokenizer *t, int32_t id) {
    uint8_t type = t->types[id];
    size_t len;
    const uint8_t *s;
    if (type == TOK_CONTROL || type == TOK_UNKNOWN || type == TOK_UNUSED) {
        s = tok_text(t, id, &len);
    } else {
        s = t->piece.data + t->piece_off[id];
        len = t->piece_off[id + 1] - t->piece_off[id];
    }
    return append_display(&t->display, s, len);
}

NuCode tok_finish(NuTokenizer *t, NuError *err) {
    index_tokens(t);
    if (t->kind == TOK_SPM) spm_find_byte_tokens(t);
    else bpe_find_byte_tokens(t);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        int ok = t->kind == TOK_SPM ? spm_append_piece(t, id, &t->piece)
                                    : bpe_append_piece(t, id, &t->piece);
        if (!ok || t->piece.len > UINT32_MAX)
            return nu_fail(err, NU_ERR_NOMEM, "out of memory for the token pieces");
        t->piece_off[id + 1] = (uint32_t)t->piece.len;
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!add_display(t, id) || t->display.len > UINT32_MAX)
            return nu_fail(err, NU_ERR_NOMEM, "out of memory for the token display forms");
        t->display_off[id + 1] = (uint32_t)t->display.len;
    }
    return NU_OK;
}

/* --- special tokens and end of generation --------------------------------------------- */

static int text_is(const NuTokenizer *t, int32_t id, const char *lit) {
    size_t len;
    const uint8_t *s = tok_text(t, id, &len);
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static int text_in(const NuTokenizer *t, int32_t id, const char *const *list) {
    for (; *list; list++)
        if (text_is(t, id, *list)) return 1;
    return 0;
}

/* Texts llama.cpp treats as ending generation (its special_eog_ids, found by text because
 * converters do not record them all): end of turn / message / text, and FIM padding and
 * separators. */
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>", "[e~[",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>",
    "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>", NULL};

/* Fill-in-the-middle markers, which llama.cpp also makes control tokens whatever their type. */
static const char *const FIM_TEXTS[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "\xE2\x96\x81<PRE>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "\xE2\x96\x81<SUF>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "\xE2\x96\x81<MID>", NULL};

/* The eog list: eos, eot and eom (from the file's keys) and every token with an EOG text.
 * Tokens with those texts become control tokens, as in llama.cpp, so they decode to nothing
 * and are matched in the text only with special parsing on. */
static NuCode find_eog(NuTokenizer *t, int32_t eot, int32_t eom, NuError *err) {
    t->eog = malloc((size_t)t->n_vocab * sizeof *t->eog);
    if (!t->eog) return nu_fail(err, NU_ERR_NOMEM, "out of memory for the end-of-generation list");
    t->n_eog = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        int by_text = text_in(t, id, EOG_TEXTS);
        if (by_text || text_in(t, id, FIM_TEXTS)) t->types[id] = TOK_CONTROL;
        if (by_text || id == t->eos || id == eot || id == eom) t->eog[t->n_eog++] = id;
    }
    return NU_OK;
}

static int ascending_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The special-token list: control, user-defined and unknown tokens with a non-empty text,
 * longest first (llama.cpp sorts by length; equal lengths keep id order here). Sorted as
 * keys (UINT32_MAX - length, id). */
static NuCode find_special(NuTokenizer *t, NuError *err) {
    uint64_t *keys = malloc((size_t)t->n_vocab * sizeof *keys);
    t->special = malloc((size_t)t->n_vocab * sizeof *t->special);
    t->strip = calloc((size_t)t->n_vocab, 1);
    if (!keys || !t->special || !t->strip) {
        free(keys);
        return nu_fail(err, NU_ERR_NOMEM, "out of memory for the special-token list");
    }
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t type = t->types[id];
        uint32_t len = t->text_off[id + 1] - t->text_off[id];
        if ((type == TOK_CONTROL || type == TOK_USER || type == TOK_UNKNOWN) && len > 0)
            keys[n++] = ((uint64_t)(UINT32_MAX - len) << 32) | (uint32_t)id;
    }
    qsort(keys, n, sizeof *keys, ascending_u64);
    for (size_t i = 0; i < n; i++) t->special[i] = (int32_t)(uint32_t)keys[i];
    t->n_special = (int32_t)n;
    free(keys);
    return NU_OK;
}

/* llama.cpp gives Phi-3's special tokens RSTRIP (spaces after them are dropped), by the
 * model's name, except <unk>, <s> and <|endoftext|>. */
static int is_phi3(const GgufFile *g) {
    GgufStr name;
    if (gguf_find_key(g, "general.name") < 0 || gguf_get_str(g, "general.name", &name, NULL))
        return 0;
    char low[256];
    size_t n = name.len < sizeof low - 1 ? (size_t)name.len : sizeof low - 1;
    for (size_t i = 0; i < n; i++) {
        char c = name.ptr[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c;
    }
    low[n] = '\0';
    return strstr(low, "phi-3") || strstr(low, "phi3");
}

static void phi3_strip(NuTokenizer *t) {
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>", NULL};
    for (int32_t i = 0; i < t->n_special; i++)
        if (!text_in(t, t->special[i], keep)) t->strip[t->special[i]] = TOK_RSTRIP;
}

/* --- loading from GGUF ---------------------------------------------------------------- */

static int str_is(GgufStr s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* An optional special token id: absent keys keep *id; -1 / 0xFFFFFFFF mean "none". */
static NuCode read_special(const GgufFile *g, const char *key, int32_t n_vocab, int32_t *id,
                           NuError *err) {
    if (gguf_find_key(g, key) < 0) return NU_OK;
    int64_t v;
    NuCode rc = gguf_get_i64(g, key, &v, err);
    if (rc) return rc;
    if (v == -1 || v == (int64_t)UINT32_MAX) {
        *id = -1;
        return NU_OK;
    }
    if (v < 0 || v >= n_vocab)
        return nu_fail(err, NU_ERR_FORMAT, "%s is %lld but the vocabulary has %d tokens", key,
                       (long long)v, (int)n_vocab);
    *id = (int32_t)v;
    return NU_OK;
}

static NuCode read_flag(const GgufFile *g, const char *key, int *flag, NuError *err) {
    if (gguf_find_key(g, key) < 0) return NU_OK;
    return gguf_get_bool(g, key, flag, err);
}

/* An optional per-token array must have one element per token. */
static NuCode check_per_token(const GgufFile *g, const char *key, int32_t n_vocab, int *present,
                              NuError *err) {
    *present = gguf_find_key(g, key) >= 0;
    if (!*present) return NU_OK;
    GgufType type;
    uint64_t count;
    NuCode rc = gguf_get_arr(g, key, &type, &count, err);
    if (rc) return rc;
    if (count != (uint64_t)n_vocab)
        return nu_fail(err, NU_ERR_FORMAT, "%s has %llu entries but there are %d tokens", key,
                       (unsigned long long)count, (int)n_vocab);
    return NU_OK;
}

/* llama.cpp's names for the pre-tokenizers we have, and what each implies. */
typedef struct {
    const char *name;
    TokPre pre;
    int ignore_merges, add_bos;
} PreName;

static const PreName PRE_NAMES[] = {
    {"gpt-2", PRE_GPT2, 0, 0},      {"default", PRE_GPT2, 0, 0},  {"phi-2", PRE_GPT2, 0, 0},
    {"mpt", PRE_GPT2, 0, 0},        {"olmo", PRE_GPT2, 0, 0},     {"starcoder", PRE_STARCODER, 0, 0},
    {"smollm", PRE_STARCODER, 0, 0}, {"refact", PRE_STARCODER, 0, 0},
    {"codeshell", PRE_STARCODER, 0, 0}, {"llama3", PRE_LLAMA3, 1, 1},
    {"llama-v3", PRE_LLAMA3, 1, 1}, {"llama-bpe", PRE_LLAMA3, 1, 1}, {"falcon3", PRE_LLAMA3, 1, 1},
    {"pixtral", PRE_LLAMA3, 1, 1},  {"dbrx", PRE_LLAMA3, 0, 0},   {"smaug-bpe", PRE_LLAMA3, 0, 0},
    {"qwen2", PRE_QWEN2, 0, 0},     {"deepseek-r1-qwen", PRE_QWEN2, 0, 0},
    {"megrez", PRE_QWEN2, 0, 0},    {"stablelm2", PRE_QWEN2, 0, 0},
};

static NuCode gguf_kind(const GgufFile *g, NuTokenizer *t, NuError *err) {
    if (t->kind == TOK_SPM) { /* llama.cpp's defaults for SPM vocabularies without the keys */
        t->add_bos = t->add_space_prefix = 1;
        if (t->n_vocab > 2) t->unk = 0, t->bos = 1, t->eos = 2;
        return NU_OK;
    }
    t->pre = PRE_GPT2;
    if (gguf_find_key(g, "tokenizer.ggml.pre") < 0) return NU_OK;
    GgufStr pre;
    NuCode rc = gguf_get_str(g, "tokenizer.ggml.pre", &pre, err);
    if (rc) return rc;
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof PRE_NAMES[0]; i++) {
        if (!str_is(pre, PRE_NAMES[i].name)) continue;
        t->pre = PRE_NAMES[i].pre;
        t->ignore_merges = PRE_NAMES[i].ignore_merges;
        t->add_bos = PRE_NAMES[i].add_bos;
        return NU_OK;
    }
    return nu_fail(err, NU_ERR_UNSUPPORTED,
                   "pre-tokenizer '%.*s' is not supported (gpt-2, llama-bpe, qwen2, smollm, "
                   "starcoder and the names llama.cpp gives the same rules are)",
                   (int)(pre.len > 64 ? 64 : pre.len), pre.ptr);
}

static NuCode gguf_model(const GgufFile *g, TokKind *kind, NuError *err) {
    GgufStr model;
    NuCode rc = gguf_get_str(g, "tokenizer.ggml.model", &model, err);
    if (rc) return rc;
    if (str_is(model, "llama")) *kind = TOK_SPM;
    else if (str_is(model, "gpt2")) *kind = TOK_BPE;
    else
        return nu_fail(err, NU_ERR_UNSUPPORTED,
                       "tokenizer model '%.*s' is not supported (only llama and gpt2 are)",
                       (int)(model.len > 64 ? 64 : model.len), model.ptr);
    return NU_OK;
}

static NuCode gguf_tokens(NuTokenizer *t, const GgufFile *g, NuError *err) {
    int has_scores, has_types;
    NuCode rc = check_per_token(g, "tokenizer.ggml.scores", t->n_vocab, &has_scores, err);
    if (!rc) rc = check_per_token(g, "tokenizer.ggml.token_type", t->n_vocab, &has_types, err);
    for (int32_t id = 0; !rc && id < t->n_vocab; id++) {
        GgufStr s;
        float score = 0.0f;
        int64_t type = TOK_NORMAL;
        rc = gguf_get_arr_str(g, "tokenizer.ggml.tokens", (uint64_t)id, &s, err);
        if (!rc && has_scores) rc = gguf_get_arr_f32(g, "tokenizer.ggml.scores", (uint64_t)id, &score, err);
        if (!rc && has_types)
            rc = gguf_get_arr_i64(g, "tokenizer.ggml.token_type", (uint64_t)id, &type, err);
        if (!rc && (type < TOK_NORMAL || type > TOK_BYTE))
            rc = nu_fail(err, NU_ERR_FORMAT, "token %d has unknown type %lld", (int)id, (long long)type);
        if (!rc) rc = tok_add(t, id, s.ptr, (size_t)s.len, score, (int)type, err);
    }
    return rc;
}

static NuCode gguf_merges(NuTokenizer *t, const GgufFile *g, NuError *err) {
    GgufType type;
    uint64_t count;
    NuCode rc = gguf_get_arr(g, "tokenizer.ggml.merges", &type, &count, err);
    if (rc) return rc;
    if (type != GGUF_TYPE_STRING)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.ggml.merges holds %s, not strings",
                       gguf_type_name(type));
    rc = bpe_merges_init(t, count, err);
    for (uint64_t i = 0; !rc && i < count; i++) {
        GgufStr s;
        rc = gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s, err);
        if (!rc) rc = bpe_add_merge(t, (int32_t)i, s.ptr, (size_t)s.len, err);
    }
    return rc;
}

NuCode nu_tokenizer_from_gguf(const GgufFile *g, NuTokenizer **out, NuError *err) {
    if (!out) return nu_fail(err, NU_ERR_ARG, "out is NULL");
    *out = NULL;
    if (!g) return nu_fail(err, NU_ERR_ARG, "the GGUF file is NULL");
    TokKind kind = TOK_SPM;
    NuCode rc = gguf_model(g, &kind, err);
    if (rc) return rc;
    GgufType type;
    uint64_t count;
    rc = gguf_get_arr(g, "tokenizer.ggml.tokens", &type, &count, err);
    if (rc) return rc;
    if (type != GGUF_TYPE_STRING)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.ggml.tokens holds %s, not strings",
                       gguf_type_name(type));
    if (count > MAX_VOCAB)
        return nu_fail(err, NU_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries (at most %d)",
                       (unsigned long long)count, MAX_VOCAB);
    NuTokenizer *t;
    rc = tok_create(kind, (int32_t)count, &t, err);
    if (rc) return rc;
    int32_t eot = -1, eom = -1;
    rc = gguf_kind(g, t, err);
    if (!rc) rc = gguf_tokens(t, g, err);
    if (!rc) rc = read_special(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err);
    if (!rc) rc = read_special(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err);
    if (!rc) rc = read_special(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err);
    if (!rc) rc = read_special(g, "tokenizer.ggml.eot_token_id", t->n_vocab, &eot, err);
    if (!rc) rc = read_special(g, "tokenizer.ggml.eom_token_id", t->n_vocab, &eom, err);
    if (!rc) rc = read_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err);
    if (!rc) rc = read_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err);
    if (!rc && kind == TOK_SPM)
        rc = read_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err);
    if (!rc) rc = find_eog(t, eot, eom, err);
    if (!rc) rc = tok_finish(t, err);
    if (!rc) rc = find_special(t, err);
    if (!rc && is_phi3(g)) phi3_strip(t);
    if (!rc && kind == TOK_BPE) rc = gguf_merges(t, g, err);
    if (rc) {
        nu_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return NU_OK;
}

/* --- loading llama2.c's tokenizer.bin ------------------------------------------------- */

/* tokenizer.bin has no token types: llama2.c's export puts <unk>, BOS and EOS at 0..2 and
 * the byte tokens, spelled <0xNN>, after them. */
static int llama2c_type(int32_t id, const uint8_t *s, size_t len) {
    if (id == 0) return TOK_UNKNOWN;
    if (id <= 2) return TOK_CONTROL;
    if (len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>') return TOK_BYTE;
    return TOK_NORMAL;
}

NuCode nu_tokenizer_from_llama2c(const uint8_t *data, size_t size, int vocab_size,
                                 NuTokenizer **out, NuError *err) {
    if (!out) return nu_fail(err, NU_ERR_ARG, "out is NULL");
    *out = NULL;
    if (!data && size) return nu_fail(err, NU_ERR_ARG, "data is NULL but size is %zu", size);
    if (vocab_size > MAX_VOCAB)
        return nu_fail(err, NU_ERR_ARG, "vocabulary size %d is more than the %d supported",
                       vocab_size, MAX_VOCAB);
    NuLlama2cVocab v = {0};
    NuTokenizer *t = NULL;
    NuCode rc = nu_llama2c_vocab_parse(data, size, vocab_size, &v, err);
    if (!rc) rc = tok_create(TOK_SPM, vocab_size, &t, err);
    for (int32_t id = 0; !rc && id < vocab_size; id++) {
        const uint8_t *s = data + v.offsets[id];
        rc = tok_add(t, id, (const char *)s, v.lengths[id], v.scores[id],
                     llama2c_type(id, s, v.lengths[id]), err);
    }
    nu_llama2c_vocab_free(&v);
    if (!rc) {
        /* pieces are stored with '▁' already turned back into ' ' */
        t->space_marker = " ";
        t->space_marker_len = 1;
        t->add_bos = t->add_space_prefix = 1;
        t->unk = 0;
        t->bos = vocab_size > 1 ? 1 : -1;
        t->eos = vocab_size > 2 ? 2 : -1;
        rc = find_eog(t, -1, -1, err);
        if (!rc) rc = tok_finish(t, err);
        if (!rc) rc = find_special(t, err);
    }
    if (rc) {
        nu_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return NU_OK;
}

/* --- the public API ------------------------------------------------------------------- */

int nu_tokenizer_vocab_size(const NuTokenizer *t) { return t ? t->n_vocab : 0; }
int nu_tokenizer_bos(const NuTokenizer *t) { return t ? t->bos : -1; }
int nu_tokenizer_eos(const NuTokenizer *t) { return t ? t->eos : -1; }
int nu_tokenizer_wants_bos(const NuTokenizer *t) { return t ? t->add_bos : 0; }
int nu_tokenizer_wants_eos(const NuTokenizer *t) { return t ? t->add_eos : 0; }

size_t nu_tokenizer_eog(const NuTokenizer *t, const int32_t **ids) {
    *ids = t ? t->eog : NULL;
    return t ? (size_t)t->n_eog : 0;
}

int nu_tokenizer_is_eog(const NuTokenizer *t, int32_t id) {
    for (int32_t i = 0; t && i < t->n_eog; i++)
        if (t->eog[i] == id) return 1;
    return 0;
}

/* --- encoding ------------------------------------------------------------------------- */

/* A stretch of the text: raw bytes to encode (id -1) or a special token matched in it. */
typedef struct {
    size_t start, len;
    int32_t id;
} Fragment;

typedef struct {
    Fragment *items;
    size_t n, cap;
} Fragments;

static int frag_push(Fragments *f, size_t start, size_t len, int32_t id) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        Fragment *items = realloc(f->items, cap * sizeof *items);
        if (!items) return 0;
        f->items = items;
        f->cap = cap;
    }
    f->items[f->n++] = (Fragment){start, len, id};
    return 1;
}

/* C's isspace in the "C" locale, which llama.cpp uses for LSTRIP / RSTRIP. */
static int ascii_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static const uint8_t *find_bytes(const uint8_t *s, size_t n, const uint8_t *w, size_t wn) {
    while (n >= wn) {
        const uint8_t *p = memchr(s, w[0], n - wn + 1);
        if (!p) return NULL;
        if (memcmp(p, w, wn) == 0) return p;
        n -= (size_t)(p + 1 - s);
        s = p + 1;
    }
    return NULL;
}

/* Splits every raw fragment of in at each occurrence of special token id, into out. */
static int split_at(const NuTokenizer *t, const uint8_t *s, int32_t id, const Fragments *in,
                    Fragments *out) {
    size_t tl;
    const uint8_t *tt = tok_text(t, id, &tl);
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        Fragment f = in->items[i];
        if (f.id >= 0) {
            if (!frag_push(out, f.start, f.len, f.id)) return 0;
            continue;
        }
        size_t at = f.start, end = f.start + f.len;
        for (;;) {
            const uint8_t *m = find_bytes(s + at, end - at, tt, tl);
            if (!m) {
                if (end > at && !frag_push(out, at, end - at, -1)) return 0;
                break;
            }
            size_t match = (size_t)(m - s), left_end = match;
            if (t->strip[id] & TOK_LSTRIP)
                while (left_end > at && ascii_space(s[left_end - 1])) left_end--;
            if (left_end > at && !frag_push(out, at, left_end - at, -1)) return 0;
            if (!frag_push(out, match, tl, id)) return 0;
            at = match + tl;
            if (t->strip[id] & TOK_RSTRIP)
                while (at < end && ascii_space(s[at])) at++;
        }
    }
    return 1;
}

/* The text as fragments, the way llama.cpp's tokenizer_st_partition cuts it: each special
 * token in turn, longest first, is cut out of the raw fragments left by the ones before.
 * Without special, only user-defined tokens are (as in llama.cpp and Hugging Face). */
static NuCode partition(const NuTokenizer *t, const uint8_t *s, size_t len, int special,
                        Fragments *frags, NuError *err) {
    Fragments spare = {0};
    int ok = len == 0 || frag_push(frags, 0, len, -1);
    for (int32_t k = 0; ok && k < t->n_special && frags->n > 0; k++) {
        int32_t id = t->special[k];
        if (!special && t->types[id] != TOK_USER) continue;
        ok = split_at(t, s, id, frags, &spare);
        Fragments swap = *frags;
        *frags = spare;
        spare = swap;
    }
    free(spare.items);
    return ok ? NU_OK : nu_fail(err, NU_ERR_NOMEM, "out of memory splitting special tokens");
}

NuCode nu_tokenizer_encode(const NuTokenizer *t, const char *text, size_t len, int flags,
                           int32_t *ids, size_t cap, size_t *n_ids, NuError *err) {
    if (!n_ids) return nu_fail(err, NU_ERR_ARG, "n_ids is NULL");
    *n_ids = 0;
    if (!t) return nu_fail(err, NU_ERR_ARG, "the tokenizer is NULL");
    if (!text && len) return nu_fail(err, NU_ERR_ARG, "text is NULL but len is %zu", len);
    if (!ids && cap) return nu_fail(err, NU_ERR_ARG, "ids is NULL but cap is %zu", cap);
    if (flags & ~(NU_ENCODE_BOS | NU_ENCODE_SPECIAL | NU_ENCODE_EOS))
        return nu_fail(err, NU_ERR_ARG, "unknown encode flags 0x%X", (unsigned)flags);
    const uint8_t *s = (const uint8_t *)text;
    size_t bad = nu_utf8_invalid_at(s, len);
    if (bad < len)
        return nu_fail(err, NU_ERR_TEXT, "text is not valid UTF-8 at byte offset %zu (byte 0x%02X)",
                       bad, s[bad]);
    if ((flags & NU_ENCODE_BOS) && t->bos < 0)
        return nu_fail(err, NU_ERR_ARG, "BOS requested but the vocabulary has no BOS token");
    if ((flags & NU_ENCODE_EOS) && t->eos < 0)
        return nu_fail(err, NU_ERR_ARG, "EOS requested but the vocabulary has no EOS token");
    Fragments frags = {0};
    NuCode rc = partition(t, s, len, flags & NU_ENCODE_SPECIAL, &frags, err);
    TokOut out = {ids, cap, 0};
    if (flags & NU_ENCODE_BOS) tok_out_push(&out, t->bos);
    /* SPM adds its space in front of the text and of any text that follows a special token */
    int after_special = 1;
    for (size_t i = 0; !rc && i < frags.n; i++) {
        Fragment f = frags.items[i];
        if (f.id >= 0) {
            tok_out_push(&out, f.id);
            after_special = 1;
            continue;
        }
        rc = t->kind == TOK_SPM
                 ? spm_encode(t, s + f.start, f.len, t->add_space_prefix && after_special, &out, err)
                 : bpe_encode(t, s + f.start, f.len, &out, err);
        after_special = 0;
    }
    free(frags.items);
    if (rc) return rc;
    if (flags & NU_ENCODE_EOS) tok_out_push(&out, t->eos);
    *n_ids = out.n;
    if (out.n > cap)
        return nu_fail(err, NU_ERR_ARG, "the text needs %zu token ids but the buffer holds %zu",
                       out.n, cap);
    return NU_OK;
}

static NuCode check_id(const NuTokenizer *t, int32_t id, NuError *err) {
    if (!t) return nu_fail(err, NU_ERR_ARG, "the tokenizer is NULL");
    if (id < 0 || id >= t->n_vocab)
        return nu_fail(err, NU_ERR_ARG, "token id %d is out of range (vocabulary of %d)", (int)id,
                       (int)t->n_vocab);
    return NU_OK;
}

NuCode nu_tokenizer_piece(const NuTokenizer *t, int32_t id, const char **bytes, size_t *len,
                          NuError *err) {
    if (!bytes || !len) return nu_fail(err, NU_ERR_ARG, "bytes or len is NULL");
    NuCode rc = check_id(t, id, err);
    if (rc) return rc;
    *bytes = (const char *)t->piece.data + t->piece_off[id];
    *len = t->piece_off[id + 1] - t->piece_off[id];
    return NU_OK;
}

NuCode nu_tokenizer_token_text(const NuTokenizer *t, int32_t id, const char **text,
                               size_t *len, NuError *err) {
    if (!text || !len) return nu_fail(err, NU_ERR_ARG, "text or len is NULL");
    NuCode rc = check_id(t, id, err);
    if (rc) return rc;
    *text = (const char *)t->display.data + t->display_off[id];
    *len = t->display_off[id + 1] - t->display_off[id];
    return NU_OK;
}

NuCode nu_tokenizer_decode(const NuTokenizer *t, const int32_t *ids, size_t n, char *buf,
                           size_t cap, size_t *len, NuError *err) {
    if (!len) return nu_fail(err, NU_ERR_ARG, "len is NULL");
    *len = 0;
    if (!t) return nu_fail(err, NU_ERR_ARG, "the tokenizer is NULL");
    if (!ids && n) return nu_fail(err, NU_ERR_ARG, "ids is NULL but n is %zu", n);
    if (!buf && cap) return nu_fail(err, NU_ERR_ARG, "buf is NULL but cap is %zu", cap);
    int strip = t->kind == TOK_SPM && t->add_space_prefix;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t plen;
        NuCode rc = nu_tokenizer_piece(t, ids[i], &p, &plen, err);
        if (rc) return rc;
        if (strip && t->types[ids[i]] != TOK_CONTROL) {
            strip = 0;
            if (plen > 0 && p[0] == ' ') p++, plen--;
        }
        if (plen > SIZE_MAX - total)
            return nu_fail(err, NU_ERR_ARG, "the decoded text would exceed SIZE_MAX bytes");
        if (total < cap) memcpy(buf + total, p, plen < cap - total ? plen : cap - total);
        total += plen;
    }
    *len = total;
    if (total > cap)
        return nu_fail(err, NU_ERR_ARG, "the text needs %zu bytes but the buffer holds %zu",
                       total, cap);
    return NU_OK;
}
