// EarlyStopping (see callbacks/early_stopping.hpp).
#include "lightning/callbacks/early_stopping.hpp"

namespace lightning {

EarlyStopping::EarlyStopping() : EarlyStopping(Options{}) {}

EarlyStopping::EarlyStopping(Options o) : opts_(std::move(o)) {
  // Lightning keeps min_delta negated in mode min and always subtracts it.
  min_delta_ = opts_.mode == Mode::max ? opts_.min_delta : -opts_.min_delta;
  best_score_ = opts_.mode == Mode::min ? inf() : -inf();
}

std::string EarlyStopping::state_key() const {
  return "EarlyStopping{'monitor': " + detail::py_str_repr(opts_.monitor) + ", 'mode': '" +
         std::string(to_string(opts_.mode)) + "'}";
}

c10::impl::GenericDict EarlyStopping::state_dict() const {
  auto d = detail::new_state_dict();
  d.insert(std::string("wait_count"), wait_count_);
  d.insert(std::string("stopped_epoch"), stopped_epoch_);
  d.insert(std::string("best_score"), detail::score_ivalue(best_score_));
  d.insert(std::string("patience"), opts_.patience);
  return d;
}

void EarlyStopping::load_state_dict(const c10::impl::GenericDict& state) {
  const detail::StateReader r(state, "EarlyStopping");
  const int64_t wait = r.integer("wait_count"), stopped = r.integer("stopped_epoch");
  const double best = r.number("best_score");
  const int64_t patience = r.integer("patience");
  wait_count_ = wait, stopped_epoch_ = stopped, best_score_ = best, opts_.patience = patience;
}

}  // namespace lightning
