"""`python -m topoform` is the `topoform` command."""

import sys

from .cli import main

sys.exit(main())
