#include "data/columnar.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace playground::data {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ColumnarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "columnar-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAllBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Schema AllTypes() {
  return {
      {"i", ColumnType::kInteger, {}},  {"x", ColumnType::kNumber, {}},
      {"b", ColumnType::kBoolean, {}},  {"d", ColumnType::kDate, {}},
      {"t", ColumnType::kDatetime, {}}, {"c", ColumnType::kCategory, {"red", "green", "blue"}},
      {"s", ColumnType::kText, {}},
  };
}

// Row r of the AllTypes table: every column has a different missing pattern.
RowGroup MakeRows(int64_t first, int64_t count) {
  RowGroup g;
  for (const auto& col : AllTypes()) g.columns.emplace_back(col.type);
  for (int64_t r = first; r < first + count; ++r) {
    auto& c = g.columns;
    if (r % 3 == 0)
      c[0].AppendMissing();
    else
      c[0].AppendInt(r * 1'000'003 - 7);
    if (r % 5 == 1)
      c[1].AppendMissing();
    else
      c[1].AppendDouble(static_cast<double>(r) / 8 - 0.1);
    if (r % 7 == 2)
      c[2].AppendMissing();
    else
      c[2].AppendInt(r % 2);
    if (r % 11 == 3)
      c[3].AppendMissing();
    else
      c[3].AppendInt(r * 86'400'000'000);
    if (r % 13 == 4)
      c[4].AppendMissing();
    else
      c[4].AppendInt(r * 1'234'567 - 99);
    if (r % 4 == 1)
      c[5].AppendMissing();
    else
      c[5].AppendCode(static_cast<uint32_t>(r % 3));
    if (r % 6 == 5)
      c[6].AppendMissing();
    else
      c[6].AppendText(std::string(static_cast<size_t>(r % 17), 'a' + r % 26));
  }
  return g;
}

// Checks that `v` holds rows [first, first + v.rows) of the AllTypes table, column c.
void ExpectRows(const ColumnView& v, size_t c, int64_t first) {
  for (int64_t i = 0; i < v.rows; ++i) {
    const int64_t r = first + i;
    const auto k = static_cast<size_t>(i);
    SCOPED_TRACE("row " + std::to_string(r) + " column " + std::to_string(c));
    switch (c) {
      case 0:
        ASSERT_EQ(v.IsValid(i), r % 3 != 0);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.ints()[k], r * 1'000'003 - 7);
        }
        break;
      case 1:
        ASSERT_EQ(v.IsValid(i), r % 5 != 1);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.doubles()[k], static_cast<double>(r) / 8 - 0.1);
        }
        break;
      case 2:
        ASSERT_EQ(v.IsValid(i), r % 7 != 2);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.ints()[k], r % 2);
        }
        break;
      case 3:
        ASSERT_EQ(v.IsValid(i), r % 11 != 3);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.ints()[k], r * 86'400'000'000);
        }
        break;
      case 4:
        ASSERT_EQ(v.IsValid(i), r % 13 != 4);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.ints()[k], r * 1'234'567 - 99);
        }
        break;
      case 5:
        ASSERT_EQ(v.IsValid(i), r % 4 != 1);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.codes()[k], static_cast<uint32_t>(r % 3));
        }
        break;
      case 6:
        ASSERT_EQ(v.IsValid(i), r % 6 != 5);
        if (v.IsValid(i)) {
          ASSERT_EQ(v.Text(i), std::string(static_cast<size_t>(r % 17), 'a' + r % 26));
        }
        break;
    }
  }
}

// Opens `path` and reads everything in it. Returns "ok" or the error code's name; any other
// exception fails the test.
std::string OpenAndReadAll(const std::string& path) {
  try {
    auto file = ColumnarFile::Open(path);
    file->Verify();
    for (size_t g = 0; g < file->row_groups(); ++g) {
      for (size_t c = 0; c < file->schema().size(); ++c) (void)file->column(g, c);
    }
    (void)file->ReadRows(0, file->rows());
    return "ok";
  } catch (const core::Error& e) {
    return std::string(core::ErrorCodeName(e.code()));
  }
}

// Writes the AllTypes table in groups of the given sizes.
void WriteTable(const std::string& path, const std::vector<int64_t>& sizes) {
  ColumnarWriter w(path, AllTypes());
  int64_t first = 0;
  for (int64_t n : sizes) {
    w.Append(MakeRows(first, n));
    first += n;
  }
  w.Finish();
}

