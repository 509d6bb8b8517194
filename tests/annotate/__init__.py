"""Tests of the annotation window (xmem_tui.annotate)."""
