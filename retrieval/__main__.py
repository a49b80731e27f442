"""Entry point for `python -m retrieval`."""
import sys

from .cli import main

sys.exit(main())
