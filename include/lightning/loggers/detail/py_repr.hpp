#pragma once
// Python's `repr(float)` for C++ numbers: Lightning's loggers are Python, and
// files written the same way compare byte for byte with theirs.
#include <string>

namespace lightning::detail {

/// `repr()` of a Python float equal to `x`: shortest digits that round-trip,
/// fixed notation for 1e-4 <= |x| < 1e16 with an integral value keeping `.0`
/// (`3.0`, `0.1`), scientific otherwise (`1e-05`, `1.5e+16`), `nan`, `inf`.
/// A `float` uses its own shortest digits (0.1f gives "0.1").
std::string py_float_repr(double x);
std::string py_float_repr(float x);

/// The integer in `x` when it holds one exactly (epoch and step columns are
/// Python ints in Lightning), else its float repr.
std::string py_int_or_float(double x);

}  // namespace lightning::detail
