// ModelCheckpoint (see callbacks/model_checkpoint.hpp).
#include "lightning/callbacks/model_checkpoint.hpp"

namespace lightning {

ModelCheckpoint::ModelCheckpoint() : ModelCheckpoint(Options{}) {}

ModelCheckpoint::ModelCheckpoint(Options o) : opts_(std::move(o)) {
  kth_value_ = opts_.mode == Mode::min ? inf() : -inf();
  if (opts_.dirpath && !opts_.dirpath->empty()) dirpath_ = detail::real_path(*opts_.dirpath);
  // Lightning's __init_triggers: once per epoch unless another trigger is set.
  if (opts_.every_n_train_steps == 0 && !opts_.every_n_epochs && !opts_.train_time_interval) {
    every_n_epochs_ = 1;
    every_n_train_steps_ = 0;
  } else {
    every_n_epochs_ = opts_.every_n_epochs.value_or(0);
    every_n_train_steps_ = opts_.every_n_train_steps;
  }
  validate();
}

std::string ModelCheckpoint::state_key() const {
  return "ModelCheckpoint{'monitor': " +
         (opts_.monitor.empty() ? std::string("None") : detail::py_str_repr(opts_.monitor)) + ", 'mode': '" +
         std::string(to_string(opts_.mode)) + "', 'every_n_train_steps': " + std::to_string(every_n_train_steps_) +
         ", 'every_n_epochs': " + std::to_string(every_n_epochs_) + ", 'train_time_interval': " +
         (opts_.train_time_interval ? detail::PyTimedelta(*opts_.train_time_interval).repr() : std::string("None")) +
         "}";
}

c10::impl::GenericDict ModelCheckpoint::state_dict() const {
  auto d = detail::new_state_dict();
  c10::impl::GenericDict best_k(c10::StringType::get(), c10::AnyType::get());  // a plain dict, as Lightning's
  for (const auto& [path, score] : best_k_) best_k.insert(path, detail::score_ivalue(score));
  d.insert(std::string("monitor"), opts_.monitor.empty() ? c10::IValue() : c10::IValue(opts_.monitor));
  d.insert(std::string("best_model_score"), detail::optional_ivalue(best_model_score_));
  d.insert(std::string("best_model_path"), best_model_path_);
  d.insert(std::string("current_score"), detail::optional_ivalue(current_score_));
  d.insert(std::string("dirpath"), dirpath_ ? c10::IValue(dirpath_->string()) : c10::IValue());
  d.insert(std::string("best_k_models"), c10::IValue(best_k));
  d.insert(std::string("kth_best_model_path"), kth_best_model_path_);
  d.insert(std::string("kth_value"), detail::score_ivalue(kth_value_));
  d.insert(std::string("last_model_path"), last_model_path_);
  return d;
}

void ModelCheckpoint::load_state_dict(const c10::impl::GenericDict& state) {
  const detail::StateReader r(state, "ModelCheckpoint");
  const auto dirpath_from_ckpt = r.optional_string("dirpath");
  const auto best_model_path = r.string("best_model_path");
  const auto best_model_score = r.optional_number("best_model_score");
  const auto kth_best_model_path = r.string("kth_best_model_path");
  const double kth_value = r.number("kth_value");
  const auto last_model_path = r.string("last_model_path");
  std::vector<std::pair<std::string, double>> best_k;
  for (const auto& e : r.dict("best_k_models")) {
    if (!e.key().isString())
      throw std::runtime_error("ModelCheckpoint.load_state_dict: 'best_k_models' should map str paths to scores");
    best_k.emplace_back(e.key().toStringRef(), r.number_of(e.value(), "best_k_models"));
  }
  const std::optional<std::string> here = dirpath_ ? std::optional<std::string>(dirpath_->string()) : std::nullopt;
  if (here == dirpath_from_ckpt) {
    best_model_score_ = best_model_score;
    kth_best_model_path_ = kth_best_model_path;
    kth_value_ = kth_value;
    best_k_ = std::move(best_k);
    last_model_path_ = last_model_path;
  } else {
    auto repr = [](const std::optional<std::string>& s) { return s ? detail::py_str_repr(*s) : std::string("None"); };
    if (rank_zero_)
      warn("The dirpath has changed from " + repr(dirpath_from_ckpt) + " to " + repr(here) +
           ", therefore `best_model_score`, `kth_best_model_path`, `kth_value`, `last_model_path` and "
           "`best_k_models` won't be reloaded. Only `best_model_path` will be reloaded.");
  }
  best_model_path_ = best_model_path;
}

std::string ModelCheckpoint::format_checkpoint_name(const std::map<std::string, detail::PyNumber>& metrics,
                                                    const std::string& filename, std::optional<int64_t> ver) const {
  return checkpoint_path(
      [&](const std::string& key) -> detail::PyNumber {
        auto it = metrics.find(key);
        return it == metrics.end() ? detail::PyNumber(int64_t{0}) : it->second;
      },
      filename, ver);
}

void ModelCheckpoint::validate() const {
  auto fail = [](const std::string& m) { throw std::invalid_argument(m); };
  if (opts_.save_top_k < -1)
    fail("Invalid value for save_top_k=" + std::to_string(opts_.save_top_k) + ". Must be >= -1");
  if (every_n_train_steps_ < 0)
    fail("Invalid value for every_n_train_steps=" + std::to_string(every_n_train_steps_) + ". Must be >= 0");
  if (every_n_epochs_ < 0)
    fail("Invalid value for every_n_epochs=" + std::to_string(every_n_epochs_) + ". Must be >= 0");
  const int triggers = (every_n_train_steps_ >= 1) + (every_n_epochs_ >= 1) + (opts_.train_time_interval.has_value());
  if (triggers > 1)
    fail("Combination of parameters every_n_train_steps=" + std::to_string(every_n_train_steps_) +
         ", every_n_epochs=" + std::to_string(every_n_epochs_) + " and train_time_interval=" +
         (opts_.train_time_interval ? detail::PyTimedelta(*opts_.train_time_interval).str() : std::string("None")) +
         " should be mutually exclusive.");
  if (opts_.monitor.empty() && opts_.save_top_k != -1 && opts_.save_top_k != 0 && opts_.save_top_k != 1)
    fail("ModelCheckpoint(save_top_k=" + std::to_string(opts_.save_top_k) +
         ", monitor=None) is not a valid configuration. No quantity for top_k to track.");
}

std::string ModelCheckpoint::interpolated_filepath(const Candidates& c, const std::optional<std::string>& del_filepath,
                                                   const std::function<bool(const std::string&)>& exists) const {
  std::string filepath = checkpoint_path(lookup(c), {}, std::nullopt);
  if (opts_.enable_version_counter) {
    int64_t ver = STARTING_VERSION;
    while (exists(filepath) && (!del_filepath || filepath != *del_filepath))
      filepath = checkpoint_path(lookup(c), {}, ver++);
  }
  return filepath;
}

ModelCheckpoint::Lookup ModelCheckpoint::lookup(const Candidates& c) {
  return [&c](const std::string& key) { return c.number(key); };
}

std::string ModelCheckpoint::checkpoint_path(const Lookup& metrics, const std::string& filename,
                                             std::optional<int64_t> ver) const {
  std::string name = format_name(filename.empty() ? opts_.filename : filename, metrics, opts_.auto_insert_metric_name);
  if (ver) name += std::string(CHECKPOINT_JOIN_CHAR) + "v" + std::to_string(*ver);
  name += FILE_EXTENSION;
  return dirpath_ ? (*dirpath_ / name).string() : name;
}

std::string ModelCheckpoint::format_name(std::string filename, const Lookup& metrics, bool auto_insert) {
  if (filename.empty()) filename = std::string("{epoch}") + CHECKPOINT_JOIN_CHAR + "{step}";
  // re.findall(r"(\{.*?)[:\}]", filename)
  std::vector<std::string> groups;
  for (std::size_t pos = filename.find('{'); pos != std::string::npos;) {
    const std::size_t end = filename.find_first_of(":}", pos + 1);
    if (end == std::string::npos) break;
    const std::size_t nl = filename.find('\n', pos);
    if (nl != std::string::npos && nl < end) {  // '.' does not match a newline: try the next '{'
      pos = filename.find('{', pos + 1);
      continue;
    }
    groups.push_back(filename.substr(pos, end - pos));
    pos = filename.find('{', end + 1);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  auto replace_all = [](std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return;
    std::string out;
    std::size_t at = 0;
    for (std::size_t p; (p = s.find(from, at)) != std::string::npos; at = p + from.size())
      out += s.substr(at, p - at) + to;
    s = out + s.substr(at);
  };
  for (const auto& group : groups) {
    const std::string name = group.substr(1);
    if (auto_insert) replace_all(filename, group, name + CHECKPOINT_EQUALS_CHAR + "{" + name);
    replace_all(filename, group, "{0[" + name + "]");
  }
  return detail::py_format_fields(filename, metrics);
}

void ModelCheckpoint::save_now(const Host& h) {
  const auto candidates = monitor_candidates(h);
  save_topk_checkpoint(h, candidates);
  save_last_checkpoint(h, candidates);
}

void ModelCheckpoint::save_at_epoch_end(const Host& h) {
  const auto candidates = monitor_candidates(h);
  if (every_n_epochs_ >= 1 && (h.current_epoch + 1) % every_n_epochs_ == 0) save_topk_checkpoint(h, candidates);
  save_last_checkpoint(h, candidates);
}

ModelCheckpoint::Candidates ModelCheckpoint::monitor_candidates(const Host& h) {
  Candidates c;
  for (const auto& [k, v] : *h.callback_metrics) c.items.emplace_back(k, v);
  // A logged "epoch"/"step" (a float) is cast to int, else the trainer's counters.
  const auto* epoch = c.find("epoch");
  c.set("epoch", epoch ? epoch->to(torch::kInt) : torch::scalar_tensor(h.current_epoch, torch::kLong));
  const auto* step = c.find("step");
  c.set("step", step ? step->to(torch::kInt) : torch::scalar_tensor(h.global_step, torch::kLong));
  return c;
}

void ModelCheckpoint::save_topk_checkpoint(const Host& h, const Candidates& c) {
  if (opts_.save_top_k == 0) return;
  if (opts_.monitor.empty()) return save_none_monitor_checkpoint(h, c);
  if (!c.find(opts_.monitor)) {
    const std::string m = "`ModelCheckpoint(monitor=" + detail::py_str_repr(opts_.monitor) +
                          ")` could not find the monitored key in the returned metrics: " +
                          detail::py_str_list_repr(c.keys()) + ". HINT: Did you call `log(\"" + opts_.monitor +
                          "\", value)` in the `LightningModule`?";
    if (val_has_run_) throw std::runtime_error(m);
    if (warned_.insert(m).second && h.is_global_zero) warn(m);
  }
  save_monitor_checkpoint(h, c);
}

void ModelCheckpoint::save_monitor_checkpoint(const Host& h, const Candidates& c) {
  std::optional<double> current;
  if (const auto* t = c.find(opts_.monitor)) current = t->item<double>();
  if (check_monitor_top_k(h, current)) {
    update_best_and_save(*current, h, c);
  } else if (opts_.verbose) {
    info(h, "Epoch " + detail::py_format_number(c.number("epoch"), "d") + ", global step " +
                detail::py_format_number(c.number("step"), "d") + ": " + detail::py_str_repr(opts_.monitor) +
                " was not in top " + std::to_string(opts_.save_top_k));
  }
}

bool ModelCheckpoint::check_monitor_top_k(const Host& h, const std::optional<double>& current) const {
  if (!current) return false;
  if (opts_.save_top_k == -1) return true;
  if (static_cast<int64_t>(best_k_.size()) < opts_.save_top_k) return true;
  double kth = 0;
  bool found = false;
  for (const auto& [p, s] : best_k_)
    if (p == kth_best_model_path_) kth = s, found = true;
  if (!found)
    throw std::logic_error("ModelCheckpoint: kth_best_model_path '" + kth_best_model_path_ +
                           "' is not among the kept checkpoints");
  const bool better = opts_.mode == Mode::min ? *current < kth : *current > kth;
  return h.all_ranks(h.trainer, better);
}

void ModelCheckpoint::update_best_and_save(double current, const Host& h, const Candidates& c) {
  const int64_t k = opts_.save_top_k == -1 ? static_cast<int64_t>(best_k_.size()) + 1 : opts_.save_top_k;
  std::optional<std::string> del_filepath;
  if (static_cast<int64_t>(best_k_.size()) == k && k > 0) {
    del_filepath = kth_best_model_path_;
    std::erase_if(best_k_, [&](const auto& e) { return e.first == *del_filepath; });
  }
  if (std::isnan(current)) current = opts_.mode == Mode::min ? inf() : -inf();  // never keep NaN

  const std::string filepath =
      interpolated_filepath(c, del_filepath, [&](const std::string& p) { return h.exists(h.trainer, p); });
  current_score_ = current;
  insert_or_assign(filepath, current);

  // Ties: Python's max()/min() return the first inserted.
  auto pick = [&](bool want_max) {
    const std::pair<std::string, double>* best = &best_k_.front();
    for (const auto& e : best_k_)
      if (want_max ? e.second > best->second : e.second < best->second) best = &e;
    return *best;
  };
  if (static_cast<int64_t>(best_k_.size()) == k) {
    std::tie(kth_best_model_path_, kth_value_) = pick(opts_.mode == Mode::min);
  }
  std::tie(best_model_path_, best_model_score_) = pick(opts_.mode != Mode::min);

  if (opts_.verbose)
    info(h, "Epoch " + detail::py_format_number(c.number("epoch"), "d") + ", global step " +
                detail::py_format_number(c.number("step"), "d") + ": " + detail::py_str_repr(opts_.monitor) +
                " reached " + detail::py_format_float(current, "0.5f") + " (best " +
                detail::py_format_float(*best_model_score_, "0.5f") + "), saving model to " +
                detail::py_str_repr(filepath) + " as top " + std::to_string(k));
  save_checkpoint(h, filepath);
  if (del_filepath) remove_checkpoint(h, *del_filepath, filepath);
}

void ModelCheckpoint::save_none_monitor_checkpoint(const Host& h, const Candidates& c) {
  const std::string filepath =
      interpolated_filepath(c, best_model_path_, [&](const std::string& p) { return h.exists(h.trainer, p); });
  // Set before saving: it is part of the saved state.
  const std::string previous = std::exchange(best_model_path_, filepath);
  save_checkpoint(h, filepath);
  if (opts_.save_top_k == 1 && !previous.empty()) remove_checkpoint(h, previous, filepath);
}

void ModelCheckpoint::save_last_checkpoint(const Host& h, const Candidates& c) {
  if (!opts_.save_last.value_or(false)) return;
  std::string filepath = checkpoint_path(lookup(c), CHECKPOINT_NAME_LAST, std::nullopt);
  if (opts_.enable_version_counter) {
    int64_t ver = STARTING_VERSION;
    while (h.exists(h.trainer, filepath) && filepath != last_model_path_)
      filepath = checkpoint_path(lookup(c), CHECKPOINT_NAME_LAST, ver++);
  }
  const std::string previous = std::exchange(last_model_path_, filepath);
  save_checkpoint(h, filepath);
  if (!previous.empty()) remove_checkpoint(h, previous, filepath);
}

void ModelCheckpoint::save_checkpoint(const Host& h, const std::string& filepath) {
  h.save(h.trainer, filepath, opts_.save_weights_only);
  last_global_step_saved_ = h.global_step;
  last_checkpoint_saved_ = filepath;
}

void ModelCheckpoint::remove_checkpoint(const Host& h, const std::string& previous, const std::string& current) const {
  if (!h.is_global_zero) return;
  h.remove(h.trainer, previous, [previous, current, resumed = h.resumed_from, dir = dirpath_] {
    return may_remove(previous, current, resumed, dir);
  });
}

void ModelCheckpoint::info(const Host& h, const std::string& m) {
  if (h.is_global_zero) std::fprintf(stderr, "%s\n", m.c_str());
}

bool ModelCheckpoint::file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

bool ModelCheckpoint::may_remove(const std::string& previous, const std::string& current,
                                 const std::filesystem::path& resumed_from,
                                 const std::optional<std::filesystem::path>& dirpath) {
  if (previous == current || !dirpath) return false;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path prev = fs::absolute(previous, ec).lexically_normal();
  if (ec || !prev.has_filename() || prev.extension() != ".ckpt") return false;
  if (!resumed_from.empty() && fs::absolute(resumed_from, ec).lexically_normal() == prev) return false;
  fs::path dir = fs::absolute(*dirpath, ec).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  const auto rel = prev.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == ".." || *rel.begin() == ".") return false;
  if (!fs::is_regular_file(fs::symlink_status(prev, ec))) return false;
  char magic[4] = {};
  std::FILE* f = std::fopen(prev.c_str(), "rb");
  const std::size_t n = f ? std::fread(magic, 1, sizeof magic, f) : 0;
  if (f) std::fclose(f);
  return n == 4 && std::string_view(magic, 4) == std::string_view("PK\x03\x04", 4);
}

void ModelCheckpoint::insert_or_assign(const std::string& path, double score) {
  for (auto& [p, s] : best_k_)
    if (p == path) {
      s = score;  // keeps its place, as a dict update
      return;
    }
  best_k_.emplace_back(path, score);
}

void ModelCheckpoint::warn_if_dir_not_empty() const {
  std::error_code ec;
  if (opts_.save_top_k != 0 && dirpath_ && std::filesystem::is_directory(*dirpath_, ec) &&
      !std::filesystem::is_empty(*dirpath_, ec))
    warn("Checkpoint directory " + dirpath_->string() + " exists and is not empty.");
}

void ModelCheckpoint::warn(const std::string& m) { std::fprintf(stderr, "lightning: warning: %s\n", m.c_str()); }

}  // namespace lightning
