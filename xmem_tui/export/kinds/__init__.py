"""Built-in export kinds, one module each (``SPEC``: an :class:`~xmem_tui.export.registry.ExportKind`).

Listed by :mod:`xmem_tui.plugins` on first use; a module here imports numpy, OpenCV and torch inside its
functions only, since ``xmem-tui --help`` and the export dialog list kinds before anything else.
"""
