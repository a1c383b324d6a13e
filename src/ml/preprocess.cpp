// Preprocessing pipelines (see preprocess.h). Written by hand: no Debian-packaged C++ library
// offers scikit-learn's imputers, scalers, encoders and splits over our columnar files. Every
// statistic is computed in double precision from the training rows; one function (EncodeValue)
// turns a raw value into features, whether the value came from the file or from a JSON record,
// which is what makes the two transforms equal bit for bit.
#include "ml/preprocess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "core/error.h"
#include "data/values.h"

namespace playground::ml {
namespace {

using data::ColumnType;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kMicrosPerHour = 3'600'000'000;
constexpr std::size_t kTargetFolds = 5;
constexpr int kFormatVersion = 1;
const char* const kOther = "(other)";

[[noreturn]] void Invalid(const std::string& message) { core::Fail(core::ErrorCode::kValidation, message); }

// ---------------------------------------------------------------------------------------------
// The spec.

std::string Choice(const json& object, const std::string& path, const std::string& key, const std::string& fallback,
                   const std::vector<std::string>& choices) {
  std::string all;
  for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_string() || std::find(choices.begin(), choices.end(), v.get<std::string>()) == choices.end()) {
    Invalid("pipeline field " + path + key + " must be one of: " + all + " (got " + v.dump() + ")");
  }
  return v.get<std::string>();
}

double Number(const json& object, const std::string& path, const std::string& key, double fallback, double min,
              double max, bool open_bounds) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  const std::string range = open_bounds ? "strictly between " : "from ";
  const std::string and_ = open_bounds ? " and " : " to ";
  if (!v.is_number()) Invalid("pipeline field " + path + key + " must be a number (got " + v.dump() + ")");
  const double x = v.get<double>();
  const bool bad = open_bounds ? !(x > min && x < max) : !(x >= min && x <= max);
  if (bad) {
    Invalid("pipeline field " + path + key + " must be a number " + range + json(min).dump() + and_ + json(max).dump() +
            " (got " + v.dump() + ")");
  }
  return x;
}

const json& Object(const json& given, const std::string& key, const std::vector<std::string>& fields) {
  static const json kEmpty = json::object();
  if (!given.contains(key) || given.at(key).is_null()) return kEmpty;
  const json& v = given.at(key);
  if (!v.is_object()) Invalid("pipeline field " + key + " must be an object (got " + v.dump() + ")");
  for (const auto& [name, _] : v.items()) {
    if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
      std::string all;
      for (const auto& f : fields) all += (all.empty() ? "" : ", ") + f;
      Invalid("pipeline field " + key + "." + name + " is unknown; " + key + " accepts: " + all);
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Statistics. Inputs are sorted where noted.

// numpy.quantile's default ("linear") method, including its choice of interpolation formula so
// that the result matches numpy to the last bit for t >= 0.5 as well.
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double t = pos - static_cast<double>(lo);
  const double a = sorted[lo];
  const double b = sorted[hi];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// The most frequent value, the smallest among ties (as SimpleImputer's most_frequent).
double Mode(const std::vector<double>& sorted) {
  double best = sorted.front();
  std::size_t best_count = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    if (j - i > best_count) {
      best_count = j - i;
      best = sorted[i];
    }
    i = j;
  }
  return best;
}

// Fits clip, impute and scale for one numeric feature on its training values (NaN = missing).
Pipeline::Numeric FitNumeric(std::vector<double> xs, const json& spec, bool clippable) {
  Pipeline::Numeric n;
  std::vector<double> present;
  for (double x : xs) {
    if (!std::isnan(x)) present.push_back(x);
  }
  std::sort(present.begin(), present.end());
  const std::string clip = spec["clip"]["method"].get<std::string>();
  if (clippable && clip != "none" && !present.empty()) {
    n.clip = true;
    if (clip == "quantile") {
      n.lower = Quantile(present, spec["clip"]["lower"].get<double>());
      n.upper = Quantile(present, spec["clip"]["upper"].get<double>());
    } else {
      const double q1 = Quantile(present, 0.25);
      const double q3 = Quantile(present, 0.75);
      const double k = spec["clip"]["iqr_factor"].get<double>();
      n.lower = q1 - k * (q3 - q1);
      n.upper = q3 + k * (q3 - q1);
    }
    for (double& x : present) x = std::clamp(x, n.lower, n.upper);  // stays sorted
    for (double& x : xs) {
      if (!std::isnan(x)) x = std::clamp(x, n.lower, n.upper);
    }
  }
  const std::string impute = spec["impute"]["numeric"].get<std::string>();
  n.fill = spec["impute"]["fill_value"].get<double>();
  if (impute != "constant" && !present.empty()) {
    if (impute == "mean") {
      n.fill = Mean(present);
    } else if (impute == "median") {
      n.fill = Quantile(present, 0.5);
    } else {
      n.fill = Mode(present);
    }
  }
  for (double& x : xs) {
    if (std::isnan(x)) x = n.fill;
  }
  const std::string scale = spec["scale"].get<std::string>();
  if (scale == "standard") {
    n.shift = Mean(xs);
    double ss = 0;
    for (double x : xs) ss += (x - n.shift) * (x - n.shift);
    n.scale = std::sqrt(ss / static_cast<double>(xs.size()));
  } else if (scale == "minmax") {
    const auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
    n.shift = *lo;
    n.scale = *hi - *lo;
  } else if (scale == "robust") {
    std::sort(xs.begin(), xs.end());
    n.shift = Quantile(xs, 0.5);
    n.scale = Quantile(xs, 0.75) - Quantile(xs, 0.25);
  }
  if (n.scale == 0 || !std::isfinite(n.scale)) n.scale = 1;
  return n;
}

double ApplyNumeric(const Pipeline::Numeric& n, double x) {
  if (std::isnan(x)) {
    x = n.fill;
  } else if (n.clip) {
    x = std::clamp(x, n.lower, n.upper);
  }
  return (x - n.shift) / n.scale;
}

// One datetime part of a UTC timestamp.
double DatePart(int64_t micros, const std::string& part) {
  const int64_t days = micros >= 0 ? micros / kMicrosPerDay : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay);
  const std::chrono::sys_days day{std::chrono::days{days}};
  if (part == "year") return static_cast<int>(std::chrono::year_month_day(day).year());
  if (part == "month") return static_cast<unsigned>(std::chrono::year_month_day(day).month());
  if (part == "day_of_week") return (std::chrono::weekday(day).c_encoding() + 6) % 7;
  const int64_t hour = (micros - days * kMicrosPerDay) / kMicrosPerHour;
  return static_cast<double>(hour);
}

