#!/usr/bin/python3
"""Keeps a live model of one Xen host's domains from its xenlet agent.

The pattern every orchestrator needs, in one file:

  1. ListDomains, every page, from one snapshot; keep the snapshot's
     ResumePoint (instance_id, revision).
  2. WatchDomains resuming from that point (resume, resync_inline): the agent
     replays what changed since, sends SYNCED, then live events.
  3. Apply ADDED / MODIFIED / DELETED to the model; move the resume point
     only where the API says it may (SYNCED, BOOKMARK, or a live event not
     marked coalesced).
  4. When the stream breaks, reconnect with exponential backoff and resume.
     If the agent cannot honour the point (it restarted, or the revision left
     its event log) it says RESYNC_REQUIRED and sends the current state
     inline (ADDED ... SYNCED): that state replaces the model.

Output (stdout): one summary line per catch-up (SYNCED or BOOKMARK):

  SYNCED instance=I revision=R domains=N RUNNING=3 PAUSED=1

and with --dump the whole model after it, sorted by domid:

  # model instance=I revision=R domains=N
  <domid> <uuid> <name or -> <STATE>
  # end

Diagnostics (reconnects, resyncs) go to stderr. SIGINT/SIGTERM end it with
exit status 0; a call the agent refuses for good (bad argument, permission)
ends it with 1.

Needs the generated stubs on PYTHONPATH (see README.md):
  examples/python/generate.sh /tmp/xenlet-stubs
  PYTHONPATH=/tmp/xenlet-stubs /usr/bin/python3 xenlet_model.py --dump
"""

import argparse
import random
import signal
import sys
import threading

try:
    import grpc
    from xenlet.v1 import domain_pb2
    from xenlet.v1 import domain_service_pb2 as pb
    from xenlet.v1 import domain_service_pb2_grpc
except ImportError as error:
    sys.exit(
        f"xenlet_model: {error}\n"
        "Debian's python3-grpcio and python3-protobuf are needed (run "
        "/usr/bin/python3), and the stubs: examples/python/generate.sh OUTDIR, "
        "then PYTHONPATH=OUTDIR."
    )

PROG = "xenlet_model"
PAGE_SIZE = 1000  # domains per ListDomains page
LIST_TIMEOUT = 10.0  # seconds per ListDomains call; a watch has no deadline
BACKOFF_INITIAL = 0.5  # seconds before the first reconnect ...
BACKOFF_MAX = 30.0  # ... doubling up to this

# Failures after which the same call may work later: the agent is
# restarting, the connection broke, the agent shed load, or (ListDomains)
# the listing's snapshot is gone. Anything else (INVALID_ARGUMENT,
# PERMISSION_DENIED, UNIMPLEMENTED, ...) would fail again.
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.FAILED_PRECONDITION,
}


