use super::CodeInfo;

pub(super) static CODES: &[CodeInfo] = &[CodeInfo {
    code: "E0400",
    title: "a file could not be read",
    explanation: "nnc could not open or read a file named on the command line (the source, \
a weights file, an input). The message names the file and the operating system's reason.\n\n\
This is a usage error: exit code 2.",
}];
