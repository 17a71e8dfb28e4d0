# SPDX-License-Identifier: Apache-2.0
#
# locguard build. `make` builds everything into build/; `make check` runs
# unit, SQL (pgTAP), fuzz-corpus and integration tests against a private
# PostgreSQL+PostGIS cluster; `make demo` runs the whole story; `make bench`
# measures. `make SANITIZE=address,undefined check` runs the suite under
# ASan/UBSan. `make install [PREFIX=/usr/local] [DESTDIR=]` installs the
# binaries, the schema, a sample configuration and the systemd unit;
# `make uninstall` removes them. `make version` prints the version.

CC       ?= gcc
BUILD    ?= build
VAR      ?= $(CURDIR)/var
SANITIZE ?=

# The version, read from its one place (include/locguard/core/version.h).
VERSION := $(shell sed -n 's/^\#define LG_VERSION "\(.*\)"/\1/p' include/locguard/core/version.h)

# Debian packages the build, the tests, the demo and the bench need; deps.sh
# installs the missing ones, then checks each command the scripts call (and
# installs npm only when the npm command is missing: nodesource's nodejs
# brings its own and conflicts with Debian's).
DEB_PACKAGES = gcc libc6-dev binutils make pkg-config libevent-dev libssl-dev libpq-dev \
               libjansson-dev libcjson-dev libcmocka-dev libsystemd-dev postgresql-15 \
               postgresql-15-postgis-3 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl \
               perl curl openssl iproute2 procps xxd docker-compose python3 python3-yaml prometheus \
               nodejs jq libgeos-dev libcurl4-openssl-dev nghttp2-server libnghttp2-dev \
               libhttp-parser-dev nghttp2-client libfreediameter-dev libgnutls28-dev tshark
# and `make bench` only: the server that answers with no work, for the floor of b2 and b6.
BENCH_PACKAGES = nginx-core

# Installation paths (GNU names; DESTDIR for staged installs, as packagers use).
# The daemon's default schema_dir is compiled in from $(pkgdatadir).
PREFIX      ?= /usr/local
bindir      ?= $(PREFIX)/bin
datadir     ?= $(PREFIX)/share
pkgdatadir  ?= $(datadir)/locguard
sysconfdir  ?= /etc
unitdir     ?= $(PREFIX)/lib/systemd/system
sysusersdir ?= $(PREFIX)/lib/sysusers.d
INSTALL     ?= install

# sd_notify (Type=notify under systemd) through libsystemd, as Redis does:
# used when pkg-config finds it; `make USE_SYSTEMD=no` builds without it.
USE_SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && echo yes || echo no)

# geos: the C API of GEOS (geos_c.h, libgeos_c), whose validity check the
# count evaluator shares with PostGIS; Debian's libgeos-dev ships geos.pc.
# libnghttp2: the server's HTTP/2 (httpd_h2.c). http-parser (httpd_h1.c) ships no
# .pc file in Debian: HTTP_PARSER_LIBS links it. libcurl: the HTTP client (httpc.c).
PKGS     = libevent libevent_openssl libpq openssl jansson libcjson geos libcurl libnghttp2 gnutls
HTTP_PARSER_LIBS = -lhttp_parser
ifeq ($(USE_SYSTEMD),yes)
PKGS    += libsystemd
SYSTEMD_CFLAGS = -DLG_HAVE_SYSTEMD
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# freeDiameter (the diameter zone): Debian's libfreediameter-dev ships no .pc
# file; its headers are in /usr/include/freeDiameter, its libraries in the
# default path. gnutls (above) is what it does TLS with; the zone reads the
# peers' certificates with it.
FD_LIBS     = -lfdcore -lfdproto -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

