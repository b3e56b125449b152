// TensorBoardLogger (see loggers/tensorboard_logger.hpp).
#include "lightning/loggers/tensorboard_logger.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "lightning/detail/files.hpp"
#include "lightning/loggers/detail/log_dir.hpp"
#include "lightning/loggers/detail/tfrecord.hpp"
#include "lightning/loggers/detail/yaml.hpp"

namespace lightning {

namespace {
namespace pb = detail::pb;

/// The `<n>` of event file names: per process, from 0, as TensorBoard's writer.
std::atomic<int> tfevents_file_counter{0};

double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// An `Event` with only its wall time set (step 0 is proto3's default and,
/// as Python's protobuf does, is left out).
std::string event_header(double wall_time, std::int64_t step) {
  std::string e;
  pb::double_field(e, 1, wall_time);
  if (step != 0) pb::int_field(e, 2, step);
  return e;
}

/// `Summary { value { tag; metadata { plugin_data { "hparams", content } } } }`:
/// how the hparams plugin's data travels (torch.utils.tensorboard's `hparams()`).
std::string hparams_summary(std::string_view tag, const std::string& plugin_content) {
  std::string plugin_data, metadata, value, summary;
  pb::bytes_field(plugin_data, 1, "hparams");
  pb::bytes_field(plugin_data, 2, plugin_content);
  pb::bytes_field(metadata, 1, plugin_data);
  pb::bytes_field(value, 1, tag);
  pb::bytes_field(value, 9, metadata);
  pb::bytes_field(summary, 1, value);
  return summary;
}

/// The hparams plugin's experiment (hparam and metric names) and session start (values).
std::pair<std::string, std::string> hparams_plugin(const std::vector<detail::HParam>& params,
                                                   const std::map<std::string, double>& metrics) {
  std::string experiment, start_info;
  for (const auto& p : params) {
    // Python's _sanitize_params turns None into "None"; numbers and bools
    // become number_value (bool is an int in Python) of type FLOAT64.
    std::string value;
    const bool is_string =
        std::holds_alternative<std::string>(p.value) || std::holds_alternative<std::monostate>(p.value);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) pb::bytes_field(value, 3, "None");
          else if constexpr (std::is_same_v<V, std::string>) pb::bytes_field(value, 3, v);
          else pb::double_field(value, 2, static_cast<double>(v));
        },
        p.value);
    std::string entry;
    pb::bytes_field(entry, 1, p.key);
    pb::bytes_field(entry, 2, value);
    pb::bytes_field(start_info, 1, entry);  // map<string, google.protobuf.Value> hparams = 1
    std::string info;
    pb::bytes_field(info, 1, p.key);
    pb::int_field(info, 4, is_string ? 1 : 3);  // DATA_TYPE_STRING : DATA_TYPE_FLOAT64
    pb::bytes_field(experiment, 4, info);       // repeated HParamInfo hparam_infos = 4
  }
  for (const auto& kv : metrics) {
    std::string metric_name, metric_info;
    pb::bytes_field(metric_name, 2, kv.first);  // MetricName.tag
    pb::bytes_field(metric_info, 1, metric_name);
    pb::bytes_field(experiment, 5, metric_info);  // repeated MetricInfo metric_infos = 5
  }
  return {experiment, start_info};
}

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
}  // namespace

struct TensorBoardLogger::State {
  Options opts;
  detail::VersionedDir dir;
  bool rank_zero = true;
  bool started = false;  // an event file was ever opened
  std::unique_ptr<std::FILE, FileCloser> file;
  std::filesystem::path event_path;
  std::vector<detail::HParam> hparams;

  explicit State(Options o) : opts(std::move(o)), dir(opts.save_dir, opts.name, opts.version) {}

  // Opens a new event file whose first record names the format version.
  void open() {
    if (file) return;
    dir.create("TensorBoardLogger");
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    char name[512];
    std::snprintf(name, sizeof name, "events.out.tfevents.%010lld.%s.%ld.%d", static_cast<long long>(unix_time_now()),
                  host, static_cast<long>(::getpid()), tfevents_file_counter.fetch_add(1));
    event_path = dir.log_dir() / name;
    file.reset(std::fopen(event_path.c_str(), "wb"));
    if (!file) detail::throw_io("TensorBoardLogger cannot create", event_path, errno);
    started = true;
    std::string first = event_header(unix_time_now(), 0);
    pb::bytes_field(first, 3, "brain.Event:2");
    write_event(first);
  }

