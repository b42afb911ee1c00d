/* Shared error reporting for every part of the runtime.
 *
 * In the style of SQLite: each fallible function returns an NuCode and, on failure,
 * writes a readable message into a caller-provided NuError. Nothing here allocates. */
#ifndef NUCLEUS_COMMON_H
#define NUCLEUS_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    NU_OK = 0,
    NU_ERR_ARG = 1,         /* a parameter is NaN, out of range or inconsistent */
    NU_ERR_LOGITS = 2,      /* logits contain NaN/+Inf, are all -Inf, or n is out of range */
    NU_ERR_NOMEM = 3,       /* an allocation failed or would exceed the memory limit */
    NU_ERR_FORMAT = 4,      /* a file is malformed: truncated, bad magic, inconsistent */
    NU_ERR_UNSUPPORTED = 5, /* a well-formed file uses a version, type or architecture we lack */
    NU_ERR_STATE = 6,       /* the call does not fit the object's state (e.g. context full) */
    NU_ERR_TEXT = 7         /* text input is not valid UTF-8 */
} NuCode;

#define NU_ERROR_MAX 320

typedef struct {
    NuCode code;
    char message[NU_ERROR_MAX];
} NuError;

/* Records code and a printf-style message in err (which may be NULL); returns code so
 * callers can write `return nu_fail(err, NU_ERR_ARG, "...", ...);`. */
NuCode nu_fail(NuError *err, NuCode code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears err to NU_OK with an empty message. */
void nu_clear(NuError *err);

/* A short name for a code, e.g. "invalid argument". */
const char *nu_code_name(NuCode code);

#endif
