// Datasets over HTTP, on SQLite and PostgreSQL: every sample file against reference profiles
// computed by pandas (tests/fixtures/datasets/*.expected.json, made by
// scripts/reference/dataset_profiles.py), hostile files that must leave nothing behind, browsing,
// appending, type changes, downloads, read-only sharing, metrics, and memory bounded while a file
// far larger than the ingestion budget goes through.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "testkit/accounts.h"
#include "testkit/local.h"
#include "testkit/postgres_instance.h"
#include "testkit/process.h"

namespace playground::testkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kFixtures = SourceDir() + "/tests/fixtures/datasets";

Env BaseEnv(const std::string& backend) {
  Env env{{"RATE_LIMIT_UPLOAD", "100000"},
          {"RATE_LIMIT_API", "100000"},
          {"RATE_LIMIT_AUTH", "100000"},
          {"ARGON2_MEMORY_KIB", "8192"},
          {"ARGON2_ITERATIONS", "1"}};
  if (backend == "postgres") env["DATABASE_URL"] = SharedPostgres().NewDatabase();
  return env;
}

std::string Multipart(const std::string& file_name, const std::string& content, const std::string& content_type,
                      const std::string& name = "") {
  std::string b = "----pgtestboundary";
  std::string body;
  if (!name.empty()) {
    body += "--" + b + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" + name + "\r\n";
  }
  body += "--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file_name +
          "\"\r\nContent-Type: " + content_type + "\r\n\r\n" + content + "\r\n--" + b + "--\r\n";
  return body;
}
const std::string kMultipartType = "multipart/form-data; boundary=----pgtestboundary";

// Every file under a folder, recursively (what an upload left on disk).
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) out.push_back(e.path().string());
  return out;
}

void ExpectNear(const json& got, const json& want, const std::string& where) {
  if (want.is_null()) {
    EXPECT_TRUE(got.is_null()) << where << ": got " << got.dump();
  } else if (want.is_number_float() || (want.is_number() && got.is_number_float())) {
    ASSERT_TRUE(got.is_number()) << where << ": got " << got.dump();
    double w = want.get<double>();
    double g = got.get<double>();
    EXPECT_NEAR(g, w, 1e-9 * std::max(1.0, std::fabs(w))) << where;
  } else {
    EXPECT_EQ(got, want) << where;
  }
}

void ExpectArrayNear(const json& got, const json& want, const std::string& where) {
  if (want.is_null()) {
    EXPECT_TRUE(got.is_null()) << where << ": got " << got.dump();
    return;
  }
  ASSERT_TRUE(got.is_array()) << where << ": got " << got.dump();
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < want.size(); ++i) ExpectNear(got[i], want[i], where + "[" + std::to_string(i) + "]");
}

class DatasetsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(BaseEnv(GetParam()));
    auto c = server_->Client();
    token_ = SignUp(c, "owner@example.com");
  }
  std::map<std::string, std::string> Auth(const std::string& token = "") const {
    return {{"Authorization", Bearer(token.empty() ? token_ : token)}};
  }
  HttpResponse UploadCsv(HttpClient& c, const std::string& csv, const std::string& query = "") {
    return c.Post("/api/v1/datasets" + query, csv, "text/csv", Auth());
  }

  std::unique_ptr<TestServer> server_;
  std::string token_;
};

