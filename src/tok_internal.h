/* Internals shared by tokenizer.c (loading, decoding, the public API), tok_spm.c and
 * tok_bpe.c (the two encoding algorithms). Not part of the public API. */
#ifndef NUCLEUS_TOK_INTERNAL_H
#define NUCLEUS_TOK_INTERNAL_H

#include "tokenizer.h"

/* Token types, numbered as in GGUF's tokenizer.ggml.token_type. */
enum {
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6
};

typedef enum { TOK_SPM, TOK_BPE } TokKind;

/* BPE pre-tokenizers, each one of llama.cpp's word-splitting regexes (see tok_bpe.c). */
typedef enum {
    PRE_GPT2,      /* gpt-2, default and the names llama.cpp maps to the same regex */
    PRE_STARCODER, /* GPT-2's rules after cutting out every \p{N} (starcoder, smollm, ...) */
    PRE_LLAMA3,    /* llama-bpe: Llama 3's regex, digits in runs of up to three */
    PRE_QWEN2      /* qwen2: Llama 3's regex with single digits */
} TokPre;

/* Per-token strip flags for special tokens (llama.cpp's LSTRIP / RSTRIP attributes): the
 * whitespace before / after the token in the text is dropped when the token is matched. */
enum { TOK_LSTRIP = 1, TOK_RSTRIP = 2 };

/* A growable byte buffer; every append reports allocation failure. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} TokBuf;

int tok_buf_append(TokBuf *b, const void *src, size_t n);

/* Open-addressing hash table from a key to an int32 value; keys live elsewhere, the table
 * stores value + 1 (0 marks an empty slot) and the caller compares keys on a hash hit. */
typedef struct {
    uint32_t *slots;
    uint32_t mask;
} TokIndex;

struct NuTokenizer {
    TokKind kind;
    int32_t n_vocab;
    /* Token i's text (as stored in the file) is text.data[text_off[i] .. text_off[i+1]). */
    TokBuf text;
    uint32_t *text_off;
    float *scores; /* SPM merge priorities; all zero for BPE */
    uint8_t *types;
    TokIndex index; /* token text -> id */
    /* What decoding appends for each token, and the display form, laid out like text. */
    TokBuf piece, display;
    uint32_t *piece_off, *display_off;

    int32_t bos, eos, unk; /* -1 when the vocabulary has none */
    int add_bos, add_eos;  /* the vocabulary's own preference, for callers that ask */
    /* End-of-generation tokens, ascending: eos, eot, eom and the texts llama.cpp marks. */
    int32_t *eog;
    int32_t n_eog;
    /* Tokens matched in the text before the algorithm runs (control, user-defined and
     * unknown ones), longest text first, ties in id order; strip holds TOK_LSTRIP/RSTRIP. */
    int32_t *special;
    int32_t n_special;
    uint8_t *strip;
    int add_space_prefix;  /* SPM: a leading space is added before encoding */
    /* SPM: the bytes that stand for a space in token texts ("\xE2\x96\x81" in GGUF, " " in
     * llama2.c's tokenizer.bin, which stores pieces with the space already restored). */
    const char *space_marker;
    size_t space_marker_len;
    /* SPM: the <0xNN> token of each byte; BPE: the token of each byte's byte-level char.
     * -1 where the vocabulary lacks it. */
    int32_t byte_token[256];

    /* BPE only: merge (left id, right id) -> rank and resulting id. */
    TokIndex merges;
    uint64_t *merge_pair;
    int32_t *merge_result;
    int32_t n_merges;
    TokPre pre;
    int ignore_merges; /* a word that is a token as a whole is that token (llama-bpe) */
};

/* --- building (tokenizer.c) ----------------------------------------------------------- */
/* A tokenizer with room for n_vocab tokens, to be filled with tok_add in id order (type is
 * one of TOK_NORMAL..TOK_BYTE, checked by the caller). */
NuCode tok_create(TokKind kind, int32_t n_vocab, NuTokenizer **out, NuError *err);
NuCode tok_add(NuTokenizer *t, int32_t id, const char *text, size_t len, float score, int type,
               NuError *err);
/* After every token is added: builds the text index, byte tokens, pieces and display forms. */
NuCode tok_finish(NuTokenizer *t, NuError *err);

/* Id of the token whose text is s[0..n), or -1. */
int32_t tok_lookup(const NuTokenizer *t, const uint8_t *s, size_t n);
uint32_t tok_hash(const uint8_t *s, size_t n);
const uint8_t *tok_text(const NuTokenizer *t, int32_t id, size_t *len);

/* --- encoding ------------------------------------------------------------------------- */
/* Where ids go: writes while they fit, always counts. */
typedef struct {
    int32_t *ids;
    size_t cap, n;
} TokOut;

static inline void tok_out_push(TokOut *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* A min-heap of candidate merges of two adjacent symbols: lowest prio first, then the
 * leftmost. check_a/check_b let the algorithm recognise entries made stale by later merges. */
typedef struct {
    uint64_t prio;
    int32_t left, right;
    uint32_t check_a, check_b;
} TokPair;

typedef struct {
    TokPair *items;
    size_t n, cap;
} TokHeap;

int tok_heap_push(TokHeap *h, TokPair p); /* 0 when out of memory */
TokPair tok_heap_pop(TokHeap *h);         /* h->n must be > 0 */

/* Both take valid UTF-8 (checked by the caller). space_prefix: SPM adds the leading space
 * (at the start of the text and after a special token, as llama.cpp does). */
NuCode spm_encode(const NuTokenizer *t, const uint8_t *text, size_t len, int space_prefix,
                  TokOut *out, NuError *err);
NuCode bpe_encode(const NuTokenizer *t, const uint8_t *text, size_t len, TokOut *out,
                  NuError *err);

/* --- per-algorithm parts of loading --------------------------------------------------- */
/* Appends token id's decoded bytes to b; 0 when out of memory. */
int spm_append_piece(const NuTokenizer *t, int32_t id, TokBuf *b);
int bpe_append_piece(const NuTokenizer *t, int32_t id, TokBuf *b);
/* Fills t->byte_token for the algorithm. */
void spm_find_byte_tokens(NuTokenizer *t);
void bpe_find_byte_tokens(NuTokenizer *t);

/* BPE merges: bpe_merges_init once with the count, then bpe_add_merge for rank 0, 1, ...
 * in order; text is "left right" in byte-level form. Needs the finished token index. */
NuCode bpe_merges_init(NuTokenizer *t, uint64_t count, NuError *err);
NuCode bpe_add_merge(NuTokenizer *t, int32_t rank, const char *text, size_t len, NuError *err);

#endif
