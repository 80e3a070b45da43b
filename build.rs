//! Marks the build when a PostgreSQL test server (or a ChromeDriver for the browser test) is
//! configured, so those tests run; otherwise `cargo test` lists them as ignored, with the
//! reason, instead of passing them silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(elicence_pg)");
    println!("cargo::rustc-check-cfg=cfg(elicence_browser)");
    println!("cargo::rerun-if-env-changed=ELICENCE_TEST_CHROMEDRIVER");
    println!("cargo::rerun-if-env-changed=ELICENCE_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("ELICENCE_TEST_POSTGRES_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=elicence_pg");
    }
    if std::env::var("ELICENCE_TEST_CHROMEDRIVER").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=elicence_browser");
    }
}
