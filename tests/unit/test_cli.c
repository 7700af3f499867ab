// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>

#include "core/cli.h"
#include "core/memory.h"
#include "core/options.h"
#include "core/util.h"
#include "core/vcpu.h"
#include "tests/unit/suites.h"

static struct vmm_config cfg;

/* cli_parse() on "vmm" followed by the given arguments. */
#define PARSE(...) parse_args((const char *[]){"vmm", __VA_ARGS__, NULL})

static int parse_args(const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	clear_error();
	return cli_parse(argc, (char *const *)argv, &cfg);
}

static uint64_t size_of(const char *s)
{
	uint64_t v = 0xdeadbeef;

	clear_error();
	ck_assert_msg(parse_size(s, &v) == 0, "parse_size(\"%s\") failed: %s", s, last_error());
	return v;
}

static void assert_bad_size(const char *s)
{
	uint64_t v;

	ck_assert_fails_with(parse_size(s, &v), "bad size");
}

START_TEST(size_plain_bytes)
{
	ck_assert_uint_eq(size_of("0"), 0);
	ck_assert_uint_eq(size_of("4096"), 4096);
	ck_assert_uint_eq(size_of("18446744073709551615"), UINT64_MAX);
}
END_TEST

START_TEST(size_suffixes)
{
	ck_assert_uint_eq(size_of("4K"), 4 * KiB);
	ck_assert_uint_eq(size_of("3M"), 3 * MiB);
	ck_assert_uint_eq(size_of("2G"), 2 * GiB);
	ck_assert_uint_eq(size_of("1T"), 1ULL << 40);
	ck_assert_uint_eq(size_of("65536K"), 64 * MiB);
}
END_TEST

START_TEST(size_lowercase_suffixes)
{
	ck_assert_uint_eq(size_of("4k"), 4 * KiB);
	ck_assert_uint_eq(size_of("3m"), 3 * MiB);
	ck_assert_uint_eq(size_of("2g"), 2 * GiB);
	ck_assert_uint_eq(size_of("1t"), 1ULL << 40);
}
END_TEST

START_TEST(size_byte_suffix)
{
	ck_assert_uint_eq(size_of("64MB"), 64 * MiB);
	ck_assert_uint_eq(size_of("2Gb"), 2 * GiB);
	ck_assert_uint_eq(size_of("8kB"), 8 * KiB);
	assert_bad_size("64MBB");
	assert_bad_size("64BM");
}
END_TEST

/* 2^64 - 2^40 is the largest whole number of TiB that fits in 64 bits. */
START_TEST(size_overflow)
{
	ck_assert_uint_eq(size_of("16777215T"), UINT64_MAX - ((1ULL << 40) - 1));
	assert_bad_size("16777216T");
	assert_bad_size("99999999999T");
	assert_bad_size("17179869184G");
	assert_bad_size("18446744073709551616");
	assert_bad_size("99999999999999999999999");
}
END_TEST

START_TEST(size_empty_and_garbage)
{
	uint64_t v;

	assert_bad_size("");
	assert_bad_size("12X");
	ck_assert_error("12X");
	assert_bad_size("-1");
	assert_bad_size("+1");
	assert_bad_size(" 1");
	assert_bad_size("M");
	assert_bad_size("1.5G");
	assert_bad_size("4KX");
	assert_bad_size("4 K");
	ck_assert_fails_with(parse_size(NULL, &v), "bad size");
}
END_TEST

START_TEST(defaults)
{
	ck_assert_int_eq(PARSE("--kernel", "vmlinux"), 0);
	ck_assert_str_eq(cfg.kernel, "vmlinux");
	ck_assert_uint_eq(cfg.mem, 256 * MiB);
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_ptr_null(cfg.cmdline);
	ck_assert_ptr_null(cfg.dump_dtb);
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert(!cfg.mptable && !cfg.help && !cfg.version && !cfg.no_eventfd);
}
END_TEST

