//! `schema_parity`: the SQLite and PostgreSQL migration sets must describe the same schema (same
//! migration files, tables, columns, nullability, type family and indexes). Reads the SQL text, so it
//! needs no database. Understands what our migrations use: `CREATE TABLE`, `CREATE [UNIQUE] INDEX`,
//! `ALTER TABLE … ADD COLUMN`, `ALTER TABLE … RENAME TO` (SQLite's table rebuilds), `DROP TABLE`/
//! `DROP INDEX`, and `--` comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, PartialEq, Eq)]
struct Column {
    /// `int`, `text`, … (SQLite INTEGER and PostgreSQL BIGINT are both `int`: i64 on our side).
    family: String,
    nullable: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    indexes: BTreeSet<String>,
}

fn migrations(backend: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

fn family(sql_type: &str) -> String {
    match sql_type.to_ascii_lowercase().as_str() {
        "integer" | "int" | "bigint" | "int8" | "smallint" | "int4" => "int".into(),
        "text" | "varchar" => "text".into(),
        "real" | "double" | "float8" => "float".into(),
        "blob" | "bytea" => "bytes".into(),
        "boolean" | "bool" => "bool".into(),
        other => other.into(),
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(body: &str) -> Vec<String> {
    let (mut parts, mut depth, mut current) = (Vec::new(), 0i32, String::new());
    for ch in body.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn column(definition: &str) -> Option<(String, Column)> {
    let words: Vec<&str> = definition.split_whitespace().collect();
    let first = words.first()?.to_ascii_uppercase();
    if ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"].contains(&first.as_str()) {
        return None;
    }
    let upper = definition.to_ascii_uppercase();
    let nullable = !upper.contains("NOT NULL") && !upper.contains("PRIMARY KEY");
    let sql_type = words
        .get(1)
        .map_or("", |t| t.split('(').next().unwrap_or(t));
    Some((
        words[0].to_ascii_lowercase(),
        Column {
            family: family(sql_type),
            nullable,
        },
    ))
}

fn apply(schema: &mut Schema, statement: &str) {
    let words: Vec<String> = statement
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    let raw: Vec<&str> = statement.split_whitespace().collect();
    let name = |i: usize| {
        raw.get(i)
            .map_or(String::new(), |n| n.trim_matches('(').to_ascii_lowercase())
    };
    match (word(0), word(1), word(2)) {
        ("CREATE", "TABLE", _) => {
            let open = statement.find('(').expect("CREATE TABLE (");
            let close = statement.rfind(')').expect("CREATE TABLE )");
            let columns = split_top_level(&statement[open + 1..close])
                .iter()
                .filter_map(|d| column(d))
                .collect();
            let table = if word(2) == "IF" { name(5) } else { name(2) };
            schema.tables.insert(table, columns);
        }
        ("CREATE", "INDEX", _) => {
            schema.indexes.insert(name(2));
        }
        ("CREATE", "UNIQUE", "INDEX") => {
            schema.indexes.insert(name(3));
        }
        ("ALTER", "TABLE", _) if word(3) == "ADD" => {
            let skip = if word(4) == "COLUMN" { 5 } else { 4 };
            let definition = raw[skip..].join(" ");
            let (col, spec) = column(&definition).expect("ADD COLUMN definition");
            schema.tables.entry(name(2)).or_default().insert(col, spec);
        }
        ("ALTER", "TABLE", _) if word(3) == "RENAME" && word(4) == "TO" => {
            let columns = schema
                .tables
                .remove(&name(2))
                .expect("RENAME of a known table");
            schema.tables.insert(name(5), columns);
        }
        ("DROP", "TABLE", _) => {
            schema.tables.remove(&name(2));
        }
        ("DROP", "INDEX", _) => {
            schema.indexes.remove(&name(2));
        }
        // Data statements (backfills) leave the schema as it is.
        ("INSERT", "INTO", _) | ("UPDATE", _, _) | ("DELETE", "FROM", _) => {}
        _ => panic!("schema_parity does not understand this statement; teach it: {statement}"),
    }
}

fn schema(backend: &str) -> (Vec<String>, Schema) {
    let mut names = Vec::new();
    let mut schema = Schema::default();
    for file in migrations(backend) {
        names.push(
            file.file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned(),
        );
        let text = std::fs::read_to_string(&file).expect("read migration");
        let without_comments: String = text
            .lines()
            .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
            .collect::<Vec<_>>()
            .join("\n");
        for statement in without_comments
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            apply(&mut schema, statement);
        }
    }
    (names, schema)
}

#[test]
fn schema_parity() {
    let (sqlite_files, sqlite) = schema("sqlite");
    let (postgres_files, postgres) = schema("postgres");
    assert!(!sqlite_files.is_empty(), "no SQLite migrations found");
    assert_eq!(
        sqlite_files, postgres_files,
        "the two migration sets must have the same files"
    );
    assert!(sqlite.tables.contains_key("tokens") && sqlite.tables.contains_key("instances"));
    assert_eq!(
        sqlite.tables.keys().collect::<Vec<_>>(),
        postgres.tables.keys().collect::<Vec<_>>()
    );
    for (table, columns) in &sqlite.tables {
        assert_eq!(
            Some(columns),
            postgres.tables.get(table),
            "table {table} differs between backends"
        );
    }
    assert_eq!(
        sqlite.indexes, postgres.indexes,
        "indexes differ between backends"
    );
}

#[test]
fn schema_parity_parser_sees_types_and_nullability() {
    let mut schema = Schema::default();
    apply(
        &mut schema,
        "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, c TEXT CHECK (c IN ('a', 'b')), \
         UNIQUE (n, c))",
    );
    apply(&mut schema, "ALTER TABLE t ADD COLUMN extra INTEGER");
    let t = &schema.tables["t"];
    assert_eq!(
        t["id"],
        Column {
            family: "text".into(),
            nullable: false
        }
    );
    assert_eq!(
        t["n"],
        Column {
            family: "int".into(),
            nullable: false
        }
    );
    assert_eq!(
        t["c"],
        Column {
            family: "text".into(),
            nullable: true
        }
    );
    assert_eq!(
        t["extra"],
        Column {
            family: "int".into(),
            nullable: true
        }
    );
    assert_eq!(t.len(), 4);
    apply(&mut schema, "ALTER TABLE t RENAME TO u");
    assert!(!schema.tables.contains_key("t"));
    assert_eq!(schema.tables["u"].len(), 4);
}
