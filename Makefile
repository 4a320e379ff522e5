# moksha — the only build entry. GNU make, out of tree into $(BUILD).
#   make            build build/moksha and build/moksha-exec
#   make deps       install the Debian packages the build and tests need
#   make test       unit, golden, robustness and end-to-end tests
#   make demo       run the main job on the examples
#   make sanitize   the whole test suite under ASan + UBSan (build/sanitize)
#   make bench      benchmarks (tests/bench)
#   make install    PREFIX=/usr/local

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2 -g
SHARE_DIR ?= $(CURDIR)

WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS   = -std=c11 $(OPT) $(WARN) $(EXTRA_CFLAGS)
CPPFLAGS = -D_GNU_SOURCE -I. -I$(BUILD)/gen -DMK_SHARE_DIR='"$(SHARE_DIR)"' -DMK_VERSION='"$(VERSION)"'
LDLIBS   = -lyaml -ljansson -lcrypto -lpthread -lm
LDFLAGS += $(EXTRA_LDFLAGS)
VERSION  = 0.1.0

GEN_C    = $(BUILD)/gen/lexer.c $(BUILD)/gen/parser.c
COMP_SRC = $(filter-out compiler/main.c,$(wildcard compiler/*.c))
COMP_OBJ = $(COMP_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/lexer.o $(BUILD)/obj/gen/parser.o
RT_SRC   = $(filter-out runtime/main.c,$(wildcard runtime/*.c runtime/providers/*.c))
RT_OBJ   = $(RT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit golden robust e2e demo sanitize bench fuzz install clean golden-update
all: $(BUILD)/moksha $(BUILD)/moksha-exec

# Rebuild everything when the flags change.
FLAGS_LINE = $(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_LINE)' | cmp -s - $@ || echo '$(FLAGS_LINE)' > $@
FORCE:

$(BUILD)/gen/parser.c $(BUILD)/gen/parser.h: grammar/parser.y
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
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmoksha.a $(BUILD)/libmoksha-rt.a tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(CPPFLAGS) -o $@ $< $(BUILD)/libmoksha.a $(BUILD)/libmoksha-rt.a $(LDLIBS) -lcmocka

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	@sh tests/deps.sh

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

test: all unit golden robust e2e
	@echo "all tests passed"

demo: all
	@sh examples/demo.sh $(BUILD)

sanitize:
	$(MAKE) BUILD=build/sanitize OPT='-O1 -g -fno-omit-frame-pointer' \
	  EXTRA_CFLAGS='-fsanitize=address,undefined -fno-sanitize-recover=undefined' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined' test

bench: all
	@sh tests/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/moksha
	install -m 755 $(BUILD)/moksha $(BUILD)/moksha-exec $(DESTDIR)$(PREFIX)/bin/
	cp -r stdlib policies $(DESTDIR)$(PREFIX)/share/moksha/

clean:
	rm -rf $(BUILD)
