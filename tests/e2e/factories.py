"""Builders for end-to-end tests: a 20-node template for the scrub-latency budget."""

from __future__ import annotations

from pathlib import Path

WIDE_TEMPLATE_ID = "e2e-wide-20"
WIDE_NODES = 20
_DEMAND = [20, 35, 50, 65, 80, 95, 80, 65, 50, 35, 20, 10]


def write_wide_template(directory: Path) -> Path:
    """A deterministic template with 20 service nodes in a binary tree (5 layers) over 12 bins.

    Node ``N<i>`` serves ``MIN(demand, 45 + 3·i)``, so utilisation, and with it the colour, changes
    from bin to bin and differs between nodes.
    """
    lines = [
        "schemaVersion: 1",
        "generator: flowtime-sim",
        "mode: simulation",
        "metadata:",
        f"  id: {WIDE_TEMPLATE_ID}",
        "  title: Wide twenty-node graph",
        "  description: Twenty services in a tree, for the time-travel scrub latency test.",
        "  version: 1.0.0",
        "  tags: [test]",
        "  captureKey: e2e-wide-telemetry",
        "window:",
        "  start: 2025-01-01T00:00:00Z",
        "  timezone: UTC",
        "parameters:",
        "  - name: demandPattern",
        "    type: array",
        "    default: [" + ", ".join(str(v) for v in _DEMAND) + "]",
        "    minimum: 0",
        "grid:",
        f"  bins: {len(_DEMAND)}",
        "  binSize: 5",
        "  binUnit: minutes",
        "topology:",
        "  nodes:",
    ]
    for i in range(WIDE_NODES):
        lines += [
            f"    - id: N{i:02d}",
            "      kind: service",
            f"      semantics: {{arrivals: demand, served: served_{i:02d}, capacity: cap_{i:02d}}}",
        ]
    lines.append("  edges:")
    for child in range(1, WIDE_NODES):
        lines.append(f"    - {{from: N{(child - 1) // 2:02d}, to: N{child:02d}}}")
    lines += ["nodes:", "  - id: demand", "    kind: const", "    values: ${demandPattern}"]
    for i in range(WIDE_NODES):
        lines += [
            f"  - id: cap_{i:02d}",
            "    kind: expr",
            f'    expr: "{45 + 3 * i}"',
            f"  - id: served_{i:02d}",
            "    kind: expr",
            f'    expr: "MIN(demand, cap_{i:02d})"',
        ]
    lines += ["outputs:", '  - series: "*"']
    path = directory / f"{WIDE_TEMPLATE_ID}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
