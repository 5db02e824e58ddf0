"""A mutation run over the model (issue 14): make single-point mutants of a model module, run the
model's tests against each, and print which survived and the score.

    python tools/mutation.py [--file models/rules.py ...] [--only N ...] [--list] [--jobs J]
                             [--corpus N] [--timeout SECONDS] [--json OUT] [-- PYTEST ARGS]
    python tools/mutation.py --file models/FILE.py --only N --diff SCRIPT.lsn ...

`--diff` runs no tests: it traces each script under every profile with the unmutated model and
with each chosen mutant, and prints the first line that differs (the start of a test that kills
the mutant, or the evidence that the scripts do not tell the two apart).

A small driver rather than mutmut or cosmic-ray, because the model is not where either looks
for it: setuptools maps the top-level folder `models/` into the package as `listenspec.models`
(the same reason tools/typecheck.py builds the package out of symlinks), and the tools mutate
files in a copied tree that must import as the package does. Here a mutant never touches a
file: the test process gets an import hook that compiles the mutated source in place of the
module, under the module's own name and path, before anything imports it.

The mutants (each one change, made on the syntax tree): a comparison turned into its neighbour
(< and <=, > and >=, == and !=, in and not in), + and - swapped, * made +, an integer constant
made one more, True and False swapped, `and` and `or` swapped (also the and_/or_ of the rule
functions, which build Z3 terms or ints), min_ and max_ swapped, and a `not` (or not_) dropped.
Docstrings are not mutated.

A mutant is killed when the tests fail (or take longer than --timeout); the tests are the
model's own (KILL_SET: the model-only tests, quickest first, stopping at the first failure), with
the kernel's tests left out because a mutant of the model cannot change what the kernel answers.
A mutant the kill set leaves standing meets the corpus (--corpus N, default 1000; 0: none):
N of conformance's random scripts, drawn derandomized (an equal share with each profile's
sysctls), whose traces under every profile the unmutated model gave first; a mutant that
changes any of them is killed (tests/mutation_corpus.py says why that is a conformance kill
for linux and gvisor).

The score is killed / (mutants - equivalent), where EQUIVALENT lists the mutants argued in
docs/reliability.md to behave exactly as the original, and one rule adds the mutants that turn
an assertion's `A and B` into `A or B` (weakened_assertions()). Exit status 1 if any non-equivalent
mutant survived.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: top-level folder -> the package it is installed as (pyproject.toml's package-dir)
PACKAGES = {"models": "listenspec.models", "proofs": "listenspec.proofs",
            "spec": "listenspec.spec", "listenspec": "listenspec"}

DEFAULT_FILES = ("models/rules.py",)

#: The model's tests, quickest first; run with -x so that a killed mutant costs one failure.
KILL_SET = (
    "tests/test_arith.py", "tests/test_rule_values.py", "tests/test_outcome.py",
    "tests/test_invariants.py", "tests/test_fmap.py",
    "tests/test_survivors.py", "tests/test_stopped_port.py", "tests/test_self_connect.py",
    "tests/test_defer_fin.py",
    "tests/test_checker_ways.py",
    "tests/test_backlog_edges.py", "tests/test_refused.py",
    "tests/test_profiles.py", "tests/test_examples.py",
)
#: the second stage (--corpus): random scripts' traces, recorded from the unmutated model
CORPUS_TEST = "tests/mutation_corpus.py"
CORPUS_ENV = "LISTENSPEC_MUTATION_CORPUS"
#: and, with --thorough, these too (minutes per surviving mutant on a shared machine)
THOROUGH = ("tests/test_done_when.py", "tests/test_proofs.py", "tests/test_declared_calls.py")
#: Without the kernel's tests, and without the one test that times the proofs (it fails on a
#: loaded machine, which would read as a kill).
KILL_ARGS = ("-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
             "-k", "not kernel and not proofs_are_fast")

#: Mutants that behave exactly as the original, by file and description (the argument for
#: each is in docs/reliability.md, "Mutation run").
EQUIVALENT: dict[tuple[str, str], str] = {
    ("models/rules.py", "line 29:37: > -> >="):
        "effective_backlog(), signed clamp: a backlog equal to the limit gives the limit either "
        "way",
    ("models/rules.py", "line 34:21: < -> <="):
        "effective_backlog(), 4.4BSD: a backlog of 0 gives 0 either way",
    ("models/rules.py", "line 34:31: 0 -> 1"):
        "effective_backlog(), 4.4BSD (`backlog < 1`): a backlog of 0 gives 0 either way",
    ("models/rules.py", "line 91:42: False -> True"):
        "request_queue_full()'s default for `inclusive`: both callers pass it",
    ("models/rules.py", "line 118:16: >= -> >"):
        "incq_bound() (`cap > 1`): a capacity of 1 gives 1 either way",
    ("models/rules.py", "line 118:23: 1 -> 2"):
        "incq_bound() (`cap >= 2`): a capacity of 1 gives 1 either way",
    ("models/rules.py", "line 223:21: False -> True"):
        "SynArrival.quarter's default: the field is never read",
    ("models/rules.py", "line 292:79: False -> True"):
        "filter_ready()'s default for `reset`: its one caller (dataplane.py) passes it",
    ("models/rules.py", "line 340:8: < -> <="):
        "_http_ready(): where the rest is as long as \"ET \" or \"EAD \", both return whether "
        "it differs (a bare method and space then waits, as the parse that follows finds)",
    ("models/rules.py", "line 345:27: False -> True"):
        "_http_ready(): the first byte is G or H, which clears `inspaces` before any space",
    ("models/rules.py", "line 490:53: 8 -> 9"):
        "reqsk_timeout(): 1 s << 8 is already past TCP_RTO_MAX (120 s), so a shift of 9 is "
        "clamped to the same",
    **{("models/rules.py", f"line {at}: 0 -> 1"):
       f"{where}: the half-open count given to admits() is read only by profiles that count "
       "half-open connections in admission, and none with Linux request socks does (the "
       "premise is a test: test_only_reqsk_timers_admit_segments_and_none_counts_half_open)"
       for at, where in (("181:70", "arrival()'s last quarter"),
                         ("251:80", "syn_arrival()'s overflow"))},
    ("models/arith.py", "line 60:16: <= -> <"):
        "min_(): where a == b both branches are the same value",
    ("models/ops.py", "line 26:42: 1 -> 2"):
        "new_id(): ids are labels, compared only for identity and order, and every reader "
        "(the state key renames them) sees the same with a step of 2",
    ("models/ops.py", "line 30:26: 3 -> 4"):
        "new_fd(): descriptor numbers never reach a trace (a new descriptor reads `fd`) and "
        "the model has no descriptor limit, so numbering from 4 answers every call the same",
    ("models/ops.py", "line 37:52: 0 -> 1"):
        "bump(): the host starts every counter that counter() reads at 0 and counter() refuses "
        "the rest, so the default is never read (the premise is a test: "
        "test_every_counter_a_script_can_read_starts_at_zero)",
    ("models/state.py", "line 334:24: False -> True"):
        "Socket.port_given's default: it is read only by dataplane._stop_listening(), of a "
        "listener, and every socket that listens took its port through ops.take_port() (bind(S), "
        "listen()'s autobind), which sets it False, or ops.join() (bind(S, T)), which sets it "
        "True; the other sockets given an address (an accepted child, a refused client) never "
        "listen on the one profile that stops listeners (linux: a connected or once-connected "
        "socket's listen() is refused, test_a_socket_that_connected_never_listens)",
    ("models/state.py", "line 78:9: 32 -> 33"):
        "FMap.SMALL: the size at which a map stops copying on write and starts sharing one "
        "dict; both ways give every version its own contents (tests/test_fmap.py runs the "
        "versions at SMALL 0, 4 and 32), only the speed differs",
    ("models/state.py", "line 206:12: < -> <="):
        "FMap._derive: at exactly SMALL keys copying on write instead of sharing: both keep "
        "every version's contents (the SMALL argument above)",
    ("models/state.py", "line 38:23: False -> True"):
        "_Store.shared starting true: iteration then copies a dict no other version shares "
        "yet; the contents seen are the same",
    ("models/state.py", "line 52:24: < -> <="):
        "_Store.put(): a remembered gap [start, bound) ends at the first int that was not a "
        "key; removing exactly `bound` (a key set since) and lowering the gap to it is the "
        "same gap",
    ("models/state.py", "line 257:9: 1 -> 2"):
        "FILE: the socket id of a non-socket descriptor is a label; -2 is, like -1, neither "
        "ORPHAN (0) nor a socket id (1 and up)",
    ("models/state.py", "line 290:17: 0 -> 1"):
        "Pending.born's default: the model's one constructor of a Pending (host.py _arrive) "
        "passes born, and statekey.decode passes every field (the premise is a test: "
        "test_the_model_passes_every_field_whose_default_is_argued_unread)",
    ("models/state.py", "line 295:19: 0 -> 1"):
        "Pending.resent's default: resent is read only with `dropped` set (timers.py "
        "_resend_due(), _client_resends()), and the one transition that sets `dropped` "
        "(dataplane.feed) sets resent=0 with it",
    ("models/state.py", "line 315:22: False -> True"):
        "Listener.refusing's default: the model's one constructor of a Listener (host.py "
        "listen) passes refusing, and statekey.decode passes every field (premise: "
        "test_the_model_passes_every_field_whose_default_is_argued_unread)",
    ("models/state.py", "line 364:23: False -> True"):
        "Socket.peer_gone's default (socket() and accept() leave it): it is read only in "
        "dataplane.deliver() for a sender with neither a queued connection nor a live peer; a "
        "fresh socket never sends (ENOTCONN), a connect sets it False, and every way a "
        "connected socket loses its peer or its queue without an RST sets it True",
    ("models/state.py", "line 390:18: 0 -> 1"):
        "Host.clock's default, the boot time: the model reads the clock only as a difference "
        "from a time the state holds and no call returns it (statekey.py: translating every "
        "time by the same amount changes nothing observable), so booting at 1 us is the same",
    ("models/state.py", "line 392:20: 1 -> 2"):
        "Host.next_id's default: ids are only compared for equality and fresh ones are drawn "
        "above every id in use, so starting at 2 renames every id (statekey.py's renaming "
        "argument); 0 (ORPHAN) and -1 (FILE) are never drawn either way",
    ("models/state.py", "line 266:26: True -> False"):
        "HalfOpen's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 275:26: True -> False"):
        "Pending's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 305:26: True -> False"):
        "Listener's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 324:26: True -> False"):
        "Socket's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 380:26: True -> False"):
        "Host's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 395:26: True -> False"):
        "Target's cache_hash: a frozen instance's hash computed once instead of on every "
        "hash() call; the value is the same, only the speed differs",
    ("models/state.py", "line 409:19: False -> True"):
        "Target.short's default: read only for a target with an address (tables.py "
        "_dynamic_errno), and every such Target is made by runner._target_of, which passes "
        "short (an evolve of one keeps it); the default is left only on targets without one",
    ("models/state.py", "line 412:22: False -> True"):
        "Target.anywhere's default: read only as `anywhere or addr is None` (tables.py), so on "
        "a target without an address it changes nothing, and every target with one is made "
        "by runner._target_of, which passes anywhere",
    ("models/state.py", "line 425:16: and -> or"):
        "_evolver(): an assert of what every model class satisfies (checked when the module "
        "is imported): `or` passes exactly where `and` does",
    ("models/rules.py", "line 509:30: 0 -> 1"):
        "syn_ack_recalc(), symbolic branch: the ite picks `True` at a deferral of 0, where "
        "the general resend (`not acked or num_timeout >= defer - 1`) is true as well, and so "
        "it is at 1: choosing the ite at 1 instead changes no value",
    ("models/outcome.py", "line 37:59: > -> >="):
        "with_alternatives(): a single outcome evolved with alternatives=() equals it (the "
        "same state object, the same fields)",
    ("models/walk.py", "line 55:12: and -> or"):
        "_mark_shut(): an assert of two preconditions that always hold together (shutdown's "
        "context names its socket and its `how`): `or` passes exactly when `and` does",
    ("models/rules.py", "line 519:25: 8 -> 9"):
        "reqsk_retries(): qlen << 1 is even, so it is above max(8, backlog) exactly when it is "
        "above max(9, backlog) (for a backlog of 9 or more both are the backlog)",
    ("models/rules.py", "line 542:68: 1 -> 2"):
        "syncache_timeout(): the index stops at 11 instead of 12; TCP_BACKOFF[11] and [12] are "
        "both 512 (and clamped to 64 s)",
    ("models/rules.py", "line 531:16: 1 -> 2"):
        "TCP_BACKOFF[0]: syncache_timeout(0) is tcp_rexmit_initial, never the table",
    ("models/ops.py", "line 48:58: False -> True"):
        "take_port()'s `wildcard` default: its one caller that takes it is a TCP client's "
        "connect, and a socket that has connected never listens (the premise is a test on "
        "every profile and this kernel: test_a_socket_that_connected_never_listens); "
        "`wildcard` is read only for listeners, AF_UNIX names and AF_INET6 sockets without "
        "a peer family, which a connected client has",
    ("models/dataplane.py", "line 440:77: 0 -> 1"):
        "_shut()'s AF_UNIX mirror, `SND if c.how & RCV else 0`: the else arm is taken only for "
        "SHUT_WR, where the first arm gives RCV already, and RCV is 1, so `| 1` adds nothing",
    ("models/dataplane.py", "line 165:39: True -> False"):
        "accepted()'s reset branch, `peer_gone=True`: peer_gone is read only by deliver(), "
        "and this socket is DISCONNECTED and shut both ways, so send()'s table refuses it "
        "(EPIPE) first; if it connects again, the paths that leave it without peer or queue "
        "set peer_gone anew",
    ("models/dataplane.py", "line 279:62: True -> False"):
        "_peer_learns()'s abortive TCP branch, `peer_gone=True` on a peer reset_socket() makes "
        "DISCONNECTED and shuts both ways: as for accepted()'s reset branch, send() refuses it "
        "before deliver() reads peer_gone",
    ("models/dataplane.py", "line 276:71: True -> False"):
        "_peer_learns()'s AF_UNIX branch, `peer_gone=True`: deliver(), its one reader, reads "
        "it only for a TCP stream",
    ("models/dataplane.py", "line 205:81: True -> False"):
        "listener_closes()'s gVisor AF_UNIX branch, `peer_gone=True`: deliver(), its one "
        "reader, reads it only for a TCP stream",
    ("models/dataplane.py", "line 480:83: == -> !="):
        "poll_facts()'s `closed` (DISCONNECTED counts only for TCP): every DISCONNECTED "
        "socket but gVisor's refused one is shut both ways, and each poll table reads `closed` "
        "only beside that (Linux POLLHUP: both or closed) or, for gVisor TCP, beside `ended` "
        "(which DISCONNECTED sets); the BSD, select and gVisor AF_UNIX tables never read it",
    ("models/dataplane.py", "line 258:8: and -> or"):
        "connection_closes(), `queued_on is not None and queued_on in h.socks`: with None both "
        "are false (no socket id is None); a set queued_on always names a socket still in "
        "h.socks (only close() removes a socket nobody else is dropped with, and closing a "
        "listener or a stopped one first unhooks every client queued on it)",
    ("models/dataplane.py", "line 263:42: and -> or"):
        "connection_closes(), `peer != sock.sid`: only a TCP socket connected to itself has "
        "itself for peer; the mutant has it learn its own close (reset, or its own FIN) just "
        "before close() removes it, which leaves the port released or held by ORPHAN as the "
        "original does (at most twice, and every reader of addrs treats that the same)",
    ("models/dataplane.py", "line 437:38: and -> or"):
        "_shut(), `peer != sock.sid`: a peer of None is still None (h.socks.get(None)); only a "
        "TCP socket connected to itself has itself for peer, and the line before returned "
        "when it sent a FIN, so the mutant's own-peer reaches only the TCP arm, which needs fin",
    ("models/dataplane.py", "line 420:11: and -> or"):
        "_shut()'s `tcp`: with `or` AF_UNIX streams and datagram sockets also reach "
        "send_fin(), which for them only adds SND (their `fin` is never set), the same shut "
        "bits; the self-FIN and the peer's FIN need a TCP peer, which they never have",
    ("models/dataplane.py", "line 109:43: 0 -> 1"):
        "feed()'s half-open count to admits() for a request sock: request socks arise only on "
        "profiles with TCP_DEFER_ACCEPT or client_defer_holds_ack, and none counts half-open "
        "connections in admission (the premise is a test: "
        "test_request_socks_arise_only_where_half_open_connections_are_not_admitted)",
    ("models/dataplane.py", "line 110:73: 0 -> 1"):
        "feed(): the child's `resent` is never read again (only for an incomplete-queue "
        "entry whose segment was dropped; the child goes to the completed queue with "
        "`dropped` None, and no transition moves a completed entry back)",
    ("models/rules.py", "line 388:19: False -> True"):
        "PollFacts.ended's default: dataplane.poll_facts() always passes it; the one other "
        "constructor (proofs/readiness.py) makes listeners, whose every poll table reads "
        "`ended` only in the not-listening arm of ite(listening, ...)",
    ("models/rules.py", "line 111:38: False -> True"):
        "incq_capacity()'s u32 flag: only the 3q/2 profiles read it (q and q+1 return first), "
        "and their qlimit is at most 1431655765 (the signed clamp to somaxconn/soacceptqueue, "
        "whose range ends there; INtime's fixed 128), so 3q < 2**32 and the wrap is the "
        "identity",
    **{("models/rules.py", f"line {at}: False -> True"):
       f"_gvisor_poll()'s {where} POLLRDHUP: poll_events() drops POLLRDHUP for a profile "
       "without it, and no profile with the gvisor poll style has it (the premise is a test: "
       "test_the_gvisor_poll_style_never_reports_pollrdhup)"
       for at, where in (("449:55", "TCP"), ("454:30", "UDP"), ("457:88", "AF_UNIX"))},
    ("models/rules.py", "line 456:32: == -> !="):
        "_gvisor_poll()'s AF_UNIX datagram POLLIN: no AF_UNIX datagram socket ever has data "
        "to read (the model does not carry datagrams: deliver() writes only to a `peer`, "
        "which a datagram socket never has), and on gVisor an AF_UNIX stream or seqpacket "
        "socket with data is connected, where `connected and conn_in` reads it already",
    ("models/options.py", "line 48:59: True -> False"):
        "_int_value(): its one caller reads the value as on/off only (bool(n)), and four "
        "bytes are zero as a signed int exactly when they are as an unsigned one",
    ("models/timers.py", "line 172:8: and -> or"):
        "_deferred_fires(): with the request acked, syn_ack_recalc()'s resend is num_timeout >= "
        "defer - 1 (or always, at defer 0), so resend already implies the incremented ticks >= "
        "defer: `resend and ...` and `resend or ...` agree",
    ("models/timers.py", "line 201:39: 0 -> 1"):
        "_segment_arrives(): only profiles with Linux request socks reach it, and none counts "
        "half-open connections in admission (the premise is a test: "
        "test_only_reqsk_timers_admit_segments_and_none_counts_half_open)",
    **{("models/timers.py", f"line {at}: 0 -> 1"):
       f"{where}: syn_ack_recalc() of a request not acked reads no deferral (expire is "
       "num_timeout >= retries and resend is true either way)"
       for at, where in (("141:84", "_half_open_fires()"), ("132:89", "_stale_fires()"))},
    **{("models/timers.py", f"line {at}: False -> True"):
       f"{where}: at deferral 0 syn_ack_recalc() does not read `acked`"
       for at, where in (("141:87", "_half_open_fires()"), ("133:55", "_stale_fires()"))},
    ("models/timers.py", "line 202:61: 0 -> 1"):
        "_segment_arrives(): the child's `resent` is never read again (it is read only for a "
        "request whose segment was dropped, and the child's `dropped` is None)",
    **{("models/timers.py", f"line {line}:{col}: < -> <="):
       "_next_due(): candidates are (due, socket id, kind, index) tuples, distinct for "
       "distinct timers, so `<` and `<=` pick the same one"
       for line, col in ((52, 44), (57, 44), (60, 48), (66, 44), (71, 52), (74, 52))},
    **{("models/rules.py", f"line 531:{col}: {b} -> {b + 1}"):
       "a TCP_BACKOFF entry of 64 or more: the timeout is clamped to SYNCACHE_MAX (64 s) either "
       "way" for col, b in ((36, 64), (40, 128), (45, 256), (50, 512), (55, 512), (60, 512),
                            (65, 512))},
    ("models/host.py", "line 170:8: or -> and"):
        "_keep_peer_family()'s guard: connect() always has a socket and a target, so the "
        "mutant records the target's family on every socket a connect leaves without one. "
        "peer_family is read only by local_family(), for an AF_INET6 socket, in connect's "
        "rows for local_family_errno and v6_pinned_errno, and by the dgram_reconnect_same "
        "row, for a datagram socket; a profile sets all three or none (premises are tests: "
        "test_a_recorded_peer_family_is_read_only_where_gvisor_s_parameters_ask, "
        "test_a_profile_sets_all_of_gvisor_s_peer_family_parameters_or_none). So only gVisor "
        "reads it, and there the mutant adds it only to non-AF_INET6 sockets (never read) "
        "and to datagram ones, which _dgram() gave it already",
    ("models/host.py", "line 256:8: and -> or"):
        "_dgram(): connect()'s target is never None, so the mutant records dgram_peer and "
        "peer_family on every profile; they are read only in the rows of the three gVisor "
        "parameters, which a profile sets all or none of (the premises of line 168:8's "
        "entry), and where they are set the original records them too",
    ("models/host.py", "line 256:9: or -> and"):
        "_dgram(), `dgram_reconnect_same is not None or v6_pinned_errno is not None`: a "
        "profile sets both or neither (the premise is a test: "
        "test_a_profile_sets_all_of_gvisor_s_peer_family_parameters_or_none), so `and` is "
        "the same",
    **{("models/host.py", f"line {at}: True -> False"):
       f"{where}'s `sent_syn=True`: sent_syn is read only by listen()'s "
       "listen_once_connected row, which comes after the row that refuses a connected or "
       f"reset socket, and {why} (the premises are tests: "
       "test_sent_syn_is_read_only_past_the_row_for_connected_and_reset_sockets, "
       "test_a_self_connected_or_dead_socket_never_listens, on this kernel and gVisor too)"
       for at, where, why in (
           ("193:73", "_self_connect()", "a self-connected socket is connected until its own "
            "FIN, then reset with no connect pending, which no call undoes"),
           ("241:65", "_refused_dead()", "gVisor's refused socket is reset with no connect "
            "pending, for good"),
           ("248:76", "_refused_drop()", "no profile whose refusal drops the socket "
            "(refused_drops) has that row"))},
    ("models/host.py", "line 447:10: and -> or"):
        "syn(), `elif d.answered and p.half_open == \"reqsk\"` (a cookie SYN-ACK counted): on "
        "a reqsk profile a SYN neither dropped, overflowed nor stored was answered, so both "
        "agree; elsewhere the mutant bumps the profile's cookie-sent counters, and only reqsk "
        "profiles have any (the premise is a test: "
        "test_only_request_sock_profiles_count_cookies_sent), so it bumps none",
    ("models/host.py", "line 289:46: False -> True"):
        "_end_connect()'s `peer_gone=False` (tcp_disconnect()): peer_gone is read only by "
        "deliver() for a TCP sender with neither a queued connection nor a peer; the socket "
        "left is unconnected, so send() refuses it first (EPIPE), and after a connect again "
        "it is queued, self-connected or refused, and every way it then loses its queue or "
        "peer without an RST sets peer_gone (as for Socket.peer_gone's default; the premise is "
        "a test, on this kernel too: "
        "test_a_socket_whose_reset_connect_reported_sends_only_once_reconnected)",
    **{("models/host.py", f"line {at}: - -> +"):
       "the message of host.py's assert that every declared call has a transition: Python "
       "evaluates it only when the assert fails, and it holds (the module would not import)"
       for at in ("559:43", "560:48")},
    **{("models/host.py", f"line {at}: True -> False"):
       "_arrive()'s eviction, zip(lst.incomp, gone, strict=True): gone is made from "
       "range(len(lst.incomp)), so the lengths are equal and strict never raises"
       for at in ("327:52", "330:67")},
    ("models/host.py", "line 546:48: 0 -> 1"):
        "counter()'s h.counters.get(name, 0): counter() refuses a name not in p.counters and "
        "the host starts each of those at 0, so the default is never read (the premise is a "
        "test: test_every_counter_a_script_can_read_starts_at_zero)",
    ("models/host.py", "line 263:51: True -> False"):
        "_dgram()'s take_port(..., wildcard=True) for an unbound UDP socket: a UDP socket's "
        "wildcard is read only by dgram_v6_takes_v4's connect row and by local_family() on "
        "gVisor, and on those profiles an earlier connect row binds the socket first "
        "(dgram_send_autobinds: the premise is a test, "
        "test_connect_binds_an_unbound_udp_socket_before_dgram_where_its_wildcard_is_read); "
        "elsewhere, runner._target_of gives a connected datagram socket's target "
        "anywhere=False either way, and the other readers are AF_UNIX's and listeners'",
    ("models/host.py", "line 105:16: and -> or"):
        "bind()'s assert before a join: the join row comes after the row that takes every "
        "target without an address, on every profile (the premise is a test: "
        "test_bind_joins_only_a_target_with_an_address), and needs a target, so both sides "
        "of the assert hold whenever it runs",
    ("models/host.py", "line 268:12: and -> or"):
        "_reach(): an assert of two preconditions; where the original's holds the mutant's "
        "does, and where it fails the mutant's next line (_arrive() reads lsock.listener and "
        "client.domain at once) raises instead: no input answers differently",
    ("models/host.py", "line 483:8: and -> or"):
        "accept(): the mutant also gives the client a peer when accept() finds it alive but "
        "not queued on the listener, which only a client that closed its side while queued "
        "is (a Linux listener shut for sending: dataplane._closed() unhooks it); that client "
        "is DISCONNECTED and shut both ways, so send(), shutdown() and connect() refuse it "
        "before reading its peer and close() returns before it (the premise is a test, on "
        "this kernel too: "
        "test_a_client_closed_while_queued_is_refused_every_call_that_reads_its_peer)",
    ("models/profiles.py", "line 21:12: - -> +"):
        "UINT_MAX = 2**32 + 1 instead of 2**32 - 1: every read of the name is `UINT_MAX // 3` "
        "(the FreeBSD limit sysctls' range), and (2**32 + 1) // 3 == (2**32 - 1) // 3 == "
        "1431655765 (the premise is a test: test_uint_max_is_read_only_as_its_third)",
    ("models/profiles.py", "line 235:36: False -> True"):
        "child_inherits_shut_wr's default (every profile but linux and gvisor): it is read only "
        "through dataplane.child_shut_wr(), beside `lsock.shut & SND` of a TCP listener, and "
        "those profiles never have a TCP listener shut for sending (shutdown() of an "
        "unconnected socket or a listener marks nothing there, and a socket that was "
        "connected never listens; the premise is two tests: "
        "test_where_children_do_not_inherit_shut_wr_no_tcp_listener_is_shut_for_sending and "
        "test_no_random_script_shuts_a_tcp_listener_for_sending_there)",
    ("models/profiles.py", "line 418:28: True -> False"):
        "freebsd-src's unix_stream_send_error (and every profile's that inherits it): send() "
        "reads it only in its pending-error row, which these profiles put after the listener row "
        "(send_on_listener) and the EPIPE row (send_order epipe-first), and an AF_UNIX stream "
        "socket there has a pending error only as a listener (shutdown(SHUT_RD)'s "
        "ECONNABORTED) or once it is shut for sending (the peer's close, unp_drop()); the "
        "premise is two tests: "
        "test_where_send_sees_epipe_first_a_unix_streams_error_comes_with_shut_wr and "
        "test_no_random_script_gives_an_unshut_unix_stream_an_error_there",
    ("models/profiles.py", "line 220:40: True -> False"):
        "connect_stop_before_family's default: tables.py's _stop_first() and _stop_later() read "
        "it only beside `connect_after_stop is not None`, and every profile that sets "
        "connect_after_stop sets (and cites) connect_stop_before_family too; where "
        "connect_after_stop is None neither row applies, whichever the order (the premise is "
        "two tests: test_every_profile_with_connect_after_stop_places_it_against_the_family_row "
        "and test_without_connect_after_stop_a_stopped_listener_connects_as_any_other)",
    ("models/profiles.py", "line 1139:32: True -> False"):
        "gvisor's connect_stop_before_family: gVisor's connect_family_errno is EINVAL for every "
        "pair of families, the errno its connect_after_stop gives, so a stopped listener's "
        "connect() is EINVAL whether the stop row comes before the family row or after it (as "
        "measured: EINVAL to all three families; the premise is a test: "
        "test_on_gvisor_the_stop_row_and_the_family_row_give_one_errno)",
    ("models/profiles.py", "line 786:18: False -> True"):
        "linux's filter_holds (gvisor inherits it): host.py reads it only beside a listener's "
        "accept filter, and a listener gets one only from options._set_accept_filter() with a "
        "name among its profile's accept_filters, which Linux and gVisor have none of (the "
        "premise is two tests: test_a_listener_gets_an_accept_filter_only_by_a_name_its_profile_"
        "has and test_no_filter_name_gives_a_listener_an_accept_filter_there)",
    ("models/profiles.py", "line 1011:16: False -> True"):
        "bsd-4.4's poll_rdhup: rules.poll_events() reads it only to take POLLRDHUP out of what "
        "the poll style computes, and the select style never computes it (the premise is a "
        "test over every socket kind and every combination of facts: "
        "test_select_style_readiness_never_names_pollrdhup)",
    ("models/profiles.py", "line 1155:28: False -> True"):
        "gvisor's unix_autobind_per_type: the rows that read it ask about an autobound "
        "(abstract) AF_UNIX name, and gVisor makes none (bind() to a family-only address is "
        "EINVAL, listen() and connect() of an unbound socket do not autobind; the premise is "
        "two tests: test_gvisor_autobinds_no_unix_socket_where_linux_does and "
        "test_no_random_script_autobinds_a_unix_socket_on_gvisor)",
    ("models/tables.py", "line 146:51: 0 -> 1"):
        "resolve()'s `pick` default: it is read only through reach()[pick], when a profile is "
        "passed, and every such call passes pick (the premise is a test: "
        "test_every_resolve_given_a_profile_is_given_its_pick)",
    ("models/tables.py", "line 623:19: not dropped"):
        "connect's autobind row without its `not c.holds_addr`: the row's errno is empty, so the "
        "walk goes on, and its effect, walk._autobind(), leaves a socket that holds an address "
        "as it is (the premise is a test: "
        "test_autobind_leaves_a_socket_that_holds_an_address_alone)",
}

_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In}
_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-",
           ast.Mult: "*"}
_CALLS = {"and_": "or_", "or_": "and_", "min_": "max_", "max_": "min_"}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _sites(tree: ast.AST) -> Iterator[tuple[ast.AST, int, str]]:
    """(node, variant, description) for every single-point mutation, in a fixed order."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        # line:column, so that two mutants of one line are told apart (EQUIVALENT names them)
        line = f"{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', -1) + 1}"
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE:
                    new = _COMPARE[type(op)]
                    yield node, i, f"line {line}: {_SYMBOL[type(op)]} -> {_SYMBOL[new]}"
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP:
            new = _BINOP[type(node.op)]
            yield node, 0, f"line {line}: {_SYMBOL[type(node.op)]} -> {_SYMBOL[new]}"
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            yield node, 0, f"line {line}: {old} -> {new}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, 0, f"line {line}: not dropped"
        elif isinstance(node, ast.Constant) and id(node) not in skip:
            if isinstance(node.value, bool):
                yield node, 0, f"line {line}: {node.value} -> {not node.value}"
            elif isinstance(node.value, int):
                yield node, 0, f"line {line}: {node.value} -> {node.value + 1}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in _CALLS:
                yield node, 0, f"line {line}: {name} -> {_CALLS[name]}"
            elif name == "not_" and len(node.args) == 1:
                yield node, 1, f"line {line}: not_ dropped"


