use super::*;
use crate::actions::{Tag, TierDef};
use crate::testing::{add, commit, create_commit, sample_metadata};

fn base() -> TableState {
    TableState::from_first_commit(&create_commit()).unwrap()
}

fn at(actions: Vec<Action>) -> Commit {
    commit(1, 1_700_000_000_001, "WRITE", actions)
}

fn root() -> ChangeContext<'static> {
    ChangeContext {
        table_root: Some("s3://b/wh/ns/t"),
        restore_schema: None,
        confine_relocations: true,
    }
}

fn refused(actions: Vec<Action>) -> String {
    next_state(&base(), &[], &at(actions), &root())
        .unwrap_err()
        .to_string()
}

/// The sample metadata with tiers `hot` (the root) and `cold` at `s3://archive/t`.
fn with_cold_tier() -> crate::actions::Metadata {
    let mut m = sample_metadata();
    m.tiers = vec![
        TierDef {
            name: "hot".into(),
            location: None,
            storage_class: None,
        },
        TierDef {
            name: "cold".into(),
            location: Some("s3://archive/t".into()),
            storage_class: None,
        },
    ];
    m
}

fn add_at(path: &str, location: Option<&str>, tier: &str) -> Action {
    let mut a = add(path, 1);
    if let Action::Add(f) = &mut a {
        f.location = location.map(str::to_string);
        f.tier = tier.into();
    }
    a
}

#[test]
fn proposals_classify_and_record_their_info() {
    let mut p = Proposal {
        txn_id: "t".into(),
        operation: "APPEND".into(),
        actions: vec![add("a", 1)],
        engine: "e".into(),
        ..Default::default()
    };
    assert!(p.is_blind_append());
    let info = p.commit_info(&base(), 5);
    assert_eq!(
        (info.read_version, info.action_count, info.timestamp),
        (Some(0), 1, 5)
    );
    assert_eq!(
        info.isolation_level,
        Some(IsolationLevel::WriteSerializable)
    );
    p.reads = true;
    assert!(!p.is_blind_append());
    p.metrics.insert("numAddedRows".into(), 1);
    p.user_metadata = Some("why".into());
    let info = p.commit_info(&base(), 5);
    assert_eq!(info.operation_metrics["numAddedRows"], 1);
    assert_eq!(info.user_metadata.as_deref(), Some("why"));
    assert_eq!(next_timestamp(3, 7), 8);
    assert_eq!(next_timestamp(9, 7), 9);
}

#[test]
fn proposals_with_bad_fields_are_refused_naming_them() {
    let ok = Proposal {
        txn_id: "t".into(),
        operation: "WRITE".into(),
        actions: vec![add("a", 1)],
        ..Default::default()
    };
    ok.check(&base()).unwrap();
    let mut p = ok.clone();
    p.operation = "  ".into();
    assert!(
        p.check(&base())
            .unwrap_err()
            .to_string()
            .contains("commitInfo.operation")
    );
    let mut p = ok.clone();
    p.actions.push(Action::Tag(Tag {
        name: "bad name!".into(),
        version: 0,
    }));
    assert!(
        p.check(&base())
            .unwrap_err()
            .to_string()
            .contains("actions[1]")
    );
    let mut p = ok;
    p.actions = vec![Action::CommitInfo(crate::testing::commit_info(1, "X"))];
    assert!(
        p.check(&base())
            .unwrap_err()
            .to_string()
            .contains("actions[0]")
    );
}

#[test]
fn data_files_never_lie_in_the_log_or_journal_folders() {
    for path in [
        "_strata_log/00000000000000000009.json",
        "_strata_tier/moves/x.json",
        "_strata_dv/x.bin",
        "_strata_iceberg/v1-abc.metadata.json",
    ] {
        let e = refused(vec![add(path, 1)]);
        assert!(e.contains("actions[0].path"), "{e}");
    }
    next_state(
        &base(),
        &[],
        &at(vec![add("data/_strata_log/x", 1)]),
        &root(),
    )
    .unwrap();
}

