#include "datasets/catalog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/error.h"
#include "store/migrate.h"
#include "testkit/process.h"

namespace playground::datasets {
namespace {

namespace fs = std::filesystem;

// A reader over a string, as an upload's body.
ByteReader FromString(const std::string& data) {
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](char* buf, size_t n) {
    size_t take = std::min(n, data.size() - *pos);
    std::memcpy(buf, data.data() + *pos, take);
    *pos += take;
    return take;
  };
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::OpenStore({"sqlite:///" + dir_.path() + "/db.sqlite"});
    store::Migrate(*store_);
    store_->Exec(
        "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u1', 'a@b.c', 'x', "
        "'member', 0, 0)");
  }
  CatalogOptions Options(int retention_days = 30) const {
    CatalogOptions o;
    o.data_dir = dir_.path() + "/data";
    o.original_retention_days = retention_days;
    return o;
  }

  testkit::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  core::ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(CatalogTest, OriginalsExpireAfterTheRetentionPeriod) {
  DatasetCatalog catalog(*store_, clock_, Options(30));
  auto d = catalog.Create({"u1", "t", "t.csv", data::SourceFormat::kCsv, 0}, FromString("a,b\n1,2\n3,4\n"));
  ASSERT_TRUE(d.original_path.has_value());
  fs::path original = Options().data_dir / *d.original_path;
  EXPECT_TRUE(fs::exists(original));

  clock_.Advance(std::chrono::hours(24 * 29));
  EXPECT_EQ(catalog.Cleanup().originals_removed, 0);
  EXPECT_TRUE(fs::exists(original));

  clock_.Advance(std::chrono::hours(25));
  EXPECT_EQ(catalog.Cleanup().originals_removed, 1);
  EXPECT_FALSE(fs::exists(original));
  auto after = catalog.Find(d.id);
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->original_path.has_value());
  EXPECT_FALSE(after->ToJson()["source"]["original_kept"].get<bool>());
  // The dataset itself is untouched.
  EXPECT_EQ(catalog.Open(*after)->rows(), 2);
  EXPECT_EQ(catalog.Cleanup().originals_removed, 0);
}

TEST_F(CatalogTest, NoRetentionKeepsNoOriginal) {
  DatasetCatalog catalog(*store_, clock_, Options(0));
  auto d = catalog.Create({"u1", "t", "t.csv", data::SourceFormat::kCsv, 0}, FromString("a\n1\n"));
  EXPECT_FALSE(d.original_path.has_value());
  EXPECT_FALSE(fs::exists(Options().data_dir / "datasets" / d.id / "original.csv"));
}

TEST_F(CatalogTest, AFailedUploadLeavesNeitherRowNorFile) {
  DatasetCatalog catalog(*store_, clock_, Options());
  EXPECT_THROW(catalog.Create({"u1", "t", "", data::SourceFormat::kCsv, 0}, FromString("a,b\n1\n")), core::Error);
  // A body that fails half-way (the client left).
  size_t calls = 0;
  ByteReader dying = [&calls](char* buf, size_t n) -> size_t {
    if (++calls > 3) core::Fail(core::ErrorCode::kInvalidArgument, "the client disconnected");
    std::memset(buf, 'x', std::min<size_t>(n, 1000));
    return std::min<size_t>(n, 1000);
  };
  EXPECT_THROW(catalog.Create({"u1", "t", "", data::SourceFormat::kCsv, 0}, dying), core::Error);
  EXPECT_EQ(store_->Query("SELECT COUNT(*) FROM datasets").rows[0].Int(0), 0);
  EXPECT_TRUE(fs::is_empty(Options().data_dir / "incoming"));
  EXPECT_TRUE(fs::is_empty(Options().data_dir / "datasets"));
}

// Two processes (two catalogs over one database and folder) appending to one dataset at once:
// a lost race is a conflict to retry, never a lost or doubled row.
TEST_F(CatalogTest, ConcurrentAppendsConflictInsteadOfLosingRows) {
  DatasetCatalog first(*store_, clock_, Options());
  DatasetCatalog second(*store_, clock_, Options());
  auto d = first.Create({"u1", "t", "", data::SourceFormat::kCsv, 0}, FromString("a\n0\n"));
  std::atomic<int> conflicts{0};
  auto append = [&](DatasetCatalog& catalog, int base) {
    for (int i = 0; i < 8; ++i) {
      while (true) {
        try {
          catalog.Append(d.id, data::SourceFormat::kCsv, 0, FromString("a\n" + std::to_string(base + i) + "\n"));
          break;
        } catch (const core::Error& e) {
          ASSERT_EQ(e.code(), core::ErrorCode::kConflict) << e.what();
          ++conflicts;
        }
      }
    }
  };
  std::thread t1(append, std::ref(first), 100);
  std::thread t2(append, std::ref(second), 200);
  t1.join();
  t2.join();
  auto after = first.Find(d.id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->rows, 17);
  EXPECT_EQ(first.Open(*after)->rows(), 17);
  std::cout << "[ race ] conflicts retried: " << conflicts << "\n";
}

TEST_F(CatalogTest, LeftoversOfUnfinishedWorkAreRemovedOnceOld) {
  DatasetCatalog catalog(*store_, clock_, Options());
  auto d = catalog.Create({"u1", "t", "", data::SourceFormat::kCsv, 0}, FromString("a\n1\n"));
  fs::path root = Options().data_dir;
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::create_directories(root / "datasets" / "no-such-row");
  fs::last_write_time(root / "datasets" / "no-such-row", old);
  std::ofstream(root / "datasets" / d.id / "data-7.col") << "half written";
  fs::last_write_time(root / "datasets" / d.id / "data-7.col", old);
  std::ofstream(root / "datasets" / d.id / "data-8.col") << "being written now";
  EXPECT_EQ(catalog.Cleanup().leftovers_removed, 2);
  EXPECT_FALSE(fs::exists(root / "datasets" / "no-such-row"));
  EXPECT_FALSE(fs::exists(root / "datasets" / d.id / "data-7.col"));
  EXPECT_TRUE(fs::exists(root / "datasets" / d.id / "data-8.col"));
  EXPECT_EQ(catalog.Open(*catalog.Find(d.id))->rows(), 1);
}

}  // namespace
}  // namespace playground::datasets
