// Precompiled header for the project's own targets: the heavy, stable part.
#include <torch/torch.h>