class _Drop(ast.NodeTransformer):
    """Replaces one node (a `not x` or `not_(x)`) with its operand."""

    def __init__(self, target: ast.AST, operand: ast.expr) -> None:
        self.target, self.operand = target, operand

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.operand
        return super().generic_visit(node)


def weakened_assertions(source: str) -> set[str]:
    """The mutants that turn the condition of an `assert A and B` into `A or B`: equivalent by
    rule. An assertion states what holds wherever it is reached (were it ever false, the model
    would stop with an error, which the fuzzing and the explorer look for, and found none of
    in their runs); the weaker condition then holds there too, so the program goes on exactly
    as before. The opposite mutant (`or` made `and`) strengthens one, and stays a mutant."""
    tree = ast.parse(source)
    asserted = {id(n.test) for n in ast.walk(tree) if isinstance(n, ast.Assert)}
    return {desc for node, _, desc in _sites(tree)
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And)
            and id(node) in asserted}


def mutants(source: str) -> list[str]:
    """The description of every mutant of this source, in order."""
    return [desc for _, _, desc in _sites(ast.parse(source))]


def mutate(source: str, k: int) -> str:
    """The source with its k-th mutation applied."""
    tree = ast.parse(source)
    node, variant, _ = list(_sites(tree))[k]
    if isinstance(node, ast.Compare):
        node.ops[variant] = _COMPARE[type(node.ops[variant])]()
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP[type(node.op)]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        tree = _Drop(node, node.operand).visit(tree)
    elif isinstance(node, ast.Constant):
        node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if variant == 1:
            tree = _Drop(node, copy.deepcopy(node.args[0])).visit(tree)
        else:
            node.func.id = _CALLS[node.func.id]
    return ast.unparse(ast.fix_missing_locations(tree))


