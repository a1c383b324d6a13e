// Models over HTTP with the real binary, on SQLite and PostgreSQL: saved preprocessing, training
// as a job (with cross-validation), evaluations, the leaderboard, versions and promotion,
// predictions (per-row problems, the cache, a restart that reloads the artifact and predicts the
// same), batch predictions that equal online ones, exports, bad requests, cancellation mid-training
// and a server killed mid-training. Scores against scikit-learn are the engine's unit tests'
// business (src/ml); here the numbers are checked for consistency across the API.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <random>
#include <sstream>
#include <thread>

#include "testkit/accounts.h"
#include "testkit/local.h"
#include "testkit/postgres_instance.h"
#include "testkit/process.h"

namespace playground::testkit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kDatasets = SourceDir() + "/tests/fixtures/datasets";
const std::string kIrisColumns[] = {"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"};

Env BaseEnv(bool postgres) {
  Env env{{"RATE_LIMIT_UPLOAD", "100000"}, {"RATE_LIMIT_API", "100000"}, {"RATE_LIMIT_AUTH", "100000"},
          {"ARGON2_MEMORY_KIB", "8192"},   {"ARGON2_ITERATIONS", "1"},   {"JOB_HEARTBEAT_MS", "100"},
          {"JOB_STALE_MS", "1500"},        {"JOB_POLL_MS", "100"},       {"WORKER_CONCURRENCY", "1"},
          {"TRAIN_THREADS", "2"},          {"PREDICT_MAX_ROWS", "200"}};
  if (postgres) env["DATABASE_URL"] = SharedPostgres().NewDatabase();
  return env;
}

std::map<std::string, std::string> Auth(const std::string& token) { return {{"Authorization", Bearer(token)}}; }

std::string Upload(HttpClient& c, const std::string& token, const std::string& name, const std::string& csv) {
  auto r = c.Post("/api/v1/datasets?name=" + name, csv, "text/csv", Auth(token));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? r.Json()["id"].get<std::string>() : "";
}

json WaitForJob(HttpClient& c, const std::string& token, const std::string& id, const std::vector<std::string>& states,
                std::chrono::milliseconds timeout = 60s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json job;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Get("/api/v1/jobs/" + id, Auth(token));
    EXPECT_EQ(r.status, 200) << r.body;
    job = r.Json();
    for (const auto& s : states) {
      if (job["state"] == s) return job;
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "job " << id << " did not reach " << states.front() << ": " << job.dump();
  return job;
}

// Starts a training job and returns it (202), or the problem's body.
std::pair<int, json> StartTraining(HttpClient& c, const std::string& token, const json& body) {
  auto r = c.Post("/api/v1/models", body.dump(), "application/json", Auth(token));
  return {r.status, r.body.empty() ? json() : r.Json()};
}

// Trains and waits; returns the stored model (with evaluations).
json Train(HttpClient& c, const std::string& token, const json& body) {
  auto [status, job] = StartTraining(c, token, body);
  EXPECT_EQ(status, 202) << job.dump();
  if (status != 202) return json::object();
  json done = WaitForJob(c, token, job["id"], {"succeeded", "failed"});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  if (done["state"] != "succeeded") return json::object();
  auto r = c.Get("/api/v1/models/" + done["result"]["model_id"].get<std::string>(), Auth(token));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.Json();
}

json IrisRow(double a, double b, double c, double d) {
  return {{kIrisColumns[0], a}, {kIrisColumns[1], b}, {kIrisColumns[2], c}, {kIrisColumns[3], d}};
}

// The first `n` rows of a CSV file as JSON objects (numbers where they parse).
json CsvRecords(const std::string& csv, size_t n) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  json out = json::array();
  while (out.size() < n && std::getline(in, line)) {
    std::stringstream ls(line);
    json rec;
    size_t i = 0;
    for (std::string f; std::getline(ls, f, ',') && i < header.size(); ++i) {
      char* end = nullptr;
      double v = std::strtod(f.c_str(), &end);
      rec[header[i]] = (end != f.c_str() && *end == '\0') ? json(v) : json(f);
    }
    out.push_back(rec);
  }
  return out;
}

