"""The wire format between the grader's judge and the runner that holds a student's code.

A message is one frame: a 4-byte big-endian length, a JSON header, then the raw bytes of the arrays it
carries (their lengths are in the header). Decoding builds only plain data: ``None``, bools, numbers,
strings, tuples, lists, dicts, sets, numpy arrays and scalars of numeric dtypes, torch tensors, dtypes,
random generators' states and exceptions (as type name + message). Nothing on the way in can run code:
there is no pickle, numpy's ``allow_pickle`` is never involved, object and structured dtypes are refused,
and every size is checked against the header before any buffer is used.

Objects that are not data (a student's function, an ``nn.Module``, the judge's activation function passed
as an argument) travel as *handles*: ``{"$": "handle", "side": ..., "id": n, ...}``. Each side keeps a
table of the objects it handed out (``Handles``) and answers requests about them; what the other side may
do with a handle is decided by whoever holds the object (see ``runner.py`` and ``judge.py``).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO, Callable

import numpy as np

# bound once, at import (before any student code runs on the runner's side): a cell that patches json.dumps
# changes nothing here
_dumps, _loads = json.dumps, json.loads
MAX_HEADER = 64 * 1024 * 1024
MAX_FRAME = 512 * 1024 * 1024  # a frame from the student side larger than this is refused
MAX_DEPTH = 64
MAX_NODES = 1_000_000
NUMERIC_KINDS = "biufc"
TORCH_DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
                "bool", "complex64", "complex128")
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class WireError(Exception):
    """A frame that is not well formed (a broken or hostile peer); the message says what was wrong."""


class Handles:
    """The objects one side handed out as handles, by number."""

    def __init__(self, side: str):
        self.side = side
        self.objects: dict[int, Any] = {}
        self._ids: dict[int, int] = {}

    def add(self, obj: Any) -> int:
        key = id(obj)
        if key in self._ids and self.objects.get(self._ids[key]) is obj:
            return self._ids[key]
        number = len(self.objects) + 1
        self.objects[number] = obj
        self._ids[key] = number
        return number

    def get(self, number: Any) -> Any:
        if not isinstance(number, int) or number not in self.objects:
            raise WireError(f"unknown handle {number!r}")
        return self.objects[number]


def _torch():
    import torch

    return torch


def type_paths(obj: Any) -> list[str]:
    """``module.QualName`` of the object's class and its bases (what a handle says about its object)."""
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__][:16]


def json_bytes(message: dict) -> bytes:
    return _dumps(message, separators=(",", ":"), allow_nan=False).encode()


def json_loads(data: bytes) -> Any:
    return parse_header(bytes(data))[0]


