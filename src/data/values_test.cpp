#include "data/values.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace playground::data {
namespace {

TEST(IsMissingTest, TheDocumentedSpellings) {
  for (const char* s : {"", " ", "\t", "NA", "N/A", "null", "NULL", "NaN", "nan", "None", "  NA ", " null\t"}) {
    EXPECT_TRUE(IsMissing(s)) << "'" << s << "'";
  }
  for (const char* s : {"0", "na", "Null", "NONE", "none", "NAN", "N", "NA1", "nil", "-", "x"}) {
    EXPECT_FALSE(IsMissing(s)) << "'" << s << "'";
  }
}

TEST(ParseIntegerTest, SignsSpacesAndOverflow) {
  EXPECT_EQ(ParseInteger("42"), 42);
  EXPECT_EQ(ParseInteger("-42"), -42);
  EXPECT_EQ(ParseInteger("+7"), 7);
  EXPECT_EQ(ParseInteger("  12 "), 12);
  EXPECT_EQ(ParseInteger("007"), 7);
  EXPECT_EQ(ParseInteger("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInteger("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  for (const char* s :
       {"9223372036854775808", "", " ", "+", "-", "+-1", "5.0", "1e3", "0x10", "1,000", "1 2", "abc", "12a", "--1"}) {
    EXPECT_FALSE(ParseInteger(s)) << "'" << s << "'";
  }
}

TEST(ParseNumberTest, DecimalScientificAndInfinity) {
  EXPECT_EQ(ParseNumber("1"), 1.0);
  EXPECT_EQ(ParseNumber("-2.5"), -2.5);
  EXPECT_EQ(ParseNumber("+2.5"), 2.5);
  EXPECT_EQ(ParseNumber(".5"), 0.5);
  EXPECT_EQ(ParseNumber("5."), 5.0);
  EXPECT_EQ(ParseNumber("1e-3"), 0.001);
  EXPECT_EQ(ParseNumber("1.5E+2"), 150.0);
  EXPECT_EQ(ParseNumber(" 3.25 "), 3.25);
  EXPECT_EQ(ParseNumber("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseNumber("-inf"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseNumber("Infinity"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseNumber("1e-400"), 0.0);  // underflow rounds to zero, like strtod
  for (const char* s : {"", "-", ".", "e5", "1e", "1e400", "nan", "NaN", "NAN", "0x1p3", "1,5", "1.2.3", "abc", "++1",
                        "+-1", "- 1", "infx"}) {
    EXPECT_FALSE(ParseNumber(s)) << "'" << s << "'";
  }
}

TEST(ParseBooleanTest, TrueFalseAnyCaseNotDigits) {
  EXPECT_EQ(ParseBoolean("true"), true);
  EXPECT_EQ(ParseBoolean("TRUE"), true);
  EXPECT_EQ(ParseBoolean(" False "), false);
  for (const char* s : {"0", "1", "yes", "no", "t", "f", "truth", ""}) EXPECT_FALSE(ParseBoolean(s)) << s;
}

int64_t Micros(const char* s, DateOrder order = DateOrder::kMonthFirst) {
  auto t = ParseDatetime(s, order);
  EXPECT_TRUE(t) << s;
  return t ? t->micros : -1;
}

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t k20240131 = 19753 * kDay;  // days from 1970-01-01 to 2024-01-31

TEST(ParseDatetimeTest, IsoForms) {
  EXPECT_EQ(Micros("2024-01-31"), k20240131);
  EXPECT_FALSE(ParseDatetime("2024-01-31", DateOrder::kMonthFirst)->has_time);
  EXPECT_EQ(Micros("2024-01-31T12:34"), k20240131 + (12 * 3600 + 34 * 60) * 1'000'000LL);
  EXPECT_TRUE(ParseDatetime("2024-01-31T00:00", DateOrder::kMonthFirst)->has_time);
  EXPECT_EQ(Micros("2024-01-31T12:34:56"), k20240131 + (12 * 3600 + 34 * 60 + 56) * 1'000'000LL);
  EXPECT_EQ(Micros("2024-01-31 12:34:56"), Micros("2024-01-31T12:34:56"));
  EXPECT_EQ(Micros("2024-01-31T12:34:56.5"), Micros("2024-01-31T12:34:56") + 500'000);
  EXPECT_EQ(Micros("2024-01-31T12:34:56.123456"), Micros("2024-01-31T12:34:56") + 123'456);
  EXPECT_EQ(Micros("2024-01-31T12:34:56.123456789"), Micros("2024-01-31T12:34:56") + 123'456);
  EXPECT_EQ(Micros("2024-01-31T12:34:56Z"), Micros("2024-01-31T12:34:56"));
  EXPECT_EQ(Micros("2024-01-31T12:34:56+02:00"), Micros("2024-01-31T10:34:56"));
  EXPECT_EQ(Micros("2024-01-31T12:34:56-0130"), Micros("2024-01-31T14:04:56"));
  EXPECT_EQ(Micros("2024-01-31T01:00+05"), Micros("2024-01-30T20:00"));
  EXPECT_EQ(Micros("1969-12-31"), -kDay);
  EXPECT_EQ(Micros("1970-01-01T00:00:00Z"), 0);
}

TEST(ParseDatetimeTest, OtherForms) {
  EXPECT_EQ(Micros("2024/01/31"), k20240131);
  EXPECT_EQ(Micros("2024/1/31"), k20240131);
  EXPECT_EQ(Micros("01/31/2024"), k20240131);
  EXPECT_EQ(Micros("1/31/2024"), k20240131);
  EXPECT_EQ(Micros("31/01/2024", DateOrder::kDayFirst), k20240131);
  EXPECT_FALSE(ParseDatetime("31/01/2024", DateOrder::kMonthFirst));
  EXPECT_FALSE(ParseDatetime("01/31/2024", DateOrder::kDayFirst));
  EXPECT_EQ(Micros("31.01.2024"), k20240131);
  EXPECT_EQ(Micros("31.01.2024", DateOrder::kDayFirst), k20240131);
  EXPECT_EQ(Micros("01/31/2024 12:34"), Micros("2024-01-31T12:34"));
  EXPECT_EQ(Micros("01/31/2024 9:05:01.25"), Micros("2024-01-31T09:05:01.25"));
  EXPECT_EQ(Micros("31.01.2024 23:59:59"), Micros("2024-01-31T23:59:59"));
}

TEST(ParseDatetimeTest, RangesAreChecked) {
  EXPECT_TRUE(ParseDatetime("2024-02-29", DateOrder::kMonthFirst));  // leap year
  EXPECT_TRUE(ParseDatetime("2000-02-29", DateOrder::kMonthFirst));  // divisible by 400
  for (const char* s : {"2023-02-29",
                        "1900-02-29",
                        "2024-04-31",
                        "2024-13-01",
                        "2024-00-10",
                        "2024-01-00",
                        "2024-01-32",
                        "2024-01-31T24:00",
                        "2024-01-31T12:60",
                        "2024-01-31T12:00:60",
                        "2024-01-31T12:00+19:00",
                        "2024-1-31",
                        "2024-01-31T",
                        "2024-01-31 12",
                        "2024-01-31T12:3",
                        "2024-01-31x",
                        "2024-01-31T12:00:00.",
                        "2024-01-31T12:00:00.1234567890",
                        "20240131",
                        "13/13/2024",
                        "2024.01.31",
                        "31-01-2024",
                        "hello",
                        "",
                        "2024-01-31Z",
                        "12.5"}) {
    EXPECT_FALSE(ParseDatetime(s, DateOrder::kMonthFirst)) << s;
  }
}

TEST(ParseDatetimeTest, EitherOrderSaysWhichOrdersFit) {
  auto a = ParseDatetimeEitherOrder("13/01/2024");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->month_first);
  EXPECT_TRUE(a->day_first);
  auto b = ParseDatetimeEitherOrder("01/13/2024");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->month_first);
  EXPECT_FALSE(b->day_first);
  auto c = ParseDatetimeEitherOrder("02/03/2024");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->month_first && c->day_first);
  auto d = ParseDatetimeEitherOrder("2024-01-31");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->month_first && d->day_first);
  EXPECT_FALSE(ParseDatetimeEitherOrder("13/13/2024"));
}

TEST(ValueParserTest, ConvertsEachType) {
  ColumnChunk ints(ColumnType::kInteger);
  ValueParser ip(ColumnSchema{"a", ColumnType::kInteger, {}});
  EXPECT_TRUE(ip.Append(ints, "5"));
  EXPECT_TRUE(ip.Append(ints, "NA"));
  EXPECT_FALSE(ip.Append(ints, "5.0"));
  ASSERT_EQ(ints.size(), 3u);
  EXPECT_EQ(ints.ints[0], 5);
  EXPECT_FALSE(ints.IsValid(1));
  EXPECT_FALSE(ints.IsValid(2));

  ColumnChunk nums(ColumnType::kNumber);
  ValueParser np(ColumnSchema{"b", ColumnType::kNumber, {}});
  EXPECT_TRUE(np.Append(nums, "5"));
  EXPECT_TRUE(np.Append(nums, "2.5e1"));
  EXPECT_FALSE(np.Append(nums, "x"));
  EXPECT_EQ(nums.doubles[1], 25.0);
  EXPECT_EQ(nums.size(), 3u);

  ColumnChunk bools(ColumnType::kBoolean);
  ValueParser bp(ColumnSchema{"c", ColumnType::kBoolean, {}});
  EXPECT_TRUE(bp.Append(bools, "True"));
  EXPECT_TRUE(bp.Append(bools, "0"));
  EXPECT_FALSE(bp.Append(bools, "2"));
  EXPECT_EQ(bools.ints[0], 1);
  EXPECT_EQ(bools.ints[1], 0);

  ColumnChunk dates(ColumnType::kDate);
  ValueParser dp(ColumnSchema{"d", ColumnType::kDate, {}}, DateOrder::kDayFirst);
  EXPECT_TRUE(dp.Append(dates, "31/01/2024"));
  EXPECT_TRUE(dp.Append(dates, "2024-01-31 00:00"));
  EXPECT_FALSE(dp.Append(dates, "2024-01-31 12:00"));
  EXPECT_EQ(dates.ints[0], k20240131);

  ColumnChunk times(ColumnType::kDatetime);
  ValueParser tp(ColumnSchema{"e", ColumnType::kDatetime, {}});
  EXPECT_TRUE(tp.Append(times, "2024-01-31"));
  EXPECT_TRUE(tp.Append(times, "2024-01-31T00:00:01Z"));
  EXPECT_EQ(times.ints[1], k20240131 + 1'000'000);

  ColumnChunk text(ColumnType::kText);
  ValueParser xp(ColumnSchema{"f", ColumnType::kText, {}});
  EXPECT_TRUE(xp.Append(text, " anything "));
  EXPECT_TRUE(xp.Append(text, "null"));
  EXPECT_EQ(text.Text(0), " anything ");
  EXPECT_FALSE(text.IsValid(1));
}

TEST(ValueParserTest, CategoriesMapThroughTheDictionary) {
  ColumnSchema schema{"g", ColumnType::kCategory, {"red", "green"}};
  ColumnChunk chunk(ColumnType::kCategory);
  ValueParser fixed(schema);
  EXPECT_TRUE(fixed.Append(chunk, "green"));
  EXPECT_TRUE(fixed.Append(chunk, "red"));
  EXPECT_FALSE(fixed.Append(chunk, "blue"));
  EXPECT_TRUE(fixed.Append(chunk, ""));
  EXPECT_EQ(chunk.codes, (std::vector<uint32_t>{1, 0, 0, 0}));
  EXPECT_EQ(chunk.valid, (std::vector<uint8_t>{1, 1, 0, 0}));
  EXPECT_EQ(fixed.categories().size(), 2u);

  ColumnChunk more(ColumnType::kCategory);
  ValueParser growing(schema, DateOrder::kMonthFirst, true);
  EXPECT_TRUE(growing.Append(more, "blue"));
  EXPECT_TRUE(growing.Append(more, "red"));
  EXPECT_TRUE(growing.Append(more, "blue"));
  EXPECT_EQ(more.codes, (std::vector<uint32_t>{2, 0, 2}));
  EXPECT_EQ(growing.categories(), (std::vector<std::string>{"red", "green", "blue"}));
}

}  // namespace
// Plain decimals must read exactly as from_chars reads them, bit for bit, on both sides of the
// limits of exact reading (2^53, 19 digits, 22 decimals).
TEST(ParseNumberTest, PlainDecimalsAreCorrectlyRounded) {
  std::mt19937_64 rng(7);
  auto check = [](const std::string& s) {
    double want = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
    ASSERT_EQ(ec, std::errc()) << s;
    ASSERT_EQ(ptr, s.data() + s.size()) << s;
    auto got = ParseNumber(s);
    ASSERT_TRUE(got) << s;
    EXPECT_EQ(std::memcmp(&*got, &want, sizeof want), 0) << s << ": " << *got << " vs " << want;
  };
  for (int i = 0; i < 200000; ++i) {
    int digits = 1 + static_cast<int>(rng() % 24);
    std::string d;
    for (int k = 0; k < digits; ++k) d += static_cast<char>('0' + rng() % 10);
    auto point = static_cast<size_t>(rng() % (d.size() + 1));
    std::string s = (rng() % 2 != 0 ? "-" : "") + d.substr(0, point) + "." + d.substr(point);
    check(s);
    check(d);
  }
  for (const char* s : {"9007199254740992", "9007199254740993", "9007199254740993.0", "0.9007199254740993",
                        "1.0000000000000000000001", "0.0000000000000000000001", "0.00000000000000000000001", "-0.0",
                        "0", "0.1", "0.3", "123456789012345678.9", "9999999999999999999"}) {
    check(s);
  }
  EXPECT_TRUE(std::signbit(*ParseNumber("-0.0")));
  for (const char* s : {".", "-.", "1.2.3", "1..2", "--1", "+-1", "1-", "1 .2"}) {
    EXPECT_FALSE(ParseNumber(s)) << "'" << s << "'";
  }
}

TEST(ParseIntegerTest, ShortAndLongAgreeWithFromChars) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    int digits = 1 + static_cast<int>(rng() % 20);
    std::string s = rng() % 2 != 0 ? "-" : "";
    for (int k = 0; k < digits; ++k) s += static_cast<char>('0' + rng() % 10);
    int64_t want = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
    auto got = ParseInteger(s);
    if (ec == std::errc() && ptr == s.data() + s.size()) {
      EXPECT_EQ(got, want) << s;
    } else {
      EXPECT_FALSE(got) << s;
    }
  }
}

// Short strings are read as words that must still see every byte: strings of each length up to
// 8 that differ in one byte give different words, and equal ones (at other addresses) the same;
// the hash, which reads longer strings 8 bytes at a time, sees every byte up to 12.
TEST(ShortWordTest, EveryByteCounts) {
  for (size_t n = 0; n <= 12; ++n) {
    std::string a(n, 'a');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i);
    std::string copy = a;
    if (n <= 8) {
      EXPECT_EQ(ShortWord(a.data(), n), ShortWord(copy.data(), n)) << n;
    }
    EXPECT_EQ(ShortStringHash{}(a), ShortStringHash{}(copy)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = 'z';
      if (n <= 8) {
        EXPECT_NE(ShortWord(a.data(), n), ShortWord(b.data(), n)) << n << " " << i;
      }
      EXPECT_NE(ShortStringHash{}(a), ShortStringHash{}(b)) << n << " " << i;
    }
  }
}

// YYYY-MM-DD has a fast path; with a time of 00:00 the same date takes the general one.
TEST(ParseDatetimeTest, IsoDatesAgreeWithTheGeneralParser) {
  char buf[32];
  for (int y : {0, 1, 1600, 1899, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999}) {
    for (int m = 0; m <= 13; ++m) {
      for (int d = 0; d <= 32; ++d) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
        std::string date = buf;
        auto fast = ParseDatetime(date, DateOrder::kMonthFirst);
        auto general = ParseDatetime(date + " 00:00", DateOrder::kMonthFirst);
        ASSERT_EQ(fast.has_value(), general.has_value()) << date;
        if (fast) {
          EXPECT_EQ(fast->micros, general->micros) << date;
          EXPECT_FALSE(fast->has_time);
        }
        auto either = ParseDatetimeEitherOrder(" " + date);
        ASSERT_EQ(either.has_value(), general.has_value()) << date;
        if (either) {
          EXPECT_EQ(either->time.micros, general->micros);
          EXPECT_TRUE(either->month_first && either->day_first);
        }
      }
    }
  }
}

}  // namespace playground::data
