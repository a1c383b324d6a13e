// Tests of the preprocessing pipeline: the spec, targets, splits, fitting on training rows only,
// out-of-fold target encoding, JSON records against file rows, and the scikit-learn reference in
// tests/fixtures/ml/preprocess.json (scripts/reference/ml_preprocess.py).
#include "ml/preprocess.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/columnar.h"
#include "data/ingest.h"
#include "data/values.h"
#include "ml/test_data.h"

namespace playground::ml {
namespace {

namespace fs = std::filesystem;
using data::ColumnType;
using nlohmann::json;

int64_t Micros(const std::string& text) { return data::ParseDatetime(text, data::DateOrder::kMonthFirst)->micros; }

std::vector<int64_t> Range(int64_t begin, int64_t end) {
  std::vector<int64_t> rows;
  for (int64_t r = begin; r < end; ++r) rows.push_back(r);
  return rows;
}

// Expects `f` to throw core::Error(kValidation) whose message contains `needle`.
template <typename F>
void ExpectValidation(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kValidation) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

bool SameBits(const Matrix& a, const Matrix& b) {
  return a.rows == b.rows && a.cols == b.cols &&
         std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

class PreprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "preprocess-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<data::ColumnarFile> Write(const data::Schema& schema, const std::vector<data::RowGroup>& groups) {
    const std::string path = (dir_ / ("t" + std::to_string(files_++) + ".ds")).string();
    data::ColumnarWriter w(path, schema);
    for (const auto& g : groups) w.Append(g);
    w.Finish();
    return data::ColumnarFile::Open(path);
  }

