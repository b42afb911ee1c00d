/* GGUF reader: a bounds-checked parser over a byte buffer the caller keeps alive.
 *
 * gguf_open validates the whole header up front (metadata, tensor infos, alignment, tensor
 * extents), so afterwards every getter only has to check the key and the value type.
 * Strings and tensor data point into the caller's buffer: it must outlive the GgufFile.
 * Supports GGUF versions 2 and 3, little-endian. */
#ifndef NUCLEUS_GGUF_H
#define NUCLEUS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Metadata value types, numbered as in the GGUF file. */
typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12
} GgufType;

/* A string inside the file: len bytes at ptr, not NUL-terminated. */
typedef struct {
    const char *ptr;
    uint64_t len;
} GgufStr;

#define GGUF_MAX_DIMS 4

typedef struct {
    GgufStr name;
    uint32_t n_dims;          /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the fastest-varying (columns); unused dims are 1 */
    uint32_t type;            /* ggml type id (NuType for the types we compute with) */
    uint64_t offset;          /* byte offset from the start of the data section */
    uint64_t size;            /* byte size computed from ne and type */
    const uint8_t *data;      /* points into the caller's buffer */
} GgufTensorInfo;

typedef struct GgufFile GgufFile;

/* Parses and validates the file in data[0..size). On success *out is a new handle to free
 * with gguf_close. Errors: NU_ERR_FORMAT (malformed), NU_ERR_UNSUPPORTED (version, tensor
 * type), NU_ERR_NOMEM. */
NuCode gguf_open(const uint8_t *data, size_t size, GgufFile **out, NuError *err);
void gguf_close(GgufFile *g);

uint32_t gguf_version(const GgufFile *g);
uint64_t gguf_alignment(const GgufFile *g);

/* --- metadata ------------------------------------------------------------------------ */
uint64_t gguf_kv_count(const GgufFile *g);
/* Index of key, or -1 when absent. */
int64_t gguf_find_key(const GgufFile *g, const char *key);
GgufStr gguf_kv_key(const GgufFile *g, uint64_t index);
GgufType gguf_kv_type(const GgufFile *g, uint64_t index);
/* The value of entry index (< gguf_kv_count) exactly as encoded after its type id: a
 * scalar's bytes, a string's u64 length and characters, an array's element type, count and
 * elements (nested arrays included). Copy it verbatim with gguf_add_raw (gguf_write.h). */
void gguf_kv_raw(const GgufFile *g, uint64_t index, const uint8_t **bytes, size_t *len);

/* Typed getters. Each fails with NU_ERR_FORMAT and a message naming the key when it is
 * missing or holds an incompatible type. Integer getters accept any integer type whose
 * value fits; gguf_get_f32 accepts FLOAT32 and FLOAT64. */
NuCode gguf_get_u32(const GgufFile *g, const char *key, uint32_t *out, NuError *err);
NuCode gguf_get_i64(const GgufFile *g, const char *key, int64_t *out, NuError *err);
NuCode gguf_get_f32(const GgufFile *g, const char *key, float *out, NuError *err);
NuCode gguf_get_bool(const GgufFile *g, const char *key, int *out, NuError *err);
NuCode gguf_get_str(const GgufFile *g, const char *key, GgufStr *out, NuError *err);

/* Arrays. gguf_get_arr gives the element type and count (an array of arrays reports
 * GGUF_TYPE_ARRAY; its contents are validated but not accessible). Element getters check
 * the index and, like the scalar getters, convert integers that fit and FLOAT64. */
NuCode gguf_get_arr(const GgufFile *g, const char *key, GgufType *elem_type, uint64_t *count,
                    NuError *err);
NuCode gguf_get_arr_str(const GgufFile *g, const char *key, uint64_t index, GgufStr *out,
                        NuError *err);
NuCode gguf_get_arr_i64(const GgufFile *g, const char *key, uint64_t index, int64_t *out,
                        NuError *err);
NuCode gguf_get_arr_f32(const GgufFile *g, const char *key, uint64_t index, float *out,
                        NuError *err);
/* The raw little-endian elements of a numeric (or bool) array: count elements of
 * elem_type, packed, possibly unaligned (read them with memcpy). */
NuCode gguf_get_arr_data(const GgufFile *g, const char *key, GgufType *elem_type,
                         uint64_t *count, const void **data, NuError *err);

/* --- tensors ------------------------------------------------------------------------- */
uint64_t gguf_tensor_count(const GgufFile *g);
const GgufTensorInfo *gguf_tensor(const GgufFile *g, uint64_t index);
/* NULL when absent. */
const GgufTensorInfo *gguf_find_tensor(const GgufFile *g, const char *name);

/* --- names for messages -------------------------------------------------------------- */
/* "uint32", "string", ...; "unknown" for ids outside the enum. */
const char *gguf_type_name(GgufType type);
/* ggml tensor type name: "F32", "Q8_0", "Q4_K", ...; "unknown" for unknown ids. */
const char *gguf_ggml_type_name(uint32_t ggml_type);
/* Size in bytes of one element of a scalar value type, 0 for STRING/ARRAY/unknown. */
size_t gguf_type_size(GgufType type);

/* Byte size of a tensor of ggml_type with n_dims (1..4) dimensions ne[]: checks that every
 * dimension is positive, the product does not overflow, ne[0] is a whole number of blocks,
 * and the type is one whose layout is known (NU_ERR_UNSUPPORTED otherwise). */
NuCode gguf_tensor_size(uint32_t ggml_type, uint32_t n_dims, const int64_t *ne, uint64_t *size,
                        NuError *err);

#endif
