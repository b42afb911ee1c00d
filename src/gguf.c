/* GGUF reader. The file is read once, front to back, through a cursor that can only fail,
 * never over-read; every count is checked against the bytes left before anything sized by
 * it is allocated. Layout (all little-endian):
 *   "GGUF" u32 version, u64 tensor_count, u64 kv_count,
 *   kv_count x (string key, u32 value_type, value),
 *   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset),
 *   padding to the alignment, then the data section that tensor offsets point into.
 * A string is a u64 length and that many bytes; an array is u32 element type, u64 count,
 * then the elements (which may themselves be arrays). */
#include "gguf.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NESTING 8 /* arrays of arrays deeper than this are refused (stack safety) */

typedef struct {
    GgufStr key;
    GgufType type;
    GgufType elem_type; /* arrays only */
    uint64_t count;     /* arrays: element count; strings: byte length */
    const uint8_t *value; /* scalars and arrays: the raw encoded bytes; strings: the chars */
    size_t *str_pos;    /* string arrays: file position of each element's length prefix */
    const uint8_t *raw; /* the value exactly as encoded after its type id, for verbatim copies */
    size_t raw_len;
} GgufKv;

struct GgufFile {
    const uint8_t *data;
    size_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t n_kv;
    GgufKv *kvs;
    const GgufKv **kv_by_key; /* sorted by key, for lookup and duplicate detection */
    uint64_t n_tensors;
    GgufTensorInfo *tensors;
    const GgufTensorInfo **tensor_by_name; /* sorted by name */
};

