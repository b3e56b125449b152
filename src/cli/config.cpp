// LightningCLI's type-independent part (see lightning/cli/detail/config.hpp).
//
// Config files are read with yaml-cpp (Debian's libyaml-cpp-dev): a maintained
// YAML 1.2 parser, so anchors, flow and block styles, quoting and comments
// behave as users expect. Every byte of a file is untrusted: the size is
// capped before parsing, yaml-cpp's own depth guard bounds its recursion, and
// the walk below caps depth and node count (aliases cannot expand without
// bound). The command line is tokenized by hand: Lightning's keys
// (`--trainer.callbacks.ModelCheckpoint.monitor`) are only known once the
// Trainer's types are, and its errors must name the closest key, which a
// generic parser (CLI11) would not do for dotted keys registered at run time.
#include "lightning/cli/detail/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "lightning/detail/files.hpp"
#include "lightning/loggers/detail/yaml.hpp"

namespace lightning::cli::detail {

namespace {

constexpr std::uintmax_t kMaxFileBytes = 1 << 20;
constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxNodes = 10000;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_class_section(std::string_view key) { return key == "optimizer" || key == "lr_scheduler"; }
bool is_component_list(std::string_view key) { return key == "trainer.callbacks" || key == "trainer.logger"; }

bool null_text(std::string_view t) { return t == "null" || t == "Null" || t == "NULL" || t == "~"; }

/// `optimizer.init_args.lr` -> `optimizer.lr`, `optimizer.class_path` -> `optimizer`.
void normalize(Setting& s) {
  const auto dot = s.key.find('.');
  const std::string head = s.key.substr(0, dot);
  if (!is_class_section(head)) return;
  if (dot == std::string::npos) {
    if (!s.null) s.text = short_class_name(s.text);
    return;
  }
  std::string rest = s.key.substr(dot + 1);
  if (rest == "class_path") {
    s.key = head;
    if (!s.null) s.text = short_class_name(s.text);
  } else if (starts_with(rest, "init_args.")) {
    s.key = head + "." + rest.substr(10);
  }
}

class Flattener {
 public:
  Flattener(std::string origin, std::vector<Setting>& out) : origin_(std::move(origin)), out_(out) {}

  void top(const YAML::Node& n) {
    if (!n || n.IsNull()) return;
    if (!n.IsMap()) fail(n, "a config file must be a mapping of sections (trainer:, model:, data:, ...)");
    walk(n, "", 0);
  }

 private:
  std::string where(const YAML::Node& n) const { return origin_ + ":" + std::to_string(n.Mark().line + 1); }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& why) const {
    throw CliError("error: " + where(n) + ": " + why);
  }
  void count(const YAML::Node& n, int depth) {
    if (++nodes_ > kMaxNodes) fail(n, "more than " + std::to_string(kMaxNodes) + " nodes (aliases included)");
    if (depth > kMaxDepth) fail(n, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
  }

  void scalar(const YAML::Node& n, const std::string& key) {
    Setting s;
    s.key = key;
    s.origin = where(n);
    if (n.IsNull()) {
      s.null = true;
    } else {
      s.text = n.Scalar();
      s.quoted = n.Tag() == "!";
    }
    normalize(s);
    out_.push_back(std::move(s));
  }

  /// A list of scalars as one value (`[30, 80]`), for list-typed fields.
  void sequence(const YAML::Node& n, const std::string& key, int depth) {
    std::string text = "[";
    for (std::size_t i = 0; i < n.size(); ++i) {
      const YAML::Node e = n[i];
      count(e, depth + 1);
      if (!e.IsScalar()) fail(e, key + ": a list here may only hold scalars");
      text += (i ? ", " : "") + e.Scalar();
    }
    Setting s{key, text + "]", false, false, where(n)};
    out_.push_back(std::move(s));
  }

  /// `{class_path: X, init_args: {...}}` under `key` (a component list or optimizer/lr_scheduler).
  void class_entry(const YAML::Node& n, const std::string& key, int depth, bool by_name) {
    const YAML::Node cp = n["class_path"];
    if (!cp || !cp.IsScalar()) fail(n, key + ": expected `class_path:` (and optional `init_args:`)");
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (k != "class_path" && k != "init_args")
        fail(kv.first, key + ": unexpected key '" + k + "' next to class_path (only init_args may follow)");
    }
    const std::string name = short_class_name(cp.Scalar());
    std::string prefix = key;
    if (by_name) {
      prefix = key + "." + name;
      out_.push_back(Setting{prefix, "", false, true, where(cp)});  // names the class even without init_args
    } else {
      out_.push_back(Setting{key, name, false, false, where(cp)});
    }
    const YAML::Node args = n["init_args"];
    if (args && !args.IsNull()) {
      if (!args.IsMap()) fail(args, key + ".init_args must be a mapping");
      walk(args, prefix, depth + 1);
    }
  }

