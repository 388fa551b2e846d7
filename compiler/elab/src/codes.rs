//! The diagnostic codes the elaborator emits (see `nnc_diag::codes`).

/// E0100: the file defines no network.
pub const NO_NETWORK: &str = "E0100";
/// E0101: several networks: choose one with `--network`.
pub const SEVERAL_NETWORKS: &str = "E0101";
/// E0102: no network with the requested name.
pub const UNKNOWN_NETWORK: &str = "E0102";
/// E0103: two items have the same name.
pub const DUPLICATE_ITEM: &str = "E0103";
/// E0104: a block has the name of a built-in op.
pub const BLOCK_SHADOWS_BUILTIN: &str = "E0104";
/// E0105: a block declares the same parameter twice.
pub const DUPLICATE_PARAM: &str = "E0105";
/// E0106: `name` cannot be a block parameter.
pub const RESERVED_PARAM: &str = "E0106";
/// E0110: unknown name.
pub const UNKNOWN_NAME: &str = "E0110";
/// E0111: unknown op or block.
pub const UNKNOWN_CALLEE: &str = "E0111";
/// E0112: assignment to a name that is not bound.
pub const ASSIGN_UNBOUND: &str = "E0112";
/// E0113: a block or op used as a value.
pub const NOT_A_VALUE: &str = "E0113";
/// E0120: unknown keyword argument.
pub const UNKNOWN_KEYWORD: &str = "E0120";
/// E0121: an argument is given twice.
pub const DUPLICATE_ARG: &str = "E0121";
/// E0122: a required argument is missing.
pub const MISSING_ARG: &str = "E0122";
/// E0123: too many positional arguments.
pub const TOO_MANY_ARGS: &str = "E0123";
/// E0124: positional argument after a keyword argument.
pub const POSITIONAL_AFTER_KEYWORD: &str = "E0124";
/// E0125: invalid `name` argument.
pub const INVALID_NAME_ARG: &str = "E0125";
/// E0130: expected a tensor, found a compile-time value.
pub const EXPECTED_TENSOR: &str = "E0130";
/// E0131: expected a compile-time value, found a tensor.
pub const EXPECTED_VALUE: &str = "E0131";
/// E0132: a compile-time value of the wrong type.
pub const TYPE_MISMATCH: &str = "E0132";
/// E0133: operator not defined for these operands.
pub const BAD_OPERANDS: &str = "E0133";
/// E0134: `-`, `/` or `%` on tensors.
pub const TENSOR_SUB_DIV: &str = "E0134";
/// E0135: tensor shapes cannot be broadcast.
pub const BROADCAST: &str = "E0135";
/// E0136: a block without `return` used as a value.
pub const NO_RETURN_VALUE: &str = "E0136";
/// E0137: destructuring does not match.
pub const DESTRUCTURE: &str = "E0137";
/// E0138: a value that cannot be interpolated.
pub const BAD_INTERPOLATION: &str = "E0138";
/// E0140: integer overflow.
pub const INT_OVERFLOW: &str = "E0140";
/// E0141: division or remainder by zero.
pub const DIV_BY_ZERO: &str = "E0141";
/// E0142: index out of range.
pub const INDEX_OUT_OF_RANGE: &str = "E0142";
/// E0143: invalid argument value.
pub const INVALID_ARG: &str = "E0143";
/// E0144: axis out of range.
pub const AXIS_OUT_OF_RANGE: &str = "E0144";
/// E0145: the axes of `permute`/`transpose` are not a permutation.
pub const BAD_PERMUTATION: &str = "E0145";
/// E0146: an invalid `reshape` target.
pub const BAD_RESHAPE: &str = "E0146";
/// E0147: a `slice` or `select` range outside the axis, or empty.
pub const BAD_SLICE: &str = "E0147";
/// E0150: an op cannot take this input shape.
pub const SHAPE: &str = "E0150";
/// E0151: invalid input shape.
pub const BAD_INPUT_SHAPE: &str = "E0151";
/// E0160: `input` outside a network.
pub const INPUT_OUTSIDE_NETWORK: &str = "E0160";
/// E0161: `output` outside a network.
pub const OUTPUT_OUTSIDE_NETWORK: &str = "E0161";
/// E0162: `return` outside a block.
pub const RETURN_OUTSIDE_BLOCK: &str = "E0162";
/// E0163: two outputs with the same name.
pub const DUPLICATE_OUTPUT: &str = "E0163";
/// E0164: a network without outputs.
pub const NO_OUTPUTS: &str = "E0164";
/// E0165: two inputs with the same name.
pub const DUPLICATE_INPUT: &str = "E0165";
/// E0170: recursive block call.
pub const RECURSION: &str = "E0170";
/// E0171: two ops with the same weight name.
pub const DUPLICATE_WEIGHT: &str = "E0171";
/// E0180: too many loop iterations.
pub const LIMIT_LOOP: &str = "E0180";
/// E0181: the graph is too large.
pub const LIMIT_NODES: &str = "E0181";
/// E0182: a tensor is too large.
pub const LIMIT_TENSOR: &str = "E0182";
/// E0183: blocks nested too deeply.
pub const LIMIT_CALL_DEPTH: &str = "E0183";
/// E0184: expression or statement nested too deeply.
pub const LIMIT_DEPTH: &str = "E0184";
/// E0185: a list is too long or nested too deeply.
pub const LIMIT_LIST: &str = "E0185";
/// E0186: a string is too long.
pub const LIMIT_STRING: &str = "E0186";
/// E0187: too many block calls in total.
pub const LIMIT_CALLS: &str = "E0187";
/// E0188: the weights are too large in total.
pub const LIMIT_WEIGHTS: &str = "E0188";
/// E0199: internal error: the elaborated graph is invalid.
pub const INTERNAL: &str = "E0199";