  // A mixed table of `rows` rows in two row groups, with missing values in every feature column:
  //   num (number), cnt (integer), flag (boolean), when (datetime), day (date),
  //   colour (category: red, green, blue, black, white), note (text),
  //   label (category yes/no, mostly "yes" for red and green), value (number, a regression target).
  // `change_row` >= 0 replaces that row's num, cnt and colour with extreme / new values.
  std::unique_ptr<data::ColumnarFile> Mixed(int rows = 60, int change_row = -1) {
    data::Schema schema = {{"num", ColumnType::kNumber, {}},
                           {"cnt", ColumnType::kInteger, {}},
                           {"flag", ColumnType::kBoolean, {}},
                           {"when", ColumnType::kDatetime, {}},
                           {"day", ColumnType::kDate, {}},
                           {"colour", ColumnType::kCategory, {"red", "green", "blue", "black", "white", "pink"}},
                           {"note", ColumnType::kText, {}},
                           {"label", ColumnType::kCategory, {"yes", "no"}},
                           {"value", ColumnType::kNumber, {}}};
    std::vector<data::RowGroup> groups(2);
    for (auto& g : groups) {
      for (const auto& c : schema) g.columns.emplace_back(c.type);
    }
    const int64_t base = Micros("2024-01-01T00:00:00Z");
    for (int i = 0; i < rows; ++i) {
      auto& cols = groups[i < rows / 2 ? 0 : 1].columns;
      const bool changed = i == change_row;
      if (i % 7 == 3) {
        cols[0].AppendMissing();
      } else {
        cols[0].AppendDouble(changed ? 1e6 : 0.5 * i + (i % 4 == 0 ? 20.0 : 0.0));
      }
      if (i % 11 == 4) {
        cols[1].AppendMissing();
      } else {
        cols[1].AppendInt(changed ? -500 : i % 5);
      }
      if (i % 13 == 5) {
        cols[2].AppendMissing();
      } else {
        cols[2].AppendInt(i % 3 == 0 ? 1 : 0);
      }
      if (i % 17 == 6) {
        cols[3].AppendMissing();
      } else {
        cols[3].AppendInt(base + i * (86'400'000'000LL + 5 * 3'600'000'000LL));
      }
      cols[4].AppendInt(base + i * 86'400'000'000LL * 3);
      const uint32_t colour = static_cast<uint32_t>((i * 3 + i / 5) % 5);
      if (i % 9 == 8) {
        cols[5].AppendMissing();
      } else {
        cols[5].AppendCode(changed ? 5 : colour);
      }
      cols[6].AppendText("note " + std::to_string(i));
      const bool yes = colour <= 1 ? (i % 6 != 0) : (i % 4 == 0);
      cols[7].AppendCode(yes ? 0 : 1);
      cols[8].AppendDouble(3.0 * colour + 0.1 * i);
    }
    return Write(schema, groups);
  }

  fs::path dir_;
  int files_ = 0;
};

// Builds prediction records from a file's raw values, as a user would send them (numbers,
// booleans, dates as text, category text); a missing value is sent as null on even rows and left
// out on odd rows.
json RecordsOf(const data::ColumnarFile& file, std::span<const int64_t> rows) {
  const json all = data::RowsJson(file, 0, file.rows());
  json records = json::array();
  for (int64_t r : rows) {
    json record = json::object();
    for (std::size_t c = 0; c < file.schema().size(); ++c) {
      const json& v = all[static_cast<std::size_t>(r)][c];
      if (!v.is_null() || r % 2 == 0) record[file.schema()[c].name] = v;
    }
    records.push_back(std::move(record));
  }
  return records;
}

TEST(PreprocessSpec, FillsDefaults) {
  const json spec = ResolvePipelineSpec(json::object());
  EXPECT_EQ(spec["impute"]["numeric"], "mean");
  EXPECT_EQ(spec["impute"]["categorical"], "most_frequent");
  EXPECT_EQ(spec["scale"], "none");
  EXPECT_EQ(spec["encode"]["method"], "onehot");
  EXPECT_EQ(spec["encode"]["max_levels"], 20);
  EXPECT_EQ(spec["clip"]["method"], "none");
  EXPECT_EQ(spec["datetime_parts"], json({"year", "month", "day_of_week", "hour"}));
  EXPECT_EQ(spec["split"]["method"], "random");
  EXPECT_EQ(spec["split"]["test_fraction"], 0.2);
  EXPECT_EQ(spec["split"]["seed"], 0);
  EXPECT_TRUE(spec["split"]["time_column"].is_null());
  EXPECT_EQ(ResolvePipelineSpec(spec), spec);  // resolving is idempotent
  EXPECT_EQ(ResolvePipelineSpec({{"impute", {{"numeric", "median"}}}})["impute"]["categorical"], "most_frequent");
}

TEST(PreprocessSpec, RefusesBadFieldsNamingThem) {
  ExpectValidation([] { ResolvePipelineSpec({{"scale", "log"}}); }, "scale must be one of: none, standard");
  ExpectValidation([] { ResolvePipelineSpec({{"scaling", "none"}}); }, "scaling is unknown");
  ExpectValidation([] { ResolvePipelineSpec({{"impute", {{"numeric", "mode"}}}}); }, "impute.numeric");
  ExpectValidation([] { ResolvePipelineSpec({{"impute", {{"fill_category", ""}}}}); }, "impute.fill_category");
  ExpectValidation([] { ResolvePipelineSpec({{"encode", {{"max_levels", 1}}}}); }, "encode.max_levels");
  ExpectValidation([] { ResolvePipelineSpec({{"encode", {{"levels", 3}}}}); }, "encode.levels is unknown");
  ExpectValidation([] { ResolvePipelineSpec({{"clip", {{"lower", 0.9}, {"upper", 0.1}}}}); }, "clip.lower");
  ExpectValidation([] { ResolvePipelineSpec({{"datetime_parts", {"year", "minute"}}}); }, "datetime_parts");
  ExpectValidation([] { ResolvePipelineSpec({{"split", {{"test_fraction", 1.0}}}}); }, "split.test_fraction");
  ExpectValidation([] { ResolvePipelineSpec({{"split", {{"seed", -1}}}}); }, "split.seed");
  ExpectValidation([] { ResolvePipelineSpec({{"split", {{"method", "time"}}}}); }, "split.time_column");
  ExpectValidation([] { ResolvePipelineSpec({{"drop", "a"}}); }, "drop");
}

// Imputation, scaling and clipping of a number and an integer column against scikit-learn and
// numpy for every combination (48 cases), fitted on rows 0-29 and applied to all 40 rows.
TEST_F(PreprocessTest, MatchesScikitLearnReference) {
  const json fixture = testing::ReadJsonFixture("ml/preprocess.json");
  const json& x = fixture["columns"]["x"];
  const json& n = fixture["columns"]["n"];
  data::RowGroup g;
  g.columns.emplace_back(ColumnType::kNumber);
  g.columns.emplace_back(ColumnType::kInteger);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].is_null()) {
      g.columns[0].AppendMissing();
    } else {
      g.columns[0].AppendDouble(x[i].get<double>());
    }
    if (n[i].is_null()) {
      g.columns[1].AppendMissing();
    } else {
      g.columns[1].AppendInt(n[i].get<int64_t>());
    }
  }
  auto file = Write({{"x", ColumnType::kNumber, {}}, {"n", ColumnType::kInteger, {}}}, {g});
  const auto train = Range(0, fixture["train_rows"].get<int64_t>());
  const auto all = Range(0, static_cast<int64_t>(x.size()));
  ASSERT_EQ(fixture["cases"].size(), 48U);
  for (const json& c : fixture["cases"]) {
    const json spec = ResolvePipelineSpec(c["spec"]);
    const Pipeline p = Pipeline::Fit(spec, *file, "", train, Target{}, Task::kClustering, 0);
    const Matrix m = p.Transform(*file, all);
    ASSERT_EQ(m.cols, 2U);
    for (std::size_t r = 0; r < all.size(); ++r) {
      for (std::size_t j = 0; j < 2; ++j) {
        const double want = c["expected"][r][j].get<double>();
        EXPECT_NEAR(m.at(r, j), want, 1e-5 * std::max(1.0, std::abs(want))) << c["spec"].dump() << " row " << r;
      }
    }
  }
}

