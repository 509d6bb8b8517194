"""Built-in job kinds, one module each (``SPEC``: a :class:`~xmem_tui.jobs.runners.JobKind`)."""
