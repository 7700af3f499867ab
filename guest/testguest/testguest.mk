# The freestanding test guest: build/guest/testguest.elf. Included by the top
# Makefile. Every .c and .S in guest/testguest/ is part of it.

TG_DIR	:= guest/testguest
TG_OUT	:= build/guest/testguest
TG_ELF	:= build/guest/testguest.elf
TG_SRCS	:= $(wildcard $(TG_DIR)/*.c $(TG_DIR)/*.S)

.PHONY: testguest
testguest: $(TG_ELF)

# (build rules: being written)
$(TG_ELF):
	@echo "testguest: not built yet" >&2; exit 1