  void walk(const YAML::Node& n, const std::string& prefix, int depth) {
    count(n, depth);
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) fail(kv.first, "keys must be plain names");
      const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
      const YAML::Node& v = kv.second;
      count(v, depth + 1);
      if (is_component_list(key) && v.IsSequence()) {
        for (std::size_t i = 0; i < v.size(); ++i) {
          const YAML::Node item = v[i];
          count(item, depth + 2);
          if (!item.IsMap()) fail(item, key + ": each item must be a mapping with class_path");
          class_entry(item, key, depth + 2, true);
        }
      } else if (is_component_list(key) && v.IsMap() && v["class_path"]) {
        class_entry(v, key, depth + 1, true);
      } else if (is_class_section(key) && v.IsMap()) {
        class_entry(v, key, depth + 1, false);
      } else if (v.IsMap()) {
        walk(v, key, depth + 1);
      } else if (v.IsSequence()) {
        sequence(v, key, depth + 1);
      } else {
        scalar(v, key);
      }
    }
  }

  std::string origin_;
  std::vector<Setting>& out_;
  std::size_t nodes_ = 0;
};

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

}  // namespace

std::string short_class_name(std::string_view class_path) {
  const auto p = class_path.rfind('.');
  return std::string(p == std::string_view::npos ? class_path : class_path.substr(p + 1));
}

std::vector<Setting> read_config_text(const std::string& text, const std::string& origin) {
  std::vector<Setting> out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw CliError("error: " + origin + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  Flattener(origin, out).top(root);
  return out;
}

std::vector<Setting> read_config_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw CliError("error: --config " + path.string() + ": cannot read it (" + ec.message() + ")");
  if (size > kMaxFileBytes)
    throw CliError("error: --config " + path.string() + ": " + std::to_string(size) +
                   " bytes; a config file may have at most 1 MiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw CliError("error: --config " + path.string() + ": cannot read it");
  return read_config_text(text.str(), path.string());
}

Command parse_command_line(int argc, const char* const* argv) {
  Command c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      c.help = true;
      continue;
    }
    if (c.subcommand.empty()) {
      std::vector<std::string> subs(std::begin(kSubcommands), std::end(kSubcommands));
      if (std::find(subs.begin(), subs.end(), a) == subs.end()) {
        std::string msg = "error: expected a subcommand (fit, validate, test, predict) before '" + std::string(a) + "'";
        if (const auto m = closest_match(a, subs); !m.empty() && a.substr(0, 1) != "-")
          msg = "error: unknown subcommand '" + std::string(a) + "': did you mean '" + m +
                "'? (choose from fit, validate, test, predict)";
        throw CliError(msg);
      }
      c.subcommand = a;
      continue;
    }
    if (a == "--print_config" || starts_with(a, "--print_config=")) {
      c.print_config = true;
      continue;
    }
    if (!starts_with(a, "--") || a.size() == 2)
      throw CliError("error: unexpected argument '" + std::string(a) + "' (options are --section.key=value)");
    std::string_view body = a.substr(2);
    std::string key, value;
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      key = body.substr(0, eq);
      value = body.substr(eq + 1);
    } else {
      key = body;
      if (i + 1 >= argc || starts_with(argv[i + 1], "--"))
        throw CliError("error: missing value for --" + key + " (give --" + key + "=VALUE or --" + key + " VALUE)");
      value = argv[++i];
    }
    if (key == "config") {
      auto more = read_config_file(value);
      c.settings.insert(c.settings.end(), more.begin(), more.end());
      continue;
    }
    Setting s{key, value, false, value.empty() || null_text(value), "command line"};
    normalize(s);
    c.settings.push_back(std::move(s));
  }
  return c;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(3, name.size() / 2) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

void unknown_key(const Setting& s, const std::string& section, const std::vector<std::string>& keys) {
  std::string name = s.key.substr(section.empty() ? 0 : section.size() + 1);
  if (const auto dot = name.find('.'); dot != std::string::npos) name = name.substr(0, dot);
  std::string msg = "error: " + s.origin + ": unknown key '" + s.key + "'";
  if (const auto m = closest_match(name, keys); !m.empty())
    msg += ": did you mean '" + (section.empty() ? m : section + "." + m) + "'?";
  msg += "\n  keys of " + (section.empty() ? std::string("the config") : "'" + section + "'") + ": " +
         (keys.empty() ? std::string("(none)") : join(keys, ", "));
  throw CliError(msg);
}

void bad_value(const Setting& s, const std::string& expected) {
  throw CliError("error: " + s.origin + ": " + s.key + ": expected " + expected + ", got '" +
                 (s.null && s.text.empty() ? std::string("null") : s.text) + "'");
}

