#include "data/profile.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"

namespace playground::data {
namespace {

using nlohmann::json;

constexpr int kHistogramBins = 20;
constexpr size_t kTopValues = 10;
constexpr std::array<std::pair<const char*, double>, 7> kQuantiles = {{
    {"p1", 0.01},
    {"p5", 0.05},
    {"p25", 0.25},
    {"p50", 0.50},
    {"p75", 0.75},
    {"p95", 0.95},
    {"p99", 0.99},
}};

uint64_t HashBytes(const void* p, size_t n) { return XXH3_64bits(p, n); }
uint64_t HashInt(int64_t v) { return XXH3_64bits(&v, sizeof v); }
uint64_t HashDouble(double v) {
  if (v == 0) v = 0;  // -0.0 and 0.0 are one value, as in pandas
  return XXH3_64bits(&v, sizeof v);
}

// HyperLogLog (Flajolet et al. 2007) over 64-bit hashes, with linear counting for small
// cardinalities. Written here because no Debian package offers one for C++. 2^14 one-byte
// registers (16 KiB) give a standard error of 1.04 / sqrt(2^14) = 0.81%; with 64-bit hashes no
// large-range correction is needed. Thread-compatible.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  void Add(uint64_t hash) {
    // The top bits choose the register (the hash tables below index with the low bits); the rank
    // is the position of the first 1 bit in the rest.
    const size_t index = hash >> (64 - kPrecision);
    const uint64_t rest = hash << kPrecision;
    const auto rank = static_cast<uint8_t>(rest == 0 ? 64 - kPrecision + 1 : std::countl_zero(rest) + 1);
    registers_[index] = std::max(registers_[index], rank);
  }

  uint64_t Estimate() const {
    const double m = kRegisters;
    double sum = 0;
    size_t zeros = 0;
    for (uint8_t r : registers_) {
      sum += std::ldexp(1.0, -r);
      zeros += r == 0 ? 1 : 0;
    }
    const double alpha = 0.7213 / (1 + 1.079 / m);
    double estimate = alpha * m * m / sum;
    if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));
    return static_cast<uint64_t>(std::llround(estimate));
  }

 private:
  std::array<uint8_t, kRegisters> registers_{};
};

// An open-addressing (linear probing) table from 64-bit hashes to dense ids 0, 1, 2, ... (or a
// set of hashes, without ids). The keys are hashes already, so their low bits index the table
// directly. Thread-compatible.
class HashIndex {
 public:
  static constexpr uint32_t kAbsent = std::numeric_limits<uint32_t>::max();

  explicit HashIndex(bool with_ids) : keys_(kInitialSlots, 0), ids_(with_ids ? kInitialSlots : 0, 0) {}

  // Empties the table but keeps its memory: a worker reuses one table for column after column,
  // instead of faulting in fresh pages for each.
  void Clear() {
    if (size_ > 0) std::fill(keys_.begin(), keys_.end(), 0);
    size_ = 0;
  }
  // Empties the table and returns its memory but the initial slots, for when another structure
  // is about to need the memory budget.
  void Release() {
    keys_.assign(kInitialSlots, 0);
    keys_.shrink_to_fit();
    ids_.assign(ids_.empty() ? 0 : kInitialSlots, 0);
    ids_.shrink_to_fit();
    size_ = 0;
  }

  // The id of `key`; when absent, adds it with the next id if `may_add`, else returns kAbsent.
  uint32_t FindOrAdd(uint64_t key, bool may_add) {
    key |= key == 0 ? 1 : 0;  // 0 marks an empty slot
    const size_t mask = keys_.size() - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return ids_.empty() ? 0 : ids_[i];  // a set has no ids
      if (keys_[i] == 0) {
        if (!may_add) return kAbsent;
        keys_[i] = key;
        const auto id = static_cast<uint32_t>(size_++);
        if (!ids_.empty()) ids_[i] = id;
        if (size_ * 2 > keys_.size()) Grow();
        return id;
      }
    }
  }
  void Prefetch(uint64_t key) const { __builtin_prefetch(&keys_[key & (keys_.size() - 1)]); }
  size_t size() const { return size_; }
  template <class F>
  void ForEachKey(F&& f) const {
    for (uint64_t k : keys_) {
      if (k != 0) f(k);
    }
  }

 private:
  static constexpr size_t kInitialSlots = 1024;

  void Grow() {
    std::vector<uint64_t> keys(keys_.size() * 2, 0);
    std::vector<uint32_t> ids(ids_.empty() ? 0 : keys.size(), 0);
    const size_t mask = keys.size() - 1;
    for (size_t j = 0; j < keys_.size(); ++j) {
      if (keys_[j] == 0) continue;
      size_t i = keys_[j] & mask;
      while (keys[i] != 0) i = (i + 1) & mask;
      keys[i] = keys_[j];
      if (!ids.empty()) ids[i] = ids_[j];
    }
    keys_.swap(keys);
    ids_.swap(ids);
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> ids_;
  size_t size_ = 0;
};

