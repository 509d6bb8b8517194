"""``xmem-tui init [DIR]``: make a project folder (config.toml with every default, source/, models/).

``models/`` is made too, so a machine without network has an obvious place to copy the checkpoints into.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from xmem_tui.config import CONFIG_NAME, Settings

NAME = "init"
HELP = "make a project folder: config.toml with every default (commented), source/ and models/"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, nargs="?", default=Path("."), help="project folder (default: here)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from xmem_tui.config import default_config_toml, load_settings
    from xmem_tui.model.registry import checkpoints

    root = Path(args.dir).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_NAME
    if config.exists():
        print(f"{config} exists; left as it is")
    else:
        config.write_text(default_config_toml(), encoding="utf-8")
        print(f"wrote {config}")
    project = load_settings(config)
    project.source_dir.mkdir(parents=True, exist_ok=True)
    project.models_dir.mkdir(parents=True, exist_ok=True)
    print(f"put videos or image folders in {project.source_dir}, then run xmem-tui in {root}")
    print(f"checkpoints: `xmem-tui models download`, or copy {', '.join(checkpoints())} into "
          f"{project.models_dir}/ (without them the weight-free engine is used)")
    return 0
