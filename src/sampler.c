/* The nucleus sampler. See sampler.h for the rules and README "Sampling rules" for the
 * same text with the exact arithmetic.
 *
 * Cost: an O(n) pass for the maximum, one for the softmax, and usually one more that gathers
 * the candidates {p >= p_max / 2^20}, a set that holds everything the report and the filters
 * need; only those m candidates are counted, trimmed and radix-sorted. The vocabulary is
 * never fully sorted unless every token is needed.
 *
 * Determinism: the scalar and vector paths (simd.h: SIMD128, or SSE4.1 natively) perform
 * the same float operations in the same order (sums use four interleaved lanes in both), so
 * native, scalar wasm and SIMD wasm builds give bit-identical reports. */
#include "sampler.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "expf.h"
#include "simd.h"

#define BLOCK 32          /* tokens per block of the maximum pass (see gather_above) */
#define RADIX_MAX_BITS 13 /* widest radix digit: 8192 counts per pass */

struct NuSampler {
    NuSamplerParams params;
    uint64_t rng;

    int32_t *bias_ids;
    float *bias_values;
    int32_t bias_count;

    int32_t *history; /* ring buffer of the last params.penalty_last_n accepted tokens */
    int32_t history_cap, history_len, history_next;
    int32_t *window;  /* scratch for counting the tokens in the penalty window */

    int64_t cap;      /* vocabulary size the buffers below are allocated for */
    float *work;      /* logits after bias and penalties */
    float *exps;      /* e^x of each token, by id: probabilities before dividing by S */
    float *block_max; /* each BLOCK of tokens' largest logit, then a bound of its e^x */
    uint32_t *cand_ids, *cand_keys;
    uint64_t *packed; /* the radix sort's other buffer: key << 32 | id */
    int32_t *out_ids;
    float *out_probs;
    double *out_cumulative;
    uint32_t radix_count[2 << RADIX_MAX_BITS]; /* digit counts, one table per pass */

    NuReport report;
};

/* ---- random numbers: splitmix64 --------------------------------------------------------- */

