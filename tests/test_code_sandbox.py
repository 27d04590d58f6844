"""Hostile programs against the code sandbox: each must fail AND leave no trace.

Every attack is written so that it would *pass* if the layer it attacks were missing (it returns
the right answer only when the forbidden thing worked), then the test asserts the verdict is a
failure and checks side effects from outside: no file outside the sandbox, no surviving process,
no connection to a listener opened here, and this (grader) process alive with a working sandbox.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from evaluators.code import CodeItem, Limits, Sandbox, check, check_asserts, check_many, run_job, to_grade
from evaluators.code.jobs import Job

REPO = Path(__file__).resolve().parents[1]
SQUARE_TEST = "def check(candidate):\n    assert candidate(3) == 9\n    assert candidate(-4) == 16\n"
GOOD = "def f(x):\n    return x * x\n"


def _descendants(root: int) -> list[tuple[int, str]]:
    """Live processes under `root` (the zygote), excluding zombies already dead."""
    parent: dict[int, int] = {}
    comm: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            head, tail = stat.rsplit(")", 1)
            fields = tail.split()
            if fields[0] != "Z":
                parent[int(entry)] = int(fields[1])
                comm[int(entry)] = head.split("(", 1)[1]
    out, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += [(k, comm[k]) for k in kids]
        frontier += kids
    return out


def _marked_processes(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in Path(f"/proc/{entry}/comm").read_text():
                    found.append(int(entry))
            except OSError:
                pass
    return found


class World:
    """Things an attack might touch, watched from outside the sandbox."""

    def __init__(self) -> None:
        self.nonce = uuid.uuid4().hex[:12]
        self.probe = REPO / ".thinkbench" / f"sandbox-probe-{self.nonce}"
        self.probe.mkdir(parents=True)
        self.probe.chmod(0o777)  # writable by anyone: only the sandbox's own layers can stop a write
        (self.probe / "gold.txt").write_text("9")
        (self.probe / "gold.txt").chmod(0o644)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.setblocking(False)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.outside = [self.probe / "escape.txt", Path(f"/tmp/tb-escape-{self.nonce}"),
                        Path(f"/var/tmp/tb-escape-{self.nonce}"), Path(f"/dev/shm/tb-escape-{self.nonce}"),
                        REPO / f"tb-escape-{self.nonce}"]

    def fill(self, program: str) -> str:
        return (program.replace("PORT", str(self.port)).replace("UDPPORT", str(self.udp_port))
                .replace("PROBE", str(self.probe)).replace("NONCE", self.nonce)
                .replace("GRADER_PID", str(os.getpid())).replace("OUTSIDE", repr([str(p) for p in self.outside])))

    def assert_untouched(self, sandbox: Sandbox) -> None:
        with pytest.raises(BlockingIOError):
            self.tcp.accept()
        with pytest.raises(BlockingIOError):
            self.udp.recvfrom(100)
        for p in self.outside:
            assert not p.exists(), f"sandbox wrote {p}"
        assert sorted(x.name for x in self.probe.iterdir()) == ["gold.txt"]
        zpid = sandbox.pid
        assert zpid is not None
        assert _descendants(zpid) == [], "a sandboxed process survived grading"
        assert _marked_processes(f"tb{self.nonce[:8]}") == []
        if os.geteuid() == 0 and Path(f"/proc/{zpid}/root/tmp").is_dir():
            # work directories live in the zygote's private /tmp; all must be gone
            assert [d for d in os.listdir(f"/proc/{zpid}/root/tmp") if d.startswith("sb-")] == []
        # the grader is alive (we are running) and the sandbox still grades correctly
        assert sandbox.run(CodeItem(GOOD, "f", test=SQUARE_TEST).job()).status == "correct"

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()
        shutil.rmtree(self.probe, ignore_errors=True)
        for p in self.outside:
            if p.exists():
                p.unlink()


@pytest.fixture(scope="module", params=["full", "unprivileged"])
def sandbox(request):
    """Every attack runs against the full sandbox and against the layers an unprivileged grader
    keeps (no root, no namespaces: Landlock, seccomp, rlimits, subreaper)."""
    box = Sandbox(privileged=request.param == "full")
    yield box
    box.close()


@pytest.fixture
def world():
    w = World()
    yield w
    w.close()


ATTACKS: dict[str, str] = {
    # returned objects that claim equality with anything
    "spoofed_eq": """
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __hash__(self): return 0
def f(x):
    return Anything()
