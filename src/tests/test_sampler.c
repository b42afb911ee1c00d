/* Native tests of the sampler rules (sampler.h). The wasm builds are tested against the same
 * rules, and against this build, in wasm_tests/. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "logits.h"
#include "sampler.h"

static NuSampler *make(float t, int k, double p, double min_p, int min_keep, uint64_t seed) {
    NuSampler *s;
    NuError err;
    NuSamplerParams prm;
    nu_sampler_default_params(&prm);
    prm.temperature = t;
    prm.top_k = k;
    prm.top_p = p;
    prm.min_p = min_p;
    prm.min_keep = min_keep;
    if (nu_sampler_new(&s, &err) != NU_OK || nu_sampler_set_params(s, &prm, &err) != NU_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        exit(1);
    }
    nu_sampler_seed(s, seed);
    return s;
}

static const NuReport *inspect(NuSampler *s, const float *logits, int n) {
    NuError err;
    NuCode rc = nu_sampler_run(s, logits, n, 0, &err);
    CHECK(rc == NU_OK);
    return nu_sampler_report(s);
}

static const float animals[6] = { 2.4f, 1.8f, 0.5f, 0.2f, -0.3f, -1.0f };

static void test_worked_example(void) {
    NuSampler *s = make(1, 0, 0.9, 0, 1, 42);
    const NuReport *r = inspect(s, animals, 6);
    CHECK(r->nucleus_size == 4); /* cat, dog, bird, fish */
    for (int i = 0; i < 6; i++) CHECK(r->ids[i] == i);
    CHECK_NEAR(r->cumulative[0], 0.524, 5e-4);
    CHECK_NEAR(r->cumulative[1], 0.811, 5e-4);
    CHECK_NEAR(r->cumulative[2], 0.889, 5e-4);
    CHECK_NEAR(r->cumulative[3], 0.947, 5e-4);
    CHECK_NEAR(r->nucleus_mass, r->cumulative[3], 1e-15);
    CHECK(r->token == -1 && isnan(r->prob) && isnan(r->coin));
    /* entropy of softmax(animals) in nats, computed in double */
    double z = 0, h = 0;
    for (int i = 0; i < 6; i++) z += exp(animals[i]);
    for (int i = 0; i < 6; i++) h -= exp(animals[i]) / z * log(exp(animals[i]) / z);
    CHECK_NEAR(r->entropy, h, 1e-6);
    nu_sampler_free(s);
}

static void test_boundaries(void) {
    NuSampler *s = make(1, 0, 0.0, 0, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 1); /* p = 0 keeps one */
    nu_sampler_free(s);
    s = make(1, 0, 1.0, 0, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 6); /* p = 1 is off */
    nu_sampler_free(s);
    s = make(1, 0, 0.5236, 0, 1, 1); /* just below cat's probability: cat alone reaches it */
    CHECK(inspect(s, animals, 6)->nucleus_size == 1);
    nu_sampler_free(s);
    s = make(1, 0, 0.53, 0, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 2);
    nu_sampler_free(s);
    /* top-k 0 (off), 1, n, > n */
    int ks[4] = { 0, 1, 6, 9 }, want[4] = { 6, 1, 6, 6 };
    for (int i = 0; i < 4; i++) {
        s = make(1, ks[i], 1.0, 0, 1, 1);
        CHECK(inspect(s, animals, 6)->nucleus_size == want[i]);
        nu_sampler_free(s);
    }
    /* top-k then top-p renormalised: top-2 masses 0.524/0.811 -> 0.646, so p = 0.6 keeps 1
     * token and p = 0.7 keeps both */
    s = make(1, 2, 0.6, 0, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 1);
    nu_sampler_free(s);
    s = make(1, 2, 0.7, 0, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 2);
    nu_sampler_free(s);
    /* min-p: keep p >= 0.1 * 0.5236 = 0.0524: cat, dog, bird, fish */
    s = make(1, 0, 1.0, 0.1, 1, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 4);
    nu_sampler_free(s);
    s = make(1, 0, 1.0, 1.0, 1, 1); /* only the maximum passes */
    CHECK(inspect(s, animals, 6)->nucleus_size == 1);
    nu_sampler_free(s);
    /* minKeep overrides every filter, bounded by the non-zero tokens */
    s = make(1, 1, 0.0, 1.0, 3, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 3);
    nu_sampler_free(s);
    s = make(1, 0, 0.0, 0, 10, 1);
    CHECK(inspect(s, animals, 6)->nucleus_size == 6);
    nu_sampler_free(s);
}

