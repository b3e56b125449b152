// Python string formatting (see include/lightning/callbacks/detail/py_format.hpp).
#include "lightning/callbacks/detail/py_format.hpp"

namespace lightning::detail {

PyNumber py_number(const torch::Tensor& t) {
  if (t.is_floating_point()) return t.item<double>();
  return t.item<int64_t>();
}

std::string py_str_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) (out += '\\') += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through, as Python prints printable text
    }
  }
  out += q;
  return out;
}

std::string c_format(const char* fmt, int precision, double x) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, fmt, precision, x);
  if (n < 0) return {};
  if (static_cast<std::size_t>(n) < sizeof buf) return std::string(buf, static_cast<std::size_t>(n));
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(big.data(), big.size(), fmt, precision, x);
  big.resize(static_cast<std::size_t>(n));
  return big;
}

std::string py_fixed(double x, int precision) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return c_format("%.*f", precision, x);
}

FormatSpec parse_format_spec(std::string_view s) {
  auto bad = [&]() -> FormatSpec { throw std::invalid_argument("Invalid format specifier '" + std::string(s) + "'"); };
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  FormatSpec f;
  std::size_t i = 0;
  bool fill_given = false;
  if (s.size() >= 2 && is_align(s[1])) {
    f.fill = s[0], f.align = s[1], i = 2, fill_given = true;
  } else if (!s.empty() && is_align(s[0])) {
    f.align = s[0], i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) f.sign = s[i++];
  if (i < s.size() && s[i] == 'z') f.no_neg_zero = true, ++i;
  if (i < s.size() && s[i] == '#') f.alternate = true, ++i;
  if (i < s.size() && s[i] == '0') {
    // Sign-aware zero padding, unless a fill or an alignment says otherwise.
    if (!fill_given) f.fill = '0';
    if (!f.align) f.align = '=';
    ++i;
  }
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') f.width = f.width * 10 + (s[i++] - '0');
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) f.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return bad();
    f.precision = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') f.precision = f.precision * 10 + (s[i++] - '0');
  }
  if (i < s.size()) f.type = s[i++];
  if (i != s.size()) return bad();
  return f;
}

std::string group_digits(const std::string& body, char sep, int every) {
  std::size_t n = 0;
  while (n < body.size() && body[n] >= '0' && body[n] <= '9') ++n;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % static_cast<std::size_t>(every) == 0) out += sep;
    out += body[i];
  }
  return out + body.substr(n);
}

std::string py_pad(const FormatSpec& f, bool negative, std::string prefix, std::string body) {
  std::string sign = negative ? "-" : f.sign == '+' ? "+" : f.sign == ' ' ? " " : "";
  sign += prefix;
  const std::size_t len = sign.size() + body.size();
  const std::size_t width = static_cast<std::size_t>(f.width);
  if (len >= width) return sign + body;
  const std::size_t pad = width - len;
  switch (f.align ? f.align : '>') {
    case '<': return sign + body + std::string(pad, f.fill);
    case '^': return std::string(pad / 2, f.fill) + sign + body + std::string(pad - pad / 2, f.fill);
    case '=': return sign + std::string(pad, f.fill) + body;
    default: return std::string(pad, f.fill) + sign + body;
  }
}

std::string py_format_float(double x, std::string_view spec_text) {
  const FormatSpec f = parse_format_spec(spec_text);
  char type = f.type;
  if (type && std::string_view("eEfFgG%").find(type) == std::string_view::npos)
    throw std::invalid_argument(std::string("Unknown format code '") + type + "' for object of type 'float'");
  bool negative = std::signbit(x) && !std::isnan(x);
  double a = std::fabs(x);
  const bool upper = type == 'E' || type == 'F' || type == 'G';
  std::string body;
  if (std::isnan(x) || std::isinf(x)) {
    body = std::isnan(x) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
    if (type == '%') body += '%';
  } else {
    const std::string alt = f.alternate ? "#" : "";
    switch (type) {
      case 'f':
      case 'F': body = c_format(("%" + alt + ".*f").c_str(), f.precision < 0 ? 6 : f.precision, a); break;
      case 'e':
      case 'E': body = c_format(("%" + alt + ".*e").c_str(), f.precision < 0 ? 6 : f.precision, a); break;
      case 'g':
      case 'G': {
        const int p = f.precision < 0 ? 6 : (f.precision == 0 ? 1 : f.precision);
        body = c_format(("%" + alt + ".*g").c_str(), p, a);
        break;
      }
      case '%': body = c_format(("%" + alt + ".*f").c_str(), f.precision < 0 ? 6 : f.precision, a * 100.0) + "%"; break;
      default:
        if (f.precision < 0) {
          body = py_float_repr(a);  // str(float)
        } else {
          // Like 'g', but scientific already from exponent p-1 and always a digit after the point.
          const int p = f.precision == 0 ? 1 : f.precision;
          const std::string e = c_format("%.*e", p - 1, a);
          const int exp10 = std::stoi(e.substr(e.find('e') + 1));
          auto strip = [&](std::string s) {
            const auto epos = s.find('e');
            std::string mant = s.substr(0, epos), rest = epos == std::string::npos ? "" : s.substr(epos);
            if (mant.find('.') != std::string::npos && !f.alternate) {
              while (mant.back() == '0') mant.pop_back();
              if (mant.back() == '.') mant.pop_back();
            }
            return mant + rest;
          };
          if (exp10 < -4 || exp10 >= p - 1) {
            body = strip(e);
          } else {
            body = strip(c_format("%.*f", p - 1 - exp10, a));
            if (body.find('.') == std::string::npos) body += ".0";
          }
        }
    }
    if (upper) for (auto& c : body) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (f.no_neg_zero && negative && body.find_first_not_of("0.%eE+-") == std::string::npos) negative = false;
  }
  if (f.grouping) body = group_digits(body, f.grouping);
  return py_pad(f, negative, "", body);
}