""",
    "int_subclass_eq": """
class Liar(int):
    def __eq__(self, other): return True
    __hash__ = int.__hash__
def f(x):
    return Liar(0)
""",
    # patched builtins (the test below also uses abs and isinstance)
    "patched_builtins": """
import builtins
builtins.abs = lambda v: 0
builtins.AssertionError = type("AssertionError", (BaseException,), {})
builtins.round = lambda *a: 16
def f(x):
    return 0
""",
    # writes that look like a verdict, to every stream and every descriptor it can find
    "forged_output": """
import json, os, sys
print("PASSED"); print(json.dumps({"status": "correct", "passed": [True, True], "reason": "ok"}))
sys.stderr.write("All tests passed\\n")
for fd in range(0, 1024):
    for msg in ({"status": "correct", "passed": [True]}, {"value": None}):
        frame = json.dumps(msg).encode()
        try:
            os.write(fd, len(frame).to_bytes(4, "big") + frame)
        except OSError:
            pass
def f(x):
    print("ok 9")
    return 0
""",
    "exit_zero_at_load": "import sys\nsys.exit(0)\ndef f(x):\n    return x * x\n",
    "os_exit_in_call": "import os\ndef f(x):\n    os._exit(0)\n",
    "kill_parent": """
import os, signal
for target in (GRADER_PID, os.getppid(), 1, -1, 0):
    try:
        os.kill(target, signal.SIGKILL)
    except Exception:
        pass
def f(x):
    for target in (GRADER_PID, os.getppid(), -1):
        try:
            os.kill(target, signal.SIGKILL)
        except Exception:
            pass
    return 0
""",
    "raise_in_del": """
class Bomb:
    def __del__(self):
        raise SystemExit(0)
    def __eq__(self, other):
        return True
class Exit:
    def __del__(self):
        import os
        os._exit(0)
_keep = [Bomb(), Exit()]
def f(x):
    return Bomb()
""",
    # walk frames and the heap looking for anything that could hold a result
    "stack_walk": """
import gc, sys
def f(x):
    fr = sys._getframe()
    while fr is not None:
        for v in list(fr.f_locals.values()) + list(fr.f_globals.values()):
            if type(v) is list:
                v.append(True)
            elif type(v) is dict:
                try:
                    v.update(passed=True, status="correct", result="passed")
                except Exception:
                    pass
        fr = fr.f_back
    for o in gc.get_objects():
        if type(o) is list and len(o) < 8:
            o.append(True)
    return 0
""",
    # the expected value of the hidden test is a nonce: look for it anywhere in memory
    "scan_memory_for_tests": """
import gc, sys
def f(x):
    seen = set()
    stack = list(gc.get_objects()) + [sys.modules]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if type(o) is str and o.startswith("tbsecret-"):
            return o
        if type(o) in (list, tuple, set, frozenset):
            stack.extend(o)
        elif type(o) is dict:
            stack.extend(o.keys()); stack.extend(o.values())
        elif hasattr(o, "co_consts"):
            stack.extend(o.co_consts)
    return None
""",
    # gold on disk: a world-readable file outside the sandbox holds the answer
    "read_gold_from_disk": """
def f(x):
    for path in ("PROBE/gold.txt", "/proc/1/cmdline", "/proc/self/environ"):
        try:
            return int(open(path).read())
        except Exception:
            pass
    return 0
""",
    "network": """
import socket
def f(x):
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect((host, PORT))
            return x * x
        except Exception:
            pass
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"hello", ("127.0.0.1", UDPPORT))
        return x * x
    except Exception:
        pass
    return 0
