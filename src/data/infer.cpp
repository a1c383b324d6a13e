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
  ++count_;
  if (IsMissing(field)) {
    ++missing_;
    return;
  }
  if (candidates_ != 0) CheckTypes(field);
  if (!too_many_) TrackDistinct(field);
}

void TypeInferrer::CheckTypes(std::string_view field) {
  // A value belongs to at most one family (integer/number, boolean, datetime), so the first
  // family that accepts it decides what remains; the cheapest test runs first.
  uint8_t fits = 0;
  if ((candidates_ & kInteger) != 0 && ParseInteger(field)) {
    fits = kInteger | kNumber;
  } else if ((candidates_ & kNumber) != 0 && ParseNumber(field)) {
    fits = kNumber;
  } else if ((candidates_ & kBoolean) != 0 && ParseBoolean(field)) {
    fits = kBoolean;
  } else if ((candidates_ & kDatetime) != 0) {
    if (auto fit = ParseDatetimeEitherOrder(field)) {
      month_first_ok_ = month_first_ok_ && fit->month_first;
      day_first_ok_ = day_first_ok_ && fit->day_first;
      has_time_ = has_time_ || fit->time.has_time;
      if (month_first_ok_ || day_first_ok_) fits = kDatetime;
    }
  }
  candidates_ &= fits;
}

void TypeInferrer::TrackDistinct(std::string_view field) {
  if (field == last_ && !levels_.empty()) return;
  if (auto it = seen_.find(field); it != seen_.end()) {
    last_ = *it;
    return;
  }
  category_bytes_ += field.size() + kLevelOverhead;
  if (levels_.size() >= options_.max_category_levels || category_bytes_ > options_.max_category_bytes) {
    // Not a category whatever follows: free the memory and stop looking.
    too_many_ = true;
    seen_ = {};
    levels_ = {};
    last_ = {};
    return;
  }
  levels_.emplace_back(field);
  last_ = levels_.back();
  seen_.insert(last_);
}

void TypeInferrer::Merge(const TypeInferrer& next) {
  count_ += next.count_;
  missing_ += next.missing_;
  // A field reaches the date checks only while every value before it was a date, so `next`'s
  // date flags count only when this part's values all were; the flags are then the AND over
  // both parts' dates up to the first value that is not one (fields after the point where
  // neither order fits any more cannot change the outcome: both flags stay false).
  if ((candidates_ & kDatetime) != 0) {
    month_first_ok_ = month_first_ok_ && next.month_first_ok_;
    day_first_ok_ = day_first_ok_ && next.day_first_ok_;
    has_time_ = has_time_ || next.has_time_;
  }
  candidates_ &= next.candidates_;
  if (!month_first_ok_ && !day_first_ok_) candidates_ &= static_cast<uint8_t>(~kDatetime);
  if (too_many_) return;
  if (next.too_many_) {
    // `next` alone passed a cap, so the union of both parts' values passes it too.
    too_many_ = true;
    seen_ = {};
    levels_ = {};
    last_ = {};
    return;
  }
  // In order of first appearance, so the dictionary and the caps come out as one pass makes them.
  for (const std::string& level : next.levels_) {
    TrackDistinct(level);
    if (too_many_) return;
  }
}

ColumnSchema TypeInferrer::Result(std::string name) const {
  ColumnSchema schema;
  schema.name = std::move(name);
  int64_t values = count_ - missing_;
  schema.type = ColumnType::kText;  // no values, or nothing else fits
  if (values == 0) return schema;
  if ((candidates_ & kInteger) != 0) {
    schema.type = ColumnType::kInteger;
  } else if ((candidates_ & kNumber) != 0) {
    schema.type = ColumnType::kNumber;
  } else if ((candidates_ & kBoolean) != 0) {
    schema.type = ColumnType::kBoolean;
  } else if ((candidates_ & kDatetime) != 0) {
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

}  // namespace playground::data
