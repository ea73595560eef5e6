"""`python -m crawler` is the `crawler` command."""

import sys

from crawler.cli.main import main

sys.exit(main())