#: Run in the test process: an import hook that compiles the mutant as the module, then pytest.
_HOOK = """
import importlib.abc, importlib.util, sys
name, path, mutant = sys.argv[1:4]
class Loader(importlib.abc.Loader):
    def create_module(self, spec): return None
    def exec_module(self, module):
        with open(mutant, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), module.__dict__)
class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, target=None, *args):
        if fullname != name: return None
        return importlib.util.spec_from_file_location(name, path, loader=Loader())
sys.meta_path.insert(0, Finder())
"""
_BOOT = _HOOK + """
import pytest
sys.exit(pytest.main(sys.argv[4:]))
"""


#: Run in a trace process: the same import hook, then every script under every profile,
#: traced as the corpus stage traces (tests/mutation_corpus.py: one rendered result a step).
_TRACES = _HOOK + """
import json
sys.path.insert(0, sys.argv[4])
from mutation_corpus import traces
from listenspec.models.profiles import PROFILES
out = {}
for script in sys.argv[5:]:
    text = open(script, encoding="utf-8").read()
    for profile in sorted(PROFILES):
        try:
            out[f"{script} {profile}"] = traces([text], profile)[0]
        except Exception as e:  # a mutant may crash the model: that is a difference too
            out[f"{script} {profile}"] = [f"the model crashed: {type(e).__name__}: {e}"]
print(json.dumps(out))
"""