/* ---- little-endian decoding ---------------------------------------------------------- */

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static float le_f32(const uint8_t *p) {
    uint32_t u = (uint32_t)le(p, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double le_f64(const uint8_t *p) {
    uint64_t u = le(p, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* ---- the cursor ---------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    NuError *err;
} Cursor;

static uint64_t remaining(const Cursor *c) { return (uint64_t)(c->size - c->pos); }

static NuCode take(Cursor *c, uint64_t n, const uint8_t **out, const char *what) {
    if (n > remaining(c))
        return nu_fail(c->err, NU_ERR_FORMAT,
                       "truncated file: %s at byte %zu needs %" PRIu64
                       " bytes but the file has %zu",
                       what, c->pos, n, c->size);
    *out = c->data + c->pos;
    c->pos += (size_t)n;
    return NU_OK;
}

static NuCode read_u32(Cursor *c, uint32_t *v, const char *what) {
    const uint8_t *p = NULL;
    NuCode rc = take(c, 4, &p, what);
    if (rc == NU_OK) *v = (uint32_t)le(p, 4);
    return rc;
}

static NuCode read_u64(Cursor *c, uint64_t *v, const char *what) {
    const uint8_t *p = NULL;
    NuCode rc = take(c, 8, &p, what);
    if (rc == NU_OK) *v = le(p, 8);
    return rc;
}

static NuCode read_str(Cursor *c, GgufStr *s, const char *what) {
    uint64_t len;
    const uint8_t *p = NULL;
    NuCode rc = read_u64(c, &len, what);
    if (rc == NU_OK) rc = take(c, len, &p, what);
    if (rc == NU_OK) {
        s->ptr = (const char *)p;
        s->len = len;
    }
    return rc;
}

/* ---- names and sizes ----------------------------------------------------------------- */

const char *gguf_type_name(GgufType type) {
    switch (type) {
    case GGUF_TYPE_UINT8: return "uint8";
    case GGUF_TYPE_INT8: return "int8";
    case GGUF_TYPE_UINT16: return "uint16";
    case GGUF_TYPE_INT16: return "int16";
    case GGUF_TYPE_UINT32: return "uint32";
    case GGUF_TYPE_INT32: return "int32";
    case GGUF_TYPE_FLOAT32: return "float32";
    case GGUF_TYPE_BOOL: return "bool";
    case GGUF_TYPE_STRING: return "string";
    case GGUF_TYPE_ARRAY: return "array";
    case GGUF_TYPE_UINT64: return "uint64";
    case GGUF_TYPE_INT64: return "int64";
    case GGUF_TYPE_FLOAT64: return "float64";
    }
    return "unknown";
}

size_t gguf_type_size(GgufType type) {
    switch (type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    case GGUF_TYPE_STRING: case GGUF_TYPE_ARRAY: return 0;
    }
    return 0;
}

/* ggml tensor types: name, elements per block and bytes per block (0 bytes = the id is
 * known but retired, or has no fixed layout we can size). */
typedef struct {
    const char *name;
    uint32_t block;
    uint32_t bytes;
} GgmlType;

static const GgmlType ggml_types[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},       [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},     [4] = {"Q4_2", 0, 0},      [5] = {"Q4_3", 0, 0},
    [6] = {"Q5_0", 32, 22},     [7] = {"Q5_1", 32, 24},    [8] = {"Q8_0", 32, 34},
    [9] = {"Q8_1", 32, 36},     [10] = {"Q2_K", 256, 84},  [11] = {"Q3_K", 256, 110},
    [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176}, [14] = {"Q6_K", 256, 210},
    [15] = {"Q8_K", 256, 292},  [16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50}, [20] = {"IQ4_NL", 32, 18},
    [21] = {"IQ3_S", 256, 110}, [22] = {"IQ2_S", 256, 82}, [23] = {"IQ4_XS", 256, 136},
    [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},      [26] = {"I32", 1, 4},
    [27] = {"I64", 1, 8},       [28] = {"F64", 1, 8},      [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},      [31] = {"Q4_0_4_4", 0, 0}, [32] = {"Q4_0_4_8", 0, 0},
    [33] = {"Q4_0_8_8", 0, 0},  [34] = {"TQ1_0", 256, 54}, [35] = {"TQ2_0", 256, 66},
    [36] = {"IQ4_NL_4_4", 0, 0}, [37] = {"IQ4_NL_4_8", 0, 0}, [38] = {"IQ4_NL_8_8", 0, 0},
    [39] = {"MXFP4", 32, 17},
};

#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

const char *gguf_ggml_type_name(uint32_t ggml_type) {
    return ggml_type < N_GGML_TYPES ? ggml_types[ggml_type].name : "unknown";
}

NuCode gguf_tensor_size(uint32_t ggml_type, uint32_t n_dims, const int64_t *ne, uint64_t *size,
                        NuError *err) {
    if (ggml_type >= N_GGML_TYPES || ggml_types[ggml_type].bytes == 0)
        return nu_fail(err, NU_ERR_UNSUPPORTED, "ggml type %s (%" PRIu32 ") has no known layout",
                       gguf_ggml_type_name(ggml_type), ggml_type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return nu_fail(err, NU_ERR_FORMAT, "%" PRIu32 " dimensions (must be 1 to %d)", n_dims,
                       GGUF_MAX_DIMS);
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        if (ne[i] <= 0)
            return nu_fail(err, NU_ERR_FORMAT, "dimension %" PRIu32 " is %" PRId64
                           " (must be positive)", i, ne[i]);
        if (n > (uint64_t)INT64_MAX / (uint64_t)ne[i])
            return nu_fail(err, NU_ERR_FORMAT, "the element count overflows 63 bits");
        n *= (uint64_t)ne[i];
    }
    const GgmlType *t = &ggml_types[ggml_type];
    if (ne[0] % t->block != 0)
        return nu_fail(err, NU_ERR_FORMAT,
                       "dimension 0 is %" PRId64 ", not a multiple of the %s block size %" PRIu32,
                       ne[0], t->name, t->block);
    uint64_t blocks = n / t->block;
    if (blocks > UINT64_MAX / t->bytes)
        return nu_fail(err, NU_ERR_FORMAT, "the byte size overflows 64 bits");
    *size = blocks * t->bytes;
    return NU_OK;
}

/* ---- metadata values ----------------------------------------------------------------- */

/* Validates one value of `type` at the cursor and moves past it. A string array records
 * where each element starts when str_pos is given (its length is already checked). */
static NuCode skip_value(Cursor *c, GgufType type, int depth, const char *key, size_t *str_pos);

static NuCode skip_array(Cursor *c, int depth, const char *key, GgufType *elem_type,
                         uint64_t *count, size_t **str_pos_out) {
    uint32_t et;
    uint64_t n;
    NuCode rc = read_u32(c, &et, "an array element type");
    if (rc == NU_OK) rc = read_u64(c, &n, "an array length");
    if (rc != NU_OK) return rc;
    if (et > GGUF_TYPE_FLOAT64)
        return nu_fail(c->err, NU_ERR_FORMAT, "key '%s': array element type %" PRIu32
                       " is not a GGUF value type", key, et);
    if (et == GGUF_TYPE_ARRAY && depth >= GGUF_MAX_NESTING)
        return nu_fail(c->err, NU_ERR_FORMAT, "key '%s': arrays nested deeper than %d", key,
                       GGUF_MAX_NESTING);
    /* Every element takes at least this many bytes, so the length can be checked first. */
    uint64_t min_bytes = et == GGUF_TYPE_STRING ? 8 : et == GGUF_TYPE_ARRAY ? 12
                                                     : gguf_type_size((GgufType)et);
    if (n > remaining(c) / min_bytes)
        return nu_fail(c->err, NU_ERR_FORMAT, "key '%s': array of %" PRIu64 " %s values at byte"
                       " %zu does not fit in the %" PRIu64 " bytes left", key, n,
                       gguf_type_name((GgufType)et), c->pos, remaining(c));
    size_t *pos = NULL;
    if (et == GGUF_TYPE_STRING && str_pos_out) {
        pos = malloc((size_t)(n ? n : 1) * sizeof *pos); /* n <= size / 8: no overflow */
        if (!pos) return nu_fail(c->err, NU_ERR_NOMEM, "key '%s': no memory for %" PRIu64
                                 " string offsets", key, n);
    }
    for (uint64_t i = 0; i < n && rc == NU_OK; i++)
        rc = skip_value(c, (GgufType)et, depth + 1, key, pos ? &pos[i] : NULL);
    if (rc != NU_OK) {
        free(pos);
        return rc;
    }
    if (elem_type) *elem_type = (GgufType)et;
    if (count) *count = n;
    if (str_pos_out) *str_pos_out = pos;
    return NU_OK;
}

static NuCode skip_value(Cursor *c, GgufType type, int depth, const char *key, size_t *str_pos) {
    const uint8_t *p = NULL;
    NuCode rc;
    switch (type) {
    case GGUF_TYPE_STRING: {
        GgufStr s;
        if (str_pos) *str_pos = c->pos;
        return read_str(c, &s, "a string value");
    }
    case GGUF_TYPE_ARRAY:
        return skip_array(c, depth, key, NULL, NULL, NULL);
    case GGUF_TYPE_BOOL:
        rc = take(c, 1, &p, "a bool value");
        if (rc == NU_OK && *p > 1)
            return nu_fail(c->err, NU_ERR_FORMAT, "key '%s': bool value %u is not 0 or 1", key,
                           *p);
        return rc;
    default:
        return take(c, gguf_type_size(type), &p, "a value");
    }
}

/* Copies a GgufStr into a NUL-terminated buffer for messages, shortened if need be. */
static const char *show(GgufStr s, char *buf, size_t cap) {
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    memcpy(buf, s.ptr, n);
    buf[n] = '\0';
    return buf;
}

static NuCode read_kv(Cursor *c, GgufKv *kv) {
    char key[96];
    uint32_t type;
    NuCode rc = read_str(c, &kv->key, "a key");
    if (rc == NU_OK) rc = read_u32(c, &type, "a value type");
    if (rc != NU_OK) return rc;
    show(kv->key, key, sizeof key);
    if (type > GGUF_TYPE_FLOAT64)
        return nu_fail(c->err, NU_ERR_FORMAT, "key '%s' has value type %" PRIu32
                       ", which is not a GGUF value type", key, type);
    kv->type = (GgufType)type;
    size_t start = c->pos;
    if (type == GGUF_TYPE_ARRAY) {
        rc = skip_array(c, 1, key, &kv->elem_type, &kv->count, &kv->str_pos);
        kv->value = c->data + start + 12; /* past the element type and count */
    } else if (type == GGUF_TYPE_STRING) {
        GgufStr s;
        rc = read_str(c, &s, "a string value");
        kv->value = (const uint8_t *)s.ptr;
        kv->count = s.len;
    } else {
        rc = skip_value(c, kv->type, 1, key, NULL);
        kv->value = c->data + start;
    }
    kv->raw = c->data + start;
    kv->raw_len = c->pos - start;
    return rc;
}

/* ---- sorting for lookup and duplicate detection -------------------------------------- */

static int str_cmp(GgufStr a, GgufStr b) {
    size_t n = a.len < b.len ? (size_t)a.len : (size_t)b.len;
    int r = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (r) return r;
    return a.len < b.len ? -1 : a.len > b.len;
}

static int kv_cmp(const void *a, const void *b) {
    return str_cmp((*(const GgufKv *const *)a)->key, (*(const GgufKv *const *)b)->key);
}

static int tensor_name_cmp(const void *a, const void *b) {
    return str_cmp((*(const GgufTensorInfo *const *)a)->name,
                   (*(const GgufTensorInfo *const *)b)->name);
}

static int tensor_offset_cmp(const void *a, const void *b) {
    uint64_t x = (*(const GgufTensorInfo *const *)a)->offset;
    uint64_t y = (*(const GgufTensorInfo *const *)b)->offset;
    return x < y ? -1 : x > y;
}

static void *alloc_array(uint64_t n, size_t elem, NuError *err, const char *what) {
    if (n > SIZE_MAX / elem) {
        nu_fail(err, NU_ERR_NOMEM, "%" PRIu64 " %s do not fit in memory", n, what);
        return NULL;
    }
    void *p = calloc((size_t)(n ? n : 1), elem);
    if (!p) nu_fail(err, NU_ERR_NOMEM, "no memory for %" PRIu64 " %s", n, what);
    return p;
}

/* ---- opening ------------------------------------------------------------------------- */

static NuCode read_header(Cursor *c, GgufFile *g, uint64_t *n_tensors, uint64_t *n_kv) {
    const uint8_t *magic = NULL;
    NuCode rc = take(c, 4, &magic, "the magic");
    if (rc != NU_OK) return rc;
    if (memcmp(magic, "GGUF", 4) != 0)
        return nu_fail(c->err, NU_ERR_FORMAT, "not a GGUF file: the first bytes are "
                       "%02x %02x %02x %02x, not \"GGUF\"", magic[0], magic[1], magic[2],
                       magic[3]);
    rc = read_u32(c, &g->version, "the version");
    if (rc != NU_OK) return rc;
    if (g->version != 2 && g->version != 3) {
        uint32_t v = g->version;
        uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
        if (swapped >= 1 && swapped <= 3)
            return nu_fail(c->err, NU_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " looks like "
                           "a big-endian file (version %" PRIu32 "); only little-endian "
                           "files are supported", v, swapped);
        return nu_fail(c->err, NU_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " is not supported "
                       "(only versions 2 and 3)", v);
    }
    rc = read_u64(c, n_tensors, "the tensor count");
    if (rc == NU_OK) rc = read_u64(c, n_kv, "the metadata count");
    if (rc != NU_OK) return rc;
    /* Smallest possible entries: a kv is key length + type + 1 byte, a tensor info is
     * name length + n_dims + one dim + type + offset. */
    if (*n_kv > remaining(c) / 13)
        return nu_fail(c->err, NU_ERR_FORMAT, "metadata count %" PRIu64 " cannot fit in the "
                       "%" PRIu64 " bytes left", *n_kv, remaining(c));
    if (*n_tensors > remaining(c) / 32)
        return nu_fail(c->err, NU_ERR_FORMAT, "tensor count %" PRIu64 " cannot fit in the "
                       "%" PRIu64 " bytes left", *n_tensors, remaining(c));
    return NU_OK;
}

static NuCode read_kvs(Cursor *c, GgufFile *g, uint64_t n) {
    g->kvs = alloc_array(n, sizeof *g->kvs, c->err, "metadata entries");
    if (!g->kvs) return c->err ? c->err->code : NU_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        NuCode rc = read_kv(c, &g->kvs[i]);
        g->n_kv = i + 1; /* so gguf_close frees what this entry allocated */
        if (rc != NU_OK) return rc;
    }
    g->kv_by_key = alloc_array(n, sizeof *g->kv_by_key, c->err, "metadata entries");
    if (!g->kv_by_key) return c->err ? c->err->code : NU_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) g->kv_by_key[i] = &g->kvs[i];
    qsort(g->kv_by_key, (size_t)n, sizeof *g->kv_by_key, kv_cmp);
    for (uint64_t i = 1; i < n; i++)
        if (str_cmp(g->kv_by_key[i - 1]->key, g->kv_by_key[i]->key) == 0) {
            char key[96];
            return nu_fail(c->err, NU_ERR_FORMAT, "duplicate key '%s'",
                           show(g->kv_by_key[i]->key, key, sizeof key));
        }
    return NU_OK;
}

