/* The type each matrix of a converted model takes: llama.cpp's choices (src/llama-quant.cpp,
 * llama_tensor_get_type and tensor_type_fallback) for the targets convert.h lists, for the
 * llama architecture without experts. convert.h documents the rules. */
#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "quant.h"

typedef enum { CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_V, CAT_ATTN_OUTPUT, CAT_FFN_DOWN } Category;

static Category category(const char *name, int tied) {
    if (strcmp(name, "output.weight") == 0) return CAT_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0) return tied ? CAT_OUTPUT : CAT_TOKEN_EMBD;
    if (strstr(name, "attn_v.weight")) return CAT_ATTN_V;
    if (strstr(name, "attn_output.weight")) return CAT_ATTN_OUTPUT;
    if (strstr(name, "ffn_down")) return CAT_FFN_DOWN;
    return CAT_OTHER;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third between. */
static int more_bits(int layer, int n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

/* The type a mixture's rules give before the shape is considered. */
static NuType mixture_rule(int target, Category cat, int layer, int n_layers, int n_gqa) {
    switch (target) {
    case NU_MIX_Q2_K:
        if (cat == CAT_ATTN_V) return n_gqa >= 4 ? NU_TYPE_Q4_K : NU_TYPE_Q3_K;
        if (cat == CAT_FFN_DOWN || cat == CAT_ATTN_OUTPUT) return NU_TYPE_Q3_K;
        return NU_TYPE_Q2_K;
    case NU_MIX_Q3_K_M:
        if (cat == CAT_ATTN_V) return layer < 2 ? NU_TYPE_Q5_K : NU_TYPE_Q4_K;
        if (cat == CAT_FFN_DOWN) return layer < n_layers / 16 ? NU_TYPE_Q5_K : NU_TYPE_Q4_K;
        if (cat == CAT_ATTN_OUTPUT) return NU_TYPE_Q4_K;
        return NU_TYPE_Q3_K;
    case NU_MIX_Q4_K_M:
    case NU_MIX_Q5_K_M: {
        NuType base = target == NU_MIX_Q4_K_M ? NU_TYPE_Q4_K : NU_TYPE_Q5_K;
        if ((cat == CAT_ATTN_V || cat == CAT_FFN_DOWN) && more_bits(layer, n_layers)) return NU_TYPE_Q6_K;
        return base;
    }
    }
    return (NuType)target; /* a single type */
}

/* llama.cpp's tensor_type_fallback: a type whose blocks do not divide the rows becomes a
 * 32-element type, and one that still does not fit becomes F16. */
static NuType fallback(NuType t, int64_t cols) {
    if (cols % nu_type_block_size(t) == 0) return t;
    switch ((int)t) {
    case NU_TYPE_Q2_K:
    case NU_TYPE_Q3_K: t = NU_TYPE_Q4_0; break;
    case NU_TYPE_Q4_K: t = NU_TYPE_Q5_0; break;
    case NU_TYPE_Q5_K: t = NU_TYPE_Q5_1; break;
    case NU_TYPE_Q6_K: t = NU_TYPE_Q8_0; break;
    case NU_TYPE_IQ4_XS: t = NU_TYPE_IQ4_NL; break;
    }
    return cols % nu_type_block_size(t) == 0 ? t : NU_TYPE_F16;
}

int nu_target_is_mixture(int target) {
    return target == NU_MIX_Q2_K || target == NU_MIX_Q3_K_M || target == NU_MIX_Q4_K_M || target == NU_MIX_Q5_K_M;
}

NuType nu_convert_tensor_type(int target, const char *name, int64_t cols, int n_layers, int n_gqa, int tied) {
    if (target == NU_TYPE_F32 || target == NU_TYPE_F16 || target == NU_TYPE_BF16) return (NuType)target;
    if (!nu_target_is_mixture(target)) return fallback((NuType)target, cols);
    Category cat = category(name, tied);
    if (cat == CAT_OUTPUT) /* Q8_0 when the rows are not whole 256-blocks, as llama.cpp */
        return cols % 256 == 0 ? NU_TYPE_Q6_K : NU_TYPE_Q8_0;
    int layer = 0;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = 0;
    return fallback(mixture_rule(target, cat, layer, n_layers, n_gqa), cols);
}
