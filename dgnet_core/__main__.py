"""``python -m dgnet_core``: the engine's command line (see ``cli.py``)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
