use super::*;
use crate::schema::{ListType, MapType, StructType};
use crate::testing::sample_metadata;
use serde_json::json;

/// id int32 required, name string, point struct<x float64 required, label string>.
pub(super) fn meta() -> Metadata {
    let mut m = sample_metadata();
    m.schema = Schema::new(
        3,
        vec![
            StructField::required(1, "id", PrimitiveType::Int32),
            StructField::optional(2, "name", PrimitiveType::String),
            StructField::optional(
                3,
                "point",
                DataType::Struct(StructType {
                    fields: vec![
                        StructField::required(4, "x", PrimitiveType::Float32),
                        StructField::optional(5, "label", PrimitiveType::String),
                    ],
                }),
            ),
            StructField::optional(6, "day", PrimitiveType::Date),
        ],
    )
    .unwrap();
    m.last_column_id = 10;
    m
}

fn add(parent: Option<&str>, name: &str, t: impl Into<DataType>) -> SchemaChange {
    SchemaChange::AddColumn {
        parent: parent.map(String::from),
        name: name.into(),
        data_type: t.into(),
        required: false,
        default: None,
        doc: None,
    }
}

fn refused(m: &Metadata, c: SchemaChange) -> String {
    apply_changes(m, &[c]).unwrap_err().to_string()
}

