#ifndef NUCLEUS_BENCH_PEERS_H
#define NUCLEUS_BENCH_PEERS_H
/* The two top-p samplers the benchmark compares ours with, written here from their published
 * algorithms (not their code) and run on the same logits in the same run:
 *   llama2c_topp: llama2.c's sample(): logits / T, softmax, keep the tokens above
 *                 (1 - p) / (n - 1), sort them, cut at p, draw.
 *   llamacpp_topp: llama.cpp's sampler chain top-p -> dist: the candidate array of every
 *                 token, a full softmax, a partial sort of the top 256 by logit through a
 *                 128-bucket histogram (all of them when 256 do not reach p), cut at p, then
 *                 dist's softmax over the kept tokens and its draw.
 * Each returns the drawn token; coin is in [0, 1). */
#include <stddef.h>

typedef struct PeerScratch PeerScratch;

PeerScratch *peer_scratch_new(int n);
void peer_scratch_free(PeerScratch *w);
int llama2c_topp(const float *logits, int n, float temperature, float p, float coin, PeerScratch *w);
int llamacpp_topp(const float *logits, int n, float p, float coin, PeerScratch *w);

#endif