START_TEST(separate_values)
{
	ck_assert_int_eq(PARSE("--kernel", "bzImage", "--initrd", "initrd.cpio", "--cmdline",
			       "quiet loglevel=3", "--mem", "512M", "--cpus", "4", "--mptable"),
			 0);
	ck_assert_str_eq(cfg.kernel, "bzImage");
	ck_assert_str_eq(cfg.initrd, "initrd.cpio");
	ck_assert_str_eq(cfg.cmdline, "quiet loglevel=3");
	ck_assert_uint_eq(cfg.mem, 512 * MiB);
	ck_assert_uint_eq(cfg.cpus, 4);
	ck_assert(cfg.mptable);
}
END_TEST

/* Only the first '=' separates: the command line itself is full of them. */
START_TEST(inline_values)
{
	ck_assert_int_eq(PARSE("--kernel=bzImage", "--initrd=rd", "--cmdline=console=ttyS0 a=b",
			       "--mem=1G", "--cpus=2"),
			 0);
	ck_assert_str_eq(cfg.kernel, "bzImage");
	ck_assert_str_eq(cfg.initrd, "rd");
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 a=b");
	ck_assert_uint_eq(cfg.mem, GiB);
	ck_assert_uint_eq(cfg.cpus, 2);
}
END_TEST

START_TEST(later_option_wins)
{
	ck_assert_int_eq(PARSE("--kernel", "a", "--mem", "64M", "--kernel=b", "--mem=32M"), 0);
	ck_assert_str_eq(cfg.kernel, "b");
	ck_assert_uint_eq(cfg.mem, 32 * MiB);
}
END_TEST

START_TEST(cpus_bounds)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--cpus", "1"), 0);
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_int_eq(PARSE("--kernel", "k", "--cpus", "32"), 0);
	ck_assert_uint_eq(cfg.cpus, VMM_MAX_CPUS);
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "0"), "--cpus");
	ck_assert_error("'0'");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "33"), "--cpus");
	ck_assert_error("'33'");
}
END_TEST

START_TEST(cpus_not_a_number)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "abc"), "bad count 'abc'");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "2x"), "bad count '2x'");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", ""), "--cpus");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "-1"), "--cpus");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus", "18446744073709551617"), "--cpus");
}
END_TEST

START_TEST(mem_bad_size)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem", "lots"), "--mem: bad size 'lots'");
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem=12X"), "--mem: bad size");
}
END_TEST

START_TEST(mem_too_small)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem", "8M"), "--mem: ");
	ck_assert_error("out of range");
	ck_assert_int_eq(PARSE("--kernel", "k", "--mem", "16M"), 0);
	ck_assert_uint_eq(cfg.mem, GUEST_MEM_MIN);
}
END_TEST

START_TEST(mem_not_page_multiple)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem", "16777217"), "--mem: ");
	ck_assert_error("multiple of 4 KiB");
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem", "16386K"), "multiple of 4 KiB");
	ck_assert_int_eq(PARSE("--kernel", "k", "--mem", "16388K"), 0);
	ck_assert_uint_eq(cfg.mem, 16388 * KiB);
}
END_TEST

START_TEST(disk_path)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "root.img"), 0);
	ck_assert_uint_eq(cfg.ndisks, 1);
	ck_assert_str_eq(cfg.disks[0].path, "root.img");
	ck_assert(!cfg.disks[0].ro);
	ck_assert_ptr_null(cfg.disks[0].serial);
	ck_assert_int_eq(cfg.disks[0].io, DISK_IO_AUTO);
	ck_assert_uint_eq(cfg.disks[0].poll_us, BLK_POLL_US_DEFAULT);
}
END_TEST

