#pragma once
// lightning-cpp: PyTorch Lightning for C++. One include for users:
//   #include <lightning/lightning.hpp>
//   namespace L = lightning;
// It is <lightning/core.hpp> (the bare Trainer) plus Lightning's default
// components and every callback, logger, metric, scheduler and precision.
// Opt-in includes: <lightning/ddp.hpp> (strategy::DDP; build with the
// lightning-cpp-ddp dependency) and <lightning/export/onnx.hpp> (ONNX libraries).
#include "core.hpp"

#include "callbacks/callbacks.hpp"
#include "callbacks/early_stopping.hpp"
#include "callbacks/lr_monitor.hpp"
#include "callbacks/model_checkpoint.hpp"
#include "callbacks/model_summary.hpp"
#include "callbacks/progress_bar.hpp"
#include "checkpoint/dict.hpp"
#include "checkpoint/file.hpp"
#include "data/batch.hpp"
#include "data/datamodule.hpp"
#include "data/loader.hpp"
#include "data/random_split.hpp"
#include "data/tensor_loader.hpp"
#include "export/state_dict.hpp"  // export/onnx.hpp is separate: it needs the ONNX libraries
#include "hooks.hpp"
#include "log_options.hpp"
#include "loggers/csv_logger.hpp"
#include "loggers/loggers.hpp"
#include "loggers/tensorboard_logger.hpp"
#include "metrics/metrics.hpp"
#include "module.hpp"
#include "optim/clipping.hpp"
#include "optim/configure.hpp"
#include "optim/lightning_optimizer.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedulers.hpp"
#include "precision/precision.hpp"
#include "seed.hpp"
#include "stage.hpp"
#include "strategy/single.hpp"
#include "trainer.hpp"
#include "trainer_options.hpp"
#include "version.hpp"
