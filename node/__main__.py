"""``python -m node``: the same as the ``kontor`` command."""

from node.cli import main

raise SystemExit(main())
