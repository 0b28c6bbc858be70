"""``python -m interbank ...``: the same command line as the ``interbank`` script."""

import sys

from interbank.cli import main

sys.exit(main())
