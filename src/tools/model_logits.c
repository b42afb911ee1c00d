/* model_logits: the native forward pass on a token list, for comparison with the wasm builds.
 *
 *   model_logits MODEL ID [ID ...]
 *
 * MODEL is a GGUF file or a llama2.c checkpoint (.bin). Feeds the ids at positions 0, 1, ...
 * and prints the logits after the last one, one per line with 9 significant digits (enough
 * to give back the exact float32). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gguf.h"
#include "loader.h"
#include "model.h"
#include "tests/files.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: model_logits MODEL ID [ID ...]\n");
        return 2;
    }
    size_t size = 0;
    uint8_t *data = read_file(argv[1], &size);
    if (!data) {
        fprintf(stderr, "model_logits: cannot read %s\n", argv[1]);
        return 1;
    }
    NuError err = {0};
    NuConfig cfg;
    NuWeights w = {0};
    GgufFile *g = NULL;
    NuRunState *s = NULL;
    NuCode rc = nu_load_weights(data, size, &g, &cfg, &w, &err);
    if (rc == NU_OK) rc = nu_runstate_new(&cfg, &s, &err);
    for (int pos = 0; rc == NU_OK && pos < argc - 2; pos++) {
        char *end;
        long id = strtol(argv[pos + 2], &end, 10);
        if (*end || id < 0 || id > INT32_MAX)
            rc = nu_fail(&err, NU_ERR_ARG, "token id \"%s\" is not a non-negative integer", argv[pos + 2]);
        else
            rc = nu_forward(&cfg, &w, s, (int)id, pos, &err);
    }
    if (rc == NU_OK) {
        const float *logits = nu_runstate_logits(s);
        for (int i = 0; i < cfg.vocab_size; i++) printf("%.9g\n", (double)logits[i]);
    } else {
        fprintf(stderr, "model_logits: %s\n", err.message);
    }
    nu_runstate_free(s);
    nu_weights_free(&w);
    gguf_close(g);
    free(data);
    return rc == NU_OK ? 0 : 1;
}
