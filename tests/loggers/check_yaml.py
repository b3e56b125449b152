#!/usr/bin/python3
"""Checks that a hparams.yaml is exactly what PyYAML's `yaml.dump` (as
Lightning's save_hparams_to_yaml calls it) writes for the mapping it holds.

Prints `repr()` of the loaded mapping; exits 0 when the file equals
`yaml.dump(yaml.safe_load(file))`, 1 (diff on stderr) when not, 2 when PyYAML
is not installed (Debian: python3-yaml).
Usage: check_yaml.py HPARAMS_YAML
"""
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("check_yaml: PyYAML is not installed (python3-yaml)\n")
    sys.exit(2)


def main():
    with open(sys.argv[1], encoding="utf-8", newline="") as f:
        text = f.read()
    data = yaml.safe_load(text)
    print(repr(sorted(data.items())))
    expected = yaml.dump(data)
    if text != expected:
        sys.stderr.write("check_yaml: file differs from yaml.dump of its content\n--- file\n%r\n--- yaml.dump\n%r\n"
                         % (text, expected))
        sys.exit(1)


if __name__ == "__main__":
    main()
