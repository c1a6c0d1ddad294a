//! Checks that the prebuilt RocksDB library scripts/setup.sh prepares is in place, so a build
//! without it stops with what to do instead of a linker error about `-lrocksdb`.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    let Some(dir) = std::env::var_os("ROCKSDB_LIB_DIR") else {
        return;
    };
    let library = Path::new(&dir).join("librocksdb.a");
    println!("cargo:rerun-if-changed={}", library.display());
    if !library.exists() {
        eprintln!(
            "error: the RocksDB library is not prepared ({} is missing).\n\
             Run ./scripts/setup.sh once: it installs libclang if needed and compiles RocksDB \
             once for this machine (15-30 minutes on 2 cores), then cargo builds in about a minute.",
            library.display()
        );
        std::process::exit(1);
    }
}
