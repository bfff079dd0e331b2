import sys

from coreport.cli import main

sys.exit(main())
