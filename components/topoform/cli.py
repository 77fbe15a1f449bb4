"""The `topoform` command line.

    topoform validate <env|file>        check a topology (no Pulumi SDK is imported)
    topoform preview  <env|file> [--json]  run the program offline and show what it creates
    topoform lock     <env|file>        record the environment's stateful entries (clusters, stores)
    topoform check    <env|file> [--json | --format markdown] [--policy-config FILE]
                                        run the policy pack offline; exit 1 on a mandatory violation
    topoform render   <env|file> [--kubernetes DIR] [--terraform-plan FILE]
                                        what the program creates, for other scanners (Checkov)
    topoform cost     <env|file> [--json | --format markdown] [--diff OTHER] [--policy-config]
                                        the monthly cost range, line by line, from the catalog
    topoform place    <env|file> [--json]   the cheapest offerings for each GPU pool, within `placement`
    topoform report   <env|file> [--format html|markdown] [-o FILE]   the environment on one page
    topoform new      <env> --from <env>    a new environment's stack file and topology
    topoform schema   [-o FILE]             the topology's JSON Schema, for editors

``<env>`` is a stack of the Pulumi project (``stacks/Pulumi.<env>.yaml`` names
its topology file). Exit codes: 0 success; 2 invalid input, one line per
problem as ``file:line: field.path: message``; 1 anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .errors import Problem, TopologyError
from .loader import Loaded, load_plan
from .planner import Plan
from .project import Target, resolve

if TYPE_CHECKING:
    from .cost import Estimate

__all__ = ["main"]

EXIT_INVALID = 2


class UsageError(Exception):
    """A command line that cannot be carried out as given (exit 2, one line)."""


def _write_file(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _rel(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def _relative(p: Problem) -> Problem:
    """The problem with its file shown relative to the working directory."""
    return replace(p, location=replace(p.location, file=_rel(p.location.file))) if p.location is not None else p


def _problems(exc: TopologyError) -> int:
    for p in exc.problems:
        print(_relative(p).format(), file=sys.stderr)
    return EXIT_INVALID


def _load(arg: str, project: str | None) -> tuple[Target, Plan]:
    target, _, plan = _load_all(arg, project)
    return target, plan


def _load_all(arg: str, project: str | None, defer: Sequence[str] = ()) -> tuple[Target, Loaded, Plan]:
    target = resolve(arg, project)
    loaded, plan = load_plan(target.topology, defer=defer)
    return target, loaded, plan


def _estimate(loaded: Loaded, plan: Plan) -> Estimate:
    from .cost import estimate

    budget = loaded.topology.budget
    return estimate(plan, budget.monthly_usd if budget else None)


def _derived_policy_config(loaded: Loaded, plan: Plan) -> dict[str, dict[str, object]]:
    """What the pack needs to know of the topology: the budget and the planned cost, and the
    administrators whose cluster-admin bindings are intended."""
    from .planner import administrators

    return {**_estimate(loaded, plan).policy_config(), "rbac-no-cluster-admin": {"administrators": administrators(plan)}}


def _show(text: str) -> None:
    """Human output: coloured and fitted to the terminal there, the plain text when piped."""
    from .console import emit

    emit(text)


def _working(message: str) -> Any:
    """A progress line on the terminal while something slow runs."""
    from .console import working

    return working(message)


def _secret_notes(target: Target, loaded: Loaded) -> list[str]:
    """On-prem sites whose kubeconfig secret the stack's config does not hold (unset, or its
    name mistyped): `pulumi up` stops there, so say it before."""
    import difflib

    import yaml

    from .model import OnPremSite
    from .project import layout

    if target.stack is None or target.project_dir is None:
        return []
    stack_file = layout(target.project_dir).stack_file(target.stack)
    try:
        with open(stack_file, encoding="utf-8") as fh:
            config = (yaml.safe_load(fh) or {}).get("config") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    known = sorted(k.split(":", 1)[1] for k in config if isinstance(k, str) and k.startswith("topoform:"))
    notes = []
    for key, site in sorted(loaded.topology.sites.items()):
        if not isinstance(site, OnPremSite) or site.kubeconfig.secret in known:
            continue
        near = difflib.get_close_matches(site.kubeconfig.secret, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else f'; set it: pulumi config set --secret {site.kubeconfig.secret} "$(cat kubeconfig)" -s {target.stack}'
        location = loaded.source.locations.get(("sites", key, "kubeconfig", "secret"))
        where = f"{_rel(location.file)}:{location.line}: " if location else ""
        notes.append(f"note: {where}sites.{key}.kubeconfig.secret: '{site.kubeconfig.secret}' is not set in {_rel(stack_file)}, so `pulumi up` would stop at this site{hint}")
    return notes


def cmd_validate(args: argparse.Namespace) -> int:
    target, loaded, plan = _load_all(args.target, args.project)
    for note in _secret_notes(target, loaded):
        print(note, file=sys.stderr)
    pools = sum(len(c.spec["node_pools"]) for c in plan.clusters.values())
    print(
        f"{_rel(target.topology)}: valid ({plan.name}/{plan.environment}: {len(plan.sites)} sites, "
        f"{len(plan.clusters)} clusters, {pools} node pools, {len(plan.stores)} stores)"
    )
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from .lock import lock_path, lock_text

    target = resolve(args.target, args.project)
    loaded, _ = load_plan(target.topology, lock=False)  # the lock may be what refuses it now
    path = lock_path(target.topology)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(lock_text(loaded.topology))
    t = loaded.topology
    print(f"wrote {_rel(path)} ({len(t.clusters)} clusters, {len(t.storage)} stores)")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    target, plan = _load(args.target, args.project)
    from .preview import record  # imports Pulumi: only for commands that run the program
    from .summary import preview_text

    stack = target.stack or plan.environment
    with _working(f"running the program offline ({len(plan.sites)} sites, {len(plan.clusters)} clusters)"):
        rec = record(target.topology, stack=stack, project=target.project, program=target.program)
    if args.json:
        sys.stdout.write(rec.to_json())
    else:
        _show(preview_text(plan, stack, rec.resources, rec.notices))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from .check import PolicyConfigError, check, enabled, load_policy_config, merge_policy_config
    from .preview import record
    from .program import DEFER_KEY
    from .report import check_markdown, check_text

    config: dict[str, object] = {}
    try:
        if args.policy_config:
            with open(args.policy_config, encoding="utf-8") as fh:
                config = load_policy_config(fh.read())
        # Unsafe choices an enabled policy judges are reported as that policy's violations
        # (exit 1), not as invalid input; `validate`, `preview` and `pulumi up` still refuse them.
        defer = enabled(config)
    except (OSError, PolicyConfigError) as exc:
        print(f"{args.policy_config}:1: policy config: {exc}", file=sys.stderr)
        return EXIT_INVALID
    target, loaded, plan = _load_all(args.target, args.project, defer)
    for problem in loaded.deferred:
        print(f"note: {_relative(problem).format()} (judged by policy {problem.rule}; `pulumi up` refuses it)", file=sys.stderr)
    for note in _secret_notes(target, loaded):
        print(note, file=sys.stderr)
    stack = target.stack or plan.environment
    with _working(f"running the program offline ({len(plan.sites)} sites, {len(plan.clusters)} clusters)"):
        rec = record(target.topology, stack=stack, project=target.project, program=target.program, config={f"topoform:{DEFER_KEY}": json.dumps(defer)})
    try:
        with _working(f"running {len(rec.resources)} resources through the policy pack"):
            result = check(rec, merge_policy_config(_derived_policy_config(loaded, plan), config))
    except PolicyConfigError as exc:
        print(f"{args.policy_config or 'policy config'}:1: policy config: {exc}", file=sys.stderr)
        return EXIT_INVALID
    from .locate import locate

    places = locate([v.urn for v in result.violations], rec.resources, plan, loaded.source.locations, [v.policy for v in result.violations])
    result = result.located([{**p, "file": _rel(p["file"])} if p else None for p in places])
    if args.json:
        sys.stdout.write(result.to_json())
    elif args.format == "markdown":
        sys.stdout.write(check_markdown(result))
    elif args.format == "sarif":
        from .sarif import sarif

        sys.stdout.write(sarif(result))
    elif args.format == "junit":
        from .sarif import junit

        sys.stdout.write(junit(result))
    else:
        _show(check_text(result))
    return 1 if result.mandatory else 0


def cmd_cost(args: argparse.Namespace) -> int:
    import json

    from .cost import diff
    from .report import cost_diff_markdown, cost_diff_text, cost_markdown, cost_text

    _, loaded, plan = _load_all(args.target, args.project)
    est = _estimate(loaded, plan)
    if args.policy_config:
        sys.stdout.write(json.dumps(_derived_policy_config(loaded, plan), indent=2) + "\n")
        return 0
    if args.diff:
        _, other_loaded, other_plan = _load_all(args.diff, args.project)
        before = _estimate(other_loaded, other_plan)
        changes = diff(before, est)
        if args.json:
            sys.stdout.write(json.dumps({"before": before.total.to_dict(), "after": est.total.to_dict(), "changes": [c.to_dict() for c in changes]}, indent=2) + "\n")
        elif args.format == "markdown":
            sys.stdout.write(cost_diff_markdown(before, est, changes))
        else:
            _show(cost_diff_text(before, est, changes))
        return 0
    if args.json:
        sys.stdout.write(est.to_json())
    elif args.format == "markdown":
        sys.stdout.write(cost_markdown(est))
    else:
        _show(cost_text(est))
    return 0


def cmd_place(args: argparse.Namespace) -> int:
    from .place import constraints, place, to_json
    from .report import place_text

    _, loaded, plan = _load_all(args.target, args.project)
    allowed = constraints(plan, loaded.topology.placement)
    placements = place(plan, allowed)
    if args.json:
        sys.stdout.write(to_json(placements, allowed))
    else:
        _show(place_text(placements, allowed))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if args.format == "html" and not args.output and sys.stdout.isatty():
        # Kilobytes of HTML on a terminal help nobody.
        raise UsageError("report: an HTML page goes to a file: -o FILE (or --format markdown to read it here)")
    from .report import environment_report

    target, loaded, plan = _load_all(args.target, args.project)
    est = _estimate(loaded, plan)
    result = None
    if not args.no_check:
        from .check import check, merge_policy_config
        from .preview import record

        with _working(f"running the program offline ({len(plan.sites)} sites, {len(plan.clusters)} clusters)"):
            rec = record(target.topology, stack=target.stack or plan.environment, project=target.project, program=target.program)
            result = check(rec, merge_policy_config(_derived_policy_config(loaded, plan), {}))
    text = environment_report(plan, est, result, args.format)
    if args.output:
        _write_file(args.output, text)
        print(f"wrote {_rel(args.output)}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import new_environment

    new = new_environment(args.env, args.source, args.project)
    for path in new.files:
        print(f"wrote {_rel(path)}")
    if new.blanked:
        # Another environment's projects, accounts, domains, groups and open doors are not lent silently.
        print(f"left for you to fill in ({args.source}'s values were not copied; `topoform validate {args.env}` points at each):")
        for field, value in new.blanked:
            print(f"  {field} ({args.source}: {value})")
    print(f"next: edit those, then topoform validate {args.env}; topoform lock {args.env}; pulumi stack init {args.env}" if new.blanked
          else f"next: topoform validate {args.env}; topoform lock {args.env}; pulumi stack init {args.env}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import schema_text

    text = schema_text()
    if args.output:
        _write_file(args.output, text)
        print(f"wrote {_rel(args.output)}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    if not (args.kubernetes or args.terraform_plan):
        raise UsageError("render: say what to write: --kubernetes DIR and/or --terraform-plan FILE")
    target, plan = _load(args.target, args.project)
    from .preview import record
    from .render import terraform_plan, write_kubernetes

    with _working(f"running the program offline ({len(plan.sites)} sites, {len(plan.clusters)} clusters)"):
        rec = record(target.topology, stack=target.stack or plan.environment, project=target.project, program=target.program)
    if args.kubernetes:
        try:
            written = write_kubernetes(rec, args.kubernetes)
        except OSError as exc:
            raise UsageError(f"cannot write {args.kubernetes}: {exc.strerror or exc}") from None
        for path in written:
            print(f"wrote {_rel(path)}")
    if args.terraform_plan:
        tf = terraform_plan(rec)
        _write_file(args.terraform_plan, tf.to_json())
        print(f"wrote {_rel(args.terraform_plan)}: {len(tf.plan['planned_values']['root_module']['resources'])} AWS and GCP resources as a Terraform plan")
        for line in tf.skipped:
            print(f"note: left out {line}", file=sys.stderr)
    return 0


_WHERE = argparse.ArgumentParser(add_help=False)
_WHERE.add_argument(
    "-C", "--cwd", "--project", dest="project", default=argparse.SUPPRESS, metavar="DIR",
    help="the Pulumi project directory (default: the nearest Pulumi.yaml above the current directory)",
)


def _command(sub: Any, name: str, summary: str, examples: list[str], *, target: bool = True) -> argparse.ArgumentParser:
    """A subcommand with its description, examples and exit codes in its help, taking the
    environment as `<env>` or `-s/--stack <env>` (Pulumi's habit) and `-C DIR` anywhere."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + EXIT_CODES
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=summary, epilog=epilog, parents=[_WHERE], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if target:
        p.add_argument("target", nargs="?", help="an environment (stack) name or a topology file")
        p.add_argument("-s", "--stack", metavar="ENV", help="the environment (stack), as with `pulumi -s`")
    return p


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topoform", description="GPU infrastructure on every cloud from one topology file per environment.", epilog=EXIT_CODES, parents=[_WHERE]
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = _command(sub, "validate", "check a topology file; imports no Pulumi SDK", ["topoform validate prod", "topoform validate stacks/prod.topology.yaml", "topoform validate -s prod -C ~/infra"])
    p.set_defaults(func=cmd_validate)

    p = _command(sub, "preview", "run the Pulumi program offline under mocks and show every resource (desired state: no comparison with what is deployed)", ["topoform preview dev", "topoform preview -s prod --json > prod.json"])
    p.add_argument("--json", action="store_true", help="print the recorded resources as JSON")
    p.set_defaults(func=cmd_preview)

    p = _command(sub, "check", "run the policy pack offline (no credentials); exit 1 on a mandatory violation", ["topoform check prod", "topoform check prod --format markdown >> comment.md", "topoform check prod --format sarif > prod.sarif"])
    p.add_argument("--json", action="store_true", help="print violations as JSON (same as --format json)")
    p.add_argument(
        "--format",
        choices=["text", "json", "markdown", "sarif", "junit"],
        default="text",
        help="markdown renders a pull-request comment; sarif (2.1.0) and junit place findings on the topology's lines in CI",
    )
    p.add_argument("--policy-config", help="a JSON file like `pulumi preview --policy-pack-config` takes")
    p.set_defaults(func=cmd_check)

    p = _command(sub, "cost", "the monthly cost at minimum and maximum scale, from the catalog's prices", ["topoform cost prod", "topoform cost prod --diff stacks/base.topology.yaml --format markdown"])
    p.add_argument("--json", action="store_true", help='print {"monthly_usd": {"min", "max"}, "items": [...], ...} (same as --format json)')
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text", help="markdown renders a pull-request comment")
    p.add_argument("--diff", metavar="OTHER", help="show what changes in cost from OTHER (an environment or a file) to this one")
    p.add_argument("--policy-config", action="store_true", help="print the budget rules' settings as a `pulumi preview --policy-pack-config` file")
    p.set_defaults(func=cmd_cost)

    p = _command(sub, "place", "the cheapest clouds and regions for each GPU pool, within the topology's placement constraint", ["topoform place prod", "topoform place prod --json"])
    p.add_argument("--json", action="store_true", help="print every offering, ranked, with why each loses")
    p.set_defaults(func=cmd_place)

    p = _command(sub, "report", "the environment on one page: resources, cost, policy results and a diagram", ["topoform report prod -o prod.html", "topoform report prod --format markdown"])
    p.add_argument("--format", choices=["html", "markdown"], default="html", help="html (default) or markdown")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--no-check", action="store_true", help="leave out the policy results (no offline preview: faster)")
    p.set_defaults(func=cmd_report)

    p = _command(sub, "render", "write what the program creates as manifests for other scanners", ["topoform render prod --kubernetes out/k8s --terraform-plan out/plan.json"])
    p.add_argument("--kubernetes", metavar="DIR", help="write every Kubernetes object as YAML, one file per cluster")
    p.add_argument("--terraform-plan", metavar="FILE", help="write the AWS and GCP resources as a Terraform plan (JSON), for Checkov, Trivy and other plan scanners")
    p.set_defaults(func=cmd_render)

    p = _command(sub, "lock", "record the environment's clusters and stores so renames keep their data", ["topoform lock prod"])
    p.set_defaults(func=cmd_lock)

    p = _command(sub, "new", "create an environment from another: its stack file and a topology that extends the same base", ["topoform new staging --from prod"], target=False)
    p.add_argument("env", help="the new environment's name (a Pulumi stack)")
    p.add_argument("--from", dest="source", required=True, metavar="ENV", help="the environment to start from")
    p.set_defaults(func=cmd_new)

    p = _command(sub, "schema", "the topology's JSON Schema, for editors (schema/topology.schema.json)", ["topoform schema -o schema/topology.schema.json"], target=False)
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = _command(sub, "completion", "a shell completion script", ['eval "$(topoform completion bash)"', "topoform completion zsh > ~/.zfunc/_topoform"], target=False)
    p.add_argument("shell", choices=["bash", "zsh", "tcsh"], help="the shell")
    p.set_defaults(func=cmd_completion)
    return parser


def cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    sys.stdout.write(shtab.complete(_parser(), shell=args.shell))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("topoform")
    except PackageNotFoundError:
        return "unknown"


def _environment(args: argparse.Namespace) -> None:
    """One environment, named once: `<env>` or `-s <env>`."""
    if not hasattr(args, "target"):
        return
    if args.target and args.stack and args.target != args.stack:
        raise UsageError(f"{args.command}: name the environment once: '{args.target}' or -s '{args.stack}'")
    args.target = args.target or args.stack
    if not args.target:
        raise UsageError(f"{args.command}: name the environment: topoform {args.command} <env> (or -s <env>)")
    fmt = getattr(args, "format", "text")
    if getattr(args, "json", False) and fmt not in ("text", "json"):
        raise UsageError(f"{args.command}: --json and --format {fmt} ask for two outputs; give one")
    if hasattr(args, "json"):
        args.json = args.json or fmt == "json"


INTERNAL_ERROR = 3
"""topoform failed (a bug, or something it could not handle): distinct from 1, a mandatory
policy violation, and 2, invalid input, so CI can tell a red gate from a broken tool."""
EXIT_CODES = "exit codes: 0 success; 1 a mandatory policy violation (check); 2 invalid input; 3 an internal error"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not hasattr(args, "project"):
        args.project = None
    try:
        _environment(args)
        return int(args.func(args))
    except TopologyError as exc:
        return _problems(exc)
    except UsageError as exc:
        print(f"topoform: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users; TOPOFORM_DEBUG=1 for the traceback
        if os.environ.get("TOPOFORM_DEBUG"):
            raise
        print(f"topoform: internal error: {type(exc).__name__}: {exc} (set TOPOFORM_DEBUG=1 for the traceback)", file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
