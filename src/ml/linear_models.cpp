// Linear regressors solved with Eigen: ordinary least squares, ridge and lasso, with the same
// objectives and defaults as scikit-learn's LinearRegression, Ridge and Lasso, on the raw features
// (no internal standardisation, so coefficients are in the units of the data and equal
// scikit-learn's).
//
// Least squares and ridge are closed-form solves. Eigen has no L1-penalised solver and no packaged
// library here has one that reports progress, so lasso is a hand-written cyclic coordinate descent
// that follows scikit-learn's algorithm (sklearn/linear_model/_cd_fast.pyx): same update, same
// duality-gap stopping rule, hence the same answer at the same tolerance.
//
// Saved bytes are CBOR (nlohmann::json::to_cbor), which stores doubles exactly, so a loaded model
// predicts bit for bit what the saved one did.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ml/algorithms.h"

namespace playground::ml::detail {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kFormat = "playground.linear.v1";
constexpr double kLargest = 1e6;

enum class Kind { kLeastSquares, kRidge, kLasso };

std::string_view AlgorithmName(Kind kind) {
  switch (kind) {
    case Kind::kLeastSquares: return "linear_regression";
    case Kind::kRidge: return "ridge";
    case Kind::kLasso: return "lasso";
  }
  return "linear_regression";
}

// Copies the features into a column-major double matrix, refusing missing or infinite values:
// these solvers have no notion of a missing value.
Eigen::MatrixXd ToEigen(const Matrix& x, std::string_view algorithm) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(x.rows), static_cast<Eigen::Index>(x.cols));
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t c = 0; c < x.cols; ++c) {
      float v = x.at(r, c);
      if (!std::isfinite(v)) {
        Fail(ErrorCode::kValidation, std::string(algorithm) + " cannot use missing or infinite feature values (row " +
                                         std::to_string(r + 1) + ", feature " + std::to_string(c + 1) +
                                         "); add an imputation step to the preprocessing pipeline");
      }
      out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = v;
    }
  }
  return out;
}

// sklearn's enet_coordinate_descent with l2_reg = 0 on already centred data: minimises
// (1/2)||y - Xw||^2 + alpha_n ||w||_1 where alpha_n = alpha * n, which is n times the documented
// objective (1/(2n))||y - Xw||^2 + alpha ||w||_1 and so has the same minimiser. Reports progress once
// per sweep over the features; the report throws when the run is cancelled.
Eigen::VectorXd LassoDescent(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double alpha, int max_iter, double tol,
                             const TrainContext& context) {
  const Eigen::Index p = x.cols();
  const double alpha_n = alpha * static_cast<double>(x.rows());
  Eigen::VectorXd w = Eigen::VectorXd::Zero(p);
  Eigen::VectorXd residual = y;
  const Eigen::VectorXd column_norms = x.colwise().squaredNorm().transpose();
  const double gap_tol = tol * y.squaredNorm();
  for (int iter = 0; iter < max_iter; ++iter) {
    double w_max = 0;
    double d_w_max = 0;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (column_norms(j) == 0.0) continue;
      const double w_old = w(j);
      if (w_old != 0.0) residual += w_old * x.col(j);
      const double rho = x.col(j).dot(residual);
      const double shrunk = std::max(std::abs(rho) - alpha_n, 0.0);
      w(j) = std::copysign(shrunk, rho) / column_norms(j);
      if (w(j) != 0.0) residual -= w(j) * x.col(j);
      d_w_max = std::max(d_w_max, std::abs(w(j) - w_old));
      w_max = std::max(w_max, std::abs(w(j)));
    }
    context.Report(static_cast<double>(iter + 1) / max_iter, "lasso coordinate descent");
    // Like scikit-learn, the duality gap is only computed when the coefficients have stopped
    // moving (or on the last sweep), because it costs as much as a sweep.
    if (w_max == 0.0 || d_w_max / w_max < tol || iter == max_iter - 1) {
      const Eigen::VectorXd xt_r = x.transpose() * residual;
      const double dual_norm = xt_r.cwiseAbs().maxCoeff();
      const double r_norm2 = residual.squaredNorm();
      double scale = 1.0;
      double gap = r_norm2;
      if (dual_norm > alpha_n) {
        scale = alpha_n / dual_norm;
        gap = 0.5 * (r_norm2 + r_norm2 * scale * scale);
      }
      gap += alpha_n * w.lpNorm<1>() - scale * residual.dot(y);
      // Not converging within max_iter is not an error (scikit-learn only warns): the
      // coefficients of the last sweep are kept.
      if (gap < gap_tol) break;
    }
  }
  return w;
}

