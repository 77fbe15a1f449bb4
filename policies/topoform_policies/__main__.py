"""`python -m topoform_policies` prints the rules table for policies/README.md."""

import sys

from .docs import BEGIN, END, rules_table

sys.stdout.write(f"{BEGIN}\n{rules_table()}{END}\n")
