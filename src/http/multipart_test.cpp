#include "http/multipart.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace playground::http {
namespace {

// A body that hands out at most `step` bytes per read, to cross every buffer boundary.
class StringBody : public BodyReader {
 public:
  StringBody(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  size_t Read(char* buf, size_t n) override {
    size_t take = std::min({n, step_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  int64_t BytesRead() const override { return static_cast<int64_t>(pos_); }

 private:
  std::string data_;
  size_t step_;
  size_t pos_ = 0;
};

std::string Body(const std::string& file) {
  return "preamble to ignore\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"name\"\r\n\r\n"
         "my data\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"a;b \\\"c\\\".csv\"\r\n"
         "Content-Type: text/csv\r\n\r\n" +
         file +
         "\r\n--XyZ--\r\n"
         "epilogue";
}

TEST(MultipartTest, ReadsFieldsAndFileAtEveryChunkSize) {
  // "--XyZ" is a boundary only right after a CRLF.
  std::string file = "a,b\r\n1,2\r\n3,--XyZ\r\n\r\n-\r\n-";
  for (size_t step : {1, 2, 3, 7, 64, 100000}) {
    StringBody body(Body(file), step);
    MultipartReader reader(body, "XyZ");
    MultipartPart part;
    ASSERT_TRUE(reader.NextPart(part)) << step;
    EXPECT_EQ(part.name, "name");
    EXPECT_EQ(reader.ReadAll(100), "my data");
    ASSERT_TRUE(reader.NextPart(part));
    EXPECT_EQ(part.name, "file");
    EXPECT_EQ(part.filename, "a;b \"c\".csv");
    EXPECT_EQ(part.content_type, "text/csv");
    std::string got;
    char buf[5];
    while (size_t n = reader.Read(buf, sizeof(buf))) got.append(buf, n);
    EXPECT_EQ(got, file) << step;
    EXPECT_FALSE(reader.NextPart(part));
  }
}

TEST(MultipartTest, SkipsUnreadPartsAndEmptyParts) {
  std::string data =
      "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nskipped\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
      "--b--";
  StringBody body(data, 3);
  MultipartReader reader(body, "b");
  MultipartPart part;
  ASSERT_TRUE(reader.NextPart(part));
  EXPECT_EQ(part.name, "x");
  ASSERT_TRUE(reader.NextPart(part));
  EXPECT_EQ(part.name, "empty");
  EXPECT_EQ(reader.ReadAll(10), "");
  EXPECT_FALSE(reader.NextPart(part));
}

TEST(MultipartTest, RefusesTruncatedAndMalformedBodies) {
  auto parse_all = [](const std::string& data) {
    StringBody body(data, 4);
    MultipartReader reader(body, "b");
    MultipartPart part;
    while (reader.NextPart(part)) reader.ReadAll(1 << 20);
  };
  // Cut off in the middle of a file: never mistaken for a complete upload.
  EXPECT_THROW(parse_all("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhalf a fi"), core::Error);
  EXPECT_THROW(parse_all("no boundary at all"), core::Error);
  EXPECT_THROW(parse_all("--b\r\nContent-Disposition: form-data"), core::Error);
  EXPECT_THROW(parse_all("--bXX\r\n"), core::Error);
  EXPECT_THROW(parse_all("--b\r\n" + std::string(20000, 'h')), core::Error);
}

TEST(MultipartTest, FindsTheBoundaryInTheContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_EQ(MultipartBoundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(MultipartBoundary("text/csv; boundary=abc"), std::nullopt);
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')), std::nullopt);
}

}  // namespace
}  // namespace playground::http