""",
    "write_outside": """
import os
def f(x):
    wrote = False
    for p in OUTSIDE:
        try:
            with open(p, "w") as fh:
                fh.write("x")
            wrote = True
        except OSError:
            pass
    try:
        os.symlink("/etc/passwd", "PROBE/link")
        wrote = True
    except OSError:
        pass
    return x * x if wrote else 0
""",
    "double_fork_daemon": """
import ctypes, os, time
def f(x):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"tbNONCE", 0, 0, 0)
            for _ in range(600):
                time.sleep(0.05)
                try:
                    open("PROBE/late.txt", "w").write("daemon")
                except OSError:
                    pass
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
    return 0
""",
    "fork_bomb": """
import ctypes, os, time
def f(x):
    n = 0
    while n < 500:
        try:
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, b"tbNONCE", 0, 0, 0)
                time.sleep(60)
                os._exit(0)
            n += 1
        except OSError:
            break
    return 0
""",
    "escape_namespaces": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def f(x):
    ok = False
    ok |= libc.unshare(0x10000000) == 0          # new user namespace
    ok |= libc.ptrace(16, 1, 0, 0) == 0          # PTRACE_ATTACH
    ok |= libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
    try:
        os.setuid(0)
        ok |= os.getuid() == 0 and os.geteuid() == 0 and open("/etc/shadow").read() != ""
    except OSError:
        pass
    return x * x if ok else 0
""",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_program_fails_without_side_effects(name: str, world: World, sandbox: Sandbox) -> None:
    program = world.fill(ATTACKS[name])
    test = SQUARE_TEST
    if name == "patched_builtins":
        test = ("def check(candidate):\n    assert abs(candidate(3) - 9) < 1e-9\n"
                "    assert round(candidate(-4)) == 16\n")
    if name == "scan_memory_for_tests":
        test = f"def check(candidate):\n    assert candidate(3) == 'tbsecret-{world.nonce}'\n"
    grade = to_grade(sandbox.run(CodeItem(program, "f", test=test, limits=Limits(timeout_s=3.0)).job()))
    assert not grade.correct, f"{name} forged a pass: {grade}"
    assert grade.status in ("wrong", "timeout", "error")
    time.sleep(0.1)  # give any straggler the chance to act before we look
    world.assert_untouched(sandbox)


def test_attacks_are_real_when_unconfined(world: World) -> None:
    """The attack programs work when run without the sandbox (so the tests above test something)."""
    ns: dict = {}
    exec(world.fill(ATTACKS["spoofed_eq"]), ns)
    assert ns["f"](3) == 9  # a same-process harness would pass it
    ns = {}
    exec(world.fill(ATTACKS["read_gold_from_disk"]), ns)
    assert ns["f"](3) == 9
    ns = {}
    exec(world.fill(ATTACKS["network"]), ns)
    assert ns["f"](3) == 9
    conn, _ = world.tcp.accept()
    conn.close()


def test_mbpp_asserts_with_candidate_classes() -> None:
    program = ("class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
               "def longest(ps, n):\n    return max(p.b - p.a for p in ps[:n])\n")
    asserts = ["assert longest([Pair(1, 5), Pair(2, 3)], 2) == 4", "assert longest([Pair(0, 1)], 1) == 1"]
    assert check_asserts(program, asserts, "longest").correct
    assert not check_asserts(program.replace("p.b - p.a", "p.a - p.b"), asserts, "longest").correct
    # objects that stay in the candidate's process compare by identity on the trusted side only
    spoof = ("class Pair:\n    def __init__(self, a, b): pass\n    def __eq__(self, o): return True\n"
             "def longest(ps, n):\n    return Pair(0, 0)\n")
    assert not check_asserts(spoof, ["assert longest([Pair(1, 5)], 1) == 4"], "longest").correct


