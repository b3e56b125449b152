// ProgressBar (see callbacks/progress_bar.hpp).
#include "lightning/callbacks/progress_bar.hpp"

#include <cstdint>
#include <cstdio>

namespace lightning {

namespace {
std::string format_time(double s) {
  const auto t = static_cast<int64_t>(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60),
                  (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

}  // namespace

void ProgressBar::render_line(int64_t epoch, int64_t max_epochs, const std::map<std::string, torch::Tensor>& metrics,
                              bool final_line) {
  const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string line = "Epoch " + std::to_string(epoch);
  if (max_epochs > 0) line += "/" + std::to_string(max_epochs - 1);
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
  for (const auto& [k, v] : metrics) {
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

void ProgressBar::print_table(const char* title, const std::map<std::string, torch::Tensor>& metrics) {
  std::fprintf(opts_.stream, "%-24s %s\n", title, "DataLoader 0");
  for (const auto& [k, v] : metrics) std::fprintf(opts_.stream, "%-24s %.6g\n", k.c_str(), v.template item<double>());
  std::fflush(opts_.stream);
}

}  // namespace lightning
