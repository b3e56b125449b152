"""Reads a lightning-cpp checkpoint the way a Python user would (test_checkpoint.cpp runs it)."""
import sys

import torch

ckpt_path, x_path, y_path = sys.argv[1:4]
ckpt = torch.load(ckpt_path)
expected = {"epoch", "global_step", "pytorch-lightning_version", "state_dict", "loops", "callbacks",
            "optimizer_states", "lr_schedulers", "hparams_name", "hyper_parameters"}
missing = expected - set(ckpt)
print("keys ok" if not missing else f"missing keys {sorted(missing)}")
print("hyper_parameters", ckpt["hyper_parameters"])
print("state_dict", list(ckpt["state_dict"].keys()))
hp = ckpt["hyper_parameters"]


class Net(torch.nn.Module):
    """The C++ test's module, written in Python."""

    def __init__(self, hidden, dropout):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                       torch.nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


net = Net(hp["hidden"], hp["dropout"])
net.load_state_dict(ckpt["state_dict"])
opt = torch.optim.Adam(net.parameters())
opt.load_state_dict(ckpt["optimizer_states"][0])
print("optimizer loaded", type(opt).__name__, "lr", opt.param_groups[0]["lr"])
net.eval()
x = torch.load(x_path)
torch.save(net(x).detach(), y_path)
