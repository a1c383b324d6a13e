// What text counts as a value of each column type: the one definition that type inference, the
// conversion of uploaded files into row groups, appended rows and type overrides all share, so
// that a value inference accepted can always be converted, and the other way round.
//
// Every function here accepts surrounding ASCII spaces and tabs, and none allocates.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/types.h"

namespace playground::data {

// The text without leading and trailing spaces and tabs. Inline: it runs several times per field.
inline std::string_view TrimSpaces(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

// True for a missing value: the empty string (after trimming spaces and tabs) and exactly these
// spellings: NA, N/A, null, NULL, NaN, nan, None. Other letter cases ("Null", "NONE") are values.
bool IsMissing(std::string_view s);

// A decimal integer: an optional sign and digits, nothing else ("5.0", "1e3", "0x10" and "1,000"
// are not integers, as in pandas). nullopt when it does not fit in 64 bits.
//
// ParseInteger and ParseNumber also come as `bool Parse...(s, out)`, for the loops that parse
// every field of a file: GCC returns the optional through memory, storing its flag byte and
// loading it back as a wider word, a store-forwarding stall on every call (perf put half of
// ParseNumber's own time there).
bool ParseInteger(std::string_view s, int64_t& out);
inline std::optional<int64_t> ParseInteger(std::string_view s) {
  int64_t v = 0;
  return ParseInteger(s, v) ? std::optional<int64_t>(v) : std::nullopt;
}

// A decimal number in plain or scientific notation ("1", "-2.5", ".5", "5.", "1e-3"), or an
// infinity ("inf", "-inf", "infinity" in any letter case). "nan" in any spelling is not a number:
// the usual spellings are missing values (IsMissing), and the others are text.
bool ParseNumber(std::string_view s, double& out);
inline std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  return ParseNumber(s, v) ? std::optional<double>(v) : std::nullopt;
}

// "true" or "false" in any letter case. 0 and 1 are integers, as in pandas.
std::optional<bool> ParseBoolean(std::string_view s);

// How to read NN/NN/YYYY dates. DD.MM.YYYY is always day first.
enum class DateOrder : uint8_t { kMonthFirst, kDayFirst };

struct ParsedTime {
  int64_t micros = 0;     // since the Unix epoch, UTC
  bool has_time = false;  // a time of day was written (even 00:00)
};

// A date or a date and time, in one of these forms:
//   YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY or DD/MM/YYYY (per `order`; 1- or 2-digit month and day),
//   DD.MM.YYYY (day first whatever `order` says),
// each optionally followed by a time: "T" (ISO form only) or a space, then H:MM or HH:MM,
// optionally :SS, optionally a fraction of a second (.f up to 9 digits; digits beyond
// microseconds are dropped), optionally Z or an offset +hh, +hh:mm or +hhmm (or -), which
// converts the time to UTC. Ranges are checked: month 1-12, the day within its month (leap years
// included), hour < 24, minute and second < 60, offsets within 18 hours.
std::optional<ParsedTime> ParseDatetime(std::string_view s, DateOrder order);

// YYYY-MM-DD alone, the form most date columns use: what ParseDatetime reads for it (midnight
// UTC of the day), without the general parser. False for anything else, including an invalid
// date and the other forms of a date.
bool ParseIsoDate(std::string_view s, int64_t& micros);

// For type inference: parses `s` under either date order and says which orders it fits. Both are
// true for every form but an NN/NN/YYYY date whose first two fields are both 12 or less or that
// only one order makes a valid date (e.g. 13/01/2024 fits only day first). `time` is the value
// under month first when it fits, else under day first.
struct DatetimeFit {
  ParsedTime time;
  bool month_first = false;
  bool day_first = false;
  bool orders_differ = false;  // both orders fit and give different times (03/04/2024)
};
std::optional<DatetimeFit> ParseDatetimeEitherOrder(std::string_view s);

// The bytes of a string of at most 8 (`n`) as one word, distinct for distinct strings of the
// same length: two overlapping 4-byte loads, or for under 4 bytes the first, middle and last.
// Never a load per byte: bytes stored one by one and read back as a word stall the CPU, and the
// category lookups (the hash below, TypeInferrer's slots) run for every category field.
inline uint64_t ShortWord(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t head = 0;
    uint32_t tail = 0;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return (static_cast<uint64_t>(head) << 32) | tail;
  }
  if (n == 0) return 0;
  return (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
         (static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8) | static_cast<uint8_t>(p[n - 1]);
}

// A multiply-xor hash eight bytes at a time, for the tables of distinct values that inference
// and conversion look every field up in: category values are short, and for them this is
// several times cheaper than std::hash. The tables hold at most a few thousand values, so a
// weaker hash cannot make a lookup much slower. Only in memory: no hash is ever stored.
struct ShortStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    uint64_t h = s.size() * kMul;
    const char* p = s.data();
    size_t n = s.size();
    for (; n > 8; p += 8, n -= 8) {
      uint64_t w = 0;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    h = (h ^ ShortWord(p, n)) * kMul;
    return static_cast<size_t>(h ^ (h >> 32));
  }
};

// Converts the text of one column, whose type is already known, into a ColumnChunk.
//
// What fits each type: integer: ParseInteger; number: ParseNumber; boolean: ParseBoolean, and also
// the integers 0 and 1 (so that a 0/1 column that inference called integer can be overridden to
// boolean); date: ParseDatetime without a time of day or with 00:00 (a time of day does not fit a
// date); datetime: ParseDatetime; category: a value of the dictionary (see below); text: anything.
// Missing values (IsMissing) fit every type.
//
// Thread-compatible. Use one per column and thread; a category parser that may add categories
// must not be shared across threads that convert parts of the same file.
class ValueParser {
 public:
  // For kCategory, the schema's categories are the dictionary; a value not in it is added at the
  // end when `allow_new_categories` (appending rows), else it does not fit.
  explicit ValueParser(const ColumnSchema& schema, DateOrder order = DateOrder::kMonthFirst,
                       bool allow_new_categories = false);

  // Appends `field` to `out` (whose type must be the schema's type): the value, or a missing slot
  // when IsMissing. Returns false when the text does not fit the type; a missing slot is then
  // appended, so that `out` keeps one slot per row, and the caller reports the row.
  bool Append(ColumnChunk& out, std::string_view field);

  ColumnType type() const { return type_; }
  // kCategory: the dictionary, including the values that Append added.
  const std::vector<std::string>& categories() const { return categories_; }

 private:
  bool AppendCategory(ColumnChunk& out, std::string_view field);

  ColumnType type_;
  DateOrder order_;
  bool allow_new_categories_;
  std::vector<std::string> categories_;
  std::unordered_map<std::string, uint32_t, ShortStringHash, std::equal_to<>> codes_;
};

}  // namespace playground::data
