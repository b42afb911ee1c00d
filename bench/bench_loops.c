/* Loops the benchmark times, shared by the wasm bench module and the native bench binary, so
 * both measure the same C with no per-call host overhead. */
#include "bench_loops.h"

#include <math.h>
#include <stdlib.h>

#include "../src/api.h"
#include "../src/tests/logits.h"
#include "peers.h"

NU_EXPORT void bench_fill_logits(float *logits, int n, float scale, uint32_t seed) {
    normal_logits(logits, n, scale, 0x9E3779B97F4A7C15ull * (seed + 1));
}

NU_EXPORT int bench_loop_ours(NuSampler *s, const float *logits, int n, int iters) {
    int sum = 0;
    for (int i = 0; i < iters; i++) {
        if (nu_sampler_run(s, logits, n, 1, NULL) != NU_OK) return -1;
        sum += nu_sampler_report(s)->token;
    }
    return sum;
}

/* The same coins for every sampler: the golden-ratio sequence. */
static float coin(int i) { return (float)fmod(i * 0.6180339887, 1.0); }

/* peer 0: llama2.c's top-p, 1: llama.cpp's top-p -> dist (peers.h). */
NU_EXPORT int bench_loop_peer(int peer, const float *logits, int n, float p, int iters) {
    PeerScratch *w = peer_scratch_new(n);
    int sum = -1;
    if (w) {
        sum = 0;
        for (int i = 0; i < iters; i++)
            sum += peer ? llamacpp_topp(logits, n, p, coin(i), w) : llama2c_topp(logits, n, 1.0f, p, coin(i), w);
    }
    peer_scratch_free(w);
    return sum;
}

/* How many of `draws` draws of ours the peer repeats when given our coin: a check that the
 * baselines sample top-p as ours does. A token whose logit is within 0.01 of ours counts: deep
 * in a large nucleus the running sums (our exp polynomial against expf, float against double)
 * differ by a few neighbouring tokens' worth, whose logits lie closer than that. */
NU_EXPORT int bench_peer_agreement(int peer, NuSampler *s, const float *logits, int n, float p, int draws) {
    PeerScratch *w = peer_scratch_new(n);
    int agree = -1;
    if (w) {
        agree = 0;
        for (int i = 0; i < draws && nu_sampler_run(s, logits, n, 1, NULL) == NU_OK; i++) {
            const NuReport *r = nu_sampler_report(s);
            float c = (float)r->coin;
            int t = peer ? llamacpp_topp(logits, n, p, c, w) : llama2c_topp(logits, n, 1.0f, p, c, w);
            agree += fabsf(logits[t] - logits[r->token]) <= 0.01f;
        }
    }
    peer_scratch_free(w);
    return agree;
}

NU_EXPORT NuSampler *bench_sampler(float top_p) {
    NuSampler *s;
    NuSamplerParams prm;
    nu_sampler_default_params(&prm);
    prm.top_p = top_p;
    if (nu_sampler_new(&s, NULL) != NU_OK) return NULL;
    nu_sampler_set_params(s, &prm, NULL);
    return s;
}
