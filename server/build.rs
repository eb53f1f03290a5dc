//! The binary embeds `target/site` (the wasm, js, css and `public/` files cargo-leptos writes).
//! cargo-leptos builds the server while it is still writing the site, so the release build runs
//! twice (scripts/build-release.sh): the second run sees the finished site and re-embeds it.
//!
//! Every file is watched, not only the folder: a folder's change time moves when entries are
//! added or removed, not when a file is rewritten in place.

use std::path::Path;

fn watch(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            watch(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

fn main() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    // A plain `cargo build`/`cargo test` before any site exists still compiles (with no assets).
    let _ = std::fs::create_dir_all(&site);
    watch(&site);
}
