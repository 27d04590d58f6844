"""Round two of hostile programs (issue 16), each class in both sandbox modes, each with a control
showing the attack is real without the sandbox (or without the fix):

1. deep directory trees that made the recursive cleanup raise and the zygote die;
2. System V IPC and POSIX message queues crossing the boundary;
3. Unix socket files outside the sandbox;
4. metadata of the grader's files and limits of its processes (the unprivileged mode runs the
   program under the grader's own uid), and a zygote whose limits were broken;
5. a lone surrogate in an exception message, which aborted a run at the store;
6. replies that made the supervisor decode without bound (memory, hash collisions).

And correct programs graded beside all of them keep their verdicts.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.grade import Grade
from core.records import Attempt, Ledger, Problem, Sample
from evaluators.code import CodeItem, Limits, Sandbox, to_grade
from evaluators.code.cleanup import remove_tree
from evaluators.graders.code import hidden_item
from harness.compute import Costing
from harness.grading import Grader, grade_attempt
from harness.store import Store
from suites import load_suite
from suites.code_suites import reference_program

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("THINKBENCH_DATA_DIR") or str(REPO.parent / "shared" / "datasets")
TEST = "def check(candidate):\n    assert candidate(3) == 9\n"
GOOD = "def f(x):\n    return x * x\n"
_libc = ctypes.CDLL(None, use_errno=True)


@pytest.fixture(scope="module", params=["full", "unprivileged"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    box = Sandbox(privileged=request.param == "full")
    yield box
    box.close()


@pytest.fixture
def probe() -> Iterator[Path]:
    """A directory of the grader's (root-owned, like the grader's own files) outside any sandbox."""
    d = REPO / ".thinkbench" / f"sandbox-escape-{uuid.uuid4().hex[:10]}"
    d.mkdir(parents=True)
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def grade(box: Sandbox, program: str, timeout_s: float = 5.0, test: str = TEST) -> Grade:
    return to_grade(box.run(CodeItem(program, "f", test=test, limits=Limits(timeout_s=timeout_s)).job()))


def unconfined(program: str, arg: int = 3) -> object:
    """Run `f(arg)` of `program` in a forked child of this (grader) process: the control."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ns: dict = {}
            exec(program, ns)
            os.write(w, json.dumps(ns["f"](arg)).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return json.loads(out) if out else None


def assert_clean(box: Sandbox) -> None:
    """No work directory left behind, and the same sandbox still grades a correct program."""
    zpid = box.pid
    assert zpid is not None
    root = Path(f"/proc/{zpid}/root/tmp")
    workroot = root if "tmpfs" in box.layers else Path(box._fallback_dir or "/nonexistent")
    assert [d for d in os.listdir(workroot) if d.startswith("sb-")] == []
    assert grade(box, GOOD).correct


# 1. deep trees ---------------------------------------------------------------------------------

DEEP = """
import os
def f(x):
    os.mkdir("locked", 0)  # unreadable: the cleanup must give itself the rights back
    fd = os.open(".", os.O_RDONLY)
    for _ in range(DEPTH):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.symlink("/", "root", dir_fd=fd)  # never followed
    return x * x
"""


def test_control_deep_tree_breaks_shutil_but_not_remove_tree(tmp_path: Path) -> None:
    tree = tmp_path / "w"
    tree.mkdir()
    os.chdir(tree)
    try:
        unconfined(DEEP.replace("DEPTH", "1200"))
    finally:
        os.chdir(REPO)
    with pytest.raises(RecursionError):
        shutil.rmtree(tree, ignore_errors=True)  # what the supervisor and the zygote did
    assert remove_tree(tree) and not tree.exists()
    assert remove_tree(tmp_path / "missing")  # a missing path is not an error
    assert Path("/etc/passwd").exists()


def test_deep_tree_is_removed_and_the_program_keeps_its_verdict(sandbox: Sandbox) -> None:
    grade(sandbox, GOOD)
    zygote = sandbox.pid
    assert grade(sandbox, DEEP.replace("DEPTH", "1200"), timeout_s=20).correct  # a right answer stays right
    assert sandbox.pid == zygote, "the zygote died"
    assert_clean(sandbox)


# 2. System V IPC and POSIX message queues -------------------------------------------------------

IPC = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
def f(x):
    got = []
    shm = libc.shmget(HOSTKEY, 0, 0)  # the host's segment
    if shm >= 0:
        addr = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
        if addr not in (None, ctypes.c_void_p(-1).value):
            got.append(ctypes.string_at(addr, 8).decode(errors="replace"))
    got.append(libc.shmget(0, 1 << 20, 0o1600) >= 0)  # IPC_PRIVATE | IPC_CREAT: left pinned
    got.append(libc.msgget(0, 0o1600) >= 0)
    got.append(libc.semget(0, 1, 0o1600) >= 0)
    got.append(libc.mq_open(b"/MQNAME", 0o102, 0o600, None) >= 0)  # O_RDWR | O_CREAT
    return x * x if any(got) else 0
"""


def _sysv_ids() -> set[str]:
    ids = set()
    for kind in ("shm", "msg", "sem"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        ids |= {f"{kind}:{line.split()[1]}" for line in lines}
    return ids


def _remove_sysv(ids: set[str]) -> None:
    for item in ids:
        kind, ident = item.split(":")
        ctl = {"shm": _libc.shmctl, "msg": _libc.msgctl, "sem": _libc.semctl}[kind]
        ctl(int(ident), 0, 0) if kind == "sem" else ctl(int(ident), 0, None)  # IPC_RMID


@pytest.fixture
def host_segment() -> Iterator[tuple[int, str]]:
    """A root-owned mode-0600 shared-memory segment of the host holding a secret."""
    key, secret = int.from_bytes(os.urandom(3), "big") + 1, uuid.uuid4().hex[:8]
    _libc.shmat.restype = ctypes.c_void_p
    shm = _libc.shmget(key, 4096, 0o1600)
    assert shm >= 0
    addr = _libc.shmat(shm, None, 0)
    ctypes.memmove(addr, secret.encode(), 8)
    _libc.shmdt(ctypes.c_void_p(addr))
    yield key, secret
    _libc.shmctl(shm, 0, None)


def _ipc_program(key: int, mq: str) -> str:
    return IPC.replace("HOSTKEY", str(key)).replace("MQNAME", mq)


def test_control_ipc_crosses_without_the_sandbox(host_segment: tuple[int, str]) -> None:
    key, _ = host_segment
    mq = f"tb{uuid.uuid4().hex[:8]}"
    before = _sysv_ids()
    try:
        assert unconfined(_ipc_program(key, mq)) == 9
        assert len(_sysv_ids() - before) == 3  # a segment, a queue and a semaphore set left on the host
    finally:
        _remove_sysv(_sysv_ids() - before)
        _libc.mq_unlink(f"/{mq}".encode())


def test_ipc_is_refused_and_leaves_nothing(sandbox: Sandbox, host_segment: tuple[int, str]) -> None:
    key, _ = host_segment
    mq = f"tb{uuid.uuid4().hex[:8]}"
    before = _sysv_ids()
    out = sandbox.run(CodeItem(_ipc_program(key, mq), "f", test=TEST).job())
    assert out.status == "wrong", out
    assert ("ipcns" in out.layers) == ("pidns" in sandbox.layers)  # its own IPC namespace where it has one
    assert _sysv_ids() == before
    assert _libc.mq_unlink(f"/{mq}".encode()) != 0  # no queue was made
    assert_clean(sandbox)


# 3. Unix socket files ----------------------------------------------------------------------------

UNIX = """
import socket
def f(x):
    for path in PATHS:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            try:
                s = socket.socket(socket.AF_UNIX, kind)
                s.settimeout(1)
                s.connect(path)
                s.send(b"hello")
                return x * x
            except OSError:
                pass
        try:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            a.sendto(b"hello", path)
            return x * x
        except OSError:
            pass
    return 0
"""
PAIR = """
import socket
def f(x):
    a, b = socket.socketpair()  # a connected stream pair addresses nothing outside: still allowed
    a.sendall(repr(x * x).encode())
    return int(b.recv(16))
"""


@pytest.fixture
def listeners(probe: Path) -> Iterator[tuple[list[str], list[socket.socket]]]:
    socks, paths = [], []
    for path, kind in ((f"/dev/shm/tb-{probe.name}.sock", socket.SOCK_STREAM),
                       (str(probe / "s.sock"), socket.SOCK_STREAM), (str(probe / "d.sock"), socket.SOCK_DGRAM)):
        s = socket.socket(socket.AF_UNIX, kind)
        s.bind(path)
        os.chmod(path, 0o777)
        if kind == socket.SOCK_STREAM:
            s.listen(4)
        s.setblocking(False)
        socks.append(s)
        paths.append(path)
    yield paths, socks
    for s, p in zip(socks, paths):
        s.close()
        Path(p).unlink(missing_ok=True)


def _reached(socks: list[socket.socket]) -> bool:
    for s in socks:
        try:
            s.accept() if s.type == socket.SOCK_STREAM else s.recv(16)
            return True
        except BlockingIOError:
            pass
    return False


Listeners = tuple[list[str], list[socket.socket]]


def test_control_socket_files_are_reachable_without_the_sandbox(listeners: Listeners) -> None:
    paths, socks = listeners
    assert unconfined(UNIX.replace("PATHS", repr(paths))) == 9 and _reached(socks)


def test_socket_files_are_unreachable(sandbox: Sandbox, listeners: Listeners) -> None:
    paths, socks = listeners
    g = grade(sandbox, UNIX.replace("PATHS", repr(paths)))
    assert not g.correct and g.status == "wrong", g
    assert not _reached(socks)
    assert grade(sandbox, PAIR).correct  # the control inside: a socketpair still works


# 4. the grader's files and processes --------------------------------------------------------------

META = """
import os, resource
def f(x):
    done = []
    for attempt in (lambda: os.chmod(PATH, 0o777), lambda: os.utime(PATH, (0, 0)),
                    lambda: os.setxattr(PATH, "user.tb", b"1"),
                    lambda: resource.prlimit(VICTIM, resource.RLIMIT_NOFILE, (3, 3)),
                    lambda: resource.prlimit(ZYGOTE, resource.RLIMIT_NOFILE, (0, 0)),
                    lambda: os.setpriority(os.PRIO_PROCESS, VICTIM, 19),
                    lambda: os.sched_setaffinity(VICTIM, {0})):
        try:
            attempt()
            done.append(True)
        except OSError:
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))  # its own limits are its own business
    return x * x if done else 0
