#include "data/columnar.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "core/error.h"

namespace playground::data {
namespace {

// The format is little-endian and the reader casts mapped memory to int64_t/double/uint32_t.
static_assert(std::endian::native == std::endian::little, "the dataset format assumes a little-endian host");

constexpr std::array<char, 8> kMagic = {'P', 'L', 'A', 'Y', 'D', 'A', 'T', 'A'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 16;   // magic, version, flags
constexpr size_t kTrailerSize = 40;  // footer offset, footer size, footer checksum, version, reserved, magic
constexpr size_t kBlockEntrySize = 32;
constexpr std::array<uint8_t, 8> kZeros = {};
// Blocks at least this big are prefaulted when a view of them is made; for smaller ones the
// system call costs more than the page faults it saves.
constexpr uint64_t kPrefaultBytes = 64 * 1024;

constexpr uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// The part of a block before its values: the validity bitmap, present only when a row is missing.
uint64_t BitmapBytes(uint64_t rows, uint64_t missing) { return missing == 0 ? 0 : Align8((rows + 7) / 8); }

// Bytes per row of the fixed-width part of the values.
uint64_t ValueWidth(ColumnType type) { return type == ColumnType::kCategory ? 4 : 8; }

uint64_t PageSize() {
  static const auto size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

bool KnownType(uint8_t t) { return t >= 1 && t <= 7; }

std::string ErrnoText(int err) { return std::generic_category().message(err); }

[[noreturn]] void FailCorrupt(const std::string& path, const std::string& why) {
  core::Fail(core::ErrorCode::kInternal, "dataset file " + path + " is corrupt: " + why);
}

// Appends little-endian fields to the footer.
class Encoder {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// Reads the footer's fields with a bounds check on every read.
class Decoder {
 public:
  Decoder(const uint8_t* p, size_t n, const std::string& path) : p_(p), left_(n), path_(path) {}
  uint8_t U8() {
    uint8_t v = 0;
    Take(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Take(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Take(&v, 8);
    return v;
  }
  std::string Str() {
    uint32_t n = U32();
    if (n > left_) FailCorrupt(path_, "a string runs past the footer");
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return s;
  }
  size_t left() const { return left_; }

 private:
  void Take(void* out, size_t n) {
    if (n > left_) FailCorrupt(path_, "the footer ends early");
    std::memcpy(out, p_, n);
    p_ += n;
    left_ -= n;
  }
  const uint8_t* p_;
  size_t left_;
  const std::string& path_;
};

// A list of buffers written with writev(); large blocks go to the kernel without a copy.
class IoBatch {
 public:
  void Add(const void* p, size_t n) {
    if (n > 0) iov_.push_back(iovec{const_cast<void*>(p), n});
  }
  // Writes everything; on failure returns the errno.
  int Flush(int fd) {
    size_t first = 0;
    while (first < iov_.size()) {
      int count = static_cast<int>(std::min<size_t>(iov_.size() - first, IOV_MAX));
      ssize_t n = ::writev(fd, &iov_[first], count);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      auto done = static_cast<size_t>(n);
      while (first < iov_.size() && done >= iov_[first].iov_len) {
        done -= iov_[first].iov_len;
        ++first;
      }
      if (done > 0) {  // a partial write inside one buffer
        iov_[first].iov_base = static_cast<char*>(iov_[first].iov_base) + done;
        iov_[first].iov_len -= done;
      }
    }
    iov_.clear();
    return 0;
  }

 private:
  std::vector<iovec> iov_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// ColumnarWriter

void ColumnarWriter::StateDeleter::operator()(XXH3_state_s* state) const { XXH3_freeState(state); }

ColumnarWriter::ColumnarWriter(std::string path, Schema schema)
    : path_(std::move(path)),
      tmp_path_(path_ + ".tmp"),
      schema_(std::move(schema)),
      code_bound_(schema_.size(), 0),
      hash_state_(XXH3_createState()) {
  if (!hash_state_) core::Fail(core::ErrorCode::kInternal, "out of memory for a checksum state");
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) FailIo("cannot create");
  std::array<uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), kMagic.data(), kMagic.size());
  std::memcpy(header.data() + 8, &kVersion, 4);
  WriteAll(header.data(), header.size());
  pos_ = kHeaderSize;
}

ColumnarWriter::~ColumnarWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(tmp_path_.c_str());
}

void ColumnarWriter::FailIo(const std::string& what) const {
  core::Fail(core::ErrorCode::kInternal, "dataset file " + tmp_path_ + ": " + what + ": " + ErrnoText(errno));
}

void ColumnarWriter::CheckOpen() const {
  if (finished_ || fd_ < 0) core::Fail(core::ErrorCode::kInternal, "dataset file " + path_ + " is already finished");
}

void ColumnarWriter::WriteAll(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      FailIo("cannot write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void ColumnarWriter::Append(const RowGroup& group) {
  CheckOpen();
  auto bad = [&](size_t c, const std::string& why) {
    core::Fail(core::ErrorCode::kInternal,
               "row group for dataset file " + path_ + ", column " + std::to_string(c) + ": " + why);
  };
  if (group.columns.size() != schema_.size()) {
    bad(0, "has " + std::to_string(group.columns.size()) + " columns, the schema " + std::to_string(schema_.size()));
  }
  const size_t rows = group.rows();
  if (rows == 0) return;

  // Check everything before writing anything, so that a rejected group leaves the file as it was.
  for (size_t c = 0; c < schema_.size(); ++c) {
    const ColumnChunk& chunk = group.columns[c];
    if (chunk.type != schema_[c].type) bad(c, "has type " + std::string(TypeName(chunk.type)));
    if (chunk.valid.size() != rows) bad(c, "has a different number of rows");
    size_t values = 0;
    switch (chunk.type) {
      case ColumnType::kNumber: values = chunk.doubles.size(); break;
      case ColumnType::kCategory: values = chunk.codes.size(); break;
      case ColumnType::kText:
        values = chunk.ends.size();
        if (!std::is_sorted(chunk.ends.begin(), chunk.ends.end()) || chunk.ends.back() != chunk.bytes.size()) {
          bad(c, "has inconsistent text offsets");
        }
        break;
      default: values = chunk.ints.size();
    }
    if (values != rows) bad(c, "has " + std::to_string(values) + " values for " + std::to_string(rows) + " rows");
  }

  std::vector<std::vector<uint8_t>> bitmaps;  // kept alive until the batch is written
  bitmaps.reserve(schema_.size());
  IoBatch batch;
  std::vector<Block> blocks(schema_.size());
  for (size_t c = 0; c < schema_.size(); ++c) {
    const ColumnChunk& chunk = group.columns[c];
    Block& b = blocks[c];
    b.offset = pos_;
    b.missing = static_cast<uint64_t>(std::count(chunk.valid.begin(), chunk.valid.end(), uint8_t{0}));
    XXH3_64bits_reset(hash_state_.get());
    auto add = [&](const void* p, size_t n) {
      batch.Add(p, n);
      XXH3_64bits_update(hash_state_.get(), p, n);
      b.length += n;
    };
    if (b.missing > 0) {
      std::vector<uint8_t>& bits = bitmaps.emplace_back(BitmapBytes(rows, b.missing), 0);
      for (size_t i = 0; i < rows; ++i) {
        if (chunk.valid[i] != 0) bits[i >> 3] = static_cast<uint8_t>(bits[i >> 3] | (1u << (i & 7)));
      }
      add(bits.data(), bits.size());
    }
    switch (chunk.type) {
      case ColumnType::kNumber: add(chunk.doubles.data(), rows * sizeof(double)); break;
      case ColumnType::kCategory: {
        add(chunk.codes.data(), rows * sizeof(uint32_t));
        for (size_t i = 0; i < rows; ++i) {
          if (chunk.valid[i] != 0) code_bound_[c] = std::max<uint64_t>(code_bound_[c], uint64_t{chunk.codes[i]} + 1);
        }
        break;
      }
      case ColumnType::kText:
        add(chunk.ends.data(), rows * sizeof(uint64_t));
        add(chunk.bytes.data(), chunk.bytes.size());
        break;
      default: add(chunk.ints.data(), rows * sizeof(int64_t));
    }
    // The padding is part of the checksum, so that every byte of a block is covered.
    size_t pad = Align8(b.length) - b.length;
    batch.Add(kZeros.data(), pad);
    XXH3_64bits_update(hash_state_.get(), kZeros.data(), pad);
    b.checksum = XXH3_64bits_digest(hash_state_.get());
    pos_ += Align8(b.length);
  }
  if (int err = batch.Flush(fd_); err != 0) {
    errno = err;
    FailIo("cannot write");
  }
  // Start writing the group to disk now, without waiting: the fsync in Finish then has only the
  // last groups left to wait for instead of the whole file. Only a hint, so errors are ignored
  // (the fsync reports any that matter).
  ::sync_file_range(fd_, static_cast<off_t>(blocks.front().offset), static_cast<off_t>(pos_ - blocks.front().offset),
                    SYNC_FILE_RANGE_WRITE);
  blocks_.insert(blocks_.end(), blocks.begin(), blocks.end());
  group_rows_.push_back(static_cast<int64_t>(rows));
  rows_ += static_cast<int64_t>(rows);
}

void ColumnarWriter::CopyGroups(const ColumnarFile& from) {
  CheckOpen();
  const Schema& src = from.schema();
  if (src.size() != schema_.size()) {
    core::Fail(core::ErrorCode::kInternal, "cannot copy " + from.path() + " into " + path_ + ": different columns");
  }
  for (size_t c = 0; c < src.size(); ++c) {
    const auto& a = src[c];
    const auto& b = schema_[c];
    bool prefix = a.categories.size() <= b.categories.size() &&
                  std::equal(a.categories.begin(), a.categories.end(), b.categories.begin());
    if (a.name != b.name || a.type != b.type || !prefix) {
      core::Fail(core::ErrorCode::kInternal,
                 "cannot copy " + from.path() + " into " + path_ + ": column '" + a.name + "' differs");
    }
    if (a.type == ColumnType::kCategory && from.rows() > 0) {
      code_bound_[c] = std::max<uint64_t>(code_bound_[c], a.categories.size());
    }
  }
  for (size_t g = 0; g < from.row_groups(); ++g) {
    for (size_t c = 0; c < src.size(); ++c) from.VerifyBlock(g, c);
    auto [begin, end] = from.GroupExtent(g);
    // Both files keep blocks 8-byte aligned, so moving a group by `pos_ - begin` keeps them so.
    for (size_t c = 0; c < src.size(); ++c) {
      const auto& fb = from.block(g, c);
      blocks_.push_back(Block{fb.offset - begin + pos_, fb.length, fb.missing, fb.checksum});
    }
    WriteAll(from.data_ + begin, end - begin);
    pos_ += end - begin;
    group_rows_.push_back(from.group_rows(g));
    rows_ += from.group_rows(g);
  }
}

void ColumnarWriter::SetCategories(size_t column, std::vector<std::string> categories) {
  CheckOpen();
  ColumnSchema& col = schema_.at(column);
  if (col.type != ColumnType::kCategory ||
      !(col.categories.size() <= categories.size() &&
        std::equal(col.categories.begin(), col.categories.end(), categories.begin()))) {
    core::Fail(core::ErrorCode::kInternal,
               "dataset file " + path_ + ": the dictionary of column '" + col.name + "' may only grow at the end");
  }
  col.categories = std::move(categories);
}

void ColumnarWriter::SetDateType(size_t column, ColumnType type) {
  CheckOpen();
  ColumnSchema& col = schema_.at(column);
  if (!IsTime(col.type) || !IsTime(type)) {
    core::Fail(core::ErrorCode::kInternal,
               "dataset file " + path_ + ": column '" + col.name + "' can only change between date and datetime");
  }
  col.type = type;
}

void ColumnarWriter::Finish() {
  CheckOpen();
  for (size_t c = 0; c < schema_.size(); ++c) {
    if (code_bound_[c] > schema_[c].categories.size()) {
      core::Fail(core::ErrorCode::kInternal, "dataset file " + path_ + ": column '" + schema_[c].name +
                                                 "' has category codes beyond its dictionary");
    }
  }
  Encoder e;
  e.U64(static_cast<uint64_t>(rows_));
  e.U32(static_cast<uint32_t>(schema_.size()));
  for (const ColumnSchema& col : schema_) {
    e.Str(col.name);
    e.U8(static_cast<uint8_t>(col.type));
    e.U32(static_cast<uint32_t>(col.categories.size()));
    for (const std::string& v : col.categories) e.Str(v);
  }
  e.U64(group_rows_.size());
  for (size_t g = 0; g < group_rows_.size(); ++g) {
    e.U64(static_cast<uint64_t>(group_rows_[g]));
    for (size_t c = 0; c < schema_.size(); ++c) {
      const Block& b = blocks_[g * schema_.size() + c];
      e.U64(b.offset);
      e.U64(b.length);
      e.U64(b.missing);
      e.U64(b.checksum);
    }
  }
  std::string& footer = e.out();
  const uint64_t footer_size = footer.size();
  const uint64_t checksum = XXH3_64bits(footer.data(), footer.size());
  e.U64(pos_);
  e.U64(footer_size);
  e.U64(checksum);
  e.U32(kVersion);
  e.U32(0);
  e.Raw(kMagic.data(), kMagic.size());
  WriteAll(footer.data(), footer.size());

  if (::fsync(fd_) != 0) FailIo("cannot flush");
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) FailIo("cannot close");
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) FailIo("cannot rename to " + path_);
  finished_ = true;
  // The rename is durable only once the directory is flushed too.
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) FailIo("cannot open the directory " + dir);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) {
    errno = err;
    FailIo("cannot flush the directory " + dir);
  }
}

// ---------------------------------------------------------------------------------------------
// ColumnarFile

std::unique_ptr<ColumnarFile> ColumnarFile::Open(const std::string& path) {
  std::unique_ptr<ColumnarFile> file(new ColumnarFile());
  file->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    core::Fail(err == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kInternal,
               "cannot open dataset file " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    core::Fail(core::ErrorCode::kInternal, "cannot read dataset file " + path + ": " + ErrnoText(err));
  }
  if (static_cast<uint64_t>(st.st_size) < kHeaderSize + kTrailerSize) {
    ::close(fd);
    file->Corrupt("it is only " + std::to_string(st.st_size) + " bytes long");
  }
  file->size_ = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  ::close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) {
    file->size_ = 0;
    core::Fail(core::ErrorCode::kInternal, "cannot map dataset file " + path + ": " + ErrnoText(err));
  }
  file->data_ = static_cast<const uint8_t*>(map);
  // Readers jump from column to column, which the row-group layout stores far apart: the default
  // read-around would mostly read neighbouring columns nobody asked for. column() asks for the
  // blocks it hands out instead.
  ::madvise(map, file->size_, MADV_RANDOM);
  file->Parse();
  return file;
}

