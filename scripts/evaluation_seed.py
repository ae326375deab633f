#!/usr/bin/env python3
"""A scenario of examples/evaluation/ with its workloads drawn from other seeds, for scripts/evaluate.sh.
Usage: evaluation_seed.py SCENARIO.yaml K > COPY.yaml

Every `seed: N` becomes N + 100 K; the manifests folder and every `file:` are named by absolute path, so
that the copy runs from any folder. Text substitution keeps the scenario's own layout and comments."""
import os
import re
import sys


def reseeded(text, folder, k):
    def absolute(value):
        return value if os.path.isabs(value) else os.path.join(folder, value)

    text = re.sub(r"(?m)^(manifests:[ \t]*)(\S+)", lambda m: m.group(1) + absolute(m.group(2)), text)
    # `file:` as a key of its own, not the end of another (`profile:`).
    text = re.sub(r"(?<![\w-])(file:[ \t]*)([^\s,}]+)", lambda m: m.group(1) + absolute(m.group(2)), text)
    return re.sub(r"(?<![\w-])(seed:[ \t]*)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + 100 * k), text)


def main():
    path, k = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        text = f.read()
    sys.stdout.write(reseeded(text, os.path.dirname(os.path.abspath(path)), k))


if __name__ == "__main__":
    main()
