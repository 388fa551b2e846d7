//! The part of a source file that one diagnostic shows, made safe and small
//! for a terminal (what rustc does for its snippets):
//!
//! - only the lines from the first to the last labelled line are kept, and
//!   lines no label starts or ends on are left empty (the renderer elides
//!   them): the work and the text of a diagnostic do not grow with the file
//!   (the renderer then renumbers the lines, see `render::renumber`);
//! - a line longer than [`MAX_LINE`] bytes is cut to a window around its
//!   labels, with `…` where text was left out;
//! - control characters are replaced by one-column glyphs (U+2400 "control
//!   pictures" for C0 and DEL, U+FFFD for C1 and bidirectional overrides), so
//!   the source cannot move the cursor, clear the screen or set the title,
//!   and underlines stay aligned.
//!
//! [`Excerpt::map`] translates byte offsets of the file into the excerpt.

use crate::SourceFile;

/// Lines longer than this many bytes are shown as a window around their labels.
pub const MAX_LINE: usize = 160;
/// Context kept on the left of the first label of a long line, in bytes.
const LEFT_CONTEXT: usize = 40;
/// Text fields (messages, notes, labels) are cut to this many chars.
pub const MAX_MESSAGE: usize = 400;

/// How a source character is shown, `None` when it is shown as is.
fn glyph(c: char) -> Option<char> {
    match c {
        '\t' => None,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('\u{2421}'),
        '\u{80}'..='\u{9f}'
        | '\u{200e}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Some('\u{fffd}'),
        _ => None,
    }
}

/// A source line's text as shown: control characters replaced.
fn push_shown(out: &mut String, text: &str) {
    for c in text.chars() {
        out.push(glyph(c).unwrap_or(c));
    }
}

fn shown_len(text: &str) -> usize {
    text.chars().map(|c| glyph(c).unwrap_or(c).len_utf8()).sum()
}

