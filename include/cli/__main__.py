"""``supervision``: an alias of the installed ``supervision`` command."""

import sys

from include.cli import main

sys.exit(main())
