"""Will the next install still work? Resolve the newest versions pyproject.toml allows and run the fast tests on them.

``requirements.lock`` fixes what a new user and CI install, so a new release of a dependency cannot break a
working install. This script looks ahead: it resolves the newest versions the ranges in ``pyproject.toml``
admit (``pip-compile --upgrade`` into a scratch file; the lock is not touched), prints where they differ from
the lock, installs them into a scratch virtual environment and runs the fast tests there (no Xvfb, tmux or slow
tests), so a coming break is seen before users hit it. When it passes, refresh the lock with the command in
README.md ("Dependencies").

Usage: python bench/check_upgrades.py [--no-tests] [--keep DIR] [-- PYTEST ARGS]
Needs network access to the package index (or the local wheel folders pip is configured with); takes a few
minutes, most of it installing torch into the scratch environment.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
FAST = "not slow and not x11 and not tmux"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    """Package name (normalised) -> pinned version, from a pip-compile output."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(argv), flush=True)
    return subprocess.run(argv, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def resolve_newest(venv: Path, out: Path) -> dict[str, str]:
    """Newest versions allowed by pyproject.toml (test extra included), as pip-compile resolves them."""
    if run([str(venv / "bin" / "pip"), "install", "-q", "pip-tools"]).returncode:
        sys.exit("could not install pip-tools into the scratch environment")
    done = run([str(venv / "bin" / "pip-compile"), "-q", "--upgrade", "--extra=test", "--strip-extras",
                "--no-emit-index-url", "--no-emit-find-links", f"--output-file={out}", str(REPO / "pyproject.toml")],
               cwd=REPO)
    if done.returncode:
        sys.exit("pip-compile could not resolve the newest allowed versions (see above)")
    return pins(out.read_text())


def print_table(locked: dict[str, str], newest: dict[str, str]) -> int:
    names = sorted(set(locked) | set(newest))
    changed = [n for n in names if locked.get(n) != newest.get(n)]
    width = max([len(n) for n in changed] + [7])
    print(f"\n| {'package':<{width}} | locked | newest allowed |")
    print(f"|{'-' * (width + 2)}|--------|----------------|")
    for name in changed:
        print(f"| {name:<{width}} | {locked.get(name, '-')} | {newest.get(name, '-')} |")
    if not changed:
        print(f"| {'(none)':<{width}} | | |")
    print(f"\n{len(changed)} of {len(names)} packages would change.")
    return len(changed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-tests", action="store_true", help="only resolve and list the differences")
    parser.add_argument("--keep", type=Path, help="make the scratch environment here and keep it")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="xmem-upgrades-")) if args.keep is None else args.keep
    venv = scratch / "venv"
    if run([sys.executable, "-m", "venv", str(venv)]).returncode:
        sys.exit(f"could not create a virtual environment in {venv}")
    newest_file = scratch / "newest.txt"
    newest = resolve_newest(venv, newest_file)
    changed = print_table(pins(LOCK.read_text()), newest)
    if args.no_tests:
        return 0
    start = time.monotonic()
    install = run([str(venv / "bin" / "pip"), "install", "-q", "-c", str(newest_file), "-e", f"{REPO}[test]"])
    if install.returncode:
        print("\n| step | result |\n|---|---|\n| install newest allowed | FAILED |")
        return 1
    installed_s = time.monotonic() - start
    tests = run([str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", FAST,
                 *args.pytest_args], cwd=REPO, capture_output=True)
    summary = (tests.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(tests.stdout[-4000:])
    print("| step | result |\n|---|---|")
    print(f"| packages differing from the lock | {changed} |")
    print(f"| install newest allowed | ok ({installed_s:.0f} s) |")
    print(f"| fast tests (-m '{FAST}') | {'PASSED' if tests.returncode == 0 else 'FAILED'}: {summary} |")
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
