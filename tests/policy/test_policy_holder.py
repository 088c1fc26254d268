"""Hot reload: a changed file is picked up within the interval, a bad one never replaces a good
one, and readers on many threads always get a whole policy."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from jikimi.errors import PolicyError
from jikimi.policy import rules as rules_module
from jikimi.policy.holder import PolicyHolder
from jikimi.policy.rules import load_policy


def policy_text(version: str, outcome: str = "review") -> str:
    return (
        f'version: "{version}"\nname: t\nrules:\n  - id: r\n'
        f"    when: {{match: {{}}}}\n    then: {{outcome: {outcome}}}\n"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, bump: int = 0) -> None:
    """Write ``text`` and move the mtime on, as a later save would (some filesystems keep
    mtimes to the second)."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Clock, PolicyHolder]:
    path = tmp_path / "policy.yaml"
    write(path, policy_text("1"))
    clock = Clock()
    return path, clock, PolicyHolder(path, reload_seconds=2.0, clock=clock)


def test_a_change_is_picked_up_after_the_interval(setup: tuple[Path, Clock, PolicyHolder]) -> None:
    path, clock, holder = setup
    first = holder.current
    assert first.version.startswith("1@") and holder.last_error is None
    write(path, policy_text("2"), bump=5)
    clock.now += 1.9
    assert holder.current is first  # not yet: the interval is respected
    clock.now += 0.1
    assert holder.current.version.startswith("2@")
    assert holder.current.source == str(path)


def test_the_file_is_not_even_stat_ed_inside_the_interval(
    setup: tuple[Path, Clock, PolicyHolder], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clock, holder = setup
    calls: list[object] = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: calls.append(p) or real_stat(p, *a, **k))
    for _ in range(50):
        holder.current  # noqa: B018
        clock.now += 0.01
    assert calls == []
    clock.now += 2
    holder.current  # noqa: B018
    assert len(calls) == 1


def test_an_unchanged_file_is_not_read_again(
    setup: tuple[Path, Clock, PolicyHolder], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, clock, holder = setup
    reads: list[Path] = []
    real = rules_module.read_policy_bytes

    def counting(p: Path) -> bytes:
        reads.append(p)
        return real(p)

    monkeypatch.setattr("jikimi.policy.holder.read_policy_bytes", counting)
    for _ in range(5):
        clock.now += 3
        holder.current  # noqa: B018
    assert reads == []
    # Touched but the same bytes: read once, hashed, the same policy object kept.
    first = holder.current
    write(path, policy_text("1"), bump=10)
    clock.now += 3
    assert holder.current is first
    assert len(reads) == 1


def test_a_bad_file_keeps_the_old_policy_and_says_why(
    setup: tuple[Path, Clock, PolicyHolder],
) -> None:
    path, clock, holder = setup
    good = holder.current
    write(path, policy_text("2") + "    oops: 1\n", bump=5)
    clock.now += 2
    assert holder.current is good
    assert holder.last_error is not None
    assert holder.last_error.startswith(f"{path}:7: unknown key 'oops'")
    # Fixed: the new policy runs and the error is cleared.
    write(path, policy_text("3"), bump=10)
    clock.now += 2
    assert holder.current.version.startswith("3@")
    assert holder.last_error is None


def test_a_missing_file_keeps_the_old_policy(setup: tuple[Path, Clock, PolicyHolder]) -> None:
    path, clock, holder = setup
    good = holder.current
    path.unlink()
    clock.now += 2
    assert holder.current is good
    assert holder.last_error and "cannot read" in holder.last_error
    write(path, policy_text("1"))
    clock.now += 2
    assert holder.current is good
    assert holder.last_error is None


def test_explicit_reload_raises_on_a_bad_file_and_keeps_the_old(
    setup: tuple[Path, Clock, PolicyHolder],
) -> None:
    path, _, holder = setup
    good = holder.current
    path.write_text("version: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        holder.reload()
    assert holder.current is good
    assert holder.last_error and "not valid YAML" in holder.last_error
    path.write_text(policy_text("9"))
    assert holder.reload().version.startswith("9@")
    assert holder.last_error is None


def test_a_bad_file_at_start_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules: []\n")
    with pytest.raises(PolicyError, match="lacks required key 'name'"):
        PolicyHolder(path)


def test_no_path_holds_the_shipped_default() -> None:
    holder = PolicyHolder(None)
    assert holder.current.version == load_policy().version
    assert holder.reload().source == "<default>"


def test_zero_seconds_never_reloads(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    write(path, policy_text("1"))
    clock = Clock()
    holder = PolicyHolder(path, reload_seconds=0, clock=clock)
    write(path, policy_text("2"), bump=5)
    clock.now += 10_000
    assert holder.current.version.startswith("1@")
    assert holder.reload().version.startswith("2@")


def test_readers_on_many_threads_always_see_a_whole_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    write(path, policy_text("0"))
    holder = PolicyHolder(path, reload_seconds=0.0001)
    valid = {"0", "1", "2", "3", "4"}
    seen: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                policy = holder.current
                assert policy.rules[0].id == "r"
                seen.add(policy.version.split("@")[0])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(1, 5):
        write(path, policy_text(str(n)), bump=n)
        holder.reload()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert seen <= valid
    assert holder.current.version.startswith("4@")