class ModelsTest : public ::testing::TestWithParam<bool> {  // true: PostgreSQL
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(BaseEnv(GetParam()));
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    token_ = SignUp(*client_, "owner@example.com");
  }
  HttpClient& c() { return *client_; }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
};

TEST_P(ModelsTest, TrainsEvaluatesVersionsPromotesAndServesModels) {
  std::string iris_csv = ReadFile(kDatasets + "/iris.csv");
  std::string iris = Upload(c(), token_, "iris", iris_csv);

  // A saved pipeline: standard scaling, a stratified split.
  auto saved = c().Post(
      "/api/v1/preprocessings",
      json{{"name", "scaled"}, {"spec", {{"scale", "standard"}, {"split", {{"method", "stratified"}, {"seed", 7}}}}}}
          .dump(),
      "application/json", Auth(token_));
  ASSERT_EQ(saved.status, 201) << saved.body;
  EXPECT_EQ(saved.Json()["spec"]["impute"]["numeric"], "mean");  // defaults filled in
  std::string pre_id = saved.Json()["id"];

  json gb = Train(c(), token_,
                  {{"dataset_id", iris},
                   {"target", "species"},
                   {"algorithm", "gradient_boosting"},
                   {"name", "flowers"},
                   {"cv_folds", 3},
                   {"preprocessing_id", pre_id}});
  ASSERT_TRUE(gb.contains("id")) << gb.dump();
  EXPECT_EQ(gb["task"], "multiclass");  // inferred: a category target with three classes
  EXPECT_EQ(gb["version"], 1);
  EXPECT_EQ(gb["preprocessing_id"], pre_id);
  EXPECT_EQ(gb["preprocessing"]["scale"], "standard");
  EXPECT_EQ(gb["train_rows"].get<int>() + gb["test_rows"].get<int>(), 150);
  EXPECT_EQ(gb["test_rows"], 30);
  ASSERT_EQ(gb["evaluations"].size(), 2u);
  json test = gb["evaluations"][0]["kind"] == "test" ? gb["evaluations"][0] : gb["evaluations"][1];
  json cv = gb["evaluations"][0]["kind"] == "test" ? gb["evaluations"][1] : gb["evaluations"][0];
  const json& report = test["report"];
  int confused = 0;
  for (const auto& row : report["confusion_matrix"]["matrix"]) {
    for (const auto& v : row) confused += v.get<int>();
  }
  EXPECT_EQ(confused, 30);
  EXPECT_EQ(report["accuracy"], gb["metrics"]["accuracy"]);
  EXPECT_GE(report["accuracy"].get<double>(), 0.85);
  EXPECT_EQ(report["feature_importance"].size(), 4u);
  EXPECT_EQ(cv["report"]["folds"], 3);
  EXPECT_EQ(cv["report"]["per_fold"].size(), 3u);
  EXPECT_GE(cv["report"]["metrics"]["accuracy"]["mean"].get<double>(), 0.8);

  // A second version of the name, and another algorithm for the leaderboard.
  json gb2 = Train(c(), token_,
                   {{"dataset_id", iris},
                    {"target", "species"},
                    {"algorithm", "gradient_boosting"},
                    {"name", "flowers"},
                    {"params", {{"n_estimators", 5}, {"max_depth", 1}}}});
  EXPECT_EQ(gb2["version"], 2);
  json lr = Train(c(), token_, {{"dataset_id", iris}, {"target", "species"}, {"algorithm", "logistic_regression"}});
  EXPECT_EQ(lr["name"], "iris-species-logistic_regression");

  auto board = c().Get("/api/v1/datasets/" + iris + "/leaderboard?metric=log_loss", Auth(token_));
  ASSERT_EQ(board.status, 200) << board.body;
  json items = board.Json()["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_FALSE(board.Json()["higher_is_better"].get<bool>());
  for (size_t i = 1; i < items.size(); ++i) {
    EXPECT_LE(items[i - 1]["metrics"]["log_loss"].get<double>(), items[i]["metrics"]["log_loss"].get<double>());
  }
  auto by_accuracy = c().Get("/api/v1/datasets/" + iris + "/leaderboard", Auth(token_)).Json();
  EXPECT_EQ(by_accuracy["metric"], "accuracy");
  EXPECT_EQ(c().Get("/api/v1/datasets/" + iris + "/leaderboard?metric=rmse", Auth(token_)).status, 422);

  // models/{name}: the latest version until one is promoted.
  EXPECT_EQ(c().Get("/api/v1/models/flowers", Auth(token_)).Json()["version"], 2);
  auto promoted =
      c().Post("/api/v1/models/" + gb["id"].get<std::string>() + "/promote", "", "application/json", Auth(token_));
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_TRUE(promoted.Json()["promoted"].get<bool>());
  EXPECT_EQ(c().Get("/api/v1/models/flowers", Auth(token_)).Json()["version"], 1);

  // Predictions by name, with per-row problems.
  json rows = json::array({IrisRow(5.1, 3.5, 1.4, 0.2), IrisRow(6.7, 3.0, 5.2, 2.3), json{{kIrisColumns[0], "tall"}},
                           json{{"colour", "red"}, {kIrisColumns[2], 1.5}}});
  auto first =
      c().Post("/api/v1/models/flowers/predict", json{{"rows", rows}}.dump(), "application/json", Auth(token_));
  ASSERT_EQ(first.status, 200) << first.body;
  json answer = first.Json();
  EXPECT_EQ(answer["version"], 1);
  EXPECT_EQ(answer["model_id"], gb["id"]);
  ASSERT_EQ(answer["predictions"].size(), 4u);
  EXPECT_EQ(answer["predictions"][0]["prediction"], "setosa");
  EXPECT_EQ(answer["predictions"][1]["prediction"], "virginica");
  double sum = 0;
  for (const auto& [cls, p] : answer["predictions"][0]["probabilities"].items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_TRUE(answer["predictions"][2]["prediction"].is_null());
  EXPECT_EQ(answer["predictions"][2]["problems"][0]["level"], "error");
  EXPECT_EQ(answer["predictions"][2]["problems"][0]["column"], kIrisColumns[0]);
  EXPECT_FALSE(answer["predictions"][3]["prediction"].is_null());  // absent columns are imputed
  bool unknown_reported = false;
  for (const auto& p : answer["predictions"][3]["problems"]) unknown_reported |= p["column"] == "colour";
  EXPECT_TRUE(unknown_reported) << answer["predictions"][3].dump();
  EXPECT_EQ(answer["failed_rows"], 1);
  EXPECT_EQ(answer["cached_rows"], 0);
  auto again =
      c().Post("/api/v1/models/flowers/predict", json{{"rows", rows}}.dump(), "application/json", Auth(token_));
  EXPECT_EQ(again.Json()["cached_rows"], 3);  // the failed row is not cached
  EXPECT_EQ(again.Json()["predictions"], answer["predictions"]);

  // A batch prediction equals online predictions of the same rows.
  auto batch = c().Post("/api/v1/models/" + gb["id"].get<std::string>() + "/batch_predict",
                        json{{"dataset_id", iris}}.dump(), "application/json", Auth(token_));
  ASSERT_EQ(batch.status, 202) << batch.body;
  std::string batch_id = batch.Json()["id"];
  WaitForJob(c(), token_, batch_id, {"succeeded"});
  auto csv = c().Get("/api/v1/batch_predictions/" + batch_id, Auth(token_));
  ASSERT_EQ(csv.status, 200) << csv.body;
  json records = CsvRecords(iris_csv, 150);
  for (auto& r : records) r.erase("species");
  auto online =
      c().Post("/api/v1/models/" + gb["id"].get<std::string>() + "/predict",
               json{{"rows", json(records.begin(), records.begin() + 150)}}.dump(), "application/json", Auth(token_));
  ASSERT_EQ(online.status, 200) << online.body;
  const json online_predictions = online.Json()["predictions"];
  std::istringstream lines(csv.body);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "row,prediction,probability_setosa,probability_versicolor,probability_virginica");
  size_t n = 0;
  for (; std::getline(lines, line); ++n) {
    std::stringstream ls(line);
    std::string row, prediction, p0;
    std::getline(ls, row, ',');
    std::getline(ls, prediction, ',');
    std::getline(ls, p0, ',');
    const json& o = online_predictions.at(n);
    EXPECT_EQ(row, std::to_string(n));
    EXPECT_EQ(prediction, o["prediction"].get<std::string>()) << "row " << n;
    EXPECT_NEAR(std::stod(p0), o["probabilities"]["setosa"].get<double>(), 1e-6) << "row " << n;
  }
  EXPECT_EQ(n, 150u);

  // Export: the artifact file as documented.
  auto download = c().Get("/api/v1/models/" + gb["id"].get<std::string>() + "/download", Auth(token_));
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(download.body.substr(0, 8), "PGMODEL1");
  EXPECT_EQ(static_cast<int64_t>(download.body.size()), gb["artifact"]["bytes"].get<int64_t>());

  // Another account sees none of it.
  std::string other = SignUp(c(), "other@example.com");
  EXPECT_EQ(c().Get("/api/v1/models/" + gb["id"].get<std::string>(), Auth(other)).status, 404);
  EXPECT_EQ(
      c().Post("/api/v1/models/flowers/predict", json{{"rows", rows}}.dump(), "application/json", Auth(other)).status,
      404);
  EXPECT_EQ(c().Get("/api/v1/models", Auth(other)).Json()["total"], 0);
  EXPECT_EQ(c().Get("/api/v1/batch_predictions/" + batch_id, Auth(other)).status, 404);

  // Deleting a version removes it and its file.
  auto del = c().Request("DELETE", "/api/v1/models/" + gb2["id"].get<std::string>(), "", Auth(token_));
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(c().Get("/api/v1/models/" + gb2["id"].get<std::string>(), Auth(token_)).status, 404);
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() + "/models/" + gb2["id"].get<std::string>() + ".model"));
  EXPECT_EQ(c().Get("/api/v1/models", Auth(token_)).Json()["total"], 2);
}

