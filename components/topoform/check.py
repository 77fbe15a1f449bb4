"""The offline policy check: the pack's rules over the recording, as `pulumi preview
--policy-pack policies` would judge it, without the engine.

Two paths give the same findings (a test holds them together over every example stack):

* by default the rules are judged in this process: each resource's properties are decoded
  once, the way the pulumi_policy SDK decodes them (``MessageToDict``, its deserializer and its
  unknown-checking proxy), its facts are read once, and each fact goes only to the rules of
  its topic; the stack rules share one list of resources, so the stack facts are read once.
  This is the SDK servicer's per-policy loop without its repetition (it decodes every resource
  once per policy);
* given an ``analyzer`` (the pack as the CLI starts it, or :func:`servicer` in process), every
  resource goes through ``Analyze`` with its properties, options and provider, then the whole
  stack through ``AnalyzeStack``.

Either way the config schema's defaults are applied, as the CLI does, and the user's
``--policy-config`` on top. Rules the analyzer cannot see (``retainOnDelete``) are judged over
the recording itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy
from topoform_policies import PACK_NAME, RETAIN_RULE, RULES, Rule, StackRule, Subject, judge_stack, policies, rule_config
from topoform_policies.base import exempt
from topoform_policies.base import Fact
from topoform_policies.readers import facts, stack_facts
from topoform_policies.rules import schema

from .preview import Recording, fewer_collections

__all__ = ["Analyzer", "CheckResult", "PolicyConfigError", "Violation", "check", "enabled", "load_policy_config", "merge_policy_config", "servicer"]

PACK_VERSION = "0.1.0"


class Analyzer(Protocol):
    """What `check` drives: the SDK's in-process servicer, or a gRPC stub connected to the pack
    as `pulumi preview --policy-pack` starts it (wrap the stub so each call takes a context)."""

    def Configure(self, request: Any, context: Any) -> Any: ...

    def Analyze(self, request: Any, context: Any) -> Any: ...

    def AnalyzeStack(self, request: Any, context: Any) -> Any: ...


class PolicyConfigError(ValueError):
    """The policy config names unknown policies or levels."""

LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "mandatory"}
LEVEL_CODES = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
RULE_BY_NAME = {r.name: r for r in [*RULES, RETAIN_RULE]}


@dataclass(frozen=True)
class Violation:
    policy: str
    severity: str
    enforcement: str
    urn: str
    message: str
    location: Mapping[str, Any] | None = None
    """Where the topology files say it: ``{"file", "line", "field"}`` (see :mod:`topoform.locate`)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "severity": self.severity, "enforcement": self.enforcement, "urn": self.urn, "message": self.message}
        if self.location is not None:
            out["location"] = dict(self.location)
        return out


@dataclass
class CheckResult:
    """What the check found, in a stable order."""

    stack: str
    resources: int
    violations: list[Violation] = field(default_factory=list)
    policies: int = 0

    def located(self, places: list[Mapping[str, Any] | None]) -> CheckResult:
        """The same findings, each with its place in the topology files."""
        found = [replace(v, location=p) for v, p in zip(self.violations, places, strict=True)]
        return CheckResult(self.stack, self.resources, found, self.policies)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "stack": self.stack,
                    "resources": self.resources,
                    "policies": self.policies,
                    "violations": [v.to_dict() for v in self.violations],
                    "mandatory": len(self.mandatory),
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )


def load_policy_config(text: str) -> dict[str, Any]:
    """A `--policy-pack-config` file: ``{"all": level, "<policy>": level | {"enforcementLevel": ..., ...}}``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PolicyConfigError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyConfigError("the policy config must be a JSON object keyed by policy name")
    unknown = sorted(k for k in data if k != "all" and k not in RULE_BY_NAME)
    if unknown:
        raise PolicyConfigError(f"unknown policies {', '.join(unknown)}; known: {', '.join(sorted(RULE_BY_NAME))}")
    return data


def merge_policy_config(base: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (a user's config file) over ``base`` (settings topoform derives, such as the
    budget): a level given as a string keeps the derived properties."""
    out = dict(given)
    for name, props in base.items():
        mine = given.get(name)
        if isinstance(mine, str):
            out[name] = {**props, "enforcementLevel": mine}
        elif isinstance(mine, Mapping):
            out[name] = {**props, **mine}
        else:
            out[name] = dict(props)
    return out


def enabled(config: Mapping[str, Any]) -> list[str]:
    """The policies a config leaves on (raises :class:`PolicyConfigError` on a bad level)."""
    return sorted(r.name for r in RULES if _settings(r.name, config)[0] != "disabled")


