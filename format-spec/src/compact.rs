//! Compact text forms for people: `id:int64,name:string?` schemas and `day(ts),bucket(16,id)`
//! partition specs (used by the CLI and the catalog; not part of the stored format).

use crate::error::{FormatError, Result};
use crate::partition::{FIRST_PARTITION_FIELD_ID, PartitionField, PartitionSpec, Transform};
use crate::schema::{PrimitiveType, Schema, StructField};

/// Parses `name:type[?],...` into a schema with ids 1..n. A trailing `?` makes the column
/// optional; columns are required otherwise. Types are the primitive type names of SPEC §4.2
/// (`decimal(P,S)` included).
pub fn parse_schema(text: &str) -> Result<Schema> {
    let mut fields = Vec::new();
    for (i, part) in split_top_level(text).into_iter().enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, ty) = part.split_once(':').ok_or_else(|| {
            FormatError::InvalidSchema(format!(
                "column {} `{part}`: expected `name:type` (e.g. `id:int64` or `score:float64?`)",
                i + 1
            ))
        })?;
        let (ty, required) = match ty.trim().strip_suffix('?') {
            Some(t) => (t.trim(), false),
            None => (ty.trim(), true),
        };
        let data_type = PrimitiveType::parse(ty)
            .map_err(|e| FormatError::InvalidSchema(format!("column `{}`: {e}", name.trim())))?;
        let id = i32::try_from(fields.len() + 1)
            .map_err(|_| FormatError::InvalidSchema("too many columns".into()))?;
        let field = if required {
            StructField::required(id, name.trim(), data_type)
        } else {
            StructField::optional(id, name.trim(), data_type)
        };
        fields.push(field);
    }
    if fields.is_empty() {
        return Err(FormatError::InvalidSchema(
            "the schema has no columns".into(),
        ));
    }
    Schema::new(0, fields)
}

/// Parses `day(ts), bucket(16, id), truncate(4, name), identity(region)` (a bare column name
/// means identity) into spec `spec_id` with field ids from `first_field_id` on.
pub fn parse_partition_spec(
    text: &str,
    schema: &Schema,
    spec_id: i32,
    first_field_id: i32,
) -> Result<PartitionSpec> {
    let mut fields = Vec::new();
    for part in split_top_level(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let bad = |m: &str| FormatError::InvalidPartitionSpec(format!("`{part}`: {m}"));
        let (transform, column) =
            match part.split_once('(') {
                None => (Transform::Identity, part),
                Some((func, rest)) => {
                    let args = rest.strip_suffix(')').ok_or_else(|| bad("missing `)`"))?;
                    let args: Vec<&str> = args.split(',').map(str::trim).collect();
                    match (func.trim(), args.as_slice()) {
                        ("identity", [c]) => (Transform::Identity, *c),
                        ("year" | "years", [c]) => (Transform::Year, *c),
                        ("month" | "months", [c]) => (Transform::Month, *c),
                        ("day" | "days", [c]) => (Transform::Day, *c),
                        ("hour" | "hours", [c]) => (Transform::Hour, *c),
                        ("bucket", [n, c]) => (
                            Transform::Bucket(
                                n.parse().ok().filter(|&n: &u32| n > 0).ok_or_else(|| {
                                    bad("bucket count must be a positive integer")
                                })?,
                            ),
                            *c,
                        ),
                        ("truncate", [w, c]) => (
                            Transform::Truncate(
                                w.parse().ok().filter(|&w: &u32| w > 0).ok_or_else(|| {
                                    bad("truncate width must be a positive integer")
                                })?,
                            ),
                            *c,
                        ),
                        _ => {
                            return Err(bad(
                                "expected COLUMN, identity(C), year(C), month(C), day(C), hour(C), \
                             bucket(N, C) or truncate(W, C)",
                            ));
                        }
                    }
                }
            };
        let source = schema.field_by_name(column).ok_or_else(|| {
            let known: Vec<&str> = schema.fields().iter().map(|f| f.name.as_str()).collect();
            bad(&format!(
                "no column `{column}` (columns: {})",
                known.join(", ")
            ))
        })?;
        let name = match transform {
            Transform::Identity => column.to_string(),
            Transform::Bucket(_) => format!("{column}_bucket"),
            Transform::Truncate(_) => format!("{column}_trunc"),
            other => format!("{column}_{other}"),
        };
        let field_id = first_field_id
            .max(FIRST_PARTITION_FIELD_ID)
            .checked_add(i32::try_from(fields.len()).unwrap_or(i32::MAX))
            .ok_or_else(|| bad("too many partition fields"))?;
        fields.push(PartitionField {
            field_id,
            source_id: source.id,
            name,
            transform,
        });
    }
    let spec = PartitionSpec { spec_id, fields };
    spec.validate(schema)?;
    Ok(spec)
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_schema_marks_optional_columns_with_a_question_mark() {
        let s =
            parse_schema("id:int64, name:string, ts:timestamptz, score:float64?, p:decimal(10,2)")
                .unwrap();
        assert_eq!(s.fields().len(), 5);
        assert!(s.fields()[0].required);
        assert!(!s.fields()[3].required);
        assert_eq!(s.fields()[4].data_type.to_string(), "decimal(10,2)");
        assert_eq!(s.max_field_id(), 5);
        let err = parse_schema("id:int65").unwrap_err().to_string();
        assert!(
            err.contains("column `id`") && err.contains("int65"),
            "{err}"
        );
        assert!(
            parse_schema("id")
                .unwrap_err()
                .to_string()
                .contains("name:type")
        );
        assert!(parse_schema("").is_err());
    }

    #[test]
    fn compact_partition_specs_name_their_fields() {
        let s = parse_schema("id:int64,ts:timestamptz,name:string").unwrap();
        let spec =
            parse_partition_spec("day(ts), bucket(16, id), truncate(2,name), id", &s, 0, 1000)
                .unwrap();
        let names: Vec<_> = spec.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["ts_day", "id_bucket", "name_trunc", "id"]);
        assert_eq!(spec.fields[1].transform, Transform::Bucket(16));
        assert_eq!(spec.fields[3].field_id, 1003);
        let err = parse_partition_spec("day(nope)", &s, 0, 1000)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column `nope`"), "{err}");
        assert!(parse_partition_spec("day(id)", &s, 0, 1000).is_err());
        assert!(parse_partition_spec("bucket(0, id)", &s, 0, 1000).is_err());
    }
}