START_TEST(disk_all_options)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "/img/a b.raw,serial=Disk 01,io=sync,ro",
			       "--disk=b.img,io=uring,poll=0", "--disk",
			       "c.img,io=auto,serial=x,poll=1000"),
			 0);
	ck_assert_uint_eq(cfg.ndisks, 3);
	ck_assert_str_eq(cfg.disks[0].path, "/img/a b.raw");
	ck_assert_str_eq(cfg.disks[0].serial, "Disk 01");
	ck_assert_int_eq(cfg.disks[0].io, DISK_IO_SYNC);
	ck_assert(cfg.disks[0].ro);
	ck_assert_int_eq(cfg.disks[1].io, DISK_IO_URING);
	ck_assert_ptr_null(cfg.disks[1].serial);
	ck_assert(!cfg.disks[1].ro);
	ck_assert_int_eq(cfg.disks[2].io, DISK_IO_AUTO);
	ck_assert_str_eq(cfg.disks[2].serial, "x");
	ck_assert_uint_eq(cfg.disks[0].poll_us, BLK_POLL_US_DEFAULT);
	ck_assert_uint_eq(cfg.disks[1].poll_us, 0);
	ck_assert_uint_eq(cfg.disks[2].poll_us, 1000);
}
END_TEST

/* 20 bytes is the most; '=' may be part of it; an empty serial is one the user chose. */
START_TEST(disk_serial)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "a.img,serial=12345678901234567890"), 0);
	ck_assert_str_eq(cfg.disks[0].serial, "12345678901234567890");
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "a.img,serial=a=b ~!"), 0);
	ck_assert_str_eq(cfg.disks[0].serial, "a=b ~!");
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "a.img,serial="), 0);
	ck_assert_str_eq(cfg.disks[0].serial, "");
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "a.img,serial=a,serial=b"), 0);
	ck_assert_str_eq(cfg.disks[0].serial, "b");
}
END_TEST

/* Each bad --disk value: one line, "--disk: " first, naming what is wrong. */
START_TEST(disk_bad_values)
{
	static const struct {
		const char *arg, *error;
	} cases[] = {
	    {"a.img,foo", "--disk: unknown option 'foo'"},
	    {"a.img,Serial=x", "unknown option 'Serial=x'"},
	    {"a.img,=x", "unknown option '=x'"},
	    {"a.img,,ro", "--disk: empty option"},
	    {"a.img,", "--disk: empty option"},
	    {"a.img,ro,", "--disk: empty option"},
	    {"a.img,ro=1", "--disk: option 'ro' takes no value"},
	    {"a.img,ro=", "--disk: option 'ro' takes no value"},
	    {"a.img,serial", "--disk: option 'serial' needs a value"},
	    {"a.img,serial=123456789012345678901",
	     "--disk: serial '123456789012345678901' is longer than 20 bytes"},
	    {"a.img,serial=tab\there", "--disk: serial byte 3 (0x09) is not printable ASCII"},
	    {"a.img,serial=\x7f", "byte 0 (0x7f) is not printable"},
	    {"a.img,serial=caf\xc3\xa9", "byte 3 (0xc3) is not printable"},
	    {"a.img,serial=\n", "byte 0 (0x0a) is not printable"},
	    {"a.img,io=aio", "--disk: bad io 'aio' (expected auto, uring or sync)"},
	    {"a.img,io=", "--disk: bad io ''"},
	    {"a.img,io=SYNC", "--disk: bad io 'SYNC'"},
	    {"a.img,io", "--disk: option 'io' needs a value"},
	    {"a.img,poll=1001", "--disk: poll: bad count '1001' (expected 0 to 1000)"},
	    {"a.img,poll=-1", "--disk: poll: bad count '-1'"},
	    {"a.img,poll=5us", "--disk: poll: bad count '5us'"},
	    {"a.img,poll", "--disk: option 'poll' needs a value"},
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(PARSE("--kernel", "k", "--disk", cases[i].arg) == -1, "'%s' accepted",
			      cases[i].arg);
		ck_assert_error(cases[i].error);
		ck_assert_msg(!strncmp(last_error(), "--disk: ", 8), "%s", last_error());
		ck_assert_msg(!strchr(last_error(), '\n'), "two lines: %s", last_error());
	}
}
END_TEST