  // One framed record, flushed at once so a crash loses nothing written.
  void write_event(const std::string& event) {
    open();
    const std::string rec = detail::tfrecord(event);
    if (std::fwrite(rec.data(), 1, rec.size(), file.get()) != rec.size() || std::fflush(file.get()) != 0)
      detail::throw_io("TensorBoardLogger cannot write", event_path, errno);
  }

  void close() {
    if (file && std::fclose(file.release()) != 0) detail::throw_io("TensorBoardLogger cannot close", event_path, errno);
  }

  // Lightning: flush the writer (creating it on first use), then write
  // hparams.yaml only if it does not exist yet.
  void save() {
    if (!started) open();
    if (file && std::fflush(file.get()) != 0) detail::throw_io("TensorBoardLogger cannot flush", event_path, errno);
    const auto yaml_path = dir.log_dir() / "hparams.yaml";
    std::error_code ec;
    if (!std::filesystem::exists(yaml_path, ec)) detail::write_file_atomic(yaml_path, detail::yaml::dump(hparams), {}, detail::Durability::process_crash_only);
  }

  // The three summaries of torch.utils.tensorboard's `hparams()`:
  // experiment, session start, session end.
  void write_hparams_plugin(const std::vector<detail::HParam>& params, const std::map<std::string, double>& metrics) {
    const auto [experiment, start_info] = hparams_plugin(params, metrics);
    std::string end_info;
    pb::int_field(end_info, 1, 1);  // status = STATUS_SUCCESS
    // HParamsPluginData { version = 0 (default, omitted); oneof data { 2: experiment, 3: start, 4: end } }
    const std::pair<const char*, std::pair<int, const std::string*>> parts[] = {
        {"_hparams_/experiment", {2, &experiment}},
        {"_hparams_/session_start_info", {3, &start_info}},
        {"_hparams_/session_end_info", {4, &end_info}},
    };
    for (const auto& [tag, data] : parts) {
      std::string content;
      pb::bytes_field(content, data.first, *data.second);
      std::string event = event_header(unix_time_now(), 0);
      pb::bytes_field(event, 5, hparams_summary(tag, content));
      write_event(event);
    }
  }
};

TensorBoardLogger::TensorBoardLogger(Options o) : s_(std::make_unique<State>(std::move(o))) {}
TensorBoardLogger::TensorBoardLogger(TensorBoardLogger&&) noexcept = default;
TensorBoardLogger& TensorBoardLogger::operator=(TensorBoardLogger&&) noexcept = default;
TensorBoardLogger::~TensorBoardLogger() = default;

void TensorBoardLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  State& s = state();
  if (!s.rank_zero || metrics.empty()) return;
  std::string summary;
  for (const auto& [k, v] : metrics) {
    std::string value;
    pb::bytes_field(value, 1, k);
    pb::float_field(value, 2, static_cast<float>(v));
    pb::bytes_field(summary, 1, value);
  }
  std::string event = event_header(unix_time_now(), step);
  pb::bytes_field(event, 5, summary);
  s.write_event(event);
}

void TensorBoardLogger::log_reflected_hyperparams(const std::vector<detail::HParam>& params,
                                                  const std::map<std::string, double>* given) {
  State& s = state();
  if (!s.rank_zero) return;
  std::map<std::string, double> metrics;
  if (given) metrics = *given;
  else if (s.opts.default_hp_metric) metrics["hp_metric"] = -1;
  detail::update_hparams(s.hparams, params);
  if (!metrics.empty()) {
    log_metrics(metrics, 0);
    s.write_hparams_plugin(params, metrics);
  }
  s.save();
}

void TensorBoardLogger::save() {
  State& s = state();
  if (s.rank_zero) s.save();
}

void TensorBoardLogger::finalize(std::string_view status) {
  State& s = state();
  if (!s.rank_zero) return;
  s.close();
  if (status == "success") s.save();
}

void TensorBoardLogger::set_rank_zero(bool is_global_zero) { state().rank_zero = is_global_zero; }
const std::filesystem::path& TensorBoardLogger::save_dir() const { return state().dir.save_dir(); }
const std::string& TensorBoardLogger::name() const { return state().dir.name(); }
int TensorBoardLogger::version() { return state().dir.version(); }
void TensorBoardLogger::set_version(int v) { state().dir.set_version(v); }

std::filesystem::path TensorBoardLogger::log_dir() {
  State& s = state();
  if (s.rank_zero) s.dir.create("TensorBoardLogger");
  return s.dir.log_dir();
}

const std::filesystem::path& TensorBoardLogger::event_file() const { return state().event_path; }

TensorBoardLogger::State& TensorBoardLogger::state() const {
  if (!s_) throw std::logic_error("lightning: use of a moved-from TensorBoardLogger; expected a live logger");
  return *s_;
}

}  // namespace lightning
