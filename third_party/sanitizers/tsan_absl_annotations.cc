// ThreadSanitizer sees no ordering in Debian's Abseil: the library is not
// built with it, so every absl::Mutex, CondVar and Notification the
// project's code uses would look like no synchronisation at all, and TSan
// would report every guarded member as a race. Under --config=tsan the
// linker sends the project's calls to these functions through the wrappers
// below (-Wl,--wrap=SYMBOL, listed in .bazelrc), which tell TSan what each
// call does with its mutex API, as Abseil does itself when built with TSan:
// locks and unlocks (reader or writer; so TSan also checks lock order),
// waits that release and take the mutex again, notifications that release
// and waits for them that acquire. Conditions are evaluated by Abseil with
// the mutex held, on the waiting thread or on the one unlocking: each is
// wrapped to acquire before and release after. Only the project's own calls are
// seen (gRPC's internal locking stays invisible, as its memory accesses are not
// instrumented either).
//
// The symbols are those of Debian 12's Abseil (inline namespace debian3);
// a link error names the one that changed.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

void Acquire(const void* addr) { __tsan_acquire(const_cast<void*>(addr)); }
void Release(const void* addr) { __tsan_release(const_cast<void*>(addr)); }

struct GuardedCondition {
  const absl::Condition* condition;
  const absl::Mutex* mutex;
};

// Abseil evaluates a condition with the mutex held, but on a thread that
// TSan may believe holds nothing (the waiter, between its wrapper's release
// and retake): the evaluation is ordered after the last unlock, and before
// the next lock, by hand.
bool EvalGuarded(void* arg) {
  auto* guarded = static_cast<GuardedCondition*>(arg);
  Acquire(guarded->mutex);
  const bool result = guarded->condition->Eval();
  Release(guarded->mutex);
  return result;
}

}  // namespace

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

// Lock and unlock, writer and reader: `name` the mangled symbol.
#define XENLET_LOCK(name, flags)          \
  void __real_##name(Mutex*);             \
  void __wrap_##name(Mutex* mu) {         \
    __tsan_mutex_pre_lock(mu, flags);     \
    __real_##name(mu);                    \
    __tsan_mutex_post_lock(mu, flags, 0); \
  }
#define XENLET_TRY_LOCK(name, flags)                                        \
  bool __real_##name(Mutex*);                                               \
  bool __wrap_##name(Mutex* mu) {                                           \
    __tsan_mutex_pre_lock(mu, (flags) | __tsan_mutex_try_lock);             \
    const bool locked = __real_##name(mu);                                  \
    __tsan_mutex_post_lock(mu,                                              \
                           (flags) | __tsan_mutex_try_lock |                \
                               (locked ? 0 : __tsan_mutex_try_lock_failed), \
                           0);                                              \
    return locked;                                                          \
  }
#define XENLET_UNLOCK(name, flags)       \
  void __real_##name(Mutex*);            \
  void __wrap_##name(Mutex* mu) {        \
    __tsan_mutex_pre_unlock(mu, flags);  \
    __real_##name(mu);                   \
    __tsan_mutex_post_unlock(mu, flags); \
  }

extern "C" {

XENLET_LOCK(_ZN4absl7debian35Mutex4LockEv, 0)
XENLET_LOCK(_ZN4absl7debian35Mutex10ReaderLockEv, __tsan_mutex_read_lock)
XENLET_TRY_LOCK(_ZN4absl7debian35Mutex7TryLockEv, 0)
XENLET_TRY_LOCK(_ZN4absl7debian35Mutex13ReaderTryLockEv, __tsan_mutex_read_lock)
XENLET_UNLOCK(_ZN4absl7debian35Mutex6UnlockEv, 0)
XENLET_UNLOCK(_ZN4absl7debian35Mutex12ReaderUnlockEv, __tsan_mutex_read_lock)

// A mutex's memory may hold another one later (a stack, a reused heap
// block): TSan must forget this one.
void __real__ZN4absl7debian35MutexD1Ev(Mutex*);
void __wrap__ZN4absl7debian35MutexD1Ev(Mutex* mu) {
  __tsan_mutex_destroy(mu, 0);
  __real__ZN4absl7debian35MutexD1Ev(mu);
}

}  // extern "C"

// The condition-taking calls: declared in C, defined through templates.
extern "C" {
void __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex*,
                                                           const Condition&);
bool __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex*, const Condition&, Duration);
bool __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex*, const Condition&, Time);
void __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex*,
                                                              const Condition&);
bool __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex*, const Condition&, Duration);
bool __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex*, const Condition&, Time);
void __real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(
    Mutex*, const Condition&);
bool __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    CondVar*, Mutex*, Duration);
bool __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    CondVar*, Mutex*, Time);
void __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar*, Mutex*);
void __real__ZN4absl7debian312Notification6NotifyEv(Notification*);
void __real__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const Notification*);
bool __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification*, Duration);
bool __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification*, Time);
}

