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
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read, or a flag does not fit it (exit 2).
    Unreadable(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for LoadError {}

/// How `.onnx` files are imported (`--input-shape`), set once from the
/// command line before any file is compiled.
static IMPORT_OPTIONS: std::sync::OnceLock<nnc_onnx::Options> = std::sync::OnceLock::new();

pub fn set_import_options(o: nnc_onnx::Options) {
    let _ = IMPORT_OPTIONS.set(o);
}

pub fn import_options() -> &'static nnc_onnx::Options {
    IMPORT_OPTIONS.get_or_init(nnc_onnx::Options::default)
}

/// Import errors that are usage errors (exit 2): an unreadable file, an
/// `--input-shape` that does not fit the model.
pub fn is_usage_import_error(e: &nnc_onnx::Error) -> bool {
    e.code == nnc_diag::codes::build::READ_FAILED
        || e.code == nnc_diag::codes::onnx::INPUT_SHAPE_FLAG
}

/// True for files imported from ONNX (`.onnx`, any case).
pub fn is_onnx(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Reads and compiles a file up to the graph. An `.onnx` file is imported
/// in memory first (see `nnc import`).
pub fn compile(path: &Path, network: Option<&str>) -> Result<Compiled, LoadError> {
    if is_onnx(path) {
        return compile_onnx(path, network).map(|(c, _)| c);
    }
    if !import_options().input_shapes.is_empty() {
        return Err(LoadError::Unreadable(format!(
            "--input-shape applies to .onnx models; `{}` is .nn source, whose inputs declare their shapes",
            path.display()
        )));
    }
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

/// Imports an ONNX model and compiles the generated source; the weights of
/// its initializers come back by the names the source uses. An import error
/// is one coded diagnostic (no source span: it names the ONNX node).
pub fn compile_onnx(
    path: &Path,
    network: Option<&str>,
) -> Result<(Compiled, Option<nnc_interp::weights::WeightStore>), LoadError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError::Unreadable(format!("cannot read `{}`: {e}", path.display())))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let name = path.display().to_string();
    match nnc_onnx::import_bytes_with(&bytes, path.parent(), stem, import_options()) {
        Ok(imp) => Ok((
            compile_bytes(&name, imp.text.as_bytes(), network),
            Some(imp.weights),
        )),
        Err(e) if is_usage_import_error(&e) => Err(LoadError::Unreadable(e.message)),
        Err(e) => Ok((
            Compiled {
                file: SourceFile::new(name, String::new()),
                ast: ast::File::default(),
                graph: None,
                diagnostics: vec![Diagnostic::error(e.code, e.message)],
            },
            None,
        )),
    }
}
