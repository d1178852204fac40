/* SPDX-License-Identifier: MIT */
/* irq.c - eventfd interrupts: the one syscall the data path may make. */
#include <stdint.h>
#include <unistd.h>

#include "private.h"

void memif__irq_kick(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: the reader is woken anyway. */
	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

void memif__irq_drain(int fd)
{
	uint64_t v;

	if (fd >= 0)
		(void)!read(fd, &v, sizeof(v));
}
