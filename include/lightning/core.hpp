#pragma once
// The core of lightning-cpp: all a program with a bare Trainer
// (`L::BareTrainer<Model>`, or named callbacks and loggers of its own)
// needs: the module, the Trainer, 32-bit precision, one process, loaders.
// <lightning/lightning.hpp> adds Lightning's default components and the
// rest (callbacks, loggers, metrics, schedulers, precisions).
#include <boost/hana/adapt_struct.hpp>

#include "callbacks/callbacks.hpp"
#include "data/batch.hpp"
#include "data/datamodule.hpp"
#include "data/loader.hpp"
#include "data/tensor_loader.hpp"
#include "hooks.hpp"
#include "log_options.hpp"
#include "loggers/loggers.hpp"
#include "module.hpp"
#include "precision/f32.hpp"
#include "seed.hpp"
#include "stage.hpp"
#include "strategy/single.hpp"
#include "trainer.hpp"
#include "trainer_options.hpp"
#include "version.hpp"
