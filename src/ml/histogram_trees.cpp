#include "ml/histogram_trees.h"

#include <omp.h>

#include <boost/sort/spreadsort/integer_sort.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace playground::ml::detail {
namespace {

constexpr std::size_t kHistogramBins = BinnedMatrix::kMaxBins + 1;
// Nodes of at most this many rows find their splits by sorting their rows' values, which costs
// about what clearing and scanning a 256-bin histogram per feature does, and splits exactly
// between neighbouring values: a deep forest's small nodes often hold rows of a single bin.
constexpr std::uint32_t kSmallNode = 128;
// Histograms kept for one level so the larger child of each split can be had by subtraction;
// past this a level builds every histogram and keeps none.
constexpr std::size_t kHistogramBudget = std::size_t{256} << 20;
// ... and only while its nodes average this many rows: below, subtracting 256 bins per feature
// costs more than building from the rows.
constexpr std::size_t kLeastRowsToKeep = 1024;
// A side of a split needs at least this hessian even with min_child_weight 0, so that it holds
// rows.
constexpr double kLeastHessian = 1e-8;
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;  // splitmix64's increment

using Bin = PackedSum;

// The steps of one tree's PackedSums: `rows` gradients of at most g_max in size and hessians of
// at most h_max each take at most 2^31 - 1 steps in all, so the sum of h fits 32 bits and the
// sum of g cannot carry into the sign. (A tree of 128k rows thus rounds each gradient to 1/16383
// of the largest; LightGBM trains well on far coarser steps.) Values that are all whole numbers
// and fit, such as a forest's class targets and draw counts, keep a step of 1 and stay exact: a
// pure node's splits must gain exactly nothing.
class FixedPoint {
 public:
  FixedPoint(double g_max, bool g_whole, double h_max, bool h_whole, std::size_t rows) {
    double steps = std::floor(static_cast<double>(std::numeric_limits<std::int32_t>::max()) /
                              static_cast<double>(std::max<std::size_t>(rows, 1)));
    g_step_ = Step(g_max, g_whole, steps);
    h_step_ = Step(h_max, h_whole, steps);
    g_scale_ = g_step_ > 0 ? 1 / g_step_ : 0;
    h_scale_ = h_step_ > 0 ? 1 / h_step_ : 0;
  }

  PackedSum Pack(GradientPair p) const {
    return Round(static_cast<double>(p.g) * g_scale_) * kHigh + Round(static_cast<double>(p.h) * h_scale_);
  }
  double G(PackedSum sum) const { return static_cast<double>(High(sum)) * g_step_; }
  double H(PackedSum sum) const { return static_cast<double>(HighFree(sum)) * h_step_; }

 private:
  static constexpr PackedSum kHigh = PackedSum{1} << 32;
  static PackedSum HighFree(PackedSum sum) { return sum & (kHigh - 1); }
  // g: what is left once h is taken off, shifted down (arithmetically: g may be negative).
  static PackedSum High(PackedSum sum) { return (sum - HighFree(sum)) >> 32; }
  static double Step(double max, bool whole, double steps) {
    if (max <= 0) return 0;
    return whole && max <= steps ? 1 : max / steps;
  }
  // Half away from zero, inline (std::llround is a library call, and every row is packed).
  static PackedSum Round(double v) { return static_cast<PackedSum>(v + (v < 0 ? -0.5 : 0.5)); }

  double g_step_;
  double h_step_;
  double g_scale_;  // steps per unit
  double h_scale_;
};

// Midpoint of two neighbouring distinct values, never rounded up to the larger one (a value
// equal to the cut must stay in the lower bin).
float Midpoint(float low, float high) {
  auto mid = static_cast<float>((static_cast<double>(low) + static_cast<double>(high)) / 2);
  return mid >= high ? low : mid;
}

// Sorts non-missing values with Boost's integer_sort (radix-based) on their bits mapped to
// unsigned keys of the same order. (Boost's float_sort overflows a signed int on negative values,
// and std::sort took half of a boosting fit's binning.)
void SortValues(std::vector<float>& values) {
  std::vector<std::uint32_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto bits = std::bit_cast<std::uint32_t>(values[i]);
    keys[i] = (bits & 0x80000000U) != 0 ? ~bits : bits | 0x80000000U;
  }
  boost::sort::spreadsort::integer_sort(keys.begin(), keys.end());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t key = keys[i];
    values[i] = std::bit_cast<float>((key & 0x80000000U) != 0 ? key & 0x7FFFFFFFU : ~key);
  }
}

