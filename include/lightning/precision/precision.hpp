#pragma once
// Every precision policy, for `Trainer<Model, L::precision::...>`:
//   F32 "32-true" (default), F64 "64-true", BF16Mixed "bf16-mixed",
//   F16Mixed "16-mixed" (CUDA, with GradScaler), BF16True "bf16-true",
//   F16True "16-true" (CUDA); plus the Autocast, DefaultDtype and GradScaler
//   building blocks, usable on their own.
#include "bf16_mixed.hpp"
#include "bf16_true.hpp"
#include "f16_mixed.hpp"
#include "f16_true.hpp"
#include "f32.hpp"
#include "f64.hpp"
#include "grad_scaler.hpp"
