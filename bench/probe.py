"""Where a message's CPU goes: one Comity step at a fixed rate, CPU time per process.

    python -m bench.probe [--system comity|bare-core|bare-pubsub] [--rate 100] [--seconds 6] [--senders 1]
                          [--profile FILE.svg]

Runs the real-time benchmark's set-up (two daphne workers on PostgreSQL and
Redis, ten threads of five member sockets), drives one step at ``--rate``
sends/s and reads each process's CPU time from ``/proc`` before and after:
the workers, PostgreSQL's backends, Redis and this driving process. Prints
milliseconds of CPU per accepted message, with the step's latency. With
``--profile``, py-spy samples the first worker (GIL holder only) during the
step. Linux only; a tool for finding costs, not a benchmark of record.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import realtime

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0, 0.0
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def daphne_pids(urls: list[str]) -> list[int]:
    ports = {url.rsplit(":", 1)[1] for url in urls}
    found = []
    for pid in pids_named("python") + pids_named("python3") + pids_named("daphne"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        except OSError:
            continue
        if "daphne" in " ".join(cmdline) and ports & set(cmdline):
            found.append(pid)
    return found


def process_groups(urls: list[str]) -> dict[str, list[int]]:
    """The processes whose CPU is counted, read afresh (a connection made during the step counts too)."""
    return {
        "daphne workers": daphne_pids(urls),
        "postgres": pids_named("postgres"),
        "redis": pids_named("redis-server"),
        "driver": [os.getpid()],
    }


def snapshot(groups: dict[str, list[int]]) -> dict[str, dict[int, tuple[float, float]]]:
    return {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}


def used(before: dict[int, tuple[float, float]], after: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """User and system CPU seconds between two snapshots; a process born in between counts from zero."""
    born = (0.0, 0.0)
    return (
        sum(u - before.get(pid, born)[0] for pid, (u, _) in after.items()),
        sum(s - before.get(pid, born)[1] for pid, (_, s) in after.items()),
    )


async def probe(
    system: str, urls: list[str], load: realtime.ComityLoad, rate: int, seconds: float, profile: str | None
) -> None:
    # A warm-up step first (connections, caches), then the measured one.
    for n in range(len(load.steps)):
        if system == "comity":
            sockets = await realtime.connect_members(urls, load)
            await realtime.subscribe(sockets, load.steps[n])
            senders, frames = realtime.sending(sockets, [by_member for _, by_member in load.steps[n]])
        else:
            sockets = await realtime.connect_bare(urls)
            senders, frames = realtime.sending(sockets, load.bare_frames[n])
        measured = n == len(load.steps) - 1
        spy = None
        if measured and profile:
            worker = str(daphne_pids(urls)[0])
            spy = subprocess.Popen(
                ["py-spy", "record", "--gil", "--nonblocking", "--rate", "500", "-o", profile, "-p", worker]
                + (["--format", "raw"] if profile.endswith(".txt") else []),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(1)
        await realtime.settle()
        before, started = snapshot(process_groups(urls)), time.perf_counter()
        step = await realtime.drive(system, rate, seconds, senders, [x for s in sockets for x in s], frames)
        after, wall = snapshot(process_groups(urls)), time.perf_counter() - started
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        await realtime.close_all(sockets)
        if measured:
            realtime.report_step(step)
            print(f"CPU per message at {rate} sends/s over {wall:.1f} s:")
            for name in after:
                user, system_time = used(before[name], after[name])
                print(
                    f"  {name:<16} {1000 * (user + system_time) / step.sent:6.2f} ms"
                    f"  (user {1000 * user / step.sent:5.2f}, system {1000 * system_time / step.sent:5.2f})"
                    f"  {100 * (user + system_time) / wall:5.1f} % of one core"
                )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--system", choices=["comity", "bare-core", "bare-pubsub"], default="comity")
    parser.add_argument(
        "--senders", type=int, choices=range(1, realtime.MEMBERS + 1), default=1, help="members sending in each thread"
    )
    parser.add_argument(
        "--profile", help="write a py-spy flame graph (.svg) or collapsed stacks (.txt) of the first worker here"
    )
    args = parser.parse_args(argv)
    database = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/comity_probe")
    redis = os.environ.get("BENCH_REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    realtime.prepare_database(database)
    load = realtime.build_comity_load([args.rate, args.rate], args.seconds, args.senders)
    app, env = "consult.asgi:application", realtime.comity_env(database, redis)
    if args.system != "comity":
        app, env = "bench.bare:application", realtime.bare_env(redis, args.system.split("-")[1])
    with realtime.workers(app, 2, env) as urls:
        asyncio.run(probe(args.system, urls, load, args.rate, args.seconds, args.profile))


if __name__ == "__main__":
    main(sys.argv[1:])
