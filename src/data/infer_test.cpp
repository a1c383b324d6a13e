#include "data/infer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace playground::data {
namespace {

TypeInferrer Feed(std::initializer_list<const char*> values, InferOptions options = {}) {
  TypeInferrer inferrer(options);
  for (const char* v : values) inferrer.Add(v);
  return inferrer;
}

ColumnType TypeOf(std::initializer_list<const char*> values) { return Feed(values).Result("x").type; }

// Calls check(options, values, inferrer given every value) for each column, with the default caps
// and with a cap of 4 levels.
template <typename Check>
void ForEachColumn(const std::vector<std::vector<const char*>>& columns, const Check& check) {
  InferOptions small;
  small.max_category_levels = 4;
  for (const InferOptions& options : {InferOptions{}, small}) {
    for (const auto& values : columns) {
      TypeInferrer whole(options);
      for (const char* v : values) whole.Add(v);
      check(options, values, whole);
    }
  }
}

TEST(TypeInferrerTest, TheRuleInOrder) {
  EXPECT_EQ(TypeOf({}), ColumnType::kText);
  EXPECT_EQ(TypeOf({"", "NA", "null"}), ColumnType::kText);
  EXPECT_EQ(TypeOf({"1", "2", "", "-3"}), ColumnType::kInteger);
  EXPECT_EQ(TypeOf({"0", "1", "1", "0"}), ColumnType::kInteger);  // not boolean, as in pandas
  EXPECT_EQ(TypeOf({"1", "2.5", "NaN"}), ColumnType::kNumber);
  EXPECT_EQ(TypeOf({"5.0", "6.0"}), ColumnType::kNumber);
  EXPECT_EQ(TypeOf({"true", "FALSE", "True"}), ColumnType::kBoolean);
  EXPECT_EQ(TypeOf({"2024-01-31", "2024-02-01"}), ColumnType::kDate);
  EXPECT_EQ(TypeOf({"2024-01-31", "2024-02-01T10:00"}), ColumnType::kDatetime);
  EXPECT_EQ(TypeOf({"a", "b", "a", "b"}), ColumnType::kCategory);
  EXPECT_EQ(TypeOf({"a", "b", "c"}), ColumnType::kText);  // values do not repeat
  EXPECT_EQ(TypeOf({"1", "x", "1", "x"}), ColumnType::kCategory);
  EXPECT_EQ(TypeOf({"true", "1", "true", "1"}), ColumnType::kCategory);
}

TEST(TypeInferrerTest, CountsAndMissing) {
  TypeInferrer t = Feed({"1", "", "NA", "2"});
  EXPECT_EQ(t.count(), 4);
  EXPECT_EQ(t.missing(), 2);
}

TEST(TypeInferrerTest, DateOrder) {
  TypeInferrer month_first = Feed({"01/31/2024", "02/03/2024"});
  EXPECT_EQ(month_first.Result("d").type, ColumnType::kDate);
  EXPECT_EQ(month_first.date_order(), DateOrder::kMonthFirst);
  TypeInferrer ambiguous = Feed({"01/02/2024", "02/03/2024"});
  EXPECT_EQ(ambiguous.date_order(), DateOrder::kMonthFirst);
  TypeInferrer day_first = Feed({"02/03/2024", "31/01/2024", "2024-01-01"});
  EXPECT_EQ(day_first.Result("d").type, ColumnType::kDate);
  EXPECT_EQ(day_first.date_order(), DateOrder::kDayFirst);
  // 31/01 needs day first, 01/31 month first: no order fits every value.
  EXPECT_EQ(TypeOf({"31/01/2024", "01/31/2024"}), ColumnType::kText);
  EXPECT_EQ(TypeOf({"31/01/2024", "01/31/2024", "31/01/2024", "01/31/2024"}), ColumnType::kCategory);
}

TEST(TypeInferrerTest, CategoryInOrderOfFirstAppearance) {
  ColumnSchema s = Feed({"low", "high", "", "low", "mid", "high", "high", "low"}).Result("level");
  EXPECT_EQ(s.name, "level");
  ASSERT_EQ(s.type, ColumnType::kCategory);
  EXPECT_EQ(s.categories, (std::vector<std::string>{"low", "high", "mid"}));
}

// Values whose first bytes or lengths agree are still different levels: "a" and "aaa" read as
// the same three bytes, and the long ones share their first eight.
TEST(TypeInferrerTest, LevelsThatLookAlike) {
  TypeInferrer inferrer;
  std::vector<std::string_view> values = {"a",        "aaa",      "aa", "abcdefghX", "abcdefghY",
                                          "abcdefgh", "abcdefgh", "a",  "abcdefghY", "aaa"};
  std::vector<uint32_t> codes;
  for (std::string_view v : values) codes.push_back(inferrer.AddLevel(v));
  EXPECT_EQ(codes, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 5, 0, 4, 1}));
  EXPECT_EQ(inferrer.levels(), (std::deque<std::string>{"a", "aaa", "aa", "abcdefghX", "abcdefghY", "abcdefgh"}));
}

