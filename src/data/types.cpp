#include "data/types.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace playground::data {
namespace {

struct TypeEntry {
  ColumnType type;
  std::string_view name;
};
constexpr std::array<TypeEntry, 7> kTypes = {{
    {ColumnType::kInteger, "integer"},
    {ColumnType::kNumber, "number"},
    {ColumnType::kBoolean, "boolean"},
    {ColumnType::kDate, "date"},
    {ColumnType::kDatetime, "datetime"},
    {ColumnType::kCategory, "category"},
    {ColumnType::kText, "text"},
}};

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// Floor division, so that times before 1970 land on the right day.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

}  // namespace

std::string_view TypeName(ColumnType t) {
  for (const auto& e : kTypes) {
    if (e.type == t) return e.name;
  }
  return "unknown";
}

std::optional<ColumnType> TypeFromName(std::string_view name) {
  for (const auto& e : kTypes) {
    if (e.name == name) return e.type;
  }
  return std::nullopt;
}

bool IsNumeric(ColumnType t) {
  return t == ColumnType::kInteger || t == ColumnType::kNumber || t == ColumnType::kBoolean;
}

bool IsTime(ColumnType t) { return t == ColumnType::kDate || t == ColumnType::kDatetime; }

void ColumnChunk::Clear() {
  valid.clear();
  ints.clear();
  doubles.clear();
  codes.clear();
  ends.clear();
  bytes.clear();
}

void ColumnChunk::Reserve(size_t rows) {
  valid.reserve(rows);
  switch (type) {
    case ColumnType::kNumber: doubles.reserve(rows); break;
    case ColumnType::kCategory: codes.reserve(rows); break;
    case ColumnType::kText: ends.reserve(rows); break;
    default: ints.reserve(rows);
  }
}

void ColumnChunk::AppendMissing() {
  valid.push_back(0);
  switch (type) {
    case ColumnType::kNumber: doubles.push_back(0); break;
    case ColumnType::kCategory: codes.push_back(0); break;
    case ColumnType::kText: ends.push_back(bytes.size()); break;
    default: ints.push_back(0);
  }
}

std::string FormatNumber(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf.data(), end);
}

std::string FormatDate(int64_t micros) {
  std::chrono::sys_days day{std::chrono::days{FloorDiv(micros, kMicrosPerDay)}};
  std::chrono::year_month_day ymd{day};
  std::array<char, 32> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string(buf.data(), static_cast<size_t>(n));
}

std::string FormatDatetime(int64_t micros) {
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  int64_t in_day = micros - days * kMicrosPerDay;
  int64_t secs = in_day / 1'000'000;
  int64_t frac = in_day % 1'000'000;
  std::string out = FormatDate(micros);
  std::array<char, 32> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "T%02d:%02d:%02d", static_cast<int>(secs / 3600),
                        static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  out.append(buf.data(), static_cast<size_t>(n));
  if (frac != 0) {
    n = std::snprintf(buf.data(), buf.size(), ".%06d", static_cast<int>(frac));
    std::string f(buf.data(), static_cast<size_t>(n));
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

}  // namespace playground::data
