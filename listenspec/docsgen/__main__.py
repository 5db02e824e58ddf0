"""`python -m listenspec.docsgen [OUT] [--serve]`: the same as `listenspec docs`."""

import sys

from . import main

sys.exit(main())
