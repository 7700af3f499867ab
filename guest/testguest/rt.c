// SPDX-License-Identifier: MIT
/*
 * The test guest's runtime core: start-up from either boot protocol, the
 * boot information (command line, device tree, memory), the allocator, and
 * the way out.
 */
#include "cpu.h"
#include "rt.h"

/* struct boot_params (Linux x86 boot protocol, zero page) offsets we read. */
#define BP_E820_ENTRIES	 0x1e8 /* u8 */
#define BP_RAMDISK_IMAGE 0x218 /* u32 */
#define BP_RAMDISK_SIZE	 0x21c /* u32 */
#define BP_CMD_LINE_PTR	 0x228 /* u32 */
#define BP_SETUP_DATA	 0x250 /* u64 */
#define BP_E820_TABLE	 0x2d0 /* 20-byte packed entries */
#define BP_E820_MAX	 128
#define SETUP_DTB	 2
#define SETUP_DATA_MAX	 64 /* nodes walked at most: a looped chain must not hang us */

/* struct hvm_start_info (Xen PVH). */
#define HVM_START_MAGIC	  0x336ec578
#define HVM_VERSION	  4  /* u32 */
#define HVM_CMDLINE_PADDR 24 /* u64 */
#define HVM_MEMMAP_PADDR  40 /* u64, version >= 1 */
#define HVM_MEMMAP_COUNT  48 /* u32 */
#define HVM_MEMMAP_ENTRY  24 /* addr u64, size u64, type u32, reserved u32 */

#define MEM_TYPE_RAM	 1 /* the same in e820 and the PVH memory map */
#define FDT_MAGIC	 0xd00dfeed
#define IDENTITY_MAP_END 0x100000000ULL

#define TEST_EXIT_PORT 0x501
/*
 * From this size up tg_alloc() zeroes in ring 3: REP STOSQ in kernel mode
 * costs ~0.7 us per 8 bytes in this machine's emulator, a trip to ring 3 and
 * back ~120 us, and ring 3 zeroes at native speed.
 */
#define ZERO_IN_USER_MIN (16 * 1024)

static char cmdline[4096];
static const void *dtb;
static uint64_t heap_start, heap_cur, heap_end;

void tg_start(void);

static uint32_t rd32(uint64_t a)
{
	return *(const uint32_t *)a;
}

static uint64_t rd64(uint64_t a)
{
	return *(const uint64_t *)a;
}

/* A private copy: the boot loader's copy may sit where the allocator hands out memory. */
static void cmdline_copy(uint64_t addr)
{
	if (!addr)
		return;
	for (size_t i = 0; i + 1 < sizeof(cmdline); i++) {
		cmdline[i] = *(const char *)(addr + i);
		if (!cmdline[i])
			return;
	}
	tg_panic("command line longer than %zu bytes", sizeof(cmdline) - 1);
}

/* The RAM block the image sits in becomes the heap, from the image's end up. */
static void mem_range(uint64_t addr, uint64_t size, uint32_t type)
{
	uint64_t start = (uintptr_t)tg_image_start, end = (uintptr_t)tg_image_end;

	if (type != MEM_TYPE_RAM || addr > start || addr + size < end)
		return;
	heap_start = heap_cur = end;
	heap_end = TG_MIN(addr + size, IDENTITY_MAP_END);
}

static bool fdt_magic_ok(uint64_t addr)
{
	return __builtin_bswap32(rd32(addr)) == FDT_MAGIC;
}

static void boot_params_parse(uint64_t bp)
{
	uint64_t sd = rd64(bp + BP_SETUP_DATA);
	uint64_t rd_start = rd32(bp + BP_RAMDISK_IMAGE), rd_size = rd32(bp + BP_RAMDISK_SIZE);
	unsigned int n = *(const uint8_t *)(bp + BP_E820_ENTRIES);

	cmdline_copy(rd32(bp + BP_CMD_LINE_PTR));
	/* setup_data node: next u64, type u32, len u32, then the data. */
	for (int i = 0; sd && i < SETUP_DATA_MAX; i++, sd = rd64(sd)) {
		if (rd32(sd + 8) == SETUP_DTB && fdt_magic_ok(sd + 16))
			dtb = (const void *)(sd + 16);
	}
	for (unsigned int i = 0; i < TG_MIN(n, BP_E820_MAX); i++) {
		uint64_t e = bp + BP_E820_TABLE + 20 * i;

		mem_range(rd64(e), rd64(e + 8), rd32(e + 16));
	}
	/* An initrd at the top of RAM (the VMM's --initrd) is not ours to hand out. */
	if (rd_size && rd_start >= heap_start && rd_start < heap_end)
		heap_end = rd_start & ~(TG_PAGE_SIZE - 1);
}

