#!/usr/bin/env python3
"""lightning-cpp against the real Python Lightning 2.2.5 (meson test --suite interop).

    run_interop.py <part> <interop_tool> <source_root>

Lightning is found through LIGHTNING_PY_SITE or <source_root>/../shared/python-lightning/site
and run by a Python with torch (LIGHTNING_PY_PYTHON, else this one, else /usr/bin/python3).
Without them the test reports itself skipped (exit 77): the library never needs Python.
"""
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77


def find_site(root):
    site = os.environ.get("LIGHTNING_PY_SITE") or os.path.join(root, "..", "shared", "python-lightning", "site")
    return site if os.path.isdir(os.path.join(site, "lightning")) else None


def ensure_torch(site):
    """Re-runs this script under a Python that has torch (Debian's), with `site` on its path."""
    if os.environ.get("_INTEROP_CHILD") == "1":
        return
    for py in [os.environ.get("LIGHTNING_PY_PYTHON"), sys.executable, "/usr/bin/python3"]:
        if not py or not os.path.exists(py):
            continue
        env = dict(os.environ, PYTHONPATH=site, _INTEROP_CHILD="1")
        probe = subprocess.run([py, "-c", "import torch, lightning"], env=env, capture_output=True)
        if probe.returncode == 0:
            sys.exit(subprocess.run([py] + sys.argv, env=env).returncode)
    print("SKIP: no Python with torch and Lightning found")
    sys.exit(SKIP)


if __name__ == "__main__" and os.environ.get("_INTEROP_CHILD") != "1":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    site = find_site(sys.argv[3])
    if site is None:
        print("SKIP: Python Lightning not found (set LIGHTNING_PY_SITE)")
        sys.exit(SKIP)
    ensure_torch(os.path.abspath(site))

import warnings  # noqa: E402

import torch  # noqa: E402
import lightning as L  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

warnings.filterwarnings("ignore")
import logging  # noqa: E402

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

TOOL = None
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


class LitModel(L.LightningModule):
    """interop_tool.cpp's LitModel."""

    def __init__(self, hidden=8, lr=0.01, optimizer="Adam"):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        cls = torch.optim.SGD if self.hparams.optimizer == "SGD" else torch.optim.Adam
        opt = cls(self.parameters(), lr=self.hparams.lr)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]


def make_data(d):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g)
    y = x.sum(1, keepdim=True) + 0.1 * x.pow(2).sum(1, keepdim=True)
    torch.save({"x": x, "y": y}, os.path.join(d, "data.pt"))
    torch.manual_seed(0)
    torch.save(LitModel(hidden=16).state_dict(), os.path.join(d, "init.pt"))
    return x, y


def loaders(x, y):
    return DataLoader(TensorDataset(x, y), batch_size=8), DataLoader(TensorDataset(x, y), batch_size=8)


def py_trainer(out, max_epochs, every):
    if every > 0:
        mc = L.pytorch.callbacks.ModelCheckpoint(dirpath=os.path.join(out, "ck"), save_top_k=-1,
                                                 every_n_train_steps=every)
    else:
        mc = L.pytorch.callbacks.ModelCheckpoint(dirpath=os.path.join(out, "ck"), monitor="val_loss", save_last=True)
    es = L.pytorch.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    return L.Trainer(max_epochs=max_epochs, callbacks=[mc, es], logger=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=2)


def py_train(d, name, max_epochs, every, ckpt=None, optimizer="Adam"):
    out = os.path.join(d, name)
    x, y = torch.load(os.path.join(d, "data.pt")).values()
    model = LitModel(hidden=16, lr=0.01, optimizer=optimizer)
    if ckpt is None:
        model.load_state_dict(torch.load(os.path.join(d, "init.pt")))
    t = py_trainer(out, max_epochs, every)
    t.fit(model, *loaders(x, y), ckpt_path=ckpt)
    t.save_checkpoint(os.path.join(out, "after.ckpt"))
    torch.save(model.state_dict(), os.path.join(out, "final.pt"))
    return t, model


def cpp(*args, env=None, expect_ok=True):
    r = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if expect_ok and r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"interop_tool {' '.join(map(str, args))} failed ({r.returncode})")
    return r


def cpp_train(d, name, max_epochs, every, ckpt=None, env=None):
    out = os.path.join(d, name)
    os.makedirs(out, exist_ok=True)
    return cpp("train", os.path.join(d, "data.pt"), out, max_epochs, every, *([ckpt] if ckpt else []), env=env)


def loops_of(path):
    return torch.load(path)["loops"]


