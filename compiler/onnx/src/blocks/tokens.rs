//! Tokens of the importer's generated statements: identifiers, string
//! literals, number literals, and single other characters (spaces kept, so
//! that joining the tokens gives the statement back).

/// Splits a statement into tokens.
pub fn tokens(s: &str) -> Vec<String> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let j = if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += 1;
            }
            (j + 1).min(b.len())
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            j
        } else if c.is_ascii_digit() {
            number_end(&b, i)
        } else {
            i + 1
        };
        out.push(b[i..j].iter().collect());
        i = j;
    }
    out
}

/// The end of the number literal starting at `i`: digits and `_`, an
/// optional fraction, an optional exponent.
fn number_end(b: &[char], i: usize) -> usize {
    let digits = |mut j: usize| {
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == '_') {
            j += 1;
        }
        j
    };
    let mut j = digits(i);
    if j + 1 < b.len() && b[j] == '.' && b[j + 1].is_ascii_digit() {
        j = digits(j + 1);
    }
    if j < b.len() && (b[j] == 'e' || b[j] == 'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == '+' || b[k] == '-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            j = digits(k);
        }
    }
    j
}

/// An integer literal token (the only literals a block parameter replaces).
pub fn int_value(tok: &str) -> Option<u64> {
    if tok.starts_with(|c: char| c.is_ascii_digit()) && tok.chars().all(|c| c.is_ascii_digit()) {
        tok.parse().ok()
    } else {
        None
    }
}

pub fn is_ident(tok: &str) -> bool {
    tok.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// The identifiers a statement defines: `let a = ...` or `let (a, b) = ...`.
pub fn defs_of(toks: &[String]) -> Vec<String> {
    let Some(eq) = toks.iter().position(|t| t == "=") else {
        return Vec::new();
    };
    toks[1..eq]
        .iter()
        .filter(|t| is_ident(t))
        .cloned()
        .collect()
}

/// The keyword argument an integer literal at `at` belongs to (`out` in
/// `out = 8`, `sizes` in `sizes = [58, 58]`, `kernel_size` in
/// `kernel_size=(3, 3)`), if any; None for a positional argument.
pub fn keyword_of(toks: &[String], at: usize) -> Option<&str> {
    let prev = |k: usize| toks[..k].iter().rev().find(|t| t.trim() != "");
    let mut depth = 0usize;
    let mut crossed = false;
    let mut k = at;
    while k > 0 {
        k -= 1;
        match toks[k].as_str() {
            ")" | "]" => depth += 1,
            "(" | "[" if depth > 0 => depth -= 1,
            // the literal is an element of a list or tuple: the keyword of that
            "[" => return keyword_of(toks, k),
            "(" => {
                return match prev(k) {
                    Some(t) if is_ident(t) => None, // a call's positional argument
                    _ => keyword_of(toks, k),
                };
            }
            "," if depth == 0 => crossed = true,
            "=" if depth == 0 && !crossed => {
                return prev(k).map(String::as_str).filter(|t| is_ident(t))
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_into_tokens() {
        let t = tokens("let a_1 = conv2d(x, out = 64, eps = 1e-5, s = 0.25, name = \"l.0\");");
        assert_eq!(
            t.concat(),
            "let a_1 = conv2d(x, out = 64, eps = 1e-5, s = 0.25, name = \"l.0\");"
        );
        for w in ["a_1", "64", "1e-5", "0.25", "\"l.0\""] {
            assert!(t.iter().any(|x| x == w), "{w}: {t:?}");
        }
        assert_eq!(int_value("64"), Some(64));
        assert_eq!(int_value("1e-5"), None);
        assert_eq!(defs_of(&tokens("let (a, b) = split(x);")), ["a", "b"]);
    }

    #[test]
    fn literals_know_their_keyword() {
        let pos = |t: &[String], v: &str, nth: usize| {
            t.iter()
                .enumerate()
                .filter(|(_, x)| *x == v)
                .nth(nth)
                .map(|(i, _)| i)
                .unwrap()
        };
        let t = tokens("let a = split(x, sizes = [58, 58], axis = 1, 3);");
        assert_eq!(keyword_of(&t, pos(&t, "58", 1)), Some("sizes"));
        assert_eq!(keyword_of(&t, pos(&t, "1", 0)), Some("axis"));
        assert_eq!(keyword_of(&t, pos(&t, "3", 0)), None);
        let t = tokens("self.c = nn.Conv2d(64, 128, kernel_size=(3, 3), f(a = 1, 5))");
        assert_eq!(keyword_of(&t, pos(&t, "128", 0)), None);
        assert_eq!(keyword_of(&t, pos(&t, "3", 1)), Some("kernel_size"));
        assert_eq!(keyword_of(&t, pos(&t, "5", 0)), None);
    }
}
