#pragma once
// Lightning's default components, declared: what `L::Trainer<Model>` uses
// when no L::Callbacks<...> or L::Loggers<...> policy is named. Their
// definitions come with <lightning/lightning.hpp>; a Trainer that needs them
// without it says which include is missing.
#include <type_traits>

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
/// Lightning's class name of a default component, for messages.
template <class C>
constexpr const char* callback_class_name() {
  if constexpr (std::is_same_v<C, ModelCheckpoint>) return "ModelCheckpoint";
  else if constexpr (std::is_same_v<C, ProgressBar>) return "TQDMProgressBar";
  else return "ModelSummary";
}

template <class T>
concept CompleteType = requires { sizeof(T); };
template <class Set>
inline constexpr bool all_complete = false;
template <template <class...> class Set, class... Cs>
inline constexpr bool all_complete<Set<Cs...>> = (CompleteType<Cs> && ...);
}  // namespace detail

}  // namespace lightning
