/* Decode loops the end-to-end benchmark times: the model's forward pass (nu_model_forward,
 * i.e. nu_forward) and the sampler, with no host calls in between. Shared by the wasm bench
 * modules (timed from JS around each call) and the native bench binary. EOS does not stop a
 * loop: these measure speed, and the synthetic models generate noise anyway. */
#include "bench_decode.h"

#include "../src/api.h"

NU_EXPORT NuSampler *bench_decode_sampler(float temperature, float top_p, uint32_t seed) {
    NuSampler *s;
    NuSamplerParams prm;
    nu_sampler_default_params(&prm);
    prm.temperature = temperature;
    prm.top_p = top_p;
    if (nu_sampler_new(&s, NULL) != NU_OK) return NULL;
    if (nu_sampler_set_params(s, &prm, NULL) != NU_OK) {
        nu_sampler_free(s);
        return NULL;
    }
    nu_sampler_seed(s, seed);
    return s;
}

NU_EXPORT void bench_decode_sampler_free(NuSampler *s) { nu_sampler_free(s); }

static int draw(NuApiModel *m, NuSampler *s, const float *logits) {
    if (!logits || nu_sampler_run(s, logits, nu_model_info(m, 0), 1, NULL) != NU_OK) return -1;
    return nu_sampler_report(s)->token;
}

/* The prompt as one batch (chunks of positions through each weight matrix), as generate() feeds it. */
NU_EXPORT int bench_prefill(NuApiModel *m, NuSampler *s, const int32_t *tokens, int n) {
    return draw(m, s, nu_model_forward_batch(m, tokens, n, 0));
}

NU_EXPORT int bench_decode_steps(NuApiModel *m, NuSampler *s, int token, int pos, int steps) {
    for (int i = 0; i < steps && token >= 0; i++) token = draw(m, s, nu_model_forward(m, token, pos + i));
    return token;
}
