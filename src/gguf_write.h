/* GGUF writer: builds a GGUF v3 file in memory (for the converter, the synthetic-model
 * generator and tests).
 *
 * Add calls record the first error in the writer and return it; later calls then do
 * nothing, and gguf_writer_finish reports that first error. So a caller can add a run of
 * values and check once. Tensor data is not copied: it must stay alive until finish. */
#ifndef NUCLEUS_GGUF_WRITE_H
#define NUCLEUS_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "gguf.h"

typedef struct GgufWriter GgufWriter;

/* NULL when out of memory. */
GgufWriter *gguf_writer_new(void);
void gguf_writer_free(GgufWriter *w);

/* Scalars. Keys must be unique (NU_ERR_ARG otherwise). */
NuCode gguf_add_u8(GgufWriter *w, const char *key, uint8_t v);
NuCode gguf_add_i8(GgufWriter *w, const char *key, int8_t v);
NuCode gguf_add_u16(GgufWriter *w, const char *key, uint16_t v);
NuCode gguf_add_i16(GgufWriter *w, const char *key, int16_t v);
NuCode gguf_add_u32(GgufWriter *w, const char *key, uint32_t v);
NuCode gguf_add_i32(GgufWriter *w, const char *key, int32_t v);
NuCode gguf_add_u64(GgufWriter *w, const char *key, uint64_t v);
NuCode gguf_add_i64(GgufWriter *w, const char *key, int64_t v);
NuCode gguf_add_f32(GgufWriter *w, const char *key, float v);
NuCode gguf_add_f64(GgufWriter *w, const char *key, double v);
NuCode gguf_add_bool(GgufWriter *w, const char *key, int v);
NuCode gguf_add_str(GgufWriter *w, const char *key, const char *s);
NuCode gguf_add_strn(GgufWriter *w, const char *key, const char *s, uint64_t len);

/* A numeric (or bool) array: count native elements of elem_type at data. */
NuCode gguf_add_arr(GgufWriter *w, const char *key, GgufType elem_type, const void *data,
                    uint64_t count);
/* A string array of count NUL-terminated strings. */
NuCode gguf_add_arr_str(GgufWriter *w, const char *key, const char *const *strs,
                        uint64_t count);
/* Any value given already encoded (type id + the bytes that follow it in the file), for
 * arrays of arrays. The bytes are not checked. */
NuCode gguf_add_raw(GgufWriter *w, const char *key, GgufType type, const void *bytes,
                    size_t len);

/* Sets the data alignment (a power of two) and records it as general.alignment. */
NuCode gguf_set_alignment(GgufWriter *w, uint32_t alignment);

/* A tensor of n_dims dimensions ne[] (ne[0] = columns) of a ggml type; its byte size is
 * computed from them, and data must hold that many bytes until finish. With data NULL the
 * tensor is left zeroed in the finished buffer, for the caller to fill in place (see
 * gguf_writer_tensor_pos), so a large tensor never has to exist twice in memory. */
NuCode gguf_add_tensor(GgufWriter *w, const char *name, uint32_t n_dims, const int64_t *ne,
                       uint32_t ggml_type, const void *data);

/* Lays out the file in one allocation of exactly its size. On success *out is a malloc'd
 * buffer of *size bytes that the caller frees with free(). The writer can be freed
 * afterwards (or finished again). */
NuCode gguf_writer_finish(GgufWriter *w, uint8_t **out, size_t *size, NuError *err);

/* After a successful finish: the byte position in the finished buffer where the data of
 * the index-th tensor added starts (SIZE_MAX for an index past the tensors). */
size_t gguf_writer_tensor_pos(const GgufWriter *w, uint64_t index);

#endif
