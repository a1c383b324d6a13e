// libFuzzer target: the JSON reader (array and NDJSON), type inference and value conversion on
// arbitrary bytes. The first byte chooses the format, the buffer size and trickling reads. Besides
// crashes and sanitizer reports it traps when a value that inference accepted does not convert
// under the inferred type, or when an NDJSON reader started at a record's offset reads different
// records.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/infer.h"
#include "data/json_reader.h"
#include "data/values.h"

namespace {

using playground::data::ByteSource;
using playground::data::ColumnChunk;
using playground::data::JsonField;
using playground::data::JsonFormat;
using playground::data::JsonOptions;
using playground::data::JsonReader;
using playground::data::MemorySource;
using playground::data::TypeInferrer;
using playground::data::ValueParser;

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

struct Pass {
  std::vector<std::vector<JsonField>> records;
  std::vector<int64_t> offsets;
  std::vector<int64_t> lines;
};

Pass ReadAll(ByteSource& source, JsonFormat format, const JsonOptions& options) {
  JsonReader reader(source, format, options);
  Pass pass;
  std::vector<JsonField> fields;
  while (reader.Next(fields)) {
    pass.records.push_back(fields);
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
  const JsonFormat format = (flags & 1) != 0 ? JsonFormat::kNdjson : JsonFormat::kArray;
  JsonOptions options;
  options.buffer_bytes = size_t{8} << ((flags >> 1) & 7);
  options.max_field_bytes = 2048;
  options.max_columns = 64;
  options.max_record_bytes = 4096;
  try {
    Pass first;
    if ((flags & 0x40) != 0) {
      TrickleSource source(input);
      first = ReadAll(source, format, options);
    } else {
      MemorySource source(input);
      first = ReadAll(source, format, options);
    }

    std::map<std::string, TypeInferrer> columns;
    for (const auto& record : first.records) {
      for (const auto& f : record) columns[f.key].Add(f.is_null ? std::string_view() : f.value);
    }
    for (auto& [key, inferrer] : columns) {
      auto schema = inferrer.Result(key);
      ValueParser parser(schema, inferrer.date_order());
      ColumnChunk chunk(schema.type);
      for (const auto& record : first.records) {
        for (const auto& f : record) {
          if (f.key == key) Check(parser.Append(chunk, f.is_null ? std::string_view() : f.value));
        }
      }
    }

    if (format == JsonFormat::kNdjson && first.records.size() >= 2) {
      size_t k = first.records.size() / 2;
      JsonOptions from = options;
      from.start_offset = first.offsets[k];
      from.start_line = first.lines[k];
      MemorySource rest(input.substr(static_cast<size_t>(first.offsets[k])));
      Pass tail = ReadAll(rest, format, from);
      Check(tail.records.size() == first.records.size() - k);
      for (size_t i = 0; i < tail.records.size(); ++i) {
        Check(tail.records[i] == first.records[k + i]);
        Check(tail.offsets[i] == first.offsets[k + i]);
        Check(tail.lines[i] == first.lines[k + i]);
      }
    }
  } catch (const playground::core::Error&) {
    // Malformed input and exceeded limits are expected outcomes.
  }
  return 0;
}