// The cuts of one feature from its sorted non-missing values.
std::vector<float> MakeCuts(const std::vector<float>& sorted, int max_bins) {
  std::vector<float> cuts;
  std::vector<float> distinct;
  std::unique_copy(sorted.begin(), sorted.end(), std::back_inserter(distinct));
  if (distinct.size() <= static_cast<std::size_t>(max_bins)) {
    for (std::size_t i = 0; i + 1 < distinct.size(); ++i) cuts.push_back(Midpoint(distinct[i], distinct[i + 1]));
  } else {
    for (int j = 1; j < max_bins; ++j) {
      float value = sorted[static_cast<std::size_t>(j) * sorted.size() / static_cast<std::size_t>(max_bins)];
      auto next = std::upper_bound(distinct.begin(), distinct.end(), value);
      if (next == distinct.end()) break;
      float cut = Midpoint(value, *next);
      if (cuts.empty() || cut > cuts.back()) cuts.push_back(cut);
    }
  }
  cuts.push_back(std::numeric_limits<float>::infinity());
  return cuts;
}

// 1 + the index of the first cut >= v, in eight branchless halvings of `padded`: the feature's
// cuts followed by +infinity up to 256 entries, so every step reads inside it. NaN, which no
// comparison holds for, would end at 1 and is tested apart.
std::uint8_t BinOf(const float* padded, float v) {
  if (v != v) return 0;
  std::size_t at = 0;
  for (std::size_t step = 128; step > 0; step /= 2) at += padded[at + step - 1] < v ? step : 0;
  return static_cast<std::uint8_t>(1 + at);
}

// The best split found so far at one node: rows with row[feature] <= threshold go left, which is
// bin <= `bin` when it came from a histogram (exact = false), or a cut between two raw values.
struct Candidate {
  double gain = 0;
  bool found = false;
  std::uint32_t feature = 0;
  float threshold = 0;
  int bin = 0;
  bool exact = false;
  bool missing_left = false;
  PackedSum left = 0;  // the sums of the rows going left
};

// Split gains in XGBoost's form: half the drop of -T(G)^2 / (H + lambda) less gamma, where T
// shrinks G towards 0 by alpha.
class Gains {
 public:
  Gains(const GrowOptions& options, const FixedPoint& fixed)
      : options_(options), fixed_(fixed), least_hessian_(std::max(options.min_child_weight, kLeastHessian)) {}

  double Score(double g, double h) const {
    double t = Shrink(g);
    return t * t / (h + options_.lambda);
  }
  double Score(PackedSum sum) const { return Score(fixed_.G(sum), fixed_.H(sum)); }
  float LeafValue(PackedSum sum) const {
    return static_cast<float>(-Shrink(fixed_.G(sum)) / (fixed_.H(sum) + options_.lambda) * options_.learning_rate);
  }
  // The least gain that counts: gamma aside, a split must beat rounding noise of the parent's
  // score (a pure node's sides can "gain" 1e-17).
  double Least(double parent_score) const { return 1e-12 * std::abs(parent_score) + 1e-300; }

  // `bin` 0 marks a split between raw values.
  void Consider(Candidate& best, std::uint32_t feature, float threshold, int bin, bool missing_left, PackedSum left,
                PackedSum total, double parent_score) const {
    PackedSum right = total - left;
    double hl = fixed_.H(left);
    double hr = fixed_.H(right);
    if (hl < least_hessian_ || hr < least_hessian_) return;
    double gain = 0.5 * (Score(fixed_.G(left), hl) + Score(fixed_.G(right), hr) - parent_score) - options_.gamma;
    if (gain > best.gain) best = {gain, true, feature, threshold, bin, bin == 0, missing_left, left};
  }

 private:
  double Shrink(double g) const {
    if (options_.alpha == 0) return g;
    if (g > options_.alpha) return g - options_.alpha;
    if (g < -options_.alpha) return g + options_.alpha;
    return 0;
  }

  const GrowOptions& options_;
  const FixedPoint& fixed_;
  double least_hessian_;
};

// A node waiting for its split at the current level.
struct OpenNode {
  std::uint32_t node;  // index in the tree
  std::uint32_t begin;
  std::uint32_t end;
  PackedSum sum;
  std::size_t parent_slot = kNone;  // the parent's histograms in the previous level's pool
  std::size_t sibling = kNone;      // the sibling's index in this level
  bool derive = false;              // histograms = parent's - sibling's
};

// Rows [begin, end) of a split node, and where the first of them going left and the first going
// right are written.
struct Piece {
  std::size_t split;
  std::uint32_t begin;
  std::uint32_t end;
  std::uint32_t lefts = 0;
  std::uint32_t left_at = 0;
  std::uint32_t right_at = 0;
};
constexpr std::uint32_t kPieceRows = 16384;
constexpr std::uint32_t kPrefetchAhead = 16;  // rows
// A node with kept histograms and at least this many rows per thread is built by rows.
constexpr std::uint32_t kRowShareRows = 8192;