def log(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def enum_name(enum, value, prefix):
    """DOMAIN_STATE_RUNNING -> RUNNING; a value newer than the stubs: its number."""
    try:
        return enum.Name(value).removeprefix(prefix)
    except ValueError:
        return str(value)


def state_name(state):
    return enum_name(domain_pb2.DomainState, state, "DOMAIN_STATE_")


class HostModel:
    """The client's copy of the host: domains by domid, and how far it goes."""

    def __init__(self):
        self.domains = {}  # domid -> xenlet.v1.Domain
        # The last point fully applied: where the next watch resumes. None
        # until the first listing, and after a resync that did not finish.
        self.resume = None
        # During an inline resync (RESYNC_REQUIRED ... SYNCED): the new state
        # being received. The old model stays as it is until SYNCED.
        self.pending = None

    def replace(self, domains, snapshot):
        """Takes a complete listing and the snapshot it comes from."""
        self.domains = domains
        self.pending = None
        self.resume = snapshot

    def apply(self, event):
        """Applies one stream message; True if it is a catch-up (SYNCED/BOOKMARK)."""
        kind = event.type
        if kind == pb.EVENT_TYPE_RESYNC_REQUIRED:
            # Our resume point cannot be honoured; since we asked for
            # resync_inline the current state follows: ADDED ... SYNCED.
            self.pending = {}
            return False
        if kind in (pb.EVENT_TYPE_ADDED, pb.EVENT_TYPE_MODIFIED, pb.EVENT_TYPE_DELETED):
            target = self.domains if self.pending is None else self.pending
            domid = event.domain.domid
            if kind == pb.EVENT_TYPE_DELETED:
                target.pop(domid, None)
            else:
                # ADDED inserts or replaces; MODIFIED carries the whole new
                # Domain. Either way the domid now holds event.domain.
                target[domid] = event.domain
            # The ADDED events of an inline resync all carry the snapshot's
            # revision (only its SYNCED is a resume point); a coalesced event
            # may have overtaken an older change of another domain (the
            # BOOKMARK ending the catch-up is the point).
            if self.pending is None and not event.coalesced:
                self._resume_at(event)
            return False
        if kind == pb.EVENT_TYPE_SYNCED:
            if self.pending is not None:
                # The resync is complete: its state replaces the model.
                self.domains, self.pending = self.pending, None
            self._resume_at(event)
            return True
        if kind == pb.EVENT_TYPE_BOOKMARK:
            # Everything up to this revision has been sent.
            self._resume_at(event)
            return True
        return False  # STATS (not asked for) and kinds newer than this client

    def stream_ended(self):
        """A stream broke. If it was in the middle of an inline resync, the old
        point would only be refused again and the new state is partial: list
        afresh on the next connection."""
        if self.pending is not None:
            self.pending = None
            self.resume = None

    def _resume_at(self, event):
        self.resume = domain_pb2.ResumePoint(
            instance_id=event.instance_id, revision=event.revision
        )

    def summary(self, kind):
        counts = {}
        for domain in self.domains.values():
            counts[domain.state] = counts.get(domain.state, 0) + 1
        by_state = "".join(f" {state_name(s)}={n}" for s, n in sorted(counts.items()))
        return (
            f"{enum_name(pb.EventType, kind, 'EVENT_TYPE_')} "
            f"instance={self.resume.instance_id} revision={self.resume.revision} "
            f"domains={len(self.domains)}{by_state}"
        )

    def dump(self):
        lines = [
            f"# model instance={self.resume.instance_id} "
            f"revision={self.resume.revision} domains={len(self.domains)}"
        ]
        for domid in sorted(self.domains):
            d = self.domains[domid]
            lines.append(f"{d.domid} {d.uuid} {d.name or '-'} {state_name(d.state)}")
        lines.append("# end")
        return "\n".join(lines)


class Stopper:
    """SIGINT/SIGTERM: cancel the call in progress and wake the backoff wait."""

    def __init__(self):
        self.event = threading.Event()
        self.call = None  # the watch stream in progress, if any
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, signum, frame):
        self.event.set()
        if self.call is not None:
            self.call.cancel()

    def stopped(self):
        return self.event.is_set()


def list_all(stub):
    """Every domain, all pages of one snapshot: (domains by domid, ResumePoint)."""
    domains, token, snapshot = {}, "", None
    while True:
        page = stub.ListDomains(
            pb.ListDomainsRequest(page_size=PAGE_SIZE, page_token=token), timeout=LIST_TIMEOUT
        )
        # Every page carries the same snapshot; a page token from a
        # restarted agent, or a snapshot the agent no longer retains, is
        # FAILED_PRECONDITION: the caller lists again from the first page.
        snapshot = page.snapshot
        for domain in page.domains:
            domains[domain.domid] = domain
        token = page.next_page_token
        if not token:
            return domains, snapshot


