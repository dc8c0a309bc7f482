// The CPU backend's worker threads: one process-wide pool that runs the parallel sections of a forward pass.
//
// Why not Dispatch's concurrentPerform: a ViT-S pass at batch 1 is about 100 parallel sections of 50–500 µs,
// and between two of them Dispatch parks its workers on a futex; waking one costs a system call and a
// scheduler round trip each time (5–6 % of the pass in the kernel under perf; Architecture.md, "Threads").
// Here the workers spin for a short while after each section, so the next one starts within a cache miss,
// and sleep on a condition variable only once the caller has been quiet for VK_POOL_DEFAULT_SPIN_US (or what
// vk_pool_set_spin says).
//
// Tasks are claimed one at a time from one atomic word that holds the section's generation, its task count
// and the next unclaimed task, so a claim is checked against all three at once: a worker that wakes late
// for a section other threads finished claims nothing (its compare-and-swap fails, or finds no task left),
// and a successful claim means the section is unfinished, so its function and context are still valid. The caller claims tasks too: with every worker asleep or
// busy elsewhere it runs the whole section itself, so the pool never waits on a thread that is not working.
#define _GNU_SOURCE
#include "CVitreousCPU.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define VK_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define VK_PAUSE() __asm__ __volatile__("yield")
#else
#define VK_PAUSE() ((void)0)
#endif

/// Workers beyond this are never started: sections of a few hundred microseconds gain nothing from more.
#define VK_POOL_MAX_WORKERS 255

/// Tasks per section at most (the task count and the next task share the state word's low 32 bits).
#define VK_POOL_MAX_TASKS 0xFFFF

// The section in flight: generation in bits 32–63, task count in 16–31, the next unclaimed task in 0–15.
static _Atomic uint64_t pool_state;
static _Atomic(vk_pool_task) pool_fn;
static _Atomic(void *) pool_context;
static _Atomic ptrdiff_t pool_done;
// One caller at a time; another (a second thread's pass, or a section nested in a task) gets a refusal.
static atomic_flag pool_busy = ATOMIC_FLAG_INIT;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static _Atomic int pool_sleepers;
static _Atomic int pool_workers;  // changed only by the caller holding pool_busy
static _Atomic long long pool_spin_ns = VK_POOL_DEFAULT_SPIN_US * 1000LL;
static pthread_once_t pool_fork_handler = PTHREAD_ONCE_INIT;

