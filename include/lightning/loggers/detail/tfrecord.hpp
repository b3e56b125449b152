#pragma once
// The pieces of a TensorBoard event file, without TensorFlow or protobuf:
// CRC32C, TFRecord framing and a minimal protocol-buffers encoder.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lightning::detail {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
inline std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

/// TFRecord's masked CRC: rotate right by 15, add a constant (so a CRC of
/// data that itself holds CRCs stays well distributed).
inline std::uint32_t masked_crc32c(std::string_view data) noexcept {
  const std::uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/// Appends `v` little-endian in `n` bytes.
inline void put_le(std::string& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// One TFRecord: uint64 length, masked CRC of those 8 bytes, the payload,
/// masked CRC of the payload (all little-endian).
inline std::string tfrecord(std::string_view payload) {
  std::string out;
  put_le(out, payload.size(), 8);
  put_le(out, masked_crc32c(std::string_view(out).substr(0, 8)), 4);
  out += payload;
  put_le(out, masked_crc32c(payload), 4);
  return out;
}

namespace pb {

/// Appends a base-128 varint (negative int64 values take 10 bytes, as protobuf).
inline void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

inline void key(std::string& out, int field, int wire_type) {
  varint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type));
}

/// Field of wire type 0 (int32/int64/bool/enum).
inline void int_field(std::string& out, int field, std::int64_t v) {
  key(out, field, 0);
  varint(out, static_cast<std::uint64_t>(v));
}

/// Field of wire type 1 (double).
inline void double_field(std::string& out, int field, double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  key(out, field, 1);
  put_le(out, bits, 8);
}

/// Field of wire type 5 (float).
inline void float_field(std::string& out, int field, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  key(out, field, 5);
  put_le(out, bits, 4);
}

/// Field of wire type 2 (string, bytes, embedded message).
inline void bytes_field(std::string& out, int field, std::string_view v) {
  key(out, field, 2);
  varint(out, v.size());
  out += v;
}

}  // namespace pb
}  // namespace lightning::detail
