#pragma once
// ProgressBar: a default callback, like Lightning's TQDM bar. In place on a
// terminal (refresh-rate limited); one line per epoch when stdout is not a
// terminal, so CI logs stay readable.
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "../stage.hpp"

namespace lightning {

class ProgressBar {
 public:
  struct Options {
    /// Seconds between in-place refreshes on a terminal.
    double refresh_interval = 0.1;
    /// Unset: in place iff the stream is a terminal.
    int in_place = -1;
    /// Where the bar goes (stdout, like Lightning's TQDM bar).
    std::FILE* stream = stdout;
  };

  ProgressBar() : ProgressBar(Options{}) {}
  explicit ProgressBar(Options o) : opts_(o) {
    in_place_ = o.in_place < 0 ? ::isatty(::fileno(o.stream)) != 0 : o.in_place != 0;
  }

  template <class T, class M>
  void on_train_epoch_start(T& trainer, M&) {
    start_ = last_ = clock::now();
    done_ = 0;
    total_ = trainer.num_training_batches();
  }

  template <class T, class M, class O, class B>
  void on_train_batch_end(T& trainer, M&, const O&, const B&, int64_t) {
    ++done_;
    if (!in_place_ || trainer.sanity_checking()) return;
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - last_).count() < opts_.refresh_interval) return;
    last_ = now;
    render(trainer, false);
  }

  template <class T, class M>
  void on_train_epoch_end(T& trainer, M&) {
    render(trainer, true);
  }

  /// Validation shows its own bar, in place on a terminal (cleared when done).
  template <class T, class M, class O, class B>
  void on_validation_batch_end(T& trainer, M&, const O&, const B&, int64_t batch_idx) {
    if (!in_place_ || !trainer.is_global_zero()) return;
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - last_).count() < opts_.refresh_interval) return;
    last_ = now;
    const int64_t total = trainer.num_eval_batches();
    std::string line = trainer.sanity_checking() ? "Sanity Checking: " : "Validation: ";
    char buf[64];
    if (total > 0 && total < INT64_MAX) {
      const int width = 20;
      const auto filled = static_cast<int>(width * (batch_idx + 1) / total);
      line += "[" + std::string(filled, '=') + std::string(width - filled, ' ') + "] ";
      std::snprintf(buf, sizeof buf, "%lld/%lld", (long long)(batch_idx + 1), (long long)total);
    } else {
      std::snprintf(buf, sizeof buf, "%lld", (long long)(batch_idx + 1));
    }
    line += buf;
    std::fputs(("\r" + line + "\x1b[K").c_str(), opts_.stream);
    std::fflush(opts_.stream);
    validation_shown_ = true;
  }

  template <class T, class M>
  void on_test_end(T& trainer, M&) {
    print_eval_table(trainer, "Test metric");
  }

  template <class T, class M>
  void on_validation_end(T& trainer, M&) {
    if (validation_shown_) {  // give the line back to the training bar
      std::fputs("\r\x1b[K", opts_.stream);
      std::fflush(opts_.stream);
      validation_shown_ = false;
    }
    if (trainer.stage() == Stage::validate) print_eval_table(trainer, "Validate metric");
  }

  int64_t batches_done() const noexcept { return done_; }

 private:
  using clock = std::chrono::steady_clock;

  template <class T>
  void render(T& trainer, bool final_line) {
    if (trainer.is_global_zero())
      render_line(trainer.current_epoch(), trainer.max_epochs(), trainer.progress_bar_metrics(), final_line);
  }
  void render_line(int64_t epoch, int64_t max_epochs, const std::map<std::string, torch::Tensor>& metrics,
                   bool final_line);

  template <class T>
  void print_eval_table(T& trainer, const char* title) {
    if (trainer.is_global_zero()) print_table(title, trainer.eval_metrics());
  }
  void print_table(const char* title, const std::map<std::string, torch::Tensor>& metrics);

  Options opts_;
  bool in_place_ = false;
  bool validation_shown_ = false;
  clock::time_point start_{}, last_{};
  int64_t done_ = 0, total_ = 0;
};

}  // namespace lightning
