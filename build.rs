//! Migrations are embedded (`db::connect`): a migration added to the folders must rebuild
//! the binary, which `include_str!` of the known files alone would not notice.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
