"""xmem-tui: keyboard-driven video matting with XMem in the terminal."""

__version__ = "0.1.0"