TEST_F(PreprocessTest, EncodesTargets) {
  auto file = Mixed();
  const Target label = EncodeTarget(*file, "label", Task::kBinary);
  EXPECT_EQ(label.class_names, (std::vector<std::string>{"no", "yes"}));  // sorted text, not dictionary order
  EXPECT_EQ(label.y[0], 0);                                               // row 0: colour red, i % 6 == 0 -> "no"
  EXPECT_TRUE(label.missing_rows.empty());
  ExpectValidation([&] { EncodeTarget(*file, "colour", Task::kBinary); }, "exactly 2 classes");
  EXPECT_EQ(EncodeTarget(*file, "colour", Task::kMulticlass).class_names,
            (std::vector<std::string>{"black", "blue", "green", "red", "white"}));
  ExpectValidation([&] { EncodeTarget(*file, "colour", Task::kRegression); }, "numeric target");
  ExpectValidation([&] { EncodeTarget(*file, "when", Task::kMulticlass); }, "classification target");
  ExpectValidation([&] { EncodeTarget(*file, "nope", Task::kBinary); }, "no column named \"nope\"");

  // Integer classes in numeric order (as LabelEncoder on integers), missing rows reported.
  const Target cnt = EncodeTarget(*file, "cnt", Task::kMulticlass);
  EXPECT_EQ(cnt.class_names, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(cnt.missing_rows, (std::vector<int64_t>{4, 15, 26, 37, 48, 59}));
  EXPECT_TRUE(std::isnan(cnt.y[4]));
  EXPECT_EQ(cnt.y[3], 3);
  data::RowGroup g;
  g.columns.emplace_back(ColumnType::kInteger);
  for (int v : {10, 2, 1, 10}) g.columns[0].AppendInt(v);
  auto ints = Write({{"k", ColumnType::kInteger, {}}}, {g});
  const Target k = EncodeTarget(*ints, "k", Task::kMulticlass);
  EXPECT_EQ(k.class_names, (std::vector<std::string>{"1", "2", "10"}));
  EXPECT_EQ(k.y, (std::vector<double>{2, 1, 0, 2}));
  const Target reg = EncodeTarget(*file, "value", Task::kRegression);
  EXPECT_DOUBLE_EQ(reg.y[2], 3.0 * 1 + 0.2);  // colour code (2 * 3 + 0) % 5 = 1
}

TEST_F(PreprocessTest, RandomSplitIsDeterministic) {
  auto file = Mixed(61);
  const auto rows = Range(0, 61);
  const json spec = ResolvePipelineSpec({{"split", {{"seed", 42}, {"test_fraction", 0.25}}}})["split"];
  const Split a = MakeSplit(spec, *file, rows, Target{}, Task::kClustering);
  const Split b = MakeSplit(spec, *file, rows, Target{}, Task::kClustering);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.test.size(), 16U);  // ceil(0.25 * 61)
  std::set<int64_t> seen(a.train.begin(), a.train.end());
  seen.insert(a.test.begin(), a.test.end());
  EXPECT_EQ(seen.size(), 61U);
  json other = spec;
  other["seed"] = 43;
  EXPECT_NE(MakeSplit(other, *file, rows, Target{}, Task::kClustering).test, a.test);
  ExpectValidation([&] { MakeSplit(spec, *file, std::vector<int64_t>{3}, Target{}, Task::kClustering); },
                   "at least 2 rows");
}

