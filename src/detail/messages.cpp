// Lightning's info and warning lines (see detail/messages.hpp).
#include "lightning/detail/messages.hpp"

#include <charconv>
#include <iostream>

namespace lightning::detail {

void rank_zero_info(bool global_zero, std::string_view message) {
  if (global_zero) std::cerr << message << '\n' << std::flush;
}

void rank_zero_warn(bool global_zero, std::string_view message) {
  if (global_zero) std::cerr << "UserWarning: " << message << '\n' << std::flush;
}

std::string py_float(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";
  return s;
}

}  // namespace lightning::detail
