"""Safe checkpoint loading shared by every network (XMem, S2M, f-BRS).

Checkpoints are opened with ``torch.load(weights_only=True)`` so a file that would execute code on
unpickling is refused instead of run. Every failure a user can cause (missing file, truncated or foreign
file, another model's weights) becomes a :class:`~xmem_tui.errors.CheckpointError` whose one-line message
names the file and the fix.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import torch
from torch import Tensor, nn

from xmem_tui.errors import CheckpointError

logger = logging.getLogger(__name__)

StateSource = str | PathLike[str] | Mapping[str, Tensor]

_SHOW = 5  # how many offending keys a message lists


def describe_source(source: StateSource) -> str:
    return "checkpoint dict" if isinstance(source, Mapping) else f"checkpoint {Path(source)}"


def strip_prefix(state: Mapping[str, Tensor], prefix: str = "module.") -> dict[str, Tensor]:
    """Drop a DataParallel/DistributedDataParallel ``module.`` prefix when every key carries it."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


def _unwrap(obj: object, where: str) -> dict[str, Tensor]:
    """Accept a flat ``{key: tensor}`` or one nested under ``state_dict`` / ``model``."""
    if isinstance(obj, Mapping) and not all(isinstance(v, Tensor) for v in obj.values()):
        for inner in ("state_dict", "model"):
            if isinstance(obj.get(inner), Mapping):
                obj = obj[inner]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"{where} holds no state dict (got {type(obj).__name__}); "
                              "re-download it with `xmem-tui models download`")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(f"{where} is not a flat state dict (entry {bad[0]!r} is not a tensor); "
                              "re-download it with `xmem-tui models download`")
    return dict(obj)


def _corrupt(where: str, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{where} is truncated or not a PyTorch checkpoint ({exc.__class__.__name__}); "
                           "re-download it with `xmem-tui models download`")


def _names_code(exc: pickle.UnpicklingError) -> bool:
    """Whether ``weights_only`` refused a pickled global/function/class (code), not merely garbage bytes.

    torch words both the same way up to ``WeightsUnpickler error:``; a text file (say, an HTML error page
    saved as XMem.pth) fails there with "Unsupported operand", and must be called damaged, not malicious.
    """
    text = str(exc)
    detail = text.partition("WeightsUnpickler error:")[2].lower()
    return "weights only" in text.lower() and any(word in detail for word in ("global", "function", "class"))


def load_state_dict(source: StateSource, map_location: str | torch.device = "cpu") -> dict[str, Tensor]:
    """Read a state dict safely and strip a ``module.`` prefix.

    Args:
        source: path of a ``.pth`` file, or an already loaded ``{key: tensor}`` mapping.
        map_location: device the tensors are loaded onto.

    Raises:
        CheckpointError: the file is missing, unreadable, truncated, not a PyTorch checkpoint, or contains
            pickled objects other than tensors (which ``weights_only`` refuses because they could run code).
    """
    where = describe_source(source)
    if isinstance(source, Mapping):
        return strip_prefix(_unwrap(source, where))
    path = Path(source)
    if not path.is_file():
        raise CheckpointError(f"{where} not found; run `xmem-tui models download` (or fix the path)")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if _names_code(exc):
            raise CheckpointError(f"{where} was refused: it contains pickled objects that could run code, "
                                  "not just weights; use the official file from `xmem-tui models download`"
                                  ) from exc
        raise _corrupt(where, exc) from exc
    except Exception as exc:  # torch.load raises many types for foreign or damaged files
        raise _corrupt(where, exc) from exc
    logger.debug("loaded %s", where)
    return strip_prefix(_unwrap(obj, where))


def _listing(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


def load_strict(model: nn.Module, state: Mapping[str, Tensor], where: str, model_name: str) -> None:
    """Load ``state`` into ``model`` requiring identical keys and shapes, with a readable error."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected {_listing(unexpected)}")
        raise CheckpointError(f"{where} is not a {model_name} checkpoint ({'; '.join(parts)}); "
                              f"select the right file or run `xmem-tui models download`")
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise CheckpointError(f"{where} does not fit {model_name} (shape {_listing(wrong)}); "
                              "select the right file or run `xmem-tui models download`")
    model.load_state_dict(state, strict=True)
