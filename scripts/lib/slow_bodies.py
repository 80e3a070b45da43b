"""Slow-body attackers for scripts/load-hostile.sh: keeps CONNECTIONS connections open, each
sending a request head with a bad bearer token and a long declared body, then one byte a
second. When the server answers (or closes), the connection is opened again, until SECONDS
have passed. Prints "ready" once every connection is open, and at the end what the server
did with them.

Usage: slow_bodies.py HOST PORT PATH CONNECTIONS SECONDS [TOKENS]
TOKENS: "x" (the default) sends `Bearer x`, refused without a database lookup; "lookup" sends
a fresh well-formed unknown token each time, which costs the server one token lookup.
Traffic goes to HOST:PORT only (the load scripts use 127.0.0.1).
"""

import asyncio
import secrets
import sys
import time


async def one(host, port, path, stats, opened, tokens):
    token = "elc_" + secrets.token_urlsafe(32) if tokens == "lookup" else "x"
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        stats["refused"] += 1
        opened.release()
        return
    opened.release()
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        ).encode()
    )
    status = None

    async def trickle():
        try:
            while True:
                await asyncio.sleep(1)
                writer.write(b" ")
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    trickling = asyncio.create_task(trickle())
    try:
        line = await reader.readline()
        if line:
            status = line.split(b" ")[1].decode()
            stats["answered_in"].append(time.monotonic() - started)
        while await reader.read(4096):
            pass
        stats["closed_in"].append(time.monotonic() - started)
    except (ConnectionError, OSError):
        stats["closed_in"].append(time.monotonic() - started)
    finally:
        trickling.cancel()
        writer.close()
    stats["status"][status] = stats["status"].get(status, 0) + 1


async def keep(host, port, path, stats, opened, until, tokens):
    while time.monotonic() < until:
        await one(host, port, path, stats, opened, tokens)


async def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    connections, seconds = int(sys.argv[4]), float(sys.argv[5])
    tokens = sys.argv[6] if len(sys.argv) > 6 else "x"
    stats = {"status": {}, "answered_in": [], "closed_in": [], "refused": 0}
    opened = asyncio.Semaphore(0)
    until = time.monotonic() + seconds
    tasks = [
        asyncio.create_task(keep(host, port, path, stats, opened, until, tokens))
        for _ in range(connections)
    ]
    for _ in range(connections):
        await opened.acquire()
    print("ready", flush=True)
    await asyncio.gather(*tasks)

    def pct(values, p):
        if not values:
            return float("nan")
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * p / 100))]

    done = sum(stats["status"].values())
    print(
        f"slow connections: {done} opened in turn, answers {stats['status']}, "
        f"connect refused {stats['refused']}; answered p50 {pct(stats['answered_in'], 50) * 1000:.1f} ms "
        f"p99 {pct(stats['answered_in'], 99) * 1000:.1f} ms, "
        f"closed p99 {pct(stats['closed_in'], 99) * 1000:.1f} ms after the head",
        flush=True,
    )


asyncio.run(main())