/// A text field of a diagnostic (message, note, label): control characters
/// other than newlines escaped as `\u{..}` and the length bounded.
pub fn sanitize_text(s: &str) -> String {
    let needs_escape = s
        .chars()
        .any(|c| c != '\n' && c != '\t' && glyph(c).is_some());
    let n = s.chars().count();
    if !needs_escape && n <= MAX_MESSAGE {
        return s.to_string();
    }
    let mut out = String::new();
    let keep = |i: usize| n <= MAX_MESSAGE || i < MAX_MESSAGE / 2 || i >= n - MAX_MESSAGE / 2;
    let mut elided = false;
    for (i, c) in s.chars().enumerate() {
        if !keep(i) {
            if !elided {
                out.push('…');
                elided = true;
            }
            continue;
        }
        if c != '\n' && c != '\t' && glyph(c).is_some() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// One kept line of the excerpt.
struct Shown {
    /// The window of the line that is shown (file offsets).
    window: std::ops::Range<usize>,
    /// Offset in the excerpt of the first shown source byte (after any `…`).
    at: usize,
}

/// The excerpt of a file for a set of spans.
pub struct Excerpt {
    /// The text handed to the renderer.
    pub text: String,
    /// 0-based line number in the file of the excerpt's first line.
    pub first_line: usize,
    lines: Vec<Option<Shown>>,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl Excerpt {
    /// The excerpt showing the byte offsets `points` (starts and ends of the
    /// labels, already clamped into the file; the first is the primary
    /// label's start).
    pub fn new(file: &SourceFile, points: &[usize]) -> Excerpt {
        let text = file.text.as_str();
        let mut by_line: Vec<(usize, usize)> =
            points.iter().map(|&p| (file.line_index(p), p)).collect();
        by_line.sort_unstable();
        let first_line = by_line.first().map(|p| p.0).unwrap_or(0);
        let last_line = by_line.last().map(|p| p.0).unwrap_or(0);
        let mut out = String::new();
        let mut lines = Vec::with_capacity(last_line - first_line + 1);
        let mut k = 0;
        for li in first_line..=last_line {
            let start_k = k;
            while k < by_line.len() && by_line[k].0 == li {
                k += 1;
            }
            if li > first_line {
                out.push('\n');
            }
            if start_k == k {
                // no label starts or ends here: elided by the renderer
                lines.push(None);
                continue;
            }
            let line = file.line_range(li);
            let mut lo = by_line[start_k].1.clamp(line.start, line.end);
            let mut hi = by_line[k - 1].1.clamp(line.start, line.end);
            // labels too far apart: the window goes around the first point
            // given (the primary label's start)
            if hi - lo > MAX_LINE - 2 * LEFT_CONTEXT {
                if let Some(&p) = points.first().filter(|&&p| line.contains(&p)) {
                    (lo, hi) = (p, p);
                }
            }
            let window = if line.len() <= MAX_LINE {
                line.clone()
            } else {
                let mut ws = lo.saturating_sub(LEFT_CONTEXT).max(line.start);
                if ws - line.start < 8 {
                    ws = line.start;
                }
                let ws = floor_boundary(text, ws);
                let we = ceil_boundary(text, (hi + LEFT_CONTEXT).min(ws + MAX_LINE).min(line.end));
                ws..we.max(ceil_boundary(text, lo.min(line.end)))
            };
            if window.start > line.start {
                out.push('…');
            }
            let at = out.len();
            push_shown(&mut out, &text[window.clone()]);
            if window.end < line.end {
                out.push('…');
            }
            lines.push(Some(Shown { window, at }));
        }
        Excerpt {
            text: out,
            first_line,
            lines,
        }
    }

    /// The offset in the excerpt of file offset `p` (one of the points the
    /// excerpt was made for, or any offset on a kept line).
    pub fn map(&self, file: &SourceFile, p: usize) -> usize {
        let li = file.line_index(p);
        let Some(Some(s)) = li
            .checked_sub(self.first_line)
            .and_then(|i| self.lines.get(i))
        else {
            return 0;
        };
        let q = p.clamp(s.window.start, s.window.end);
        let q = floor_boundary(&file.text, q).max(s.window.start);
        s.at + shown_len(&file.text[s.window.start..q])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_glyphs() {
        let f = SourceFile::new("t", "a\u{1b}[2Jb\u{0}c\n");
        let e = Excerpt::new(&f, &[0, 8]);
        assert_eq!(e.text, "a\u{241b}[2Jb\u{2400}c");
        assert_eq!(e.map(&f, 7), "a\u{241b}[2Jb\u{2400}".len());
        assert!(!e.text.chars().any(|c| c.is_control()));
        // `c` is the 7th char in both
        assert_eq!(e.text[e.map(&f, 7)..].chars().next(), Some('c'));
    }

    #[test]
    fn long_lines_are_windowed() {
        let line = format!("{}X{}", "a".repeat(100_000), "b".repeat(100_000));
        let f = SourceFile::new("t", format!("first\n{line}\nlast\n"));
        let x = 6 + 100_000;
        let e = Excerpt::new(&f, &[x, x + 1]);
        assert!(e.text.len() < 2 * MAX_LINE, "{}", e.text.len());
        assert!(e.text.starts_with('…') && e.text.ends_with('…'));
        assert_eq!(&e.text[e.map(&f, x)..e.map(&f, x + 1)], "X");
        assert_eq!(e.first_line, 1);
    }

    #[test]
    fn lines_without_labels_are_left_empty() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let f = SourceFile::new("t", text.clone());
        let a = text.find("line 10\n").unwrap();
        let b = text.find("line 900\n").unwrap();
        let e = Excerpt::new(&f, &[a, b + 4]);
        assert_eq!(e.first_line, 10);
        assert!(e.text.len() < 900 + 20, "{}", e.text.len());
        assert!(!e.text.starts_with('\n'));
        assert_eq!(&e.text[e.map(&f, b)..e.map(&f, b + 4)], "line");
    }

    #[test]
    fn messages_are_escaped_and_bounded() {
        assert_eq!(sanitize_text("a\u{1b}b"), "a\\u{1b}b");
        assert_eq!(sanitize_text("a\nb"), "a\nb");
        let long = "x".repeat(10_000);
        assert!(sanitize_text(&long).chars().count() <= MAX_MESSAGE + 1);
    }
}
