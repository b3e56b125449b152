#!/usr/bin/env python3
"""Turns every ```cpp block of README.md into one C++ file that must compile.

Each block is preceded by a marker saying what it is:
  <!-- snippet: program -->   a whole program, compiled as a file of its own
                              (after the prelude's includes)
  <!-- snippet: excerpt examples/x.cpp -->  lines of a file the build compiles:
                              each code line must appear in it, in order
  <!-- snippet: decl -->      declarations at namespace scope
  <!-- snippet: body -->      statements, run where `model` (LitClassifier),
                              `data` (fashion_mnist::DataModule), `train`, `val`,
                              `sample` and a default `trainer` exist
  <!-- snippet: members -->   alternative member definitions of a module, one
                              per blank-line-separated chunk
  <!-- snippet: signature -->  a signature written with "...": not code, skipped
A block without a marker is an error, so a new snippet cannot go unchecked.
Other blocks land in one file, each in a namespace of its own; their
#include lines are hoisted.
Blocks including <lightning/ddp.hpp> or <lightning/export/onnx.hpp> are kept
under LIGHTNING_SNIPPETS_DDP / LIGHTNING_SNIPPETS_ONNX.

  snippets.py README.md OUT_DIR    (writes OUT_DIR/snippets.cpp, OUT_DIR/program_N.cpp)
"""
import os
import re
import sys

MARK = re.compile(r"<!--\s*snippet:\s*(\w+)(?:\s+(\S+))?\s*-->\s*\n```cpp\n(.*?)```", re.S)
ANY_BLOCK = re.compile(r"```cpp\n", re.S)

PRELUDE = """// Generated from README.md by tests/readme/snippets.py: do not edit.
#include <lightning/lightning.hpp>

#include <cstdio>
#include <iostream>

#include "fashion_mnist.hpp"
#include "lit_classifier.hpp"
"""


# A program defines its own module: only the example's data module comes with it.
PROGRAM_PRELUDE = """// Generated from README.md by tests/readme/snippets.py: do not edit.
#include <lightning/lightning.hpp>

#include "fashion_mnist.hpp"
"""


def guard_for(includes):
    if any("lightning/ddp.hpp" in i for i in includes):
        return "LIGHTNING_SNIPPETS_DDP"
    if any("lightning/export/onnx.hpp" in i for i in includes):
        return "LIGHTNING_SNIPPETS_ONNX"
    return None


def main():
    readme, out_dir = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.abspath(readme))
    text = open(readme, encoding="utf-8").read()
    marked = MARK.findall(text)
    total = len(ANY_BLOCK.findall(text))
    if len(marked) != total:
        # Name the unmarked blocks by line.
        starts = {m.start(3) for m in MARK.finditer(text)}
        lines = [text.count("\n", 0, m.end()) + 1 for m in ANY_BLOCK.finditer(text) if m.end() not in starts]
        sys.exit(f"{readme}: {total - len(marked)} ```cpp block(s) without a <!-- snippet: ... --> marker, "
                 f"at line(s) {lines}")
    parts = [PRELUDE]
    programs = 0
    for n, (kind, arg, code) in enumerate(marked):
        if kind == "signature":
            continue
        if kind == "excerpt":
            check_excerpt(root, arg, code, readme)
            continue
        if kind == "program":
            with open(os.path.join(out_dir, f"program_{n}.cpp"), "w", encoding="utf-8") as f:
                f.write(PROGRAM_PRELUDE + "\n" + code)
            programs += 1
            continue
        includes = [l for l in code.splitlines() if l.startswith("#include")]
        body = "\n".join(l for l in code.splitlines() if not l.startswith("#include"))
        guard = guard_for(includes)
        chunk = []
        if guard:
            chunk.append(f"#if {guard}")
        chunk += includes
        chunk.append(f"namespace readme_snippet_{n} {{\nnamespace L = lightning;\nusing namespace lightning;")
        if kind == "decl":
            chunk.append(body)
        elif kind == "body":
            chunk.append("""[[maybe_unused]] void run() {
  LitClassifier model;
  fashion_mnist::DataModule data({.batch_size = 64});
  auto train = data.train_dataloader();
  auto val = data.val_dataloader();
  torch::Tensor sample = torch::zeros({1, 784});
  L::Trainer<LitClassifier> trainer;
  {
""" + body + """
  }
}""")
        elif kind == "members":
            for i, alt in enumerate(a for a in re.split(r"\n\s*\n", body) if a.strip()):
                chunk.append(f"""struct Module{i} : L::LightningModule<Module{i}> {{
  torch::nn::Linear generator{{nullptr}}, discriminator{{nullptr}};
  torch::Tensor training_step(const L::Batch& b, int64_t) {{ return b.data.sum(); }}
{alt}
}};""")
        else:
            sys.exit(f"{readme}: unknown snippet kind '{kind}' (program, decl, body, members, signature)")
        chunk.append(f"}}  // namespace readme_snippet_{n}")
        if guard:
            chunk.append(f"#endif  // {guard}")
        parts.append("\n".join(chunk))
    with open(os.path.join(out_dir, "snippets.cpp"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts) + "\n")
    print(f"{len(marked)} snippets: {programs} programs, {len(parts) - 1} in snippets.cpp, "
          f"{sum(1 for k, _, _ in marked if k == 'excerpt')} excerpts checked, "
          f"{sum(1 for k, _, _ in marked if k == 'signature')} signatures")


def check_excerpt(root, path, code, readme):
    """Every code line of the excerpt is a line of `path`, in order (comments and blank lines aside)."""
    if not path:
        sys.exit(f"{readme}: an excerpt marker needs the file it comes from")
    lines = [l.strip() for l in open(os.path.join(root, path), encoding="utf-8")]
    at = 0
    for want in (l.strip() for l in code.splitlines()):
        if not want or want.startswith("//"):
            continue
        while at < len(lines) and lines[at] != want:
            at += 1
        if at == len(lines):
            sys.exit(f"{readme}: the excerpt of {path} has a line the file lacks (or out of order): {want}")
        at += 1


if __name__ == "__main__":
    main()
