"""The policy pack for `pulumi preview --policy-pack policies`: builds it, nothing else."""

from pulumi_policy import EnforcementLevel, PolicyPack

from topoform_policies import PACK_NAME, policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