std::vector<double> ToVector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

// One fitted linear regressor: prediction = intercept + coefficients . x.
// Thread-safety: Fit and Load require external synchronization; afterwards the model is
// immutable and Predict, FeatureImportance and Save are safe for concurrent use.
class LinearRegressor final : public Model {
 public:
  LinearRegressor(Kind kind, const ModelSpec& spec) : kind_(kind) {
    const auto params = ResolveParams(FindAlgorithm(AlgorithmName(kind)), spec.params);
    fit_intercept_ = params.at("fit_intercept").get<bool>();
    if (kind != Kind::kLeastSquares) alpha_ = params.at("alpha").get<double>();
    if (kind == Kind::kLasso) {
      max_iter_ = params.at("max_iter").get<int>();
      tol_ = params.at("tol").get<double>();
    }
  }

  void Fit(const Matrix& x, std::span<const double> y, const TrainContext& context) override {
    const std::string name(AlgorithmName(kind_));
    if (x.rows == 0 || x.cols == 0) Fail(ErrorCode::kValidation, name + " needs at least one row and one feature");
    if (y.size() != x.rows) {
      Fail(ErrorCode::kValidation,
           name + " got " + std::to_string(y.size()) + " targets for " + std::to_string(x.rows) + " rows");
    }
    Eigen::MatrixXd features = ToEigen(x, name);
    Eigen::VectorXd target(static_cast<Eigen::Index>(y.size()));
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (!std::isfinite(y[i])) {
        Fail(ErrorCode::kValidation, name + " needs a finite target on every row (row " + std::to_string(i + 1) + ")");
      }
      target(static_cast<Eigen::Index>(i)) = y[i];
    }
    context.Report(0.0, "fitting " + name);

    const Eigen::RowVectorXd column_mean = features.colwise().mean();
    const Eigen::VectorXd stddev =
        (features.rowwise() - column_mean).colwise().norm().transpose() / std::sqrt(static_cast<double>(x.rows));
    // Centring both sides and recovering the intercept afterwards leaves the intercept
    // unpenalised, as scikit-learn does.
    Eigen::RowVectorXd x_mean = Eigen::RowVectorXd::Zero(features.cols());
    double y_mean = 0;
    if (fit_intercept_) {
      x_mean = column_mean;
      y_mean = target.mean();
      features.rowwise() -= x_mean;
      target.array() -= y_mean;
    }

    Eigen::VectorXd w;
    switch (kind_) {
      case Kind::kLeastSquares:
        // The minimum-norm least-squares solution, which stays defined when features are
        // collinear (scikit-learn uses LAPACK's gelsd for the same result).
        w = features.completeOrthogonalDecomposition().solve(target);
        break;
      case Kind::kRidge:
        if (alpha_ > 0) {
          Eigen::MatrixXd gram = features.transpose() * features;
          gram.diagonal().array() += alpha_;
          w = gram.ldlt().solve(features.transpose() * target);
        } else {
          w = features.completeOrthogonalDecomposition().solve(target);
        }
        break;
      case Kind::kLasso: w = LassoDescent(features, target, alpha_, max_iter_, tol_, context); break;
    }
    if (!w.allFinite()) {
      Fail(ErrorCode::kValidation, name +
                                       " could not solve for the coefficients; the features may be too large "
                                       "or degenerate, add a scaling step to the preprocessing pipeline");
    }
    coefficients_ = ToVector(w);
    intercept_ = fit_intercept_ ? y_mean - x_mean.dot(w) : 0.0;

