"""Frozen entry point of the `foureyes-app` desktop program."""

import sys

from app.main import main

sys.exit(main())
