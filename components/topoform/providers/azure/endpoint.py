"""AzureEndpoint: Azure Front Door (Standard) in front of an AKS service.

Public: Front Door terminates TLS for the domain with a managed certificate (TLS 1.2 minimum),
answers HTTP only with a redirect to HTTPS, probes the origin's health path, and its WAF policy
blocks every address outside ``allowed_cidrs``. The origin is the cluster's load balancer on a
static public IP that admits only the ``AzureFrontDoor.Backend`` service tag, and its pods admit
only this profile's requests (``X-Azure-FDID``, a layer-7 Cilium policy, which reads HTTP); Front
Door reaches it over HTTP on that restricted path.
Internal: an internal load balancer on private addresses.

Failover: the secondary is a second origin of priority 2 in the same origin group, another AKS
cluster exposed exactly like the primary origin (port 80, open only to Front Door); Front Door's
health probes move traffic to it. Not Traffic Manager: a managed Front Door
certificate does not renew when the domain resolves through Traffic Manager (Front Door cannot
verify the chain), so a Traffic Manager in front would break TLS within a year.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_azure_native as azure
import pulumi_kubernetes as k8s

from ...kube import MANAGED_BY
from ...resources import Endpoint, EndpointArgs
from .keys import role_assignment

__all__ = ["AzureEndpoint"]

ANNOTATION = "service.beta.kubernetes.io/azure-"
AFD_SKU = "Standard_AzureFrontDoor"


def _relative(domain: str, zone: str) -> str:
    return domain[: -len(zone) - 1] if domain.endswith("." + zone) else "@"


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _guid(front_door_id: str) -> str:
    """The profile's ID, refused unless it is one: an empty header value matches any value."""
    if not _GUID.match(front_door_id or ""):
        raise pulumi.RunError(f"Front Door returned {front_door_id!r} as its profile ID; the origin's policy needs it to admit only this profile")
    return front_door_id


