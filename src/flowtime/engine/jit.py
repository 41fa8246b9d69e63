"""Compiled kernels: numba source, run from a cached native library so that evaluating never imports numba.

Importing numba and initialising its compiler costs most of a second, more than evaluating a mid-sized model,
so neither importing ``flowtime.engine`` nor evaluating pays it:

- ``@jit`` and ``@inline`` register plain Python functions; numba compiles them only when it is loaded.
- ``NativeLibrary.export`` makes a jit function an entry point of a native library. The first call of any
  entry point builds the library once per machine, code version and numba version: numba compiles every
  entry point behind a thin C-ABI wrapper, llvmlite emits one position-independent object for the host CPU
  and the system C compiler links it into a shared library in the cache directory (a few seconds, once).
  Every later process only computes the cache key (a hash of the kernel sources) and loads the library with
  ctypes, well under a millisecond, without importing numba.
- When no library can be built (no C compiler, an unwritable cache, ``FLOWTIME_NATIVE=0``) entry points run
  as ordinary numba dispatchers with numba's own on-disk cache. A failed build leaves a ``.failed`` file with
  the reason next to where the library would be, so later processes do not retry; delete it to retry.

Both paths run the machine code LLVM makes from the same numba IR: results are bit-identical (the engine
tests run both against the reference evaluator).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

# error_model="numpy": division and domain errors give IEEE results instead of Python exceptions.
# No fastmath: contraction into FMA or reassociation would break bit-identity with model.md §8.3.
_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy"}

# Bumped whenever the build below changes what it emits, so stale libraries are never loaded.
_BUILD_FORMAT = "1"
_SYMBOL_PREFIX = "flowtime_"
# numba's status codes for a normal return (RETCODE_OK) and a return of None (RETCODE_NONE).
_SUCCESS = (0, -2)

_lock = threading.RLock()
_registered: list[_Deferred] = []
_modules: set[str] = set()
_ready = False


class _Deferred:
    """A registered function until numba is loaded; calling it loads numba and compiles on demand."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.func = func
        self.options = options
        self.compiled: Any = None
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is None:
            _load_all()
        return self.compiled(*args, **kwargs)


def _dispatcher(func: Callable[..., Any], options: dict[str, Any]) -> Any:
    """``numba.njit`` with the disk cache; without a writable cache directory numba raises at decoration
    time, and the function is then compiled in memory only."""
    import numba

    try:
        return numba.njit(cache=True, **options)(func)
    except RuntimeError:
        return numba.njit(cache=False, **options)(func)


def _load_all() -> None:
    """Import numba, turn every registered function into a dispatcher and rebind the module globals that
    name them, so compiled callers resolve compiled callees."""
    global _ready
    with _lock:
        if _ready:
            return
        for deferred in _registered:
            deferred.compiled = _dispatcher(deferred.func, deferred.options)
        for module_name in {deferred.func.__module__ for deferred in _registered}:
            namespace = sys.modules[module_name].__dict__
            for name, value in list(namespace.items()):
                if isinstance(value, _Deferred) and value.compiled is not None:
                    namespace[name] = value.compiled
        _ready = True


def _register(func: F, options: dict[str, Any]) -> F:
    with _lock:
        _modules.add(func.__module__)
        if _ready:
            return cast(F, _dispatcher(func, options))
        deferred = _Deferred(func, options)
        _registered.append(deferred)
        return cast(F, deferred)


def jit(func: F) -> F:
    """Compile ``func`` in nopython mode (on first use), cached on disk when possible."""
    return _register(func, _OPTIONS)


def inline(func: F) -> F:
    """Like :func:`jit`, but inlined into compiled callers at numba IR level.

    For small scalar helpers of the per-bin loops: inlining lets LLVM vectorize the loops that call them.
    """
    return _register(func, {**_OPTIONS, "inline": "always"})


def registered_modules() -> frozenset[str]:
    """Modules that define jit functions (a native library must list every one its entry points use)."""
    return frozenset(_modules)


# ------------------------------------------------------------------------------------------ native libraries