ColumnarFile::~ColumnarFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void ColumnarFile::Corrupt(const std::string& why) const { FailCorrupt(path_, why); }

void ColumnarFile::Parse() {
  if (std::memcmp(data_, kMagic.data(), kMagic.size()) != 0) Corrupt("it does not start with the magic number");
  uint32_t version = 0;
  uint32_t flags = 0;
  std::memcpy(&version, data_ + 8, 4);
  std::memcpy(&flags, data_ + 12, 4);
  if (version != kVersion) {
    Corrupt("format version " + std::to_string(version) + " (this build reads version " + std::to_string(kVersion) +
            ")");
  }
  if (flags != 0) Corrupt("unknown header flags");

  const uint8_t* trailer = data_ + size_ - kTrailerSize;
  uint64_t footer_offset = 0;
  uint64_t footer_size = 0;
  uint64_t footer_checksum = 0;
  uint32_t trailer_version = 0;
  uint32_t reserved = 0;
  std::memcpy(&footer_offset, trailer, 8);
  std::memcpy(&footer_size, trailer + 8, 8);
  std::memcpy(&footer_checksum, trailer + 16, 8);
  std::memcpy(&trailer_version, trailer + 24, 4);
  std::memcpy(&reserved, trailer + 28, 4);
  if (std::memcmp(trailer + 32, kMagic.data(), kMagic.size()) != 0) {
    Corrupt("it does not end with the magic number (truncated?)");
  }
  if (trailer_version != version || reserved != 0) Corrupt("the trailer does not match the header");
  const uint64_t footer_end = size_ - kTrailerSize;
  if (footer_offset < kHeaderSize || footer_offset % 8 != 0 || footer_offset > footer_end ||
      footer_size != footer_end - footer_offset) {
    Corrupt("the footer's position is out of bounds");
  }
  const uint64_t footer_page = footer_offset & ~(PageSize() - 1);
  ::madvise(const_cast<uint8_t*>(data_ + footer_page), footer_end - footer_page, MADV_WILLNEED);
  if (XXH3_64bits(data_ + footer_offset, footer_size) != footer_checksum) Corrupt("footer checksum mismatch");
  footer_offset_ = footer_offset;

  Decoder d(data_ + footer_offset, footer_size, path_);
  const uint64_t total_rows = d.U64();
  const uint32_t columns = d.U32();
  if (columns > d.left() / 9) Corrupt("the column count is larger than the footer");  // >= 9 bytes each
  schema_.resize(columns);
  for (ColumnSchema& col : schema_) {
    col.name = d.Str();
    uint8_t type = d.U8();
    if (!KnownType(type)) Corrupt("unknown column type " + std::to_string(type));
    col.type = static_cast<ColumnType>(type);
    uint32_t categories = d.U32();
    if (categories > 0 && col.type != ColumnType::kCategory) Corrupt("a dictionary on a column that is no category");
    if (categories > d.left() / 4) Corrupt("the dictionary is larger than the footer");
    col.categories.reserve(categories);
    for (uint32_t i = 0; i < categories; ++i) col.categories.push_back(d.Str());
  }
  const uint64_t groups = d.U64();
  if (groups > 0 && columns == 0) Corrupt("row groups without columns");
  if (groups > d.left() / (8 + uint64_t{columns} * kBlockEntrySize))
    Corrupt("the group count is larger than the footer");
  group_rows_.reserve(groups);
  group_first_row_.reserve(groups);
  blocks_.reserve(groups * columns);
  uint64_t pos = kHeaderSize;  // blocks are contiguous: every byte of the file is covered by a check
  uint64_t rows_so_far = 0;
  for (uint64_t g = 0; g < groups; ++g) {
    const uint64_t rows = d.U64();
    // Every row takes at least 4 bytes of every block, which also keeps rows * 8 from overflowing.
    if (rows == 0 || rows > footer_offset / 4) Corrupt("row group " + std::to_string(g) + " has a bad row count");
    for (uint32_t c = 0; c < columns; ++c) {
      Block b{d.U64(), d.U64(), d.U64(), d.U64()};
      const ColumnType type = schema_[c].type;
      const uint64_t fixed = BitmapBytes(rows, b.missing) + rows * ValueWidth(type);
      const bool size_ok = type == ColumnType::kText ? b.length >= fixed : b.length == fixed;
      if (b.offset != pos || b.missing > rows || !size_ok || b.length > footer_offset - pos) {
        Corrupt("row group " + std::to_string(g) + ", column '" + schema_[c].name + "' has a bad position or size");
      }
      pos = Align8(b.offset + b.length);
      if (pos > footer_offset) Corrupt("row group " + std::to_string(g) + " runs into the footer");
      blocks_.push_back(b);
    }
    group_rows_.push_back(static_cast<int64_t>(rows));
    group_first_row_.push_back(static_cast<int64_t>(rows_so_far));
    rows_so_far += rows;
  }
  if (pos != footer_offset) Corrupt("unaccounted bytes before the footer");
  if (d.left() != 0) Corrupt("unexpected bytes at the end of the footer");
  if (rows_so_far != total_rows) Corrupt("the row count does not match the row groups");
  rows_ = static_cast<int64_t>(total_rows);
}

