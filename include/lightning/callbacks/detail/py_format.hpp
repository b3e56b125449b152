#pragma once
// Python's string formatting, as far as Lightning's callbacks use it: the
// format-spec mini-language for numbers (checkpoint file names such as
// "{epoch:02d}-{val_loss:.2f}"), `repr()` of strings and `repr()`/`str()`
// of timedeltas (messages and state keys). Names and messages then match
// Lightning's byte for byte.
#include <torch/torch.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "../../loggers/detail/py_repr.hpp"

namespace lightning::detail {

/// A number as Python sees it: an `int` or a `float`.
using PyNumber = std::variant<int64_t, double>;

/// The value of a 0-dim tensor as `Tensor.item()` returns it.
PyNumber py_number(const torch::Tensor& t);

/// `repr(s)` of a Python str: single quotes unless the text has one and no double quote.
std::string py_str_repr(std::string_view s);

/// printf for one double (Python never writes "-nan").
std::string c_format(const char* fmt, int precision, double x);

/// Python's `f"{x:.{precision}f}"`.
std::string py_fixed(double x, int precision);

/// A parsed format spec: `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
struct FormatSpec {
  char fill = ' ';
  char align = 0;  // '<', '>', '^', '=' (0: the type's default)
  char sign = '-';
  bool no_neg_zero = false;
  bool alternate = false;
  int width = 0;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

FormatSpec parse_format_spec(std::string_view s);

/// Inserts `sep` every three digits into the leading run of digits of `body`.
std::string group_digits(const std::string& body, char sep, int every = 3);

/// Sign, padding and alignment around a formatted magnitude.
std::string py_pad(const FormatSpec& f, bool negative, std::string prefix, std::string body);

/// `format(x, spec)` for a Python float.
std::string py_format_float(double x, std::string_view spec_text);

/// `format(n, spec)` for a Python int.
std::string py_format_int(int64_t n, std::string_view spec_text);

std::string py_format_number(const PyNumber& v, std::string_view spec);

/// `str.format()` for a template whose fields all read `{0[key]}` or
/// `{0[key]:spec}`; `lookup(key)` gives each value.
std::string py_format_fields(std::string_view fmt, const std::function<PyNumber(const std::string&)>& lookup);

/// A `datetime.timedelta` in days, seconds and microseconds, as Python normalizes it.
struct PyTimedelta {
  int64_t days = 0, seconds = 0, microseconds = 0;
  explicit PyTimedelta(std::chrono::duration<double> d) {
    const double us = std::nearbyint(d.count() * 1e6);  // round half to even, as timedelta
    auto total = static_cast<int64_t>(us);
    constexpr int64_t per_day = 86400LL * 1000000LL;
    days = total / per_day;
    int64_t rest = total % per_day;
    if (rest < 0) rest += per_day, --days;
    seconds = rest / 1000000;
    microseconds = rest % 1000000;
  }
  /// `repr()`: `datetime.timedelta(days=1, seconds=5)`, `datetime.timedelta(0)`.
  std::string repr() const {
    std::string args;
    auto add = [&](const char* name, int64_t v) {
      if (!v) return;
      if (!args.empty()) args += ", ";
      args += std::string(name) + "=" + std::to_string(v);
    };
    add("days", days);
    add("seconds", seconds);
    add("microseconds", microseconds);
    return "datetime.timedelta(" + (args.empty() ? std::string("0") : args) + ")";
  }
  /// `str()`: `1:00:00`, `0:00:01.500000`, `2 days, 0:00:00`.
  std::string str() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
    std::string s = buf;
    if (microseconds) {
      std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(microseconds));
      s += buf;
    }
    if (days) s = std::to_string(days) + (days == 1 || days == -1 ? " day, " : " days, ") + s;
    return s;
  }
};

}  // namespace lightning::detail