TEST(TypeInferrerTest, LevelCapMakesText) {
  InferOptions options;
  options.max_category_levels = 3;
  TypeInferrer capped(options);
  for (int rep = 0; rep < 10; ++rep) {
    for (const char* v : {"a", "b", "c", "d"}) capped.Add(v);
  }
  EXPECT_EQ(capped.Result("x").type, ColumnType::kText);
  TypeInferrer fits(options);
  for (int rep = 0; rep < 10; ++rep) {
    for (const char* v : {"a", "b", "c"}) fits.Add(v);
  }
  EXPECT_EQ(fits.Result("x").type, ColumnType::kCategory);
}

TEST(TypeInferrerTest, ByteCapMakesText) {
  InferOptions options;
  options.max_category_bytes = 1000;
  TypeInferrer t(options);
  std::string big(2000, 'x');
  for (int i = 0; i < 4; ++i) t.Add(big);
  EXPECT_EQ(t.Result("x").type, ColumnType::kText);
}

TEST(TypeInferrerTest, ManyDistinctNumbersStayNumbers) {
  TypeInferrer t;
  for (int i = 0; i < 100000; ++i) t.Add(std::to_string(i));
  EXPECT_EQ(t.Result("x").type, ColumnType::kInteger);
  t.Add("1.5");
  EXPECT_EQ(t.Result("x").type, ColumnType::kNumber);
  t.Add("word");
  EXPECT_EQ(t.Result("x").type, ColumnType::kText);
}

TEST(TypeInferrerTest, EveryAcceptedValueConverts) {
  // The inferred schema and ValueParser agree: nothing that inference accepted is rejected.
  const std::vector<std::vector<const char*>> columns = {
      {"1", " 2 ", "+3", "NA"},     {"1", "2.5", "-inf", ""},    {"true", "False", "null"},
      {"2024-01-31", "31.01.2024"}, {"13/01/2024 10:00", "N/A"}, {"x", "y", "x", "y", "None"},
  };
  for (const auto& values : columns) {
    TypeInferrer t;
    for (const char* v : values) t.Add(v);
    ColumnSchema s = t.Result("c");
    ValueParser parser(s, t.date_order());
    ColumnChunk chunk(s.type);
    for (const char* v : values) EXPECT_TRUE(parser.Append(chunk, v)) << v << " as " << TypeName(s.type);
  }
}