TEST_P(ModelsTest, RegressionAndClusteringTrainAndPredict) {
  std::string diabetes = Upload(c(), token_, "diabetes", ReadFile(kDatasets + "/diabetes.csv"));
  json ridge = Train(c(), token_, {{"dataset_id", diabetes}, {"target", "progression"}, {"algorithm", "ridge"}});
  EXPECT_EQ(ridge["task"], "regression");
  ASSERT_TRUE(ridge.contains("metrics"));
  EXPECT_GT(ridge["metrics"]["r2"].get<double>(), 0.2);
  EXPECT_GT(ridge["metrics"]["rmse"].get<double>(), 0);

  std::string iris = Upload(c(), token_, "iris", ReadFile(kDatasets + "/iris.csv"));
  json km = Train(c(), token_,
                  {{"dataset_id", iris},
                   {"task", "clustering"},
                   {"algorithm", "kmeans"},
                   {"params", {{"n_clusters", 3}}},
                   {"preprocessing", {{"drop", {"species"}}}}});
  EXPECT_EQ(km["task"], "clustering");
  EXPECT_TRUE(km["target"].is_null());
  EXPECT_GT(km["metrics"]["silhouette"].get<double>(), 0.3);
  auto p = c().Post("/api/v1/models/" + km["id"].get<std::string>() + "/predict",
                    json{{"rows", {IrisRow(5.1, 3.5, 1.4, 0.2)}}}.dump(), "application/json", Auth(token_));
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_TRUE(p.Json()["predictions"][0]["prediction"].is_number_integer());
}

