"""Runs the Playwright browser test (demo.test.mjs) against the embedded demo."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from edgecar_server import Apps  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
from shared_data import DATA  # noqa: E402  (the suite runs only where it exists: tests/CMakeLists.txt)

OUT = os.path.abspath(os.environ.get("BROWSER_OUT_DIR", "browser-output"))


def run_node(port, mode):
    env = dict(os.environ, DEMO_URL=f"http://127.0.0.1:{port}/", DATA_DIR=DATA, OUT_DIR=OUT)
    r = subprocess.run(
        ["node", os.path.join(HERE, "demo.test.mjs"), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_page_in_chromium(tmp_path):
    apps = Apps(
        tmp_path,
        ["web", "grayscale", "classify", "events"],
        env={"EDGECAR_STATE_FILE": str(tmp_path / "state.sqlite")},
    )
    try:
        assert "ok" in run_node(apps.port, "full")
    finally:
        apps.stop()
    for shot in ["grayscale.png", "classify.png", "corrupt-upload.png"]:
        assert os.path.getsize(os.path.join(OUT, shot)) > 10000


def test_page_when_classify_is_down(tmp_path):
    apps = Apps(tmp_path, ["web", "grayscale", "events"])
    try:
        assert "ok" in run_node(apps.port, "classify-down")
    finally:
        apps.stop()
