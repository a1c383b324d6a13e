#include "data/profile.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "data/columnar.h"

namespace playground::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMicrosPerDay = 86'400'000'000;

class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "profile-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `groups` with `schema` and opens the result.
  std::unique_ptr<ColumnarFile> Write(const Schema& schema, const std::vector<RowGroup>& groups) {
    const std::string path = Path("t" + std::to_string(files_++) + ".ds");
    ColumnarWriter w(path, schema);
    for (const RowGroup& g : groups) w.Append(g);
    w.Finish();
    return ColumnarFile::Open(path);
  }

  fs::path dir_;
  int files_ = 0;
};

// Compares a number from a reference with ours: equal up to rounding in the last digits (sums
// are added in a different order than numpy's pairwise summation).
void ExpectNear(const json& ours, const json& want, const std::string& what) {
  if (want.is_null()) {
    EXPECT_TRUE(ours.is_null()) << what << ": " << ours;
    return;
  }
  ASSERT_TRUE(ours.is_number()) << what << ": " << ours;
  const double a = ours.get<double>();
  const double b = want.get<double>();
  EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::abs(b))) << what;
}

// The hand-made table, in two row groups (5 + 3 rows); "NA" marks a missing value:
//   i (integer):  1, 2, NA, 4, 10, 3, 3, -7
//   x (number):   0.5, -1.25, 3.75, NA, 2.0, 2.0, 100.0, NA
//   k (number):   5.0 in every row
//   b (boolean):  true, false, true, true, NA, false, true, true
//   d (date):     2024-02-29, NA, 1969-12-31, 2000-01-01, 2000-01-01, NA, NA, 1969-12-31
//   t (datetime): 2021-03-04T05:06:07.891Z, 1960-06-01T12:00:00Z, 2038-01-19T03:14:08Z, NA x 5
//   c (category): red, blue, red, NA, green, blue, red, blue
//   s (text):     a, bb, a, NA, ccc, bb, a, zz
Schema HandMadeSchema() {
  return {{"i", ColumnType::kInteger, {}},
          {"x", ColumnType::kNumber, {}},
          {"k", ColumnType::kNumber, {}},
          {"b", ColumnType::kBoolean, {}},
          {"d", ColumnType::kDate, {}},
          {"t", ColumnType::kDatetime, {}},
          {"c", ColumnType::kCategory, {"red", "blue", "green"}},
          {"s", ColumnType::kText, {}}};
}

std::vector<RowGroup> HandMadeRows() {
  constexpr int64_t kNa = std::numeric_limits<int64_t>::min();
  const std::vector<int64_t> i = {1, 2, kNa, 4, 10, 3, 3, -7};
  const std::vector<double> x = {0.5, -1.25, 3.75, NAN, 2.0, 2.0, 100.0, NAN};
  const std::vector<int64_t> b = {1, 0, 1, 1, kNa, 0, 1, 1};
  // Days since 1970-01-01 (python: (date(2024,2,29) - date(1970,1,1)).days etc.).
  const std::vector<int64_t> d = {19782, kNa, -1, 10957, 10957, kNa, kNa, -1};
  // python: (datetime(2021,3,4,5,6,7,891000) - datetime(1970,1,1)) // timedelta(microseconds=1) etc.
  const std::vector<int64_t> t = {1614834367891000, -302443200000000, 2147483648000000, kNa, kNa, kNa, kNa, kNa};
  const std::vector<int64_t> c = {0, 1, 0, kNa, 2, 1, 0, 1};
  const std::vector<std::string> s = {"a", "bb", "a", "", "ccc", "bb", "a", "zz"};
  std::vector<RowGroup> groups(2);
  for (size_t r = 0; r < 8; ++r) {
    RowGroup& g = groups[r < 5 ? 0 : 1];
    if (g.columns.empty()) {
      for (const auto& col : HandMadeSchema()) g.columns.emplace_back(col.type);
    }
    auto& col = g.columns;
    i[r] == kNa ? col[0].AppendMissing() : col[0].AppendInt(i[r]);
    std::isnan(x[r]) ? col[1].AppendMissing() : col[1].AppendDouble(x[r]);
    col[2].AppendDouble(5.0);
    b[r] == kNa ? col[3].AppendMissing() : col[3].AppendInt(b[r]);
    d[r] == kNa ? col[4].AppendMissing() : col[4].AppendInt(d[r] * kMicrosPerDay);
    t[r] == kNa ? col[5].AppendMissing() : col[5].AppendInt(t[r]);
    c[r] == kNa ? col[6].AppendMissing() : col[6].AppendCode(static_cast<uint32_t>(c[r]));
    s[r].empty() ? col[7].AppendMissing() : col[7].AppendText(s[r]);
  }
  return groups;
}

