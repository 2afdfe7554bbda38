"""A user-space TCP proxy that adds a round-trip time, for benchmarks on one machine.

Kernels in CI containers lack ``netem``, so latency is added here: every chunk read in one
direction is written to the other side RTT/2 later (order kept, bandwidth not limited), and
the first chunk of each connection waits one more RTT, which is what the TCP handshake costs a
real client (on loopback the kernel completes it at once). TLS passes through untouched, so
its handshakes pay their round trips like any other bytes.

It listens on 127.0.0.1 only and forwards to one 127.0.0.1 target; asyncio in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class LatencyProxy:
    """``127.0.0.1:<port>`` forwarding to ``target_port`` with ``rtt_ms`` of round trip."""

    def __init__(self, target_port: int, rtt_ms: float, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.rtt_ms = rtt_ms
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"latency-proxy-{target_port}", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def set_rtt(self, rtt_ms: float) -> None:
        """Change the round trip for connections opened from now on."""
        self.rtt_ms = rtt_ms

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(timeout=5)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, reuse_address=True)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        half = self.rtt_ms / 2000.0
        writers = [client_writer]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            writers.append(upstream_writer)
            await asyncio.gather(
                _pipe(client_reader, upstream_writer, half, first_extra=2 * half),
                _pipe(upstream_reader, client_writer, half, first_extra=0.0),
                return_exceptions=True,
            )
        except (OSError, asyncio.CancelledError):
            # Stopping cancels the open connections: ending quietly here keeps asyncio's
            # stream callback from logging each cancelled task as an error.
            pass
        finally:
            for writer in writers:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, *, first_extra: float
) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds late (the first later still)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def pump_in() -> None:
        extra = first_extra
        try:
            while True:
                data = await reader.read(256 * 1024)
                queue.put_nowait((loop.time() + delay + extra, data))
                extra = 0.0
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time(), b""))

    async def pump_out() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    await asyncio.gather(pump_in(), pump_out())
