#include "data/infer.h"

#include <utility>

namespace playground::data {
namespace {

// The bytes a dictionary entry is counted for: the value and roughly the hash node and string
// header that hold it.
constexpr size_t kLevelOverhead = 32;

}  // namespace

TypeInferrer::TypeInferrer(InferOptions options) : options_(options) {}

void TypeInferrer::Add(std::string_view field) {
  if (IsMissing(field)) {
    AddMissing();
    return;
  }
  AddValue(field);
  if (!too_many_) AddLevel(field);
}

FieldFit TypeInferrer::AddValue(std::string_view field) {
  ++count_;
  return candidates_ != 0 ? CheckTypes(field) : FieldFit{};
}

FieldFit TypeInferrer::CheckTypes(std::string_view field) {
  // A value belongs to at most one family (integer/number, boolean, datetime), so the first
  // family that accepts it decides what remains; the cheapest test runs first.
  FieldFit fit;
  std::optional<bool> boolean;
  if ((candidates_ & kFitsInteger) != 0 && ParseInteger(field, fit.integer)) {
    fit.fits = kFitsInteger | kFitsNumber;
  } else if ((candidates_ & kFitsNumber) != 0 && ParseNumber(field, fit.number)) {
    fit.fits = kFitsNumber;
  } else if ((candidates_ & kFitsBoolean) != 0 && (boolean = ParseBoolean(field))) {
    fit.fits = kFitsBoolean;
    fit.boolean = *boolean;
  } else if ((candidates_ & kFitsDatetime) != 0) {
    if (auto datetime = ParseDatetimeEitherOrder(field)) {
      month_first_ok_ = month_first_ok_ && datetime->month_first;
      day_first_ok_ = day_first_ok_ && datetime->day_first;
      has_time_ = has_time_ || datetime->time.has_time;
      if (month_first_ok_ || day_first_ok_) {
        fit.fits = kFitsDatetime;
        fit.datetime = *datetime;
      }
    }
  }
  candidates_ &= fit.fits;
  return fit;
}

uint32_t TypeInferrer::AddLevel(std::string_view field, std::deque<std::string>* dropped) {
  if (too_many_) return kNoLevel;
  const size_t n = field.size();
  const uint64_t word = Word(field);
  // Past 8 bytes, the first 8 and the length only narrow the search: the whole value decides.
  auto same = [&](const Slot& s) { return s.Holds(word, n) && (n <= 8 || views_[s.index - 1] == field); };
  if (last_.index != 0 && same(last_)) return last_.index - 1;
  if (slots_.empty()) slots_.resize(16);
  size_t hash = ShortStringHash{}(field);
  size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask; slots_[slot].index != 0; slot = (slot + 1) & mask) {
    if (same(slots_[slot])) {
      last_ = slots_[slot];
      return last_.index - 1;
    }
  }
  return NewLevel(field, word, hash, dropped);
}

uint32_t TypeInferrer::NewLevel(std::string_view field, uint64_t word, size_t hash, std::deque<std::string>* dropped) {
  category_bytes_ += field.size() + kLevelOverhead;
  if (levels_.size() >= options_.max_category_levels || category_bytes_ > options_.max_category_bytes) {
    // Not a category whatever follows: free the memory and stop looking.
    if (dropped != nullptr) *dropped = std::move(levels_);
    StopLevels();
    return kNoLevel;
  }
  levels_.emplace_back(field);
  views_.push_back(levels_.back());
  last_ = Slot{word, static_cast<uint32_t>(field.size()), static_cast<uint32_t>(views_.size())};
  if (views_.size() * 2 > slots_.size()) {
    Rehash(slots_.size() * 2);
  } else {
    InsertSlot(last_, hash);
  }
  return last_.index - 1;
}

void TypeInferrer::InsertSlot(const Slot& s, size_t hash) {
  size_t mask = slots_.size() - 1;
  size_t slot = hash & mask;
  while (slots_[slot].index != 0) slot = (slot + 1) & mask;
  slots_[slot] = s;
}

void TypeInferrer::Rehash(size_t slots) {
  slots_.assign(slots, Slot{});
  for (size_t index = 0; index < views_.size(); ++index) {
    std::string_view v = views_[index];
    InsertSlot(Slot{Word(v), static_cast<uint32_t>(v.size()), static_cast<uint32_t>(index + 1)}, ShortStringHash{}(v));
  }
}