// Counts distinct hashes: exactly up to a limit, then with HyperLogLog (fed with every hash seen
// so far, which gives the same registers as having fed it from the start). Thread-compatible.
class DistinctCounter {
 public:
  // Uses (and clears) `index`, which the caller keeps for the next column.
  DistinctCounter(size_t exact_limit, HashIndex& index) : limit_(exact_limit), index_(index) { index_.Clear(); }

  // Adds a batch, prefetching table slots ahead: the table of a column with a million distinct
  // values does not fit in cache, and the prefetches hide most of the misses.
  void Add(std::span<const uint64_t> hashes) {
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < hashes.size(); ++i) {
      if (hll_) {
        hll_->Add(hashes[i]);
        continue;
      }
      if (i + kAhead < hashes.size()) index_.Prefetch(hashes[i + kAhead]);
      index_.FindOrAdd(hashes[i], true);
      if (index_.size() > limit_) SwitchToHll();
    }
  }
  bool exact() const { return !hll_; }
  uint64_t count() const { return hll_ ? hll_->Estimate() : index_.size(); }

 private:
  void SwitchToHll() {
    hll_.emplace();
    index_.ForEachKey([&](uint64_t k) { hll_->Add(k); });
    index_.Clear();
  }

  size_t limit_;
  HashIndex& index_;
  std::optional<HyperLogLog> hll_;
};

// numpy.quantile(method="linear"): the virtual index (n - 1) * q between two order statistics,
// interpolated with numpy's _lerp (which computes from the upper end when t >= 0.5).
double Lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

// Puts the order statistics at the (ascending, distinct) positions [kb, ke) in place, like
// std::nth_element for each, in O(n log k): select the middle one, then recurse on each side.
// `base` is the position of `first` in the whole array.
template <class T>
void MultiSelect(T* first, T* last, const size_t* kb, const size_t* ke, size_t base) {
  if (kb == ke || last - first <= 1) return;
  const size_t* mid = kb + (ke - kb) / 2;
  T* nth = first + (*mid - base);
  std::nth_element(first, nth, last);
  MultiSelect(first, nth, kb, mid, base);
  MultiSelect(nth + 1, last, mid + 1, ke, *mid + 1);
}

// Order-preserving 64-bit keys: a < b as numbers exactly when Key(a) < Key(b) as unsigned
// integers. For doubles the sign bit is flipped for positives and every bit for negatives, which
// orders -inf < negatives < -0.0 < +0.0 < positives < +inf (NaN never gets here); -0.0 and +0.0
// compare equal as numbers, so either order of the two is a correct sort.
constexpr uint64_t kSignBit = uint64_t{1} << 63;
uint64_t Key(int64_t x) { return static_cast<uint64_t>(x) ^ kSignBit; }
uint64_t Key(double x) {
  const auto bits = std::bit_cast<uint64_t>(x);
  return bits ^ ((bits & kSignBit) != 0 ? ~uint64_t{0} : kSignBit);
}
double IntegerFromKey(uint64_t key) { return static_cast<double>(static_cast<int64_t>(key ^ kSignBit)); }
double NumberFromKey(uint64_t key) { return std::bit_cast<double>((key & kSignBit) != 0 ? key ^ kSignBit : ~key); }

// Calls f(x) for every value of a numeric column in row order, skipping missing rows and (for
// numbers) NaN, straight from the mapping. T is int64_t for integer columns, double for numbers.
template <class T, class F>
void ForEachValue(const std::vector<ColumnView>& views, F&& f) {
  // The bounds and pointers are copied to locals: f writes through references, which the
  // compiler would otherwise assume may change them.
  auto each = [&f](const T* data, size_t rows, const uint8_t* validity) {
    for (size_t i = 0; i < rows; ++i) {
      if (validity != nullptr && ((validity[i >> 3] >> (i & 7)) & 1) == 0) continue;
      const T x = data[i];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(x)) continue;
      }
      f(x);
    }
  };
  for (const ColumnView& v : views) {
    const T* data = nullptr;
    if constexpr (std::is_same_v<T, int64_t>) {
      data = v.ints().data();
    } else {
      data = v.doubles().data();
    }
    const auto rows = static_cast<size_t>(v.rows);
    if (v.missing == 0) {
      each(data, rows, nullptr);  // a separate instance of the loop, without the validity test
    } else {
      each(data, rows, v.validity().data());
    }
  }
}

// Finds the values at a few ranks (order statistics) of a column without copying it: a
// most-significant-digit radix select over the order-preserving keys. Each pass over the column
// counts, for every key range still holding a wanted rank, the next digit of the keys in it (one
// histogram per range; wanted ranks often share one), and narrows each range to the digit's
// bucket holding the rank. A range whose count has become small is collected instead and
// finished with nth_element; one narrowed to a single key is done. The first range is the common
// prefix of the smallest and the largest key, so that integers in a narrow range, say, do not
// spend passes on bits they all share. Memory is the histograms and the collected keys, both
// bounded by the byte limits given, whatever the number of rows. Thread-compatible.
class RankSelector {
 public:
  RankSelector(size_t histogram_bytes, size_t collect_bytes)
      : histogram_bytes_(histogram_bytes), collect_bytes_(collect_bytes) {}

