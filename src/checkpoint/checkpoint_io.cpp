// Checkpoint IO policies (see checkpoint/checkpoint_io.hpp).
#include "lightning/checkpoint/checkpoint_io.hpp"

#include <system_error>
#include <utility>

#include "lightning/checkpoint/file.hpp"
#include "lightning/checkpoint/snapshot.hpp"

namespace lightning {

namespace {
void remove_if(const std::filesystem::path& path, const std::function<bool()>& only_if) {
  if (only_if && !only_if()) return;
  std::error_code ec;
  std::filesystem::remove(path, ec);  // already gone is fine
}
}  // namespace

void TorchCheckpointIO::save_checkpoint(checkpoint::Dict ckpt, const std::filesystem::path& path) {
  checkpoint::write(path, std::move(ckpt));
}

void TorchCheckpointIO::remove_checkpoint(const std::filesystem::path& path, std::function<bool()> only_if) {
  remove_if(path, only_if);
}

bool TorchCheckpointIO::exists(const std::filesystem::path& path) const {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

AsyncCheckpointIO& AsyncCheckpointIO::operator=(AsyncCheckpointIO&& o) noexcept {
  if (this != &o) {
    writer_.reset();  // finishes this one's writes first
    opts_ = o.opts_;
    writer_ = std::move(o.writer_);
  }
  return *this;
}

AsyncCheckpointIO::~AsyncCheckpointIO() = default;

detail::BackgroundWriter& AsyncCheckpointIO::writer() {
  if (!writer_) writer_ = std::make_unique<detail::BackgroundWriter>(opts_.max_pending);
  return *writer_;
}

void AsyncCheckpointIO::save_checkpoint(checkpoint::Dict ckpt, const std::filesystem::path& path) {
  if (writer_) writer_->release_finished();  // before the copy, so the bound above holds
  c10::IValue copy = checkpoint::snapshot_consuming(c10::IValue(std::move(ckpt)));
  writer().submit(path, [copy = std::move(copy), path] { checkpoint::write(path, copy.toGenericDict()); });
}

void AsyncCheckpointIO::remove_checkpoint(const std::filesystem::path& path, std::function<bool()> only_if) {
  writer().submit(
      path, [path, only_if = std::move(only_if)] { remove_if(path, only_if); },
      detail::BackgroundWriter::Effect::removes);
}

bool AsyncCheckpointIO::exists(const std::filesystem::path& path) const {
  // As it will be once the queue has run, whatever the writer has reached:
  // there once written; after a removal, only its guard knows, so wait (rare).
  if (const auto last = writer_ ? writer_->last_pending(path) : std::nullopt) {
    if (*last == detail::BackgroundWriter::Effect::writes) return true;
    writer_->wait();
  }
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

void AsyncCheckpointIO::teardown() {
  if (writer_) writer_->wait();
}

}  // namespace lightning
