"""`python -m target_autopilot.sandbox`: the same as the `autopilot-sandbox` command."""

import sys

from target_autopilot.sandbox.cli import main

sys.exit(main())
