#pragma once
// All metrics (torchmetrics' role): `#include <lightning/metrics/metrics.hpp>`.
// Each accumulates tensor state in update(), computes the epoch value from it
// in compute() and clears it in reset(); see metric.hpp for the concepts.
#include "accuracy.hpp"
#include "aggregation.hpp"
#include "classification_options.hpp"
#include "confusion_matrix.hpp"
#include "f1_score.hpp"
#include "max_metric.hpp"
#include "mean_absolute_error.hpp"
#include "mean_metric.hpp"
#include "mean_squared_error.hpp"
#include "metric.hpp"
#include "min_metric.hpp"
#include "precision.hpp"
#include "recall.hpp"
#include "sum_metric.hpp"