TEST_F(ProfileTest, HandMadeTableMatchesNumpy) {
  auto file = Write(HandMadeSchema(), HandMadeRows());
  const json p = ComputeProfile(*file, {});
  ASSERT_EQ(p["rows"], 8);
  const json& cols = p["columns"];
  ASSERT_EQ(cols.size(), 8u);
  for (const json& c : cols) {
    for (const char* key : {"name", "type", "count", "missing", "distinct", "distinct_method", "min", "max", "mean",
                            "std", "quantiles", "histogram", "top_values"}) {
      EXPECT_TRUE(c.contains(key)) << c["name"] << " lacks " << key;
    }
    EXPECT_EQ(c["distinct_method"], "exact");
  }

  // Values from /usr/bin/python3 (numpy 1.24.2):
  // import numpy as np; a=np.array([1,2,4,10,3,3,-7]); print(repr(a.mean()), repr(a.std(ddof=1)),
  //   [repr(v) for v in np.quantile(a,[.01,.05,.25,.5,.75,.95,.99])]); h=np.histogram(a,bins=20);
  //   print(h[0].tolist(), [repr(v) for v in h[1]])
  const json& i = cols[0];
  EXPECT_EQ(i["type"], "integer");
  EXPECT_EQ(i["count"], 7);
  EXPECT_EQ(i["missing"], 1);
  EXPECT_EQ(i["distinct"], 6);
  EXPECT_EQ(i["min"], -7);
  EXPECT_EQ(i["max"], 10);
  ExpectNear(i["mean"], 2.2857142857142856, "i mean");
  ExpectNear(i["std"], 5.023753102820164, "i std");
  const std::map<std::string, double> iq = {{"p1", -6.52},
                                            {"p5", -4.6},
                                            {"p25", 1.5},
                                            {"p50", 3.0},
                                            {"p75", 3.5},
                                            {"p95", 8.199999999999996},
                                            {"p99", 9.639999999999997}};
  for (const auto& [key, want] : iq) ExpectNear(i["quantiles"][key], want, "i " + key);
  EXPECT_EQ(i["histogram"]["counts"], json({1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 1}));
  const std::vector<double> iedges = {-7.0,
                                      -6.15,
                                      -5.3,
                                      -4.45,
                                      -3.6,
                                      -2.75,
                                      -1.9000000000000004,
                                      -1.0499999999999998,
                                      -0.20000000000000018,
                                      0.6499999999999995,
                                      1.5,
                                      2.3499999999999996,
                                      3.1999999999999993,
                                      4.049999999999999,
                                      4.9,
                                      5.75,
                                      6.6,
                                      7.449999999999999,
                                      8.299999999999999,
                                      9.149999999999999,
                                      10.0};
  ASSERT_EQ(i["histogram"]["edges"].size(), 21u);
  for (size_t e = 0; e < iedges.size(); ++e) EXPECT_EQ(i["histogram"]["edges"][e].get<double>(), iedges[e]) << e;
  EXPECT_TRUE(i["top_values"].is_null());

  // a=np.array([0.5,-1.25,3.75,2.0,2.0,100.0]) with the same line as above.
  const json& x = cols[1];
  EXPECT_EQ(x["count"], 6);
  EXPECT_EQ(x["missing"], 2);
  EXPECT_EQ(x["distinct"], 5);
  EXPECT_EQ(x["min"], -1.25);
  EXPECT_EQ(x["max"], 100.0);
  ExpectNear(x["mean"], 17.833333333333332, "x mean");
  ExpectNear(x["std"], 40.28823235966883, "x std");
  const std::map<std::string, double> xq = {
      {"p1", -1.1625},  {"p5", -0.8125},           {"p25", 0.875}, {"p50", 2.0}, {"p75", 3.3125},
      {"p95", 75.9375}, {"p99", 95.18750000000001}};
  for (const auto& [key, want] : xq) ExpectNear(x["quantiles"][key], want, "x " + key);
  EXPECT_EQ(x["histogram"]["counts"], json({5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(x["histogram"]["edges"][1], 3.8125);

  // a=np.array([5.0]*8): mean 5.0, std 0.0, numpy widens the range to [4.5, 5.5] and puts all
  // eight values in bin 10.
  const json& k = cols[2];
  EXPECT_EQ(k["distinct"], 1);
  EXPECT_EQ(k["mean"], 5.0);
  EXPECT_EQ(k["std"], 0.0);
  EXPECT_EQ(k["quantiles"]["p1"], 5.0);
  EXPECT_EQ(k["histogram"]["counts"], json({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(k["histogram"]["edges"][0], 4.5);
  EXPECT_EQ(k["histogram"]["edges"][20], 5.5);

  const json& b = cols[3];
  EXPECT_EQ(b["count"], 7);
  EXPECT_EQ(b["distinct"], 2);
  EXPECT_EQ(b["top_values"], json::parse(R"([{"value":"true","count":5},{"value":"false","count":2}])"));
  EXPECT_TRUE(b["mean"].is_null());

  const json& d = cols[4];
  EXPECT_EQ(d["count"], 5);
  EXPECT_EQ(d["distinct"], 3);
  EXPECT_EQ(d["min"], "1969-12-31");
  EXPECT_EQ(d["max"], "2024-02-29");
  EXPECT_TRUE(d["histogram"].is_null());

  const json& t = cols[5];
  EXPECT_EQ(t["count"], 3);
  EXPECT_EQ(t["missing"], 5);
  EXPECT_EQ(t["min"], "1960-06-01T12:00:00Z");
  EXPECT_EQ(t["max"], "2038-01-19T03:14:08Z");

  // pd.Series(['red','blue','red',None,'green','blue','red','blue']).value_counts(): red 3,
  // blue 3, green 1; ties are ordered by value.
  const json& c = cols[6];
  EXPECT_EQ(c["count"], 7);
  EXPECT_EQ(c["distinct"], 3);
  EXPECT_EQ(c["top_values"],
            json::parse(R"([{"value":"blue","count":3},{"value":"red","count":3},{"value":"green","count":1}])"));

  const json& s = cols[7];
  EXPECT_EQ(s["distinct"], 4);
  EXPECT_EQ(s["top_values"], json::parse(R"([{"value":"a","count":3},{"value":"bb","count":2},)"
                                         R"({"value":"ccc","count":1},{"value":"zz","count":1}])"));
}

TEST_F(ProfileTest, CorrelationWithMissingValuesAndAConstantColumnMatchesPandas) {
  auto file = Write(HandMadeSchema(), HandMadeRows());
  const json p = ComputeProfile(*file, {});
  // The numeric columns (booleans included, as pandas does), from /usr/bin/python3 (pandas 1.5.3):
  // import pandas as pd; df=pd.DataFrame({'i':[1,2,None,4,10,3,3,-7],'x':[0.5,-1.25,3.75,None,2.0,
  //   2.0,100.0,None],'k':[5.0]*8,'b':[1.0,0,1,1,None,0,1,1]}); print(df.corr().to_numpy().tolist())
  const json want = json::parse(R"([
    [1.0, -0.1080455647325011, null, -0.28690952087850224],
    [-0.1080455647325011, 1.0, null, 0.4259634265619601],
    [null, null, null, null],
    [-0.28690952087850224, 0.4259634265619601, null, 1.0]])");
  EXPECT_EQ(p["correlation"]["columns"], json({"i", "x", "k", "b"}));
  const json& m = p["correlation"]["matrix"];
  ASSERT_EQ(m.size(), 4u);
  for (size_t a = 0; a < 4; ++a) {
    for (size_t b = 0; b < 4; ++b) ExpectNear(m[a][b], want[a][b], std::to_string(a) + "," + std::to_string(b));
  }

  ProfileOptions capped;
  capped.max_correlation_columns = 2;
  EXPECT_EQ(ComputeProfile(*file, capped)["correlation"]["columns"], json({"i", "x"}));
}

TEST_F(ProfileTest, SameResultWithOneOrManyThreads) {
  auto file = Write(HandMadeSchema(), HandMadeRows());
  ProfileOptions one;
  one.threads = 1;
  ProfileOptions many;
  many.threads = 5;
  EXPECT_EQ(ComputeProfile(*file, one), ComputeProfile(*file, many));
}

TEST_F(ProfileTest, EmptyDataset) {
  auto file = Write(HandMadeSchema(), {});
  const json p = ComputeProfile(*file, {});
  EXPECT_EQ(p["rows"], 0);
  for (const json& c : p["columns"]) {
    EXPECT_EQ(c["count"], 0);
    EXPECT_EQ(c["distinct"], 0);
    EXPECT_TRUE(c["min"].is_null());
    EXPECT_TRUE(c["quantiles"].is_null());
  }
  EXPECT_EQ(p["correlation"]["matrix"][0][0], nullptr);
}

// 2,000,000 distinct values past a lowered exact limit: HyperLogLog with 2^14 registers has a
// standard error of 0.81%; the estimate must be within three of them.
TEST_F(ProfileTest, HyperLogLogWithinItsErrorBound) {
  constexpr int64_t kRows = 2'000'000;
  std::vector<RowGroup> groups;
  for (int64_t first = 0; first < kRows; first += 500'000) {
    RowGroup& g = groups.emplace_back();
    g.columns.emplace_back(ColumnType::kInteger);
    g.columns.emplace_back(ColumnType::kText);
    for (int64_t r = first; r < first + 500'000; ++r) {
      g.columns[0].AppendInt(r * 7919);
      g.columns[1].AppendText(std::to_string(r % 1000));
    }
  }
  auto file = Write({{"n", ColumnType::kInteger, {}}, {"s", ColumnType::kText, {}}}, groups);
  ProfileOptions options;
  options.exact_distinct_limit = 100'000;
  const json p = ComputeProfile(*file, options);
  const json& n = p["columns"][0];
  EXPECT_EQ(n["distinct_method"], "hll");
  const double estimate = n["distinct"].get<double>();
  EXPECT_NEAR(estimate, 2e6, 3 * 0.0081 * 2e6) << estimate;
  // A column below the limit stays exact.
  EXPECT_EQ(p["columns"][1]["distinct_method"], "exact");
  EXPECT_EQ(p["columns"][1]["distinct"], 1000);
  EXPECT_EQ(p["columns"][1]["top_values"][0], json::parse(R"({"value":"0","count":2000})"));
}

TEST_F(ProfileTest, TextTopValuesWithManyTies) {
  RowGroup g;
  g.columns.emplace_back(ColumnType::kText);
  for (int r = 0; r < 5000; ++r) g.columns[0].AppendText("v" + std::to_string(4999 - r));
  g.columns[0].AppendText("v4000");
  auto file = Write({{"s", ColumnType::kText, {}}}, {g});
  const json top = ComputeProfile(*file, {})["columns"][0]["top_values"];
  ASSERT_EQ(top.size(), 10u);
  EXPECT_EQ(top[0], json::parse(R"({"value":"v4000","count":2})"));
  // Then the smallest values among those seen once, in text order.
  EXPECT_EQ(top[1]["value"], "v0");
  EXPECT_EQ(top[2]["value"], "v1");
  EXPECT_EQ(top[3]["value"], "v10");
  EXPECT_EQ(top[9]["value"], "v1004");
}

// ---------------------------------------------------------------------------------------------
// The sample datasets against the reference profiles made by scripts/reference/dataset_profiles.py.

fs::path FixtureDir() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "tests/fixtures/datasets";
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  // The fixtures quote only whole fields and never contain the delimiter or a quote inside one.
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) {
    if (field.size() >= 2 && field.front() == '"') field = field.substr(1, field.size() - 2);
    out.push_back(field);
  }
  return out;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d))
      .time_since_epoch()
      .count();
}

// Reads a fixture CSV with the column types the reference expects.
std::unique_ptr<ColumnarFile> LoadFixture(const fs::path& csv, const json& expected, const std::string& out) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  Schema schema;
  for (const json& c : expected["columns"]) {
    schema.push_back({c["name"].get<std::string>(), *TypeFromName(c["type"].get<std::string>()), {}});
  }
  RowGroup group;
  for (const auto& col : schema) group.columns.emplace_back(col.type);
  std::vector<std::map<std::string, uint32_t>> codes(schema.size());
  while (std::getline(in, line)) {
    std::vector<std::string> fields = SplitCsvLine(line);
    EXPECT_EQ(fields.size(), schema.size()) << line;
    for (size_t c = 0; c < schema.size(); ++c) {
      ColumnChunk& chunk = group.columns[c];
      const std::string& f = fields[c];
      if (f.empty()) {
        chunk.AppendMissing();
        continue;
      }
      switch (schema[c].type) {
        case ColumnType::kInteger: chunk.AppendInt(std::stoll(f)); break;
        case ColumnType::kNumber: chunk.AppendDouble(std::stod(f)); break;
        case ColumnType::kDate:
          chunk.AppendInt(
              DaysFromCivil(std::stoi(f.substr(0, 4)), std::stoul(f.substr(5, 2)), std::stoul(f.substr(8, 2))) *
              kMicrosPerDay);
          break;
        case ColumnType::kCategory: {
          auto [it, added] = codes[c].try_emplace(f, static_cast<uint32_t>(schema[c].categories.size()));
          if (added) schema[c].categories.push_back(f);
          chunk.AppendCode(it->second);
          break;
        }
        default: ADD_FAILURE() << "the fixture test does not read " << TypeName(schema[c].type); return nullptr;
      }
    }
  }
  ColumnarWriter w(out, schema);
  // Several row groups, so that the profile's merging across groups is exercised too.
  const size_t rows = group.rows();
  for (size_t first = 0; first < rows; first += 100) {
    RowGroup part;
    for (const ColumnChunk& chunk : group.columns) {
      ColumnChunk& p = part.columns.emplace_back(chunk.type);
      for (size_t r = first; r < std::min(rows, first + 100); ++r) {
        if (!chunk.IsValid(r)) {
          p.AppendMissing();
        } else if (chunk.type == ColumnType::kNumber) {
          p.AppendDouble(chunk.doubles[r]);
        } else if (chunk.type == ColumnType::kCategory) {
          p.AppendCode(chunk.codes[r]);
        } else {
          p.AppendInt(chunk.ints[r]);
        }
      }
    }
    w.Append(part);
  }
  w.Finish();
  return ColumnarFile::Open(out);
}

