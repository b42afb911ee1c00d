/* llama2.c's file formats: the float32 checkpoint (.bin) and tokenizer.bin.
 *
 * Checkpoint: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len; a negative vocab_size means the classifier is not shared with the embedding),
 * then float32 arrays: token_embedding [vocab][dim], rms_att [L][dim], wq [L][dim][dim],
 * wk [L][kv_dim][dim], wv [L][kv_dim][dim], wo [L][dim][dim], rms_ffn [L][dim],
 * w1 [L][hidden][dim], w2 [L][dim][hidden], w3 [L][hidden][dim], rms_final [dim],
 * freq_cis_real and freq_cis_imag [seq_len][head_size/2] (unused: RoPE is recomputed),
 * and wcls [vocab][dim] when unshared. Each layer's tensors follow one another per kind,
 * so layer l's wq is the l-th [dim][dim] block of wq.
 *
 * tokenizer.bin: int32 max_token_length, then per token: float32 score, int32 length, bytes.
 * It does not store the token count; that is the checkpoint's vocab_size. */
#ifndef NUCLEUS_LLAMA2C_H
#define NUCLEUS_LLAMA2C_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "tensor.h"

/* Fills cfg and w from a checkpoint in data[0..size), which must stay alive as long as w
 * (tensors point into it; data must be 4-byte aligned). The file must be exactly the size
 * the header implies. w->layers is allocated: free it with nu_weights_free (loader.h).
 * RoPE: theta 10000 over the whole head; RMSNorm epsilon 1e-5. Errors: NU_ERR_FORMAT. */
NuCode nu_llama2c_load(const uint8_t *data, size_t size, NuConfig *cfg, NuWeights *w,
                       NuError *err);

/* A parsed tokenizer.bin. Token i's bytes are data[offsets[i] .. offsets[i] + lengths[i])
 * in the buffer that was parsed (not NUL-terminated). */
typedef struct {
    int n_tokens;
    int max_token_length;
    float *scores;     /* [n_tokens], finite */
    size_t *offsets;   /* [n_tokens] */
    uint32_t *lengths; /* [n_tokens], each <= max_token_length */
} NuLlama2cVocab;

/* Parses n_tokens entries; the file must end right after the last. On failure *out is left
 * empty (safe to free). Errors: NU_ERR_FORMAT, NU_ERR_ARG (n_tokens <= 0), NU_ERR_NOMEM. */
NuCode nu_llama2c_vocab_parse(const uint8_t *data, size_t size, int n_tokens,
                              NuLlama2cVocab *out, NuError *err);
void nu_llama2c_vocab_free(NuLlama2cVocab *v);

#endif
