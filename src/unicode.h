/* UTF-8 decoding and the few Unicode properties the BPE pre-tokenizers need. */
#ifndef NUCLEUS_UNICODE_H
#define NUCLEUS_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the UTF-8 sequence starting at s[0] (n bytes available). Returns its length 1..4
 * and stores the code point, or returns 0 when the bytes are not valid UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF are invalid, as is a truncated sequence). */
int nu_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Writes cp (at most U+10FFFF) as UTF-8 into out; returns the number of bytes, 1..4. */
int nu_utf8_encode(uint32_t cp, uint8_t out[4]);

/* Offset of the first invalid byte in s[0..n), or n when all of it is valid UTF-8. */
size_t nu_utf8_invalid_at(const uint8_t *s, size_t n);

/* General category L* (Lu, Ll, Lt, Lm, Lo), i.e. regex \p{L}. */
int nu_unicode_is_letter(uint32_t cp);
/* General category N* (Nd, Nl, No), i.e. regex \p{N}. */
int nu_unicode_is_number(uint32_t cp);
/* General category P* (Pc, Pd, Ps, Pe, Pi, Pf, Po), i.e. regex \p{P}. */
int nu_unicode_is_punct(uint32_t cp);
/* The White_Space property, i.e. \s of Unicode-aware regex engines (and llama.cpp). */
int nu_unicode_is_space(uint32_t cp);

#endif
