//! Turns `app/` into the router (`routekit::routes!()` includes it).

fn main() {
    routekit_codegen::generate();
}
