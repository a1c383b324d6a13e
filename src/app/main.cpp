#include "app/app.h"
#include "ml/thread_waits.h"

int main(int argc, char** argv) {
  playground::ml::UseShortThreadWaits(argv);
  return playground::app::Main(argc, argv);
}
