"""``python -m hmr <stage>``: see :mod:`hmr.cli`."""

import sys

from hmr.cli import main

sys.exit(main())
