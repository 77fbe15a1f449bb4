"""GcpEndpoint: a GKE Gateway (global external HTTPS load balancer) with a managed certificate.

Public: a reserved global address, a Certificate Manager certificate for the domain (DNS
authorization), an SSL policy of TLS 1.2 and up (MODERN profile), a Cloud Armor policy that
admits only ``allowed_cidrs``, a health check policy, HTTP answered only with a redirect to
HTTPS, and the domain's A record in Cloud DNS (a primary/backup routing policy with a health
check when the endpoint fails over). Internal: an internal passthrough load balancer.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from ...kube import MANAGED_BY
from ...model import covers_world
from ...program import offline
from ...resources import Endpoint, EndpointArgs

__all__ = ["GATEWAY_CLASS", "GcpEndpoint"]

GATEWAY_CLASS = "gke-l7-global-external-managed"
GATEWAY_API = "gateway.networking.k8s.io/v1"
GKE_POLICY_API = "networking.gke.io/v1"
DENY_PRIORITY = 2147483647


class GcpEndpoint(Endpoint):
    """A public HTTPS endpoint through the GKE Gateway controller, or an internal L4 one."""

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("GcpEndpoint", name, args, opts)
        self.allow_ingress()
        if not args["public"] or args.get("secondary") or "domain" not in args:
            kind = {"networking.gke.io/load-balancer-type": "Internal"} if not args["public"] else {}
            svc = self.service("LoadBalancer", kind, ports=[443] if args["public"] else None, load_balancer_source_ranges=args["allowed_cidrs"] or None)
            ip = svc.status.apply(lambda s: (s.load_balancer.ingress[0].ip or "") if s and s.load_balancer and s.load_balancer.ingress else "")
            self.finish(ip, f"http://{args['endpoint_name']}")
            return
        project = args["project"]
        domain = args["domain"]
        n = self.named("gcp:compute/globalAddress:GlobalAddress", "ip")
        address = gcp.compute.GlobalAddress(n.name, **n.kwargs, project=project, labels=args["tags"], opts=self.opts(**n.opts))
        certmap = self._certificate(domain, project, args)
        n = self.named("gcp:compute/sSLPolicy:SSLPolicy", "tls")
        ssl = gcp.compute.SSLPolicy(n.name, **n.kwargs, project=project, min_tls_version="TLS_1_2", profile="MODERN", opts=self.opts(**n.opts))
        n = self.named("gcp:compute/securityPolicy:SecurityPolicy", "allow-list")
        armor = gcp.compute.SecurityPolicy(
            n.name,
            **n.kwargs,
            project=project,
            description=f"{name}: only allowed_cidrs",
            rules=self._armor_rules(args["allowed_cidrs"], args["health_path"] if args.get("failover_target") is not None else None),
            opts=self.opts(**n.opts),
        )
        svc = self.service("ClusterIP")
        provider = args["kubernetes_provider"]
        ns = args["namespace"]
        gateway_name = args["endpoint_name"]

        def custom(role: str, api: str, kind: str, spec: Any, annotations: dict[str, pulumi.Input[str]] | None = None) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                self.child(role),
                api_version=api,
                kind=kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{gateway_name}-{role}"[:63], namespace=ns, labels=MANAGED_BY, annotations=annotations),
                spec=spec,
                opts=self.opts(provider=provider),
            )

        custom(
            "gateway",
            GATEWAY_API,
            "Gateway",
            {
                "gatewayClassName": GATEWAY_CLASS,
                "addresses": [{"type": "NamedAddress", "value": address.name}],
                "listeners": [
                    {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": domain},
                    {"name": "http", "protocol": "HTTP", "port": 80, "hostname": domain},
                ],
            },
            annotations={"networking.gke.io/certmap": certmap},
        )
        gw_ref = {"name": f"{gateway_name}-gateway", "sectionName": "https"}
        custom(
            "route",
            GATEWAY_API,
            "HTTPRoute",
            {
                "parentRefs": [gw_ref],
                "hostnames": [domain],
                "rules": [{"backendRefs": [{"name": svc.metadata.name, "port": args["port"]}]}],
            },
        )
        custom(
            "redirect",
            GATEWAY_API,
            "HTTPRoute",
            {
                "parentRefs": [{**gw_ref, "sectionName": "http"}],
                "hostnames": [domain],
                "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
            },
        )
        svc_ref = {"group": "", "kind": "Service", "name": svc.metadata.name}
        custom("tls-policy", GKE_POLICY_API, "GCPGatewayPolicy", {"default": {"sslPolicy": ssl.name}, "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": f"{gateway_name}-gateway"}})
        custom("backend-policy", GKE_POLICY_API, "GCPBackendPolicy", {"default": {"securityPolicy": armor.name}, "targetRef": svc_ref})
        custom(
            "health",
            GKE_POLICY_API,
            "HealthCheckPolicy",
            {
                "default": {
                    "checkIntervalSec": args["health_interval_seconds"],
                    "config": {"type": "HTTP", "httpHealthCheck": {"port": args["port"], "requestPath": args["health_path"]}},
                },
                "targetRef": svc_ref,
            },
        )
        self._dns(domain, address.address, project, args)
        self.finish(address.address, f"https://{domain}")

    def _armor_rules(self, cidrs: list[str], health_path: str | None) -> list[gcp.compute.SecurityPolicyRuleArgs]:
        # Even allowed addresses do not get Log4Shell (CVE-2021-44228) lookups through: Google's
        # preconfigured rule for it is evaluated before the allow-list.
        log4j = gcp.compute.SecurityPolicyRuleArgs(
            action="deny(403)",
            priority=900,
            description="CVE-2021-44228 (Log4j lookups)",
            match=gcp.compute.SecurityPolicyRuleMatchArgs(expr=gcp.compute.SecurityPolicyRuleMatchExprArgs(expression="evaluatePreconfiguredExpr('cve-canary')")),
        )
        rules = [log4j]
        if health_path is not None and not covers_world(cidrs):
            # Cloud DNS probes the primary through the load balancer, from Google's addresses that
            # the allow-list does not name (and that Google does not publish): GETs of the health
            # path alone get through, or the primary would always look down.
            rules.append(
                gcp.compute.SecurityPolicyRuleArgs(
                    action="allow",
                    priority=950,
                    description="Cloud DNS health checks (the health path only)",
                    match=gcp.compute.SecurityPolicyRuleMatchArgs(
                        expr=gcp.compute.SecurityPolicyRuleMatchExprArgs(expression=f"request.method == 'GET' && request.path == '{health_path}'")
                    ),
                )
            )
        rules += [
            gcp.compute.SecurityPolicyRuleArgs(
                action="allow",
                priority=1000 + i,
                description="allowed_cidrs",
                match=gcp.compute.SecurityPolicyRuleMatchArgs(
                    versioned_expr="SRC_IPS_V1", config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=cidrs[i * 10 : i * 10 + 10])
                ),
            )
            for i in range((len(cidrs) + 9) // 10)  # Cloud Armor takes ten ranges per rule
        ]
        rules.append(
            gcp.compute.SecurityPolicyRuleArgs(
                action="deny(403)",
                priority=DENY_PRIORITY,
                description="everyone else",
                match=gcp.compute.SecurityPolicyRuleMatchArgs(
                    versioned_expr="SRC_IPS_V1", config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])
                ),
            )
        )
        return rules

    def _certificate(self, domain: str, project: str, args: EndpointArgs) -> pulumi.Output[str]:
        n = self.named("gcp:certificatemanager/dnsAuthorization:DnsAuthorization", "dns-auth")
        auth = gcp.certificatemanager.DnsAuthorization(n.name, **n.kwargs, domain=domain, project=project, labels=args["tags"], opts=self.opts(**n.opts))
        record = auth.dns_resource_records.apply(lambda r: r[0])
        self._zone_record(
            "dns-auth",
            record.name.apply(lambda n: n or ""),
            record.type.apply(lambda t: t or "CNAME"),
            [record.data.apply(lambda d: d or "")],
            project,
            args,
        )
        n = self.named("gcp:certificatemanager/certificate:Certificate", "cert")
        cert = gcp.certificatemanager.Certificate(
            n.name,
            **n.kwargs,
            project=project,
            scope="DEFAULT",
            managed=gcp.certificatemanager.CertificateManagedArgs(domains=[domain], dns_authorizations=[auth.id]),
            labels=args["tags"],
            opts=self.opts(**n.opts),
        )
        n = self.named("gcp:certificatemanager/certificateMap:CertificateMap", "certmap")
        certmap = gcp.certificatemanager.CertificateMap(n.name, **n.kwargs, project=project, labels=args["tags"], opts=self.opts(**n.opts))
        entry = "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry"
        n = self.named(entry, "certmap-entry")
        gcp.certificatemanager.CertificateMapEntry(
            n.name, **n.kwargs, project=project, map=certmap.name, hostname=domain, certificates=[cert.id], opts=self.opts(**n.opts)
        )
        # Clients that send no SNI (health checkers among them) get the same certificate.
        n = self.named(entry, "certmap-primary")
        gcp.certificatemanager.CertificateMapEntry(
            n.name, **n.kwargs, project=project, map=certmap.name, matcher="PRIMARY", certificates=[cert.id], opts=self.opts(**n.opts)
        )
        return certmap.name

    def _zone(self, project: str, args: EndpointArgs) -> pulumi.Output[str]:
        """The Cloud DNS managed zone serving ``dns_zone`` (looked up once the DNS API is on): a
        zone that is not there stops the run with the field to correct, never an empty name."""
        dns_name = f"{args['dns_zone']}."
        field = f"endpoints.{args['tags'].get('topoform-endpoint', self._name)}.dns_zone"

        def pick(zones: list[Any]) -> str:
            # A private zone of the same name answers only inside its networks: public records go to the public one.
            found = next((z.name for z in zones if z.dns_name == dns_name and z.name and (z.visibility or "public") == "public"), None)
            if found is None and offline():
                return dns_name.rstrip(".").replace(".", "-")  # the preview cannot list a project's zones
            if found is None:
                raise pulumi.RunError(
                    f"{field}: project {project} has no public Cloud DNS managed zone for {dns_name} "
                    f"(`gcloud dns managed-zones create --dns-name={dns_name} ...`, or name a zone it has)"
                )
            return str(found)

        zones = gcp.dns.get_managed_zones_output(project=project, opts=self.invoke_opts())
        return zones.managed_zones.apply(pick)

    def _zone_record(self, role: str, name: pulumi.Input[str], type_: pulumi.Input[str], data: list[pulumi.Input[str]], project: str, args: EndpointArgs, **extra: Any) -> gcp.dns.RecordSet:
        return gcp.dns.RecordSet(
            self.child(role),
            project=project,
            managed_zone=self._zone(project, args),
            name=name,
            type=type_,
            ttl=60,
            rrdatas=data or None,
            opts=self.opts(),
            **extra,
        )

    def _dns(self, domain: str, ip: pulumi.Output[str], project: str, args: EndpointArgs) -> None:
        target = args.get("failover_target")
        if target is None:
            self._zone_record("dns", f"{domain}.", "A", [ip], project, args)
            return
        n = self.named("gcp:compute/healthCheck:HealthCheck", "health-check")
        check = gcp.compute.HealthCheck(
            n.name,
            **n.kwargs,
            project=project,
            check_interval_sec=max(30, args["health_interval_seconds"]),  # Cloud DNS health checks: 30 s or more
            https_health_check=gcp.compute.HealthCheckHttpsHealthCheckArgs(port=443, request_path=args["health_path"], host=domain),
            source_regions=["us-central1", "us-east4", "europe-west1"],
            opts=self.opts(**n.opts),
        )
        self._zone_record(
            "dns",
            f"{domain}.",
            "A",
            [],
            project,
            args,
            routing_policy=gcp.dns.RecordSetRoutingPolicyArgs(
                health_check=check.id,
                primary_backup=gcp.dns.RecordSetRoutingPolicyPrimaryBackupArgs(
                    primary=gcp.dns.RecordSetRoutingPolicyPrimaryBackupPrimaryArgs(external_endpoints=[ip]),
                    backup_geos=[gcp.dns.RecordSetRoutingPolicyPrimaryBackupBackupGeoArgs(location=args["region"], rrdatas=[target])],
                    trickle_ratio=0,
                ),
            ),
        )
