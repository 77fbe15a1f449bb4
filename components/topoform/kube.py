"""Kubernetes objects that are the same on every cluster, as typed resources.

Typed objects (not Helm charts) so the offline preview, the policies and
Checkov see every field. The NVIDIA device plugin follows NVIDIA's static
manifest (``deployments/static/nvidia-device-plugin.yml``) with the platform's
node affinity and a hardened security context.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .specs import GPU_TAINT_KEY, PLATFORM_ACCELERATOR_LABEL, PLATFORM_CAPACITY_LABEL, PLATFORM_FABRIC_LABEL, RESERVED_NAMESPACES, NodePoolSpec

__all__ = ["AUTOSCALER", "DEFAULT_REQUESTS", "DEVICE_PLUGIN_IMAGE", "MANAGED_BY", "cluster_autoscaler", "RESERVED_NAMESPACES", "device_plugin", "efa_device_plugin", "fabric_claim_template", "gib_installer", "INFINIBAND_RESOURCE", "infiniband_fabric", "label_existing_nodes", "namespace", "namespace_guardrails", "priority_config", "priority_expander"]
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "256Mi"}

DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"
"""NVIDIA k8s-device-plugin release v0.20.0 (tagged 2026-08-19 in NVIDIA/k8s-device-plugin; the
0.20.1 version bump, PR #2057 of 2026-09-22, has no tag we could confirm, so no image either)."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "topoform"}


def _node_daemon(name: str, app: str, provider: k8s.Provider, parent: pulumi.Resource, update: str = "RollingUpdate", **pod: Any) -> k8s.apps.v1.DaemonSet:
    """A device plugin's DaemonSet in kube-system: node-critical, no API token, the runtime's
    seccomp profile, rolling updates (or ``update``); ``pod`` is the rest of its pod spec."""
    labels = {"app.kubernetes.io/name": app, **MANAGED_BY}
    return k8s.apps.v1.DaemonSet(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace="kube-system", labels=labels),
        spec=k8s.apps.v1.DaemonSetSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": app}),
            update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type=update),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    priority_class_name="system-node-critical",
                    automount_service_account_token=False,
                    security_context=k8s.core.v1.PodSecurityContextArgs(seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                    **pod,
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


_HARDENED = k8s.core.v1.SecurityContextArgs(
    allow_privilege_escalation=False,
    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    # A device plugin writes only its socket, into the mounted device-plugins directory.
    read_only_root_filesystem=True,
)
_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"


def _host_path(name: str, path: str, **kwargs: Any) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(name=name, host_path=k8s.core.v1.HostPathVolumeSourceArgs(path=path, **kwargs))


def device_plugin(name: str, provider: k8s.Provider, parent: pulumi.Resource) -> k8s.apps.v1.DaemonSet:
    """The NVIDIA device plugin on every node carrying the platform accelerator label, past every
    taint: the GPU taint, those a cloud adds itself (AKS's spot taint) and a pool's own, for a
    GPU node whose GPUs nobody advertises is a node no GPU pod can use."""
    return _node_daemon(
        name,
        "nvidia-device-plugin",
        provider,
        parent,
        tolerations=[k8s.core.v1.TolerationArgs(operator="Exists")],
        affinity=k8s.core.v1.AffinityArgs(
            node_affinity=k8s.core.v1.NodeAffinityArgs(
                required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                    node_selector_terms=[
                        k8s.core.v1.NodeSelectorTermArgs(match_expressions=[k8s.core.v1.NodeSelectorRequirementArgs(key=PLATFORM_ACCELERATOR_LABEL, operator="Exists")])
                    ]
                )
            )
        ),
        containers=[
            k8s.core.v1.ContainerArgs(
                name="nvidia-device-plugin",
                image=DEVICE_PLUGIN_IMAGE,
                image_pull_policy="IfNotPresent",
                security_context=_HARDENED,
                resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "64Mi"}, limits={"cpu": "100m", "memory": "256Mi"}),
                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path=_DEVICE_PLUGINS)],
            )
        ],
        volumes=[_host_path("device-plugin", _DEVICE_PLUGINS, type="Directory")],
    )