class Encoder:
    """``encode(obj)`` -> JSON-able tree; the arrays' bytes collect in ``blobs``.

    ``handle`` decides what to do with an object that is not data: return a handle node for it, or raise.
    """

    def __init__(self, handle: Callable[[Any], dict] | None = None):
        self.blobs: list[bytes] = []
        self.handle = handle

    def _blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, obj: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("the value is nested too deeply to send")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, np.ndarray):
            obj = obj.view(np.ndarray)  # a subclass travels as its data: its methods stay on this side
            if obj.dtype.kind not in NUMERIC_KINDS or obj.dtype.fields is not None:
                # not numbers: the receiver gets an object array of that shape, which every check refuses
                return {"$": "object_array", "shape": [int(n) for n in obj.shape], "dtype": str(obj.dtype)[:40]}
            return self._ndarray(obj)
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in NUMERIC_KINDS:
                return self._other(obj)
            return {"$": "npscalar", "dtype": obj.dtype.str, "b": self._blob(np.asarray(obj).tobytes())}
        if obj is Ellipsis:
            return {"$": "ellipsis"}
        kind = type(obj)
        if kind in (tuple, list, set, frozenset):
            items = sorted(obj, key=repr) if kind in (set, frozenset) else obj
            return {"$": kind.__name__, "v": [self.encode(v, depth + 1) for v in items]}
        if kind is dict:
            return {"$": "dict", "k": [self.encode(k, depth + 1) for k in obj],
                    "v": [self.encode(v, depth + 1) for v in obj.values()]}
        if kind is slice:
            return {"$": "slice", "v": [self.encode(v, depth + 1) for v in (obj.start, obj.stop, obj.step)]}
        if kind is complex:
            return {"$": "complex", "v": [repr(obj.real), repr(obj.imag)]}
        if isinstance(obj, np.dtype):
            return {"$": "np_dtype", "v": obj.str} if obj.kind in NUMERIC_KINDS else self._other(obj)
        if isinstance(obj, np.random.Generator):
            name = type(obj.bit_generator).__name__
            if name in BIT_GENERATORS:
                return {"$": "np_generator", "state": self.encode(obj.bit_generator.state, depth + 1)}
        if isinstance(obj, BaseException):
            return {"$": "exception", "type": type(obj).__name__, "message": describe(obj)}
        torch = _torch()
        if isinstance(obj, torch.Tensor) and not obj.is_sparse and obj.layout == torch.strided:
            return self._tensor(obj, torch)
        if isinstance(obj, torch.dtype):
            name = str(obj).replace("torch.", "")
            if name in TORCH_DTYPES:
                return {"$": "torch_dtype", "v": name}
        if isinstance(obj, torch.Size):
            return {"$": "torch_size", "v": [int(n) for n in obj]}
        if isinstance(obj, torch.Generator):
            return {"$": "torch_generator", "state": self._tensor(obj.get_state(), torch)}
        return self._other(obj)

    def _other(self, obj: Any) -> dict:
        if self.handle is None:
            raise WireError(f"a {type(obj).__name__} cannot be sent")
        return self.handle(obj)

    def _ndarray(self, a: np.ndarray) -> dict:
        if a.dtype.kind not in NUMERIC_KINDS or a.dtype.fields is not None:
            raise WireError(f"an array of dtype {a.dtype} cannot be sent (numbers and booleans only)")
        node = {"$": "ndarray", "dtype": a.dtype.str, "shape": list(a.shape)}
        strides = _layout(a.shape, a.strides, a.itemsize, a.flags.c_contiguous)
        if strides is None:
            node["b"] = self._blob(np.ascontiguousarray(a).tobytes())
        else:  # keep the layout (Fortran order, a strided view): the answer must meet it as the check made it
            buffer = _buffer_of(a, strides)
            if buffer is None:
                node["b"] = self._blob(np.ascontiguousarray(a).tobytes())
            else:
                node["strides"] = strides
                node["b"] = self._blob(buffer)
        return node

    def _tensor(self, t, torch) -> dict:
        requires_grad, parameter = bool(t.requires_grad), isinstance(t, torch.nn.Parameter)
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        name = str(t.dtype).replace("torch.", "")
        if name not in TORCH_DTYPES:
            raise WireError(f"a tensor of dtype {name} cannot be sent")
        node = {"$": "tensor", "dtype": name, "shape": list(t.shape),
                "requires_grad": requires_grad, "parameter": parameter}
        flat = t.contiguous()
        if name == "bfloat16":
            flat = flat.view(torch.int16)
        strides = _layout(tuple(t.shape), tuple(s * t.element_size() for s in t.stride()), t.element_size(),
                          t.is_contiguous())
        if strides is not None:
            node["strides"] = strides
        node["b"] = self._blob(flat.numpy().tobytes())
        return node


