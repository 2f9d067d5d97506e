# uplinkd -- one non-recursive Makefile.
#   make            build/uplinkd, build/uplinkctl, build/libuplink.a
#   make check      unit tests (check)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make install    PREFIX, DESTDIR, SYSCONFDIR, SYSTEMDUNITDIR
#   make WERROR=1   warnings are errors (CI)
#   make SANITIZE=1 the same programs with ASan and UBSan, in build/san (B=DIR to choose)
#   make V=1        show the commands

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
IFUPDOWNDIR ?= $(SYSCONFDIR)/network
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARNFLAGS += -Werror
endif
PKGS := libmnl libnftnl libnl-3.0 libnl-route-3.0 libcurl libcares
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

ALL_CPPFLAGS := -D_GNU_SOURCE -Ilib -I/usr/include/iniparser \
	-DSYSCONFDIR='"$(SYSCONFDIR)"' $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS := -std=gnu11 $(WARNFLAGS) -MMD -MP $(CFLAGS)
LIBS := -liniparser $(PKG_LIBS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SHELL := /bin/bash
# SANITIZE=1: ASan and UBSan (any report stops the program), in a build folder of its own so the
# normal build (which the benchmarks measure) and the sanitized one live side by side.
ifeq ($(SANITIZE),1)
B ?= build/san
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
B ?= build
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
UPLINKCTL_SRC := $(sort $(wildcard src/uplinkctl*.c src/cmd_*.c)) src/log.c
UPLINKD_SRC := $(sort $(wildcard src/uplinkd*.c src/daemon_*.c)) src/log.c
UPLINKCTL_OBJ := $(UPLINKCTL_SRC:%.c=$(B)/%.o)
UPLINKD_OBJ := $(UPLINKD_SRC:%.c=$(B)/%.o)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_COMMON := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c))
TEST_COMMON_OBJ := $(TEST_COMMON:%.c=$(B)/%.o)
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

.PHONY: all check fuzz install uninstall clean bench
all: $(B)/libuplink.a $(B)/uplinkctl $(B)/uplinkd

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Isrc $(CHECK_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libuplink.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --as-needed: uplinkd references no libcurl symbol (uplinkctl sends the update request for it),
# so it does not load libcurl and its TLS stack: several MiB of resident memory.
$(B)/uplinkctl: $(UPLINKCTL_OBJ) $(B)/libuplink.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LIBS)

$(B)/uplinkd: $(UPLINKD_OBJ) $(B)/libuplink.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LIBS)

# test_loop runs the daemon's real event loop.
$(B)/tests/test_loop: $(B)/src/daemon_loop.o $(B)/src/log.o

$(B)/tests/%: $(B)/tests/unit/%.o $(TEST_COMMON_OBJ) $(B)/libuplink.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# Unit tests run from the top of the tree (they read tests/unit/data and conf/).
check: $(TEST_BIN) all
	$(Q)status=0; for t in $(TEST_BIN); do \
		CK_DEFAULT_TIMEOUT=60 $$t || status=1; \
	done; exit $$status

$(B)/bench/%: tests/bench/%.c tests/bench/bench.h $(B)/libuplink.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(LIBS)

bench: $(BENCH_BIN) all

# libFuzzer: every tests/fuzz/fuzz_*.c is a target with its corpus in tests/fuzz/corpus/<name>.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARNFLAGS) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIBS)

# New inputs go to build/fuzz/new-<name>; the checked-in corpus is only read.
fuzz: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do \
		n=$$(basename $$f); mkdir -p $(B)/fuzz/new-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/new-$$n tests/fuzz/corpus/$$n 2>&1 | \
			grep -E '^(stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|INFO: Running)' ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
		[ -z "$$(ls $(B)/fuzz/crash-* $(B)/fuzz/leak-* $(B)/fuzz/timeout-* 2>/dev/null)" ] || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/uplinkd
	install -m 0755 $(B)/uplinkd $(B)/uplinkctl $(DESTDIR)$(SBINDIR)/
	install -m 0644 conf/uplinkd.conf.example $(DESTDIR)$(SYSCONFDIR)/uplinkd/uplinkd.conf.example
ifneq ($(wildcard systemd/uplinkd.service.in),)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/uplinkd.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/uplinkd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/uplinkd.service
endif
ifneq ($(wildcard systemd/ifupdown-hook.in),)
	install -d $(DESTDIR)$(IFUPDOWNDIR)/if-up.d $(DESTDIR)$(IFUPDOWNDIR)/if-post-down.d
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/ifupdown-hook.in > $(DESTDIR)$(IFUPDOWNDIR)/if-up.d/uplinkd
	chmod 0755 $(DESTDIR)$(IFUPDOWNDIR)/if-up.d/uplinkd
	ln -sf ../if-up.d/uplinkd $(DESTDIR)$(IFUPDOWNDIR)/if-post-down.d/uplinkd
endif

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/uplinkd $(DESTDIR)$(SBINDIR)/uplinkctl \
		$(DESTDIR)$(SYSTEMDUNITDIR)/uplinkd.service \
		$(DESTDIR)$(IFUPDOWNDIR)/if-up.d/uplinkd $(DESTDIR)$(IFUPDOWNDIR)/if-post-down.d/uplinkd

clean:
	rm -rf $(B)

# The built-in MAP-E rule table is generated but checked in, so the build needs no python.
PYTHON ?= python3
.PHONY: mape-rules
mape-rules:
	$(PYTHON) lib/mape-rules/gen.py lib/mape-rules/mape-rules.json lib/mape_rules.c

-include $(shell find $(B) -name '*.d' 2>/dev/null)