_DTYPES: dict[str, type[np.generic]] = {
    "f8": np.float64,
    "i8": np.int64,
    "u8": np.uint64,
    "u4": np.uint32,
    "u1": np.uint8,
}
_CTYPES: dict[str, type[ctypes._SimpleCData[Any]]] = {
    "f8": ctypes.c_double,
    "i8": ctypes.c_int64,
    "u8": ctypes.c_uint64,
    "u4": ctypes.c_uint32,
    "u1": ctypes.c_uint8,
}


@dataclass(frozen=True, slots=True)
class _Arg:
    """An entry-point argument: a C-contiguous array of ``ndim`` dimensions, or a scalar (``ndim`` 0)."""

    code: str
    ndim: int

    @classmethod
    def parse(cls, text: str) -> _Arg:
        code, _, dims = text.partition("[")
        if code not in _DTYPES:
            raise ValueError(f"unsupported entry-point argument type '{text}'")
        return cls(code, dims.count(":"))

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(_DTYPES[self.code])


class Export:
    """An entry point of a :class:`NativeLibrary`: called like the jit function it wraps.

    Arrays must be C-contiguous with the declared dtype and dimensions; the function returns None (results
    are written into argument arrays). Only Python calls it: compiled code calls the plain jit function.
    """

    def __init__(self, library: NativeLibrary, func: Callable[..., Any], args: tuple[_Arg, ...]) -> None:
        self.library = library
        self.name = func.__name__
        self.args = args
        self.jit = jit(func)
        functools.update_wrapper(self, func)

    def __call__(self, *values: Any) -> None:
        native = self.library.functions().get(self.name)
        if native is None:
            self.jit(*values)
            return
        raw: list[Any] = []
        for arg, value in zip(self.args, values, strict=True):
            if arg.ndim == 0:
                raw.append(value)
                continue
            if value.dtype != arg.dtype or value.ndim != arg.ndim or not value.flags.c_contiguous:
                raise TypeError(
                    f"{self.name}: expected a C-contiguous {arg.ndim}-d {arg.dtype} array, "
                    f"got {value.ndim}-d {value.dtype}"
                )
            raw.append(value.ctypes.data)
            raw.extend(value.shape)
        status = native(*raw)
        if status not in _SUCCESS:
            raise RuntimeError(f"native kernel {self.library.name}.{self.name} failed (status {status})")

    def ctypes_signature(self) -> list[Any]:
        types: list[Any] = []
        for arg in self.args:
            if arg.ndim:
                types.append(ctypes.c_void_p)
                types.extend([ctypes.c_int64] * arg.ndim)
            else:
                types.append(_CTYPES[arg.code])
        return types


class NativeLibrary:
    """A set of entry points built into one shared library (see the module docstring).

    ``modules`` must name every module whose jit functions the entry points use: their sources are the cache
    key, and they are imported before the library is built or loaded.
    """

    def __init__(self, name: str, modules: Sequence[str]) -> None:
        self.name = name
        self.modules = tuple(modules)
        self._exports: dict[str, Export] = {}
        self._functions: dict[str, Any] | None = None

    def export(self, *args: str) -> Callable[[Callable[..., None]], Export]:
        """Declare an entry point taking arguments of these types: ``"f8[:]"``, ``"i8[:,:]"``, ``"u8"``…"""
        parsed = tuple(_Arg.parse(arg) for arg in args)

        def decorate(func: Callable[..., None]) -> Export:
            export = Export(self, func, parsed)
            self._exports[export.name] = export
            return export

        return decorate

    def functions(self) -> dict[str, Any]:
        """The loaded native functions by entry-point name; empty when the library is not available."""
        if self._functions is None:
            with _lock:
                if self._functions is None:
                    self._functions = self._open()
        return self._functions

    @property
    def is_native(self) -> bool:
        """Whether entry points run from the native library (else as numba dispatchers)."""
        return bool(self.functions())

    def path(self) -> Path:
        """Where this code version's library lives (built or not)."""
        return cache_directory() / f"{self.name}-{self._key()}.so"

    def _open(self) -> dict[str, Any]:
        if os.environ.get("FLOWTIME_NATIVE", "1") == "0":
            return {}
        for module in self.modules:
            importlib.import_module(module)
        path = self.path()
        failed = path.with_suffix(".failed")
        if not path.exists():
            if failed.exists():
                return {}
            try:
                _build(self, path)
            except Exception as exc:  # any failure means: run as numba dispatchers instead
                _write_quietly(failed, f"{type(exc).__name__}: {exc}\n")
                return {}
        functions: dict[str, Any] = {}
        try:
            library = ctypes.CDLL(str(path))
            for name, export in self._exports.items():
                function = getattr(library, _SYMBOL_PREFIX + name)
                function.restype = ctypes.c_int32
                function.argtypes = export.ctypes_signature()
                functions[name] = function
        except (OSError, AttributeError):  # a damaged or foreign file under our name: do not trust it
            return {}
        return functions

    def _key(self) -> str:
        digest = hashlib.sha256(f"{_BUILD_FORMAT}|{self.name}|{sys.version}|{sys.platform}".encode())
        for module in (*self.modules, __name__):
            digest.update(Path(cast(str, sys.modules[module].__file__)).read_bytes())
        for package in ("numba", "llvmlite"):
            spec = importlib.util.find_spec(package)
            origin = spec.origin if spec is not None and spec.origin else package
            stat = os.stat(origin) if spec is not None and spec.origin else None
            digest.update(f"{origin}|{stat.st_size if stat else 0}|{stat.st_mtime_ns if stat else 0}".encode())
        digest.update(_cpu_identity())
        digest.update(repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("NUMBA_"))).encode())
        return digest.hexdigest()[:24]


