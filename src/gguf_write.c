/* GGUF v3 writer. Metadata is encoded into a growing byte buffer as it is added; tensors
 * are only recorded, and laid out with their alignment padding by gguf_writer_finish. */
#include "gguf_write.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} Buf;

typedef struct {
    char *name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint32_t type;
    const void *data; /* NULL: left zeroed, for the caller to fill in place */
    uint64_t size;
    size_t pos; /* where its data starts in the last finished buffer */
} PendingTensor;

struct GgufWriter {
    NuError err; /* the first error; later adds do nothing */
    Buf kv;      /* encoded key/value pairs */
    uint64_t n_kv;
    char **keys; /* for the uniqueness check */
    PendingTensor *tensors;
    uint64_t n_tensors, cap_tensors;
    uint32_t alignment;
};

/* Makes room for n more bytes. */
static int buf_grow(Buf *b, size_t n) {
    if (n > SIZE_MAX - b->len) return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) return 0;
        b->p = p;
        b->cap = cap;
    }
    return 1;
}

static int buf_put(Buf *b, const void *src, size_t n) {
    if (!buf_grow(b, n)) return 0;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return 1;
}

static int buf_zeros(Buf *b, uint64_t n) {
    if (n > SIZE_MAX || !buf_grow(b, (size_t)n)) return 0;
    if (n) memset(b->p + b->len, 0, (size_t)n);
    b->len += (size_t)n;
    return 1;
}

static int buf_le(Buf *b, uint64_t v, int n) {
    uint8_t bytes[8];
    for (int i = 0; i < n; i++) bytes[i] = (uint8_t)(v >> (8 * i));
    return buf_put(b, bytes, (size_t)n);
}

static int buf_str(Buf *b, const char *s, uint64_t len) {
    return len <= SIZE_MAX && buf_le(b, len, 8) && buf_put(b, s, (size_t)len);
}

GgufWriter *gguf_writer_new(void) {
    GgufWriter *w = calloc(1, sizeof *w);
    if (w) w->alignment = 32;
    return w;
}

void gguf_writer_free(GgufWriter *w) {
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    for (uint64_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->tensors);
    free(w->kv.p);
    free(w);
}

static NuCode nomem(GgufWriter *w) {
    return nu_fail(&w->err, NU_ERR_NOMEM, "GGUF writer: out of memory");
}

/* Checks the key is new, remembers it and writes it with its type id. */
static NuCode begin_kv(GgufWriter *w, const char *key, GgufType type) {
    if (w->err.code != NU_OK) return w->err.code;
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return nu_fail(&w->err, NU_ERR_ARG, "GGUF writer: duplicate key '%s'", key);
    char **keys = realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *keys);
    if (!keys) return nomem(w);
    w->keys = keys;
    size_t n = strlen(key);
    if (!(keys[w->n_kv] = malloc(n + 1))) return nomem(w);
    memcpy(keys[w->n_kv], key, n + 1);
    w->n_kv++;
    if (!buf_str(&w->kv, key, n) || !buf_le(&w->kv, (uint64_t)type, 4)) return nomem(w);
    return NU_OK;
}

static NuCode add_scalar(GgufWriter *w, const char *key, GgufType type, uint64_t bits) {
    NuCode rc = begin_kv(w, key, type);
    if (rc != NU_OK) return rc;
    return buf_le(&w->kv, bits, (int)gguf_type_size(type)) ? NU_OK : nomem(w);
}

