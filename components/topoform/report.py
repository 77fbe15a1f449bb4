"""Readable renderings of check results and cost estimates: text for terminals, markdown for
pull requests (jinja2 templates under ``templates/``)."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import jinja2

from .cost import Change, Estimate, Line, Range, pool_path, totals
from .place import Constraints, PoolPlacement
from .planner import Plan
from .specs import capacity_of

if TYPE_CHECKING:  # the check imports the Pulumi SDK; cost, place and report do not need it
    from .check import CheckResult

__all__ = ["check_markdown", "check_text", "cost_diff_markdown", "cost_diff_text", "cost_markdown", "cost_text", "environment_report", "groups", "place_text", "usd"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("topoform", "templates"), autoescape=False, keep_trailing_newline=True, trim_blocks=False)


def usd(value: Any, signed: bool = False) -> str:
    """``12,345.67`` (``+12,345.67`` with ``signed``)."""
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def span(r: Range | None, signed: bool = False) -> str:
    """A monthly range: one figure when min and max agree."""
    if r is None:
        return "—"
    return usd(r.min, signed) if r.min == r.max else f"{usd(r.min, signed)} .. {usd(r.max, signed)}"


def _num(d: Any) -> str:
    text = f"{d:,.2f}".rstrip("0").rstrip(".")
    return text


def quantity(line: Line) -> str:
    """``$55.04/hour x 0..16 nodes``: the unit price and the quantity range."""
    q = _num(line.quantity_min) if line.quantity_min == line.quantity_max else f"{_num(line.quantity_min)}..{_num(line.quantity_max)}"
    unit = {"node-hour": "nodes", "hour": "", "GB-month": "GB", "GB": "GB", "month": ""}.get(line.unit, line.unit)
    if line.unit in ("hour", "month") and line.quantity_min == line.quantity_max == 1:
        return f"${line.unit_usd}/{line.unit}"
    return f"${line.unit_usd}/{line.unit.replace('node-', '')} x {q} {unit}".rstrip()


def subject(urn: str) -> str:
    """What a finding is about: the resource's name, or the whole stack for a stack-level
    finding (a budget rule's), whose URN is empty."""
    return urn.split("::")[-1] if urn else "the stack"


def subject_type(urn: str) -> str:
    """The resource's type (``aws:eks/cluster:Cluster``), or ``stack`` for a stack-level finding."""
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) > 3 else "stack"


_ENV.filters.update(usd=usd, span=span, quantity=quantity, subject=subject, subject_type=subject_type, percent=lambda c: percent(c))
_HTML = jinja2.Environment(loader=jinja2.PackageLoader("topoform", "templates"), autoescape=True, keep_trailing_newline=True)
_HTML.filters.update(usd=usd, span=span, quantity=quantity, subject=subject, subject_type=subject_type)


def _budget_line(est: Estimate) -> str | None:
    if est.budget is None:
        return None
    share = est.total.max / est.budget if est.budget else 0
    verdict = "over budget" if share > 1 else "within budget"
    if share <= 1 and est.unpriced:
        verdict += f" for what is priced: {len(est.unpriced)} item{'s' if len(est.unpriced) > 1 else ''} below {'are' if len(est.unpriced) > 1 else 'is'} not"
    return f"budget {usd(est.budget)}: the maximum is {share:.0%} of it ({verdict})"