def label_existing_nodes(prefix: str, pool: NodePoolSpec, provider: k8s.Provider, parent: pulumi.Resource) -> list[k8s.core.v1.NodePatch]:
    """Give named existing nodes the pool's platform labels and taints (server-side apply)."""
    patches = []
    for node in pool.get("node_names", []):
        patches.append(
            k8s.core.v1.NodePatch(
                f"{prefix}-{node}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node, labels=pool["labels"]),
                spec=k8s.core.v1.NodeSpecPatchArgs(
                    taints=[k8s.core.v1.TaintPatchArgs(key=t["key"], value=t["value"], effect=t["effect"]) for t in pool["taints"]]
                ),
                opts=pulumi.ResourceOptions(parent=parent, provider=provider),
            )
        )
    return patches


def namespace(
    name: str,
    ns: str,
    provider: k8s.Provider,
    *,
    protect: bool,
    parent: pulumi.Resource | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace topoform owns. Deleting a namespace deletes what is in it (claims, data), so
    in a protected environment it is protected and retained like any stateful resource."""
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=ns,
            labels={**MANAGED_BY, "pod-security.kubernetes.io/enforce": "baseline", **(labels or {})},
            annotations=annotations or None,
        ),
        opts=pulumi.ResourceOptions(provider=provider, protect=protect, retain_on_delete=protect, parent=parent),
    )


def namespace_guardrails(prefix: str, ns: k8s.core.v1.Namespace, provider: k8s.Provider, gpu_quota: int | None) -> None:
    """What every namespace topoform creates holds: default requests for containers that name
    none, ingress from other namespaces denied unless a policy admits it, and the GPU quota its
    team was given.

    The defaults are requests only, so the scheduler counts a container that names none (a
    sidecar, a quick debug pod) without ever capping one: no default limit, because a training
    or inference container that asks only for ``nvidia.com/gpu`` must keep the node's memory (a
    default memory limit would OOM-kill it, and one below its own request refuses it)."""
    name = ns.metadata.name.apply(lambda n: n or "")
    # Children of a protected namespace, but not stateful: they may be replaced.
    opts = pulumi.ResourceOptions(provider=provider, parent=ns, protect=False)
    k8s.core.v1.LimitRange(
        f"{prefix}-limits",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="topoform-defaults", namespace=name, labels=MANAGED_BY),
        spec=k8s.core.v1.LimitRangeSpecArgs(limits=[k8s.core.v1.LimitRangeItemArgs(type="Container", default_request=DEFAULT_REQUESTS)]),
        opts=opts,
    )
    # Ingress from the namespace's own pods only: the workers of a distributed training job (NCCL,
    # a rendezvous) reach each other; other namespaces' pods get in only where a policy admits them.
    k8s.networking.v1.NetworkPolicy(
        f"{prefix}-deny-ingress",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="namespace-isolation", namespace=name, labels=MANAGED_BY),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(),
            policy_types=["Ingress"],
            ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs())])],
        ),
        opts=opts,
    )
    if gpu_quota is not None:
        k8s.core.v1.ResourceQuota(
            f"{prefix}-gpu-quota",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="gpu-quota", namespace=name, labels=MANAGED_BY),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={"requests.nvidia.com/gpu": str(gpu_quota)}),
            opts=opts,
        )


AUTOSCALER = "cluster-autoscaler"
AUTOSCALER_PORT = 8085
"""Its metrics and health-check port (the chart's, hard-coded)."""
_AUTOSCALER_CLUSTER_RULES: list[tuple[list[str], list[str], list[str], list[str]]] = [
    # (API groups, resources, resource names, verbs): the chart's ClusterRole (cluster-autoscaler
    # chart 9.59.0, clusterrole.yaml) for a cloud provider with none of its own rules, without the
    # ProvisioningRequest and capacity-buffer rules of features topoform leaves off.
    ([""], ["events", "endpoints"], [], ["create", "patch"]),
    ([""], ["pods/eviction"], [], ["create"]),
    ([""], ["pods/status"], [], ["update"]),
    ([""], ["endpoints"], [AUTOSCALER], ["get", "update"]),
    ([""], ["nodes"], [], ["watch", "list", "get", "update"]),
    ([""], ["podtemplates"], [], ["get", "list", "watch", "create", "update", "patch"]),
    # From 1.35 dynamic resource allocation is always on (the flag can no longer turn it off).
    (["resource.k8s.io"], ["resourceslices", "deviceclasses", "resourceclaims"], [], ["watch", "list", "get"]),
    ([""], ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"], [], ["watch", "list", "get"]),
    (["batch"], ["jobs", "cronjobs"], [], ["watch", "list", "get"]),
    (["batch", "extensions"], ["jobs"], [], ["get", "list", "patch", "watch"]),
    (["extensions"], ["replicasets", "daemonsets"], [], ["watch", "list", "get"]),
    (["policy"], ["poddisruptionbudgets"], [], ["watch", "list"]),
    (["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], [], ["watch", "list", "get"]),
    # Without volumeattachments it cannot watch them and stops scaling up (autoscaler issue #7663).
    (["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"], [], ["watch", "list", "get"]),
    ([""], ["configmaps"], [], ["list", "watch", "get"]),
    (["coordination.k8s.io"], ["leases"], [], ["create"]),
    (["coordination.k8s.io"], ["leases"], [AUTOSCALER], ["get", "update"]),
]
_AUTOSCALER_ROLE_RULES: list[tuple[list[str], list[str], list[str], list[str]]] = [
    # The chart's Role in its namespace: the status ConfigMap it writes.
    ([""], ["configmaps"], [], ["create"]),
    ([""], ["configmaps"], ["cluster-autoscaler-status"], ["delete", "get", "update"]),
]


def _rules(rules: list[tuple[list[str], list[str], list[str], list[str]]]) -> list[k8s.rbac.v1.PolicyRuleArgs]:
    return [k8s.rbac.v1.PolicyRuleArgs(api_groups=g, resources=r, resource_names=n or None, verbs=v) for g, r, n, v in rules]


PRIORITY_EXPANDER = "cluster-autoscaler-priority-expander"
"""The ConfigMap the autoscaler's priority expander reads, in the autoscaler's namespace."""


def priority_config(priorities: dict[str, int], patterns: dict[str, str]) -> str:
    """The priority expander's ``priorities`` (YAML): each capacity step's node-group pattern
    under its priority, and every other group at 0 (a group no pattern matches would never be
    chosen while one that matches could be)."""
    levels: dict[int, list[str]] = {0: [".*"]}
    for key, level in priorities.items():
        if patterns.get(key):
            levels.setdefault(level, []).append(patterns[key])
    return "".join(f"{level}:\n" + "".join(f"  - {json.dumps(p)}\n" for p in sorted(found)) for level, found in sorted(levels.items(), reverse=True))


def priority_expander(prefix: str, config: pulumi.Input[str], provider: k8s.Provider, parent: pulumi.Resource) -> k8s.core.v1.ConfigMap:
    """The order in which the autoscaler takes capacity steps (kube-system, where the autoscaler
    runs on EKS and AKS)."""
    return k8s.core.v1.ConfigMap(
        f"{prefix}-priorities",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=PRIORITY_EXPANDER, namespace="kube-system", labels={"app.kubernetes.io/name": AUTOSCALER, **MANAGED_BY}),
        data={"priorities": config},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


def cluster_autoscaler(
    prefix: str,
    image: str,
    flags: list[str],
    env: dict[str, pulumi.Input[str]],
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> k8s.apps.v1.Deployment:
    """The Cluster Autoscaler where the cloud runs none of its own (EKS): its service account,
    the chart's RBAC and one replica on a CPU node (GPU nodes are tainted), on-demand where there
    is one, hardened, with ``flags`` after the binary, ``env`` (the region it cannot read from the
    metadata service) and pod ``annotations`` (a change rolls the pod)."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    labels = {"app.kubernetes.io/name": AUTOSCALER, **MANAGED_BY}
    meta = k8s.meta.v1.ObjectMetaArgs(name=AUTOSCALER, namespace="kube-system", labels=labels)
    account = k8s.core.v1.ServiceAccount(f"{prefix}-sa", metadata=meta, opts=opts)
    cluster_role = k8s.rbac.v1.ClusterRole(f"{prefix}-clusterrole", metadata=k8s.meta.v1.ObjectMetaArgs(name=AUTOSCALER, labels=labels), rules=_rules(_AUTOSCALER_CLUSTER_RULES), opts=opts)
    role = k8s.rbac.v1.Role(f"{prefix}-role", metadata=meta, rules=_rules(_AUTOSCALER_ROLE_RULES), opts=opts)
    subject = [k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=AUTOSCALER, namespace="kube-system")]
    bindings = [
        k8s.rbac.v1.ClusterRoleBinding(
            f"{prefix}-clusterrolebinding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=AUTOSCALER, labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=AUTOSCALER),
            subjects=subject,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[cluster_role]),
        ),
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-rolebinding",
            metadata=meta,
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=AUTOSCALER),
            subjects=subject,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[role]),
        ),
    ]
    probe = k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/health-check", port=AUTOSCALER_PORT), period_seconds=10, failure_threshold=3)
    return k8s.apps.v1.Deployment(
        f"{prefix}-deployment",
        metadata=meta,
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=1,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": AUTOSCALER}),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=annotations),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=AUTOSCALER,
                    priority_class_name="system-cluster-critical",
                    # A spot node may go at any time, and with the autoscaler on it.
                    affinity=k8s.core.v1.AffinityArgs(
                        node_affinity=k8s.core.v1.NodeAffinityArgs(
                            preferred_during_scheduling_ignored_during_execution=[
                                k8s.core.v1.PreferredSchedulingTermArgs(
                                    weight=100,
                                    preference=k8s.core.v1.NodeSelectorTermArgs(
                                        match_expressions=[k8s.core.v1.NodeSelectorRequirementArgs(key=PLATFORM_CAPACITY_LABEL, operator="In", values=["on-demand"])]
                                    ),
                                )
                            ]
                        )
                    ),
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=65534,
                        run_as_group=65534,
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name=AUTOSCALER,
                            image=image,
                            image_pull_policy="IfNotPresent",
                            command=["./cluster-autoscaler", *flags],
                            env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(env.items())],
                            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=AUTOSCALER_PORT, protocol="TCP")],
                            liveness_probe=probe,
                            readiness_probe=probe,
                            resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "100m", "memory": "600Mi"}, limits={"cpu": "1", "memory": "600Mi"}),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                                read_only_root_filesystem=True,
                            ),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[account, *bindings, *depends_on]),
    )


def _fabric_daemon(name: str, app: str, fabric: str, provider: k8s.Provider, parent: pulumi.Resource, **pod: Any) -> k8s.apps.v1.DaemonSet:
    """A node daemon of a fabric (``fabric``: the catalog's kind) on the nodes of pools joined by
    it, in the host's network namespace where the fabric's interfaces are."""
    return _node_daemon(
        name,
        app,
        provider,
        parent,
        node_selector={PLATFORM_FABRIC_LABEL: fabric},
        # Every taint: a fabric pool may carry taints of its own besides the GPU's.
        tolerations=[k8s.core.v1.TolerationArgs(operator="Exists")],
        **{"host_network": True, **pod},
    )


def efa_device_plugin(name: str, image: str, provider: k8s.Provider, parent: pulumi.Resource) -> k8s.apps.v1.DaemonSet:
    """AWS's EFA device plugin (``vpc.amazonaws.com/efa``) on the nodes of pools with a fabric,
    past the GPU taint: the chart's DaemonSet (eks-charts aws-efa-k8s-device-plugin) without what
    it needs only for Neuron devices (a privileged container and the Neuron tools mount, eks-charts
    PR #1245), run as eksctl runs it: no privilege escalation, no capabilities."""
    return _fabric_daemon(
        name,
        "aws-efa-k8s-device-plugin",
        "efa",
        provider,
        parent,
        containers=[
            k8s.core.v1.ContainerArgs(
                name="aws-efa-k8s-device-plugin",
                image=image,
                image_pull_policy="IfNotPresent",
                # AWS's chart runs it privileged (for Neuron devices); eksctl runs it without
                # capabilities. Not yet seen on a node read-only, so its root stays writable.
                security_context=k8s.core.v1.SecurityContextArgs(allow_privilege_escalation=False, capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])),
                resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "20Mi"}, limits={"cpu": "500m", "memory": "512Mi"}),
                volume_mounts=[
                    k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path=_DEVICE_PLUGINS),
                    k8s.core.v1.VolumeMountArgs(name="infiniband-volume", mount_path="/dev/infiniband/"),
                ],
            )
        ],
        volumes=[_host_path("device-plugin", _DEVICE_PLUGINS), _host_path("infiniband-volume", "/dev/infiniband/")],
    )


GIB_INSTALLER_IMAGE = "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1"
"""Google's NCCL gIB plugin for GPUDirect-RDMA (container-engine-accelerators
``gpudirect-rdma/nccl-rdma-installer.yaml``, v1.1.1 since 2026-03-09, at 992db81 of 2026-06-11)."""
GKE_PAUSE_IMAGE = "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830"
FABRIC_CLAIM_TEMPLATE = "topoform-fabric"
"""The ResourceClaimTemplate a training pod names to get its node's RDMA NICs (GKE)."""
_GKE_NVIDIA_LIB64 = "/home/kubernetes/bin/nvidia/lib64"
"""The node's NVIDIA library directory; GKE mounts ``/home/kubernetes/bin/nvidia`` into every GPU
container at ``/usr/local/nvidia``."""
_GKE_GIB = "/home/kubernetes/bin/gib"
_GKE_NVIDIA_GIB = "/home/kubernetes/bin/nvidia/gib"
"""The gIB settings script and tuner files where GPU containers see them (``/usr/local/nvidia/gib``)
without a hostPath volume, which the namespaces' baseline Pod Security refuses."""


def gib_installer(name: str, provider: k8s.Provider, parent: pulumi.Resource) -> k8s.apps.v1.DaemonSet:
    """Google's NCCL gIB plugin on the nodes of GPUDirect-RDMA pools (A3 Ultra, A4), as Google's
    installer manifest has it: a privileged init container in the host's network and PID
    namespaces copies the plugin into the node's NVIDIA library directory (which GKE's device
    plugin mounts into GPU containers at ``/usr/local/nvidia``) and the plugin's tree into
    ``/home/kubernetes/bin/gib``; then a pause container holds the pod. Beyond Google's manifest:
    nodes are chosen by the platform's fabric label (only pools that asked for the fabric), the
    settings script and tuner files are copied under the NVIDIA directory too (pods reach them at
    ``/usr/local/nvidia/gib``), and a new version reaches a node only when its pod is recreated
    (``OnDelete``: copying over libraries a running job has loaded would break it)."""
    mount = "/usr/local"
    return _fabric_daemon(
        name,
        "topoform-nccl-rdma-installer",
        "gpudirect-rdma",
        provider,
        parent,
        update="OnDelete",
        host_pid=True,
        init_containers=[
            k8s.core.v1.ContainerArgs(
                name="nccl-rdma-installer",
                image=GIB_INSTALLER_IMAGE,
                image_pull_policy="IfNotPresent",
                # It installs into the host (Google's manifest runs it privileged); it exits when done.
                security_context=k8s.core.v1.SecurityContextArgs(privileged=True),
                resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "150m", "memory": "64Mi"}, limits={"cpu": "1", "memory": "512Mi"}),
                volume_mounts=[
                    k8s.core.v1.VolumeMountArgs(name="library-dir-host", mount_path=f"{mount}{_GKE_NVIDIA_LIB64}"),
                    k8s.core.v1.VolumeMountArgs(name="gib", mount_path=f"{mount}{_GKE_GIB}"),
                    k8s.core.v1.VolumeMountArgs(name="gib-for-pods", mount_path=f"{mount}{_GKE_NVIDIA_GIB}"),
                ],
                command=["/bin/sh", "-c"],
                args=[
                    "set -ex\n"
                    "/scripts/container_entry.sh install\n"
                    f"cp -r /var/lib/gib/lib64/. {mount}{_GKE_NVIDIA_LIB64}\n"
                    f"cp -r /var/lib/gib/. {mount}{_GKE_GIB}\n"
                    f"cp -r /var/lib/gib/scripts /var/lib/gib/configs {mount}{_GKE_NVIDIA_GIB}/\n"
                    'echo "installation finishes"\n'
                ],
            )
        ],
        containers=[
            k8s.core.v1.ContainerArgs(
                name="pause",
                image=GKE_PAUSE_IMAGE,
                security_context=_HARDENED,
                resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "1m", "memory": "8Mi"}, limits={"cpu": "10m", "memory": "16Mi"}),
            )
        ],
        volumes=[
            _host_path("library-dir-host", _GKE_NVIDIA_LIB64, type="DirectoryOrCreate"),
            _host_path("gib", _GKE_GIB, type="DirectoryOrCreate"),
            _host_path("gib-for-pods", _GKE_NVIDIA_GIB, type="DirectoryOrCreate"),
        ],
    )


