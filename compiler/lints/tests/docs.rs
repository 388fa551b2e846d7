//! `docs/lints.md` is generated from the registry: this test fails when it is
//! out of date, and `NNC_BLESS=1 cargo test -p nnc-lints --test docs` rewrites it.

use std::fmt::Write as _;
use std::path::Path;

fn render() -> String {
    let mut s = String::new();
    s.push_str("# Lints\n\n");
    s.push_str("<!-- generated from compiler/lints/src/rules by `NNC_BLESS=1 cargo test -p nnc-lints --test docs`; do not edit -->\n\n");
    s.push_str("`nnc check` runs these lints on the elaborated network. Levels: `allow`, `warn`, `deny`.\n");
    s.push_str("Set them on the command line (`-A NAME`, `-W NAME`, `-D NAME`, also for a group; `-D warnings` makes every warning an error)\n");
    s.push_str("or in the source with an attribute before a statement, a block or a network:\n\n");
    s.push_str(
        "```\n#[allow(unbalanced_channels)]\nx = conv2d(x, out = 312, kernel = 1);\n```\n\n",
    );
    s.push_str("An attribute on a block call also covers the ops inside that block instance. The innermost attribute wins.\n");
    s.push_str("`nnc explain NAME` prints a lint's documentation.\n\n");
    s.push_str("| lint | code | default | groups | summary |\n|---|---|---|---|---|\n");
    for l in nnc_lints::registry() {
        let m = l.meta();
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} | {:?} | {} | {} |",
            m.name,
            m.name,
            m.code,
            m.default,
            m.groups.join(", "),
            m.summary
        );
    }
    s.push_str("\nGroups: ");
    let groups: Vec<String> = nnc_lints::groups()
        .into_iter()
        .map(|(g, members)| format!("`{g}` ({})", members.join(", ")))
        .collect();
    s.push_str(&groups.join("; "));
    s.push_str(".\n");
    for l in nnc_lints::registry() {
        let m = l.meta();
        let _ = write!(
            s,
            "\n## {}\n\n{} · default `{:?}` · groups: {}\n\n{}\n",
            m.name,
            m.code,
            m.default,
            m.groups.join(", "),
            m.docs
        );
    }
    s
}

#[test]
fn lints_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lints.md");
    let want = render();
    assert!(
        nnc_diag::bless::compare(&path, &want).is_none(),
        "docs/lints.md is out of date: run NNC_BLESS=1 cargo test -p nnc-lints --test docs"
    );
}
