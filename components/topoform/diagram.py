"""The topology as a picture: one graph, drawn as Mermaid, DOT or a self-contained SVG.

Pure: :func:`graph` reads a :class:`~topoform.planner.Plan`; the renderers read the graph. Sites
are groups; clusters, stores, replicas and endpoints are nodes; edges say who serves, fails over
to, replicates to, backs up to, stands by for, or reads from whom. Node IDs derive from topology
keys, so the same topology always draws the same picture.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from .planner import STANDBY, Plan

__all__ = ["Edge", "Graph", "Node", "dot", "graph", "mermaid", "svg"]


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    """``cluster``, ``store``, ``replica`` or ``endpoint``."""
    label: str
    detail: str
    group: str
    """The site key the node is drawn in."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    dashed: bool = False


@dataclass
class Graph:
    groups: dict[str, str] = field(default_factory=dict)
    """Site key -> its caption (``aws-east: aws us-east-1``)."""
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _id(kind: str, key: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9]', '_', key)}"


def graph(plan: Plan) -> Graph:
    """Every site, cluster, store (and replica) and endpoint, with their relations."""
    g = Graph()
    for key in sorted(plan.sites):
        s = plan.sites[key]
        where = f"{s.provider} {s.region}" if s.region else s.provider
        g.groups[key] = f"{key}: {where}" + (f" (backup {s.backup_region})" if s.backup_region else "")
    for key in sorted(plan.clusters):
        c = plan.clusters[key]
        pools = c.spec["node_pools"]
        gpus = [f"{p['max_nodes']} x {p['gpu_count']}x {p['gpu_type']}" for p in pools.values() if "gpu_type" in p]
        region = c.spec.get("region", "")
        detail = ", ".join(gpus) or f"{len(pools)} CPU pools"
        g.nodes.append(Node(_id("cluster", key), "cluster", f"cluster {key}", f"{region + ': ' if region else ''}{detail}", c.site))
        if key.endswith(f".{STANDBY}"):
            g.edges.append(Edge(_id("cluster", key), _id("cluster", key[: -len(STANDBY) - 1]), "standby for", dashed=True))
    for key in sorted(plan.stores):
        st = plan.stores[key]
        spec = st.spec
        size = f"{spec['size_gb']:,} GB" if "size_gb" in spec else "size not set"
        g.nodes.append(Node(_id("store", key), "store", f"store {key}", f"{spec.get('region') or 'on-prem'}: {size}", st.site))
        replica = spec.get("replica")
        if replica:
            g.nodes.append(Node(_id("replica", key), "replica", f"replica of {key}", replica["region"], st.site))
            g.edges.append(Edge(_id("store", key), _id("replica", key), "replicates"))
        target = spec.get("backup_target")
        if target:
            g.edges.append(Edge(_id("store", key), _id("store", target["store"]), "backs up to", dashed=True))
    for key in sorted(plan.endpoints):
        ep = plan.endpoints[key]
        if key.endswith(".failover"):
            continue  # drawn as the primary's failover edge
        exposure = "public" if ep.spec["public"] else "internal"
        domain = ep.spec.get("domain")
        g.nodes.append(Node(_id("endpoint", key), "endpoint", f"endpoint {key}", f"{exposure}: {domain}" if domain else exposure, plan.clusters[ep.cluster].site))
        g.edges.append(Edge(_id("endpoint", key), _id("cluster", ep.cluster), "serves"))
        if ep.secondary:
            g.edges.append(Edge(_id("endpoint", key), _id("cluster", plan.endpoints[ep.secondary].cluster), "fails over to", dashed=True))
    for key in sorted(plan.identities):
        ident = plan.identities[key]
        for grant in ident.spec["grants"]:
            g.edges.append(Edge(_id("cluster", ident.cluster), _id("store", grant["store"]), f"{key}: {grant['mode']}"))
    return g


