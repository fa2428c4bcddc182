# vigil — top-level build.  `make` builds every program into build/bin/.
# Each part's non-main sources become a static library so unit tests can link
# any module; adding a .c file to a folder needs no change here.

PREFIX  ?= /usr/local
DESTDIR ?=
# `vigil` is a user's command (section 1); the daemons are the administrator's
# (section 8): vigil-server, vigild and vigil-simfs go to sbin
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR  ?= $(DATADIR)/man
BUILD   ?= build
CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
# the BPF object loses its DWARF (as libbpf-tools do; BTF and BTF.ext, which
# libbpf and the verifier use, stay): the skeleton embeds the object, and
# vigild was about 730 KiB larger with it
LLVM_STRIP ?= llvm-strip
VMLINUX_H ?=
PKG_CONFIG ?= pkg-config

PKGS    := openssl sqlite3 libzstd zlib fuse3 libbpf jansson liburing libcryptsetup libsystemd libseccomp libxxhash
# CFLAGS, CPPFLAGS and LDFLAGS given on the command line or in the
# environment (debian/rules passes dpkg-buildflags's hardening flags) come
# first and the project's own are added after them (`override`: a command
# line's CFLAGS would otherwise replace them), so -Werror always stays.
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
           -I. -I$(BUILD)/bpf $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
override LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lrsync -lpthread -lm
# vigild opens libcryptsetup at the first erase (dlopen, daemon/eraseluks.c):
# its soname, read from the libcryptsetup.so this build compiles against
CRYPTSETUP_SONAME := $(shell readelf -d $(shell $(PKG_CONFIG) --variable=libdir libcryptsetup \
                     2>/dev/null)/libcryptsetup.so 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

PARTS    := common server daemon controller fuse
# The S3 client (server/objstore/) needs libcurl and libxml2, which only
# `scripts/install-deps.sh scale` installs: built by the scale targets
# alone (below), not into libserver.a, until a program uses it.
SCALE_SRCS := $(wildcard server/objstore/*.c)
src_of    = $(filter-out $(1)/main.c $(SCALE_SRCS),$(wildcard $(1)/*.c $(1)/*/*.c))
obj_of    = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
LIBS     := $(BUILD)/lib/libserver.a $(BUILD)/lib/libdaemon.a \
            $(BUILD)/lib/libcontroller.a $(BUILD)/lib/libfuse.a $(BUILD)/lib/libcommon.a
BINS     := $(BUILD)/bin/vigil-server $(BUILD)/bin/vigild $(BUILD)/bin/vigil
ifneq ($(wildcard fuse/main.c),)
BINS     += $(BUILD)/bin/vigil-simfs
endif