def _settings(name: str, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A policy's enforcement level and properties from the config file (CLI semantics)."""
    rule = RULE_BY_NAME[name]
    level = str(config.get("all", rule.enforcement))
    given = config.get(name)
    properties: dict[str, Any] = {}
    if isinstance(given, str):
        level = given
    elif isinstance(given, Mapping):
        properties = {k: v for k, v in given.items() if k != "enforcementLevel"}
        level = str(given.get("enforcementLevel", level))
    if level not in LEVEL_CODES:
        raise PolicyConfigError(f"{name}: enforcement level '{level}' is not advisory, mandatory or disabled")
    specs = schema(rule)
    for key, value in properties.items():
        if key in specs:
            _conforms(specs[key], value, f"{name}.{key}")
    return level, rule_config(rule, properties)


_JSON_TYPES: dict[str, Any] = {"object": Mapping, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def _conforms(spec: Mapping[str, Any], value: Any, where: str) -> None:
    """``value`` has the type the rule's config schema gives (what the engine checks, too)."""
    kind = spec.get("type")
    if isinstance(kind, str) and kind in _JSON_TYPES:
        numeric_bool = kind in ("integer", "number") and isinstance(value, bool)
        if not isinstance(value, _JSON_TYPES[kind]) or numeric_bool:
            raise PolicyConfigError(f"{where}: expected {'an' if kind[0] in 'aeiou' else 'a'} {kind}, got {json.dumps(value)[:60]}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _conforms(spec.get("items") or {}, item, f"{where}[{i}]")
    if isinstance(value, Mapping):
        for key, item in value.items():
            nested = (spec.get("properties") or {}).get(key) or spec.get("additionalProperties")
            if isinstance(nested, Mapping):
                _conforms(nested, item, f"{where}.{key}")


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(json.loads(json.dumps(value)))
    return out


def _options(r: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    o = r["options"]
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=o["protect"],
        ignoreChanges=o["ignoreChanges"],
        deleteBeforeReplace=o["deleteBeforeReplace"],
        deleteBeforeReplaceDefined=True,
        aliases=o["aliases"],
        parent=r["parent"],
    )


def servicer() -> Analyzer:
    """The pulumi_policy SDK's own analyzer servicer over the pack's policies, in this process."""
    return _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, policies(), EnforcementLevel.MANDATORY)


def check(rec: Recording, config: Mapping[str, Any] | None = None, analyzer: Analyzer | None = None) -> CheckResult:
    """Every policy over the recording: judged in this process, or through ``analyzer`` (see
    the module's docstring); the same findings in a stable order either way."""
    config = dict(config or {})
    settings = {r.name: _settings(r.name, config) for r in RULES}
    with fewer_collections():  # decoding every resource's properties is as allocation-heavy as recording them
        violations = _judge(rec, settings) if analyzer is None else _analyze(rec, settings, analyzer)
    violations += _retained(rec, config)
    violations = sorted(set(violations), key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message))
    return CheckResult(stack=rec.stack, resources=len(rec.resources), violations=violations, policies=len(RULES) + 1)


def _decoded(properties: struct_pb2.Struct) -> Any:
    """Properties as a policy receives them from the SDK's servicer."""
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(properties)))


def _subjects(rec: Recording) -> list[Subject]:
    """The custom resources as a stack policy receives them: properties decoded once each, the
    provider's once per provider, property dependencies on resources of the stack only."""
    custom = [r for r in rec.resources if r["custom"]]
    known = {r["urn"] for r in custom}
    by_urn = {r["urn"]: r for r in rec.resources}
    providers: dict[str, Any] = {}
    out = []
    for r in custom:
        wire = rec.wire[r["urn"]]
        ref = r["provider"]
        if ref in by_urn and ref not in providers:
            providers[ref] = _decoded(rec.wire[ref]["properties"])
        out.append(
            Subject(
                type=r["type"],
                name=r["name"],
                urn=r["urn"],
                props=_decoded(wire["properties"]),
                protect=bool(r["options"]["protect"]),
                provider=providers.get(ref, {}),
                provider_urn=ref if ref in by_urn else "",
                parent=r["parent"],
                property_dependencies={k: [u for u in v if u in known] for k, v in wire["property_dependencies"].items()},
            )
        )
    return out


def _unknown(rule: Rule | StackRule, urn: str, error: UnknownValueError) -> Violation:
    """What the servicer reports when a rule reads a value the preview cannot know yet."""
    message = f"can't run policy '{rule.name}' from policy pack '{PACK_NAME}@v{PACK_VERSION}' during preview: {error.message}"
    return Violation(rule.name, rule.severity, "advisory", urn, message)