def diff(a, b, where=""):
    """The differences between two nested dicts, as strings."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                out.append(f"{where}.{k}: {'missing in C++' if k not in a else 'not in Lightning'}")
            else:
                out += diff(a[k], b[k], f"{where}.{k}")
        if not out and list(a) != list(b):
            out.append(f"{where}: key order {list(a)} != {list(b)}")
    elif a != b or type(a) is not type(b):
        out.append(f"{where}: C++ {a!r} != Lightning {b!r}")
    return out


def weights_close(a, b, tol=1e-5):
    return set(a) == set(b) and all(torch.allclose(a[k], b[k], atol=tol, rtol=tol) for k in a)


# ------------------------------------------------------------------ parts

def part_loops(d):
    """The `loops` entry C++ writes equals Lightning's, checkpoint by checkpoint."""
    for every in (0, 2, 3):
        name = f"every{every}"
        py_train(d, "py_" + name, 3, every)
        cpp_train(d, "cpp_" + name, 3, every)
        py_files = sorted(os.listdir(os.path.join(d, "py_" + name, "ck")))
        cpp_files = sorted(os.listdir(os.path.join(d, "cpp_" + name, "ck")))
        check(py_files == cpp_files, f"every_n_train_steps={every}: same checkpoint files {py_files} / {cpp_files}")
        for f in [os.path.join("ck", f) for f in py_files if f in cpp_files] + ["after.ckpt"]:
            py = torch.load(os.path.join(d, "py_" + name, f))
            cc = torch.load(os.path.join(d, "cpp_" + name, f))
            problems = diff(cc["loops"], py["loops"], "loops")
            check(not problems, f"every_n_train_steps={every} {f}: loops as Lightning's" +
                  ("" if not problems else "\n       " + "\n       ".join(problems[:8])))
            check((cc["epoch"], cc["global_step"]) == (py["epoch"], py["global_step"]),
                  f"every_n_train_steps={every} {f}: epoch/global_step {cc['epoch']}/{cc['global_step']} "
                  f"(Lightning {py['epoch']}/{py['global_step']})")


def part_cpp_to_python(d):
    """Python Lightning resumes C++ checkpoints where a C++ run would continue."""
    for optimizer in ("Adam", "SGD"):
        env = {"INTEROP_SGD": "1"} if optimizer == "SGD" else {}
        cpp_train(d, f"cpp2_{optimizer}", 2, 0, env=env)
        cpp_train(d, f"cpp5_{optimizer}", 5, 0, env=env)  # uninterrupted, for the weights
        # Epoch end (last.ckpt after epoch 1) and after fit (after.ckpt): both resume at epoch 2.
        for f in ("ck/last.ckpt", "after.ckpt"):
            src = os.path.join(d, f"cpp2_{optimizer}", f)
            t, model = py_train(d, f"py_resume_{optimizer}_{f.replace('/', '_')}", 5, 0, ckpt=src, optimizer=optimizer)
            ref = torch.load(os.path.join(d, f"cpp5_{optimizer}", "final.pt"))
            check((t.current_epoch, t.global_step) == (5, 20),
                  f"{optimizer} {f}: Python resumed to epoch/global_step {t.current_epoch}/{t.global_step} (expected 5/20)")
            lr = t.optimizers[0].param_groups[0]["lr"]
            check(abs(lr - 0.01 * 0.5 ** 5) < 1e-12, f"{optimizer} {f}: lr after resuming {lr} (expected {0.01 * 0.5 ** 5})")
            check(weights_close(model.state_dict(), ref), f"{optimizer} {f}: final weights equal the uninterrupted C++ run's")
    # Mid-epoch: Lightning's own rule (it restarts the epoch's data, keeps global_step).
    cpp_train(d, "cpp_mid", 1, 3)
    for f in ("ck/epoch=0-step=3.ckpt",):
        src = os.path.join(d, "cpp_mid", f)
        py_train(d, "pymid_ref", 1, 3)
        t_c, m_c = py_train(d, "py_from_cpp_mid", 2, 0, ckpt=src)
        t_p, m_p = py_train(d, "py_from_py_mid", 2, 0, ckpt=os.path.join(d, "pymid_ref", f))
        check((t_c.current_epoch, t_c.global_step) == (t_p.current_epoch, t_p.global_step),
              f"mid-epoch {f}: Python resumes the C++ file at {t_c.current_epoch}/{t_c.global_step} as its own "
              f"({t_p.current_epoch}/{t_p.global_step})")
        check(weights_close(m_c.state_dict(), m_p.state_dict()), f"mid-epoch {f}: same final weights as from its own file")