TEST_F(PreprocessTest, StratifiedSplitKeepsClassProportions) {
  auto file = Mixed(60);
  const Target target = EncodeTarget(*file, "colour", Task::kMulticlass);
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < 60; ++r) {
    if (!std::isnan(target.y[static_cast<std::size_t>(r)])) rows.push_back(r);
  }
  ASSERT_EQ(target.missing_rows.size(), 60 - rows.size());
  const json spec = ResolvePipelineSpec({{"split", {{"method", "stratified"}, {"test_fraction", 0.3}}}})["split"];
  const Split s = MakeSplit(spec, *file, rows, target, Task::kMulticlass);
  EXPECT_EQ(s.train.size() + s.test.size(), rows.size());
  for (std::size_t cls = 0; cls < target.class_names.size(); ++cls) {
    auto count = [&](const std::vector<int64_t>& part) {
      return std::count_if(part.begin(), part.end(), [&](int64_t r) {
        return target.y[static_cast<std::size_t>(r)] == static_cast<double>(cls);
      });
    };
    const double total = static_cast<double>(count(s.train) + count(s.test));
    EXPECT_GE(count(s.train), 1) << target.class_names[cls];
    EXPECT_NEAR(static_cast<double>(count(s.test)), 0.3 * total, 0.5) << target.class_names[cls];
  }
  EXPECT_EQ(MakeSplit(spec, *file, rows, target, Task::kMulticlass).test, s.test);
  ExpectValidation([&] { MakeSplit(spec, *file, rows, target, Task::kRegression); }, "classification");
}

TEST_F(PreprocessTest, TimeSplitPutsTheLatestRowsInTest) {
  auto file = Mixed(60);
  const auto rows = Range(0, 60);
  const json spec =
      ResolvePipelineSpec({{"split", {{"method", "time"}, {"time_column", "when"}, {"test_fraction", 0.25}}}})["split"];
  const Split s = MakeSplit(spec, *file, rows, Target{}, Task::kRegression);
  ASSERT_EQ(s.test.size(), 15U);
  // `when` grows with the row number; rows with a missing time (6, 23, 40, 57) stay in train.
  std::vector<int64_t> want = Range(44, 60);
  want.erase(std::find(want.begin(), want.end(), 57));
  EXPECT_EQ(s.test, want);
  EXPECT_NE(std::find(s.train.begin(), s.train.end(), 57), s.train.end());
  json bad = spec;
  bad["time_column"] = "colour";
  ExpectValidation([&] { MakeSplit(bad, *file, rows, Target{}, Task::kRegression); }, "must be a date, datetime");
}

