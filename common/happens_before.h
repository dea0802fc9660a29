// Orderings that ThreadSanitizer cannot see, told to it by hand: under
// --config=tsan (which defines XENLET_TSAN) these mark a hand-off between
// threads made by a library that is not instrumented, such as gRPC passing
// a reactor from the thread that started an operation to the one that runs
// its callback. Everywhere else they compile to nothing.
#ifndef XENLET_COMMON_HAPPENS_BEFORE_H_
#define XENLET_COMMON_HAPPENS_BEFORE_H_

#ifdef XENLET_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
// What this thread did so far is visible to whoever runs
// XENLET_HAPPENS_AFTER(addr) next.
#define XENLET_HAPPENS_BEFORE(addr) \
  __tsan_release(const_cast<void*>(static_cast<const void*>(addr)))
#define XENLET_HAPPENS_AFTER(addr) \
  __tsan_acquire(const_cast<void*>(static_cast<const void*>(addr)))
#else
#define XENLET_HAPPENS_BEFORE(addr) static_cast<void>(addr)
#define XENLET_HAPPENS_AFTER(addr) static_cast<void>(addr)
#endif

#endif  // XENLET_COMMON_HAPPENS_BEFORE_H_
