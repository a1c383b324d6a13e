#include "data/csv_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/infer.h"

namespace playground::data {
namespace {

using Records = std::vector<std::vector<std::string>>;

// Hands out the data 1 to 7 bytes per Read, so that every token boundary falls across the
// reader's refills at some point.
class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::string_view data, unsigned seed = 1) : data_(data), rng_(seed) {}
  size_t Read(char* buf, size_t n) override {
    size_t take = std::min({n, data_.size(), static_cast<size_t>(rng_() % 7 + 1)});
    std::copy_n(data_.data(), take, buf);
    data_.remove_prefix(take);
    return take;
  }

 private:
  std::string_view data_;
  std::minstd_rand rng_;
};

Records ReadAll(ByteSource& source, CsvOptions options = {}) {
  CsvReader reader(source, options);
  Records out;
  std::vector<std::string_view> fields;
  while (reader.Next(fields)) out.emplace_back(fields.begin(), fields.end());
  return out;
}

Records ReadAll(std::string_view data, CsvOptions options = {}) {
  MemorySource source(data);
  return ReadAll(source, options);
}

// The error a whole read of `data` throws.
core::Error ErrorOf(std::string_view data, CsvOptions options = {}) {
  try {
    ReadAll(data, options);
  } catch (const core::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << data.substr(0, 100);
  return core::Error(core::ErrorCode::kInternal, "none");
}

TEST(CsvReaderTest, PlainRecords) {
  EXPECT_EQ(ReadAll("a,b,c\n1,2,3\n"), (Records{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(ReadAll("a,b\r\n1,2\r\n"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,b\n1,2"), (Records{{"a", "b"}, {"1", "2"}}));    // no final line break
  EXPECT_EQ(ReadAll("a,b\r1,2\r"), (Records{{"a", "b"}, {"1", "2"}}));  // lone CR
  EXPECT_EQ(ReadAll("a,,\n,,\n"), (Records{{"a", "", ""}, {"", "", ""}}));
  EXPECT_EQ(ReadAll("a,b\n1,"), (Records{{"a", "b"}, {"1", ""}}));
}

TEST(CsvReaderTest, EmptyInputAndHeaderOnly) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\n\n").empty());
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").empty());
  EXPECT_EQ(ReadAll("a,b\n"), (Records{{"a", "b"}}));
  EXPECT_EQ(ReadAll("only"), (Records{{"only"}}));
}

TEST(CsvReaderTest, EmptyLinesAreSkipped) { EXPECT_EQ(ReadAll("a\n\n1\r\n\r\n2\n\n"), (Records{{"a"}, {"1"}, {"2"}})); }

TEST(CsvReaderTest, Quoting) {
  EXPECT_EQ(ReadAll("\"a,b\",\"c\"\"d\"\n"), (Records{{"a,b", "c\"d"}}));
  EXPECT_EQ(ReadAll("\"line\nbreak\",x\n\"\",\"\"\"\"\n"), (Records{{"line\nbreak", "x"}, {"", "\""}}));
  EXPECT_EQ(ReadAll("\"a\"\"\"\"b\"\"\",c"), (Records{{"a\"\"b\"", "c"}}));
  EXPECT_EQ(ReadAll("x,\"crlf\r\ninside\"\r\n"), (Records{{"x", "crlf\r\ninside"}}));
  EXPECT_EQ(ReadAll("\"end\""), (Records{{"end"}}));
}

TEST(CsvReaderTest, ByteOrderMarkIsSkipped) {
  MemorySource source("\xEF\xBB\xBFname,age\nann,5\n");
  CsvReader reader(source);
  std::vector<std::string_view> fields;
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_THAT(fields, testing::ElementsAre("name", "age"));
  EXPECT_EQ(reader.offset(), 3);
}

TEST(CsvReaderTest, DetectsTheDelimiter) {
  auto delimiter_of = [](std::string_view data) {
    MemorySource source(data);
    return CsvReader(source).delimiter();
  };
  EXPECT_EQ(delimiter_of("a,b\n1,2\n"), ',');
  EXPECT_EQ(delimiter_of("a;b;c\n1,5;2;3\n"), ';');
  EXPECT_EQ(delimiter_of("a\tb\n1\t2\n"), '\t');
  EXPECT_EQ(delimiter_of("a|b\n\"x|y\"|2\n"), '|');
  EXPECT_EQ(delimiter_of("a;b\n\"1;2\";\"3,4\"\n"), ';');
  EXPECT_EQ(delimiter_of("single\n1\n"), ',');
  EXPECT_EQ(delimiter_of(""), ',');
  CsvOptions given;
  given.delimiter = ';';
  MemorySource source("a,b;c\n");
  EXPECT_EQ(ReadAll(source, given), (Records{{"a,b", "c"}}));
}

TEST(CsvReaderTest, RaggedRowsAreHandedThrough) {
  EXPECT_EQ(ReadAll("a,b\n1\n1,2,3\n"), (Records{{"a", "b"}, {"1"}, {"1", "2", "3"}}));
}

TEST(CsvReaderTest, LinesAndOffsets) {
  std::string data = "h1,h2\n1,\"multi\nline\"\n\n3,4\r\n5,6";
  MemorySource source(data);
  CsvReader reader(source);
  std::vector<std::string_view> fields;
  std::vector<int64_t> lines;
  std::vector<int64_t> offsets;
  while (reader.Next(fields)) {
    lines.push_back(reader.line());
    offsets.push_back(reader.offset());
  }
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 5, 6}));
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 6, 22, 27}));
}

