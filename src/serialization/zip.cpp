// The zip container of torch.save files (see zip.hpp). Everything read from
// the file is a claim to check: offsets and sizes against the file's size,
// names against each other, data against its CRC-32.
#include "lightning/serialization/zip.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "lightning/checkpoint/error.hpp"

namespace lightning::serialization {

uint32_t crc32(uint32_t crc, const void* data, std::size_t size) noexcept {
  auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes a uInt length
    const auto n = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, n));
    p += n;
    size -= n;
  }
  return crc;
}

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20;

[[noreturn]] void bad(const std::string& what) { throw CheckpointError(what); }

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}


/// a + b, or an error when it overflows.
uint64_t add(uint64_t a, uint64_t b, const char* what) {
  if (b > UINT64_MAX - a) bad(std::string("a ") + what + " is out of range");
  return a + b;
}

bool valid_name(std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max || name.front() == '/') return false;
  std::size_t start = 0;
  for (;;) {
    const auto end = name.find('/', start);
    const auto part = name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return std::none_of(name.begin(), name.end(), [](char c) { return c == '\0' || c == '\\'; });
}

}  // namespace

/// A bounds-checked cursor over bytes read from the file.
struct ZipReader::Cursor {
  const unsigned char* p;
  std::size_t size, pos = 0;
  const char* what;
  uint64_t take(int n) {
    if (size - pos < static_cast<std::size_t>(n)) bad(std::string("its ") + what + " is cut short");
    const uint64_t v = le(p + pos, n);
    pos += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (size - pos < n) bad(std::string("its ") + what + " is cut short");
    std::string_view s(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
    return s;
  }
};

ZipReader::ZipReader(const std::filesystem::path& path, ZipLimits limits) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) bad(std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    bad("is not a regular file");
  }
  file_size_ = static_cast<uint64_t>(st.st_size);
  try {
    parse_directory(limits);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

ZipReader::~ZipReader() {
  if (fd_ >= 0) ::close(fd_);
}

void ZipReader::read_at(uint64_t offset, void* out, std::size_t size) const {
  if (offset > file_size_ || size > file_size_ - offset) bad("is truncated: a record reaches past the end of the file");
  auto* dst = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd_, dst, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      bad(std::string("cannot be read: ") + std::strerror(errno));
    }
    if (n == 0) bad("is truncated: it became shorter while being read");
    dst += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

/// Where the central directory is, from the end record (and its ZIP64 form).
ZipReader::Directory ZipReader::find_directory(const ZipLimits& limits) const {
  if (file_size_ < kEndSize) bad("is not a zip archive (too short to hold the zip directory)");
  // The end record sits in the last 22 + 65535 bytes (after it: only its comment).
  const std::size_t tail_size = static_cast<std::size_t>(std::min<uint64_t>(file_size_, kEndSize + 0xFFFF));
  std::vector<unsigned char> tail(tail_size);
  read_at(file_size_ - tail_size, tail.data(), tail_size);
  std::size_t end_pos = std::string::npos;
  for (std::size_t i = tail_size - kEndSize + 1; i-- > 0;) {
    if (le(&tail[i], 4) == kEndSig && i + kEndSize + le(&tail[i + 20], 2) == tail_size) {
      end_pos = i;
      break;
    }
  }
  if (end_pos == std::string::npos) bad("is truncated or not a zip archive: the zip directory at its end is missing");
  const uint64_t end_offset = file_size_ - tail_size + end_pos;
  Cursor end{&tail[end_pos], kEndSize, 0, "zip end record"};
  end.take(4);
  const uint64_t disk = end.take(2), cd_disk = end.take(2);
  Directory d;
  uint64_t entries_disk = end.take(2);
  d.entries = end.take(2);
  d.size = end.take(4);
  d.offset = end.take(4);
  d.end = end_offset;
  if (disk != 0 || cd_disk != 0 || entries_disk != d.entries) bad("is a multi-part zip archive; expected one file");
  // ZIP64: a locator just before the end record points to the 64-bit end record.
  if (end_offset >= kZip64LocatorSize) {
    unsigned char loc[kZip64LocatorSize];
    read_at(end_offset - kZip64LocatorSize, loc, sizeof loc);
    if (le(loc, 4) == kZip64LocatorSig) {
      const uint64_t z64_offset = le(loc + 8, 8);
      if (z64_offset > end_offset - kZip64LocatorSize || end_offset - kZip64LocatorSize - z64_offset < kZip64EndSize)
        bad("is corrupt: its ZIP64 end record lies outside the file");
      unsigned char z[kZip64EndSize];
      read_at(z64_offset, z, sizeof z);
      Cursor c{z, sizeof z, 0, "ZIP64 end record"};
      if (c.take(4) != kZip64EndSig) bad("is corrupt: its ZIP64 end record is missing");
      c.take(8 + 2 + 2);
      if (c.take(4) != 0 || c.take(4) != 0) bad("is a multi-part zip archive; expected one file");
      entries_disk = c.take(8);
      d.entries = c.take(8);
      d.size = c.take(8);
      d.offset = c.take(8);
      if (entries_disk != d.entries) bad("is a multi-part zip archive; expected one file");
      d.end = z64_offset;
    }
  }
  if (d.entries == 0) bad("is an empty zip archive");
  if (d.entries > limits.max_records)
    bad("has " + std::to_string(d.entries) + " records, more than the limit of " + std::to_string(limits.max_records));
  if (d.offset > d.end || d.size != d.end - d.offset)
    bad("is corrupt: its zip directory's offset and size do not match the file");
  if (d.size / kCentralSize < d.entries) bad("is corrupt: its zip directory is too small for its record count");
  return d;
}

void ZipReader::parse_directory(const ZipLimits& limits) {
  const Directory d = find_directory(limits);
  std::vector<unsigned char> cd(static_cast<std::size_t>(d.size));
  read_at(d.offset, cd.data(), cd.size());
  Cursor c{cd.data(), cd.size(), 0, "zip directory"};
  records_.reserve(static_cast<std::size_t>(d.entries));
  for (uint64_t i = 0; i < d.entries; ++i) {
    if (c.take(4) != kCentralSig) bad("is corrupt: zip directory entry " + std::to_string(i) + " has a bad signature");
    records_.push_back(parse_entry(c, d.offset, limits));
  }
  if (c.pos != c.size) bad("is corrupt: its zip directory has trailing bytes");
  std::sort(records_.begin(), records_.end(), [](const Record& a, const Record& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < records_.size(); ++i)
    if (records_[i].name == records_[i - 1].name) bad("holds the record '" + records_[i].name + "' twice");
}

/// One directory entry (after its signature): checked against its local
/// header, its data inside the records' part of the file.
ZipReader::Record ZipReader::parse_entry(Cursor& c, uint64_t records_end, const ZipLimits& limits) {
  c.take(2 + 2);
  const uint64_t flags = c.take(2), method = c.take(2);
  c.take(2 + 2);
  const auto crc = static_cast<uint32_t>(c.take(4));
  uint64_t comp = c.take(4), size = c.take(4);
  const auto name_len = static_cast<std::size_t>(c.take(2)), extra_len = static_cast<std::size_t>(c.take(2));
  const auto comment_len = static_cast<std::size_t>(c.take(2));
  const uint64_t start_disk = c.take(2);
  c.take(2 + 4);
  uint64_t header = c.take(4);
  const std::string_view name = c.bytes(name_len);
  Cursor extra{reinterpret_cast<const unsigned char*>(c.bytes(extra_len).data()), extra_len, 0, "zip extra field"};
  c.bytes(comment_len);
  while (extra.size - extra.pos >= 4) {
    const uint64_t id = extra.take(2), len = extra.take(2);
    Cursor field{reinterpret_cast<const unsigned char*>(extra.bytes(static_cast<std::size_t>(len)).data()),
                 static_cast<std::size_t>(len), 0, "ZIP64 extra field"};
    if (id != 1) continue;
    if (size == 0xFFFFFFFF) size = field.take(8);
    if (comp == 0xFFFFFFFF) comp = field.take(8);
    if (header == 0xFFFFFFFF) header = field.take(8);
  }
  const std::string shown(name.substr(0, 200));
  if (!valid_name(name, limits.max_name)) bad("holds a record with an invalid name '" + shown + "'");
  if (start_disk != 0) bad("is a multi-part zip archive; expected one file");
  if (flags & 1) bad("holds an encrypted record '" + shown + "'");
  if (method != 0)
    bad("holds a compressed record '" + shown + "' (method " + std::to_string(method) +
        "); torch.save stores records uncompressed: re-save the file with torch.save");
  if (comp != size) bad("is corrupt: record '" + shown + "' has different stored and original sizes");
  const uint64_t data = check_local_header(header, name, method, records_end);
  if (data > records_end || records_end - data < size)
    bad("is truncated or corrupt: record '" + shown + "' reaches past the records' end");
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) bad("holds a record '" + shown + "' outside the archive's folder");
  if (records_.empty()) prefix_ = std::string(name.substr(0, slash));
  else if (name.substr(0, slash) != prefix_)
    bad("holds records under two top-level folders ('" + prefix_ + "' and '" + std::string(name.substr(0, slash)) + "')");
  return {std::string(name.substr(slash + 1)), data, size, crc};
}

/// The record's local header at `header` must repeat its name and method;
/// returns where its data starts.
uint64_t ZipReader::check_local_header(uint64_t header, std::string_view name, uint64_t method,
                                       uint64_t records_end) const {
  const std::string shown(name.substr(0, 200));
  unsigned char local[kLocalSize];
  if (header > records_end || records_end - header < kLocalSize) bad("is corrupt: record '" + shown + "' lies outside the file");
  read_at(header, local, sizeof local);
  Cursor l{local, sizeof local, 0, "record header"};
  if (l.take(4) != kLocalSig) bad("is corrupt: record '" + shown + "' has no header");
  l.take(2 + 2);
  if (l.take(2) != method) bad("is corrupt: record '" + shown + "' has two different methods");
  l.take(2 + 2 + 4 + 4 + 4);
  const uint64_t local_name = l.take(2), local_extra = l.take(2);
  if (local_name != name.size()) bad("is corrupt: record '" + shown + "' has two different names");
  std::string check(name.size(), '\0');
  const uint64_t name_at = add(header, kLocalSize, "record offset");
  if (name_at > records_end || records_end - name_at < name.size())
    bad("is corrupt: record '" + shown + "' lies outside the file");
  read_at(name_at, check.data(), name.size());
  if (check != name) bad("is corrupt: record '" + shown + "' has two different names");
  return add(name_at, name.size() + local_extra, "record offset");
}

const ZipReader::Record* ZipReader::find(std::string_view name) const noexcept {
  auto it = std::lower_bound(records_.begin(), records_.end(), name,
                             [](const Record& r, std::string_view n) { return r.name < n; });
  return it != records_.end() && it->name == name ? &*it : nullptr;
}

void ZipReader::read(const Record& record, std::span<std::byte> out) const {
  if (out.size() != record.size) bad("read of record '" + record.name + "' with the wrong size");
  uint32_t crc = 0;
  constexpr std::size_t kChunk = std::size_t{1} << 22;
  for (std::size_t done = 0; done < out.size(); done += kChunk) {
    const std::size_t n = std::min(kChunk, out.size() - done);
    read_at(record.data_offset + done, out.data() + done, n);
    crc = crc32(crc, out.data() + done, n);
  }
  if (crc != record.crc) bad("is corrupt: record '" + record.name + "' does not match its CRC-32");
}

std::string ZipReader::read_string(const Record& record, uint64_t max_size) const {
  if (record.size > max_size)
    bad("holds a record '" + record.name + "' of " + std::to_string(record.size) + " bytes, more than the limit of " +
        std::to_string(max_size));
  std::string out(static_cast<std::size_t>(record.size), '\0');
  read(record, std::as_writable_bytes(std::span(out.data(), out.size())));
  return out;
}

// ---------------------------------------------------------------- writing

namespace {
struct LittleEndian {
  std::string out;
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
};
constexpr uint64_t k32 = 0xFFFFFFFF;
}  // namespace

ZipWriter::ZipWriter(std::string prefix, Sink sink, void* context)
    : prefix_(std::move(prefix)), sink_(sink), context_(context) {}

void ZipWriter::emit(const void* data, std::size_t size) {
  if (size == 0) return;
  sink_(context_, data, size);
  offset_ += size;
}

void ZipWriter::add(std::string_view name, std::string_view bytes) {
  const std::span<const std::byte> part(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  add(name, std::span(&part, 1));
}

void ZipWriter::add(std::string_view name, std::span<const std::span<const std::byte>> parts) {
  if (finished_) throw std::logic_error("ZipWriter::add after finish");
  const std::string full = prefix_ + "/" + std::string(name);
  uint64_t size = 0;
  uint32_t crc = 0;
  for (const auto& p : parts) {
    size += p.size();
    crc = crc32(crc, p.data(), p.size());
  }
  const bool big = size >= k32;
  LittleEndian h;
  h.put(kLocalSig, 4);
  h.put(big ? 45 : 20, 2);
  h.put(0, 2);  // flags
  h.put(0, 2);  // stored
  h.put(0, 4);  // time, date
  h.put(crc, 4);
  h.put(big ? k32 : size, 4);
  h.put(big ? k32 : size, 4);
  h.put(full.size(), 2);
  // Extra field: ZIP64 sizes if needed, then "FB" padding so the data starts
  // at a multiple of 64 bytes (as LibTorch's writer aligns it).
  const uint64_t zip64_len = big ? 20 : 0;
  const uint64_t before_pad = offset_ + kLocalSize + full.size() + zip64_len + 4;
  const uint64_t pad = (64 - before_pad % 64) % 64;
  h.put(zip64_len + 4 + pad, 2);
  h.out += full;
  if (big) {
    h.put(1, 2);
    h.put(16, 2);
    h.put(size, 8);
    h.put(size, 8);
  }
  h.put(0x4246, 2);  // "FB"
  h.put(pad, 2);
  h.out.append(static_cast<std::size_t>(pad), 'Z');
  const uint64_t header_offset = offset_;
  emit(h.out.data(), h.out.size());
  for (const auto& p : parts) emit(p.data(), p.size());
  entries_.push_back({full, header_offset, size, crc});
  written_.push_back({std::string(name), size, crc});
}

void ZipWriter::finish() {
  if (finished_) return;
  finished_ = true;
  const uint64_t cd_offset = offset_;
  for (const auto& e : entries_) write_central_entry(e);
  write_end(cd_offset, offset_ - cd_offset);
}

void ZipWriter::write_central_entry(const Entry& e) {
  const bool big_size = e.size >= k32, big_offset = e.header_offset >= k32;
  LittleEndian c;
  c.put(kCentralSig, 4);
  c.put(big_size || big_offset ? 45 : 20, 2);  // version made by
  c.put(big_size || big_offset ? 45 : 20, 2);  // version needed
  c.put(0, 2);                                  // flags
  c.put(0, 2);                                  // stored
  c.put(0, 4);                                  // time, date
  c.put(e.crc, 4);
  c.put(big_size ? k32 : e.size, 4);
  c.put(big_size ? k32 : e.size, 4);
  c.put(e.full_name.size(), 2);
  const uint64_t extra = (big_size ? 16 : 0) + (big_offset ? 8 : 0);
  c.put(extra ? extra + 4 : 0, 2);
  c.put(0, 2);  // comment
  c.put(0, 2);  // disk
  c.put(0, 2);  // internal attributes
  c.put(0, 4);  // external attributes
  c.put(big_offset ? k32 : e.header_offset, 4);
  c.out += e.full_name;
  if (extra) {
    c.put(1, 2);
    c.put(extra, 2);
    if (big_size) {
      c.put(e.size, 8);
      c.put(e.size, 8);
    }
    if (big_offset) c.put(e.header_offset, 8);
  }
  emit(c.out.data(), c.out.size());
}

/// The end record, preceded by its ZIP64 form and locator when counts or
/// offsets do not fit the classic one.
void ZipWriter::write_end(uint64_t cd_offset, uint64_t cd_size) {
  const uint64_t n = entries_.size();
  const bool zip64 = n >= 0xFFFF || cd_size >= k32 || cd_offset >= k32;
  LittleEndian end;
  if (zip64) {
    const uint64_t z64_offset = offset_;
    end.put(kZip64EndSig, 4);
    end.put(kZip64EndSize - 12, 8);
    end.put(45, 2);
    end.put(45, 2);
    end.put(0, 4);
    end.put(0, 4);
    end.put(n, 8);
    end.put(n, 8);
    end.put(cd_size, 8);
    end.put(cd_offset, 8);
    end.put(kZip64LocatorSig, 4);
    end.put(0, 4);
    end.put(z64_offset, 8);
    end.put(1, 4);
  }
  end.put(kEndSig, 4);
  end.put(0, 2);
  end.put(0, 2);
  end.put(zip64 ? 0xFFFF : n, 2);
  end.put(zip64 ? 0xFFFF : n, 2);
  end.put(zip64 ? k32 : cd_size, 4);
  end.put(zip64 ? k32 : cd_offset, 4);
  end.put(0, 2);
  emit(end.out.data(), end.out.size());
}

}  // namespace lightning::serialization
