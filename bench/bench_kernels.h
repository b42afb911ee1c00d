#ifndef NUCLEUS_BENCH_KERNELS_H
#define NUCLEUS_BENCH_KERNELS_H
#include <stdint.h>

typedef struct BenchMatvec BenchMatvec;

/* A rows x cols matrix of type (NuType: 0 F32, 1 F16, 2 Q4_0, 8 Q8_0) with seeded random
 * weights, its input vector (also quantized to Q8_0) and output. NULL on a bad shape or no memory. */
BenchMatvec *bench_matvec_new(int type, int rows, int cols, uint32_t seed);
void bench_matvec_free(BenchMatvec *b);
double bench_matvec_weight_bytes(const BenchMatvec *b);
/* iters calls of nu_matvec; returns a sum of outputs so no call is optimised away. */
double bench_matvec_loop(BenchMatvec *b, int iters);

#endif
