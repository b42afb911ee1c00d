/* Model conversion and synthetic models: both write GGUF v3 files in llama.cpp's layout
 * (its metadata keys and tensor names), with the matrices in one target type.
 *
 * Target types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, written with ggml's reference
 * rounding. Norms stay F32. A matrix whose rows are not a whole number of blocks
 * (stories260K's ffn_down has 172 columns) is stored as F16 for the quantized targets, as
 * llama.cpp falls back too. The
 * classifier is written as output.weight only when it is not the token embedding.
 *
 * Each tensor is produced directly in the output buffer, a row at a time, so peak memory is
 * the input plus the output file. */
#ifndef NUCLEUS_CONVERT_H
#define NUCLEUS_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "tensor.h"

/* llama.cpp's general.file_type (LLAMA_FTYPE) for a target: ALL_F32 0, MOSTLY_F16 1,
 * MOSTLY_Q4_0 2, MOSTLY_Q4_1 3, MOSTLY_Q8_0 7, MOSTLY_Q5_0 8, MOSTLY_Q5_1 9, MOSTLY_BF16 32;
 * -1 for a type that is not a target. */
int nu_convert_file_type(NuType type);

/* Converts a model to GGUF v3 with its matrices in `type`.
 *   model: a GGUF file (llama architecture; tensors of any type in the table), or a llama2.c
 *          checkpoint (4-byte aligned), which needs its tokenizer.bin in tok.
 *   tok:   NULL for a GGUF input (it carries its own tokenizer).
 *   name:  general.name for a llama2.c input (NULL: "llama"); a GGUF input keeps its own.
 * From a GGUF input every metadata entry is copied verbatim except general.file_type (set
 * for the new type) and general.alignment (the default 32 is used), and tensors other than
 * the model's weights are copied unchanged. From a llama2.c input the tokenizer metadata is
 * built from tokenizer.bin (SPM, '▁' for spaces, <unk> 0, <s> 1, </s> 2, byte tokens).
 * On success *out is a malloc'd buffer of *out_size bytes for the caller to free().
 * Errors: NU_ERR_ARG (type, missing or unexpected tokenizer), NU_ERR_FORMAT and
 * NU_ERR_UNSUPPORTED from the readers, NU_ERR_NOMEM. */
NuCode nu_convert(const uint8_t *model, size_t model_size, const uint8_t *tok, size_t tok_size,
                  NuType type, const char *name, uint8_t **out, size_t *out_size, NuError *err);

/* Parses a model shape: "stories15M", "stories42M", "stories110M", or seven positive
 * integers "DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ". Fills cfg (RoPE over the whole head,
 * theta 10000, epsilon 1e-5) and checks it with nu_config_check. Errors: NU_ERR_ARG, and
 * NU_ERR_NOMEM for a shape whose run state exceeds 4 GiB. */
NuCode nu_synth_shape(const char *spec, NuConfig *cfg, NuError *err);

/* A model of shape cfg with random weights: every matrix element uniform with standard
 * deviation 0.02 from a PRNG seeded by seed (each tensor from its own stream, so the file
 * is a function of cfg, type and seed alone), norms 1.0, the classifier shared with the
 * embedding. The tokenizer metadata (every tokenizer.* entry) is copied verbatim from the
 * GGUF file in vocab, whose token count must equal cfg->vocab_size. name: general.name
 * (NULL: "synthetic"). Output as for nu_convert. */
NuCode nu_synth(const NuConfig *cfg, const uint8_t *vocab, size_t vocab_size, NuType type,
                uint64_t seed, const char *name, uint8_t **out, size_t *out_size, NuError *err);

#endif