"""


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process of the grader's uid."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield p
    p.kill()
    p.wait()


def _state(pid: int, path: Path) -> tuple[object, ...]:
    st = path.stat()
    try:
        attrs = tuple(os.listxattr(path))
    except OSError:
        attrs = ()
    return (st.st_mode, st.st_mtime_ns, attrs, resource.prlimit(pid, resource.RLIMIT_NOFILE),
            os.getpriority(os.PRIO_PROCESS, pid), tuple(sorted(os.sched_getaffinity(pid))))


def _meta_program(path: Path, victim: int, zygote: int) -> str:
    return META.replace("PATH", repr(str(path))).replace("VICTIM", str(victim)).replace("ZYGOTE", str(zygote))


def test_control_metadata_and_limits_change_without_the_sandbox(probe: Path, victim: subprocess.Popen[bytes]) -> None:
    target = probe / "grader-file.txt"
    target.write_text("x")
    target.chmod(0o644)
    before = _state(victim.pid, target)
    assert unconfined(_meta_program(target, victim.pid, victim.pid)) == 9
    after = _state(victim.pid, target)
    assert before[0] != after[0] and before[1] != after[1] and before[3] != after[3]


def test_grader_files_and_processes_are_out_of_reach(sandbox: Sandbox, probe: Path,
                                                     victim: subprocess.Popen[bytes]) -> None:
    target = probe / "grader-file.txt"
    target.write_text("x")
    target.chmod(0o644)
    grade(sandbox, GOOD)
    zygote = sandbox.pid
    assert zygote is not None
    before, zygote_limits = _state(victim.pid, target), resource.prlimit(zygote, resource.RLIMIT_NOFILE)
    g = grade(sandbox, _meta_program(target, victim.pid, zygote))
    assert not g.correct and g.status == "wrong", g
    assert _state(victim.pid, target) == before
    assert resource.prlimit(zygote, resource.RLIMIT_NOFILE) == zygote_limits and sandbox.pid == zygote
    assert_clean(sandbox)


BROKEN = """
import os, resource, sys
sys.path.insert(0, REPO)
from evaluators.code import CodeItem, Sandbox
status = open("/proc/self/status").read()
assert "CapEff:\\t0000000000000000" in status, "still privileged"
box = Sandbox()
item = CodeItem("def f(x):\\n    return x * x\\n", "f", test="def check(c):\\n    assert c(3) == 9\\n")
first = box.run(item.job()).status
old = box.pid
resource.prlimit(old, resource.RLIMIT_NOFILE, (4, 4))  # what a candidate under this uid once could do
try:
    resource.prlimit(old, resource.RLIMIT_NOFILE, (64, 64))
    raise SystemExit("the zygote's limit could be restored: not a real break")
