use super::CodeInfo;

pub(super) static CODES: &[CodeInfo] = &[];
