"""The structural rewrite of a simulation model into its telemetry replay (``telemetry.md`` §6.2).

Edits are made on the YAML source text: scalar and mapping nodes are located through PyYAML's composed node
tree and exactly their source spans are replaced, so comments, key order and formatting elsewhere survive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import yaml

from flowtime.errors import FlowTimeError
from flowtime.model import snake
from flowtime.telemetry.metrics import QUEUE_DEPTH, Metric

CaptureLookup = Callable[[str], str | None]
"""Maps a ``file:`` URI to the manifest path of the capture file it resolves to, or None."""

_QUEUE_KINDS = frozenset({"servicewithbuffer", "queue", "dlq"})
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./:@%+~=-]*\Z")
_URI_SAFE = "/:@!$&'()*+,;=~-._"


@dataclass(frozen=True, slots=True)
class TelemetryFile:
    """One manifest entry as the rewrite needs it: which topology node and metric a capture file observes."""

    node_id: str
    metric: Metric
    path: str


@dataclass(frozen=True, slots=True)
class Rewrite:
    """The rewritten model text and what the rewrite did.

    ``replaced`` maps each redefined declared node id to its index in the root ``nodes`` list (so the caller
    can record the original definition); ``bound`` maps every telemetry-backed node id to the capture path
    that supplies it (first file in manifest order); ``duplicates`` lists later files that name an already
    bound node, to be checked for identical content.
    """

    text: str
    replaced: Mapping[str, int] = field(default_factory=dict)
    bound: Mapping[str, str] = field(default_factory=dict)
    duplicates: tuple[tuple[str, str], ...] = ()


def telemetry_uri(path: str) -> str:
    """``file://telemetry/<path>`` with the characters a URI cannot carry verbatim percent-encoded."""
    return "file://telemetry/" + quote(path, safe=_URI_SAFE)


def synthesized_queue_id(node_id: str) -> str:
    """The id of the queue column a queue-synthesizing topology node gets by default (``model.md`` §6.4)."""
    return snake(node_id) + "_queue"


def is_queue_kind(kind: object) -> bool:
    """Kinds ``serviceWithBuffer``, ``queue`` and ``dlq`` (case-insensitive) synthesize a queue series."""
    return isinstance(kind, str) and kind.strip().lower() in _QUEUE_KINDS


def rewrite_for_telemetry(
    text: str, files: Sequence[TelemetryFile], lookup: CaptureLookup, *, zero_columns: Sequence[str] = ()
) -> Rewrite:
    """Rewrite ``text`` (already LF-normalised, parsed successfully) for a replay of ``files``.

    ``lookup`` decides which ``file:`` URIs point into the capture; URIs it rejects are left unchanged.
    ``zero_columns`` are derived columns that observed queues no longer produce; each is appended as an
    ``expr: "0"`` node so the replay keeps the source run's series (and expressions using them load).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FlowTimeError("Model text could not be parsed for rewriting.", code="model_invalid") from exc
    if not isinstance(root, yaml.MappingNode):
        raise FlowTimeError("Model root must be a mapping.", code="model_invalid")
    return _Rewriter(text, root, lookup).run(files, zero_columns)


# ------------------------------------------------------------------------------------------- internals


def _get(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _scalar_text(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        text = node.value.strip()
        return text or None
    return None


def _content_end(node: yaml.Node) -> int:
    """End offset of a node's own text: block collections' end marks run on into the next line."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _quote_double(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class _Declared:
    index: int
    node: yaml.MappingNode


