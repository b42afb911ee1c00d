/* The per-tensor types of the conversion targets (convert.h): llama.cpp's mixture rules,
 * its fallbacks for rows that are not whole blocks, and the file types. */
#include <stdio.h>

#include "check.h"
#include "convert.h"

static NuType type_of(int target, const char *name, int64_t cols, int n_layers, int n_gqa, int tied) {
    return nu_convert_tensor_type(target, name, cols, n_layers, n_gqa, tied);
}

static NuType layer_type(int target, int layer, const char *part, int64_t cols, int n_layers) {
    char name[64];
    snprintf(name, sizeof name, "blk.%d.%s.weight", layer, part);
    return type_of(target, name, cols, n_layers, 1, 1);
}

/* Q4_K_M / Q5_K_M: attn_v and ffn_down get Q6_K in use_more_bits layers: for 32 layers 0-3,
 * 28-31 and 6, 9, ..., 27 (16 of them); everything else the base type. */
static void test_k_m(void) {
    static const int more[32] = {1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1,
                                 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1};
    int ok = 1;
    for (int l = 0; l < 32; l++) {
        NuType want = more[l] ? NU_TYPE_Q6_K : NU_TYPE_Q4_K;
        ok &= layer_type(NU_MIX_Q4_K_M, l, "attn_v", 4096, 32) == want;
        ok &= layer_type(NU_MIX_Q4_K_M, l, "ffn_down", 11008 + 256 * 5, 32) == want;
        ok &= layer_type(NU_MIX_Q4_K_M, l, "attn_q", 4096, 32) == NU_TYPE_Q4_K;
        ok &= layer_type(NU_MIX_Q4_K_M, l, "ffn_gate", 4096, 32) == NU_TYPE_Q4_K;
        ok &= layer_type(NU_MIX_Q5_K_M, l, "attn_v", 4096, 32) == (more[l] ? NU_TYPE_Q6_K : NU_TYPE_Q5_K);
        ok &= layer_type(NU_MIX_Q5_K_M, l, "attn_output", 4096, 32) == NU_TYPE_Q5_K;
    }
    CHECK(ok);
    /* a two-layer model: layer 1 is in the last eighth, layer 0 is not */
    CHECK(layer_type(NU_MIX_Q4_K_M, 0, "attn_v", 256, 2) == NU_TYPE_Q4_K);
    CHECK(layer_type(NU_MIX_Q4_K_M, 1, "attn_v", 256, 2) == NU_TYPE_Q6_K);
}

static void test_q3_k_m_and_q2_k(void) {
    CHECK(layer_type(NU_MIX_Q3_K_M, 0, "attn_v", 4096, 32) == NU_TYPE_Q5_K);
    CHECK(layer_type(NU_MIX_Q3_K_M, 1, "attn_v", 4096, 32) == NU_TYPE_Q5_K);
    CHECK(layer_type(NU_MIX_Q3_K_M, 2, "attn_v", 4096, 32) == NU_TYPE_Q4_K);
    CHECK(layer_type(NU_MIX_Q3_K_M, 1, "ffn_down", 11008 + 1280, 32) == NU_TYPE_Q5_K); /* < 32 / 16 */
    CHECK(layer_type(NU_MIX_Q3_K_M, 2, "ffn_down", 11008 + 1280, 32) == NU_TYPE_Q4_K);
    CHECK(layer_type(NU_MIX_Q3_K_M, 5, "attn_output", 4096, 32) == NU_TYPE_Q4_K);
    CHECK(layer_type(NU_MIX_Q3_K_M, 5, "ffn_up", 4096, 32) == NU_TYPE_Q3_K);
    /* Q2_K: attn_v by grouped-query ratio, ffn_down and attn_output Q3_K */
    CHECK(type_of(NU_MIX_Q2_K, "blk.3.attn_v.weight", 4096, 32, 4, 0) == NU_TYPE_Q4_K);
    CHECK(type_of(NU_MIX_Q2_K, "blk.3.attn_v.weight", 4096, 32, 1, 0) == NU_TYPE_Q3_K);
    CHECK(layer_type(NU_MIX_Q2_K, 3, "ffn_down", 11264, 32) == NU_TYPE_Q3_K);
    CHECK(layer_type(NU_MIX_Q2_K, 3, "attn_output", 4096, 32) == NU_TYPE_Q3_K);
    CHECK(layer_type(NU_MIX_Q2_K, 3, "attn_k", 4096, 32) == NU_TYPE_Q2_K);
}

