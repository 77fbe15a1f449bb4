"""Regenerate ``components/topoform/terraform.json``: the Terraform names of what we render.

``topoform render --terraform-plan`` writes the recorded AWS and GCP resources as a Terraform plan
(both providers are bridged from Terraform), so scanners such as Checkov can judge them. Pulumi
sends camelCase names, flattens single blocks into objects and pluralises repeated blocks
(``guest_accelerator`` becomes ``guestAccelerators``); undoing that needs each Terraform resource's
attribute and block names. They come from the jsii assemblies of the CDK for Terraform provider
packages, which are generated from the providers' own schemas:

    pip download --no-deps cdktf-cdktf-provider-aws cdktf-cdktf-provider-google -d /tmp/cdktf
    python tests/judge/terraform_names.py /tmp/cdktf/*.whl

Only the Terraform types in ``topoform.render.TERRAFORM_TYPES`` are kept (the file stays small).
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "components"))

from topoform.render import TERRAFORM_TYPES  # noqa: E402

LINK = re.compile(r"registry\.terraform\.io/providers/hashicorp/(\w+)/([\w.]+)/docs/resources/\w+(?:#(\w+))?\s+(\S+?)[}#]")
ANCHOR = re.compile(r"docs/resources/\w+#(\w+) ")


def _assembly(wheel: str) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(zf.read(name))) as tf:
            member = tf.extractfile("package/.jsii")
            assert member is not None
            return json.loads(member.read())  # type: ignore[no-any-return]


def _fields(types: dict[str, Any], fqn: str) -> dict[str, Any]:
    """{terraform name: 0 for an attribute, [repeated?, {fields}] for a block}."""
    out: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        anchor = ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
        if not anchor:
            continue  # not a Terraform argument (cdktf's own helpers)
        block = _block(prop["type"])
        out[anchor.group(1)] = 0 if block is None else [block[0], _fields(types, block[1])]
    return dict(sorted(out.items()))


def _block(type_: dict[str, Any]) -> tuple[bool, str] | None:
    """(repeated, fqn) when the property is a nested block, else None."""
    fqn = type_.get("fqn", "")
    if fqn.startswith("@cdktf/"):
        return False, fqn
    for alt in type_.get("union", {}).get("types", []):
        element = alt.get("collection", {}).get("elementtype", {}).get("fqn", "")
        if element.startswith("@cdktf/"):
            return True, element
    return None


def main(wheels: list[str]) -> None:
    wanted = set(TERRAFORM_TYPES.values())
    resources: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for wheel in wheels:
        assembly = _assembly(wheel)
        types = assembly["types"]
        for fqn, t in types.items():
            summary = t.get("docs", {}).get("summary", "")
            m = re.match(r"Represents a \{@link https://registry\.terraform\.io/providers/hashicorp/(\w+)/([\w.]+)/docs/resources/\w+ (\w+)\}", summary)
            if t["kind"] != "class" or not m or m.group(3) not in wanted:
                continue
            sources[m.group(1)] = f"{assembly['name']} {assembly['version']} (hashicorp/{m.group(1)} {m.group(2)})"
            resources[m.group(3)] = _fields(types, fqn + "Config")
    missing = wanted - set(resources)
    if missing:
        raise SystemExit(f"not in these assemblies: {sorted(missing)}")
    out = {"sources": dict(sorted(sources.items())), "resources": dict(sorted(resources.items()))}
    path = ROOT / "components" / "topoform" / "terraform.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{path}: {len(resources)} resource types from {', '.join(sources.values())}")


if __name__ == "__main__":
    main(sys.argv[1:])
