//! Codes of ONNX import and export (E0500–E0529): `nnc import`, `nnc export`,
//! and `.onnx` files given to check/analyze/graph/build/run (nnc-onnx).

super::code_table! {
    NOT_ONNX = "E0500" {
        title: "the file is not an ONNX model",
        explanation: "The `.onnx` file does not decode as an ONNX `ModelProto`: it is truncated, \
corrupt, or another format (a `.nn` source, a PyTorch checkpoint). The message gives the \
protobuf decoder's reason. Exit code 1.",
    }
    UNSUPPORTED_OPSET = "E0501" {
        title: "the model's opset or operator domain is not supported",
        explanation: "nnc imports models of the default ONNX domain with opset 13 to 21. Re-export \
the model with a supported opset, e.g. `torch.onnx.export(..., opset_version=17)`.",
    }
    UNSUPPORTED_OP = "E0502" {
        title: "an ONNX op nnc does not support",
        explanation: "The model uses an operator that has no equivalent in the `.nn` language (or a \
custom domain, or control flow). The message names the op type, the node, and the node that \
uses its output. nnc never approximates an op; docs/interop.md lists the ops it imports.",
    }
    UNSUPPORTED_FORM = "E0503" {
        title: "a supported ONNX op with attributes or inputs nnc cannot express",
        explanation: "The op exists in nnc, but not in this form: asymmetric padding, a 3-D \
convolution, a reshape that is neither a flatten nor a channel shuffle, a constant tensor \
operand (the language has no constant tensors), a Clip other than relu/relu6, ... The \
message names the node and what is not expressible.",
    }
    EXTERNAL_DATA = "E0504" {
        title: "an external-data tensor cannot be read",
        explanation: "An initializer is stored in an external data file (models over 2 GB, or saved \
with `save_as_external_data=True`) and that file is missing, unreadable, outside the model's \
directory, or shorter than the tensor. Keep the data files next to the `.onnx` file.",
    }
    MALFORMED_GRAPH = "E0505" {
        title: "the ONNX graph is malformed (undefined value, duplicate definition, cycle)",
        explanation: "A node uses a value that nothing defines, a value is defined twice, or the \
nodes form a cycle. The message names the nodes involved.",
    }
    DYNAMIC_INPUT = "E0506" {
        title: "a graph input has a dynamic or non-float shape",
        explanation: "nnc compiles networks of static shapes: every input dimension needs a size. \
Give the shape of an input with symbolic or missing dimensions with \
`--input-shape NAME=D0,D1,...` (e.g. `nnc import m.onnx --input-shape input=1,3,224,224`), or \
export without `dynamic_axes`; inputs must be float32.",
    }
    BAD_TENSOR = "E0507" {
        title: "a tensor of the model has an unsupported type or inconsistent data",
        explanation: "Initializers must be float32/float64 (weights) or integers (shape constants), \
with as many elements as their shape says. float16/bfloat16 and sparse initializers are not \
imported: convert the model to float32 first.",
    }
    IMPORT_BUG = "E0508" {
        title: "the imported source does not compile (importer bug)",
        explanation: "`nnc import` compiles the `.nn` it generates before writing it. This error \
means the importer produced something the compiler rejects: please report it with the model.",
    }
    INPUT_SHAPE_FLAG = "E0509" {
        title: "an --input-shape that does not fit the model",
        explanation: "`--input-shape NAME=D0,D1,...` gives the shape of a model input whose \
dimensions are symbolic (`dynamic_axes`) or missing. It must name an input of the model (a name \
may be left out only when the model has one input), at most once, with as many dimensions as \
the model declares. Exit code 2.",
    }
    EXPORT_FAILED = "E0520" {
        title: "the network cannot be exported",
        explanation: "`nnc export` found an op with no ONNX/PyTorch form (a fused op given after the \
build passes; `layernorm` with `--opset` below 17, where ONNX has no LayerNormalization), a \
missing weight or a cycle. The message names the node.",
    }
}
