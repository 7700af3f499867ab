/* SPDX-License-Identifier: MIT */
/* An interrupt line as a device sees it: a GSI and a way to set its level. */
#ifndef DEVICES_IRQ_H
#define DEVICES_IRQ_H

#include <stdint.h>

struct irq_line {
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
	if (irq->set_level)
		irq->set_level(irq->opaque, irq->gsi, level);
}

#endif