// Rows' bins and gradients are read by row number, which the hardware cannot foresee: histogram
// loops ask for the row kPrefetchAhead places on.
inline void Prefetch(const BinnedMatrix& x, const PackedSum* packed, const std::uint32_t* order, std::uint32_t i,
                     std::uint32_t end) {
  if (i + kPrefetchAhead < end) {
    __builtin_prefetch(x.Row(order[i + kPrefetchAhead]));
    __builtin_prefetch(packed + order[i + kPrefetchAhead]);
  }
}

// Whether `row` goes left at `split`; `column` is the split feature's bins.
inline bool GoesLeft(const BinnedMatrix& x, const Candidate& split, const std::uint8_t* column, std::uint32_t row) {
  if (split.exact) {
    float v = x.Value(row, split.feature);
    return v != v ? split.missing_left : v <= split.threshold;
  }
  std::uint8_t bin = column[row];
  return bin == 0 ? split.missing_left : bin <= split.bin;
}

// Adds the rows order[begin, end) to the histograms of features mine[first, last), the one of
// mine[j] at hist + (by_feature ? mine[j] : j) * kHistogramBins. A null `mine` stands for every
// feature in order (mine[j] = j), the common case, which has a loop of its own.
void AddRows(Bin* hist, const BinnedMatrix& x, const PackedSum* sums, const std::uint32_t* order, std::uint32_t begin,
             std::uint32_t end, const std::uint32_t* mine, std::size_t first, std::size_t last, bool by_feature) {
  if (mine == nullptr) {
    // Two rows at a time: their additions interleave.
    std::uint32_t i = begin;
    for (; i + 1 < end; i += 2) {
      Prefetch(x, sums, order, i, end);
      Prefetch(x, sums, order, i + 1, end);
      const std::uint8_t* row = x.Row(order[i]);
      const std::uint8_t* next = x.Row(order[i + 1]);
      const PackedSum p = sums[order[i]];
      const PackedSum q = sums[order[i + 1]];
      for (std::size_t j = first; j < last; ++j) {
        hist[j * kHistogramBins + row[j]] += p;
        hist[j * kHistogramBins + next[j]] += q;
      }
    }
    if (i < end) {
      const std::uint8_t* row = x.Row(order[i]);
      for (std::size_t j = first; j < last; ++j) hist[j * kHistogramBins + row[j]] += sums[order[i]];
    }
    return;
  }
  for (std::uint32_t i = begin; i < end; ++i) {
    Prefetch(x, sums, order, i, end);
    const std::uint8_t* row = x.Row(order[i]);
    const PackedSum p = sums[order[i]];
    for (std::size_t j = first; j < last; ++j) hist[(by_feature ? mine[j] : j) * kHistogramBins + row[mine[j]]] += p;
  }
}

// Builds the histograms of the node of rows order[open.begin, open.end), features mine[0,
// per_node) (null: all), at hist + feature * kHistogramBins, node_bins in all. Each thread adds a
// share of the rows to histograms of its own (thread t > 0 in scratch[t]), which are then summed:
// split by features instead, every thread would read every row.
void BuildByRows(Bin* hist, std::size_t node_bins, const BinnedMatrix& x, const PackedSum* sums,
                 const std::uint32_t* order, const OpenNode& open, const std::uint32_t* mine, std::size_t per_node,
                 std::vector<std::vector<PackedSum>>& scratch, int threads) {
#pragma omp parallel num_threads(threads)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto shares = static_cast<std::size_t>(omp_get_num_threads());
    Bin* own = t == 0 ? hist : scratch[t].data();
    std::fill_n(own, node_bins, Bin{0});
    const std::size_t rows = open.end - open.begin;
    AddRows(own, x, sums, order, static_cast<std::uint32_t>(open.begin + rows * t / shares),
            static_cast<std::uint32_t>(open.begin + rows * (t + 1) / shares), mine, 0, per_node, true);
#pragma omp barrier
    for (std::size_t k = node_bins * t / shares; k < node_bins * (t + 1) / shares; ++k) {
      for (std::size_t other = 1; other < shares; ++other) hist[k] += scratch[other][k];
    }
  }
}

// One unit of parallel work: features [first, last) of the chosen list of one node.
struct Task {
  std::size_t open;
  std::size_t first;
  std::size_t last;
};

