/* The converter in the wasm surface. The host mallocs the inputs and keeps them (they are
 * only read; it frees them after the call), calls nu_convert_model or nu_synth_model, and
 * gets an output handle: it copies the file out from nu_output_data / nu_output_size, then
 * frees the handle with nu_output_free. A failed call returns NULL, with the reason at
 * nu_creation_code / nu_creation_error (api.c). */
#include <stdlib.h>

#include "api.h"
#include "convert.h"

typedef struct NuApiOutput {
    uint8_t *data;
    size_t size;
} NuApiOutput;

static NuApiOutput *wrap(NuCode rc, uint8_t *data, size_t size) {
    if (rc != NU_OK) return NULL;
    NuApiOutput *o = malloc(sizeof *o);
    if (!o) {
        free(data);
        nu_fail(&nu_creation, NU_ERR_NOMEM, "cannot allocate an output handle");
        return NULL;
    }
    o->data = data;
    o->size = size;
    return o;
}

/* A GGUF (llama, qwen2, qwen3, gemma3) or llama2.c checkpoint (with tok, its tokenizer.bin; tok
 * NULL for GGUF) to a GGUF file whose matrices are of ggml type `type` (0 f32, 1 f16, 30 bf16,
 * 8 q8_0, 2 q4_0, 3 q4_1, 6 q5_0, 7 q5_1, 11-14 q3_K-q6_K, 20 iq4_nl, 23 iq4_xs) or in a mixture
 * (convert.h: 266 q2_K, 268 q3_K_M, 271 q4_K_M, 273 q5_K_M). name: general.name
 * for a llama2.c input (NULL for the default). */
NU_EXPORT NuApiOutput *nu_convert_model(const uint8_t *model, size_t model_size,
                                        const uint8_t *tok, size_t tok_size, int type,
                                        const char *name) {
    uint8_t *data;
    size_t size;
    NuCode rc = nu_convert(model, model_size, tok, tok_size, (NuType)type, name, &data, &size,
                           &nu_creation);
    return wrap(rc, data, size);
}

/* A random-weight model (see NuSynthSpec: shape, arch NULL or a name, layers, window and
 * flags bit 0 untied output, bit 1 Llama 3 rope factors, std 0 for 0.02) with the tokenizer of the GGUF file
 * in vocab and chat_template (NULL: the vocabulary's); the 64-bit seed comes as two 32-bit
 * halves. */
NU_EXPORT NuApiOutput *nu_synth_model(const char *shape, const char *arch, int layers, int window,
                                      int flags, float std, const uint8_t *vocab, size_t vocab_size, int type,
                                      uint32_t seed_lo, uint32_t seed_hi, const char *name,
                                      const char *chat_template) {
    NuSynthSpec spec = {shape, arch, layers, window, flags & 1, (flags >> 1) & 1, std};
    NuSynthModel model;
    uint8_t *data = NULL;
    size_t size = 0;
    NuCode rc = nu_synth_spec(&spec, &model, &nu_creation);
    if (rc == NU_OK)
        rc = nu_synth(&model, vocab, vocab_size, (NuType)type, (uint64_t)seed_hi << 32 | seed_lo, name,
                      chat_template, &data, &size, &nu_creation);
    return wrap(rc, data, size);
}

NU_EXPORT const uint8_t *nu_output_data(const NuApiOutput *o) { return o->data; }

/* A double, since a size of 2 GiB or more does not fit the i32 the host reads. */
NU_EXPORT double nu_output_size(const NuApiOutput *o) { return (double)o->size; }

NU_EXPORT void nu_output_free(NuApiOutput *o) {
    if (!o) return;
    free(o->data);
    free(o);
}