TEST(TypeInferrerTest, IsMovable) {
  std::vector<TypeInferrer> columns;
  for (int i = 0; i < 50; ++i) {
    columns.emplace_back();
    columns.back().Add("a");
    columns.back().Add("a");
  }
  for (auto& c : columns) c.Add("a");
  EXPECT_EQ(columns[0].Result("x").categories, std::vector<std::string>{"a"});
}

}  // namespace
// Inferrers of consecutive parts of a column, merged, decide exactly what one inferrer given every
// field decides: type, dictionary order, date order, counts, wherever the column is cut.
TEST(TypeInferrerTest, MergedPartsEqualOnePass) {
  std::vector<std::vector<const char*>> columns = {
      {"1", "2", "", "x", "3"},
      {"1", "2.5", "NA", "3"},
      {"b", "a", "b", "c", "a", "a", "d", "b"},
      {"01/02/2024", "13/02/2024", "02/01/2024", "x"},
      {"01/02/2024", "02/13/2024", "13/02/2024", "01/01/2024"},
      {"01/02/2024", "13/02/2024", "01/02/2024 10:00", "2024-01-01"},
      {"2024-01-31", "", "2024-02-01T10:00", "true"},
      {"true", "false", "1", "TRUE"},
      {"a", "b", "c", "d", "e", "a", "b", "f"},
  };
  ForEachColumn(columns, [](const InferOptions& options, const auto& values, const TypeInferrer& whole) {
    for (size_t cut1 = 0; cut1 <= values.size(); ++cut1) {
      for (size_t cut2 = cut1; cut2 <= values.size(); ++cut2) {
        TypeInferrer a(options);
        TypeInferrer b(options);
        TypeInferrer c(options);
        for (size_t i = 0; i < values.size(); ++i) (i < cut1 ? a : i < cut2 ? b : c).Add(values[i]);
        a.Merge(b);
        a.Merge(c);
        ColumnSchema want = whole.Result("x");
        ColumnSchema got = a.Result("x");
        EXPECT_EQ(got.type, want.type) << values[0] << " cut at " << cut1 << ", " << cut2;
        EXPECT_EQ(got.categories, want.categories) << values[0] << " cut at " << cut1 << ", " << cut2;
        EXPECT_EQ(a.date_order(), whole.date_order()) << values[0] << " cut at " << cut1 << ", " << cut2;
        EXPECT_EQ(a.count(), whole.count());
        EXPECT_EQ(a.missing(), whole.missing());
      }
    }
  });
}

}  // namespace playground::data