@contextlib.contextmanager
def _hooked(file: Path, source: str | None, boot: str) -> Iterator[list[str]]:
    """The command that runs `boot` with this source in place of the file (None: the file's
    own), valid while the context lasts (the source is in a temporary file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", prefix="mutant-", encoding="utf-8") as f:
        f.write(file.read_text(encoding="utf-8") if source is None else source)
        f.flush()
        # -P: not the working directory first on sys.path, so that PYTHONPATH can name the
        # package to test (a merge tree, say) as tools/typecheck.py builds it
        yield [sys.executable, "-P", "-c", boot, module_name(file), str(file.resolve()), f.name]


def traces(file: Path, source: str | None, scripts: list[str], timeout: float
           ) -> dict[str, list[str]]:
    """Each script's results under each profile ("SCRIPT PROFILE" -> one rendered result a
    step), with this source in place of the file."""
    with _hooked(file, source, _TRACES) as cmd:
        done = subprocess.run([*cmd, str(ROOT / "tests"), *scripts], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        err = done.stderr.strip().splitlines()
        raise SystemExit(f"mutation: tracing failed: {err[-1] if err else done.returncode}")
    got: dict[str, list[str]] = json.loads(done.stdout)
    return got


def diff(files: list[Path], only: list[int] | None, scripts: list[str], timeout: float) -> int:
    """--diff (module docstring): the first differing line of each trace, per mutant."""
    for script in scripts:
        if not Path(script).is_file():
            raise SystemExit(f"mutation: --diff {script}: no such file")
    if not only:
        raise SystemExit("mutation: --diff needs the mutants to compare (--only N)")
    from listenspec.errors import ListenspecError
    from listenspec.script import parse

    steps: dict[str, list[str]] = {}
    for script in scripts:
        try:
            steps[script] = [st.text for st in
                             parse(Path(script).read_text(encoding="utf-8"), script).steps]
        except ListenspecError as e:
            raise SystemExit(f"mutation: {e}") from None
    for file in files:
        rel = str(file.relative_to(ROOT))
        source = file.read_text(encoding="utf-8")
        descs = mutants(source)
        base = traces(file, None, scripts, timeout)
        for k in only:
            if not 0 <= k < len(descs):
                raise SystemExit(f"mutation: {rel} has mutants 0..{len(descs) - 1}, not {k}")
            got = traces(file, mutate(source, k), scripts, timeout)
            differing = 0
            for key, lines in base.items():
                theirs = got[key]
                if lines == theirs:
                    continue
                differing += 1
                # the first step that differs (a shorter trace: the step after its last)
                pairs = zip(lines, theirs, strict=False)
                at = next((i for i, (a, b) in enumerate(pairs) if a != b),
                          min(len(lines), len(theirs)))
                texts = steps[key.rsplit(" ", 1)[0]]
                step = texts[at] if at < len(texts) else "(after the last step)"
                mine = lines[at] if at < len(lines) else "(no result)"
                other = theirs[at] if at < len(theirs) else "(no result)"
                print(f"{rel} #{k} {key}, step {at + 1}: {step[:100]}\n  model:  {mine[:160]}"
                      f"\n  mutant: {other[:160]}")
            print(f"{rel} #{k} {descs[k]}: {differing} of {len(base)} traces differ", flush=True)
    return 0


def write_corpus(n: int, path: Path) -> None:
    """n derandomized conformance scripts and the unmutated model's traces of them (this
    process imports the model unmutated), as tests/mutation_corpus.py reads them."""
    from hypothesis import HealthCheck, Phase, given, settings

    sys.path.insert(0, str(ROOT / "tests"))
    from mutation_corpus import traces

    from listenspec.models.profiles import PROFILES
    from listenspec.scriptgen import script_text, scripts

    texts: list[str] = []
    # drawn for each profile in turn: the generator writes the sysctls of the profile it is
    # given (each at the ends of its range), and a page profile's are not Linux's
    for name in PROFILES:
        @settings(max_examples=max(1, n // len(PROFILES)), derandomize=True,
                  phases=[Phase.generate], database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(scripts(max_steps=30, syn=True, profile=name))
        def collect(script: object) -> None:
            texts.append(script_text(script))  # type: ignore[arg-type]

        collect()
    data = {"scripts": texts, "traces": {name: traces(texts, name) for name in PROFILES}}
    path.write_text(json.dumps(data), encoding="utf-8")


def module_name(file: Path) -> str:
    rel = file.resolve().relative_to(ROOT)
    return ".".join((PACKAGES[rel.parts[0]], *rel.parts[1:-1], rel.stem))


#: the test processes running now: a SIGTERM or Ctrl-C kills them (_stop), so the threads
#: that wait on them return at once and the run ends (it waited for the mutant in hand before)
_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


class Stopped(Exception):
    """The run was stopped while this mutant's tests ran: no verdict (not a kill)."""


