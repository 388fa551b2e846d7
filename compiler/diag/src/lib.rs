//! Diagnostics for every stage of nnc: one [`Diagnostic`] type, a table of
//! stable codes ([`codes`]), and two renderers ([`render`]): ariadne for people
//! and JSON lines for tools (one object per diagnostic, fields in [`render`]).
//!
//! Spans are byte ranges into one source file ([`SourceFile`]). Stages never
//! print: they return diagnostics, and the driver renders them.

pub mod bless;
pub mod codes;
mod excerpt;
pub mod render;
pub mod suggest;

use std::fmt;

/// A byte range `start..end` in the source file being compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const DUMMY: Span = Span { start: 0, end: 0 };

    pub fn new(start: usize, end: usize) -> Span {
        let start = start.min(u32::MAX as usize) as u32;
        let end = end.min(u32::MAX as usize) as u32;
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<std::ops::Range<usize>> for Span {
    fn from(r: std::ops::Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

/// At most this many errors, and as many other diagnostics, are reported for
/// one file; see [`cap`].
pub const MAX_REPORTED: usize = 100;

/// Keeps the first [`MAX_REPORTED`] errors and the first [`MAX_REPORTED`]
/// warnings and notes (in order), and ends the list with an `E0009` note
/// saying how many were left out. Stages call it on what they return, so
/// that the time and the output spent on a broken file stay bounded.
pub fn cap(diags: &mut Vec<Diagnostic>) {
    let (mut errors, mut others) = (0usize, 0usize);
    let (mut dropped_errors, mut dropped_others) = (0usize, 0usize);
    diags.retain(|d| {
        let n = if d.is_error() {
            &mut errors
        } else {
            &mut others
        };
        *n += 1;
        if *n <= MAX_REPORTED {
            true
        } else {
            if d.is_error() {
                dropped_errors += 1;
            } else {
                dropped_others += 1;
            }
            false
        }
    });
    if dropped_errors + dropped_others > 0 {
        let errors = |n: usize| format!("{n} more error{}", if n == 1 { "" } else { "s" });
        let others = |n: usize| match n {
            1 => "1 more warning or note".to_string(),
            n => format!("{n} more warnings or notes"),
        };
        let what = match (dropped_errors, dropped_others) {
            (e, 0) => errors(e),
            (0, o) => others(o),
            (e, o) => format!("{} and {}", errors(e), others(o)),
        };
        let mut note = Diagnostic::new(Level::Note, codes::syntax::TOO_MANY_DIAGNOSTICS, format!("{what} not shown"))
            .with_note(format!(
                "at most {MAX_REPORTED} errors and {MAX_REPORTED} warnings are reported; fix these first"
            ));
        // placed after the last diagnostic kept, so that sorting by position
        // keeps it last
        if let Some(end) = diags.iter().filter_map(|d| d.primary_span()).max() {
            note = note.with_primary(
                Span::new(end.end as usize, end.end as usize),
                "reporting stops here",
            );
        }
        diags.push(note);
    }
}

/// One source file: its display name and its text.
///
/// The text must not be changed after the first call of a method that uses
/// the line index ([`SourceFile::line_col`], the renderers): the index is
/// built once, so that locating N diagnostics costs O(N log lines), not
/// O(N × file).
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: std::sync::OnceLock::new(),
        }
    }

    /// Byte offsets of the starts of the lines (the first is 0).
    pub fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(
                    self.text
                        .bytes()
                        .enumerate()
                        .filter(|&(_, c)| c == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect()
        })
    }

    /// 0-based index of the line holding byte `byte` (clamped to the file).
    pub fn line_index(&self, byte: usize) -> usize {
        let starts = self.line_starts();
        starts.partition_point(|&s| s <= byte).saturating_sub(1)
    }

    /// The byte range of 0-based line `i` without its line terminator
    /// (`\n` or `\r\n`).
    pub fn line_range(&self, i: usize) -> std::ops::Range<usize> {
        let starts = self.line_starts();
        let len = self.text.len();
        let start = starts.get(i).copied().unwrap_or(len).min(len);
        let mut end = starts.get(i + 1).map(|&s| s - 1).unwrap_or(len).max(start);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// 1-based line and 1-based column (in chars) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        // step back to a char boundary
        let mut b = byte;
        while b > 0 && !self.text.is_char_boundary(b) {
            b -= 1;
        }
        let line = self.line_index(b);
        let line_start = self.line_starts()[line];
        let col = self.text[line_start..b].chars().count() + 1;
        (line + 1, col)
    }

    /// The text a span covers (empty if the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A labelled span. Exactly one label of a diagnostic should be primary.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// How safe it is to apply a suggested edit without a person looking (ruff's
/// applicability levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applicability {
    /// Safe to apply automatically (`nnc fix` applies these).
    MachineApplicable,
    /// Probably right, but changes meaning (e.g. a network's numbers).
    MaybeIncorrect,
    /// Contains placeholders a person must fill in.
    HasPlaceholders,
}

/// A suggested source edit: replace `span` with `replacement`.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub message: String,
    pub edits: Vec<(Span, String)>,
    pub applicability: Applicability,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Stable code, `E0001`.. for errors, `W0001`.. for warnings of the
    /// compiler itself, `L0001`.. for lints (see [`codes`]).
    pub code: &'static str,
    pub level: Level,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// The lint's name, for diagnostics emitted by a lint.
    pub lint: Option<&'static str>,
    pub suggestions: Vec<Suggestion>,
}

impl Diagnostic {
    pub fn new(level: Level, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            level,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
            lint: None,
            suggestions: Vec::new(),
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Level::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Level::Warning, code, message)
    }

    /// Adds the primary label.
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_lint(mut self, lint: &'static str) -> Diagnostic {
        self.lint = Some(lint);
        self
    }

    pub fn with_suggestion(mut self, s: Suggestion) -> Diagnostic {
        self.suggestions.push(s);
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// A list of diagnostics collected by a stage.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.is_error())
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorts by primary span position (stable), so output order follows the file.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)).unwrap_or((0, 0)));
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