static void pvh_parse(uint64_t si)
{
	uint64_t map;

	if (rd32(si) != HVM_START_MAGIC)
		tg_panic("PVH start info at 0x%lx has magic 0x%x", si, rd32(si));
	cmdline_copy(rd64(si + HVM_CMDLINE_PADDR));
	if (rd32(si + HVM_VERSION) < 1)
		tg_panic("PVH start info version 0 carries no memory map");
	map = rd64(si + HVM_MEMMAP_PADDR);
	for (uint32_t i = 0; map && i < rd32(si + HVM_MEMMAP_COUNT); i++) {
		uint64_t e = map + HVM_MEMMAP_ENTRY * i;

		mem_range(rd64(e), rd64(e + 8), rd32(e + 16));
	}
}

/* Called by entry.S on our stack, GDT and page tables, interrupts off. */
void tg_start(void)
{
	tg_cpu_init(); /* first: a fault while parsing is then reported, not a triple fault */
	if (tg_boot_pvh)
		pvh_parse(tg_boot_info);
	else
		boot_params_parse(tg_boot_info);
	if (!heap_end)
		tg_panic("the memory map has no RAM block holding the image (0x%lx-0x%lx)",
			 (uintptr_t)tg_image_start, (uintptr_t)tg_image_end);
	tg_clock_init();
	tg_exit(tg_main());
}

void tg_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void tg_exit(int status)
{
	tg_outb(TEST_EXIT_PORT, (uint8_t)status);
	tg_halt();
}

void tg_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	tg_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_puts("tg: panic: ");
	tg_puts(msg);
	tg_putc('\n');
	tg_exit(99);
}

const char *tg_cmdline(void)
{
	return cmdline;
}

const void *tg_dtb(void)
{
	return dtb;
}

bool tg_booted_pvh(void)
{
	return tg_boot_pvh;
}

uint64_t tg_ram_top(void)
{
	return heap_end;
}

struct zero_job {
	void *p;
	size_t n;
};

static long zero_in_user(void *arg)
{
	struct zero_job *job = arg;

	memset(job->p, 0, job->n);
	return 0;
}

void *tg_alloc(size_t size, size_t align)
{
	uint64_t start;

	if (align < 8)
		align = 8;
	if (align & (align - 1))
		tg_panic("tg_alloc: alignment %zu is not a power of two", align);
	start = TG_ALIGN_UP(heap_cur, align);
	if (start < heap_cur || start > heap_end || size > heap_end - start)
		tg_panic("out of memory: %zu bytes wanted, 0x%lx-0x%lx in use", size, heap_start,
			 heap_cur);
	heap_cur = start + size;
	if (size >= ZERO_IN_USER_MIN && !tg_in_user()) {
		struct zero_job job = {(void *)start, size};

		tg_run_user(zero_in_user, &job);
		return job.p;
	}
	return memset((void *)start, 0, size);
}

uintptr_t tg_alloc_mark(void)
{
	return heap_cur;
}

void tg_alloc_release(uintptr_t mark)
{
	if (mark < heap_start || mark > heap_cur)
		tg_panic("tg_alloc_release: 0x%lx is not a mark (heap 0x%lx-0x%lx)", mark,
			 heap_start, heap_cur);
	heap_cur = mark;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * The next word of the command line from *@pos: Linux splits on blanks
 * outside double quotes. Sets [*@start, *@pos) to it; false at the end.
 */
static bool next_word(size_t *pos, size_t *start)
{
	size_t i = *pos;
	bool quoted = false;

	while (is_space(cmdline[i]))
		i++;
	if (!cmdline[i])
		return false;
	*start = i;
	for (; cmdline[i] && (quoted || !is_space(cmdline[i])); i++) {
		if (cmdline[i] == '"')
			quoted = !quoted;
	}
	*pos = i;
	return true;
}

/* Is [@w, @end) NAME or NAME=VALUE? Copies VALUE (quotes dropped, "" for a bare NAME). */
static bool word_match(const char *w, const char *end, const char *name, char *val, size_t len)
{
	size_t n = strlen(name), out = 0;

	if ((size_t)(end - w) < n || strncmp(w, name, n) || (w + n < end && w[n] != '='))
		return false;
	for (w += n + (w + n < end); w < end && val && out + 1 < len; w++) {
		if (*w != '"')
			val[out++] = *w;
	}
	if (val && len)
		val[out] = '\0';
	return true;
}

bool tg_param_next(const char *name, size_t *pos, char *val, size_t len)
{
	size_t start;

	while (next_word(pos, &start)) {
		if (word_match(cmdline + start, cmdline + *pos, name, val, len))
			return true;
	}
	return false;
}

bool tg_param(const char *name, char *val, size_t len)
{
	size_t pos = 0;
	bool found = false;

	/* Each match overwrites @val: the last one wins. */
	while (tg_param_next(name, &pos, val, len))
		found = true;
	return found;
}
