"""`topoform report`: what the pages say, and that their diagrams are drawable.

The markdown report's Mermaid block is checked the way Mermaid reads it (every edge joins
declared nodes, subgraphs close); the HTML report's inline SVG must parse as XML and keep every
box inside its canvas, so a browser shows the whole diagram without any tool installed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import STACKS, run_cli
from topoform.diagram import dot, graph, mermaid
from topoform.loader import load_plan
from topoform.planner import Plan

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def prod_plan() -> Plan:
    return load_plan(str(STACKS / "prod.topology.yaml"))[1]


@pytest.fixture(scope="module")
def markdown(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("md") / "prod.md"
    result = run_cli("report", "prod", "--format", "markdown", "-o", str(out))
    assert result.code == 0, result.err
    return out.read_text()


@pytest.fixture(scope="module")
def html_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "prod.html"
    result = run_cli("report", "prod", "--format", "html", "-o", str(out))
    assert result.code == 0, result.err
    return out.read_text()


def expected_ids(plan: Plan) -> set[str]:
    ids = {f"cluster_{k.replace('.', '_').replace('-', '_')}" for k in plan.clusters}
    ids |= {f"store_{k.replace('-', '_')}" for k in plan.stores}
    ids |= {f"replica_{k.replace('-', '_')}" for k, s in plan.stores.items() if "replica" in s.spec}
    ids |= {f"endpoint_{k.replace('-', '_')}" for k in plan.endpoints if not k.endswith(".failover")}
    return ids


def mermaid_block(text: str) -> str:
    match = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert match, "no mermaid block"
    return match.group(1)


def check_mermaid(block: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Nodes declared and edges drawn, after checking the structure Mermaid needs."""
    lines = block.strip().splitlines()
    assert lines[0] == "flowchart LR"
    depth, nodes, edges = 0, set(), []
    for line in lines[1:]:
        s = line.strip()
        if s.startswith("subgraph "):
            assert re.match(r'^subgraph \w+\["[^"]*"\]$', s), f"bad subgraph line {s!r}"
            depth += 1
        elif s == "end":
            depth -= 1
            assert depth >= 0
        elif m := re.match(r'^(\w+) (-->|-\.->)\|"[^"]*"\| (\w+)$', s):
            edges.append((m.group(1), m.group(3)))
        elif m := re.match(r'^(\w+)(\[\("|\["|\(\[")([^"]+)("\)\]|"\]|"\]\))$', s):
            nodes.add(m.group(1))
        else:
            raise AssertionError(f"not Mermaid flowchart syntax: {s!r}")
    assert depth == 0
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def test_markdown_report_has_every_section_and_a_valid_mermaid_diagram(markdown: str, prod_plan: Plan, prod_recording: Any) -> None:
    for heading in ("## Sites", "## Clusters and node pools", "## Storage", "## Endpoints", "## Cost", "## Policies"):
        assert heading in markdown
    nodes, edges = check_mermaid(mermaid_block(markdown))
    assert nodes == expected_ids(prod_plan)
    assert ("store_datasets", "replica_datasets") in edges
    assert ("endpoint_inference", "cluster_lab") in edges  # the failover
    assert ("store_scratch", "store_datasets") in edges  # on-prem backups go to the cloud store
    for key in prod_plan.clusters:
        assert f"| {key} |" in markdown
    for key, store in prod_plan.stores.items():
        assert f"| {key} | {store.site} |" in markdown
    cost = run_cli("cost", "prod", "--json").out
    import json

    total = json.loads(cost)["monthly_usd"]
    assert f"{total['min']:,.2f} .. {total['max']:,.2f}" in markdown
    assert "no mandatory violations" in markdown and f"No findings over {len(prod_recording.resources)} resources" in markdown


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.void = {"meta", "br", "img", "input", "link", "hr"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.void:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_well_formed_and_shows_the_diagram(html_page: str, prod_plan: Plan) -> None:
    parser = _Tags()
    parser.feed(html_page)
    assert parser.stack == []
    text = " ".join(parser.text)
    for key in [*prod_plan.sites, *prod_plan.clusters, *prod_plan.stores]:
        assert key in text
    assert "no mandatory violations" in text

    svg_text = html_page[html_page.index("<svg") : html_page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg_text)
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())  # it scales to the page: the viewBox is its size
    assert width > 0 and height > 0
    boxes = {g.get("id"): g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "")}
    assert set(boxes) == expected_ids(prod_plan)
    for node_id, rect in boxes.items():
        assert rect is not None
        x, y, w, h = (float(rect.get(a, 0)) for a in ("x", "y", "width", "height"))
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height, f"{node_id} is outside the drawing"
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == len(graph(prod_plan).edges)


