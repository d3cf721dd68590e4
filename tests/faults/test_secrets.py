"""Secrets never reach what Dagster stores or shows: the repository snapshot, our descriptions."""

from __future__ import annotations

import base64
import importlib

import pytest

SECRET = "SUPERSECRET-private-key-0123456789"


@pytest.fixture
def gcp_environment(monkeypatch: pytest.MonkeyPatch) -> str:
    encoded = base64.b64encode(f'{{"private_key": "{SECRET}"}}'.encode()).decode()
    monkeypatch.setenv("TWOTOWER_PROFILE", "gcp")
    monkeypatch.setenv("TWOTOWER_GCP_PROJECT", "proj")
    monkeypatch.setenv("TWOTOWER_BQ_DATASET", "mpd")
    monkeypatch.setenv("TWOTOWER_GCS_ROOT", "gs://bucket/twotower")
    monkeypatch.setenv("TWOTOWER_GCP_CREDENTIALS", encoded)
    return encoded


def test_credentials_are_an_env_var_reference_not_a_value(
    gcp_environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    import twotower_assets.definitions as definitions

    try:
        gcp_definitions = importlib.reload(definitions)
        repository = gcp_definitions.defs.get_repository_def()
        snapshot = serialize_value(RepositorySnap.from_def(repository))
    finally:
        monkeypatch.undo()  # back to the local profile for whoever imports definitions next
        importlib.reload(definitions)
    assert "TWOTOWER_GCP_CREDENTIALS" in snapshot  # the reference is kept ...
    assert gcp_environment not in snapshot  # ... the value is not
    assert SECRET not in snapshot


def test_descriptions_never_carry_credentials(gcp_environment: str) -> None:
    from resources import build_resources

    resources = build_resources("gcp")
    for resource in resources.values():
        text = resource.describe() if hasattr(resource, "describe") else repr(resource)
        assert gcp_environment not in text
        assert SECRET not in text
