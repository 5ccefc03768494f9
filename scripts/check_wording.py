"""Docs, configs, code and tests describe SigWeb as it is, not the order the work was done in.

    python scripts/check_wording.py [PATH ...]

Fails (exit status 1, one ``path:line: text`` per finding) on numbered work periods
("session" followed by a number), run letters (a run or runs named by a letter A-I, also
in file names), and remarks about the machines a piece of work was given. History belongs
in the model card's dated history table; a benchmark still states the hardware it ran on.
Without arguments it checks every file git tracks, except data (JSON results, images) and
vendored code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RULES = [
    ("numbered work period", re.compile(r"\bsessions?[- _]?\d", re.IGNORECASE)),
    ("work period", re.compile(r"\b(this|that|last|next|previous|earlier|later|same) session\b", re.IGNORECASE)),
    ("run letter", re.compile(r"\b[Rr]uns?[ _-](?:[A-I]\d?|[A-I](?: ?(?:,|and|to|-) ?[A-I]\d?)+)\b")),
    ("run letter in a file name", re.compile(r"(?:\b|_)runs?_[a-i]\d?(?:_[a-i]\d?)*\b")),
    # character classes keep this file itself out of a plain `git grep` for the same words
    ("remark about the machines", re.compile(r"\bl[e]nt\b|\bthis[ ]task\b", re.IGNORECASE)),
]

TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".ini", ".cfg", ".sh", ".html", ".js", ".css", ""}
SKIP_PARTS = ("static/vendor/",)


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def wanted(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix() if path.is_absolute() else path.as_posix()
    if any(part in rel for part in SKIP_PARTS):
        return False
    return path.suffix in TEXT_SUFFIXES or path.name.endswith(("Dockerfile", ".dockerignore"))


def findings(text: str) -> list[tuple[int, str, str]]:
    """(line number, rule, line) for every line of ``text`` that breaks a rule."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        for name, pattern in RULES:
            if pattern.search(line):
                out.append((n, name, line.strip()))
                break
    return out


def check(paths: list[Path]) -> list[str]:
    report = []
    for path in paths:
        if not path.is_file() or not wanted(path):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        shown = path.relative_to(ROOT) if path.is_absolute() and path.is_relative_to(ROOT) else path
        report += [f"{shown}:{n}: {name}: {line}" for n, name, line in findings(text)]
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a).resolve() for a in args] if args else tracked_files()
    report = check(paths)
    for line in report:
        print(line)
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