def watch(stub, model, args, stopper, progress):
    """Runs one WatchDomains stream, applying it to the model, until it ends.

    Raises grpc.RpcError when it breaks; progress["events"] counts what came."""
    request = pb.WatchDomainsRequest(resume=model.resume, resync_inline=True)
    if args.bookmark_interval:
        request.bookmark_interval.FromNanoseconds(round(args.bookmark_interval * 1e9))
    call = stub.WatchDomains(request)  # no deadline: it runs until stopped
    stopper.call = call
    if stopper.stopped():  # a signal came before the call could be cancelled
        call.cancel()
    try:
        for event in call:
            progress["events"] += 1
            if event.type == pb.EVENT_TYPE_RESYNC_REQUIRED:
                reason = enum_name(pb.ResyncReason, event.resync_reason, "RESYNC_REASON_")
                log(
                    f"RESYNC_REQUIRED ({reason}): cannot resume from "
                    f"{model.resume.instance_id} revision {model.resume.revision}; "
                    f"agent {event.instance_id} sends its current state"
                )
            if model.apply(event):
                out = model.summary(event.type)
                if args.dump:
                    out += "\n" + model.dump()
                print(out, flush=True)  # one whole block at a time through pipes
    finally:
        stopper.call = None
        model.stream_ended()


def run(stub, args, stopper):
    model = HostModel()
    backoff = BACKOFF_INITIAL
    while not stopper.stopped():
        progress = {"events": 0}
        try:
            if model.resume is None:
                model.replace(*list_all(stub))
                progress["events"] += 1
                log(
                    f"listed {len(model.domains)} domains at "
                    f"{model.resume.instance_id} revision {model.resume.revision}"
                )
            watch(stub, model, args, stopper, progress)
            why = "stream ended by the agent"
        except grpc.RpcError as error:
            if stopper.stopped():
                break
            why = f"{error.code().name}: {error.details()}"
            if error.code() not in RETRYABLE:
                log(why)
                return 1
        if stopper.stopped():
            break
        if progress["events"]:
            backoff = BACKOFF_INITIAL  # it worked for a while: start over
        # Jitter, so that the clients of a restarted agent do not all come
        # back at the same moment.
        delay = backoff * random.uniform(0.5, 1.0)
        if model.resume is None:
            then = "list again"
        else:
            then = f"resume from {model.resume.instance_id} revision {model.resume.revision}"
        log(f"{why}; reconnecting in {delay:.1f}s to {then}")
        stopper.event.wait(delay)
        backoff = min(backoff * 2, BACKOFF_MAX)
    return 0


def main():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep a live model of one host's domains from its xenlet agent "
        "(ListDomains, then WatchDomains resumed from the listing's snapshot); "
        "print a summary at every catch-up (SYNCED, BOOKMARK).",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--socket",
        default="/run/xenlet/xenlet.sock",
        help="the agent's unix socket (default: %(default)s)",
    )
    where.add_argument(
        "--address", help="HOST:PORT of the agent's plaintext loopback TCP listener"
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=0,
        metavar="SECONDS",
        help="BOOKMARK interval on an idle stream, 1..3600 (0: the agent's default)",
    )
    parser.add_argument(
        "--dump", action="store_true", help="print the whole model after each summary"
    )
    args = parser.parse_args()
    if args.bookmark_interval and not 1 <= args.bookmark_interval <= 3600:
        parser.error("--bookmark-interval: must be 0 or 1..3600 seconds")

    # Python runs signal handlers in the main thread, also while it waits for
    # the stream's next message (gRPC's waits wake up regularly for that).
    stopper = Stopper()
    target = args.address if args.address else "unix:" + args.socket
    # gRPC's own reconnect backoff (up to 120 s by default) would otherwise
    # hold calls back longer than ours after a long outage.
    options = [("grpc.max_reconnect_backoff_ms", int(BACKOFF_MAX * 1000))]
    with grpc.insecure_channel(target, options=options) as channel:
        return run(domain_service_pb2_grpc.DomainServiceStub(channel), args, stopper)


if __name__ == "__main__":
    sys.exit(main())
