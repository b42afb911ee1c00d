/* Native generation, to check that native and wasm builds draw the same tokens.
 *
 *   nucleus_generate MODEL [TOKENIZER|-] PROMPT MAX_TOKENS TEMPERATURE TOP_P TOP_K MIN_P SEED
 *
 * Prints the generated token ids, one line, space separated. Stops at EOS, like generate(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "sampler.h"
#include "tests/files.h"


int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s MODEL TOKENIZER|- PROMPT MAX_TOKENS TEMPERATURE TOP_P TOP_K MIN_P SEED\n",
                argv[0]);
        return 2;
    }
    size_t size = 0, tok_size = 0;
    uint8_t *data = read_file(argv[1], &size), *tok = NULL;
    if (strcmp(argv[2], "-") != 0) tok = read_file(argv[2], &tok_size);
    if (!data || (strcmp(argv[2], "-") != 0 && !tok)) {
        fprintf(stderr, "cannot read the model or tokenizer\n");
        return 2;
    }
    NuApiModel *m = nu_model_open(data, size, tok, tok_size, 0);
    if (!m) {
        fprintf(stderr, "%s\n", nu_creation_error());
        return 1;
    }
    int n = nu_model_tokenize(m, argv[3], (int)strlen(argv[3]), 1);
    if (n <= 0) {
        fprintf(stderr, "%s\n", nu_model_error(m));
        return 1;
    }
    int max_tokens = atoi(argv[4]), vocab = nu_model_info(m, 0), eos = nu_model_info(m, 8);
    int context = nu_model_info(m, 1);
    int32_t *tokens = malloc((size_t)(n + max_tokens) * sizeof *tokens);
    memcpy(tokens, nu_model_ids(m), (size_t)n * sizeof *tokens);

    NuSampler *s;
    NuError err;
    NuSamplerParams p;
    nu_sampler_default_params(&p);
    p.temperature = strtof(argv[5], NULL);
    p.top_p = strtod(argv[6], NULL);
    p.top_k = atoi(argv[7]);
    p.min_p = strtod(argv[8], NULL);
    if (nu_sampler_new(&s, &err) || nu_sampler_set_params(s, &p, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    nu_sampler_seed(s, strtoull(argv[9], NULL, 10));
    const float *logits = NULL;
    for (int pos = 0, generated = 0; generated < max_tokens && pos < context; generated++) {
        logits = nu_model_forward_batch(m, tokens + pos, n - pos, pos); /* the prompt, then each token */
        pos = n;
        if (!logits || nu_sampler_run(s, logits, vocab, 1, &err) != NU_OK) {
            fprintf(stderr, "%s\n", logits ? err.message : nu_model_error(m));
            return 1;
        }
        tokens[n++] = nu_sampler_report(s)->token;
        printf(generated ? " %d" : "%d", tokens[n - 1]);
        if (tokens[n - 1] == eos) break;
    }
    printf("\n");
    nu_sampler_free(s);
    free(tokens);
    nu_model_close(m);
    return 0;
}