// ---------------------------------------------------------------------------------------------
// Raw values, from a file or a record.

struct Raw {
  bool present = false;
  double number = 0;      // integer, number, boolean
  int64_t micros = 0;     // date, datetime
  std::string_view text;  // category
};

// Reads column `c` of arbitrary rows of a file, one row group view at a time.
class ColumnReader {
 public:
  ColumnReader(const data::ColumnarFile& file, std::size_t c) : file_(file), c_(c) {}
  Raw Read(int64_t row) {
    if (row < 0 || row >= file_.rows()) {
      Invalid("row " + std::to_string(row) + " is outside the dataset (" + std::to_string(file_.rows()) + " rows)");
    }
    if (!loaded_ || row < first_ || row >= first_ + view_.rows) {
      std::size_t g = 0;
      std::size_t hi = file_.row_groups();
      while (hi - g > 1) {  // the last group whose first row is <= row
        const std::size_t mid = (g + hi) / 2;
        if (file_.group_first_row(mid) <= row) {
          g = mid;
        } else {
          hi = mid;
        }
      }
      view_ = file_.column(g, c_);
      first_ = file_.group_first_row(g);
      loaded_ = true;
    }
    const int64_t i = row - first_;
    Raw r;
    if (!view_.IsValid(i)) return r;
    r.present = true;
    const auto at = static_cast<std::size_t>(i);
    switch (view_.type) {
      case ColumnType::kInteger:
      case ColumnType::kBoolean: r.number = static_cast<double>(view_.ints()[at]); break;
      case ColumnType::kNumber: r.number = view_.doubles()[at]; break;
      case ColumnType::kDate:
      case ColumnType::kDatetime: r.micros = view_.ints()[at]; break;
      case ColumnType::kCategory: {
        const auto& categories = file_.schema()[c_].categories;
        const uint32_t code = view_.codes()[at];
        if (code < categories.size()) {
          r.text = categories[code];
        } else {
          r.present = false;
        }
        break;
      }
      case ColumnType::kText: r.text = view_.Text(i); break;
    }
    return r;
  }

 private:
  const data::ColumnarFile& file_;
  std::size_t c_;
  data::ColumnView view_;
  int64_t first_ = 0;
  bool loaded_ = false;
};

std::size_t FindColumn(const data::ColumnarFile& file, const std::string& name) {
  const auto& schema = file.schema();
  for (std::size_t c = 0; c < schema.size(); ++c) {
    if (schema[c].name == name) return c;
  }
  Invalid("the dataset has no column named \"" + name + "\"");
}

// Reads a record's value of a column of type `type`. Returns an empty string when it fits (or is
// missing), else what is wrong. `holder` keeps the text of a number given for a category.
std::string ReadJsonValue(const json& v, ColumnType type, Raw& out, std::string& holder) {
  out = Raw{};
  if (v.is_null()) return {};
  if (v.is_string() && data::IsMissing(v.get_ref<const std::string&>())) return {};
  const std::string type_name(data::TypeName(type));
  switch (type) {
    case ColumnType::kInteger:
    case ColumnType::kNumber: {
      if (v.is_number()) {
        out.number = v.get<double>();
      } else if (auto parsed = v.is_string() ? data::ParseNumber(v.get_ref<const std::string&>()) : std::nullopt) {
        out.number = *parsed;
      } else {
        return "expected a number, got " + v.dump();
      }
      break;
    }
    case ColumnType::kBoolean: {
      if (v.is_boolean()) {
        out.number = v.get<bool>() ? 1 : 0;
      } else if (v.is_number() && (v.get<double>() == 0 || v.get<double>() == 1)) {
        out.number = v.get<double>();
      } else if (auto parsed = v.is_string() ? data::ParseBoolean(v.get_ref<const std::string&>()) : std::nullopt) {
        out.number = *parsed ? 1 : 0;
      } else {
        return "expected true or false, got " + v.dump();
      }
      break;
    }
    case ColumnType::kDate:
    case ColumnType::kDatetime: {
      auto parsed = v.is_string() ? data::ParseDatetime(v.get_ref<const std::string&>(), data::DateOrder::kMonthFirst)
                                  : std::nullopt;
      if (!parsed) return "expected a " + type_name + " such as \"2024-03-01\", got " + v.dump();
      out.micros = parsed->micros;
      break;
    }
    case ColumnType::kCategory:
    case ColumnType::kText: {
      if (v.is_string()) {
        out.text = v.get_ref<const std::string&>();
      } else if (v.is_number_integer()) {
        holder = v.dump();
        out.text = holder;
      } else if (v.is_number()) {
        holder = data::FormatNumber(v.get<double>());
        out.text = holder;
      } else {
        return "expected a category value (text), got " + v.dump();
      }
      break;
    }
  }
  out.present = true;
  return {};
}