def part_hparams(d):
    """load_from_checkpoint both ways with non-default hyperparameters."""
    x, _ = torch.load(os.path.join(d, "data.pt")).values()
    t, model = py_train(d, "py_h", 1, 0, optimizer="SGD")
    src = os.path.join(d, "py_h", "after.ckpt")
    r = cpp("load", src, os.path.join(d, "data.pt"), os.path.join(d, "cpp_y.pt"))
    check("hidden 16 lr 0.01 optimizer SGD" in r.stdout, f"C++ load_from_checkpoint(Lightning's file): {r.stdout.strip()}")
    model.eval()
    check(torch.allclose(torch.load(os.path.join(d, "cpp_y.pt"))["y"], model(x).detach(), atol=1e-6),
          "C++ outputs of Lightning's model equal Python's")
    cpp_train(d, "cpp_h", 1, 0, env={"INTEROP_SGD": "1"})
    m = LitModel.load_from_checkpoint(os.path.join(d, "cpp_h", "after.ckpt"))
    check(dict(m.hparams) == {"hidden": 16, "lr": 0.01, "optimizer": "SGD"}, f"Python load_from_checkpoint(C++ file): {dict(m.hparams)}")
    # Lightning's hyper_parameters with an unknown key and a wrong type: clear errors.
    ck = torch.load(src)
    ck["hyper_parameters"]["dropout"] = 0.5
    torch.save(ck, os.path.join(d, "unknown.ckpt"))
    r = cpp("load", os.path.join(d, "unknown.ckpt"), os.path.join(d, "data.pt"), os.path.join(d, "u.pt"))
    check(r.returncode == 0 and "dropout" in r.stderr, f"an unknown hyperparameter is reported: {r.stderr.strip()[:200]}")
    ck["hyper_parameters"]["hidden"] = "sixteen"
    torch.save(ck, os.path.join(d, "wrong.ckpt"))
    r = cpp("load", os.path.join(d, "wrong.ckpt"), os.path.join(d, "data.pt"), os.path.join(d, "w.pt"), expect_ok=False)
    check(r.returncode != 0 and "hidden" in r.stderr and "int" in r.stderr, f"a mistyped hyperparameter is refused: {r.stderr.strip()[:200]}")


def part_python_to_cpp(d):
    """C++ resumes Python Lightning runs."""
    for optimizer in ("Adam", "SGD"):
        env = {"INTEROP_SGD": "1"} if optimizer == "SGD" else {}
        py_train(d, f"py2_{optimizer}", 2, 0, optimizer=optimizer)
        py_train(d, f"py5_{optimizer}", 5, 0, optimizer=optimizer)
        for f in ("ck/last.ckpt", "after.ckpt"):
            src = os.path.join(d, f"py2_{optimizer}", f)
            name = f"cpp_from_py_{optimizer}_{f.replace('/', '_')}"
            r = cpp_train(d, name, 5, 0, ckpt=src, env=env)
            check("epoch 5 global_step 20" in r.stdout, f"{optimizer} {f}: C++ resumed to {r.stdout.strip()}")
            check("generator" in r.stderr, f"{optimizer} {f}: C++ warns that the RNG state does not carry over")
            ref = torch.load(os.path.join(d, f"py5_{optimizer}", "final.pt"))
            got = torch.load(os.path.join(d, name, "final.pt"))
            check(weights_close(got, ref), f"{optimizer} {f}: final weights equal the uninterrupted Python run's")
            after = torch.load(os.path.join(d, name, "after.ckpt"))
            pya = torch.load(os.path.join(d, f"py5_{optimizer}", "after.ckpt"))
            check(abs(after["lr_schedulers"][0]["_last_lr"][0] - pya["lr_schedulers"][0]["_last_lr"][0]) < 1e-12,
                  f"{optimizer} {f}: scheduler continued as Python's")
            cb = {k.split("{")[0]: v for k, v in after["callbacks"].items()}
            pcb = {k.split("{")[0]: v for k, v in pya["callbacks"].items()}
            check(abs(float(cb["EarlyStopping"]["best_score"]) - float(pcb["EarlyStopping"]["best_score"])) < 1e-5
                  and cb["EarlyStopping"]["wait_count"] == pcb["EarlyStopping"]["wait_count"],
                  f"{optimizer} {f}: EarlyStopping state continued")
            check(os.path.basename(cb["ModelCheckpoint"]["best_model_path"]) ==
                  os.path.basename(pcb["ModelCheckpoint"]["best_model_path"]),
                  f"{optimizer} {f}: ModelCheckpoint best path {cb['ModelCheckpoint']['best_model_path']}")
    # Mid-epoch Lightning checkpoint (after batch 2 of 4, step 3): C++ continues with the next
    # batch, as an uninterrupted run (Lightning itself would restart the loader and count the
    # interrupted batch twice: one step more).
    py_train(d, "pymid", 1, 3)
    py_train(d, "pyfull2", 2, 0)
    src = os.path.join(d, "pymid", "ck", "epoch=0-step=3.ckpt")
    r = cpp_train(d, "cppmid_resumed", 2, 0, ckpt=src)
    check("epoch 2 global_step 8" in r.stdout, f"mid-epoch Lightning file: C++ {r.stdout.strip()} (uninterrupted: epoch 2 global_step 8)")
    check(weights_close(torch.load(os.path.join(d, "cppmid_resumed", "final.pt")),
                        torch.load(os.path.join(d, "pyfull2", "final.pt"))),
          "mid-epoch Lightning file: final weights equal the uninterrupted Python run's")


