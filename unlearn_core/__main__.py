import sys

from unlearn_core.cli.main import main

sys.exit(main())
