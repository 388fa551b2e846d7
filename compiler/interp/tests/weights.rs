//! Loading and saving weights: the checks of `docs/weights.md` "Weights files".

use nnc_diag::{Diagnostic, Level};
use nnc_interp::weights::*;
use nnc_interp::Tensor;
use nnc_ir::GraphBuilder;
use nnc_ir::{Activation, Conv2d, Graph, Op};
use safetensors::tensor::{Dtype, TensorView};

fn conv(out: usize, k: usize, bias: bool) -> Op {
    Op::Conv2d(Conv2d {
        out_channels: out,
        kernel: [k, k],
        stride: [1, 1],
        pad: [k / 2, k / 2],
        dilation: [1, 1],
        groups: 1,
        bias,
    })
}

/// conv1 (no bias) -> bn1 -> relu -> gap -> flatten -> fc
fn small_net() -> Graph {
    let mut b = GraphBuilder::new("small");
    let x = b.input("x", &[1, 3, 5, 5]);
    let c = b.named(conv(4, 3, false), &[x], "conv1").unwrap();
    let n = b.named(Op::BatchNorm { eps: 1e-5 }, &[c], "bn1").unwrap();
    let r = b.op(Op::Act(Activation::Relu), &[n]).unwrap();
    let p = b.op(Op::GlobalAvgPool, &[r]).unwrap();
    let f = b.op(Op::Flatten, &[p]).unwrap();
    let l = b
        .named(
            Op::Linear {
                out_features: 2,
                bias: true,
            },
            &[f],
            "fc",
        )
        .unwrap();
    b.output("y", l);
    b.finish()
}

fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

fn serialize(entries: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)>) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = entries
        .iter()
        .map(|(k, d, s, b)| (k.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn f32_bytes(t: &Tensor) -> Vec<u8> {
    t.data().iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn expected_keys_follow_pytorch() {
    let g = small_net();
    let keys: Vec<(String, Vec<usize>)> = expected_weights(&g)
        .into_iter()
        .map(|e| (e.key, e.shape))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("conv1.weight".to_string(), vec![4, 3, 3, 3]),
            ("bn1.weight".to_string(), vec![4]),
            ("bn1.bias".to_string(), vec![4]),
            ("bn1.running_mean".to_string(), vec![4]),
            ("bn1.running_var".to_string(), vec![4]),
            ("fc.weight".to_string(), vec![2, 4]),
            ("fc.bias".to_string(), vec![2]),
        ]
    );
}

#[test]
fn deterministic_init_is_documented_and_stable() {
    let g = small_net();
    let a = init_deterministic(&g, 0);
    let b = init_deterministic(&g, 0);
    assert_eq!(a, b);
    assert_ne!(a, init_deterministic(&g, 1));
    assert_eq!(a.len(), 7);
    assert_eq!(a.get("bn1.running_var").unwrap().data(), &[1.0; 4]);
    assert_eq!(a.get("bn1.running_mean").unwrap().data(), &[0.0; 4]);
    assert_eq!(a.get("bn1.weight").unwrap().data(), &[1.0; 4]);
    assert_eq!(a.get("bn1.bias").unwrap().data(), &[0.0; 4]);
    // conv: fan_in 27, bound 1/sqrt(27)
    let bound = 1.0 / 27f32.sqrt();
    let w = a.get("conv1.weight").unwrap();
    assert!(w.data().iter().all(|v| v.abs() <= bound));
    assert!(
        w.max_abs() > bound * 0.5,
        "values should spread over the range"
    );
    // fc: fan_in 4, bound 0.5; bias likewise
    assert!(a
        .get("fc.bias")
        .unwrap()
        .data()
        .iter()
        .all(|v| v.abs() <= 0.5));
    // the first value is reproducible from the documented recipe
    let mut r = SplitMix64(fnv1a64("conv1.weight"));
    let first = (2.0 * ((r.next_u64() >> 40) as f32 / 16_777_216.0) - 1.0) * bound;
    assert_eq!(w.data()[0], first);
}

#[test]
fn save_then_load_roundtrips_without_diagnostics() {
    let g = small_net();
    let w = init_random(&g, 42);
    let bytes = save_safetensors(&w).unwrap();
    let (w2, d) = load_safetensors(&bytes, &g);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(w, w2);
}

#[test]
fn every_missing_key_and_shape_mismatch_is_reported() {
    let g = small_net();
    let w = init_deterministic(&g, 0);
    let mut entries = Vec::new();
    for (k, t) in w.iter() {
        match k {
            "bn1.running_var" | "fc.bias" => continue, // missing
            "conv1.weight" => {
                entries.push((k, Dtype::F32, vec![4, 3, 1, 9], f32_bytes(t)));
            }
            "fc.weight" => entries.push((k, Dtype::F32, vec![4, 2], f32_bytes(t))),
            _ => entries.push((k, Dtype::F32, t.shape().to_vec(), f32_bytes(t))),
        }
    }
    let (store, d) = load_safetensors(&serialize(entries), &g);
    let errs: Vec<&Diagnostic> = d.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errs.len(), 4, "{d:#?}");
    let msg = |code: &str, key: &str| {
        d.iter()
            .find(|d| d.code == code && d.message.contains(key))
            .unwrap_or_else(|| panic!("no {code} for {key}: {d:#?}"))
            .message
            .clone()
    };
    let m = msg("E0412", "conv1.weight");
    assert!(
        m.contains("[4, 3, 1, 9]") && m.contains("[4, 3, 3, 3]"),
        "{m}"
    );
    let m = msg("E0412", "fc.weight");
    assert!(m.contains("[4, 2]") && m.contains("[2, 4]"), "{m}");
    let m = msg("E0411", "bn1.running_var");
    assert!(m.contains("[4]"), "{m}");
    msg("E0411", "fc.bias");
    // errors point at the op
    assert!(errs.iter().all(|d| d.primary_span().is_some()));
    // valid keys are loaded, bad ones are not
    assert!(store.contains("bn1.weight"));
    assert!(!store.contains("conv1.weight"));
}