def fabric_claim_template(prefix: str, ns: k8s.core.v1.Namespace, device_class: str, count: int, provider: k8s.Provider) -> k8s.resource.v1.ResourceClaimTemplate:
    """A namespace's claim on a node's fabric NICs (dynamic resource allocation): a training pod
    lists it under ``resourceClaims`` and its container under ``resources.claims``, and gets
    ``count`` devices of ``device_class`` on the node it lands on (all of a node's NICs: for pods
    that take the whole node; teams may make their own templates for smaller pods)."""
    return k8s.resource.v1.ResourceClaimTemplate(
        f"{prefix}-fabric",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=FABRIC_CLAIM_TEMPLATE, namespace=ns.metadata.name.apply(lambda n: n or ""), labels=MANAGED_BY),
        spec=k8s.resource.v1.ResourceClaimTemplateSpecArgs(
            spec=k8s.resource.v1.ResourceClaimSpecArgs(
                devices=k8s.resource.v1.DeviceClaimArgs(
                    requests=[
                        k8s.resource.v1.DeviceRequestArgs(
                            name="fabric",
                            exactly=k8s.resource.v1.ExactDeviceRequestArgs(device_class_name=device_class, allocation_mode="ExactCount", count=count),
                        )
                    ]
                )
            )
        ),
        # A claim template's spec cannot be changed in place: a new one replaces it.
        opts=pulumi.ResourceOptions(provider=provider, parent=ns, protect=False, replace_on_changes=["spec"], delete_before_replace=True),
    )