def cost_text(est: Estimate) -> str:
    """A table per site: each line's monthly range, then totals per site, cloud and overall."""
    rows: list[tuple[str, str, str]] = []
    by_site = est.by("site")
    for site in by_site:
        lines = [line for line in est.lines if line.site == site]
        rows.append((f"site {site} ({lines[0].cloud})", "", ""))
        for line in lines:
            what = f"{line.description}, {line.pricing}" if line.pricing in ("spot", "on-demand", "flex-start") else line.description
            detail = quantity(line) if line.pricing != "not priced" else "not priced"
            rows.append((f"  {line.path}", f"{what}; {detail}" + (f" [{line.note}]" if line.note else ""), span(line.monthly)))
        rows.append(("  site total", "", span(by_site[site])))
    for cloud, r in est.by("cloud").items():
        rows.append((f"{cloud} total", "", span(r)))
    rows.append(("total", "", span(est.total)))
    width = max(len(r[0]) for r in rows)
    out = [
        f"topoform cost: {est.name}/{est.environment}, USD per month at minimum .. maximum scale "
        f"({est.to_dict()['hours_per_month']} h a month; catalog prices read {est.prices_read})"
    ]
    for name, what, money in rows:
        out.append(f"{name.ljust(width)}  {money.rjust(26)}  {what}".rstrip())
    budget = _budget_line(est)
    if budget:
        out.append(budget)
    for item in est.unpriced:
        out.append(f"unpriced: {item}")
    out.append("not priced: " + "; ".join(est.not_priced))
    return "\n".join(out) + "\n"


def cost_markdown(est: Estimate) -> str:
    return _ENV.get_template("cost.md.j2").render(est=est, budget=_budget_line(est), by_cloud=est.by("cloud"), by_site=est.by("site"))


def cost_diff_text(before: Estimate, after: Estimate, changes: list[Change]) -> str:
    out = [f"topoform cost --diff: {before.environment} -> {after.environment}, USD per month (min .. max)"]
    width = max([len(c.path) for c in changes] + [5])
    if changes:
        out.append(f"{'':8} {'item'.ljust(width)}  {'before'.rjust(26)}    {'after'.rjust(26)}  change")
    for c in changes:
        out.append(f"{c.status:8} {c.path.ljust(width)}  {span(c.before).rjust(26)} -> {span(c.after).rjust(26)}  {span(c.delta, signed=True)} ({percent(c)})  {c.description}")
    if not changes:
        out.append("no cost changes")
    out.append(f"total: {span(before.total)} -> {span(after.total)} ({span(totals(changes), signed=True)})")
    return "\n".join(out) + "\n"


def percent(change: Change) -> str:
    """``+12%`` at maximum scale; ``new`` or ``gone`` where one side is absent."""
    if change.before is None:
        return "new"
    if change.after is None:
        return "gone"
    return "n/a" if change.percent is None else f"{change.percent:+}%"


def cost_diff_markdown(before: Estimate, after: Estimate, changes: list[Change]) -> str:
    return _ENV.get_template("cost-diff.md.j2").render(before=before, after=after, changes=changes, delta=totals(changes))


def groups(result: CheckResult) -> list[dict[str, Any]]:
    """Violations grouped by policy, mandatory first (the result's order)."""
    from .check import RULE_BY_NAME

    out: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for v in result.violations:
        rule = RULE_BY_NAME[v.policy]
        group = out.setdefault(
            v.policy,
            {
                "policy": v.policy,
                "id": rule.id,
                "severity": v.severity,
                "enforcement": v.enforcement,
                "description": rule.description,
                "remediation": rule.remediation,
                "violations": [],
            },
        )
        group["violations"].append(v)
    return list(out.values())


def check_text(result: CheckResult) -> str:
    lines = [
        f"topoform check: stack {result.stack}: {result.resources} resources, {result.policies} policies, "
        f"{len(result.mandatory)} mandatory and {len(result.violations) - len(result.mandatory)} advisory findings"
    ]
    for g in groups(result):
        lines.append(f"{g['enforcement'].upper()} {g['id']} {g['policy']} ({g['severity']}): {g['description']}")
        for v in g["violations"]:
            if v.location is not None:
                lines.append(f"  {v.location['file']}:{v.location['line']}: {v.location['field']}")
            lines.append(f"  {v.urn or 'the stack'}")
            lines.append(f"    {v.message}")
        lines.append(f"  fix: {g['remediation']}")
    if not result.mandatory:
        lines.append("no mandatory violations")
    return "\n".join(lines) + "\n"


