"""Builders for template tests: a small valid template text with overridable parts, and a reference PCG32."""

from __future__ import annotations

from typing import Any

from flowtime.sim import Template, read_template

HEADER = """\
schemaVersion: 1
generator: flowtime-sim
mode: simulation
metadata:
  id: checkout
  title: Checkout
  version: 1.0.0
  captureKey: checkout-telemetry
"""

WINDOW = """\
window:
  start: 2025-01-01T00:00:00Z
  timezone: UTC
"""

GRID = """\
grid:
  bins: ${bins}
  binSize: 15
  binUnit: minutes
"""

PARAMETERS = """\
parameters:
  - name: bins
    type: integer
    default: 4
    minimum: 1
    maximum: 48
  - name: demand
    type: array
    arrayOf: int
    default: [10, 20, 30, 40]
    minimum: 0
    maximum: 100
  - name: capacity
    type: number
    default: 25
    minimum: 1
    maximum: 1000
  - name: efficiency
    type: number
    default: 0.9
    minimum: 0
    maximum: 1
  - name: demandSource
    type: string
    default: ""
"""

NODES = """\
nodes:
  - id: demand
    kind: const
    values: ${demand}
    source: ${demandSource}
  - id: capacity
    kind: expr
    expr: "${capacity}"
  - id: served
    kind: expr
    expr: "MIN(demand, capacity * ${efficiency})"
  - id: unmet
    kind: expr
    expr: "demand - served"
"""

TOPOLOGY = """\
topology:
  nodes:
    - id: Checkout
      kind: service
      semantics:
        arrivals: demand
        served: served
        errors: unmet
        capacity: capacity
  edges: []
"""

OUTPUTS = """\
outputs:
  - series: demand
    as: Checkout_arrivals.csv
  - series: served
    as: Checkout_served.csv
"""

# The catalogue summary (api.md §3) of the factory template.
CHECKOUT_SUMMARY = {
    "id": "checkout",
    "title": "Checkout",
    "description": None,
    "category": "general",
    "tags": [],
    "captureKey": "checkout-telemetry",
    "version": "1.0.0",
    "stochastic": False,
    "parameterCount": 5,
}


def template_text(
    *,
    header: str | None = None,
    window: str | None = None,
    parameters: str = PARAMETERS,
    grid: str | None = None,
    topology: str = TOPOLOGY,
    nodes: str = NODES,
    outputs: str = OUTPUTS,
    extra: str = "",
) -> str:
    """A valid template ("checkout", 4 bins of 15 minutes) whose sections can be replaced one by one."""
    header = HEADER if header is None else header
    window = WINDOW if window is None else window
    grid = GRID if grid is None else grid
    return header + window + parameters + grid + topology + nodes + outputs + extra


def make_template(text: str | None = None, **parts: Any) -> Template:
    """Load a template exactly as the catalogue does; fails the test if loading reports problems."""
    source = text if text is not None else template_text(**parts)
    template, problems = read_template(source, origin="test.yaml")
    assert template is not None, [p.message for p in problems]
    return template


class Pcg32:
    """Independent PCG-XSH-RR of ``model.md`` §9, written from the spec for computing expected samples."""

    MULT = 6364136223846793005
    INC = 1442695040888963407
    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK
        self.next_uint32()

    def next_uint32(self) -> int:
        old = self.state
        self.state = (old * self.MULT + self.INC) & self.MASK
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((32 - rot) % 32))) & 0xFFFFFFFF

    def sample(self, values: list[float], probabilities: list[float], bins: int) -> list[float]:
        """Inverse-CDF sampling of one pmf node, one draw per bin."""
        out = []
        for _ in range(bins):
            u = self.next_uint32() / 2**32
            cumulative = 0.0
            chosen = None
            for value, p in zip(values, probabilities, strict=True):
                cumulative += p
                if p > 0 and u < cumulative:
                    chosen = value
                    break
            if chosen is None:
                chosen = [v for v, p in zip(values, probabilities, strict=True) if p > 0][-1]
            out.append(chosen)
        return out
