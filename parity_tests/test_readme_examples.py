"""Every ```python block of README.md runs and prints what it says; its commands and paths exist.

README.md is parsed at test time, so a new block is tested without being listed here. Each block runs in a fresh
namespace, in-process. Markers, HTML comments (invisible on GitHub) on the lines right before a block's fence:

* ``<!-- readme-test: setup`` ... ``-->``: hidden set-up code run first in the block's namespace (the data and the
  model a fragment takes from its surroundings: ``x``, ``y``, ``model``...);
* ``<!-- readme-test: check`` ... ``-->``: hidden code run after the block (asserts on what it made);
* ``<!-- readme-test: continue -->``: the block runs in the namespace the previous block left (a continuation);
* ``<!-- readme-test: slow -->``: marked ``slow`` (run by ``make test-all``);
* ``<!-- readme-test: skip (reason) -->``: not run (a deliberate fragment; the reason is required).

A statement whose trailing comment shows a value (``print(loss)  # 0.3567``, ``compute_class_weight(y)  # {0:
0.37, ...}``: a comment starting with a number, a bracket, a quote or ``tensor(``) must print, or evaluate to,
that value: each number to the digits shown (rounded or truncated), ``...`` standing for anything.

The ```bash blocks are not run: every ``lossparity`` subcommand and option they name must exist in the CLI, every
scenario they name in the catalogue, and every ``make`` target, ``python examples/X.py`` and ``python -m module``
named anywhere in README.md must exist.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import random as py_random
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

_MARKER = re.compile(r"<!--\s*readme-test:\s*(\w+)(.*?)(?:-->|$)", re.S)


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    setup: str = ""
    check: str = ""
    directives: set = field(default_factory=set)
    skip_reason: str = ""

    @property
    def id(self) -> str:
        return f"L{self.line}"


def _blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the readme-test comments right before each fence."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        block = Block(start + 1, lang, "\n".join(lines[start + 1:j]) + "\n")
        # the HTML comments directly above the fence (blank lines between them allowed)
        k = start - 1
        comments = []
        while k >= 0:
            if not lines[k].strip():
                k -= 1
                continue
            if lines[k].rstrip().endswith("-->"):
                end = k
                while k >= 0 and "<!--" not in lines[k]:
                    k -= 1
                if k < 0:
                    break
                comments.insert(0, "\n".join(lines[k:end + 1]))
                k -= 1
                continue
            break
        for c in comments:
            mm = _MARKER.search(c)
            if not mm:
                continue
            kind, rest = mm.group(1), mm.group(2)
            if kind in ("setup", "check"):
                setattr(block, kind, getattr(block, kind) + rest.strip("\n") + "\n")
            elif kind == "skip":
                block.skip_reason = rest.strip().strip("()").strip()
                assert block.skip_reason, f"README.md:{block.line}: a skip marker needs a reason"
            elif kind in ("continue", "slow"):
                block.directives.add(kind)
            else:
                raise AssertionError(f"README.md:{block.line}: unknown readme-test marker {kind!r}")
        blocks.append(block)
        i = j + 1
    return blocks


BLOCKS = _blocks(README.read_text())
PY_BLOCKS = [b for b in BLOCKS if b.lang == "python"]
BASH_BLOCKS = [b for b in BLOCKS if b.lang == "bash"]


def test_readme_has_its_blocks():
    print(f"{len(PY_BLOCKS)} python blocks, {len(BASH_BLOCKS)} bash blocks")
    assert len(PY_BLOCKS) >= 20 and len(BASH_BLOCKS) >= 4


# --- the values a comment shows --------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SHOWN = re.compile(r"^(?:[-+]?\.?\d|[\[{('\"]|tensor\(|array\()")


def _matches(shown: str, actual: str) -> bool:
    """``actual`` reads as ``shown``: the same text (whitespace collapsed, ``...`` matching anything) with each
    number equal to the digits shown, rounded or truncated."""
    parts = re.split(rf"(\.\.\.|{_NUM})", " ".join(shown.split()))
    pattern, numbers = "", []
    for n, part in enumerate(parts):
        if n % 2 == 0:
            pattern += r"\s*".join(re.escape(w) for w in part.split(" ")) if part.strip() else r"\s*"
        elif part == "...":
            pattern += ".*?"
        else:
            pattern += f"({_NUM})"
            numbers.append(part)
    m = re.fullmatch(pattern, " ".join(actual.split()), re.S)
    if not m:
        return False
    for want, got in zip(numbers, m.groups()):
        if not re.search(r"[.eE]", want):
            if float(got) != float(want):
                return False
            continue
        digits = len(want.split(".")[1]) if "." in want and "e" not in want.lower() else None
        g = float(got)
        if digits is None:
            if not math.isclose(g, float(want), rel_tol=1e-6):
                return False
        elif f"{g:.{digits}f}" != f"{float(want):.{digits}f}" and \
                f"{math.trunc(g * 10 ** digits) / 10 ** digits:.{digits}f}" != f"{float(want):.{digits}f}":
            return False
    return True


def _plain_repr(value) -> str:
    return re.sub(r"np\.(?:float|int|uint)\d+\(([^()]*)\)", r"\1", repr(value))


def test_value_matcher():
    assert _matches("0.37", "0.37037037")
    assert _matches("{0: 0.37, 1: 6.67}", "{0: 0.3703, 1: 6.6666}")
    assert _matches("['loss', 'val_loss'] 8.49...", "['loss', 'val_loss'] 8.4961")
    assert _matches("tensor(0.3567)", "tensor(0.3567)")
    assert not _matches("0.37", "0.36")
    assert not _matches("{0: 0.37, 1: 6.67}", "{0: 0.37, 1: 6.69}")
    assert not _matches("['loss'] 8.49...", "['val_loss'] 8.49")
    assert not _matches("3", "4")


def _comments(code: str) -> dict[int, str]:
    """The trailing comment of each line (1-based) of a block."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