/* The classifier (or the embedding standing in for it) Q6_K, Q8_0 when not whole 256-blocks;
 * an untied embedding takes the mixture's base type; single types stay themselves. */
static void test_classifier(void) {
    CHECK(type_of(NU_MIX_Q4_K_M, "output.weight", 4096, 32, 1, 0) == NU_TYPE_Q6_K);
    CHECK(type_of(NU_MIX_Q2_K, "output.weight", 576, 32, 1, 0) == NU_TYPE_Q8_0);
    CHECK(type_of(NU_MIX_Q3_K_M, "token_embd.weight", 4096, 32, 1, 1) == NU_TYPE_Q6_K);
    CHECK(type_of(NU_MIX_Q3_K_M, "token_embd.weight", 4096, 32, 1, 0) == NU_TYPE_Q3_K);
    CHECK(type_of(NU_MIX_Q5_K_M, "token_embd.weight", 896, 24, 7, 0) == NU_TYPE_Q5_1);
    CHECK(type_of(NU_TYPE_Q4_K, "output.weight", 4096, 32, 1, 0) == NU_TYPE_Q4_K);
    CHECK(type_of(NU_TYPE_IQ4_XS, "token_embd.weight", 4096, 32, 1, 1) == NU_TYPE_IQ4_XS);
}

/* llama.cpp's tensor_type_fallback, then F16 when 32-blocks do not fit either. */
static void test_fallbacks(void) {
    const struct {
        int target;
        NuType at384, at48;
    } cases[] = {
        {NU_TYPE_Q3_K, NU_TYPE_Q4_0, NU_TYPE_F16},   {NU_TYPE_Q4_K, NU_TYPE_Q5_0, NU_TYPE_F16},
        {NU_TYPE_Q5_K, NU_TYPE_Q5_1, NU_TYPE_F16},   {NU_TYPE_Q6_K, NU_TYPE_Q8_0, NU_TYPE_F16},
        {NU_TYPE_IQ4_XS, NU_TYPE_IQ4_NL, NU_TYPE_F16}, {NU_TYPE_IQ4_NL, NU_TYPE_IQ4_NL, NU_TYPE_F16},
        {NU_TYPE_Q8_0, NU_TYPE_Q8_0, NU_TYPE_F16},   {NU_TYPE_F32, NU_TYPE_F32, NU_TYPE_F32},
        {NU_TYPE_BF16, NU_TYPE_BF16, NU_TYPE_BF16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(type_of(cases[i].target, "blk.0.attn_q.weight", 384, 1, 1, 1) == cases[i].at384);
        CHECK(type_of(cases[i].target, "blk.0.attn_q.weight", 48, 1, 1, 1) == cases[i].at48);
    }
    CHECK(layer_type(NU_MIX_Q2_K, 0, "attn_q", 704, 2) == NU_TYPE_Q4_0);
    CHECK(layer_type(NU_MIX_Q5_K_M, 1, "ffn_down", 1856, 2) == NU_TYPE_Q8_0); /* Q6_K's fallback */
}

static void test_file_types(void) {
    CHECK(nu_convert_file_type((NuType)NU_MIX_Q2_K) == 10);
    CHECK(nu_convert_file_type((NuType)NU_MIX_Q3_K_M) == 12);
    CHECK(nu_convert_file_type((NuType)NU_MIX_Q4_K_M) == 15);
    CHECK(nu_convert_file_type((NuType)NU_MIX_Q5_K_M) == 17);
    CHECK(nu_convert_file_type(NU_TYPE_Q4_K) == 14 && nu_convert_file_type(NU_TYPE_Q6_K) == 18);
    CHECK(nu_convert_file_type(NU_TYPE_IQ4_NL) == 25 && nu_convert_file_type(NU_TYPE_IQ4_XS) == 30);
    CHECK(nu_convert_file_type(NU_TYPE_Q2_K) == -1); /* Q2_K alone is not a target: the mixture is */
    CHECK(nu_convert_file_type(NU_TYPE_Q8_K) == -1);
    CHECK(nu_convert_file_type((NuType)(NU_MIX + 14)) == -1); /* Q4_K_S is not a mixture we make */
    CHECK(nu_target_is_mixture(NU_MIX_Q4_K_M) && !nu_target_is_mixture(NU_TYPE_Q4_K));
}

int main(void) {
    test_k_m();
    test_q3_k_m_and_q2_k();
    test_classifier();
    test_fallbacks();
    test_file_types();
    return check_summary("convert_mix");
}
