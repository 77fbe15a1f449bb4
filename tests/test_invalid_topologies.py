"""Malformed topologies: each exits 2 with `file:line: field.path: message`, never a traceback.

Every case starts from VALID (which passes) and changes one thing; the expected
line number is where the faulty field is written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

VALID = """\
name: vision
environment: dev
labels: {owner: ml-platform}
sites:
  aws-east:
    provider: aws
    region: us-east-1
    backup_region: us-west-2
    admins: [arn:aws:iam::123456789012:role/platform-ci]
  dc1:
    provider: onprem
    kubeconfig: {secret: dc1-kubeconfig}
    storage_class: ceph-encrypted
clusters:
  train:
    site: aws-east
    node_pools:
      system: {instance: cpu-4x16, min: 1, max: 2}
      h100: {gpu: {type: H100, count: 8}, min: 0, max: 2}
  lab:
    site: dc1
    node_pools:
      a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4}
storage:
  datasets: {site: aws-east, size_gb: 1000, backup: true}
identities:
  trainer: {cluster: train, namespace: training, service_account: trainer, access: {datasets: read}}
teams:
  research: {group: research@acme.example, role: edit, namespaces: {train: [training]}, gpu_quota: 8}
endpoints:
  infer: {cluster: train, service: {namespace: serving, name: triton, port: 8000}, exposure: internal}
