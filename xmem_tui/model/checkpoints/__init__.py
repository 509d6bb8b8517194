"""Built-in checkpoint files, one module each (``SPEC``: a :class:`~xmem_tui.model.registry.CheckpointSpec`)."""
