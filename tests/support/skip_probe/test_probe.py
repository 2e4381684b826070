"""A suite with one passing and one skipping test, run by check_skip_reporting.py."""

import pytest


def test_passes():
    assert 1 + 1 == 2


def test_skips():
    pytest.skip("the probe's skip")
