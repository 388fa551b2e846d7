//! nnc-report: the human outputs of `nnc analyze` on top of `nnc-analysis`:
//! the table ([`render_table`], [`write_table`], comfy-table) and the
//! roofline plot ([`roofline`], plotters). Only the `nnc` command depends on
//! this crate, so the lints and the fuzz targets do not build the table and
//! plotting libraries.

pub mod roofline;
pub mod table;

pub use roofline::{plot_roofline, PlotError};
pub use table::{render_table, write_table, SortKey, UnknownSortKey};
