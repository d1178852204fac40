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

/*
 * An asymmetric fence pair for the data-path door (struct memif__qref): the
 * data path orders its store of `busy` before its load of `q` with
 * memif__fence_light(), the control thread its store of `q` before its load
 * of `busy` with memif__fence_heavy() (os.c: membarrier, which runs a full
 * barrier on every thread of the process). Where membarrier is missing,
 * and under TSan, which cannot see it, the light side is a real fence.
 */
extern int memif__light_fence_ok;
#if defined(__SANITIZE_THREAD__)
#define MEMIF__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEMIF__TSAN 1
#endif
#endif
#ifdef MEMIF__TSAN
#define memif__fence_light() memif__fence()
#else
#define memif__fence_light()                                                                   \
	do {                                                                                   \
		if (__builtin_expect(!memif__read_once(&memif__light_fence_ok), 0))            \
			memif__fence();                                                        \
		else                                                                           \
			__atomic_signal_fence(__ATOMIC_SEQ_CST);                               \
	} while (0)
#endif
void memif__fence_heavy(void);

#endif