static NuCode read_alignment(GgufFile *g, NuError *err) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (gguf_find_key(g, "general.alignment") < 0) return NU_OK;
    int64_t a;
    NuCode rc = gguf_get_i64(g, "general.alignment", &a, err);
    if (rc != NU_OK) return rc;
    if (a <= 0 || (a & (a - 1)) != 0)
        return nu_fail(err, NU_ERR_FORMAT, "general.alignment is %" PRId64
                       ", not a positive power of two", a);
    g->alignment = (uint64_t)a;
    return NU_OK;
}

static NuCode read_tensor_info(Cursor *c, GgufTensorInfo *t) {
    char name[96];
    NuCode rc = read_str(c, &t->name, "a tensor name");
    if (rc == NU_OK) rc = read_u32(c, &t->n_dims, "a tensor's dimension count");
    if (rc != NU_OK) return rc;
    show(t->name, name, sizeof name);
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return nu_fail(c->err, NU_ERR_FORMAT, "tensor %s has %" PRIu32 " dimensions (must be "
                       "1 to %d)", name, t->n_dims, GGUF_MAX_DIMS);
    for (int i = 0; i < GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        uint64_t d;
        rc = read_u64(c, &d, "a tensor dimension");
        if (rc != NU_OK) return rc;
        if (d == 0 || d > INT64_MAX)
            return nu_fail(c->err, NU_ERR_FORMAT, "tensor %s dimension %" PRIu32 " is %" PRIu64
                           " (must be positive)", name, i, d);
        t->ne[i] = (int64_t)d;
    }
    rc = read_u32(c, &t->type, "a tensor type");
    if (rc == NU_OK) rc = read_u64(c, &t->offset, "a tensor offset");
    if (rc != NU_OK) return rc;
    NuError e;
    rc = gguf_tensor_size(t->type, t->n_dims, t->ne, &t->size, &e);
    if (rc != NU_OK) return nu_fail(c->err, rc, "tensor %s: %s", name, e.message);
    return NU_OK;
}

