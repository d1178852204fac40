/* SPDX-License-Identifier: MIT */
/* compiler.h - export macro, branch hints and small helpers. */
#ifndef MEMIF_COMPILER_H
#define MEMIF_COMPILER_H

#include <stddef.h>

#define MEMIF_EXPORT __attribute__((visibility("default")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define MEMIF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MEMIF_MAX(a, b) ((a) > (b) ? (a) : (b))

#define MEMIF_PRINTF(f, a) __attribute__((format(printf, f, a)))

#endif
