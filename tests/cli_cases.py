"""Random command lines and random files for the CLI fuzz harness (tests/test_cli_fuzz.py) and the soak
(benchmarks/cli_soak.py).

Argument vectors are made from the parsers themselves (``verify.cli.build_parser``), so every command
of ``verify.cli.COMMANDS`` is covered, new ones included: each option gets a value from a pool chosen by
its name, type and choices (valid values, near misses, huge and tiny numbers, junk), inputs come from a
pool of valid and mutated files (truncations, changed numbers, duplicated or unknown keys, other
scripts' digits, non-UTF-8), and outputs go to odd places (folders, pipes, links to /dev/null, /proc,
missing folders). Every draw goes through a :class:`Picker`, so hypothesis can shrink a failing case and
the soak can replay one from its seed. Each case runs in a child forked from a preloaded server
(:func:`run_case`), with stdout and stderr captured at the file descriptors, and is checked by
:func:`check_outcome`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Never drawn: they write into the package (the snapshot) or ask for the long catalogue proofs.
FORBIDDEN_FLAGS = {"--update-snapshot", "--heavy"}
# Catalogue claims that take well under a second (for `prove --only`).
FAST_CLAIMS = ("trees.size.A", "trees.size.B", "errors.mean", "gradients.passthrough", "gradients.skip-tie",
               "regions.escobar-1d", "depth.haase.max5-non-integer", "nope.not-a-claim", "")
# Seconds a case may take when it has no --timeout (the harness's own cap; reported as "hung").
NO_TIMEOUT_CAP = 60.0


def allowed_overrun(timeout: float) -> float:
    """The promise (docs/reliability.md): ``--timeout T`` ends by ``T + max(T/10, 2 s)``."""
    return max(0.1 * timeout, 2.0)


# -- pickers: where every random choice comes from ------------------------------------------------------
class Picker:
    def choice(self, seq):
        raise NotImplementedError

    def chance(self, p: float) -> bool:
        raise NotImplementedError

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError


class RandomPicker(Picker):
    """Draws from a seeded ``random.Random`` (the soak: a case is replayed from its seed)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DataPicker(Picker):
    """Draws from hypothesis's ``data`` (the tests: failures shrink to small cases)."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def choice(self, seq):
        return self.data.draw(self.st.sampled_from(list(seq)))

    def chance(self, p: float) -> bool:
        return self.data.draw(self.st.integers(0, 999)) < int(p * 1000)

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))


# -- the pool of files ---------------------------------------------------------------------------------------
NUMBER_JUNK = ['"1e400"', '"-1e400"', '"1e-400"', '"1e308"', '"-1e308"', '"1e99"', '"1e-99"', '1e300', '"1/0"',
               '"nan"', '"inf"', 'NaN', 'Infinity', '1e999999', '"\u0661"', '"\uff11"', '"1/3"', '"-0.0"', 'null',
               'true', '[]', '{}', '""', '"0x10"', '1' + '0' * 60, '"' + '9' * 5000 + '"', '0.1', '-7', '"1e12"',
               '"2.5e-12"', '1.5']
KEY_JUNK = ['"bias": "1"', '"weight": 2', '"inputs": 3', '"activation": "relu"', '"id": "y0"', '"id": "x0"',
            '"format": "relu-net/1"', '"windows": [[0, 1.5]]', '"nodes": []', '"outputs": ["zz"]', '"extra": 1']


TAME_NETWORKS = 13  # the first networks of the pool are the valid ones (_valid_networks)


def _valid_networks() -> dict:
    """name -> JSON text of small valid networks (both formats, windows, max nodes, huge and tiny numbers)."""
    from verify.constructions import max_tree, mean_network, pool2d, truncated_tree
    from verify.constructions.random_nets import random_relu_network
    from verify.io.json_format import dumps_network

    nets = {
        "mean2.json": dumps_network(mean_network(2)),
        "mean3.json": dumps_network(mean_network(3)),
        "tree3A.json": dumps_network(max_tree(3, "A")),
        "tree4skip.json": dumps_network(max_tree(4, "skip")),
        "tree5B.json": dumps_network(max_tree(5, "B")),
        "trunc4.json": dumps_network(truncated_tree(4, 1)),
        "pool4.json": dumps_network(pool2d(3, 3, 2, 1)),
        "rand3.json": dumps_network(random_relu_network([3, 5, 1], seed=1)),
        "rand2.json": dumps_network(random_relu_network([2, 4, 4, 1], seed=2)),
    }
    nets["graphmax.json"] = json.dumps({
        "format": "relu-graph/1", "inputs": 3,
        "nodes": [{"id": "a1", "op": "affine", "in": [["x0", "1"], ["x1", "-1/2"]], "bias": "1/3"},
                  {"id": "r1", "op": "relu", "in": "a1"}, {"id": "m1", "op": "max", "in": ["r1", "x2"]}],
        "outputs": ["m1"]})
    nets["huge.json"] = json.dumps({"format": "relu-net/1", "inputs": 2, "layers": [
        {"weights": [["1e400", 0], ["-1e-400", "1"]], "bias": ["0", "1e-300"], "activation": "relu"},
        {"weights": [["1e-400", "1"]], "activation": "linear"}]})
    nets["big12.json"] = json.dumps({"format": "relu-net/1", "inputs": 2, "layers": [
        {"weights": [["1e12", "-1e12"], ["1", "1e-12"]], "activation": "relu"},
        {"weights": [["1e-12", "-1"]], "bias": ["1e12"], "activation": "linear"}]})
    nets["f32.json"] = json.dumps({"format": "relu-net/1", "inputs": 2, "layers": [
        {"weights": [["0.5", "-0.25"], ["1", "2"]], "activation": "relu"},
        {"weights": [["1", "-0.5"]], "activation": "linear"}]})
    return nets


def mutate_text(picker: Picker, text: str) -> str:
    """One or two mutations of a JSON text: truncation, a number or value replaced, a key added, a piece
    removed, a byte changed, another format tag, or the whole wrapped."""
    for _ in range(picker.integer(1, 2)):
        kind = picker.choice(("truncate", "number", "key", "cut", "byte", "tag", "wrap", "deep"))
        if kind == "truncate" and text:
            text = text[: picker.integer(0, len(text) - 1)]
        elif kind == "number":
            spots = [m.span() for m in re.finditer(r'"-?[0-9][0-9./e+-]*"|-?[0-9][0-9.e+-]*', text)]
            if spots:
                a, b = picker.choice(spots)
                text = text[:a] + picker.choice(NUMBER_JUNK) + text[b:]
        elif kind == "key":
            spots = [m.end() for m in re.finditer(r"\{", text)]
            if spots:
                a = picker.choice(spots)
                text = text[:a] + picker.choice(KEY_JUNK) + ", " + text[a:]
        elif kind == "cut":
            spots = [m.start() for m in re.finditer(",", text)]
            if len(spots) >= 2:
                a = picker.choice(spots)
                b = text.find(",", a + 1)
                text = text[:a] + text[b:]
        elif kind == "byte" and text:
            a = picker.integer(0, len(text) - 1)
            text = text[:a] + picker.choice(("\x00", "\u0661", "\ufeff", "\\", '"', "}", "]", "é")) + text[a + 1:]
        elif kind == "tag":
            text = text.replace(picker.choice(('"relu-net/1"', '"relu-graph/1"', '"relu"', '"affine"', '"linear"')),
                                picker.choice(('"relu-net/2"', '"relu-graph/1"', '"relu-net/1"', '"max"', '"sigmoid"', '1')), 1)
        elif kind == "wrap":
            text = "[" + text + "]"
        else:
            text = "[" * 3000 + "]" * 3000 if picker.chance(0.5) else text.replace("[[", "[[[[", 1)
    return text


@dataclass
class Pool:
    """Input files shared by the cases of a run (never written by them; checked unchanged at the end)."""

    folder: Path
    networks: list = field(default_factory=list)
    models: list = field(default_factory=list)
    certificates: list = field(default_factory=list)
    grids: list = field(default_factory=list)
    odd: list = field(default_factory=list)

    def fingerprint(self) -> dict:
        return {str(p): (p.stat().st_size, p.read_bytes()) for p in self.folder.rglob("*") if p.is_file()}


def make_pool(folder: Path, seed: int = 0) -> Pool:
    """Write the pool: valid networks and mutants, ONNX models (valid, truncated, garbage), certificates
    (valid and tampered), sweep grids, and odd inputs (a folder, an empty file, bytes that are not UTF-8)."""
    from verify.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    pool = Pool(folder)
    picker = RandomPicker(seed)
    valid = _valid_networks()
    for name, text in valid.items():
        p = folder / name
        p.write_text(text)
        pool.networks.append(p)
    for k in range(40):
        base = picker.choice(sorted(valid))
        p = folder / f"mutant{k}.json"
        p.write_bytes(mutate_text(picker, valid[base]).encode("utf-8", "surrogatepass"))
        pool.networks.append(p)
    (folder / "nonutf8.json").write_bytes(b'{"format": "relu-net/1", "inputs": \xff\xfe}')
    (folder / "empty.json").write_text("")
    pool.networks += [folder / "nonutf8.json", folder / "empty.json"]
    # ONNX models from the toolkit's own export (exact float32 weights), broken copies, garbage
    try:
        from verify.io.json_format import loads_network
        from verify.io.vnnlib import network_to_onnx

        for name in ("f32.json", "mean2.json", "tree3A.json"):
            m = network_to_onnx(loads_network(valid[name]), allow_rounding=True).SerializeToString()
            (folder / name.replace(".json", ".onnx")).write_bytes(m)
            (folder / name.replace(".json", "-cut.onnx")).write_bytes(m[: len(m) // 2])
            pool.models += [folder / name.replace(".json", ".onnx"), folder / name.replace(".json", "-cut.onnx")]
    except Exception:  # noqa: BLE001 - onnx missing: the models are then garbage only
        pass
    (folder / "garbage.onnx").write_bytes(bytes(range(64)))
    (folder / "garbage.pt").write_bytes(b"not a torch archive")
    (folder / "model.txt").write_text("{}")
    pool.models += [folder / "garbage.onnx", folder / "garbage.pt", folder / "model.txt"]
    # certificates: valid ones from real runs, then tampered copies
    for name, argv in (("mean3.cert", ["error", str(folder / "mean3.json"), "--box", "0,1"]),
                       ("tree3.cert", ["exact", str(folder / "tree3A.json")]),
                       ("trunc.cert", ["exact", str(folder / "trunc4.json"), "--box=-1,1"])):
        with open(os.devnull, "w") as sink:
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = sink
            try:
                main(argv + ["--certificate", str(folder / name)])
            finally:
                sys.stdout, sys.stderr = saved
        if (folder / name).exists():
            pool.certificates.append(folder / name)
            text = (folder / name).read_text()
            for k in range(3):
                p = folder / f"{name}.mut{k}"
                p.write_text(mutate_text(picker, text))
                pool.certificates.append(p)
    grid_ok = ('[sweep]\nquery = "error"\nbackend = "z3"\nbox = "0,1"\ntimeout = 1\n'
               '[grid]\nconstruction = ["mean"]\nd = [2, 3]\n')
    grids = {"ok.toml": grid_ok, "exact.toml": grid_ok.replace('"error"', '"exact"'),
             "files.toml": f'[sweep]\nquery = "exact"\ntimeout = 1\n[grid]\nnetwork = ["{folder / "mean2.json"}", '
                           f'"{folder / "mutant0.json"}"]\n',
             "bad.toml": "[sweep\nquery = ", "empty.toml": "", "nogrid.toml": "[sweep]\nquery = 'error'\n",
             "huge.toml": grid_ok.replace("d = [2, 3]", "d = [100000000]"),
             "neg.toml": grid_ok.replace("timeout = 1", "timeout = -1"),
             "box.toml": grid_ok.replace('"0,1"', '"1e400,1e401"')}
    for name, text in grids.items():
        (folder / name).write_text(text)
        pool.grids.append(folder / name)
    (folder / "a-folder").mkdir(exist_ok=True)
    pool.odd += [folder / "a-folder", folder / "missing.json", folder / "empty.json", folder / "nonutf8.json"]
    return pool


# -- argument vectors -----------------------------------------------------------------------------------------
BOXES = ["0,1", "-1,1", "0,1", "-1/2,3/4", "0,0", "1,0", "0", "a,b", "", "0,1,2", "-1e400,1e400", "-1e308,1e308",
         "0,1e-400", "1e12,1e12", "0,1e99", "0,inf", "nan,1", "1/0,1", "\uff10,1", "0,1e999999", "-5,5"]
TIMEOUTS = ["0", "0.01", "0.2", "0.5", "1", "1", "2", "-1", "nan", "inf", "x", "1e400", ""]
INTS = ["0", "1", "2", "3", "4", "5", "-1", "1000000", "1000000000000", "x", "", "2.5", "\u0663"]
STRINGS = ["0,1", "0,1,2", "1/2", "0", "1", "-1", "1e400", "1e-400", "x", "", "0,1,7,8", "1,2", "0,0", "a,b",
           "\uff11", "1/0", "nan", "2,2", "1,4,4", "coins", "camera,coins", "0,1/2,1", "tcp://host", "localhost",
           "-3,-3", "0,1,1,1,1,1,1,1,1,1"]
# Per (command, option): the values to draw from (cost control and meaning); anything else by name/type.
HINTS = {
    ("prove", "--only"): FAST_CLAIMS,
    ("tradeoff", "--d"): ["2", "3", "4", "0", "1", "13", "-1", "x"],
    ("optimal", "--d"): ["2", "3", "4", "5", "1", "0", "40", "-1", "x"],
    ("optimal", "--R"): ["0,1", "0,1,2", "1", "0", "0,1,7,8", "5", "-1", "x", "", "0,0"],
    ("images", "--kernel"): ["2", "3", "0", "1", "5", "x"],
    ("images", "--stride"): ["1", "2", "3", "0", "-1"],
    ("images", "--images"): ["coins", "camera", "nope", "", "coins,nope"],
    ("one-hidden", "--max"): ["1", "2", "3", "0", "-1", "7", "100"],
    ("ties", "--kernel"): ["1", "2", "0", "5", "-1"],
    ("ties", "--values"): ["0,1", "0", "", "1e400,0", "a", "0,1,2", "1/0"],
    ("ties", "--s"): ["0,1/2,1", "1", "", "x", "1e400"],
    ("build", "--d"): ["1", "2", "3", "5", "0", "-1", "100000", "1000000000", "x"],
    ("build", "--level"): ["0", "1", "2", "-1", "1000000000", "x"],
    ("sweep", "--workers"): ["1", "2", "0", "-1", "x"],
    ("sweep", "--scheduler"): ["localhost", "", "tcp://", "tcp://host:99999", "x y", "host:port"],
    ("regions", "--max-regions"): ["0", "1", "5", "-1", "1000000", "x"],
    ("regions", "--slice"): ["0,1", "0,0", "1,5", "a", "", "0", "1,0"],
    ("regions", "--base"): ["0,0", "0", "1/2,1/2", "1e400,0", "x,y", "0,0,0", ""],
    ("gradient", "--output"): ["0", "1", "-1", "5", "x"],
    ("import", "--input-shape"): ["1,4,4", "4", "", "x", "0,0", "-1"],
    ("export", "--threshold"): ["1", "1/2", "0", "-1", "1e400", "x", "", "1e-400"],
    ("export", "--autodiff"): ["0", "1", "1/2", "x", "1e400"],
}


def _parsers():
    from verify.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices


def command_names() -> list[str]:
    """Every command the CLI registers (from ``verify.cli.COMMANDS``, through the parser)."""
    return sorted(_parsers())


INPUT_MARK = "@the-input@"


def _out_place(picker: Picker, case_dir: Path, pool: Pool, name: str) -> str:
    kind = picker.choice(("fresh", "fresh", "fresh", "existing", "folder", "fifo", "null-link", "proc", "missing",
                          "empty", "long", "input", "slash"))
    target = case_dir / name
    if kind == "existing":
        target.write_text("pre-existing output\n")
    elif kind == "folder":
        target.mkdir(exist_ok=True)
    elif kind == "fifo":
        if not target.exists():
            os.mkfifo(target)
    elif kind == "null-link":
        if not os.path.lexists(target):
            target.symlink_to(os.devnull)
    elif kind == "proc":
        return f"/proc/verify-fuzz-{name}"
    elif kind == "missing":
        return str(case_dir / "no" / "such" / name)
    elif kind == "empty":
        return ""
    elif kind == "long":
        return str(case_dir / ("x" * 300 + name))
    elif kind == "input":
        return INPUT_MARK  # replaced by the case's own input file (never by another pool file: it would be written)
    elif kind == "slash":
        return str(target) + "/"
    return str(target)


def _input_file(picker: Picker, pool: Pool, case_dir: Path, dest: str) -> str:
    if dest in ("model",):
        return str(picker.choice(pool.models + pool.odd[:2]))
    if dest == "grid":
        return str(picker.choice(pool.grids + pool.odd[:2]))
    if dest == "certificate":
        return str(picker.choice(pool.certificates + pool.odd[:2] + pool.networks[:2]))
    if picker.chance(0.25):  # fresh content: a mutant drawn for this case (so hypothesis shrinks it)
        base = picker.choice(pool.networks[:14])
        p = case_dir / "drawn.json"
        p.write_bytes(mutate_text(picker, base.read_text()).encode("utf-8", "surrogatepass"))
        return str(p)
    return str(picker.choice(pool.networks + pool.odd))


def _value(picker: Picker, command: str, action, pool: Pool, case_dir: Path, outputs: set,
           tame: bool = False) -> str | None:
    """A value for one option. ``tame``: valid-looking values only (valid files, fresh outputs, boxes and
    timeouts that parse), so that a share of the cases gets past the checks and does real work."""
    flag = action.option_strings[-1] if action.option_strings else action.dest
    if (command, flag) in HINTS:
        values = HINTS[command, flag]
        return picker.choice(values[: max(1, len(values) // 2)] if tame else values)
    if action.dest in outputs:
        name = f"out-{action.dest}.{picker.choice(('json', 'png', 'svg', 'md', 'smt2', 'onnx', 'x'))}"
        return str(case_dir / name) if tame else _out_place(picker, case_dir, pool, name)
    if action.dest in ("network", "against", "model", "grid") or (command == "recheck" and action.dest == "certificate"):
        if tame and action.dest in ("network", "against"):
            return str(picker.choice(pool.networks[:TAME_NETWORKS]))
        if tame and action.dest == "grid":
            return str(picker.choice(pool.grids[:3]))
        if tame and action.dest == "certificate" and pool.certificates:
            return str(picker.choice([c for c in pool.certificates if c.suffix == ".cert"] or pool.certificates))
        return _input_file(picker, pool, case_dir, action.dest)
    if action.choices:
        if tame:
            return picker.choice(list(action.choices))
        return picker.choice(list(action.choices) + ["nope"]) if picker.chance(0.9) else "nope"
    if action.dest == "box":
        return picker.choice(BOXES[:6] if tame else BOXES)
    if action.dest == "timeout":
        return picker.choice(TIMEOUTS[1:7] if tame else TIMEOUTS)
    if getattr(action.type, "__name__", "") == "int":
        return picker.choice(INTS[:6] if tame else INTS)
    return picker.choice(STRINGS[:8] if tame else STRINGS)


@dataclass
class Case:
    argv: list
    case_dir: Path
    timeout: float | None  # the --timeout given (None: none, or not a valid number)
    can_limit: bool = False  # the command has a --timeout option (without one, it may run as long as its work)
    command: str = ""  # the command drawn (argv[0] unless a junk word was put first)


def make_case(picker: Picker, pool: Pool, case_dir: Path, command: str | None = None) -> Case:
    """One command line for ``command`` (drawn if None); files it makes go to ``case_dir``."""
    parsers = _parsers()
    command = command or picker.choice(sorted(parsers))
    parser = parsers[command]
    outputs = {dest for dest, _, _ in (parser.get_default("output_args") or ())}
    argv = [command]
    timeout = None
    tame = picker.chance(0.4)
    # tame cases: required options always, one option of each exclusive group (forced when it is required)
    forced, barred = set(), set()
    if tame:
        for group in parser._mutually_exclusive_groups:
            members = [a for a in group._group_actions if not any(f in FORBIDDEN_FLAGS for f in a.option_strings)]
            if members:
                keep = picker.choice(members)
                barred |= {id(a) for a in members if a is not keep}
                if group.required:
                    forced.add(id(keep))
    for action in parser._actions:
        if action.dest in ("help",) or any(f in FORBIDDEN_FLAGS for f in action.option_strings) or id(action) in barred:
            continue
        positional = not action.option_strings
        must = tame and (action.required or id(action) in forced)
        if not positional and not must and not picker.chance(0.8 if action.dest in ("timeout", "box") else 0.2 if tame else 0.35):
            continue
        if positional and action.nargs == "?" and picker.chance(0.3):
            continue
        flag = picker.choice(action.option_strings) if not positional else None
        if action.nargs == 0:  # store_true / store_false / BooleanOptional
            argv.append(flag)
            continue
        value = _value(picker, command, action, pool, case_dir, outputs, tame)
        if value is None:
            continue
        value = str(value)  # choices may be numbers
        if action.dest == "timeout":
            try:
                t = float(value)
                timeout = t if 0 <= t < float("inf") else None
            except ValueError:
                timeout = None
        if positional:
            argv.append(value)
        elif value.startswith("-") or picker.chance(0.3):
            argv.append(f"{flag}={value}")
        else:
            argv += [flag, value]
    if INPUT_MARK in argv or any(a.endswith("=" + INPUT_MARK) for a in argv):
        pool_files = {str(p) for p in pool.networks + pool.models + pool.certificates + pool.grids}
        own = [a for a in argv[1:] if a in pool_files or a.endswith("/drawn.json")]
        mine = own[0] if own else str(case_dir / "fresh.json")
        argv = [a.replace(INPUT_MARK, mine) for a in argv]
    if command == "prove" and not any(a.startswith("--only") or a == "--list" for a in argv):
        argv += ["--only", picker.choice(FAST_CLAIMS[:-2])]  # the whole catalogue takes minutes, as documented
    if not tame and picker.chance(0.05):
        argv.insert(picker.integer(0, len(argv)), picker.choice(["--json", "--nope", "-x", "--", "--debug", "extra"]))
    if "--debug" in argv:
        argv.remove("--debug")  # tracebacks on purpose are not what is checked
    can_limit = any("--timeout" in a.option_strings for a in parser._actions)
    return Case(argv, case_dir, timeout, can_limit, command)


# -- running a case in a forked child -------------------------------------------------------------------------
PRELOAD = ["verify.cli", "tests.cli_preload"]
# Address space of a case (bytes). The size guard (verify/limits.py) keeps honest work far below it.
MEMORY_CAP = 4 * 2**30
_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _CONTEXT = ctx
    return _CONTEXT


def _child(argv, case_dir):
    """In the child: fds 1 and 2 to files, TQDM off (progress bars are not messages), run the CLI as
    the program does (argv from sys.argv: the hard-exit backstop is armed), exit with its code."""
    os.chdir(case_dir)
    if MEMORY_CAP:  # a runaway case fails with MemoryError (reported) instead of swapping the machine
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    out = os.open(os.path.join(case_dir, ".stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(os.path.join(case_dir, ".stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    os.environ["TQDM_DISABLE"] = "1"
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.argv = ["verify"] + list(argv)
    from verify.cli import main

    try:
        code = main()
    except SystemExit as exc:  # argparse's usage errors, --version
        code = exc.code if isinstance(exc.code, int) else 2
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        import resource

        with open(os.path.join(case_dir, ".rss"), "w") as fh:  # peak resident memory, kB (the soak reports it)
            fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    finally:
        os._exit(int(code or 0))


@dataclass
class Outcome:
    case: Case
    code: int | None  # None: killed (still running at the cap)
    seconds: float
    stdout: str
    stderr: str
    before: dict  # output places before the run: path -> (kind, content)
    after: dict
    rss_kb: int | None = None  # peak resident memory of the child (None: not known, e.g. killed)


def _snapshot(case_dir: Path) -> dict:
    out = {}
    for p in sorted(case_dir.rglob("*")):
        if p.name in (".stdout", ".stderr", ".rss"):
            continue
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out[str(p)] = ("link", os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            out[str(p)] = ("file", p.read_bytes())
        else:
            out[str(p)] = ("dir" if stat.S_ISDIR(st.st_mode) else "special", None)
    return out


def run_case(case: Case, cap: float | None = None) -> Outcome:
    """Run ``case`` in a child of the preloaded fork server; kill it at ``cap`` seconds (default: the
    case's timeout plus the allowed overrun and a second for the fork, or :data:`NO_TIMEOUT_CAP`)."""
    if cap is None:
        cap = NO_TIMEOUT_CAP if case.timeout is None else case.timeout + allowed_overrun(case.timeout) + 5.0
    before = _snapshot(case.case_dir)
    for attempt in range(2):
        proc = _context().Process(target=_child, args=(case.argv, str(case.case_dir)))
        t = time.monotonic()
        proc.start()
        proc.join(cap)
        code = proc.exitcode
        if code is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
        seconds = time.monotonic() - t
        # 255: the fork server lost the child's status (multiprocessing's popen_forkserver says so on
        # EOF), seen a few times in 10^4 runs from two threads; the CLI never exits 255. Run it again.
        if code != 255 or attempt == 1:
            break
    read = lambda name: (case.case_dir / name).read_text("utf-8", "replace") if (case.case_dir / name).exists() else ""  # noqa: E731
    rss = read(".rss").strip()
    return Outcome(case, code, seconds, read(".stdout"), read(".stderr"), before, _snapshot(case.case_dir),
                   int(rss) if rss.isdigit() else None)


FORK_SLACK = 1.0  # seconds a forked child may add to the promise (fork, imports not preloaded)


def check_outcome(o: Outcome) -> list[str]:
    """What is wrong with an outcome (empty: nothing): the promises of docs/reliability.md."""
    problems = []
    if o.code is None:
        if o.case.timeout is not None:
            problems.append("overrun (killed)")
        elif not o.case.can_limit:  # a command without --timeout must end by itself (size guards)
            problems.append("hung")
    elif o.code not in (0, 1, 2, 3, 4):
        problems.append(f"exit code {o.code}")
    if "Traceback" in o.stderr:
        problems.append("traceback")
    lines = [l for l in o.stderr.splitlines() if l.strip()]
    if o.code in (2, 4) and len(lines) != 1:  # a refusal or an internal error: one line saying why
        problems.append(f"{len(lines)} lines on stderr")
    elif o.code in (0, 1, 3) and len(lines) > 1:  # a verdict: its text is on stdout, at most a note on stderr
        problems.append(f"{len(lines)} lines on stderr")
    if o.code == 4:
        problems.append("internal error")
    if o.case.timeout is not None and o.code is not None and o.seconds > o.case.timeout + allowed_overrun(o.case.timeout) + FORK_SLACK:
        problems.append(f"overrun ({o.seconds:.1f} s for --timeout {o.case.timeout:g})")
    leftovers = [p for p in o.after if re.search(r"/\.[^/]*\.tmp$|\.verify-probe\.", p) and p not in o.before]
    if leftovers:
        problems.append(f"partial file {leftovers[0]}")
    if o.code in (2, 4):  # refused or failed: nothing may have been created or changed
        changed = [p for p in o.after if p not in o.before or o.before[p] != o.after[p]]
        if changed:
            problems.append(f"output written on failure: {changed[0]}")
    return problems