# --- running a block --------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _global_state_kept():
    """The global state a block may set (default dtype, random states, kernel backend, label check) comes back."""
    from torch_impl import _tf_random, kernels, keras_random, losses

    saved = (torch.get_default_dtype(), torch.get_rng_state(), np.random.get_state(), py_random.getstate(),
             dict(kernels._state), dict(losses._SYNC_LABEL_CHECK), dict(keras_random._GLOBAL),
             _tf_random._KERNELS.global_seed, dict(_tf_random._KERNELS.offsets))
    try:
        yield
    finally:
        torch.set_default_dtype(saved[0])
        torch.set_rng_state(saved[1])
        np.random.set_state(saved[2])
        py_random.setstate(saved[3])
        kernels._state.clear(), kernels._state.update(saved[4])
        losses._SYNC_LABEL_CHECK.clear(), losses._SYNC_LABEL_CHECK.update(saved[5])
        keras_random._GLOBAL.clear(), keras_random._GLOBAL.update(saved[6])
        _tf_random._KERNELS.global_seed = saved[7]
        _tf_random._KERNELS.offsets.clear(), _tf_random._KERNELS.offsets.update(saved[8])


def _run(block: Block, ns: dict) -> int:
    """Run a block statement by statement in ``ns``; returns how many shown values were checked."""
    if block.setup:
        exec(compile(block.setup, f"README.md:{block.line} (setup)", "exec"), ns)
    tree = ast.parse(block.code, f"README.md:{block.line}")
    comments = _comments(block.code)
    checked = 0
    for stmt in tree.body:
        where = f"README.md:{block.line + stmt.lineno}"
        shown = comments.get(stmt.end_lineno, "")
        if not (isinstance(stmt, ast.Expr) and _SHOWN.match(shown)):
            exec(compile(ast.Module([stmt], []), where, "exec"), ns)
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            value = eval(compile(ast.Expression(stmt.value), where, "eval"), ns)
        is_print = isinstance(stmt.value, ast.Call) and getattr(stmt.value.func, "id", "") == "print"
        actual = out.getvalue().strip() if is_print else _plain_repr(value)
        print(f"{where}: shown {shown!r}, got {actual!r}")
        assert _matches(shown, actual), f"{where}: the README shows {shown!r}, the code gives {actual!r}"
        checked += 1
    if block.check:
        exec(compile(block.check, f"README.md:{block.line} (check)", "exec"), ns)
    return checked


def _needs_keras(block: Block) -> bool:
    return bool(re.search(r"^\s*(?:import|from)\s+(?:keras|tensorflow|keras_impl)\b",
                          block.setup + block.code, re.M))