fn top_names(m: &Metadata) -> Vec<&str> {
    m.schema.fields().iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn adding_columns_assigns_fresh_ids_and_a_new_schema_id() {
    let m = meta();
    let out = apply_changes(
        &m,
        &[
            add(None, "email", PrimitiveType::String),
            SchemaChange::AddColumn {
                parent: None,
                name: "score".into(),
                data_type: PrimitiveType::Int64.into(),
                required: true,
                default: Some(json!(7)),
                doc: Some("points".into()),
            },
            add(Some("point"), "y", PrimitiveType::Float64),
        ],
    )
    .unwrap();
    assert_eq!(out.schema.schema_id(), 4);
    assert_eq!(out.last_column_id, 13);
    let email = out.schema.field_by_name("email").unwrap();
    assert_eq!(email.id, 11);
    assert!(!email.required);
    let score = out.schema.field_by_name("score").unwrap();
    assert_eq!(score.id, 12);
    assert!(score.required);
    assert_eq!(score.initial_default, Some(json!(7)));
    assert_eq!(score.write_default, Some(json!(7)));
    assert_eq!(score.doc.as_deref(), Some("points"));
    let idx = out.schema.field_index();
    assert_eq!(idx[&13].path, "point.y");
    // The input is unchanged.
    assert_eq!(m.schema.schema_id(), 3);
}

#[test]
fn nested_types_of_added_columns_get_fresh_ids_everywhere() {
    let m = meta();
    let t = DataType::Map(MapType {
        key_id: 1,
        key: Box::new(PrimitiveType::String.into()),
        value_id: 1,
        value_required: false,
        value: Box::new(DataType::List(ListType {
            element_id: 2,
            element_required: false,
            element: Box::new(DataType::Struct(StructType {
                fields: vec![StructField::optional(1, "a", PrimitiveType::Int32)],
            })),
        })),
    });
    let out = apply_changes(&m, &[add(None, "m", t)]).unwrap();
    let DataType::Map(mt) = &out.schema.field_by_name("m").unwrap().data_type else {
        panic!("not a map")
    };
    assert_eq!((mt.key_id, mt.value_id), (12, 13));
    let DataType::List(l) = mt.value.as_ref() else {
        panic!("not a list")
    };
    assert_eq!(l.element_id, 14);
    let DataType::Struct(s) = l.element.as_ref() else {
        panic!("not a struct")
    };
    assert_eq!(s.fields[0].id, 15);
    assert_eq!(out.last_column_id, 15);
}

#[test]
fn drop_rename_move_widen_and_relax() {
    let m = meta();
    let out = apply_changes(
        &m,
        &[
            SchemaChange::RenameColumn {
                path: "name".into(),
                new_name: "label".into(),
            },
            SchemaChange::WidenColumn {
                path: "id".into(),
                to: PrimitiveType::Int64,
            },
            SchemaChange::WidenColumn {
                path: "point.x".into(),
                to: PrimitiveType::Float64,
            },
            SchemaChange::MakeOptional { path: "id".into() },
            SchemaChange::MoveColumn {
                path: "label".into(),
                position: Position::First,
            },
            SchemaChange::MoveColumn {
                path: "day".into(),
                position: Position::Before("id".into()),
            },
            SchemaChange::MoveColumn {
                path: "point.x".into(),
                position: Position::After("label".into()),
            },
            SchemaChange::DropColumn {
                path: "point.label".into(),
            },
        ],
    )
    .unwrap();
    assert_eq!(top_names(&out), ["label", "day", "id", "point"]);
    let id = out.schema.field_by_name("id").unwrap();
    assert_eq!(id.id, 1);
    assert!(!id.required);
    assert_eq!(id.data_type, PrimitiveType::Int64.into());
    assert_eq!(out.schema.field_by_name("label").unwrap().id, 2);
    let idx = out.schema.field_index();
    assert_eq!(idx[&4].path, "point.x");
    assert_eq!(idx[&4].data_type, &DataType::from(PrimitiveType::Float64));
    assert!(!idx.contains_key(&5));
    assert_eq!(out.last_column_id, 10);
    // Drop a whole struct: its children go too; ids are not reused afterwards.
    let out2 = apply_changes(
        &out,
        &[
            SchemaChange::DropColumn {
                path: "point".into(),
            },
            add(None, "point", PrimitiveType::String),
        ],
    )
    .unwrap();
    assert_eq!(out2.schema.field_by_name("point").unwrap().id, 11);
    assert_eq!(out2.schema.schema_id(), 5);
}

#[test]
fn widening_a_date_converts_its_defaults_to_microseconds() {
    let m = apply_changes(
        &meta(),
        &[SchemaChange::AddColumn {
            parent: None,
            name: "d2".into(),
            data_type: PrimitiveType::Date.into(),
            required: false,
            default: Some(json!(2)),
            doc: None,
        }],
    )
    .unwrap();
    let out = apply_changes(
        &m,
        &[SchemaChange::WidenColumn {
            path: "d2".into(),
            to: PrimitiveType::Timestamp,
        }],
    )
    .unwrap();
    let f = out.schema.field_by_name("d2").unwrap();
    assert_eq!(f.initial_default, Some(json!(172_800_000_000i64)));
    assert_eq!(f.write_default, Some(json!(172_800_000_000i64)));
}

#[test]
fn unknown_columns_list_the_available_ones() {
    let m = meta();
    let e = refused(
        &m,
        SchemaChange::DropColumn {
            path: "nope".into(),
        },
    );
    assert!(
        e.contains("no column `nope`") && e.contains("columns: id, name, point, day"),
        "{e}"
    );
    let e = refused(
        &m,
        SchemaChange::RenameColumn {
            path: "point.z".into(),
            new_name: "w".into(),
        },
    );
    assert!(
        e.contains("struct `point` has no field `z`") && e.contains("x, label"),
        "{e}"
    );
    let e = refused(&m, add(Some("name"), "q", PrimitiveType::Int32));
    assert!(e.contains("`name` is a string, not a struct"), "{e}");
    let e = refused(
        &m,
        SchemaChange::MoveColumn {
            path: "id".into(),
            position: Position::After("ghost".into()),
        },
    );
    assert!(e.contains("no sibling `ghost`"), "{e}");
}

#[test]
fn required_columns_need_a_default() {
    let e = refused(
        &meta(),
        SchemaChange::AddColumn {
            parent: None,
            name: "n".into(),
            data_type: PrimitiveType::Int64.into(),
            required: true,
            default: None,
            doc: None,
        },
    );
    assert!(
        e.contains("rows written before have no value for it")
            && e.contains("give a default or make it optional"),
        "{e}"
    );
    let e = refused(
        &meta(),
        SchemaChange::AddColumn {
            parent: None,
            name: "n".into(),
            data_type: PrimitiveType::Int32.into(),
            required: false,
            default: Some(json!("seven")),
            doc: None,
        },
    );
    assert!(e.contains("the default does not fit"), "{e}");
}

#[test]
fn narrowing_and_incompatible_changes_say_why() {
    let m = apply_changes(
        &meta(),
        &[SchemaChange::WidenColumn {
            path: "id".into(),
            to: PrimitiveType::Int64,
        }],
    )
    .unwrap();
    let e = refused(
        &m,
        SchemaChange::WidenColumn {
            path: "id".into(),
            to: PrimitiveType::Int32,
        },
    );
    assert!(
        e.contains("narrowing") && e.contains("would lose data"),
        "{e}"
    );
    let e = refused(
        &meta(),
        SchemaChange::WidenColumn {
            path: "id".into(),
            to: PrimitiveType::String,
        },
    );
    assert!(
        e.contains("int32 to string is not a widening")
            && e.contains("allowed widenings of int32 are: int64"),
        "{e}"
    );
    let e = refused(
        &meta(),
        SchemaChange::WidenColumn {
            path: "point".into(),
            to: PrimitiveType::String,
        },
    );
    assert!(e.contains("only primitive types can be widened"), "{e}");
}

#[test]
fn name_clashes_are_refused() {
    let m = meta();
    let e = refused(&m, add(None, "name", PrimitiveType::Int32));
    assert!(e.contains("already has a column named `name`"), "{e}");
    let e = refused(
        &m,
        SchemaChange::RenameColumn {
            path: "point.x".into(),
            new_name: "label".into(),
        },
    );
    assert!(
        e.contains("struct `point` already has a column named `label`"),
        "{e}"
    );
    let e = refused(&m, add(None, "a.b", PrimitiveType::Int32));
    assert!(e.contains("holds a `.`"), "{e}");
}

#[test]
fn making_an_optional_column_required_is_refused() {
    let e = refused(
        &meta(),
        SchemaChange::MakeRequired {
            path: "name".into(),
        },
    );
    assert!(
        e.contains("not supported") && e.contains("may hold nulls"),
        "{e}"
    );
}

#[test]
fn partition_sources_cannot_be_dropped_while_in_the_default_spec() {
    let m = with_new_default_spec(&meta(), vec![("day".into(), Transform::Day)]).unwrap();
    let e = refused(&m, SchemaChange::DropColumn { path: "day".into() });
    assert!(
        e.contains("partition field `day_day`") && e.contains("change the partitioning"),
        "{e}"
    );
    // After repartitioning, the column of the old spec may be dropped.
    let m2 = with_new_default_spec(&m, vec![("id".into(), Transform::Bucket(4))]).unwrap();
    let out = apply_changes(&m2, &[SchemaChange::DropColumn { path: "day".into() }]).unwrap();
    assert!(out.schema.field_by_name("day").is_none());
}

#[test]
fn date_widening_is_refused_under_identity_or_bucket_partitioning() {
    let m = with_new_default_spec(&meta(), vec![("day".into(), Transform::Identity)]).unwrap();
    let e = refused(
        &m,
        SchemaChange::WidenColumn {
            path: "day".into(),
            to: PrimitiveType::Timestamp,
        },
    );
    assert!(e.contains("partition field `day` (identity)"), "{e}");
}

#[test]
fn only_fields_of_structs_can_be_dropped_while_others_remain() {
    let m = apply_changes(
        &meta(),
        &[SchemaChange::DropColumn {
            path: "point.label".into(),
        }],
    )
    .unwrap();
    let e = refused(
        &m,
        SchemaChange::DropColumn {
            path: "point.x".into(),
        },
    );
    assert!(e.contains("only field of its struct"), "{e}");
    assert!(apply_changes(&meta(), &[]).is_err());
}
