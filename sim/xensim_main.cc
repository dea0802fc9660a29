// xensim: drive a simulated Xen host from the shell (see sim/README.md).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "sim/hypervisor_state.h"
#include "sim/sim_host.h"
#include "sim/simulated_guests.h"
#include "sim/toolstack.h"
#include "sim/xenstored_process.h"
#include "xen/errno_status.h"
#include "xen/libxenstore_client.h"

namespace xenlet::sim {
namespace {

using xen::HypercallKind;
using xen::ShutdownReason;

const std::map<std::string, ShutdownReason> kReasons = {
    {"poweroff", ShutdownReason::kPoweroff},
    {"reboot", ShutdownReason::kReboot},
    {"suspend", ShutdownReason::kSuspend},
    {"crash", ShutdownReason::kCrash},
    {"watchdog", ShutdownReason::kWatchdog},
    {"soft_reset", ShutdownReason::kSoftReset},
};

const std::map<std::string, HypercallKind> kKinds = {
    {"getdomaininfolist", HypercallKind::kGetDomainInfoList},
    {"getdomaininfo", HypercallKind::kGetDomainInfo},
    {"physinfo", HypercallKind::kPhysInfo},
    {"version", HypercallKind::kXenVersion},
    {"pause", HypercallKind::kPauseDomain},
    {"unpause", HypercallKind::kUnpauseDomain},
    {"destroy", HypercallKind::kDestroyDomain},
    {"shutdown", HypercallKind::kRemoteShutdown},
};

struct Paths {
  std::string dir;
  std::string state() const { return dir + "/state"; }
  std::string socket() const { return dir + "/socket"; }
  std::string pidfile() const { return dir + "/xenstored.pid"; }
  std::string trace() const { return dir + "/trace"; }
  std::string guests_pidfile() const { return dir + "/guests.pid"; }
  std::string guests_log() const { return dir + "/guests.log"; }
};

int Fail(const absl::Status& s) {
  std::cerr << "xensim: " << s << "\n";
  return 1;
}

pid_t ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = -1;
  in >> pid;
  return pid;
}

pid_t ReadPid(const Paths& p) { return ReadPidFile(p.pidfile()); }

// Whether pid is a process of this host: its environment names the
// host's directory (a pid may be reused).
bool IsHostProcess(pid_t pid, const Paths& p, const std::string& marker) {
  if (pid <= 0) return false;
  std::ifstream env(absl::StrCat("/proc/", pid, "/environ"));
  std::string all((std::istreambuf_iterator<char>(env)), {});
  return all.find(marker + "=" + p.dir + '\0') != std::string::npos;
}

constexpr char kGuestsMarker[] = "XENSIM_GUESTS_DIR";

// The simulated guests (and backends) of a host made by `up`: this program
// again, as `guests`, in a session of its own that outlives the command.
// Returns once they answer (their watch is registered): they say so on a
// pipe.
absl::Status StartGuestsDaemon(const Paths& p) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string log = p.guests_log();
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return xen::ErrnoToStatus(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(ready[0]);
    close(ready[1]);
    return xen::ErrnoToStatus(err, "fork");
  }
  if (pid == 0) {
    setsid();
    setenv(kGuestsMarker, p.dir.c_str(), 1);
    // Never the caller's stdout: whoever waits for `up` to finish must not
    // wait for the daemon too.
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out < 0) out = open("/dev/null", O_WRONLY);
    dup2(out, 1);
    dup2(out, 2);
    dup2(ready[1], 3);  // without O_CLOEXEC: for the exec'd daemon
    execl(self.c_str(), self.c_str(), "--dir", p.dir.c_str(), "guests",
          "--ready-fd", "3", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(ready[1]);
  std::ofstream(p.guests_pidfile()) << pid << "\n";
  pollfd fd{ready[0], POLLIN, 0};
  char byte = 0;
  const bool answered =
      poll(&fd, 1, 10000) == 1 && read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  if (!answered) {
    return absl::DeadlineExceededError(
        "the simulated guests did not start (see " + log + ")");
  }
  return absl::OkStatus();
}

absl::Status StopGuestsDaemon(const Paths& p) {
  const pid_t pid = ReadPidFile(p.guests_pidfile());
  std::filesystem::remove(p.guests_pidfile());
  if (!IsHostProcess(pid, p, kGuestsMarker)) return absl::OkStatus();
  return TerminateProcessGroup(pid, absl::Seconds(5));
}

// Runs the host's simulated guests until SIGTERM or SIGINT; once they
// answer, writes a byte to ready_fd (if >= 0) and closes it.
int RunGuests(const Paths& p, int ready_fd) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the thread starts
  auto state = HypervisorState::Open(p.state());
  if (!state.ok()) return Fail(state.status());
  const std::string socket = p.socket();
  {
    SimulatedGuests guests(
        [socket]() -> absl::StatusOr<std::unique_ptr<xen::XenstoreClient>> {
          return xen::OpenLibxenstoreClient({socket});
        },
        state->get());
    if (!guests.WaitReady(absl::Seconds(10))) {
      std::cout << "xensim guests: no xenstore watch after 10 s" << std::endl;
      return 1;
    }
    std::cout << "xensim guests: answering for " << p.dir << std::endl;
    if (ready_fd >= 0) {
      if (write(ready_fd, "1", 1) != 1) return 1;
      close(ready_fd);
    }
    int sig = 0;
    sigwait(&stop, &sig);
    std::cout << "xensim guests: " << guests.answered() << " requests, "
              << guests.backends_closed() << " backends closed" << std::endl;
  }
  return 0;
}

