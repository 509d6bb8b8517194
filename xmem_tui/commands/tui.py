"""``xmem-tui`` / ``xmem-tui tui``: the dashboard for the project in the current folder."""

from __future__ import annotations

import argparse

from xmem_tui.config import Settings

NAME = "tui"
HELP = "open the dashboard (the default command)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(_tui=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.tui.app import make_app

    app = make_app(settings)
    goodbye = app.run()
    if goodbye:
        print(goodbye)
    return app.return_code or 0
