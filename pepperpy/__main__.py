"""``python -m pepperpy`` runs the CLI."""

from pepperpy.cli import main

raise SystemExit(main())
