/* SPDX-License-Identifier: MIT */
/*
 * atomic.h - the only place memory-ordering primitives are spelled.
 *
 * Ring fields live in shared memory with a fixed layout, so they cannot be
 * _Atomic; the __atomic builtins work on the plain fields and are understood
 * by TSan. Every use names its partner in a comment.
 */
#ifndef MEMIF_ATOMIC_H
#define MEMIF_ATOMIC_H

#define memif__load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define memif__store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define memif__read_once(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define memif__write_once(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define memif__fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif
