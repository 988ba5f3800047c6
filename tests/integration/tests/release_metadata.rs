//! The release's metadata agrees with itself: META.json is valid PGXN metadata (meta spec 1.0.0) and
//! names the version Cargo.toml builds, as do the Django package and the changelog. Needs no server.

use std::path::PathBuf;

fn repository_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
}

fn meta_json() -> serde_json::Value {
    serde_json::from_str(&repository_file("META.json")).expect("META.json is not JSON")
}

/// `table.key.key...` of a TOML file of the repository, as a string.
fn toml_string(path: &str, keys: &[&str]) -> String {
    let mut value: toml::Value = toml::from_str(&repository_file(path)).expect("not TOML");
    for key in keys {
        value = value.get(key).unwrap_or_else(|| panic!("{path} has no {keys:?}")).clone();
    }
    value.as_str().unwrap_or_else(|| panic!("{path}'s {keys:?} is not a string")).to_owned()
}

fn cargo_version() -> String {
    toml_string("Cargo.toml", &["package", "version"])
}

#[test]
fn meta_json_is_valid_pgxn_meta_spec_1_0_0() {
    let meta = meta_json();
    match pgxn_meta::valid::Validator::new().validate(&meta) {
        Ok(spec) => assert_eq!(spec, 1, "META.json validated as meta spec version {spec}, not 1"),
        Err(e) => panic!("META.json is not valid PGXN metadata: {e}"),
    }
    assert_eq!(meta["meta-spec"]["version"], "1.0.0");
}

#[test]
fn meta_json_versions_are_cargo_toml_version() {
    let meta = meta_json();
    let version = cargo_version();
    assert_eq!(meta["version"], version.as_str(), "META.json's version");
    assert_eq!(meta["provides"]["pg_authz"]["version"], version.as_str(), "META.json's provides.pg_authz.version");
    assert_eq!(meta["name"], toml_string("Cargo.toml", &["package", "name"]).as_str());
}

#[test]
fn django_package_and_changelog_name_the_same_version() {
    let version = cargo_version();
    assert_eq!(toml_string("python/pyproject.toml", &["project", "version"]), version);
    let changelog = repository_file("CHANGELOG.md");
    assert!(
        changelog.lines().any(|l| l.starts_with("## [") && l.contains(&version)),
        "CHANGELOG.md has no section for {version}"
    );
}