// A daemon xenstored for DIR that outlives this command.
absl::Status StartDaemon(const Paths& p, bool trace,
                         const std::string& binary) {
  auto preload = FindPreloadLibrary();
  if (!preload.ok()) return preload.status();
  XenstoredOptions o;
  o.binary = binary;
  o.rundir = p.dir;
  o.state_path = p.state();
  o.preload_path = *preload;
  if (trace) o.trace_path = p.trace();
  o.die_with_parent = false;
  auto process = XenstoredProcess::Start(o);
  if (!process.ok()) return process.status();
  std::ofstream(p.pidfile()) << (*process)->pid() << "\n";
  (*process)->Detach();
  return absl::OkStatus();
}

absl::Status StopDaemon(const Paths& p) {
  pid_t pid = ReadPid(p);
  if (pid <= 0) return absl::NotFoundError("no xenstored.pid in " + p.dir);
  std::filesystem::remove(p.pidfile());
  // Only our daemon: its environment names this run directory.
  if (!IsHostProcess(pid, p, "XENSTORED_RUNDIR")) {
    return absl::OkStatus();  // already gone (the pid may be reused)
  }
  return KillProcessGroup(pid, absl::Seconds(5));
}

void PrintEnv(const Paths& p) {
  auto preload = FindPreloadLibrary();
  std::cout << "export LD_PRELOAD=" << (preload.ok() ? *preload : "?") << "\n"
            << "export " << kStateEnv << "=" << p.state() << "\n"
            << "export XENSTORED_PATH=" << p.socket() << "\n";
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f =
      absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  if (f.size() < 13) return 0;
  double ticks = std::stod(f[11]) + std::stod(f[12]);  // utime + stime
  return ticks / sysconf(_SC_CLK_TCK);
}