except (PermissionError, ValueError):
    pass
second = [box.run(item.job()).status for _ in range(3)]
print(json.dumps({"first": first, "second": second, "old": old, "new": box.pid, "layers": box.layers}))
box.close()
"""


def test_a_broken_zygote_is_replaced_for_a_grader_without_privileges() -> None:
    """The grader runs without capabilities (what a non-root user has: the zygote cannot raise a
    lowered limit again). A zygote whose open-files limit was cut retires and a fresh one grades."""
    from evaluators.code.namespaces import drop_capabilities

    script = "import json\n" + BROKEN.replace("REPO", repr(str(REPO)))
    out = subprocess.run([sys.executable, "-c", script], preexec_fn=drop_capabilities, capture_output=True,
                         text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.splitlines()[-1])
    assert r["first"] == "correct" and r["second"] == ["correct"] * 3, r
    assert r["new"] != r["old"]
    assert "pidns" not in r["layers"] and "seccomp" in r["layers"]  # the unprivileged layers


# 5. strings the store cannot hold ----------------------------------------------------------------

SURROGATE = "def f(x):\n    raise ValueError('bad \\ud800 value')\n"


def test_control_arrow_refuses_a_lone_surrogate() -> None:
    import pyarrow as pa

    with pytest.raises(UnicodeEncodeError):
        pa.table({"reason": ["bad \ud800"]})


def test_lone_surrogates_reach_the_store_as_valid_utf8(sandbox: Sandbox, tmp_path: Path) -> None:
    g = grade(sandbox, SURROGATE)
    assert not g.correct and g.status == "wrong" and "ud800" in g.reason, g
    g.reason.encode("utf-8")  # valid already at the grader's boundary
    store = Store(tmp_path / "s.duckdb")
    store.commit([{"run_id": "r", "problem_id": "p", "correct": False, "grade_reason": "raw \ud800 reason",
                   "final_text": g.reason}], [{"run_id": "r", "problem_id": "p", "sample_idx": 0, "text": "\udfff"}])
    assert store.query("SELECT grade_reason FROM attempts") == [("raw \\ud800 reason",)]
    assert store.query("SELECT text FROM samples") == [("\\udfff",)]


def test_a_run_of_programs_raising_surrogates_is_stored_whole(tmp_path: Path) -> None:
    """The issue's run: 5 HumanEval problems whose programs raise `ValueError('\\ud800')`, graded
    into store rows and committed in one batch (this raised UnicodeEncodeError: 0/5 stored)."""
    suite = load_suite("humaneval", DATA)
    grader = Grader.of(suite)
    rows = []
    for i, p in enumerate(suite.problems[:5]):
        body = f"def {p.fields['entry_point']}(*args):\n    raise ValueError('lone \\ud800 {i}')\n"
        text = f"```python\n{body}```"
        attempt = Attempt(p.id, text, None, [Sample(0, text, "stop", 1, 1)], Ledger())
        rows.append(grade_attempt(grader, "r", p, i, attempt, "w", Costing()))
    assert not any("\ud800" in row[0]["grade_reason"] for row in rows)  # escaped at the sandbox's client
    store = Store(tmp_path / "s.duckdb")
    store.commit([r[0] for r in rows], [s for r in rows for s in r[1]])
    stored = store.query("SELECT grade_status, grade_reason FROM attempts ORDER BY problem_index")
    assert len(stored) == 5 and all(st == "wrong" and "ud800" in why for st, why in stored), stored


def test_a_grader_that_raises_grades_that_response_error() -> None:
    def explode(text: str, problem: Problem) -> Grade:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    problem = Problem("p", {"text": "q"}, "a")
    g = Grader(explode, str).judge("r", problem, 0, "response", [])
    assert (g.correct, g.status) == (False, "error") and "grader failed" in g.reason


# 6. the supervisor's own limits -------------------------------------------------------------------

HANDLES = """
class Obj:
    pass
