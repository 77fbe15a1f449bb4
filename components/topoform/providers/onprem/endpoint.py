"""OnPremEndpoint: a LoadBalancer Service in the existing cluster.

The cluster's own load-balancer implementation (MetalLB, a hardware balancer's controller)
gives it an address. On-prem endpoints are internal, or the failover target of a cloud
endpoint: then port 443 passes TLS through to the workload, which serves the domain's
certificate itself.
"""

from __future__ import annotations

import pulumi

from ...resources import Endpoint, EndpointArgs

__all__ = ["OnPremEndpoint"]


class OnPremEndpoint(Endpoint):
    """A LoadBalancer Service selecting the workload's pods, and the ingress it needs."""

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OnPremEndpoint", name, args, opts)
        secondary = bool(args.get("secondary"))
        svc = self.service("LoadBalancer", ports=[443] if secondary else None, load_balancer_source_ranges=args["allowed_cidrs"] or None)
        self.allow_ingress()
        ip = svc.status.apply(lambda s: (s.load_balancer.ingress[0].ip or "") if s and s.load_balancer and s.load_balancer.ingress else "")
        self.finish(ip, f"http://{args['endpoint_name']}")
