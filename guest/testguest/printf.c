// SPDX-License-Identifier: MIT
/*
 * The console (COM1, polled) and the printf family. One formatter writes
 * either to a buffer or straight to the console, so tg_printf() has no
 * length limit and needs no buffer on the stack.
 *
 * Conversions: d i u x X o c s p %, with the flags - 0 + space #, a width
 * and a precision (numbers or *), and the sizes hh h l ll z t j.
 */
#include "rt.h"

#define COM1	      0x3f8
#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define UART_LSR_DR   0x01
/* A missing UART reads 0xff (THRE set); this only bounds a stuck one. */
#define UART_SPINS 100000

static void uart_put(char c)
{
	for (unsigned int i = 0; i < UART_SPINS; i++) {
		if (tg_inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	}
	tg_outb(COM1, (uint8_t)c);
}

/* The VMM puts a terminal in raw mode: end lines with CR LF, as Linux's console does. */
void tg_putc(char c)
{
	if (c == '\n')
		uart_put('\r');
	uart_put(c);
}

int tg_getc(uint64_t timeout_ns)
{
	uint64_t end = tg_ns() + timeout_ns;

	/* Without kvmclock tg_ns() stays 0: one look, then -1. */
	do {
		if (tg_inb(COM1 + UART_LSR) & UART_LSR_DR)
			return tg_inb(COM1);
		__asm__ volatile("pause");
	} while (tg_ns() < end);
	return -1;
}

void tg_puts(const char *s)
{
	while (*s)
		tg_putc(*s++);
}

struct sink {
	char *buf; /* NULL: the console */
	size_t size;
	size_t len; /* what the whole output needs, as vsnprintf returns */
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		tg_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_n(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width, prec; /* prec < 0: none */
	int size;	 /* 0 int, 1 long, 2 long long (and size_t...), -1 short, -2 char */
};

/* Print @body (@len chars) after @prefix, padded to the width as @sp says. */
static void put_field(struct sink *s, const struct spec *sp, const char *prefix, const char *body,
		      int len, int zeros)
{
	int plen = (int)strlen(prefix);
	int pad = sp->width - plen - zeros - len;

	if (!sp->left && !(sp->zero && sp->prec < 0))
		put_n(s, ' ', pad);
	for (int i = 0; i < plen; i++)
		put(s, prefix[i]);
	if (!sp->left && sp->zero && sp->prec < 0)
		put_n(s, '0', pad);
	put_n(s, '0', zeros);
	for (int i = 0; i < len; i++)
		put(s, body[i]);
	if (sp->left)
		put_n(s, ' ', pad);
}

static void put_number(struct sink *s, const struct spec *sp, unsigned long long v, bool neg,
		       unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	const char *prefix = "";
	int len = 0, zeros;

	while (v) {
		tmp[sizeof(tmp) - 1 - len++] = digits[v % base];
		v /= base;
	}
	if (len == 0 && sp->prec != 0)
		tmp[sizeof(tmp) - 1 - len++] = '0';
	else if (base == 16 && sp->alt)
		prefix = upper ? "0X" : "0x";
	if (base == 8 && sp->alt && tmp[sizeof(tmp) - len] != '0')
		tmp[sizeof(tmp) - 1 - len++] = '0';
	if (neg)
		prefix = "-";
	else if (sp->plus && base == 10)
		prefix = "+";
	else if (sp->space && base == 10)
		prefix = " ";
	zeros = sp->prec > len ? sp->prec - len : 0;
	put_field(s, sp, prefix, tmp + sizeof(tmp) - len, len, zeros);
}

static unsigned long long arg_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->size) {
	case -2: return (unsigned char)va_arg(*ap, unsigned int);
	case -1: return (unsigned short)va_arg(*ap, unsigned int);
	case 0: return va_arg(*ap, unsigned int);
	case 1: return va_arg(*ap, unsigned long);
	default: return va_arg(*ap, unsigned long long);
	}
}

static long long arg_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->size) {
	case -2: return (signed char)va_arg(*ap, int);
	case -1: return (short)va_arg(*ap, int);
	case 0: return va_arg(*ap, int);
	case 1: return va_arg(*ap, long);
	default: return va_arg(*ap, long long);
	}
}

static int parse_int(const char **f, va_list *ap)
{
	int v = 0;

	if (**f == '*') {
		(*f)++;
		return va_arg(*ap, int);
	}
	while (**f >= '0' && **f <= '9')
		v = v * 10 + (*(*f)++ - '0');
	return v;
}

/* Flags, width, precision and size after the '%'; leaves *@f on the conversion. */
static void parse_spec(const char **f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.prec = -1};
	for (;; (*f)++) {
		if (**f == '-')
			sp->left = true;
		else if (**f == '0')
			sp->zero = true;
		else if (**f == '+')
			sp->plus = true;
		else if (**f == ' ')
			sp->space = true;
		else if (**f == '#')
			sp->alt = true;
		else
			break;
	}
	sp->width = parse_int(f, ap);
	if (sp->width < 0) {
		sp->left = true;
		sp->width = -sp->width;
	}
	if (**f == '.') {
		(*f)++;
		sp->prec = parse_int(f, ap);
	}
	for (;; (*f)++) {
		if (**f == 'h')
			sp->size = sp->size == -1 ? -2 : -1;
		else if (**f == 'l')
			sp->size++;
		else if (**f == 'z' || **f == 't' || **f == 'j')
			sp->size = 2;
		else
			break;
	}
}

static void put_conversion(struct sink *s, struct spec *sp, char conv, va_list *ap)
{
	switch (conv) {
	case 'd':
	case 'i': {
		long long v = arg_signed(sp, ap);

		put_number(s, sp, v < 0 ? -(unsigned long long)v : (unsigned long long)v, v < 0, 10,
			   false);
		break;
	}
	case 'u': put_number(s, sp, arg_unsigned(sp, ap), false, 10, false); break;
	case 'x':
	case 'X': put_number(s, sp, arg_unsigned(sp, ap), false, 16, conv == 'X'); break;
	case 'o': put_number(s, sp, arg_unsigned(sp, ap), false, 8, false); break;
	case 'p':
		sp->alt = true;
		put_number(s, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		put_field(s, sp, "", &c, 1, 0);
		break;
	}
	case 's': {
		const char *str = va_arg(*ap, const char *);

		if (!str)
			str = "(null)";
		put_field(s, sp, "", str,
			  (int)(sp->prec >= 0 ? strnlen(str, sp->prec) : strlen(str)), 0);
		break;
	}
	case '%': put(s, '%'); break;
	default: /* unknown: print it as written, so the mistake shows */ put(s, '%'); put(s, conv);
	}
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		struct spec sp;

		if (*fmt != '%') {
			put(s, *fmt++);
			continue;
		}
		fmt++;
		parse_spec(&fmt, &sp, &aq);
		if (!*fmt)
			break;
		put_conversion(s, &sp, *fmt++, &aq);
	}
	va_end(aq);
}

int tg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	char dummy;
	struct sink s = {.buf = size ? buf : &dummy, .size = size};

	format(&s, fmt, ap);
	if (size)
		buf[TG_MIN(s.len, size - 1)] = '\0';
	return (int)s.len;
}

int tg_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tg_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int tg_printf(const char *fmt, ...)
{
	struct sink s = {0};
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	return (int)s.len;
}