static void test_greedy_and_ties(void) {
    const float tied[5] = { 1.0f, 3.0f, 0.5f, 3.0f, 3.0f };
    NuSampler *s = make(0, 0, 0.9, 0, 1, 99);
    NuError err;
    uint64_t before = 99;
    CHECK(nu_sampler_run(s, tied, 5, 1, &err) == NU_OK);
    const NuReport *r = nu_sampler_report(s);
    CHECK(r->token == 1 && r->nucleus_size == 1 && r->prob == 1.0f && isnan(r->coin));
    CHECK(r->entropy == 0 && r->nucleus_mass == 1.0);
    CHECK(nu_sampler_rng_state(s) == before); /* greedy consumes no random number */
    nu_sampler_free(s);
    /* negative temperature is greedy too */
    s = make(-1, 0, 0.9, 0, 1, 5);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_OK && nu_sampler_report(s)->token == 0);
    nu_sampler_free(s);
    /* equal probabilities order by ascending id */
    s = make(1, 0, 1.0, 0, 1, 1);
    r = inspect(s, tied, 5);
    CHECK(r->ids[0] == 1 && r->ids[1] == 3 && r->ids[2] == 4 && r->ids[3] == 0 && r->ids[4] == 2);
    CHECK(r->probs[0] == r->probs[1] && r->probs[1] == r->probs[2]);
    nu_sampler_free(s);
    /* a tie spanning the top-k boundary is cut by id */
    s = make(1, 2, 1.0, 0, 1, 1);
    r = inspect(s, tied, 5);
    CHECK(r->nucleus_size == 2 && r->ids[0] == 1 && r->ids[1] == 3);
    nu_sampler_free(s);
}

static void test_minus_inf_and_tiny(void) {
    const float l[4] = { -INFINITY, 0.0f, -INFINITY, -1.0f };
    NuSampler *s = make(1, 0, 1.0, 0, 4, 3);
    const NuReport *r = inspect(s, l, 4);
    CHECK(r->nucleus_size == 2 && r->count == 4); /* -Inf is never kept, even by minKeep */
    CHECK(r->probs[2] == 0 && r->probs[3] == 0 && r->ids[2] == 0 && r->ids[3] == 2);
    NuError err;
    for (int i = 0; i < 200; i++) {
        CHECK(nu_sampler_run(s, l, 4, 1, &err) == NU_OK);
        int t = nu_sampler_report(s)->token;
        if (t != 1 && t != 3) CHECK(!"drew a -Inf token");
    }
    nu_sampler_free(s);
    const float one = 5.0f;
    s = make(1, 0, 0.9, 0, 1, 3);
    CHECK(nu_sampler_run(s, &one, 1, 1, &err) == NU_OK);
    r = nu_sampler_report(s);
    CHECK(r->token == 0 && r->prob == 1.0f && r->nucleus_size == 1 && r->entropy == 0);
    nu_sampler_free(s);
}

static void test_errors_leave_sampler_usable(void) {
    NuSampler *s = make(1, 0, 0.9, 0, 1, 3);
    NuError err;
    float bad[3] = { 0, NAN, 1 };
    CHECK(nu_sampler_run(s, bad, 3, 1, &err) == NU_ERR_LOGITS && strstr(err.message, "logit 1 is NaN"));
    bad[1] = INFINITY;
    CHECK(nu_sampler_run(s, bad, 3, 1, &err) == NU_ERR_LOGITS && strstr(err.message, "+Inf"));
    float all_inf[2] = { -INFINITY, -INFINITY };
    CHECK(nu_sampler_run(s, all_inf, 2, 1, &err) == NU_ERR_LOGITS && strstr(err.message, "-Inf"));
    CHECK(nu_sampler_run(s, animals, 0, 1, &err) == NU_ERR_LOGITS);
    CHECK(nu_sampler_run(s, animals, (int64_t)NU_MAX_VOCAB + 1, 1, &err) == NU_ERR_LOGITS);
    NuSamplerParams p = *nu_sampler_params(s);
    NuSamplerParams q = p;
    q.top_p = NAN;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG && strstr(err.message, "topP"));
    q = p, q.top_p = 1.5;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG);
    q = p, q.top_p = -0.1;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG);
    q = p, q.min_p = 2;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG && strstr(err.message, "minP"));
    q = p, q.min_keep = -1;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG && strstr(err.message, "minKeep"));
    q = p, q.temperature = NAN;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG && strstr(err.message, "temperature"));
    q = p, q.repeat_penalty = 0;
    CHECK(nu_sampler_set_params(s, &q, &err) == NU_ERR_ARG);
    CHECK(nu_sampler_params(s)->top_p == 0.9); /* unchanged after the failures */
    int32_t id = 7;
    float nanb = NAN, ok = 1;
    CHECK(nu_sampler_set_bias(s, &id, &nanb, 1, &err) == NU_ERR_ARG);
    CHECK(nu_sampler_set_bias(s, &id, &ok, 1, &err) == NU_OK);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_ERR_ARG && strstr(err.message, "token id 7"));
    CHECK(nu_sampler_set_bias(s, NULL, NULL, 0, &err) == NU_OK);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_OK);
    CHECK(nu_sampler_report(s)->nucleus_size == 4);
    nu_sampler_free(s);
}

