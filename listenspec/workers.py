"""The explorer on every core: its shares (listenspec.layers) in worker processes.

Worker i owns the keys `layers.owner` gives it, as in TLC, where workers split the fingerprint
set. Each layer: every worker expands the frontier states it owns and sends the arrivals it
found for other workers' keys to this process, which hands them on (as the bytes they came
in: nothing is unpickled here), then each worker stores its new states. The exchange is by
layer, so the counts, states and counterexamples are those of one process (layers.py says why
the order arrivals come in does not matter).

Workers are forked (`fork` start method), so they run the very modules (and any rule a test
has deliberately broken) of this process. A worker that fails sends its traceback; this
process raises it. Closing stops every worker, also on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import pickle
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .expand import Expander
from .layers import Candidate, Share, better
from .progress import Progress
from .statekey import Key

_POLL = 0.2  # seconds between progress updates while a layer runs


class WorkerError(RuntimeError):
    """A worker process failed (its traceback is the message)."""


def _serve(conn: Connection, index: int, n: int, expander: Expander, depth: int,
           collect: Callable[[Any], Any] | None, done: Any) -> None:
    share = Share(index, n, expander, depth=depth, collect=collect)
    try:
        while True:
            msg = conn.recv()
            cmd = msg[0]
            if cmd == "root":
                share.add_root(msg[1])
                conn.send(("ok",))
            elif cmd == "expand":
                _, depth, deadline = msg

                def tick(k: int) -> None:
                    done[index] = k

                out, found, transitions, stopped, collected = share.expand_layer(
                    depth, deadline, tick)
                for j in range(n):
                    if j != index:
                        conn.send_bytes(pickle.dumps(out[j], pickle.HIGHEST_PROTOCOL))
                conn.send(("expanded", found, transitions, stopped, collected))
                for _ in range(n - 1):
                    share.receive(pickle.loads(conn.recv_bytes()))
                conn.send(("closed", share.close_layer(depth), share.frontier_size(),
                           share.stored()))
            elif cmd == "node":
                conn.send(("node", share.node(msg[1])))
            elif cmd == "size":
                conn.send(("size", share.frontier_size(), share.stored()))
            elif cmd == "stop":
                return
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return
    except BaseException:
        with contextlib.suppress(Exception):
            conn.send(("error", traceback.format_exc()))


class WorkerShares:
    """`n` shares in `n` forked worker processes (module docstring)."""

    def __init__(self, n: int, expander: Expander, depth: int,
                 collect: Callable[[Any], Any] | None) -> None:
        ctx = mp.get_context("fork")
        self.n = n
        self.done = ctx.Array("q", n, lock=False)
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        self.sizes = [0] * n
        self.total = 0
        try:
            for i in range(n):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_serve, daemon=True, name=f"listenspec-explore-{i}",
                                args=(child, i, n, expander, depth, collect, self.done))
                p.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(p)
        except BaseException:
            self.close()
            raise

    def _recv(self, i: int) -> Any:
        msg = self.conns[i].recv()
        if msg[0] == "error":
            raise WorkerError(f"explorer worker {i} failed:\n{msg[1]}")
        return msg

    def add_root(self, key: Key) -> None:
        for c in self.conns:
            c.send(("root", key))
        for i in range(self.n):
            self._recv(i)
        for i, c in enumerate(self.conns):
            c.send(("size",))
            _, self.sizes[i], _ = self._recv(i)
        self.total = 1

    def layer(self, depth: int, deadline: float | None, bar: Progress, note: str
              ) -> tuple[int, dict[frozenset[str], Candidate], int, bool, list[Any]]:
        total = sum(self.sizes)
        for i in range(self.n):
            self.done[i] = 0
        for c in self.conns:
            c.send(("expand", depth, deadline))
        bar.update(0, total, note)  # (a layer the workers finish at once is shown too)
        blobs: list[list[bytes]] = [[] for _ in range(self.n)]
        found: dict[frozenset[str], Candidate] = {}
        transitions = 0
        stopped = False
        collected: list[Any] = []
        for i, c in enumerate(self.conns):
            while not c.poll(_POLL):
                bar.update(sum(self.done), total, note)
            for j in range(self.n):
                if j != i:
                    blobs[j].append(c.recv_bytes())
            _, f, t, st, col = self._recv(i)
            for fs, cand in f.items():
                if better(cand, found.get(fs)):
                    found[fs] = cand
            transitions += t
            stopped = stopped or st
            collected += col
        for j, c in enumerate(self.conns):
            for blob in blobs[j]:
                c.send_bytes(blob)
        del blobs
        new = 0
        for i in range(self.n):
            _, k, self.sizes[i], _stored = self._recv(i)
            new += k
        self.total += new
        return new, found, transitions, stopped, collected

    def node(self, gid: int) -> tuple[Key, int, int]:
        i = gid % self.n
        self.conns[i].send(("node", gid // self.n))
        return self._recv(i)[1]  # type: ignore[no-any-return]

    def stored(self) -> int:
        return self.total

    def close(self) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send(("stop",))
        for p in self.procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join(timeout=2)
        for c in self.conns:
            c.close()
        self.conns = []
        self.procs = []
