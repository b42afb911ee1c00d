/* Small vocabularies made in code for the fuzzers and their seeds: an SPM (llama) and a
 * GPT-2 byte-level BPE vocabulary as GGUF tokenizer metadata, and an SPM vocabulary as
 * llama2.c's tokenizer.bin. Each has a token for every byte, so any valid UTF-8 text
 * encodes, and no merge reaches a control or byte token, so decoding an encoding gives the
 * text back (SPM GGUF: unless the text itself contains the space marker U+2581). */
#ifndef NUCLEUS_FUZZ_VOCAB_H
#define NUCLEUS_FUZZ_VOCAB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_write.h"

/* SPM pieces after <unk>, <s>, </s> and the 256 byte tokens, highest score first; "ll" and
 * "or" share a score to exercise ties. "\xE2\x96\x81" is the space marker. */
static const char *const FUZZ_SPM_PIECES[] = {
    "\xE2\x96\x81", "e", "t", "a", "o", "n", "h", "l", "r", "s", "d", "i", "w", "H", "W",
    "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "ll", "or", "llo", "\xE2\x96\x81He",
    "\xE2\x96\x81Hello", "ld", "\xE2\x96\x81w", "\xE2\x96\x81wor", "\xE2\x96\x81world", "in",
    "\xE2\x96\x81in", "ing", "er", "\xE2\x96\x81" "a", "an", "\xE2\x96\x81" "an", "\xE2\x96\x81" "and",
    "1", "2", "3", "12", "123", "\xC3\xA9", "\xE6\x97\xA5", "\xE6\x9C\xAC",
    "\xE6\x97\xA5\xE6\x9C\xAC", "\xE2\x96\x81\xE6\x97\xA5\xE6\x9C\xAC", "'s", "!", "?", ",",
    ".", "\xE2\x96\x81\xE2\x96\x81", "\xE2\x96\x81\xE2\x96\x81\xE2\x96\x81", "b", "c", "ab",
    "bc", "abc", "\n", "\n\n", "\xF0\x9F\x98\x80"};
#define FUZZ_SPM_N_PIECES (sizeof FUZZ_SPM_PIECES / sizeof FUZZ_SPM_PIECES[0])
#define FUZZ_SPM_N_VOCAB (3 + 256 + FUZZ_SPM_N_PIECES)

static float fuzz_spm_score(size_t piece) {
    return piece == 19 ? -9.0f : -0.5f * (float)piece; /* "or" ties with "ll" */
}

/* Adds tokenizer.ggml.* for the SPM vocabulary (model "llama"). */
static void fuzz_vocab_spm(GgufWriter *w) {
    const char *toks[FUZZ_SPM_N_VOCAB];
    char bytes[256][7];
    float scores[FUZZ_SPM_N_VOCAB];
    int32_t types[FUZZ_SPM_N_VOCAB];
    toks[0] = "<unk>", toks[1] = "<s>", toks[2] = "</s>";
    types[0] = 2, types[1] = types[2] = 3;
    scores[0] = scores[1] = scores[2] = 0.0f;
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        memcpy(bytes[b], "<0x", 3);
        bytes[b][3] = hex[b >> 4], bytes[b][4] = hex[b & 15], bytes[b][5] = '>', bytes[b][6] = 0;
        toks[3 + b] = bytes[b], types[3 + b] = 6, scores[3 + b] = 0.0f;
    }
    for (size_t i = 0; i < FUZZ_SPM_N_PIECES; i++) {
        toks[259 + i] = FUZZ_SPM_PIECES[i];
        types[259 + i] = 1;
        scores[259 + i] = fuzz_spm_score(i);
    }
    gguf_add_str(w, "tokenizer.ggml.model", "llama");
    gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, FUZZ_SPM_N_VOCAB);
    gguf_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, FUZZ_SPM_N_VOCAB);
    gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, FUZZ_SPM_N_VOCAB);
    gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_add_bool(w, "tokenizer.ggml.add_bos_token", 1);
}

/* GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the other 68
 * take U+0100.. in byte order. Written out as UTF-8 into out (NUL-terminated). */
static void fuzz_byte_char(int b, char out[3]) {
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    unsigned cp = (unsigned)b;
    if (!printable) {
        cp = 256;
        for (int c = 0; c < b; c++)
            cp += !((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255));
    }
    if (cp < 0x80) {
        out[0] = (char)cp, out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), out[2] = 0;
    }
}

/* BPE merges in rank order ("Ġ" is the space, "Ċ" the newline, "Ã ©" joins é's bytes). */
static const char *const FUZZ_BPE_MERGES[] = {
    "\xC4\xA0 t", "h e", "\xC4\xA0t he", "l l", "ll o", "\xC4\xA0 w", "o r", "\xC4\xA0w or",
    "l d", "\xC4\xA0wor ld", "i n", "in g", "a n", "an d", "\xC4\xA0 and", "\xC4\xA0 H",
    "\xC4\xA0H e", "\xC4\xA0He llo", "1 2", "12 3", "' s", "\xC3\x83 \xC2\xA9",
    "\xC4\xA0 \xC4\xA0", "\xC4\x8A \xC4\x8A", "\xC4\xA0 1", "e r", "\xC4\xA0 a"};
