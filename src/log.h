/* SPDX-License-Identifier: MIT */
/* log.h - internal logging, off unless MEMIF_LOG is set in the environment. */
#ifndef MEMIF_LOG_H
#define MEMIF_LOG_H

#include "compiler.h"

enum memif__log_level {
	MEMIF__LOG_ERR = 1,
	MEMIF__LOG_WARN = 2,
	MEMIF__LOG_INFO = 3,
	MEMIF__LOG_DEBUG = 4,
};

extern int memif__log_level;

void memif__log(int level, const char *fmt, ...) MEMIF_PRINTF(2, 3);

#define memif__log_at(lvl, ...)                          \
	do {                                             \
		if (unlikely(memif__log_level >= (lvl))) \
			memif__log((lvl), __VA_ARGS__);  \
	} while (0)

#define LOG_ERR(...) memif__log_at(MEMIF__LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) memif__log_at(MEMIF__LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) memif__log_at(MEMIF__LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) memif__log_at(MEMIF__LOG_DEBUG, __VA_ARGS__)

#endif