// Every statistic comes from the training rows: changing a test row (an extreme number and
// integer, a category level no training row has) leaves the fitted pipeline unchanged.
TEST_F(PreprocessTest, FitsOnTrainingRowsOnly) {
  auto file = Mixed(60);
  auto changed = Mixed(60, 55);
  const auto train = Range(0, 45);
  for (const char* method : {"onehot", "ordinal", "target"}) {
    const json spec = ResolvePipelineSpec({{"encode", {{"method", method}}},
                                           {"scale", "standard"},
                                           {"clip", {{"method", "quantile"}}},
                                           {"impute", {{"numeric", "median"}}}});
    const Target t1 = EncodeTarget(*file, "label", Task::kBinary);
    const Target t2 = EncodeTarget(*changed, "label", Task::kBinary);
    const Pipeline a = Pipeline::Fit(spec, *file, "label", train, t1, Task::kBinary, 1);
    const Pipeline b = Pipeline::Fit(spec, *changed, "label", train, t2, Task::kBinary, 1);
    EXPECT_EQ(a.Save(), b.Save()) << method;
    // Fitting on all rows instead does see the change.
    const Pipeline c = Pipeline::Fit(spec, *changed, "label", Range(0, 60), t2, Task::kBinary, 1);
    const Pipeline d = Pipeline::Fit(spec, *file, "label", Range(0, 60), t1, Task::kBinary, 1);
    EXPECT_NE(c.Save(), d.Save()) << method;
  }
}

TEST_F(PreprocessTest, ColumnTypesBecomeTheDocumentedFeatures) {
  auto file = Mixed(60);
  const Target target = EncodeTarget(*file, "value", Task::kRegression);
  const json spec = ResolvePipelineSpec({{"drop", {"cnt"}}});
  const Pipeline p = Pipeline::Fit(spec, *file, "value", Range(0, 60), target, Task::kRegression, 0);
  EXPECT_EQ(p.FeatureNames(),
            (std::vector<std::string>{"num", "flag", "when.year", "when.month", "when.day_of_week", "when.hour",
                                      "day.year", "day.month", "day.day_of_week", "colour=black", "colour=blue",
                                      "colour=green", "colour=red", "colour=white", "label=no", "label=yes"}));
  const json schema = p.InputSchema();
  EXPECT_EQ(schema["ignored"], json::parse(R"([{"name":"cnt","reason":"dropped by the pipeline spec"},
                                           {"name":"note","reason":"text columns are not features"}])"));
  EXPECT_EQ(schema["columns"][4]["name"], "colour");
  EXPECT_EQ(schema["columns"][4]["type"], "category");
  EXPECT_EQ(schema["columns"][4]["levels"], json({"black", "blue", "green", "red", "white"}));
  // 2024-03-01T13:45:00Z is a Friday (day_of_week 4, Monday = 0).
  std::vector<json> errors;
  const Matrix m = p.TransformRecords(json::parse(R"([{"num": 2, "flag": "true", "when": "2024-03-01T13:45:00Z",
      "day": "2024-03-01", "colour": "red", "label": "no", "note": "x", "cnt": 1}])"),
                                      errors);
  EXPECT_TRUE(errors.empty()) << json(errors).dump();
  const std::vector<float> want = {2, 1, 2024, 3, 4, 13, 2024, 3, 4, 0, 0, 0, 1, 0, 1, 0};
  EXPECT_EQ(std::vector<float>(m.values.begin(), m.values.end()), want);
  ExpectValidation(
      [&] {
        Pipeline::Fit(ResolvePipelineSpec({{"drop", {"nope"}}}), *file, "value", Range(0, 60), target,
                      Task::kRegression, 0);
      },
      "no column named \"nope\"");
}

// A record built from a file row gives the same features as the row, bit for bit, for every
// encoding, with clipping, imputation (missing values as null and as absent keys) and scaling.
TEST_F(PreprocessTest, RecordsMatchFileRowsBitForBit) {
  auto file = Mixed(60);
  const auto rows = Range(0, 60);
  const Target target = EncodeTarget(*file, "colour", Task::kMulticlass);
  std::vector<int64_t> train;
  for (int64_t r = 0; r < 40; ++r) {
    if (!std::isnan(target.y[static_cast<std::size_t>(r)])) train.push_back(r);
  }
  for (const char* method : {"onehot", "ordinal", "target"}) {
    for (const char* scale : {"none", "standard", "robust"}) {
      const json spec = ResolvePipelineSpec({{"encode", {{"method", method}, {"max_levels", 2}}},
                                             {"scale", scale},
                                             {"clip", {{"method", "iqr"}, {"iqr_factor", 0.5}}}});
      const Pipeline p = Pipeline::Fit(spec, *file, "colour", train, target, Task::kMulticlass, 3);
      const Matrix from_file = p.Transform(*file, rows);
      std::vector<json> errors;
      std::vector<bool> valid;
      const Matrix from_records = p.TransformRecords(RecordsOf(*file, rows), errors, &valid);
      EXPECT_TRUE(SameBits(from_file, from_records)) << method << " " << scale;
      EXPECT_EQ(std::count(valid.begin(), valid.end(), true), 60);
      for (const json& e : errors) {
        EXPECT_EQ(e["level"], "warning") << e.dump();
        EXPECT_EQ(e["row"].get<int>() % 2, 1) << e.dump();  // absent keys only on odd rows
      }
      for (float v : from_file.values) EXPECT_FALSE(std::isnan(v));
    }
  }
}

