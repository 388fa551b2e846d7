//! The runtime of the executables `nnc build` makes (see `runtime/ABI.md`).
//!
//! Standard library only (and the std-only `nnc-npy`): `nnc`'s build script
//! compiles this file with a plain
//! `rustc --crate-type staticlib --cfg nnc_runtime_exe` call, and the
//! resulting archive is linked with the object file generated for a network.
//! With `nnc_runtime_exe` set, the crate also defines the C `main` and
//! refers to the generated `nnc_model_meta` and `nnc_model_forward`; without
//! it (the Cargo build, used by the tests) the program is available as
//! [`cli::run`], parameterised by the model.
//!
//! ABI functions defined here: [`pool::nnc_parallel_for`],
//! [`profile::nnc_node_begin`], [`profile::nnc_node_end`].

pub mod args;
pub mod buf;
pub mod cli;
pub mod files;
pub mod meta;
pub mod pool;
pub mod profile;
pub mod report;

/// `.npy` reading and writing: the `nnc-npy` crate, shared with `nnc run`.
pub use nnc_npy as npy;

#[cfg(nnc_runtime_exe)]
mod entry {
    use std::ffi::{c_char, c_int, CStr, OsString};

    extern "C" {
        /// The model description (NUL-terminated; ABI.md).
        static nnc_model_meta: [c_char; 0];
        /// One inference (ABI.md).
        fn nnc_model_forward(inputs: *const *const f32, outputs: *const *mut f32, arena: *mut u8);
    }

    fn os_arg(p: *const c_char) -> OsString {
        // SAFETY: argv entries are NUL-terminated strings (C standard).
        let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(bytes).to_os_string()
        }
        #[cfg(not(unix))]
        {
            OsString::from(String::from_utf8_lossy(bytes).into_owned())
        }
    }

    /// The C entry point of the executable.
    #[no_mangle]
    pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
        let mut args: Vec<OsString> = Vec::new();
        if !argv.is_null() {
            for i in 0..usize::try_from(argc).unwrap_or(0) {
                // SAFETY: argv has argc valid entries.
                let p = unsafe { *argv.add(i) };
                if p.is_null() {
                    break;
                }
                args.push(os_arg(p));
            }
        }
        // SAFETY: the generated object defines a NUL-terminated string.
        let meta = unsafe { CStr::from_ptr(nnc_model_meta.as_ptr()) };
        let meta = meta
            .to_str()
            .map_err(|_| "the model meta is not UTF-8".to_string());
        let program = move || {
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut err = stderr.lock();
            crate::cli::run(meta, nnc_model_forward, &args, &mut out, &mut err)
        };
        // Inferences run on a thread with the workers' stack size, so the
        // caller's share of every parallel region has the same room for
        // kernel scratch (ABI.md) whatever `ulimit -s` says.
        match std::thread::Builder::new()
            .name("nnc-main".into())
            .stack_size(crate::pool::TASK_STACK_BYTES)
            .spawn(program)
        {
            Ok(h) => h.join().unwrap_or(crate::cli::EXIT_INTERNAL),
            Err(_) => {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"error: cannot start the inference thread\n",
                );
                crate::cli::EXIT_FAILURE
            }
        }
    }
}
