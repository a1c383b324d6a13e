#include "datasets/catalog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/digest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/random.h"
#include "data/profile.h"

namespace playground::datasets {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::Fail;
using nlohmann::json;

constexpr std::string_view kColumns =
    "id, owner_id, name, source_format, source_name, source_bytes, source_sha256, delimiter, original_path, "
    "original_expires_at, version, data_path, profile_path, data_bytes, row_count, column_count, schema_json, "
    "timings_json, created_at, updated_at, data_updated_at";

// Leftovers younger than this may belong to an upload still running in some process.
constexpr auto kLeftoverAge = std::chrono::hours(6);
constexpr auto kCleanupInterval = std::chrono::hours(1);

struct CatalogMetrics {
  prometheus::Counter& bytes;
  prometheus::Counter& rows;
  prometheus::Histogram& duration;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Gauge& count;
  prometheus::Family<prometheus::Gauge>& last_update;

  static CatalogMetrics& Get() {
    auto& reg = core::Metrics::Global().registry();
    static CatalogMetrics m{
        prometheus::BuildCounter()
            .Name("dataset_ingested_bytes_total")
            .Help("Bytes of uploaded files converted into datasets (uploads and appended rows).")
            .Register(reg)
            .Add({}),
        prometheus::BuildCounter()
            .Name("dataset_ingested_rows_total")
            .Help("Rows converted into datasets (uploads and appended rows).")
            .Register(reg)
            .Add({}),
        prometheus::BuildHistogram()
            .Name("dataset_ingest_duration_seconds")
            .Help("Time from the first byte of an upload to its dataset being recorded, profile included.")
            .Register(reg)
            .Add({},
                 prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}),
        prometheus::BuildCounter()
            .Name("dataset_upload_failures_total")
            .Help("Uploads and appends refused, by reason (the problem type).")
            .Register(reg),
        prometheus::BuildGauge().Name("datasets").Help("Datasets in the catalog.").Register(reg).Add({}),
        prometheus::BuildGauge()
            .Name("dataset_last_update_timestamp_seconds")
            .Help("When each dataset last received data (upload or appended rows), Unix seconds.")
            .Register(reg),
    };
    return m;
  }
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json ColumnsJson(const std::vector<data::ColumnInfo>& columns) {
  json out = json::array();
  for (const auto& c : columns) {
    json col = {{"name", c.schema.name}, {"type", data::TypeName(c.schema.type)}};
    if (c.date_order == data::DateOrder::kDayFirst) col["date_order"] = "day_first";
    out.push_back(std::move(col));
  }
  return out;
}

std::vector<data::ColumnInfo> ColumnsFromJson(const json& j) {
  std::vector<data::ColumnInfo> out;
  for (const auto& c : j) {
    data::ColumnInfo info;
    info.schema.name = c.at("name").get<std::string>();
    info.schema.type = data::TypeFromName(c.at("type").get<std::string>()).value_or(data::ColumnType::kText);
    if (c.value("date_order", "") == "day_first") info.date_order = data::DateOrder::kDayFirst;
    out.push_back(std::move(info));
  }
  return out;
}

DatasetRecord FromRow(const store::Row& r) {
  DatasetRecord d;
  d.id = r.Text(0);
  d.owner_id = r.Text(1);
  d.name = r.Text(2);
  d.source_format = r.Text(3);
  d.source_name = r.Text(4);
  d.source_bytes = r.Int(5);
  d.source_sha256 = r.Text(6);
  d.delimiter = r.Text(7);
  d.original_path = r.OptText(8);
  d.original_expires_at_us = r.OptInt(9);
  d.version = r.Int(10);
  d.data_path = r.Text(11);
  d.profile_path = r.Text(12);
  d.data_bytes = r.Int(13);
  d.rows = r.Int(14);
  d.columns = ColumnsFromJson(json::parse(r.Text(16)));
  d.timings = json::parse(r.Text(17));
  d.created_at_us = r.Int(18);
  d.updated_at_us = r.Int(19);
  d.data_updated_at_us = r.Int(20);
  return d;
}

std::string Iso(int64_t us) { return data::FormatDatetime(us); }

// Removes a folder tree on scope exit unless released: the "leave nothing behind" rule.
class DirGuard {
 public:
  explicit DirGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~DirGuard() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  DirGuard(const DirGuard&) = delete;
  DirGuard& operator=(const DirGuard&) = delete;
  void Release() { dir_.clear(); }

