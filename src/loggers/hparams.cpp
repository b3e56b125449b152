// (see include/lightning/loggers/detail/hparams.hpp)
#include "lightning/loggers/detail/hparams.hpp"

namespace lightning::detail {

void update_hparams(std::vector<HParam>& into, const std::vector<HParam>& from) {
  for (const auto& p : from) {
    bool found = false;
    for (auto& q : into)
      if (q.key == p.key) {
        q.value = p.value;
        found = true;
        break;
      }
    if (!found) into.push_back(p);
  }
}

}  // namespace lightning::detail
