// Runs a libFuzzer target's LLVMFuzzerTestOneInput without libFuzzer: on
// every file of its committed corpus, then on deterministic mutations of
// them (a fixed seed), so that the normal build and test run checks the
// targets too. The real fuzzing is `tools/fuzz.sh` (clang, libFuzzer).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::string> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(in),
                        std::istreambuf_iterator<char>());
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "no corpus in %s\n", argv[1]);
    return 1;
  }
  std::mt19937 rng(20261203);
  size_t runs = 0;
  for (const std::string& input : inputs) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
    ++runs;
    for (int i = 0; i < 2000; ++i) {
      std::string m = input;
      const int edits = 1 + rng() % 4;
      for (int e = 0; e < edits; ++e) {
        switch (rng() % 3) {
          case 0:
            if (!m.empty()) m[rng() % m.size()] = static_cast<char>(rng());
            break;
          case 1:
            m.insert(m.begin() + (m.empty() ? 0 : rng() % m.size()),
                     static_cast<char>(rng()));
            break;
          case 2:
            if (!m.empty()) m.erase(m.begin() + rng() % m.size());
            break;
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(m.data()),
                             m.size());
      ++runs;
    }
  }
  std::printf("%zu inputs run, none crashed\n", runs);
  return 0;
}