MAN1     := $(wildcard man/*.1)
MAN5     := $(wildcard man/*.5)
MAN8     := $(wildcard man/*.8)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.SECONDEXPANSION:
# objects are listed through $$(call obj_of,...): keep them between runs
.SECONDARY:
.PHONY: all deps test test-asan test-encrypt unit unit-build unit-encrypt integration integration-encrypt \
	lint man-lint demo soak bench install clean deb test-deb
all: $(BINS)

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# (none found: eraseluks.c stops the build with an #error saying so)
$(BUILD)/obj/daemon/eraseluks.o: override CFLAGS += $(if $(CRYPTSETUP_SONAME),-DCRYPTSETUP_SONAME='"$(CRYPTSETUP_SONAME)"')

# Only the daemon includes BPF skeletons (explicit, so a failure is loud).
$(call obj_of,daemon) $(BUILD)/obj/daemon/main.o: $(BPF_SKELS)

$(BUILD)/obj/empty.o:
	@mkdir -p $(dir $@); echo 'typedef int vigil_empty_unit;' | $(CC) -x c -c -o $@ -

$(BUILD)/lib/lib%.a: $$(call obj_of,%) | $(BUILD)/obj/empty.o
	@mkdir -p $(dir $@)
	rm -f $@; $(AR) rcs $@ $(or $^,$(BUILD)/obj/empty.o)

$(BUILD)/bin/vigil-server: $(BUILD)/obj/server/main.o $(LIBS)
$(BUILD)/bin/vigild: $(BUILD)/obj/daemon/main.o $(LIBS)
$(BUILD)/bin/vigil: $(BUILD)/obj/controller/main.o $(LIBS)
$(BUILD)/bin/vigil-simfs: $(BUILD)/obj/fuse/main.o $(LIBS)
$(BINS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# --- BPF: vmlinux.h from the running kernel's BTF unless VMLINUX_H names one,
# or VMLINUX_PKG an architecture whose pinned kernel package's BTF gives it
# (scripts/vmlinux-pkg.sh: make cross) ---
$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	if [ -n "$(VMLINUX_H)" ]; then cp "$(VMLINUX_H)" $@; \
	elif [ -n "$(VMLINUX_PKG)" ]; then scripts/vmlinux-pkg.sh $(VMLINUX_PKG) $(BUILD)/kernel $@; \
	else $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@; fi

ARCH_BPF ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
$(BPF_SKELS:.skel.h=.bpf.o): $(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/events.h $(BUILD)/bpf/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH_BPF) -I$(BUILD)/bpf -I. -c $< -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp && mv $@.tmp $@

$(BPF_SKELS): $(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# --- bench tools built from several sources (bench/load_bench.sh) ---
LOADGEN_SRCS := $(wildcard bench/loadgen*.c)
$(BUILD)/bench/loadgen: $(LOADGEN_SRCS) bench/loadgen.h $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(LOADGEN_SRCS) $(LIBS) $(LDLIBS)

# --- tests ---
# The sqlite3 shell on an encrypted test store (VIGIL_TEST_ENCRYPT=1,
# tests/integration/lib.sh): dbcrypt's VFS as an LD_PRELOAD object, built
# without the sanitizers (the shell is not).
SEALED_PRELOAD := $(BUILD)/tests/sealed_preload.so
SEALED_SRCS := tests/integration/sealed_preload.c server/store/dbcrypt.c server/store/storekey.c \
               common/fdio.c common/buf.c common/hex.c
$(SEALED_PRELOAD): $(SEALED_SRCS) server/store/dbcrypt.h server/store/storekey.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
		-I. -fPIC -shared -o $@ $(SEALED_SRCS) -lcrypto -lsqlite3 -ldl
# A test binary depends on the headers it includes too (tests/unit/*.h
# fixtures among them): a changed fixture rebuilds its tests.
$(BUILD)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS) -lcmocka
-include $(wildcard $(BUILD)/tests/*.d)

# Tests that run the real server binary rebuild it first: `make unit` (or
# one test) against a stale build/bin/vigil-server answered a batched put
# ENOSYS once.
SERVER_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,\
	$(shell grep -l 'build/bin/vigil-server\|ship_fixture\.h\|srv_fixture\.h' $(UNIT_SRCS) /dev/null))
$(SERVER_TESTS): $(BUILD)/bin/vigil-server
$(SERVER_TESTS): override CFLAGS += -DSERVER_BIN='"$(BUILD)/bin/vigil-server"'

# The tests of mount crossing make statx hide mount ids, as a kernel before
# 5.8 or qemu-user does (tests/unit/mount_ids.h): the wrapper is theirs.
MOUNT_ID_TESTS := $(patsubst %,$(BUILD)/tests/test_%,erase rootwalk mountinfo)
$(MOUNT_ID_TESTS): override LDFLAGS += -Wl,--wrap=statx
# test_sandbox answers for libseccomp as it does where the kernel takes no
# filter (qemu-user): its wrappers, in the test alone.
$(BUILD)/tests/test_sandbox: override LDFLAGS += -Wl,--wrap=seccomp_init -Wl,--wrap=seccomp_load
# the extractor child is a re-execution of the server binary
$(BUILD)/tests/test_exproc: $(BUILD)/bin/vigil-server
$(BUILD)/tests/test_exproc: override CFLAGS += -DVIGIL_SERVER_BIN='"$(BUILD)/bin/vigil-server"'

unit-build: $(UNIT_BINS)
unit: $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

integration: all $(SEALED_PRELOAD)
	tests/integration/run-all.sh

# The functions STYLE.md bans (strcpy strcat sprintf strtok atoi gets),
# named file:line wherever a C source calls one.
lint: $(LIBS)
	@scripts/lint.sh
	@scripts/dupsyms.sh $(LIBS)

# The man pages (man/): mandoc -Tlint -Wstyle clean, and the long flags
# each page names are the ones its program's --help prints
# (tests/man/t_lint.sh and t_flags.sh say how).  A few seconds.
man-lint: all
	@rc=0; tests/man/t_lint.sh || rc=1; BIN=$(abspath $(BUILD))/bin tests/man/t_flags.sh || rc=1; exit $$rc

# The stages of `make test`, in order; each is run even when one before
# failed, and says how long it took (CI's budget: docs/hacking.md).
TEST_STAGES := lint man-lint unit fuzz-smoke integration unit-encrypt integration-encrypt test-asan test-deb
# The builds of `make test` (the programs and unit tests, the ASan tree, the
# fuzz harnesses) use every CPU; -Otarget prints each compiler's output
# whole, after its command, and a failed compile still ends the build with
# make's "*** [target] Error" line naming it.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PAR_MAKE  := $(MAKE) -j$(TEST_JOBS) -Otarget --no-print-directory
test: deps
	@t0=$$(date +%s); $(PAR_MAKE) all $(UNIT_BINS) $(SEALED_PRELOAD) || exit 1; \
	echo "make test: build took $$(( $$(date +%s) - t0 )) s"
	@rc=0; failed=""; for s in $(TEST_STAGES); do t0=$$(date +%s); \
		$(MAKE) $$s || { rc=1; failed="$$failed $$s"; }; \
		echo "make test: $$s took $$(( $$(date +%s) - t0 )) s"; done; \
	if [ $$rc = 0 ]; then echo "make test: all passed"; else echo "make test: FAILED:$$failed"; fi; exit $$rc

# Encrypted stores (docs/hacking.md, "run the tests on encrypted stores"): with
# VIGIL_TEST_ENCRYPT=1 the unit tests that make stores through
# tests/unit/store_fixture.h make them encrypted, and tests/integration/lib.sh
# inits every server with --encrypt.  `make test` runs those unit tests and
# the integration scripts that work the store's records hardest
# (ENCRYPT_INTEGRATION: check, full disk, batches, resumed uploads, sweep,
# upload expiry, the admin subcommands with no key while the server runs;
# ~3 min on the loaded 2-CPU machine) once more encrypted,
# besides t_encrypt.sh in the plain run; `make test-encrypt` runs the whole
# integration suite encrypted (as long as the plain one).
ENCRYPT_UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,\
	$(shell grep -l 'store_fixture\.h' $(UNIT_SRCS) /dev/null))
ENCRYPT_INTEGRATION ?= t_check.sh t_enospc.sh t_putbatch.sh t_resume.sh t_sweep.sh \
	t_upload_expire.sh t_storeadmin.sh
unit-encrypt: $(ENCRYPT_UNIT_BINS)
	VIGIL_TEST_ENCRYPT=1 tests/run-unit.sh $(ENCRYPT_UNIT_BINS)
integration-encrypt: all $(SEALED_PRELOAD)
	VIGIL_TEST_ENCRYPT=1 tests/integration/run-all.sh $(ENCRYPT_INTEGRATION)
test-encrypt: deps
	$(PAR_MAKE) all $(ENCRYPT_UNIT_BINS) $(SEALED_PRELOAD)
	@rc=0; $(MAKE) unit-encrypt || rc=1; \
	VIGIL_TEST_ENCRYPT=1 tests/integration/run-all.sh || rc=1; \
	if [ $$rc = 0 ]; then echo "make test-encrypt: all passed"; else echo "make test-encrypt: FAILED"; fi; exit $$rc

# The unit tests and the short soak once more under ASan+UBSan, in a build
# tree of their own: what only a sanitizer sees fails the run too.
ASAN_BUILD ?= build-asan
ASAN_INTEGRATION := $(wildcard tests/integration/t_soak.sh)
# The soak (mostly waiting) runs beside the unit tests, both runners
# printing under one lock (tests/pool.sh).
test-asan:
	$(PAR_MAKE) BUILD=$(ASAN_BUILD) SANITIZE=1 all unit-build
	@rc=0; export POOL_PRINT_LOCK=$(CURDIR)/$(ASAN_BUILD)/print.lock; \
	BIN=$(CURDIR)/$(ASAN_BUILD)/bin tests/integration/run-all.sh $(notdir $(ASAN_INTEGRATION)) & p=$$!; \
	tests/run-unit.sh $(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(UNIT_BINS)) || rc=1; \
	wait $$p || rc=1; exit $$rc

# The proof under faults (issue 10, section 3): ROUNDS crash rounds of
# kill -9 during edits over 1,000 files, network faults through a cutting
# proxy, a full server disk; figures in build/soak-figures.json
# (tests/soak/soak.sh names its other knobs).  A round takes 10-40 s (its
# checks), so 100 rounds take about an hour on a loaded 2-CPU machine.
ROUNDS ?= 100
soak: deps
	$(MAKE) all
	ROUNDS=$(ROUNDS) FIGURES=$(BUILD)/soak-figures.json bash tests/soak/soak.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

# Every measurement side by side with the tools a user would pick instead;
# each script prints a table and appends it to bench/results-*.txt.
bench: deps
	$(MAKE) all
	bench/run.sh
	bench/tracker_cost.sh 200000
	bench/latency.sh
	bench/live_bench.sh
	bench/change_bench.sh
	bench/mount_bench.sh 256 20000
	bench/search_bench.sh
	bench/command_bench.sh
	bench/erase_bench.sh 10000 1024
	bench/sim_bench.sh
	bench/load_bench.sh
	bench/throughput_bench.sh
	bench/crypt_bench.sh
	bench/sweep_bench.sh
	bench/check_bench.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/bin/vigil $(DESTDIR)$(BINDIR)/
	install -m 0755 $(filter-out $(BUILD)/bin/vigil,$(BINS)) $(DESTDIR)$(SBINDIR)/
	install -d $(DESTDIR)$(DATADIR)/vigil/kconfig
	install -m 0644 kconfig/vigil.config $(DESTDIR)$(DATADIR)/vigil/kconfig/
	install -m 0755 kconfig/check $(DESTDIR)$(DATADIR)/vigil/kconfig/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

# --- arm64, the handset's architecture (docs/hacking.md, "Cross builds") ---
# `make cross` builds every program and unit test with Debian's cross
# toolchain and the :arm64 -dev packages (dpkg multiarch; scripts/
# install-deps.sh cross adds them) into build-arm64/, apart from build/.
# The BPF object compiles against the BTF of a pinned Debian arm64 kernel
# package (scripts/vmlinux-pkg.sh; the package is cached in
# build-arm64/kernel).  `make test-arm64` runs those unit tests under
# qemu-user (scripts/qemu-binfmt.sh registers it) and an arm64 vigild and
# vigil against the native server (tests/arm64/t_flow.sh).
ARCH        ?= arm64
CROSS_arm64 := aarch64-linux-gnu
CROSS       := $(CROSS_$(ARCH))
CROSS_BUILD := build-$(ARCH)
CROSS_UNIT_BINS := $(patsubst $(BUILD)/%,$(CROSS_BUILD)/%,$(UNIT_BINS))
.PHONY: cross test-arm64
cross:
	@[ -n "$(CROSS)" ] || { echo "make cross: unknown ARCH '$(ARCH)' (arm64)" >&2; exit 2; }
	@scripts/install-deps.sh cross
	PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS)/pkgconfig:/usr/share/pkgconfig \
	$(MAKE) BUILD=$(CROSS_BUILD) CC=$(CROSS)-gcc AR=$(CROSS)-ar ARCH_BPF=$(ARCH) \
		VMLINUX_PKG=$(ARCH) all $(CROSS_UNIT_BINS)

test-arm64: cross
	$(MAKE) all
	@scripts/qemu-binfmt.sh $(ARCH)
	@rc=0; tests/arm64/run-unit.sh $(CROSS_UNIT_BINS) || rc=1; \
	for tr in fanotify scan; do ARM_BIN=$(CURDIR)/$(CROSS_BUILD)/bin TRACKER=$$tr \
		bash tests/arm64/t_flow.sh || rc=1; done; \
	if [ $$rc = 0 ]; then echo "make test-arm64: all passed"; else echo "make test-arm64: FAILED"; fi; exit $$rc

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CROSS_BUILD)

# Debian packages vigil-server, vigild and vigil (docs/packaging.md): built
# from a copy of the tree, into $(BUILD)/deb/.  `make test-deb` builds them,
# runs lintian, installs them, runs a backup with the installed programs and
# purges them again (tests/pkg/t_deb.sh; root, Debian).
# `make deb ARCH=arm64`: the same packages for the phone, cross-built
# (dpkg-buildpackage -aarm64 with the cross package list of `make cross` and
# the BPF object against the pinned arm64 kernel's BTF), into
# $(BUILD)/deb-arm64/.
deb:
ifeq ($(origin ARCH),command line)
	@[ -n "$(CROSS)" ] || { echo "make deb: unknown ARCH '$(ARCH)' (arm64)" >&2; exit 2; }
	@scripts/install-deps.sh cross
	$(MAKE) BUILD=$(CROSS_BUILD) VMLINUX_PKG=$(ARCH) $(CROSS_BUILD)/bpf/vmlinux.h
	VMLINUX_H=$(CURDIR)/$(CROSS_BUILD)/bpf/vmlinux.h scripts/deb.sh $(BUILD)/deb-$(ARCH) -a$(ARCH)
else
	scripts/deb.sh $(BUILD)/deb
endif
test-deb: deps
	DEB_DIR=$(BUILD)/deb tests/pkg/t_deb.sh

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- scale-out (issue 14, docs/scale-out.md) ---
# `make test-scale` installs the scale packages (scripts/install-deps.sh
# scale: Ceph, PostgreSQL 15, libcurl, libxml2...; root), brings up a
# single-node Ceph with radosgw and a PostgreSQL 15 in temp dirs
# (tests/scale/ceph.sh, pg.sh) and runs tests/scale/t_*.sh against them,
# then tears both down.  About 100 s and 0.2-1 GiB of RSS: not part of
# `make test`.  `make test-scale SANITIZE=1 BUILD=build-asan` runs the same
# tests under ASan+UBSan.
SCALE_PKGS   := libcurl libxml-2.0
SCALE_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(SCALE_SRCS))
SCALE_LDLIBS  = $(shell $(PKG_CONFIG) --libs $(SCALE_PKGS) 2>/dev/null)
SCALE_TESTS  := $(patsubst tests/scale/%.c,$(BUILD)/tests/scale/%,$(wildcard tests/scale/*.c))
.PHONY: scale test-scale
SCALE_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(SCALE_PKGS) 2>/dev/null)
$(SCALE_OBJS): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SCALE_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/lib/libobjstore.a: $(SCALE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@; $(AR) rcs $@ $^
$(BUILD)/tests/scale/%: tests/scale/%.c $(BUILD)/lib/libobjstore.a $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SCALE_CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(BUILD)/lib/libobjstore.a \
		$(LIBS) $(SCALE_LDLIBS) $(LDLIBS) -lcmocka
-include $(wildcard $(BUILD)/tests/scale/*.d)
# bench/objstore_bench.sh's load generator
$(BUILD)/bench/s3bench: bench/s3bench.c $(BUILD)/lib/libobjstore.a $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SCALE_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/lib/libobjstore.a \
		$(LIBS) $(SCALE_LDLIBS) $(LDLIBS)
scale: $(SCALE_TESTS) $(BUILD)/bench/s3bench
test-scale:
	@scripts/install-deps.sh scale
	$(MAKE) scale
	@rc=0; $(MAKE) fuzz-scale || rc=1; BUILD=$(abspath $(BUILD)) tests/scale/run.sh || rc=1; exit $$rc

# --- fuzzing (libFuzzer + ASan/UBSan; docs/fuzzing.md) ---
# tests/fuzz/fuzz_<t>.c is linked with just the sources FUZZ_SRC_<t> names,
# compiled with clang's fuzzer instrumentation into $(FUZZ_BUILD).
# `make fuzz FUZZ_S=60` runs every harness that long (FUZZ_SECONDS is the
# older name, still honoured; new inputs go to
# $(FUZZ_BUILD)/corpus/<t>, crashes to $(FUZZ_BUILD)/artifacts/<t>/);
# `make fuzz-smoke` replays the committed seeds in tests/fuzz/corpus/<t>.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_S       ?= $(FUZZ_SECONDS)
FUZZ_CC      ?= $(CLANG)
FUZZ_TARGETS := proto names timefmt chunktree delta ranges extract phone jsonout bundle command hostport pdu at \
                modemat vcard mmvalue mux conffile restore exwire
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror -Wshadow \
                -Wno-unused-parameter -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -I. \
                $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(FUZZ_SAN)
FUZZ_LDLIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lrsync -lpthread -lm
FUZZ_CONTENT := server/store/content.c server/store/content_delta.c server/store/content_ranges.c \
                server/store/content_zero.c server/store/content_pipe.c \
                server/store/content_read.c server/store/content_upload.c server/store/store.c \
                server/store/crc32.c server/store/store_seal.c server/store/storekey.c \
                server/store/store_batch.c server/store/store_free.c server/store/content_expire.c \
                server/store/store_filter.c server/store/store_sweep.c server/store/idset.c \
                common/clock.c common/chash.c common/chunker.c common/chunktree.c common/hex.c common/log.c \
                common/fdio.c common/buf.c common/vec.c
FUZZ_SRC_proto     := common/proto.c common/wire.c common/buf.c common/names.c common/simwire.c
FUZZ_SRC_names     := common/names.c
FUZZ_SRC_timefmt   := common/timefmt.c
FUZZ_SRC_chunktree := common/chunktree.c
FUZZ_SRC_delta     := $(FUZZ_CONTENT)
FUZZ_SRC_ranges    := $(FUZZ_CONTENT)
FUZZ_SRC_extract   := server/search/extract.c server/search/extract_sqlite.c server/search/tokenize.c common/clock.c common/log.c
FUZZ_SRC_phone     := server/search/phone.c server/search/tokenize.c
FUZZ_SRC_exwire    := server/search/exwire.c
FUZZ_SRC_jsonout   := controller/jsonout.c common/hex.c controller/cverify.c common/chash.c common/chunker.c common/chunktree.c common/timefmt.c
FUZZ_SRC_bundle    := common/bundle.c common/fdio.c common/buf.c common/tls.c common/sign.c common/names.c common/clock.c common/log.c
FUZZ_SRC_command   := common/command.c common/wire.c common/buf.c common/names.c common/sign.c common/fdio.c
FUZZ_SRC_hostport  := common/hostport.c
FUZZ_SRC_pdu       := fuse/pdu.c fuse/gsm7.c fuse/smsjoin.c fuse/ucs2.c common/hex.c
FUZZ_SRC_at        := fuse/at.c
FUZZ_SRC_modemat   := fuse/modem_atline.c fuse/modem_atfield.c fuse/ucs2.c
FUZZ_SRC_vcard     := fuse/simdoc.c fuse/simdoc_vcard.c common/buf.c
FUZZ_SRC_mmvalue   := fuse/modem_mm_msg.c common/timefmt.c
FUZZ_SRC_mux       := common/mux_frame.c
FUZZ_SRC_restore   := controller/restore.c controller/restore_tree.c controller/cverify.c \
                      controller/jsonout.c common/proto.c common/wire.c common/buf.c common/names.c \
                      common/simwire.c common/xattrs.c common/fdio.c common/clock.c common/log.c \
                      common/chash.c common/chunker.c common/chunktree.c common/hex.c common/timefmt.c
FUZZ_SRC_conffile  := common/conffile.c daemon/config.c server/config.c common/names.c common/hostport.c \
                      common/fdio.c common/buf.c
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
.PHONY: fuzz fuzz-build fuzz-smoke

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

fuzz_objs     = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_SRC_$(1)))
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $$(call fuzz_objs,$$*)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
		echo "== fuzz_$$t for $(FUZZ_S) s"; \
		$(FUZZ_BUILD)/fuzz_$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_S) \
			$$([ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict) \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
			grep -v '^#[0-9]' || { echo "fuzz_$$t FAILED"; exit 1; }; \
	done

fuzz-smoke:
	$(PAR_MAKE) fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		printf 'fuzz-smoke %-10s ' $$t; \
		$(FUZZ_BUILD)/fuzz_$$t -timeout=10 -rss_limit_mb=2048 tests/fuzz/corpus/$$t/* \
			> $(FUZZ_BUILD)/smoke-$$t.log 2>&1 || \
			{ echo FAILED; tail -40 $(FUZZ_BUILD)/smoke-$$t.log; exit 1; }; \
		echo "ok ($$(ls tests/fuzz/corpus/$$t | wc -l) inputs)"; \
	done

# The S3 client's reply parsers (tests/fuzz/fuzz_s3xml.c) need libxml2 and
# libcurl's headers from the scale packages, so they are not among
# FUZZ_TARGETS: `make fuzz-scale` replays their seeds through fuzz-smoke
# (make test-scale runs it), `make fuzz-scale FUZZ_S=300` also fuzzes them
# that long through fuzz.
FUZZ_SRC_s3xml := server/objstore/s3_xml.c
$(FUZZ_BUILD)/obj/server/objstore/s3_xml.o $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_s3xml.o: \
	FUZZ_CFLAGS += $(SCALE_CFLAGS)
$(FUZZ_BUILD)/fuzz_s3xml: FUZZ_LDLIBS += $(SCALE_LDLIBS)
.PHONY: fuzz-scale
fuzz-scale:
	$(MAKE) --no-print-directory fuzz-smoke FUZZ_TARGETS=s3xml
	@if [ "$(origin FUZZ_S)$(origin FUZZ_SECONDS)" != "filefile" ]; then \
		$(MAKE) --no-print-directory fuzz FUZZ_TARGETS=s3xml; fi

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
