//! Bad input of every supported type: truncated, bit-flipped and oversized
//! files are refused with an error (a non-zero exit and a message from the
//! CLI), never a panic or an abort. Bit-flipped files may still decode when the
//! flip lands in pixel data; what matters is that nothing crashes.
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier::document::{CanvasRect, Document};

const TYPES: [&str; 8] = ["png", "jpg", "webp", "tif", "bmp", "gif", "ora", "atelier"];

/// A small valid file of each type.
fn valid_files(dir: &Path) -> Vec<PathBuf> {
    let mut doc = Document::new(48, 32, [250, 250, 250, 255]).expect("size");
    let px: Vec<u8> = (0..24 * 16)
        .flat_map(|i| [(i * 7) as u8, (i * 3) as u8, 200, 255])
        .collect();
    doc.add_layer_with_pixels("paint", CanvasRect::new(10, 8, 24, 16), &px);
    TYPES
        .iter()
        .map(|ext| {
            let path = dir.join(format!("valid.{ext}"));
            match *ext {
                "atelier" => atelier::project::save(&doc, &Default::default(), &path),
                "bmp" | "gif" => {
                    let img = atelier::render::cpu::flatten(&doc);
                    img.save(&path)
                        .map_err(|e| atelier::project::ProjectError::Malformed {
                            path: path.clone(),
                            what: e.to_string(),
                        })
                }
                _ => atelier::project::export(&doc, &path, 90),
            }
            .expect("write a valid file");
            path
        })
        .collect()
}

fn atelier_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(args)
        .output()
        .expect("run atelier")
}

/// Failed with a message naming `file`, without panicking or aborting.
fn assert_clean_failure(out: &std::process::Output, what: &str, file: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what} was accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // 101 is Rust's panic exit code; a signal (abort, OOM kill) has no code.
    assert!(
        out.status.code().is_some_and(|c| c != 101),
        "{what}: crashed ({:?}): {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        stderr.contains(name),
        "{what}: the message does not name the file: {stderr}"
    );
}

/// Opens a file the way the app and the CLI do (project or image).
fn open(path: &Path) -> Result<(), String> {
    atelier::project::open_as_document(path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn truncated_files_of_every_type_are_refused_by_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    for valid in valid_files(dir.path()) {
        let bytes = std::fs::read(&valid).expect("read");
        assert!(open(&valid).is_ok(), "{} should open", valid.display());
        let ext = valid.extension().and_then(|e| e.to_str()).expect("ext");
        for frac in [0.0, 0.3, 0.6, 0.9] {
            let cut = ((bytes.len() as f64 * frac) as usize).min(bytes.len() - 1);
            let path = dir.path().join(format!("cut-{cut}.{ext}"));
            std::fs::write(&path, &bytes[..cut]).expect("write");
            let what = format!("{ext} cut at {cut} of {} bytes", bytes.len());
            assert!(open(&path).is_err(), "{what} was opened");
            let p = path.to_str().expect("utf-8");
            let project = dir.path().join(format!("into-{cut}-{ext}.atelier"));
            let out = if matches!(ext, "ora" | "atelier") {
                atelier_cli(&["info", p])
            } else {
                atelier_cli(&["import", p, "--into", project.to_str().expect("utf-8")])
            };
            assert_clean_failure(&out, &what, &path);
            assert!(!project.exists(), "{what}: a project was written anyway");
        }
    }
}

#[test]
fn bit_flipped_files_of_every_type_never_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for valid in valid_files(dir.path()) {
        let bytes = std::fs::read(&valid).expect("read");
        let ext = valid.extension().and_then(|e| e.to_str()).expect("ext");
        let mut refused = 0;
        for round in 0..60 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + round % 4 {
                let i = (next() % damaged.len() as u64) as usize;
                damaged[i] ^= 1 << (next() % 8);
            }
            let path = dir.path().join(format!("flip-{round}.{ext}"));
            std::fs::write(&path, &damaged).expect("write");
            // Must return (Ok or a clean error); a panic fails this test.
            if open(&path).is_err() {
                refused += 1;
            }
        }
        eprintln!("{ext}: {refused} of 60 bit-flipped files refused, the rest decoded");
    }
}

#[test]
fn oversized_headers_of_every_image_type_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Headers claiming 100000×100000 pixels.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(100_000u32.to_be_bytes());
    png.extend(100_000u32.to_be_bytes());
    png.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut bmp = b"BM".to_vec();
    bmp.extend([0u8; 8]);
    bmp.extend(54u32.to_le_bytes());
    bmp.extend(40u32.to_le_bytes());
    bmp.extend(100_000i32.to_le_bytes());
    bmp.extend(100_000i32.to_le_bytes());
    bmp.extend(1u16.to_le_bytes());
    bmp.extend(32u16.to_le_bytes());
    bmp.extend([0u8; 24]);
    let mut gif = b"GIF89a".to_vec();
    gif.extend(65_000u16.to_le_bytes());
    gif.extend(65_000u16.to_le_bytes());
    gif.extend([0, 0, 0, 0x2c, 0, 0, 0, 0]);
    gif.extend(65_000u16.to_le_bytes());
    gif.extend(65_000u16.to_le_bytes());
    gif.extend([0, 8, 0x3b]);
    // An OpenRaster stack claiming a 100000² canvas.
    let ora = dir.path().join("huge.ora");
    {
        let f = std::fs::File::create(&ora).expect("create");
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("mimetype", opts).expect("zip");
        std::io::Write::write_all(&mut z, b"image/openraster").expect("zip");
        z.start_file("stack.xml", opts).expect("zip");
        std::io::Write::write_all(
            &mut z,
            b"<image w=\"100000\" h=\"100000\"><stack></stack></image>",
        )
        .expect("zip");
        z.finish().expect("zip");
    }
    for (name, bytes) in [("huge.png", png), ("huge.bmp", bmp), ("huge.gif", gif)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        assert!(open(&path).is_err(), "{name} was opened");
        let project = dir.path().join("x.atelier");
        let out = atelier_cli(&[
            "import",
            path.to_str().expect("utf-8"),
            "--into",
            project.to_str().expect("utf-8"),
        ]);
        assert_clean_failure(&out, name, &path);
    }
    assert!(open(&ora).is_err());
    assert_clean_failure(
        &atelier_cli(&["info", ora.to_str().expect("utf-8")]),
        "huge.ora",
        &ora,
    );
}
