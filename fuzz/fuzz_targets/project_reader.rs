//! Fuzzes the project reader (`.atelier` / OpenRaster zip: mimetype,
//! stack.xml, layer PNGs, manifest, history images): any input must give a
//! project or an error, never a panic, an abort or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz-input.atelier");
    let _ = atelier::project::ora::read(std::io::Cursor::new(data), path);
});
