#include "data/json_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace playground::data {
namespace {

// One record as "key=value" strings, null values as "key=<null>".
using Records = std::vector<std::vector<std::string>>;

class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::string_view data, unsigned seed) : data_(data), rng_(seed) {}
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

Records ReadAll(ByteSource& source, JsonFormat format, JsonOptions options = {}) {
  JsonReader reader(source, format, options);
  Records out;
  std::vector<JsonField> fields;
  while (reader.Next(fields)) {
    auto& record = out.emplace_back();
    for (const auto& f : fields) record.push_back(f.key + "=" + (f.is_null ? "<null>" : f.value));
  }
  return out;
}

Records ReadAll(std::string_view data, JsonFormat format = JsonFormat::kArray, JsonOptions options = {}) {
  MemorySource source(data);
  return ReadAll(source, format, options);
}

core::Error ErrorOf(std::string_view data, JsonFormat format = JsonFormat::kArray, JsonOptions options = {}) {
  try {
    ReadAll(data, format, options);
  } catch (const core::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << data.substr(0, 100);
  return core::Error(core::ErrorCode::kInternal, "none");
}

TEST(JsonReaderTest, ArrayOfObjects) {
  EXPECT_EQ(ReadAll(R"([{"a": 1, "b": "x"}, {"a": 5.0, "b": null, "c": true}])"),
            (Records{{"a=1", "b=x"}, {"a=5.0", "b=<null>", "c=true"}}));
  EXPECT_EQ(ReadAll("\xEF\xBB\xBF [ {} ,\n{\"k\":false} ] \n"), (Records{{}, {"k=false"}}));
  EXPECT_EQ(ReadAll("[]"), Records{});
  EXPECT_EQ(ReadAll(""), Records{});
  EXPECT_EQ(ReadAll(" \n "), Records{});
}

TEST(JsonReaderTest, ValuesKeepTheirSourceText) {
  EXPECT_EQ(ReadAll(R"([{"i": -7, "u": 18446744073709551615, "f": 1.50, "e": 1e3, "big": 123456789012345678901234}])"),
            (Records{{"i=-7", "u=18446744073709551615", "f=1.50", "e=1e3", "big=123456789012345678901234"}}));
  EXPECT_EQ(ReadAll(R"([{"s": "quote \" tab \t \u00e9 \ud83d\ude00", "}": "{["}])"),
            (Records{{"s=quote \" tab \t \xC3\xA9 \xF0\x9F\x98\x80", "}={["}}));
}

TEST(JsonReaderTest, Ndjson) {
  EXPECT_EQ(ReadAll("{\"a\":1}\n\n  {\"a\":2, \"b\":\"x\"}\r\n{\"a\":3}", JsonFormat::kNdjson),
            (Records{{"a=1"}, {"a=2", "b=x"}, {"a=3"}}));
  EXPECT_EQ(ReadAll("", JsonFormat::kNdjson), Records{});
  EXPECT_EQ(ReadAll("\n\n", JsonFormat::kNdjson), Records{});
}

TEST(JsonReaderTest, NotAnArrayOfObjects) {
  core::Error object = ErrorOf(R"({"a": 1})");
  EXPECT_EQ(object.code(), core::ErrorCode::kValidation);
  EXPECT_STREQ(object.what(),
               "line 1, column 1: expected a JSON array of objects, found an object (a file with one object per line "
               "is NDJSON)");
  EXPECT_STREQ(ErrorOf("\n  42").what(), "line 2, column 3: expected a JSON array of objects, found a number");
  EXPECT_STREQ(ErrorOf("[{\"a\":1},\n 2]").what(),
               "line 2, column 2: expected an object (a record) in the array, found a number");
  EXPECT_STREQ(ErrorOf("[[1]]").what(), "line 1, column 2: expected an object (a record) in the array, found an array");
  EXPECT_STREQ(ErrorOf("[{\"a\":1},]").what(),
               "line 1, column 10: expected an object (a record) in the array, found ']'");
  EXPECT_STREQ(ErrorOf("[{\"a\":1} {\"a\":2}]").what(),
               "line 1, column 10: expected ',' or ']' after a record, found an object");
  EXPECT_STREQ(ErrorOf("[{\"a\":1}] x").what(), "line 1, column 11: unexpected 'x' after the end of the array");
  EXPECT_STREQ(ErrorOf("[{\"a\":1},").what(), "line 1, column 10: the file ends inside the array (is it cut off?)");
  EXPECT_STREQ(ErrorOf("[1]", JsonFormat::kNdjson).what(),
               "line 1, column 1: expected an object (one record per line), found an array");
  EXPECT_STREQ(ErrorOf("{\"a\":1}\n\"x\"", JsonFormat::kNdjson).what(),
               "line 2, column 1: expected an object (one record per line), found a string");
}

TEST(JsonReaderTest, MalformedJsonReportsTheFilePosition) {
  core::Error e = ErrorOf("[{\"a\":1},\n {\"a\": tru}]");
  EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
  EXPECT_THAT(e.what(), testing::StartsWith("line 2, column 11: invalid JSON: syntax error"));
  EXPECT_THAT(ErrorOf("{\"a\":1}\n{\"a\":1,}\n", JsonFormat::kNdjson).what(),
              testing::StartsWith("line 2, column 8: invalid JSON"));
  EXPECT_THAT(ErrorOf("[{\"a\": \"\xFF\"}]").what(), testing::HasSubstr("invalid JSON"));
  EXPECT_THAT(ErrorOf("[{\"a\": \"x").what(), testing::HasSubstr("invalid JSON"));
  EXPECT_THAT(ErrorOf(std::string_view("[{\"a\": \"\0\"}]", 12)).what(), testing::HasSubstr("invalid JSON"));
  EXPECT_THAT(ErrorOf("{\"a\":1}{\"b\":2}", JsonFormat::kNdjson).what(), testing::HasSubstr("invalid JSON"));
}