TEST_P(ModelsTest, BadRequestsAreProblemsNamingWhatToFix) {
  std::string iris = Upload(c(), token_, "iris", ReadFile(kDatasets + "/iris.csv"));
  struct Case {
    json body;
    int status;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "deep_net"}}, 422, "gradient_boosting"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "random_forest"}, {"params", {{"max_depth", 99}}}},
       422,
       "max_depth"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "knn"}, {"params", {{"k", 5}}}}, 422, "'k'"},
      {{{"dataset_id", iris}, {"target", "colour"}, {"algorithm", "knn"}}, 422, "colour"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "kmeans"}}, 422, "kmeans"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "ridge"}, {"task", "regression"}}, 422, "species"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "knn"}, {"cv_folds", 1}}, 422, "cv_folds"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "knn"}, {"preprocessing", {{"scale", "log"}}}},
       422,
       "scale"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "knn"}, {"preprocessing", {{"drop", {"nope"}}}}},
       422,
       "nope"},
      {{{"dataset_id", iris}, {"target", "species"}, {"algorithm", "knn"}, {"colour", 1}}, 422, "colour"},
      {{{"dataset_id", "no-such-dataset"}, {"target", "species"}, {"algorithm", "knn"}}, 404, "no-such-dataset"},
      {{{"target", "species"}, {"algorithm", "knn"}}, 422, "dataset_id"},
  };
  for (const auto& k : cases) {
    auto [status, body] = StartTraining(c(), token_, k.body);
    EXPECT_EQ(status, k.status) << k.body.dump() << " -> " << body.dump();
    EXPECT_NE(body.value("detail", "").find(k.mentions), std::string::npos) << body.dump();
    EXPECT_EQ(body.value("status", 0), k.status);
  }
  EXPECT_EQ(c().Get("/api/v1/jobs", Auth(token_)).Json()["items"].size(), 0u);  // none was queued

  json model = Train(c(), token_, {{"dataset_id", iris}, {"target", "species"}, {"algorithm", "gaussian_nb"}});
  std::string predict = "/api/v1/models/" + model["id"].get<std::string>() + "/predict";
  EXPECT_EQ(c().Post(predict, R"({"rows": {}})", "application/json", Auth(token_)).status, 422);
  EXPECT_EQ(c().Post(predict, R"({"rows": []})", "application/json", Auth(token_)).status, 422);
  json many = json::array();
  for (int i = 0; i < 201; ++i) many.push_back(IrisRow(5, 3, 1, 0.2));
  auto too_many = c().Post(predict, json{{"rows", many}}.dump(), "application/json", Auth(token_));
  EXPECT_EQ(too_many.status, 422);
  EXPECT_NE(too_many.body.find("PREDICT_MAX_ROWS"), std::string::npos) << too_many.body;
  EXPECT_EQ(c().Post(predict, "{not json", "application/json", Auth(token_)).status, 400);
  EXPECT_EQ(c().Post("/api/v1/preprocessings", R"({"name": "x", "spec": {"encode": {"method": "hash"}}})",
                     "application/json", Auth(token_))
                .status,
            422);
}

