/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - every allocation of the library goes through the socket's
 * allocator (memif_socket_args_t alloc/realloc/free), or malloc without one.
 * At the bottom of the module map: every module may call it.
 */
#include <stdlib.h>

#include "private.h"

void *memif__alloc(struct memif__socket *s, size_t size)
{
	return s && s->alloc ? s->alloc(size) : malloc(size);
}

void *memif__realloc(struct memif__socket *s, void *p, size_t size)
{
	return s && s->realloc ? s->realloc(p, size) : realloc(p, size);
}

void memif__free(struct memif__socket *s, void *p)
{
	if (!p)
		return;
	if (s && s->free)
		s->free(p);
	else
		free(p);
}
