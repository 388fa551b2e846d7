//! Removing temporary files when `nnc` is interrupted (SIGINT, SIGTERM,
//! SIGHUP).
//!
//! The handler comes from the `ctrlc` crate with its `termination` feature:
//! it catches the three signals on a thread of its own, so the cleanup may
//! take locks and call the file system, which a raw signal handler may not.
//! `build` registers its temporary directory (the weight blob, objects and
//! the linked executable, often hundreds of MB) here; temporary files beside
//! the outputs live only for the instant of a write and are registered too.

use std::path::PathBuf;
use std::sync::Mutex;

static PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Installs the handler: on a signal, removes every registered path and
/// exits with 128 + the signal number's conventional status (130).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        remove_all();
        eprintln!("error: interrupted; temporary files removed");
        std::process::exit(130);
    });
}

fn remove_all() {
    let paths = match PATHS.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for p in paths {
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Registers `p` for removal on a signal until the guard is dropped.
pub fn register(p: PathBuf) -> Guard {
    if let Ok(mut g) = PATHS.lock() {
        g.push(p.clone());
    }
    Guard(p)
}

pub struct Guard(PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut g) = PATHS.lock() {
            g.retain(|q| *q != self.0);
        }
    }
}