TEST_F(ColumnarTest, RoundTripsEveryTypeWithMissingValuesAcrossRowGroups) {
  const std::vector<int64_t> sizes = {1000, 7, 1, 513};
  WriteTable(Path("t.ds"), sizes);
  EXPECT_FALSE(fs::exists(Path("t.ds.tmp")));
  auto file = ColumnarFile::Open(Path("t.ds"));
  file->Verify();
  ASSERT_EQ(file->rows(), 1521);
  ASSERT_EQ(file->row_groups(), 4u);
  EXPECT_EQ(file->schema()[5].categories, (std::vector<std::string>{"red", "green", "blue"}));
  EXPECT_EQ(file->schema()[3].type, ColumnType::kDate);
  EXPECT_EQ(file->file_bytes(), static_cast<int64_t>(fs::file_size(Path("t.ds"))));
  int64_t first = 0;
  for (size_t g = 0; g < sizes.size(); ++g) {
    EXPECT_EQ(file->group_first_row(g), first);
    EXPECT_EQ(file->group_rows(g), sizes[g]);
    for (size_t c = 0; c < 7; ++c) {
      ColumnView v = file->column(g, c);
      EXPECT_EQ(v.rows, sizes[g]);
      EXPECT_EQ(v.type, AllTypes()[c].type);
      ExpectRows(v, c, first);
    }
    first += sizes[g];
  }
  // A decoded copy across the boundaries of three groups.
  RowGroup rows = file->ReadRows(995, 14);
  ASSERT_EQ(rows.rows(), 14u);
  RowGroup want = MakeRows(995, 14);
  for (size_t c = 0; c < 7; ++c) {
    EXPECT_EQ(rows.columns[c].valid, want.columns[c].valid);
    EXPECT_EQ(rows.columns[c].ints, want.columns[c].ints);
    EXPECT_EQ(rows.columns[c].doubles, want.columns[c].doubles);
    EXPECT_EQ(rows.columns[c].codes, want.columns[c].codes);
    EXPECT_EQ(rows.columns[c].ends, want.columns[c].ends);
    EXPECT_EQ(rows.columns[c].bytes, want.columns[c].bytes);
  }
  EXPECT_EQ(file->ReadRows(1500, 100).rows(), 21u);
  EXPECT_EQ(file->ReadRows(5000, 10).rows(), 0u);
  EXPECT_EQ(file->ReadRows(-5, 3).rows(), 3u);
}

TEST_F(ColumnarTest, BlocksAreAlignedForCastingTheMapping) {
  WriteTable(Path("t.ds"), {3, 5, 9});
  auto file = ColumnarFile::Open(Path("t.ds"));
  for (size_t g = 0; g < file->row_groups(); ++g) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file->column(g, 0).ints().data()) % 8, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file->column(g, 1).doubles().data()) % 8, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file->column(g, 5).codes().data()) % 8, 0u);
  }
}

TEST_F(ColumnarTest, EmptyDatasets) {
  {
    ColumnarWriter w(Path("empty.ds"), AllTypes());
    w.Append(MakeRows(0, 0));  // a group without rows is not stored
    w.Finish();
  }
  auto file = ColumnarFile::Open(Path("empty.ds"));
  file->Verify();
  EXPECT_EQ(file->rows(), 0);
  EXPECT_EQ(file->row_groups(), 0u);
  EXPECT_EQ(file->schema().size(), 7u);
  RowGroup rows = file->ReadRows(0, 10);
  EXPECT_EQ(rows.columns.size(), 7u);
  EXPECT_EQ(rows.rows(), 0u);

  {
    ColumnarWriter w(Path("nothing.ds"), {});
    w.Finish();
  }
  auto nothing = ColumnarFile::Open(Path("nothing.ds"));
  EXPECT_EQ(nothing->rows(), 0);
  EXPECT_TRUE(nothing->schema().empty());
}