def test_dot_declares_every_node_an_edge_uses(prod_plan: Plan) -> None:
    text = dot(graph(prod_plan))
    declared = set(re.findall(r"^\s+(\w+) \[shape=", text, re.M))
    assert declared == expected_ids(prod_plan)
    for a, b in re.findall(r"^\s+(\w+) -> (\w+) ", text, re.M):
        assert a in declared and b in declared
    assert text.count("subgraph ") == len(prod_plan.sites)


def test_reports_are_deterministic_and_follow_edits(tmp_path: Path) -> None:
    first = run_cli("report", "dev", "--format", "markdown", "--no-check").out
    assert first == run_cli("report", "dev", "--format", "markdown", "--no-check").out
    assert "## Policies" not in first  # --no-check leaves them out
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: r\nenvironment: dev\nsites:\n  a: {provider: gcp, project: acme-r, region: us-central1}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "storage:\n  s: {site: a, size_gb: 10}\n"
    )
    md = run_cli("report", str(topo), "--format", "markdown", "--no-check").out
    nodes, edges = check_mermaid(mermaid_block(md))
    assert nodes == {"cluster_c", "store_s"} and edges == []


def test_mermaid_escapes_quotes_in_labels(prod_plan: Plan) -> None:
    g = graph(prod_plan)
    g.groups = {k: v + ' "quoted"' for k, v in g.groups.items()}
    check_mermaid(mermaid(g))


def test_the_built_in_diagram_is_legible(prod_plan: Plan) -> None:
    """Issue 15, F6 (looked at with headless Chromium, dev and prod): it scales to the page, edges
    between sites run below every site (crossing no box), no two labels share a place, and a
    legend says what the fills and dashes mean."""
    import xml.etree.ElementTree as ET

    from topoform.diagram import graph, svg

    root = ET.fromstring(svg(graph(prod_plan)))
    assert root.get("width") == "100%" and root.get("viewBox")  # no fixed width to clip
    ns = "{http://www.w3.org/2000/svg}"
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height"))) for g in root.iter(f"{ns}g") if "node" in (g.get("class") or "") for r in g.iter(f"{ns}rect")]
    bottom = max(y + h for _, y, _, h in boxes)
    labels = []
    for edge in (g for g in root.iter(f"{ns}g") if g.get("class") == "edge"):
        path = edge.find(f"{ns}path").get("d")  # type: ignore[union-attr]
        points = [tuple(map(float, p.split(","))) for p in re.findall(r"-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?", path)]
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            for x, y, w, h in boxes:  # no segment runs through a box it does not start or end at
                if ay == by and min(ax, bx) < x + 1 and max(ax, bx) > x + w - 1 and y + 2 < ay < y + h - 2:
                    raise AssertionError(f"{path} crosses the box at {x},{y}")
        if len({x for x, _ in points}) > 1 and points[0][0] < points[-1][0] - 300:  # between sites
            assert max(y for _, y in points) > bottom
        text = edge.find(f"{ns}text")
        labels.append((text.get("x"), text.get("y")))  # type: ignore[union-attr]
    assert len(labels) == len(set(labels))
    legend = [t.text for g in root.iter(f"{ns}g") if g.get("class") == "legend" for t in g.iter(f"{ns}text")]
    assert legend == ["cluster", "store", "replica", "endpoint", "standby, backup or failover"]
