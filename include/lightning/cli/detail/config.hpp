#pragma once
// The type-independent part of LightningCLI (compiled once in src/cli/):
// command-line tokenizing, YAML config files read into dotted keys, the
// closest-match suggestion, the error type, and printing a resolved config.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../../loggers/detail/hparams.hpp"

namespace lightning::cli {

/// A usage error (unknown key, ill-typed or missing value, bad config file):
/// reported before anything runs; the program exits with status 2, as argparse.
class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

/// One setting, by dotted key (`trainer.max_epochs`), as text; later ones win.
struct Setting {
  std::string key;
  std::string text;
  bool quoted = false;  ///< a quoted YAML scalar: never null, never a number's spelling
  bool null = false;    ///< YAML null (`null`, `~`, empty)
  std::string origin;   ///< "command line" or "file.yaml:3"
};

/// What the command line asked for.
struct Command {
  std::string subcommand;  ///< fit, validate, test or predict; empty with a top-level --help
  std::vector<Setting> settings;  ///< config files expanded in place, then overrides, in order
  bool print_config = false;
  bool help = false;
};

inline constexpr const char* kSubcommands[] = {"fit", "validate", "test", "predict"};

/// Tokenizes `argv` (Lightning's syntax): `SUBCOMMAND [--config FILE]... [--key=value | --key value]...
/// [--print_config] [--help]`. Config files are read where they appear.
Command parse_command_line(int argc, const char* const* argv);

/// Reads a YAML config into settings (nested mappings become dotted keys;
/// Lightning's `class_path`/`init_args` forms are normalized). Untrusted input:
/// at most 1 MiB, nesting at most 32 deep, at most 10000 nodes; errors name the file and line.
std::vector<Setting> read_config_file(const std::filesystem::path& path);
/// The same, from text (`origin` names it in errors).
std::vector<Setting> read_config_text(const std::string& text, const std::string& origin);

/// Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `name` (empty when none is reasonably close).
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);

/// `section.key` is not a key of the section: names the keys and the closest.
[[noreturn]] void unknown_key(const Setting& s, const std::string& section, const std::vector<std::string>& keys);
/// The value's text does not parse as `expected`.
[[noreturn]] void bad_value(const Setting& s, const std::string& expected);
/// A required value was not given.
[[noreturn]] void missing_value(const std::string& key, const std::string& hint);

/// A node of the resolved config as printed: a scalar, a mapping or a list of mappings.
struct PrintNode {
  std::string key;
  std::optional<lightning::detail::HParamValue> value;  ///< set: a scalar
  std::vector<PrintNode> children;
  bool list = false;  ///< children are list items (each a mapping)
};

/// YAML text of the resolved config (PyYAML's scalar style, keys in
/// declaration order); reading it back with --config gives the same run.
std::string print_config(const std::vector<PrintNode>& top);

/// One line of --help.
struct HelpLine {
  std::string key, type, default_text;
  bool required = false;
};
std::string format_help(const std::string& program, const std::string& subcommand,
                        const std::vector<HelpLine>& lines, const std::vector<std::string>& notes);

/// Parsing of scalar text (shared by every field type).
std::optional<int64_t> parse_int(std::string_view t);
std::optional<double> parse_float(std::string_view t);
std::optional<bool> parse_bool(std::string_view t);
/// `[1, 2, 3]` or `1,2,3` into the element texts.
std::optional<std::vector<std::string>> parse_list(std::string_view t);
/// The text of a scalar as printed (PyYAML's float repr, true/false, null).
std::string scalar_text(const lightning::detail::HParamValue& v);

/// Lightning's SaveConfigCallback: writes `text` to `<log_dir>/<filename>`;
/// an existing file is an error unless `overwrite`.
void save_config(const std::filesystem::path& log_dir, const std::string& filename, const std::string& text,
                 bool overwrite);

/// The class name of a `class_path` (`torch.optim.Adam` -> `Adam`).
std::string short_class_name(std::string_view class_path);

}  // namespace detail
}  // namespace lightning::cli