TEST_F(ColumnarTest, TenThousandColumns) {
  constexpr size_t kColumns = 10'000;
  constexpr int64_t kRows = 50;
  Schema schema;
  for (size_t c = 0; c < kColumns; ++c) {
    schema.push_back({"column_" + std::to_string(c), c % 2 == 0 ? ColumnType::kInteger : ColumnType::kNumber, {}});
  }
  {
    ColumnarWriter w(Path("wide.ds"), schema);
    for (int64_t g = 0; g < 3; ++g) {
      RowGroup group;
      for (size_t c = 0; c < kColumns; ++c) {
        ColumnChunk& chunk = group.columns.emplace_back(schema[c].type);
        for (int64_t r = 0; r < kRows; ++r) {
          const int64_t v = static_cast<int64_t>(c) * 1000 + g * kRows + r;
          if (r == static_cast<int64_t>(c % kRows)) {
            chunk.AppendMissing();
          } else if (c % 2 == 0) {
            chunk.AppendInt(v);
          } else {
            chunk.AppendDouble(static_cast<double>(v) + 0.5);
          }
        }
      }
      w.Append(group);
    }
    w.Finish();
  }
  auto file = ColumnarFile::Open(Path("wide.ds"));
  file->Verify();
  ASSERT_EQ(file->schema().size(), kColumns);
  EXPECT_EQ(file->schema()[9999].name, "column_9999");
  EXPECT_EQ(file->rows(), 3 * kRows);
  for (size_t c : {size_t{0}, size_t{1}, size_t{4567}, size_t{9999}}) {
    ColumnView v = file->column(2, c);
    EXPECT_EQ(v.missing, 1);
    EXPECT_FALSE(v.IsValid(static_cast<int64_t>(c % kRows)));
    const int64_t r = (c % kRows == 7) ? 8 : 7;
    const int64_t want = static_cast<int64_t>(c) * 1000 + 2 * kRows + r;
    if (c % 2 == 0) {
      EXPECT_EQ(v.ints()[static_cast<size_t>(r)], want);
    } else {
      EXPECT_EQ(v.doubles()[static_cast<size_t>(r)], static_cast<double>(want) + 0.5);
    }
  }
  RowGroup rows = file->ReadRows(kRows - 1, 2);
  EXPECT_EQ(rows.columns.size(), kColumns);
  EXPECT_EQ(rows.rows(), 2u);
}

TEST_F(ColumnarTest, TenMegabyteTextValue) {
  const std::string big(10 << 20, 'x');
  {
    ColumnarWriter w(Path("big.ds"), {{"s", ColumnType::kText, {}}});
    RowGroup g;
    g.columns.emplace_back(ColumnType::kText);
    g.columns[0].AppendText("before");
    g.columns[0].AppendText(big);
    g.columns[0].AppendMissing();
    g.columns[0].AppendText("after");
    w.Append(g);
    w.Finish();
  }
  auto file = ColumnarFile::Open(Path("big.ds"));
  file->Verify();
  ColumnView v = file->column(0, 0);
  EXPECT_EQ(v.Text(0), "before");
  EXPECT_EQ(v.Text(1), big);
  EXPECT_FALSE(v.IsValid(2));
  EXPECT_EQ(v.Text(2), "");
  EXPECT_EQ(v.Text(3), "after");
  EXPECT_EQ(file->ReadRows(1, 1).columns[0].Text(0).size(), big.size());
}

// Every byte of the file is covered by a check: flipping any one of them is refused.
TEST_F(ColumnarTest, RefusesEveryFlippedByte) {
  WriteTable(Path("t.ds"), {6, 2});
  const std::string good = ReadAll(Path("t.ds"));
  ASSERT_EQ(OpenAndReadAll(Path("t.ds")), "ok");
  // The byte is flipped in place and restored, which is much faster than a new file each time.
  std::fstream file(Path("t.ds"), std::ios::binary | std::ios::in | std::ios::out);
  for (size_t i = 0; i < good.size(); ++i) {
    const auto at = static_cast<std::streamoff>(i);
    file.seekp(at).put(static_cast<char>(good[i] ^ 0x20)).flush();
    ASSERT_EQ(OpenAndReadAll(Path("t.ds")), "internal") << "byte " << i << " of " << good.size();
    file.seekp(at).put(good[i]).flush();
  }
  ASSERT_EQ(OpenAndReadAll(Path("t.ds")), "ok");
}

