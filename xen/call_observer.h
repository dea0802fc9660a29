// The one hook through which the xen/ implementations report every
// hypercall and every xenstore request they make. They are the only places
// those calls are made, so an observer sees all of them (metrics/ implements
// one that exports them to Prometheus).
#ifndef XENLET_XEN_CALL_OBSERVER_H_
#define XENLET_XEN_CALL_OBSERVER_H_

#include <cstdint>

namespace xenlet::xen {

enum class HypercallKind : uint8_t {
  kGetDomainInfoList,
  kGetDomainInfo,
  kPhysInfo,
  kXenVersion,
  kPauseDomain,
  kUnpauseDomain,
  kDestroyDomain,
  kRemoteShutdown,
  kCount,
};

enum class XenstoreOp : uint8_t {
  kRead,
  kDirectory,
  kWrite,
  kMkdir,
  kRemove,
  kSetPermissions,
  kWatch,
  kUnwatch,
  kTransactionStart,
  kTransactionEnd,
  kIntroduceDomain,
  kReleaseDomain,
  kIsDomainIntroduced,
  kGetDomainPath,
  kGetPermissions,
  kResumeDomain,
  kCount,
};

enum class TransactionOutcome : uint8_t {
  kCommitted,
  kConflict,  // EAGAIN at commit: another writer got there first
  kAborted,   // ended by the caller without committing
  kError,
  kCount,
};

const char* HypercallKindName(HypercallKind kind);
const char* XenstoreOpName(XenstoreOp op);
const char* TransactionOutcomeName(TransactionOutcome outcome);

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  // err is 0 on success, else the errno the call failed with.
  virtual void OnHypercall(HypercallKind kind, int err, int64_t duration_ns) {}
  virtual void OnXenstoreRequest(XenstoreOp op, int err) {}
  virtual void OnTransactionEnd(TransactionOutcome outcome) {}
  virtual void OnWatchEvent() {}
};

// An observer that ignores everything: the default.
CallObserver* NullCallObserver();

}  // namespace xenlet::xen

#endif  // XENLET_XEN_CALL_OBSERVER_H_
