# SPDX-License-Identifier: Apache-2.0
#
# locguard build. `make` builds everything into build/; `make check` runs
# unit, SQL (pgTAP), fuzz-corpus and integration tests against a private
# PostgreSQL+PostGIS cluster; `make demo` runs the whole story; `make bench`
# measures. `make SANITIZE=address,undefined check` runs the suite under
# ASan/UBSan.

CC       ?= gcc
BUILD    ?= build
VAR      ?= $(CURDIR)/var
SANITIZE ?=

# Debian packages the build, the tests and the demo need.
DEB_PACKAGES = gcc make pkg-config libevent-dev libssl-dev libpq-dev libjansson-dev libcjson-dev \
               libcmocka-dev postgresql-15 postgresql-15-postgis-3 postgresql-15-pgtap \
               curl openssl iproute2 procps

PKGS     = libevent libevent_openssl libpq openssl jansson libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wundef -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude $(WARN) $(PKG_CFLAGS) \
           -MMD -MP -fno-strict-aliasing
LDLIBS  += $(PKG_LIBS) -lm
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD   := $(BUILD)-san
endif

# The daemon's modules (everything in service/ except the two mains).
LIB_SRCS  = $(filter-out service/main.c service/locguardctl.c,$(wildcard service/*.c))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Unit tests of modules that talk to PostgreSQL: run by `dbunit` against a real one.
DBUNIT_BINS = $(BUILD)/tests/test_notifier $(BUILD)/tests/test_release $(BUILD)/tests/test_periodic \
              $(BUILD)/tests/test_countmap $(BUILD)/tests/test_auditq
PURE_UNIT_BINS = $(filter-out $(DBUNIT_BINS),$(UNIT_BINS))
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_NAMES = $(basename $(notdir $(TOOL_SRCS)))
TOOL_BINS = $(addprefix $(BUILD)/,$(subst _,-,$(TOOL_NAMES)))
# Code the tools share (tests/tools/lib/): compiled once, linked into every tool.
TOOL_LIB_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/tools/lib/*.c))
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/%-replay)

BINS = $(BUILD)/locguard $(BUILD)/locguardctl $(TOOL_BINS)

.PHONY: all deps check unit dbunit sqltest fuzz-replay integration composecheck demo stop bench fuzz \
        format format-check clean distclean

all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/locguard: $(BUILD)/service/main.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/locguardctl: $(BUILD)/service/locguardctl.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/tools/mme_sim.c -> $(BUILD)/mme-sim, and so on.
define tool_rule
$(BUILD)/$(subst _,-,$(1)): $(BUILD)/tests/tools/$(1).o $(TOOL_LIB_OBJS) $(LIB_OBJS)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) -lpthread
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

# Fuzz drivers built with a small main that replays the corpus (gcc, no
# libFuzzer needed); `make fuzz` builds the real libFuzzer binaries with clang.
$(BUILD)/tests/fuzz_%-replay: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay_main.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@tests/tools/deps.sh $(DEB_PACKAGES)

unit: $(PURE_UNIT_BINS)
	@set -e; for t in $(PURE_UNIT_BINS); do echo "== $$t"; $$t; done

dbunit: all $(DBUNIT_BINS)
	@BUILD=$(BUILD) tests/tools/run-dbunit.sh $(VAR)/check-dbunit-pg $(DBUNIT_BINS)

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_REPLAY); do \
	    name=$$(basename $$t -replay); name=$${name#fuzz_}; \
	    echo "== $$t tests/fuzz/corpus/$$name"; $$t tests/fuzz/corpus/$$name; done

sqltest: all
	@tests/tools/run-pgtap.sh $(VAR)/check-pg

integration: all
	@BUILD=$(BUILD) tests/integration/run.sh

# docker-compose.yml and service/dist/Dockerfile, without a Docker engine.
composecheck: all
	@BUILD=$(BUILD) tests/compose/check.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(FUZZ_REPLAY)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory sqltest
	@$(MAKE) --no-print-directory dbunit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory composecheck

# deps first, then a fresh make: pkg-config's answers are read when make starts.
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) VAR=$(VAR) tests/tools/demo.sh

stop:
	@BUILD=$(BUILD) VAR=$(VAR) tests/tools/demo.sh stop

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) VAR=$(VAR) tests/bench/bench.sh

fuzz:
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	    clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
	        -D_POSIX_C_SOURCE=200809L -Iinclude $(PKG_CFLAGS) -o $(BUILD)/fuzz/$$n $$f $(LIB_SRCS) \
	        $(LDLIBS) || exit 1; \
	    echo "built $(BUILD)/fuzz/$$n: run it with tests/fuzz/corpus/$${n#fuzz_}"; done

format:
	clang-format -i service/*.c include/locguard/*.h tests/unit/*.c tests/tools/*.c tests/fuzz/*.c

format-check:
	clang-format --dry-run --Werror service/*.c include/locguard/*.h tests/unit/*.c tests/tools/*.c tests/fuzz/*.c

clean:
	rm -rf build build-san

distclean: stop clean
	rm -rf var

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