deployer: {networks: [198.51.100.10/32]}
"""

# (id, old text, new text, expected line, expected field path, expected message fragment)
CASES: list[tuple[str, str, str, int, str, str]] = [
    ("broken-yaml", "  aws-east:\n", "  aws-east: [\n", 7, "yaml", "not valid YAML at column 11: expected ',' or ']', but got ':' (while parsing a flow sequence that starts on line 5)"),
    ("tab-indent", "    region: us-east-1\n", "\tregion: us-east-1\n", 7, "yaml", "not valid YAML"),
    ("duplicate-key", "  lab:\n", "  train:\n", 20, "clusters.train", "duplicate key 'train' (first set on line 15)"),
    ("unknown-top-key", "labels:", "label:", 3, "label", "unknown key 'label'; expected one of: name, environment"),
    ("unknown-pool-key", "{gpu: {type: H100, count: 8}, min: 0", "{gpus: {type: H100, count: 8}, min: 0", 19, "clusters.train.node_pools.h100.gpus", "unknown key 'gpus'; expected one of: gpu, instance"),
    ("unknown-site-key", "    backup_region: us-west-2\n", "    backup_regoin: us-west-2\n", 8, "sites.aws-east.backup_regoin", "unknown key 'backup_regoin'"),
    # autoscaling: what the autoscaler of each cloud can be told
    ("autoscaling-on-prem", "  lab:\n    site: dc1\n", "  lab:\n    site: dc1\n    autoscaling: {scale_down_after_minutes: 5}\n", 22, "clusters.lab.autoscaling", "onprem sites cannot autoscale node pools"),
    ("autoscaling-utilization-above-1", "    site: aws-east\n    node_pools:", "    site: aws-east\n    autoscaling: {scale_down_utilization: 1.5}\n    node_pools:", 17, "clusters.train.autoscaling.scale_down_utilization", "less than or equal to 1"),
    ("autoscaling-zero-minutes", "    site: aws-east\n    node_pools:", "    site: aws-east\n    autoscaling: {scale_down_after_minutes: 0}\n    node_pools:", 17, "clusters.train.autoscaling.scale_down_after_minutes", "greater than or equal to 1"),
    ("autoscaling-price-expander", "    site: aws-east\n    node_pools:", "    site: aws-east\n    autoscaling: {expander: price}\n    node_pools:", 17, "clusters.train.autoscaling.expander", "least-waste"),
    # capacity: an ordered list of steps, each one a cloud can give
    ("capacity-unknown-step", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [spto]}", 19, "clusters.train.node_pools.h100.capacity[0]", "unknown capacity 'spto'; use one of: on-demand, spot, flex-start"),
    ("capacity-spot-before-reservation", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [spot, {reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 1}]}", 19, "clusters.train.node_pools.h100.capacity[1]", "reserved capacity is billed whether its nodes run or not: list it before on-demand, spot and flex-start"),
    ("capacity-flex-start-on-aws", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [flex-start, on-demand]}", 19, "clusters.train.node_pools.h100.capacity[0]", "aws sites cannot use flex-start capacity (GCP's Dynamic Workload Scheduler)"),
    ("capacity-and-spot", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, spot: true, capacity: [on-demand]}", 19, "clusters.train.node_pools.h100.spot", "spot: true is the same as capacity: [spot]"),
    ("capacity-reservation-id", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: r-1, zone: use1-az2, nodes: 1}]}", 19, "clusters.train.node_pools.h100.capacity[0].reservation", "'r-1' is not an On-Demand Capacity Reservation (cr- and 17 hex digits) or a capacity reservation group's ARN"),
    ("capacity-block-id", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{capacity_block: cb-1, zone: use1-az2, nodes: 1}]}", 19, "clusters.train.node_pools.h100.capacity[0].capacity_block", "'cb-1' is not a Capacity Block's reservation ID (cr- and 17 hex digits)"),
    ("capacity-reservation-zone", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: cr-0123456789abcdef0, zone: euw1-az1, nodes: 1}]}", 19, "clusters.train.node_pools.h100.capacity[0].zone", "'euw1-az1' is not a zone of us-east-1 (use1-az1, ...)"),
    ("capacity-reserved-holds-all", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 2}, on-demand]}", 19, "clusters.train.node_pools.h100.max", "the reserved steps hold 2 nodes, all the pool may have (2)"),
    ("capacity-two-kinds-in-one-step", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: cr-0123456789abcdef0, capacity_block: cr-0123456789abcdef1, zone: use1-az2, nodes: 1}]}", 19, "clusters.train.node_pools.h100.capacity[0]", "give exactly one of reservation or capacity_block"),
    ("capacity-reservation-unknown-key", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 1, node: 2}]}", 19, "clusters.train.node_pools.h100.capacity[0].node", "unknown key 'node'; expected one of: reservation, capacity_block, zone, nodes"),
    ("capacity-reservation-size-missing", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [{reservation: cr-0123456789abcdef0, zone: use1-az2}]}", 19, "clusters.train.node_pools.h100.capacity[0].nodes", "required field is missing"),
    ("capacity-step-twice", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, capacity: [on-demand, spot, on-demand]}", 19, "clusters.train.node_pools.h100.capacity[2]", "the same step as capacity[0]"),
    ("capacity-fixed-pool-with-steps", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, nodes: 2, capacity: [on-demand, spot]}", 19, "clusters.train.node_pools.h100.nodes", "give the pool min and max instead of nodes"),
    ("capacity-on-prem", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4}", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4, capacity: [on-demand]}", 23, "clusters.lab.node_pools.a100.capacity", "onprem sites cannot choose where a pool's nodes come from (capacity)"),
    # a spot step spread across GPU types: each one a machine of the cloud, the pool's count per node
    ("spread-unknown-gpu", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A10X]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[0]", "A10X x1: unknown GPU 'A10X'; known: T4"),
    ("spread-gpu-not-on-cloud", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A10G, A10]}}, on-demand]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[1]", "A10 x1: A10 is not offered on aws; offered in: azure:"),
    ("spread-gpu-count", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A100-80GB]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[0]", "A100-80GB x1: A100-80GB on aws comes with 8 per node, not 1"),
    ("spread-own-gpu", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [L4]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[0]", "L4 is the pool's own GPU; list only the others it may take"),
    ("spread-less-memory", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A10G, T4]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[1]", "T4 has 16 GB, less than the pool's L4 (24 GB): make the smaller type the pool's own, or leave it out"),
    ("spread-twice", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A10G, L40S, A10G]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also[2]", "A10G is listed twice"),
    ("spread-empty", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: []}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also", "at least 1 item"),
    ("spread-unknown-key", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {types: [A10G]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.types", "unknown key 'types'; expected one of: also"),
    ("spread-fabric-pool", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, interconnect: fast, capacity: [{spot: {also: [H200]}}]}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also", "a fast interconnect joins machines of one type in one zone"),
    ("spread-cpu-pool", "system: {instance: cpu-4x16, min: 1, max: 2}", "system: {instance: cpu-4x16, min: 1, max: 2, capacity: [{spot: {also: [L4]}}]}", 18, "clusters.train.node_pools.system.capacity[0].spot.also", "a CPU pool keeps its one machine"),
    ("spread-machine-pinned", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: L4, count: 1}, min: 0, max: 2, capacity: [{spot: {also: [A10G]}}], overrides: {aws: {machine_type: g6.2xlarge}}}", 19, "clusters.train.node_pools.h100.capacity[0].spot.also", "overrides.aws.machine_type pins the pool to one machine"),
    ("spread-on-prem", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4}", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4, capacity: [{spot: {also: [H100]}}]}", 23, "clusters.lab.node_pools.a100.capacity[0]", "onprem sites cannot use spot capacity"),
    # interconnect: fast, on machines with a fabric, for nodes that can meet over it
    ("fabric-machine-without-one", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 1}, min: 0, max: 2, interconnect: fast}", 19, "clusters.train.node_pools.h100.interconnect", "p5.4xlarge has no fabric in the catalog; on aws these do: g6e.48xlarge (L40S x8, efa x4)"),
    ("fabric-one-node", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 1, interconnect: fast}", 19, "clusters.train.node_pools.h100.interconnect", "give it max 2 or more"),
    ("fabric-cpu-pool", "system: {instance: cpu-4x16, min: 1, max: 2}", "system: {instance: cpu-4x16, min: 1, max: 2, interconnect: fast}", 18, "clusters.train.node_pools.system.interconnect", "this is a CPU pool"),
    ("fabric-on-prem", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4}", "a100: {gpu: {type: A100-80GB, count: 8}, nodes: 4, interconnect: fast}", 23, "clusters.lab.node_pools.a100.interconnect", "onprem sites cannot join a pool's nodes with the machine's fabric"),
    ("fabric-two-zones", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, interconnect: fast, overrides: {aws: {zones: [use1-az1, use1-az2]}}}", 19, "clusters.train.node_pools.h100.overrides.aws.zones", "a fast interconnect reaches only nodes in its own zone"),
    ("fabric-unknown-value", "{gpu: {type: H100, count: 8}, min: 0, max: 2}", "{gpu: {type: H100, count: 8}, min: 0, max: 2, interconnect: infiniband}", 19, "clusters.train.node_pools.h100.interconnect", "standard"),
    ("unknown-provider", "    provider: aws\n", "    provider: amazon\n", 6, "sites.aws-east.provider", "unknown provider 'amazon'; use one of: aws, gcp, azure, onprem"),
    ("missing-provider", "    provider: aws\n", "", 5, "sites.aws-east", "missing 'provider'"),
    ("missing-region", "    region: us-east-1\n", "", 5, "sites.aws-east.region", "required field is missing"),
    ("string-for-int", "min: 1, max: 2}", "min: '1', max: 2}", 18, "clusters.train.node_pools.system.min", "valid integer"),
    ("list-for-map", "      system: {instance: cpu-4x16, min: 1, max: 2}\n      h100: {gpu: {type: H100, count: 8}, min: 0, max: 2}\n", "      - system\n", 17, "clusters.train.node_pools", "expected a mapping"),
    ("negative-max", "min: 0, max: 2}", "min: 0, max: -2}", 19, "clusters.train.node_pools.h100.max", "greater than or equal to 0"),
    ("min-above-max", "min: 1, max: 2}", "min: 3, max: 2}", 18, "clusters.train.node_pools.system.min", "min (3) is greater than max (2)"),
    ("unknown-gpu", "type: H100", "type: H1000", 19, "clusters.train.node_pools.h100.gpu.type", "unknown GPU 'H1000'; known: T4, L4"),
    ("gpu-not-in-region", "    region: us-east-1\n    backup_region: us-west-2\n", "    region: ca-west-1\n    backup_region: us-west-2\n", 19, "clusters.train.node_pools.h100.gpu.type", "H100 x8 is not offered in aws ca-west-1; offered in: aws: ap-northeast-1"),
    ("gpu-count", "type: H100, count: 8", "type: H100, count: 4", 19, "clusters.train.node_pools.h100.gpu.count", "H100 on aws comes with 1 or 8 per node, not 4"),
    ("gpu-not-on-cloud", "type: H100, count: 8", "type: A10, count: 1", 19, "clusters.train.node_pools.h100.gpu.type", "A10 is not offered on aws; offered in: azure:"),
    ("unknown-cpu", "instance: cpu-4x16", "instance: cpu-3x7", 18, "clusters.train.node_pools.system.instance", "unknown CPU size 'cpu-3x7'"),
    ("dangling-site", "    site: aws-east\n    node_pools:\n      system", "    site: aws-west\n    node_pools:\n      system", 16, "clusters.train.site", "unknown site 'aws-west'; known sites: aws-east, dc1"),
    ("identity-cluster", "{cluster: train, namespace: training", "{cluster: training, namespace: training", 27, "identities.trainer.cluster", "unknown cluster 'training'"),
    ("identity-store", "access: {datasets: read}", "access: {dataset: read}", 27, "identities.trainer.access.dataset", "unknown store 'dataset'; known stores: datasets"),
    ("identity-mode", "access: {datasets: read}", "access: {datasets: owner}", 27, "identities.trainer.access.datasets", "'read', 'write' or 'admin'"),
    ("team-cluster", "namespaces: {train: [training]}", "namespaces: {trian: [training]}", 29, "teams.research.namespaces.trian", "unknown cluster 'trian'"),
    ("team-cluster-admin", "role: edit", "role: cluster-admin", 29, "teams.research.role", "'view', 'edit' or 'admin'"),
    ("failover-self", "exposure: internal}", "exposure: internal, failover: train}", 31, "endpoints.infer.failover", "must name another cluster"),
    ("public-endpoint-no-domain", "exposure: internal}", "exposure: public, allowed_cidrs: [0.0.0.0/0]}", 31, "endpoints.infer.domain", "a public endpoint needs a domain"),
    ("public-api-no-cidrs", "    site: aws-east\n    node_pools:\n      system", "    site: aws-east\n    api: public\n    node_pools:\n      system", 15, "clusters.train.allowed_cidrs", "a public API needs allowed_cidrs"),
    ("backup-equals-primary", "backup_region: us-west-2", "backup_region: us-east-1", 8, "sites.aws-east.backup_region", "'us-east-1' is the primary region; a backup region must differ"),
    ("bad-cidr", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {cidr: 10.0.0.0/33}\n", 9, "sites.aws-east.network.cidr", "'10.0.0.0/33' is not a CIDR block"),
    ("bad-key-name", "  train:\n", "  Train:\n", 15, "clusters.Train", "key 'Train' is not a valid name"),
    ("unknown-region", "region: us-east-1", "region: us-east-9", 7, "sites.aws-east.region", "unknown aws region 'us-east-9'; known: af-south-1"),
    ("label-uppercase", "labels: {owner: ml-platform}", "labels: {Owner: ml-platform}", 3, "labels", "label key 'Owner' is not valid on every cloud"),
    ("version-as-float", "    site: aws-east\n    node_pools:\n      system", "    site: aws-east\n    kubernetes_version: 1.30\n    node_pools:\n      system", 17, "clusters.train.kubernetes_version", "write the version in quotes, such as \"1.30\": YAML reads 1.30 as the number 1.3"),
    ("version-unsupported", "    site: aws-east\n    node_pools:\n      system", "    site: aws-east\n    kubernetes_version: \"1.20\"\n    node_pools:\n      system", 17, "clusters.train.kubernetes_version", "aws supports 1.34, 1.35, 1.36 (catalog); '1.20' is not among them"),
    ("onprem-autoscale", "nodes: 4}", "min: 1, max: 4}", 23, "clusters.lab.node_pools.a100.min", "onprem sites cannot autoscale node pools (min/max): on-prem pools are existing nodes; give nodes: N"),
    ("onprem-spot", "nodes: 4}", "nodes: 4, spot: true}", 23, "clusters.lab.node_pools.a100.spot", "onprem sites cannot use spot capacity"),
    ("no-cpu-pool", "      system: {instance: cpu-4x16, min: 1, max: 2}\n", "", 17, "clusters.train.node_pools", "add a CPU pool"),
    ("gpu-and-instance", "{gpu: {type: H100, count: 8}, min: 0", "{gpu: {type: H100, count: 8}, instance: cpu-4x16, min: 0", 19, "clusters.train.node_pools.h100", "give exactly one of gpu"),
    ("nodes-and-min", "min: 1, max: 2}", "min: 1, max: 2, nodes: 2}", 18, "clusters.train.node_pools.system.nodes", "give either nodes"),
    ("merge-key", "  aws-east:\n    provider: aws\n", "  aws-east:\n    <<: {provider: aws}\n", 6, "sites.aws-east", "YAML merge keys ('<<') are not supported"),
    ("reserved-label", "{instance: cpu-4x16, min: 1, max: 2}", "{instance: cpu-4x16, min: 1, max: 2, labels: {topoform.io/pool: x}}", 18, "clusters.train.node_pools.system.labels.topoform.io/pool", "labels under 'topoform.io/' are set by topoform"),
    ("environment-uppercase", "environment: dev", "environment: Dev", 2, "environment", "'Dev' is not a valid name"),
    ("store-unknown-site", "{site: aws-east, size_gb: 1000", "{site: gcp, size_gb: 1000", 25, "storage.datasets.site", "unknown site 'gcp'"),
    ("store-onprem-backup-no-target", "{site: aws-east, size_gb: 1000, backup: true}", "{site: dc1, size_gb: 1000, backup: true}", 25, "storage.datasets.backup", "has no backup_target"),
    ("sites-empty", "sites:\n  aws-east:\n    provider: aws\n    region: us-east-1\n    backup_region: us-west-2\n    admins: [arn:aws:iam::123456789012:role/platform-ci]\n  dc1:\n    provider: onprem\n    kubeconfig: {secret: dc1-kubeconfig}\n    storage_class: ceph-encrypted\n", "sites: {}\n", 4, "sites", "define at least one site"),
    ("size-zero", "size_gb: 1000", "size_gb: 0", 25, "storage.datasets.size_gb", "greater than 0"),
    ("port-range", "port: 8000", "port: 80000", 31, "endpoints.infer.service.port", "less than or equal to 65535"),
    ("budget-negative", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nbudget: {monthly_usd: 0}\n", 4, "budget.monthly_usd", "greater than 0"),
    ("placement-region-typo", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nplacement: {regions: [us-est-1]}\n", 4, "placement.regions[0]", "unknown region 'us-est-1'"),
    ("placement-jurisdiction", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nplacement: {jurisdictions: [europe]}\n", 4, "placement.jurisdictions[0]", "unknown jurisdiction 'europe'; known:"),
    ("placement-cloud", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nplacement: {clouds: [oracle]}\n", 4, "placement.clouds[0]", "Input should be 'aws'"),
    # found by trying to break it: none of these may crash, hang or slip through
    ("explicit-tag", "min: 1, max: 2}", 'min: !!int "12abc", max: 2}', 18, "clusters.train.node_pools.system.min", "'12abc' is not a valid !!int"),
    ("alias-loop", "name: vision\n", "name: &a [*a]\n", 1, "yaml", "refused: the document"),
    ("alias-bomb", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\n"
     + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else 'x'] * 10)}]\n" for i in range(8)), 4, "yaml", "expands to more than"),
    ("deep-nesting", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nx: " + "[" * 200 + "]" * 200 + "\n", 4, "yaml", "nested more than 32 levels"),
    ("extends-not-yaml", "name: vision\n", "name: vision\nextends: /etc/passwd\n", 2, "extends", "must name a YAML topology file"),
    ("name-trailing-newline", "name: vision\n", 'name: "vision\\n"\n', 1, "name", "is not a valid name"),
    ("pool-max-absurd", "min: 0, max: 2}", "min: 0, max: 99999999999999999999}", 19, "clusters.train.node_pools.h100.max", "less than or equal to 100000"),
    ("budget-infinite", "labels: {owner: ml-platform}\n", "labels: {owner: ml-platform}\nbudget: {monthly_usd: .inf}\n", 4, "budget.monthly_usd", "finite number"),
    ("taint-key", "min: 0, max: 2}", "min: 0, max: 2, taints: {'Bad Taint!!': {value: x}}}", 19, "clusters.train.node_pools.h100.taints", "is not a Kubernetes label key"),
    ("zone-of-another-region", "min: 0, max: 2}", "min: 0, max: 2, overrides: {aws: {zones: [euw1-az1]}}}", 19, "clusters.train.node_pools.h100.overrides.aws.zones[0]", "'euw1-az1' is not a zone of us-east-1 (use1-az1, ...)"),
    # AWS zone names map to different physical zones in each account: pools and sites name zone IDs.
    ("aws-zone-name-not-id", "min: 0, max: 2}", "min: 0, max: 2, overrides: {aws: {zones: [us-east-1b]}}}", 19, "clusters.train.node_pools.h100.overrides.aws.zones[0]", "'us-east-1b' is not a zone of us-east-1 (use1-az1, ...)"),
    ("aws-site-zone-name", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: [use1-az1, us-east-1b]}\n", 9, "sites.aws-east.network.zones[1]", "'us-east-1b' is not a zone of us-east-1 (use1-az1, ...)"),
    ("aws-site-zone-twice", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: [use1-az2, use1-az2]}\n", 9, "sites.aws-east.network.zones[1]", "'use1-az2' is named twice"),
    ("aws-site-one-zone", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: [use1-az1]}\n", 9, "sites.aws-east.network.zones", "name 2 to 6 zones, not 1"),
    ("aws-backup-zones-count", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: [use1-az1, use1-az2], backup_zones: [usw2-az1]}\n", 9, "sites.aws-east.network.backup_zones", "name 2 zones, as many as the network spans"),
    ("aws-backup-zones-region", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: 2, backup_zones: [use1-az1, usw2-az2]}\n", 9, "sites.aws-east.network.backup_zones[0]", "'use1-az1' is not a zone of us-west-2 (usw2-az1, ...)"),
    # DNS and the other system pods need a node from the start (EKS's CoreDNS add-on waits for one)
    ("cpu-pool-at-zero", "min: 1, max: 2}", "min: 0, max: 2}", 18, "clusters.train.node_pools.system", "give a CPU pool min: 1 or more and no NoSchedule or NoExecute taint"),
    ("cpu-pool-tainted", "min: 1, max: 2}", "min: 1, max: 2, taints: {dedicated: {value: batch}}}", 18, "clusters.train.node_pools.system", "give a CPU pool min: 1 or more"),
    ("zones-count-out-of-range", "    backup_region: us-west-2\n", "    backup_region: us-west-2\n    network: {zones: 9}\n", 9, "sites.aws-east.network.zones", "give the number of zones (2 to 6), or a list of the zones"),
    ("dns-zone-elsewhere", "exposure: internal}", "exposure: internal, domain: a.acme.example, dns_zone: other.example}", 31, "endpoints.infer.dns_zone", "does not hold 'a.acme.example'"),
    ("key-shared-by-sections", "  datasets: {site: aws-east", "  train: {site: aws-east", 25, "storage.train", "already the key of an entry in clusters"),
    ("team-in-kube-system", "namespaces: {train: [training]}", "namespaces: {train: [kube-system]}", 29, "teams.research.namespaces.train[0]", "belongs to the cluster's system"),
]


def _write(tmp_path: Path, text: str, name: str = "t.topology.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_starting_point_is_valid(tmp_path: Path) -> None:
    result = run_cli("validate", str(_write(tmp_path, VALID)))
    assert result.code == 0, result.err
    assert "valid" in result.out


def test_there_are_at_least_thirty_cases() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(("case", "old", "new", "line", "path", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_invalid_topology_exits_2_naming_file_line_and_field(tmp_path: Path, case: str, old: str, new: str, line: int, path: str, fragment: str) -> None:
    assert old in VALID, f"case {case} edits text that is not in VALID"
    file = _write(tmp_path, VALID.replace(old, new, 1))
    result = run_cli("validate", str(file))
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    prefix = f"{file}:{line}: {path}: "
    assert any(ln.startswith(prefix) and fragment in ln for ln in lines), f"expected a line starting {prefix!r} containing {fragment!r}, got:\n{result.err}"


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    text = VALID.replace("type: H100", "type: H1000").replace("instance: cpu-4x16", "instance: cpu-3x7").replace("{cluster: train, namespace", "{cluster: nope, namespace")
    result = run_cli("validate", str(_write(tmp_path, text)))
    assert result.code == 2
    # The reference problem comes first (planning waits for references), so a second run shows the rest.
    assert "identities.trainer.cluster: unknown cluster 'nope'" in result.err


def test_empty_file(tmp_path: Path) -> None:
    file = _write(tmp_path, "")
    result = run_cli("validate", str(file))
    assert result.code == 2
    assert result.err.strip() == f"{file}:1: (document): the file is empty"


def test_a_list_is_not_a_topology(tmp_path: Path) -> None:
    file = _write(tmp_path, "- a\n- b\n")
    result = run_cli("validate", str(file))
    assert result.code == 2
    assert "a topology must be a mapping" in result.err


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert result.err.strip() == f"{tmp_path / 'nope.yaml'}:1: (document): file not found"


def test_extends_missing_base_points_at_the_extends_line(tmp_path: Path) -> None:
    file = _write(tmp_path, "name: vision\nextends: nope.topology.yaml\n")
    result = run_cli("validate", str(file))
    assert result.code == 2
    assert result.err.startswith(f"{file}:2: extends: base file 'nope.topology.yaml' not found")


def test_extends_cycle(tmp_path: Path) -> None:
    _write(tmp_path, "extends: b.yaml\n", "a.yaml")
    _write(tmp_path, "extends: a.yaml\n", "b.yaml")
    result = run_cli("validate", str(tmp_path / "a.yaml"))
    assert result.code == 2
    assert "'extends' forms a cycle: a.yaml -> b.yaml -> a.yaml" in result.err


def test_problem_in_a_base_file_is_reported_in_the_base_file(tmp_path: Path) -> None:
    _write(tmp_path, VALID.replace("type: H100", "type: H1000"), "base.yaml")
    child = _write(tmp_path, "extends: base.yaml\nenvironment: prod\n", "prod.yaml")
    result = run_cli("validate", str(child))
    assert result.code == 2
    assert result.err.startswith(f"{tmp_path / 'base.yaml'}:19: clusters.train.node_pools.h100.gpu.type: unknown GPU 'H1000'")


def test_unknown_environment_lists_the_known_ones(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", "staging")
    assert result.code == 2
    assert "no stack 'staging'" in result.err and "known: dev, prod" in result.err


@pytest.mark.parametrize("case", ["broken-yaml", "unknown-gpu", "dangling-site"])
def test_the_real_command_prints_no_traceback(tmp_path: Path, case: str) -> None:
    _, old, new, line, path, _ = next(c for c in CASES if c[0] == case)
    file = _write(tmp_path, VALID.replace(old, new, 1))
    proc = subprocess.run([sys.executable, "-m", "topoform", "validate", str(file)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{file}:{line}: {path}: ")
    assert proc.stdout == ""


def test_no_message_shows_a_regular_expression(tmp_path: Path) -> None:
    """Issue 15, F10: a field with a pattern says its rule in words (a test fails when a new
    pattern has none), and the version hint speaks of a lost zero only when one was lost."""
    import re as regex

    from topoform import model
    from topoform.loader import PATTERN_RULES

    patterns = set(regex.findall(r'pattern=r"([^"]+)"', Path(model.__file__).read_text()))
    assert patterns and patterns <= set(PATTERN_RULES)
    bad = VALID.replace("    region: us-east-1\n", "    region: us-east-1\n    account_id: '12345'\n", 1)
    result = run_cli("validate", str(_write(tmp_path, bad)))
    assert result.code == 2 and "sites.aws-east.account_id: '12345' is not an AWS account ID (12 digits)" in result.err
    assert "\\d" not in result.err and "should match pattern" not in result.err
    for written, said in (("1.30", 'write the version in quotes, such as "1.30": YAML reads 1.30 as the number 1.3'), ("1.33", 'such as "1.33": YAML reads it as a number')):
        text = VALID.replace("  train:\n    site: aws-east\n", f"  train:\n    site: aws-east\n    kubernetes_version: {written}\n", 1)
        err = run_cli("validate", str(_write(tmp_path, text))).err
        assert said in err and ("the number 1.3" in err) == (written == "1.30"), err


def test_one_mistake_one_message(tmp_path: Path) -> None:
    """Issue 15, F10: `node_pools:` dedented one level gave six lines; it is one mistake. A YAML
    slip says what it is in a sentence, with its column."""
    text = VALID.replace("  train:\n    site: aws-east\n    node_pools:\n", "  train:\n    site: aws-east\n  node_pools:\n", 1)
    result = run_cli("validate", str(_write(tmp_path, text)))
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.endswith("clusters.node_pools: 'node_pools' is a field of each entry here, not an entry: indent it under the entry above")
    tab = run_cli("validate", str(_write(tmp_path, VALID.replace("    region: us-east-1\n", "\tregion: us-east-1\n", 1)))).err
    assert "not valid YAML at column 1: a tab: YAML indents with spaces only" in tab
    over = VALID.replace("      h100: {gpu", "       h100: {gpu", 1)
    said = run_cli("validate", str(_write(tmp_path, over))).err
    assert "not valid YAML at column" in said and "this line is indented differently from the lines it belongs with" in said
