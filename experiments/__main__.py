"""``python -m experiments``: the ``affectlab`` command line."""
import sys

from experiments.cli import main

sys.exit(main())