#[test]
fn unused_keys_warn_but_num_batches_tracked_is_silent() {
    let g = small_net();
    let w = init_deterministic(&g, 0);
    let mut entries: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = w
        .iter()
        .map(|(k, t)| (k, Dtype::F32, t.shape().to_vec(), f32_bytes(t)))
        .collect();
    entries.push(("bn1.num_batches_tracked", Dtype::I64, vec![], vec![0u8; 8]));
    let (_, d) = load_safetensors(&serialize(entries.clone()), &g);
    assert!(d.is_empty(), "{d:#?}");
    entries.push(("extra.weight", Dtype::F32, vec![1], vec![0u8; 4]));
    let (_, d) = load_safetensors(&serialize(entries), &g);
    assert_eq!(codes(&d), vec!["W0010"]);
    assert_eq!(d[0].level, Level::Warning);
    assert!(d[0].notes.iter().any(|n| n.contains("extra.weight")));
}

#[test]
fn misspelled_key_gets_a_suggestion() {
    let g = small_net();
    let w = init_deterministic(&g, 0);
    let entries: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = w
        .iter()
        .map(|(k, t)| {
            let k = if k == "fc.weight" { "fc.weigth" } else { k };
            (k, Dtype::F32, t.shape().to_vec(), f32_bytes(t))
        })
        .collect();
    let (_, d) = load_safetensors(&serialize(entries), &g);
    let missing = d.iter().find(|d| d.code == "E0411").unwrap();
    assert!(missing.help.as_deref().unwrap_or("").contains("fc.weigth"));
    assert!(d.iter().any(|d| d.code == "W0010"));
}