INSTANTIATE_TEST_SUITE_P(Databases, ModelsTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Postgres" : "Sqlite"; });

// A generated classification table big enough that a large forest takes many seconds.
std::string BigTable(int rows) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise;
  std::ostringstream out;
  out << "a,b,c,d,e,f,label\n";
  for (int i = 0; i < rows; ++i) {
    double v[6];
    for (double& x : v) x = noise(rng);
    out << v[0] << "," << v[1] << "," << v[2] << "," << v[3] << "," << v[4] << "," << v[5] << ","
        << (v[0] + v[1] * v[2] + noise(rng) > 0 ? "yes" : "no") << "\n";
  }
  return out.str();
}

TEST(ModelsJobsTest, CancellingATrainingJobStopsItWithinASecondOrTwo) {
  TestServer server(BaseEnv(false));
  auto c = server.Client();
  std::string token = SignUp(c, "owner@example.com");
  std::string data = Upload(c, token, "big", BigTable(10000));
  auto [status, job] = StartTraining(c, token,
                                     {{"dataset_id", data},
                                      {"target", "label"},
                                      {"algorithm", "random_forest"},
                                      {"params", {{"n_estimators", 5000}}}});
  ASSERT_EQ(status, 202) << job.dump();
  std::string id = job["id"];
  // Wait until the forest is growing (progress past the preprocessing).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    json j = c.Get("/api/v1/jobs/" + id, Auth(token)).Json();
    if (j["state"] == "running" && j["progress"].get<double>() > 0.06) break;
    std::this_thread::sleep_for(20ms);
  }
  auto asked = std::chrono::steady_clock::now();
  auto cancel = c.Post("/api/v1/jobs/" + id + "/cancel", "", "application/json", Auth(token));
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  json done = WaitForJob(c, token, id, {"cancelled", "succeeded", "failed"}, 10s);
  auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(done["state"], "cancelled") << done.dump();
  EXPECT_LT(took, 2s);
  EXPECT_EQ(c.Get("/api/v1/models", Auth(token)).Json()["total"], 0);
}

