"""Shared fixtures. Known-answer networks live in ``tests/known_answers.py``."""

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture
def tmp_json(tmp_path):
    def make(name: str, text: str):
        p = tmp_path / name
        p.write_text(text)
        return p

    return make


@pytest.fixture
def net(tmp_path):
    """A two-input relu-net/1 file (tests/cli_checks.py); a test module's own ``net`` fixture overrides it."""
    from tests.cli_checks import SMALL_NET

    path = tmp_path / "net.json"
    path.write_text(SMALL_NET)
    return path
