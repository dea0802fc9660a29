// Leaks LeakSanitizer reports in Debian's libraries rather than in the
// project's code, each with why it is not the project's to fix. The
// sanitizer runtime calls this at start (no file to find at test time).
extern "C" const char* __lsan_default_suppressions() {
  return
      // c-ares (gRPC's DNS resolver) keeps a few small allocations of its
      // channel for the process's life.
      "leak:libcares.so\n";
}
