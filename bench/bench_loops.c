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

NU_EXPORT NuSampler *bench_sampler(float top_p) {
    NuSampler *s;
    NuSamplerParams prm;
    nu_sampler_default_params(&prm);
    prm.top_p = top_p;
    if (nu_sampler_new(&s, NULL) != NU_OK) return NULL;
    nu_sampler_set_params(s, &prm, NULL);
    return s;
}