TEST_F(ProfileTest, SampleDatasetsMatchThePandasReference) {
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(FixtureDir())) {
    if (entry.path().extension() != ".csv") continue;
    const fs::path expected_path = fs::path(entry.path()).replace_extension(".expected.json");
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(expected_path);
    ASSERT_TRUE(in) << "no reference " << expected_path;
    const json expected = json::parse(in);
    auto file = LoadFixture(entry.path(), expected, Path(entry.path().stem().string() + ".ds"));
    ASSERT_TRUE(file);
    const json p = ComputeProfile(*file, {});
    ASSERT_EQ(p["rows"], expected["rows"]);
    ASSERT_EQ(p["columns"].size(), expected["columns"].size());
    for (size_t c = 0; c < p["columns"].size(); ++c) {
      const json& ours = p["columns"][c];
      const json& want = expected["columns"][c];
      const std::string name = want["name"];
      EXPECT_EQ(ours["name"], want["name"]);
      EXPECT_EQ(ours["type"], want["type"]);
      for (const char* key : {"count", "missing", "distinct", "top_values"}) {
        EXPECT_EQ(ours[key], want[key]) << name << " " << key;
      }
      if (want["type"] == "date") {
        EXPECT_EQ(ours["min"], want["min"]) << name;
        EXPECT_EQ(ours["max"], want["max"]) << name;
        continue;
      }
      for (const char* key : {"min", "max", "mean", "std"}) ExpectNear(ours[key], want[key], name + " " + key);
      if (want["quantiles"].is_null()) {
        EXPECT_TRUE(ours["quantiles"].is_null()) << name;
        continue;
      }
      for (const auto& [q, v] : want["quantiles"].items()) ExpectNear(ours["quantiles"][q], v, name + " " + q);
      EXPECT_EQ(ours["histogram"]["counts"], want["histogram"]["counts"]) << name;
      for (size_t e = 0; e < 21; ++e) {
        ExpectNear(ours["histogram"]["edges"][e], want["histogram"]["edges"][e], name + " edge");
      }
    }
    EXPECT_EQ(p["correlation"]["columns"], expected["correlation"]["columns"]);
    const json& m = p["correlation"]["matrix"];
    const json& wm = expected["correlation"]["matrix"];
    ASSERT_EQ(m.size(), wm.size());
    for (size_t a = 0; a < m.size(); ++a) {
      for (size_t b = 0; b < m.size(); ++b)
        ExpectNear(m[a][b], wm[a][b], "correlation " + std::to_string(a) + "," + std::to_string(b));
    }
    ++checked;
  }
  EXPECT_EQ(checked, 7u);
}

