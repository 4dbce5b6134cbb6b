//! The per-request benchmark's smoke run, among the workspace's tests (so it shares their
//! build): one round of 20 requests per scenario, each answered with the status the
//! benchmark expects. Its timings, in a debug build, mean nothing and are not checked.

#[allow(dead_code)]
#[path = "../per_request.rs"]
mod per_request;

#[test]
fn every_scenario_answers_as_the_benchmark_expects() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(per_request::run(1, 20));
}
