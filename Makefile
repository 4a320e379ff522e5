# moksha — the only build entry. GNU make, out of tree into $(BUILD).
#   make            build build/moksha and build/moksha-exec
#   make deps       install everything the build, tests and rails need (tests/deps.sh)
#   make test       unit, golden, robustness, end-to-end and fidelity tests
#   make demo       run the main job on the examples
#   (test, demo, sanitize, allocfail, fuzz and bench first install what they
#   need and is missing; plain make never does, so building needs no network)
#   make sanitize   the whole test suite under ASan + UBSan (build/sanitize)
#   make fuzz       libFuzzer on parser, checker, plan and state loaders (FUZZ_SECONDS each)
#   make valgrind   memcheck over check, fmt and plan of the examples
#   make allocfail  fail the Nth allocation for every N of check and plan (build/allocfail)
#   make bench      benchmarks (tests/bench)
#   make install    PREFIX=/usr/local

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2 -g
SHARE_DIR ?= $(CURDIR)

WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS   = -std=c11 $(OPT) $(WARN) $(EXTRA_CFLAGS)
CPPFLAGS = -D_GNU_SOURCE -I. -I$(BUILD)/gen $(RT_CFLAGS) -DMK_SHARE_DIR='"$(SHARE_DIR)"' -DMK_VERSION='"$(VERSION)"'
LDLIBS   = -lyaml -ljansson -lssl -lcrypto -lpthread -lm
# the executor alone talks to the world: PostgreSQL (a state backend,
# docs/state.md, and a provider), HTTP services through libcurl, whose XML
# answers (S3, Azure Blob) libxml2 reads (docs/architecture.md, "Dependencies")
RT_LIBS  = -lpq -lcurl -lxml2
RT_CFLAGS = -I/usr/include/postgresql -I/usr/include/libxml2
LDFLAGS += $(EXTRA_LDFLAGS)
VERSION  = 0.1.0

