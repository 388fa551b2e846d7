//! Names in the generated `.nn`: identifiers for bindings and weight names
//! (scopes) for ops, derived from ONNX node and initializer names.

use std::collections::HashSet;

const RESERVED: &[&str] = &[
    "network",
    "block",
    "input",
    "output",
    "let",
    "return",
    "for",
    "in",
    "if",
    "else",
    "true",
    "false",
    "conv2d",
    "batchnorm",
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "silu",
    "gelu",
    "leaky_relu",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "flatten",
    "concat",
    "split",
    "channel_shuffle",
    "softmax",
    "upsample",
    "add",
    "mul",
    "channels",
    "height",
    "width",
    "batch",
    "shape",
    "len",
    "name",
];

/// The module path a PyTorch exporter puts in node names:
/// `/layer1/layer1.0/conv1/Conv` → `layer1.0.conv1`. Each segment is a
/// module's name, either relative to its parent (`conv1`) or repeating the
/// previous segment as a prefix (`layer1.0` after `layer1`). Other names
/// are cleaned to a dotted name. None when nothing usable is left.
pub fn scope_of_node(node_name: &str) -> Option<String> {
    let parts: Vec<&str> = node_name.split('/').filter(|p| !p.is_empty()).collect();
    let raw = match parts.len() {
        0 => return None,
        1 => parts[0].to_string(),
        n => {
            let mut path: Vec<&str> = Vec::new();
            for seg in &parts[..n - 1] {
                match path.last() {
                    Some(last)
                        if seg.len() > last.len()
                            && seg.starts_with(last)
                            && seg[last.len()..].starts_with('.') =>
                    {
                        path.pop();
                        path.push(seg);
                    }
                    _ => path.push(seg),
                }
            }
            path.join(".")
        }
    };
    clean_scope(&raw)
}

/// Keeps `[A-Za-z0-9_.]`, maps other characters to `_`, and drops empty
/// dot-separated parts.
pub fn clean_scope(s: &str) -> Option<String> {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let parts: Vec<&str> = mapped.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("."))
    }
}

/// Unique identifiers for `let` bindings.
#[derive(Default)]
pub struct Idents {
    used: HashSet<String>,
}

impl Idents {
    pub fn fresh(&mut self, hint: &str) -> String {
        let mut base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        while base.contains("__") {
            base = base.replace("__", "_");
        }
        let base = base.trim_matches('_').to_string();
        let mut base = if base.is_empty() {
            "t".to_string()
        } else {
            base
        };
        if base.as_bytes()[0].is_ascii_digit() {
            base = format!("t{base}");
        }
        if RESERVED.contains(&base.as_str()) {
            base.push('_');
        }
        let mut cand = base.clone();
        let mut k = 2;
        while !self.used.insert(cand.clone()) {
            cand = format!("{base}_{k}");
            k += 1;
        }
        cand
    }
}

/// Unique weight names (scopes of ops with weights).
#[derive(Default)]
pub struct WeightNames {
    used: HashSet<String>,
}

impl WeightNames {
    pub fn take(&mut self, want: &str) -> String {
        let mut cand = want.to_string();
        let mut k = 2;
        while !self.used.insert(cand.clone()) {
            cand = format!("{want}_{k}");
            k += 1;
        }
        cand
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torch_node_names_give_module_paths() {
        assert_eq!(
            scope_of_node("/layer1/layer1.0/conv1/Conv").as_deref(),
            Some("layer1.0.conv1")
        );
        assert_eq!(scope_of_node("/conv1/Conv").as_deref(), Some("conv1"));
        assert_eq!(
            scope_of_node("/features/features.1/conv/conv.0/conv.0.0/Conv").as_deref(),
            Some("features.1.conv.0.0")
        );
        assert_eq!(scope_of_node("Conv_0").as_deref(), Some("Conv_0"));
        assert_eq!(scope_of_node("").as_deref(), None);
    }

    #[test]
    fn idents_are_unique_and_not_reserved() {
        let mut i = Idents::default();
        assert_eq!(i.fresh("layer1.0.conv1"), "layer1_0_conv1");
        assert_eq!(i.fresh("layer1.0.conv1"), "layer1_0_conv1_2");
        assert_eq!(i.fresh("relu"), "relu_");
        assert_eq!(i.fresh("0abc"), "t0abc");
        assert_eq!(i.fresh("///"), "t");
    }
}
