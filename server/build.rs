//! The binary embeds `target/site` (the wasm, js, css and `public/` files cargo-leptos writes).
//! cargo-leptos builds the server while it is still writing the site, so the release build runs
//! twice (scripts/build-release.sh): the second run sees the finished site and re-embeds it.

fn main() {
    let site = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    // A plain `cargo build`/`cargo test` before any site exists still compiles (with no assets).
    let _ = std::fs::create_dir_all(&site);
    println!("cargo:rerun-if-changed=../target/site");
    println!("cargo:rerun-if-changed=../target/site/pkg");
}
