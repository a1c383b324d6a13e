#include "data/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace playground::data {
namespace {

namespace fs = std::filesystem;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ingest_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The ingested file's schema and rows as text, or the error.
  std::string Run(const std::string& source, int threads, bool one_pass = true, size_t budget = 256 << 20) {
    IngestOptions options;
    options.threads = threads;
    options.one_pass = one_pass;
    options.memory_budget_bytes = budget;
    std::string out = (dir_ / ("out" + std::to_string(threads))).string();
    passes_ = 0;
    try {
      IngestResult r = Ingest(source, out, options);
      passes_ = r.passes;
      std::string text = std::to_string(r.rows) + "\n";
      for (const auto& c : r.columns) {
        text += c.schema.name + " " + std::string(TypeName(c.schema.type)) + " " +
                std::to_string(static_cast<int>(c.date_order));
        for (const auto& v : c.schema.categories) text += " " + v;
        text += "\n";
      }
      auto file = ColumnarFile::Open(out);
      WriteCsv(*file, [&](std::string s) {
        text += s;
        return true;
      });
      return text;
    } catch (const core::Error& e) {
      return std::string("error: ") + e.what();
    }
  }

  // Ingests `text` in one pass (trying) and in two, with a budget small enough for many ranges,
  // and expects the same result; returns the passes the first took.
  int SameAsTwoPasses(const std::string& text) {
    std::string path = Write("file.csv", text);
    std::string two = Run(path, 2, false, kSmallBudget);
    EXPECT_EQ(passes_, two.rfind("error", 0) == 0 ? 0 : 2);
    std::string one = Run(path, 2, true, kSmallBudget);
    EXPECT_TRUE(one == two) << one.substr(0, 300) << "\n---\n" << two.substr(0, 300);
    return passes_;
  }

  static constexpr size_t kSmallBudget = 1 << 20;  // ranges of about 2,000 rows below
  fs::path dir_;
  int passes_ = 0;
};

// Rows enough for pass one to read the file in parts on two threads.
std::string Rows(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) {
    s += std::to_string(i) + "," + std::to_string(i % 97) + ".25,c" + std::to_string(i % 7) + "," +
         (i % 2 != 0 ? "true" : "false") + ",0" + std::to_string(1 + i % 9) + "/1" + std::to_string(i % 3) +
         "/2024,text of row " + std::to_string(i) + "\n";
  }
  return s;
}

constexpr int kRows = 200000;  // about 11 MB

TEST_F(IngestTest, PartsReadInParallelGiveTheSequentialResult) {
  std::string path = Write("plain.csv", "id,x,c,flag,day,note\n" + Rows(0, kRows));
  std::string one = Run(path, 1);
  ASSERT_EQ(one.rfind("error", 0), std::string::npos) << one.substr(0, 200);
  EXPECT_EQ(Run(path, 2), one);
  EXPECT_EQ(Run(path, 3), one);
}

// A quoted field with line breaks where the file is cut into parts: the parallel read notices and
// reads again on one thread.
TEST_F(IngestTest, LineBreaksInQuotesAtTheCut) {
  std::string quoted = "\"";
  for (int i = 0; i < 20000; ++i) quoted += "line " + std::to_string(i) + "\n";
  quoted += "\"";
  std::string text = "id,x,c,flag,day,note\n" + Rows(0, kRows / 2) + "1,2.25,c1,true,01/10/2024," + quoted + "\r\n" +
                     Rows(kRows / 2, kRows);
  std::string path = Write("quoted.csv", text);
  std::string one = Run(path, 1);
  ASSERT_EQ(one.rfind("error", 0), std::string::npos) << one.substr(0, 200);
  EXPECT_EQ(Run(path, 2), one);
}

TEST_F(IngestTest, ErrorsNameTheSameLineWhateverTheThreads) {
  std::string path = Write("ragged.csv", "id,x,c,flag,day,note\n" + Rows(0, kRows - 10) + "1,2\n" + Rows(0, 10));
  std::string one = Run(path, 1);
  EXPECT_EQ(one, "error: line " + std::to_string(kRows - 10 + 2) + ": 2 fields, but the header has 6 columns");
  EXPECT_EQ(Run(path, 2), one);
}

