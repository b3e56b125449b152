// The hyperparameters' archive, read without Boost (see hparams_archive.hpp).
#include "lightning/checkpoint/hparams_archive.hpp"

#include <cstdint>

#include "lightning/checkpoint/error.hpp"

namespace lightning::checkpoint::detail {

namespace {
class Tokens {
 public:
  explicit Tokens(std::string_view s) : s_(s) {}

  uint64_t number(const char* what) {
    skip_space();
    const std::size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (pos_ - start >= 18) fail(std::string(what) + " is too large");
      v = v * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
    }
    if (pos_ == start) fail(std::string("expected ") + what);
    return v;
  }
  /// A string: its length, one space, then that many characters.
  std::string string(const char* what) {
    const uint64_t n = number(what);
    if (pos_ >= s_.size() || s_[pos_] != ' ' || n > s_.size() - pos_ - 1)
      fail(std::string(what) + " of " + std::to_string(n) + " characters reaches past the archive's end");
    ++pos_;
    std::string out(s_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::size_t remaining() const noexcept { return s_.size() - pos_; }
  void end() {
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the last hyperparameter");
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n')) ++pos_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError("lightning: checkpoint: the hyperparameters archive is corrupt at character " +
                          std::to_string(pos_) + ": " + what);
  }
  std::string_view s_;
  std::size_t pos_ = 0;
};
}  // namespace

std::vector<std::pair<std::string, std::string>> parse_reflected_archive(std::string_view text) {
  Tokens t(text);
  if (t.string("the archive signature") != "serialization::archive")
    throw CheckpointError("lightning: checkpoint: the hyperparameters archive is not a Boost text archive");
  t.number("the archive version");
  t.number("the tracking level");
  t.number("the class version");
  const uint64_t n = t.number("the field count");
  // Each field takes at least "0  0 " (two empty strings): 4 characters.
  if (n > t.remaining() / 4)
    throw CheckpointError("lightning: checkpoint: the hyperparameters archive claims " + std::to_string(n) +
                          " fields, more than its " + std::to_string(text.size()) + " characters can hold");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(static_cast<std::size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    auto name = t.string("a field name");
    auto value = t.string("a field value");
    out.emplace_back(std::move(name), std::move(value));
  }
  t.end();
  return out;
}

std::string reflected_archive(const std::vector<std::pair<std::string, std::string>>& fields) {
  // Boost 1.74's text_oarchive of the field count and (name, text) strings:
  // signature, library version, class tracking and version, then the data.
  std::string out = "22 serialization::archive 18 0 0 " + std::to_string(fields.size());
  for (const auto& [name, text] : fields) {
    out += ' ' + std::to_string(name.size()) + ' ' + name;
    out += ' ' + std::to_string(text.size()) + ' ' + text;
  }
  return out + '\n';
}

}  // namespace lightning::checkpoint::detail