std::pair<uint64_t, uint64_t> ColumnarFile::GroupExtent(size_t g) const {
  const Block& first = block(g, 0);
  const Block& last = block(g, schema_.size() - 1);
  return {first.offset, Align8(last.offset + last.length)};
}

void ColumnarFile::VerifyBlock(size_t g, size_t c) const {
  const Block& b = block(g, c);
  if (XXH3_64bits(data_ + b.offset, Align8(b.length)) != b.checksum) {
    Corrupt("checksum mismatch in row group " + std::to_string(g) + ", column '" + schema_[c].name + "'");
  }
}

void ColumnarFile::Verify() const {
  for (size_t g = 0; g < row_groups(); ++g) {
    for (size_t c = 0; c < schema_.size(); ++c) VerifyBlock(g, c);
  }
}

ColumnView ColumnarFile::column(size_t g, size_t c) const {
  if (g >= row_groups() || c >= schema_.size()) throw std::out_of_range("ColumnarFile::column");
  const Block& b = block(g, c);
  const auto rows = static_cast<uint64_t>(group_rows_[g]);
  const uint8_t* p = data_ + b.offset;
  if (b.length >= kPrefaultBytes) {
    // The caller is about to read the whole block: map it in one system call rather than with a
    // page fault every few pages. MADV_POPULATE_READ needs Linux 5.14; before that, MADV_WILLNEED
    // at least reads it ahead in one go. The mapping starts at a page boundary.
    const uint64_t begin = b.offset & ~(PageSize() - 1);
    void* start = const_cast<uint8_t*>(data_ + begin);
    const size_t length = b.offset + b.length - begin;
    if (::madvise(start, length, MADV_POPULATE_READ) != 0) ::madvise(start, length, MADV_WILLNEED);
  }
  ColumnView v;
  v.type = schema_[c].type;
  v.rows = static_cast<int64_t>(rows);
  v.missing = static_cast<int64_t>(b.missing);
  auto where = [&] { return "row group " + std::to_string(g) + ", column '" + schema_[c].name + "'"; };
  if (b.missing > 0) {
    v.validity_ = {p, (rows + 7) / 8};
    uint64_t present = 0;
    for (uint64_t i = 0; i < rows / 8; ++i) present += static_cast<uint64_t>(std::popcount(p[i]));
    if (rows % 8 != 0) present += static_cast<uint64_t>(std::popcount(uint8_t(p[rows / 8] & ((1u << (rows % 8)) - 1))));
    if (present != rows - b.missing) Corrupt("the validity bitmap of " + where() + " does not match its missing count");
    p += BitmapBytes(rows, b.missing);
  }
  switch (v.type) {
    case ColumnType::kNumber: v.doubles_ = {reinterpret_cast<const double*>(p), rows}; break;
    case ColumnType::kCategory: {
      v.codes_ = {reinterpret_cast<const uint32_t*>(p), rows};
      const uint64_t size = schema_[c].categories.size();
      for (size_t i = 0; i < rows; ++i) {
        if (v.codes_[i] >= size && v.IsValid(static_cast<int64_t>(i)))
          Corrupt("a category code out of range in " + where());
      }
      break;
    }
    case ColumnType::kText: {
      v.ends_ = {reinterpret_cast<const uint64_t*>(p), rows};
      const uint64_t fixed = BitmapBytes(rows, b.missing) + rows * 8;
      v.text_ = {reinterpret_cast<const char*>(p + rows * 8), b.length - fixed};
      if (!std::is_sorted(v.ends_.begin(), v.ends_.end()) || v.ends_.back() > v.text_.size()) {
        Corrupt("bad text offsets in " + where());
      }
      break;
    }
    default: v.ints_ = {reinterpret_cast<const int64_t*>(p), rows};
  }
  return v;
}

