/* Model loading: a GGUF file (llama, qwen2, qwen3 or gemma3 architecture) or a llama2.c checkpoint (llama2c.h) into
 * the NuConfig and NuWeights the forward pass runs on. Tensors point into the file buffer,
 * which must outlive the weights; only the layer array is allocated. */
#ifndef NUCLEUS_LOADER_H
#define NUCLEUS_LOADER_H

#include "common.h"
#include "gguf.h"
#include "tensor.h"

/* Reads general.architecture (llama, qwen2, qwen3 or gemma3), its <arch>.* hyperparameters
 * with llama.cpp's keys and defaults (the head size from attention.key_length, rope scaling
 * none or linear, gemma3's sliding window; the context cut to NU_CONTEXT_MAX) into cfg's shape and features, and every tensor
 * the features need, checking each shape against the config and each type (matrices of any type
 * the table in src/quant/types.c can multiply, in whole blocks; norms and biases F32). A missing output.weight means the classifier is
 * token_embd; q/k/v biases and (llama) rope_freqs.weight are optional.
 * Errors: NU_ERR_UNSUPPORTED (architecture, tensor type, rope scaling), NU_ERR_FORMAT
 * (missing or misshapen tensor, bad hyperparameter), NU_ERR_NOMEM (including a run state
 * over 4 GiB). */
NuCode nu_load_gguf_weights(const GgufFile *g, NuConfig *cfg, NuWeights *w, NuError *err);

/* Either format, told by its first bytes: a GGUF file (opened into *gguf, which the caller
 * closes after the weights) or else a llama2.c checkpoint (*gguf = NULL). For tools that take
 * any model file; the wasm handle (api_model.c) also reads the tokenizer, so it opens its own. */
NuCode nu_load_weights(const uint8_t *data, size_t size, GgufFile **gguf, NuConfig *cfg,
                       NuWeights *w, NuError *err);

/* Frees what a loader allocated in w and clears it. Safe on a zeroed NuWeights. */
void nu_weights_free(NuWeights *w);

/* Interleaves the rows of every matrix the products read (nu_interleave_rows): the layers'
 * and the classifier, the token embedding only when it is the classifier. For an owner of
 * the file's bytes (api_model.c), which no other loaded model shares: the bytes change. */
void nu_weights_interleave(NuWeights *w, int n_layers);

/* Sanity limits both loaders apply: every size positive, kv heads divide heads, an even
 * rope_dim no larger than the head, finite positive thetas and scales, non-negative eps,
 * window and period, and a run state (KV cache 2 * layers * seq_len * kv_dim floats plus
 * activations) within 4 GiB. NU_ERR_FORMAT, or NU_ERR_NOMEM naming the size. */
NuCode nu_config_check(const NuConfig *c, NuError *err);

/* Fills the features of a plain llama model from its shape (dim, n_heads): head_dim
 * dim / n_heads (0 when it does not divide), rope over the whole head with theta 10000 and no
 * scaling, epsilon 1e-5, adjacent rope pairs, SiLU, no extra norms, no window. */
void nu_config_defaults(NuConfig *c);

/* Sets the features that follow from c->arch and the shape alone: rope pairing, q/k norms,
 * post norms, GELU, embedding scale, attention divisor. (The window, rope bases, scaling and
 * softcap come from keys.) */
void nu_config_features(NuConfig *c);

/* The loader cuts longer contexts to this many positions: the KV cache grows with it (a
 * 131072-position Llama 3.2 1B would need 8 GiB) and wasm32 memory ends at 4 GiB. */
#define NU_CONTEXT_MAX 4096

/* "llama", "qwen2", "qwen3", "gemma3" (general.architecture's spelling). */
const char *nu_arch_name(NuArch arch);

#endif
