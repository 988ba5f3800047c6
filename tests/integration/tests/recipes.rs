//! The recipes in `docs/` and the README's examples run as written: each page names its pg_regress
//! file in a comment,
//!
//! ```text
//! <!-- regress: tests/pg_regress/sql/42_recipe_postgrest.sql
//! DROP ROLE IF EXISTS ...;      (optional lines: run first, test only, e.g. leftovers of an
//! -->                            interrupted run; invisible in the rendered page)
//! ```
//!
//! and that file must be the page's ```` ```sql ```` blocks after that comment, in order, under a
//! generated header. Three more comments, invisible too, shape it:
//!
//! - `<!-- regress-skip: why -->` on the line before a block: the block is not run (function
//!   signatures, say);
//! - `<!-- regress-errors: why -->` on the line before a block: the block runs with psql's
//!   ON_ERROR_STOP off and then shows its last error's SQLSTATE (for pages whose prologue sets
//!   ON_ERROR_STOP, as the README's does, so that an error anywhere else fails the file);
//! - `<!-- regress-end` ... `-->`: lines run last (clean-up).
//!
//! pg_regress runs the file and compares the output with `expected/`. After editing a page,
//! regenerate its file with
//! `PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes`.
//! Needs no server.

use std::path::{Path, PathBuf};

const MARKER: &str = "<!-- regress: ";
const SKIP: &str = "<!-- regress-skip:";
const ERRORS: &str = "<!-- regress-errors:";
const END: &str = "<!-- regress-end";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Lines of `rest` up to the one that closes an HTML comment, each followed by a newline.
fn comment_lines<'a>(rest: &mut impl Iterator<Item = &'a &'a str>) -> String {
    let mut out = String::new();
    for line in rest.by_ref() {
        if line.trim() == "-->" {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The regress file a page (`page`, relative to the repository) names, and the text that file
/// must have.
fn generate(page: &str, markdown: &str) -> Option<(PathBuf, String)> {
    let lines: Vec<&str> = markdown.lines().collect();
    let at = lines.iter().position(|l| l.starts_with(MARKER))?;
    let first = lines[at][MARKER.len()..].trim();
    let closed = first.ends_with("-->");
    let target = first.trim_end_matches("-->").trim();
    let what = if page.starts_with("docs/") { "the recipe" } else { "it" };
    let mut out = format!(
        "-- Generated from {page} (its sql code blocks, in order): edit {what}, then run\n\
         -- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes\n"
    );
    let mut rest = lines[at + 1..].iter();
    // Test-only lines: the rest of the marker comment.
    if !closed {
        out.push_str(&comment_lines(&mut rest));
    }
    let (mut epilogue, mut previous) = (String::new(), "");
    while let Some(line) = rest.next() {
        if line.starts_with(END) {
            epilogue.push_str(&comment_lines(&mut rest));
        } else if line.trim_end() == "```sql" {
            let mut block = String::new();
            let mut closed_block = false;
            for inner in rest.by_ref() {
                if inner.trim_end() == "```" {
                    closed_block = true;
                    break;
                }
                block.push_str(inner);
                block.push('\n');
            }
            assert!(closed_block, "{page}: a ```sql block is not closed");
            if previous.starts_with(SKIP) {
                continue;
            }
            out.push('\n');
            if previous.starts_with(ERRORS) {
                out.push_str("\\set ON_ERROR_STOP 0\n");
                out.push_str(&block);
                out.push_str("\\echo SQLSTATE of the last error: :LAST_ERROR_SQLSTATE\n\\set ON_ERROR_STOP 1\n");
            } else {
                out.push_str(&block);
            }
        }
        if !line.trim().is_empty() {
            previous = line.trim();
        }
    }
    if !epilogue.is_empty() {
        out.push('\n');
        out.push_str(&epilogue);
    }
    Some((root().join(target), out))
}

#[test]
fn every_recipe_is_its_regress_file() {
    let write = std::env::var_os("PG_AUTHZ_WRITE_RECIPES").is_some();
    let mut recipes: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    recipes.sort();
    recipes.push("README.md".to_owned());
    let mut checked = 0;
    let mut stale = Vec::new();
    for recipe in &recipes {
        let markdown = std::fs::read_to_string(root().join(recipe)).unwrap();
        let Some((target, text)) = generate(recipe, &markdown) else {
            continue;
        };
        checked += 1;
        if write {
            std::fs::write(&target, &text).unwrap();
        } else if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("{recipe} -> {}", target.display()));
        }
    }
    assert!(checked > 0, "no recipe in docs/ names a regress file");
    assert!(
        stale.is_empty(),
        "these regress files differ from their recipes' sql blocks (regenerate them: \
         PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes, \
         then run pg_regress and review expected/):\n{}",
        stale.join("\n")
    );
}
