"""Command-line entry point: ``xmem-tui [--config F] [--debug] COMMAND ...``.

Each subcommand lives in its own module under :mod:`xmem_tui.commands` and is discovered there, so
commands can be added without touching this file. A command module defines ``NAME``, ``HELP``,
``register(parser)`` (add its arguments) and ``run(args, settings) -> int``; it must import heavy
libraries (torch, cv2, textual) inside ``run`` only, so ``xmem-tui --help`` and the dashboard's first
paint stay fast. With no command, the dashboard opens.

A command module may set ``EXIT_AT_ONCE = True``: when it succeeds as the program itself (``main()``
without ``argv``, i.e. the ``xmem-tui`` script or ``python -m xmem_tui``), the process then ends at once
(:func:`exit_at_once`) instead of tearing down torch and Qt, which takes a second or two and keeps a
closed annotation window's process (and the terminal) waiting for nothing.

Exit codes: 0 success, 1 a command-specific failure (e.g. a self-check failed), 2 a user error (bad
input or configuration, a full disk; one line on stderr), 3 an unexpected internal error, 130 interrupted,
141 the reader of the output went away (``xmem-tui info V | head -1``: quietly, as any program killed by
SIGPIPE).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from xmem_tui import __version__, commands
from xmem_tui.config import Settings, find_config, load_settings
from xmem_tui.errors import UserError

log = logging.getLogger("xmem_tui")

#: OS errors caused by the machine, not by xmem-tui: reported in one line like a user error.
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES})
#: Exit status when the output's reader closed it (128 + SIGPIPE, what a shell reports for such a program).
EXIT_BROKEN_PIPE = 141


def command_modules() -> dict[str, ModuleType]:
    """Every module in :mod:`xmem_tui.commands`, keyed by its command name."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found[module.NAME] = module
    return found


def build_parser(modules: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmem-tui", description="Cut people and objects out of video with XMem, from the terminal.")
    parser.add_argument("--version", action="version", version=f"xmem-tui {__version__}")
    parser.add_argument("--config", type=Path, default=None,
                        help="config.toml to use (default: ./config.toml or $XMEM_TUI_CONFIG)")
    parser.add_argument("--debug", action="store_true", help="verbose logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in modules.items():
        module.register(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def settings_for(args: argparse.Namespace, overrides: dict[str, object] | None = None) -> Settings:
    """Settings from --config (or the discovered config.toml) plus command-specific overrides."""
    config = args.config if args.config is not None else find_config()
    return load_settings(config, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    modules = command_modules()
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    command = args.command or "tui"
    if command not in modules:
        parser.error(f"unknown command {command!r}")
    if args.command is None:
        args = parser.parse_args([*(argv or sys.argv[1:]), command])
    module = modules[command]
    try:
        overrides = module.overrides(args) if hasattr(module, "overrides") else None
        code = int(module.run(args, settings_for(args, overrides)) or 0)
        if argv is None and getattr(module, "EXIT_AT_ONCE", False):
            exit_at_once(code)
        return code
    except UserError as exc:
        if args.debug:
            raise
        print(f"xmem-tui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xmem-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_closed_pipes()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:  # a full disk is no bug: no traceback
            where = f": {exc.filename}" if exc.filename else ""
            print(f"xmem-tui: error: {exc.strerror}{where}; free some space (or fix the permissions) and run the "
                  "command again: everything saved before is kept.", file=sys.stderr)
            return UserError.exit_code
        log.exception("internal error")
        print(f"xmem-tui: internal error: {exc!r} (rerun with --debug for details)", file=sys.stderr)
        return 3


def _silence_closed_pipes() -> None:
    """Point the process's real stdout/stderr at /dev/null, so the interpreter's final flush of what is
    still buffered for a closed pipe raises nothing (a stream replaced by a caller, as in tests, is left)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.__stdout__, sys.__stderr__):
            if stream is not None and stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def exit_at_once(code: int) -> None:
    """End the process now: flush output and logs, skip the interpreter's teardown of native libraries.

    Only for commands whose work is all on disk when they return (every save is atomic and fsynced).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
