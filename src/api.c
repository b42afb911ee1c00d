/* The surface exported from the wasm module (and linked natively for tests): opaque
 * handles, integer NuCode results, and a readable message per handle for the last error.
 * Only plain i32/f32/f64 cross the boundary; 64-bit seeds travel as two 32-bit halves. */
#include "api.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

struct NuApiSampler {
    NuSampler *sampler;
    NuError err;
    float *input; /* logits written here by the host before nu_sampler_step */
    int64_t input_cap;
};

/* Failures before any handle exists (creating a sampler, opening a model). */
NuError nu_creation;

NU_EXPORT int nu_api_version(void) { return NU_API_VERSION; }

NU_EXPORT const char *nu_creation_error(void) { return nu_creation.message; }
NU_EXPORT int nu_creation_code(void) { return nu_creation.code; }

/* Bytes currently allocated by malloc: lets hosts check that failures and dispose leak nothing. */
NU_EXPORT double nu_heap_used(void) {
#ifdef __EMSCRIPTEN__
    return (double)mallinfo().uordblks;
#else
    return (double)mallinfo2().uordblks;
#endif
}

NU_EXPORT NuApiSampler *nu_sampler_create(void) {
    NuApiSampler *h = calloc(1, sizeof *h);
    if (!h) {
        nu_fail(&nu_creation, NU_ERR_NOMEM, "cannot allocate a sampler");
        return NULL;
    }
    if (nu_sampler_new(&h->sampler, &nu_creation) != NU_OK) {
        free(h);
        return NULL;
    }
    return h;
}

NU_EXPORT void nu_sampler_destroy(NuApiSampler *h) {
    if (!h) return;
    nu_sampler_free(h->sampler);
    free(h->input);
    free(h);
}

NU_EXPORT const char *nu_sampler_error(NuApiSampler *h) { return h->err.message; }
NU_EXPORT int nu_sampler_error_code(NuApiSampler *h) { return h->err.code; }

NU_EXPORT int nu_sampler_configure(NuApiSampler *h, float temperature, int top_k, double top_p,
                                   double min_p, int min_keep, int top_n, int penalty_last_n,
                                   float repeat_penalty, float frequency_penalty,
                                   float presence_penalty) {
    NuSamplerParams p = { temperature, top_k, top_p, min_p, min_keep, top_n,
                          penalty_last_n, repeat_penalty, frequency_penalty, presence_penalty };
    return nu_sampler_set_params(h->sampler, &p, &h->err);
}

NU_EXPORT void nu_sampler_reseed(NuApiSampler *h, uint32_t lo, uint32_t hi) {
    nu_sampler_seed(h->sampler, (uint64_t)hi << 32 | lo);
}

NU_EXPORT uint32_t nu_sampler_rng_lo(NuApiSampler *h) {
    return (uint32_t)nu_sampler_rng_state(h->sampler);
}

NU_EXPORT uint32_t nu_sampler_rng_hi(NuApiSampler *h) {
    return (uint32_t)(nu_sampler_rng_state(h->sampler) >> 32);
}

NU_EXPORT int nu_sampler_bias(NuApiSampler *h, const int32_t *ids, const float *bias, int count) {
    return nu_sampler_set_bias(h->sampler, ids, bias, count, &h->err);
}

NU_EXPORT void nu_sampler_accept_token(NuApiSampler *h, int token) {
    nu_sampler_accept(h->sampler, token);
}

NU_EXPORT void nu_sampler_clear_history(NuApiSampler *h) { nu_sampler_reset_history(h->sampler); }

/* A buffer for n logits, owned by the handle; NULL (with a message) if n is out of range or
 * memory is short. */
NU_EXPORT float *nu_sampler_input(NuApiSampler *h, int n) {
    if (n < 1 || n > NU_MAX_VOCAB) {
        nu_fail(&h->err, NU_ERR_LOGITS, "vocabulary size %d is out of range (1 .. %d)", n,
                NU_MAX_VOCAB);
        return NULL;
    }
    if (n > h->input_cap) {
        float *grown = malloc((size_t)n * sizeof *grown);
        if (!grown) {
            nu_fail(&h->err, NU_ERR_NOMEM, "cannot allocate %d logits", n);
            return NULL;
        }
        free(h->input);
        h->input = grown;
        h->input_cap = n;
    }
    return h->input;
}

/* Runs the sampler on the first n logits of the input buffer (or on `logits` when the host
 * points at logits already in wasm memory, e.g. a model's output). */
NU_EXPORT int nu_sampler_step(NuApiSampler *h, const float *logits, int n, int draw) {
    if (!logits) logits = h->input;
    if (logits == h->input && n > h->input_cap)
        return nu_fail(&h->err, NU_ERR_ARG, "call nu_sampler_input(%d) before sampling", n);
    return nu_sampler_run(h->sampler, logits, n, draw, &h->err);
}

/* The last report's fields. */
NU_EXPORT int nu_report_token(NuApiSampler *h) { return nu_sampler_report(h->sampler)->token; }
NU_EXPORT int nu_report_rank(NuApiSampler *h) { return nu_sampler_report(h->sampler)->rank; }
NU_EXPORT int nu_report_n(NuApiSampler *h) { return nu_sampler_report(h->sampler)->n; }
NU_EXPORT int nu_report_nucleus_size(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->nucleus_size;
}
NU_EXPORT int nu_report_count(NuApiSampler *h) { return nu_sampler_report(h->sampler)->count; }
NU_EXPORT float nu_report_prob(NuApiSampler *h) { return nu_sampler_report(h->sampler)->prob; }
NU_EXPORT double nu_report_coin(NuApiSampler *h) { return nu_sampler_report(h->sampler)->coin; }
NU_EXPORT double nu_report_nucleus_mass(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->nucleus_mass;
}
NU_EXPORT double nu_report_entropy(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->entropy;
}
NU_EXPORT const int32_t *nu_report_ids(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->ids;
}
NU_EXPORT const float *nu_report_probs(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->probs;
}
NU_EXPORT const double *nu_report_cumulative(NuApiSampler *h) {
    return nu_sampler_report(h->sampler)->cumulative;
}