void missing_value(const std::string& key, const std::string& hint) {
  throw CliError("error: missing required value: " + key + (hint.empty() ? "" : " (" + hint + ")"));
}

std::optional<int64_t> parse_int(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_float(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  const bool neg = !t.empty() && t.front() == '-';
  const std::string_view u = neg ? t.substr(1) : t;
  if (u == ".inf" || u == ".Inf" || u == ".INF" || u == "inf")
    return neg ? -HUGE_VAL : HUGE_VAL;
  if (u == ".nan" || u == ".NaN" || u == ".NAN" || u == "nan") return std::nan("");
  double v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view t) {
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_list(std::string_view t) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  t = trim(t);
  if (!t.empty() && t.front() == '[') {
    if (t.back() != ']') return std::nullopt;
    t = trim(t.substr(1, t.size() - 2));
  }
  std::vector<std::string> out;
  if (t.empty()) return out;
  while (true) {
    const auto comma = t.find(',');
    const auto item = trim(t.substr(0, comma));
    if (item.empty()) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    t = t.substr(comma + 1);
  }
  return out;
}

std::string scalar_text(const lightning::detail::HParamValue& v) {
  std::string line = lightning::detail::yaml::dump({lightning::detail::HParam{"x", v}});
  line = line.substr(3);  // "x: "
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

namespace {

void indent_lines(std::string& out, const std::string& block, const std::string& first, const std::string& rest) {
  std::size_t pos = 0;
  bool is_first = true;
  while (pos < block.size()) {
    const auto nl = block.find('\n', pos);
    const auto end = nl == std::string::npos ? block.size() : nl;
    out += (is_first ? first : rest) + block.substr(pos, end - pos) + "\n";
    is_first = false;
    pos = end + 1;
  }
}

std::string render(const std::vector<PrintNode>& nodes);

std::string render_node(const PrintNode& n) {
  if (n.value) return lightning::detail::yaml::dump({lightning::detail::HParam{n.key, *n.value}});
  std::string out;
  if (n.list) {
    if (n.children.empty()) return n.key + ": []\n";
    out = n.key + ":\n";
    for (const auto& item : n.children) indent_lines(out, render(item.children), "- ", "  ");
    return out;
  }
  if (n.children.empty()) return n.key + ": {}\n";
  out = n.key + ":\n";
  indent_lines(out, render(n.children), "  ", "  ");
  return out;
}

std::string render(const std::vector<PrintNode>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += render_node(n);
  return out;
}

}  // namespace

std::string print_config(const std::vector<PrintNode>& top) { return render(top); }

std::string format_help(const std::string& program, const std::string& subcommand, const std::vector<HelpLine>& lines,
                        const std::vector<std::string>& notes) {
  std::string out = "usage: " + program + " " + (subcommand.empty() ? "{fit,validate,test,predict}" : subcommand) +
                    " [--config FILE]... [--SECTION.KEY=VALUE]... [--print_config] [--help]\n";
  if (subcommand.empty()) {
    out += "\nsubcommands:\n  fit        train (and validate) the model\n  validate   run one validation epoch\n"
           "  test       run one test epoch\n  predict    run prediction\n\nRun `" +
           program + " fit --help` for the keys.\n";
    return out;
  }
  out += "\nOptions (later ones win; --config files are read where they appear):\n"
         "  --config FILE        a YAML config (as --print_config writes it); repeatable\n"
         "  --print_config       print the resolved config as YAML and exit\n"
         "  --help, -h           show this help and exit\n\nKeys (type, default):\n";
  std::size_t width = 0;
  for (const auto& l : lines) width = std::max(width, l.key.size());
  for (const auto& l : lines) {
    out += "  --" + l.key + std::string(width - l.key.size() + 2, ' ') + l.type +
           (l.required ? "  (required)" : "  (default: " + l.default_text + ")") + "\n";
  }
  for (const auto& n : notes) out += "\n" + n + "\n";
  return out;
}

void save_config(const std::filesystem::path& log_dir, const std::string& filename, const std::string& text,
                 bool overwrite) {
  const auto path = log_dir / filename;
  if (!overwrite && std::filesystem::exists(path))
    throw std::runtime_error("SaveConfigCallback expected " + path.string() +
                             " to NOT exist. Aborting to avoid overwriting results of a previous run. You can delete "
                             "the previous config file, set `.save_config = false` in L::cli::Options to disable "
                             "config saving, or set `.save_config_overwrite = true` to overwrite the config file.");
  std::filesystem::create_directories(log_dir);
  lightning::detail::write_file_atomic(path, text);
}

}  // namespace lightning::cli::detail
