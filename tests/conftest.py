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
