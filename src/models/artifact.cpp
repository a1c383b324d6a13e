#include "models/artifact.h"

#include <exception>

#include "core/digest.h"
#include "core/error.h"

namespace playground::models {
namespace {

using core::ErrorCode;
using core::Fail;
using nlohmann::json;

constexpr std::size_t kDigestBytes = 32;

json::binary_t Blob(const std::string& bytes) {
  return json::binary_t(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

std::string FromBlob(const json& j) {
  const auto& b = j.get_binary();
  return {b.begin(), b.end()};
}

}  // namespace

json InfoJson(const ArtifactInfo& info) {
  return {{"format", kArtifactFormat},
          {"model_id", info.model_id},
          {"name", info.name},
          {"version", info.version},
          {"algorithm", info.algorithm},
          {"task", ml::TaskName(info.task)},
          {"class_names", info.class_names},
          {"target", info.target},
          {"params", info.params},
          {"preprocessing", info.preprocessing},
          {"input_schema", info.input_schema},
          {"feature_names", info.feature_names},
          {"feature_importance", info.feature_importance},
          {"metrics", info.metrics},
          {"training", info.training}};
}

std::string EncodeArtifact(const ArtifactInfo& info, const ml::Pipeline& pipeline, const ml::Model& model) {
  json doc = InfoJson(info);
  doc["pipeline"] = json::binary(Blob(pipeline.Save()));
  doc["model"] = json::binary(Blob(model.Save()));
  std::vector<std::uint8_t> cbor = json::to_cbor(doc);
  std::string out(kArtifactMagic);
  out.append(reinterpret_cast<const char*>(cbor.data()), cbor.size());
  out += core::Sha256(out);
  return out;
}

std::shared_ptr<const LoadedModel> DecodeArtifact(std::string_view bytes) {
  if (bytes.size() < kArtifactMagic.size() + kDigestBytes || bytes.substr(0, kArtifactMagic.size()) != kArtifactMagic) {
    Fail(ErrorCode::kInternal, "not a model artifact (no PGMODEL1 header)");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kDigestBytes);
  if (core::Sha256(body) != bytes.substr(body.size()))
    Fail(ErrorCode::kInternal, "model artifact is damaged (checksum)");
  auto loaded = std::make_shared<LoadedModel>();
  try {
    std::string_view cbor = body.substr(kArtifactMagic.size());
    json doc = json::from_cbor(cbor.begin(), cbor.end());
    if (doc.at("format") != kArtifactFormat) throw std::runtime_error("unknown format version");
    ArtifactInfo& info = loaded->info;
    info.model_id = doc.at("model_id");
    info.name = doc.at("name");
    info.version = doc.at("version");
    info.algorithm = doc.at("algorithm");
    info.task = ml::ParseTask(doc.at("task").get<std::string>());
    info.class_names = doc.at("class_names").get<std::vector<std::string>>();
    info.target = doc.at("target");
    info.params = doc.at("params");
    info.preprocessing = doc.at("preprocessing");
    info.input_schema = doc.at("input_schema");
    info.feature_names = doc.at("feature_names").get<std::vector<std::string>>();
    info.feature_importance = doc.at("feature_importance").get<std::vector<double>>();
    info.metrics = doc.at("metrics");
    info.training = doc.at("training");
    loaded->pipeline = ml::Pipeline::Load(FromBlob(doc.at("pipeline")));
    // One thread per prediction: requests already run on many handler threads, and an OpenMP
    // team per request would oversubscribe the cores (and spin in its barriers).
    ml::ModelSpec spec{info.task, info.class_names.size(), info.params, 1};
    loaded->model = ml::MakeModel(info.algorithm, spec);
    loaded->model->Load(FromBlob(doc.at("model")));
  } catch (const std::exception& e) {
    Fail(ErrorCode::kInternal, std::string("model artifact cannot be read: ") + e.what());
  }
  return loaded;
}

}  // namespace playground::models
