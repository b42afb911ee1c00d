#!/bin/sh
# Manual check, not part of `make test`: llama.cpp's own quantizer against ours. Builds
# llama-quantize from a llama.cpp source checkout into a build directory outside the
# repository (19 minutes on 2 busy cores, 7.5 minutes of CPU; once), quantizes the F32
# stories260K and synthetic stories15M to Q8_0 and Q4_0 with it (--pure: every matrix the
# one type, as our converter does), and runs bench/gguf_diff.js on our file and llama.cpp's:
# tensor bytes, then llama.cpp parity of both files through our runtime.
#   bench/llama_quantize.sh [LLAMA_SRC (/tmp/llama-src)] [BUILD_DIR (/tmp/llama-build)]
set -eu
src=${1:-/tmp/llama-src}
build=${2:-/tmp/llama-build}
quantize=$build/bin/llama-quantize

if [ ! -x "$quantize" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF
  cmake --build "$build" --target llama-quantize -j 2
fi

# stories260K (ffn_down has 172 columns: F16 in both quantizers) and the synthetic stories15M.
check() { # model, prompts
  make --no-print-directory "models/$1-f32.gguf" "models/$1-q8_0.gguf" "models/$1-q4_0.gguf"
  for type in q8_0 q4_0; do
    theirs=$build/$1-$type.gguf
    "$quantize" --pure "models/$1-f32.gguf" "$theirs" "$type" >"$build/quantize-$1-$type.log" 2>&1
    echo "== models/$1-$type.gguf (ours) against $theirs (llama-quantize)"
    node bench/gguf_diff.js "models/$1-$type.gguf" "$theirs" "$2"
  done
}
check stories260K '[[1, 403, 407, 261, 378]]'
check stories15M '[[1, 450, 4996, 29889, 1128], [1, 9038, 2501, 263, 931]]'

# The K-quant targets (make models-kq) against llama-quantize on the same F32 weights: the
# mixtures with llama.cpp's per-tensor rules, the single types --pure (our q4_k is its Q4_K_S
# with every matrix Q4_K), at widths where rows fall back (576, 704) and where they do not (256).
kq() { # width, our target, llama-quantize's type, [--pure]
  make --no-print-directory "models/kq$1-f32.gguf" "models/kq$1-$2.gguf"
  theirs=$build/kq$1-$2.gguf
  "$quantize" ${4:-} "models/kq$1-f32.gguf" "$theirs" "$3" >"$build/quantize-kq$1-$2.log" 2>&1
  echo "== models/kq$1-$2.gguf (ours) against $theirs (llama-quantize $3 ${4:-})"
  node bench/gguf_diff.js "models/kq$1-$2.gguf" "$theirs" '[[1, 450, 4996, 29889, 1128]]'
}
for w in 256 576 704; do
  kq $w q2_k Q2_K
  kq $w q3_k_m Q3_K_M
  kq $w q4_k_m Q4_K_M
  kq $w q5_k_m Q5_K_M
  kq $w q6_k Q6_K --pure
  kq $w iq4_xs IQ4_XS --pure
done
for t in "q3_k Q3_K_S" "q4_k Q4_K_S" "q5_k Q5_K_S" "iq4_nl IQ4_NL"; do
  set -- $t
  kq 256 "$1" "$2" --pure
done