// Scans bins 1..bins of one feature's histogram (hist[0] = missing) for the best split.
void ScanHistogram(const Bin* hist, const BinnedMatrix& x, std::uint32_t feature, const OpenNode& open,
                   double parent_score, const Gains& gains, Candidate& best) {
  const Bin missing = hist[0];
  Bin left = 0;
  const int bins = x.Bins(feature);
  for (int b = 1; b <= bins; ++b) {
    if (hist[b] == 0) continue;  // the same split as the bin before
    left += hist[b];
    float cut = x.Cut(feature, b);
    gains.Consider(best, feature, cut, b, false, left, open.sum, parent_score);
    if (missing != 0) gains.Consider(best, feature, cut, b, true, left + missing, open.sum, parent_score);
  }
}

// The same scan for a small node on its rows' raw values (missing ones summed apart): sorted,
// with a cut midway between each pair of neighbouring distinct values.
void ScanSorted(std::vector<BinEntry>& entries, Bin missing, std::uint32_t feature, const OpenNode& open,
                double parent_score, const Gains& gains, Candidate& best) {
  std::sort(entries.begin(), entries.end(), [](const BinEntry& a, const BinEntry& b) { return a.value < b.value; });
  Bin left = 0;
  std::size_t i = 0;
  while (i < entries.size()) {
    float value = entries[i].value;
    for (; i < entries.size() && entries[i].value == value; ++i) left += entries[i].sum;
    float cut = i < entries.size() ? Midpoint(value, entries[i].value) : std::numeric_limits<float>::infinity();
    gains.Consider(best, feature, cut, 0, false, left, open.sum, parent_score);
    if (missing != 0) gains.Consider(best, feature, cut, 0, true, left + missing, open.sum, parent_score);
  }
}

std::uint64_t SplitMix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The steps for `rows` of these gradients: fitted to the largest gradient and hessian of all,
// and whole where every value is.
FixedPoint FitFixedPoint(std::span<const GradientPair> gradients, std::size_t rows, int threads) {
  const auto all_rows = static_cast<std::int64_t>(gradients.size());
  double g_max = 0;
  double h_max = 0;
  bool g_whole = true;
  bool h_whole = true;
  auto whole = [](float v) { return std::abs(v) < 0x1p30F && static_cast<float>(static_cast<std::int32_t>(v)) == v; };
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1) \
    reduction(max : g_max, h_max) reduction(&& : g_whole, h_whole)
  for (std::int64_t r = 0; r < all_rows; ++r) {
    const GradientPair p = gradients[static_cast<std::size_t>(r)];
    g_max = std::max(g_max, static_cast<double>(std::abs(p.g)));
    h_max = std::max(h_max, static_cast<double>(p.h));
    g_whole = g_whole && whole(p.g);
    h_whole = h_whole && whole(p.h);
  }
  return {g_max, g_whole, h_max, h_whole, rows};
}

// The split nodes' rows move from `now` to `next_rows`, lefts first, each side in its order. A
// node is cut into pieces of at most kPieceRows, so that a large one is spread over the threads.
// Each piece packs its lefts at its start, in place, and its rights into `spare`; then the pieces
// are copied to their places. splits[s] = (index in `level`, first child); the answer holds, for
// each split, where its right child's rows begin.
std::vector<std::uint32_t> MoveRows(const BinnedMatrix& x, const std::vector<OpenNode>& level,
                                    const std::vector<Candidate>& best,
                                    const std::vector<std::pair<std::size_t, std::uint32_t>>& splits,
                                    std::uint32_t* now, std::uint32_t* next_rows, std::uint32_t* spare, int threads,
                                    std::vector<Piece>& pieces) {
  pieces.clear();
  for (std::size_t s = 0; s < splits.size(); ++s) {
    const auto& open = level[splits[s].first];
    for (std::uint32_t at = open.begin; at < open.end; at += kPieceRows)
      pieces.push_back({s, at, std::min(open.end, at + kPieceRows)});
  }
  const auto piece_count = static_cast<std::int64_t>(pieces.size());
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && piece_count > 1)
  for (std::int64_t p = 0; p < piece_count; ++p) {
    auto& piece = pieces[static_cast<std::size_t>(p)];
    const Candidate split = best[splits[piece.split].first];
    const std::uint8_t* column = x.Column(split.feature);
    const std::uint32_t begin = piece.begin;
    const std::uint32_t end = piece.end;
    std::uint32_t lefts = 0;
    for (std::uint32_t i = begin; i < end; ++i) {
      // Without branches (the direction is a coin toss to the predictor): the row is written to
      // both places and only the count of lefts depends on it, so the compiler has no second
      // counter to turn back into a branch. The rights so far number i - begin - lefts, and
      // now[begin + lefts] is at or before i.
      std::uint32_t row = now[i];
      bool go_left = GoesLeft(x, split, column, row);
      now[begin + lefts] = row;
      spare[i - lefts] = row;
      lefts += static_cast<std::uint32_t>(go_left);
    }
    piece.lefts = lefts;
  }
  std::vector<std::uint32_t> middle(splits.size());
  for (std::size_t first = 0; first < pieces.size();) {
    std::size_t last = first;
    std::uint32_t lefts = 0;
    for (; last < pieces.size() && pieces[last].split == pieces[first].split; ++last) lefts += pieces[last].lefts;
    std::uint32_t left_at = pieces[first].begin;
    std::uint32_t right_at = pieces[first].begin + lefts;
    middle[pieces[first].split] = right_at;
    for (std::size_t p = first; p < last; ++p) {
      pieces[p].left_at = left_at;
      pieces[p].right_at = right_at;
      left_at += pieces[p].lefts;
      right_at += pieces[p].end - pieces[p].begin - pieces[p].lefts;
    }
    first = last;
  }
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && piece_count > 1)
  for (std::int64_t p = 0; p < piece_count; ++p) {
    const auto& piece = pieces[static_cast<std::size_t>(p)];
    const std::uint32_t rights = piece.end - piece.begin - piece.lefts;
    std::copy_n(now + piece.begin, piece.lefts, next_rows + piece.left_at);
    std::copy_n(spare + piece.begin, rights, next_rows + piece.right_at);
  }
  return middle;
}

}  // namespace