std::string py_format_int(int64_t n, std::string_view spec_text) {
  const FormatSpec f = parse_format_spec(spec_text);
  if (f.type && std::string_view("eEfFgG%").find(f.type) != std::string_view::npos)
    return py_format_float(static_cast<double>(n), spec_text);  // Python converts the int to float
  if (f.precision >= 0) throw std::invalid_argument("Precision not allowed in integer format specifier");
  const bool negative = n < 0;
  const uint64_t a = negative ? uint64_t(0) - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string body, prefix;
  int base = 10;
  switch (f.type) {
    case 0:
    case 'd':
    case 'n': base = 10; break;
    case 'x': case 'X': base = 16, prefix = f.alternate ? (f.type == 'x' ? "0x" : "0X") : ""; break;
    case 'o': base = 8, prefix = f.alternate ? "0o" : ""; break;
    case 'b': base = 2, prefix = f.alternate ? "0b" : ""; break;
    default: throw std::invalid_argument(std::string("Unknown format code '") + f.type + "' for object of type 'int'");
  }
  const char* digits = f.type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  uint64_t v = a;
  do {
    body.insert(body.begin(), digits[v % static_cast<uint64_t>(base)]);
    v /= static_cast<uint64_t>(base);
  } while (v);
  if (f.grouping) body = group_digits(body, f.grouping, base == 10 ? 3 : 4);
  return py_pad(f, negative, prefix, body);
}

std::string py_format_number(const PyNumber& v, std::string_view spec) {
  if (const auto* i = std::get_if<int64_t>(&v)) return py_format_int(*i, spec);
  return py_format_float(std::get<double>(v), spec);
}

std::string py_format_fields(std::string_view fmt, const std::function<PyNumber(const std::string&)>& lookup) {
  std::string out;
  for (std::size_t i = 0; i < fmt.size();) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}', i += 2;
        continue;
      }
      throw std::invalid_argument("Single '}' encountered in format string '" + std::string(fmt) + "'");
    }
    if (c != '{') {
      out += c, ++i;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{', i += 2;
      continue;
    }
    // A field: 0[key] then an optional :spec, up to the matching '}'.
    const std::size_t open = fmt.find("0[", i + 1);
    const std::size_t close_key = fmt.find(']', i + 1);
    if (open != i + 1 || close_key == std::string_view::npos)
      throw std::invalid_argument("unsupported replacement field in checkpoint filename template '" + std::string(fmt) + "'");
    const std::string key(fmt.substr(i + 3, close_key - (i + 3)));
    std::size_t j = close_key + 1;
    std::string spec;
    if (j < fmt.size() && fmt[j] == ':') {
      const std::size_t end = fmt.find('}', j + 1);
      if (end == std::string_view::npos)
        throw std::invalid_argument("expected '}' before end of string in '" + std::string(fmt) + "'");
      spec = std::string(fmt.substr(j + 1, end - (j + 1)));
      if (spec.find('{') != std::string::npos)
        throw std::invalid_argument("nested replacement fields are not supported in '" + std::string(fmt) + "'");
      j = end;
    }
    if (j >= fmt.size() || fmt[j] != '}')
      throw std::invalid_argument("expected '}' before end of string in '" + std::string(fmt) + "'");
    out += py_format_number(lookup(key), spec);
    i = j + 1;
  }
  return out;
}

}  // namespace lightning::detail
