/* Tokenizer tests against llama.cpp's vocabulary test vectors, llama2.c's encoder (a direct
 * port of run.c's quadratic merge loop below, as an independent oracle) and the stories260K
 * reference prompts; plus round trips and bad input. Data comes from ../shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "gguf.h"
#include "tokenizer.h"
#include "unicode.h"

#define VOCAB_DIR "../shared/models/vocab/"
#define STORIES_DIR "../shared/models/stories260K/"
#define MAX_IDS 4096

/* --- helpers ---------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
    }
    if (f) fclose(f);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        CHECK(data != NULL);
        return NULL;
    }
    data[n] = 0; /* text files can be used as C strings */
    *size = (size_t)n;
    return data;
}

static NuTokenizer *load_gguf(const char *path) {
    size_t size;
    uint8_t *data = read_file(path, &size);
    if (!data) return NULL;
    GgufFile *g = NULL;
    NuTokenizer *t = NULL;
    NuError err = {0};
    NuCode rc = gguf_open(data, size, &g, &err);
    if (!rc) rc = nu_tokenizer_from_gguf(g, &t, &err);
    if (rc) fprintf(stderr, "%s: %s\n", path, err.message);
    CHECK(rc == NU_OK);
    gguf_close(g); /* the tokenizer keeps its own copy */
    free(data);
    return t;
}

static NuTokenizer *load_llama2c(const char *path, int vocab_size) {
    size_t size;
    uint8_t *data = read_file(path, &size);
    if (!data) return NULL;
    NuTokenizer *t = NULL;
    NuError err = {0};
    NuCode rc = nu_tokenizer_from_llama2c(data, size, vocab_size, &t, &err);
    if (rc) fprintf(stderr, "%s: %s\n", path, err.message);
    CHECK(rc == NU_OK);
    free(data);
    return t;
}

/* Encodes s (without BOS unless asked); returns the count, or (size_t)-1 on error. */
static size_t encode(const NuTokenizer *t, const char *s, size_t len, int bos, int32_t *ids) {
    size_t n = 0;
    NuError err = {0};
    if (nu_tokenizer_encode(t, s, len, bos, ids, MAX_IDS, &n, &err)) {
        fprintf(stderr, "encode: %s\n", err.message);
        return (size_t)-1;
    }
    return n;
}

