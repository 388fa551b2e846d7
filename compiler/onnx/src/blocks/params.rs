//! Parameters of isomorphic instances: the integer literals that differ
//! between instances of one structure become parameters (named after their
//! keyword argument), literals equal to another parameter times a constant
//! become `param * c`, and the rest stay constants. Shared by the importer's
//! `block`s and the PyTorch exporter's submodule classes.

use super::tokens::{int_value, keyword_of};

/// Where one integer literal of the structure comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    Const(u64),
    Param(usize),
    Scaled(usize, u64),
}

impl Source {
    /// The literal's text given the parameters' names.
    pub fn render(&self, names: &[String]) -> String {
        match *self {
            Source::Const(v) => v.to_string(),
            Source::Param(q) => names[q].clone(),
            Source::Scaled(q, c) => format!("{} * {c}", names[q]),
        }
    }
}

/// One parameter: a name hint (the keyword argument of its first literal,
/// or `p`) and its value in each instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub values: Vec<u64>,
}

/// `first`: the tokens of the first instance (for the keywords); `ints`:
/// each instance's integer literals, in order (all of the same length).
pub fn parameterize(first: &[String], ints: &[&[u64]]) -> (Vec<Source>, Vec<Param>) {
    let kws: Vec<String> = first
        .iter()
        .enumerate()
        .filter(|(_, t)| int_value(t).is_some())
        .map(|(k, _)| keyword_of(first, k).unwrap_or("p").to_string())
        .collect();
    let mut params: Vec<Param> = Vec::new();
    let mut sources = Vec::new();
    for p in 0..ints[0].len() {
        let v: Vec<u64> = ints.iter().map(|r| r[p]).collect();
        let src = if v.iter().all(|&x| x == v[0]) {
            Source::Const(v[0])
        } else if let Some(q) = params.iter().position(|q| q.values == v) {
            Source::Param(q)
        } else if let Some((q, c)) = params.iter().enumerate().find_map(|(q, pv)| {
            let c = v[0].checked_div(pv.values[0])?;
            (c >= 2
                && pv
                    .values
                    .iter()
                    .zip(&v)
                    .all(|(&a, &b)| a.checked_mul(c) == Some(b)))
            .then_some((q, c))
        }) {
            Source::Scaled(q, c)
        } else {
            params.push(Param {
                name: kws.get(p).cloned().unwrap_or_else(|| "p".into()),
                values: v,
            });
            Source::Param(params.len() - 1)
        };
        sources.push(src);
    }
    (sources, params)
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokens;
    use super::*;

    #[test]
    fn differing_literals_become_parameters_and_multiples() {
        // conv1 out, conv3 out = 4 * conv1's, stride, a constant kernel
        let first =
            tokens("conv2d(x, out = 64, kernel = 1); conv2d(y, out = 256, stride = 1, kernel = 1)");
        let a: &[u64] = &[64, 1, 256, 1, 1];
        let b: &[u64] = &[128, 1, 512, 2, 1];
        let (src, params) = parameterize(&first, &[a, b]);
        assert_eq!(
            src,
            [
                Source::Param(0),
                Source::Const(1),
                Source::Scaled(0, 4),
                Source::Param(1),
                Source::Const(1)
            ]
        );
        assert_eq!(params[0].name, "out");
        assert_eq!(params[1].name, "stride");
        assert_eq!(params[1].values, [1, 2]);
        let names = vec!["planes".to_string(), "stride".to_string()];
        assert_eq!(src[2].render(&names), "planes * 4");
    }
}
