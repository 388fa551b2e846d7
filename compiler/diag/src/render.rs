//! Rendering diagnostics: `human` (ariadne, byte-indexed spans), `short`
//! (one line each, like `rustc --error-format short`) and `json` (one object a
//! line: `code`, `level`, `message`, `lint`, `spans`, `notes`, `help`,
//! `suggestions`, `rendered`; see [`json_value`]).

use crate::excerpt::{sanitize_text, Excerpt};
use crate::{Diagnostic, Level, SourceFile, Span};
use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};
use serde_json::{json, Value};

/// How diagnostics are printed (`--message-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageFormat {
    Human,
    Short,
    Json,
}

/// Clamps a span into the file and onto char boundaries, so that a bad span
/// can never make a renderer panic.
fn clamp(file: &SourceFile, span: Span) -> std::ops::Range<usize> {
    let len = file.text.len();
    let mut s = (span.start as usize).min(len);
    let mut e = (span.end as usize).min(len).max(s);
    while s > 0 && !file.text.is_char_boundary(s) {
        s -= 1;
    }
    while e < len && !file.text.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

/// The human rendering (what rustc prints), with or without ANSI colour.
///
/// The source shown is an [`Excerpt`]: only the labelled lines, long lines
/// cut to a window, control characters replaced; texts are escaped and
/// bounded by [`sanitize_text`]. The output size of one diagnostic is thus
/// bounded whatever the file holds.
pub fn human(d: &Diagnostic, file: &SourceFile, color: bool) -> String {
    let kind = match d.level {
        Level::Error => ReportKind::Error,
        Level::Warning => ReportKind::Warning,
        Level::Note => ReportKind::Advice,
    };
    let name = sanitize_text(&file.name);
    let name = name.as_str();
    // ariadne shows the end of a file that ends with a newline at the end
    // of its last line; so does the excerpt
    let body_end = file
        .text
        .strip_suffix('\n')
        .map_or(file.text.len(), |t| t.strip_suffix('\r').unwrap_or(t).len());
    let at_end = |r: std::ops::Range<usize>| r.start.min(body_end)..r.end.min(body_end);
    let primary = at_end(clamp(file, d.primary_span().unwrap_or(Span::DUMMY)));
    let spans: Vec<std::ops::Range<usize>> = d
        .labels
        .iter()
        .map(|l| at_end(clamp(file, l.span)))
        .collect();
    let mut points: Vec<usize> = vec![primary.start, primary.end];
    for r in &spans {
        points.push(r.start);
        points.push(r.end);
    }
    let ex = Excerpt::new(file, &points);
    let map = |r: &std::ops::Range<usize>| ex.map(file, r.start)..ex.map(file, r.end);
    let config = Config::default()
        .with_index_type(IndexType::Byte)
        .with_color(color);
    let mut report = Report::build(kind, (name, map(&primary)))
        .with_config(config)
        .with_code(d.code)
        .with_message(sanitize_text(&d.message));
    for (i, (l, r)) in d.labels.iter().zip(&spans).enumerate() {
        let mut label = Label::new((name, map(r))).with_order(i as i32);
        if !l.message.is_empty() {
            label = label.with_message(sanitize_text(&l.message));
        }
        if color {
            label = label.with_color(if l.primary {
                match d.level {
                    Level::Error => Color::Red,
                    Level::Warning => Color::Yellow,
                    Level::Note => Color::Cyan,
                }
            } else {
                Color::Blue
            });
        }
        report = report.with_label(label);
    }
    for n in &d.notes {
        report = report.with_note(sanitize_text(n));
    }
    if let Some(h) = &d.help {
        report = report.with_help(sanitize_text(h));
    }
    for s in &d.suggestions {
        report = report.with_help(sanitize_text(&s.message));
    }
    let mut out = Vec::new();
    let source = Source::from(ex.text.as_str());
    // Writing into a Vec cannot fail; if ariadne errs anyway, fall back to the short form.
    match report.finish().write((name, source), &mut out) {
        Ok(()) => {
            let s = String::from_utf8_lossy(&out).into_owned();
            let mut s = renumber(&s, ex.first_line);
            // The header's location is counted in the excerpt; give the file's.
            let shown = excerpt_line_col(&ex.text, map(&primary).start);
            let (l, c) = file.line_col(primary.start);
            if shown != (l, c) {
                let from = format!(" {name}:{}:{} ", shown.0, shown.1);
                s = s.replace(&from, &format!(" {name}:{l}:{c} "));
            }
            s
        }
        Err(_) => short(d, file),
    }
}

/// Splits a line into its leading spaces, ANSI colour sequences and the rest.
fn margin_parts(line: &str) -> (usize, &str, &str) {
    let lead = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[lead..];
    let mut esc = 0;
    while rest[esc..].starts_with("\u{1b}[") {
        match rest[esc..].find('m') {
            Some(m) => esc += m + 1,
            None => break,
        }
    }
    let prefix = &rest[..esc];
    rest = &rest[esc..];
    (lead, prefix, rest)
}

/// The line number of a source line of ariadne's output (`  12 │ text`).
fn line_number(rest: &str) -> Option<(usize, &str)> {
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || !rest[digits..].starts_with(" │") {
        return None;
    }
    Some((rest[..digits].parse().ok()?, &rest[digits..]))
}

/// Adds `offset` to the line numbers of ariadne's output for an excerpt that
/// starts at line `offset` of the file, widening the margin to fit.
fn renumber(out: &str, offset: usize) -> String {
    if offset == 0 {
        return out.to_string();
    }
    let digits = |n: usize| n.to_string().len();
    let mut width = None;
    let mut max = 0;
    for line in out.lines() {
        let (lead, _, rest) = margin_parts(line);
        if let Some((n, _)) = line_number(rest) {
            width.get_or_insert(lead + digits(n));
            max = max.max(n + offset);
        }
    }
    let Some(width) = width else {
        return out.to_string();
    };
    // ariadne keeps one space before the widest number
    let wide = (digits(max) + 1).max(width);
    let extra = wide - width;
    let mut s = String::with_capacity(out.len() + 64);
    for (i, line) in out.split_inclusive('\n').enumerate() {
        let (lead, prefix, rest) = margin_parts(line);
        if i == 0 {
            s.push_str(line);
        } else if let Some((n, tail)) = line_number(rest) {
            let real = (n + offset).to_string();
            s.extend(std::iter::repeat_n(' ', wide - real.len()));
            s.push_str(prefix);
            s.push_str(&real);
            s.push_str(tail);
        } else if lead > 0 {
            s.extend(std::iter::repeat_n(' ', extra));
            s.push_str(line);
        } else if rest.starts_with('─') {
            s.push_str(prefix);
            s.extend(std::iter::repeat_n('─', extra));
            s.push_str(rest);
        } else {
            s.push_str(line);
        }
    }
    s
}

/// 1-based line and column (in chars) of an offset of the excerpt text.
fn excerpt_line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[start..].chars().count() + 1)
}

