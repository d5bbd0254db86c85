"""``python -m openlora.trainer RUN_DIR``: the trainer subprocess the agent launches."""

from openlora.trainer.main import main

raise SystemExit(main())