/// Every code above (for tests).
pub const ALL: &[&str] = &[
    NO_NETWORK,
    SEVERAL_NETWORKS,
    UNKNOWN_NETWORK,
    DUPLICATE_ITEM,
    BLOCK_SHADOWS_BUILTIN,
    DUPLICATE_PARAM,
    RESERVED_PARAM,
    UNKNOWN_NAME,
    UNKNOWN_CALLEE,
    ASSIGN_UNBOUND,
    NOT_A_VALUE,
    UNKNOWN_KEYWORD,
    DUPLICATE_ARG,
    MISSING_ARG,
    TOO_MANY_ARGS,
    POSITIONAL_AFTER_KEYWORD,
    INVALID_NAME_ARG,
    EXPECTED_TENSOR,
    EXPECTED_VALUE,
    TYPE_MISMATCH,
    BAD_OPERANDS,
    TENSOR_SUB_DIV,
    BROADCAST,
    NO_RETURN_VALUE,
    DESTRUCTURE,
    BAD_INTERPOLATION,
    INT_OVERFLOW,
    DIV_BY_ZERO,
    INDEX_OUT_OF_RANGE,
    INVALID_ARG,
    AXIS_OUT_OF_RANGE,
    BAD_PERMUTATION,
    BAD_RESHAPE,
    BAD_SLICE,
    SHAPE,
    BAD_INPUT_SHAPE,
    INPUT_OUTSIDE_NETWORK,
    OUTPUT_OUTSIDE_NETWORK,
    RETURN_OUTSIDE_BLOCK,
    DUPLICATE_OUTPUT,
    NO_OUTPUTS,
    DUPLICATE_INPUT,
    RECURSION,
    DUPLICATE_WEIGHT,
    LIMIT_LOOP,
    LIMIT_NODES,
    LIMIT_TENSOR,
    LIMIT_CALL_DEPTH,
    LIMIT_DEPTH,
    LIMIT_LIST,
    LIMIT_STRING,
    LIMIT_CALLS,
    LIMIT_WEIGHTS,
    INTERNAL,
];
