// Weights for Python: save_state_dict's file loads into the same model built
// in Python, and the files Python's torch.save writes (an OrderedDict, a dict,
// a one-entry dict, a Lightning checkpoint) load into the C++ model, through
// /usr/bin/python3 (tests/export/state_dict_check.py).
#include <lightning/export/state_dict.hpp>

#include <string>
#include <vector>

#include "support.hpp"

namespace L = lightning;
namespace nn = torch::nn;
using export_test::error_of;
using export_test::ScratchDir;

namespace {

// The model of state_dict_check.py, in C++: same names (net.0.weight, ..., head.weight).
struct NetImpl : nn::Module {
  nn::Sequential net;
  nn::Linear head;
  NetImpl()
      : net(register_module("net", nn::Sequential(nn::Linear(5, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3)))),
        head(register_module("head", nn::Linear(nn::LinearOptions(3, 2).bias(false)))) {}
  torch::Tensor forward(torch::Tensor x) { return head(net->forward(x)); }
};
TORCH_MODULE(Net);

Net trained_net() {
  Net model;
  torch::NoGradGuard no_grad;
  model->train();
  for (int i = 0; i < 3; ++i) model->forward(torch::randn({16, 5}) * 2 + 1);  // running statistics move
  model->eval();
  return model;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

const std::vector<std::string> python_order = {
    "net.0.weight", "net.0.bias", "net.1.weight", "net.1.bias", "net.1.running_mean", "net.1.running_var",
    "net.1.num_batches_tracked", "net.3.weight", "net.3.bias", "head.weight"};

}  // namespace

TEST_CASE("C++ to Python: torch.load reads a dict of tensors, in Python's names and order, that the Python model loads") {
  ScratchDir dir("to_python");
  torch::manual_seed(0);
  auto model = trained_net();
  L::save_state_dict(model, dir / "weights.pt");
  auto x = torch::randn({6, 5});
  {
    torch::NoGradGuard no_grad;
    export_test::save_tensors(dir / "io.pt", {{"x", x}, {"y", model->forward(x)}});
  }
  auto run = export_test::run_python("state_dict_check.py", {"read", (dir / "weights.pt").string(), (dir / "io.pt").string()});
  {
    INFO(run.output);
    REQUIRE(run.status == 0);
    CHECK(run.results["is_ordered_dict"] == 1);  // as model.state_dict() is
    CHECK(run.results["weights_only_loads"] == 1);  // torch.load(path, weights_only=True)
    CHECK(run.results["same_names_same_order"] == 1);
    CHECK(run.results["all_tensors"] == 1);
    REQUIRE(run.results.count("max_abs_diff"));
    CHECK(run.results["max_abs_diff"] <= 1e-6);
  }
  MESSAGE("Python model on C++ weights: max abs difference " << run.results["max_abs_diff"]);

  std::vector<std::string> names;
  for (const auto& item : L::read_state_dict(dir / "weights.pt")) names.push_back(item.key());
  CHECK(names == python_order);
}

TEST_CASE("Python to C++: model.state_dict() (an OrderedDict), dict(...), one entry, a Lightning checkpoint") {
  ScratchDir dir("from_python");
  const auto run = export_test::run_python("state_dict_check.py", {"write", dir.path.string()});
  REQUIRE_MESSAGE(run.status == 0, run.output);
  const auto io = L::read_state_dict(dir / "io.pt");

  std::string report;
  for (const std::string file : {"ordered_dict.pt", "dict.pt", "lightning.ckpt"}) {
    INFO(file);
    Net model;
    L::load_state_dict(model, dir / file);
    model->eval();
    torch::NoGradGuard no_grad;
    const double diff = max_abs_diff(model->forward(io["x"]), io["y"]);
    CHECK(diff <= 1e-6);
    report += " " + file + ": " + std::to_string(diff) + ";";
    CHECK(model->net[1]->named_buffers()["num_batches_tracked"].item<int64_t>() == 3);
  }
  MESSAGE("C++ model on Python weights, max abs difference to Python's outputs:" << report);

  nn::Linear single(nn::LinearOptions(4, 2).bias(false));
  L::load_state_dict(single, dir / "one_entry.pt");
  const auto one_io = L::read_state_dict(dir / "one_entry_io.pt");
  {
    torch::NoGradGuard no_grad;
    CHECK(max_abs_diff(single->forward(one_io["x"]), one_io["y"]) <= 1e-6);
  }

  const auto view = L::read_state_dict(dir / "non_contiguous.pt");  // a view, read as a copy of its values
  CHECK(torch::equal(view["weight_t"], single->weight.t()));

  const auto dtypes = L::read_state_dict(dir / "dtypes.pt");
  CHECK(dtypes["weight"].dtype() == torch::kDouble);
  CHECK(dtypes["n"].item<int64_t>() == 7);
}

TEST_CASE("files that are not a state_dict: errors say what the file holds and what was expected") {
  ScratchDir dir("bad_files");
  const auto run = export_test::run_python("state_dict_check.py", {"write", dir.path.string()});
  REQUIRE_MESSAGE(run.status == 0, run.output);
  Net model;
  auto load = [&](const std::string& file) { return error_of([&] { L::load_state_dict(model, dir / file); }); };
  const std::string at = "lightning: weights file '" + (dir / "").string();
  CHECK(load("legacy.pt") == at + "legacy.pt' was written in torch.save's legacy format (PyTorch < 1.6, or "
                                  "_use_new_zipfile_serialization=False); re-save it with torch.save(obj, path)");
  CHECK(load("list.pt") == at + "list.pt' holds a list; expected a dict of tensors by name");
  CHECK(load("not_tensor.pt") == at + "not_tensor.pt' holds 'lr' as a float; expected a tensor");
  CHECK(load("missing.pt") == at + "missing.pt' does not exist (or is not a file)");
  std::ofstream(dir / "text.pt") << "not a tensor file";
  CHECK(load("text.pt") == at + "text.pt' is not a weights file: expected the zip archive torch.save writes");
}

TEST_CASE("load_state_dict: strict names, shapes named with both sides, nothing copied on error") {
  ScratchDir dir("strict");
  torch::manual_seed(1);
  Net saved;
  L::save_state_dict(saved, dir / "net.pt");

  SUBCASE("a shape that differs names the parameter and both shapes, strict or not") {
    nn::Sequential other(nn::Linear(6, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3));
    struct Wrapper : nn::Module {
      nn::Sequential net;
      nn::Linear head{nn::LinearOptions(3, 2).bias(false)};
      explicit Wrapper(nn::Sequential s) : net(register_module("net", s)) { register_module("head", head); }
    } wrong(other);
    const auto before = wrong.net[0]->named_parameters()["weight"].clone();
    for (bool strict : {true, false}) {
      const auto e = error_of([&] { L::load_state_dict(wrong, dir / "net.pt", strict); });
      CHECK(e.find("size mismatch for net.0.weight: copying a param with shape [8, 5] from checkpoint, the shape in current model is [8, 6].") !=
            std::string::npos);
      CHECK(e.find("lightning: Error(s) in loading state_dict for '") == 0);
    }
    CHECK(torch::equal(wrong.net[0]->named_parameters()["weight"], before));  // nothing copied
    CHECK(!torch::equal(wrong.net[3]->named_parameters()["weight"], saved->net[3]->named_parameters()["weight"]));
  }

  SUBCASE("missing and unexpected names: errors with strict, skipped without") {
    struct Bigger : nn::Module {
      nn::Sequential net{nn::Linear(5, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3)};
      nn::Linear extra{3, 3};
      Bigger() {
        register_module("net", net);
        register_module("extra", extra);
      }
    } bigger;
    const auto e = error_of([&] { L::load_state_dict(bigger, dir / "net.pt"); });
    CHECK(e.find("Missing key(s) in state_dict: \"extra.weight\", \"extra.bias\".") != std::string::npos);
    CHECK(e.find("Unexpected key(s) in state_dict: \"head.weight\".") != std::string::npos);
    L::load_state_dict(bigger, dir / "net.pt", /*strict=*/false);
    CHECK(torch::equal(bigger.net[3]->named_parameters()["weight"], saved->net[3]->named_parameters()["weight"]));
  }

  SUBCASE("C++ to C++, and an existing file replaced whole") {
    Net copy;
    L::load_state_dict(copy, dir / "net.pt");
    for (const auto& name : python_order) {
      INFO(name);
      auto a = L::read_state_dict(dir / "net.pt")[name];
      CHECK(torch::equal(a, copy->named_parameters().contains(name) ? copy->named_parameters()[name]
                                                                     : copy->named_buffers()[name]));
    }
    L::save_state_dict(copy, dir / "net.pt");  // over the previous file
    CHECK(!export_test::fs::exists(dir / "net.pt.tmp"));
    CHECK(L::read_state_dict(dir / "net.pt").size() == python_order.size());
  }
}