NuCode gguf_add_u8(GgufWriter *w, const char *key, uint8_t v) {
    return add_scalar(w, key, GGUF_TYPE_UINT8, v);
}
NuCode gguf_add_i8(GgufWriter *w, const char *key, int8_t v) {
    return add_scalar(w, key, GGUF_TYPE_INT8, (uint8_t)v);
}
NuCode gguf_add_u16(GgufWriter *w, const char *key, uint16_t v) {
    return add_scalar(w, key, GGUF_TYPE_UINT16, v);
}
NuCode gguf_add_i16(GgufWriter *w, const char *key, int16_t v) {
    return add_scalar(w, key, GGUF_TYPE_INT16, (uint16_t)v);
}
NuCode gguf_add_u32(GgufWriter *w, const char *key, uint32_t v) {
    return add_scalar(w, key, GGUF_TYPE_UINT32, v);
}
NuCode gguf_add_i32(GgufWriter *w, const char *key, int32_t v) {
    return add_scalar(w, key, GGUF_TYPE_INT32, (uint32_t)v);
}
NuCode gguf_add_u64(GgufWriter *w, const char *key, uint64_t v) {
    return add_scalar(w, key, GGUF_TYPE_UINT64, v);
}
NuCode gguf_add_i64(GgufWriter *w, const char *key, int64_t v) {
    return add_scalar(w, key, GGUF_TYPE_INT64, (uint64_t)v);
}
NuCode gguf_add_f32(GgufWriter *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return add_scalar(w, key, GGUF_TYPE_FLOAT32, u);
}
NuCode gguf_add_f64(GgufWriter *w, const char *key, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return add_scalar(w, key, GGUF_TYPE_FLOAT64, u);
}
NuCode gguf_add_bool(GgufWriter *w, const char *key, int v) {
    return add_scalar(w, key, GGUF_TYPE_BOOL, v != 0);
}

NuCode gguf_add_strn(GgufWriter *w, const char *key, const char *s, uint64_t len) {
    NuCode rc = begin_kv(w, key, GGUF_TYPE_STRING);
    if (rc != NU_OK) return rc;
    return buf_str(&w->kv, s, len) ? NU_OK : nomem(w);
}

NuCode gguf_add_str(GgufWriter *w, const char *key, const char *s) {
    return gguf_add_strn(w, key, s, strlen(s));
}

/* Reads one native element of es bytes as its bit pattern, for little-endian encoding. */
static uint64_t native_bits(const uint8_t *p, size_t es) {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (es) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    default: memcpy(&u64, p, 8); return u64;
    }
}

NuCode gguf_add_arr(GgufWriter *w, const char *key, GgufType elem_type, const void *data,
                    uint64_t count) {
    size_t es = gguf_type_size(elem_type);
    if (w->err.code == NU_OK && es == 0)
        return nu_fail(&w->err, NU_ERR_ARG, "GGUF writer: key '%s': gguf_add_arr takes "
                       "numeric elements, not %s", key, gguf_type_name(elem_type));
    NuCode rc = begin_kv(w, key, GGUF_TYPE_ARRAY);
    if (rc != NU_OK) return rc;
    if (!buf_le(&w->kv, (uint64_t)elem_type, 4) || !buf_le(&w->kv, count, 8)) return nomem(w);
    const uint8_t *p = data;
    for (uint64_t i = 0; i < count; i++)
        if (!buf_le(&w->kv, native_bits(p + i * es, es), (int)es)) return nomem(w);
    return NU_OK;
}

NuCode gguf_add_arr_str(GgufWriter *w, const char *key, const char *const *strs,
                        uint64_t count) {
    NuCode rc = begin_kv(w, key, GGUF_TYPE_ARRAY);
    if (rc != NU_OK) return rc;
    if (!buf_le(&w->kv, GGUF_TYPE_STRING, 4) || !buf_le(&w->kv, count, 8)) return nomem(w);
    for (uint64_t i = 0; i < count; i++)
        if (!buf_str(&w->kv, strs[i], strlen(strs[i]))) return nomem(w);
    return NU_OK;
}

NuCode gguf_add_raw(GgufWriter *w, const char *key, GgufType type, const void *bytes,
                    size_t len) {
    NuCode rc = begin_kv(w, key, type);
    if (rc != NU_OK) return rc;
    return buf_put(&w->kv, bytes, len) ? NU_OK : nomem(w);
}

NuCode gguf_set_alignment(GgufWriter *w, uint32_t alignment) {
    if (w->err.code == NU_OK && (alignment == 0 || (alignment & (alignment - 1)) != 0))
        return nu_fail(&w->err, NU_ERR_ARG, "GGUF writer: alignment %" PRIu32
                       " is not a power of two", alignment);
    NuCode rc = gguf_add_u32(w, "general.alignment", alignment);
    if (rc == NU_OK) w->alignment = alignment;
    return rc;
}