// Writes the features of one raw value of column `c` to out[0 .. c.width).
void EncodeValue(const Pipeline::Column& c, const std::string& method, const Raw& v, float* out) {
  if (data::IsNumeric(c.type)) {
    out[0] = static_cast<float>(ApplyNumeric(c.numeric[0], v.present ? v.number : kNaN));
    return;
  }
  if (data::IsTime(c.type)) {
    for (std::size_t p = 0; p < c.parts.size(); ++p) {
      out[p] = static_cast<float>(ApplyNumeric(c.numeric[p], v.present ? DatePart(v.micros, c.parts[p]) : kNaN));
    }
    return;
  }
  const std::string_view level = v.present ? v.text : std::string_view(c.fill_level);
  // The index is keyed by std::string; a transparent lookup would need a custom hash, and
  // category values are short.
  const auto it = c.index.find(std::string(level));
  if (method == "onehot") {
    std::fill(out, out + c.width, 0.0F);
    if (it != c.index.end()) {
      out[it->second] = 1;
    } else if (c.other) {
      out[c.kept.size()] = 1;
    }
  } else if (method == "ordinal") {
    const double code = it != c.index.end() ? static_cast<double>(it->second) : -1.0;
    out[0] = static_cast<float>(ApplyNumeric(c.ordinal, code));
  } else {
    const std::vector<double>& values = it != c.index.end() ? c.encoding[it->second] : c.prior;
    for (std::size_t j = 0; j < values.size(); ++j) out[j] = static_cast<float>(values[j]);
  }
}

// scikit-learn 1.3's TargetEncoder(smooth="auto") for one output: per level (codes index
// `levels`), over the rows with use[i] true. y[i] is the row's label (or class indicator).
std::vector<double> FitTargetEncoding(const std::vector<std::size_t>& codes, const std::vector<double>& y,
                                      const std::vector<bool>& use, std::size_t levels, double& prior) {
  double sum = 0;
  double n = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (use[i]) {
      sum += y[i];
      n += 1;
    }
  }
  prior = n > 0 ? sum / n : 0;
  double var_y = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (use[i]) var_y += (y[i] - prior) * (y[i] - prior);
  }
  var_y = n > 0 ? var_y / n : 0;
  std::vector<double> sums(levels, 0);
  std::vector<double> counts(levels, 0);
  std::vector<double> squares(levels, 0);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!use[i]) continue;
    sums[codes[i]] += y[i];
    counts[codes[i]] += 1;
    squares[codes[i]] += (y[i] - prior) * (y[i] - prior);
  }
  std::vector<double> encoding(levels, prior);
  for (std::size_t l = 0; l < levels; ++l) {
    if (counts[l] == 0) continue;
    const double lambda = var_y * counts[l] / (var_y * counts[l] + squares[l] / counts[l]);
    if (!std::isnan(lambda)) encoding[l] = lambda * (sums[l] / counts[l]) + (1 - lambda) * prior;
  }
  return encoding;
}

// An unbiased integer in [0, bound) from a 64-bit generator (rejection of the biased tail), so
// that shuffles do not depend on the standard library's distributions.
uint64_t Below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % bound;
}

template <typename T>
void Shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(rng, i)]);
}

