/* The in-memory description of a model shared by loaders (gguf.c, llama2c.c), kernels and
 * the forward pass. Loaders fill these structs; tensor data points into the model buffer
 * (or into memory the loader owns), never copied per token. */
#ifndef NUCLEUS_TENSOR_H
#define NUCLEUS_TENSOR_H

#include <stdint.h>

/* Element types, numbered as ggml/GGUF number them so a GGUF type id maps directly. */
typedef enum {
    NU_TYPE_F32 = 0,
    NU_TYPE_F16 = 1,
    NU_TYPE_Q4_0 = 2,
    NU_TYPE_Q8_0 = 8
} NuType;

/* A row-major matrix of `rows` rows of `cols` elements (a vector has rows = 1). For the
 * block types (Q8_0, Q4_0) cols is a multiple of 32 and each row is cols/32 blocks. */
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