/* "1 2 3" -> ids; returns the count. */
static size_t parse_ids(const char *s, int32_t *ids) {
    size_t n = 0;
    char *end;
    for (long v = strtol(s, &end, 10); end != s && n < MAX_IDS; v = strtol(s, &end, 10)) {
        ids[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* decode(encode(s)) == s, with and without BOS. */
static int round_trips(const NuTokenizer *t, const char *s, size_t len) {
    static int32_t ids[MAX_IDS];
    static char buf[4 * MAX_IDS * 16];
    int ok = 1;
    for (int bos = 0; bos <= 1 && ok; bos++) {
        size_t n = encode(t, s, len, bos, ids), out = 0;
        NuError err = {0};
        ok = n != (size_t)-1 && nu_tokenizer_decode(t, ids, n, buf, sizeof buf, &out, &err) == NU_OK &&
             out == len && memcmp(buf, s, len) == 0;
        if (!ok) fprintf(stderr, "round trip (bos %d) of '%.*s' gave '%.*s'\n", bos, (int)len, s, (int)out, buf);
    }
    return ok;
}

/* The test cases of a llama.cpp vocabulary .inp file, separated by this line. */
#define CASE_SEP "\n__ggml_vocab_test__\n"

/* Splits text in place into at most max cases; returns the count. */
static int split_cases(char *text, char **cases, size_t *lens, int max) {
    int n = 0;
    for (char *p = text, *q; n < max && (q = strstr(p, CASE_SEP)) != NULL; p = q + strlen(CASE_SEP)) {
        cases[n] = p;
        lens[n++] = (size_t)(q - p);
    }
    return n;
}

#define MAX_CASES 64
static char *inp_text;
static char *cases[MAX_CASES];
static size_t case_len[MAX_CASES];
static int n_cases;

static const char *VARIED[] = {
    "Hello world",
    " leading space",
    "  two leading spaces and trailing  ",
    "multiple   spaces\tand\ttabs",
    "line one\nline two\n\nline four\r\n",
    "Ünïcödé: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어, עברית, العربية",
    "emoji 🦙🚀😶‍🌫️ and CJK 我想在apple工作",
    "code: for (int i = 0; i < n; i++) { x[i] += 3.14e-2; } // done",
    "numbers 1234567890 3.3 3..3 ½ ⅞ ٣",
    "don't, I'll, they're, we've, she'd, I'm, it's, 'RE 'S",
    "<s> and </s> are plain text here",
    "\x01\x02\x7f control bytes",
    " ",
    "\n",
    "x",
};
#define N_VARIED (sizeof VARIED / sizeof VARIED[0])

/* --- llama.cpp vocabulary vectors --------------------------------------------------------- */

/* Every case of llama.cpp's test vectors for a vocabulary (name.inp, name.out; no BOS). */
static void test_vectors(const char *name, int want_cases) {
    char path[256];
    snprintf(path, sizeof path, VOCAB_DIR "%s", name);
    NuTokenizer *t = load_gguf(path);
    size_t inp_size, out_size;
    snprintf(path, sizeof path, VOCAB_DIR "%s.inp", name);
    char *inp = (char *)read_file(path, &inp_size);
    snprintf(path, sizeof path, VOCAB_DIR "%s.out", name);
    char *out = (char *)read_file(path, &out_size);
    static char *vc[MAX_CASES];
    static size_t vlen[MAX_CASES];
    int n = inp ? split_cases(inp, vc, vlen, MAX_CASES) : 0;
    static int32_t got[MAX_IDS], want[MAX_IDS];
    int match = 0, trips = 0;
    char *line = out;
    for (int i = 0; t && line && i < n; i++) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        size_t nw = parse_ids(line, want), ng = encode(t, vc[i], vlen[i], 0, got);
        line = nl + 1;
        if (ng != (size_t)-1 && same_ids(got, ng, want, nw)) {
            match++;
        } else {
            fprintf(stderr, "%s case %d '%.*s'\n", name, i, (int)vlen[i], vc[i]);
            print_ids("want", want, nw);
            print_ids("got ", got, ng == (size_t)-1 ? 0 : ng);
        }
        trips += round_trips(t, vc[i], vlen[i]);
    }
    printf("%s vectors: %d/%d cases match, %d/%d round trip\n", name, match, n, trips, n);
    CHECK(t != NULL && n == want_cases);
    CHECK(match == n);
    CHECK(trips == n);
    free(inp);
    free(out);
    nu_tokenizer_free(t);
}

static void test_gpt2_ids(void) {
    NuTokenizer *t = load_gguf(VOCAB_DIR "ggml-vocab-gpt-2.gguf");
    if (!t) return;
    CHECK(nu_tokenizer_vocab_size(t) == 50257);
    CHECK(nu_tokenizer_bos(t) == 50256 && nu_tokenizer_eos(t) == 50256);
    nu_tokenizer_free(t);
}

/* Some cases of the same .inp file with the ids llama.cpp's test-tokenizer-0 expects for the
 * other vocabularies (from llama.cpp's models/ggml-vocab-{phi-3,starcoder}.gguf.out). */
typedef struct {
    int index;
    const char *ids;
} VocabCase;

static const VocabCase PHI3_CASES[] = {
    {0, "474 287 29871 29946 29871 30226 7378"},
    {1, "383 4000 261"},
    {6, "29871 12"},
    {12, "29871 15043 3186"},
    {18, "29871 445 338 29871 243 162 169 156 29889 8223"},
    {19, "281 29900 29946 29947 29871 29955 9161 13535 18031 2176 6905"},
    {28, "268 15043 13 1678 15043"},
    {32, "15043 29892 343 29915 497 29991 1128 526 366 29871 243 162 155 132 1577 30672 31522 30505 "
         "11548 31041 30732 29896 29941 29896 29946 29896 29945 29896 30408 30739"},
    {36, "29871 29941 29941 29941"},
    {43, "315 228 190 176 29874 10630 30529 29873"},
};

static const VocabCase STARCODER_CASES[] = {
    {0, "4850 244 57 244 162 159 17722"},
    {1, "75 2022 3943 284"},
    {6, "221"},
    {12, "12009 5810"},
    {18, "477 458 5954 137 271 51 3779"},
    {19, "124 53 57 61 244 60 121 1726 12568 10240 1519 8290"},
    {28, "283 12009 303 12009"},
    {32, "8302 49 553 44 483 38 4998 904 863 18445 247 1037 4995 13379 2924 9515 17823 54 56 54 57 "
         "54 58 54 11904 47892"},
    {36, "56 56 56"},
    {43, "72 34269 102 33245 17234 121"},
};

static void check_vocab_cases(const char *name, const NuTokenizer *t, const VocabCase *vc, int n) {
    static int32_t got[MAX_IDS], want[MAX_IDS];
    int match = 0;
    for (int i = 0; i < n; i++) {
        int c = vc[i].index;
        if (c >= n_cases) continue;
        size_t nw = parse_ids(vc[i].ids, want), ng = encode(t, cases[c], case_len[c], 0, got);
        if (ng != (size_t)-1 && same_ids(got, ng, want, nw)) {
            match++;
        } else {
            fprintf(stderr, "%s case %d '%.*s'\n", name, c, (int)case_len[c], cases[c]);
            print_ids("want", want, nw);
            print_ids("got ", got, ng == (size_t)-1 ? 0 : ng);
        }
    }
    int trips = 0;
    for (int c = 0; c < n_cases; c++) trips += round_trips(t, cases[c], case_len[c]);
    for (size_t i = 0; i < N_VARIED; i++) trips += round_trips(t, VARIED[i], strlen(VARIED[i]));
    printf("%s: %d/%d known cases match, %d/%d round trip\n", name, match, n, trips,
           n_cases + (int)N_VARIED);
    CHECK(match == n);
    CHECK(trips == n_cases + (int)N_VARIED);
}

static void test_phi3_starcoder(void) {
    NuTokenizer *phi3 = load_gguf(VOCAB_DIR "ggml-vocab-phi-3.gguf");
    if (phi3) {
        CHECK(nu_tokenizer_vocab_size(phi3) == 32064);
        CHECK(nu_tokenizer_bos(phi3) == 1 && nu_tokenizer_eos(phi3) == 32000);
        check_vocab_cases("Phi-3", phi3, PHI3_CASES, (int)(sizeof PHI3_CASES / sizeof PHI3_CASES[0]));
        const char *text;
        size_t len;
        NuError err;
        CHECK(nu_tokenizer_token_text(phi3, 32010, &text, &len, &err) == NU_OK && len == 8 &&
              memcmp(text, "<|user|>", 8) == 0);
        CHECK(nu_tokenizer_piece(phi3, 32010, &text, &len, &err) == NU_OK && len == 0);
    }
    nu_tokenizer_free(phi3);

    NuTokenizer *sc = load_gguf(VOCAB_DIR "ggml-vocab-starcoder.gguf");
    if (sc) {
        CHECK(nu_tokenizer_vocab_size(sc) == 49152);
        check_vocab_cases("StarCoder", sc, STARCODER_CASES,
                          (int)(sizeof STARCODER_CASES / sizeof STARCODER_CASES[0]));
        /* starcoder's pre-tokenizer gives every digit its own word, so " 2024" is " " 2 0 2 4 */
        static int32_t ids[MAX_IDS];
        size_t n = encode(sc, "year 2024", 9, 0, ids);
        CHECK(n == 6);
        const char *want[] = {"year", " ", "2", "0", "2", "4"};
        for (size_t i = 0; i < n && i < 6; i++) {
            const char *text;
            size_t len;
            NuError err;
            CHECK(nu_tokenizer_token_text(sc, ids[i], &text, &len, &err) == NU_OK &&
                  len == strlen(want[i]) && memcmp(text, want[i], len) == 0);
        }
    }
    nu_tokenizer_free(sc);
}

/* --- SentencePiece: llama 32k --------------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *ids;
} Known;

/* Llama 2 ids from llama.cpp (test-tokenizer-0 for ggml-vocab-llama-spm.gguf). */
static const Known LLAMA_KNOWN[] = {
    {"Hello world", "15043 3186"},
    {" Hello world", "29871 15043 3186"},
    {"Hello, world!", "15043 29892 3186 29991"},
    {" ", "259"},
    {"   ", "268"},
    {"\n\n", "29871 13 13"},
    {" this is 🦙.cpp", "29871 445 338 29871 243 162 169 156 29889 8223"}, /* 🦙: 4 byte tokens */
    /* Khmer: characters missing from the vocabulary fall back to their UTF-8 bytes */
    {"កាន់តែពិសេសអាចខលចេញ",
     "29871 31849 31324 31934 228 162 142 228 161 146 228 162 133 228 161 153 228 161 186 31708 "
     "228 162 132 31708 228 161 165 31324 228 161 136 228 161 132 228 161 158 228 161 136 228 162 "
     "132 228 161 140"},
};

static void test_llama_spm(void) {
    NuTokenizer *t = load_gguf(VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    if (!t) return;
    CHECK(nu_tokenizer_vocab_size(t) == 32000);
    CHECK(nu_tokenizer_bos(t) == 1 && nu_tokenizer_eos(t) == 2 && nu_tokenizer_wants_bos(t) == 1);
    static int32_t got[MAX_IDS], want[MAX_IDS];
    for (size_t i = 0; i < sizeof LLAMA_KNOWN / sizeof LLAMA_KNOWN[0]; i++) {
        size_t nw = parse_ids(LLAMA_KNOWN[i].ids, want);
        size_t ng = encode(t, LLAMA_KNOWN[i].text, strlen(LLAMA_KNOWN[i].text), 0, got);
        CHECK(same_ids(got, ng, want, nw));
    }
    /* BOS comes first; then the same ids */
    size_t n = encode(t, "Hello world", 11, 1, got);
    CHECK(n == 3 && got[0] == 1 && got[1] == 15043 && got[2] == 3186);
    /* empty text: nothing, or only BOS */
    CHECK(encode(t, "", 0, 0, got) == 0);
    CHECK(encode(t, NULL, 0, 1, got) == 1 && got[0] == 1);

    /* pieces: '▁' is a space, byte tokens are their byte, control tokens are empty */
    const char *p;
    size_t len;
    NuError err;
    CHECK(nu_tokenizer_piece(t, 15043, &p, &len, &err) == NU_OK && len == 6 && memcmp(p, " Hello", 6) == 0);
    CHECK(nu_tokenizer_piece(t, 13, &p, &len, &err) == NU_OK && len == 1 && p[0] == '\n');
    CHECK(nu_tokenizer_piece(t, 243, &p, &len, &err) == NU_OK && len == 1 && (uint8_t)p[0] == 0xF0);
    CHECK(nu_tokenizer_piece(t, 1, &p, &len, &err) == NU_OK && len == 0);
    /* display forms */
    CHECK(nu_tokenizer_token_text(t, 1, &p, &len, &err) == NU_OK && len == 3 && memcmp(p, "<s>", 3) == 0);
    CHECK(nu_tokenizer_token_text(t, 243, &p, &len, &err) == NU_OK && len == 6 && memcmp(p, "<0xF0>", 6) == 0);
    CHECK(nu_tokenizer_token_text(t, 13, &p, &len, &err) == NU_OK && len == 1 && p[0] == '\n');
    CHECK(nu_tokenizer_token_text(t, 15043, &p, &len, &err) == NU_OK && len == 6 && memcmp(p, " Hello", 6) == 0);

    /* decoding drops the space the encoder added, also after BOS, but only once */
    int32_t seq[] = {1, 15043, 3186, 2};
    char buf[64];
    CHECK(nu_tokenizer_decode(t, seq, 4, buf, sizeof buf, &len, &err) == NU_OK && len == 11 &&
          memcmp(buf, "Hello world", 11) == 0);
    CHECK(nu_tokenizer_decode(t, seq + 2, 1, buf, sizeof buf, &len, &err) == NU_OK && len == 5 &&
          memcmp(buf, "world", 5) == 0);

    int trips = 0;
    for (int c = 0; c < n_cases; c++) trips += round_trips(t, cases[c], case_len[c]);
    for (size_t i = 0; i < N_VARIED; i++) trips += round_trips(t, VARIED[i], strlen(VARIED[i]));
    printf("llama SPM: %d/%d round trip\n", trips, n_cases + (int)N_VARIED);
    CHECK(trips == n_cases + (int)N_VARIED);
    nu_tokenizer_free(t);
}

/* --- llama2.c: tokenizer.bin, cross-checked against a port of run.c's encoder ------------ */

/* The oracle: tokenizer.bin read directly, and run.c's encode() (dummy-prefix token, one
 * token per character or bytes + 3, then repeatedly merge the best-scoring pair, leftmost
 * on ties), quadratic but obviously faithful. */
typedef struct {
    char **text;
    float *score;
    int n;
    int *sorted; /* ids sorted by text, for bsearch as run.c does */
} Oracle;

static const Oracle *sort_oracle;
static int cmp_ids(const void *a, const void *b) {
    return strcmp(sort_oracle->text[*(const int *)a], sort_oracle->text[*(const int *)b]);
}

static int oracle_load(Oracle *o, const uint8_t *d, size_t size, int n) {
    memset(o, 0, sizeof *o);
    o->text = calloc((size_t)n, sizeof *o->text);
    o->score = calloc((size_t)n, sizeof *o->score);
    o->sorted = calloc((size_t)n, sizeof *o->sorted);
    size_t pos = 4; /* max_token_length */
    for (int i = 0; i < n; i++) {
        int32_t len;
        if (pos + 8 > size) return 0;
        memcpy(&o->score[i], d + pos, 4);
        memcpy(&len, d + pos + 4, 4);
        pos += 8;
        if (len < 0 || (size_t)len > size - pos) return 0;
        o->text[i] = calloc((size_t)len + 1, 1);
        memcpy(o->text[i], d + pos, (size_t)len);
        pos += (size_t)len;
        o->sorted[i] = i;
        o->n = i + 1;
    }
    sort_oracle = o;
    qsort(o->sorted, (size_t)n, sizeof *o->sorted, cmp_ids);
    return 1;
}

static void oracle_free(Oracle *o) {
    for (int i = 0; i < o->n; i++) free(o->text[i]);
    free(o->text);
    free(o->score);
    free(o->sorted);
}

static int oracle_lookup(const Oracle *o, const char *s) {
    int lo = 0, hi = o->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(s, o->text[o->sorted[mid]]);
        if (c == 0) return o->sorted[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return -1;
}

static size_t oracle_encode(const Oracle *o, const char *text, int32_t *ids) {
    size_t n = 0, len = strlen(text);
    char buf[512];
    if (len) ids[n++] = oracle_lookup(o, " ");
    for (size_t i = 0; i < len;) {
        size_t clen = 1;
        while (i + clen < len && ((uint8_t)text[i + clen] & 0xC0) == 0x80 && clen < 4) clen++;
        memcpy(buf, text + i, clen);
        buf[clen] = 0;
        int id = oracle_lookup(o, buf);
        if (id >= 0) ids[n++] = id;
        else
            for (size_t j = 0; j < clen; j++) ids[n++] = (uint8_t)text[i + j] + 3;
        i += clen;
    }
    for (;;) {
        float best = -1e10f;
        int best_id = -1;
        size_t best_i = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            snprintf(buf, sizeof buf, "%s%s", o->text[ids[i]], o->text[ids[i + 1]]);
            int id = oracle_lookup(o, buf);
            if (id >= 0 && o->score[id] > best) best = o->score[id], best_id = id, best_i = i;
        }
        if (best_id < 0) break;
        ids[best_i] = best_id;
        memmove(ids + best_i + 1, ids + best_i + 2, (n - best_i - 2) * sizeof *ids);
        n--;
    }
    return n;
}

static void test_llama2c_cross_check(void) {
    size_t size;
    uint8_t *data = read_file(VOCAB_DIR "llama2-tokenizer.bin", &size);
    NuTokenizer *bin = load_llama2c(VOCAB_DIR "llama2-tokenizer.bin", 32000);
    NuTokenizer *gg = load_gguf(VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    Oracle o;
    int loaded = data && oracle_load(&o, data, size, 32000);
    CHECK(loaded);
    if (bin && gg && loaded) {
        CHECK(nu_tokenizer_vocab_size(bin) == 32000);
        CHECK(nu_tokenizer_bos(bin) == 1 && nu_tokenizer_eos(bin) == 2);
        static int32_t a[MAX_IDS], b[MAX_IDS], c[MAX_IDS];
        int same = 0, total = 0;
        for (int i = 0; i < n_cases + (int)N_VARIED; i++) {
            const char *s = i < n_cases ? cases[i] : VARIED[i - n_cases];
            size_t len = i < n_cases ? case_len[i] : strlen(s);
            if (len > 200) continue; /* the oracle is quadratic */
            char text[256];
            memcpy(text, s, len);
            text[len] = 0;
            size_t na = encode(bin, text, len, 0, a), nb = encode(gg, text, len, 0, b);
            size_t nc = oracle_encode(&o, text, c);
            int ok = same_ids(a, na, b, nb) && same_ids(a, na, c, nc);
            if (!ok) {
                fprintf(stderr, "llama2.c cross-check '%s'\n", text);
                print_ids("tokenizer.bin", a, na);
                print_ids("gguf", b, nb);
                print_ids("run.c port", c, nc);
            }
            same += ok;
            total++;
            CHECK(round_trips(bin, text, len));
        }
        printf("llama2.c tokenizer.bin vs GGUF vs run.c port: %d/%d texts agree\n", same, total);
        CHECK(same == total && total > 40);
    }
    if (loaded) oracle_free(&o);
    free(data);
    nu_tokenizer_free(bin);
    nu_tokenizer_free(gg);
}

/* --- stories260K: the prompts llama2.c tokenized in the reference run ---------------------- */

static void test_stories260k(void) {
    NuTokenizer *bin = load_llama2c(STORIES_DIR "tok512.bin", 512);
    NuTokenizer *gg = load_gguf(STORIES_DIR "stories260K.gguf");
    size_t size;
    char *ref = (char *)read_file("../shared/reference/stories260K/greedy.jsonl", &size);
    if (!bin || !gg || !ref) goto done;
    CHECK(nu_tokenizer_vocab_size(bin) == 512 && nu_tokenizer_vocab_size(gg) == 512);
    static int32_t want[MAX_IDS], a[MAX_IDS], b[MAX_IDS];
    int prompts = 0, match = 0;
    for (char *p = ref; (p = strstr(p, "\"prompt\":\"")) != NULL;) {
        p += strlen("\"prompt\":\"");
        char *end = strchr(p, '"'), *toks = strstr(p, "\"prompt_tokens\":[");
        if (!end || !toks) break;
        size_t plen = (size_t)(end - p), nw = 0;
        for (char *q = toks + strlen("\"prompt_tokens\":["), *e; nw < MAX_IDS; q = e + 1) {
            long v = strtol(q, &e, 10);
            if (e == q) break;
            want[nw++] = (int32_t)v;
            if (*e != ',') break;
        }
        size_t na = encode(bin, p, plen, 1, a), nb = encode(gg, p, plen, 1, b);
        int ok = same_ids(a, na, want, nw) && same_ids(b, nb, want, nw);
        if (!ok) {
            fprintf(stderr, "stories260K prompt '%.*s'\n", (int)plen, p);
            print_ids("want", want, nw);
            print_ids("tok512.bin", a, na);
            print_ids("gguf", b, nb);
        }
        match += ok;
        prompts++;
        p = end;
    }
    printf("stories260K prompts: %d/%d match llama2.c (tok512.bin and GGUF)\n", match, prompts);
    CHECK(prompts >= 2 && match == prompts);
    /* the first one, spelled out */
    size_t n = encode(bin, "Once upon a time", 16, 1, a);
    CHECK(n == 5 && a[0] == 1 && a[1] == 403 && a[2] == 407 && a[3] == 261 && a[4] == 378);
    for (size_t i = 0; i < N_VARIED; i++) {
        CHECK(round_trips(bin, VARIED[i], strlen(VARIED[i])));
        CHECK(round_trips(gg, VARIED[i], strlen(VARIED[i])));
    }
done:
    free(ref);
    nu_tokenizer_free(bin);
    nu_tokenizer_free(gg);
}

/* --- every token of every vocabulary ---------------------------------------------------- */

/* Pieces and display forms exist for every id; display forms are valid UTF-8. */
static void check_all_tokens(const char *name, const NuTokenizer *t) {
    int bad = 0;
    for (int32_t id = 0; id < nu_tokenizer_vocab_size(t); id++) {
        const char *p;
        size_t len;
        NuError err;
        if (nu_tokenizer_piece(t, id, &p, &len, &err) != NU_OK) bad++;
        if (nu_tokenizer_token_text(t, id, &p, &len, &err) != NU_OK ||
            nu_utf8_invalid_at((const uint8_t *)p, len) != len)
            bad++;
    }
    if (bad) fprintf(stderr, "%s: %d tokens without a piece or valid display form\n", name, bad);
    CHECK(bad == 0);
}

/* --- bad input ----------------------------------------------------------------------------- */

static void test_bad_text(const NuTokenizer *t) {
    static const struct {
        const char *text;
        size_t len, offset;
    } BAD[] = {
        {"abc\x80", 4, 3},          /* stray continuation byte */
        {"\xC0\xAF", 2, 0},         /* overlong '/' */
        {"ok \xED\xA0\x80", 6, 3},  /* UTF-16 surrogate */
        {"x\xE2\x82", 3, 1},        /* truncated sequence at the end */
        {"\xE2\x28\xA1", 3, 0},     /* bad continuation */
        {"\xF4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"a\xFF", 2, 1},
    };
    int32_t ids[64];
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        size_t n = 99;
        NuError err = {0};
        char want[64];
        snprintf(want, sizeof want, "offset %zu", BAD[i].offset);
        CHECK(nu_tokenizer_encode(t, BAD[i].text, BAD[i].len, 1, ids, 64, &n, &err) == NU_ERR_TEXT);
        CHECK(strstr(err.message, want) != NULL && n == 0);
    }
    /* an embedded NUL is valid text */
    size_t n = 0;
    NuError err;
    CHECK(nu_tokenizer_encode(t, "a\0b", 3, 0, ids, 64, &n, &err) == NU_OK && n > 0);
    CHECK(round_trips(t, "a\0b", 3));
}

static void test_bad_calls(void) {
    NuTokenizer *t = load_gguf(VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    if (!t) return;
    test_bad_text(t);
    int32_t ids[8];
    size_t n = 0, len = 0;
    NuError err;
    /* too small a buffer: NU_ERR_ARG with the count needed; cap 0 asks for the count */
    CHECK(nu_tokenizer_encode(t, "Hello world", 11, 1, ids, 2, &n, &err) == NU_ERR_ARG && n == 3);
    CHECK(ids[0] == 1 && ids[1] == 15043);
    CHECK(nu_tokenizer_encode(t, "Hello world", 11, 0, NULL, 0, &n, &err) == NU_ERR_ARG && n == 2);
    CHECK(nu_tokenizer_encode(t, NULL, 5, 0, ids, 8, &n, &err) == NU_ERR_ARG);
    CHECK(nu_tokenizer_encode(NULL, "x", 1, 0, ids, 8, &n, &err) == NU_ERR_ARG);
    /* out-of-range ids */
    const char *p;
    CHECK(nu_tokenizer_piece(t, -1, &p, &len, &err) == NU_ERR_ARG);
    CHECK(nu_tokenizer_piece(t, 32000, &p, &len, &err) == NU_ERR_ARG);
    CHECK(strstr(err.message, "32000") != NULL);
    CHECK(nu_tokenizer_token_text(t, 1 << 30, &p, &len, &err) == NU_ERR_ARG);
    int32_t seq[] = {15043, 32000};
    char buf[64];
    CHECK(nu_tokenizer_decode(t, seq, 2, buf, sizeof buf, &len, &err) == NU_ERR_ARG);
    seq[1] = INT32_MIN;
    CHECK(nu_tokenizer_decode(t, seq, 2, buf, sizeof buf, &len, &err) == NU_ERR_ARG);
    /* decode into a small buffer: NU_ERR_ARG with the size needed, the start written */
    int32_t hw[] = {15043, 3186};
    CHECK(nu_tokenizer_decode(t, hw, 2, buf, 3, &len, &err) == NU_ERR_ARG && len == 11);
    CHECK(memcmp(buf, "Hel", 3) == 0);
    CHECK(nu_tokenizer_decode(t, hw, 2, NULL, 0, &len, &err) == NU_ERR_ARG && len == 11);
    nu_tokenizer_free(t);
}

/* tokenizer.bin cut short anywhere, or with absurd lengths, fails cleanly. */
static void test_bad_llama2c(void) {
    size_t size;
    uint8_t *data = read_file(STORIES_DIR "tok512.bin", &size);
    if (!data) return;
    NuTokenizer *t = NULL;
    NuError err;
    int clean = 1;
    for (size_t cut = 0; cut < size; cut += (cut < 64 ? 1 : 37)) {
        uint8_t *copy = malloc(cut + 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, data, cut);
        if (nu_tokenizer_from_llama2c(copy, cut, 512, &t, &err) == NU_OK || t != NULL) clean = 0;
        free(copy);
    }
    CHECK(clean);
    CHECK(nu_tokenizer_from_llama2c(data, size, 513, &t, &err) != NU_OK && t == NULL);
    CHECK(nu_tokenizer_from_llama2c(data, size, 0, &t, &err) != NU_OK && t == NULL);
    CHECK(nu_tokenizer_from_llama2c(data, size, -1, &t, &err) != NU_OK && t == NULL);
    /* the first token's length (after max_token_length and its score) made huge or negative */
    int32_t lens[] = {0x7FFFFFFF, -5, (int32_t)size};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        memcpy(copy + 8, &lens[i], 4);
        CHECK(nu_tokenizer_from_llama2c(copy, size, 512, &t, &err) != NU_OK && t == NULL);
        free(copy);
    }
    free(data);
    /* One empty token (found by fuzzing): every text buffer is empty, yet the pointers the
     * API hands out must point at memory. */
    const uint8_t one_empty[12] = {16, 0, 0, 0, 0, 0, 0x80, 0xBF, 0, 0, 0, 0};
    CHECK(nu_tokenizer_from_llama2c(one_empty, sizeof one_empty, 1, &t, &err) == NU_OK);
    if (t) {
        const char *p = NULL;
        size_t len = 1;
        CHECK(nu_tokenizer_piece(t, 0, &p, &len, &err) == NU_OK && p != NULL && len == 3);
        CHECK(nu_tokenizer_token_text(t, 0, &p, &len, &err) == NU_OK && p != NULL && len == 0);
        nu_tokenizer_free(t);
    }
}

/* A tiny GGUF writer for malformed vocabularies. */
typedef struct {
    uint8_t buf[4096];
    size_t len;
    uint64_t n_kv;
} Gguf;

static void put(Gguf *g, const void *p, size_t n) {
    memcpy(g->buf + g->len, p, n);
    g->len += n;
}
static void put_u32(Gguf *g, uint32_t v) { put(g, &v, 4); }
static void put_u64(Gguf *g, uint64_t v) { put(g, &v, 8); }
static void put_str(Gguf *g, const char *s) {
    put_u64(g, strlen(s));
    put(g, s, strlen(s));
}
static void kv_str(Gguf *g, const char *key, const char *v) {
    put_str(g, key), put_u32(g, 8), put_str(g, v), g->n_kv++;
}
static void kv_u32(Gguf *g, const char *key, uint32_t v) {
    put_str(g, key), put_u32(g, 4), put_u32(g, v), g->n_kv++;
}
static void kv_strs(Gguf *g, const char *key, const char **v, int n) {
    put_str(g, key), put_u32(g, 9), put_u32(g, 8), put_u64(g, (uint64_t)n), g->n_kv++;
    for (int i = 0; i < n; i++) put_str(g, v[i]);
}
static void kv_f32s(Gguf *g, const char *key, int n) {
    put_str(g, key), put_u32(g, 9), put_u32(g, 6), put_u64(g, (uint64_t)n), g->n_kv++;
    for (int i = 0; i < n; i++) put(g, &(float){(float)-i}, 4);
}
static void gguf_begin(Gguf *g) {
    memset(g, 0, sizeof *g);
    put(g, "GGUF", 4), put_u32(g, 3), put_u64(g, 0), put_u64(g, 0);
}

/* Opens the written file and loads its tokenizer; returns the code. */
static NuCode gguf_load(Gguf *g, NuTokenizer **t, NuError *err) {
    memcpy(g->buf + 16, &g->n_kv, 8);
    while (g->len % 32) g->buf[g->len++] = 0;
    GgufFile *f = NULL;
    *t = NULL;
    NuCode rc = gguf_open(g->buf, g->len, &f, err);
    CHECK(rc == NU_OK);
    if (rc) return rc;
    rc = nu_tokenizer_from_gguf(f, t, err);
    gguf_close(f);
    return rc;
}

static const char *BPE_TOKENS[] = {"a", "b", "ab", "Ġ", "Ġab"};

static void bpe_file(Gguf *g, const char *model, const char *pre, const char **merges, int n_merges) {
    gguf_begin(g);
    kv_str(g, "tokenizer.ggml.model", model);
    if (pre) kv_str(g, "tokenizer.ggml.pre", pre);
    kv_strs(g, "tokenizer.ggml.tokens", BPE_TOKENS, 5);
    kv_strs(g, "tokenizer.ggml.merges", merges, n_merges);
}

static void test_bad_gguf(void) {
    Gguf g;
    NuTokenizer *t;
    NuError err;
    const char *merges[] = {"a b", "Ġ ab"};
    /* a small but valid BPE vocabulary without BOS: encodes, refuses a BOS */
    bpe_file(&g, "gpt2", "gpt-2", merges, 2);
    CHECK(gguf_load(&g, &t, &err) == NU_OK);
    if (t) {
        int32_t ids[8];
        size_t n = 0;
        CHECK(nu_tokenizer_bos(t) == -1 && nu_tokenizer_wants_bos(t) == 0);
        CHECK(nu_tokenizer_encode(t, "ab ab", 5, 0, ids, 8, &n, &err) == NU_OK && n == 2 &&
              ids[0] == 2 && ids[1] == 4);
        CHECK(nu_tokenizer_encode(t, "ab", 2, 1, ids, 8, &n, &err) == NU_ERR_ARG);
        /* a byte that has no token in this tiny vocabulary */
        CHECK(nu_tokenizer_encode(t, "abc", 3, 0, ids, 8, &n, &err) == NU_ERR_UNSUPPORTED);
        nu_tokenizer_free(t);
    }
    bpe_file(&g, "bert", NULL, merges, 2);
    CHECK(gguf_load(&g, &t, &err) == NU_ERR_UNSUPPORTED && t == NULL);
    CHECK(strstr(err.message, "'bert'") != NULL);
    bpe_file(&g, "gpt2", "kimi-k2", merges, 2);
    CHECK(gguf_load(&g, &t, &err) == NU_ERR_UNSUPPORTED && strstr(err.message, "kimi-k2") != NULL);
    const char *bad_merges[][1] = {{"a c"}, {"ab"}, {"b a"}};
    for (int i = 0; i < 3; i++) {
        bpe_file(&g, "gpt2", NULL, bad_merges[i], 1);
        CHECK(gguf_load(&g, &t, &err) == NU_ERR_FORMAT && t == NULL);
    }
    /* missing tokens, a count mismatch, an id out of range */
    gguf_begin(&g);
    kv_str(&g, "tokenizer.ggml.model", "llama");
    CHECK(gguf_load(&g, &t, &err) == NU_ERR_FORMAT && t == NULL);
    gguf_begin(&g);
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_strs(&g, "tokenizer.ggml.tokens", BPE_TOKENS, 5);
    kv_f32s(&g, "tokenizer.ggml.scores", 4);
    CHECK(gguf_load(&g, &t, &err) == NU_ERR_FORMAT && t == NULL);
    gguf_begin(&g);
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_strs(&g, "tokenizer.ggml.tokens", BPE_TOKENS, 5);
    kv_u32(&g, "tokenizer.ggml.bos_token_id", 5);
    CHECK(gguf_load(&g, &t, &err) == NU_ERR_FORMAT && t == NULL);
    CHECK(strstr(err.message, "bos_token_id") != NULL);
}

/* --- long texts: fast, and still exact -------------------------------------------------- */

static void test_long_text(const char *name, const NuTokenizer *t) {
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; len + 256 + 20000 < cap; i++) {
        const char *s = VARIED[i % N_VARIED];
        memcpy(text + len, s, strlen(s));
        len += strlen(s);
    }
    memset(text + len, ' ', 20000); /* a long run of spaces */
    len += 20000;
    size_t n = 0;
    NuError err;
    clock_t start = clock();
    CHECK(nu_tokenizer_encode(t, text, len, 0, NULL, 0, &n, &err) == NU_ERR_ARG && n > 0);
    int32_t *ids = malloc(n * sizeof *ids);
    CHECK(nu_tokenizer_encode(t, text, len, 0, ids, n, &n, &err) == NU_OK);
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    char *back = malloc(len);
    size_t out = 0;
    CHECK(nu_tokenizer_decode(t, ids, n, back, len, &out, &err) == NU_OK && out == len &&
          memcmp(back, text, len) == 0);
    printf("%s: %zu bytes -> %zu tokens in %.3f s (two passes)\n", name, len, n, secs);
    CHECK(secs < 10.0);
    free(back);
    free(ids);
    free(text);
}

int main(void) {
    size_t size;
    inp_text = (char *)read_file(VOCAB_DIR "ggml-vocab-gpt-2.gguf.inp", &size);
    if (inp_text) n_cases = split_cases(inp_text, cases, case_len, MAX_CASES);

    test_gpt2_ids();
    test_vectors("ggml-vocab-gpt-2.gguf", 46);
    test_vectors("ggml-vocab-llama-bpe.gguf", 46);
    test_vectors("ggml-vocab-qwen2.gguf", 46);
    test_llama_spm();
    test_phi3_starcoder();
    test_llama2c_cross_check();
    test_stories260k();
    test_bad_calls();
    test_bad_llama2c();
    test_bad_gguf();

    const char *all[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf",
                         "ggml-vocab-phi-3.gguf", "ggml-vocab-starcoder.gguf"};
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, VOCAB_DIR "%s", all[i]);
        NuTokenizer *t = load_gguf(path);
        if (!t) continue;
        check_all_tokens(all[i], t);
        if (i < 2) test_long_text(all[i], t);
        nu_tokenizer_free(t);
    }
    free(inp_text);
    return check_summary("tokenizer");
}
