/* Random logits s * N(0,1) (Box-Muller over a xorshift64 stream), the same on every build:
 * the sampler tests and the sampler benchmark draw their vocabularies from it. */
#ifndef NUCLEUS_TEST_LOGITS_H
#define NUCLEUS_TEST_LOGITS_H

#include <math.h>
#include <stdint.h>

static void normal_logits(float *l, int n, float scale, uint64_t state) {
    for (int i = 0; i < n; i += 2) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double u1 = ((state >> 11) + 1.0) * 0x1p-53;
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        double u2 = (state >> 11) * 0x1p-53;
        double r = sqrt(-2 * log(u1));
        l[i] = (float)(scale * r * cos(6.283185307179586 * u2));
        if (i + 1 < n) l[i + 1] = (float)(scale * r * sin(6.283185307179586 * u2));
    }
}

#endif
