"""The Python side of the state_dict round trips (python3-torch).

    state_dict_check.py read WEIGHTS.pt IO.pt   C++ -> Python: load the file C++
        wrote into the same model built in Python, compare its outputs
    state_dict_check.py write DIR               Python -> C++: write the files
        the C++ test loads (see below)

Prints "RESULT <name> <value>" lines.
"""
import sys
from collections import OrderedDict

import torch
from torch import nn


class Net(nn.Module):  # the C++ test's Net, in Python
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
        self.head = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.head(self.net(x))


def read(weights, io_path):
    state = torch.load(weights)
    model = Net()
    print("RESULT is_ordered_dict %d" % int(type(state) is OrderedDict))
    safe = torch.load(weights, weights_only=True)  # what PyTorch >= 2.6 does by default
    print("RESULT weights_only_loads %d" % int(list(safe) == list(state)))
    print("RESULT same_names_same_order %d" % int(list(state) == list(model.state_dict())))
    print("RESULT all_tensors %d" % int(all(isinstance(v, torch.Tensor) for v in state.values())))
    model.load_state_dict(state, strict=True)
    model.eval()
    io = torch.load(io_path)
    with torch.no_grad():
        diff = (model(io["x"]) - io["y"]).abs().max().item()
    print("RESULT max_abs_diff %.9g" % diff)


def write(out):
    torch.manual_seed(0)
    model = Net()
    model.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics away from their defaults
            model(torch.randn(16, 5) * 2 + 1)
    model.eval()
    x = torch.randn(6, 5)
    with torch.no_grad():
        y = model(x)
    torch.save({"x": x, "y": y}, out + "/io.pt")
    # What Python users write: model.state_dict() is an OrderedDict, which
    # LibTorch 1.13's own pickle_load reads as None.
    torch.save(model.state_dict(), out + "/ordered_dict.pt")
    torch.save(dict(model.state_dict()), out + "/dict.pt")
    torch.save({"epoch": 3, "state_dict": model.state_dict(), "hyper_parameters": {"lr": 0.1}}, out + "/lightning.ckpt")
    # One entry: pickled with SETITEM, which LibTorch 1.13's pickle_load rejects.
    single = nn.Linear(4, 2, bias=False)
    torch.save(single.state_dict(), out + "/one_entry.pt")
    torch.save({"weight_t": single.weight.t()}, out + "/non_contiguous.pt")  # a view: stride (1, 4)
    xs = torch.randn(3, 4)
    torch.save({"x": xs, "y": single(xs).detach()}, out + "/one_entry_io.pt")
    # Files that are not a state_dict, for the error messages.
    torch.save(dict(model.state_dict()), out + "/legacy.pt", _use_new_zipfile_serialization=False)
    torch.save([torch.ones(2)], out + "/list.pt")
    torch.save({"weight": torch.ones(2), "lr": 0.1}, out + "/not_tensor.pt")
    torch.save({"weight": torch.ones(2, dtype=torch.float64), "n": torch.tensor(7)}, out + "/dtypes.pt")
    print("RESULT written 1")


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2], sys.argv[3])
    else:
        write(sys.argv[2])
