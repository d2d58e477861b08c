# mutu: agent, server and admin tool for pooled commune IT.
# Plain GNU make. User flags (CC, CFLAGS, LDFLAGS, PREFIX, DESTDIR) stay apart
# from the project's own (MUTU_*), as in redis' src/Makefile.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
CC        ?= cc
CFLAGS    ?= -O2 -g
LDFLAGS   ?=
PKG_CONFIG ?= pkg-config
SANITIZE  ?=

PKGS := libcurl sqlite3 zlib openssl jansson inih libmicrohttpd libpq libxml-2.0
TEST_PKGS := cmocka

ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build/san-$(subst $(comma),-,$(SANITIZE))
endif
comma := ,

MUTU_CFLAGS := -std=c11 -D_GNU_SOURCE -DMUTU_VERSION='"$(VERSION)"' \
	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wpointer-arith -Wcast-qual -fstack-protector-strong \
	-Icommon -MMD -MP
ifeq ($(SANITIZE),)
MUTU_CFLAGS += -D_FORTIFY_SOURCE=2
else
MUTU_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
MUTU_LDFLAGS += -fsanitize=$(SANITIZE)
endif

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS))
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))

ALL_CFLAGS = $(MUTU_CFLAGS) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(MUTU_LDFLAGS) $(LDFLAGS)

# Quiet build lines; make V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

# Platform files. Everything else in common/ and agent/ is shared by the
# Linux and the Windows agent; each system's own code is in files of its own,
# chosen here: *_unix.c and the files listed for Linux, *_win.c and
# collect_windows.c for Windows (cross-built by packaging/windows/windows.mk).
UNIX_ONLY := $(wildcard common/*_unix.c agent/*_unix.c) agent/collect_linux.c \
	agent/dpkg.c agent/procstat.c common/crypto_openssl.c \
	common/log_syslog.c common/notify_systemd.c
WIN_ONLY  := $(wildcard common/*_win.c agent/*_win.c) agent/collect_windows.c

COMMON_SRC := $(filter-out $(WIN_ONLY),$(wildcard common/*.c))
AGENT_SRC  := $(filter-out agent/main.c $(WIN_ONLY),$(wildcard agent/*.c))
# The server: the daemon in server/, its storage subsystem and licence
# domain in server/store/ (public header store.h), and mutuctl, a program
# of its own that shares no server code, in server/mutuctl/.
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c server/store/*.c))
CTL_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard server/mutuctl/*.c))
# Windows-only unit tests (test_*_win.c) are built by windows.mk alone.
UNIT_SRC   := $(filter-out tests/unit/test_%_win.c,$(wildcard tests/unit/test_*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/server/store/catalogue_data.o
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIBCOMMON := $(BUILD)/libcommon.a
LIBAGENT  := $(BUILD)/libagent.a
LIBSERVER := $(BUILD)/libserver.a
BINS := $(BUILD)/mutu-agent $(BUILD)/mutu-server $(BUILD)/mutuctl
FLEETSIM := $(BUILD)/mutu-fleetsim

.PHONY: all deps demo check check-run unit integration install uninstall \
	clean fmt lint deb package-test package-test-systemd fuzz security-scan \
	soak bench bench-scale bench-compare equiv
.DEFAULT_GOAL := all
.SECONDARY:

all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The power-cut SQLite VFS the crash tests preload (tests/tools/powerloss.c).
$(BUILD)/tests/libpowerloss.so: tests/tools/powerloss.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $< \
		$(shell $(PKG_CONFIG) --cflags --libs sqlite3)

# The daemon sees the store's public header; the store its own files.
$(SERVER_OBJ) $(BUILD)/server/main.o: ALL_CFLAGS += -Iserver -Iserver/store

# The default catalogue is compiled in from its data file.
$(BUILD)/server/store/catalogue_data.c: server/store/catalogue.json
	@mkdir -p $(dir $@)
	$(Q){ echo '/* Generated from server/store/catalogue.json: do not edit. */'; \
	  echo 'extern const char catalogue_default_json[];'; \
	  echo 'const char catalogue_default_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' \
	      -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@
$(BUILD)/server/store/catalogue_data.o: $(BUILD)/server/store/catalogue_data.c
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	$(Q)$(AR) rcs $@ $^
$(LIBAGENT): $(AGENT_OBJ)
	$(Q)$(AR) rcs $@ $^
$(LIBSERVER): $(SERVER_OBJ)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/mutu-agent: $(BUILD)/agent/main.o $(LIBAGENT) $(LIBCOMMON)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/mutu-server: $(BUILD)/server/main.o $(LIBSERVER) $(LIBCOMMON)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread -lm
$(BUILD)/mutuctl: $(CTL_OBJ) $(LIBCOMMON)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The fleet simulator (bench/fleetsim.c, fleet.c, fleetgen.c): real agent
# code, many agents.
$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Iagent -c -o $@ $<
FLEETSIM_OBJ := $(addprefix $(BUILD)/bench/,fleetsim.o fleet.o fleetgen.o)
$(FLEETSIM): $(FLEETSIM_OBJ) $(LIBAGENT) $(LIBCOMMON)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Iagent -Iserver -Iserver/store -c -o $@ $<
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIBSERVER) $(LIBAGENT) $(LIBCOMMON)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# deps installs missing Debian packages (as root, with apt-get); demo and check
# run it first and then build in a sub-make, so that pkg-config is asked only
# once the libraries are there.
deps:
	@sh .ci/deps
	@$(MAKE) --no-print-directory windows-deps

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/demo.sh

