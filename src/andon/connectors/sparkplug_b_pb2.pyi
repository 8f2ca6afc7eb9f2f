# Hand-written typing stub for the generated sparkplug_b_pb2 (only what Andon uses).
from collections.abc import Iterable, MutableSequence

from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

DESCRIPTOR: FileDescriptor

class _DataTypeEnum:
    def Name(self, number: int) -> str: ...  # noqa: N802 - protobuf's API
    def Value(self, name: str) -> int: ...  # noqa: N802 - protobuf's API

DataType: _DataTypeEnum
Unknown: int
Int8: int
Int16: int
Int32: int
Int64: int
UInt8: int
UInt16: int
UInt32: int
UInt64: int
Float: int
Double: int
Boolean: int
String: int
DateTime: int
Text: int
UUID: int
DataSet: int
Bytes: int
File: int
Template: int

class Payload(Message):
    class PropertyValue(Message):
        type: int
        is_null: bool
        int_value: int
        long_value: int
        float_value: float
        double_value: float
        boolean_value: bool
        string_value: str
        def __init__(self, **kwargs: object) -> None: ...

    class PropertySet(Message):
        @property
        def keys(self) -> MutableSequence[str]: ...
        @property
        def values(self) -> MutableSequence[Payload.PropertyValue]: ...

    class Metric(Message):
        name: str
        alias: int
        timestamp: int
        datatype: int
        is_historical: bool
        is_transient: bool
        is_null: bool
        int_value: int
        long_value: int
        float_value: float
        double_value: float
        boolean_value: bool
        string_value: str
        bytes_value: bytes
        @property
        def properties(self) -> Payload.PropertySet: ...
        def WhichOneof(self, oneof_group: str) -> str | None: ...  # noqa: N802 - protobuf's API

    timestamp: int
    seq: int
    uuid: str
    body: bytes
    @property
    def metrics(self) -> _Metrics: ...
    def __init__(self, *, timestamp: int = ..., seq: int = ...,
                 metrics: Iterable[Payload.Metric] | None = ...) -> None: ...

class _Metrics(MutableSequence[Payload.Metric]):
    def add(self, **kwargs: object) -> Payload.Metric: ...
