// Column type inference: watches every field of one column as a file streams past and decides the
// column's type (and, for categories, its dictionary) in bounded memory, using the definitions of
// data/values.h so that every value it accepted converts.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The families a value can belong to, as bits: type inference keeps the set of those every value
// so far fitted (an integer fits both kFitsInteger and kFitsNumber).
enum TypeCandidate : uint8_t { kFitsInteger = 1, kFitsNumber = 2, kFitsBoolean = 4, kFitsDatetime = 8 };

// What TypeInferrer::AddValue parsed a field as: the candidates it fitted (0: none of those still
// open) and its value in the first of them.
struct FieldFit {
  uint8_t fits = 0;
  int64_t integer = 0;   // fits & kFitsInteger
  double number = 0;     // fits == kFitsNumber
  bool boolean = false;  // fits == kFitsBoolean
  DatetimeFit datetime;  // fits == kFitsDatetime
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

  // Add in steps, for a caller that converts the values while it infers (ingestion's one pass):
  // a missing field is AddMissing; any other is AddValue, which checks it against the candidates
  // and returns what it parsed, then optionally AddLevel. A caller that leaves out AddLevel for
  // some values calls StopLevels, so that Result never takes the column for a category.
  void AddMissing() {
    ++count_;
    ++missing_;
  }
  FieldFit AddValue(std::string_view field);
  // AddValue for a value the caller has already parsed as what candidates() still allows, and
  // that changes nothing else the inferrer tracks: while integers are open, an integer; with
  // numbers, booleans or dates alone open, a number, a boolean or a YYYY-MM-DD date. Only counts it.
  void AddParsed() { ++count_; }
  uint8_t candidates() const { return candidates_; }
  // Tracks `field` as a distinct value and returns its index in levels(); kNoLevel once a cap is
  // passed (and for every field after). The call that passes a cap moves the levels so far into
  // `*dropped` when given. (Not an optional: it runs for every string field, and GCC returns an
  // optional<uint32_t> through memory, a store-forwarding stall that cost a third of the call.)
  static constexpr uint32_t kNoLevel = UINT32_MAX;
  uint32_t AddLevel(std::string_view field, std::deque<std::string>* dropped = nullptr);
  void StopLevels();

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
  // The distinct values in order of first appearance (empty once a cap was passed).
  const std::deque<std::string>& levels() const { return levels_; }

 private:
  FieldFit CheckTypes(std::string_view field);
  // AddLevel for a value not seen before, with its slot key (Word) and hash.
  uint32_t NewLevel(std::string_view field, uint64_t word, size_t hash, std::deque<std::string>* dropped);
  void Rehash(size_t slots);

  InferOptions options_;
  int64_t count_ = 0;
  int64_t missing_ = 0;
  uint8_t candidates_ = kFitsInteger | kFitsNumber | kFitsBoolean | kFitsDatetime;
  bool month_first_ok_ = true;  // every NN/NN/YYYY date so far fits month first
  bool day_first_ok_ = true;    // ... fits day first
  bool has_time_ = false;

  // Distinct values in order of first appearance, until a cap is passed (then too_many_).
  bool too_many_ = false;
  size_t category_bytes_ = 0;
  std::deque<std::string> levels_;       // a deque keeps its strings in place
  std::vector<std::string_view> views_;  // levels_[i], without the deque's indexing
  // Open addressing over the levels, with linear probing, at most half full. A slot holds the
  // level's length and first bytes (ShortWord of up to 8), which decide equality by themselves
  // for the short values categories mostly have, and 1 + the level's index (0: empty).
  // Hand-written because the lookup runs for every string field: a node-based map costs several
  // times more per field.
  struct Slot {
    uint64_t word = 0;
    uint32_t size = 0;
    uint32_t index = 0;
    bool Holds(uint64_t w, size_t n) const { return word == w && size == n; }
  };
  std::vector<Slot> slots_;
  Slot last_;  // the previous value's level: a fast path for runs (index 0: none yet)
  // The slot key of a value: its length and first bytes.
  static uint64_t Word(std::string_view v) { return ShortWord(v.data(), v.size() < 8 ? v.size() : 8); }
  void InsertSlot(const Slot& s, size_t hash);
};

// One column of a run of rows (a part of a file) converted while its type is inferred, so that
// ingestion can read a file once: each value is stored as the family it is in so far (integers,
// numbers, booleans, dates), and once a value fits none, as strings (category codes into the
// run's own dictionary, or text past the caps). The inferrer sees exactly what TypeInferrer::Add
// would, so merging the runs' inferrers in order gives the whole column's type. Whether the run's
// chunk can be written as that type is the caller's question (see ingest.cpp): an integer run
// converts to numbers exactly, any other mismatch means reading the file again.
//
// Thread-compatible.
class ColumnGuess {
 public:
  // `storage` is a chunk to reuse (its vectors keep their capacity); `reserve` rows are reserved.
  explicit ColumnGuess(InferOptions options = {}, ColumnChunk storage = ColumnChunk(), size_t reserve = 0);

  // Adds the next field. Returns false, adding nothing, when the field fits none of the family
  // the run's earlier values were stored as: the column turns to strings, and the caller calls
  // Restart and adds every field of the run again from the first (this one included).
  bool Add(std::string_view field) { return AddMany(&field, 1, 1) == 1; }
  // Adds the fields first[0], first[stride], ... (n of them), as Add one after the other would;
  // returns how many were added, fewer than n when Add would have returned false for the next.
  // Faster per field than Add: while the run's type holds (numbers, integers, YYYY-MM-DD dates,
  // booleans, strings), its fields go through one tight loop.
  size_t AddMany(const std::string_view* first, size_t stride, size_t n);
  void Restart();
  // Call after the run's last field.
  void Finish();
  // Turns an integer chunk into a number chunk, exactly as the fields read as numbers.
  void ToNumbers();
  // Turns a category chunk into a text chunk.
  void ToText() { CodesToText(inferrer_.levels()); }

  // The values: an all-missing run is a text chunk; dates and datetimes are kDatetime.
  ColumnChunk& chunk() { return chunk_; }
  TypeInferrer& inferrer() { return inferrer_; }
  // Some NN/NN/YYYY value was stored read month first but reads differently day first.
  bool month_first_differs() const { return month_first_differs_; }
  // The values are strings (category codes into inferrer().levels(), or text).
  bool strings() const { return strings_; }

 private:
  void Start(ColumnType type);
  bool AddOne(std::string_view field);  // Add, without the fast paths for settled runs
  // Appends integer `v` read from `field`, noting a "-0" for ToNumbers.
  void AppendInteger(int64_t v, std::string_view field);
  // Adds a field to a run of strings; `counted`: AddValue has already seen it.
  void AddString(std::string_view field, bool counted = false);
  void CodesToText(const std::deque<std::string>& levels);

  InferOptions options_;
  size_t reserve_;
  TypeInferrer inferrer_;
  ColumnChunk chunk_;
  std::deque<std::string> dropped_;     // the levels when the caps were passed, for CodesToText
  std::vector<size_t> negative_zeros_;  // integer rows written "-0", a -0.0 as numbers
  bool started_ = false;                // chunk_ has its type; before, every field was missing
  bool strings_ = false;
  int64_t leading_missing_ = 0;
  bool month_first_differs_ = false;
};

}  // namespace playground::data
