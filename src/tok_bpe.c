/* Byte-level BPE as in GPT-2: the text is cut into words by GPT-2's pre-tokenizer regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (hand-written below as a scanner), each word starts as one token per byte (the token of
 * the byte's printable stand-in character), and the adjacent pair with the lowest merge
 * rank is merged, leftmost first on ties, until no pair has a merge.
 *
 * Merges are keyed by the pair of token ids in a hash table, and candidates live in a heap
 * (stale entries are skipped when popped), so a word of n bytes costs O(n log n). */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "unicode.h"

#define MAX_MERGES (1 << 24)

/* --- GPT-2's byte <-> character mapping ------------------------------------------------
 * Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, DEL,
 * NBSP, soft hyphen) take the code points 256, 257, ... in byte order. */

static int byte_is_printable(uint32_t b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

static uint32_t byte_to_char(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; c++) n += !byte_is_printable(c);
    return 256 + n;
}

/* The byte a character stands for, or -1 when it is not one of the 256. */
static int char_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    uint32_t n = 256;
    for (uint32_t b = 0; b < 256; b++) {
        if (byte_is_printable(b)) continue;
        if (n++ == cp) return (int)b;
    }
    return -1;
}

void bpe_find_byte_tokens(NuTokenizer *t) {
    for (int b = 0; b < 256; b++) {
        uint8_t utf8[4];
        int n = nu_utf8_encode(byte_to_char((uint8_t)b), utf8);
        t->byte_token[b] = tok_lookup(t, utf8, (size_t)n);
    }
}

int bpe_append_piece(const NuTokenizer *t, int32_t id, TokBuf *b) {
    size_t len;
    const uint8_t *s = tok_text(t, id, &len);
    uint8_t type = t->types[id];
    if (type == TOK_CONTROL || type == TOK_UNKNOWN || type == TOK_UNUSED) return 1;
    if (type == TOK_USER) return tok_buf_append(b, s, len);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = nu_utf8_decode(s + i, len - i, &cp);
        int byte = n > 0 ? char_to_byte(cp) : -1;
        if (byte >= 0) {
            uint8_t c = (uint8_t)byte;
            if (!tok_buf_append(b, &c, 1)) return 0;
        } else if (!tok_buf_append(b, s + i, n > 0 ? (size_t)n : 1)) { /* kept as it is */
            return 0;
        }
        i += n > 0 ? (size_t)n : 1;
    }
    return 1;
}

/* --- merges ----------------------------------------------------------------------------- */

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }

static uint32_t pair_hash(uint64_t key) { return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32); }

/* Rank of the merge of tokens a and b, or -1. */
static int32_t find_merge(const NuTokenizer *t, int32_t a, int32_t b) {
    uint64_t key = pair_key(a, b);
    for (uint32_t i = pair_hash(key) & t->merges.mask;; i = (i + 1) & t->merges.mask) {
        uint32_t v = t->merges.slots[i];
        if (v == 0) return -1;
        if (t->merge_pair[v - 1] == key) return (int32_t)(v - 1);
    }
}

NuCode bpe_merges_init(NuTokenizer *t, uint64_t count, NuError *err) {
    if (count > MAX_MERGES)
        return nu_fail(err, NU_ERR_FORMAT, "%llu merges are more than the %d supported",
                       (unsigned long long)count, MAX_MERGES);
    uint32_t size = 16;
    while (size < 2 * count) size *= 2;
    t->merges.slots = calloc(size, sizeof *t->merges.slots);
    t->merges.mask = size - 1;
    t->merge_pair = malloc((count ? count : 1) * sizeof *t->merge_pair);
    t->merge_result = malloc((count ? count : 1) * sizeof *t->merge_result);
    if (!t->merges.slots || !t->merge_pair || !t->merge_result)
        return nu_fail(err, NU_ERR_NOMEM, "out of memory for %llu merges", (unsigned long long)count);
    return NU_OK;
}

/* Merge `rank` joins the two tokens in "left right" into the token "leftright"; all three
 * must be in the vocabulary (as the Hugging Face tokenizers library also requires). */
NuCode bpe_add_merge(NuTokenizer *t, int32_t rank, const char *text, size_t len, NuError *err) {
    const uint8_t *s = (const uint8_t *)text;
    const uint8_t *sp = len > 2 ? memchr(s + 1, ' ', len - 2) : NULL;
    int shown = len > 80 ? 80 : (int)len;
    if (!sp)
        return nu_fail(err, NU_ERR_FORMAT, "merge %d '%.*s' is not two tokens separated by a space",
                       (int)rank, shown, text);
    size_t left_len = (size_t)(sp - s), right_len = len - left_len - 1;
    int32_t a = tok_lookup(t, s, left_len), b = tok_lookup(t, sp + 1, right_len);
    uint8_t *joined = malloc(len);
    if (!joined) return nu_fail(err, NU_ERR_NOMEM, "out of memory for merge %d", (int)rank);
    memcpy(joined, s, left_len);
    memcpy(joined + left_len, sp + 1, right_len);
    int32_t result = tok_lookup(t, joined, len - 1);
    free(joined);
    if (a < 0 || b < 0 || result < 0)
        return nu_fail(err, NU_ERR_FORMAT, "merge %d '%.*s': the %s is not a token", (int)rank,
                       shown, text, a < 0 ? "left side" : b < 0 ? "right side" : "result");
    uint64_t key = pair_key(a, b);
    t->merge_pair[rank] = key;
    t->merge_result[rank] = result;
    t->n_merges = rank + 1;
    uint32_t i = pair_hash(key) & t->merges.mask;
    for (; t->merges.slots[i] != 0; i = (i + 1) & t->merges.mask)
        if (t->merge_pair[t->merges.slots[i] - 1] == key) return NU_OK; /* the first rank wins */
    t->merges.slots[i] = (uint32_t)rank + 1;
    return NU_OK;
}