START_TEST(no_eventfd)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--no-eventfd"), 0);
	ck_assert(cfg.no_eventfd);
	ck_assert_fails_with(PARSE("--kernel", "k", "--no-eventfd=1"),
			     "'--no-eventfd' takes no value");
	ck_assert_fails_with(PARSE("--kernel", "k", "--no-eventfds"), "unknown option");
}
END_TEST

START_TEST(disk_read_only)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--disk", "a.img,ro", "--disk=b.img"), 0);
	ck_assert_uint_eq(cfg.ndisks, 2);
	ck_assert_str_eq(cfg.disks[0].path, "a.img");
	ck_assert(cfg.disks[0].ro);
	ck_assert_str_eq(cfg.disks[1].path, "b.img");
	ck_assert(!cfg.disks[1].ro);
}
END_TEST

START_TEST(disk_bad_option)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk", "a.img,rw"), "unknown option 'rw'");
	ck_assert_error("--disk");
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk", "a.img,ro,cache=none"),
			     "unknown option 'cache=none'");
}
END_TEST

START_TEST(disk_missing_path)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk", ",ro"), "--disk: missing path");
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk", ""), "--disk: missing path");
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk="), "--disk: missing path");
}
END_TEST

START_TEST(disk_too_many)
{
	const char *argv[3 + 2 * (VMM_MAX_DISKS + 1) + 1] = {"vmm", "--kernel", "k"};
	char names[VMM_MAX_DISKS + 1][16];
	int argc = 3;

	for (int i = 0; i < VMM_MAX_DISKS + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d.img", i);
		argv[argc++] = "--disk";
		argv[argc++] = names[i];
	}
	ck_assert_int_eq(cli_parse(argc - 2, (char *const *)argv, &cfg), 0);
	ck_assert_uint_eq(cfg.ndisks, VMM_MAX_DISKS);
	ck_assert_str_eq(cfg.disks[VMM_MAX_DISKS - 1].path, "d7.img");
	ck_assert_fails_with(cli_parse(argc, (char *const *)argv, &cfg), "at most 8 disks");
}
END_TEST

START_TEST(disk_argument_too_long)
{
	static char path[5000];

	memset(path, 'p', sizeof(path) - 1);
	ck_assert_fails_with(PARSE("--kernel", "k", "--disk", path), "--disk: argument too long");
}
END_TEST

START_TEST(unknown_option)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--frobnicate"),
			     "unknown option '--frobnicate'");
	ck_assert_fails_with(PARSE("--kernel", "k", "--mem-size=1G"),
			     "unknown option '--mem-size=1G'");
	ck_assert_fails_with(PARSE("vmlinux"), "unknown option 'vmlinux'");
	ck_assert_fails_with(PARSE("-k", "vmlinux"), "unknown option '-k'");
	ck_assert_fails_with(PARSE("--"), "unknown option '--'");
	ck_assert_fails_with(PARSE("--kern", "vmlinux"), "unknown option '--kern'");
}
END_TEST

START_TEST(missing_value_at_end)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--initrd"), "'--initrd' needs a value");
	ck_assert_fails_with(PARSE("--kernel"), "'--kernel' needs a value");
	ck_assert_fails_with(PARSE("--kernel", "k", "--cpus"), "'--cpus' needs a value");
}
END_TEST

START_TEST(flag_given_a_value)
{
	ck_assert_fails_with(PARSE("--kernel", "k", "--mptable=1"), "'--mptable' takes no value");
	ck_assert_fails_with(PARSE("--help=yes"), "'--help' takes no value");
	ck_assert_fails_with(PARSE("--version="), "'--version' takes no value");
}
END_TEST

