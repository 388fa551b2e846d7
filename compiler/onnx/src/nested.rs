//! Row-major values as a nested list literal, the same text in `.nn` and in
//! Python: `[[0.0, -100.0], [-100.0, 0.0]]` (import's `constant`/`take`,
//! the torch export's buffers).

/// `values` of shape `dims`, each element written by `show`; no dims: the
/// single element itself.
pub(crate) fn list<T>(dims: &[usize], values: &[T], show: &dyn Fn(&T) -> String) -> String {
    fn rec<T>(dims: &[usize], values: &[T], show: &dyn Fn(&T) -> String, out: &mut String) {
        let [d, rest @ ..] = dims else {
            if let Some(v) = values.first() {
                out.push_str(&show(v));
            }
            return;
        };
        let step = rest.iter().product::<usize>();
        out.push('[');
        for k in 0..*d {
            if k > 0 {
                out.push_str(", ");
            }
            rec(rest, &values[k * step..(k + 1) * step], show, out);
        }
        out.push(']');
    }
    let mut out = String::new();
    rec(dims, values, show, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn nests_row_major() {
        let s = |v: &i32| v.to_string();
        assert_eq!(
            super::list(&[2, 3], &[1, 2, 3, 4, 5, 6], &s),
            "[[1, 2, 3], [4, 5, 6]]"
        );
        assert_eq!(super::list(&[1, 2, 1], &[7, 8], &s), "[[[7], [8]]]");
        assert_eq!(super::list(&[], &[9], &s), "9");
        assert_eq!(super::list(&[0], &[] as &[i32], &s), "[]");
    }
}