// A CSV of `rows` rows: an id and the column `value(i)`.
template <typename Value>
std::string Column(int rows, const Value& value) {
  std::string s = "id,v,pad\n";
  for (int i = 0; i < rows; ++i) s += std::to_string(i) + "," + value(i) + ",padding to make rows longer\n";
  return s;
}

TEST_F(IngestTest, OnePassWhenEveryRangeIsStoredAsTheColumnsType) {
  EXPECT_EQ(SameAsTwoPasses("id,x,c,flag,day,note\n" + Rows(0, 20000)), 1);
  // Numbers first, integers (and a negative zero) in later ranges: converted exactly.
  EXPECT_EQ(
      SameAsTwoPasses(Column(20000, [](int i) { return i < 100     ? "0.5"
                                                       : i == 9000 ? "-0"
                                                                   : std::to_string(i); })), 1);
  // Dates first, a time of day later: a datetime column.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return i < 15000 ? "2024-01-02" : "2024-01-02 10:30"; })), 1);
  // Many distinct values in the first range, few later: text throughout.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return "w" + std::to_string(i < 1500 ? i : i % 3); })), 1);
  // Categories whose ranges learn new values late, in order of first appearance.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return "c" + std::to_string(i % (1 + i / 2000)); })), 1);
}

TEST_F(IngestTest, TwoPassesWhenARangeWasStoredAsAnotherType) {
  // Integers, then a decimal in a late range.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return i == 19000 ? "2.5" : std::to_string(i); })), 2);
  // Numbers, then words: a category of mixed values.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return i >= 19000 ? "x" : std::to_string(i % 5); })), 2);
  // Ambiguous dates read month first, until a late one fits only day first.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return i == 19000 ? "13/04/2024" : "03/04/2024"; })), 2);
  // Empty in the first range.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return i < 3000 ? "" : std::to_string(i); })), 2);
  // A category in the early ranges that passes the level cap late.
  EXPECT_EQ(SameAsTwoPasses(Column(20000, [](int i) { return "c" + std::to_string(i < 18000 ? i % 900 : i); })), 2);
  // Too few repeats for a category, seen only at the end.
  EXPECT_EQ(SameAsTwoPasses(Column(1500, [](int i) { return "c" + std::to_string(i < 700 ? i % 7 : i); })), 2);
  // Within a range, a family that turns to strings reads the range's earlier fields again.
  EXPECT_EQ(SameAsTwoPasses(Column(300, [](int i) { return i == 150 ? "x" : std::to_string(i % 5); })), 1);
  // ... also after the range's first blocks of records were converted.
  EXPECT_EQ(SameAsTwoPasses(Column(1000, [](int i) { return i == 600 ? "x" : std::to_string(i % 5); })), 1);
  // ... but not for many columns: a wide file whose columns all turn late takes the two passes.
  std::string wide = "a,b,c,d,e,f\n";
  for (int i = 0; i < 300; ++i) {
    std::string v = i == 299 ? "x" : std::to_string(i % 5);
    wide += v + "," + v + "," + v + "," + v + "," + v + "," + v + "\n";
  }
  EXPECT_EQ(SameAsTwoPasses(wide), 2);
}

TEST_F(IngestTest, TwoPassesWhenARangeDoesNotStartAtARecord) {
  std::string quoted = "\"";
  for (int i = 0; i < 20000; ++i) quoted += "line " + std::to_string(i) + "\n";
  quoted += "\"";
  EXPECT_EQ(SameAsTwoPasses("id,x,c,flag,day,note\n" + Rows(0, 2000) + "1,2.25,c1,true,01/10/2024," + quoted + "\r\n" +
                            Rows(2000, 4000)),
            2);
  std::string ragged = "id,x,c,flag,day,note\n" + Rows(0, 10000) + "1,2\n" + Rows(0, 10);
  EXPECT_EQ(SameAsTwoPasses(ragged), 0);  // the error, as the two passes report it
}

}  // namespace
}  // namespace playground::data