def _judge(rec: Recording, settings: Mapping[str, tuple[str, dict[str, Any]]]) -> list[Violation]:
    """The rules in this process: each resource's facts read once and handed to the rules of
    their topic; the stack rules over one shared list of resources."""
    enabled = [r for r in RULES if settings[r.name][0] != "disabled"]
    # The config as the servicer hands it to a policy: through protobuf (numbers become floats).
    configs = {r.name: rule_config(r, json_format.MessageToDict(_struct(settings[r.name][1]))) for r in enabled}
    resource_rules = [r for r in enabled if isinstance(r, Rule) and r.scope == "resource"]
    by_topic: dict[str, list[Rule]] = {}
    for rule in resource_rules:
        by_topic.setdefault(rule.topic, []).append(rule)
    subjects = _subjects(rec)
    known: list[list[Fact]] | None = []
    out: list[Violation] = []
    for s in subjects:
        try:
            found = facts(s)  # readers of one resource read no property dependencies
        except UnknownValueError as exc:
            known = None
            out += [_unknown(r, s.urn, exc) for r in resource_rules if not exempt(s.urn, configs[r.name])]
            continue
        if known is not None:
            known.append(found)
        failed: set[str] = set()
        for fact in found:
            for rule in by_topic.get(fact.topic, ()):
                if rule.name in failed or exempt(s.urn, configs[rule.name]):
                    continue
                try:
                    message = rule.check(fact, configs[rule.name])
                except UnknownValueError as exc:
                    failed.add(rule.name)
                    out.append(_unknown(rule, s.urn, exc))
                    continue
                if message:
                    out.append(Violation(rule.name, rule.severity, settings[rule.name][0], s.urn, message))
    if known is not None:
        stack_facts(subjects, known)  # the stack rules below read these, not the readers again
    stack_urn = next((r["urn"] for r in rec.resources if r["type"] == "pulumi:pulumi:Stack"), "")
    for whole in enabled:
        if isinstance(whole, Rule) and whole.scope == "resource":
            continue
        level = settings[whole.name][0]
        try:
            out += [Violation(whole.name, whole.severity, level, f.urn or stack_urn, f.message or whole.description) for f in judge_stack(whole, subjects, configs[whole.name])]
        except UnknownValueError as exc:
            out.append(_unknown(whole, stack_urn, exc))
    return out


def _analyze(rec: Recording, settings: Mapping[str, tuple[str, dict[str, Any]]], analyzer: Analyzer) -> list[Violation]:
    """Every resource through the analyzer's ``Analyze``, then the stack through ``AnalyzeStack``."""
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={name: analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_CODES[level], properties=_struct(props)) for name, (level, props) in settings.items()}
        ),
        None,
    )
    by_urn = {r["urn"]: r for r in rec.resources}

    def provider(r: Mapping[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
        ref = r["provider"]
        p = by_urn.get(ref)
        if p is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(type=p["type"], properties=rec.wire[ref]["properties"], urn=ref, name=p["name"])

    diagnostics: list[Any] = []
    stack_resources = []
    for r in rec.resources:
        if not r["custom"]:
            continue
        wire = rec.wire[r["urn"]]
        prov = provider(r)
        request = analyzer_pb2.AnalyzeRequest(type=r["type"], properties=wire["properties"], urn=r["urn"], name=r["name"], options=_options(r))
        if prov is not None:
            request.provider.CopyFrom(prov)
        for d in analyzer.Analyze(request, None).diagnostics:
            if not d.urn:
                d.urn = r["urn"]  # a resource policy's violation is about the resource analyzed
            diagnostics.append(d)
        resource = analyzer_pb2.AnalyzerResource(
            type=r["type"],
            properties=wire["properties"],
            urn=r["urn"],
            name=r["name"],
            options=_options(r),
            parent=r["parent"],
            dependencies=r["options"]["dependsOn"],
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in wire["property_dependencies"].items()},
        )
        if prov is not None:
            resource.provider.CopyFrom(prov)
        stack_resources.append(resource)
    stack_urn = next((r["urn"] for r in rec.resources if r["type"] == "pulumi:pulumi:Stack"), "")
    for d in analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=stack_resources), None).diagnostics:
        if not d.urn:
            d.urn = stack_urn  # a finding about the whole stack
        diagnostics.append(d)

    violations = []
    for d in diagnostics:
        rule = RULE_BY_NAME.get(d.policyName)
        message = d.message.split("\n", 1)[1] if "\n" in d.message else d.message
        if rule is None:
            continue
        violations.append(Violation(d.policyName, SEVERITY_NAMES.get(d.severity, rule.severity), LEVEL_NAMES[d.enforcementLevel], d.urn, message))
    return violations




def _retained(rec: Recording, config: Mapping[str, Any]) -> list[Violation]:
    """retainOnDelete on every stateful resource of a protected stack (policies cannot see it)."""
    level, props = _settings(RETAIN_RULE.name, config) if RETAIN_RULE.name in config else (RETAIN_RULE.enforcement, rule_config(RETAIN_RULE, {}))
    if level == "disabled":
        return []
    subjects = [
        Subject(type=r["type"], name=r["name"], urn=r["urn"], props=r["inputs"], protect=r["options"]["retainOnDelete"])
        for r in rec.resources
        if r["custom"]
    ]
    protected = [r for r in rec.resources if r["options"]["protect"]]
    mode = props.get("protected", "auto")
    if mode == "no" or (mode == "auto" and not protected):
        return []
    # Judge "protected" through retainOnDelete: the same rule body, with protect read as retain.
    findings = judge_stack(RETAIN_RULE, subjects, {**props, "protected": "yes"})
    return [
        Violation(RETAIN_RULE.name, RETAIN_RULE.severity, level, f.urn, "a stateful resource in a protected stack without retainOnDelete")
        for f in findings
    ]
