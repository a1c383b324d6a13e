// Datasets: upload (multipart or a raw CSV/JSON/NDJSON body, streamed to disk), list, get,
// rename, delete, profile, paged rows, appended rows, column type changes, CSV download, and
// read-only sharing.
#include <algorithm>
#include <memory>

#include "api/api.h"
#include "api/params.h"
#include "core/error.h"
#include "data/ingest.h"
#include "http/multipart.h"

namespace playground::api {
namespace {

using core::ErrorCode;
using core::Fail;
using http::Access;
using nlohmann::json;

constexpr const char* kResource = "dataset";
constexpr size_t kMaxNameLength = 200;
// The multipart envelope around an upload's file: boundaries, part headers, small fields.
constexpr int64_t kMultipartOverhead = 1 << 20;

char ParseDelimiter(const std::string& v) {
  if (v.empty()) return 0;
  if (v == "," || v == "comma") return ',';
  if (v == ";" || v == "semicolon") return ';';
  if (v == "\t" || v == "tab") return '\t';
  if (v == "|" || v == "pipe") return '|';
  Fail(ErrorCode::kValidation, "delimiter: one of ',', ';', 'tab', '|' (or leave it out to detect it)");
}

std::optional<data::SourceFormat> ParseFormat(const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (v == "csv") return data::SourceFormat::kCsv;
  if (v == "json") return data::SourceFormat::kJson;
  if (v == "ndjson" || v == "jsonl") return data::SourceFormat::kNdjson;
  Fail(ErrorCode::kValidation, "format: one of csv, json, ndjson");
}

[[noreturn]] void UnsupportedType(std::string_view content_type) {
  Fail(ErrorCode::kUnsupportedMediaType,
       "Content-Type '" + std::string(content_type) +
           "' is not accepted: send multipart/form-data with a 'file' part, or a body of text/csv, application/json "
           "(an array of objects) or application/x-ndjson (one object per line)");
}

// Where an upload's bytes come from and what they are, for both multipart and raw bodies.
struct Upload {
  std::optional<http::MultipartReader> multipart;
  data::SourceFormat format = data::SourceFormat::kCsv;
  std::string file_name;
  std::string name;
  char delimiter = 0;
  datasets::ByteReader reader;
};

// Reads the form fields before the file part (name, delimiter, format) or the query string,
// and picks the format: ?format=, then the part's or body's Content-Type, then the file name.
void OpenUpload(http::Request& req, Upload& up) {
  std::string format_param = req.Query("format").value_or("");
  up.name = req.Query("name").value_or("");
  up.delimiter = ParseDelimiter(req.Query("delimiter").value_or(""));
  std::string content_type(req.headers.Get("Content-Type").value_or(""));
  if (auto boundary = http::MultipartBoundary(content_type)) {
    up.multipart.emplace(*req.body_reader, *boundary);
    http::MultipartPart part;
    bool found = false;
    while (up.multipart->NextPart(part)) {
      if (part.name == "file" || !part.filename.empty()) {
        found = true;
        break;
      }
      std::string value = up.multipart->ReadAll(1024);
      if (part.name == "name") up.name = value;
      if (part.name == "delimiter") up.delimiter = ParseDelimiter(value);
      if (part.name == "format") format_param = value;
    }
    if (!found) Fail(ErrorCode::kValidation, "the form has no file: send the file in a part named 'file'");
    up.file_name = part.filename;
    auto format = ParseFormat(format_param);
    if (!format) format = datasets::FormatFromContentType(part.content_type);
    if (!format) format = datasets::FormatFromFileName(part.filename);
    if (!format) UnsupportedType(part.content_type.empty() ? part.filename : part.content_type);
    up.format = *format;
    up.reader = [&up](char* buf, size_t n) { return up.multipart->Read(buf, n); };
  } else {
    auto format = ParseFormat(format_param);
    if (!format) format = datasets::FormatFromContentType(content_type);
    if (!format) UnsupportedType(content_type);
    up.format = *format;
    up.reader = [&req](char* buf, size_t n) { return req.body_reader->Read(buf, n); };
  }
  if (!up.name.empty()) CheckName(up.name);
  if (up.file_name.size() > kMaxNameLength) up.file_name.resize(kMaxNameLength);
}

// After the file: the rest of the form must arrive too, so that a body cut off right after the
// file's bytes is not taken for a complete upload.
void FinishUpload(Upload& up) {
  if (!up.multipart) return;
  http::MultipartPart part;
  while (up.multipart->NextPart(part)) {
  }
}

// The file's bytes; at their end, the rest of the form is read too (FinishUpload). `up` must
// outlive the reader.
datasets::ByteReader FileBytes(Upload& up) {
  auto finished = std::make_shared<bool>(false);
  return [&up, finished](char* buf, size_t n) {
    size_t got = up.reader(buf, n);
    if (got == 0 && !*finished) {
      *finished = true;
      FinishUpload(up);
    }
    return got;
  };
}

datasets::DatasetRecord Visible(ApiContext& ctx, const http::Request& req) {
  const std::string& id = req.Param("id");
  auto d = ctx.datasets.Find(id);
  if (!d) Fail(ErrorCode::kNotFound, "no dataset " + id);
  RequireReadable(ctx, req.caller, d->owner_id, kResource, id);
  return *d;
}

// Changing a dataset: its owner or an admin. Someone it is only shared with learns why.
datasets::DatasetRecord Changeable(ApiContext& ctx, const http::Request& req) {
  auto d = Visible(ctx, req);
  if (!req.caller.admin() && req.caller.user_id != d.owner_id) {
    Fail(ErrorCode::kPermissionDenied, "this dataset is shared with you read-only; only its owner can change it");
  }
  return d;
}

json DatasetSchema() {
  json type_enum = {{"type", "string"},
                    {"enum", {"integer", "number", "boolean", "date", "datetime", "category", "text"}}};
  json column = {{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}, {"type", type_enum}}}};
  json time = {{"type", "string"}, {"format", "date-time"}};
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"owner_id", {{"type", "string"}}},
            {"rows", {{"type", "integer"}}},
            {"column_count", {{"type", "integer"}}},
            {"columns", {{"type", "array"}, {"items", column}}},
            {"version", {{"type", "integer"}}},
            {"size_bytes", {{"type", "integer"}}},
            {"source", {{"type", "object"}}},
            {"timings", {{"type", "object"}}},
            {"created_at", time},
            {"updated_at", time},
            {"data_updated_at", time}}}};
}