void TypeInferrer::StopLevels() {
  too_many_ = true;
  levels_ = {};
  views_ = {};
  slots_ = {};
  last_ = {};
}

void TypeInferrer::Merge(const TypeInferrer& next) {
  count_ += next.count_;
  missing_ += next.missing_;
  // A field reaches the date checks only while every value before it was a date, so `next`'s
  // date flags count only when this part's values all were; the flags are then the AND over
  // both parts' dates up to the first value that is not one (fields after the point where
  // neither order fits any more cannot change the outcome: both flags stay false).
  if ((candidates_ & kFitsDatetime) != 0) {
    month_first_ok_ = month_first_ok_ && next.month_first_ok_;
    day_first_ok_ = day_first_ok_ && next.day_first_ok_;
    has_time_ = has_time_ || next.has_time_;
  }
  candidates_ &= next.candidates_;
  if (!month_first_ok_ && !day_first_ok_) candidates_ &= static_cast<uint8_t>(~kFitsDatetime);
  if (too_many_) return;
  if (next.too_many_) {
    // `next` alone passed a cap (or did not track its values), so the union cannot be a category.
    StopLevels();
    return;
  }
  // In order of first appearance, so the dictionary and the caps come out as one pass makes them.
  for (const std::string& level : next.levels_) {
    if (AddLevel(level) == kNoLevel) return;
  }
}

ColumnSchema TypeInferrer::Result(std::string name) const {
  ColumnSchema schema;
  schema.name = std::move(name);
  int64_t values = count_ - missing_;
  schema.type = ColumnType::kText;  // no values, or nothing else fits
  if (values == 0) return schema;
  if ((candidates_ & kFitsInteger) != 0) {
    schema.type = ColumnType::kInteger;
  } else if ((candidates_ & kFitsNumber) != 0) {
    schema.type = ColumnType::kNumber;
  } else if ((candidates_ & kFitsBoolean) != 0) {
    schema.type = ColumnType::kBoolean;
  } else if ((candidates_ & kFitsDatetime) != 0) {
    schema.type = has_time_ ? ColumnType::kDatetime : ColumnType::kDate;
  } else if (!too_many_ && static_cast<int64_t>(levels_.size()) * 2 <= values) {
    schema.type = ColumnType::kCategory;
    schema.categories.assign(levels_.begin(), levels_.end());
  }
  return schema;
}

DateOrder TypeInferrer::date_order() const {
  return !month_first_ok_ && day_first_ok_ ? DateOrder::kDayFirst : DateOrder::kMonthFirst;
}

ColumnGuess::ColumnGuess(InferOptions options, ColumnChunk storage, size_t reserve)
    : options_(options), reserve_(reserve), inferrer_(options), chunk_(std::move(storage)) {}

void ColumnGuess::Start(ColumnType type) {
  chunk_.Clear();
  chunk_.type = type;
  chunk_.Reserve(reserve_);
  for (int64_t i = 0; i < leading_missing_; ++i) chunk_.AppendMissing();
  leading_missing_ = 0;
  started_ = true;
}

size_t ColumnGuess::AddMany(const std::string_view* first, size_t stride, size_t n) {
  size_t i = 0;
  if (strings_) {
    for (; i < n; ++i) AddString(first[i * stride]);
    return n;
  }
  while (i < n) {
    // Most fields are numbers in a run of numbers: parsed straight to their slot, without the
    // general checks of AddOne (no text that parses as a number is a missing value).
    if (started_ && chunk_.type == ColumnType::kNumber && inferrer_.candidates() == kFitsNumber) {
      for (double v = 0; i < n && ParseNumber(first[i * stride], v); ++i) {
        inferrer_.AddParsed();
        chunk_.AppendDouble(v);
      }
    } else if (started_ && chunk_.type == ColumnType::kDatetime && inferrer_.candidates() == kFitsDatetime) {
      // A YYYY-MM-DD date fits both orders, has no time of day and reads the same either way:
      // it changes nothing AddOne would track beyond the count.
      for (int64_t micros = 0; i < n && ParseIsoDate(first[i * stride], micros); ++i) {
        inferrer_.AddParsed();
        chunk_.AppendInt(micros);
      }
    } else if (started_ && chunk_.type == ColumnType::kBoolean && inferrer_.candidates() == kFitsBoolean) {
      for (; i < n; ++i) {
        std::optional<bool> b = ParseBoolean(first[i * stride]);
        if (!b) break;
        inferrer_.AddParsed();
        chunk_.AppendInt(*b ? 1 : 0);
      }
    } else if (started_ && chunk_.type == ColumnType::kInteger) {
      for (int64_t v = 0; i < n && ParseInteger(first[i * stride], v); ++i) {
        inferrer_.AddParsed();
        AppendInteger(v, first[i * stride]);
      }
    }
    if (i == n) break;
    if (!AddOne(first[i * stride])) return i;
    ++i;
  }
  return n;
}