/* --- merging the bytes of one word -------------------------------------------------------- */

typedef struct {
    int32_t id;         /* -1 once merged into its left neighbour */
    int32_t prev, next; /* -1 at the ends */
} Symbol;

typedef struct {
    const NuTokenizer *t;
    Symbol *sym;   /* room for the longest word */
    TokHeap heap;  /* reused across words */
    TokOut *out;
    TokBuf spelled; /* a word in byte-level characters, for ignore_merges */
} Encoder;

static int queue_pair(Encoder *e, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return 1;
    int32_t a = e->sym[left].id, b = e->sym[right].id;
    int32_t rank = find_merge(e->t, a, b);
    if (rank < 0) return 1;
    TokPair p = {(uint64_t)rank, left, right, (uint32_t)a, (uint32_t)b};
    return tok_heap_push(&e->heap, p);
}

static NuCode encode_word(Encoder *e, const uint8_t *w, size_t n, NuError *err) {
    Symbol *sym = e->sym;
    for (size_t i = 0; i < n; i++) {
        int32_t id = e->t->byte_token[w[i]];
        if (id < 0)
            return nu_fail(err, NU_ERR_UNSUPPORTED, "byte 0x%02X has no token in this vocabulary",
                           w[i]);
        sym[i] = (Symbol){id, (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1};
    }
    e->heap.n = 0;
    int ok = 1;
    for (size_t i = 0; ok && i + 1 < n; i++) ok = queue_pair(e, (int32_t)i, (int32_t)i + 1);
    while (ok && e->heap.n > 0) {
        TokPair p = tok_heap_pop(&e->heap);
        Symbol *l = &sym[p.left], *r = &sym[p.right];
        if (l->next != p.right || (uint32_t)l->id != p.check_a || (uint32_t)r->id != p.check_b)
            continue; /* one side changed since this pair was queued */
        l->id = e->t->merge_result[p.prio];
        r->id = -1;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        ok = queue_pair(e, l->prev, p.left) && queue_pair(e, p.left, l->next);
    }
    if (!ok) return nu_fail(err, NU_ERR_NOMEM, "out of memory while encoding");
    for (int32_t i = 0; i >= 0; i = sym[i].next) tok_out_push(e->out, sym[i].id);
    return NU_OK;
}

/* --- the pre-tokenizers ------------------------------------------------------------------
 * Scanners over code points cp[0..end), each giving the length of the word starting at i,
 * written to split exactly as llama.cpp's hand-written versions of the regexes do. */

static int is_other(uint32_t c) {
    return !nu_unicode_is_space(c) && !nu_unicode_is_letter(c) && !nu_unicode_is_number(c);
}

/* 's 't 're 've 'm 'll 'd; with fold, either case (the (?i:...) of Llama 3's regex: no
 * code point outside ASCII lowercases to these letters, see src/tools/gen_unicode.py). */
static size_t contraction(const uint32_t *cp, size_t i, size_t end, int fold) {
    if (cp[i] != '\'' || i + 1 >= end) return 0;
    uint32_t a = cp[i + 1];
    if (fold && a >= 'A' && a <= 'Z') a += 'a' - 'A';
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= end) return 0;
    uint32_t b = cp[i + 2];
    if (fold && b >= 'A' && b <= 'Z') b += 'a' - 'A';
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* " ?X+" for a class X. */
static size_t space_then_run(const uint32_t *cp, size_t i, size_t end, int (*in_class)(uint32_t)) {
    size_t j = i;
    if (cp[j] == ' ' && j + 1 < end) j++;
    if (!in_class(cp[j])) return 0;
    while (j < end && in_class(cp[j])) j++;
    return j - i;
}

/* \s+(?!\S)|\s+ : a run of whitespace, leaving its last character to the next word when a
 * non-space follows (so " word" keeps its space). */
static size_t whitespace(const uint32_t *cp, size_t i, size_t end) {
    size_t j = i;
    while (j < end && nu_unicode_is_space(cp[j])) j++;
    if (j < end && j - i > 1) j--;
    return j - i;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t gpt2_word(const uint32_t *cp, size_t i, size_t end) {
    size_t n = contraction(cp, i, end, 0);
    if (!n) n = space_then_run(cp, i, end, nu_unicode_is_letter);
    if (!n) n = space_then_run(cp, i, end, nu_unicode_is_number);
    if (!n) n = space_then_run(cp, i, end, is_other);
    if (!n) n = whitespace(cp, i, end);
    return n;
}

static int is_newline(uint32_t c) { return c == '\r' || c == '\n'; }

/* Llama 3 (digits 3, "llama-bpe") and Qwen2 (digits 1):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}
 *   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t llama3_word(const uint32_t *cp, size_t i, size_t end, size_t digits) {
    size_t n = contraction(cp, i, end, 1);
    if (n) return n;
    uint32_t c = cp[i];
    /* one optional non-letter, non-digit, non-newline character, then letters */
    if (!is_newline(c) && !nu_unicode_is_number(c) &&
        (nu_unicode_is_letter(c) || (i + 1 < end && nu_unicode_is_letter(cp[i + 1])))) {
        size_t j = i + 1;
        while (j < end && nu_unicode_is_letter(cp[j])) j++;
        return j - i;
    }
    if (nu_unicode_is_number(c)) {
        size_t j = i;
        while (j < end && j - i < digits && nu_unicode_is_number(cp[j])) j++;
        return j - i;
    }
    /* an optional space, other characters, then any newlines */
    size_t j = i + (c == ' ');
    if (j >= end || is_other(cp[j])) {
        while (j < end && is_other(cp[j])) j++;
        while (j < end && is_newline(cp[j])) j++;
        return j - i;
    }
    /* whitespace: up to its last newline if it has one, else as GPT-2 */
    size_t last_newline = 0;
    for (j = i; j < end && nu_unicode_is_space(cp[j]); j++)
        if (is_newline(cp[j])) last_newline = j + 1;
    if (last_newline) return last_newline - i;
    return whitespace(cp, i, end);
}

static size_t next_word(const NuTokenizer *t, const uint32_t *cp, size_t i, size_t end) {
    switch (t->pre) {
    case PRE_LLAMA3: return llama3_word(cp, i, end, 3);
    case PRE_QWEN2: return llama3_word(cp, i, end, 1);
    default: return gpt2_word(cp, i, end);
    }
}

/* With ignore_merges, a word whose byte-level spelling is a token becomes that token. */
static int32_t whole_word_token(Encoder *e, const uint8_t *w, size_t n) {
    TokBuf *b = &e->spelled;
    b->len = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t utf8[4];
        int k = nu_utf8_encode(byte_to_char(w[i]), utf8);
        if (!tok_buf_append(b, utf8, (size_t)k)) return -2;
    }
    return tok_lookup(e->t, b->data, b->len);
}