namespace playground::data {
namespace {

// A run of fields given to a ColumnGuess, restarting as the guess asks.
ColumnGuess Guess(const std::vector<const char*>& values, InferOptions options = {}) {
  ColumnGuess guess(options);
  for (size_t i = 0; i < values.size(); ++i) {
    if (guess.Add(values[i])) continue;
    guess.Restart();
    for (size_t j = 0; j <= i; ++j) EXPECT_TRUE(guess.Add(values[j]));
  }
  guess.Finish();
  return guess;
}

// A guess infers what TypeInferrer infers and, when its chunk is of that type (dates as datetimes,
// integers turned to numbers), holds what ValueParser converts.
TEST(ColumnGuessTest, InfersAndConvertsAsTheInferrerAndTheParser) {
  std::vector<std::vector<const char*>> columns = {
      {"1", " 2 ", "+3", "NA", "-0"},
      {"1", "-0", "2.5", "-inf", "", "7"},
      {"true", "False", "null"},
      {"2024-01-31", "31.01.2024", "2024-02-01 10:00"},
      {"03/04/2024", "", "05/05/2024"},
      {"03/04/2024", "2024-01-31", "", "2024-02-29", " 2024-03-01 ", "12/31/2024"},
      {"TRUE", "false", "", "True", " false"},
      {"x", "y", "x", "y", "None"},
      {"", "", "1", "2", "x", "1", "x"},
      {"2024-01-31", "true", "2024-01-31"},
      {"a", "b", "c", "d", "e", "a", "b", "f"},
      {"", "NA"},
  };
  ForEachColumn(columns, [](const InferOptions& options, const auto& values, const TypeInferrer& whole) {
    ColumnSchema want = whole.Result("x");
    ColumnGuess guess = Guess(values, options);
    ColumnSchema got = guess.inferrer().Result("x");
    EXPECT_EQ(got.type, want.type) << values[0];
    EXPECT_EQ(got.categories, want.categories) << values[0];
    EXPECT_EQ(guess.inferrer().count(), whole.count());
    EXPECT_EQ(guess.inferrer().missing(), whole.missing());

    ColumnChunk& chunk = guess.chunk();
    if (chunk.type == ColumnType::kInteger && want.type == ColumnType::kNumber) guess.ToNumbers();
    if (chunk.type == ColumnType::kCategory && want.type == ColumnType::kText) guess.ToText();
    bool dates = want.type == ColumnType::kDate || want.type == ColumnType::kDatetime;
    if (dates && chunk.type == ColumnType::kDatetime) chunk.type = want.type;
    if (chunk.type != want.type) return;  // ingestion reads such a file in two passes
    ValueParser parser(want, whole.date_order());
    ColumnChunk expected(want.type);
    for (const char* v : values) ASSERT_TRUE(parser.Append(expected, v));
    EXPECT_EQ(chunk.valid, expected.valid) << values[0];
    EXPECT_EQ(chunk.ints, expected.ints) << values[0];
    EXPECT_EQ(chunk.codes, expected.codes) << values[0];
    EXPECT_EQ(chunk.bytes, expected.bytes) << values[0];
    EXPECT_EQ(chunk.ends, expected.ends) << values[0];
    ASSERT_EQ(chunk.doubles.size(), expected.doubles.size());
    for (size_t i = 0; i < chunk.doubles.size(); ++i) {
      EXPECT_EQ(std::signbit(chunk.doubles[i]), std::signbit(expected.doubles[i])) << values[0] << " row " << i;
      EXPECT_EQ(chunk.doubles[i], expected.doubles[i]) << values[0] << " row " << i;
    }
  });
}

// AddMany over a column of a block (every third field here) adds what Add one field at a time
// does, and stops where Add would return false.
TEST(ColumnGuessTest, AddManyAddsAsAddDoes) {
  std::vector<std::vector<std::string>> columns = {
      {"1", "-0", "NA", "7", "2.5", "-0", "", "-inf", "8"},
      {"1", "2", "x", "3"},
      {"0.5", "", "2", "1e3", "y", "4"},
      {"a", "b", "", "a", "1"},
      {"", "", "true", "FALSE", "null"},
  };
  for (const auto& values : columns) {
    std::vector<std::string_view> block;
    for (const auto& v : values) block.insert(block.end(), {"pad", v, "pad"});
    ColumnGuess one;
    size_t stop = values.size();
    for (size_t i = 0; i < values.size() && stop == values.size(); ++i) {
      if (!one.Add(values[i])) stop = i;
    }
    ColumnGuess many;
    ASSERT_EQ(many.AddMany(block.data() + 1, 3, values.size()), stop) << values[0];
    EXPECT_EQ(many.chunk().type, one.chunk().type) << values[0];
    EXPECT_EQ(many.chunk().valid, one.chunk().valid) << values[0];
    EXPECT_EQ(many.chunk().ints, one.chunk().ints) << values[0];
    EXPECT_EQ(many.chunk().codes, one.chunk().codes) << values[0];
    ASSERT_EQ(many.chunk().doubles.size(), one.chunk().doubles.size()) << values[0];
    for (size_t i = 0; i < one.chunk().doubles.size(); ++i) {
      EXPECT_EQ(std::signbit(many.chunk().doubles[i]), std::signbit(one.chunk().doubles[i])) << values[0] << " " << i;
      EXPECT_EQ(many.chunk().doubles[i], one.chunk().doubles[i]) << values[0] << " " << i;
    }
    EXPECT_EQ(many.inferrer().count(), one.inferrer().count()) << values[0];
    EXPECT_EQ(many.inferrer().missing(), one.inferrer().missing()) << values[0];
  }
  // After the caller restarts a run that turned to strings, AddMany takes every field.
  std::vector<std::string_view> turned = {"1", "2", "x", "1", "2", "x"};
  ColumnGuess guess;
  ASSERT_EQ(guess.AddMany(turned.data(), 1, turned.size()), 2U);
  guess.Restart();
  EXPECT_EQ(guess.AddMany(turned.data(), 1, turned.size()), turned.size());
  guess.Finish();
  EXPECT_EQ(guess.inferrer().Result("x").type, ColumnType::kCategory);
}

TEST(ColumnGuessTest, FlagsDatesThatReadDifferentlyDayFirst) {
  EXPECT_TRUE(Guess({"03/04/2024"}).month_first_differs());
  EXPECT_FALSE(Guess({"05/05/2024", "2024-01-02", "13/01/2024"}).month_first_differs());
}

}  // namespace
}  // namespace playground::data
