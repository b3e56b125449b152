#!/usr/bin/env python3
"""Lists functions in C++ files longer than a limit (default 60 lines,
from the line of the opening brace to the closing one). A rough parser:
comments and literals are skipped, and a brace at class or namespace scope
opens a function when what precedes it ends like a signature.

    scripts/long_functions.py [--limit N] FILE_OR_DIR...
Exit status 1 when there is one."""
import os
import re
import sys


def strip(src):
    """The source with comments and string/char literals blanked (lines kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in src[i:j]))
            i = j
        elif c == 'R' and src.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', src[i:])
            end = src.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append("".join(ch if ch == "\n" else " " for ch in src[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


SCOPE = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def functions(path, limit):
    src = strip(open(path, encoding="utf-8", errors="replace").read())
    stack, found, start = [], [], 0  # stack of (kind, line, name)
    line = 1
    for i, c in enumerate(src):
        if c == "\n":
            line += 1
        elif c in "{};":
            if c == "{":
                head = src[start:i].strip()
                in_function = any(k == "function" for k, _, _ in stack)
                kind = "block"
                signature = re.sub(r"^\s*template\s*<.*?>\s*(requires[^\n]*\n)?", "", head, flags=re.S)
                if not in_function and head and not SCOPE.search(signature.split("(")[0]) and \
                        re.search(r"\)\s*(const|noexcept|override|final|mutable|&|&&|->[^{]*|requires[^{]*|\s)*$", head):
                    kind = "function"
                m = re.search(r"([~\w:<>]+)\s*\(", head)
                stack.append((kind, line, m.group(1) if m else head[-40:]))
            elif c == "}" and stack:
                kind, begin, name = stack.pop()
                if kind == "function" and line - begin + 1 > limit:
                    found.append((path, begin, line - begin + 1, name))
            start = i + 1
    return found


def main():
    args, limit = sys.argv[1:], 60
    if args[:1] == ["--limit"]:
        limit, args = int(args[1]), args[2:]
    paths = []
    for a in args:
        if os.path.isdir(a):
            for root, _, files in os.walk(a):
                paths += [os.path.join(root, f) for f in files if f.endswith((".hpp", ".cpp", ".h"))]
        else:
            paths.append(a)
    found = [f for p in sorted(paths) for f in functions(p, limit)]
    for path, begin, length, name in found:
        print(f"{path}:{begin}: {name}: {length} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
