// Options resolved once (see trainer_options.hpp).
#include "lightning/trainer_options.hpp"

namespace lightning::detail {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

namespace {
/// The limit_*_batches and val_check_interval options: counts or fractions in range.
void check_batch_counts(const TrainerOptions& o) {
  for (auto [name, l] :
       {std::pair{"limit_train_batches", o.limit_train_batches}, std::pair{"limit_val_batches", o.limit_val_batches},
        std::pair{"limit_test_batches", o.limit_test_batches},
        std::pair{"limit_predict_batches", o.limit_predict_batches}}) {
    if (l.is_count())
      require(l.count() >= 0, std::string(name) + " must be >= 0, got " + std::to_string(l.count()));
    else
      require(l.fraction() >= 0.0 && l.fraction() <= 1.0,
              std::string(name) + " must be a fraction in [0.0, 1.0] or a batch count, got " +
                  std::to_string(l.fraction()));
  }
  if (o.val_check_interval.is_count())
    require(o.val_check_interval.count() >= 1,
            "val_check_interval must be >= 1 batches, got " + std::to_string(o.val_check_interval.count()));
  else
    require(o.val_check_interval.fraction() > 0.0 && o.val_check_interval.fraction() <= 1.0,
            "val_check_interval must be a fraction in (0.0, 1.0] or a batch count, got " +
                std::to_string(o.val_check_interval.fraction()));
}
}  // namespace

ResolvedOptions resolve(const TrainerOptions& o) {
  ResolvedOptions r;
  r.user = o;
  r.max_steps = o.max_steps;
  r.max_epochs = o.max_epochs ? *o.max_epochs : (o.max_steps == -1 ? 1000 : -1);
  r.min_epochs = o.min_epochs.value_or(0);
  r.min_steps = o.min_steps.value_or(0);
  r.num_sanity_val_steps = o.num_sanity_val_steps;
  r.limit_train = o.limit_train_batches;
  r.limit_val = o.limit_val_batches;
  r.limit_test = o.limit_test_batches;
  r.limit_predict = o.limit_predict_batches;
  r.val_check_interval = o.val_check_interval;
  r.check_val_every_n_epoch = o.check_val_every_n_epoch;
  r.accumulate = o.accumulate_grad_batches;
  r.log_every_n_steps = o.log_every_n_steps;

  require(r.max_epochs >= -1, "max_epochs must be >= -1 (-1: unlimited), got " + std::to_string(r.max_epochs));
  require(r.max_steps >= -1, "max_steps must be >= -1 (-1: unlimited), got " + std::to_string(r.max_steps));
  require(r.num_sanity_val_steps >= -1,
          "num_sanity_val_steps must be >= -1 (-1: all), got " + std::to_string(r.num_sanity_val_steps));
  require(r.accumulate >= 1, "accumulate_grad_batches must be >= 1, got " + std::to_string(r.accumulate));
  require(o.gradient_clip_val >= 0.0,
          "gradient_clip_val must be >= 0 (0: off), got " + std::to_string(o.gradient_clip_val));
  require(r.log_every_n_steps >= 1, "log_every_n_steps must be >= 1, got " + std::to_string(r.log_every_n_steps));
  require(o.devices.count() >= 1, "devices must be >= 1, got " + std::to_string(o.devices.count()));
  require(o.num_nodes >= 1, "num_nodes must be >= 1, got " + std::to_string(o.num_nodes));
  require(!o.check_val_every_n_epoch || *o.check_val_every_n_epoch >= 1,
          "check_val_every_n_epoch must be >= 1 or unset");
  check_batch_counts(o);

  r.fast_dev_run = o.fast_dev_run.batches();
  require(r.fast_dev_run >= 0, "fast_dev_run must be true/false or a number of batches >= 0");
  if (r.fast_dev_run > 0) {
    const int64_t n = r.fast_dev_run;
    r.limit_train = r.limit_val = r.limit_test = r.limit_predict = n;
    r.max_epochs = 1;
    r.max_steps = n;
    r.num_sanity_val_steps = 0;
    r.val_check_interval = 1.0;
    r.check_val_every_n_epoch = 1;
  }
  return r;
}

}  // namespace lightning::detail
