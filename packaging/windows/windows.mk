# The Windows agent, cross-built on Debian with mingw-w64 (docs/WINDOWS.md).
# Included by the top-level Makefile; uses its UNIX_ONLY / WIN_ONLY lists.
#
#   make windows-deps    libcurl (Schannel), SQLite, jansson, cmocka for
#                        mingw, static, in build/win/deps (deps.sh, deps.lock)
#   make windows         build/win/mutu-agent.exe (x86-64, static)
#   make windows-tests   build/win/tests/test_*.exe, the portable unit tests
#
# Everything lives in build/win whatever BUILD or SANITIZE say: sanitizers do
# not apply to the cross build, and its objects never mix with Linux's.
.PHONY: windows windows-deps windows-tests msi

WIN_HOST  := x86_64-w64-mingw32
WIN_CC    ?= $(WIN_HOST)-gcc
WIN_AR    ?= $(WIN_HOST)-ar
WIN_OPT   ?= -O2 -g
WIN_BUILD := build/win
WIN_DEPS  := $(WIN_BUILD)/deps
WIN_STAMP := $(WIN_DEPS)/.stamp

# The same warnings as on Linux. Windows 10 API level; mingw's own C99
# printf (so %zu, %lld and gnu_printf checks hold); curl linked statically.
WIN_CFLAGS := -std=c11 -D_GNU_SOURCE -DMUTU_VERSION='"$(VERSION)"' \
	-D__USE_MINGW_ANSI_STDIO=1 -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 \
	-DCURL_STATICLIB -D_FORTIFY_SOURCE=2 \
	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wpointer-arith -Wcast-qual -fstack-protector-strong \
	-Icommon -I$(WIN_DEPS)/include -MMD -MP $(WIN_OPT)

