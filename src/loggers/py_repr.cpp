// (see include/lightning/loggers/detail/py_repr.hpp)
#include "lightning/loggers/detail/py_repr.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace lightning::detail {

namespace {
template <class F>
std::string float_repr(F x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest round-trip digits in the form [-]d[.ddd]e(+|-)dd.
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
  std::string out;
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  const auto e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  std::string_view ex = s.substr(e + 1);
  const bool neg_exp = ex.front() == '-';
  ex.remove_prefix(1);  // to_chars always writes a sign
  int exp10 = 0;
  std::from_chars(ex.data(), ex.data() + ex.size(), exp10);
  if (neg_exp) exp10 = -exp10;

  // CPython (format_float_short, mode 'r'): x = 0.DIGITS * 10^decpt; scientific
  // when decpt <= -4 or decpt > 16.
  const int decpt = exp10 + 1;
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-decpt), '0');
      out += digits;
    } else if (decpt >= n) {
      out += digits;
      out.append(static_cast<std::size_t>(decpt - n), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(decpt));
      out += '.';
      out += digits.substr(static_cast<std::size_t>(decpt));
    }
    return out;
  }
  out += digits[0];
  if (n > 1) {
    out += '.';
    out += digits.substr(1);
  }
  const int pexp = decpt - 1;
  out += pexp < 0 ? "e-" : "e+";
  const int a = pexp < 0 ? -pexp : pexp;
  if (a < 10) out += '0';  // Python writes at least two exponent digits
  out += std::to_string(a);
  return out;
}

}  // namespace

std::string py_float_repr(double x) { return float_repr(x); }
std::string py_float_repr(float x) { return float_repr(x); }

std::string py_int_or_float(double x) {
  if (std::isfinite(x) && x == std::trunc(x) && std::fabs(x) < 9.2e18)
    return std::to_string(static_cast<long long>(x));
  return py_float_repr(x);
}

}  // namespace lightning::detail
