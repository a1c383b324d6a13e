#include "ml/model.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace playground::ml {
namespace {

TEST(ModelRegistryTest, TasksRoundTrip) {
  for (auto task : {Task::kBinary, Task::kMulticlass, Task::kRegression, Task::kClustering}) {
    EXPECT_EQ(ParseTask(TaskName(task)), task);
  }
  EXPECT_THROW(ParseTask("ranking"), core::Error);
}

TEST(ModelRegistryTest, UnknownAlgorithmNamesTheKnownOnes) {
  try {
    FindAlgorithm("deep_magic");
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
    EXPECT_NE(std::string(e.what()).find("deep_magic"), std::string::npos);
  }
}

TEST(ModelRegistryTest, ResolveParamsFillsDefaultsAndRefusesOutOfRange) {
  AlgorithmSpec spec;
  spec.name = "demo";
  spec.params = {{"depth", ParamSpec::Type::kInteger, 1, 10, 3, {}, "tree depth"},
                 {"rate", ParamSpec::Type::kNumber, 0, 1, 0.1, {}, "learning rate"},
                 {"kind", ParamSpec::Type::kChoice, 0, 0, "a", {"a", "b"}, "which"},
                 {"flag", ParamSpec::Type::kBoolean, 0, 0, false, {}, "a switch"}};
  auto resolved = ResolveParams(spec, {{"depth", 5}});
  EXPECT_EQ(resolved["depth"], 5);
  EXPECT_EQ(resolved["rate"], 0.1);
  EXPECT_EQ(resolved["kind"], "a");
  EXPECT_EQ(resolved["flag"], false);

  auto message = [&](const nlohmann::json& given) {
    try {
      ResolveParams(spec, given);
    } catch (const core::Error& e) {
      EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({{"depth", 11}}), "parameter 'depth' must be an integer from 1 to 10 (got 11)");
  EXPECT_EQ(message({{"depth", 2.5}}), "parameter 'depth' must be an integer from 1 to 10 (got 2.5)");
  EXPECT_EQ(message({{"rate", "fast"}}), "parameter 'rate' must be a number from 0 to 1 (got \"fast\")");
  EXPECT_EQ(message({{"kind", "c"}}), "parameter 'kind' must be one of a, b (got \"c\")");
  EXPECT_EQ(message({{"flag", 1}}), "parameter 'flag' must be true or false (got 1)");
  EXPECT_NE(message({{"colour", 1}}).find("unknown parameter 'colour'"), std::string::npos);
  EXPECT_EQ(message(nlohmann::json::array()), "parameters must be a JSON object");
}

TEST(ModelRegistryTest, EveryDeclaredDefaultIsValid) {
  for (const auto& algorithm : Algorithms()) {
    SCOPED_TRACE(algorithm.name);
    EXPECT_NO_THROW(ResolveParams(algorithm, nlohmann::json::object()));
    EXPECT_FALSE(algorithm.tasks.empty());
    EXPECT_TRUE(algorithm.make);
  }
}

TEST(ModelRegistryTest, MarkdownListsEveryAlgorithmAndParameter) {
  std::string markdown = AlgorithmsMarkdown();
  for (const auto& algorithm : Algorithms()) {
    EXPECT_NE(markdown.find("| `" + algorithm.name + "` (" + algorithm.title + ")"), std::string::npos);
    for (const auto& p : algorithm.params) {
      EXPECT_NE(markdown.find("| `" + algorithm.name + "` | `" + p.name + "` |"), std::string::npos) << p.name;
    }
  }
}

}  // namespace
}  // namespace playground::ml
