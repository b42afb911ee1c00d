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
} NuTensor;

typedef struct {
    int dim;        /* embedding length */
    int hidden_dim; /* feed-forward length */
    int n_layers;
    int n_heads;
    int n_kv_heads; /* < n_heads means grouped-query attention */
    int vocab_size;
    int seq_len;    /* context length */
    int rope_dim;   /* rotated dimensions per head (usually dim / n_heads) */
    float rope_theta;
    float norm_eps;
} NuConfig;

/* Names follow llama.cpp's GGUF tensor names: blk.N.attn_q.weight -> wq, and so on. */
typedef struct {
    NuTensor attn_norm; /* [dim] */
    NuTensor wq;        /* [n_heads * head_dim, dim] */
    NuTensor wk;        /* [n_kv_heads * head_dim, dim] */
    NuTensor wv;        /* [n_kv_heads * head_dim, dim] */
    NuTensor wo;        /* [dim, n_heads * head_dim] */
    NuTensor ffn_norm;  /* [dim] */
    NuTensor ffn_gate;  /* w1: [hidden, dim] */
    NuTensor ffn_down;  /* w2: [dim, hidden] */
    NuTensor ffn_up;    /* w3: [hidden, dim] */
} NuLayer;

typedef struct {
    NuTensor token_embd;  /* [vocab, dim] */
    NuTensor output_norm; /* [dim] */
    NuTensor output;      /* [vocab, dim]; equal to token_embd when the classifier is shared */
    NuLayer *layers;      /* n_layers entries */
} NuWeights;

#endif