def globals_of(path):
    """The Python globals a torch.save file's pickle names."""
    import pickletools
    import zipfile
    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    names, strings = set(), []
    for op, arg, _ in pickletools.genops(pkl):
        if op.name == "GLOBAL":
            names.add(arg.replace(" ", "."))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            names.add(".".join(strings[-2:]))
    return names


def part_weights_only(d):
    """The library's files are what torch.save writes: no LibTorch type tags; weights files pass
    torch.load(weights_only=True); a checkpoint loads with it exactly when Lightning's own does
    (torch 1.13's restricted unpickler refuses the floats any checkpoint has; torch >= 2 takes them)."""
    cpp_train(d, "cpp_w", 1, 0)
    py_train(d, "py_w", 1, 0)
    allowed = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2"}
    for f in ("final.pt", "after.ckpt", "ck/last.ckpt"):
        path = os.path.join(d, "cpp_w", f)
        extra = {g for g in globals_of(path) if g not in allowed and not g.endswith("Storage")}
        check(not extra, f"{f} names only the globals torch.save writes (extra: {sorted(extra)})")

        def outcome(p):
            try:
                torch.load(p, weights_only=True)
                return "loads"
            except Exception as e:  # noqa: BLE001
                return str(e).split("WeightsUnpickler error:")[-1].strip()[:120]
        mine, theirs = outcome(path), outcome(os.path.join(d, "py_w", f))
        if f.endswith(".pt"):
            check(mine == "loads", f"torch.load({f}, weights_only=True): {mine}")
        else:
            check(mine == theirs, f"torch.load({f}, weights_only=True): C++ file: {mine}; Lightning's: {theirs}")


def part_logs(d):
    """metrics.csv and hparams.yaml: read by Lightning's own readers, laid out as Lightning's."""
    from lightning.pytorch.core.saving import load_hparams_from_yaml
    import csv
    x, y = torch.load(os.path.join(d, "data.pt")).values()
    cpp_train(d, "cpp_logs", 2, 0)
    cpp_dir = os.path.join(d, "cpp_logs", "lightning_logs", "version_0")
    hp = load_hparams_from_yaml(os.path.join(cpp_dir, "hparams.yaml"))
    check(dict(hp) == {"hidden": 16, "lr": 0.01, "optimizer": "Adam"}, f"Lightning's load_hparams_from_yaml: {dict(hp)}")
    # The same run in Lightning, with its CSVLogger.
    model = LitModel(hidden=16, lr=0.01)
    model.load_state_dict(torch.load(os.path.join(d, "init.pt")))
    out = os.path.join(d, "py_logs")
    mc = L.pytorch.callbacks.ModelCheckpoint(dirpath=os.path.join(out, "ck"), monitor="val_loss", save_last=True)
    es = L.pytorch.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    t = L.Trainer(max_epochs=2, callbacks=[mc, es], logger=L.pytorch.loggers.CSVLogger(out), log_every_n_steps=2,
                  enable_progress_bar=False, enable_model_summary=False)
    t.fit(model, *loaders(x, y))
    py_dir = os.path.join(out, "lightning_logs", "version_0")

    def rows(path):
        with open(path, newline="") as f:
            r = csv.DictReader(f)
            return r.fieldnames, list(r)

    (cpp_keys, cpp_rows), (py_keys, py_rows) = rows(os.path.join(cpp_dir, "metrics.csv")), rows(os.path.join(py_dir, "metrics.csv"))
    check(cpp_keys == py_keys, f"metrics.csv columns: C++ {cpp_keys}, Lightning {py_keys}")
    shape = lambda rs: [(r["epoch"], r["step"], tuple(k for k in sorted(r) if r[k] != "")) for r in rs]
    check(shape(cpp_rows) == shape(py_rows), f"metrics.csv rows (epoch, step, keys): C++ {shape(cpp_rows)}, Lightning {shape(py_rows)}")
    for a, b in zip(cpp_rows, py_rows):
        for k in a:
            if a[k] and k not in ("epoch", "step"):
                check(abs(float(a[k]) - float(b[k])) < 1e-4, f"metrics.csv {k} at step {a['step']}: {a[k]} vs {b[k]}")


PARTS = {"logs": part_logs, "loops": part_loops, "cpp_to_python": part_cpp_to_python, "hparams": part_hparams,
         "python_to_cpp": part_python_to_cpp, "weights_only": part_weights_only}

if __name__ == "__main__":
    part, TOOL = sys.argv[1], os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="lightning_interop_") as d:
        make_data(d)
        PARTS[part](d)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