TEST_F(PreprocessTest, OneHotCapAndUnseenLevels) {
  // Levels by frequency: a x5, b x4, c x3, d x2, e x1.
  data::RowGroup g;
  g.columns.emplace_back(ColumnType::kCategory);
  g.columns.emplace_back(ColumnType::kNumber);
  const std::vector<uint32_t> codes = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4};
  for (std::size_t i = 0; i < codes.size(); ++i) {
    g.columns[0].AppendCode(codes[i]);
    g.columns[1].AppendDouble(static_cast<double>(i % 2));
  }
  auto file = Write({{"k", ColumnType::kCategory, {"e", "d", "c", "b", "a"}}, {"y", ColumnType::kNumber, {}}}, {g});
  const auto rows = Range(0, 15);
  const Target target = EncodeTarget(*file, "y", Task::kRegression);
  const json records = json::parse(R"([{"k": "zzz"}, {"k": "a"}, {"k": "e"}, {"k": null}])");

  const Pipeline capped = Pipeline::Fit(ResolvePipelineSpec({{"encode", {{"max_levels", 3}}}}), *file, "y", rows,
                                        target, Task::kRegression, 0);
  EXPECT_EQ(capped.FeatureNames(), (std::vector<std::string>{"k=d", "k=e", "k=(other)"}));
  EXPECT_EQ(capped.InputSchema()["columns"][0]["levels"], json({"a", "b", "c", "d", "e"}));
  std::vector<json> errors;
  Matrix m = capped.TransformRecords(records, errors);
  // The codes' dictionary is e, d, c, b, a: "e" (code 0) is the most frequent, then d.
  EXPECT_EQ(m.values, (std::vector<float>{0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0}));

  const Pipeline open =
      Pipeline::Fit(ResolvePipelineSpec(json::object()), *file, "y", rows, target, Task::kRegression, 0);
  EXPECT_EQ(open.features(), 5U);
  m = open.TransformRecords(records, errors);
  EXPECT_EQ(std::vector<float>(m.values.begin(), m.values.begin() + 5), std::vector<float>(5, 0.0F));  // unseen

  const Pipeline ordinal = Pipeline::Fit(ResolvePipelineSpec({{"encode", {{"method", "ordinal"}}}}), *file, "y", rows,
                                         target, Task::kRegression, 0);
  m = ordinal.TransformRecords(records, errors);
  EXPECT_EQ(m.values, (std::vector<float>{-1, 0, 4, 4}));  // unseen -> -1; missing -> the mode "e"

  const Pipeline te = Pipeline::Fit(ResolvePipelineSpec({{"encode", {{"method", "target"}}}}), *file, "y", rows, target,
                                    Task::kRegression, 0);
  m = te.TransformRecords(records, errors);
  EXPECT_FLOAT_EQ(m.values[0], 7.0F / 15.0F);  // unseen -> the mean label over the training rows
  EXPECT_TRUE(errors.empty());
}

