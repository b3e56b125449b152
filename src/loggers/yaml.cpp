// hparams.yaml as PyYAML writes it (see loggers/detail/yaml.hpp).
#include "lightning/loggers/detail/yaml.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lightning/loggers/detail/py_repr.hpp"

namespace lightning::detail::yaml {

namespace {

/// Decodes UTF-8; a byte that starts no valid sequence stands for itself
/// (it is then escaped as \xNN, as PyYAML escapes unprintable characters).
std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      ok = (c >> 6) == 2;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out += static_cast<char32_t>(b);
      ++i;
    } else {
      out += cp;
      i += static_cast<std::size_t>(len);
    }
  }
  return out;
}

/// True when PyYAML's resolver reads `s` unquoted as something other than a
/// string (bool, int, float, null, timestamp, merge, value, yaml): such
/// strings must be quoted.
bool resolves_to_non_string(std::string_view s) {
  static const std::regex patterns[] = {
      std::regex(R"(^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$)"),
      std::regex(R"(^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)"
                 R"(|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$)"),
      std::regex(R"(^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)"
                 R"(|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$)"),
      std::regex(R"(^(?:<<)$)"),
      std::regex(R"(^(?:~|null|Null|NULL|)$)"),
      std::regex(R"(^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9])"
                 R"(|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?)"
                 R"(:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$)"),
      std::regex(R"(^(?:=)$)"),
      std::regex(R"(^(?:!|&|\*)$)"),
  };
  // Python's `$` also matches before one trailing newline.
  std::string_view body = s;
  if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  for (const auto& re : patterns) {
    if (std::regex_match(s.begin(), s.end(), re)) return true;
    if (body.size() != s.size() && std::regex_match(body.begin(), body.end(), re)) return true;
  }
  return false;
}

/// Which quoting styles PyYAML allows for a scalar (Emitter.analyze_scalar,
/// with allow_unicode = False).
struct Analysis {
  bool empty = false, multiline = false;
  bool allow_block_plain = true, allow_single_quoted = true;
};

bool is_break(char32_t c) { return c == U'\n' || c == 0x85 || c == 0x2028 || c == 0x2029; }
bool is_ws_or_break(char32_t c) { return c == 0 || c == U' ' || c == U'\t' || c == U'\r' || is_break(c); }

Analysis analyze(const std::u32string& t) {
  Analysis a;
  if (t.empty()) {
    a.empty = true;
    return a;
  }
  bool block_ind = false, line_breaks = false, special = false;
  bool leading_space = false, leading_break = false, trailing_space = false, trailing_break = false;
  bool break_space = false, space_break = false;
  if (t.starts_with(U"---") || t.starts_with(U"...")) block_ind = true;
  bool preceded_ws = true;
  bool followed_ws = t.size() == 1 || is_ws_or_break(t[1]);
  bool prev_space = false, prev_break = false;
  const std::u32string_view lead = U"#,[]{}&*!|>'\"%@`";
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char32_t ch = t[i];
    if (i == 0) {
      if (lead.find(ch) != std::u32string_view::npos) block_ind = true;
      if ((ch == U'?' || ch == U':') && followed_ws) block_ind = true;
      if (ch == U'-' && followed_ws) block_ind = true;
    } else {
      if (ch == U':' && followed_ws) block_ind = true;
      if (ch == U'#' && preceded_ws) block_ind = true;
    }
    if (is_break(ch)) line_breaks = true;
    if (!(ch == U'\n' || (ch >= 0x20 && ch <= 0x7E))) special = true;
    if (ch == U' ') {
      if (i == 0) leading_space = true;
      if (i + 1 == t.size()) trailing_space = true;
      if (prev_break) break_space = true;
      prev_space = true;
      prev_break = false;
    } else if (is_break(ch)) {
      if (i == 0) leading_break = true;
      if (i + 1 == t.size()) trailing_break = true;
      if (prev_space) space_break = true;
      prev_space = false;
      prev_break = true;
    } else {
      prev_space = prev_break = false;
    }
    preceded_ws = is_ws_or_break(ch);
    followed_ws = i + 2 >= t.size() || is_ws_or_break(t[i + 2]);
  }
  a.multiline = line_breaks;
  if (leading_space || leading_break || trailing_space || trailing_break) a.allow_block_plain = false;
  if (break_space) a.allow_block_plain = a.allow_single_quoted = false;
  if (space_break || special) a.allow_block_plain = a.allow_single_quoted = false;
  if (line_breaks || block_ind) a.allow_block_plain = false;
  return a;
}

