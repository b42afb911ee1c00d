/* Replays every saved fuzz input through the fuzz targets' own code (src/fuzz/targets.h):
 * the seed corpora in src/fuzz/corpus/<target>/ and the reproducers of fixed bugs in
 * src/fuzz/regressions/<target>/. Each must run cleanly (under the sanitizers in the
 * build/san variant) with every check of the target holding. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../fuzz/targets.h"
#include "check.h"

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(buf, cap);
            if (!p) break;
            buf = p;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    int ok = !ferror(f) && feof(f);
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    *size = len;
    return buf ? buf : malloc(1);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int not_hidden(const struct dirent *e) { return e->d_name[0] != '.'; }

/* The model and vocabulary seeds are there to start the fuzzers deep: each must load. */
static int seed_loads(const char *target, const uint8_t *data, size_t size) {
    NuError err;
    NuConfig c;
    NuWeights w = {0};
    NuCode rc = NU_ERR_ARG;
    if (strcmp(target, "weights") == 0) {
        GgufFile *g;
        rc = gguf_open(data, size, &g, &err);
        if (rc == NU_OK) {
            NuTokenizer *t = NULL;
            rc = nu_load_gguf_weights(g, &c, &w, &err);
            if (rc == NU_OK) rc = nu_tokenizer_from_gguf(g, &t, &err);
            nu_tokenizer_free(t);
            gguf_close(g);
        }
    } else if (strcmp(target, "llama2c") == 0) {
        rc = nu_llama2c_load(data, size, &c, &w, &err);
    } else if (strcmp(target, "vocab_bin") == 0 && size >= 4) {
        int32_t n;
        memcpy(&n, data, 4);
        NuTokenizer *t = NULL;
        rc = nu_tokenizer_from_llama2c(data + 4, size - 4, n, &t, &err);
        nu_tokenizer_free(t);
    } else {
        return 1;
    }
    nu_weights_free(&w);
    if (rc != NU_OK) fprintf(stderr, "%s seed does not load: %s\n", target, err.message);
    return rc == NU_OK;
}

/* Replays every file in dir through target; returns how many there were. */
static int replay_dir(const char *dir, const char *target, int seeds) {
    struct dirent **files;
    int n = scandir(dir, &files, not_hidden, alphasort);
    if (n < 0) return 0;
    int replayed = 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]->d_name);
        free(files[i]);
        size_t size;
        uint8_t *data = is_dir(path) ? NULL : read_all(path, &size);
        if (!data) continue;
        int failed = fuzz_run(target, data, size);
        if (failed) fprintf(stderr, "%s: %d check(s) failed (target %s)\n", path, failed, target);
        CHECK(failed == 0);
        if (seeds) CHECK(seed_loads(target, data, size));
        free(data);
        replayed++;
    }
    free(files);
    return replayed;
}

/* Replays root/<target>/ for every target directory under root. */
static int replay_root(const char *root, int *seeds) {
    int total = 0;
    for (size_t t = 0; t < FUZZ_N_TARGETS; t++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", root, FUZZ_TARGETS[t].name);
        int n = replay_dir(dir, FUZZ_TARGETS[t].name, seeds != NULL);
        if (seeds) seeds[t] = n;
        total += n;
    }
    /* A directory that names no target would be skipped silently: refuse it. */
    struct dirent **entries;
    int n = scandir(root, &entries, not_hidden, alphasort);
    for (int i = 0; i < n; i++) {
        CHECK(fuzz_find(entries[i]->d_name) >= 0);
        free(entries[i]);
    }
    if (n >= 0) free(entries);
    return total;
}

int main(void) {
    int seeds[FUZZ_N_TARGETS];
    CHECK(is_dir("src/fuzz/corpus")); /* run from the repository root, as make test does */
    int corpus = replay_root("src/fuzz/corpus", seeds);
    for (size_t t = 0; t < FUZZ_N_TARGETS; t++) {
        if (seeds[t] == 0) fprintf(stderr, "no seed corpus for fuzz target %s\n", FUZZ_TARGETS[t].name);
        CHECK(seeds[t] > 0);
    }
    int regressions = replay_root("src/fuzz/regressions", NULL);
    printf("fuzz replay: %d corpus inputs, %d regression inputs\n", corpus, regressions);
    return check_summary("fuzz_regressions");
}
