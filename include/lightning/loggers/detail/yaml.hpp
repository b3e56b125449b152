#pragma once
// hparams.yaml as Lightning writes it: PyYAML's `yaml.dump(dict)` of a flat
// mapping (keys sorted, block style, width 80, ASCII only). The scalar rules
// below follow PyYAML 6's Emitter and Resolver, so the bytes match.
#include <string>
#include <vector>

#include "hparams.hpp"

namespace lightning::detail::yaml {

/// `yaml.dump(dict(params))`: keys sorted, block style, PyYAML's quoting.
std::string dump(std::vector<HParam> params);

}  // namespace lightning::detail::yaml
