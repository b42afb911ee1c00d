/* Model loading: a GGUF file (llama architecture) or a llama2.c checkpoint (llama2c.h) into
 * the NuConfig and NuWeights the forward pass runs on. Tensors point into the file buffer,
 * which must outlive the weights; only the layer array is allocated. */
#ifndef NUCLEUS_LOADER_H
#define NUCLEUS_LOADER_H

#include "common.h"
#include "gguf.h"
#include "tensor.h"

/* Reads general.architecture (must be "llama"), the llama.* hyperparameters and every
 * tensor, checking each shape against the config and each type (matrices of any type the
 * table in src/quant/types.c can multiply, in whole blocks; norms F32). A missing
 * output.weight means the classifier is token_embd.
 * Errors: NU_ERR_UNSUPPORTED (architecture, tensor type), NU_ERR_FORMAT (missing or
 * misshapen tensor, rows not whole blocks, bad hyperparameter), NU_ERR_NOMEM (including a
 * run state over 4 GiB). */
NuCode nu_load_gguf_weights(const GgufFile *g, NuConfig *cfg, NuWeights *w, NuError *err);

/* Either format, told by its first bytes: a GGUF file (opened into *gguf, which the caller
 * closes after the weights) or else a llama2.c checkpoint (*gguf = NULL). For tools that take
 * any model file; the wasm handle (api_model.c) also reads the tokenizer, so it opens its own. */
NuCode nu_load_weights(const uint8_t *data, size_t size, GgufFile **gguf, NuConfig *cfg,
                       NuWeights *w, NuError *err);

/* Frees what a loader allocated in w and clears it. Safe on a zeroed NuWeights. */
void nu_weights_free(NuWeights *w);

/* Sanity limits both loaders apply: every size positive, heads divide dim, kv heads divide
 * heads, an even rope_dim no larger than the head, finite positive theta and eps, and a run
 * state (KV cache 2 * layers * seq_len * kv_dim floats plus activations) within 4 GiB.
 * NU_ERR_FORMAT, or NU_ERR_NOMEM naming the size. */
NuCode nu_config_check(const NuConfig *c, NuError *err);

#endif
