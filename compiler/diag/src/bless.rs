//! The one snapshot mechanism of nnc's tests: expected output lives in files,
//! a test compares its output with the file, and `NNC_BLESS=1` (set,
//! non-empty and not `0`) rewrites the file instead.

use std::path::Path;

/// Whether `NNC_BLESS` asks to rewrite expected files (set, non-empty and not
/// `0`).
pub fn enabled() -> bool {
    std::env::var_os("NNC_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compares `actual` with the expected file at `path` (a missing file reads
/// as empty). When blessing, writes `actual` to `path` and returns `None`;
/// otherwise returns the expected text if it differs, `None` if it matches.
pub fn compare(path: &Path, actual: &str) -> Option<String> {
    if enabled() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, actual).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then_some(expected)
}

/// [`compare`], panicking with both texts when they differ.
pub fn assert_file(path: &Path, actual: &str) {
    if let Some(expected) = compare(path, actual) {
        panic!(
            "{} differs (NNC_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}
