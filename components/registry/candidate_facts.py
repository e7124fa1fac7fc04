"""What a registered candidate carries, typed, and the one place that turns it into MLflow
version tags and back.

Why: the training flow records a candidate's lineage, validation, contamination and metrics
as version tags, and the gates, `wsad promote`, `wsad models` and the next training run read
them back. Written and parsed by hand in each place, a renamed or malformed tag silently
failed its gate ("value None"); here a missing or malformed tag is a `TagError` naming it.
The tag names and spellings are the ones versions have always carried ("validation":
"passed", params and metrics as JSON), so versions registered before this module still read.
Numbers are written exactly (shortest round-tripping repr), so `from_tags(to_tags(f)) == f`.
A fact added later has a default that says what versions without its tag did (`row_draws`:
none recorded, every stage read every row), so they still read; an optional one (None) is
not written as a tag while it is None.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from components.monitoring.performance import PerformanceEstimate
from components.provenance.lineage import UnversionedData
from components.selection.row_budget import DrawRecord

AUC_PR = "auc_pr"  # the metric every gate reads


class TagError(ValueError):
    """A version's tag is missing or cannot be read as the fact it records."""


class Codec(NamedTuple):
    """How one fact is written as a tag and read back (`read` raises on a bad string)."""

    write: Callable[[Any], str]
    read: Callable[[str], Any]


def _words(yes: str, no: str) -> Codec:
    """A flag written as one of two words."""

    def read(text: str) -> bool:
        if text not in (yes, no):
            raise ValueError(f"expected {yes!r} or {no!r}")
        return text == yes

    return Codec(lambda flag: yes if flag else no, read)


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _unversioned(text: str) -> UnversionedData:
    value = _json_object(text)
    md5 = value.get("md5")
    if not isinstance(md5, dict) or not {"who", "reason"} <= set(value):
        raise ValueError("expected who, reason and md5 (an object)")
    return UnversionedData(
        str(value["who"]), str(value["reason"]), {str(k): str(v) for k, v in md5.items()}
    )


def _metrics(text: str) -> dict[str, float]:
    values = _json_object(text)
    if not all(isinstance(v, int | float) for v in values.values()):
        raise ValueError("expected numbers")
    return {k: float(v) for k, v in values.items()}


def _draw_records(text: str) -> tuple[DrawRecord, ...]:
    values = json.loads(text)
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise ValueError("expected a JSON list of objects")
    try:
        return tuple(DrawRecord(**v) for v in values)
    except TypeError as err:
        raise ValueError(str(err)) from err


TEXT = Codec(str, str)
INTEGER = Codec(str, int)
NUMBER = Codec(lambda x: repr(float(x)), float)
OBJECT = Codec(lambda d: json.dumps(d, sort_keys=True, default=str), _json_object)
METRICS = Codec(lambda d: json.dumps({k: float(v) for k, v in d.items()}, sort_keys=True), _metrics)
DRAWS = Codec(lambda r: json.dumps([dataclasses.asdict(d) for d in r]), _draw_records)
UNVERSIONED = Codec(lambda u: json.dumps(dataclasses.asdict(u), sort_keys=True), _unversioned)


def _estimate(text: str) -> PerformanceEstimate:
    try:
        return PerformanceEstimate.from_dict(_json_object(text))
    except (KeyError, TypeError) as err:
        raise ValueError(f"expected a performance estimate ({err})") from err


ESTIMATE = Codec(lambda e: json.dumps(e.to_dict(), sort_keys=True), _estimate)


def _fact(codec: Codec, tag: str | None = None, default: Any = dataclasses.MISSING) -> Any:
    """A field recorded by `codec` under the tag `tag` (default: the field's name); one with
    a `default` reads as that from a version without the tag."""
    return dataclasses.field(default=default, metadata={"codec": codec, "tag": tag})


def _optional_fact(codec: Codec, tag: str | None = None) -> Any:
    """A fact added later: None when absent, and then not written as a tag."""
    return dataclasses.field(default=None, metadata={"codec": codec, "tag": tag, "optional": True})


@dataclasses.dataclass(frozen=True)
class CandidateFacts:
    """A candidate's configuration, lineage, validation, contamination and metrics."""

    method: str = _fact(TEXT)
    params: dict[str, Any] = _fact(OBJECT)
    release: str = _fact(TEXT)  # the configuration in a few words, e.g. "devnet+prenet, ..."
    data_version: str = _fact(TEXT)
    records: str = _fact(TEXT)  # paths as the run saw them, inside the DVC-tracked data
    labels: str = _fact(TEXT)
    git_commit: str = _fact(TEXT)
    validation_passed: bool = _fact(_words("passed", "failed"), tag="validation")
    reference_check: str = _fact(TEXT)  # the outcome against the champion's profile, in words
    random_state: int = _fact(INTEGER)
    torch_threads: int = _fact(INTEGER)  # the order of CPU sums: reproduction sets it again
    threshold_method: str = _fact(TEXT)
    target_fpr: float = _fact(NUMBER)
    contamination: float = _fact(NUMBER)  # the estimate on the training data
    contamination_low: float = _fact(NUMBER)  # its interval, which later estimates must meet
    contamination_high: float = _fact(NUMBER)
    contamination_trusted: bool = _fact(_words("true", "false"))
    threshold_contamination: float = _fact(NUMBER)  # the share the threshold assumed
    threshold_note: str = _fact(TEXT)  # why that share (the estimate, or a capped fallback)
    metrics: dict[str, float] = _fact(METRICS)
    # the label-free estimate at the threshold (components/monitoring/performance)
    performance: PerformanceEstimate | None = _optional_fact(ESTIMATE)
    # which rows contamination, cross-validation and the refit read
    # (components/selection/row_budget.py)
    row_draws: tuple[DrawRecord, ...] = _fact(DRAWS, default=())
    # The override of the lineage gate, when the data is not versioned by DVC.
    unversioned: UnversionedData | None = _optional_fact(UNVERSIONED, tag="unversioned_data")

    def __post_init__(self) -> None:
        if AUC_PR not in self.metrics:
            raise TagError(f"tag 'metrics' has no {AUC_PR!r}; the gates need it")

    @property
    def auc_pr(self) -> float:
        """The cross-validated AUC-PR the gates compare."""
        return self.metrics[AUC_PR]

    def to_tags(self) -> dict[str, str]:
        """Every fact as a version tag (an optional fact only when it is set)."""
        return {
            field.metadata["tag"] or field.name: field.metadata["codec"].write(
                getattr(self, field.name)
            )
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not None or not field.metadata.get("optional")
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str], where: str = "version") -> CandidateFacts:
        """The facts a version's tags record; a TagError naming the first missing or
        malformed tag (`where` names the version in the message)."""
        values = {}
        for field in dataclasses.fields(cls):
            tag = field.metadata["tag"] or field.name
            if tag not in tags and field.default is not dataclasses.MISSING:
                continue  # registered before this fact existed: its default says what held
            if tag not in tags:
                raise TagError(
                    f"{where} lacks the tag {tag!r}; it was not registered by `wsad train`, "
                    "register it again"
                )
            try:
                values[field.name] = field.metadata["codec"].read(tags[tag])
            except ValueError as err:
                raise TagError(f"{where} tag {tag!r} = {tags[tag]!r} is malformed: {err}") from err
        try:
            return cls(**values)
        except TagError as err:
            raise TagError(f"{where} {err}") from err
