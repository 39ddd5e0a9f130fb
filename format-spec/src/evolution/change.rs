//! The requested schema changes ([`SchemaChange`]) and their text forms.

use std::fmt;

use serde_json::Value;

use super::join;
use crate::schema::{DataType, PrimitiveType};

/// Where a moved column goes, among the fields of its struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// First field of the struct.
    First,
    /// Right after the named sibling.
    After(String),
    /// Right before the named sibling.
    Before(String),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::First => f.write_str("first"),
            Position::After(c) => write!(f, "after {c}"),
            Position::Before(c) => write!(f, "before {c}"),
        }
    }
}

/// One requested schema change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SchemaChange {
    /// Add a column at the end of a struct.
    AddColumn {
        /// Dotted path of the struct to add into; `None` adds at the top level.
        parent: Option<String>,
        /// Name of the new column.
        name: String,
        /// Type; the ids inside nested types are reassigned.
        data_type: DataType,
        /// Whether the column is required (needs a default).
        required: bool,
        /// Used as both `initialDefault` and `writeDefault`.
        default: Option<Value>,
        /// Documentation.
        doc: Option<String>,
    },
    /// Drop a column and everything inside it.
    DropColumn {
        /// Dotted path.
        path: String,
    },
    /// Rename a column (its id stays).
    RenameColumn {
        /// Dotted path.
        path: String,
        /// New name (within the same struct).
        new_name: String,
    },
    /// Move a column within its struct.
    MoveColumn {
        /// Dotted path.
        path: String,
        /// Where to.
        position: Position,
    },
    /// Widen a primitive column's type.
    WidenColumn {
        /// Dotted path.
        path: String,
        /// New type.
        to: PrimitiveType,
    },
    /// Make a required column optional.
    MakeOptional {
        /// Dotted path.
        path: String,
    },
    /// Make an optional column required: always refused (rows written before may hold nulls).
    MakeRequired {
        /// Dotted path.
        path: String,
    },
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaChange::AddColumn {
                parent,
                name,
                data_type,
                required,
                default,
                ..
            } => {
                let path = join(parent.as_deref(), name);
                write!(f, "add {path} {data_type}")?;
                if *required {
                    f.write_str(" required")?;
                }
                if let Some(d) = default {
                    write!(f, " default {d}")?;
                }
                Ok(())
            }
            SchemaChange::DropColumn { path } => write!(f, "drop {path}"),
            SchemaChange::RenameColumn { path, new_name } => {
                write!(f, "rename {path} to {new_name}")
            }
            SchemaChange::MoveColumn { path, position } => write!(f, "move {path} {position}"),
            SchemaChange::WidenColumn { path, to } => write!(f, "widen {path} to {to}"),
            SchemaChange::MakeOptional { path } => write!(f, "make {path} optional"),
            SchemaChange::MakeRequired { path } => write!(f, "make {path} required"),
        }
    }
}