static void test_bias_and_penalties(void) {
    NuSampler *s = make(0, 0, 1.0, 0, 1, 3);
    NuError err;
    int32_t id = 0;
    float ban = -INFINITY;
    CHECK(nu_sampler_set_bias(s, &id, &ban, 1, &err) == NU_OK);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_OK && nu_sampler_report(s)->token == 1);
    nu_sampler_set_bias(s, NULL, NULL, 0, &err);
    /* presence penalty 1 on cat (2.4 -> 1.4) makes dog (1.8) the argmax */
    NuSamplerParams p = *nu_sampler_params(s);
    p.penalty_last_n = 4;
    p.presence_penalty = 1.0f;
    CHECK(nu_sampler_set_params(s, &p, &err) == NU_OK);
    nu_sampler_accept(s, 0);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_OK && nu_sampler_report(s)->token == 1);
    /* repeat penalty 2 divides positive logits: cat 1.2 and dog 0.9, both now in history */
    p.presence_penalty = 0;
    p.repeat_penalty = 2;
    CHECK(nu_sampler_set_params(s, &p, &err) == NU_OK);
    CHECK(nu_sampler_run(s, animals, 6, 1, &err) == NU_OK && nu_sampler_report(s)->token == 0);
    /* the window forgets: after 4 more tokens of fish, cat and dog are unpenalised */
    for (int i = 0; i < 4; i++) nu_sampler_accept(s, 3);
    p.repeat_penalty = 1;
    p.frequency_penalty = 0.5f; /* fish 0.2 - 4 * 0.5 */
    CHECK(nu_sampler_set_params(s, &p, &err) == NU_OK);
    CHECK(nu_sampler_run(s, animals, 6, 0, &err) == NU_OK);
    CHECK(nu_sampler_report(s)->ids[0] == 0 && nu_sampler_report(s)->ids[5] == 3);
    nu_sampler_free(s);
}

/* splitmix64 from its published definition, to pin the README's arithmetic. */
static void test_rng_stream(void) {
    NuSampler *s = make(1, 0, 1.0, 0, 1, 0);
    const float flat[2] = { 0, 0 };
    NuError err;
    uint64_t state = 0;
    for (int i = 0; i < 1000; i++) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double coin = (double)(z >> 11) * 0x1p-53;
        CHECK(nu_sampler_run(s, flat, 2, 1, &err) == NU_OK);
        const NuReport *r = nu_sampler_report(s);
        if (r->coin != coin || r->token != (coin * r->nucleus_mass < 0.5 ? 0 : 1)) {
            CHECK(!"coin or token differs from splitmix64");
            break;
        }
    }
    CHECK(nu_sampler_rng_state(s) == state);
    nu_sampler_free(s);
}

static void test_expf(void) {
    int worst = 0;
    for (float x = -103.9f; x <= 0.0f; x += 0.0137f) {
        float a = nu_expf(x);
        double ref = exp((double)x);
        double ulp = nextafterf(a, INFINITY) - a;
        int diff = (int)ceil(fabs(a - ref) / ulp - 0.5);
        if (diff > worst) worst = diff;
    }
    CHECK(worst <= 2);
    CHECK(nu_expf(0) == 1.0f && nu_expf(-INFINITY) == 0.0f && nu_expf(-200) == 0.0f);
    printf("nu_expf: max error %d ulp on [-104, 0]\n", worst);
}