json NumericJson(const Pipeline::Numeric& n) {
  return json::array({n.clip, n.lower, n.upper, n.fill, n.shift, n.scale});
}
Pipeline::Numeric NumericFromJson(const json& j) {
  Pipeline::Numeric n;
  n.clip = j.at(0).get<bool>();
  n.lower = j.at(1).get<double>();
  n.upper = j.at(2).get<double>();
  n.fill = j.at(3).get<double>();
  n.shift = j.at(4).get<double>();
  n.scale = j.at(5).get<double>();
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

json ResolvePipelineSpec(const json& given) {
  if (!given.is_null() && !given.is_object()) Invalid("the pipeline spec must be a JSON object");
  const json g = given.is_null() ? json::object() : given;
  const std::vector<std::string> top = {"drop", "impute", "scale", "encode", "clip", "datetime_parts", "split"};
  for (const auto& [name, _] : g.items()) {
    if (std::find(top.begin(), top.end(), name) == top.end()) {
      Invalid("pipeline field " + name +
              " is unknown; the pipeline accepts: drop, impute, scale, encode, clip, datetime_parts, split");
    }
  }
  json out;
  out["drop"] = json::array();
  if (g.contains("drop") && !g["drop"].is_null()) {
    if (!g["drop"].is_array()) Invalid("pipeline field drop must be an array of column names");
    for (const json& name : g["drop"]) {
      if (!name.is_string()) Invalid("pipeline field drop must be an array of column names (got " + name.dump() + ")");
      out["drop"].push_back(name);
    }
  }
  const json& impute = Object(g, "impute", {"numeric", "categorical", "fill_value", "fill_category"});
  out["impute"]["numeric"] =
      Choice(impute, "impute.", "numeric", "mean", {"mean", "median", "most_frequent", "constant"});
  out["impute"]["categorical"] =
      Choice(impute, "impute.", "categorical", "most_frequent", {"most_frequent", "constant"});
  out["impute"]["fill_value"] = Number(impute, "impute.", "fill_value", 0, -1e300, 1e300, false);
  out["impute"]["fill_category"] = "missing";
  if (impute.contains("fill_category")) {
    const json& v = impute["fill_category"];
    if (!v.is_string() || v.get<std::string>().empty()) {
      Invalid("pipeline field impute.fill_category must be a non-empty string (got " + v.dump() + ")");
    }
    out["impute"]["fill_category"] = v;
  }
  out["scale"] = Choice(g, "", "scale", "none", {"none", "standard", "minmax", "robust"});
  const json& encode = Object(g, "encode", {"method", "max_levels"});
  out["encode"]["method"] = Choice(encode, "encode.", "method", "onehot", {"onehot", "ordinal", "target"});
  const double max_levels = Number(encode, "encode.", "max_levels", 20, 2, 1000, false);
  if (max_levels != std::floor(max_levels))
    Invalid("pipeline field encode.max_levels must be an integer from 2 to 1000");
  out["encode"]["max_levels"] = static_cast<int>(max_levels);
  const json& clip = Object(g, "clip", {"method", "lower", "upper", "iqr_factor"});
  out["clip"]["method"] = Choice(clip, "clip.", "method", "none", {"none", "quantile", "iqr"});
  out["clip"]["lower"] = Number(clip, "clip.", "lower", 0.01, 0, 1, false);
  out["clip"]["upper"] = Number(clip, "clip.", "upper", 0.99, 0, 1, false);
  if (!(out["clip"]["lower"].get<double>() < out["clip"]["upper"].get<double>())) {
    Invalid("pipeline field clip.lower must be less than clip.upper");
  }
  out["clip"]["iqr_factor"] = Number(clip, "clip.", "iqr_factor", 1.5, 0, 1000, false);
  const std::vector<std::string> parts = {"year", "month", "day_of_week", "hour"};
  out["datetime_parts"] = parts;
  if (g.contains("datetime_parts") && !g["datetime_parts"].is_null()) {
    const json& v = g["datetime_parts"];
    const std::string accepts = "an array of distinct parts from: year, month, day_of_week, hour";
    if (!v.is_array()) Invalid("pipeline field datetime_parts must be " + accepts);
    std::vector<std::string> chosen;
    for (const json& p : v) {
      if (!p.is_string() || std::find(parts.begin(), parts.end(), p.get<std::string>()) == parts.end() ||
          std::find(chosen.begin(), chosen.end(), p.get<std::string>()) != chosen.end()) {
        Invalid("pipeline field datetime_parts must be " + accepts + " (got " + p.dump() + ")");
      }
      chosen.push_back(p.get<std::string>());
    }
    out["datetime_parts"] = chosen;
  }
  const json& split = Object(g, "split", {"method", "test_fraction", "seed", "time_column"});
  out["split"]["method"] = Choice(split, "split.", "method", "random", {"random", "stratified", "time"});
  out["split"]["test_fraction"] = Number(split, "split.", "test_fraction", 0.2, 0, 1, true);
  out["split"]["seed"] = 0;
  if (split.contains("seed")) {
    const json& v = split["seed"];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      Invalid("pipeline field split.seed must be a non-negative integer (got " + v.dump() + ")");
    }
    out["split"]["seed"] = v.get<uint64_t>();
  }
  out["split"]["time_column"] = nullptr;
  if (split.contains("time_column") && !split["time_column"].is_null()) {
    if (!split["time_column"].is_string()) Invalid("pipeline field split.time_column must be a column name or null");
    out["split"]["time_column"] = split["time_column"];
  }
  if (out["split"]["method"] == "time" && out["split"]["time_column"].is_null()) {
    Invalid("pipeline field split.time_column must name a date, datetime, integer or number column for the time split");
  }
  return out;
}

