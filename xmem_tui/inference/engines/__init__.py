"""Built-in propagation engines, one module each (``SPEC``: an :class:`~xmem_tui.inference.registry.EngineSpec`).

Listed by :mod:`xmem_tui.plugins` on first use; a module here must import numpy, torch and its network
inside its functions, since ``xmem-tui --help`` and the dashboard list engines before anything else.
"""
