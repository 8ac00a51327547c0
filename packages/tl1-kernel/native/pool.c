/* Persistent thread pool. Thread 0 is the caller; workers 1..n-1 spin briefly
 * on a generation counter after each job and then sleep on a condvar.
 * A job of nparts parts runs on the caller and workers 1..nparts-1, and the
 * caller waits for those alone: a small job on a large pool does not wait for
 * every thread to wake. Workers read a job seqlock-style (generation, fields,
 * generation again), so one that was left out and sees the next job's fields
 * mid-write retries instead of running a mix. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "tl1.h"

#if TL1_X86
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define TL1_MAX_THREADS 256
#define WORKER_SPIN_NS 100000 /* spin this long after a job before sleeping */

/* The counters every worker touches each live on their own cache line: workers
 * spin reading gen while finished ones add to done, and neither should bounce
 * the line that holds the job. */
static struct {
  pthread_mutex_t runMu; /* one job at a time; resize takes it too */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  _Atomic(tl1_task_fn) fn;
  _Atomic(void*) ctx;
  _Atomic int nparts;
  int n; /* threads including the caller */
  _Atomic int quit;
  _Alignas(64) _Atomic unsigned gen;
  _Atomic int sleepers;
  _Alignas(64) _Atomic int done;
  _Alignas(64) pthread_t th[TL1_MAX_THREADS];
  unsigned startGen[TL1_MAX_THREADS]; /* generation current when worker i was created */
} P = {.runMu = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = 1};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void* worker(void* arg) {
  int id = (int)(intptr_t)arg;
  /* not atomic_load(&P.gen): a job may already have been posted before this thread runs */
  unsigned seen = P.startGen[id];
  for (;;) {
    unsigned g;
    unsigned spins = 0;
    int64_t t0 = 0;
    /* an odd generation is a job being written: wait for it to be published */
    while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen || (g & 1u)) {
      CPU_RELAX();
      if ((++spins & 255) != 0) continue;
      int64_t t = now_ns();
      if (t0 == 0) t0 = t;
      if (t - t0 < WORKER_SPIN_NS) continue;
      pthread_mutex_lock(&P.mu);
      atomic_fetch_add(&P.sleepers, 1);
      while ((g = atomic_load(&P.gen)) == seen || (g & 1u)) pthread_cond_wait(&P.cv, &P.mu);
      atomic_fetch_sub(&P.sleepers, 1);
      pthread_mutex_unlock(&P.mu);
      break;
    }
    if (atomic_load(&P.quit)) return NULL;
    const int nparts = atomic_load_explicit(&P.nparts, memory_order_relaxed);
    const tl1_task_fn fn = atomic_load_explicit(&P.fn, memory_order_relaxed);
    void* const ctx = atomic_load_explicit(&P.ctx, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    seen = g;
    /* The generation moved while the fields were read: the caller went on without this worker
     * (a part of job g would have held it back), so job g was not this worker's. */
    if (atomic_load_explicit(&P.gen, memory_order_relaxed) != g) continue;
    if (id >= nparts) continue; /* not one of job g's parts; nobody waits for it */
    fn(ctx, id, nparts);
    atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
  }
}

/* Publishes a job: the generation is odd while its fields are written, even once they are. */
static void post(tl1_task_fn fn, void* ctx, int nparts) {
  atomic_fetch_add(&P.gen, 1);
  atomic_store_explicit(&P.fn, fn, memory_order_relaxed);
  atomic_store_explicit(&P.ctx, ctx, memory_order_relaxed);
  atomic_store_explicit(&P.nparts, nparts, memory_order_relaxed);
  atomic_store_explicit(&P.done, 0, memory_order_relaxed);
  atomic_fetch_add(&P.gen, 1); /* seq_cst: publishes the fields; pairs with the sleepers increment */
  if (atomic_load(&P.sleepers) > 0) {
    pthread_mutex_lock(&P.mu);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
  }
}

static void stop_workers(void) {
  if (P.n <= 1) return;
  atomic_store(&P.quit, 1);
  post(NULL, NULL, 0);
  for (int i = 1; i < P.n; i++) pthread_join(P.th[i], NULL);
  atomic_store(&P.quit, 0);
  P.n = 1;
}

int tl1_pool_size(void) { return P.n; }

int tl1_pool_resize(int n) {
  if (n < 1) n = 1;
  if (n > TL1_MAX_THREADS) n = TL1_MAX_THREADS;
  pthread_mutex_lock(&P.runMu);
  if (n != P.n) {
    stop_workers();
    int made = 1;
    for (int i = 1; i < n; i++) {
      P.startGen[i] = atomic_load(&P.gen);
      if (pthread_create(&P.th[i], NULL, worker, (void*)(intptr_t)i) != 0) break;
      made++;
    }
    P.n = made;
  }
  int r = P.n;
  pthread_mutex_unlock(&P.runMu);
  return r;
}

void tl1_pool_run(tl1_task_fn fn, void* ctx, int nparts) {
  if (nparts < 1) nparts = 1;
  if (nparts == 1 || P.n == 1) {
    for (int p = 0; p < nparts; p++) fn(ctx, p, nparts);
    return;
  }
  if (pthread_mutex_trylock(&P.runMu) != 0) {
    /* pool in use by another JS thread: run the parts here */
    for (int p = 0; p < nparts; p++) fn(ctx, p, nparts);
    return;
  }
  if (nparts > P.n) nparts = P.n;
  post(fn, ctx, nparts);
  fn(ctx, 0, nparts);
  const int want = nparts - 1;
  unsigned spins = 0;
  while (atomic_load_explicit(&P.done, memory_order_acquire) != want) {
    if (++spins < 1000000u) CPU_RELAX();
    else sched_yield();
  }
  pthread_mutex_unlock(&P.runMu);
}