static NuCode encode_piece(Encoder *e, const uint8_t *w, size_t n, NuError *err) {
    if (e->t->ignore_merges) {
        int32_t id = whole_word_token(e, w, n);
        if (id == -2) return nu_fail(err, NU_ERR_NOMEM, "out of memory while encoding");
        if (id >= 0) {
            tok_out_push(e->out, id);
            return NU_OK;
        }
    }
    return encode_word(e, w, n, err);
}

NuCode bpe_encode(const NuTokenizer *t, const uint8_t *text, size_t len, TokOut *out,
                  NuError *err) {
    if (len == 0) return NU_OK;
    if (len > INT32_MAX || len >= SIZE_MAX / 16) /* keeps every array size below in range */
        return nu_fail(err, NU_ERR_ARG, "text of %zu bytes is too long to encode", len);
    uint32_t *cp = malloc(len * sizeof *cp);
    size_t *off = malloc((len + 1) * sizeof *off); /* byte offset of each code point */
    Encoder e = {t, malloc(len * sizeof *e.sym), {0}, out, {0}};
    NuCode rc = NU_OK;
    if (!cp || !off || !e.sym) rc = nu_fail(err, NU_ERR_NOMEM, "out of memory for a text of %zu bytes", len);
    size_t n = 0;
    for (size_t i = 0; !rc && i < len; n++) {
        off[n] = i;
        i += (size_t)nu_utf8_decode(text + i, len - i, &cp[n]); /* valid: checked by the caller */
    }
    if (!rc) off[n] = len;
    /* starcoder first cuts out every digit as a word of its own, then applies GPT-2's rules
     * to the pieces between. */
    int split_digits = t->pre == PRE_STARCODER;
    for (size_t start = 0; !rc && start < n;) {
        size_t end = start;
        if (split_digits && nu_unicode_is_number(cp[start])) end = start + 1;
        else
            while (end < n && !(split_digits && nu_unicode_is_number(cp[end]))) end++;
        for (size_t i = start; !rc && i < end;) {
            size_t w = next_word(t, cp, i, end);
            rc = encode_piece(&e, text + off[i], off[i + w] - off[i], err);
            i += w;
        }
        start = end;
    }
    free(cp);
    free(off);
    free(e.sym);
    free(e.heap.items);
    free(e.spelled.data);
    return rc;
}
