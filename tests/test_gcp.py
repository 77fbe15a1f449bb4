"""What GCP receives, finding by finding of ../shared/reviews/gcp.md (issue 13): each test reads
the recorded resources of a preview (or the validator's answer) and names the finding it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from conftest import run_cli
from topoform.preview import Recording, record


def _one(rec: Recording, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in rec.by_type(type_) if r["name"] == name]
    return found


# ------------------------------------------------------------------ C2 a missing Cloud DNS zone


def test_a_missing_cloud_dns_zone_stops_the_run_naming_the_field(tmp_path: Path) -> None:
    """C2: the record was sent with ``managed_zone: ""`` and the API's opaque answer. Against the
    cloud (offline the project's zones are unknown, and assumed to be there)."""
    path = _topology(tmp_path, "l4: {gpu: {type: L4}, min: 0, max: 2}")
    path.write_text(
        path.read_text()
        + "endpoints:\n  web: {cluster: c, service: {namespace: web, name: web, port: 8080}, exposure: public, domain: web.acme.example, allowed_cidrs: [203.0.113.0/24]}\n"
    )
    online = {"topoform:offline-preview": "false"}
    with pytest.raises(pulumi.RunError, match=r"endpoints\.web\.dns_zone: project gt-project-1 has no public Cloud DNS managed zone for acme\.example\."):
        record(str(path), stack="dev", config=online, dns_zones=[])
    records = record(str(path), stack="dev", config=online).by_type("gcp:dns/recordSet:RecordSet")  # the zone exists
    assert records and {r["inputs"]["managedZone"] for r in records} == {"acme-example"}
    assert {r["inputs"]["managedZone"] for r in record(str(path), stack="dev", dns_zones=[]).by_type("gcp:dns/recordSet:RecordSet")} == {"acme-example"}


def _topology(tmp_path: Path, pools: str, *, region: str = "us-central1", extra_site: str = "", cluster: str = "") -> Path:
    path = tmp_path / "g.topology.yaml"
    path.write_text(
        "name: gt\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  g: {{provider: gcp, project: gt-project-1, region: {region}{extra_site}}}\n"
        f"clusters:\n  c: {{site: g{cluster}, overrides: {{gcp: {{security_group: gke-security-groups@acme.example}}}}, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}, {pools}}}}}\n"
    )
    return path


def _pools(rec: Recording) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rec.by_type("gcp:container/nodePool:NodePool")}


def _refused(path: Path) -> str:
    result = run_cli("validate", str(path))
    assert result.code == 2, result.out
    assert "Traceback" not in result.err
    return result.err


# ------------------------------------------------------------------ F5 GPU pools in zones with their GPU


