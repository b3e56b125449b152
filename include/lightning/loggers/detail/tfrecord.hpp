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
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept;

/// TFRecord's masked CRC: rotate right by 15, add a constant (so a CRC of
/// data that itself holds CRCs stays well distributed).
std::uint32_t masked_crc32c(std::string_view data) noexcept;

/// Appends `v` little-endian in `n` bytes.
void put_le(std::string& out, std::uint64_t v, int n);

/// One TFRecord: uint64 length, masked CRC of those 8 bytes, the payload,
/// masked CRC of the payload (all little-endian).
std::string tfrecord(std::string_view payload);

namespace pb {

/// Appends a base-128 varint (negative int64 values take 10 bytes, as protobuf).
void varint(std::string& out, std::uint64_t v);

void key(std::string& out, int field, int wire_type);

/// Field of wire type 0 (int32/int64/bool/enum).
void int_field(std::string& out, int field, std::int64_t v);

/// Field of wire type 1 (double).
void double_field(std::string& out, int field, double v);

/// Field of wire type 5 (float).
void float_field(std::string& out, int field, float v);

/// Field of wire type 2 (string, bytes, embedded message).
void bytes_field(std::string& out, int field, std::string_view v);

}  // namespace pb
}  // namespace lightning::detail