NuCode gguf_add_tensor(GgufWriter *w, const char *name, uint32_t n_dims, const int64_t *ne,
                       uint32_t ggml_type, const void *data) {
    if (w->err.code != NU_OK) return w->err.code;
    PendingTensor t = {0};
    NuError e;
    if (gguf_tensor_size(ggml_type, n_dims, ne, &t.size, &e) != NU_OK)
        return nu_fail(&w->err, e.code, "GGUF writer: tensor %s: %s", name, e.message);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return nu_fail(&w->err, NU_ERR_ARG, "GGUF writer: duplicate tensor %s", name);
    if (w->n_tensors == w->cap_tensors) {
        uint64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 16;
        PendingTensor *p = realloc(w->tensors, (size_t)cap * sizeof *p);
        if (!p) return nomem(w);
        w->tensors = p;
        w->cap_tensors = cap;
    }
    size_t n = strlen(name);
    if (!(t.name = malloc(n + 1))) return nomem(w);
    memcpy(t.name, name, n + 1);
    t.n_dims = n_dims;
    memcpy(t.ne, ne, n_dims * sizeof *ne);
    t.type = ggml_type;
    t.data = data;
    w->tensors[w->n_tensors++] = t;
    return NU_OK;
}

static uint64_t pad_to(uint64_t n, uint64_t a) { return (a - n % a) % a; }

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* The finished file's size, saturating at UINT64_MAX. */
static uint64_t file_size(const GgufWriter *w) {
    uint64_t n = add_sat(24, w->kv.len);
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const PendingTensor *t = &w->tensors[i];
        n = add_sat(n, 8 + strlen(t->name) + 4 + 8 * (uint64_t)t->n_dims + 4 + 8);
    }
    n = add_sat(n, pad_to(n, w->alignment));
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        uint64_t size = w->tensors[i].size;
        n = add_sat(n, add_sat(size, pad_to(size, w->alignment)));
    }
    return n;
}

NuCode gguf_writer_finish(GgufWriter *w, uint8_t **out, size_t *size, NuError *err) {
    *out = NULL;
    *size = 0;
    if (w->err.code != NU_OK) return nu_fail(err, w->err.code, "%s", w->err.message);
    /* Sized up front and allocated once: a model file may be a large part of memory. */
    uint64_t total = file_size(w);
    if (total > (uint64_t)PTRDIFF_MAX) /* no object may be larger */
        return nu_fail(err, NU_ERR_NOMEM, "GGUF writer: a file of %s%" PRIu64 " bytes does not "
                       "fit in memory", total == UINT64_MAX ? "more than " : "", total);
    Buf b = {malloc((size_t)total), 0, (size_t)total};
    if (!b.p)
        return nu_fail(err, NU_ERR_NOMEM, "GGUF writer: no memory for a file of %" PRIu64
                       " bytes", total);
    /* Each write fits the buffer sized above; the checks only guard against a miscount. */
    int ok = buf_put(&b, "GGUF", 4) && buf_le(&b, 3, 4) && buf_le(&b, w->n_tensors, 8) &&
             buf_le(&b, w->n_kv, 8) && buf_put(&b, w->kv.p, w->kv.len);
    uint64_t offset = 0;
    for (uint64_t i = 0; ok && i < w->n_tensors; i++) {
        const PendingTensor *t = &w->tensors[i];
        ok = buf_str(&b, t->name, strlen(t->name)) && buf_le(&b, t->n_dims, 4);
        for (uint32_t d = 0; ok && d < t->n_dims; d++) ok = buf_le(&b, (uint64_t)t->ne[d], 8);
        ok = ok && buf_le(&b, t->type, 4) && buf_le(&b, offset, 8);
        offset += t->size + pad_to(t->size, w->alignment);
    }
    ok = ok && buf_zeros(&b, pad_to(b.len, w->alignment));
    for (uint64_t i = 0; ok && i < w->n_tensors; i++) {
        PendingTensor *t = &w->tensors[i];
        t->pos = b.len;
        ok = (t->data ? buf_put(&b, t->data, (size_t)t->size) : buf_zeros(&b, t->size)) &&
             buf_zeros(&b, pad_to(t->size, w->alignment));
    }
    if (!ok) {
        free(b.p);
        return nu_fail(err, NU_ERR_NOMEM, "GGUF writer: out of memory laying out the file");
    }
    *out = b.p;
    *size = b.len;
    return NU_OK;
}

size_t gguf_writer_tensor_pos(const GgufWriter *w, uint64_t index) {
    return index < w->n_tensors ? w->tensors[index].pos : SIZE_MAX;
}
