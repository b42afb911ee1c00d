/* The forward pass of the Llama family, in the spirit of llama2.c's run.c: one token at a
 * time, float32 activations, a key/value cache per layer, weights of any type the table in
 * src/quant/types.c can multiply. One pass serves llama, qwen2, qwen3 and gemma3 through the
 * config's feature switches (tensor.h): q/k/v biases, q/k norms, post norms, rope pairing,
 * activation, sliding window.
 *
 *   NuRunState *s;
 *   nu_runstate_new(&config, &s, &err);
 *   for each position: nu_forward(&config, &weights, s, token, pos, &err);
 *                      logits = nu_runstate_logits(s);   (config.vocab_size floats)
 *   nu_runstate_free(s);
 *
 * A prompt goes in at once with nu_forward_batch, NU_BATCH positions per pass through the
 * layers, each weight matrix read once per chunk: the same logits and cache, bit for bit, as
 * feeding its tokens one at a time (each position's rows take the same kernels in the same
 * order; test_forward checks it for every architecture and type).
 *
 * Positions must be fed in order from 0 (each forward reads the cache rows of earlier ones);
 * restarting at a lower position simply overwrites the cache from there. */
#ifndef NUCLEUS_MODEL_H
#define NUCLEUS_MODEL_H

#include <stddef.h>

#include "common.h"
#include "pool.h"
#include "quant.h"
#include "tensor.h"

/* Largest run state we allocate: wasm32 memory tops out at 4 GiB. */
#define NU_RUNSTATE_MAX_BYTES ((uint64_t)4 << 30)

/* Positions per pass of nu_forward_batch: each weight tile is unpacked once and read by 64
 * inputs, while the chunk's matmul input (64 x 2.3 KB of Q8_K at stories110M's hidden 2048)
 * stays in the second-level cache; 5-6% faster than 32 natively on stories110M. */
#define NU_BATCH 64

typedef struct NuRunState {
    NuConfig config;   /* the shape it was allocated for */
    size_t bytes;      /* total allocated, for reporting */
    /* The activations hold one row per position of a chunk (NU_BATCH rows): */
    float *x;          /* residual stream [dim] */
    float *xb, *xb2;   /* normalized input / attention output [max(dim, q_dim)], a second buffer [dim] */
    float *hb, *hb2;   /* feed-forward gate and up [hidden_dim] */
    float *q;          /* query [q_dim = n_heads * head_dim] */
    float *att;        /* attention scores [n_heads * seq_len], one position at a time */
    float *logits;     /* output [vocab_size], of the last position fed */
    float *k, *v;      /* the chunk's new keys and values [kv_dim], before they go to the caches */
    /* [n_layers][n_kv_heads][seq_len][head_dim]: a head's positions are consecutive, so its
     * attention streams one run of memory rather than a head_dim slice of every kv_dim row
     * (at 290 positions of stories110M, that strided walk was most of a decode step's
     * attention time and did not get faster on two threads) */
    float *key_cache;
    float *value_cache;
    float *rope_cos, *rope_sin; /* each position's rotation [rope_dim]: global layers' [rope_dim / 2],
                                 * then the sliding-window layers' [rope_dim / 2] */
    /* The matmul input converted for each weight type's vec_dot_type (Q8_0, Q8_1, F16, ...),
     * indexed by that type; allocated for every activation type in the table, NU_BATCH rows
     * act_stride[t] bytes apart, each max(dim, q_dim, hidden) elements in whole blocks. NULL
     * for the other types. */
    void *act[NU_TYPE_COUNT];
    size_t act_stride[NU_TYPE_COUNT];
    const float *in_x; /* the matmul input (set_input in model.c): in_rows rows of in_len */
    int in_len, in_stride, in_rows; /* floats, in_stride floats apart */
    uint64_t in_ready; /* bit t: act[t] holds in_x converted */
    NuPool *pool;      /* threads the matrix products are split over (pool.h); NULL: this
                        * thread only. Not owned: set and freed by the caller. */
} NuRunState;

/* Checks the config (nu_config_check's limits) and allocates the state. Fails
 * with NU_ERR_ARG for a bad config and NU_ERR_NOMEM, naming the size, when the state would
 * exceed NU_RUNSTATE_MAX_BYTES or an allocation fails. */
NuCode nu_runstate_new(const NuConfig *c, NuRunState **out, NuError *err);
void nu_runstate_free(NuRunState *s);

/* The logits written by the last nu_forward (vocab_size floats). */
const float *nu_runstate_logits(const NuRunState *s);

/* Checks that every tensor of w has the shape c implies, a supported type (norms F32) and
 * data. NU_ERR_FORMAT naming the tensor otherwise. nu_forward calls it on every call. */
NuCode nu_weights_check(const NuConfig *c, const NuWeights *w, NuError *err);

/* Feeds `token` at position `pos` and writes the next-token logits. Errors: NU_ERR_ARG (token
 * out of range, negative pos, config not the one s was made for), NU_ERR_STATE ("context
 * full") when pos >= seq_len, NU_ERR_FORMAT from nu_weights_check. */
NuCode nu_forward(const NuConfig *c, const NuWeights *w, NuRunState *s, int token, int pos, NuError *err);

/* Feeds tokens[0..n) at positions pos0 .. pos0 + n - 1 and writes the logits after the last.
 * Bit-identical to n calls of nu_forward (logits and cache). Errors as nu_forward, checked
 * before anything runs: NU_ERR_ARG for n < 1 or any token out of range, NU_ERR_STATE
 * ("context full") when pos0 + n > seq_len. */
NuCode nu_forward_batch(const NuConfig *c, const NuWeights *w, NuRunState *s, const int *tokens, int n, int pos0,
                        NuError *err);

#endif
