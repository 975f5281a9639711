"""The Prometheus text format (0.0.4) for our gauge and counter families, fast.

prometheus_client's generate_latest validates and escapes every label name of every
sample (about 40 us a sample; 100 trunks are 700 samples): our label names are fixed
identifiers, so only values are escaped here (`\\`, `"`, newline, as the format says).
The output is byte-identical to generate_latest's (tests/unit/test_journal.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from prometheus_client.core import Metric


def go_float(value: float) -> str:
    """prometheus_client.utils.floatToGoString: Go's formatting (exponents past 1e6)."""
    d = float(value)
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if d != d:
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return s


def _label_value(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def exposition(metrics: Iterable[Metric]) -> bytes:
    out: list[str] = []
    append = out.append
    for metric in metrics:
        if metric.type not in ("gauge", "counter"):
            raise ValueError(f"{metric.name}: only gauges and counters are written here")
        name = metric.name + "_total" if metric.type == "counter" else metric.name
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        append(f"# HELP {name} {doc}\n# TYPE {name} {metric.type}\n")
        for sample in metric.samples:
            value = go_float(sample.value)
            if sample.labels:
                labels = ",".join(f'{k}="{_label_value(v)}"'
                                  for k, v in sorted(sample.labels.items()))
                append(f"{sample.name}{{{labels}}} {value}\n")
            else:
                append(f"{sample.name} {value}\n")
    return "".join(out).encode("utf-8")