TEST_F(ColumnarTest, RefusesTruncatedFiles) {
  WriteTable(Path("t.ds"), {700, 300, 1});
  const std::string good = ReadAll(Path("t.ds"));
  // Cut at every byte of the end, where the footer and trailer are, then at every 1/16th
  // (shrinking one file, which is faster than writing a new one each time).
  for (size_t cut = good.size() - 1; cut + 400 > good.size(); --cut) {
    fs::resize_file(Path("t.ds"), cut);
    EXPECT_EQ(OpenAndReadAll(Path("t.ds")), "internal") << cut;
  }
  for (size_t sixteenth = 15; sixteenth < 16; --sixteenth) {
    fs::resize_file(Path("t.ds"), good.size() * sixteenth / 16);
    EXPECT_EQ(OpenAndReadAll(Path("t.ds")), "internal") << sixteenth << "/16";
  }
  EXPECT_EQ(OpenAndReadAll(Path("missing.ds")), "not-found");
}

TEST_F(ColumnarTest, VerifyFindsACorruptBlock) {
  WriteTable(Path("t.ds"), {5000});
  std::string bytes = ReadAll(Path("t.ds"));
  bytes[bytes.size() / 3] = static_cast<char>(bytes[bytes.size() / 3] ^ 1);
  WriteAllBytes(Path("t.ds"), bytes);
  auto file = ColumnarFile::Open(Path("t.ds"));  // the footer is intact
  try {
    file->Verify();
    FAIL() << "Verify accepted a corrupt block";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("is corrupt: checksum mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(ColumnarTest, AppendsByCopyingGroupsAndGrowingTheDictionary) {
  WriteTable(Path("v1.ds"), {100, 50});
  auto v1 = ColumnarFile::Open(Path("v1.ds"));
  {
    ColumnarWriter w(Path("v2.ds"), v1->schema());
    w.CopyGroups(*v1);
    w.SetCategories(5, {"red", "green", "blue", "violet"});
    RowGroup more = MakeRows(150, 30);
    more.columns[5].codes[0] = 3;  // row 150 % 4 != 1: present
    w.Append(more);
    w.Finish();
  }
  auto v2 = ColumnarFile::Open(Path("v2.ds"));
  v2->Verify();
  EXPECT_EQ(v2->rows(), 180);
  ASSERT_EQ(v2->row_groups(), 3u);
  EXPECT_EQ(v2->schema()[5].categories.back(), "violet");
  for (size_t g = 0; g < 2; ++g) {
    for (size_t c = 0; c < 7; ++c) ExpectRows(v2->column(g, c), c, v2->group_first_row(g));
  }
  EXPECT_EQ(v2->column(2, 5).codes()[0], 3u);
  for (size_t c = 0; c < 5; ++c) ExpectRows(v2->column(2, c), c, 150);

  // Groups copied after others move to a new offset and stay readable.
  {
    ColumnarWriter w(Path("v3.ds"), v2->schema());
    w.Append(MakeRows(0, 3));
    w.CopyGroups(*v1);
    w.Finish();
  }
  auto v3 = ColumnarFile::Open(Path("v3.ds"));
  v3->Verify();
  EXPECT_EQ(v3->rows(), 153);
  for (size_t c = 0; c < 7; ++c) ExpectRows(v3->column(1, c), c, 0);
}

TEST_F(ColumnarTest, RefusesWhatDoesNotMatchTheSchema) {
  auto code = [](auto&& f) {
    try {
      f();
    } catch (const core::Error& e) {
      return e.code();
    }
    return core::ErrorCode::kConflict;  // not thrown
  };
  ColumnarWriter w(Path("t.ds"), AllTypes());
  RowGroup wrong_type = MakeRows(0, 4);
  wrong_type.columns[0].type = ColumnType::kNumber;
  EXPECT_EQ(code([&] { w.Append(wrong_type); }), core::ErrorCode::kInternal);
  RowGroup ragged = MakeRows(0, 4);
  ragged.columns[3].AppendInt(1);
  EXPECT_EQ(code([&] { w.Append(ragged); }), core::ErrorCode::kInternal);
  EXPECT_EQ(code([&] { w.SetCategories(5, {"red"}); }), core::ErrorCode::kInternal);  // may only grow
  EXPECT_EQ(code([&] { w.SetCategories(0, {"x"}); }), core::ErrorCode::kInternal);    // not a category
  RowGroup beyond = MakeRows(0, 4);
  beyond.columns[5].codes[0] = 7;
  w.Append(beyond);
  EXPECT_EQ(code([&] { w.Finish(); }), core::ErrorCode::kInternal);

  WriteTable(Path("other.ds"), {2});
  auto other = ColumnarFile::Open(Path("other.ds"));
  ColumnarWriter narrow(Path("narrow.ds"), {{"i", ColumnType::kInteger, {}}});
  EXPECT_EQ(code([&] { narrow.CopyGroups(*other); }), core::ErrorCode::kInternal);
}

TEST_F(ColumnarTest, LeavesNothingBehindWithoutFinish) {
  {
    ColumnarWriter w(Path("t.ds"), AllTypes());
    w.Append(MakeRows(0, 100));
    EXPECT_TRUE(fs::exists(Path("t.ds.tmp")));
  }
  EXPECT_FALSE(fs::exists(Path("t.ds.tmp")));
  EXPECT_FALSE(fs::exists(Path("t.ds")));
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ColumnarTest, FinishReplacesAnExistingFile) {
  WriteTable(Path("t.ds"), {10});
  auto old = ColumnarFile::Open(Path("t.ds"));
  WriteTable(Path("t.ds"), {10, 10});
  EXPECT_EQ(ColumnarFile::Open(Path("t.ds"))->rows(), 20);
  // A reader that opened the old file keeps reading it.
  EXPECT_EQ(old->rows(), 10);
  ExpectRows(old->column(0, 6), 6, 0);
}

TEST_F(ColumnarTest, ConcurrentReaders) {
  WriteTable(Path("t.ds"), {300, 300, 300});
  auto file = ColumnarFile::Open(Path("t.ds"));
  std::vector<std::jthread> readers;
  readers.reserve(4);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        RowGroup rows = file->ReadRows((t * 97 + k * 31) % 900, 50);
        EXPECT_EQ(rows.rows(), std::min<size_t>(50, 900 - static_cast<size_t>((t * 97 + k * 31) % 900)));
        file->Verify();
      }
    });
  }
}