  // The keys at the (ascending, distinct, each < n) `ranks` of the n keys that `for_each_key(f)`
  // passes to f; it is called once per pass and must pass the same keys each time. `min_key` and
  // `max_key` are the smallest and the largest of them.
  template <class ForEachKey>
  std::vector<uint64_t> Select(ForEachKey&& for_each_key, uint64_t n, uint64_t min_key, uint64_t max_key,
                               const std::vector<uint64_t>& ranks) {
    std::vector<uint64_t> out(ranks.size(), 0);
    if (ranks.empty()) return out;
    if (ranks.size() > kMaxRanges) throw std::invalid_argument("RankSelector: too many ranks");
    const int known = min_key == max_key ? 64 : std::countl_zero(min_key ^ max_key);
    std::vector<Range> open;
    Narrow(Range{Prefix(min_key, known), known, 0, n, 0, ranks.size()}, out, open);
    std::vector<uint64_t> histograms;
    std::vector<std::vector<uint64_t>> collected;
    while (!open.empty()) {
      Plan(open);
      size_t histogram_size = 0;
      for (Range& r : open) {
        r.offset = histogram_size;
        if (!r.collect) histogram_size += size_t{1} << r.digit_bits;
      }
      histograms.assign(histogram_size, 0);
      collected.assign(open.size(), {});
      for (size_t i = 0; i < open.size(); ++i) {
        if (open[i].collect) collected[i].reserve(open[i].count);
      }
      if (open.size() == 1 && !open[0].collect) {
        // The first pass, usually: one histogram, no range to look up.
        const Range r = open[0];
        const uint64_t mask = (uint64_t{1} << r.digit_bits) - 1;
        uint64_t* counts = histograms.data();
        for_each_key([&](uint64_t key) {
          if (key >= r.lo && key <= r.Hi()) ++counts[(key >> r.shift) & mask];
        });
      } else {
        // The ranges are disjoint and ascending; there are at most two per wanted rank.
        std::array<uint64_t, kMaxRanges> los{};
        std::array<uint64_t, kMaxRanges> his{};
        const size_t ranges = open.size();
        for (size_t i = 0; i < ranges; ++i) {
          los[i] = open[i].lo;
          his[i] = open[i].Hi();
        }
        for_each_key([&](uint64_t key) {
          if (key < los[0] || key > his[ranges - 1]) return;
          for (size_t i = 0; i < ranges; ++i) {
            if (key < los[i]) return;
            if (key > his[i]) continue;
            const Range& r = open[i];
            if (r.collect) {
              collected[i].push_back(key);
            } else {
              ++histograms[r.offset + ((key >> r.shift) & ((uint64_t{1} << r.digit_bits) - 1))];
            }
            return;
          }
        });
      }
      std::vector<Range> next;
      for (size_t i = 0; i < open.size(); ++i) {
        const Range& r = open[i];
        if (r.collect) {
          Finish(r, ranks, collected[i], out);
          continue;
        }
        // Each wanted rank falls in the bucket where the running count passes it.
        const uint64_t* counts = &histograms[r.offset];
        uint64_t below = r.base;
        uint64_t bucket = 0;
        for (size_t j = r.first; j < r.last; ++j) {
          while (below + counts[bucket] <= ranks[j]) below += counts[bucket++];
          const uint64_t lo = r.lo | (bucket << r.shift);
          if (!next.empty() && next.back().lo == lo) {
            next.back().last = j + 1;
          } else {
            next.push_back(Range{lo, r.known + r.digit_bits, below, counts[bucket], j, j + 1});
          }
        }
      }
      open.clear();
      for (const Range& r : next) Narrow(r, out, open);
      next.clear();
    }
    return out;
  }

 private:
  // A range of this many keys is collected however small the limit: it costs no more than the
  // single key that narrowing it would end with.
  static constexpr size_t kMinCollect = 1;
  // More keys than this are narrowed further, even when memory would allow collecting them: a
  // pass over a mapped column is cheaper than nth_element over a large copy.
  static constexpr size_t kMaxCollect = 65'536;
  static constexpr int kMaxDigitBits = 16;
  static constexpr int kMinDigitBits = 8;
  // One range per wanted rank at most: 7 quantiles need at most 14 order statistics.
  static constexpr size_t kMaxRanges = 2 * kQuantiles.size();

  // The keys whose top `known` bits are those of `lo` (whose other bits are 0), and the wanted
  // ranks [first, last) among them; `base` keys of the column are smaller.
  struct Range {
    uint64_t lo = 0;
    int known = 0;
    uint64_t base = 0;
    uint64_t count = 0;
    size_t first = 0;
    size_t last = 0;
    // Set by Plan for the next pass.
    bool collect = false;
    int digit_bits = 0;
    int shift = 0;
    size_t offset = 0;  // of its histogram

    uint64_t Hi() const { return known == 64 ? lo : lo | (~uint64_t{0} >> known); }
  };

  // The top `known` bits of `key`, the others 0.
  static uint64_t Prefix(uint64_t key, int known) {
    if (known == 0) return 0;
    if (known == 64) return key;
    return key & ~(~uint64_t{0} >> known);
  }

