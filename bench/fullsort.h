#ifndef NUCLEUS_BENCH_FULLSORT_H
#define NUCLEUS_BENCH_FULLSORT_H
#include <stddef.h>

/* Returns the drawn token; probs (n floats) and scratch (fullsort_scratch_bytes) are work space. */
int fullsort_topp(const float *logits, int n, float temperature, float p, float coin,
                  float *probs, void *scratch);
size_t fullsort_scratch_bytes(int n);

#endif
