#include "ml/histogram_trees.h"

#include <omp.h>

#include <algorithm>
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
// A side of a split needs at least this hessian even with min_child_weight 0: a histogram derived
// by subtraction can hold rounding noise where a side has no rows at all.
constexpr double kLeastHessian = 1e-8;
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

using Bin = HistogramBin;

// Midpoint of two neighbouring distinct values, never rounded up to the larger one (a value
// equal to the cut must stay in the lower bin).
float Midpoint(float low, float high) {
  auto mid = static_cast<float>((static_cast<double>(low) + static_cast<double>(high)) / 2);
  return mid >= high ? low : mid;
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

// 1 + the index of the first cut >= v, without branches (the cuts of a feature sit in L1). The
// answer stays in [base, base + n); the last cut, +infinity, is >= every value.
std::uint8_t BinOf(const std::vector<float>& cuts, float v) {
  if (v != v) return 0;
  const float* base = cuts.data();
  std::size_t n = cuts.size();
  while (n > 1) {
    std::size_t half = n / 2;
    base = base[half - 1] < v ? base + half : base;
    n -= half;
  }
  return static_cast<std::uint8_t>(1 + (base - cuts.data()));
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
  double gl = 0;
  double hl = 0;
};

// Split gains in XGBoost's form: half the drop of -T(G)^2 / (H + lambda) less gamma, where T
// shrinks G towards 0 by alpha.
class Gains {
 public:
  explicit Gains(const GrowOptions& options)
      : options_(options), least_hessian_(std::max(options.min_child_weight, kLeastHessian)) {}

  double Score(double g, double h) const {
    double t = Shrink(g);
    return t * t / (h + options_.lambda);
  }
  float LeafValue(double g, double h) const {
    return static_cast<float>(-Shrink(g) / (h + options_.lambda) * options_.learning_rate);
  }
  // The least gain that counts: gamma aside, a split must beat rounding noise of the parent's
  // score (a pure node's sides can "gain" 1e-17).
  double Least(double parent_score) const { return 1e-12 * std::abs(parent_score) + 1e-300; }

  // `bin` 0 marks a split between raw values.
  void Consider(Candidate& best, std::uint32_t feature, float threshold, int bin, bool missing_left, double gl,
                double hl, double g, double h, double parent_score) const {
    double gr = g - gl;
    double hr = h - hl;
    if (hl < least_hessian_ || hr < least_hessian_) return;
    double gain = 0.5 * (Score(gl, hl) + Score(gr, hr) - parent_score) - options_.gamma;
    if (gain > best.gain) best = {gain, true, feature, threshold, bin, bin == 0, missing_left, gl, hl};
  }

 private:
  double Shrink(double g) const {
    if (options_.alpha == 0) return g;
    if (g > options_.alpha) return g - options_.alpha;
    if (g < -options_.alpha) return g + options_.alpha;
    return 0;
  }

  const GrowOptions& options_;
  double least_hessian_;
};

// A node waiting for its split at the current level.
struct OpenNode {
  std::uint32_t node;  // index in the tree
  std::uint32_t begin;
  std::uint32_t end;
  double g;
  double h;
  std::size_t parent_slot = kNone;  // the parent's histograms in the previous level's pool
  std::size_t sibling = kNone;      // the sibling's index in this level
  bool derive = false;              // histograms = parent's - sibling's
};

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
  bool has_missing = missing.h > 0;
  double gl = 0;
  double hl = 0;
  const int bins = x.Bins(feature);
  for (int b = 1; b <= bins; ++b) {
    if (hist[b].h == 0) continue;
    gl += hist[b].g;
    hl += hist[b].h;
    float cut = x.Cut(feature, b);
    gains.Consider(best, feature, cut, b, false, gl, hl, open.g, open.h, parent_score);
    if (has_missing) {
      gains.Consider(best, feature, cut, b, true, gl + missing.g, hl + missing.h, open.g, open.h, parent_score);
    }
  }
}

// The same scan for a small node on its rows' raw values (missing ones summed apart): sorted,
// with a cut midway between each pair of neighbouring distinct values.
void ScanSorted(std::vector<BinEntry>& entries, Bin missing, std::uint32_t feature, const OpenNode& open,
                double parent_score, const Gains& gains, Candidate& best) {
  std::sort(entries.begin(), entries.end(), [](const BinEntry& a, const BinEntry& b) { return a.value < b.value; });
  double gl = 0;
  double hl = 0;
  std::size_t i = 0;
  while (i < entries.size()) {
    float value = entries[i].value;
    for (; i < entries.size() && entries[i].value == value; ++i) {
      gl += entries[i].g;
      hl += entries[i].h;
    }
    float cut = i < entries.size() ? Midpoint(value, entries[i].value) : std::numeric_limits<float>::infinity();
    gains.Consider(best, feature, cut, 0, false, gl, hl, open.g, open.h, parent_score);
    if (missing.h > 0) {
      gains.Consider(best, feature, cut, 0, true, gl + missing.g, hl + missing.h, open.g, open.h, parent_score);
    }
  }
}

}  // namespace