GEN_C    = $(BUILD)/gen/lexer.c $(BUILD)/gen/parser.c
COMP_SRC = $(wildcard compiler/*/*.c) compiler/pipeline.c
COMP_OBJ = $(COMP_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/lexer.o $(BUILD)/obj/gen/parser.o
RT_SRC   = $(filter-out runtime/main.c,$(wildcard runtime/*.c runtime/providers/*.c))
RT_OBJ   = $(RT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit golden robust e2e fidelity house demo sanitize bench fuzz install clean golden-update
.PHONY: test-run demo-run bench-run
all: $(BUILD)/moksha $(BUILD)/moksha-exec

# Rebuild everything when the flags change.
FLAGS_LINE = $(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_LINE)' | cmp -s - $@ || echo '$(FLAGS_LINE)' > $@
FORCE:

$(BUILD)/gen/parser.c $(BUILD)/gen/parser.h &: grammar/parser.y
	@mkdir -p $(@D)
	bison -Wall -o $(BUILD)/gen/parser.c --header=$(BUILD)/gen/parser.h $<

$(BUILD)/gen/lexer.c: grammar/lexer.re
	@mkdir -p $(@D)
	re2c -W --no-debug-info -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/parser.h $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-unused-function -Wno-missing-prototypes $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags | $(BUILD)/gen/parser.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libmoksha.a: $(COMP_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libmoksha-rt.a: $(RT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/moksha: $(BUILD)/obj/compiler/main.o $(BUILD)/libmoksha.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/moksha-exec: $(BUILD)/obj/runtime/main.o $(BUILD)/libmoksha-rt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(RT_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmoksha.a $(BUILD)/libmoksha-rt.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(CPPFLAGS) -o $@ $< $(BUILD)/libmoksha.a $(BUILD)/libmoksha-rt.a $(RT_LIBS) $(LDLIBS) -lcmocka

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# DEPS GROUP...: install what is missing (quick when nothing is). An entry
# point runs it first and then the rest in a sub-make, so that under -j
# nothing starts building before the packages are there.
DEPS = BUILD=$(BUILD) sh tests/deps.sh
deps:
	@$(DEPS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "unit: $$t"; $$t; done

golden: all
	@sh tests/golden/run.sh $(BUILD)

golden-update: all
	@UPDATE=1 sh tests/golden/run.sh $(BUILD)

robust: all
	@sh tests/robust.sh $(BUILD)

e2e: all
	@sh tests/e2e/run.sh $(BUILD)

# moksha's figures and verdicts against Infracost's goldens and Checkov's
# fixtures, restated as stacks (tests/fidelity/run.sh, docs/cost.md "Fidelity")
fidelity: all
	@sh tests/fidelity/run.sh $(BUILD)

# the house rules: layers, no import circles, headers that match their
# files, one prefix per runtime module (docs/architecture.md, "Layers")
house: all
	@sh tests/house.sh $(BUILD)

# The suite `make sanitize` reruns under ASan + UBSan; valgrind is not in it
# (it cannot run an ASan binary). Quality rails below.
SUITE = house unit golden robust e2e fidelity regress
# a throwaway PostgreSQL server for the whole run (tests/with_pg.sh)
WITH_PG = sh tests/with_pg.sh
test:
	@$(DEPS) build test
	+@$(WITH_PG) $(MAKE) --no-print-directory test-run

test-run: all $(SUITE) valgrind
	@echo "all tests passed"

demo:
	@$(DEPS) build demo
	+@$(MAKE) --no-print-directory demo-run

demo-run: all
	@sh examples/demo.sh $(BUILD)

# ---- quality rails: sanitizers, fuzzers, valgrind, allocation failures ----
# (docs/testing.md). Each has its own build directory and flags.
FUZZ_TARGETS = parse program planfile state trust trustfile wire observed refresh
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_HELPERS = tests/fuzz/common.c tests/fuzz/fuzz.h
SAN_OPT      = -O1 -g -fno-omit-frame-pointer
SAN_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=all
# Any sanitizer report fails the test that saw it, with the exit codes
# tests/robust.sh tells apart from a diagnostic's 1.
SAN_ENV = ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=86:strict_init_order=1 \
          LSAN_OPTIONS=print_suppressions=0 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
# robust under ASan: fewer prefixes of the examples (the fuzzers go deeper)
SAN_SUITE_ENV = $(SAN_ENV) ROBUST_MAX_PREFIXES=600
SAN_MAKE  = $(MAKE) BUILD=build/sanitize OPT='$(SAN_OPT)' EXTRA_CFLAGS='$(SAN_FLAGS)' EXTRA_LDFLAGS='$(SAN_FLAGS)'
FUZZ_MAKE = $(MAKE) BUILD=build/fuzz CC=$(FUZZ_CC) OPT='$(SAN_OPT)' \
            EXTRA_CFLAGS='-fsanitize=fuzzer-no-link $(SAN_FLAGS)' EXTRA_LDFLAGS='$(SAN_FLAGS)'
REGRESS_BIN = $(FUZZ_TARGETS:%=$(BUILD)/fuzz-regress/fuzz_%)
FUZZ_BIN    = $(FUZZ_TARGETS:%=$(BUILD)/fuzzers/fuzz_%)
LIBS_BOTH   = $(BUILD)/libmoksha.a $(BUILD)/libmoksha-rt.a

.PHONY: regress valgrind allocfail test-build fuzz-build

# A harness linked with a plain main() replays the kept crash inputs.
$(BUILD)/fuzz-regress/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(FUZZ_HELPERS) $(LIBS_BOTH)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< tests/fuzz/common.c tests/fuzz/standalone.c $(LIBS_BOTH) $(RT_LIBS) $(LDLIBS)

# Only in the fuzz build (BUILD=build/fuzz, clang, -fsanitize=fuzzer-no-link).
$(BUILD)/fuzzers/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HELPERS) $(LIBS_BOTH)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) -o $@ $< tests/fuzz/common.c $(LIBS_BOTH) $(RT_LIBS) $(LDLIBS)

regress: $(REGRESS_BIN)
	@sh tests/fuzz/regress.sh $(BUILD) $(FUZZ_TARGETS)

valgrind: all
	@sh tests/valgrind.sh $(BUILD)

test-build: all $(UNIT_BIN) $(REGRESS_BIN)

# Build in parallel (make -j), then run the suite one part at a time: the
# parts time out under load, and an ASan binary is slow enough already.
sanitize:
	@$(DEPS) build test
	+@$(SAN_MAKE) test-build
	+@$(SAN_SUITE_ENV) $(WITH_PG) $(SAN_MAKE) -j1 $(SUITE)
	@echo "sanitize: all tests passed under ASan + UBSan"

fuzz-build: all $(FUZZ_BIN)

fuzz:
	@$(DEPS) build fuzz
	+@$(FUZZ_MAKE) fuzz-build
	@$(SAN_ENV) sh tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

allocfail:
	@$(DEPS) build test
	+@$(MAKE) BUILD=build/allocfail EXTRA_CFLAGS=-DMK_ALLOC_TESTING all
	@sh tests/allocfail.sh build/allocfail

bench:
	@$(DEPS) build bench
	+@$(MAKE) --no-print-directory bench-run

bench-run: all
	@sh tests/bench/run.sh $(BUILD)

# installed binaries look for stdlib/ and policies/ under PREFIX/share/moksha
install:
	+$(MAKE) BUILD=build/install SHARE_DIR=$(PREFIX)/share/moksha all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/moksha
	install -m 755 build/install/moksha build/install/moksha-exec $(DESTDIR)$(PREFIX)/bin/
	cp -r stdlib policies $(DESTDIR)$(PREFIX)/share/moksha/

clean:
	rm -rf $(BUILD)
