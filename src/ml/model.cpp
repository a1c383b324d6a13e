#include "ml/model.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "ml/algorithms.h"

namespace playground::ml {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kTaskNames[] = {"binary", "multiclass", "regression", "clustering"};

std::string FormatBound(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string Accepts(const ParamSpec& p) {
  switch (p.type) {
    case ParamSpec::Type::kInteger: return "an integer from " + FormatBound(p.min) + " to " + FormatBound(p.max);
    case ParamSpec::Type::kNumber: return "a number from " + FormatBound(p.min) + " to " + FormatBound(p.max);
    case ParamSpec::Type::kBoolean: return "true or false";
    case ParamSpec::Type::kChoice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < p.choices.size(); ++i) out += (i ? ", " : "") + p.choices[i];
      return out;
    }
  }
  return {};
}

std::string_view TypeName(ParamSpec::Type type) {
  switch (type) {
    case ParamSpec::Type::kInteger: return "integer";
    case ParamSpec::Type::kNumber: return "number";
    case ParamSpec::Type::kBoolean: return "boolean";
    case ParamSpec::Type::kChoice: return "choice";
  }
  return "number";
}

nlohmann::json CheckValue(const ParamSpec& p, const nlohmann::json& value) {
  auto refuse = [&] {
    Fail(ErrorCode::kValidation, "parameter '" + p.name + "' must be " + Accepts(p) + " (got " + value.dump() + ")");
  };
  switch (p.type) {
    case ParamSpec::Type::kInteger: {
      if (!value.is_number()) refuse();
      double v = value.get<double>();
      if (std::floor(v) != v || v < p.min || v > p.max) refuse();
      return static_cast<std::int64_t>(v);
    }
    case ParamSpec::Type::kNumber: {
      if (!value.is_number()) refuse();
      double v = value.get<double>();
      if (!std::isfinite(v) || v < p.min || v > p.max) refuse();
      return v;
    }
    case ParamSpec::Type::kBoolean:
      if (!value.is_boolean()) refuse();
      return value;
    case ParamSpec::Type::kChoice:
      if (!value.is_string()) refuse();
      for (const auto& choice : p.choices) {
        if (choice == value.get<std::string>()) return value;
      }
      refuse();
  }
  return value;
}

}  // namespace

std::string_view TaskName(Task task) { return kTaskNames[static_cast<int>(task)]; }

Task ParseTask(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kTaskNames[i] == name) return static_cast<Task>(i);
  }
  Fail(ErrorCode::kValidation,
       "unknown task '" + std::string(name) + "'; use one of binary, multiclass, regression, clustering");
}

void TrainContext::Report(double fraction, std::string_view stage) const {
  if (progress && !progress(fraction, stage)) Fail(ErrorCode::kConflict, "training was cancelled");
}

const std::vector<AlgorithmSpec>& Algorithms() {
  static const std::vector<AlgorithmSpec> registry = [] {
    std::vector<AlgorithmSpec> all;
    for (auto family :
         {detail::TreeAlgorithms, detail::LinearAlgorithms, detail::LiblinearAlgorithms, detail::NeighbourAlgorithms}) {
      for (auto& spec : family()) all.push_back(std::move(spec));
    }
    return all;
  }();
  return registry;
}

const AlgorithmSpec& FindAlgorithm(std::string_view name) {
  std::string known;
  for (const auto& spec : Algorithms()) {
    if (spec.name == name) return spec;
    known += (known.empty() ? "" : ", ") + spec.name;
  }
  Fail(ErrorCode::kValidation, "unknown algorithm '" + std::string(name) + "'; use one of " + known);
}

nlohmann::json ResolveParams(const AlgorithmSpec& algorithm, const nlohmann::json& given) {
  if (!given.is_null() && !given.is_object()) {
    Fail(ErrorCode::kValidation, "parameters must be a JSON object");
  }
  nlohmann::json resolved = nlohmann::json::object();
  if (given.is_object()) {
    for (const auto& [key, value] : given.items()) {
      bool declared = false;
      for (const auto& p : algorithm.params) declared = declared || p.name == key;
      if (!declared) {
        std::string names;
        for (const auto& p : algorithm.params) names += (names.empty() ? "" : ", ") + p.name;
        Fail(ErrorCode::kValidation, "unknown parameter '" + key + "' for " + algorithm.name +
                                         (names.empty() ? "; it takes none" : "; it takes " + names));
      }
    }
  }
  for (const auto& p : algorithm.params) {
    if (given.is_object() && given.contains(p.name)) {
      resolved[p.name] = CheckValue(p, given.at(p.name));
    } else {
      resolved[p.name] = p.default_value;
    }
  }
  return resolved;
}

nlohmann::json DescribeAlgorithm(const AlgorithmSpec& algorithm) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : algorithm.params) {
    nlohmann::json entry = {
        {"name", p.name}, {"type", TypeName(p.type)}, {"default", p.default_value}, {"help", p.help}};
    if (p.type == ParamSpec::Type::kInteger || p.type == ParamSpec::Type::kNumber) {
      entry["minimum"] = p.min;
      entry["maximum"] = p.max;
    }
    if (p.type == ParamSpec::Type::kChoice) entry["choices"] = p.choices;
    params.push_back(std::move(entry));
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (auto task : algorithm.tasks) tasks.push_back(TaskName(task));
  return {{"name", algorithm.name},
          {"title", algorithm.title},
          {"library", algorithm.library},
          {"tasks", tasks},
          {"parameters", params}};
}

std::string AlgorithmsMarkdown() {
  std::ostringstream out;
  out << "| algorithm | tasks | library |\n| --- | --- | --- |\n";
  for (const auto& a : Algorithms()) {
    std::string tasks;
    for (auto task : a.tasks) tasks += (tasks.empty() ? "" : ", ") + std::string(TaskName(task));
    out << "| `" << a.name << "` (" << a.title << ") | " << tasks << " | " << a.library << " |\n";
  }
  out << "\n| algorithm | parameter | default | accepts | meaning |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& a : Algorithms()) {
    for (const auto& p : a.params) {
      out << "| `" << a.name << "` | `" << p.name << "` | `" << p.default_value.dump() << "` | " << Accepts(p) << " | "
          << p.help << " |\n";
    }
  }
  return out.str();
}

std::unique_ptr<Model> MakeModel(std::string_view name, const ModelSpec& spec) {
  const auto& algorithm = FindAlgorithm(name);
  bool supported = false;
  for (auto task : algorithm.tasks) supported = supported || task == spec.task;
  if (!supported) {
    std::string tasks;
    for (auto task : algorithm.tasks) tasks += (tasks.empty() ? "" : ", ") + std::string(TaskName(task));
    Fail(ErrorCode::kValidation,
         algorithm.name + " does not do " + std::string(TaskName(spec.task)) + " tasks; it does " + tasks);
  }
  return algorithm.make(spec);
}

}  // namespace playground::ml