  // Keeps `r` for the next pass, or records its ranks now when all its keys are equal.
  static void Narrow(const Range& r, std::vector<uint64_t>& out, std::vector<Range>& open) {
    if (r.known == 64) {
      for (size_t j = r.first; j < r.last; ++j) out[j] = r.lo;
    } else {
      open.push_back(r);
    }
  }

  // Chooses for each range whether to collect it or how wide a digit to count next, within the
  // byte limits.
  void Plan(std::vector<Range>& open) const {
    const size_t collect_limit = std::clamp(collect_bytes_ / sizeof(uint64_t) / open.size(), kMinCollect, kMaxCollect);
    size_t histograms = 0;
    for (Range& r : open) {
      r.collect = r.count <= collect_limit;
      histograms += r.collect ? 0 : 1;
    }
    int bits = kMaxDigitBits;
    while (bits > kMinDigitBits && histograms * (size_t{1} << bits) * sizeof(uint64_t) > histogram_bytes_) --bits;
    for (Range& r : open) {
      r.digit_bits = std::min(bits, 64 - r.known);
      r.shift = 64 - r.known - r.digit_bits;
    }
  }

  static void Finish(const Range& r, const std::vector<uint64_t>& ranks, std::vector<uint64_t>& keys,
                     std::vector<uint64_t>& out) {
    std::vector<size_t> positions;
    for (size_t j = r.first; j < r.last; ++j) positions.push_back(ranks[j] - r.base);
    MultiSelect(keys.data(), keys.data() + keys.size(), positions.data(), positions.data() + positions.size(), 0);
    for (size_t j = r.first; j < r.last; ++j) out[j] = keys[ranks[j] - r.base];
    std::vector<uint64_t>().swap(keys);
  }

  size_t histogram_bytes_;
  size_t collect_bytes_;
};

