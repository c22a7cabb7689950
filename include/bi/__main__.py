import sys

from include.bi.cli import main

sys.exit(main())
