//! The binary embeds `target/site` (the bundle, `public/` and their precompressed bytes, which
//! scripts/build-release.sh writes before it builds the server). Watching the site makes a
//! rebuilt site re-embed, and an unchanged one (the script copies only changed bytes) cost nothing.
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
