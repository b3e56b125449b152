"""Python side of the state-dict interop test in tests/unit/test_schedulers.cpp.

argv[1] is a file the C++ test wrote with torch::pickle_save: {case: state_dict}.
torch.load reads it; each state goes into the same scheduler built by PyTorch
(optimizer lrs set from the state's `_last_lr`, as the optimizer's own state
would), which then continues. Output per case: `== <name>`, `keys k...` (the
state's keys, sorted), then one line per further step with each group's lr.
"""
import sys
import warnings

warnings.simplefilter("ignore")

import torch  # noqa: E402
from torch.optim import lr_scheduler as L  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from reference import METRICS_MIN, sgd  # noqa: E402

STEPS = 20


def emit(opt):
    print(" ".join(repr(float(g["lr"])) for g in opt.param_groups))


def resume(name, state, make, metrics=None):
    print("==", name)
    print("keys", " ".join(sorted(state.keys())))
    o = sgd()
    sched = make(o)
    for g, lr in zip(o.param_groups, state["_last_lr"]):
        g["lr"] = lr
    sched.load_state_dict(state)
    for i in range(STEPS):
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        emit(o)


def main():
    states = torch.load(sys.argv[1])
    resume("multistep", states["multistep"], lambda o: L.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3))
    resume("cosine", states["cosine"], lambda o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001))
    resume("sequential_warmup_cosine", states["sequential_warmup_cosine"],
           lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                        L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)], milestones=[5]))
    k = states["plateau_min_rel"]["last_epoch"]
    resume("plateau_min_rel", states["plateau_min_rel"],
           lambda o: L.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                         min_lr=[0.01, 0.0]), METRICS_MIN[k:])


if __name__ == "__main__":
    sys.exit(main())
