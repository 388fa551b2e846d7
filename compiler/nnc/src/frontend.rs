//! The front half of the pipeline shared by every command: read the file,
//! decode it, parse, elaborate to a verified graph.

use nnc_diag::{Diagnostic, SourceFile};
use nnc_ir::Graph;
use nnc_syntax::ast;
use std::path::Path;

/// Everything the front end produced for one file.
pub struct Compiled {
    pub file: SourceFile,
    pub ast: ast::File,
    /// The elaborated graph, when there were no errors.
    pub graph: Option<Graph>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// Why the front end could not even start.
pub enum LoadError {
    /// The file could not be read (exit 2).
    Unreadable(String),
}

/// Reads and compiles a file up to the graph.
pub fn compile(path: &Path, network: Option<&str>) -> Result<Compiled, LoadError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError::Unreadable(format!("cannot read `{}`: {e}", path.display())))?;
    let name = path.display().to_string();
    Ok(compile_bytes(&name, &bytes, network))
}

/// Compiles source bytes (the file name is used in diagnostics).
pub fn compile_bytes(name: &str, bytes: &[u8], network: Option<&str>) -> Compiled {
    let text = match nnc_syntax::decode(bytes) {
        Ok(t) => t.to_string(),
        Err(d) => {
            // Show the valid prefix so the span can be rendered.
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            return Compiled {
                file: SourceFile::new(name, lossy),
                ast: ast::File::default(),
                graph: None,
                diagnostics: vec![d],
            };
        }
    };
    let file = SourceFile::new(name, text);
    let (ast, mut diagnostics) = nnc_syntax::parse(&file.text);
    let mut graph = None;
    if !diagnostics.iter().any(|d| d.is_error()) {
        let el = nnc_elab::elaborate(&ast, network);
        diagnostics.extend(el.diagnostics.iter().cloned());
        if !el.diagnostics.iter().any(|d| d.is_error()) {
            graph = el.graph;
        }
    }
    Compiled {
        file,
        ast,
        graph,
        diagnostics,
    }
}