/// The output stream with PyYAML's column/whitespace bookkeeping, which
/// decides where long scalars fold.
class Writer {
 public:
  static constexpr int best_width = 80;

  std::string out;
  int column = 0;
  int indent = 0;
  bool whitespace = true;
  bool indention = true;

  void write(std::u32string_view s) {
    for (char32_t c : s) append_utf8(c);
    column += static_cast<int>(s.size());
  }
  void write(std::string_view s) {
    out += s;
    column += static_cast<int>(s.size());
  }
  void line_break() {
    out += '\n';
    whitespace = indention = true;
    column = 0;
  }
  void write_indent() {
    if (!indention || column > indent || (column == indent && !whitespace)) line_break();
    if (column < indent) {
      whitespace = true;
      out.append(static_cast<std::size_t>(indent - column), ' ');
      column = indent;
    }
  }
  void indicator(std::string_view ind, bool need_whitespace) {
    if (!whitespace && need_whitespace) write(" ");
    write(ind);
    whitespace = false;
    indention = false;
  }

  void plain(const std::u32string& t, bool split) {
    if (t.empty()) return;
    if (!whitespace) write(" ");
    whitespace = indention = false;
    bool spaces = false, breaks = false;
    std::size_t start = 0;
    for (std::size_t end = 0; end <= t.size(); ++end) {
      const bool has = end < t.size();
      const char32_t ch = has ? t[end] : 0;
      if (spaces) {
        if (!has || ch != U' ') {
          if (start + 1 == end && column > best_width && split) {
            write_indent();
            whitespace = indention = false;
          } else {
            write(std::u32string_view(t).substr(start, end - start));
          }
          start = end;
        }
      } else if (!breaks) {
        if (!has || ch == U' ' || is_break(ch)) {
          write(std::u32string_view(t).substr(start, end - start));
          start = end;
        }
      }
      // (plain scalars never contain breaks: analyze() forbids them)
      if (has) {
        spaces = ch == U' ';
        breaks = is_break(ch);
      }
    }
  }

  void single_quoted(const std::u32string& t, bool split) {
    indicator("'", true);
    bool spaces = false, breaks = false;
    std::size_t start = 0;
    const std::u32string_view v(t);
    for (std::size_t end = 0; end <= t.size(); ++end) {
      const bool has = end < t.size();
      const char32_t ch = has ? t[end] : 0;
      if (spaces) {
        if (!has || ch != U' ') {
          if (start + 1 == end && column > best_width && split && start != 0 && end != t.size())
            write_indent();
          else
            write(v.substr(start, end - start));
          start = end;
        }
      } else if (breaks) {
        if (!has || !is_break(ch)) {
          if (t[start] == U'\n') line_break();
          for (std::size_t k = start; k < end; ++k) {
            if (t[k] == U'\n') {
              line_break();
            } else {
              append_utf8(t[k]);
              whitespace = indention = true;
              column = 0;
            }
          }
          write_indent();
          start = end;
        }
      } else {
        if (!has || ch == U' ' || is_break(ch) || ch == U'\'') {
          if (start < end) {
            write(v.substr(start, end - start));
            start = end;
          }
        }
      }
      if (has && ch == U'\'') {
        write("''");
        start = end + 1;
      }
      if (has) {
        spaces = ch == U' ';
        breaks = is_break(ch);
      }
    }
    indicator("'", false);
  }

