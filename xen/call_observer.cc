#include "xen/call_observer.h"

namespace xenlet::xen {

const char* HypercallKindName(HypercallKind kind) {
  switch (kind) {
    case HypercallKind::kGetDomainInfoList:
      return "getdomaininfolist";
    case HypercallKind::kGetDomainInfo:
      return "getdomaininfo";
    case HypercallKind::kPhysInfo:
      return "physinfo";
    case HypercallKind::kXenVersion:
      return "xen_version";
    case HypercallKind::kPauseDomain:
      return "pausedomain";
    case HypercallKind::kUnpauseDomain:
      return "unpausedomain";
    case HypercallKind::kDestroyDomain:
      return "destroydomain";
    case HypercallKind::kRemoteShutdown:
      return "remote_shutdown";
    case HypercallKind::kCount:
      break;
  }
  return "unknown";
}

const char* XenstoreOpName(XenstoreOp op) {
  switch (op) {
    case XenstoreOp::kRead:
      return "read";
    case XenstoreOp::kDirectory:
      return "directory";
    case XenstoreOp::kWrite:
      return "write";
    case XenstoreOp::kMkdir:
      return "mkdir";
    case XenstoreOp::kRemove:
      return "rm";
    case XenstoreOp::kSetPermissions:
      return "set_perms";
    case XenstoreOp::kWatch:
      return "watch";
    case XenstoreOp::kUnwatch:
      return "unwatch";
    case XenstoreOp::kTransactionStart:
      return "transaction_start";
    case XenstoreOp::kTransactionEnd:
      return "transaction_end";
    case XenstoreOp::kIntroduceDomain:
      return "introduce";
    case XenstoreOp::kReleaseDomain:
      return "release";
    case XenstoreOp::kIsDomainIntroduced:
      return "is_domain_introduced";
    case XenstoreOp::kGetDomainPath:
      return "get_domain_path";
    case XenstoreOp::kGetPermissions:
      return "get_perms";
    case XenstoreOp::kResumeDomain:
      return "resume";
    case XenstoreOp::kCount:
      break;
  }
  return "unknown";
}

const char* TransactionOutcomeName(TransactionOutcome outcome) {
  switch (outcome) {
    case TransactionOutcome::kCommitted:
      return "committed";
    case TransactionOutcome::kConflict:
      return "conflict";
    case TransactionOutcome::kAborted:
      return "aborted";
    case TransactionOutcome::kError:
      return "error";
    case TransactionOutcome::kCount:
      break;
  }
  return "unknown";
}

CallObserver* NullCallObserver() {
  static CallObserver null_observer;
  return &null_observer;
}

}  // namespace xenlet::xen