NETWORK_OPERATOR_REPO = "https://helm.ngc.nvidia.com/nvidia"
NETWORK_OPERATOR_CHART = "network-operator"
NETWORK_OPERATOR_VERSION = "26.4.0"
NETWORK_OPERATOR_NAMESPACE = "network-operator"
"""NVIDIA's Network Operator as Microsoft's AKS InfiniBand guide installs it (Azure/aks-rdma-infiniband
at 700dabb of 2026-07-15: chart ``nvidia/network-operator`` v26.4.0 in the ``network-operator``
namespace, labelled for privileged pods)."""
DOCA_DRIVER = {"repository": "nvcr.io/nvidia/mellanox", "image": "doca-driver", "version": "doca3.2.0-25.10-1.2.8.0-2"}
SRIOV_DEVICE_PLUGIN = {"repository": "nvcr.io/nvidia/mellanox", "image": "sriov-network-device-plugin", "version": "network-operator-v25.10.0"}
"""The OFED driver and SR-IOV device plugin images Microsoft's guide pins with that chart."""
INFINIBAND_RESOURCE = "rdma/ib"
"""What a training pod asks for to get a node's InfiniBand NICs (one per NIC, from the SR-IOV device plugin)."""
INFINIBAND_NODE_IMAGE = "mcr.microsoft.com/mirror/docker/library/ubuntu:24.04"
"""Ubuntu from Microsoft's registry mirror, as Microsoft's peermem loader runs (it has nsenter and
needs no package at start)."""
MELLANOX_PRESENT = "feature.node.kubernetes.io/pci-15b3.present"
"""The label Node Feature Discovery gives nodes with NVIDIA (Mellanox) InfiniBand functions; the
operator's device plugin states select it."""

