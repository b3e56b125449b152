#pragma once
// Reading the hyperparameters' Boost text archive that a Hana-reflected
// struct is saved as, by hand and bounded: every count and length is
// checked against the text that remains before anything is allocated.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lightning::checkpoint::detail {

/// The (name, text) pairs of the archive ReflectedHParams writes:
/// `22 serialization::archive <version> <tracking> <class version> <n> (<len> <chars>){2n}`.
/// Throws CheckpointError saying what is wrong where.
std::vector<std::pair<std::string, std::string>> parse_reflected_archive(std::string_view text);

/// Writes such an archive (what Boost 1.74's text_oarchive writes for them).
std::string reflected_archive(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace lightning::checkpoint::detail
