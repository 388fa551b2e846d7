//! A small unified diff (longest common subsequence over lines), enough for
//! showing what `nnc fix` changes.

/// A unified diff of two texts with `context` lines around each change,
/// headed `--- a/NAME` / `+++ b/NAME`. Empty if the texts are equal.
pub fn unified(name: &str, old: &str, new: &str, context: usize) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = lcs_ops(&a, &b);
    // group into hunks
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Edit::Same(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(context);
        let mut end = (changed[i] + context + 1).min(ops.len());
        let mut j = i + 1;
        while j < changed.len() && changed[j] <= end + context {
            end = (changed[j] + context + 1).min(ops.len());
            j += 1;
        }
        // line numbers at `start`
        let (mut la, mut lb) = (1usize, 1usize);
        for o in &ops[..start] {
            match o {
                Edit::Same(..) => {
                    la += 1;
                    lb += 1;
                }
                Edit::Del(_) => la += 1,
                Edit::Ins(_) => lb += 1,
            }
        }
        let na = ops[start..end]
            .iter()
            .filter(|o| !matches!(o, Edit::Ins(_)))
            .count();
        let nb = ops[start..end]
            .iter()
            .filter(|o| !matches!(o, Edit::Del(_)))
            .count();
        out.push_str(&format!("@@ -{la},{na} +{lb},{nb} @@\n"));
        for o in &ops[start..end] {
            match o {
                Edit::Same(l) => out.push_str(&format!(" {l}\n")),
                Edit::Del(l) => out.push_str(&format!("-{l}\n")),
                Edit::Ins(l) => out.push_str(&format!("+{l}\n")),
            }
        }
        i = j;
    }
    out
}

enum Edit<'a> {
    Same(&'a str),
    Del(&'a str),
    Ins(&'a str),
}

fn lcs_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Edit<'a>> {
    // trim the common prefix and suffix first: the DP then only covers the
    // changed middle (rewrites of literals change few lines)
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<Edit> = a[..pre].iter().map(|l| Edit::Same(l)).collect();
    if am.len().saturating_mul(bm.len()) > 4_000_000 {
        ops.extend(am.iter().map(|l| Edit::Del(l)));
        ops.extend(bm.iter().map(|l| Edit::Ins(l)));
    } else {
        let (n, m) = (am.len(), bm.len());
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if am[i] == bm[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push(Edit::Same(am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                ops.push(Edit::Del(am[i]));
                i += 1;
            } else {
                ops.push(Edit::Ins(bm[j]));
                j += 1;
            }
        }
    }
    ops.extend(a[a.len() - suf..].iter().map(|l| Edit::Same(l)));
    ops
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn one_line_change() {
        let a = "a\nb\nc\nd\ne\n";
        let b = "a\nb\nX\nd\ne\n";
        assert_eq!(
            unified("f.nn", a, b, 1),
            "--- a/f.nn\n+++ b/f.nn\n@@ -2,3 +2,3 @@\n b\n-c\n+X\n d\n"
        );
        assert_eq!(unified("f.nn", a, a, 3), "");
    }
}
