"""Subcommands of ``xmem-tui``: one module per command, discovered by :mod:`xmem_tui.cli`.

Module contract: ``NAME: str``, ``HELP: str``, ``register(parser: argparse.ArgumentParser) -> None``,
``run(args: argparse.Namespace, settings: Settings) -> int`` and optionally
``overrides(args) -> dict[str, object]`` (``{"section.key": value}`` from flags such as ``--device``).
Import torch, cv2, textual and watchdog inside ``run`` only.
"""
