"""Shared pytest fixtures: paths to the repository and to the optional shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (research data, not shipped with the project)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def h36m_dir() -> Path:
    """../shared/data/h36m; skips when absent."""
    return _require(SHARED_DATA / "h36m")


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    """../shared/data/videos; skips when absent."""
    return _require(SHARED_DATA / "videos")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch on one thread for a module, then restore the previous setting."""
    torch = pytest.importorskip("torch")
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
