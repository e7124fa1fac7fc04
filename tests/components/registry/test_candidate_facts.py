"""A candidate's facts to version tags and back: exact round trip, the tag names versions
have always carried, and a missing or malformed tag named in the error."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from components.monitoring.performance import Estimated, training_basis
from components.provenance.lineage import UnversionedData
from components.registry.candidate_facts import CandidateFacts, TagError
from components.selection.row_budget import DrawRecord
from tests.conftest import candidate_facts

FACTS = candidate_facts(
    "ensemble",
    {"methods": ["devnet", "prenet"], "n_seeds": 3, "method_params": {"devnet": {"lr": 1e-3}}},
    release="devnet+prenet, 3 seeds each",
    validation_passed=False,
    contamination=0.0487654321,
    contamination_trusted=False,
    threshold_contamination=0.1,
    threshold_note="capped fallback",
    metrics={"auc_pr": 0.61234567891, "auc_roc": 0.9, "threshold": -1.5},
)
# What the training flow wrote before the facts were typed (rounded numbers, same names).
LEGACY_TAGS = {
    "method": "devnet",
    "release": "devnet",
    "params": '{"epochs": 15, "random_state": 0}',
    "data_version": "abc123.dir",
    "records": "data/records.csv",
    "labels": "data/labels.csv",
    "git_commit": "deadbeef",
    "validation": "passed",
    "reference_check": "passed (no champion yet: internal checks only)",
    "random_state": "0",
    "torch_threads": "2",
    "threshold_method": "quantile",
    "target_fpr": "0.01",
    "contamination": "0.050000",
    "contamination_low": "0.030000",
    "contamination_high": "0.070000",
    "contamination_trusted": "true",
    "threshold_contamination": "0.050000",
    "threshold_note": "the estimate",
    "metrics": '{"auc_pr": 0.612346, "contamination": 0.05}',
}


def test_facts_round_trip_through_tags_exactly() -> None:
    tags = FACTS.to_tags()
    assert all(isinstance(v, str) for v in tags.values())
    assert CandidateFacts.from_tags(tags) == FACTS


def test_an_allowed_override_of_the_lineage_gate_round_trips() -> None:
    override = UnversionedData("ann", "one-off export", {"/tmp/export.csv": "0" * 32})
    facts = candidate_facts(data_version="untracked", unversioned=override)
    tags = facts.to_tags()
    assert CandidateFacts.from_tags(tags) == facts
    assert '"reason": "one-off export"' in tags["unversioned_data"]


def test_a_version_registered_before_the_override_existed_reads_without_one() -> None:
    assert "unversioned_data" not in FACTS.to_tags()
    assert CandidateFacts.from_tags(LEGACY_TAGS).unversioned is None


def test_a_nan_metric_reads_back_as_nan_for_its_gate_to_fail() -> None:
    facts = candidate_facts(metrics={"auc_pr": math.nan})
    assert math.isnan(CandidateFacts.from_tags(facts.to_tags()).auc_pr)


def test_tags_keep_the_names_and_words_versions_always_carried() -> None:
    tags = CandidateFacts.from_tags(LEGACY_TAGS).to_tags()
    assert set(tags) == set(LEGACY_TAGS) | {"row_draws"}  # the one fact added since
    assert (tags["validation"], tags["contamination_trusted"]) == ("passed", "true")


def test_the_performance_estimate_round_trips_and_older_versions_have_none() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(6, dtype=int), np.zeros(200, dtype=int)]
    scores = rng.normal(size=206) + 2 * y
    basis = training_basis(
        scores, y, np.arange(206) % 3, 0.05, 200, 6, Estimated(0.05, 0.02, 0.1), True
    )
    facts = dataclasses.replace(FACTS, performance=basis.training)
    assert CandidateFacts.from_tags(facts.to_tags()) == facts
    assert "performance" not in FACTS.to_tags()
    assert CandidateFacts.from_tags(LEGACY_TAGS).performance is None
    with pytest.raises(TagError, match="tag 'performance'"):
        CandidateFacts.from_tags({**facts.to_tags(), "performance": '{"precision": 1}'})


def test_facts_read_from_tags_written_before_they_were_typed() -> None:
    facts = CandidateFacts.from_tags(LEGACY_TAGS)
    assert facts.params == {"epochs": 15, "random_state": 0}
    assert facts.validation_passed
    assert (facts.contamination_low, facts.contamination_high) == (0.03, 0.07)
    assert facts.auc_pr == 0.612346
    assert facts.torch_threads == 2
    assert facts.row_draws == ()  # no draws recorded: every stage read every row


def test_row_draws_round_trip_and_a_malformed_one_is_named() -> None:
    draws = (
        DrawRecord("contamination", 20_000, 0, 20_020, "ab" * 32),
        DrawRecord("refit", 0, 0, 1_000_000, "cd" * 32),
    )
    facts = dataclasses.replace(FACTS, row_draws=draws)
    assert CandidateFacts.from_tags(facts.to_tags()) == facts
    bad = {**facts.to_tags(), "row_draws": '[{"stage": "refit"}]'}
    with pytest.raises(TagError, match=r"^wsad v3 tag 'row_draws' = .* is malformed"):
        CandidateFacts.from_tags(bad, "wsad v3")


@pytest.mark.parametrize("tag", ["validation", "contamination_low", "metrics", "params"])
def test_a_missing_tag_is_an_error_naming_it_and_the_version(tag: str) -> None:
    tags = {k: v for k, v in LEGACY_TAGS.items() if k != tag}
    with pytest.raises(TagError, match=rf"^wsad v3 lacks the tag '{tag}'"):
        CandidateFacts.from_tags(tags, "wsad v3")


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("validation", "yes"),
        ("contamination_high", "high"),
        ("contamination_trusted", "True"),
        ("random_state", "0.5"),
        ("params", "{not json"),
        ("params", "[1, 2]"),
        ("metrics", '{"auc_pr": "0.6"}'),
        ("unversioned_data", '{"who": "ann"}'),
    ],
)
def test_a_malformed_tag_is_an_error_naming_it_and_its_value(tag: str, value: str) -> None:
    with pytest.raises(TagError, match=rf"^wsad v3 tag '{tag}' = .* is malformed"):
        CandidateFacts.from_tags({**LEGACY_TAGS, tag: value}, "wsad v3")


def test_metrics_without_the_gates_auc_pr_are_an_error_naming_the_tag() -> None:
    with pytest.raises(TagError, match=r"^wsad v3 tag 'metrics' has no 'auc_pr'"):
        CandidateFacts.from_tags({**LEGACY_TAGS, "metrics": '{"auc_roc": 0.9}'}, "wsad v3")
