use super::CodeInfo;

pub(super) static CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "E0400",
        title: "a file could not be read",
        explanation: "nnc could not open or read a file named on the command line (the source, \
a weights file, an input). The message names the file and the operating system's reason.\n\n\
This is a usage error: exit code 2.",
    },
    CodeInfo {
        code: "E0402",
        title: "an op the backend does not compile yet",
        explanation: "`nnc build` generates native code for a subset of the language's ops. The \
transformer ops (`layernorm`, `reshape`, `permute`/`transpose`, `slice`, `select`, `matmul`, \
`param`, scalar arithmetic, `roll`, `attention`) and `linear` on inputs of rank above 2 are \
checked, analyzed and run by the reference interpreter, but not compiled yet.\n\n\
Fix: run the network with `nnc run` (the interpreter), or use the supported ops for `nnc build`.",
    },
    // E0410–E0449, W0010–W0029: weights and tensor files (nnc-interp).
    CodeInfo {
        code: "E0410",
        title: "the weights file is not a valid safetensors file",
        explanation: "The file given with `--weights` could not be parsed as safetensors: it is \
truncated, corrupt, or another format (e.g. a pickled `.pt` checkpoint). The message gives \
the parser's reason.\n\n\
Save PyTorch weights with:\n\n\
    from safetensors.torch import save_file\n\
    save_file(model.state_dict(), \"weights.safetensors\")",
    },
    CodeInfo {
        code: "E0411",
        title: "a weight the network needs is missing from the weights file",
        explanation:
            "Every op with weights needs the keys `<name>.weight`, `<name>.bias` (when it \
has a bias) and, for batchnorm, `<name>.running_mean` and `<name>.running_var`, where `<name>` \
is the op's weight name. One error is reported per missing key, with the shape expected.\n\n\
Fix the op's `name = ...` (or the block call's name) so that it matches the checkpoint's \
state_dict keys, or add the missing tensors to the file.",
    },
    CodeInfo {
        code: "E0412",
        title: "a weight in the weights file has the wrong shape",
        explanation: "The tensor stored under this key does not have the PyTorch shape the op \
needs: conv2d `weight` is `[out, in/groups, kh, kw]`, linear `weight` is `[out, in]`, biases \
and batchnorm tensors are `[C]`. The message names the key with the expected and the found \
shape; every mismatch is reported.\n\n\
Usually the network's channel counts, kernel sizes or groups differ from the checkpoint's.",
    },
    CodeInfo {
        code: "E0413",
        title: "a weight in the weights file has an unsupported dtype",
        explanation: "Weights must be floating point: F32 is used as is, F16, BF16 and F64 are \
converted to F32 (with note W0011). Integer, boolean and 8-bit float tensors are rejected.",
    },
    CodeInfo {
        code: "E0414",
        title: "tensors or weights are too large to allocate",
        explanation: "Before allocating memory whose size comes from the input (the network's \
weights, the interpreter's tensors in `nnc run`), nnc checks it against a documented limit: at \
most 2^31 f32 elements for all weights of a network together and for any one tensor. When the \
size is within the limit but the system cannot provide the memory (for example under `ulimit \
-v`), the allocation fails with this error instead of aborting. Reduce the network's sizes or \
give the process more memory.",
    },
    CodeInfo {
        code: "W0001",
        title: "an attribute or lint name is unknown",
        explanation: "Lint attributes are `#[allow(NAME, ...)]`, `#[warn(NAME, ...)]` and \
`#[deny(NAME, ...)]`, placed before a statement, a block or a network; NAME is a lint or a lint \
group (`nnc explain NAME`, `docs/lints.md`). An attribute with another name, or naming a lint \
that does not exist, has no effect and is reported with this warning (and a suggestion when a \
lint with a similar name exists).\n\nExample:\n\n    #[allow(unbalanced_chanels)]   // typo: \
warning W0001, did you mean `unbalanced_channels`?",
    },
    CodeInfo {
        code: "W0010",
        title: "the weights file holds keys the network does not use",
        explanation: "Keys of the weights file that match no weight of the network are ignored, \
with this warning listing them (`*.num_batches_tracked` keys of PyTorch batchnorm layers are \
ignored silently). Often a sign of a misspelled `name = ...`: the network then also misses \
the key it wanted (E0411), which suggests the closest unused key.",
    },
    CodeInfo {
        code: "W0011",
        title: "weights were converted to F32",
        explanation: "A note: tensors stored as F16, BF16 or F64 were converted to F32, the type \
the network computes in. F64 values are rounded to nearest; F16 and BF16 convert exactly.",
    },
    CodeInfo {
        code: "W0012",
        title: "weights hold NaN or infinite values",
        explanation: "Some weight tensors contain NaN or infinity; the network's outputs will \
likely be NaN. The note lists the keys.",
    },
];