// Hand-computed scikit-learn 1.3 TargetEncoder(smooth="auto") values, and the out-of-fold
// training matrix: a row-unique id column encodes every training row's own label in the full fit
// but carries no label information out of fold.
TEST_F(PreprocessTest, TargetEncodingIsOutOfFold) {
  data::RowGroup g;
  g.columns.emplace_back(ColumnType::kCategory);  // id: a level per row
  g.columns.emplace_back(ColumnType::kCategory);  // grp: a/b
  g.columns.emplace_back(ColumnType::kCategory);  // label: n/p
  std::vector<std::string> ids;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    ids.push_back("id" + std::to_string(i));
    g.columns[0].AppendCode(static_cast<uint32_t>(i));
    g.columns[1].AppendCode(i < 20 ? 0 : 1);
    g.columns[2].AppendCode((i < 20 ? i % 4 != 0 : i % 4 == 0) ? 1 : 0);  // a: 15/20 p, b: 5/20 p
  }
  auto file = Write({{"id", ColumnType::kCategory, ids},
                     {"grp", ColumnType::kCategory, {"a", "b"}},
                     {"label", ColumnType::kCategory, {"n", "p"}}},
                    {g});
  const Target target = EncodeTarget(*file, "label", Task::kBinary);
  const auto rows = Range(0, n);
  const json spec = ResolvePipelineSpec({{"encode", {{"method", "target"}}}});
  Matrix train;
  const Pipeline p = Pipeline::Fit(spec, *file, "label", rows, target, Task::kBinary, 5, &train);
  EXPECT_EQ(p.FeatureNames(), (std::vector<std::string>{"id", "grp"}));
  const Matrix full = p.Transform(*file, rows);
  // grp "a": mean 0.75, overall mean 0.5, var(y) 0.25, mean squared deviation from 0.5 = 0.25:
  // lambda = 0.25 * 20 / (0.25 * 20 + 0.25) = 20 / 21; 20/21 * 0.75 + 1/21 * 0.5 = 15.5 / 21.
  EXPECT_FLOAT_EQ(full.at(0, 1), static_cast<float>(15.5 / 21));
  EXPECT_FLOAT_EQ(full.at(39, 1), static_cast<float>(5.5 / 21));
  // id: a single row, lambda = 0.25 / (0.25 + 0.25) = 0.5: halfway between the label and 0.5.
  EXPECT_FLOAT_EQ(full.at(1, 0), 0.75F);
  EXPECT_FLOAT_EQ(full.at(0, 0), 0.25F);

  float min_pos = 1;
  float max_neg = 0;
  int differs = 0;
  for (int i = 0; i < n; ++i) {
    const bool pos = target.y[static_cast<std::size_t>(i)] == 1;
    const float v = train.at(static_cast<std::size_t>(i), 0);
    (pos ? min_pos : max_neg) = pos ? std::min(min_pos, v) : std::max(max_neg, v);
    differs += v != full.at(static_cast<std::size_t>(i), 0) ? 1 : 0;
    // Out of fold an id is never seen: the row gets its fold's prior, not its own label.
    EXPECT_GT(v, 0.3F);
    EXPECT_LT(v, 0.7F);
    EXPECT_NE(train.at(static_cast<std::size_t>(i), 1), full.at(static_cast<std::size_t>(i), 1));
  }
  EXPECT_EQ(differs, n);
  EXPECT_LE(min_pos, max_neg) << "the out-of-fold id encoding separates the classes: the label leaked";
  // The same seed gives the same folds; another seed other folds.
  Matrix again;
  Pipeline::Fit(spec, *file, "label", rows, target, Task::kBinary, 5, &again);
  EXPECT_TRUE(SameBits(train, again));
  Pipeline::Fit(spec, *file, "label", rows, target, Task::kBinary, 6, &again);
  EXPECT_FALSE(SameBits(train, again));

  // Multiclass: one column per class.
  auto mixed = Mixed(60);
  const Target colour = EncodeTarget(*mixed, "cnt", Task::kMulticlass);
  std::vector<int64_t> present;
  for (int64_t r = 0; r < 60; ++r) {
    if (!std::isnan(colour.y[static_cast<std::size_t>(r)])) present.push_back(r);
  }
  const Pipeline mc = Pipeline::Fit(ResolvePipelineSpec({{"encode", {{"method", "target"}}}, {"drop", {"label"}}}),
                                    *mixed, "cnt", present, colour, Task::kMulticlass, 0);
  const auto names = mc.FeatureNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "colour:0"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "colour:4"), names.end());
  ExpectValidation([&] { Pipeline::Fit(spec, *file, "label", rows, Target{}, Task::kClustering, 0); },
                   "classification or regression");
}

