/* Loops the benchmark times, shared by the wasm bench module and the native bench binary, so
 * both measure the same C with no per-call host overhead. */
#include "bench_loops.h"

#include <math.h>
#include <stdlib.h>

#include "../src/api.h"
#include "../src/tests/logits.h"
#include "fullsort.h"

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

NU_EXPORT int bench_loop_fullsort(const float *logits, int n, float p, int iters) {
    float *probs = malloc((size_t)n * sizeof *probs);
    void *scratch = malloc(fullsort_scratch_bytes(n));
    int sum = -1;
    if (probs && scratch) {
        sum = 0;
        for (int i = 0; i < iters; i++)
            sum += fullsort_topp(logits, n, 1.0f, p, (float)fmod(i * 0.6180339887, 1.0), probs, scratch);
    }
    free(probs);
    free(scratch);
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