static uint64_t splitmix64_next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from the top 53 bits of one output. */
static double next_coin(uint64_t *state) {
    return (double)(splitmix64_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- exp and log with the same bits everywhere --------------------------------------- */

float nu_expf(float x) {
    if (x > 88.0f) return INFINITY;
    if (x > 0.0f) return 1.0f / exp_clamped(-x);
    return exp_clamped(x > EXP_MIN ? x : EXP_MIN); /* also -Inf and NaN -> 0 */
}

/* ln(x) for finite x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(f) with
 * f = (m-1)/(m+1), |f| < 0.172, series to f^23. */
static double nu_log(double x) {
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double f = (m - 1) / (m + 1), f2 = f * f, s = 1.0 / 23;
    for (int k = 21; k >= 1; k -= 2) s = s * f2 + 1.0 / k;
    return e * 0.69314718055994531 + 2 * f * s;
}

/* ---- parameters -------------------------------------------------------------------------- */

void nu_sampler_default_params(NuSamplerParams *p) {
    p->temperature = 1.0f;
    p->top_k = 0;
    p->top_p = 0.9;
    p->min_p = 0.0;
    p->min_keep = 1;
    p->top_n = 64;
    p->penalty_last_n = 0;
    p->repeat_penalty = 1.0f;
    p->frequency_penalty = 0.0f;
    p->presence_penalty = 0.0f;
}

static NuCode check_params(const NuSamplerParams *p, NuError *err) {
    if (!isfinite(p->temperature))
        return nu_fail(err, NU_ERR_ARG, "temperature must be a finite number, got %g",
                       (double)p->temperature);
    if (isnan(p->top_p) || p->top_p < 0 || p->top_p > 1)
        return nu_fail(err, NU_ERR_ARG, "topP must be in [0, 1], got %g", p->top_p);
    if (isnan(p->min_p) || p->min_p < 0 || p->min_p > 1)
        return nu_fail(err, NU_ERR_ARG, "minP must be in [0, 1], got %g", p->min_p);
    if (p->min_keep < 0)
        return nu_fail(err, NU_ERR_ARG, "minKeep must be >= 0, got %d", (int)p->min_keep);
    if (p->top_n < 0)
        return nu_fail(err, NU_ERR_ARG, "topN must be >= 0, got %d", (int)p->top_n);
    if (p->penalty_last_n < 0 || p->penalty_last_n > NU_MAX_VOCAB)
        return nu_fail(err, NU_ERR_ARG, "penaltyLastN must be in [0, %d], got %d", NU_MAX_VOCAB,
                       (int)p->penalty_last_n);
    if (!(p->repeat_penalty > 0) || !isfinite(p->repeat_penalty))
        return nu_fail(err, NU_ERR_ARG, "repeatPenalty must be a finite number > 0, got %g",
                       (double)p->repeat_penalty);
    if (!isfinite(p->frequency_penalty))
        return nu_fail(err, NU_ERR_ARG, "frequencyPenalty must be finite, got %g",
                       (double)p->frequency_penalty);
    if (!isfinite(p->presence_penalty))
        return nu_fail(err, NU_ERR_ARG, "presencePenalty must be finite, got %g",
                       (double)p->presence_penalty);
    return NU_OK;
}

/* Resizes the history ring to cap entries, keeping the most recent tokens. */
static NuCode resize_history(NuSampler *s, int32_t cap, NuError *err) {
    if (cap == s->history_cap) return NU_OK;
    int32_t *ring = NULL, *window = NULL;
    if (cap > 0) {
        ring = malloc((size_t)cap * sizeof *ring);
        window = malloc((size_t)cap * sizeof *window);
        if (!ring || !window) {
            free(ring);
            free(window);
            return nu_fail(err, NU_ERR_NOMEM, "cannot allocate a penalty window of %d tokens",
                           (int)cap);
        }
    }
    int32_t keep = s->history_len < cap ? s->history_len : cap;
    for (int32_t i = 0; i < keep; i++) { /* oldest kept first */
        int32_t from = s->history_next - keep + i;
        if (from < 0) from += s->history_cap;
        ring[i] = s->history[from];
    }
    free(s->history);
    free(s->window);
    s->history = ring;
    s->window = window;
    s->history_cap = cap;
    s->history_len = keep;
    s->history_next = cap > 0 ? keep % cap : 0;
    return NU_OK;
}

NuCode nu_sampler_set_params(NuSampler *s, const NuSamplerParams *p, NuError *err) {
    NuCode rc = check_params(p, err);
    if (rc == NU_OK) rc = resize_history(s, p->penalty_last_n, err);
    if (rc == NU_OK) s->params = *p;
    return rc;
}

const NuSamplerParams *nu_sampler_params(const NuSampler *s) { return &s->params; }

void nu_sampler_seed(NuSampler *s, uint64_t seed) { s->rng = seed; }
uint64_t nu_sampler_rng_state(const NuSampler *s) { return s->rng; }

NuCode nu_sampler_set_bias(NuSampler *s, const int32_t *ids, const float *bias, int32_t count,
                           NuError *err) {
    if (count < 0 || count > NU_MAX_VOCAB)
        return nu_fail(err, NU_ERR_ARG, "logit bias count %d is out of range", (int)count);
    for (int32_t i = 0; i < count; i++) {
        if (ids[i] < 0)
            return nu_fail(err, NU_ERR_ARG, "logit bias token id %d is negative", (int)ids[i]);
        if (isnan(bias[i]) || bias[i] == INFINITY)
            return nu_fail(err, NU_ERR_ARG, "logit bias for token %d is %s", (int)ids[i],
                           isnan(bias[i]) ? "NaN" : "+Inf");
    }
    int32_t *new_ids = NULL;
    float *new_values = NULL;
    if (count > 0) {
        new_ids = malloc((size_t)count * sizeof *new_ids);
        new_values = malloc((size_t)count * sizeof *new_values);
        if (!new_ids || !new_values) {
            free(new_ids);
            free(new_values);
            return nu_fail(err, NU_ERR_NOMEM, "cannot allocate a logit bias of %d entries",
                           (int)count);
        }
        memcpy(new_ids, ids, (size_t)count * sizeof *ids);
        memcpy(new_values, bias, (size_t)count * sizeof *bias);
    }
    free(s->bias_ids);
    free(s->bias_values);
    s->bias_ids = new_ids;
    s->bias_values = new_values;
    s->bias_count = count;
    return NU_OK;
}

void nu_sampler_accept(NuSampler *s, int32_t token) {
    if (s->history_cap == 0) return;
    s->history[s->history_next] = token;
    s->history_next = (s->history_next + 1) % s->history_cap;
    if (s->history_len < s->history_cap) s->history_len++;
}

void nu_sampler_reset_history(NuSampler *s) {
    s->history_len = 0;
    s->history_next = 0;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

NuCode nu_sampler_new(NuSampler **out, NuError *err) {
    NuSampler *s = calloc(1, sizeof *s);
    if (!s) return nu_fail(err, NU_ERR_NOMEM, "cannot allocate a sampler");
    nu_sampler_default_params(&s->params);
    *out = s;
    return NU_OK;
}

static void free_buffers(NuSampler *s) {
    free(s->work);
    free(s->exps);
    free(s->block_max);
    free(s->cand_ids);
    free(s->cand_keys);
    free(s->packed);
    free(s->out_ids);
    free(s->out_probs);
    free(s->out_cumulative);
    s->work = s->exps = s->block_max = NULL;
    s->cand_ids = s->cand_keys = NULL;
    s->packed = NULL;
    s->out_ids = NULL;
    s->out_probs = NULL;
    s->out_cumulative = NULL;
    s->cap = 0;
}

void nu_sampler_free(NuSampler *s) {
    if (!s) return;
    free_buffers(s);
    free(s->bias_ids);
    free(s->bias_values);
    free(s->history);
    free(s->window);
    free(s);
}

static NuCode reserve(NuSampler *s, int64_t n, NuError *err) {
    if (n <= s->cap) return NU_OK;
    free_buffers(s);
    size_t m = (size_t)n;
    s->work = malloc(m * sizeof(float));
    s->exps = malloc(m * sizeof(float));
    s->block_max = malloc((m / BLOCK + 1) * sizeof(float));
    s->cand_ids = malloc(m * sizeof(uint32_t));
    s->cand_keys = malloc(m * sizeof(uint32_t));
    s->packed = malloc(m * sizeof(uint64_t));
    s->out_ids = malloc(m * sizeof(int32_t));
    s->out_probs = malloc(m * sizeof(float));
    s->out_cumulative = malloc(m * sizeof(double));
    if (!s->work || !s->exps || !s->block_max || !s->cand_ids || !s->cand_keys || !s->packed ||
        !s->out_ids || !s->out_probs || !s->out_cumulative) {
        free_buffers(s);
        return nu_fail(err, NU_ERR_NOMEM, "cannot allocate sampler buffers for %lld tokens",
                       (long long)n);
    }
    s->cap = n;
    return NU_OK;
}

/* ---- step 1: bias and penalties on a copy of the logits ---------------------------------- */

/* The largest logit, and in bmax[b] that of tokens [BLOCK b, BLOCK b + BLOCK); *bad is set
 * when any is NaN or +Inf. When `out` is not NULL the logits are copied there in the same pass
 * (bias and penalties then edit the copy). */
static float scan_max(const float *in, float *out, float *bmax, int64_t n, int *bad) {
    float max = -INFINITY;
    int ok = 1;
#ifdef NU_SIMD
    const v128 inf = f32x4_splat(INFINITY);
    v128 vok = i32x4_splat(-1);
#endif
    for (int64_t start = 0; start < n; start += BLOCK) {
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        int64_t i = start;
        float block = -INFINITY;
#ifdef NU_SIMD
        if (end - start == BLOCK) {
            /* Two independent chains: one pmax per vector would wait on the previous one. */
            v128 vmax = f32x4_splat(-INFINITY), vmax2 = vmax;
            for (int j = 0; j < BLOCK; j += 8) {
                v128 v = v128_load(in + i + j), v2 = v128_load(in + i + j + 4);
                if (out) {
                    v128_store(out + i + j, v);
                    v128_store(out + i + j + 4, v2);
                }
                vok = v128_and(vok, v128_and(f32x4_lt(v, inf), f32x4_lt(v2, inf)));
                vmax = f32x4_pmax(vmax, v);
                vmax2 = f32x4_pmax(vmax2, v2);
            }
            vmax = f32x4_pmax(vmax, vmax2);
            vmax = f32x4_pmax(vmax, i32x4_swap_halves(vmax));
            float a = f32x4_first(vmax), b = f32x4_second(vmax);
            block = a > b ? a : b;
            i = end;
        }
#endif
        for (; i < end; i++) {
            if (out) out[i] = in[i];
            ok &= in[i] < INFINITY;
            block = in[i] > block ? in[i] : block;
        }
        bmax[start / BLOCK] = block;
        max = block > max ? block : max;
    }
#ifdef NU_SIMD
    ok &= i32x4_all_true(vok);
#endif
    *bad = !ok;
    return max;
}

static NuCode report_bad_logit(const float *logits, int64_t n, NuError *err) {
    int64_t i = 0;
    while (i < n && logits[i] < INFINITY) i++;
    return nu_fail(err, NU_ERR_LOGITS, "logit %lld is %s", (long long)i,
                   isnan(logits[i]) ? "NaN" : "+Inf");
}

static int compare_ids(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int penalties_on(const NuSampler *s) {
    const NuSamplerParams *p = &s->params;
    return s->history_len > 0 && (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f ||
                                  p->presence_penalty != 0.0f);
}

/* llama.cpp's penalties: for each distinct token t seen c times in the window,
 * l = l > 0 ? l / repeat : l * repeat, then l -= c * frequency + presence. */
static void apply_penalties(NuSampler *s, int64_t n) {
    const NuSamplerParams *p = &s->params;
    int32_t m = s->history_len;
    memcpy(s->window, s->history, (size_t)m * sizeof *s->window);
    qsort(s->window, (size_t)m, sizeof *s->window, compare_ids);
    for (int32_t i = 0; i < m;) {
        int32_t t = s->window[i], c = 0;
        while (i < m && s->window[i] == t) i++, c++;
        if (t < 0 || t >= n) continue;
        float l = s->work[t];
        l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        s->work[t] = l - ((float)c * p->frequency_penalty + p->presence_penalty);
    }
}

/* Finds the maximum of the logits as the sampler sees them and returns them in *out: the
 * caller's array itself, or s->work when bias or penalties change them. */
static NuCode prepare_logits(NuSampler *s, const float *logits, int64_t n, const float **out,
                             float *max_out, NuError *err) {
    for (int32_t i = 0; i < s->bias_count; i++)
        if (s->bias_ids[i] >= n)
            return nu_fail(err, NU_ERR_ARG,
                           "logit bias token id %d is outside the vocabulary of %lld tokens",
                           (int)s->bias_ids[i], (long long)n);
    int edit = s->bias_count > 0 || penalties_on(s), bad;
    float m = scan_max(logits, edit ? s->work : NULL, s->block_max, n, &bad);
    if (bad) return report_bad_logit(logits, n, err);
    *out = logits;
    if (edit) {
        for (int32_t i = 0; i < s->bias_count; i++) s->work[s->bias_ids[i]] += s->bias_values[i];
        if (penalties_on(s)) apply_penalties(s, n);
        m = scan_max(s->work, NULL, s->block_max, n, &bad); /* bad: +Inf is caught below */
        *out = s->work;
    }
    if (m == -INFINITY)
        return nu_fail(err, NU_ERR_LOGITS, "all %lld logits are -Inf: no token can be drawn",
                       (long long)n);
    if (!(m < INFINITY)) /* bias or penalties overflowed a finite logit */
        return nu_fail(err, NU_ERR_LOGITS, "a logit became +Inf after bias and penalties");
    *max_out = m;
    return NU_OK;
}

/* ---- step 2: softmax --------------------------------------------------------------------- */

typedef struct {
    double sum;         /* sum of e_i = exp(x_i) */
    double sum_ex;      /* sum of e_i * x_i, for the entropy */
} SoftmaxSums;

/* The entropy's sum of e_i * x_i is added in float over blocks of ENTROPY_BLOCK tokens (per
 * lane) and each block's partial sums then in double: token by token in double it cost a sixth
 * of the pass, and the entropy is a displayed figure, not part of the sampling rules. */
#define ENTROPY_BLOCK 32

/* x_i = (l_i - max) / T clamped to EXP_MIN (so -Inf gives e = 0 and e * x stays finite);
 * e[i] = e^x_i. Both sums use four interleaved lanes (token i in lane i % 4): S in double
 * token by token; sum e_i x_i in float within each block of ENTROPY_BLOCK tokens (the tokens
 * past the last multiple of 4 form a block of their own), each block added to the lane's
 * double. Dividing by T = 1 is skipped: it is exact. */
static inline __attribute__((always_inline)) SoftmaxSums exp_pass(const float *logits, float *e,
                                                                   int64_t n, float max, float t) {
    double lane[4] = { 0, 0, 0, 0 }, lane_ex[4] = { 0, 0, 0, 0 };
    const int divide = t != 1.0f;
    const int64_t whole = n & ~(int64_t)3;
    int64_t i = 0;
#ifdef NU_SIMD
    const v128 vmax = f32x4_splat(max), vt = f32x4_splat(t), vmin = f32x4_splat(EXP_MIN);
    v128 s01 = i32x4_splat(0), s23 = i32x4_splat(0);
    v128 x01 = i32x4_splat(0), x23 = i32x4_splat(0);
    while (i < whole) {
        const int64_t end = i + ENTROPY_BLOCK < whole ? i + ENTROPY_BLOCK : whole;
        /* Two loops per block: e first, then the sums from the e and x just stored. In one
         * loop the fifteen constants and three accumulators outgrow the sixteen vector
         * registers, and the spilled accumulators put a store and a load on every chain. */
        v128 block_ex = f32x4_splat(0);
        float xs[ENTROPY_BLOCK];
        const int64_t start = i;
#ifdef __clang__ /* unrolled, the constants no longer fit in registers */
#pragma clang loop unroll(disable)
#endif
        for (; i < end; i += 4) {
            v128 x = f32x4_sub(v128_load(logits + i), vmax);
            if (divide) x = f32x4_div(x, vt);
            x = f32x4_pmax(vmin, x); /* x < vmin ? vmin : x, also for -Inf */
            v128_store(xs + (i - start), x);
            v128_store(e + i, exp_clamped4(x));
        }
        for (int64_t j = start; j < end; j += 4) {
            v128 ev = v128_load(e + j), x = v128_load(xs + (j - start));
            v128 ev_hi = i32x4_swap_halves(ev);
            s01 = f64x2_add(s01, f64x2_promote_low_f32x4(ev));
            s23 = f64x2_add(s23, f64x2_promote_low_f32x4(ev_hi));
            block_ex = f32x4_add(block_ex, f32x4_mul(ev, x));
        }
        v128 block_hi = i32x4_swap_halves(block_ex);
        x01 = f64x2_add(x01, f64x2_promote_low_f32x4(block_ex));
        x23 = f64x2_add(x23, f64x2_promote_low_f32x4(block_hi));
    }
    v128_store(lane, s01);
    v128_store(lane + 2, s23);
    v128_store(lane_ex, x01);
    v128_store(lane_ex + 2, x23);
#endif
    while (i < n) { /* the scalar build's whole pass, or the SIMD build's last n % 4 tokens */
        const int64_t end = i < whole ? (i + ENTROPY_BLOCK < whole ? i + ENTROPY_BLOCK : whole) : n;
        float block_ex[4] = { 0, 0, 0, 0 };
        for (; i < end; i++) {
            float x = logits[i] - max;
            if (divide) x = x / t;
            x = x > EXP_MIN ? x : EXP_MIN;
            float ei = exp_clamped(x);
            e[i] = ei;
            lane[i & 3] += ei;
            block_ex[i & 3] += ei * x;
        }
        for (int j = 0; j < 4; j++) lane_ex[j] += block_ex[j];
    }
    SoftmaxSums sums = { (lane[0] + lane[1]) + (lane[2] + lane[3]),
                         (lane_ex[0] + lane_ex[1]) + (lane_ex[2] + lane_ex[3]) };
    return sums;
}

/* ---- step 3: the ordered candidate prefix ------------------------------------------------ */

/* Probabilities are never stored for the whole vocabulary: p_i = e_i * inv is recomputed (one
 * multiply, the same rounding everywhere) by the scans below and kept only for candidates. */

/* The probability a sort key holds (see gather_above). */
static float key_prob(uint32_t key) {
    union { uint32_t u; float f; } bits = { ~key };
    return bits.f;
}

#define LADDER 4 /* thresholds tried per candidate set: its own and three above, 16-fold apart */

/* For each of LADDER thresholds (descending), counts the candidates with p >= t[j] and
 * estimates their mass (float sums: only used to decide which set is worth sorting; the exact
 * test comes after the sort). keys hold the complemented bits of p (see gather_above). */
static void count_ladder(const uint32_t *keys, int64_t m, const float t[LADDER],
                         int64_t count[LADDER], double mass[LADDER]) {
    int64_t i = 0;
    float sum[LADDER] = { 0 };
    for (int j = 0; j < LADDER; j++) count[j] = 0;
#ifdef NU_SIMD
    v128 th[LADDER], vcount[LADDER], vsum[LADDER];
    for (int j = 0; j < LADDER; j++) {
        th[j] = f32x4_splat(t[j]);
        vcount[j] = i32x4_splat(0);
        vsum[j] = f32x4_splat(0);
    }
    for (; i + 4 <= m; i += 4) {
        v128 p = v128_not(v128_load(keys + i));
        for (int j = 0; j < LADDER; j++) {
            v128 keep = f32x4_ge(p, th[j]);
            vcount[j] = i32x4_sub(vcount[j], keep);
            vsum[j] = f32x4_add(vsum[j], v128_and(p, keep));
        }
    }
    for (int j = 0; j < LADDER; j++) {
        uint32_t c[4];
        float f[4];
        v128_store(c, vcount[j]);
        v128_store(f, vsum[j]);
        count[j] = (int64_t)c[0] + c[1] + c[2] + c[3];
        sum[j] = (f[0] + f[1]) + (f[2] + f[3]);
    }
#endif
    for (; i < m; i++) {
        float p = key_prob(keys[i]);
        for (int j = 0; j < LADDER; j++) {
            count[j] += p >= t[j];
            sum[j] += p >= t[j] ? p : 0.0f;
        }
    }
    for (int j = 0; j < LADDER; j++) mass[j] = sum[j];
}

#ifdef NU_SIMD
/* COMPACT[mask]: the byte shuffle that packs the 32-bit lanes set in mask to the front. */
#define LANE(a) 4 * (a), 4 * (a) + 1, 4 * (a) + 2, 4 * (a) + 3
static const uint8_t COMPACT[16][16] = {
    { 0 }, { LANE(0) }, { LANE(1) }, { LANE(0), LANE(1) }, { LANE(2) }, { LANE(0), LANE(2) },
    { LANE(1), LANE(2) }, { LANE(0), LANE(1), LANE(2) }, { LANE(3) }, { LANE(0), LANE(3) },
    { LANE(1), LANE(3) }, { LANE(0), LANE(1), LANE(3) }, { LANE(2), LANE(3) },
    { LANE(0), LANE(2), LANE(3) }, { LANE(1), LANE(2), LANE(3) },
    { LANE(0), LANE(1), LANE(2), LANE(3) },
};
#undef LANE
#endif

/* Replaces each block's largest logit by an upper bound of its tokens' e: x <= -15 (computed
 * as exp_pass does, which keeps the order of the logits) gives e <= e^-15 < 0.65 * 2^-21, far
 * inside nu_expf's error of about an ulp, so 2^-21; otherwise 1. That bound times inv is below
 * the first gathering threshold p_max / 2^20 (see gather_above). */
static void block_bounds(float *bmax, int64_t n, float max, float t) {
    for (int64_t b = 0; b * BLOCK < n; b++) {
        float x = bmax[b] - max;
        if (t != 1.0f) x = x / t;
        bmax[b] = x <= -15.0f ? 0x1p-21f : 1.0f;
    }
}

/* Writes the ids (ascending) of the tokens with p >= threshold and their sort keys; returns
 * how many. The key is the complemented bits of p, so ascending keys are descending p. A block
 * whose bound of e (block_bounds) gives p < threshold is skipped: p = e * inv rounds
 * monotonically in e, so it holds no such token (below a peaked head, most blocks). */
static int64_t gather_above(const float *e, const float *bound, int64_t n, float inv,
                            float threshold, uint32_t *ids, uint32_t *keys) {
    int64_t m = 0;
#ifdef NU_SIMD
    const v128 vinv = f32x4_splat(inv), vt = f32x4_splat(threshold);
#endif
    for (int64_t start = 0; start < n; start += BLOCK) {
        if (bound[start / BLOCK] * inv < threshold) continue;
        const int64_t end = start + BLOCK < n ? start + BLOCK : n;
        int64_t i = start;
#ifdef NU_SIMD
        /* Branch-free stream compaction: every step stores four lanes at ids + m (m <= i, so
         * they stay inside the n-entry buffers) and advances m by the lanes kept. */
        for (; i + 4 <= end; i += 4) {
            v128 p = f32x4_mul(v128_load(e + i), vinv), keep = f32x4_ge(p, vt);
            if (!v128_any_true(keep)) continue;
            int mask = i32x4_bitmask(keep);
            v128 pack = v128_load(COMPACT[mask]);
            v128 at = i32x4_add(i32x4_splat((int32_t)i), u32x4_make(0, 1, 2, 3));
            v128_store(ids + m, i8x16_swizzle(at, pack));
            v128_store(keys + m, i8x16_swizzle(v128_not(p), pack));
            m += __builtin_popcount((unsigned)mask);
        }
#endif
        for (; i < end; i++) { /* branch-free too: write every token, advance past the kept */
            union { float f; uint32_t u; } p = { e[i] * inv };
            ids[m] = (uint32_t)i;
            keys[m] = ~p.u;
            m += p.f >= threshold;
        }
    }
    return m;
}

/* Keeps, in place and in order, the candidates with p >= threshold; returns how many. */
static int64_t keep_above(uint32_t *ids, uint32_t *keys, int64_t m, float threshold) {
    int64_t i = 0, kept = 0;
#ifdef NU_SIMD
    const v128 vt = f32x4_splat(threshold);
    for (; i + 4 <= m; i += 4) { /* writes at kept <= i, behind the lanes still to be read */
        v128 key = v128_load(keys + i), id = v128_load(ids + i);
        int mask = i32x4_bitmask(f32x4_ge(v128_not(key), vt));
        v128 pack = v128_load(COMPACT[mask]);
        v128_store(ids + kept, i8x16_swizzle(id, pack));
        v128_store(keys + kept, i8x16_swizzle(key, pack));
        kept += __builtin_popcount((unsigned)mask);
    }
#endif
    for (; i < m; i++) {
        uint32_t id = ids[i], key = keys[i];
        ids[kept] = id;
        keys[kept] = key;
        kept += key_prob(key) >= threshold;
    }
    return kept;
}

/* The k-th smallest of the m keys (1 <= k <= m), by MSD radix selection on 8-bit digits:
 * each round counts the digits of the keys still in play, finds the digit holding the k-th,
 * and moves only those keys on (into tmp) to the next round. */
static uint32_t kth_key(const uint32_t *keys, int64_t m, int64_t k, uint32_t *tmp) {
    const uint32_t *in = keys;
    uint32_t prefix = 0;
    for (int shift = 24;; shift -= 8) {
        int64_t count[256] = { 0 };
        for (int64_t i = 0; i < m; i++) count[(in[i] >> shift) & 0xFF]++;
        uint32_t digit = 0;
        while (k > count[digit]) k -= count[digit++];
        prefix |= digit << shift;
        if (shift == 0) return prefix;
        int64_t kept = 0; /* kept <= i: moving within tmp is safe */
        for (int64_t i = 0; i < m; i++) {
            uint32_t key = in[i];
            tmp[kept] = key;
            kept += ((key >> shift) & 0xFF) == digit;
        }
        in = tmp;
        m = kept;
    }
}

/* The digit width and pass count for m keys spanning `bits` bits. Passes come in pairs (see
 * radix_sort); two when the digits fit RADIX_MAX_BITS and their 2^width counts stay below m,
 * otherwise four of at most 8 bits. */
static int radix_width(int64_t m, int bits, int *passes) {
    int widest = 8;
    while (widest < RADIX_MAX_BITS && ((int64_t)2 << widest) <= m) widest++;
    *passes = bits <= 2 * widest ? 2 : 4;
    return (bits + *passes - 1) / *passes;
}

/* Stable sort of (keys, ids) by key: LSD radix over only the bits in which the keys differ
 * (digits of key - the smallest key), with the counts of every pass taken in one sweep.
 * Passes alternate between the two arrays and `packed` (key << 32 | id: one load and one store
 * per entry), an even number of them, so the result ends in keys and ids. Stability keeps equal
 * probabilities in ascending id order. */
static void radix_sort(uint32_t *keys, uint32_t *ids, uint64_t *packed, uint32_t *count,
                       int64_t m) {
    if (m < 64) { /* insertion sort: stable, and cheaper for the usual small nucleus */
        for (int64_t i = 1; i < m; i++) {
            uint32_t k = keys[i], id = ids[i];
            int64_t j = i;
            for (; j > 0 && keys[j - 1] > k; j--) keys[j] = keys[j - 1], ids[j] = ids[j - 1];
            keys[j] = k, ids[j] = id;
        }
        return;
    }
    uint32_t lo = keys[0], hi = keys[0];
    for (int64_t i = 1; i < m; i++) {
        lo = keys[i] < lo ? keys[i] : lo;
        hi = keys[i] > hi ? keys[i] : hi;
    }
    if (lo == hi) return; /* one probability: already in id order */
    int passes, width = radix_width(m, 32 - __builtin_clz(hi - lo), &passes);
    const uint32_t buckets = 1u << width, mask = buckets - 1;
    memset(count, 0, (size_t)passes * buckets * sizeof *count);
    for (int p = 0; p < passes; p++) {
        uint32_t *c = count + p * buckets;
        for (int64_t i = 0; i < m; i++) c[((keys[i] - lo) >> (p * width)) & mask]++;
        uint32_t at = 0; /* counts -> where each digit's run starts */
        for (uint32_t d = 0; d < buckets; d++) {
            uint32_t k = c[d];
            c[d] = at;
            at += k;
        }
    }
    for (int p = 0; p < passes; p += 2) {
        uint32_t *c = count + p * buckets;
        int shift = p * width;
        for (int64_t i = 0; i < m; i++) {
            uint32_t key = keys[i] - lo;
            packed[c[(key >> shift) & mask]++] = (uint64_t)key << 32 | ids[i];
        }
        c += buckets;
        shift += width + 32;
        for (int64_t i = 0; i < m; i++) {
            uint64_t v = packed[i];
            uint32_t at = c[(v >> shift) & mask]++;
            keys[at] = (uint32_t)(v >> 32) + lo;
            ids[at] = (uint32_t)v;
        }
    }
}

/* Greedy's argmax is the first maximal logit. Two logits that differ by less than float
 * resolution can share the top probability, so the sort alone may put another id first. */
static void argmax_to_front(NuSampler *s, const float *logits, float max) {
    /* Every maximal logit has e = 1, so the top probability: it is among the first entries,
     * which share that probability in ascending id order. */
    int64_t at = 0;
    while (logits[s->cand_ids[at]] != max) at++;
    uint32_t key = s->cand_keys[at], best = s->cand_ids[at];
    for (; at > 0; at--) { /* it is among the entries sharing the top probability */
        s->cand_ids[at] = s->cand_ids[at - 1];
        s->cand_keys[at] = s->cand_keys[at - 1];
    }
    s->cand_ids[0] = best;
    s->cand_keys[0] = key;
}

/* ---- step 4: the filters on the ordered prefix ------------------------------------------- */

typedef enum { CUT_DONE, CUT_NEED_MORE } CutResult;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t at_least(int64_t size, int64_t min_keep, int64_t before) {
    int64_t floor = min_keep < before ? min_keep : before;
    return size > floor ? size : floor;
}

/* cum[j] = p_0 + ... + p_j in double for j in [from, to), continuing from cum[from - 1]: the
 * report's running sums, which the top-p cut and the draw read too. Added one by one they form
 * a chain of dependent adds. When p_(to-1), the smallest of them, is >= 2^-29, every p is a
 * multiple of 2^-52 and every partial sum (at most the sum of all p, below 1 + 2^-22) is one
 * below 2, which a double holds exactly: no add rounds, so adding four entries at a time to
 * the running sum gives the same bits as the chain. */
static void cumulate(const uint32_t *keys, double *cum, int64_t from, int64_t to) {
    if (from >= to) return;
    double c = from > 0 ? cum[from - 1] : 0.0;
    int64_t j = from;
    if (key_prob(keys[to - 1]) >= 0x1p-29f) {
        for (; j + 4 <= to; j += 4) {
            double a = key_prob(keys[j]), b = a + key_prob(keys[j + 1]);
            double d = b + key_prob(keys[j + 2]), e = d + key_prob(keys[j + 3]);
            cum[j] = c + a;
            cum[j + 1] = c + b;
            cum[j + 2] = c + d;
            cum[j + 3] = c + e;
            c += e;
        }
    }
    for (; j < to; j++) {
        c += key_prob(keys[j]);
        cum[j] = c;
    }
}

#define CUT_CHUNK 512 /* running sums taken ahead of the top-p cut's search */

/* The first j in [from, to) with cum[j] >= target; to if none. */
static int64_t first_reaching(const double *cum, int64_t from, int64_t to, double target) {
    while (from < to && cum[from] < target) from++;
    return from;
}

/* Applies top-k, top-p and min-p to the m sorted candidates. `nonzero` is how many of them
 * have p > 0 and `complete` whether they include every token with p > 0. The running sums the
 * top-p cut needed are left in cum[0 .. *summed). Returns CUT_NEED_MORE when the top-p prefix
 * runs past the candidates. */
static CutResult apply_filters(const NuSamplerParams *prm, const uint32_t *keys, int64_t nonzero,
                               int complete, int64_t n, double *cum, int64_t *summed,
                               int64_t *size_out) {
    int64_t size = nonzero; /* tokens with probability 0 are never kept */
    int k_on = prm->top_k > 0 && prm->top_k < n;
    *summed = 0;
    if (k_on) size = at_least(size < prm->top_k ? size : prm->top_k, prm->min_keep, size);
    if (prm->top_p < 1.0) {
        int64_t cut;
        if (prm->top_p <= 0.0) {
            cut = 1;
        } else {
            double mass = 1.0; /* top-p sees the probabilities renormalised after top-k */
            if (k_on) {
                cumulate(keys, cum, 0, size);
                *summed = size;
                mass = cum[size - 1];
            }
            double target = (prm->top_p - 1e-6) * mass;
            cut = -1;
            for (int64_t from = 0; from < size; from += CUT_CHUNK) {
                int64_t to = min64(from + CUT_CHUNK, size);
                if (to > *summed) {
                    cumulate(keys, cum, *summed, to);
                    *summed = to;
                }
                if (cum[to - 1] >= target) {
                    cut = first_reaching(cum, from, to, target) + 1;
                    break;
                }
            }
            if (cut < 0) {
                if (!complete && !k_on) return CUT_NEED_MORE;
                cut = size; /* rounding left the whole set just short of p */
            }
        }
        size = at_least(cut < size ? cut : size, prm->min_keep, size);
    }
    if (prm->min_p > 0.0) {
        double floor = prm->min_p * key_prob(keys[0]);
        int64_t cut = 0;
        while (cut < size && (double)key_prob(keys[cut]) >= floor) cut++;
        size = at_least(cut, prm->min_keep, size);
    }
    *size_out = size;
    return CUT_DONE;
}

/* ---- the whole step ---------------------------------------------------------------------- */

/* The first gathering threshold: everything for small vocabularies, every non-zero token when
 * all of them are needed, otherwise p_max / 2^20, which usually holds the report's 64 entries
 * and a top-p 0.9 nucleus in one pass (the ladder then picks a smaller set to sort). */
static float first_threshold(const NuSamplerParams *prm, int64_t n, int greedy, float p_max) {
    int k_on = prm->top_k > 0 && prm->top_k < n;
    if (n <= 256) return 0.0f;
    if (!greedy && !k_on && prm->top_p >= 1.0 && prm->min_p <= 0.0) return FLT_TRUE_MIN;
    return p_max * 0x1p-20f;
}

/* When a set falls short, the next gathering threshold: 2^16-fold lower (below the whole
 * ladder just tried), then the smallest subnormal (every non-zero token), then 0 (every
 * token). */
static float lower_threshold(float threshold) {
    if (threshold <= FLT_TRUE_MIN) return 0.0f;
    float next = threshold * 0x1p-16f;
    return next >= 0x1p-126f ? next : FLT_TRUE_MIN;
}

/* The ladder above a gathering threshold, descending: 2^12, 2^8, 2^4 and 1 times it (all
 * equal for the subnormal and 0 thresholds, which mean "everything"). */
static void ladder_above(float threshold, float ladder[LADDER]) {
    for (int j = 0; j < LADDER; j++)
        ladder[j] = threshold > FLT_TRUE_MIN ? ldexpf(threshold, 4 * (LADDER - 1 - j)) : threshold;
}

/* Is the set {p >= threshold} (count, estimated mass) large enough to try? */
static int enough(const NuSamplerParams *prm, int count_only, int64_t need, int64_t count,
                  double mass, float threshold, float p_max) {
    if (threshold == 0.0f) return 1;
    if (count < need) return 0;
    if (count_only) return 1;
    if (prm->top_p < 1.0) return mass >= prm->top_p - 1e-4;
    if (prm->min_p > 0.0) return (double)threshold <= prm->min_p * p_max;
    return threshold <= FLT_TRUE_MIN;
}

/* Fills the report from the sorted candidates; cum[0 .. summed) already holds running sums. */
static void write_report(NuSampler *s, int64_t n, int64_t m, int64_t size, int greedy,
                         int64_t summed, SoftmaxSums sums) {
    NuReport *r = &s->report;
    int64_t count = min64(max64(size, s->params.top_n), m);
    for (int64_t j = 0; j < count; j++) {
        s->out_ids[j] = (int32_t)s->cand_ids[j];
        s->out_probs[j] = greedy ? (j == 0 ? 1.0f : 0.0f) : key_prob(s->cand_keys[j]);
    }
    if (greedy) {
        for (int64_t j = 0; j < count; j++) s->out_cumulative[j] = 1.0;
    } else {
        cumulate(s->cand_keys, s->out_cumulative, summed, count);
    }
    r->n = (int32_t)n;
    r->nucleus_size = (int32_t)size;
    r->count = (int32_t)count;
    r->nucleus_mass = s->out_cumulative[size - 1]; /* the sum of the kept probabilities */
    if (greedy) {
        r->entropy = 0.0;
    } else {
        double h = nu_log(sums.sum) - sums.sum_ex / sums.sum;
        r->entropy = h > 0 ? h : 0.0;
    }
    r->token = -1;
    r->rank = -1;
    r->prob = NAN;
    r->coin = NAN;
    r->ids = s->out_ids;
    r->probs = s->out_probs;
    r->cumulative = s->out_cumulative;
}

/* The first kept token whose running sum exceeds coin * mass; the last kept if none. The
 * report's running sums are those sums, non-decreasing, so a binary search finds it. */
static void draw(NuSampler *s, int64_t size) {
    NuReport *r = &s->report;
    double coin = next_coin(&s->rng), target = coin * r->nucleus_mass;
    int64_t lo = 0, hi = size - 1; /* the answer is in [lo, hi] */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->out_cumulative[mid] > target) hi = mid;
        else lo = mid + 1;
    }
    r->coin = coin;
    r->rank = (int32_t)lo;
    r->token = s->out_ids[lo];
    r->prob = s->out_probs[lo];
}

NuCode nu_sampler_run(NuSampler *s, const float *logits, int64_t n, int do_draw, NuError *err) {
    if (n < 1 || n > NU_MAX_VOCAB)
        return nu_fail(err, NU_ERR_LOGITS, "vocabulary size %lld is out of range (1 .. %d)",
                       (long long)n, NU_MAX_VOCAB);
    if (!logits) return nu_fail(err, NU_ERR_ARG, "logits are missing");
    NuCode rc = reserve(s, n, err);
    float max = 0;
    const float *x = logits; /* as the sampler sees them: after bias and penalties */
    if (rc == NU_OK) rc = prepare_logits(s, logits, n, &x, &max, err);
    if (rc != NU_OK) return rc;

    const NuSamplerParams *prm = &s->params;
    /* Greedy orders its report by the T = 1 distribution, then shows it as a point mass. */
    int greedy = !(prm->temperature > 0.0f);
    float t = greedy ? 1.0f : prm->temperature;
    /* Two inlined copies, so the T = 1 loop has no division (the compiler would otherwise
     * divide by 1 everywhere rather than branch). */
    SoftmaxSums sums = t == 1.0f ? exp_pass(x, s->exps, n, max, 1.0f)
                                 : exp_pass(x, s->exps, n, max, t);
    float inv = (float)(1.0 / sums.sum), p_max = inv; /* the maximum has e = exp(0) = 1 */
    block_bounds(s->block_max, n, max, t);

    int64_t need = min64(n, max64(max64(prm->top_n, prm->min_keep), 1));
    int k_on = prm->top_k > 0 && prm->top_k < n;
    if (k_on) need = max64(need, prm->top_k);
    /* Greedy and top-k keep at most `need` tokens, so a count decides what to sort. */
    const int count_only = greedy || k_on;
    float threshold = first_threshold(prm, n, greedy, p_max);
    int64_t m, nonzero, size = 1, summed = 0;
    for (;;) {
        /* Gather {p >= threshold}, then keep the smallest set on the ladder above it that is
         * large enough; if none is, gather again lower. */
        m = gather_above(s->exps, s->block_max, n, inv, threshold, s->cand_ids, s->cand_keys);
        float ladder[LADDER];
        int64_t count[LADDER];
        double mass[LADDER];
        ladder_above(threshold, ladder);
        count_ladder(s->cand_keys, m, ladder, count, mass);
        int j = 0;
        while (j < LADDER && !enough(prm, count_only, need, count[j], mass[j], ladder[j], p_max))
            j++;
        if (j == LADDER) {
            threshold = lower_threshold(threshold);
            continue;
        }
        float chosen = ladder[j];
        if (chosen > threshold) m = keep_above(s->cand_ids, s->cand_keys, m, chosen);
        if (count_only && m > need) {
            /* Only the first `need` entries (and their ties) can be kept or reported: on a
             * flat distribution the set is far larger, so select before sorting. */
            float cut = key_prob(kth_key(s->cand_keys, m, need, (uint32_t *)s->packed));
            m = keep_above(s->cand_ids, s->cand_keys, m, cut);
        }
        radix_sort(s->cand_keys, s->cand_ids, s->packed, s->radix_count, m);
        nonzero = m;
        while (nonzero > 0 && key_prob(s->cand_keys[nonzero - 1]) == 0.0f) nonzero--;
        if (greedy) {
            argmax_to_front(s, x, max);
            break;
        }
        int complete = chosen <= FLT_TRUE_MIN;
        if (apply_filters(prm, s->cand_keys, nonzero, complete, n, s->out_cumulative, &summed,
                          &size) == CUT_DONE)
            break;
        threshold = lower_threshold(threshold);
    }
    write_report(s, n, m, size, greedy, summed, sums);
    if (!do_draw) return NU_OK;
    if (greedy) {
        s->report.token = s->out_ids[0];
        s->report.rank = 0;
        s->report.prob = 1.0f;
    } else {
        draw(s, size);
    }
    nu_sampler_accept(s, s->report.token);
    return NU_OK;
}

const NuReport *nu_sampler_report(const NuSampler *s) { return &s->report; }