def check_markdown(result: CheckResult) -> str:
    return _ENV.get_template("check.md.j2").render(result=result, groups=groups(result))


def hourly(value: Any) -> str:
    """An hourly price to at most four decimals: ``$55.04/h``."""
    return "$" + f"{value:,.4f}".rstrip("0").rstrip(".") + "/h"


def place_text(placements: list[PoolPlacement], allowed: Constraints, top: int = 5) -> str:
    """Per GPU pool: where it is, the pick, the next cheapest offerings and why they lose, and
    what the constraint ruled out (summarised by cloud and reason)."""
    regions = ", ".join(allowed.regions) if allowed.regions else "any region"
    out = [
        f"topoform place: clouds {', '.join(allowed.clouds)}; {regions}; jurisdictions {', '.join(allowed.jurisdictions)}; "
        f"spot {'allowed' if allowed.spot else 'not allowed'} (USD; a month = the pool at its maximum for 730 h)"
    ]
    if not placements:
        out.append("no GPU pools to place")
    for p in placements:
        out.append(f"{p.path}: {p.max_nodes} x {p.gpus_per_node}x {p.gpu}, {p.capacity}")
        i = 0
        for step in p.steps:
            price = f"{hourly(step.hourly_usd)}, {usd(step.monthly_usd)} a month" if step.hourly_usd is not None and step.monthly_usd is not None else "not priced"
            held = f"{step.nodes} held" if step.ref else f"up to {step.nodes}"
            i += not step.instead
            what = f"  or {step.instead}" if step.instead else f"step {i} {step.kind}{' ' + step.ref if step.ref else ''}"
            out.append(f"  {what}: {held}, {price}" + (f" ({step.note})" if step.note else ""))
        for source in dict.fromkeys(step.source for step in p.steps if step.source):
            out.append(f"  priced from {source}")
        if p.held:
            out.append(f"  (the {p.held} reserved nodes are billed wherever the others run: the comparison below is for the other {p.max_nodes - p.held})")
        if p.current:
            c = p.current
            out.append(f"  now   {c.cloud} {c.region} {c.machine}: {hourly(c.hourly_usd)}, {usd(c.monthly_max_usd)} a month")
        elif p.where.startswith("onprem"):
            out.append("  now   on-prem (owned, not priced)")
        else:
            out.append(f"  now   {p.where}: not priced (the catalog has no {p.capacity} price for its machine)")
        best = p.best
        if best is None:
            out.append("  pick  none: no offering satisfies the constraints")
        else:
            saving = p.saving_monthly_usd
            verdict = f"saves {usd(saving)} a month" if saving else "already the cheapest" if p.current and p.current.hourly_usd <= best.hourly_usd else ""
            # Owned hardware has no price to beat: the cheapest cloud is what renting it would cost, not a pick.
            word = "pick " if p.current else "cloud"
            if not p.current:
                verdict = "what renting it would cost; owned hardware has no saving to compare"
            out.append(f"  {word} {best.cloud} {best.region} {best.machine}: {hourly(best.hourly_usd)}, {usd(best.monthly_max_usd)} a month" + (f" ({verdict})" if verdict else ""))
            for o in p.ranked[1:top]:
                out.append(f"        {o.cloud} {o.region} {o.machine}: {hourly(o.hourly_usd)} — {p.why_not(o)}")
            if len(p.ranked) > top:
                rest = len(p.ranked) - top
                out.append(f"        ... {rest} more allowed offering{'s' if rest != 1 else ''}, none cheaper")
        reasons: dict[tuple[str, str], int] = {}
        for r in p.rejected:
            reasons[(r.cloud, r.reason)] = reasons.get((r.cloud, r.reason), 0) + 1
        for (cloud, reason), n in sorted(reasons.items()):
            out.append(f"  out   {cloud}: {reason}" + (f" ({n} offerings)" if n > 1 else ""))
        for cloud, regions_ in sorted(p.unpriced_regions.items()):
            n = len(regions_)
            out.append(f"  note  {cloud}: also offered in {n} region{'s' if n != 1 else ''} the catalog has no {p.capacity} price for")
    return "\n".join(out) + "\n"


