/* The in-memory description of a model shared by loaders (gguf.c, llama2c.c), kernels and
 * the forward pass. Loaders fill these structs; tensor data points into the model buffer
 * (or into memory the loader owns), never copied per token. */
#ifndef NUCLEUS_TENSOR_H
#define NUCLEUS_TENSOR_H

#include <stdint.h>

/* Element types, numbered as ggml/GGUF number them so a GGUF type id maps directly. Q8_1 and
 * Q8_K are ggml's activation types (the form an input vector takes against Q4_1/Q5_1 and
 * against the K-quants and IQ4_XS); src/quant/types.h has what each type is and does. */
typedef enum {
    NU_TYPE_F32 = 0,
    NU_TYPE_F16 = 1,
    NU_TYPE_Q4_0 = 2,
    NU_TYPE_Q4_1 = 3,
    NU_TYPE_Q5_0 = 6,
    NU_TYPE_Q5_1 = 7,
    NU_TYPE_Q8_0 = 8,
    NU_TYPE_Q8_1 = 9,
    NU_TYPE_Q2_K = 10,
    NU_TYPE_Q3_K = 11,
    NU_TYPE_Q4_K = 12,
    NU_TYPE_Q5_K = 13,
    NU_TYPE_Q6_K = 14,
    NU_TYPE_Q8_K = 15,
    NU_TYPE_IQ4_NL = 20,
    NU_TYPE_IQ4_XS = 23,
    NU_TYPE_BF16 = 30,
    NU_TYPE_COUNT = 40 /* above every ggml type id, for tables indexed by type */
} NuType;

/* A row-major matrix of `rows` rows of `cols` elements (a vector has rows = 1). For the
 * block types cols is a whole number of blocks and a row is cols / block_size blocks
 * (src/quant/types.h). */
typedef struct {
    NuType type;
    int64_t rows;
    int64_t cols;
    const void *data;
    /* 1: the rows come in groups of four interleaved block by block (block b of rows 4g ..
     * 4g + 3, then block b + 1 ...; the last rows % 4 rows as they are), the order the 4-row
     * kernels read them in, so a product streams one run of memory instead of four
     * (nu_interleave_rows in kernels.h) */
    int interleaved;
} NuTensor;

/* The architectures the forward pass runs (general.architecture in a GGUF file). */
typedef enum { NU_ARCH_LLAMA, NU_ARCH_QWEN2, NU_ARCH_QWEN3, NU_ARCH_GEMMA3 } NuArch;

/* The shape, then the features the forward pass switches on. The loader derives the
 * features from the architecture and its GGUF keys (llama.cpp's rules); a llama2.c
 * checkpoint is plain llama (nu_config_defaults). */
typedef struct {
    int dim;        /* embedding length */
    int hidden_dim; /* feed-forward length */
    int n_layers;
    int n_heads;
    int n_kv_heads; /* < n_heads means grouped-query attention */
    int vocab_size;
    int seq_len;    /* context length */
    int rope_dim;   /* rotated dimensions per head (usually head_dim) */
    float rope_theta;
    float norm_eps;

    NuArch arch;
    int head_dim;         /* q, k and v size per head: attention.key_length, else dim / n_heads */
    int rope_neox;        /* pairs (j, j + rope_dim/2) turn together; else adjacent pairs */
    float rope_scale;     /* linear rope scaling: each angle times this (1 / scaling factor) */
    int qk_norm;          /* RMS norms of each q and k head before rope (attn_q/k_norm) */
    int post_norms;       /* RMS norms of the attention and feed-forward outputs before they
                           * join the residual (post_attention_norm, post_ffw_norm) */
    int gelu;             /* feed-forward gate: GELU (tanh form), else SiLU */
    float embed_scale;    /* the token embedding is multiplied by this (gemma3: sqrt(dim)) */
    float att_divisor;    /* attention scores are q.k / att_divisor (sqrt of a head size) */
    float logit_softcap;  /* > 0: logits become cap * tanh(logits / cap) */
    int swa_window;       /* > 0: sliding-window layers attend to this many positions */
    int swa_period;       /* with a window, layer l slides unless l % period == period - 1
                           * (period 0: every layer slides) */
    float rope_theta_swa; /* rope base of the sliding-window layers */
} NuConfig;

/* Names follow llama.cpp's GGUF tensor names: blk.N.attn_q.weight -> wq, and so on.
 * Optional tensors (biases, rope_freqs) have data NULL when the file has none. */
typedef struct {
    NuTensor attn_norm; /* [dim] */
    NuTensor wq;        /* [n_heads * head_dim, dim] */
    NuTensor wk;        /* [n_kv_heads * head_dim, dim] */
    NuTensor wv;        /* [n_kv_heads * head_dim, dim] */
    NuTensor bq, bk, bv;   /* optional biases of q, k, v (attn_q.bias ...) */
    NuTensor q_norm, k_norm; /* [head_dim] with qk_norm (attn_q_norm, attn_k_norm) */
    NuTensor wo;        /* [dim, n_heads * head_dim] */
    NuTensor post_attn_norm; /* [dim] with post_norms (post_attention_norm) */
    NuTensor ffn_norm;  /* [dim] */
    NuTensor ffn_gate;  /* w1: [hidden, dim] */
    NuTensor ffn_down;  /* w2: [dim, hidden] */
    NuTensor ffn_up;    /* w3: [hidden, dim] */
    NuTensor post_ffn_norm; /* [dim] with post_norms (post_ffw_norm) */
} NuLayer;

typedef struct {
    NuTensor token_embd;  /* [vocab, dim] */
    NuTensor output_norm; /* [dim] */
    NuTensor output;      /* [vocab, dim]; equal to token_embd when the classifier is shared */
    NuTensor rope_freqs;  /* optional [rope_dim / 2]: each pair's angle divided by its factor
                           * (Llama 3.x) */
    NuLayer *layers;      /* n_layers entries */
} NuWeights;

#endif
