"""AwsEndpoint: a Network Load Balancer in front of a cluster service, TLS from ACM, Route 53 DNS.

The load balancer is made by EKS's built-in cloud controller from a typed Kubernetes Service
(``aws-load-balancer-type: nlb``): TLS terminates on the NLB with an ACM certificate and the
``ELBSecurityPolicy-TLS13-1-2-2021-06`` policy (TLS 1.2 and 1.3 only); only port 443 listens,
so there is no plain HTTP to redirect; ``loadBalancerSourceRanges`` admits only
``allowed_cidrs``. With failover, Route 53 answers with the primary while its health check
passes, else with the secondary.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ...model import covers_world
from ...resources import Endpoint, EndpointArgs

__all__ = ["TLS_POLICY", "AwsEndpoint"]

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HEALTH_CHECK_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
"""Where Route 53 health checks probe from: three regions, two address ranges each (plus the
GLOBAL block): 7 ranges the NLB's security group admits, not all 31."""
ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"


class AwsEndpoint(Endpoint):
    """A public endpoint (TLS NLB, certificate, DNS, optional failover) or an internal one
    (an internal NLB on private addresses)."""

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AwsEndpoint", name, args, opts)
        public = args["public"]
        annotations: dict[str, pulumi.Input[str]] = {
            f"{ANNOTATION}type": "nlb",
            f"{ANNOTATION}healthcheck-protocol": "HTTP",
            f"{ANNOTATION}healthcheck-path": args["health_path"],
            f"{ANNOTATION}healthcheck-interval": str(args["health_interval_seconds"]),
            f"{ANNOTATION}additional-resource-tags": ",".join(f"{k}={v}" for k, v in args["tags"].items()),
        }
        zone_id: pulumi.Output[str] | None = None
        secondary = bool(args.get("secondary"))
        # A primary, and a failover target that clients reach by DNS, terminate TLS for the domain.
        if public and "domain" in args and (not secondary or args.get("tls") == "load-balancer"):
            zone_id = aws.route53.get_zone_output(name=args["dns_zone"], private_zone=False, opts=self.invoke_opts()).zone_id
            cert = self._certificate(args["domain"], zone_id, args)
            annotations[f"{ANNOTATION}ssl-cert"] = cert
            annotations[f"{ANNOTATION}ssl-ports"] = "443"
            annotations[f"{ANNOTATION}ssl-negotiation-policy"] = TLS_POLICY
        if not public:
            annotations[f"{ANNOTATION}internal"] = "true"
        failover = public and not secondary and args.get("failover_target") is not None
        svc = self.service(
            "LoadBalancer",
            annotations,
            ports=[443] if public else None,
            load_balancer_source_ranges=self._source_ranges(args["allowed_cidrs"], failover),
        )
        self.allow_ingress()
        hostname = svc.status.apply(lambda s: (s.load_balancer.ingress[0].hostname or "") if s and s.load_balancer and s.load_balancer.ingress else "")
        if zone_id is not None and not secondary:
            self._dns(zone_id, hostname, args)
        scheme = "https" if public else "http"
        self.finish(hostname, f"{scheme}://{args.get('domain') or '<address>'}")

    def _source_ranges(self, allowed: list[str], failover: bool) -> pulumi.Input[list[str]] | None:
        """Who may reach the load balancer: ``allowed_cidrs``, and with DNS failover Route 53's
        health checkers of the regions that probe it ("Add these ranges to the list of allowed IP
        address ranges if you're using Route 53 health checks"), else the primary always looks
        down and DNS always answers with the secondary."""
        if not failover or covers_world(allowed):
            return allowed or None
        checkers = aws.get_ip_ranges_output(services=["route53_healthchecks"], regions=["global", *HEALTH_CHECK_REGIONS], opts=self.invoke_opts())
        return checkers.cidr_blocks.apply(lambda blocks: [*allowed, *sorted(set(blocks) - set(allowed))])

    def _certificate(self, domain: str, zone_id: pulumi.Output[str], args: EndpointArgs) -> pulumi.Output[str]:
        cert = aws.acm.Certificate(
            self.child("cert"),
            domain_name=domain,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=args["tags"],
            opts=self.opts(),
        )
        option = cert.domain_validation_options.apply(lambda o: o[0])
        # One account's certificates for one domain share this record (a failover target's in
        # another region too): the target's copy stays when it goes, for the primary to renew with.
        record = aws.route53.Record(
            self.child("cert-validation"),
            zone_id=zone_id,
            name=option.resource_record_name.apply(lambda n: n or ""),
            type=option.resource_record_type.apply(lambda t: t or "CNAME"),
            records=[option.resource_record_value.apply(lambda v: v or "")],
            ttl=300,
            allow_overwrite=True,
            opts=self.opts(retain_on_delete=bool(args.get("secondary"))),
        )
        validation = aws.acm.CertificateValidation(
            self.child("cert-valid"), certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn], opts=self.opts()
        )
        return validation.certificate_arn

    def _dns(self, zone_id: pulumi.Output[str], hostname: pulumi.Output[str], args: EndpointArgs) -> None:
        domain = args["domain"]
        target = args.get("failover_target")
        if target is None:
            aws.route53.Record(self.child("dns"), zone_id=zone_id, name=domain, type="CNAME", ttl=60, records=[hostname], opts=self.opts())
            return
        check = aws.route53.HealthCheck(
            self.child("health"),
            type="HTTPS",
            fqdn=hostname,
            port=443,
            resource_path=args["health_path"],
            request_interval=30 if args["health_interval_seconds"] >= 30 else 10,
            failure_threshold=3,
            # Three checker regions (the fewest Route 53 takes), whose ranges the NLB admits.
            regions=HEALTH_CHECK_REGIONS,
            tags={**args["tags"], "Name": self.child("health")},
            opts=self.opts(),
        )
        # Both answers are CNAMEs: an IP secondary first gets a name of its own in the zone.
        secondary: pulumi.Input[str] = target
        if args.get("failover_address") == "ip":
            secondary = aws.route53.Record(
                self.child("dns-secondary-address"),
                zone_id=zone_id,
                name=f"{args['endpoint_name']}-secondary.{args['dns_zone']}",
                type="A",
                ttl=60,
                records=[target],
                opts=self.opts(),
            ).fqdn
        for role, answer, health in (("primary", hostname, check.id), ("secondary", secondary, None)):
            aws.route53.Record(
                self.child("dns", role),
                zone_id=zone_id,
                name=domain,
                type="CNAME",
                ttl=60,
                records=[answer],
                set_identifier=f"{args['endpoint_name']}-{role}",
                failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=role.upper())],
                health_check_id=health,
                opts=self.opts(),
            )
