"""Run a test's helper script in a fresh interpreter and read the JSON it reports.

Tests that need isolated global state (bpy, an installed extension, another Python) start
a subprocess that prints one line ``RESULT <json>``; this is the one place that runs it,
checks it succeeded, and decodes that line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def run_result_script(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: int,
                      tail: int = 3000) -> dict:
    """Run ``cmd``; assert exit 0 and a ``RESULT `` line; return the last one's JSON."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-tail:] + proc.stderr[-tail:]
    return json.loads(lines[-1][len("RESULT "):])
