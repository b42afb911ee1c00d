/* Native sampling tool, used to check that native and wasm builds agree bit for bit.
 *
 *   nucleus_sample LOGITS_FILE N STEPS [temperature topK topP minP minKeep topN seed]
 *
 * LOGITS_FILE holds float32 little-endian vectors of N logits each. Step i samples from
 * vector i mod (vectors in file). Prints one JSON line per vector with the inspect report
 * (taken before any draw), then one line {"tokens":[...]} with the STEPS drawn tokens. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sampler.h"

static void print_report(const NuReport *r) {
    printf("{\"nucleusSize\":%d,\"count\":%d,\"nucleusMass\":%.17g,\"entropy\":%.17g,\"ids\":[",
           r->nucleus_size, r->count, r->nucleus_mass, r->entropy);
    for (int i = 0; i < r->count; i++) printf(i ? ",%d" : "%d", r->ids[i]);
    printf("],\"probs\":[");
    for (int i = 0; i < r->count; i++) printf(i ? ",%.9g" : "%.9g", (double)r->probs[i]);
    printf("],\"cumulative\":[");
    for (int i = 0; i < r->count; i++) printf(i ? ",%.17g" : "%.17g", r->cumulative[i]);
    printf("]}\n");
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 11) {
        fprintf(stderr, "usage: %s LOGITS_FILE N STEPS [temperature topK topP minP minKeep topN seed]\n",
                argv[0]);
        return 2;
    }
    long n = strtol(argv[2], NULL, 10), steps = strtol(argv[3], NULL, 10);
    FILE *f = fopen(argv[1], "rb");
    if (!f || n < 1) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long vectors = ftell(f) / (long)(n * sizeof(float));
    fseek(f, 0, SEEK_SET);
    float *logits = malloc((size_t)(vectors * n) * sizeof *logits);
    if (!logits || vectors < 1 || fread(logits, sizeof *logits, (size_t)(vectors * n), f) != (size_t)(vectors * n)) {
        fprintf(stderr, "%s holds no whole vector of %ld logits\n", argv[1], n);
        return 2;
    }
    fclose(f);

    NuError err;
    NuSampler *s;
    NuSamplerParams p;
    nu_sampler_default_params(&p);
    uint64_t seed = 0;
    if (argc == 11) {
        p.temperature = strtof(argv[4], NULL);
        p.top_k = atoi(argv[5]);
        p.top_p = strtod(argv[6], NULL);
        p.min_p = strtod(argv[7], NULL);
        p.min_keep = atoi(argv[8]);
        p.top_n = atoi(argv[9]);
        seed = strtoull(argv[10], NULL, 10);
    }
    if (nu_sampler_new(&s, &err) || nu_sampler_set_params(s, &p, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    nu_sampler_seed(s, seed);
    for (long v = 0; v < vectors; v++) {
        if (nu_sampler_run(s, logits + v * n, n, 0, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        print_report(nu_sampler_report(s));
    }
    printf("{\"tokens\":[");
    for (long i = 0; i < steps; i++) {
        if (nu_sampler_run(s, logits + (i % vectors) * n, n, 1, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        printf(i ? ",%d" : "%d", nu_sampler_report(s)->token);
    }
    printf("],\"rngState\":\"%" PRIu64 "\"}\n", nu_sampler_rng_state(s));
    nu_sampler_free(s);
    free(logits);
    return 0;
}
