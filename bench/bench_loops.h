#ifndef NUCLEUS_BENCH_LOOPS_H
#define NUCLEUS_BENCH_LOOPS_H
#include <stdint.h>

#include "../src/sampler.h"

void bench_fill_logits(float *logits, int n, float scale, uint32_t seed);
/* Each returns the sum of the drawn tokens (so no call is optimised away), -1 on error. */
int bench_loop_ours(NuSampler *s, const float *logits, int n, int iters);
int bench_loop_fullsort(const float *logits, int n, float p, int iters);
NuSampler *bench_sampler(float top_p);

#endif