// A measurement, not a test (run with --gtest_also_run_disabled_tests): prints how long writing,
// opening and verifying a 1M x 20 table takes.
TEST_F(ColumnarTest, DISABLED_WriteSpeedOneMillionRowsTwentyColumns) {
  constexpr int64_t kRows = 1'000'000;
  constexpr int64_t kGroup = 65'536;
  Schema schema;
  for (int c = 0; c < 20; ++c) {
    ColumnType t = c % 4 == 0 ? ColumnType::kCategory : c % 4 == 1 ? ColumnType::kInteger : ColumnType::kNumber;
    schema.push_back(
        {"c" + std::to_string(c), t,
         t == ColumnType::kCategory ? std::vector<std::string>{"a", "b", "c"} : std::vector<std::string>{}});
  }
  std::vector<RowGroup> groups;
  for (int64_t first = 0; first < kRows; first += kGroup) {
    RowGroup& g = groups.emplace_back();
    const int64_t n = std::min(kGroup, kRows - first);
    for (const auto& col : schema) {
      ColumnChunk& chunk = g.columns.emplace_back(col.type);
      chunk.Reserve(static_cast<size_t>(n));
      for (int64_t r = first; r < first + n; ++r) {
        if (r % 10 == 3) {
          chunk.AppendMissing();
        } else if (col.type == ColumnType::kCategory) {
          chunk.AppendCode(static_cast<uint32_t>(r % 3));
        } else if (col.type == ColumnType::kInteger) {
          chunk.AppendInt(r * 7 % 1000);
        } else {
          chunk.AppendDouble(static_cast<double>(r % 9973) * 0.37);
        }
      }
    }
  }
  auto start = std::chrono::steady_clock::now();
  ColumnarWriter w(Path("speed.ds"), schema);
  for (const RowGroup& g : groups) w.Append(g);
  w.Finish();
  auto written = std::chrono::steady_clock::now();
  auto file = ColumnarFile::Open(Path("speed.ds"));
  file->Verify();
  auto verified = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  std::printf("1M x 20: %.1f MB written (with fsync) in %.1f ms, opened and verified in %.1f ms\n",
              static_cast<double>(file->file_bytes()) / 1e6, ms(written - start).count(),
              ms(verified - written).count());
  EXPECT_EQ(file->rows(), kRows);
}

}  // namespace
}  // namespace playground::data