check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all $(UNIT_BIN) $(BUILD)/tests/libpowerloss.so $(FLEETSIM) \
	windows windows-tests msi
	@BUILD=$(BUILD) sh tests/run.sh $(UNIT_BIN)

# Benchmarks against the peers and raw SQLite (docs/PERFORMANCE.md);
# QUICK=1 for a pass under 3 minutes.
bench: deps
	@$(MAKE) --no-print-directory all $(FLEETSIM)
	@BUILD=$(BUILD) QUICK=$(QUICK) sh bench/run.sh

# What one server holds, SQLite against PostgreSQL with one and two
# instances (docs/SCALING.md); SCALE_COMMUNES, SCALE_MACHINES, SCALE_DAYS.
bench-scale: deps
	@$(MAKE) --no-print-directory all $(FLEETSIM)
	@BUILD=$(BUILD) sh bench/scale.sh

# Every read-only answer identical between revision OLD's server and this
# one, on one generated database (MUTU_BACKEND=pgsql for PostgreSQL).
# Ingest and every report of revision OLD's server against this build's,
# on one generated fleet, in one run (docs/PERFORMANCE.md).
bench-compare:
	@[ -n "$(OLD)" ] || { echo "usage: make bench-compare OLD=REVISION" >&2; exit 2; }
	@$(MAKE) --no-print-directory all $(FLEETSIM)
	@BUILD=$(BUILD) sh bench/compare.sh $(OLD)

equiv:
	@[ -n "$(OLD)" ] || { echo "usage: make equiv OLD=REVISION" >&2; exit 2; }
	@$(MAKE) --no-print-directory all $(FLEETSIM)
	@BUILD=$(BUILD) sh bench/equiv.sh $(OLD)

# The long delivery tests (crash points x 500, kill -9 x 5,000, ...);
# SOAK_SCALE=0.1 runs a tenth of each.
soak: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/libpowerloss.so $(FLEETSIM)
	@BUILD=$(BUILD) sh tests/soak.sh

unit: all $(UNIT_BIN)
	@BUILD=$(BUILD) UNIT_ONLY=1 sh tests/run.sh $(UNIT_BIN)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/mutu-agent $(BUILD)/mutu-server $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/mutuctl $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/man/mutuctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/mutu-agent.conf.5 docs/man/mutu-server.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/mutu-agent.8 docs/man/mutu-server.8 \
		$(DESTDIR)$(MANDIR)/man8/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mutu-agent $(DESTDIR)$(SBINDIR)/mutu-server \
		$(DESTDIR)$(BINDIR)/mutuctl $(DESTDIR)$(MANDIR)/man1/mutuctl.1 \
		$(DESTDIR)$(MANDIR)/man5/mutu-agent.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/mutu-server.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/mutu-agent.8 \
		$(DESTDIR)$(MANDIR)/man8/mutu-server.8

# Debian packages into build/deb/ (make deb VERSION=x.y.z for another
# version), and the install/upgrade/purge test of them (as root).
deb:
	@sh .ci/deps packaging
	@sh packaging/build-deb.sh $(VERSION)

package-test:
	@sh .ci/deps packaging
	@sh tests/package/run.sh $(VERSION)

# libFuzzer drivers (clang) for the parsers fed from the network or disk.
FUZZ_SECONDS ?= 30
fuzz:
	@sh .ci/deps fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# External scanners (testssl.sh, slowhttptest) against a TLS server.
security-scan: all
	@sh .ci/deps scan
	@BUILD=$(BUILD) sh tests/security/scan.sh

# The same packages under a real systemd, in a systemd-nspawn container
# (debootstraps Debian 12 once into /var/tmp; skips where that cannot run).
package-test-systemd:
	@sh .ci/deps nspawn
	@sh tests/package/systemd.sh $(VERSION) || [ $$? = 77 ]

fmt:
	clang-format -i $(wildcard */*.c */*.h server/*/*.c server/*/*.h tests/unit/*.c)

lint:
	clang-format --dry-run --Werror $(wildcard */*.c */*.h server/*/*.c server/*/*.h tests/unit/*.c)

clean:
	rm -rf build tests/out

# The Windows agent: make windows, make msi (docs/WINDOWS.md).
include packaging/windows/windows.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
