"""Propagation engines and the XMem inference core."""

from xmem_tui.inference.core import InferenceCore

__all__ = ["InferenceCore", "propagate"]


def __getattr__(name: str) -> object:
    # Lazy: the propagation loop pulls in media and workspace code that plain model users do not need.
    if name == "propagate":
        from xmem_tui.inference import propagate

        return propagate  # the submodule, callable as the function (see propagate._CallableModule)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