// ---------------------------------------------------------------------------------------------
// Quantiles by radix select against a sorted copy, and the memory budget.

// numpy's _lerp, as the profile computes it.
double ReferenceLerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

// numpy.quantile(method="linear") of `values` (NaN already removed) from a sorted copy.
std::map<std::string, double> ReferenceQuantiles(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::vector<std::pair<std::string, double>> qs = {{"p1", 0.01},  {"p5", 0.05},  {"p25", 0.25}, {"p50", 0.5},
                                                          {"p75", 0.75}, {"p95", 0.95}, {"p99", 0.99}};
  std::map<std::string, double> out;
  const size_t n = values.size();
  for (const auto& [name, q] : qs) {
    const double index = static_cast<double>(n - 1) * q;
    const double lo = std::floor(index);
    const auto i = static_cast<size_t>(lo);
    const double t = index - lo;
    const double a = values[i];
    const double b = t > 0 && i + 1 < n ? values[i + 1] : a;
    out[name] = ReferenceLerp(a, b, t);
  }
  return out;
}

// The same double, bit for bit, except that -0.0 and +0.0 (equal as numbers, so in either order
// in a sorted copy) match each other, and NaN (an interpolation between infinities) matches NaN.
bool SameNumber(double ours, double want) {
  if (std::isnan(want)) return std::isnan(ours);
  if (want == 0) return ours == 0;
  return std::bit_cast<uint64_t>(ours) == std::bit_cast<uint64_t>(want);
}