TEST(CsvReaderTest, UnterminatedQuoteReportsWhereItOpened) {
  core::Error e = ErrorOf("a,b\n1,\"open\n2,3\n4,5\n");
  EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
  EXPECT_STREQ(e.what(), "line 2, column 2: a quoted field is not closed (unterminated quote)");
}

TEST(CsvReaderTest, StrayQuotes) {
  core::Error inside = ErrorOf("a,b\n1,x\"y\n");
  EXPECT_EQ(inside.code(), core::ErrorCode::kValidation);
  EXPECT_THAT(inside.what(), testing::StartsWith("line 2, column 2: a quote inside an unquoted field"));
  core::Error after = ErrorOf("a,b\n\"x\"y,2\n");
  EXPECT_THAT(after.what(), testing::StartsWith("line 2, column 1: characters after the closing quote"));
}

TEST(CsvReaderTest, InvalidUtf8AndNul) {
  core::Error bad = ErrorOf("a,b\n1,ok\n2,caf\xE9\n");
  EXPECT_EQ(bad.code(), core::ErrorCode::kValidation);
  EXPECT_STREQ(bad.what(), "line 3, column 2: invalid UTF-8 (byte 0xE9); save the file as UTF-8");
  EXPECT_THAT(ErrorOf("a\n\"x\ny\xC0\xAF\"\n").what(),
              testing::StartsWith("line 3, column 1: invalid UTF-8 (byte 0xC0)"));
  EXPECT_THAT(ErrorOf("\xED\xA0\x80").what(), testing::HasSubstr("invalid UTF-8"));      // a surrogate
  EXPECT_THAT(ErrorOf("\xF4\x90\x80\x80").what(), testing::HasSubstr("invalid UTF-8"));  // > U+10FFFF
  EXPECT_THAT(ErrorOf("ab\xE2\x82").what(), testing::HasSubstr("invalid UTF-8"));        // cut off
  core::Error nul = ErrorOf(std::string_view("a,b\n1,2\x00\n", 9));
  EXPECT_EQ(nul.code(), core::ErrorCode::kValidation);
  EXPECT_THAT(nul.what(), testing::StartsWith("line 2, column 2: a NUL byte"));
  EXPECT_EQ(ReadAll("caf\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x98\x80\n"),
            (Records{{"caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}}));
}

TEST(CsvReaderTest, TenThousandColumns) {
  std::string header;
  std::string row;
  for (int i = 0; i < 10000; ++i) {
    header += (i ? ",c" : "c") + std::to_string(i);
    row += (i ? "," : "") + std::to_string(i);
  }
  Records records = ReadAll(header + "\n" + row + "\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].size(), 10000u);
  EXPECT_EQ(records[1][9999], "9999");
  CsvOptions narrow;
  narrow.max_columns = 9999;
  core::Error e = ErrorOf(header, narrow);
  EXPECT_EQ(e.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(e.what(), "a record has more than 9999 columns (line 1)");
}

TEST(CsvReaderTest, TenMegabyteField) {
  std::string big(10 << 20, 'x');
  Records records = ReadAll("a,b\n1,\"" + big + "\"\n2," + big + "\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1][1].size(), big.size());
  EXPECT_EQ(records[2][1].size(), big.size());
  CsvOptions small;
  small.max_field_bytes = 1 << 20;
  core::Error e = ErrorOf("a,b\n1," + big + "\n", small);
  EXPECT_EQ(e.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(e.what(), "line 2, column 2: a field is longer than 1 MiB");
  core::Error open = ErrorOf("a,b\n1,\"" + big + "\n", small);
  EXPECT_STREQ(open.what(), "line 2, column 2: a field is longer than 1 MiB (is a closing quote missing?)");
  CsvOptions short_records;
  short_records.max_record_bytes = 1 << 20;
  core::Error record = ErrorOf("a,b\n" + std::string(100, ',') + big + "\n", short_records);
  EXPECT_EQ(record.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(record.what(), "a record is longer than 1 MiB (line 2)");
}

// A field over the limit that the buffer holds whole is reported at the line where it starts,
// whichever field of the record it is.
TEST(CsvReaderTest, LongFieldInsideTheBuffer) {
  CsvOptions small;
  small.max_field_bytes = 8;
  EXPECT_STREQ(ErrorOf("a,b\n1,2\n3,\"x\nyyyyyyyyy\"\n", small).what(),
               "line 3, column 2: a field is longer than 8 bytes");
  EXPECT_STREQ(ErrorOf("a,b\n123456789,2\n", small).what(), "line 2, column 1: a field is longer than 8 bytes");
  EXPECT_EQ(ReadAll("a,b\n12345678,2\n", small), (Records{{"a", "b"}, {"12345678", "2"}}));
}

// Every split of the input across reads and every buffer size gives the same records.
TEST(CsvReaderTest, ChunkBoundaries) {
  const std::string data =
      "\xEF\xBB\xBFid;\"name\";note\r\n1;\"a;\"\"b\"\"\";\"x\r\ny\"\r\n\r\n2;\xC3\xA9t\xC3\xA9;\"\"\n3;;\"\"\"\"\r4;z;"
      "end";
  const Records expected = {{"id", "name", "note"},
                            {"1", "a;\"b\"", "x\r\ny"},
                            {"2", "\xC3\xA9t\xC3\xA9", ""},
                            {"3", "", "\""},
                            {"4", "z", "end"}};
  EXPECT_EQ(ReadAll(data), expected);
  for (unsigned seed = 1; seed <= 50; ++seed) {
    for (size_t buffer : {8, 13, 64, 1 << 20}) {
      TrickleSource source(data, seed);
      CsvOptions options;
      options.buffer_bytes = buffer;
      if (buffer < 64) options.delimiter = ';';
      ASSERT_EQ(ReadAll(source, options), expected) << "seed " << seed << " buffer " << buffer;
    }
  }
  // An unterminated quote is still reported at its line when the data trickles in.
  std::string open = "a\n\"x\ny\nz\n";
  TrickleSource source(open, 3);
  CsvOptions options;
  options.buffer_bytes = 8;
  options.delimiter = ',';
  try {
    ReadAll(source, options);
    ADD_FAILURE() << "no error";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(), "line 2, column 1: a quoted field is not closed (unterminated quote)");
  }
}

Records ReadBlocks(ByteSource& source, CsvOptions options, size_t max_records) {
  CsvReader reader(source, options);
  Records out;
  std::vector<std::string_view> fields;
  std::vector<size_t> ends;
  while (size_t n = reader.NextBlock(fields, ends, max_records)) {
    EXPECT_LE(n, max_records);
    EXPECT_EQ(ends.size(), n);
    // Copied only now: every view of the block must still hold its record.
    for (size_t r = 0; r < n; ++r)
      out.emplace_back(fields.begin() + (r == 0 ? 0 : ends[r - 1]), fields.begin() + ends[r]);
  }
  return out;
}

// Blocks hold the records Next reads, whatever the refills and the block size, and the views of
// a whole block stay valid together (the quotes and doubled quotes are unescaped in place).
TEST(CsvReaderTest, BlocksHoldTheRecordsNextReads) {
  const std::string data =
      "id;\"name\";note\r\n1;\"a;\"\"b\"\"\";\"x\r\ny\"\r\n\r\n2;\xC3\xA9t\xC3\xA9;\"\"\n3;;\"\"\"\"\r4;z;end\n5;"
      "\"\"\"q\"\"\";w";
  const Records expected = {{"id", "name", "note"}, {"1", "a;\"b\"", "x\r\ny"}, {"2", "\xC3\xA9t\xC3\xA9", ""},
                            {"3", "", "\""},        {"4", "z", "end"},          {"5", "\"q\"", "w"}};
  for (size_t max_records : {1, 2, 3, 100}) {
    MemorySource whole(data);
    CsvOptions options;
    options.delimiter = ';';
    ASSERT_EQ(ReadBlocks(whole, options, max_records), expected) << max_records;
    for (unsigned seed = 1; seed <= 20; ++seed) {
      TrickleSource source(data, seed);
      ASSERT_EQ(ReadBlocks(source, options, max_records), expected) << "seed " << seed << " block " << max_records;
    }
  }
  // line() is that of the block's last record.
  MemorySource source("a\n1\n\n2\n3\n");
  CsvReader reader(source);
  std::vector<std::string_view> fields;
  std::vector<size_t> ends;
  ASSERT_EQ(reader.NextBlock(fields, ends, 2), 2U);
  EXPECT_EQ(reader.line(), 2);
  ASSERT_EQ(reader.NextBlock(fields, ends, 2), 2U);
  EXPECT_EQ(reader.line(), 5);
  EXPECT_EQ(reader.NextBlock(fields, ends, 2), 0U);
}

// A second reader started at a record's offset (with its line and the delimiter) reads the same
// records from there on, as the parallel conversion of a file does.
TEST(CsvReaderTest, ReadersFromRecordOffsets) {
  std::string data = "\xEF\xBB\xBFx|y\n1|\"a\nb\"\n\n2|c\r\n3|\"d|e\"\n4|f";
  MemorySource source(data);
  CsvReader reader(source);
  std::vector<std::string_view> fields;
  Records all;
  std::vector<std::pair<int64_t, int64_t>> starts;
  while (reader.Next(fields)) {
    all.emplace_back(fields.begin(), fields.end());
    starts.emplace_back(reader.offset(), reader.line());
  }
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 0; i < starts.size(); ++i) {
    MemorySource rest(std::string_view(data).substr(static_cast<size_t>(starts[i].first)));
    CsvOptions options;
    options.delimiter = reader.delimiter();
    options.start_offset = starts[i].first;
    options.start_line = starts[i].second;
    CsvReader second(rest, options);
    for (size_t j = i; j < all.size(); ++j) {
      ASSERT_TRUE(second.Next(fields));
      EXPECT_EQ(std::vector<std::string>(fields.begin(), fields.end()), all[j]);
      EXPECT_EQ(second.offset(), starts[j].first);
      EXPECT_EQ(second.line(), starts[j].second);
    }
    EXPECT_FALSE(second.Next(fields));
  }
}

TEST(CsvReaderTest, FileSourceReadsARange) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("csv_reader_test_" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << "a,b\n1,2\n3,4\n";
  }
  FileSource whole(path.string());
  EXPECT_EQ(ReadAll(whole), (Records{{"a", "b"}, {"1", "2"}, {"3", "4"}}));
  FileSource middle(path.string(), 4, 4);
  EXPECT_EQ(ReadAll(middle), (Records{{"1", "2"}}));
  std::filesystem::remove(path);
  try {
    FileSource missing(path.string());
    ADD_FAILURE() << "opened a missing file";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
  }
}

// Tokenizer throughput on a typical numeric CSV. Run with
//   data_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
TEST(CsvReaderTest, DISABLED_Throughput) {
  std::mt19937_64 rng(42);
  std::string data = "id,a,b,c,d,e,f,g,h,cat\n";
  const char* cats[] = {"red", "green", "blue", "\"x, y\""};
  char line[256];
  for (int i = 0; data.size() < (256u << 20); ++i) {
    std::uniform_real_distribution<double> u(-1000, 1000);
    int n = std::snprintf(line, sizeof line, "%d,%.4f,%.2f,%d,%.6g,%.3f,%d,,%.1f,%s\n", i, u(rng), u(rng),
                          static_cast<int>(rng() % 100000), u(rng), u(rng), static_cast<int>(rng() % 10), u(rng),
                          cats[rng() % 4]);
    data.append(line, static_cast<size_t>(n));
  }
  for (int round = 0; round < 3; ++round) {
    MemorySource source(data);
    CsvReader reader(source);
    std::vector<std::string_view> fields;
    size_t records = 0;
    size_t total_fields = 0;
    auto start = std::chrono::steady_clock::now();
    while (reader.Next(fields)) {
      ++records;
      total_fields += fields.size();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("csv tokenizer: %zu MB, %zu records, %zu fields in %.3f s: %.0f MB/s\n", data.size() >> 20, records,
                total_fields, seconds, static_cast<double>(data.size()) / 1e6 / seconds);
  }
  // The same with type inference on every field: pass 1 of an upload.
  MemorySource source(data);
  CsvReader reader(source);
  std::vector<std::string_view> fields;
  std::vector<TypeInferrer> columns(10);
  auto start = std::chrono::steady_clock::now();
  while (reader.Next(fields)) {
    for (size_t i = 0; i < fields.size() && i < columns.size(); ++i) columns[i].Add(fields[i]);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("csv tokenizer + type inference: %.0f MB/s (last column: %s)\n",
              static_cast<double>(data.size()) / 1e6 / seconds,
              std::string(TypeName(columns[9].Result("cat").type)).c_str());
}

}  // namespace
}  // namespace playground::data