def _params():
    out = []
    for b in PY_BLOCKS:
        marks = []
        if b.skip_reason:
            marks.append(pytest.mark.skip(reason=f"README.md:{b.line}: {b.skip_reason}"))
        if "slow" in b.directives:
            marks.append(pytest.mark.slow)
        if _needs_keras(b):
            marks.append(pytest.mark.keras)
        out.append(pytest.param(b, id=b.id, marks=marks))
    return out


_NAMESPACES: dict[int, dict] = {}  # the namespace each block left, for a block that continues it


def _namespace(block: Block) -> dict:
    """A fresh namespace, or for a continuation the one its previous block left (run here first if this process
    has not run it: under xdist the two may land on different workers)."""
    if "continue" not in block.directives:
        return {"__name__": "__readme__"}
    prev = PY_BLOCKS[PY_BLOCKS.index(block) - 1]
    if prev.line not in _NAMESPACES:
        ns = _namespace(prev)
        with _global_state_kept(), contextlib.redirect_stdout(io.StringIO()):
            _run(prev, ns)
        _NAMESPACES[prev.line] = ns
    return _NAMESPACES[prev.line]


@pytest.mark.parametrize("block", _params())
def test_readme_python_block(block, tmp_path, monkeypatch):
    if _needs_keras(block):
        pytest.importorskip("tensorflow")
        pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)  # a block writing files writes them here
    ns = _namespace(block)
    with _global_state_kept():
        checked = _run(block, ns)
    _NAMESPACES[block.line] = ns
    print(f"README.md:{block.line}: ran, {checked} shown value(s) checked")


# --- the commands the README names ------------------------------------------------------------------------------------

def _cli_help(*args: str) -> str:
    from scenarios.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*args, "--help"])
    return out.getvalue()


def test_readme_lossparity_commands_exist():
    from scenarios.catalogue import names

    top = _cli_help()
    subcommands = set(re.search(r"\{([\w,-]+)\}", top).group(1).split(","))
    text = README.read_text()
    for sub in sorted(set(re.findall(r"\blossparity ([a-z][\w-]*)", text))):
        assert sub in subcommands, f"README names `lossparity {sub}`, not a subcommand: {sorted(subcommands)}"
    checked = 0
    inline = Block(0, "inline", "\n".join(re.findall(r"`(lossparity [^`]+)`", text)))  # the prose's code spans
    for block in BASH_BLOCKS + [inline]:
        for raw in block.code.replace("\\\n", " ").splitlines():
            line, _, comment = (p.strip() for p in raw.partition("#"))
            if not line.startswith("lossparity "):
                continue
            shown = re.search(r"the (\d+) scenarios", comment)
            if shown:
                assert int(shown.group(1)) == len(names()), f"README.md:{block.line}: `{line}` lists {len(names())}"
            words = shlex.split(line.replace("[", " ").replace("]", " "))
            sub, rest = words[1], words[2:]
            helptext = _cli_help(sub)
            for w in rest:
                if w.startswith("--"):
                    assert re.search(rf"(?<![\w-]){re.escape(w.split('=')[0])}(?![\w-])", helptext), \
                        f"README.md:{block.line}: `{line}`: `lossparity {sub}` has no {w}"
            if sub in ("run", "doctor") and rest and not rest[0].startswith("-"):
                assert rest[0] in names(), f"README.md:{block.line}: `{line}`: no scenario {rest[0]!r}"
            checked += 1
    print(f"{len(subcommands)} subcommands; {checked} bash lossparity lines checked")
    assert checked >= 8


def test_readme_make_targets_and_paths_exist():
    text = README.read_text()
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    named = set(re.findall(r"`make ([\w-]+)`", text))
    for block in BASH_BLOCKS:
        named |= set(re.findall(r"^\s*make ([\w-]+)", block.code, re.M))
    assert named, "README names no make target"
    for t in sorted(named):
        assert t in targets, f"README names `make {t}`, not a Makefile target: {sorted(targets)}"
    scripts = set(re.findall(r"python (examples/[\w/]+\.py)", text)) | set(re.findall(r"\]\((examples/[\w/]+\.py)\)", text))
    modules = set(re.findall(r"python -m ([\w.]+)", text))
    for s in sorted(scripts):
        assert (ROOT / s).is_file(), f"README names {s}, which does not exist"
    for mod in sorted(modules):
        path = ROOT / mod.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), \
            f"README names `python -m {mod}`, which does not exist"
    print(f"make targets {sorted(named)}; {len(scripts)} example scripts, modules {sorted(modules)}")
