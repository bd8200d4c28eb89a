# pwhy — packet, why?
#
#   make deps        install the Debian packages pwhy needs to build and test
#   make             build ./pwhy
#   make demo        build, then run pwhy on a built-in scenario in throwaway namespaces
#   make test        unit tests + scenario lab here, then the kernel matrix in QEMU
#   make test-host   unit tests + scenario lab on the running kernel only
#   make bench       throughput/latency ratios against the untraced baseline
#   make san         pwhy, unit tests and tools with ASan+UBSan into build-san/
#   make fuzz        libFuzzer targets (tests/fuzz/) into build-fuzz/

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
STRIP   ?= llvm-strip

BUILD   ?= build
BIN     ?= pwhy
ARCH    := x86

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
	   -Iinclude -I$(BUILD) -D_GNU_SOURCE $(EXTRA_CFLAGS)
LDLIBS  := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lpcap -lpthread

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Wno-unused-function -Iinclude -Ibpf -I$(BUILD)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS   := $(wildcard src/*.c src/*/*.c)
CMD_SRCS   := $(wildcard cmd/*.c)
LIB_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
CMD_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(CMD_SRCS))
HDRS       := $(wildcard include/pwhy/*.h src/*.h src/*/*.h)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

.SECONDARY:
.PHONY: all deps demo test test-host test-unit bench clean vmlinux tools unit san fuzz fuzz-targets
all: $(BIN) tools unit

$(BIN): $(CMD_OBJS) $(BUILD)/libpwhy.a
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJS) $(BUILD)/libpwhy.a $(LDLIBS)

$(BUILD)/libpwhy.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# User space objects depend on the skeletons (loader files include them).
$(BUILD)/%.o: %.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/pwhy/*.h) bpf/vmlinux.h
	@mkdir -p $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

tools: $(TOOL_BINS)
$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

unit: $(UNIT_BINS)
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpwhy.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libpwhy.a $(LDLIBS)

# Sanitized and fuzzing builds: the same sources with clang into their own directories, so the
# normal build is never touched. Any sanitizer report is fatal (no recovery).
SAN_FLAGS  := -Wno-unknown-warning-option -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
san:
	$(MAKE) BUILD=build-san BIN=build-san/pwhy CC=$(CLANG) \
		EXTRA_CFLAGS="$(SAN_FLAGS) -fsanitize=address,undefined" all

FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
fuzz:
	$(MAKE) BUILD=build-fuzz BIN=build-fuzz/pwhy CC=$(CLANG) \
		EXTRA_CFLAGS="$(SAN_FLAGS) -fsanitize=fuzzer-no-link,address,undefined" fuzz-targets
fuzz-targets: $(FUZZ_BINS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libpwhy.a $(HDRS) $(wildcard tests/fuzz/*.h) tests/unit/json_check.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -Itests/unit -o $@ $< $(BUILD)/libpwhy.a $(LDLIBS)

# vmlinux.h is checked in (generated from a 6.18 kernel's BTF): CO-RE relocates every field
# access at load time, and a fixed header keeps builds identical on every machine.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

deps:
	tests/install-deps.sh

demo: all
	tests/demo.sh

test: all san fuzz
	tests/run-all.sh

test-host: all
	tests/run-host.sh

test-unit: unit
	tests/run-host.sh --unit-only

bench: all
	bench/run.sh

clean:
	rm -rf $(BUILD) pwhy build-san build-fuzz