#define FUZZ_BPE_N_MERGES (sizeof FUZZ_BPE_MERGES / sizeof FUZZ_BPE_MERGES[0])
#define FUZZ_BPE_MAX_VOCAB (256 + FUZZ_BPE_N_MERGES + 6)

/* Adds tokenizer.ggml.* for the BPE vocabulary (model "gpt2", pre-tokenizer pre): the 256
 * byte characters, each merge's result, a word no merge makes ("Ġzz", found whole with
 * llama-bpe's ignore_merges), then special tokens: control <|endoftext|> (BOS/EOS),
 * <|im_start|> and <|im_end|>, and user-defined <user> and <|im (a prefix of the two). */
static void fuzz_vocab_bpe(GgufWriter *w, const char *pre) {
    static char storage[FUZZ_BPE_MAX_VOCAB][32];
    const char *toks[FUZZ_BPE_MAX_VOCAB];
    int32_t types[FUZZ_BPE_MAX_VOCAB];
    uint32_t n = 0;
    for (int b = 0; b < 256; b++, n++) {
        fuzz_byte_char(b, storage[n]);
        toks[n] = storage[n], types[n] = 1;
    }
    for (size_t m = 0; m < FUZZ_BPE_N_MERGES; m++) {
        const char *s = FUZZ_BPE_MERGES[m], *sp = strchr(s, ' ');
        size_t left = (size_t)(sp - s);
        memcpy(storage[n], s, left);
        strcpy(storage[n] + left, sp + 1);
        int seen = 0;
        for (uint32_t i = 0; i < n; i++) seen |= strcmp(toks[i], storage[n]) == 0;
        if (!seen) toks[n] = storage[n], types[n] = 1, n++;
    }
    toks[n] = "\xC4\xA0zz", types[n++] = 1;
    uint32_t eot = n;
    toks[n] = "<|endoftext|>", types[n++] = 3;
    toks[n] = "<|im_start|>", types[n++] = 3;
    toks[n] = "<|im_end|>", types[n++] = 3;
    toks[n] = "<user>", types[n++] = 4;
    toks[n] = "<|im", types[n++] = 4;
    gguf_add_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_add_str(w, "tokenizer.ggml.pre", pre);
    gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, n);
    gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, n);
    gguf_add_arr_str(w, "tokenizer.ggml.merges", FUZZ_BPE_MERGES, FUZZ_BPE_N_MERGES);
    gguf_add_u32(w, "tokenizer.ggml.bos_token_id", eot);
    gguf_add_u32(w, "tokenizer.ggml.eos_token_id", eot);
}

static void fuzz_put(uint8_t **p, const void *src, size_t n) {
    memcpy(*p, src, n);
    *p += n;
}

static void fuzz_put_token(uint8_t **p, const char *s, float score) {
    int32_t len = (int32_t)strlen(s);
    fuzz_put(p, &score, 4);
    fuzz_put(p, &len, 4);
    fuzz_put(p, s, (size_t)len);
}

/* The SPM vocabulary as llama2.c's export writes it (tokenizer.bin: pieces with the space
 * marker already turned into ' ', <s> and </s> spelled with newlines). Returns a malloc'd
 * buffer of *size bytes and sets *n_tokens, or NULL when out of memory. */
static uint8_t *fuzz_vocab_llama2c(size_t *size, int *n_tokens) {
    uint8_t *buf = malloc(4 + FUZZ_SPM_N_VOCAB * (8 + 16)), *p = buf;
    if (!buf) return NULL;
    int32_t max_len = 16;
    fuzz_put(&p, &max_len, 4);
    fuzz_put_token(&p, "<unk>", 0.0f);
    fuzz_put_token(&p, "\n<s>\n", 0.0f);
    fuzz_put_token(&p, "\n</s>\n", 0.0f);
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char s[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
        fuzz_put_token(&p, s, 0.0f);
    }
    for (size_t i = 0; i < FUZZ_SPM_N_PIECES; i++) {
        char s[16];
        size_t n = 0;
        for (const char *c = FUZZ_SPM_PIECES[i]; *c;) {
            if (strncmp(c, "\xE2\x96\x81", 3) == 0) s[n++] = ' ', c += 3;
            else s[n++] = *c++;
        }
        s[n] = 0;
        fuzz_put_token(&p, s, fuzz_spm_score(i));
    }
    *size = (size_t)(p - buf);
    *n_tokens = (int)FUZZ_SPM_N_VOCAB;
    return buf;
}

#endif
