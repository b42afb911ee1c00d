/* The peers' top-p samplers (see peers.h). Sorting is typed C with the comparison inlined, as
 * std::sort / std::partial_sort compile in llama.cpp, so the baselines are not slowed by
 * qsort's function-pointer calls (llama2.c itself uses qsort, and so does llama2c_topp). */
#include "peers.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float prob;
    int index;
} ProbIndex; /* llama2.c's pair */

typedef struct {
    int id;
    float logit;
    float p;
} TokenData; /* llama.cpp's llama_token_data */

enum { BUCKETS = 128, TOP_K_FIRST = 256 };

struct PeerScratch {
    float *probs;
    ProbIndex *pairs;
    TokenData *cur, *sorted;
    int *bucket_of;
};

PeerScratch *peer_scratch_new(int n) {
    PeerScratch *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->probs = malloc((size_t)n * sizeof *w->probs);
    w->pairs = malloc((size_t)n * sizeof *w->pairs);
    w->cur = malloc((size_t)n * sizeof *w->cur);
    w->sorted = malloc((size_t)n * sizeof *w->sorted);
    w->bucket_of = malloc((size_t)n * sizeof *w->bucket_of);
    if (!w->probs || !w->pairs || !w->cur || !w->sorted || !w->bucket_of) {
        peer_scratch_free(w);
        return NULL;
    }
    return w;
}

void peer_scratch_free(PeerScratch *w) {
    if (!w) return;
    free(w->probs);
    free(w->pairs);
    free(w->cur);
    free(w->sorted);
    free(w->bucket_of);
    free(w);
}

/* ---- llama2.c ---------------------------------------------------------------------------- */

static int by_prob_desc(const void *a, const void *b) {
    const ProbIndex *x = a, *y = b;
    return (x->prob < y->prob) - (x->prob > y->prob);
}

int llama2c_topp(const float *logits, int n, float temperature, float p, float coin, PeerScratch *w) {
    float *probs = w->probs;
    float max = logits[0] / temperature;
    for (int i = 0; i < n; i++) {
        probs[i] = logits[i] / temperature;
        max = probs[i] > max ? probs[i] : max;
    }
    float sum = 0;
    for (int i = 0; i < n; i++) sum += probs[i] = expf(probs[i] - max);
    for (int i = 0; i < n; i++) probs[i] /= sum;
    /* A token below (1 - p) / (n - 1) cannot be in the nucleus: drop it before sorting. */
    const float cutoff = (1.0f - p) / (float)(n - 1);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] >= cutoff) w->pairs[kept].index = i, w->pairs[kept++].prob = probs[i];
    qsort(w->pairs, (size_t)kept, sizeof *w->pairs, by_prob_desc);
    float cum = 0;
    int last = kept - 1;
    for (int i = 0; i < kept; i++) {
        cum += w->pairs[i].prob;
        if (cum > p) {
            last = i;
            break;
        }
    }
    float r = coin * cum, cdf = 0;
    for (int i = 0; i <= last; i++) {
        cdf += w->pairs[i].prob;
        if (r < cdf) return w->pairs[i].index;
    }
    return w->pairs[last].index;
}

/* ---- llama.cpp --------------------------------------------------------------------------- */

static inline int above(const TokenData *a, const TokenData *b) { return a->logit > b->logit; }

static inline void swap_td(TokenData *a, TokenData *b) {
    TokenData t = *a;
    *a = *b;
    *b = t;
}

/* Introsort's core without the depth limit: median-of-three quicksort, insertion sort below 16. */
static void sort_desc(TokenData *v, int n) {
    while (n > 16) {
        int mid = n / 2;
        if (above(&v[mid], &v[0])) swap_td(&v[mid], &v[0]);
        if (above(&v[n - 1], &v[0])) swap_td(&v[n - 1], &v[0]);
        if (above(&v[n - 1], &v[mid])) swap_td(&v[n - 1], &v[mid]);
        float pivot = v[mid].logit;
        int i = 0, j = n - 1;
        for (;;) {
            while (v[i].logit > pivot) i++;
            while (pivot > v[j].logit) j--;
            if (i >= j) break;
            swap_td(&v[i++], &v[j--]);
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) {
            sort_desc(v, j + 1);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_desc(v + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int i = 1; i < n; i++) {
        TokenData t = v[i];
        int j = i;
        for (; j > 0 && t.logit > v[j - 1].logit; j--) v[j] = v[j - 1];
        v[j] = t;
    }
}

/* Sift down in a min-heap (by logit) of size n: its root is the smallest of the k kept. */
static void sift_down(TokenData *h, int n, int i) {
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && h[c].logit > h[c + 1].logit) c++;
        if (!(h[i].logit > h[c].logit)) return;
        swap_td(&h[i], &h[c]);
        i = c;
    }
}

