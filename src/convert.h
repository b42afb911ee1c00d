/* Model conversion and synthetic models: both write GGUF v3 files in llama.cpp's layout
 * (its metadata keys and tensor names), with the matrices in one target type or in one of
 * llama.cpp's mixtures.
 *
 * Target types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, written with ggml's reference
 * rounding, and the K-quant targets below. Norms stay F32. A matrix whose rows are not a
 * whole number of blocks (stories260K's ffn_down has 172 columns) takes llama.cpp's
 * fallback (F16 for the 32-element types). The
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

/* Targets are the single types above, plus the K-quants and IQ4: Q3_K, Q4_K, Q5_K, Q6_K,
 * IQ4_NL, IQ4_XS (every matrix that type, as llama-quantize --pure), and llama.cpp's mixtures,
 * passed where a NuType goes as NU_MIX + their LLAMA_FTYPE:
 *
 * llama.cpp's per-tensor rules (src/llama-quant.cpp, llama_tensor_get_type, for the llama
 * architecture without experts; "more bits" is its use_more_bits: layers in the first or
 * last eighth, and every third layer between, i.e. (layer - n/8) % 3 == 2):
 *  - the classifier (output.weight, or token_embd.weight when it is shared) is Q6_K, or Q8_0
 *    when its rows are not whole 256-blocks;
 *  - q2_K (LLAMA_FTYPE 10): Q2_K; attn_v Q4_K if n_heads / n_kv_heads >= 4 else Q3_K;
 *    ffn_down and attn_output Q3_K;
 *  - q3_K_M (12): Q3_K; attn_v Q5_K in layers 0-1, else Q4_K; ffn_down Q5_K in the first
 *    n/16 layers, else Q4_K; attn_output Q4_K;
 *  - q4_K_M (15) / q5_K_M (17): Q4_K / Q5_K; attn_v and ffn_down Q6_K in the "more bits"
 *    layers.
 * Then, for every target, llama.cpp's fallback for rows that are not whole blocks
 * (tensor_type_fallback): Q2_K, Q3_K -> Q4_0; Q4_K -> Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0;
 * IQ4_XS -> IQ4_NL; and a 32-element type whose blocks still do not fit -> F16. Norms stay
 * F32 and the float targets take every matrix as they are. */
enum {
    NU_MIX = 256, /* above every ggml type id */
    NU_MIX_Q2_K = NU_MIX + 10,
    NU_MIX_Q3_K_M = NU_MIX + 12,
    NU_MIX_Q4_K_M = NU_MIX + 15,
    NU_MIX_Q5_K_M = NU_MIX + 17,
};

/* Whether target is one of the NU_MIX_* mixtures. */
int nu_target_is_mixture(int target);

/* The type of matrix `name` (llama.cpp's tensor name) with rows of cols elements for a
 * target (a NuType or NU_MIX_*), in a model of n_layers layers with n_heads / n_kv_heads =
 * n_gqa, whose classifier is the token embedding when tied is set: the rules above. */
NuType nu_convert_tensor_type(int target, const char *name, int64_t cols, int n_layers, int n_gqa, int tied);

/* llama.cpp's general.file_type (LLAMA_FTYPE) for a target: ALL_F32 0, MOSTLY_F16 1,
 * MOSTLY_Q4_0 2, MOSTLY_Q4_1 3, MOSTLY_Q8_0 7, MOSTLY_Q5_0 8, MOSTLY_Q5_1 9, MOSTLY_BF16 32,
 * Q3_K 11 (Q3_K_S), Q4_K 14 (Q4_K_S), Q5_K 16 (Q5_K_S), Q6_K 18, IQ4_NL 25, IQ4_XS 30, a
 * mixture its own; -1 for a type that is not a target. */
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

/* A synthetic model's description: a shape (a preset named after a real model, or numbers)
 * and the options that change it. */
typedef struct {
    const char *shape;  /* a preset: stories15M, stories42M, stories110M (llama2.c's),
                         * smollm2-135m, tinyllama-1.1b, llama3.2-1b, qwen2.5-0.5b, qwen3-0.6b,
                         * gemma3-270m; or "DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ[,HEAD]"
                         * (VOCAB 0: the vocabulary file's; HEAD: the head size, default
                         * DIM / HEADS) */
    const char *arch;   /* NULL or "": the preset's (numbers: llama); else llama, qwen2,
                         * qwen3 or gemma3, which a preset must agree with */
    int layers;         /* > 0: the layer count instead of the shape's */
    int window;         /* > 0: gemma3's sliding window (gemma3-270m has 512) */
    int untied_output;  /* write output.weight apart from token_embd (tinyllama does) */
    int llama3_rope;    /* write rope_freqs.weight with Llama 3's factors (llama3.2 does) */
    float std;          /* > 0: the random elements' standard deviation instead of 0.02 (a
                         * small model with 0.02 barely attends: parity tests want more) */
} NuSynthSpec;

typedef struct {
    NuConfig config;   /* vocab_size 0: the vocabulary file's */
    int untied_output;
    int llama3_rope;
    float std;         /* 0: 0.02 */
} NuSynthModel;

/* Resolves a spec: the shape's numbers, the architecture's features (nu_config_features),
 * its usual rope base and epsilon for numeric shapes (llama 10000 and 1e-5, the others 1e6
 * and 1e-6; a gemma3 window turns every sixth layer global, local layers at base 10000), and
 * checks the result with nu_config_check (context cut to NU_CONTEXT_MAX, as the loader
 * will). Errors: NU_ERR_ARG, and NU_ERR_NOMEM for a shape whose run state exceeds 4 GiB. */
NuCode nu_synth_spec(const NuSynthSpec *spec, NuSynthModel *model, NuError *err);

/* nu_synth_spec of a shape alone, its config in cfg. */
NuCode nu_synth_shape(const char *spec, NuConfig *cfg, NuError *err);

/* A model with random weights: every matrix element and bias uniform with standard deviation
 * model->std (0: 0.02) from a PRNG seeded by seed (each tensor from its own stream, so the file is a function
 * of the model, type and seed alone), norms 1.0, the classifier shared with the embedding
 * unless untied. The tokenizer metadata (every tokenizer.* entry) is copied verbatim from the
 * GGUF file in vocab, whose token count must equal the config's vocab_size unless that is 0;
 * chat_template (NULL: the vocabulary's, if any) is written as tokenizer.chat_template.
 * name: general.name (NULL: "synthetic"). Output as for nu_convert. */
NuCode nu_synth(const NuSynthModel *model, const uint8_t *vocab, size_t vocab_size, NuType type,
                uint64_t seed, const char *name, const char *chat_template, uint8_t **out,
                size_t *out_size, NuError *err);

#endif
