//! Codes of elaboration (E0100–E0399): names, values, calls, shapes, limits.
//! Each explanation says what triggers the code, shows an example and the fix.

super::code_table! {
    NO_NETWORK = "E0100" {
        title: "the file defines no network",
        explanation: "Elaboration needs a `network` item to build: a file with only `block`s (or nothing) has no graph.\n\nExample:\n\n    block unit(x) { return relu(x); }\n    // no network\n\nFix: Add a network: `network net { input x: [1, 3, 32, 32]; output y = unit(x); }`.",
    }
    SEVERAL_NETWORKS = "E0101" {
        title: "several networks: choose one with `--network`",
        explanation: "The file defines more than one `network` and the command was not told which one to use. The diagnostic lists them.\n\nExample:\n\n    network teacher { ... }\n    network student { ... }\n\nFix: Pass `--network teacher` (or another listed name).",
    }
    UNKNOWN_NETWORK = "E0102" {
        title: "no network with the requested name",
        explanation: "`--network NAME` names a network that the file does not define. A close name is suggested when there is one.\n\nExample:\n\n    nnc check nets.nn --network studnet\n\nFix: Use one of the listed names, e.g. `--network student`.",
    }
    DUPLICATE_ITEM = "E0103" {
        title: "two items have the same name",
        explanation: "Every `block` and `network` of a file needs a distinct name: calls and `--network` find items by name.\n\nExample:\n\n    block unit(x) { return x; }\n    block unit(x) { return relu(x); }\n\nFix: Rename or delete one of them.",
    }
    BLOCK_SHADOWS_BUILTIN = "E0104" {
        title: "a block has the name of a built-in op",
        explanation: "Built-in ops (`conv2d`, `relu`, ...) and functions (`len`, `channels`, ...) cannot be redefined by a block: a call would be ambiguous.\n\nExample:\n\n    block relu(x) { return x; }\n\nFix: Give the block another name, e.g. `block my_relu(x)`.",
    }
    DUPLICATE_PARAM = "E0105" {
        title: "a block declares the same parameter twice",
        explanation: "Each parameter of a block needs a distinct name.\n\nExample:\n\n    block unit(x, out, out) { ... }\n\nFix: Rename or remove the repeated parameter.",
    }
    RESERVED_PARAM = "E0106" {
        title: "`name` cannot be a block parameter",
        explanation: "`name = \"...\"` is reserved in every call: it sets the weight-name scope of the call. A block therefore cannot declare a parameter called `name`.\n\nExample:\n\n    block unit(x, name) { ... }\n\nFix: Rename the parameter, e.g. `label`.",
    }
    UNKNOWN_NAME = "E0110" {
        title: "unknown name",
        explanation: "An expression refers to a name that is not bound here. A block sees only its own parameters and bindings, never the caller's; `let` bindings made inside a `for` or `if` body end with that body.\n\nExample:\n\n    network n { input x: [1, 4]; output y = relu(z); }\n\nFix: Bind the name first (`let z = ...;`), pass it as a parameter, or fix the spelling (see the `help`).",
    }
    UNKNOWN_CALLEE = "E0111" {
        title: "unknown op or block",
        explanation: "A call names neither a built-in op/function nor a block of this file.\n\nExample:\n\n    let y = conv2(x, out = 8, kernel = 3);\n\nFix: Fix the spelling (`conv2d`) or define the block. `nnc explain` and docs/language.md list every built-in.",
    }
    ASSIGN_UNBOUND = "E0112" {
        title: "assignment to a name that is not bound",
        explanation: "`NAME = EXPR;` rebinds an existing name; it cannot create one.\n\nExample:\n\n    for i in 0..2 { y = relu(x); }   // y was never bound\n\nFix: Use `let y = ...;` to create the binding, or fix the spelling.",
    }
    NOT_A_VALUE = "E0113" {
        title: "a block or op used as a value",
        explanation: "A block or built-in op name appears where a value is expected, without a call.\n\nExample:\n\n    let f = relu;\n\nFix: Call it: `relu(x)`.",
    }
    UNKNOWN_KEYWORD = "E0120" {
        title: "unknown keyword argument",
        explanation: "A call passes `key = value` but the op or block has no parameter called `key`.\n\nExample:\n\n    conv2d(x, out = 8, kernal = 3)\n\nFix: Use one of the parameter names (see the `help` and the block's definition).",
    }
    DUPLICATE_ARG = "E0121" {
        title: "an argument is given twice",
        explanation: "Each parameter receives one value: a keyword may appear once, and not for a parameter already given positionally.\n\nExample:\n\n    conv2d(x, 8, out = 16, kernel = 3)\n\nFix: Remove one of the two arguments.",
    }
    MISSING_ARG = "E0122" {
        title: "a required argument is missing",
        explanation: "A parameter without a default value was not given in the call.\n\nExample:\n\n    block unit(x, out) { ... }\n    ... unit(x)\n\nFix: Pass the missing argument, positionally or as `out = 64`.",
    }
    TOO_MANY_ARGS = "E0123" {
        title: "too many positional arguments",
        explanation: "A call passes more positional arguments than the op or block has parameters.\n\nExample:\n\n    relu(x, 2)\n\nFix: Remove the extra arguments, or name them with `key = value`.",
    }
    POSITIONAL_AFTER_KEYWORD = "E0124" {
        title: "positional argument after a keyword argument",
        explanation: "Positional arguments must all come before keyword arguments.\n\nExample:\n\n    conv2d(x, out = 8, 3)\n\nFix: Write `conv2d(x, out = 8, kernel = 3)`.",
    }
    INVALID_NAME_ARG = "E0125" {
        title: "invalid `name` argument",
        explanation: "`name = ...` must be a non-empty string whose `.`-separated parts are all non-empty: it becomes (part of) a weight name.\n\nExample:\n\n    conv2d(x, out = 8, kernel = 3, name = \"layer1..conv\")\n\nFix: Write a name such as `\"layer1.conv\"`; use interpolation for loops: `name = \"layer{i}\"`.",
    }
    EXPECTED_TENSOR = "E0130" {
        title: "expected a tensor, found a compile-time value",
        explanation: "An op input or a tensor operation received a compile-time value (int, float, bool, string, list, tuple). When it happens inside a block, the call site is labelled too.\n\nExample:\n\n    block unit(x, out) { return conv2d(out, out = 8, kernel = 3); }\n\nFix: Pass the tensor: `conv2d(x, ...)`; check the order of the block's arguments at the call site.",
    }
    EXPECTED_VALUE = "E0131" {
        title: "expected a compile-time value, found a tensor",
        explanation: "An attribute, loop bound, condition, index or shape was given a tensor. Tensors only exist at run time; attributes must be known while compiling.\n\nExample:\n\n    conv2d(x, out = x, kernel = 3)\n\nFix: Use a compile-time value; to use a tensor's size, query it: `channels(x)`, `height(x)`, `shape(x)`.",
    }
    TYPE_MISMATCH = "E0132" {
        title: "a compile-time value of the wrong type",
        explanation: "An argument, condition or operand has the wrong type, e.g. a string where an int is needed, or an int as an `if` condition.\n\nExample:\n\n    conv2d(x, out = \"64\", kernel = 3)\n\nFix: Pass a value of the expected type: `out = 64`.",
    }
    BAD_OPERANDS = "E0133" {
        title: "operator not defined for these operands",
        explanation: "The operator cannot combine these kinds of values, e.g. `int + string`, a tensor with a string (`x * \"two\"`), or comparing tensors.\n\nExample:\n\n    let y = x * \"two\";  // x is a tensor\n\nFix: Tensors combine with tensors through `+` and `*`, and with numbers through `+`, `-`, `*` and `/` by a number; arithmetic and comparisons of other kinds work on compile-time values.",
    }
    TENSOR_SUB_DIV = "E0134" {
        title: "`-`, `/` or `%` between tensors, or a number divided by a tensor",
        explanation: "Two tensors combine element-wise through `+` and `*` only (the ops `add` and `mul`). A tensor and a number combine through `+`, `-`, `*`, unary `-` and division *by* a number; there is no tensor − tensor, tensor / tensor, number / tensor or `%` on tensors.\n\nExample:\n\n    let d = a - b;\n\nFix: Write `a + (-1.0 * b)` for a difference, or restructure the network with `+`/`*`.",
    }
    BROADCAST = "E0135" {
        title: "tensor shapes cannot be broadcast",
        explanation: "`a + b` and `a * b` need identical shapes or shapes compatible under NumPy broadcasting (aligned from the right, each dimension equal or 1). The labels show both shapes.\n\nExample:\n\n    [1, 64, 56, 56] + [1, 128, 28, 28]\n\nFix: Make the shapes agree, e.g. with a 1x1 `conv2d` (with stride) on the shortcut.",
    }
    NO_RETURN_VALUE = "E0136" {
        title: "a block without `return` used as a value",
        explanation: "A block whose body ends without `return` produces no value. Calling it as a statement is fine; using the result is an error.\n\nExample:\n\n    block log(x) { relu(x); }\n    ... let y = log(x);\n\nFix: Add `return ...;` to the block, or call it as a statement.",
    }
    DESTRUCTURE = "E0137" {
        title: "destructuring does not match",
        explanation: "`let (a, b, ...) = EXPR;` needs a tuple (or list) with exactly as many elements as names.\n\nExample:\n\n    let (a, b) = split(x, parts = 3);\n\nFix: Use as many names as elements: `let (a, b, c) = ...`.",
    }
    BAD_INTERPOLATION = "E0138" {
        title: "a value that cannot be interpolated",
        explanation: "String interpolation `\"{e}\"` accepts ints, floats, bools and strings, not lists, tuples or tensors.\n\nExample:\n\n    name = \"layer{widths}\"\n\nFix: Interpolate an element: `\"layer{widths[i]}\"`.",
    }
    INT_OVERFLOW = "E0140" {
        title: "integer overflow",
        explanation: "Compile-time integers are 64-bit; an operation (or a literal) went out of range.\n\nExample:\n\n    let big = 9223372036854775807 + 1;\n\nFix: Use smaller numbers.",
    }
    DIV_BY_ZERO = "E0141" {
        title: "division or remainder by zero",
        explanation: "`/` and `%` on compile-time values need a non-zero divisor.\n\nExample:\n\n    let w = 64 / (s - s);\n\nFix: Check the divisor.",
    }
    INDEX_OUT_OF_RANGE = "E0142" {
        title: "index out of range",
        explanation: "A list or tuple index is negative or not smaller than the length.\n\nExample:\n\n    let widths = [64, 128]; widths[2]\n\nFix: Use an index in `0..len(xs)`.",
    }
    INVALID_ARG = "E0143" {
        title: "invalid argument value",
        explanation: "An op argument has the right type but an invalid value, e.g. a non-positive kernel, stride, out or groups, a negative pad, a pair that is not `[h, w]`, a non-positive eps, or both `parts` and `sizes`.\n\nExample:\n\n    conv2d(x, out = 8, kernel = 0)\n\nFix: Use a value in the documented range (docs/language.md lists each op).",
    }
    AXIS_OUT_OF_RANGE = "E0144" {
        title: "axis out of range",
        explanation: "An `axis` must satisfy `-rank <= axis < rank` for the tensor's rank (negative axes count from the end).\n\nExample:\n\n    softmax(x, axis = 2)  // x is [N, F]\n\nFix: Use an axis that exists, e.g. `axis = 1` or `-1`.",
    }
    BAD_PERMUTATION = "E0145" {
        title: "not a permutation of the axes",
        explanation: "`permute(x, axes)` needs each axis of `x` exactly once (negative axes count from the end); `transpose(x, a, b)` needs two valid axes.\n\nExample:\n\n    permute(x, [0, 2, 2])  // x is [N, C, L]\n\nFix: List every axis once, e.g. `permute(x, [0, 2, 1])`.",
    }
    BAD_RESHAPE = "E0146" {
        title: "invalid `reshape` target",
        explanation: "`reshape(x, shape)` needs a non-empty list of positive sizes, at most one of them `-1` (inferred), whose product equals the element count of `x`.\n\nExample:\n\n    reshape(x, [1, -1, -1])\n\nFix: Give every size but one, e.g. `reshape(x, [1, 768, -1])`.",
    }
    BAD_SLICE = "E0147" {
        title: "slice or index outside the axis",
        explanation: "`slice(x, axis, start, stop, step)` needs `step >= 1` and a non-empty range once negative bounds are counted from the end and the bounds are clamped to the axis (Python's rules); `select(x, axis, index)` needs `-size <= index < size`.\n\nExample:\n\n    select(x, axis = 1, index = 197)  // x is [1, 197, 768]\n\nFix: Use an index or range inside the axis.",
    }
    BAD_EXPAND = "E0148" {
        title: "invalid `expand` target",
        explanation: "`expand(x, shape)` (PyTorch's `Tensor.expand`) repeats the axes of size 1 of `x` to the sizes in `shape`, aligned from the end: `shape` lists at least as many sizes as `x` has axes, each size is positive or `-1` (keep the axis), an axis of `x` whose size is not 1 keeps its size, and the extra leading sizes (new axes) cannot be `-1`.\n\nExample:\n\n    expand(t, [4, 2, 768])  // t is [1, 3, 768]: axis 1 has size 3, it cannot become 2\n\nFix: Expand only axes of size 1, and write `-1` for the axes that stay, e.g. `expand(t, [batch(x), -1, -1])`.",
    }
    SHAPE = "E0150" {
        title: "an op cannot take this input shape",
        explanation: "Shape inference failed: wrong rank, channel counts that `groups` does not divide, a non-positive output size, pooling padding over half the kernel, mismatched concat inputs, `linear` on a 4-D tensor, and so on. The message gives the computed values.\n\nExample:\n\n    conv2d(x, out = 8, kernel = 7)  // x is [1, 3, 5, 5]: output height would be -1\n\nFix: Adjust the attributes or the input shape; for `linear`, `flatten` first.",
    }
    BAD_INPUT_SHAPE = "E0151" {
        title: "invalid input shape",
        explanation: "`input NAME: [d0, ...]` needs at least one dimension and every dimension a positive int.\n\nExample:\n\n    input x: [1, 0, 32, 32];\n\nFix: Use positive dimensions.",
    }
    INPUT_OUTSIDE_NETWORK = "E0160" {
        title: "`input` outside a network",
        explanation: "Inputs belong to networks; a block receives tensors through its parameters.\n\nExample:\n\n    block b(x) { input y: [1, 4]; ... }\n\nFix: Declare the input in the network and pass it to the block.",
    }
    OUTPUT_OUTSIDE_NETWORK = "E0161" {
        title: "`output` outside a network",
        explanation: "Outputs belong to networks; a block hands a value back with `return`.\n\nExample:\n\n    block b(x) { output y = relu(x); }\n\nFix: Write `return relu(x);` and name the output in the network.",
    }
    RETURN_OUTSIDE_BLOCK = "E0162" {
        title: "`return` outside a block",
        explanation: "A network produces results with `output NAME = EXPR;`, not `return`.\n\nExample:\n\n    network n { input x: [1, 4]; return relu(x); }\n\nFix: Write `output y = relu(x);`.",
    }
    DUPLICATE_OUTPUT = "E0163" {
        title: "two outputs with the same name",
        explanation: "Each output of a network needs a distinct name.\n\nExample:\n\n    output y = a; output y = b;\n\nFix: Rename one of them.",
    }
    NO_OUTPUTS = "E0164" {
        title: "a network without outputs",
        explanation: "A network must declare at least one `output`: otherwise nothing it computes is observable.\n\nExample:\n\n    network n { input x: [1, 4]; let y = relu(x); }\n\nFix: Add `output y;` or `output y = EXPR;`.",
    }
    DUPLICATE_INPUT = "E0165" {
        title: "two inputs with the same name",
        explanation: "Each input of a network needs a distinct name.\n\nExample:\n\n    input x: [1, 4]; input x: [1, 8];\n\nFix: Rename one of them.",
    }
    RECURSION = "E0170" {
        title: "recursive block call",
        explanation: "Blocks are macros inlined at each call: a block that calls itself, directly or through other blocks, would never finish. The message shows the chain of calls.\n\nExample:\n\n    block a(x) { return b(x); }\n    block b(x) { return a(x); }\n\nFix: Use a `for` loop to repeat structure.",
    }
    DUPLICATE_WEIGHT = "E0171" {
        title: "two ops with the same weight name",
        explanation: "Every op with weights (conv2d, batchnorm, linear) needs a unique full weight name: it is the key of its weights. Both places are labelled; when the same text runs twice (a loop, a block called twice with the same `name`) the calls are labelled.\n\nExample:\n\n    for i in 0..2 { x = conv2d(x, out = 8, kernel = 3, name = \"conv\"); }\n\nFix: Make the names differ, e.g. `name = \"conv{i}\"`, or drop `name` to get `conv2d_0`, `conv2d_1`, ...",
    }
    LIMIT_LOOP = "E0180" {
        title: "too many loop iterations",
        explanation: "Loops are unrolled while compiling; the total number of iterations of all `for` loops is limited (default 1,000,000).\n\nExample:\n\n    for i in 0..100000000 { ... }\n\nFix: Use fewer iterations.",
    }
    LIMIT_NODES = "E0181" {
        title: "the graph is too large",
        explanation: "The number of graph nodes is limited (default 1,000,000).\n\nExample:\n\n    for i in 0..1000000 { x = relu(relu(x)); }\n\nFix: Build a smaller network.",
    }
    LIMIT_TENSOR = "E0182" {
        title: "a tensor is too large",
        explanation: "A tensor's element count is limited (default 2^31 elements), which also rules out sizes that overflow.\n\nExample:\n\n    input x: [1, 3, 100000, 100000];\n\nFix: Use smaller shapes.",
    }
    LIMIT_CALL_DEPTH = "E0183" {
        title: "blocks nested too deeply",
        explanation: "Block calls may nest up to a limit (default 256 levels).\n\nExample:\n\n    a chain of 300 blocks each calling the next\n\nFix: Flatten the structure with loops.",
    }
    LIMIT_DEPTH = "E0184" {
        title: "expression or statement nested too deeply",
        explanation: "Evaluation depth is limited (default 2,000 levels of nested expressions and statements) so that no input can exhaust the compiler's stack.\n\nExample:\n\n    ((((((... 10000 parentheses ...))))))\n\nFix: Split the expression with `let` bindings.",
    }
    LIMIT_LIST = "E0185" {
        title: "a list is too long or nested too deeply",
        explanation: "Compile-time lists are limited in length (default 1,000,000 elements), and lists and tuples may nest at most 256 levels deep.\n\nExample:\n\n    let xs = ys + ys + ys + ...;\n\nFix: Use shorter lists.",
    }
    LIMIT_STRING = "E0186" {
        title: "a string is too long",
        explanation: "Compile-time strings are limited in length (default 1,000,000 bytes).\n\nExample:\n\n    repeatedly concatenating a string with itself\n\nFix: Use shorter strings.",
    }
    LIMIT_CALLS = "E0187" {
        title: "too many block calls",
        explanation: "Blocks are inlined at every call, so the number of calls made while elaborating a network is limited in total (default 1,000,000), whatever their nesting. A block that calls another block twice, nested 24 levels deep, makes 2^24 calls.\n\nExample:\n\n    block b0(x) { return b1(b1(x)); }\n    block b1(x) { return b2(b2(x)); }\n    ...\n\nFix: Build repeated structure with `for` loops and fewer calls.",
    }
    LIMIT_WEIGHTS = "E0188" {
        title: "the weights are too large",
        explanation: "Every weight tensor of an op (a conv2d, linear or batchnorm weight or bias) is limited like any tensor (default 2^31 elements, `E0182` for one tensor), and all the weights of the network together are limited to 2^31 elements (8 GiB as f32): building or running the network would have to allocate them.\n\nExample:\n\n    input x: [1, 1048576];\n    output y = linear(x, out = 1048576);   // a 2^40-element weight\n\nFix: Use smaller layers.",
    }
    BAD_CONSTANT = "E0190" {
        title: "not a rectangular list of numbers",
        explanation: "`constant(values)` needs a non-empty list of numbers, or of equally long lists (nested to any depth), all finite in float32; the nesting gives the shape. `take(x, indices, axis)` needs its indices in the same form, with ints.\n\nExample:\n\n    constant([[0.0, 1.0], [2.0]])\n\nFix: Give every row the same length, e.g. `constant([[0.0, 1.0], [2.0, 3.0]])`.",
    }
    INTERNAL = "E0199" {
        title: "internal error: the elaborated graph is invalid",
        explanation: "The elaborator built a graph that fails the IR verifier. This is a bug in nnc, not in your program.\n\nExample:\n\n    (none)\n\nFix: Please report it with the source file.",
    }
}
