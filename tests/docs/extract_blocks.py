#!/usr/bin/env python3
"""extract_blocks.py PAGE OUTDIR: the shell blocks of a documentation page, for docs_commands_test.sh.

Convention (docs/developer-guide/development.md, "Commands in the documentation"): every fenced block
whose language is bash, sh, shell or console is preceded, on the line right above its opening fence, by
one marker comment:

  <!-- test: run [exit=N] [expect="TEXT"]... -->   the test runs it; exit status N (default 0), and its
                                                   output (stdout + stderr) contains each TEXT
  <!-- test: cluster -->                           needs a Kubernetes cluster or a container engine
                                                   (kubectl apply, helm install, kind, docker build)
  <!-- test: ci -->                                what CI itself runs (.ci/run: scripts/test.sh builds
                                                   everything and runs every test): make build, make test
  <!-- test: elsewhere CTEST_NAME -->              run by that ctest test (e.g. the demo)

Writes OUTDIR/NNN.sh (the block), OUTDIR/NNN.exit, OUTDIR/NNN.expect (one TEXT a line), OUTDIR/NNN.line,
and OUTDIR/elsewhere (one ctest name a line). Prints one "PAGE:LINE: message" line per problem on stderr
and exits 1 when there is any: a shell block without a marker, a marker not followed by a shell block,
an unknown marker, a block that is not closed.
"""
import os
import re
import shlex
import sys

SHELL_LANGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"^\s*<!--\s*test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([A-Za-z0-9_+-]*)")


def main():
    if len(sys.argv) != 3:
        print("usage: extract_blocks.py PAGE OUTDIR", file=sys.stderr)
        return 2
    page, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    with open(page, encoding="utf-8") as f:
        lines = f.read().splitlines()
    problems = []
    elsewhere = []
    count = 0
    pending = None  # (line number, marker text) of a marker waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            if pending:
                problems.append(f"{page}:{pending[0]}: marker not followed by a shell block")
            pending = (i + 1, m.group(1))
            i += 1
            continue
        f = FENCE.match(line)
        if not f:
            if pending and line.strip():
                problems.append(f"{page}:{pending[0]}: marker not followed by a shell block")
                pending = None
            i += 1
            continue
        fence, lang = f.group(2), f.group(3).lower()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            problems.append(f"{page}:{start}: block not closed")
            break
        i += 1
        if lang not in SHELL_LANGS:
            if pending:
                problems.append(f"{page}:{pending[0]}: marker not followed by a shell block (a {lang or 'plain'} block)")
                pending = None
            continue
        if not pending:
            problems.append(f"{page}:{start}: {lang} block without a <!-- test: run|cluster|ci|elsewhere NAME --> marker")
            continue
        marker_line, marker = pending
        pending = None
        try:
            words = shlex.split(marker)
        except ValueError as e:
            problems.append(f"{page}:{marker_line}: cannot parse marker: {e}")
            continue
        kind = words[0] if words else ""
        if kind in ("cluster", "ci") and len(words) == 1:
            continue
        if kind == "elsewhere" and len(words) == 2:
            elsewhere.append(words[1])
            continue
        if kind != "run":
            problems.append(f"{page}:{marker_line}: unknown marker \"{marker}\" (run, cluster, ci or elsewhere NAME)")
            continue
        exit_code, expects, bad = "0", [], False
        for w in words[1:]:
            if w.startswith("exit=") and w[5:].isdigit():
                exit_code = w[5:]
            elif w.startswith("expect=") and len(w) > 7:
                expects.append(w[7:])
            else:
                problems.append(f"{page}:{marker_line}: unknown marker argument \"{w}\" (exit=N, expect=\"TEXT\")")
                bad = True
        if bad:
            continue
        count += 1
        base = os.path.join(outdir, f"{count:03d}")
        with open(base + ".sh", "w", encoding="utf-8") as out:
            out.write("\n".join(body) + "\n")
        with open(base + ".exit", "w") as out:
            out.write(exit_code + "\n")
        with open(base + ".expect", "w", encoding="utf-8") as out:
            out.write("".join(e + "\n" for e in expects))
        with open(base + ".line", "w") as out:
            out.write(f"{start}\n")
    if pending:
        problems.append(f"{page}:{pending[0]}: marker not followed by a shell block")
    with open(os.path.join(outdir, "elsewhere"), "w") as out:
        out.write("".join(e + "\n" for e in elsewhere))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
