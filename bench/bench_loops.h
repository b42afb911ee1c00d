#ifndef NUCLEUS_BENCH_LOOPS_H
#define NUCLEUS_BENCH_LOOPS_H
#include <stdint.h>

#include "../src/sampler.h"

void bench_fill_logits(float *logits, int n, float scale, uint32_t seed);
/* Each returns the sum of the drawn tokens (so no call is optimised away), -1 on error. */
int bench_loop_ours(NuSampler *s, const float *logits, int n, int iters);
/* peer 0: llama2.c's top-p, 1: llama.cpp's top-p -> dist (peers.h). */
int bench_loop_peer(int peer, const float *logits, int n, float p, int iters);
/* How many of `draws` draws of ours (top-p p) the peer repeats with our coin; -1 on error. */
int bench_peer_agreement(int peer, NuSampler *s, const float *logits, int n, float p, int draws);
NuSampler *bench_sampler(float top_p);

#endif
