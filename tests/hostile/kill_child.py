"""Run `copydesk` commands in forked children, each SIGKILLed at its Nth write under its output root.

    python -m tests.hostile.kill_child        then, one per line on stdin:  N OUT copydesk-args...

This process imports Copydesk and Prefect once, then forks a child per line (a fresh interpreter
per run would spend most of each kill on imports). Every write and delete under OUT first calls
the checks `common.storage.guard_writes` holds (the lease registers its own there); the child's
counts them and kills the child, without any clean-up, when the count reaches N. N = 0 only
counts. For each line one answer line goes to stdout: ``<exit status> <writes made>``, the status
negative for a signal as in `subprocess`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _child(at: int, out: str, argv: list[str]) -> int:
    from common.storage import guard_writes, resolve
    from flows.cli import main as copydesk

    lock = threading.Lock()
    count = [0]

    def check() -> None:
        with lock:
            count[0] += 1
            if count[0] == at:
                os.kill(os.getpid(), signal.SIGKILL)

    with guard_writes(resolve(out).uri, check):
        code = copydesk(argv)
    with open(f"{out}.writes", "w") as fh:
        fh.write(str(count[0]))
    return code


def main() -> int:
    import flows.backfill
    import flows.cli
    import flows.pipeline  # noqa: F401

    for line in sys.stdin:
        at, out, *argv = line.split()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.dup2(2, 1)  # what the command prints goes to the log, not into the answers
            code = 1
            try:
                code = _child(int(at), out, argv)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        writes = "-"
        if os.path.exists(f"{out}.writes"):
            with open(f"{out}.writes") as fh:
                writes = fh.read()
        sys.stdout.write(f"{code} {writes}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
