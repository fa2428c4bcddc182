# vigil — top-level build.  `make` builds every program into build/bin/.
# Each part's non-main sources become a static library so unit tests can link
# any module; adding a .c file to a folder needs no change here.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
VMLINUX_H ?=

PKGS    := openssl sqlite3 libzstd fuse3 libbpf jansson liburing
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
           -I. -I$(BUILD)/bpf $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lrsync -lpthread -lm
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PARTS    := common server daemon controller fuse
src_of    = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
obj_of    = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
LIBS     := $(BUILD)/lib/libserver.a $(BUILD)/lib/libdaemon.a \
            $(BUILD)/lib/libcontroller.a $(BUILD)/lib/libfuse.a $(BUILD)/lib/libcommon.a
BINS     := $(BUILD)/bin/vigil-server $(BUILD)/bin/vigild $(BUILD)/bin/vigil
ifneq ($(wildcard fuse/main.c),)
BINS     += $(BUILD)/bin/vigil-simfs
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.SECONDEXPANSION:
.PHONY: all deps test unit integration demo bench install clean
all: $(BINS)

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Only the daemon includes BPF skeletons (explicit, so a failure is loud).
$(call obj_of,daemon) $(BUILD)/obj/daemon/main.o: $(BPF_SKELS)

$(BUILD)/obj/empty.o:
	@mkdir -p $(dir $@); echo 'typedef int vigil_empty_unit;' | $(CC) -x c -c -o $@ -

$(BUILD)/lib/lib%.a: $$(call obj_of,%) | $(BUILD)/obj/empty.o
	@mkdir -p $(dir $@)
	rm -f $@; ar rcs $@ $(or $^,$(BUILD)/obj/empty.o)

$(BUILD)/bin/vigil-server: $(BUILD)/obj/server/main.o $(LIBS)
$(BUILD)/bin/vigild: $(BUILD)/obj/daemon/main.o $(LIBS)
$(BUILD)/bin/vigil: $(BUILD)/obj/controller/main.o $(LIBS)
$(BUILD)/bin/vigil-simfs: $(BUILD)/obj/fuse/main.o $(LIBS)
$(BINS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# --- BPF: vmlinux.h from the running kernel's BTF unless VMLINUX_H names one ---
$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	if [ -n "$(VMLINUX_H)" ]; then cp "$(VMLINUX_H)" $@; \
	else $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@; fi

ARCH_BPF := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
$(BPF_SKELS:.skel.h=.bpf.o): $(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/events.h $(BUILD)/bpf/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH_BPF) -I$(BUILD)/bpf -I. -c $< -o $@

$(BPF_SKELS): $(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# --- tests ---
$(BUILD)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

integration: all
	tests/integration/run-all.sh

test: deps
	$(MAKE) all $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) integration

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench: deps
	$(MAKE) all
	bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/vigil/kconfig
	install -m 0644 kconfig/vigil.config $(DESTDIR)$(PREFIX)/share/vigil/kconfig/
	install -m 0755 kconfig/check $(DESTDIR)$(PREFIX)/share/vigil/kconfig/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
