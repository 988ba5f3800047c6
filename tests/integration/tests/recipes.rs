//! The recipes in `docs/` run as written: each recipe names its pg_regress file in a comment,
//!
//! ```text
//! <!-- regress: tests/pg_regress/sql/42_recipe_postgrest.sql
//! DROP ROLE IF EXISTS ...;      (optional lines: run first, test only, e.g. leftovers of an
//! -->                            interrupted run; invisible in the rendered page)
//! ```
//!
//! and that file must be the recipe's ```` ```sql ```` blocks, in order, under a generated
//! header. pg_regress runs it and compares the output with `expected/`. After editing a
//! recipe, regenerate its file with
//! `PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes`.
//! Needs no server.

use std::path::{Path, PathBuf};

const MARKER: &str = "<!-- regress: ";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The regress file a recipe names, and the text that file must have.
fn generate(recipe: &Path, markdown: &str) -> Option<(PathBuf, String)> {
    let name = recipe.file_name().unwrap().to_string_lossy();
    let lines: Vec<&str> = markdown.lines().collect();
    let at = lines.iter().position(|l| l.starts_with(MARKER))?;
    let first = lines[at][MARKER.len()..].trim();
    let closed = first.ends_with("-->");
    let target = first.trim_end_matches("-->").trim();
    let mut out = format!(
        "-- Generated from docs/{name} (its sql code blocks, in order): edit the recipe, then run\n\
         -- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes\n"
    );
    let mut rest = lines[at + 1..].iter();
    // Test-only lines: the rest of the marker comment.
    if !closed {
        for line in rest.by_ref() {
            if line.trim() == "-->" {
                break;
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut in_block = false;
    for line in rest {
        if !in_block && line.trim_end() == "```sql" {
            in_block = true;
            out.push('\n');
        } else if in_block && line.trim_end() == "```" {
            in_block = false;
        } else if in_block {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!in_block, "docs/{name}: a ```sql block is not closed");
    Some((root().join(target), out))
}

#[test]
fn every_recipe_is_its_regress_file() {
    let write = std::env::var_os("PG_AUTHZ_WRITE_RECIPES").is_some();
    let mut recipes: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    recipes.sort();
    let mut checked = 0;
    let mut stale = Vec::new();
    for recipe in &recipes {
        let markdown = std::fs::read_to_string(recipe).unwrap();
        let Some((target, text)) = generate(recipe, &markdown) else {
            continue;
        };
        checked += 1;
        if write {
            std::fs::write(&target, &text).unwrap();
        } else if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("{} -> {}", recipe.display(), target.display()));
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