  void double_quoted(const std::u32string& t, bool split) {
    indicator("\"", true);
    const std::u32string_view v(t);
    auto slice = [&](std::size_t a, std::size_t b) { return a < b ? v.substr(a, b - a) : std::u32string_view{}; };
    std::size_t start = 0;
    for (std::size_t end = 0; end <= t.size(); ++end) {
      const bool has = end < t.size();
      const char32_t ch = has ? t[end] : 0;
      const bool escape = !has || ch == U'"' || ch == U'\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 ||
                          ch == 0xFEFF || !(ch >= 0x20 && ch <= 0x7E);
      if (escape) {
        if (start < end) {
          write(slice(start, end));
          start = end;
        }
        if (has) {
          write(escape_of(ch));
          start = end + 1;
        }
      }
      if (end > 0 && end + 1 < t.size() && (ch == U' ' || start >= end) &&
          column + (static_cast<int>(end) - static_cast<int>(start)) > best_width && split) {
        write(slice(start, end));
        write("\\");
        if (start < end) start = end;
        write_indent();
        whitespace = indention = false;
        if (t[start] == U' ') write("\\");
      }
    }
    indicator("\"", false);
  }

  /// A string scalar; `simple_key` for a mapping key (never folded).
  void string_scalar(std::string_view s, bool simple_key) {
    const std::u32string t = decode_utf8(s);
    const Analysis a = analyze(t);
    const bool implicit = !resolves_to_non_string(s);
    const bool split = !simple_key;
    if (implicit && !(simple_key && (a.empty || a.multiline)) && a.allow_block_plain)
      plain(t, split);
    else if (a.allow_single_quoted && !(simple_key && a.multiline))
      single_quoted(t, split);
    else
      double_quoted(t, split);
  }

 private:
  void append_utf8(char32_t c) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }

  static std::string escape_of(char32_t ch) {
    switch (ch) {
      case 0x00: return "\\0";
      case 0x07: return "\\a";
      case 0x08: return "\\b";
      case 0x09: return "\\t";
      case 0x0A: return "\\n";
      case 0x0B: return "\\v";
      case 0x0C: return "\\f";
      case 0x0D: return "\\r";
      case 0x1B: return "\\e";
      case U'"': return "\\\"";
      case U'\\': return "\\\\";
      case 0x85: return "\\N";
      case 0xA0: return "\\_";
      case 0x2028: return "\\L";
      case 0x2029: return "\\P";
      default: break;
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    const int width = ch <= 0xFF ? 2 : ch <= 0xFFFF ? 4 : 8;
    std::string e = width == 2 ? "\\x" : width == 4 ? "\\u" : "\\U";
    for (int k = width - 1; k >= 0; --k) e += hex[(ch >> (4 * k)) & 0xF];
    return e;
  }
};

/// PyYAML's float representer: repr(), lowercase, `.0` before a bare exponent.
std::string float_scalar(double x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  std::string r = py_float_repr(x);
  if (r.find('.') == std::string::npos) {
    const auto e = r.find('e');
    if (e != std::string::npos) r.insert(e, ".0");
  }
  return r;
}

/// `yaml.dump(dict(params))` as Lightning's `save_hparams_to_yaml` calls it:
/// keys sorted, one `key: value` line each, `{}` for no hyperparameters.
/// Keys are member names; PyYAML's `? key` form for keys of 128+ characters
/// is not produced.
}  // namespace

std::string dump(std::vector<HParam> params) {
  if (params.empty()) return "{}\n";
  std::sort(params.begin(), params.end(), [](const HParam& a, const HParam& b) { return a.key < b.key; });
  Writer w;
  for (const auto& p : params) {
    w.indent = 0;
    w.write_indent();
    w.string_scalar(p.key, /*simple_key=*/true);
    w.indicator(":", false);
    w.indent = 2;  // continuation lines of a folded value
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          auto plain = [&](const std::string& s) { w.plain(decode_utf8(s), true); };
          if constexpr (std::is_same_v<V, std::monostate>) plain("null");
          else if constexpr (std::is_same_v<V, bool>) plain(v ? "true" : "false");
          else if constexpr (std::is_same_v<V, double>) plain(float_scalar(v));
          else if constexpr (std::is_same_v<V, std::string>) w.string_scalar(v, false);
          else plain(std::to_string(v));
        },
        p.value);
  }
  w.indent = 0;
  w.write_indent();
  return std::move(w.out);
}

}  // namespace lightning::detail::yaml
