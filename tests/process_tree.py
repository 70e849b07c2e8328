"""The processes a traceviz command runs its shards on, found through /proc (Linux)."""

from __future__ import annotations

from pathlib import Path


def _children() -> dict[int, list[tuple[int, bytes]]]:
    """Every process's children, with their command lines."""
    children: dict[int, list[tuple[int, bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append((int(entry.name), command))
    return children


def workers_of(pid: int) -> list[int]:
    """The worker processes under `pid`: spawned ones, or those its fork server forked
    (not the resource tracker, not the fork server itself)."""
    children = _children()
    found = [child for child, command in children.get(pid, []) if b"spawn_main" in command]
    for server, command in children.get(pid, []):
        if b"forkserver" in command:
            found += [child for child, _ in children.get(server, [])]
    return found


def helpers_of(pid: int) -> list[int]:
    """Every process under `pid`: workers, their fork server, the resource tracker."""
    children = _children()
    found, todo = [], [pid]
    while todo:
        for child, _ in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