def f(x):
    return [Obj() for _ in range(150_000)]
"""
COLLIDE = """
import sys
_cand = sys.modules["evaluators.code.candidate"]  # the untrusted side may rewrite what it sends
_real = _cand.pack
def _pack(value, to_ref=None):
    if value == "collide":  # a set of COUNT ints that differ by multiples of 2**61 - 1: one hash
        return {"s": [{"I": hex(1 + i * (2 ** 61 - 1))} for i in range(COUNT)]}
    return _real(value, to_ref)
_cand.pack = _pack
def f(x):
    return "collide"
"""
NESTED = "def f(x):\n    return [[] for _ in range(1_100_000)]\n"


def test_control_colliding_ints_are_quadratic() -> None:
    p, n = 2 ** 61 - 1, 4000
    t0 = time.perf_counter()
    set(range(n))
    plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    set(1 + i * p for i in range(n))
    colliding = time.perf_counter() - t0
    assert colliding > 20 * plain


def test_replies_cannot_make_the_supervisor_work_without_bound(sandbox: Sandbox) -> None:
    for program in (HANDLES, COLLIDE.replace("COUNT", "50_000"), NESTED):
        out = sandbox.run(CodeItem(program, "f", test=TEST, limits=Limits(timeout_s=20)).job())
        assert out.status == "wrong" and "candidate process gone" in out.reason, out
        assert out.wall_s < 10, out  # refused while decoding, not ended by a deadline
    # a reply whose parsed form outgrows the supervisor's address space (2 million strings)
    strings = "def f(x):\n    return ['ab%d' % (i % 10) for i in range(COUNT)]\n"
    tight = Limits(timeout_s=20, supervisor_memory_mb=120)
    big = sandbox.run(CodeItem(strings.replace("COUNT", "2_000_000"), "f", test=TEST, limits=tight).job())
    assert big.status == "wrong" and "memory limit" in big.reason, big
    small = "def check(c):\n    assert len(c(3)) == 1000\n"
    fits = sandbox.run(CodeItem(strings.replace("COUNT", "1000"), "f", test=small, limits=tight).job())
    assert fits.status == "correct", fits
    # the same shapes, small, are ordinary values
    assert grade(sandbox, COLLIDE.replace("COUNT", "20"), test="def check(c):\n    assert len(c(3)) == 20\n").correct
    assert grade(sandbox, HANDLES.replace("150_000", "5"), test="def check(c):\n    assert len(c(3)) == 5\n").correct
    assert_clean(sandbox)


# all of it at once, beside correct programs -------------------------------------------------------

def test_correct_programs_keep_their_verdicts_beside_hostile_ones(sandbox: Sandbox, probe: Path) -> None:
    problems = load_suite("humaneval", DATA).problems[:32]
    grade(sandbox, GOOD)
    hostile = [DEEP.replace("DEPTH", "1200").replace("x * x", "x"), SURROGATE, HANDLES, NESTED,
               COLLIDE.replace("COUNT", "50_000"), _ipc_program(1, "tbx"), FORKS,
               _meta_program(probe / "none", 1, sandbox.pid or 1)]
    jobs = []
    for i, p in enumerate(problems):
        jobs.append(("good", p.id, hidden_item(reference_program(p), p, 10.0).job()))
        if i < 2 * len(hostile):
            jobs.append(("bad", str(i), CodeItem(hostile[i % len(hostile)], "f", test=TEST,
                                                 limits=Limits(timeout_s=3)).job()))
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(sandbox.run, [j for _, _, j in jobs]))
    got = [(kind, name, o.status, o.reason) for (kind, name, _), o in zip(jobs, outcomes)]
    assert [g for g in got if g[0] == "good" and g[2] != "correct"] == []
    assert [g for g in got if g[0] == "bad" and g[2] == "correct"] == []
    assert_clean(sandbox)


FORKS = """
import os, time
def f(x):
    for _ in range(200):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
        except OSError:
            break
    return x
"""