#[test]
fn half_and_double_are_converted_with_a_note() {
    let g = small_net();
    let w = init_deterministic(&g, 3);
    let mut entries = Vec::new();
    for (k, t) in w.iter() {
        let (dt, bytes): (Dtype, Vec<u8>) = match k {
            "conv1.weight" => (
                Dtype::F16,
                t.data()
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
            "fc.weight" => (
                Dtype::BF16,
                t.data()
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
            "fc.bias" => (
                Dtype::F64,
                t.data()
                    .iter()
                    .flat_map(|v| (*v as f64).to_le_bytes())
                    .collect(),
            ),
            _ => (Dtype::F32, f32_bytes(t)),
        };
        entries.push((k, dt, t.shape().to_vec(), bytes));
    }
    let (store, d) = load_safetensors(&serialize(entries), &g);
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(d
        .iter()
        .all(|d| d.level == Level::Note && d.code == "W0011"));
    assert!(d.iter().any(|d| d.message.contains("F16")));
    assert_eq!(store.get("fc.bias"), w.get("fc.bias"));
    let c = store.get("conv1.weight").unwrap();
    let diff = c.rel_max_diff(w.get("conv1.weight").unwrap()).unwrap();
    assert!(diff > 0.0 && diff < 1e-3, "{diff}");
}

#[test]
fn integer_dtype_is_an_error() {
    let g = small_net();
    let w = init_deterministic(&g, 0);
    let entries: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = w
        .iter()
        .map(|(k, t)| {
            if k == "fc.bias" {
                (k, Dtype::I32, vec![2], vec![0u8; 8])
            } else {
                (k, Dtype::F32, t.shape().to_vec(), f32_bytes(t))
            }
        })
        .collect();
    let (_, d) = load_safetensors(&serialize(entries), &g);
    assert_eq!(codes(&d), vec!["E0413"]);
    assert!(d[0].message.contains("I32") && d[0].message.contains("fc.bias"));
}

#[test]
fn truncated_and_corrupt_files_are_errors_not_panics() {
    let g = small_net();
    let bytes = save_safetensors(&init_deterministic(&g, 0)).unwrap();
    for cut in 0..bytes.len() {
        let (w, d) = load_safetensors(&bytes[..cut], &g);
        assert!(d.iter().any(|d| d.is_error()), "cut at {cut} accepted");
        assert!(w.is_empty() || d.iter().any(|d| d.code == "E0411"));
    }
    let (_, d) = load_safetensors(&bytes[..5], &g);
    assert_eq!(codes(&d), vec!["E0410"]);
    // random byte flips: anything may happen except a panic
    let mut r = SplitMix64(99);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..(r.next_u64() % 3 + 1) {
            let i = (r.next_u64() as usize) % b.len();
            b[i] = r.next_u64() as u8;
        }
        let _ = load_safetensors(&b, &g);
    }
    // pure noise and absurd headers
    for n in [0usize, 1, 8, 9, 100, 1000] {
        let noise: Vec<u8> = (0..n).map(|_| r.next_u64() as u8).collect();
        let (_, d) = load_safetensors(&noise, &g);
        assert!(d.iter().any(|d| d.code == "E0410"));
    }
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    let (_, d) = load_safetensors(&huge, &g);
    assert_eq!(codes(&d), vec!["E0410"]);
    // a header claiming absurd shapes
    let hdr =
        br#"{"conv1.weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#;
    let mut b = (hdr.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(hdr);
    let (_, d) = load_safetensors(&b, &g);
    assert!(d.iter().any(|d| d.is_error()));
}

#[test]
fn unreadable_file_is_e0400() {
    let g = small_net();
    let (_, d) = load_safetensors_file(std::path::Path::new("/nonexistent/w.safetensors"), &g);
    assert_eq!(codes(&d), vec!["E0400"]);
}

/// A safetensors file from a raw JSON header and `data` bytes.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

#[test]
fn duplicated_key_is_named_not_blamed_on_another_tensor() {
    let g = small_net();
    // `fc.bias` twice: the parser keeps the last entry, which leaves a gap
    // at [0, 8) that used to be reported as an invalid offset of `fc.weight`.
    let h = r#"{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"fc.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[8,40]},"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[40,48]}}"#;
    let (w, d) = load_safetensors(&raw_file(h, &[0u8; 48]), &g);
    assert!(w.is_empty());
    assert_eq!(codes(&d), vec!["E0410"]);
    assert!(
        d[0].message.contains("`fc.bias` appears twice"),
        "{}",
        d[0].message
    );
    assert!(!d[0].message.contains("fc.weight"), "{}", d[0].message);
}

#[test]
fn overlapping_offsets_and_gaps_are_corrupt() {
    let g = small_net();
    for h in [
        // both tensors on the same bytes
        r#"{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"fc.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
        // partly overlapping
        r#"{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"fc.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[4,36]}}"#,
        // a gap between them
        r#"{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"fc.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[12,44]}}"#,
        // offsets backwards
        r#"{"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
    ] {
        let (w, d) = load_safetensors(&raw_file(h, &[0u8; 44]), &g);
        assert!(w.is_empty(), "{h}");
        assert_eq!(codes(&d), vec!["E0410"], "{h}");
    }
}

#[test]
fn absurd_declared_sizes_do_not_allocate() {
    let g = small_net();
    // 2^40 elements declared (4 TiB), a few bytes present: rejected from
    // the header, nothing allocated (allocating would abort the test).
    for shape in [
        "[1048576,1048576]",
        "[1099511627776]",
        "[18446744073709551615,2]",
    ] {
        let h = format!(
            r#"{{"conv1.weight":{{"dtype":"F32","shape":{shape},"data_offsets":[0,16]}}}}"#
        );
        let (w, d) = load_safetensors(&raw_file(&h, &[0u8; 16]), &g);
        assert!(w.is_empty());
        assert_eq!(codes(&d), vec!["E0410"], "{shape}");
    }
    // wrong dtypes of the right byte length are dtype errors, not garbage
    let h = r#"{"fc.bias":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#;
    let (_, d) = load_safetensors(&raw_file(h, &[0u8; 16]), &g);
    assert!(codes(&d).contains(&"E0413"), "{:?}", codes(&d));
}

#[test]
fn weights_past_the_element_limit_are_an_error_not_an_allocation() {
    // linear 2^20 -> 2^20: a 2^40-element weight (4 TiB)
    let src = "network huge { input x: [1, 1048576]; output y = linear(x, out = 1048576, name = \"fc\"); }";
    let (file, diags) = nnc_syntax::parse(src);
    assert!(diags.is_empty(), "{diags:?}");
    // the front end refuses such weights (E0182); raise its limits so that
    // the reader's own check, the last line of defence, is what is tested
    let limits = nnc_elab::Limits {
        tensor_elements: 1 << 41,
        weight_elements: 1 << 41,
        ..nnc_elab::Limits::default()
    };
    let g = nnc_elab::elaborate_with(&file, None, &limits)
        .graph
        .expect("elaborates");
    let e = try_init_deterministic(&g, 0).unwrap_err().to_string();
    assert!(e.contains("fc.weight") && e.contains("limit"), "{e}");
    // the lenient version leaves the key out instead of aborting
    let w = init_deterministic(&g, 0);
    assert!(!w.contains("fc.weight"));
}
