// The migrations are embedded in the binary (src/db/mod.rs); rebuild when one is added or edited.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
