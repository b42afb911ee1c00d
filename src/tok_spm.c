/* SentencePiece-style encoding as llama.cpp and llama2.c's run.c do it: spaces become the
 * vocabulary's space marker (with one added in front), the text starts as one symbol per
 * UTF-8 character, and the adjacent pair whose concatenation is the highest-scoring token
 * is merged (leftmost first on ties) until no pair forms a token. A symbol that is not a
 * token at the end falls back to its bytes' <0xNN> tokens.
 *
 * The candidates live in a heap, so encoding costs O(n log n): entries made stale by a
 * merge stay in the heap and are skipped when popped. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "unicode.h"

static const char UNKNOWN_PIECE[] = "\xE2\x96\x85"; /* '▅', what llama.cpp shows for <unk> */

/* <0xNN> with two upper-case hex digits, as in SentencePiece vocabularies. */
static int parse_byte_token(const uint8_t *s, size_t n, int *byte) {
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return 0;
    const char *hi = memchr(hex, s[3], 16), *lo = memchr(hex, s[4], 16);
    if (!hi || !lo) return 0;
    *byte = (int)((hi - hex) * 16 + (lo - hex));
    return 1;
}

void spm_find_byte_tokens(NuTokenizer *t) {
    for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t len;
        const uint8_t *s = tok_text(t, id, &len);
        int b;
        if (t->types[id] == TOK_BYTE && parse_byte_token(s, len, &b) && t->byte_token[b] < 0)
            t->byte_token[b] = id;
    }
}

int spm_append_piece(const NuTokenizer *t, int32_t id, TokBuf *b) {
    size_t len;
    const uint8_t *s = tok_text(t, id, &len);
    int byte;
    switch (t->types[id]) {
    case TOK_BYTE:
        if (!parse_byte_token(s, len, &byte)) return tok_buf_append(b, s, len);
        uint8_t c = (uint8_t)byte;
        return tok_buf_append(b, &c, 1);
    case TOK_UNKNOWN:
        return tok_buf_append(b, UNKNOWN_PIECE, 3);
    case TOK_CONTROL:
    case TOK_UNUSED:
        return 1;
    default: /* normal and user-defined: the text with the space marker turned into ' ' */
        for (size_t i = 0; i < len;) {
            size_t m = t->space_marker_len;
            if (len - i >= m && memcmp(s + i, t->space_marker, m) == 0) {
                if (!tok_buf_append(b, " ", 1)) return 0;
                i += m;
            } else {
                if (!tok_buf_append(b, s + i, 1)) return 0;
                i++;
            }
        }
        return 1;
    }
}

/* The text as the vocabulary spells it: space marker for each space, one more in front
 * when space_prefix is set. */
static uint8_t *escape_spaces(const NuTokenizer *t, const uint8_t *text, size_t len,
                              int space_prefix, size_t *out_len) {
    size_t m = t->space_marker_len;
    if (len > (SIZE_MAX - m) / m) return NULL;
    uint8_t *buf = malloc(len * m + m);
    if (!buf) return NULL;
    size_t n = 0;
    if (space_prefix) memcpy(buf, t->space_marker, m), n = m;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(buf + n, t->space_marker, m), n += m;
        else buf[n++] = text[i];
    }
    *out_len = n;
    return buf;
}

typedef struct {
    int32_t start, len; /* bytes of the escaped text; len 0 once merged into its left */
    int32_t prev, next; /* neighbours in the current segmentation, -1 at the ends */
} Symbol;

/* Scores order descending: map float bits to an unsigned key that sorts ascending, then
 * invert it so the heap's lowest priority is the highest score. */
static uint64_t score_priority(float score) {
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    bits = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return (uint64_t)(~bits);
}

/* Queues the pair (left, right) when their joined text is a token. */
static int try_pair(const NuTokenizer *t, const uint8_t *text, const Symbol *sym, int32_t left,
                    int32_t right, TokHeap *heap) {
    if (left < 0 || right < 0) return 1;
    uint32_t len = (uint32_t)sym[left].len + (uint32_t)sym[right].len;
    int32_t id = tok_lookup(t, text + sym[left].start, len);
    if (id < 0) return 1;
    TokPair p = {score_priority(t->scores[id]), left, right, len, 0};
    return tok_heap_push(heap, p);
}

/* The symbol's token, or else one token per byte: <0xNN>, or <unk> without it. */
static NuCode emit_symbol(const NuTokenizer *t, const uint8_t *s, size_t len, TokOut *out,
                          NuError *err) {
    int32_t id = tok_lookup(t, s, len);
    if (id >= 0) {
        tok_out_push(out, id);
        return NU_OK;
    }
    for (size_t i = 0; i < len; i++) {
        int32_t b = t->byte_token[s[i]] >= 0 ? t->byte_token[s[i]] : t->unk;
        if (b < 0)
            return nu_fail(err, NU_ERR_UNSUPPORTED,
                           "byte 0x%02X of the text has no token: the vocabulary has neither "
                           "<0x%02X> nor an unknown token", s[i], s[i]);
        tok_out_push(out, b);
    }
    return NU_OK;
}

static NuCode merge_all(const NuTokenizer *t, const uint8_t *text, Symbol *sym, int32_t n_sym,
                        TokOut *out, NuError *err) {
    TokHeap heap = {0};
    int ok = 1;
    for (int32_t i = 0; ok && i + 1 < n_sym; i++) ok = try_pair(t, text, sym, i, i + 1, &heap);
    while (ok && heap.n > 0) {
        TokPair p = tok_heap_pop(&heap);
        Symbol *l = &sym[p.left], *r = &sym[p.right];
        if (l->len == 0 || r->len == 0 || l->next != p.right ||
            (uint32_t)l->len + (uint32_t)r->len != p.check_a)
            continue; /* one side changed since this pair was queued */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        ok = try_pair(t, text, sym, l->prev, p.left, &heap) &&
             try_pair(t, text, sym, p.left, l->next, &heap);
    }
    free(heap.items);
    if (!ok) return nu_fail(err, NU_ERR_NOMEM, "out of memory while encoding");
    NuCode rc = NU_OK;
    for (int32_t i = 0; !rc && i >= 0 && n_sym > 0; i = sym[i].next)
        rc = emit_symbol(t, text + sym[i].start, (size_t)sym[i].len, out, err);
    return rc;
}

NuCode spm_encode(const NuTokenizer *t, const uint8_t *text, size_t len, int space_prefix,
                  TokOut *out, NuError *err) {
    if (len == 0) return NU_OK;
    size_t n;
    uint8_t *esc = escape_spaces(t, text, len, space_prefix, &n);
    if (!esc) return nu_fail(err, NU_ERR_NOMEM, "out of memory for a text of %zu bytes", len);
    if (n > INT32_MAX || n > SIZE_MAX / sizeof(Symbol)) {
        free(esc);
        return nu_fail(err, NU_ERR_ARG, "text of %zu bytes is too long to encode", len);
    }
    Symbol *sym = malloc(n * sizeof *sym);
    if (!sym) {
        free(esc);
        return nu_fail(err, NU_ERR_NOMEM, "out of memory for a text of %zu bytes", len);
    }
    int32_t n_sym = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int clen = nu_utf8_decode(esc + i, n - i, &cp); /* valid: checked by the caller */
        sym[n_sym] = (Symbol){(int32_t)i, clen, n_sym - 1, -1};
        if (n_sym > 0) sym[n_sym - 1].next = n_sym;
        n_sym++;
        i += (size_t)clen;
    }
    NuCode rc = merge_all(t, esc, sym, n_sym, out, err);
    free(sym);
    free(esc);
    return rc;
}