Target EncodeTarget(const data::ColumnarFile& file, const std::string& column, Task task) {
  Target target;
  const auto rows = static_cast<std::size_t>(file.rows());
  target.y.assign(rows, kNaN);
  if (task == Task::kClustering) return target;
  const std::size_t c = FindColumn(file, column);
  const ColumnType type = file.schema()[c].type;
  const std::string type_name(data::TypeName(type));
  ColumnReader reader(file, c);
  std::vector<Raw> raw(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    raw[r] = reader.Read(static_cast<int64_t>(r));
    if (!raw[r].present) target.missing_rows.push_back(static_cast<int64_t>(r));
  }
  if (task == Task::kRegression) {
    if (type != ColumnType::kInteger && type != ColumnType::kNumber) {
      Invalid("regression needs a numeric target (integer or number); column \"" + column + "\" is " + type_name);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      if (raw[r].present) target.y[r] = raw[r].number;
    }
    return target;
  }
  if (data::IsTime(type)) {
    Invalid("a classification target must be a category, text, boolean, integer or number column; column \"" + column +
            "\" is " + type_name);
  }
  if (data::IsNumeric(type)) {
    std::set<double> values;
    for (const Raw& v : raw) {
      if (v.present) values.insert(v.number);
    }
    if (values.size() <= kMaxClasses + 1) {
      for (double v : values) {
        target.class_names.push_back(type == ColumnType::kBoolean   ? (v != 0 ? "true" : "false")
                                     : type == ColumnType::kInteger ? std::to_string(static_cast<int64_t>(v))
                                                                    : data::FormatNumber(v));
      }
    } else {
      target.class_names.resize(values.size());
    }
    const std::vector<double> sorted(values.begin(), values.end());
    for (std::size_t r = 0; r < rows; ++r) {
      if (raw[r].present) {
        target.y[r] =
            static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), raw[r].number) - sorted.begin());
      }
    }
  } else {
    std::map<std::string_view, std::size_t> values;
    for (const Raw& v : raw) {
      if (v.present) values.emplace(v.text, 0);
    }
    std::size_t next = 0;
    for (auto& [text, index] : values) {
      index = next++;
      target.class_names.emplace_back(text);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      if (raw[r].present) target.y[r] = static_cast<double>(values[raw[r].text]);
    }
  }
  const std::size_t k = target.class_names.size();
  if (task == Task::kBinary && k != 2) {
    Invalid("binary classification needs exactly 2 classes in column \"" + column + "\"; it has " + std::to_string(k) +
            " (use multiclass for more)");
  }
  if (task == Task::kMulticlass && (k < 2 || k > kMaxClasses)) {
    Invalid("multiclass classification needs 2 to " + std::to_string(kMaxClasses) + " classes in column \"" + column +
            "\"; it has " + std::to_string(k));
  }
  return target;
}

