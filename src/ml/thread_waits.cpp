#include "ml/thread_waits.h"

#include <unistd.h>

#include <cstdlib>

namespace playground::ml {

void UseShortThreadWaits(char** argv) {
  // NOLINTBEGIN(concurrency-mt-unsafe): called before any thread starts
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", kThreadWaitSpins, 1) != 0) return;
  // NOLINTEND(concurrency-mt-unsafe)
  execv("/proc/self/exe", argv);
}

}  // namespace playground::ml