// The seven quantiles of the n values whose keys `for_each_key` passes (see RankSelector), each
// key turned back into a value by `value`.
template <class ForEachKey, class Value>
json Quantiles(RankSelector& selector, ForEachKey&& for_each_key, uint64_t n, uint64_t min_key, uint64_t max_key,
               Value&& value) {
  std::array<double, kQuantiles.size()> index{};
  std::vector<uint64_t> ranks;
  for (size_t q = 0; q < kQuantiles.size(); ++q) {
    index[q] = static_cast<double>(n - 1) * kQuantiles[q].second;
    const auto i = static_cast<uint64_t>(std::floor(index[q]));
    ranks.push_back(i);
    if (index[q] > std::floor(index[q]) && i + 1 < n) ranks.push_back(i + 1);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  const std::vector<uint64_t> keys = selector.Select(for_each_key, n, min_key, max_key, ranks);
  auto at = [&](uint64_t rank) {
    return value(keys[static_cast<size_t>(std::lower_bound(ranks.begin(), ranks.end(), rank) - ranks.begin())]);
  };
  json out = json::object();
  for (size_t q = 0; q < kQuantiles.size(); ++q) {
    const double lo = std::floor(index[q]);
    const auto i = static_cast<uint64_t>(lo);
    const double t = index[q] - lo;
    const double a = at(i);
    const double b = t > 0 && i + 1 < n ? at(i + 1) : a;
    out[kQuantiles[q].first] = Lerp(a, b, t);
  }
  return out;
}

// numpy.histogram(values, bins=20), reproduced step by step (including its corrections for
// values within an ulp of a bin edge) so that the counts agree exactly, fed one value at a time.
// `span` is max - min as numpy computes it (exact for integers, where numpy subtracts in unsigned
// 64 bits). Thread-compatible.
class Histogram {
 public:
  Histogram(double min, double max, double span)
      : first_(min), last_(max), valid_(std::isfinite(min) && std::isfinite(max)) {
    if (!valid_) return;
    if (first_ == last_) {
      first_ -= 0.5;
      last_ += 0.5;
      span = last_ - first_;
    }
    const double step = (last_ - first_) / kHistogramBins;
    for (int i = 0; i <= kHistogramBins; ++i) edges_[i] = i * step + first_;
    edges_[kHistogramBins] = last_;
    norm_ = kHistogramBins / span;
  }

  void Add(double x) {
    if (!valid_) return;
    auto i = static_cast<int64_t>((x - first_) * norm_);
    i = std::clamp<int64_t>(i, 0, kHistogramBins - 1);
    if (x < edges_[i] && i > 0) --i;
    if (x >= edges_[i + 1] && i != kHistogramBins - 1) ++i;
    ++counts_[i];
  }

  json ToJson() const { return valid_ ? json{{"edges", edges_}, {"counts", counts_}} : json(nullptr); }

 private:
  double first_;
  double last_;
  bool valid_;
  double norm_ = 0;
  std::array<double, kHistogramBins + 1> edges_{};
  std::array<int64_t, kHistogramBins> counts_{};
};

// The most frequent values: (count, value) pairs sorted by count descending, then value.
json TopValues(std::vector<std::pair<uint64_t, std::string_view>> entries) {
  auto order = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  const size_t k = std::min(kTopValues, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(k), entries.end(), order);
  json out = json::array();
  for (size_t i = 0; i < k; ++i) out.push_back({{"value", entries[i].second}, {"count", entries[i].first}});
  return out;
}

// What phase one tells the correlation phase about a numeric column.
struct NumericSummary {
  double mean = 0;
};

// How a worker thread shares out its part of ProfileOptions::memory_budget_bytes, so that its
// memory stays bounded whatever the number of rows:
// - 5/8 for the distinct values: the hash set of a numeric or temporal column (kept from one
//   column to the next), or the table, counts and first rows of a text column (which first
//   returns the set's memory), each with at most the entries below;
// - 1/8 each for the quantiles' histograms and collected keys (RankSelector);
// - after the columns, half for the correlation's row chunks (AccumulateGroup).
// A set of 64-bit hashes at most half full costs up to 32 bytes an entry, and 48 while it grows
// (both tables are alive). A text value costs 12 bytes a slot (72 an entry while growing), plus
// its count and first row (16 bytes, up to 48 while those vectors grow) and a copy of its count
// to find the tenth largest. Immutable once made; safe for concurrent use.
struct Limits {
  static constexpr size_t kBytesPerHash = 48;
  static constexpr size_t kBytesPerText = 128;

  Limits(const ProfileOptions& options, int threads) {
    const size_t per_thread = options.memory_budget_bytes / static_cast<size_t>(threads);
    const size_t distinct_bytes = per_thread / 8 * 5;
    exact_distinct = std::min(options.exact_distinct_limit, distinct_bytes / kBytesPerHash);
    text_distinct = std::min(options.exact_distinct_limit, distinct_bytes / kBytesPerText);
    histogram_bytes = per_thread / 8;
    collect_bytes = per_thread / 8;
    correlation_bytes = per_thread / 2;
  }

  size_t exact_distinct;
  size_t text_distinct;
  size_t histogram_bytes;
  size_t collect_bytes;
  size_t correlation_bytes;
};

// Hashes are counted in batches of this many (so that the table's slots can be prefetched),
// which bounds the batch buffer whatever the size of a row group.
constexpr size_t kHashBatch = 4096;

// A worker's buffers, reused from one column to the next. Thread-compatible; one per worker.
struct Scratch {
  std::vector<uint64_t> hashes;
  HashIndex distinct{false};
};

// Profiles one column. Thread-compatible; one per column.
class ColumnProfiler {
 public:
  ColumnProfiler(const ColumnarFile& file, size_t column, const Limits& limits, Scratch& scratch)
      : file_(file), limits_(limits), schema_(file.schema()[column]), scratch_(scratch) {
    views_.reserve(file.row_groups());
    for (size_t g = 0; g < file.row_groups(); ++g) views_.push_back(file.column(g, column));
  }

  json Run(NumericSummary* summary) {
    json out = {{"name", schema_.name}, {"type", std::string(TypeName(schema_.type))},
                {"min", nullptr},       {"max", nullptr},
                {"mean", nullptr},      {"std", nullptr},
                {"quantiles", nullptr}, {"histogram", nullptr},
                {"top_values", nullptr}};
    switch (schema_.type) {
      case ColumnType::kInteger:
      case ColumnType::kNumber: Numeric(out, summary); break;
      case ColumnType::kDate:
      case ColumnType::kDatetime: Temporal(out); break;
      case ColumnType::kBoolean: Boolean(out, summary); break;
      case ColumnType::kCategory: Category(out); break;
      case ColumnType::kText: Text(out); break;
    }
    out["count"] = count_;
    out["missing"] = file_.rows() - count_;
    return out;
  }

 private:
  void SetDistinct(json& out, uint64_t distinct, bool exact) {
    out["distinct"] = distinct;
    out["distinct_method"] = exact ? "exact" : "hll";
  }

  void Numeric(json& out, NumericSummary* summary) {
    if (schema_.type == ColumnType::kInteger) {
      NumericOf<int64_t>(out, summary);
    } else {
      NumericOf<double>(out, summary);
    }
  }

  // Three kinds of passes over the mapped column, none of which copies it: the count, sum,
  // extremes and distinct values; then the squares and the histogram, which need the mean and
  // the extremes; then the quantiles' radix select (usually two passes).
  template <class T>
  void NumericOf(json& out, NumericSummary* summary) {
    constexpr bool kInteger = std::is_same_v<T, int64_t>;
    std::vector<uint64_t>& hashes = scratch_.hashes;
    hashes.clear();
    DistinctCounter distinct(limits_.exact_distinct, scratch_.distinct);
    T min{};
    T max{};
    uint64_t min_key = ~uint64_t{0};
    uint64_t max_key = 0;
    double sum = 0;
    uint64_t n = 0;
    ForEachValue<T>(views_, [&](T x) {
      // As std::minmax_element: the first of equal smallest values and the last of equal largest
      // ones (which matters only for -0.0 and +0.0).
      if (n == 0 || x < min) min = x;
      if (n == 0 || !(x < max)) max = x;
      const uint64_t key = Key(x);
      min_key = std::min(min_key, key);
      max_key = std::max(max_key, key);
      sum += static_cast<double>(x);
      ++n;
      if constexpr (kInteger) {
        hashes.push_back(HashInt(x));
      } else {
        hashes.push_back(HashDouble(x));
      }
      if (hashes.size() == kHashBatch) {
        distinct.Add(hashes);
        hashes.clear();
      }
    });
    distinct.Add(hashes);
    count_ = static_cast<int64_t>(n);
    SetDistinct(out, distinct.count(), distinct.exact());
    if (n == 0) return;
    const double mean = sum / static_cast<double>(n);
    summary->mean = mean;
    out["min"] = min;
    out["max"] = max;
    out["mean"] = mean;
    double span = 0;
    if constexpr (kInteger) {
      span = static_cast<double>(static_cast<uint64_t>(max) - static_cast<uint64_t>(min));
    } else {
      span = max - min;
    }
    Histogram histogram(static_cast<double>(min), static_cast<double>(max), span);
    double squares = 0;
    ForEachValue<T>(views_, [&](T value) {
      const auto x = static_cast<double>(value);
      squares += (x - mean) * (x - mean);
      histogram.Add(x);
    });
    if (n > 1) out["std"] = std::sqrt(squares / static_cast<double>(n - 1));
    out["histogram"] = histogram.ToJson();
    RankSelector selector(limits_.histogram_bytes, limits_.collect_bytes);
    auto for_each_key = [&](auto&& f) { ForEachValue<T>(views_, [&](T x) { f(Key(x)); }); };
    out["quantiles"] =
        Quantiles(selector, for_each_key, n, min_key, max_key, kInteger ? IntegerFromKey : NumberFromKey);
  }

  void Temporal(json& out) {
    std::vector<uint64_t>& hashes = scratch_.hashes;
    hashes.clear();
    DistinctCounter distinct(limits_.exact_distinct, scratch_.distinct);
    int64_t min = std::numeric_limits<int64_t>::max();
    int64_t max = std::numeric_limits<int64_t>::min();
    ForEachValue<int64_t>(views_, [&](int64_t x) {
      min = std::min(min, x);
      max = std::max(max, x);
      ++count_;
      hashes.push_back(HashInt(x));
      if (hashes.size() == kHashBatch) {
        distinct.Add(hashes);
        hashes.clear();
      }
    });
    distinct.Add(hashes);
    SetDistinct(out, distinct.count(), distinct.exact());
    if (count_ == 0) return;
    const bool date = schema_.type == ColumnType::kDate;
    out["min"] = date ? FormatDate(min) : FormatDatetime(min);
    out["max"] = date ? FormatDate(max) : FormatDatetime(max);
  }

  void Boolean(json& out, NumericSummary* summary) {
    std::array<uint64_t, 2> counts{};
    for (const ColumnView& v : views_) {
      for (int64_t i = 0; i < v.rows; ++i) {
        if (v.IsValid(i)) ++counts[v.ints()[static_cast<size_t>(i)] != 0 ? 1 : 0];
      }
    }
    count_ = static_cast<int64_t>(counts[0] + counts[1]);
    if (count_ > 0) summary->mean = static_cast<double>(counts[1]) / static_cast<double>(count_);
    SetDistinct(out, (counts[0] > 0 ? 1 : 0) + (counts[1] > 0 ? 1 : 0), true);
    std::vector<std::pair<uint64_t, std::string_view>> entries;
    if (counts[0] > 0) entries.emplace_back(counts[0], "false");
    if (counts[1] > 0) entries.emplace_back(counts[1], "true");
    out["top_values"] = TopValues(std::move(entries));
  }

  void Category(json& out) {
    std::vector<uint64_t> counts(schema_.categories.size(), 0);
    for (const ColumnView& v : views_) {
      const auto codes = v.codes();
      if (v.missing == 0) {
        for (uint32_t code : codes) ++counts[code];
      } else {
        for (int64_t i = 0; i < v.rows; ++i) {
          if (v.IsValid(i)) ++counts[codes[static_cast<size_t>(i)]];
        }
      }
      count_ += v.rows - v.missing;
    }
    std::vector<std::pair<uint64_t, std::string_view>> entries;
    for (size_t code = 0; code < counts.size(); ++code) {
      if (counts[code] > 0) entries.emplace_back(counts[code], schema_.categories[code]);
    }
    SetDistinct(out, entries.size(), true);
    out["top_values"] = TopValues(std::move(entries));
  }

  void Text(json& out) {
    // Each distinct value seen gets an id, a count and where it first appeared (to fetch its text
    // for the top values). Past the exact limit, distinct switches to HyperLogLog and values not
    // seen before are no longer counted: top values are then those of the first distinct values.
    // The worker's hash set gives its memory back first, so that the two do not add up.
    scratch_.distinct.Release();
    HashIndex index(true);
    std::vector<uint64_t> counts;
    std::vector<std::pair<uint32_t, uint32_t>> first_seen;  // (group, row)
    std::optional<HyperLogLog> hll;
    for (size_t g = 0; g < views_.size(); ++g) {
      const ColumnView& v = views_[g];
      for (int64_t i = 0; i < v.rows; ++i) {
        if (!v.IsValid(i)) continue;
        const std::string_view s = v.Text(i);
        const uint64_t h = HashBytes(s.data(), s.size());
        const uint32_t id = index.FindOrAdd(h, !hll);
        if (hll) hll->Add(h);
        if (id == HashIndex::kAbsent) continue;
        if (id == counts.size()) {
          counts.push_back(0);
          first_seen.emplace_back(static_cast<uint32_t>(g), static_cast<uint32_t>(i));
          if (!hll && index.size() > limits_.text_distinct) {
            hll.emplace();
            index.ForEachKey([&](uint64_t k) { hll->Add(k); });
          }
        }
        ++counts[id];
      }
      count_ += v.rows - v.missing;
    }
    SetDistinct(out, hll ? hll->Estimate() : index.size(), !hll);
    // Only values whose count reaches the tenth-largest count can be among the top values, so the
    // texts of the others are never fetched.
    uint64_t threshold = 0;
    if (counts.size() > kTopValues) {
      std::vector<uint64_t> sorted = counts;
      std::nth_element(sorted.begin(), sorted.begin() + kTopValues - 1, sorted.end(), std::greater<>());
      threshold = sorted[kTopValues - 1];
    }
    std::vector<std::pair<uint64_t, std::string_view>> entries;
    for (size_t id = 0; id < counts.size(); ++id) {
      if (counts[id] < threshold) continue;
      const auto [g, row] = first_seen[id];
      entries.emplace_back(counts[id], views_[g].Text(row));
    }
    out["top_values"] = TopValues(std::move(entries));
  }

  const ColumnarFile& file_;
  const Limits& limits_;
  const ColumnSchema& schema_;
  Scratch& scratch_;
  std::vector<ColumnView> views_;
  int64_t count_ = 0;
};

// Pairwise-complete sums for the correlation of columns i and j (row-major K x K arrays):
// over the rows where both are present, n, the sum of column i's shifted values, of their
// squares, and (symmetric) of the products. Thread-compatible; one per thread, then merged.
struct CorrelationSums {
  explicit CorrelationSums(size_t k) : k(k), n(k * k), sum(k * k), squares(k * k), products(k * k) {}
  void Merge(const CorrelationSums& o) {
    for (size_t i = 0; i < k * k; ++i) {
      n[i] += o.n[i];
      sum[i] += o.sum[i];
      squares[i] += o.squares[i];
      products[i] += o.products[i];
    }
  }
  size_t k;
  std::vector<double> n, sum, squares, products;
};

double Dot(const double* a, const double* b, size_t n) {
  // Four accumulators so that the additions do not wait on each other.
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

double Sum(const double* a, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < n; ++i) s0 += a[i];
  return (s0 + s1) + (s2 + s3);
}

// Adds row group g to `sums`. Values are shifted by their column's mean, which keeps the one-pass
// formulas below numerically stable; a missing value becomes 0 with weight 0, so that the sums
// over "rows where both are present" are plain dot products.
// `chunk` rows are taken at a time, so that the K columns' chunks (3 doubles a row each) stay in
// cache and in the memory budget.
void AccumulateGroup(const ColumnarFile& file, size_t g, const std::vector<size_t>& columns,
                     const std::vector<double>& shift, size_t chunk, CorrelationSums& sums) {
  const size_t k = columns.size();
  std::vector<ColumnView> views;
  views.reserve(k);
  for (size_t c : columns) views.push_back(file.column(g, c));
  const auto rows = static_cast<size_t>(file.group_rows(g));
  std::vector<double> x(k * chunk), xx(k * chunk), w(k * chunk);
  std::vector<double> sx(k), sxx(k), sw(k);
  std::vector<uint8_t> complete(k);
  for (size_t r0 = 0; r0 < rows; r0 += chunk) {
    const size_t len = std::min(chunk, rows - r0);
    for (size_t a = 0; a < k; ++a) {
      const ColumnView& v = views[a];
      double* xa = &x[a * chunk];
      double* wa = &w[a * chunk];
      double* xxa = &xx[a * chunk];
      bool all = true;
      for (size_t i = 0; i < len; ++i) {
        const auto row = static_cast<int64_t>(r0 + i);
        double value = 0;
        bool ok = v.IsValid(row);
        if (ok) {
          value = v.type == ColumnType::kNumber ? v.doubles()[r0 + i] : static_cast<double>(v.ints()[r0 + i]);
          ok = !std::isnan(value);
        }
        xa[i] = ok ? value - shift[a] : 0;
        wa[i] = ok ? 1 : 0;
        xxa[i] = xa[i] * xa[i];
        all = all && ok;
      }
      complete[a] = all ? 1 : 0;
      sx[a] = Sum(xa, len);
      sxx[a] = Sum(xxa, len);
      sw[a] = all ? static_cast<double>(len) : Sum(wa, len);
    }
    for (size_t a = 0; a < k; ++a) {
      for (size_t b = a; b < k; ++b) {
        const double* xa = &x[a * chunk];
        const double* xb = &x[b * chunk];
        const double p = Dot(xa, xb, len);
        sums.products[a * k + b] += p;
        if (a != b) sums.products[b * k + a] += p;
        // Column a's sums over the rows where b is present, and b's over those where a is.
        sums.sum[a * k + b] += complete[b] ? sx[a] : Dot(xa, &w[b * chunk], len);
        sums.squares[a * k + b] += complete[b] ? sxx[a] : Dot(&xx[a * chunk], &w[b * chunk], len);
        const double n = complete[a] ? sw[b] : complete[b] ? sw[a] : Dot(&w[a * chunk], &w[b * chunk], len);
        sums.n[a * k + b] += n;
        if (a != b) {
          sums.sum[b * k + a] += complete[a] ? sx[b] : Dot(xb, &w[a * chunk], len);
          sums.squares[b * k + a] += complete[a] ? sxx[b] : Dot(&xx[b * chunk], &w[a * chunk], len);
          sums.n[b * k + a] += n;
        }
      }
    }
  }
}

// Runs `work(worker)` on `threads` threads and rethrows the first exception any of them threw
// (none escapes a thread).
template <class F>
void RunWorkers(int threads, F&& work) {
  std::mutex mutex;
  std::exception_ptr error;  // guarded by mutex
  std::vector<std::jthread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        work(t);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  pool.clear();  // joins
  if (error) std::rethrow_exception(error);
}

json Correlation(const ColumnarFile& file, const std::vector<size_t>& columns, const std::vector<double>& means,
                 int threads, const Limits& limits) {
  const size_t k = columns.size();
  // 2048 rows unless the budget asks for fewer; a multiple of 4 for Dot and Sum's unrolling.
  constexpr size_t kMaxChunk = 2048;
  constexpr size_t kMinChunk = 64;
  const size_t chunk = std::clamp(limits.correlation_bytes / (3 * sizeof(double) * std::max<size_t>(k, 1)) / 4 * 4,
                                  kMinChunk, kMaxChunk);
  json names = json::array();
  for (size_t c : columns) names.push_back(file.schema()[c].name);
  std::vector<CorrelationSums> partial;
  partial.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) partial.emplace_back(k);
  if (k > 0) {
    RunWorkers(threads, [&](int t) {
      for (size_t g = static_cast<size_t>(t); g < file.row_groups(); g += static_cast<size_t>(threads)) {
        AccumulateGroup(file, g, columns, means, chunk, partial[static_cast<size_t>(t)]);
      }
    });
  }
  for (int t = 1; t < threads; ++t) partial[0].Merge(partial[static_cast<size_t>(t)]);
  const CorrelationSums& s = partial[0];
  // Below this fraction of its (shifted) second moment a variance is rounding noise: the column
  // is constant over the rows in question.
  constexpr double kConstant = 1e-12;
  json matrix = json::array();
  for (size_t a = 0; a < k; ++a) {
    json row = json::array();
    for (size_t b = 0; b < k; ++b) {
      const size_t ab = a * k + b;
      const size_t ba = b * k + a;
      const double n = s.n[ab];
      const double va = s.squares[ab] - s.sum[ab] * s.sum[ab] / n;
      const double vb = s.squares[ba] - s.sum[ba] * s.sum[ba] / n;
      if (n < 2 || !(va > kConstant * s.squares[ab]) || !(vb > kConstant * s.squares[ba])) {
        row.push_back(nullptr);
      } else if (a == b) {
        row.push_back(1.0);
      } else {
        const double cov = s.products[ab] - s.sum[ab] * s.sum[ba] / n;
        row.push_back(std::clamp(cov / std::sqrt(va * vb), -1.0, 1.0));
      }
    }
    matrix.push_back(std::move(row));
  }
  return json{{"columns", std::move(names)}, {"matrix", std::move(matrix)}};
}

}  // namespace

json ComputeProfile(const ColumnarFile& file, const ProfileOptions& options) {
  const Schema& schema = file.schema();
  const int threads = std::max(1, options.threads);
  std::vector<json> columns(schema.size());
  std::vector<NumericSummary> summaries(schema.size());
  std::atomic<size_t> next{0};
  const Limits limits(options, threads);
  RunWorkers(std::min<int>(threads, static_cast<int>(std::max<size_t>(schema.size(), 1))), [&](int /*worker*/) {
    Scratch scratch;
    for (size_t c = next++; c < schema.size(); c = next++) {
      columns[c] = ColumnProfiler(file, c, limits, scratch).Run(&summaries[c]);
    }
  });

  std::vector<size_t> numeric;
  std::vector<double> means;
  for (size_t c = 0; c < schema.size() && numeric.size() < options.max_correlation_columns; ++c) {
    if (IsNumeric(schema[c].type)) {
      numeric.push_back(c);
      means.push_back(summaries[c].mean);
    }
  }
  json out;
  out["rows"] = file.rows();
  out["columns"] = std::move(columns);
  out["correlation"] = Correlation(file, numeric, means, threads, limits);
  return out;
}

}  // namespace playground::data