class _Rewriter:
    def __init__(self, text: str, root: yaml.MappingNode, lookup: CaptureLookup) -> None:
        self.text = text
        self.root = root
        self.lookup = lookup
        self.edits: list[tuple[int, int, str]] = []
        self.flow_scalars: set[int] = set()
        self._mark_flow(root, in_flow=False)
        nodes = _get(root, "nodes")
        self.nodes_seq = nodes if isinstance(nodes, yaml.SequenceNode) else None
        self.declared: dict[str, _Declared] = {}
        for i, item in enumerate(self.nodes_seq.value if self.nodes_seq else ()):
            node_id = _scalar_text(_get(item, "id")) if isinstance(item, yaml.MappingNode) else None
            if node_id is not None and node_id not in self.declared:
                self.declared[node_id] = _Declared(i, item)  # type: ignore[arg-type]
        topology = _get(root, "topology")
        topo_nodes = _get(topology, "nodes") if isinstance(topology, yaml.MappingNode) else None
        self.topo: list[yaml.MappingNode] = [
            n
            for n in (topo_nodes.value if isinstance(topo_nodes, yaml.SequenceNode) else ())
            if isinstance(n, yaml.MappingNode)
        ]

    def _mark_flow(self, node: yaml.Node, *, in_flow: bool) -> None:
        if isinstance(node, yaml.ScalarNode):
            if in_flow:
                self.flow_scalars.add(id(node))
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                self._mark_flow(k, in_flow=in_flow or bool(node.flow_style))
                self._mark_flow(v, in_flow=in_flow or bool(node.flow_style))
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                self._mark_flow(v, in_flow=in_flow or bool(node.flow_style))

    # ---------------------------------------------------------------------------------------- steps

    def run(self, files: Sequence[TelemetryFile], zero_columns: Sequence[str]) -> Rewrite:
        replaced: dict[str, int] = {}
        bound: dict[str, str] = {}
        duplicates: list[tuple[str, str]] = []
        appended: list[tuple[str, str]] = []
        rewritten_scalars: set[int] = set()
        for file in files:
            topo = self._topology_node(file.node_id)
            if topo is None:
                continue
            semantics = _get(topo, "semantics")
            scalar, value = self._semantic(semantics, file.metric)
            add_queue_key = False
            if value is None and file.metric is QUEUE_DEPTH and is_queue_kind(_scalar_text(_get(topo, "kind"))):
                value = synthesized_queue_id(_scalar_text(_get(topo, "id")) or file.node_id)
                add_queue_key = True
            if value is None:
                continue
            if value.lower().startswith("file:"):
                path = self.lookup(value)
                if scalar is not None and id(scalar) not in rewritten_scalars and path is not None:
                    self._replace_scalar(scalar, telemetry_uri(path))
                    rewritten_scalars.add(id(scalar))
                continue
            if add_queue_key:
                self._add_semantic(topo, semantics, "queueDepth", value)
            if value in bound:
                duplicates.append((value, file.path))
                continue
            bound[value] = file.path
            declared = self.declared.get(value)
            if declared is not None:
                self._redefine(declared, file.path)
                replaced[value] = declared.index
            else:
                appended.append((value, file.path))
        entries = [(v, (("kind", "const"), ("source", _quote_double(telemetry_uri(p))))) for v, p in appended]
        entries += [(c, (("kind", "expr"), ("expr", '"0"'))) for c in zero_columns if c not in self.declared]
        if entries:
            self._append_nodes(entries)
        self._rewrite_sources(exclude=set(replaced))
        self._rewrite_semantic_uris(rewritten_scalars)
        self._set_mode()
        return Rewrite(self._apply(), replaced, bound, tuple(duplicates))

    def _topology_node(self, node_id: str) -> yaml.MappingNode | None:
        exact = [n for n in self.topo if _scalar_text(_get(n, "id")) == node_id]
        if exact:
            return exact[0]
        folded = node_id.casefold()
        loose = [n for n in self.topo if (_scalar_text(_get(n, "id")) or "").casefold() == folded]
        return loose[0] if loose else None

    @staticmethod
    def _semantic(semantics: yaml.Node | None, metric: Metric) -> tuple[yaml.ScalarNode | None, str | None]:
        if not isinstance(semantics, yaml.MappingNode):
            return None, None
        for key in metric.semantic_keys:
            node = _get(semantics, key)
            text = _scalar_text(node)
            if text is not None:
                return node, text  # type: ignore[return-value]
        return None, None

    def _rewrite_sources(self, exclude: set[str]) -> None:
        for node_id, declared in self.declared.items():
            if node_id in exclude:
                continue
            kind = (_scalar_text(_get(declared.node, "kind")) or "const").lower()
            source = _get(declared.node, "source")
            uri = _scalar_text(source)
            if kind != "const" or uri is None or not uri.lower().startswith("file:"):
                continue
            path = self.lookup(uri)
            if path is not None:
                self._replace_scalar(source, telemetry_uri(path))  # type: ignore[arg-type]

    def _rewrite_semantic_uris(self, done: set[int]) -> None:
        for topo in self.topo:
            semantics = _get(topo, "semantics")
            if not isinstance(semantics, yaml.MappingNode):
                continue
            for _key, node in semantics.value:
                uri = _scalar_text(node)
                if id(node) in done or uri is None or not uri.lower().startswith("file:"):
                    continue
                path = self.lookup(uri)
                if path is not None:
                    self._replace_scalar(node, telemetry_uri(path))  # type: ignore[arg-type]
                    done.add(id(node))

    def _set_mode(self) -> None:
        mode = _get(self.root, "mode")
        if isinstance(mode, yaml.ScalarNode):
            self._replace_scalar(mode, "telemetry")
        elif mode is None:
            self._insert_root_mode()
        provenance = _get(self.root, "provenance")
        if isinstance(provenance, yaml.MappingNode):
            prov_mode = _get(provenance, "mode")
            if isinstance(prov_mode, yaml.ScalarNode):
                self._replace_scalar(prov_mode, "telemetry")

    def _insert_root_mode(self) -> None:
        if self.root.flow_style:
            self.edits.append((self.root.start_mark.index + 1, self.root.start_mark.index + 1, "mode: telemetry, "))
            return
        for key, value in self.root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "schemaVersion":
                line_end = self.text.find("\n", _content_end(value))
                if line_end < 0:
                    self.edits.append((len(self.text), len(self.text), "\nmode: telemetry"))
                else:
                    self.edits.append((line_end + 1, line_end + 1, "mode: telemetry\n"))
                return
        start = self.root.start_mark.index
        self.edits.append((start, start, "mode: telemetry\n" + " " * self.root.start_mark.column))

    # ---------------------------------------------------------------------------------------- edits

    def _replace_scalar(self, node: yaml.ScalarNode, value: str) -> None:
        start, end = node.start_mark.index, node.end_mark.index
        if node.style == "'":
            rendered = "'" + value.replace("'", "''") + "'"
        elif node.style is None and id(node) not in self.flow_scalars and _PLAIN_SAFE.match(value):
            rendered = value
        else:
            rendered = _quote_double(value)
        if start == end and start > 0 and not self.text[start - 1].isspace():
            rendered = " " + rendered
        if node.style in ("|", ">") and self.text[start:end].endswith("\n"):
            rendered += "\n"
        self.edits.append((start, end, rendered))

    def _redefine(self, declared: _Declared, path: str) -> None:
        node = declared.node
        id_node = _get(node, "id")
        id_text = self.text[id_node.start_mark.index : id_node.end_mark.index]  # type: ignore[union-attr]
        source = _quote_double(telemetry_uri(path))
        start, end = node.start_mark.index, _content_end(node)
        if node.flow_style:
            rendered = f"{{id: {id_text}, kind: const, source: {source}}}"
        else:
            pad = " " * node.start_mark.column
            rendered = f"id: {id_text}\n{pad}kind: const\n{pad}source: {source}"
            if self.text[start:end].endswith("\n"):
                rendered += "\n"
        self.edits.append((start, end, rendered))

    def _append_nodes(self, entries: Sequence[tuple[str, tuple[tuple[str, str], ...]]]) -> None:
        """Append ``{id, <fields>}`` nodes in the ``nodes`` list's style (flow or block)."""
        rendered = [
            (node_id if _PLAIN_SAFE.match(node_id) else _quote_double(node_id), fields) for node_id, fields in entries
        ]
        flow = ", ".join(
            "{" + ", ".join([f"id: {i}", *(f"{k}: {v}" for k, v in fields)]) + "}" for i, fields in rendered
        )

        def block(pad: str) -> str:
            return "\n".join(
                f"{pad}- id: {i}" + "".join(f"\n{pad}  {k}: {v}" for k, v in fields) for i, fields in rendered
            )

        seq = self.nodes_seq
        if seq is None:
            if self.root.flow_style:
                at = self.root.end_mark.index - 1
                self.edits.append((at, at, f", nodes: [{flow}]"))
            else:
                self._insert_after(_content_end(self.root), "nodes:\n" + block("  "))
        elif seq.flow_style:
            if seq.value:
                at = seq.value[-1].end_mark.index
                self.edits.append((at, at, ", " + flow))
            else:
                at = seq.end_mark.index - 1
                self.edits.append((at, at, flow))
        else:
            self._insert_after(_content_end(seq), block(" " * seq.start_mark.column))

    def _add_semantic(self, topo: yaml.MappingNode, semantics: yaml.Node | None, key: str, value: str) -> None:
        id_text = value if _PLAIN_SAFE.match(value) else _quote_double(value)
        if isinstance(semantics, yaml.MappingNode) and semantics.flow_style:
            if semantics.value:
                at = semantics.value[-1][1].end_mark.index
                self.edits.append((at, at, f", {key}: {id_text}"))
            else:
                at = semantics.end_mark.index - 1
                self.edits.append((at, at, f"{key}: {id_text}"))
        elif isinstance(semantics, yaml.MappingNode) and semantics.value:
            pad = " " * semantics.value[0][0].start_mark.column
            self._insert_after(_content_end(semantics), f"{pad}{key}: {id_text}")
        else:
            pad = " " * (topo.start_mark.column + 2)
            self._insert_after(_content_end(topo), f"{' ' * topo.start_mark.column}semantics:\n{pad}{key}: {id_text}")

    def _insert_after(self, at: int, line: str) -> None:
        """Insert ``line`` as a new line after offset ``at`` (the end of some node's own text)."""
        if at > 0 and self.text[at - 1] == "\n":
            self.edits.append((at, at, line + "\n"))
        else:
            self.edits.append((at, at, "\n" + line))

    def _apply(self) -> str:
        """Apply the edits back to front; insertions at one offset keep the order they were made in."""
        ordered = sorted(enumerate(self.edits), key=lambda e: (e[1][0], e[1][1], e[0]))
        out: list[str] = []
        cursor = 0
        for _, (start, end, replacement) in ordered:
            if start < cursor:
                raise FlowTimeError("Overlapping model rewrite edits.", code="internal_error")
            out.append(self.text[cursor:start])
            out.append(replacement)
            cursor = end
        out.append(self.text[cursor:])
        return "".join(out)