def test_gpu_pools_run_only_in_zones_that_offer_their_accelerator(prod_recording: Recording, tmp_path: Path) -> None:
    """F5: the L4 pool named no zones, so GKE's default ones could lack the GPU."""
    l4 = _pools(prod_recording)["vision-serve-pool-l4"]["inputs"]
    assert l4["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]  # L4 in us-central1 (catalog)
    # us-east4 offers L4 in a and c only: the pool goes there, and a pool naming b is refused
    pools = _pools(record(str(_topology(tmp_path, "l4: {gpu: {type: L4}, min: 0, max: 2}", region="us-east4")), stack="dev"))
    assert pools["gt-c-pool-l4"]["inputs"]["nodeLocations"] == ["us-east4-a", "us-east4-c"]
    assert "nodeLocations" not in pools["gt-c-pool-system"]["inputs"]  # CPU pools: GKE's zones
    err = _refused(_topology(tmp_path, "l4: {gpu: {type: L4}, min: 0, max: 2, overrides: {gcp: {zones: [us-east4-b]}}}", region="us-east4"))
    assert "clusters.c.node_pools.l4.overrides.gcp.zones: us-east4-b does not offer nvidia-l4; in us-east4: us-east4-a, us-east4-c" in err


def test_every_gcp_gpu_region_of_the_catalog_has_zones_offering_it() -> None:
    from topoform.catalog import load_catalog

    gcp = load_catalog().clouds["gcp"]
    for offering in gcp.offerings:
        if offering.gpu is None:
            continue
        for region in gcp.region_names(offering):
            zones = gcp.zones_offering(offering.accelerator, region)
            assert zones, f"{offering.machine} in {region}: no zone in gpu_zones"
            assert all(z.startswith(region + "-") for z in zones)


# ------------------------------------------------------------------ F6 min from the first run


def test_min_holds_from_the_first_pulumi_up(prod_recording: Recording, tmp_path: Path) -> None:
    """F6: pools were created empty (initial_node_count 0) and waited for the autoscaler."""
    pools = _pools(prod_recording)
    assert pools["vision-serve-pool-l4"]["inputs"]["initialNodeCount"] == 1  # min 1 over 3 zones
    assert pools["vision-serve-pool-system"]["inputs"]["initialNodeCount"] == 1
    for pool in pools.values():
        assert {"initialNodeCount", "nodeCount"} <= set(pool["options"]["ignoreChanges"])  # create-only; the autoscaler's
    rec = record(str(_topology(tmp_path, "l4: {gpu: {type: L4}, min: 5, max: 8}, t4: {gpu: {type: T4}, min: 0, max: 2}, tt: {gpu: {type: T4}, min: 1, max: 2}", region="us-east4")), stack="dev")
    counts = {k: v["inputs"].get("initialNodeCount") for k, v in _pools(rec).items()}
    # ceil(5 / 2 zones); min 0 starts empty; one node in each of 3 zones would pass max 2 (the T4
    # pool, and the system pool in GKE's default zones): empty, until the autoscaler acts
    assert counts == {"gt-c-pool-l4": 3, "gt-c-pool-t4": None, "gt-c-pool-tt": None, "gt-c-pool-system": None}


# ------------------------------------------------------------------ B3 machines with conditions


def test_h200_needs_a_reservation_or_spot_and_boots_from_hyperdisk(tmp_path: Path) -> None:
    """B3: H200 (A3 Ultra) was planned on-demand, on pd-balanced, without a reservation."""
    err = _refused(_topology(tmp_path, "h200: {gpu: {type: H200, count: 8}, min: 0, max: 2}"))
    assert "clusters.c.node_pools.h200.overrides.gcp.reservation: a3-ultragpu-8g (H200 x8) is sold on gcp only reserved or as spot" in err
    rec = record(str(_topology(tmp_path, "h200: {gpu: {type: H200, count: 8}, min: 0, max: 2, overrides: {gcp: {reservation: h200-block, zones: [us-central1-b]}}}")), stack="dev")
    config = _pools(rec)["gt-c-pool-h200"]["inputs"]["nodeConfig"]
    assert config["diskType"] == "hyperdisk-balanced"
    assert config["reservationAffinity"] == {"consumeReservationType": "SPECIFIC_RESERVATION", "key": "compute.googleapis.com/reservation-name", "values": ["h200-block"]}
    assert _pools(rec)["gt-c-pool-h200"]["inputs"]["nodeLocations"] == ["us-central1-b"]
    spot = _pools(record(str(_topology(tmp_path, "h200: {gpu: {type: H200, count: 8}, min: 0, max: 2, spot: true}")), stack="dev"))["gt-c-pool-h200"]["inputs"]
    assert spot["nodeConfig"]["diskType"] == "hyperdisk-balanced" and "reservationAffinity" not in spot["nodeConfig"]
    assert _pools(rec)["gt-c-pool-system"]["inputs"]["nodeConfig"]["diskType"] == "pd-balanced"


@pytest.mark.parametrize(
    ("pools", "message"),
    [
        ("h200: {gpu: {type: H200, count: 8}, min: 0, max: 2, overrides: {gcp: {reservation: h200-block}}}", "overrides.gcp.reservation: a reservation lives in one zone: name it in overrides.gcp.zones"),
        ("h200: {gpu: {type: H200, count: 8}, min: 0, max: 2, spot: true, overrides: {gcp: {reservation: h200-block, zones: [us-central1-b]}}}", "spot nodes consume no reservation"),
        ("l4: {gpu: {type: L4}, min: 0, max: 2, overrides: {gcp: {reservation: 'Not A Name'}}}", "overrides.gcp.reservation"),
    ],
)
def test_reservations_that_cannot_be_consumed_are_refused(tmp_path: Path, pools: str, message: str) -> None:
    assert message in _refused(_topology(tmp_path, pools))


def test_a_pool_names_its_disk_type_and_aws_takes_reservations_as_capacity_steps(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, "l4: {gpu: {type: L4}, min: 0, max: 2, overrides: {gcp: {disk_type: pd-ssd}}}")), stack="dev")
    assert _pools(rec)["gt-c-pool-l4"]["inputs"]["nodeConfig"]["diskType"] == "pd-ssd"
    aws = tmp_path / "a.topology.yaml"
    aws.write_text(
        "name: at\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, admins: ['arn:aws:iam::123456789012:role/x']}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}, h: {gpu: {type: H100, count: 8}, min: 0, max: 1, overrides: {aws: {reservation: cr-1}}}}}\n"
    )
    assert "clusters.c.node_pools.h.overrides.aws.reservation: on AWS a reservation is a capacity step: capacity: [{reservation: cr-..." in _refused(aws)


