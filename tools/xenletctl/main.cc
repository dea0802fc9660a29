// xenletctl: see README.md. Everything but argv handling is in the library.
#include <iostream>

#include "tools/xenletctl/commands.h"

int main(int argc, char** argv) {
  return xenlet::ctl::RunCli(argc, argv, std::cout, std::cerr);
}
