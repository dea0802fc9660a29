// CPU time a process has used, from /proc: for the tools that report what
// the agent and xenstored cost during a storm.
#ifndef XENLET_COMMON_PROCESS_CPU_H_
#define XENLET_COMMON_PROCESS_CPU_H_

#include <sys/types.h>

namespace xenlet {

// utime + stime of pid in seconds (/proc/PID/stat), or -1 if unknown.
double ProcessCpuSeconds(pid_t pid);

}  // namespace xenlet

#endif  // XENLET_COMMON_PROCESS_CPU_H_
