#pragma once
// ProgressBar: a default callback, like Lightning's TQDM bar. In place on a
// terminal (refresh-rate limited); one line per epoch when stdout is not a
// terminal, so CI logs stay readable.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
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

  static std::string format_time(double s) {
    const auto t = static_cast<int64_t>(s);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
    else std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
    return buf;
  }

  template <class T>
  void render(T& trainer, bool final_line) {
    if (!trainer.is_global_zero()) return;
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    std::string line = "Epoch " + std::to_string(trainer.current_epoch());
    if (trainer.max_epochs() > 0) line += "/" + std::to_string(trainer.max_epochs() - 1);
    line += ": ";
    char buf[128];
    const bool known = total_ > 0 && total_ < INT64_MAX;
    if (known) {
      const int width = 20;
      const auto filled = static_cast<int>(width * done_ / total_);
      line += "[" + std::string(filled, '=') + (filled < width ? ">" : "") +
              std::string(width - filled - (filled < width ? 1 : 0), ' ') + "] ";
      std::snprintf(buf, sizeof buf, "%lld/%lld", (long long)done_, (long long)total_);
    } else {
      std::snprintf(buf, sizeof buf, "%lld", (long long)done_);
    }
    line += buf;
    const double eta = known && rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    std::snprintf(buf, sizeof buf, " [%s<%s, %.2f it/s]", format_time(elapsed).c_str(), format_time(eta).c_str(), rate);
    line += buf;
    for (const auto& [k, v] : trainer.progress_bar_metrics()) {
      std::snprintf(buf, sizeof buf, " %s=%.4g", k.c_str(), v.template item<double>());
      line += buf;
    }
    if (in_place_) {
      std::fputs(("\r" + line + "\x1b[K").c_str(), opts_.stream);
      if (final_line) std::fputc('\n', opts_.stream);
    } else if (final_line) {
      std::fputs((line + "\n").c_str(), opts_.stream);
    }
    std::fflush(opts_.stream);
  }

  template <class T>
  void print_eval_table(T& trainer, const char* title) {
    if (!trainer.is_global_zero()) return;
    std::fprintf(opts_.stream, "%-24s %s\n", title, "DataLoader 0");
    for (const auto& [k, v] : trainer.eval_metrics())
      std::fprintf(opts_.stream, "%-24s %.6g\n", k.c_str(), v.template item<double>());
    std::fflush(opts_.stream);
  }

  Options opts_;
  bool in_place_ = false;
  bool validation_shown_ = false;
  clock::time_point start_{}, last_{};
  int64_t done_ = 0, total_ = 0;
};

}  // namespace lightning
