#include "models/registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "core/digest.h"
#include "core/error.h"
#include "core/random.h"
#include "data/types.h"

namespace playground::models {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::Fail;
using nlohmann::json;

constexpr const char* kModelColumns =
    "id, owner_id, name, version, promoted, job_id, dataset_id, dataset_version, data_fingerprint, target, task, "
    "algorithm, params, preprocessing, preprocessing_id, input_schema, metrics, artifact_path, artifact_bytes, "
    "artifact_sha256, train_rows, test_rows, fit_seconds, created_at";
constexpr const char* kPreprocessingColumns = "id, owner_id, name, spec, created_at, updated_at";

std::string Iso(int64_t us) { return data::FormatDatetime(us); }

ModelRecord ModelFromRow(const store::Row& r) {
  ModelRecord m;
  m.id = r.Text(0);
  m.owner_id = r.Text(1);
  m.name = r.Text(2);
  m.version = r.Int(3);
  m.promoted = r.Int(4) != 0;
  m.job_id = r.Text(5);
  m.dataset_id = r.Text(6);
  m.dataset_version = r.Int(7);
  m.data_fingerprint = r.Text(8);
  m.target = r.Text(9);
  m.task = r.Text(10);
  m.algorithm = r.Text(11);
  m.params = json::parse(r.Text(12));
  m.preprocessing = json::parse(r.Text(13));
  m.preprocessing_id = r.OptText(14).value_or("");
  m.input_schema = json::parse(r.Text(15));
  m.metrics = json::parse(r.Text(16));
  m.artifact_path = r.Text(17);
  m.artifact_bytes = r.Int(18);
  m.artifact_sha256 = r.Text(19);
  m.train_rows = r.Int(20);
  m.test_rows = r.Int(21);
  m.fit_seconds = r.Double(22);
  m.created_at_us = r.Int(23);
  return m;
}

PreprocessingRecord PreprocessingFromRow(const store::Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), json::parse(r.Text(3)), r.Int(4), r.Int(5)};
}

// Writes `bytes` to `path` durably: a temporary file, fsync, rename, fsync of the folder.
void WriteDurably(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) Fail(ErrorCode::kInternal, "cannot write " + tmp.filename().string());
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(tmp, path);
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

json PreprocessingRecord::ToJson() const {
  return {{"id", id},
          {"owner_id", owner_id},
          {"name", name},
          {"spec", spec},
          {"created_at", Iso(created_at_us)},
          {"updated_at", Iso(updated_at_us)}};
}

json ModelRecord::ToJson() const {
  return {{"id", id},
          {"owner_id", owner_id},
          {"name", name},
          {"version", version},
          {"promoted", promoted},
          {"job_id", job_id},
          {"dataset_id", dataset_id},
          {"dataset_version", dataset_version},
          {"data_fingerprint", data_fingerprint},
          {"target", target.empty() ? json(nullptr) : json(target)},
          {"task", task},
          {"algorithm", algorithm},
          {"params", params},
          {"preprocessing", preprocessing},
          {"preprocessing_id", preprocessing_id.empty() ? json(nullptr) : json(preprocessing_id)},
          {"input_schema", input_schema},
          {"metrics", metrics},
          {"artifact", {{"bytes", artifact_bytes}, {"sha256", artifact_sha256}}},
          {"train_rows", train_rows},
          {"test_rows", test_rows},
          {"fit_seconds", fit_seconds},
          {"created_at", Iso(created_at_us)}};
}

ModelRegistry::ModelRegistry(store::Store& store, const core::Clock& clock, fs::path data_dir,
                             std::size_t loaded_capacity)
    : store_(store), clock_(clock), data_dir_(std::move(data_dir)), loaded_(loaded_capacity) {}

PreprocessingRecord ModelRegistry::CreatePreprocessing(const std::string& owner_id, const std::string& name,
                                                       const json& spec) {
  int64_t now = store::ToMicros(clock_.Now());
  PreprocessingRecord p{core::NewUuid(), owner_id, name, spec, now, now};
  store_.Exec("INSERT INTO preprocessings (" + std::string(kPreprocessingColumns) + ") VALUES (?, ?, ?, ?, ?, ?)",
              {p.id, p.owner_id, p.name, p.spec.dump(), now, now});
  return p;
}

