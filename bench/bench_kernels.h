#ifndef NUCLEUS_BENCH_KERNELS_H
#define NUCLEUS_BENCH_KERNELS_H
#include <stdint.h>

typedef struct BenchMatvec BenchMatvec;

/* Types by number (NuType, ggml's ids): the count to loop to, whether the bench can time
 * one (the table can write and multiply it), its block size and its name. */
int bench_type_count(void);
int bench_type_benchable(int type);
int bench_type_block_size(int type);
const char *bench_type_name(int type);

/* A rows x cols matrix of type (a benchable NuType) with seeded random weights, its input
 * vector (also in the type's activation form) and output. NULL on a bad shape or type, or
 * no memory. */
BenchMatvec *bench_matvec_new(int type, int rows, int cols, uint32_t seed);
void bench_matvec_free(BenchMatvec *b);
double bench_matvec_weight_bytes(const BenchMatvec *b);
/* iters calls of nu_matvec; returns a sum of outputs so no call is optimised away. */
double bench_matvec_loop(BenchMatvec *b, int iters);
/* The batched product (a prompt chunk): n distinct seeded inputs for the matrix (0, or -1
 * without memory), then iters calls of nu_matmul over all of them. */
int bench_matmul_inputs(BenchMatvec *b, int n, uint32_t seed);
double bench_matmul_loop(BenchMatvec *b, int iters);

/* Decode's regime: copies of a stories110M-shaped layer (seven matrices, rows interleaved as
 * the loader does) until they hold more than min_mib MiB, so a pass over all of them reads its
 * weights from memory, not cache. NULL when 768 is not whole blocks of type, or no memory. */
typedef struct BenchStack BenchStack;
BenchStack *bench_stack_new(int type, int min_mib, uint32_t seed);
void bench_stack_free(BenchStack *b);
double bench_stack_weight_bytes(const BenchStack *b);
/* iters passes over every copy's seven products; returns a sum of outputs. */
double bench_stack_loop(BenchStack *b, int iters);

#endif
