use super::CodeInfo;

pub(super) static CODES: &[CodeInfo] = &[CodeInfo {
    code: "E0001",
    title: "the source file is not valid UTF-8",
    explanation: "A `.nn` file must be UTF-8 text. The diagnostic points at the first byte \
that is not part of a valid UTF-8 sequence.\n\nFix: re-save the file as UTF-8.",
}];