ENGINE = NativeLibrary(
    "flowtime-engine",
    (
        "flowtime.engine.functions",
        "flowtime.engine.queues",
        "flowtime.engine.kernels",
        "flowtime.engine.pmf",
        "flowtime.engine.summary",
    ),
)


def cache_directory() -> Path:
    """``$FLOWTIME_CACHE_DIR``, else this package's ``__pycache__`` when writable (as numba does), else the
    user cache directory (``$XDG_CACHE_HOME/flowtime`` or ``~/.cache/flowtime``)."""
    configured = os.environ.get("FLOWTIME_CACHE_DIR")
    if configured:
        return Path(configured)
    local = Path(__file__).resolve().parent / "__pycache__"
    if os.access(local if local.exists() else local.parent, os.W_OK):
        return local
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowtime"


_CPU_KEYS = frozenset(
    {"vendor_id", "cpu family", "model", "model name", "stepping", "flags"}
    | {"Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part"}
)


def _cpu_identity() -> bytes:
    """What the host-CPU code of a library depends on: the first processor's identity and feature flags
    (clock speeds excluded), or the machine and host name where /proc/cpuinfo does not exist."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        import platform

        return f"{platform.machine()}|{platform.node()}".encode()
    lines = []
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        if key.strip() in _CPU_KEYS:
            lines.append(f"{key.strip()}={value.strip()}")
    return "\n".join(lines).encode()


def _write_quietly(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        pass


# -------------------------------------------------------------------------------------------------- build


def _build(library: NativeLibrary, path: Path) -> None:
    """Compile every entry point with numba, emit one PIC object for the host CPU, link a shared library."""
    import shlex
    import subprocess
    import sysconfig
    import tempfile

    import llvmlite.binding as ll
    from numba.core.registry import cpu_target

    _load_all()
    combined: Any = None
    entries: list[str] = []
    for export in library._exports.values():
        module, native = _entry_module(export)
        combined = module if combined is None else _link(combined, module)
        entries.append(native)
    if combined is None:
        raise RuntimeError(f"native library '{library.name}' has no entry points")
    for native in entries:  # the wrappers are linked in: nothing else needs the numba-ABI entries by name
        combined.get_function(native).linkage = "internal"

    codegen = cpu_target.target_context.codegen()
    machine = ll.Target.from_triple(combined.triple).create_target_machine(
        cpu=codegen._get_host_cpu_name(),
        features=codegen._get_host_cpu_features(),
        opt=3,
        reloc="pic",
        codemodel="default",
    )
    # Drop what only the dispatchers' Python wrappers used (they reference the CPython API).
    passes = ll.create_new_module_pass_manager()
    passes.add_global_dead_code_eliminate_pass()
    passes.add_strip_dead_prototype_pass()
    passes.run(combined, ll.create_pass_builder(machine, ll.create_pipeline_tuning_options()))
    dtor = "NRT_MemInfo_call_dtor"
    if any(f.name == dtor and f.is_declaration for f in combined.functions):
        # Reference counting of arrays made from raw pointers never frees (their meminfo is NULL), so the
        # destructor call in numba's NRT_decref is unreachable; define it so the library links on its own.
        combined = _link(combined, _parse(combined, f"define hidden void @{dtor}(ptr %m) {{\n  ret void\n}}\n"))
    combined.verify()

    path.parent.mkdir(parents=True, exist_ok=True)
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as work:
        obj = Path(work) / "kernels.o"
        obj.write_bytes(machine.emit_object(combined))
        target = Path(work) / path.name
        flags = ["-Wl,--no-undefined"] if sys.platform.startswith("linux") else []
        done = subprocess.run(
            [*compiler, "-shared", "-o", str(target), str(obj), *flags, "-lm"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"linking failed: {done.stderr.strip() or done.stdout.strip()}")
        os.replace(target, path)


def _entry_module(export: Export) -> tuple[Any, str]:
    """The LLVM module of one entry point: a numba function of raw pointers and sizes that calls the jit
    function on array views, plus ``flowtime_<name>``, a C-ABI wrapper returning numba's status code."""
    import llvmlite.binding as ll
    import numba
    from numba import types

    params: list[str] = []
    call: list[str] = []
    signature: list[Any] = []
    for k, arg in enumerate(export.args):
        scalar = getattr(types, np.dtype(arg.dtype).name)
        if arg.ndim == 0:
            params.append(f"x{k}")
            call.append(f"x{k}")
            signature.append(scalar)
            continue
        dims = [f"n{k}_{d}" for d in range(arg.ndim)]
        params.extend([f"p{k}", *dims])
        call.append(f"carray(p{k}, ({', '.join(dims)},))")
        signature.extend([types.CPointer(scalar), *[types.int64] * arg.ndim])
    source = f"def entry({', '.join(params)}):\n    target({', '.join(call)})\n"
    target = export.jit.compiled if isinstance(export.jit, _Deferred) else export.jit
    namespace: dict[str, Any] = {"carray": numba.carray, "target": target}
    exec(compile(source, f"<flowtime native entry {export.name}>", "exec"), namespace)
    sig = types.void(*signature)
    dispatcher = numba.njit(sig, cache=False, no_cpython_wrapper=True, no_cfunc_wrapper=True, **_OPTIONS)(
        namespace["entry"]
    )
    result = dispatcher.overloads[sig.args]
    module = ll.parse_bitcode(result.library._final_module.as_bitcode())
    native = result.fndesc.llvm_func_name
    for function in module.functions:
        if not function.is_declaration and function.name != native:
            function.linkage = "internal"
    for variable in module.global_variables:
        if not variable.is_declaration and not variable.name.startswith("llvm."):
            variable.linkage = "internal"
    function = module.get_function(native)
    function.visibility = "hidden"
    arg_types = [str(a.type) for a in function.arguments][2:]  # after the return and exception pointers
    formal = ", ".join(f"{t} %a{i}" for i, t in enumerate(arg_types))
    actual = ", ".join(["ptr %ret", "ptr %exc", *(f"{t} %a{i}" for i, t in enumerate(arg_types))])
    wrapper = (
        f'declare i32 @"{native}"({", ".join(["ptr", "ptr", *arg_types])})\n'
        f"define i32 @{_SYMBOL_PREFIX}{export.name}({formal}) {{\n"
        "  %ret = alloca [8 x i64], align 16\n"
        "  %exc = alloca ptr, align 8\n"
        "  store ptr null, ptr %exc, align 8\n"
        f'  %status = call i32 @"{native}"({actual})\n'
        "  ret i32 %status\n"
        "}\n"
    )
    return _link(module, _parse(module, wrapper)), native


def _parse(like: Any, body: str) -> Any:
    import llvmlite.binding as ll

    header = f'target datalayout = "{like.data_layout}"\ntarget triple = "{like.triple}"\n'
    module = ll.parse_assembly(header + body)
    module.verify()
    return module


def _link(target: Any, other: Any) -> Any:
    target.link_in(other)
    return target


__all__ = ["ENGINE", "Export", "NativeLibrary", "cache_directory", "inline", "jit", "registered_modules"]
