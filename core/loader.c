// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/layout.h"
#include "core/loader.h"
#include "core/util.h"

#define BOOT_FLAG_MAGIC 0xaa55
#define HDRS_MAGIC	0x53726448 /* "HdrS" */

int file_map(const char *path, const char *what, struct file_buf *fb)
{
	struct stat st;
	int fd = open_file_checked(path, O_RDONLY, false, &st);

	fb->data = NULL;
	fb->size = 0;
	if (fd == -1)
		return set_error("cannot open %s '%s': %s", what, path, strerror(errno));
	if (fd < 0)
		return set_error("%s '%s' is not a regular file", what, path);
	if (st.st_size == 0) {
		close(fd);
		return set_error("%s '%s' is empty", what, path);
	}
	fb->data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (fb->data == MAP_FAILED) {
		fb->data = NULL;
		return set_error("cannot read %s '%s': %s", what, path, strerror(errno));
	}
	fb->size = st.st_size;
	return 0;
}

void file_unmap(struct file_buf *fb)
{
	if (fb->data)
		munmap(fb->data, fb->size);
	fb->data = NULL;
}

bool is_bzimage(const uint8_t *img, size_t size)
{
	uint16_t flag;
	uint32_t magic;

	if (size < 0x206)
		return false;
	memcpy(&flag, img + 0x1fe, sizeof(flag));
	memcpy(&magic, img + 0x202, sizeof(magic));
	return flag == BOOT_FLAG_MAGIC && magic == HDRS_MAGIC;
}