namespace {

// The calling thread gives the (writer) mutex up, then takes it back.
void Released(Mutex* mu) {
  __tsan_mutex_pre_unlock(mu, 0);
  __tsan_mutex_post_unlock(mu, 0);
}
void Retaken(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
}

// Held before and after, released in between.
template <typename Real, typename... Args>
auto Await(Real real, Mutex* mu, const Condition& cond, Args... args) {
  Released(mu);
  GuardedCondition guarded{&cond, mu};
  const Condition wrapped(&EvalGuarded, &guarded);
  auto result = real(mu, wrapped, args...);
  Retaken(mu);
  return result;
}

// Not held before, held after (as a writer unless flags say otherwise).
template <typename Real, typename... Args>
auto LockWhen(Real real, unsigned flags, Mutex* mu, const Condition& cond,
              Args... args) {
  __tsan_mutex_pre_lock(mu, flags);
  GuardedCondition guarded{&cond, mu};
  const Condition wrapped(&EvalGuarded, &guarded);
  auto result = real(mu, wrapped, args...);
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

// void-returning reals, adapted to return something.
template <void (*Real)(Mutex*, const Condition&)>
bool Void(Mutex* mu, const Condition& cond) {
  Real(mu, cond);
  return true;
}

template <typename Real, typename... Args>
auto Wait(Real real, CondVar* cv, Mutex* mu, Args... args) {
  Released(mu);
  auto result = real(cv, mu, args...);
  Retaken(mu);
  return result;
}

}  // namespace

extern "C" {

void __wrap__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(
    Mutex* mu, const Condition& cond) {
  Await(&Void<__real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE>, mu, cond);
}
bool __wrap__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& cond, Duration timeout) {
  return Await(
      &__real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      mu, cond, timeout);
}
bool __wrap__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& cond, Time deadline) {
  return Await(
      &__real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE,
      mu, cond, deadline);
}
void __wrap__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(
    Mutex* mu, const Condition& cond) {
  LockWhen(&Void<__real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE>, 0,
           mu, cond);
}
bool __wrap__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& cond, Duration timeout) {
  return LockWhen(
      &__real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
      0, mu, cond, timeout);
}
bool __wrap__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& cond, Time deadline) {
  return LockWhen(
      &__real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
      0, mu, cond, deadline);
}
void __wrap__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(
    Mutex* mu, const Condition& cond) {
  LockWhen(
      &Void<__real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE>,
      __tsan_mutex_read_lock, mu, cond);
}
void __wrap__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  Released(mu);
  __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(cv, mu);
  Retaken(mu);
}
bool __wrap__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    CondVar* cv, Mutex* mu, Duration timeout) {
  return Wait(
      &__real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE,
      cv, mu, timeout);
}
bool __wrap__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    CondVar* cv, Mutex* mu, Time deadline) {
  return Wait(
      &__real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE,
      cv, mu, deadline);
}
void __wrap__ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  Release(n);
  __real__ZN4absl7debian312Notification6NotifyEv(n);
}
void __wrap__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const Notification* n) {
  __real__ZNK4absl7debian312Notification19WaitForNotificationEv(n);
  Acquire(n);
}
bool __wrap__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, Duration timeout) {
  const bool notified =
      __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
          n, timeout);
  if (notified) Acquire(n);
  return notified;
}
bool __wrap__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification* n, Time deadline) {
  const bool notified =
      __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
          n, deadline);
  if (notified) Acquire(n);
  return notified;
}

}  // extern "C"

// gRPC, protobuf and the rest of Debian's C++ libraries are not
// instrumented either: what TSan's interceptors (epoll, memmove, ...) see
// them do, without the ordering their own locks give, is no race of the
// project's; nor is an access made by gRPC's own header code (its callback
// tags, instantiated in the project's binaries) that its uninstrumented
// completion queue orders. Only a race whose innermost frame is gRPC's is
// left out (race_top): the project's reactors, called from gRPC's threads,
// are still checked.
extern "C" const char* __tsan_default_suppressions() {
  return "race_top:grpc::\n"
         "race_top:grpc_core::\n"
         "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libprotobuf.so\n"
         "called_from_lib:libabsl_synchronization.so\n"
         "called_from_lib:libabsl_graphcycles_internal.so\n"
         "called_from_lib:libabsl_status.so\n"
         "called_from_lib:libabsl_cord.so\n"
         "called_from_lib:libabsl_cord_internal.so\n"
         "called_from_lib:libabsl_time_zone.so\n"
         "called_from_lib:libabsl_strings.so\n"
         // gRPC's own reactor plumbing, instantiated in the project's
         // binaries, ordered by its uninstrumented completion queue.
         "race:InternalBindWriter\n"
         "race:~ServerCallbackWriterImpl\n"
         // gRPC frees its writer after OnDone; this also hides any race
         // inside a stream's OnDone, whose hand-offs are annotated instead.
         "race:ServerCallbackWriterImpl::CallOnDone\n"
         // The closure gRPC runs a call's handler from, destroyed on
         // another thread (the handlers themselves stay checked).
         "race:ContinueRunAfterInterception()::{lambda\n"
         // A client call's final status, copied by gRPC's header code on
         // its thread into the call's state, which the client made before
         // StartCall (found in hostile_clients_test's refused streams).
         "race:grpc::internal::CallOpClientRecvStatus::FinishOp\n"
         // A message a client handed to gRPC to read into, parsed on
         // gRPC's thread before the reaction runs.
         "race:google::protobuf::MessageLite::ParseFromZeroCopyStream\n"
         "race:google::protobuf::internal::MergeFromImpl\n";
}
