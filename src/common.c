#include "common.h"

#include <stdarg.h>
#include <stdio.h>

NuCode nu_fail(NuError *err, NuCode code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void nu_clear(NuError *err) {
    if (err) {
        err->code = NU_OK;
        err->message[0] = '\0';
    }
}

const char *nu_code_name(NuCode code) {
    switch (code) {
    case NU_OK: return "ok";
    case NU_ERR_ARG: return "invalid argument";
    case NU_ERR_LOGITS: return "invalid logits";
    case NU_ERR_NOMEM: return "out of memory";
    case NU_ERR_FORMAT: return "malformed file";
    case NU_ERR_UNSUPPORTED: return "unsupported";
    case NU_ERR_STATE: return "invalid state";
    case NU_ERR_TEXT: return "invalid text";
    }
    return "unknown error";
}
