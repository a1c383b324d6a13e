// The artifact file: a round trip predicts bit for bit what the trained model did, and a damaged,
// truncated or foreign file is refused; predictions name classes.
#include "models/artifact.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "ml/model.h"
#include "models/predict.h"

namespace playground::models {
namespace {

using nlohmann::json;

ml::Matrix Grid() {
  ml::Matrix x(40, 2);
  for (std::size_t i = 0; i < 40; ++i) {
    x.at(i, 0) = static_cast<float>(i % 8) * 0.5F;
    x.at(i, 1) = static_cast<float>(i / 8) * 0.25F;
  }
  return x;
}

std::vector<double> Labels() {
  std::vector<double> y;
  for (std::size_t i = 0; i < 40; ++i) y.push_back((i % 8) + (i / 8) > 5 ? 1 : 0);
  return y;
}

TEST(ArtifactTest, ARoundTripPredictsExactlyTheSameAndDamageIsRefused) {
  ml::ModelSpec spec{ml::Task::kBinary, 2, ml::ResolveParams(ml::FindAlgorithm("gradient_boosting"), {}), 1};
  auto model = ml::MakeModel("gradient_boosting", spec);
  ml::Matrix x = Grid();
  model->Fit(x, Labels(), ml::TrainContext{});
  ArtifactInfo info;
  info.model_id = "m1";
  info.name = "grid";
  info.version = 1;
  info.algorithm = "gradient_boosting";
  info.task = ml::Task::kBinary;
  info.class_names = {"no", "yes"};
  info.params = spec.params;
  info.preprocessing = json::object();
  info.input_schema = json::object();
  info.training = {{"threads", 1}};
  ml::Pipeline empty;
  std::string bytes = EncodeArtifact(info, empty, *model);
  ASSERT_EQ(bytes.substr(0, 8), "PGMODEL1");

  auto loaded = DecodeArtifact(bytes);
  EXPECT_EQ(loaded->info.name, "grid");
  EXPECT_EQ(loaded->info.class_names, info.class_names);
  ml::Predictions before = model->Predict(x);
  ml::Predictions after = loaded->model->Predict(x);
  EXPECT_EQ(before.values, after.values);
  EXPECT_EQ(before.probabilities, after.probabilities);  // bit for bit

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  EXPECT_THROW(DecodeArtifact(flipped), core::Error);
  EXPECT_THROW(DecodeArtifact(bytes.substr(0, bytes.size() - 1)), core::Error);
  EXPECT_THROW(DecodeArtifact("PGMODEL0" + bytes.substr(8)), core::Error);
  EXPECT_THROW(DecodeArtifact(""), core::Error);
}

TEST(ArtifactTest, PredictionValuesNameClassesAndKeepNumbers) {
  ArtifactInfo info;
  info.task = ml::Task::kMulticlass;
  info.class_names = {"a", "b", "c"};
  ml::Predictions p;
  p.values = {2, 0};
  EXPECT_EQ(PredictionValue(info, p, 0), "c");
  EXPECT_EQ(PredictionValue(info, p, 1), "a");
  info.task = ml::Task::kRegression;
  p.values = {1.5};
  EXPECT_EQ(PredictionValue(info, p, 0), 1.5);
  info.task = ml::Task::kClustering;
  p.values = {3};
  EXPECT_EQ(PredictionValue(info, p, 0), 3);
}

}  // namespace
}  // namespace playground::models