std::optional<PreprocessingRecord> ModelRegistry::FindPreprocessing(const std::string& id) const {
  auto r = store_.Query("SELECT " + std::string(kPreprocessingColumns) + " FROM preprocessings WHERE id = ?", {id});
  if (r.rows.empty()) return std::nullopt;
  return PreprocessingFromRow(r.rows.front());
}

std::vector<PreprocessingRecord> ModelRegistry::ListPreprocessings(const std::string& owner_id, int64_t offset,
                                                                   int64_t limit, int64_t* total) const {
  std::string where = owner_id.empty() ? "" : " WHERE owner_id = ?";
  store::Params params;
  if (!owner_id.empty()) params.emplace_back(owner_id);
  if (total != nullptr) *total = store_.Query("SELECT COUNT(*) FROM preprocessings" + where, params).rows[0].Int(0);
  params.emplace_back(limit);
  params.emplace_back(offset);
  auto r = store_.Query("SELECT " + std::string(kPreprocessingColumns) + " FROM preprocessings" + where +
                            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                        params);
  std::vector<PreprocessingRecord> out;
  for (const auto& row : r.rows) out.push_back(PreprocessingFromRow(row));
  return out;
}

void ModelRegistry::DeletePreprocessing(const std::string& id) {
  if (store_.Exec("DELETE FROM preprocessings WHERE id = ?", {id}) == 0) {
    Fail(ErrorCode::kNotFound, "no preprocessing " + id);
  }
}

ModelRecord ModelRegistry::Store(NewModel model) {
  ModelRecord& m = model.record;
  if (auto earlier = FindByJob(m.job_id)) return *earlier;
  m.artifact_path = "models/" + m.id + ".model";
  m.artifact_bytes = static_cast<int64_t>(model.artifact.size());
  m.artifact_sha256 = core::Hex(core::Sha256(model.artifact));
  m.created_at_us = store::ToMicros(clock_.Now());
  fs::path file = data_dir_ / m.artifact_path;
  WriteDurably(file, model.artifact);
  try {
    store_.Transaction([&](store::Tx& tx) {
      auto v = tx.Query("SELECT COALESCE(MAX(version), 0) FROM models WHERE owner_id = ? AND name = ?",
                        {m.owner_id, m.name});
      m.version = v.rows.front().Int(0) + 1;
      tx.Exec("INSERT INTO models (" + std::string(kModelColumns) +
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {m.id,
               m.owner_id,
               m.name,
               m.version,
               int64_t{0},
               m.job_id,
               m.dataset_id,
               m.dataset_version,
               m.data_fingerprint,
               m.target,
               m.task,
               m.algorithm,
               m.params.dump(),
               m.preprocessing.dump(),
               m.preprocessing_id.empty() ? store::Value(nullptr) : store::Value(m.preprocessing_id),
               m.input_schema.dump(),
               m.metrics.dump(),
               m.artifact_path,
               m.artifact_bytes,
               m.artifact_sha256,
               m.train_rows,
               m.test_rows,
               m.fit_seconds,
               m.created_at_us});
      for (const auto& [kind, report] : model.evaluations) {
        tx.Exec("INSERT INTO evaluations (id, model_id, kind, report, created_at) VALUES (?, ?, ?, ?, ?)",
                {core::NewUuid(), m.id, kind, report.dump(), m.created_at_us});
      }
    });
  } catch (const core::Error& e) {
    std::error_code ec;
    fs::remove(file, ec);
    // Another attempt of the same job stored its model first (or took the version number: the
    // unique constraints answer kConflict either way).
    if (e.code() == ErrorCode::kConflict) {
      if (auto earlier = FindByJob(m.job_id)) return *earlier;
    }
    throw;
  }
  return m;
}

std::optional<ModelRecord> ModelRegistry::Find(const std::string& id) const {
  auto r = store_.Query("SELECT " + std::string(kModelColumns) + " FROM models WHERE id = ?", {id});
  if (r.rows.empty()) return std::nullopt;
  return ModelFromRow(r.rows.front());
}

