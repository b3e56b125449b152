#pragma once
// The hyperparameters of a module that declares none.

namespace lightning {

/// `LightningModule<M>`'s default HParams: nothing to save, and Lightning
/// writes no `hparams_name`/`hyper_parameters` for it.
struct NoHParams {};

}  // namespace lightning
