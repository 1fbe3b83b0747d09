"""``python -m utils ...`` is the same as the ``workbook`` command."""

import sys

from utils.cli import main

sys.exit(main())
