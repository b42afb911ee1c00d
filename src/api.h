/* The exported surface of the wasm module; see api.c. */
#ifndef NUCLEUS_API_H
#define NUCLEUS_API_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "pool.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define NU_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define NU_EXPORT
#endif

/* Bumped whenever an exported signature changes; web/wasm.js checks it. */
#define NU_API_VERSION 1

typedef struct NuApiSampler NuApiSampler;
typedef struct NuApiModel NuApiModel;

int nu_api_version(void);
extern NuError nu_creation; /* the last failure to create a handle */
const char *nu_creation_error(void);
int nu_creation_code(void);
double nu_heap_used(void);
NuApiSampler *nu_sampler_create(void);
void nu_sampler_destroy(NuApiSampler *h);
const char *nu_sampler_error(NuApiSampler *h);
int nu_sampler_error_code(NuApiSampler *h);
int nu_sampler_configure(NuApiSampler *h, float temperature, int top_k, double top_p,
                         double min_p, int min_keep, int top_n, int penalty_last_n,
                         float repeat_penalty, float frequency_penalty, float presence_penalty);
void nu_sampler_reseed(NuApiSampler *h, uint32_t lo, uint32_t hi);
uint32_t nu_sampler_rng_lo(NuApiSampler *h);
uint32_t nu_sampler_rng_hi(NuApiSampler *h);
int nu_sampler_bias(NuApiSampler *h, const int32_t *ids, const float *bias, int count);
void nu_sampler_accept_token(NuApiSampler *h, int token);
void nu_sampler_clear_history(NuApiSampler *h);
float *nu_sampler_input(NuApiSampler *h, int n);
int nu_sampler_step(NuApiSampler *h, const float *logits, int n, int draw);
int nu_report_token(NuApiSampler *h);
int nu_report_rank(NuApiSampler *h);
int nu_report_n(NuApiSampler *h);
int nu_report_nucleus_size(NuApiSampler *h);
int nu_report_count(NuApiSampler *h);
float nu_report_prob(NuApiSampler *h);
double nu_report_coin(NuApiSampler *h);
double nu_report_nucleus_mass(NuApiSampler *h);
double nu_report_entropy(NuApiSampler *h);
const int32_t *nu_report_ids(NuApiSampler *h);
const float *nu_report_probs(NuApiSampler *h);
const double *nu_report_cumulative(NuApiSampler *h);

/* api_model.c */
NuApiModel *nu_model_open(uint8_t *data, size_t size, uint8_t *tok, size_t tok_size, int vocab_only);
void nu_model_close(NuApiModel *m);
const char *nu_model_error(NuApiModel *m);
int nu_model_error_code(NuApiModel *m);
int nu_model_info(NuApiModel *m, int field);
double nu_model_parameters(NuApiModel *m);
const char *nu_model_str(NuApiModel *m, int field);
int nu_model_tokenize(NuApiModel *m, const char *text, int len, int flags);
const int32_t *nu_model_ids(NuApiModel *m);
int nu_model_wants(NuApiModel *m, int which);
int nu_model_eog_count(NuApiModel *m);
const int32_t *nu_model_eog_ids(NuApiModel *m);
const char *nu_model_bytes(NuApiModel *m);
int nu_model_piece(NuApiModel *m, int id);
int nu_model_token_text(NuApiModel *m, int id);
int nu_model_decode(NuApiModel *m, const int32_t *ids, int n);
const float *nu_model_forward(NuApiModel *m, int token, int pos);
int nu_model_set_threads(NuApiModel *m, int n);
NuPool *nu_model_pool(NuApiModel *m);
const float *nu_model_forward_batch(NuApiModel *m, const int32_t *tokens, int n, int pos);

/* api_convert.c */
typedef struct NuApiOutput NuApiOutput;
NuApiOutput *nu_convert_model(const uint8_t *model, size_t model_size, const uint8_t *tok,
                              size_t tok_size, int type, const char *name);
NuApiOutput *nu_synth_model(const char *shape, const char *arch, int layers, int window, int flags,
                            float std, const uint8_t *vocab, size_t vocab_size, int type, uint32_t seed_lo,
                            uint32_t seed_hi, const char *name, const char *chat_template);
const uint8_t *nu_output_data(const NuApiOutput *o);
double nu_output_size(const NuApiOutput *o);
void nu_output_free(NuApiOutput *o);

#endif
