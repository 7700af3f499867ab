// SPDX-License-Identifier: MIT
#include <string.h>

#include "core/boot.h"
#include "core/error.h"
#include "core/layout.h"
#include "core/util.h"

#define E820_RAM      1
#define E820_RESERVED 2

#define PTE_PRESENT BIT(0)
#define PTE_WRITE   BIT(1)
#define PTE_HUGE    BIT(7)

/*
 * Join the non-empty @parts with single spaces. Fails rather than truncates:
 * a cut-off command line would boot a different system than the user asked for.
 */
int cmdline_build(char *out, size_t size, const char *const parts[], unsigned int n)
{
	size_t len = 0;

	if (!size)
		return set_error("kernel command line buffer is empty");
	out[0] = '\0';
	for (unsigned int i = 0; i < n; i++) {
		size_t plen;

		if (!parts[i] || !parts[i][0])
			continue;
		plen = strlen(parts[i]);
		if (len + !!len + plen + 1 > size)
			return set_error("kernel command line too long (limit %zu bytes)",
					 size - 1);
		if (len)
			out[len++] = ' ';
		memcpy(out + len, parts[i], plen + 1);
		len += plen;
	}
	return 0;
}

/*
 * Does @cmdline set the kernel parameter @key ("root" matches "root=/dev/x"
 * or a bare "root", not "vmmtest.root=x" or "rootwait")? Linux splits its
 * command line on spaces and tabs.
 */
bool cmdline_has_param(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; p && *p; p += strcspn(p, " \t")) {
		p += strspn(p, " \t");
		if (!strncmp(p, key, klen) && strchr("= \t", p[klen]))
			return true;
	}
	return false;
}

static int e820_add(struct boot_e820_entry *table, unsigned int *n, unsigned int max, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (*n >= max)
		return set_error("e820 table full");
	table[(*n)++] = (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
	return 0;
}

/*
 * The PC map Linux expects: conventional RAM up to the EBDA, the legacy
 * area reserved up to 1 MiB, then each RAM region; the MMIO hole is simply
 * absent. Returns the number of entries.
 */
int e820_build(const struct guest_mem *mem, struct boot_e820_entry *table, unsigned int max)
{
	unsigned int n = 0;

	if (e820_add(table, &n, max, 0, LOW_RAM_END, E820_RAM) < 0 ||
	    e820_add(table, &n, max, LOW_RAM_END, HIGH_RAM_START - LOW_RAM_END, E820_RESERVED) < 0)
		return -1;
	for (unsigned int i = 0; i < mem->nr; i++) {
		uint64_t start = MAX(mem->region[i].gpa, HIGH_RAM_START);
		uint64_t end = mem->region[i].gpa + mem->region[i].size;

		if (end > start && e820_add(table, &n, max, start, end - start, E820_RAM) < 0)
			return -1;
	}
	return (int)n;
}

/* A GDT descriptor in the layout of the SDM: flags are access byte | G/DB/L nibble << 12. */
uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

static int write_gdt(const struct guest_mem *mem)
{
	uint64_t gdt[] = {
	    [0] = 0,
	    [1] = 0,
	    [BOOT_CS / 8] = boot_gdt_entry(0xa09b, 0, 0xfffff),	 /* 64-bit code */
	    [BOOT_DS / 8] = boot_gdt_entry(0xc093, 0, 0xfffff),	 /* flat data */
	    [BOOT_TSS / 8] = boot_gdt_entry(0x008b, 0, 0xfffff), /* busy TSS */
	};

	return guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

/* Identity-map the first 4 GiB with 2 MiB pages: enough for any boot structure. */
static int write_page_tables(const struct guest_mem *mem)
{
	uint64_t *pml4 = gpa_to_hva(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = gpa_to_hva(mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = gpa_to_hva(mem, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return set_error("no room for boot page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	return 0;
}

/* Append one setup_data node at *@at and link it from *@link. */
static int setup_data_add(const struct guest_mem *mem, uint64_t *at, uint64_t *link, uint32_t type,
			  const void *data, size_t len)
{
	struct setup_data *sd;
	uint64_t addr = ALIGN_UP(*at, 8);

	if (addr + sizeof(*sd) + len > BOOT_SETUP_DATA_END)
		return set_error("setup_data (device tree) too large: %zu bytes", len);
	sd = gpa_to_hva(mem, addr, sizeof(*sd) + len);
	if (!sd)
		return set_error("no room for setup_data");
	sd->next = 0;
	sd->type = type;
	sd->len = len;
	memcpy(sd->data, data, len);
	*link = addr;
	*at = addr + sizeof(*sd) + len;
	return 0;
}

static int write_setup_data(const struct guest_mem *mem, const struct boot_setup *bs,
			    struct boot_params *bp)
{
	uint64_t at = BOOT_SETUP_DATA_ADDR, seed = 0, dtb = 0;

	/* Linked in order: boot_params -> RNG seed -> device tree. */
	if (bs->rng_seed &&
	    setup_data_add(mem, &at, &seed, SETUP_RNG_SEED, bs->rng_seed, BOOT_RNG_SEED_SIZE) < 0)
		return -1;
	if (bs->dtb && setup_data_add(mem, &at, &dtb, SETUP_DTB, bs->dtb, bs->dtb_size) < 0)
		return -1;
	if (seed)
		((struct setup_data *)gpa_to_hva(mem, seed, sizeof(struct setup_data)))->next = dtb;
	bp->hdr.setup_data = seed ? seed : dtb;
	return 0;
}

static int write_cmdline(const struct guest_mem *mem, const struct boot_setup *bs,
			 struct boot_params *bp)
{
	size_t len = strlen(bs->cmdline);
	size_t limit = MIN((size_t)bs->kernel->hdr.cmdline_size, BOOT_CMDLINE_MAX - 1);

	if (len > limit)
		return set_error("kernel command line too long (%zu bytes, this kernel takes %zu)",
				 len, limit);
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;
	return guest_mem_write(mem, BOOT_CMDLINE_ADDR, bs->cmdline, len + 1);
}

int boot_write(const struct guest_mem *mem, const struct boot_setup *bs)
{
	struct boot_params *bp = gpa_to_hva(mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	int n;

	if (!bp)
		return set_error("no room for boot_params");
	memset(bp, 0, sizeof(*bp));
	bp->hdr = bs->kernel->hdr;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.ramdisk_image = bs->initrd_addr;
	bp->hdr.ramdisk_size = bs->initrd_size;
	bp->hdr.setup_data = 0;
	n = e820_build(mem, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return -1;
	bp->e820_entries = n;
	if (write_cmdline(mem, bs, bp) < 0 || write_setup_data(mem, bs, bp) < 0 ||
	    write_gdt(mem) < 0 || write_page_tables(mem) < 0)
		return -1;
	return 0;
}