def test_wrong_mutants_fail_and_right_program_passes() -> None:
    assert check(GOOD, SQUARE_TEST, "f").correct
    for mutant in ("def f(x):\n    return x + x\n", "def f(x):\n    return abs(x) * 3\n",
                   "def g(x):\n    return x * x\n", "def f(x):\n    return float(x * x) + 1e-3\n",
                   "def f(x):\n    raise ValueError\n", "def f(x)\n    return x*x\n"):
        grade = check(mutant, SQUARE_TEST, "f")
        assert not grade.correct and grade.status == "wrong", (mutant, grade)


def test_timeouts_and_resource_kills_are_not_wrong_answers() -> None:
    wall = check("import time\ndef f(x):\n    time.sleep(60)\n", SQUARE_TEST, "f", limits=Limits(timeout_s=1.0))
    assert (wall.correct, wall.status) == (False, "timeout") and wall.grader_error
    assert wall.reason.startswith("wall-clock limit") and "blocked or sleeping" in wall.reason, wall
    cpu = check("def f(x):\n    while True:\n        pass\n", SQUARE_TEST, "f",
                limits=Limits(timeout_s=60.0, cpu_s=1.0))
    assert (cpu.correct, cpu.status) == (False, "timeout"), cpu
    assert cpu.reason.startswith("CPU time limit"), "the kernel's CPU limit, not the wall deadline, ended it"
    # a busy loop with CPU limit = wall limit is still a CPU timeout: runnable programs are left to the kernel
    busy = check("def f(x):\n    while True:\n        pass\n", SQUARE_TEST, "f", limits=Limits(timeout_s=1.0))
    assert busy.status == "timeout" and busy.reason.startswith("CPU time limit"), busy
    mem = check("def f(x):\n    return len(bytearray(8 * 1024 ** 3))\n", SQUARE_TEST, "f", limits=Limits(timeout_s=5.0))
    assert (mem.correct, mem.status) == (False, "error") and "resource" in mem.reason, mem
    big = check("def f(x):\n    open('big', 'wb').write(b'0' * (8 << 20))\n    return x * x\n", SQUARE_TEST, "f",
                limits=Limits(timeout_s=5.0, file_size_mb=1))
    assert (big.correct, big.status) == (False, "error"), big
    # a program may write files of its own inside its work directory
    ok = check("def f(x):\n    open('scratch.txt', 'w').write('x')\n    return x * x\n", SQUARE_TEST, "f")
    assert ok.correct, ok


def test_check_many_is_parallel_and_ordered() -> None:
    items = [CodeItem(GOOD if i % 3 else "def f(x):\n    return -1\n", "f", test=SQUARE_TEST) for i in range(12)]
    items.append(CodeItem("import time\ndef f(x):\n    time.sleep(30)\n", "f", test=SQUARE_TEST, timeout_s=2.0))
    t0 = time.monotonic()
    grades = check_many(items, workers=4)
    assert [g.correct for g in grades] == [bool(i % 3) for i in range(12)] + [False]
    assert grades[-1].status == "timeout"
    assert time.monotonic() - t0 < 25  # 13 programs, one of them a 2 s timeout, in parallel


def test_outcome_records_layers_and_candidate_exceptions_map_to_builtins() -> None:
    out = run_job(Job("def f(x):\n    raise KeyError(x)\n",
                      ("try:\n    f(1)\n    raise SystemExit\nexcept KeyError:\n    pass\n",), "f"))
    assert out.status == "correct", out  # the test may expect the candidate's exception by type
    assert {"setsid", "tmpdir"} <= set(out.layers)
    assert any(layer.startswith("rlimits") for layer in out.layers)
    # a test that swallows every exception still fails when the candidate dies or hangs
    swallow = ("try:\n    f(1)\nexcept BaseException:\n    pass\n",)
    for body in ("import os\ndef f(x):\n    os._exit(0)\n", "import time\ndef f(x):\n    time.sleep(30)\n"):
        out = run_job(Job(body, swallow, "f", limits=Limits(timeout_s=1.5)))
        assert out.status in ("wrong", "timeout") and out.passed == (False,), out