std::vector<std::uint32_t> SampleRows(std::size_t n, std::size_t count, std::mt19937_64& rng) {
  // Knuth's selection sampling: one pass, ascending, exactly `count` rows. The per-row numbers
  // come from splitmix64 seeded by `rng`: the Mersenne twister's double per row costs more than
  // growing a small tree.
  std::vector<std::uint32_t> rows;
  count = std::min(count, n);
  rows.reserve(count);
  std::uint64_t state = rng();
  for (std::size_t i = 0; i < n && rows.size() < count; ++i) {
    state += kGolden;
    double uniform = static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53;
    if (static_cast<double>(n - i) * uniform < static_cast<double>(count - rows.size())) {
      rows.push_back(static_cast<std::uint32_t>(i));
    }
  }
  return rows;
}

std::vector<std::uint32_t> BernoulliRows(std::size_t n, double fraction, std::uint64_t seed, int threads,
                                         std::vector<std::uint32_t>& others) {
  // Row i is drawn when the 53 high bits of splitmix64(seed + (i + 1) * golden) fall below
  // fraction * 2^53. Fixed chunks are drawn and counted, then written, in parallel and without
  // branches (each chunk through buffers with room for the one write past its end).
  const auto least = static_cast<std::uint64_t>(std::clamp(fraction, 0.0, 1.0) * 0x1.0p53);
  std::vector<std::uint8_t> drawn(n);
  constexpr std::size_t kChunk = 16384;
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  const auto chunk_count = static_cast<std::int64_t>(chunks);
  std::vector<std::size_t> starts(chunks + 1, 0);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && chunks > 1)
  for (std::int64_t c = 0; c < chunk_count; ++c) {
    std::size_t first = static_cast<std::size_t>(c) * kChunk;
    std::size_t last = std::min(n, first + kChunk);
    std::size_t count = 0;
    for (std::size_t i = first; i < last; ++i) {
      auto in = static_cast<std::uint8_t>((SplitMix64(seed + (i + 1) * kGolden) >> 11) < least);
      drawn[i] = in;
      count += in;
    }
    starts[static_cast<std::size_t>(c) + 1] = count;
  }
  std::partial_sum(starts.begin(), starts.end(), starts.begin());
  std::vector<std::uint32_t> rows(starts.back());
  others.resize(n - starts.back());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && chunks > 1)
  for (std::int64_t c = 0; c < chunk_count; ++c) {
    std::size_t first = static_cast<std::size_t>(c) * kChunk;
    std::size_t last = std::min(n, first + kChunk);
    std::vector<std::uint32_t> in(last - first + 1);
    std::vector<std::uint32_t> out(last - first + 1);
    std::size_t ins = 0;
    std::size_t outs = 0;
    for (std::size_t i = first; i < last; ++i) {
      in[ins] = static_cast<std::uint32_t>(i);
      out[outs] = static_cast<std::uint32_t>(i);
      ins += drawn[i];
      outs += 1U - drawn[i];
    }
    std::size_t before = starts[static_cast<std::size_t>(c)];
    std::copy_n(in.begin(), ins, rows.begin() + static_cast<std::ptrdiff_t>(before));
    std::copy_n(out.begin(), outs, others.begin() + static_cast<std::ptrdiff_t>(first - before));
  }
  return rows;
}