TEST(ModelsJobsTest, AServerKilledMidTrainingRetriesTheJobAndStoresTheModelOnce) {
  TempDir dir;
  Env env = BaseEnv(false);
  env["DATA_DIR"] = dir.path() + "/data";
  std::string token, id;
  {
    TestServer server(env);
    auto c = server.Client();
    token = SignUp(c, "owner@example.com");
    std::string data = Upload(c, token, "big", BigTable(5000));
    auto [status, job] = StartTraining(c, token,
                                       {{"dataset_id", data},
                                        {"target", "label"},
                                        {"algorithm", "random_forest"},
                                        {"params", {{"n_estimators", 100}}}});
    ASSERT_EQ(status, 202) << job.dump();
    id = job["id"];
    WaitForJob(c, token, id, {"running"});
    server.process().Signal(SIGKILL);
    server.process().Wait(10s);
  }
  TestServer restarted(env);
  auto c = restarted.Client();
  json done = WaitForJob(c, token, id, {"succeeded", "failed"}, 120s);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["attempt"], 2);
  json models = c.Get("/api/v1/models", Auth(token)).Json();
  EXPECT_EQ(models["total"], 1);
  ASSERT_EQ(models["items"].size(), 1u);
  EXPECT_EQ(models["items"][0]["id"], done["result"]["model_id"]);
  EXPECT_EQ(models["items"][0]["job_id"], id);
  // One artifact file: the first attempt never got as far as writing one.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/data/models")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(ModelsJobsTest, AReloadedModelPredictsExactlyWhatItDidBeforeARestart) {
  TempDir dir;
  Env env = BaseEnv(false);
  env["DATA_DIR"] = dir.path() + "/data";
  json rows = json::array();
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.1, 7.0);
  for (int i = 0; i < 50; ++i) rows.push_back(IrisRow(u(rng), u(rng), u(rng), u(rng)));
  std::string token;
  std::vector<std::string> ids;
  std::vector<json> before;
  {
    TestServer server(env);
    auto c = server.Client();
    token = SignUp(c, "owner@example.com");
    std::string iris = Upload(c, token, "iris", ReadFile(kDatasets + "/iris.csv"));
    for (const char* algorithm : {"random_forest", "logistic_regression", "knn", "multinomial_nb"}) {
      json m =
          Train(c, token,
                {{"dataset_id", iris},
                 {"target", "species"},
                 {"algorithm", algorithm},
                 {"preprocessing", {{"scale", std::string(algorithm) == "multinomial_nb" ? "minmax" : "robust"}}}});
      ids.push_back(m["id"]);
      auto r = c.Post("/api/v1/models/" + ids.back() + "/predict", json{{"rows", rows}}.dump(), "application/json",
                      Auth(token));
      ASSERT_EQ(r.status, 200) << r.body;
      before.push_back(r.Json()["predictions"]);
    }
    server.Stop();
  }
  TestServer restarted(env);  // a new process: the models come from their files; the cache is empty
  auto c = restarted.Client();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r =
        c.Post("/api/v1/models/" + ids[i] + "/predict", json{{"rows", rows}}.dump(), "application/json", Auth(token));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["cached_rows"], 0);
    EXPECT_EQ(r.Json()["predictions"], before[i]) << ids[i];  // bit for bit: the JSON numbers are equal
  }
}

}  // namespace
}  // namespace playground::testkit
