#!/usr/bin/env python3
"""Checks that the documentation's references resolve in a clone.

* every relative link of every tracked Markdown file points at a file or
  directory of the repository, and its `#anchor`, if any, at a heading of
  the target (GitHub's anchor rules);
* every page a code comment cites (`docs/….md`, `ARCHITECTURE.md`,
  `BENCHMARKS.md`, `tests/README.md`, with an optional `#anchor`, and
  further `#anchor`s of the same page on that line) exists and has the
  heading;
* no Markdown file or Rust comment points at `spec/…` or `../shared/…`,
  which are not in the repository.

Run from anywhere inside the repository, by hand:

    python3 scripts/check-doc-links.py

Prints each dangling reference as `file:line: reason` and exits 1 if there
is any.
"""

import os
import re
import subprocess
import sys

ROOT = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                      check=True).stdout.strip()

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CITED = re.compile(r"\b((?:docs/[\w./-]+\.md)|ARCHITECTURE\.md|BENCHMARKS\.md|tests/README\.md)"
                   r"(#[\w-]+)?")
MORE_ANCHORS = re.compile(r"(?:^|[\s(])#([a-z0-9][a-z0-9-]*)\b")
OUTSIDE = re.compile(r"(?<![\w.])spec/|\.\./shared\b|/work/shared\b")


def tracked(*patterns):
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--",
                          *patterns], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if os.path.exists(os.path.join(ROOT, p))]


def slug(heading):
    """GitHub's anchor for a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchors = {}


def anchors(path):
    """The anchors of a Markdown file's headings (fenced code skipped)."""
    if path not in _anchors:
        found, seen, fenced = set(), {}, False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    fenced = not fenced
                    continue
                m = re.match(r"#{1,6}\s+(.*)", line)
                if m and not fenced:
                    base = slug(m.group(1))
                    n = seen.get(base, 0)
                    seen[base] = n + 1
                    found.add(base if n == 0 else f"{base}-{n}")
        _anchors[path] = found
    return _anchors[path]


def check_target(target, anchor, where, problems):
    if not os.path.exists(target):
        problems.append(f"{where}: {os.path.relpath(target, ROOT)} does not exist")
    elif anchor and target.endswith(".md") and anchor not in anchors(target):
        problems.append(f"{where}: no heading #{anchor} in {os.path.relpath(target, ROOT)}")


def check_markdown(path, problems):
    fenced = False
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            where = f"{path}:{number}"
            if line.startswith("```"):
                fenced = not fenced
                continue
            if OUTSIDE.search(line):
                problems.append(f"{where}: points outside the repository: {line.strip()}")
            if fenced:
                continue
            for link in LINK.findall(line):
                if re.match(r"[a-z]+:", link):
                    continue
                file, _, anchor = link.partition("#")
                base = os.path.dirname(os.path.join(ROOT, path))
                target = os.path.normpath(os.path.join(base, file)) if file else \
                    os.path.join(ROOT, path)
                check_target(target, anchor, where, problems)


def check_code(path, problems):
    cited = None
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            comment = line.split("//", 1)[1] if "//" in line else None
            if comment is None:
                continue
            where = f"{path}:{number}"
            if OUTSIDE.search(comment):
                problems.append(f"{where}: points outside the repository: {line.strip()}")
            matches = list(CITED.finditer(comment))
            for m in matches:
                cited = os.path.join(ROOT, m.group(1))
                check_target(cited, (m.group(2) or "#")[1:], where, problems)
            if cited and re.search(r"#[a-z0-9-]+ there\b", comment):
                rest = CITED.sub("", comment)
                for anchor in MORE_ANCHORS.findall(rest):
                    check_target(cited, anchor, where, problems)


def main():
    problems = []
    for path in tracked("*.md"):
        if not path.startswith("target/"):
            check_markdown(path, problems)
    for path in tracked("src/*.rs", "tests/*.rs", "benches/*.rs", "examples/*.rs"):
        check_code(path, problems)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
