"""`python -m streamops` is the same as the `streamops` command."""

import sys

from .cli import main

sys.exit(main())
