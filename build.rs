//! Checks that the prebuilt RocksDB library scripts/setup.sh prepares is in place, so a build
//! without it stops with what to do instead of a linker error about `-lrocksdb`; and compiles the
//! C++ shim that builds the shared block cache with Flink's high-priority pool ratio (RocksDB's C
//! API has no setter for it) against the headers of the RocksDB librocksdb-sys bundles.

use std::path::{Path, PathBuf};

/// The librocksdb-sys release whose RocksDB (11.8.1) the prebuilt library and the shim's headers
/// come from; rocksdb =0.25.0 depends on it.
const LIBROCKSDB_SYS: &str = "librocksdb-sys-0.19.0+11.8.1";
const SHIM: &str = "src/backend/rocksdb/native/shared_memory.cc";

fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    println!("cargo:rerun-if-changed={SHIM}");
    if let Some(dir) = std::env::var_os("ROCKSDB_LIB_DIR") {
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
    let Some(include) = rocksdb_include_dir() else {
        eprintln!(
            "error: the RocksDB headers of {LIBROCKSDB_SYS} were not found under \
             $CARGO_HOME/registry/src/*/{LIBROCKSDB_SYS}/rocksdb/include; run `cargo fetch` first."
        );
        std::process::exit(1);
    };
    cc::Build::new()
        .cpp(true)
        .file(SHIM)
        .include(&include)
        .flag("-std=c++20")
        .define("NDEBUG", Some("1"))
        .define("OS_LINUX", None)
        .define("ROCKSDB_PLATFORM_POSIX", None)
        .define("ROCKSDB_LIB_IO_POSIX", None)
        .warnings(true)
        .compile("statebench_rocksdb_shim");
}

/// `rocksdb/include` of the librocksdb-sys source cargo unpacked into its registry.
fn rocksdb_include_dir() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let sources = std::fs::read_dir(cargo_home.join("registry").join("src")).ok()?;
    sources
        .flatten()
        .map(|index| {
            index
                .path()
                .join(LIBROCKSDB_SYS)
                .join("rocksdb")
                .join("include")
        })
        .find(|include| include.join("rocksdb").join("cache.h").exists())
}