// A one-column file of `values` in row groups of `group_rows`, with a missing row after every
// seventh value (and NaN in a number column stored as a value, which the profile skips).
template <class T>
std::vector<RowGroup> OneColumn(const std::vector<T>& values, size_t group_rows) {
  constexpr ColumnType kType = std::is_same_v<T, double> ? ColumnType::kNumber : ColumnType::kInteger;
  std::vector<RowGroup> groups;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i % group_rows == 0) groups.emplace_back().columns.emplace_back(kType);
    ColumnChunk& chunk = groups.back().columns[0];
    if constexpr (std::is_same_v<T, double>) {
      chunk.AppendDouble(values[i]);
    } else {
      chunk.AppendInt(values[i]);
    }
    if (i % 7 == 6) chunk.AppendMissing();
  }
  return groups;
}

class QuantileTest : public ProfileTest {
 protected:
  // Profiles `values` with a generous budget, a small one (which narrows more often before
  // collecting) and a tiny one (which narrows every range down to a single key) and compares each
  // quantile with the sorted copy's.
  template <class T>
  void Check(const std::string& what, const std::vector<T>& values) {
    SCOPED_TRACE(what);
    std::vector<double> present;
    for (T v : values) {
      if (!std::isnan(static_cast<double>(v))) present.push_back(static_cast<double>(v));
    }
    ASSERT_FALSE(present.empty());
    const std::map<std::string, double> want = ReferenceQuantiles(present);
    const std::string type = std::is_same_v<T, double> ? "number" : "integer";
    auto file = Write({{"v", std::is_same_v<T, double> ? ColumnType::kNumber : ColumnType::kInteger, {}}},
                      OneColumn(values, 1000));
    for (size_t budget : {size_t{256} << 20, size_t{64} << 10, size_t{1}}) {
      ProfileOptions options;
      options.memory_budget_bytes = budget;
      const json column = ComputeProfile(*file, options)["columns"][0];
      ASSERT_EQ(column["count"], present.size());
      for (const auto& [name, w] : want) {
        const auto ours = column["quantiles"][name].template get<double>();
        EXPECT_TRUE(SameNumber(ours, w)) << name << " budget " << budget << ": " << ours << " want " << w;
      }
    }
  }
};

