// (see include/lightning/loggers/detail/tfrecord.hpp)
#include "lightning/loggers/detail/tfrecord.hpp"

namespace lightning::detail {

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) noexcept {
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

std::uint32_t masked_crc32c(std::string_view data) noexcept {
  const std::uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

void put_le(std::string& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string tfrecord(std::string_view payload) {
  std::string out;
  put_le(out, payload.size(), 8);
  put_le(out, masked_crc32c(std::string_view(out).substr(0, 8)), 4);
  out += payload;
  put_le(out, masked_crc32c(payload), 4);
  return out;
}

}  // namespace lightning::detail

namespace lightning::detail::pb {

void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void key(std::string& out, int field, int wire_type) {
  varint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type));
}

void int_field(std::string& out, int field, std::int64_t v) {
  key(out, field, 0);
  varint(out, static_cast<std::uint64_t>(v));
}

void double_field(std::string& out, int field, double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  key(out, field, 1);
  put_le(out, bits, 8);
}

void float_field(std::string& out, int field, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  key(out, field, 5);
  put_le(out, bits, 4);
}

void bytes_field(std::string& out, int field, std::string_view v) {
  key(out, field, 2);
  varint(out, v.size());
  out += v;
}

}  // namespace lightning::detail::pb
