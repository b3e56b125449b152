// ModelSummary (see callbacks/model_summary.hpp).
#include "lightning/callbacks/model_summary.hpp"

#include <algorithm>
#include <cstdio>

namespace lightning {

void ModelSummary::summarize(const torch::nn::Module& module) {
  std::FILE* out = opts_.stream;
  struct Row {
    std::string name, type, params;
  };
  std::vector<Row> rows;
  if (opts_.max_depth > 0)
    for (const auto& child : module.named_children())
      rows.push_back({child.key(), detail::short_type_name(child.value()->name()),
                      detail::human_count(count(*child.value(), false) + count(*child.value(), true))});
  size_t wn = 4, wt = 4, wp = 6;
  for (const auto& r : rows)
    wn = std::max(wn, r.name.size()), wt = std::max(wt, r.type.size()), wp = std::max(wp, r.params.size());
  const std::string rule(wn + wt + wp + 13, '-');
  if (!rows.empty()) {
    std::fprintf(out, "  | %-*s | %-*s | %-*s\n%s\n", int(wn), "Name", int(wt), "Type", int(wp), "Params",
                 rule.c_str());
    for (size_t i = 0; i < rows.size(); ++i)
      std::fprintf(out, "%zu | %-*s | %-*s | %-*s\n", i, int(wn), rows[i].name.c_str(), int(wt), rows[i].type.c_str(),
                   int(wp), rows[i].params.c_str());
    std::fprintf(out, "%s\n", rule.c_str());
  }
  const int64_t trainable = count(module, true), frozen = count(module, false);
  int64_t bytes = 0;
  for (const auto& p : module.parameters()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  trainable_ = trainable;
  frozen_ = frozen;
  std::fprintf(out,
               "%-10s Trainable params\n%-10s Non-trainable params\n%-10s Total params\n%-10.3f Total estimated model "
               "params size (MB)\n",
               detail::human_count(trainable).c_str(), detail::human_count(frozen).c_str(),
               detail::human_count(trainable + frozen).c_str(), static_cast<double>(bytes) / 1e6);
  std::fflush(out);
}

int64_t ModelSummary::count(const torch::nn::Module& m, bool trainable) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (p.requires_grad() == trainable) n += p.numel();
  return n;
}

}  // namespace lightning