std::vector<std::uint32_t> SampleRows(std::size_t n, std::size_t count, std::mt19937_64& rng) {
  // Knuth's selection sampling: one pass, ascending, exactly `count` rows. The per-row numbers
  // come from splitmix64 seeded by `rng`: a boosting round samples every row, and the Mersenne
  // twister's double per row cost more than growing a small tree.
  std::vector<std::uint32_t> rows;
  count = std::min(count, n);
  rows.reserve(count);
  std::uint64_t state = rng();
  for (std::size_t i = 0; i < n && rows.size() < count; ++i) {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    double uniform = static_cast<double>(z >> 11) * 0x1.0p-53;
    if (static_cast<double>(n - i) * uniform < static_cast<double>(count - rows.size())) {
      rows.push_back(static_cast<std::uint32_t>(i));
    }
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
    std::sort(values.begin(), values.end());
    cuts_[static_cast<std::size_t>(c)] = MakeCuts(values, max_bins);
  }
  auto rows = static_cast<std::int64_t>(rows_);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* in = x.values.data() + static_cast<std::size_t>(r) * cols_;
    std::uint8_t* out = bins_.data() + static_cast<std::size_t>(r) * cols_;
    for (std::size_t c = 0; c < cols_; ++c) {
      out[c] = BinOf(cuts_[c], in[c]);
      columns_[c * rows_ + static_cast<std::size_t>(r)] = out[c];
    }
  }
}

