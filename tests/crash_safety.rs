//! Saves are atomic: killing the process (SIGKILL) at random moments while it
//! rewrites a project never leaves a damaged file; what is on disk is always
//! the previous or the next complete project.
use std::process::Command;
use std::time::Duration;

#[test]
fn sigkill_during_repeated_saves_never_damages_the_project() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("p.atelier");
    let p = project.to_str().expect("utf-8");
    let bin = env!("CARGO_BIN_EXE_atelier");
    // Big enough that writing it takes a noticeable time.
    let ok = Command::new(bin)
        .args(["new", p, "--size", "1500x1500"])
        .status()
        .expect("runs");
    assert!(ok.success());
    let strokes = dir.path().join("s.json");
    std::fs::write(
        &strokes,
        r##"{"strokes":[{"color":"#884422","brush":{"radius":40,"smoothing":0,"jitter":0.5},
            "samples":[{"x":10,"y":10},{"x":1490,"y":1490},{"x":10,"y":1490},{"x":1490,"y":10}]}]}"##,
    )
    .expect("write strokes");
    let mut killed_mid_run = 0;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..16 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let before = std::fs::read(&project).expect("project exists");
        let mut child = Command::new(bin)
            .args(["paint", p, "--strokes", strokes.to_str().expect("utf-8")])
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(150 + seed % 900));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            killed_mid_run += 1;
        }
        let _ = child.wait();
        let doc = atelier::project::load(&project)
            .map(|p| p.doc)
            .unwrap_or_else(|e| panic!("round {round}: the project is damaged: {e}"));
        assert_eq!((doc.width(), doc.height()), (1500, 1500));
        // Either the old file or a complete new one: never something in between.
        let after = std::fs::read(&project).expect("project still exists");
        assert!(
            after == before || after.len() >= before.len() / 2,
            "round {round}: a partial file"
        );
    }
    eprintln!("{killed_mid_run} of 16 runs were killed before they finished");
    assert!(
        killed_mid_run > 0,
        "no run was killed before it finished: make the work longer"
    );
}
