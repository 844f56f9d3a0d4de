"""``python -m archsim.cli``: the same as the ``archsim`` command."""
import sys

from archsim.cli import main

sys.exit(main())
