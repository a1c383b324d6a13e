// The parse alone, without HTTP: data::Ingest (tokenize and infer, then convert and write the
// columnar file) and the profile, on one file; prints seconds and MB/s per phase.
// Usage: ingest_bench FILE.csv [THREADS]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/ingest.h"
#include "data/profile.h"

int main(int argc, char** argv) {
  using namespace playground;
  if (argc < 2) {
    std::fprintf(stderr, "usage: ingest_bench FILE.csv [THREADS]\n");
    return 2;
  }
  std::string src = argv[1];
  int threads = argc > 2 ? std::stoi(argv[2]) : 2;
  std::string out = std::filesystem::temp_directory_path() / "ingest_bench.col";
  double mb = static_cast<double>(std::filesystem::file_size(src)) / 1e6;

  data::IngestOptions o;
  o.threads = threads;
  auto t0 = std::chrono::steady_clock::now();
  auto r = data::Ingest(src, out, o);
  auto t1 = std::chrono::steady_clock::now();
  auto file = data::ColumnarFile::Open(out);
  data::ProfileOptions po;
  po.threads = threads;
  auto profile = data::ComputeProfile(*file, po);
  auto t2 = std::chrono::steady_clock::now();
  double ingest_s = std::chrono::duration<double>(t1 - t0).count();
  double profile_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("rows %lld columns %zu file_mb %.1f threads %d\n", static_cast<long long>(r.rows), r.columns.size(), mb,
              threads);
  std::printf("passes %d, columnar file %.1f MB\n", r.passes, static_cast<double>(file->file_bytes()) / 1e6);
  if (r.passes == 2) {
    std::printf("scan %.3f s (%.0f MB/s)\n", r.scan_seconds, mb / r.scan_seconds);
    std::printf("convert %.3f s (%.0f MB/s)\n", r.convert_seconds, mb / r.convert_seconds);
  }
  std::printf("parse %.3f s (%.0f MB/s)\n", ingest_s, mb / ingest_s);
  std::printf("profile %.3f s\n", profile_s);
  std::filesystem::remove(out);
  return profile.is_object() ? 0 : 1;
}
