// Internal to the ml module: each family of algorithms contributes its declarations to the
// registry in model.cpp. Other modules use model.h only.
#pragma once

#include <vector>

#include "ml/model.h"

namespace playground::ml::detail {

std::vector<AlgorithmSpec> TreeAlgorithms();       // tree_models.cpp: gradient boosting, random forest
std::vector<AlgorithmSpec> LinearAlgorithms();     // linear_models.cpp: linear, ridge, lasso (Eigen)
std::vector<AlgorithmSpec> LiblinearAlgorithms();  // liblinear_models.cpp: logistic L1/L2, linear SVM/SVR
std::vector<AlgorithmSpec> NeighbourAlgorithms();  // neighbours.cpp: k-NN, naive Bayes, k-means

}  // namespace playground::ml::detail