/* Aligns the data section, then checks each tensor lies inside the file, starts on the
 * alignment and overlaps no other. */
static NuCode place_tensors(Cursor *c, GgufFile *g) {
    uint64_t n = g->n_tensors;
    uint64_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
    uint64_t data_start = (uint64_t)c->pos + pad;
    uint64_t data_size = data_start <= c->size ? c->size - data_start : 0;
    char name[96];
    for (uint64_t i = 0; i < n; i++) {
        GgufTensorInfo *t = &g->tensors[i];
        show(t->name, name, sizeof name);
        if (t->offset % g->alignment != 0)
            return nu_fail(c->err, NU_ERR_FORMAT, "tensor %s offset %" PRIu64 " is not a "
                           "multiple of the alignment %" PRIu64, name, t->offset, g->alignment);
        if (t->offset > data_size || t->size > data_size - t->offset)
            return nu_fail(c->err, NU_ERR_FORMAT, "tensor %s: data ends at byte %" PRIu64
                           " but the file has %zu", name, data_start + t->offset + t->size,
                           c->size);
        t->data = c->data + data_start + t->offset;
    }
    const GgufTensorInfo **by_offset = alloc_array(n, sizeof *by_offset, c->err, "tensors");
    if (!by_offset) return c->err ? c->err->code : NU_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) by_offset[i] = &g->tensors[i];
    qsort(by_offset, (size_t)n, sizeof *by_offset, tensor_offset_cmp);
    NuCode rc = NU_OK;
    for (uint64_t i = 1; i < n && rc == NU_OK; i++) {
        const GgufTensorInfo *a = by_offset[i - 1], *b = by_offset[i];
        if (b->offset < a->offset + a->size) {
            char other[96];
            rc = nu_fail(c->err, NU_ERR_FORMAT, "tensors %s and %s overlap",
                         show(a->name, other, sizeof other), show(b->name, name, sizeof name));
        }
    }
    free(by_offset);
    return rc;
}