def _layout(shape, byte_strides, itemsize: int, contiguous: bool):
    """Element strides worth keeping, or None for plain C order (or a layout that cannot be rebuilt)."""
    if contiguous or 0 in shape or len(shape) == 0:
        return None
    strides = [s // itemsize for s in byte_strides]
    if any(s <= 0 or s * itemsize != b for s, b in zip(strides, byte_strides)):
        return None
    return strides


def _buffer_of(a: np.ndarray, strides: list[int]) -> bytes | None:
    """A buffer that holds ``a`` at ``strides`` (elements): what the receiver views with the same strides.
    None when that buffer would be much larger than the array (a sparse view of a huge base)."""
    size = 1 + sum((n - 1) * s for n, s in zip(a.shape, strides))
    if size > 4 * a.size + 1024:
        return None
    buffer = np.zeros(size, dtype=a.dtype)
    np.lib.stride_tricks.as_strided(buffer, a.shape, [s * a.itemsize for s in strides])[...] = a
    return buffer.tobytes()


def describe(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # a hostile __str__
        text = "<the message could not be read>"
    return text[:4000]


class Decoder:
    """``decode(tree)`` -> the value, checking every node. ``handle(node)`` builds the stand-in for a handle."""

    def __init__(self, blobs: list[bytes], handle: Callable[[dict], Any] | None = None):
        self.blobs = blobs
        self.handle = handle
        self.nodes = 0

    def decode(self, node: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise WireError("the value is too large or nested too deeply")
        if node is None or isinstance(node, (bool, str)):
            return node
        if type(node) is int:
            return node
        if type(node) is float:
            return node
        if type(node) is not dict:
            raise WireError(f"unexpected {type(node).__name__} in a frame")
        tag = node.get("$")
        if tag in ("tuple", "list", "set", "frozenset"):
            items = [self.decode(v, depth + 1) for v in _list(node, "v")]
            kind = {"tuple": tuple, "list": list, "set": set, "frozenset": frozenset}[tag]
            try:
                return kind(items)
            except TypeError as error:  # an unhashable member of a set
                raise WireError(f"bad {tag}: {error}") from None
        if tag == "dict":
            keys, values = _list(node, "k"), _list(node, "v")
            if len(keys) != len(values):
                raise WireError("bad dict")
            try:
                return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in zip(keys, values)}
            except TypeError as error:
                raise WireError(f"bad dict key: {error}") from None
        if tag == "float":
            value = node.get("v")
            if value not in ("nan", "inf", "-inf"):
                raise WireError("bad float")
            return float(value)
        if tag == "complex":
            real, imag = _list(node, "v")
            return complex(float(real), float(imag))
        if tag == "ellipsis":
            return Ellipsis
        if tag == "slice":
            return slice(*[self.decode(v, depth + 1) for v in _list(node, "v")][:3])
        if tag == "ndarray":
            return self._ndarray(node)
        if tag == "object_array":
            shape = tuple(_int(n) for n in _list(node, "shape"))
            if any(n < 0 for n in shape) or math.prod(shape) > MAX_NODES:
                raise WireError("bad shape")
            return np.full(shape, None, dtype=object)
        if tag == "npscalar":
            dtype = _numeric_dtype(node.get("dtype"))
            data = self._blob(node, dtype.itemsize)
            return np.frombuffer(data, dtype=dtype)[0]
        if tag == "np_dtype":
            return _numeric_dtype(node.get("v"))
        if tag == "np_generator":
            return self._generator(node, depth)
        if tag == "exception":
            return RemoteException.build(str(node.get("type", "Exception")), str(node.get("message", "")))
        if tag == "tensor":
            return self._tensor(node)
        if tag == "torch_dtype":
            name = node.get("v")
            if name not in TORCH_DTYPES:
                raise WireError(f"unknown torch dtype {name!r}")
            return getattr(_torch(), name)
        if tag == "torch_size":
            return _torch().Size([_int(n) for n in _list(node, "v")])
        if tag == "torch_generator":
            generator = _torch().Generator()
            state = self._tensor(node.get("state"))
            try:
                generator.set_state(state)
            except Exception as error:
                raise WireError(f"bad torch generator state: {error}") from None
            return generator
        if tag == "handle":
            if self.handle is None:
                raise WireError("unexpected handle")
            return self.handle(node)
        raise WireError(f"unknown tag {tag!r}")

    def _blob(self, node: dict, expected: int) -> bytes:
        index = node.get("b")
        if not isinstance(index, int) or not 0 <= index < len(self.blobs):
            raise WireError("bad blob index")
        data = self.blobs[index]
        if len(data) != expected:
            raise WireError(f"an array's data has {len(data)} bytes, its header says {expected}")
        return data

    def _shape_strides(self, node: dict):
        shape = tuple(_int(n) for n in _list(node, "shape"))
        if any(n < 0 for n in shape) or len(shape) > 32:
            raise WireError("bad shape")
        strides = node.get("strides")
        count = math.prod(shape)
        if strides is None:
            return shape, None, count
        strides = tuple(_int(s) for s in strides)
        if len(strides) != len(shape) or any(s <= 0 for s in strides) or count == 0:
            raise WireError("bad strides")
        return shape, strides, 1 + sum((n - 1) * s for n, s in zip(shape, strides))

    def _ndarray(self, node: dict) -> np.ndarray:
        dtype = _numeric_dtype(node.get("dtype"))
        shape, strides, size = self._shape_strides(node)
        if size * dtype.itemsize > MAX_FRAME:
            raise WireError("array too large")
        flat = np.frombuffer(self._blob(node, size * dtype.itemsize), dtype=dtype).copy()
        if strides is None:
            return flat.reshape(shape)
        return np.lib.stride_tricks.as_strided(flat, shape, [s * dtype.itemsize for s in strides])

    def _tensor(self, node: Any):
        torch = _torch()
        if type(node) is not dict or node.get("$") != "tensor":
            raise WireError("bad tensor")
        name = node.get("dtype")
        if name not in TORCH_DTYPES:
            raise WireError(f"unknown torch dtype {name!r}")
        dtype = getattr(torch, name)
        itemsize = torch.empty((), dtype=dtype).element_size()
        shape = tuple(_int(n) for n in _list(node, "shape"))
        if any(n < 0 for n in shape) or len(shape) > 32:
            raise WireError("bad shape")
        count = math.prod(shape)
        data = self._blob(node, count * itemsize)
        storage = torch.frombuffer(bytearray(data), dtype=torch.int16 if name == "bfloat16" else dtype) \
            if count else torch.empty(0, dtype=dtype)
        if name == "bfloat16" and count:
            storage = storage.view(torch.bfloat16)
        tensor = storage.reshape(shape)
        strides = node.get("strides")
        if strides is not None:  # the same values, laid out with the sender's strides
            strides = tuple(_int(s) for s in strides)
            if len(strides) != len(shape) or any(s <= 0 for s in strides):
                raise WireError("bad strides")
            size = 1 + sum((n - 1) * s for n, s in zip(shape, strides))
            if size * itemsize > MAX_FRAME:
                raise WireError("tensor too large")
            buffer = torch.zeros(size, dtype=dtype)
            view = buffer.as_strided(shape, strides)
            view.copy_(tensor)
            tensor = view
        if node.get("parameter") is True and tensor.is_floating_point():
            tensor = torch.nn.Parameter(tensor, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad") is True and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        return tensor

    def _generator(self, node: dict, depth: int):
        state = self.decode(node.get("state"), depth + 1)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in BIT_GENERATORS:
            raise WireError(f"unknown bit generator {name!r}")
        bit_generator = getattr(np.random, name)()
        try:
            bit_generator.state = state
        except Exception as error:
            raise WireError(f"bad generator state: {error}") from None
        return np.random.Generator(bit_generator)


def _list(node: dict, key: str) -> list:
    value = node.get(key)
    if type(value) is not list:
        raise WireError(f"bad {key!r} in {node.get('$')!r}")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise WireError("expected an integer")
    return value


def _numeric_dtype(text: Any) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise WireError(f"bad dtype {text!r}")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise WireError(f"bad dtype {text!r}") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"dtype {text!r} is not a plain numeric dtype")
    return dtype


class RemoteException(Exception):
    """An exception raised on the other side, rebuilt as its type name and message (never the object)."""

    remote_type = "Exception"

    @staticmethod
    def build(type_name: str, message: str) -> Exception:
        type_name = type_name if type_name.isidentifier() else "Exception"
        import builtins

        builtin = getattr(builtins, type_name, None)
        # the builtin ordinary exceptions keep their class (checks and hints match on them); anything else,
        # BaseExceptions such as SystemExit included, becomes an ordinary exception with that name
        if isinstance(builtin, type) and issubclass(builtin, Exception) and builtin.__module__ == "builtins":
            try:
                error = builtin(message)
                error.remote_type = type_name
                return error
            except Exception:
                pass
        kind = type(type_name, (RemoteException,), {"remote_type": type_name})
        return kind(message)


def write_frame(stream: BinaryIO, header: dict, blobs: list[bytes]) -> None:
    data = json_bytes(dict(header, blobs=[len(b) for b in blobs]))
    stream.write(struct.pack(">I", len(data)) + data)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def parse_header(data: bytes) -> tuple[dict, list[int]]:
    try:
        header = _loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise WireError(f"a frame header is not JSON: {error}") from None
    if type(header) is not dict:
        raise WireError("a frame header is not an object")
    sizes = header.get("blobs", [])
    if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
        raise WireError("bad blob sizes")
    if sum(sizes) > MAX_FRAME:
        raise WireError(f"a frame of {sum(sizes):,} bytes is larger than the limit ({MAX_FRAME:,})")
    return header, sizes


def header_size(prefix: bytes) -> int:
    (size,) = struct.unpack(">I", prefix)
    if size > MAX_HEADER:
        raise WireError(f"a frame header of {size:,} bytes is larger than the limit")
    return size


def read_frame(stream: BinaryIO) -> tuple[dict, list[bytes]]:
    """Blocking read of one frame from a trusted peer's stream (the runner reading the judge)."""
    size = header_size(_exactly(stream, 4))
    header, sizes = parse_header(_exactly(stream, size))
    return header, [_exactly(stream, n) for n in sizes]


# The zygote's control messages (fork, end, quit and their replies): a 4-byte length, then JSON. The judge's
# side reads them with deadlines, the zygote's side with the descriptors it is sent, so each side keeps its
# own loop; the framing and its limit are defined once, here.
MAX_CONTROL = 1 << 20


def control_frame(message: dict) -> bytes:
    """One control message, framed."""
    data = json_bytes(message)
    return struct.pack(">I", len(data)) + data


def control_size(prefix: bytes) -> int:
    """The length of the JSON that follows a control frame's 4-byte ``prefix``."""
    (size,) = struct.unpack(">I", prefix)
    if size > MAX_CONTROL:
        raise WireError(f"a control message of {size:,} bytes is larger than the limit")
    return size


def _exactly(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
