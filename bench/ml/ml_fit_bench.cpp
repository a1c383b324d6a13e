// The playground side of the ML fit benchmark: loads the CSVs written by bench/ml/generate.py,
// trains each registered algorithm that has a scikit-learn counterpart in sklearn_fit.py (default
// parameters, the given thread count) and prints the same JSON lines:
//   {"algorithm", "task", "library", "fit_seconds", "metric", "score"}
// Algorithms not registered in this build are skipped with a message on stderr. Each fit is
// repeated BENCH_REPEAT times (default 1) and the fastest reported; BENCH_ONLY=ALGORITHM, or the
// third argument, fits that algorithm only; BENCH_FIT_SEED=S (default 0) is the training seed.
// Usage: ml_fit_bench DATA_DIR [THREADS [ALGORITHM]]
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ml/metrics.h"
#include "ml/model.h"
#include "ml/thread_waits.h"

namespace {

using playground::ml::Matrix;

struct Table {
  Matrix x;
  std::vector<double> y;
};

// The generator's files only: a header, then plain numbers separated by commas; the last
// column is the target.
Table LoadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + "; run bench/ml/generate.py first");
  std::string line;
  std::getline(in, line);
  std::size_t columns = 1;
  for (char c : line) columns += c == ',' ? 1 : 0;
  std::vector<float> values;
  std::vector<double> y;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const char* at = line.data();
    const char* end = line.data() + line.size();
    for (std::size_t c = 0; c < columns; ++c) {
      double value = 0;
      auto [next, error] = std::from_chars(at, end, value);
      if (error != std::errc()) throw std::runtime_error("not a number in " + path + ": " + line);
      if (c + 1 < columns) {
        values.push_back(static_cast<float>(value));
      } else {
        y.push_back(value);
      }
      at = next < end ? next + 1 : end;
    }
  }
  Table table;
  table.x.rows = y.size();
  table.x.cols = columns - 1;
  table.x.values = std::move(values);
  table.y = std::move(y);
  return table;
}

// Minus the mean squared distance of a row to the mean of its cluster (as sklearn_fit.py).
double KMeansScore(const Matrix& x, const std::vector<double>& cluster) {
  std::size_t k = 0;
  for (double c : cluster) k = std::max(k, static_cast<std::size_t>(c) + 1);
  std::vector<double> sums(k * x.cols, 0.0);
  std::vector<double> counts(k, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r) {
    auto c = static_cast<std::size_t>(cluster[r]);
    counts[c] += 1;
    for (std::size_t j = 0; j < x.cols; ++j) sums[c * x.cols + j] += x.at(r, j);
  }
  double total = 0;
  for (std::size_t r = 0; r < x.rows; ++r) {
    auto c = static_cast<std::size_t>(cluster[r]);
    for (std::size_t j = 0; j < x.cols; ++j) {
      double d = x.at(r, j) - sums[c * x.cols + j] / counts[c];
      total += d * d;
    }
  }
  return -total / static_cast<double>(x.rows);
}