json UploadSchema() {
  return {{"type", "object"},
          {"required", {"file"}},
          {"properties",
           {{"file", {{"type", "string"}, {"format", "binary"}}},
            {"name", {{"type", "string"}}},
            {"delimiter", {{"type", "string"}}},
            {"format", {{"type", "string"}, {"enum", {"csv", "json", "ndjson"}}}}}}};
}

std::string CsvFileName(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += safe ? c : '_';
  }
  if (out.size() < 4 || out.substr(out.size() - 4) != ".csv") out += ".csv";
  return out;
}

}  // namespace

void AddDatasetRoutes(http::Router& router, ApiContext& ctx) {
  const std::string p = ctx.settings.api_prefix + "/datasets";
  const int64_t upload_limit = ctx.settings.max_upload_bytes + kMultipartOverhead;
  const std::string formats =
      "Send multipart/form-data with a `file` part (and optional `name`, `delimiter`, `format` fields), or the file "
      "itself as the body with Content-Type text/csv, application/json (an array of objects) or "
      "application/x-ndjson. The file is streamed to disk, converted to the columnar format and profiled before the "
      "answer; a file that cannot be read is refused with the line (and column) of its first problem, and leaves "
      "nothing behind.";

  router
      .Post(p,
            [&ctx](http::Request& req) {
              Upload up;
              OpenUpload(req, up);
              datasets::UploadSpec spec{req.caller.user_id, up.name, up.file_name, up.format, up.delimiter};
              datasets::ByteReader reader = FileBytes(up);
              auto d = ctx.datasets.Create(spec, reader);
              auto res = http::Response::Json(201, d.ToJson());
              res.headers.Set("Location", ctx.settings.api_prefix + "/datasets/" + d.id);
              return res;
            })
      .Summary("Upload a dataset", formats)
      .Tag("datasets")
      .StreamBody()
      .MaxBody(upload_limit)
      .RateZone("upload")
      .Query("name", "string", "Name of the dataset (default: the file's name)")
      .Query("delimiter", "string", "CSV delimiter: ',', ';', 'tab' or '|' (default: detected)")
      .Query("format", "string", "csv, json or ndjson (default: from the Content-Type or the file's name)")
      .Body(UploadSchema(), "multipart/form-data")
      .Returns(201, "The dataset, converted and profiled", DatasetSchema())
      .Returns(413, "The file is larger than MAX_UPLOAD_BYTES")
      .Returns(415, "Not CSV, JSON or NDJSON")
      .Returns(422, "The file cannot be read; the detail names the line and column")
      .Allow(Access::kMember, {"full"});

  router
      .Get(p,
           [&ctx](http::Request& req) {
             datasets::ListQuery q;
             q.visible_to = req.caller.admin() ? "" : req.caller.user_id;
             q.name_contains = req.Query("name").value_or("");
             if (q.name_contains.size() > kMaxNameLength) Fail(ErrorCode::kValidation, "name: too long");
             q.sort = req.Query("sort").value_or("created_at");
             std::string order = req.Query("order").value_or("desc");
             if (order != "asc" && order != "desc") Fail(ErrorCode::kValidation, "order: asc or desc");
             q.descending = order == "desc";
             q.offset = QueryInt(req, "offset", 0, 0, int64_t{1} << 40);
             q.limit = PageLimit(req, 50, 500);
             auto page = ctx.datasets.List(q);
             json items = json::array();
             for (const auto& d : page.items) items.push_back(d.ToJson());
             return http::Response::Json(
                 200, {{"items", items}, {"total", page.total}, {"offset", q.offset}, {"limit", q.limit}});
           })
      .Summary("List datasets", "Yours and those shared with you (admins: all), paged.")
      .Tag("datasets")
      .Query("name", "string", "Only names containing this text (case-insensitive)")
      .Query("sort", "string", "created_at (default), updated_at, name, rows or size")
      .Query("order", "string", "desc (default) or asc")
      .Query("offset", "integer", "Items to skip (default 0)")
      .Query("limit", "integer", "Items per page, 1-500 (default 50)")
      .Returns(200, "A page of datasets",
               {{"type", "object"},
                {"properties",
                 {{"items", {{"type", "array"}, {"items", DatasetSchema()}}},
                  {"total", {{"type", "integer"}}},
                  {"offset", {{"type", "integer"}}},
                  {"limit", {{"type", "integer"}}}}}})
      .Allow(Access::kUser, {"read"});

  router.Get(p + "/{id}", [&ctx](http::Request& req) { return http::Response::Json(200, Visible(ctx, req).ToJson()); })
      .Summary("Get a dataset", "Its schema, row count, size, source and ingestion timings.")
      .Tag("datasets")
      .Returns(200, "The dataset", DatasetSchema())
      .Allow(Access::kUser, {"read"});

  router
      .Patch(p + "/{id}",
             [&ctx](http::Request& req) {
               auto d = Changeable(ctx, req);
               std::string name = CheckName(Field(req.JsonBody(), "name", kMaxNameLength));
               return http::Response::Json(200, ctx.datasets.Rename(d.id, name).ToJson());
             })
      .Summary("Rename a dataset")
      .Tag("datasets")
      .Body({{"type", "object"}, {"required", {"name"}}, {"properties", {{"name", {{"type", "string"}}}}}})
      .Returns(200, "The dataset", DatasetSchema())
      .Allow(Access::kMember, {"full"});

  router
      .Delete(p + "/{id}",
              [&ctx](http::Request& req) {
                auto d = Changeable(ctx, req);
                ctx.datasets.Delete(d.id);
                ctx.audit.Record("dataset_deleted", req.caller.user_id, d.id, InfoOf(req), {{"name", d.name}});
                return http::Response::Empty(204);
              })
      .Summary("Delete a dataset", "Removes it, its files and its shares.")
      .Tag("datasets")
      .Returns(204, "Deleted")
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/{id}/profile",
           [&ctx](http::Request& req) {
             auto d = Visible(ctx, req);
             return http::Response::Json(200, ctx.datasets.Profile(d));
           })
      .Summary("A dataset's profile",
               "Per column: count, missing, distinct (exact, or a HyperLogLog estimate on very large columns: "
               "`distinct_method` says which), min, max, mean, std, quantiles, a histogram or top values; and the "
               "correlation matrix of the numeric columns.")
      .Tag("datasets")
      .Returns(200, "The profile", {{"type", "object"}})
      .Allow(Access::kUser, {"read"});

  router
      .Get(p + "/{id}/rows",
           [&ctx](http::Request& req) {
             auto d = Visible(ctx, req);
             int64_t offset = QueryInt(req, "offset", 0, 0, int64_t{1} << 50);
             int64_t limit = PageLimit(req, 100, 1000);
             auto file = ctx.datasets.Open(d);
             json names = json::array();
             json types = json::array();
             for (const auto& c : file->schema()) {  // the file's: the record may be a version behind
               names.push_back(c.name);
               types.push_back(data::TypeName(c.type));
             }
             return http::Response::Json(200, {{"columns", names},
                                               {"types", types},
                                               {"rows", data::RowsJson(*file, offset, limit)},
                                               {"offset", offset},
                                               {"limit", limit},
                                               {"total", file->rows()}});
           })
      .Summary("Preview rows", "A page of rows as arrays of values in column order (missing values are null).")
      .Tag("datasets")
      .Query("offset", "integer", "First row (default 0)")
      .Query("limit", "integer", "Rows, 1-1000 (default 100)")
      .Returns(200, "A page of rows", {{"type", "object"}})
      .Allow(Access::kUser, {"read"});

  router
      .Post(p + "/{id}/rows",
            [&ctx](http::Request& req) {
              auto d = Changeable(ctx, req);
              Upload up;
              OpenUpload(req, up);
              datasets::ByteReader reader = FileBytes(up);
              auto updated = ctx.datasets.Append(d.id, up.format, up.delimiter, reader);
              return http::Response::Json(200, updated.ToJson());
            })
      .Summary("Append rows",
               "Adds the rows of a file (same formats as the upload) with the dataset's columns (in any order); values "
               "are checked against the column types, and nothing is added when one does not fit.")
      .Tag("datasets")
      .StreamBody()
      .MaxBody(upload_limit)
      .RateZone("upload")
      .Query("delimiter", "string", "CSV delimiter (default: detected)")
      .Query("format", "string", "csv, json or ndjson (default: from the Content-Type or the file's name)")
      .Body(UploadSchema(), "multipart/form-data")
      .Returns(200, "The dataset with its new rows", DatasetSchema())
      .Returns(409, "The dataset changed meanwhile; send again")
      .Returns(422, "A row does not fit the dataset's columns")
      .Allow(Access::kMember, {"full"});

  router
      .Patch(
          p + "/{id}/columns",
          [&ctx](http::Request& req) {
            auto d = Changeable(ctx, req);
            json body = req.JsonBody();
            if (!body.is_object() || !body.contains("types") || !body["types"].is_object() || body["types"].empty()) {
              Fail(ErrorCode::kValidation, "types: required, an object of column name to type");
            }
            std::map<std::string, data::ColumnType> changes;
            for (const auto& [name, type] : body["types"].items()) {
              auto t = type.is_string() ? data::TypeFromName(type.get<std::string>()) : std::nullopt;
              if (!t) {
                Fail(ErrorCode::kValidation, "types." + name +
                                                 ": one of integer, number, boolean, date, datetime, "
                                                 "category, text");
              }
              changes[name] = *t;
            }
            return http::Response::Json(200, ctx.datasets.ChangeTypes(d.id, changes).ToJson());
          })
      .Summary("Change column types",
               "Converts the named columns. A value that does not fit its new type is reported (how many, and the "
               "first rows and values), and nothing changes.")
      .Tag("datasets")
      .Body({{"type", "object"},
             {"required", {"types"}},
             {"properties", {{"types", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}}}}})
      .Returns(200, "The dataset with its new types", DatasetSchema())
      .Returns(422, "A value does not fit its new type")
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/{id}/download",
           [&ctx](http::Request& req) {
             auto d = Visible(ctx, req);
             std::shared_ptr<const data::ColumnarFile> file = ctx.datasets.Open(d);
             http::Response res;
             res.status = 200;
             res.headers.Set("Content-Type", "text/csv; charset=utf-8");
             res.headers.Set("Content-Disposition", "attachment; filename=\"" + CsvFileName(d.name) + "\"");
             res.stream = [file](const std::shared_ptr<http::StreamWriter>& w) {
               data::WriteCsv(*file, [&w](std::string chunk) { return w->WriteWait(std::move(chunk)); });
               w->Close();
             };
             return res;
           })
      .Summary("Download as CSV", "The whole dataset as CSV with a header row, streamed.")
      .Tag("datasets")
      .Returns(200, "The dataset as CSV", {{"type", "string"}}, "text/csv")
      .Allow(Access::kUser, {"read"});

  // Read-only sharing.
  auto share_json = [](const auth::Share& s) {
    return json{{"user_id", s.user_id},
                {"email", s.email},
                {"role", s.role},
                {"created_by", s.created_by},
                {"created_at", data::FormatDatetime(s.created_at_us)}};
  };
  json share_schema = {{"type", "object"},
                       {"properties",
                        {{"user_id", {{"type", "string"}}},
                         {"email", {{"type", "string"}}},
                         {"role", {{"type", "string"}}},
                         {"created_by", {{"type", "string"}}},
                         {"created_at", {{"type", "string"}}}}}};

  router
      .Get(p + "/{id}/shares",
           [&ctx, share_json](http::Request& req) {
             auto d = Changeable(ctx, req);
             json items = json::array();
             for (const auto& s : ctx.shares.List(kResource, d.id)) items.push_back(share_json(s));
             return http::Response::Json(200, {{"items", items}});
           })
      .Summary("Who a dataset is shared with")
      .Tag("datasets")
      .Returns(200, "The shares", {{"type", "object"}, {"properties", {{"items", {{"type", "array"}}}}}})
      .Allow(Access::kMember, {"full"});

  router
      .Post(p + "/{id}/shares",
            [&ctx, share_json](http::Request& req) {
              auto d = Changeable(ctx, req);
              json body = req.JsonBody();
              std::string email = Field(body, "email", 320);
              auto user = ctx.accounts.FindUserByEmail(email);
              if (!user || user->disabled) Fail(ErrorCode::kValidation, "email: no active account has this address");
              if (user->id == d.owner_id) Fail(ErrorCode::kValidation, "email: that account owns the dataset");
              bool added = ctx.shares.Grant(kResource, d.id, user->id, req.caller.user_id);
              if (added) {
                ctx.audit.Record("dataset_shared", req.caller.user_id, d.id, InfoOf(req), {{"with", user->id}});
              }
              for (const auto& s : ctx.shares.List(kResource, d.id)) {
                if (s.user_id == user->id) return http::Response::Json(added ? 201 : 200, share_json(s));
              }
              Fail(ErrorCode::kConflict, "the share was removed meanwhile");
            })
      .Summary("Share a dataset read-only", "The account with this email may then read the dataset, not change it.")
      .Tag("datasets")
      .Body({{"type", "object"}, {"required", {"email"}}, {"properties", {{"email", {{"type", "string"}}}}}})
      .Returns(201, "Shared", share_schema)
      .Returns(200, "Already shared", share_schema)
      .Allow(Access::kMember, {"full"});

  router
      .Delete(p + "/{id}/shares/{user_id}",
              [&ctx](http::Request& req) {
                auto d = Changeable(ctx, req);
                const std::string& user_id = req.Param("user_id");
                if (!ctx.shares.Revoke(kResource, d.id, user_id)) {
                  Fail(ErrorCode::kNotFound, "the dataset is not shared with " + user_id);
                }
                ctx.audit.Record("dataset_unshared", req.caller.user_id, d.id, InfoOf(req), {{"with", user_id}});
                return http::Response::Empty(204);
              })
      .Summary("Stop sharing a dataset with an account")
      .Tag("datasets")
      .Returns(204, "No longer shared")
      .Allow(Access::kMember, {"full"});
}

}  // namespace playground::api