class AzureEndpoint(Endpoint):
    """A public endpoint through Front Door (with a priority-2 origin for failover), or an
    internal load balancer."""

    def _origin(self, args: EndpointArgs, health: dict[str, str]) -> azure.network.PublicIPAddress:
        """A Front Door origin: the cluster's load balancer on a static public IP, port 80, open
        only to the AzureFrontDoor.Backend service tag (no client ranges: Front Door's WAF holds
        the allow-list)."""
        client = azure.authorization.get_client_config_output(opts=self.invoke_opts())
        n = self.named("azure-native:network:PublicIPAddress", "ip")
        pip = azure.network.PublicIPAddress(
            n.name,
            **n.kwargs,
            resource_group_name=args["resource_group"],
            location=args["region"],
            sku=azure.network.PublicIPAddressSkuArgs(name="Standard"),
            public_ip_allocation_method="Static",
            tags=args["tags"],
            opts=self.opts(**n.opts),
        )
        # The cloud provider joins the IP to the cluster's load balancer (Network Contributor on the
        # IP) after listing the group's public IPs to find it (read on the group). AKS's static-IP
        # guide grants Network Contributor on the whole group, which also holds the VNet and the
        # WAF policy: read is all the group needs.
        group = pulumi.Output.all(client.subscription_id, args["resource_group"]).apply(lambda a: f"/subscriptions/{a[0]}/resourceGroups/{a[1]}")
        grant = role_assignment(self, self.child("ip-grant"), args["cluster_principal_id"], "network-contributor", pip.id, client.subscription_id)
        listing = role_assignment(self, self.child("ip-group-reader"), args["cluster_principal_id"], "reader", group, client.subscription_id)
        self.service(
            "LoadBalancer",
            {
                **health,
                f"{ANNOTATION}pip-name": pip.name,
                f"{ANNOTATION}load-balancer-resource-group": args["resource_group"],
                f"{ANNOTATION}allowed-service-tags": "AzureFrontDoor.Backend",
            },
            ports=[80],
            depends_on=[grant, listing],
            app_protocol="http",
        )
        return pip

    def _front_door_only(self, role: str, front_door_id: pulumi.Input[str], provider: k8s.Provider) -> None:
        """The origin's pods admit only this Front Door profile's requests (its ``X-Azure-FDID``):
        the network admits every Front Door in Azure (the ``AzureFrontDoor.Backend`` tag). The
        health path is open to probes without the header (Front Door's and the load
        balancer's), so it must serve nothing else. A layer-7 Cilium policy (ACNS)."""
        args = self._args
        health = "^" + re.escape(args["health_path"]) + "$"
        k8s.apiextensions.CustomResource(
            self.child(role),
            api_version="cilium.io/v2",
            kind="CiliumNetworkPolicy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"front-door-{args['endpoint_name']}"[:63], namespace=args["namespace"], labels=MANAGED_BY),
            spec=pulumi.Output.from_input(front_door_id).apply(_guid).apply(
                lambda fdid: {
                    "endpointSelector": {"matchLabels": dict(args["selector"])},
                    "ingress": [
                        {
                            "toPorts": [
                                {
                                    "ports": [{"port": str(args["port"]), "protocol": "TCP"}],
                                    "rules": {"http": [{"headers": [f"X-Azure-FDID: {fdid}"]}, {"method": "^(GET|HEAD)$", "path": health}]},
                                }
                            ]
                        }
                    ],
                }
            ),
            opts=self.opts(provider=provider),
        )

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AzureEndpoint", name, args, opts)
        # A Front Door origin's pods are admitted by the primary's layer-7 policy (an L4 allow
        # beside it would admit every request); every other endpoint by port.
        if args.get("failover_via") != "front-door" and not (args["public"] and "domain" in args and not args.get("secondary")):
            self.allow_ingress()
        health = {f"{ANNOTATION}load-balancer-health-probe-request-path": args["health_path"]}
        if args.get("failover_via") == "front-door":
            # The primary's Front Door forwards to this cluster as to its own origin.
            pip = self._origin(args, health)
            address = pip.ip_address.apply(lambda ip: ip or "")
            self.finish(address, pulumi.Output.concat("http://", address))
            return
        if not args["public"] or args.get("secondary") or "domain" not in args:
            annotations = {**health, f"{ANNOTATION}load-balancer-internal": "true"} if not args["public"] else health
            svc = self.service(
                "LoadBalancer",
                annotations,
                ports=[443] if args["public"] else None,
                load_balancer_source_ranges=args["allowed_cidrs"] or None,
                app_protocol=None if args["public"] else "http",
            )
            ip = svc.status.apply(lambda s: (s.load_balancer.ingress[0].ip or "") if s and s.load_balancer and s.load_balancer.ingress else "")
            self.finish(ip, f"http://{args['endpoint_name']}")
            return

        rg = args["resource_group"]
        domain = args["domain"]
        pip = self._origin(args, health)
        n = self.named("azure-native:cdn:Profile", "afd")
        profile = azure.cdn.Profile(
            n.name,
            **n.kwargs, resource_group_name=rg, location="global", sku=azure.cdn.SkuArgs(name=AFD_SKU), tags=args["tags"], opts=self.opts(**n.opts)
        )
        n = self.named("azure-native:cdn:AFDEndpoint", "afd-endpoint")
        endpoint = azure.cdn.AFDEndpoint(
            n.name,
            **n.kwargs, resource_group_name=rg, profile_name=profile.name, location="global", enabled_state="Enabled", opts=self.opts(**n.opts)
        )
        n = self.named("azure-native:cdn:AFDOriginGroup", "afd-origins")
        group = azure.cdn.AFDOriginGroup(
            n.name,
            **n.kwargs,
            resource_group_name=rg,
            profile_name=profile.name,
            load_balancing_settings=azure.cdn.LoadBalancingSettingsParametersArgs(sample_size=4, successful_samples_required=3),
            health_probe_settings=azure.cdn.HealthProbeParametersArgs(
                probe_path=args["health_path"],
                probe_protocol=azure.cdn.ProbeProtocol.HTTP,
                probe_request_type=azure.cdn.HealthProbeRequestType.GET,
                probe_interval_in_seconds=args["health_interval_seconds"],
            ),
            opts=self.opts(**n.opts),
        )
        n = self.named("azure-native:cdn:AFDOrigin", "afd-origin")
        origin = azure.cdn.AFDOrigin(
            n.name,
            **n.kwargs,
            resource_group_name=rg,
            profile_name=profile.name,
            origin_group_name=group.name,
            host_name=pip.ip_address.apply(lambda ip: ip or ""),
            origin_host_header=domain,
            http_port=80,
            https_port=443,
            priority=1,
            weight=1000,
            enabled_state="Enabled",
            opts=self.opts(**n.opts),
        )
        zone, dns_rg = args["dns_zone"], args["dns_resource_group"]
        n = self.named("azure-native:cdn:AFDCustomDomain", "afd-domain")
        custom = azure.cdn.AFDCustomDomain(
            n.name,
            **n.kwargs,
            resource_group_name=rg,
            profile_name=profile.name,
            host_name=domain,
            tls_settings=azure.cdn.AFDDomainHttpsParametersArgs(certificate_type="ManagedCertificate", minimum_tls_version=azure.cdn.AfdMinimumTlsVersion.TLS12),
            opts=self.opts(**n.opts),
        )
        azure.dns.RecordSet(
            self.child("dns-validation"),
            resource_group_name=dns_rg,
            zone_name=zone,
            relative_record_set_name=f"_dnsauth.{_relative(domain, zone)}".rstrip(".@"),
            record_type="TXT",
            ttl=3600,
            txt_records=[azure.dns.TxtRecordArgs(value=[custom.validation_properties.apply(lambda v: (v.validation_token or "") if v else "")])],
            opts=self.opts(),
        )
        n = self.named("azure-native:cdn:Route", "afd-route")
        azure.cdn.Route(
            n.name,
            **n.kwargs,
            resource_group_name=rg,
            profile_name=profile.name,
            endpoint_name=endpoint.name,
            origin_group=azure.cdn.ResourceReferenceArgs(id=group.id),
            custom_domains=[azure.cdn.ActivatedResourceReferenceArgs(id=custom.id)],
            supported_protocols=["Http", "Https"],
            https_redirect="Enabled",
            forwarding_protocol="HttpOnly",
            link_to_default_domain="Disabled",
            patterns_to_match=["/*"],
            enabled_state="Enabled",
            opts=self.opts(depends_on=[origin], **n.opts),
        )
        waf = azure.frontdoor.Policy(
            self.child("waf"),
            resource_group_name=rg,
            policy_name=args["endpoint_name"].replace("-", "")[:128],
            location="Global",
            sku=azure.frontdoor.SkuArgs(name=AFD_SKU),
            policy_settings=azure.frontdoor.PolicySettingsArgs(enabled_state="Enabled", mode="Prevention"),
            custom_rules=azure.frontdoor.CustomRuleListArgs(
                rules=[
                    azure.frontdoor.CustomRuleArgs(
                        name="onlyallowedcidrs",
                        priority=1,
                        rule_type="MatchRule",
                        action="Block",
                        match_conditions=[
                            azure.frontdoor.MatchConditionArgs(
                                match_variable="RemoteAddr", operator="IPMatch", negate_condition=True, match_value=args["allowed_cidrs"]
                            )
                        ],
                    )
                ]
            ),
            tags=args["tags"],
            opts=self.opts(),
        )
        azure.cdn.SecurityPolicy(
            self.child("afd-waf"),
            resource_group_name=rg,
            profile_name=profile.name,
            parameters=azure.cdn.SecurityPolicyWebApplicationFirewallParametersArgs(
                type="WebApplicationFirewall",
                waf_policy=azure.cdn.ResourceReferenceArgs(id=waf.id),
                associations=[
                    azure.cdn.SecurityPolicyWebApplicationFirewallAssociationArgs(
                        domains=[azure.cdn.ActivatedResourceReferenceArgs(id=custom.id)], patterns_to_match=["/*"]
                    )
                ],
            ),
            opts=self.opts(),
        )
        self._front_door_only("front-door-only", profile.front_door_id, args["kubernetes_provider"])
        target = args.get("failover_target")
        if target is not None and "failover_kubernetes_provider" in args:
            self._front_door_only("front-door-only-secondary", profile.front_door_id, args["failover_kubernetes_provider"])
        if target is not None:
            n = self.named("azure-native:cdn:AFDOrigin", "afd-origin-secondary")
            azure.cdn.AFDOrigin(
                n.name,
                **n.kwargs,
                resource_group_name=rg,
                profile_name=profile.name,
                origin_group_name=group.name,
                host_name=target,
                origin_host_header=domain,
                http_port=80,
                https_port=443,
                priority=2,
                weight=1000,
                enabled_state="Enabled",
                enforce_certificate_name_check=True,
                opts=self.opts(**n.opts),
            )
        front = endpoint.host_name
        relative = _relative(domain, zone)
        if relative == "@":
            # No CNAME at a zone's apex (RFC 1034): an alias A record follows the Front Door endpoint.
            azure.dns.RecordSet(
                self.child("dns"),
                resource_group_name=dns_rg,
                zone_name=zone,
                relative_record_set_name="@",
                record_type="A",
                ttl=60,
                target_resource=azure.dns.SubResourceArgs(id=endpoint.id),
                opts=self.opts(),
            )
        else:
            azure.dns.RecordSet(
                self.child("dns"),
                resource_group_name=dns_rg,
                zone_name=zone,
                relative_record_set_name=relative,
                record_type="CNAME",
                ttl=60,
                cname_record=azure.dns.CnameRecordArgs(cname=front),
                opts=self.opts(),
            )
        self.finish(front, f"https://{domain}")