#[test]
fn locations_stay_inside_the_root_or_a_tier() {
    let ok = add_at("a", Some("s3://b/wh/ns/t/a"), "hot");
    next_state(&base(), &[], &at(vec![ok]), &root()).unwrap();
    for bad in [
        "s3://b/wh/ns/other/a",
        "s3://b/wh/ns/t/../other/a",
        "s3://b/wh/ns/t/%2E%2e/other/a",
        "s3://c/wh/ns/t/a",
        "file:///etc/passwd",
    ] {
        let e = refused(vec![add_at("a", Some(bad), "hot")]);
        assert!(e.contains("actions[0].location"), "{bad}: {e}");
    }
    // A tier location is a permitted place once the metadata defines it.
    let m = with_cold_tier();
    let with_tiers = vec![
        Action::Metadata(Box::new(m)),
        add_at("a", Some("s3://archive/t/a"), "cold"),
    ];
    next_state(&base(), &[], &at(with_tiers), &root()).unwrap();
    let e = refused(vec![add_at("a", None, "lukewarm")]);
    assert!(e.contains("actions[0].tier"), "{e}");
    // Relocations: confined when asked.
    let s = next_state(&base(), &[], &at(vec![add("a", 1)]), &root()).unwrap();
    let away = commit(
        2,
        1_700_000_000_002,
        "TIER MOVE",
        vec![Action::Relocate(crate::actions::Relocate {
            path: "a".into(),
            tier: "cold".into(),
            location: Some("s3://elsewhere/a".into()),
            storage_class: None,
            restore: None,
        })],
    );
    let e = next_state(&s, &[], &away, &root()).unwrap_err();
    assert!(e.to_string().contains("actions[0].location"), "{e}");
    let trusted = ChangeContext {
        confine_relocations: false,
        ..root()
    };
    next_state(&s, &[], &away, &trusted).unwrap();
}

#[test]
fn schema_changes_follow_the_evolution_rules() {
    let mut m = sample_metadata();
    let mut fields = m.schema.fields().to_vec();
    fields[1].data_type = PrimitiveType::Int32.into();
    m.schema = Schema::new(1, fields).unwrap();
    let e = refused(vec![Action::Metadata(Box::new(m))]);
    assert!(e.contains("metadata.schema"), "{e}");
}

#[test]
fn protocols_are_never_downgraded_nor_unknown() {
    let mut p = Protocol::default();
    p.writer_features.push("timeMachine".into());
    let e = refused(vec![Action::Protocol(p)]);
    assert!(e.contains("timeMachine"), "{e}");
    let mut up = Protocol::default();
    up.writer_features.push("appTransactions".into());
    let upgraded = next_state(&base(), &[], &at(vec![Action::Protocol(up)]), &root()).unwrap();
    let down = commit(
        2,
        1_700_000_000_002,
        "WRITE",
        vec![Action::Protocol(Protocol::default())],
    );
    let e = next_state(&upgraded, &[], &down, &root()).unwrap_err();
    assert!(e.to_string().contains("never removed"), "{e}");
}

#[test]
fn totals_that_overflow_are_refused() {
    let mut a = add("a", 1);
    let mut b = add("b", 1);
    for x in [&mut a, &mut b] {
        if let Action::Add(f) = x {
            f.record_count = u64::MAX / 2 + 1;
        }
    }
    let e = refused(vec![a, b]);
    assert!(e.contains("overflows"), "{e}");
}

#[test]
fn date_fields_with_statistics_are_not_widened() {
    let mut m = sample_metadata();
    let mut fields = m.schema.fields().to_vec();
    fields.push(crate::schema::StructField::optional(
        3,
        "d",
        PrimitiveType::Date,
    ));
    m.schema = Schema::new(1, fields.clone()).unwrap();
    m.last_column_id = 3;
    let mut with_stats = add("a", 1);
    if let Action::Add(f) = &mut with_stats {
        f.stats.insert(
            3,
            crate::actions::ColumnStats {
                min: Some(Value::from(1).into()),
                ..Default::default()
            },
        );
    }
    let s = next_state(
        &base(),
        &[],
        &at(vec![Action::Metadata(Box::new(m.clone())), with_stats]),
        &root(),
    )
    .unwrap();
    fields[2].data_type = PrimitiveType::Timestamp.into();
    m.schema = Schema::new(2, fields).unwrap();
    let widen = commit(
        2,
        1_700_000_000_002,
        "WRITE",
        vec![Action::Metadata(Box::new(m))],
    );
    let e = next_state(&s, &[], &widen, &root()).unwrap_err();
    assert!(e.to_string().contains("§4.4.1"), "{e}");
}