    // Importance on the standardised scale, so a feature measured in large units does not look
    // unimportant because its coefficient is small.
    importance_ = Normalised(w.cwiseAbs().cwiseProduct(stddev));
    context.Report(1.0, "fitted " + name);
  }

  Predictions Predict(const Matrix& x) const override {
    const std::string name(AlgorithmName(kind_));
    if (coefficients_.empty()) Fail(ErrorCode::kConflict, name + " must be trained or loaded before it predicts");
    if (x.cols != coefficients_.size()) {
      Fail(ErrorCode::kValidation, name + " was trained on " + std::to_string(coefficients_.size()) +
                                       " features but got " + std::to_string(x.cols));
    }
    Predictions out;
    out.values.reserve(x.rows);
    for (std::size_t r = 0; r < x.rows; ++r) {
      double sum = intercept_;
      for (std::size_t c = 0; c < x.cols; ++c) {
        const float v = x.at(r, c);
        if (!std::isfinite(v)) {
          Fail(ErrorCode::kValidation, name + " cannot use missing or infinite feature values (row " +
                                           std::to_string(r + 1) + ", feature " + std::to_string(c + 1) +
                                           "); add an imputation step to the preprocessing pipeline");
        }
        sum += coefficients_[c] * v;
      }
      out.values.push_back(sum);
    }
    return out;
  }

  std::vector<double> FeatureImportance() const override { return importance_; }

  std::string Save() const override {
    nlohmann::json j = {{"format", kFormat},
                        {"algorithm", AlgorithmName(kind_)},
                        {"coefficients", coefficients_},
                        {"intercept", intercept_},
                        {"importance", importance_}};
    const auto bytes = nlohmann::json::to_cbor(j);
    return {bytes.begin(), bytes.end()};
  }

  void Load(std::string_view bytes) override {
    const std::string name(AlgorithmName(kind_));
    const auto j = nlohmann::json::from_cbor(bytes.begin(), bytes.end(), true, false);
    try {
      if (j.is_discarded() || j.at("format") != kFormat || j.at("algorithm") != name) {
        Fail(ErrorCode::kValidation, "these bytes are not a saved " + name + " model");
      }
      auto coefficients = j.at("coefficients").get<std::vector<double>>();
      auto importance = j.at("importance").get<std::vector<double>>();
      if (coefficients.empty() || (!importance.empty() && importance.size() != coefficients.size())) {
        Fail(ErrorCode::kValidation, "the saved " + name + " model is corrupt");
      }
      intercept_ = j.at("intercept").get<double>();
      coefficients_ = std::move(coefficients);
      importance_ = std::move(importance);
    } catch (const nlohmann::json::exception&) {
      Fail(ErrorCode::kValidation, "the saved " + name + " model is corrupt");
    }
  }

 private:
  // Sums to 1, or empty when every coefficient is zero (no feature influences the prediction).
  static std::vector<double> Normalised(const Eigen::VectorXd& v) {
    const double total = v.sum();
    if (!(total > 0)) return {};
    return ToVector(v / total);
  }

  Kind kind_;
  bool fit_intercept_ = true;
  double alpha_ = 1.0;
  int max_iter_ = 1000;
  double tol_ = 1e-4;
  std::vector<double> coefficients_;
  double intercept_ = 0;
  std::vector<double> importance_;
};

ParamSpec FitInterceptParam() {
  return {"fit_intercept",
          ParamSpec::Type::kBoolean,
          0,
          0,
          true,
          {},
          "Fit an unpenalised intercept (centres the features and target); turn off only when the data is "
          "already centred"};
}

AlgorithmSpec Regressor(Kind kind, std::string title, std::vector<ParamSpec> params) {
  AlgorithmSpec spec;
  spec.name = std::string(AlgorithmName(kind));
  spec.title = std::move(title);
  spec.library = "Eigen";
  spec.tasks = {Task::kRegression};
  spec.params = std::move(params);
  spec.make = [kind](const ModelSpec& model) { return std::make_unique<LinearRegressor>(kind, model); };
  return spec;
}

}  // namespace

std::vector<AlgorithmSpec> LinearAlgorithms() {
  std::vector<AlgorithmSpec> out;
  out.push_back(Regressor(Kind::kLeastSquares, "Linear regression (least squares)", {FitInterceptParam()}));
  out.push_back(Regressor(
      Kind::kRidge, "Ridge regression",
      {{"alpha",
        ParamSpec::Type::kNumber,
        0,
        kLargest,
        1.0,
        {},
        "L2 penalty strength: minimises ||y - Xw||^2 + alpha ||w||^2 on the raw feature scale; 0 is least squares"},
       FitInterceptParam()}));
  out.push_back(Regressor(
      Kind::kLasso, "Lasso regression",
      {{"alpha",
        ParamSpec::Type::kNumber,
        0,
        kLargest,
        1.0,
        {},
        "L1 penalty strength: minimises (1/(2n)) ||y - Xw||^2 + alpha ||w||_1 on the raw feature scale; larger "
        "values zero out more coefficients"},
       {"max_iter",
        ParamSpec::Type::kInteger,
        1,
        1000000,
        1000,
        {},
        "Maximum number of coordinate-descent sweeps over the features"},
       {"tol",
        ParamSpec::Type::kNumber,
        1e-12,
        1,
        1e-4,
        {},
        "Stop when the duality gap falls below tol * ||y||^2, y centred when fitting an intercept (as "
        "scikit-learn)"},
       FitInterceptParam()}));
  return out;
}

}  // namespace playground::ml::detail