_MEMLOCK_DROP_IN = "/etc/systemd/system/containerd.service.d/90-topoform-memlock.conf"
_INFINIBAND_NODE_SETUP = f"""set -eu
host() {{ nsenter -t 1 -m -u -i -n -p -- "$@"; }}
# Containers inherit the runtime's locked-memory limit (64 KiB by default on AKS); NCCL registers
# its buffers with the InfiniBand NICs, which needs it unlimited. Raising it here spares every
# training pod the IPC_LOCK capability, which baseline Pod Security refuses.
if [ "$(host systemctl show containerd -p LimitMEMLOCK --value)" != infinity ]; then
  host mkdir -p {_MEMLOCK_DROP_IN.rsplit("/", 1)[0]}
  host sh -c 'printf "[Service]\\nLimitMEMLOCK=infinity\\n" > {_MEMLOCK_DROP_IN}'
  host systemctl daemon-reload
  # Running containers keep their limit; the runtime and containers it starts from now on get it.
  host systemctl restart containerd
fi
host systemctl show containerd -p LimitMEMLOCK
"""
_OFED_READY = "/run/mellanox/drivers/.driver-ready"
"""What NVIDIA's OFED driver container creates on the host once its modules are loaded."""
_PEERMEM_LOADER = f"""host() {{ nsenter -t 1 -m -- "$@"; }}
# GPUDirect RDMA needs nvidia-peermem, which the AKS-installed driver does not load and the OFED
# driver's start unloads: once OFED is up (never while it reloads its modules), load it again
# whenever it is missing.
was=""
while true; do
  if ! host test -e {_OFED_READY}; then now="waiting for the OFED driver"
  elif host modprobe nvidia-peermem 2>/dev/null; then now=loaded
  else now="not loadable (GPU driver not built against OFED's peer memory: NCCL uses InfiniBand through host memory)"; fi
  [ "$now" = "$was" ] || echo "nvidia-peermem: $now"
  was=$now
  sleep 30
done
"""


