/* Tokenizers: text <-> token ids for SentencePiece-style (llama, llama2.c) and GPT-2 style
 * byte-level BPE vocabularies, behind one opaque handle.
 *
 * Encoding follows llama.cpp (and llama2.c's run.c for tokenizer.bin), special tokens
 * included: with NU_ENCODE_SPECIAL "<|im_start|>" in the text becomes its control token,
 * without it the characters are encoded as text (user-defined tokens match either way).
 * Decoding works on raw bytes: a token may end in the middle of a UTF-8 sequence, so a
 * streaming caller joins pieces before turning them into text. */
#ifndef NUCLEUS_TOKENIZER_H
#define NUCLEUS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "gguf.h"

typedef struct NuTokenizer NuTokenizer;

/* The tokenizer stored in a GGUF file's metadata: tokenizer.ggml.model "llama" (SPM) or
 * "gpt2" (byte-level BPE, pre-tokenizer gpt-2, llama-bpe, qwen2, smollm, starcoder, or one
 * of the names llama.cpp gives the same rules: see PRE_NAMES in tokenizer.c). Other models and
 * pre-tokenizers are NU_ERR_UNSUPPORTED, a malformed vocabulary NU_ERR_FORMAT. The handle
 * copies what it needs: g may be closed afterwards. */
NuCode nu_tokenizer_from_gguf(const GgufFile *g, NuTokenizer **out, NuError *err);

/* llama2.c's tokenizer.bin with vocab_size entries (from the checkpoint's config): SPM with
 * BOS 1, EOS 2 and byte tokens <0xNN> at ids 3..258. */
NuCode nu_tokenizer_from_llama2c(const uint8_t *data, size_t size, int vocab_size,
                                 NuTokenizer **out, NuError *err);

void nu_tokenizer_free(NuTokenizer *t);

int nu_tokenizer_vocab_size(const NuTokenizer *t);
int nu_tokenizer_bos(const NuTokenizer *t); /* -1 when absent */
int nu_tokenizer_eos(const NuTokenizer *t); /* -1 when absent */
/* 1 when the vocabulary asks for BOS at the start of a prompt (tokenizer.ggml.add_bos_token;
 * llama.cpp's defaults when absent: 1 for SPM and llama-bpe, 0 for other BPE). */
int nu_tokenizer_wants_bos(const NuTokenizer *t);
/* 1 when it asks for EOS at the end (tokenizer.ggml.add_eos_token; default 0). */
int nu_tokenizer_wants_eos(const NuTokenizer *t);

/* The end-of-generation tokens, ascending: eos, eot and eom from the file's keys and the
 * tokens whose texts llama.cpp treats as ending a turn (<|eot_id|>, <|im_end|>,
 * <end_of_turn>, <|endoftext|>, ...). *ids stays valid until nu_tokenizer_free. */
size_t nu_tokenizer_eog(const NuTokenizer *t, const int32_t **ids);
int nu_tokenizer_is_eog(const NuTokenizer *t, int32_t id);

/* Flags of nu_tokenizer_encode. 0 and 1 keep their old meaning (no BOS / BOS). */
enum {
    NU_ENCODE_BOS = 1,     /* BOS first */
    NU_ENCODE_SPECIAL = 2, /* control and unknown token texts in the text become those tokens */
    NU_ENCODE_EOS = 4      /* EOS last */
};

/* Encodes text[0..len) (UTF-8; text may be NULL when len is 0) with NU_ENCODE_* flags.
 * Special tokens are cut out of the text first, longest first, as llama.cpp does; the text
 * between them is encoded on its own. Writes up to cap ids and sets *n_ids to the number the
 * text needs, so a call with cap 0 (ids may then be NULL) asks for the count. Errors:
 * NU_ERR_TEXT for invalid UTF-8 (the message gives the byte offset); NU_ERR_ARG when the ids
 * do not fit in cap (*n_ids still holds the count needed), for unknown flags, or when BOS or
 * EOS is asked for but the vocabulary has none. */
NuCode nu_tokenizer_encode(const NuTokenizer *t, const char *text, size_t len, int flags,
                           int32_t *ids, size_t cap, size_t *n_ids, NuError *err);

/* The bytes token id appends to decoded output: byte tokens give their byte, SPM's '▁'
 * becomes ' ', GPT-2's byte-level characters map back to bytes, control tokens give nothing
 * (*len 0). *bytes points into t and stays valid until nu_tokenizer_free. */
NuCode nu_tokenizer_piece(const NuTokenizer *t, int32_t id, const char **bytes, size_t *len,
                          NuError *err);

/* Decodes ids[0..n) into buf: the pieces joined, except that when the vocabulary adds a
 * space prefix (SPM) the leading space of the first token after any leading control tokens
 * (BOS) is dropped, as llama2.c and llama.cpp do. Writes up to cap bytes (no terminating NUL)
 * and sets *len to the full length; NU_ERR_ARG when it does not fit (then *len is the size
 * needed) or an id is out of range. */
NuCode nu_tokenizer_decode(const NuTokenizer *t, const int32_t *ids, size_t n, char *buf,
                           size_t cap, size_t *len, NuError *err);

/* A token as text for people to look at, valid UTF-8: the piece, except that control and
 * unknown tokens show their name (e.g. "<s>") and bytes that are not valid UTF-8 on their
 * own show as <0xNN>. *text points into t and stays valid until nu_tokenizer_free. */
NuCode nu_tokenizer_token_text(const NuTokenizer *t, int32_t id, const char **text,
                               size_t *len, NuError *err);

#endif
