/* The nucleus sampler: logits in, one token and a step report out.
 *
 * The rules (README "Sampling rules" states the same, word for word):
 *   order: bias -> penalties -> temperature -> softmax -> top-k -> top-p -> min-p -> draw.
 *   Tokens are always ordered by probability descending, token id ascending on ties.
 *   temperature <= 0 is greedy: the argmax, ties to the lowest id; no random number is used.
 *   Each non-greedy draw uses exactly one splitmix64 output.
 * The report's arrays belong to the sampler and stay valid until its next call. */
#ifndef NUCLEUS_SAMPLER_H
#define NUCLEUS_SAMPLER_H

#include <stdint.h>

#include "common.h"

#define NU_MAX_VOCAB (1 << 24)

typedef struct {
    float temperature;       /* <= 0: greedy; must be finite */
    int32_t top_k;           /* <= 0 or >= n: off */
    double top_p;            /* in [0, 1]; 1: off; 0: keep one token */
    double min_p;            /* in [0, 1]; 0: off */
    int32_t min_keep;        /* >= 0; no filter keeps fewer (bounded by the non-zero tokens) */
    int32_t top_n;           /* >= 0; the report lists max(nucleus size, top_n) entries */
    int32_t penalty_last_n;  /* >= 0; how many recent tokens the penalties look at; 0: off */
    float repeat_penalty;    /* > 0; 1: off */
    float frequency_penalty; /* finite; 0: off */
    float presence_penalty;  /* finite; 0: off */
} NuSamplerParams;

typedef struct {
    int32_t token;        /* the drawn token; -1 when inspecting */
    int32_t rank;         /* its position in the ordered entries; -1 when inspecting */
    int32_t n;            /* vocabulary size of this call */
    int32_t nucleus_size; /* tokens kept after every filter */
    int32_t count;        /* entries in ids / probs / cumulative */
    float prob;           /* the drawn token's probability before truncation; NaN when inspecting */
    double coin;          /* the uniform number in [0, 1) used by the draw; NaN when none was used */
    double nucleus_mass;  /* sum of the kept tokens' probabilities */
    double entropy;       /* nats, of the full distribution after temperature */
    const int32_t *ids;   /* ordered entries */
    const float *probs;   /* probability after temperature, before truncation */
    const double *cumulative; /* running sum of probs */
} NuReport;

typedef struct NuSampler NuSampler;

void nu_sampler_default_params(NuSamplerParams *p);

/* A sampler with default parameters and seed 0. */
NuCode nu_sampler_new(NuSampler **out, NuError *err);
void nu_sampler_free(NuSampler *s);

/* Validates every field; on error the previous parameters stay in force. */
NuCode nu_sampler_set_params(NuSampler *s, const NuSamplerParams *p, NuError *err);
const NuSamplerParams *nu_sampler_params(const NuSampler *s);

/* Restarts the random stream: state = seed. */
void nu_sampler_seed(NuSampler *s, uint64_t seed);
uint64_t nu_sampler_rng_state(const NuSampler *s);

/* Replaces the logit-bias map. A bias may be -Inf (bans the token) but not NaN or +Inf.
 * Ids are checked against the vocabulary at each call. count 0 clears it. */
NuCode nu_sampler_set_bias(NuSampler *s, const int32_t *ids, const float *bias, int32_t count,
                           NuError *err);

/* The penalties look at the most recent penalty_last_n accepted tokens. Drawn tokens are
 * accepted automatically; a prompt's tokens can be accepted with this call. */
void nu_sampler_accept(NuSampler *s, int32_t token);
void nu_sampler_reset_history(NuSampler *s);

/* Applies the rules to logits[0..n) and fills the report. draw != 0 draws a token (and
 * accepts it into the history); draw == 0 inspects: same report, no RNG advance.
 * The logits are not modified. */
NuCode nu_sampler_run(NuSampler *s, const float *logits, int64_t n, int draw, NuError *err);
const NuReport *nu_sampler_report(const NuSampler *s);

/* The exponential used by the softmax: exact to about one ulp, and the same bits in every
 * build (scalar, SIMD128, native), which plain expf does not promise. */
float nu_expf(float x);

#endif