bool ColumnGuess::AddOne(std::string_view field) {
  if (strings_) {
    AddString(field);
    return true;
  }
  if (IsMissing(field)) {
    inferrer_.AddMissing();
    if (started_) {
      chunk_.AppendMissing();
    } else {
      ++leading_missing_;
    }
    return true;
  }
  FieldFit fit = inferrer_.AddValue(field);
  if (!started_) {
    // The first value decides the family: the run is stored as it from here on.
    switch (fit.fits) {
      case 0:
        strings_ = true;
        Start(ColumnType::kCategory);
        AddString(field, /*counted=*/true);
        return true;
      case kFitsNumber: Start(ColumnType::kNumber); break;
      case kFitsBoolean: Start(ColumnType::kBoolean); break;
      case kFitsDatetime: Start(ColumnType::kDatetime); break;
      default: Start(ColumnType::kInteger);
    }
    // Distinct values matter only to strings, and a run that turns to strings starts again.
    inferrer_.StopLevels();
  }
  switch (fit.fits) {
    case 0: return false;
    case kFitsNumber:
      if (chunk_.type == ColumnType::kInteger) ToNumbers();
      chunk_.AppendDouble(fit.number);
      break;
    case kFitsBoolean: chunk_.AppendInt(fit.boolean ? 1 : 0); break;
    case kFitsDatetime:
      chunk_.AppendInt(fit.datetime.time.micros);
      month_first_differs_ = month_first_differs_ || fit.datetime.orders_differ;
      break;
    default: AppendInteger(fit.integer, field);
  }
  return true;
}

void ColumnGuess::AppendInteger(int64_t v, std::string_view field) {
  if (v == 0 && TrimSpaces(field).front() == '-') negative_zeros_.push_back(chunk_.size());
  chunk_.AppendInt(v);
}

void ColumnGuess::AddString(std::string_view field, bool counted) {
  if (!counted) {
    if (IsMissing(field)) {
      inferrer_.AddMissing();
      chunk_.AppendMissing();
      return;
    }
    inferrer_.AddValue(field);
  }
  if (chunk_.type == ColumnType::kCategory) {
    if (uint32_t code = inferrer_.AddLevel(field, &dropped_); code != TypeInferrer::kNoLevel) {
      chunk_.AppendCode(code);
      return;
    }
    CodesToText(dropped_);
    dropped_ = {};  // past the caps: the run's strings are text from now on
  }
  chunk_.AppendText(field);
}

void ColumnGuess::CodesToText(const std::deque<std::string>& levels) {
  std::vector<uint32_t> codes;
  std::vector<uint8_t> valid;
  codes.swap(chunk_.codes);
  valid.swap(chunk_.valid);
  Start(ColumnType::kText);
  for (size_t i = 0; i < valid.size(); ++i) {
    if (valid[i] != 0) {
      chunk_.AppendText(levels[codes[i]]);
    } else {
      chunk_.AppendMissing();
    }
  }
  codes.clear();
  codes.swap(chunk_.codes);  // keeps its capacity for the next use of the storage
}

void ColumnGuess::Restart() {
  inferrer_ = TypeInferrer(options_);
  negative_zeros_.clear();
  month_first_differs_ = false;
  leading_missing_ = 0;
  strings_ = true;
  Start(ColumnType::kCategory);
}

void ColumnGuess::Finish() {
  if (!started_) Start(ColumnType::kText);
}

void ColumnGuess::ToNumbers() {
  chunk_.doubles.resize(chunk_.ints.size());
  for (size_t i = 0; i < chunk_.ints.size(); ++i) chunk_.doubles[i] = static_cast<double>(chunk_.ints[i]);
  for (size_t row : negative_zeros_) chunk_.doubles[row] = -0.0;
  negative_zeros_.clear();
  chunk_.ints.clear();
  chunk_.type = ColumnType::kNumber;
}

}  // namespace playground::data
