/* SPDX-License-Identifier: MIT */
/*
 * log.c - internal logging. Silent by default: a library must not write to
 * the app's stderr uninvited. MEMIF_LOG=1..4 (err, warn, info, debug)
 * turns it on; the level is read once, when the library is loaded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

int memif__log_level;

__attribute__((constructor)) static void log_init(void)
{
	const char *env = getenv("MEMIF_LOG");

	if (env && *env)
		memif__log_level = atoi(env);
}

void memif__log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "", "error", "warn", "info", "debug" };
	va_list ap;

	if (level < 1 || level > 4)
		level = 4;
	fprintf(stderr, "libmemif %s: ", names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