/* std::partial_sort: the k largest of v[0..n) in v[0..k), descending, by heap selection. */
static void partial_sort_desc(TokenData *v, int k, int n) {
    if (k <= 0) return;
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(v, k, i);
    for (int i = k; i < n; i++) {
        if (v[i].logit > v[0].logit) {
            swap_td(&v[0], &v[i]);
            sift_down(v, k, 0);
        }
    }
    for (int end = k - 1; end > 0; end--) { /* pop the smallest to the back: descending order */
        swap_td(&v[0], &v[end]);
        sift_down(v, end, 0);
    }
}

/* The top k of cur by logit into out, sorted: bucket the logits over [-10, 10], keep the
 * buckets from the top down until they hold k, sort the full ones, partially sort the last.
 * Returns how many tokens out holds (at least k: the last bucket's rest stays unsorted). */
static int bucket_partial_sort(const TokenData *cur, int n, int k, TokenData *out, int *bucket_of) {
    int histo[BUCKETS] = { 0 };
    const float scale = BUCKETS / 20.0f, offset = 10.0f * scale;
    for (int i = 0; i < n; i++) {
        int b = (int)(scale * cur[i].logit + offset);
        b = b < 0 ? 0 : b >= BUCKETS ? BUCKETS - 1 : b;
        bucket_of[i] = b;
        histo[b]++;
    }
    int have = 0, low = BUCKETS;
    while (low > 0 && have < k) have += histo[--low];
    TokenData *start[BUCKETS];
    TokenData *at = out;
    for (int b = BUCKETS - 1; b >= low; b--) start[b] = at, at += histo[b];
    for (int i = 0; i < n; i++)
        if (bucket_of[i] >= low) *start[bucket_of[i]]++ = cur[i];
    int done = 0;
    at = out;
    for (int b = BUCKETS - 1; b > low; b--) {
        sort_desc(at, histo[b]);
        at += histo[b], done += histo[b];
    }
    partial_sort_desc(at, k - done, histo[low]);
    return have;
}

int llamacpp_topp(const float *logits, int n, float p, float coin, PeerScratch *w) {
    TokenData *cur = w->cur;
    for (int i = 0; i < n; i++) cur[i] = (TokenData){ i, logits[i], 0 };
    /* top-p: a full softmax, unsorted */
    float max = cur[0].logit;
    for (int i = 1; i < n; i++) max = cur[i].logit > max ? cur[i].logit : max;
    float sum = 0;
    for (int i = 0; i < n; i++) sum += cur[i].p = expf(cur[i].logit - max);
    for (int i = 0; i < n; i++) cur[i].p /= sum;
    /* the top 256 first; all n when they do not reach p */
    int k = n > 1024 ? TOP_K_FIRST : n;
    bucket_partial_sort(cur, n, k, w->sorted, w->bucket_of);
    float cum = 0;
    int last = n;
    for (int i = 0; i < n; i++) {
        cum += w->sorted[i].p;
        if (cum >= p) {
            last = i + 1;
            break;
        }
        if (i == k - 1 && k < n) {
            k = n;
            bucket_partial_sort(cur, n, k, w->sorted, w->bucket_of);
        }
    }
    /* dist: softmax again over the kept tokens (sorted: the first is the largest), draw */
    const TokenData *kept = w->sorted;
    float top = kept[0].logit;
    double total = 0;
    for (int i = 0; i < last; i++) total += w->probs[i] = expf(kept[i].logit - top);
    double target = total * coin, run = 0;
    for (int i = 0; i < last; i++) {
        run += w->probs[i];
        if (run >= target) return kept[i].id;
    }
    return kept[last - 1].id;
}
