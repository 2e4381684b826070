"""The shared test data beside the repository (models, labels, images): where it is, and
a clear skip (or, under CI, a failure) for a test that needs it when it is missing."""

import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.abspath(
    os.environ.get("DATA_DIR")
    or os.path.join(
        os.environ.get("EDGECAR_SHARED_DIR", os.path.join(ROOT, "..", "shared")), "data"
    )
)


def require(*parts):
    """The path DATA/parts, or a skip naming what is missing (a failure when CI=true)."""
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        why = (
            f"needs {path}, which is missing (shared test data; set EDGECAR_SHARED_DIR or DATA_DIR)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + why)
        pytest.skip(why)
    return path
