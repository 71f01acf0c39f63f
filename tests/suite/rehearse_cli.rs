//! `vivr deploy rehearse` against the real Docker engine: the project's image passes (healthy, the smoke load
//! within the triggers, the current image drained on SIGTERM); three broken releases fail with their reason — one
//! that exits at start, one whose health check never passes, one answering 500 to a tenth of its pages. The broken
//! ones are a small static test server (`tests/rehearsal/server.rs`, compiled here with rustc) packaged `FROM
//! scratch`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::build_cli::{engine, project_image, repo_name, static_binary};
use crate::common::process::vivr_output_env;

/// The test server, compiled statically into `dir`.
fn test_server(dir: &Path) -> std::path::PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rehearsal/server.rs");
    let binary = dir.join("server");
    let output = Command::new("rustc")
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("rustc");
    assert!(
        output.status.success(),
        "rustc: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

/// An image of the test server started in `mode`, tagged `tag`.
async fn broken_image(engine: &vivr::image::engine::Engine, server: &Path, mode: &str, tag: &str) {
    let dockerfile = format!(
        "FROM scratch\nCOPY server /server\nHEALTHCHECK --interval=1s --timeout=1s --start-period=1s --retries=2 \
         CMD [\"/server\", \"check\"]\nEXPOSE 3000\nENTRYPOINT [\"/server\"]\nCMD [\"{mode}\"]\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data, mode) in [
        ("Dockerfile", dockerfile.into_bytes(), 0o644),
        ("server", std::fs::read(server).unwrap(), 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, data.as_slice()).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    engine
        .build(tar, tag, &Default::default(), Arc::new(|_, _| {}), &|_| {})
        .await
        .unwrap();
}

/// `vivr deploy rehearse` with `args`, JSON: (exit code, the report).
fn rehearse(args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["deploy", "rehearse", "--format", "json"];
    all.extend_from_slice(args);
    let (status, out, err) = vivr_output_env(&all, None, &[]);
    let report = out
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report:\n{out}\n{err}"));
    (status.code().unwrap_or(-1), report, err)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_projects_image_passes_its_rehearsal_and_the_old_one_drains() {
    let Some(binary) = static_binary() else {
        return;
    };
    let Some(engine) = engine().await else { return };
    let tag = project_image(&binary);
    let (code, report, err) = rehearse(&[
        &tag,
        "--current",
        &tag,
        "--duration",
        "4",
        "--requests",
        "300",
    ]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["drained"][0], true, "{report:#}");
    assert!(
        report["load"]["requests"].as_u64().unwrap() > 50,
        "{report:#}"
    );
    assert_eq!(report["load"]["failures"], 0, "{report:#}");
    engine.untag(&tag).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_releases_fail_their_rehearsal_with_the_reason() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = test_server(dir.path());
    let name = repo_name();
    for (mode, expected) in [
        ("exit", "exited with code 3"),
        ("unhealthy", "health check reports it unhealthy"),
        ("errors", "trigger error_rate breached"),
    ] {
        let tag = format!("{name}:{mode}");
        broken_image(&engine, &server, mode, &tag).await;
        let (code, report, err) = rehearse(&[
            &tag,
            "--duration",
            "6",
            "--requests",
            "600",
            "--timeout",
            "30",
        ]);
        assert_eq!(code, 1, "{mode}: {report:#}\n{err}");
        assert_eq!(report["passed"], false);
        let reason = report["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(expected), "{mode}: {reason}\n{report:#}");
        engine.untag(&tag).await.unwrap();
    }
    // And a healthy one of the same server passes: the failures above are the modes', not the harness's.
    let tag = format!("{name}:serve");
    broken_image(&engine, &server, "serve", &tag).await;
    let (code, report, err) = rehearse(&[&tag, "--duration", "4", "--requests", "300"]);
    assert_eq!(code, 0, "{report:#}\n{err}");
    engine.untag(&tag).await.unwrap();
}
