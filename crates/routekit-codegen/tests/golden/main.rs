//! Golden tests: each `tests/fixtures/<case>/app` tree must generate `expected.rs` exactly, or
//! fail with `expected.stderr` exactly. `UPDATE_GOLDEN=1 cargo test -p routekit-codegen`
//! rewrites the expectations (review the diff before committing).

use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What the generator says for one fixture: the source, or the error text.
fn generate(case: &Path) -> Result<String, String> {
    routekit_codegen::Generator::new(case, case.join("unused.rs"))
        .render_root("/ROOT")
        .source()
        .map_err(|e| e.to_string())
}

#[test]
fn every_fixture_matches_its_expectation() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "fixtures missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (actual, file, other) = match generate(case) {
            Ok(source) => (source, "expected.rs", "expected.stderr"),
            Err(error) => (error + "\n", "expected.stderr", "expected.rs"),
        };
        let expected_path = case.join(file);
        if update {
            fs::write(&expected_path, &actual).unwrap();
            let _ = fs::remove_file(case.join(other));
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}: {file} differs\n--- expected\n{expected}\n--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{name}: produced {file}, which does not exist:\n{actual}"
            )),
        }
        if name.starts_with("error_") != (file == "expected.stderr") {
            failures.push(format!(
                "{name}: an error_ case must fail and any other case must succeed"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
