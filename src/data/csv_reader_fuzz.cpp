// libFuzzer target: the CSV reader, type inference and value conversion on arbitrary bytes. The
// first byte chooses the reader's options (delimiter, buffer size, trickling reads). Besides
// crashes and sanitizer reports it checks four properties and traps when one fails:
// every value inference accepted converts under the inferred type; blocks of records hold what
// one record at a time reads; a second pass reads the same records; a reader started at a
// record's offset reads the same records from there.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/csv_reader.h"
#include "data/infer.h"
#include "data/values.h"

namespace {

using playground::data::ByteSource;
using playground::data::ColumnChunk;
using playground::data::CsvOptions;
using playground::data::CsvReader;
using playground::data::MemorySource;
using playground::data::TypeInferrer;
using playground::data::ValueParser;

// Returns the data in pieces of 1 to 7 bytes, a pattern fixed by the data's length.
class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::string_view data) : data_(data), step_(data.size()) {}
  size_t Read(char* buf, size_t n) override {
    step_ = step_ * 1103515245 + 12345;
    size_t take = std::min({n, data_.size(), static_cast<size_t>(step_ % 7 + 1)});
    std::copy_n(data_.data(), take, buf);
    data_.remove_prefix(take);
    return take;
  }

 private:
  std::string_view data_;
  size_t step_;
};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

using Records = std::vector<std::vector<std::string>>;

struct Pass {
  Records records;
  std::vector<int64_t> offsets;
  std::vector<int64_t> lines;
};

Pass ReadAll(ByteSource& source, const CsvOptions& options, char* delimiter) {
  CsvReader reader(source, options);
  *delimiter = reader.delimiter();
  Pass pass;
  std::vector<std::string_view> fields;
  while (reader.Next(fields)) {
    pass.records.emplace_back(fields.begin(), fields.end());
    pass.offsets.push_back(reader.offset());
    pass.lines.push_back(reader.line());
  }
  return pass;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  CsvOptions options;
  options.buffer_bytes = size_t{8} << (flags & 7);
  options.delimiter = (flags & 8) != 0 ? ",;\t|"[(flags >> 4) & 3] : '\0';
  options.max_field_bytes = 2048;
  options.max_columns = 64;
  options.max_record_bytes = 4096;
  try {
    char delimiter = 0;
    Pass first;
    if ((flags & 0x40) != 0) {
      TrickleSource source(input);
      first = ReadAll(source, options, &delimiter);
    } else {
      MemorySource source(input);
      first = ReadAll(source, options, &delimiter);
    }

    std::vector<TypeInferrer> columns;
    for (const auto& record : first.records) {
      if (record.size() > columns.size()) columns.resize(record.size());
      for (size_t i = 0; i < record.size(); ++i) columns[i].Add(record[i]);
    }
    for (auto& column : columns) {
      auto schema = column.Result("c");
      ValueParser parser(schema, column.date_order());
      ColumnChunk chunk(schema.type);
      size_t column_index = static_cast<size_t>(&column - columns.data());
      size_t rows = 0;
      for (const auto& record : first.records) {
        if (column_index >= record.size()) continue;
        Check(parser.Append(chunk, record[column_index]));
        ++rows;
      }
      Check(chunk.size() == rows);
    }

    // The same records in blocks of 1 to 5, through the same small buffer and pieces.
    {
      CsvOptions blocks = options;
      blocks.delimiter = delimiter;
      TrickleSource trickle(input);
      MemorySource whole(input);
      CsvReader reader((flags & 0x40) != 0 ? static_cast<ByteSource&>(trickle) : whole, blocks);
      Records got;
      std::vector<std::string_view> fields;
      std::vector<size_t> ends;
      while (size_t n = reader.NextBlock(fields, ends, 1 + input.size() % 5)) {
        for (size_t r = 0; r < n; ++r) {
          got.emplace_back(fields.begin() + static_cast<std::ptrdiff_t>(r == 0 ? 0 : ends[r - 1]),
                           fields.begin() + static_cast<std::ptrdiff_t>(ends[r]));
        }
      }
      Check(got == first.records);
    }

    // The same records again, with the detected delimiter, in one piece; then from an offset.
    CsvOptions again = options;
    again.delimiter = delimiter;
    again.buffer_bytes = 1 << 16;
    MemorySource source(input);
    char unused = 0;
    Check(ReadAll(source, again, &unused).records == first.records);
    if (first.records.size() >= 2) {
      size_t k = first.records.size() / 2;
      CsvOptions from = again;
      from.start_offset = first.offsets[k];
      from.start_line = first.lines[k];
      MemorySource rest(input.substr(static_cast<size_t>(first.offsets[k])));
      Pass tail = ReadAll(rest, from, &unused);
      Check(tail.records == Records(first.records.begin() + static_cast<std::ptrdiff_t>(k), first.records.end()));
      Check(tail.offsets ==
            std::vector<int64_t>(first.offsets.begin() + static_cast<std::ptrdiff_t>(k), first.offsets.end()));
      Check(tail.lines ==
            std::vector<int64_t>(first.lines.begin() + static_cast<std::ptrdiff_t>(k), first.lines.end()));
    }
  } catch (const playground::core::Error&) {
    // Malformed input and exceeded limits are expected outcomes.
  }
  return 0;
}
