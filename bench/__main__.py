"""``python -m bench [realtime] [--quick] [--senders N]``: run Comity's benchmarks (see docs/performance.md)."""

import sys

from bench import realtime

if __name__ == "__main__":
    realtime.main(sys.argv[1:])
