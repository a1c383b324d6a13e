// Column type inference: watches every field of one column as a file streams past and decides the
// column's type (and, for categories, its dictionary) in bounded memory, using the definitions of
// data/values.h so that every value it accepted converts.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

#include "data/types.h"
#include "data/values.h"

namespace playground::data {

struct InferOptions {
  // A column of strings is a category when it has at most this many distinct values ...
  size_t max_category_levels = 1000;
  // ... and its dictionary takes at most this many bytes (value bytes plus 32 per value), which
  // bounds an inferrer's memory whatever the values look like.
  size_t max_category_bytes = 256 << 10;
};

// Infers one column's type from all of its fields. The rule, in this order:
//   no value that is not missing        -> text
//   every value an integer              -> integer
//   every value a number                -> number (integers and decimals mixed)
//   every value a boolean               -> boolean
//   every value a date or datetime      -> date when none has a time of day, else datetime; the
//                                          NN/NN/YYYY order is the one every value fits (month
//                                          first when both fit); no common order -> not a date
//   distinct values <= max_category_levels (within max_category_bytes) and
//   distinct * 2 <= values              -> category, values in order of first appearance
//   otherwise                           -> text
// A type is no longer tried after one value failed it, and distinct values are no longer
// tracked past the caps, so the cost per field falls as the candidates fall away.
//
// Thread-compatible: one inferrer per column; inferrers of different columns may be fed from
// different threads.
class TypeInferrer {
 public:
  explicit TypeInferrer(InferOptions options = {});
  // Movable, not copyable: the distinct-value set points into the inferrer's own storage.
  TypeInferrer(const TypeInferrer&) = delete;
  TypeInferrer& operator=(const TypeInferrer&) = delete;
  TypeInferrer(TypeInferrer&&) = default;
  TypeInferrer& operator=(TypeInferrer&&) = default;

  // Call for every field of the column, missing ones included.
  void Add(std::string_view field);

  // Folds in an inferrer that saw the fields right after this one's (the next part of the same
  // column, e.g. read by another thread): afterwards this inferrer is as if it had been given
  // this one's fields and then `next`'s, one by one.
  void Merge(const TypeInferrer& next);

  // The inferred schema for a column called `name`.
  ColumnSchema Result(std::string name) const;
  // The order to read NN/NN/YYYY dates with (meaningful for date and datetime columns).
  DateOrder date_order() const;
  int64_t count() const { return count_; }      // fields added
  int64_t missing() const { return missing_; }  // of which missing

 private:
  enum Candidate : uint8_t { kInteger = 1, kNumber = 2, kBoolean = 4, kDatetime = 8 };

  void CheckTypes(std::string_view field);
  void TrackDistinct(std::string_view field);

  InferOptions options_;
  int64_t count_ = 0;
  int64_t missing_ = 0;
  uint8_t candidates_ = kInteger | kNumber | kBoolean | kDatetime;
  bool month_first_ok_ = true;  // every NN/NN/YYYY date so far fits month first
  bool day_first_ok_ = true;    // ... fits day first
  bool has_time_ = false;

  // Distinct values in order of first appearance, until a cap is passed (then too_many_).
  bool too_many_ = false;
  size_t category_bytes_ = 0;
  std::deque<std::string> levels_;             // a deque keeps its strings in place
  std::unordered_set<std::string_view> seen_;  // views into levels_
  std::string_view last_;                      // the previous value's level: a fast path for runs
};

}  // namespace playground::data
