// The dataset catalog: uploaded tables as database rows plus their files under DATA_DIR
// (datasets/<id>/: the columnar file of the current version, its profile, and the original
// upload until it expires). It owns the rules that keep the two in step: files are written under
// incoming/ first and moved into place before the row is inserted, so a failed or cut-off
// upload leaves neither a row nor a file; a new version (appended rows, changed types) is
// written beside the old one and the row switched to it in one conditional update.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "data/columnar.h"
#include "data/ingest.h"
#include "store/store.h"

namespace playground::datasets {

struct DatasetRecord {
  std::string id;
  std::string owner_id;
  std::string name;
  std::string source_format;  // csv | json | ndjson
  std::string source_name;
  int64_t source_bytes = 0;
  std::string source_sha256;
  std::string delimiter;
  std::optional<std::string> original_path;  // relative to DATA_DIR; empty once removed
  std::optional<int64_t> original_expires_at_us;
  int64_t version = 1;
  std::string data_path;     // relative to DATA_DIR
  std::string profile_path;  // relative to DATA_DIR
  int64_t data_bytes = 0;
  int64_t rows = 0;
  std::vector<data::ColumnInfo> columns;
  nlohmann::json timings = nlohmann::json::object();
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  int64_t data_updated_at_us = 0;  // when rows last arrived

  // The API's representation (schema, sizes, timings; no file paths).
  nlohmann::json ToJson() const;
};

struct CatalogOptions {
  std::filesystem::path data_dir;
  int64_t max_upload_bytes = int64_t{1} << 30;
  int original_retention_days = 30;  // 0: the original is removed once converted
  data::IngestOptions ingest;        // limits, memory budget, threads (format set per upload)
  int max_concurrent_ingests = 2;    // conversions running at once; others wait
};

// Pulls the next bytes of an upload; 0 at its end. May throw core::Error (e.g. the client left).
using ByteReader = std::function<size_t(char*, size_t)>;

struct UploadSpec {
  std::string owner_id;
  std::string name;         // empty: the file's name, or "dataset"
  std::string source_name;  // the uploaded file's name, if any
  data::SourceFormat format = data::SourceFormat::kCsv;
  char delimiter = 0;
};

struct ListQuery {
  std::string visible_to;  // a user id: theirs and those shared with them; empty: all (admins)
  std::string name_contains;
  std::string sort = "created_at";  // created_at | updated_at | name | rows | size
  bool descending = true;
  int64_t offset = 0;
  int64_t limit = 50;
};

struct ListPage {
  std::vector<DatasetRecord> items;
  int64_t total = 0;
};

struct CleanupReport {
  int originals_removed = 0;  // expired original uploads
  int leftovers_removed = 0;  // files and folders of uploads or versions that never completed
};

// Safe for concurrent use; several processes may share one database and DATA_DIR.
class DatasetCatalog {
 public:
  DatasetCatalog(store::Store& store, const core::Clock& clock, CatalogOptions options);
  ~DatasetCatalog();
  DatasetCatalog(const DatasetCatalog&) = delete;
  DatasetCatalog& operator=(const DatasetCatalog&) = delete;

  // Streams the upload to disk (kPayloadTooLarge past max_upload_bytes), converts it, profiles
  // it and records it. Errors from the file (see data::Ingest) propagate; nothing is stored then.
  DatasetRecord Create(const UploadSpec& spec, const ByteReader& body);
  std::optional<DatasetRecord> Find(const std::string& id) const;
  ListPage List(const ListQuery& query) const;
  DatasetRecord Rename(const std::string& id, const std::string& name);
  // Removes the row, its shares and its files.
  void Delete(const std::string& id);
  // Appends the rows of an upload (same formats, the dataset's columns). kConflict when the
  // dataset changed meanwhile (another append or type change won the race).
  DatasetRecord Append(const std::string& id, data::SourceFormat format, char delimiter, const ByteReader& body);
  DatasetRecord ChangeTypes(const std::string& id, const std::map<std::string, data::ColumnType>& changes);

  // The current data file, opened (memory-mapped) and kept while in use.
  std::shared_ptr<const data::ColumnarFile> Open(const DatasetRecord& record) const;
  nlohmann::json Profile(const DatasetRecord& record) const;

  // Removes expired originals and the leftovers of uploads that never completed (a crash
  // mid-upload). Run by `playground datasets cleanup` and periodically by the server.
  CleanupReport Cleanup();

  // Refreshes the dataset count and per-dataset freshness gauges from the database, now and
  // then every `interval` on a background thread until destruction; runs Cleanup hourly there.
  void StartMetricsRefresh(std::chrono::seconds interval);
  void RefreshMetrics();

  const CatalogOptions& options() const { return options_; }

 private:
  std::filesystem::path Abs(const std::string& relative) const { return options_.data_dir / relative; }
  std::filesystem::path NewIncoming() const;
  // Receives an upload into `dir`/`file_name`; returns bytes and the SHA-256 (hex).
  std::pair<int64_t, std::string> Receive(const ByteReader& body, const std::filesystem::path& path) const;
  // Writes a profile of `data_path` to `profile_path`; returns seconds spent.
  double WriteProfile(const std::filesystem::path& data_path, const std::filesystem::path& profile_path) const;
  // The files of a new version (relative to DATA_DIR).
  struct VersionFiles {
    std::string data;
    std::string profile;
  };
  static VersionFiles NewVersionFiles(const std::string& id, int64_t version);
  // Switches a dataset to a new version whose files are already in place, if no one else did
  // first (kConflict then, and the files are removed).
  DatasetRecord SwitchVersion(const DatasetRecord& old, const VersionFiles& files,
                              const std::vector<data::ColumnInfo>& columns, int64_t rows, int64_t data_bytes,
                              const nlohmann::json& timings, bool new_rows);
  std::mutex& DatasetLock(const std::string& id);

  store::Store& store_;
  const core::Clock& clock_;
  CatalogOptions options_;
  std::counting_semaphore<1024> ingest_slots_;

  mutable std::mutex mu_;                                     // guards locks_
  std::map<std::string, std::unique_ptr<std::mutex>> locks_;  // per dataset: versions change one at a time

  std::mutex refresh_mu_;  // guards stop_ with refresh_cv_
  std::condition_variable refresh_cv_;
  bool stop_ = false;
  std::thread refresh_thread_;
};

// Reads a dataset's format from a Content-Type or a file name (".csv", ".tsv", ".txt", ".json",
// ".ndjson", ".jsonl"); nullopt when neither names a known format.
std::optional<data::SourceFormat> FormatFromContentType(std::string_view content_type);
std::optional<data::SourceFormat> FormatFromFileName(std::string_view file_name);

}  // namespace playground::datasets