# The user's CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS (`make CFLAGS=-O1`, a
# distribution's hardening flags) are added to ours, never replace them: the
# C standard, the include paths, the warnings and the dependency files stay.
# -Werror is on by default (and in `make check`, .ci/run); `make WERROR=`
# turns it off for builds with newer compilers.
CFLAGS  ?= -O2 -g
LDFLAGS ?=
WERROR  ?= -Werror
WARN     = -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wundef -Wno-format-nonliteral
ifneq ($(SANITIZE),)
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD   := $(BUILD)-san
endif
FINAL_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude $(WARN) \
                $(PKG_CFLAGS) $(SYSTEMD_CFLAGS) -MMD -MP -fno-strict-aliasing $(SAN_FLAGS) \
                $(CPPFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
FINAL_LIBS    = $(PKG_LIBS) $(HTTP_PARSER_LIBS) $(FD_LIBS) -lm $(LDLIBS)

# The source tree, by zone and layer (README "Source layout"): service/core
# is what every zone builds on; service/south, north, counts and admin are
# the zones (service/diameter the T6a/T6b one, on freeDiameter); service/ctl
# is locguardctl. The daemon's modules are archived in
# liblocguard.a, so each binary links only the objects it uses.
ZONE_DIRS = core south diameter north counts admin
LIB_SRCS  = $(foreach d,$(ZONE_DIRS),$(wildcard service/$(d)/*.c))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       = $(BUILD)/liblocguard.a
CTL_SRCS  = $(wildcard service/ctl/*.c)
CTL_OBJS  = $(CTL_SRCS:%.c=$(BUILD)/%.o)
# tests/unit/ZONE/test_NAME.c -> $(BUILD)/tests/test_NAME
UNIT_SRCS = $(wildcard tests/unit/*/test_*.c)
UNIT_BINS = $(addprefix $(BUILD)/tests/,$(basename $(notdir $(UNIT_SRCS))))
# Unit tests of modules that talk to PostgreSQL: run by `dbunit` against a real one.
DBUNIT_BINS = $(BUILD)/tests/test_notifier $(BUILD)/tests/test_release $(BUILD)/tests/test_periodic \
              $(BUILD)/tests/test_countmap $(BUILD)/tests/test_auditq \
              $(BUILD)/tests/test_ingest_commit
PURE_UNIT_BINS = $(filter-out $(DBUNIT_BINS),$(UNIT_BINS))
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_NAMES = $(basename $(notdir $(TOOL_SRCS)))
TOOL_BINS = $(addprefix $(BUILD)/,$(subst _,-,$(TOOL_NAMES)))
# Code the tools share (tests/tools/lib/): compiled once, linked into every tool.
TOOL_LIB_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/tools/lib/*.c))
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/%-replay)

BINS = $(BUILD)/locguard $(BUILD)/locguardctl $(TOOL_BINS)

.PHONY: all deps check unit dbunit sqltest fuzz-replay schemacheck doccheck integration composecheck demo stop \
        bench fuzz \
        format format-check clean distclean install uninstall version FORCE

all: $(BINS)

$(BUILD)/%.o: %.c $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) $(SCHEMA_DIR_FLAG) -c -o $@ $<

# Stamps, as Redis's .make-settings: each file changes only when what it
# records does, so objects are rebuilt when the flags they were compiled with
# change (`make CFLAGS=-O1`, USE_SYSTEMD, libsystemd-dev installed since),
# config.o when the installed schema's path does (`make install PREFIX=/usr`
# after `make`), and a plain `make` rebuilds nothing.
BUILD_FLAGS = $(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) $(FINAL_LIBS)
$(BUILD)/flags.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@

# The default schema_dir, compiled into config.o.
$(BUILD)/service/core/config.o: SCHEMA_DIR_FLAG = -DLG_SCHEMA_DIR='"$(pkgdatadir)"'
$(BUILD)/service/core/config.o: $(BUILD)/schema-dir.stamp
$(BUILD)/schema-dir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(pkgdatadir)' | cmp -s - $@ || echo '$(pkgdatadir)' >$@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/locguard: $(BUILD)/service/main.o $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

$(BUILD)/locguardctl: $(CTL_OBJS) $(LIB)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

# tests/tools/mme_sim.c -> $(BUILD)/mme-sim, and so on.
define tool_rule
$(BUILD)/$(subst _,-,$(1)): $(BUILD)/tests/tools/$(1).o $(TOOL_LIB_OBJS) $(LIB)
	$$(CC) $$(FINAL_LDFLAGS) -o $$@ $$^ $$(FINAL_LIBS) -lpthread
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

# The unit tests of tests/unit/ctl/ also link locguardctl's modules, all but its main;
# those of tests/unit/tools/ the code the tools share (tests/tools/lib/).
CTL_MODULE_OBJS = $(filter-out $(BUILD)/service/ctl/main.o,$(CTL_OBJS))

define unit_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) \
        $(if $(filter tests/unit/ctl/%,$(1)),$(CTL_MODULE_OBJS)) \
        $(if $(filter tests/unit/tools/%,$(1)),$(TOOL_LIB_OBJS)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(FINAL_LDFLAGS) -o $$@ $$^ $$(FINAL_LIBS) $$(CMOCKA_LIBS)
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_rule,$(t))))

# Fuzz drivers built with a small main that replays the corpus (gcc, no
# libFuzzer needed); `make fuzz` builds the real libFuzzer binaries with clang.
$(BUILD)/tests/fuzz_%-replay: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay_main.o \
        $(TOOL_LIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

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

# The southbound body cases against the 3GPP YAML (shared/specs/validate.mjs,
# node); the parser's half is in test_report.
# Our parser's verdicts against the published YAML (validate.mjs, Ajv).
schemacheck:
	@LG_SPECS=$$(tests/tools/specs.sh $(BUILD)/specs) && export LG_SPECS && \
	    tests/tools/check-report-schema.py

# The README's source walk names every file of the tree.
doccheck:
	@tests/tools/check-readme-files.sh

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
	@$(MAKE) --no-print-directory schemacheck
	@$(MAKE) --no-print-directory doccheck
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

bench:
	@tests/tools/deps.sh $(DEB_PACKAGES) $(BENCH_PACKAGES)
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) VAR=$(VAR) tests/bench/bench.sh

fuzz:
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	    clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
	        -D_POSIX_C_SOURCE=200809L -Iinclude $(PKG_CFLAGS) -o $(BUILD)/fuzz/$$n $$f $(LIB_SRCS) tests/tools/lib/*.c \
	        $(FINAL_LIBS) || exit 1; \
	    echo "built $(BUILD)/fuzz/$$n: run it with tests/fuzz/corpus/$${n#fuzz_}"; done

# Installed files. The sample configuration and the unit carry the default
# paths (/usr/local/bin, /usr/local/share/locguard, /etc/locguard), replaced
# by the ones of this install. locguard.conf.sample is always ours;
# locguard.conf is installed from it only when absent (an operator's file is
# never overwritten) and removed by uninstall only while unchanged.
MIGRATIONS = $(notdir $(wildcard migrations/*.sql))
SQL_FILES  = $(notdir $(wildcard sql/*.sql))
confdir    = $(sysconfdir)/locguard
DIST_SED   = -e 's|/usr/local/bin|$(bindir)|g' -e 's|/usr/local/share/locguard|$(pkgdatadir)|g' \
             -e 's|/etc/locguard|$(confdir)|g'

install: $(BUILD)/locguard $(BUILD)/locguardctl
	@mkdir -p $(BUILD)/dist
	sed $(DIST_SED) service/dist/locguard.conf >$(BUILD)/dist/locguard.conf
	sed $(DIST_SED) service/dist/locguard.service >$(BUILD)/dist/locguard.service
	$(INSTALL) -d '$(DESTDIR)$(bindir)' '$(DESTDIR)$(pkgdatadir)/migrations' \
	    '$(DESTDIR)$(pkgdatadir)/sql' '$(DESTDIR)$(confdir)' '$(DESTDIR)$(unitdir)' \
	    '$(DESTDIR)$(sysusersdir)'
	$(INSTALL) -m 755 $(BUILD)/locguard $(BUILD)/locguardctl '$(DESTDIR)$(bindir)/'
	$(INSTALL) -m 644 $(addprefix migrations/,$(MIGRATIONS)) '$(DESTDIR)$(pkgdatadir)/migrations/'
	$(INSTALL) -m 644 $(addprefix sql/,$(SQL_FILES)) '$(DESTDIR)$(pkgdatadir)/sql/'
	$(INSTALL) -m 644 $(BUILD)/dist/locguard.conf '$(DESTDIR)$(confdir)/locguard.conf.sample'
	@if [ -e '$(DESTDIR)$(confdir)/locguard.conf' ]; then \
	    echo "kept $(DESTDIR)$(confdir)/locguard.conf (the new sample: locguard.conf.sample)"; \
	else \
	    echo "$(INSTALL) -m 644 $(BUILD)/dist/locguard.conf $(DESTDIR)$(confdir)/locguard.conf"; \
	    $(INSTALL) -m 644 $(BUILD)/dist/locguard.conf '$(DESTDIR)$(confdir)/locguard.conf'; \
	fi
	$(INSTALL) -m 644 $(BUILD)/dist/locguard.service '$(DESTDIR)$(unitdir)/locguard.service'
	$(INSTALL) -m 644 service/dist/locguard.sysusers '$(DESTDIR)$(sysusersdir)/locguard.conf'

uninstall:
	rm -f '$(DESTDIR)$(bindir)/locguard' '$(DESTDIR)$(bindir)/locguardctl'
	rm -f $(addprefix '$(DESTDIR)$(pkgdatadir)/migrations/,$(addsuffix ',$(MIGRATIONS)))
	rm -f $(addprefix '$(DESTDIR)$(pkgdatadir)/sql/,$(addsuffix ',$(SQL_FILES)))
	@rmdir '$(DESTDIR)$(pkgdatadir)/migrations' '$(DESTDIR)$(pkgdatadir)/sql' '$(DESTDIR)$(pkgdatadir)' 2>/dev/null || true
	@if cmp -s '$(DESTDIR)$(confdir)/locguard.conf' '$(DESTDIR)$(confdir)/locguard.conf.sample'; then \
	    echo "rm -f $(DESTDIR)$(confdir)/locguard.conf"; rm -f '$(DESTDIR)$(confdir)/locguard.conf'; \
	elif [ -e '$(DESTDIR)$(confdir)/locguard.conf' ]; then \
	    echo "kept $(DESTDIR)$(confdir)/locguard.conf (changed since install)"; \
	fi
	rm -f '$(DESTDIR)$(confdir)/locguard.conf.sample'
	@rmdir '$(DESTDIR)$(confdir)' 2>/dev/null || true
	rm -f '$(DESTDIR)$(unitdir)/locguard.service' '$(DESTDIR)$(sysusersdir)/locguard.conf'

# The version (include/locguard/core/version.h), for scripts and packaging.
version:
	@echo $(VERSION)

FORMAT_FILES = service/*.c service/*/*.c include/locguard/*/*.h tests/unit/*/*.c tests/tools/*.c \
               tests/tools/lib/*.c tests/fuzz/*.c

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build build-san

distclean: stop clean
	rm -rf var

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
