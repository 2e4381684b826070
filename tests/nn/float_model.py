"""Builds a small float32 TensorFlow Lite model that uses every operator the WASI-NN
issue names (CONV_2D, DEPTHWISE_CONV_2D, ADD, MAX_POOL_2D, PAD, AVERAGE_POOL_2D,
CONCATENATION, MEAN, QUANTIZE, DEQUANTIZE, RESHAPE, FULLY_CONNECTED, SOFTMAX), written
with the flatbuffer schema classes that ship with ai-edge-litert."""

import numpy as np
import flatbuffers
from ai_edge_litert import schema_py_generated as s


def build(seed=7, custom_op=None):
    """The model's bytes; with custom_op, its last operator is a CUSTOM one of that name
    (which no runtime has a kernel for)."""
    rng = np.random.default_rng(seed)
    m = s.ModelT()
    m.version = 3
    m.description = b"edgecar float test model"
    m.buffers = [s.BufferT()]  # buffer 0: empty
    g = s.SubGraphT()
    g.tensors, g.operators = [], []
    codes = {}

    def buf(array):
        b = s.BufferT()
        b.data = np.ascontiguousarray(array).tobytes()
        m.buffers.append(b)
        return len(m.buffers) - 1

    def tensor(shape, dtype=s.TensorType.FLOAT32, data=None, quant=None):
        t = s.TensorT()
        t.shape = list(shape)
        t.type = dtype
        t.buffer = buf(data) if data is not None else 0
        t.name = f"t{len(g.tensors)}".encode()
        if quant:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [quant[0]], [quant[1]]
            t.quantization = q
        g.tensors.append(t)
        return len(g.tensors) - 1

    def op(code, inputs, outputs, opt_type=0, opt=None):
        if code not in codes:
            codes[code] = len(codes)
        o = s.OperatorT()
        o.opcodeIndex = codes[code]
        o.inputs, o.outputs = inputs, outputs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        g.operators.append(o)

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32) * 0.5

    B = s.BuiltinOperator
    O = s.BuiltinOptions
    x = tensor([1, 8, 8, 3])
    conv = s.Conv2DOptionsT()
    conv.padding, conv.strideW, conv.strideH = s.Padding.SAME, 1, 1
    conv.fusedActivationFunction = s.ActivationFunctionType.RELU
    t1 = tensor([1, 8, 8, 4])
    op(
        B.CONV_2D,
        [x, tensor([4, 3, 3, 3], data=w(4, 3, 3, 3)), tensor([4], data=w(4))],
        [t1],
        O.Conv2DOptions,
        conv,
    )
    dw = s.DepthwiseConv2DOptionsT()
    dw.padding, dw.strideW, dw.strideH, dw.depthMultiplier = s.Padding.SAME, 1, 1, 1
    t2 = tensor([1, 8, 8, 4])
    op(
        B.DEPTHWISE_CONV_2D,
        [t1, tensor([1, 3, 3, 4], data=w(1, 3, 3, 4)), tensor([4], data=w(4))],
        [t2],
        O.DepthwiseConv2DOptions,
        dw,
    )
    t3 = tensor([1, 8, 8, 4])
    op(B.ADD, [t1, t2], [t3], O.AddOptions, s.AddOptionsT())
    mp = s.Pool2DOptionsT()
    mp.padding, mp.strideW, mp.strideH, mp.filterWidth, mp.filterHeight = (
        s.Padding.VALID,
        2,
        2,
        2,
        2,
    )
    t4 = tensor([1, 4, 4, 4])
    op(B.MAX_POOL_2D, [t3], [t4], O.Pool2DOptions, mp)
    t5 = tensor([1, 6, 6, 4])
    op(
        B.PAD,
        [
            t4,
            tensor(
                [4, 2], s.TensorType.INT32, np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)
            ),
        ],
        [t5],
        O.PadOptions,
        s.PadOptionsT(),
    )
    t6 = tensor([1, 3, 3, 4])
    op(B.AVERAGE_POOL_2D, [t5], [t6], O.Pool2DOptions, mp)
    cc = s.ConcatenationOptionsT()
    cc.axis = 3
    t7 = tensor([1, 3, 3, 8])
    op(B.CONCATENATION, [t6, t6], [t7], O.ConcatenationOptions, cc)
    red = s.ReducerOptionsT()
    red.keepDims = False
    t8 = tensor([1, 8])
    op(
        B.MEAN,
        [t7, tensor([2], s.TensorType.INT32, np.array([1, 2], np.int32))],
        [t8],
        O.ReducerOptions,
        red,
    )
    t9 = tensor([1, 8], s.TensorType.UINT8, quant=(0.05, 128))
    op(B.QUANTIZE, [t8], [t9])
    t10 = tensor([1, 8])
    op(B.DEQUANTIZE, [t9], [t10])
    rs = s.ReshapeOptionsT()
    rs.newShape = [1, 8]
    t11 = tensor([1, 8])
    op(
        B.RESHAPE,
        [t10, tensor([2], s.TensorType.INT32, np.array([1, 8], np.int32))],
        [t11],
        O.ReshapeOptions,
        rs,
    )
    t12 = tensor([1, 5])
    op(
        B.FULLY_CONNECTED,
        [t11, tensor([5, 8], data=w(5, 8)), tensor([5], data=w(5))],
        [t12],
        O.FullyConnectedOptions,
        s.FullyConnectedOptionsT(),
    )
    sm = s.SoftmaxOptionsT()
    sm.beta = 1.0
    t13 = tensor([1, 5])
    if custom_op:
        op(B.CUSTOM, [t12], [t13])
    else:
        op(B.SOFTMAX, [t12], [t13], O.SoftmaxOptions, sm)
    g.inputs, g.outputs = [x], [t13]
    m.subgraphs = [g]
    m.operatorCodes = [None] * len(codes)
    for code, i in codes.items():
        c = s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, code, 1
        if code == B.CUSTOM:
            c.customCode = custom_op.encode()
        m.operatorCodes[i] = c
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


if __name__ == "__main__":
    import sys

    with open(sys.argv[1], "wb") as f:
        f.write(build())
