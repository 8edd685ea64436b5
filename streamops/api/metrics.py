"""Prometheus text exposition: built-in hub metrics plus gauges other components register.

Values are pulled when `/metrics` is scraped (each registered function is called then), so a
component pays nothing between scrapes. The only push-style counter is events fired by type, kept
by one MATCH_ALL listener that does a dict increment per event.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..core import Event

_LOGGER = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Number = float | int
# A metric function returns a number, or — for a metric with labels — a mapping from label values
# (a tuple with one value per label name, or a plain string when there is one label) to numbers.
MetricValue = Number | Mapping[tuple[str, ...] | str, Number]
MetricFn = Callable[[], MetricValue]


@dataclass(slots=True)
class _Metric:
    name: str
    help: str
    kind: str
    fn: MetricFn
    labels: tuple[str, ...]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: Number) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class MetricsRegistry:
    """Named metrics rendered in Prometheus' text format 0.0.4."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def gauge(self, name: str, help: str, fn: MetricFn, *, labels: Sequence[str] = ()) -> Callable[[], None]:
        """Register a gauge read from `fn()` at scrape time; returns a function that removes it."""
        return self._add(name, help, "gauge", fn, labels)

    def counter(self, name: str, help: str, fn: MetricFn, *, labels: Sequence[str] = ()) -> Callable[[], None]:
        """Register a counter (a value that only grows; name it `..._total`)."""
        return self._add(name, help, "counter", fn, labels)

    def _add(self, name: str, help: str, kind: str, fn: MetricFn, labels: Sequence[str]) -> Callable[[], None]:
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}: use letters, digits, '_' and ':'")
        bad = [label for label in labels if not _LABEL_RE.match(label)]
        if bad:
            raise ValueError(f"invalid label name(s) {bad} for metric {name}")
        if name in self._metrics:
            raise ValueError(f"metric {name} is already registered")
        metric = _Metric(name, help, kind, fn, tuple(labels))
        self._metrics[name] = metric

        def remove() -> None:
            if self._metrics.get(name) is metric:
                del self._metrics[name]

        return remove

    def __contains__(self, name: str) -> bool:
        return name in self._metrics

    def render(self) -> str:
        lines: list[str] = []
        for metric in list(self._metrics.values()):
            try:
                value = metric.fn()
                samples = self._samples(metric, value)
            except Exception:
                # One broken gauge must not take the whole scrape down.
                _LOGGER.exception("Metric %s failed; left out of this scrape", metric.name)
                continue
            help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n")
            lines.append(f"# HELP {metric.name} {help_text}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            lines.extend(samples)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _samples(metric: _Metric, value: MetricValue) -> list[str]:
        if not metric.labels:
            if isinstance(value, Mapping):
                raise TypeError(f"metric {metric.name} has no labels but returned a mapping")
            return [f"{metric.name} {_format_value(value)}"]
        if not isinstance(value, Mapping):
            raise TypeError(f"metric {metric.name} has labels {metric.labels} but returned {type(value).__name__}")
        out = []
        for key, number in sorted(value.items(), key=lambda item: str(item[0])):
            values = (key,) if isinstance(key, str) else tuple(key)
            if len(values) != len(metric.labels):
                raise ValueError(f"metric {metric.name}: {values} does not match labels {metric.labels}")
            label_text = ",".join(
                f'{label}="{_escape_label(str(v))}"' for label, v in zip(metric.labels, values, strict=True)
            )
            out.append(f"{metric.name}{{{label_text}}} {_format_value(number)}")
        return out


class EventCounter:
    """Events fired, by type: one MATCH_ALL listener, one dict increment per event.

    API clients can fire events of any type; past `max_types` distinct types the rest are counted
    as "_other", so label cardinality (and memory) stays bounded.
    """

    def __init__(self, max_types: int = 500) -> None:
        self.counts: Counter[str] = Counter()
        self.max_types = max_types

    def __call__(self, event: Event) -> None:
        counts = self.counts
        event_type = event.event_type
        if event_type in counts:
            counts[event_type] += 1
        elif len(counts) < self.max_types:
            counts[event_type] = 1
        else:
            counts["_other"] += 1
