"""PyTorch Lightning 2.2.5 side of the overhead benchmarks (never a library dependency).

Persistent mode, driven by loop_overhead over two pipes:

    lightning_runner.py [--threads N]
    stdin:  run bare|defaults A|B EPOCHS      stdout: µs per optimizer step (whole fit / global_step)
                                                      or "error <message>" (details on stderr)
            quit (or EOF)
    It prints "ready <lightning version>" once imports are done.

First-step mode, for first_step (one process per measurement):

    lightning_runner.py --first-step bare|defaults --report-fd FD [--threads N]   (default threads, as a user runs it)
    writes "<after imports ns> <first training_step ns>" (CLOCK_MONOTONIC) to FD
    from the first training_step, then os._exit(0).

Run with the Lightning site on PYTHONPATH and Debian's /usr/bin/python3.
"""
import os
import sys
import tempfile
import time

# Keep stdout for the protocol only, and Lightning's noise (warnings, "GPU
# available", model summary, progress bars) off the terminal: fd 1 goes to
# /dev/null, fd 2 to an anonymous scratch file shown only when a command fails.
_proto = os.fdopen(os.dup(1), "w", buffering=1)
_err = os.fdopen(os.dup(2), "w", buffering=1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
_scratch = tempfile.TemporaryFile()
os.dup2(_scratch.fileno(), 2)


def _scratch_reset():
    sys.stderr.flush()
    os.ftruncate(2, 0)
    os.lseek(2, 0, os.SEEK_SET)


def _scratch_dump(header):
    """Forwards what Lightning wrote to stderr since the last reset, for a failure."""
    sys.stderr.flush()
    os.lseek(2, 0, os.SEEK_SET)
    chunks = []
    while True:
        b = os.read(2, 1 << 16)
        if not b:
            break
        chunks.append(b)
    _err.write(header + "\n" + b"".join(chunks).decode(errors="replace"))
    _err.flush()


import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

try:
    import torch
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset
except Exception:  # noqa: BLE001 - any import failure means "no Lightning here"
    _scratch_dump("lightning_runner: import failed:\n" + traceback.format_exc())
    sys.exit(1)
AFTER_IMPORTS_NS = time.clock_gettime_ns(time.CLOCK_MONOTONIC)

warnings.filterwarnings("ignore")
for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
    logging.getLogger(name).setLevel(logging.ERROR)

F = torch.nn.functional


class Regression(L.LightningModule):
    """Workload A: Linear(10, 1), MSE, Adam 1e-3."""

    def __init__(self, log_loss=False):
        super().__init__()
        self.layer = torch.nn.Linear(10, 1)
        self.log_loss = log_loss

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self.layer(x), y)
        if self.log_loss:
            self.log("train_loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class Mlp(L.LightningModule):
    """Workload B: MLP 784-128-10, cross-entropy, Adam 1e-3."""

    def __init__(self, log_loss=False):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
        self.log_loss = log_loss

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        if self.log_loss:
            self.log("train_loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class Batches:
    """Pre-built in-memory (x, y) batches, the same shapes the C++ variants iterate.

    Not a plain list: Lightning reads a list as a collection of loaders.
    Not a DataLoader: its per-sample collation would be timed as loop overhead.
    """

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def workload_batches(name):
    torch.manual_seed(0)
    if name == "A":
        x = torch.randn(1000, 10)
        y = x.sum(1, keepdim=True)
        return Batches([(x[i:i + 32], y[i:i + 32]) for i in range(0, 1000, 32)])
    x = torch.randn(64 * 50, 784)
    y = torch.randint(0, 10, (64 * 50,))
    return Batches([(x[i:i + 64], y[i:i + 64]) for i in range(0, 64 * 50, 64)])


def make_trainer(variant, epochs, root):
    if variant == "bare":
        return L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, max_epochs=epochs, accelerator="cpu", devices=1)
    return L.Trainer(max_epochs=epochs, log_every_n_steps=50, default_root_dir=root)


MODELS = {"A": Regression, "B": Mlp}


def run(variant, workload, epochs, data, root):
    torch.manual_seed(1)
    model = MODELS[workload](log_loss=variant == "defaults")
    trainer = make_trainer(variant, epochs, root)
    t0 = time.perf_counter()
    trainer.fit(model, train_dataloaders=data)
    dt = time.perf_counter() - t0
    expected = epochs * len(data)
    if trainer.global_step != expected:
        raise RuntimeError(f"global_step {trainer.global_step}, expected {expected}")
    return dt * 1e6 / trainer.global_step


def serve():
    root = tempfile.mkdtemp(prefix="lightning_runner_")
    data = {}
    _proto.write(f"ready {L.__version__}\n")
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words == ["quit"]:
                break
            _scratch_reset()
            try:
                if (len(words) != 4 or words[0] != "run" or words[1] not in ("bare", "defaults")
                        or words[2] not in MODELS or not words[3].isdigit() or int(words[3]) < 1):
                    raise ValueError(f"bad command {line.strip()!r}: want 'run bare|defaults A|B EPOCHS'")
                workload = words[2]
                if workload not in data:
                    data[workload] = workload_batches(workload)
                us = run(words[1], workload, int(words[3]), data[workload], root)
                _proto.write(f"{us:.3f}\n")
            except Exception as e:  # noqa: BLE001 - reported to the driver, which stops
                _scratch_dump(f"lightning_runner: {line.strip()} failed:\n" + traceback.format_exc())
                _proto.write(f"error {type(e).__name__}: {e}\n".replace("\n", " ").rstrip() + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def first_step(variant, report_fd):
    """What the user's seed program does: data, model, Trainer, fit; stops at the first step."""

    class Probe(Regression):
        def training_step(self, batch, batch_idx):
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            os.write(report_fd, f"{AFTER_IMPORTS_NS} {now}\n".encode())
            os._exit(0)

    torch.manual_seed(0)
    x = torch.randn(1000, 10)
    y = x.sum(1, keepdim=True)
    train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False, num_workers=0)
    model = Probe(log_loss=variant == "defaults")
    trainer = make_trainer(variant, 3, os.getcwd())
    trainer.fit(model, train_dataloaders=train)
    _scratch_dump("lightning_runner: fit ended without a training_step")
    os._exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--first-step", choices=("bare", "defaults"))
    p.add_argument("--report-fd", type=int)
    a = p.parse_args()
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    if a.first_step:
        if a.report_fd is None:
            p.error("--first-step needs --report-fd")
        first_step(a.first_step, a.report_fd)
    serve()


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None):
            _scratch_dump("lightning_runner: exit")
        raise
