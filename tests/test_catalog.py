"""The catalog is data: every figure cites a source with a date, and lookups read it."""

from __future__ import annotations

import re

import pytest

from topoform.catalog import load_catalog

CAT = load_catalog()
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_every_price_cites_a_source_read_on_a_date(cloud: str) -> None:
    c = CAT.clouds[cloud]
    for o in c.offerings:
        source = c.sources[o.price.source]
        assert source.url.startswith("https://"), o.machine
        assert DATE.match(source.read), f"{o.machine}: source {o.price.source} has no read date"
        assert source.date is None or DATE.match(source.date)
        assert o.price.region in c.regions
        if o.price.on_demand is not None and o.price.spot is not None:
            assert 0 < o.price.spot < o.price.on_demand, f"{o.machine}: spot must be cheaper than on-demand"


def test_the_required_gpus_are_in_the_catalog_with_offerings() -> None:
    for gpu in ["T4", "L4", "A10G", "L40S", "A100-40GB", "A100-80GB", "H100", "H200"]:
        assert gpu in CAT.logical.gpus
        assert CAT.where_offered(gpu), f"{gpu} is offered nowhere"
    assert set(CAT.where_offered("H100")) == {"aws", "gcp", "azure"}


def test_every_cpu_size_has_a_machine_on_every_cloud() -> None:
    for cpu, spec in CAT.logical.cpus.items():
        for cloud in ("aws", "gcp", "azure"):
            o = CAT.cpu_offering(cloud, cpu)
            assert o is not None, f"{cpu} on {cloud}"
            assert (o.vcpus, o.memory_gib) == (spec.vcpus, spec.memory_gib), f"{o.machine} is not {cpu}"


def test_gpu_offerings_are_sorted_by_gpu_count() -> None:
    counts = [o.gpus for o in CAT.gpu_offerings("gcp", "L4")]
    assert counts == sorted(counts) == [1, 2, 4, 8]


def test_where_offered_filters_by_count() -> None:
    assert "gcp" not in CAT.where_offered("H200", 1)
    assert "us-east-1" in CAT.where_offered("H100", 8)["aws"]


def test_default_kubernetes_versions_are_supported_everywhere() -> None:
    for c in CAT.clouds.values():
        assert c.kubernetes.default in c.kubernetes.versions
        assert c.sources[c.kubernetes.source].read
