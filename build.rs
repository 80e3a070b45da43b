//! Marks the build when a PostgreSQL test server (or a ChromeDriver for the browser test, or
//! PostgreSQL's server programs for a private server) is configured, so those tests run;
//! otherwise `cargo test` lists them as ignored, with the reason, instead of passing them
//! silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(elicence_pg)");
    println!("cargo::rustc-check-cfg=cfg(elicence_browser)");
    println!("cargo::rustc-check-cfg=cfg(elicence_pg_server_binaries)");
    println!("cargo::rerun-if-changed=/usr/lib/postgresql");
    println!("cargo::rerun-if-env-changed=ELICENCE_TEST_CHROMEDRIVER");
    println!("cargo::rerun-if-env-changed=ELICENCE_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("ELICENCE_TEST_POSTGRES_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=elicence_pg");
    }
    // The PostgreSQL server's own programs (initdb, pg_ctl), for the test that stops and
    // starts a private server: Debian's postgresql package puts them here.
    let server_binaries = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|v| v.path().join("bin/pg_ctl").is_file() && v.path().join("bin/initdb").is_file());
    if server_binaries {
        println!("cargo::rustc-cfg=elicence_pg_server_binaries");
    }
    if std::env::var("ELICENCE_TEST_CHROMEDRIVER").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=elicence_browser");
    }
}