static NuCode read_tensors(Cursor *c, GgufFile *g, uint64_t n) {
    g->tensors = alloc_array(n, sizeof *g->tensors, c->err, "tensors");
    if (!g->tensors) return c->err ? c->err->code : NU_ERR_NOMEM;
    g->n_tensors = n;
    for (uint64_t i = 0; i < n; i++) {
        NuCode rc = read_tensor_info(c, &g->tensors[i]);
        if (rc != NU_OK) return rc;
    }
    g->tensor_by_name = alloc_array(n, sizeof *g->tensor_by_name, c->err, "tensors");
    if (!g->tensor_by_name) return c->err ? c->err->code : NU_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) g->tensor_by_name[i] = &g->tensors[i];
    qsort(g->tensor_by_name, (size_t)n, sizeof *g->tensor_by_name, tensor_name_cmp);
    for (uint64_t i = 1; i < n; i++)
        if (str_cmp(g->tensor_by_name[i - 1]->name, g->tensor_by_name[i]->name) == 0) {
            char name[96];
            return nu_fail(c->err, NU_ERR_FORMAT, "duplicate tensor name %s",
                           show(g->tensor_by_name[i]->name, name, sizeof name));
        }
    return place_tensors(c, g);
}

NuCode gguf_open(const uint8_t *data, size_t size, GgufFile **out, NuError *err) {
    NuError local;
    if (!err) err = &local; /* the readers below report through err->code */
    nu_clear(err);
    *out = NULL;
    if (!data && size) return nu_fail(err, NU_ERR_ARG, "no data");
    GgufFile *g = calloc(1, sizeof *g);
    if (!g) return nu_fail(err, NU_ERR_NOMEM, "no memory for a GGUF handle");
    g->data = data;
    g->size = size;
    Cursor c = {data, size, 0, err};
    uint64_t n_tensors, n_kv;
    NuCode rc = read_header(&c, g, &n_tensors, &n_kv);
    if (rc == NU_OK) rc = read_kvs(&c, g, n_kv);
    if (rc == NU_OK) rc = read_alignment(g, err);
    if (rc == NU_OK) rc = read_tensors(&c, g, n_tensors);
    if (rc != NU_OK) {
        gguf_close(g);
        return rc;
    }
    *out = g;
    return NU_OK;
}

