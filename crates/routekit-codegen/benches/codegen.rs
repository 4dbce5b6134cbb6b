//! Codegen speed: 1,000 route files scanned, planned and rendered (goal: < 100 ms).

use std::fs;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

/// Writes 1,000 route files: 10 sections × 25 resources × 4 shapes (list, item, nested
/// catch-all, grouped page), each with a few handlers, a helper and a setting.
fn write_tree(root: &Path) {
    for section in 0..10 {
        for resource in 0..25 {
            let base = root.join(format!("app/s{section}/r{resource}"));
            let files = [
                base.join("route.rs"),
                base.join("[id]/route.rs"),
                base.join("[id]/files/[...path]/route.rs"),
                root.join(format!("app/(g{section})/p{section}x{resource}/route.rs")),
            ];
            for file in files {
                fs::create_dir_all(file.parent().unwrap()).unwrap();
                fs::write(
                    &file,
                    "use routekit::{Json, Path};\n\npub const BODY_LIMIT: usize = 4096;\n\n\
                     fn helper(x: u64) -> u64 { x * 2 }\n\n\
                     pub async fn GET() -> Json<u64> { Json(helper(21)) }\n\n\
                     pub async fn POST(Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(v) }\n\n\
                     pub async fn DELETE() -> &'static str { \"gone\" }\n",
                )
                .unwrap();
            }
        }
    }
}

fn codegen(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let app = dir.path().join("app");
    let files = routekit_codegen::scan(&app, "app").unwrap();
    assert_eq!(files.len(), 1000);

    let mut group = c.benchmark_group("codegen_1000_routes");
    group.sample_size(20);
    group.bench_function("scan_plan_render", |b| {
        b.iter(|| {
            let files = routekit_codegen::scan(&app, "app").unwrap();
            let plan = routekit_codegen::plan(files).unwrap();
            black_box(routekit_codegen::render(&plan, "/srv"))
        })
    });
    group.bench_function("plan_render", |b| {
        b.iter(|| {
            let plan = routekit_codegen::plan(files.clone()).unwrap();
            black_box(routekit_codegen::render(&plan, "/srv"))
        })
    });
    group.finish();
}

criterion_group!(benches, codegen);
criterion_main!(benches);
