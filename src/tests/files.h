/* Test data and tool inputs: the whole file in a malloc'd buffer with a NUL after its last
 * byte, so text files are C strings (NULL, with a message, if unreadable). */
#ifndef NUCLEUS_TEST_FILES_H
#define NUCLEUS_TEST_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p) p[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return p;
}

#endif