def _stop(signum: int, _frame: object) -> None:
    _STOPPING.set()
    with _RUNNING_LOCK:
        for proc in _RUNNING:
            proc.kill()
    sys.exit(128 + signum)


def run_tests(file: Path, source: str | None, tests: list[str], timeout: float,
              env: dict[str, str] | None = None) -> tuple[bool, str, float]:
    """(passed, the last line pytest printed, seconds) with this source in place of the file."""
    start = time.monotonic()
    with _hooked(file, source, _BOOT) as cmd:
        proc = subprocess.Popen([*cmd, *tests], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})})
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return False, f"timed out after {timeout:.0f} s", time.monotonic() - start
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    if _STOPPING.is_set():
        raise Stopped(f"stopped while {file.name}'s tests ran")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR", "E  "))]
    last = failed[0] if failed else (lines[-1] if lines else err.strip()[-200:])
    return proc.returncode == 0, last, time.monotonic() - start


def main() -> int:
    # SIGTERM unwinds like Ctrl-C: the test processes are killed and the mutants' files removed
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", action="append", help=f"a model file (default {DEFAULT_FILES})")
    ap.add_argument("--only", type=int, action="append", help="only mutant N (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    ap.add_argument("--timeout", type=float, default=300.0, help="per mutant (killed if over)")
    ap.add_argument("--corpus", type=int, default=1000,
                    help="random scripts whose traces a survivor of the kill set must keep "
                         "(0: none)")
    ap.add_argument("--json", type=Path,
                    help="write every mutant's outcome here (rewritten after each mutant, so "
                         "a run stopped part way keeps what it found)")
    ap.add_argument("--resume", type=Path, metavar="JSON",
                    help="a --json file of an earlier run: its killed mutants of a file whose "
                         "source is unchanged since are carried over, not run again (a "
                         "survivor or an equivalent one is run again)")
    ap.add_argument("--thorough", action="store_true", help="also the tests of THOROUGH")
    ap.add_argument("--jobs", type=int, default=1,
                    help=f"mutants tested at once (this machine has {os.cpu_count()} cores)")
    ap.add_argument("--diff", action="append", metavar="SCRIPT",
                    help="no tests: trace SCRIPT (repeatable) under every profile with the model "
                         "and each --only mutant, and print the first differing line")
    ap.add_argument("pytest", nargs="*", help="tests and pytest arguments (default KILL_SET)")
    args = ap.parse_args()
    if args.diff:
        return diff([ROOT / f for f in (args.file or DEFAULT_FILES)], args.only, args.diff,
                    args.timeout)
    corpus = [CORPUS_TEST] if args.corpus and not args.pytest else []
    tests = args.pytest or [*KILL_SET, *(THOROUGH if args.thorough else ()), *corpus,
                            *KILL_ARGS]
    files = [ROOT / f for f in (args.file or DEFAULT_FILES)]
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        env: dict[str, str] = {}
        if corpus and not args.list:
            start = time.monotonic()
            env[CORPUS_ENV] = str(Path(tmp) / "corpus.json")
            write_corpus(args.corpus, Path(env[CORPUS_ENV]))
            print(f"corpus: {args.corpus} random scripts, traced under every profile "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
        return _run(args, tests, files, env)


def _run(args: argparse.Namespace, tests: list[str], files: list[Path],
         env: dict[str, str]) -> int:
    for file in [] if args.list else files:  # the tests must pass through the same hook
        ok, last, secs = run_tests(file, None, tests, args.timeout, env)
        if not ok:
            print(f"the tests fail on the unmutated {file.relative_to(ROOT)}: {last}")
            return 2
        print(f"unmutated {file.relative_to(ROOT)}: the tests pass ({secs:.0f} s)", flush=True)

    outcomes = []
    todo: list[tuple[Path, str, str, int, str]] = []
    earlier = _earlier_kills(args.resume)
    weakened: dict[str, set[str]] = {}  # file -> its mutants equivalent by the assertion rule
    carried: list[dict[str, object]] = []
    for file in files:
        rel = str(file.relative_to(ROOT))
        source = file.read_text(encoding="utf-8")
        descs = mutants(source)
        if args.list:
            for k, desc in enumerate(descs):
                print(f"{rel} #{k} {desc}")
            continue
        digest = _digest(source)
        weakened[rel] = weakened_assertions(source)
        for k, desc in enumerate(descs):
            if args.only and k not in args.only:
                continue
            kept = earlier.get((rel, digest, k, desc))
            if kept is not None:
                carried.append(kept)
            else:
                todo.append((file, rel, source, k, desc))
    if args.resume is not None and not args.list:
        print(f"{len(carried)} killed mutants carried over from {args.resume}; "
              f"{len(todo)} to run", flush=True)

    lock = threading.Lock()
    done: list[dict[str, object]] = list(carried)

    def record(outcome: dict[str, object]) -> None:
        with lock:
            done.append(outcome)
            if args.json:
                _write_json(args.json, done)

    def one(item: tuple[Path, str, str, int, str]) -> dict[str, object]:
        file, rel, source, k, desc = item
        # CPython 3.11's ast module is not safe to use from several threads at once
        # ("AST constructor recursion depth mismatch", seen with --jobs 2)
        with lock:
            mutated = mutate(source, k)
        ok, last, secs = run_tests(file, mutated, tests, args.timeout, env)
        equivalent = (rel, desc) in EQUIVALENT or desc in weakened[rel]
        verdict = ("equivalent" if equivalent and ok else "SURVIVED" if ok else "killed")
        print(f"{rel} #{k} {desc}: {verdict} ({secs:.0f} s){'' if ok else ': ' + last}",
              flush=True)
        outcome: dict[str, object] = {"file": rel, "mutant": k, "what": desc,
                                      "verdict": verdict, "by": None if ok else last,
                                      "source_sha256": _digest(source)}
        record(outcome)
        return outcome

    # threads only wait on the test processes; results keep the mutants' order
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        outcomes = list(pool.map(one, todo))
    if args.list:
        return 0
    outcomes = sorted([*carried, *outcomes], key=lambda o: (str(o["file"]), int(str(o["mutant"]))))
    killed = sum(o["verdict"] == "killed" for o in outcomes)
    equivalent = sum(o["verdict"] == "equivalent" for o in outcomes)
    survived = [o for o in outcomes if o["verdict"] == "SURVIVED"]
    counted = len(outcomes) - equivalent
    score = 100.0 * killed / counted if counted else 100.0
    print(f"\n{len(outcomes)} mutants: {killed} killed, {len(survived)} survived, "
          f"{equivalent} equivalent; score {score:.1f} % of the non-equivalent")
    for o in survived:
        print(f"  survivor: {o['file']} #{o['mutant']} {o['what']}")
    if args.json:
        _write_json(args.json, outcomes)
    return 1 if survived else 0


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _write_json(path: Path, outcomes: list[dict[str, object]]) -> None:
    """Replace `path` whole (a reader never sees half a file)."""
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(outcomes, indent=1) + "\n", encoding="utf-8")
    os.replace(part, path)


def _earlier_kills(path: Path | None) -> dict[tuple[str, str, int, str], dict[str, object]]:
    """(file, its source's sha256, mutant number, what) -> the outcome, for each mutant an
    earlier --json run killed; a record without the source's digest (older runs) counts for
    nothing, since its file may have changed."""
    if path is None:
        return {}
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SystemExit(f"mutation.py: --resume {path}: {e}") from None
    kept = {}
    for o in records if isinstance(records, list) else []:
        if isinstance(o, dict) and o.get("verdict") == "killed" and o.get("source_sha256"):
            kept[(str(o["file"]), str(o["source_sha256"]), int(o["mutant"]), str(o["what"]))] = \
                {**o, "resumed": True}
    return kept


if __name__ == "__main__":
    sys.exit(main())