GrownTree GrowTree(const BinnedMatrix& x, std::span<const GradientPair> gradients, std::span<std::uint32_t> rows,
                   std::span<const std::uint32_t> features, const GrowOptions& options, std::mt19937_64& rng,
                   std::vector<double>& gain, GrowWorkspace& workspace) {
  const Gains gains(options);
  const std::size_t cols = x.cols();
  const int threads = std::max(1, options.threads);
  const bool sampled = options.features_per_node > 0 && options.features_per_node < features.size();
  const std::size_t per_node = sampled ? options.features_per_node : features.size();
  const bool all_features = !sampled && features.size() == cols;
  const std::size_t node_bins = cols * kHistogramBins;

  // The rows' gradients in the order of `rows`, moved with them, so histogram building reads them
  // in sequence. The root's sums are taken per fixed chunk and added in chunk order, so they do
  // not depend on the thread count.
  auto& ordered = workspace.ordered;
  ordered.resize(rows.size());
  constexpr std::size_t kChunk = 16384;
  const std::size_t chunks = (rows.size() + kChunk - 1) / kChunk;
  std::vector<Bin> chunk_sums(chunks, Bin{0, 0});
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && chunks > 1)
  for (std::int64_t c = 0; c < static_cast<std::int64_t>(chunks); ++c) {
    auto first = static_cast<std::size_t>(c) * kChunk;
    auto last = std::min(rows.size(), first + kChunk);
    Bin sum{0, 0};
    for (std::size_t i = first; i < last; ++i) {
      ordered[i] = gradients[rows[i]];
      sum.g += ordered[i].g;
      sum.h += ordered[i].h;
    }
    chunk_sums[static_cast<std::size_t>(c)] = sum;
  }
  double root_g = 0;
  double root_h = 0;
  for (const auto& sum : chunk_sums) {
    root_g += sum.g;
    root_h += sum.h;
  }
  auto& spare_rows = workspace.spare_rows;
  auto& spare_gradients = workspace.spare_gradients;
  spare_rows.resize(rows.size());
  spare_gradients.resize(rows.size());

  GrownTree out;
  out.tree.nodes.emplace_back();
  std::vector<OpenNode> level = {{0, 0, static_cast<std::uint32_t>(rows.size()), root_g, root_h}};
  auto& pool = workspace.pool;
  auto& parent_pool = workspace.parent_pool;
  auto& scratch = workspace.scratch;
  auto& entries = workspace.entries;
  scratch.resize(std::max(scratch.size(), static_cast<std::size_t>(threads)));
  for (auto& bins : scratch) bins.resize(std::max(bins.size(), per_node * kHistogramBins));
  entries.resize(std::max(entries.size(), static_cast<std::size_t>(threads)));
  std::vector<std::uint32_t> chosen;
  std::vector<std::uint32_t> pick;
  std::vector<Task> tasks;
  std::vector<Candidate> found;

  auto make_leaf = [&](const OpenNode& open) {
    out.tree.nodes[open.node].value = gains.LeafValue(open.g, open.h);
    out.leaves.push_back({open.begin, open.end, out.tree.nodes[open.node].value});
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

    auto run = [&](std::size_t t) {
      const Task& task = tasks[t];
      const OpenNode& open = level[task.open];
      const std::uint32_t* mine = chosen.data() + task.open * per_node;
      double parent_score = gains.Score(open.g, open.h);
      Candidate best;
      best.gain = gains.Least(parent_score);
      auto thread = static_cast<std::size_t>(omp_get_thread_num());
      if (open.derive) {
        const Bin* parent = parent_pool.data() + open.parent_slot * node_bins;
        const Bin* sibling = pool.data() + open.sibling * node_bins;
        Bin* hist = pool.data() + task.open * node_bins;
        for (std::size_t j = task.first; j < task.last; ++j) {
          std::size_t f = mine[j];
          std::size_t at = f * kHistogramBins;
          int bins = x.Bins(f);
          for (int b = 0; b <= bins; ++b) {
            hist[at + b] = {parent[at + b].g - sibling[at + b].g, parent[at + b].h - sibling[at + b].h};
          }
          ScanHistogram(hist + at, x, mine[j], open, parent_score, gains, best);
        }
      } else if (!keep && open.end - open.begin <= kSmallNode) {
        auto& list = entries[thread];
        for (std::size_t j = task.first; j < task.last; ++j) {
          list.clear();
          Bin missing{0, 0};
          for (std::uint32_t i = open.begin; i < open.end; ++i) {
            float v = x.Value(rows[i], mine[j]);
            if (v == v) {
              list.push_back({v, ordered[i].g, ordered[i].h});
            } else {
              missing.g += ordered[i].g;
              missing.h += ordered[i].h;
            }
          }
          ScanSorted(list, missing, mine[j], open, parent_score, gains, best);
        }
      } else {
        // Histogram j of this task lives at (keep ? feature : position j) * 256.
        Bin* hist = keep ? pool.data() + task.open * node_bins : scratch[thread].data();
        auto slot = [&](std::size_t j) { return (keep ? mine[j] : j) * kHistogramBins; };
        for (std::size_t j = task.first; j < task.last; ++j) {
          std::fill_n(hist + slot(j), static_cast<std::size_t>(x.Bins(mine[j])) + 1, Bin{0, 0});
        }
        if (keep && all_features) {
          // Every feature, in order: mine[j] = j and slot(j) = j * 256.
          for (std::uint32_t i = open.begin; i < open.end; ++i) {
            const std::uint8_t* row = x.Row(rows[i]);
            GradientPair p = ordered[i];
            for (std::size_t j = task.first; j < task.last; ++j) {
              Bin& e = hist[j * kHistogramBins + row[j]];
              e.g += p.g;
              e.h += p.h;
            }
          }
        } else {
          for (std::uint32_t i = open.begin; i < open.end; ++i) {
            const std::uint8_t* row = x.Row(rows[i]);
            GradientPair p = ordered[i];
            for (std::size_t j = task.first; j < task.last; ++j) {
              Bin& e = hist[slot(j) + row[mine[j]]];
              e.g += p.g;
              e.h += p.h;
            }
          }
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
      gain[split.feature] += split.gain;
      splits.emplace_back(n, child);
    }
    std::vector<std::uint32_t> middle(splits.size());
    auto split_count = static_cast<std::int64_t>(splits.size());
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && split_count > 1)
    for (std::int64_t s = 0; s < split_count; ++s) {
      const auto& open = level[splits[static_cast<std::size_t>(s)].first];
      const auto& split = best[splits[static_cast<std::size_t>(s)].first];
      const std::uint8_t* column = x.Column(split.feature);
      std::uint32_t left = open.begin;
      std::uint32_t right = open.begin;
      for (std::uint32_t i = open.begin; i < open.end; ++i) {
        // Without branches (the direction is a coin toss to the predictor): the row is written to
        // both places and only one position advances. rows[left] is at or before i, so in place.
        std::uint32_t row = rows[i];
        GradientPair pair = ordered[i];
        bool go_left;
        if (split.exact) {
          float v = x.Value(row, split.feature);
          go_left = v != v ? split.missing_left : v <= split.threshold;
        } else {
          std::uint8_t bin = column[row];
          go_left = bin == 0 ? split.missing_left : bin <= split.bin;
        }
        rows[left] = row;
        ordered[left] = pair;
        spare_rows[right] = row;
        spare_gradients[right] = pair;
        left += go_left ? 1 : 0;
        right += go_left ? 0 : 1;
      }
      std::copy(spare_rows.begin() + open.begin, spare_rows.begin() + right, rows.begin() + left);
      std::copy(spare_gradients.begin() + open.begin, spare_gradients.begin() + right, ordered.begin() + left);
      middle[static_cast<std::size_t>(s)] = left;
    }

    std::vector<OpenNode> next;
    next.reserve(splits.size() * 2);
    for (std::size_t s = 0; s < splits.size(); ++s) {
      const auto& open = level[splits[s].first];
      const auto& split = best[splits[s].first];
      std::uint32_t child = splits[s].second;
      OpenNode left{child, open.begin, middle[s], split.gl, split.hl};
      OpenNode right{child + 1, middle[s], open.end, open.g - split.gl, open.h - split.hl};
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
    level = std::move(next);
  }
  return out;
}

}  // namespace playground::ml::detail