/* The candidate search must give exactly what a full sort gives. */
static const float *sort_probs;
static int by_prob_then_id(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_probs[x] != sort_probs[y]) return sort_probs[x] < sort_probs[y] ? 1 : -1;
    return (x > y) - (x < y);
}

/* Greedy and top-k keep or report only the first max(topN, k) entries at most: they are found
 * by selection, then sorted; the report must still be the full sort's prefix. */
static void check_count_based(const float *l, int n, const int *order) {
    const int ks[3] = { 0, 40, 1000 };
    for (int ki = 0; ki < 3; ki++) {
        NuSampler *s = make(ki == 0 ? 0.0f : 1.0f, ks[ki], 0.9, 0, 1, 1);
        const NuReport *r = inspect(s, l, n);
        int prefix = r->count >= 64;
        for (int j = 0; j < r->count && prefix; j++) prefix &= r->ids[j] == order[j];
        CHECK(prefix);
        CHECK(ki == 0 ? r->nucleus_size == 1 : r->nucleus_size <= ks[ki]);
        nu_sampler_free(s);
    }
}

/* The report's running sums are the probabilities added one by one in double (computed four
 * at a time when that is exact), the nucleus mass is the last kept one, and a draw picks the
 * first kept entry whose running sum exceeds coin * mass, as a token-by-token scan finds it. */
static void check_running_sums(const NuReport *r) {
    double cum = 0;
    int same = 1;
    for (int j = 0; j < r->count; j++) {
        cum += r->probs[j];
        same &= r->cumulative[j] == cum;
    }
    CHECK(same);
    CHECK(r->nucleus_mass == r->cumulative[r->nucleus_size - 1]);
    if (r->rank < 0) return;
    double target = r->coin * r->nucleus_mass;
    int j = 0;
    while (j < r->nucleus_size - 1 && !(r->cumulative[j] > target)) j++;
    CHECK(r->rank == j && r->token == r->ids[j]);
}

static void test_against_full_sort(void) {
    enum { N = 32000 };
    static float l[N], prob[N];
    static int order[N];
    const float scales[4] = { 10, 3, 0.5f, 3 };
    const double ps[4] = { 0.3, 0.9, 0.99, 0.0 };
    for (int si = 0; si < 4; si++) {
        normal_logits(l, N, scales[si], 1234 + si);
        if (si == 3) /* ties everywhere: logits on a grid of 0.25 */
            for (int i = 0; i < N; i++) l[i] = roundf(l[i] * 4) / 4;
        NuSampler *all = make(1, 0, 1.0, 0, 1, 1);
        const NuReport *full = inspect(all, l, N); /* p = 1 lists every token */
        CHECK(full->count == N && full->nucleus_size == N);
        check_running_sums(full);
        for (int j = 0; j < N; j++) prob[full->ids[j]] = full->probs[j];
        for (int i = 0; i < N; i++) order[i] = i;
        sort_probs = prob;
        qsort(order, N, sizeof *order, by_prob_then_id);
        int same = 1;
        for (int j = 0; j < N; j++) same &= full->ids[j] == order[j];
        CHECK(same);
        check_count_based(l, N, order);
        for (int pi = 0; pi < 4; pi++) {
            NuSampler *s = make(1, 0, ps[pi], 0, 1, 1);
            const NuReport *r = inspect(s, l, N);
            check_running_sums(r);
            for (int d = 0; d < 8; d++) {
                CHECK(nu_sampler_run(s, l, N, 1, NULL) == NU_OK);
                check_running_sums(r);
            }
            int expect = 0;
            double cum = 0;
            while (expect < N && (expect == 0 || cum < ps[pi] - 1e-6)) cum += prob[order[expect++]];
            CHECK(r->nucleus_size == expect);
            int prefix = r->count <= N;
            for (int j = 0; j < r->count; j++) prefix &= r->ids[j] == order[j];
            CHECK(prefix);
            CHECK(r->count == (expect > 64 ? expect : 64));
            nu_sampler_free(s);
        }
        nu_sampler_free(all);
    }
}

/* Gathering skips the blocks of 32 tokens whose largest logit is far below the maximum. At
 * temperatures other than 1, after a bias lifts a token of such a block to the top, and with
 * a vocabulary that ends in a partial block, the nucleus and report must still be the prefix
 * of the full order (p = 1 gathers every token, skipping nothing). */