static long long vk_pool_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/// Claims and runs tasks of section `generation` until none is left (or a newer section has begun).
static void vk_pool_work(uint32_t generation) {
    uint64_t state = atomic_load_explicit(&pool_state, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(state >> 32) != generation) return;
        const ptrdiff_t task = (ptrdiff_t)(state & VK_POOL_MAX_TASKS);
        if (task >= (ptrdiff_t)((state >> 16) & VK_POOL_MAX_TASKS)) return;
        if (!atomic_compare_exchange_weak_explicit(&pool_state, &state, state + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        // Claimed: this section cannot finish before this task is done, so its fields still hold.
        atomic_load_explicit(&pool_fn, memory_order_relaxed)(atomic_load_explicit(&pool_context, memory_order_relaxed),
                                                             task);
        atomic_fetch_add_explicit(&pool_done, 1, memory_order_release);
        state = atomic_load_explicit(&pool_state, memory_order_acquire);
    }
}

static void *vk_pool_worker(void *unused) {
    (void)unused;
    uint32_t seen = (uint32_t)(atomic_load_explicit(&pool_state, memory_order_acquire) >> 32);
    for (;;) {
        uint32_t generation = (uint32_t)(atomic_load_explicit(&pool_state, memory_order_acquire) >> 32);
        const long long spin_ns = atomic_load_explicit(&pool_spin_ns, memory_order_relaxed);
        if (generation == seen && spin_ns > 0) {
            const long long deadline = vk_pool_now_ns() + spin_ns;
            for (unsigned spins = 1;; spins++) {
                VK_PAUSE();
                generation = (uint32_t)(atomic_load_explicit(&pool_state, memory_order_acquire) >> 32);
                if (generation != seen) break;
                if (spins % 256 == 0 && vk_pool_now_ns() >= deadline) break;
            }
        }
        if (generation == seen) {
            // Dekker with vk_pool_run: it publishes the generation then reads pool_sleepers; this thread counts
            // itself a sleeper then reads the generation. Both sequentially consistent, so one sees the other.
            pthread_mutex_lock(&pool_lock);
            atomic_fetch_add(&pool_sleepers, 1);
            while ((generation = (uint32_t)(atomic_load(&pool_state) >> 32)) == seen)
                pthread_cond_wait(&pool_wake, &pool_lock);
            atomic_fetch_sub(&pool_sleepers, 1);
            pthread_mutex_unlock(&pool_lock);
        }
        seen = generation;
        vk_pool_work(generation);
    }
    return NULL;
}

/// A forked child has none of the parent's workers: it starts its own on its first section.
static void vk_pool_after_fork_child(void) {
    pool_workers = 0;
    atomic_store(&pool_sleepers, 0);
    pthread_mutex_init(&pool_lock, NULL);
    pthread_cond_init(&pool_wake, NULL);
    atomic_flag_clear(&pool_busy);
}

static void vk_pool_register_fork_handler(void) { pthread_atfork(NULL, NULL, vk_pool_after_fork_child); }

static void vk_pool_start(int workers) {
    pthread_once(&pool_fork_handler, vk_pool_register_fork_handler);
    if (workers > VK_POOL_MAX_WORKERS) workers = VK_POOL_MAX_WORKERS;
    while (pool_workers < workers) {
        pthread_attr_t attributes;
        pthread_t thread;
        if (pthread_attr_init(&attributes) != 0) return;
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        // The tasks run Swift code and the CPU kernels, which keep their tiles on the stack: 8 MiB like main's.
        pthread_attr_setstacksize(&attributes, 8u << 20);
        const int failed = pthread_create(&thread, &attributes, vk_pool_worker, NULL);
        pthread_attr_destroy(&attributes);
        if (failed) return;  // fewer workers: the callers run the rest of each section themselves
        pool_workers++;
    }
}

int vk_pool_run(int threads, ptrdiff_t tasks, vk_pool_task task, void *context) {
    if (tasks <= 0) return 0;
    if (tasks > VK_POOL_MAX_TASKS) return -1;
    if (atomic_flag_test_and_set_explicit(&pool_busy, memory_order_acquire)) return -1;
    vk_pool_start(threads - 1);
    atomic_store_explicit(&pool_fn, task, memory_order_relaxed);
    atomic_store_explicit(&pool_context, context, memory_order_relaxed);
    atomic_store_explicit(&pool_done, 0, memory_order_relaxed);
    const uint32_t generation = (uint32_t)(atomic_load_explicit(&pool_state, memory_order_relaxed) >> 32) + 1;
    atomic_store(&pool_state, (uint64_t)generation << 32 | (uint64_t)tasks << 16);  // publishes the fields above
    if (atomic_load(&pool_sleepers) > 0) {
        pthread_mutex_lock(&pool_lock);
        pthread_cond_broadcast(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
    }
    vk_pool_work(generation);
    // Every task is claimed; wait for the ones other threads are still running.
    for (unsigned spins = 1; atomic_load_explicit(&pool_done, memory_order_acquire) < tasks; spins++) {
        VK_PAUSE();
        if (spins % 4096 == 0) sched_yield();  // a worker was preempted mid-task: let it run
    }
    atomic_flag_clear_explicit(&pool_busy, memory_order_release);
    return 0;
}

int vk_pool_workers(void) { return pool_workers; }

void vk_pool_set_spin(long long microseconds) {
    atomic_store_explicit(&pool_spin_ns, microseconds > 0 ? microseconds * 1000 : 0, memory_order_relaxed);
}
