#pragma once
// The zip container of `torch.save` files, read and written by the library
// itself: every offset and size from the file is bounds-checked, every
// record's CRC-32 verified, and only what torch.save writes is accepted
// (stored entries under one top-level folder). No LibTorch involved.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lightning::serialization {

/// CRC-32 (zip's, zlib's) of `data`, continuing from `crc`.
uint32_t crc32(uint32_t crc, const void* data, std::size_t size) noexcept;

struct ZipLimits {
  std::size_t max_records = 1'000'000;
  std::size_t max_name = 4096;
};

/// A torch.save zip archive opened for reading. Construction reads and
/// checks the directory; reading a record checks its CRC-32. Errors are
/// CheckpointErrors whose text says what is wrong (the caller adds the path).
class ZipReader {
 public:
  struct Record {
    std::string name;      // without the archive's top-level folder
    uint64_t data_offset;  // of the stored bytes in the file
    uint64_t size;
    uint32_t crc;
  };

  explicit ZipReader(const std::filesystem::path& path, ZipLimits limits = {});
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  /// The archive's top-level folder (`archive` for LibTorch, the file's stem for Python).
  const std::string& prefix() const noexcept { return prefix_; }
  const std::vector<Record>& records() const noexcept { return records_; }
  /// The record named `name` (below the top-level folder), or nullptr.
  const Record* find(std::string_view name) const noexcept;
  uint64_t file_size() const noexcept { return file_size_; }

  /// Reads the record into `out` (out.size() == record.size), verifying its CRC-32.
  void read(const Record& record, std::span<std::byte> out) const;
  /// The record's bytes, if it is at most `max_size` long.
  std::string read_string(const Record& record, uint64_t max_size) const;

 private:
  struct Directory {
    uint64_t entries, size, offset, end;  // end: where the directory must end
  };
  struct Cursor;
  void read_at(uint64_t offset, void* out, std::size_t size) const;
  Directory find_directory(const ZipLimits& limits) const;
  void parse_directory(const ZipLimits& limits);
  Record parse_entry(Cursor& c, uint64_t records_end, const ZipLimits& limits);
  uint64_t check_local_header(uint64_t header, std::string_view name, uint64_t method, uint64_t records_end) const;

  int fd_ = -1;
  uint64_t file_size_ = 0;
  std::string prefix_;
  std::vector<Record> records_;  // sorted by name
};

/// Writes a zip archive as torch.save does: stored (uncompressed) records
/// under `<prefix>/`, each record's data aligned to 64 bytes, ZIP64 records
/// where sizes or offsets need them. `sink(data, size)` receives the bytes in order.
class ZipWriter {
 public:
  using Sink = void (*)(void* context, const void* data, std::size_t size);
  ZipWriter(std::string prefix, Sink sink, void* context);

  /// Appends one record made of `parts`, concatenated.
  void add(std::string_view name, std::span<const std::span<const std::byte>> parts);
  void add(std::string_view name, std::string_view bytes);
  /// Writes the central directory; nothing may be added after.
  void finish();

  struct Written {
    std::string name;  // without prefix
    uint64_t size;
    uint32_t crc;
  };
  const std::vector<Written>& written() const noexcept { return written_; }

 private:
  struct Entry {
    std::string full_name;
    uint64_t header_offset, size;
    uint32_t crc;
  };
  void emit(const void* data, std::size_t size);
  void write_central_entry(const Entry& e);
  void write_end(uint64_t cd_offset, uint64_t cd_size);

  std::string prefix_;
  Sink sink_;
  void* context_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
  std::vector<Written> written_;
  bool finished_ = false;
};

}  // namespace lightning::serialization