// Domains created per second through the real xenstored, each on a fresh
// private host.
int Bench(const std::vector<int>& counts, int vcpus) {
  std::printf("%8s %10s %12s %14s %12s\n", "domains", "seconds", "domains/s",
              "xenstored_cpu", "destroy/s");
  for (int n : counts) {
    auto host = SimHost::Start();
    if (!host.ok()) return Fail(host.status());
    auto ts = (*host)->NewToolstack();
    if (!ts.ok()) return Fail(ts.status());
    const pid_t xs_pid = (*host)->xenstored()->pid();
    const double cpu0 = ProcessCpuSeconds(xs_pid);
    std::vector<Domid> domids;
    absl::Time start = absl::Now();
    for (int i = 0; i < n; ++i) {
      auto d = (*ts)->CreateDomain({.vcpus = static_cast<uint32_t>(vcpus)});
      if (!d.ok()) return Fail(d.status());
      domids.push_back(d->domid);
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    const double cpu = ProcessCpuSeconds(xs_pid) - cpu0;
    start = absl::Now();
    for (Domid d : domids) {
      if (auto s = (*ts)->DestroyDomain(d); !s.ok()) return Fail(s);
    }
    const double destroy = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("%8d %10.2f %12.1f %14.2f %12.1f\n", n, secs, n / secs, cpu,
                n / destroy);
    std::fflush(stdout);
  }
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "xensim: a simulated Xen host without Xen. A fake hypervisor (a "
      "preloaded shim answering libxenctrl's privcmd ioctls from a state "
      "file) and the real xenstored running under it, in one directory.\n"
      "Typical use:\n"
      "  xensim --dir /tmp/h1 up       # prints the env for other programs\n"
      "  xensim --dir /tmp/h1 create --count 10\n"
      "  xensim --dir /tmp/h1 list\n"
      "  xensim --dir /tmp/h1 down"};
  app.require_subcommand(1);
  Paths p;
  app.add_option("--dir", p.dir,
                 "The simulated host's directory: state file, xenstored "
                 "socket, log and trace (short: a unix socket path has at "
                 "most 107 bytes)")
      ->envname("XENLET_SIM_DIR");

  auto need_dir = [&]() {
    if (p.dir.empty()) throw CLI::ValidationError("--dir", "is required");
    p.dir = std::filesystem::absolute(p.dir).lexically_normal().string();
  };
  auto toolstack = [&]() -> std::unique_ptr<Toolstack> {
    need_dir();
    ToolstackOptions options;
    options.state_path = p.state();
    options.xenstore_socket = p.socket();
    options.guests_answer =
        IsHostProcess(ReadPidFile(p.guests_pidfile()), p, kGuestsMarker);
    auto ts = Toolstack::Open(options);
    if (!ts.ok()) throw CLI::RuntimeError(Fail(ts.status()));
    return std::move(*ts);
  };
  auto state = [&]() -> std::unique_ptr<HypervisorState> {
    need_dir();
    auto st = HypervisorState::Open(p.state());
    if (!st.ok()) throw CLI::RuntimeError(Fail(st.status()));
    return std::move(*st);
  };
  auto check = [](const absl::Status& s) {
    if (!s.ok()) throw CLI::RuntimeError(Fail(s));
  };

  // up / down / env / guests
  bool trace = false;
  int guests_ready_fd = -1;
  std::string binary = kDefaultXenstoredBinary;
  auto* up = app.add_subcommand(
      "up",
      "Create the host in --dir (a fresh state file with dom0) and start "
      "xenstored there as a daemon; prints the environment for programs "
      "to run against it");
  up->add_flag("--trace", trace,
               "Run xenstored with -T DIR/trace (every request logged)");
  up->add_option("--xenstored", binary, "The xenstored binary")
      ->capture_default_str();
  up->callback([&] {
    need_dir();
    std::filesystem::create_directories(p.dir);
    EnsureXlRuntimeDir();  // so that the real xl's destroy works
    if (ReadPid(p) > 0) StopDaemon(p).IgnoreError();
    StopGuestsDaemon(p).IgnoreError();
    // A fresh host: no domid history (a reboot empties /var/run).
    std::filesystem::remove(p.state() + ".domid-history");
    auto st = HypervisorState::Create(p.state());
    check(st.status());
    check(StartDaemon(p, trace, binary));
    check(StartGuestsDaemon(p));
    PrintEnv(p);
  });
  app.add_subcommand("down",
                     "Stop the host's xenstored and simulated guests (the "
                     "files stay)")
      ->callback([&] {
        need_dir();
        check(StopGuestsDaemon(p));
        check(StopDaemon(p));
      });
  app.add_subcommand("guests",
                     "Run the host's simulated guests in the foreground "
                     "(`up` starts them as a daemon): they answer "
                     "control/shutdown requests of any toolstack (the real "
                     "xl too) and close backends a destroy asks to close")
      ->callback([&] {
        need_dir();
        throw CLI::RuntimeError(RunGuests(p, guests_ready_fd));
      })
      ->add_option("--ready-fd", guests_ready_fd,
                   "A file descriptor to write one byte to once the guests "
                   "answer (what `up` waits for)");
  app.add_subcommand("env",
                     "Print LD_PRELOAD, XENLET_SIM_STATE and XENSTORED_PATH "
                     "for running a program (xenlet) against the host")
      ->callback([&] {
        need_dir();
        PrintEnv(p);
      });

  // xenstored kill|start|restart
  std::string xs_action;
  bool restore = false;
  auto* xs = app.add_subcommand(
      "xenstored",
      "kill: SIGKILL the daemon (clients see a lost connection); start: a "
      "new one (empty store); restart: both");
  xs->add_option("action", xs_action, "kill, start or restart")
      ->required()
      ->check(CLI::IsMember({"kill", "start", "restart"}));
  xs->add_flag("--restore", restore,
               "After starting, write every live domain's keys again and "
               "introduce it (the new store is empty)");
  xs->callback([&] {
    need_dir();
    if (xs_action != "start") check(StopDaemon(p));
    if (xs_action != "kill") {
      check(StartDaemon(p, std::filesystem::exists(p.trace()), binary));
      if (restore) check(toolstack()->RestoreDomains());
    }
  });

  // create
  int count = 1;
  DomainSpec spec;
  Domid want_domid = 0;
  bool paused = false;
  auto* create = app.add_subcommand(
      "create",
      "Create domains in libxl 4.17's steps: hypervisor domain (paused, no "
      "vCPU, no memory), libxl's make transaction, the build (vCPUs, "
      "memory), its post transaction, introduce, console and NIC, unpause");
  create->add_option("--count", count, "How many")->capture_default_str();
  create->add_option("--name", spec.name, "Name (default sim-DOMID)");
  create->add_option("--memory", spec.memory_mib, "Memory in MiB")
      ->capture_default_str();
  create->add_option("--vcpus", spec.vcpus, "vCPUs")->capture_default_str();
  create->add_flag("--hvm", spec.hvm, "An HVM guest (default PV)");
  create->add_option("--domid", want_domid,
                     "This domid (default: Xen picks the next free one)");
  create->add_flag("--paused", paused, "Leave it paused (no unpause)");
  create->callback([&] {
    auto ts = toolstack();
    spec.start = !paused;
    if (want_domid) spec.domid = want_domid;
    for (int i = 0; i < count; ++i) {
      auto d = ts->CreateDomain(spec);
      check(d.status());
      std::cout << d->domid << " " << d->uuid << " " << d->name << "\n";
    }
  });

  // list
  app.add_subcommand("list", "List the hypervisor's domains")->callback([&] {
    auto st = state();
    auto xs = xen::OpenLibxenstoreClient({p.socket()});
    std::printf("%6s  %-36s  %-20s %8s %5s  %s\n", "DOMID", "UUID", "STATE",
                "MEM_MIB", "VCPUS", "NAME");
    for (Domid d : st->Domids()) {
      auto info = st->Info(d);
      if (!info.ok()) continue;
      std::array<uint8_t, 16> u;
      std::copy(std::begin(info->handle), std::end(info->handle), u.begin());
      std::string name = d == 0 ? "Domain-0" : "";
      if (d != 0 && xs.ok()) {
        auto n = (*xs)->Read(xen::DomainPath(d) + "/name");
        if (n.ok()) name = *n;
      }
      std::printf("%6u  %-36s  %-20s %8llu %5u  %s\n", d, FormatUuid(u).c_str(),
                  DescribeState(*info).c_str(),
                  static_cast<unsigned long long>(info->tot_pages >> 8),
                  info->nr_online_vcpus, name.c_str());
    }
  });

  // pause / unpause / shutdown / destroy
  std::vector<Domid> domids;
  auto* pause = app.add_subcommand("pause", "Pause domains (hypercall)");
  pause->add_option("domid", domids, "Domain ids")->required();
  pause->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) check(ts->PauseDomain(d));
  });
  auto* unpause = app.add_subcommand("unpause", "Unpause domains (hypercall)");
  unpause->add_option("domid", domids, "Domain ids")->required();
  unpause->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) check(ts->UnpauseDomain(d));
  });
  std::string reason = "poweroff";
  auto* shutdown = app.add_subcommand(
      "shutdown",
      "Shut domains down with a reason: the request goes through "
      "control/shutdown (poweroff, reboot, suspend, soft_reset), the guest "
      "acknowledges it and the hypervisor marks the domain shut down");
  shutdown->add_option("domid", domids, "Domain ids")->required();
  shutdown->add_option("--reason", reason, "The shutdown reason")
      ->check(CLI::IsMember(
          {"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}))
      ->capture_default_str();
  shutdown->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) check(ts->ShutdownDomain(d, kReasons.at(reason)));
  });
  auto* resume = app.add_subcommand(
      "resume",
      "Resume shut-down (suspended) domains: they run again on the same "
      "domid, their shutdown code invalid again (XEN_DOMCTL_resumedomain)");
  resume->add_option("domid", domids, "Domain ids")->required();
  resume->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) check(ts->ResumeDomain(d));
  });
  std::string code = "crash";
  auto* shutdown_code = app.add_subcommand(
      "shutdown-code",
      "As the guest itself (SCHEDOP_shutdown_code): set the code a later "
      "shutdown reports while the domain keeps running; the first code "
      "given sticks");
  shutdown_code->add_option("domid", domids, "Domain ids")->required();
  shutdown_code->add_option("--reason", code, "The shutdown code")
      ->check(CLI::IsMember(
          {"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}))
      ->capture_default_str();
  shutdown_code->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) {
      check(ts->GuestSetShutdownCode(d, kReasons.at(code)));
    }
  });
  auto* destroy = app.add_subcommand(
      "destroy",
      "Destroy domains: hypervisor first (dying), keys removed, released, "
      "then the domid is free");
  destroy->add_option("domid", domids, "Domain ids")->required();
  destroy->callback([&] {
    auto ts = toolstack();
    for (Domid d : domids) check(ts->DestroyDomain(d));
  });

  // populate
  int populate_count = 0;
  Domid populate_first = 1;
  auto* populate = app.add_subcommand(
      "populate",
      "Add running domains on the hypervisor side only (no xenstore keys, "
      "not introduced): for sweeps over up to 32751 domains");
  populate->add_option("count", populate_count, "How many")->required();
  populate->add_option("--first", populate_first, "First domid")
      ->capture_default_str();
  populate->callback([&] {
    auto st = state();
    check(st->Mutate([&](DomainTable& t) {
      int added = 0;
      for (Domid d = populate_first;
           added < populate_count && d < xen::kDomidFirstReserved; ++d) {
        if (t.Present(d)) continue;
        DomainConfig c;
        c.uuid = RandomUuid();
        if (auto s = t.Add(d, c); !s.ok()) return s;
        t.Domain(d).pause_count = 0;
        xlsim_account(t.header(), d, &t.Domain(d));
        ++added;
      }
      return absl::OkStatus();
    }));
  });

  // faults
  std::string kind;
  int err = 0;
  uint32_t fail_count = 1;
  auto* fault = app.add_subcommand(
      "fault", "Make the next COUNT hypercalls of KIND fail with ERRNO");
  fault->add_option("kind", kind, "Hypercall kind")
      ->required()
      ->check(CLI::IsMember({"getdomaininfolist", "getdomaininfo", "physinfo",
                             "version", "pause", "unpause", "destroy",
                             "shutdown"}));
  fault->add_option("--errno", err, "The errno (e.g. 11 for EAGAIN)")
      ->required();
  fault->add_option("--count", fail_count, "How many calls")
      ->capture_default_str();
  fault->callback(
      [&] { state()->InjectError(kKinds.at(kind), err, fail_count); });
  uint32_t delay_us = 0;
  auto* delay = app.add_subcommand(
      "delay", "Delay every hypercall of KIND by US microseconds (0 clears)");
  delay->add_option("kind", kind, "Hypercall kind")
      ->required()
      ->check(CLI::IsMember({"getdomaininfolist", "getdomaininfo", "physinfo",
                             "version", "pause", "unpause", "destroy",
                             "shutdown"}));
  delay->add_option("--us", delay_us, "Microseconds")->required();
  delay->callback([&] {
    state()->SetDelay(kKinds.at(kind), absl::Microseconds(delay_us));
  });
  app.add_subcommand("clear-faults", "Remove every injected error and delay")
      ->callback([&] { state()->ClearFaults(); });

  // stats
  bool reset = false;
  auto* stats = app.add_subcommand(
      "stats", "Hypercall counts by kind (every process on the host)");
  stats->add_flag("--reset", reset, "Reset the counts afterwards");
  stats->callback([&] {
    auto st = state();
    HypercallCounts c = st->Counts();
    for (const auto& [name, k] : kKinds) {
      std::cout << name << " " << c.Get(k) << "\n";
    }
    std::cout << "other " << c.other << "\ndomains " << st->DomainCount()
              << "\ngeneration " << st->Generation() << "\n";
    if (reset) st->ResetCounts();
  });

  // bench
  std::string bench_counts = "100,1000";
  int bench_vcpus = 1;
  auto* bench = app.add_subcommand(
      "bench",
      "Measure domains created per second through the real xenstored (each "
      "count on a fresh private host in /tmp; a create is libxl's steps, "
      "as `create` does), and destroyed per second");
  bench->add_option("--domains", bench_counts, "Comma-separated counts")
      ->capture_default_str();
  bench->add_option("--vcpus", bench_vcpus, "vCPUs per domain")
      ->capture_default_str();
  int bench_rc = 0;
  bench->callback([&] {
    std::vector<int> counts;
    for (auto part : absl::StrSplit(bench_counts, ',', absl::SkipEmpty())) {
      int n;
      if (!absl::SimpleAtoi(part, &n)) {
        throw CLI::ValidationError("--domains", "not a number");
      }
      counts.push_back(n);
    }
    bench_rc = Bench(counts, bench_vcpus);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return bench_rc;
}

}  // namespace
}  // namespace xenlet::sim

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return xenlet::sim::Main(argc, argv);
}