 private:
  fs::path dir_;
};

void FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

int64_t FileSize(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Holds one of the conversion slots for its scope.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<1024>& slots) : slots_(slots) { slots_.acquire(); }
  ~SlotGuard() { slots_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<1024>& slots_;
};

// The record's columns with the dictionaries of the file they describe.
std::vector<data::ColumnInfo> ColumnsWithCategories(const DatasetRecord& record, const data::ColumnarFile& file) {
  auto columns = record.columns;
  for (size_t i = 0; i < columns.size() && i < file.schema().size(); ++i) {
    columns[i].schema.categories = file.schema()[i].categories;
  }
  return columns;
}

std::string ProblemKind(const core::Error& e) { return std::string(core::ErrorCodeName(e.code())); }

}  // namespace

json DatasetRecord::ToJson() const {
  json j = {
      {"id", id},
      {"name", name},
      {"owner_id", owner_id},
      {"rows", rows},
      {"columns", ColumnsJson(columns)},
      {"column_count", columns.size()},
      {"version", version},
      {"size_bytes", data_bytes},
      {"source",
       {{"format", source_format},
        {"file_name", source_name},
        {"bytes", source_bytes},
        {"sha256", source_sha256},
        {"delimiter", delimiter.empty() ? json(nullptr) : json(delimiter)},
        {"original_kept", original_path.has_value()},
        {"original_expires_at",
         original_expires_at_us && original_path ? json(Iso(*original_expires_at_us)) : json(nullptr)}}},
      {"timings", timings},
      {"created_at", Iso(created_at_us)},
      {"updated_at", Iso(updated_at_us)},
      {"data_updated_at", Iso(data_updated_at_us)},
  };
  return j;
}

std::optional<data::SourceFormat> FormatFromContentType(std::string_view content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t == "text/csv" || t == "text/tab-separated-values" || t == "application/csv") return data::SourceFormat::kCsv;
  if (t == "application/json") return data::SourceFormat::kJson;
  if (t == "application/x-ndjson" || t == "application/jsonl" || t == "application/x-jsonlines") {
    return data::SourceFormat::kNdjson;
  }
  return std::nullopt;
}

std::optional<data::SourceFormat> FormatFromFileName(std::string_view file_name) {
  std::string ext = Lower(fs::path(std::string(file_name)).extension().string());
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt") return data::SourceFormat::kCsv;
  if (ext == ".json") return data::SourceFormat::kJson;
  if (ext == ".ndjson" || ext == ".jsonl") return data::SourceFormat::kNdjson;
  return std::nullopt;
}