#[test]
fn a_restored_file_may_stay_in_a_tier_dropped_since() {
    // `a` lives in tier `cold` at an archive location; the tier is then dropped while `a` is
    // a tombstone; re-adding it where it is stays valid.
    let m = with_cold_tier();
    let cold_a = add_at("a", Some("s3://archive/t/a"), "cold");
    let s1 = next_state(
        &base(),
        &[],
        &at(vec![Action::Metadata(Box::new(m)), cold_a.clone()]),
        &root(),
    )
    .unwrap();
    let mut removed = crate::testing::remove("a");
    if let Action::Remove(r) = &mut removed {
        r.tier = Some("cold".into());
        r.location = Some("s3://archive/t/a".into());
    }
    let s2 = next_state(
        &s1,
        &[],
        &commit(2, 1_700_000_000_002, "DELETE", vec![removed]),
        &root(),
    )
    .unwrap();
    let mut no_tiers = s2.metadata().clone();
    no_tiers.tiers.clear();
    let s3 = next_state(
        &s2,
        &[],
        &commit(
            3,
            1_700_000_000_003,
            "SET TIERS",
            vec![Action::Metadata(Box::new(no_tiers))],
        ),
        &root(),
    )
    .unwrap();
    let restore = commit(4, 1_700_000_000_004, "RESTORE", vec![cold_a]);
    next_state(&s3, &[], &restore, &root()).unwrap();
    // A new file cannot claim that place.
    let other = commit(
        4,
        1_700_000_000_004,
        "WRITE",
        vec![add_at("b", Some("s3://archive/t/b"), "cold")],
    );
    assert!(next_state(&s3, &[], &other, &root()).is_err());
}

#[test]
fn the_oldest_version_only_moves_forward_within_the_log_and_below_tags() {
    use crate::retention::PROP_OLDEST_VERSION;
    // A state at version 3 with a tag on version 2.
    let mut state = base();
    for v in 1..=3u64 {
        let mut actions = vec![add(&format!("data/{v}.parquet"), 1)];
        if v == 3 {
            actions.push(Action::Tag(Tag {
                name: "audit".into(),
                version: 2,
            }));
        }
        state
            .apply(&commit(v, 1_700_000_000_000 + v as i64, "WRITE", actions))
            .unwrap();
    }
    let oldest = |value: &str| {
        let mut m = sample_metadata();
        m.properties
            .insert(PROP_OLDEST_VERSION.into(), value.into());
        Action::Metadata(Box::new(m))
    };
    let check = |state: &TableState, a: Action| {
        check_change(
            state,
            &commit(state.version() + 1, 1_800_000_000_000, "EXPIRE", vec![a]),
            &root(),
        )
        .map_err(|e| e.to_string())
    };
    assert!(check(&state, oldest("2")).is_ok());
    let e = check(&state, oldest("3")).unwrap_err();
    assert!(e.contains("tag `audit`"), "{e}");
    let e = check(&state, oldest("9")).unwrap_err();
    assert!(
        e.contains("after the version the commit is based on"),
        "{e}"
    );
    let e = check(&state, oldest("two")).unwrap_err();
    assert!(e.contains("is not a version"), "{e}");
    state
        .apply(&commit(4, 1_800_000_000_000, "EXPIRE", vec![oldest("2")]))
        .unwrap();
    let e = check(&state, oldest("1")).unwrap_err();
    assert!(e.contains("cannot go down from 2 to 1"), "{e}");
    let e = check(&state, Action::Metadata(Box::new(sample_metadata()))).unwrap_err();
    assert!(e.contains("cannot be removed"), "{e}");
}