TEST_P(DatasetsTest, EverySampleFileMatchesThePandasReference) {
  auto c = server_->Client();
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".csv") continue;
    ++files;
    std::string name = entry.path().filename().string();
    json want = json::parse(ReadFile(entry.path().parent_path() / (entry.path().stem().string() + ".expected.json")));
    auto r = c.Post("/api/v1/datasets", Multipart(name, ReadFile(entry.path()), "text/csv"), kMultipartType, Auth());
    ASSERT_EQ(r.status, 201) << name << ": " << r.body;
    json d = r.Json();
    EXPECT_EQ(d["name"], name);
    EXPECT_EQ(d["rows"], want["rows"]) << name;
    ASSERT_EQ(d["columns"].size(), want["columns"].size()) << name;
    for (size_t i = 0; i < want["columns"].size(); ++i) {
      EXPECT_EQ(d["columns"][i]["name"], want["columns"][i]["name"]) << name;
      EXPECT_EQ(d["columns"][i]["type"], want["columns"][i]["type"]) << name << " " << want["columns"][i]["name"];
    }

    auto p = c.Get("/api/v1/datasets/" + d["id"].get<std::string>() + "/profile", Auth());
    ASSERT_EQ(p.status, 200) << p.body;
    json profile = p.Json();
    EXPECT_EQ(profile["rows"], want["rows"]);
    for (size_t i = 0; i < want["columns"].size(); ++i) {
      const json& w = want["columns"][i];
      const json& g = profile["columns"][i];
      std::string where = name + " " + w["name"].get<std::string>();
      for (const char* key : {"count", "missing", "distinct"}) EXPECT_EQ(g[key], w[key]) << where << " " << key;
      EXPECT_EQ(g["distinct_method"], "exact") << where;
      for (const char* key : {"min", "max", "mean", "std"}) ExpectNear(g[key], w[key], where + " " + key);
      if (w["quantiles"].is_null()) {
        EXPECT_TRUE(g["quantiles"].is_null()) << where;
      } else {
        for (const auto& [q, v] : w["quantiles"].items()) ExpectNear(g["quantiles"][q], v, where + " " + q);
      }
      if (w["histogram"].is_null()) {
        EXPECT_TRUE(g["histogram"].is_null()) << where;
      } else {
        ExpectArrayNear(g["histogram"]["edges"], w["histogram"]["edges"], where + " edges");
        EXPECT_EQ(g["histogram"]["counts"], w["histogram"]["counts"]) << where;
      }
      EXPECT_EQ(g["top_values"], w["top_values"]) << where;
    }
    const json& wc = want["correlation"];
    EXPECT_EQ(profile["correlation"]["columns"], wc["columns"]) << name;
    for (size_t i = 0; i < wc["matrix"].size(); ++i) {
      ExpectArrayNear(profile["correlation"]["matrix"][i], wc["matrix"][i], name + " correlation row");
    }
  }
  EXPECT_EQ(files, 7);
}

