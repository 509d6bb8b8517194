"""``xmem-tui`` / ``xmem-tui tui``: the dashboard for the project in the current folder."""

from __future__ import annotations

import argparse
import os

from xmem_tui.config import Settings

NAME = "tui"
HELP = "open the dashboard (the default command)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(_tui=True)


def prepare_terminal(graphics: str) -> None:
    """What must happen before the app takes the terminal over, for the preview mode ``graphics``.

    ``textual-image`` asks the terminal for its cell size when it is imported, which only works before
    Textual reads stdin; and 24-bit preview colours need Textual's colour system to be 24-bit even where
    the environment does not say so (``graphics`` forced in config.toml).
    """
    if graphics in ("kitty", "sixel", "truecolor"):
        os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "truecolor")
    if graphics in ("kitty", "sixel"):
        import textual_image.widget  # noqa: F401  (the import is the point: it queries the terminal now)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.tui.graphics import detect_graphics

    graphics = detect_graphics(os.environ, settings.tui.graphics)
    prepare_terminal(graphics)
    from xmem_tui.tui.app import make_app

    app = make_app(settings, graphics=graphics)
    goodbye = app.run()
    if goodbye:
        print(goodbye)
    return app.return_code or 0
