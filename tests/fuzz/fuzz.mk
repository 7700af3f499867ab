# Coverage-guided fuzzing with libFuzzer (clang, ASan + UBSan). Included by
# the top Makefile. make fuzz [FUZZ_SECONDS=60]: every harness in turn, one
# summary line each (executions, coverage, crashes); non-zero if any crashed.
# The committed seed corpora (tests/fuzz/corpus/NAME/, written by
# make-seeds.py) are copied and never written; crashes go to
# build/fuzz/artifacts/.

FUZZ_CC	     ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The one GNU extension gcc takes silently: a kvm_msrs header before its entries (vcpu.c).
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-gnu-variable-sized-type-not-at-end \
	-D_GNU_SOURCE -I. $(FUZZ_SAN)
FUZZ_NAMES   := virtqueue virtio_mmio_blk blk_requests net net_user uart_legacy loaders cli p9 api
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/%)
FUZZ_OBJS    := $(VMM_SRCS:%.c=build/fuzz/obj/%.o) build/fuzz/obj/tests/fuzz/fuzz_util.o

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# The harnesses' own checks are neither coverage-guided nor sanitized: their
# byte-by-byte comparisons of guest RAM would otherwise take most of the time
# and feed the fuzzer branches that say nothing about the VMM.
build/fuzz/obj/tests/fuzz/fuzz_util.o: tests/fuzz/fuzz_util.c tests/fuzz/fuzz_util.h
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. -c -o $@ $<

build/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

# Kept between builds: the harnesses share them.
.SECONDARY: $(FUZZ_OBJS)
.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

# One harness at a time: the machine's CPUs are shared.
fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)