std::optional<ModelRecord> ModelRegistry::FindByName(const std::string& owner_id, const std::string& name) const {
  auto r = store_.Query("SELECT " + std::string(kModelColumns) +
                            " FROM models WHERE owner_id = ? AND name = ? ORDER BY promoted DESC, version DESC LIMIT 1",
                        {owner_id, name});
  if (r.rows.empty()) return std::nullopt;
  return ModelFromRow(r.rows.front());
}

std::optional<ModelRecord> ModelRegistry::FindByJob(const std::string& job_id) const {
  auto r = store_.Query("SELECT " + std::string(kModelColumns) + " FROM models WHERE job_id = ?", {job_id});
  if (r.rows.empty()) return std::nullopt;
  return ModelFromRow(r.rows.front());
}

ModelPage ModelRegistry::List(const ModelQuery& q) const {
  std::string where = " WHERE 1 = 1";
  store::Params params;
  auto add = [&](const char* clause, const std::string& value) {
    if (value.empty()) return;
    where += clause;
    params.emplace_back(value);
  };
  add(" AND owner_id = ?", q.owner_id);
  add(" AND name = ?", q.name);
  add(" AND dataset_id = ?", q.dataset_id);
  add(" AND target = ?", q.target);
  ModelPage page;
  page.total = store_.Query("SELECT COUNT(*) FROM models" + where, params).rows.front().Int(0);
  params.emplace_back(q.limit);
  params.emplace_back(q.offset);
  auto r = store_.Query("SELECT " + std::string(kModelColumns) + " FROM models" + where +
                            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                        params);
  for (const auto& row : r.rows) page.items.push_back(ModelFromRow(row));
  return page;
}

void ModelRegistry::Delete(const ModelRecord& model) {
  int64_t removed = 0;
  store_.Transaction([&](store::Tx& tx) {
    tx.Exec("DELETE FROM evaluations WHERE model_id = ?", {model.id});
    removed = tx.Exec("DELETE FROM models WHERE id = ?", {model.id});
  });
  if (removed == 0) Fail(ErrorCode::kNotFound, "no model " + model.id);
  loaded_.Erase(model.id);
  std::error_code ec;
  fs::remove(ArtifactFile(model), ec);
}

ModelRecord ModelRegistry::Promote(const ModelRecord& model) {
  store_.Transaction([&](store::Tx& tx) {
    tx.Exec("UPDATE models SET promoted = 0 WHERE owner_id = ? AND name = ? AND promoted = 1",
            {model.owner_id, model.name});
    if (tx.Exec("UPDATE models SET promoted = 1 WHERE id = ?", {model.id}) == 0) {
      Fail(ErrorCode::kNotFound, "no model " + model.id);
    }
  });
  return *Find(model.id);
}

json ModelRegistry::Evaluations(const std::string& model_id) const {
  auto r = store_.Query("SELECT kind, report, created_at FROM evaluations WHERE model_id = ? ORDER BY kind DESC",
                        {model_id});
  json out = json::array();
  for (const auto& row : r.rows) {
    out.push_back({{"kind", row.Text(0)}, {"report", json::parse(row.Text(1))}, {"created_at", Iso(row.Int(2))}});
  }
  return out;
}

std::string ModelRegistry::ReadArtifact(const ModelRecord& model) const {
  std::ifstream in(ArtifactFile(model), std::ios::binary);
  if (!in) Fail(ErrorCode::kInternal, "the artifact of model " + model.id + " is missing");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (core::Hex(core::Sha256(bytes)) != model.artifact_sha256) {
    Fail(ErrorCode::kInternal, "the artifact of model " + model.id + " does not match its recorded checksum");
  }
  return bytes;
}

std::shared_ptr<const LoadedModel> ModelRegistry::Load(const ModelRecord& model) {
  return loaded_.GetOrLoad(model.id, [&] { return DecodeArtifact(ReadArtifact(model)); });
}

int ModelRegistry::RemoveLeftovers() {
  std::set<std::string> known;
  for (const auto& row : store_.Query("SELECT artifact_path FROM models").rows) known.insert(row.Text(0));
  int removed = 0;
  std::error_code ec;
  // A file younger than an hour may belong to a model being stored right now.
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::directory_iterator(data_dir_ / "models", ec)) {
    std::string rel = "models/" + e.path().filename().string();
    if (known.count(rel) != 0 || e.last_write_time(ec) > cutoff) continue;
    if (fs::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace playground::models