/// One line: `file:line:col: error[E0001]: message`.
pub fn short(d: &Diagnostic, file: &SourceFile) -> String {
    match d.primary_span() {
        Some(sp) => {
            let (l, c) = file.line_col(sp.start as usize);
            format!(
                "{}:{}:{}: {}[{}]: {}\n",
                file.name,
                l,
                c,
                d.level,
                d.code,
                sanitize_text(&d.message).replace('\n', " ")
            )
        }
        None => format!(
            "{}: {}[{}]: {}\n",
            file.name,
            d.level,
            d.code,
            sanitize_text(&d.message).replace('\n', " ")
        ),
    }
}

/// The JSON object of one diagnostic (`--message-format json`).
pub fn json_value(d: &Diagnostic, file: &SourceFile) -> Value {
    let spans: Vec<Value> = d
        .labels
        .iter()
        .map(|l| {
            let r = clamp(file, l.span);
            let (ls, cs) = file.line_col(r.start);
            let (le, ce) = file.line_col(r.end);
            json!({
                "file": file.name,
                "byte_start": r.start,
                "byte_end": r.end,
                "line_start": ls,
                "column_start": cs,
                "line_end": le,
                "column_end": ce,
                "is_primary": l.primary,
                "label": if l.message.is_empty() { Value::Null } else { Value::String(l.message.clone()) },
            })
        })
        .collect();
    let suggestions: Vec<Value> = d
        .suggestions
        .iter()
        .map(|s| {
            json!({
                "message": s.message,
                "applicability": format!("{:?}", s.applicability),
                "edits": s.edits.iter().map(|(sp, text)| json!({
                    "byte_start": sp.start, "byte_end": sp.end, "replacement": text
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "code": d.code,
        "level": d.level.as_str(),
        "message": d.message,
        "lint": d.lint,
        "spans": spans,
        "notes": d.notes,
        "help": d.help,
        "suggestions": suggestions,
        "rendered": human(d, file, false),
    })
}

/// Renders one diagnostic in the given format (JSON: one line, newline-terminated).
pub fn render(d: &Diagnostic, file: &SourceFile, format: MessageFormat, color: bool) -> String {
    match format {
        MessageFormat::Human => human(d, file, color),
        MessageFormat::Short => short(d, file),
        MessageFormat::Json => {
            let mut s = json_value(d, file).to_string();
            s.push('\n');
            s
        }
    }
}

/// The closing summary line (`error: could not compile `x` due to 2 errors; 1 warning emitted`).
pub fn summary(diags: &[Diagnostic], what: &str) -> Option<String> {
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.iter().filter(|d| d.level == Level::Warning).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if errors > 0 {
        let mut s = format!(
            "error: could not compile `{what}` due to {}",
            plural(errors, "error")
        );
        if warnings > 0 {
            s.push_str(&format!("; {} emitted", plural(warnings, "warning")));
        }
        Some(s)
    } else if warnings > 0 {
        Some(format!(
            "warning: `{what}` generated {}",
            plural(warnings, "warning")
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_color_and_json_fields() {
        let f = SourceFile::new("t.nn", "network n {\n  let x = foo(1);\n}\n");
        let d = Diagnostic::error("E0101", "unknown name `foo`")
            .with_primary(Span::new(22, 25), "not found")
            .with_help("did you mean `for`?");
        let h = human(&d, &f, false);
        assert!(h.contains("E0101"), "{h}");
        assert!(h.contains("t.nn:2:11"), "{h}");
        assert!(!h.contains('\u{1b}'), "{h}");
        let v = json_value(&d, &f);
        assert_eq!(v["code"], "E0101");
        assert_eq!(v["spans"][0]["line_start"], 2);
        assert_eq!(v["spans"][0]["column_start"], 11);
        assert_eq!(v["spans"][0]["byte_start"], 22);
        assert_eq!(v["spans"][0]["is_primary"], true);
        assert_eq!(v["lint"], Value::Null);
    }

    #[test]
    fn far_lines_keep_their_numbers_and_alignment() {
        let text: String = (0..2000).map(|i| format!("line{i}\n")).collect();
        let f = SourceFile::new("t.nn", text.clone());
        let at = text.find("line999\n").unwrap();
        let d = Diagnostic::error("E0101", "x").with_primary(Span::new(at, at + 4), "here");
        for color in [false, true] {
            let h = human(&d, &f, color);
            assert!(h.contains("t.nn:1000:1"), "{h}");
            assert!(h.contains("1000 │"), "{h}");
            // the work does not include the 999 lines before
            assert!(h.len() < 2000, "{}", h.len());
        }
        let h = human(&d, &f, false);
        let bars: Vec<usize> = h
            .lines()
            .filter_map(|l| l.find('│').map(|i| l[..i].chars().count()))
            .collect();
        assert!(bars.windows(2).all(|w| w[0] == w[1]), "{h}");
    }

    #[test]
    fn bad_spans_never_panic() {
        let f = SourceFile::new("t.nn", "héllo");
        let d = Diagnostic::error("E0001", "x").with_primary(Span::new(2, 999), "here");
        let _ = human(&d, &f, true);
        let _ = json_value(&d, &f);
    }
}
