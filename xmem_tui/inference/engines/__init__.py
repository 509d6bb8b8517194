"""Built-in propagation engines, one module each (``SPEC``: an :class:`~xmem_tui.inference.registry.EngineSpec`).

Listed by :mod:`xmem_tui.plugins` on first use; a module here must import torch and its network inside
its functions, since the dashboard lists engines before its first paint.
"""
