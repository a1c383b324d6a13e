#include "data/values.h"

#include <array>
#include <charconv>
#include <chrono>
#include <system_error>

namespace playground::data {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil); the date
// must be valid.
int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return int64_t{era} * 146097 + static_cast<int64_t>(doe) - 719468;
}

// A plain decimal ("-123.4567", "42", ".5", "5.") of at most 19 digits whose digits, read as one
// integer, are at most 2^53: that integer and 10^decimals (up to 10^22) are exact doubles, so one
// division rounds the quotient correctly (Clinger's fast path), and the result is the double
// from_chars gives, bit for bit. False for anything else, which from_chars then reads. Written
// here because GCC 12's from_chars took about a quarter longer per number on the generated
// benchmark's numbers (17.8 against 14.0 ns), and numbers are most of a numeric file's fields.
bool PlainDecimal(std::string_view s, double& out) {
  static constexpr std::array<double, 23> kPowersOf10 = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                         1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                         1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* p = s.data();
  const char* const end = p + s.size();
  bool negative = p != end && *p == '-';
  if (negative) ++p;
  uint64_t digits_value = 0;
  const char* const first_digit = p;
  for (; p != end && IsDigit(*p); ++p) digits_value = digits_value * 10 + static_cast<unsigned>(*p - '0');
  size_t digits = static_cast<size_t>(p - first_digit);
  size_t decimals = 0;
  if (p != end && *p == '.') {
    const char* const first_decimal = ++p;
    for (; p != end && IsDigit(*p); ++p) digits_value = digits_value * 10 + static_cast<unsigned>(*p - '0');
    decimals = static_cast<size_t>(p - first_decimal);
    digits += decimals;
  }
  // 19 digits cannot overflow the integer; decimals <= 19 < 23 then indexes the table.
  if (p != end || digits == 0 || digits > 19 || digits_value > (uint64_t{1} << 53)) return false;
  double v = static_cast<double>(digits_value);
  if (decimals != 0) v /= kPowersOf10[decimals];
  out = negative ? -v : v;
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (Lower(s[i]) != lower[i]) return false;
  }
  return true;
}

// A cursor over the text of a date; every Read* advances only on success.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool AtEnd() const { return p_ == end_; }
  char Peek() const { return p_ == end_ ? '\0' : *p_; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++p_;
    return true;
  }
  // Reads min..max digits; returns the number read (0 when fewer than min).
  int ReadDigits(int min, int max, int* value) {
    int n = 0;
    int v = 0;
    while (n < max && p_ + n != end_ && IsDigit(p_[n])) {
      v = v * 10 + (p_[n] - '0');
      ++n;
    }
    if (n < min) return 0;
    p_ += n;
    *value = v;
    return n;
  }

 private:
  const char* p_;
  const char* end_;
};

struct Fields {
  int year = 0;
  int first = 0;   // YYYY-first forms: month; otherwise the first field of a NN/NN/YYYY date
  int second = 0;  // YYYY-first forms: day; otherwise the second field
  enum Form : uint8_t { kYearFirst, kSlash, kDot } form = kYearFirst;
  bool has_time = false;
  int64_t time_micros = 0;  // time of day minus the UTC offset
};

