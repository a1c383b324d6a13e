// Test support for the store module's unit tests: a fixture that runs each test against both
// backends, SQLite in a temporary file and PostgreSQL in a fresh database of the test process's
// shared server (testkit::SharedPostgres()).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "store/store.h"
#include "testkit/postgres_instance.h"

namespace playground::store::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// Names the parameter in gtest's (and ctest's) output instead of a byte dump.
inline void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "sqlite" : "postgresql");
}

// A fresh directory under the system temp dir, removed on destruction. Thread-compatible.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "store-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Each test gets an empty database: a new SQLite file, or a new PostgreSQL database.
// Thread-compatible, like every gtest fixture; the stores it opens are thread-safe.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      dir_ = std::make_unique<ScratchDir>();
      url_ = "sqlite://" + dir_->path() + "/test.db";
    } else {
      url_ = testkit::SharedPostgres().NewDatabase();
    }
  }

  std::unique_ptr<Store> Open(int pool_size = 4, std::chrono::seconds connect_timeout = std::chrono::seconds(5),
                              std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000)) const {
    StoreOptions options;
    options.url = url_;
    options.pool_size = pool_size;
    options.connect_timeout = connect_timeout;
    options.busy_timeout = busy_timeout;
    return OpenStore(options);
  }

  bool postgres() const { return GetParam() == Backend::kPostgres; }

  std::unique_ptr<ScratchDir> dir_;
  std::string url_;
};

// The code of the core::Error that `fn` throws; fails the test if it throws nothing or
// something else.
inline std::optional<core::ErrorCode> ErrorCodeOf(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const core::Error& e) {
    if (message) *message = e.what();
    return e.code();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "no exception";
  return std::nullopt;
}

}  // namespace playground::store::testing
