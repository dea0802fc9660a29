#include "sim/domid_history.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "xen/errno_status.h"

namespace xenlet::sim {
namespace {

struct Entry {
  uint64_t at_s;
  xen::Domid domid;
};

uint64_t MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

std::vector<Entry> ReadEntries(std::FILE* f) {
  std::vector<Entry> out;
  unsigned long long at;
  unsigned domid;
  std::rewind(f);
  while (std::fscanf(f, "%llu %u", &at, &domid) == 2) {
    out.push_back({at, static_cast<xen::Domid>(domid)});
  }
  return out;
}

}  // namespace

uint64_t DomidHistory::TimeoutSeconds() const {
  // libxl's file has whole seconds: a timeout under one is one.
  return static_cast<uint64_t>(
      absl::ToInt64Seconds(absl::Ceil(timeout_, absl::Seconds(1))));
}

absl::StatusOr<bool> DomidHistory::RecentlyUsed(xen::Domid domid) const {
  if (timeout_ <= absl::ZeroDuration()) return false;
  std::FILE* f = std::fopen(path_.c_str(), "re");
  if (!f) {
    if (errno == ENOENT) return false;
    return xen::ErrnoToStatus(errno, "open " + path_);
  }
  flock(fileno(f), LOCK_SH);
  const std::vector<Entry> entries = ReadEntries(f);
  std::fclose(f);  // also releases the lock
  const uint64_t now = MonotonicSeconds();
  for (const Entry& e : entries) {
    if (e.domid == domid && now - e.at_s <= TimeoutSeconds()) return true;
  }
  return false;
}

absl::Status DomidHistory::Mark(xen::Domid domid) const {
  if (timeout_ <= absl::ZeroDuration()) return absl::OkStatus();
  int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return xen::ErrnoToStatus(errno, "open " + path_);
  std::FILE* f = fdopen(fd, "r+");
  if (!f) {
    close(fd);
    return xen::ErrnoToStatus(errno, "fdopen " + path_);
  }
  flock(fd, LOCK_EX);
  // Entries past the timeout are dropped, as libxl does.
  const uint64_t now = MonotonicSeconds();
  std::string text;
  for (const Entry& e : ReadEntries(f)) {
    if (now - e.at_s <= TimeoutSeconds() && e.domid != domid) {
      absl::StrAppend(&text, e.at_s, " ", e.domid, "\n");
    }
  }
  absl::StrAppend(&text, now, " ", domid, "\n");
  std::rewind(f);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
  const int rc = ftruncate(fd, static_cast<off_t>(text.size()));
  const int err = errno;
  std::fclose(f);  // also releases the lock
  return rc == 0 ? absl::OkStatus() : xen::ErrnoToStatus(err, "truncate");
}

}  // namespace xenlet::sim
