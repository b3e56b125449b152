// CSVLogger (see loggers/csv_logger.hpp).
#include "lightning/loggers/csv_logger.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

#include "lightning/detail/files.hpp"
#include "lightning/loggers/detail/csv.hpp"
#include "lightning/loggers/detail/log_dir.hpp"
#include "lightning/loggers/detail/py_repr.hpp"
#include "lightning/loggers/detail/yaml.hpp"

namespace lightning {

struct CSVLogger::State {
  Options opts;
  detail::VersionedDir dir;
  bool rank_zero = true;
  bool opened = false;                                   // log dir prepared
  std::vector<std::string> keys;                         // header of metrics.csv on disk
  std::vector<std::map<std::string, std::string>> rows;  // not yet on disk
  std::vector<detail::HParam> hparams;
  std::optional<std::string> hparams_written;  // hparams.yaml as last written: unchanged, not rewritten

  explicit State(Options o) : opts(std::move(o)), dir(opts.save_dir, opts.name, opts.version) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Nothing logged is lost, even when the logger dies in stack unwinding.
  ~State() {
    if (!opened || rows.empty()) return;
    try {
      write_rows();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lightning: CSVLogger lost %zu metric rows: %s\n", rows.size(), e.what());
    }
  }

  // Lightning's ExperimentWriter: create the folder; a metrics.csv left in a
  // non-empty folder (a reused version) is deleted, with a warning.
  void open() {
    if (opened) return;
    dir.create("CSVLogger");
    const auto file = dir.log_dir() / "metrics.csv";
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) {
      std::fprintf(stderr,
                   "lightning: warning: experiment logs directory %s exists and is not empty; "
                   "its metrics.csv is replaced by this run's\n",
                   dir.log_dir().c_str());
      std::filesystem::remove(file, ec);
    }
    opened = true;
  }

  void save() {
    open();
    std::string yaml = detail::yaml::dump(hparams);
    if (yaml != hparams_written) {
      detail::write_file_atomic(dir.log_dir() / "hparams.yaml", yaml, {}, detail::Durability::process_crash_only);
      hparams_written = std::move(yaml);
    }
    write_rows();
  }

  void write_rows();
  std::string rewrite_with(const std::filesystem::path& path, const std::vector<std::string>& header, bool exists);
  static void append(const std::filesystem::path& path, const std::string& text);
};

namespace {
using Row = std::map<std::string, std::string>;

void add_row(std::string& out, const std::vector<std::string>& header, const Row& r) {
  std::vector<std::string> fields;
  for (const auto& k : header) {
    auto it = r.find(k);
    fields.push_back(it == r.end() ? std::string() : it->second);
  }
  detail::csv::append_row(out, fields);
}
}  // namespace

// The whole file under a new header: the old rows (read back) and the pending ones.
std::string CSVLogger::State::rewrite_with(const std::filesystem::path& path, const std::vector<std::string>& header,
                                           bool exists) {
  std::string out;
  detail::csv::append_row(out, header);
  if (exists) {
    const auto old = detail::csv::parse(detail::read_file(path));
    if (!old.empty()) {
      const auto& old_header = old.front();
      for (std::size_t i = 1; i < old.size(); ++i) {
        Row r;
        for (std::size_t j = 0; j < old_header.size() && j < old[i].size(); ++j) r.emplace(old_header[j], old[i][j]);
        add_row(out, header, r);
      }
    }
  }
  for (const auto& r : rows) add_row(out, header, r);
  return out;
}

void CSVLogger::State::write_rows() {
  if (rows.empty()) return;
  const auto path = dir.log_dir() / "metrics.csv";
  std::set<std::string> all(keys.begin(), keys.end());
  bool new_keys = false;
  for (const auto& r : rows)
    for (const auto& kv : r) new_keys = all.insert(kv.first).second || new_keys;
  const std::vector<std::string> header(all.begin(), all.end());  // sorted as strings
  std::error_code ec;
  const bool exists = std::filesystem::is_regular_file(path, ec);
  if (!exists || new_keys) {
    // A new file, or a new header: the whole file goes through a temp file.
    detail::write_file_atomic(path, rewrite_with(path, header, exists), {}, detail::Durability::process_crash_only);
  } else {
    std::string out;
    for (const auto& r : rows) add_row(out, header, r);
    append(path, out);
  }
  keys = header;
  rows.clear();
}

// Appends, or truncates back to the old size on failure: the rows already
// on disk stay whole and the pending ones stay pending (a file deleted since
// write_rows() looked is an error, and the next save writes it anew, header
// first). Plain write(2), not stdio: a FILE's buffer is a fresh 4 KB malloc,
// a request large enough to make glibc consolidate the training thread's
// freed blocks at every save.
void CSVLogger::State::append(const std::filesystem::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) detail::throw_io("cannot open for appending", path, errno);
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0;
  int err = detail::write_all(fd, text.data(), text.size());
  if (err == 0) {
    if (::close(fd) == 0) return;
    err = errno;
    if (sized) (void)::truncate(path.c_str(), st.st_size);
  } else {
    if (sized) (void)::ftruncate(fd, st.st_size);
    ::close(fd);
  }
  detail::throw_io("cannot append to", path, err);
}

CSVLogger::CSVLogger(Options o) : s_(std::make_unique<State>(std::move(o))) {
  if (s_->opts.flush_logs_every_n_steps < 1)
    throw std::invalid_argument("lightning: CSVLogger flush_logs_every_n_steps is " +
                                std::to_string(s_->opts.flush_logs_every_n_steps) + "; expected 1 or more");
}
CSVLogger::CSVLogger(CSVLogger&&) noexcept = default;
CSVLogger& CSVLogger::operator=(CSVLogger&&) noexcept = default;
CSVLogger::~CSVLogger() = default;

void CSVLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  State& s = state();
  if (!s.rank_zero) return;
  s.open();
  Row row;
  for (const auto& [k, v] : metrics) row[k] = k == "epoch" ? detail::py_int_or_float(v) : detail::py_float_repr(v);
  row["step"] = std::to_string(step);
  s.rows.push_back(std::move(row));
  if ((step + 1) % s.opts.flush_logs_every_n_steps == 0) s.save();
}

void CSVLogger::log_hyperparams(const std::vector<detail::HParam>& hparams) {
  State& s = state();
  if (!s.rank_zero) return;
  detail::update_hparams(s.hparams, hparams);
  s.save();
}

void CSVLogger::save() {
  State& s = state();
  if (s.rank_zero) s.save();
}

void CSVLogger::finalize(std::string_view) {
  State& s = state();
  if (s.rank_zero && s.opened) s.save();
}

void CSVLogger::set_rank_zero(bool is_global_zero) { state().rank_zero = is_global_zero; }
const std::filesystem::path& CSVLogger::save_dir() const { return state().dir.save_dir(); }
const std::string& CSVLogger::name() const { return state().dir.name(); }
int CSVLogger::version() { return state().dir.version(); }
void CSVLogger::set_version(int v) { state().dir.set_version(v); }

std::filesystem::path CSVLogger::log_dir() {
  State& s = state();
  if (s.rank_zero) s.dir.create("CSVLogger");
  return s.dir.log_dir();
}

std::filesystem::path CSVLogger::metrics_file() { return state().dir.log_dir() / "metrics.csv"; }

CSVLogger::State& CSVLogger::state() const {
  if (!s_) throw std::logic_error("lightning: use of a moved-from CSVLogger; expected a live logger");
  return *s_;
}

}  // namespace lightning