TEST_F(PreprocessTest, ReportsRecordProblemsPerRow) {
  auto file = Mixed(60);
  const Target target = EncodeTarget(*file, "value", Task::kRegression);
  const Pipeline p =
      Pipeline::Fit(ResolvePipelineSpec(json::object()), *file, "value", Range(0, 60), target, Task::kRegression, 0);
  const json records = json::parse(R"([
      {"num": "abc", "cnt": 1, "flag": true, "when": null, "day": "2024-01-02", "colour": "red", "label": "no"},
      {"num": "1.5", "cnt": 1, "flag": "maybe", "when": "2024-13-01", "day": "2024-01-02", "colour": "red",
       "label": "no", "shoe_size": 42},
      [1, 2],
      {"num": 1.5, "cnt": 1, "flag": 0, "when": "2024-01-02 10:00", "day": "2024-01-02", "colour": {"x": 1},
       "label": "no", "value": 3, "note": "ignored"},
      {"num": 1.5, "cnt": "NA", "flag": false, "when": "2024-01-02T10:00:00Z", "day": "2024-01-02", "colour": 7,
       "label": "no", "value": 3}
  ])");
  std::vector<json> errors;
  std::vector<bool> valid;
  const Matrix m = p.TransformRecords(records, errors, &valid);
  EXPECT_EQ(valid, (std::vector<bool>{false, false, false, false, true}));
  auto problems = [&](int row, const std::string& level) {
    std::vector<std::string> columns;
    for (const json& e : errors) {
      if (e["row"] == row && e["level"] == level) columns.push_back(e["column"].is_null() ? "" : e["column"]);
    }
    return columns;
  };
  EXPECT_EQ(problems(0, "error"), std::vector<std::string>{"num"});
  EXPECT_EQ(problems(1, "error"), (std::vector<std::string>{"flag", "when"}));
  EXPECT_EQ(problems(1, "warning"), std::vector<std::string>{"shoe_size"});
  EXPECT_EQ(problems(2, "error"), std::vector<std::string>{""});
  EXPECT_EQ(problems(3, "error"), std::vector<std::string>{"colour"});
  EXPECT_TRUE(problems(3, "warning").empty());  // the target and a text column are known names
  EXPECT_TRUE(problems(4, "error").empty());
  for (std::size_t r = 0; r < 4; ++r) {
    for (float v : m.Row(r)) EXPECT_TRUE(std::isnan(v));
  }
  for (float v : m.Row(4)) EXPECT_FALSE(std::isnan(v));
  ExpectValidation([&] { p.TransformRecords(json::object(), errors); }, "JSON array");
}

TEST_F(PreprocessTest, SaveLoadGivesIdenticalTransforms) {
  auto file = Mixed(60);
  const Target target = EncodeTarget(*file, "label", Task::kBinary);
  const auto rows = Range(0, 60);
  for (const char* method : {"onehot", "ordinal", "target"}) {
    const json spec = ResolvePipelineSpec({{"encode", {{"method", method}, {"max_levels", 3}}},
                                           {"scale", "minmax"},
                                           {"clip", {{"method", "quantile"}, {"lower", 0.1}}}});
    const Pipeline p = Pipeline::Fit(spec, *file, "label", Range(0, 50), target, Task::kBinary, 9);
    const std::string bytes = p.Save();
    const Pipeline q = Pipeline::Load(bytes);
    EXPECT_EQ(q.Save(), bytes);
    EXPECT_TRUE(SameBits(p.Transform(*file, rows), q.Transform(*file, rows))) << method;
    EXPECT_EQ(p.FeatureNames(), q.FeatureNames());
    EXPECT_EQ(p.InputSchema(), q.InputSchema());
    std::vector<json> e1;
    std::vector<json> e2;
    EXPECT_TRUE(
        SameBits(p.TransformRecords(RecordsOf(*file, rows), e1), q.TransformRecords(RecordsOf(*file, rows), e2)));
  }
  ExpectValidation([] { Pipeline::Load("not cbor"); }, "not a saved preprocessing pipeline");
  ExpectValidation([] { Pipeline::Load(""); }, "not a saved preprocessing pipeline");
}

}  // namespace
}  // namespace playground::ml