RowGroup ColumnarFile::ReadRows(int64_t offset, int64_t limit) const {
  offset = std::clamp<int64_t>(offset, 0, rows_);
  limit = std::clamp<int64_t>(limit, 0, rows_ - offset);
  RowGroup out;
  out.columns.reserve(schema_.size());
  for (const ColumnSchema& col : schema_) {
    out.columns.emplace_back(col.type);
    out.columns.back().Reserve(static_cast<size_t>(limit));
  }
  if (limit == 0) return out;
  // The first group that holds `offset`.
  size_t g = static_cast<size_t>(std::upper_bound(group_first_row_.begin(), group_first_row_.end(), offset) -
                                 group_first_row_.begin()) -
             1;
  const int64_t end = offset + limit;
  for (; g < row_groups() && group_first_row_[g] < end; ++g) {
    const int64_t from = std::max<int64_t>(offset, group_first_row_[g]) - group_first_row_[g];
    const int64_t to = std::min<int64_t>(end, group_first_row_[g] + group_rows_[g]) - group_first_row_[g];
    for (size_t c = 0; c < schema_.size(); ++c) {
      const ColumnView v = column(g, c);
      ColumnChunk& chunk = out.columns[c];
      for (int64_t i = from; i < to; ++i) {
        if (!v.IsValid(i)) {
          chunk.AppendMissing();
          continue;
        }
        const auto k = static_cast<size_t>(i);
        switch (v.type) {
          case ColumnType::kNumber: chunk.AppendDouble(v.doubles()[k]); break;
          case ColumnType::kCategory: chunk.AppendCode(v.codes()[k]); break;
          case ColumnType::kText: chunk.AppendText(v.Text(i)); break;
          default: chunk.AppendInt(v.ints()[k]);
        }
      }
    }
  }
  return out;
}

}  // namespace playground::data