Split MakeSplit(const json& split_spec, const data::ColumnarFile& file, std::span<const int64_t> rows,
                const Target& target, Task task) {
  const std::string method = split_spec.at("method").get<std::string>();
  const double fraction = split_spec.at("test_fraction").get<double>();
  std::mt19937_64 rng(split_spec.at("seed").get<uint64_t>());
  const std::size_t n = rows.size();
  if (n < 2) Invalid("a train/test split needs at least 2 rows with a target; there are " + std::to_string(n));
  // ceil, as train_test_split; but each part keeps at least one row.
  const std::size_t n_test =
      std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9)), 1, n - 1);
  Split split;
  std::vector<int64_t> order(rows.begin(), rows.end());
  if (method == "random") {
    Shuffle(order, rng);
    split.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
    split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
  } else if (method == "stratified") {
    if (!IsClassification(task)) Invalid("the stratified split needs a classification task; use random or time");
    std::map<double, std::vector<int64_t>> classes;
    for (int64_t r : rows) {
      const double y = target.y.at(static_cast<std::size_t>(r));
      if (std::isnan(y)) Invalid("row " + std::to_string(r) + " has no target; leave it out of the split");
      classes[y].push_back(r);
    }
    for (auto& [_, members] : classes) {
      Shuffle(members, rng);
      const std::size_t m = members.size();
      const auto want = static_cast<std::size_t>(std::floor(fraction * static_cast<double>(m) + 0.5));
      const std::size_t take = std::min(want, m - 1);
      split.test.insert(split.test.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
      split.train.insert(split.train.end(), members.begin() + static_cast<std::ptrdiff_t>(take), members.end());
    }
    if (split.test.empty()) Invalid("the stratified split left no test rows; use a larger test_fraction");
  } else {
    const json& name = split_spec.at("time_column");
    if (!name.is_string()) Invalid("the time split needs split.time_column");
    const std::size_t c = FindColumn(file, name.get<std::string>());
    const ColumnType type = file.schema()[c].type;
    if (!data::IsTime(type) && type != ColumnType::kInteger && type != ColumnType::kNumber) {
      Invalid("split.time_column \"" + name.get<std::string>() +
              "\" must be a date, datetime, integer or number column; it is " + std::string(data::TypeName(type)));
    }
    ColumnReader reader(file, c);
    std::vector<std::pair<double, int64_t>> keyed;
    keyed.reserve(n);
    for (int64_t r : rows) {
      const Raw v = reader.Read(r);
      const double key = !v.present           ? -std::numeric_limits<double>::infinity()
                         : data::IsTime(type) ? static_cast<double>(v.micros)
                                              : v.number;
      keyed.emplace_back(key, r);
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t i = 0; i < n; ++i) (i < n - n_test ? split.train : split.test).push_back(keyed[i].second);
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

// ---------------------------------------------------------------------------------------------

Pipeline Pipeline::Fit(const json& spec, const data::ColumnarFile& file, const std::string& target_column,
                       std::span<const int64_t> train_rows, const Target& target, Task task, std::uint64_t seed,
                       Matrix* training_matrix) {
  if (train_rows.empty()) Invalid("the pipeline needs at least one training row");
  Pipeline p;
  p.method_ = spec.at("encode").at("method").get<std::string>();
  p.task_ = task;
  p.target_ = target_column;
  p.class_names_ = target.class_names;
  const auto& schema = file.schema();
  std::set<std::string> drop;
  for (const json& name : spec.at("drop")) {
    FindColumn(file, name.get<std::string>());  // refuses an unknown name
    drop.insert(name.get<std::string>());
  }
  if (task != Task::kClustering) FindColumn(file, target_column);
  const bool target_encoding = p.method_ == "target";
  if (target_encoding && task == Task::kClustering) {
    Invalid("encode.method \"target\" needs a classification or regression target; use onehot or ordinal");
  }
  // The label (or class indicators) of each training row, one vector per target-encoding output.
  std::vector<std::vector<double>> outputs;
  if (target_encoding) {
    const std::size_t k = task == Task::kMulticlass ? target.class_names.size() : 1;
    outputs.assign(k, std::vector<double>(train_rows.size()));
    for (std::size_t i = 0; i < train_rows.size(); ++i) {
      const double y = target.y.at(static_cast<std::size_t>(train_rows[i]));
      if (std::isnan(y)) Invalid("training row " + std::to_string(train_rows[i]) + " has no target");
      for (std::size_t j = 0; j < k; ++j) {
        outputs[j][i] = task == Task::kRegression ? y
                        : task == Task::kBinary   ? (y == 1 ? 1.0 : 0.0)
                                                  : (y == static_cast<double>(j) ? 1.0 : 0.0);
      }
    }
  }
  // Out-of-fold assignment for target encoding: fold f holds positions f, f + 5, ... of a seeded
  // shuffle of the training rows.
  std::vector<std::size_t> fold(train_rows.size(), 0);
  const std::size_t folds = std::min(kTargetFolds, train_rows.size());
  {
    std::vector<std::size_t> order(train_rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed);
    Shuffle(order, rng);
    for (std::size_t i = 0; i < order.size(); ++i) fold[order[i]] = i % folds;
  }
  // Out-of-fold encodings per target-encoded column: [column][row][output].
  std::vector<std::pair<std::size_t, std::vector<std::vector<double>>>> out_of_fold;

  const auto& parts = spec.at("datetime_parts");
  const auto max_levels = spec.at("encode").at("max_levels").get<std::size_t>();
  for (std::size_t c = 0; c < schema.size(); ++c) {
    const auto& cs = schema[c];
    if (cs.name == target_column && task != Task::kClustering) continue;
    if (drop.count(cs.name) != 0) {
      p.ignored_.emplace_back(cs.name, "dropped by the pipeline spec");
      continue;
    }
    if (cs.type == ColumnType::kText) {
      p.ignored_.emplace_back(cs.name, "text columns are not features");
      continue;
    }
    Column col;
    col.name = cs.name;
    col.type = cs.type;
    ColumnReader reader(file, c);
    std::vector<Raw> raw(train_rows.size());
    for (std::size_t i = 0; i < train_rows.size(); ++i) raw[i] = reader.Read(train_rows[i]);
    if (data::IsNumeric(cs.type)) {
      std::vector<double> xs(raw.size());
      for (std::size_t i = 0; i < raw.size(); ++i) xs[i] = raw[i].present ? raw[i].number : kNaN;
      col.numeric.push_back(FitNumeric(std::move(xs), spec, cs.type != ColumnType::kBoolean));
    } else if (data::IsTime(cs.type)) {
      for (const json& part : parts) {
        const std::string name = part.get<std::string>();
        if (name == "hour" && cs.type == ColumnType::kDate) continue;
        std::vector<double> xs(raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) xs[i] = raw[i].present ? DatePart(raw[i].micros, name) : kNaN;
        col.parts.push_back(name);
        col.numeric.push_back(FitNumeric(std::move(xs), spec, false));
      }
      if (col.parts.empty()) {
        p.ignored_.emplace_back(cs.name, "no datetime part is chosen for a " + std::string(data::TypeName(cs.type)));
        continue;
      }
    } else {  // category
      std::map<std::string, std::size_t> counts;
      for (const Raw& v : raw) {
        if (v.present) ++counts[std::string(v.text)];
      }
      col.fill_level = spec.at("impute").at("fill_category").get<std::string>();
      if (spec.at("impute").at("categorical") == "most_frequent") {
        std::size_t best = 0;
        for (const auto& [level, count] : counts) {  // text order: the first of the ties wins
          if (count > best) {
            best = count;
            col.fill_level = level;
          }
        }
      }
      std::size_t missing = 0;
      for (const Raw& v : raw) missing += v.present ? 0 : 1;
      if (missing > 0) counts[col.fill_level] += missing;
      for (const auto& [level, _] : counts) col.levels.push_back(level);
      std::map<std::string, std::size_t> position;
      for (std::size_t l = 0; l < col.levels.size(); ++l) position[col.levels[l]] = l;
      std::vector<std::size_t> codes(raw.size());
      for (std::size_t i = 0; i < raw.size(); ++i) {
        codes[i] = position[raw[i].present ? std::string(raw[i].text) : col.fill_level];
      }
      if (p.method_ == "onehot") {
        if (col.levels.size() <= max_levels) {
          col.kept = col.levels;
        } else {
          std::vector<std::pair<std::size_t, std::string>> ranked;
          ranked.reserve(counts.size());
          for (const auto& [level, count] : counts) ranked.emplace_back(count, level);
          std::stable_sort(ranked.begin(), ranked.end(),
                           [](const auto& a, const auto& b) { return a.first > b.first; });
          for (std::size_t l = 0; l + 1 < max_levels; ++l) col.kept.push_back(ranked[l].second);
          std::sort(col.kept.begin(), col.kept.end());
          col.other = true;
        }
      } else if (p.method_ == "ordinal") {
        std::vector<double> xs(codes.begin(), codes.end());
        json no_clip = spec;
        no_clip["clip"]["method"] = "none";
        col.ordinal = FitNumeric(std::move(xs), no_clip, false);
      } else {
        const std::size_t k = outputs.size();
        col.encoding.assign(col.levels.size(), std::vector<double>(k));
        col.prior.assign(k, 0);
        const std::vector<bool> all(train_rows.size(), true);
        std::vector<std::vector<double>> oof(train_rows.size(), std::vector<double>(k));
        for (std::size_t j = 0; j < k; ++j) {
          const auto full = FitTargetEncoding(codes, outputs[j], all, col.levels.size(), col.prior[j]);
          for (std::size_t l = 0; l < col.levels.size(); ++l) col.encoding[l][j] = full[l];
          for (std::size_t f = 0; f < folds && folds > 1; ++f) {
            std::vector<bool> use(train_rows.size());
            for (std::size_t i = 0; i < use.size(); ++i) use[i] = fold[i] != f;
            double fold_prior = 0;
            const auto part = FitTargetEncoding(codes, outputs[j], use, col.levels.size(), fold_prior);
            for (std::size_t i = 0; i < use.size(); ++i) {
              if (!use[i]) oof[i][j] = part[codes[i]];
            }
          }
          if (folds <= 1) {
            for (std::size_t i = 0; i < oof.size(); ++i) oof[i][j] = col.prior[j];
          }
        }
        out_of_fold.emplace_back(p.columns_.size(), std::move(oof));
      }
    }
    p.columns_.push_back(std::move(col));
  }
  p.Finish();
  if (p.feature_count_ == 0) Invalid("no feature column is left after dropping the target, dropped and text columns");
  if (training_matrix != nullptr) {
    *training_matrix = p.Transform(file, train_rows);
    std::vector<std::size_t> offset(p.columns_.size(), 0);
    for (std::size_t c = 1; c < p.columns_.size(); ++c) offset[c] = offset[c - 1] + p.columns_[c - 1].width;
    for (const auto& [c, oof] : out_of_fold) {
      for (std::size_t i = 0; i < oof.size(); ++i) {
        for (std::size_t j = 0; j < oof[i].size(); ++j)
          training_matrix->at(i, offset[c] + j) = static_cast<float>(oof[i][j]);
      }
    }
  }
  return p;
}

void Pipeline::Finish() {
  feature_count_ = 0;
  for (Column& c : columns_) {
    c.index.clear();
    if (data::IsNumeric(c.type)) {
      c.width = 1;
    } else if (data::IsTime(c.type)) {
      c.width = c.parts.size();
    } else if (method_ == "onehot") {
      for (std::size_t l = 0; l < c.kept.size(); ++l) c.index[c.kept[l]] = l;
      c.width = c.kept.size() + (c.other ? 1 : 0);
    } else {
      for (std::size_t l = 0; l < c.levels.size(); ++l) c.index[c.levels[l]] = l;
      c.width = method_ == "ordinal" ? 1 : c.prior.size();
    }
    feature_count_ += c.width;
  }
}

Matrix Pipeline::Transform(const data::ColumnarFile& file, std::span<const int64_t> rows) const {
  Matrix m(rows.size(), feature_count_);
  std::size_t offset = 0;
  for (const Column& col : columns_) {
    const std::size_t c = FindColumn(file, col.name);
    if (file.schema()[c].type != col.type) {
      Invalid("column \"" + col.name + "\" is " + std::string(data::TypeName(file.schema()[c].type)) +
              " but the pipeline was trained on a " + std::string(data::TypeName(col.type)) + " column");
    }
    ColumnReader reader(file, c);
    std::vector<float> out(col.width);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EncodeValue(col, method_, reader.Read(rows[i]), out.data());
      std::copy(out.begin(), out.end(), m.values.begin() + static_cast<std::ptrdiff_t>(i * m.cols + offset));
    }
    offset += col.width;
  }
  return m;
}

Matrix Pipeline::TransformRecords(const json& records, std::vector<json>& errors, std::vector<bool>* valid) const {
  if (!records.is_array()) Invalid("the records to predict must be a JSON array of objects");
  Matrix m(records.size(), feature_count_);
  if (valid != nullptr) valid->assign(records.size(), true);
  std::set<std::string> known;
  for (const Column& c : columns_) known.insert(c.name);
  for (const auto& [name, _] : ignored_) known.insert(name);
  if (task_ != Task::kClustering) known.insert(target_);
  auto report = [&](std::size_t row, const json& column, const std::string& problem, const char* level) {
    errors.push_back({{"row", row}, {"column", column}, {"problem", problem}, {"level", level}});
  };
  std::vector<float> out;
  std::string holder;
  for (std::size_t r = 0; r < records.size(); ++r) {
    const json& record = records[r];
    float* row = m.values.data() + r * m.cols;
    bool ok = record.is_object();
    if (!ok) {
      report(r, nullptr, "expected an object of column values, got " + std::string(record.type_name()), "error");
    } else {
      for (const auto& [name, _] : record.items()) {
        if (known.count(name) == 0) report(r, name, "unknown column; ignored", "warning");
      }
      std::size_t offset = 0;
      for (const Column& col : columns_) {
        Raw raw;
        const auto it = record.find(col.name);
        if (it == record.end()) {
          report(r, col.name, "absent; imputed as a missing value", "warning");
        } else {
          const std::string problem = ReadJsonValue(*it, col.type, raw, holder);
          if (!problem.empty()) {
            report(r, col.name, problem, "error");
            ok = false;
          }
        }
        if (ok) EncodeValue(col, method_, raw, row + offset);
        offset += col.width;
      }
    }
    if (!ok) {
      std::fill(row, row + m.cols, std::numeric_limits<float>::quiet_NaN());
      if (valid != nullptr) (*valid)[r] = false;
    }
  }
  return m;
}

std::vector<std::string> Pipeline::FeatureNames() const {
  std::vector<std::string> names;
  for (const Column& c : columns_) {
    const bool category = c.type == ColumnType::kCategory;
    if (data::IsTime(c.type)) {
      for (const auto& part : c.parts) names.push_back(c.name + "." + part);
    } else if (category && method_ == "onehot") {
      for (const auto& level : c.kept) names.push_back(c.name + "=" + level);
      if (c.other) names.push_back(c.name + "=" + kOther);
    } else if (!category || method_ == "ordinal" || c.prior.size() == 1) {
      names.push_back(c.name);
    } else {
      for (const auto& cls : class_names_) names.push_back(c.name + ":" + cls);
    }
  }
  return names;
}

json Pipeline::InputSchema() const {
  json columns = json::array();
  for (const Column& c : columns_) {
    json entry = {{"name", c.name}, {"type", data::TypeName(c.type)}};
    if (c.type == ColumnType::kCategory) entry["levels"] = c.levels;
    columns.push_back(std::move(entry));
  }
  json ignored = json::array();
  for (const auto& [name, reason] : ignored_) ignored.push_back({{"name", name}, {"reason", reason}});
  return {{"columns", columns},
          {"ignored", ignored},
          {"target", task_ == Task::kClustering ? json(nullptr) : json(target_)}};
}

std::string Pipeline::Save() const {
  json j;
  j["format"] = "playground.pipeline";
  j["version"] = kFormatVersion;
  j["method"] = method_;
  j["task"] = TaskName(task_);
  j["target"] = target_;
  j["class_names"] = class_names_;
  j["ignored"] = ignored_;
  json columns = json::array();
  for (const Column& c : columns_) {
    json numeric = json::array();
    for (const Numeric& n : c.numeric) numeric.push_back(NumericJson(n));
    columns.push_back({{"name", c.name},
                       {"type", data::TypeName(c.type)},
                       {"parts", c.parts},
                       {"numeric", numeric},
                       {"fill_level", c.fill_level},
                       {"levels", c.levels},
                       {"kept", c.kept},
                       {"other", c.other},
                       {"ordinal", NumericJson(c.ordinal)},
                       {"encoding", c.encoding},
                       {"prior", c.prior}});
  }
  j["columns"] = std::move(columns);
  const std::vector<std::uint8_t> bytes = json::to_cbor(j);
  return {bytes.begin(), bytes.end()};
}

Pipeline Pipeline::Load(std::string_view bytes) {
  Pipeline p;
  try {
    const json j = json::from_cbor(bytes.begin(), bytes.end());
    if (j.at("format") != "playground.pipeline" || j.at("version") != kFormatVersion)
      throw std::runtime_error("format");
    p.method_ = j.at("method").get<std::string>();
    p.task_ = ParseTask(j.at("task").get<std::string>());
    p.target_ = j.at("target").get<std::string>();
    p.class_names_ = j.at("class_names").get<std::vector<std::string>>();
    p.ignored_ = j.at("ignored").get<std::vector<std::pair<std::string, std::string>>>();
    for (const json& cj : j.at("columns")) {
      Column c;
      c.name = cj.at("name").get<std::string>();
      const auto type = data::TypeFromName(cj.at("type").get<std::string>());
      if (!type || *type == ColumnType::kText) throw std::runtime_error("type");
      c.type = *type;
      c.parts = cj.at("parts").get<std::vector<std::string>>();
      for (const json& n : cj.at("numeric")) c.numeric.push_back(NumericFromJson(n));
      c.fill_level = cj.at("fill_level").get<std::string>();
      c.levels = cj.at("levels").get<std::vector<std::string>>();
      c.kept = cj.at("kept").get<std::vector<std::string>>();
      c.other = cj.at("other").get<bool>();
      c.ordinal = NumericFromJson(cj.at("ordinal"));
      c.encoding = cj.at("encoding").get<std::vector<std::vector<double>>>();
      c.prior = cj.at("prior").get<std::vector<double>>();
      const bool numeric_ok = data::IsNumeric(c.type) ? c.numeric.size() == 1
                              : data::IsTime(c.type)  ? c.numeric.size() == c.parts.size()
                                                      : true;
      bool encoding_ok = true;
      for (const auto& e : c.encoding) encoding_ok = encoding_ok && e.size() == c.prior.size();
      if (!numeric_ok || !encoding_ok ||
          (c.type == ColumnType::kCategory && p.method_ == "target" && c.encoding.size() != c.levels.size())) {
        throw std::runtime_error("shape");
      }
      p.columns_.push_back(std::move(c));
    }
  } catch (const std::exception&) {  // malformed CBOR, a missing field, a bad task name
    Invalid("these bytes are not a saved preprocessing pipeline");
  }
  p.Finish();
  return p;
}

}  // namespace playground::ml
