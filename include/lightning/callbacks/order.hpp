#pragma once
// Where a callback runs among the others in `on_train_epoch_end`.

namespace lightning {

/// Lightning's order in `on_train_epoch_end`: plain callbacks before the
/// module's hook, monitoring ones (EarlyStopping) after it, checkpoint
/// callbacks last. A callback says which it is with
/// `static constexpr L::CallbackOrder lightning_callback_order = L::CallbackOrder::monitoring;`.
enum class CallbackOrder { plain, monitoring, checkpoint };

/// The order a callback type declared (plain when it declares none).
template <class C>
constexpr CallbackOrder callback_order() {
  if constexpr (requires { C::lightning_callback_order; }) return C::lightning_callback_order;
  else return CallbackOrder::plain;
}

}  // namespace lightning
