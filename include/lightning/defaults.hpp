#pragma once
// Lightning's default components, declared: what `L::Trainer<Model>` uses
// when no L::Callbacks<...> or L::Loggers<...> policy is named. Their
// definitions come with <lightning/lightning.hpp>; a Trainer that needs them
// without it says which include is missing.
#include "callbacks/callbacks.hpp"
#include "loggers/loggers.hpp"

namespace lightning {

class ModelSummary;
class ProgressBar;
class ModelCheckpoint;
class CSVLogger;

/// What `L.Trainer()` gives: a model summary, a progress bar and a checkpoint every epoch.
using DefaultCallbacks = Callbacks<ModelSummary, ProgressBar, ModelCheckpoint>;
/// `L.Trainer()`'s logger: metrics.csv and hparams.yaml under default_root_dir.
using DefaultLoggers = Loggers<CSVLogger>;

namespace detail {
template <class T>
concept CompleteType = requires { sizeof(T); };
template <class Set>
inline constexpr bool all_complete = false;
template <template <class...> class Set, class... Cs>
inline constexpr bool all_complete<Set<Cs...>> = (CompleteType<Cs> && ...);
}  // namespace detail

}  // namespace lightning
