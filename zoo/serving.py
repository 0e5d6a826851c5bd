"""What TF Serving needs from an export: loadable ops only, and the REST predict contract.

`rest_predict` turns a TF Serving REST request body (`{"instances": ...}` row format or
`{"inputs": ...}` columnar format, with optional `signature_name`) into a signature call and
returns the JSON body the ModelServer would send (`predictions` or `outputs`).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError

# Ops the exported graphs may contain: TensorFlow core ops that the stock ModelServer 2.20
# links, plus tensorflow-text's, which it also links. Anything else (py_function, cuDNN-only
# RNN kernels, custom ops) fails to load or to run on a CPU server, so export refuses it.
# (tensorflow-text's SentencePiece ops are in the ModelServer's own tf_text_regression test model.)
# Grow this list deliberately, one reviewed op at a time.
SERVING_OPS = frozenset(
    """
    Abs Add AddV2 All Any ArgMax ArgMin Assert AssignVariableOp AvgPool BatchMatMulV2 BiasAdd
    BroadcastArgs BroadcastTo Cast Ceil ConcatV2 Const Conv2D Cumsum DecodeImage DecodeJpeg
    DecodePng DepthwiseConv2dNative DisableCopyOnRead Einsum Equal Erf Exp ExpandDims Fill Floor
    FloorDiv FloorMod FusedBatchNormV3 GatherNd GatherV2 Greater GreaterEqual HashTableV2 Identity
    IdentityN If InitializeTableFromTextFileV2 Less LessEqual Log Log1p LogSoftmax LogicalAnd LogicalNot LogicalOr
    LookupTableFindV2 LookupTableImportV2 LookupTableSizeV2 MatMul Max MaxPool Maximum Mean
    MergeV2Checkpoints Min Minimum Mul Neg NoOp NotEqual OneHot Pack Pad PadV2 PartitionedCall
    Placeholder Pow Prod RaggedGather RaggedRange RaggedTensorFromVariant RaggedTensorToTensor
    RaggedTensorToVariant Range Rank ReadVariableOp RealDiv Relu Relu6 Reshape ResizeBilinear
    RestoreV2 ReverseSequence ReverseV2 Round Rsqrt SaveV2 ScatterNd Select SelectV2 Selu Shape
    ShardedFilename Sigmoid Sign Size Slice Softmax Softplus Split SplitV Sqrt Square
    SquaredDifference Squeeze StatefulPartitionedCall StatelessIf StatelessWhile
    StaticRegexFullMatch StaticRegexReplace StopGradient StridedSlice StringJoin StringLength
    StringSplitV2 StringToHashBucketFast Sub Sum Tanh TensorListFromTensor TensorListGetItem
    TensorListLength TensorListReserve TensorListSetItem TensorListStack Tile TopKV2 Transpose
    Unique Unpack VarHandleOp VarIsInitializedOp Where While ZerosLike
    RegexReplace StringLower UnicodeScript UnicodeDecodeWithOffsets Substr ReduceJoin UnicodeEncode
    Bitcast BitwiseAnd IsFinite
    BlockLSTMV2
    TFText>WhitespaceTokenizeWithOffsetsV2
    Multinomial StatelessMultinomial UnicodeDecode UnicodeEncode UnsortedSegmentJoin
    DenseBincount AsString UnsortedSegmentSum
    StringNGrams
    SentencepieceOp SentencepieceTokenizeOp SentencepieceDetokenizeOp SentencepieceIdToStringOp
    """.split()
)


def graph_ops(export_dir: str | os.PathLike) -> set[str]:
    """Every op type in a SavedModel's graphs and function library."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString(Path(export_dir, "saved_model.pb").read_bytes())
    ops = set()
    for meta_graph in saved_model.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    return ops


def check_serving_ops(export_dir: str | os.PathLike) -> None:
    """Raises `ZooError` naming any op outside `SERVING_OPS`."""
    unknown = sorted(graph_ops(export_dir) - SERVING_OPS)
    if unknown:
        raise ZooError(
            f"{export_dir}: the graph uses ops TF Serving may not load: {unknown}. "
            "Avoid tf.py_function and cuDNN-only layers (set use_cudnn=False) in exported code."
        )


def load(export_dir: str | os.PathLike):
    """Loads an export (tensorflow-text ops registered first); `.signatures` holds its endpoints."""
    import tensorflow_text  # noqa: F401  (registers the TFText ops the graph uses)

    from zoo.export import resolve_export

    path = resolve_export(export_dir)
    try:
        return tf.saved_model.load(str(path))
    except Exception as error:  # a damaged file fails in protobuf, in TF's checkpoint reader or in the graph
        raise ZooError(f"{path} is not a readable SavedModel ({type(error).__name__}: {_first_line(error)}); "
                       "the export is damaged or incomplete, export it again") from error


