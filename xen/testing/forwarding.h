// Decorators' base classes: a Hypervisor and a XenstoreClient that pass
// every call to another one. A test that changes one behaviour (fails a
// call, delays it, drops a connection) overrides that method alone,
// instead of forwarding a dozen by hand.
#ifndef XENLET_XEN_TESTING_FORWARDING_H_
#define XENLET_XEN_TESTING_FORWARDING_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xen/hypervisor.h"
#include "xen/xenstore.h"

namespace xenlet::xen::testing {

class ForwardingHypervisor : public Hypervisor {
 public:
  // target must outlive this.
  explicit ForwardingHypervisor(Hypervisor* target) : target_(target) {}

  absl::Status GetDomainInfoList(Domid first_domid, uint32_t max_domains,
                                 std::vector<DomainInfo>* out) override {
    return target_->GetDomainInfoList(first_domid, max_domains, out);
  }
  absl::StatusOr<DomainInfo> GetDomainInfo(Domid domid) override {
    return target_->GetDomainInfo(domid);
  }
  absl::StatusOr<PhysInfo> GetPhysInfo() override {
    return target_->GetPhysInfo();
  }
  absl::StatusOr<XenVersion> GetVersion() override {
    return target_->GetVersion();
  }
  absl::Status PauseDomain(Domid domid) override {
    return target_->PauseDomain(domid);
  }
  absl::Status UnpauseDomain(Domid domid) override {
    return target_->UnpauseDomain(domid);
  }
  absl::Status DestroyDomain(Domid domid) override {
    return target_->DestroyDomain(domid);
  }
  absl::Status ShutdownDomain(Domid domid, ShutdownReason reason) override {
    return target_->ShutdownDomain(domid, reason);
  }

 private:
  Hypervisor* const target_;
};

class ForwardingXenstoreClient : public XenstoreClient {
 public:
  explicit ForwardingXenstoreClient(std::unique_ptr<XenstoreClient> target)
      : target_(std::move(target)) {}

  absl::StatusOr<std::unique_ptr<XenstoreTransaction>> BeginTransaction()
      override {
    return target_->BeginTransaction();
  }
  absl::StatusOr<std::string> Read(std::string_view path) override {
    return target_->Read(path);
  }
  absl::StatusOr<std::vector<std::string>> Directory(
      std::string_view path) override {
    return target_->Directory(path);
  }
  absl::Status Write(std::string_view path, std::string_view value) override {
    return target_->Write(path, value);
  }
  absl::Status Remove(std::string_view path) override {
    return target_->Remove(path);
  }
  absl::Status Watch(std::string_view path, std::string_view token) override {
    return target_->Watch(path, token);
  }
  absl::Status Unwatch(std::string_view path, std::string_view token) override {
    return target_->Unwatch(path, token);
  }
  int WatchFd() override { return target_->WatchFd(); }
  absl::StatusOr<std::optional<WatchEvent>> NextWatchEvent(
      absl::Duration timeout) override {
    return target_->NextWatchEvent(timeout);
  }
  absl::Status IntroduceDomain(Domid domid, uint64_t ring_mfn,
                               uint32_t event_channel) override {
    return target_->IntroduceDomain(domid, ring_mfn, event_channel);
  }
  absl::Status ReleaseDomain(Domid domid) override {
    return target_->ReleaseDomain(domid);
  }
  absl::Status ResumeDomain(Domid domid) override {
    return target_->ResumeDomain(domid);
  }
  absl::StatusOr<bool> IsDomainIntroduced(Domid domid) override {
    return target_->IsDomainIntroduced(domid);
  }

 private:
  const std::unique_ptr<XenstoreClient> target_;
};

}  // namespace xenlet::xen::testing

#endif  // XENLET_XEN_TESTING_FORWARDING_H_
