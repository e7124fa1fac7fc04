"""`wsad models` and `wsad promote` on a store where a version's facts were tampered with:
one `error:` line naming the version and the tag, and for a promotion nothing moved."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from components.provenance.audit import AuditLog
from components.registry import gates, promotion, store
from components.registry.candidate_facts import TagError
from flows.runtime.config import Settings
from tests.flows.cli.test_serve_model import demo_store, register_iforest
from tests.flows.conftest import assert_one_error_line, cli_env, run_wsad


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A store with two isolation forests registered as the flow does, v1 champion."""
    root = tmp_path_factory.mktemp("facts")
    settings = demo_store(root)
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    store.configure(settings.tracking_uri)
    try:
        for seed in (1, 2):
            register_iforest(settings, root, n_estimators=10, seed=seed, profiled=False)
        decision = gates.Decision(True, {}, "first champion")
        promotion.promote(settings.model_name, "1", decision, AuditLog(settings.audit_log), "t")
        yield settings
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


@pytest.fixture
def tampered(registered: Settings) -> Iterator[Callable[[str, str | None], None]]:
    """Sets (or, with None, deletes) a tag of v2; every tag is restored afterwards."""
    name, client = registered.model_name, MlflowClient()
    original = store.version_info(name, "2")["tags"]

    def tamper(tag: str, value: str | None) -> None:
        if value is None:
            client.delete_model_version_tag(name, "2", tag)
        else:
            client.set_model_version_tag(name, "2", tag, value)

    yield tamper
    for tag, value in original.items():
        client.set_model_version_tag(name, "2", tag, value)


def assert_nothing_moved(settings: Settings, audit_before: bytes) -> None:
    assert store.get_alias_version(settings.model_name, "champion") == "1"
    assert settings.audit_log.read_bytes() == audit_before
    assert "decision" not in store.version_info(settings.model_name, "2")["tags"]


@pytest.mark.slow  # two `wsad` processes
@pytest.mark.parametrize(
    ("command", "tag", "value", "pattern"),
    [
        (
            ["models"],
            "contamination_low",
            "low",
            r"v2 tag 'contamination_low' = 'low' is malformed",
        ),
        (["promote", "2"], "metrics", '{"auc_roc": 0.9}', r"v2 tag 'metrics' has no 'auc_pr'"),
    ],
)
def test_a_tampered_tag_is_one_error_line_at_the_cli_and_nothing_moves(
    registered: Settings,
    tampered: Callable[[str, str | None], None],
    command: list[str],
    tag: str,
    value: str,
    pattern: str,
) -> None:
    tampered(tag, value)
    audit_before = registered.audit_log.read_bytes()
    root = registered.audit_log.parents[1]
    assert_one_error_line(run_wsad(command, root, cli_env(registered)), pattern)
    assert_nothing_moved(registered, audit_before)


def test_promoting_a_version_without_a_tag_names_it_and_moves_nothing(
    registered: Settings, tampered: Callable[[str, str | None], None]
) -> None:
    tampered("validation", None)
    audit, policy = AuditLog(registered.audit_log), gates.PromotionPolicy()
    audit_before = registered.audit_log.read_bytes()
    with pytest.raises(TagError, match=r"^wsad-detector v2 lacks the tag 'validation'"):
        promotion.promote_version(registered.model_name, "2", policy, audit, "tester")
    assert_nothing_moved(registered, audit_before)


@pytest.mark.slow  # a `wsad` process
def test_models_lists_the_facts_of_every_version(registered: Settings) -> None:
    done = run_wsad(["models"], registered.audit_log.parents[1], cli_env(registered))
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("iforest") == 2
    assert "champion" in done.stdout