DatasetCatalog::DatasetCatalog(store::Store& store, const core::Clock& clock, CatalogOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      ingest_slots_(std::clamp<std::ptrdiff_t>(options_.max_concurrent_ingests, 1, 1024)) {
  fs::create_directories(options_.data_dir / "datasets");
  fs::create_directories(options_.data_dir / "incoming");
  CatalogMetrics::Get();
}

DatasetCatalog::~DatasetCatalog() {
  {
    std::lock_guard lock(refresh_mu_);
    stop_ = true;
  }
  refresh_cv_.notify_all();
  if (refresh_thread_.joinable()) refresh_thread_.join();
}

fs::path DatasetCatalog::NewIncoming() const {
  fs::path dir = options_.data_dir / "incoming" / core::NewUuid();
  fs::create_directories(dir);
  return dir;
}

std::pair<int64_t, std::string> DatasetCatalog::Receive(const ByteReader& body, const fs::path& path) const {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0)
    Fail(ErrorCode::kInternal,
         "cannot create an upload file: " + std::error_code(errno, std::generic_category()).message());
  core::Sha256Stream sha;
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  try {
    while (true) {
      size_t n = body(buf.data(), buf.size());
      if (n == 0) break;
      total += static_cast<int64_t>(n);
      if (total > options_.max_upload_bytes) {
        Fail(ErrorCode::kPayloadTooLarge, "the file is larger than the upload limit of " +
                                              std::to_string(options_.max_upload_bytes) + " bytes (MAX_UPLOAD_BYTES)");
      }
      sha.Update({buf.data(), n});
      for (size_t off = 0; off < n;) {
        ssize_t w = ::write(fd, buf.data() + off, n - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          Fail(ErrorCode::kInternal,
               "cannot write an upload file: " + std::error_code(errno, std::generic_category()).message());
        }
        off += static_cast<size_t>(w);
      }
    }
    if (::fsync(fd) != 0) Fail(ErrorCode::kInternal, "cannot sync an upload file");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return {total, core::Hex(sha.Finish())};
}

double DatasetCatalog::WriteProfile(const fs::path& data_path, const fs::path& profile_path) const {
  auto start = std::chrono::steady_clock::now();
  auto file = data::ColumnarFile::Open(data_path.string());
  data::ProfileOptions po;
  po.threads = options_.ingest.threads;
  po.memory_budget_bytes = options_.ingest.memory_budget_bytes;
  json profile = data::ComputeProfile(*file, po);
  fs::path tmp = profile_path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << profile.dump();
    out.flush();
    if (!out) Fail(ErrorCode::kInternal, "cannot write a dataset profile");
  }
  fs::rename(tmp, profile_path);
  return Seconds(start);
}

