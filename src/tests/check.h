/* A minimal test harness: CHECK records a failure with its location and goes on;
 * check_summary prints the closing "N passed, N failed" line and gives the exit code. */
#ifndef NUCLEUS_CHECK_H
#define NUCLEUS_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) check_record((cond) != 0, #cond, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol)                                                                  \
    check_record(fabs((double)(a) - (double)(b)) <= (tol), #a " ~ " #b, __FILE__, __LINE__)

static void check_record(int ok, const char *what, const char *file, int line) {
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

static int check_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