# Shared files plus the Windows ones: everything in common/ and agent/ but
# the Linux-only files.
WIN_COMMON_SRC := $(filter-out $(UNIX_ONLY),$(wildcard common/*.c))
WIN_AGENT_SRC  := $(filter-out agent/main.c $(UNIX_ONLY),$(wildcard agent/*.c))
WIN_COMMON_OBJ := $(WIN_COMMON_SRC:%.c=$(WIN_BUILD)/obj/%.o)
WIN_AGENT_OBJ  := $(WIN_AGENT_SRC:%.c=$(WIN_BUILD)/obj/%.o)
WIN_LIBCOMMON  := $(WIN_BUILD)/libcommon.a
WIN_LIBAGENT   := $(WIN_BUILD)/libagent.a
WIN_AGENT      := $(WIN_BUILD)/mutu-agent.exe

# The unit tests of common/ and agent/; not the Linux parsers' (dpkg,
# procstat) nor the server's (ingest, share, interop), nor test_usage: its sessions
# are those of a copy of /bin/sleep it forks, seen by the Linux collector
# (test_collect_win does the same for Windows; tests/windows meters a
# program through the whole agent).
WIN_UNIT_EXCLUDE := tests/unit/test_dpkg.c tests/unit/test_procstat.c \
	tests/unit/test_ingest.c tests/unit/test_share.c tests/unit/test_usage.c \
	tests/unit/test_interop.c \
	$(wildcard tests/unit/test_*_unix.c)
WIN_UNIT_SRC := $(filter-out $(WIN_UNIT_EXCLUDE),$(wildcard tests/unit/test_*.c))
WIN_UNIT_BIN := $(WIN_UNIT_SRC:tests/unit/%.c=$(WIN_BUILD)/tests/%.exe)

# Static: libgcc, libssp (the deps are built with -fstack-protector-strong and
# _FORTIFY_SOURCE) and the third-party libraries in the exe; only the
# system's DLLs are imported (listing one the code does not use costs nothing).
# uuid holds the FOLDERID_* GUIDs; winpthread is where mingw-w64 implements
# the clock_gettime() its <time.h> declares (linked in statically, no DLL).
WIN_LIBS := -L$(WIN_DEPS)/lib -lcurl -ljansson -lsqlite3 -lz \
	-lws2_32 -lcrypt32 -lbcrypt -lsecur32 -ladvapi32 -liphlpapi -lwtsapi32 \
	-lversion -lwinhttp -luserenv -lshlwapi -lnormaliz -lole32 -loleaut32 \
	-lshell32 -luuid -lpsapi -lpowrprof -lnetapi32 -lntdll -lwinpthread -lssp
WIN_LDFLAGS := -static -fstack-protector-strong -Wl,--dynamicbase \
	-Wl,--nxcompat -Wl,--high-entropy-va
# -municode only when the agent's entry point is wmain().
WIN_MUNICODE = $(if $(shell grep -lsw wmain agent/main.c $(filter agent/%,$(WIN_ONLY))),-municode)

windows: $(WIN_AGENT)
windows-tests: $(WIN_UNIT_BIN)
windows-deps: $(WIN_STAMP)
	@:

# deps.sh keeps its own key in the stamp (deps.lock, itself, the compiler)
# and only touches the stamp when that key has not changed.
$(WIN_STAMP): packaging/windows/deps.lock packaging/windows/deps.sh
	@sh packaging/windows/deps.sh $(WIN_DEPS)

$(WIN_BUILD)/obj/%.o: %.c | $(WIN_STAMP)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  WINCC   $<"
	$(Q)$(WIN_CC) $(WIN_CFLAGS) -c -o $@ $<

$(WIN_LIBCOMMON): $(WIN_COMMON_OBJ)
	$(Q)rm -f $@ && $(WIN_AR) rcs $@ $^
$(WIN_LIBAGENT): $(WIN_AGENT_OBJ)
	$(Q)rm -f $@ && $(WIN_AR) rcs $@ $^

$(WIN_AGENT): $(WIN_BUILD)/obj/agent/main.o $(WIN_LIBAGENT) $(WIN_LIBCOMMON) $(WIN_STAMP)
	@[ "$(V)" = 1 ] || echo "  WINLD   $@"
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) $(WIN_MUNICODE) -o $@ \
		$(filter %.o %.a,$^) $(WIN_LIBS)

$(WIN_BUILD)/tests/%.o: tests/unit/%.c | $(WIN_STAMP)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  WINCC   $<"
	$(Q)$(WIN_CC) $(WIN_CFLAGS) -Iagent -c -o $@ $<
$(WIN_BUILD)/tests/test_%.exe: $(WIN_BUILD)/tests/test_%.o $(WIN_LIBAGENT) $(WIN_LIBCOMMON) $(WIN_STAMP)
	@[ "$(V)" = 1 ] || echo "  WINLD   $@"
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -o $@ $(filter %.o %.a,$^) -lcmocka $(WIN_LIBS)

-include $(shell find $(WIN_BUILD)/obj $(WIN_BUILD)/tests -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------
# The MSI (make msi): helper D's part, below this line.
# ---------------------------------------------------------------------------
# The MSI carries an agent built for the MSI's VERSION: the files that
# embed the version are compiled again into $(WIN_MSI_OBJ) and linked
# before the libraries (whose copies of them are then never pulled in), so
# that "make msi VERSION=x.y.z" makes a coherent upgrade package without
# touching build/win/mutu-agent.exe. WIN_MSI_DIR moves the output.
WIN_MSI_DIR ?= $(WIN_BUILD)
WIN_MSI     := $(WIN_MSI_DIR)/mutu-agent-$(VERSION)-x64.msi
WIN_MSI_OBJ := $(WIN_MSI_DIR)/msi-$(VERSION)
WIN_VERSIONED := agent/main.c agent/collect_windows.c common/httpc.c
WIN_MSI_EXE := $(WIN_MSI_OBJ)/mutu-agent.exe
# Public properties the elevated installation may receive (wixl writes
# only its own upgrade properties into SecureCustomProperties).
WIN_MSI_SECURE := WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER;COMMUNE;ENROLSECRET;USERKEY;CAFILE;PROXY

msi: $(WIN_MSI)

# The Event Log message file (EventMessageFile = the installed exe): one
# message, "%1", so that Event Viewer shows the agent's text alone.
WIN_WINDMC  ?= $(WIN_HOST)-windmc
WIN_WINDRES ?= $(WIN_HOST)-windres
$(WIN_MSI_OBJ)/eventlog.o: packaging/windows/eventlog.mc
	@mkdir -p $(WIN_MSI_OBJ)/msg
	@[ "$(V)" = 1 ] || echo "  WINDMC  $<"
	$(Q)$(WIN_WINDMC) -h $(WIN_MSI_OBJ)/msg -r $(WIN_MSI_OBJ)/msg $<
	$(Q)cd $(WIN_MSI_OBJ)/msg && $(WIN_WINDRES) -O coff -o ../eventlog.o eventlog.rc

$(WIN_MSI_OBJ)/%.o: %.c | $(WIN_STAMP)
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  WINCC   $< ($(VERSION))"
	$(Q)$(WIN_CC) $(WIN_CFLAGS) -Iagent -c -o $@ $<

$(WIN_MSI_EXE): $(WIN_VERSIONED:%.c=$(WIN_MSI_OBJ)/%.o) $(WIN_MSI_OBJ)/eventlog.o $(WIN_LIBAGENT) $(WIN_LIBCOMMON) $(WIN_STAMP)
	@[ "$(V)" = 1 ] || echo "  WINLD   $@"
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) $(WIN_MUNICODE) -o $@ \
		$(filter %.o %.a,$^) $(WIN_LIBS)

$(WIN_MSI): packaging/windows/mutu-agent.wxs $(WIN_MSI_EXE)
	@[ "$(V)" = 1 ] || echo "  WIXL    $@"
	$(Q)command -v wixl >/dev/null && command -v msibuild >/dev/null || \
		{ echo "make msi: wixl and msibuild needed (apt-get install wixl msitools)" >&2; exit 1; }
	@# wixl takes a Source relative to the working directory only.
	$(Q)cd $(WIN_MSI_OBJ) && wixl -a x64 -D Version=$(VERSION) \
		-D AgentExe=mutu-agent.exe -o $(abspath $@.tmp) \
		$(CURDIR)/packaging/windows/mutu-agent.wxs
	$(Q)msibuild $@.tmp -q "UPDATE Property SET Value = '$(WIN_MSI_SECURE)' WHERE Property = 'SecureCustomProperties'"
	$(Q)mv -f $@.tmp $@

-include $(shell find $(WIN_MSI_DIR) -path '*/msi-*' -name '*.d' 2>/dev/null)
