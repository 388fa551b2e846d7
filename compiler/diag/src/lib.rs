//! Diagnostics for every stage of nnc: one [`Diagnostic`] type, a table of
//! stable codes ([`codes`]), and two renderers ([`render`]): ariadne for people
//! and JSON lines for tools (shape fixed by `shared/spec/cli.md`).
//!
//! Spans are byte ranges into one source file ([`SourceFile`]). Stages never
//! print: they return diagnostics, and the driver renders them.

pub mod codes;
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

/// One source file: its display name and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and 1-based column (in chars) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        // step back to a char boundary
        let mut b = byte;
        while b > 0 && !self.text.is_char_boundary(b) {
            b -= 1;
        }
        let before = &self.text[..b];
        let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
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