# ------------------------------------------------------------------ S1 no default compute account


def test_no_node_runs_as_the_compute_engine_default_account(prod_recording: Recording) -> None:
    """S1: the default pool GKE creates (then topoform removes) ran as the default compute SA."""
    (cluster,) = prod_recording.by_type("gcp:container/cluster:Cluster")
    nodes = [r for r in prod_recording.by_type("gcp:serviceaccount/account:Account") if r["name"] == "vision-serve-nodes"]
    assert nodes
    config = cluster["inputs"]["nodeConfig"]
    assert config["serviceAccount"].startswith(nodes[0]["inputs"]["accountId"] + "@") and "compute@developer" not in config["serviceAccount"]
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert cluster["options"]["ignoreChanges"] == ["nodeConfig"]  # create-only: clusters made before are not replaced
    for pool in prod_recording.by_type("gcp:container/nodePool:NodePool"):
        assert pool["inputs"]["nodeConfig"]["serviceAccount"] == config["serviceAccount"]


# ------------------------------------------------------------------ F1 the transfer agent reads the sink


def test_the_transfer_agent_may_compare_what_the_replica_holds(prod_recording: Recording) -> None:
    """F1: overwrite_when DIFFERENT needs storage.objects.get on the sink; legacyBucketWriter lacks it."""
    (job,) = prod_recording.by_type("gcp:storage/transferJob:TransferJob")
    assert job["inputs"]["transferSpec"]["transferOptions"]["overwriteWhen"] == "DIFFERENT"
    sink = job["inputs"]["transferSpec"]["gcsDataSink"]["bucketName"]
    agent = [g for g in prod_recording.by_type("gcp:storage/bucketIAMMember:BucketIAMMember") if "storage-transfer-service" in g["inputs"]["member"]]
    on_sink = {g["inputs"]["role"] for g in agent if g["inputs"]["bucket"] == sink}
    assert on_sink == {"roles/storage.legacyBucketWriter", "roles/storage.objectViewer"}


# ------------------------------------------------------------------ F4 a certificate without SNI


def test_the_certificate_map_answers_clients_without_sni(prod_recording: Recording) -> None:
    entries = {e["name"]: e["inputs"] for e in prod_recording.by_type("gcp:certificatemanager/certificateMapEntry:CertificateMapEntry")}
    primary = [e for e in entries.values() if e.get("matcher") == "PRIMARY"]
    named = [e for e in entries.values() if e.get("hostname")]
    assert len(primary) == len(named) >= 1 and primary[0]["certificates"] == named[0]["certificates"]


def test_a_standby_gpu_pool_runs_in_the_backup_regions_zones_with_its_gpu(tmp_path: Path) -> None:
    path = _topology(tmp_path, "l4: {gpu: {type: L4}, min: 0, max: 2, overrides: {gcp: {zones: [us-central1-a]}}}", extra_site=", backup_region: us-east4", cluster=", standby: true")
    pools = _pools(record(str(path), stack="dev"))
    assert pools["gt-c-pool-l4"]["inputs"]["nodeLocations"] == ["us-central1-a"]
    assert pools["gt-c-standby-pool-l4"]["inputs"]["nodeLocations"] == ["us-east4-a", "us-east4-c"]
