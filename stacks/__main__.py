"""The Pulumi program: `pulumi up -s <env>` deploys the topology named in stacks/Pulumi.<env>.yaml.

`topoform preview <env>` runs this same entry point under Pulumi's mocks.
"""

import os

from topoform.program import run

run(base_dir=os.path.dirname(os.path.abspath(__file__)))