def infiniband_fabric(prefix: str, provider: k8s.Provider, parent: pulumi.Resource, *, protect: bool) -> list[pulumi.Resource]:
    """InfiniBand on AKS ND-series nodes, Microsoft's self-managed way (Azure/aks-rdma-infiniband):
    NVIDIA's Network Operator builds the OFED driver on each node of a pool labelled
    ``topoform.io/fabric: infiniband`` and its SR-IOV device plugin offers each of the node's
    InfiniBand NICs as one ``rdma/ib``; a node daemon raises the runtime's locked-memory limit (so training pods
    need no IPC_LOCK) and keeps ``nvidia-peermem`` loaded for GPUDirect RDMA. Everything the
    operator runs is confined to those nodes and tolerates their taints."""
    # The OFED driver and device plugin pods are privileged: the operator's guide labels the namespace so.
    ns = namespace(f"{prefix}-namespace", NETWORK_OPERATOR_NAMESPACE, provider, protect=protect, parent=parent, labels={"pod-security.kubernetes.io/enforce": "privileged"})
    release = k8s.helm.v3.Release(
        prefix,
        name=NETWORK_OPERATOR_CHART,
        chart=NETWORK_OPERATOR_CHART,
        version=NETWORK_OPERATOR_VERSION,
        namespace=NETWORK_OPERATOR_NAMESPACE,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=NETWORK_OPERATOR_REPO),
        # Node Feature Discovery (which the OFED state reads kernels and OS from) stays on; the
        # chart's own rules would label every Mellanox Ethernet function too: ours below instead.
        # Its worker tolerates only the GPU taint by default: every taint here, so a pool's own
        # taints (or AKS's spot taint) do not leave its nodes unlabelled and without the driver.
        values={
            "nfd": {"enabled": True, "deployNodeFeatureRules": False},
            "node-feature-discovery": {"worker": {"tolerations": [{"operator": "Exists"}]}},
        },
        wait_for_jobs=True,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[ns]),
    )
    after = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[release])
    rule = k8s.apiextensions.CustomResource(
        f"{prefix}-nfd-rule",
        api_version="nfd.k8s-sigs.io/v1alpha1",
        kind="NodeFeatureRule",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="topoform-infiniband", labels=MANAGED_BY),
        spec={
            "rules": [
                {
                    "name": "infiniband-virtual-functions",
                    "labels": {MELLANOX_PRESENT: "true"},
                    # ND v4's ConnectX-6 virtual function (101c) and ND v5's ConnectX-7 one (101e)
                    "matchFeatures": [{"feature": "pci.device", "matchExpressions": {"vendor": {"op": "In", "value": ["15b3"]}, "device": {"op": "In", "value": ["101c", "101e"]}}}],
                }
            ]
        },
        opts=after,
    )
    fabric_nodes = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": MELLANOX_PRESENT, "operator": "In", "values": ["true"]},
                        {"key": PLATFORM_FABRIC_LABEL, "operator": "In", "values": ["infiniband"]},
                    ]
                }
            ]
        }
    }
    group, name = INFINIBAND_RESOURCE.split("/")
    device_plugin_config = {"resourceList": [{"resourcePrefix": group, "resourceName": name, "selectors": {"vendors": ["15b3"], "linkTypes": ["infiniband"], "isRdma": True}}]}
    policy = k8s.apiextensions.CustomResource(
        f"{prefix}-policy",
        api_version="mellanox.com/v1alpha1",
        kind="NicClusterPolicy",
        # The operator reconciles this one name only.
        metadata=k8s.meta.v1.ObjectMetaArgs(name="nic-cluster-policy", labels=MANAGED_BY),
        spec={
            "nodeAffinity": fabric_nodes,
            # The GPU taint, and any the pool adds.
            "tolerations": [{"operator": "Exists"}],
            "ofedDriver": {
                **DOCA_DRIVER,
                # Microsoft's fix for a race in which a kernel module fails to load (Mellanox/doca-driver-build#52)
                "env": [{"name": "OFED_BLACKLIST_MODULES_FILE", "value": "/host/etc/modprobe.d/blacklist-ofed-modules.conf"}],
                "forcePrecompiled": False,
                # A new driver version drains a node at a time before it is built there.
                "upgradePolicy": {"autoUpgrade": True, "maxParallelUpgrades": 1, "drain": {"enable": True, "force": True, "deleteEmptyDir": True, "timeoutSeconds": 300}},
                "startupProbe": {"initialDelaySeconds": 10, "periodSeconds": 20},
                "livenessProbe": {"initialDelaySeconds": 30, "periodSeconds": 30},
                "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 30},
            },
            "sriovDevicePlugin": {**SRIOV_DEVICE_PLUGIN, "config": json.dumps(device_plugin_config, separators=(",", ":"))},
        },
        opts=after,
    )
    node = _fabric_daemon(
        f"{prefix}-node",
        "topoform-infiniband-node",
        "infiniband",
        provider,
        parent,
        # nsenter reaches the host's mount namespace through PID 1 (the host's systemd).
        host_pid=True,
        host_network=False,
        init_containers=[_host_step("memlock", _INFINIBAND_NODE_SETUP, {"cpu": "100m", "memory": "64Mi"})],
        # No readiness probe on the module: `pulumi up` waits for a DaemonSet's pods to be ready,
        # and a node building OFED (minutes) or whose driver lacks peer memory would hold it up
        # and fail it. The loop's log says where each node stands.
        containers=[_host_step("nvidia-peermem", _PEERMEM_LOADER, {"cpu": "50m", "memory": "32Mi"})],
    )
    return [ns, release, rule, policy, node]


def _host_step(name: str, script: str, limits: dict[str, str]) -> k8s.core.v1.ContainerArgs:
    """A container of the InfiniBand node daemon running ``script`` against the host (through
    nsenter): privileged, as Microsoft's and NVIDIA's AKS recipes run such steps, with nothing
    written inside the container."""
    return k8s.core.v1.ContainerArgs(
        name=name,
        image=INFINIBAND_NODE_IMAGE,
        image_pull_policy="IfNotPresent",
        security_context=k8s.core.v1.SecurityContextArgs(privileged=True, read_only_root_filesystem=True),
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "16Mi"}, limits=limits),
        command=["/bin/sh", "-c", script],
    )
