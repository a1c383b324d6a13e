// Test-only helpers for the ml module's unit tests: the sample datasets in tests/fixtures as
// matrices, split by the row indices in tests/fixtures/ml/splits.json (made by scikit-learn, so
// the C++ tests and the reference scores use the same rows). Every feature of these files is
// numeric; the target's classes are numbered in sorted order, as scikit-learn's LabelEncoder does.
#pragma once

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ml/model.h"

namespace playground::ml::testing {

inline std::string FixturePath(const std::string& relative) {
  return std::string(PLAYGROUND_FIXTURES_DIR) + "/" + relative;
}

inline nlohmann::json ReadJsonFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative));
  if (!in) throw std::runtime_error("missing fixture " + relative);
  return nlohmann::json::parse(in);
}

struct Sample {
  Matrix x;
  std::vector<double> y;
  std::vector<std::string> feature_names;
  std::vector<std::string> class_names;  // empty for regression
};

struct SplitSample {
  Sample train;
  Sample test;
  Task task = Task::kBinary;
};

// Reads tests/fixtures/datasets/<name>.csv (no quoting in these files).
inline Sample LoadSample(const std::string& name, const std::string& target, bool classification) {
  std::ifstream in(FixturePath("datasets/" + name + ".csv"));
  if (!in) throw std::runtime_error("missing dataset " + name);
  auto split_line = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream stream(line);
    std::string cell;
    while (std::getline(stream, cell, ',')) cells.push_back(cell);
    return cells;
  };
  std::string line;
  std::getline(in, line);
  auto header = split_line(line);
  auto target_at = static_cast<std::size_t>(std::find(header.begin(), header.end(), target) - header.begin());
  if (target_at == header.size()) throw std::runtime_error("no column " + target);
  Sample sample;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(split_line(line));
  }
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (c != target_at) sample.feature_names.push_back(header[c]);
  }
  std::map<std::string, double> classes;
  if (classification) {
    for (const auto& row : rows) classes[row[target_at]] = 0;
    double next = 0;
    for (auto& [label, index] : classes) {
      index = next++;
      sample.class_names.push_back(label);
    }
  }
  sample.x = Matrix(rows.size(), header.size() - 1);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::size_t out = 0;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (c == target_at) continue;
      sample.x.at(r, out++) = std::stof(rows[r][c]);
    }
    sample.y.push_back(classification ? classes[rows[r][target_at]] : std::stod(rows[r][target_at]));
  }
  return sample;
}

inline Sample TakeRows(const Sample& from, const std::vector<std::size_t>& rows) {
  Sample out;
  out.feature_names = from.feature_names;
  out.class_names = from.class_names;
  out.x = Matrix(rows.size(), from.x.cols);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(from.x.values.begin() + static_cast<std::ptrdiff_t>(rows[i] * from.x.cols), from.x.cols,
                out.x.values.begin() + static_cast<std::ptrdiff_t>(i * from.x.cols));
    out.y.push_back(from.y[rows[i]]);
  }
  return out;
}

// One of iris, wine, breast_cancer, digits (classification) or diabetes (regression).
inline SplitSample LoadSplit(const std::string& name) {
  auto splits = ReadJsonFixture("ml/splits.json");
  const auto& entry = splits.at(name);
  std::string task = entry.at("task");
  bool classification = task != "regression";
  auto all = LoadSample(name, entry.at("target"), classification);
  SplitSample split;
  split.task = ParseTask(task);
  split.train = TakeRows(all, entry.at("train").get<std::vector<std::size_t>>());
  split.test = TakeRows(all, entry.at("test").get<std::vector<std::size_t>>());
  return split;
}

}  // namespace playground::ml::testing