START_TEST(no_kernel)
{
	ck_assert_fails_with(PARSE("--mem", "512M"), "no kernel");
	ck_assert_fails_with(parse_args((const char *[]){"vmm", NULL}), "no kernel");
}
END_TEST

START_TEST(no_kernel_needed_to_help)
{
	ck_assert_int_eq(PARSE("--help"), 0);
	ck_assert(cfg.help);
	ck_assert_int_eq(PARSE("-h"), 0);
	ck_assert(cfg.help);
	ck_assert_int_eq(PARSE("--version"), 0);
	ck_assert(cfg.version && !cfg.help);
	ck_assert_int_eq(PARSE("--dump-dtb", "out.dtb"), 0);
	ck_assert_str_eq(cfg.dump_dtb, "out.dtb");
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_int_eq(PARSE("--dump-dtb=x.dtb", "--cpus=4"), 0);
	ck_assert_str_eq(cfg.dump_dtb, "x.dtb");
	ck_assert_uint_eq(cfg.cpus, 4);
}
END_TEST

/* A failed parse must not leave state from an earlier one behind. */
START_TEST(parse_starts_from_defaults)
{
	ck_assert_int_eq(PARSE("--kernel", "k", "--mptable", "--cpus", "8", "--disk",
			       "x,ro,serial=s,io=sync", "--no-eventfd"),
			 0);
	ck_assert_int_eq(PARSE("--kernel", "k2", "--disk", "y"), 0);
	ck_assert(!cfg.mptable && !cfg.no_eventfd);
	ck_assert_uint_eq(cfg.ndisks, 1);
	ck_assert(!cfg.disks[0].ro);
	ck_assert_ptr_null(cfg.disks[0].serial);
	ck_assert_int_eq(cfg.disks[0].io, DISK_IO_AUTO);
	ck_assert_int_eq(PARSE("--kernel", "k2"), 0);
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_uint_eq(cfg.ndisks, 0);
	ck_assert_uint_eq(cfg.mem, VMM_DEFAULT_MEM);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *size = tcase_create("parse_size");
	TCase *opts = tcase_create("cli_parse");
	TCase *disk = tcase_create("disk");

	tcase_add_test(size, size_plain_bytes);
	tcase_add_test(size, size_suffixes);
	tcase_add_test(size, size_lowercase_suffixes);
	tcase_add_test(size, size_byte_suffix);
	tcase_add_test(size, size_overflow);
	tcase_add_test(size, size_empty_and_garbage);
	suite_add_tcase(s, size);

	tcase_add_test(opts, defaults);
	tcase_add_test(opts, separate_values);
	tcase_add_test(opts, inline_values);
	tcase_add_test(opts, later_option_wins);
	tcase_add_test(opts, cpus_bounds);
	tcase_add_test(opts, cpus_not_a_number);
	tcase_add_test(opts, mem_bad_size);
	tcase_add_test(opts, mem_too_small);
	tcase_add_test(opts, mem_not_page_multiple);
	tcase_add_test(opts, unknown_option);
	tcase_add_test(opts, missing_value_at_end);
	tcase_add_test(opts, flag_given_a_value);
	tcase_add_test(opts, no_kernel);
	tcase_add_test(opts, no_kernel_needed_to_help);
	tcase_add_test(opts, parse_starts_from_defaults);
	tcase_add_test(opts, no_eventfd);
	suite_add_tcase(s, opts);

	tcase_add_test(disk, disk_path);
	tcase_add_test(disk, disk_read_only);
	tcase_add_test(disk, disk_all_options);
	tcase_add_test(disk, disk_serial);
	tcase_add_test(disk, disk_bad_values);
	tcase_add_test(disk, disk_bad_option);
	tcase_add_test(disk, disk_missing_path);
	tcase_add_test(disk, disk_too_many);
	tcase_add_test(disk, disk_argument_too_long);
	suite_add_tcase(s, disk);
	return s;
}