/* Validate the setup header and work out where the protected-mode payload is. */
int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info)
{
	struct setup_header *h = &info->hdr;
	size_t hdr_len;
	unsigned int sects;

	memset(info, 0, sizeof(*info));
	if (!is_bzimage(img, size))
		return set_error("not a bzImage (no boot protocol header)");
	/* The header runs to the end of the jump at 0x200, whose offset byte is at 0x201. */
	hdr_len = MIN(sizeof(*h), (size_t)0x202 + img[0x201] - SETUP_HEADER_OFFSET);
	if (SETUP_HEADER_OFFSET + hdr_len > size)
		return set_error("bzImage truncated inside its setup header");
	memcpy(h, img + SETUP_HEADER_OFFSET, hdr_len);
	if (h->version < BZIMAGE_MIN_VERSION)
		return set_error("bzImage boot protocol %u.%02u too old (need 2.12)",
				 h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return set_error("bzImage has no 64-bit entry point");
	if (!(h->loadflags & LOADED_HIGH))
		return set_error("bzImage is not loaded high (zImage is not supported)");
	sects = h->setup_sects ? h->setup_sects : 4;
	info->setup_size = (size_t)(sects + 1) * 512;
	if (info->setup_size >= size)
		return set_error("bzImage truncated: no protected-mode code after the setup");
	info->init_size = MAX((uint64_t)h->init_size, (uint64_t)(size - info->setup_size));
	return 0;
}

static int bzimage_load(const uint8_t *img, size_t size, const struct guest_mem *mem,
			struct kernel_image *k)
{
	struct bzimage_info info;
	size_t payload;

	if (bzimage_parse(img, size, &info) < 0)
		return -1;
	payload = size - info.setup_size;
	/* The kernel decompresses in place and needs init_size bytes from its load address. */
	if (!gpa_to_hva(mem, BZIMAGE_LOAD_ADDR, info.init_size))
		return set_error("kernel needs %llu MiB from 1 MiB but guest memory is too small",
				 (unsigned long long)(info.init_size >> 20) + 1);
	guest_mem_write(mem, BZIMAGE_LOAD_ADDR, img + info.setup_size, payload);
	k->is_bzimage = true;
	k->hdr = info.hdr;
	k->entry = BZIMAGE_LOAD_ADDR + 0x200;
	k->load_start = BZIMAGE_LOAD_ADDR;
	k->load_end = BZIMAGE_LOAD_ADDR + info.init_size;
	return 0;
}

static int elf_check_header(const Elf64_Ehdr *eh, size_t size)
{
	uint64_t ph_end;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return set_error("ELF kernel is not 64-bit little-endian");
	if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return set_error("ELF kernel is not an x86-64 executable");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
		return set_error("ELF kernel has no usable program headers");
	if (range_end_overflows(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &ph_end) ||
	    ph_end > size)
		return set_error("ELF kernel truncated: program headers past end of file");
	return 0;
}

/* A PT_LOAD segment must come from inside the file and land inside guest RAM. */
static int elf_check_segment(const Elf64_Phdr *ph, size_t size, const struct guest_mem *mem)
{
	uint64_t file_end;

	if (ph->p_filesz > ph->p_memsz)
		return set_error("ELF segment at 0x%llx has file size above memory size",
				 (unsigned long long)ph->p_paddr);
	if (range_end_overflows(ph->p_offset, ph->p_filesz, &file_end) || file_end > size)
		return set_error("ELF kernel truncated: segment data past end of file");
	if (ph->p_paddr < HIGH_RAM_START || !gpa_to_hva(mem, ph->p_paddr, ph->p_memsz))
		return set_error("ELF segment 0x%llx+0x%llx does not fit in guest memory",
				 (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	return 0;
}

/* The setup header a bzImage would have carried, for the fields Linux reads. */
static void elf_fake_header(struct setup_header *h)
{
	memset(h, 0, sizeof(*h));
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->header = HDRS_MAGIC;
	h->version = 0x20f;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = ELF_INITRD_ADDR_MAX;
	h->cmdline_size = ELF_CMDLINE_SIZE - 1;
	h->kernel_alignment = 0x1000000;
	h->xloadflags = XLF_KERNEL_64;
}

/* Program headers may sit at any file offset: read each through an aligned copy. */
static Elf64_Phdr elf_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, img + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

/*
 * Check every PT_LOAD segment, their overlaps and the entry before writing
 * anything. A kernel has a handful of loadable segments; more than
 * ELF_MAX_LOADS is refused before the pairwise overlap check, which would
 * otherwise be quadratic in a hostile file's 65535 program headers.
 */
static int elf_check_segments(const uint8_t *img, size_t size, const Elf64_Ehdr *eh,
			      const struct guest_mem *mem)
{
	Elf64_Phdr loads[ELF_MAX_LOADS];
	unsigned int n = 0;
	bool entry_loaded = false;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(img, eh, i);

		if (ph.p_type != PT_LOAD)
			continue;
		if (n == ELF_MAX_LOADS)
			return set_error("ELF kernel has more than %d loadable segments",
					 ELF_MAX_LOADS);
		if (elf_check_segment(&ph, size, mem) < 0)
			return -1;
		for (unsigned int j = 0; j < n; j++) {
			if (ranges_overlap(loads[j].p_paddr, loads[j].p_memsz, ph.p_paddr,
					   ph.p_memsz))
				return set_error("ELF segments at 0x%llx and 0x%llx overlap",
						 (unsigned long long)loads[j].p_paddr,
						 (unsigned long long)ph.p_paddr);
		}
		if (eh->e_entry >= ph.p_paddr && eh->e_entry - ph.p_paddr < ph.p_memsz)
			entry_loaded = true;
		loads[n++] = ph;
	}
	if (!entry_loaded)
		return set_error("ELF entry point 0x%llx is outside every loaded segment",
				 (unsigned long long)eh->e_entry);
	return 0;
}

int elf_load(const uint8_t *img, size_t size, const struct guest_mem *mem, struct kernel_image *k)
{
	Elf64_Ehdr eh;

	if (size < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG))
		return set_error("not an ELF file");
	memcpy(&eh, img, sizeof(eh));
	if (elf_check_header(&eh, size) < 0 || elf_check_segments(img, size, &eh, mem) < 0)
		return -1;
	k->load_start = UINT64_MAX;
	k->load_end = 0;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = elf_phdr(img, &eh, i);
		uint8_t *dst;

		if (ph.p_type != PT_LOAD)
			continue;
		dst = gpa_to_hva(mem, ph.p_paddr, ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		k->load_start = MIN(k->load_start, ph.p_paddr);
		k->load_end = MAX(k->load_end, ph.p_paddr + ph.p_memsz);
	}
	k->is_bzimage = false;
	k->entry = eh.e_entry;
	elf_fake_header(&k->hdr);
	return 0;
}

int kernel_load(const uint8_t *img, size_t size, const struct guest_mem *mem,
		struct kernel_image *k)
{
	memset(k, 0, sizeof(*k));
	if (size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return elf_load(img, size, mem, k);
	if (is_bzimage(img, size))
		return bzimage_load(img, size, mem, k);
	return set_error("not a Linux kernel (neither a bzImage nor an ELF vmlinux)");
}

/*
 * Put the initrd as high in low memory as the kernel allows, page aligned,
 * and above the kernel so that neither overwrites the other.
 */
int initrd_load(const uint8_t *data, size_t size, const struct guest_mem *mem,
		const struct kernel_image *k, uint64_t *addr)
{
	uint64_t top = MIN(guest_mem_low_end(mem), (uint64_t)k->hdr.initrd_addr_max + 1);

	if (size > top || ALIGN_DOWN(top - size, 4096) < k->load_end)
		return set_error("initrd of %zu KiB does not fit in guest memory", size >> 10);
	*addr = ALIGN_DOWN(top - size, 4096);
	return guest_mem_write(mem, *addr, data, size);
}