def _rows(plan: Plan, est: Estimate) -> dict[str, Any]:
    """What both report formats show, as plain rows."""
    monthly = {line.path: line.monthly for line in est.lines}

    def total(prefix: str) -> Range | None:
        found = [r for path, r in monthly.items() if path == prefix or path.startswith(prefix + ".")]
        return sum(found, Range(found[0].min * 0, found[0].max * 0)) if found else None

    clusters = []
    for key in sorted(plan.clusters):
        c = plan.clusters[key]
        pools = []
        for pk in sorted(c.spec["node_pools"]):
            p = c.spec["node_pools"][pk]
            size = str(p["min_nodes"]) if p["min_nodes"] == p["max_nodes"] else f"{p['min_nodes']}..{p['max_nodes']}"
            pools.append(
                {
                    "key": pk,
                    "machine": p["machine_type"],
                    "gpus": f"{p['gpu_count']}x {p['gpu_type']}" if "gpu_type" in p else "",
                    "nodes": size,
                    "capacity": capacity_of(p),
                    "monthly": monthly.get(pool_path(key, pk, p)),
                }
            )
        clusters.append({"key": key, "site": c.site, "version": c.spec.get("kubernetes_version"), "api": c.spec.get("api_access", "existing"), "pools": pools})
    stores = []
    for key in sorted(plan.stores):
        spec = plan.stores[key].spec
        stores.append(
            {
                "key": key,
                "site": plan.stores[key].site,
                "region": spec.get("region"),
                "size": f"{spec['size_gb']:,} GB" if "size_gb" in spec else "not set",
                "encryption": "its storage class's" if plan.stores[key].provider == "onprem" else "customer-managed key" if spec["customer_managed_key"] else "provider-managed key",
                "access": "public" if spec["public"] else "private",
                "replica": spec["replica"]["region"] if "replica" in spec else (f"Velero to {spec['backup_target']['store']}" if "backup_target" in spec else ""),
                "monthly": total(f"storage.{key}"),
            }
        )
    endpoints = []
    for key in sorted(plan.endpoints):
        ep = plan.endpoints[key]
        if key.endswith(".failover"):
            continue
        endpoints.append(
            {
                "key": key,
                "cluster": ep.cluster,
                "exposure": "public" if ep.spec["public"] else "internal",
                "domain": ep.spec.get("domain"),
                "allowed": ", ".join(ep.spec["allowed_cidrs"]) or "—",
                "failover": plan.endpoints[ep.secondary].cluster if ep.secondary else None,
            }
        )
    return {"sites": [plan.sites[k] for k in sorted(plan.sites)], "clusters": clusters, "stores": stores, "endpoints": endpoints}


def environment_report(plan: Plan, est: Estimate, result: CheckResult | None, fmt: str) -> str:
    """The environment on one page: sites, clusters and pools, stores and replicas, endpoints,
    cost ranges, policy results and a diagram (Mermaid in markdown; an SVG inlined in HTML,
    drawn by Graphviz where it is installed)."""
    from .diagram import graph, graphviz_svg, mermaid, svg

    g = graph(plan)
    context: dict[str, Any] = {
        "plan": plan,
        "est": est,
        "result": result,
        "groups": groups(result) if result else [],
        "budget": _budget_line(est),
        "by_cloud": est.by("cloud"),
        "by_site": est.by("site"),
        **_rows(plan, est),
    }
    if fmt == "markdown":
        return _ENV.get_template("report.md.j2").render(mermaid=mermaid(g), **context)
    drawn = graphviz_svg(g)
    return _HTML.get_template("report.html.j2").render(
        diagram=drawn or svg(g), diagram_tool="Graphviz" if drawn else "drawn by topoform; install Graphviz for a laid-out graph", **context
    )
