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
  std::string Run(const std::string& source, int threads) {
    IngestOptions options;
    options.threads = threads;
    std::string out = (dir_ / ("out" + std::to_string(threads))).string();
    try {
      IngestResult r = Ingest(source, out, options);
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

  fs::path dir_;
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

}  // namespace
}  // namespace playground::data
