#pragma once
// All of lightning::optim's learning-rate schedulers, PyTorch 1.13's values:
// StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR,
// OneCycleLR, LambdaLR, ReduceLROnPlateau and SequentialLR.
#include "cosine_annealing_lr.hpp"
#include "exponential_lr.hpp"
#include "lambda_lr.hpp"
#include "linear_lr.hpp"
#include "multi_step_lr.hpp"
#include "one_cycle_lr.hpp"
#include "reduce_lr_on_plateau.hpp"
#include "sequential_lr.hpp"
#include "step_lr.hpp"