DatasetRecord DatasetCatalog::Create(const UploadSpec& spec, const ByteReader& body) {
  auto& metrics = CatalogMetrics::Get();
  auto start = std::chrono::steady_clock::now();
  fs::path incoming = NewIncoming();
  DirGuard guard(incoming);
  std::string ext = std::string(data::FormatName(spec.format));
  fs::path original = incoming / ("original." + ext);
  try {
    auto [bytes, sha] = Receive(body, original);
    double receive_s = Seconds(start);

    data::IngestOptions io = options_.ingest;
    io.format = spec.format;
    io.delimiter = spec.delimiter;
    data::IngestResult ingested;
    double profile_s = 0;
    {
      SlotGuard slot(ingest_slots_);
      ingested = data::Ingest(original.string(), (incoming / "data-1.col").string(), io);
      profile_s = WriteProfile(incoming / "data-1.col", incoming / "profile-1.json");
    }

    DatasetRecord d;
    d.id = core::NewUuid();
    d.owner_id = spec.owner_id;
    d.name = spec.name.empty() ? (spec.source_name.empty() ? "dataset" : spec.source_name) : spec.name;
    d.source_format = ext;
    d.source_name = spec.source_name;
    d.source_bytes = bytes;
    d.source_sha256 = sha;
    d.delimiter = spec.format == data::SourceFormat::kCsv ? std::string(1, ingested.delimiter) : "";
    int64_t now = store::ToMicros(clock_.Now());
    std::string dir = "datasets/" + d.id;
    if (options_.original_retention_days > 0) {
      d.original_path = dir + "/original." + ext;
      d.original_expires_at_us = now + int64_t{options_.original_retention_days} * 86'400'000'000;
    } else {
      fs::remove(original);
    }
    d.version = 1;
    d.data_path = dir + "/data-1.col";
    d.profile_path = dir + "/profile-1.json";
    d.data_bytes = FileSize(incoming / "data-1.col");
    d.rows = ingested.rows;
    d.columns = ingested.columns;
    d.created_at_us = d.updated_at_us = d.data_updated_at_us = now;
    d.timings = {{"receive_seconds", receive_s},          {"passes", ingested.passes},
                 {"scan_seconds", ingested.scan_seconds}, {"convert_seconds", ingested.convert_seconds},
                 {"profile_seconds", profile_s},          {"total_seconds", Seconds(start)}};

    // Into place, then the row: a crash in between leaves a folder without a row, which the
    // clean-up removes; never a row without its files.
    fs::rename(incoming, options_.data_dir / dir);
    guard.Release();
    DirGuard placed(options_.data_dir / dir);
    FsyncDir(options_.data_dir / "datasets");
    store_.Exec("INSERT INTO datasets (" + std::string(kColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {d.id,
                 d.owner_id,
                 d.name,
                 d.source_format,
                 d.source_name,
                 d.source_bytes,
                 d.source_sha256,
                 d.delimiter,
                 d.original_path ? store::Value(*d.original_path) : store::Value(nullptr),
                 d.original_expires_at_us ? store::Value(*d.original_expires_at_us) : store::Value(nullptr),
                 d.version,
                 d.data_path,
                 d.profile_path,
                 d.data_bytes,
                 d.rows,
                 static_cast<int64_t>(d.columns.size()),
                 ColumnsJson(d.columns).dump(),
                 d.timings.dump(),
                 d.created_at_us,
                 d.updated_at_us,
                 d.data_updated_at_us});
    placed.Release();

    metrics.bytes.Increment(static_cast<double>(bytes));
    metrics.rows.Increment(static_cast<double>(d.rows));
    metrics.duration.Observe(Seconds(start));
    metrics.count.Increment();
    metrics.last_update.Add({{"dataset_id", d.id}}).Set(static_cast<double>(now) / 1e6);
    core::LogInfo("dataset created", {{"dataset_id", d.id},
                                      {"rows", d.rows},
                                      {"columns", d.columns.size()},
                                      {"bytes", bytes},
                                      {"seconds", Seconds(start)}});
    return d;
  } catch (const core::Error& e) {
    metrics.failures.Add({{"reason", ProblemKind(e)}}).Increment();
    throw;
  }
}

std::optional<DatasetRecord> DatasetCatalog::Find(const std::string& id) const {
  auto r = store_.Query("SELECT " + std::string(kColumns) + " FROM datasets WHERE id = ?", {id});
  if (r.rows.empty()) return std::nullopt;
  return FromRow(r.rows.front());
}

ListPage DatasetCatalog::List(const ListQuery& q) const {
  static const std::map<std::string, std::string> kSort = {{"created_at", "created_at"},
                                                           {"updated_at", "updated_at"},
                                                           {"name", "name"},
                                                           {"rows", "row_count"},
                                                           {"size", "data_bytes"}};
  auto sort = kSort.find(q.sort);
  if (sort == kSort.end()) {
    Fail(ErrorCode::kValidation, "sort must be one of created_at, updated_at, name, rows, size");
  }
  std::string where = " WHERE 1 = 1";
  store::Params params;
  if (!q.visible_to.empty()) {
    where +=
        " AND (owner_id = ? OR id IN (SELECT resource_id FROM shares WHERE resource_type = 'dataset' AND user_id = "
        "?))";
    params.emplace_back(q.visible_to);
    params.emplace_back(q.visible_to);
  }
  if (!q.name_contains.empty()) {
    // LIKE with the pattern characters escaped; lower() on both sides for the same
    // case-insensitive match on SQLite and PostgreSQL.
    std::string pattern = "%";
    for (char c : Lower(q.name_contains)) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    where += " AND lower(name) LIKE ? ESCAPE '\\'";
    params.emplace_back(pattern);
  }
  ListPage page;
  page.total = store_.Query("SELECT COUNT(*) FROM datasets" + where, params).rows.front().Int(0);
  params.emplace_back(q.limit);
  params.emplace_back(q.offset);
  std::string dir = q.descending ? " DESC" : " ASC";
  auto r = store_.Query("SELECT " + std::string(kColumns) + " FROM datasets" + where + " ORDER BY " + sort->second +
                            dir + ", id" + dir + " LIMIT ? OFFSET ?",
                        params);
  for (const auto& row : r.rows) page.items.push_back(FromRow(row));
  return page;
}

DatasetRecord DatasetCatalog::Rename(const std::string& id, const std::string& name) {
  int64_t now = store::ToMicros(clock_.Now());
  if (store_.Exec("UPDATE datasets SET name = ?, updated_at = ? WHERE id = ?", {name, now, id}) == 0) {
    Fail(ErrorCode::kNotFound, "no dataset " + id);
  }
  return *Find(id);
}

void DatasetCatalog::Delete(const std::string& id) {
  int64_t removed = 0;
  store_.Transaction([&](store::Tx& tx) {
    tx.Exec("DELETE FROM shares WHERE resource_type = 'dataset' AND resource_id = ?", {id});
    removed = tx.Exec("DELETE FROM datasets WHERE id = ?", {id});
  });
  if (removed == 0) Fail(ErrorCode::kNotFound, "no dataset " + id);
  std::error_code ec;
  fs::remove_all(options_.data_dir / "datasets" / id, ec);
  if (ec) core::LogWarn("dataset files not removed; the clean-up will", {{"dataset_id", id}, {"error", ec.message()}});
  auto& metrics = CatalogMetrics::Get();
  metrics.count.Decrement();
  metrics.last_update.Remove(&metrics.last_update.Add({{"dataset_id", id}}));
}

std::mutex& DatasetCatalog::DatasetLock(const std::string& id) {
  std::lock_guard lock(mu_);
  auto& m = locks_[id];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

DatasetCatalog::VersionFiles DatasetCatalog::NewVersionFiles(const std::string& id, int64_t version) {
  // A random part, so that two processes preparing the same next version never write (or, on
  // losing the race, remove) each other's files.
  std::string stem = "datasets/" + id + "/";
  std::string tag = std::to_string(version) + "-" + core::RandomHex(4);
  return {stem + "data-" + tag + ".col", stem + "profile-" + tag + ".json"};
}

DatasetRecord DatasetCatalog::SwitchVersion(const DatasetRecord& old, const VersionFiles& files,
                                            const std::vector<data::ColumnInfo>& columns, int64_t rows,
                                            int64_t data_bytes, const json& timings, bool new_rows) {
  int64_t v = old.version + 1;
  const std::string& data_path = files.data;
  const std::string& profile_path = files.profile;
  int64_t now = store::ToMicros(clock_.Now());
  int64_t n = store_.Exec(
      "UPDATE datasets SET version = ?, data_path = ?, profile_path = ?, data_bytes = ?, row_count = ?, "
      "column_count = ?, schema_json = ?, timings_json = ?, updated_at = ?, data_updated_at = ? "
      "WHERE id = ? AND version = ?",
      {v, data_path, profile_path, data_bytes, rows, static_cast<int64_t>(columns.size()), ColumnsJson(columns).dump(),
       timings.dump(), now, new_rows ? now : old.data_updated_at_us, old.id, old.version});
  if (n == 0) {
    std::error_code ec;
    fs::remove(Abs(data_path), ec);
    fs::remove(Abs(profile_path), ec);
    if (!Find(old.id)) Fail(ErrorCode::kNotFound, "no dataset " + old.id);
    Fail(ErrorCode::kConflict, "the dataset changed while this request ran; send it again");
  }
  // The old version's files go; a reader that has the old file open keeps its mapping.
  std::error_code ec;
  fs::remove(Abs(old.data_path), ec);
  fs::remove(Abs(old.profile_path), ec);
  return *Find(old.id);
}

DatasetRecord DatasetCatalog::Append(const std::string& id, data::SourceFormat format, char delimiter,
                                     const ByteReader& body) {
  auto& metrics = CatalogMetrics::Get();
  auto start = std::chrono::steady_clock::now();
  fs::path incoming = NewIncoming();
  DirGuard guard(incoming);
  try {
    auto [bytes, sha] = Receive(body, incoming / ("append." + std::string(data::FormatName(format))));
    std::lock_guard version_lock(DatasetLock(id));
    auto old = Find(id);
    if (!old) Fail(ErrorCode::kNotFound, "no dataset " + id);
    auto existing = Open(*old);
    if (existing->path() != Abs(old->data_path).string()) {
      Fail(ErrorCode::kConflict, "the dataset changed while this request ran; send it again");
    }
    data::IngestOptions io = options_.ingest;
    io.format = format;
    io.delimiter = delimiter;
    int64_t v = old->version + 1;
    VersionFiles files = NewVersionFiles(id, v);
    fs::path data_path = Abs(files.data);
    fs::path profile_path = Abs(files.profile);
    data::AppendResult appended;
    double profile_s = 0;
    {
      SlotGuard slot(ingest_slots_);
      auto columns = ColumnsWithCategories(*old, *existing);
      appended = data::AppendRows(*existing, columns,
                                  (incoming / ("append." + std::string(data::FormatName(format)))).string(),
                                  data_path.string(), io);
      try {
        profile_s = WriteProfile(data_path, profile_path);
      } catch (...) {
        std::error_code ec;
        fs::remove(data_path, ec);
        throw;
      }
    }
    json timings = old->timings;
    timings["last_append"] = {{"rows", appended.rows_added},
                              {"bytes", bytes},
                              {"profile_seconds", profile_s},
                              {"total_seconds", Seconds(start)}};
    auto d = SwitchVersion(*old, files, appended.columns, existing->rows() + appended.rows_added, FileSize(data_path),
                           timings, true);
    metrics.bytes.Increment(static_cast<double>(bytes));
    metrics.rows.Increment(static_cast<double>(appended.rows_added));
    metrics.last_update.Add({{"dataset_id", d.id}}).Set(static_cast<double>(d.data_updated_at_us) / 1e6);
    return d;
  } catch (const core::Error& e) {
    metrics.failures.Add({{"reason", ProblemKind(e)}}).Increment();
    throw;
  }
}

DatasetRecord DatasetCatalog::ChangeTypes(const std::string& id,
                                          const std::map<std::string, data::ColumnType>& changes) {
  std::lock_guard version_lock(DatasetLock(id));
  auto old = Find(id);
  if (!old) Fail(ErrorCode::kNotFound, "no dataset " + id);
  for (const auto& change : changes) {
    const std::string& name = change.first;
    bool known = std::any_of(old->columns.begin(), old->columns.end(),
                             [&](const data::ColumnInfo& c) { return c.schema.name == name; });
    if (!known) Fail(ErrorCode::kValidation, "the dataset has no column '" + name + "'");
  }
  auto existing = Open(*old);
  if (existing->path() != Abs(old->data_path).string()) {
    Fail(ErrorCode::kConflict, "the dataset changed while this request ran; send it again");
  }
  auto columns = ColumnsWithCategories(*old, *existing);
  int64_t v = old->version + 1;
  VersionFiles files = NewVersionFiles(id, v);
  fs::path data_path = Abs(files.data);
  fs::path profile_path = Abs(files.profile);
  auto new_columns = data::ChangeTypes(*existing, columns, changes, data_path.string());
  double profile_s = 0;
  try {
    profile_s = WriteProfile(data_path, profile_path);
  } catch (...) {
    std::error_code ec;
    fs::remove(data_path, ec);
    throw;
  }
  json timings = old->timings;
  timings["last_type_change_profile_seconds"] = profile_s;
  return SwitchVersion(*old, files, new_columns, existing->rows(), FileSize(data_path), timings, false);
}

// A new version removes the files of the one before, so a reader holding a record that has just
// been replaced finds its file gone: it then reads the record again and opens the current files.
// (A file already open stays readable: removing it does not unmap it.)
std::shared_ptr<const data::ColumnarFile> DatasetCatalog::Open(const DatasetRecord& record) const {
  DatasetRecord current = record;
  for (int attempt = 0;; ++attempt) {
    try {
      return data::ColumnarFile::Open(Abs(current.data_path).string());
    } catch (const core::Error& e) {
      auto again = attempt < 5 ? Find(record.id) : std::nullopt;
      if (again && again->version != current.version) {
        current = *again;
        continue;
      }
      if (!again && attempt < 5) Fail(ErrorCode::kNotFound, "no dataset " + record.id);
      core::LogError("dataset file unreadable", {{"dataset_id", record.id}, {"error", e.what()}});
      throw;
    }
  }
}

json DatasetCatalog::Profile(const DatasetRecord& record) const {
  DatasetRecord current = record;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::ifstream in(Abs(current.profile_path), std::ios::binary);
    if (in) return json::parse(in);
    auto again = Find(record.id);
    if (!again) Fail(ErrorCode::kNotFound, "no dataset " + record.id);
    if (again->version == current.version) break;
    current = *again;
  }
  Fail(ErrorCode::kInternal, "the profile of dataset " + record.id + " is missing");
}

CleanupReport DatasetCatalog::Cleanup() {
  CleanupReport report;
  int64_t now = store::ToMicros(clock_.Now());
  auto expired = store_.Query(
      "SELECT id, original_path FROM datasets WHERE original_path IS NOT NULL AND original_expires_at <= ?", {now});
  for (const auto& row : expired.rows) {
    std::error_code ec;
    fs::remove(Abs(row.Text(1)), ec);
    store_.Exec("UPDATE datasets SET original_path = NULL WHERE id = ?", {row.Text(0)});
    ++report.originals_removed;
  }
  // Leftovers: old enough that no upload can still be writing them.
  auto old_enough = [&](const fs::directory_entry& e) {
    std::error_code ec;
    auto t = fs::last_write_time(e.path(), ec);
    if (ec) return false;
    auto age = fs::file_time_type::clock::now() - t;
    return age > kLeftoverAge;
  };
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.data_dir / "incoming", ec)) {
    if (old_enough(e)) {
      fs::remove_all(e.path(), ec);
      ++report.leftovers_removed;
    }
  }
  for (const auto& e : fs::directory_iterator(options_.data_dir / "datasets", ec)) {
    std::string id = e.path().filename().string();
    auto d = Find(id);
    if (!d) {
      if (old_enough(e)) {
        fs::remove_all(e.path(), ec);
        ++report.leftovers_removed;
      }
      continue;
    }
    // Files of versions that never became current (a crash between writing and switching).
    for (const auto& f : fs::directory_iterator(e.path(), ec)) {
      std::string rel = "datasets/" + id + "/" + f.path().filename().string();
      bool current = rel == d->data_path || rel == d->profile_path || (d->original_path && rel == *d->original_path);
      if (!current && old_enough(f)) {
        fs::remove(f.path(), ec);
        ++report.leftovers_removed;
      }
    }
  }
  if (report.originals_removed > 0 || report.leftovers_removed > 0) {
    core::LogInfo("dataset clean-up",
                  {{"originals_removed", report.originals_removed}, {"leftovers_removed", report.leftovers_removed}});
  }
  return report;
}

void DatasetCatalog::RefreshMetrics() {
  auto& metrics = CatalogMetrics::Get();
  auto r = store_.Query("SELECT id, data_updated_at FROM datasets");
  metrics.count.Set(static_cast<double>(r.rows.size()));
  for (const auto& row : r.rows) {
    metrics.last_update.Add({{"dataset_id", row.Text(0)}}).Set(static_cast<double>(row.Int(1)) / 1e6);
  }
}

void DatasetCatalog::StartMetricsRefresh(std::chrono::seconds interval) {
  RefreshMetrics();
  refresh_thread_ = std::thread([this, interval] {
    auto last_cleanup = std::chrono::steady_clock::now() - kCleanupInterval;
    std::unique_lock lock(refresh_mu_);
    while (!refresh_cv_.wait_for(lock, interval, [this] { return stop_; })) {
      lock.unlock();
      try {
        RefreshMetrics();
        if (std::chrono::steady_clock::now() - last_cleanup >= kCleanupInterval) {
          last_cleanup = std::chrono::steady_clock::now();
          Cleanup();
        }
      } catch (const std::exception& e) {
        core::LogWarn("dataset maintenance failed", {{"error", e.what()}});
      }
      lock.lock();
    }
  });
}

}  // namespace playground::datasets
