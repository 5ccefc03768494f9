import sys

from ml.cli import main

if __name__ == "__main__":  # worker processes started by spawn or forkserver import this module again
    sys.exit(main())
