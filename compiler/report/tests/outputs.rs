//! The table and the roofline chart of `nnc analyze` on the reference
//! networks built by hand.

use nnc_analysis::testing::{self, Layers};
use nnc_analysis::{analyze, platform};
use nnc_ir::GraphBuilder;

#[test]
fn table_names_conventions() {
    let g = testing::resnet18();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    let t = nnc_report::render_table(&a, &g, nnc_report::SortKey::Time, false);
    assert!(t.contains("mult-adds (MACs, torchvision convention)"));
    assert!(t.contains("FLOPs (2×mult-adds + other ops)"));
    assert!(t.contains("1.81 G (1,814,073,344)"));
    assert!(t.contains("11.7 M (11,689,512)"));
    assert!(t.contains("memory access cost"));
    assert!(!t.contains('\u{1b}'), "no ANSI escapes without color");
    let c = nnc_report::render_table(&a, &g, nnc_report::SortKey::Order, true);
    assert!(c.contains('\u{1b}'));
    // Sorted by time: the first data row is the slowest node.
    let slowest = a
        .nodes
        .iter()
        .max_by(|x, y| x.predicted_ms.total_cmp(&y.predicted_ms))
        .unwrap();
    let name = &g.node(slowest.id).name;
    let first_row = t.lines().nth(3).unwrap();
    assert!(first_row.contains(name.as_str()), "{first_row}");
}

#[test]
fn roofline_svg_is_written() {
    let g = testing::mobilenet_v2();
    let a = analyze(&g, &platform::builtin("zen3-2c").unwrap()).unwrap();
    let svg = nnc_report::roofline::roofline_svg(&a, &g).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("ridge"));
    assert!(svg.contains("<circle"));
    let dir = std::env::temp_dir().join(format!("nnc-roof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("r.svg");
    nnc_report::plot_roofline(&a, &g, &p).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() > 1000);
    assert!(nnc_report::plot_roofline(&a, &g, &dir.join("no/such/dir/r.svg")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_and_flat_graphs() {
    let plat = platform::builtin("zen3-2c").unwrap();
    let g = nnc_ir::Graph::new("empty");
    let a = analyze(&g, &plat).unwrap();
    let _ = nnc_report::render_table(&a, &g, Default::default(), false);
    assert!(nnc_report::roofline::roofline_svg(&a, &g)
        .unwrap()
        .contains("0 ops without"));
    // Only data movement: nothing to plot on the roof, still a chart.
    let mut b = GraphBuilder::new("moves");
    let x = b.input("x", &[1, 4, 2, 2]);
    let f = b.flatten(x);
    b.output("y", f);
    let g = b.finish();
    let a = analyze(&g, &plat).unwrap();
    assert!(nnc_report::roofline::roofline_svg(&a, &g)
        .unwrap()
        .contains("1 op without"));
    // A platform without a roof is an error, not a panic.
    let mut a = a;
    a.platform.bandwidth_gbs = 0.0;
    assert!(nnc_report::roofline::roofline_svg(&a, &g).is_err());
}

#[test]
fn every_reference_network_on_every_platform() {
    for g in [
        testing::resnet18(),
        testing::mobilenet_v2(),
        testing::resnet50(),
    ] {
        for p in platform::builtins() {
            let a = analyze(&g, &p).unwrap();
            let t = nnc_report::render_table(&a, &g, nnc_report::SortKey::Time, false);
            assert!(t.contains("mult-adds"));
            nnc_report::roofline::roofline_svg(&a, &g).unwrap();
        }
    }
}