BinnedMatrix::BinnedMatrix(const Matrix& x, int max_bins, std::uint64_t seed, int threads)
    : raw_(&x), rows_(x.rows), cols_(x.cols), cuts_(x.cols), bins_(x.rows * x.cols), columns_(x.rows * x.cols) {
  max_bins = std::clamp(max_bins, 2, kMaxBins);
  std::vector<std::uint32_t> sample;
  if (rows_ > kCutSampleRows) {
    std::mt19937_64 rng(seed);
    sample = SampleRows(rows_, kCutSampleRows, rng);
  }
  auto columns = static_cast<std::int64_t>(cols_);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
  for (std::int64_t c = 0; c < columns; ++c) {
    std::vector<float> values;
    auto take = [&](std::size_t r) {
      float v = x.values[r * cols_ + static_cast<std::size_t>(c)];
      if (v == v) values.push_back(v);
    };
    if (sample.empty()) {
      values.reserve(rows_);
      for (std::size_t r = 0; r < rows_; ++r) take(r);
    } else {
      values.reserve(sample.size());
      for (auto r : sample) take(r);
    }
    SortValues(values);
    cuts_[static_cast<std::size_t>(c)] = MakeCuts(values, max_bins);
  }
  // Rows in blocks whose raw values stay in L2, one feature at a time within a block so that its
  // cuts stay in L1 and the column-major bytes are written in sequence.
  std::vector<float> padded(cols_ * kHistogramBins, std::numeric_limits<float>::infinity());
  for (std::size_t c = 0; c < cols_; ++c)
    std::copy(cuts_[c].begin(), cuts_[c].end(), padded.begin() + c * kHistogramBins);
  constexpr std::size_t kBlock = 2048;
  auto blocks = static_cast<std::int64_t>((rows_ + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t block = 0; block < blocks; ++block) {
    std::size_t first = static_cast<std::size_t>(block) * kBlock;
    std::size_t last = std::min(rows_, first + kBlock);
    for (std::size_t c = 0; c < cols_; ++c) {
      const float* cuts = padded.data() + c * kHistogramBins;
      std::uint8_t* column = columns_.data() + c * rows_;
      for (std::size_t r = first; r < last; ++r) {
        std::uint8_t bin = BinOf(cuts, x.values[r * cols_ + c]);
        column[r] = bin;
        bins_[r * cols_ + c] = bin;
      }
    }
  }
}

GrownTree GrowTree(const BinnedMatrix& x, std::span<const GradientPair> gradients, std::span<std::uint32_t> rows,
                   std::span<const std::uint32_t> features, const GrowOptions& options, std::mt19937_64& rng,
                   std::vector<double>& gain, GrowWorkspace& workspace, std::span<float> row_values) {
  const std::size_t cols = x.cols();
  const int threads = std::max(1, options.threads);
  const bool sampled = options.features_per_node > 0 && options.features_per_node < features.size();
  const std::size_t per_node = sampled ? options.features_per_node : features.size();
  const bool all_features = !sampled && features.size() == cols;
  const std::size_t node_bins = cols * kHistogramBins;

  // The rows' gradients in fixed point, in steps fitted to the largest gradient and hessian of
  // all (packed[r] is set for the rows of `rows` only).
  const FixedPoint fixed = FitFixedPoint(gradients, rows.size(), threads);
  const Gains gains(options, fixed);
  auto& packed = workspace.packed;
  packed.resize(gradients.size());
  Bin root = 0;
  const auto row_count = static_cast<std::int64_t>(rows.size());
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : root) if (threads > 1)
  for (std::int64_t i = 0; i < row_count; ++i) {
    std::uint32_t row = rows[static_cast<std::size_t>(i)];
    packed[row] = fixed.Pack(gradients[row]);
    root += packed[row];
  }

  // A level's rows are in one buffer and its children's in the other; a third holds rows on
  // their way. Only row numbers move: gradients are read through them.
  workspace.next_rows.resize(rows.size());
  workspace.spare_rows.resize(rows.size());
  std::uint32_t* now = rows.data();
  std::uint32_t* next_rows = workspace.next_rows.data();
  std::uint32_t* const spare = workspace.spare_rows.data();
  std::vector<Piece> pieces;

  GrownTree out;
  out.tree.nodes.emplace_back();
  out.bins.push_back(0);
  std::vector<OpenNode> level = {{0, 0, static_cast<std::uint32_t>(rows.size()), root}};
  auto& pool = workspace.pool;
  auto& parent_pool = workspace.parent_pool;
  auto& scratch = workspace.scratch;
  auto& entries = workspace.entries;
  scratch.resize(std::max(scratch.size(), static_cast<std::size_t>(threads)));
  for (auto& bins : scratch) bins.resize(std::max(bins.size(), sampled ? per_node * kHistogramBins : node_bins));
  entries.resize(std::max(entries.size(), static_cast<std::size_t>(threads)));
  std::vector<std::uint32_t> chosen;
  std::vector<std::uint32_t> pick;
  std::vector<Task> tasks;
  std::vector<Candidate> found;
  std::vector<std::uint8_t> by_rows;  // per node of the level: built by BuildByRows

  auto make_leaf = [&](const OpenNode& open) {
    float value = gains.LeafValue(open.sum);
    out.tree.nodes[open.node].value = value;
    if (!row_values.empty()) {
      for (std::uint32_t i = open.begin; i < open.end; ++i) row_values[now[i]] = value;
    }
  };

  for (int depth = 0; !level.empty(); ++depth) {
    if (depth >= options.max_depth) {
      for (const auto& open : level) make_leaf(open);
      break;
    }
    const std::size_t count = level.size();
    std::size_t level_rows = 0;
    for (const auto& open : level) level_rows += open.end - open.begin;
    const bool keep =
        !sampled && count * node_bins * sizeof(Bin) <= kHistogramBudget && level_rows >= count * kLeastRowsToKeep;
    if (keep) {
      if (pool.size() < count * node_bins) pool.resize(count * node_bins);
    } else {
      for (auto& open : level) open.derive = false;
    }

    // The features each node tries, in ascending order.
    chosen.resize(count * per_node);
    for (std::size_t n = 0; n < count; ++n) {
      auto* mine = chosen.data() + n * per_node;
      if (sampled) {
        pick.assign(features.begin(), features.end());
        for (std::size_t j = 0; j < per_node; ++j) {
          std::uniform_int_distribution<std::size_t> draw(j, pick.size() - 1);
          std::swap(pick[j], pick[draw(rng)]);
        }
        std::copy_n(pick.begin(), per_node, mine);
        std::sort(mine, mine + per_node);
      } else {
        std::copy(features.begin(), features.end(), mine);
      }
    }

    // Tasks: features split into `threads` blocks per node, so even the root keeps every thread
    // busy. Built nodes come first: derived ones read their siblings' histograms.
    tasks.clear();
    const std::size_t blocks = std::min<std::size_t>(static_cast<std::size_t>(threads), per_node);
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t n = 0; n < count; ++n) {
        if (level[n].derive != (pass == 1)) continue;
        // A node of one row cannot split; with kept histograms it is still built, since its
        // sibling may be derived from it.
        if (!keep && level[n].end - level[n].begin < 2) continue;
        for (std::size_t b = 0; b < blocks; ++b)
          tasks.push_back({n, b * per_node / blocks, (b + 1) * per_node / blocks});
      }
    }
    found.assign(tasks.size(), Candidate{});
    auto first_derived = static_cast<std::size_t>(
        std::find_if(tasks.begin(), tasks.end(), [&](const Task& t) { return level[t.open].derive; }) - tasks.begin());

    // Large nodes are built by rows first; their tasks only scan.
    by_rows.assign(count, 0);
    if (keep && threads > 1) {
      for (std::size_t n = 0; n < count; ++n) {
        const auto& open = level[n];
        if (open.derive || open.end - open.begin < kRowShareRows * static_cast<std::uint32_t>(threads)) continue;
        by_rows[n] = 1;
        BuildByRows(pool.data() + n * node_bins, node_bins, x, packed.data(), now, open,
                    all_features ? nullptr : chosen.data() + n * per_node, per_node, scratch, threads);
      }
    }

    auto run = [&](std::size_t t) {
      const Task& task = tasks[t];
      const OpenNode& open = level[task.open];
      const std::uint32_t* mine = chosen.data() + task.open * per_node;
      double parent_score = gains.Score(open.sum);
      Candidate best;
      best.gain = gains.Least(parent_score);
      auto thread = static_cast<std::size_t>(omp_get_thread_num());
      const std::uint32_t* const order = now;
      if (open.derive) {
        const Bin* parent = parent_pool.data() + open.parent_slot * node_bins;
        const Bin* sibling = pool.data() + open.sibling * node_bins;
        Bin* hist = pool.data() + task.open * node_bins;
        for (std::size_t j = task.first; j < task.last; ++j) {
          std::size_t f = mine[j];
          std::size_t at = f * kHistogramBins;
          int bins = x.Bins(f);
          for (int b = 0; b <= bins; ++b) {
            hist[at + b] = parent[at + b] - sibling[at + b];
          }
          ScanHistogram(hist + at, x, mine[j], open, parent_score, gains, best);
        }
      } else if (!keep && open.end - open.begin <= kSmallNode) {
        auto& list = entries[thread];
        for (std::size_t j = task.first; j < task.last; ++j) {
          list.clear();
          Bin missing = 0;
          for (std::uint32_t i = open.begin; i < open.end; ++i) {
            float v = x.Value(order[i], mine[j]);
            if (v == v) {
              list.push_back({v, packed[order[i]]});
            } else {
              missing += packed[order[i]];
            }
          }
          ScanSorted(list, missing, mine[j], open, parent_score, gains, best);
        }
      } else {
        // Histogram j of this task lives at (keep ? feature : position j) * 256.
        Bin* hist = keep ? pool.data() + task.open * node_bins : scratch[thread].data();
        auto slot = [&](std::size_t j) { return (keep ? mine[j] : j) * kHistogramBins; };
        if (!by_rows[task.open]) {
          for (std::size_t j = task.first; j < task.last; ++j) {
            std::fill_n(hist + slot(j), static_cast<std::size_t>(x.Bins(mine[j])) + 1, Bin{0});
          }
          AddRows(hist, x, packed.data(), order, open.begin, open.end, all_features ? nullptr : mine, task.first,
                  task.last, keep);
        }
        for (std::size_t j = task.first; j < task.last; ++j) {
          ScanHistogram(hist + slot(j), x, mine[j], open, parent_score, gains, best);
        }
      }
      found[t] = best;
    };
    auto run_range = [&](std::size_t first, std::size_t last) {
      auto n = static_cast<std::int64_t>(last);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && last - first > 1)
      for (auto t = static_cast<std::int64_t>(first); t < n; ++t) run(static_cast<std::size_t>(t));
    };
    run_range(0, first_derived);
    run_range(first_derived, tasks.size());

    // Each node's best split over its tasks (the first on ties, so the lowest feature; every
    // task's gain is above the default 0).
    std::vector<Candidate> best(count);
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      auto& mine = best[tasks[t].open];
      if (found[t].gain > mine.gain) mine = found[t];
    }

    // Split: children are appended in pairs; rows are partitioned stably within their node.
    std::vector<std::pair<std::size_t, std::uint32_t>> splits;  // (open index, first child)
    for (std::size_t n = 0; n < count; ++n) {
      const auto& open = level[n];
      const auto& split = best[n];
      if (!split.found) {
        make_leaf(open);
        continue;
      }
      auto child = static_cast<std::uint32_t>(out.tree.nodes.size());
      auto& node = out.tree.nodes[open.node];
      node.value = split.threshold;
      node.flags = split.feature | (split.missing_left ? TreeNode::kMissingLeft : 0);
      node.left = child;
      out.tree.nodes.resize(child + 2);  // (node is not used after this: it may move)
      out.bins.resize(child + 2, 0);
      out.bins[open.node] = split.exact ? 0 : static_cast<std::uint8_t>(split.bin);
      gain[split.feature] += split.gain;
      splits.emplace_back(n, child);
    }
    if (depth + 1 >= options.max_depth) {
      // The children are leaves: their rows need not move, only learn their values.
      const auto split_count = static_cast<std::int64_t>(splits.size());
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && split_count > 1)
      for (std::int64_t s = 0; s < split_count; ++s) {
        const auto& open = level[splits[static_cast<std::size_t>(s)].first];
        const Candidate& split = best[splits[static_cast<std::size_t>(s)].first];
        const std::uint32_t child = splits[static_cast<std::size_t>(s)].second;
        const float left = gains.LeafValue(split.left);
        const float right = gains.LeafValue(open.sum - split.left);
        out.tree.nodes[child].value = left;
        out.tree.nodes[child + 1].value = right;
        if (row_values.empty()) continue;
        const std::uint8_t* column = x.Column(split.feature);
        for (std::uint32_t i = open.begin; i < open.end; ++i) {
          row_values[now[i]] = GoesLeft(x, split, column, now[i]) ? left : right;
        }
      }
      break;
    }
    const auto middle = MoveRows(x, level, best, splits, now, next_rows, spare, threads, pieces);

    std::vector<OpenNode> next;
    next.reserve(splits.size() * 2);
    for (std::size_t s = 0; s < splits.size(); ++s) {
      const auto& open = level[splits[s].first];
      const auto& split = best[splits[s].first];
      std::uint32_t child = splits[s].second;
      OpenNode left{child, open.begin, middle[s], split.left};
      OpenNode right{child + 1, middle[s], open.end, open.sum - split.left};
      if (keep) {
        // The larger child is its parent's histograms less the smaller one's.
        bool right_larger = right.end - right.begin >= left.end - left.begin;
        auto& larger = right_larger ? right : left;
        larger.derive = true;
        larger.parent_slot = splits[s].first;
        larger.sibling = next.size() + (right_larger ? 0 : 1);
      }
      next.push_back(left);
      next.push_back(right);
    }
    std::swap(parent_pool, pool);
    std::swap(now, next_rows);
    level = std::move(next);
  }
  return out;
}

}  // namespace playground::ml::detail