static void test_block_skip(void) {
    enum { N = 32000 + 13 };
    static float l[N];
    const float temps[3] = { 0.5f, 1.0f, 1.7f };
    normal_logits(l, N, 10, 77);
    for (int bi = 0; bi < 2; bi++) {
        for (int ti = 0; ti < 3; ti++) {
            NuError err;
            NuSampler *all = make(temps[ti], 0, 1.0, 0, 1, 1);
            NuSampler *s = make(temps[ti], 0, 0.9, 0, 1, 1);
            int32_t id = N - 5; /* in the partial last block */
            float lift = 60 - l[id];
            if (bi) {
                CHECK(nu_sampler_set_bias(all, &id, &lift, 1, &err) == NU_OK);
                CHECK(nu_sampler_set_bias(s, &id, &lift, 1, &err) == NU_OK);
            }
            const NuReport *full = inspect(all, l, N), *r = inspect(s, l, N);
            CHECK(!bi || (r->ids[0] == id && full->ids[0] == id));
            int expect = 0;
            double cum = 0;
            while (expect < N && (expect == 0 || cum < 0.9 - 1e-6)) cum += full->probs[expect++];
            CHECK(r->nucleus_size == expect);
            CHECK(r->count == (expect > 64 ? expect : 64));
            int prefix = 1;
            for (int j = 0; j < r->count; j++)
                prefix &= r->ids[j] == full->ids[j] && r->probs[j] == full->probs[j] &&
                          r->cumulative[j] == full->cumulative[j];
            CHECK(prefix);
            nu_sampler_free(all);
            nu_sampler_free(s);
        }
    }
    /* A lone token at x = -3.5 in its block must not be skipped: it ranks above the 31 tokens
     * at x = -6 that share a block with one at x = -1, and top-p 0.95 keeps it. */
    static float lone[1280];
    for (int ti = 0; ti < 3; ti++) {
        for (int i = 0; i < 1280; i++) lone[i] = -30 * temps[ti];
        lone[0] = 0;
        lone[160] = -1 * temps[ti];
        for (int i = 161; i < 192; i++) lone[i] = -6 * temps[ti];
        lone[640] = -3.5f * temps[ti];
        NuSampler *s = make(temps[ti], 0, 0.95, 0, 1, 1);
        NuSamplerParams prm = *nu_sampler_params(s);
        prm.top_n = 0;
        CHECK(nu_sampler_set_params(s, &prm, NULL) == NU_OK);
        const NuReport *r = inspect(s, lone, 1280);
        CHECK(r->nucleus_size == 5 && r->ids[0] == 0 && r->ids[1] == 160 && r->ids[2] == 640);
        CHECK(r->ids[3] == 161 && r->ids[4] == 162);
        nu_sampler_free(s);
    }
}

/* 200k draws follow the renormalised nucleus: chi-square with 3 degrees of freedom below
 * 16.27 (the 0.999 quantile), and no draw outside the nucleus. */
static void test_statistics(void) {
    NuSampler *s = make(1, 0, 0.9, 0, 1, 2024);
    NuError err;
    long counts[6] = { 0 };
    const int draws = 200000;
    for (int i = 0; i < draws; i++) {
        nu_sampler_run(s, animals, 6, 1, &err);
        counts[nu_sampler_report(s)->token]++;
    }
    const NuReport *r = nu_sampler_report(s);
    double chi2 = 0;
    for (int j = 0; j < 4; j++) {
        double expect = draws * r->probs[j] / r->nucleus_mass;
        chi2 += (counts[r->ids[j]] - expect) * (counts[r->ids[j]] - expect) / expect;
    }
    CHECK(counts[4] == 0 && counts[5] == 0);
    CHECK(chi2 < 16.27);
    printf("chi-square over 200000 draws: %.3f (3 dof, critical 16.27)\n", chi2);
    nu_sampler_free(s);
}

int main(void) {
    test_worked_example();
    test_boundaries();
    test_greedy_and_ties();
    test_minus_inf_and_tiny();
    test_errors_leave_sampler_usable();
    test_bias_and_penalties();
    test_rng_stream();
    test_expf();
    test_against_full_sort();
    test_block_skip();
    test_statistics();
    return check_summary("test_sampler");
}