# --------------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(g: Graph) -> str:
    """A ``flowchart LR`` with one subgraph per site (renders on GitHub and GitLab)."""
    shapes = {"cluster": ('["', '"]'), "store": ('[("', '")]'), "replica": ('[("', '")]'), "endpoint": ('(["', '"])')}
    lines = ["flowchart LR"]
    for group, caption in g.groups.items():
        lines.append(f'  subgraph {_id("site", group)}["{_mermaid_text(caption)}"]')
        for n in g.nodes:
            if n.group == group:
                left, right = shapes[n.kind]
                lines.append(f"    {n.id}{left}{_mermaid_text(n.label)}<br/>{_mermaid_text(n.detail)}{right}")
        lines.append("  end")
    for e in g.edges:
        arrow = "-.->" if e.dashed else "-->"
        lines.append(f'  {e.source} {arrow}|"{_mermaid_text(e.label)}"| {e.target}')
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- DOT


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(g: Graph) -> str:
    """Graphviz DOT with one cluster per site."""
    shapes = {"cluster": "box3d", "store": "cylinder", "replica": "cylinder", "endpoint": "oval"}
    lines = [
        "digraph topology {", "  rankdir=LR;", '  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.6];',
        '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for group, caption in g.groups.items():
        lines.append(f'  subgraph "cluster_{_id("site", group)}" {{')
        lines.append(f'    label="{_dot_text(caption)}"; style=rounded; color=gray50;')
        for n in g.nodes:
            if n.group == group:
                lines.append(f'    {n.id} [shape={shapes[n.kind]}, label="{_dot_text(n.label)}\\n{_dot_text(n.detail)}"];')
        lines.append("  }")
    for e in g.edges:
        style = ", style=dashed" if e.dashed else ""
        lines.append(f'  {e.source} -> {e.target} [label="{_dot_text(e.label)}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz_svg(g: Graph) -> str | None:
    """DOT rendered by Graphviz's ``dot``, where it is installed (``None`` otherwise)."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    proc = subprocess.run([exe, "-Tsvg"], input=dot(g), capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        return None
    svg_text = proc.stdout[proc.stdout.find("<svg") :]
    # Graphviz sizes the picture in points; the page scales it instead (nothing clipped).
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg width="100%"', svg_text, count=1)


# --------------------------------------------------------------------------- built-in SVG

_BOX_W, _BOX_H, _GAP_Y, _COL_W, _PAD, _TOP, _LANE = 220, 46, 26, 420, 20, 84, 22
_FILL = {"cluster": "#e8f0fe", "store": "#e6f4ea", "replica": "#f1f8e9", "endpoint": "#fef7e0"}
_ORDER = {"endpoint": 0, "cluster": 1, "store": 2, "replica": 3}


def svg(g: Graph) -> str:
    """A self-contained SVG, no tool needed: one column per site (endpoints, clusters, stores,
    replicas from the top). An edge within a site loops through the gutter on its right, each in a
    lane of its own; an edge between sites runs below every site, each in a lane of its own, so
    it crosses no other site's boxes and no two labels share a place. It scales to the page (no
    clipping) and carries a legend. Graphviz lays out better; this always works."""
    columns = list(g.groups)
    pos: dict[str, tuple[int, int]] = {}
    heights = []
    for col, group in enumerate(columns):
        members = sorted((n for n in g.nodes if n.group == group), key=lambda n: _ORDER[n.kind])
        for row, n in enumerate(members):
            pos[n.id] = (_PAD + col * _COL_W + 16, _TOP + row * (_BOX_H + _GAP_Y))
        heights.append(_TOP + len(members) * (_BOX_H + _GAP_Y))
    edges = [e for e in g.edges if e.source in pos and e.target in pos]
    across = [e for e in edges if pos[e.source][0] != pos[e.target][0]]
    frames_bottom = max(heights + [160])
    lanes_top = frames_bottom + 24
    legend_top = lanes_top + len(across) * _LANE + 16
    width = _PAD * 2 + max(len(columns), 1) * _COL_W
    height = legend_top + 44
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        'font-family="Helvetica, Arial, sans-serif" role="img" aria-label="topology diagram">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/></marker></defs>',
    ]
    for col, group in enumerate(columns):
        x = _PAD + col * _COL_W
        name, _, where = g.groups[group].partition(": ")
        out.append(f'<g class="site" id="{_id("site", group)}"><rect x="{x}" y="{_PAD}" width="{_COL_W - 16}" height="{frames_bottom - _PAD}" rx="10" fill="#fafafa" stroke="#9aa0a6"/>')
        out.append(f'<text x="{x + 12}" y="{_PAD + 22}" font-size="13" font-weight="bold">{html.escape(name)}</text>')
        out.append(f'<text x="{x + 12}" y="{_PAD + 40}" font-size="11" fill="#3c4043">{html.escape(where[:48])}</text></g>')
    loops: dict[int, int] = {}
    for e in edges:
        (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
        dash = ' stroke-dasharray="5,4"' if e.dashed else ""
        if x1 == x2:  # same site: a loop through the gutter right of the boxes, a lane per edge
            k = loops.get(x1, 0)
            loops[x1] = k + 1
            sy, ty = y1 + _BOX_H // 2 - 6 + 4 * k, y2 + _BOX_H // 2 - 6 + 4 * k
            sx = tx = x1 + _BOX_W
            bulge = sx + 14 + 14 * k
            path = f"M{sx},{sy} L{bulge},{sy} L{bulge},{ty} L{tx},{ty}"
            lx, ly, anchor = bulge + 4, min(sy, ty) + 14 + 13 * k, "start"
        else:  # between sites: out of the source's left side, down its site's margin, along a lane
            # below every site, up the target site's margin, into the target's left side: no box crossed
            i = across.index(e)
            lane = lanes_top + i * _LANE
            margin = 3 + 3 * (i % 4)
            sx, tx = x1 - margin, x2 - margin
            sy, ty = y1 + _BOX_H // 2 + 6, y2 + _BOX_H // 2 + 6
            path = f"M{x1},{sy} L{sx},{sy} L{sx},{lane} L{tx},{lane} L{tx},{ty} L{x2},{ty}"
            lx, ly, anchor = (sx + tx) // 2, lane - 4, "middle"
        out.append(f'<g class="edge"><path d="{path}" fill="none" stroke="#5f6368"{dash} marker-end="url(#arrow)"/>')
        out.append(f'<text x="{lx}" y="{ly}" font-size="10" fill="#3c4043" text-anchor="{anchor}" paint-order="stroke" stroke="#ffffff" stroke-width="3">{html.escape(e.label)}</text></g>')
    for n in g.nodes:
        x, y = pos[n.id]
        out.append(f'<g class="node {n.kind}" id="{n.id}"><rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="{_FILL[n.kind]}" stroke="#5f6368"/>')
        out.append(f'<text x="{x + 8}" y="{y + 18}" font-size="12" font-weight="bold">{html.escape(n.label[:30])}</text>')
        out.append(f'<text x="{x + 8}" y="{y + 35}" font-size="10">{html.escape(n.detail[:38])}</text></g>')
    out.append(f'<g class="legend" transform="translate({_PAD},{legend_top})">')
    for i, (kind, fill) in enumerate(_FILL.items()):
        out.append(f'<rect x="{i * 110}" y="0" width="14" height="14" rx="3" fill="{fill}" stroke="#5f6368"/><text x="{i * 110 + 20}" y="11" font-size="11">{kind}</text>')
    x = len(_FILL) * 110
    out.append(f'<path d="M{x},7 L{x + 30},7" stroke="#5f6368" stroke-dasharray="5,4"/><text x="{x + 36}" y="11" font-size="11">standby, backup or failover</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
