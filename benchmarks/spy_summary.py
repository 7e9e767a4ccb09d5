"""Summarise a py-spy raw (collapsed stacks) file: self and inclusive share per function.

    .venv/bin/python benchmarks/spy_summary.py PROFILE.txt [--top 30] [--idle]
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

IDLE = ("select (selectors.py", "wait (threading.py", "_worker (concurrent", "get (queue.py",
        "epoll", "run_forever", "_run_once")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--idle", action="store_true", help="keep idle (waiting) samples")
    args = parser.parse_args()
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not args.idle and any(frames[-1].startswith(i) or i in frames[-1] for i in IDLE):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    print(f"{total} busy samples")
    print("self:")
    for f, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f}")
    print("inclusive:")
    for f, n in incl.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