// The time part after the date: [T| ]H:MM[:SS[.f]][Z|+hh[:mm]]
bool ParseTime(Cursor& c, bool allow_t, Fields* f) {
  if (c.AtEnd()) return true;
  if (!(c.Consume(' ') || (allow_t && c.Consume('T')))) return false;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (c.ReadDigits(1, 2, &hour) == 0 || !c.Consume(':') || c.ReadDigits(2, 2, &minute) == 0) return false;
  int64_t fraction = 0;
  if (c.Consume(':')) {
    if (c.ReadDigits(2, 2, &second) == 0) return false;
    if (c.Consume('.') || c.Consume(',')) {
      int digits = 0;
      int64_t scale = 100'000;
      while (IsDigit(c.Peek())) {
        if (++digits > 9) return false;
        int d = 0;
        c.ReadDigits(1, 1, &d);
        fraction += d * scale;
        scale /= 10;
      }
      if (digits == 0) return false;
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  int64_t offset_minutes = 0;
  if (c.Consume('Z')) {
  } else if (c.Peek() == '+' || c.Peek() == '-') {
    int sign = c.Peek() == '-' ? -1 : 1;
    c.Consume(c.Peek());
    int oh = 0;
    int om = 0;
    if (c.ReadDigits(2, 2, &oh) == 0) return false;
    if (!c.AtEnd()) {
      c.Consume(':');
      if (c.ReadDigits(2, 2, &om) == 0) return false;
    }
    if (oh > 18 || om > 59) return false;
    offset_minutes = sign * (oh * 60 + om);
  }
  if (!c.AtEnd()) return false;
  f->has_time = true;
  f->time_micros = ((hour * 60 + minute - offset_minutes) * 60 + second) * kMicrosPerSecond + fraction;
  return true;
}

// Splits a date (and time) into fields without deciding the day/month order.
bool ParseFields(std::string_view s, Fields* f) {
  s = TrimSpaces(s);
  if (s.size() < 8 || !IsDigit(s[0])) return false;
  Cursor c(s);
  int a = 0;
  int n = c.ReadDigits(1, 4, &a);
  if (n == 4) {
    char sep = c.Peek();
    if (sep != '-' && sep != '/') return false;
    c.Consume(sep);
    int width = sep == '-' ? 2 : 1;  // ISO 8601 always writes two digits
    f->year = a;
    if (c.ReadDigits(width, 2, &f->first) == 0 || !c.Consume(sep) || c.ReadDigits(width, 2, &f->second) == 0) {
      return false;
    }
    f->form = Fields::kYearFirst;
    return ParseTime(c, sep == '-', f);
  }
  if (n == 0 || n > 2) return false;
  char sep = c.Peek();
  if (sep != '/' && sep != '.') return false;
  c.Consume(sep);
  f->first = a;
  if (c.ReadDigits(1, 2, &f->second) == 0 || !c.Consume(sep) || c.ReadDigits(4, 4, &f->year) == 0) return false;
  f->form = sep == '/' ? Fields::kSlash : Fields::kDot;
  return ParseTime(c, false, f);
}

std::optional<ParsedTime> Assemble(const Fields& f, int month, int day) {
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{f.year}, std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ParsedTime{days * kMicrosPerDay + f.time_micros, f.has_time};
}

}  // namespace

bool IsMissing(std::string_view s) {
  if (!s.empty() && s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t') {
    // The common case, a value that is not missing, decided by its length and first letter.
    if (s.size() > 4 || (s[0] != 'N' && s[0] != 'n')) return false;
  }
  s = TrimSpaces(s);
  switch (s.size()) {
    case 0: return true;
    case 2: return s == "NA";
    case 3: return s == "N/A" || s == "NaN" || s == "nan";
    case 4: return s == "null" || s == "NULL" || s == "None";
    default: return false;
  }
}

bool ParseInteger(std::string_view s, int64_t& out) {
  s = TrimSpaces(s);
  bool plus = !s.empty() && s[0] == '+';
  if (plus) s.remove_prefix(1);
  // from_chars (which checks the range) takes an optional '-', then digits.
  size_t digits_at = !plus && !s.empty() && s[0] == '-' ? 1 : 0;
  if (s.size() <= digits_at || !IsDigit(s[digits_at])) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseNumber(std::string_view s, double& out) {
  if (PlainDecimal(s, out)) return true;  // most numbers; the rest (spaces, a plus sign, ...) below
  s = TrimSpaces(s);
  size_t body = 0;
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
  } else if (!s.empty() && s[0] == '-') {
    body = 1;
  }
  if (s.size() <= body) return false;
  char first = s[body];
  if (!IsDigit(first) && first != '.') {
    std::string_view word = s.substr(body);
    if (!EqualsIgnoreCase(word, "inf") && !EqualsIgnoreCase(word, "infinity")) return false;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // Out of range: from_chars leaves v alone; a number too large to represent is not a number we
  // can store, and one too small rounds to zero like strtod.
  if (ec == std::errc::result_out_of_range && ptr == s.data() + s.size()) {
    size_t e = s.find_first_of("eE");
    bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    if (tiny) out = body == 1 ? -0.0 : 0.0;
    return tiny;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  out = v;
  return true;
}

std::optional<bool> ParseBoolean(std::string_view s) {
  s = TrimSpaces(s);
  if (EqualsIgnoreCase(s, "true")) return true;
  if (EqualsIgnoreCase(s, "false")) return false;
  return std::nullopt;
}

bool ParseIsoDate(std::string_view s, int64_t& micros) {
  s = TrimSpaces(s);
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) return false;
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int year = num(0, 4);
  int month = num(5, 2);
  int day = num(8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  int last = month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
  if (day > last) return false;
  micros = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kMicrosPerDay;
  return true;
}

std::optional<ParsedTime> ParseDatetime(std::string_view s, DateOrder order) {
  if (int64_t micros = 0; ParseIsoDate(s, micros)) return ParsedTime{micros, false};
  Fields f;
  if (!ParseFields(s, &f)) return std::nullopt;
  switch (f.form) {
    case Fields::kYearFirst: return Assemble(f, f.first, f.second);
    case Fields::kDot: return Assemble(f, f.second, f.first);
    case Fields::kSlash:
      return order == DateOrder::kMonthFirst ? Assemble(f, f.first, f.second) : Assemble(f, f.second, f.first);
  }
  return std::nullopt;
}

std::optional<DatetimeFit> ParseDatetimeEitherOrder(std::string_view s) {
  if (int64_t micros = 0; ParseIsoDate(s, micros)) return DatetimeFit{{micros, false}, true, true};
  Fields f;
  if (!ParseFields(s, &f)) return std::nullopt;
  DatetimeFit fit;
  if (f.form != Fields::kSlash) {
    auto t = f.form == Fields::kYearFirst ? Assemble(f, f.first, f.second) : Assemble(f, f.second, f.first);
    if (!t) return std::nullopt;
    fit.time = *t;
    fit.month_first = fit.day_first = true;
    return fit;
  }
  auto mf = Assemble(f, f.first, f.second);
  auto df = Assemble(f, f.second, f.first);
  if (!mf && !df) return std::nullopt;
  fit.time = mf ? *mf : *df;
  fit.month_first = mf.has_value();
  fit.day_first = df.has_value();
  fit.orders_differ = mf && df && mf->micros != df->micros;
  return fit;
}

ValueParser::ValueParser(const ColumnSchema& schema, DateOrder order, bool allow_new_categories)
    : type_(schema.type), order_(order), allow_new_categories_(allow_new_categories) {
  if (type_ == ColumnType::kCategory) {
    categories_ = schema.categories;
    codes_.reserve(categories_.size());
    for (size_t i = 0; i < categories_.size(); ++i) codes_.emplace(categories_[i], static_cast<uint32_t>(i));
  }
}

bool ValueParser::Append(ColumnChunk& out, std::string_view field) {
  if (IsMissing(field)) {
    out.AppendMissing();
    return true;
  }
  switch (type_) {
    case ColumnType::kInteger: {
      int64_t v = 0;
      if (ParseInteger(field, v)) {
        out.AppendInt(v);
        return true;
      }
      break;
    }
    case ColumnType::kNumber: {
      double v = 0;
      if (ParseNumber(field, v)) {
        out.AppendDouble(v);
        return true;
      }
      break;
    }
    case ColumnType::kBoolean: {
      if (auto v = ParseBoolean(field)) {
        out.AppendInt(*v ? 1 : 0);
        return true;
      }
      auto i = ParseInteger(field);
      if (i && (*i == 0 || *i == 1)) {
        out.AppendInt(*i);
        return true;
      }
      break;
    }
    case ColumnType::kDate:
      if (auto t = ParseDatetime(field, order_); t && t->micros % kMicrosPerDay == 0) {
        out.AppendInt(t->micros);
        return true;
      }
      break;
    case ColumnType::kDatetime:
      if (auto t = ParseDatetime(field, order_)) {
        out.AppendInt(t->micros);
        return true;
      }
      break;
    case ColumnType::kCategory: return AppendCategory(out, field);
    case ColumnType::kText: out.AppendText(field); return true;
  }
  out.AppendMissing();
  return false;
}

bool ValueParser::AppendCategory(ColumnChunk& out, std::string_view field) {
  auto it = codes_.find(field);
  if (it != codes_.end()) {
    out.AppendCode(it->second);
    return true;
  }
  if (!allow_new_categories_) {
    out.AppendMissing();
    return false;
  }
  auto code = static_cast<uint32_t>(categories_.size());
  categories_.emplace_back(field);
  codes_.emplace(categories_.back(), code);
  out.AppendCode(code);
  return true;
}

}  // namespace playground::data