// k-means as in sklearn_fit.py (8 clusters, one initialisation), whatever this build's k-means
// calls those parameters.
nlohmann::json KMeansParams(const playground::ml::AlgorithmSpec& algorithm) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& p : algorithm.params) {
    if (p.name == "n_clusters" || p.name == "k" || p.name == "clusters") params[p.name] = 8;
    if (p.name == "n_init") params[p.name] = 1;
  }
  return params;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace playground::ml;
  UseShortThreadWaits(argv);  // as the server runs
  if (argc < 2) {
    std::fprintf(stderr, "usage: ml_fit_bench DATA_DIR [THREADS [ALGORITHM]]\n");
    return 2;
  }
  std::string dir = argv[1];
  int threads = argc > 2 ? std::stoi(argv[2]) : 2;
  std::string only = argc > 3 ? argv[3] : "";  // fit just this algorithm (for profiling)
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* env = std::getenv("BENCH_ONLY"); env != nullptr && only.empty()) only = env;
  // Each fit is repeated BENCH_REPEAT times and the fastest reported (as sklearn_fit.py does).
  int repeat = 1;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* env = std::getenv("BENCH_REPEAT"); env != nullptr) repeat = std::max(1, std::stoi(env));
  // BENCH_CONCURRENT=N fits N copies of each model at once, each on THREADS threads (as N training
  // jobs of one worker process); the time reported is until all of them are done.
  int concurrent = 1;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* env = std::getenv("BENCH_CONCURRENT"); env != nullptr) concurrent = std::max(1, std::stoi(env));
  std::uint64_t seed = 0;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* env = std::getenv("BENCH_FIT_SEED"); env != nullptr) seed = std::stoull(env);
  Table classification_train;
  Table classification_test;
  Table regression_train;
  Table regression_test;
  try {
    classification_train = LoadCsv(dir + "/classification_train.csv");
    classification_test = LoadCsv(dir + "/classification_test.csv");
    regression_train = LoadCsv(dir + "/regression_train.csv");
    regression_test = LoadCsv(dir + "/regression_test.csv");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }

  struct Run {
    const char* algorithm;
    Task task;
  };
  const Run runs[] = {{"random_forest", Task::kBinary},       {"gradient_boosting", Task::kBinary},
                      {"logistic_regression", Task::kBinary}, {"kmeans", Task::kClustering},
                      {"ridge", Task::kRegression},           {"gradient_boosting", Task::kRegression},
                      {"random_forest", Task::kRegression}};
  for (const auto& run : runs) {
    if (!only.empty() && only != run.algorithm) continue;
    const AlgorithmSpec* algorithm = nullptr;
    for (const auto& spec : Algorithms()) {
      if (spec.name == run.algorithm) algorithm = &spec;
    }
    if (algorithm == nullptr) {
      std::fprintf(stderr, "skipping %s: not registered in this build\n", run.algorithm);
      continue;
    }
    bool regression = run.task == Task::kRegression;
    const Table& train = regression ? regression_train : classification_train;
    const Table& test = regression ? regression_test : classification_test;
    try {
      ModelSpec spec;
      spec.task = run.task;
      spec.classes = run.task == Task::kBinary ? 2 : 0;
      spec.threads = threads;
      spec.params = ResolveParams(*algorithm,
                                  run.task == Task::kClustering ? KMeansParams(*algorithm) : nlohmann::json::object());
      TrainContext context;
      context.threads = threads;
      context.seed = seed;
      std::unique_ptr<Model> model;
      double seconds = std::numeric_limits<double>::infinity();
      auto fit = [&](Model& m) {
        if (run.task == Task::kClustering) {
          m.Fit(train.x, {}, context);
        } else {
          m.Fit(train.x, train.y, context);
        }
      };
      for (int attempt = 0; attempt < repeat; ++attempt) {
        model = MakeModel(run.algorithm, spec);
        std::vector<std::unique_ptr<Model>> others;
        for (int i = 1; i < concurrent; ++i) others.push_back(MakeModel(run.algorithm, spec));
        auto start = std::chrono::steady_clock::now();
        {
          std::vector<std::jthread> alongside;
          for (auto& other : others) alongside.emplace_back([&fit, &other] { fit(*other); });
          fit(*model);
        }
        seconds = std::min(seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      std::string metric;
      double score = 0;
      if (run.task == Task::kClustering) {
        metric = "-inertia/row";
        score = KMeansScore(train.x, model->Predict(train.x).values);
      } else if (regression) {
        metric = "r2";
        score = R2(test.y, model->Predict(test.x).values);
      } else {
        metric = "accuracy";
        score = Accuracy(test.y, model->Predict(test.x).values);
      }
      nlohmann::json line = {{"algorithm", run.algorithm},
                             {"task", TaskName(run.task)},
                             {"library", "playground (" + algorithm->library + ")"},
                             {"fit_seconds", std::round(seconds * 1000) / 1000},
                             {"metric", metric},
                             {"score", std::round(score * 1e5) / 1e5},
                             {"model_bytes", model->Save().size()}};
      std::cout << line.dump() << std::endl;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "skipping %s (%s): %s\n", run.algorithm, std::string(TaskName(run.task)).c_str(), e.what());
    }
  }
  return 0;
}