TEST_P(DatasetsTest, BrowsesAppendsRetypesDownloadsAndDeletes) {
  auto c = server_->Client();
  std::string csv =
      "when;city;temp;ok\n2024-01-01;Oslo;-3.5;true\n2024-01-02;Rome;12;false\n2024-01-03;Oslo;NA;\n"
      "2024-01-04;Rome;1;true\n";
  auto r = UploadCsv(c, csv, "?name=Weather");
  ASSERT_EQ(r.status, 201) << r.body;
  json d = r.Json();
  std::string id = d["id"];
  EXPECT_EQ(r.Header("location"), "/api/v1/datasets/" + id);
  EXPECT_EQ(d["source"]["delimiter"], ";");
  std::vector<std::string> types;
  for (const auto& col : d["columns"]) types.push_back(col["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"date", "category", "number", "boolean"}));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(UploadCsv(c, "x,y\n1,2\n", "?name=other" + std::to_string(i)).status, 201);

  // List: paged, sorted, filtered.
  auto list = c.Get("/api/v1/datasets?limit=2&sort=name&order=asc", Auth()).Json();
  EXPECT_EQ(list["total"], 4);
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][0]["name"], "Weather");
  EXPECT_EQ(list["items"][1]["name"], "other0");
  EXPECT_EQ(c.Get("/api/v1/datasets?name=weATH", Auth()).Json()["total"], 1);
  EXPECT_EQ(c.Get("/api/v1/datasets?name=%25", Auth()).Json()["total"], 0);  // % is a character, not a pattern
  EXPECT_EQ(c.Get("/api/v1/datasets?sort=color", Auth()).status, 422);
  EXPECT_EQ(c.Get("/api/v1/datasets?limit=0", Auth()).status, 422);

  // Rows: typed values, missing as null.
  auto rows = c.Get("/api/v1/datasets/" + id + "/rows?offset=1&limit=2", Auth()).Json();
  EXPECT_EQ(rows["total"], 4);
  EXPECT_EQ(rows["rows"], json::parse(R"([["2024-01-02","Rome",12.0,false],["2024-01-03","Oslo",null,null]])"));

  // Append: columns in another order, a new category; a bad value refuses the whole file.
  auto bad =
      c.Post("/api/v1/datasets/" + id + "/rows", "ok,temp,city,when\ntrue,warm,Oslo,2024-01-05\n", "text/csv", Auth());
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("'warm' is not a number"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("line 2"), std::string::npos) << bad.body;
  auto missing_col = c.Post("/api/v1/datasets/" + id + "/rows", "ok,temp\ntrue,1\n", "text/csv", Auth());
  EXPECT_EQ(missing_col.status, 422);
  EXPECT_NE(missing_col.body.find("missing"), std::string::npos) << missing_col.body;
  auto good = c.Post("/api/v1/datasets/" + id + "/rows",
                     R"({"when":"2024-01-05","city":"Paris","temp":7.25,"ok":true})"
                     "\n",
                     "application/x-ndjson", Auth());
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.Json()["rows"], 5);
  EXPECT_EQ(good.Json()["version"], 2);
  rows = c.Get("/api/v1/datasets/" + id + "/rows?offset=4", Auth()).Json();
  EXPECT_EQ(rows["rows"], json::parse(R"([["2024-01-05","Paris",7.25,true]])"));
  auto profile = c.Get("/api/v1/datasets/" + id + "/profile", Auth()).Json();
  EXPECT_EQ(profile["rows"], 5);
  EXPECT_EQ(profile["columns"][1]["distinct"], 3);

  // Type changes: reported, not dropped; then a conversion that fits.
  auto refused =
      c.Request("PATCH", "/api/v1/datasets/" + id + "/columns", json{{"types", {{"temp", "integer"}}}}.dump(),
                {{"Authorization", Bearer(token_)}, {"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 422);
  EXPECT_NE(refused.body.find("2 values do not fit integer (row 1: '-3.5', row 5: '7.25')"), std::string::npos)
      << refused.body;
  auto retyped = c.Request("PATCH", "/api/v1/datasets/" + id + "/columns",
                           json{{"types", {{"city", "text"}, {"when", "datetime"}}}}.dump(),
                           {{"Authorization", Bearer(token_)}, {"Content-Type", "application/json"}});
  ASSERT_EQ(retyped.status, 200) << retyped.body;
  EXPECT_EQ(retyped.Json()["columns"][0]["type"], "datetime");
  EXPECT_EQ(retyped.Json()["columns"][1]["type"], "text");
  rows = c.Get("/api/v1/datasets/" + id + "/rows?limit=1", Auth()).Json();
  EXPECT_EQ(rows["rows"][0][0], "2024-01-01T00:00:00Z");

  // Download: CSV that reads back to the same rows.
  auto csv_out = c.Get("/api/v1/datasets/" + id + "/download", Auth());
  ASSERT_EQ(csv_out.status, 200);
  EXPECT_EQ(csv_out.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv_out.body,
            "when,city,temp,ok\r\n2024-01-01T00:00:00Z,Oslo,-3.5,true\r\n2024-01-02T00:00:00Z,Rome,12,false\r\n"
            "2024-01-03T00:00:00Z,Oslo,,\r\n2024-01-04T00:00:00Z,Rome,1,true\r\n"
            "2024-01-05T00:00:00Z,Paris,7.25,true\r\n");

  // Rename, then delete: the row and every file go.
  auto renamed = c.Request("PATCH", "/api/v1/datasets/" + id, json{{"name", "Weather 2024"}}.dump(),
                           {{"Authorization", Bearer(token_)}, {"Content-Type", "application/json"}});
  ASSERT_EQ(renamed.status, 200);
  EXPECT_EQ(renamed.Json()["name"], "Weather 2024");
  EXPECT_FALSE(FilesUnder(fs::path(server_->data_dir()) / "datasets" / id).empty());
  EXPECT_EQ(c.Request("DELETE", "/api/v1/datasets/" + id, "", Auth()).status, 204);
  EXPECT_EQ(c.Get("/api/v1/datasets/" + id, Auth()).status, 404);
  EXPECT_FALSE(fs::exists(fs::path(server_->data_dir()) / "datasets" / id));
}

TEST_P(DatasetsTest, SharingGrantsReadOnlyAccess) {
  auto c = server_->Client();
  // The first account is the admin; make the owner a member for this test.
  std::string owner = SignUp(c, "member@example.com");
  std::string viewer = SignUp(c, "viewer@example.com", token_, "viewer");
  std::string other = SignUp(c, "other@example.com");
  auto r = c.Post("/api/v1/datasets?name=shared", "a,b\n1,2\n3,4\n", "text/csv", Auth(owner));
  ASSERT_EQ(r.status, 201);
  std::string id = r.Json()["id"];
  std::string path = "/api/v1/datasets/" + id;
  EXPECT_EQ(c.Get(path, Auth(viewer)).status, 404);
  EXPECT_EQ(c.Get("/api/v1/datasets", Auth(viewer)).Json()["total"], 0);

  auto share = c.Post(path + "/shares", json{{"email", "viewer@example.com"}}.dump(), "application/json", Auth(owner));
  ASSERT_EQ(share.status, 201) << share.body;
  std::string viewer_id = share.Json()["user_id"];
  EXPECT_EQ(
      c.Post(path + "/shares", json{{"email", "viewer@example.com"}}.dump(), "application/json", Auth(owner)).status,
      200);
  EXPECT_EQ(
      c.Post(path + "/shares", json{{"email", "nobody@example.com"}}.dump(), "application/json", Auth(owner)).status,
      422);
  for (std::string sub : {"", "/profile", "/rows", "/download"}) {
    EXPECT_EQ(c.Get(path + sub, Auth(viewer)).status, 200) << sub;
    EXPECT_EQ(c.Get(path + sub, Auth(other)).status, 404) << sub;
  }
  EXPECT_EQ(c.Get("/api/v1/datasets", Auth(viewer)).Json()["total"], 1);
  EXPECT_EQ(c.Get("/api/v1/datasets", Auth(other)).Json()["total"], 0);
  // A member it is shared with may read it but not change it.
  ASSERT_EQ(
      c.Post(path + "/shares", json{{"email", "other@example.com"}}.dump(), "application/json", Auth(owner)).status,
      201);
  EXPECT_EQ(c.Get(path, Auth(other)).status, 200);
  EXPECT_EQ(c.Request("DELETE", path, "", Auth(other)).status, 403);
  EXPECT_EQ(c.Post(path + "/rows", "a,b\n5,6\n", "text/csv", Auth(other)).status, 403);
  EXPECT_EQ(c.Get(path + "/shares", Auth(owner)).Json()["items"].size(), 2u);

  EXPECT_EQ(c.Request("DELETE", path + "/shares/" + viewer_id, "", Auth(owner)).status, 204);
  EXPECT_EQ(c.Get(path, Auth(viewer)).status, 404);
  EXPECT_EQ(c.Request("DELETE", path + "/shares/" + viewer_id, "", Auth(owner)).status, 404);
  auto audit = c.Get("/api/v1/admin/audit?action=dataset_shared", Auth()).Json();
  EXPECT_EQ(audit["items"].size(), 2u);
}

TEST_P(DatasetsTest, CountsIngestionInMetrics) {
  auto c = server_->Client();
  auto r = UploadCsv(c, "a,b\n1,2\n3,4\n5,6\n");
  ASSERT_EQ(r.status, 201);
  std::string id = r.Json()["id"];
  std::string m = c.Get("/metrics").body;
  EXPECT_NE(m.find("dataset_ingested_rows_total 3"), std::string::npos) << m;
  EXPECT_NE(m.find("dataset_ingested_bytes_total 16"), std::string::npos);
  EXPECT_NE(m.find("dataset_ingest_duration_seconds_count 1"), std::string::npos);
  EXPECT_NE(m.find("datasets 1"), std::string::npos);
  EXPECT_NE(m.find("dataset_last_update_timestamp_seconds{dataset_id=\"" + id + "\"}"), std::string::npos);
  EXPECT_EQ(UploadCsv(c, "a,b\n1\n").status, 422);
  m = c.Get("/metrics").body;
  EXPECT_NE(m.find("dataset_upload_failures_total{reason=\"validation-failed\"} 1"), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Backends, DatasetsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Hostile input: each file gets a clear 4xx and nothing of it stays, neither a row nor a file.
TEST(DatasetUploadTest, HostileFilesAreRefusedAndLeaveNothingBehind) {
  Env env = BaseEnv("sqlite");
  env["MAX_UPLOAD_BYTES"] = std::to_string(4 << 20);
  env["DATASET_MAX_COLUMNS"] = "5000";
  env["DATASET_MAX_FIELD_BYTES"] = std::to_string(1 << 20);
  TestServer server(env);
  auto c = server.Client();
  std::string token = SignUp(c, "owner@example.com");
  auto auth = std::map<std::string, std::string>{{"Authorization", Bearer(token)}};

  std::string wide;
  for (int i = 0; i < 10000; ++i) wide += (i ? ",c" : "c") + std::to_string(i);
  wide += "\n" + std::string(9999, ',') + "\n";
  struct Case {
    std::string what;
    std::string body;
    std::string type;
    int status;
    std::string detail;
  };
  std::vector<Case> cases = {
      {"unterminated quote", "a,b\n1,\"open\n2,3\n", "text/csv", 422, "line 2, column 2"},
      {"ragged rows", "a,b\n1,2\n3\n", "text/csv", 422, "line 3: 1 fields, but the header has 2 columns"},
      {"invalid UTF-8", "a,b\n1,\xff\xfe\n", "text/csv", 422, "line 2, column 2: invalid UTF-8"},
      {"empty file", "", "text/csv", 422, "empty"},
      {"header only", "a,b\n", "text/csv", 422, "no rows"},
      {"duplicate column names", "a,b,a\n1,2,3\n", "text/csv", 422, "'a' appears twice"},
      {"empty column name", "a,,c\n1,2,3\n", "text/csv", 422, "column 2: the column has no name"},
      {"10,000 columns", wide, "text/csv", 413, "5000"},
      {"a 10 MB single field", "a\n" + std::string(10 << 20, 'x') + "\n", "text/csv", 413, "limit"},
      {"a 2 MB single field", "a\n" + std::string(2 << 20, 'x') + "\n", "text/csv", 413, "1 MiB"},
      {"JSON that is not an array of objects", R"({"a": 1})", "application/json", 422, "array of objects"},
      {"an array of numbers", "[1, 2]", "application/json", 422, "line 1"},
      {"deeply nested JSON", std::string(100000, '[') + std::string(100000, ']'), "application/json", 422, "line 1"},
      {"a nested value", R"([{"a": {"b": [1]}}])", "application/json", 422, "field 'a' holds an object"},
      {"an unknown type", "%PDF-1.4", "application/pdf", 415, "text/csv"},
      {"NUL byte", std::string("a,b\n1,\0\n", 8), "text/csv", 422, "line 2"},
  };
  for (const auto& k : cases) {
    auto r = c.Post("/api/v1/datasets", k.body, k.type, auth);
    EXPECT_EQ(r.status, k.status) << k.what << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json") << k.what;
    if (r.status >= 400 && r.status != 413) {
      EXPECT_NE(r.Json().value("detail", "").find(k.detail), std::string::npos) << k.what << ": " << r.body;
    } else if (r.status == 413 && !r.body.empty() && r.Header("content-type") == "application/problem+json") {
      EXPECT_NE(r.Json().value("detail", "").find(k.detail), std::string::npos) << k.what << ": " << r.body;
    }
  }

  // Cut off mid-upload: the client goes away with half the promised bytes sent.
  {
    HttpClient raw("127.0.0.1", server.port());
    std::string part = "a,b\n" + std::string(200000, '1') + ",2\n";
    raw.Send("POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\nAuthorization: " + Bearer(token) +
             "\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n" + part);
  }
  // A multipart body cut right after the file's bytes, before its closing boundary.
  {
    std::string body = Multipart("a.csv", "a,b\n1,2\n", "text/csv");
    body.resize(body.find("\r\n------pgtestboundary--"));
    auto r = c.Post("/api/v1/datasets", body, kMultipartType, auth);
    EXPECT_EQ(r.status, 400) << r.body;
  }
  // Wait until the server has noticed the disconnect and cleaned up.
  fs::path incoming = fs::path(server.data_dir()) / "incoming";
  for (int i = 0; i < 100 && !FilesUnder(incoming).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(c.Get("/api/v1/datasets", auth).Json()["total"], 0);
  EXPECT_EQ(FilesUnder(fs::path(server.data_dir()) / "datasets"), std::vector<std::string>{});
  EXPECT_EQ(FilesUnder(incoming), std::vector<std::string>{});
  // The limits hold the other way too: what fits goes through.
  EXPECT_EQ(c.Post("/api/v1/datasets", "a\n" + std::string(500000, 'x') + "\n", "text/csv", auth).status, 201);
}

TEST(DatasetUploadTest, WideAndLongValuesGoThroughWithinTheLimits) {
  TestServer server(BaseEnv("sqlite"));
  auto c = server.Client();
  auto auth = std::map<std::string, std::string>{{"Authorization", Bearer(SignUp(c, "owner@example.com"))}};
  std::string wide;
  for (int i = 0; i < 10000; ++i) wide += (i ? ",c" : "c") + std::to_string(i);
  for (int row = 0; row < 3; ++row) {
    wide += "\n";
    for (int i = 0; i < 10000; ++i) wide += (i ? "," : "") + std::to_string(row * i);
  }
  auto r = c.Post("/api/v1/datasets", wide + "\n", "text/csv", auth);
  ASSERT_EQ(r.status, 201) << r.body.substr(0, 300);
  EXPECT_EQ(r.Json()["column_count"], 10000);
  auto rows = c.Get("/api/v1/datasets/" + r.Json()["id"].get<std::string>() + "/rows", auth).Json();
  EXPECT_EQ(rows["rows"][2][9999], 2 * 9999);

  std::string big(10 << 20, 'y');
  r = c.Post("/api/v1/datasets", "id,blob\n1," + big + "\n2,z\n", "text/csv", auth);
  ASSERT_EQ(r.status, 201) << r.body.substr(0, 300);
  auto got = c.Get("/api/v1/datasets/" + r.Json()["id"].get<std::string>() + "/rows?limit=1", auth).Json();
  EXPECT_EQ(got["rows"][0][1].get<std::string>().size(), big.size());
}

// Anonymous memory (the heap), sampled while the request runs. Pages of memory-mapped dataset
// files are left out: they belong to the page cache, which the kernel reclaims at will.
int64_t RssAnonKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8));
  }
  return -1;
}

TEST(DatasetUploadTest, AFileTenTimesTheMemoryBudgetKeepsMemoryBounded) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine and maps shadow memory, so the heap of a
  // sanitized server says nothing about the program's own use; the other build measures it.
  GTEST_SKIP() << "memory is measured in the build without sanitizers";
#endif
  constexpr int kBudgetMiB = 8;
  Env env = BaseEnv("sqlite");
  env["INGEST_MEMORY_MB"] = std::to_string(kBudgetMiB);
  TestServer server(env);
  auto c = server.Client();
  std::string token = SignUp(c, "owner@example.com");

  // 10x the budget: numbers, categories and missing values, from a fixed seed.
  std::mt19937_64 rng(42);
  std::string csv = "id,x,y,label,note\n";
  const char* labels[] = {"alpha", "beta", "gamma", "delta"};
  int64_t rows = 0;
  while (csv.size() < static_cast<size_t>(kBudgetMiB * 10) << 20) {
    csv += std::to_string(rows) + "," + std::to_string(static_cast<double>(rng() % 100000) / 100.0) + "," +
           (rng() % 10 == 0 ? "" : std::to_string(rng() % 1000)) + "," + labels[rng() % 4] + ",n" +
           std::to_string(rng() % 50) + "\n";
    ++rows;
  }
  int64_t before = RssAnonKiB(server.process().pid());
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{before};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max<int64_t>(peak, RssAnonKiB(server.process().pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  HttpClient up("127.0.0.1", server.port(), std::chrono::seconds(120));
  auto r = up.Post("/api/v1/datasets", csv, "text/csv", {{"Authorization", Bearer(token)}});
  done = true;
  sampler.join();
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["rows"], rows);
  int64_t grew_kib = peak - before;
  std::cout << "[ memory ] file " << (csv.size() >> 20) << " MiB, budget " << kBudgetMiB << " MiB, heap grew "
            << grew_kib / 1024 << " MiB at most\n";
  // The heap may hold the budget, a column's values for the profile (8 bytes a row) and buffers,
  // but never the file.
  EXPECT_LT(grew_kib, static_cast<int64_t>(csv.size() / 1024 / 2));
}

TEST(DatasetCleanupTest, TheCommandRemovesLeftoversOfUploadsThatNeverCompleted) {
  TempDir dir;
  Env env{{"DATA_DIR", dir.path()}};
  auto [code, out] = RunPlayground({"migrate"}, env);
  ASSERT_EQ(code, 0) << out;
  fs::path stale = fs::path(dir.path()) / "incoming" / "stale-upload";
  fs::path fresh = fs::path(dir.path()) / "incoming" / "running-upload";
  fs::create_directories(stale);
  fs::create_directories(fresh);
  std::ofstream(stale / "original.csv") << "a\n1\n";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(24));
  std::tie(code, out) = RunPlayground({"datasets", "cleanup"}, env);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("leftovers removed: 1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));  // may belong to an upload still running
}

}  // namespace
}  // namespace playground::testkit
