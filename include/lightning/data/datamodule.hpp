#pragma once
// LightningDataModule: a type that makes its own loaders.
#include <concepts>

#include "../stage.hpp"
#include "loader.hpp"

namespace lightning {

template <class D>
concept HasTrainDataloader = requires(D& d) {
  { d.train_dataloader() } -> data::Loader;
};
template <class D>
concept HasValDataloader = requires(D& d) {
  { d.val_dataloader() } -> data::Loader;
};
template <class D>
concept HasTestDataloader = requires(D& d) {
  { d.test_dataloader() } -> data::Loader;
};
template <class D>
concept HasPredictDataloader = requires(D& d) {
  { d.predict_dataloader() } -> data::Loader;
};

/// A type that makes its own loaders: any of `train_dataloader()`,
/// `val_dataloader()`, `test_dataloader()`, `predict_dataloader()`, with
/// optional `prepare_data()`, `setup(Stage)` and `teardown(Stage)`.
template <class D>
concept LightningDataModule = !data::Loader<D> && (HasTrainDataloader<D> || HasValDataloader<D> ||
                                                   HasTestDataloader<D> || HasPredictDataloader<D>);

namespace data::detail {
template <class D>
void teardown(D& dm, Stage stage) {
  if constexpr (requires { dm.teardown(stage); }) dm.teardown(stage);
}
}  // namespace data::detail

}  // namespace lightning
