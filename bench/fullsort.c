/* The classic top-p baseline the benchmark compares against, written as most samplers do it
 * (llama2.c's sample_topp is the model): softmax with expf, sort every (probability, id)
 * pair with qsort, accumulate until p, draw. No pre-filter, so the whole vocabulary is sorted. */
#include "fullsort.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float prob;
    int id;
} ProbId;

static int by_prob_desc(const void *a, const void *b) {
    const ProbId *x = a, *y = b;
    if (x->prob != y->prob) return x->prob < y->prob ? 1 : -1;
    return x->id - y->id;
}

int fullsort_topp(const float *logits, int n, float temperature, float p, float coin,
                  float *probs, void *scratch) {
    ProbId *pairs = scratch;
    float max = logits[0];
    for (int i = 1; i < n; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += probs[i] = expf((logits[i] - max) / temperature);
    for (int i = 0; i < n; i++) {
        probs[i] = (float)(probs[i] / sum);
        pairs[i].prob = probs[i];
        pairs[i].id = i;
    }
    qsort(pairs, (size_t)n, sizeof *pairs, by_prob_desc);
    double cum = 0;
    int last = n - 1;
    for (int i = 0; i < n; i++) {
        cum += pairs[i].prob;
        if (cum >= p) {
            last = i;
            break;
        }
    }
    double target = coin * cum, running = 0;
    for (int i = 0; i <= last; i++) {
        running += pairs[i].prob;
        if (running > target) return pairs[i].id;
    }
    return pairs[last].id;
}

size_t fullsort_scratch_bytes(int n) { return (size_t)n * sizeof(ProbId); }