TEST(JsonReaderTest, NestedValuesAreRejected) {
  EXPECT_STREQ(ErrorOf("[{\"a\":1},\n{\"x\": {\"y\": 1}}]").what(),
               "line 2: field 'x' holds an object; only scalar values are supported");
  EXPECT_STREQ(ErrorOf("{\"list\": [1, 2]}", JsonFormat::kNdjson).what(),
               "line 1: field 'list' holds an array; only scalar values are supported");
}

TEST(JsonReaderTest, DeepNestingDoesNotRecurse) {
  std::string deep = "[{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}]";
  EXPECT_STREQ(ErrorOf(deep).what(), "line 1: field 'x' holds an array; only scalar values are supported");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"k\":";
  EXPECT_THAT(ErrorOf("[" + objects).what(), testing::HasSubstr("field 'k' holds an object"));
  EXPECT_THAT(ErrorOf(objects, JsonFormat::kNdjson).what(), testing::HasSubstr("field 'k' holds an object"));
  EXPECT_THAT(ErrorOf(std::string(100000, '[')).what(), testing::HasSubstr("found an array"));
}

TEST(JsonReaderTest, Limits) {
  JsonOptions options;
  options.max_columns = 2;
  core::Error columns = ErrorOf(R"([{"a":1,"b":2,"c":3}])", JsonFormat::kArray, options);
  EXPECT_EQ(columns.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(columns.what(), "line 1: a record has more than 2 fields");
  options = {};
  options.max_field_bytes = 1 << 10;
  core::Error field = ErrorOf("[{\"long\": \"" + std::string(2000, 'x') + "\"}]", JsonFormat::kArray, options);
  EXPECT_EQ(field.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(field.what(), "line 1: field 'long' is longer than 1 KiB");
  options = {};
  options.max_record_bytes = 1 << 10;
  options.buffer_bytes = 64;
  core::Error record = ErrorOf("{\"a\": \"" + std::string(5000, 'x') + "\"}", JsonFormat::kNdjson, options);
  EXPECT_EQ(record.code(), core::ErrorCode::kPayloadTooLarge);
  EXPECT_STREQ(record.what(), "line 1: a record is longer than 1 KiB");
}

TEST(JsonReaderTest, TenMegabyteValueAndManyColumns) {
  std::string big(10 << 20, 'y');
  Records r = ReadAll("[{\"v\": \"" + big + "\"}]");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].size(), big.size() + 2);
  std::string wide = "{";
  for (int i = 0; i < 10000; ++i) wide += (i ? ",\"c" : "\"c") + std::to_string(i) + "\":" + std::to_string(i);
  wide += "}";
  Records w = ReadAll(wide, JsonFormat::kNdjson);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].size(), 10000u);
  EXPECT_EQ(w[0][9999], "c9999=9999");
}

TEST(JsonReaderTest, ChunkBoundaries) {
  const std::string array = "\xEF\xBB\xBF[\n {\"a\": \"x\\\"}\", \"b\": 1.5e3},\r\n {\"a\": null}, {}\n]\n";
  const std::string ndjson = "{\"a\": \"x\\\"}\", \"b\": 1.5e3}\r\n\n{\"a\": null}\n{}";
  const Records expected = {{"a=x\"}", "b=1.5e3"}, {"a=<null>"}, {}};
  for (unsigned seed = 1; seed <= 40; ++seed) {
    for (size_t buffer : {8, 16, 1 << 20}) {
      JsonOptions options;
      options.buffer_bytes = buffer;
      TrickleSource a(array, seed);
      ASSERT_EQ(ReadAll(a, JsonFormat::kArray, options), expected) << seed << " " << buffer;
      TrickleSource n(ndjson, seed);
      ASSERT_EQ(ReadAll(n, JsonFormat::kNdjson, options), expected) << seed << " " << buffer;
    }
  }
}

TEST(JsonReaderTest, NdjsonReadersFromRecordOffsets) {
  std::string data = "{\"a\":1}\n\n{\"a\":2}\r\n  {\"a\":3}\n{\"a\":4}";
  MemorySource source(data);
  JsonReader reader(source, JsonFormat::kNdjson);
  std::vector<JsonField> fields;
  std::vector<std::pair<int64_t, int64_t>> starts;
  while (reader.Next(fields)) starts.emplace_back(reader.offset(), reader.line());
  EXPECT_EQ(starts, (std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {9, 3}, {20, 4}, {28, 5}}));
  JsonOptions options;
  options.start_offset = starts[2].first;
  options.start_line = starts[2].second;
  MemorySource rest(std::string_view(data).substr(20));
  JsonReader second(rest, JsonFormat::kNdjson, options);
  ASSERT_TRUE(second.Next(fields));
  EXPECT_EQ(fields[0].value, "3");
  EXPECT_EQ(second.offset(), 20);
  EXPECT_EQ(second.line(), 4);
  ASSERT_TRUE(second.Next(fields));
  EXPECT_EQ(second.line(), 5);
  EXPECT_FALSE(second.Next(fields));
}

}  // namespace
}  // namespace playground::data
