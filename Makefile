# Nucleus build. `make` builds the native library, tools and tests into build/ and the two
# wasm modules (SIMD128 and scalar fallback) into web/dist/. `make test` installs what is
# missing, builds, and runs every test. Sources are globbed: a new src/*.c joins the library,
# a new src/tests/test_*.c becomes a test binary, a new src/tools/*.c a native tool.
SHELL := /bin/bash
export NODE_PATH := /usr/share/nodejs

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# No FMA contraction anywhere: native, scalar wasm and SIMD wasm must round identically.
COMMON  := -std=c11 -ffp-contract=off -Isrc $(WARN)
# Native x86-64 builds run the SSE4.1 side of src/simd.h (the same vector code as SIMD128).
NATIVE_SIMD := $(if $(filter x86_64,$(shell uname -m)),-msse4.1)
CFLAGS  := -O2 -g $(COMMON) $(NATIVE_SIMD)
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer $(COMMON) $(NATIVE_SIMD)
LDLIBS  := -lm

EMCC    := emcc
EMFLAGS := -O3 $(COMMON) -DNDEBUG --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 \
           -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=16MB -sTOTAL_STACK=1MB -sABORTING_MALLOC=0 \
           -sEXPORTED_FUNCTIONS=_malloc,_free

LIB_SRC   := $(wildcard src/*.c src/quant/*.c)
LIB_HDR   := $(wildcard src/*.h src/quant/*.h)
TEST_SRC  := $(wildcard src/tests/test_*.c)
TEST_HDR  := $(wildcard src/tests/*.h)
TOOL_SRC  := $(wildcard src/tools/*.c)
TESTS     := $(patsubst src/tests/%.c,build/tests/%,$(TEST_SRC))
SAN_TESTS := $(patsubst src/tests/%.c,build/san/%,$(TEST_SRC))
TOOLS     := $(patsubst src/tools/%.c,build/%,$(TOOL_SRC))
WASM      := web/dist/nucleus-simd.wasm web/dist/nucleus.wasm web/dist/nucleus-mt.wasm \
             web/dist/nucleus-relaxed.wasm web/dist/nucleus-mt-relaxed.wasm

.PHONY: all native wasm test test-c test-wasm deps demo bench models clean

all: native wasm

native: build/libnucleus.a $(TOOLS) $(TESTS)
wasm: $(WASM) web/dist/jinja.js

build/obj/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
build/san/obj/%.o: src/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -c $< -o $@

build/libnucleus.a: $(patsubst src/%.c,build/obj/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^
build/san/libnucleus.a: $(patsubst src/%.c,build/san/obj/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^

build/tests/%: src/tests/%.c $(TEST_HDR) build/libnucleus.a | build/tests
	$(CC) $(CFLAGS) $< build/libnucleus.a $(LDLIBS) -o $@
build/san/%: src/tests/%.c $(TEST_HDR) build/san/libnucleus.a | build/san
	$(CC) $(SANFLAGS) $< build/san/libnucleus.a $(LDLIBS) -o $@
build/%: src/tools/%.c src/tests/files.h build/libnucleus.a
	$(CC) $(CFLAGS) $< build/libnucleus.a $(LDLIBS) -o $@

web/dist/nucleus-simd.wasm: $(LIB_SRC) $(LIB_HDR) | web/dist deps-emcc
	$(EMCC) $(EMFLAGS) -msimd128 $(LIB_SRC) -o $@
web/dist/nucleus.wasm: $(LIB_SRC) $(LIB_HDR) | web/dist deps-emcc
	$(EMCC) $(EMFLAGS) $(LIB_SRC) -o $@
# The relaxed-SIMD twins (src/simd.h, NU_RELAXED): the kernels of the sub-8-bit types multiply
# bytes with i16x8.relaxed_dot_i8x16_i7x16_s. clang 14 cannot write it, so the build writes
# q15mulr_sat (which nothing else uses) and binaryen's text round trip renames it; the check
# fails the build if the module still holds one or never held any.
RELAX = wasm-dis --all-features $(1) -o $(1).wat && \
        grep -q 'i16x8\.q15mulr_sat_s' $(1).wat && \
        sed -i 's/i16x8\.q15mulr_sat_s/i16x8.dot_i8x16_i7x16_s/g' $(1).wat && \
        wasm-as --all-features $(1).wat -o $(2) && rm -f $(1) $(1).wat
# a relaxed build's module before the rename, in build/ (never shipped from web/dist/)
PRE = build/$(notdir $(@:.wasm=.pre.wasm))
web/dist/nucleus-relaxed.wasm: $(LIB_SRC) $(LIB_HDR) | web/dist build deps-emcc
	$(EMCC) $(EMFLAGS) -msimd128 -DNU_RELAXED $(LIB_SRC) -o $(PRE)
	$(call RELAX,$(PRE),$@)
# The threaded build (src/pool.h): SIMD128 + atomics on a shared memory that web/wasm.js
# creates and hands to every instance; wasm-ld's start function fills the data segments
# once, and stackRestore lets each helper instance move to its own stack. Models only: the
# converter (web/convert.js) runs on the SIMD build.
MT_FLAGS := -msimd128 -matomics -mbulk-memory -sIMPORTED_MEMORY=1 -Wl,--shared-memory \
            -sEXPORTED_FUNCTIONS=_malloc,_free,stackRestore
MT_SRC   := $(filter-out src/convert.c src/convert_mix.c src/api_convert.c src/gguf_write.c,$(LIB_SRC))
web/dist/nucleus-mt.wasm: $(LIB_SRC) $(LIB_HDR) | web/dist deps-emcc
	$(EMCC) $(EMFLAGS) $(MT_FLAGS) $(MT_SRC) -o $@
web/dist/nucleus-mt-relaxed.wasm: $(LIB_SRC) $(LIB_HDR) | web/dist build deps-emcc
	$(EMCC) $(EMFLAGS) $(MT_FLAGS) -DNU_RELAXED $(MT_SRC) -o $(PRE)
	$(call RELAX,$(PRE),$@)

# The Jinja library web/chat.js renders chat templates with, copied from npm (its license
# in front) so pages and workers load it by relative URL, without a bundler or import map.
JINJA_PKG := node_modules/@huggingface/jinja
web/dist/jinja.js: node_modules/.package-lock.json | web/dist
	{ printf '/* @huggingface/jinja %s: MIT License, Copyright (c) 2023 Hugging Face */\n' \
	    "$$(node -p 'require("./$(JINJA_PKG)/package.json").version')"; cat $(JINJA_PKG)/dist/index.js; } > $@.tmp
	mv $@.tmp $@

# --- benchmarks (bench/): the library plus the bench loops (sampler, kernels, decode), as ----
# wasm (SIMD128 and scalar) and native; bench/run.js times them, plus the browser and wllama.
BENCH_SRC := $(wildcard bench/*.c)
BENCH_HDR := $(wildcard bench/*.h) src/tests/logits.h
BENCH_LIB_SRC := $(filter-out bench/bench_native.c,$(BENCH_SRC))
build/bench-simd.wasm: $(LIB_SRC) $(LIB_HDR) $(BENCH_SRC) $(BENCH_HDR) | deps-emcc
	@mkdir -p build
	$(EMCC) $(EMFLAGS) -msimd128 $(LIB_SRC) $(BENCH_LIB_SRC) -o $@
build/bench-relaxed.wasm: $(LIB_SRC) $(LIB_HDR) $(BENCH_SRC) $(BENCH_HDR) | deps-emcc
	@mkdir -p build
	$(EMCC) $(EMFLAGS) -msimd128 -DNU_RELAXED $(LIB_SRC) $(BENCH_LIB_SRC) -o $(PRE)
	$(call RELAX,$(PRE),$@)
build/bench.wasm: $(LIB_SRC) $(LIB_HDR) $(BENCH_SRC) $(BENCH_HDR) | deps-emcc
	@mkdir -p build
	$(EMCC) $(EMFLAGS) $(LIB_SRC) $(BENCH_LIB_SRC) -o $@
build/bench_native: $(BENCH_SRC) $(BENCH_HDR) build/libnucleus.a
	$(CC) -O3 $(COMMON) -march=native $(BENCH_SRC) build/libnucleus.a $(LDLIBS) -o $@

# The live page on http://127.0.0.1:8080 (demo/server.js; loopback only).
demo: deps all models-small
	node demo/server.js --port 8080

# Prints the tables and writes build/bench.json: about 4.5 minutes on 2 cores from a fresh
# clone (npm ci, the builds and make models included), 3.5 when those are done; the real-size
# model adds about 4 minutes once (make models-large) and 1-2 per run (section 7).
bench: deps all models models-large build/bench-simd.wasm build/bench-relaxed.wasm build/bench.wasm build/bench_native
	node bench/run.js

# --- models (git-ignored; models/README.md says how they are made) ----------------------
# models-small: stories260K converted from llama2.c's files, for the tests; models adds the
# synthetic stories15M and stories110M (random weights, llama SPM vocab) for the bench. Each file is
# remade when its inputs or the converter change; written to a .tmp and renamed when done.
SHARED_MODELS := ../shared/models
MODEL_TYPES   := f32 q8_0 q4_0
SMALL_MODELS  := $(foreach t,$(MODEL_TYPES),models/stories260K-$(t).gguf)
SYNTH_MODELS  := $(foreach t,$(MODEL_TYPES),models/stories15M-$(t).gguf) \
                 $(foreach t,q8_0 q4_0 q4_k_m,models/stories110M-$(t).gguf)
# The other types convert writes, as stories260K and stories15M, for the type and parity tests.
MORE_TYPES    := f16 bf16 q4_1 q5_0 q5_1
TYPE_MODELS   := $(foreach t,$(MORE_TYPES),models/stories260K-$(t).gguf models/stories15M-$(t).gguf)
CONVERTER     := src/convert.c src/convert.h src/api_convert.c web/convert.js | $(WASM)
.PHONY: models-small
models: $(SMALL_MODELS) $(SYNTH_MODELS)
models-small: $(SMALL_MODELS)

models/stories260K-%.gguf: $(SHARED_MODELS)/stories260K/stories260K.bin $(SHARED_MODELS)/stories260K/tok512.bin $(CONVERTER)
	@mkdir -p models
	node web/cli.js convert --input $< --tokenizer $(word 2,$^) --output $@.tmp --type $*
	mv $@.tmp $@

$(SYNTH_MODELS) $(filter models/stories15M-%,$(TYPE_MODELS)): models/%.gguf: $(SHARED_MODELS)/vocab/ggml-vocab-llama-spm.gguf $(CONVERTER)
	@mkdir -p models
	node web/cli.js synth --shape $(firstword $(subst -, ,$*)) --type $(lastword $(subst -, ,$*)) \
	    --vocab $< --seed 1 --output $@.tmp
	mv $@.tmp $@

# One small random-weight model per architecture, for the parity tests with llama.cpp: real
# vocabularies (Llama 3's BPE, Qwen2's, SentencePiece for gemma3), two layers of dim 64 (six
# for gemma3, so its sixth is a global layer between sliding ones of window 8), weights with
# standard deviation 0.1 so attention is far from uniform; llama3 also has an untied output
# and Llama 3's rope_freqs, qwen3 and gemma3 heads of 32 (q width 128 != dim).
ARCH_NAMES := llama3 qwen2 qwen3 gemma3
ARCH_TYPES := f32 q8_0
ARCH_MODELS := $(foreach a,$(ARCH_NAMES),$(foreach t,$(ARCH_TYPES),models/arch-$(a)-$(t).gguf))
VOCABS := $(SHARED_MODELS)/vocab
ARCH_SYNTH_llama3 := --arch llama --shape 64,128,2,4,2,0,512 --llama3-rope --untied-output --vocab $(VOCABS)/ggml-vocab-llama-bpe.gguf
ARCH_SYNTH_qwen2  := --arch qwen2 --shape 64,128,2,4,2,0,512 --vocab $(VOCABS)/ggml-vocab-qwen2.gguf
ARCH_SYNTH_qwen3  := --arch qwen3 --shape 64,128,2,4,2,0,512,32 --vocab $(VOCABS)/ggml-vocab-qwen2.gguf
ARCH_SYNTH_gemma3 := --arch gemma3 --shape 64,128,6,4,1,0,512,32 --window 8 --vocab $(VOCABS)/ggml-vocab-llama-spm.gguf
.PHONY: models-arch
models-arch: $(ARCH_MODELS)
$(ARCH_MODELS): models/arch-%.gguf: $(VOCABS)/ggml-vocab-llama-bpe.gguf $(VOCABS)/ggml-vocab-qwen2.gguf \
                                    $(VOCABS)/ggml-vocab-llama-spm.gguf $(CONVERTER)
	@mkdir -p models
	node web/cli.js synth $(ARCH_SYNTH_$(firstword $(subst -, ,$*))) --std 0.1 --seed 1 \
	    --type $(lastword $(subst -, ,$*)) --output $@.tmp
	mv $@.tmp $@

# models-large: a random-weight model at Llama-3.2-1B's real shape (16 layers of 2048, 32
# heads over 8 KV heads, FFN 8192, Llama 3's 128256-token BPE vocabulary and rope factors) in
# llama.cpp's Q4_K_M mixture: 0.8 GB, for `make bench` and by hand; not made by `make test`.
LARGE_MODEL := models/llama3.2-1b-q4_k_m.gguf
.PHONY: models-large
models-large: $(LARGE_MODEL)
$(LARGE_MODEL): $(VOCABS)/ggml-vocab-llama-bpe.gguf $(CONVERTER)
	@mkdir -p models
	node web/cli.js synth --shape llama3.2-1b --arch llama --type q4_k_m --vocab $< --seed 1 --output $@.tmp
	mv $@.tmp $@

# K-quant test models (make models-kq): synthetic two-layer models in every K-quant target, at
# widths where the K-quants fit (256) and where llama.cpp's fallbacks take rows that are not
# whole 256-blocks (384, 576, 704; 704 and its 1856 hidden fit no 256-block at all).
KQ_SHAPE_256 := 256,768,2,4,1,32000,256
KQ_SHAPE_384 := 384,1024,2,6,2,32000,256
KQ_SHAPE_576 := 576,1536,2,9,3,32000,256
KQ_SHAPE_704 := 704,1856,2,11,11,32000,256
KQ_TARGETS   := q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs q3_k_m q4_k_m q5_k_m
KQ_MODELS    := $(foreach w,256 576,$(foreach t,$(KQ_TARGETS),models/kq$(w)-$(t).gguf)) \
                $(foreach w,384 704,$(foreach t,q2_k q3_k_m q4_k_m q5_k_m q6_k iq4_xs,models/kq$(w)-$(t).gguf))
.PHONY: models-kq
models-kq: $(KQ_MODELS)

models/kq%.gguf: $(SHARED_MODELS)/vocab/ggml-vocab-llama-spm.gguf $(CONVERTER)
	@mkdir -p models
	node web/cli.js synth --shape $(KQ_SHAPE_$(firstword $(subst -, ,$*))) --type $(lastword $(subst -, ,$*)) \
	    --vocab $< --seed 1 --output $@.tmp
	mv $@.tmp $@

build build/tests build/san web/dist:
	mkdir -p $@

# --- dependencies: install only what is missing, so a second run costs nothing -----------
.PHONY: deps-emcc deps-npm deps-chromium deps-jinja2
# One apt at a time: under make -j the installs would otherwise race for dpkg's lock and fail.
apt_install = flock /tmp/nucleus-apt.lock sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)' >/dev/null
deps: deps-emcc deps-npm deps-chromium deps-jinja2
deps-emcc:
	@command -v $(EMCC) >/dev/null || { echo "installing emscripten (apt)"; $(call apt_install,emscripten); }
# The browser tests drive Debian's Chromium through playwright-core (never a downloaded browser).
deps-chromium:
	@command -v chromium >/dev/null || { echo "installing chromium (apt)"; $(call apt_install,chromium); }
# The chat tests render their expected strings with Python's Jinja2, as Hugging Face does.
deps-jinja2:
	@python3 -c 'import jinja2' 2>/dev/null || { echo "installing python3-jinja2 (apt)"; $(call apt_install,python3-jinja2); }
# node-llama-cpp (llama.cpp, the parity tests' oracle) comes as its prebuilt linux-x64 CPU
# addon only: the other platforms' binaries are optional dependencies (omitted), and its
# postinstall, which could download or build llama.cpp, is skipped.
deps-npm: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --omit=optional
	@touch $@

# --- tests ------------------------------------------------------------------------------
# The tests use stories260K, the synthetic stories15M (whole 32-element blocks everywhere),
# the small models of each architecture and the K-quant models.
TEST_MODELS := $(SMALL_MODELS) $(foreach t,$(MODEL_TYPES),models/stories15M-$(t).gguf) $(TYPE_MODELS) $(KQ_MODELS) \
               $(ARCH_MODELS)
test: deps all $(TEST_MODELS) $(SAN_TESTS)
	@$(MAKE) --no-print-directory test-c
	@$(MAKE) --no-print-directory test-wasm

test-c: $(TESTS) $(SAN_TESTS)
	@set -e; for t in $(TESTS); do $$t; done
	@set -e; for t in $(SAN_TESTS); do ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

test-wasm: all
	node --test wasm_tests/

# --- fuzzing (src/fuzz/): libFuzzer + ASan/UBSan, one binary per target in targets.h -----
# `make fuzz` runs each target for FUZZ_SECONDS on src/fuzz/corpus/<target>/ and prints
# libFuzzer's final stats; `make fuzz-corpus` regenerates those seeds with gen_corpus.
FUZZ_CC      := clang-14
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := gguf weights llama2c tokenizer vocab_bin sampler
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all $(COMMON) $(NATIVE_SIMD)
FUZZERS      := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJ     := $(patsubst src/%.c,build/fuzz/obj/%.o,$(LIB_SRC))
FUZZ_HDR     := src/fuzz/targets.h src/fuzz/vocab.h

.PHONY: fuzz fuzz-corpus deps-fuzz
.SECONDARY: $(FUZZ_OBJ)
deps-fuzz:
	@command -v $(FUZZ_CC) >/dev/null && dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || \
	  { echo "installing clang-14 and libclang-rt-14-dev (apt)"; $(call apt_install,clang-14 libclang-rt-14-dev); }
build/fuzz/obj/%.o: src/%.c $(LIB_HDR) | deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
build/fuzz/fuzz_%: src/fuzz/fuzz_main.c $(FUZZ_HDR) $(FUZZ_OBJ) | deps-fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_TARGET='"$*"' $< $(FUZZ_OBJ) $(LDLIBS) -o $@
build/fuzz/gen_corpus: src/fuzz/gen_corpus.c src/fuzz/vocab.h build/libnucleus.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< build/libnucleus.a $(LDLIBS) -o $@

fuzz: $(FUZZERS)
	@src/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)
fuzz-corpus: build/fuzz/gen_corpus
	rm -rf src/fuzz/corpus
	build/fuzz/gen_corpus src/fuzz/corpus

clean:
	rm -rf build web/dist
