"""Reference learning rates from PyTorch's own torch.optim.lr_scheduler, for
tests/unit/test_schedulers.cpp: the C++ test builds the same cases and
compares every step.

Output, per case:  `== <name>`, for ReduceLROnPlateau a `metrics v...` line,
then one line per step (the first after construction): each param group's lr,
then (OneCycleLR cases) each group's momentum / beta1; floats as repr(), which
round-trips exactly.
"""
import sys
import warnings

warnings.simplefilter("ignore")  # PyTorch warns when scheduler.step() precedes optimizer.step()

import torch  # noqa: E402
from torch.optim import lr_scheduler as L  # noqa: E402


def params():
    return torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))


def sgd():
    a, b = params()
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05, "momentum": 0.8}], lr=0.1, momentum=0.9)


def adam(cls=torch.optim.Adam):
    a, b = params()
    return cls([{"params": [a]}, {"params": [b], "lr": 5e-4, "betas": (0.8, 0.99)}], lr=1e-3)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def emit(values):
    print(" ".join(repr(float(v)) for v in values))


def run(name, opt, sched, steps, momentum=False):
    print("==", name)
    for i in range(steps + 1):
        if i > 0:
            sched.step()
        emit([g["lr"] for g in opt.param_groups] + (momenta(opt) if momentum else []))


def chained(name, opt, schedulers, steps):
    """Several schedulers stepping the same optimizer (PyTorch's ChainedScheduler):
    each one's recursive form sees the lrs the others set."""
    print("==", name)
    emit([g["lr"] for g in opt.param_groups])
    for _ in range(steps):
        for s in schedulers:
            s.step()
        emit([g["lr"] for g in opt.param_groups])


def plateau(name, opt, sched, metrics):
    print("==", name)
    print("metrics", " ".join(repr(float(m)) for m in metrics))
    emit([g["lr"] for g in opt.param_groups])
    for m in metrics:
        sched.step(m)
        emit([g["lr"] for g in opt.param_groups])


# Plateaus, small and large improvements, and a rise: crosses patience, cooldown and min_lr.
METRICS_MIN = [1.0, 0.9, 0.85, 0.85, 0.86, 0.849, 0.8499, 0.85, 0.7, 0.7, 0.7, 0.7, 0.69, 0.695, 0.7,
               0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999,
               0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
METRICS_MAX = [0.1, 0.2, 0.22, 0.26, 0.3, 0.3, 0.31, 0.36, 0.36, 0.36, 0.4, 0.42, 0.44, 0.5, 0.5,
               0.5, 0.5, 0.5, 0.56, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7,
               0.7, 0.7, 0.7, 0.7, -1.0, 0.7, 0.7, 0.7, 0.7]


def main():
    o = sgd(); run("step", o, L.StepLR(o, step_size=7, gamma=0.5), 40)
    o = sgd(); run("multistep", o, L.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 40)
    o = sgd(); run("exponential", o, L.ExponentialLR(o, gamma=0.93), 40)
    o = sgd(); run("cosine", o, L.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 45)
    o = sgd(); run("cosine_eta0", o, L.CosineAnnealingLR(o, T_max=7), 35)
    o = sgd(); run("linear_warmup", o, L.LinearLR(o, start_factor=0.25, total_iters=8), 30)
    o = sgd(); run("linear_decay", o, L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12), 30)
    o = sgd(); run("lambda", o, L.LambdaLR(o, lambda e: 0.95 ** e), 35)
    o = sgd(); run("lambda_per_group", o, L.LambdaLR(o, [lambda e: 1.0 / (e + 1), lambda e: 0.9 ** (e // 3)]), 35)
    o = sgd(); run("onecycle_sgd_cos", o, L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=40), 40, momentum=True)
    o = adam(); run("onecycle_adam_linear_three_phase", o,
                    L.OneCycleLR(o, max_lr=0.01, total_steps=36, anneal_strategy="linear", three_phase=True,
                                 base_momentum=0.8, max_momentum=[0.95, 0.9]), 36, momentum=True)
    o = adam(torch.optim.AdamW); run("onecycle_adamw_epochs", o,
                                     L.OneCycleLR(o, max_lr=[0.02, 0.01], epochs=4, steps_per_epoch=8, pct_start=0.25,
                                                  div_factor=10.0, final_div_factor=100.0), 32, momentum=True)
    o = sgd(); run("onecycle_sgd_no_momentum", o,
                   L.OneCycleLR(o, max_lr=0.3, total_steps=30, pct_start=0.4, cycle_momentum=False), 30, momentum=True)
    o = sgd(); chained("chained_linear_cosine", o, [L.LinearLR(o, start_factor=0.2, total_iters=6),
                                                  L.CosineAnnealingLR(o, T_max=15, eta_min=0.002)], 40)
    o = sgd(); chained("chained_cosine_exponential", o, [L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                                                       L.ExponentialLR(o, gamma=0.9)], 40)
    o = sgd(); plateau("plateau_min_rel", o,
                       L.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                           min_lr=[0.01, 0.0]), METRICS_MIN)
    o = sgd(); plateau("plateau_max_abs", o,
                       L.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1, threshold=0.05,
                                           threshold_mode="abs", cooldown=2, min_lr=0.004, eps=1e-3), METRICS_MAX)
    o = sgd(); run("sequential_warmup_cosine", o,
                   L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                      L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)], milestones=[5]), 40)
    o = sgd(); run("sequential_three", o,
                   L.SequentialLR(o, [L.LinearLR(o, start_factor=0.5, total_iters=4),
                                      L.LambdaLR(o, lambda e: 0.8 ** e),
                                      L.ExponentialLR(o, gamma=0.9)], milestones=[4, 10]), 35)
    o = sgd(); run("sequential_warmup_onecycle", o,
                   L.SequentialLR(o, [L.LinearLR(o, start_factor=0.5, total_iters=3),
                                      L.OneCycleLR(o, max_lr=0.5, total_steps=30)], milestones=[3]), 32, momentum=True)


if __name__ == "__main__":
    sys.exit(main())
