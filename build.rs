//! Gives every binary (the app, tests, benches) an rpath to the libtorch that
//! torch-sys linked, so that nobody has to set `LD_LIBRARY_PATH`; with
//! `ATELIER_CUDA=1`, also keeps that libtorch's CUDA backend linked.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=ATELIER_CUDA");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if std::env::var("ATELIER_CUDA").as_deref() != Ok("1") {
        return;
    }
    // Nothing in our code names a symbol of libtorch_cuda: its static
    // initialisers register the CUDA backend, so the linker's default
    // --as-needed drops it and `--device cuda` finds no GPU. It is opt-in
    // because loading it costs every start about 0.2 s and 400 MB of memory
    // (BENCHMARKS.md, "CUDA").
    if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    } else {
        println!("cargo:warning=ATELIER_CUDA=1, but {lib} has no libtorch_cuda.so: CPU only");
    }
}