TEST_F(QuantileTest, RadixSelectEqualsASortedCopyOnAdversarialNumbers) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Check<double>("one value", {7.25});
  Check<double>("two values", {2.0, -1.0});
  Check<double>("all equal", std::vector<double>(5000, 3.5));
  std::vector<double> two(3001, -1.0);
  for (size_t i = 0; i < two.size(); i += 2) two[i] = 1.0;
  Check<double>("two values many times", two);
  Check<double>("signed zeros", {0.0, -0.0, -0.0, 0.0, 1.0, -1.0, -0.0, 0.0, 0.0});
  Check<double>("infinities", {kInf, -1.0, -kInf, 0.0, 1.0, kInf, 2.5, -kInf});
  Check<double>("only infinities", {kInf, kInf, -kInf});
  Check<double>("NaN skipped", {NAN, 3.0, NAN, -2.0, 1.0, NAN});
  Check<double>("subnormals", {std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
                               0.0, std::numeric_limits<double>::min(), -std::numeric_limits<double>::max()});
  std::vector<double> ulps;
  for (double base : {1.0, -1.0, 1e300}) {
    double x = base;
    for (int i = 0; i < 700; ++i) {
      ulps.push_back(x);
      x = std::nextafter(x, kInf);
    }
  }
  std::reverse(ulps.begin(), ulps.end());
  Check<double>("neighbours a last mantissa bit apart", ulps);
  uint64_t state = 7;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 11;
  };
  std::vector<double> mixed;
  mixed.reserve(200'000);
  for (int i = 0; i < 200'000; ++i) mixed.push_back((static_cast<double>(next()) / 4503599627370496.0 - 1.0) * 1e6);
  Check<double>("negatives and positives", mixed);
  // More than the selector collects in one range: narrowing must reach single keys.
  std::vector<double> ties;
  ties.reserve(300'000);
  for (int i = 0; i < 300'000; ++i) ties.push_back(static_cast<double>(next() % 10) - 4.5);
  Check<double>("heavy ties", ties);
}

TEST_F(QuantileTest, RadixSelectEqualsASortedCopyOnAdversarialIntegers) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Check<int64_t>("one value", {-42});
  Check<int64_t>("two values", {kMax, kMin});
  Check<int64_t>("near the limits", {kMin, kMin + 1, kMax, kMax - 1, 0, -1, 1, kMin + 2, kMax - 2, kMax});
  Check<int64_t>("all equal", std::vector<int64_t>(3000, kMin));
  uint64_t state = 11;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state;
  };
  std::vector<int64_t> wide;
  wide.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) wide.push_back(static_cast<int64_t>(next()));
  Check<int64_t>("the whole range", wide);
  std::vector<int64_t> narrow;
  narrow.reserve(200'000);
  for (int i = 0; i < 200'000; ++i) narrow.push_back(1'000'000'000 + static_cast<int64_t>(next() % 3));
  Check<int64_t>("heavy ties in a narrow range", narrow);
}

// With 2 MiB on one thread, 5/8 of it holds about 27,000 hashes (48 bytes each) or about 10,000
// text values (128 bytes each): columns above that switch to HyperLogLog, columns below stay
// exact, and the default budget keeps all of them exact.
TEST_F(ProfileTest, SmallMemoryBudgetSwitchesDistinctCountingToHllSooner) {
  RowGroup g;
  g.columns.emplace_back(ColumnType::kInteger);
  g.columns.emplace_back(ColumnType::kInteger);
  g.columns.emplace_back(ColumnType::kText);
  g.columns.emplace_back(ColumnType::kText);
  for (int64_t r = 0; r < 60'000; ++r) {
    g.columns[0].AppendInt(r * 31);
    g.columns[1].AppendInt(r % 5000);
    g.columns[2].AppendText("t" + std::to_string(r % 20'000));
    g.columns[3].AppendText("f" + std::to_string(r % 1000));
  }
  auto file = Write({{"many", ColumnType::kInteger, {}},
                     {"few", ColumnType::kInteger, {}},
                     {"many_text", ColumnType::kText, {}},
                     {"few_text", ColumnType::kText, {}}},
                    {g});
  const json generous = ComputeProfile(*file, {})["columns"];
  EXPECT_EQ(generous[0]["distinct"], 60'000);
  EXPECT_EQ(generous[2]["distinct"], 20'000);
  for (const json& c : generous) EXPECT_EQ(c["distinct_method"], "exact") << c["name"];

  ProfileOptions small;
  small.threads = 1;
  small.memory_budget_bytes = 2 << 20;
  const json p = ComputeProfile(*file, small)["columns"];
  EXPECT_EQ(p[0]["distinct_method"], "hll");
  EXPECT_NEAR(p[0]["distinct"].get<double>(), 60'000, 3 * 0.0081 * 60'000);
  EXPECT_EQ(p[1]["distinct_method"], "exact");
  EXPECT_EQ(p[1]["distinct"], 5000);
  EXPECT_EQ(p[2]["distinct_method"], "hll");
  EXPECT_NEAR(p[2]["distinct"].get<double>(), 20'000, 3 * 0.0081 * 20'000);
  EXPECT_EQ(p[3]["distinct_method"], "exact");
  EXPECT_EQ(p[3]["distinct"], 1000);
  EXPECT_EQ(p[3]["top_values"], generous[3]["top_values"]);
  // Everything but the distinct counts is the same.
  for (size_t c = 0; c < 2; ++c) {
    for (const char* key : {"count", "min", "max", "mean", "std", "quantiles", "histogram"}) {
      EXPECT_EQ(p[c][key], generous[c][key]) << c << " " << key;
    }
  }
}

// A measurement, not a test (run with --gtest_also_run_disabled_tests): writes and profiles a
// 1M x 20 table like the ingestion benchmark's (numbers, integers, categories, 10% missing).
TEST_F(ProfileTest, DISABLED_SpeedOneMillionRowsTwentyColumns) {
  constexpr int64_t kRows = 1'000'000;
  constexpr int64_t kGroup = 65'536;
  Schema schema;
  for (int c = 0; c < 20; ++c) {
    ColumnType t = c % 4 == 0 ? ColumnType::kCategory : c % 4 == 1 ? ColumnType::kInteger : ColumnType::kNumber;
    schema.push_back({"c" + std::to_string(c), t, {}});
    if (t == ColumnType::kCategory) {
      for (int v = 0; v < 50; ++v) schema.back().categories.push_back("level" + std::to_string(v));
    }
  }
  std::vector<RowGroup> groups;
  uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 11;
  };
  for (int64_t first = 0; first < kRows; first += kGroup) {
    RowGroup& g = groups.emplace_back();
    const int64_t n = std::min(kGroup, kRows - first);
    for (const auto& col : schema) {
      ColumnChunk& chunk = g.columns.emplace_back(col.type);
      chunk.Reserve(static_cast<size_t>(n));
      for (int64_t r = 0; r < n; ++r) {
        const uint64_t v = next();
        if (v % 10 == 3) {
          chunk.AppendMissing();
        } else if (col.type == ColumnType::kCategory) {
          chunk.AppendCode(static_cast<uint32_t>(v % 50));
        } else if (col.type == ColumnType::kInteger) {
          chunk.AppendInt(static_cast<int64_t>(v % 100'000));
        } else {
          chunk.AppendDouble(static_cast<double>(v) / 9007199254740992.0 * 1000.0);
        }
      }
    }
  }
  using ms = std::chrono::duration<double, std::milli>;
  auto start = std::chrono::steady_clock::now();
  auto file = Write(schema, groups);
  auto written = std::chrono::steady_clock::now();
  const json p = ComputeProfile(*file, {});
  auto profiled = std::chrono::steady_clock::now();
  std::printf("1M x 20: written (with fsync) in %.1f ms, profiled with 2 threads in %.1f ms\n",
              ms(written - start).count(), ms(profiled - written).count());
  EXPECT_EQ(p["rows"], kRows);
}

}  // namespace
}  // namespace playground::data
