// (see include/lightning/loggers/detail/log_dir.hpp)
#include "lightning/loggers/detail/log_dir.hpp"

namespace lightning::detail {

int next_version(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return 0;
  int next = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::error_code dec;
    if (!entry.is_directory(dec)) continue;
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("version_")) continue;
    // Python: name.split("_")[1].isdigit()
    const std::string_view rest = std::string_view(name).substr(8);
    const std::string_view num = rest.substr(0, rest.find('_'));
    if (num.empty() || num.size() > 9) continue;
    bool digits = true;
    for (char c : num) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) next = std::max(next, std::stoi(std::string(num)) + 1);
  }
  if (ec)
    throw std::runtime_error("lightning: cannot list the logger folder '" + root.string() + "': " + ec.message() +
                             "; expected a readable directory");
  return next;
}

}  // namespace lightning::detail

namespace lightning::detail {

void VersionedDir::create(std::string_view who) {
  const auto dir = log_dir();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw std::runtime_error("lightning: " + std::string(who) + " cannot create its log directory '" + dir.string() +
                             "': " + (ec ? ec.message() : "not a directory") + "; expected a writable save_dir");
}

}  // namespace lightning::detail
