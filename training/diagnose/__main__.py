"""``python -m training.diagnose CHECK [args]``: run one research check (see the package)."""

from __future__ import annotations

import importlib
import sys

CHECKS = {"rendered": "rendered", "conventions": "conventions",
          "generated-squats": "generated_squats", "floor-prior": "floor_prior",
          "motion-quality": "motion_quality", "turns": "turns", "views": "views",
          "hands": "hands", "hand-depth": "hand_depth", "face": "face"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in CHECKS:
        print(f"usage: python -m training.diagnose {{{','.join(CHECKS)}}} [args]",
              file=sys.stderr)
        return 2
    module = importlib.import_module(f"training.diagnose.{CHECKS[argv[0]]}")
    from dgnet_core.errors import one_line_errors

    return one_line_errors(lambda: module.main(argv[1:]), extra=(OSError,))


if __name__ == "__main__":
    sys.exit(main())
