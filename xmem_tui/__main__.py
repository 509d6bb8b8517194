"""``python -m xmem_tui`` is the same as the ``xmem-tui`` command."""

import sys

from xmem_tui.cli import main

sys.exit(main())