def _first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, cut to `limit` characters (TF's messages run to pages)."""
    lines = str(error).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit] + "..."


def read_request(source: str, stdin=None) -> str:
    """The text of a REST request body: the file `source`, or standard input for "-".

    Raises:
        ZooError: the file is missing or unreadable, or the body is not UTF-8 (TF Serving
            takes JSON, which is UTF-8), named with the byte and where it is.
    """
    import sys

    try:
        data = (stdin or sys.stdin.buffer).read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise ZooError(f"{source}: cannot read the request body ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = "standard input" if source == "-" else source
        raise ZooError(f"{where}: expected a UTF-8 JSON request body, got the byte "
                       f"{data[error.start:error.start + 1]!r} at byte {error.start + 1}") from None


class RestError(ValueError):
    """A request TF Serving would answer with HTTP 400 and `{"error": ...}`."""


def rest_predict(loaded, request: dict | str) -> dict:
    """The response body of TF Serving's `:predict` REST endpoint for `request`.

    Bad requests give `{"error": message}`, as the ModelServer does.
    """
    try:
        if isinstance(request, (str, bytes)):
            request = json.loads(request)
        return _rest_predict(loaded, request)
    except (RestError, json.JSONDecodeError) as error:
        return {"error": str(error)}


def _rest_predict(loaded, request: dict) -> dict:
    if not isinstance(request, dict):
        raise RestError("The request body must be a JSON object.")
    name = request.get("signature_name", "serving_default")
    if name not in loaded.signatures:
        raise RestError(f'Serving signature name: "{name}" not found in signature def')
    function = loaded.signatures[name]
    specs = function.structured_input_signature[1]
    if ("instances" in request) == ("inputs" in request):
        raise RestError("The request must have exactly one of 'instances' and 'inputs'.")
    if "instances" in request:
        inputs = _rows_to_columns(request["instances"], specs)
        outputs = _call(function, inputs, specs)
        return {"predictions": _columns_to_rows(outputs)}
    columns = request["inputs"]
    if not (isinstance(columns, dict) and set(columns) <= set(specs)):
        if len(specs) != 1:
            raise RestError(f"'inputs' must be an object with keys {sorted(specs)}")
        columns = {next(iter(specs)): columns}
    outputs = _call(function, columns, specs)
    jsonable = {k: _to_json(k, v) for k, v in outputs.items()}
    return {"outputs": next(iter(jsonable.values())) if len(jsonable) == 1 else jsonable}


def _rows_to_columns(instances, specs) -> dict:
    if not isinstance(instances, list) or not instances:
        raise RestError("'instances' must be a non-empty list")
    if all(isinstance(row, dict) and set(row) == set(specs) for row in instances):
        return {key: [row[key] for row in instances] for key in specs}
    if len(specs) == 1:
        return {next(iter(specs)): instances}
    raise RestError(f"each instance must be an object with keys {sorted(specs)}")


def _call(function, columns: dict, specs: dict) -> dict:
    missing = sorted(set(specs) - set(columns))
    if missing:
        raise RestError(f"missing inputs {missing}")
    tensors = {}
    for key, spec in specs.items():
        try:
            tensors[key] = tf.constant(_from_json(columns[key]), dtype=spec.dtype)
        except (TypeError, ValueError) as error:
            raise RestError(f"input {key!r} is not a {spec.dtype.name} tensor of shape {spec.shape}: {error}") from None
        if not spec.shape.is_compatible_with(tensors[key].shape):
            raise RestError(f"input {key!r} has shape {tensors[key].shape}, expected {spec.shape}")
    try:
        return {k: v.numpy() for k, v in function(**tensors).items()}
    except tf.errors.InvalidArgumentError as error:
        raise RestError(error.message) from None


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _to_json(name: str, value: np.ndarray):
    if value.dtype.kind in ("O", "S"):
        # Like the ModelServer: outputs named *_bytes are base64, other strings are UTF-8 text.
        if name.endswith("_bytes"):
            convert = np.vectorize(lambda b: {"b64": base64.b64encode(b).decode("ascii")}, otypes=[object])
        else:
            convert = np.vectorize(lambda b: b.decode("utf-8", errors="replace"), otypes=[object])
        return convert(value).tolist() if value.size else value.tolist()
    return value.tolist()


def _columns_to_rows(outputs: dict) -> list:
    sizes = {len(v) if np.ndim(v) else None for v in outputs.values()}
    if len(sizes) != 1 or None in sizes:
        raise RestError("outputs have different batch sizes; use the columnar 'inputs' format")
    jsonable = {k: _to_json(k, v) for k, v in outputs.items()}
    (size,) = sizes
    if len(jsonable) == 1:
        return next(iter(jsonable.values()))
    return [{k: v[i] for k, v in jsonable.items()} for i in range(size)]
