"""`topoform schema`: the editor schema is committed, current, and catches what validate catches
as you type -- while accepting the partial files that `extends:` merges."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import ROOT, STACKS, run_cli

COMMITTED = ROOT / "schema" / "topology.schema.json"
MODELINE = "# yaml-language-server: $schema=../schema/topology.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_what_topoform_schema_writes(tmp_path: Path) -> None:
    """Regenerate with `topoform schema -o schema/topology.schema.json`."""
    result = run_cli("schema")
    assert result.code == 0
    assert result.out == COMMITTED.read_text()
    out = tmp_path / "s.json"
    assert run_cli("schema", "-o", str(out)).code == 0
    assert out.read_text() == result.out


@pytest.mark.parametrize("path", sorted(STACKS.glob("*.topology.yaml")), ids=lambda p: p.name)
def test_every_topology_file_names_the_schema_and_passes_it(path: Path, validator: jsonschema.Draft202012Validator) -> None:
    assert path.read_text().splitlines()[0] == MODELINE
    assert (path.parent / "../schema/topology.schema.json").resolve() == COMMITTED
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


def _prod() -> dict[str, Any]:
    return yaml.safe_load((STACKS / "prod.topology.yaml").read_text())  # type: ignore[no-any-return]


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


MISTAKES = [
    ("unknown top-level key", ("budgets",), {"monthly_usd": 1}),
    ("unknown site key", ("sites", "gcp-central", "regoin"), "us-central1"),
    ("unknown GPU type", ("clusters", "serve", "node_pools", "l4", "gpu"), {"type": "L40", "count": 1}),
    ("unknown CPU size", ("clusters", "serve", "node_pools", "system"), {"instance": "cpu-3x7", "min": 1, "max": 2}),
    ("negative node count", ("clusters", "serve", "node_pools", "system"), {"instance": "cpu-4x16", "min": -1, "max": 2}),
    ("string for a number", ("budget",), {"monthly_usd": "lots"}),
    ("bad store access", ("storage", "checkpoints", "access"), "world"),
]


@pytest.mark.parametrize(("what", "path", "value"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_schema_flags_mistakes_validate_would_reject(what: str, path: tuple[str, ...], value: Any, validator: jsonschema.Draft202012Validator, tmp_path: Path) -> None:
    doc = _set(_prod(), path, value)
    assert list(validator.iter_errors(doc)), f"the schema accepts a {what}"
    # and `topoform validate` agrees: the same edit is invalid input
    text = (STACKS / "prod.topology.yaml").read_text()
    target = tmp_path / "stacks"
    target.mkdir()
    (target / "base.topology.yaml").write_text((STACKS / "base.topology.yaml").read_text())
    (target / "prod.topology.yaml").write_text(text.split("\n", 1)[0] + "\n" + yaml.safe_dump(doc, sort_keys=False))
    assert run_cli("validate", str(target / "prod.topology.yaml")).code == 2


def test_a_partial_file_that_only_resizes_a_pool_is_fine(validator: jsonschema.Draft202012Validator) -> None:
    overlay = {"extends": "base.topology.yaml", "environment": "qa", "clusters": {"train": {"node_pools": {"h100": {"max": 2}}}}}
    assert list(validator.iter_errors(overlay)) == []


def test_every_field_has_a_description_and_regions_complete_from_the_catalog() -> None:
    """Issue 15, F9: editors show a field's description on hover; regions complete per cloud."""
    from topoform.catalog import load_catalog
    from topoform.schema import editor_schema

    schema = editor_schema()
    missing: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if "description" not in prop:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    walk(schema, "")
    assert not missing
    catalog = load_catalog()
    for site, cloud in (("AwsSite", "aws"), ("GcpSite", "gcp"), ("AzureSite", "azure")):
        assert schema["$defs"][site]["properties"]["region"]["enum"] == sorted(catalog.clouds[cloud].regions)
