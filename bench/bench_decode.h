#ifndef NUCLEUS_BENCH_DECODE_H
#define NUCLEUS_BENCH_DECODE_H
#include <stdint.h>

#include "../src/api.h"
#include "../src/sampler.h"

/* A sampler with this temperature (0: greedy), top-p and seed; NULL on failure. */
NuSampler *bench_decode_sampler(float temperature, float top_p, uint32_t seed);
void bench_decode_sampler_free(NuSampler *s);
/* Feeds tokens[0..n) from position 0 and draws the first token; -1 on error. */
int bench_prefill(NuApiModel *m, NuSampler *s, const int32_t *tokens, int n);
/* steps times: feed token at pos + i, draw the next. Returns the last token drawn, -1 on error. */
int bench_decode_steps(NuApiModel *m, NuSampler *s, int token, int pos, int steps);

#endif
