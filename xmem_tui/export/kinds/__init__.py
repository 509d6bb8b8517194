"""Built-in export kinds, one module each (``SPEC``: an :class:`~xmem_tui.export.registry.ExportKind`).

Listed by :mod:`xmem_tui.plugins` on first use; a module here imports OpenCV and torch inside its
functions only, since the export dialog lists kinds before the dashboard's first paint.
"""