void gguf_close(GgufFile *g) {
    if (!g) return;
    for (uint64_t i = 0; i < g->n_kv; i++) free(g->kvs[i].str_pos);
    free(g->kvs);
    free(g->kv_by_key);
    free(g->tensors);
    free(g->tensor_by_name);
    free(g);
}

uint32_t gguf_version(const GgufFile *g) { return g->version; }
uint64_t gguf_alignment(const GgufFile *g) { return g->alignment; }

/* ---- metadata lookup ----------------------------------------------------------------- */

uint64_t gguf_kv_count(const GgufFile *g) { return g->n_kv; }
GgufStr gguf_kv_key(const GgufFile *g, uint64_t index) { return g->kvs[index].key; }
GgufType gguf_kv_type(const GgufFile *g, uint64_t index) { return g->kvs[index].type; }

void gguf_kv_raw(const GgufFile *g, uint64_t index, const uint8_t **bytes, size_t *len) {
    *bytes = g->kvs[index].raw;
    *len = g->kvs[index].raw_len;
}

static const GgufKv *find_kv(const GgufFile *g, const char *key) {
    GgufStr k = {key, strlen(key)};
    size_t lo = 0, hi = (size_t)g->n_kv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = str_cmp(g->kv_by_key[mid]->key, k);
        if (r == 0) return g->kv_by_key[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int64_t gguf_find_key(const GgufFile *g, const char *key) {
    const GgufKv *kv = find_kv(g, key);
    return kv ? (int64_t)(kv - g->kvs) : -1;
}

static NuCode need_kv(const GgufFile *g, const char *key, const GgufKv **kv, NuError *err) {
    *kv = find_kv(g, key);
    if (!*kv) return nu_fail(err, NU_ERR_FORMAT, "key '%s' is missing", key);
    return NU_OK;
}

static NuCode wrong_type(const char *key, GgufType type, const char *expected, NuError *err) {
    return nu_fail(err, NU_ERR_FORMAT, "key '%s' has type %s, expected %s", key,
                   gguf_type_name(type), expected);
}

/* Decodes an integer of any GGUF integer type: 1 ok, 0 not an integer type, -1 a uint64
 * above INT64_MAX. */
static int int_value(GgufType type, const uint8_t *p, int64_t *v) {
    switch (type) {
    case GGUF_TYPE_UINT8: *v = p[0]; return 1;
    case GGUF_TYPE_INT8: *v = (int8_t)p[0]; return 1;
    case GGUF_TYPE_UINT16: *v = (int64_t)le(p, 2); return 1;
    case GGUF_TYPE_INT16: *v = (int16_t)(uint16_t)le(p, 2); return 1;
    case GGUF_TYPE_UINT32: *v = (int64_t)le(p, 4); return 1;
    case GGUF_TYPE_INT32: *v = (int32_t)(uint32_t)le(p, 4); return 1;
    case GGUF_TYPE_INT64: *v = (int64_t)le(p, 8); return 1;
    case GGUF_TYPE_UINT64: {
        uint64_t u = le(p, 8);
        if (u > INT64_MAX) return -1;
        *v = (int64_t)u;
        return 1;
    }
    default: return 0;
    }
}

static NuCode get_int(const char *key, GgufType type, const uint8_t *p, int64_t *v,
                      NuError *err) {
    int r = int_value(type, p, v);
    if (r == 0) return wrong_type(key, type, "an integer", err);
    if (r < 0) return nu_fail(err, NU_ERR_FORMAT, "key '%s' value %" PRIu64 " is too large",
                              key, le(p, 8));
    return NU_OK;
}

static NuCode get_float(const char *key, GgufType type, const uint8_t *p, float *v,
                        NuError *err) {
    if (type == GGUF_TYPE_FLOAT32) {
        *v = le_f32(p);
        return NU_OK;
    }
    if (type != GGUF_TYPE_FLOAT64) return wrong_type(key, type, "a float", err);
    double d = le_f64(p);
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "key '%s' value %g is out of float range", key, d);
    *v = (float)d;
    return NU_OK;
}

NuCode gguf_get_i64(const GgufFile *g, const char *key, int64_t *out, NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_kv(g, key, &kv, err);
    return rc ? rc : get_int(key, kv->type, kv->value, out, err);
}

NuCode gguf_get_u32(const GgufFile *g, const char *key, uint32_t *out, NuError *err) {
    int64_t v;
    NuCode rc = gguf_get_i64(g, key, &v, err);
    if (rc != NU_OK) return rc;
    if (v < 0 || v > UINT32_MAX)
        return nu_fail(err, NU_ERR_FORMAT, "key '%s' value %" PRId64 " does not fit uint32",
                       key, v);
    *out = (uint32_t)v;
    return NU_OK;
}

NuCode gguf_get_f32(const GgufFile *g, const char *key, float *out, NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_kv(g, key, &kv, err);
    return rc ? rc : get_float(key, kv->type, kv->value, out, err);
}

NuCode gguf_get_bool(const GgufFile *g, const char *key, int *out, NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_kv(g, key, &kv, err);
    if (rc != NU_OK) return rc;
    if (kv->type != GGUF_TYPE_BOOL) return wrong_type(key, kv->type, "bool", err);
    *out = kv->value[0];
    return NU_OK;
}

NuCode gguf_get_str(const GgufFile *g, const char *key, GgufStr *out, NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_kv(g, key, &kv, err);
    if (rc != NU_OK) return rc;
    if (kv->type != GGUF_TYPE_STRING) return wrong_type(key, kv->type, "string", err);
    out->ptr = (const char *)kv->value;
    out->len = kv->count;
    return NU_OK;
}

static NuCode need_arr(const GgufFile *g, const char *key, const GgufKv **kv, NuError *err) {
    NuCode rc = need_kv(g, key, kv, err);
    if (rc == NU_OK && (*kv)->type != GGUF_TYPE_ARRAY)
        rc = wrong_type(key, (*kv)->type, "array", err);
    return rc;
}

static NuCode need_index(const char *key, const GgufKv *kv, uint64_t index, NuError *err) {
    if (index >= kv->count)
        return nu_fail(err, NU_ERR_ARG, "key '%s': index %" PRIu64 " is past the %" PRIu64
                       " elements", key, index, kv->count);
    return NU_OK;
}

/* Element index of a numeric array, with the index and element type checked. */
static NuCode numeric_elem(const GgufFile *g, const char *key, uint64_t index,
                           const GgufKv **kv, const uint8_t **p, NuError *err) {
    NuCode rc = need_arr(g, key, kv, err);
    if (rc == NU_OK) rc = need_index(key, *kv, index, err);
    if (rc != NU_OK) return rc;
    size_t es = gguf_type_size((*kv)->elem_type);
    if (es == 0 || (*kv)->elem_type == GGUF_TYPE_BOOL)
        return nu_fail(err, NU_ERR_FORMAT, "key '%s' is an array of %s, expected numbers", key,
                       gguf_type_name((*kv)->elem_type));
    *p = (*kv)->value + (size_t)index * es;
    return NU_OK;
}

NuCode gguf_get_arr(const GgufFile *g, const char *key, GgufType *elem_type, uint64_t *count,
                    NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_arr(g, key, &kv, err);
    if (rc != NU_OK) return rc;
    *elem_type = kv->elem_type;
    *count = kv->count;
    return NU_OK;
}

NuCode gguf_get_arr_str(const GgufFile *g, const char *key, uint64_t index, GgufStr *out,
                        NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_arr(g, key, &kv, err);
    if (rc == NU_OK && kv->elem_type != GGUF_TYPE_STRING)
        rc = nu_fail(err, NU_ERR_FORMAT, "key '%s' is an array of %s, expected strings", key,
                     gguf_type_name(kv->elem_type));
    if (rc == NU_OK) rc = need_index(key, kv, index, err);
    if (rc != NU_OK) return rc;
    const uint8_t *p = g->data + kv->str_pos[index];
    out->len = le(p, 8);
    out->ptr = (const char *)p + 8;
    return NU_OK;
}

NuCode gguf_get_arr_i64(const GgufFile *g, const char *key, uint64_t index, int64_t *out,
                        NuError *err) {
    const GgufKv *kv;
    const uint8_t *p = NULL;
    NuCode rc = numeric_elem(g, key, index, &kv, &p, err);
    return rc ? rc : get_int(key, kv->elem_type, p, out, err);
}

NuCode gguf_get_arr_f32(const GgufFile *g, const char *key, uint64_t index, float *out,
                        NuError *err) {
    const GgufKv *kv;
    const uint8_t *p = NULL;
    NuCode rc = numeric_elem(g, key, index, &kv, &p, err);
    return rc ? rc : get_float(key, kv->elem_type, p, out, err);
}

NuCode gguf_get_arr_data(const GgufFile *g, const char *key, GgufType *elem_type,
                         uint64_t *count, const void **data, NuError *err) {
    const GgufKv *kv;
    NuCode rc = need_arr(g, key, &kv, err);
    if (rc != NU_OK) return rc;
    if (gguf_type_size(kv->elem_type) == 0)
        return nu_fail(err, NU_ERR_FORMAT, "key '%s' is an array of %s, expected numbers", key,
                       gguf_type_name(kv->elem_type));
    *elem_type = kv->elem_type;
    *count = kv->count;
    *data = kv->value;
    return NU_OK;
}

/* ---- tensors ------------------------------------------------------------------------- */

uint64_t gguf_tensor_count(const GgufFile *g) { return g->n_tensors; }

const GgufTensorInfo *gguf_tensor(const GgufFile *g, uint64_t index) {
    return index < g->n_tensors ? &g->tensors[index] : NULL;
}

const GgufTensorInfo *gguf_find_tensor(const GgufFile *g, const char *name) {
    GgufStr k = {name, strlen(name)};
    size_t lo = 0, hi = (size_t)g->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = str_cmp(g->tensor_by_name[mid]->name, k);
        if (r == 0) return g->tensor_by_name[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}
